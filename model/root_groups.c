/* Stored roots of data directories made before the queues (root_groups.h). */
#include "model/root_groups.h"
#include "model/be64.h"

#include <errno.h>
#include <string.h>

#include "model/store_internal.h"

static void rg_key(uint8_t key[ROOT_GROUP_KEY_LEN], const char *config_id, uint64_t group)
{
    memcpy(key, config_id, ID_LEN);
    be64_put(key + ID_LEN, group);
}

bool root_groups_slot_stored(const uint8_t root[MERKLE_HASH_LEN])
{
    static const uint8_t zeros[MERKLE_HASH_LEN];
    return memcmp(root, zeros, MERKLE_HASH_LEN) != 0;
}

int root_groups_get(DB *db, const char *config_id, uint64_t size, uint8_t out[MERKLE_HASH_LEN])
{
    uint8_t key[ROOT_GROUP_KEY_LEN];
    size_t len = 0;
    if (size == 0)
        return EINVAL;
    rg_key(key, config_id, (size - 1) / ROOT_GROUP_SIZES);
    /* Only the one root is copied out of the record. */
    int ret = store_get_range(db, NULL, key, sizeof key, ((size - 1) % ROOT_GROUP_SIZES) * MERKLE_HASH_LEN,
                              MERKLE_HASH_LEN, out, &len, 0);
    /* The record ends before this size, or the slot is zeros. */
    if (ret == 0 && (len != MERKLE_HASH_LEN || !root_groups_slot_stored(out)))
        ret = DB_NOTFOUND;
    return ret;
}

int root_groups_get_group(DB *db, DB_TXN *txn, const char *config_id, uint64_t group,
                          uint8_t out[ROOT_GROUP_SIZES][MERKLE_HASH_LEN], size_t *count)
{
    uint8_t key[ROOT_GROUP_KEY_LEN];
    size_t len = 0;
    *count = 0;
    rg_key(key, config_id, group);
    int ret = store_get_into(db, txn, key, sizeof key, out, ROOT_GROUP_RECORD_MAX, &len, 0);
    if (ret == DB_BUFFER_SMALL || (ret == 0 && (len == 0 || len % MERKLE_HASH_LEN != 0)))
        return EINVAL;
    if (ret == 0)
        *count = len / MERKLE_HASH_LEN;
    return ret;
}
