#include "fcgi/duties.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "model/auditlog.h"
#include "model/configs.h"
#include "model/exports.h"
#include "model/search.h"

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

static void report(const char *duty, const salog_err *err)
{
    fprintf(stderr, "salog.fcgi[%d]: %s: %s\n", (int)getpid(), duty, err->count ? err->items[0].detail : "?");
}

static bool stop_requested(void *ctx)
{
    return atomic_load((const atomic_bool *)ctx);
}

void duties_tick(store *s, int publish_interval_s, bool search_indexing, const atomic_bool *stopping,
                 duty_clock *clock, int64_t now_us)
{
    salog_err err;
    int64_t interval = (int64_t)publish_interval_s * 1000000;
    /* Search indexing runs behind the appends; a search also scans what is
     * not indexed yet, so a short lag is harmless. */
    if (search_indexing && now_us >= clock->next_index_us) {
        size_t indexed = 0;
        salog_err_init(&err);
        clock->next_index_us = now_us + DUTY_INDEX_PERIOD_US;
        if (lease_acquire(s, "index", now_us, 10 * DUTY_INDEX_PERIOD_US) &&
            search_index_catch_up(s, DUTY_INDEX_BATCH, &indexed, &err) != SALOG_OK)
            report("search index", &err);
    }
    if (now_us >= clock->next_export_us) {
        size_t ran = 0;
        salog_err_init(&err);
        clock->next_export_us = now_us + DUTY_EXPORT_PERIOD_US;
        if (lease_acquire(s, "export", now_us, 60 * DUTY_EXPORT_PERIOD_US) &&
            exports_run_pending(s, 1, stop_requested, (void *)stopping, &ran, &err) != SALOG_OK)
            report("export", &err);
    }
    if (now_us >= clock->next_expire_us) {
        size_t removed = 0;
        salog_err_init(&err);
        clock->next_expire_us = now_us + DUTY_EXPIRE_PERIOD_US;
        if (lease_acquire(s, "expire", now_us, 3 * DUTY_EXPIRE_PERIOD_US)) {
            if (search_expire(s, now_us, &removed, &err) != SALOG_OK)
                report("expire result sets", &err);
            salog_err_init(&err);
            if (downloads_expire(s, now_us, &removed, &err) != SALOG_OK)
                report("expire downloads", &err);
            salog_err_init(&err);
            if (requests_expire(s, now_us, &removed, &err) != SALOG_OK)
                report("expire async results", &err);
        }
    }
    if (now_us < clock->next_publish_us)
        return;
    clock->next_publish_us = now_us + interval;
    /* The lease outlives one interval so a live holder keeps it. */
    if (lease_acquire(s, "publish", now_us, 3 * interval))
        duties_publish_all(s);
}
