/* Search cost at 10,000 and 1,000,000 events (not part of make test).
 * Events: actor user-<i % (n/20, at most 50000)>-a (20 events per actor in
 * both logs; the "-a" ends the number, so a contains-search for one actor
 * does not also match user-3450-a…), action read|write|login|delete,
 * message "event <i>".
 *   selective  `actor:user-345-a` (contains) and `actor=user-345-a`
 *              (equals), 20 matches in both logs, first page of 20,
 *              max_results 10000: index seeks, so the cost must not grow
 *              with the log (target ratio <= 5);
 *   last 10k   `""` and `action:read` over the last 10,000 events of the
 *              big log (a time range: start = received_at of event
 *              size-10000) vs over the whole small log (target <= 2).
 * All searches are order desc. Usage: search_bench DIR [BIG_EVENTS]
 * (default 1000000; indexing runs at roughly 2,600 events/s at that size on
 * the 2-core machine, so the full run takes about 6.5 minutes; 300000 takes
 * about 1.5). Each log lives in its own data directory under DIR (one store
 * open at a time: DB_REGISTER). SEARCH_BENCH_CACHE_MB=N writes a DB_CONFIG
 * with that cache size (experiments only). Prints medians of 21 runs.
 * Exit 0 unless something fails. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "codec/codec.h"
#include "codec/timefmt.h"
#include "model/auditlog.h"
#include "model/config_schema.h"
#include "model/configs.h"
#include "model/query.h"
#include "model/search.h"
#include "model/search_index.h"

#define SB_RUNS 21
#define SB_BATCH 1000
#define SB_WINDOW 10000

static const char *const sb_actions[] = {"read", "write", "login", "delete"};

static double sb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int sb_dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int sb_fail(const char *what, const salog_err *err)
{
    fprintf(stderr, "search_bench: %s: %s\n", what, err->count ? err->items[0].detail : "?");
    return -1;
}

static sv_value *sb_schema(void)
{
    sv_value *schema = sv_object(), *fields = sv_array();
    const char *ids[] = {"actor", "action", "message"};
    if (!schema || !fields)
        return NULL;
    for (size_t i = 0; i < 3; i++) {
        sv_value *f = sv_object();
        if (!f || sv_object_set_str(f, "id", ids[i]) != 0 || sv_object_set_str(f, "type", "string") != 0 ||
            sv_array_push(fields, f) != 0)
            return NULL;
    }
    if (sv_object_set(schema, "fields", fields) != 0 || sv_object_set_bool(schema, "tamper_proofing", true) != 0)
        return NULL;
    return schema;
}

typedef struct sb_log {
    store *s;
    char cfg[ID_LEN + 1];
    sv_value *schema;
    uint64_t size;
    size_t actors; /* actor = user-<i % actors> */
} sb_log;

/* Creates the data directory, the config, `count` events and the index. */
static int sb_build(sb_log *l, const char *dir, size_t count)
{
    salog_err err;
    salog_err_init(&err);
    const char *cache_mb = getenv("SEARCH_BENCH_CACHE_MB");
    if (cache_mb && *cache_mb) {
        /* Experiment only: a DB_CONFIG cache size overrides store.c's. */
        char path[4200];
        if (mkdir(dir, 0770) != 0)
            return sb_fail("mkdir", &err);
        snprintf(path, sizeof path, "%s/DB_CONFIG", dir);
        FILE *f = fopen(path, "w");
        if (!f)
            return sb_fail("DB_CONFIG", &err);
        fprintf(f, "set_cachesize 0 %llu 1\n", strtoull(cache_mb, NULL, 10) * 1024ull * 1024ull);
        fclose(f);
    }
    if (store_open(&l->s, dir, true, &err) != SALOG_OK)
        return sb_fail("store_open", &err);
    sv_value *cfg = config_default("bench"), *made = NULL;
    sv_value *schema = sb_schema();
    if (!cfg || !schema || sv_object_set(cfg, "schema", schema) != 0 ||
        configs_create(l->s, cfg, &made, &err) != SALOG_OK)
        return sb_fail("configs_create", &err);
    snprintf(l->cfg, sizeof l->cfg, "%s", sv_object_get_str(made, "id"));
    l->schema = sv_clone(sv_object_get(made, "schema"));
    sv_free(made);
    sv_free(cfg);
    l->actors = count / 20 < 50000 ? count / 20 : 50000;
    double t0 = sb_now_ms();
    sv_value **evs = calloc(SB_BATCH, sizeof *evs);
    log_item *items = calloc(SB_BATCH, sizeof *items);
    if (!evs || !items || !l->schema)
        return sb_fail("out of memory", &err);
    for (size_t b = 0; b < count; b += SB_BATCH) {
        size_t n = count - b < SB_BATCH ? count - b : SB_BATCH;
        for (size_t k = 0; k < n; k++) {
            char buf[64];
            size_t i = b + k;
            evs[k] = sv_object();
            snprintf(buf, sizeof buf, "user-%zu-a", i % l->actors);
            sv_object_set_str(evs[k], "actor", buf);
            sv_object_set_str(evs[k], "action", sb_actions[i % 4]);
            snprintf(buf, sizeof buf, "event %zu", i);
            sv_object_set_str(evs[k], "message", buf);
            items[k].event = evs[k];
        }
        log_append_result r;
        salog_status st = auditlog_append(l->s, l->cfg, items, n, &r, &err);
        auditlog_append_result_clear(&r);
        for (size_t k = 0; k < n; k++)
            sv_free(evs[k]);
        if (st != SALOG_OK)
            return sb_fail("auditlog_append", &err);
        if ((b / SB_BATCH) % 100 == 99)
            store_checkpoint(l->s); /* lets old log files go, as the service's duty does */
    }
    free(evs);
    free(items);
    double t1 = sb_now_ms();
    size_t total = 0, done = 0;
    do {
        if (search_index_catch_up(l->s, 100000, &done, &err) != SALOG_OK)
            return sb_fail("search_index_catch_up", &err);
        total += done;
        store_checkpoint(l->s);
    } while (done > 0);
    double t2 = sb_now_ms();
    l->size = count;
    printf("search_bench: %zu events appended in %.1f s, indexed (%zu) in %.1f s (%.0f events/s)\n", count,
           (t1 - t0) / 1e3, total, (t2 - t1) / 1e3, (double)total / ((t2 - t1) / 1e3));
    fflush(stdout);
    return 0;
}

