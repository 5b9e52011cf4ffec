/* Stored audit configs (model/configs.h, API.md II §6, I.7a).
 *
 * configs.db maps a config id to the compact JSON of the stored object
 * (secrets included; configs_public_view removes them). There is no order
 * index: a deployment has a handful of configs, so configs_list reads them
 * all in one transaction, filters, sorts by (order_by value, id) and cuts
 * the page after the cursor. The cursor is base64 of
 * "<order_by>\n<asc|desc>\n<value>\n<id>" of the last item returned; a
 * cursor made for another ordering is refused. */
#include "model/configs.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "codec/timefmt.h"
#include "model/ids.h"
#include "model/json_cache.h"
#include "model/store_internal.h"

#define CONFIG_CURSOR_MAX 512

static salog_status config_not_found(salog_err *err)
{
    return salog_err_set(err, SALOG_E_VALIDATION, "DoesNotExist", "/id", "no config with this id");
}

/* The stored form: id first, the config's own members, then the times. */
static sv_value *config_stored_form(const sv_value *config, const char *id, const char *created_at,
                                    const char *updated_at)
{
    sv_value *o = sv_object();
    if (!o || sv_object_set_str(o, "id", id) != 0)
        goto fail;
    for (size_t i = 0; i < config->u.obj.count; i++) {
        const sv_member *m = &config->u.obj.members[i];
        if (strcmp(m->key, "id") == 0 || strcmp(m->key, "created_at") == 0 ||
            strcmp(m->key, "updated_at") == 0)
            continue;
        sv_value *copy = sv_clone(m->value);
        if (!copy || sv_object_set_len(o, m->key, m->key_len, copy) != 0)
            goto fail;
    }
    if (sv_object_set_str(o, "created_at", created_at) != 0 ||
        sv_object_set_str(o, "updated_at", updated_at) != 0)
        goto fail;
    return o;
fail:
    sv_free(o);
    return NULL;
}

struct config_put_ctx {
    const char *id;
    const sv_value *v;
};

static int config_create_txn(store *s, DB_TXN *txn, void *vctx)
{
    struct config_put_ctx *c = vctx;
    int ret = store_put_json(s->configs, txn, c->id, c->v, DB_NOOVERWRITE);
    return ret == 0 ? auth_epoch_bump(s, txn) : ret;
}

salog_status configs_create(store *s, const sv_value *config, sv_value **out, salog_err *err)
{
    salog_status st = SALOG_OK;
    char id[ID_LEN + 1];
    char now[TIME_RFC3339_LEN + 1];
    sv_value *stored = NULL;
    *out = NULL;
    if (!sv_is(config, SV_OBJECT))
        return salog_err_set(err, SALOG_E_VALIDATION, "InvalidObject", NULL,
                             "a config must be an object");
    if (id_generate("pci_", id) != 0)
        return salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL, "no randomness available");
    time_format_us(time_now_us(), now);
    stored = config_stored_form(config, id, now, now);
    if (!stored)
        return salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL, "out of memory");
    struct config_put_ctx ctx = {.id = id, .v = stored};
    int ret = store_txn_run(s, config_create_txn, &ctx);
    if (ret != 0) {
        st = store_db_error(s, ret, "storing the config", err);
        sv_free(stored);
        return st;
    }
    *out = stored;
    return SALOG_OK;
}

struct config_get_ctx {
    const char *id;
    sv_value *v; /* NULL when absent */
};

static int config_get_read(store *s, DB_TXN *txn, void *vctx)
{
    struct config_get_ctx *c = vctx;
    sv_free(c->v);
    c->v = NULL;
    int ret = store_get_json(s->configs, txn, c->id, &c->v, 0);
    return ret == DB_NOTFOUND ? 0 : ret;
}

salog_status configs_get(store *s, const char *id, sv_value **out, salog_err *err)
{
    *out = NULL;
    if (!id || !id_is_valid("pci_", id))
        return config_not_found(err);
    struct config_get_ctx ctx = {.id = id, .v = NULL};
    int ret = store_read_run(s, config_get_read, &ctx);
    if (ret != 0) {
        sv_free(ctx.v);
        return store_db_error(s, ret, "reading the config", err);
    }
    if (!ctx.v)
        return config_not_found(err);
    *out = ctx.v;
    return SALOG_OK;
}

struct config_raw_ctx {
    const char *id;
    void *raw; /* NULL when absent */
    size_t len;
};

