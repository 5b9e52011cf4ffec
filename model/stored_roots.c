/* Stored roots per tree size, one queue per config (stored_roots.h). */
#include "model/stored_roots.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "model/ids.h"
#include "model/root_groups.h"
#include "model/store_internal.h"
#include "model/tree_queues.h"

int stored_roots_queue(store *s, const char *config_id, DB **out)
{
    return tree_queue_open(s, config_id, TREE_QUEUE_ROOTS, out);
}

int stored_roots_put(DB *queue, DB_TXN *txn, uint64_t first_size, const uint8_t (*roots)[MERKLE_HASH_LEN],
                     size_t count)
{
    if (first_size == 0)
        return EINVAL;
    for (size_t i = 0; i < count && first_size + i <= STORED_ROOTS_MAX_SIZE; i++) {
        db_recno_t recno = (db_recno_t)(first_size + i);
        int ret = store_put(queue, txn, &recno, sizeof recno, roots[i], MERKLE_HASH_LEN, 0);
        if (ret != 0)
            return ret;
    }
    return 0;
}

int stored_roots_queue_get(DB *queue, DB_TXN *txn, uint64_t size, uint8_t out[MERKLE_HASH_LEN])
{
    if (size == 0)
        return EINVAL;
    if (size > STORED_ROOTS_MAX_SIZE)
        return DB_NOTFOUND;
    db_recno_t recno = (db_recno_t)size;
    size_t len = 0;
    int ret = store_get_into(queue, txn, &recno, sizeof recno, out, MERKLE_HASH_LEN, &len, 0);
    /* DB_KEYEMPTY: a number below the queue's last one that was never
     * written (sizes appended before the queue existed) or was deleted. */
    if (ret == DB_KEYEMPTY || (ret == 0 && (len != MERKLE_HASH_LEN || !root_groups_slot_stored(out))))
        ret = DB_NOTFOUND;
    return ret;
}

int stored_roots_get(store *s, const char *config_id, uint64_t size, uint8_t out[MERKLE_HASH_LEN])
{
    DB *queue = NULL;
    int ret = stored_roots_queue(s, config_id, &queue);
    if (ret == 0)
        ret = stored_roots_queue_get(queue, NULL, size, out);
    if (ret == DB_NOTFOUND && s->root_groups)
        ret = root_groups_get(s->root_groups, config_id, size, out);
    return ret;
}