/* Median time of a search of `text` from start_us (first page of 20). */
static int sb_time(sb_log *l, const char *text, int64_t start_us, size_t max_results, double *median,
                   uint64_t *count, size_t *loaded)
{
    salog_err err;
    salog_err_init(&err);
    query_node *q = NULL;
    double t[SB_RUNS];
    if (query_parse(text, strlen(text), &q, &err) != SALOG_OK || query_bind(q, l->schema, &err) != SALOG_OK)
        return sb_fail("query", &err);
    search_params p = {.config_id = l->cfg, .schema = l->schema, .query = q, .start_us = start_us,
                       .end_us = time_now_us(), .descending = true, .order_by = "received_at",
                       .max_results = max_results, .verbose = true, .owner_token_id = "pti_bench",
                       .ttl_us = 3600000000LL};
    for (int r = 0; r < SB_RUNS; r++) {
        search_result_set rs;
        double t0 = sb_now_ms();
        if (search_run_counted(l->s, &p, 20, &rs, loaded, &err) != SALOG_OK)
            return sb_fail("search_run", &err);
        t[r] = sb_now_ms() - t0;
        *count = rs.count;
        search_result_set_clear(&rs);
    }
    query_free(q);
    qsort(t, SB_RUNS, sizeof *t, sb_dbl_cmp);
    *median = t[SB_RUNS / 2];
    return 0;
}

static int64_t sb_received_at(sb_log *l, uint64_t index)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *env = NULL;
    char hash[65];
    int64_t at = 0;
    if (auditlog_get_event(l->s, l->cfg, index, &env, hash, &err) == SALOG_OK)
        (void)time_parse_rfc3339(sv_object_get_str(env, "received_at"), &at);
    sv_free(env);
    return at;
}

typedef struct sb_fig {
    double ms;
    uint64_t count;
    size_t loaded;
} sb_fig;

/* figs: [0] selective, [1] selective equality, [2] window "", [3] window action:read */
static int sb_measure(sb_log *l, bool window, sb_fig figs[4])
{
    int64_t start = window ? sb_received_at(l, l->size - SB_WINDOW) : 0;
    if (sb_time(l, "actor:user-345-a", 0, SEARCH_MAX_RESULTS, &figs[0].ms, &figs[0].count, &figs[0].loaded) != 0 ||
        sb_time(l, "actor=user-345-a", 0, SEARCH_MAX_RESULTS, &figs[1].ms, &figs[1].count, &figs[1].loaded) != 0 ||
        sb_time(l, "", start, SEARCH_MAX_RESULTS, &figs[2].ms, &figs[2].count, &figs[2].loaded) != 0 ||
        sb_time(l, "action:read", start, SEARCH_MAX_RESULTS, &figs[3].ms, &figs[3].count, &figs[3].loaded) != 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: search_bench DIR [BIG_EVENTS]\n");
        return 2;
    }
    size_t big = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 1000000;
    if (big < 2 * SB_WINDOW)
        big = 2 * SB_WINDOW;
    char dir[4096];
    sb_fig small[4], large[4];
    sb_log l = {0};

    snprintf(dir, sizeof dir, "%s/small", argv[1]);
    if (sb_build(&l, dir, SB_WINDOW) != 0 || sb_measure(&l, false, small) != 0)
        return 1;
    store_close(l.s);
    sv_free(l.schema);
    memset(&l, 0, sizeof l);

    snprintf(dir, sizeof dir, "%s/big", argv[1]);
    if (sb_build(&l, dir, big) != 0 || sb_measure(&l, true, large) != 0)
        return 1;
    store_close(l.s);
    sv_free(l.schema);

    static const char *const names[] = {"selective actor:user-345-a", "selective actor=user-345-a",
                                        "last 10k events, query \"\"", "last 10k events, action:read"};
    static const double targets[] = {5, 5, 2, 2};
    for (int k = 0; k < 4; k++) {
        double ratio = large[k].ms / (small[k].ms > 0 ? small[k].ms : 1e-6);
        printf("search_bench: %s: 10k %.3f ms (%" PRIu64 " matches, %zu loaded), %zuk %.3f ms (%" PRIu64
               " matches, %zu loaded), ratio %.2f (target <= %.0f)\n",
               names[k], small[k].ms, small[k].count, small[k].loaded, big / 1000, large[k].ms, large[k].count,
               large[k].loaded, ratio, targets[k]);
    }
    return 0;
}
