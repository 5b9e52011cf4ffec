#include "fcgi/duties.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "model/auditlog.h"
#include "model/configs.h"

int duties_publish_all(store *s)
{
    salog_err err;
    salog_err_init(&err);
    char **ids = NULL;
    size_t count = 0;
    int sealed = 0;
    if (configs_all_ids(s, &ids, &count, &err) != SALOG_OK) {
        fprintf(stderr, "salog.fcgi[%d]: publish: %s\n", (int)getpid(), err.count ? err.items[0].detail : "?");
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        uint64_t size = 0;
        salog_err_init(&err);
        if (auditlog_publish(s, ids[i], &size, &err) != SALOG_OK) {
            fprintf(stderr, "salog.fcgi[%d]: publish %s: %s\n", (int)getpid(), ids[i],
                    err.count ? err.items[0].detail : "?");
            sealed = -1;
        } else if (size > 0 && sealed >= 0) {
            sealed++;
        }
        free(ids[i]);
    }
    free(ids);
    return sealed;
}

void duties_tick(store *s, int publish_interval_s, duty_clock *clock, int64_t now_us)
{
    int64_t interval = (int64_t)publish_interval_s * 1000000;
    if (now_us < clock->next_publish_us)
        return;
    clock->next_publish_us = now_us + interval;
    /* The lease outlives one interval so a live holder keeps it. */
    if (lease_acquire(s, "publish", now_us, 3 * interval))
        duties_publish_all(s);
}
