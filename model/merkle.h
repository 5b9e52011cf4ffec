/* The Merkle tree algorithms of API.md I.3 / II §4, independent of storage.
 *
 * Leaf = the 32 raw bytes of an event hash (no prefix); node =
 * SHA-256(left || right) (no prefix); RFC 6962 split at the largest power
 * of two strictly less than n.
 *
 * Storage keeps only *perfect aligned subtrees*: node(level, index) is the
 * hash over leaves [index << level, (index + 1) << level). A tree of size n
 * has such a node whenever ((index + 1) << level) <= n. Appending leaf n
 * writes node(0, n) and every node(l, n >> l) that leaf completes, so an
 * append costs O(log n) writes, and a root, a membership proof or a
 * consistency proof costs O(log n) reads of stored nodes (the incomplete
 * right-edge subtrees are folds of the stored perfect subtrees of n's binary
 * decomposition).
 *
 * Callers supply a node reader; every function returns 0 on success, or the
 * reader's non-zero return, or MERKLE_EINVAL for bad sizes/indexes. */
#ifndef SALOG_MERKLE_H
#define SALOG_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN 32
#define MERKLE_EINVAL (-22)
#define MERKLE_MAX_LEVELS 64

/* Reads the stored hash of perfect node (level, index) into out. Returns 0,
 * or a non-zero error that the caller passes back unchanged. */
typedef int (*merkle_node_reader)(void *ctx, unsigned level, uint64_t index,
                                  uint8_t out[MERKLE_HASH_LEN]);

/* SHA-256 of data[0..len) (libcrypto; the digest is fetched once per
 * process). Leaves are this over an envelope's canonical JSON. Returns 0,
 * or -1 when libcrypto fails, with out zeroed: the tree's own callers treat
 * that as impossible; callers that hand a digest out (token digests, ids'
 * sha256_hex) check it. */
int merkle_sha256(const void *data, size_t len, uint8_t out[MERKLE_HASH_LEN]);

/* SHA-256(left || right). */
void merkle_hash_children(const uint8_t left[MERKLE_HASH_LEN], const uint8_t right[MERKLE_HASH_LEN],
                          uint8_t out[MERKLE_HASH_LEN]);

/* The nodes an append of leaf `n` (the tree had n leaves before) must store:
 * levels[0..*count) with indexes, hashes computed from `leaf` and the reader
 * (which must already see every node of the size-n tree). At most 64. */
typedef struct merkle_new_node {
    unsigned level;
    uint64_t index;
    uint8_t hash[MERKLE_HASH_LEN];
} merkle_new_node;

int merkle_append_nodes(merkle_node_reader rd, void *ctx, uint64_t n,
                        const uint8_t leaf[MERKLE_HASH_LEN],
                        merkle_new_node out[MERKLE_MAX_LEVELS + 1], size_t *count);

/* Root of the tree of size n >= 1. */
int merkle_root(merkle_node_reader rd, void *ctx, uint64_t n, uint8_t out[MERKLE_HASH_LEN]);

/* A proof step: sibling hash and its side ('l' = sibling on the left). */
typedef struct merkle_step {
    char side;
    uint8_t hash[MERKLE_HASH_LEN];
} merkle_step;

/* Audit path of leaf `index` in the tree of size n (index < n), leaf level
 * upward. steps must hold MERKLE_MAX_LEVELS entries; *count may be 0 (n == 1). */
int merkle_membership_proof(merkle_node_reader rd, void *ctx, uint64_t index, uint64_t n,
                            merkle_step steps[MERKLE_MAX_LEVELS], size_t *count);

/* Consistency proof old_size -> new_size (0 < old_size < new_size) in the
 * format of API.md II §4.4: one item per 1-bit of old_size, smallest
 * (rightmost) first; item = subtree root + its path in the new tree. */
typedef struct merkle_consistency_item {
    uint8_t subtree_root[MERKLE_HASH_LEN];
    size_t step_count;
    merkle_step steps[MERKLE_MAX_LEVELS];
} merkle_consistency_item;

int merkle_consistency_proof(merkle_node_reader rd, void *ctx, uint64_t old_size, uint64_t new_size,
                             merkle_consistency_item items[MERKLE_MAX_LEVELS], size_t *count);

/* Text forms of II §4.3 / §4.4. Membership: "l:<hex>,r:<hex>" ("" for none);
 * out must hold count * 67 + 1 bytes. Consistency item: "x:<hex>,<path>"
 * (out: 66 + step_count * 67 + 1 bytes); returns the text's length. */
void merkle_format_path(const merkle_step *steps, size_t count, char *out);
size_t merkle_format_consistency_item(const merkle_consistency_item *item, char *out);
/* The same text for a later item of a proof, given the first item and its
 * text: every later item ends with the first one's upper steps, and those
 * are copied as text rather than encoded again, so a proof's hex encoding
 * costs O(log n), not O(log^2 n). An item that does not share them is
 * encoded whole. Returns the text's length. */
size_t merkle_format_consistency_item_after(const merkle_consistency_item *item,
                                            const merkle_consistency_item *first, const char *first_text,
                                            size_t first_len, char *out);

/* SDK-style verification (any label other than 'l' = right). 1 = valid. */
int merkle_verify_membership_text(const uint8_t leaf[MERKLE_HASH_LEN], const char *proof,
                                  const uint8_t root[MERKLE_HASH_LEN]);
/* items: array of item strings. 1 = valid. */
int merkle_verify_consistency_text(const char *const *items, size_t count,
                                   const uint8_t old_root[MERKLE_HASH_LEN],
                                   const uint8_t new_root[MERKLE_HASH_LEN]);

/* hex helpers: 64 lowercase chars + NUL; parse returns 0 / -1 (accepts only
 * 64 hex chars, either case). */
void merkle_hex(const uint8_t h[MERKLE_HASH_LEN], char out[65]);
int merkle_unhex(const char *hex, uint8_t out[MERKLE_HASH_LEN]);

#endif
