/* Unit tests for model/config_schema.c: config create/update validation
 * (II §6.1, §6.2, I.6, I.7a), the standard schema and the default config.
 * Request bodies are written as JSON text and turned into sv_value by a
 * small json-c based helper (test-only; the real decoder is codec's). */
#include <criterion/criterion.h>

#include <json.h>
#include <stdio.h>
#include <string.h>

#include "codec/error.h"
#include "codec/value.h"
#include "model/config_schema.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

static sv_value *from_jc(struct json_object *j)
{
    switch (json_object_get_type(j)) {
    case json_type_null: return sv_null();
    case json_type_boolean: return sv_bool(json_object_get_boolean(j));
    case json_type_int: return sv_int(json_object_get_int64(j));
    case json_type_double: return sv_float(json_object_get_double(j));
    case json_type_string: return sv_string_len(json_object_get_string(j), (size_t)json_object_get_string_len(j));
    case json_type_array: {
        sv_value *a = sv_array();
        for (size_t i = 0; a && i < json_object_array_length(j); i++) {
            sv_value *item = from_jc(json_object_array_get_idx(j, i));
            cr_assert_not_null(item);
            cr_assert_eq(sv_array_push(a, item), 0);
        }
        return a;
    }
    case json_type_object: {
        sv_value *o = sv_object();
        json_object_object_foreach(j, key, val) {
            sv_value *item = from_jc(val);
            cr_assert_not_null(item);
            cr_assert_eq(sv_object_set(o, key, item), 0);
        }
        return o;
    }
    }
    return NULL;
}

static sv_value *J(const char *text)
{
    struct json_object *j = json_tokener_parse(text);
    cr_assert(j != NULL || strcmp(text, "null") == 0, "bad test JSON: %s", text);
    sv_value *v = from_jc(j);
    json_object_put(j);
    cr_assert_not_null(v);
    return v;
}

static void err_dump(const salog_err *e, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < e->count && len < n; i++) {
        int w = snprintf(buf + len, n - len, "  %s at %s: %s\n", e->items[i].code, e->items[i].source,
                         e->items[i].detail);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

static bool err_has(const salog_err *e, const char *code, const char *source)
{
    for (size_t i = 0; i < e->count; i++)
        if (strcmp(e->items[i].code, code) == 0 && strcmp(e->items[i].source, source) == 0)
            return true;
    return false;
}

#define EXPECT_ERR(e, code, src)                                                                       \
    do {                                                                                               \
        char dump_[8192];                                                                              \
        err_dump((e), dump_, sizeof dump_);                                                            \
        cr_expect(err_has((e), (code), (src)), "expected %s at %s; got:\n%s", (code), (src), dump_);   \
    } while (0)

#define EXPECT_OK(st, e)                                                                               \
    do {                                                                                               \
        salog_status st_ = (st);                                                                       \
        char dump_[8192];                                                                              \
        err_dump((e), dump_, sizeof dump_);                                                            \
        cr_assert_eq(st_, SALOG_OK, "expected success; got:\n%s", dump_);                              \
    } while (0)

static const char *const MINIMAL =
    "{\"name\":\"cfg\",\"version\":3,\"schema\":{\"fields\":[{\"id\":\"message\",\"type\":\"string\"}]}}";

/* Validates MINIMAL with member `key` set to the JSON `value`. Expects a
 * validation error (exactly one item unless `nitems` is 0) and checks it. */
static void create_with_expect(const char *key, const char *value, const char *code, const char *source)
{
    sv_value *req = J(MINIMAL);
    cr_assert_eq(sv_object_set(req, key, J(value)), 0);
    salog_err e;
    salog_err_init(&e);
    sv_value *out = (sv_value *)1;
    salog_status st = config_validate_create(req, &out, &e);
    cr_expect_eq(st, SALOG_E_VALIDATION, "%s=%s should fail", key, value);
    cr_expect_eq(e.status, SALOG_E_VALIDATION);
    cr_expect_null(out);
    EXPECT_ERR(&e, code, source);
    cr_expect_eq(e.count, 1, "%s=%s: expected exactly one error, got %zu", key, value, e.count);
    sv_free(req);
}

/* Validates MINIMAL with member `key` set to `value`, expecting success;
 * returns the normalized config. */
static sv_value *create_with_ok(const char *key, const char *value)
{
    sv_value *req = J(MINIMAL);
    if (key)
        cr_assert_eq(sv_object_set(req, key, J(value)), 0);
    salog_err e;
    salog_err_init(&e);
    sv_value *out = NULL;
    EXPECT_OK(config_validate_create(req, &out, &e), &e);
    cr_assert_not_null(out);
    sv_free(req);
    return out;
}

/* Validates a whole request text; returns the status, fills e/out. */
static salog_status create_text(const char *text, salog_err *e, sv_value **out)
{
    sv_value *req = J(text);
    salog_err_init(e);
    salog_status st = config_validate_create(req, out, e);
    sv_free(req);
    return st;
}

/* A create with one schema field given as JSON text. */
static void field_expect(const char *field, const char *code, const char *source)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"name\":\"c\",\"version\":3,\"schema\":{\"fields\":[{\"id\":\"message\",\"type\":\"string\"},%s]}}",
             field);
    salog_err e;
    sv_value *out = NULL;
    cr_expect_eq(create_text(text, &e, &out), SALOG_E_VALIDATION, "field %s should fail", field);
    cr_expect_null(out);
    EXPECT_ERR(&e, code, source);
    cr_expect_eq(e.count, 1, "field %s: expected one error, got %zu", field, e.count);
}

static void expect_str_member(const sv_value *obj, const char *key, const char *want)
{
    const char *got = sv_object_get_str(obj, key);
    cr_expect(got && strcmp(got, want) == 0, "'%s' = %s, want %s", key, got ? got : "(absent)", want);
}

static char *repeat(const char *unit, size_t n)
{
    size_t u = strlen(unit);
    char *s = malloc(u * n + 1);
    cr_assert_not_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * u, unit, u);
    s[u * n] = '\0';
    return s;
}

/* ------------------------------------------------------------------ */
/* Valid configs and defaults                                           */

Test(config_create, e14_example)
{
    const char *text = "{\"name\":\"cfg\",\"version\":3,\"schema\":{\"tamper_proofing\":true,\"client_signable\":true,"
                       "\"fields\":[{\"id\":\"message\",\"type\":\"string\",\"size\":32766,\"required\":true},"
                       "{\"id\":\"field_int\",\"type\":\"integer\"}]}}";
    salog_err e;
    sv_value *out = NULL;
    EXPECT_OK(create_text(text, &e, &out), &e);
    expect_str_member(out, "name", "cfg");
    cr_expect_eq(sv_object_get(out, "version")->u.i, 3);
    expect_str_member(out, "hot_storage", "14d");
    expect_str_member(out, "query_result_retention", "2d");
    expect_str_member(out, "cold_query_result_retention", "2d");
    cr_expect(sv_equal(sv_object_get(out, "vault_sign"), &(sv_value){.type = SV_BOOL, .u.b = false}));
    cr_expect_null(sv_object_get(out, "id"));
    cr_expect_null(sv_object_get(out, "created_at"));
    cr_expect_null(sv_object_get(out, "updated_at"));
    const sv_value *schema = sv_object_get(out, "schema");
    cr_assert_not_null(schema);
    cr_expect(sv_object_get(schema, "client_signable")->u.b);
    cr_expect(sv_object_get(schema, "tamper_proofing")->u.b);
    expect_str_member(schema, "save_malformed", "reject");
    const sv_value *fields = sv_object_get(schema, "fields");
    cr_assert_eq(fields->u.arr.count, 2);
    cr_expect_eq(sv_object_get(fields->u.arr.items[0], "size")->u.i, 32766);
    cr_expect(sv_object_get(fields->u.arr.items[0], "required")->u.b);
    cr_expect_null(sv_object_get(fields->u.arr.items[1], "size"), "integer fields get no size");
    sv_free(out);
}

