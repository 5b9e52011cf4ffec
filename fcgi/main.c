/* bin/salog.fcgi: the FastCGI worker (API.md I.9).
 *
 * Launch modes: started by a web server or spawn-fcgi with the listen socket
 * on fd 0 (lighttpd bin-path, mod_fcgid, spawn-fcgi), or with
 * `--listen ADDR` (host:port or a unix socket path) for mod_proxy_fcgi and
 * tests. SALOG_THREADS request threads share the socket; SALOG_WORKERS=N
 * turns the process into a supervisor that keeps N forked workers alive on
 * the same socket.
 *
 * Shutdown (PLATFORM.md G2): request threads block SIGTERM/SIGINT; the main
 * thread sigwaits, sets FCGX_ShutdownPending and wakes each thread blocked
 * in accept with SIGUSR2 (handler installed without SA_RESTART). */
#include <errno.h>
#include <fcgiapp.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec/timefmt.h"
#include "fcgi/app.h"
#include "fcgi/duties.h"
#include "fcgi/http.h"

#define READ_CHUNK 65536
#define DUTY_NICE 10 /* the duty thread's nice value */

typedef struct worker {
    app app;
    int listen_fd;
    pthread_t *threads;
    int thread_count;
    pthread_t main_thread;
    pthread_t duty_thread;
    pthread_t watch_thread;
    atomic_bool stopping;
    atomic_int exit_code;
} worker;

static void on_wake(int sig)
{
    (void)sig; /* only interrupts accept() */
}

/* Asks the whole process to stop (from any thread). */
static void worker_request_stop(worker *w, int exit_code)
{
    if (exit_code)
        atomic_store(&w->exit_code, exit_code);
    if (!atomic_exchange(&w->stopping, true))
        pthread_kill(w->main_thread, SIGTERM);
}

static const char *param(FCGX_Request *r, const char *name)
{
    return FCGX_GetParam(name, r->envp);
}

static int parse_length(const char *s, size_t *out)
{
    if (!s || !*s)
        return -1;
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || n > (SIZE_MAX - 9) / 10)
            return -1;
        n = n * 10 + (size_t)(*p - '0');
    }
    *out = n;
    return 0;
}

/* Reads up to `len` body bytes; returns the buffer (caller frees) and the
 * count read in *got. NULL only on allocation failure. */
static char *read_body(FCGX_Request *r, size_t len, size_t *got)
{
    char *buf = malloc(len ? len : 1);
    *got = 0;
    if (!buf)
        return NULL;
    while (*got < len) {
        size_t want = len - *got;
        int n = FCGX_GetStr(buf + *got, want > READ_CHUNK ? READ_CHUNK : (int)want, r->in);
        if (n <= 0)
            break;
        *got += (size_t)n;
    }
    return buf;
}

/* libfcgi does not discard unread stdin; leftovers break kept connections (G6). */
static void drain_input(FCGX_Request *r)
{
    char sink[4096];
    while (FCGX_GetStr(sink, sizeof sink, r->in) > 0) {
    }
}

/* A download: the headers, then the already opened file, streamed. */
static void write_file_reply(FCGX_Request *r, const http_reply *reply)
{
    char head[1024], buf[65536];
    int n = snprintf(head, sizeof head, "Status: 200 OK\r\nContent-Type: %s\r\nContent-Length: %lld\r\n%s%s%s%s\r\n",
                     reply->content_type, reply->file_size, reply->request_id[0] ? "x-request-id: " : "",
                     reply->request_id, reply->request_id[0] ? "\r\n" : "", reply->extra_headers);
    if (n < 0 || (size_t)n >= sizeof head)
        return;
    FCGX_PutStr(head, n, r->out);
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, reply->file)) > 0)
        if (FCGX_PutStr(buf, (int)got, r->out) < 0)
            break;
}

