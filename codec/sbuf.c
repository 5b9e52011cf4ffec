/* sbuf: the growable byte buffer every encoder writes into. Once an append
 * fails the buffer stays "oom" and later appends are no-ops, so callers may
 * chain appends and check once at the end. */
#include "codec.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sbuf_free(sbuf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

/* Makes room for `extra` more bytes plus a terminating NUL. */
static int sbuf_reserve(sbuf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (extra >= SIZE_MAX - b->len) {
        b->oom = 1;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int sbuf_append(sbuf *b, const void *p, size_t n)
{
    if (sbuf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int sbuf_puts(sbuf *b, const char *s)
{
    return sbuf_append(b, s, strlen(s));
}

int sbuf_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return -1;
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof small)
        return sbuf_append(b, small, (size_t)n);
    if (sbuf_reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

const char *sbuf_cstr(sbuf *b)
{
    if (sbuf_reserve(b, 0) != 0)
        return NULL;
    b->data[b->len] = '\0';
    return b->data;
}
