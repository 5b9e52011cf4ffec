/* `salog verify` (auditlog.h): recomputes the tree from the stored events
 * and checks every stored node, root record and checkpoint against it.
 *
 * The check covers the tree of the size read at the start; appends that
 * happen meanwhile are left for the next run. The recomputed perfect
 * subtrees are kept level by level (about 2 x 32 bytes per event), which is
 * what lets every checkpoint's root be recomputed in O(log n). */
#include "model/auditlog.h"
#include "model/be64.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/codec.h"
#include "model/server_key.h"
#include "model/store_internal.h"
#include "model/root_groups.h"
#include "model/stored_roots.h"
#include "model/tree_queues.h"
#include "model/tree_tiles.h"

#define VF_READ_RETRIES 8

/* Carried from one checkpoint to the next. */
typedef struct vf_chain {
    uint64_t prev_size;
    uint8_t prev_root[MERKLE_HASH_LEN];
    uint64_t limit; /* tree size at the end of the run */
} vf_chain;

typedef struct vf_state {
    store *s;
    const char *id;
    FILE *report;
    uint64_t problems;
    uint64_t n;                 /* size under check */
    unsigned levels;            /* calc[0..levels) */
    uint8_t (*calc[MERKLE_MAX_LEVELS])[MERKLE_HASH_LEN]; /* recomputed perfect subtrees */
    EVP_PKEY *pub;
    char *pub_text;             /* expected public_key member */
    char tree_name[65];
    vf_chain chain;
    tile_reader tiles;          /* stored nodes, read without the process cache */
} vf_state;

