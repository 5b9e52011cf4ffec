/* codec_msgpack_decode / codec_msgpack_encode: same structure as JSON,
 * hostile length headers, and what JSON cannot express (API.md I.1). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codec/codec.h"

static sv_value *mp_ok(const void *buf, size_t len)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *v = NULL;
    salog_status st = codec_msgpack_decode(&v, buf, len, CODEC_DEFAULT_MAX_DEPTH, &err);
    cr_assert_eq(st, SALOG_OK, "decode failed: %s (source %s)", err.count ? err.items[0].detail : "?",
                 err.count ? err.items[0].source : "?");
    cr_assert_not_null(v);
    return v;
}

/* Asserts a BadFormat with the given source; copies the detail into
 * `detail` (512 bytes, or NULL) for further checks. */
static void mp_bad(const void *buf, size_t len, const char *source, char *detail)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *v = (sv_value *)1;
    salog_status st = codec_msgpack_decode(&v, buf, len, CODEC_DEFAULT_MAX_DEPTH, &err);
    cr_assert_eq(st, SALOG_E_VALIDATION, "expected rejection");
    cr_assert_null(v);
    cr_assert_eq(err.count, 1);
    cr_assert_str_eq(err.items[0].code, "BadFormat");
    cr_assert_str_eq(err.items[0].source, source, "source: got %s want %s (detail %s)",
                     err.items[0].source, source, err.items[0].detail);
    cr_assert(err.items[0].detail[0] != '\0');
    if (detail)
        memcpy(detail, err.items[0].detail, sizeof err.items[0].detail);
}

#define MP_BAD(src, ...)                                \
    do {                                                \
        static const unsigned char b_[] = {__VA_ARGS__}; \
        mp_bad(b_, sizeof b_, src, NULL);               \
    } while (0)

static sv_value *json_ok(const char *text)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *v = NULL;
    cr_assert_eq(codec_json_decode(&v, text, strlen(text), CODEC_DEFAULT_MAX_DEPTH, &err), SALOG_OK,
                 "%s", text);
    return v;
}

static void put(sbuf *b, const void *p, size_t n)
{
    cr_assert_eq(sbuf_append(b, p, n), 0);
}

static void put_fixstr(sbuf *b, const char *s)
{
    unsigned char h = (unsigned char)(0xa0 | strlen(s));
    put(b, &h, 1);
    put(b, s, strlen(s));
}

Test(codec_msgpack, hand_built_request)
{
    /* {"event":{"message":"hi"},"n":-1,"big":-129,"t":true} */
    sbuf b = {0};
    put(&b, "\x84", 1);
    put_fixstr(&b, "event");
    put(&b, "\x81", 1);
    put_fixstr(&b, "message");
    put_fixstr(&b, "hi");
    put_fixstr(&b, "n");
    put(&b, "\xff", 1);
    put_fixstr(&b, "big");
    put(&b, "\xd1\xff\x7f", 3);
    put_fixstr(&b, "t");
    put(&b, "\xc3", 1);
    sv_value *v = mp_ok(b.data, b.len);
    sv_value *j = json_ok("{\"event\":{\"message\":\"hi\"},\"n\":-1,\"big\":-129,\"t\":true}");
    cr_assert(sv_equal(v, j));
    cr_assert_str_eq(v->u.obj.members[0].key, "event");
    cr_assert_str_eq(v->u.obj.members[3].key, "t");
    sv_free(v);
    sv_free(j);
    sbuf_free(&b);
}

Test(codec_msgpack, same_structures_as_json)
{
    const char *texts[] = {
        "{\"event\":{\"message\":\"hi\",\"actor\":\"alice\"},\"verbose\":true}",
        "{\"events\":[{\"event\":{\"message\":\"a\"}},{\"event\":{\"message\":\"b\"}}]}",
        "[1,-1,127,128,-32,-33,255,256,-128,-129,65535,65536,-32768,-32769,4294967295,"
        "4294967296,-2147483648,-2147483649,9223372036854775807,-9223372036854775808]",
        "{\"s\":\"\\u00e9\\ud83d\\ude00\\u0000\",\"f\":1.5,\"z\":null,\"e\":{},\"a\":[]}",
        "\"top\"", "0", "null", "[[[[[[[[[[]]]]]]]]]]",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        sv_value *j = json_ok(texts[i]);
        sbuf b = {0};
        cr_assert_eq(codec_msgpack_encode(&b, j), 0);
        sv_value *m = mp_ok(b.data, b.len);
        cr_assert(sv_equal(j, m), "%s", texts[i]);
        sv_free(m);
        sv_free(j);
        sbuf_free(&b);
    }
}

