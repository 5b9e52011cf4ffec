/* Event validation against a config's AuditSchema, and token field
 * restrictions. See event_schema.h for the contract.
 *
 * Decisions taken here (API.md II §3.2 leaves them open):
 *  - "Malformed" problems (unknown field, wrong type, too long, bad
 *    date-time) obey save_malformed: errors under `reject`, envelope.err
 *    items under `all` / `unredacted`.
 *  - A missing required field is always an error, whatever save_malformed
 *    says: the schema promises the field to every reader of the log.
 *  - null and float values, at any depth, are always errors: they have no
 *    canonical form, so the event could be neither hashed nor verified.
 *  - Under `unredacted`, a malformed event loses the values of its
 *    `redact` fields (also from err[].value). A well-formed event is
 *    stored as sent. */
#include "event_schema.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "codec/timefmt.h"

#define PTR_MAX 256
#define DEFAULT_STRING_SIZE 32766
#define DETAIL_KEY_MAX 64 /* how much of a client's key a detail echoes */

typedef enum field_kind {
    KIND_STRING,
    KIND_INTEGER,
    KIND_BOOLEAN,
    KIND_DATETIME
} field_kind;

typedef enum malformed_mode {
    MODE_REJECT,
    MODE_ALL,
    MODE_UNREDACTED
} malformed_mode;

/* One problem with one event member, before save_malformed decides. */
typedef struct problem {
    const char *code;
    char detail[256];
} problem;

/* Appends "/" + RFC 6901 escaping of key to base into out (size n),
 * truncating at n. A key's NUL byte ends the token: C strings cannot carry
 * it, and the pointer only serves to locate the member. */
static void pointer_join(char *out, size_t n, const char *base, const char *key, size_t key_len)
{
    size_t len = 0;
    if (n == 0)
        return;
    for (const char *b = base ? base : ""; *b && len + 1 < n; b++)
        out[len++] = *b;
    if (len + 1 < n)
        out[len++] = '/';
    for (size_t i = 0; i < key_len && key[i]; i++) {
        const char *rep = key[i] == '~' ? "~0" : key[i] == '/' ? "~1" : NULL;
        size_t need = rep ? 2 : 1;
        if (len + need >= n)
            break;
        if (rep) {
            out[len++] = rep[0];
            out[len++] = rep[1];
        } else {
            out[len++] = key[i];
        }
    }
    out[len] = '\0';
}

static void pointer_index(char *out, size_t n, const char *base, size_t i)
{
    char tok[24];
    int w = snprintf(tok, sizeof tok, "%zu", i);
    pointer_join(out, n, base, tok, w > 0 ? (size_t)w : 0);
}

static bool key_equals(const sv_member *m, const char *s)
{
    size_t n = strlen(s);
    return m->key_len == n && memcmp(m->key, s, n) == 0;
}

static bool field_flag(const sv_value *field, const char *name)
{
    const sv_value *v = sv_object_get(field, name);
    return v && v->type == SV_BOOL && v->u.b;
}

/* The schema field whose id is the member's key, or NULL. */
static const sv_value *schema_find_field(const sv_value *fields, const sv_member *m)
{
    for (size_t i = 0; i < fields->u.arr.count; i++) {
        const char *id = sv_object_get_str(fields->u.arr.items[i], "id");
        if (id && key_equals(m, id))
            return fields->u.arr.items[i];
    }
    return NULL;
}

static int field_kind_of(const sv_value *field, field_kind *kind, int64_t *size)
{
    const char *type = sv_object_get_str(field, "type");
    const sv_value *sz = sv_object_get(field, "size");
    if (!type)
        return -1;
    *size = sz && sz->type == SV_INT && sz->u.i > 0 ? sz->u.i : DEFAULT_STRING_SIZE;
    if (!strcmp(type, "string") || !strcmp(type, "text") || !strcmp(type, "string-unindexed"))
        *kind = KIND_STRING;
    else if (!strcmp(type, "integer"))
        *kind = KIND_INTEGER;
    else if (!strcmp(type, "boolean"))
        *kind = KIND_BOOLEAN;
    else if (!strcmp(type, "datetime"))
        *kind = KIND_DATETIME;
    else
        return -1;
    return 0;
}

