/* The tamper-evident log storage: appends (vectors, batches, concurrent
 * threads and processes), roots and proofs against a naive reference,
 * checkpoints, verify on clean and damaged logs, async results, leases. */
#include <criterion/criterion.h>
#include <errno.h>
#include <json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec/codec.h"
#include "codec/timefmt.h"
#include "model/auditlog.h"
#include "model/be64.h"
#include "model/root_groups.h"
#include "model/stored_roots.h"
#include "model/tree_queues.h"
#include "model/tree_tiles.h"
#include "model/configs.h"
#include "model/server_key.h"
#include "model/store_internal.h"
#include "tests/unit/test_tmpdir.h"

static char al_test_root[64];
static char al_test_data[96];
static store *al_test_store;
static char al_test_cfg[ID_LEN + 1];

static void al_test_setup(void)
{
    salog_err err;
    salog_err_init(&err);
    test_tmpdir_make(al_test_root, sizeof al_test_root, "auditlog");
    snprintf(al_test_data, sizeof al_test_data, "%s/data", al_test_root);
    cr_assert_eq(store_open(&al_test_store, al_test_data, true, &err), SALOG_OK);
    cr_assert_eq(server_key_create(al_test_data, &err), SALOG_OK);
    cr_assert_eq(id_generate("pci_", al_test_cfg), 0);
}

static void al_test_teardown(void)
{
    store_close(al_test_store);
    al_test_store = NULL;
    test_tmpdir_remove(al_test_root);
}

TestSuite(auditlog, .init = al_test_setup, .fini = al_test_teardown, .timeout = 300);

static const char *al_test_vectors_dir(void)
{
    const char *d = getenv("SALOG_VECTORS_DIR");
    return d && *d ? d : "../shared/vectors";
}

static sv_value *al_test_from_json(json_object *o)
{
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    sv_value *v = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(codec_json_decode(&v, text, strlen(text), 64, &err), SALOG_OK);
    return v;
}

static sv_value *al_test_event(const char *msg)
{
    sv_value *e = sv_object();
    cr_assert_not_null(e);
    cr_assert_eq(sv_object_set_str(e, "message", msg), 0);
    return e;
}

/* Naive RFC 6962 root over raw leaves (the reference). */
static void al_test_naive_root(const uint8_t (*leaves)[32], uint64_t n, uint8_t out[32])
{
    if (n == 1) {
        memcpy(out, leaves[0], 32);
        return;
    }
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    uint8_t l[32], r[32];
    al_test_naive_root(leaves, k, l);
    al_test_naive_root(leaves + k, n - k, r);
    merkle_hash_children(l, r, out);
}

static void al_test_unhex(const char *hex, uint8_t out[32])
{
    cr_assert_eq(merkle_unhex(hex, out), 0, "bad hex %s", hex);
}

/* The hash of an envelope = SHA-256 of its canonical JSON. */
static void al_test_hash_of(const sv_value *env, char hex[65])
{
    cr_assert_eq(codec_canonical_sha256_hex(env, hex), 0);
}

static void al_test_append_one(const char *cfg, const char *msg, log_append_result *r)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *ev = al_test_event(msg);
    log_item it = {.event = ev};
    cr_assert_eq(auditlog_append(al_test_store, cfg, &it, 1, r, &err), SALOG_OK, "%s",
                 err.count ? err.items[0].detail : "");
    sv_free(ev);
}

/* Every stored event from 0 to n-1: hash = SHA-256(canonical), leaf index
 * order = received_at order; fills leaves. */
static void al_test_check_stored(const char *cfg, uint64_t n, uint8_t (*leaves)[32])
{
    char prev_at[TIME_RFC3339_LEN + 1] = "";
    salog_err err;
    salog_err_init(&err);
    for (uint64_t i = 0; i < n; i++) {
        sv_value *env = NULL;
        char hash[65], again[65];
        cr_assert_eq(auditlog_get_event(al_test_store, cfg, i, &env, hash, &err), SALOG_OK);
        al_test_hash_of(env, again);
        cr_assert_str_eq(hash, again, "event %llu", (unsigned long long)i);
        const char *at = sv_object_get_str(env, "received_at");
        cr_assert_not_null(at);
        cr_assert_eq(strlen(at), TIME_RFC3339_LEN);
        cr_assert_eq(at[26], 'Z');
        cr_assert(strcmp(prev_at, at) <= 0, "received_at decreased at %llu", (unsigned long long)i);
        snprintf(prev_at, sizeof prev_at, "%s", at);
        if (leaves)
            al_test_unhex(hash, leaves[i]);
        sv_free(env);
    }
}

Test(auditlog, vectors_roots_and_proofs)
{
    char path[512];
    salog_err err;
    salog_err_init(&err);
    snprintf(path, sizeof path, "%s/envelopes.json", al_test_vectors_dir());
    json_object *root = json_object_from_file(path);
    cr_assert_not_null(root, "cannot read %s", path);
    json_object *events = json_object_object_get(root, "events");
    size_t n = json_object_array_length(events);
    cr_assert_eq(n, 40);
    uint8_t leaves[40][32];
    uint8_t roots[41][32];
    uint64_t size = 0;
    /* Batches of 1, 2, 3, ... events. */
    for (size_t start = 0, batch = 1; start < n; start += batch, batch++) {
        if (start + batch > n)
            batch = n - start;
        log_item items[16];
        sv_value *evs[16];
        for (size_t j = 0; j < batch; j++) {
            json_object *e = json_object_array_get_idx(events, start + j);
            json_object *env = json_object_object_get(e, "envelope"), *x;
            evs[j] = al_test_from_json(json_object_object_get(env, "event"));
            items[j] = (log_item){.event = evs[j]};
            if (json_object_object_get_ex(env, "signature", &x))
                items[j].signature = json_object_get_string(x);
            if (json_object_object_get_ex(env, "public_key", &x))
                items[j].public_key = json_object_get_string(x);
        }
        log_append_result r;
        cr_assert_eq(auditlog_append(al_test_store, al_test_cfg, items, batch, &r, &err), SALOG_OK);
        cr_assert_eq(r.count, batch);
        cr_assert_eq(r.tree_size, start + batch);
        for (size_t j = 0; j < batch; j++) {
            json_object *e = json_object_array_get_idx(events, start + j);
            json_object *venv = json_object_object_get(e, "envelope");
            char hex[65];
            cr_assert_eq(r.items[j].leaf_index, start + j);
            al_test_hash_of(r.items[j].envelope, hex);
            cr_assert_str_eq(r.items[j].hash, hex);
            cr_assert(sv_equal(sv_object_get(r.items[j].envelope, "event"), evs[j]));
            /* With the vector's received_at, the envelope hashes to the vector's hash:
             * no member added or lost. */
            cr_assert_eq(sv_object_set_str(r.items[j].envelope, "received_at",
                                           json_object_get_string(json_object_object_get(venv, "received_at"))),
                         0);
            al_test_hash_of(r.items[j].envelope, hex);
            cr_assert_str_eq(hex, json_object_get_string(json_object_object_get(e, "hash")));
            al_test_unhex(r.items[j].hash, leaves[start + j]);
            sv_free(evs[j]);
        }
        size = r.tree_size;
        al_test_naive_root(leaves, size, roots[size]);
        cr_assert_eq(memcmp(r.root, roots[size], 32), 0);
        uint64_t found = 0;
        cr_assert_eq(auditlog_find_root(al_test_store, al_test_cfg, r.root, &found, &err), SALOG_OK);
        cr_assert_eq(found, size);
        auditlog_append_result_clear(&r);
    }
    json_object_put(root);
    al_test_check_stored(al_test_cfg, 40, NULL);
    for (uint64_t k = 1; k <= 40; k++) {
        uint8_t r[32];
        al_test_naive_root(leaves, k, roots[k]);
        cr_assert_eq(auditlog_root(al_test_store, al_test_cfg, k, r, &err), SALOG_OK);
        cr_assert_eq(memcmp(r, roots[k], 32), 0, "root %llu", (unsigned long long)k);
        for (uint64_t i = 0; i < k; i++) {
            char *proof = NULL;
            cr_assert_eq(auditlog_membership_proof(al_test_store, al_test_cfg, i, k, &proof, &err), SALOG_OK);
            cr_assert_eq(merkle_verify_membership_text(leaves[i], proof, roots[k]), 1, "%llu in %llu",
                         (unsigned long long)i, (unsigned long long)k);
            if (k == 1)
                cr_assert_str_eq(proof, "");
            free(proof);
        }
    }
    for (uint64_t m = 1; m < 40; m++) {
        for (uint64_t k = m + 1; k <= 40; k++) {
            sv_value *p = NULL;
            cr_assert_eq(auditlog_consistency_proof(al_test_store, al_test_cfg, m, k, &p, &err), SALOG_OK);
            const char *items[64];
            cr_assert(p->u.arr.count <= 64);
            for (size_t j = 0; j < p->u.arr.count; j++)
                items[j] = p->u.arr.items[j]->u.s.ptr;
            cr_assert_eq(merkle_verify_consistency_text(items, p->u.arr.count, roots[m], roots[k]), 1);
            sv_free(p);
        }
    }
    /* A root unknown to the tree. */
    uint8_t junk[32] = {1, 2, 3};
    uint64_t found = 99;
    cr_assert_eq(auditlog_find_root(al_test_store, al_test_cfg, junk, &found, &err), SALOG_OK);
    cr_assert_eq(found, 0);
}

