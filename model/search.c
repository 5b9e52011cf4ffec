/* The search executor and stored result sets (search.h). Index upkeep and
 * lookups live in search_index.c.
 *
 * A search reads the index head h and then the log size n (h <= n always),
 * maps its time bounds to an index range [lo, hi) of the indexed events
 * with two seeks in the time index, takes its candidates in that range from
 * the suffix index when the query has a selective term (else every index of
 * the range), and then also examines the unindexed tail [h, n), checking
 * each tail event's received_at. Every candidate is loaded and re-checked
 * (query, time bounds, search and token restrictions).
 *
 * Ordering by received_at is index order, and the walk stops at
 * max_results matches. Ordering by another field collects the matches (at
 * most SR_ORDER_COLLECT_MAX, the first ones in index order), sorts them by
 * that field's value (integers numerically, then strings by bytes, then
 * booleans, missing values last whatever the direction), ties by index,
 * and keeps max_results.
 *
 * Result set record (key = pas_ id): be64 expires_at µs, be32 n, n bytes of
 * JSON header {config_id, verbose, count, owner_token_id,
 * search_restriction?}, then count be64 event indexes. Written with
 * DB_TXN_WRITE_NOSYNC: a result set is a cache of a search that the client
 * can run again, it only has to survive the process, not a power loss. */
#include "model/search.h"
#include "model/be64.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/codec.h"
#include "codec/timefmt.h"
#include "model/auditlog.h"
#include "model/search_index.h"
#include "model/store_internal.h"

/* Matches collected before sorting by a field other than received_at. */
#define SR_ORDER_COLLECT_MAX 100000
/* Query trees are walked recursively for planning; deeper parts scan. */
#define SR_PLAN_DEPTH_MAX 128
#define SR_HEADER_OFF 12
#define SR_EXPIRE_BATCH 256

static salog_status sr_oom(salog_err *err)
{
    return salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
}

void search_result_set_clear(search_result_set *r)
{
    if (!r)
        return;
    free(r->indexes);
    sv_free(r->search_restriction);
    memset(r, 0, sizeof *r);
}

/* ---- candidates ---- */

typedef struct sr_cands {
    uint64_t *v;
    size_t n;
} sr_cands;

typedef struct sr_exec {
    store *s;
    const search_params *p;
    uint64_t lo, hi;    /* indexed range selected by the time bounds */
    uint64_t head, size;
    size_t loaded;      /* events read from storage */
    /* matches, in walk order */
    uint64_t *m;
    sv_value **keys;    /* order_by values (custom order only), owned */
    size_t n, cap;
    bool custom;
    size_t want;        /* stop after this many matches */
} sr_exec;

static bool sr_leaf_selective(const query_node *q)
{
    if (!q->value || q->value_len < SEARCH_INDEX_TERM_MIN)
        return false;
    if (q->kind == QUERY_TERM)
        return true;
    if (q->kind != QUERY_CONTAINS && q->kind != QUERY_EQUALS)
        return false;
    return q->field && strcmp(q->field, "received_at") != 0 && strlen(q->field) <= SEARCH_INDEX_FIELD_MAX;
}

/* How promising a subtree is for the index: the length of its term (longer
 * terms match less); 0 = not usable. */
static size_t sr_score(const query_node *q, int depth)
{
    if (!q || depth > SR_PLAN_DEPTH_MAX)
        return 0;
    switch (q->kind) {
    case QUERY_TERM:
    case QUERY_CONTAINS:
    case QUERY_EQUALS:
        return sr_leaf_selective(q) ? q->value_len : 0;
    case QUERY_AND: {
        size_t a = sr_score(q->left, depth + 1), b = sr_score(q->right, depth + 1);
        return a > b ? a : b;
    }
    case QUERY_OR: {
        size_t a = sr_score(q->left, depth + 1), b = sr_score(q->right, depth + 1);
        return a < b ? a : b;
    }
    default:
        return 0;
    }
}

