/* Logging endpoints (API.md II §2.1-2.4, §2.7, I.3, I.5): /v1/log, /v2/log,
 * /v2/log_async, GET /request/<id>, /v1/root, the published checkpoints and
 * /v1/log_stream. Request members are checked here; events go through
 * model/event_schema (schema, restrictions), model/signature and
 * model/auditlog (durable append, proofs). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/timefmt.h"
#include "fcgi/request_ctx.h"
#include "model/append_queue.h"
#include "model/auditlog.h"
#include "model/configs.h"
#include "model/event_schema.h"
#include "model/exports.h"
#include "model/search_events.h"
#include "model/server_key.h"
#include "model/signature.h"

#define SIGNATURE_MAX_LEN 256
#define PUBLIC_KEY_MAX_LEN 1024
#define V2_MAX_EVENTS 1000

static salog_status oom(request_ctx *rc)
{
    return salog_err_set(&rc->err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
}

/* One event item of a request, checked and ready to append. */
typedef struct prepared_event {
    sv_value *event;      /* owned: what is stored */
    sv_value *malformed;  /* owned or NULL */
    const char *signature;
    const char *public_key;
    char *vault_signature;   /* owned, vault_sign configs */
    char *vault_public_key;  /* owned */
} prepared_event;

static void prepared_clear(prepared_event *p)
{
    sv_free(p->event);
    sv_free(p->malformed);
    free(p->vault_signature);
    free(p->vault_public_key);
    memset(p, 0, sizeof *p);
}

/* The config a logging request writes to, checked to suit logging. */
static salog_status log_config(request_ctx *rc, char config_id[ID_LEN + 1], sv_value **config)
{
    salog_status st = auth_resolve_config(rc, config_id, config);
    if (st != SALOG_OK)
        return st;
    sv_value *schema = sv_object_get(*config, "schema");
    if (!schema || schema->type != SV_OBJECT)
        return salog_err_set(&rc->err, SALOG_E_INVALID_SCHEMA, "InvalidSchema", "/config_id",
                             "this config has no usable schema");
    if (sv_object_get(schema, "vendor_id"))
        return salog_err_set(&rc->err, SALOG_E_INVALID_SCHEMA, "InvalidSchema", "/config_id",
                             "this config's schema is a vendor schema: use /v1/log_stream");
    return SALOG_OK;
}

static salog_status string_member(request_ctx *rc, const sv_value *obj, const char *key, const char *base,
                                  size_t max_len, const char **out)
{
    char src[256];
    sv_value *v = sv_object_get(obj, key);
    *out = NULL;
    if (!v)
        return SALOG_OK;
    snprintf(src, sizeof src, "%s/%s", base, key);
    if (v->type != SV_STRING)
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, v->type == SV_NULL ? "InvalidNull" : "InvalidString",
                             src, "'%s' must be a string", key);
    if (sv_utf8_length(v->u.s.ptr, v->u.s.len) > max_len)
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "AboveMaxLength", src,
                             "'%s' cannot have more than %zu characters", key, max_len);
    *out = v->u.s.ptr;
    return SALOG_OK;
}

