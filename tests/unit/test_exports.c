/* Downloads and export jobs (model/exports.h): the exact CSV text (header,
 * quoting, CRLF) and the JSON of a download after gunzip, file modes, open
 * and expiry (including orphan files), export jobs end to end (range,
 * order, field order, token restriction), failing and expired jobs,
 * takeover of a dead claimer's job, and two threads / two processes running
 * the duty at once doing each job exactly once. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "codec/codec.h"
#include "codec/timefmt.h"
#include "model/auditlog.h"
#include "model/config_schema.h"
#include "model/configs.h"
#include "model/exports.h"
#include "model/search_events.h"
#include "model/server_key.h"
#include "model/store_internal.h"
#include "tests/unit/test_tmpdir.h"

static char ex_root[64];
static char ex_data[96];
static store *ex_store;
static char ex_cfg[ID_LEN + 1];
static sv_value *ex_schema;

static void ex_add_field(sv_value *fields, const char *id, const char *type)
{
    sv_value *f = sv_object();
    cr_assert(f);
    cr_assert_eq(sv_object_set_str(f, "id", id), 0);
    cr_assert_eq(sv_object_set_str(f, "type", type), 0);
    cr_assert_eq(sv_array_push(fields, f), 0);
}

static void ex_setup(void)
{
    salog_err err;
    salog_err_init(&err);
    test_tmpdir_make(ex_root, sizeof ex_root, "exports");
    snprintf(ex_data, sizeof ex_data, "%s/data", ex_root);
    cr_assert_eq(store_open(&ex_store, ex_data, true, &err), SALOG_OK);
    cr_assert_eq(server_key_create(ex_data, &err), SALOG_OK);
    sv_value *cfg = config_default("exports-test");
    sv_value *schema = sv_object(), *fields = sv_array();
    cr_assert(cfg && schema && fields);
    ex_add_field(fields, "actor", "string");
    ex_add_field(fields, "message", "string");
    ex_add_field(fields, "count", "integer");
    ex_add_field(fields, "flag", "boolean");
    ex_add_field(fields, "tenant", "string");
    cr_assert_eq(sv_object_set(schema, "fields", fields), 0);
    cr_assert_eq(sv_object_set_bool(schema, "tamper_proofing", true), 0);
    cr_assert_eq(sv_object_set(cfg, "schema", schema), 0);
    sv_value *made = NULL;
    cr_assert_eq(configs_create(ex_store, cfg, &made, &err), SALOG_OK, "%s", err.items[0].detail);
    snprintf(ex_cfg, sizeof ex_cfg, "%s", sv_object_get_str(made, "id"));
    ex_schema = sv_clone(sv_object_get(made, "schema"));
    cr_assert(ex_schema);
    sv_free(made);
    sv_free(cfg);
}

static void ex_teardown(void)
{
    store_close(ex_store);
    ex_store = NULL;
    sv_free(ex_schema);
    ex_schema = NULL;
    test_tmpdir_remove(ex_root);
}

TestSuite(exports, .init = ex_setup, .fini = ex_teardown, .timeout = 300);

/* ---- helpers ---- */

/* An event from a JSON text. */
static sv_value *ex_json(const char *text)
{
    sv_value *v = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(codec_json_decode(&v, text, strlen(text), 32, &err), SALOG_OK, "%s", text);
    return v;
}

/* Appends events; returns their received_at (µs) in at[] when given. */
static void ex_append(sv_value **evs, size_t n, int64_t *at)
{
    salog_err err;
    salog_err_init(&err);
    log_item *items = calloc(n, sizeof *items);
    cr_assert(items);
    for (size_t i = 0; i < n; i++)
        items[i].event = evs[i];
    log_append_result r;
    cr_assert_eq(auditlog_append(ex_store, ex_cfg, items, n, &r, &err), SALOG_OK, "%s", err.items[0].detail);
    for (size_t i = 0; at && i < n; i++)
        cr_assert_eq(time_parse_rfc3339(sv_object_get_str(r.items[i].envelope, "received_at"), &at[i]), 0);
    auditlog_append_result_clear(&r);
    free(items);
}

