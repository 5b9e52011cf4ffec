/* Search: indexes, the executor and result sets. Every search is compared
 * with a brute-force evaluation (every event loaded, query_matches +
 * restrictions + time bounds + ordering) with the index empty, partly
 * built (an unindexed tail) and complete; result set paging, BadOffset,
 * expiry; and the cost of a selective search (events loaded). */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/codec.h"
#include "codec/timefmt.h"
#include "model/auditlog.h"
#include "model/be64.h"
#include "model/configs.h"
#include "model/config_schema.h"
#include "model/query.h"
#include "model/search.h"
#include "model/search_index.h"
#include "model/store_internal.h"
#include "tests/unit/test_tmpdir.h"

static char st_root[64];
static store *st_store;
static char st_cfg[ID_LEN + 1];
static sv_value *st_schema;

static void st_add_field(sv_value *fields, const char *id, const char *type)
{
    sv_value *f = sv_object();
    cr_assert(f);
    cr_assert_eq(sv_object_set_str(f, "id", id), 0);
    cr_assert_eq(sv_object_set_str(f, "type", type), 0);
    cr_assert_eq(sv_array_push(fields, f), 0);
}

static void st_setup(void)
{
    salog_err err;
    salog_err_init(&err);
    char data[128];
    test_tmpdir_make(st_root, sizeof st_root, "search");
    snprintf(data, sizeof data, "%s/data", st_root);
    cr_assert_eq(store_open(&st_store, data, true, &err), SALOG_OK);
    sv_value *cfg = config_default("search-test");
    cr_assert(cfg);
    sv_value *schema = sv_object(), *fields = sv_array();
    cr_assert(schema && fields);
    st_add_field(fields, "actor", "string");
    st_add_field(fields, "action", "string");
    st_add_field(fields, "message", "string");
    st_add_field(fields, "target", "string");
    st_add_field(fields, "tenant", "string");
    st_add_field(fields, "count", "integer");
    st_add_field(fields, "when", "datetime");
    st_add_field(fields, "flag", "boolean");
    cr_assert_eq(sv_object_set(schema, "fields", fields), 0);
    cr_assert_eq(sv_object_set_bool(schema, "tamper_proofing", true), 0);
    cr_assert_eq(sv_object_set(cfg, "schema", schema), 0);
    sv_value *made = NULL;
    cr_assert_eq(configs_create(st_store, cfg, &made, &err), SALOG_OK, "%s", err.items[0].detail);
    snprintf(st_cfg, sizeof st_cfg, "%s", sv_object_get_str(made, "id"));
    st_schema = sv_clone(sv_object_get(made, "schema"));
    cr_assert(st_schema);
    sv_free(made);
    sv_free(cfg);
}

static void st_teardown(void)
{
    store_close(st_store);
    st_store = NULL;
    sv_free(st_schema);
    st_schema = NULL;
    test_tmpdir_remove(st_root);
}

TestSuite(search, .init = st_setup, .fini = st_teardown, .timeout = 600);

static const char *const st_actions[] = {"login", "logout", "read", "write", "delete"};

/* Event i of the varied log. */
static sv_value *st_event(size_t i)
{
    char buf[1024];
    sv_value *e = sv_object();
    cr_assert(e);
    if (i == 7)
        cr_assert_eq(sv_object_set_str(e, "actor", "Zo\xc3\xab \xc3\xbcn\xc3\xaf\xc3\xa7\xc3\xb8" "d\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac"), 0);
    else if (i == 1234)
        cr_assert_eq(sv_object_set_str(e, "actor", "the-unique-actor"), 0);
    else {
        snprintf(buf, sizeof buf, "user-%zu", i % 37);
        cr_assert_eq(sv_object_set_str(e, "actor", buf), 0);
    }
    cr_assert_eq(sv_object_set_str(e, "action", st_actions[i % 5]), 0);
    if (i % 97 == 0) {
        /* > 256 bytes: the long list; the term sits past the first 64 bytes. */
        int w = snprintf(buf, sizeof buf, "long message %zu ", i);
        for (int k = 0; k < 30; k++)
            w += snprintf(buf + w, sizeof buf - (size_t)w, "filler%02d ", k);
        snprintf(buf + w, sizeof buf - (size_t)w, "needle-long end");
    } else if (i % 10 == 3) {
        snprintf(buf, sizeof buf, "dupdup dupdup event %zu caf\xc3\xa9", i);
    } else {
        snprintf(buf, sizeof buf, "event %zu about %s by user-%zu", i, st_actions[(i / 5) % 5], i % 37);
    }
    cr_assert_eq(sv_object_set_str(e, "message", buf), 0);
    if (i % 13 == 0)
        cr_assert_eq(sv_object_set_str(e, "target", "x"), 0);
    else if (i % 11 != 0) {
        snprintf(buf, sizeof buf, "t%zu", i % 9);
        cr_assert_eq(sv_object_set_str(e, "target", buf), 0);
    }
    static const char *const tenants[] = {"tenant-a", "tenant-b", "tenant-c"};
    cr_assert_eq(sv_object_set_str(e, "tenant", tenants[i % 3]), 0);
    if (i % 7 != 0)
        cr_assert_eq(sv_object_set_int(e, "count", (int64_t)i - 1000), 0);
    snprintf(buf, sizeof buf, "2024-01-%02zuT10:00:%02zu.000000Z", 1 + i % 28, i % 60);
    cr_assert_eq(sv_object_set_str(e, "when", buf), 0);
    cr_assert_eq(sv_object_set_bool(e, "flag", i % 2 == 0), 0);
    return e;
}

