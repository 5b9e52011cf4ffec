#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec/timefmt.h"
#include "fcgi/request_ctx.h"
#include "model/configs.h"

salog_status auth_authenticate(request_ctx *rc)
{
    const char *h = rc->req->authorization;
    if (!h || !*h)
        return salog_err_set(&rc->err, SALOG_E_UNAUTHORIZED, "Unauthorized", "/",
                             "missing Authorization header (expected \"Bearer <token>\")");
    while (*h == ' ')
        h++;
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return salog_err_set(&rc->err, SALOG_E_UNAUTHORIZED, "Unauthorized", "/",
                             "the Authorization header must be \"Bearer <token>\"");
    h += 7;
    while (*h == ' ')
        h++;
    size_t len = strlen(h);
    while (len && (h[len - 1] == ' ' || h[len - 1] == '\t'))
        len--;
    salog_status st = auth_epoch_read(rc->app->store, &rc->auth_epoch, &rc->err);
    if (st != SALOG_OK)
        return st;
    st = tokens_authenticate_at(rc->app->store, h, len, time_now_us(), &rc->auth_epoch, &rc->token, &rc->err);
    if (st == SALOG_OK)
        rc->has_token = true;
    return st;
}

salog_status auth_require_scope(request_ctx *rc, unsigned scope)
{
    if (rc->token.scopes & (scope | TOKEN_SCOPE_ADMIN))
        return SALOG_OK;
    const char *name = scope == TOKEN_SCOPE_LOG ? "log" : scope == TOKEN_SCOPE_SEARCH ? "search" : "admin";
    return salog_err_set(&rc->err, SALOG_E_FORBIDDEN, "MissingScope", "/",
                         "this token lacks the '%s' scope needed by this endpoint", name);
}

/* The stored config `id`; a missing one is ConfigNotExist at /config_id. */
static salog_status load_config(request_ctx *rc, const char *id, sv_value **config)
{
    /* Read-only use by every caller of auth_resolve_config. */
    salog_status st = configs_get_shared_at(rc->app->store, id, rc->has_token ? &rc->auth_epoch : NULL, config,
                                            &rc->err);
    if (st == SALOG_E_VALIDATION) {
        salog_err_init(&rc->err);
        st = salog_err_set(&rc->err, SALOG_E_VALIDATION, "ConfigNotExist", "/config_id", "no config with this id exists");
    }
    return st;
}

salog_status auth_resolve_config(request_ctx *rc, char out[ID_LEN + 1], sv_value **config)
{
    salog_status st = SALOG_OK;
    sv_value *found = NULL;
    char peeked[ID_LEN + 1] = "";
    sv_value *given = rc->body ? sv_object_get(rc->body, "config_id") : NULL;

    if (given) {
        if (given->type != SV_STRING) {
            st = salog_err_set(&rc->err, SALOG_E_VALIDATION, "InvalidString", "/config_id",
                               "config_id must be a string");
            goto out;
        }
        const char *id = given->u.s.ptr;
        if (strlen(id) != given->u.s.len || !id_is_valid("pci_", id)) {
            st = salog_err_set(&rc->err, SALOG_E_VALIDATION, "ConfigNotExist", "/config_id",
                               "no config with this id exists");
            goto out;
        }
        if ((st = load_config(rc, id, &found)) != SALOG_OK)
            goto out;
        if (!token_allows_config(&rc->token, id)) {
            st = salog_err_set(&rc->err, SALOG_E_FORBIDDEN, "ConfigNotExist", "/config_id",
                               "this token is not bound to config %s", id);
            goto out;
        }
        snprintf(out, ID_LEN + 1, "%s", id);
        goto out;
    }

    /* No config_id: the token's own configs, or every config for an unbound token. */
    size_t usable = 0;
    const char *only = NULL;
    if (rc->token.config_count == 1 && config) {
        /* The common case: one bound config, read once by the load below. */
        usable = 1;
        only = rc->token.config_ids[0];
    } else if (rc->token.config_count > 0) {
        for (size_t i = 0; i < rc->token.config_count; i++) {
            bool exists = false;
            st = configs_exists(rc->app->store, rc->token.config_ids[i], &exists, &rc->err);
            if (st != SALOG_OK)
                goto out;
            if (exists) {
                usable++;
                only = rc->token.config_ids[i];
            }
        }
    } else {
        /* An unbound token: only whether there are none, one or several matters. */
        char first[ID_LEN + 1];
        st = configs_peek_at(rc->app->store, 2, rc->has_token ? &rc->auth_epoch : NULL, &usable, first, &rc->err);
        if (st != SALOG_OK)
            goto out;
        snprintf(peeked, sizeof peeked, "%s", first);
        only = peeked;
    }
    if (usable == 0)
        st = salog_err_set(&rc->err, SALOG_E_MISSING_CONFIG_SCOPE, "MissingConfigIDScope", "/config_id",
                           "this token can use no existing config");
    else if (usable > 1)
        st = salog_err_set(&rc->err, SALOG_E_MISSING_CONFIG_ID, "MissingConfigID", "/config_id",
                           "this token can use more than one config: give config_id");
    else
        snprintf(out, ID_LEN + 1, "%s", only);
    if (st == SALOG_OK && config)
        st = load_config(rc, out, &found);
out:
    if (st == SALOG_OK && config) {
        *config = found;
        found = NULL;
    }
    sv_free(found);
    return st;
}