static int config_raw_read(store *s, DB_TXN *txn, void *vctx)
{
    struct config_raw_ctx *c = vctx;
    free(c->raw);
    c->raw = NULL;
    int ret = store_get_alloc(s->configs, txn, c->id, strlen(c->id), &c->raw, &c->len, 0);
    return ret == DB_NOTFOUND ? 0 : ret;
}

salog_status configs_get_shared(store *s, const char *id, sv_value **out, salog_err *err)
{
    return configs_get_shared_at(s, id, NULL, out, err);
}

salog_status configs_get_shared_at(store *s, const char *id, const auth_epoch *epoch, sv_value **out,
                                   salog_err *err)
{
    const unsigned char *tag = auth_epoch_tag(epoch);
    *out = NULL;
    if (!id || !id_is_valid("pci_", id))
        return config_not_found(err);
    if (tag && (*out = json_cache_get_tagged(s->config_cache, id, tag)) != NULL)
        return SALOG_OK;
    struct config_raw_ctx ctx = {.id = id, .raw = NULL, .len = 0};
    int ret = store_read_run(s, config_raw_read, &ctx);
    if (ret != 0) {
        free(ctx.raw);
        return store_db_error(s, ret, "reading the config", err);
    }
    if (!ctx.raw)
        return config_not_found(err);
    *out = json_cache_decode(s->config_cache, id, ctx.raw, ctx.len, tag);
    free(ctx.raw);
    if (!*out)
        return salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL, "the stored config is unreadable");
    return SALOG_OK;
}

salog_status configs_exists(store *s, const char *id, bool *exists, salog_err *err)
{
    sv_value *v = NULL;
    salog_err mine;
    salog_err_init(&mine);
    salog_status st = configs_get(s, id, &v, &mine);
    sv_free(v);
    *exists = st == SALOG_OK;
    /* Only "no such config" is an answer; a storage error stays one. */
    if (st == SALOG_OK || (mine.count > 0 && strcmp(mine.items[0].code, "DoesNotExist") == 0))
        return SALOG_OK;
    *err = mine;
    return st;
}

struct config_replace_ctx {
    const char *id;
    const char *expected_updated_at;
    const sv_value *config;
    sv_value *result;   /* the new stored object on success */
    salog_status logical; /* DoesNotExist / BadState / OOM when rolled back */
};

static int config_replace_txn(store *s, DB_TXN *txn, void *vctx)
{
    struct config_replace_ctx *c = vctx;
    sv_value *old = NULL;
    sv_free(c->result);
    c->result = NULL;
    c->logical = SALOG_OK;
    int ret = store_get_json(s->configs, txn, c->id, &old, DB_RMW);
    if (ret == DB_NOTFOUND) {
        c->logical = SALOG_E_NOT_FOUND;
        return STORE_TXN_ROLLBACK;
    }
    if (ret != 0)
        return ret;
    const char *old_updated = sv_object_get_str(old, "updated_at");
    const char *created = sv_object_get_str(old, "created_at");
    if (!old_updated || !created || !c->expected_updated_at ||
        strcmp(old_updated, c->expected_updated_at) != 0) {
        c->logical = SALOG_E_VALIDATION;
        ret = STORE_TXN_ROLLBACK;
        goto out;
    }
    /* updated_at must move forward even if the clock did not. */
    int64_t now_us = time_now_us(), old_us = 0;
    if (time_parse_rfc3339(old_updated, &old_us) == 0 && now_us <= old_us)
        now_us = old_us + 1;
    char now[TIME_RFC3339_LEN + 1];
    time_format_us(now_us, now);
    c->result = config_stored_form(c->config, c->id, created, now);
    if (!c->result) {
        ret = ENOMEM;
        goto out;
    }
    ret = store_put_json(s->configs, txn, c->id, c->result, 0);
    if (ret == 0)
        ret = auth_epoch_bump(s, txn);
out:
    sv_free(old);
    return ret;
}

