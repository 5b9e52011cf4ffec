/* The store's insides, shared by the model sources only (the front never sees
 * db.h). Later model modules (events, tree, checkpoints, async requests)
 * add their DB handles to struct store and open them in store.c.
 *
 * Transactions: every write is one transaction run by store_txn_run, which
 * retries deadlocks. Storage failures become salog errors through
 * store_db_error, which also raises the must-exit flag on DB_RUNRECOVERY. */
#ifndef SALOG_STORE_INTERNAL_H
#define SALOG_STORE_INTERNAL_H

#include <db.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "codec/error.h"
#include "codec/value.h"
#include "model/store.h"

struct store {
    DB_ENV *env;
    /* The search indexes live in an environment of their own under
     * <data>/search: they are derived from the events, so their log records
     * (several KB per event) must not ride on the appenders' flushes. */
    DB_ENV *index_env;
    DB *tokens;        /* token id -> record JSON */
    DB *token_digests; /* 32-byte SHA-256 of the secret -> token id */
    DB *configs;       /* config id -> config JSON */
    DB *meta;          /* small key/value: "server_key", ... */
    DB *auth_epoch;    /* one record, the auth epoch (auth_epoch.h); a file of
                        * its own so that every request's read of it never
                        * waits for a writer of other records */
    char *data_dir;
    pid_t pid;         /* the opening process (a store is never shared across fork) */
    bool joined;       /* a member file for our pid exists (store_members.h) */
    bool member_file_ours; /* we made it: store_close removes it */
    bool watched;      /* store_watch ran failchk once */
    int must_exit;     /* set by the panic event callback; read with __atomic */
    /* The tamper-evident log (auditlog.h describes the keys). */
    DB *events;        /* id + be64 index -> canonical envelope JSON */
    DB *tiles;         /* id + be64 last leaf + u8 stratum -> 62 hashes, except
                        * bottom tiles, in tiles-<id>.db (tree_tiles.h) */
    DB *tile_edges;    /* id + u8 stratum -> be64 tile + its hashes so far */
    DB *heads;         /* id -> be64 size + be64 last received_at */
    DB *roots;         /* id + 32-byte root -> be64 size */
    DB *root_groups;   /* id + be64 group -> roots of 32 sizes, from stores made
                        * before the queues; NULL when absent (root_groups.h) */
    struct tree_queue_table *tree_queues; /* roots-<id>.db and tiles-<id>.db opened so far (tree_queues.h) */
    DB *checkpoints;   /* id + be64 size -> checkpoint JSON */
    DB *requests;      /* async request id -> stored reply JSON */
    DB *leases;        /* duty name -> lease JSON */
    /* Search (search.h describes the keys). The first four are in index_env
     * and rebuildable from events; result sets are in env. */
    DB *search_time;    /* id + be64 received_at + be64 index -> "" */
    DB *search_suffix;  /* id + field + 0x00 + suffix -> be64 index (DUPSORT) */
    DB *search_long;    /* id + field + 0x00 -> be64 index (DUPSORT) */
    DB *search_heads;   /* id -> be64 events indexed */
    DB *search_results; /* pas_ id -> stored result set */
    struct append_queue *append_queue; /* group commit of this process's appends */
    struct json_cache *config_cache; /* decoded configs (json_cache.h) */
    struct json_cache *token_cache;  /* decoded token records, by secret digest */
    struct config_peek_memo *config_peek_memo; /* configs_peek_at's last answer */
    struct tile_cache *tile_cache;   /* copies of upper Merkle tiles (tile_cache.h) */
};

/* Opens (making it when missing) one more database file of the main
 * environment, in its own auto-commit transaction; record_len != 0 gives
 * a queue its fixed record length. Returns 0 or a DB error. */
int store_open_db_file(store *s, DB **out, const char *file, DBTYPE type, u_int32_t pagesize, u_int32_t record_len);

/* configs_peek_at's memo (configs.c); new gives NULL when out of memory. */
typedef struct config_peek_memo config_peek_memo;
config_peek_memo *config_peek_memo_new(void);
void config_peek_memo_free(config_peek_memo *m);

/* Replaces the auth epoch (auth_epoch.h) inside txn: every transaction that
 * writes a token or a config calls it. Returns 0 or an error. */
int auth_epoch_bump(store *s, DB_TXN *txn);

