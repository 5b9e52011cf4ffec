/* Download files and export jobs (exports.h).
 *
 * Records live in the `meta` database:
 *   "dl:<token>"       -> {file_name, expires_at_us, path}  (path relative to DATA)
 *   "job:<request_id>" -> {state, token_id, config_id, format, start_us, end_us,
 *                          descending, order_by, verbose, token_restriction?,
 *                          expires_at_us, created_at_us, claim?, pid?,
 *                          claimed_at_us?, download_token?, detail?}
 * state is "pending", "running", "done" or "failed".
 *
 * A download is written through one streaming writer (dl_writer): a temp
 * file DATA/downloads/.tmp-<token>.gz fed through zlib's gzip deflate, then
 * fsync, rename to <token>.gz, fsync of the directory, and only then the
 * record. A crash before the record leaves an orphan file, which
 * downloads_expire removes once it is an hour old.
 *
 * Export jobs. Selection: received_at never decreases along the tree
 * (auditlog.h), so the first event of the range is found by a binary search
 * over the event indexes and the walk stops at the first event after `end`:
 * the cost is the range, not the log. Events appended after the job started
 * are not part of it. At most EXPORT_MAX_EVENTS events: a larger range fails
 * the job with a detail asking for a shorter range (a silently truncated
 * export would look complete). Ordering by a field holds the matches' sort
 * keys in memory (a few tens of MB at the cap). The file is written in
 * chunks of EXPORT_CHUNK search events, so no more than one chunk of events
 * is held at a time; each chunk reads the latest checkpoint afresh, so a
 * checkpoint sealed during a long export shows in the later chunks'
 * `published` and proofs.
 *
 * Claiming: a job is switched pending -> running (with a random claim, the
 * pid and the time) in one transaction that reads it with DB_RMW, so two
 * threads or processes never both run it. A running job is taken over when
 * its claimer's process is gone, or after EXPORT_CLAIM_TIMEOUT_US (a stuck
 * claimer). The finishing transaction checks the claim is still ours; a
 * claimer that lost its job to a takeover deletes its own download. Expired
 * job records are deleted by exports_run_pending; their downloads expire
 * through downloads_expire (same expiry). */
#include "model/exports.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "codec/codec.h"
#include "codec/timefmt.h"
#include "model/auditlog.h"
#include "model/configs.h"
#include "model/search_events.h"
#include "model/store_internal.h"

#define DL_DIR_NAME         "downloads"
#define DL_KEY_PREFIX       "dl:"
#define JOB_KEY_PREFIX      "job:"
#define DL_FILE_MODE        0660
#define DL_DIR_MODE         0770
/* Orphan files (no record) and stale temp files older than this go. */
#define DL_ORPHAN_AGE_US    (3600LL * 1000000LL)
/* Text gathered before it is fed to deflate. */
#define DL_FLUSH_BYTES      (64u * 1024u)
#define EXPORT_MAX_EVENTS   1000000u
#define EXPORT_CHUNK        1000u
#define EXPORT_CLAIM_TIMEOUT_US (3600LL * 1000000LL)

static salog_status ex_oom(salog_err *err)
{
    return salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
}

static salog_status ex_io_error(salog_err *err, const char *what)
{
    return salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "%s: %s", what, strerror(errno));
}

static char *ex_strdup(const char *p)
{
    size_t n = strlen(p) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, p, n);
    return d;
}

/* "<a>/<b>" or "<a>/<b><c>", malloc'd. */
static char *ex_path(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + 1 + strlen(b) + (c ? strlen(c) : 0) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s", a, b, c ? c : "");
    return p;
}

static bool ex_token_valid(const char *t)
{
    if (!t)
        return false;
    for (size_t i = 0; i < DOWNLOAD_TOKEN_LEN; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')))
            return false;
    }
    return t[DOWNLOAD_TOKEN_LEN] == '\0';
}

static int64_t ex_int_member(const sv_value *obj, const char *key, int64_t dflt)
{
    const sv_value *v = sv_object_get(obj, key);
    return v && v->type == SV_INT ? v->u.i : dflt;
}

static bool ex_bool_member(const sv_value *obj, const char *key)
{
    const sv_value *v = sv_object_get(obj, key);
    return v && v->type == SV_BOOL && v->u.b;
}

static int ex_write_all(int fd, const void *p, size_t n)
{
    const unsigned char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int ex_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return r;
}

/* ---- one-record transactions ---- */

typedef struct ex_put_ctx {
    DB *db;
    const char *key;
    const sv_value *value; /* NULL: delete (absent is fine) */
} ex_put_ctx;

static int ex_put_txn(store *s, DB_TXN *txn, void *vctx)
{
    (void)s;
    ex_put_ctx *c = vctx;
    if (c->value)
        return store_put_json(c->db, txn, c->key, c->value, 0);
    int ret = store_del(c->db, txn, c->key, strlen(c->key));
    return ret == DB_NOTFOUND ? 0 : ret;
}

static salog_status ex_put_record(store *s, const char *key, const sv_value *value, const char *what,
                                  salog_err *err)
{
    ex_put_ctx c = {.db = s->meta, .key = key, .value = value};
    int ret = store_txn_run(s, ex_put_txn, &c);
    if (ret == ENOMEM)
        return ex_oom(err);
    return ret == 0 ? SALOG_OK : store_db_error(s, ret, what, err);
}

/* Keys and values of every meta record under `prefix`, copied out so that
 * no cursor is open while the caller writes. */
typedef struct ex_record {
    char *key;
    sv_value *value; /* NULL when undecodable */
} ex_record;

typedef struct ex_records {
    ex_record *items;
    size_t count, cap;
} ex_records;

static void ex_records_clear(ex_records *r)
{
    for (size_t i = 0; i < r->count; i++) {
        free(r->items[i].key);
        sv_free(r->items[i].value);
    }
    free(r->items);
    memset(r, 0, sizeof *r);
}