/* Appends events [from, to) made by make(i), in batches of 100. */
static void st_append(size_t from, size_t to, sv_value *(*make)(size_t))
{
    salog_err err;
    salog_err_init(&err);
    for (size_t b = from; b < to; b += 100) {
        size_t n = to - b < 100 ? to - b : 100;
        sv_value *evs[100];
        log_item items[100];
        memset(items, 0, sizeof items);
        for (size_t k = 0; k < n; k++) {
            evs[k] = make(b + k);
            items[k].event = evs[k];
        }
        log_append_result r;
        cr_assert_eq(auditlog_append(st_store, st_cfg, items, n, &r, &err), SALOG_OK, "%s", err.items[0].detail);
        auditlog_append_result_clear(&r);
        for (size_t k = 0; k < n; k++)
            sv_free(evs[k]);
    }
}

/* ---- brute force ---- */

typedef struct st_log {
    sv_value **env;
    int64_t *at;
    size_t n;
} st_log;

static void st_log_load(st_log *l)
{
    salog_err err;
    salog_err_init(&err);
    uint64_t size = 0;
    cr_assert_eq(auditlog_size(st_store, st_cfg, &size, &err), SALOG_OK);
    l->n = (size_t)size;
    l->env = calloc(l->n, sizeof *l->env);
    l->at = calloc(l->n, sizeof *l->at);
    cr_assert(l->env && l->at);
    for (size_t i = 0; i < l->n; i++) {
        char hash[65];
        cr_assert_eq(auditlog_get_event(st_store, st_cfg, i, &l->env[i], hash, &err), SALOG_OK);
        cr_assert_eq(time_parse_rfc3339(sv_object_get_str(l->env[i], "received_at"), &l->at[i]), 0);
    }
}

static void st_log_free(st_log *l)
{
    for (size_t i = 0; i < l->n; i++)
        sv_free(l->env[i]);
    free(l->env);
    free(l->at);
}

static bool st_restr_ok(const sv_value *r, const sv_value *event)
{
    if (!r)
        return true;
    for (size_t i = 0; i < r->u.obj.count; i++) {
        const sv_value *list = r->u.obj.members[i].value;
        if (list->u.arr.count == 0)
            continue;
        const sv_value *v = sv_object_get(event, r->u.obj.members[i].key);
        if (!v || v->type != SV_STRING)
            return false;
        bool ok = false;
        for (size_t j = 0; j < list->u.arr.count; j++)
            ok = ok || sv_equal(list->u.arr.items[j], v);
        if (!ok)
            return false;
    }
    return true;
}

static const char *st_order_field;
static const st_log *st_sort_log;
static bool st_sort_desc;

/* Missing last; integers < strings < booleans; ties by index; desc reverses all but missing. */
static int st_sort_cmp(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    const sv_value *va = sv_object_get(sv_object_get(st_sort_log->env[a], "event"), st_order_field);
    const sv_value *vb = sv_object_get(sv_object_get(st_sort_log->env[b], "event"), st_order_field);
    if (!va || !vb) {
        if (va != vb && (!va || !vb))
            return va ? -1 : 1;
    }
    int c = 0;
    if (va && vb) {
        int ra = va->type == SV_INT ? 0 : va->type == SV_STRING ? 1 : 2;
        int rb = vb->type == SV_INT ? 0 : vb->type == SV_STRING ? 1 : 2;
        if (ra != rb)
            c = ra < rb ? -1 : 1;
        else if (ra == 0)
            c = va->u.i < vb->u.i ? -1 : va->u.i > vb->u.i;
        else if (ra == 1) {
            size_t n = va->u.s.len < vb->u.s.len ? va->u.s.len : vb->u.s.len;
            c = memcmp(va->u.s.ptr, vb->u.s.ptr, n);
            c = c != 0 ? (c < 0 ? -1 : 1) : (va->u.s.len < vb->u.s.len ? -1 : va->u.s.len > vb->u.s.len);
        } else
            c = (int)va->u.b - (int)vb->u.b;
    }
    if (c == 0)
        c = a < b ? -1 : a > b;
    return st_sort_desc ? -c : c;
}

