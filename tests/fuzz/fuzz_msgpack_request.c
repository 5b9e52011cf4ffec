/* Fuzz target: a MessagePack request body through salog's decoder
 * (checks in fuzz_codec_check.h). */
#include <stddef.h>
#include <stdint.h>

#include "tests/fuzz/fuzz_codec_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_decode_and_check(codec_msgpack_decode, data, size);
}