/* vault_sign (II §4.7): the server signs with its own key. */
static salog_status vault_sign(request_ctx *rc, const sv_value *config, prepared_event *p)
{
    sbuf canon = {0}, pk = {0};
    char *pem = NULL;
    unsigned char sig[64];
    salog_status st = SALOG_OK;
    const char *data_dir = rc->app->settings.data_dir;
    if (codec_canonical_json(&canon, p->event) != 0) {
        st = oom(rc);
        goto out;
    }
    if ((st = server_key_sign(data_dir, canon.data, canon.len, sig, &rc->err)) != SALOG_OK)
        goto out;
    if ((st = server_key_public_pem(data_dir, &pem, &rc->err)) != SALOG_OK)
        goto out;
    sv_value *key = sv_object();
    const char *key_id = sv_object_get_str(config, "vault_key_id");
    if (!key || sv_object_set_str(key, "algorithm", "ED25519") || sv_object_set_str(key, "key", pem) ||
        sv_object_set_str(key, "vault_key_id", key_id ? key_id : "salog-server-key") ||
        sv_object_set_int(key, "vault_key_version", 1) || codec_canonical_json(&pk, key) != 0) {
        sv_free(key);
        st = oom(rc);
        goto out;
    }
    sv_free(key);
    p->vault_signature = base64_encode(sig, sizeof sig);
    p->vault_public_key = strdup(sbuf_cstr(&pk) ? pk.data : "");
    if (!p->vault_signature || !p->vault_public_key)
        st = oom(rc);
    p->signature = p->vault_signature;
    p->public_key = p->vault_public_key;
out:
    free(pem);
    sbuf_free(&canon);
    sbuf_free(&pk);
    return st;
}

/* Checks one {event, signature?, public_key?} item at `base` ("" or
 * "/events/3"): restrictions, schema, signature. */
static salog_status prepare_event(request_ctx *rc, const sv_value *config, const sv_value *item, const char *base,
                                  prepared_event *p)
{
    char event_base[64];
    snprintf(event_base, sizeof event_base, "%s/event", base);
    sv_value *event = sv_object_get(item, "event");
    if (!event)
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "FieldRequired", event_base, "'event' is required");
    salog_status st = SALOG_OK;
    if (string_member(rc, item, "signature", base, SIGNATURE_MAX_LEN, &p->signature) != SALOG_OK ||
        string_member(rc, item, "public_key", base, PUBLIC_KEY_MAX_LEN, &p->public_key) != SALOG_OK)
        return rc->err.status;
    if (p->signature && !p->public_key) {
        char src[64];
        snprintf(src, sizeof src, "%s/public_key", base);
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "FieldRequired", src,
                             "'public_key' is required with 'signature'");
    }
    if (p->public_key && !p->signature) {
        char src[64];
        snprintf(src, sizeof src, "%s/signature", base);
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "FieldRequired", src,
                             "'signature' is required with 'public_key'");
    }
    if (rc->token.restrictions &&
        (st = event_check_restrictions(rc->token.restrictions, event, event_base, &rc->err)) != SALOG_OK)
        return st;
    if ((st = event_validate(sv_object_get(config, "schema"), event, event_base, &p->event, &p->malformed,
                             &rc->err)) != SALOG_OK)
        return st;
    if (p->signature)
        return signature_verify_event(event, p->signature, p->public_key, base, &rc->err);
    sv_value *vs = sv_object_get(config, "vault_sign");
    if (vs && vs->type == SV_BOOL && vs->u.b)
        return vault_sign(rc, config, p);
    return SALOG_OK;
}

/* want_root: the reply shows the tree's root (verbose /v1/log). */
static salog_status append_prepared(request_ctx *rc, const char *config_id, prepared_event *events, size_t count,
                                    bool want_root, log_append_result *out)
{
    log_item *items = calloc(count, sizeof *items);
    if (!items)
        return oom(rc);
    for (size_t i = 0; i < count; i++)
        items[i] = (log_item){events[i].event, events[i].signature, events[i].public_key, events[i].malformed};
    salog_status st = append_queue_submit(rc->app->store, config_id, items, count, want_root, out, &rc->err);
    free(items);
    return st;
}

/* Once the append has committed, the events are durable: a later failure
 * must not turn the reply into an error, or the client (the SDKs retry a
 * 500) would log them again. What cannot be added to the reply is left out
 * and reported in the server's log; running out of memory for the reply
 * itself is the one error left. */
static void after_commit_problem(request_ctx *rc, const char *what)
{
    fprintf(stderr, "salog.fcgi[%d]: %s failed after the append committed; left out of the reply: %s\n",
            (int)getpid(), what, rc->err.count ? rc->err.items[0].detail : "?");
    salog_err_init(&rc->err);
}