Test(config_create, defaults_filled)
{
    sv_value *out = create_with_ok(NULL, NULL);
    expect_str_member(out, "hot_storage", "14d");
    expect_str_member(out, "query_result_retention", "2d");
    expect_str_member(out, "cold_query_result_retention", "2d");
    cr_expect_eq(sv_object_get(out, "vault_sign")->type, SV_BOOL);
    cr_expect_not(sv_object_get(out, "vault_sign")->u.b);
    cr_expect_null(sv_object_get(out, "warm_storage"));
    cr_expect_null(sv_object_get(out, "cold_storage"));
    cr_expect_null(sv_object_get(out, "forwarding_configuration"));
    const sv_value *schema = sv_object_get(out, "schema");
    cr_expect_not(sv_object_get(schema, "client_signable")->u.b);
    cr_expect(sv_object_get(schema, "tamper_proofing")->u.b);
    expect_str_member(schema, "save_malformed", "reject");
    const sv_value *f0 = sv_object_get(schema, "fields")->u.arr.items[0];
    cr_expect_eq(sv_object_get(f0, "size")->u.i, 32766);
    sv_free(out);
}

Test(config_create, full_valid_config_kept)
{
    const char *text =
        "{\"name\":\"full \u00e9\",\"version\":3,\"config_id\":\"pci_ignored\","
        "\"schema\":{\"client_signable\":false,\"tamper_proofing\":false,\"save_malformed\":\"unredacted\","
        " \"vendor_id\":\"v\",\"json_path\":\"$.x\",\"fields\":["
        "  {\"id\":\"message\",\"type\":\"text\",\"name\":\"Message\",\"description\":\"d\",\"required\":true,"
        "   \"redact\":true,\"ui_default_visible\":true,\"size\":100},"
        "  {\"id\":\"tenant_id\",\"type\":\"string\",\"partitioned\":true},"
        "  {\"id\":\"blob\",\"type\":\"string-unindexed\"},"
        "  {\"id\":\"n\",\"type\":\"integer\",\"redact\":false},"
        "  {\"id\":\"ok\",\"type\":\"boolean\"},{\"id\":\"at_2\",\"type\":\"datetime\"}]},"
        "\"hot_storage\":\"7days\",\"warm_storage\":\"10years\",\"cold_storage\":\"6months\",\"retention\":\"3y\","
        "\"query_result_retention\":\"12hours\",\"cold_query_result_retention\":\"1w\","
        "\"redact_service_config_id\":null,\"vault_service_config_id\":\"pvi_x\",\"vault_key_id\":\"pvi_key\","
        "\"vault_sign\":true,"
        "\"forwarding_configuration\":{\"type\":\"splunk\",\"forwarding_enabled\":true,"
        " \"event_url\":\"https://splunk.example:8088/services/collector/event\","
        " \"ack_url\":\"https://splunk.example:8088/services/collector/ack\",\"channel_id\":\"c1\","
        " \"public_cert\":\"LS0t\",\"index\":\"main\",\"vault_config_id\":\"v1\",\"vault_secret_id\":\"s1\","
        " \"secret\":\"hec-token\"},"
        "\"partition_overrides\":{\"t1\":{\"warm_storage\":\"30d\",\"cold_storage\":\"0d\"},\"t/2\":{}},"
        "\"ui_metadata\":{\"saved_searches\":[{\"title\":\"t\",\"query\":\"actor:bob\",\"start\":\"7d\","
        " \"end\":\"0d\",\"order\":\"asc\",\"order_by\":\"received_at\"}]},"
        "\"shards\":100,\"datastore\":\"postgresql\",\"redaction_fields\":[\"message\",\"actor\"]}";
    salog_err e;
    sv_value *out = NULL;
    EXPECT_OK(create_text(text, &e, &out), &e);
    cr_expect_null(sv_object_get(out, "config_id"), "config_id is ignored");
    expect_str_member(out, "hot_storage", "7days");
    expect_str_member(out, "cold_storage", "6months");
    cr_expect_eq(sv_object_get(out, "redact_service_config_id")->type, SV_NULL);
    const sv_value *fwd = sv_object_get(out, "forwarding_configuration");
    expect_str_member(fwd, "secret", "hec-token");
    expect_str_member(fwd, "channel_id", "c1");
    cr_expect(sv_object_get(fwd, "forwarding_enabled")->u.b);
    cr_expect_not_null(sv_object_get(sv_object_get(out, "partition_overrides"), "t/2"));
    cr_expect_eq(sv_object_get(out, "shards")->u.i, 100);
    const sv_value *schema = sv_object_get(out, "schema");
    cr_expect_not(sv_object_get(schema, "tamper_proofing")->u.b);
    expect_str_member(schema, "save_malformed", "unredacted");
    const sv_value *f0 = sv_object_get(schema, "fields")->u.arr.items[0];
    cr_expect_eq(sv_object_get(f0, "size")->u.i, 100);
    expect_str_member(f0, "description", "d");
    sv_free(out);
}

Test(config_create, forwarding_defaults_and_types)
{
    sv_value *out = create_with_ok("forwarding_configuration",
                                   "{\"type\":\"http\",\"event_url\":\"http://127.0.0.1:9000/hook\"}");
    const sv_value *fwd = sv_object_get(out, "forwarding_configuration");
    cr_expect_eq(sv_object_get(fwd, "forwarding_enabled")->type, SV_BOOL);
    cr_expect_not(sv_object_get(fwd, "forwarding_enabled")->u.b);
    sv_free(out);
    sv_free(create_with_ok("forwarding_configuration", "{\"type\":\"syslog\",\"event_url\":\"udp://10.0.0.1:514\"}"));
    sv_free(create_with_ok("forwarding_configuration", "{\"type\":\"syslog\",\"event_url\":\"tcp://[::1]:6514\"}"));
    sv_free(create_with_ok("forwarding_configuration", "{\"type\":\"ngsiem\",\"event_url\":\"https://h.example\"}"));
    sv_free(create_with_ok("forwarding_configuration",
                           "{\"type\":\"splunk\",\"event_url\":\"https://user@h.example/p?q=1#f\"}"));
}

Test(config_create, boundaries_accepted)
{
    sv_free(create_with_ok("hot_storage", "\"14d\""));
    sv_free(create_with_ok("hot_storage", "\"2w\""));
    sv_free(create_with_ok("hot_storage", "\"336hours\""));
    sv_free(create_with_ok("hot_storage", "\"0d\""));
    sv_free(create_with_ok("cold_storage", "\"0d\""));
    sv_free(create_with_ok("cold_storage", "\"0years\""));
    sv_free(create_with_ok("cold_storage", "\"180d\""));
    sv_free(create_with_ok("warm_storage", "\"3650d\""));
    sv_free(create_with_ok("shards", "1"));
    sv_free(create_with_ok("datastore", "\"default\""));
    sv_free(create_with_ok("redaction_fields", "[]"));
    sv_free(create_with_ok("vault_service_config_id", "null"));
    sv_free(create_with_ok("ui_metadata", "{}"));
    sv_free(create_with_ok("partition_overrides", "{}"));
    char *name255 = repeat("\u00e9", 255); /* 255 code points, 510 bytes */
    char json[1024];
    snprintf(json, sizeof json, "\"%s\"", name255);
    sv_free(create_with_ok("name", json));
    free(name255);
}

/* ------------------------------------------------------------------ */
/* Top-level errors                                                     */

Test(config_create, required_members)
{
    salog_err e;
    sv_value *out = NULL;
    cr_expect_eq(create_text("{}", &e, &out), SALOG_E_VALIDATION);
    EXPECT_ERR(&e, "FieldRequired", "/name");
    EXPECT_ERR(&e, "FieldRequired", "/version");
    EXPECT_ERR(&e, "FieldRequired", "/schema");
    cr_expect_eq(e.count, 3);
    cr_expect_null(out);
}

