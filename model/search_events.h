/* Search events as replies and downloads carry them (API.md I.3, II §2.5):
 * {envelope, hash, published, leaf_index?, membership_proof?}, with the
 * roots every proof in the same reply verifies against. Proofs are computed
 * now, so one reply is self-consistent: events below the latest checkpoint's
 * size are published and proved in that checkpoint's tree; later ones in the
 * tree of the current size (unpublished_root). */
#ifndef SALOG_SEARCH_EVENTS_H
#define SALOG_SEARCH_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/error.h"
#include "codec/value.h"
#include "model/store.h"

typedef struct search_events {
    sv_value *events;            /* owned array of search events */
    sv_value *root;              /* owned Root of the latest checkpoint, or NULL (none yet / not verbose) */
    sv_value *unpublished_root;  /* owned {tree_name, size, root_hash}, or NULL when not verbose */
} search_events;

void search_events_clear(search_events *e);

/* Builds the events of `indexes` (in that order) of config_id. base_url
 * ("http://host[/prefix]") makes the checkpoint url. With verbose, adds
 * leaf_index (published events only), membership_proof, root and
 * unpublished_root. */
salog_status search_events_build(store *s, const char *config_id, const uint64_t *indexes, size_t count,
                                 bool verbose, const char *base_url, search_events *out, salog_err *err);

/* The Root object of II §2.7 for tree size k (1 <= k <= latest checkpoint
 * size): root_hash of k, consistency_proof k-1 -> k (absent for k = 1), and
 * the url / published_at of the first checkpoint covering k.
 * SALOG_E_TREE_NOT_FOUND when no checkpoint covers k. */
salog_status search_root_object(store *s, const char *config_id, uint64_t k, const char *base_url,
                                sv_value **out, salog_err *err);

#endif
