/* The Berkeley DB environment and its databases (API.md I.9, PLATFORM.md
 * §5). Every opener uses identical settings: set_isalive and
 * set_thread_count before open (so failchk can clean up after a dead
 * process), DB_REGISTER | DB_RECOVER and no DB_FAILCHK open flag (an opener
 * with DB_FAILCHK hung after a process died inside the library; plain
 * recovery took tens of ms). A panic reaches us through the event callback
 * and only sets a flag: the worker finishes its reply and exits. */
#include "model/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/codec.h"
#include "model/append_queue.h"
#include "model/json_cache.h"
#include "model/root_groups.h"
#include "model/tree_queues.h"
#include "model/store_members.h"
#include "model/tile_cache.h"
#include "model/tree_tiles.h"

/* Enough for the Merkle tiles and stored roots of about 1.8 million events
 * (69 + 36 MB per million) besides the hot pages of the other databases.
 * The region is a sparse file: a small store takes only the pages it uses.
 * A DB_CONFIG file in the data directory overrides it (README.md). */
#define STORE_CACHE_BYTES   (192u * 1024u * 1024u)
/* The search indexes' own environment (STORE_INDEX_DIR): its hot pages are
 * the right edges of the suffix btrees being filled. */
#define STORE_INDEX_CACHE_BYTES (64u * 1024u * 1024u)
#define STORE_INDEX_DIR     "search"
#define STORE_LOG_BUFFER    (1024u * 1024u)
#define STORE_THREAD_COUNT  256u
/* A batch of 1000 events holds a few hundred page locks and a lock on
 * each of its 1000 stored-root records (a queue locks records) until it
 * commits; leave room for a full batch on each of dozens of configs at
 * once. Locks take region memory only when used. */
#define STORE_MAX_LOCKS     50000u
/* The log region keeps a file name for every open database handle of every
 * process: with two queues per config (tree_queues.h), many more than the
 * fixed set of files (Berkeley DB's default is about 60 KB). */
#define STORE_LOG_REGION    (2u * 1024u * 1024u)
#define STORE_FILE_MODE     0660
#define STORE_DIR_MODE      0770
#define STORE_MARKER_NAME   "salog.initialised"

void store_set_must_exit(store *s)
{
    if (s)
        __atomic_store_n(&s->must_exit, 1, __ATOMIC_SEQ_CST);
}

bool store_must_exit(const store *s)
{
    return s && __atomic_load_n(&s->must_exit, __ATOMIC_SEQ_CST) != 0;
}

const char *store_data_dir(const store *s)
{
    return s->data_dir;
}

/* A process is alive if it exists, even under another uid (EPERM). */
static int store_is_alive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
    (void)tid;
    (void)flags;
    /* Asked on every contended mutex, mostly about our own threads: spare
     * the system call (costly under this hypervisor) when it is us. */
    store *s = env->app_private;
    if (s && pid == s->pid)
        return 1;
    return kill(pid, 0) == 0 || errno == EPERM;
}

static void store_on_event(DB_ENV *env, u_int32_t event, void *info)
{
    (void)info;
    store *s = env->app_private;
    switch (event) {
    case DB_EVENT_PANIC:
    case DB_EVENT_REG_PANIC:
#ifdef DB_EVENT_FAILCHK_PANIC
    case DB_EVENT_FAILCHK_PANIC:
#endif
        store_set_must_exit(s);
        break;
    default:
        break;
    }
}

salog_status store_db_error(store *s, int ret, const char *what, salog_err *err)
{
    if (ret == DB_RUNRECOVERY || store_must_exit(s)) {
        store_set_must_exit(s);
        return salog_err_set(err, SALOG_E_RUNRECOVERY, NULL, NULL,
                             "storage needs recovery (%s)", what);
    }
    return salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL, "%s: %s", what, db_strerror(ret));
}

int store_txn_run(store *s, store_txn_fn fn, void *ctx)
{
    return store_txn_run_flags(s, fn, ctx, 0);
}

