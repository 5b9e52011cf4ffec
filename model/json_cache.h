/* Decoded JSON records (configs, tokens) shared between the threads of one
 * process, keyed by record id (internal to model/: store.c owns one cache
 * per kind of record).
 *
 * Every logged event needs its token and its config's schema, and decoding
 * their stored JSON took more time than reading it (a fifth of /v1/log's
 * worker time, with the allocator work it caused). A reader still reads the
 * stored bytes each time, so a change made by any process is seen at once,
 * and gets the cached decoded value when the bytes are the same. Entries
 * are bounded (JSON_CACHE_SLOTS, replaced round-robin). */
#ifndef SALOG_JSON_CACHE_H
#define SALOG_JSON_CACHE_H

#include <stddef.h>

#include "codec/value.h"

#define JSON_CACHE_SLOTS 32

typedef struct json_cache json_cache;

json_cache *json_cache_new(void); /* NULL when out of memory */
void json_cache_free(json_cache *c);

/* The decoded value of `raw` (the stored JSON of record `id`), shared
 * (sv_share: never modify it; release with sv_free). NULL when the bytes
 * do not decode or memory runs out. */
sv_value *json_cache_decode(json_cache *c, const char *id, const void *raw, size_t len);

#endif
