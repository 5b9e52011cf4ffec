/* MessagePack request bodies -> sv_value.
 *
 * A bounded walker over the raw bytes rather than msgpack_unpack_next:
 * msgpack-c allocates ~32 bytes per *declared* element before reading any
 * (PLATFORM.md §7), so a 5-byte header could demand gigabytes. Here every
 * declared length is checked against the bytes left before anything is
 * built (each array element needs at least 1 byte, each map pair 2), and
 * containers grow only as elements actually arrive. It also refuses what
 * JSON cannot express (API.md I.1): bin, ext (timestamps included),
 * non-string keys, invalid UTF-8, NaN/Inf, integers above INT64_MAX, and
 * repeated keys, naming the member at fault. */
#include "codec_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mp_reader {
    const unsigned char *p;
    size_t len, pos;
    int max_depth;
    sbuf path; /* JSON pointer of the value being read */
    salog_err *err;
} mp_reader;

static int mp_oom(mp_reader *r)
{
    salog_err_set(r->err, SALOG_E_INTERNAL, NULL, "/", "out of memory while decoding the body");
    return -1;
}

/* Malformed framing: the whole body is to blame. */
static int mp_fail_format(mp_reader *r, const char *detail)
{
    salog_err_set(r->err, SALOG_E_VALIDATION, "BadFormat", "/", "%s", detail);
    return -1;
}

static int mp_truncated(mp_reader *r)
{
    char d[128];
    snprintf(d, sizeof d,
             "truncated MessagePack: the body ends at byte %zu before the value is complete",
             r->len);
    return mp_fail_format(r, d);
}

/* The member being read is to blame: source = the current pointer. */
static int mp_fail_member(mp_reader *r, const char *detail)
{
    if (r->path.oom)
        return mp_oom(r);
    char src[sizeof r->err->items[0].source];
    const char *p = codec_path_str(&r->path);
    codec_clip_utf8(src, sizeof src, p, strlen(p));
    salog_err_set(r->err, SALOG_E_VALIDATION, "BadFormat", src, "%s", detail);
    return -1;
}

/* Reads an n-byte big-endian unsigned integer; 0 / -1 (truncated). */
static int mp_read_be(mp_reader *r, size_t n, uint64_t *v)
{
    if (r->len - r->pos < n)
        return mp_truncated(r);
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = (x << 8) | r->p[r->pos + i];
    r->pos += n;
    *v = x;
    return 0;
}

/* What a type byte introduces, for error details. */
static const char *mp_type_name(unsigned c)
{
    if (c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3))
        return "an integer";
    if (c <= 0x8f || c == 0xde || c == 0xdf)
        return "a map";
    if (c <= 0x9f || c == 0xdc || c == 0xdd)
        return "an array";
    if (c <= 0xbf || (c >= 0xd9 && c <= 0xdb))
        return "a string";
    switch (c) {
    case 0xc0: return "nil";
    case 0xc2: case 0xc3: return "a boolean";
    case 0xc4: case 0xc5: case 0xc6: return "binary data";
    case 0xca: case 0xcb: return "a float";
    case 0xc1: return "the unused byte 0xc1";
    default: return "an extension";
    }
}

/* Length of a str header's payload, having consumed the header byte `c`.
 * 1 = it is a string, 0 = not a string (nothing consumed past c),
 * -1 = error set. */
static int mp_str_len(mp_reader *r, unsigned c, size_t *n)
{
    uint64_t v;
    if (c >= 0xa0 && c <= 0xbf) {
        v = c & 0x1f;
    } else if (c >= 0xd9 && c <= 0xdb) {
        if (mp_read_be(r, (size_t)1 << (c - 0xd9), &v) != 0)
            return -1;
    } else {
        return 0;
    }
    if (v > r->len - r->pos) {
        char d[160];
        snprintf(d, sizeof d, "truncated MessagePack: a string declares %llu bytes but only %zu remain",
                 (unsigned long long)v, r->len - r->pos);
        mp_fail_format(r, d);
        return -1;
    }
    *n = (size_t)v;
    return 1;
}

static int mp_read_value(mp_reader *r, int depth, sv_value **out);

static int mp_depth_ok(mp_reader *r, int depth)
{
    if (depth <= r->max_depth)
        return 1;
    char d[96];
    snprintf(d, sizeof d, "the body nests maps and arrays deeper than %d levels", r->max_depth);
    mp_fail_format(r, d);
    return 0;
}

/* Rejects a declared element count that the bytes left cannot hold. */
static int mp_count_ok(mp_reader *r, const char *what, const char *unit, uint64_t count,
                       size_t min_bytes_each)
{
    size_t left = r->len - r->pos;
    if (count <= left / min_bytes_each)
        return 1;
    char d[200];
    const char *p = r->path.oom ? "" : codec_path_str(&r->path);
    snprintf(d, sizeof d, "%s at \"%.60s\" declares %llu %s but only %zu bytes remain", what,
             *p ? p : "/", (unsigned long long)count, unit, left);
    mp_fail_format(r, d);
    return 0;
}