static int set_hex(sv_value *obj, const char *key, const uint8_t h[MERKLE_HASH_LEN])
{
    char hex[65];
    merkle_hex(h, hex);
    return sv_object_set_str(obj, key, hex);
}

salog_status handle_log_v1(request_ctx *rc, sv_value **result)
{
    static const char *const allowed[] = {"event", "verbose", "signature", "public_key", "prev_root", NULL};
    char config_id[ID_LEN + 1];
    sv_value *config = NULL, *res = NULL;
    prepared_event p = {0};
    log_append_result appended = {0};
    bool verbose = false;
    const char *prev_root = NULL;
    uint8_t prev[MERKLE_HASH_LEN];
    salog_status st = fields_only(rc, rc->body, "", allowed);
    field_bool(rc, rc->body, "verbose", &verbose, NULL);
    field_string(rc, rc->body, "prev_root", false, &prev_root);
    if (rc->err.count)
        return rc->err.status;
    if (prev_root && (strlen(prev_root) != 64 || strspn(prev_root, "0123456789abcdefghijklmnopqrstuvwxyz") != 64))
        st = salog_err_set(&rc->err, SALOG_E_VALIDATION, "DoesNotMatchPattern", "/prev_root",
                           "'prev_root' must be 64 characters of [a-z0-9]");
    if (st != SALOG_OK)
        return st;
    if ((st = log_config(rc, config_id, &config)) != SALOG_OK)
        goto out;
    if ((st = prepare_event(rc, config, rc->body, "", &p)) != SALOG_OK)
        goto out;
    if ((st = append_prepared(rc, config_id, &p, 1, verbose, &appended)) != SALOG_OK)
        goto out;

    res = sv_object();
    if (!res || sv_object_set_str(res, "hash", appended.items[0].hash)) {
        st = oom(rc);
        goto out;
    }
    if (verbose) {
        /* The append returned the root of its own size: proofs use that size,
         * whatever concurrent appends did since. */
        uint64_t index = appended.items[0].leaf_index, size = index + 1;
        char *proof = NULL;
        sv_value *env = appended.items[0].envelope;
        appended.items[0].envelope = NULL;
        if (sv_object_set(res, "envelope", env)) {
            st = oom(rc);
            goto out;
        }
        if (set_hex(res, "unpublished_root", appended.root)) {
            st = oom(rc);
            goto out;
        }
        if (auditlog_membership_proof(rc->app->store, config_id, index, size, &proof, &rc->err) != SALOG_OK) {
            after_commit_problem(rc, "the membership proof");
        } else {
            int bad = sv_object_set_str(res, "membership_proof", proof);
            free(proof);
            if (bad) {
                st = oom(rc);
                goto out;
            }
        }
        /* A consistency proof only from an earlier root of this tree (II §2.1). */
        uint64_t old_size = 0;
        if (prev_root && merkle_unhex(prev_root, prev) == 0 &&
            auditlog_find_root(rc->app->store, config_id, prev, &old_size, &rc->err) != SALOG_OK) {
            after_commit_problem(rc, "looking up prev_root");
            old_size = 0;
        }
        if (old_size > 0 && old_size < size) {
            sv_value *cp = NULL;
            if (auditlog_consistency_proof(rc->app->store, config_id, old_size, size, &cp, &rc->err) != SALOG_OK) {
                after_commit_problem(rc, "the consistency proof");
            } else if (sv_object_set(res, "consistency_proof", cp)) {
                st = oom(rc);
                goto out;
            }
        }
    }
    snprintf(rc->summary, sizeof rc->summary, "Logged 1 record(s)");
    *result = res;
    res = NULL;
out:
    sv_free(res);
    sv_free(config);
    prepared_clear(&p);
    auditlog_append_result_clear(&appended);
    return st;
}

