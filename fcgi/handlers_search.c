/* Search endpoints (API.md I.7, II §2.5, §2.6, §2.8, §2.9, §5): /v1/search,
 * /v1/results, /v1/download_results, /v1/export and GET /download/<token>/<name>.
 * Request members are checked here; the query language is model/query, the
 * executor and result sets model/search, replies' events
 * model/search_events, files and jobs model/exports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/timefmt.h"
#include "fcgi/request_ctx.h"
#include "model/configs.h"
#include "model/exports.h"
#include "model/query.h"
#include "model/search.h"
#include "model/search_events.h"

#define SEARCH_DEFAULT_LIMIT 20
#define SEARCH_DEFAULT_WINDOW_US (14LL * 86400 * 1000000) /* start defaults to 14 days ago */
#define RESULT_DEFAULT_TTL_US (2LL * 86400 * 1000000)
#define TIME_TEXT_MAX 128

static salog_status oom(request_ctx *rc)
{
    return salog_err_set(&rc->err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
}

/* start/end: RFC 3339 (0-9 fraction digits, any zone) or a duration back from now. */
static salog_status time_member(request_ctx *rc, const char *key, int64_t now, int64_t *out, bool *present)
{
    const char *text = NULL;
    char src[32];
    snprintf(src, sizeof src, "/%s", key);
    *present = false;
    salog_status st = field_string(rc, rc->body, key, false, &text);
    if (st != SALOG_OK || !text)
        return st;
    *present = true;
    if (strlen(text) > TIME_TEXT_MAX || time_parse_datetime_rel(text, now, out) != 0) {
        bool looks_absolute = strchr(text, 'T') || strchr(text, '-') || strchr(text, ':');
        return salog_err_set(&rc->err, SALOG_E_VALIDATION,
                             looks_absolute ? "BadFormatDateTime" : "BadFormatPangeaDuration", src,
                             "'%s' must be an RFC 3339 time or a duration such as 7d, 12h, 30min", key);
    }
    return SALOG_OK;
}

/* {field: [string…]}: the shape of search_restriction and its assert twin. */
static salog_status restriction_member(request_ctx *rc, const char *key, const sv_value **out)
{
    char src[300];
    sv_value *v = sv_object_get(rc->body, key);
    *out = NULL;
    if (!v)
        return SALOG_OK;
    if (v->type != SV_OBJECT) {
        snprintf(src, sizeof src, "/%s", key);
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, v->type == SV_NULL ? "InvalidNull" : "InvalidObject", src,
                             "'%s' must be an object of {field: [values]}", key);
    }
    for (size_t i = 0; i < v->u.obj.count; i++) {
        const sv_member *m = &v->u.obj.members[i];
        snprintf(src, sizeof src, "/%s/%s", key, m->key);
        if (m->value->type != SV_ARRAY)
            return salog_err_set(&rc->err, SALOG_E_VALIDATION, "InvalidArray", src, "each restriction is a list of values");
        for (size_t j = 0; j < m->value->u.arr.count; j++)
            if (m->value->u.arr.items[j]->type != SV_STRING) {
                snprintf(src, sizeof src, "/%s/%s/%zu", key, m->key, j);
                return salog_err_set(&rc->err, SALOG_E_VALIDATION, "InvalidString", src, "restriction values are strings");
            }
    }
    *out = v;
    return SALOG_OK;
}

static salog_status range_member(request_ctx *rc, const char *key, int64_t min, int64_t max, int64_t def,
                                 int64_t *out)
{
    bool present = false;
    *out = def;
    salog_status st = field_int(rc, rc->body, key, false, out, &present);
    if (st != SALOG_OK)
        return st;
    if (present && (*out < min || *out > max)) {
        char src[32];
        snprintf(src, sizeof src, "/%s", key);
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "NotWithinRange", src, "'%s' must be between %lld and %lld",
                             key, (long long)min, (long long)max);
    }
    return SALOG_OK;
}

static salog_status order_member(request_ctx *rc, bool *descending)
{
    const char *order = NULL;
    salog_status st = field_string(rc, rc->body, "order", false, &order);
    if (st != SALOG_OK)
        return st;
    /* Newest first unless asked otherwise, as the SDKs and viewers ask. */
    *descending = !order || strcmp(order, "desc") == 0;
    if (order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0)
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "NotEnumMember", "/order", "'order' must be \"asc\" or \"desc\"");
    return SALOG_OK;
}