static salog_status ex_scan_prefix(store *s, const char *prefix, ex_records *out, salog_err *err)
{
    DBC *cur = NULL;
    DBT k, v;
    size_t plen = strlen(prefix);
    salog_status st = SALOG_OK;
    memset(out, 0, sizeof *out);
    memset(&k, 0, sizeof k);
    memset(&v, 0, sizeof v);
    char *seek = ex_strdup(prefix);
    if (!seek)
        return ex_oom(err);
    int ret = s->meta->cursor(s->meta, NULL, &cur, 0);
    if (ret != 0) {
        free(seek);
        return store_db_error(s, ret, "reading download and job records", err);
    }
    k.data = seek;
    k.size = (u_int32_t)plen;
    k.flags = DB_DBT_MALLOC;
    v.flags = DB_DBT_MALLOC;
    u_int32_t op = DB_SET_RANGE;
    for (;;) {
        ret = cur->get(cur, &k, &v, op);
        if (op == DB_SET_RANGE)
            free(seek);
        seek = NULL;
        op = DB_NEXT;
        if (ret != 0)
            break;
        bool match = k.size >= plen && memcmp(k.data, prefix, plen) == 0;
        if (match) {
            if (out->count == out->cap) {
                size_t ncap = out->cap ? out->cap * 2 : 16;
                ex_record *n = realloc(out->items, ncap * sizeof *n);
                if (!n) {
                    free(k.data);
                    free(v.data);
                    st = ex_oom(err);
                    goto out;
                }
                out->items = n;
                out->cap = ncap;
            }
            ex_record *r = &out->items[out->count];
            r->key = malloc((size_t)k.size + 1);
            r->value = NULL;
            if (!r->key) {
                free(k.data);
                free(v.data);
                st = ex_oom(err);
                goto out;
            }
            memcpy(r->key, k.data, k.size);
            r->key[k.size] = '\0';
            out->count++;
            salog_err ignore;
            salog_err_init(&ignore);
            if (codec_json_decode(&r->value, v.data, v.size, STORE_JSON_MAX_DEPTH, &ignore) != SALOG_OK)
                r->value = NULL;
        }
        free(k.data);
        free(v.data);
        k.data = v.data = NULL;
        if (!match)
            break;
    }
    if (ret != 0 && ret != DB_NOTFOUND) {
        st = store_db_error(s, ret, "reading download and job records", err);
        goto out;
    }
out:
    free(seek);
    ret = cur->close(cur);
    if (ret != 0 && st == SALOG_OK)
        st = store_db_error(s, ret, "reading download and job records", err);
    if (st != SALOG_OK)
        ex_records_clear(out);
    return st;
}

/* ---- the download writer ---- */

typedef struct dl_writer {
    export_format format;
    const sv_value *fields;    /* schema "fields" array (CSV columns), borrowed */
    char token[DOWNLOAD_TOKEN_LEN + 1];
    char *dir, *tmp_path, *final_path;
    int fd;
    bool zs_ready;
    z_stream zs;
    size_t events;             /* written so far */
    sbuf text;                 /* pending uncompressed text */
    unsigned char out[16384];
} dl_writer;

/* Feeds `n` bytes to deflate (flush = Z_NO_FLUSH or Z_FINISH). */
static int dl_deflate(dl_writer *w, const void *p, size_t n, int flush)
{
    const unsigned char *in = p;
    for (;;) {
        uInt step = n > UINT_MAX ? UINT_MAX : (uInt)n;
        bool last = step == n;
        w->zs.next_in = (Bytef *)in;
        w->zs.avail_in = step;
        int mode = last ? flush : Z_NO_FLUSH;
        int zr;
        do {
            w->zs.next_out = w->out;
            w->zs.avail_out = sizeof w->out;
            zr = deflate(&w->zs, mode);
            if (zr == Z_STREAM_ERROR)
                return -1;
            size_t have = sizeof w->out - w->zs.avail_out;
            if (have > 0 && ex_write_all(w->fd, w->out, have) != 0)
                return -1;
        } while (w->zs.avail_out == 0 || (mode == Z_FINISH && zr != Z_STREAM_END));
        in += step;
        n -= step;
        if (last)
            return 0;
    }
}

static int dl_flush_text(dl_writer *w, int flush)
{
    if (w->text.oom)
        return -1;
    if (w->text.len == 0 && flush == Z_NO_FLUSH)
        return 0;
    int r = dl_deflate(w, w->text.data ? w->text.data : "", w->text.len, flush);
    w->text.len = 0;
    return r;
}

/* One CSV field: quoted when it holds a comma, quote, CR or LF; quotes
 * doubled. Length-counted (strings may hold U+0000). */
static void csv_cell(sbuf *b, const char *p, size_t n)
{
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++)
        quote = p[i] == ',' || p[i] == '"' || p[i] == '\r' || p[i] == '\n';
    if (!quote) {
        (void)sbuf_append(b, p, n);
        return;
    }
    (void)sbuf_append(b, "\"", 1);
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"') {
            (void)sbuf_append(b, p + from, i + 1 - from);
            (void)sbuf_append(b, "\"", 1);
            from = i + 1;
        }
    }
    (void)sbuf_append(b, p + from, n - from);
    (void)sbuf_append(b, "\"", 1);
}

/* A value as a CSV field: strings as is, integers in decimal, booleans
 * true/false, anything else as its JSON; absent -> empty. */
static void csv_value(sbuf *b, const sv_value *v)
{
    if (!v)
        return;
    switch (v->type) {
    case SV_STRING:
        csv_cell(b, v->u.s.ptr, v->u.s.len);
        break;
    case SV_INT:
        (void)sbuf_printf(b, "%" PRId64, v->u.i);
        break;
    case SV_BOOL:
        (void)sbuf_puts(b, v->u.b ? "true" : "false");
        break;
    default: {
        sbuf j = {0};
        if (codec_json_encode(&j, v) != 0 || j.oom)
            b->oom = 1;
        else
            csv_cell(b, j.data, j.len);
        sbuf_free(&j);
        break;
    }
    }
}

static size_t dl_field_count(const dl_writer *w)
{
    return w->fields && w->fields->type == SV_ARRAY ? w->fields->u.arr.count : 0;
}

static const char *dl_field_id(const dl_writer *w, size_t i)
{
    const char *id = sv_object_get_str(w->fields->u.arr.items[i], "id");
    return id ? id : "";
}

static void csv_header(dl_writer *w)
{
    (void)sbuf_puts(&w->text, "received_at");
    for (size_t i = 0; i < dl_field_count(w); i++) {
        const char *id = dl_field_id(w, i);
        (void)sbuf_append(&w->text, ",", 1);
        csv_cell(&w->text, id, strlen(id));
    }
    (void)sbuf_puts(&w->text, ",hash,published,leaf_index,membership_proof\r\n");
}

static void csv_row(dl_writer *w, const sv_value *ev)
{
    sbuf *b = &w->text;
    const sv_value *envelope = sv_object_get(ev, "envelope");
    const sv_value *event = sv_object_get(envelope, "event");
    csv_value(b, sv_object_get(envelope, "received_at"));
    for (size_t i = 0; i < dl_field_count(w); i++) {
        (void)sbuf_append(b, ",", 1);
        csv_value(b, sv_object_get(event, dl_field_id(w, i)));
    }
    (void)sbuf_append(b, ",", 1);
    csv_value(b, sv_object_get(ev, "hash"));
    (void)sbuf_puts(b, ex_bool_member(ev, "published") ? ",true," : ",false,");
    csv_value(b, sv_object_get(ev, "leaf_index"));
    (void)sbuf_append(b, ",", 1);
    csv_value(b, sv_object_get(ev, "membership_proof"));
    (void)sbuf_puts(b, "\r\n");
}