/* /v2/log; /v2/log_async shares everything up to the reply. */
salog_status handle_log_v2(request_ctx *rc, sv_value **result)
{
    static const char *const allowed[] = {"events", "verbose", NULL};
    static const char *const item_allowed[] = {"event", "signature", "public_key", NULL};
    char config_id[ID_LEN + 1];
    sv_value *config = NULL, *res = NULL, *results = NULL;
    prepared_event *prepared = NULL;
    size_t count = 0;
    log_append_result appended = {0};
    bool verbose = false;
    salog_status st = fields_only(rc, rc->body, "", allowed);
    field_bool(rc, rc->body, "verbose", &verbose, NULL);
    if (rc->err.count)
        return rc->err.status;
    sv_value *events = sv_object_get(rc->body, "events");
    if (!events)
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "FieldRequired", "/events", "'events' is required");
    if (events->type != SV_ARRAY)
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "InvalidArray", "/events", "'events' must be an array");
    count = events->u.arr.count;
    if (count < 1)
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "BelowMinItems", "/events",
                             "'events' needs at least 1 item");
    if (count > V2_MAX_EVENTS)
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "AboveMaxItems", "/events",
                             "'events' can have at most %d items", V2_MAX_EVENTS);
    if ((st = log_config(rc, config_id, &config)) != SALOG_OK)
        goto out;
    prepared = calloc(count, sizeof *prepared);
    if (!prepared) {
        st = oom(rc);
        goto out;
    }
    /* A bad batch is rejected whole, naming the item (II §2.2). */
    for (size_t i = 0; i < count; i++) {
        char base[48];
        snprintf(base, sizeof base, "/events/%zu", i);
        const sv_value *item = events->u.arr.items[i];
        if (item->type != SV_OBJECT) {
            st = salog_err_set(&rc->err, SALOG_E_VALIDATION, "InvalidObject", base, "each item must be an object");
            goto out;
        }
        if ((st = fields_only(rc, item, base, item_allowed)) != SALOG_OK)
            goto out;
        if ((st = prepare_event(rc, config, item, base, &prepared[i])) != SALOG_OK)
            goto out;
    }
    if ((st = append_prepared(rc, config_id, prepared, count, false, &appended)) != SALOG_OK)
        goto out;
    res = sv_object();
    results = sv_array();
    if (!res || !results) {
        st = oom(rc);
        goto out;
    }
    for (size_t i = 0; i < appended.count; i++) {
        sv_value *r = sv_object();
        if (!r || sv_object_set_str(r, "hash", appended.items[i].hash)) {
            sv_free(r);
            st = oom(rc);
            goto out;
        }
        if (verbose) {
            sv_value *env = appended.items[i].envelope;
            appended.items[i].envelope = NULL;
            if (sv_object_set(r, "envelope", env)) { /* frees env on failure */
                sv_free(r);
                st = oom(rc);
                goto out;
            }
        }
        if (sv_array_push(results, r)) { /* frees r on failure */
            st = oom(rc);
            goto out;
        }
    }
    if (sv_object_set(res, "results", results)) {
        results = NULL;
        st = oom(rc);
        goto out;
    }
    results = NULL;
    snprintf(rc->summary, sizeof rc->summary, "Logged %zu record(s)", count);
    *result = res;
    res = NULL;
out:
    sv_free(results);
    sv_free(res);
    sv_free(config);
    for (size_t i = 0; prepared && i < count; i++)
        prepared_clear(&prepared[i]);
    free(prepared);
    auditlog_append_result_clear(&appended);
    return st;
}

/* 202 only once the events are as durable as /v2/log makes them (I.5); the
 * poll replays the /v2/log reply under the same request id. */