Test(codec_msgpack, long_strings_and_containers)
{
    /* str8/str16/str32, array16/array32, map16/map32 forms */
    sbuf b = {0};
    char s[300];
    memset(s, 'x', sizeof s);
    put(&b, "\xdf\x00\x00\x00\x03", 5);
    put(&b, "\xd9\x01k", 3);
    put(&b, "\xda\x01\x2c", 3);
    put(&b, s, 300);
    put(&b, "\xdb\x00\x00\x00\x01m", 6);
    put(&b, "\xdc\x00\x02\x01\x02", 5);
    put(&b, "\xa1n", 2);
    put(&b, "\xdd\x00\x00\x00\x01\xde\x00\x01\xa1q\xc0", 11);
    sv_value *v = mp_ok(b.data, b.len);
    cr_assert_eq(sv_object_get(v, "k")->u.s.len, 300);
    cr_assert_eq(sv_object_get(v, "m")->u.arr.count, 2);
    cr_assert_eq(sv_object_get(v, "n")->u.arr.items[0]->type, SV_OBJECT);
    sv_free(v);
    sbuf_free(&b);
}

Test(codec_msgpack, integer_widths)
{
    struct { const char *bytes; size_t n; int64_t want; } c[] = {
        {"\x7f", 1, 127}, {"\xe0", 1, -32}, {"\xcc\xff", 2, 255}, {"\xcd\xff\xff", 3, 65535},
        {"\xce\xff\xff\xff\xff", 5, 4294967295LL}, {"\xcf\x7f\xff\xff\xff\xff\xff\xff\xff", 9, INT64_MAX},
        {"\xd0\x80", 2, -128}, {"\xd1\x80\x00", 3, -32768}, {"\xd2\x80\x00\x00\x00", 5, INT32_MIN},
        {"\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9, INT64_MIN}, {"\xd0\x7f", 2, 127},
        {"\xd3\xff\xff\xff\xff\xff\xff\xff\xff", 9, -1},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        sv_value *v = mp_ok(c[i].bytes, c[i].n);
        cr_assert_eq(v->type, SV_INT);
        cr_assert_eq(v->u.i, c[i].want, "case %zu: %lld", i, (long long)v->u.i);
        sv_free(v);
    }
    char d[512];
    mp_bad("\x81\xa1n\xcf\x80\x00\x00\x00\x00\x00\x00\x00", 12, "/n", d);
    cr_assert(strstr(d, "9223372036854775808") != NULL, "%s", d);
}

Test(codec_msgpack, hostile_length_headers, .timeout = 5.0)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    MP_BAD("/", 0xdd, 0xff, 0xff, 0xff, 0xff);             /* array32 of 2^32-1 */
    MP_BAD("/", 0xdf, 0xff, 0xff, 0xff, 0xff);             /* map32 of 2^32-1 pairs */
    MP_BAD("/", 0xdc, 0xff, 0xff);                         /* array16 */
    MP_BAD("/", 0xde, 0x00, 0x02, 0xa1, 'a', 0x01);        /* 2 pairs, 3 bytes left */
    MP_BAD("/", 0xdb, 0xff, 0xff, 0xff, 0xff, 'a');        /* str32 */
    MP_BAD("/", 0x81, 0xa1, 'e', 0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01);
    MP_BAD("/", 0x91, 0xdf, 0x10, 0x00, 0x00, 0x00);
    MP_BAD("/", 0x9f);                                     /* fixarray of 15, nothing follows */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    cr_assert(ms < 500.0, "took %.1f ms", ms);
    char d[512];
    mp_bad("\xdd\xff\xff\xff\xff", 5, "/", d);
    cr_assert(strstr(d, "4294967295") != NULL, "%s", d);
    /* exactly enough bytes is accepted: 3 elements in 3 bytes */
    sv_value *v = mp_ok("\xdd\x00\x00\x00\x03\x01\x02\x03", 8);
    cr_assert_eq(v->u.arr.count, 3);
    sv_free(v);
}