Test(auditlog, sizes_out_of_range)
{
    salog_err err;
    uint8_t r[32];
    char *proof = NULL;
    sv_value *p = NULL, *env = NULL;
    char hash[65];
    uint64_t size = 7;
    salog_err_init(&err);
    cr_assert_eq(auditlog_size(al_test_store, al_test_cfg, &size, &err), SALOG_OK);
    cr_assert_eq(size, 0);
    cr_assert_eq(auditlog_root(al_test_store, al_test_cfg, 1, r, &err), SALOG_E_VALIDATION);
    cr_assert_str_eq(err.items[0].code, "NotWithinRange");
    cr_assert_str_eq(err.items[0].source, "/tree_size");
    for (int i = 0; i < 3; i++) {
        log_append_result res;
        al_test_append_one(al_test_cfg, "x", &res);
        auditlog_append_result_clear(&res);
    }
    salog_err_init(&err);
    cr_assert_eq(auditlog_root(al_test_store, al_test_cfg, 4, r, &err), SALOG_E_VALIDATION);
    cr_assert_str_eq(err.items[0].code, "NotWithinRange");
    salog_err_init(&err);
    cr_assert_eq(auditlog_root(al_test_store, al_test_cfg, 0, r, &err), SALOG_E_VALIDATION);
    salog_err_init(&err);
    cr_assert_eq(auditlog_membership_proof(al_test_store, al_test_cfg, 0, 4, &proof, &err), SALOG_E_VALIDATION);
    salog_err_init(&err);
    cr_assert_eq(auditlog_membership_proof(al_test_store, al_test_cfg, 3, 3, &proof, &err), SALOG_E_VALIDATION);
    salog_err_init(&err);
    cr_assert_eq(auditlog_consistency_proof(al_test_store, al_test_cfg, 2, 4, &p, &err), SALOG_E_VALIDATION);
    salog_err_init(&err);
    cr_assert_eq(auditlog_consistency_proof(al_test_store, al_test_cfg, 3, 3, &p, &err), SALOG_E_VALIDATION);
    salog_err_init(&err);
    cr_assert_eq(auditlog_get_event(al_test_store, al_test_cfg, 3, &env, hash, &err), SALOG_E_NOT_FOUND);
    salog_err_init(&err);
    log_append_result res;
    cr_assert_eq(auditlog_append(al_test_store, al_test_cfg, NULL, 0, &res, &err), SALOG_E_VALIDATION);
    /* Another config is a separate tree. */
    char other[ID_LEN + 1];
    cr_assert_eq(id_generate("pci_", other), 0);
    salog_err_init(&err);
    cr_assert_eq(auditlog_size(al_test_store, other, &size, &err), SALOG_OK);
    cr_assert_eq(size, 0);
}

Test(auditlog, envelope_optional_members)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *ev = al_test_event("m");
    sv_value *bad = sv_array();
    sv_value *item = sv_object();
    cr_assert_eq(sv_object_set_str(item, "code", "X"), 0);
    cr_assert_eq(sv_array_push(bad, item), 0);
    log_item items[2] = {{.event = ev}, {.event = ev, .signature = "c2ln", .public_key = "{\"k\":1}", .malformed = bad}};
    log_append_result r;
    cr_assert_eq(auditlog_append(al_test_store, al_test_cfg, items, 2, &r, &err), SALOG_OK);
    cr_assert_null(sv_object_get(r.items[0].envelope, "signature"));
    cr_assert_null(sv_object_get(r.items[0].envelope, "public_key"));
    cr_assert_null(sv_object_get(r.items[0].envelope, "err"));
    cr_assert_eq(r.items[0].envelope->u.obj.count, 2);
    cr_assert_str_eq(sv_object_get_str(r.items[1].envelope, "signature"), "c2ln");
    cr_assert_str_eq(sv_object_get_str(r.items[1].envelope, "public_key"), "{\"k\":1}");
    cr_assert(sv_equal(sv_object_get(r.items[1].envelope, "err"), bad));
    for (int i = 0; i < 2; i++) {
        sv_value *stored = NULL;
        char hash[65];
        cr_assert_eq(auditlog_get_event(al_test_store, al_test_cfg, (uint64_t)i, &stored, hash, &err), SALOG_OK);
        cr_assert(sv_equal(stored, r.items[i].envelope));
        cr_assert_str_eq(hash, r.items[i].hash);
        sv_free(stored);
    }
    auditlog_append_result_clear(&r);
    /* An event with a float has no canonical form. */
    sv_value *fl = sv_object();
    cr_assert_eq(sv_object_set(fl, "n", sv_float(1.5)), 0);
    log_item f = {.event = fl};
    salog_err_init(&err);
    cr_assert_eq(auditlog_append(al_test_store, al_test_cfg, &f, 1, &r, &err), SALOG_E_VALIDATION);
    uint64_t size = 0;
    salog_err_init(&err);
    cr_assert_eq(auditlog_size(al_test_store, al_test_cfg, &size, &err), SALOG_OK);
    cr_assert_eq(size, 2);
    sv_free(fl);
    sv_free(ev);
    sv_free(bad);
}

static double al_test_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(auditlog, batch_of_1000)
{
    salog_err err;
    salog_err_init(&err);
    enum { N = 1000 };
    sv_value **evs = calloc(N, sizeof *evs);
    log_item *items = calloc(N, sizeof *items);
    uint8_t(*leaves)[32] = calloc(N + 1, 32);
    for (int i = 0; i < N; i++) {
        char msg[64];
        snprintf(msg, sizeof msg, "batch event %d with some padding text to be realistic", i);
        evs[i] = al_test_event(msg);
        items[i].event = evs[i];
    }
    log_append_result first;
    al_test_append_one(al_test_cfg, "first", &first);
    al_test_unhex(first.items[0].hash, leaves[0]);
    auditlog_append_result_clear(&first);
    log_append_result r;
    double t0 = al_test_now();
    cr_assert_eq(auditlog_append(al_test_store, al_test_cfg, items, N, &r, &err), SALOG_OK, "%s",
                 err.count ? err.items[0].detail : "");
    double t1 = al_test_now();
    cr_log_info("batch of %d: %.1f ms", N, (t1 - t0) * 1e3);
    cr_assert_eq(r.tree_size, N + 1);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(r.items[i].leaf_index, (uint64_t)i + 1);
        al_test_unhex(r.items[i].hash, leaves[i + 1]);
    }
    uint8_t naive[32];
    al_test_naive_root(leaves, N + 1, naive);
    cr_assert_eq(memcmp(naive, r.root, 32), 0);
    al_test_check_stored(al_test_cfg, N + 1, NULL);
    auditlog_append_result_clear(&r);
    uint64_t problems = 9;
    cr_assert_eq(auditlog_verify(al_test_store, al_test_cfg, stderr, &problems, &err), SALOG_OK);
    cr_assert_eq(problems, 0);
    for (int i = 0; i < N; i++)
        sv_free(evs[i]);
    free(evs);
    free(items);
    free(leaves);
}

/* ---- concurrency ---- */

typedef struct al_thread_arg {
    const char *cfg;
    int count;
    int batch;
    uint64_t *indexes; /* count * batch */
    int failed;
} al_thread_arg;

static void *al_test_thread(void *p)
{
    al_thread_arg *a = p;
    salog_err err;
    log_item *items = calloc((size_t)a->batch, sizeof *items);
    sv_value *ev = al_test_event("concurrent");
    for (int b = 0; b < a->batch; b++)
        items[b].event = ev;
    for (int i = 0; i < a->count; i++) {
        log_append_result r;
        salog_err_init(&err);
        if (auditlog_append(al_test_store, a->cfg, items, (size_t)a->batch, &r, &err) != SALOG_OK) {
            a->failed = 1;
            fprintf(stderr, "append failed: %s\n", err.count ? err.items[0].detail : "?");
            break;
        }
        for (int b = 0; b < a->batch; b++)
            a->indexes[i * a->batch + b] = r.items[b].leaf_index;
        auditlog_append_result_clear(&r);
    }
    sv_free(ev);
    free(items);
    return NULL;
}

/* Every index 0..total-1 returned exactly once, the tree of that size. */
static void al_test_check_unique(const char *cfg, uint64_t *all, uint64_t total)
{
    salog_err err;
    salog_err_init(&err);
    uint8_t *seen = calloc(total, 1);
    for (uint64_t i = 0; i < total; i++) {
        cr_assert(all[i] < total, "index %llu out of range", (unsigned long long)all[i]);
        cr_assert_eq(seen[all[i]], 0, "index %llu returned twice", (unsigned long long)all[i]);
        seen[all[i]] = 1;
    }
    free(seen);
    uint64_t size = 0;
    cr_assert_eq(auditlog_size(al_test_store, cfg, &size, &err), SALOG_OK);
    cr_assert_eq(size, total);
    uint8_t(*leaves)[32] = calloc(total, 32);
    al_test_check_stored(cfg, total, leaves);
    uint8_t naive[32], stored[32];
    al_test_naive_root(leaves, total, naive);
    cr_assert_eq(auditlog_root(al_test_store, cfg, total, stored, &err), SALOG_OK);
    cr_assert_eq(memcmp(naive, stored, 32), 0);
    free(leaves);
    uint64_t problems = 9;
    cr_assert_eq(auditlog_verify(al_test_store, cfg, stderr, &problems, &err), SALOG_OK);
    cr_assert_eq(problems, 0);
}

