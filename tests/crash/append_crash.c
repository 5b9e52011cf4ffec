/* Crash test of the append path (STYLE.md 14): four processes append single
 * events to one config while the parent SIGKILLs one of them every ~0.5 s
 * and starts a replacement. A child writes "index hash" to its own file
 * only after auditlog_append returned SALOG_OK. At the end every process is
 * killed, the store is reopened (recovery) and checked: no acknowledged
 * event is lost or changed, indexes are gap-free, every acknowledged event
 * has a valid membership proof in the current tree, and auditlog_verify
 * finds nothing.
 *
 * usage: append_crash DATA_DIR [seconds]   (DATA_DIR must not exist)
 * Exit status 0 = all checks passed. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec/codec.h"
#include "codec/timefmt.h"
#include "model/auditlog.h"
#include "model/ids.h"
#include "model/server_key.h"
#include "model/store.h"

#define CRASH_CHILDREN 4
#define CRASH_KILL_EVERY_MS 500
#define CRASH_EXIT_RECOVER 3
#define CRASH_MAX_SLOTS 4096 /* child output files over the whole run */

typedef struct crash_ack {
    unsigned long long index;
    char hash[65];
} crash_ack;

static long long crash_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void crash_sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A child: append forever, acknowledging each event after it is durable. */
static void crash_child(const char *dir, const char *cfg, const char *ack_path)
{
    store *s = NULL;
    salog_err err;
    salog_err_init(&err);
    /* Never outlive the parent. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        _exit(1);
    FILE *ack = fopen(ack_path, "w");
    if (!ack)
        _exit(4);
    salog_status st = store_open(&s, dir, false, &err);
    if (st != SALOG_OK) {
        fprintf(stderr, "child %d: open: %s\n", (int)getpid(), err.count ? err.items[0].detail : "?");
        _exit(st == SALOG_E_RUNRECOVERY ? CRASH_EXIT_RECOVER : 4);
    }
    for (unsigned long i = 0;; i++) {
        char msg[96];
        snprintf(msg, sizeof msg, "crash test pid %d event %lu", (int)getpid(), i);
        sv_value *ev = sv_object();
        if (!ev || sv_object_set_str(ev, "message", msg) != 0)
            _exit(4);
        log_item it = {.event = ev};
        log_append_result r;
        salog_err_init(&err);
        st = auditlog_append(s, cfg, &it, 1, &r, &err);
        sv_free(ev);
        if (st != SALOG_OK) {
            int code = st == SALOG_E_RUNRECOVERY || store_must_exit(s) ? CRASH_EXIT_RECOVER : 4;
            if (code != CRASH_EXIT_RECOVER)
                fprintf(stderr, "child %d: append: %s\n", (int)getpid(), err.count ? err.items[0].detail : "?");
            store_close(s);
            _exit(code);
        }
        fprintf(ack, "%llu %s\n", (unsigned long long)r.items[0].leaf_index, r.items[0].hash);
        fflush(ack);
        auditlog_append_result_clear(&r);
    }
}

typedef struct crash_state {
    const char *dir;
    char cfg[ID_LEN + 1];
    pid_t pids[CRASH_CHILDREN];
    char files[CRASH_MAX_SLOTS][320];
    size_t nfiles;
    unsigned kills, recover_exits, other_exits, spawns;
} crash_state;

static int crash_spawn(crash_state *cs, int slot)
{
    if (cs->nfiles >= CRASH_MAX_SLOTS)
        return -1;
    char *path = cs->files[cs->nfiles];
    snprintf(path, sizeof cs->files[0], "%s.acks/%zu.txt", cs->dir, cs->nfiles);
    cs->nfiles++;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        crash_child(cs->dir, cs->cfg, path);
    cs->pids[slot] = pid;
    cs->spawns++;
    return 0;
}

/* Reaps exited children and starts replacements. */
static int crash_reap(crash_state *cs, int replace)
{
    for (int i = 0; i < CRASH_CHILDREN; i++) {
        int status = 0;
        if (cs->pids[i] <= 0)
            continue;
        pid_t r = waitpid(cs->pids[i], &status, WNOHANG);
        if (r == 0)
            continue;
        cs->pids[i] = 0;
        if (WIFEXITED(status)) {
            if (WEXITSTATUS(status) == CRASH_EXIT_RECOVER)
                cs->recover_exits++;
            else {
                cs->other_exits++;
                fprintf(stderr, "append_crash: a child exited with status %d\n", WEXITSTATUS(status));
            }
        }
        if (replace && crash_spawn(cs, i) != 0)
            return -1;
    }
    return 0;
}

static crash_ack *crash_read_acks(crash_state *cs, size_t *count)
{
    size_t cap = 1024, n = 0;
    crash_ack *acks = malloc(cap * sizeof *acks);
    if (!acks)
        return NULL;
    for (size_t f = 0; f < cs->nfiles; f++) {
        FILE *fp = fopen(cs->files[f], "r");
        if (!fp)
            continue;
        char line[128];
        while (fgets(line, sizeof line, fp)) {
            crash_ack a;
            if (!strchr(line, '\n') || sscanf(line, "%llu %64s", &a.index, a.hash) != 2 || strlen(a.hash) != 64)
                continue; /* a torn last line was never acknowledged */
            if (n == cap) {
                crash_ack *p = realloc(acks, 2 * cap * sizeof *acks);
                if (!p) {
                    free(acks);
                    fclose(fp);
                    return NULL;
                }
                acks = p;
                cap *= 2;
            }
            acks[n++] = a;
        }
        fclose(fp);
    }
    *count = n;
    return acks;
}

/* Reopens the store and checks everything; returns the number of failures. */
static unsigned crash_check(crash_state *cs, size_t *acked_out, unsigned long long *size_out)
{
    store *s = NULL;
    salog_err err;
    unsigned failures = 0;
    size_t n = 0;
    uint64_t size = 0;
    uint8_t root[MERKLE_HASH_LEN];
    crash_ack *acks = crash_read_acks(cs, &n);
    salog_err_init(&err);
    *acked_out = n;
    *size_out = 0;
    if (!acks) {
        fprintf(stderr, "FAIL: cannot read the acknowledgements\n");
        return 1;
    }
    if (store_open(&s, cs->dir, false, &err) != SALOG_OK) {
        fprintf(stderr, "FAIL: reopening the store: %s\n", err.count ? err.items[0].detail : "?");
        free(acks);
        return 1;
    }
    if (auditlog_size(s, cs->cfg, &size, &err) != SALOG_OK) {
        fprintf(stderr, "FAIL: reading the size\n");
        failures++;
        goto out;
    }
    *size_out = size;
    if (size < n) {
        fprintf(stderr, "FAIL: tree size %llu < %zu acknowledged events\n", (unsigned long long)size, n);
        failures++;
    }
    if (size > 0 && auditlog_root(s, cs->cfg, size, root, &err) != SALOG_OK) {
        fprintf(stderr, "FAIL: computing the root\n");
        failures++;
        goto out;
    }
    uint8_t *seen = calloc(size ? size : 1, 1);
    if (!seen) {
        failures++;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        sv_value *env = NULL;
        char hash[65], *proof = NULL;
        uint8_t leaf[MERKLE_HASH_LEN];
        if (acks[i].index >= size) {
            fprintf(stderr, "FAIL: acknowledged index %llu beyond the tree\n", acks[i].index);
            failures++;
            continue;
        }
        if (seen[acks[i].index]++) {
            fprintf(stderr, "FAIL: index %llu acknowledged twice\n", acks[i].index);
            failures++;
        }
        salog_err_init(&err);
        if (auditlog_get_event(s, cs->cfg, acks[i].index, &env, hash, &err) != SALOG_OK ||
            strcmp(hash, acks[i].hash) != 0) {
            fprintf(stderr, "FAIL: acknowledged event %llu is missing or changed\n", acks[i].index);
            failures++;
        }
        sv_free(env);
        salog_err_init(&err);
        if (merkle_unhex(acks[i].hash, leaf) != 0 ||
            auditlog_membership_proof(s, cs->cfg, acks[i].index, size, &proof, &err) != SALOG_OK ||
            merkle_verify_membership_text(leaf, proof, root) != 1) {
            fprintf(stderr, "FAIL: membership proof of event %llu does not verify\n", acks[i].index);
            failures++;
        }
        free(proof);
    }
    free(seen);
    /* Gap-free: every index has an event (verify also checks every leaf). */
    for (uint64_t i = 0; i < size; i++) {
        sv_value *env = NULL;
        char hash[65];
        salog_err_init(&err);
        if (auditlog_get_event(s, cs->cfg, i, &env, hash, &err) != SALOG_OK) {
            fprintf(stderr, "FAIL: no event at index %llu\n", (unsigned long long)i);
            failures++;
        }
        sv_free(env);
    }
    uint64_t problems = 0;
    salog_err_init(&err);
    if (auditlog_verify(s, cs->cfg, stderr, &problems, &err) != SALOG_OK || problems != 0) {
        fprintf(stderr, "FAIL: verify found %llu problem(s)\n", (unsigned long long)problems);
        failures++;
    }
out:
    store_close(s);
    free(acks);
    return failures;
}

int main(int argc, char **argv)
{
    static crash_state cs;
    salog_err err;
    store *s = NULL;
    salog_err_init(&err);
    if (argc < 2) {
        fprintf(stderr, "usage: append_crash DATA_DIR [seconds]\n");
        return 2;
    }
    int seconds = argc > 2 ? atoi(argv[2]) : 10;
    if (seconds < 1 || seconds > 40)
        seconds = 10;
    cs.dir = argv[1];
    char ackdir[300];
    snprintf(ackdir, sizeof ackdir, "%s.acks", cs.dir);
    if (mkdir(ackdir, 0700) != 0) {
        fprintf(stderr, "append_crash: cannot create %s: %s\n", ackdir, strerror(errno));
        return 2;
    }
    if (store_open(&s, cs.dir, true, &err) != SALOG_OK || server_key_create(cs.dir, &err) != SALOG_OK ||
        id_generate("pci_", cs.cfg) != 0) {
        fprintf(stderr, "append_crash: setup failed: %s\n", err.count ? err.items[0].detail : "?");
        store_close(s);
        return 2;
    }
    store_close(s);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());

    for (int i = 0; i < CRASH_CHILDREN; i++)
        if (crash_spawn(&cs, i) != 0)
            return 2;
    long long start = crash_now_ms(), next_kill = start + CRASH_KILL_EVERY_MS;
    int broken = 0;
    while (crash_now_ms() - start < (long long)seconds * 1000) {
        crash_sleep_ms(20);
        if (crash_reap(&cs, 1) != 0) {
            broken = 1;
            break;
        }
        if (crash_now_ms() >= next_kill) {
            int victim = rand() % CRASH_CHILDREN;
            if (cs.pids[victim] > 0 && kill(cs.pids[victim], SIGKILL) == 0)
                cs.kills++;
            /* Jitter so the kill lands at varying points of an append. */
            next_kill = crash_now_ms() + CRASH_KILL_EVERY_MS / 2 + rand() % CRASH_KILL_EVERY_MS;
        }
    }
    /* Stop everyone the hard way: the final reopen recovers too. */
    for (int i = 0; i < CRASH_CHILDREN; i++)
        if (cs.pids[i] > 0)
            kill(cs.pids[i], SIGKILL);
    for (int i = 0; i < CRASH_CHILDREN; i++)
        if (cs.pids[i] > 0) {
            int status;
            waitpid(cs.pids[i], &status, 0);
            if (WIFEXITED(status) && WEXITSTATUS(status) == CRASH_EXIT_RECOVER)
                cs.recover_exits++;
            cs.pids[i] = 0;
        }

    size_t acked = 0;
    unsigned long long size = 0;
    unsigned failures = crash_check(&cs, &acked, &size);
    if (broken) {
        fprintf(stderr, "FAIL: could not keep the children running\n");
        failures++;
    }
    if (cs.other_exits) {
        fprintf(stderr, "FAIL: %u child(ren) exited with an unexpected error\n", cs.other_exits);
        failures++;
    }
    if (acked == 0) {
        fprintf(stderr, "FAIL: no event was acknowledged\n");
        failures++;
    }
    printf("append_crash: %d s, %u processes started, %u SIGKILLs, %u exits after a panic "
           "(recovery by the next opener), %zu events acknowledged, tree size %llu: %s\n",
           seconds, cs.spawns, cs.kills, cs.recover_exits, acked, size, failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}
