/* Internal to the search module (search.c, search_index.c and their
 * tests): index lookups used by the executor. Keys are described in
 * search.h. */
#ifndef SALOG_SEARCH_INDEX_H
#define SALOG_SEARCH_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/error.h"
#include "model/search.h"
#include "model/store.h"

/* Values longer than this go to the long list instead of the suffix index. */
#define SEARCH_INDEX_VALUE_MAX 256
/* Each stored suffix (and each lookup prefix) is cut to this many bytes. */
#define SEARCH_INDEX_SUFFIX_MAX 64
/* Terms shorter than this are not looked up (a 1-byte term matches too
 * much to be worth it): such suffixes are not stored either. */
#define SEARCH_INDEX_TERM_MIN 2
/* Members with longer names are not indexed; schema field ids are ≤ 32. */
#define SEARCH_INDEX_FIELD_MAX 64
/* The indexes in one block lie within [first, first + this) (search.h). */
#define SEARCH_INDEX_BLOCK_SPAN 256
/* Pseudo-field of bare terms. */
#define SEARCH_INDEX_ANY_FIELD "*"

/* Number of events of config_id indexed so far (0 when none). Returns 0 or a
 * Berkeley DB error. */
int search_index_head(store *s, const char *config_id, uint64_t *head);

/* First index (< head) whose received_at >= t, or head when there is none
 * among the indexed events. 0 or a DB error. */
int search_index_time_lower(store *s, const char *config_id, int64_t t, uint64_t head,
                            uint64_t *index);

/* Candidates of `field` containing value[0..len) (len >= TERM_MIN): the
 * indexes in [lo, hi) of the suffix range of the value's first 64 bytes
 * (with `exact`, for equality, of that one key only: a value equal to the
 * term has it as its first suffix) plus the field's long list, sorted
 * ascending without duplicates
 * (*out malloc'd, caller frees). When more than max_visits index entries
 * would be read, gives up and sets *too_many (a scan is cheaper).
 * 0, ENOMEM or a DB error. */
int search_index_lookup(store *s, const char *config_id, const char *field, const char *value,
                        size_t len, bool exact, uint64_t lo, uint64_t hi, size_t max_visits, uint64_t **out,
                        size_t *count, bool *too_many);

/* search_run that also reports how many events it loaded from storage
 * (for the cost tests); `loaded` may be NULL. */
salog_status search_run_counted(store *s, const search_params *p, size_t limit,
                                search_result_set *out, size_t *loaded, salog_err *err);

#endif
