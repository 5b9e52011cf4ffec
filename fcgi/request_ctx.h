/* Per-request state passed to every handler. Handlers read the decoded
 * body, may use the authenticated token, and either fill *result (owned by
 * the caller afterwards) and return SALOG_OK, or fill rc->err and return
 * its status. */
#ifndef SALOG_REQUEST_CTX_H
#define SALOG_REQUEST_CTX_H

#include <stdbool.h>

#include "codec/error.h"
#include "codec/value.h"
#include "fcgi/app.h"
#include "fcgi/envelope.h"
#include "model/tokens.h"

typedef struct request_ctx {
    app *app;
    const http_request *req;
    envelope_ctx env;
    token_info token;        /* valid when has_token */
    bool has_token;
    /* Read once, before the token: the token and config records this
     * request reads through it include every change committed before it
     * was read (model/auth_epoch.h). */
    auth_epoch auth_epoch;
    sv_value *body;          /* decoded body object (owned), NULL for GET */
    const char *tail;        /* path remainder for prefix routes ("/request/" → id) */
    salog_err err;
    int success_http;        /* 200 unless a handler sets 202 */
    const char *success_status; /* "Success" unless a handler sets "Accepted" */
    char summary[128];       /* success summary */
    bool raw_document;       /* result is a bare document, not an envelope */
    char *file_path;         /* owned: a download file is the reply (handle_download_file) */
    char file_name[256];
} request_ctx;

typedef salog_status (*handler_fn)(request_ctx *rc, sv_value **result);

/* Token presented as "Bearer <secret>" → rc->token, else 401. */
salog_status auth_authenticate(request_ctx *rc);
/* 403 Unauthorized / MissingScope unless the token has `scope` (admin has all). */
salog_status auth_require_scope(request_ctx *rc, unsigned scope);
/* Resolves the config a request acts on (API.md I.2, II §6.4) from the
 * body's optional config_id and the token's bindings; out gets the id and,
 * when `config` is not NULL, *config the stored config (caller frees). */
salog_status auth_resolve_config(request_ctx *rc, char out[ID_LEN + 1], sv_value **config);

/* Request member helpers: wrong type → the vocabulary's Invalid* code at
 * "/<key>"; missing required → FieldRequired. `present` may be NULL. */
salog_status fields_only(request_ctx *rc, const sv_value *obj, const char *base, const char *const *allowed);
salog_status field_string(request_ctx *rc, const sv_value *obj, const char *key, bool required,
                          const char **out);
salog_status field_int(request_ctx *rc, const sv_value *obj, const char *key, bool required,
                       int64_t *out, bool *present);
salog_status field_bool(request_ctx *rc, const sv_value *obj, const char *key, bool *out, bool *present);

/* Async results are kept this long (API.md I.5); polls say so. */
#define ASYNC_TTL_MINS 60

/* Fills the 202 Accepted result {ttl_mins, retry_counter, location} for
 * request_id and marks the reply 202 / Accepted. */
salog_status accepted_result(request_ctx *rc, const char *request_id, sv_value **result);

/* Handlers, by room. */
salog_status handle_config_get(request_ctx *rc, sv_value **result);
salog_status handle_config_create(request_ctx *rc, sv_value **result);
salog_status handle_config_update(request_ctx *rc, sv_value **result);
salog_status handle_config_delete(request_ctx *rc, sv_value **result);
salog_status handle_config_list(request_ctx *rc, sv_value **result);
salog_status handle_config_partition_overrides(request_ctx *rc, sv_value **result);
salog_status handle_schema(request_ctx *rc, sv_value **result);
salog_status handle_log_v1(request_ctx *rc, sv_value **result);
salog_status handle_log_v2(request_ctx *rc, sv_value **result);
salog_status handle_log_async(request_ctx *rc, sv_value **result);
salog_status handle_request_poll(request_ctx *rc, sv_value **result);
salog_status handle_root(request_ctx *rc, sv_value **result);
salog_status handle_published(request_ctx *rc, sv_value **result);
salog_status handle_log_stream(request_ctx *rc, sv_value **result);
salog_status handle_search(request_ctx *rc, sv_value **result);
salog_status handle_results(request_ctx *rc, sv_value **result);
salog_status handle_download_results(request_ctx *rc, sv_value **result);
salog_status handle_export(request_ctx *rc, sv_value **result);
salog_status handle_download_file(request_ctx *rc, sv_value **result);

#endif