static void vf_problem(vf_state *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void vf_problem(vf_state *v, const char *fmt, ...)
{
    v->problems++;
    if (!v->report)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(v->report, fmt, ap);
    va_end(ap);
    fputc('\n', v->report);
}

/* Point read outside any transaction (stored records never change). */
static int vf_get(DB *db, const void *key, size_t key_len, void **val, size_t *len)
{
    int ret = 0;
    for (int attempt = 0; attempt <= VF_READ_RETRIES; attempt++) {
        ret = store_get_alloc(db, NULL, key, key_len, val, len, 0);
        if (ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED)
            break;
        usleep(1000u << (attempt < 6 ? attempt : 6));
    }
    return ret;
}

/* Stored node (level, index): 0, EINVAL (missing or damaged) or a DB error. */
static int vf_stored_node(vf_state *v, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
    return tile_reader_node(&v->tiles, level, index, out);
}

static int vf_read_node(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
    vf_state *v = ctx;
    return vf_stored_node(v, level, index, out);
}

/* The tiles' shape: each band's growing tile is the one a tree of n leaves
 * has, with exactly its hashes, and no complete tile lies beyond n (extra
 * hashes would make every later append fail). Appends during the run
 * change the shape, so nothing is reported unless the size is still n. */
static int vf_check_tile_shape(vf_state *v)
{
    char found[TILE_STRATA + 1][160];
    size_t nfound = 0;
    for (unsigned st = 0; st < TILE_STRATA; st++) {
        uint64_t want_tile = 0, have_tile = 0;
        size_t want_count = 0, have_count = 0;
        bool want = tile_expected_edge(v->n, st, &want_tile, &want_count), have = false;
        int ret = tile_reader_edge(&v->tiles, st, &have, &have_tile, &have_count);
        if (ret == EINVAL) {
            snprintf(found[nfound++], sizeof found[0], "tiles: band %u's growing tile is malformed", st);
            continue;
        }
        if (ret != 0)
            return ret;
        if (!want && have && have_count > 0)
            snprintf(found[nfound++], sizeof found[0],
                     "tiles: band %u holds %zu hashes of tile %llu, but the tree has none there", st, have_count,
                     (unsigned long long)have_tile);
        else if (want && (!have || have_tile != want_tile || have_count != want_count))
            snprintf(found[nfound++], sizeof found[0],
                     "tiles: band %u's growing tile holds %zu hashes of tile %llu, expected %zu of tile %llu", st,
                     have ? have_count : 0, (unsigned long long)have_tile, want_count,
                     (unsigned long long)want_tile);
    }
    bool beyond = false;
    unsigned beyond_stratum = 0;
    uint64_t beyond_leaf = 0;
    int ret = tile_reader_full_beyond(&v->tiles, v->n, &beyond, &beyond_stratum, &beyond_leaf);
    if (ret != 0)
        return ret;
    if (beyond)
        snprintf(found[nfound++], sizeof found[0],
                 "tiles: a complete tile of band %u ends at event %llu, beyond the tree's size %llu", beyond_stratum,
                 (unsigned long long)beyond_leaf, (unsigned long long)v->n);
    uint64_t now = 0;
    salog_err err;
    salog_err_init(&err);
    if (nfound == 0 || auditlog_size(v->s, v->id, &now, &err) != SALOG_OK || now != v->n)
        return 0;
    for (size_t i = 0; i < nfound; i++)
        vf_problem(v, "%s", found[i]);
    return 0;
}

/* Root of size k (1 <= k <= n) from the recomputed subtrees: fold n's
 * binary decomposition from the right. */
static void vf_calc_root(const vf_state *v, uint64_t k, uint8_t out[MERKLE_HASH_LEN])
{
    uint64_t offset = k;
    int have = 0;
    for (unsigned l = 0; l < MERKLE_MAX_LEVELS; l++) {
        if (!((k >> l) & 1u))
            continue;
        offset -= (uint64_t)1 << l;
        const uint8_t *part = v->calc[l][offset >> l];
        if (!have) {
            memcpy(out, part, MERKLE_HASH_LEN);
            have = 1;
        } else {
            merkle_hash_children(part, out, out);
        }
    }
}

/* Leaves: every stored envelope, re-canonicalised and hashed, against its
 * stored leaf. Returns a DB error that stops the run, else 0. */
static int vf_check_events(vf_state *v)
{
    uint8_t key[ID_LEN + 8], stored[MERKLE_HASH_LEN];
    memcpy(key, v->id, ID_LEN);
    for (uint64_t i = 0; i < v->n; i++) {
        void *buf = NULL;
        size_t len = 0;
        sv_value *env = NULL;
        sbuf canon = {0};
        uint8_t *leaf = v->calc[0][i];
        be64_put(key + ID_LEN, i);
        int ret = vf_get(v->s->events, key, sizeof key, &buf, &len);
        if (ret == DB_NOTFOUND) {
            vf_problem(v, "event %llu: missing", (unsigned long long)i);
            memset(leaf, 0, MERKLE_HASH_LEN);
        } else if (ret != 0) {
            return ret;
        } else {
            salog_err derr;
            salog_err_init(&derr);
            if (codec_json_decode(&env, buf, len, STORE_JSON_MAX_DEPTH, &derr) != SALOG_OK || !env ||
                !sv_is(env, SV_OBJECT) || codec_canonical_json(&canon, env) != 0 || canon.oom) {
                vf_problem(v, "event %llu: stored envelope is unreadable", (unsigned long long)i);
                SHA256(buf, len, leaf);
            } else {
                SHA256((const unsigned char *)canon.data, canon.len, leaf);
            }
        }
        sbuf_free(&canon);
        sv_free(env);
        free(buf);
        ret = vf_stored_node(v, 0, i, stored);
        if (ret == EINVAL)
            vf_problem(v, "event %llu: its leaf node is missing or damaged", (unsigned long long)i);
        else if (ret != 0)
            return ret;
        else if (memcmp(stored, leaf, MERKLE_HASH_LEN) != 0)
            vf_problem(v, "event %llu: stored envelope does not match its leaf hash", (unsigned long long)i);
    }
    return 0;
}

/* Interior nodes: each stored node against its stored children, and the
 * recomputed levels built from the recomputed leaves. */
static int vf_check_nodes(vf_state *v)
{
    for (unsigned l = 1; l < v->levels; l++) {
        uint64_t count = v->n >> l;
        for (uint64_t j = 0; j < count; j++) {
            uint8_t node[MERKLE_HASH_LEN], left[MERKLE_HASH_LEN], right[MERKLE_HASH_LEN], want[MERKLE_HASH_LEN];
            unsigned long long lo = (unsigned long long)(j << l), hi = (unsigned long long)(((j + 1) << l) - 1);
            merkle_hash_children(v->calc[l - 1][2 * j], v->calc[l - 1][2 * j + 1], v->calc[l][j]);
            int ret = vf_stored_node(v, l, j, node);
            if (ret == EINVAL) {
                vf_problem(v, "node level %u index %llu (events %llu..%llu): missing or damaged", l,
                           (unsigned long long)j, lo, hi);
                continue;
            }
            if (ret != 0)
                return ret;
            int rl = vf_stored_node(v, l - 1, 2 * j, left);
            int rr = vf_stored_node(v, l - 1, 2 * j + 1, right);
            if (rl != 0 && rl != EINVAL)
                return rl;
            if (rr != 0 && rr != EINVAL)
                return rr;
            if (rl != 0 || rr != 0)
                continue; /* the missing child is reported on its own level */
            merkle_hash_children(left, right, want);
            if (memcmp(want, node, MERKLE_HASH_LEN) != 0)
                vf_problem(v, "node level %u index %llu (events %llu..%llu): does not match its children", l,
                           (unsigned long long)j, lo, hi);
        }
    }
    return 0;
}

/* Calls fn on every record of db whose key starts with the config id. */
typedef int (*vf_record_fn)(vf_state *v, const uint8_t *key, size_t key_len, const void *val, size_t len);

static int vf_scan_prefix(vf_state *v, DB *db, vf_record_fn fn)
{
    DBC *cur = NULL;
    DBT k, d;
    int ret = db->cursor(db, NULL, &cur, 0);
    if (ret != 0)
        return ret;
    memset(&k, 0, sizeof k);
    memset(&d, 0, sizeof d);
    k.flags = DB_DBT_REALLOC;
    d.flags = DB_DBT_REALLOC;
    k.data = malloc(ID_LEN);
    if (!k.data) {
        ret = ENOMEM;
        goto out;
    }
    memcpy(k.data, v->id, ID_LEN);
    k.size = ID_LEN;
    u_int32_t op = DB_SET_RANGE;
    while ((ret = cur->get(cur, &k, &d, op)) == 0) {
        op = DB_NEXT;
        if (k.size < ID_LEN || memcmp(k.data, v->id, ID_LEN) != 0)
            break;
        ret = fn(v, k.data, k.size, d.data, d.size);
        if (ret != 0)
            break;
    }
    if (ret == DB_NOTFOUND)
        ret = 0;
out:;
    int cret = cur->close(cur);
    if (ret == 0)
        ret = cret;
    free(k.data);
    free(d.data);
    return ret;
}

static int vf_root_record(vf_state *v, const uint8_t *key, size_t key_len, const void *val, size_t len)
{
    uint8_t want[MERKLE_HASH_LEN];
    char hex[65];
    if (key_len != ID_LEN + MERKLE_HASH_LEN || len != 8) {
        vf_problem(v, "a root record is malformed");
        return 0;
    }
    uint64_t size = be64_get(val);
    merkle_hex(key + ID_LEN, hex);
    if (size == 0) {
        vf_problem(v, "root record %s: size 0", hex);
        return 0;
    }
    if (size > v->n)
        return 0; /* appended after this run started */
    vf_calc_root(v, size, want);
    if (memcmp(want, key + ID_LEN, MERKLE_HASH_LEN) != 0)
        vf_problem(v, "root record %s for size %llu does not match the events", hex, (unsigned long long)size);
    return 0;
}

/* Sizes from..to have no stored root although an earlier size has one. */
static void vf_roots_missing(vf_state *v, uint64_t from, uint64_t to)
{
    vf_problem(v, "the stored roots of sizes %llu..%llu are missing (deleted or zeroed; readers fold the tree there)",
               (unsigned long long)from, (unsigned long long)to);
}

/* One stored copy of the root of `size` against the recomputed one. */
static void vf_check_one_root(vf_state *v, uint64_t size, const uint8_t stored[MERKLE_HASH_LEN], const char *where)
{
    uint8_t want[MERKLE_HASH_LEN];
    vf_calc_root(v, size, want);
    if (memcmp(want, stored, MERKLE_HASH_LEN) != 0)
        vf_problem(v, "stored root of size %llu%s does not match the events", (unsigned long long)size, where);
}

/* The stored root of every size (stored_roots.h) against the recomputed
 * one: the queue's, and root_groups.db's in a store made before the
 * queues (read group by group: a hash database is read by key, not
 * scanned). Roots are stored from the first append on, or, in a store
 * made before they were kept, from the first append after the upgrade:
 * only sizes before the first stored one may lack a root (and sizes the
 * queue cannot number). A gap after it is reported. */
static int vf_check_stored_roots(vf_state *v)
{
    uint8_t group_roots[ROOT_GROUP_SIZES][MERKLE_HASH_LEN];
    size_t group_count = 0;
    bool group_malformed = false; /* reported as malformed, not again as missing */
    bool seen_stored = false;
    uint64_t gap_from = 0; /* first size of an open gap after a stored root, 0: none */
    DB *queue = NULL;
    int ret = stored_roots_queue(v->s, v->id, &queue);
    if (ret != 0)
        return ret;
    for (uint64_t size = 1; size <= v->n; size++) {
        uint64_t slot = (size - 1) % ROOT_GROUP_SIZES;
        if (slot == 0) {
            /* The legacy record of the group this size starts. */
            group_count = 0;
            group_malformed = false;
            ret = v->s->root_groups ? root_groups_get_group(v->s->root_groups, NULL, v->id,
                                                             (size - 1) / ROOT_GROUP_SIZES, group_roots,
                                                             &group_count)
                                    : DB_NOTFOUND;
            if (ret == EINVAL) {
                vf_problem(v, "the stored roots of sizes %llu..%llu in root_groups.db are malformed",
                           (unsigned long long)size, (unsigned long long)(size + ROOT_GROUP_SIZES - 1));
                group_count = 0;
                group_malformed = true;
            } else if (ret != 0 && ret != DB_NOTFOUND) {
                return ret;
            }
        }
        bool stored = group_malformed;
        uint8_t root[MERKLE_HASH_LEN];
        ret = stored_roots_queue_get(queue, NULL, size, root);
        if (ret != 0 && ret != DB_NOTFOUND)
            return ret;
        if (ret == 0) {
            vf_check_one_root(v, size, root, "");
            stored = true;
        }
        if (slot < group_count && root_groups_slot_stored(group_roots[slot])) {
            vf_check_one_root(v, size, group_roots[slot], " in root_groups.db");
            stored = true;
        }
        if (!stored && size <= STORED_ROOTS_MAX_SIZE) {
            if (seen_stored && !gap_from)
                gap_from = size;
            continue;
        }
        if (gap_from)
            vf_roots_missing(v, gap_from, size - 1);
        gap_from = 0;
        seen_stored = seen_stored || stored;
    }
    if (gap_from)
        vf_roots_missing(v, gap_from, v->n);
    return 0;
}

static int vf_signature_ok(vf_state *v, const sv_value *doc, const char *sig_text)
{
    sv_value *part = sv_object();
    sbuf b = {0};
    unsigned char sig[66];
    int ok = 0;
    EVP_MD_CTX *md = NULL;
    const sv_value *size = sv_object_get(doc, "size");
    const char *at = sv_object_get_str(doc, "published_at"), *root = sv_object_get_str(doc, "root_hash"),
               *name = sv_object_get_str(doc, "tree_name");
    if (!part || !v->pub || !size || !sv_is(size, SV_INT) || !at || !root || !name || strlen(sig_text) != 88 ||
        strcmp(sig_text + 86, "==") != 0)
        goto out;
    if (sv_object_set_str(part, "published_at", at) != 0 || sv_object_set_str(part, "root_hash", root) != 0 ||
        sv_object_set_int(part, "size", size->u.i) != 0 || sv_object_set_str(part, "tree_name", name) != 0 ||
        codec_canonical_json(&b, part) != 0 || b.oom)
        goto out;
    if (EVP_DecodeBlock(sig, (const unsigned char *)sig_text, 88) != 66)
        goto out;
    md = EVP_MD_CTX_new();
    ok = md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, v->pub) == 1 &&
         EVP_DigestVerify(md, sig, 64, (const unsigned char *)b.data, b.len) == 1;
out:
    EVP_MD_CTX_free(md);
    sbuf_free(&b);
    sv_free(part);
    return ok;
}