static char *ex_gunzip(const char *path, size_t *len)
{
    unsigned char magic[2] = {0};
    FILE *raw = fopen(path, "rb");
    cr_assert(raw, "%s", path);
    cr_assert_eq(fread(magic, 1, 2, raw), 2u);
    fclose(raw);
    cr_assert(magic[0] == 0x1f && magic[1] == 0x8b, "not a gzip file");
    gzFile f = gzopen(path, "rb");
    cr_assert(f);
    sbuf b = {0};
    char buf[8192];
    int n;
    while ((n = gzread(f, buf, sizeof buf)) > 0)
        cr_assert_eq(sbuf_append(&b, buf, (size_t)n), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(gzclose(f), Z_OK);
    cr_assert(sbuf_cstr(&b));
    *len = b.len;
    return b.data;
}

/* The content of a live download. */
static char *ex_download_text(const char *token, size_t *len, char **file_name)
{
    salog_err err;
    salog_err_init(&err);
    char *path = NULL, *name = NULL;
    int64_t expires = 0;
    cr_assert_eq(downloads_open(ex_store, token, &path, &name, &expires, &err), SALOG_OK);
    cr_assert_gt(expires, time_now_us());
    char *text = ex_gunzip(path, len);
    free(path);
    if (file_name)
        *file_name = name;
    else
        free(name);
    return text;
}

/* A strict RFC 4180 reader: rows of string cells; every record must end
 * with CRLF, a quote may only open a field. */
static sv_value *ex_csv_parse(const char *p, size_t n)
{
    sv_value *rows = sv_array();
    cr_assert(rows);
    size_t i = 0;
    while (i < n) {
        sv_value *row = sv_array();
        cr_assert(row);
        for (;;) {
            sbuf cell = {0};
            if (i < n && p[i] == '"') {
                i++;
                for (;;) {
                    cr_assert_lt(i, n, "unterminated quoted field");
                    if (p[i] == '"') {
                        if (i + 1 < n && p[i + 1] == '"') {
                            cr_assert_eq(sbuf_append(&cell, "\"", 1), 0);
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    cr_assert_eq(sbuf_append(&cell, p + i, 1), 0);
                    i++;
                }
            } else {
                while (i < n && p[i] != ',' && p[i] != '\r' && p[i] != '\n') {
                    cr_assert_neq(p[i], '"', "quote inside an unquoted field");
                    cr_assert_eq(sbuf_append(&cell, p + i, 1), 0);
                    i++;
                }
            }
            cr_assert_eq(sv_array_push(row, sv_string_len(cell.data ? cell.data : "", cell.len)), 0);
            sbuf_free(&cell);
            cr_assert_lt(i, n, "record without CRLF");
            if (p[i] == ',') {
                i++;
                continue;
            }
            cr_assert(i + 1 < n && p[i] == '\r' && p[i + 1] == '\n', "record not ended by CRLF");
            i += 2;
            break;
        }
        cr_assert_eq(sv_array_push(rows, row), 0);
    }
    return rows;
}

static const char *ex_cell(const sv_value *rows, size_t r, size_t c)
{
    cr_assert_lt(r, rows->u.arr.count);
    const sv_value *row = rows->u.arr.items[r];
    cr_assert_lt(c, row->u.arr.count);
    return row->u.arr.items[c]->u.s.ptr;
}

/* Independent CSV field writer for the expected text. */
static void ex_expect_cell(sbuf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        sbuf_puts(b, s);
        return;
    }
    sbuf_puts(b, "\"");
    for (const char *c = s; *c; c++)
        sbuf_puts(b, *c == '"' ? "\"\"" : (char[]){*c, 0});
    sbuf_puts(b, "\"");
}

static const char *ex_ev_str(const sv_value *ev, const char *a, const char *b)
{
    const sv_value *o = sv_object_get(ev, a);
    return b ? sv_object_get_str(o, b) : sv_object_get_str(ev, a);
}

static size_t ex_count_prefix(const char *prefix)
{
    DBC *cur = NULL;
    DBT k, v;
    size_t n = 0;
    memset(&k, 0, sizeof k);
    memset(&v, 0, sizeof v);
    cr_assert_eq(ex_store->meta->cursor(ex_store->meta, NULL, &cur, 0), 0);
    while (cur->get(cur, &k, &v, DB_NEXT) == 0)
        if (k.size >= strlen(prefix) && memcmp(k.data, prefix, strlen(prefix)) == 0)
            n++;
    cur->close(cur);
    return n;
}

static size_t ex_count_files(const char *dir_name)
{
    char dir[160];
    snprintf(dir, sizeof dir, "%s/%s", ex_data, dir_name);
    size_t n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* ---- downloads ---- */

/* The four tricky events: published 0-1, unpublished 2-3. */
static void ex_tricky_log(void)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *evs[4] = {
        ex_json("{\"actor\":\"plain\",\"message\":\"a,b\",\"count\":42,\"flag\":true,\"tenant\":\"t1\"}"),
        ex_json("{\"actor\":\"say \\\"hi\\\"\",\"message\":\"line1\\r\\nline2\",\"count\":-7,\"flag\":false}"),
        ex_json("{\"actor\":\"Zo\\u00eb \\u65e5\\u672c\",\"message\":\"cr\\ronly\",\"tenant\":\"t2\"}"),
        ex_json("{\"actor\":\"\",\"message\":\"lf\\nonly \\\"\\\",\",\"count\":0}"),
    };
    ex_append(evs, 2, NULL);
    uint64_t sealed = 0;
    cr_assert_eq(auditlog_publish(ex_store, ex_cfg, &sealed, &err), SALOG_OK, "%s", err.items[0].detail);
    cr_assert_eq(sealed, 2u);
    ex_append(evs + 2, 2, NULL);
    for (int i = 0; i < 4; i++)
        sv_free(evs[i]);
}

Test(exports, csv_download_exact_text)
{
    salog_err err;
    salog_err_init(&err);
    ex_tricky_log();
    uint64_t idx[4] = {0, 1, 2, 3};
    search_events se;
    cr_assert_eq(search_events_build(ex_store, ex_cfg, idx, 4, true, "http://h", &se, &err), SALOG_OK);
    char token[DOWNLOAD_TOKEN_LEN + 1];
    cr_assert_eq(downloads_create(ex_store, se.events, ex_schema, EXPORT_CSV, "search_results_x.csv.gz",
                                  time_now_us() + 3600000000LL, token, &err),
                 SALOG_OK, "%s", err.items[0].detail);
    cr_assert_eq(strlen(token), (size_t)DOWNLOAD_TOKEN_LEN);
    char probe[ID_LEN + 1];
    snprintf(probe, sizeof probe, "pas_%s", token);
    cr_assert(id_is_valid("pas_", probe), "token is 32 chars of [a-z2-7]");

    size_t len = 0;
    char *name = NULL;
    char *text = ex_download_text(token, &len, &name);
    cr_assert_str_eq(name, "search_results_x.csv.gz");
    free(name);

    /* Expected text built field by field, the tricky fields spelled out. */
    const char *fields[4][5] = {
        {"plain", "\"a,b\"", "42", "true", "t1"},
        {"\"say \"\"hi\"\"\"", "\"line1\r\nline2\"", "-7", "false", ""},
        {"Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac", "\"cr\ronly\"", "", "", "t2"},
        {"", "\"lf\nonly \"\"\"\",\"", "0", "", ""},
    };
    sbuf exp = {0};
    sbuf_puts(&exp, "received_at,actor,message,count,flag,tenant,hash,published,leaf_index,membership_proof\r\n");
    for (size_t i = 0; i < 4; i++) {
        const sv_value *ev = se.events->u.arr.items[i];
        sbuf_puts(&exp, ex_ev_str(ev, "envelope", "received_at"));
        for (size_t f = 0; f < 5; f++) {
            sbuf_puts(&exp, ",");
            sbuf_puts(&exp, fields[i][f]);
        }
        sbuf_printf(&exp, ",%s,%s,", ex_ev_str(ev, "hash", NULL), i < 2 ? "true" : "false");
        if (i < 2)
            sbuf_printf(&exp, "%zu", i);
        sbuf_puts(&exp, ",");
        const char *proof = ex_ev_str(ev, "membership_proof", NULL);
        cr_assert(proof);
        ex_expect_cell(&exp, proof);
        sbuf_puts(&exp, "\r\n");
    }
    cr_assert(sbuf_cstr(&exp));
    cr_assert_eq(len, exp.len, "length %zu, expected %zu:\n%s\n---\n%s", len, exp.len, text, exp.data);
    cr_assert(memcmp(text, exp.data, len) == 0, "got:\n%s\nexpected:\n%s", text, exp.data);

    /* And it reads back with a strict RFC 4180 reader. */
    sv_value *rows = ex_csv_parse(text, len);
    cr_assert_eq(rows->u.arr.count, 5u);
    cr_assert_str_eq(ex_cell(rows, 2, 1), "say \"hi\"");
    cr_assert_str_eq(ex_cell(rows, 2, 2), "line1\r\nline2");
    cr_assert_str_eq(ex_cell(rows, 4, 2), "lf\nonly \"\",");
    cr_assert_str_eq(ex_cell(rows, 1, 9), ex_ev_str(se.events->u.arr.items[0], "membership_proof", NULL));
    sv_free(rows);
    sbuf_free(&exp);
    free(text);

    /* Modes: directory 0770, file 0660. */
    char path[256];
    struct stat sb;
    snprintf(path, sizeof path, "%s/downloads", ex_data);
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0770u);
    snprintf(path, sizeof path, "%s/downloads/%s.gz", ex_data, token);
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0660u);
    cr_assert_eq(ex_count_files("downloads"), 1u, "no temp file left");
    search_events_clear(&se);
}