Test(codec_msgpack, json_inexpressible_rejected_with_source)
{
    /* {"event":{"data":bin8 "ab"}} */
    MP_BAD("/event/data", 0x81, 0xa5, 'e', 'v', 'e', 'n', 't', 0x81, 0xa4, 'd', 'a', 't', 'a', 0xc4,
           0x02, 'a', 'b');
    MP_BAD("/x", 0x81, 0xa1, 'x', 0xc5, 0x00, 0x01, 'a');
    MP_BAD("/x", 0x81, 0xa1, 'x', 0xc6, 0xff, 0xff, 0xff, 0xff);
    /* timestamp 32 (fixext4, type -1) */
    char d[512];
    mp_bad("\x81\xa2ts\xd6\xff\x00\x00\x00\x01", 9, "/ts", d);
    cr_assert(strstr(d, "timestamp") != NULL, "%s", d);
    MP_BAD("/0", 0x91, 0xd4, 0x01, 0x00);                    /* fixext1 */
    MP_BAD("/0", 0x91, 0xc7, 0x01, 0x05, 0x00);              /* ext8 */
    MP_BAD("/0", 0x91, 0xc8, 0x00, 0x01, 0x05, 0x00);        /* ext16 */
    MP_BAD("/0", 0x91, 0xc9, 0x00, 0x00, 0x00, 0x01, 0x05, 0x00); /* ext32 */
    /* {"event":{1:"x"}}: the map holding the key is named */
    mp_bad("\x81\xa5" "event" "\x81\x01\xa1x", 11, "/event", d);
    cr_assert(strstr(d, "key") != NULL, "%s", d);
    MP_BAD("/", 0x81, 0xc0, 0x01);                           /* nil key at the top */
    MP_BAD("/a", 0x81, 0xa1, 'a', 0x81, 0x91, 0x01, 0x01);   /* array key */
    MP_BAD("/a", 0x81, 0xa1, 'a', 0x81, 0xc4, 0x01, 'k', 0x01); /* bin key */
    /* NaN / Inf as float64 and float32 */
    MP_BAD("/f", 0x81, 0xa1, 'f', 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0);
    MP_BAD("/f", 0x81, 0xa1, 'f', 0xcb, 0xff, 0xf0, 0, 0, 0, 0, 0, 0);
    MP_BAD("/f", 0x81, 0xa1, 'f', 0xca, 0x7f, 0x80, 0, 0);
    MP_BAD("/f", 0x81, 0xa1, 'f', 0xca, 0x7f, 0xc0, 0, 0);
    /* finite floats are fine */
    sv_value *v = mp_ok("\xca\x3f\xc0\x00\x00", 5);
    cr_assert_eq(v->type, SV_FLOAT);
    cr_assert_eq(v->u.f, 1.5);
    sv_free(v);
}

Test(codec_msgpack, invalid_utf8_rejected)
{
    MP_BAD("/event/message", 0x81, 0xa5, 'e', 'v', 'e', 'n', 't', 0x81, 0xa7, 'm', 'e', 's', 's',
           'a', 'g', 'e', 0xa1, 0xff);
    MP_BAD("/m", 0x81, 0xa1, 'm', 0xa3, 0xed, 0xa0, 0x80);   /* encoded surrogate */
    MP_BAD("/m", 0x81, 0xa1, 'm', 0xa2, 0xc0, 0x80);         /* overlong */
    MP_BAD("/", 0x81, 0xa1, 0xfe, 0x01);                     /* bad key at top */
    MP_BAD("/", 0x81, 0xa3, 'a', 0x00, 'b', 0x01);           /* NUL in a key */
}