static void al_test_run_threads(int threads, int count, int batch, const char *label)
{
    pthread_t th[8];
    al_thread_arg args[8];
    uint64_t total = (uint64_t)threads * (uint64_t)count * (uint64_t)batch;
    uint64_t *all = calloc(total, sizeof *all);
    double t0 = al_test_now();
    for (int t = 0; t < threads; t++) {
        args[t] = (al_thread_arg){.cfg = al_test_cfg, .count = count, .batch = batch,
                                  .indexes = all + (uint64_t)t * (uint64_t)count * (uint64_t)batch};
        cr_assert_eq(pthread_create(&th[t], NULL, al_test_thread, &args[t]), 0);
    }
    for (int t = 0; t < threads; t++) {
        pthread_join(th[t], NULL);
        cr_assert_eq(args[t].failed, 0);
    }
    double dt = al_test_now() - t0;
    cr_log_info("%s: %llu events in %.3f s = %.0f events/s, %.0f appends/s", label, (unsigned long long)total, dt,
                (double)total / dt, (double)(threads * count) / dt);
    fprintf(stderr, "%s: %llu events in %.3f s = %.0f events/s, %.0f appends/s\n", label,
            (unsigned long long)total, dt, (double)total / dt, (double)(threads * count) / dt);
    al_test_check_unique(al_test_cfg, all, total);
    free(all);
}

Test(auditlog, single_thread_appends)
{
    al_test_run_threads(1, 1000, 1, "1 thread x 1000 single appends");
}

Test(auditlog, four_threads_single_appends)
{
    al_test_run_threads(4, 1000, 1, "4 threads x 1000 single appends");
}

Test(auditlog, four_threads_batches_of_1000)
{
    al_test_run_threads(4, 2, 1000, "4 threads x 2 batches of 1000");
}

Test(auditlog, two_processes_append)
{
    enum { PER_CHILD = 300, CHILDREN = 2 };
    char files[CHILDREN][160];
    pid_t pids[CHILDREN];
    /* Each process opens its own environment handle. */
    store_close(al_test_store);
    al_test_store = NULL;
    for (int c = 0; c < CHILDREN; c++) {
        snprintf(files[c], sizeof files[c], "%s/child%d.txt", al_test_root, c);
        pid_t pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0) {
            store *s = NULL;
            salog_err err;
            salog_err_init(&err);
            FILE *f = fopen(files[c], "w");
            if (!f || store_open(&s, al_test_data, false, &err) != SALOG_OK)
                _exit(2);
            sv_value *ev = sv_object();
            sv_object_set_str(ev, "message", "from a process");
            log_item it = {.event = ev};
            for (int i = 0; i < PER_CHILD; i++) {
                log_append_result r;
                if (auditlog_append(s, al_test_cfg, &it, 1, &r, &err) != SALOG_OK)
                    _exit(3);
                fprintf(f, "%llu %s\n", (unsigned long long)r.items[0].leaf_index, r.items[0].hash);
                auditlog_append_result_clear(&r);
            }
            sv_free(ev);
            fclose(f);
            store_close(s);
            _exit(0);
        }
        pids[c] = pid;
    }
    for (int c = 0; c < CHILDREN; c++) {
        int status = 0;
        cr_assert_eq(waitpid(pids[c], &status, 0), pids[c]);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d status %d", c, status);
    }
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(store_open(&al_test_store, al_test_data, false, &err), SALOG_OK);
    uint64_t all[CHILDREN * PER_CHILD];
    size_t n = 0;
    for (int c = 0; c < CHILDREN; c++) {
        FILE *f = fopen(files[c], "r");
        cr_assert_not_null(f);
        unsigned long long idx;
        char hash[65];
        while (fscanf(f, "%llu %64s", &idx, hash) == 2) {
            sv_value *env = NULL;
            char stored[65];
            cr_assert(n < CHILDREN * PER_CHILD);
            all[n++] = idx;
            cr_assert_eq(auditlog_get_event(al_test_store, al_test_cfg, idx, &env, stored, &err), SALOG_OK);
            cr_assert_str_eq(stored, hash);
            sv_free(env);
        }
        fclose(f);
    }
    cr_assert_eq(n, CHILDREN * PER_CHILD);
    al_test_check_unique(al_test_cfg, all, n);
}

/* ---- checkpoints ---- */

static void al_test_check_signature(const sv_value *doc)
{
    salog_err err;
    salog_err_init(&err);
    char *pem = NULL;
    cr_assert_eq(server_key_public_pem(al_test_data, &pem, &err), SALOG_OK);
    /* public_key: the JSON string {"algorithm":"ED25519","key":PEM}. */
    sv_value *pk = NULL;
    const char *pk_text = sv_object_get_str(doc, "public_key");
    cr_assert_not_null(pk_text);
    cr_assert_eq(codec_json_decode(&pk, pk_text, strlen(pk_text), 8, &err), SALOG_OK);
    cr_assert_str_eq(sv_object_get_str(pk, "algorithm"), "ED25519");
    cr_assert_str_eq(sv_object_get_str(pk, "key"), pem);
    cr_assert_eq(strncmp(pk_text, "{\"algorithm\":\"ED25519\",\"key\":\"-----BEGIN PUBLIC KEY-----\\n", 58), 0);
    sv_free(pk);
    /* The signed bytes. */
    sv_value *part = sv_object();
    const sv_value *size = sv_object_get(doc, "size");
    cr_assert(sv_is(size, SV_INT));
    sv_object_set_str(part, "published_at", sv_object_get_str(doc, "published_at"));
    sv_object_set_str(part, "root_hash", sv_object_get_str(doc, "root_hash"));
    sv_object_set_int(part, "size", size->u.i);
    sv_object_set_str(part, "tree_name", sv_object_get_str(doc, "tree_name"));
    sbuf b = {0};
    cr_assert_eq(codec_canonical_json(&b, part), 0);
    const char *sig_b64 = sv_object_get_str(doc, "signature");
    cr_assert_not_null(sig_b64);
    cr_assert_eq(strlen(sig_b64), 88);
    unsigned char sig[66];
    cr_assert_eq(EVP_DecodeBlock(sig, (const unsigned char *)sig_b64, 88), 66);
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    cr_assert_not_null(key);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    cr_assert_eq(EVP_DigestVerifyInit(md, NULL, NULL, NULL, key), 1);
    cr_assert_eq(EVP_DigestVerify(md, sig, 64, (const unsigned char *)b.data, b.len), 1);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    BIO_free(bio);
    sbuf_free(&b);
    sv_free(part);
    free(pem);
}

static void al_test_append_n(const char *cfg, int n)
{
    for (int i = 0; i < n; i++) {
        log_append_result r;
        al_test_append_one(cfg, "cp", &r);
        auditlog_append_result_clear(&r);
    }
}

Test(auditlog, publish_and_checkpoints)
{
    salog_err err;
    sv_value *doc = NULL;
    uint64_t sealed = 99;
    salog_err_init(&err);
    /* Nothing logged: nothing sealed, no checkpoint. */
    cr_assert_eq(auditlog_publish(al_test_store, al_test_cfg, &sealed, &err), SALOG_OK);
    cr_assert_eq(sealed, 0);
    cr_assert_eq(auditlog_latest_checkpoint(al_test_store, al_test_cfg, &doc, &err), SALOG_E_TREE_NOT_FOUND);
    /* A neighbouring config with checkpoints must not leak into this one. */
    char lo[ID_LEN + 1], hi[ID_LEN + 1];
    memcpy(lo, al_test_cfg, sizeof lo);
    memcpy(hi, al_test_cfg, sizeof hi);
    lo[ID_LEN - 1] = lo[ID_LEN - 1] == 'a' ? 'b' : 'a';
    hi[ID_LEN - 1] = hi[ID_LEN - 1] == 'z' ? 'y' : 'z';
    for (int k = 0; k < 2; k++) {
        const char *other = k ? hi : lo;
        al_test_append_n(other, 2);
        salog_err_init(&err);
        cr_assert_eq(auditlog_publish(al_test_store, other, &sealed, &err), SALOG_OK);
        cr_assert_eq(sealed, 2);
    }
    salog_err_init(&err);
    cr_assert_eq(auditlog_latest_checkpoint(al_test_store, al_test_cfg, &doc, &err), SALOG_E_TREE_NOT_FOUND);
    salog_err_init(&err);
    cr_assert_eq(auditlog_checkpoint_covering(al_test_store, al_test_cfg, 1, &doc, &err), SALOG_E_TREE_NOT_FOUND);
    cr_assert_str_eq(err.items[0].code, "TreeNotFound");

    al_test_append_n(al_test_cfg, 5);
    salog_err_init(&err);
    cr_assert_eq(auditlog_publish(al_test_store, al_test_cfg, &sealed, &err), SALOG_OK);
    cr_assert_eq(sealed, 5);
    cr_assert_eq(auditlog_latest_checkpoint(al_test_store, al_test_cfg, &doc, &err), SALOG_OK);
    char name[65], hex[65];
    uint8_t root5[32], root12[32];
    auditlog_tree_name(al_test_cfg, name);
    cr_assert_str_eq(sv_object_get_str(doc, "tree_name"), name);
    cr_assert_eq(sv_object_get(doc, "size")->u.i, 5);
    cr_assert_eq(auditlog_root(al_test_store, al_test_cfg, 5, root5, &err), SALOG_OK);
    merkle_hex(root5, hex);
    cr_assert_str_eq(sv_object_get_str(doc, "root_hash"), hex);
    const char *at = sv_object_get_str(doc, "published_at");
    int64_t us;
    cr_assert_eq(strlen(at), TIME_RFC3339_LEN);
    cr_assert_eq(time_parse_rfc3339(at, &us), 0);
    cr_assert_null(sv_object_get(doc, "consistency_proof"));
    cr_assert_eq(doc->u.obj.count, 6);
    al_test_check_signature(doc);
    sv_free(doc);

    /* No new events: nothing sealed. */
    cr_assert_eq(auditlog_publish(al_test_store, al_test_cfg, &sealed, &err), SALOG_OK);
    cr_assert_eq(sealed, 0);

    al_test_append_n(al_test_cfg, 7);
    cr_assert_eq(auditlog_publish(al_test_store, al_test_cfg, &sealed, &err), SALOG_OK);
    cr_assert_eq(sealed, 12);
    cr_assert_eq(auditlog_latest_checkpoint(al_test_store, al_test_cfg, &doc, &err), SALOG_OK);
    cr_assert_eq(sv_object_get(doc, "size")->u.i, 12);
    al_test_check_signature(doc);
    cr_assert_eq(auditlog_root(al_test_store, al_test_cfg, 12, root12, &err), SALOG_OK);
    const sv_value *proof = sv_object_get(doc, "consistency_proof");
    cr_assert(sv_is(proof, SV_ARRAY));
    const char *items[64];
    for (size_t j = 0; j < proof->u.arr.count; j++)
        items[j] = proof->u.arr.items[j]->u.s.ptr;
    cr_assert_eq(merkle_verify_consistency_text(items, proof->u.arr.count, root5, root12), 1);
    sv_free(doc);

    /* Lookups by size. */
    for (uint64_t k = 1; k <= 13; k++) {
        salog_err_init(&err);
        salog_status st = auditlog_checkpoint_covering(al_test_store, al_test_cfg, k, &doc, &err);
        if (k > 12) {
            cr_assert_eq(st, SALOG_E_TREE_NOT_FOUND);
            continue;
        }
        cr_assert_eq(st, SALOG_OK);
        cr_assert_eq(sv_object_get(doc, "size")->u.i, k <= 5 ? 5 : 12);
        sv_free(doc);
    }
    cr_assert_eq(auditlog_checkpoint_at(al_test_store, al_test_cfg, 5, &doc, &err), SALOG_OK);
    cr_assert_eq(sv_object_get(doc, "size")->u.i, 5);
    sv_free(doc);
    cr_assert_eq(auditlog_checkpoint_at(al_test_store, al_test_cfg, 6, &doc, &err), SALOG_E_TREE_NOT_FOUND);

    uint64_t problems = 9;
    salog_err_init(&err);
    cr_assert_eq(auditlog_verify(al_test_store, al_test_cfg, stderr, &problems, &err), SALOG_OK);
    cr_assert_eq(problems, 0);
}

