#include "fcgi/envelope.h"

#include <stdio.h>
#include <string.h>

#include "codec/codec.h"
#include "codec/timefmt.h"

/* Last resort when even building the reply fails: a fixed, valid envelope. */
static void write_static_internal_error(http_reply *reply, const envelope_ctx *ctx)
{
    char now[TIME_RFC3339_LEN + 1];
    time_format_us(time_now_us(), now);
    sbuf_free(&reply->body);
    memset(&reply->body, 0, sizeof reply->body);
    sbuf_printf(&reply->body,
                "{\"request_id\":\"%s\",\"request_time\":\"%s\",\"response_time\":\"%s\","
                "\"status\":\"InternalError\",\"summary\":\"Internal Error.\",\"result\":{\"errors\":"
                "[{\"code\":\"InternalError\",\"detail\":\"out of memory\",\"source\":\"/\"}]}}",
                ctx->request_id, now, now);
    reply->http_status = 500;
    reply->content_type = "application/json";
}

static int encode(http_reply *reply, const envelope_ctx *ctx, const sv_value *v)
{
    sbuf_free(&reply->body);
    memset(&reply->body, 0, sizeof reply->body);
    if (ctx->msgpack) {
        reply->content_type = "application/msgpack";
        return codec_msgpack_encode(&reply->body, v);
    }
    reply->content_type = "application/json";
    return codec_json_encode(&reply->body, v);
}

sv_value *envelope_build(const envelope_ctx *ctx, const char *status_name, const char *summary,
                         sv_value *result)
{
    char req_time[TIME_RFC3339_LEN + 1], resp_time[TIME_RFC3339_LEN + 1];
    time_format_us(ctx->request_time_us, req_time);
    time_format_us(time_now_us(), resp_time);
    sv_value *env = sv_object();
    if (!env) {
        sv_free(result);
        return NULL;
    }
    int rc = 0;
    rc |= sv_object_set_str(env, "request_id", ctx->request_id);
    rc |= sv_object_set_str(env, "request_time", req_time);
    rc |= sv_object_set_str(env, "response_time", resp_time);
    rc |= sv_object_set_str(env, "status", status_name);
    rc |= sv_object_set_str(env, "summary", summary ? summary : "");
    rc |= sv_object_set(env, "result", result ? result : sv_null()); /* owns or frees result */
    if (rc != 0) {
        sv_free(env);
        return NULL;
    }
    return env;
}

void envelope_write(http_reply *reply, const envelope_ctx *ctx, int http_status,
                    const char *status_name, const char *summary, sv_value *result)
{
    snprintf(reply->request_id, sizeof reply->request_id, "%s", ctx->request_id);
    sv_value *env = envelope_build(ctx, status_name, summary, result);
    if (!env || encode(reply, ctx, env) != 0)
        write_static_internal_error(reply, ctx);
    else
        reply->http_status = http_status;
    sv_free(env);
}

sv_value *envelope_errors_result(const salog_err *err)
{
    sv_value *result = sv_object();
    sv_value *errors = sv_array();
    if (!result || !errors)
        goto fail;
    size_t count = err->count;
    for (size_t i = 0; i < count; i++) {
        const salog_err_item *it = &err->items[i];
        sv_value *item = sv_object();
        if (!item || sv_object_set_str(item, "code", it->code) || sv_object_set_str(item, "detail", it->detail) ||
            sv_object_set_str(item, "source", it->source[0] ? it->source : "/") || sv_array_push(errors, item)) {
            sv_free(item);
            goto fail;
        }
    }
    if (count == 0) {
        /* Every non-success reply names at least one error (API.md I.1). */
        sv_value *item = sv_object();
        if (!item || sv_object_set_str(item, "code", salog_status_name(err->status)) ||
            sv_object_set_str(item, "detail", salog_status_summary(err->status)) ||
            sv_object_set_str(item, "source", "/") || sv_array_push(errors, item)) {
            sv_free(item);
            goto fail;
        }
    }
    if (sv_object_set(result, "errors", errors) != 0) {
        errors = NULL;
        goto fail;
    }
    return result;
fail:
    sv_free(errors);
    sv_free(result);
    return NULL;
}

void envelope_write_error(http_reply *reply, const envelope_ctx *ctx, const salog_err *err)
{
    salog_status st = err->status == SALOG_OK ? SALOG_E_INTERNAL : err->status;
    salog_err copy = *err;
    copy.status = st;
    sv_value *result = envelope_errors_result(&copy);
    if (!result) {
        write_static_internal_error(reply, ctx);
        return;
    }
    envelope_write(reply, ctx, salog_status_http(st), salog_status_name(st), salog_status_summary(st), result);
}

void envelope_write_document(http_reply *reply, const envelope_ctx *ctx, int http_status, sv_value *doc)
{
    snprintf(reply->request_id, sizeof reply->request_id, "%s", ctx->request_id);
    if (!doc || encode(reply, ctx, doc) != 0)
        write_static_internal_error(reply, ctx);
    else
        reply->http_status = http_status;
    sv_free(doc);
}
