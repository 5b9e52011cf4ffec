/* event_validate / event_check_restrictions: API.md II §3.1-3.2, I.1
 * (no null, no float), I.2 and II §6.5 (field restrictions). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "model/event_schema.h"

static sv_value *es_json(const char *text)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *v = NULL;
    salog_status st = codec_json_decode(&v, text, strlen(text), CODEC_DEFAULT_MAX_DEPTH, &err);
    cr_assert_eq(st, SALOG_OK, "test JSON does not decode: %s (%s)", text, err.count ? err.items[0].detail : "?");
    return v;
}

static void es_add_field(sv_value *fields, const char *id, const char *type, int size, bool required,
                         bool redact)
{
    sv_value *f = sv_object();
    cr_assert_not_null(f);
    cr_assert_eq(sv_object_set_str(f, "id", id), 0);
    cr_assert_eq(sv_object_set_str(f, "type", type), 0);
    if (size)
        cr_assert_eq(sv_object_set_int(f, "size", size), 0);
    if (required)
        cr_assert_eq(sv_object_set_bool(f, "required", true), 0);
    if (redact)
        cr_assert_eq(sv_object_set_bool(f, "redact", true), 0);
    cr_assert_eq(sv_array_push(fields, f), 0);
}

/* The standard schema of II §3.1, built by hand (not by config_schema.c). */
static sv_value *es_standard_schema(const char *save_malformed)
{
    sv_value *schema = sv_object(), *fields = sv_array();
    cr_assert(schema && fields);
    es_add_field(fields, "message", "string", 32766, true, false);
    es_add_field(fields, "actor", "string", 128, false, false);
    es_add_field(fields, "action", "string", 32, false, false);
    es_add_field(fields, "status", "string", 32, false, false);
    es_add_field(fields, "target", "string", 128, false, false);
    es_add_field(fields, "source", "string", 128, false, false);
    es_add_field(fields, "tenant_id", "string", 128, false, false);
    es_add_field(fields, "old", "string", 32766, false, false);
    es_add_field(fields, "new", "string", 32766, false, false);
    es_add_field(fields, "timestamp", "datetime", 0, false, false);
    cr_assert_eq(sv_object_set(schema, "fields", fields), 0);
    if (save_malformed)
        cr_assert_eq(sv_object_set_str(schema, "save_malformed", save_malformed), 0);
    return schema;
}

/* A custom schema: message required, typed fields, a redact string. */
static sv_value *es_custom_schema(const char *save_malformed)
{
    sv_value *schema = sv_object(), *fields = sv_array();
    cr_assert(schema && fields);
    es_add_field(fields, "message", "text", 0, true, false);
    es_add_field(fields, "field_int", "integer", 0, false, false);
    es_add_field(fields, "field_bool", "boolean", 0, false, false);
    es_add_field(fields, "field_time", "datetime", 0, false, false);
    es_add_field(fields, "secret", "string-unindexed", 16, false, true);
    cr_assert_eq(sv_object_set(schema, "fields", fields), 0);
    if (save_malformed)
        cr_assert_eq(sv_object_set_str(schema, "save_malformed", save_malformed), 0);
    return schema;
}

typedef struct es_result {
    salog_status st;
    salog_err err;
    sv_value *stored;
    sv_value *malformed;
} es_result;

static void es_run(es_result *r, const sv_value *schema, const char *event_json, const char *base)
{
    sv_value *event = es_json(event_json);
    salog_err_init(&r->err);
    r->stored = r->malformed = (sv_value *)1; /* must be reset by the callee */
    r->st = event_validate(schema, event, base, &r->stored, &r->malformed, &r->err);
    if (r->st != SALOG_OK) {
        cr_assert_null(r->stored);
        cr_assert_null(r->malformed);
    } else {
        cr_assert_not_null(r->stored);
    }
    sv_free(event);
}

static void es_done(es_result *r)
{
    sv_free(r->stored);
    sv_free(r->malformed);
}

