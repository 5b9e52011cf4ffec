/* Multi-process kill test for the store (PLATFORM.md §5.3, API.md I.9).
 *
 *   kill_writer DIR SECONDS [WRITERS] [SEED]
 *
 * Forks WRITERS (default 4) processes that each open the store in DIR/data
 * and mint tokens as fast as they can; after each success a writer appends
 * "id secret\n" to DIR/out/ids.<pid> (one write(2), so a line is whole or
 * absent). A writer also runs failchk every 100 ms and a checkpoint every
 * 2 s from a second thread, like the worker does. When the store says
 * must-exit (panic, DB_RUNRECOVERY) the writer exits with status 3.
 *
 * The parent SIGKILLs a random writer at random moments and starts a
 * replacement for every writer that died or exited, watches that the total
 * keeps growing (a stall of STALL_LIMIT_MS fails the run), then stops the
 * writers with SIGTERM, opens the store itself (recovery) and checks that
 * every recorded secret authenticates as its recorded id. Exit 0 = pass. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec/timefmt.h"
#include "model/store.h"
#include "model/tokens.h"

#define MAX_WRITERS    16
#define LINE_LEN       (ID_LEN + 1 + TOKEN_SECRET_LEN + 1)
#define STALL_LIMIT_MS 10000
#define EXIT_MUST_EXIT 3
#define EXIT_OPEN_FAIL 4
#define EXIT_MUST_EXIT_STUCK 5
#define WRITER_GRACE_MS 500

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- writer ---- */

struct writer {
    store *s;
    volatile sig_atomic_t *stop;
};

static volatile sig_atomic_t writer_stop_flag;

static void writer_on_term(int sig)
{
    (void)sig;
    writer_stop_flag = 1;
}

/* failchk every 100 ms, checkpoint every 2 s. After a panic a thread
 * blocked on a mutex the dead process held never returns from Berkeley DB,
 * so this thread (which is outside the library) ends the process if the
 * writing thread has not done so within a grace period. */
static void *writer_maintenance(void *arg)
{
    struct writer *w = arg;
    int ticks = 0;
    while (!*w->stop) {
        usleep(100000);
        if (store_must_exit(w->s) || store_failchk(w->s) == SALOG_E_RUNRECOVERY) {
            usleep(WRITER_GRACE_MS * 1000);
            fprintf(stderr, "writer %ld: writing thread stuck in the library: exiting\n",
                    (long)getpid());
            _exit(EXIT_MUST_EXIT_STUCK);
        }
        if (++ticks % 20 == 0)
            store_checkpoint(w->s);
    }
    return NULL;
}

static int writer_main(const char *data_dir, const char *out_dir)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = writer_on_term;
    sigaction(SIGTERM, &sa, NULL);

    char path[512];
    snprintf(path, sizeof path, "%s/ids.%ld", out_dir, (long)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return EXIT_OPEN_FAIL;

    int64_t t0 = mono_ms();
    store *s = NULL;
    salog_err err;
    salog_err_init(&err);
    salog_status st = store_open(&s, data_dir, true, &err);
    int64_t open_ms = mono_ms() - t0;
    if (st != SALOG_OK) {
        fprintf(stderr, "writer %ld: open failed after %lld ms: %s\n", (long)getpid(),
                (long long)open_ms, err.count ? err.items[0].detail : "?");
        close(fd);
        return st == SALOG_E_RUNRECOVERY ? EXIT_MUST_EXIT : EXIT_OPEN_FAIL;
    }
    fprintf(stderr, "writer %ld: open took %lld ms\n", (long)getpid(), (long long)open_ms);

    struct writer w = {.s = s, .stop = &writer_stop_flag};
    pthread_t maint;
    if (pthread_create(&maint, NULL, writer_maintenance, &w) != 0)
        return EXIT_OPEN_FAIL;

    const char *cfg[] = {"pci_abcdefghijklmnopqrstuvwxyz234567"};
    token_spec spec = {.name = "crash", .scopes = TOKEN_SCOPE_LOG, .config_ids = cfg,
                       .config_count = 1};
    long made = 0, failed = 0;
    while (!writer_stop_flag) {
        char secret[TOKEN_SECRET_LEN + 1];
        token_info info;
        salog_err_init(&err);
        st = tokens_create(s, &spec, secret, &info, &err);
        if (st == SALOG_OK) {
            char line[LINE_LEN + 1];
            snprintf(line, sizeof line, "%s %s\n", info.id, secret);
            if (write(fd, line, LINE_LEN) != LINE_LEN)
                fprintf(stderr, "writer %ld: short write\n", (long)getpid());
            token_info_clear(&info);
            made++;
        } else if (st == SALOG_E_RUNRECOVERY || store_must_exit(s)) {
            /* What the worker does: leave at once; the next opener recovers. */
            fprintf(stderr, "writer %ld: must exit after %ld tokens\n", (long)getpid(), made);
            _exit(EXIT_MUST_EXIT);
        } else {
            if (failed++ < 5)
                fprintf(stderr, "writer %ld: create failed: %s\n", (long)getpid(),
                        err.count ? err.items[0].detail : "?");
        }
        if (store_must_exit(s)) {
            fprintf(stderr, "writer %ld: must exit after %ld tokens\n", (long)getpid(), made);
            _exit(EXIT_MUST_EXIT);
        }
    }
    pthread_join(maint, NULL);
    store_close(s);
    close(fd);
    fprintf(stderr, "writer %ld: stopped cleanly after %ld tokens (%ld failures)\n",
            (long)getpid(), made, failed);
    return 0;
}