static void write_reply(FCGX_Request *r, const http_reply *reply)
{
    char head[1024];
    if (reply->file) {
        write_file_reply(r, reply);
        return;
    }
    /* snprintf, not FCGX_FPrintF: libfcgi's printf has no %zu (G1). */
    int n = snprintf(head, sizeof head,
                     "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s%s%s\r\n",
                     reply->http_status, salog_status_reason(reply->http_status), reply->content_type,
                     reply->body.len, reply->request_id[0] ? "x-request-id: " : "", reply->request_id,
                     reply->request_id[0] ? "\r\n" : "", reply->extra_headers);
    if (n < 0 || (size_t)n >= sizeof head)
        n = snprintf(head, sizeof head, "Status: 500 Internal Server Error\r\nContent-Type: %s\r\n\r\n",
                     reply->content_type);
    FCGX_PutStr(head, n, r->out);
    if (reply->body.len)
        FCGX_PutStr(reply->body.data, (int)reply->body.len, r->out);
}

static void serve_one(worker *w, FCGX_Request *r)
{
    app *a = &w->app;
    http_request req = {0};
    http_reply reply;
    char path[2048];
    char *body = NULL;

    http_reply_init(&reply);
    req.method = param(r, "REQUEST_METHOD");
    const char *uri = param(r, "REQUEST_URI");
    if (http_route_path(uri ? uri : "/", a->settings.prefix, path, sizeof path) != 0)
        snprintf(path, sizeof path, "%s", "(outside prefix)");
    req.path = path;
    req.content_type = param(r, "CONTENT_TYPE");
    req.accept = param(r, "HTTP_ACCEPT");
    req.authorization = param(r, "HTTP_AUTHORIZATION");
    req.host = param(r, "HTTP_HOST");
    const char *https = param(r, "HTTPS");
    req.https = https && (strcmp(https, "on") == 0 || strcmp(https, "1") == 0);
    req.prefix = a->settings.prefix;
    req.has_content_length = parse_length(param(r, "CONTENT_LENGTH"), &req.content_length) == 0;
    if (req.has_content_length && req.content_length > 0 && req.content_length <= a->settings.max_body) {
        body = read_body(r, req.content_length, &req.body_len);
        req.body = body;
        req.body_unreadable = body == NULL;
    }
    drain_input(r);
    app_handle(a, &req, &reply);
    write_reply(r, &reply);
    http_reply_free(&reply);
    free(body);
    if (store_must_exit(a->store)) {
        fprintf(stderr, "salog.fcgi[%d]: storage needs recovery; exiting so a fresh worker recovers\n",
                (int)getpid());
        worker_request_stop(w, 3);
    }
}

static void *request_thread(void *arg)
{
    worker *w = arg;
    FCGX_Request r;
    if (FCGX_InitRequest(&r, w->listen_fd, 0) != 0)
        return NULL;
    while (!atomic_load(&w->stopping)) {
        int rc = FCGX_Accept_r(&r);
        if (rc < 0) {
            if (atomic_load(&w->stopping))
                break;
            if (rc == -EINTR || rc == -4)
                continue;
            fprintf(stderr, "salog.fcgi[%d]: accept failed (%d); stopping\n", (int)getpid(), rc);
            worker_request_stop(w, 1);
            break;
        }
        serve_one(w, &r);
        FCGX_Finish_r(&r);
    }
    FCGX_Free(&r, 1);
    return NULL;
}

/* Frees what dead processes hold (store_watch: failchk only once one has
 * died), at normal priority: while failchk runs, Berkeley DB makes every
 * thread of this process that waits for a shared mutex spin (trylock +
 * is_alive) instead of sleeping, and a niced failchk would be preempted by
 * those spinning threads. */
