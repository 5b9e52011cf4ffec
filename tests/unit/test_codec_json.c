/* codec_json_decode / codec_json_encode: API.md I.1 rules for JSON bodies. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "codec/codec.h"

static sv_value *json_ok_len(const char *text, size_t len)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *v = NULL;
    salog_status st = codec_json_decode(&v, text, len, CODEC_DEFAULT_MAX_DEPTH, &err);
    cr_assert_eq(st, SALOG_OK, "decoding %s failed: %s (source %s)", text,
                 err.count ? err.items[0].detail : "?", err.count ? err.items[0].source : "?");
    cr_assert_not_null(v);
    return v;
}

static sv_value *json_ok(const char *text)
{
    return json_ok_len(text, strlen(text));
}

/* Asserts a BadFormat with the given source; copies the detail into
 * `detail` (512 bytes, or NULL) for further checks. */
static void json_bad_len(const char *text, size_t len, const char *source, char *detail)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *v = (sv_value *)1;
    salog_status st = codec_json_decode(&v, text, len, CODEC_DEFAULT_MAX_DEPTH, &err);
    cr_assert_eq(st, SALOG_E_VALIDATION, "expected %s to be rejected", text);
    cr_assert_null(v);
    cr_assert_eq(err.count, 1);
    cr_assert_str_eq(err.items[0].code, "BadFormat");
    cr_assert_str_eq(err.items[0].source, source, "source for %s: got %s want %s (detail %s)", text,
                     err.items[0].source, source, err.items[0].detail);
    cr_assert(err.items[0].detail[0] != '\0');
    if (detail)
        memcpy(detail, err.items[0].detail, sizeof err.items[0].detail);
}

static void json_bad(const char *text, const char *source, char *detail)
{
    json_bad_len(text, strlen(text), source, detail);
}

static char *encode_json(const sv_value *v)
{
    sbuf b = {0};
    cr_assert_eq(codec_json_encode(&b, v), 0);
    char *s = strdup(sbuf_cstr(&b));
    sbuf_free(&b);
    return s;
}

Test(codec_json, decodes_request_in_order)
{
    sv_value *v = json_ok(" {\"event\" : {\"message\":\"hi\",\"actor\":\"al\\/ice\"},\n"
                          "\"verbose\":true, \"n\":-42, \"f\":1.5, \"z\":null, \"l\":[1,\"x\",false]}\r\n");
    cr_assert_eq(v->type, SV_OBJECT);
    cr_assert_eq(v->u.obj.count, 6);
    cr_assert_str_eq(v->u.obj.members[0].key, "event");
    cr_assert_str_eq(v->u.obj.members[5].key, "l");
    sv_value *ev = sv_object_get(v, "event");
    cr_assert_str_eq(sv_object_get_str(ev, "message"), "hi");
    cr_assert_str_eq(sv_object_get_str(ev, "actor"), "al/ice");
    cr_assert_eq(sv_object_get(v, "verbose")->type, SV_BOOL);
    cr_assert_eq(sv_object_get(v, "n")->u.i, -42);
    cr_assert_eq(sv_object_get(v, "f")->type, SV_FLOAT);
    cr_assert_eq(sv_object_get(v, "f")->u.f, 1.5);
    cr_assert_eq(sv_object_get(v, "z")->type, SV_NULL);
    cr_assert_eq(sv_object_get(v, "l")->u.arr.count, 3);
    sv_free(v);
}

Test(codec_json, top_level_scalars)
{
    sv_value *v = json_ok("123");
    cr_assert_eq(v->type, SV_INT);
    cr_assert_eq(v->u.i, 123);
    sv_free(v);
    v = json_ok("\"x\"");
    cr_assert_eq(v->type, SV_STRING);
    sv_free(v);
    v = json_ok("null");
    cr_assert_eq(v->type, SV_NULL);
    sv_free(v);
    v = json_ok("true ");
    cr_assert_eq(v->type, SV_BOOL);
    sv_free(v);
    v = json_ok("-0.5e-3");
    cr_assert_eq(v->type, SV_FLOAT);
    sv_free(v);
}