static void pointer(char *buf, size_t n, const char *base, const char *key)
{
    snprintf(buf, n, "%s/", base ? base : "");
    size_t used = strlen(buf);
    for (const char *k = key; *k && used + 3 < n; k++) {
        if (*k == '~') {
            buf[used++] = '~';
            buf[used++] = '0';
        } else if (*k == '/') {
            buf[used++] = '~';
            buf[used++] = '1';
        } else {
            buf[used++] = *k;
        }
    }
    buf[used] = '\0';
}

salog_status fields_only(request_ctx *rc, const sv_value *obj, const char *base, const char *const *allowed)
{
    salog_status st = SALOG_OK;
    for (size_t i = 0; obj && obj->type == SV_OBJECT && i < obj->u.obj.count; i++) {
        const sv_member *m = &obj->u.obj.members[i];
        bool ok = strcmp(m->key, "config_id") == 0 && (!base || !*base);
        for (size_t j = 0; !ok && allowed[j]; j++)
            ok = strcmp(m->key, allowed[j]) == 0 && strlen(m->key) == m->key_len;
        if (!ok) {
            char src[256];
            pointer(src, sizeof src, base, m->key);
            st = salog_err_set(&rc->err, SALOG_E_VALIDATION, "UnexpectedProperty", src,
                               "unexpected property \"%s\"", m->key);
        }
    }
    return st;
}

static salog_status type_error(request_ctx *rc, const char *key, const char *code, const char *want,
                               const sv_value *v)
{
    char src[256];
    pointer(src, sizeof src, "", key);
    return salog_err_set(&rc->err, SALOG_E_VALIDATION, v->type == SV_NULL ? "InvalidNull" : code, src,
                         "'%s' must be %s, not %s", key, want, sv_type_name(v->type));
}

static salog_status missing(request_ctx *rc, const char *key)
{
    char src[256];
    pointer(src, sizeof src, "", key);
    return salog_err_set(&rc->err, SALOG_E_VALIDATION, "FieldRequired", src, "'%s' is required", key);
}

salog_status field_string(request_ctx *rc, const sv_value *obj, const char *key, bool required,
                          const char **out)
{
    sv_value *v = sv_object_get(obj, key);
    *out = NULL;
    if (!v)
        return required ? missing(rc, key) : SALOG_OK;
    if (v->type != SV_STRING)
        return type_error(rc, key, "InvalidString", "a string", v);
    *out = v->u.s.ptr;
    return SALOG_OK;
}

salog_status field_int(request_ctx *rc, const sv_value *obj, const char *key, bool required,
                       int64_t *out, bool *present)
{
    sv_value *v = sv_object_get(obj, key);
    if (present)
        *present = v != NULL;
    if (!v)
        return required ? missing(rc, key) : SALOG_OK;
    if (v->type != SV_INT)
        return type_error(rc, key, "InvalidInteger", "an integer", v);
    *out = v->u.i;
    return SALOG_OK;
}

salog_status field_bool(request_ctx *rc, const sv_value *obj, const char *key, bool *out, bool *present)
{
    sv_value *v = sv_object_get(obj, key);
    if (present)
        *present = v != NULL;
    if (!v)
        return SALOG_OK;
    if (v->type != SV_BOOL)
        return type_error(rc, key, "InvalidBool", "a boolean", v);
    *out = v->u.b;
    return SALOG_OK;
}
