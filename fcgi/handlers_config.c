/* The configuration API (API.md II §6, I.7a) and /v1/schema: typed checks
 * of the request members here, object validation in model/config_schema,
 * storage in model/configs. */
#include <stdio.h>
#include <string.h>

#include "fcgi/request_ctx.h"
#include "model/config_schema.h"
#include "model/configs.h"

#define CONFIG_LIST_DEFAULT_SIZE 20
#define CONFIG_LIST_MAX_SIZE 1000

/* Returns the public view of `config` as the result, consuming `config`. */
static salog_status public_result(request_ctx *rc, sv_value *config, sv_value **result)
{
    *result = configs_public_view(config);
    sv_free(config);
    if (!*result)
        return salog_err_set(&rc->err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
    return SALOG_OK;
}

/* The id of the config a config endpoint acts on: "id" (or, for reads,
 * the beta SDKs' "config_id"). */
static salog_status config_id_member(request_ctx *rc, bool accept_config_id, const char **id, const char **src)
{
    salog_status st = field_string(rc, rc->body, "id", false, id);
    *src = "/id";
    if (st != SALOG_OK)
        return st;
    if (!*id && accept_config_id) {
        if ((st = field_string(rc, rc->body, "config_id", false, id)) != SALOG_OK)
            return st;
        *src = "/config_id";
    }
    if (!*id)
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "FieldRequired", "/id", "'id' is required");
    if (!id_is_valid("pci_", *id))
        return salog_err_set(&rc->err, SALOG_E_VALIDATION, "DoesNotExist", *src,
                             "'%s' is not a config id (pci_ + 32 characters of a-z, 2-7)", *src + 1);
    return SALOG_OK;
}

salog_status handle_config_get(request_ctx *rc, sv_value **result)
{
    static const char *const allowed[] = {"id", NULL};
    const char *id, *src;
    sv_value *config = NULL;
    salog_status st = fields_only(rc, rc->body, "", allowed);
    if (st == SALOG_OK)
        st = config_id_member(rc, true, &id, &src);
    if (st == SALOG_OK)
        st = configs_get(rc->app->store, id, &config, &rc->err);
    if (st != SALOG_OK)
        return st;
    snprintf(rc->summary, sizeof rc->summary, "Config found");
    return public_result(rc, config, result);
}

salog_status handle_config_create(request_ctx *rc, sv_value **result)
{
    sv_value *normalized = NULL, *stored = NULL;
    salog_status st = config_validate_create(rc->body, &normalized, &rc->err);
    if (st == SALOG_OK)
        st = configs_create(rc->app->store, normalized, &stored, &rc->err);
    sv_free(normalized);
    if (st != SALOG_OK)
        return st;
    snprintf(rc->summary, sizeof rc->summary, "Config created");
    return public_result(rc, stored, result);
}

salog_status handle_config_update(request_ctx *rc, sv_value **result)
{
    const char *id, *src, *updated_at;
    sv_value *stored = NULL, *normalized = NULL, *saved = NULL;
    salog_status st = config_id_member(rc, false, &id, &src);
    if (st != SALOG_OK)
        goto out;
    if ((st = configs_get(rc->app->store, id, &stored, &rc->err)) != SALOG_OK)
        goto out;
    if ((st = config_validate_update(stored, rc->body, &normalized, &rc->err)) != SALOG_OK)
        goto out;
    if ((st = field_string(rc, rc->body, "updated_at", true, &updated_at)) != SALOG_OK)
        goto out;
    if ((st = configs_replace(rc->app->store, id, updated_at, normalized, &saved, &rc->err)) != SALOG_OK)
        goto out;
    snprintf(rc->summary, sizeof rc->summary, "Config updated");
    st = public_result(rc, saved, result);
out:
    sv_free(stored);
    sv_free(normalized);
    return st;
}

salog_status handle_config_delete(request_ctx *rc, sv_value **result)
{
    static const char *const allowed[] = {"id", NULL};
    const char *id, *src;
    sv_value *deleted = NULL;
    salog_status st = fields_only(rc, rc->body, "", allowed);
    if (st == SALOG_OK)
        st = config_id_member(rc, false, &id, &src);
    if (st == SALOG_OK)
        st = configs_delete(rc->app->store, id, &deleted, &rc->err);
    if (st != SALOG_OK)
        return st;
    snprintf(rc->summary, sizeof rc->summary, "Config deleted");
    return public_result(rc, deleted, result);
}

