/* JSON request bodies -> sv_value.
 *
 * Two passes. First salog's own scan of the raw text enforces what json-c
 * does not (PLATFORM.md §2.9, and measured here: even with
 * JSON_TOKENER_STRICT json-c 0.16 accepts NaN, "1.", raw control
 * characters in strings, overlong/surrogate UTF-8, keeps the last of two
 * repeated keys, turns "\ud800" into U+FFFD and saturates big integers):
 * strict RFC 8259 grammar, strict UTF-8, no lone surrogate escapes, unique
 * keys at every depth, nesting depth, integers within int64, finite
 * numbers. It builds nothing but the JSON pointer of the current member, so
 * every error can name its `source`. Then json-c parses the vetted text and
 * its tree is copied into an sv_value. */
#include "codec_internal.h"

#include <json.h>

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers shared with msgpack_decode.c (codec_internal.h) ---- */

size_t codec_utf8_seq_len(const unsigned char *s, size_t avail)
{
    if (avail == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c == 0xE0) {
        n = 3;
        lo = 0xA0; /* no overlong forms */
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        n = 3;
    } else if (c == 0xED) {
        n = 3;
        hi = 0x9F; /* no UTF-16 surrogates */
    } else if (c == 0xF0) {
        n = 4;
        lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
        n = 4;
    } else if (c == 0xF4) {
        n = 4;
        hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

bool codec_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = codec_utf8_seq_len(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

int codec_path_push_key(sbuf *path, const char *key, size_t len)
{
    sbuf_append(path, "/", 1);
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (key[i] == '~' || key[i] == '/') {
            sbuf_append(path, key + start, i - start);
            sbuf_append(path, key[i] == '~' ? "~0" : "~1", 2);
            start = i + 1;
        }
    }
    /* sbuf failures are sticky, so the last append reports any of them */
    return sbuf_append(path, key + start, len - start);
}

int codec_path_push_index(sbuf *path, size_t index)
{
    return sbuf_printf(path, "/%zu", index);
}

const char *codec_path_str(sbuf *path)
{
    const char *s = path->oom ? NULL : sbuf_cstr(path);
    return s ? s : "";
}

static int codec_key_cmp(const void *a, const void *b)
{
    const codec_key *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->ptr, y->ptr, n) : 0;
    if (c != 0)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

size_t codec_find_repeated_key(codec_key *keys, size_t n)
{
    if (n < 2)
        return CODEC_NO_REPEAT;
    qsort(keys, n, sizeof *keys, codec_key_cmp);
    /* Equal keys end up adjacent in document order; the repeat that comes
     * first in the document has the smallest index among them. */
    size_t best = CODEC_NO_REPEAT;
    for (size_t i = 1; i < n; i++) {
        const codec_key *a = &keys[i - 1], *b = &keys[i];
        if (a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0) &&
            (best == CODEC_NO_REPEAT || b->index < keys[best].index))
            best = i;
    }
    return best;
}

int codec_object_append(sv_value *obj, const char *key, size_t key_len, sv_value *value)
{
    if (!obj || obj->type != SV_OBJECT || !value || key_len == SIZE_MAX)
        goto fail;
    if (obj->u.obj.count == obj->u.obj.cap) {
        size_t cap = obj->u.obj.cap ? obj->u.obj.cap * 2 : 4;
        if (cap > SIZE_MAX / sizeof(sv_member))
            goto fail;
        sv_member *m = realloc(obj->u.obj.members, cap * sizeof *m);
        if (!m)
            goto fail;
        obj->u.obj.members = m;
        obj->u.obj.cap = cap;
    }
    char *k = malloc(key_len + 1);
    if (!k)
        goto fail;
    if (key_len)
        memcpy(k, key, key_len);
    k[key_len] = '\0';
    obj->u.obj.members[obj->u.obj.count++] = (sv_member){k, key_len, value};
    return 0;
fail:
    sv_free(value);
    return -1;
}

/* ---- pass 1: the strict scan ---- */

typedef struct json_scan {
    const unsigned char *p;
    size_t len, pos;
    int max_depth;
    sbuf path;       /* JSON pointer of the value being scanned */
    sbuf keybytes;   /* unescaped keys of the objects open on this branch */
    codec_key *keys; /* their records; .ptr is set only when an object closes */
    size_t *key_offs;
    size_t nkeys, capkeys;
    sbuf scratch;    /* a number's text, for strtod */
    salog_err *err;
} json_scan;

void codec_clip_utf8(char *dst, size_t max, const char *s, size_t len)
{
    size_t n = len < max - 1 ? len : max - 1;
    if (n < len)
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    if (n)
        memcpy(dst, s, n);
    dst[n] = '\0';
}

static int scan_oom(json_scan *s)
{
    salog_err_set(s->err, SALOG_E_INTERNAL, NULL, "/", "out of memory while decoding the body");
    return -1;
}

/* Malformed text: the whole body is to blame. */
static int scan_fail_syntax(json_scan *s, const char *what)
{
    if (s->pos >= s->len)
        salog_err_set(s->err, SALOG_E_VALIDATION, "BadFormat", "/",
                      "truncated JSON: the body ends at byte %zu before the value is complete",
                      s->len);
    else
        salog_err_set(s->err, SALOG_E_VALIDATION, "BadFormat", "/", "invalid JSON at byte %zu: %s",
                      s->pos, what);
    return -1;
}

static int scan_fail_unexpected(json_scan *s, const char *expected)
{
    if (s->pos >= s->len)
        return scan_fail_syntax(s, expected);
    unsigned c = s->p[s->pos];
    char what[160];
    if (c >= 0x20 && c < 0x7F)
        snprintf(what, sizeof what, "unexpected character '%c', %s", (char)c, expected);
    else
        snprintf(what, sizeof what, "unexpected byte 0x%02x, %s", c, expected);
    return scan_fail_syntax(s, what);
}

/* A member's value (or key) is to blame: source = the current pointer. */
static int scan_fail_member(json_scan *s, const char *detail)
{
    if (s->path.oom)
        return scan_oom(s);
    char src[sizeof s->err->items[0].source];
    const char *p = codec_path_str(&s->path);
    codec_clip_utf8(src, sizeof src, p, strlen(p));
    salog_err_set(s->err, SALOG_E_VALIDATION, "BadFormat", src, "%s", detail);
    return -1;
}

static void scan_ws(json_scan *s)
{
    while (s->pos < s->len) {
        unsigned char c = s->p[s->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        s->pos++;
    }
}

static int scan_value(json_scan *s, int depth);

static int hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads "\uHHHH" (four hex digits) at s->pos (which is at the backslash). 1 = read, 0 = not
 * there (error already set), the code unit in *cu. */
static int scan_u_escape(json_scan *s, unsigned *cu)
{
    size_t at = s->pos + 2;
    unsigned v = 0;
    for (size_t i = 0; i < 4; i++) {
        if (at + i >= s->len) {
            s->pos = s->len;
            scan_fail_syntax(s, "");
            return 0;
        }
        int d = hex_digit(s->p[at + i]);
        if (d < 0) {
            s->pos = at + i;
            scan_fail_syntax(s, "\\u must be followed by four hex digits");
            return 0;
        }
        v = v * 16 + (unsigned)d;
    }
    *cu = v;
    s->pos = at + 4;
    return 1;
}

static int put_utf8(sbuf *out, unsigned cp)
{
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return sbuf_append(out, b, n);
}

/* json-c would turn it into U+FFFD without a word (PLATFORM.md §2.9). */
static int scan_fail_surrogate(json_scan *s, unsigned code_unit)
{
    char d[96];
    snprintf(d, sizeof d, "lone UTF-16 surrogate escape \\u%04x in a string", code_unit);
    return scan_fail_member(s, d);
}

/* Scans the string at s->pos (the opening quote). With `out`, appends the
 * unescaped bytes (used for keys, which must be compared unescaped). */
static int scan_string(json_scan *s, sbuf *out)
{
    s->pos++;
    for (;;) {
        if (s->pos >= s->len)
            return scan_fail_syntax(s, "");
        unsigned char c = s->p[s->pos];
        if (c == '"') {
            s->pos++;
            break;
        }
        if (c < 0x20) {
            char what[80];
            snprintf(what, sizeof what, "control character U+%04X must be escaped in a string", c);
            return scan_fail_syntax(s, what);
        }
        if (c == '\\') {
            if (s->pos + 1 >= s->len) {
                s->pos = s->len;
                return scan_fail_syntax(s, "");
            }
            unsigned char e = s->p[s->pos + 1];
            unsigned cp;
            switch (e) {
            case '"': case '\\': case '/': cp = e; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u': {
                unsigned hi, lo;
                if (!scan_u_escape(s, &hi))
                    return -1;
                cp = hi;
                if (hi >= 0xDC00 && hi <= 0xDFFF) {
                    return scan_fail_surrogate(s, hi);
                }
                if (hi >= 0xD800 && hi <= 0xDBFF) {
                    if (s->pos + 1 < s->len && s->p[s->pos] == '\\' && s->p[s->pos + 1] == 'u') {
                        if (!scan_u_escape(s, &lo))
                            return -1;
                        if (lo < 0xDC00 || lo > 0xDFFF) {
                            return scan_fail_surrogate(s, hi);
                        }
                        cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    } else if (s->pos + 1 >= s->len) {
                        s->pos = s->len;
                        return scan_fail_syntax(s, "");
                    } else {
                        return scan_fail_surrogate(s, hi);
                    }
                }
                if (out && put_utf8(out, cp) != 0)
                    return scan_oom(s);
                continue;
            }
            default:
                s->pos++;
                return scan_fail_unexpected(s, "not a valid escape after '\\'");
            }
            if (out) {
                unsigned char b = (unsigned char)cp;
                if (sbuf_append(out, &b, 1) != 0)
                    return scan_oom(s);
            }
            s->pos += 2;
            continue;
        }
        if (c < 0x80) {
            size_t start = s->pos;
            while (s->pos < s->len) {
                unsigned char d = s->p[s->pos];
                if (d == '"' || d == '\\' || d < 0x20 || d >= 0x80)
                    break;
                s->pos++;
            }
            if (out && sbuf_append(out, s->p + start, s->pos - start) != 0)
                return scan_oom(s);
            continue;
        }
        size_t n = codec_utf8_seq_len(s->p + s->pos, s->len - s->pos);
        if (n == 0) {
            char d[96];
            snprintf(d, sizeof d, "invalid UTF-8 in a string (byte 0x%02x at offset %zu)", c,
                     s->pos);
            return scan_fail_member(s, d);
        }
        if (out && sbuf_append(out, s->p + s->pos, n) != 0)
            return scan_oom(s);
        s->pos += n;
    }
    if (out && out->oom)
        return scan_oom(s);
    return 0;
}

static void scan_digits(json_scan *s)
{
    while (s->pos < s->len && s->p[s->pos] >= '0' && s->p[s->pos] <= '9')
        s->pos++;
}

static int scan_number(json_scan *s)
{
    size_t start = s->pos;
    bool neg = false, is_int = true;
    if (s->p[s->pos] == '-') {
        neg = true;
        s->pos++;
    }
    if (s->pos >= s->len)
        return scan_fail_syntax(s, "");
    if (s->p[s->pos] == '0')
        s->pos++;
    else if (s->p[s->pos] >= '1' && s->p[s->pos] <= '9')
        scan_digits(s);
    else
        return scan_fail_unexpected(s, "expected a digit");
    if (s->pos < s->len && s->p[s->pos] == '.') {
        is_int = false;
        s->pos++;
        if (s->pos >= s->len)
            return scan_fail_syntax(s, "");
        if (s->p[s->pos] < '0' || s->p[s->pos] > '9')
            return scan_fail_unexpected(s, "expected a digit after '.'");
        scan_digits(s);
    }
    if (s->pos < s->len && (s->p[s->pos] == 'e' || s->p[s->pos] == 'E')) {
        is_int = false;
        s->pos++;
        if (s->pos < s->len && (s->p[s->pos] == '+' || s->p[s->pos] == '-'))
            s->pos++;
        if (s->pos >= s->len)
            return scan_fail_syntax(s, "");
        if (s->p[s->pos] < '0' || s->p[s->pos] > '9')
            return scan_fail_unexpected(s, "expected a digit in the exponent");
        scan_digits(s);
    }
    const char *text = (const char *)s->p + start;
    size_t tlen = s->pos - start;
    int shown = tlen > 40 ? 40 : (int)tlen;
    const char *more = tlen > 40 ? "..." : "";
    char d[128];
    if (is_int) {
        /* json-c would saturate silently; salog refuses (API.md I.1) */
        uint64_t acc = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (size_t i = neg ? 1 : 0; i < tlen; i++) {
            unsigned dg = (unsigned)(text[i] - '0');
            if (acc > (limit - dg) / 10) {
                snprintf(d, sizeof d, "integer %.*s%s is outside the signed 64-bit range", shown,
                         text, more);
                return scan_fail_member(s, d);
            }
            acc = acc * 10 + dg;
        }
        return 0;
    }
    s->scratch.len = 0;
    const char *z = (sbuf_append(&s->scratch, text, tlen) == 0) ? sbuf_cstr(&s->scratch) : NULL;
    if (!z)
        return scan_oom(s);
    double v = strtod(z, NULL);
    if (!isfinite(v)) {
        snprintf(d, sizeof d, "number %.*s%s is too large", shown, text, more);
        return scan_fail_member(s, d);
    }
    return 0;
}

static int scan_literal(json_scan *s, const char *lit)
{
    size_t n = strlen(lit);
    for (size_t i = 0; i < n; i++) {
        if (s->pos >= s->len)
            return scan_fail_syntax(s, "");
        if (s->p[s->pos] != (unsigned char)lit[i])
            return scan_fail_unexpected(s, "expected a JSON value");
        s->pos++;
    }
    return 0;
}

static int scan_depth_ok(json_scan *s, int depth)
{
    if (depth <= s->max_depth)
        return 1;
    salog_err_set(s->err, SALOG_E_VALIDATION, "BadFormat", "/",
                  "the body nests objects and arrays deeper than %d levels", s->max_depth);
    return 0;
}

static int scan_push_key(json_scan *s, size_t off, size_t len, size_t index)
{
    if (s->nkeys == s->capkeys) {
        size_t cap = s->capkeys ? s->capkeys * 2 : 32;
        codec_key *k = realloc(s->keys, cap * sizeof *k);
        if (!k)
            return -1;
        s->keys = k;
        size_t *o = realloc(s->key_offs, cap * sizeof *o);
        if (!o)
            return -1;
        s->key_offs = o;
        s->capkeys = cap;
    }
    s->keys[s->nkeys] = (codec_key){NULL, len, index};
    s->key_offs[s->nkeys] = off;
    s->nkeys++;
    return 0;
}

static int scan_object(json_scan *s, int depth)
{
    if (!scan_depth_ok(s, depth))
        return -1;
    size_t first = s->nkeys, kb_start = s->keybytes.len, path_len = s->path.len, count = 0;
    int rc = -1;
    s->pos++;
    scan_ws(s);
    if (s->pos < s->len && s->p[s->pos] == '}') {
        s->pos++;
        return 0;
    }
    for (;;) {
        scan_ws(s);
        if (s->pos >= s->len || s->p[s->pos] != '"') {
            scan_fail_unexpected(s, "expected a string key");
            goto out;
        }
        size_t off = s->keybytes.len;
        if (scan_string(s, &s->keybytes) != 0)
            goto out;
        size_t klen = s->keybytes.len - off;
        if (klen && memchr(s->keybytes.data + off, 0, klen)) {
            scan_fail_member(s, "an object key contains U+0000");
            goto out;
        }
        if (scan_push_key(s, off, klen, count++) != 0) {
            scan_oom(s);
            goto out;
        }
        scan_ws(s);
        if (s->pos >= s->len || s->p[s->pos] != ':') {
            scan_fail_unexpected(s, "expected ':' after an object key");
            goto out;
        }
        s->pos++;
        if (codec_path_push_key(&s->path, klen ? s->keybytes.data + off : "", klen) != 0) {
            scan_oom(s);
            goto out;
        }
        if (scan_value(s, depth) != 0)
            goto out;
        s->path.len = path_len;
        scan_ws(s);
        if (s->pos < s->len && s->p[s->pos] == ',') {
            s->pos++;
            continue;
        }
        if (s->pos < s->len && s->p[s->pos] == '}') {
            s->pos++;
            break;
        }
        scan_fail_unexpected(s, "expected ',' or '}' after an object member");
        goto out;
    }
    /* every key of this object is in the arena now, so pointers are stable */
    for (size_t i = first; i < s->nkeys; i++)
        s->keys[i].ptr = s->keybytes.data ? s->keybytes.data + s->key_offs[i] : "";
    size_t r = codec_find_repeated_key(s->keys + first, count);
    if (r != CODEC_NO_REPEAT) {
        const codec_key *k = &s->keys[first + r];
        if (codec_path_push_key(&s->path, k->ptr, k->len) != 0) {
            scan_oom(s);
            goto out;
        }
        char shown[200], d[256];
        codec_clip_utf8(shown, sizeof shown, k->ptr, k->len);
        snprintf(d, sizeof d, "repeated key \"%s\"", shown);
        scan_fail_member(s, d);
        goto out;
    }
    rc = 0;
out:
    s->nkeys = first;
    s->keybytes.len = kb_start;
    s->path.len = path_len;
    return rc;
}

static int scan_array(json_scan *s, int depth)
{
    if (!scan_depth_ok(s, depth))
        return -1;
    size_t path_len = s->path.len, index = 0;
    int rc = -1;
    s->pos++;
    scan_ws(s);
    if (s->pos < s->len && s->p[s->pos] == ']') {
        s->pos++;
        return 0;
    }
    for (;;) {
        if (codec_path_push_index(&s->path, index++) != 0) {
            scan_oom(s);
            goto out;
        }
        if (scan_value(s, depth) != 0)
            goto out;
        s->path.len = path_len;
        scan_ws(s);
        if (s->pos < s->len && s->p[s->pos] == ',') {
            s->pos++;
            continue;
        }
        if (s->pos < s->len && s->p[s->pos] == ']') {
            s->pos++;
            break;
        }
        scan_fail_unexpected(s, "expected ',' or ']' after an array element");
        goto out;
    }
    rc = 0;
out:
    s->path.len = path_len;
    return rc;
}

/* `depth` = nesting depth of the container holding this value (0 = top). */
static int scan_value(json_scan *s, int depth)
{
    scan_ws(s);
    if (s->pos >= s->len)
        return scan_fail_syntax(s, "");
    unsigned char c = s->p[s->pos];
    switch (c) {
    case '{': return scan_object(s, depth + 1);
    case '[': return scan_array(s, depth + 1);
    case '"': return scan_string(s, NULL);
    case 't': return scan_literal(s, "true");
    case 'f': return scan_literal(s, "false");
    case 'n': return scan_literal(s, "null");
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return scan_number(s);
        return scan_fail_unexpected(s, "expected a JSON value");
    }
}

static int json_scan_body(const char *buf, size_t len, int max_depth, salog_err *err)
{
    json_scan s = {.p = (const unsigned char *)buf, .len = len, .max_depth = max_depth, .err = err};
    int rc = scan_value(&s, 0);
    if (rc == 0) {
        scan_ws(&s);
        if (s.pos < s.len) {
            scan_fail_syntax(&s, "unexpected data after the JSON value");
            rc = -1;
        }
    }
    sbuf_free(&s.path);
    sbuf_free(&s.keybytes);
    sbuf_free(&s.scratch);
    free(s.keys);
    free(s.key_offs);
    return rc;
}

/* ---- pass 2: json-c, then its tree -> sv_value ---- */

/* NULL on OOM. Depth is bounded by the scan. A JSON null is a NULL
 * json_object, which json_object_get_type reports as json_type_null. */
static sv_value *sv_from_jsonc(json_object *jo)
{
    switch (json_object_get_type(jo)) {
    case json_type_null: return sv_null();
    case json_type_boolean: return sv_bool(json_object_get_boolean(jo) != 0);
    case json_type_int: return sv_int(json_object_get_int64(jo));
    case json_type_double: return sv_float(json_object_get_double(jo));
    case json_type_string:
        return sv_string_len(json_object_get_string(jo), (size_t)json_object_get_string_len(jo));
    case json_type_array: {
        sv_value *arr = sv_array();
        size_t n = arr ? json_object_array_length(jo) : 0;
        for (size_t i = 0; i < n; i++) {
            sv_value *item = sv_from_jsonc(json_object_array_get_idx(jo, i));
            if (!item || sv_array_push(arr, item) != 0) {
                sv_free(arr);
                return NULL;
            }
        }
        return arr;
    }
    case json_type_object: {
        sv_value *obj = sv_object();
        if (!obj)
            return NULL;
        /* json-c iterates members in insertion order */
        struct json_object_iterator it = json_object_iter_begin(jo);
        struct json_object_iterator end = json_object_iter_end(jo);
        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
            const char *key = json_object_iter_peek_name(&it);
            sv_value *child = sv_from_jsonc(json_object_iter_peek_value(&it));
            if (!child || codec_object_append(obj, key, strlen(key), child) != 0) {
                sv_free(obj);
                return NULL;
            }
        }
        return obj;
    }
    }
    return NULL;
}

