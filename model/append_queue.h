/* Group commit of appends from the threads of one process.
 *
 * A durable append costs one transaction on the tree head (a lock every
 * appender of the tree waits for) and one log flush (an fdatasync). When
 * many request threads append at once, the first becomes the leader: it
 * takes every queued request for the same tree, appends them in one
 * transaction (auditlog_append_groups) and one flush, and hands each caller
 * its own result: its leaves, and the root at the end of its own batch. The
 * threads that queued meanwhile form the next group. Nothing is delayed to
 * wait for company: a lone request is appended at once.
 *
 * A failed group (a storage error) fails every request in it with that
 * error; when the cause may be one request's own data (a validation error)
 * each request of the group is appended again on its own, so one bad
 * request never fails another.
 *
 * The queue belongs to the store (store_open creates it, store_close frees
 * it after every caller returned). */
#ifndef SALOG_APPEND_QUEUE_H
#define SALOG_APPEND_QUEUE_H

#include <stdbool.h>

#include "model/auditlog.h"

typedef struct append_queue append_queue;

/* NULL when out of memory. */
append_queue *append_queue_new(void);
void append_queue_free(append_queue *q);

/* auditlog_append through the store's queue: same contract, result and
 * errors. out->root is the root at the end of this caller's batch when
 * want_root is set, zeros otherwise (see auditlog_append_groups). */
salog_status append_queue_submit(store *s, const char *config_id, const log_item *items, size_t count,
                                 bool want_root, log_append_result *out, salog_err *err);

#endif