static void *watch_thread(void *arg)
{
    worker *w = arg;
    unsigned tick = 0;
    while (!atomic_load(&w->stopping)) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (++tick % 5 == 0 && store_watch(w->app.store) == SALOG_E_RUNRECOVERY) {
            fprintf(stderr, "salog.fcgi[%d]: failchk asks for recovery; exiting\n", (int)getpid());
            worker_request_stop(w, 3);
            break;
        }
        if (store_must_exit(w->app.store)) {
            worker_request_stop(w, 3);
            break;
        }
    }
    return NULL;
}

/* Background duties (API.md I.4): checkpoint the log so recovery stays
 * short, seal checkpoints of the trees, keep the search index. */
static void *duty_thread(void *arg)
{
    worker *w = arg;
    unsigned tick = 0;
    /* Logging comes first: the duties (search indexing above all) get the CPU
     * the request threads leave. Linux applies nice per thread. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), DUTY_NICE) != 0)
        fprintf(stderr, "salog.fcgi[%d]: cannot lower the duty thread's priority\n", (int)getpid());
    duty_clock clock = {.next_publish_us = time_now_us() + (int64_t)w->app.settings.publish_interval_s * 1000000};
    while (!atomic_load(&w->stopping)) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (store_must_exit(w->app.store))
            break;
        if (++tick % 150 == 0)
            store_checkpoint(w->app.store);
        duties_tick(w->app.store, w->app.settings.publish_interval_s, w->app.settings.search_indexing, &w->stopping,
                    &clock, time_now_us());
    }
    return NULL;
}

static int worker_run(worker *w)
{
    salog_err err;
    salog_err_init(&err);
    if (store_open(&w->app.store, w->app.settings.data_dir, false, &err) != SALOG_OK) {
        fprintf(stderr, "salog.fcgi[%d]: cannot open %s: %s\n", (int)getpid(), w->app.settings.data_dir,
                err.count ? err.items[0].detail : "unknown error");
        return 1;
    }
    w->main_thread = pthread_self();
    w->thread_count = w->app.settings.threads;
    w->threads = calloc((size_t)w->thread_count, sizeof *w->threads);
    if (!w->threads) {
        store_close(w->app.store);
        return 1;
    }

    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);

    int started = 0;
    for (; started < w->thread_count; started++)
        if (pthread_create(&w->threads[started], NULL, request_thread, w) != 0)
            break;
    bool duty = pthread_create(&w->duty_thread, NULL, duty_thread, w) == 0;
    bool watch = pthread_create(&w->watch_thread, NULL, watch_thread, w) == 0;
    if (!watch)
        fprintf(stderr, "salog.fcgi[%d]: cannot start the watch thread: no failchk in this worker\n", (int)getpid());

    int sig = 0;
    sigwait(&stop_set, &sig);
    atomic_store(&w->stopping, true);
    FCGX_ShutdownPending();
    for (int i = 0; i < started; i++)
        pthread_kill(w->threads[i], SIGUSR2);
    /* After a Berkeley DB panic a thread can stay blocked inside the library
     * for good (measured by tests/crash): joins are bounded, and a worker
     * that cannot stop cleanly leaves at once; its launcher starts a fresh
     * one, whose open recovers. In-flight requests get the grace period. */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += atomic_load(&w->exit_code) == 3 ? 2 : 10;
    bool clean = true;
    for (int i = 0; i < started; i++)
        clean = pthread_timedjoin_np(w->threads[i], NULL, &deadline) == 0 && clean;
    if (duty)
        clean = pthread_timedjoin_np(w->duty_thread, NULL, &deadline) == 0 && clean;
    if (watch)
        clean = pthread_timedjoin_np(w->watch_thread, NULL, &deadline) == 0 && clean;
    if (!clean) {
        fprintf(stderr, "salog.fcgi[%d]: leaving without closing the environment (threads blocked)\n",
                (int)getpid());
        _exit(3);
    }
    /* Closing unregisters this process (DB_REGISTER): a worker that leaves
     * after a panic without closing looks dead to the next opener, whose
     * recovery would panic the live workers in turn — under mod_fcgid's
     * on-demand spawning that cascade does not stop by itself. The alarm
     * bounds a close that blocks in a panicked environment. */
    alarm(5);
    store_close(w->app.store);
    alarm(0);
    free(w->threads);
    /* A panicked environment cannot free its own region state: leave at once
     * rather than run exit handlers over it. */
    if (atomic_load(&w->exit_code) == 3)
        _exit(3);
    return atomic_load(&w->exit_code);
}