salog_status configs_replace(store *s, const char *id, const char *expected_updated_at,
                             const sv_value *config, sv_value **out, salog_err *err)
{
    *out = NULL;
    if (!id || !id_is_valid("pci_", id))
        return config_not_found(err);
    if (!sv_is(config, SV_OBJECT))
        return salog_err_set(err, SALOG_E_VALIDATION, "InvalidObject", NULL,
                             "a config must be an object");
    struct config_replace_ctx ctx = {
        .id = id, .expected_updated_at = expected_updated_at, .config = config};
    int ret = store_txn_run(s, config_replace_txn, &ctx);
    if (ret == 0) {
        *out = ctx.result;
        return SALOG_OK;
    }
    sv_free(ctx.result);
    if (ret == STORE_TXN_ROLLBACK && ctx.logical == SALOG_E_NOT_FOUND)
        return config_not_found(err);
    if (ret == STORE_TXN_ROLLBACK && ctx.logical == SALOG_E_VALIDATION)
        return salog_err_set(err, SALOG_E_VALIDATION, "BadState", "/updated_at",
                             "the config was changed since this updated_at");
    return store_db_error(s, ret, "replacing the config", err);
}

struct config_delete_ctx {
    const char *id;
    sv_value *old;
};

static int config_delete_txn(store *s, DB_TXN *txn, void *vctx)
{
    struct config_delete_ctx *c = vctx;
    sv_free(c->old);
    c->old = NULL;
    int ret = store_get_json(s->configs, txn, c->id, &c->old, DB_RMW);
    if (ret == DB_NOTFOUND)
        return STORE_TXN_ROLLBACK;
    if (ret != 0)
        return ret;
    ret = store_del(s->configs, txn, c->id, strlen(c->id));
    return ret == 0 ? auth_epoch_bump(s, txn) : ret;
}

salog_status configs_delete(store *s, const char *id, sv_value **out, salog_err *err)
{
    *out = NULL;
    if (!id || !id_is_valid("pci_", id))
        return config_not_found(err);
    struct config_delete_ctx ctx = {.id = id, .old = NULL};
    int ret = store_txn_run(s, config_delete_txn, &ctx);
    if (ret == 0) {
        *out = ctx.old;
        return SALOG_OK;
    }
    sv_free(ctx.old);
    if (ret == STORE_TXN_ROLLBACK)
        return config_not_found(err);
    return store_db_error(s, ret, "deleting the config", err);
}

/* ---- reading every config ---- */

struct config_all_ctx {
    sv_value **items;
    size_t count, cap;
};

static void config_all_reset(struct config_all_ctx *c)
{
    for (size_t i = 0; i < c->count; i++)
        sv_free(c->items[i]);
    c->count = 0;
}

static void config_all_free(struct config_all_ctx *c)
{
    config_all_reset(c);
    free(c->items);
    c->items = NULL;
    c->cap = 0;
}

static int config_all_each(const void *key, size_t key_len, const void *val, size_t val_len,
                           void *vctx)
{
    (void)key;
    (void)key_len;
    struct config_all_ctx *c = vctx;
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        sv_value **n = realloc(c->items, cap * sizeof *n);
        if (!n)
            return ENOMEM;
        c->items = n;
        c->cap = cap;
    }
    sv_value *v = NULL;
    salog_err e;
    salog_err_init(&e);
    if (codec_json_decode(&v, val, val_len, STORE_JSON_MAX_DEPTH, &e) != SALOG_OK || !v)
        return EINVAL;
    if (!sv_object_get_str(v, "id") || !sv_object_get_str(v, "created_at") ||
        !sv_object_get_str(v, "updated_at")) {
        sv_free(v);
        return EINVAL;
    }
    c->items[c->count++] = v;
    return 0;
}

static int config_all_txn(store *s, DB_TXN *txn, void *vctx)
{
    struct config_all_ctx *c = vctx;
    config_all_reset(c);
    return store_scan(s->configs, txn, config_all_each, c);
}

static salog_status config_read_all(store *s, struct config_all_ctx *c, salog_err *err)
{
    int ret = store_txn_run(s, config_all_txn, c);
    if (ret != 0) {
        config_all_free(c);
        return store_db_error(s, ret, "reading the configs", err);
    }
    return SALOG_OK;
}

/* ---- ordering ---- */

struct config_order {
    const char *field; /* "id" | "created_at" | "updated_at" */
    bool descending;
};

static const char *config_field(const sv_value *v, const char *field)
{
    const char *s = sv_object_get_str(v, field);
    return s ? s : "";
}

/* Position of (value, id) in the ordering: <0 before, >0 after. */
static int config_key_cmp(const struct config_order *o, const char *va, const char *ida,
                          const char *vb, const char *idb)
{
    int r = strcmp(va, vb);
    if (r == 0)
        r = strcmp(ida, idb);
    return o->descending ? -r : r;
}