salog_status handle_log_async(request_ctx *rc, sv_value **result)
{
    sv_value *sync_result = NULL, *stored = NULL;
    salog_status st = handle_log_v2(rc, &sync_result);
    if (st != SALOG_OK)
        return st;
    stored = envelope_build(&rc->env, "Success", rc->summary, sync_result);
    if (!stored)
        return oom(rc);
    int64_t expires = time_now_us() + (int64_t)ASYNC_TTL_MINS * 60 * 1000000;
    st = requests_put(rc->app->store, rc->env.request_id, rc->token.id, 200, stored, expires, &rc->err);
    if (st != SALOG_OK) {
        /* The events are durable but there is nothing to poll: reply now
         * with what the poll would have returned (200 Success). */
        after_commit_problem(rc, "keeping the result for its poll");
        *result = sv_clone(sv_object_get(stored, "result"));
        sv_free(stored);
        return *result ? SALOG_OK : oom(rc);
    }
    sv_free(stored);
    return accepted_result(rc, rc->env.request_id, result);
}

/* An export job (I.5): 202 with the Accepted shape until the background duty
 * has run it, then 200 with result {}; the reply carries the export's id. */
static salog_status poll_export(request_ctx *rc, const char *id, sv_value **result)
{
    export_state state;
    char owner[ID_LEN + 1], token[DOWNLOAD_TOKEN_LEN + 1], *detail = NULL;
    salog_status st = exports_status(rc->app->store, id, &state, owner, token, &detail, &rc->err);
    if (st != SALOG_OK)
        return st;
    if (strcmp(owner, rc->token.id) != 0) {
        free(detail);
        return salog_err_set(&rc->err, SALOG_E_UNAUTHORIZED, "Unauthorized", "/",
                             "this request was made with another token");
    }
    snprintf(rc->env.request_id, sizeof rc->env.request_id, "%s", id);
    if (state == EXPORT_FAILED) {
        st = salog_err_set(&rc->err, SALOG_E_VALIDATION, "BadState", "/", "the export failed: %s",
                           detail ? detail : "unknown reason");
        free(detail);
        return st;
    }
    free(detail);
    if (state == EXPORT_PENDING)
        return accepted_result(rc, id, result);
    *result = sv_object();
    if (!*result)
        return oom(rc);
    snprintf(rc->summary, sizeof rc->summary, "Export finished");
    return SALOG_OK;
}

salog_status handle_request_poll(request_ctx *rc, sv_value **result)
{
    char owner[ID_LEN + 1];
    int http = 200;
    const char *id = rc->tail;
    if (!id || !id_is_valid("prq_", id))
        return salog_err_set(&rc->err, SALOG_E_NOT_FOUND, "NotFound", "/", "no such request");
    salog_status st = requests_get(rc->app->store, id, owner, &http, result, &rc->err);
    if (st == SALOG_E_NOT_FOUND) {
        salog_err_init(&rc->err);
        return poll_export(rc, id, result);
    }
    if (st != SALOG_OK)
        return st;
    if (strcmp(owner, rc->token.id) != 0) {
        sv_free(*result);
        *result = NULL;
        return salog_err_set(&rc->err, SALOG_E_UNAUTHORIZED, "Unauthorized", "/",
                             "this request was made with another token");
    }
    snprintf(rc->env.request_id, sizeof rc->env.request_id, "%s", id); /* x-request-id of the original */
    rc->raw_document = true;
    rc->success_http = http;
    return SALOG_OK;
}