static int store_txn_run_in(store *s, DB_ENV *env, store_txn_fn fn, void *ctx, u_int32_t commit_flags)
{
    int ret = 0;
    for (int attempt = 0; attempt <= STORE_DEADLOCK_RETRIES; attempt++) {
        DB_TXN *txn = NULL;
        ret = env->txn_begin(env, NULL, &txn, 0);
        if (ret != 0)
            return ret;
        ret = fn(s, txn, ctx);
        if (ret == 0)
            ret = txn->commit(txn, commit_flags);
        else
            (void)txn->abort(txn);
        if (ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED)
            return ret;
        /* Lost a deadlock: back off a little, growing, then try again. */
        usleep((useconds_t)(1000u << (attempt < 6 ? attempt : 6)));
    }
    return ret;
}

int store_txn_run_flags(store *s, store_txn_fn fn, void *ctx, u_int32_t commit_flags)
{
    return store_txn_run_in(s, s->env, fn, ctx, commit_flags);
}

int store_index_txn_run_flags(store *s, store_txn_fn fn, void *ctx, u_int32_t commit_flags)
{
    return store_txn_run_in(s, s->index_env, fn, ctx, commit_flags);
}

int store_read_run(store *s, store_txn_fn fn, void *ctx)
{
    int ret = 0;
    for (int attempt = 0; attempt <= STORE_DEADLOCK_RETRIES; attempt++) {
        ret = fn(s, NULL, ctx);
        if (ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED)
            return ret;
        usleep((useconds_t)(1000u << (attempt < 6 ? attempt : 6)));
    }
    return ret;
}

int store_get_alloc(DB *db, DB_TXN *txn, const void *key, size_t key_len, void **val,
                    size_t *val_len, u_int32_t flags)
{
    DBT k, v;
    memset(&k, 0, sizeof k);
    memset(&v, 0, sizeof v);
    k.data = (void *)key;
    k.size = (u_int32_t)key_len;
    v.flags = DB_DBT_MALLOC;
    *val = NULL;
    *val_len = 0;
    int ret = db->get(db, txn, &k, &v, flags);
    if (ret == 0) {
        *val = v.data;
        *val_len = v.size;
    }
    return ret;
}

/* DB->get into buf: the whole record (range_len 0, cap bytes at most), or
 * only its bytes [range_off, range_off + range_len) (DB_DBT_PARTIAL). Lost
 * deadlocks outside a transaction are retried. */
static int store_get_buffer(DB *db, DB_TXN *txn, const void *key, size_t key_len, void *buf, size_t cap,
                            size_t range_off, size_t range_len, size_t *len, u_int32_t flags)
{
    int ret = 0;
    for (int attempt = 0; attempt <= STORE_READ_RETRIES; attempt++) {
        DBT k, v;
        memset(&k, 0, sizeof k);
        memset(&v, 0, sizeof v);
        k.data = (void *)key;
        k.size = (u_int32_t)key_len;
        v.data = buf;
        v.ulen = (u_int32_t)cap;
        v.flags = DB_DBT_USERMEM;
        if (range_len > 0) {
            v.flags |= DB_DBT_PARTIAL;
            v.doff = (u_int32_t)range_off;
            v.dlen = (u_int32_t)range_len;
        }
        ret = db->get(db, txn, &k, &v, flags);
        *len = v.size;
        if (txn || (ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED))
            break;
        usleep(1000u << (attempt < 6 ? attempt : 6));
    }
    return ret;
}

int store_get_into(DB *db, DB_TXN *txn, const void *key, size_t key_len, void *buf, size_t cap, size_t *len,
                   u_int32_t flags)
{
    return store_get_buffer(db, txn, key, key_len, buf, cap, 0, 0, len, flags);
}

int store_get_range(DB *db, DB_TXN *txn, const void *key, size_t key_len, size_t off, size_t range_len,
                    void *buf, size_t *len, u_int32_t flags)
{
    return store_get_buffer(db, txn, key, key_len, buf, range_len, off, range_len, len, flags);
}

