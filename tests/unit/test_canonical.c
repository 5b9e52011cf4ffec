/* Canonical JSON and event hashes against the shared vectors
 * (../shared/vectors/README.md): every case of canonical.json and every
 * envelope of envelopes.json. */
#include <criterion/criterion.h>

#include <json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"

static json_object *load_vector(const char *name)
{
    const char *dir = getenv("SALOG_VECTORS_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "../shared/vectors", name);
    json_object *jo = json_object_from_file(path);
    cr_assert_not_null(jo, "cannot load %s", path);
    return jo;
}

static sv_value *decode_text(const char *text, size_t len)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *v = NULL;
    salog_status st = codec_json_decode(&v, text, len, CODEC_DEFAULT_MAX_DEPTH, &err);
    cr_assert_eq(st, SALOG_OK, "decode failed: %s (%s) for %s", err.count ? err.items[0].detail : "?",
                 err.count ? err.items[0].source : "?", text);
    return v;
}

static char *canonical_of(const sv_value *v)
{
    sbuf b = {0};
    cr_assert_eq(codec_canonical_json(&b, v), 0);
    char *s = malloc(b.len + 1);
    memcpy(s, b.data, b.len);
    s[b.len] = '\0';
    sbuf_free(&b);
    return s;
}

Test(canonical, every_vector_case)
{
    json_object *root = load_vector("canonical.json");
    json_object *cases = json_object_object_get(root, "cases");
    size_t n = json_object_array_length(cases);
    cr_assert(n >= 100, "only %zu cases", n);
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(cases, i);
        const char *name = json_object_get_string(json_object_object_get(c, "name"));
        json_object *in = json_object_object_get(c, "input_json_text");
        json_object *want = json_object_object_get(c, "canonical");
        const char *want_hash = json_object_get_string(json_object_object_get(c, "sha256"));
        sv_value *v = decode_text(json_object_get_string(in), (size_t)json_object_get_string_len(in));
        sbuf b = {0};
        cr_assert_eq(codec_canonical_json(&b, v), 0, "case %s", name);
        size_t want_len = (size_t)json_object_get_string_len(want);
        cr_assert(b.len == want_len && memcmp(b.data, json_object_get_string(want), want_len) == 0,
                  "case %s: got %.*s want %s", name, (int)b.len, b.data, json_object_get_string(want));
        char hex[65];
        cr_assert_eq(codec_canonical_sha256_hex(v, hex), 0);
        cr_assert_str_eq(hex, want_hash, "case %s", name);
        sbuf_free(&b);
        sv_free(v);
    }
    json_object_put(root);
}

Test(canonical, every_envelope_hash)
{
    json_object *root = load_vector("envelopes.json");
    json_object *events = json_object_object_get(root, "events");
    size_t n = json_object_array_length(events);
    cr_assert(n >= 40);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(events, i);
        /* through salog's own decoder, as a request body would go */
        const char *text = json_object_to_json_string_ext(
            json_object_object_get(e, "envelope"), JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        sv_value *v = decode_text(text, strlen(text));
        char *canon = canonical_of(v);
        cr_assert_str_eq(canon, json_object_get_string(json_object_object_get(e, "canonical")),
                         "event %zu", i);
        char hex[65];
        cr_assert_eq(codec_canonical_sha256_hex(v, hex), 0);
        cr_assert_str_eq(hex, json_object_get_string(json_object_object_get(e, "hash")), "event %zu", i);
        free(canon);
        sv_free(v);
    }
    json_object_put(root);
}

Test(canonical, api_md_pan_16573)
{
    const char *text = "{\"received_at\":\"2024-09-03T20:01:38.704822Z\",\"event\":{\"message\":\"\\u00e2\"}}";
    sv_value *v = decode_text(text, strlen(text));
    char *canon = canonical_of(v);
    cr_assert_str_eq(canon, "{\"event\":{\"message\":\"\xc3\xa2\"},\"received_at\":\"2024-09-03T20:01:38.704822Z\"}");
    char hex[65];
    cr_assert_eq(codec_canonical_sha256_hex(v, hex), 0);
    cr_assert_str_eq(hex, "77bb9ccd63d232e6c440d03c088f4723b146047d1dfa301bd69b82723a19a6fb");
    free(canon);
    sv_free(v);
}

Test(canonical, key_order_is_utf8_bytes_then_length)
{
    sv_value *o = sv_object();
    const char *keys[] = {"\xc3\xa9", "b", "aa", "a", "", "B", "\xef\xbf\xbd", "\xf0\x9f\x98\x80", "a\x7f"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        sv_object_set_int(o, keys[i], (int64_t)i);
    sv_value *inner = sv_object();
    sv_object_set_int(inner, "y", 1);
    sv_object_set_int(inner, "x", 2);
    sv_value *arr = sv_array();
    sv_array_push(arr, inner);
    sv_object_set(o, "z", arr);
    char *canon = canonical_of(o);
    cr_assert_str_eq(canon, "{\"\":4,\"B\":5,\"a\":3,\"aa\":2,\"a\x7f\":8,\"b\":1,\"z\":[{\"x\":2,\"y\":1}],"
                            "\"\xc3\xa9\":0,\"\xef\xbf\xbd\":6,\"\xf0\x9f\x98\x80\":7}");
    free(canon);
    sv_free(o);
}

Test(canonical, escapes)
{
    sv_value *s = sv_string_len("\"\\/\b\t\n\f\r\x01\x1f\x7f<>&\xe2\x80\xa8\0", 18);
    char *canon = canonical_of(s);
    cr_assert_str_eq(canon, "\"\\\"\\\\/\\b\\t\\n\\f\\r\\u0001\\u001f\x7f<>&\xe2\x80\xa8\\u0000\"");
    free(canon);
    sv_free(s);
}

Test(canonical, floats_and_nulls_refused)
{
    sbuf b = {0};
    sv_value *o = sv_object();
    sv_object_set_int(o, "a", 1);
    sv_object_set(o, "f", sv_float(1.5));
    cr_assert_eq(codec_canonical_json(&b, o), -2);
    char hex[65];
    cr_assert_eq(codec_canonical_sha256_hex(o, hex), -1);
    sbuf_free(&b);
    sv_object_set(o, "f", sv_null());
    cr_assert_eq(codec_canonical_json(&b, o), -2);
    sbuf_free(&b);
    sv_value *arr = sv_array();
    sv_array_push(arr, sv_null());
    cr_assert_eq(codec_canonical_json(&b, arr), -2);
    sbuf_free(&b);
    sv_free(arr);
    sv_free(o);
}

Test(canonical, ints_and_bools)
{
    const char *text = "[-9223372036854775808,9223372036854775807,0,-1,true,false,[],{}]";
    sv_value *v = decode_text(text, strlen(text));
    char *canon = canonical_of(v);
    cr_assert_str_eq(canon, "[-9223372036854775808,9223372036854775807,0,-1,true,false,[],{}]");
    free(canon);
    sv_free(v);
}