static char *al_test_verify_report(uint64_t *problems);

static void *al_test_publisher(void *p)
{
    int *failed = p;
    for (int i = 0; i < 25; i++) {
        log_append_result r;
        salog_err err;
        uint64_t sealed = 0;
        salog_err_init(&err);
        sv_value *ev = al_test_event("publish race");
        log_item it = {.event = ev};
        if (auditlog_append(al_test_store, al_test_cfg, &it, 1, &r, &err) != SALOG_OK ||
            auditlog_publish(al_test_store, al_test_cfg, &sealed, &err) != SALOG_OK)
            *failed = 1;
        auditlog_append_result_clear(&r);
        sv_free(ev);
    }
    return NULL;
}

/* Publishers racing with appenders: the checkpoints still form one chain
 * of consistency proofs (verify checks each against the previous one). */
Test(auditlog, concurrent_publish)
{
    pthread_t th[4];
    int failed[4] = {0};
    for (int t = 0; t < 4; t++)
        cr_assert_eq(pthread_create(&th[t], NULL, al_test_publisher, &failed[t]), 0);
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        cr_assert_eq(failed[t], 0);
    }
    salog_err err;
    salog_err_init(&err);
    sv_value *doc = NULL;
    uint64_t sealed = 0, problems = 9;
    cr_assert_eq(auditlog_publish(al_test_store, al_test_cfg, &sealed, &err), SALOG_OK);
    cr_assert_eq(auditlog_latest_checkpoint(al_test_store, al_test_cfg, &doc, &err), SALOG_OK);
    cr_assert_eq(sv_object_get(doc, "size")->u.i, 100);
    sv_free(doc);
    char *text = al_test_verify_report(&problems);
    cr_assert_eq(problems, 0, "%s", text);
    free(text);
}

Test(auditlog, config_for_tree)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *c = sv_object(), *out = NULL;
    sv_object_set_str(c, "name", "cfg");
    sv_object_set_int(c, "version", 3);
    cr_assert_eq(configs_create(al_test_store, c, &out, &err), SALOG_OK);
    const char *id = sv_object_get_str(out, "id");
    char name[65], found[ID_LEN + 1];
    auditlog_tree_name(id, name);
    cr_assert_eq(auditlog_config_for_tree(al_test_store, name, found, &err), SALOG_OK);
    cr_assert_str_eq(found, id);
    name[0] = name[0] == '0' ? '1' : '0';
    cr_assert_eq(auditlog_config_for_tree(al_test_store, name, found, &err), SALOG_E_NOT_FOUND);
    cr_assert_eq(auditlog_config_for_tree(al_test_store, "zz", found, &err), SALOG_E_NOT_FOUND);
    sv_free(c);
    sv_free(out);
}

/* ---- verify on damaged logs ---- */

static char *al_test_verify_report(uint64_t *problems)
{
    char *text = NULL;
    size_t len = 0;
    salog_err err;
    salog_err_init(&err);
    FILE *f = open_memstream(&text, &len);
    cr_assert_eq(auditlog_verify(al_test_store, al_test_cfg, f, problems, &err), SALOG_OK);
    fclose(f);
    return text;
}

static void al_test_put_raw(DB *db, const void *key, size_t klen, const void *val, size_t vlen)
{
    cr_assert_eq(store_put(db, NULL, key, klen, val, vlen, 0), 0);
}

Test(auditlog, verify_reports_corrupt_event)
{
    al_test_append_n(al_test_cfg, 20);
    salog_err err;
    uint64_t sealed = 0, problems = 9;
    salog_err_init(&err);
    cr_assert_eq(auditlog_publish(al_test_store, al_test_cfg, &sealed, &err), SALOG_OK);
    char *text = al_test_verify_report(&problems);
    cr_assert_eq(problems, 0, "%s", text);
    free(text);
    /* Rewrite event 7 with a changed message. */
    sv_value *env = NULL;
    char hash[65];
    cr_assert_eq(auditlog_get_event(al_test_store, al_test_cfg, 7, &env, hash, &err), SALOG_OK);
    sv_object_set_str(sv_object_get(env, "event"), "message", "tampered");
    sbuf b = {0};
    cr_assert_eq(codec_canonical_json(&b, env), 0);
    uint8_t key[ID_LEN + 8] = {0};
    memcpy(key, al_test_cfg, ID_LEN);
    key[ID_LEN + 7] = 7;
    al_test_put_raw(al_test_store->events, key, sizeof key, b.data, b.len);
    sbuf_free(&b);
    sv_free(env);
    text = al_test_verify_report(&problems);
    cr_assert(problems >= 1);
    cr_assert_not_null(strstr(text, "event 7: stored envelope does not match its leaf hash"), "%s", text);
    cr_assert_not_null(strstr(text, "checkpoint 20: root_hash does not match"), "%s", text);
    cr_assert_null(strstr(text, "event 6"), "%s", text);
    free(text);
    /* Unreadable bytes at event 3. */
    key[ID_LEN + 7] = 3;
    al_test_put_raw(al_test_store->events, key, sizeof key, "{not json", 9);
    text = al_test_verify_report(&problems);
    cr_assert_not_null(strstr(text, "event 3: stored envelope is unreadable"), "%s", text);
    free(text);
}

Test(auditlog, verify_reports_corrupt_node)
{
    al_test_append_n(al_test_cfg, 16);
    uint64_t problems = 9;
    uint8_t key[ID_LEN + 1];
    void *tile = NULL;
    size_t len = 0;
    tile_place at;
    /* Overwrite the stored hash of node level 2, index 1 (events 4..7). With
     * 16 events, tile 0 of stratum 0 is still growing: it is the edge
     * record of stratum 0 (be64 tile index, then the hashes). */
    tile_locate(2, 1, &at);
    cr_assert_eq(at.stratum, 0);
    cr_assert_eq(at.tile, 0);
    memcpy(key, al_test_cfg, ID_LEN);
    key[ID_LEN] = 0;
    cr_assert_eq(store_get_alloc(al_test_store->tile_edges, NULL, key, sizeof key, &tile, &len, 0), 0);
    cr_assert_eq(len, 8 + 31 * 32); /* 16 leaves: 16 + 8 + 4 + 2 + 1 hashes */
    memset((uint8_t *)tile + 8 + at.position * 32, 0xab, 32);
    al_test_put_raw(al_test_store->tile_edges, key, sizeof key, tile, len);
    free(tile);
    char *text = al_test_verify_report(&problems);
    cr_assert(problems >= 1);
    cr_assert_not_null(strstr(text, "node level 2 index 1 (events 4..7): does not match its children"), "%s",
                       text);
    free(text);
}

/* Extra hashes in a growing tile, or a complete tile past the tree's end,
 * would make every later append fail: verify names them. */