/* The config a search acts on, its schema (borrowed from *config) and the
 * result-set lifetime from its query_result_retention. */
static salog_status search_config(request_ctx *rc, char config_id[ID_LEN + 1], sv_value **config,
                                  const sv_value **schema, int64_t *ttl_us)
{
    salog_status st = auth_resolve_config(rc, config_id, config);
    if (st != SALOG_OK)
        return st;
    *schema = sv_object_get(*config, "schema");
    if (!*schema || (*schema)->type != SV_OBJECT)
        return salog_err_set(&rc->err, SALOG_E_INVALID_SCHEMA, "InvalidSchema", "/config_id", "this config has no usable schema");
    const char *retention = sv_object_get_str(*config, "query_result_retention");
    if (!retention || duration_parse(retention, ttl_us) != 0 || *ttl_us <= 0)
        *ttl_us = RESULT_DEFAULT_TTL_US;
    return SALOG_OK;
}

/* {count, events, root?, unpublished_root?} (+ id, expires_at for a search). */
static salog_status page_result(request_ctx *rc, const search_result_set *rs, bool with_id, sv_value **result)
{
    char base[512], expires[TIME_RFC3339_LEN + 1];
    search_events ev = {0};
    http_base_url(rc->req, base, sizeof base);
    salog_status st = search_events_build(rc->app->store, rs->config_id, rs->indexes, rs->page_count, rs->verbose, base,
                                          &ev, &rc->err);
    if (st != SALOG_OK)
        return st;
    sv_value *res = sv_object();
    int bad = !res;
    if (!bad && with_id) {
        time_format_us(rs->expires_at_us, expires);
        bad |= sv_object_set_str(res, "id", rs->id) | sv_object_set_str(res, "expires_at", expires);
    }
    bad = bad || sv_object_set_int(res, "count", (int64_t)rs->count);
    if (!bad) {
        bad = sv_object_set(res, "events", ev.events); /* takes the events, even on failure */
        ev.events = NULL;
    }
    if (!bad && ev.root) {
        bad = sv_object_set(res, "root", ev.root);
        ev.root = NULL;
    }
    if (!bad && ev.unpublished_root) {
        bad = sv_object_set(res, "unpublished_root", ev.unpublished_root);
        ev.unpublished_root = NULL;
    }
    search_events_clear(&ev);
    if (bad) {
        sv_free(res);
        return oom(rc);
    }
    *result = res;
    return SALOG_OK;
}

salog_status handle_search(request_ctx *rc, sv_value **result)
{
    static const char *const allowed[] = {"query", "start", "end", "limit", "max_results", "order", "order_by",
                                          "search_restriction", "verbose", "return_context", NULL};
    char config_id[ID_LEN + 1];
    sv_value *config = NULL;
    query_node *query = NULL;
    search_result_set rs = {0};
    const sv_value *schema = NULL, *restriction = NULL;
    const char *text = NULL, *order_by = NULL;
    int64_t now = time_now_us(), start = now - SEARCH_DEFAULT_WINDOW_US, end = now, limit, max_results, ttl;
    bool has_start, has_end, descending = true, verbose = true, return_context = false;

    salog_status st = fields_only(rc, rc->body, "", allowed);
    field_string(rc, rc->body, "query", true, &text);
    time_member(rc, "start", now, &start, &has_start);
    time_member(rc, "end", now, &end, &has_end);
    range_member(rc, "limit", 1, SEARCH_MAX_RESULTS, SEARCH_DEFAULT_LIMIT, &limit);
    range_member(rc, "max_results", 1, SEARCH_MAX_RESULTS, SEARCH_MAX_RESULTS, &max_results);
    order_member(rc, &descending);
    field_string(rc, rc->body, "order_by", false, &order_by);
    restriction_member(rc, "search_restriction", &restriction);
    field_bool(rc, rc->body, "verbose", &verbose, NULL);
    field_bool(rc, rc->body, "return_context", &return_context, NULL); /* no FPE: nothing to return */
    if (rc->err.count)
        return rc->err.status;
    if (st != SALOG_OK)
        return st;
    if ((st = search_config(rc, config_id, &config, &schema, &ttl)) != SALOG_OK)
        goto out;
    size_t len = strlen(text);
    if ((st = query_parse(text, len, &query, &rc->err)) != SALOG_OK || (st = query_bind(query, schema, &rc->err)) != SALOG_OK)
        goto out;
    search_params p = {
        .config_id = config_id, .schema = schema, .query = query, .start_us = start, .end_us = end,
        .descending = descending, .order_by = order_by ? order_by : "received_at", .max_results = (size_t)max_results,
        .search_restriction = restriction, .token_restriction = rc->token.restrictions, .verbose = verbose,
        .owner_token_id = rc->token.id, .ttl_us = ttl,
    };
    if ((st = search_run(rc->app->store, &p, (size_t)limit, &rs, &rc->err)) != SALOG_OK)
        goto out;
    if ((st = page_result(rc, &rs, true, result)) != SALOG_OK)
        goto out;
    snprintf(rc->summary, sizeof rc->summary, "Found %llu event(s)", (unsigned long long)rs.count);
out:
    search_result_set_clear(&rs);
    query_free(query);
    sv_free(config);
    return st;
}