salog_status handle_config_list(request_ctx *rc, sv_value **result)
{
    static const char *const allowed[] = {"filter", "last", "order", "order_by", "size", NULL};
    config_list_query q = {.order_by = "created_at", .size = CONFIG_LIST_DEFAULT_SIZE};
    const char *order = NULL;
    int64_t size = 0;
    bool has_size = false;
    salog_status st = fields_only(rc, rc->body, "", allowed);
    field_string(rc, rc->body, "last", false, &q.last);
    field_string(rc, rc->body, "order", false, &order);
    field_string(rc, rc->body, "order_by", false, &q.order_by);
    field_int(rc, rc->body, "size", false, &size, &has_size);
    if (rc->err.count)
        return rc->err.status;
    if (!q.order_by)
        q.order_by = "created_at";
    if (order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0)
        st = salog_err_set(&rc->err, SALOG_E_VALIDATION, "NotEnumMember", "/order",
                           "'order' must be \"asc\" or \"desc\"");
    q.descending = order && strcmp(order, "desc") == 0;
    if (strcmp(q.order_by, "id") != 0 && strcmp(q.order_by, "created_at") != 0 &&
        strcmp(q.order_by, "updated_at") != 0)
        st = salog_err_set(&rc->err, SALOG_E_VALIDATION, "NotEnumMember", "/order_by",
                           "'order_by' must be one of id, created_at, updated_at");
    if (has_size && (size < 1 || size > CONFIG_LIST_MAX_SIZE))
        st = salog_err_set(&rc->err, SALOG_E_VALIDATION, "NotWithinRange", "/size",
                           "'size' must be between 1 and %d", CONFIG_LIST_MAX_SIZE);
    if (has_size)
        q.size = (size_t)size;
    sv_value *filter = sv_object_get(rc->body, "filter");
    if (filter && filter->type != SV_OBJECT)
        st = salog_err_set(&rc->err, SALOG_E_VALIDATION, filter->type == SV_NULL ? "InvalidNull" : "InvalidObject",
                           "/filter", "'filter' must be an object");
    q.filter = filter;
    if (st != SALOG_OK)
        return st;
    if ((st = configs_list(rc->app->store, &q, result, &rc->err)) != SALOG_OK)
        return st;
    snprintf(rc->summary, sizeof rc->summary, "Listed configs");
    return SALOG_OK;
}

salog_status handle_config_partition_overrides(request_ctx *rc, sv_value **result)
{
    static const char *const allowed[] = {"id", "overrides", NULL};
    const char *id, *src, *updated_at;
    sv_value *stored = NULL, *saved = NULL;
    salog_status st = fields_only(rc, rc->body, "", allowed);
    if (st == SALOG_OK)
        st = config_id_member(rc, false, &id, &src);
    if (st != SALOG_OK)
        goto out;
    sv_value *overrides = sv_object_get(rc->body, "overrides");
    if (!overrides) {
        st = salog_err_set(&rc->err, SALOG_E_VALIDATION, "FieldRequired", "/overrides", "'overrides' is required");
        goto out;
    }
    if ((st = config_validate_partition_overrides(overrides, "/overrides", &rc->err)) != SALOG_OK)
        goto out;
    if ((st = configs_get(rc->app->store, id, &stored, &rc->err)) != SALOG_OK)
        goto out;
    /* Listed partitions are set; partitions not named keep their overrides. */
    sv_value *current = sv_object_get(stored, "partition_overrides");
    if (!current || current->type != SV_OBJECT) {
        current = sv_object();
        if (!current || sv_object_set(stored, "partition_overrides", current) != 0)
            goto oom;
    }
    for (size_t i = 0; i < overrides->u.obj.count; i++) {
        const sv_member *m = &overrides->u.obj.members[i];
        sv_value *copy = sv_clone(m->value);
        if (!copy || sv_object_set_len(current, m->key, m->key_len, copy) != 0)
            goto oom;
    }
    updated_at = sv_object_get_str(stored, "updated_at");
    if ((st = configs_replace(rc->app->store, id, updated_at ? updated_at : "", stored, &saved, &rc->err)) != SALOG_OK)
        goto out;
    snprintf(rc->summary, sizeof rc->summary, "Partition overrides updated");
    st = public_result(rc, saved, result);
    goto out;
oom:
    st = salog_err_set(&rc->err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
out:
    sv_free(stored);
    return st;
}

salog_status handle_schema(request_ctx *rc, sv_value **result)
{
    static const char *const allowed[] = {NULL};
    char config_id[ID_LEN + 1];
    sv_value *config = NULL;
    salog_status st = fields_only(rc, rc->body, "", allowed);
    if (st == SALOG_OK)
        st = auth_resolve_config(rc, config_id, &config);
    if (st != SALOG_OK)
        return st;
    sv_value *schema = sv_object_get(config, "schema");
    *result = schema ? sv_clone(schema) : sv_object();
    sv_free(config);
    if (!*result)
        return salog_err_set(&rc->err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
    snprintf(rc->summary, sizeof rc->summary, "Schema");
    return SALOG_OK;
}
