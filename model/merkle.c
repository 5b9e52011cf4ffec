/* Merkle tree algorithms over stored perfect aligned subtrees (merkle.h).
 *
 * Every proof is built from one top-down walk of the RFC 6962 split from the
 * root [0, n) to the wanted node. Left siblings on that walk are always
 * perfect aligned nodes; right siblings are perfect too, except on the right
 * edge of the tree, where a right sibling [a, n) is the fold of the suffix of
 * n's binary decomposition that starts at offset a. */
#include "merkle.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <string.h>

/* The SHA-256 implementation, fetched once per process. OpenSSL 3's
 * one-shot SHA256() fetches it on every call: 551 ns per 64-byte hash here
 * against 228 ns with the digest fetched once (EVP_Digest), and an append
 * hashes ~log2(n) nodes per event. Written once, then only read. */
static struct merkle_digest {
    pthread_once_t once;
    EVP_MD *sha256; /* NULL if the fetch failed: SHA256() then */
} merkle_digest = {PTHREAD_ONCE_INIT, NULL};

static void merkle_digest_fetch(void)
{
    merkle_digest.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int merkle_sha256(const void *data, size_t len, uint8_t out[MERKLE_HASH_LEN])
{
    (void)pthread_once(&merkle_digest.once, merkle_digest_fetch);
    if (merkle_digest.sha256 && EVP_Digest(data, len, out, NULL, merkle_digest.sha256, NULL) == 1)
        return 0;
    if (SHA256(data, len, out))
        return 0;
    memset(out, 0, MERKLE_HASH_LEN); /* never leave stale bytes behind */
    return -1;
}

/* The perfect subtrees of a tree of size n, largest (offset 0) first. */
typedef struct merkle_decomp {
    size_t count;
    unsigned level[MERKLE_MAX_LEVELS];
    uint64_t offset[MERKLE_MAX_LEVELS];
} merkle_decomp;

/* Where a sibling's hash comes from. */
typedef struct merkle_sibling {
    char side;
    int is_suffix;   /* 1: fold of decomposition entries entry..count-1 */
    size_t entry;
    unsigned level;  /* perfect node otherwise */
    uint64_t index;
} merkle_sibling;

void merkle_hash_children(const uint8_t left[MERKLE_HASH_LEN], const uint8_t right[MERKLE_HASH_LEN],
                          uint8_t out[MERKLE_HASH_LEN])
{
    uint8_t buf[2 * MERKLE_HASH_LEN];

    /* Copy first so out may alias left or right. */
    memcpy(buf, left, MERKLE_HASH_LEN);
    memcpy(buf + MERKLE_HASH_LEN, right, MERKLE_HASH_LEN);
    merkle_sha256(buf, sizeof buf, out);
}

static void merkle_decompose(uint64_t n, merkle_decomp *d)
{
    uint64_t offset = 0;

    d->count = 0;
    for (int l = MERKLE_MAX_LEVELS - 1; l >= 0; l--) {
        if (!((n >> l) & 1u))
            continue;
        d->level[d->count] = (unsigned)l;
        d->offset[d->count] = offset;
        offset += (uint64_t)1 << l;
        d->count++;
    }
}

/* Largest power of two strictly less than s (s >= 2). */
static uint64_t merkle_split(uint64_t s)
{
    return (uint64_t)1 << (63 - __builtin_clzll(s - 1));
}

static unsigned merkle_log2(uint64_t pow2)
{
    return (unsigned)__builtin_ctzll(pow2);
}

static void merkle_combine(uint8_t h[MERKLE_HASH_LEN], const merkle_step *step)
{
    if (step->side == 'l')
        merkle_hash_children(step->hash, h, h);
    else
        merkle_hash_children(h, step->hash, h);
}

int merkle_append_nodes(merkle_node_reader rd, void *ctx, uint64_t n,
                        const uint8_t leaf[MERKLE_HASH_LEN],
                        merkle_new_node out[MERKLE_MAX_LEVELS + 1], size_t *count)
{
    uint64_t size;
    uint8_t left[MERKLE_HASH_LEN];
    size_t c = 0;
    int rc = 0;

    if (!rd || !leaf || !out || !count || n == UINT64_MAX)
        return MERKLE_EINVAL;
    *count = 0;
    size = n + 1;
    out[0].level = 0;
    out[0].index = n;
    memcpy(out[0].hash, leaf, MERKLE_HASH_LEN);
    c = 1;
    /* Leaf n completes node(l, size/2^l - 1) for every 2^l dividing size;
     * its left child is already stored, its right child was just built. */
    for (unsigned l = 1; l < MERKLE_MAX_LEVELS && (size & (((uint64_t)1 << l) - 1)) == 0; l++) {
        uint64_t right_index = (size >> (l - 1)) - 1;

        rc = rd(ctx, l - 1, right_index - 1, left);
        if (rc != 0)
            goto out;
        out[c].level = l;
        out[c].index = (size >> l) - 1;
        merkle_hash_children(left, out[c - 1].hash, out[c].hash);
        c++;
    }
    *count = c;
out:
    return rc;
}

int merkle_root(merkle_node_reader rd, void *ctx, uint64_t n, uint8_t out[MERKLE_HASH_LEN])
{
    merkle_decomp d;
    uint8_t r[MERKLE_HASH_LEN], part[MERKLE_HASH_LEN];
    int rc;

    if (!rd || !out || n == 0)
        return MERKLE_EINVAL;
    merkle_decompose(n, &d);
    /* popcount(n) reads: fold the decomposition from the right. */
    rc = rd(ctx, d.level[d.count - 1], d.offset[d.count - 1] >> d.level[d.count - 1], r);
    if (rc != 0)
        goto out;
    for (size_t i = d.count - 1; i-- > 0;) {
        rc = rd(ctx, d.level[i], d.offset[i] >> d.level[i], part);
        if (rc != 0)
            goto out;
        merkle_hash_children(part, r, r);
    }
    memcpy(out, r, MERKLE_HASH_LEN);
out:
    return rc;
}

/* Audit path (leaf level first) of the perfect aligned node (level, index)
 * covering [index << level, (index + 1) << level) in the tree of size n.
 *
 * Reads: one per perfect sibling, plus each decomposition entry of n after
 * the point where the walk leaves the right edge (those entries fold into
 * the right-edge siblings, computed once for all of them). For a node inside
 * decomposition entry i of q entries this is i + (q - 1 - i) + level(i)
 * - (node level) <= q - 1 + 63 < 2 * 64 reads.
 *
 * When `spans` is not NULL, spans[t] receives the range [lo, hi) of the
 * node that steps[t] is the sibling of (the node itself for t = 0). */
static int merkle_node_path(merkle_node_reader rd, void *ctx, uint64_t n, unsigned level,
                            uint64_t index, merkle_step steps[MERKLE_MAX_LEVELS], size_t *count,
                            uint64_t (*spans)[2])
{
    merkle_decomp d;
    merkle_sibling sib[MERKLE_MAX_LEVELS];
    uint64_t below[MERKLE_MAX_LEVELS][2]; /* [depth]: the range after that step down */
    uint8_t folds[MERKLE_MAX_LEVELS][MERKLE_HASH_LEN];
    uint64_t o, size, lo = 0, hi = n;
    size_t depth = 0, first_entry;
    int rc = 0;

    *count = 0;
    if (level >= MERKLE_MAX_LEVELS || index >= (n >> level))
        return MERKLE_EINVAL;
    o = index << level;
    size = (uint64_t)1 << level;
    merkle_decompose(n, &d);
    first_entry = d.count;

    while (!(lo == o && hi - lo == size)) {
        uint64_t k = merkle_split(hi - lo);
        merkle_sibling *s;

        if (depth == MERKLE_MAX_LEVELS)
            return MERKLE_EINVAL;
        s = &sib[depth++];
        if (o + size <= lo + k) {
            uint64_t rs = hi - (lo + k);

            s->side = 'r';
            if ((rs & (rs - 1)) == 0) {
                s->is_suffix = 0;
                s->level = merkle_log2(rs);
                s->index = (lo + k) >> s->level;
            } else {
                /* Not a power of two: only on the right edge (hi == n),
                 * where lo + k is the offset of a decomposition entry. */
                size_t e = 0;

                while (e < d.count && d.offset[e] != lo + k)
                    e++;
                if (hi != n || e == d.count)
                    return MERKLE_EINVAL;
                s->is_suffix = 1;
                s->entry = e;
                if (e < first_entry)
                    first_entry = e;
            }
            hi = lo + k;
        } else if (o >= lo + k) {
            s->side = 'l';
            s->is_suffix = 0;
            s->level = merkle_log2(k);
            s->index = lo >> s->level;
            lo += k;
        } else {
            return MERKLE_EINVAL; /* straddles the split: not a node of this tree */
        }
        below[depth - 1][0] = lo;
        below[depth - 1][1] = hi;
    }

    /* folds[e] = fold of decomposition entries e..count-1, from the right. */
    for (size_t e = d.count; e-- > first_entry;) {
        rc = rd(ctx, d.level[e], d.offset[e] >> d.level[e], folds[e]);
        if (rc != 0)
            goto out;
        if (e + 1 < d.count)
            merkle_hash_children(folds[e], folds[e + 1], folds[e]);
    }

    for (size_t t = 0; t < depth; t++) {
        const merkle_sibling *s = &sib[depth - 1 - t];

        steps[t].side = s->side;
        if (s->is_suffix) {
            memcpy(steps[t].hash, folds[s->entry], MERKLE_HASH_LEN);
        } else {
            rc = rd(ctx, s->level, s->index, steps[t].hash);
            if (rc != 0)
                goto out;
        }
        if (spans) {
            spans[t][0] = below[depth - 1 - t][0];
            spans[t][1] = below[depth - 1 - t][1];
        }
    }
    *count = depth;
out:
    return rc;
}

int merkle_membership_proof(merkle_node_reader rd, void *ctx, uint64_t index, uint64_t n,
                            merkle_step steps[MERKLE_MAX_LEVELS], size_t *count)
{
    if (!rd || !steps || !count || n == 0 || index >= n)
        return MERKLE_EINVAL;
    return merkle_node_path(rd, ctx, n, 0, index, steps, count, NULL);
}

/* The old tree's perfect subtrees S_1 (offset 0) .. S_p all hang off the
 * path from the new root to leaf old_size - 1: every strict ancestor of an
 * S_j contains position old_size - 1. So one path, that of S_p (the
 * smallest, which contains old_size - 1), gives every item: its left
 * siblings, bottom-up, are exactly S_{p-1} .. S_1, and S_j's own path is
 * "r:<hash of the path node beside it>" followed by the rest of S_p's path.
 * Reads: those of one node path plus one (S_p's root), plus one
 * per item for the path node beside it when that node is perfect (stored),
 * < 3 * 64 in all;
 * only nodes on the new tree's right edge are hashed up to from below. A
 * read from the tile already in hand is far cheaper than the SHA-256 per
 * level it replaces, which grew with the tree. */
int merkle_consistency_proof(merkle_node_reader rd, void *ctx, uint64_t old_size, uint64_t new_size,
                             merkle_consistency_item items[MERKLE_MAX_LEVELS], size_t *count)
{
    merkle_decomp d;
    merkle_step path[MERKLE_MAX_LEVELS];
    uint64_t spans[MERKLE_MAX_LEVELS][2];
    size_t path_len = 0, next = 1, h_step = 0; /* h is the node beside path[h_step] */
    uint8_t h[MERKLE_HASH_LEN];
    unsigned last_level;
    uint64_t last_index;
    int rc;

    if (!rd || !items || !count || old_size == 0 || old_size >= new_size)
        return MERKLE_EINVAL;
    *count = 0;
    merkle_decompose(old_size, &d);
    last_level = d.level[d.count - 1];
    last_index = d.offset[d.count - 1] >> last_level;

    rc = merkle_node_path(rd, ctx, new_size, last_level, last_index, path, &path_len, spans);
    if (rc != 0)
        goto out;
    rc = rd(ctx, last_level, last_index, h);
    if (rc != 0)
        goto out;

    memcpy(items[0].subtree_root, h, MERKLE_HASH_LEN);
    memcpy(items[0].steps, path, path_len * sizeof path[0]);
    items[0].step_count = path_len;
    for (size_t t = 0; t < path_len; t++) {
        if (path[t].side == 'l') {
            merkle_consistency_item *it;

            if (next >= d.count) {
                rc = MERKLE_EINVAL;
                goto out;
            }
            /* h up to the node beside path[t]: read when perfect. */
            uint64_t lo = spans[t][0], width = spans[t][1] - spans[t][0];
            if (t > h_step && (width & (width - 1)) == 0) {
                unsigned node_level = merkle_log2(width);
                rc = rd(ctx, node_level, lo >> node_level, h);
                if (rc != 0)
                    goto out;
            } else {
                for (; h_step < t; h_step++)
                    merkle_combine(h, &path[h_step]);
            }
            h_step = t;
            it = &items[next++];
            memcpy(it->subtree_root, path[t].hash, MERKLE_HASH_LEN);
            it->steps[0].side = 'r';
            memcpy(it->steps[0].hash, h, MERKLE_HASH_LEN);
            memcpy(&it->steps[1], &path[t + 1], (path_len - t - 1) * sizeof path[0]);
            it->step_count = path_len - t;
        }
    }
    if (next != d.count) {
        rc = MERKLE_EINVAL; /* cannot happen for a well-formed tree */
        goto out;
    }
    *count = d.count;
out:
    return rc;
}

/* The two hex digits of every byte value: one load per byte instead of
 * two (proofs are mostly hex text). */
#define MERKLE_HEX_ROW(h) h "0" h "1" h "2" h "3" h "4" h "5" h "6" h "7" h "8" h "9" h "a" h "b" h "c" h "d" h "e" h "f"
static const char merkle_hex_pairs[] =
    MERKLE_HEX_ROW("0") MERKLE_HEX_ROW("1") MERKLE_HEX_ROW("2") MERKLE_HEX_ROW("3") MERKLE_HEX_ROW("4")
    MERKLE_HEX_ROW("5") MERKLE_HEX_ROW("6") MERKLE_HEX_ROW("7") MERKLE_HEX_ROW("8") MERKLE_HEX_ROW("9")
    MERKLE_HEX_ROW("a") MERKLE_HEX_ROW("b") MERKLE_HEX_ROW("c") MERKLE_HEX_ROW("d") MERKLE_HEX_ROW("e")
    MERKLE_HEX_ROW("f");

void merkle_hex(const uint8_t h[MERKLE_HASH_LEN], char out[65])
{
    for (size_t i = 0; i < MERKLE_HASH_LEN; i++)
        memcpy(out + 2 * i, merkle_hex_pairs + 2 * h[i], 2);
    out[2 * MERKLE_HASH_LEN] = '\0';
}

static int merkle_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses exactly 2 * MERKLE_HASH_LEN hex characters of a span. */
static int merkle_unhex_span(const char *hex, size_t len, uint8_t out[MERKLE_HASH_LEN])
{
    uint8_t tmp[MERKLE_HASH_LEN];

    if (len != 2 * MERKLE_HASH_LEN)
        return -1;
    for (size_t i = 0; i < MERKLE_HASH_LEN; i++) {
        int hi = merkle_hex_digit(hex[2 * i]);
        int lo = merkle_hex_digit(hex[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return -1;
        tmp[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(out, tmp, MERKLE_HASH_LEN);
    return 0;
}

int merkle_unhex(const char *hex, uint8_t out[MERKLE_HASH_LEN])
{
    if (!hex || !out)
        return -1;
    return merkle_unhex_span(hex, strnlen(hex, 2 * MERKLE_HASH_LEN + 1), out);
}

void merkle_format_path(const merkle_step *steps, size_t count, char *out)
{
    char *p = out;

    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            *p++ = ',';
        *p++ = steps[i].side;
        *p++ = ':';
        merkle_hex(steps[i].hash, p);
        p += 2 * MERKLE_HASH_LEN;
    }
    *p = '\0';
}

/* One step's text after a separator: ",l:<hex>". */
#define MERKLE_STEP_TEXT_LEN (3 + 2 * MERKLE_HASH_LEN)

size_t merkle_format_consistency_item(const merkle_consistency_item *item, char *out)
{
    out[0] = 'x';
    out[1] = ':';
    merkle_hex(item->subtree_root, out + 2);
    if (item->step_count == 0)
        return 2 + 2 * MERKLE_HASH_LEN;
    out[2 + 2 * MERKLE_HASH_LEN] = ',';
    merkle_format_path(item->steps, item->step_count, out + 3 + 2 * MERKLE_HASH_LEN);
    return 2 + 2 * MERKLE_HASH_LEN + item->step_count * MERKLE_STEP_TEXT_LEN;
}

size_t merkle_format_consistency_item_after(const merkle_consistency_item *item,
                                            const merkle_consistency_item *first, const char *first_text,
                                            size_t first_len, char *out)
{
    size_t shared = item->step_count > 0 ? item->step_count - 1 : 0;
    if (item->step_count == 0 || shared > first->step_count ||
        first_len != 2 + 2 * MERKLE_HASH_LEN + first->step_count * MERKLE_STEP_TEXT_LEN ||
        memcmp(item->steps + 1, first->steps + (first->step_count - shared), shared * sizeof *item->steps) != 0)
        return merkle_format_consistency_item(item, out);
    /* "x:<hex>,s:<hex>" for the root and the item's own first step. */
    out[0] = 'x';
    out[1] = ':';
    merkle_hex(item->subtree_root, out + 2);
    out[2 + 2 * MERKLE_HASH_LEN] = ',';
    merkle_format_path(item->steps, 1, out + 3 + 2 * MERKLE_HASH_LEN);
    size_t len = 2 + 2 * MERKLE_HASH_LEN + MERKLE_STEP_TEXT_LEN;
    size_t tail = shared * MERKLE_STEP_TEXT_LEN;
    memcpy(out + len, first_text + first_len - tail, tail + 1); /* with the NUL */
    return len + tail;
}

/* Folds `h` through the path text [text, text + len) as the SDKs do.
 * Returns 0, or -1 when the text is malformed. */
static int merkle_fold_path_text(uint8_t h[MERKLE_HASH_LEN], const char *text, size_t len)
{
    const char *p = text, *end = text + len;

    if (len == 0)
        return 0;
    for (;;) {
        const char *item_end = memchr(p, ',', (size_t)(end - p));
        const char *colon;
        merkle_step step;

        if (!item_end)
            item_end = end;
        colon = memchr(p, ':', (size_t)(item_end - p));
        if (!colon)
            return -1;
        if (merkle_unhex_span(colon + 1, (size_t)(item_end - colon - 1), step.hash) != 0)
            return -1;
        step.side = (colon - p == 1 && p[0] == 'l') ? 'l' : 'r';
        merkle_combine(h, &step);
        if (item_end == end)
            return 0;
        p = item_end + 1;
    }
}

int merkle_verify_membership_text(const uint8_t leaf[MERKLE_HASH_LEN], const char *proof,
                                  const uint8_t root[MERKLE_HASH_LEN])
{
    uint8_t h[MERKLE_HASH_LEN];

    if (!leaf || !proof || !root)
        return 0;
    memcpy(h, leaf, MERKLE_HASH_LEN);
    if (merkle_fold_path_text(h, proof, strlen(proof)) != 0)
        return 0;
    return memcmp(h, root, MERKLE_HASH_LEN) == 0;
}

/* An item is "<label>:<hex>,<path>"; the label is ignored and the path must
 * not be empty (a subtree of an older tree is never the new root). */
int merkle_verify_consistency_text(const char *const *items, size_t count,
                                   const uint8_t old_root[MERKLE_HASH_LEN],
                                   const uint8_t new_root[MERKLE_HASH_LEN])
{
    uint8_t folded_old[MERKLE_HASH_LEN];

    if (!items || count == 0 || !old_root || !new_root)
        return 0;
    for (size_t i = 0; i < count; i++) {
        const char *item = items[i], *comma, *colon;
        uint8_t subtree[MERKLE_HASH_LEN], h[MERKLE_HASH_LEN];

        if (!item)
            return 0;
        comma = strchr(item, ',');
        if (!comma || comma[1] == '\0')
            return 0;
        colon = memchr(item, ':', (size_t)(comma - item));
        if (!colon || merkle_unhex_span(colon + 1, (size_t)(comma - colon - 1), subtree) != 0)
            return 0;
        memcpy(h, subtree, MERKLE_HASH_LEN);
        if (merkle_fold_path_text(h, comma + 1, strlen(comma + 1)) != 0)
            return 0;
        if (memcmp(h, new_root, MERKLE_HASH_LEN) != 0)
            return 0;
        if (i == 0)
            memcpy(folded_old, subtree, MERKLE_HASH_LEN);
        else
            merkle_hash_children(subtree, folded_old, folded_old);
    }
    return memcmp(folded_old, old_root, MERKLE_HASH_LEN) == 0;
}
