/* Random identifiers and SHA-256 hex (model/ids.h). */
#include "model/ids.h"
#include "model/merkle.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <string.h>
#include <sys/random.h>

#define ID_RANDOM_BYTES 20 /* 160 bits = exactly 32 base32 chars */
#define ID_BODY_LEN     32

static const char id_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

/* From the kernel's CSPRNG (getrandom(2)), the source OpenSSL seeds from.
 * RAND_bytes took two process-wide write locks per call in OpenSSL 3.0 (the
 * method lock and the primary DRBG's), on every request's id. */
int id_random_bytes(unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

int id_generate(const char *prefix4, char out[ID_LEN + 1])
{
    unsigned char raw[ID_RANDOM_BYTES];
    if (strlen(prefix4) != 4)
        return -1;
    if (id_random_bytes(raw, sizeof raw) != 0) {
        OPENSSL_cleanse(raw, sizeof raw); /* part of a secret may be there */
        return -1;
    }
    memcpy(out, prefix4, 4);
    /* Base32 without padding: 5 bits per char, most significant first. */
    unsigned acc = 0;
    int bits = 0;
    size_t o = 4;
    for (size_t i = 0; i < sizeof raw; i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = id_alphabet[(acc >> bits) & 31u];
        }
        acc &= (1u << bits) - 1u;
    }
    out[o] = '\0';
    /* Secrets (pts_) are made here too: do not leave the bytes around. */
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

bool id_is_valid(const char *prefix4, const char *s)
{
    if (!s || strncmp(s, prefix4, 4) != 0)
        return false;
    for (size_t i = 0; i < ID_BODY_LEN; i++) {
        char c = s[4 + i];
        if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')))
            return false;
    }
    return s[4 + ID_BODY_LEN] == '\0';
}

void sha256_hex(const void *p, size_t len, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    uint8_t md[MERKLE_HASH_LEN];
    if (merkle_sha256(p, len, md) != 0) {
        /* Cannot happen with a working libcrypto; never return stale text. */
        memset(hex, '0', 64);
        hex[64] = '\0';
        return;
    }
    for (unsigned i = 0; i < MERKLE_HASH_LEN; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}
