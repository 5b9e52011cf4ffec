/* Random identifiers and SHA-256 hex (model/ids.h). */
#include "model/ids.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#define ID_RANDOM_BYTES 20 /* 160 bits = exactly 32 base32 chars */
#define ID_BODY_LEN     32

static const char id_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

int id_generate(const char *prefix4, char out[ID_LEN + 1])
{
    unsigned char raw[ID_RANDOM_BYTES];
    if (strlen(prefix4) != 4 || RAND_bytes(raw, sizeof raw) != 1)
        return -1;
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
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(p, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32) {
        /* Cannot happen with a working libcrypto; never return stale text. */
        memset(hex, '0', 64);
        hex[64] = '\0';
        return;
    }
    for (unsigned i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}