/* Exactly one error item with this code and source. */
static void es_expect_one(const es_result *r, salog_status st, const char *code, const char *source)
{
    cr_assert_eq(r->st, st, "status %d, want %d", r->st, st);
    cr_assert_eq(r->err.count, 1, "%zu error items (first: %s %s %s)", r->err.count, r->err.items[0].code,
                 r->err.items[0].source, r->err.items[0].detail);
    cr_assert_str_eq(r->err.items[0].code, code, "code %s (%s)", r->err.items[0].code, r->err.items[0].detail);
    cr_assert_str_eq(r->err.items[0].source, source);
    cr_assert(r->err.items[0].detail[0] != '\0');
}

static void es_reject_one(const sv_value *schema, const char *event_json, const char *code, const char *source)
{
    es_result r;
    es_run(&r, schema, event_json, "/event");
    es_expect_one(&r, SALOG_E_VALIDATION, code, source);
    es_done(&r);
}

static char *es_repeat(const char *unit, size_t n)
{
    size_t ul = strlen(unit);
    char *s = malloc(ul * n + 1);
    cr_assert_not_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * ul, unit, ul);
    s[ul * n] = '\0';
    return s;
}

Test(event_schema, standard_valid_event_is_stored_verbatim)
{
    sv_value *schema = es_standard_schema(NULL);
    const char *ev = "{\"message\":\"hello\",\"actor\":\"alice\",\"action\":\"login\",\"status\":\"ok\","
                     "\"target\":\"db\",\"source\":\"web\",\"tenant_id\":\"t1\",\"old\":\"{\\\"a\\\":1}\","
                     "\"new\":\"\",\"timestamp\":\"2024-01-02T03:04:05.123Z\"}";
    es_result r;
    es_run(&r, schema, ev, "/event");
    cr_assert_eq(r.st, SALOG_OK, "%s %s", r.err.items[0].code, r.err.items[0].detail);
    cr_assert_eq(r.err.count, 0);
    cr_assert_null(r.malformed);
    sv_value *orig = es_json(ev);
    cr_assert(sv_equal(orig, r.stored));
    sv_free(orig);
    es_done(&r);
    sv_free(schema);
}

Test(event_schema, message_only_is_valid_and_empty_message_accepted)
{
    sv_value *schema = es_standard_schema("reject");
    es_result r;
    es_run(&r, schema, "{\"message\":\"\"}", "/event");
    cr_assert_eq(r.st, SALOG_OK);
    es_done(&r);
    sv_free(schema);
}

Test(event_schema, missing_message_is_field_required)
{
    sv_value *schema = es_standard_schema(NULL);
    es_reject_one(schema, "{\"actor\":\"a\"}", "FieldRequired", "/event/message");
    es_reject_one(schema, "{}", "FieldRequired", "/event/message");
    sv_free(schema);
}

Test(event_schema, missing_required_is_rejected_under_every_mode)
{
    const char *modes[] = {"all", "unredacted"};
    for (size_t i = 0; i < 2; i++) {
        sv_value *schema = es_standard_schema(modes[i]);
        es_reject_one(schema, "{\"actor\":\"a\"}", "FieldRequired", "/event/message");
        sv_free(schema);
    }
}

Test(event_schema, non_object_event_is_invalid_object)
{
    sv_value *schema = es_standard_schema(NULL);
    es_reject_one(schema, "\"just a string\"", "InvalidObject", "/event");
    es_reject_one(schema, "[{\"message\":\"m\"}]", "InvalidObject", "/event");
    es_reject_one(schema, "7", "InvalidObject", "/event");

    salog_err err;
    salog_err_init(&err);
    sv_value *stored = NULL, *mal = NULL;
    cr_assert_eq(event_validate(schema, NULL, "/event", &stored, &mal, &err), SALOG_E_VALIDATION);
    cr_assert_str_eq(err.items[0].code, "InvalidObject");
    sv_free(schema);
}

Test(event_schema, wrong_types_on_string_fields)
{
    sv_value *schema = es_standard_schema(NULL);
    es_reject_one(schema, "{\"message\":\"m\",\"actor\":5}", "InvalidString", "/event/actor");
    es_reject_one(schema, "{\"message\":true}", "InvalidString", "/event/message");
    es_reject_one(schema, "{\"message\":\"m\",\"new\":{\"b\":1,\"a\":\"x\"}}", "InvalidString", "/event/new");
    es_reject_one(schema, "{\"message\":\"m\",\"old\":[\"x\"]}", "InvalidString", "/event/old");
    sv_free(schema);
}