Test(auditlog, verify_reports_tile_shape)
{
    al_test_append_n(al_test_cfg, 40);
    uint64_t problems = 9;
    char *text = al_test_verify_report(&problems);
    cr_assert_eq(problems, 0, "%s", text);
    free(text);
    /* Band 0 grows tile 1: 8 leaves, 8 + 4 + 2 + 1 = 15 hashes. */
    uint8_t key[ID_LEN + 1];
    void *edge = NULL;
    size_t len = 0;
    memcpy(key, al_test_cfg, ID_LEN);
    key[ID_LEN] = 0;
    cr_assert_eq(store_get_alloc(al_test_store->tile_edges, NULL, key, sizeof key, &edge, &len, 0), 0);
    cr_assert_eq(len, 8 + 15 * 32);
    uint8_t *longer = calloc(1, len + 32);
    memcpy(longer, edge, len);
    al_test_put_raw(al_test_store->tile_edges, key, sizeof key, longer, len + 32);
    text = al_test_verify_report(&problems);
    cr_assert_not_null(strstr(text, "tiles: band 0's growing tile holds 16 hashes of tile 1, expected 15 of tile 1"),
                       "%s", text);
    free(text);
    al_test_put_raw(al_test_store->tile_edges, key, sizeof key, edge, len);
    free(longer);
    free(edge);
    /* Complete band-0 tiles of another tree, in its queue and in tiles.db
     * (where a store made before the queues keeps them): not this tree's. */
    uint8_t full_key[TILE_KEY_LEN], junk[TILE_MAX_BYTES];
    char other_cfg[ID_LEN + 1];
    DB *other_bottom = NULL, *bottom = NULL;
    db_recno_t recno = 3;
    cr_assert_eq(id_generate("pci_", other_cfg), 0);
    memset(junk, 0x5a, sizeof junk);
    tile_key(full_key, other_cfg, 0, 2);
    al_test_put_raw(al_test_store->tiles, full_key, sizeof full_key, junk, sizeof junk);
    cr_assert_eq(tree_queue_open(al_test_store, other_cfg, TREE_QUEUE_TILES, &other_bottom), 0);
    al_test_put_raw(other_bottom, &recno, sizeof recno, junk, sizeof junk);
    text = al_test_verify_report(&problems);
    cr_assert_eq(problems, 0, "%s", text);
    free(text);
    /* This tree's, for events 288..319 in tiles.db and 160..191 in its
     * queue, and 224..255 in both: the tile ending first is named,
     * wherever it is and whatever order the (hash) database keeps. */
    cr_assert_eq(tree_queue_open(al_test_store, al_test_cfg, TREE_QUEUE_TILES, &bottom), 0);
    tile_key(full_key, al_test_cfg, 0, 9);
    al_test_put_raw(al_test_store->tiles, full_key, sizeof full_key, junk, sizeof junk);
    tile_key(full_key, al_test_cfg, 0, 7);
    al_test_put_raw(al_test_store->tiles, full_key, sizeof full_key, junk, sizeof junk);
    recno = 8; /* tile 7 */
    al_test_put_raw(bottom, &recno, sizeof recno, junk, sizeof junk);
    text = al_test_verify_report(&problems);
    cr_assert_eq(problems, 1, "%s", text);
    cr_assert_not_null(strstr(text, "tiles: a complete tile of band 0 ends at event 255, beyond the tree's size 40"),
                       "%s", text);
    free(text);
    recno = 6; /* tile 5 */
    al_test_put_raw(bottom, &recno, sizeof recno, junk, sizeof junk);
    text = al_test_verify_report(&problems);
    cr_assert_eq(problems, 1, "%s", text);
    cr_assert_not_null(strstr(text, "tiles: a complete tile of band 0 ends at event 191, beyond the tree's size 40"),
                       "%s", text);
    free(text);
}

Test(auditlog, verify_reports_forged_checkpoint)
{
    al_test_append_n(al_test_cfg, 4);
    salog_err err;
    uint64_t sealed = 0, problems = 0;
    salog_err_init(&err);
    cr_assert_eq(auditlog_publish(al_test_store, al_test_cfg, &sealed, &err), SALOG_OK);
    al_test_append_n(al_test_cfg, 3);
    cr_assert_eq(auditlog_publish(al_test_store, al_test_cfg, &sealed, &err), SALOG_OK);
    cr_assert_eq(sealed, 7);
    sv_value *doc = NULL;
    cr_assert_eq(auditlog_checkpoint_at(al_test_store, al_test_cfg, 7, &doc, &err), SALOG_OK);
    sv_object_set_str(doc, "published_at", "2020-01-01T00:00:00.000000Z");
    sv_object_remove(doc, "consistency_proof");
    sbuf b = {0};
    cr_assert_eq(codec_json_encode(&b, doc), 0);
    uint8_t key[ID_LEN + 8] = {0};
    memcpy(key, al_test_cfg, ID_LEN);
    key[ID_LEN + 7] = 7;
    al_test_put_raw(al_test_store->checkpoints, key, sizeof key, b.data, b.len);
    sbuf_free(&b);
    sv_free(doc);
    char *text = al_test_verify_report(&problems);
    cr_assert_not_null(strstr(text, "checkpoint 7: signature does not verify"), "%s", text);
    cr_assert_not_null(strstr(text, "checkpoint 7: consistency proof from 4 is missing"), "%s", text);
    cr_assert_eq(problems, 2, "%s", text);
    free(text);
}

/* ---- async requests ---- */

Test(auditlog, requests_put_get_expiry)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *env = sv_object();
    sv_object_set_str(env, "status", "Success");
    sv_object_set(env, "result", sv_object());
    char tok[ID_LEN + 1], rid[ID_LEN + 1], got_tok[ID_LEN + 1];
    cr_assert_eq(id_generate("pti_", tok), 0);
    cr_assert_eq(id_generate("prq_", rid), 0);
    int64_t now = time_now_us();
    cr_assert_eq(requests_put(al_test_store, rid, tok, 200, env, now + 60000000, &err), SALOG_OK);
    int code = 0;
    sv_value *got = NULL;
    cr_assert_eq(requests_get(al_test_store, rid, got_tok, &code, &got, &err), SALOG_OK);
    cr_assert_str_eq(got_tok, tok);
    cr_assert_eq(code, 200);
    cr_assert(sv_equal(got, env));
    sv_free(got);
    got = NULL;
    /* Expired. */
    cr_assert_eq(requests_put(al_test_store, rid, tok, 400, env, now - 1, &err), SALOG_OK);
    cr_assert_eq(requests_get(al_test_store, rid, got_tok, &code, &got, &err), SALOG_E_NOT_FOUND);
    cr_assert_null(got);
    cr_assert_eq(id_generate("prq_", rid), 0);
    cr_assert_eq(requests_get(al_test_store, rid, got_tok, &code, &got, &err), SALOG_E_NOT_FOUND);
    sv_free(env);
}

/* ---- leases ---- */

static void al_test_set_lease(const char *duty, int64_t pid, int64_t expires)
{
    sv_value *rec = sv_object();
    sv_object_set_int(rec, "pid", pid);
    sv_object_set_int(rec, "expires_at_us", expires);
    cr_assert_eq(store_put_json(al_test_store->leases, NULL, duty, rec, 0), 0);
    sv_free(rec);
}

Test(auditlog, leases)
{
    int64_t now = time_now_us(), ttl = 10000000;
    cr_assert(lease_acquire(al_test_store, "publish", now, ttl));
    cr_assert(lease_acquire(al_test_store, "publish", now + 1, ttl)); /* renew */
    /* Held by another live process and not expired: refused. */
    al_test_set_lease("publish", (int64_t)getppid(), now + ttl);
    cr_assert_not(lease_acquire(al_test_store, "publish", now, ttl));
    cr_assert(lease_acquire(al_test_store, "forward", now, ttl)); /* other duties are separate */
    /* Expired: taken. */
    cr_assert(lease_acquire(al_test_store, "publish", now + ttl + 1, ttl));
    /* Held by a dead process: taken over. */
    pid_t child = fork();
    cr_assert(child >= 0);
    if (child == 0)
        _exit(0);
    cr_assert_eq(waitpid(child, NULL, 0), child);
    al_test_set_lease("publish", (int64_t)child, now + ttl);
    cr_assert(lease_acquire(al_test_store, "publish", now, ttl));
    /* Our lease now stands against the parent's view: another pid would be refused. */
    sv_value *rec = NULL;
    cr_assert_eq(store_get_json(al_test_store->leases, NULL, "publish", &rec, 0), 0);
    cr_assert_eq(sv_object_get(rec, "pid")->u.i, (int64_t)getpid());
    cr_assert_eq(sv_object_get(rec, "expires_at_us")->u.i, now + ttl);
    sv_free(rec);
}

/* Appends events "<what> <start>" .. "<what> <start+count-1>" in one batch
 * to al_test_cfg (its size must be `start`); their leaves go to
 * leaves[start..], the root after the batch to root. */
static void al_test_append_batch(const char *what, uint64_t start, size_t count, uint8_t (*leaves)[32],
                                 uint8_t root[32])
{
    salog_err err;
    salog_err_init(&err);
    sv_value **evs = calloc(count, sizeof *evs);
    log_item *items = calloc(count, sizeof *items);
    cr_assert(evs && items);
    for (size_t i = 0; i < count; i++) {
        char msg[48];
        snprintf(msg, sizeof msg, "%s %llu", what, (unsigned long long)(start + i));
        evs[i] = al_test_event(msg);
        items[i] = (log_item){.event = evs[i]};
    }
    log_append_result r;
    cr_assert_eq(auditlog_append(al_test_store, al_test_cfg, items, count, &r, &err), SALOG_OK, "%s",
                 err.count ? err.items[0].detail : "");
    cr_assert_eq(r.tree_size, start + count);
    for (size_t i = 0; i < count; i++) {
        al_test_unhex(r.items[i].hash, leaves[start + i]);
        sv_free(evs[i]);
    }
    memcpy(root, r.root, 32);
    auditlog_append_result_clear(&r);
    free(evs);
    free(items);
}

/* A tree of 33,001 events crosses into a fourth stratum of tiles (level 15
 * holds one node from 32,768 events on); batches of 997 make tiles roll
 * over inside a transaction and across transactions. Roots, membership and
 * consistency proofs at sizes around every tile edge agree with the naive
 * reference, read cold and again with the process's tile cache warm. */
