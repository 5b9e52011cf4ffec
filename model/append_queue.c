/* Group commit of appends (append_queue.h). */
#include "model/append_queue.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model/store_internal.h"

/* A group never exceeds the largest /v2/log batch: its page locks must stay
 * within the lock table sized for such batches (store.c). */
#define AQ_MAX_EVENTS 1000

/* One caller's request; lives on the caller's stack until it is done. */
typedef struct aq_request {
    const char *config_id;
    const log_item *items;
    size_t count;
    bool want_root;
    log_append_result *out;
    salog_err *err;
    salog_status st;
    bool done;                    /* appended (or failed): out, err, st are set */
    bool lead;                    /* this thread is to lead the next group */
    /* Posted exactly once for a queued request: when it is done, or when it
     * is to lead (set under mu, read after the wait). The thread that posts
     * reads nothing of the request afterwards: it may be gone. */
    sem_t wake;
    struct aq_request *next;      /* queue order */
    struct aq_request *group_next;
} aq_request;

struct append_queue {
    pthread_mutex_t mu;
    aq_request *head, *tail;
    /* A thread leads, or has been told to: leadership passes from the
     * leader straight to the queue's head, so a thread arriving meanwhile
     * cannot take the head's request into a group of its own. */
    bool leading;
};

append_queue *append_queue_new(void)
{
    append_queue *q = calloc(1, sizeof *q);
    if (q && pthread_mutex_init(&q->mu, NULL) != 0) {
        free(q);
        q = NULL;
    }
    return q;
}

void append_queue_free(append_queue *q)
{
    if (!q)
        return;
    pthread_mutex_destroy(&q->mu);
    free(q);
}

/* Takes the queue head and every later request for the same tree, in queue
 * order, while the group stays within AQ_MAX_EVENTS. Called with mu held. */
static aq_request *aq_take_group(append_queue *q, size_t *requests)
{
    aq_request *first = q->head, *last = first, *prev = NULL;
    size_t events = first->count;
    q->head = first->next;
    if (!q->head)
        q->tail = NULL;
    first->group_next = NULL;
    *requests = 1;
    for (aq_request *r = q->head; r;) {
        aq_request *next = r->next;
        if (strcmp(r->config_id, first->config_id) == 0 && events + r->count <= AQ_MAX_EVENTS) {
            if (prev)
                prev->next = next;
            else
                q->head = next;
            if (q->tail == r)
                q->tail = prev;
            r->group_next = NULL;
            last->group_next = r;
            last = r;
            events += r->count;
            (*requests)++;
        } else {
            prev = r;
        }
        r = next;
    }
    return first;
}

/* One request in its own transaction (flushed with its group). */
static void aq_run_alone(store *s, aq_request *r)
{
    uint8_t root[1][MERKLE_HASH_LEN];
    size_t end = r->count;
    r->st = auditlog_append_groups(s, r->config_id, r->items, r->count, &end, &r->want_root, 1, root, r->out,
                                   r->err);
}

/* Makes the group's appends durable; a failed flush fails every request
 * that had succeeded (its events are not known to be durable). */
static void aq_flush_group(store *s, aq_request *group)
{
    salog_err ferr;
    salog_err_init(&ferr);
    salog_status st = auditlog_flush(s, &ferr);
    if (st == SALOG_OK)
        return;
    for (aq_request *r = group; r; r = r->group_next)
        if (r->st == SALOG_OK) {
            auditlog_append_result_clear(r->out);
            r->st = st;
            *r->err = ferr;
        }
}

/* Appends a group of requests for one tree (committed, not yet flushed);
 * fills each request's st, out and err. Every per-request allocation
 * happens before the append, so events that became durable are always
 * reported as logged. */