Test(event_schema, length_counts_code_points_not_bytes)
{
    sv_value *schema = es_standard_schema(NULL);
    char *e32 = es_repeat("\xc3\xa9", 32), *e33 = es_repeat("\xc3\xa9", 33);
    char ev[256];

    snprintf(ev, sizeof ev, "{\"message\":\"m\",\"action\":\"%s\"}", e32); /* 64 bytes, 32 chars */
    es_result r;
    es_run(&r, schema, ev, "/event");
    cr_assert_eq(r.st, SALOG_OK, "%s", r.err.items[0].detail);
    es_done(&r);

    snprintf(ev, sizeof ev, "{\"message\":\"m\",\"action\":\"%s\"}", e33);
    es_run(&r, schema, ev, "/event");
    es_expect_one(&r, SALOG_E_VALIDATION, "AboveMaxLength", "/event/action");
    cr_assert_str_eq(r.err.items[0].detail, "'action' cannot have more than 32 characters");
    es_done(&r);

    /* A 4-byte character counts once too. */
    char *emoji = es_repeat("\xf0\x9f\x98\x80", 128);
    char *ev2 = malloc(strlen(emoji) + 64);
    cr_assert_not_null(ev2);
    sprintf(ev2, "{\"message\":\"m\",\"actor\":\"%s\"}", emoji);
    es_run(&r, schema, ev2, "/event");
    cr_assert_eq(r.st, SALOG_OK);
    es_done(&r);
    free(ev2);
    free(emoji);
    free(e32);
    free(e33);
    sv_free(schema);
}

Test(event_schema, message_limit_32766)
{
    sv_value *schema = es_standard_schema(NULL);
    char *ok = es_repeat("a", 32766), *big = es_repeat("a", 32767);
    char *ev = malloc(32767 + 64);
    cr_assert_not_null(ev);
    es_result r;

    sprintf(ev, "{\"message\":\"%s\"}", ok);
    es_run(&r, schema, ev, "/event");
    cr_assert_eq(r.st, SALOG_OK);
    es_done(&r);

    sprintf(ev, "{\"message\":\"%s\"}", big);
    es_run(&r, schema, ev, "/event");
    es_expect_one(&r, SALOG_E_VALIDATION, "AboveMaxLength", "/event/message");
    cr_assert_str_eq(r.err.items[0].detail, "'message' cannot have more than 32766 characters");
    es_done(&r);
    free(ev);
    free(ok);
    free(big);
    sv_free(schema);
}

Test(event_schema, timestamp_forms)
{
    sv_value *schema = es_standard_schema(NULL);
    const char *good[] = {"2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123Z", "2024-01-02T03:04:05.123456Z",
                          "2024-01-02T03:04:05.123456789+02:00", "2024-01-02T03:04:05.5", "2024-01-02T03:04:05"};
    const char *bad[] = {"yesterday", "", "2024-13-02T03:04:05Z", "2024-01-02 03:04:05Z", "7d"};
    char ev[256];
    es_result r;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(ev, sizeof ev, "{\"message\":\"m\",\"timestamp\":\"%s\"}", good[i]);
        es_run(&r, schema, ev, "/event");
        cr_assert_eq(r.st, SALOG_OK, "timestamp %s refused", good[i]);
        es_done(&r);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(ev, sizeof ev, "{\"message\":\"m\",\"timestamp\":\"%s\"}", bad[i]);
        es_reject_one(schema, ev, "BadFormatDateTime", "/event/timestamp");
    }
    /* An embedded NUL must not let a prefix pass. */
    es_reject_one(schema, "{\"message\":\"m\",\"timestamp\":\"2024-01-02T03:04:05Z\\u0000junk\"}",
                  "BadFormatDateTime", "/event/timestamp");
    es_reject_one(schema, "{\"message\":\"m\",\"timestamp\":1700000000}", "InvalidString", "/event/timestamp");
    sv_free(schema);
}