/* Union of two sorted unique lists into a (b is freed). */
static int sr_union(sr_cands *a, sr_cands *b)
{
    uint64_t *v = malloc((a->n + b->n + 1) * sizeof *v);
    if (!v)
        return ENOMEM;
    size_t i = 0, j = 0, n = 0;
    while (i < a->n || j < b->n) {
        if (j >= b->n || (i < a->n && a->v[i] < b->v[j]))
            v[n++] = a->v[i++];
        else if (i >= a->n || b->v[j] < a->v[i])
            v[n++] = b->v[j++];
        else {
            v[n++] = a->v[i++];
            j++;
        }
    }
    free(a->v);
    free(b->v);
    a->v = v;
    a->n = n;
    b->v = NULL;
    b->n = 0;
    return 0;
}

/* Candidate indexes in [lo, hi) for q: *used false = no index, scan the
 * range. Returns 0, ENOMEM or a DB error. */
static int sr_plan(sr_exec *x, const query_node *q, int depth, sr_cands *out, bool *used)
{
    *used = false;
    out->v = NULL;
    out->n = 0;
    if (!q || depth > SR_PLAN_DEPTH_MAX)
        return 0;
    switch (q->kind) {
    case QUERY_TERM:
    case QUERY_CONTAINS:
    case QUERY_EQUALS: {
        if (!sr_leaf_selective(q))
            return 0;
        bool too_many = false;
        /* Reading index entries is far cheaper than loading events. */
        size_t budget = (size_t)(x->hi - x->lo) * 8 + 256;
        const char *field = q->kind == QUERY_TERM ? SEARCH_INDEX_ANY_FIELD : q->field;
        int ret = search_index_lookup(x->s, x->p->config_id, field, q->value, q->value_len,
                                      q->kind == QUERY_EQUALS, x->lo, x->hi,
                                      budget, &out->v, &out->n, &too_many);
        if (ret != 0)
            return ret;
        *used = !too_many;
        return 0;
    }
    case QUERY_AND: {
        size_t a = sr_score(q->left, depth + 1), b = sr_score(q->right, depth + 1);
        const query_node *first = a >= b ? q->left : q->right, *second = a >= b ? q->right : q->left;
        size_t s1 = a >= b ? a : b, s2 = a >= b ? b : a;
        if (s1 == 0)
            return 0;
        int ret = sr_plan(x, first, depth + 1, out, used);
        if (ret != 0 || *used || s2 == 0)
            return ret;
        return sr_plan(x, second, depth + 1, out, used);
    }
    case QUERY_OR: {
        sr_cands r = {0};
        bool ru = false;
        int ret = sr_plan(x, q->left, depth + 1, out, used);
        if (ret != 0 || !*used)
            goto or_fail;
        ret = sr_plan(x, q->right, depth + 1, &r, &ru);
        if (ret != 0 || !ru)
            goto or_fail;
        ret = sr_union(out, &r);
        if (ret != 0)
            goto or_fail;
        return 0;
    or_fail:
        free(out->v);
        free(r.v);
        out->v = NULL;
        out->n = 0;
        *used = false;
        return ret;
    }
    default:
        return 0;
    }
}

/* ---- checking one event ---- */

/* {field: [strings]}: every field with a non-empty list must hold a string
 * equal to one listed. */
static bool sr_restriction_ok(const sv_value *r, const sv_value *event)
{
    if (!sv_is(r, SV_OBJECT))
        return true;
    for (size_t i = 0; i < r->u.obj.count; i++) {
        const sv_member *m = &r->u.obj.members[i];
        const sv_value *list = m->value;
        if (!sv_is(list, SV_ARRAY) || list->u.arr.count == 0)
            continue;
        const sv_value *v = NULL;
        if (sv_is(event, SV_OBJECT))
            for (size_t j = 0; j < event->u.obj.count && !v; j++)
                if (event->u.obj.members[j].key_len == m->key_len &&
                    memcmp(event->u.obj.members[j].key, m->key, m->key_len) == 0)
                    v = event->u.obj.members[j].value;
        if (!sv_is(v, SV_STRING))
            return false;
        bool ok = false;
        for (size_t j = 0; j < list->u.arr.count && !ok; j++) {
            const sv_value *a = list->u.arr.items[j];
            ok = sv_is(a, SV_STRING) && a->u.s.len == v->u.s.len && memcmp(a->u.s.ptr, v->u.s.ptr, v->u.s.len) == 0;
        }
        if (!ok)
            return false;
    }
    return true;
}