static void vf_check_proof(vf_state *v, vf_chain *ch, uint64_t size, const sv_value *proof,
                           const uint8_t root[MERKLE_HASH_LEN])
{
    if (ch->prev_size == 0) {
        if (proof)
            vf_problem(v, "checkpoint %llu: the first checkpoint carries a consistency proof",
                       (unsigned long long)size);
        return;
    }
    if (!proof || !sv_is(proof, SV_ARRAY) || proof->u.arr.count == 0) {
        vf_problem(v, "checkpoint %llu: consistency proof from %llu is missing", (unsigned long long)size,
                   (unsigned long long)ch->prev_size);
        return;
    }
    size_t count = proof->u.arr.count;
    const char **items = calloc(count, sizeof *items);
    if (!items) {
        vf_problem(v, "checkpoint %llu: out of memory checking its proof", (unsigned long long)size);
        return;
    }
    int ok = 1;
    for (size_t i = 0; i < count; i++) {
        if (!sv_is(proof->u.arr.items[i], SV_STRING))
            ok = 0;
        else
            items[i] = proof->u.arr.items[i]->u.s.ptr;
    }
    if (!ok || merkle_verify_consistency_text(items, count, ch->prev_root, root) != 1)
        vf_problem(v, "checkpoint %llu: consistency proof from %llu does not verify", (unsigned long long)size,
                   (unsigned long long)ch->prev_size);
    free(items);
}