Test(codec_json, repeated_key_at_depth)
{
    char d[512];
    json_bad("{\"event\":{\"message\":\"a\",\"message\":\"b\"}}", "/event/message", d);
    cr_assert_str_eq(d, "repeated key \"message\"");
    json_bad("{\"a\":1,\"a\":2}", "/a", NULL);
    json_bad("{\"events\":[{\"event\":{}},{\"event\":{}},{\"event\":{}},"
             "{\"event\":{\"actor\":\"x\",\"message\":\"m\",\"actor\":\"y\"}}]}",
             "/events/3/event/actor", NULL);
    /* nested duplicate in a later member, outer keys distinct */
    json_bad("{\"x\":{\"y\":[0,{\"k\":{},\"k\":{}}]},\"z\":1}", "/x/y/1/k", NULL);
    /* the same key in sibling objects is fine */
    sv_free(json_ok("[{\"a\":1},{\"a\":2},{\"b\":{\"a\":3}}]"));
}

Test(codec_json, repeated_key_after_unescaping)
{
    json_bad("{\"ab\":1,\"a\\u0062\":2}", "/ab", NULL);
    json_bad("{\"\\u00e9\":1,\"\xc3\xa9\":2}", "/\xc3\xa9", NULL);
    json_bad("{\"q\":{\"a/b~c\":1,\"a\\/b~c\":2}}", "/q/a~1b~0c", NULL);
    json_bad("{\"\":1,\"\":2}", "/", NULL);
    /* the first repeat in document order is the one reported */
    json_bad("{\"b\":1,\"a\":1,\"c\":1,\"a\":2,\"b\":2}", "/a", NULL);
}

Test(codec_json, many_keys_detects_late_repeat)
{
    sbuf b = {0};
    sbuf_puts(&b, "{");
    for (int i = 0; i < 5000; i++)
        sbuf_printf(&b, "\"k%d\":%d,", i, i);
    sbuf_puts(&b, "\"last\":0}");
    sv_value *v = json_ok_len(b.data, b.len);
    cr_assert_eq(v->u.obj.count, 5001);
    cr_assert_str_eq(v->u.obj.members[4999].key, "k4999");
    sv_free(v);
    b.len -= 9;
    sbuf_puts(&b, "\"k1234\":0}");
    json_bad_len(b.data, b.len, "/k1234", NULL);
    sbuf_free(&b);
}

Test(codec_json, lone_surrogates_rejected)
{
    char d[512];
    json_bad("{\"event\":{\"message\":\"\\ud800\"}}", "/event/message", d);
    cr_assert(strstr(d, "surrogate") != NULL, "%s", d);
    json_bad("{\"event\":{\"message\":\"\\udc00\"}}", "/event/message", NULL);
    json_bad("{\"event\":{\"message\":\"a\\uD800b\"}}", "/event/message", NULL);
    json_bad("{\"event\":{\"message\":\"\\ud800\\u0041\"}}", "/event/message", NULL);
    json_bad("{\"event\":{\"message\":\"\\ud800\\ud800\"}}", "/event/message", NULL);
    json_bad("{\"event\":{\"message\":\"\\ude00\\ud83d\"}}", "/event/message", NULL);
    json_bad("[\"ok\",\"\\udfff\"]", "/1", NULL);
    /* in a key: the object holding it is named */
    json_bad("{\"e\":{\"\\ud800\":1}}", "/e", NULL);
    /* a proper pair becomes one 4-byte character */
    sv_value *v = json_ok("{\"m\":\"\\ud83d\\ude00\"}");
    const sv_value *m = sv_object_get(v, "m");
    cr_assert_eq(m->u.s.len, 4);
    cr_assert(memcmp(m->u.s.ptr, "\xf0\x9f\x98\x80", 4) == 0);
    sv_free(v);
}

Test(codec_json, invalid_utf8_rejected)
{
    json_bad("{\"event\":{\"message\":\"\xff\"}}", "/event/message", NULL);
    json_bad("{\"event\":{\"message\":\"\xc0\x80\"}}", "/event/message", NULL);    /* overlong */
    json_bad("{\"event\":{\"message\":\"\xe0\x80\xaf\"}}", "/event/message", NULL); /* overlong */
    json_bad("{\"event\":{\"message\":\"\xed\xa0\x80\"}}", "/event/message", NULL); /* surrogate */
    json_bad("{\"event\":{\"message\":\"\xf4\x90\x80\x80\"}}", "/event/message", NULL); /* > U+10FFFF */
    json_bad("{\"event\":{\"message\":\"\xe2\x82\"}}", "/event/message", NULL);  /* cut short */
    json_bad("{\"event\":{\"message\":\"\x80\"}}", "/event/message", NULL);
    json_bad("{\"ev\xffnt\":1}", "/", NULL);
    json_bad("\xef\xbb\xbf{}", "/", NULL); /* BOM */
    sv_value *v = json_ok("{\"m\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbf\"}");
    sv_free(v);
}

