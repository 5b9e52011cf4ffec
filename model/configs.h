/* Stored audit configs (API.md II §6, I.7a). A config is kept as the
 * canonical JSON of its validated object (config_schema.h produces it);
 * write-only secrets live inside the stored object under "secret" and are
 * removed by configs_public_view before anything is returned.
 *
 * All sv_value results are caller-owned. Unknown id -> SALOG_E_VALIDATION
 * code "DoesNotExist" source "/id" (for the config endpoints) — callers that
 * want another code (ConfigNotExist on /config_id) use configs_exists. */
#ifndef SALOG_CONFIGS_H
#define SALOG_CONFIGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/error.h"
#include "codec/value.h"
#include "model/auth_epoch.h"
#include "model/ids.h"
#include "model/store.h"

/* Stores a new config. `config` is a validated object without id /
 * created_at / updated_at; those are assigned here. *out = the stored
 * object (secrets included). */
salog_status configs_create(store *s, const sv_value *config, sv_value **out, salog_err *err);

/* Reads a config by id. */
salog_status configs_get(store *s, const char *id, sv_value **out, salog_err *err);
/* The same for readers that never modify the config: *out is shared
 * between threads (codec/value.h sv_share) and released with sv_free. It is
 * always the stored config as it is now; only its decoding is reused. */
salog_status configs_get_shared(store *s, const char *id, sv_value **out, salog_err *err);
/* The same, where `epoch` was read (auth_epoch_read) before this call: the
 * config this process read under the same epoch is given without reading
 * it again; either way it includes every change committed before the epoch
 * was read. NULL (or unusable) epoch: read it, as configs_get_shared. */
salog_status configs_get_shared_at(store *s, const char *id, const auth_epoch *epoch, sv_value **out,
                                   salog_err *err);
/* *exists = whether config `id` is stored. A storage error is returned as
 * such (err filled), never as "absent". */
salog_status configs_exists(store *s, const char *id, bool *exists, salog_err *err);

/* Replaces the stored config `id` with `config` (validated, carrying id and
 * created_at from the stored one) iff the stored updated_at equals
 * `expected_updated_at` (else ValidationError BadState on /updated_at).
 * Assigns a new updated_at. The read and write are one transaction. */
salog_status configs_replace(store *s, const char *id, const char *expected_updated_at,
                             const sv_value *config, sv_value **out, salog_err *err);

/* Deletes and returns the deleted config. */
salog_status configs_delete(store *s, const char *id, sv_value **out, salog_err *err);

typedef struct config_list_query {
    const sv_value *filter;   /* validated object or NULL */
    const char *last;         /* cursor from a previous page or NULL/"" */
    bool descending;
    const char *order_by;     /* "id" | "created_at" | "updated_at" (default "created_at") */
    size_t size;              /* page size >= 1 */
} config_list_query;

/* *out = {"count": all matches, "last": cursor or "", "items": [config…]}
 * (items are public views). A malformed cursor -> ValidationError on /last. */
salog_status configs_list(store *s, const config_list_query *q, sv_value **out, salog_err *err);

/* Ids of every config, in creation order (for the admin command and for
 * token resolution). Caller frees each and the array. */
salog_status configs_all_ids(store *s, char ***ids, size_t *count, salog_err *err);

/* How many configs exist, counting no further than `max` (a key scan, no
 * decoding), and the id of the first one in key order: enough to tell an
 * unbound token's "none, one or several" on every request. */
salog_status configs_peek(store *s, size_t max, size_t *count, char first[ID_LEN + 1], salog_err *err);
/* The same, where `epoch` was read (auth_epoch_read) before this call: this
 * process's last answer under the same epoch and max is given without a
 * scan. NULL (or unusable) epoch: scan, as configs_peek. */
salog_status configs_peek_at(store *s, size_t max, const auth_epoch *epoch, size_t *count,
                             char first[ID_LEN + 1], salog_err *err);

/* A copy of `config` without write-only members (forwarding secrets). */
sv_value *configs_public_view(const sv_value *config);

#endif