/* ---- parent ---- */

struct run {
    const char *data_dir;
    const char *out_dir;
    pid_t pids[MAX_WRITERS];
    int writers;
    long started, kills, must_exits, stuck_exits, open_fails, other_exits;
};

static pid_t run_spawn(struct run *r)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(writer_main(r->data_dir, r->out_dir));
    if (pid > 0)
        r->started++;
    return pid;
}

static void run_account(struct run *r, int status)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_MUST_EXIT)
        r->must_exits++;
    else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_MUST_EXIT_STUCK)
        r->stuck_exits++;
    else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_OPEN_FAIL)
        r->open_fails++;
    else if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
        r->other_exits++;
}

/* Replaces every writer that has exited on its own. */
static void run_reap(struct run *r)
{
    for (int i = 0; i < r->writers; i++) {
        int status;
        if (r->pids[i] > 0 && waitpid(r->pids[i], &status, WNOHANG) == r->pids[i]) {
            run_account(r, status);
            r->pids[i] = run_spawn(r);
        }
    }
}

/* Complete lines recorded so far (every line has the same length). */
static long run_count_lines(const char *out_dir)
{
    DIR *d = opendir(out_dir);
    if (!d)
        return 0;
    long total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "ids.", 4) != 0)
            continue;
        char p[512];
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", out_dir, e->d_name);
        if (stat(p, &sb) == 0)
            total += (long)(sb.st_size / LINE_LEN);
    }
    closedir(d);
    return total;
}