static void dl_writer_abort(dl_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->tmp_path)
        (void)unlink(w->tmp_path);
    if (w->zs_ready)
        (void)deflateEnd(&w->zs);
    w->zs_ready = false;
    free(w->dir);
    free(w->tmp_path);
    free(w->final_path);
    w->dir = w->tmp_path = w->final_path = NULL;
    sbuf_free(&w->text);
}

/* The downloads directory, created 0770 (and made durable) when missing. */
static salog_status dl_make_dir(store *s, const char *dir, salog_err *err)
{
    if (mkdir(dir, DL_DIR_MODE) == 0) {
        /* The mode is exact whatever the process umask. */
        (void)chmod(dir, DL_DIR_MODE);
        if (ex_fsync_dir(store_data_dir(s)) != 0)
            return ex_io_error(err, "syncing the data directory");
        return SALOG_OK;
    }
    if (errno == EEXIST)
        return SALOG_OK;
    return ex_io_error(err, "creating the downloads directory");
}

static salog_status dl_writer_open(store *s, export_format format, const sv_value *schema, dl_writer *w,
                                   salog_err *err)
{
    char id[ID_LEN + 1];
    salog_status st = SALOG_OK;
    memset(w, 0, sizeof *w);
    w->fd = -1;
    w->format = format;
    w->fields = sv_object_get(schema, "fields");
    /* A token is the 32 random characters of an id. */
    if (id_generate("dl__", id) != 0)
        return salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "no randomness for a download token");
    memcpy(w->token, id + 4, DOWNLOAD_TOKEN_LEN + 1);
    w->dir = ex_path(store_data_dir(s), DL_DIR_NAME, NULL);
    if (!w->dir) {
        st = ex_oom(err);
        goto out;
    }
    char name[DOWNLOAD_TOKEN_LEN + 16];
    snprintf(name, sizeof name, ".tmp-%s.gz", w->token);
    w->tmp_path = ex_path(w->dir, name, NULL);
    w->final_path = ex_path(w->dir, w->token, ".gz");
    if (!w->tmp_path || !w->final_path) {
        st = ex_oom(err);
        goto out;
    }
    if ((st = dl_make_dir(s, w->dir, err)) != SALOG_OK)
        goto out;
    w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, DL_FILE_MODE);
    if (w->fd < 0) {
        free(w->tmp_path); /* not ours: do not unlink it */
        w->tmp_path = NULL;
        st = ex_io_error(err, "creating a download file");
        goto out;
    }
    (void)fchmod(w->fd, DL_FILE_MODE);
    /* windowBits 15 + 16: a gzip header and trailer around the deflate data. */
    if (deflateInit2(&w->zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        st = ex_oom(err);
        goto out;
    }
    w->zs_ready = true;
    if (format == EXPORT_CSV)
        csv_header(w);
    else
        (void)sbuf_append(&w->text, "[", 1);
    if (w->text.oom)
        st = ex_oom(err);
out:
    if (st != SALOG_OK)
        dl_writer_abort(w);
    return st;
}

/* Appends the search events of the array `events`. */
static salog_status dl_writer_add(dl_writer *w, const sv_value *events, salog_err *err)
{
    size_t n = events && events->type == SV_ARRAY ? events->u.arr.count : 0;
    for (size_t i = 0; i < n; i++) {
        const sv_value *ev = events->u.arr.items[i];
        if (w->format == EXPORT_CSV) {
            csv_row(w, ev);
        } else {
            if (w->events > 0)
                (void)sbuf_append(&w->text, ",", 1);
            if (codec_json_encode(&w->text, ev) != 0)
                w->text.oom = 1;
        }
        if (w->text.oom)
            return ex_oom(err);
        w->events++;
        if (w->text.len >= DL_FLUSH_BYTES && dl_flush_text(w, Z_NO_FLUSH) != 0)
            return ex_io_error(err, "writing a download file");
    }
    return SALOG_OK;
}

/* Finishes the file durably and stores its record; the writer is released
 * in every case. */
static salog_status dl_writer_commit(store *s, dl_writer *w, const char *file_name, int64_t expires_us,
                                     char token[DOWNLOAD_TOKEN_LEN + 1], salog_err *err)
{
    salog_status st = SALOG_OK;
    sv_value *rec = NULL;
    char key[sizeof DL_KEY_PREFIX + DOWNLOAD_TOKEN_LEN];
    char rel[sizeof DL_DIR_NAME + DOWNLOAD_TOKEN_LEN + 8];
    bool renamed = false;
    if (w->format == EXPORT_JSON)
        (void)sbuf_append(&w->text, "]", 1);
    if (w->text.oom) {
        st = ex_oom(err);
        goto out;
    }
    if (dl_flush_text(w, Z_FINISH) != 0 || fsync(w->fd) != 0) {
        st = ex_io_error(err, "writing a download file");
        goto out;
    }
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0) {
        st = ex_io_error(err, "writing a download file");
        goto out;
    }
    if (rename(w->tmp_path, w->final_path) != 0) {
        st = ex_io_error(err, "renaming a download file");
        goto out;
    }
    renamed = true;
    if (ex_fsync_dir(w->dir) != 0) {
        st = ex_io_error(err, "syncing the downloads directory");
        goto out;
    }
    snprintf(key, sizeof key, DL_KEY_PREFIX "%s", w->token);
    snprintf(rel, sizeof rel, DL_DIR_NAME "/%s.gz", w->token);
    rec = sv_object();
    if (!rec || sv_object_set_str(rec, "file_name", file_name) || sv_object_set_int(rec, "expires_at_us", expires_us) ||
        sv_object_set_str(rec, "path", rel)) {
        st = ex_oom(err);
        goto out;
    }
    if ((st = ex_put_record(s, key, rec, "storing a download record", err)) != SALOG_OK)
        goto out;
    memcpy(token, w->token, DOWNLOAD_TOKEN_LEN + 1);
out:
    if (st != SALOG_OK && renamed)
        (void)unlink(w->final_path);
    sv_free(rec);
    dl_writer_abort(w); /* the temp file is gone by now, or must go */
    return st;
}

