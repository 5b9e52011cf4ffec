#include "value.h"

#include <stdlib.h>
#include <string.h>

static sv_value *sv_alloc(sv_type t)
{
    sv_value *v = calloc(1, sizeof *v);
    if (v)
        v->type = t;
    return v;
}

sv_value *sv_null(void) { return sv_alloc(SV_NULL); }

sv_value *sv_bool(bool b)
{
    sv_value *v = sv_alloc(SV_BOOL);
    if (v)
        v->u.b = b;
    return v;
}

sv_value *sv_int(int64_t i)
{
    sv_value *v = sv_alloc(SV_INT);
    if (v)
        v->u.i = i;
    return v;
}

sv_value *sv_float(double f)
{
    sv_value *v = sv_alloc(SV_FLOAT);
    if (v)
        v->u.f = f;
    return v;
}

sv_value *sv_string_len(const char *s, size_t len)
{
    sv_value *v = sv_alloc(SV_STRING);
    if (!v)
        return NULL;
    v->u.s.ptr = malloc(len + 1);
    if (!v->u.s.ptr) {
        free(v);
        return NULL;
    }
    if (len)
        memcpy(v->u.s.ptr, s, len);
    v->u.s.ptr[len] = '\0';
    v->u.s.len = len;
    return v;
}

sv_value *sv_string(const char *s) { return sv_string_len(s, strlen(s)); }
sv_value *sv_array(void) { return sv_alloc(SV_ARRAY); }
sv_value *sv_object(void) { return sv_alloc(SV_OBJECT); }

sv_value *sv_share(sv_value *v)
{
    if (v)
        __atomic_add_fetch(&v->shared, 1, __ATOMIC_RELAXED);
    return v;
}