int store_put(DB *db, DB_TXN *txn, const void *key, size_t key_len, const void *val,
              size_t val_len, u_int32_t flags)
{
    DBT k, v;
    memset(&k, 0, sizeof k);
    memset(&v, 0, sizeof v);
    k.data = (void *)key;
    k.size = (u_int32_t)key_len;
    v.data = (void *)val;
    v.size = (u_int32_t)val_len;
    return db->put(db, txn, &k, &v, flags);
}

int store_del(DB *db, DB_TXN *txn, const void *key, size_t key_len)
{
    DBT k;
    memset(&k, 0, sizeof k);
    k.data = (void *)key;
    k.size = (u_int32_t)key_len;
    return db->del(db, txn, &k, 0);
}

int store_scan(DB *db, DB_TXN *txn, store_each_fn fn, void *ctx)
{
    DBC *cur = NULL;
    DBT k, v;
    memset(&k, 0, sizeof k);
    memset(&v, 0, sizeof v);
    k.flags = DB_DBT_REALLOC;
    v.flags = DB_DBT_REALLOC;
    /* Degree 2: page locks are released as the cursor moves on, so a scan
     * of a large database does not exhaust the lock table. */
    int ret = db->cursor(db, txn, &cur, DB_READ_COMMITTED);
    if (ret != 0)
        return ret;
    while ((ret = cur->get(cur, &k, &v, DB_NEXT)) == 0) {
        ret = fn(k.data, k.size, v.data, v.size, ctx);
        if (ret != 0)
            break;
    }
    if (ret == DB_NOTFOUND)
        ret = 0;
    int cret = cur->close(cur);
    if (ret == 0)
        ret = cret;
    free(k.data);
    free(v.data);
    return ret;
}

int store_get_json(DB *db, DB_TXN *txn, const char *key, sv_value **out, u_int32_t flags)
{
    void *buf = NULL;
    size_t len = 0;
    *out = NULL;
    int ret = store_get_alloc(db, txn, key, strlen(key), &buf, &len, flags);
    if (ret != 0)
        return ret;
    salog_err err;
    salog_err_init(&err);
    if (codec_json_decode(out, buf, len, STORE_JSON_MAX_DEPTH, &err) != SALOG_OK)
        ret = EINVAL;
    else if (*out == NULL)
        ret = ENOMEM;
    free(buf);
    return ret;
}

int store_put_json(DB *db, DB_TXN *txn, const char *key, const sv_value *v, u_int32_t flags)
{
    sbuf b = {0};
    int ret;
    if (codec_json_encode(&b, v) != 0 || b.oom) {
        ret = ENOMEM;
        goto out;
    }
    ret = store_put(db, txn, key, strlen(key), b.data, b.len, flags);
out:
    sbuf_free(&b);
    return ret;
}

/* Opens one database inside its own auto-commit transaction. Concurrent
 * first openers can deadlock on creating the file, so retry. */
static int store_open_db_in(DB_ENV *env, DB **out, const char *file, DBTYPE type, u_int32_t db_flags,
                            u_int32_t pagesize, u_int32_t record_len)
{
    int ret = 0;
    *out = NULL;
    for (int attempt = 0; attempt <= STORE_DEADLOCK_RETRIES; attempt++) {
        DB *db = NULL;
        ret = db_create(&db, env, 0);
        if (ret != 0)
            return ret;
        if ((db_flags != 0 && (ret = db->set_flags(db, db_flags)) != 0) ||
            (pagesize != 0 && (ret = db->set_pagesize(db, pagesize)) != 0) ||
            (record_len != 0 && ((ret = db->set_re_len(db, record_len)) != 0 || (ret = db->set_re_pad(db, 0)) != 0))) {
            (void)db->close(db, 0);
            return ret;
        }
        /* DB_UNKNOWN: an existing file, of whichever type it was made. */
        ret = db->open(db, NULL, file, NULL, type,
                       DB_AUTO_COMMIT | DB_THREAD | (type == DB_UNKNOWN ? 0 : DB_CREATE), STORE_FILE_MODE);
        if (ret == 0) {
            *out = db;
            return 0;
        }
        (void)db->close(db, 0);
        if (ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED)
            return ret;
        usleep(1000u << (attempt < 6 ? attempt : 6));
    }
    return ret;
}

