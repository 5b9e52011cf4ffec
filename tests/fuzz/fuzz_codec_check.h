/* Shared by the codec fuzz targets: whatever decodes must canonicalise and
 * survive JSON and MessagePack round trips unchanged; a mismatch is a real
 * bug, so it aborts. */
#ifndef SALOG_FUZZ_CODEC_CHECK_H
#define SALOG_FUZZ_CODEC_CHECK_H

#include <stdint.h>
#include <stdlib.h>

#include "codec/codec.h"

typedef salog_status (*fuzz_decode_fn)(sv_value **, const char *, size_t, int, salog_err *);

/* Encodes v with `encode`, decodes the bytes with `decode`, demands equality. */
static void fuzz_round_trip(const sv_value *v, int (*encode)(sbuf *, const sv_value *),
                            fuzz_decode_fn decode)
{
    sbuf b = {0};
    sv_value *back = NULL;
    salog_err err;
    salog_err_init(&err);
    if (encode(&b, v) != 0)
        goto out; /* out of memory only */
    if (decode(&back, b.data, b.len, CODEC_DEFAULT_MAX_DEPTH, &err) != SALOG_OK ||
        !sv_equal(v, back))
        abort();
out:
    sv_free(back);
    sbuf_free(&b);
}

static void fuzz_check_value(const sv_value *v)
{
    sbuf canon = {0};
    int rc = codec_canonical_json(&canon, v);
    if (rc == 0) {
        /* canonical JSON is JSON of the same value */
        sv_value *back = NULL;
        salog_err err;
        salog_err_init(&err);
        if (codec_json_decode(&back, canon.data, canon.len, CODEC_DEFAULT_MAX_DEPTH, &err) !=
                SALOG_OK ||
            !sv_equal(v, back))
            abort();
        sv_free(back);
        char hex[65];
        if (codec_canonical_sha256_hex(v, hex) != 0)
            abort();
    }
    sbuf_free(&canon);
    fuzz_round_trip(v, codec_json_encode, codec_json_decode);
    fuzz_round_trip(v, codec_msgpack_encode, codec_msgpack_decode);
}

/* Decodes with `decode`; checks the value, or that a failure says why. */
static int fuzz_decode_and_check(fuzz_decode_fn decode, const uint8_t *data, size_t size)
{
    sv_value *v = NULL;
    salog_err err;
    salog_err_init(&err);
    if (decode(&v, (const char *)data, size, CODEC_DEFAULT_MAX_DEPTH, &err) == SALOG_OK)
        fuzz_check_value(v);
    else if (err.count == 0 || err.items[0].code[0] == '\0')
        abort(); /* a failure must always say why */
    sv_free(v);
    return 0;
}

#endif