Test(exports, csv_without_verbose_and_empty)
{
    salog_err err;
    salog_err_init(&err);
    ex_tricky_log();
    uint64_t idx[2] = {3, 0};
    search_events se;
    cr_assert_eq(search_events_build(ex_store, ex_cfg, idx, 2, false, "", &se, &err), SALOG_OK);
    char token[DOWNLOAD_TOKEN_LEN + 1];
    cr_assert_eq(downloads_create(ex_store, se.events, ex_schema, EXPORT_CSV, "a.csv.gz", time_now_us() + 60000000,
                                  token, &err),
                 SALOG_OK);
    size_t len = 0;
    char *text = ex_download_text(token, &len, NULL);
    sv_value *rows = ex_csv_parse(text, len);
    cr_assert_eq(rows->u.arr.count, 3u);
    /* Index 3 first (asked order), unpublished; no leaf_index or proof. */
    cr_assert_str_eq(ex_cell(rows, 1, 6), ex_ev_str(se.events->u.arr.items[0], "hash", NULL));
    cr_assert_str_eq(ex_cell(rows, 1, 7), "false");
    cr_assert_str_eq(ex_cell(rows, 1, 8), "");
    cr_assert_str_eq(ex_cell(rows, 1, 9), "");
    cr_assert_str_eq(ex_cell(rows, 2, 7), "true");
    cr_assert_str_eq(ex_cell(rows, 2, 8), "", "leaf_index only when verbose");
    sv_free(rows);
    free(text);

    /* No events: just the header. */
    sv_value *none = sv_array();
    cr_assert_eq(downloads_create(ex_store, none, ex_schema, EXPORT_CSV, "b.csv.gz", time_now_us() + 60000000, token,
                                  &err),
                 SALOG_OK);
    text = ex_download_text(token, &len, NULL);
    cr_assert_str_eq(text, "received_at,actor,message,count,flag,tenant,hash,published,leaf_index,membership_proof\r\n");
    free(text);
    cr_assert_eq(downloads_create(ex_store, none, ex_schema, EXPORT_JSON, "b.json.gz", time_now_us() + 60000000, token,
                                  &err),
                 SALOG_OK);
    text = ex_download_text(token, &len, NULL);
    cr_assert_str_eq(text, "[]");
    free(text);
    sv_free(none);
    search_events_clear(&se);
}

Test(exports, csv_nested_values_as_json)
{
    salog_err err;
    salog_err_init(&err);
    /* A stored event with a non-scalar value (as a malformed event may be
     * kept): the cell is its JSON, quoted since it holds quotes. */
    sv_value *schema = ex_json("{\"fields\":[{\"id\":\"obj\",\"type\":\"string\"},{\"id\":\"n\",\"type\":\"integer\"}]}");
    sv_value *events = ex_json("[{\"envelope\":{\"event\":{\"obj\":{\"a\":[1,\"x\"]},\"n\":9223372036854775807},"
                               "\"received_at\":\"2024-01-02T03:04:05.000006Z\"},\"hash\":\"ab\",\"published\":false}]");
    char token[DOWNLOAD_TOKEN_LEN + 1];
    cr_assert_eq(downloads_create(ex_store, events, schema, EXPORT_CSV, "n.csv.gz", time_now_us() + 60000000, token,
                                  &err),
                 SALOG_OK);
    size_t len = 0;
    char *text = ex_download_text(token, &len, NULL);
    cr_assert_str_eq(text, "received_at,obj,n,hash,published,leaf_index,membership_proof\r\n"
                           "2024-01-02T03:04:05.000006Z,\"{\"\"a\"\":[1,\"\"x\"\"]}\",9223372036854775807,ab,false,,\r\n");
    free(text);
    sv_free(events);
    sv_free(schema);
}

