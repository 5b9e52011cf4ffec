/* Routing (API.md I.1) and the request pipeline shared by every endpoint:
 * limits → authentication → scope → decode → handler → envelope. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec/timefmt.h"
#include "fcgi/request_ctx.h"

enum auth_mode {
    AUTH_NONE,   /* public documents */
    AUTH_TOKEN,  /* any valid token, no scope (async poll) */
    AUTH_SCOPE,  /* a valid token with `scope` */
};

typedef struct route {
    const char *method;
    const char *path;
    bool prefix;          /* path is a prefix ending in '/'; the rest is rc->tail */
    enum auth_mode auth;
    unsigned scope;
    handler_fn fn;
} route;

static salog_status handle_noop(request_ctx *rc, sv_value **result)
{
    (void)rc;
    *result = sv_object();
    return *result ? SALOG_OK : SALOG_E_INTERNAL;
}

static const route routes[] = {
    {"POST", "/v1beta/config", false, AUTH_SCOPE, TOKEN_SCOPE_ADMIN, handle_config_get},
    {"POST", "/v1beta/config/create", false, AUTH_SCOPE, TOKEN_SCOPE_ADMIN, handle_config_create},
    {"POST", "/v1beta/config/update", false, AUTH_SCOPE, TOKEN_SCOPE_ADMIN, handle_config_update},
    {"POST", "/v1beta/config/delete", false, AUTH_SCOPE, TOKEN_SCOPE_ADMIN, handle_config_delete},
    {"POST", "/v1beta/config/list", false, AUTH_SCOPE, TOKEN_SCOPE_ADMIN, handle_config_list},
    {"POST", "/v1beta/config/partition_overrides", false, AUTH_SCOPE, TOKEN_SCOPE_ADMIN,
     handle_config_partition_overrides},
    {"POST", "/v1/schema", false, AUTH_SCOPE, TOKEN_SCOPE_SEARCH, handle_schema},
    {"POST", "/v1/log", false, AUTH_SCOPE, TOKEN_SCOPE_LOG, handle_log_v1},
    {"POST", "/v2/log", false, AUTH_SCOPE, TOKEN_SCOPE_LOG, handle_log_v2},
    {"POST", "/v2/log_async", false, AUTH_SCOPE, TOKEN_SCOPE_LOG, handle_log_async},
    {"POST", "/v1/log_stream", false, AUTH_SCOPE, TOKEN_SCOPE_LOG, handle_log_stream},
    {"GET", "/request/", true, AUTH_TOKEN, 0, handle_request_poll},
    {"POST", "/v1/root", false, AUTH_SCOPE, TOKEN_SCOPE_SEARCH, handle_root},
    {"GET", "/v1/published/", true, AUTH_NONE, 0, handle_published},
    {"POST", "/v1/search", false, AUTH_SCOPE, TOKEN_SCOPE_SEARCH, handle_search},
    {"POST", "/v1/results", false, AUTH_SCOPE, TOKEN_SCOPE_SEARCH, handle_results},
    {"POST", "/v1/download_results", false, AUTH_SCOPE, TOKEN_SCOPE_SEARCH, handle_download_results},
    {"POST", "/v1/export", false, AUTH_SCOPE, TOKEN_SCOPE_SEARCH, handle_export},
    /* The URL is the credential (it works without a token, I.7 / II §2.8). */
    {"GET", "/download/", true, AUTH_NONE, 0, handle_download_file},
    /* The benchmark floor: same worker, same envelope, no auth, no storage. */
    {"POST", "/_salog/noop", false, AUTH_NONE, 0, handle_noop},
};

static const route *route_find(const char *method, const char *path, const char **tail)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const route *r = &routes[i];
        if (strcmp(r->method, method) != 0)
            continue;
        if (r->prefix) {
            size_t n = strlen(r->path);
            if (strncmp(path, r->path, n) == 0 && path[n] != '\0') {
                *tail = path + n;
                return r;
            }
        } else if (strcmp(path, r->path) == 0) {
            return r;
        }
    }
    return NULL;
}

static salog_status decode_body(request_ctx *rc)
{
    const http_request *req = rc->req;
    app_settings *s = &rc->app->settings;
    if (req->body_unreadable)
        return salog_err_set(&rc->err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory reading the body");
    if (req->body && req->body_len < req->content_length)
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "BadFormat", "/",
                             "the body ended after %zu of its %zu bytes", req->body_len, req->content_length);
    if (!req->body || req->body_len == 0)
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "BadFormat", "/",
                             "empty body: send a JSON object (at least {})");
    salog_status st;
    if (http_is_msgpack_type(req->content_type))
        st = codec_msgpack_decode(&rc->body, req->body, req->body_len, s->max_depth, &rc->err);
    else
        st = codec_json_decode(&rc->body, req->body, req->body_len, s->max_depth, &rc->err);
    if (st != SALOG_OK)
        return st;
    if (rc->body->type != SV_OBJECT)
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "InvalidObject", "/",
                             "the body must be an object, not %s", sv_type_name(rc->body->type));
    return SALOG_OK;
}

