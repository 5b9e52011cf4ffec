/* The tamper-evident log of each config (API.md I.3, II §3-4): events,
 * their leaves, the stored perfect subtrees of the Merkle tree, the roots
 * seen by clients, and signed checkpoints.
 *
 * Storage (Berkeley DB, all keyed by the 36-byte config id first):
 *   events      id + be64 index        -> canonical JSON of the envelope
 *   tiles       the hashes of the perfect subtrees, 62 to a record
 *   tile_edges  (tree_tiles.h describes both)
 *   heads       id                     -> be64 size + be64 last received_at
 *   roots       id + 32-byte root      -> be64 size (for prev_root)
 *   checkpoints id + be64 size         -> signed checkpoint document (JSON)
 * An append of a batch reads the head with a write lock (DB_RMW), writes
 * every event, node and the new head in one transaction, commits with
 * DB_TXN_WRITE_NOSYNC (releasing the head lock at once) and then flushes
 * the log (DB_ENV->log_flush) before returning, so concurrent appenders in
 * any number of processes share one flush while indexes stay gap-free.
 * Stored hashes never change once written (a tile only grows at its end),
 * so proofs read them outside any transaction.
 *
 * Every function returns SALOG_OK or fills err (storage failures:
 * SALOG_E_INTERNAL / SALOG_E_RUNRECOVERY). */
#ifndef SALOG_AUDITLOG_H
#define SALOG_AUDITLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "codec/error.h"
#include "codec/value.h"
#include "model/ids.h"
#include "model/merkle.h"
#include "model/store.h"

/* One event to append; all borrowed. */
typedef struct log_item {
    const sv_value *event;       /* validated event, stored verbatim */
    const char *signature;       /* NULL when absent */
    const char *public_key;      /* NULL when absent */
    const sv_value *malformed;   /* envelope.err array, or NULL */
} log_item;

typedef struct log_appended {
    char hash[65];               /* lowercase hex SHA-256 of the canonical envelope */
    sv_value *envelope;          /* owned: {event, received_at, signature?, public_key?, err?} */
    uint64_t leaf_index;
} log_appended;

typedef struct log_append_result {
    uint64_t tree_size;          /* size after the batch */
    uint8_t root[MERKLE_HASH_LEN];
    log_appended *items;         /* owned, `count` entries in input order */
    size_t count;
} log_append_result;

/* Lowercase hex SHA-256 of the config id: the tree's public name. */
void auditlog_tree_name(const char *config_id, char out[65]);

/* Appends a batch durably (see above). received_at is assigned inside the
 * transaction and never decreases along the tree. */
salog_status auditlog_append(store *s, const char *config_id, const log_item *items, size_t count,
                             log_append_result *out, salog_err *err);
void auditlog_append_result_clear(log_append_result *r);
/* Makes every committed append durable (one log flush, shared by
 * concurrent callers in every process). */
salog_status auditlog_flush(store *s, salog_err *err);
/* The same for several callers' batches in one transaction, committed but
 * NOT yet durable: call auditlog_flush before reporting success to anyone.
 * items[0..count) ends a batch at each of group_ends[0..groups) (strictly
 * increasing, the last == count). group_roots[g] receives the root of the
 * tree at the end of batch g when want_roots is NULL or want_roots[g],
 * zeros otherwise (a caller that shows its client no root spares the
 * O(log n) reads). Every root returned, and always the root of the whole
 * transaction, is recorded for prev_root. out->root is group_roots of the
 * last batch. */
salog_status auditlog_append_groups(store *s, const char *config_id, const log_item *items, size_t count,
                                    const size_t *group_ends, const bool *want_roots, size_t groups,
                                    uint8_t (*group_roots)[MERKLE_HASH_LEN], log_append_result *out,
                                    salog_err *err);

/* Current number of events. */
salog_status auditlog_size(store *s, const char *config_id, uint64_t *size, salog_err *err);
/* Root of the tree of `size` (1 <= size <= current size): the root stored
 * for that size at append time, folded from the stored subtrees when there
 * is none (stored_roots.h). */