static int config_item_cmp(const void *a, const void *b, void *vorder)
{
    const struct config_order *o = vorder;
    const sv_value *x = *(sv_value *const *)a, *y = *(sv_value *const *)b;
    return config_key_cmp(o, config_field(x, o->field), config_field(x, "id"),
                          config_field(y, o->field), config_field(y, "id"));
}

salog_status configs_all_ids(store *s, char ***ids, size_t *count, salog_err *err)
{
    struct config_all_ctx c = {0};
    *ids = NULL;
    *count = 0;
    salog_status st = config_read_all(s, &c, err);
    if (st != SALOG_OK)
        return st;
    struct config_order o = {.field = "created_at", .descending = false};
    if (c.count > 1)
        qsort_r(c.items, c.count, sizeof *c.items, config_item_cmp, &o);
    char **out = calloc(c.count ? c.count : 1, sizeof *out);
    if (!out) {
        st = salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < c.count; i++) {
        out[i] = strdup(config_field(c.items[i], "id"));
        if (!out[i]) {
            for (size_t j = 0; j < i; j++)
                free(out[j]);
            free(out);
            st = salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL, "out of memory");
            goto out;
        }
    }
    *ids = out;
    *count = c.count;
out:
    config_all_free(&c);
    return st;
}

/* ---- filter ---- */

enum config_filter_kind { CF_EQ, CF_CONTAINS, CF_GT, CF_LT };

static const struct {
    const char *key;
    const char *field;
    enum config_filter_kind kind;
} config_filters[] = {
    {"id", "id", CF_EQ},
    {"name", "name", CF_EQ},
    {"name__contains", "name", CF_CONTAINS},
    {"created_at__gt", "created_at", CF_GT},
    {"created_at__lt", "created_at", CF_LT},
    {"updated_at__gt", "updated_at", CF_GT},
    {"updated_at__lt", "updated_at", CF_LT},
};

#define CONFIG_FILTER_COUNT (sizeof config_filters / sizeof config_filters[0])

struct config_filter {
    /* Per config_filters entry: the wanted value (times normalised to the
     * stored format), or NULL when not filtered. */
    const char *want[CONFIG_FILTER_COUNT];
    size_t want_len[CONFIG_FILTER_COUNT];
    char times[CONFIG_FILTER_COUNT][TIME_RFC3339_LEN + 1];
};

static salog_status config_filter_parse(const sv_value *filter, struct config_filter *f,
                                        salog_err *err)
{
    salog_status st = SALOG_OK;
    memset(f, 0, sizeof *f);
    if (!filter || filter->type == SV_NULL)
        return SALOG_OK;
    if (filter->type != SV_OBJECT)
        return salog_err_set(err, SALOG_E_VALIDATION, "InvalidObject", "/filter",
                             "filter must be an object");
    for (size_t i = 0; i < filter->u.obj.count; i++) {
        const sv_member *m = &filter->u.obj.members[i];
        char src[256];
        snprintf(src, sizeof src, "/filter/%s", m->key);
        size_t k = 0;
        while (k < CONFIG_FILTER_COUNT && strcmp(config_filters[k].key, m->key) != 0)
            k++;
        if (k == CONFIG_FILTER_COUNT || strlen(m->key) != m->key_len) {
            st = salog_err_set(err, SALOG_E_VALIDATION, "UnexpectedProperty", src,
                               "unknown filter member");
            continue;
        }
        if (m->value->type == SV_NULL) /* an SDK's unset field: no filter */
            continue;
        if (m->value->type != SV_STRING) {
            st = salog_err_set(err, SALOG_E_VALIDATION, "InvalidString", src,
                               "expected a string, got %s", sv_type_name(m->value->type));
            continue;
        }
        if (config_filters[k].kind == CF_GT || config_filters[k].kind == CF_LT) {
            int64_t us = 0;
            if (time_parse_rfc3339(m->value->u.s.ptr, &us) != 0 ||
                strlen(m->value->u.s.ptr) != m->value->u.s.len) {
                st = salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", src,
                                   "expected an RFC 3339 time");
                continue;
            }
            time_format_us(us, f->times[k]);
            f->want[k] = f->times[k];
            f->want_len[k] = strlen(f->times[k]);
        } else {
            f->want[k] = m->value->u.s.ptr;
            f->want_len[k] = m->value->u.s.len;
        }
    }
    return st;
}

