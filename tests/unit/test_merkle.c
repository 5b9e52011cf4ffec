/* model/merkle.c checked three ways: the shared vectors, a naive recursive
 * reference written from the RFC 6962 definitions, and properties (every
 * proof verifies, every single-bit mutation fails). An in-memory node store
 * built with merkle_append_nodes feeds it through a counting reader. */
#include "model/merkle.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <json.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_EMISSING (-5)

/* ---- in-memory node store ---------------------------------------------- */

typedef struct test_store {
    uint8_t (*nodes[MERKLE_MAX_LEVELS])[MERKLE_HASH_LEN];
    uint64_t len[MERKLE_MAX_LEVELS];
    uint64_t cap[MERKLE_MAX_LEVELS];
    uint64_t size;   /* leaves appended */
    uint64_t limit;  /* reads must stay inside the tree of this size */
    uint64_t reads;
} test_store;

/* Counts reads and refuses nodes outside the tree of size `limit`, so a
 * function that peeks beyond its tree fails loudly. */
static int store_read(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
    test_store *s = ctx;

    s->reads++;
    if (level >= MERKLE_MAX_LEVELS || index >= s->len[level])
        return TEST_EMISSING;
    if (((index + 1) << level) > s->limit)
        return TEST_EMISSING;
    memcpy(out, s->nodes[level][index], MERKLE_HASH_LEN);
    return 0;
}

static void store_put(test_store *s, const merkle_new_node *nd)
{
    unsigned l = nd->level;

    cr_assert_lt(l, MERKLE_MAX_LEVELS);
    cr_assert_eq(nd->index, s->len[l], "node (%u,%llu) out of order", l, (unsigned long long)nd->index);
    if (s->len[l] == s->cap[l]) {
        uint64_t cap = s->cap[l] ? s->cap[l] * 2 : 16;
        void *p = realloc(s->nodes[l], cap * MERKLE_HASH_LEN);

        cr_assert_not_null(p);
        s->nodes[l] = p;
        s->cap[l] = cap;
    }
    memcpy(s->nodes[l][s->len[l]++], nd->hash, MERKLE_HASH_LEN);
}

/* Appends one leaf; returns the reads the append made. */
static uint64_t store_append(test_store *s, const uint8_t leaf[MERKLE_HASH_LEN])
{
    merkle_new_node out[MERKLE_MAX_LEVELS + 1];
    size_t count = 0;
    uint64_t before = s->reads;

    s->limit = s->size;
    cr_assert_eq(merkle_append_nodes(store_read, s, s->size, leaf, out, &count), 0);
    cr_assert_geq(count, 1);
    cr_assert_eq(out[0].level, 0);
    cr_assert_eq(out[0].index, s->size);
    for (size_t i = 0; i < count; i++)
        store_put(s, &out[i]);
    s->size++;
    return s->reads - before;
}

static void store_free(test_store *s)
{
    for (unsigned l = 0; l < MERKLE_MAX_LEVELS; l++)
        free(s->nodes[l]);
    memset(s, 0, sizeof *s);
}

static void leaf_of_number(uint64_t i, uint8_t out[MERKLE_HASH_LEN])
{
    char text[32];
    int len = snprintf(text, sizeof text, "%llu", (unsigned long long)i);

    SHA256((const unsigned char *)text, (size_t)len, out);
}

static void store_build_numbers(test_store *s, uint64_t n)
{
    uint8_t leaf[MERKLE_HASH_LEN];

    for (uint64_t i = 0; i < n; i++) {
        leaf_of_number(i, leaf);
        store_append(s, leaf);
    }
}

/* Calls with the reader limited to the tree of size n. */
static int store_root(test_store *s, uint64_t n, uint8_t out[MERKLE_HASH_LEN])
{
    s->limit = n;
    return merkle_root(store_read, s, n, out);
}

static int store_membership(test_store *s, uint64_t index, uint64_t n, merkle_step *steps, size_t *count)
{
    s->limit = n;
    return merkle_membership_proof(store_read, s, index, n, steps, count);
}

static int store_consistency(test_store *s, uint64_t m, uint64_t n, merkle_consistency_item *items,
                             size_t *count)
{
    s->limit = n;
    return merkle_consistency_proof(store_read, s, m, n, items, count);
}

/* ---- text helpers -------------------------------------------------------- */

#define PATH_TEXT_MAX (MERKLE_MAX_LEVELS * 67 + 1)
#define ITEM_TEXT_MAX (67 + PATH_TEXT_MAX)

typedef struct proof_text {
    size_t count;
    char item[MERKLE_MAX_LEVELS][ITEM_TEXT_MAX];
    const char *ptr[MERKLE_MAX_LEVELS];
} proof_text;

