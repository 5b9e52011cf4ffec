/* Download files and export jobs (API.md I.5, I.7, II §2.8, §2.9, §5.6).
 *
 * A download is a gzip file (zlib) written durably under DATA/downloads/
 * (temp file, fsync, rename, fsync the directory), named by a random token
 * of 32 [a-z2-7] characters that the dest_url carries; it is served without
 * Authorization until it expires. Formats: `json` = one JSON array of
 * search events; `csv` = RFC 4180 with a header row of received_at, the
 * schema's field ids in schema order, hash, published, leaf_index,
 * membership_proof (CRLF line ends; fields holding a comma, quote, CR or LF
 * are quoted, quotes doubled; absent values empty).
 *
 * An export job is stored pending and run by a background duty: it writes
 * every event of the config in [start, end] (received_at) in the asked
 * order as a download, then marks the job done. */
#ifndef SALOG_EXPORTS_H
#define SALOG_EXPORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/error.h"
#include "codec/value.h"
#include "model/ids.h"
#include "model/store.h"

#define DOWNLOAD_TOKEN_LEN 32

typedef enum export_format { EXPORT_CSV, EXPORT_JSON } export_format;

/* Writes `events` (array of search events, borrowed; see search_events.h)
 * with `schema` (the config's AuditSchema, for the CSV columns) as a gzip
 * download kept until expires_us. `file_name` (e.g.
 * "search_results_pas_….csv.gz") is what the URL ends with. */
salog_status downloads_create(store *s, const sv_value *events, const sv_value *schema, export_format format,
                              const char *file_name, int64_t expires_us, char token[DOWNLOAD_TOKEN_LEN + 1],
                              salog_err *err);

/* The file of a live download: *path and *file_name caller-owned,
 * *expires_us when it stops being served. Unknown or expired token ->
 * SALOG_E_NOT_FOUND. */
salog_status downloads_open(store *s, const char *token, char **path, char **file_name, int64_t *expires_us,
                            salog_err *err);

/* Deletes expired downloads (files and records); *removed gets the count. */
salog_status downloads_expire(store *s, int64_t now_us, size_t *removed, salog_err *err);

typedef struct export_job {
    char request_id[ID_LEN + 1];     /* prq_… of the /v1/export request */
    char token_id[ID_LEN + 1];       /* who may poll and download it */
    char config_id[ID_LEN + 1];
    export_format format;
    int64_t start_us, end_us;
    bool descending;
    char order_by[64];               /* "received_at" or a field id */
    bool verbose;
    sv_value *token_restriction;     /* owned copy or NULL: {field: [values]} */
    int64_t expires_us;              /* when the job and its download are forgotten */
    char base_url[512];              /* "http(s)://host[/prefix]" of the request, for checkpoint urls */
} export_job;

void export_job_clear(export_job *j);

/* Stores a pending job. */
salog_status exports_enqueue(store *s, const export_job *job, salog_err *err);

typedef enum export_state { EXPORT_PENDING, EXPORT_DONE, EXPORT_FAILED } export_state;

/* State of the job of request_id (NOT_FOUND when unknown or expired); when
 * done, *download_token gets its download; when failed, *detail (caller
 * frees) says why. *token_id gets the owner. */
salog_status exports_status(store *s, const char *request_id, export_state *state,
                            char token_id[ID_LEN + 1], char download_token[DOWNLOAD_TOKEN_LEN + 1],
                            char **detail, salog_err *err);

/* Asked between chunks of a running export: true when the worker is
 * stopping. The job is then left claimed by this process and taken over
 * once the process is gone, so a shutdown never waits for an export. */
typedef bool (*export_should_stop)(void *ctx);

/* Background duty: runs up to max_jobs pending jobs. Checkpoint urls in
 * verbose events use each job's base_url. should_stop may be NULL. *ran
 * gets the count. */
salog_status exports_run_pending(store *s, size_t max_jobs, export_should_stop should_stop, void *stop_ctx,
                                 size_t *ran, salog_err *err);

#endif