static bool config_filter_match(const struct config_filter *f, const sv_value *v)
{
    for (size_t k = 0; k < CONFIG_FILTER_COUNT; k++) {
        if (!f->want[k])
            continue;
        const sv_value *fv = sv_object_get(v, config_filters[k].field);
        if (!sv_is(fv, SV_STRING))
            return false;
        const char *have = fv->u.s.ptr;
        size_t have_len = fv->u.s.len;
        switch (config_filters[k].kind) {
        case CF_EQ:
            if (have_len != f->want_len[k] || memcmp(have, f->want[k], have_len) != 0)
                return false;
            break;
        case CF_CONTAINS:
            if (f->want_len[k] > 0 && !memmem(have, have_len, f->want[k], f->want_len[k]))
                return false;
            break;
        case CF_GT:
            if (strcmp(have, f->want[k]) <= 0)
                return false;
            break;
        case CF_LT:
            if (strcmp(have, f->want[k]) >= 0)
                return false;
            break;
        }
    }
    return true;
}

/* ---- cursor ---- */

static char *config_cursor_make(const struct config_order *o, const sv_value *last)
{
    char plain[CONFIG_CURSOR_MAX];
    int n = snprintf(plain, sizeof plain, "%s\n%s\n%s\n%s", o->field,
                     o->descending ? "desc" : "asc", config_field(last, o->field),
                     config_field(last, "id"));
    if (n < 0 || (size_t)n >= sizeof plain)
        return NULL;
    char *b64 = malloc(4 * (((size_t)n + 2) / 3) + 1);
    if (!b64)
        return NULL;
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)plain, n);
    return b64;
}

struct config_cursor {
    char buf[CONFIG_CURSOR_MAX];
    const char *value;
    const char *id;
};

/* 0 when `text` is a cursor for this ordering, else -1. */
static int config_cursor_parse(const char *text, const struct config_order *o,
                               struct config_cursor *c)
{
    size_t len = strlen(text);
    if (len == 0 || len % 4 != 0 || len / 4 * 3 >= sizeof c->buf)
        return -1;
    int n = EVP_DecodeBlock((unsigned char *)c->buf, (const unsigned char *)text, (int)len);
    if (n < 0)
        return -1;
    /* EVP_DecodeBlock counts the bytes the padding stands for. */
    if (text[len - 1] == '=')
        n--;
    if (text[len - 2] == '=')
        n--;
    c->buf[n] = '\0';
    if (memchr(c->buf, '\0', (size_t)n))
        return -1;
    char *parts[4];
    char *p = c->buf;
    for (int i = 0; i < 4; i++) {
        parts[i] = p;
        char *nl = strchr(p, '\n');
        if (i < 3) {
            if (!nl)
                return -1;
            *nl = '\0';
            p = nl + 1;
        } else if (nl) {
            return -1;
        }
    }
    if (strcmp(parts[0], o->field) != 0 ||
        strcmp(parts[1], o->descending ? "desc" : "asc") != 0 || !id_is_valid("pci_", parts[3]))
        return -1;
    c->value = parts[2];
    c->id = parts[3];
    return 0;
}

/* ---- list ---- */

sv_value *configs_public_view(const sv_value *config)
{
    sv_value *v = sv_clone(config);
    if (!v)
        return NULL;
    sv_value *fwd = sv_object_get(v, "forwarding_configuration");
    if (sv_is(fwd, SV_OBJECT))
        sv_object_remove(fwd, "secret");
    return v;
}