Test(auditlog, tiles_across_strata)
{
    enum { N = 33001, BATCH = 997 };
    salog_err err;
    salog_err_init(&err);
    uint8_t(*leaves)[32] = calloc(N, 32);
    cr_assert_not_null(leaves);
    for (uint64_t done = 0; done < N;) {
        size_t count = N - done < BATCH ? (size_t)(N - done) : BATCH;
        uint8_t batch_root[32], naive[32];
        al_test_append_batch("tile event", done, count, leaves, batch_root);
        done += count;
        al_test_naive_root(leaves, done, naive);
        cr_assert_eq(memcmp(batch_root, naive, 32), 0, "batch root at %llu", (unsigned long long)done);
    }
    const uint64_t sizes[] = {1, 2, 31, 32, 33, 63, 64, 65, 1023, 1024, 1025, 1057, 2047, 2048,
                              5000, 32767, 32768, 32769, 32800, N - 1, N};
    const size_t nsizes = sizeof sizes / sizeof sizes[0];
    uint8_t(*roots)[32] = calloc(nsizes, 32);
    for (size_t k = 0; k < nsizes; k++)
        al_test_naive_root(leaves, sizes[k], roots[k]);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < nsizes; k++) {
            uint8_t got[32];
            cr_assert_eq(auditlog_root(al_test_store, al_test_cfg, sizes[k], got, &err), SALOG_OK);
            cr_assert_eq(memcmp(got, roots[k], 32), 0, "root of %llu, pass %d", (unsigned long long)sizes[k],
                         pass);
            const uint64_t picks[] = {0, sizes[k] / 3, sizes[k] / 2, sizes[k] - 1, sizes[k] > 32 ? 31 : 0,
                                      sizes[k] > 1024 ? 1024 : 0};
            for (size_t p = 0; p < sizeof picks / sizeof picks[0]; p++) {
                char *proof = NULL;
                cr_assert_eq(auditlog_membership_proof(al_test_store, al_test_cfg, picks[p], sizes[k], &proof,
                                                       &err),
                             SALOG_OK);
                cr_assert_eq(merkle_verify_membership_text(leaves[picks[p]], proof, roots[k]), 1,
                             "leaf %llu in %llu, pass %d", (unsigned long long)picks[p],
                             (unsigned long long)sizes[k], pass);
                free(proof);
            }
            for (size_t m = 0; m < k; m++) {
                sv_value *proof = NULL;
                const char *texts[64];
                cr_assert_eq(auditlog_consistency_proof(al_test_store, al_test_cfg, sizes[m], sizes[k], &proof,
                                                        &err),
                             SALOG_OK);
                cr_assert(proof->u.arr.count <= 64);
                for (size_t j = 0; j < proof->u.arr.count; j++)
                    texts[j] = proof->u.arr.items[j]->u.s.ptr;
                cr_assert_eq(merkle_verify_consistency_text(texts, proof->u.arr.count, roots[m], roots[k]), 1,
                             "%llu -> %llu, pass %d", (unsigned long long)sizes[m], (unsigned long long)sizes[k],
                             pass);
                sv_free(proof);
            }
        }
    }
    uint64_t problems = 9;
    char *text = al_test_verify_report(&problems);
    cr_assert_eq(problems, 0, "%s", text);
    free(text);
    free(roots);
    free(leaves);
}

/* Roots of sizes from..to written as `fill` (zeros: counts as none), or
 * deleted when fill is NULL, in the config's queue. */
static void al_test_queue_set(uint64_t from, uint64_t to, const uint8_t (*fill)[32])
{
    DB *queue = NULL;
    cr_assert_eq(stored_roots_queue(al_test_store, al_test_cfg, &queue), 0);
    for (uint64_t k = from; k <= to; k++) {
        db_recno_t recno = (db_recno_t)k;
        if (fill)
            al_test_put_raw(queue, &recno, sizeof recno, fill[k - from], 32);
        else
            cr_assert_eq(store_del(queue, NULL, &recno, sizeof recno), 0, "size %llu", (unsigned long long)k);
    }
}

/* The root of every size is stored at append time, one queue record per
 * size: batches of uneven lengths, and every stored root equals the naive
 * one. A size whose record is deleted or zeroed is folded from the tree
 * instead, and verify names the gap; a wrong stored root is named too. */
Test(auditlog, stored_roots_every_size)
{
    enum { N = 300 };
    const size_t batches[] = {1, 5, 26, 1, 31, 33, 64, 100, 39};
    salog_err err;
    salog_err_init(&err);
    uint8_t(*leaves)[32] = calloc(N, 32);
    cr_assert_not_null(leaves);
    uint64_t done = 0;
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
        uint8_t batch_root[32];
        al_test_append_batch("stored root", done, batches[b], leaves, batch_root);
        done += batches[b];
    }
    cr_assert_eq(done, N);
    uint8_t(*naive)[32] = calloc(N + 1, 32);
    uint8_t(*zeros)[32] = calloc(N + 1, 32);
    cr_assert_not_null(naive);
    cr_assert_not_null(zeros);
    DB *queue = NULL;
    cr_assert_eq(stored_roots_queue(al_test_store, al_test_cfg, &queue), 0);
    for (uint64_t k = 1; k <= N; k++) {
        uint8_t stored[32], got[32];
        al_test_naive_root(leaves, k, naive[k]);
        cr_assert_eq(stored_roots_queue_get(queue, NULL, k, stored), 0, "size %llu", (unsigned long long)k);
        cr_assert_eq(memcmp(stored, naive[k], 32), 0, "stored root of %llu", (unsigned long long)k);
        cr_assert_eq(auditlog_root(al_test_store, al_test_cfg, k, got, &err), SALOG_OK);
        cr_assert_eq(memcmp(got, naive[k], 32), 0, "root of %llu", (unsigned long long)k);
    }
    uint8_t none[32];
    cr_assert_eq(stored_roots_get(al_test_store, al_test_cfg, N + 1, none), DB_NOTFOUND);
    cr_assert_eq(stored_roots_get(al_test_store, al_test_cfg, (uint64_t)STORED_ROOTS_MAX_SIZE + 1, none),
                 DB_NOTFOUND);
    /* Sizes past the queue's numbers are not stored (a put at the last
     * record number would make the queue read as empty): the queue's
     * records are the same after such a put. */
    DB_QUEUE_STAT *qs = NULL;
    cr_assert_eq(queue->stat(queue, NULL, &qs, 0), 0);
    db_recno_t cur_recno = qs->qs_cur_recno, first_recno = qs->qs_first_recno;
    free(qs);
    cr_assert_eq(stored_roots_put(queue, NULL, (uint64_t)STORED_ROOTS_MAX_SIZE + 1, naive, 2), 0);
    cr_assert_eq(queue->stat(queue, NULL, &qs, 0), 0);
    cr_assert_eq(qs->qs_cur_recno, cur_recno);
    cr_assert_eq(qs->qs_first_recno, first_recno);
    free(qs);
    cr_assert_eq(stored_roots_queue_get(queue, NULL, N, none), 0);
    cr_assert_eq(memcmp(none, naive[N], 32), 0);
    /* A config with nothing appended: reading makes its (empty) queue and
     * finds nothing there. */
    char other_cfg[ID_LEN + 1], path[256];
    struct stat sb;
    DB *other = NULL;
    cr_assert_eq(id_generate("pci_", other_cfg), 0);
    snprintf(path, sizeof path, "%s/roots-%s.db", al_test_data, other_cfg);
    cr_assert_neq(stat(path, &sb), 0);
    cr_assert_eq(stored_roots_get(al_test_store, other_cfg, 1, none), DB_NOTFOUND);
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(stored_roots_queue(al_test_store, other_cfg, &other), 0);
    cr_assert_neq(other, queue);
    cr_assert_eq(stored_roots_queue(al_test_store, "pci_../../etc/passwd0000000000000000", &other), EINVAL);
    /* The same handle every time. */
    DB *again = NULL;
    cr_assert_eq(stored_roots_queue(al_test_store, al_test_cfg, &again), 0);
    cr_assert_eq(again, queue);
    /* Sizes 65..96 deleted, 97..100 zeroed: readers fold those sizes, and
     * verify names the gap. */
    al_test_queue_set(65, 96, NULL);
    al_test_queue_set(97, 100, zeros);
    cr_assert_eq(stored_roots_get(al_test_store, al_test_cfg, 65, none), DB_NOTFOUND);
    cr_assert_eq(stored_roots_get(al_test_store, al_test_cfg, 100, none), DB_NOTFOUND);
    for (uint64_t k = 60; k <= 110; k++) {
        uint8_t got[32];
        cr_assert_eq(auditlog_root(al_test_store, al_test_cfg, k, got, &err), SALOG_OK);
        cr_assert_eq(memcmp(got, naive[k], 32), 0, "folded root of %llu", (unsigned long long)k);
    }
    uint64_t problems = 9;
    char *text = al_test_verify_report(&problems);
    cr_assert_eq(problems, 1, "%s", text);
    cr_assert_not_null(strstr(text, "the stored roots of sizes 65..100 are missing"), "%s", text);
    free(text);
    /* So is a gap at the end (the newest sizes, 291..300). */
    al_test_queue_set(291, 300, zeros);
    text = al_test_verify_report(&problems);
    cr_assert_eq(problems, 2, "%s", text);
    cr_assert_not_null(strstr(text, "the stored roots of sizes 291..300 are missing"), "%s", text);
    free(text);
    /* Back as they were; then a store that kept roots only from size 33 on
     * (as one made before roots were kept, upgraded at size 32) is whole. */
    al_test_queue_set(291, 300, &naive[291]);
    al_test_queue_set(65, 100, &naive[65]);
    al_test_queue_set(1, 32, NULL);
    text = al_test_verify_report(&problems);
    cr_assert_eq(problems, 0, "%s", text);
    free(text);
    al_test_queue_set(1, 32, &naive[1]);
    /* A wrong root for size 40 is served, and verify names it. */
    uint8_t wrong[1][32];
    memcpy(wrong[0], naive[40], 32);
    wrong[0][0] ^= 1;
    al_test_queue_set(40, 40, wrong);
    text = al_test_verify_report(&problems);
    cr_assert_eq(problems, 1, "%s", text);
    cr_assert_not_null(strstr(text, "stored root of size 40 does not match the events"), "%s", text);
    free(text);
    al_test_queue_set(40, 40, &naive[40]);
    /* A checkpoint signs the folded root and refuses a stored one that
     * disagrees. */
    memcpy(wrong[0], naive[300], 32);
    wrong[0][5] ^= 0x80;
    al_test_queue_set(300, 300, wrong);
    uint64_t sealed = 0;
    salog_err_init(&err);
    cr_assert_neq(auditlog_publish(al_test_store, al_test_cfg, &sealed, &err), SALOG_OK);
    cr_assert_not_null(strstr(err.items[0].detail, "stored root of size 300 does not match the tree"), "%s",
                       err.items[0].detail);
    al_test_queue_set(300, 300, &naive[300]);
    salog_err_init(&err);
    cr_assert_eq(auditlog_publish(al_test_store, al_test_cfg, &sealed, &err), SALOG_OK);
    cr_assert_eq(sealed, N);
    text = al_test_verify_report(&problems);
    cr_assert_eq(problems, 0, "%s", text);
    free(text);
    free(zeros);
    free(naive);
    free(leaves);
}