static void format_consistency(const merkle_consistency_item *items, size_t count, proof_text *pt)
{
    pt->count = count;
    for (size_t i = 0; i < count; i++) {
        size_t len = merkle_format_consistency_item(&items[i], pt->item[i]);
        cr_assert_eq(len, strlen(pt->item[i]));
        pt->ptr[i] = pt->item[i];
        if (i == 0)
            continue;
        /* The text copied from the first item's is the same text. */
        char copied[ITEM_TEXT_MAX];
        memset(copied, '#', sizeof copied);
        len = merkle_format_consistency_item_after(&items[i], &items[0], pt->item[0], strlen(pt->item[0]), copied);
        cr_assert_str_eq(copied, pt->item[i], "item %zu", i);
        cr_assert_eq(len, strlen(copied));
        /* An item whose later steps are not the first one's is encoded whole. */
        if (items[i].step_count > 1) {
            merkle_consistency_item other = items[i];
            char whole[ITEM_TEXT_MAX];
            other.steps[other.step_count - 1].hash[0] ^= 1;
            merkle_format_consistency_item(&other, whole);
            len = merkle_format_consistency_item_after(&other, &items[0], pt->item[0], strlen(pt->item[0]), copied);
            cr_assert_str_eq(copied, whole, "changed item %zu", i);
            cr_assert_eq(len, strlen(whole));
        }
    }
}

static void unhex_or_fail(const char *hex, uint8_t out[MERKLE_HASH_LEN])
{
    cr_assert_eq(merkle_unhex(hex, out), 0, "bad hex %s", hex);
}

/* ---- vectors ------------------------------------------------------------- */

static json_object *vectors_load(const char *file)
{
    const char *dir = getenv("SALOG_VECTORS_DIR");
    char path[1024];
    json_object *root;

    if (!dir || !*dir)
        dir = "../shared/vectors";
    snprintf(path, sizeof path, "%s/%s", dir, file);
    root = json_object_from_file(path);
    cr_assert_not_null(root, "cannot load %s", path);
    return root;
}

static json_object *jget(json_object *o, const char *key)
{
    json_object *v = NULL;

    cr_assert(json_object_object_get_ex(o, key, &v), "missing key %s", key);
    return v;
}

static uint64_t jint(json_object *o, const char *key)
{
    return (uint64_t)json_object_get_int64(jget(o, key));
}

static const char *jstr(json_object *o, const char *key)
{
    return json_object_get_string(jget(o, key));
}

/* Checks roots, membership and consistency lists of a vector file against
 * a store that holds at least every size they mention. */
static void check_vector_lists(test_store *s, json_object *doc, int has_roots_in_proofs)
{
    json_object *roots = jget(doc, "roots"), *mem = jget(doc, "membership"),
                *con = jget(doc, "consistency");
    merkle_step steps[MERKLE_MAX_LEVELS];
    merkle_consistency_item *items = calloc(MERKLE_MAX_LEVELS, sizeof *items);
    proof_text *pt = calloc(1, sizeof *pt);
    char text[PATH_TEXT_MAX], hex[65];
    uint8_t h[MERKLE_HASH_LEN];
    size_t count;

    cr_assert_not_null(items);
    cr_assert_not_null(pt);
    for (size_t i = 0; i < json_object_array_length(roots); i++) {
        json_object *r = json_object_array_get_idx(roots, i);

        cr_assert_eq(store_root(s, jint(r, "size"), h), 0);
        merkle_hex(h, hex);
        cr_assert_str_eq(hex, jstr(r, "root"), "root of size %llu", (unsigned long long)jint(r, "size"));
    }
    for (size_t i = 0; i < json_object_array_length(mem); i++) {
        json_object *m = json_object_array_get_idx(mem, i);
        uint64_t index = jint(m, "index"), size = jint(m, "size");

        cr_assert_eq(store_membership(s, index, size, steps, &count), 0);
        merkle_format_path(steps, count, text);
        cr_assert_str_eq(text, jstr(m, "proof"), "membership %llu/%llu", (unsigned long long)index,
                         (unsigned long long)size);
        if (has_roots_in_proofs) {
            uint8_t leaf[MERKLE_HASH_LEN], root[MERKLE_HASH_LEN];

            leaf_of_number(index, leaf);
            merkle_hex(leaf, hex);
            cr_assert_str_eq(hex, jstr(m, "leaf"));
            cr_assert_eq(store_root(s, size, root), 0);
            merkle_hex(root, hex);
            cr_assert_str_eq(hex, jstr(m, "root"));
            cr_assert(merkle_verify_membership_text(leaf, text, root));
        }
    }
    for (size_t i = 0; i < json_object_array_length(con); i++) {
        json_object *c = json_object_array_get_idx(con, i), *proof = jget(c, "proof");
        uint64_t m = jint(c, "old_size"), n = jint(c, "new_size");

        cr_assert_eq(store_consistency(s, m, n, items, &count), 0);
        format_consistency(items, count, pt);
        cr_assert_eq(count, json_object_array_length(proof), "consistency %llu->%llu",
                     (unsigned long long)m, (unsigned long long)n);
        for (size_t j = 0; j < count; j++)
            cr_assert_str_eq(pt->item[j], json_object_get_string(json_object_array_get_idx(proof, j)),
                             "consistency %llu->%llu item %zu", (unsigned long long)m,
                             (unsigned long long)n, j);
        if (has_roots_in_proofs) {
            uint8_t old_root[MERKLE_HASH_LEN], new_root[MERKLE_HASH_LEN];

            unhex_or_fail(jstr(c, "old_root"), old_root);
            unhex_or_fail(jstr(c, "new_root"), new_root);
            cr_assert_eq(store_root(s, m, h), 0);
            cr_assert_eq(memcmp(h, old_root, MERKLE_HASH_LEN), 0);
            cr_assert_eq(store_root(s, n, h), 0);
            cr_assert_eq(memcmp(h, new_root, MERKLE_HASH_LEN), 0);
            cr_assert(merkle_verify_consistency_text(pt->ptr, count, old_root, new_root));
        }
    }
    free(items);
    free(pt);
}

