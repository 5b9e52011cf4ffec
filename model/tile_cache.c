/* Per-process cache of upper-stratum tiles (tile_cache.h). */
#include "model/tile_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct tile_slot {
    size_t count; /* 0: unused */
    uint8_t key[TILE_KEY_LEN];
    uint8_t hashes[TILE_MAX_BYTES];
} tile_slot;

struct tile_cache {
    pthread_mutex_t lock;
    tile_slot *slots; /* TILE_CACHE_SLOTS */
};

struct tile_cache *tile_cache_new(void)
{
    struct tile_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->slots = calloc(TILE_CACHE_SLOTS, sizeof *c->slots);
    if (!c->slots || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c->slots);
        free(c);
        return NULL;
    }
    return c;
}

void tile_cache_free(struct tile_cache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c->slots);
    free(c);
}

/* A multiply-xorshift mix of the key's words: consecutive tiles of one
 * tree spread over the slots, and so do trees (FNV byte by byte over the
 * 45-byte key cost 8% of a proof). */
static size_t tile_cache_slot(const uint8_t key[TILE_KEY_LEN])
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (size_t off = 0; off < TILE_KEY_LEN; off += 8) {
        uint64_t w = 0;
        memcpy(&w, key + off, TILE_KEY_LEN - off < 8 ? TILE_KEY_LEN - off : 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    return (size_t)(h % TILE_CACHE_SLOTS);
}

size_t tile_cache_get(struct tile_cache *c, const char *config_id, unsigned stratum, uint64_t tile,
                      unsigned position, uint8_t hashes[TILE_MAX_BYTES])
{
    uint8_t key[TILE_KEY_LEN];
    size_t count = 0;
    tile_key(key, config_id, stratum, tile);
    tile_slot *slot = &c->slots[tile_cache_slot(key)];
    pthread_mutex_lock(&c->lock);
    if (position < slot->count && memcmp(slot->key, key, TILE_KEY_LEN) == 0) {
        count = slot->count;
        memcpy(hashes, slot->hashes, count * MERKLE_HASH_LEN);
    }
    pthread_mutex_unlock(&c->lock);
    return count;
}

void tile_cache_put(struct tile_cache *c, const char *config_id, unsigned stratum, uint64_t tile,
                    size_t count, const uint8_t *hashes)
{
    uint8_t key[TILE_KEY_LEN];
    if (count == 0 || count > TILE_MAX_NODES)
        return;
    tile_key(key, config_id, stratum, tile);
    tile_slot *slot = &c->slots[tile_cache_slot(key)];
    pthread_mutex_lock(&c->lock);
    if (slot->count == 0 || memcmp(slot->key, key, TILE_KEY_LEN) != 0 || slot->count < count) {
        memcpy(slot->key, key, TILE_KEY_LEN);
        memcpy(slot->hashes, hashes, count * MERKLE_HASH_LEN);
        slot->count = count;
    }
    pthread_mutex_unlock(&c->lock);
}
