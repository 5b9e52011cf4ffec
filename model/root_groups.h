/* The root of the tree at every size, stored at append time (internal to
 * model/), so that a root at any size is one record read instead of a fold
 * of popcount(size) stored subtrees.
 *
 * Layout: root_groups.db, key id(36) + be64 g -> the roots of sizes
 * 32g+1 .. 32g+32, 32 bytes each, in size order. It is a hash database: a
 * lookup reads the meta page and one bucket page at any size, where a
 * btree of a million events' roots is three levels deep (measured: 1.5-1.9
 * us against 2.5-4.6 us per warm lookup at 1M, 1.05 us at 1k for both).
 * A group's record is written whole when its first size is appended (the
 * roots known, zeros for the sizes to come), and each later root replaces
 * its slot in place: Berkeley DB logs a same-size partial put of a hash
 * record as the changed bytes, but a record that grows as the whole
 * record, old and new (that was up to 2 KB per append, most of /v1/log's
 * log volume).
 *
 * The stored roots are derived data: `salog verify` recomputes each one from
 * the events, and readers fold the tree for a size with no stored root. A
 * slot of 32 zero bytes counts as none: a store made before roots were kept
 * gets its first record padded with zeros up to the size it had. All
 * functions return 0, DB_NOTFOUND where said, or a Berkeley DB error. */
#ifndef SALOG_ROOT_GROUPS_H
#define SALOG_ROOT_GROUPS_H

#include <db.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/ids.h"
#include "model/merkle.h"

#define ROOT_GROUP_SIZES 32
#define ROOT_GROUP_KEY_LEN (ID_LEN + 8)
#define ROOT_GROUP_RECORD_MAX (ROOT_GROUP_SIZES * MERKLE_HASH_LEN)
/* Page size of a new root_groups.db. In tests/bench/tree_bench.c a root at
 * 1M against 1k took 2.0-2.4x with 16 KB pages (4 and 8 KB: 2.1-2.2x),
 * 1.6-2.0x with 64 KB: fewer, larger pages mean fewer cold buffer headers
 * and page locks per lookup. 50-65 MB per million events (measured; a hash
 * table's size depends on where it is in its doubling). */
#define ROOT_GROUP_DB_PAGESIZE 65536

/* Stores roots[0..count) as the roots of sizes first_size .. first_size +
 * count - 1 (first_size >= 1), inside the append's transaction. The caller
 * appends in size order: every smaller size already has its root. */
int root_groups_put(DB *db, DB_TXN *txn, const char *config_id, uint64_t first_size,
                    const uint8_t (*roots)[MERKLE_HASH_LEN], size_t count);

/* False for a slot of 32 zero bytes: no root is stored there. */
bool root_groups_slot_stored(const uint8_t root[MERKLE_HASH_LEN]);

/* The stored root of `size` (>= 1), outside any transaction. DB_NOTFOUND
 * when none is stored for it (no record, too short, or zeros). */
int root_groups_get(DB *db, const char *config_id, uint64_t size, uint8_t out[MERKLE_HASH_LEN]);

/* The whole record of group g (sizes 32g+1 ..): *count roots copied to
 * out. DB_NOTFOUND when the group has none; a record that is not a whole
 * number of roots, or longer than a group, is EINVAL (damage). */
int root_groups_get_group(DB *db, DB_TXN *txn, const char *config_id, uint64_t group,
                          uint8_t out[ROOT_GROUP_SIZES][MERKLE_HASH_LEN], size_t *count);

#endif