static char *nested(int depth, int objects)
{
    sbuf b = {0};
    for (int i = 0; i < depth; i++)
        sbuf_puts(&b, objects ? "{\"a\":" : "[");
    sbuf_puts(&b, "1");
    for (int i = 0; i < depth; i++)
        sbuf_puts(&b, objects ? "}" : "]");
    char *s = strdup(sbuf_cstr(&b));
    sbuf_free(&b);
    return s;
}

Test(codec_json, depth_limit)
{
    for (int objects = 0; objects <= 1; objects++) {
        char *ok = nested(32, objects), *bad = nested(33, objects), *worse = nested(5000, objects);
        sv_free(json_ok(ok));
        char d[512];
    json_bad(bad, "/", d);
        cr_assert(strstr(d, "32") != NULL, "%s", d);
        json_bad(worse, "/", NULL);
        free(ok);
        free(bad);
        free(worse);
    }
    /* a caller-chosen smaller limit */
    salog_err err;
    salog_err_init(&err);
    sv_value *v = NULL;
    cr_assert_eq(codec_json_decode(&v, "[[1]]", 5, 1, &err), SALOG_E_VALIDATION);
    salog_err_init(&err);
    cr_assert_eq(codec_json_decode(&v, "[[1]]", 5, 2, &err), SALOG_OK);
    sv_free(v);
}

Test(codec_json, trailing_garbage_rejected)
{
    json_bad("{} x", "/", NULL);
    json_bad("{}{}", "/", NULL);
    json_bad("{\"a\":1}}", "/", NULL);
    json_bad("1 2", "/", NULL);
    json_bad_len("{}\0", 3, "/", NULL);
    sv_free(json_ok("{}  \n\t\r\n"));
}

Test(codec_json, truncated_rejected)
{
    const char *cases[] = {"{", "{\"a\"", "{\"a\":", "{\"a\":\"b", "{\"a\":\"b\"", "[1,2", "[1,",
                           "tru", "-", "1.", "1e", "\"\\u12", "{\"a\":\"\\"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char d[512];
    json_bad(cases[i], "/", d);
        cr_assert(strstr(d, "truncated") != NULL, "%s -> %s", cases[i], d);
    }
}