salog_status downloads_create(store *s, const sv_value *events, const sv_value *schema, export_format format,
                              const char *file_name, int64_t expires_us, char token[DOWNLOAD_TOKEN_LEN + 1],
                              salog_err *err)
{
    dl_writer w;
    salog_status st = dl_writer_open(s, format, schema, &w, err);
    if (st != SALOG_OK)
        return st;
    if ((st = dl_writer_add(&w, events, err)) != SALOG_OK) {
        dl_writer_abort(&w);
        return st;
    }
    return dl_writer_commit(s, &w, file_name ? file_name : "download.gz", expires_us, token, err);
}

/* Removes a download's file and record (after a lost claim). */
static void dl_remove(store *s, const char *token)
{
    char key[sizeof DL_KEY_PREFIX + DOWNLOAD_TOKEN_LEN];
    char name[DOWNLOAD_TOKEN_LEN + 8];
    snprintf(key, sizeof key, DL_KEY_PREFIX "%s", token);
    snprintf(name, sizeof name, "%s.gz", token);
    char *dir = ex_path(store_data_dir(s), DL_DIR_NAME, NULL);
    char *path = dir ? ex_path(dir, name, NULL) : NULL;
    if (path)
        (void)unlink(path);
    free(path);
    free(dir);
    salog_err ignore;
    salog_err_init(&ignore);
    (void)ex_put_record(s, key, NULL, "deleting a download record", &ignore);
}

/* A stored relative path of ours: "downloads/<name>" with no way out. */
static bool dl_rel_path_ok(const char *rel)
{
    return rel && strncmp(rel, DL_DIR_NAME "/", sizeof DL_DIR_NAME) == 0 && !strstr(rel, "..") &&
           !strchr(rel + sizeof DL_DIR_NAME, '/');
}

salog_status downloads_open(store *s, const char *token, char **path, char **file_name, int64_t *expires_us,
                            salog_err *err)
{
    char key[sizeof DL_KEY_PREFIX + DOWNLOAD_TOKEN_LEN];
    sv_value *rec = NULL;
    salog_status st = SALOG_OK;
    *path = NULL;
    *file_name = NULL;
    if (expires_us)
        *expires_us = 0;
    if (!ex_token_valid(token))
        return salog_err_set(err, SALOG_E_NOT_FOUND, "NotFound", "/", "no such download");
    snprintf(key, sizeof key, DL_KEY_PREFIX "%s", token);
    int ret = store_get_json(s->meta, NULL, key, &rec, 0);
    if (ret == DB_NOTFOUND || ret == EINVAL)
        return salog_err_set(err, SALOG_E_NOT_FOUND, "NotFound", "/", "no such download");
    if (ret == ENOMEM)
        return ex_oom(err);
    if (ret != 0)
        return store_db_error(s, ret, "reading a download record", err);
    const char *rel = sv_object_get_str(rec, "path"), *name = sv_object_get_str(rec, "file_name");
    struct stat sb;
    int64_t expires = ex_int_member(rec, "expires_at_us", 0);
    if (expires <= time_now_us() || !dl_rel_path_ok(rel) || !name) {
        st = salog_err_set(err, SALOG_E_NOT_FOUND, "NotFound", "/", "no such download");
        goto out;
    }
    *path = ex_path(store_data_dir(s), rel, NULL);
    *file_name = ex_strdup(name);
    if (!*path || !*file_name) {
        st = ex_oom(err);
        goto out;
    }
    if (stat(*path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = salog_err_set(err, SALOG_E_NOT_FOUND, "NotFound", "/", "no such download");
        goto out;
    }
    if (expires_us)
        *expires_us = expires;
out:
    if (st != SALOG_OK) {
        free(*path);
        free(*file_name);
        *path = *file_name = NULL;
    }
    sv_free(rec);
    return st;
}

/* True when `name` is "<token>.gz" with a token that has a record in recs. */
static bool dl_name_has_record(const ex_records *recs, const char *name)
{
    size_t n = strlen(name);
    if (n != DOWNLOAD_TOKEN_LEN + 3 || strcmp(name + DOWNLOAD_TOKEN_LEN, ".gz") != 0)
        return false;
    for (size_t i = 0; i < recs->count; i++) {
        const char *t = recs->items[i].key + strlen(DL_KEY_PREFIX);
        if (strlen(t) == DOWNLOAD_TOKEN_LEN && memcmp(t, name, DOWNLOAD_TOKEN_LEN) == 0)
            return true;
    }
    return false;
}

/* Files left by a crash: temp files, and downloads whose record was never
 * written (or already deleted), once older than DL_ORPHAN_AGE_US. */
static size_t dl_sweep_orphans(store *s, const ex_records *live, int64_t now_us)
{
    size_t removed = 0;
    char *dir = ex_path(store_data_dir(s), DL_DIR_NAME, NULL);
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        free(dir);
        return 0;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        bool tmp = strncmp(name, ".tmp-", 5) == 0;
        bool gz = strlen(name) > 3 && strcmp(name + strlen(name) - 3, ".gz") == 0;
        if (!tmp && (!gz || dl_name_has_record(live, name)))
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
            continue;
        int64_t mtime_us = (int64_t)sb.st_mtim.tv_sec * 1000000 + sb.st_mtim.tv_nsec / 1000;
        if (mtime_us + DL_ORPHAN_AGE_US > now_us)
            continue;
        if (unlinkat(dirfd(d), name, 0) == 0)
            removed++;
    }
    closedir(d);
    free(dir);
    return removed;
}

salog_status downloads_expire(store *s, int64_t now_us, size_t *removed, salog_err *err)
{
    ex_records recs;
    *removed = 0;
    salog_status st = ex_scan_prefix(s, DL_KEY_PREFIX, &recs, err);
    if (st != SALOG_OK)
        return st;
    size_t kept = 0;
    for (size_t i = 0; i < recs.count; i++) {
        ex_record *r = &recs.items[i];
        const char *token = r->key + strlen(DL_KEY_PREFIX);
        if (r->value && ex_int_member(r->value, "expires_at_us", 0) > now_us) {
            recs.items[kept++] = *r; /* live: keep for the orphan check */
            continue;
        }
        /* The file first: a record without its file is harmless, the
         * reverse would be an orphan until the sweep. */
        const char *rel = r->value ? sv_object_get_str(r->value, "path") : NULL;
        char *path = NULL;
        if (dl_rel_path_ok(rel)) {
            path = ex_path(store_data_dir(s), rel, NULL);
        } else if (ex_token_valid(token)) {
            char name[DOWNLOAD_TOKEN_LEN + 8];
            snprintf(name, sizeof name, DL_DIR_NAME "/%s", token);
            path = ex_path(store_data_dir(s), name, ".gz");
        }
        if (path)
            (void)unlink(path);
        free(path);
        if (st == SALOG_OK)
            st = ex_put_record(s, r->key, NULL, "deleting a download record", err);
        if (st == SALOG_OK)
            (*removed)++;
        free(r->key);
        sv_free(r->value);
    }
    recs.count = kept;
    if (st == SALOG_OK)
        *removed += dl_sweep_orphans(s, &recs, now_us);
    ex_records_clear(&recs);
    return st;
}

