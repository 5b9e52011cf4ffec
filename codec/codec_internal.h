/* Helpers shared by the codec's own .c files; not part of codec.h's
 * contract and not for use outside codec/. */
#ifndef SALOG_CODEC_INTERNAL_H
#define SALOG_CODEC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "codec.h"

/* json_encode.c: appends `s[0..len)` as a JSON string literal, quotes
 * included, with exactly the escapes of canonical JSON (API.md II §3.4):
 * \" \\ \b \t \n \f \r, other C0 controls as \u00xx, all else literal
 * (including "/"). Returns 0 / -1 (OOM). */
int codec_json_put_string(sbuf *out, const char *s, size_t len);

/* json_decode.c: length (1..4) of the well-formed UTF-8 sequence at the
 * start of s[0..avail), or 0 when it is not one (stray continuation byte,
 * overlong form, UTF-16 surrogate, above U+10FFFF, cut short). */
size_t codec_utf8_seq_len(const unsigned char *s, size_t avail);
bool codec_utf8_valid(const char *s, size_t len);

/* json_decode.c: JSON pointer (RFC 6901) of the member being decoded, kept
 * in an sbuf. Push appends "/token" ("~" -> "~0", "/" -> "~1"); pop by
 * restoring the length saved before the push. 0 / -1 (OOM). */
int codec_path_push_key(sbuf *path, const char *key, size_t len);
int codec_path_push_index(sbuf *path, size_t index);
/* The pointer as a C string; "" (the whole body, reported as "/") when
 * empty or when the path could not be stored. */
const char *codec_path_str(sbuf *path);

/* One object key, for the repeated-key check. */
typedef struct codec_key {
    const char *ptr;
    size_t len;
    size_t index; /* position of the member in its object */
} codec_key;

#define CODEC_NO_REPEAT ((size_t)-1)

/* Sorts `keys` (n log n, so a hostile object with many keys stays cheap)
 * and returns the position in `keys` of the first member, in document
 * order, whose key repeats an earlier one; CODEC_NO_REPEAT when all keys
 * are distinct. */
size_t codec_find_repeated_key(codec_key *keys, size_t n);

/* Appends a member without looking for an existing one: the decoders
 * check uniqueness themselves, and sv_object_set_len's lookup would make
 * building an object quadratic. Copies the key; takes ownership of
 * `value` (freed on failure too). 0 / -1. */
int codec_object_append(sv_value *obj, const char *key, size_t key_len, sv_value *value);

/* Copies at most max-1 bytes of s into dst, never cutting a UTF-8
 * sequence, so details and sources stay valid UTF-8 in the reply. */
void codec_clip_utf8(char *dst, size_t max, const char *s, size_t len);

#endif