static int vf_checkpoint(vf_state *v, const uint8_t *key, size_t key_len, const void *val, size_t len)
{
    vf_chain *ch = &v->chain;
    sv_value *doc = NULL;
    salog_err derr;
    uint8_t root[MERKLE_HASH_LEN];
    char hex[65];
    if (key_len != ID_LEN + 8) {
        vf_problem(v, "a checkpoint record is malformed");
        return 0;
    }
    uint64_t size = be64_get(key + ID_LEN);
    if (size > v->n) {
        if (size > ch->limit)
            vf_problem(v, "checkpoint %llu: beyond the tree size %llu", (unsigned long long)size,
                       (unsigned long long)ch->limit);
        return 0;
    }
    if (size == 0) {
        vf_problem(v, "checkpoint 0: a checkpoint of the empty tree");
        return 0;
    }
    vf_calc_root(v, size, root);
    merkle_hex(root, hex);
    salog_err_init(&derr);
    if (codec_json_decode(&doc, val, len, STORE_JSON_MAX_DEPTH, &derr) != SALOG_OK || !doc ||
        !sv_is(doc, SV_OBJECT)) {
        vf_problem(v, "checkpoint %llu: unreadable", (unsigned long long)size);
        goto out;
    }
    const sv_value *dsize = sv_object_get(doc, "size");
    const char *name = sv_object_get_str(doc, "tree_name"), *rh = sv_object_get_str(doc, "root_hash"),
               *sig = sv_object_get_str(doc, "signature"), *pk = sv_object_get_str(doc, "public_key");
    if (!dsize || !sv_is(dsize, SV_INT) || (uint64_t)dsize->u.i != size)
        vf_problem(v, "checkpoint %llu: its size member differs from its key", (unsigned long long)size);
    if (!name || strcmp(name, v->tree_name) != 0)
        vf_problem(v, "checkpoint %llu: wrong tree_name", (unsigned long long)size);
    if (!rh || strcmp(rh, hex) != 0)
        vf_problem(v, "checkpoint %llu: root_hash does not match the events", (unsigned long long)size);
    if (!sig || !vf_signature_ok(v, doc, sig))
        vf_problem(v, "checkpoint %llu: signature does not verify with the server key", (unsigned long long)size);
    if (!pk || !v->pub_text || strcmp(pk, v->pub_text) != 0)
        vf_problem(v, "checkpoint %llu: public_key is not the server key", (unsigned long long)size);
    vf_check_proof(v, ch, size, sv_object_get(doc, "consistency_proof"), root);
out:
    ch->prev_size = size;
    memcpy(ch->prev_root, root, MERKLE_HASH_LEN);
    sv_free(doc);
    return 0;
}

