/* Stored roots per tree size, one queue per config (stored_roots.h). */
#include "model/stored_roots.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/ids.h"
#include "model/root_groups.h"
#include "model/store_internal.h"

typedef struct {
    char config_id[ID_LEN + 1];
    DB *queue;
} stored_roots_entry;

/* Entries are only added, and a handle stays open until the store closes,
 * so a handle found under the lock is used without it (DB_THREAD). A
 * store has a handful of configs: a linear search is enough. */
struct stored_roots_table {
    pthread_rwlock_t lock;
    stored_roots_entry *entries;
    size_t count, cap;
};

stored_roots_table *stored_roots_table_new(void)
{
    stored_roots_table *t = calloc(1, sizeof *t);
    if (t && pthread_rwlock_init(&t->lock, NULL) != 0) {
        free(t);
        t = NULL;
    }
    return t;
}

void stored_roots_table_free(stored_roots_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->count; i++)
        (void)t->entries[i].queue->close(t->entries[i].queue, 0);
    free(t->entries);
    pthread_rwlock_destroy(&t->lock);
    free(t);
}

/* The id becomes part of a file name: only the characters ids are made of. */
static bool sr_id_is_file_safe(const char *config_id)
{
    if (strlen(config_id) != ID_LEN)
        return false;
    for (const char *p = config_id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

/* Room for more entries; called with the lock held. */
static int sr_grow(stored_roots_table *t)
{
    size_t cap = t->cap ? 2 * t->cap : 4;
    stored_roots_entry *grown = realloc(t->entries, cap * sizeof *grown);
    if (!grown)
        return ENOMEM;
    t->entries = grown;
    t->cap = cap;
    return 0;
}

/* The open handle of config_id, or NULL; called with the lock held. */
static DB *sr_find(const stored_roots_table *t, const char *config_id)
{
    for (size_t i = 0; i < t->count; i++)
        if (memcmp(t->entries[i].config_id, config_id, ID_LEN) == 0)
            return t->entries[i].queue;
    return NULL;
}

int stored_roots_queue(store *s, const char *config_id, bool create, DB **out)
{
    stored_roots_table *t = s->root_queues;
    *out = NULL;
    if (!sr_id_is_file_safe(config_id))
        return EINVAL;
    pthread_rwlock_rdlock(&t->lock);
    *out = sr_find(t, config_id);
    pthread_rwlock_unlock(&t->lock);
    if (*out)
        return 0;
    /* Opened without the lock: an open may wait for another process that
     * is making the file, and the other configs' lookups must not wait
     * with it. Made with the store's mode under the process umask (007 in
     * salog.fcgi and salog, API.md I.9). */
    char file[sizeof "roots-.db" + ID_LEN];
    snprintf(file, sizeof file, "roots-%s.db", config_id);
    DB *queue = NULL;
    int ret = store_open_db_file(s, &queue, file, create ? DB_QUEUE : DB_UNKNOWN, STORED_ROOTS_PAGESIZE,
                                 create ? MERKLE_HASH_LEN : 0);
    if (ret == ENOENT)
        return DB_NOTFOUND;
    if (ret != 0)
        return ret;
    pthread_rwlock_wrlock(&t->lock);
    DB *other = sr_find(t, config_id);
    if (other) {
        /* Another thread opened it meanwhile: keep one handle. */
        *out = other;
    } else if (t->count < t->cap || (ret = sr_grow(t)) == 0) {
        stored_roots_entry *e = &t->entries[t->count++];
        memcpy(e->config_id, config_id, ID_LEN + 1);
        e->queue = queue;
        *out = queue;
        queue = NULL;
    }
    pthread_rwlock_unlock(&t->lock);
    if (queue)
        (void)queue->close(queue, 0);
    return ret;
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
    /* A reader does not make the file: none yet means none stored. */
    int ret = stored_roots_queue(s, config_id, false, &queue);
    if (ret == 0)
        ret = stored_roots_queue_get(queue, NULL, size, out);
    if (ret == DB_NOTFOUND && s->root_groups)
        ret = root_groups_get(s->root_groups, config_id, size, out);
    return ret;
}