Test(config_create, body_not_object)
{
    salog_err e;
    sv_value *out = NULL;
    cr_expect_eq(create_text("[1]", &e, &out), SALOG_E_VALIDATION);
    EXPECT_ERR(&e, "InvalidObject", "/");
    sv_value *n = sv_null();
    salog_err_init(&e);
    cr_expect_eq(config_validate_create(n, &out, &e), SALOG_E_VALIDATION);
    EXPECT_ERR(&e, "InvalidNull", "/");
    sv_free(n);
}

Test(config_create, name_errors)
{
    create_with_expect("name", "\"\"", "BelowMinLength", "/name");
    create_with_expect("name", "5", "InvalidString", "/name");
    create_with_expect("name", "null", "InvalidNull", "/name");
    create_with_expect("name", "1.5", "InvalidString", "/name");
    char *long_name = repeat("a", 256);
    char json[512];
    snprintf(json, sizeof json, "\"%s\"", long_name);
    create_with_expect("name", json, "AboveMaxLength", "/name");
    free(long_name);
}

Test(config_create, version_errors)
{
    create_with_expect("version", "2", "NotEnumMember", "/version");
    create_with_expect("version", "1", "NotEnumMember", "/version");
    create_with_expect("version", "3.0", "InvalidInteger", "/version");
    create_with_expect("version", "\"3\"", "InvalidInteger", "/version");
    create_with_expect("version", "null", "InvalidNull", "/version");
}

Test(config_create, server_assigned_and_unknown_members)
{
    create_with_expect("id", "\"pci_x\"", "UnexpectedProperty", "/id");
    create_with_expect("created_at", "\"2025-01-01T00:00:00Z\"", "UnexpectedProperty", "/created_at");
    create_with_expect("updated_at", "\"2025-01-01T00:00:00Z\"", "UnexpectedProperty", "/updated_at");
    create_with_expect("forwarding_status", "{}", "UnexpectedProperty", "/forwarding_status");
    create_with_expect("foo", "1", "UnexpectedProperty", "/foo");
    create_with_expect("a/b~c", "1", "UnexpectedProperty", "/a~1b~0c");
    sv_free(create_with_ok("config_id", "\"pci_whatever\""));
}

Test(config_create, duration_errors)
{
    create_with_expect("hot_storage", "\"15d\"", "NotWithinRange", "/hot_storage");
    create_with_expect("hot_storage", "\"3w\"", "NotWithinRange", "/hot_storage");
    create_with_expect("hot_storage", "\"abc\"", "BadFormatPangeaDuration", "/hot_storage");
    create_with_expect("hot_storage", "14", "InvalidString", "/hot_storage");
    create_with_expect("hot_storage", "null", "InvalidNull", "/hot_storage");
    create_with_expect("cold_storage", "\"90d\"", "NotWithinRange", "/cold_storage");
    create_with_expect("cold_storage", "\"179d\"", "NotWithinRange", "/cold_storage");
    create_with_expect("cold_storage", "\"1s\"", "NotWithinRange", "/cold_storage");
    create_with_expect("warm_storage", "\"11y\"", "NotWithinRange", "/warm_storage");
    create_with_expect("warm_storage", "\"3651d\"", "NotWithinRange", "/warm_storage");
    create_with_expect("warm_storage", "\"10 years\"", "BadFormatPangeaDuration", "/warm_storage");
    create_with_expect("retention", "\"5 d\"", "BadFormatPangeaDuration", "/retention");
    create_with_expect("retention", "\"-5d\"", "BadFormatPangeaDuration", "/retention");
    create_with_expect("query_result_retention", "1.5", "InvalidString", "/query_result_retention");
    create_with_expect("query_result_retention", "\"2D\"", "BadFormatPangeaDuration", "/query_result_retention");
    create_with_expect("cold_query_result_retention", "\"\"", "BadFormatPangeaDuration",
                       "/cold_query_result_retention");
    create_with_expect("cold_query_result_retention", "[]", "InvalidString", "/cold_query_result_retention");
}

Test(config_create, scalar_member_errors)
{
    create_with_expect("redact_service_config_id", "5", "InvalidString", "/redact_service_config_id");
    create_with_expect("vault_service_config_id", "true", "InvalidString", "/vault_service_config_id");
    create_with_expect("vault_key_id", "null", "InvalidNull", "/vault_key_id");
    char *long_id = repeat("k", 256);
    char json[512];
    snprintf(json, sizeof json, "\"%s\"", long_id);
    create_with_expect("vault_key_id", json, "AboveMaxLength", "/vault_key_id");
    free(long_id);
    create_with_expect("vault_sign", "\"yes\"", "InvalidBool", "/vault_sign");
    create_with_expect("vault_sign", "null", "InvalidNull", "/vault_sign");
    create_with_expect("vault_sign", "1", "InvalidBool", "/vault_sign");
    create_with_expect("shards", "0", "NotWithinRange", "/shards");
    create_with_expect("shards", "101", "NotWithinRange", "/shards");
    create_with_expect("shards", "-1", "NotWithinRange", "/shards");
    create_with_expect("shards", "1.0", "InvalidInteger", "/shards");
    create_with_expect("shards", "true", "InvalidInteger", "/shards");
    create_with_expect("datastore", "\"mysql\"", "NotEnumMember", "/datastore");
    create_with_expect("datastore", "\"Default\"", "NotEnumMember", "/datastore");
    create_with_expect("datastore", "7", "InvalidString", "/datastore");
}

Test(config_create, redaction_fields_errors)
{
    create_with_expect("redaction_fields", "\"message\"", "InvalidArray", "/redaction_fields");
    create_with_expect("redaction_fields", "null", "InvalidNull", "/redaction_fields");
    create_with_expect("redaction_fields", "[\"message\",\"foo\"]", "NotEnumMember", "/redaction_fields/1");
    create_with_expect("redaction_fields", "[\"actor\",\"message\",\"actor\"]", "ItemNotUnique",
                       "/redaction_fields/2");
    create_with_expect("redaction_fields", "[1]", "InvalidString", "/redaction_fields/0");
    sv_value *out = create_with_ok("redaction_fields",
                                   "[\"message\",\"new\",\"old\",\"actor\",\"action\",\"status\",\"target\","
                                   "\"tenant_id\",\"source\"]");
    cr_expect_eq(sv_object_get(out, "redaction_fields")->u.arr.count, 9);
    sv_free(out);
}

Test(config_create, ui_metadata_errors)
{
    create_with_expect("ui_metadata", "[]", "InvalidObject", "/ui_metadata");
    create_with_expect("ui_metadata", "{\"x\":1}", "UnexpectedProperty", "/ui_metadata/x");
    create_with_expect("ui_metadata", "{\"saved_searches\":{}}", "InvalidArray", "/ui_metadata/saved_searches");
    create_with_expect("ui_metadata", "{\"saved_searches\":[{\"query\":\"x\"}]}", "FieldRequired",
                       "/ui_metadata/saved_searches/0/title");
    create_with_expect("ui_metadata", "{\"saved_searches\":[{\"title\":\"a\"},{\"title\":\"b\",\"order\":\"up\"}]}",
                       "NotEnumMember", "/ui_metadata/saved_searches/1/order");
    create_with_expect("ui_metadata", "{\"saved_searches\":[{\"title\":\"a\",\"color\":\"red\"}]}",
                       "UnexpectedProperty", "/ui_metadata/saved_searches/0/color");
    create_with_expect("ui_metadata", "{\"saved_searches\":[{\"title\":5}]}", "InvalidString",
                       "/ui_metadata/saved_searches/0/title");
    create_with_expect("ui_metadata", "{\"saved_searches\":[7]}", "InvalidObject", "/ui_metadata/saved_searches/0");
}

