/* The FastCGI front without libfcgi: path routing, media types, the error
 * table, envelopes, and app_handle end to end over a temporary store. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "fcgi/app.h"
#include "fcgi/envelope.h"
#include "model/auditlog.h"
#include "model/config_schema.h"
#include "model/configs.h"
#include "model/store_internal.h"
#include "model/tokens.h"
#include "model/tree_queues.h"
#include "model/tree_tiles.h"
#include "tests/unit/test_tmpdir.h"

Test(front_http, route_path_strips_query_and_prefix)
{
    char out[256];
    cr_assert_eq(http_route_path("/v1/log?x=1", "", out, sizeof out), 0);
    cr_assert_str_eq(out, "/v1/log");
    cr_assert_eq(http_route_path("/audit/v1/log", "/audit", out, sizeof out), 0);
    cr_assert_str_eq(out, "/v1/log");
    cr_assert_eq(http_route_path("/audit/v1/log", "/audit/", out, sizeof out), 0);
    cr_assert_str_eq(out, "/v1/log");
    cr_assert_eq(http_route_path("/auditx/v1/log", "/audit", out, sizeof out), -1, "prefix must end on a segment");
    cr_assert_eq(http_route_path("/other", "/audit", out, sizeof out), -1);
    cr_assert_eq(http_route_path("/audit", "/audit", out, sizeof out), 0);
    cr_assert_str_eq(out, "/");
    cr_assert_eq(http_route_path("/v1/log#frag", NULL, out, sizeof out), 0);
    cr_assert_str_eq(out, "/v1/log");
    cr_assert_eq(http_route_path("/a-very-long-path", "", out, 4), -1);
}

Test(front_http, msgpack_media_types)
{
    cr_assert(http_is_msgpack_type("application/msgpack"));
    cr_assert(http_is_msgpack_type("application/x-msgpack; charset=binary"));
    cr_assert(http_is_msgpack_type("text/html, Application/Vnd.Msgpack;q=0.9"));
    cr_assert_not(http_is_msgpack_type("application/json"));
    cr_assert_not(http_is_msgpack_type("application/msgpackx"));
    cr_assert_not(http_is_msgpack_type(NULL));
    cr_assert_not(http_is_msgpack_type(""));
}

Test(front_http, base_url_refuses_odd_hosts)
{
    char out[256];
    http_request req = {.host = "example.org:8080", .prefix = "/audit/", .https = true};
    http_base_url(&req, out, sizeof out);
    cr_assert_str_eq(out, "https://example.org:8080/audit");
    req.host = "evil\r\nX: y";
    req.https = false;
    req.prefix = "";
    http_base_url(&req, out, sizeof out);
    cr_assert_str_eq(out, "http://localhost");
}

Test(front_errors, table_maps_every_status)
{
    for (int st = 0; st < SALOG_STATUS_COUNT; st++) {
        int http = salog_status_http((salog_status)st);
        cr_assert(http == 200 || (http >= 400 && http <= 503), "status %d maps to HTTP %d", st, http);
        cr_assert_not_null(salog_status_name((salog_status)st));
        cr_assert(strlen(salog_status_summary((salog_status)st)) > 0);
    }
    cr_assert_eq(salog_status_http(SALOG_E_TREE_NOT_FOUND), 200);
    cr_assert_str_eq(salog_status_name(SALOG_E_FORBIDDEN), "Unauthorized");
    cr_assert_eq(salog_status_http(SALOG_E_FORBIDDEN), 403);
    cr_assert_eq(salog_status_http(SALOG_E_TOO_BIG), 413);
    cr_assert_eq(salog_status_http(SALOG_E_LENGTH_REQUIRED), 411);
}

static json_object *parse_reply(const http_reply *r)
{
    json_object *o = json_tokener_parse(r->body.data);
    cr_assert_not_null(o, "reply is JSON: %.*s", (int)r->body.len, r->body.data);
    return o;
}

Test(front_envelope, exact_keys_and_error_items)
{
    envelope_ctx ctx = {.request_id = "prq_abcdefghijklmnopqrstuvwxyz234567", .request_time_us = 1700000000000000};
    http_reply r;
    http_reply_init(&r);
    salog_err err;
    salog_err_init(&err);
    salog_err_set(&err, SALOG_E_VALIDATION, "BadFormat", "/event/message", "bad %s", "thing");
    envelope_write_error(&r, &ctx, &err);
    cr_assert_eq(r.http_status, 400);
    cr_assert_str_eq(r.request_id, ctx.request_id);
    json_object *o = parse_reply(&r);
    const char *keys[] = {"request_id", "request_time", "response_time", "status", "summary", "result"};
    cr_assert_eq(json_object_object_length(o), 6);
    for (size_t i = 0; i < 6; i++)
        cr_assert(json_object_object_get_ex(o, keys[i], NULL), "%s", keys[i]);
    json_object *v;
    json_object_object_get_ex(o, "request_time", &v);
    cr_assert_str_eq(json_object_get_string(v), "2023-11-14T22:13:20.000000Z");
    json_object_object_get_ex(o, "result", &v);
    json_object *errors, *item, *f;
    cr_assert(json_object_object_get_ex(v, "errors", &errors));
    item = json_object_array_get_idx(errors, 0);
    json_object_object_get_ex(item, "source", &f);
    cr_assert_str_eq(json_object_get_string(f), "/event/message");
    json_object_object_get_ex(item, "detail", &f);
    cr_assert_str_eq(json_object_get_string(f), "bad thing");
    json_object_put(o);
    http_reply_free(&r);

    /* A status with no item still names one error (API.md I.1). */
    http_reply_init(&r);
    salog_err_init(&err);
    err.status = SALOG_E_NOT_FOUND;
    envelope_write_error(&r, &ctx, &err);
    cr_assert_eq(r.http_status, 404);
    o = parse_reply(&r);
    json_object_object_get_ex(o, "result", &v);
    cr_assert(json_object_object_get_ex(v, "errors", &errors));
    cr_assert_eq(json_object_array_length(errors), 1);
    json_object_put(o);
    http_reply_free(&r);
}

