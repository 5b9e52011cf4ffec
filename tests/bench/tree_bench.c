/* tree_bench DIR: the cost of a root, a membership proof and a consistency
 * proof read from Berkeley DB, for a tree of 1,000 events and one of
 * 1,000,000 events, measured in the same run (median of many calls at random
 * sizes and positions, each call timed with CLOCK_MONOTONIC). The target is logarithmic growth: each
 * operation at 1M costs at most 2x its cost at 1k. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/timefmt.h"
#include "model/auditlog.h"
#include "model/config_schema.h"
#include "model/configs.h"
#include "model/server_key.h"

#define CALLS 2001

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *what, const salog_err *err)
{
    fprintf(stderr, "tree_bench: %s: %s\n", what, err->count ? err->items[0].detail : "?");
    exit(1);
}

/* Builds a store under dir with n small events; returns it open. */
static store *build(const char *dir, uint64_t n, char config_id[ID_LEN + 1])
{
    salog_err err;
    salog_err_init(&err);
    store *s = NULL;
    if (store_open(&s, dir, true, &err) != SALOG_OK)
        die("open", &err);
    sv_value *cfg = config_default("bench"), *stored = NULL;
    if (configs_create(s, cfg, &stored, &err) != SALOG_OK)
        die("config", &err);
    snprintf(config_id, ID_LEN + 1, "%s", sv_object_get_str(stored, "id"));
    sv_free(cfg);
    sv_free(stored);
    enum { BATCH = 1000 };
    sv_value *events[BATCH];
    log_item items[BATCH];
    for (uint64_t done = 0; done < n;) {
        size_t count = n - done < BATCH ? (size_t)(n - done) : BATCH;
        for (size_t i = 0; i < count; i++) {
            char msg[64];
            snprintf(msg, sizeof msg, "bench event %" PRIu64, done + i);
            events[i] = sv_object();
            sv_object_set_str(events[i], "message", msg);
            items[i] = (log_item){events[i], NULL, NULL, NULL};
        }
        log_append_result r = {0};
        if (auditlog_append(s, config_id, items, count, &r, &err) != SALOG_OK)
            die("append", &err);
        auditlog_append_result_clear(&r);
        for (size_t i = 0; i < count; i++)
            sv_free(events[i]);
        done += count;
    }
    /* What the checkpoint duty does in a running server: the pages the
     * build dirtied are written out, so the reads measured below do not
     * pay for evicting them (the 1M build leaves most of the cache dirty,
     * the 1k build hardly any). */
    store_checkpoint(s);
    return s;
}

typedef struct costs {
    double root, membership, consistency;
} costs;

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* Times CALLS calls of each operation at random sizes and positions. */
static costs measure_pass(store *s, const char *config_id, uint64_t n, unsigned seed)
{
    static double t[CALLS];
    costs c;
    salog_err err;
    salog_err_init(&err);
    uint8_t root[MERKLE_HASH_LEN];
    for (size_t i = 0; i < CALLS; i++) {
        uint64_t size = 1 + (uint64_t)rand_r(&seed) % n;
        double t0 = now_ms();
        if (auditlog_root(s, config_id, size, root, &err) != SALOG_OK)
            die("root", &err);
        t[i] = now_ms() - t0;
    }
    c.root = median(t, CALLS);
    for (size_t i = 0; i < CALLS; i++) {
        uint64_t index = (uint64_t)rand_r(&seed) % n;
        char *proof = NULL;
        double t0 = now_ms();
        if (auditlog_membership_proof(s, config_id, index, n, &proof, &err) != SALOG_OK)
            die("membership", &err);
        t[i] = now_ms() - t0;
        free(proof);
    }
    c.membership = median(t, CALLS);
    for (size_t i = 0; i < CALLS; i++) {
        uint64_t old_size = 1 + (uint64_t)rand_r(&seed) % (n - 1);
        sv_value *proof = NULL;
        double t0 = now_ms();
        if (auditlog_consistency_proof(s, config_id, old_size, n, &proof, &err) != SALOG_OK)
            die("consistency", &err);
        t[i] = now_ms() - t0;
        sv_free(proof);
    }
    c.consistency = median(t, CALLS);
    return c;
}

/* Reads every record these operations use once: roots of every 32nd
 * size (one stored-root group each), proofs from every 32nd position (one
 * bottom tile each). A worker that has been serving a while has touched
 * its shared region this way; right after it opens the environment, each
 * first touch of a cache page is a page fault, which at 1M events (tens of
 * MB of tiles and roots) is most calls and at 1k events none after a few. */