Test(exports, json_download_round_trip)
{
    salog_err err;
    salog_err_init(&err);
    ex_tricky_log();
    uint64_t idx[4] = {2, 0, 3, 1};
    search_events se;
    cr_assert_eq(search_events_build(ex_store, ex_cfg, idx, 4, true, "http://h", &se, &err), SALOG_OK);
    char token[DOWNLOAD_TOKEN_LEN + 1];
    cr_assert_eq(downloads_create(ex_store, se.events, ex_schema, EXPORT_JSON, "r.json.gz", time_now_us() + 60000000,
                                  token, &err),
                 SALOG_OK);
    size_t len = 0;
    char *text = ex_download_text(token, &len, NULL);
    sv_value *back = NULL;
    cr_assert_eq(codec_json_decode(&back, text, len, 32, &err), SALOG_OK);
    cr_assert(sv_equal(back, se.events), "JSON download differs from the events");
    cr_assert_eq(back->u.arr.count, 4u);
    cr_assert_str_eq(ex_ev_str(back->u.arr.items[0], "hash", NULL), ex_ev_str(se.events->u.arr.items[0], "hash", NULL));
    sv_free(back);
    free(text);
    search_events_clear(&se);
}

Test(exports, open_and_expire)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *none = sv_array();
    int64_t now = time_now_us();
    char live[DOWNLOAD_TOKEN_LEN + 1], old[DOWNLOAD_TOKEN_LEN + 1];
    cr_assert_eq(downloads_create(ex_store, none, ex_schema, EXPORT_JSON, "live.json.gz", now + 3600000000LL, live,
                                  &err),
                 SALOG_OK);
    cr_assert_eq(downloads_create(ex_store, none, ex_schema, EXPORT_CSV, "old.csv.gz", now - 1, old, &err), SALOG_OK);
    cr_assert_str_neq(live, old);

    char *path = NULL, *name = NULL;
    int64_t expires = 0;
    cr_assert_eq(downloads_open(ex_store, old, &path, &name, &expires, &err), SALOG_E_NOT_FOUND, "expired");
    cr_assert_null(path);
    salog_err_init(&err);
    cr_assert_eq(downloads_open(ex_store, "abc", &path, &name, &expires, &err), SALOG_E_NOT_FOUND);
    salog_err_init(&err);
    cr_assert_eq(downloads_open(ex_store, "../../../../../../etc/passwd/aaaaaaaaaaaaaa", &path, &name, &expires, &err),
                 SALOG_E_NOT_FOUND);
    salog_err_init(&err);
    cr_assert_eq(downloads_open(ex_store, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &path, &name, &expires, &err),
                 SALOG_E_NOT_FOUND);
    salog_err_init(&err);
    cr_assert_eq(downloads_open(ex_store, live, &path, &name, &expires, &err), SALOG_OK);
    cr_assert_eq(expires, now + 3600000000LL);
    cr_assert_str_eq(name, "live.json.gz");
    char want[256];
    snprintf(want, sizeof want, "%s/downloads/%s.gz", ex_data, live);
    cr_assert_str_eq(path, want);
    free(path);
    free(name);

    /* Orphans: a stale temp file and a file with no record, both old; and a
     * fresh temp file (a writer at work) that must stay. */
    char orphan[256], tmp_old[256], tmp_new[256];
    snprintf(orphan, sizeof orphan, "%s/downloads/%s.gz", ex_data, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    snprintf(tmp_old, sizeof tmp_old, "%s/downloads/.tmp-old.gz", ex_data);
    snprintf(tmp_new, sizeof tmp_new, "%s/downloads/.tmp-new.gz", ex_data);
    const char *paths[3] = {orphan, tmp_old, tmp_new};
    for (int i = 0; i < 3; i++) {
        int fd = open(paths[i], O_WRONLY | O_CREAT | O_EXCL, 0600);
        cr_assert_geq(fd, 0);
        close(fd);
    }
    struct timespec two_hours_ago[2] = {{.tv_sec = time(NULL) - 7200}, {.tv_sec = time(NULL) - 7200}};
    cr_assert_eq(utimensat(AT_FDCWD, orphan, two_hours_ago, 0), 0);
    cr_assert_eq(utimensat(AT_FDCWD, tmp_old, two_hours_ago, 0), 0);

    size_t removed = 0;
    cr_assert_eq(downloads_expire(ex_store, time_now_us(), &removed, &err), SALOG_OK);
    cr_assert_eq(removed, 3u, "the expired download and two orphans");
    char old_path[256];
    snprintf(old_path, sizeof old_path, "%s/downloads/%s.gz", ex_data, old);
    cr_assert_neq(access(old_path, F_OK), 0);
    cr_assert_neq(access(orphan, F_OK), 0);
    cr_assert_neq(access(tmp_old, F_OK), 0);
    cr_assert_eq(access(tmp_new, F_OK), 0, "a fresh temp file stays");
    cr_assert_eq(ex_count_prefix("dl:"), 1u);
    cr_assert_eq(downloads_open(ex_store, live, &path, &name, &expires, &err), SALOG_OK);
    free(path);
    free(name);

    /* Hours later, the live one goes too (and the temp file is stale). */
    cr_assert_eq(downloads_expire(ex_store, now + 2 * 3600000000LL, &removed, &err), SALOG_OK);
    cr_assert_eq(removed, 2u, "the download and the now-stale temp file");
    cr_assert_eq(ex_count_prefix("dl:"), 0u);
    cr_assert_eq(ex_count_files("downloads"), 0u);
    cr_assert_eq(downloads_open(ex_store, live, &path, &name, &expires, &err), SALOG_E_NOT_FOUND);
    salog_err_init(&err);
    cr_assert_eq(downloads_expire(ex_store, now + 2 * 3600000000LL, &removed, &err), SALOG_OK);
    cr_assert_eq(removed, 0u);
    sv_free(none);
}