Test(event_schema, null_and_float_always_rejected)
{
    const char *modes[] = {"reject", "all", "unredacted"};
    for (size_t i = 0; i < 3; i++) {
        sv_value *schema = es_standard_schema(modes[i]);
        es_reject_one(schema, "{\"message\":\"m\",\"actor\":null}", "InvalidNull", "/event/actor");
        es_reject_one(schema, "{\"message\":null}", "InvalidNull", "/event/message");
        es_reject_one(schema, "{\"message\":\"m\",\"actor\":1.5}", "InvalidString", "/event/actor");
        es_reject_one(schema, "{\"message\":\"m\",\"extra\":null}", "InvalidNull", "/event/extra");
        es_reject_one(schema, "{\"message\":\"m\",\"extra\":2.5}", "InvalidInteger", "/event/extra");
        /* Nested: the pointer reaches the null itself. */
        es_reject_one(schema, "{\"message\":\"m\",\"extra\":{\"a\":[1,null]}}", "InvalidNull", "/event/extra/a/1");
        es_reject_one(schema, "{\"message\":\"m\",\"new\":[1e3]}", "InvalidInteger", "/event/new/0");
        sv_free(schema);

        schema = es_custom_schema(modes[i]);
        es_reject_one(schema, "{\"message\":\"m\",\"field_int\":1.0}", "InvalidInteger", "/event/field_int");
        es_reject_one(schema, "{\"message\":\"m\",\"field_bool\":0.5}", "InvalidBool", "/event/field_bool");
        es_reject_one(schema, "{\"message\":\"m\",\"field_int\":null}", "InvalidNull", "/event/field_int");
        sv_free(schema);
    }
}

Test(event_schema, unknown_field_rejected_by_default)
{
    sv_value *schema = es_standard_schema(NULL);
    es_reject_one(schema, "{\"message\":\"m\",\"extra\":\"x\"}", "UnexpectedProperty", "/event/extra");
    /* JSON-pointer escaping of the key. */
    es_reject_one(schema, "{\"message\":\"m\",\"a/b~c\":\"x\"}", "UnexpectedProperty", "/event/a~1b~0c");
    sv_free(schema);
}

Test(event_schema, all_problems_are_collected)
{
    sv_value *schema = es_standard_schema("reject");
    es_result r;
    es_run(&r, schema, "{\"actor\":1,\"extra\":\"x\",\"status\":null,\"timestamp\":\"no\"}", "/event");
    cr_assert_eq(r.st, SALOG_E_VALIDATION);
    cr_assert_eq(r.err.count, 5);
    const char *codes[] = {"InvalidString", "UnexpectedProperty", "InvalidNull", "BadFormatDateTime", "FieldRequired"};
    const char *sources[] = {"/event/actor", "/event/extra", "/event/status", "/event/timestamp", "/event/message"};
    for (size_t i = 0; i < 5; i++) {
        cr_assert_str_eq(r.err.items[i].code, codes[i]);
        cr_assert_str_eq(r.err.items[i].source, sources[i]);
    }
    es_done(&r);

    /* More problems than the error struct holds: capped, still an error. */
    sbuf b = {0};
    sbuf_puts(&b, "{\"message\":\"m\"");
    for (int i = 0; i < 40; i++)
        sbuf_printf(&b, ",\"x%d\":\"v\"", i);
    sbuf_puts(&b, "}");
    es_run(&r, schema, sbuf_cstr(&b), "/event");
    cr_assert_eq(r.st, SALOG_E_VALIDATION);
    cr_assert_eq(r.err.count, SALOG_ERR_MAX_ITEMS);
    es_done(&r);
    sbuf_free(&b);
    sv_free(schema);
}

Test(event_schema, batch_base_pointer)
{
    sv_value *schema = es_standard_schema(NULL);
    es_result r;
    es_run(&r, schema, "{\"message\":\"m\",\"extra\":\"x\"}", "/events/3/event");
    es_expect_one(&r, SALOG_E_VALIDATION, "UnexpectedProperty", "/events/3/event/extra");
    es_done(&r);
    es_run(&r, schema, "{}", "/events/3/event");
    es_expect_one(&r, SALOG_E_VALIDATION, "FieldRequired", "/events/3/event/message");
    es_done(&r);
    es_run(&r, schema, "[]", "/events/3/event");
    es_expect_one(&r, SALOG_E_VALIDATION, "InvalidObject", "/events/3/event");
    es_done(&r);
    sv_free(schema);
}

