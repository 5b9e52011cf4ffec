/* Shared decoded JSON records (json_cache.h). */
#include "model/json_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "model/ids.h"
#include "model/store_internal.h"

typedef struct json_cache_slot {
    char id[ID_LEN + 1];
    void *raw;           /* the stored bytes the value was decoded from */
    size_t len;
    sv_value *value;     /* shared; the slot holds one reference */
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

sv_value *json_cache_decode(json_cache *c, const char *id, const void *raw, size_t len)
{
    sv_value *out = NULL;
    size_t i;

    if (!c || strlen(id) != ID_LEN)
        goto decode;
    pthread_mutex_lock(&c->mu);
    for (i = 0; i < JSON_CACHE_SLOTS; i++) {
        json_cache_slot *slot = &c->slots[i];
        if (slot->value && strcmp(slot->id, id) == 0) {
            if (slot->len == len && memcmp(slot->raw, raw, len) == 0)
                out = sv_share(slot->value);
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (out)
        return out;
decode:;
    salog_err err;
    salog_err_init(&err);
    if (codec_json_decode(&out, raw, len, STORE_JSON_MAX_DEPTH, &err) != SALOG_OK || !out)
        return NULL;
    void *copy = c && strlen(id) == ID_LEN ? malloc(len ? len : 1) : NULL;
    if (!copy)
        return out; /* uncached, but correct */
    memcpy(copy, raw, len);
    pthread_mutex_lock(&c->mu);
    json_cache_slot *slot = NULL;
    for (i = 0; i < JSON_CACHE_SLOTS && !slot; i++)
        if (c->slots[i].value && strcmp(c->slots[i].id, id) == 0)
            slot = &c->slots[i];
    for (i = 0; i < JSON_CACHE_SLOTS && !slot; i++)
        if (!c->slots[i].value)
            slot = &c->slots[i];
    if (!slot) {
        slot = &c->slots[c->next_victim];
        c->next_victim = (c->next_victim + 1) % JSON_CACHE_SLOTS;
    }
    /* Other threads may still hold the old value: sv_free drops only the
     * slot's reference. */
    json_cache_slot_clear(slot);
    memcpy(slot->id, id, ID_LEN + 1);
    slot->raw = copy;
    slot->len = len;
    slot->value = sv_share(out);
    pthread_mutex_unlock(&c->mu);
    return out;
}