static int sr_push_match(sr_exec *x, uint64_t index, const sv_value *event)
{
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 64;
        uint64_t *m = realloc(x->m, cap * sizeof *m);
        if (!m)
            return -1;
        x->m = m;
        if (x->custom) {
            sv_value **k = realloc(x->keys, cap * sizeof *k);
            if (!k)
                return -1;
            x->keys = k;
        }
        x->cap = cap;
    }
    if (x->custom) {
        const sv_value *v = sv_object_get(event, x->p->order_by);
        x->keys[x->n] = NULL;
        if (v && !(x->keys[x->n] = sv_clone(v)))
            return -1;
    }
    x->m[x->n++] = index;
    return 0;
}

/* Loads and checks event `index`. *at gets its received_at (for the tail's
 * early stop); *stop is set once enough matches were found. */
static salog_status sr_visit(sr_exec *x, uint64_t index, int64_t *at, bool *stop, salog_err *err)
{
    sv_value *env = NULL;
    char hash[65];
    salog_status st = auditlog_get_event(x->s, x->p->config_id, index, &env, hash, err);
    if (st != SALOG_OK)
        return st;
    x->loaded++;
    const search_params *p = x->p;
    const char *rt = sv_object_get_str(env, "received_at");
    *at = 0;
    if (!rt || time_parse_rfc3339(rt, at) != 0)
        goto out; /* not a stored envelope: never matches */
    if (*at < p->start_us || *at > p->end_us)
        goto out;
    const sv_value *event = sv_object_get(env, "event");
    if (!sr_restriction_ok(p->search_restriction, event) || !sr_restriction_ok(p->token_restriction, event) ||
        !query_matches(p->query, env, p->schema))
        goto out;
    if (sr_push_match(x, index, event) != 0) {
        st = sr_oom(err);
        goto out;
    }
    if (x->n >= x->want)
        *stop = true;
out:
    sv_free(env);
    return st;
}

/* Walks the candidates (or the range) then the tail, in the asked order. */
static salog_status sr_walk(sr_exec *x, const sr_cands *c, bool use_cands, salog_err *err)
{
    salog_status st = SALOG_OK;
    const search_params *p = x->p;
    bool stop = false;
    int64_t at = 0;
    uint64_t n_main = use_cands ? c->n : x->hi - x->lo;
    if (!p->descending) {
        for (uint64_t i = 0; i < n_main && !stop; i++) {
            st = sr_visit(x, use_cands ? c->v[i] : x->lo + i, &at, &stop, err);
            if (st != SALOG_OK)
                return st;
        }
        for (uint64_t i = x->head; i < x->size && !stop; i++) {
            st = sr_visit(x, i, &at, &stop, err);
            if (st != SALOG_OK)
                return st;
            if (at > p->end_us)
                break; /* received_at never decreases */
        }
    } else {
        for (uint64_t i = x->size; i > x->head && !stop; i--) {
            st = sr_visit(x, i - 1, &at, &stop, err);
            if (st != SALOG_OK)
                return st;
            if (at < p->start_us)
                break;
        }
        for (uint64_t i = n_main; i > 0 && !stop; i--) {
            st = sr_visit(x, use_cands ? c->v[i - 1] : x->lo + i - 1, &at, &stop, err);
            if (st != SALOG_OK)
                return st;
        }
    }
    return st;
}

/* ---- custom order ---- */

typedef struct sr_sorted {
    uint64_t index;
    const sv_value *key;
} sr_sorted;

static int sr_rank(const sv_value *v)
{
    if (!v)
        return 4;
    switch (v->type) {
    case SV_INT:
        return 0;
    case SV_STRING:
        return 1;
    case SV_BOOL:
        return 2;
    default:
        return 3;
    }
}