static int mp_read_array(mp_reader *r, int depth, uint64_t count, sv_value **out)
{
    if (!mp_depth_ok(r, depth) || !mp_count_ok(r, "an array", "elements", count, 1))
        return -1;
    sv_value *arr = sv_array();
    size_t path_len = r->path.len;
    int rc = -1;
    if (!arr)
        return mp_oom(r);
    for (uint64_t i = 0; i < count; i++) {
        sv_value *item = NULL;
        if (codec_path_push_index(&r->path, (size_t)i) != 0) {
            mp_oom(r);
            goto out;
        }
        if (mp_read_value(r, depth, &item) != 0)
            goto out;
        r->path.len = path_len;
        if (sv_array_push(arr, item) != 0) {
            mp_oom(r);
            goto out;
        }
    }
    *out = arr;
    arr = NULL;
    rc = 0;
out:
    r->path.len = path_len;
    sv_free(arr);
    return rc;
}

static int mp_read_map(mp_reader *r, int depth, uint64_t count, sv_value **out)
{
    if (!mp_depth_ok(r, depth) || !mp_count_ok(r, "a map", "key/value pairs", count, 2))
        return -1;
    sv_value *obj = sv_object();
    codec_key *keys = NULL;
    size_t path_len = r->path.len;
    int rc = -1;
    if (!obj)
        return mp_oom(r);
    for (uint64_t i = 0; i < count; i++) {
        if (r->pos >= r->len) {
            mp_truncated(r);
            goto out;
        }
        unsigned c = r->p[r->pos++];
        size_t klen = 0;
        int is_str = mp_str_len(r, c, &klen);
        if (is_str < 0)
            goto out;
        if (is_str == 0) {
            char d[96];
            snprintf(d, sizeof d, "a map key is %s; keys must be strings", mp_type_name(c));
            mp_fail_member(r, d);
            goto out;
        }
        const char *key = (const char *)r->p + r->pos;
        r->pos += klen;
        if (!codec_utf8_valid(key, klen)) {
            mp_fail_member(r, "a map key is not valid UTF-8");
            goto out;
        }
        if (klen && memchr(key, 0, klen)) {
            mp_fail_member(r, "an object key contains U+0000");
            goto out;
        }
        sv_value *val = NULL;
        if (codec_path_push_key(&r->path, key, klen) != 0) {
            mp_oom(r);
            goto out;
        }
        if (mp_read_value(r, depth, &val) != 0)
            goto out;
        r->path.len = path_len;
        if (codec_object_append(obj, key, klen, val) != 0) {
            mp_oom(r);
            goto out;
        }
    }
    if (obj->u.obj.count > 1) {
        keys = malloc(obj->u.obj.count * sizeof *keys);
        if (!keys) {
            mp_oom(r);
            goto out;
        }
        for (size_t i = 0; i < obj->u.obj.count; i++)
            keys[i] = (codec_key){obj->u.obj.members[i].key, obj->u.obj.members[i].key_len, i};
        size_t k = codec_find_repeated_key(keys, obj->u.obj.count);
        if (k != CODEC_NO_REPEAT) {
            if (codec_path_push_key(&r->path, keys[k].ptr, keys[k].len) != 0) {
                mp_oom(r);
                goto out;
            }
            char shown[200], d[256];
            codec_clip_utf8(shown, sizeof shown, keys[k].ptr, keys[k].len);
            snprintf(d, sizeof d, "repeated key \"%s\"", shown);
            mp_fail_member(r, d);
            goto out;
        }
    }
    *out = obj;
    obj = NULL;
    rc = 0;
out:
    r->path.len = path_len;
    free(keys);
    sv_free(obj);
    return rc;
}

static int mp_make(mp_reader *r, sv_value *v, sv_value **out)
{
    if (!v)
        return mp_oom(r);
    *out = v;
    return 0;
}

static int mp_reject_ext(mp_reader *r, unsigned c)
{
    /* where the ext's type byte sits after the header byte */
    size_t type_at = (c >= 0xd4 && c <= 0xd8) ? 0 : (size_t)1 << (c - 0xc7);
    char d[128];
    if (r->len - r->pos > type_at && (signed char)r->p[r->pos + type_at] == -1)
        snprintf(d, sizeof d,
                 "a MessagePack timestamp (ext type -1) is not allowed; send the time as a string");
    else if (r->len - r->pos > type_at)
        snprintf(d, sizeof d, "a MessagePack extension (ext type %d) is not allowed",
                 (int)(signed char)r->p[r->pos + type_at]);
    else
        snprintf(d, sizeof d, "a MessagePack extension (ext) is not allowed");
    return mp_fail_member(r, d);
}