static size_t st_brute(const st_log *l, const search_params *p, uint64_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        const sv_value *ev = sv_object_get(l->env[i], "event");
        if (l->at[i] < p->start_us || l->at[i] > p->end_us)
            continue;
        if (!st_restr_ok(p->search_restriction, ev) || !st_restr_ok(p->token_restriction, ev))
            continue;
        if (!query_matches(p->query, l->env[i], p->schema))
            continue;
        out[n++] = i;
    }
    if (p->order_by && strcmp(p->order_by, "received_at") != 0) {
        st_order_field = p->order_by;
        st_sort_log = l;
        st_sort_desc = p->descending;
        qsort(out, n, sizeof *out, st_sort_cmp);
    } else if (p->descending) {
        for (size_t i = 0; i < n / 2; i++) {
            uint64_t t = out[i];
            out[i] = out[n - 1 - i];
            out[n - 1 - i] = t;
        }
    }
    return n < p->max_results ? n : p->max_results;
}

static query_node *st_query(const char *text)
{
    salog_err err;
    salog_err_init(&err);
    query_node *q = NULL;
    cr_assert_eq(query_parse(text, strlen(text), &q, &err), SALOG_OK, "parse '%s': %s", text, err.items[0].detail);
    cr_assert_eq(query_bind(q, st_schema, &err), SALOG_OK, "bind '%s': %s", text, err.items[0].detail);
    return q;
}

/* Runs p as a search (first page `limit`), pages through the rest and
 * compares everything with the brute force. */
static void st_compare(const st_log *l, const search_params *p, const char *what)
{
    salog_err err;
    salog_err_init(&err);
    uint64_t *want = malloc((l->n + 1) * sizeof *want);
    cr_assert(want);
    size_t nwant = st_brute(l, p, want);
    search_result_set r;
    size_t limit = 13;
    cr_assert_eq(search_run(st_store, p, limit, &r, &err), SALOG_OK, "%s: %s", what, err.items[0].detail);
    cr_assert_eq(r.count, nwant, "%s: count %" PRIu64 " want %zu", what, r.count, nwant);
    cr_assert_eq(r.page_count, nwant < limit ? nwant : limit, "%s", what);
    for (size_t i = 0; i < r.page_count; i++)
        cr_assert_eq(r.indexes[i], want[i], "%s: [%zu] %" PRIu64 " want %" PRIu64, what, i, r.indexes[i], want[i]);
    char id[ID_LEN + 1];
    memcpy(id, r.id, sizeof id);
    cr_assert(id_is_valid("pas_", id));
    search_result_set_clear(&r);
    for (size_t off = limit; off < nwant; off += 50) {
        cr_assert_eq(search_results_page(st_store, id, off, 50, &r, &err), SALOG_OK, "%s", what);
        cr_assert_eq(r.count, nwant);
        size_t exp = nwant - off < 50 ? nwant - off : 50;
        cr_assert_eq(r.page_count, exp, "%s: page at %zu", what, off);
        for (size_t i = 0; i < r.page_count; i++)
            cr_assert_eq(r.indexes[i], want[off + i], "%s: [%zu]", what, off + i);
        search_result_set_clear(&r);
    }
    free(want);
}

static const char *const st_queries[] = {
    "",
    "actor:user-1",        /* prefix of several actors */
    "actor:ser-3",         /* middle */
    "actor:r-36",          /* end */
    "actor=user-3",
    "actor=ser-3",         /* equality: never a partial match */
    "user-12",             /* bare term */
    "message:dupdup",
    "message:\"dupdup dupdup\"",
    "message:caf\xc3\xa9",
    "\xe6\x97\xa5\xe6\x9c\xac",            /* unicode bare term */
    "actor:\xc3\xbcn\xc3\xaf",             /* unicode contains */
    "message:needle-long",                 /* only in values > 256 bytes */
    "needle-long",
    "message:filler29",
    "target:x",                            /* 1 byte: scan path */
    "x",
    "target:t3",
    "target:\"\"",
    "count:-99",
    "count=5",
    "count>500",
    "count<-900",
    "flag:true",
    "when>\"2024-01-20T00:00:00Z\"",
    "when:2024-01-05",
    "action:read OR action:write",
    "action:read OR x",                    /* one side not selective */
    "(actor:user-1 OR actor:user-2) action:login",
    "-action:read",
    "action:log -action:logout",
    "actor:user-1 AND action:delete AND message:about",
    "actor:user-1 action:delete count>0",
    "event about",
    "the-unique-actor",
    "nothing-matches-this",
    "received_at>\"2000-01-01T00:00:00Z\"",
    "ab",
};