static void warm_sweep(store *s, const char *config_id, uint64_t n)
{
    salog_err err;
    salog_err_init(&err);
    uint8_t root[MERKLE_HASH_LEN];
    for (uint64_t k = 1; k <= n; k += 32) {
        char *proof = NULL;
        sv_value *cproof = NULL;
        if (auditlog_root(s, config_id, k, root, &err) != SALOG_OK ||
            auditlog_membership_proof(s, config_id, k - 1, n, &proof, &err) != SALOG_OK ||
            (k < n && auditlog_consistency_proof(s, config_id, k, n, &cproof, &err) != SALOG_OK))
            die("warm-up", &err);
        free(proof);
        sv_free(cproof);
    }
}

/* Both sizes are measured twice: right after the store is opened (one
 * random pass, reported for information), and in the steady state the
 * target is about: after warm_sweep, the same at both sizes. */
static void measure(store *s, const char *config_id, uint64_t n, costs *after_open, costs *warm)
{
    *after_open = measure_pass(s, config_id, n, 777);
    warm_sweep(s, config_id, n);
    *warm = measure_pass(s, config_id, n, 12345);
}

static store *open_store(const char *dir)
{
    salog_err err;
    salog_err_init(&err);
    store *s = NULL;
    if (store_open(&s, dir, false, &err) != SALOG_OK)
        die("open", &err);
    return s;
}

static double median3(double a, double b, double c)
{
    double v[3] = {a, b, c};
    return median(v, 3);
}

static costs median_costs(const costs r[3])
{
    return (costs){median3(r[0].root, r[1].root, r[2].root),
                   median3(r[0].membership, r[1].membership, r[2].membership),
                   median3(r[0].consistency, r[1].consistency, r[2].consistency)};
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tree_bench DIR\n");
        return 2;
    }
    char small_dir[4096], big_dir[4096], small_cfg[ID_LEN + 1], big_cfg[ID_LEN + 1];
    snprintf(small_dir, sizeof small_dir, "%s/small", argv[1]);
    snprintf(big_dir, sizeof big_dir, "%s/big", argv[1]);
    double t0 = now_ms();
    /* One open store per process (DB_REGISTER), and each tree in a store of
     * its own (a 1k tree sharing a btree with a 1M one would pay for the
     * deeper btree). */
    store_close(build(small_dir, 1000, small_cfg));
    store_close(build(big_dir, 1000000, big_cfg));
    double built = now_ms() - t0;
    /* Rounds alternate the two stores, so a change in the machine's load
     * during the run hits both sizes; each size's cost is the median of
     * its rounds. */
    enum { ROUNDS = 3 };
    costs small[ROUNDS], big[ROUNDS], small_open[ROUNDS], big_open[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        store *s = open_store(small_dir);
        measure(s, small_cfg, 1000, &small_open[r], &small[r]);
        store_close(s);
        s = open_store(big_dir);
        measure(s, big_cfg, 1000000, &big_open[r], &big[r]);
        store_close(s);
    }
    costs sm = median_costs(small), bg = median_costs(big), smo = median_costs(small_open),
          bgo = median_costs(big_open);
    printf("tree_bench: built 1,000 + 1,000,000 events in %.1f s; %d alternating rounds\n", built / 1e3, ROUNDS);
    printf("tree_bench: root         1k %.4f ms  1M %.4f ms  ratio %.2f (target <= 2)\n", sm.root, bg.root,
           bg.root / sm.root);
    printf("tree_bench: membership   1k %.4f ms  1M %.4f ms  ratio %.2f (target <= 2)\n", sm.membership,
           bg.membership, bg.membership / sm.membership);
    printf("tree_bench: consistency  1k %.4f ms  1M %.4f ms  ratio %.2f (target <= 2)\n", sm.consistency,
           bg.consistency, bg.consistency / sm.consistency);
    printf("tree_bench: right after opening the store (first touch of each cache page faults), for information:\n");
    printf("tree_bench:   root 1k %.4f / 1M %.4f ms (%.2f), membership %.4f / %.4f ms (%.2f), "
           "consistency %.4f / %.4f ms (%.2f)\n",
           smo.root, bgo.root, bgo.root / smo.root, smo.membership, bgo.membership, bgo.membership / smo.membership,
           smo.consistency, bgo.consistency, bgo.consistency / smo.consistency);
    return 0;
}