/* app_handle over a real store in a temporary directory. */
typedef struct fixture {
    char dir[64];
    app app;
    char secret[TOKEN_SECRET_LEN + 1];
    char log_secret[TOKEN_SECRET_LEN + 1];
    char search_secret[TOKEN_SECRET_LEN + 1];
} fixture;

static fixture fx;

static void setup(void)
{
    salog_err err;
    salog_err_init(&err);
    test_tmpdir_make(fx.dir, sizeof fx.dir, "front");
    app_settings_from_env(&fx.app.settings);
    fx.app.settings.data_dir = fx.dir;
    cr_assert_eq(store_open(&fx.app.store, fx.dir, true, &err), SALOG_OK);
    sv_value *cfg = config_default("default"), *stored = NULL;
    cr_assert_eq(configs_create(fx.app.store, cfg, &stored, &err), SALOG_OK);
    sv_free(cfg);
    sv_free(stored);
    token_info info = {0};
    token_spec admin = {.name = "admin", .scopes = TOKEN_SCOPE_ADMIN};
    cr_assert_eq(tokens_create(fx.app.store, &admin, fx.secret, &info, &err), SALOG_OK);
    token_info_clear(&info);
    token_spec log = {.name = "log", .scopes = TOKEN_SCOPE_LOG};
    cr_assert_eq(tokens_create(fx.app.store, &log, fx.log_secret, &info, &err), SALOG_OK);
    token_info_clear(&info);
    token_spec search = {.name = "search", .scopes = TOKEN_SCOPE_SEARCH};
    cr_assert_eq(tokens_create(fx.app.store, &search, fx.search_secret, &info, &err), SALOG_OK);
    token_info_clear(&info);
}

static void teardown(void)
{
    store_close(fx.app.store);
    test_tmpdir_remove(fx.dir);
}

static int call(const char *method, const char *path, const char *body, const char *token, http_reply *r,
                json_object **out)
{
    char auth[128] = "";
    if (token)
        snprintf(auth, sizeof auth, "Bearer %s", token);
    http_request req = {.method = method, .path = path, .authorization = token ? auth : NULL, .prefix = "",
                        .has_content_length = body != NULL, .content_length = body ? strlen(body) : 0,
                        .body = body, .body_len = body ? strlen(body) : 0};
    http_reply_init(r);
    app_handle(&fx.app, &req, r);
    *out = parse_reply(r);
    return r->http_status;
}