/* Authenticates every recorded secret; returns the number that failed. */
static long run_verify(const char *data_dir, const char *out_dir, long *checked, long *in_db)
{
    store *s = NULL;
    salog_err err;
    salog_err_init(&err);
    int64_t t0 = mono_ms();
    if (store_open(&s, data_dir, false, &err) != SALOG_OK) {
        fprintf(stderr, "verify: open failed: %s\n", err.count ? err.items[0].detail : "?");
        return -1;
    }
    printf("verify: open (with recovery when needed) took %lld ms\n",
           (long long)(mono_ms() - t0));
    long bad = 0;
    *checked = 0;
    DIR *d = opendir(out_dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "ids.", 4) != 0)
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", out_dir, e->d_name);
        FILE *f = fopen(p, "r");
        char line[LINE_LEN + 2];
        while (f && fgets(line, sizeof line, f)) {
            if (strlen(line) != LINE_LEN || line[LINE_LEN - 1] != '\n')
                continue; /* torn last line of a killed writer: never acknowledged */
            line[ID_LEN] = '\0';
            token_info info;
            salog_err_init(&err);
            if (tokens_authenticate(s, line + ID_LEN + 1, TOKEN_SECRET_LEN, time_now_us(), &info,
                                    &err) != SALOG_OK ||
                strcmp(info.id, line) != 0) {
                if (bad++ < 5)
                    fprintf(stderr, "verify: token %s does not authenticate\n", line);
            }
            token_info_clear(&info);
            (*checked)++;
        }
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    token_info *all = NULL;
    size_t n = 0;
    salog_err_init(&err);
    if (tokens_list(s, &all, &n, &err) == SALOG_OK) {
        for (size_t i = 0; i < n; i++)
            token_info_clear(&all[i]);
        free(all);
        *in_db = (long)n;
    } else {
        fprintf(stderr, "verify: tokens_list: %s\n", err.count ? err.items[0].detail : "?");
        *in_db = -1;
    }
    store_close(s);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s DIR SECONDS [WRITERS] [SEED]\n", argv[0]);
        return 2;
    }
    char data_dir[400], out_dir[400];
    snprintf(data_dir, sizeof data_dir, "%s/data", argv[1]);
    snprintf(out_dir, sizeof out_dir, "%s/out", argv[1]);
    int seconds = atoi(argv[2]);
    int writers = argc > 3 ? atoi(argv[3]) : 4;
    unsigned seed = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : (unsigned)time(NULL);
    if (seconds < 1 || writers < 2 || writers > MAX_WRITERS)
        return 2;
    if (mkdir(out_dir, 0700) != 0 && errno != EEXIST)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("kill test: %d writers, %d s, seed %u\n", writers, seconds, seed);

    struct run r = {.data_dir = data_dir, .out_dir = out_dir, .writers = writers};
    for (int i = 0; i < writers; i++)
        r.pids[i] = run_spawn(&r);

    int64_t start = mono_ms(), deadline = start + seconds * 1000LL;
    int64_t last_progress_at = start, max_stall = 0, next_kill = start + 300 + rand_r(&seed) % 1200;
    long last_total = 0;
    bool wedged = false;
    while (mono_ms() < deadline) {
        usleep(25000);
        run_reap(&r);
        int64_t now = mono_ms();
        long total = run_count_lines(out_dir);
        if (total > last_total) {
            if (now - last_progress_at > max_stall)
                max_stall = now - last_progress_at;
            last_total = total;
            last_progress_at = now;
        } else if (now - last_progress_at > STALL_LIMIT_MS) {
            wedged = true;
            break;
        }
        if (now >= next_kill) {
            int victim = (int)(rand_r(&seed) % (unsigned)writers);
            if (r.pids[victim] > 0) {
                int status;
                kill(r.pids[victim], SIGKILL);
                waitpid(r.pids[victim], &status, 0);
                run_account(&r, status);
                r.kills++;
            }
            r.pids[victim] = run_spawn(&r);
            next_kill = now + 300 + rand_r(&seed) % 1200;
        }
    }
    if (mono_ms() - last_progress_at > max_stall)
        max_stall = mono_ms() - last_progress_at;

    /* Stop: SIGTERM, then SIGKILL whoever has not left after 5 s. */
    for (int i = 0; i < writers; i++)
        if (r.pids[i] > 0)
            kill(r.pids[i], SIGTERM);
    int64_t stop_by = mono_ms() + 5000;
    long forced = 0;
    for (int i = 0; i < writers; i++) {
        if (r.pids[i] <= 0)
            continue;
        int status;
        while (waitpid(r.pids[i], &status, WNOHANG) == 0) {
            if (mono_ms() > stop_by) {
                if (getenv("KILL_WRITER_DEBUG")) {
                    char cmd[128];
                    snprintf(cmd, sizeof cmd,
                             "gdb -p %ld -batch -ex 'thread apply all bt' >&2 2>/dev/null",
                             (long)r.pids[i]);
                    if (system(cmd) != 0)
                        fprintf(stderr, "gdb failed\n");
                }
                kill(r.pids[i], SIGKILL);
                waitpid(r.pids[i], &status, 0);
                forced++;
                break;
            }
            usleep(10000);
        }
    }
    double elapsed = (double)(mono_ms() - start) / 1000.0;
    long recorded = run_count_lines(out_dir);
    long checked = 0, in_db = 0;
    long bad = run_verify(data_dir, out_dir, &checked, &in_db);

    printf("writers started: %ld (initial %d), SIGKILLs: %ld, must-exit exits: %ld (of which "
           "forced by the maintenance thread, writer stuck in BDB: %ld), open failures: %ld, "
           "other exits: %ld, stuck at stop: %ld\n",
           r.started, writers, r.kills, r.must_exits + r.stuck_exits, r.stuck_exits,
           r.open_fails, r.other_exits, forced);
    printf("tokens acknowledged: %ld in %.1f s (%.0f/s), in the database: %ld, longest stall: "
           "%lld ms%s\n",
           recorded, elapsed, recorded / elapsed, in_db, (long long)max_stall,
           wedged ? " (WEDGED)" : "");
    printf("verified: %ld, failed: %ld\n", checked, bad);
    bool pass = !wedged && bad == 0 && checked == recorded && checked > 0 && in_db >= checked &&
                forced == 0;
    printf("%s\n", pass ? "PASS" : "FAIL");
    return pass ? 0 : 1;
}