/* A data directory made before the queues has its roots in root_groups.db
 * (32 to a hash record; the last record of a group still filling has
 * zeros for the sizes to come). Readers use them for the sizes the queue
 * lacks, verify checks them, and names a malformed or missing record. */
Test(auditlog, stored_roots_legacy_root_groups)
{
    enum { N = 100, LEGACY = 70 };
    salog_err err;
    salog_err_init(&err);
    uint8_t(*leaves)[32] = calloc(N, 32);
    uint8_t(*naive)[32] = calloc(N + 1, 32);
    cr_assert_not_null(leaves);
    cr_assert_not_null(naive);
    uint8_t batch_root[32];
    al_test_append_batch("legacy root", 0, N, leaves, batch_root);
    for (uint64_t k = 1; k <= N; k++)
        al_test_naive_root(leaves, k, naive[k]);
    /* root_groups.db as the old writer left it at size 70, and the queue
     * holding only what came after. */
    cr_assert_null(al_test_store->root_groups);
    cr_assert_eq(store_open_db_file(al_test_store, &al_test_store->root_groups, "root_groups.db", DB_HASH,
                                    65536, 0),
                 0);
    uint8_t key[ROOT_GROUP_KEY_LEN], rec[ROOT_GROUP_SIZES][32];
    memcpy(key, al_test_cfg, ID_LEN);
    for (uint64_t g = 0; g * ROOT_GROUP_SIZES < LEGACY; g++) {
        memset(rec, 0, sizeof rec);
        for (uint64_t k = g * ROOT_GROUP_SIZES + 1; k <= (g + 1) * ROOT_GROUP_SIZES && k <= LEGACY; k++)
            memcpy(rec[(k - 1) % ROOT_GROUP_SIZES], naive[k], 32);
        be64_put(key + ID_LEN, g);
        al_test_put_raw(al_test_store->root_groups, key, sizeof key, rec, sizeof rec);
    }
    al_test_queue_set(1, LEGACY, NULL);
    for (uint64_t k = 1; k <= N; k++) {
        uint8_t stored[32];
        cr_assert_eq(stored_roots_get(al_test_store, al_test_cfg, k, stored), 0, "size %llu", (unsigned long long)k);
        cr_assert_eq(memcmp(stored, naive[k], 32), 0, "stored root of %llu", (unsigned long long)k);
    }
    uint64_t problems = 9;
    char *text = al_test_verify_report(&problems);
    cr_assert_eq(problems, 0, "%s", text);
    free(text);
    /* A wrong legacy root is served and named. */
    be64_put(key + ID_LEN, 1);
    memset(rec, 0, sizeof rec);
    for (uint64_t k = 33; k <= 64; k++)
        memcpy(rec[k - 33], naive[k], 32);
    rec[7][0] ^= 1;
    al_test_put_raw(al_test_store->root_groups, key, sizeof key, rec, sizeof rec);
    uint8_t got[32];
    cr_assert_eq(auditlog_root(al_test_store, al_test_cfg, 40, got, &err), SALOG_OK);
    cr_assert_eq(memcmp(got, rec[7], 32), 0);
    text = al_test_verify_report(&problems);
    cr_assert_eq(problems, 1, "%s", text);
    cr_assert_not_null(strstr(text, "stored root of size 40 in root_groups.db does not match the events"), "%s",
                       text);
    free(text);
    /* A record that is not whole roots is malformed, not also missing. */
    rec[7][0] ^= 1;
    al_test_put_raw(al_test_store->root_groups, key, sizeof key, rec, 33);
    text = al_test_verify_report(&problems);
    cr_assert_eq(problems, 1, "%s", text);
    cr_assert_not_null(strstr(text, "the stored roots of sizes 33..64 in root_groups.db are malformed"), "%s",
                       text);
    free(text);
    /* Gone: folded by readers, a gap for verify. */
    cr_assert_eq(store_del(al_test_store->root_groups, NULL, key, sizeof key), 0);
    cr_assert_eq(stored_roots_get(al_test_store, al_test_cfg, 40, got), DB_NOTFOUND);
    cr_assert_eq(auditlog_root(al_test_store, al_test_cfg, 40, got, &err), SALOG_OK);
    cr_assert_eq(memcmp(got, naive[40], 32), 0);
    text = al_test_verify_report(&problems);
    cr_assert_eq(problems, 1, "%s", text);
    cr_assert_not_null(strstr(text, "the stored roots of sizes 33..64 are missing"), "%s", text);
    free(text);
    free(naive);
    free(leaves);
}

/* The process's tile cache may hold a copy of a growing upper tile taken at
 * an older size. After more appends, a proof that needs that tile's newer
 * hashes must read them (here: stratum 1, tile 1, cached with 3 hashes at
 * 1,100 events, then needed up to hash 34 at 1,600). */
Test(auditlog, cached_tiles_grow)
{
    enum { FIRST = 1100, N = 1600 };
    salog_err err;
    salog_err_init(&err);
    uint8_t(*leaves)[32] = calloc(N, 32);
    cr_assert_not_null(leaves);
    for (uint64_t done = 0; done < N;) {
        size_t count = done < FIRST ? FIRST : N - FIRST;
        uint8_t batch_root[32];
        al_test_append_batch("grow event", done, count, leaves, batch_root);
        done += count;
        /* Proofs at this size put stratum 1's growing tile in the cache. */
        uint8_t root[32];
        al_test_naive_root(leaves, done, root);
        cr_assert_eq(memcmp(batch_root, root, 32), 0);
        for (uint64_t leaf = 1024; leaf < done; leaf += 3) {
            char *proof = NULL;
            cr_assert_eq(auditlog_membership_proof(al_test_store, al_test_cfg, leaf, done, &proof, &err), SALOG_OK,
                         "leaf %llu of %llu: %s", (unsigned long long)leaf, (unsigned long long)done,
                         err.count ? err.items[0].detail : "");
            cr_assert_eq(merkle_verify_membership_text(leaves[leaf], proof, root), 1, "leaf %llu of %llu",
                         (unsigned long long)leaf, (unsigned long long)done);
            free(proof);
        }
        uint8_t got[32];
        cr_assert_eq(auditlog_root(al_test_store, al_test_cfg, done, got, &err), SALOG_OK);
        cr_assert_eq(memcmp(got, root, 32), 0);
    }
    free(leaves);
}

static DBTYPE al_test_tiles_type(void)
{
    DBTYPE type = DB_UNKNOWN;
    cr_assert_eq(al_test_store->tiles->get_type(al_test_store->tiles, &type), 0);
    return type;
}

/* A data directory made when tiles.db was a btree keeps working: opening
 * it finds the btree, appends add full tiles to it, roots and proofs match
 * the naive tree, and verify reads it (and still finds a tile beyond the
 * tree's size). New stores make a hash tiles.db. */
