#include "model/config_schema.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "codec/timefmt.h"

#define PTR_MAX 256

#define CFG_VERSION 3
#define NAME_MAX_CHARS 255
#define ID_MAX_CHARS 255            /* vault_key_id and the *_config_id members */
#define SECRET_MAX_CHARS 4096
#define URL_MAX_CHARS 2048
#define CERT_MAX_CHARS 65536
#define FIELDS_MIN 1
#define FIELDS_MAX 250
#define FIELD_ID_MAX 32
#define FIELD_NAME_MAX 64
#define FIELD_DESC_MAX 255
#define FIELD_SIZE_MAX 32766
#define PARTITION_KEY_MAX 128
#define SAVED_SEARCHES_MAX 1000
#define SHORT_TEXT_MAX 255
#define QUERY_MAX 32766

#define DAY_US (INT64_C(86400) * 1000000)

/* Validation state: the caller's error list plus what this call added. */
typedef struct vctx {
    salog_err *err;
    size_t nerr;
    bool oom;
} vctx;

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */

void json_pointer_join(char *out, size_t n, const char *base, const char *token)
{
    if (!out || n == 0)
        return;
    char buf[1024];
    size_t len = 0;
    /* "/" is salog's spelling of the whole request, so it joins like "". */
    if (base && strcmp(base, "/") != 0) {
        len = strlen(base);
        if (len >= sizeof buf)
            len = sizeof buf - 1;
        memcpy(buf, base, len);
    }
    if (len + 1 < sizeof buf)
        buf[len++] = '/';
    for (const char *t = token ? token : ""; *t && len + 2 < sizeof buf; t++) {
        if (*t == '~') {
            buf[len++] = '~';
            buf[len++] = '0';
        } else if (*t == '/') {
            buf[len++] = '~';
            buf[len++] = '1';
        } else {
            buf[len++] = *t;
        }
    }
    buf[len] = '\0';
    snprintf(out, n, "%s", buf);
}

static void ptr_index(char *out, size_t n, const char *base, size_t i)
{
    char tok[32];
    snprintf(tok, sizeof tok, "%zu", i);
    json_pointer_join(out, n, base, tok);
}

/* Last token of a pointer, for details ("'size' must be ..."). */
static const char *ptr_leaf(const char *ptr)
{
    const char *slash = strrchr(ptr, '/');
    return slash ? slash + 1 : ptr;
}

__attribute__((format(printf, 4, 5)))
static void fail(vctx *c, const char *code, const char *src, const char *fmt, ...)
{
    char detail[sizeof c->err->items[0].detail];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    salog_err_set(c->err, SALOG_E_VALIDATION, code, src, "%s", detail);
    c->nerr++;
}

/* Sets obj.key = val (owned); any failure, including val == NULL from a
 * constructor, is out-of-memory. */
static void put(vctx *c, sv_value *obj, const char *key, sv_value *val)
{
    if (!val) {
        c->oom = true;
        return;
    }
    if (!obj) {
        sv_free(val);
        c->oom = true;
        return;
    }
    if (sv_object_set(obj, key, val) != 0)
        c->oom = true;
}

static void put_clone(vctx *c, sv_value *obj, const char *key, const sv_value *v)
{
    if (v)
        put(c, obj, key, sv_clone(v));
}

static bool str_is(const sv_value *v, const char *s)
{
    return v && v->type == SV_STRING && v->u.s.len == strlen(s) && memcmp(v->u.s.ptr, s, v->u.s.len) == 0;
}

static bool in_list(const char *const *list, const char *key, size_t key_len)
{
    for (size_t i = 0; list[i]; i++)
        if (strlen(list[i]) == key_len && memcmp(list[i], key, key_len) == 0)
            return true;
    return false;
}

static const char *type_code(sv_type t)
{
    switch (t) {
    case SV_STRING: return "InvalidString";
    case SV_INT: return "InvalidInteger";
    case SV_BOOL: return "InvalidBool";
    case SV_OBJECT: return "InvalidObject";
    case SV_ARRAY: return "InvalidArray";
    case SV_FLOAT: return "InvalidNumber";
    case SV_NULL: return "InvalidNull";
    }
    return "BadFormat";
}

/* True when v has type t; else records InvalidNull / Invalid<Type>. */
static bool expect_type(vctx *c, const sv_value *v, sv_type t, const char *ptr)
{
    if (v && v->type == t)
        return true;
    if (!v || v->type == SV_NULL)
        fail(c, "InvalidNull", ptr, "'%s' cannot be null: it must be a %s", ptr_leaf(ptr), sv_type_name(t));
    else
        fail(c, type_code(t), ptr, "'%s' must be a %s, not a %s", ptr_leaf(ptr), sv_type_name(t),
             sv_type_name(v->type));
    return false;
}

/* A string of min..max code points (max 0 = unbounded). */
static bool check_string(vctx *c, const sv_value *v, const char *ptr, size_t min, size_t max)
{
    if (!expect_type(c, v, SV_STRING, ptr))
        return false;
    size_t n = sv_utf8_length(v->u.s.ptr, v->u.s.len);
    if (n < min) {
        fail(c, "BelowMinLength", ptr, "'%s' cannot have less than %zu characters", ptr_leaf(ptr), min);
        return false;
    }
    if (max && n > max) {
        fail(c, "AboveMaxLength", ptr, "'%s' cannot have more than %zu characters", ptr_leaf(ptr), max);
        return false;
    }
    return true;
}

