/* The tamper-evident log: appends, sizes, roots, proofs and stored events
 * (auditlog.h describes the storage layout). Checkpoints live in
 * checkpoints.c, `salog verify` in auditlog_verify.c.
 *
 * An append builds each envelope's canonical JSON before the transaction
 * with a fixed-width placeholder for received_at, so the work done while
 * holding the head lock is: stamp the time into the text, hash it, write
 * the event and its O(log n) nodes. */
#include "model/auditlog.h"
#include "model/be64.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "codec/codec.h"
#include "codec/timefmt.h"
#include "model/configs.h"
#include "model/store_internal.h"
#include "model/stored_roots.h"
#include "model/tree_queues.h"
#include "model/tree_tiles.h"

#define AL_EVENT_KEY_LEN (ID_LEN + 8)
#define AL_ROOT_KEY_LEN (ID_LEN + MERKLE_HASH_LEN)
#define AL_HEAD_LEN 16
/* Non-transactional reads can still lose a deadlock now and then. */
#define AL_READ_RETRIES 8

/* Same width as any time_format_us result, so the text can be stamped in place. */
static const char al_time_placeholder[] = "0000-00-00T00:00:00.000000Z";
static const char al_time_member[] = "\"received_at\":\"";

static void al_event_key(uint8_t key[AL_EVENT_KEY_LEN], const char *id, uint64_t index)
{
    memcpy(key, id, ID_LEN);
    be64_put(key + ID_LEN, index);
}

static salog_status al_check_id(const char *config_id, salog_err *err)
{
    if (!config_id || strlen(config_id) != ID_LEN)
        return salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", "/config_id", "malformed config id");
    return SALOG_OK;
}

/* DB->get of a fixed-size value into val. A value of another size is
 * corruption (EINVAL). Without a transaction, lost deadlocks are retried. */
static int al_get_fixed(DB *db, DB_TXN *txn, const void *key, size_t key_len, void *val, size_t val_len,
                        u_int32_t flags)
{
    size_t len = 0;
    int ret = store_get_into(db, txn, key, key_len, val, val_len, &len, flags);
    if (ret == DB_BUFFER_SMALL || (ret == 0 && len != val_len))
        ret = EINVAL;
    return ret;
}

/* Size and last received_at; a config that never logged has size 0. */
static int al_head_read(store *s, DB_TXN *txn, const char *id, uint64_t *size, int64_t *last,
                        u_int32_t flags)
{
    uint8_t v[AL_HEAD_LEN];
    int ret = al_get_fixed(s->heads, txn, id, ID_LEN, v, sizeof v, flags);
    *size = 0;
    if (last)
        *last = 0;
    if (ret == DB_NOTFOUND)
        return 0;
    if (ret != 0)
        return ret;
    *size = be64_get(v);
    if (last)
        *last = (int64_t)be64_get(v + 8);
    return 0;
}

/* Maps a merkle/DB error from a tree walk to a salog error. */
static salog_status al_tree_error(store *s, int ret, const char *what, salog_err *err)
{
    if (ret == EINVAL || ret == MERKLE_EINVAL)
        return salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/",
                             "%s: a stored tree node is missing or damaged", what);
    return store_db_error(s, ret, what, err);
}

void auditlog_tree_name(const char *config_id, char out[65])
{
    sha256_hex(config_id, strlen(config_id), out);
}

/* ---- append ---- */

typedef struct al_pending {
    sbuf canon;        /* canonical envelope with received_at stamped at time_off */
    size_t time_off;
    int64_t received_at;
    uint8_t leaf[MERKLE_HASH_LEN];
} al_pending;

typedef struct al_append_ctx {
    const char *id;
    al_pending *items;
    size_t count;
    const size_t *group_ends;           /* increasing, the last == count */
    const bool *want_roots;             /* NULL: every batch wants its root */
    size_t groups;
    uint8_t (*group_roots)[MERKLE_HASH_LEN];
    uint8_t (*size_roots)[MERKLE_HASH_LEN]; /* [i]: root at old size + i + 1 */
    DB *roots_queue;                    /* the config's stored roots (stored_roots.h) */
    DB *tiles_queue;                    /* its complete bottom tiles (tree_tiles.h) */
    uint64_t old_size;
} al_append_ctx;

