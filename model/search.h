/* Search over a config's log (API.md I.7, II §2.5, §2.6, §5): indexes,
 * the executor and stored result sets.
 *
 * Indexes (Berkeley DB, maintained behind the append by a background duty,
 * search_index_catch_up; a search also examines the events not indexed yet,
 * so every search sees every event acknowledged before it began):
 *   time     config + be64 received_at µs + be64 index -> ""   (range seek)
 *   suffix   config + field + 0x00 + suffix (≤ 64 bytes)  -> blocks
 *            (sorted duplicates) for every suffix of every string-ish field
 *            value of ≤ 256 bytes, and under the pseudo-field "*" for bare
 *            terms. A `field:value` contains-search is a range seek on the
 *            value's first 64 bytes: cost grows with the matches, not the log.
 *   long     config + field + 0x00 -> blocks of the events whose value for
 *            that field is longer than 256 bytes (always candidates).
 *   A block lists the events of one indexing batch that have the key: be64
 *   first index, then the gaps to the next ones (ascending) as ULEB128, all
 *   within [first, first + SEARCH_INDEX_BLOCK_SPAN). A lone be64 is a block
 *   of one. Audit events repeat their actors, actions and words, so a batch
 *   writes one block where it would write one entry per event.
 *   head     config -> be64 number of events indexed
 * Candidates from the index are always re-checked with query_matches, so the
 * index only has to be a superset.
 *
 * A time range maps to an index range by one seek in the time index
 * (received_at never decreases along the tree), so a time-bounded search
 * reads only that range. */
#ifndef SALOG_SEARCH_H
#define SALOG_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/error.h"
#include "codec/value.h"
#include "model/ids.h"
#include "model/query.h"
#include "model/store.h"

#define SEARCH_MAX_RESULTS 10000

typedef struct search_params {
    const char *config_id;
    const sv_value *schema;           /* the config's AuditSchema */
    const query_node *query;          /* bound (query_bind) */
    int64_t start_us, end_us;         /* received_at in [start, end] */
    bool descending;
    const char *order_by;             /* "received_at" (default) or a field id */
    size_t max_results;               /* 1..SEARCH_MAX_RESULTS */
    const sv_value *search_restriction; /* {field: [strings]} or NULL; empty list = none */
    const sv_value *token_restriction;  /* same shape, from the token, or NULL */
    bool verbose;                     /* sticks to the result set */
    const char *owner_token_id;       /* the token that ran the search */
    int64_t ttl_us;                   /* result set lifetime (query_result_retention) */
} search_params;

typedef struct search_result_set {
    char id[ID_LEN + 1];              /* pas_… */
    char config_id[ID_LEN + 1];
    int64_t expires_at_us;
    bool verbose;
    uint64_t count;                   /* number of matches stored (≤ max_results) */
    uint64_t *indexes;                /* owned: the page asked for, `page_count` entries */
    size_t page_count;
    sv_value *search_restriction;     /* owned copy as given to the search, or NULL */
    char owner_token_id[ID_LEN + 1];
} search_result_set;

void search_result_set_clear(search_result_set *r);

/* Runs a search, stores its ordered matches as a result set and returns the
 * first `limit` of them in out->indexes. */
salog_status search_run(store *s, const search_params *p, size_t limit, search_result_set *out,
                        salog_err *err);

/* Reads `limit` matches from `offset` of a stored result set. Unknown or
 * expired id -> SALOG_E_VALIDATION code "DoesNotExist" source "/id";
 * offset > 0 && offset >= count -> SALOG_E_BAD_OFFSET code "NotWithinRange"
 * source "/offset". */
salog_status search_results_page(store *s, const char *result_id, size_t offset, size_t limit,
                                 search_result_set *out, salog_err *err);

/* Background duty: indexes up to max_events new events of every config;
 * *indexed gets how many. */
salog_status search_index_catch_up(store *s, size_t max_events, size_t *indexed, salog_err *err);

/* Background duty: deletes expired result sets (and their files, see
 * exports.h); *removed gets how many. */
salog_status search_expire(store *s, int64_t now_us, size_t *removed, salog_err *err);

#endif