/* A stored result set, readable only with the token that ran the search
 * (its restrictions shaped it); another token is told it does not exist. */
static salog_status owned_result_set(request_ctx *rc, const char *id, const char *src, size_t offset, size_t limit,
                                     search_result_set *rs)
{
    if (!id_is_valid("pas_", id))
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "DoesNotExist", src, "no result set with this id");
    /* Whose is it? Asked first, so that another token learns nothing (not even the count). */
    salog_status st = search_results_page(rc->app->store, id, 0, 1, rs, &rc->err);
    if (st == SALOG_E_VALIDATION || (st == SALOG_OK && strcmp(rs->owner_token_id, rc->token.id) != 0)) {
        salog_err_init(&rc->err);
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "DoesNotExist", src, "no result set with this id");
    }
    if (st != SALOG_OK)
        return st;
    search_result_set_clear(rs);
    if ((st = search_results_page(rc->app->store, id, offset, limit, rs, &rc->err)) != SALOG_OK)
        return st;
    const sv_value *asserted = NULL;
    if ((st = restriction_member(rc, "assert_search_restriction", &asserted)) != SALOG_OK)
        return st;
    if (asserted) {
        bool empty_both = asserted->u.obj.count == 0 && !rs->search_restriction;
        if (!empty_both && !sv_equal(asserted, rs->search_restriction))
            return salog_err_set(&rc->err, SALOG_E_VALIDATION, "InvalidConst", "/assert_search_restriction",
                                 "the result set was made with another search_restriction");
    }
    return SALOG_OK;
}

salog_status handle_results(request_ctx *rc, sv_value **result)
{
    static const char *const allowed[] = {"id", "limit", "offset", "assert_search_restriction", "return_context", NULL};
    search_result_set rs = {0};
    const char *id = NULL;
    int64_t limit, offset;
    bool return_context = false;
    salog_status st = fields_only(rc, rc->body, "", allowed);
    field_string(rc, rc->body, "id", true, &id);
    range_member(rc, "limit", 1, SEARCH_MAX_RESULTS, SEARCH_DEFAULT_LIMIT, &limit);
    range_member(rc, "offset", 0, INT64_MAX, 0, &offset);
    field_bool(rc, rc->body, "return_context", &return_context, NULL);
    if (rc->err.count)
        return rc->err.status;
    if (st != SALOG_OK)
        return st;
    if ((st = owned_result_set(rc, id, "/id", (size_t)offset, (size_t)limit, &rs)) == SALOG_OK &&
        (st = page_result(rc, &rs, false, result)) == SALOG_OK)
        snprintf(rc->summary, sizeof rc->summary, "Found %llu event(s)", (unsigned long long)rs.count);
    search_result_set_clear(&rs);
    return st;
}

static salog_status format_member(request_ctx *rc, export_format *format)
{
    const char *f = NULL;
    salog_status st = field_string(rc, rc->body, "format", false, &f);
    *format = f && strcmp(f, "json") == 0 ? EXPORT_JSON : EXPORT_CSV;
    if (st == SALOG_OK && f && strcmp(f, "csv") != 0 && strcmp(f, "json") != 0)
        st = salog_err_set(&rc->err, SALOG_E_VALIDATION, "NotEnumMember", "/format", "'format' must be \"csv\" or \"json\"");
    return st;
}

