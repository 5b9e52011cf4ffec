/* sv_value: salog's one typed representation of a decoded request body (JSON
 * or MessagePack) and of every reply before it is encoded.
 *
 * Ownership: a value owns its children, strings and keys. sv_free frees the
 * whole tree. Getters return borrowed pointers into the tree. Constructors
 * return NULL on allocation failure; adders return 0 / -1.
 *
 * Strings are UTF-8, length-counted, always NUL-terminated for convenience
 * (they may contain U+0000, so use .len). Object members keep insertion
 * order; the decoders guarantee keys are unique. */
#ifndef SALOG_VALUE_H
#define SALOG_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum sv_type {
    SV_NULL,
    SV_BOOL,
    SV_INT,
    SV_FLOAT,   /* decoded so validators can name it; never hashed */
    SV_STRING,
    SV_ARRAY,
    SV_OBJECT
} sv_type;

typedef struct sv_value sv_value;

typedef struct sv_member {
    char *key;
    size_t key_len;
    sv_value *value;
} sv_member;

struct sv_value {
    sv_type type;
    unsigned shared;   /* holders beyond the first (sv_share); atomic */
    union {
        bool b;
        int64_t i;
        double f;
        struct { char *ptr; size_t len; } s;
        struct { sv_value **items; size_t count, cap; } arr;
        struct { sv_member *members; size_t count, cap; } obj;
    } u;
};

sv_value *sv_null(void);
sv_value *sv_bool(bool b);
sv_value *sv_int(int64_t i);
sv_value *sv_float(double f);
sv_value *sv_string(const char *s);                 /* copies strlen(s) bytes */
sv_value *sv_string_len(const char *s, size_t len); /* copies len bytes */
sv_value *sv_array(void);
sv_value *sv_object(void);
/* Releases v: frees it, unless sv_share gave it other holders that still
 * hold it. */
void sv_free(sv_value *v);
sv_value *sv_clone(const sv_value *v);              /* deep copy; NULL on OOM */
/* Another holder of the whole value v (a root, never a member of another
 * value): returns v, which nobody may modify from now on; every holder
 * releases it with sv_free. Safe across threads. */
sv_value *sv_share(sv_value *v);

/* Takes ownership of `item` (freed on failure too). */
int sv_array_push(sv_value *arr, sv_value *item);
/* Takes ownership of `value` (freed on failure too); replaces an existing
 * member with the same key. */
int sv_object_set(sv_value *obj, const char *key, sv_value *value);
int sv_object_set_len(sv_value *obj, const char *key, size_t key_len, sv_value *value);
/* Removes and frees the member; returns 1 if it was there. */
int sv_object_remove(sv_value *obj, const char *key);

/* Borrowed lookups; NULL when absent or `obj` is not an object. */
sv_value *sv_object_get(const sv_value *obj, const char *key);
const char *sv_object_get_str(const sv_value *obj, const char *key); /* NULL unless a string */

/* Convenience setters: return -1 on OOM. */
int sv_object_set_str(sv_value *obj, const char *key, const char *s);
int sv_object_set_int(sv_value *obj, const char *key, int64_t i);
int sv_object_set_bool(sv_value *obj, const char *key, bool b);

bool sv_is(const sv_value *v, sv_type t);
const char *sv_type_name(sv_type t); /* "string", "integer", … for details */

/* Structural equality (object member order ignored). */
bool sv_equal(const sv_value *a, const sv_value *b);

/* Number of Unicode code points in a valid UTF-8 string. */
size_t sv_utf8_length(const char *s, size_t len);

#endif