static void aq_run_group(store *s, aq_request *group, size_t requests)
{
    log_item *items = NULL;
    size_t *ends = NULL, total = 0, k = 0;
    bool *wants = NULL;
    uint8_t (*roots)[MERKLE_HASH_LEN] = NULL;
    log_append_result all = {0};
    salog_err gerr;
    salog_status st;

    if (requests == 1) {
        aq_run_alone(s, group);
        return;
    }
    for (aq_request *r = group; r; r = r->group_next)
        total += r->count;
    items = malloc(total * sizeof *items);
    ends = malloc(requests * sizeof *ends);
    roots = malloc(requests * sizeof *roots);
    wants = malloc(requests * sizeof *wants);
    bool ready = items && ends && roots && wants;
    for (aq_request *r = group; r; r = r->group_next) {
        memset(r->out, 0, sizeof *r->out);
        r->out->items = ready ? calloc(r->count, sizeof *r->out->items) : NULL;
        if (!r->out->items)
            ready = false;
    }
    if (!ready) {
        /* Short of memory: no sharing, each request on its own. */
        for (aq_request *r = group; r; r = r->group_next) {
            free(r->out->items);
            r->out->items = NULL;
            aq_run_alone(s, r);
        }
        goto out;
    }
    for (aq_request *r = group; r; r = r->group_next) {
        memcpy(items + (k ? ends[k - 1] : 0), r->items, r->count * sizeof *items);
        ends[k] = (k ? ends[k - 1] : 0) + r->count;
        wants[k] = r->want_root;
        k++;
    }
    salog_err_init(&gerr);
    st = auditlog_append_groups(s, group->config_id, items, total, ends, wants, requests, roots, &all, &gerr);
    if (st != SALOG_OK) {
        /* Nothing was appended (auditlog_append_groups fails only before or
         * inside its transaction), and the cause may be one request's own
         * events: let each request succeed or fail by itself. */
        for (aq_request *r = group; r; r = r->group_next) {
            free(r->out->items);
            r->out->items = NULL;
            aq_run_alone(s, r);
        }
        goto out;
    }
    k = 0;
    for (aq_request *r = group; r; r = r->group_next, k++) {
        size_t start = k ? ends[k - 1] : 0;
        r->st = SALOG_OK;
        /* Move this request's slice of the shared result. */
        for (size_t i = 0; i < r->count; i++) {
            r->out->items[i] = all.items[start + i];
            all.items[start + i].envelope = NULL;
        }
        r->out->count = r->count;
        r->out->tree_size = all.tree_size - total + ends[k];
        memcpy(r->out->root, roots[k], MERKLE_HASH_LEN);
    }
out:
    auditlog_append_result_clear(&all);
    free(items);
    free(ends);
    free(wants);
    free(roots);
}

salog_status append_queue_submit(store *s, const char *config_id, const log_item *items, size_t count,
                                 bool want_root, log_append_result *out, salog_err *err)
{
    append_queue *q = s->append_queue;
    aq_request me = {.config_id = config_id, .items = items, .count = count, .want_root = want_root, .out = out,
                     .err = err};

    memset(out, 0, sizeof *out);
    if (!q || !config_id || count == 0 || count > AQ_MAX_EVENTS || sem_init(&me.wake, 0, 0) != 0)
        return auditlog_append(s, config_id, items, count, out, err);
    pthread_mutex_lock(&q->mu);
    if (q->tail)
        q->tail->next = &me;
    else
        q->head = &me;
    q->tail = &me;
    bool lead_now = !q->leading; /* the queue was empty: ours is the head */
    if (lead_now) {
        q->leading = true;
        me.lead = true;
    }
    pthread_mutex_unlock(&q->mu);
    /* Otherwise woken once: done by another thread's group, or told to
     * lead. The waiters never touch the mutex after the leader's commit,
     * so the leader's wake-ups do not queue them up on it. */
    if (!lead_now)
        while (sem_wait(&me.wake) != 0 && errno == EINTR) {
        }
    if (me.lead) {
        /* Lead the head's group (the head is our request). */
        pthread_mutex_lock(&q->mu);
        size_t requests = 0;
        aq_request *group = aq_take_group(q, &requests);
        pthread_mutex_unlock(&q->mu);
        aq_run_group(s, group, requests);
        /* Leadership is kept through the flush: the requests that arrive
         * meanwhile make the next group, one transaction and one fdatasync
         * for all of them. Handing it on at the commit instead let the next
         * group start while this one waited for the disk, but made smaller
         * groups and more flushes: /v1/log at 16 connections through
         * lighttpd, 1 worker x 16 threads, five alternating runs each:
         * 0.367 x the no-op floor against 0.342. (Other processes' flushes
         * still share fdatasyncs with ours inside Berkeley DB.) */
        aq_flush_group(s, group);
        pthread_mutex_lock(&q->mu);
        aq_request *next_leader = q->head;
        if (next_leader)
            next_leader->lead = true; /* q->leading stays set for it */
        else
            q->leading = false;
        for (aq_request *r = group; r; r = r->group_next)
            r->done = true;
        pthread_mutex_unlock(&q->mu);
        /* The next leader is posted last. The group's wake-ups before it
         * take about 220 us of a 1,260 us cycle (each woken thread may
         * preempt this one), and the requests that arrive meanwhile join
         * the next group. Posting the next leader first made groups of
         * 5.9-6.8 requests instead of 7.5-7.8, more flushes, and a lower
         * /v1/log@16: 0.372-0.448 x the floor against 0.430-0.514 in four
         * alternating pairs through lighttpd. */
        for (aq_request *r = group, *next; r; r = next) {
            next = r->group_next; /* r may be gone once it is posted */
            if (r != &me)
                sem_post(&r->wake);
        }
        if (next_leader)
            sem_post(&next_leader->wake);
    }
    sem_destroy(&me.wake);
    return me.st;
}
