/* API tokens (API.md I.2, I.8). A token is a random secret shown once at
 * creation; only its SHA-256 digest is stored. Lookup is by digest and the
 * stored digest is compared in constant time.
 *
 * Errors: unknown / expired / revoked secret -> SALOG_E_UNAUTHORIZED;
 * unknown id on revoke -> SALOG_E_NOT_FOUND; storage -> SALOG_E_INTERNAL or
 * SALOG_E_RUNRECOVERY. */
#ifndef SALOG_TOKENS_H
#define SALOG_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/error.h"
#include "codec/value.h"
#include "model/auth_epoch.h"
#include "model/ids.h"
#include "model/store.h"

#define TOKEN_SCOPE_LOG    1u
#define TOKEN_SCOPE_SEARCH 2u
#define TOKEN_SCOPE_ADMIN  4u

#define TOKEN_SECRET_LEN ID_LEN /* "pts_" + 32 */

typedef struct token_info {
    char id[ID_LEN + 1];          /* pti_… */
    char *name;                   /* owned; may be NULL */
    unsigned scopes;              /* TOKEN_SCOPE_* */
    char **config_ids;            /* owned; empty = every config */
    size_t config_count;
    sv_value *restrictions;       /* owned object {field: [values]} or NULL */
    int64_t created_at_us;
    int64_t expires_at_us;        /* 0 = never */
    bool revoked;
} token_info;

/* What `salog token create` asks for; all borrowed. */
typedef struct token_spec {
    const char *name;
    unsigned scopes;
    const char *const *config_ids;
    size_t config_count;
    const sv_value *restrictions; /* object {field: [string…]} or NULL */
    int64_t expires_at_us;        /* 0 = never */
} token_spec;

void token_info_clear(token_info *t);

/* Mints a token. secret_out gets the secret (shown once), info_out (caller
 * clears it) the stored record. */
salog_status tokens_create(store *s, const token_spec *spec, char secret_out[TOKEN_SECRET_LEN + 1],
                           token_info *info_out, salog_err *err);

/* Resolves a presented secret (the text after "Bearer "), reading the
 * stored token. */
salog_status tokens_authenticate(store *s, const char *secret, size_t secret_len, int64_t now_us,
                                 token_info *out, salog_err *err);
/* The same, where `epoch` was read (auth_epoch_read) before this call: the
 * token record this process read under the same epoch is used without
 * reading it again. NULL (or unusable) epoch: read it, as tokens_authenticate. */
salog_status tokens_authenticate_at(store *s, const char *secret, size_t secret_len, int64_t now_us,
                                    const auth_epoch *epoch, token_info *out, salog_err *err);

/* Every token, oldest first. *out is an array of *count infos; free each
 * with token_info_clear, then free(*out). */
salog_status tokens_list(store *s, token_info **out, size_t *count, salog_err *err);

salog_status tokens_revoke(store *s, const char *id, salog_err *err);

/* True when the token may use this config (no binding = every config). */
bool token_allows_config(const token_info *t, const char *config_id);

#endif