salog_status handle_root(request_ctx *rc, sv_value **result)
{
    static const char *const allowed[] = {"tree_size", NULL};
    char config_id[ID_LEN + 1], base[512];
    int64_t k = 0;
    bool has_k = false;
    sv_value *latest = NULL, *root = NULL, *res = NULL;
    salog_status st = fields_only(rc, rc->body, "", allowed);
    field_int(rc, rc->body, "tree_size", false, &k, &has_k);
    if (rc->err.count)
        return rc->err.status;
    if (has_k && k < 1)
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "NotWithinRange", "/tree_size",
                             "'tree_size' must be at least 1");
    if ((st = auth_resolve_config(rc, config_id, NULL)) != SALOG_OK)
        return st;
    if ((st = auditlog_latest_checkpoint(rc->app->store, config_id, &latest, &rc->err)) != SALOG_OK)
        goto out;
    sv_value *lsize = sv_object_get(latest, "size");
    uint64_t latest_size = lsize && lsize->type == SV_INT ? (uint64_t)lsize->u.i : 0;
    if (!has_k)
        k = (int64_t)latest_size;
    if ((uint64_t)k > latest_size) {
        st = salog_err_set(&rc->err, SALOG_E_TREE_NOT_FOUND, "TreeNotFound", "/tree_size",
                           "no checkpoint covers tree size %" PRId64 " (latest is %" PRIu64 ")", k, latest_size);
        goto out;
    }
    http_base_url(rc->req, base, sizeof base);
    if ((st = search_root_object(rc->app->store, config_id, (uint64_t)k, base, &root, &rc->err)) != SALOG_OK)
        goto out;
    res = sv_object();
    if (!res) {
        st = oom(rc);
        goto out;
    }
    int bad = sv_object_set(res, "data", root); /* takes root, even on failure */
    root = NULL;
    if (bad) {
        st = oom(rc);
        goto out;
    }
    snprintf(rc->summary, sizeof rc->summary, "Root of tree size %" PRId64, k);
    *result = res;
    res = NULL;
out:
    sv_free(res);
    sv_free(root);
    sv_free(latest);
    return st;
}

/* GET /v1/published/<tree_name>/<size> and /v1/published/<tree_name>/key:
 * plain JSON documents that need no token (I.3). */
salog_status handle_published(request_ctx *rc, sv_value **result)
{
    char tree_name[65], config_id[ID_LEN + 1];
    const char *tail = rc->tail ? rc->tail : "";
    const char *slash = strchr(tail, '/');
    if (!slash || slash - tail != 64)
        return salog_err_set(&rc->err, SALOG_E_NOT_FOUND, "NotFound", "/", "no such published document");
    memcpy(tree_name, tail, 64);
    tree_name[64] = '\0';
    salog_status st = auditlog_config_for_tree(rc->app->store, tree_name, config_id, &rc->err);
    if (st != SALOG_OK)
        return st;
    const char *what = slash + 1;
    if (strcmp(what, "key") == 0) {
        char *pem = NULL;
        if ((st = server_key_public_pem(rc->app->settings.data_dir, &pem, &rc->err)) != SALOG_OK)
            return st;
        sv_value *doc = sv_object();
        if (!doc || sv_object_set_str(doc, "algorithm", "ED25519") || sv_object_set_str(doc, "key", pem)) {
            sv_free(doc);
            free(pem);
            return oom(rc);
        }
        free(pem);
        *result = doc;
        rc->raw_document = true;
        return SALOG_OK;
    }
    char *end = NULL;
    unsigned long long size = strtoull(what, &end, 10);
    if (!*what || *end || size == 0 || what[0] == '0')
        return salog_err_set(&rc->err, SALOG_E_NOT_FOUND, "NotFound", "/", "no such published document");
    if ((st = auditlog_checkpoint_at(rc->app->store, config_id, size, result, &rc->err)) != SALOG_OK) {
        if (st == SALOG_E_TREE_NOT_FOUND) {
            salog_err_init(&rc->err);
            return salog_err_set(&rc->err, SALOG_E_NOT_FOUND, "NotFound", "/", "no checkpoint of that size");
        }
        return st;
    }
    rc->raw_document = true;
    return SALOG_OK;
}

salog_status handle_log_stream(request_ctx *rc, sv_value **result)
{
    char config_id[ID_LEN + 1];
    (void)result;
    salog_status st = auth_resolve_config(rc, config_id, NULL);
    if (st != SALOG_OK)
        return st;
    return salog_err_set(&rc->err, SALOG_E_INVALID_SCHEMA, "InvalidSchema", "/config_id",
                         "this config's schema is not a vendor schema");
}