static const char *kind_type_code(field_kind kind)
{
    switch (kind) {
    case KIND_INTEGER: return "InvalidInteger";
    case KIND_BOOLEAN: return "InvalidBool";
    case KIND_STRING:
    case KIND_DATETIME: break;
    }
    return "InvalidString";
}

static const char *kind_type_words(field_kind kind)
{
    switch (kind) {
    case KIND_INTEGER: return "an integer";
    case KIND_BOOLEAN: return "a boolean";
    case KIND_DATETIME: return "an RFC 3339 date-time string";
    case KIND_STRING: break;
    }
    return "a string";
}

/* Finds the first null or float inside v (v itself included); writes its
 * pointer (ptr = v's own pointer) into where. */
static const sv_value *find_unhashable(const sv_value *v, const char *ptr, char *where, size_t n)
{
    if (v->type == SV_NULL || v->type == SV_FLOAT) {
        snprintf(where, n, "%s", ptr);
        return v;
    }
    char child[PTR_MAX];
    if (v->type == SV_ARRAY) {
        for (size_t i = 0; i < v->u.arr.count; i++) {
            pointer_index(child, sizeof child, ptr, i);
            const sv_value *bad = find_unhashable(v->u.arr.items[i], child, where, n);
            if (bad)
                return bad;
        }
    } else if (v->type == SV_OBJECT) {
        for (size_t i = 0; i < v->u.obj.count; i++) {
            const sv_member *m = &v->u.obj.members[i];
            pointer_join(child, sizeof child, ptr, m->key, m->key_len);
            const sv_value *bad = find_unhashable(m->value, child, where, n);
            if (bad)
                return bad;
        }
    }
    return NULL;
}

/* Checks one member's value against its field. Returns true and fills pb
 * when the member is malformed. */
static bool value_check(const sv_member *m, field_kind kind, int64_t size, problem *pb)
{
    const sv_value *v = m->value;
    int klen = m->key_len > DETAIL_KEY_MAX ? DETAIL_KEY_MAX : (int)m->key_len;
    switch (kind) {
    case KIND_INTEGER:
        if (v->type == SV_INT)
            return false;
        break;
    case KIND_BOOLEAN:
        if (v->type == SV_BOOL)
            return false;
        break;
    case KIND_STRING:
        if (v->type != SV_STRING)
            break;
        if (sv_utf8_length(v->u.s.ptr, v->u.s.len) > (size_t)size) {
            pb->code = "AboveMaxLength";
            snprintf(pb->detail, sizeof pb->detail, "'%.*s' cannot have more than %lld characters", klen,
                     m->key, (long long)size);
            return true;
        }
        return false;
    case KIND_DATETIME: {
        if (v->type != SV_STRING)
            break;
        int64_t us;
        if (strlen(v->u.s.ptr) != v->u.s.len || time_parse_rfc3339(v->u.s.ptr, &us) != 0) {
            pb->code = "BadFormatDateTime";
            snprintf(pb->detail, sizeof pb->detail, "'%.*s' must be an RFC 3339 date-time", klen, m->key);
            return true;
        }
        return false;
    }
    }
    pb->code = kind_type_code(kind);
    snprintf(pb->detail, sizeof pb->detail, "'%.*s' must be %s, not %s", klen, m->key, kind_type_words(kind),
             sv_type_name(v->type));
    return true;
}