/* Records `root` as the root of the tree of `size` (for prev_root). */
static int al_put_root(store *s, DB_TXN *txn, const char *id, const uint8_t root[MERKLE_HASH_LEN], uint64_t size)
{
    uint8_t rkey[AL_ROOT_KEY_LEN], sz[8];
    memcpy(rkey, id, ID_LEN);
    memcpy(rkey + ID_LEN, root, MERKLE_HASH_LEN);
    be64_put(sz, size);
    return store_put(s->roots, txn, rkey, sizeof rkey, sz, sizeof sz, 0);
}

/* The envelope of one item with the placeholder received_at. */
static sv_value *al_envelope_new(const log_item *it)
{
    sv_value *env = sv_object();
    if (!env)
        return NULL;
    sv_value *ev = sv_clone(it->event);
    if (!ev || sv_object_set(env, "event", ev) != 0 ||
        sv_object_set_str(env, "received_at", al_time_placeholder) != 0 ||
        (it->signature && sv_object_set_str(env, "signature", it->signature) != 0) ||
        (it->public_key && sv_object_set_str(env, "public_key", it->public_key) != 0))
        goto fail;
    if (it->malformed) {
        sv_value *e = sv_clone(it->malformed);
        if (!e || sv_object_set(env, "err", e) != 0)
            goto fail;
    }
    return env;
fail:
    sv_free(env);
    return NULL;
}

/* Offset of the top-level received_at text: its member is the last one
 * spelled "received_at":" with bare quotes (quotes inside strings are
 * escaped; the event's own members all sort before it). */
static int al_find_time(const sbuf *b, size_t *off)
{
    const size_t mlen = sizeof al_time_member - 1, tlen = sizeof al_time_placeholder - 1;
    const char *p = b->data, *end = b->data + b->len, *found = NULL;
    while (p < end) {
        const char *q = memmem(p, (size_t)(end - p), al_time_member, mlen);
        if (!q)
            break;
        found = q;
        p = q + 1;
    }
    if (!found || (size_t)(end - found) < mlen + tlen || memcmp(found + mlen, al_time_placeholder, tlen) != 0)
        return -1;
    *off = (size_t)(found - b->data) + mlen;
    return 0;
}