/* Loads the server public key and its JSON text. Without a key the run
 * goes on: each checkpoint then reports its signature. */
static void vf_load_key(vf_state *v)
{
    char *pem = NULL;
    salog_err kerr;
    salog_err_init(&kerr);
    if (server_key_public_pem(store_data_dir(v->s), &pem, &kerr) != SALOG_OK)
        return; /* every checkpoint's signature is then reported */
    BIO *bio = BIO_new_mem_buf(pem, -1);
    v->pub = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    sv_value *obj = sv_object();
    sbuf b = {0};
    if (obj && sv_object_set_str(obj, "algorithm", "ED25519") == 0 && sv_object_set_str(obj, "key", pem) == 0 &&
        codec_canonical_json(&b, obj) == 0 && !b.oom)
        v->pub_text = strdup(sbuf_cstr(&b));
    sbuf_free(&b);
    sv_free(obj);
    free(pem);
}

salog_status auditlog_verify(store *s, const char *config_id, FILE *report, uint64_t *problems,
                             salog_err *err)
{
    vf_state run;
    vf_state *v = &run;
    salog_status st = SALOG_OK;
    int ret = 0;
    memset(&run, 0, sizeof run);
    *problems = 0;
    v->s = s;
    v->id = config_id;
    v->report = report;
    if ((st = auditlog_size(s, config_id, &v->n, err)) != SALOG_OK)
        return st;
    DB *bottom = NULL;
    ret = tree_queue_open(s, config_id, TREE_QUEUE_TILES, &bottom);
    if (ret != 0)
        goto dberr;
    tile_reader_init(&v->tiles, bottom, s->tiles, s->tile_edges, NULL, config_id, NULL, v->n);
    auditlog_tree_name(config_id, v->tree_name);
    if (v->n > SIZE_MAX / (2 * MERKLE_HASH_LEN)) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "tree too large to verify");
        goto out;
    }
    for (unsigned l = 0; l < MERKLE_MAX_LEVELS && (v->n >> l) > 0; l++) {
        v->calc[l] = malloc((size_t)(v->n >> l) * MERKLE_HASH_LEN);
        if (!v->calc[l]) {
            st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
            goto out;
        }
        v->levels = l + 1;
    }
    vf_load_key(v);
    if ((ret = vf_check_events(v)) != 0 || (ret = vf_check_nodes(v)) != 0 || (ret = vf_check_tile_shape(v)) != 0)
        goto dberr;
    if (v->n > 0) {
        uint8_t stored[MERKLE_HASH_LEN], calc[MERKLE_HASH_LEN];
        vf_calc_root(v, v->n, calc);
        ret = merkle_root(vf_read_node, v, v->n, stored);
        if (ret == EINVAL)
            vf_problem(v, "root of size %llu: stored nodes are missing", (unsigned long long)v->n);
        else if (ret != 0)
            goto dberr;
        else if (memcmp(stored, calc, MERKLE_HASH_LEN) != 0)
            vf_problem(v, "root of size %llu: the stored nodes and the events disagree", (unsigned long long)v->n);
        ret = 0;
    }
    if ((ret = vf_scan_prefix(v, s->roots, vf_root_record)) != 0 ||
        (ret = vf_check_stored_roots(v)) != 0)
        goto dberr;
    if ((st = auditlog_size(s, config_id, &run.chain.limit, err)) != SALOG_OK)
        goto out;
    if ((ret = vf_scan_prefix(v, s->checkpoints, vf_checkpoint)) != 0)
        goto dberr;
    goto out;
dberr:
    st = store_db_error(s, ret, "verifying the log", err);
out:
    *problems = v->problems;
    for (unsigned l = 0; l < v->levels; l++)
        free(v->calc[l]);
    EVP_PKEY_free(v->pub);
    free(v->pub_text);
    return st;
}