Test(auditlog, tiles_legacy_btree)
{
    enum { N = 1500, BATCH = 97 };
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(al_test_tiles_type(), DB_HASH);
    store_close(al_test_store);
    al_test_store = NULL;
    /* Replace the new (empty) tiles.db by a btree, as an older salog made it. */
    DB_ENV *env = NULL;
    DB *db = NULL;
    cr_assert_eq(db_env_create(&env, 0), 0);
    cr_assert_eq(env->open(env, al_test_data,
                           DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL | DB_RECOVER, 0),
                 0);
    cr_assert_eq(env->dbremove(env, NULL, "tiles.db", NULL, DB_AUTO_COMMIT), 0);
    cr_assert_eq(db_create(&db, env, 0), 0);
    cr_assert_eq(db->set_pagesize(db, 16384), 0);
    cr_assert_eq(db->open(db, NULL, "tiles.db", NULL, DB_BTREE, DB_CREATE | DB_AUTO_COMMIT, 0660), 0);
    cr_assert_eq(db->close(db, 0), 0);
    cr_assert_eq(env->close(env, 0), 0);
    /* Its region files lack salog's thread table: let store_open make them. */
    cr_assert_eq(db_env_create(&env, 0), 0);
    cr_assert_eq(env->remove(env, al_test_data, 0), 0);
    cr_assert_eq(store_open(&al_test_store, al_test_data, false, &err), SALOG_OK, "%s",
                 err.count ? err.items[0].detail : "");
    cr_assert_eq(al_test_tiles_type(), DB_BTREE);
    uint8_t(*leaves)[32] = calloc(N, 32);
    cr_assert_not_null(leaves);
    for (uint64_t done = 0; done < N;) {
        size_t count = N - done < BATCH ? (size_t)(N - done) : BATCH;
        uint8_t batch_root[32];
        al_test_append_batch("legacy tiles", done, count, leaves, batch_root);
        done += count;
    }
    /* Upper tiles in the btree, bottom ones in the queue. */
    DB_BTREE_STAT *bst = NULL;
    cr_assert_eq(al_test_store->tiles->stat(al_test_store->tiles, NULL, &bst, 0), 0);
    cr_assert_eq(bst->bt_ndata, N / 1024, "full tiles in the btree: %u", bst->bt_ndata);
    free(bst);
    /* A store made before the queues has its bottom tiles in tiles.db:
     * move ten there (tiles 2..11: the queue's first record stays, so the
     * moved ones read as empty records, not as before its first). */
    DB *bottom = NULL;
    cr_assert_eq(tree_queue_open(al_test_store, al_test_cfg, TREE_QUEUE_TILES, &bottom), 0);
    for (db_recno_t recno = 3; recno <= 12; recno++) {
        uint8_t tile[TILE_MAX_BYTES], tkey[TILE_KEY_LEN];
        size_t len = 0;
        cr_assert_eq(store_get_into(bottom, NULL, &recno, sizeof recno, tile, sizeof tile, &len, 0), 0);
        cr_assert_eq(len, sizeof tile);
        tile_key(tkey, al_test_cfg, 0, recno - 1);
        al_test_put_raw(al_test_store->tiles, tkey, sizeof tkey, tile, sizeof tile);
        cr_assert_eq(store_del(bottom, NULL, &recno, sizeof recno), 0);
    }

    const uint64_t sizes[] = {1, 31, 32, 33, 1023, 1024, 1025, N - 1, N};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint8_t naive[32], got[32];
        al_test_naive_root(leaves, sizes[k], naive);
        cr_assert_eq(auditlog_root_folded(al_test_store, al_test_cfg, sizes[k], got, &err), SALOG_OK);
        cr_assert_eq(memcmp(got, naive, 32), 0, "folded root of %llu", (unsigned long long)sizes[k]);
        const uint64_t picks[] = {0, sizes[k] / 2, sizes[k] - 1};
        for (size_t p = 0; p < 3; p++) {
            char *proof = NULL;
            cr_assert_eq(auditlog_membership_proof(al_test_store, al_test_cfg, picks[p], sizes[k], &proof, &err),
                         SALOG_OK);
            cr_assert_eq(merkle_verify_membership_text(leaves[picks[p]], proof, naive), 1, "leaf %llu in %llu",
                         (unsigned long long)picks[p], (unsigned long long)sizes[k]);
            free(proof);
        }
    }
    uint64_t problems = 9;
    char *text = al_test_verify_report(&problems);
    cr_assert_eq(problems, 0, "%s", text);
    free(text);
    uint8_t full_key[TILE_KEY_LEN], junk[TILE_MAX_BYTES];
    memset(junk, 0x5a, sizeof junk);
    tile_key(full_key, al_test_cfg, 1, 3); /* band 1, events 3072..4095 */
    al_test_put_raw(al_test_store->tiles, full_key, sizeof full_key, junk, sizeof junk);
    text = al_test_verify_report(&problems);
    cr_assert_eq(problems, 1, "%s", text);
    cr_assert_not_null(strstr(text, "tiles: a complete tile of band 1 ends at event 4095, beyond the tree's size 1500"),
                       "%s", text);
    free(text);
    free(leaves);
}

/* A complete bottom tile already stored where an append completes one
 * (the head and the stored tiles disagree) fails the append: it is never
 * overwritten, and nothing of the append is kept. */
Test(auditlog, bottom_tile_never_overwritten)
{
    al_test_append_n(al_test_cfg, 31);
    DB *bottom = NULL;
    db_recno_t recno = 1; /* tile 0: events 0..31 */
    uint8_t junk[TILE_MAX_BYTES], got[TILE_MAX_BYTES];
    size_t len = 0;
    memset(junk, 0x5a, sizeof junk);
    cr_assert_eq(tree_queue_open(al_test_store, al_test_cfg, TREE_QUEUE_TILES, &bottom), 0);
    al_test_put_raw(bottom, &recno, sizeof recno, junk, sizeof junk);
    salog_err err;
    salog_err_init(&err);
    sv_value *ev = al_test_event("completes tile 0");
    log_item it = {.event = ev};
    log_append_result r;
    cr_assert_neq(auditlog_append(al_test_store, al_test_cfg, &it, 1, &r, &err), SALOG_OK);
    sv_free(ev);
    uint64_t size = 0;
    cr_assert_eq(auditlog_size(al_test_store, al_test_cfg, &size, &err), SALOG_OK);
    cr_assert_eq(size, 31);
    cr_assert_eq(store_get_into(bottom, NULL, &recno, sizeof recno, got, sizeof got, &len, 0), 0);
    cr_assert_eq(memcmp(got, junk, sizeof junk), 0);
}

/* A data directory made before the queues: bottom tiles in tiles.db, no
 * tiles-<id>.db. Proofs and verify read tiles.db (a reader makes the empty
 * queue), and appends after the upgrade put their complete bottom tiles in
 * the queue: proofs across both match the naive tree. */
Test(auditlog, bottom_tiles_before_the_queue)
{
    enum { OLD = 100, N = 200 };
    salog_err err;
    salog_err_init(&err);
    uint8_t(*leaves)[32] = calloc(N, 32);
    cr_assert_not_null(leaves);
    uint8_t batch_root[32];
    al_test_append_batch("before the queue", 0, OLD, leaves, batch_root);
    /* Tiles 0..2 (events 0..95) into tiles.db, then the queue file gone. */
    DB *bottom = NULL;
    cr_assert_eq(tree_queue_open(al_test_store, al_test_cfg, TREE_QUEUE_TILES, &bottom), 0);
    for (db_recno_t recno = 1; recno <= OLD / 32; recno++) {
        uint8_t tile[TILE_MAX_BYTES], tkey[TILE_KEY_LEN];
        size_t len = 0;
        cr_assert_eq(store_get_into(bottom, NULL, &recno, sizeof recno, tile, sizeof tile, &len, 0), 0);
        tile_key(tkey, al_test_cfg, 0, recno - 1);
        al_test_put_raw(al_test_store->tiles, tkey, sizeof tkey, tile, sizeof tile);
    }
    store_close(al_test_store);
    al_test_store = NULL;
    char file[64];
    snprintf(file, sizeof file, "tiles-%s.db", al_test_cfg);
    DB_ENV *env = NULL;
    cr_assert_eq(db_env_create(&env, 0), 0);
    cr_assert_eq(env->open(env, al_test_data,
                           DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL | DB_RECOVER, 0),
                 0);
    cr_assert_eq(env->dbremove(env, NULL, file, NULL, DB_AUTO_COMMIT), 0);
    cr_assert_eq(env->close(env, 0), 0);
    cr_assert_eq(db_env_create(&env, 0), 0);
    cr_assert_eq(env->remove(env, al_test_data, 0), 0);
    cr_assert_eq(store_open(&al_test_store, al_test_data, false, &err), SALOG_OK, "%s",
                 err.count ? err.items[0].detail : "");
    char path[256];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", al_test_data, file);
    cr_assert_neq(stat(path, &sb), 0);
    for (int phase = 0; phase < 2; phase++) {
        uint64_t n = phase == 0 ? OLD : N;
        uint8_t root[32], naive[32];
        al_test_naive_root(leaves, n, naive);
        cr_assert_eq(auditlog_root_folded(al_test_store, al_test_cfg, n, root, &err), SALOG_OK);
        cr_assert_eq(memcmp(root, naive, 32), 0, "folded root of %llu", (unsigned long long)n);
        for (uint64_t i = 0; i < n; i += 7) {
            char *proof = NULL;
            cr_assert_eq(auditlog_membership_proof(al_test_store, al_test_cfg, i, n, &proof, &err), SALOG_OK);
            cr_assert_eq(merkle_verify_membership_text(leaves[i], proof, naive), 1, "leaf %llu of %llu",
                         (unsigned long long)i, (unsigned long long)n);
            free(proof);
        }
        uint64_t problems = 9;
        char *text = al_test_verify_report(&problems);
        cr_assert_eq(problems, 0, "%s", text);
        free(text);
        if (phase == 0) {
            /* A reader made the (empty) queue; the next appends fill it. */
            cr_assert_eq(stat(path, &sb), 0);
            al_test_append_batch("after the queue", OLD, N - OLD, leaves, batch_root);
        }
    }
    /* Tiles 3..5 (events 96..191) are in the queue, 0..2 still only in
     * tiles.db. */
    cr_assert_eq(tree_queue_open(al_test_store, al_test_cfg, TREE_QUEUE_TILES, &bottom), 0);
    for (db_recno_t recno = 1; recno <= N / 32; recno++) {
        uint8_t tile[TILE_MAX_BYTES];
        size_t len = 0;
        cr_assert_eq(store_get_into(bottom, NULL, &recno, sizeof recno, tile, sizeof tile, &len, 0),
                     recno <= OLD / 32 ? DB_NOTFOUND : 0, "record %u", (unsigned)recno);
    }
    free(leaves);
}
