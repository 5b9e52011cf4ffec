/* sv_value -> compact JSON for replies. Strings use canonical JSON's
 * escapes (codec_json_put_string, shared with canonical.c), so a reply and
 * a hash input never disagree about how a string is spelled. */
#include "codec_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int codec_json_put_string(sbuf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    sbuf_append(out, "\"", 1);
    size_t run = 0; /* start of the pending stretch of literal bytes */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\f': esc = "\\f"; break;
        case '\r': esc = "\\r"; break;
        default:
            memcpy(u, "\\u00", 4);
            u[4] = hex[c >> 4];
            u[5] = hex[c & 0xF];
            break;
        }
        sbuf_append(out, s + run, i - run);
        if (esc)
            sbuf_append(out, esc, 2);
        else
            sbuf_append(out, u, sizeof u);
        run = i + 1;
    }
    sbuf_append(out, s + run, len - run);
    /* sbuf failures are sticky: the last append reports any of them */
    return sbuf_append(out, "\"", 1);
}

/* "%.17g" reads back as the same double. It may look like an integer
 * ("1", "1e+16" is fine) so add ".0" to keep it a float on the way back,
 * and never let a locale's decimal comma through. */
static int json_put_float(sbuf *out, double f)
{
    if (!isfinite(f))
        return sbuf_puts(out, "null");
    char num[40];
    int n = snprintf(num, sizeof num, "%.17g", f);
    if (n < 0 || (size_t)n >= sizeof num)
        return -1;
    bool has_mark = false;
    for (int i = 0; i < n; i++) {
        if (num[i] == ',')
            num[i] = '.';
        if (num[i] == '.' || num[i] == 'e' || num[i] == 'E')
            has_mark = true;
    }
    sbuf_append(out, num, (size_t)n);
    return has_mark ? sbuf_append(out, "", 0) : sbuf_append(out, ".0", 2);
}

static int json_put_value(sbuf *out, const sv_value *v)
{
    if (!v)
        return sbuf_puts(out, "null");
    switch (v->type) {
    case SV_NULL: return sbuf_puts(out, "null");
    case SV_BOOL: return sbuf_puts(out, v->u.b ? "true" : "false");
    case SV_INT: return sbuf_printf(out, "%lld", (long long)v->u.i);
    case SV_FLOAT: return json_put_float(out, v->u.f);
    case SV_STRING: return codec_json_put_string(out, v->u.s.ptr, v->u.s.len);
    case SV_ARRAY:
        sbuf_append(out, "[", 1);
        for (size_t i = 0; i < v->u.arr.count; i++) {
            if (i)
                sbuf_append(out, ",", 1);
            if (json_put_value(out, v->u.arr.items[i]) != 0)
                return -1;
        }
        return sbuf_append(out, "]", 1);
    case SV_OBJECT:
        sbuf_append(out, "{", 1);
        for (size_t i = 0; i < v->u.obj.count; i++) {
            const sv_member *m = &v->u.obj.members[i];
            if (i)
                sbuf_append(out, ",", 1);
            codec_json_put_string(out, m->key, m->key_len);
            sbuf_append(out, ":", 1);
            if (json_put_value(out, m->value) != 0)
                return -1;
        }
        return sbuf_append(out, "}", 1);
    }
    return -1;
}

int codec_json_encode(sbuf *out, const sv_value *v)
{
    if (json_put_value(out, v) != 0 || out->oom)
        return -1;
    return 0;
}
