/* Async request results (API.md I.5): the reply a poll returns, bound to
 * the token that made the request, kept until it expires. */
#include "model/auditlog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "codec/timefmt.h"
#include "model/store_internal.h"

typedef struct rq_put_ctx {
    const char *id;
    const sv_value *record;
} rq_put_ctx;

static int rq_put_txn(store *s, DB_TXN *txn, void *vctx)
{
    rq_put_ctx *c = vctx;
    return store_put_json(s->requests, txn, c->id, c->record, 0);
}

salog_status requests_put(store *s, const char *request_id, const char *token_id, int http_status,
                          const sv_value *envelope, int64_t expires_us, salog_err *err)
{
    salog_status st = SALOG_OK;
    sv_value *rec = sv_object();
    sv_value *env = envelope ? sv_clone(envelope) : NULL;
    if (!rec || !env || sv_object_set_str(rec, "token_id", token_id) != 0 ||
        sv_object_set_int(rec, "http_status", http_status) != 0) {
        sv_free(env);
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
        goto out;
    }
    if (sv_object_set(rec, "envelope", env) != 0 || sv_object_set_int(rec, "expires_at_us", expires_us) != 0) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
        goto out;
    }
    rq_put_ctx c = {.id = request_id, .record = rec};
    int ret = store_txn_run(s, rq_put_txn, &c);
    if (ret != 0)
        st = store_db_error(s, ret, "storing an async result", err);
out:
    sv_free(rec);
    return st;
}

salog_status requests_get(store *s, const char *request_id, char token_id[ID_LEN + 1], int *http_status,
                          sv_value **envelope, salog_err *err)
{
    sv_value *rec = NULL;
    salog_status st = SALOG_OK;
    *envelope = NULL;
    token_id[0] = '\0';
    *http_status = 0;
    int ret = store_get_json(s->requests, NULL, request_id, &rec, 0);
    if (ret == DB_NOTFOUND)
        return salog_err_set(err, SALOG_E_NOT_FOUND, "NotFound", "/", "unknown or expired request id");
    if (ret != 0 && ret != EINVAL && ret != ENOMEM)
        return store_db_error(s, ret, "reading an async result", err);
    if (ret != 0) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "the async result is unreadable");
        goto out;
    }
    const char *tok = sv_object_get_str(rec, "token_id");
    const sv_value *code = sv_object_get(rec, "http_status"), *exp = sv_object_get(rec, "expires_at_us");
    sv_value *env = sv_object_get(rec, "envelope");
    if (!tok || strlen(tok) > ID_LEN || !sv_is(code, SV_INT) || !sv_is(exp, SV_INT) || !env) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "the async result is malformed");
        goto out;
    }
    if (exp->u.i <= time_now_us()) {
        st = salog_err_set(err, SALOG_E_NOT_FOUND, "NotFound", "/", "unknown or expired request id");
        goto out;
    }
    *envelope = sv_clone(env);
    if (!*envelope) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
        goto out;
    }
    memcpy(token_id, tok, strlen(tok) + 1);
    *http_status = (int)code->u.i;
out:
    sv_free(rec);
    return st;
}

typedef struct rq_expired {
    int64_t now_us;
    char **ids;
    size_t count, cap;
} rq_expired;

/* Collects the ids of expired (or unreadable) results; deleting happens
 * after the scan, outside its cursor. */
static int rq_collect_expired(const void *key, size_t key_len, const void *val, size_t val_len, void *vctx)
{
    rq_expired *c = vctx;
    sv_value *rec = NULL;
    salog_err ignore;
    salog_err_init(&ignore);
    bool expired = true;
    if (codec_json_decode(&rec, val, val_len, STORE_JSON_MAX_DEPTH, &ignore) == SALOG_OK) {
        const sv_value *exp = sv_object_get(rec, "expires_at_us");
        expired = !sv_is(exp, SV_INT) || exp->u.i <= c->now_us;
    }
    sv_free(rec);
    if (!expired)
        return 0;
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        char **grown = realloc(c->ids, cap * sizeof *grown);
        if (!grown)
            return ENOMEM;
        c->ids = grown;
        c->cap = cap;
    }
    char *id = strndup(key, key_len);
    if (!id)
        return ENOMEM;
    c->ids[c->count++] = id;
    return 0;
}

static int rq_delete_txn(store *s, DB_TXN *txn, void *vctx)
{
    const char *id = vctx;
    int ret = store_del(s->requests, txn, id, strlen(id));
    return ret == DB_NOTFOUND ? 0 : ret;
}

salog_status requests_expire(store *s, int64_t now_us, size_t *removed, salog_err *err)
{
    rq_expired c = {.now_us = now_us};
    salog_status st = SALOG_OK;
    *removed = 0;
    int ret = store_scan(s->requests, NULL, rq_collect_expired, &c);
    if (ret != 0) {
        st = store_db_error(s, ret, "scanning async results", err);
        goto out;
    }
    for (size_t i = 0; i < c.count; i++) {
        if ((ret = store_txn_run(s, rq_delete_txn, c.ids[i])) != 0) {
            st = store_db_error(s, ret, "deleting an expired async result", err);
            goto out;
        }
        (*removed)++;
    }
out:
    for (size_t i = 0; i < c.count; i++)
        free(c.ids[i]);
    free(c.ids);
    return st;
}