static void st_compare_all(const st_log *l, const char *phase)
{
    char what[256];
    sv_value *restr = NULL, *tok = NULL;
    salog_err err;
    salog_err_init(&err);
    const char *rt = "{\"action\":[\"read\",\"write\",\"login\"],\"tenant\":[]}";
    const char *tt = "{\"tenant\":[\"tenant-a\",\"tenant-c\"]}";
    cr_assert_eq(codec_json_decode(&restr, rt, strlen(rt), 8, &err), SALOG_OK);
    cr_assert_eq(codec_json_decode(&tok, tt, strlen(tt), 8, &err), SALOG_OK);
    for (size_t k = 0; k < sizeof st_queries / sizeof *st_queries; k++) {
        query_node *q = st_query(st_queries[k]);
        for (int v = 0; v < 5; v++) {
            search_params p = {.config_id = st_cfg, .schema = st_schema, .query = q, .start_us = 0,
                               .end_us = INT64_MAX, .order_by = "received_at", .max_results = 10000,
                               .verbose = true, .owner_token_id = "pti_owner", .ttl_us = 60000000};
            switch (v) {
            case 1:
                p.descending = true;
                p.max_results = 25;
                break;
            case 2: /* a time window inside the log */
                p.start_us = l->at[l->n / 4];
                p.end_us = l->at[(l->n * 3) / 4];
                p.descending = k % 2 == 0;
                break;
            case 3:
                p.search_restriction = restr;
                p.token_restriction = tok;
                p.max_results = 40;
                break;
            case 4: /* custom order */
                p.order_by = k % 3 == 0 ? "count" : k % 3 == 1 ? "actor" : "target";
                p.descending = k % 2 == 1;
                p.max_results = k % 4 == 0 ? 30 : 10000;
                break;
            default:
                break;
            }
            snprintf(what, sizeof what, "%s: query '%s' variant %d", phase, st_queries[k], v);
            st_compare(l, &p, what);
        }
        query_free(q);
    }
    sv_free(restr);
    sv_free(tok);
}

Test(search, matches_brute_force_with_empty_partial_and_full_index)
{
    salog_err err;
    salog_err_init(&err);
    st_append(0, 2000, st_event);
    st_log l;
    st_log_load(&l);
    st_compare_all(&l, "unindexed");
    size_t n = 0;
    cr_assert_eq(search_index_catch_up(st_store, 1500, &n, &err), SALOG_OK, "%s", err.items[0].detail);
    cr_assert_eq(n, 1500);
    uint64_t head = 0;
    cr_assert_eq(search_index_head(st_store, st_cfg, &head), 0);
    cr_assert_eq(head, 1500);
    st_compare_all(&l, "partly indexed");
    cr_assert_eq(search_index_catch_up(st_store, 1000000, &n, &err), SALOG_OK);
    cr_assert_eq(n, 500);
    cr_assert_eq(search_index_catch_up(st_store, 1000000, &n, &err), SALOG_OK);
    cr_assert_eq(n, 0);
    st_compare_all(&l, "indexed");
    st_log_free(&l);
}

Test(search, time_bounds_edges)
{
    salog_err err;
    salog_err_init(&err);
    st_append(0, 300, st_event);
    size_t n = 0;
    cr_assert_eq(search_index_catch_up(st_store, 200, &n, &err), SALOG_OK);
    st_log l;
    st_log_load(&l);
    query_node *q = st_query("");
    query_node *q2 = st_query("actor:user-2");
    int64_t bounds[][2] = {
        {l.at[0], l.at[0]},        {l.at[199], l.at[200]},   {l.at[150], l.at[250]},
        {l.at[299] + 1, INT64_MAX}, {0, l.at[0] - 1},        {l.at[100], l.at[50]},
        {l.at[250], l.at[299]},    {0, l.at[199]},
    };
    for (size_t b = 0; b < sizeof bounds / sizeof *bounds; b++)
        for (int d = 0; d < 2; d++) {
            char what[64];
            search_params p = {.config_id = st_cfg, .schema = st_schema, .query = b % 2 ? q2 : q,
                               .start_us = bounds[b][0], .end_us = bounds[b][1], .descending = d,
                               .order_by = NULL, .max_results = 10000, .ttl_us = 60000000};
            snprintf(what, sizeof what, "bounds %zu desc %d", b, d);
            st_compare(&l, &p, what);
            p.max_results = 3;
            st_compare(&l, &p, what);
        }
    /* Indexing again from 0 (as after a crash that lost the head): the
     * blocks already there are rewritten in place (DB_OVERWRITE_DUP). */
    uint8_t zero[8] = {0};
    DBT k, d;
    memset(&k, 0, sizeof k);
    memset(&d, 0, sizeof d);
    k.data = st_cfg;
    k.size = ID_LEN;
    d.data = zero;
    d.size = sizeof zero;
    cr_assert_eq(st_store->search_heads->put(st_store->search_heads, NULL, &k, &d, DB_AUTO_COMMIT), 0);
    cr_assert_eq(search_index_catch_up(st_store, 100000, &n, &err), SALOG_OK, "%s", err.items[0].detail);
    cr_assert_eq(n, 300);
    search_params p = {.config_id = st_cfg, .schema = st_schema, .query = q2, .start_us = l.at[20],
                       .end_us = l.at[280], .max_results = 10000, .ttl_us = 60000000};
    st_compare(&l, &p, "re-indexed");
    query_free(q);
    query_free(q2);
    st_log_free(&l);
}