/* SALOG_WORKERS=N: fork N workers on the inherited socket and re-fork any
 * that exits, until SIGTERM/SIGINT, which is passed on to every worker. */
static int supervise(worker *w)
{
    int n = w->app.settings.workers;
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    if (!pids)
        return 1;
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);
    bool stopping = false;
    for (;;) {
        for (int i = 0; i < n && !stopping; i++) {
            if (pids[i] > 0)
                continue;
            pid_t pid = fork();
            if (pid == 0) {
                free(pids);
                sigprocmask(SIG_SETMASK, &old, NULL);
                w->app.settings.workers = 0;
                _exit(worker_run(w));
            }
            if (pid > 0)
                pids[i] = pid;
        }
        int alive = 0;
        for (int i = 0; i < n; i++)
            alive += pids[i] > 0;
        if (stopping && alive == 0)
            break;
        int sig = 0;
        sigwait(&set, &sig);
        if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
            stopping = true;
            for (int i = 0; i < n; i++)
                if (pids[i] > 0)
                    kill(pids[i], SIGTERM);
        }
        pid_t dead;
        int status;
        while ((dead = waitpid(-1, &status, WNOHANG)) > 0) {
            for (int i = 0; i < n; i++)
                if (pids[i] == dead) {
                    pids[i] = 0;
                    if (!stopping)
                        fprintf(stderr, "salog.fcgi: worker %d ended (status %d); starting another\n",
                                (int)dead, status);
                }
        }
        if (!stopping) {
            struct timespec ts = {0, 100 * 1000 * 1000}; /* no fork storm if workers die at once */
            nanosleep(&ts, NULL);
        }
    }
    free(pids);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: salog.fcgi [--listen HOST:PORT|/path/to.sock]\n"
                    "  without --listen the FastCGI socket is fd 0 (lighttpd, mod_fcgid, spawn-fcgi)\n"
                    "  environment: SALOG_DATA SALOG_THREADS SALOG_WORKERS SALOG_PREFIX SALOG_PUBLISH_INTERVAL\n");
}

int main(int argc, char **argv)
{
    worker w;
    memset(&w, 0, sizeof w);
    umask(007);
#ifdef M_MXFAST
    /* No fastbins: with them, glibc consolidates them on every allocation
     * of 1 KB or more (a request's buffers), about a tenth of a worker's
     * CPU under /v1/log; small chunks still come from the per-thread
     * cache. Measured through lighttpd, six alternating pairs of /v1/log
     * at 16 connections: 5,352 against 4,944 req/s on average. */
    (void)mallopt(M_MXFAST, 0);
#endif
    app_settings_from_env(&w.app.settings);

    if (FCGX_Init() != 0) {
        fprintf(stderr, "salog.fcgi: FCGX_Init failed\n");
        return 1;
    }
    w.listen_fd = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            w.listen_fd = FCGX_OpenSocket(argv[++i], 128);
            if (w.listen_fd < 0) {
                fprintf(stderr, "salog.fcgi: cannot listen on %s\n", argv[i]);
                return 1;
            }
        } else {
            usage();
            return 2;
        }
    }
    if (w.listen_fd == 0) {
        int type;
        socklen_t len = sizeof type;
        if (getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
            usage();
            return 2;
        }
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_wake; /* no SA_RESTART: wakes threads blocked in accept */
    sigaction(SIGUSR2, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (w.app.settings.workers > 0)
        return supervise(&w);
    return worker_run(&w);
}