/* ---- export jobs ---- */

static const char *const ex_tenants[] = {"t1", "t2", "t3"};

/* Three batches of events a few ms apart; at[] gets every received_at. */
static void ex_varied_log(size_t per_batch, int64_t *at)
{
    for (size_t b = 0; b < 3; b++) {
        sv_value **evs = calloc(per_batch, sizeof *evs);
        cr_assert(evs);
        for (size_t k = 0; k < per_batch; k++) {
            size_t i = b * per_batch + k;
            char text[256];
            if (i % 5 == 4) /* no count: sorts last */
                snprintf(text, sizeof text, "{\"actor\":\"u%zu\",\"message\":\"m,%zu\",\"tenant\":\"%s\"}", i, i,
                         ex_tenants[i % 3]);
            else
                snprintf(text, sizeof text,
                         "{\"actor\":\"u%zu\",\"message\":\"m,%zu\",\"count\":%d,\"flag\":%s,\"tenant\":\"%s\"}", i,
                         i, (int)((i * 7) % 5) - 2, i % 2 ? "true" : "false", ex_tenants[i % 3]);
            evs[k] = ex_json(text);
        }
        ex_append(evs, per_batch, at + b * per_batch);
        for (size_t k = 0; k < per_batch; k++)
            sv_free(evs[k]);
        free(evs);
        usleep(3000);
    }
}

static void ex_job_init(export_job *j, export_format format, int64_t start, int64_t end, bool desc,
                        const char *order_by, bool verbose)
{
    memset(j, 0, sizeof *j);
    cr_assert_eq(id_generate("prq_", j->request_id), 0);
    cr_assert_eq(id_generate("pti_", j->token_id), 0);
    snprintf(j->config_id, sizeof j->config_id, "%s", ex_cfg);
    j->format = format;
    j->start_us = start;
    j->end_us = end;
    j->descending = desc;
    snprintf(j->order_by, sizeof j->order_by, "%s", order_by);
    j->verbose = verbose;
    j->expires_us = time_now_us() + 3600000000LL;
}

/* Expected order: indexes in [lo, hi] passing the tenant filter, sorted
 * like the export (field value, missing last, ties by index; desc reverses
 * all but missing-last). */
typedef struct ex_exp {
    uint64_t index;
    int has;
    int64_t v;
} ex_exp;

static size_t ex_expected(size_t lo, size_t hi, const char *tenant_a, const char *tenant_b, bool by_count,
                          bool desc, uint64_t *out)
{
    ex_exp e[256];
    size_t n = 0;
    for (size_t i = lo; i <= hi; i++) {
        const char *t = ex_tenants[i % 3];
        if (tenant_a && strcmp(t, tenant_a) != 0 && (!tenant_b || strcmp(t, tenant_b) != 0))
            continue;
        e[n++] = (ex_exp){.index = i, .has = i % 5 != 4, .v = (int64_t)((i * 7) % 5) - 2};
    }
    /* Insertion sort with the export's comparison. */
    for (size_t a = 1; a < n; a++) {
        for (size_t b = a; b > 0; b--) {
            ex_exp *x = &e[b - 1], *y = &e[b];
            int c;
            if (!by_count) {
                c = x->index < y->index ? -1 : 1;
                c = desc ? -c : c;
            } else if (x->has != y->has) {
                c = x->has ? -1 : 1;
            } else {
                c = x->has && x->v != y->v ? (x->v < y->v ? -1 : 1) : (x->index < y->index ? -1 : 1);
                c = desc ? -c : c;
            }
            if (c <= 0)
                break;
            ex_exp t = *x;
            *x = *y;
            *y = t;
        }
    }
    for (size_t i = 0; i < n; i++)
        out[i] = e[i].index;
    return n;
}

static void ex_hash_of(uint64_t index, char hash[65])
{
    salog_err err;
    salog_err_init(&err);
    sv_value *env = NULL;
    cr_assert_eq(auditlog_get_event(ex_store, ex_cfg, index, &env, hash, &err), SALOG_OK);
    sv_free(env);
}

/* Runs the duty and returns the finished job's download text. */
static char *ex_run_and_fetch(const export_job *job, size_t *len)
{
    salog_err err;
    salog_err_init(&err);
    export_state state;
    char owner[ID_LEN + 1], token[DOWNLOAD_TOKEN_LEN + 1], *detail = NULL, *name = NULL;
    cr_assert_eq(exports_status(ex_store, job->request_id, &state, owner, token, &detail, &err), SALOG_OK);
    cr_assert_eq(state, EXPORT_PENDING);
    cr_assert_str_eq(owner, job->token_id);
    size_t ran = 0;
    cr_assert_eq(exports_run_pending(ex_store, 10, NULL, NULL, &ran, &err), SALOG_OK, "%s", err.items[0].detail);
    cr_assert_eq(ran, 1u);
    cr_assert_eq(exports_status(ex_store, job->request_id, &state, owner, token, &detail, &err), SALOG_OK);
    cr_assert_eq(state, EXPORT_DONE, "%s", detail ? detail : "");
    cr_assert_null(detail);
    char *text = ex_download_text(token, len, &name);
    char want[96];
    snprintf(want, sizeof want, "export_%s.%s.gz", job->request_id, job->format == EXPORT_JSON ? "json" : "csv");
    cr_assert_str_eq(name, want);
    free(name);
    /* A second run has nothing to do. */
    cr_assert_eq(exports_run_pending(ex_store, 10, NULL, NULL, &ran, &err), SALOG_OK);
    cr_assert_eq(ran, 0u);
    return text;
}