static salog_status download_reply(request_ctx *rc, const char *token, const char *file_name, int64_t expires_us,
                                   sv_value **result)
{
    char base[512], url[1024], expires[TIME_RFC3339_LEN + 1];
    http_base_url(rc->req, base, sizeof base);
    snprintf(url, sizeof url, "%s/download/%s/%s", base, token, file_name);
    time_format_us(expires_us, expires);
    sv_value *res = sv_object();
    if (!res || sv_object_set_str(res, "dest_url", url) || sv_object_set_str(res, "expires_at", expires)) {
        sv_free(res);
        return oom(rc);
    }
    *result = res;
    snprintf(rc->summary, sizeof rc->summary, "Download ready");
    return SALOG_OK;
}

salog_status handle_download_results(request_ctx *rc, sv_value **result)
{
    static const char *const allowed[] = {"result_id", "request_id", "format", "return_context",
                                          "assert_search_restriction", NULL};
    const char *result_id = NULL, *request_id = NULL;
    export_format format;
    bool return_context = false;
    salog_status st = fields_only(rc, rc->body, "", allowed);
    field_string(rc, rc->body, "result_id", false, &result_id);
    field_string(rc, rc->body, "request_id", false, &request_id);
    format_member(rc, &format);
    field_bool(rc, rc->body, "return_context", &return_context, NULL);
    if (rc->err.count)
        return rc->err.status;
    if (st != SALOG_OK)
        return st;
    if (!result_id && !request_id)
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "MustProvideOne", "/result_id",
                             "give one of result_id (a search) or request_id (an export)");
    if (result_id && request_id)
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "MutuallyExclusive", "/request_id",
                             "give only one of result_id and request_id");
    if (request_id) {
        export_state state;
        char owner[ID_LEN + 1], token[DOWNLOAD_TOKEN_LEN + 1], *detail = NULL, *path = NULL, *name = NULL;
        int64_t expires = 0;
        if (!id_is_valid("prq_", request_id))
            return salog_err_set(&rc->err, SALOG_E_VALIDATION, "DoesNotExist", "/request_id", "no export with this id");
        st = exports_status(rc->app->store, request_id, &state, owner, token, &detail, &rc->err);
        if (st == SALOG_E_NOT_FOUND || (st == SALOG_OK && strcmp(owner, rc->token.id) != 0)) {
            free(detail);
            salog_err_init(&rc->err);
            return salog_err_set(&rc->err, SALOG_E_VALIDATION, "DoesNotExist", "/request_id", "no export with this id");
        }
        if (st != SALOG_OK)
            return st;
        if (state != EXPORT_DONE) {
            st = salog_err_set(&rc->err, SALOG_E_VALIDATION, "BadState", "/request_id", "%s",
                               state == EXPORT_PENDING ? "the export is not finished yet: poll /request/<request_id>"
                                                       : (detail ? detail : "the export failed"));
            free(detail);
            return st;
        }
        free(detail);
        if ((st = downloads_open(rc->app->store, token, &path, &name, &expires, &rc->err)) == SALOG_OK)
            st = download_reply(rc, token, name, expires, result);
        free(path);
        free(name);
        return st;
    }

    search_result_set rs = {0};
    sv_value *config = NULL;
    search_events ev = {0};
    char base[512], token[DOWNLOAD_TOKEN_LEN + 1], name[128];
    if ((st = owned_result_set(rc, result_id, "/result_id", 0, SEARCH_MAX_RESULTS, &rs)) != SALOG_OK)
        goto out;
    if ((st = configs_get(rc->app->store, rs.config_id, &config, &rc->err)) != SALOG_OK)
        goto out;
    http_base_url(rc->req, base, sizeof base);
    if ((st = search_events_build(rc->app->store, rs.config_id, rs.indexes, rs.page_count, rs.verbose, base, &ev,
                                  &rc->err)) != SALOG_OK)
        goto out;
    snprintf(name, sizeof name, "search_results_%s.%s.gz", rs.id, format == EXPORT_JSON ? "json" : "csv");
    if ((st = downloads_create(rc->app->store, ev.events, sv_object_get(config, "schema"), format, name,
                               rs.expires_at_us, token, &rc->err)) != SALOG_OK)
        goto out;
    st = download_reply(rc, token, name, rs.expires_at_us, result);
