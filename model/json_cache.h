/* Decoded JSON records (configs, tokens) shared between the threads of one
 * process, keyed by a short string (internal to model/: store.c owns one
 * cache per kind of record).
 *
 * Every logged event needs its token and its config's schema, and decoding
 * their stored JSON took more time than reading it (a fifth of /v1/log's
 * worker time, with the allocator work it caused). A reader that has read
 * the stored bytes gets the cached decoded value when the bytes are the
 * same. Each entry also carries the tag its last reader gave (the auth
 * epoch read before the bytes, auth_epoch.h): a reader holding the same
 * tag may take the value without reading the bytes. Entries are bounded
 * (JSON_CACHE_SLOTS, replaced round-robin). */
#ifndef SALOG_JSON_CACHE_H
#define SALOG_JSON_CACHE_H

#include <stddef.h>

#include "codec/value.h"

#define JSON_CACHE_SLOTS 32
#define JSON_CACHE_KEY_MAX 64 /* longer keys are decoded but never cached */
#define JSON_CACHE_TAG_LEN 16

typedef struct json_cache json_cache;

json_cache *json_cache_new(void); /* NULL when out of memory */
void json_cache_free(json_cache *c);

/* The decoded value of `raw` (the stored JSON of the record under `key`),
 * shared (sv_share: never modify it; release with sv_free). `tag`
 * (JSON_CACHE_TAG_LEN bytes) becomes the entry's tag: give it only when raw
 * was read after whatever the tag stands for. NULL tag: a new entry has
 * none, and an entry with the same bytes keeps its own. Returns NULL when
 * the bytes do not decode or memory runs out. */
sv_value *json_cache_decode(json_cache *c, const char *key, const void *raw, size_t len,
                            const unsigned char *tag);

/* The cached value of `key` when its entry carries `tag`, shared as above;
 * NULL otherwise (read the record and call json_cache_decode). */
sv_value *json_cache_get_tagged(json_cache *c, const char *key, const unsigned char *tag);

#endif
