/* Stored roots per tree size (root_groups.h). */
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

int root_groups_put(DB *db, DB_TXN *txn, const char *config_id, uint64_t first_size,
                    const uint8_t (*roots)[MERKLE_HASH_LEN], size_t count)
{
    uint8_t key[ROOT_GROUP_KEY_LEN];
    if (first_size == 0)
        return EINVAL;
    size_t done = 0;
    while (done < count) {
        uint64_t slot0 = first_size + done - 1; /* sizes count from 1, slots from 0 */
        uint64_t group = slot0 / ROOT_GROUP_SIZES;
        size_t slot = (size_t)(slot0 % ROOT_GROUP_SIZES);
        size_t n = ROOT_GROUP_SIZES - slot;
        if (n > count - done)
            n = count - done;
        rg_key(key, config_id, group);
        DBT k, d;
        uint8_t whole[ROOT_GROUP_SIZES][MERKLE_HASH_LEN];
        memset(&k, 0, sizeof k);
        memset(&d, 0, sizeof d);
        k.data = key;
        k.size = sizeof key;
        if (slot == 0) {
            /* A new group: the whole record, zeros after the roots known. */
            memcpy(whole, roots[done], n * MERKLE_HASH_LEN);
            memset(whole[n], 0, (ROOT_GROUP_SIZES - n) * MERKLE_HASH_LEN);
            d.data = whole;
            d.size = sizeof whole;
        } else {
            /* Slots of a whole record, replaced in place (a record from
             * before roots were kept may be shorter: then the put extends
             * it, padding any gap before doff with zeros). */
            d.data = (void *)roots[done];
            d.size = (u_int32_t)(n * MERKLE_HASH_LEN);
            d.flags = DB_DBT_PARTIAL;
            d.doff = (u_int32_t)(slot * MERKLE_HASH_LEN);
            d.dlen = (u_int32_t)(n * MERKLE_HASH_LEN);
        }
        int ret = db->put(db, txn, &k, &d, 0);
        if (ret != 0)
            return ret;
        done += n;
    }
    return 0;
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