static int sr_value_cmp(const sv_value *a, const sv_value *b)
{
    int ra = sr_rank(a), rb = sr_rank(b);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    switch (ra) {
    case 0:
        return a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
    case 1: {
        size_t n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
        int c = memcmp(a->u.s.ptr, b->u.s.ptr, n);
        if (c != 0)
            return c < 0 ? -1 : 1;
        return a->u.s.len < b->u.s.len ? -1 : a->u.s.len > b->u.s.len;
    }
    case 2:
        return (int)a->u.b - (int)b->u.b;
    default:
        return 0;
    }
}

static int sr_sorted_cmp(const void *pa, const void *pb, void *arg)
{
    const sr_sorted *a = pa, *b = pb;
    bool desc = *(const bool *)arg;
    bool ma = sr_rank(a->key) == 4, mb = sr_rank(b->key) == 4;
    int c;
    if (ma != mb)
        return ma ? 1 : -1; /* missing values last, whatever the direction */
    c = sr_value_cmp(a->key, b->key);
    if (c == 0)
        c = a->index < b->index ? -1 : a->index > b->index;
    return desc ? -c : c;
}

static salog_status sr_sort_custom(sr_exec *x, salog_err *err)
{
    sr_sorted *v = malloc((x->n + 1) * sizeof *v);
    if (!v)
        return sr_oom(err);
    for (size_t i = 0; i < x->n; i++)
        v[i] = (sr_sorted){.index = x->m[i], .key = x->keys[i]};
    bool desc = x->p->descending;
    qsort_r(v, x->n, sizeof *v, sr_sorted_cmp, &desc);
    for (size_t i = 0; i < x->n; i++)
        x->m[i] = v[i].index;
    free(v);
    return SALOG_OK;
}

/* ---- result sets ---- */

typedef struct sr_put_ctx {
    const char *id;
    const void *rec;
    size_t len;
} sr_put_ctx;

static int sr_put_txn(store *s, DB_TXN *txn, void *vctx)
{
    sr_put_ctx *c = vctx;
    return store_put(s->search_results, txn, c->id, ID_LEN, c->rec, c->len, DB_NOOVERWRITE);
}

static salog_status sr_store(store *s, const search_params *p, const uint64_t *m, size_t count,
                             search_result_set *out, salog_err *err)
{
    salog_status st = SALOG_OK;
    sbuf hdr = {0}, rec = {0};
    sv_value *h = sv_object();
    uint8_t b8[8];
    if (!h || sv_object_set_str(h, "config_id", p->config_id) != 0 ||
        sv_object_set_bool(h, "verbose", p->verbose) != 0 || sv_object_set_int(h, "count", (int64_t)count) != 0 ||
        sv_object_set_str(h, "owner_token_id", p->owner_token_id ? p->owner_token_id : "") != 0) {
        st = sr_oom(err);
        goto out;
    }
    if (p->search_restriction) {
        sv_value *r = sv_clone(p->search_restriction);
        if (!r || sv_object_set(h, "search_restriction", r) != 0) {
            st = sr_oom(err);
            goto out;
        }
    }
    if (codec_json_encode(&hdr, h) != 0 || hdr.oom) {
        st = sr_oom(err);
        goto out;
    }
    be64_put(b8, (uint64_t)out->expires_at_us);
    uint8_t n4[4] = {(uint8_t)(hdr.len >> 24), (uint8_t)(hdr.len >> 16), (uint8_t)(hdr.len >> 8), (uint8_t)hdr.len};
    sbuf_append(&rec, b8, 8);
    sbuf_append(&rec, n4, 4);
    sbuf_append(&rec, hdr.data, hdr.len);
    for (size_t i = 0; i < count; i++) {
        be64_put(b8, m[i]);
        sbuf_append(&rec, b8, 8);
    }
    if (rec.oom) {
        st = sr_oom(err);
        goto out;
    }
    for (int attempt = 0; attempt < 4; attempt++) {
        if (id_generate("pas_", out->id) != 0) {
            st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "no entropy for an id");
            goto out;
        }
        sr_put_ctx c = {.id = out->id, .rec = rec.data, .len = rec.len};
        int ret = store_txn_run_flags(s, sr_put_txn, &c, DB_TXN_WRITE_NOSYNC);
        if (ret == DB_KEYEXIST)
            continue;
        if (ret != 0)
            st = store_db_error(s, ret, "storing a result set", err);
        goto out;
    }
    st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "cannot pick a result set id");