salog_status configs_list(store *s, const config_list_query *q, sv_value **out, salog_err *err)
{
    salog_status st = SALOG_OK;
    struct config_all_ctx all = {0};
    struct config_filter filter;
    struct config_cursor cursor;
    sv_value *res = NULL, *items = NULL;
    char *next = NULL;
    *out = NULL;

    struct config_order order = {.field = q->order_by ? q->order_by : "created_at",
                                 .descending = q->descending};
    if (strcmp(order.field, "id") != 0 && strcmp(order.field, "created_at") != 0 &&
        strcmp(order.field, "updated_at") != 0)
        return salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", "/order_by",
                             "order_by must be id, created_at or updated_at");
    st = config_filter_parse(q->filter, &filter, err);
    if (st != SALOG_OK)
        return st;
    bool have_cursor = q->last && q->last[0];
    if (have_cursor && config_cursor_parse(q->last, &order, &cursor) != 0)
        return salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", "/last",
                             "not a cursor from a previous page of this listing");
    size_t size = q->size ? q->size : 1;

    st = config_read_all(s, &all, err);
    if (st != SALOG_OK)
        return st;
    /* Keep the matches at the front. */
    size_t matches = 0;
    for (size_t i = 0; i < all.count; i++) {
        if (config_filter_match(&filter, all.items[i])) {
            sv_value *t = all.items[matches];
            all.items[matches++] = all.items[i];
            all.items[i] = t;
        }
    }
    if (matches > 1)
        qsort_r(all.items, matches, sizeof *all.items, config_item_cmp, &order);
    size_t start = 0;
    if (have_cursor)
        while (start < matches &&
               config_key_cmp(&order, config_field(all.items[start], order.field),
                              config_field(all.items[start], "id"), cursor.value,
                              cursor.id) <= 0)
            start++;
    size_t end = start + size < start || start + size > matches ? matches : start + size;

    res = sv_object();
    items = sv_array();
    if (!res || !items)
        goto oom;
    for (size_t i = start; i < end; i++)
        if (sv_array_push(items, configs_public_view(all.items[i])) != 0)
            goto oom;
    if (end < matches && end > start) {
        next = config_cursor_make(&order, all.items[end - 1]);
        if (!next)
            goto oom;
    }
    if (sv_object_set_int(res, "count", (int64_t)matches) != 0 ||
        sv_object_set_str(res, "last", next ? next : "") != 0)
        goto oom;
    int r = sv_object_set(res, "items", items);
    items = NULL;
    if (r != 0)
        goto oom;
    *out = res;
    res = NULL;
    goto out;
oom:
    st = salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL, "out of memory");
out:
    sv_free(res);
    sv_free(items);
    free(next);
    config_all_free(&all);
    return st;
}

/* ---- cheap count for config resolution ---- */

#define CONFIG_PEEK_STOP (-1) /* not a Berkeley DB error code (those are -30800..-30999 or errno) */

typedef struct config_peek {
    size_t max, count;
    char first[ID_LEN + 1];
} config_peek;

static int config_peek_key(const void *key, size_t key_len, const void *val, size_t val_len, void *vctx)
{
    config_peek *c = vctx;
    (void)val;
    (void)val_len;
    if (c->count == 0 && key_len == ID_LEN) {
        memcpy(c->first, key, ID_LEN);
        c->first[ID_LEN] = '\0';
    }
    return ++c->count >= c->max ? CONFIG_PEEK_STOP : 0; /* only "none, one or several?" matters */
}

struct config_peek_memo {
    pthread_mutex_t mu;
    bool valid;
    unsigned char epoch[AUTH_EPOCH_LEN]; /* read before the scan that gave the rest */
    size_t max, count;
    char first[ID_LEN + 1];
};

config_peek_memo *config_peek_memo_new(void)
{
    config_peek_memo *m = calloc(1, sizeof *m);
    if (m && pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m);
        m = NULL;
    }
    return m;
}

void config_peek_memo_free(config_peek_memo *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

salog_status configs_peek(store *s, size_t max, size_t *count, char first[ID_LEN + 1], salog_err *err)
{
    return configs_peek_at(s, max, NULL, count, first, err);
}

salog_status configs_peek_at(store *s, size_t max, const auth_epoch *epoch, size_t *count,
                             char first[ID_LEN + 1], salog_err *err)
{
    config_peek c = {.max = max ? max : 1};
    config_peek_memo *m = s->config_peek_memo; /* made by store_open */
    const unsigned char *tag = auth_epoch_tag(epoch);
    bool remembered = false;
    if (tag) {
        pthread_mutex_lock(&m->mu);
        if (m->valid && m->max == c.max && memcmp(m->epoch, tag, AUTH_EPOCH_LEN) == 0) {
            c.count = m->count;
            memcpy(c.first, m->first, sizeof c.first);
            remembered = true;
        }
        pthread_mutex_unlock(&m->mu);
    }
    if (!remembered) {
        int ret = store_scan(s->configs, NULL, config_peek_key, &c);
        if (ret != 0 && ret != CONFIG_PEEK_STOP)
            return store_db_error(s, ret, "counting configs", err);
        if (tag) {
            pthread_mutex_lock(&m->mu);
            m->valid = true;
            memcpy(m->epoch, tag, AUTH_EPOCH_LEN);
            m->max = c.max;
            m->count = c.count;
            memcpy(m->first, c.first, sizeof m->first);
            pthread_mutex_unlock(&m->mu);
        }
    }
    *count = c.count;
    snprintf(first, ID_LEN + 1, "%s", c.first);
    return SALOG_OK;
}