static int al_append_txn(store *s, DB_TXN *txn, void *vctx)
{
    al_append_ctx *c = vctx;
    tile_reader rd;
    merkle_new_node nodes[MERKLE_MAX_LEVELS + 1];
    uint8_t key[AL_EVENT_KEY_LEN], head[AL_HEAD_LEN];
    char stamp[TIME_RFC3339_LEN + 1];
    uint64_t size;
    int64_t last;
    size_t group = 0;
    int ret = al_head_read(s, txn, c->id, &size, &last, DB_RMW);
    if (ret != 0)
        return ret;
    c->old_size = size;
    tile_reader_init(&rd, c->tiles_queue, s->tiles, s->tile_edges, txn, c->id, NULL, size);
    for (size_t i = 0; i < c->count; i++) {
        al_pending *p = &c->items[i];
        int64_t now = time_now_us();
        p->received_at = now > last ? now : last;
        last = p->received_at;
        time_format_us(p->received_at, stamp);
        memcpy(p->canon.data + p->time_off, stamp, TIME_RFC3339_LEN);
        merkle_sha256(p->canon.data, p->canon.len, p->leaf);
        al_event_key(key, c->id, size + i);
        ret = store_put(s->events, txn, key, AL_EVENT_KEY_LEN, p->canon.data, p->canon.len, DB_NOOVERWRITE);
        if (ret != 0)
            return ret;
        size_t n = 0;
        ret = merkle_append_nodes(tile_reader_merkle, &rd, size + i, p->leaf, nodes, &n);
        if (ret != 0)
            return ret;
        for (size_t j = 0; j < n; j++) {
            ret = tile_reader_add(&rd, nodes[j].level, nodes[j].index, nodes[j].hash);
            if (ret != 0)
                return ret;
        }
        /* Every size's root is stored (stored_roots.h), so a root at any
         * size is one read later. */
        ret = merkle_root(tile_reader_merkle, &rd, size + i + 1, c->size_roots[i]);
        if (ret != 0)
            return ret;
        /* Each caller's batch ends at a root its client may see and later
         * send back as prev_root. */
        if (group < c->groups && i + 1 == c->group_ends[group]) {
            /* The tree's newest root is always recorded: checkpoints and
             * search replies hand it out, and clients send it back as
             * prev_root. */
            bool wanted = !c->want_roots || c->want_roots[group];
            if (wanted || group + 1 == c->groups) {
                ret = al_put_root(s, txn, c->id, c->size_roots[i], size + i + 1);
                if (ret != 0)
                    return ret;
            }
            if (wanted)
                memcpy(c->group_roots[group], c->size_roots[i], MERKLE_HASH_LEN);
            else
                memset(c->group_roots[group], 0, MERKLE_HASH_LEN);
            group++;
        }
    }
    if ((ret = stored_roots_put(c->roots_queue, txn, size + 1, c->size_roots, c->count)) != 0)
        return ret;
    if ((ret = tile_reader_flush(&rd)) != 0)
        return ret;
    size += c->count;
    be64_put(head, size);
    be64_put(head + 8, (uint64_t)last);
    return store_put(s->heads, txn, c->id, ID_LEN, head, sizeof head, 0);
}

void auditlog_append_result_clear(log_append_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->count; i++)
        sv_free(r->items[i].envelope);
    free(r->items);
    memset(r, 0, sizeof *r);
}

salog_status auditlog_append(store *s, const char *config_id, const log_item *items, size_t count,
                             log_append_result *out, salog_err *err)
{
    uint8_t root[1][MERKLE_HASH_LEN];
    size_t end = count;
    salog_status st = auditlog_append_groups(s, config_id, items, count, &end, NULL, 1, root, out, err);
    if (st == SALOG_OK && (st = auditlog_flush(s, err)) != SALOG_OK)
        auditlog_append_result_clear(out);
    return st;
}

salog_status auditlog_flush(store *s, salog_err *err)
{
    /* Concurrent callers in any process share one flush (group commit). */
    int ret = s->env->log_flush(s->env, NULL);
    return ret == 0 ? SALOG_OK : store_db_error(s, ret, "flushing the log", err);
}