/* ---- export jobs ---- */

void export_job_clear(export_job *j)
{
    if (!j)
        return;
    sv_free(j->token_restriction);
    memset(j, 0, sizeof *j);
}

static const char *ex_format_name(export_format f)
{
    return f == EXPORT_JSON ? "json" : "csv";
}

static void ex_job_key(char *key, size_t n, const char *request_id)
{
    snprintf(key, n, JOB_KEY_PREFIX "%s", request_id);
}

salog_status exports_enqueue(store *s, const export_job *job, salog_err *err)
{
    char key[sizeof JOB_KEY_PREFIX + ID_LEN];
    salog_status st = SALOG_OK;
    if (!id_is_valid("prq_", job->request_id) || strlen(job->config_id) != ID_LEN ||
        memchr(job->order_by, '\0', sizeof job->order_by) == NULL)
        return salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "malformed export job");
    ex_job_key(key, sizeof key, job->request_id);
    sv_value *rec = sv_object();
    if (!rec || sv_object_set_str(rec, "state", "pending") || sv_object_set_str(rec, "token_id", job->token_id) ||
        sv_object_set_str(rec, "config_id", job->config_id) ||
        sv_object_set_str(rec, "format", ex_format_name(job->format)) ||
        sv_object_set_int(rec, "start_us", job->start_us) || sv_object_set_int(rec, "end_us", job->end_us) ||
        sv_object_set_bool(rec, "descending", job->descending) ||
        sv_object_set_str(rec, "order_by", job->order_by[0] ? job->order_by : "received_at") ||
        sv_object_set_bool(rec, "verbose", job->verbose) ||
        sv_object_set_int(rec, "expires_at_us", job->expires_us) ||
        sv_object_set_str(rec, "base_url", job->base_url) ||
        sv_object_set_int(rec, "created_at_us", time_now_us())) {
        st = ex_oom(err);
        goto out;
    }
    if (job->token_restriction) {
        sv_value *r = sv_clone(job->token_restriction);
        if (!r || sv_object_set(rec, "token_restriction", r)) {
            st = ex_oom(err);
            goto out;
        }
    }
    st = ex_put_record(s, key, rec, "storing an export job", err);
out:
    sv_free(rec);
    return st;
}

salog_status exports_status(store *s, const char *request_id, export_state *state,
                            char token_id[ID_LEN + 1], char download_token[DOWNLOAD_TOKEN_LEN + 1],
                            char **detail, salog_err *err)
{
    char key[sizeof JOB_KEY_PREFIX + ID_LEN];
    sv_value *rec = NULL;
    salog_status st = SALOG_OK;
    if (detail)
        *detail = NULL;
    if (download_token)
        download_token[0] = '\0';
    if (token_id)
        token_id[0] = '\0';
    if (!id_is_valid("prq_", request_id))
        return salog_err_set(err, SALOG_E_NOT_FOUND, "NotFound", "/", "no such export");
    ex_job_key(key, sizeof key, request_id);
    int ret = store_get_json(s->meta, NULL, key, &rec, 0);
    if (ret == DB_NOTFOUND || ret == EINVAL)
        return salog_err_set(err, SALOG_E_NOT_FOUND, "NotFound", "/", "no such export");
    if (ret == ENOMEM)
        return ex_oom(err);
    if (ret != 0)
        return store_db_error(s, ret, "reading an export job", err);
    const char *st_name = sv_object_get_str(rec, "state");
    const char *owner = sv_object_get_str(rec, "token_id");
    if (ex_int_member(rec, "expires_at_us", 0) <= time_now_us() || !st_name) {
        st = salog_err_set(err, SALOG_E_NOT_FOUND, "NotFound", "/", "no such export");
        goto out;
    }
    if (token_id)
        snprintf(token_id, ID_LEN + 1, "%s", owner ? owner : "");
    if (strcmp(st_name, "done") == 0) {
        const char *t = sv_object_get_str(rec, "download_token");
        if (!ex_token_valid(t)) {
            st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "export job without its download");
            goto out;
        }
        *state = EXPORT_DONE;
        if (download_token)
            memcpy(download_token, t, DOWNLOAD_TOKEN_LEN + 1);
    } else if (strcmp(st_name, "failed") == 0) {
        const char *d = sv_object_get_str(rec, "detail");
        *state = EXPORT_FAILED;
        if (detail && !(*detail = ex_strdup(d ? d : "the export failed"))) {
            st = ex_oom(err);
            goto out;
        }
    } else {
        *state = EXPORT_PENDING; /* pending or running */
    }
out:
    sv_free(rec);
    return st;
}

/* ---- running a job ---- */

/* Each restricted field (non-empty list) must hold one of its strings. */
static bool ex_restriction_ok(const sv_value *r, const sv_value *event)
{
    if (!r || r->type != SV_OBJECT)
        return true;
    for (size_t i = 0; i < r->u.obj.count; i++) {
        const sv_member *m = &r->u.obj.members[i];
        if (m->value->type != SV_ARRAY || m->value->u.arr.count == 0)
            continue;
        const sv_value *v = NULL;
        if (event && event->type == SV_OBJECT) {
            for (size_t j = 0; j < event->u.obj.count; j++) {
                const sv_member *e = &event->u.obj.members[j];
                if (e->key_len == m->key_len && memcmp(e->key, m->key, m->key_len) == 0) {
                    v = e->value;
                    break;
                }
            }
        }
        bool ok = false;
        for (size_t k = 0; v && v->type == SV_STRING && k < m->value->u.arr.count && !ok; k++) {
            const sv_value *a = m->value->u.arr.items[k];
            ok = a->type == SV_STRING && a->u.s.len == v->u.s.len && memcmp(a->u.s.ptr, v->u.s.ptr, v->u.s.len) == 0;
        }
        if (!ok)
            return false;
    }
    return true;
}

/* Sort key of one match when ordering by a field (as search.c orders:
 * integers, then strings by bytes, then booleans, then other values;
 * missing values last whatever the direction; ties by index). */
typedef struct ex_key {
    uint64_t index;
    int rank;            /* 0 int, 1 string, 2 bool, 3 other, 4 missing */
    int64_t i;           /* int value, or bool as 0/1 */
    char *s;             /* string bytes (owned) */
    size_t len;
} ex_key;