/* Appends {"error","field","value"?} to *malformed (created on demand). */
static int malformed_append(sv_value **malformed, const sv_member *m, const problem *pb, bool keep_value)
{
    sv_value *item = sv_object();
    if (!item)
        return -1;
    if (sv_object_set_str(item, "error", pb->detail) != 0 ||
        sv_object_set(item, "field", sv_string_len(m->key, m->key_len)) != 0)
        goto fail;
    if (keep_value) {
        sv_value *copy = sv_clone(m->value);
        if (!copy || sv_object_set(item, "value", copy) != 0)
            goto fail;
    }
    if (!*malformed && !(*malformed = sv_array()))
        goto fail;
    return sv_array_push(*malformed, item); /* frees item on failure */
fail:
    sv_free(item);
    return -1;
}

static malformed_mode mode_of(const sv_value *schema)
{
    const char *s = sv_object_get_str(schema, "save_malformed");
    if (s && !strcmp(s, "all"))
        return MODE_ALL;
    if (s && !strcmp(s, "unredacted"))
        return MODE_UNREDACTED;
    return MODE_REJECT;
}

/* Drops the values of `redact` fields from a malformed event (unredacted). */
static void event_drop_redacted(sv_value *event, const sv_value *fields)
{
    for (size_t i = 0; i < fields->u.arr.count; i++) {
        const sv_value *f = fields->u.arr.items[i];
        const char *id = sv_object_get_str(f, "id");
        if (id && field_flag(f, "redact"))
            sv_object_remove(event, id);
    }
}

salog_status event_validate(const sv_value *schema, const sv_value *event, const char *base,
                            sv_value **stored_event, sv_value **malformed, salog_err *err)
{
    salog_status st = SALOG_OK;
    sv_value *out_event = NULL, *out_malformed = NULL;
    const sv_value *fields = sv_object_get(schema, "fields");
    malformed_mode mode = mode_of(schema);
    char ptr[PTR_MAX], where[PTR_MAX];
    bool any_error = false, any_malformed = false;

    *stored_event = NULL;
    *malformed = NULL;
    if (!base)
        base = "";
    if (!fields || fields->type != SV_ARRAY) {
        st = salog_err_set(err, SALOG_E_INVALID_SCHEMA, "InvalidSchema", NULL,
                           "the config's schema has no fields array");
        goto out;
    }
    if (!event || event->type != SV_OBJECT) {
        st = salog_err_set(err, SALOG_E_VALIDATION, "InvalidObject", base, "the event must be an object, not %s",
                           event ? sv_type_name(event->type) : "absent");
        goto out;
    }

    for (size_t i = 0; i < event->u.obj.count; i++) {
        const sv_member *m = &event->u.obj.members[i];
        const sv_value *field = schema_find_field(fields, m);
        int klen = m->key_len > DETAIL_KEY_MAX ? DETAIL_KEY_MAX : (int)m->key_len;
        field_kind kind = KIND_STRING;
        int64_t size = 0;
        problem pb = {0};

        pointer_join(ptr, sizeof ptr, base, m->key, m->key_len);
        if (field && field_kind_of(field, &kind, &size) != 0) {
            st = salog_err_set(err, SALOG_E_INVALID_SCHEMA, "InvalidSchema", NULL,
                               "the config's schema field '%.*s' has no usable type", klen, m->key);
            goto out;
        }

        /* Always rejected: null or float anywhere in the value. */
        const sv_value *bad = find_unhashable(m->value, ptr, where, sizeof where);
        if (bad) {
            any_error = true;
            if (bad->type == SV_NULL)
                salog_err_set(err, SALOG_E_VALIDATION, "InvalidNull", where,
                              "'%.*s' cannot be null: events accept no null values", klen, m->key);
            else if (bad == m->value && field)
                salog_err_set(err, SALOG_E_VALIDATION, kind_type_code(kind), where,
                              "'%.*s' must be %s, not a floating-point number", klen, m->key,
                              kind_type_words(kind));
            else
                salog_err_set(err, SALOG_E_VALIDATION, "InvalidInteger", where,
                              "'%.*s' holds a floating-point number: events accept no floats", klen, m->key);
            continue;
        }

        if (!field) {
            pb.code = "UnexpectedProperty";
            snprintf(pb.detail, sizeof pb.detail, "'%.*s' is not a field of this config's schema", klen, m->key);
        } else if (!value_check(m, kind, size, &pb)) {
            continue;
        }

        if (mode == MODE_REJECT) {
            any_error = true;
            salog_err_set(err, SALOG_E_VALIDATION, pb.code, ptr, "%s", pb.detail);
            continue;
        }
        any_malformed = true;
        /* Under `unredacted` a redact field's value leaves no trace. */
        bool keep = !(mode == MODE_UNREDACTED && field && field_flag(field, "redact"));
        if (malformed_append(&out_malformed, m, &pb, keep) != 0) {
            st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", NULL, "out of memory");
            goto out;
        }
    }

    /* Missing required fields are errors under every save_malformed mode. */
    for (size_t i = 0; i < fields->u.arr.count; i++) {
        const sv_value *f = fields->u.arr.items[i];
        const char *id = sv_object_get_str(f, "id");
        if (!id || !field_flag(f, "required") || sv_object_get(event, id))
            continue;
        any_error = true;
        pointer_join(ptr, sizeof ptr, base, id, strlen(id));
        salog_err_set(err, SALOG_E_VALIDATION, "FieldRequired", ptr, "'%s' is required", id);
    }

    if (any_error) {
        st = SALOG_E_VALIDATION;
        goto out;
    }

    out_event = sv_clone(event);
    if (!out_event) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", NULL, "out of memory");
        goto out;
    }
    if (any_malformed && mode == MODE_UNREDACTED)
        event_drop_redacted(out_event, fields);
    *stored_event = out_event;
    *malformed = out_malformed;
    out_event = NULL;
    out_malformed = NULL;