out:
    sv_free(h);
    sbuf_free(&hdr);
    sbuf_free(&rec);
    return st;
}

static salog_status sr_check_order_by(const search_params *p, salog_err *err)
{
    if (!p->order_by || !*p->order_by || strcmp(p->order_by, "received_at") == 0)
        return SALOG_OK;
    const sv_value *fields = sv_object_get(p->schema, "fields");
    if (sv_is(fields, SV_ARRAY))
        for (size_t i = 0; i < fields->u.arr.count; i++) {
            const char *fid = sv_object_get_str(fields->u.arr.items[i], "id");
            if (fid && strcmp(fid, p->order_by) == 0)
                return SALOG_OK;
        }
    return salog_err_set(err, SALOG_E_VALIDATION, "NotEnumMember", "/order_by",
                         "'%.64s' is not a field of this config's schema", p->order_by);
}

salog_status search_run_counted(store *s, const search_params *p, size_t limit, search_result_set *out,
                                size_t *loaded, salog_err *err)
{
    salog_status st = SALOG_OK;
    sr_exec x = {.s = s, .p = p};
    sr_cands c = {0};
    bool use_cands = false;
    memset(out, 0, sizeof *out);
    if (loaded)
        *loaded = 0;
    if (!p->config_id || strlen(p->config_id) != ID_LEN)
        return salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", "/config_id", "malformed config id");
    if ((st = sr_check_order_by(p, err)) != SALOG_OK)
        return st;
    x.custom = p->order_by && *p->order_by && strcmp(p->order_by, "received_at") != 0;
    size_t max = p->max_results == 0 ? 1 : p->max_results > SEARCH_MAX_RESULTS ? SEARCH_MAX_RESULTS : p->max_results;
    x.want = x.custom ? SR_ORDER_COLLECT_MAX : max;
    /* Head first, then size: the indexed part never passes the size read. */
    int ret = search_index_head(s, p->config_id, &x.head);
    if (ret != 0) {
        st = store_db_error(s, ret, "reading the search index head", err);
        goto out;
    }
    st = auditlog_size(s, p->config_id, &x.size, err);
    if (st != SALOG_OK)
        goto out;
    if (x.head > x.size)
        x.head = x.size;
    if (p->end_us < p->start_us || p->end_us < 0) {
        x.lo = x.hi = x.head;
        x.size = x.head; /* nothing can match */
    } else {
        ret = search_index_time_lower(s, p->config_id, p->start_us, x.head, &x.lo);
        if (ret == 0) {
            if (p->end_us == INT64_MAX)
                x.hi = x.head;
            else
                ret = search_index_time_lower(s, p->config_id, p->end_us + 1, x.head, &x.hi);
        }
        if (ret != 0) {
            st = store_db_error(s, ret, "reading the time index", err);
            goto out;
        }
        if (x.hi < x.lo)
            x.hi = x.lo;
    }
    if (x.hi > x.lo) {
        ret = sr_plan(&x, p->query, 0, &c, &use_cands);
        if (ret != 0) {
            st = ret == ENOMEM ? sr_oom(err) : store_db_error(s, ret, "reading the search index", err);
            goto out;
        }
    }
    st = sr_walk(&x, &c, use_cands, err);
    if (st != SALOG_OK)
        goto out;
    if (x.custom) {
        st = sr_sort_custom(&x, err);
        if (st != SALOG_OK)
            goto out;
    }
    size_t count = x.n < max ? x.n : max;
    out->expires_at_us = time_now_us() + p->ttl_us;
    st = sr_store(s, p, x.m, count, out, err);
    if (st != SALOG_OK)
        goto out;
    memcpy(out->config_id, p->config_id, ID_LEN + 1);
    out->verbose = p->verbose;
    out->count = count;
    snprintf(out->owner_token_id, sizeof out->owner_token_id, "%s", p->owner_token_id ? p->owner_token_id : "");
    size_t page = limit < count ? limit : count;
    out->indexes = malloc((page + 1) * sizeof *out->indexes);
    if (!out->indexes || (p->search_restriction && !(out->search_restriction = sv_clone(p->search_restriction)))) {
        st = sr_oom(err);
        goto out;
    }
    if (page > 0)
        memcpy(out->indexes, x.m, page * sizeof *out->indexes);
    out->page_count = page;
out:
    if (loaded)
        *loaded = x.loaded;
    if (x.keys)
        for (size_t i = 0; i < x.n; i++)
            sv_free(x.keys[i]);
    free(x.keys);
    free(x.m);
    free(c.v);
    if (st != SALOG_OK)
        search_result_set_clear(out);
    return st;
}