static int ex_key_cmp(const void *pa, const void *pb, void *arg)
{
    const ex_key *a = pa, *b = pb;
    bool desc = *(const bool *)arg;
    int c = 0;
    if ((a->rank == 4) != (b->rank == 4))
        return a->rank == 4 ? 1 : -1;
    if (a->rank != b->rank) {
        c = a->rank < b->rank ? -1 : 1;
    } else if (a->rank == 1) {
        size_t n = a->len < b->len ? a->len : b->len;
        c = n ? memcmp(a->s, b->s, n) : 0;
        c = c < 0 ? -1 : c > 0 ? 1 : a->len < b->len ? -1 : a->len > b->len;
    } else if (a->rank == 0 || a->rank == 2) {
        c = a->i < b->i ? -1 : a->i > b->i;
    }
    if (c == 0)
        c = a->index < b->index ? -1 : a->index > b->index;
    return desc ? -c : c;
}

typedef struct ex_selection {
    uint64_t *indexes;
    ex_key *keys;        /* when ordering by a field */
    size_t count, cap;
} ex_selection;

static void ex_selection_clear(ex_selection *sel)
{
    if (sel->keys)
        for (size_t i = 0; i < sel->count; i++)
            free(sel->keys[i].s);
    free(sel->keys);
    free(sel->indexes);
    memset(sel, 0, sizeof *sel);
}

/* received_at of event `index` (µs) and, when wanted, its envelope. */
static salog_status ex_event_at(store *s, const char *config_id, uint64_t index, int64_t *received_us,
                                sv_value **envelope_out, salog_err *err)
{
    sv_value *envelope = NULL;
    char hash[65];
    salog_status st = auditlog_get_event(s, config_id, index, &envelope, hash, err);
    if (st != SALOG_OK)
        return st;
    const char *ra = sv_object_get_str(envelope, "received_at");
    if (!ra || time_parse_rfc3339(ra, received_us) != 0) {
        sv_free(envelope);
        return salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/",
                             "event %" PRIu64 " has no readable received_at", index);
    }
    if (envelope_out)
        *envelope_out = envelope;
    else
        sv_free(envelope);
    return SALOG_OK;
}

static salog_status ex_select_add(ex_selection *sel, uint64_t index, const sv_value *key_value, bool custom,
                                  salog_err *err)
{
    if (sel->count == EXPORT_MAX_EVENTS)
        return salog_err_set(err, SALOG_E_VALIDATION, "TooManyEvents", "/",
                             "the range holds more than %u events; export a shorter range", EXPORT_MAX_EVENTS);
    if (sel->count == sel->cap) {
        size_t ncap = sel->cap ? sel->cap * 2 : 1024;
        uint64_t *ni = realloc(sel->indexes, ncap * sizeof *ni);
        if (!ni)
            return ex_oom(err);
        sel->indexes = ni;
        if (custom) {
            ex_key *nk = realloc(sel->keys, ncap * sizeof *nk);
            if (!nk)
                return ex_oom(err);
            sel->keys = nk;
        }
        sel->cap = ncap;
    }
    sel->indexes[sel->count] = index;
    if (custom) {
        ex_key *k = &sel->keys[sel->count];
        memset(k, 0, sizeof *k);
        k->index = index;
        if (!key_value) {
            k->rank = 4;
        } else if (key_value->type == SV_INT) {
            k->i = key_value->u.i;
        } else if (key_value->type == SV_STRING) {
            k->rank = 1;
            k->len = key_value->u.s.len;
            if (!(k->s = malloc(k->len + 1)))
                return ex_oom(err);
            memcpy(k->s, key_value->u.s.ptr, k->len);
        } else if (key_value->type == SV_BOOL) {
            k->rank = 2;
            k->i = key_value->u.b;
        } else {
            k->rank = 3;
        }
    }
    sel->count++;
    return SALOG_OK;
}

/* The events of the job in its order. */
static salog_status ex_select(store *s, const export_job *job, bool custom, ex_selection *sel, salog_err *err)
{
    uint64_t n = 0, lo = 0, hi;
    salog_status st = auditlog_size(s, job->config_id, &n, err);
    if (st != SALOG_OK)
        return st;
    /* First index with received_at >= start (received_at never decreases). */
    hi = n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        int64_t ra = 0;
        if ((st = ex_event_at(s, job->config_id, mid, &ra, NULL, err)) != SALOG_OK)
            return st;
        if (ra < job->start_us)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (uint64_t i = lo; i < n; i++) {
        int64_t ra = 0;
        sv_value *envelope = NULL;
        if ((st = ex_event_at(s, job->config_id, i, &ra, &envelope, err)) != SALOG_OK)
            return st;
        if (ra > job->end_us) {
            sv_free(envelope);
            break;
        }
        const sv_value *event = sv_object_get(envelope, "event");
        if (ex_restriction_ok(job->token_restriction, event))
            st = ex_select_add(sel, i, custom ? sv_object_get(event, job->order_by) : NULL, custom, err);
        sv_free(envelope);
        if (st != SALOG_OK)
            return st;
    }
    if (custom) {
        bool desc = job->descending;
        qsort_r(sel->keys, sel->count, sizeof *sel->keys, ex_key_cmp, &desc);
        for (size_t i = 0; i < sel->count; i++)
            sel->indexes[i] = sel->keys[i].index;
    } else if (job->descending) {
        for (size_t i = 0, j = sel->count; i + 1 < j; i++, j--) {
            uint64_t t = sel->indexes[i];
            sel->indexes[i] = sel->indexes[j - 1];
            sel->indexes[j - 1] = t;
        }
    }
    return SALOG_OK;
}

static bool ex_schema_has_field(const sv_value *schema, const char *id)
{
    const sv_value *fields = sv_object_get(schema, "fields");
    for (size_t i = 0; fields && fields->type == SV_ARRAY && i < fields->u.arr.count; i++) {
        const char *fid = sv_object_get_str(fields->u.arr.items[i], "id");
        if (fid && strcmp(fid, id) == 0)
            return true;
    }
    return false;
}

/* Writes the job's download; *token gets it. */
/* Returned by ex_write_export when the worker is stopping mid-export. */
#define EX_STOPPED SALOG_E_UNAVAILABLE

