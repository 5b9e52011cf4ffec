/* A per-process cache of copies of Merkle tiles of the upper strata (internal to
 * model/; tree_tiles.h describes tiles).
 *
 * Tiles of stratum >= 1 go in, full or growing: the hashes a tile holds
 * never change (appends only add at its end), so a copy with `count`
 * hashes answers for every position below count. Every proof or root of a
 * tree walks the same few upper tiles, so they are worth keeping, while the
 * leaf stratum (one tile per 32 events) would grow with the log. Only
 * committed reads (outside any transaction) fill it. It is direct-mapped
 * (TILE_CACHE_SLOTS slots, a colliding tile replaces the older one) and
 * calloc'd, so only slots in use take memory: a 1,000,000-event log fills
 * about 1,000 of them (2 MB of slots, some 4 MB of touched pages). Beyond
 * about 4 million events the upper tiles outnumber the slots and start to
 * evict each other: proofs stay right, they only read more.
 *
 * Thread-safe: one mutex, held only while a tile is copied in or out. */
#ifndef SALOG_TILE_CACHE_H
#define SALOG_TILE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "model/tree_tiles.h"

#define TILE_CACHE_SLOTS 4096

struct tile_cache;

/* NULL when out of memory. */
struct tile_cache *tile_cache_new(void);
void tile_cache_free(struct tile_cache *c);

/* When the cache holds the tile with a hash at `position`, copies all the
 * hashes it holds into `hashes` and returns their count; else returns 0. */
size_t tile_cache_get(struct tile_cache *c, const char *config_id, unsigned stratum, uint64_t tile,
                      unsigned position, uint8_t hashes[TILE_MAX_BYTES]);

/* Keeps a copy of a tile's first `count` (1..62) hashes, unless the cache
 * already holds at least as many of that tile. */
void tile_cache_put(struct tile_cache *c, const char *config_id, unsigned stratum, uint64_t tile,
                    size_t count, const uint8_t *hashes);

#endif
