/* Group commit (model/append_queue.h): many threads append at once through
 * the queue; every request gets its own leaves, gap-free and in one piece,
 * and (when asked) the root of the tree at the end of its own batch, which
 * is also recorded for prev_root. A request with bad data fails alone. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/append_queue.h"
#include "model/auditlog.h"
#include "tests/unit/test_tmpdir.h"

#define AQT_THREADS 12
#define AQT_ROUNDS 6

static char aqt_root[64];
static char aqt_data[96];
static store *aqt_store;
static char aqt_cfg[ID_LEN + 1];

static void aqt_setup(void)
{
    salog_err err;
    salog_err_init(&err);
    test_tmpdir_make(aqt_root, sizeof aqt_root, "append-queue");
    snprintf(aqt_data, sizeof aqt_data, "%s/data", aqt_root);
    cr_assert_eq(store_open(&aqt_store, aqt_data, true, &err), SALOG_OK);
    cr_assert_eq(id_generate("pci_", aqt_cfg), 0);
}

static void aqt_teardown(void)
{
    store_close(aqt_store);
    aqt_store = NULL;
    test_tmpdir_remove(aqt_root);
}

TestSuite(append_queue, .init = aqt_setup, .fini = aqt_teardown, .timeout = 120);

/* What one request got back. */
typedef struct aqt_outcome {
    salog_status st;
    size_t count;
    bool want_root;
    uint64_t first_index, tree_size;
    uint8_t root[MERKLE_HASH_LEN];
    char hashes[8][65];
} aqt_outcome;

typedef struct aqt_thread {
    int n;
    bool batches;       /* 1..7 events per request, else 1 */
    int bad_round;      /* this round's request carries a float (no canonical form); -1: none */
    aqt_outcome out[AQT_ROUNDS];
} aqt_thread;

static void *aqt_run(void *arg)
{
    aqt_thread *t = arg;
    for (int r = 0; r < AQT_ROUNDS; r++) {
        size_t count = t->batches ? (size_t)(1 + (t->n + r) % 7) : 1;
        sv_value *events[8];
        log_item items[8];
        for (size_t i = 0; i < count; i++) {
            char msg[64];
            snprintf(msg, sizeof msg, "thread %d round %d item %zu", t->n, r, i);
            events[i] = sv_object();
            sv_object_set_str(events[i], "message", msg);
            if (r == t->bad_round)
                sv_object_set(events[i], "ratio", sv_float(0.5));
            items[i] = (log_item){events[i], NULL, NULL, NULL};
        }
        log_append_result res;
        salog_err err;
        salog_err_init(&err);
        aqt_outcome *o = &t->out[r];
        o->want_root = (t->n + r) % 2 == 0;
        o->count = count;
        o->st = append_queue_submit(aqt_store, aqt_cfg, items, count, o->want_root, &res, &err);
        if (o->st == SALOG_OK) {
            cr_assert_eq(res.count, count);
            o->first_index = res.items[0].leaf_index;
            o->tree_size = res.tree_size;
            memcpy(o->root, res.root, MERKLE_HASH_LEN);
            for (size_t i = 0; i < count; i++) {
                cr_assert_eq(res.items[i].leaf_index, o->first_index + i, "a request's leaves are contiguous");
                memcpy(o->hashes[i], res.items[i].hash, 65);
            }
            auditlog_append_result_clear(&res);
        } else {
            cr_assert_eq(err.count > 0, true);
        }
        for (size_t i = 0; i < count; i++)
            sv_free(events[i]);
    }
    return NULL;
}