int store_open_db_file(store *s, DB **out, const char *file, DBTYPE type, u_int32_t pagesize, u_int32_t record_len)
{
    return store_open_db_in(s->env, out, file, type, 0, pagesize, record_len);
}

/* root_groups.db, the stored roots of a store made before the queues
 * (stored_roots.h): opened when it exists, read only, never made. */
static int store_open_legacy_root_groups(store *s)
{
    int ret = store_open_db_file(s, &s->root_groups, "root_groups.db", DB_UNKNOWN, 0, 0);
    return ret == ENOENT ? 0 : ret;
}

/* tiles.db: a hash database since hash lookups stopped growing with the
 * log (tree_tiles.h); a store made before keeps its btree, which reads the
 * same records by the same keys. An existing file is opened as whatever it
 * is; a missing one is made. Both steps go through Berkeley DB (not a
 * stat): another opener's creating transaction may still abort and take
 * the file with it, and then this one makes it. */
static int store_open_tiles(store *s)
{
    int ret = ENOENT;
    for (int attempt = 0; attempt <= STORE_DEADLOCK_RETRIES && ret == ENOENT; attempt++) {
        ret = store_open_db_file(s, &s->tiles, "tiles.db", DB_UNKNOWN, 0, 0);
        if (ret == ENOENT)
            ret = store_open_db_file(s, &s->tiles, "tiles.db", DB_HASH, TILE_DB_PAGESIZE, 0);
    }
    return ret;
}

static int store_open_db(store *s, DB **out, const char *file, DBTYPE type)
{
    return store_open_db_file(s, out, file, type, 0, 0);
}

static void store_close_db(DB **db)
{
    if (*db) {
        (void)(*db)->close(*db, 0);
        *db = NULL;
    }
}

void store_close(store *s)
{
    if (!s)
        return;
    store_close_db(&s->tokens);
    store_close_db(&s->token_digests);
    store_close_db(&s->configs);
    store_close_db(&s->meta);
    store_close_db(&s->auth_epoch);
    store_close_db(&s->events);
    store_close_db(&s->tiles);
    store_close_db(&s->tile_edges);
    store_close_db(&s->heads);
    store_close_db(&s->roots);
    store_close_db(&s->root_groups);
    tree_queue_table_free(s->tree_queues);
    s->tree_queues = NULL;
    store_close_db(&s->checkpoints);
    store_close_db(&s->requests);
    store_close_db(&s->leases);
    store_close_db(&s->search_time);
    store_close_db(&s->search_suffix);
    store_close_db(&s->search_long);
    store_close_db(&s->search_heads);
    store_close_db(&s->search_results);
    if (s->index_env)
        (void)s->index_env->close(s->index_env, 0);
    if (s->env)
        (void)s->env->close(s->env, 0);
    if (s->member_file_ours)
        store_members_leave(s->data_dir, s->pid);
    append_queue_free(s->append_queue);
    json_cache_free(s->config_cache);
    json_cache_free(s->token_cache);
    config_peek_memo_free(s->config_peek_memo);
    tile_cache_free(s->tile_cache);
    free(s->data_dir);
    free(s);
}

/* Opens the environment at `home` into *out with the settings every opener
 * shares; `cache_bytes` is the default a DB_CONFIG in `home` may override.
 * `zero_log_files` for an environment whose commits wait for their flush. */