salog_status search_run(store *s, const search_params *p, size_t limit, search_result_set *out, salog_err *err)
{
    return search_run_counted(s, p, limit, out, NULL, err);
}

static salog_status sr_does_not_exist(salog_err *err)
{
    return salog_err_set(err, SALOG_E_VALIDATION, "DoesNotExist", "/id", "no result set with this id");
}

salog_status search_results_page(store *s, const char *result_id, size_t offset, size_t limit,
                                 search_result_set *out, salog_err *err)
{
    salog_status st = SALOG_OK;
    void *buf = NULL;
    size_t len = 0;
    sv_value *h = NULL;
    int ret = 0;
    memset(out, 0, sizeof *out);
    if (!result_id || strlen(result_id) != ID_LEN)
        return sr_does_not_exist(err);
    for (int attempt = 0; attempt <= STORE_DEADLOCK_RETRIES; attempt++) {
        ret = store_get_alloc(s->search_results, NULL, result_id, ID_LEN, &buf, &len, 0);
        if (ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED)
            break;
        usleep(1000u << (attempt < 6 ? attempt : 6));
    }
    if (ret == DB_NOTFOUND)
        return sr_does_not_exist(err);
    if (ret != 0)
        return store_db_error(s, ret, "reading a result set", err);
    const uint8_t *b = buf;
    if (len < SR_HEADER_OFF)
        goto damaged;
    int64_t expires = (int64_t)be64_get(b);
    size_t hlen = (size_t)b[8] << 24 | (size_t)b[9] << 16 | (size_t)b[10] << 8 | b[11];
    if (hlen > len - SR_HEADER_OFF || (len - SR_HEADER_OFF - hlen) % 8 != 0)
        goto damaged;
    if (expires <= time_now_us()) {
        st = sr_does_not_exist(err);
        goto out;
    }
    salog_err derr;
    salog_err_init(&derr);
    if (codec_json_decode(&h, (const char *)b + SR_HEADER_OFF, hlen, STORE_JSON_MAX_DEPTH, &derr) != SALOG_OK || !h)
        goto damaged;
    const sv_value *cnt = sv_object_get(h, "count"), *verbose = sv_object_get(h, "verbose"),
                   *restr = sv_object_get(h, "search_restriction");
    const char *cfg = sv_object_get_str(h, "config_id"), *owner = sv_object_get_str(h, "owner_token_id");
    uint64_t stored = (len - SR_HEADER_OFF - hlen) / 8;
    if (!sv_is(cnt, SV_INT) || cnt->u.i < 0 || (uint64_t)cnt->u.i != stored || !cfg || strlen(cfg) != ID_LEN)
        goto damaged;
    uint64_t count = stored;
    if (offset > 0 && offset >= count) {
        st = salog_err_set(err, SALOG_E_BAD_OFFSET, "NotWithinRange", "/offset",
                           "offset %zu is not below the result count %" PRIu64, offset, count);
        goto out;
    }
    size_t avail = (size_t)(count - (offset < count ? offset : count));
    size_t page = limit < avail ? limit : avail;
    out->indexes = malloc((page + 1) * sizeof *out->indexes);
    if (!out->indexes || (restr && !(out->search_restriction = sv_clone(restr)))) {
        st = sr_oom(err);
        goto out;
    }
    const uint8_t *ix = b + SR_HEADER_OFF + hlen;
    for (size_t i = 0; i < page; i++)
        out->indexes[i] = be64_get(ix + 8 * (offset + i));
    out->page_count = page;
    out->count = count;
    out->expires_at_us = expires;
    out->verbose = sv_is(verbose, SV_BOOL) && verbose->u.b;
    memcpy(out->id, result_id, ID_LEN + 1);
    memcpy(out->config_id, cfg, ID_LEN + 1);
    snprintf(out->owner_token_id, sizeof out->owner_token_id, "%s", owner ? owner : "");
    goto out;
damaged:
    st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "a stored result set is damaged");