/* ------------------------------------------------------------------ */
/* Forwarding                                                           */

#define FWD "forwarding_configuration"

Test(config_forwarding, type_and_url)
{
    create_with_expect(FWD, "null", "InvalidNull", "/forwarding_configuration");
    create_with_expect(FWD, "[]", "InvalidObject", "/forwarding_configuration");
    create_with_expect(FWD, "{\"event_url\":\"https://h\"}", "FieldRequired", "/forwarding_configuration/type");
    create_with_expect(FWD, "{\"type\":\"kafka\",\"event_url\":\"https://h\"}", "NotEnumMember",
                       "/forwarding_configuration/type");
    create_with_expect(FWD, "{\"type\":\"splunk\"}", "FieldRequired", "/forwarding_configuration/event_url");
    create_with_expect(FWD, "{\"type\":\"splunk\",\"event_url\":\"tcp://h:514\"}", "DoesNotMatchPattern",
                       "/forwarding_configuration/event_url");
    create_with_expect(FWD, "{\"type\":\"http\",\"event_url\":\"ftp://h/x\"}", "DoesNotMatchPattern",
                       "/forwarding_configuration/event_url");
    create_with_expect(FWD, "{\"type\":\"splunk\",\"event_url\":\"not a url\"}", "BadFormatURI",
                       "/forwarding_configuration/event_url");
    create_with_expect(FWD, "{\"type\":\"splunk\",\"event_url\":\"https://\"}", "BadFormatURI",
                       "/forwarding_configuration/event_url");
    create_with_expect(FWD, "{\"type\":\"splunk\",\"event_url\":\"https://h:99999/\"}", "BadFormatURI",
                       "/forwarding_configuration/event_url");
    create_with_expect(FWD, "{\"type\":\"splunk\",\"event_url\":\"\"}", "BelowMinLength",
                       "/forwarding_configuration/event_url");
    create_with_expect(FWD, "{\"type\":\"splunk\",\"event_url\":5}", "InvalidString",
                       "/forwarding_configuration/event_url");
    create_with_expect(FWD, "{\"type\":\"syslog\",\"event_url\":\"https://h/x\"}", "DoesNotMatchPattern",
                       "/forwarding_configuration/event_url");
    create_with_expect(FWD, "{\"type\":\"syslog\",\"event_url\":\"tcp://h\"}", "DoesNotMatchPattern",
                       "/forwarding_configuration/event_url");
    create_with_expect(FWD, "{\"type\":\"syslog\",\"event_url\":\"udp://h:514/path\"}", "DoesNotMatchPattern",
                       "/forwarding_configuration/event_url");
}

Test(config_forwarding, members)
{
    create_with_expect(FWD, "{\"type\":\"splunk\",\"event_url\":\"https://h\",\"ack_url\":\"https://h/ack\"}",
                       "IsDependentOn", "/forwarding_configuration/ack_url");
    create_with_expect(FWD, "{\"type\":\"splunk\",\"event_url\":\"https://h\",\"channel_id\":\"c\"}", "IsDependentOn",
                       "/forwarding_configuration/channel_id");
    create_with_expect(FWD,
                       "{\"type\":\"splunk\",\"event_url\":\"https://h\",\"ack_url\":\"bad\",\"channel_id\":\"c\"}",
                       "BadFormatURI", "/forwarding_configuration/ack_url");
    create_with_expect(FWD, "{\"type\":\"splunk\",\"event_url\":\"https://h\",\"forwarding_enabled\":\"true\"}",
                       "InvalidBool", "/forwarding_configuration/forwarding_enabled");
    create_with_expect(FWD, "{\"type\":\"splunk\",\"event_url\":\"https://h\",\"token\":\"x\"}", "UnexpectedProperty",
                       "/forwarding_configuration/token");
    create_with_expect(FWD, "{\"type\":\"splunk\",\"event_url\":\"https://h\",\"index\":1}", "InvalidString",
                       "/forwarding_configuration/index");
    create_with_expect(FWD, "{\"type\":\"splunk\",\"event_url\":\"https://h\",\"public_cert\":null}", "InvalidNull",
                       "/forwarding_configuration/public_cert");
    create_with_expect(FWD, "{\"type\":\"splunk\",\"event_url\":\"https://h\",\"vault_secret_id\":[]}",
                       "InvalidString", "/forwarding_configuration/vault_secret_id");

    char *secret = repeat("s", 4097);
    size_t n = strlen(secret) + 128;
    char *json = malloc(n);
    cr_assert_not_null(json);
    snprintf(json, n, "{\"type\":\"http\",\"event_url\":\"https://h\",\"secret\":\"%s\"}", secret);
    create_with_expect(FWD, json, "AboveMaxLength", "/forwarding_configuration/secret");
    secret[4096] = '\0';
    snprintf(json, n, "{\"type\":\"http\",\"event_url\":\"https://h\",\"secret\":\"%s\"}", secret);
    sv_free(create_with_ok(FWD, json));
    free(json);
    free(secret);
}

/* ------------------------------------------------------------------ */
/* Partition overrides                                                  */

Test(config_overrides, errors)
{
    create_with_expect("partition_overrides", "[]", "InvalidObject", "/partition_overrides");
    create_with_expect("partition_overrides", "{\"t1\":{\"warm_storage\":\"x\"}}", "BadFormatPangeaDuration",
                       "/partition_overrides/t1/warm_storage");
    create_with_expect("partition_overrides", "{\"t1\":{\"warm_storage\":\"11years\"}}", "NotWithinRange",
                       "/partition_overrides/t1/warm_storage");
    create_with_expect("partition_overrides", "{\"t1\":{\"cold_storage\":\"30d\"}}", "NotWithinRange",
                       "/partition_overrides/t1/cold_storage");
    create_with_expect("partition_overrides", "{\"\":{}}", "InvalidPropertyName", "/partition_overrides/");
    create_with_expect("partition_overrides", "{\"t1\":{\"hot_storage\":\"1d\"}}", "UnexpectedProperty",
                       "/partition_overrides/t1/hot_storage");
    create_with_expect("partition_overrides", "{\"t1\":5}", "InvalidObject", "/partition_overrides/t1");
    create_with_expect("partition_overrides", "{\"a/b\":{\"cold_storage\":5}}", "InvalidString",
                       "/partition_overrides/a~1b/cold_storage");
    char *key = repeat("k", 129);
    char json[512];
    snprintf(json, sizeof json, "{\"%s\":{}}", key);
    char src[512];
    snprintf(src, sizeof src, "/partition_overrides/%s", key);
    create_with_expect("partition_overrides", json, "InvalidPropertyName", src);
    free(key);
}

Test(config_overrides, standalone_validation)
{
    salog_err e;
    salog_err_init(&e);
    sv_value *o = J("{\"t1\":{\"warm_storage\":\"30d\",\"cold_storage\":\"1y\"},\"t2\":{\"cold_storage\":\"0d\"}}");
    cr_expect_eq(config_validate_partition_overrides(o, "/overrides", &e), SALOG_OK);
    cr_expect_eq(e.count, 0);
    sv_free(o);

    o = J("{\"t1\":{\"warm_storage\":\"30\"},\"t2\":{\"cold_storage\":\"7d\",\"x\":1},\"t3\":null}");
    cr_expect_eq(config_validate_partition_overrides(o, "/overrides", &e), SALOG_E_VALIDATION);
    EXPECT_ERR(&e, "BadFormatPangeaDuration", "/overrides/t1/warm_storage");
    EXPECT_ERR(&e, "NotWithinRange", "/overrides/t2/cold_storage");
    EXPECT_ERR(&e, "UnexpectedProperty", "/overrides/t2/x");
    EXPECT_ERR(&e, "InvalidNull", "/overrides/t3");
    cr_expect_eq(e.count, 4);
    sv_free(o);
}