/* How many times a transaction that lost a deadlock is tried again. */
#define STORE_DEADLOCK_RETRIES 8

/* Returned by a store_txn_fn to abort without a storage error: the
 * function has recorded its own (logical) outcome in its context. */
#define STORE_TXN_ROLLBACK (-20000)

/* Work done inside one transaction. Returns 0 to commit, a Berkeley DB
 * error (or STORE_TXN_ROLLBACK) to abort. It may be called again after a
 * deadlock, so it must reset anything it collected in ctx on entry. */
typedef int (*store_txn_fn)(store *s, DB_TXN *txn, void *ctx);

/* Begins a transaction, runs fn, commits or aborts; retries
 * DB_LOCK_DEADLOCK. Returns 0, STORE_TXN_ROLLBACK, or the DB error. */
int store_txn_run(store *s, store_txn_fn fn, void *ctx);
/* The same with DB_TXN->commit flags (e.g. DB_TXN_WRITE_NOSYNC). */
int store_txn_run_flags(store *s, store_txn_fn fn, void *ctx, u_int32_t commit_flags);
/* The same in index_env, for the search indexes only (a transaction never
 * spans the two environments). */
int store_index_txn_run_flags(store *s, store_txn_fn fn, void *ctx, u_int32_t commit_flags);
/* Runs fn with no transaction (txn NULL): each read sees committed data,
 * not one snapshot; retries lost deadlocks. For read-only work. */
int store_read_run(store *s, store_txn_fn fn, void *ctx);

/* Maps a Berkeley DB error to a salog error: DB_RUNRECOVERY (or any error
 * after a panic) -> SALOG_E_RUNRECOVERY and must-exit; anything else ->
 * SALOG_E_INTERNAL with `what` and db_strerror in the detail. */
salog_status store_db_error(store *s, int ret, const char *what, salog_err *err);

/* Marks the store unusable (the worker must exit). */
void store_set_must_exit(store *s);

/* DB->get into a malloc'd buffer: *val (caller frees) and *val_len.
 * Returns 0, DB_NOTFOUND or a DB error. */
int store_get_alloc(DB *db, DB_TXN *txn, const void *key, size_t key_len, void **val,
                    size_t *val_len, u_int32_t flags);
/* DB->get into buf (cap bytes); *len = the record's size (a longer one is
 * DB_BUFFER_SMALL). Outside a transaction (txn NULL) a lost deadlock is
 * retried up to STORE_READ_RETRIES times. Returns 0, DB_NOTFOUND or a DB
 * error. */
#define STORE_READ_RETRIES 8
int store_get_into(DB *db, DB_TXN *txn, const void *key, size_t key_len, void *buf, size_t cap, size_t *len,
                   u_int32_t flags);
/* Only bytes [off, off + range_len) of the record into buf (range_len
 * bytes); *len = how many it had there (fewer when the record ends sooner,
 * 0 when it ends before off). Same retries and returns as store_get_into. */
int store_get_range(DB *db, DB_TXN *txn, const void *key, size_t key_len, size_t off, size_t range_len,
                    void *buf, size_t *len, u_int32_t flags);
int store_put(DB *db, DB_TXN *txn, const void *key, size_t key_len, const void *val,
              size_t val_len, u_int32_t flags);
int store_del(DB *db, DB_TXN *txn, const void *key, size_t key_len);

/* Calls fn for every record of db in key order, within txn (read-committed:
 * each record is committed data, the whole is not a snapshot). fn returns 0
 * to go on, anything else to stop (returned as is). Returns 0 at the end,
 * fn's value, or a DB error. */
typedef int (*store_each_fn)(const void *key, size_t key_len, const void *val, size_t val_len,
                             void *ctx);
int store_scan(DB *db, DB_TXN *txn, store_each_fn fn, void *ctx);

/* Stored JSON documents (compact JSON via codec_json_encode, read back with
 * codec_json_decode). store_get_json: 0 with *out set, DB_NOTFOUND, a DB
 * error, or ENOMEM / EINVAL (undecodable record). */
int store_get_json(DB *db, DB_TXN *txn, const char *key, sv_value **out, u_int32_t flags);
int store_put_json(DB *db, DB_TXN *txn, const char *key, const sv_value *v, u_int32_t flags);

/* Nesting limit for documents the store wrote itself. */
#define STORE_JSON_MAX_DEPTH 64

#endif