Test(event_schema, save_malformed_all_stores_event_with_err)
{
    sv_value *schema = es_standard_schema("all");
    const char *ev = "{\"message\":\"m\",\"extra\":\"x\",\"actor\":7,\"obj\":{\"k\":[1,\"two\"]}}";
    es_result r;
    es_run(&r, schema, ev, "/event");
    cr_assert_eq(r.st, SALOG_OK, "%s %s", r.err.items[0].code, r.err.items[0].detail);
    cr_assert_eq(r.err.count, 0);
    sv_value *orig = es_json(ev);
    cr_assert(sv_equal(orig, r.stored), "stored as sent under all");
    sv_free(orig);

    cr_assert_not_null(r.malformed);
    sv_value *want = es_json("[{\"error\":\"'extra' is not a field of this config's schema\",\"field\":\"extra\","
                             "\"value\":\"x\"},"
                             "{\"error\":\"'actor' must be a string, not integer\",\"field\":\"actor\",\"value\":7},"
                             "{\"error\":\"'obj' is not a field of this config's schema\",\"field\":\"obj\","
                             "\"value\":{\"k\":[1,\"two\"]}}]");
    sbuf got = {0};
    codec_json_encode(&got, r.malformed);
    cr_assert(sv_equal(want, r.malformed), "err array: %s", sbuf_cstr(&got));
    sbuf_free(&got);
    /* The err array must be hashable: it goes into the envelope. */
    char hex[65];
    cr_assert_eq(codec_canonical_sha256_hex(r.malformed, hex), 0);
    sv_free(want);
    es_done(&r);

    /* A well-formed event under `all` has no err. */
    es_run(&r, schema, "{\"message\":\"m\"}", "/event");
    cr_assert_eq(r.st, SALOG_OK);
    cr_assert_null(r.malformed);
    es_done(&r);
    sv_free(schema);
}

Test(event_schema, save_malformed_all_keeps_too_long_and_bad_datetime)
{
    sv_value *schema = es_standard_schema("all");
    char *e33 = es_repeat("x", 33);
    char ev[256];
    snprintf(ev, sizeof ev, "{\"message\":\"m\",\"action\":\"%s\",\"timestamp\":\"soon\"}", e33);
    es_result r;
    es_run(&r, schema, ev, "/event");
    cr_assert_eq(r.st, SALOG_OK);
    cr_assert_eq(r.malformed->u.arr.count, 2);
    const sv_value *a = r.malformed->u.arr.items[0], *t = r.malformed->u.arr.items[1];
    cr_assert_str_eq(sv_object_get_str(a, "error"), "'action' cannot have more than 32 characters");
    cr_assert_str_eq(sv_object_get_str(a, "field"), "action");
    cr_assert_str_eq(sv_object_get_str(a, "value"), e33);
    cr_assert_str_eq(sv_object_get_str(t, "field"), "timestamp");
    cr_assert_str_eq(sv_object_get_str(t, "value"), "soon");
    cr_assert_str_eq(sv_object_get_str(r.stored, "action"), e33);
    es_done(&r);
    free(e33);
    sv_free(schema);
}