/* ------------------------------------------------------------------ */
/* Schema                                                               */

Test(config_schema, schema_level_errors)
{
    create_with_expect("schema", "5", "InvalidObject", "/schema");
    create_with_expect("schema", "null", "InvalidNull", "/schema");
    create_with_expect("schema", "{}", "FieldRequired", "/schema/fields");
    create_with_expect("schema", "{\"fields\":[]}", "BelowMinItems", "/schema/fields");
    create_with_expect("schema", "{\"fields\":\"x\"}", "InvalidArray", "/schema/fields");
    create_with_expect("schema", "{\"fields\":[{\"id\":\"m\",\"type\":\"string\"}],\"foo\":1}", "UnexpectedProperty",
                       "/schema/foo");
    create_with_expect("schema", "{\"fields\":[{\"id\":\"m\",\"type\":\"string\"}],\"save_malformed\":\"drop\"}",
                       "NotEnumMember", "/schema/save_malformed");
    create_with_expect("schema", "{\"fields\":[{\"id\":\"m\",\"type\":\"string\"}],\"tamper_proofing\":\"no\"}",
                       "InvalidBool", "/schema/tamper_proofing");
    create_with_expect("schema", "{\"fields\":[{\"id\":\"m\",\"type\":\"string\"}],\"client_signable\":null}",
                       "InvalidNull", "/schema/client_signable");
    create_with_expect("schema", "{\"fields\":[{\"id\":\"m\",\"type\":\"string\"}],\"vendor_id\":5}", "InvalidString",
                       "/schema/vendor_id");
    create_with_expect("schema", "{\"fields\":[{\"id\":\"m\",\"type\":\"string\"}],\"json_path\":false}",
                       "InvalidString", "/schema/json_path");
}

Test(config_schema, too_many_fields)
{
    size_t n = 251 * 48 + 64;
    char *text = malloc(n);
    cr_assert_not_null(text);
    size_t len = (size_t)snprintf(text, n, "{\"fields\":[");
    for (int i = 0; i < 251; i++)
        len += (size_t)snprintf(text + len, n - len, "%s{\"id\":\"f%d\",\"type\":\"integer\"}", i ? "," : "", i);
    snprintf(text + len, n - len, "]}");
    create_with_expect("schema", text, "AboveMaxItems", "/schema/fields");
    /* 250 is fine */
    char *cut = strstr(text, ",{\"id\":\"f250\"");
    cr_assert_not_null(cut);
    strcpy(cut, "]}");
    sv_free(create_with_ok("schema", text));
    free(text);
}

Test(config_schema, field_errors)
{
    field_expect("5", "InvalidObject", "/schema/fields/1");
    field_expect("null", "InvalidNull", "/schema/fields/1");
    field_expect("{\"type\":\"string\"}", "FieldRequired", "/schema/fields/1/id");
    field_expect("{\"id\":\"Bad\",\"type\":\"string\"}", "DoesNotMatchPattern", "/schema/fields/1/id");
    field_expect("{\"id\":\"1a\",\"type\":\"string\"}", "DoesNotMatchPattern", "/schema/fields/1/id");
    field_expect("{\"id\":\"_a\",\"type\":\"string\"}", "DoesNotMatchPattern", "/schema/fields/1/id");
    field_expect("{\"id\":\"a-b\",\"type\":\"string\"}", "DoesNotMatchPattern", "/schema/fields/1/id");
    field_expect("{\"id\":\"\",\"type\":\"string\"}", "DoesNotMatchPattern", "/schema/fields/1/id");
    field_expect("{\"id\":\"abcdefghijabcdefghijabcdefghijabc\",\"type\":\"string\"}", "AboveMaxLength",
                 "/schema/fields/1/id");
    field_expect("{\"id\":\"received_at\",\"type\":\"datetime\"}", "ShouldNotBeValid", "/schema/fields/1/id");
    field_expect("{\"id\":7,\"type\":\"string\"}", "InvalidString", "/schema/fields/1/id");
    field_expect("{\"id\":\"message\",\"type\":\"string\"}", "ItemNotUnique", "/schema/fields/1/id");
    field_expect("{\"id\":\"a\"}", "FieldRequired", "/schema/fields/1/type");
    field_expect("{\"id\":\"a\",\"type\":\"float\"}", "NotEnumMember", "/schema/fields/1/type");
    field_expect("{\"id\":\"a\",\"type\":null}", "InvalidNull", "/schema/fields/1/type");
    field_expect("{\"id\":\"a\",\"type\":\"string\",\"name\":\"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\"}",
                 "AboveMaxLength", "/schema/fields/1/name");
    field_expect("{\"id\":\"a\",\"type\":\"string\",\"required\":\"yes\"}", "InvalidBool", "/schema/fields/1/required");
    field_expect("{\"id\":\"a\",\"type\":\"string\",\"ui_default_visible\":1}", "InvalidBool",
                 "/schema/fields/1/ui_default_visible");
    field_expect("{\"id\":\"a\",\"type\":\"string\",\"partitioned\":null}", "InvalidNull",
                 "/schema/fields/1/partitioned");
    field_expect("{\"id\":\"a\",\"type\":\"integer\",\"redact\":true}", "InvalidConst", "/schema/fields/1/redact");
    field_expect("{\"id\":\"a\",\"type\":\"datetime\",\"redact\":true}", "InvalidConst", "/schema/fields/1/redact");
    field_expect("{\"id\":\"a\",\"type\":\"string\",\"size\":0}", "NotWithinRange", "/schema/fields/1/size");
    field_expect("{\"id\":\"a\",\"type\":\"text\",\"size\":32767}", "NotWithinRange", "/schema/fields/1/size");
    field_expect("{\"id\":\"a\",\"type\":\"string\",\"size\":1.5}", "InvalidInteger", "/schema/fields/1/size");
    field_expect("{\"id\":\"a\",\"type\":\"integer\",\"size\":10}", "UnexpectedProperty", "/schema/fields/1/size");
    field_expect("{\"id\":\"a\",\"type\":\"boolean\",\"size\":10}", "UnexpectedProperty", "/schema/fields/1/size");
    field_expect("{\"id\":\"a\",\"type\":\"string\",\"color\":\"red\"}", "UnexpectedProperty",
                 "/schema/fields/1/color");

    char *desc = repeat("d", 256);
    char field[1024];
    snprintf(field, sizeof field, "{\"id\":\"a\",\"type\":\"string\",\"description\":\"%s\"}", desc);
    field_expect(field, "AboveMaxLength", "/schema/fields/1/description");
    free(desc);
}

Test(config_schema, field_id_boundaries_accepted)
{
    sv_free(create_with_ok("schema", "{\"fields\":[{\"id\":\"abcdefghijabcdefghijabcdefghij_9\",\"type\":\"string\"},"
                                     "{\"id\":\"a\",\"type\":\"string-unindexed\",\"size\":1},"
                                     "{\"id\":\"received\",\"type\":\"integer\",\"redact\":false}]}"));
}

/* ------------------------------------------------------------------ */
/* Collecting several errors                                            */

Test(config_create, multiple_errors_collected)
{
    const char *text = "{\"name\":\"\",\"version\":2,\"hot_storage\":\"1month\",\"shards\":0,\"foo\":1,"
                       "\"schema\":{\"fields\":[{\"id\":\"Message\",\"type\":\"string\"},"
                       "{\"id\":\"x\",\"type\":\"integer\",\"size\":3}]}}";
    salog_err e;
    sv_value *out = (sv_value *)1;
    cr_expect_eq(create_text(text, &e, &out), SALOG_E_VALIDATION);
    cr_expect_null(out);
    cr_expect_eq(e.status, SALOG_E_VALIDATION);
    EXPECT_ERR(&e, "UnexpectedProperty", "/foo");
    EXPECT_ERR(&e, "BelowMinLength", "/name");
    EXPECT_ERR(&e, "NotEnumMember", "/version");
    EXPECT_ERR(&e, "NotWithinRange", "/hot_storage");
    EXPECT_ERR(&e, "NotWithinRange", "/shards");
    EXPECT_ERR(&e, "DoesNotMatchPattern", "/schema/fields/0/id");
    EXPECT_ERR(&e, "UnexpectedProperty", "/schema/fields/1/size");
    cr_expect_eq(e.count, 7);
}