Test(merkle_vectors, tree_json)
{
    json_object *doc = vectors_load("tree.json"), *leaves = jget(doc, "leaves");
    test_store s = {0};
    uint8_t leaf[MERKLE_HASH_LEN];

    cr_assert_eq(json_object_array_length(leaves), 40);
    for (size_t i = 0; i < json_object_array_length(leaves); i++) {
        unhex_or_fail(json_object_get_string(json_object_array_get_idx(leaves, i)), leaf);
        store_append(&s, leaf);
    }
    cr_assert_eq(json_object_array_length(jget(doc, "roots")), 40);
    cr_assert_eq(json_object_array_length(jget(doc, "membership")), 820);
    cr_assert_eq(json_object_array_length(jget(doc, "consistency")), 780);
    check_vector_lists(&s, doc, 0);
    store_free(&s);
    json_object_put(doc);
}

Test(merkle_vectors, tree_json_invalid_verdicts)
{
    json_object *doc = vectors_load("tree.json");
    json_object *mi = jget(doc, "membership_invalid"), *ci = jget(doc, "consistency_invalid");
    uint8_t leaf[MERKLE_HASH_LEN], root[MERKLE_HASH_LEN], old_root[MERKLE_HASH_LEN];

    cr_assert_gt(json_object_array_length(mi), 0);
    cr_assert_gt(json_object_array_length(ci), 0);
    for (size_t i = 0; i < json_object_array_length(mi); i++) {
        json_object *c = json_object_array_get_idx(mi, i);
        int want = json_object_get_boolean(jget(c, "sdk_accepts"));

        unhex_or_fail(jstr(c, "leaf"), leaf);
        unhex_or_fail(jstr(c, "root"), root);
        cr_assert_eq(merkle_verify_membership_text(leaf, jstr(c, "proof"), root), want, "case %s",
                     jstr(c, "name"));
    }
    for (size_t i = 0; i < json_object_array_length(ci); i++) {
        json_object *c = json_object_array_get_idx(ci, i), *proof = jget(c, "proof");
        int want = json_object_get_boolean(jget(c, "sdk_accepts"));
        size_t n = json_object_array_length(proof);
        const char *ptrs[MERKLE_MAX_LEVELS];

        cr_assert_leq(n, MERKLE_MAX_LEVELS);
        for (size_t j = 0; j < n; j++)
            ptrs[j] = json_object_get_string(json_object_array_get_idx(proof, j));
        unhex_or_fail(jstr(c, "old_root"), old_root);
        unhex_or_fail(jstr(c, "new_root"), root);
        cr_assert_eq(merkle_verify_consistency_text(ptrs, n, old_root, root), want, "case %s",
                     jstr(c, "name"));
    }
    json_object_put(doc);
}

Test(merkle_vectors, big_tree_json)
{
    json_object *doc = vectors_load("big_tree.json");
    json_object *samples = jget(doc, "sample_leaves");
    test_store s = {0};
    uint8_t leaf[MERKLE_HASH_LEN];
    char hex[65];

    for (size_t i = 0; i < json_object_array_length(samples); i++) {
        json_object *e = json_object_array_get_idx(samples, i);

        leaf_of_number(jint(e, "index"), leaf);
        merkle_hex(leaf, hex);
        cr_assert_str_eq(hex, jstr(e, "leaf"));
    }
    store_build_numbers(&s, 1025);
    cr_assert_eq(json_object_array_length(jget(doc, "roots")), 26);
    check_vector_lists(&s, doc, 1);
    store_free(&s);
    json_object_put(doc);
}

/* ---- naive reference (RFC 6962 definitions, recursive) ------------------ */

#define REF_MAX 300

typedef struct ref_tree {
    uint8_t leaves[REF_MAX][MERKLE_HASH_LEN];
    /* MTH(D[lo:hi]) memo: it does not depend on the tree size. */
    uint8_t memo[REF_MAX + 1][REF_MAX + 1][MERKLE_HASH_LEN];
    unsigned char have[REF_MAX + 1][REF_MAX + 1];
} ref_tree;

static size_t ref_split(size_t n)
{
    size_t k = 1;

    while (k * 2 < n)
        k *= 2;
    return k;
}