static const char *first_error(json_object *o, const char *member)
{
    json_object *result, *errors, *v;
    json_object_object_get_ex(o, "result", &result);
    json_object_object_get_ex(result, "errors", &errors);
    json_object_object_get_ex(json_object_array_get_idx(errors, 0), member, &v);
    return json_object_get_string(v);
}

TestSuite(front_pipeline, .init = setup, .fini = teardown);

Test(front_pipeline, limits_auth_and_routing)
{
    http_reply r;
    json_object *o;
    cr_assert_eq(call("POST", "/nope", "{}", fx.secret, &r, &o), 404);
    cr_assert_str_eq(first_error(o, "code"), "NotFound");
    json_object_put(o);
    http_reply_free(&r);

    cr_assert_eq(call("POST", "/v1beta/config/list", NULL, fx.secret, &r, &o), 411);
    json_object_put(o);
    http_reply_free(&r);

    /* Declared length above the limit: refused before reading or auth. */
    http_request big = {.method = "POST", .path = "/v1beta/config/list", .prefix = "", .has_content_length = true,
                        .content_length = 5u << 20};
    http_reply_init(&r);
    app_handle(&fx.app, &big, &r);
    cr_assert_eq(r.http_status, 413);
    o = parse_reply(&r);
    cr_assert_str_eq(first_error(o, "code"), "IsTooBig");
    json_object_put(o);
    http_reply_free(&r);

    cr_assert_eq(call("POST", "/v1beta/config/list", "{}", NULL, &r, &o), 401);
    json_object_put(o);
    http_reply_free(&r);
    cr_assert_eq(call("POST", "/v1beta/config/list", "{}", "pts_wrongwrongwrongwrongwrongwrongwr", &r, &o), 401);
    json_object_put(o);
    http_reply_free(&r);
    cr_assert_eq(call("POST", "/v1beta/config/list", "{}", fx.log_secret, &r, &o), 403);
    cr_assert_str_eq(first_error(o, "code"), "MissingScope");
    json_object_put(o);
    http_reply_free(&r);

    cr_assert_eq(call("POST", "/v1beta/config/list", "", fx.secret, &r, &o), 400);
    cr_assert_str_eq(first_error(o, "code"), "BadFormat");
    json_object_put(o);
    http_reply_free(&r);

    cr_assert_eq(call("POST", "/v1beta/config/list", "{\"size\":1,\"size\":2}", fx.secret, &r, &o), 400);
    cr_assert_str_eq(first_error(o, "source"), "/size");
    json_object_put(o);
    http_reply_free(&r);

    cr_assert_eq(call("POST", "/v1beta/config/list", "{\"size\":1}", fx.secret, &r, &o), 200);
    json_object *result, *count;
    json_object_object_get_ex(o, "result", &result);
    json_object_object_get_ex(result, "count", &count);
    cr_assert_eq(json_object_get_int(count), 1);
    json_object_put(o);
    http_reply_free(&r);
}

/* With no background duty running, an export stays pending: the poll says
 * 202 and a download says BadState (API.md I.5). */
Test(front_pipeline, export_pending_is_bad_state)
{
    http_reply r;
    json_object *o, *v;
    cr_assert_eq(call("POST", "/v1/export", "{\"format\":\"json\"}", fx.secret, &r, &o), 202);
    json_object_object_get_ex(o, "request_id", &v);
    char id[64], path[128], body[128];
    snprintf(id, sizeof id, "%s", json_object_get_string(v));
    json_object_put(o);
    http_reply_free(&r);

    snprintf(path, sizeof path, "/request/%s", id);
    cr_assert_eq(call("GET", path, NULL, fx.secret, &r, &o), 202);
    json_object_object_get_ex(o, "request_id", &v);
    cr_assert_str_eq(json_object_get_string(v), id, "the poll answers under the export's id");
    json_object_put(o);
    http_reply_free(&r);

    snprintf(body, sizeof body, "{\"request_id\":\"%s\"}", id);
    cr_assert_eq(call("POST", "/v1/download_results", body, fx.secret, &r, &o), 400);
    cr_assert_str_eq(first_error(o, "code"), "BadState");
    cr_assert_str_eq(first_error(o, "source"), "/request_id");
    json_object_put(o);
    http_reply_free(&r);

    /* Another token may neither poll nor download it. */
    cr_assert_eq(call("GET", path, NULL, fx.log_secret, &r, &o), 401);
    json_object_put(o);
    http_reply_free(&r);
    cr_assert_eq(call("POST", "/v1/download_results", body, fx.search_secret, &r, &o), 400);
    cr_assert_str_eq(first_error(o, "code"), "DoesNotExist");
    json_object_put(o);
    http_reply_free(&r);
}