Test(config_create, error_list_capped)
{
    /* 40 unknown members: 16 items kept, still a validation error. */
    sv_value *req = J(MINIMAL);
    for (int i = 0; i < 40; i++) {
        char key[16];
        snprintf(key, sizeof key, "x%d", i);
        cr_assert_eq(sv_object_set_int(req, key, i), 0);
    }
    salog_err e;
    salog_err_init(&e);
    sv_value *out = NULL;
    cr_expect_eq(config_validate_create(req, &out, &e), SALOG_E_VALIDATION);
    cr_expect_eq(e.count, SALOG_ERR_MAX_ITEMS);
    EXPECT_ERR(&e, "UnexpectedProperty", "/x0");
    sv_free(req);
}

/* ------------------------------------------------------------------ */
/* Update                                                               */

static const char *const STORED_SCHEMA =
    "{\"client_signable\":true,\"tamper_proofing\":true,\"save_malformed\":\"reject\",\"vendor_id\":\"v\","
    "\"fields\":[{\"id\":\"message\",\"type\":\"string\",\"size\":32766,\"required\":true,\"name\":\"Message\"},"
    "{\"id\":\"field_int\",\"type\":\"integer\"},"
    "{\"id\":\"tenant_id\",\"type\":\"string\",\"size\":128,\"partitioned\":true,\"redact\":true,"
    "\"description\":\"who\"}]}";

/* A stored config: the create output of a full request plus server
 * members, as configs.c would keep it. */