salog_status auditlog_append_groups(store *s, const char *config_id, const log_item *items, size_t count,
                                    const size_t *group_ends, const bool *want_roots, size_t groups,
                                    uint8_t (*group_roots)[MERKLE_HASH_LEN], log_append_result *out,
                                    salog_err *err)
{
    salog_status st = SALOG_OK;
    al_append_ctx c = {.id = config_id, .count = count, .group_ends = group_ends, .want_roots = want_roots,
                       .groups = groups, .group_roots = group_roots};
    memset(out, 0, sizeof *out);
    if ((st = al_check_id(config_id, err)) != SALOG_OK)
        return st;
    if (count == 0)
        return salog_err_set(err, SALOG_E_VALIDATION, "BelowMinItems", "/events", "no events to log");
    for (size_t g = 0; g < groups; g++)
        if (group_ends[g] == 0 || group_ends[g] > count || (g > 0 && group_ends[g] <= group_ends[g - 1]) ||
            (g + 1 == groups && group_ends[g] != count))
            return salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "bad append groups");
    if (groups == 0)
        return salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "bad append groups");
    c.items = calloc(count, sizeof *c.items);
    c.size_roots = malloc(count * sizeof *c.size_roots);
    out->items = calloc(count, sizeof *out->items);
    if (!c.items || !c.size_roots || !out->items) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
        goto out;
    }
    out->count = count;
    for (size_t i = 0; i < count; i++) {
        sv_value *env = al_envelope_new(&items[i]);
        if (!env) {
            st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
            goto out;
        }
        out->items[i].envelope = env;
        int rc = codec_canonical_json(&c.items[i].canon, env);
        if (rc == -2) {
            st = salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", "/event",
                               "the event has no canonical JSON form (null or float)");
            goto out;
        }
        if (rc != 0 || c.items[i].canon.oom || al_find_time(&c.items[i].canon, &c.items[i].time_off) != 0) {
            st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "cannot encode the envelope");
            goto out;
        }
    }
    /* Opened outside the transaction: a handle opened inside one would
     * close with it if it aborted. */
    int ret = stored_roots_queue(s, config_id, &c.roots_queue);
    if (ret == 0)
        ret = tree_queue_open(s, config_id, TREE_QUEUE_TILES, &c.tiles_queue);
    if (ret != 0) {
        st = store_db_error(s, ret, "opening the tree's queues", err);
        goto out;
    }
    ret = store_txn_run_flags(s, al_append_txn, &c, DB_TXN_WRITE_NOSYNC);
    if (ret != 0) {
        st = ret == EINVAL || ret == MERKLE_EINVAL ? al_tree_error(s, ret, "appending events", err)
                                                    : store_db_error(s, ret, "appending events", err);
        goto out;
    }
    out->tree_size = c.old_size + count;
    memcpy(out->root, group_roots[groups - 1], MERKLE_HASH_LEN);
    for (size_t i = 0; i < count; i++) {
        /* Nothing may fail after the commit: the stamp goes into the
         * placeholder string in place (same width). */
        log_appended *a = &out->items[i];
        sv_value *stamp = sv_object_get(a->envelope, "received_at");
        time_format_us(c.items[i].received_at, stamp->u.s.ptr);
        merkle_hex(c.items[i].leaf, a->hash);
        a->leaf_index = c.old_size + i;
    }
out:
    if (c.items) {
        for (size_t i = 0; i < count; i++)
            sbuf_free(&c.items[i].canon);
        free(c.items);
    }
    free(c.size_roots);
    if (st != SALOG_OK)
        auditlog_append_result_clear(out);
    return st;
}

/* ---- reads ---- */

salog_status auditlog_size(store *s, const char *config_id, uint64_t *size, salog_err *err)
{
    salog_status st = al_check_id(config_id, err);
    *size = 0;
    if (st != SALOG_OK)
        return st;
    int ret = al_head_read(s, NULL, config_id, size, NULL, 0);
    if (ret != 0)
        return store_db_error(s, ret, "reading the tree head", err);
    return SALOG_OK;
}

/* 1 <= size <= current size (*cur), else NotWithinRange on /tree_size. */
static salog_status al_check_size(store *s, const char *config_id, uint64_t size, uint64_t *cur,
                                  salog_err *err)
{
    salog_status st = auditlog_size(s, config_id, cur, err);
    if (st != SALOG_OK)
        return st;
    if (size == 0 || size > *cur)
        return salog_err_set(err, SALOG_E_VALIDATION, "NotWithinRange", "/tree_size",
                             "tree size %llu is not within 1..%llu", (unsigned long long)size,
                             (unsigned long long)*cur);
    return SALOG_OK;
}

/* A tile reader outside any transaction, with the config's bottom-tile
 * queue (made when missing, tree_queues.h). */
static salog_status al_reader_init(store *s, const char *config_id, uint64_t cur, tile_reader *rd,
                                   salog_err *err)
{
    DB *bottom = NULL;
    int ret = tree_queue_open(s, config_id, TREE_QUEUE_TILES, &bottom);
    if (ret != 0)
        return store_db_error(s, ret, "opening the bottom tiles", err);
    tile_reader_init(rd, bottom, s->tiles, s->tile_edges, NULL, config_id, s->tile_cache, cur);
    return SALOG_OK;
}

/* Root of `size` (checked against the current size): the stored one when
 * `stored` and there is one, else folded from the stored subtrees. */