static void ex_check_json_order(const char *text, size_t len, const uint64_t *want, size_t n, bool verbose)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *back = NULL;
    cr_assert_eq(codec_json_decode(&back, text, len, 32, &err), SALOG_OK);
    cr_assert_eq(back->type, SV_ARRAY);
    cr_assert_eq(back->u.arr.count, n);
    for (size_t i = 0; i < n; i++) {
        char hash[65];
        ex_hash_of(want[i], hash);
        const sv_value *ev = back->u.arr.items[i];
        cr_assert_str_eq(ex_ev_str(ev, "hash", NULL), hash, "position %zu (index %" PRIu64 ")", i, want[i]);
        cr_assert_eq(sv_object_get(ev, "membership_proof") != NULL, verbose);
    }
    sv_free(back);
}

Test(exports, job_range_order_restriction_json)
{
    int64_t at[60];
    ex_varied_log(20, at);
    /* The middle batch only, tenants t1 and t3, newest first. */
    export_job job;
    ex_job_init(&job, EXPORT_JSON, at[20], at[39], true, "received_at", false);
    cr_assert_lt(at[19], at[20], "batches are apart in time");
    cr_assert_lt(at[39], at[40]);
    job.token_restriction = ex_json("{\"tenant\":[\"t1\",\"t3\"],\"actor\":[]}");
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(exports_enqueue(ex_store, &job, &err), SALOG_OK);
    size_t len = 0;
    char *text = ex_run_and_fetch(&job, &len);
    uint64_t want[64];
    size_t n = ex_expected(20, 39, "t1", "t3", false, true, want);
    cr_assert_gt(n, 5u);
    ex_check_json_order(text, len, want, n, false);
    free(text);
    export_job_clear(&job);
}

Test(exports, job_order_by_field_both_directions)
{
    int64_t at[45];
    ex_varied_log(15, at);
    for (int d = 0; d < 2; d++) {
        export_job job;
        ex_job_init(&job, EXPORT_JSON, at[0] - 1000000, time_now_us() + 1000000, d == 1, "count", true);
        salog_err err;
        salog_err_init(&err);
        cr_assert_eq(exports_enqueue(ex_store, &job, &err), SALOG_OK);
        size_t len = 0;
        char *text = ex_run_and_fetch(&job, &len);
        uint64_t want[64];
        size_t n = ex_expected(0, 44, NULL, NULL, true, d == 1, want);
        cr_assert_eq(n, 45u);
        ex_check_json_order(text, len, want, n, true);
        free(text);
        export_job_clear(&job);
    }
}

Test(exports, job_csv_order_by_string_field)
{
    int64_t at[30];
    ex_varied_log(10, at);
    /* By actor ascending: bytewise ("u0" < "u1" < "u10" < ... < "u2"...). */
    export_job job;
    ex_job_init(&job, EXPORT_CSV, at[0], at[29], false, "actor", true);
    job.token_restriction = ex_json("{\"tenant\":[\"t2\"]}");
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(exports_enqueue(ex_store, &job, &err), SALOG_OK);
    size_t len = 0;
    char *text = ex_run_and_fetch(&job, &len);
    sv_value *rows = ex_csv_parse(text, len);
    cr_assert_str_eq(ex_cell(rows, 0, 0), "received_at");
    cr_assert_str_eq(ex_cell(rows, 0, 9), "membership_proof");
    /* t2 events: i % 3 == 1 -> 1,4,...,28; actors sorted bytewise. */
    size_t n = rows->u.arr.count - 1;
    cr_assert_eq(n, 10u);
    for (size_t r = 1; r <= n; r++) {
        cr_assert_str_eq(ex_cell(rows, r, 5), "t2");
        cr_assert_str_eq(ex_cell(rows, r, 7), "false", "nothing was published");
        cr_assert_neq(ex_cell(rows, r, 9)[0], '\0', "verbose: a proof");
        if (r > 1)
            cr_assert_lt(strcmp(ex_cell(rows, r - 1, 1), ex_cell(rows, r, 1)), 0);
        char want_msg[32];
        snprintf(want_msg, sizeof want_msg, "m,%s", ex_cell(rows, r, 1) + 1);
        cr_assert_str_eq(ex_cell(rows, r, 2), want_msg);
    }
    cr_assert_str_eq(ex_cell(rows, 1, 1), "u1");
    cr_assert_str_eq(ex_cell(rows, 2, 1), "u10");
    sv_free(rows);
    free(text);
    export_job_clear(&job);
}

Test(exports, job_empty_range)
{
    int64_t at[3];
    ex_varied_log(1, at);
    export_job job;
    ex_job_init(&job, EXPORT_JSON, at[2] + 1, at[2] + 1000, false, "received_at", true);
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(exports_enqueue(ex_store, &job, &err), SALOG_OK);
    size_t len = 0;
    char *text = ex_run_and_fetch(&job, &len);
    cr_assert_str_eq(text, "[]");
    free(text);
    /* Before the first event too. */
    ex_job_init(&job, EXPORT_JSON, at[0] - 2000000, at[0] - 1, false, "received_at", true);
    cr_assert_eq(exports_enqueue(ex_store, &job, &err), SALOG_OK);
    text = ex_run_and_fetch(&job, &len);
    cr_assert_str_eq(text, "[]");
    free(text);
}

