/* Background duties of the worker processes (API.md I.4): a lease record
 * makes sure one worker at a time does each; another takes over when the
 * holder dies or stops renewing. */
#ifndef SALOG_DUTIES_H
#define SALOG_DUTIES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "model/store.h"

#define DUTY_INDEX_PERIOD_US 200000      /* search indexing: every tick */
#define DUTY_INDEX_BATCH 2000             /* events indexed per tick at most */
#define DUTY_EXPORT_PERIOD_US 1000000     /* export jobs */
#define DUTY_EXPIRE_PERIOD_US 60000000    /* expiry of result sets and downloads */

typedef struct duty_clock {
    int64_t next_publish_us;
    int64_t next_index_us;
    int64_t next_export_us;
    int64_t next_expire_us;
} duty_clock;

/* Called about every 200 ms from the duty thread; runs what is due. */
/* `stopping` is the worker's stop flag: long duties (exports) check it
 * between chunks so that a shutdown never waits for them. */
void duties_tick(store *s, int publish_interval_s, bool search_indexing, const atomic_bool *stopping,
                 duty_clock *clock, int64_t now_us);

/* Seals a checkpoint for every config whose tree grew; returns the number
 * sealed, or -1 on a storage error (reported on stderr). */
int duties_publish_all(store *s);

#endif
