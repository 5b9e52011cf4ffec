/* The root of the tree at every size, stored at append time (internal to
 * model/), so that a root at any size is one record read instead of a fold
 * of popcount(size) stored subtrees.
 *
 * Layout: the config's roots-<config id>.db queue (tree_queues.h), record
 * number = tree size, record = that size's 32-byte root. The lookup costs
 * the same at any size (measured in tests/bench/tree_bench.c, root at 1M
 * against 1k: 1.8-2.0x in a hash database, 1.5-1.65x in the queue); 36 MB
 * per million sizes.
 *
 * Sizes above STORED_ROOTS_MAX_SIZE are not stored, and readers fold the
 * tree for them. A data directory made before the queues has its roots in
 * root_groups.db (root_groups.h); readers use it for a size the queue has
 * no root for.
 *
 * The stored roots are derived data: `salog verify` recomputes each one
 * from the events, and readers fold the tree for a size with no stored
 * root. A record of 32 zero bytes counts as none. Functions return 0,
 * DB_NOTFOUND where said, EINVAL for a config id that cannot name a file
 * or a size of 0, or a Berkeley DB error. */
#ifndef SALOG_STORED_ROOTS_H
#define SALOG_STORED_ROOTS_H

#include <db.h>
#include <stdbool.h>
#include <stdint.h>

#include "model/merkle.h"
#include "model/store.h"
#include "model/tree_queues.h"

#define STORED_ROOTS_MAX_SIZE TREE_QUEUE_MAX_RECNO

/* The config's roots queue (tree_queue_open with TREE_QUEUE_ROOTS). */
int stored_roots_queue(store *s, const char *config_id, DB **out);

/* Stores roots[0..count) as the roots of sizes first_size .. first_size +
 * count - 1 (first_size >= 1) in the append's transaction; sizes above
 * STORED_ROOTS_MAX_SIZE are skipped. */
int stored_roots_put(DB *queue, DB_TXN *txn, uint64_t first_size, const uint8_t (*roots)[MERKLE_HASH_LEN],
                     size_t count);

/* The root of `size` (>= 1) in the queue alone; DB_NOTFOUND when none. */
int stored_roots_queue_get(DB *queue, DB_TXN *txn, uint64_t size, uint8_t out[MERKLE_HASH_LEN]);

/* The stored root of `size` (>= 1), outside any transaction: the queue's,
 * else root_groups.db's; DB_NOTFOUND when neither has one. */
int stored_roots_get(store *s, const char *config_id, uint64_t size, uint8_t out[MERKLE_HASH_LEN]);

#endif