Test(search, result_sets_paging_bad_offset_and_expiry)
{
    salog_err err;
    salog_err_init(&err);
    st_append(0, 100, st_event);
    query_node *q = st_query("action:read");
    sv_value *restr = NULL;
    cr_assert_eq(codec_json_decode(&restr, "{\"tenant\":[\"tenant-a\"]}", 23, 8, &err), SALOG_OK);
    search_params p = {.config_id = st_cfg, .schema = st_schema, .query = q, .start_us = 0, .end_us = INT64_MAX,
                       .max_results = 10000, .search_restriction = restr, .verbose = false,
                       .owner_token_id = "pti_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", .ttl_us = 3600000000LL};
    search_result_set r;
    int64_t before = time_now_us();
    cr_assert_eq(search_run(st_store, &p, 2, &r, &err), SALOG_OK);
    cr_assert_eq(r.count, 6); /* i % 5 == 2 and i % 3 == 0: i = 12, 27, ..., 87 */
    cr_assert_eq(r.page_count, 2);
    cr_assert_eq(r.indexes[0], 12);
    cr_assert_eq(r.indexes[1], 27);
    cr_assert(r.expires_at_us >= before + 3600000000LL);
    cr_assert(!r.verbose);
    cr_assert_str_eq(r.config_id, st_cfg);
    cr_assert_str_eq(r.owner_token_id, "pti_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    cr_assert(sv_equal(r.search_restriction, restr));
    char id[ID_LEN + 1];
    memcpy(id, r.id, sizeof id);
    int64_t exp = r.expires_at_us;
    search_result_set_clear(&r);

    cr_assert_eq(search_results_page(st_store, id, 4, 10, &r, &err), SALOG_OK);
    cr_assert_eq(r.count, 6);
    cr_assert_eq(r.page_count, 2);
    cr_assert_eq(r.indexes[0], 72);
    cr_assert_eq(r.indexes[1], 87);
    cr_assert_eq(r.expires_at_us, exp);
    cr_assert(!r.verbose);
    cr_assert_str_eq(r.config_id, st_cfg);
    cr_assert_str_eq(r.owner_token_id, "pti_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    cr_assert(sv_equal(r.search_restriction, restr));
    search_result_set_clear(&r);
    cr_assert_eq(search_results_page(st_store, id, 5, 10, &r, &err), SALOG_OK);
    cr_assert_eq(r.page_count, 1);
    search_result_set_clear(&r);
    cr_assert_eq(search_results_page(st_store, id, 1, 1, &r, &err), SALOG_OK);
    cr_assert_eq(r.page_count, 1);
    cr_assert_eq(r.indexes[0], 27);
    search_result_set_clear(&r);

    salog_err_init(&err);
    cr_assert_eq(search_results_page(st_store, id, 6, 10, &r, &err), SALOG_E_BAD_OFFSET);
    cr_assert_str_eq(err.items[0].code, "NotWithinRange");
    cr_assert_str_eq(err.items[0].source, "/offset");
    salog_err_init(&err);
    cr_assert_eq(search_results_page(st_store, id, 7, 10, &r, &err), SALOG_E_BAD_OFFSET);
    salog_err_init(&err);
    cr_assert_eq(search_results_page(st_store, "pas_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, 10, &r, &err),
                 SALOG_E_VALIDATION);
    cr_assert_str_eq(err.items[0].code, "DoesNotExist");
    cr_assert_str_eq(err.items[0].source, "/id");
    salog_err_init(&err);
    cr_assert_eq(search_results_page(st_store, "nonsense", 0, 10, &r, &err), SALOG_E_VALIDATION);

    /* An empty result: offset 0 is fine, anything else is BadOffset. */
    query_node *none = st_query("nothing-here");
    p.query = none;
    p.verbose = true;
    salog_err_init(&err);
    cr_assert_eq(search_run(st_store, &p, 20, &r, &err), SALOG_OK);
    cr_assert_eq(r.count, 0);
    cr_assert_eq(r.page_count, 0);
    cr_assert(r.verbose);
    char empty_id[ID_LEN + 1];
    memcpy(empty_id, r.id, sizeof empty_id);
    search_result_set_clear(&r);
    cr_assert_eq(search_results_page(st_store, empty_id, 0, 20, &r, &err), SALOG_OK);
    cr_assert_eq(r.count, 0);
    search_result_set_clear(&r);
    cr_assert_eq(search_results_page(st_store, empty_id, 1, 20, &r, &err), SALOG_E_BAD_OFFSET);

    /* Expiry: an already expired set is gone for paging; search_expire removes only expired ones. */
    p.ttl_us = -1;
    salog_err_init(&err);
    cr_assert_eq(search_run(st_store, &p, 20, &r, &err), SALOG_OK);
    char dead_id[ID_LEN + 1];
    memcpy(dead_id, r.id, sizeof dead_id);
    search_result_set_clear(&r);
    cr_assert_eq(search_results_page(st_store, dead_id, 0, 20, &r, &err), SALOG_E_VALIDATION);
    for (int k = 0; k < 300; k++) { /* more than one expiry batch */
        cr_assert_eq(search_run(st_store, &p, 1, &r, &err), SALOG_OK);
        search_result_set_clear(&r);
    }
    size_t removed = 0;
    salog_err_init(&err);
    cr_assert_eq(search_expire(st_store, time_now_us(), &removed, &err), SALOG_OK);
    cr_assert_eq(removed, 301);
    cr_assert_eq(search_expire(st_store, time_now_us(), &removed, &err), SALOG_OK);
    cr_assert_eq(removed, 0);
    cr_assert_eq(search_results_page(st_store, id, 0, 10, &r, &err), SALOG_OK);
    search_result_set_clear(&r);
    cr_assert_eq(search_expire(st_store, exp + 7200000000LL, &removed, &err), SALOG_OK);
    cr_assert_eq(removed, 2);
    salog_err_init(&err);
    cr_assert_eq(search_results_page(st_store, id, 0, 10, &r, &err), SALOG_E_VALIDATION);
    query_free(q);
    query_free(none);
    sv_free(restr);
}

Test(search, order_by_unknown_field_is_not_enum_member)
{
    salog_err err;
    salog_err_init(&err);
    st_append(0, 10, st_event);
    query_node *q = st_query("");
    search_params p = {.config_id = st_cfg, .schema = st_schema, .query = q, .start_us = 0, .end_us = INT64_MAX,
                       .order_by = "nosuchfield", .max_results = 10, .ttl_us = 1000000};
    search_result_set r;
    cr_assert_eq(search_run(st_store, &p, 20, &r, &err), SALOG_E_VALIDATION);
    cr_assert_str_eq(err.items[0].code, "NotEnumMember");
    cr_assert_str_eq(err.items[0].source, "/order_by");
    query_free(q);
}

static sv_value *st_small_event(size_t i)
{
    char buf[64];
    sv_value *e = sv_object();
    cr_assert(e);
    if (i == 15000)
        snprintf(buf, sizeof buf, "needle-actor-unique");
    else
        snprintf(buf, sizeof buf, "u%zu", i % 5000);
    cr_assert_eq(sv_object_set_str(e, "actor", buf), 0);
    snprintf(buf, sizeof buf, "m%zu", i);
    cr_assert_eq(sv_object_set_str(e, "message", buf), 0);
    return e;
}

/* The index lives in its own environment; its head must never get ahead
 * of the events on disk. Events committed without their flush (an appender
 * between its commit and its log_flush) are made durable before the index
 * commits them; events already flushed cost no flush. */
static void st_log_position(DB_LSN *end, DB_LSN *synced)
{
    DB_LOG_STAT *ls = NULL;
    cr_assert_eq(st_store->env->log_stat(st_store->env, &ls, 0), 0);
    end->file = ls->st_cur_file;
    end->offset = ls->st_cur_offset;
    synced->file = ls->st_disk_file;
    synced->offset = ls->st_disk_offset;
    free(ls);
}

Test(search, index_never_ahead_of_durable_events)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *ev = st_small_event(7);
    log_item item = {.event = ev};
    size_t end_at = 1;
    uint8_t root[1][MERKLE_HASH_LEN];
    log_append_result r;
    cr_assert_eq(auditlog_append_groups(st_store, st_cfg, &item, 1, &end_at, NULL, 1, root, &r, &err), SALOG_OK);
    auditlog_append_result_clear(&r);
    DB_LSN end, synced;
    st_log_position(&end, &synced);
    cr_assert(log_compare(&synced, &end) < 0, "the commit is not on disk yet");
    size_t n = 0;
    cr_assert_eq(search_index_catch_up(st_store, 100, &n, &err), SALOG_OK);
    cr_assert_eq(n, 1);
    DB_LSN after_end, after_synced;
    st_log_position(&after_end, &after_synced);
    cr_assert(log_compare(&after_synced, &end) >= 0, "indexing made the indexed event durable first");
    /* Flushed events: no flush of the events' log by the indexer. */
    st_append(1, 3, st_small_event);
    DB_LOG_STAT *before = NULL, *after = NULL;
    cr_assert_eq(st_store->env->log_stat(st_store->env, &before, 0), 0);
    cr_assert_eq(search_index_catch_up(st_store, 100, &n, &err), SALOG_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(st_store->env->log_stat(st_store->env, &after, 0), 0);
    cr_assert_eq(after->st_scount, before->st_scount, "no log sync for events already on disk");
    free(before);
    free(after);
    sv_free(ev);
}

Test(search, selective_search_does_not_scan)
{
    salog_err err;
    salog_err_init(&err);
    st_append(0, 20000, st_small_event);
    size_t n = 0, total = 0;
    do {
        cr_assert_eq(search_index_catch_up(st_store, 5000, &n, &err), SALOG_OK, "%s", err.items[0].detail);
        total += n;
    } while (n > 0);
    cr_assert_eq(total, 20000);
    st_append(20000, 20010, st_small_event); /* a small unindexed tail */
    const char *texts[] = {"actor:needle-actor-unique", "needle-actor", "actor=u4321", "actor=u4321 OR actor=u17"};
    size_t want[] = {1, 1, 4, 8};
    for (size_t k = 0; k < 4; k++) {
        query_node *q = st_query(texts[k]);
        search_params p = {.config_id = st_cfg, .schema = st_schema, .query = q, .start_us = 0,
                           .end_us = INT64_MAX, .max_results = 10000, .ttl_us = 1000000};
        search_result_set r;
        size_t loaded = 0;
        cr_assert_eq(search_run_counted(st_store, &p, 20, &r, &loaded, &err), SALOG_OK);
        cr_assert_eq(r.count, want[k], "%s: %" PRIu64, texts[k], r.count);
        cr_assert(loaded <= 50, "%s loaded %zu events", texts[k], loaded);
        search_result_set_clear(&r);
        query_free(q);
    }
    /* A non-selective query does scan, which the counter shows. */
    query_node *q = st_query("actor:u");
    search_params p = {.config_id = st_cfg, .schema = st_schema, .query = q, .start_us = 0, .end_us = INT64_MAX,
                       .max_results = 5, .descending = true, .ttl_us = 1000000};
    search_result_set r;
    size_t loaded = 0;
    cr_assert_eq(search_run_counted(st_store, &p, 20, &r, &loaded, &err), SALOG_OK);
    cr_assert_eq(r.count, 5);
    cr_assert_eq(r.indexes[0], 20009);
    cr_assert(loaded == 5, "desc with max_results 5 stops early (%zu)", loaded);
    search_result_set_clear(&r);
    query_free(q);
}

/* Blocks (search.h): one per key and indexing batch. Lookups of windows
 * that start and end inside a block, at its edges and across batches; a
 * legacy one-index entry (a lone be64) and a block written twice with
 * different extents (a batch indexed again after a crash) read back as the
 * right sorted set without repeats. */
static sv_value *st_block_event(size_t i)
{
    sv_value *e = sv_object();
    cr_assert(e);
    /* "every-3" on every third event, "seven" on every seventh, "rare"
     * on every 150th (gaps of 150 take two bytes in a block). */
    cr_assert_eq(sv_object_set_str(e, "actor", i % 3 == 0 ? "every-3" : "other"), 0);
    cr_assert_eq(sv_object_set_str(e, "action", i % 7 == 0 ? "seven" : "none"), 0);
    cr_assert_eq(sv_object_set_str(e, "target", i % 150 == 0 ? "rare" : "usual"), 0);
    return e;
}

static void st_expect_lookup(const char *field, const char *term, bool exact, uint64_t lo, uint64_t hi,
                             unsigned every)
{
    uint64_t *got = NULL;
    size_t count = 0;
    bool too_many = false;
    cr_assert_eq(search_index_lookup(st_store, st_cfg, field, term, strlen(term), exact, lo, hi, 1000000, &got,
                                     &count, &too_many), 0);
    cr_assert(!too_many);
    size_t k = 0;
    for (uint64_t i = lo; i < hi; i++)
        if (i % every == 0) {
            cr_assert(k < count, "%s:%s [%" PRIu64 ", %" PRIu64 ") lacks %" PRIu64, field, term, lo, hi, i);
            cr_assert_eq(got[k], i, "%s:%s [%" PRIu64 ", %" PRIu64 ") item %zu", field, term, lo, hi, k);
            k++;
        }
    cr_assert_eq(count, k, "%s:%s [%" PRIu64 ", %" PRIu64 ") has %zu, not %zu", field, term, lo, hi, count, k);
    free(got);
}

static void st_put_block(const char *field, const char *text, const uint8_t *data, size_t len)
{
    uint8_t key[256];
    size_t flen = strlen(field), tlen = strlen(text);
    memcpy(key, st_cfg, ID_LEN);
    memcpy(key + ID_LEN, field, flen);
    key[ID_LEN + flen] = 0;
    memcpy(key + ID_LEN + flen + 1, text, tlen);
    DBT k, d;
    memset(&k, 0, sizeof k);
    memset(&d, 0, sizeof d);
    k.data = key;
    k.size = (u_int32_t)(ID_LEN + flen + 1 + tlen);
    d.data = (void *)data;
    d.size = (u_int32_t)len;
    cr_assert_eq(st_store->search_suffix->put(st_store->search_suffix, NULL, &k, &d, DB_AUTO_COMMIT), 0);
}

Test(search, blocks_window_edges_legacy_and_repeated)
{
    salog_err err;
    salog_err_init(&err);
    enum { N = 1000 };
    st_append(0, N, st_block_event);
    size_t n = 0, total = 0;
    /* Uneven budgets: batches (and so blocks) of 200, 37, 200, ... */
    for (size_t budget = 200; total < N; budget = budget == 200 ? 37 : 200) {
        cr_assert_eq(search_index_catch_up(st_store, budget, &n, &err), SALOG_OK, "%s", err.items[0].detail);
        cr_assert(n > 0);
        total += n;
    }
    /* Far fewer index records than (key, event) pairs: one block per key
     * and batch ("every-3" has 6 suffixes of 2+ bytes, and as many under
     * "*"). */
    DB_BTREE_STAT *bs = NULL;
    cr_assert_eq(st_store->search_suffix->stat(st_store->search_suffix, NULL, &bs, 0), 0);
    cr_assert(bs->bt_ndata < 1000, "%lu records", (unsigned long)bs->bt_ndata);
    free(bs);
    uint64_t windows[][2] = {{0, N},     {0, 1},     {1, 2},     {199, 201}, {150, 260}, {236, 237},
                             {237, 238}, {236, 474}, {473, 475}, {999, N},   {500, 500}, {3, 4},
                             {255, 513}, {256, 257}, {0, 300},   {700, 990}, {435, 437}, {150, 151},
                             {751, 901}, {900, 901}};
    for (size_t w = 0; w < sizeof windows / sizeof *windows; w++) {
        st_expect_lookup("actor", "every-3", true, windows[w][0], windows[w][1], 3);
        st_expect_lookup("actor", "ery-3", false, windows[w][0], windows[w][1], 3);
        st_expect_lookup("*", "every", false, windows[w][0], windows[w][1], 3);
        st_expect_lookup("action", "seven", true, windows[w][0], windows[w][1], 7);
        st_expect_lookup("action", "eve", false, windows[w][0], windows[w][1], 7);
        st_expect_lookup("target", "rare", true, windows[w][0], windows[w][1], 150);
        st_expect_lookup("*", "are", false, windows[w][0], windows[w][1], 150);
    }
    /* A legacy entry (a lone be64) beside the blocks, and the block of
     * [200, 237) written again as if its batch had been cut at 230. */
    uint8_t legacy[8];
    be64_put(legacy, 1001);
    st_put_block("action", "seven", legacy, sizeof legacy);
    uint8_t again[16] = {0};
    be64_put(again, 203);
    again[8] = 7;  /* 210 */
    again[9] = 7;  /* 217 */
    again[10] = 7; /* 224 */
    st_put_block("action", "seven", again, 11);
    st_expect_lookup("action", "seven", true, 0, 1001, 7);
    uint64_t *got = NULL;
    size_t count = 0;
    bool too_many = false;
    cr_assert_eq(search_index_lookup(st_store, st_cfg, "action", "seven", 5, true, 990, 2000, 100, &got, &count,
                                     &too_many), 0);
    cr_assert_eq(count, 2);
    cr_assert_eq(got[0], 994);
    cr_assert_eq(got[1], 1001);
    free(got);
    /* A window's lookup reads at most the blocks that can reach into it:
     * a budget of the window's size plus one block's span suffices. */
    cr_assert_eq(search_index_lookup(st_store, st_cfg, "actor", "every-3", 7, true, 435, 437, 2 + 255, &got,
                                     &count, &too_many), 0);
    cr_assert(!too_many);
    cr_assert_eq(count, 1);
    free(got);
    /* A damaged block is an error, not a wrong answer: a gap cut short, a
     * block spanning more than SPAN, one longer than any block written. */
    uint8_t bad[SEARCH_INDEX_BLOCK_SPAN * 3];
    be64_put(bad, 500);
    bad[8] = 0x80;
    st_put_block("target", "rare", bad, 9);
    cr_assert_eq(search_index_lookup(st_store, st_cfg, "target", "rare", 4, true, 0, 2000, 100000, &got, &count,
                                     &too_many), EINVAL);
    bad[8] = 0x81;
    bad[9] = 0x01; /* 129 */
    bad[10] = 0x81;
    bad[11] = 0x01; /* 258 from the first: beyond the span */
    st_put_block("action", "none", bad, 12);
    cr_assert_eq(search_index_lookup(st_store, st_cfg, "action", "none", 4, true, 0, 2000, 100000, &got, &count,
                                     &too_many), EINVAL);
    be64_put(bad, 600);
    memset(bad + 8, 1, sizeof bad - 8);
    st_put_block("actor", "other", bad, sizeof bad);
    cr_assert_eq(search_index_lookup(st_store, st_cfg, "actor", "other", 5, true, 0, 2000, 100000, &got, &count,
                                     &too_many), EINVAL);
    /* The same, reached through a prefix lookup. */
    cr_assert_eq(search_index_lookup(st_store, st_cfg, "actor", "oth", 3, false, 590, 2000, 100000, &got, &count,
                                     &too_many), EINVAL);
}