static int mp_read_value(mp_reader *r, int depth, sv_value **out)
{
    uint64_t v;
    *out = NULL;
    if (r->pos >= r->len)
        return mp_truncated(r);
    unsigned c = r->p[r->pos++];
    if (c <= 0x7f)
        return mp_make(r, sv_int((int64_t)c), out);
    if (c >= 0xe0)
        return mp_make(r, sv_int((int64_t)c - 256), out);
    if (c <= 0x8f)
        return mp_read_map(r, depth + 1, c & 0x0f, out);
    if (c <= 0x9f)
        return mp_read_array(r, depth + 1, c & 0x0f, out);
    if (c <= 0xbf || (c >= 0xd9 && c <= 0xdb)) {
        size_t n = 0;
        if (mp_str_len(r, c, &n) < 0)
            return -1;
        const char *s = (const char *)r->p + r->pos;
        r->pos += n;
        if (!codec_utf8_valid(s, n))
            return mp_fail_member(r, "invalid UTF-8 in a string");
        return mp_make(r, sv_string_len(s, n), out);
    }
    switch (c) {
    case 0xc0: return mp_make(r, sv_null(), out);
    case 0xc2: return mp_make(r, sv_bool(false), out);
    case 0xc3: return mp_make(r, sv_bool(true), out);
    case 0xc1: return mp_fail_format(r, "invalid MessagePack: byte 0xc1 is never used");
    case 0xc4: case 0xc5: case 0xc6:
        return mp_fail_member(r, "binary data (MessagePack bin) is not allowed; send a UTF-8 string");
    case 0xc7: case 0xc8: case 0xc9:
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
        return mp_reject_ext(r, c);
    case 0xca: {
        if (mp_read_be(r, 4, &v) != 0)
            return -1;
        uint32_t bits = (uint32_t)v;
        float f;
        memcpy(&f, &bits, sizeof f);
        if (!isfinite(f))
            return mp_fail_member(r, "NaN and infinity are not allowed");
        return mp_make(r, sv_float((double)f), out);
    }
    case 0xcb: {
        if (mp_read_be(r, 8, &v) != 0)
            return -1;
        double f;
        memcpy(&f, &v, sizeof f);
        if (!isfinite(f))
            return mp_fail_member(r, "NaN and infinity are not allowed");
        return mp_make(r, sv_float(f), out);
    }
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
        if (mp_read_be(r, (size_t)1 << (c - 0xcc), &v) != 0)
            return -1;
        if (v > (uint64_t)INT64_MAX) {
            char d[96];
            snprintf(d, sizeof d, "integer %llu is outside the signed 64-bit range",
                     (unsigned long long)v);
            return mp_fail_member(r, d);
        }
        return mp_make(r, sv_int((int64_t)v), out);
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        size_t n = (size_t)1 << (c - 0xd0);
        if (mp_read_be(r, n, &v) != 0)
            return -1;
        /* sign-extend an n-byte two's complement value */
        int64_t i;
        if (n < 8 && (v >> (8 * n - 1)) & 1)
            i = (int64_t)(v | (~(uint64_t)0 << (8 * n)));
        else
            i = (int64_t)v;
        return mp_make(r, sv_int(i), out);
    }
    case 0xdc: case 0xdd:
        if (mp_read_be(r, c == 0xdc ? 2 : 4, &v) != 0)
            return -1;
        return mp_read_array(r, depth + 1, v, out);
    case 0xde: case 0xdf:
        if (mp_read_be(r, c == 0xde ? 2 : 4, &v) != 0)
            return -1;
        return mp_read_map(r, depth + 1, v, out);
    default:
        return mp_fail_format(r, "invalid MessagePack type byte");
    }
}

salog_status codec_msgpack_decode(sv_value **out, const char *buf, size_t len, int max_depth,
                                  salog_err *err)
{
    salog_status st = SALOG_OK;
    mp_reader r = {.p = (const unsigned char *)buf, .len = len, .err = err};
    sv_value *v = NULL;
    *out = NULL;
    r.max_depth = max_depth > 0 ? max_depth : CODEC_DEFAULT_MAX_DEPTH;
    if (!buf || len == 0) {
        st = salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", "/", "empty body");
        goto out;
    }
    if (mp_read_value(&r, 0, &v) != 0) {
        st = err->status != SALOG_OK ? err->status : SALOG_E_INTERNAL;
        goto out;
    }
    if (r.pos < r.len) {
        char d[128];
        snprintf(d, sizeof d,
                 "invalid MessagePack: %zu unexpected bytes after the value (from byte %zu)",
                 r.len - r.pos, r.pos);
        st = salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", "/", "%s", d);
        goto out;
    }
    *out = v;
    v = NULL;
out:
    sv_free(v);
    sbuf_free(&r.path);
    return st;
}