Test(exports, job_failures)
{
    salog_err err;
    salog_err_init(&err);
    int64_t at[3];
    ex_varied_log(1, at);
    export_state state;
    char owner[ID_LEN + 1], token[DOWNLOAD_TOKEN_LEN + 1], *detail = NULL;
    size_t ran = 0;

    /* An order_by that is not (or no longer) a field of the schema. */
    export_job bad_order, gone;
    ex_job_init(&bad_order, EXPORT_CSV, at[0], at[2], false, "no_such_field", false);
    cr_assert_eq(exports_enqueue(ex_store, &bad_order, &err), SALOG_OK);
    cr_assert_eq(exports_run_pending(ex_store, 10, NULL, NULL, &ran, &err), SALOG_OK);
    cr_assert_eq(ran, 1u);
    cr_assert_eq(exports_status(ex_store, bad_order.request_id, &state, owner, token, &detail, &err), SALOG_OK);
    cr_assert_eq(state, EXPORT_FAILED);
    cr_assert(detail && strstr(detail, "no_such_field"), "%s", detail);
    free(detail);

    /* The config was deleted after the export was asked for. */
    ex_job_init(&gone, EXPORT_CSV, at[0], at[2], false, "received_at", false);
    cr_assert_eq(exports_enqueue(ex_store, &gone, &err), SALOG_OK);
    sv_value *deleted = NULL;
    cr_assert_eq(configs_delete(ex_store, ex_cfg, &deleted, &err), SALOG_OK);
    sv_free(deleted);
    cr_assert_eq(exports_run_pending(ex_store, 10, NULL, NULL, &ran, &err), SALOG_OK);
    cr_assert_eq(ran, 1u);
    cr_assert_eq(exports_status(ex_store, gone.request_id, &state, owner, token, &detail, &err), SALOG_OK);
    cr_assert_eq(state, EXPORT_FAILED);
    cr_assert(detail && strstr(detail, "no longer exists") && strstr(detail, ex_cfg), "%s", detail);
    cr_assert_str_eq(owner, gone.token_id);
    free(detail);
    cr_assert_eq(ex_count_prefix("dl:"), 0u);
    cr_assert_eq(ex_count_files("downloads"), 0u, "no file left behind");
    /* Failed jobs are not run again. */
    cr_assert_eq(exports_run_pending(ex_store, 10, NULL, NULL, &ran, &err), SALOG_OK);
    cr_assert_eq(ran, 0u);
}

Test(exports, unknown_expired_and_malformed_jobs)
{
    salog_err err;
    salog_err_init(&err);
    export_state state;
    char owner[ID_LEN + 1], token[DOWNLOAD_TOKEN_LEN + 1], *detail = NULL, rid[ID_LEN + 1];
    cr_assert_eq(id_generate("prq_", rid), 0);
    cr_assert_eq(exports_status(ex_store, rid, &state, owner, token, &detail, &err), SALOG_E_NOT_FOUND);
    salog_err_init(&err);
    cr_assert_eq(exports_status(ex_store, "prq_x", &state, owner, token, &detail, &err), SALOG_E_NOT_FOUND);

    export_job job;
    ex_job_init(&job, EXPORT_CSV, 0, time_now_us(), false, "received_at", false);
    job.expires_us = time_now_us() - 1;
    salog_err_init(&err);
    cr_assert_eq(exports_enqueue(ex_store, &job, &err), SALOG_OK);
    cr_assert_eq(exports_status(ex_store, job.request_id, &state, owner, token, &detail, &err), SALOG_E_NOT_FOUND);
    salog_err_init(&err);
    cr_assert_eq(ex_count_prefix("job:"), 1u);
    size_t ran = 9;
    cr_assert_eq(exports_run_pending(ex_store, 10, NULL, NULL, &ran, &err), SALOG_OK);
    cr_assert_eq(ran, 0u);
    cr_assert_eq(ex_count_prefix("job:"), 0u, "an expired job is forgotten");

    snprintf(job.request_id, sizeof job.request_id, "not-a-request-id");
    cr_assert_neq(exports_enqueue(ex_store, &job, &err), SALOG_OK);
}

/* Rewrites a stored job record's claim fields. */
static void ex_set_running(const char *request_id, int64_t pid, int64_t claimed_at)
{
    char key[64];
    snprintf(key, sizeof key, "job:%s", request_id);
    sv_value *rec = NULL;
    cr_assert_eq(store_get_json(ex_store->meta, NULL, key, &rec, 0), 0);
    cr_assert_eq(sv_object_set_str(rec, "state", "running"), 0);
    cr_assert_eq(sv_object_set_str(rec, "claim", "clm_someoneelse"), 0);
    cr_assert_eq(sv_object_set_int(rec, "pid", pid), 0);
    cr_assert_eq(sv_object_set_int(rec, "claimed_at_us", claimed_at), 0);
    cr_assert_eq(store_put_json(ex_store->meta, NULL, key, rec, 0), 0);
    sv_free(rec);
}