Test(event_schema, save_malformed_unredacted_drops_redact_fields)
{
    sv_value *schema = es_custom_schema("unredacted");
    es_result r;

    /* Malformed (unknown field): the redact field is not stored. */
    es_run(&r, schema, "{\"message\":\"m\",\"secret\":\"pw\",\"extra\":\"x\"}", "/event");
    cr_assert_eq(r.st, SALOG_OK);
    cr_assert_null(sv_object_get(r.stored, "secret"));
    cr_assert_str_eq(sv_object_get_str(r.stored, "message"), "m");
    cr_assert_str_eq(sv_object_get_str(r.stored, "extra"), "x");
    cr_assert_eq(r.malformed->u.arr.count, 1);
    cr_assert_str_eq(sv_object_get_str(r.malformed->u.arr.items[0], "field"), "extra");
    cr_assert_str_eq(sv_object_get_str(r.malformed->u.arr.items[0], "value"), "x");
    es_done(&r);

    /* The redact field itself malformed: its value appears nowhere. */
    es_run(&r, schema, "{\"message\":\"m\",\"secret\":\"this is far too long\"}", "/event");
    cr_assert_eq(r.st, SALOG_OK);
    cr_assert_null(sv_object_get(r.stored, "secret"));
    cr_assert_eq(r.malformed->u.arr.count, 1);
    const sv_value *item = r.malformed->u.arr.items[0];
    cr_assert_str_eq(sv_object_get_str(item, "field"), "secret");
    cr_assert_str_eq(sv_object_get_str(item, "error"), "'secret' cannot have more than 16 characters");
    cr_assert_null(sv_object_get(item, "value"));
    es_done(&r);

    /* Well-formed: stored as sent. */
    es_run(&r, schema, "{\"message\":\"m\",\"secret\":\"pw\"}", "/event");
    cr_assert_eq(r.st, SALOG_OK);
    cr_assert_null(r.malformed);
    cr_assert_str_eq(sv_object_get_str(r.stored, "secret"), "pw");
    es_done(&r);
    sv_free(schema);

    /* Under `all` the redact field stays (stored as sent). */
    schema = es_custom_schema("all");
    es_run(&r, schema, "{\"message\":\"m\",\"secret\":\"pw\",\"extra\":\"x\"}", "/event");
    cr_assert_eq(r.st, SALOG_OK);
    cr_assert_str_eq(sv_object_get_str(r.stored, "secret"), "pw");
    es_done(&r);
    sv_free(schema);
}

Test(event_schema, custom_typed_fields)
{
    sv_value *schema = es_custom_schema(NULL);
    es_result r;
    es_run(&r, schema,
           "{\"message\":\"m\",\"field_int\":1,\"field_bool\":true,\"field_time\":\"2025-01-02T10:00:00.000Z\"}",
           "/event");
    cr_assert_eq(r.st, SALOG_OK, "%s", r.err.items[0].detail);
    es_done(&r);
    es_run(&r, schema, "{\"message\":\"m\",\"field_int\":-9223372036854775808,\"field_bool\":false}", "/event");
    cr_assert_eq(r.st, SALOG_OK);
    es_done(&r);

    es_reject_one(schema, "{\"message\":\"m\",\"field_int\":\"1\"}", "InvalidInteger", "/event/field_int");
    es_reject_one(schema, "{\"message\":\"m\",\"field_int\":true}", "InvalidInteger", "/event/field_int");
    es_reject_one(schema, "{\"message\":\"m\",\"field_bool\":\"true\"}", "InvalidBool", "/event/field_bool");
    es_reject_one(schema, "{\"message\":\"m\",\"field_bool\":1}", "InvalidBool", "/event/field_bool");
    es_reject_one(schema, "{\"message\":\"m\",\"field_time\":\"2025-02-30T00:00:00Z\"}", "BadFormatDateTime",
                  "/event/field_time");
    es_reject_one(schema, "{\"message\":\"m\",\"field_time\":20250102}", "InvalidString", "/event/field_time");
    es_reject_one(schema, "{\"message\":5}", "InvalidString", "/event/message");
    sv_free(schema);
}

Test(event_schema, custom_schema_without_required_accepts_empty_event)
{
    sv_value *schema = sv_object(), *fields = sv_array();
    es_add_field(fields, "n", "integer", 0, false, false);
    cr_assert_eq(sv_object_set(schema, "fields", fields), 0);
    es_result r;
    es_run(&r, schema, "{}", "/event");
    cr_assert_eq(r.st, SALOG_OK);
    cr_assert_eq(r.stored->type, SV_OBJECT);
    cr_assert_eq(r.stored->u.obj.count, 0);
    es_done(&r);
    sv_free(schema);
}

Test(event_schema, broken_schema_is_invalid_schema)
{
    sv_value *schema = es_json("{\"save_malformed\":\"reject\"}");
    es_result r;
    es_run(&r, schema, "{\"message\":\"m\"}", "/event");
    cr_assert_eq(r.st, SALOG_E_INVALID_SCHEMA);
    es_done(&r);
    sv_free(schema);
}