out:
    sv_free(h);
    free(buf);
    if (st != SALOG_OK)
        search_result_set_clear(out);
    return st;
}

/* ---- expiry ---- */

typedef struct sr_expire_ctx {
    char (*ids)[ID_LEN];
    size_t n;
} sr_expire_ctx;

static int sr_expire_txn(store *s, DB_TXN *txn, void *vctx)
{
    sr_expire_ctx *c = vctx;
    for (size_t i = 0; i < c->n; i++) {
        int ret = store_del(s->search_results, txn, c->ids[i], ID_LEN);
        if (ret != 0 && ret != DB_NOTFOUND)
            return ret;
    }
    return 0;
}

/* Up to SR_EXPIRE_BATCH expired ids at or after `from` (reading only each
 * record's first 8 bytes). *more when the scan stopped early. */
static int sr_expire_collect(store *s, int64_t now_us, sr_expire_ctx *c, char from[ID_LEN + 1], bool *more)
{
    DBC *cur = NULL;
    uint8_t kb[128], db[8];
    DBT k, d;
    *more = false;
    c->n = 0;
    int ret = s->search_results->cursor(s->search_results, NULL, &cur, 0);
    if (ret != 0)
        return ret;
    memset(&k, 0, sizeof k);
    memset(&d, 0, sizeof d);
    memcpy(kb, from, ID_LEN);
    k.data = kb;
    k.size = from[0] ? ID_LEN : 0;
    k.ulen = sizeof kb;
    k.flags = DB_DBT_USERMEM;
    d.data = db;
    d.ulen = sizeof db;
    d.dlen = sizeof db;
    d.doff = 0;
    d.flags = DB_DBT_USERMEM | DB_DBT_PARTIAL;
    ret = cur->get(cur, &k, &d, from[0] ? DB_SET_RANGE : DB_FIRST);
    while (ret == 0) {
        if (k.size == ID_LEN && d.size == 8 && (int64_t)be64_get(db) <= now_us) {
            if (c->n == SR_EXPIRE_BATCH) {
                memcpy(from, kb, ID_LEN);
                from[ID_LEN] = 0;
                *more = true;
                break;
            }
            memcpy(c->ids[c->n++], kb, ID_LEN);
        }
        ret = cur->get(cur, &k, &d, DB_NEXT);
    }
    if (ret == DB_NOTFOUND || ret == DB_BUFFER_SMALL)
        ret = 0;
    int cret = cur->close(cur);
    return ret != 0 ? ret : cret;
}

salog_status search_expire(store *s, int64_t now_us, size_t *removed, salog_err *err)
{
    salog_status st = SALOG_OK;
    sr_expire_ctx c = {0};
    char from[ID_LEN + 1] = {0};
    bool more = true;
    *removed = 0;
    c.ids = malloc(SR_EXPIRE_BATCH * sizeof *c.ids);
    if (!c.ids)
        return sr_oom(err);
    while (more) {
        int ret = 0;
        for (int attempt = 0; attempt <= STORE_DEADLOCK_RETRIES; attempt++) {
            ret = sr_expire_collect(s, now_us, &c, from, &more);
            if (ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED)
                break;
            usleep(1000u << (attempt < 6 ? attempt : 6));
        }
        if (ret == 0 && c.n > 0)
            ret = store_txn_run_flags(s, sr_expire_txn, &c, DB_TXN_WRITE_NOSYNC);
        if (ret != 0) {
            st = store_db_error(s, ret, "removing expired result sets", err);
            break;
        }
        *removed += c.n;
    }
    free(c.ids);
    return st;
}
