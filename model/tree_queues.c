/* Per-config queues of the tree (tree_queues.h). */
#include "model/tree_queues.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/ids.h"
#include "model/merkle.h"
#include "model/store_internal.h"
#include "model/tree_tiles.h"

typedef struct {
    char config_id[ID_LEN + 1];
    DB *queues[TREE_QUEUE_KINDS]; /* NULL: not opened yet */
} tree_queue_entry;

/* Entries are only added, and a handle stays open until the store closes,
 * so a handle found under the lock is used without it (DB_THREAD). The
 * search is linear: a shared read lock and a 36-byte compare per config,
 * small beside the Berkeley DB read that follows for the dozens of configs
 * a store has. */
struct tree_queue_table {
    pthread_rwlock_t lock;
    tree_queue_entry *entries;
    size_t count, cap;
};

static const struct {
    const char *prefix;
    u_int32_t record_len;
} tree_queue_files[TREE_QUEUE_KINDS] = {
    [TREE_QUEUE_ROOTS] = {"roots", MERKLE_HASH_LEN},
    [TREE_QUEUE_TILES] = {"tiles", TILE_MAX_BYTES},
};

tree_queue_table *tree_queue_table_new(void)
{
    tree_queue_table *t = calloc(1, sizeof *t);
    if (t && pthread_rwlock_init(&t->lock, NULL) != 0) {
        free(t);
        t = NULL;
    }
    return t;
}

void tree_queue_table_free(tree_queue_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->count; i++)
        for (size_t k = 0; k < TREE_QUEUE_KINDS; k++)
            if (t->entries[i].queues[k])
                (void)t->entries[i].queues[k]->close(t->entries[i].queues[k], 0);
    free(t->entries);
    pthread_rwlock_destroy(&t->lock);
    free(t);
}

/* The entry of config_id, or NULL; called with the lock held. */
static tree_queue_entry *tq_find(const tree_queue_table *t, const char *config_id)
{
    for (size_t i = 0; i < t->count; i++)
        if (memcmp(t->entries[i].config_id, config_id, ID_LEN) == 0)
            return &t->entries[i];
    return NULL;
}

/* The entry of config_id, added when missing; called with the write lock. */
static int tq_entry(tree_queue_table *t, const char *config_id, tree_queue_entry **out)
{
    *out = tq_find(t, config_id);
    if (*out)
        return 0;
    if (t->count == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 4;
        tree_queue_entry *grown = realloc(t->entries, cap * sizeof *grown);
        if (!grown)
            return ENOMEM;
        t->entries = grown;
        t->cap = cap;
    }
    *out = &t->entries[t->count++];
    memset(*out, 0, sizeof **out);
    memcpy((*out)->config_id, config_id, ID_LEN + 1);
    return 0;
}

int tree_queue_open(store *s, const char *config_id, tree_queue_kind kind, DB **out)
{
    tree_queue_table *t = s->tree_queues;
    *out = NULL;
    /* The id becomes part of a file name. */
    if ((unsigned)kind >= TREE_QUEUE_KINDS || !id_is_valid("pci_", config_id))
        return EINVAL;
    pthread_rwlock_rdlock(&t->lock);
    tree_queue_entry *e = tq_find(t, config_id);
    *out = e ? e->queues[kind] : NULL;
    pthread_rwlock_unlock(&t->lock);
    if (*out)
        return 0;
    /* Opened without the lock: an open may wait for another process that
     * is making the file, and the other configs' lookups must not wait
     * with it. Made with the store's mode under the process umask (007 in
     * salog.fcgi and salog, API.md I.9). */
    char file[64];
    int len = snprintf(file, sizeof file, "%s-%s.db", tree_queue_files[kind].prefix, config_id);
    if (len < 0 || (size_t)len >= sizeof file)
        return EINVAL;
    DB *queue = NULL;
    int ret = store_open_db_file(s, &queue, file, DB_QUEUE, TREE_QUEUE_PAGESIZE, tree_queue_files[kind].record_len);
    if (ret != 0)
        return ret;
    pthread_rwlock_wrlock(&t->lock);
    if ((ret = tq_entry(t, config_id, &e)) == 0) {
        if (e->queues[kind]) {
            *out = e->queues[kind]; /* another thread opened it meanwhile: keep one handle */
        } else {
            e->queues[kind] = queue;
            *out = queue;
            queue = NULL;
        }
    }
    pthread_rwlock_unlock(&t->lock);
    if (queue)
        (void)queue->close(queue, 0);
    return ret;
}