/* A string member of `list`; returns its index or -1. */
static int check_enum(vctx *c, const sv_value *v, const char *ptr, const char *const *list)
{
    if (!expect_type(c, v, SV_STRING, ptr))
        return -1;
    for (int i = 0; list[i]; i++)
        if (str_is(v, list[i]))
            return i;
    char allowed[256];
    size_t len = 0;
    allowed[0] = '\0';
    for (int i = 0; list[i] && len < sizeof allowed; i++) {
        int w = snprintf(allowed + len, sizeof allowed - len, "%s%s", i ? ", " : "", list[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    fail(c, "NotEnumMember", ptr, "'%s' must be one of: %s", ptr_leaf(ptr), allowed);
    return -1;
}

static bool check_int_range(vctx *c, const sv_value *v, const char *ptr, int64_t lo, int64_t hi)
{
    if (!expect_type(c, v, SV_INT, ptr))
        return false;
    if (v->u.i < lo || v->u.i > hi) {
        fail(c, "NotWithinRange", ptr, "'%s' must be between %" PRId64 " and %" PRId64, ptr_leaf(ptr), lo,
             hi);
        return false;
    }
    return true;
}

typedef enum dur_rule { DUR_ANY, DUR_HOT, DUR_WARM, DUR_COLD } dur_rule;

static bool check_duration(vctx *c, const sv_value *v, const char *ptr, dur_rule rule)
{
    if (!expect_type(c, v, SV_STRING, ptr))
        return false;
    int64_t us;
    if (strlen(v->u.s.ptr) != v->u.s.len || duration_parse(v->u.s.ptr, &us) != 0) {
        fail(c, "BadFormatPangeaDuration", ptr,
             "'%s' must be a duration such as \"14d\", \"12hours\" or \"6months\"", ptr_leaf(ptr));
        return false;
    }
    switch (rule) {
    case DUR_ANY:
        break;
    case DUR_HOT:
        if (us > 14 * DAY_US) {
            fail(c, "NotWithinRange", ptr, "'%s' cannot be longer than 14 days", ptr_leaf(ptr));
            return false;
        }
        break;
    case DUR_WARM:
        if (us > 3650 * DAY_US) {
            fail(c, "NotWithinRange", ptr, "'%s' cannot be longer than 10 years", ptr_leaf(ptr));
            return false;
        }
        break;
    case DUR_COLD:
        if (us != 0 && us < 180 * DAY_US) {
            fail(c, "NotWithinRange", ptr,
                 "'%s' must be 0 (disabled) or at least 180 days", ptr_leaf(ptr));
            return false;
        }
        break;
    }
    return true;
}

/* Reports every member of obj not in `allowed` (NULL-terminated). */
static void check_unknown_members(vctx *c, const sv_value *obj, const char *base, const char *const *allowed)
{
    for (size_t i = 0; i < obj->u.obj.count; i++) {
        const sv_member *m = &obj->u.obj.members[i];
        if (in_list(allowed, m->key, m->key_len))
            continue;
        char ptr[PTR_MAX];
        json_pointer_join(ptr, sizeof ptr, base, m->key);
        fail(c, "UnexpectedProperty", ptr, "'%s' is not a known property here", m->key);
    }
}

static void require(vctx *c, const sv_value *obj, const char *key, const char *base)
{
    if (sv_object_get(obj, key))
        return;
    char ptr[PTR_MAX];
    json_pointer_join(ptr, sizeof ptr, base, key);
    fail(c, "FieldRequired", ptr, "'%s' is required", key);
}

/* ------------------------------------------------------------------ */
/* Schema                                                               */

static const char *const field_types[] = {"string", "text", "string-unindexed", "integer",
                                          "boolean", "datetime", NULL};
static const char *const field_members[] = {"id", "type", "name", "description", "required", "redact",
                                            "partitioned", "size", "ui_default_visible", NULL};
static const char *const schema_members[] = {"fields", "client_signable", "tamper_proofing",
                                             "save_malformed", "vendor_id", "json_path", NULL};
static const char *const save_malformed_values[] = {"reject", "all", "unredacted", NULL};

static bool type_is_stringlike(const char *t)
{
    return t && (strcmp(t, "string") == 0 || strcmp(t, "text") == 0 || strcmp(t, "string-unindexed") == 0);
}

static bool field_id_ok(const sv_value *v)
{
    const char *s = v->u.s.ptr;
    if (v->u.s.len == 0 || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 0; i < v->u.s.len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return false;
    }
    return true;
}

static void validate_field_id(vctx *c, const sv_value *v, const char *ptr, bool *ok)
{
    *ok = false;
    if (!expect_type(c, v, SV_STRING, ptr))
        return;
    if (v->u.s.len > FIELD_ID_MAX) {
        fail(c, "AboveMaxLength", ptr, "'id' cannot have more than %d characters", FIELD_ID_MAX);
        return;
    }
    if (!field_id_ok(v)) {
        fail(c, "DoesNotMatchPattern", ptr,
             "field id must match ^[a-z][0-9a-z_]*$ (lower-case letter, then lower-case letters, digits, '_')");
        return;
    }
    if (str_is(v, "received_at")) {
        fail(c, "ShouldNotBeValid", ptr, "field id 'received_at' is reserved: salog sets it on every event");
        return;
    }
    *ok = true;
}

/* Both absent, or both present and equal. */
static bool same_optional(const sv_value *a, const sv_value *b)
{
    if (!a || !b)
        return !a && !b;
    return sv_equal(a, b);
}

static bool flag_of(const sv_value *f, const char *key)
{
    const sv_value *v = sv_object_get(f, key);
    return v && v->type == SV_BOOL && v->u.b;
}

/* Effective size of a field: its size, the default for string types, or
 * -1 for types without one. */
static int64_t size_of(const sv_value *f)
{
    const sv_value *v = sv_object_get(f, "size");
    if (v && v->type == SV_INT)
        return v->u.i;
    return type_is_stringlike(sv_object_get_str(f, "type")) ? FIELD_SIZE_MAX : -1;
}

static const sv_value *find_field(const sv_value *fields, const sv_value *id)
{
    if (!fields || fields->type != SV_ARRAY)
        return NULL;
    for (size_t i = 0; i < fields->u.arr.count; i++) {
        const sv_value *f = fields->u.arr.items[i];
        if (f && f->type == SV_OBJECT && sv_equal(sv_object_get(f, "id"), id))
            return f;
    }
    return NULL;
}

/* Reports `attr` of field `id` as fixed after creation. */
static void fail_read_only(vctx *c, const char *ptr, const char *attr, const sv_value *id)
{
    char p[PTR_MAX];
    json_pointer_join(p, sizeof p, ptr, attr);
    fail(c, "IsReadOnly", p, "'%s' of field '%s' cannot change after the config is created", attr, id->u.s.ptr);
}

/* Validates one AuditSchemaField into `out`. On update `was_fields` is the
 * stored schema's fields: the field must exist there and only description,
 * required and ui_default_visible may differ. Attributes that are invalid
 * are reported once, as invalid, and not compared. Returns false when the
 * field has no valid id. */
static bool validate_field(vctx *c, const sv_value *f, const char *ptr, sv_value *out, const sv_value *was_fields,
                           bool updating)
{
    char p[PTR_MAX];
    size_t before;
    check_unknown_members(c, f, ptr, field_members);

    const sv_value *id = sv_object_get(f, "id");
    const sv_value *old = NULL;
    bool id_ok = false;
    require(c, f, "id", ptr);
    if (id) {
        json_pointer_join(p, sizeof p, ptr, "id");
        validate_field_id(c, id, p, &id_ok);
        if (id_ok) {
            put_clone(c, out, "id", id);
            if (updating) {
                old = find_field(was_fields, id);
                if (!old)
                    fail(c, "IsReadOnly", p,
                         "field '%s' cannot be added: a schema's fields are fixed after the config is created",
                         id->u.s.ptr);
            }
        }
    }

    const sv_value *type = sv_object_get(f, "type");
    const char *type_str = NULL;
    require(c, f, "type", ptr);
    if (type) {
        json_pointer_join(p, sizeof p, ptr, "type");
        if (check_enum(c, type, p, field_types) >= 0) {
            type_str = type->u.s.ptr;
            put_clone(c, out, "type", type);
            if (old && !sv_equal(type, sv_object_get(old, "type")))
                fail_read_only(c, ptr, "type", id);
        }
    }

    const sv_value *v = sv_object_get(f, "name");
    before = c->nerr;
    if (v) {
        json_pointer_join(p, sizeof p, ptr, "name");
        if (check_string(c, v, p, 0, FIELD_NAME_MAX))
            put_clone(c, out, "name", v);
    }
    if (old && c->nerr == before && !same_optional(v, sv_object_get(old, "name")))
        fail_read_only(c, ptr, "name", id);

    if ((v = sv_object_get(f, "description"))) {
        json_pointer_join(p, sizeof p, ptr, "description");
        if (check_string(c, v, p, 0, FIELD_DESC_MAX))
            put_clone(c, out, "description", v);
    }

    static const char *const flags[] = {"required", "redact", "partitioned", "ui_default_visible"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        bool fixed = strcmp(flags[i], "redact") == 0 || strcmp(flags[i], "partitioned") == 0;
        v = sv_object_get(f, flags[i]);
        json_pointer_join(p, sizeof p, ptr, flags[i]);
        if (v) {
            if (!expect_type(c, v, SV_BOOL, p))
                continue;
            if (strcmp(flags[i], "redact") == 0 && v->u.b && type_str && !type_is_stringlike(type_str)) {
                fail(c, "InvalidConst", p,
                     "'redact' is only allowed on string, text and string-unindexed fields, not %s", type_str);
                continue;
            }
            put_clone(c, out, flags[i], v);
        }
        if (old && fixed && flag_of(f, flags[i]) != flag_of(old, flags[i]))
            fail_read_only(c, ptr, flags[i], id);
    }

    v = sv_object_get(f, "size");
    before = c->nerr;
    if (v) {
        json_pointer_join(p, sizeof p, ptr, "size");
        if (type_str && !type_is_stringlike(type_str))
            fail(c, "UnexpectedProperty", p,
                 "'size' applies only to string, text and string-unindexed fields, not %s", type_str);
        else if (check_int_range(c, v, p, 1, FIELD_SIZE_MAX))
            put_clone(c, out, "size", v);
    } else if (type_str && type_is_stringlike(type_str)) {
        put(c, out, "size", sv_int(FIELD_SIZE_MAX));
    }
    /* Size is compared only when the type is valid and unchanged. */
    if (old && type_str && c->nerr == before && str_is(sv_object_get(old, "type"), type_str) &&
        size_of(out) != size_of(old))
        fail_read_only(c, ptr, "size", id);
    return id_ok;
}

/* Schema-level members fixed after creation, compared by effective value
 * (defaults applied). `now` is the normalized request schema, `raw` the
 * request's. */
static void check_schema_members_fixed(vctx *c, const sv_value *was, const sv_value *raw, const sv_value *now,
                                       const char *base)
{
    static const struct { const char *key; const char *dflt; } fixed[] = {
        {"client_signable", "false"}, {"tamper_proofing", "true"}, {"save_malformed", "reject"},
        {"vendor_id", NULL}, {"json_path", NULL}};
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++) {
        const sv_value *a = sv_object_get(was, fixed[k].key);
        const sv_value *b = sv_object_get(now, fixed[k].key);
        if (!b && sv_object_get(raw, fixed[k].key))
            continue; /* invalid: already reported */
        sv_value *dflt = NULL;
        if (!a && fixed[k].dflt) {
            if (strcmp(fixed[k].dflt, "false") == 0 || strcmp(fixed[k].dflt, "true") == 0)
                dflt = sv_bool(fixed[k].dflt[0] == 't');
            else
                dflt = sv_string(fixed[k].dflt);
            if (!dflt) {
                c->oom = true;
                return;
            }
            a = dflt;
        }
        bool same = same_optional(a, b);
        sv_free(dflt);
        if (same)
            continue;
        char p[PTR_MAX];
        json_pointer_join(p, sizeof p, base, fixed[k].key);
        fail(c, "IsReadOnly", p, "'%s' of the schema cannot change after the config is created", fixed[k].key);
    }
}

/* Validates an AuditSchema into `out`. `was` is the stored schema on
 * update (NULL on create). */
static void validate_schema(vctx *c, const sv_value *s, const char *base, sv_value *out, const sv_value *was)
{
    char p[PTR_MAX];
    bool updating = was != NULL;
    const sv_value *was_fields = was ? sv_object_get(was, "fields") : NULL;
    check_unknown_members(c, s, base, schema_members);

    const sv_value *fields = sv_object_get(s, "fields");
    require(c, s, "fields", base);
    sv_value *out_fields = sv_array();
    if (!out_fields)
        c->oom = true;
    if (fields && out_fields) {
        char fp[PTR_MAX];
        json_pointer_join(fp, sizeof fp, base, "fields");
        if (expect_type(c, fields, SV_ARRAY, fp)) {
            size_t n = fields->u.arr.count;
            bool all_ids_ok = true;
            if (n < FIELDS_MIN)
                fail(c, "BelowMinItems", fp, "'fields' must have at least %d item", FIELDS_MIN);
            else if (n > FIELDS_MAX)
                fail(c, "AboveMaxItems", fp, "'fields' cannot have more than %d items", FIELDS_MAX);
            for (size_t i = 0; i < n; i++) {
                const sv_value *f = fields->u.arr.items[i];
                ptr_index(p, sizeof p, fp, i);
                if (!expect_type(c, f, SV_OBJECT, p)) {
                    all_ids_ok = false;
                    continue;
                }
                sv_value *of = sv_object();
                if (!of) {
                    c->oom = true;
                    continue;
                }
                if (!validate_field(c, f, p, of, was_fields, updating))
                    all_ids_ok = false;
                /* Duplicate ids: the later one is at fault. */
                const sv_value *id = sv_object_get(f, "id");
                for (size_t j = 0; id && id->type == SV_STRING && j < i; j++) {
                    const sv_value *prev = fields->u.arr.items[j];
                    if (prev->type == SV_OBJECT && sv_equal(sv_object_get(prev, "id"), id)) {
                        char ip[PTR_MAX];
                        json_pointer_join(ip, sizeof ip, p, "id");
                        fail(c, "ItemNotUnique", ip, "field id '%s' is already used by field %zu", id->u.s.ptr, j);
                        break;
                    }
                }
                if (sv_array_push(out_fields, of) != 0)
                    c->oom = true;
            }
            /* Removed fields; skipped when some request field has no valid
             * id, since that field may be the "missing" one. */
            if (updating && all_ids_ok && was_fields && was_fields->type == SV_ARRAY) {
                for (size_t i = 0; i < was_fields->u.arr.count; i++) {
                    const sv_value *id = sv_object_get(was_fields->u.arr.items[i], "id");
                    if (id && id->type == SV_STRING && !find_field(fields, id))
                        fail(c, "IsReadOnly", fp,
                             "field '%s' cannot be removed: a schema's fields are fixed after the config is created",
                             id->u.s.ptr);
                }
            }
        }
    }
    put(c, out, "fields", out_fields);

    static const struct { const char *key; bool dflt; } bools[] = {
        {"client_signable", false}, {"tamper_proofing", true}};
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        const sv_value *v = sv_object_get(s, bools[i].key);
        json_pointer_join(p, sizeof p, base, bools[i].key);
        if (!v)
            put(c, out, bools[i].key, sv_bool(bools[i].dflt));
        else if (expect_type(c, v, SV_BOOL, p))
            put_clone(c, out, bools[i].key, v);
    }

    const sv_value *v = sv_object_get(s, "save_malformed");
    json_pointer_join(p, sizeof p, base, "save_malformed");
    if (!v)
        put(c, out, "save_malformed", sv_string("reject"));
    else if (check_enum(c, v, p, save_malformed_values) >= 0)
        put_clone(c, out, "save_malformed", v);

    static const struct { const char *key; size_t max; } strs[] = {
        {"vendor_id", SHORT_TEXT_MAX}, {"json_path", 1024}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        if (!(v = sv_object_get(s, strs[i].key)))
            continue;
        json_pointer_join(p, sizeof p, base, strs[i].key);
        if (check_string(c, v, p, 0, strs[i].max))
            put_clone(c, out, strs[i].key, v);
    }

    if (updating)
        check_schema_members_fixed(c, was, s, out, base);
}

/* ------------------------------------------------------------------ */
/* Forwarding                                                           */

static const char *const fwd_types[] = {"splunk", "ngsiem", "http", "syslog", NULL};
static const char *const fwd_members[] = {"type", "forwarding_enabled", "event_url", "ack_url", "channel_id",
                                          "public_cert", "index", "vault_config_id", "vault_secret_id",
                                          "secret", NULL};

typedef enum url_verdict { URL_OK, URL_MALFORMED, URL_WRONG_KIND } url_verdict;

static bool url_char_ok(unsigned char ch)
{
    if (ch <= 0x20 || ch >= 0x7f)
        return false;
    return strchr("\"<>\\^`{|}", ch) == NULL;
}

static bool host_char_ok(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           strchr("-._~%!$&'()*+,;=", ch) != NULL;
}

/* Checks an absolute URL. `want_stream`: tcp:// or udp:// with a port and
 * nothing after it (syslog); otherwise http:// or https://. */
static url_verdict url_check(const sv_value *v, bool want_stream)
{
    const char *s = v->u.s.ptr;
    size_t len = v->u.s.len;
    if (len == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return URL_MALFORMED;
    for (size_t i = 0; i < len; i++)
        if (!url_char_ok((unsigned char)s[i]))
            return URL_MALFORMED;
    size_t i = 0;
    while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                       (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' || s[i] == '.'))
        i++;
    size_t scheme_len = i;
    if (len - i < 3 || memcmp(s + i, "://", 3) != 0)
        return URL_MALFORMED;
    size_t auth = i + 3, auth_end = auth;
    while (auth_end < len && s[auth_end] != '/' && s[auth_end] != '?' && s[auth_end] != '#')
        auth_end++;
    /* Drop userinfo. */
    size_t h = auth;
    for (size_t k = auth; k < auth_end; k++)
        if (s[k] == '@')
            h = k + 1;
    size_t host_end;
    if (h < auth_end && s[h] == '[') {
        host_end = h + 1;
        while (host_end < auth_end && s[host_end] != ']') {
            char ch = s[host_end];
            if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') || ch == ':' ||
                  ch == '.'))
                return URL_MALFORMED;
            host_end++;
        }
        if (host_end >= auth_end || host_end == h + 1)
            return URL_MALFORMED;
        host_end++; /* past ']' */
    } else {
        host_end = h;
        while (host_end < auth_end && s[host_end] != ':') {
            if (!host_char_ok(s[host_end]))
                return URL_MALFORMED;
            host_end++;
        }
        if (host_end == h)
            return URL_MALFORMED;
    }
    bool has_port = false;
    if (host_end < auth_end) {
        if (s[host_end] != ':' || host_end + 1 == auth_end || auth_end - host_end - 1 > 5)
            return URL_MALFORMED;
        long port = 0;
        for (size_t k = host_end + 1; k < auth_end; k++) {
            if (s[k] < '0' || s[k] > '9')
                return URL_MALFORMED;
            port = port * 10 + (s[k] - '0');
        }
        if (port < 1 || port > 65535)
            return URL_MALFORMED;
        has_port = true;
    }
    bool is_http = (scheme_len == 4 && strncasecmp(s, "http", 4) == 0) ||
                   (scheme_len == 5 && strncasecmp(s, "https", 5) == 0);
    bool is_stream = scheme_len == 3 && (strncasecmp(s, "tcp", 3) == 0 || strncasecmp(s, "udp", 3) == 0);
    if (want_stream) {
        if (!is_stream || !has_port || h != auth)
            return URL_WRONG_KIND;
        if (!(auth_end == len || (auth_end + 1 == len && s[auth_end] == '/')))
            return URL_WRONG_KIND;
        return URL_OK;
    }
    return is_http ? URL_OK : URL_WRONG_KIND;
}

static bool check_url(vctx *c, const sv_value *v, const char *ptr, bool want_stream, bool kind_known)
{
    if (!check_string(c, v, ptr, 1, URL_MAX_CHARS))
        return false;
    url_verdict verdict = url_check(v, want_stream);
    if (verdict == URL_OK)
        return true;
    if (verdict == URL_MALFORMED) {
        fail(c, "BadFormatURI", ptr, "'%s' must be an absolute URL such as %s", ptr_leaf(ptr),
             want_stream ? "tcp://host:514" : "https://host/path");
        return false;
    }
    if (!kind_known) /* type invalid or missing: its own error says so */
        return true;
    if (want_stream)
        fail(c, "DoesNotMatchPattern", ptr, "'%s' must be tcp://host:port or udp://host:port for syslog",
             ptr_leaf(ptr));
    else
        fail(c, "DoesNotMatchPattern", ptr, "'%s' must be an http:// or https:// URL", ptr_leaf(ptr));
    return false;
}

static void validate_forwarding(vctx *c, const sv_value *f, const char *base, sv_value *out)
{
    char p[PTR_MAX];
    check_unknown_members(c, f, base, fwd_members);

    const sv_value *type = sv_object_get(f, "type");
    int type_idx = -1;
    require(c, f, "type", base);
    if (type) {
        json_pointer_join(p, sizeof p, base, "type");
        type_idx = check_enum(c, type, p, fwd_types);
        if (type_idx >= 0)
            put_clone(c, out, "type", type);
    }
    bool is_syslog = type_idx == 3;

    const sv_value *v = sv_object_get(f, "forwarding_enabled");
    json_pointer_join(p, sizeof p, base, "forwarding_enabled");
    if (!v)
        put(c, out, "forwarding_enabled", sv_bool(false));
    else if (expect_type(c, v, SV_BOOL, p))
        put_clone(c, out, "forwarding_enabled", v);

    require(c, f, "event_url", base);
    if ((v = sv_object_get(f, "event_url"))) {
        json_pointer_join(p, sizeof p, base, "event_url");
        bool ok;
        if (type_idx >= 0) {
            ok = check_url(c, v, p, is_syslog, true);
        } else {
            /* Unknown type: accept either kind, but it must be a URL. */
            ok = check_url(c, v, p, false, false);
        }
        if (ok)
            put_clone(c, out, "event_url", v);
    }

    const sv_value *ack = sv_object_get(f, "ack_url");
    const sv_value *chan = sv_object_get(f, "channel_id");
    if (ack) {
        json_pointer_join(p, sizeof p, base, "ack_url");
        if (check_url(c, ack, p, false, true))
            put_clone(c, out, "ack_url", ack);
        if (!chan)
            fail(c, "IsDependentOn", p, "'ack_url' requires 'channel_id' (give both or neither)");
    }
    if (chan) {
        json_pointer_join(p, sizeof p, base, "channel_id");
        if (check_string(c, chan, p, 1, ID_MAX_CHARS))
            put_clone(c, out, "channel_id", chan);
        if (!ack)
            fail(c, "IsDependentOn", p, "'channel_id' requires 'ack_url' (give both or neither)");
    }

    static const struct { const char *key; size_t max; } strs[] = {
        {"public_cert", CERT_MAX_CHARS}, {"index", SHORT_TEXT_MAX},   {"vault_config_id", ID_MAX_CHARS},
        {"vault_secret_id", ID_MAX_CHARS}, {"secret", SECRET_MAX_CHARS}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        if (!(v = sv_object_get(f, strs[i].key)))
            continue;
        json_pointer_join(p, sizeof p, base, strs[i].key);
        if (check_string(c, v, p, 0, strs[i].max))
            put_clone(c, out, strs[i].key, v);
    }
}

/* ------------------------------------------------------------------ */
/* Partition overrides, UI metadata, redaction fields                    */

static const char *const override_members[] = {"warm_storage", "cold_storage", NULL};

static void validate_overrides(vctx *c, const sv_value *o, const char *base)
{
    if (!expect_type(c, o, SV_OBJECT, base))
        return;
    for (size_t i = 0; i < o->u.obj.count; i++) {
        const sv_member *m = &o->u.obj.members[i];
        char p[PTR_MAX], q[PTR_MAX];
        json_pointer_join(p, sizeof p, base, m->key);
        size_t n = sv_utf8_length(m->key, m->key_len);
        if (n == 0) {
            fail(c, "InvalidPropertyName", p, "a partition value cannot be empty");
            continue;
        }
        if (n > PARTITION_KEY_MAX) {
            fail(c, "InvalidPropertyName", p, "a partition value cannot have more than %d characters",
                 PARTITION_KEY_MAX);
            continue;
        }
        if (!expect_type(c, m->value, SV_OBJECT, p))
            continue;
        check_unknown_members(c, m->value, p, override_members);
        const sv_value *v;
        if ((v = sv_object_get(m->value, "warm_storage"))) {
            json_pointer_join(q, sizeof q, p, "warm_storage");
            check_duration(c, v, q, DUR_WARM);
        }
        if ((v = sv_object_get(m->value, "cold_storage"))) {
            json_pointer_join(q, sizeof q, p, "cold_storage");
            check_duration(c, v, q, DUR_COLD);
        }
    }
}

static const char *const ui_members[] = {"saved_searches", NULL};
static const char *const saved_search_members[] = {"title", "query", "start", "end", "order", "order_by", NULL};
static const char *const order_values[] = {"asc", "desc", NULL};

static void validate_ui_metadata(vctx *c, const sv_value *u, const char *base)
{
    check_unknown_members(c, u, base, ui_members);
    const sv_value *ss = sv_object_get(u, "saved_searches");
    if (!ss)
        return;
    char sp[PTR_MAX], p[PTR_MAX], q[PTR_MAX];
    json_pointer_join(sp, sizeof sp, base, "saved_searches");
    if (!expect_type(c, ss, SV_ARRAY, sp))
        return;
    if (ss->u.arr.count > SAVED_SEARCHES_MAX)
        fail(c, "AboveMaxItems", sp, "'saved_searches' cannot have more than %d items", SAVED_SEARCHES_MAX);
    for (size_t i = 0; i < ss->u.arr.count; i++) {
        const sv_value *s = ss->u.arr.items[i];
        ptr_index(p, sizeof p, sp, i);
        if (!expect_type(c, s, SV_OBJECT, p))
            continue;
        check_unknown_members(c, s, p, saved_search_members);
        require(c, s, "title", p);
        const sv_value *v;
        if ((v = sv_object_get(s, "title"))) {
            json_pointer_join(q, sizeof q, p, "title");
            check_string(c, v, q, 0, SHORT_TEXT_MAX);
        }
        if ((v = sv_object_get(s, "query"))) {
            json_pointer_join(q, sizeof q, p, "query");
            check_string(c, v, q, 0, QUERY_MAX);
        }
        static const char *const plain[] = {"start", "end", "order_by"};
        for (size_t k = 0; k < sizeof plain / sizeof plain[0]; k++) {
            if (!(v = sv_object_get(s, plain[k])))
                continue;
            json_pointer_join(q, sizeof q, p, plain[k]);
            check_string(c, v, q, 0, SHORT_TEXT_MAX);
        }
        if ((v = sv_object_get(s, "order"))) {
            json_pointer_join(q, sizeof q, p, "order");
            check_enum(c, v, q, order_values);
        }
    }
}

static const char *const redaction_values[] = {"message", "new", "old", "actor", "action", "status",
                                               "target", "tenant_id", "source", NULL};

static bool validate_redaction_fields(vctx *c, const sv_value *a, const char *base)
{
    if (!expect_type(c, a, SV_ARRAY, base))
        return false;
    size_t before = c->nerr;
    for (size_t i = 0; i < a->u.arr.count; i++) {
        char p[PTR_MAX];
        ptr_index(p, sizeof p, base, i);
        const sv_value *v = a->u.arr.items[i];
        if (check_enum(c, v, p, redaction_values) < 0)
            continue;
        for (size_t j = 0; j < i; j++) {
            if (sv_equal(a->u.arr.items[j], v)) {
                fail(c, "ItemNotUnique", p, "'%s' is listed twice in 'redaction_fields'", v->u.s.ptr);
                break;
            }
        }
    }
    return c->nerr == before;
}

/* ------------------------------------------------------------------ */
/* The config object                                                    */

typedef enum cfg_mode { MODE_CREATE, MODE_UPDATE } cfg_mode;

/* Every V3 member a client may set. */
static const char *const config_members[] = {
    "name", "version", "schema", "hot_storage", "warm_storage", "cold_storage", "retention",
    "query_result_retention", "cold_query_result_retention", "redact_service_config_id",
    "vault_service_config_id", "vault_key_id", "vault_sign", "forwarding_configuration",
    "partition_overrides", "ui_metadata", "shards", "datastore", "redaction_fields", "config_id", NULL};

/* Members a read-back config carries that an update may echo back. */
static const char *const update_extra_members[] = {"id", "created_at", "updated_at", "forwarding_status",
                                                   NULL};

static const char *const datastore_values[] = {"default", "postgresql", NULL};

static void check_top_members(vctx *c, const sv_value *req, cfg_mode mode)
{
    for (size_t i = 0; i < req->u.obj.count; i++) {
        const sv_member *m = &req->u.obj.members[i];
        if (in_list(config_members, m->key, m->key_len))
            continue;
        char ptr[PTR_MAX];
        json_pointer_join(ptr, sizeof ptr, "", m->key);
        if (in_list(update_extra_members, m->key, m->key_len)) {
            if (mode == MODE_UPDATE)
                continue;
            fail(c, "UnexpectedProperty", ptr, "'%s' is assigned by the server and cannot be given on create",
                 m->key);
            continue;
        }
        fail(c, "UnexpectedProperty", ptr, "'%s' is not a property of a config", m->key);
    }
}

/* Validates the members common to create and update and writes the
 * normalized config (without id/created_at/updated_at) into out, in the
 * member order of II §6.1. On update `stored` is the stored config: its
 * schema fixes the request's, or is kept when the request has none. */
static void validate_config_body(vctx *c, const sv_value *req, cfg_mode mode, int64_t want_version,
                                 const sv_value *stored, sv_value *out)
{
    const sv_value *v;

    check_top_members(c, req, mode);

    require(c, req, "name", "");
    if ((v = sv_object_get(req, "name")) && check_string(c, v, "/name", 1, NAME_MAX_CHARS))
        put_clone(c, out, "name", v);

    require(c, req, "version", "");
    if ((v = sv_object_get(req, "version")) && expect_type(c, v, SV_INT, "/version")) {
        if (v->u.i != want_version)
            fail(c, "NotEnumMember", "/version", "'version' must be %" PRId64 "%s", want_version,
                 mode == MODE_CREATE ? " for a new config" : " (the stored config's version)");
        else
            put_clone(c, out, "version", v);
    }

    const sv_value *stored_schema = stored ? sv_object_get(stored, "schema") : NULL;
    if (stored_schema && stored_schema->type != SV_OBJECT)
        stored_schema = NULL;
    if (mode == MODE_CREATE)
        require(c, req, "schema", "");
    if ((v = sv_object_get(req, "schema"))) {
        if (expect_type(c, v, SV_OBJECT, "/schema")) {
            sv_value *s = sv_object();
            if (s)
                validate_schema(c, v, "/schema", s, mode == MODE_UPDATE ? stored_schema : NULL);
            put(c, out, "schema", s);
        }
    } else if (stored_schema) {
        put_clone(c, out, "schema", stored_schema);
    }

    static const struct { const char *key; dur_rule rule; const char *dflt; } durs[] = {
        {"hot_storage", DUR_HOT, "14d"},
        {"warm_storage", DUR_WARM, NULL},
        {"cold_storage", DUR_COLD, NULL},
        {"retention", DUR_ANY, NULL},
        {"query_result_retention", DUR_ANY, "2d"},
        {"cold_query_result_retention", DUR_ANY, "2d"},
    };
    for (size_t i = 0; i < sizeof durs / sizeof durs[0]; i++) {
        char p[PTR_MAX];
        json_pointer_join(p, sizeof p, "", durs[i].key);
        v = sv_object_get(req, durs[i].key);
        if (!v) {
            if (durs[i].dflt)
                put(c, out, durs[i].key, sv_string(durs[i].dflt));
        } else if (check_duration(c, v, p, durs[i].rule)) {
            put_clone(c, out, durs[i].key, v);
        }
    }

    static const char *const nullable_ids[] = {"redact_service_config_id", "vault_service_config_id"};
    for (size_t i = 0; i < sizeof nullable_ids / sizeof nullable_ids[0]; i++) {
        char p[PTR_MAX];
        json_pointer_join(p, sizeof p, "", nullable_ids[i]);
        if (!(v = sv_object_get(req, nullable_ids[i])))
            continue;
        if (v->type == SV_NULL || check_string(c, v, p, 0, ID_MAX_CHARS))
            put_clone(c, out, nullable_ids[i], v);
    }

    if ((v = sv_object_get(req, "vault_key_id")) && check_string(c, v, "/vault_key_id", 0, ID_MAX_CHARS))
        put_clone(c, out, "vault_key_id", v);

    if (!(v = sv_object_get(req, "vault_sign")))
        put(c, out, "vault_sign", sv_bool(false));
    else if (expect_type(c, v, SV_BOOL, "/vault_sign"))
        put_clone(c, out, "vault_sign", v);

    if ((v = sv_object_get(req, "forwarding_configuration")) &&
        expect_type(c, v, SV_OBJECT, "/forwarding_configuration")) {
        sv_value *f = sv_object();
        if (f)
            validate_forwarding(c, v, "/forwarding_configuration", f);
        put(c, out, "forwarding_configuration", f);
    }

    if ((v = sv_object_get(req, "partition_overrides"))) {
        size_t before = c->nerr;
        validate_overrides(c, v, "/partition_overrides");
        if (c->nerr == before)
            put_clone(c, out, "partition_overrides", v);
    }

    if ((v = sv_object_get(req, "ui_metadata")) && expect_type(c, v, SV_OBJECT, "/ui_metadata")) {
        size_t before = c->nerr;
        validate_ui_metadata(c, v, "/ui_metadata");
        if (c->nerr == before)
            put_clone(c, out, "ui_metadata", v);
    }

    if ((v = sv_object_get(req, "shards")) && check_int_range(c, v, "/shards", 1, 100))
        put_clone(c, out, "shards", v);

    if ((v = sv_object_get(req, "datastore")) && check_enum(c, v, "/datastore", datastore_values) >= 0)
        put_clone(c, out, "datastore", v);

    if ((v = sv_object_get(req, "redaction_fields")) && validate_redaction_fields(c, v, "/redaction_fields"))
        put_clone(c, out, "redaction_fields", v);
}

/* Ends a validation: out-of-memory beats validation errors, which beat
 * success. */
static salog_status finish(vctx *c, sv_value *result, sv_value **out)
{
    *out = NULL;
    if (c->oom) {
        sv_free(result);
        c->err->status = SALOG_E_INTERNAL;
        salog_err_set(c->err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory while validating the config");
        return SALOG_E_INTERNAL;
    }
    if (c->nerr > 0) {
        sv_free(result);
        return SALOG_E_VALIDATION;
    }
    *out = result;
    return SALOG_OK;
}

static void fail_not_object(vctx *c, const sv_value *req)
{
    fail(c, req && req->type == SV_NULL ? "InvalidNull" : "InvalidObject", "/",
         "the request body must be a config object");
}

salog_status config_validate_create(const sv_value *req, sv_value **out, salog_err *err)
{
    vctx c = {err, 0, false};
    sv_value *result = NULL;

    if (!req || req->type != SV_OBJECT) {
        fail_not_object(&c, req);
        goto out;
    }
    result = sv_object();
    if (!result) {
        c.oom = true;
        goto out;
    }
    validate_config_body(&c, req, MODE_CREATE, CFG_VERSION, NULL, result);
out:
    return finish(&c, result, out);
}

salog_status config_validate_partition_overrides(const sv_value *overrides, const char *base, salog_err *err)
{
    vctx c = {err, 0, false};
    validate_overrides(&c, overrides, base ? base : "/");
    return c.nerr ? SALOG_E_VALIDATION : SALOG_OK;
}

salog_status config_validate_update(const sv_value *stored, const sv_value *req, sv_value **out, salog_err *err)
{
    vctx c = {err, 0, false};
    sv_value *result = NULL;
    const sv_value *v;

    if (!stored || stored->type != SV_OBJECT) {
        *out = NULL;
        salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "the stored config is not an object");
        return SALOG_E_INTERNAL;
    }
    if (!req || req->type != SV_OBJECT) {
        fail_not_object(&c, req);
        goto out;
    }
    result = sv_object();
    if (!result) {
        c.oom = true;
        goto out;
    }

    const sv_value *stored_id = sv_object_get(stored, "id");
    require(&c, req, "id", "");
    if ((v = sv_object_get(req, "id")) && expect_type(&c, v, SV_STRING, "/id") && !sv_equal(v, stored_id))
        fail(&c, "IsReadOnly", "/id", "'id' does not match the config being updated");
    put_clone(&c, result, "id", stored_id);

    /* updated_at is checked against the stored one by the storage layer;
     * created_at may be echoed back from a read and is ignored. */
    require(&c, req, "updated_at", "");
    if ((v = sv_object_get(req, "updated_at")))
        expect_type(&c, v, SV_STRING, "/updated_at");
    if ((v = sv_object_get(req, "created_at")))
        expect_type(&c, v, SV_STRING, "/created_at");

    const sv_value *sver = sv_object_get(stored, "version");
    int64_t want_version = sver && sver->type == SV_INT ? sver->u.i : CFG_VERSION;
    validate_config_body(&c, req, MODE_UPDATE, want_version, stored, result);

    /* A write-only secret survives an update that does not restate it. */
    sv_value *fwd = sv_object_get(result, "forwarding_configuration");
    const sv_value *stored_secret = sv_object_get(sv_object_get(stored, "forwarding_configuration"), "secret");
    if (fwd && stored_secret && !sv_object_get(fwd, "secret"))
        put_clone(&c, fwd, "secret", stored_secret);
    /* Delivery state is the forwarder's, never the client's. */
    if (fwd && (v = sv_object_get(stored, "forwarding_status")))
        put_clone(&c, result, "forwarding_status", v);

    put_clone(&c, result, "created_at", sv_object_get(stored, "created_at"));
    put_clone(&c, result, "updated_at", sv_object_get(stored, "updated_at"));
out:
    return finish(&c, result, out);
}

/* ------------------------------------------------------------------ */
/* Standard schema and default config                                    */

sv_value *config_standard_schema(void)
{
    static const struct { const char *id; const char *type; int size; bool required; } std[] = {
        {"timestamp", "datetime", 0, false}, {"actor", "string", 128, false},
        {"action", "string", 32, false},     {"status", "string", 32, false},
        {"target", "string", 128, false},    {"source", "string", 128, false},
        {"tenant_id", "string", 128, false}, {"old", "string", FIELD_SIZE_MAX, false},
        {"new", "string", FIELD_SIZE_MAX, false}, {"message", "string", FIELD_SIZE_MAX, true},
    };
    sv_value *schema = sv_object();
    sv_value *fields = sv_array();
    if (!schema || !fields)
        goto fail;
    for (size_t i = 0; i < sizeof std / sizeof std[0]; i++) {
        sv_value *f = sv_object();
        if (!f || sv_object_set_str(f, "id", std[i].id) != 0 || sv_object_set_str(f, "type", std[i].type) != 0 ||
            (std[i].size && sv_object_set_int(f, "size", std[i].size) != 0) ||
            (std[i].required && sv_object_set_bool(f, "required", true) != 0)) {
            sv_free(f);
            goto fail;
        }
        if (sv_array_push(fields, f) != 0)
            goto fail;
    }
    if (sv_object_set(schema, "fields", fields) != 0) {
        fields = NULL; /* freed by sv_object_set */
        goto fail;
    }
    fields = NULL;
    if (sv_object_set_bool(schema, "client_signable", true) != 0 ||
        sv_object_set_bool(schema, "tamper_proofing", true) != 0 ||
        sv_object_set_str(schema, "save_malformed", "reject") != 0)
        goto fail;
    return schema;
fail:
    sv_free(fields);
    sv_free(schema);
    return NULL;
}

sv_value *config_default(const char *name)
{
    sv_value *cfg = sv_object();
    sv_value *schema = config_standard_schema();
    if (!cfg || !schema)
        goto fail;
    if (sv_object_set_str(cfg, "name", name ? name : "") != 0 || sv_object_set_int(cfg, "version", CFG_VERSION) != 0)
        goto fail;
    int rc = sv_object_set(cfg, "schema", schema);
    schema = NULL; /* owned by cfg, or freed on failure */
    if (rc != 0 || sv_object_set_str(cfg, "hot_storage", "14d") != 0 ||
        sv_object_set_str(cfg, "query_result_retention", "2d") != 0 ||
        sv_object_set_str(cfg, "cold_query_result_retention", "2d") != 0 ||
        sv_object_set_bool(cfg, "vault_sign", false) != 0)
        goto fail;
    return cfg;
fail:
    sv_free(schema);
    sv_free(cfg);
    return NULL;
}