static salog_status ex_write_export(store *s, const export_job *job, export_should_stop should_stop, void *stop_ctx,
                                   char token[DOWNLOAD_TOKEN_LEN + 1], salog_err *err)
{
    sv_value *config = NULL;
    ex_selection sel = {0};
    dl_writer w;
    bool writing = false;
    salog_err cerr;
    salog_err_init(&cerr);
    salog_status st = configs_get(s, job->config_id, &config, &cerr);
    if (st == SALOG_E_INTERNAL || st == SALOG_E_RUNRECOVERY) {
        *err = cerr;
        goto out;
    }
    if (st != SALOG_OK) {
        st = salog_err_set(err, SALOG_E_VALIDATION, "ConfigNotExist", "/config_id",
                           "the config %s no longer exists", job->config_id);
        goto out;
    }
    const sv_value *schema = sv_object_get(config, "schema");
    bool custom = strcmp(job->order_by, "received_at") != 0;
    if (custom && !ex_schema_has_field(schema, job->order_by)) {
        st = salog_err_set(err, SALOG_E_VALIDATION, "NotEnumMember", "/order_by",
                           "'%.64s' is not a field of this config's schema", job->order_by);
        goto out;
    }
    if ((st = ex_select(s, job, custom, &sel, err)) != SALOG_OK)
        goto out;
    if (sel.keys) {
        /* The indexes are all that is needed from here on. */
        for (size_t i = 0; i < sel.count; i++)
            free(sel.keys[i].s);
        free(sel.keys);
        sel.keys = NULL;
    }
    if ((st = dl_writer_open(s, job->format, schema, &w, err)) != SALOG_OK)
        goto out;
    writing = true;
    for (size_t off = 0; off < sel.count; off += EXPORT_CHUNK) {
        size_t k = sel.count - off < EXPORT_CHUNK ? sel.count - off : EXPORT_CHUNK;
        search_events chunk;
        if (should_stop && should_stop(stop_ctx)) {
            st = EX_STOPPED;
            goto out;
        }
        if ((st = search_events_build(s, job->config_id, sel.indexes + off, k, job->verbose, job->base_url, &chunk,
                                      err)) != SALOG_OK)
            goto out;
        st = dl_writer_add(&w, chunk.events, err);
        search_events_clear(&chunk);
        if (st != SALOG_OK)
            goto out;
    }
    char file_name[64];
    snprintf(file_name, sizeof file_name, "export_%s.%s.gz", job->request_id, ex_format_name(job->format));
    writing = false;
    st = dl_writer_commit(s, &w, file_name, job->expires_us, token, err);
out:
    if (writing)
        dl_writer_abort(&w);
    ex_selection_clear(&sel);
    sv_free(config);
    return st;
}

/* The export_job of a stored record. */
static int ex_job_from_record(const char *request_id, const sv_value *rec, export_job *job)
{
    memset(job, 0, sizeof *job);
    const char *tok = sv_object_get_str(rec, "token_id"), *cfg = sv_object_get_str(rec, "config_id");
    const char *fmt = sv_object_get_str(rec, "format"), *ob = sv_object_get_str(rec, "order_by");
    if (!tok || !cfg || !fmt || strlen(tok) > ID_LEN || strlen(cfg) > ID_LEN || strlen(request_id) > ID_LEN)
        return EINVAL;
    snprintf(job->request_id, sizeof job->request_id, "%s", request_id);
    snprintf(job->token_id, sizeof job->token_id, "%s", tok);
    snprintf(job->config_id, sizeof job->config_id, "%s", cfg);
    snprintf(job->order_by, sizeof job->order_by, "%s", ob && *ob ? ob : "received_at");
    job->format = strcmp(fmt, "json") == 0 ? EXPORT_JSON : EXPORT_CSV;
    job->start_us = ex_int_member(rec, "start_us", INT64_MIN);
    job->end_us = ex_int_member(rec, "end_us", INT64_MAX);
    job->descending = ex_bool_member(rec, "descending");
    job->verbose = ex_bool_member(rec, "verbose");
    job->expires_us = ex_int_member(rec, "expires_at_us", 0);
    const char *base = sv_object_get_str(rec, "base_url");
    snprintf(job->base_url, sizeof job->base_url, "%s", base ? base : "");
    const sv_value *r = sv_object_get(rec, "token_restriction");
    if (r && !(job->token_restriction = sv_clone(r)))
        return ENOMEM;
    return 0;
}

