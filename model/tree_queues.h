/* The per-config Berkeley DB queues of the tree (internal to model/): a
 * queue finds a record's page and slot by arithmetic on its number, so a
 * lookup touches the meta page and one data page at any size, where a
 * hash lookup also searches its bucket page and a btree descends. Queues
 * cannot share a file: each config has its own.
 *
 *   roots-<config id>.db  record size   -> the root of that size, 32 bytes
 *                         (stored_roots.h)
 *   tiles-<config id>.db  record t + 1  -> complete bottom tile t, 62 hashes
 *                         (tree_tiles.h)
 *
 * Record numbers are 32-bit; TREE_QUEUE_MAX_RECNO is the last one used (a
 * put at UINT32_MAX wraps the queue's next-record pointer to 1, and the
 * queue then reads as empty). Each queue holds a file descriptor in each
 * process that has used it. */
#ifndef SALOG_TREE_QUEUES_H
#define SALOG_TREE_QUEUES_H

#include <db.h>
#include <stdbool.h>
#include <stdint.h>

#include "model/store.h"

#define TREE_QUEUE_MAX_RECNO (UINT32_MAX - 1u)
#define TREE_QUEUE_PAGESIZE 65536

typedef enum { TREE_QUEUE_ROOTS, TREE_QUEUE_TILES, TREE_QUEUE_KINDS } tree_queue_kind;

/* The open queues of one process (one per store, in struct store). */
typedef struct tree_queue_table tree_queue_table;

/* NULL when out of memory. */
tree_queue_table *tree_queue_table_new(void);
/* Closes every queue; called before the environment closes. NULL is a no-op. */
void tree_queue_table_free(tree_queue_table *t);

/* The `kind` queue of config_id, opened on first use in this process,
 * outside any transaction (a handle opened in a transaction that aborts
 * closes with it); later calls return the same handle, which the table
 * owns. A missing file is made, by readers too (a config with nothing
 * appended since the queues came): an empty queue is harmless, and a
 * reader that went without one would miss what an append in another
 * process puts in the queue it makes meanwhile. Thread-safe. Returns 0,
 * EINVAL (not a config id), ENOMEM or a Berkeley DB error. */
int tree_queue_open(store *s, const char *config_id, tree_queue_kind kind, DB **out);

#endif
