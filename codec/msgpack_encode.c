/* sv_value -> MessagePack replies, through msgpack-c's packer writing
 * straight into the caller's sbuf. */
#include "codec.h"

#include <msgpack.h>

static int sbuf_write_cb(void *data, const char *buf, size_t len)
{
    return sbuf_append((sbuf *)data, buf, len);
}

static int mp_put_str(msgpack_packer *pk, const char *s, size_t len)
{
    if (msgpack_pack_str(pk, len) != 0)
        return -1;
    return msgpack_pack_str_body(pk, s, len);
}

static int mp_put_value(msgpack_packer *pk, const sv_value *v)
{
    if (!v)
        return msgpack_pack_nil(pk);
    switch (v->type) {
    case SV_NULL: return msgpack_pack_nil(pk);
    case SV_BOOL: return v->u.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    case SV_INT: return msgpack_pack_int64(pk, v->u.i);
    case SV_FLOAT: return msgpack_pack_double(pk, v->u.f);
    case SV_STRING: return mp_put_str(pk, v->u.s.ptr, v->u.s.len);
    case SV_ARRAY:
        if (msgpack_pack_array(pk, v->u.arr.count) != 0)
            return -1;
        for (size_t i = 0; i < v->u.arr.count; i++)
            if (mp_put_value(pk, v->u.arr.items[i]) != 0)
                return -1;
        return 0;
    case SV_OBJECT:
        if (msgpack_pack_map(pk, v->u.obj.count) != 0)
            return -1;
        for (size_t i = 0; i < v->u.obj.count; i++) {
            const sv_member *m = &v->u.obj.members[i];
            if (mp_put_str(pk, m->key, m->key_len) != 0 || mp_put_value(pk, m->value) != 0)
                return -1;
        }
        return 0;
    }
    return -1;
}

int codec_msgpack_encode(sbuf *out, const sv_value *v)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, sbuf_write_cb);
    if (mp_put_value(&pk, v) != 0 || out->oom)
        return -1;
    return 0;
}