static salog_status store_open_env_at(store *s, DB_ENV **out, const char *home, u_int32_t cache_bytes,
                                      bool zero_log_files, salog_err *err)
{
    int ret = db_env_create(out, 0);
    if (ret != 0) {
        *out = NULL;
        return store_db_error(s, ret, "db_env_create", err);
    }
    DB_ENV *env = *out;
    env->app_private = s;
    env->set_errpfx(env, "salog/bdb");
    /* Informational messages (failchk's "Freeing ...") default to stdout,
     * which must never carry anything but replies. */
    env->set_msgfile(env, stderr);
    const char *what = "environment settings";
    /* DB_LOG_ZERO (the events' environment): each new log file is written
     * full of zeros once, when it is created, instead of being left sparse.
     * Every durable commit then overwrites blocks the file already has, so
     * its fdatasync writes the log page and nothing else; in a sparse file
     * it must also allocate the block and write the allocation. Measured
     * here (ext4): 7,000-byte write + fdatasync 243 us in a sparse file,
     * 165 us in a zeroed one; under /v1/log at 16 connections (perf trace)
     * the worker's fdatasync took 0.76 ms against 0.97 ms, with 0.33 disk
     * writes per request against 0.39. The zeroing costs one 10 MB write
     * per log file, about 15 ms here. The search index's environment
     * commits without writing its log (DB_TXN_NOSYNC; the log reaches the
     * disk in the background), so there zeroing would only add writes: 400
     * log bytes per event at /v1/log@16, a new 10 MB file every 5 s. */
    /* Thread table and liveness check must exist before open, identically
     * in every process (PLATFORM.md §5.3 item 5). */
    if ((ret = env->set_isalive(env, store_is_alive)) != 0 ||
        (ret = env->set_thread_count(env, STORE_THREAD_COUNT)) != 0 ||
        (ret = env->set_event_notify(env, store_on_event)) != 0 ||
        (ret = env->set_cachesize(env, 0, cache_bytes, 1)) != 0 ||
        (ret = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0 ||
        (ret = env->set_lk_max_locks(env, STORE_MAX_LOCKS)) != 0 ||
        (ret = env->set_lk_max_objects(env, STORE_MAX_LOCKS)) != 0 ||
        (ret = env->set_lg_bsize(env, STORE_LOG_BUFFER)) != 0 ||
        (ret = env->set_lg_regionmax(env, STORE_LOG_REGION)) != 0 ||
        (ret = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1)) != 0 ||
        (ret = env->log_set_config(env, DB_LOG_ZERO, zero_log_files ? 1 : 0)) != 0)
        return store_db_error(s, ret, what, err);
    u_int32_t flags = DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL |
                      DB_THREAD | DB_REGISTER | DB_RECOVER;
    ret = env->open(env, home, flags, STORE_FILE_MODE);
    if (ret != 0)
        return store_db_error(s, ret, "opening the environment", err);
    return SALOG_OK;
}

/* The search index environment, <data>/search (made when missing: stores
 * from before it existed get an empty index, which the duty fills). */
static salog_status store_open_index_env(store *s, salog_err *err)
{
    char home[4096];
    int n = snprintf(home, sizeof home, "%s/%s", s->data_dir, STORE_INDEX_DIR);
    if (n < 0 || (size_t)n >= sizeof home)
        return salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL, "the data directory path is too long");
    if (mkdir(home, STORE_DIR_MODE) == 0) {
        /* Same group as the data directory, so that every worker user the
         * directory admits can open it (a failure shows at the open). */
        struct stat ds;
        if (stat(s->data_dir, &ds) == 0 && chown(home, (uid_t)-1, ds.st_gid) != 0)
            fprintf(stderr, "salog: cannot give %s the data directory's group: %s\n", home, strerror(errno));
    } else if (errno != EEXIST) {
        return salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL, "cannot create %s: %s", home,
                             strerror(errno));
    }
    return store_open_env_at(s, &s->index_env, home, STORE_INDEX_CACHE_BYTES, false, err);
}