static salog_status al_root(store *s, const char *config_id, uint64_t size, bool stored,
                            uint8_t root[MERKLE_HASH_LEN], salog_err *err)
{
    uint64_t cur = 0;
    salog_status st = al_check_size(s, config_id, size, &cur, err);
    if (st != SALOG_OK)
        return st;
    if (stored) {
        int ret = stored_roots_get(s, config_id, size, root);
        if (ret == 0)
            return SALOG_OK;
        if (ret != DB_NOTFOUND)
            return store_db_error(s, ret, "reading a stored root", err);
        /* No stored root (a store from before they were kept): fold. */
    }
    tile_reader rd;
    if ((st = al_reader_init(s, config_id, cur, &rd, err)) != SALOG_OK)
        return st;
    int ret = merkle_root(tile_reader_merkle, &rd, size, root);
    return ret == 0 ? SALOG_OK : al_tree_error(s, ret, "computing a root", err);
}

salog_status auditlog_root(store *s, const char *config_id, uint64_t size, uint8_t root[MERKLE_HASH_LEN],
                           salog_err *err)
{
    return al_root(s, config_id, size, true, root, err);
}

salog_status auditlog_root_folded(store *s, const char *config_id, uint64_t size, uint8_t root[MERKLE_HASH_LEN],
                                  salog_err *err)
{
    return al_root(s, config_id, size, false, root, err);
}

salog_status auditlog_find_root(store *s, const char *config_id, const uint8_t root[MERKLE_HASH_LEN],
                                uint64_t *size, salog_err *err)
{
    uint8_t key[AL_ROOT_KEY_LEN], v[8];
    salog_status st = al_check_id(config_id, err);
    *size = 0;
    if (st != SALOG_OK)
        return st;
    memcpy(key, config_id, ID_LEN);
    memcpy(key + ID_LEN, root, MERKLE_HASH_LEN);
    int ret = al_get_fixed(s->roots, NULL, key, sizeof key, v, sizeof v, 0);
    if (ret == DB_NOTFOUND)
        return SALOG_OK;
    if (ret != 0)
        return store_db_error(s, ret, "looking up a root", err);
    *size = be64_get(v);
    return SALOG_OK;
}

salog_status auditlog_membership_proof(store *s, const char *config_id, uint64_t index, uint64_t size,
                                       char **proof, salog_err *err)
{
    merkle_step steps[MERKLE_MAX_LEVELS];
    size_t n = 0;
    *proof = NULL;
    uint64_t cur = 0;
    salog_status st = al_check_size(s, config_id, size, &cur, err);
    if (st != SALOG_OK)
        return st;
    if (index >= size)
        return salog_err_set(err, SALOG_E_VALIDATION, "NotWithinRange", "/leaf_index",
                             "leaf index %llu is not below tree size %llu", (unsigned long long)index,
                             (unsigned long long)size);
    tile_reader rd;
    if ((st = al_reader_init(s, config_id, cur, &rd, err)) != SALOG_OK)
        return st;
    int ret = merkle_membership_proof(tile_reader_merkle, &rd, index, size, steps, &n);
    if (ret != 0)
        return al_tree_error(s, ret, "building a membership proof", err);
    *proof = malloc(n * 67 + 1);
    if (!*proof)
        return salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
    merkle_format_path(steps, n, *proof);
    return SALOG_OK;
}