Test(codec_msgpack, repeated_keys)
{
    /* {"event":{"message":"a","message":"b"}} */
    sbuf b = {0};
    put(&b, "\x81", 1);
    put_fixstr(&b, "event");
    put(&b, "\x82", 1);
    put_fixstr(&b, "message");
    put_fixstr(&b, "a");
    put_fixstr(&b, "message");
    put_fixstr(&b, "b");
    char d[512];
    mp_bad(b.data, b.len, "/event/message", d);
    cr_assert_str_eq(d, "repeated key \"message\"");
    sbuf_free(&b);
    /* {"events":[{},{},{},{"event":{"actor":1,"actor":2}}]} */
    put(&b, "\x81", 1);
    put_fixstr(&b, "events");
    put(&b, "\x94\x80\x80\x80\x81", 5);
    put_fixstr(&b, "event");
    put(&b, "\x82", 1);
    put_fixstr(&b, "actor");
    put(&b, "\x01", 1);
    put_fixstr(&b, "actor");
    put(&b, "\x02", 1);
    mp_bad(b.data, b.len, "/events/3/event/actor", NULL);
    sbuf_free(&b);
    MP_BAD("/a~1b", 0x82, 0xa3, 'a', '/', 'b', 0x01, 0xa3, 'a', '/', 'b', 0x02);
    /* a str8 key equal to a fixstr key is the same key */
    MP_BAD("/k", 0x82, 0xa1, 'k', 0x01, 0xd9, 0x01, 'k', 0x02);
}

static void nested_arrays(sbuf *b, int depth)
{
    for (int i = 0; i < depth; i++)
        put(b, "\x91", 1);
    put(b, "\x01", 1);
}

Test(codec_msgpack, depth_limit)
{
    sbuf b = {0};
    nested_arrays(&b, 32);
    sv_free(mp_ok(b.data, b.len));
    sbuf_free(&b);
    nested_arrays(&b, 33);
    char d[512];
    mp_bad(b.data, b.len, "/", d);
    cr_assert(strstr(d, "32") != NULL, "%s", d);
    sbuf_free(&b);
    nested_arrays(&b, 100000);
    mp_bad(b.data, b.len, "/", NULL);
    sbuf_free(&b);
    /* maps count too */
    for (int i = 0; i < 33; i++) {
        put(&b, "\x81", 1);
        put_fixstr(&b, "a");
    }
    put(&b, "\x01", 1);
    mp_bad(b.data, b.len, "/", NULL);
    sbuf_free(&b);
}

Test(codec_msgpack, framing_errors)
{
    char d[512];
    mp_bad("", 0, "/", d);
    cr_assert_str_eq(d, "empty body");
    MP_BAD("/", 0x80, 0x80);            /* trailing bytes */
    MP_BAD("/", 0xc0, 0x00);
    MP_BAD("/", 0xc1);                  /* never used */
    MP_BAD("/", 0x81, 0xa1, 'a');       /* truncated value */
    MP_BAD("/", 0xcb, 0x00, 0x00);      /* truncated float */
    MP_BAD("/", 0xcd, 0x01);            /* truncated uint16 */
    MP_BAD("/", 0xa5, 'a', 'b');        /* truncated fixstr */
    MP_BAD("/", 0xd9);                  /* missing str8 length */
}

Test(codec_msgpack, encode_exact_bytes_and_round_trip)
{
    sv_value *o = sv_object();
    sv_object_set_str(o, "a", "b");
    sv_object_set_int(o, "n", -1);
    sv_object_set_int(o, "p", 300);
    sv_object_set_bool(o, "t", true);
    sv_object_set(o, "z", sv_null());
    sv_object_set(o, "l", sv_array());
    sbuf b = {0};
    cr_assert_eq(codec_msgpack_encode(&b, o), 0);
    static const unsigned char want[] = {0x86, 0xa1, 'a', 0xa1, 'b', 0xa1, 'n', 0xff, 0xa1, 'p',
                                         0xcd, 0x01, 0x2c, 0xa1, 't', 0xc3, 0xa1, 'z', 0xc0,
                                         0xa1, 'l', 0x90};
    cr_assert_eq(b.len, sizeof want);
    cr_assert(memcmp(b.data, want, sizeof want) == 0);
    sv_value *back = mp_ok(b.data, b.len);
    cr_assert(sv_equal(o, back));
    sv_free(back);
    sbuf_free(&b);
    sv_object_set(o, "f", sv_float(0.1));
    sv_object_set_int(o, "min", INT64_MIN);
    sv_object_set_int(o, "max", INT64_MAX);
    cr_assert_eq(codec_msgpack_encode(&b, o), 0);
    back = mp_ok(b.data, b.len);
    cr_assert(sv_equal(o, back));
    sv_free(back);
    sbuf_free(&b);
    sv_free(o);
}