/* A download reply: the file, opened now, with its headers. */
static salog_status open_download(request_ctx *rc, http_reply *reply)
{
    struct stat sb;
    FILE *f = fopen(rc->file_path, "rb");
    if (!f || fstat(fileno(f), &sb) != 0) {
        if (f)
            fclose(f);
        return salog_err_set(&rc->err, SALOG_E_NOT_FOUND, "NotFound", "/", "no such download");
    }
    reply->http_status = 200;
    reply->content_type = "application/gzip";
    reply->file = f;
    reply->file_size = (long long)sb.st_size;
    snprintf(reply->request_id, sizeof reply->request_id, "%s", rc->env.request_id);
    snprintf(reply->extra_headers, sizeof reply->extra_headers,
             "Content-Disposition: attachment; filename=\"%s\"\r\n", rc->file_name);
    return SALOG_OK;
}

void app_handle(app *a, const http_request *req, http_reply *reply)
{
    request_ctx rc;
    memset(&rc, 0, sizeof rc);
    rc.app = a;
    rc.req = req;
    rc.success_http = 200;
    rc.success_status = "Success";
    snprintf(rc.summary, sizeof rc.summary, "Success");
    salog_err_init(&rc.err);
    rc.env.request_time_us = time_now_us();
    rc.env.msgpack = http_is_msgpack_type(req->accept);
    if (id_generate("prq_", rc.env.request_id) != 0)
        snprintf(rc.env.request_id, sizeof rc.env.request_id, "prq_%032d", 0);

    sv_value *result = NULL;
    salog_status st;
    const char *tail = NULL;
    const route *r = route_find(req->method ? req->method : "", req->path ? req->path : "", &tail);
    if (!r) {
        st = salog_err_set(&rc.err, SALOG_E_NOT_FOUND, "NotFound", "/", "no endpoint %s %s",
                           req->method ? req->method : "?", req->path ? req->path : "?");
        goto out;
    }
    rc.tail = tail;
    /* Limits first: a body too big or without a length is refused before any work. */
    if (strcmp(r->method, "POST") == 0) {
        if (!req->has_content_length) {
            st = salog_err_set(&rc.err, SALOG_E_LENGTH_REQUIRED, "FieldRequired", "/",
                               "a request body with Content-Length is required");
            goto out;
        }
        if (req->content_length > a->settings.max_body) {
            st = salog_err_set(&rc.err, SALOG_E_TOO_BIG, "IsTooBig", "/",
                               "the body is %zu bytes; the limit is %zu", req->content_length,
                               a->settings.max_body);
            goto out;
        }
    }
    if (r->auth != AUTH_NONE) {
        st = auth_authenticate(&rc);
        if (st != SALOG_OK)
            goto out;
        if (r->auth == AUTH_SCOPE && (st = auth_require_scope(&rc, r->scope)) != SALOG_OK)
            goto out;
    }
    if (strcmp(r->method, "POST") == 0 && (st = decode_body(&rc)) != SALOG_OK)
        goto out;
    st = r->fn(&rc, &result);
out:
    /* Opened here, so that a file gone since its lookup is a NotFound envelope. */
    if (st == SALOG_OK && rc.file_path && (st = open_download(&rc, reply)) != SALOG_OK) {
        sv_free(result);
        result = NULL;
    }
    if (st == SALOG_OK && rc.file_path) {
        sv_free(result);
    } else if (st == SALOG_OK && rc.raw_document) {
        envelope_write_document(reply, &rc.env, rc.success_http, result);
    } else if (st == SALOG_OK) {
        envelope_write(reply, &rc.env, rc.success_http, rc.success_status, rc.summary, result);
    } else {
        sv_free(result);
        if (rc.err.status == SALOG_OK)
            salog_err_set(&rc.err, st, NULL, "/", "%s", salog_status_summary(st));
        envelope_write_error(reply, &rc.env, &rc.err);
    }
    sv_free(rc.body);
    free(rc.file_path);
    if (rc.has_token)
        token_info_clear(&rc.token);
}

static long env_long(const char *name, long def, long min, long max)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < min || n > max) {
        fprintf(stderr, "salog: ignoring %s=%s (want %ld..%ld)\n", name, v, min, max);
        return def;
    }
    return n;
}

void app_settings_from_env(app_settings *s)
{
    const char *d = getenv("SALOG_DATA");
    s->data_dir = d && *d ? d : "./var";
    const char *p = getenv("SALOG_PREFIX");
    s->prefix = p ? p : "";
    s->threads = (int)env_long("SALOG_THREADS", 4, 1, 256);
    s->workers = (int)env_long("SALOG_WORKERS", 0, 0, 256);
    s->publish_interval_s = (int)env_long("SALOG_PUBLISH_INTERVAL", 60, 1, 86400);
    s->max_body = (size_t)env_long("SALOG_MAX_BODY", 1048576, 1024, 64L * 1048576);
    s->max_depth = (int)env_long("SALOG_MAX_DEPTH", 32, 2, 256);
    const char *idx = getenv("SALOG_SEARCH_INDEX");
    s->search_indexing = !(idx && strcmp(idx, "off") == 0);
}