salog_status auditlog_consistency_proof(store *s, const char *config_id, uint64_t old_size, uint64_t new_size,
                                        sv_value **proof, salog_err *err)
{
    merkle_consistency_item *items = NULL;
    char *text = NULL;
    sv_value *arr = NULL;
    size_t n = 0, first_len = 0;
    *proof = NULL;
    uint64_t cur = 0;
    salog_status st = al_check_size(s, config_id, new_size, &cur, err);
    if (st != SALOG_OK)
        return st;
    if (old_size == 0 || old_size >= new_size)
        return salog_err_set(err, SALOG_E_VALIDATION, "NotWithinRange", "/tree_size",
                             "a consistency proof needs 0 < old size < new size");
    /* Not zeroed: the proof fills what is read (137 KB of steps). */
    items = malloc(MERKLE_MAX_LEVELS * sizeof *items);
    /* The first item's text, kept while the later ones copy from it, then
     * room for one later item. */
    text = malloc(2 * (2 + 2 * MERKLE_HASH_LEN + MERKLE_MAX_LEVELS * 67 + 1));
    arr = sv_array();
    if (!items || !text || !arr) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
        goto out;
    }
    tile_reader rd;
    if ((st = al_reader_init(s, config_id, cur, &rd, err)) != SALOG_OK)
        goto out;
    int ret = merkle_consistency_proof(tile_reader_merkle, &rd, old_size, new_size, items, &n);
    if (ret != 0) {
        st = al_tree_error(s, ret, "building a consistency proof", err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char *item_text = i == 0 ? text : text + first_len + 1;
        size_t len = i == 0 ? merkle_format_consistency_item(&items[0], text)
                            : merkle_format_consistency_item_after(&items[i], &items[0], text, first_len, item_text);
        if (i == 0)
            first_len = len;
        if (sv_array_push(arr, sv_string_len(item_text, len)) != 0) {
            st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
            goto out;
        }
    }
    *proof = arr;
    arr = NULL;
out:
    sv_free(arr);
    free(text);
    free(items);
    return st;
}

salog_status auditlog_get_event(store *s, const char *config_id, uint64_t index, sv_value **envelope,
                                char hash[65], salog_err *err)
{
    uint8_t key[AL_EVENT_KEY_LEN];
    void *buf = NULL;
    size_t len = 0;
    int ret = 0;
    *envelope = NULL;
    salog_status st = al_check_id(config_id, err);
    if (st != SALOG_OK)
        return st;
    al_event_key(key, config_id, index);
    for (int attempt = 0; attempt <= AL_READ_RETRIES; attempt++) {
        ret = store_get_alloc(s->events, NULL, key, sizeof key, &buf, &len, 0);
        if (ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED)
            break;
        usleep(1000u << (attempt < 6 ? attempt : 6));
    }
    if (ret == DB_NOTFOUND)
        return salog_err_set(err, SALOG_E_NOT_FOUND, "NotFound", "/", "no event at index %llu",
                             (unsigned long long)index);
    if (ret != 0)
        return store_db_error(s, ret, "reading an event", err);
    salog_err derr;
    salog_err_init(&derr);
    if (codec_json_decode(envelope, buf, len, STORE_JSON_MAX_DEPTH, &derr) != SALOG_OK || !*envelope) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "event %llu is unreadable",
                           (unsigned long long)index);
        goto out;
    }
    sha256_hex(buf, len, hash);
out:
    free(buf);
    return st;
}

salog_status auditlog_config_for_tree(store *s, const char *tree_name, char config_id[ID_LEN + 1],
                                      salog_err *err)
{
    char **ids = NULL;
    size_t count = 0;
    uint8_t raw[MERKLE_HASH_LEN];
    config_id[0] = '\0';
    if (!tree_name || strlen(tree_name) != 64 || merkle_unhex(tree_name, raw) != 0)
        return salog_err_set(err, SALOG_E_NOT_FOUND, "NotFound", "/", "unknown tree");
    salog_status st = configs_all_ids(s, &ids, &count, err);
    if (st != SALOG_OK)
        return st;
    bool found = false;
    for (size_t i = 0; i < count && !found; i++) {
        char name[65];
        auditlog_tree_name(ids[i], name);
        if (strlen(ids[i]) == ID_LEN && strcasecmp(name, tree_name) == 0) {
            memcpy(config_id, ids[i], ID_LEN + 1);
            found = true;
        }
    }
    if (!found)
        st = salog_err_set(err, SALOG_E_NOT_FOUND, "NotFound", "/", "unknown tree");
    for (size_t i = 0; i < count; i++)
        free(ids[i]);
    free(ids);
    return st;
}
