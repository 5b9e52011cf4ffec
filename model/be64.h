/* Big-endian 64-bit integers in keys and records (internal to model/):
 * byte order makes keys sort in numeric order. */
#ifndef SALOG_BE64_H
#define SALOG_BE64_H

#include <stdint.h>

static inline void be64_put(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

static inline uint64_t be64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

#endif
