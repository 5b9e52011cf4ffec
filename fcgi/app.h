/* The worker's one context: settings from the environment (API.md I.9) and
 * the open store. Shared read-only by every request thread; the store is
 * thread-safe (DB_THREAD). */
#ifndef SALOG_APP_H
#define SALOG_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fcgi/http.h"
#include "model/store.h"

typedef struct app_settings {
    const char *data_dir;        /* SALOG_DATA, default "./var" */
    const char *prefix;          /* SALOG_PREFIX, default "" */
    int threads;                 /* SALOG_THREADS, default 4 */
    int workers;                 /* SALOG_WORKERS, 0 = no supervisor */
    int publish_interval_s;      /* SALOG_PUBLISH_INTERVAL, default 60 */
    size_t max_body;             /* SALOG_MAX_BODY, default 1 MiB */
    int max_depth;               /* SALOG_MAX_DEPTH, default 32 */
    bool search_indexing;        /* SALOG_SEARCH_INDEX=off stops the index duty (searches then scan) */
} app_settings;

typedef struct app {
    app_settings settings;
    store *store;
} app;

/* Reads settings from the environment; invalid numbers fall back to the
 * defaults and are reported on stderr. */
void app_settings_from_env(app_settings *s);

/* Handles one request end to end, filling `reply` (always an envelope, or a
 * published document). Never fails: errors become error envelopes. */
void app_handle(app *a, const http_request *req, http_reply *reply);

#endif