out:
    search_events_clear(&ev);
    sv_free(config);
    search_result_set_clear(&rs);
    return st;
}

salog_status handle_export(request_ctx *rc, sv_value **result)
{
    static const char *const allowed[] = {"format", "start", "end", "order", "order_by", "verbose", NULL};
    char config_id[ID_LEN + 1];
    sv_value *config = NULL;
    const sv_value *schema = NULL;
    const char *order_by = NULL;
    export_job job = {0};
    int64_t now = time_now_us(), start = now - SEARCH_DEFAULT_WINDOW_US, end = now, ttl;
    bool has_start, has_end, descending = true, verbose = true;
    export_format format;
    salog_status st = fields_only(rc, rc->body, "", allowed);
    format_member(rc, &format);
    time_member(rc, "start", now, &start, &has_start);
    time_member(rc, "end", now, &end, &has_end);
    order_member(rc, &descending);
    field_string(rc, rc->body, "order_by", false, &order_by);
    field_bool(rc, rc->body, "verbose", &verbose, NULL);
    if (rc->err.count)
        return rc->err.status;
    if (st != SALOG_OK)
        return st;
    if ((st = search_config(rc, config_id, &config, &schema, &ttl)) != SALOG_OK)
        goto out;
    if (order_by && strcmp(order_by, "received_at") != 0) {
        bool known = false;
        const sv_value *fields = sv_object_get(schema, "fields");
        for (size_t i = 0; fields && fields->type == SV_ARRAY && i < fields->u.arr.count && !known; i++) {
            const char *id = sv_object_get_str(fields->u.arr.items[i], "id");
            known = id && strcmp(id, order_by) == 0;
        }
        if (!known || strlen(order_by) >= sizeof job.order_by) {
            st = salog_err_set(&rc->err, SALOG_E_VALIDATION, "NotEnumMember", "/order_by",
                               "'order_by' must be received_at or a field of the config's schema");
            goto out;
        }
    }
    snprintf(job.request_id, sizeof job.request_id, "%s", rc->env.request_id);
    snprintf(job.token_id, sizeof job.token_id, "%s", rc->token.id);
    snprintf(job.config_id, sizeof job.config_id, "%s", config_id);
    snprintf(job.order_by, sizeof job.order_by, "%s", order_by ? order_by : "received_at");
    job.format = format;
    job.start_us = start;
    job.end_us = end;
    job.descending = descending;
    job.verbose = verbose;
    job.token_restriction = rc->token.restrictions; /* borrowed: not cleared below */
    job.expires_us = now + ttl;
    http_base_url(rc->req, job.base_url, sizeof job.base_url);
    st = exports_enqueue(rc->app->store, &job, &rc->err);
    job.token_restriction = NULL;
    if (st != SALOG_OK)
        goto out;
    /* 202 at once; the poll answers 202 until the duty has run the job. */
    st = accepted_result(rc, rc->env.request_id, result);
out:
    sv_free(config);
    return st;
}

/* GET /download/<token>/<file name>: the file itself, no token needed (the
 * URL is the secret), gzip bytes with no Content-Encoding (I.7). */
salog_status handle_download_file(request_ctx *rc, sv_value **result)
{
    char token[DOWNLOAD_TOKEN_LEN + 1];
    char *path = NULL, *name = NULL;
    int64_t expires = 0;
    const char *tail = rc->tail ? rc->tail : "";
    const char *slash = strchr(tail, '/');
    (void)result;
    if (!slash || slash - tail != DOWNLOAD_TOKEN_LEN)
        return salog_err_set(&rc->err, SALOG_E_NOT_FOUND, "NotFound", "/", "no such download");
    memcpy(token, tail, DOWNLOAD_TOKEN_LEN);
    token[DOWNLOAD_TOKEN_LEN] = '\0';
    salog_status st = downloads_open(rc->app->store, token, &path, &name, &expires, &rc->err);
    if (st != SALOG_OK)
        return st;
    if (strcmp(slash + 1, name) != 0) {
        free(path);
        free(name);
        return salog_err_set(&rc->err, SALOG_E_NOT_FOUND, "NotFound", "/", "no such download");
    }
    rc->file_path = path;
    snprintf(rc->file_name, sizeof rc->file_name, "%s", name);
    free(name);
    rc->raw_document = true;
    return SALOG_OK;
}
