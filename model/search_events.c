#include "model/search_events.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/auditlog.h"

void search_events_clear(search_events *e)
{
    sv_free(e->events);
    sv_free(e->root);
    sv_free(e->unpublished_root);
    memset(e, 0, sizeof *e);
}

static salog_status oom(salog_err *err)
{
    return salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
}

static int set_hex(sv_value *obj, const char *key, const uint8_t h[MERKLE_HASH_LEN])
{
    char hex[65];
    merkle_hex(h, hex);
    return sv_object_set_str(obj, key, hex);
}

static uint64_t int_member(const sv_value *obj, const char *key)
{
    sv_value *v = sv_object_get(obj, key);
    return v && v->type == SV_INT && v->u.i > 0 ? (uint64_t)v->u.i : 0;
}

salog_status search_root_object(store *s, const char *config_id, uint64_t k, const char *base_url,
                                sv_value **out, salog_err *err)
{
    char tree_name[65], url[1024];
    uint8_t hash[MERKLE_HASH_LEN];
    sv_value *covering = NULL, *root = NULL;
    *out = NULL;
    auditlog_tree_name(config_id, tree_name);
    salog_status st = auditlog_checkpoint_covering(s, config_id, k, &covering, err);
    if (st != SALOG_OK)
        goto out;
    if ((st = auditlog_root(s, config_id, k, hash, err)) != SALOG_OK)
        goto out;
    snprintf(url, sizeof url, "%s/v1/published/%s/%" PRIu64, base_url, tree_name, int_member(covering, "size"));
    const char *published_at = sv_object_get_str(covering, "published_at");
    root = sv_object();
    if (!root || sv_object_set_str(root, "tree_name", tree_name) || sv_object_set_int(root, "size", (int64_t)k) ||
        set_hex(root, "root_hash", hash) || sv_object_set_str(root, "url", url) ||
        sv_object_set_str(root, "published_at", published_at ? published_at : "")) {
        st = oom(err);
        goto out;
    }
    if (k > 1) {
        sv_value *cp = NULL;
        if ((st = auditlog_consistency_proof(s, config_id, k - 1, k, &cp, err)) != SALOG_OK)
            goto out;
        if (sv_object_set(root, "consistency_proof", cp)) {
            st = oom(err);
            goto out;
        }
    }
    *out = root;
    root = NULL;
out:
    sv_free(root);
    sv_free(covering);
    return st;
}

salog_status search_events_build(store *s, const char *config_id, const uint64_t *indexes, size_t count,
                                 bool verbose, const char *base_url, search_events *out, salog_err *err)
{
    uint64_t published_size = 0, current_size = 0;
    sv_value *latest = NULL;
    salog_status st = SALOG_OK;
    memset(out, 0, sizeof *out);
    out->events = sv_array();
    if (!out->events)
        return oom(err);
    /* One view of the tree for the whole reply: the sizes are read once. */
    /* No checkpoint yet is normal (nothing is published); any other failure is not. */
    salog_err cp_err;
    salog_err_init(&cp_err);
    st = auditlog_latest_checkpoint(s, config_id, &latest, &cp_err);
    if (st == SALOG_OK)
        published_size = int_member(latest, "size");
    sv_free(latest);
    if (st != SALOG_OK && st != SALOG_E_TREE_NOT_FOUND) {
        *err = cp_err;
        goto out;
    }
    st = SALOG_OK;
    if ((st = auditlog_size(s, config_id, &current_size, err)) != SALOG_OK)
        goto out;
    if (verbose) {
        char tree_name[65];
        uint8_t hash[MERKLE_HASH_LEN];
        auditlog_tree_name(config_id, tree_name);
        if (published_size > 0 &&
            (st = search_root_object(s, config_id, published_size, base_url, &out->root, err)) != SALOG_OK)
            goto out;
        if (current_size > 0) {
            if ((st = auditlog_root(s, config_id, current_size, hash, err)) != SALOG_OK)
                goto out;
            out->unpublished_root = sv_object();
            if (!out->unpublished_root || sv_object_set_str(out->unpublished_root, "tree_name", tree_name) ||
                sv_object_set_int(out->unpublished_root, "size", (int64_t)current_size) ||
                set_hex(out->unpublished_root, "root_hash", hash)) {
                st = oom(err);
                goto out;
            }
        }
    }
    for (size_t i = 0; i < count; i++) {
        uint64_t index = indexes[i];
        char hash[65];
        sv_value *envelope = NULL;
        if (index >= current_size) {
            st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "result refers to a missing event");
            goto out;
        }
        if ((st = auditlog_get_event(s, config_id, index, &envelope, hash, err)) != SALOG_OK)
            goto out;
        bool published = index < published_size;
        sv_value *ev = sv_object();
        if (!ev || sv_object_set(ev, "envelope", envelope) || sv_object_set_str(ev, "hash", hash) ||
            sv_object_set_bool(ev, "published", published)) {
            if (!ev)
                sv_free(envelope);
            sv_free(ev);
            st = oom(err);
            goto out;
        }
        if (verbose) {
            char *proof = NULL;
            uint64_t tree = published ? published_size : current_size;
            if ((st = auditlog_membership_proof(s, config_id, index, tree, &proof, err)) != SALOG_OK) {
                sv_free(ev);
                goto out;
            }
            int bad = sv_object_set_str(ev, "membership_proof", proof);
            free(proof);
            if (bad || (published && sv_object_set_int(ev, "leaf_index", (int64_t)index))) {
                sv_free(ev);
                st = oom(err);
                goto out;
            }
        }
        if (sv_array_push(out->events, ev)) {
            st = oom(err);
            goto out;
        }
    }
out:
    if (st != SALOG_OK)
        search_events_clear(out);
    return st;
}