salog_status store_open(store **out, const char *data_dir, bool create, salog_err *err)
{
    salog_status st = SALOG_OK;
    *out = NULL;
    /* umask is per process: files made here must be group-writable for the
     * other workers (www-data) whatever the launcher's umask was. */
    mode_t old_mask = umask(007);
    store *s = calloc(1, sizeof *s);
    if (!s) {
        st = salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL, "out of memory");
        goto out;
    }
    s->pid = getpid();
    s->data_dir = strdup(data_dir);
    s->append_queue = append_queue_new();
    s->config_cache = json_cache_new();
    s->token_cache = json_cache_new();
    s->config_peek_memo = config_peek_memo_new();
    s->tile_cache = tile_cache_new();
    s->tree_queues = tree_queue_table_new();
    if (!s->data_dir || !s->append_queue || !s->config_cache || !s->token_cache || !s->config_peek_memo ||
        !s->tile_cache || !s->tree_queues) {
        st = salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL, "out of memory");
        goto out;
    }
    if (create && mkdir(data_dir, STORE_DIR_MODE) != 0 && errno != EEXIST) {
        st = salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL,
                           "cannot create the data directory: %s", strerror(errno));
        goto out;
    }
    struct stat sb;
    if (stat(data_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        st = salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL,
                           "the data directory is missing or not a directory");
        goto out;
    }
    /* Stores made before the tree moved to tiles keep it in nodes.db, which
     * this version cannot read: say so rather than fail every proof. */
    char old_nodes[4096];
    snprintf(old_nodes, sizeof old_nodes, "%s/nodes.db", data_dir);
    if (stat(old_nodes, &sb) == 0) {
        st = salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL,
                           "%s holds a tree in the old nodes.db layout, which this salog cannot read; "
                           "initialise a new data directory",
                           data_dir);
        goto out;
    }
    /* Before the environment opens, so a death inside the open is seen;
     * without the member file store_watch falls back to a failchk per call. */
    int joined = store_members_join(data_dir, s->pid);
    s->joined = joined == 0 || joined == EEXIST;
    s->member_file_ours = joined == 0;
    st = store_open_env_at(s, &s->env, s->data_dir, STORE_CACHE_BYTES, true, err);
    if (st == SALOG_OK)
        st = store_open_index_env(s, err);
    if (st != SALOG_OK)
        goto out;
    int ret;
    if ((ret = store_open_db(s, &s->tokens, "tokens.db", DB_BTREE)) != 0 ||
        (ret = store_open_db(s, &s->token_digests, "token_digests.db", DB_BTREE)) != 0 ||
        (ret = store_open_db(s, &s->configs, "configs.db", DB_BTREE)) != 0 ||
        (ret = store_open_db(s, &s->meta, "meta.db", DB_BTREE)) != 0 ||
        (ret = store_open_db(s, &s->auth_epoch, "auth_epoch.db", DB_BTREE)) != 0 ||
        (ret = store_open_db(s, &s->events, "events.db", DB_BTREE)) != 0 ||
        (ret = store_open_tiles(s)) != 0 ||
        (ret = store_open_db_file(s, &s->tile_edges, "tile_edges.db", DB_BTREE, TILE_EDGE_DB_PAGESIZE, 0)) != 0 ||
        (ret = store_open_db(s, &s->heads, "heads.db", DB_BTREE)) != 0 ||
        (ret = store_open_db(s, &s->roots, "roots.db", DB_BTREE)) != 0 ||
        (ret = store_open_legacy_root_groups(s)) != 0 ||
        (ret = store_open_db(s, &s->checkpoints, "checkpoints.db", DB_BTREE)) != 0 ||
        (ret = store_open_db(s, &s->requests, "requests.db", DB_BTREE)) != 0 ||
        (ret = store_open_db(s, &s->leases, "leases.db", DB_BTREE)) != 0 ||
        (ret = store_open_db_in(s->index_env, &s->search_time, "search_time.db", DB_BTREE, 0, 0, 0)) != 0 ||
        (ret = store_open_db_in(s->index_env, &s->search_suffix, "search_suffix.db", DB_BTREE,
                                DB_DUP | DB_DUPSORT, 0, 0)) != 0 ||
        (ret = store_open_db_in(s->index_env, &s->search_long, "search_long.db", DB_BTREE,
                                DB_DUP | DB_DUPSORT, 0, 0)) != 0 ||
        (ret = store_open_db_in(s->index_env, &s->search_heads, "search_heads.db", DB_BTREE, 0, 0, 0)) != 0 ||
        (ret = store_open_db(s, &s->search_results, "search_results.db", DB_BTREE)) != 0) {
        st = store_db_error(s, ret, "opening the databases", err);
        goto out;
    }
    *out = s;
    s = NULL;