static sv_value *make_stored(void)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"name\":\"cfg\",\"version\":3,\"schema\":%s,\"hot_storage\":\"7d\","
             "\"forwarding_configuration\":{\"type\":\"splunk\",\"event_url\":\"https://h/e\",\"secret\":\"s3cr3t\"}}",
             STORED_SCHEMA);
    salog_err e;
    sv_value *stored = NULL;
    EXPECT_OK(create_text(text, &e, &stored), &e);
    cr_assert_eq(sv_object_set_str(stored, "id", "pci_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 0);
    cr_assert_eq(sv_object_set_str(stored, "created_at", "2025-01-01T00:00:00.000000Z"), 0);
    cr_assert_eq(sv_object_set_str(stored, "updated_at", "2025-01-02T00:00:00.000000Z"), 0);
    return stored;
}

/* An update request: the stored schema with `schema_json` replacing it
 * when given, plus extra members. */
static sv_value *make_update(const char *schema_json, const char *extra)
{
    char text[8192];
    snprintf(text, sizeof text,
             "{\"id\":\"pci_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"name\":\"cfg2\",\"version\":3,"
             "\"updated_at\":\"2025-01-02T00:00:00.000000Z\"%s%s%s%s}",
             schema_json ? ",\"schema\":" : "", schema_json ? schema_json : "", extra ? "," : "", extra ? extra : "");
    return J(text);
}

static salog_status run_update(const char *schema_json, const char *extra, salog_err *e, sv_value **out)
{
    sv_value *stored = make_stored();
    sv_value *req = make_update(schema_json, extra);
    salog_err_init(e);
    salog_status st = config_validate_update(stored, req, out, e);
    sv_free(req);
    sv_free(stored);
    return st;
}

static void update_expect(const char *schema_json, const char *extra, const char *code, const char *source)
{
    salog_err e;
    sv_value *out = (sv_value *)1;
    cr_expect_eq(run_update(schema_json, extra, &e, &out), SALOG_E_VALIDATION, "update should fail (%s at %s)",
                 code, source);
    cr_expect_null(out);
    EXPECT_ERR(&e, code, source);
    char dump[8192];
    err_dump(&e, dump, sizeof dump);
    cr_expect_eq(e.count, 1, "expected exactly one error:\n%s", dump);
}

Test(config_update, same_schema_accepted_and_fields_carried)
{
    salog_err e;
    sv_value *out = NULL;
    EXPECT_OK(run_update(STORED_SCHEMA, NULL, &e, &out), &e);
    expect_str_member(out, "id", "pci_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    expect_str_member(out, "created_at", "2025-01-01T00:00:00.000000Z");
    expect_str_member(out, "updated_at", "2025-01-02T00:00:00.000000Z");
    expect_str_member(out, "name", "cfg2");
    /* Replaced, not merged: absent hot_storage falls back to the default,
     * absent forwarding_configuration is removed. */
    expect_str_member(out, "hot_storage", "14d");
    cr_expect_null(sv_object_get(out, "forwarding_configuration"));
    sv_free(out);
}

Test(config_update, allowed_changes)
{
    /* Reordered fields, changed description / required / ui_default_visible,
     * size made implicit where it equals the default. */
    const char *schema =
        "{\"client_signable\":true,\"vendor_id\":\"v\",\"fields\":["
        "{\"id\":\"tenant_id\",\"type\":\"string\",\"size\":128,\"partitioned\":true,\"redact\":true,"
        "\"description\":\"the tenant\",\"required\":true,\"ui_default_visible\":true},"
        "{\"id\":\"field_int\",\"type\":\"integer\",\"description\":\"n\",\"redact\":false,\"partitioned\":false},"
        "{\"id\":\"message\",\"type\":\"string\",\"required\":false,\"name\":\"Message\"}]}";
    salog_err e;
    sv_value *out = NULL;
    EXPECT_OK(run_update(schema, NULL, &e, &out), &e);
    const sv_value *fields = sv_object_get(sv_object_get(out, "schema"), "fields");
    expect_str_member(fields->u.arr.items[0], "id", "tenant_id");
    expect_str_member(fields->u.arr.items[0], "description", "the tenant");
    cr_expect_eq(sv_object_get(fields->u.arr.items[2], "size")->u.i, 32766);
    sv_free(out);
}

Test(config_update, schema_absent_keeps_stored)
{
    salog_err e;
    sv_value *out = NULL;
    EXPECT_OK(run_update(NULL, NULL, &e, &out), &e);
    const sv_value *schema = sv_object_get(out, "schema");
    cr_expect_eq(sv_object_get(schema, "fields")->u.arr.count, 3);
    expect_str_member(schema, "vendor_id", "v");
    cr_expect(sv_object_get(schema, "client_signable")->u.b);
    sv_free(out);
}

Test(config_update, required_members)
{
    sv_value *stored = make_stored();
    sv_value *req = J("{\"schema\":{\"fields\":[{\"id\":\"message\",\"type\":\"string\"}]}}");
    salog_err e;
    salog_err_init(&e);
    sv_value *out = NULL;
    cr_expect_eq(config_validate_update(stored, req, &out, &e), SALOG_E_VALIDATION);
    EXPECT_ERR(&e, "FieldRequired", "/id");
    EXPECT_ERR(&e, "FieldRequired", "/name");
    EXPECT_ERR(&e, "FieldRequired", "/version");
    EXPECT_ERR(&e, "FieldRequired", "/updated_at");
    sv_free(req);
    sv_free(stored);
}

Test(config_update, id_version_updated_at)
{
    sv_value *stored = make_stored();
    sv_value *req = make_update(NULL, NULL);
    cr_assert_eq(sv_object_set_str(req, "id", "pci_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"), 0);
    salog_err e;
    salog_err_init(&e);
    sv_value *out = NULL;
    cr_expect_eq(config_validate_update(stored, req, &out, &e), SALOG_E_VALIDATION);
    EXPECT_ERR(&e, "IsReadOnly", "/id");
    cr_expect_eq(e.count, 1);
    sv_free(req);
    sv_free(stored);

    update_expect(NULL, "\"version\":2", "NotEnumMember", "/version");
    update_expect(NULL, "\"updated_at\":5", "InvalidString", "/updated_at");
}

Test(config_update, echoed_read_only_members_tolerated)
{
    salog_err e;
    sv_value *out = NULL;
    EXPECT_OK(run_update(NULL,
                         "\"created_at\":\"1999-01-01T00:00:00Z\",\"config_id\":\"x\","
                         "\"forwarding_status\":{\"pending\":0}",
                         &e, &out),
              &e);
    expect_str_member(out, "created_at", "2025-01-01T00:00:00.000000Z");
    cr_expect_null(sv_object_get(out, "forwarding_status"));
    sv_free(out);
}

Test(config_update, fixed_field_attributes)
{
    /* Field 1 (field_int) type change. */
    update_expect("{\"client_signable\":true,\"vendor_id\":\"v\",\"fields\":["
                  "{\"id\":\"message\",\"type\":\"string\",\"required\":true,\"name\":\"Message\"},"
                  "{\"id\":\"field_int\",\"type\":\"string\"},"
                  "{\"id\":\"tenant_id\",\"type\":\"string\",\"size\":128,\"partitioned\":true,\"redact\":true}]}",
                  NULL, "IsReadOnly", "/schema/fields/1/type");
    /* Size change, explicit. */
    update_expect("{\"client_signable\":true,\"vendor_id\":\"v\",\"fields\":["
                  "{\"id\":\"message\",\"type\":\"string\",\"required\":true,\"name\":\"Message\"},"
                  "{\"id\":\"field_int\",\"type\":\"integer\"},"
                  "{\"id\":\"tenant_id\",\"type\":\"string\",\"size\":256,\"partitioned\":true,\"redact\":true}]}",
                  NULL, "IsReadOnly", "/schema/fields/2/size");
    /* Size change by omission (128 -> default 32766). */
    update_expect("{\"client_signable\":true,\"vendor_id\":\"v\",\"fields\":["
                  "{\"id\":\"message\",\"type\":\"string\",\"required\":true,\"name\":\"Message\"},"
                  "{\"id\":\"field_int\",\"type\":\"integer\"},"
                  "{\"id\":\"tenant_id\",\"type\":\"string\",\"partitioned\":true,\"redact\":true}]}",
                  NULL, "IsReadOnly", "/schema/fields/2/size");
    /* redact removed. */
    update_expect("{\"client_signable\":true,\"vendor_id\":\"v\",\"fields\":["
                  "{\"id\":\"message\",\"type\":\"string\",\"required\":true,\"name\":\"Message\"},"
                  "{\"id\":\"field_int\",\"type\":\"integer\"},"
                  "{\"id\":\"tenant_id\",\"type\":\"string\",\"size\":128,\"partitioned\":true,\"redact\":false}]}",
                  NULL, "IsReadOnly", "/schema/fields/2/redact");
    /* partitioned removed. */
    update_expect("{\"client_signable\":true,\"vendor_id\":\"v\",\"fields\":["
                  "{\"id\":\"message\",\"type\":\"string\",\"required\":true,\"name\":\"Message\"},"
                  "{\"id\":\"field_int\",\"type\":\"integer\"},"
                  "{\"id\":\"tenant_id\",\"type\":\"string\",\"size\":128,\"redact\":true}]}",
                  NULL, "IsReadOnly", "/schema/fields/2/partitioned");
    /* redact added on message. */
    update_expect("{\"client_signable\":true,\"vendor_id\":\"v\",\"fields\":["
                  "{\"id\":\"message\",\"type\":\"string\",\"required\":true,\"name\":\"Message\",\"redact\":true},"
                  "{\"id\":\"field_int\",\"type\":\"integer\"},"
                  "{\"id\":\"tenant_id\",\"type\":\"string\",\"size\":128,\"partitioned\":true,\"redact\":true}]}",
                  NULL, "IsReadOnly", "/schema/fields/0/redact");
    /* name changed. */
    update_expect("{\"client_signable\":true,\"vendor_id\":\"v\",\"fields\":["
                  "{\"id\":\"message\",\"type\":\"string\",\"required\":true,\"name\":\"Msg\"},"
                  "{\"id\":\"field_int\",\"type\":\"integer\"},"
                  "{\"id\":\"tenant_id\",\"type\":\"string\",\"size\":128,\"partitioned\":true,\"redact\":true}]}",
                  NULL, "IsReadOnly", "/schema/fields/0/name");
    /* name removed. */
    update_expect("{\"client_signable\":true,\"vendor_id\":\"v\",\"fields\":["
                  "{\"id\":\"message\",\"type\":\"string\",\"required\":true},"
                  "{\"id\":\"field_int\",\"type\":\"integer\"},"
                  "{\"id\":\"tenant_id\",\"type\":\"string\",\"size\":128,\"partitioned\":true,\"redact\":true}]}",
                  NULL, "IsReadOnly", "/schema/fields/0/name");
}

Test(config_update, fields_added_or_removed)
{
    update_expect("{\"client_signable\":true,\"vendor_id\":\"v\",\"fields\":["
                  "{\"id\":\"message\",\"type\":\"string\",\"required\":true,\"name\":\"Message\"},"
                  "{\"id\":\"field_int\",\"type\":\"integer\"},"
                  "{\"id\":\"tenant_id\",\"type\":\"string\",\"size\":128,\"partitioned\":true,\"redact\":true},"
                  "{\"id\":\"extra\",\"type\":\"boolean\"}]}",
                  NULL, "IsReadOnly", "/schema/fields/3/id");
    update_expect("{\"client_signable\":true,\"vendor_id\":\"v\",\"fields\":["
                  "{\"id\":\"message\",\"type\":\"string\",\"required\":true,\"name\":\"Message\"},"
                  "{\"id\":\"tenant_id\",\"type\":\"string\",\"size\":128,\"partitioned\":true,\"redact\":true}]}",
                  NULL, "IsReadOnly", "/schema/fields");
}

Test(config_update, fixed_schema_members)
{
    static const struct { const char *schema; const char *src; } cases[] = {
        {"{\"client_signable\":false,\"vendor_id\":\"v\",", "/schema/client_signable"},
        {"{\"vendor_id\":\"v\",", "/schema/client_signable"}, /* default false != stored true */
        {"{\"client_signable\":true,\"tamper_proofing\":false,\"vendor_id\":\"v\",", "/schema/tamper_proofing"},
        {"{\"client_signable\":true,\"save_malformed\":\"all\",\"vendor_id\":\"v\",", "/schema/save_malformed"},
        {"{\"client_signable\":true,\"vendor_id\":\"w\",", "/schema/vendor_id"},
        {"{\"client_signable\":true,", "/schema/vendor_id"},
        {"{\"client_signable\":true,\"vendor_id\":\"v\",\"json_path\":\"$.a\",", "/schema/json_path"},
    };
    const char *fields =
        "\"fields\":[{\"id\":\"message\",\"type\":\"string\",\"required\":true,\"name\":\"Message\"},"
        "{\"id\":\"field_int\",\"type\":\"integer\"},"
        "{\"id\":\"tenant_id\",\"type\":\"string\",\"size\":128,\"partitioned\":true,\"redact\":true}]}";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char schema[2048];
        snprintf(schema, sizeof schema, "%s%s", cases[i].schema, fields);
        update_expect(schema, NULL, "IsReadOnly", cases[i].src);
    }
    /* Defaults equal to stored explicit values are not a change. */
    char schema[2048];
    snprintf(schema, sizeof schema, "{\"client_signable\":true,\"vendor_id\":\"v\",\"save_malformed\":\"reject\","
                                    "\"tamper_proofing\":true,%s",
             fields);
    salog_err e;
    sv_value *out = NULL;
    EXPECT_OK(run_update(schema, NULL, &e, &out), &e);
    sv_free(out);
}

Test(config_update, invalid_attribute_reported_once)
{
    /* An invalid type is reported as invalid, not also as read-only. */
    update_expect("{\"client_signable\":true,\"vendor_id\":\"v\",\"fields\":["
                  "{\"id\":\"message\",\"type\":\"string\",\"required\":true,\"name\":\"Message\"},"
                  "{\"id\":\"field_int\",\"type\":\"float\"},"
                  "{\"id\":\"tenant_id\",\"type\":\"string\",\"size\":128,\"partitioned\":true,\"redact\":true}]}",
                  NULL, "NotEnumMember", "/schema/fields/1/type");
    update_expect("{\"client_signable\":true,\"vendor_id\":\"v\",\"fields\":["
                  "{\"id\":\"message\",\"type\":\"string\",\"required\":true,\"name\":\"Message\"},"
                  "{\"id\":\"field_int\",\"type\":\"integer\"},"
                  "{\"id\":\"tenant_id\",\"type\":\"string\",\"size\":128,\"partitioned\":true,\"redact\":\"y\"}]}",
                  NULL, "InvalidBool", "/schema/fields/2/redact");
    update_expect("{\"client_signable\":\"x\",\"vendor_id\":\"v\",\"fields\":["
                  "{\"id\":\"message\",\"type\":\"string\",\"required\":true,\"name\":\"Message\"},"
                  "{\"id\":\"field_int\",\"type\":\"integer\"},"
                  "{\"id\":\"tenant_id\",\"type\":\"string\",\"size\":128,\"partitioned\":true,\"redact\":true}]}",
                  NULL, "InvalidBool", "/schema/client_signable");
    /* A bad id is not also reported as a removed field. */
    update_expect("{\"client_signable\":true,\"vendor_id\":\"v\",\"fields\":["
                  "{\"id\":\"message\",\"type\":\"string\",\"required\":true,\"name\":\"Message\"},"
                  "{\"id\":\"Field_int\",\"type\":\"integer\"},"
                  "{\"id\":\"tenant_id\",\"type\":\"string\",\"size\":128,\"partitioned\":true,\"redact\":true}]}",
                  NULL, "DoesNotMatchPattern", "/schema/fields/1/id");
}

Test(config_update, forwarding_secret_kept_or_replaced)
{
    salog_err e;
    sv_value *out = NULL;
    EXPECT_OK(run_update(NULL, "\"forwarding_configuration\":{\"type\":\"splunk\",\"event_url\":\"https://h/e2\"}",
                         &e, &out),
              &e);
    const sv_value *fwd = sv_object_get(out, "forwarding_configuration");
    expect_str_member(fwd, "secret", "s3cr3t");
    expect_str_member(fwd, "event_url", "https://h/e2");
    sv_free(out);

    EXPECT_OK(run_update(NULL,
                         "\"forwarding_configuration\":{\"type\":\"http\",\"event_url\":\"https://h/e2\","
                         "\"secret\":\"new\"}",
                         &e, &out),
              &e);
    expect_str_member(sv_object_get(out, "forwarding_configuration"), "secret", "new");
    sv_free(out);

    /* Invalid forwarding config on update is still validated. */
    update_expect(NULL, "\"forwarding_configuration\":{\"type\":\"splunk\",\"event_url\":\"udp://h:1\"}",
                  "DoesNotMatchPattern", "/forwarding_configuration/event_url");
}

Test(config_update, changeable_members_validated)
{
    update_expect(NULL, "\"hot_storage\":\"30d\"", "NotWithinRange", "/hot_storage");
    update_expect(NULL, "\"nope\":1", "UnexpectedProperty", "/nope");
    salog_err e;
    sv_value *out = NULL;
    EXPECT_OK(run_update(NULL, "\"hot_storage\":\"1d\",\"cold_storage\":\"0d\",\"vault_sign\":true", &e, &out), &e);
    expect_str_member(out, "hot_storage", "1d");
    cr_expect(sv_object_get(out, "vault_sign")->u.b);
    sv_free(out);
}

Test(config_update, stored_not_object_is_internal)
{
    sv_value *stored = sv_int(1);
    sv_value *req = make_update(NULL, NULL);
    salog_err e;
    salog_err_init(&e);
    sv_value *out = NULL;
    cr_expect_eq(config_validate_update(stored, req, &out, &e), SALOG_E_INTERNAL);
    cr_expect_null(out);
    sv_free(req);
    sv_free(stored);
}

/* ------------------------------------------------------------------ */
/* Standard schema, default config, pointers                             */

Test(config_standard, schema_shape)
{
    sv_value *s = config_standard_schema();
    cr_assert_not_null(s);
    const sv_value *fields = sv_object_get(s, "fields");
    static const struct { const char *id; const char *type; int64_t size; } want[] = {
        {"timestamp", "datetime", -1}, {"actor", "string", 128},  {"action", "string", 32},
        {"status", "string", 32},      {"target", "string", 128}, {"source", "string", 128},
        {"tenant_id", "string", 128},  {"old", "string", 32766},  {"new", "string", 32766},
        {"message", "string", 32766},
    };
    cr_assert_eq(fields->u.arr.count, 10);
    for (size_t i = 0; i < 10; i++) {
        const sv_value *f = fields->u.arr.items[i];
        expect_str_member(f, "id", want[i].id);
        expect_str_member(f, "type", want[i].type);
        const sv_value *size = sv_object_get(f, "size");
        if (want[i].size < 0)
            cr_expect_null(size);
        else
            cr_expect(size && size->u.i == want[i].size, "size of %s", want[i].id);
        const sv_value *req = sv_object_get(f, "required");
        cr_expect_eq(req && req->u.b, i == 9, "only message is required (%s)", want[i].id);
    }
    cr_expect(sv_object_get(s, "tamper_proofing")->u.b);
    cr_expect(sv_object_get(s, "client_signable")->u.b);
    expect_str_member(s, "save_malformed", "reject");
    sv_free(s);
}

Test(config_standard, default_config_validates)
{
    sv_value *cfg = config_default("default");
    cr_assert_not_null(cfg);
    expect_str_member(cfg, "name", "default");
    cr_expect_eq(sv_object_get(cfg, "version")->u.i, 3);
    expect_str_member(cfg, "hot_storage", "14d");
    expect_str_member(cfg, "query_result_retention", "2d");
    expect_str_member(cfg, "cold_query_result_retention", "2d");
    cr_expect_not(sv_object_get(cfg, "vault_sign")->u.b);
    salog_err e;
    salog_err_init(&e);
    sv_value *out = NULL;
    EXPECT_OK(config_validate_create(cfg, &out, &e), &e);
    /* Already normalized: validation is the identity. */
    cr_expect(sv_equal(cfg, out));
    sv_free(out);
    sv_free(cfg);
}

Test(config_pointer, join)
{
    char buf[64];
    json_pointer_join(buf, sizeof buf, "", "name");
    cr_expect_str_eq(buf, "/name");
    json_pointer_join(buf, sizeof buf, "/", "name");
    cr_expect_str_eq(buf, "/name");
    json_pointer_join(buf, sizeof buf, NULL, "a");
    cr_expect_str_eq(buf, "/a");
    json_pointer_join(buf, sizeof buf, "/schema/fields", "2");
    cr_expect_str_eq(buf, "/schema/fields/2");
    json_pointer_join(buf, sizeof buf, "/o", "a/b~c");
    cr_expect_str_eq(buf, "/o/a~1b~0c");
    json_pointer_join(buf, sizeof buf, "/o", "");
    cr_expect_str_eq(buf, "/o/");
    char small[8];
    json_pointer_join(small, sizeof small, "/abcdef", "ghijkl");
    cr_expect_eq(strlen(small), 7, "truncated, still terminated");
}