out:
    sv_free(out_event);
    sv_free(out_malformed);
    return st;
}

/* A restriction list's strings; true if v is one of them. Non-string
 * list items never match. */
static bool restriction_allows(const sv_value *allowed, const sv_value *v)
{
    if (!v || v->type != SV_STRING)
        return false;
    for (size_t i = 0; i < allowed->u.arr.count; i++) {
        const sv_value *a = allowed->u.arr.items[i];
        if (a->type == SV_STRING && a->u.s.len == v->u.s.len && memcmp(a->u.s.ptr, v->u.s.ptr, v->u.s.len) == 0)
            return true;
    }
    return false;
}

salog_status event_check_restrictions(const sv_value *restrictions, const sv_value *event, const char *base,
                                      salog_err *err)
{
    salog_status st = SALOG_OK;
    char ptr[PTR_MAX];

    if (!restrictions || restrictions->type != SV_OBJECT)
        goto out;
    for (size_t i = 0; i < restrictions->u.obj.count; i++) {
        const sv_member *r = &restrictions->u.obj.members[i];
        int klen = r->key_len > DETAIL_KEY_MAX ? DETAIL_KEY_MAX : (int)r->key_len;
        if (r->value->type != SV_ARRAY || r->value->u.arr.count == 0)
            continue; /* empty list: this field is not restricted */
        const sv_value *v = NULL;
        if (event && event->type == SV_OBJECT) {
            for (size_t j = 0; j < event->u.obj.count; j++) {
                const sv_member *m = &event->u.obj.members[j];
                if (m->key_len == r->key_len && memcmp(m->key, r->key, r->key_len) == 0) {
                    v = m->value;
                    break;
                }
            }
        }
        if (restriction_allows(r->value, v))
            continue;
        pointer_join(ptr, sizeof ptr, base, r->key, r->key_len);
        /* The detail names the field only: the allowed values are the
         * token's business, not the caller's. */
        if (!v)
            st = salog_err_set(err, SALOG_E_FORBIDDEN_FIELD, "ForbiddenFieldValue", ptr,
                               "'%.*s' is required by this token's field restrictions", klen, r->key);
        else
            st = salog_err_set(err, SALOG_E_FORBIDDEN_FIELD, "ForbiddenFieldValue", ptr,
                               "this token may not log events with this value of '%.*s'", klen, r->key);
    }
out:
    return st;
}