out:
    umask(old_mask);
    store_close(s);
    return st;
}

salog_status store_watch(store *s)
{
    pid_t dead[STORE_MEMBERS_MAX_DEAD];
    size_t count = 0;
    if (store_must_exit(s))
        return SALOG_E_RUNRECOVERY;
    /* Without a member file, or when the directory cannot be read, fall back
     * to a failchk per call: correctness first. */
    if (s->watched && s->joined && store_members_dead(s->data_dir, dead, &count) == 0 && count == 0)
        return SALOG_OK;
    salog_status st = store_failchk(s);
    if (st == SALOG_OK) {
        s->watched = true;
        for (size_t i = 0; i < count; i++)
            store_members_forget_dead(s->data_dir, dead[i]);
    }
    return st;
}

salog_status store_failchk(store *s)
{
    int ret = s->env->failchk(s->env, 0);
    if (ret == 0 || ret == EBUSY) {
        int iret = s->index_env->failchk(s->index_env, 0);
        if (iret != 0 && iret != EBUSY)
            ret = iret;
    }
    /* EBUSY ("unable to destroy mutex") leaves the environment usable
     * (PLATFORM.md §5.3 item 1). */
    if (ret == DB_RUNRECOVERY) {
        store_set_must_exit(s);
        return SALOG_E_RUNRECOVERY;
    }
    if (store_must_exit(s))
        return SALOG_E_RUNRECOVERY;
    if (ret != 0 && ret != EBUSY)
        return SALOG_E_INTERNAL;
    return SALOG_OK;
}

void store_checkpoint(store *s)
{
    /* Logs before the checkpoint are removed by DB_LOG_AUTO_REMOVE. */
    int ret = s->env->txn_checkpoint(s->env, 1024, 1, 0);
    if (ret != DB_RUNRECOVERY)
        ret = s->index_env->txn_checkpoint(s->index_env, 1024, 1, 0);
    if (ret == DB_RUNRECOVERY)
        store_set_must_exit(s);
}

static char *store_marker_path(const char *data_dir, const char *name)
{
    size_t n = strlen(data_dir) + 1 + strlen(name) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", data_dir, name);
    return p;
}

bool store_is_initialised(const char *data_dir)
{
    char *path = store_marker_path(data_dir, STORE_MARKER_NAME);
    if (!path)
        return false;
    struct stat sb;
    bool ok = stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
    free(path);
    return ok;
}

/* Durable write of the marker: temp file, fsync, rename, fsync the dir. */
salog_status store_mark_initialised(store *s, salog_err *err)
{
    salog_status st = SALOG_OK;
    char *path = store_marker_path(s->data_dir, STORE_MARKER_NAME);
    char *tmp = store_marker_path(s->data_dir, "." STORE_MARKER_NAME ".tmp");
    int fd = -1, dfd = -1;
    mode_t old_mask = umask(007);
    if (!path || !tmp) {
        st = salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL, "out of memory");
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, STORE_FILE_MODE);
    if (fd < 0)
        goto fail;
    static const char text[] = "salog data directory\n";
    if (write(fd, text, sizeof text - 1) != (ssize_t)(sizeof text - 1) || fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    dfd = open(s->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0)
        goto fail;
    goto out;
fail:
    st = salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL,
                       "cannot write the initialisation marker: %s", strerror(errno));
    if (tmp)
        (void)unlink(tmp);
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    umask(old_mask);
    free(path);
    free(tmp);
    return st;
}
