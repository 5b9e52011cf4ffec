/* Codecs: request bytes -> sv_value, sv_value -> reply bytes, canonical JSON.
 *
 * Decoders enforce API.md I.1 before building anything large: nesting depth
 * (top-level object = depth 1, at most `max_depth`), valid UTF-8 (no lone
 * surrogates), unique keys at every depth (a repeat is BadFormat with
 * `source` = JSON pointer of the repeated member, e.g. "/event/message"),
 * integers within int64, and for MessagePack no bin/ext/non-string keys/
 * NaN/Inf and declared lengths bounded by the bytes left (never allocate
 * from a peer-chosen size). All failures are SALOG_E_VALIDATION with code
 * "BadFormat" and a precise source.
 *
 * Encoders write into a growable buffer owned by the caller (sbuf). */
#ifndef SALOG_CODEC_H
#define SALOG_CODEC_H

#include <stddef.h>

#include "error.h"
#include "value.h"

#define CODEC_DEFAULT_MAX_DEPTH 32

/* Growable byte buffer. Zero-initialise, then sbuf_free when done. */
typedef struct sbuf {
    char *data;
    size_t len, cap;
    int oom; /* set once an append failed; later appends are no-ops */
} sbuf;

void sbuf_free(sbuf *b);
int sbuf_append(sbuf *b, const void *p, size_t n); /* 0 / -1 */
int sbuf_puts(sbuf *b, const char *s);
int sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns data NUL-terminated (does not count the NUL in len); NULL on OOM. */
const char *sbuf_cstr(sbuf *b);

/* *out is caller-owned (sv_free). On error *out is NULL and err is filled. */
salog_status codec_json_decode(sv_value **out, const char *buf, size_t len,
                               int max_depth, salog_err *err);
salog_status codec_msgpack_decode(sv_value **out, const char *buf, size_t len,
                                  int max_depth, salog_err *err);

/* Reply encoders: members in insertion order; JSON with no insignificant
 * whitespace and "/" not escaped. Return 0 / -1 (OOM). */
int codec_json_encode(sbuf *out, const sv_value *v);
int codec_msgpack_encode(sbuf *out, const sv_value *v);

/* Canonical JSON (API.md II §3.4): keys sorted by UTF-8 bytes at every
 * level, minimal escapes, integers in decimal. Floats and nulls are
 * refused (-2): they have no canonical form in salog. -1 on OOM. */
int codec_canonical_json(sbuf *out, const sv_value *v);

/* Lowercase hex SHA-256 of the canonical JSON of v, into hex[65]. 0 / -1. */
int codec_canonical_sha256_hex(const sv_value *v, char hex[65]);

#endif