salog_status codec_json_decode(sv_value **out, const char *buf, size_t len, int max_depth,
                               salog_err *err)
{
    salog_status st = SALOG_OK;
    struct json_tokener *tok = NULL;
    json_object *jo = NULL;
    *out = NULL;
    if (max_depth <= 0)
        max_depth = CODEC_DEFAULT_MAX_DEPTH;
    if (!buf || len == 0) {
        st = salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", "/", "empty body");
        goto out;
    }
    if (len > INT_MAX || max_depth > INT_MAX - 1) {
        st = salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", "/", "the body is too large");
        goto out;
    }
    if (json_scan_body(buf, len, max_depth, err) != 0) {
        st = err->status != SALOG_OK ? err->status : SALOG_E_INTERNAL;
        goto out;
    }
    /* The scan already enforced the depth; one spare level for json-c. */
    tok = json_tokener_new_ex(max_depth + 1);
    if (!tok) {
        st = salog_err_set(err, SALOG_E_INTERNAL, NULL, "/", "out of memory while decoding the body");
        goto out;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    /* json-c moves to the "C" numeric locale around every parse with
     * duplocale, newlocale and freelocale, and glibc runs each of those
     * under one process-wide write lock: three per parse, contended by
     * every request thread and the indexer. When the thread already uses
     * the C locale object, all three return at once without the lock. The
     * process never sets a locale, so the parse itself is unchanged. */
    locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    locale_t previous_locale = c_locale ? uselocale(c_locale) : (locale_t)0;
    jo = json_tokener_parse_ex(tok, buf, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    if (jerr == json_tokener_continue) {
        /* a number at the top level only ends at a delimiter */
        jo = json_tokener_parse_ex(tok, " ", 1);
        jerr = json_tokener_get_error(tok);
        end = len;
    }
    if (c_locale) {
        uselocale(previous_locale);
        freelocale(c_locale);
    }
    if (jerr == json_tokener_continue) {
        st = salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", "/", "truncated JSON");
        goto out;
    }
    if (jerr != json_tokener_success) {
        st = salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", "/",
                           "invalid JSON at byte %zu: %s", end, json_tokener_error_desc(jerr));
        goto out;
    }
    for (size_t i = end; i < len; i++) {
        if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r') {
            st = salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", "/",
                               "invalid JSON at byte %zu: unexpected data after the JSON value", i);
            goto out;
        }
    }
    *out = sv_from_jsonc(jo);
    if (!*out)
        st = salog_err_set(err, SALOG_E_INTERNAL, NULL, "/", "out of memory while decoding the body");
out:
    json_object_put(jo);
    if (tok)
        json_tokener_free(tok);
    return st;
}