void sv_free(sv_value *v)
{
    if (!v)
        return;
    /* A shared value: drop one holder; the last one frees. */
    unsigned holders = __atomic_load_n(&v->shared, __ATOMIC_ACQUIRE);
    while (holders > 0)
        if (__atomic_compare_exchange_n(&v->shared, &holders, holders - 1, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return;
    switch (v->type) {
    case SV_STRING:
        free(v->u.s.ptr);
        break;
    case SV_ARRAY:
        for (size_t i = 0; i < v->u.arr.count; i++)
            sv_free(v->u.arr.items[i]);
        free(v->u.arr.items);
        break;
    case SV_OBJECT:
        for (size_t i = 0; i < v->u.obj.count; i++) {
            free(v->u.obj.members[i].key);
            sv_free(v->u.obj.members[i].value);
        }
        free(v->u.obj.members);
        break;
    default:
        break;
    }
    free(v);
}

sv_value *sv_clone(const sv_value *v)
{
    if (!v)
        return NULL;
    switch (v->type) {
    case SV_NULL: return sv_null();
    case SV_BOOL: return sv_bool(v->u.b);
    case SV_INT: return sv_int(v->u.i);
    case SV_FLOAT: return sv_float(v->u.f);
    case SV_STRING: return sv_string_len(v->u.s.ptr, v->u.s.len);
    case SV_ARRAY: {
        sv_value *a = sv_array();
        if (!a)
            return NULL;
        for (size_t i = 0; i < v->u.arr.count; i++) {
            sv_value *c = sv_clone(v->u.arr.items[i]);
            if (!c || sv_array_push(a, c) != 0) {
                sv_free(a);
                return NULL;
            }
        }
        return a;
    }
    case SV_OBJECT: {
        sv_value *o = sv_object();
        if (!o)
            return NULL;
        for (size_t i = 0; i < v->u.obj.count; i++) {
            const sv_member *m = &v->u.obj.members[i];
            sv_value *c = sv_clone(m->value);
            if (!c || sv_object_set_len(o, m->key, m->key_len, c) != 0) {
                sv_free(o);
                return NULL;
            }
        }
        return o;
    }
    }
    return NULL;
}

int sv_array_push(sv_value *arr, sv_value *item)
{
    if (!arr || arr->type != SV_ARRAY || !item) {
        sv_free(item);
        return -1;
    }
    if (arr->u.arr.count == arr->u.arr.cap) {
        size_t cap = arr->u.arr.cap ? arr->u.arr.cap * 2 : 4;
        sv_value **items = realloc(arr->u.arr.items, cap * sizeof *items);
        if (!items) {
            sv_free(item);
            return -1;
        }
        arr->u.arr.items = items;
        arr->u.arr.cap = cap;
    }
    arr->u.arr.items[arr->u.arr.count++] = item;
    return 0;
}

static sv_member *find_member(const sv_value *obj, const char *key, size_t key_len)
{
    if (!obj || obj->type != SV_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->u.obj.count; i++) {
        sv_member *m = &obj->u.obj.members[i];
        if (m->key_len == key_len && memcmp(m->key, key, key_len) == 0)
            return m;
    }
    return NULL;
}

int sv_object_set_len(sv_value *obj, const char *key, size_t key_len, sv_value *value)
{
    if (!obj || obj->type != SV_OBJECT || !value) {
        sv_free(value);
        return -1;
    }
    sv_member *m = find_member(obj, key, key_len);
    if (m) {
        sv_free(m->value);
        m->value = value;
        return 0;
    }
    if (obj->u.obj.count == obj->u.obj.cap) {
        size_t cap = obj->u.obj.cap ? obj->u.obj.cap * 2 : 4;
        sv_member *members = realloc(obj->u.obj.members, cap * sizeof *members);
        if (!members) {
            sv_free(value);
            return -1;
        }
        obj->u.obj.members = members;
        obj->u.obj.cap = cap;
    }
    char *k = malloc(key_len + 1);
    if (!k) {
        sv_free(value);
        return -1;
    }
    memcpy(k, key, key_len);
    k[key_len] = '\0';
    obj->u.obj.members[obj->u.obj.count++] = (sv_member){k, key_len, value};
    return 0;
}

int sv_object_set(sv_value *obj, const char *key, sv_value *value)
{
    return sv_object_set_len(obj, key, strlen(key), value);
}

int sv_object_remove(sv_value *obj, const char *key)
{
    sv_member *m = find_member(obj, key, strlen(key));
    if (!m)
        return 0;
    free(m->key);
    sv_free(m->value);
    size_t idx = (size_t)(m - obj->u.obj.members);
    memmove(m, m + 1, (obj->u.obj.count - idx - 1) * sizeof *m);
    obj->u.obj.count--;
    return 1;
}

sv_value *sv_object_get(const sv_value *obj, const char *key)
{
    sv_member *m = find_member(obj, key, strlen(key));
    return m ? m->value : NULL;
}

const char *sv_object_get_str(const sv_value *obj, const char *key)
{
    sv_value *v = sv_object_get(obj, key);
    return v && v->type == SV_STRING ? v->u.s.ptr : NULL;
}

int sv_object_set_str(sv_value *obj, const char *key, const char *s)
{
    sv_value *v = sv_string(s);
    return v ? sv_object_set(obj, key, v) : -1;
}

int sv_object_set_int(sv_value *obj, const char *key, int64_t i)
{
    sv_value *v = sv_int(i);
    return v ? sv_object_set(obj, key, v) : -1;
}

int sv_object_set_bool(sv_value *obj, const char *key, bool b)
{
    sv_value *v = sv_bool(b);
    return v ? sv_object_set(obj, key, v) : -1;
}

bool sv_is(const sv_value *v, sv_type t) { return v && v->type == t; }

const char *sv_type_name(sv_type t)
{
    switch (t) {
    case SV_NULL: return "null";
    case SV_BOOL: return "boolean";
    case SV_INT: return "integer";
    case SV_FLOAT: return "number";
    case SV_STRING: return "string";
    case SV_ARRAY: return "array";
    case SV_OBJECT: return "object";
    }
    return "unknown";
}

bool sv_equal(const sv_value *a, const sv_value *b)
{
    if (!a || !b)
        return a == b;
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case SV_NULL: return true;
    case SV_BOOL: return a->u.b == b->u.b;
    case SV_INT: return a->u.i == b->u.i;
    case SV_FLOAT: return a->u.f == b->u.f;
    case SV_STRING:
        return a->u.s.len == b->u.s.len && memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) == 0;
    case SV_ARRAY:
        if (a->u.arr.count != b->u.arr.count)
            return false;
        for (size_t i = 0; i < a->u.arr.count; i++)
            if (!sv_equal(a->u.arr.items[i], b->u.arr.items[i]))
                return false;
        return true;
    case SV_OBJECT:
        if (a->u.obj.count != b->u.obj.count)
            return false;
        for (size_t i = 0; i < a->u.obj.count; i++) {
            const sv_member *m = &a->u.obj.members[i];
            sv_member *o = find_member(b, m->key, m->key_len);
            if (!o || !sv_equal(m->value, o->value))
                return false;
        }
        return true;
    }
    return false;
}

size_t sv_utf8_length(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}