Test(codec_json, malformed_rejected_even_where_json_c_is_lenient)
{
    const char *cases[] = {"NaN", "[NaN]", "[Infinity]", "[-Infinity]", "[1.]", "[.5]", "[01]",
                           "[+1]", "[1,]", "{\"a\":1,}", "{'a':1}", "{a:1}", "[\"a\tb\"]",
                           "[\"a\x01\"]", "[\"\\x41\"]", "[\"\\u00zz\"]", "[True]", "[nul]",
                           "//c\n{}", "{\"a\" 1}", "[1 2]", "   ", "\n"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        json_bad(cases[i], "/", NULL);
}

Test(codec_json, big_integers)
{
    sv_value *v = json_ok("{\"max\":9223372036854775807,\"min\":-9223372036854775808,\"z\":-0}");
    cr_assert_eq(sv_object_get(v, "max")->u.i, INT64_MAX);
    cr_assert_eq(sv_object_get(v, "min")->u.i, INT64_MIN);
    cr_assert_eq(sv_object_get(v, "z")->u.i, 0);
    sv_free(v);
    char d[512];
    json_bad("{\"event\":{\"n\":9223372036854775808}}", "/event/n", d);
    cr_assert(strstr(d, "9223372036854775808") != NULL, "%s", d);
    json_bad("{\"n\":-9223372036854775809}", "/n", NULL);
    json_bad("{\"n\":18446744073709551616}", "/n", NULL);
    json_bad("[0,123456789012345678901234567890]", "/1", NULL);
    json_bad("{\"f\":1e400}", "/f", NULL);
    json_bad("{\"f\":-1e400}", "/f", NULL);
    /* large but finite floats and tiny ones are numbers */
    v = json_ok("[1e300,1e-400,1.0]");
    cr_assert_eq(v->u.arr.items[0]->type, SV_FLOAT);
    cr_assert_eq(v->u.arr.items[2]->type, SV_FLOAT);
    sv_free(v);
}

Test(codec_json, empty_body)
{
    char d[512];
    json_bad_len("", 0, "/", d);
    cr_assert_str_eq(d, "empty body");
    salog_err err;
    salog_err_init(&err);
    sv_value *v = NULL;
    cr_assert_eq(codec_json_decode(&v, NULL, 0, 32, &err), SALOG_E_VALIDATION);
    cr_assert_str_eq(err.items[0].detail, "empty body");
}

Test(codec_json, nul_characters)
{
    sv_value *v = json_ok("{\"s\":\"a\\u0000b\"}");
    const sv_value *s = sv_object_get(v, "s");
    cr_assert_eq(s->u.s.len, 3);
    cr_assert(memcmp(s->u.s.ptr, "a\0b", 3) == 0);
    char *enc = encode_json(v);
    cr_assert_str_eq(enc, "{\"s\":\"a\\u0000b\"}");
    free(enc);
    sv_free(v);
    /* json-c would cut such a key short, so it is refused */
    json_bad("{\"e\":{\"a\\u0000b\":1}}", "/e", NULL);
}

Test(codec_json, encode_compact_insertion_order)
{
    const char *text = "{ \"z\" : 1 , \"a\" : [ true , false , null , \"s/t\" ] ,"
                       " \"m\" : { \"\\u00e9\" : \"\\t\\n\\u001f\\u007f\\u2028<>&\\\"\\\\\" } }";
    sv_value *v = json_ok(text);
    char *enc = encode_json(v);
    cr_assert_str_eq(enc, "{\"z\":1,\"a\":[true,false,null,\"s/t\"],"
                          "\"m\":{\"\xc3\xa9\":\"\\t\\n\\u001f\x7f\xe2\x80\xa8<>&\\\"\\\\\"}}");
    sv_value *back = json_ok(enc);
    cr_assert(sv_equal(v, back));
    free(enc);
    sv_free(back);
    sv_free(v);
}

Test(codec_json, encode_floats_round_trip)
{
    double vals[] = {1.0, 0.1, -0.0, 1e16, 1e300, -2.5e-300, 123456789.125, 4.9e-324};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        sv_value *f = sv_float(vals[i]);
        char *enc = encode_json(f);
        sv_value *back = json_ok(enc);
        cr_assert_eq(back->type, SV_FLOAT, "%s", enc);
        cr_assert_eq(back->u.f, vals[i], "%s", enc);
        free(enc);
        sv_free(back);
        sv_free(f);
    }
    sv_value *one = sv_float(1.0);
    char *enc = encode_json(one);
    cr_assert_str_eq(enc, "1.0");
    free(enc);
    sv_free(one);
    sv_value *nan = sv_float(0.0 / 0.0);
    enc = encode_json(nan);
    cr_assert_str_eq(enc, "null");
    free(enc);
    sv_free(nan);
}

Test(codec_json, encode_ints_and_empty_containers)
{
    sv_value *o = sv_object();
    sv_object_set_int(o, "min", INT64_MIN);
    sv_object_set_int(o, "max", INT64_MAX);
    sv_object_set(o, "arr", sv_array());
    sv_object_set(o, "obj", sv_object());
    sv_object_set(o, "k\"", sv_string(""));
    char *enc = encode_json(o);
    cr_assert_str_eq(enc, "{\"min\":-9223372036854775808,\"max\":9223372036854775807,"
                          "\"arr\":[],\"obj\":{},\"k\\\"\":\"\"}");
    sv_value *back = json_ok(enc);
    cr_assert(sv_equal(o, back));
    free(enc);
    sv_free(back);
    sv_free(o);
}

/* sv_share: a value with several holders is freed by the last sv_free
 * (AddressSanitizer reports a double free or a leak otherwise). */
Test(codec_json, shared_value_freed_by_last_holder)
{
    sv_value *v = sv_object();
    cr_assert_eq(sv_object_set_str(v, "name", "x"), 0);
    cr_assert_eq(sv_share(v), v);
    cr_assert_eq(sv_share(v), v);
    sv_free(v);
    sv_free(v);
    cr_assert_str_eq(sv_object_get_str(v, "name"), "x", "still held once");
    sv_free(v);
}