/* ---------------- restrictions ---------------- */

static salog_status es_restrict(const char *restrictions, const char *event, const char *base, salog_err *err)
{
    sv_value *r = es_json(restrictions), *e = es_json(event);
    salog_err_init(err);
    salog_status st = event_check_restrictions(r, e, base, err);
    sv_free(r);
    sv_free(e);
    return st;
}

Test(event_restrictions, allowed_values_pass)
{
    salog_err err;
    cr_assert_eq(es_restrict("{\"tenant_id\":[\"t1\",\"t2\"]}", "{\"message\":\"m\",\"tenant_id\":\"t2\"}",
                             "/event", &err),
                 SALOG_OK);
    cr_assert_eq(err.count, 0);
    cr_assert_eq(es_restrict("{}", "{\"message\":\"m\"}", "/event", &err), SALOG_OK);
    cr_assert_eq(event_check_restrictions(NULL, NULL, "/event", &err), SALOG_OK);
}

Test(event_restrictions, empty_list_is_no_restriction)
{
    salog_err err;
    cr_assert_eq(es_restrict("{\"tenant_id\":[]}", "{\"message\":\"m\"}", "/event", &err), SALOG_OK);
    cr_assert_eq(es_restrict("{\"tenant_id\":[]}", "{\"message\":\"m\",\"tenant_id\":\"any\"}", "/event", &err),
                 SALOG_OK);
}

Test(event_restrictions, missing_field_is_forbidden)
{
    salog_err err;
    cr_assert_eq(es_restrict("{\"tenant_id\":[\"t1\"]}", "{\"message\":\"m\"}", "/event", &err),
                 SALOG_E_FORBIDDEN_FIELD);
    cr_assert_eq(err.count, 1);
    cr_assert_str_eq(err.items[0].code, "ForbiddenFieldValue");
    cr_assert_str_eq(err.items[0].source, "/event/tenant_id");
    cr_assert(strstr(err.items[0].detail, "tenant_id") != NULL);
}

Test(event_restrictions, wrong_value_is_forbidden_and_not_echoed)
{
    salog_err err;
    cr_assert_eq(es_restrict("{\"tenant_id\":[\"t1\"]}", "{\"message\":\"m\",\"tenant_id\":\"evil-tenant\"}",
                             "/events/3/event", &err),
                 SALOG_E_FORBIDDEN_FIELD);
    cr_assert_eq(err.count, 1);
    cr_assert_str_eq(err.items[0].code, "ForbiddenFieldValue");
    cr_assert_str_eq(err.items[0].source, "/events/3/event/tenant_id");
    cr_assert(strstr(err.items[0].detail, "evil-tenant") == NULL);
    cr_assert(strstr(err.items[0].detail, "t1") == NULL, "allowed values stay private");

    /* Same text but another type, and prefix matches, do not pass. */
    cr_assert_eq(es_restrict("{\"n\":[\"1\"]}", "{\"n\":1}", "/event", &err), SALOG_E_FORBIDDEN_FIELD);
    cr_assert_eq(es_restrict("{\"t\":[\"ab\"]}", "{\"t\":\"a\"}", "/event", &err), SALOG_E_FORBIDDEN_FIELD);
    cr_assert_eq(es_restrict("{\"t\":[\"a\"]}", "{\"t\":\"ab\"}", "/event", &err), SALOG_E_FORBIDDEN_FIELD);
}

Test(event_restrictions, every_failing_field_reported)
{
    salog_err err;
    cr_assert_eq(es_restrict("{\"tenant_id\":[\"t1\"],\"actor\":[\"bob\"],\"status\":[]}",
                             "{\"tenant_id\":\"t2\",\"status\":\"x\"}", "/event", &err),
                 SALOG_E_FORBIDDEN_FIELD);
    cr_assert_eq(err.count, 2);
    cr_assert_str_eq(err.items[0].source, "/event/tenant_id");
    cr_assert_str_eq(err.items[1].source, "/event/actor");
}