static void ref_mth(ref_tree *t, size_t lo, size_t hi, uint8_t out[MERKLE_HASH_LEN])
{
    if (!t->have[lo][hi]) {
        if (hi - lo == 1) {
            memcpy(t->memo[lo][hi], t->leaves[lo], MERKLE_HASH_LEN);
        } else {
            size_t k = ref_split(hi - lo);
            uint8_t a[MERKLE_HASH_LEN], b[MERKLE_HASH_LEN], buf[2 * MERKLE_HASH_LEN];

            ref_mth(t, lo, lo + k, a);
            ref_mth(t, lo + k, hi, b);
            memcpy(buf, a, MERKLE_HASH_LEN);
            memcpy(buf + MERKLE_HASH_LEN, b, MERKLE_HASH_LEN);
            SHA256(buf, sizeof buf, t->memo[lo][hi]);
        }
        t->have[lo][hi] = 1;
    }
    memcpy(out, t->memo[lo][hi], MERKLE_HASH_LEN);
}

/* PATH of the node D[o:o+size] within D[lo:hi], leaf level first. */
static void ref_path(ref_tree *t, size_t lo, size_t hi, size_t o, size_t size, merkle_step *steps,
                     size_t *count)
{
    size_t k;

    if (hi - lo == size) {
        cr_assert_eq(lo, o);
        return;
    }
    k = ref_split(hi - lo);
    if (o < lo + k) {
        ref_path(t, lo, lo + k, o, size, steps, count);
        steps[*count].side = 'r';
        ref_mth(t, lo + k, hi, steps[*count].hash);
    } else {
        ref_path(t, lo + k, hi, o, size, steps, count);
        steps[*count].side = 'l';
        ref_mth(t, lo, lo + k, steps[*count].hash);
    }
    (*count)++;
}

/* The consistency format straight from its description: the old tree's
 * perfect subtrees from offset 0, listed smallest first. */
static size_t ref_consistency(ref_tree *t, size_t m, size_t n, merkle_consistency_item *items)
{
    size_t offs[MERKLE_MAX_LEVELS], sizes[MERKLE_MAX_LEVELS], p = 0, o = 0;

    for (int b = 62; b >= 0; b--) {
        if ((m >> b) & 1u) {
            offs[p] = o;
            sizes[p] = (size_t)1 << b;
            o += sizes[p];
            p++;
        }
    }
    for (size_t j = 0; j < p; j++) {
        merkle_consistency_item *it = &items[j];
        size_t src = p - 1 - j;

        ref_mth(t, offs[src], offs[src] + sizes[src], it->subtree_root);
        it->step_count = 0;
        ref_path(t, 0, n, offs[src], sizes[src], it->steps, &it->step_count);
    }
    return p;
}

static void assert_steps_equal(const merkle_step *a, size_t na, const merkle_step *b, size_t nb,
                               const char *what, size_t x, size_t y)
{
    cr_assert_eq(na, nb, "%s %zu/%zu: length %zu vs %zu", what, x, y, na, nb);
    for (size_t i = 0; i < na; i++) {
        cr_assert_eq(a[i].side, b[i].side, "%s %zu/%zu step %zu side", what, x, y, i);
        cr_assert_eq(memcmp(a[i].hash, b[i].hash, MERKLE_HASH_LEN), 0, "%s %zu/%zu step %zu hash",
                     what, x, y, i);
    }
}

Test(merkle_reference, agrees_with_naive_rfc6962)
{
    ref_tree *t = calloc(1, sizeof *t);
    merkle_consistency_item *got = calloc(MERKLE_MAX_LEVELS, sizeof *got);
    merkle_consistency_item *want = calloc(MERKLE_MAX_LEVELS, sizeof *want);
    merkle_step steps[MERKLE_MAX_LEVELS], ref_steps[MERKLE_MAX_LEVELS];
    test_store s = {0};
    uint8_t h[MERKLE_HASH_LEN], r[MERKLE_HASH_LEN];
    size_t count, ref_count, pairs = 0;

    cr_assert(t && got && want);
    for (size_t i = 0; i < REF_MAX; i++) {
        leaf_of_number(i, t->leaves[i]);
        store_append(&s, t->leaves[i]);
    }
    for (size_t n = 1; n <= REF_MAX; n++) {
        cr_assert_eq(store_root(&s, n, h), 0);
        ref_mth(t, 0, n, r);
        cr_assert_eq(memcmp(h, r, MERKLE_HASH_LEN), 0, "root %zu", n);
    }
    for (size_t n = 1; n <= 130; n++) {
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(store_membership(&s, i, n, steps, &count), 0);
            ref_count = 0;
            ref_path(t, 0, n, i, 1, ref_steps, &ref_count);
            assert_steps_equal(steps, count, ref_steps, ref_count, "membership", i, n);
        }
        for (size_t m = 1; m < n; m++) {
            size_t want_count = ref_consistency(t, m, n, want);

            cr_assert_eq(store_consistency(&s, m, n, got, &count), 0);
            cr_assert_eq(count, want_count, "consistency %zu->%zu count", m, n);
            for (size_t j = 0; j < count; j++) {
                cr_assert_eq(memcmp(got[j].subtree_root, want[j].subtree_root, MERKLE_HASH_LEN), 0,
                             "consistency %zu->%zu item %zu root", m, n, j);
                assert_steps_equal(got[j].steps, got[j].step_count, want[j].steps,
                                   want[j].step_count, "consistency", m, n);
            }
            pairs++;
        }
    }
    cr_assert_eq(pairs, 130 * 129 / 2);
    store_free(&s);
    free(t);
    free(got);
    free(want);
}