/* A claimer process that no longer exists (not merely another uid's). */
static bool ex_claimer_dead(int64_t pid)
{
    if (pid <= 0 || pid > INT32_MAX)
        return true;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static bool ex_claimable(const sv_value *rec, int64_t now_us)
{
    const char *state = sv_object_get_str(rec, "state");
    if (!state || ex_int_member(rec, "expires_at_us", 0) <= now_us)
        return false;
    if (strcmp(state, "pending") == 0)
        return true;
    if (strcmp(state, "running") != 0)
        return false;
    return ex_claimer_dead(ex_int_member(rec, "pid", 0)) ||
           ex_int_member(rec, "claimed_at_us", 0) + EXPORT_CLAIM_TIMEOUT_US <= now_us;
}

typedef struct ex_claim_ctx {
    const char *key, *request_id;
    char claim[ID_LEN + 1];
    int64_t now_us;
    bool claimed;
    export_job job;      /* filled when claimed */
} ex_claim_ctx;

static int ex_claim_txn(store *s, DB_TXN *txn, void *vctx)
{
    ex_claim_ctx *c = vctx;
    sv_value *rec = NULL;
    c->claimed = false;
    export_job_clear(&c->job);
    int ret = store_get_json(s->meta, txn, c->key, &rec, DB_RMW);
    if (ret == DB_NOTFOUND || ret == EINVAL)
        return 0; /* gone or unreadable: nothing to run */
    if (ret != 0)
        return ret;
    if (!ex_claimable(rec, c->now_us))
        goto out;
    if ((ret = ex_job_from_record(c->request_id, rec, &c->job)) != 0) {
        export_job_clear(&c->job);
        if (ret == EINVAL) {
            /* A record we cannot run: fail it instead of retrying forever. */
            ret = sv_object_set_str(rec, "state", "failed") ||
                          sv_object_set_str(rec, "detail", "the export job record is unreadable")
                      ? ENOMEM
                      : store_put_json(s->meta, txn, c->key, rec, 0);
        }
        goto out;
    }
    if (sv_object_set_str(rec, "state", "running") || sv_object_set_str(rec, "claim", c->claim) ||
        sv_object_set_int(rec, "pid", (int64_t)getpid()) || sv_object_set_int(rec, "claimed_at_us", c->now_us)) {
        ret = ENOMEM;
        goto out;
    }
    if ((ret = store_put_json(s->meta, txn, c->key, rec, 0)) == 0)
        c->claimed = true;
out:
    if (ret != 0) {
        c->claimed = false;
        export_job_clear(&c->job);
    }
    sv_free(rec);
    return ret;
}

typedef struct ex_finish_ctx {
    const char *key, *claim;
    const char *download_token; /* done when set */
    const char *detail;         /* failed otherwise */
    bool ours;
} ex_finish_ctx;

static int ex_finish_txn(store *s, DB_TXN *txn, void *vctx)
{
    ex_finish_ctx *c = vctx;
    sv_value *rec = NULL;
    c->ours = false;
    int ret = store_get_json(s->meta, txn, c->key, &rec, DB_RMW);
    if (ret == DB_NOTFOUND || ret == EINVAL)
        return 0;
    if (ret != 0)
        return ret;
    const char *state = sv_object_get_str(rec, "state"), *claim = sv_object_get_str(rec, "claim");
    if (!state || strcmp(state, "running") != 0 || !claim || strcmp(claim, c->claim) != 0)
        goto out; /* taken over: the other claimer finishes it */
    (void)sv_object_remove(rec, "claim");
    (void)sv_object_remove(rec, "pid");
    (void)sv_object_remove(rec, "claimed_at_us");
    if (c->download_token ? sv_object_set_str(rec, "state", "done") ||
                                sv_object_set_str(rec, "download_token", c->download_token)
                          : sv_object_set_str(rec, "state", "failed") ||
                                sv_object_set_str(rec, "detail", c->detail)) {
        ret = ENOMEM;
        goto out;
    }
    if ((ret = store_put_json(s->meta, txn, c->key, rec, 0)) == 0)
        c->ours = true;
out:
    sv_free(rec);
    return ret;
}

/* Runs one claimed job and records its outcome. Returns an error only for
 * storage failures (the job's own failure is recorded in it). */
static salog_status ex_run_claimed(store *s, const char *key, const char *claim, const export_job *job,
                                   export_should_stop should_stop, void *stop_ctx, salog_err *err)
{
    char token[DOWNLOAD_TOKEN_LEN + 1] = "";
    salog_err jerr;
    salog_err_init(&jerr);
    salog_status st = ex_write_export(s, job, should_stop, stop_ctx, token, &jerr);
    if (st == EX_STOPPED)
        return SALOG_OK; /* left claimed: taken over once this process is gone */
    if (st == SALOG_E_RUNRECOVERY) {
        /* The worker exits; the job is taken over once it is gone. */
        *err = jerr;
        return st;
    }
    ex_finish_ctx c = {.key = key, .claim = claim};
    if (st == SALOG_OK)
        c.download_token = token;
    else
        c.detail = jerr.count ? jerr.items[0].detail : "the export failed";
    int ret = store_txn_run(s, ex_finish_txn, &c);
    if (ret != 0) {
        if (st == SALOG_OK)
            dl_remove(s, token);
        return ret == ENOMEM ? ex_oom(err) : store_db_error(s, ret, "finishing an export job", err);
    }
    if (!c.ours && st == SALOG_OK)
        dl_remove(s, token);
    return SALOG_OK;
}

typedef struct ex_candidate {
    const char *key;         /* borrowed from the scanned records */
    int64_t created_at_us;
} ex_candidate;

static int ex_candidate_cmp(const void *pa, const void *pb)
{
    const ex_candidate *a = pa, *b = pb;
    if (a->created_at_us != b->created_at_us)
        return a->created_at_us < b->created_at_us ? -1 : 1;
    return strcmp(a->key, b->key);
}

typedef struct ex_expire_ctx {
    const char *key;
    int64_t now_us;
} ex_expire_ctx;

static int ex_expire_txn(store *s, DB_TXN *txn, void *vctx)
{
    ex_expire_ctx *c = vctx;
    sv_value *rec = NULL;
    int ret = store_get_json(s->meta, txn, c->key, &rec, DB_RMW);
    if (ret == DB_NOTFOUND)
        return 0;
    if (ret != 0 && ret != EINVAL)
        return ret;
    if (ret == 0 && ex_int_member(rec, "expires_at_us", 0) > c->now_us) {
        sv_free(rec);
        return 0;
    }
    sv_free(rec);
    ret = store_del(s->meta, txn, c->key, strlen(c->key));
    return ret == DB_NOTFOUND ? 0 : ret;
}

salog_status exports_run_pending(store *s, size_t max_jobs, export_should_stop should_stop, void *stop_ctx,
                                 size_t *ran, salog_err *err)
{
    ex_records recs;
    ex_candidate *cands = NULL;
    size_t ncand = 0;
    int64_t now = time_now_us();
    *ran = 0;
    salog_status st = ex_scan_prefix(s, JOB_KEY_PREFIX, &recs, err);
    if (st != SALOG_OK)
        return st;
    cands = malloc((recs.count + 1) * sizeof *cands);
    if (!cands) {
        st = ex_oom(err);
        goto out;
    }
    for (size_t i = 0; i < recs.count; i++) {
        const ex_record *r = &recs.items[i];
        if (!r->value || ex_int_member(r->value, "expires_at_us", 0) <= now) {
            /* Forgotten at expiry (its download expires with it). */
            ex_expire_ctx e = {.key = r->key, .now_us = now};
            int ret = store_txn_run(s, ex_expire_txn, &e);
            if (ret != 0) {
                st = store_db_error(s, ret, "deleting an expired export job", err);
                goto out;
            }
            continue;
        }
        if (ex_claimable(r->value, now))
            cands[ncand++] = (ex_candidate){.key = r->key, .created_at_us = ex_int_member(r->value, "created_at_us", 0)};
    }
    qsort(cands, ncand, sizeof *cands, ex_candidate_cmp);
    for (size_t i = 0; i < ncand && *ran < max_jobs; i++) {
        ex_claim_ctx c = {.key = cands[i].key, .request_id = cands[i].key + strlen(JOB_KEY_PREFIX), .now_us = now};
        if (id_generate("clm_", c.claim) != 0) {
            st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "no randomness for a job claim");
            goto out;
        }
        int ret = store_txn_run(s, ex_claim_txn, &c);
        if (ret != 0) {
            export_job_clear(&c.job);
            st = ret == ENOMEM ? ex_oom(err) : store_db_error(s, ret, "claiming an export job", err);
            goto out;
        }
        if (!c.claimed)
            continue; /* another worker has it */
        st = ex_run_claimed(s, c.key, c.claim, &c.job, should_stop, stop_ctx, err);
        export_job_clear(&c.job);
        if (st != SALOG_OK)
            goto out;
        (*ran)++;
        now = time_now_us();
    }
out:
    free(cands);
    ex_records_clear(&recs);
    return st;
}
