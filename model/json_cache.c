/* Shared decoded JSON records (json_cache.h). */
#include "model/json_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "model/store_internal.h"

typedef struct json_cache_slot {
    char key[JSON_CACHE_KEY_MAX + 1];
    void *raw;           /* the stored bytes the value was decoded from */
    size_t len;
    sv_value *value;     /* shared; the slot holds one reference */
    bool tagged;
    unsigned char tag[JSON_CACHE_TAG_LEN];
} json_cache_slot;

struct json_cache {
    pthread_mutex_t mu;
    json_cache_slot slots[JSON_CACHE_SLOTS];
    size_t next_victim;
};

json_cache *json_cache_new(void)
{
    json_cache *c = calloc(1, sizeof *c);
    if (c && pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        c = NULL;
    }
    return c;
}

static void json_cache_slot_clear(json_cache_slot *slot)
{
    free(slot->raw);
    sv_free(slot->value);
    memset(slot, 0, sizeof *slot);
}

void json_cache_free(json_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < JSON_CACHE_SLOTS; i++)
        json_cache_slot_clear(&c->slots[i]);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static bool json_cache_key_ok(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    return n > 0 && n <= JSON_CACHE_KEY_MAX;
}

/* The slot of `key`, or NULL. Called with mu held. */
static json_cache_slot *json_cache_find(json_cache *c, const char *key)
{
    for (size_t i = 0; i < JSON_CACHE_SLOTS; i++)
        if (c->slots[i].value && strcmp(c->slots[i].key, key) == 0)
            return &c->slots[i];
    return NULL;
}

static void json_cache_slot_tag(json_cache_slot *slot, const unsigned char *tag)
{
    slot->tagged = tag != NULL;
    if (tag)
        memcpy(slot->tag, tag, JSON_CACHE_TAG_LEN);
}

sv_value *json_cache_get_tagged(json_cache *c, const char *key, const unsigned char *tag)
{
    sv_value *out = NULL;
    if (!c || !tag || !json_cache_key_ok(key))
        return NULL;
    pthread_mutex_lock(&c->mu);
    json_cache_slot *slot = json_cache_find(c, key);
    if (slot && slot->tagged && memcmp(slot->tag, tag, JSON_CACHE_TAG_LEN) == 0)
        out = sv_share(slot->value);
    pthread_mutex_unlock(&c->mu);
    return out;
}

sv_value *json_cache_decode(json_cache *c, const char *key, const void *raw, size_t len,
                            const unsigned char *tag)
{
    sv_value *out = NULL;
    bool cacheable = c && json_cache_key_ok(key);

    if (!cacheable)
        goto decode;
    pthread_mutex_lock(&c->mu);
    json_cache_slot *hit = json_cache_find(c, key);
    if (hit && hit->len == len && memcmp(hit->raw, raw, len) == 0) {
        out = sv_share(hit->value);
        /* The same bytes, read after whatever the tag stands for. */
        if (tag)
            json_cache_slot_tag(hit, tag);
    }
    pthread_mutex_unlock(&c->mu);
    if (out)
        return out;
decode:;
    salog_err err;
    salog_err_init(&err);
    if (codec_json_decode(&out, raw, len, STORE_JSON_MAX_DEPTH, &err) != SALOG_OK || !out)
        return NULL;
    void *copy = cacheable ? malloc(len ? len : 1) : NULL;
    if (!copy)
        return out; /* uncached, but correct */
    memcpy(copy, raw, len);
    pthread_mutex_lock(&c->mu);
    json_cache_slot *slot = json_cache_find(c, key);
    for (size_t i = 0; i < JSON_CACHE_SLOTS && !slot; i++)
        if (!c->slots[i].value)
            slot = &c->slots[i];
    if (!slot) {
        slot = &c->slots[c->next_victim];
        c->next_victim = (c->next_victim + 1) % JSON_CACHE_SLOTS;
    }
    /* Other threads may still hold the old value: sv_free drops only the
     * slot's reference. */
    json_cache_slot_clear(slot);
    snprintf(slot->key, sizeof slot->key, "%s", key);
    slot->raw = copy;
    slot->len = len;
    slot->value = sv_share(out);
    json_cache_slot_tag(slot, tag);
    pthread_mutex_unlock(&c->mu);
    return out;
}
