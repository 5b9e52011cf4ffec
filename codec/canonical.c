/* Canonical JSON (API.md II §3.4), the only input to event hashes: members
 * sorted by the UTF-8 bytes of their keys at every level, no whitespace,
 * canonical string escapes, integers in decimal. Floats and nulls have no
 * canonical form in salog and are refused. */
#include "codec_internal.h"

#include <openssl/evp.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int member_cmp(const void *a, const void *b)
{
    const sv_member *x = *(const sv_member *const *)a;
    const sv_member *y = *(const sv_member *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = n ? memcmp(x->key, y->key, n) : 0;
    if (c != 0)
        return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* 0, -1 (OOM) or -2 (float or null somewhere in v). */
static int canon_put(sbuf *out, const sv_value *v)
{
    int rc = -1;
    const sv_member **order = NULL;
    if (!v)
        return -2;
    switch (v->type) {
    case SV_NULL:
    case SV_FLOAT:
        return -2;
    case SV_BOOL: return sbuf_puts(out, v->u.b ? "true" : "false");
    case SV_INT: return sbuf_printf(out, "%lld", (long long)v->u.i);
    case SV_STRING: return codec_json_put_string(out, v->u.s.ptr, v->u.s.len);
    case SV_ARRAY:
        sbuf_append(out, "[", 1);
        for (size_t i = 0; i < v->u.arr.count; i++) {
            if (i)
                sbuf_append(out, ",", 1);
            int r = canon_put(out, v->u.arr.items[i]);
            if (r != 0)
                return r;
        }
        return sbuf_append(out, "]", 1);
    case SV_OBJECT: {
        size_t n = v->u.obj.count;
        if (n > SIZE_MAX / sizeof *order)
            return -1;
        order = malloc((n ? n : 1) * sizeof *order);
        if (!order)
            return -1;
        for (size_t i = 0; i < n; i++)
            order[i] = &v->u.obj.members[i];
        qsort(order, n, sizeof *order, member_cmp);
        sbuf_append(out, "{", 1);
        for (size_t i = 0; i < n; i++) {
            if (i)
                sbuf_append(out, ",", 1);
            codec_json_put_string(out, order[i]->key, order[i]->key_len);
            sbuf_append(out, ":", 1);
            int r = canon_put(out, order[i]->value);
            if (r != 0) {
                rc = r;
                goto out;
            }
        }
        rc = sbuf_append(out, "}", 1);
        goto out;
    }
    }
out:
    free(order);
    return rc;
}

int codec_canonical_json(sbuf *out, const sv_value *v)
{
    int rc = canon_put(out, v);
    if (rc == 0 && out->oom)
        rc = -1;
    return rc;
}

int codec_canonical_sha256_hex(const sv_value *v, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    sbuf text = {0};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    int rc = -1;
    if (codec_canonical_json(&text, v) != 0)
        goto out;
    if (EVP_Digest(text.len ? text.data : "", text.len, md, &md_len, EVP_sha256(), NULL) != 1 ||
        md_len != 32)
        goto out;
    for (unsigned i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 0xF];
    }
    hex[64] = '\0';
    rc = 0;
out:
    sbuf_free(&text);
    return rc;
}
