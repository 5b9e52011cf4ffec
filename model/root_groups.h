/* Stored roots in the layout of data directories made before the per-config
 * queues (stored_roots.h), read so that such a store keeps one-read roots
 * for the sizes it had; nothing writes here any more (internal to model/).
 *
 * Layout: root_groups.db, a hash database, key id(36) + be64 g -> the
 * roots of sizes 32g+1 .. 32g+32, 32 bytes each, in size order. A record
 * may end early, and a slot of 32 zero bytes counts as none (the sizes
 * still to come when it was written, or before roots were kept). All
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

/* False for a slot (or queue record) of 32 zero bytes: no root is stored
 * there. */
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