/* ---- properties ---------------------------------------------------------- */

static const size_t property_sizes[] = {1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 21, 31, 32, 33, 47, 64, 65, 70};

static void flip_bit(uint8_t h[MERKLE_HASH_LEN], unsigned bit)
{
    h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

Test(merkle_properties, membership_verifies_and_mutations_fail)
{
    test_store s = {0};
    merkle_step steps[MERKLE_MAX_LEVELS];
    char text[PATH_TEXT_MAX];
    uint8_t leaf[MERKLE_HASH_LEN], root[MERKLE_HASH_LEN], h[MERKLE_HASH_LEN];
    size_t count, checked = 0;

    store_build_numbers(&s, 70);
    for (size_t si = 0; si < sizeof property_sizes / sizeof property_sizes[0]; si++) {
        size_t n = property_sizes[si];

        cr_assert_eq(store_root(&s, n, root), 0);
        for (size_t i = 0; i < n; i++) {
            /* All 256 bits of every step for a fifth of the leaves, every
             * 17th bit for the rest. */
            unsigned stride = (i % 5 == 0) ? 1 : 17;

            leaf_of_number(i, leaf);
            cr_assert_eq(store_membership(&s, i, n, steps, &count), 0);
            merkle_format_path(steps, count, text);
            cr_assert(merkle_verify_membership_text(leaf, text, root), "%zu/%zu", i, n);

            for (unsigned b = 0; b < 256; b++) {
                flip_bit(leaf, b);
                cr_assert_not(merkle_verify_membership_text(leaf, text, root));
                flip_bit(leaf, b);
                flip_bit(root, b);
                cr_assert_not(merkle_verify_membership_text(leaf, text, root));
                flip_bit(root, b);
            }
            for (size_t k = 0; k < count; k++) {
                for (unsigned b = 0; b < 256; b += stride) {
                    flip_bit(steps[k].hash, b);
                    merkle_format_path(steps, count, text);
                    cr_assert_not(merkle_verify_membership_text(leaf, text, root), "%zu/%zu step %zu bit %u",
                                  i, n, k, b);
                    flip_bit(steps[k].hash, b);
                    checked++;
                }
            }
            /* Swapping one side label fails unless the two children are equal. */
            memcpy(h, leaf, MERKLE_HASH_LEN);
            for (size_t k = 0; k < count; k++) {
                int same = memcmp(h, steps[k].hash, MERKLE_HASH_LEN) == 0;
                char side = steps[k].side;

                steps[k].side = side == 'l' ? 'r' : 'l';
                merkle_format_path(steps, count, text);
                if (!same)
                    cr_assert_not(merkle_verify_membership_text(leaf, text, root));
                steps[k].side = side;
                if (side == 'l')
                    merkle_hash_children(steps[k].hash, h, h);
                else
                    merkle_hash_children(h, steps[k].hash, h);
            }
            cr_assert_eq(memcmp(h, root, MERKLE_HASH_LEN), 0);
        }
    }
    cr_log_info("membership mutations checked: %zu", checked);
    store_free(&s);
}

Test(merkle_properties, consistency_verifies_and_mutations_fail)
{
    test_store s = {0};
    merkle_consistency_item *items = calloc(MERKLE_MAX_LEVELS, sizeof *items);
    proof_text *pt = calloc(1, sizeof *pt);
    uint8_t old_root[MERKLE_HASH_LEN], new_root[MERKLE_HASH_LEN];
    size_t count;

    cr_assert(items && pt);
    store_build_numbers(&s, 70);
    for (size_t si = 0; si < sizeof property_sizes / sizeof property_sizes[0]; si++) {
        size_t n = property_sizes[si];

        cr_assert_eq(store_root(&s, n, new_root), 0);
        for (size_t m = 1; m < n; m++) {
            /* All bits for the pair m = n - 1 and m = 1, every 29th bit otherwise. */
            unsigned stride = (m == n - 1 || m == 1) ? 1 : 29;

            cr_assert_eq(store_root(&s, m, old_root), 0);
            cr_assert_eq(store_consistency(&s, m, n, items, &count), 0);
            format_consistency(items, count, pt);
            cr_assert(merkle_verify_consistency_text(pt->ptr, count, old_root, new_root), "%zu->%zu", m, n);

            for (unsigned b = 0; b < 256; b++) {
                flip_bit(old_root, b);
                cr_assert_not(merkle_verify_consistency_text(pt->ptr, count, old_root, new_root));
                flip_bit(old_root, b);
                flip_bit(new_root, b);
                cr_assert_not(merkle_verify_consistency_text(pt->ptr, count, old_root, new_root));
                flip_bit(new_root, b);
            }
            for (size_t j = 0; j < count; j++) {
                merkle_consistency_item *it = &items[j];
                uint8_t h[MERKLE_HASH_LEN];

                for (unsigned b = 0; b < 256; b += stride) {
                    flip_bit(it->subtree_root, b);
                    format_consistency(items, count, pt);
                    cr_assert_not(merkle_verify_consistency_text(pt->ptr, count, old_root, new_root));
                    flip_bit(it->subtree_root, b);
                }
                for (size_t k = 0; k < it->step_count; k++) {
                    for (unsigned b = 0; b < 256; b += stride) {
                        flip_bit(it->steps[k].hash, b);
                        format_consistency(items, count, pt);
                        cr_assert_not(merkle_verify_consistency_text(pt->ptr, count, old_root, new_root),
                                      "%zu->%zu item %zu step %zu bit %u", m, n, j, k, b);
                        flip_bit(it->steps[k].hash, b);
                    }
                }
                memcpy(h, it->subtree_root, MERKLE_HASH_LEN);
                for (size_t k = 0; k < it->step_count; k++) {
                    int same = memcmp(h, it->steps[k].hash, MERKLE_HASH_LEN) == 0;
                    char side = it->steps[k].side;

                    it->steps[k].side = side == 'l' ? 'r' : 'l';
                    format_consistency(items, count, pt);
                    if (!same)
                        cr_assert_not(merkle_verify_consistency_text(pt->ptr, count, old_root, new_root));
                    it->steps[k].side = side;
                    if (side == 'l')
                        merkle_hash_children(it->steps[k].hash, h, h);
                    else
                        merkle_hash_children(h, it->steps[k].hash, h);
                }
            }
            /* Dropping any item, or reversing the order, fails too. */
            format_consistency(items, count, pt);
            if (count > 1) {
                cr_assert_not(merkle_verify_consistency_text(pt->ptr + 1, count - 1, old_root, new_root));
                cr_assert_not(merkle_verify_consistency_text(pt->ptr, count - 1, old_root, new_root));
            }
        }
    }
    free(items);
    free(pt);
    store_free(&s);
}

/* ---- logarithmic cost ---------------------------------------------------- */

static void check_costs(test_store *s, uint64_t n, const uint64_t *indexes, size_t n_indexes,
                        const uint64_t *olds, size_t n_olds)
{
    merkle_step steps[MERKLE_MAX_LEVELS];
    merkle_consistency_item *items = calloc(MERKLE_MAX_LEVELS, sizeof *items);
    proof_text *pt = calloc(1, sizeof *pt);
    char text[PATH_TEXT_MAX];
    uint8_t root[MERKLE_HASH_LEN], old_root[MERKLE_HASH_LEN], leaf[MERKLE_HASH_LEN];
    uint64_t before, max_mem = 0, max_con = 0, root_reads;
    size_t count;

    cr_assert(items && pt);
    before = s->reads;
    cr_assert_eq(store_root(s, n, root), 0);
    root_reads = s->reads - before;
    cr_assert_eq(root_reads, (uint64_t)__builtin_popcountll(n));

    for (size_t i = 0; i < n_indexes; i++) {
        uint64_t reads;

        before = s->reads;
        cr_assert_eq(store_membership(s, indexes[i], n, steps, &count), 0);
        reads = s->reads - before;
        cr_assert_leq(reads, 2 * 64, "membership %llu/%llu: %llu reads", (unsigned long long)indexes[i],
                      (unsigned long long)n, (unsigned long long)reads);
        if (reads > max_mem)
            max_mem = reads;
        leaf_of_number(indexes[i], leaf);
        merkle_format_path(steps, count, text);
        cr_assert(merkle_verify_membership_text(leaf, text, root));
    }
    for (size_t i = 0; i < n_olds; i++) {
        uint64_t reads;

        cr_assert_eq(store_root(s, olds[i], old_root), 0);
        before = s->reads;
        cr_assert_eq(store_consistency(s, olds[i], n, items, &count), 0);
        reads = s->reads - before;
        cr_assert_leq(reads, 2 * 64, "consistency %llu->%llu: %llu reads", (unsigned long long)olds[i],
                      (unsigned long long)n, (unsigned long long)reads);
        if (reads > max_con)
            max_con = reads;
        format_consistency(items, count, pt);
        cr_assert(merkle_verify_consistency_text(pt->ptr, count, old_root, root));
    }
    cr_log_info("n=%llu: root %llu reads, membership <= %llu reads, consistency <= %llu reads",
                (unsigned long long)n, (unsigned long long)root_reads, (unsigned long long)max_mem,
                (unsigned long long)max_con);
    free(items);
    free(pt);
}

Test(merkle_cost, logarithmic_reads, .timeout = 120)
{
    const uint64_t big = 1000000;
    const uint64_t idx_small[] = {0, 1, 499, 511, 512, 998, 999};
    const uint64_t old_small[] = {1, 2, 3, 100, 511, 512, 513, 999};
    const uint64_t idx_big[] = {0, 1, 123456, 500000, 524287, 524288, 999998, 999999};
    const uint64_t old_big[] = {1, 1000, 123457, 500000, 524287, 524288, 524289, 999999};
    test_store s = {0};
    uint8_t leaf[MERKLE_HASH_LEN];
    uint64_t max_append = 0;

    for (uint64_t i = 0; i < big; i++) {
        uint64_t reads;

        leaf_of_number(i, leaf);
        reads = store_append(&s, leaf);
        if (reads > max_append)
            max_append = reads;
    }
    cr_assert_leq(max_append, 64);
    cr_log_info("append: at most %llu reads", (unsigned long long)max_append);
    check_costs(&s, 1000, idx_small, sizeof idx_small / sizeof idx_small[0], old_small,
                sizeof old_small / sizeof old_small[0]);
    check_costs(&s, big, idx_big, sizeof idx_big / sizeof idx_big[0], old_big,
                sizeof old_big / sizeof old_big[0]);
    /* Also a smaller tree inside the big store: 999,999 = many 1-bits. */
    check_costs(&s, 999999, idx_big, 6, old_big, 5);
    store_free(&s);
}

/* ---- bad input ----------------------------------------------------------- */

static int failing_reader(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
    (void)ctx;
    (void)level;
    (void)index;
    memset(out, 0, MERKLE_HASH_LEN);
    return 42;
}

Test(merkle_input, invalid_sizes_and_reader_errors)
{
    test_store s = {0};
    merkle_step steps[MERKLE_MAX_LEVELS];
    merkle_consistency_item *items = calloc(MERKLE_MAX_LEVELS, sizeof *items);
    merkle_new_node nodes[MERKLE_MAX_LEVELS + 1];
    uint8_t h[MERKLE_HASH_LEN] = {0};
    size_t count;

    cr_assert_not_null(items);
    store_build_numbers(&s, 8);
    cr_assert_eq(store_root(&s, 0, h), MERKLE_EINVAL);
    cr_assert_eq(store_membership(&s, 0, 0, steps, &count), MERKLE_EINVAL);
    cr_assert_eq(store_membership(&s, 5, 5, steps, &count), MERKLE_EINVAL);
    cr_assert_eq(store_membership(&s, 9, 5, steps, &count), MERKLE_EINVAL);
    cr_assert_eq(store_consistency(&s, 0, 5, items, &count), MERKLE_EINVAL);
    cr_assert_eq(store_consistency(&s, 5, 5, items, &count), MERKLE_EINVAL);
    cr_assert_eq(store_consistency(&s, 6, 5, items, &count), MERKLE_EINVAL);
    cr_assert_eq(merkle_append_nodes(store_read, &s, UINT64_MAX, h, nodes, &count), MERKLE_EINVAL);

    /* Size 1: empty proof. */
    cr_assert_eq(store_membership(&s, 0, 1, steps, &count), 0);
    cr_assert_eq(count, 0);

    /* A reader error comes back unchanged. */
    cr_assert_eq(merkle_root(failing_reader, NULL, 5, h), 42);
    cr_assert_eq(merkle_membership_proof(failing_reader, NULL, 2, 5, steps, &count), 42);
    cr_assert_eq(merkle_consistency_proof(failing_reader, NULL, 3, 5, items, &count), 42);
    cr_assert_eq(merkle_append_nodes(failing_reader, NULL, 1, h, nodes, &count), 42);
    /* Appending leaf 0 or any even leaf needs no read. */
    cr_assert_eq(merkle_append_nodes(failing_reader, NULL, 0, h, nodes, &count), 0);
    cr_assert_eq(count, 1);
    cr_assert_eq(merkle_append_nodes(failing_reader, NULL, 6, h, nodes, &count), 0);
    cr_assert_eq(count, 1);

    /* Reads beyond the store (a store missing nodes) come back as errors. */
    cr_assert_eq(store_root(&s, 9, h), TEST_EMISSING);
    free(items);
    store_free(&s);
}

Test(merkle_input, hex_helpers)
{
    uint8_t h[MERKLE_HASH_LEN], back[MERKLE_HASH_LEN];
    char hex[65], upper[65];

    for (size_t i = 0; i < MERKLE_HASH_LEN; i++)
        h[i] = (uint8_t)(i * 37 + 5);
    merkle_hex(h, hex);
    cr_assert_eq(strlen(hex), 64);
    cr_assert_eq(merkle_unhex(hex, back), 0);
    cr_assert_eq(memcmp(h, back, MERKLE_HASH_LEN), 0);
    for (size_t i = 0; i < 65; i++)
        upper[i] = (char)((hex[i] >= 'a' && hex[i] <= 'f') ? hex[i] - 32 : hex[i]);
    cr_assert_eq(merkle_unhex(upper, back), 0);
    cr_assert_eq(memcmp(h, back, MERKLE_HASH_LEN), 0);

    cr_assert_eq(merkle_unhex("", back), -1);
    cr_assert_eq(merkle_unhex(NULL, back), -1);
    hex[63] = '\0';
    cr_assert_eq(merkle_unhex(hex, back), -1);
    hex[63] = 'g';
    cr_assert_eq(merkle_unhex(hex, back), -1);
    {
        char longer[70];

        merkle_hex(h, longer);
        strcat(longer, "00");
        cr_assert_eq(merkle_unhex(longer, back), -1);
    }
}

Test(merkle_input, malformed_proof_text_is_rejected)
{
    test_store s = {0};
    merkle_step steps[MERKLE_MAX_LEVELS];
    char good[PATH_TEXT_MAX], bad[PATH_TEXT_MAX + 8], item[ITEM_TEXT_MAX + 8];
    uint8_t leaf[MERKLE_HASH_LEN], root[MERKLE_HASH_LEN], old_root[MERKLE_HASH_LEN];
    merkle_consistency_item *items = calloc(MERKLE_MAX_LEVELS, sizeof *items);
    size_t count, len;
    const char *ptrs[2];

    cr_assert_not_null(items);
    store_build_numbers(&s, 5);
    leaf_of_number(2, leaf);
    cr_assert_eq(store_root(&s, 5, root), 0);
    cr_assert_eq(store_membership(&s, 2, 5, steps, &count), 0);
    merkle_format_path(steps, count, good);
    cr_assert(merkle_verify_membership_text(leaf, good, root));
    len = strlen(good);

    cr_assert_not(merkle_verify_membership_text(leaf, NULL, root));
    cr_assert_not(merkle_verify_membership_text(leaf, "", root));
    cr_assert_not(merkle_verify_membership_text(leaf, ",", root));
    cr_assert_not(merkle_verify_membership_text(leaf, ":", root));
    cr_assert_not(merkle_verify_membership_text(leaf, "l:", root));
    cr_assert_not(merkle_verify_membership_text(leaf, "l:zz", root));
    snprintf(bad, sizeof bad, "%s,", good);
    cr_assert_not(merkle_verify_membership_text(leaf, bad, root));
    snprintf(bad, sizeof bad, ",%s", good);
    cr_assert_not(merkle_verify_membership_text(leaf, bad, root));
    snprintf(bad, sizeof bad, "%s0", good);
    cr_assert_not(merkle_verify_membership_text(leaf, bad, root));
    memcpy(bad, good, len + 1);
    bad[len - 1] = '\0';
    cr_assert_not(merkle_verify_membership_text(leaf, bad, root));
    memcpy(bad, good, len + 1);
    bad[1] = ';';
    cr_assert_not(merkle_verify_membership_text(leaf, bad, root));
    memcpy(bad, good, len + 1);
    bad[5] = 'g';
    cr_assert_not(merkle_verify_membership_text(leaf, bad, root));
    /* A label of several characters counts as right, like any non-'l'. */
    memcpy(bad, good, len + 1);
    cr_assert_eq(steps[0].side, 'r');
    snprintf(bad, sizeof bad, "right%s", good + 1);
    cr_assert(merkle_verify_membership_text(leaf, bad, root));
    /* Truncating the text at every position never crashes and never passes. */
    for (size_t cut = 0; cut < len; cut++) {
        memcpy(bad, good, cut);
        bad[cut] = '\0';
        cr_assert_not(merkle_verify_membership_text(leaf, bad, root), "cut %zu", cut);
    }

    cr_assert_eq(store_root(&s, 3, old_root), 0);
    cr_assert_eq(store_consistency(&s, 3, 5, items, &count), 0);
    cr_assert_eq(count, 2);
    cr_assert_not(merkle_verify_consistency_text(NULL, 1, old_root, root));
    ptrs[0] = NULL;
    cr_assert_not(merkle_verify_consistency_text(ptrs, 1, old_root, root));
    merkle_format_consistency_item(&items[1], item);
    ptrs[1] = item;
    {
        char first[ITEM_TEXT_MAX];
        char *comma;
        size_t ilen;

        merkle_format_consistency_item(&items[0], first);
        ptrs[0] = first;
        cr_assert(merkle_verify_consistency_text(ptrs, 2, old_root, root));
        /* Item without path, with an empty path, without label separator. */
        comma = strchr(first, ',');
        *comma = '\0';
        cr_assert_not(merkle_verify_consistency_text(ptrs, 2, old_root, root));
        comma[1] = '\0';
        *comma = ',';
        cr_assert_not(merkle_verify_consistency_text(ptrs, 2, old_root, root));
        merkle_format_consistency_item(&items[0], first);
        first[1] = '-';
        cr_assert_not(merkle_verify_consistency_text(ptrs, 2, old_root, root));
        merkle_format_consistency_item(&items[0], first);
        ilen = strlen(first);
        for (size_t cut = 0; cut < ilen; cut++) {
            merkle_format_consistency_item(&items[0], first);
            first[cut] = '\0';
            cr_assert_not(merkle_verify_consistency_text(ptrs, 2, old_root, root), "cut %zu", cut);
        }
        /* Uppercase hex and another label are read like the SDKs do. */
        merkle_format_consistency_item(&items[0], first);
        first[0] = 'y';
        for (size_t i = 2; first[i]; i++)
            if (first[i] >= 'a' && first[i] <= 'f')
                first[i] = (char)(first[i] - 32);
        cr_assert(merkle_verify_consistency_text(ptrs, 2, old_root, root));

        /* "x:<root>," claims an empty path (equal sizes): refused. */
        first[0] = 'x';
        first[1] = ':';
        merkle_hex(root, first + 2);
        strcat(first, ",");
        cr_assert_not(merkle_verify_consistency_text(ptrs, 1, root, root));
        first[66] = '\0';
        cr_assert_not(merkle_verify_consistency_text(ptrs, 1, root, root));
    }
    free(items);
    store_free(&s);
}