Test(exports, running_job_takeover)
{
    salog_err err;
    salog_err_init(&err);
    int64_t at[3];
    ex_varied_log(1, at);
    export_job live, dead, stale;
    ex_job_init(&live, EXPORT_JSON, at[0], at[2], false, "received_at", false);
    ex_job_init(&dead, EXPORT_JSON, at[0], at[2], false, "received_at", false);
    ex_job_init(&stale, EXPORT_JSON, at[0], at[2], false, "received_at", false);
    cr_assert_eq(exports_enqueue(ex_store, &live, &err), SALOG_OK);
    cr_assert_eq(exports_enqueue(ex_store, &dead, &err), SALOG_OK);
    cr_assert_eq(exports_enqueue(ex_store, &stale, &err), SALOG_OK);
    /* A pid that has exited. */
    pid_t child = fork();
    cr_assert_geq(child, 0);
    if (child == 0)
        _exit(0);
    cr_assert_eq(waitpid(child, NULL, 0), child);
    int64_t now = time_now_us();
    ex_set_running(live.request_id, (int64_t)getpid(), now);   /* a live claimer at work */
    ex_set_running(dead.request_id, (int64_t)child, now);      /* its claimer died */
    ex_set_running(stale.request_id, (int64_t)getpid(), now - 2 * 3600000000LL); /* stuck for hours */
    size_t ran = 0;
    cr_assert_eq(exports_run_pending(ex_store, 10, NULL, NULL, &ran, &err), SALOG_OK);
    cr_assert_eq(ran, 2u);
    export_state state;
    char owner[ID_LEN + 1], token[DOWNLOAD_TOKEN_LEN + 1], *detail = NULL;
    cr_assert_eq(exports_status(ex_store, live.request_id, &state, owner, token, &detail, &err), SALOG_OK);
    cr_assert_eq(state, EXPORT_PENDING, "a live claimer's job is left alone");
    cr_assert_eq(exports_status(ex_store, dead.request_id, &state, owner, token, &detail, &err), SALOG_OK);
    cr_assert_eq(state, EXPORT_DONE);
    cr_assert_eq(exports_status(ex_store, stale.request_id, &state, owner, token, &detail, &err), SALOG_OK);
    cr_assert_eq(state, EXPORT_DONE);
    cr_assert_eq(ex_count_prefix("dl:"), 2u);
}

/* ---- concurrency ---- */

#define EX_JOBS 6

typedef struct ex_thread_arg {
    size_t ran;
    salog_status st;
} ex_thread_arg;

static void *ex_thread(void *p)
{
    ex_thread_arg *a = p;
    salog_err err;
    salog_err_init(&err);
    a->st = exports_run_pending(ex_store, 100, NULL, NULL, &a->ran, &err);
    return NULL;
}

static void ex_enqueue_many(export_job *jobs, const int64_t *at, size_t n_events)
{
    salog_err err;
    salog_err_init(&err);
    for (size_t i = 0; i < EX_JOBS; i++) {
        ex_job_init(&jobs[i], i % 2 ? EXPORT_CSV : EXPORT_JSON, at[0], at[n_events - 1], i % 3 == 0,
                    i % 4 == 0 ? "count" : "received_at", true);
        cr_assert_eq(exports_enqueue(ex_store, &jobs[i], &err), SALOG_OK);
    }
}

static void ex_check_all_done(const export_job *jobs)
{
    salog_err err;
    salog_err_init(&err);
    for (size_t i = 0; i < EX_JOBS; i++) {
        export_state state;
        char owner[ID_LEN + 1], token[DOWNLOAD_TOKEN_LEN + 1], *detail = NULL;
        cr_assert_eq(exports_status(ex_store, jobs[i].request_id, &state, owner, token, &detail, &err), SALOG_OK);
        cr_assert_eq(state, EXPORT_DONE, "job %zu: %s", i, detail ? detail : "");
        size_t len = 0;
        char *text = ex_download_text(token, &len, NULL);
        cr_assert_gt(len, 0u);
        free(text);
    }
    cr_assert_eq(ex_count_prefix("dl:"), (size_t)EX_JOBS, "each job wrote exactly one download");
    cr_assert_eq(ex_count_files("downloads"), (size_t)EX_JOBS);
}

Test(exports, two_threads_run_each_job_once)
{
    int64_t at[300];
    ex_varied_log(100, at);
    export_job jobs[EX_JOBS];
    ex_enqueue_many(jobs, at, 300);
    pthread_t t[2];
    ex_thread_arg a[2] = {{0}, {0}};
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, ex_thread, &a[i]), 0);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_join(t[i], NULL), 0);
    cr_assert_eq(a[0].st, SALOG_OK);
    cr_assert_eq(a[1].st, SALOG_OK);
    cr_assert_eq(a[0].ran + a[1].ran, (size_t)EX_JOBS, "ran %zu + %zu", a[0].ran, a[1].ran);
    ex_check_all_done(jobs);
}

Test(exports, two_processes_run_each_job_once)
{
    int64_t at[300];
    ex_varied_log(100, at);
    export_job jobs[EX_JOBS];
    ex_enqueue_many(jobs, at, 300);
    /* One store per process (DB_REGISTER): the parent closes its own. */
    store_close(ex_store);
    ex_store = NULL;
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        cr_assert_geq(kids[k], 0);
        if (kids[k] == 0) {
            store *s = NULL;
            salog_err err;
            salog_err_init(&err);
            size_t ran = 0;
            int code = 1;
            if (store_open(&s, ex_data, false, &err) == SALOG_OK &&
                exports_run_pending(s, 100, NULL, NULL, &ran, &err) == SALOG_OK)
                code = 0;
            store_close(s);
            unsigned char r = (unsigned char)ran;
            if (write(fds[1], &r, 1) != 1)
                code = 1;
            _exit(code);
        }
    }
    close(fds[1]);
    size_t total = 0;
    for (int k = 0; k < 2; k++) {
        int status = 0;
        cr_assert_eq(waitpid(kids[k], &status, 0), kids[k]);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        unsigned char r = 0;
        cr_assert_eq(read(fds[0], &r, 1), 1);
        total += r;
    }
    close(fds[0]);
    cr_assert_eq(total, (size_t)EX_JOBS);
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(store_open(&ex_store, ex_data, false, &err), SALOG_OK);
    ex_check_all_done(jobs);
}
