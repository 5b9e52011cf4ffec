/* The standard response envelope of API.md II §1.2: exactly request_id,
 * request_time, response_time, status, summary, result — nothing else —
 * encoded in the negotiated codec, with the x-request-id header. */
#ifndef SALOG_ENVELOPE_H
#define SALOG_ENVELOPE_H

#include <stdbool.h>
#include <stdint.h>

#include "codec/error.h"
#include "codec/value.h"
#include "fcgi/http.h"
#include "model/ids.h"

typedef struct envelope_ctx {
    char request_id[ID_LEN + 1];
    int64_t request_time_us;
    bool msgpack;              /* reply in MessagePack (Accept) */
} envelope_ctx;

/* The envelope object itself (for async results that are stored and
 * replayed by a poll). Takes ownership of `result`; NULL on OOM. */
sv_value *envelope_build(const envelope_ctx *ctx, const char *status_name, const char *summary,
                         sv_value *result);

/* Takes ownership of `result` (may be NULL for a null result). */
void envelope_write(http_reply *reply, const envelope_ctx *ctx, int http_status,
                    const char *status_name, const char *summary, sv_value *result);

/* Error envelope from err (its status picks HTTP code, status string and
 * summary; result = {"errors": [...]}, at least one item). */
void envelope_write_error(http_reply *reply, const envelope_ctx *ctx, const salog_err *err);

/* A bare document (no envelope), e.g. published checkpoints. Takes ownership. */
void envelope_write_document(http_reply *reply, const envelope_ctx *ctx, int http_status, sv_value *doc);

/* result = {"errors": [...]} built from err; NULL on OOM. */
sv_value *envelope_errors_result(const salog_err *err);

#endif