salog_status auditlog_root(store *s, const char *config_id, uint64_t size, uint8_t root[MERKLE_HASH_LEN],
                           salog_err *err);
/* The same root folded from the stored subtrees (what proofs use), never
 * the stored root of that size: for what gets signed and published. */
salog_status auditlog_root_folded(store *s, const char *config_id, uint64_t size, uint8_t root[MERKLE_HASH_LEN],
                                  salog_err *err);
/* Size whose root was `root` as recorded at append time; 0 when unknown. */
salog_status auditlog_find_root(store *s, const char *config_id, const uint8_t root[MERKLE_HASH_LEN],
                                uint64_t *size, salog_err *err);
/* Membership proof text of leaf `index` in the tree of `size` ("" for size 1); caller frees. */
salog_status auditlog_membership_proof(store *s, const char *config_id, uint64_t index, uint64_t size,
                                       char **proof, salog_err *err);
/* Consistency proof old -> new as an array of strings (II §4.4); caller frees. */
salog_status auditlog_consistency_proof(store *s, const char *config_id, uint64_t old_size, uint64_t new_size,
                                        sv_value **proof, salog_err *err);
/* The stored envelope of event `index` and its hash. NotFound for a bad index. */
salog_status auditlog_get_event(store *s, const char *config_id, uint64_t index, sv_value **envelope,
                                char hash[65], salog_err *err);

/* Checkpoints (I.3). The signed part is the canonical JSON of
 * {"published_at","root_hash","size","tree_name"}; the stored document is
 * {tree_name, size, root_hash, published_at, consistency_proof?, signature,
 * public_key} with public_key the JSON string {"algorithm":"ED25519","key":PEM}.
 * auditlog_publish seals one when the tree grew since the last checkpoint;
 * *size_out = the checkpoint's size (0 when nothing was sealed). */
salog_status auditlog_publish(store *s, const char *config_id, uint64_t *size_out, salog_err *err);
/* Latest checkpoint, the first checkpoint whose size >= k, or the one of
 * exactly `size`. SALOG_E_TREE_NOT_FOUND when there is none. */
salog_status auditlog_latest_checkpoint(store *s, const char *config_id, sv_value **doc, salog_err *err);
salog_status auditlog_checkpoint_covering(store *s, const char *config_id, uint64_t k, sv_value **doc,
                                          salog_err *err);
salog_status auditlog_checkpoint_at(store *s, const char *config_id, uint64_t size, sv_value **doc,
                                    salog_err *err);
/* Config id whose tree_name this is (configs are few: computed). */
salog_status auditlog_config_for_tree(store *s, const char *tree_name, char config_id[ID_LEN + 1],
                                      salog_err *err);

/* `salog verify`: recomputes every leaf hash from the stored envelopes, the
 * stored nodes and roots, checks every checkpoint's signature and its
 * consistency with the previous one. Writes one line per problem to
 * `report` (naming the event index) and sets *problems. */
salog_status auditlog_verify(store *s, const char *config_id, FILE *report, uint64_t *problems,
                             salog_err *err);

/* Async results (I.5): the reply a poll returns, bound to the token that
 * made the request, kept until expires_us. Missing or expired ->
 * SALOG_E_NOT_FOUND. */
salog_status requests_put(store *s, const char *request_id, const char *token_id, int http_status,
                          const sv_value *envelope, int64_t expires_us, salog_err *err);
salog_status requests_get(store *s, const char *request_id, char token_id[ID_LEN + 1], int *http_status,
                          sv_value **envelope, salog_err *err);
/* Background duty: deletes expired async results; *removed gets the count. */
salog_status requests_expire(store *s, int64_t now_us, size_t *removed, salog_err *err);

/* Background duty leases (I.4): true when this process holds `duty` now
 * (acquired, renewed, or taken over from a dead or expired holder). */
bool lease_acquire(store *s, const char *duty, int64_t now_us, int64_t ttl_us);

#endif