/* Runs the threads, then checks every outcome against the stored tree. */
static void aqt_check(bool batches, int bad_thread)
{
    static aqt_thread threads[AQT_THREADS];
    pthread_t ids[AQT_THREADS];
    salog_err err;
    salog_err_init(&err);
    for (int i = 0; i < AQT_THREADS; i++) {
        threads[i] = (aqt_thread){.n = i, .batches = batches, .bad_round = i == bad_thread ? 2 : -1};
        cr_assert_eq(pthread_create(&ids[i], NULL, aqt_run, &threads[i]), 0);
    }
    for (int i = 0; i < AQT_THREADS; i++)
        pthread_join(ids[i], NULL);

    uint64_t total = 0, size = 0;
    for (int i = 0; i < AQT_THREADS; i++)
        for (int r = 0; r < AQT_ROUNDS; r++)
            if (threads[i].out[r].st == SALOG_OK)
                total += threads[i].out[r].count;
    cr_assert_eq(auditlog_size(aqt_store, aqt_cfg, &size, &err), SALOG_OK);
    cr_assert_eq(size, total, "every acknowledged event and nothing else is in the tree");
    bool *seen = calloc(size, sizeof *seen);
    cr_assert_not_null(seen);
    for (int i = 0; i < AQT_THREADS; i++)
        for (int r = 0; r < AQT_ROUNDS; r++) {
            const aqt_outcome *o = &threads[i].out[r];
            if (i == bad_thread && r == 2) {
                cr_assert_eq(o->st, SALOG_E_VALIDATION, "the bad request fails");
                continue;
            }
            cr_assert_eq(o->st, SALOG_OK, "thread %d round %d", i, r);
            cr_assert_eq(o->tree_size, o->first_index + o->count, "tree_size ends at the request's own batch");
            for (size_t k = 0; k < o->count; k++) {
                uint64_t index = o->first_index + k;
                cr_assert(index < size && !seen[index], "leaf %llu handed out once", (unsigned long long)index);
                seen[index] = true;
                sv_value *env = NULL;
                char hash[65];
                cr_assert_eq(auditlog_get_event(aqt_store, aqt_cfg, index, &env, hash, &err), SALOG_OK);
                cr_assert_str_eq(hash, o->hashes[k]);
                sv_free(env);
            }
            uint8_t root[MERKLE_HASH_LEN], zero[MERKLE_HASH_LEN] = {0};
            if (!o->want_root) {
                cr_assert_eq(memcmp(o->root, zero, MERKLE_HASH_LEN), 0, "no root asked, none given");
                continue;
            }
            cr_assert_eq(auditlog_root(aqt_store, aqt_cfg, o->tree_size, root, &err), SALOG_OK);
            cr_assert_eq(memcmp(root, o->root, MERKLE_HASH_LEN), 0, "the root at the request's own size");
            uint64_t found = 0;
            cr_assert_eq(auditlog_find_root(aqt_store, aqt_cfg, o->root, &found, &err), SALOG_OK);
            cr_assert_eq(found, o->tree_size, "the root is recorded for prev_root");
            char *proof = NULL;
            uint8_t leaf[MERKLE_HASH_LEN];
            cr_assert_eq(merkle_unhex(o->hashes[0], leaf), 0);
            cr_assert_eq(auditlog_membership_proof(aqt_store, aqt_cfg, o->first_index, o->tree_size, &proof, &err),
                         SALOG_OK);
            cr_assert(merkle_verify_membership_text(leaf, proof, o->root));
            free(proof);
        }
    for (uint64_t k = 0; k < size; k++)
        cr_assert(seen[k], "no gap at %llu", (unsigned long long)k);
    free(seen);
}

Test(append_queue, single_events_from_many_threads)
{
    aqt_check(false, -1);
}

Test(append_queue, batches_from_many_threads)
{
    aqt_check(true, -1);
}

Test(append_queue, a_bad_request_fails_alone)
{
    aqt_check(true, 5);
}

/* The groups API directly: roots at every batch end, zeros where not asked,
 * and the newest root always recorded. */
Test(append_queue, groups_roots_at_each_end)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *events[6];
    log_item items[6];
    for (int i = 0; i < 6; i++) {
        events[i] = sv_object();
        sv_object_set_int(events[i], "n", i);
        items[i] = (log_item){events[i], NULL, NULL, NULL};
    }
    size_t ends[3] = {2, 3, 6};
    bool wants[3] = {true, false, false};
    uint8_t roots[3][MERKLE_HASH_LEN], expect[MERKLE_HASH_LEN], zero[MERKLE_HASH_LEN] = {0};
    log_append_result res;
    cr_assert_eq(auditlog_append_groups(aqt_store, aqt_cfg, items, 6, ends, wants, 3, roots, &res, &err), SALOG_OK);
    cr_assert_eq(auditlog_flush(aqt_store, &err), SALOG_OK);
    cr_assert_eq(res.tree_size, 6);
    cr_assert_eq(auditlog_root(aqt_store, aqt_cfg, 2, expect, &err), SALOG_OK);
    cr_assert_eq(memcmp(expect, roots[0], MERKLE_HASH_LEN), 0);
    cr_assert_eq(memcmp(zero, roots[1], MERKLE_HASH_LEN), 0);
    cr_assert_eq(memcmp(zero, roots[2], MERKLE_HASH_LEN), 0);
    /* The newest root is recorded even though nobody asked for it: a
     * checkpoint or a search reply hands it out as the current root. */
    uint64_t found = 0;
    cr_assert_eq(auditlog_root(aqt_store, aqt_cfg, 6, expect, &err), SALOG_OK);
    cr_assert_eq(auditlog_find_root(aqt_store, aqt_cfg, expect, &found, &err), SALOG_OK);
    cr_assert_eq(found, 6);
    cr_assert_eq(auditlog_root(aqt_store, aqt_cfg, 3, expect, &err), SALOG_OK);
    cr_assert_eq(auditlog_find_root(aqt_store, aqt_cfg, expect, &found, &err), SALOG_OK);
    cr_assert_eq(found, 0, "a root nobody was shown is not recorded");
    auditlog_append_result_clear(&res);
    /* Malformed groups are refused before anything is written. */
    size_t bad_ends[2] = {3, 2};
    cr_assert_eq(auditlog_append_groups(aqt_store, aqt_cfg, items, 6, bad_ends, NULL, 2, roots, &res, &err),
                 SALOG_E_INTERNAL);
    uint64_t size = 0;
    cr_assert_eq(auditlog_size(aqt_store, aqt_cfg, &size, &err), SALOG_OK);
    cr_assert_eq(size, 6);
    for (int i = 0; i < 6; i++)
        sv_free(events[i]);
}