/* A /v1/log whose event committed answers Success even when a proof for the
 * reply cannot be built (here the consistency proof from prev_root, whose
 * nodes are in a bottom tile removed from storage): an error would make the
 * SDKs retry and log the event twice. The proof is left out of the reply. */
Test(front_pipeline, log_after_commit_leaves_out_a_failed_proof)
{
    http_reply r;
    json_object *o, *result, *v;
    salog_err err;
    salog_err_init(&err);
    char body[8192];
    /* 10 events, then 30: size 10 is the root of an append, which prev_root may name. */
    for (int batch = 0; batch < 2; batch++) {
        size_t at = (size_t)snprintf(body, sizeof body, "{\"events\":[");
        for (int i = 0; i < (batch ? 30 : 10); i++)
            at += (size_t)snprintf(body + at, sizeof body - at, "%s{\"event\":{\"message\":\"event %d\"}}",
                                   i ? "," : "", i);
        snprintf(body + at, sizeof body - at, "]}");
        cr_assert_eq(call("POST", "/v2/log", body, fx.log_secret, &r, &o), 200);
        json_object_put(o);
        http_reply_free(&r);
    }

    char **ids = NULL;
    size_t count = 0;
    cr_assert_eq(configs_all_ids(fx.app.store, &ids, &count, &err), SALOG_OK);
    cr_assert_eq(count, 1);
    uint8_t root10[MERKLE_HASH_LEN];
    char root10_hex[65];
    cr_assert_eq(auditlog_root(fx.app.store, ids[0], 10, root10, &err), SALOG_OK);
    merkle_hex(root10, root10_hex);

    /* With the tiles intact, the reply carries both proofs. */
    snprintf(body, sizeof body, "{\"event\":{\"message\":\"checked\"},\"verbose\":true,\"prev_root\":\"%s\"}",
             root10_hex);
    cr_assert_eq(call("POST", "/v1/log", body, fx.log_secret, &r, &o), 200);
    json_object_object_get_ex(o, "result", &result);
    cr_assert(json_object_object_get_ex(result, "membership_proof", &v));
    cr_assert(json_object_object_get_ex(result, "consistency_proof", &v));
    json_object_put(o);
    http_reply_free(&r);

    /* Bottom tile 0 (events 0..31) gone: size 10's nodes are not there. */
    DB *bottom = NULL;
    db_recno_t first_tile = 1;
    cr_assert_eq(tree_queue_open(fx.app.store, ids[0], TREE_QUEUE_TILES, &bottom), 0);
    cr_assert_eq(store_del(bottom, NULL, &first_tile, sizeof first_tile), 0);
    cr_assert_eq(call("POST", "/v1/log", body, fx.log_secret, &r, &o), 200, "%.*s", (int)r.body.len, r.body.data);
    json_object_object_get_ex(o, "status", &v);
    cr_assert_str_eq(json_object_get_string(v), "Success");
    json_object_object_get_ex(o, "result", &result);
    cr_assert(json_object_object_get_ex(result, "hash", &v));
    cr_assert(json_object_object_get_ex(result, "envelope", &v));
    cr_assert(json_object_object_get_ex(result, "unpublished_root", &v));
    cr_assert(json_object_object_get_ex(result, "membership_proof", &v));
    cr_assert_not(json_object_object_get_ex(result, "consistency_proof", &v));
    json_object_put(o);
    http_reply_free(&r);

    /* Both events are in the log, once each. */
    uint64_t size = 0;
    cr_assert_eq(auditlog_size(fx.app.store, ids[0], &size, &err), SALOG_OK);
    cr_assert_eq(size, 42);
    for (size_t i = 0; i < count; i++)
        free(ids[i]);
    free(ids);
}
