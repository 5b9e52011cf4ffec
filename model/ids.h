/* Random identifiers: prefix + 32 chars of [a-z2-7] (20 random bytes,
 * base32, as the cloud does): pci_ configs, prq_ requests, pas_ result
 * sets, pti_ token ids, pts_ token secrets. From the kernel's getrandom(2). */
#ifndef SALOG_IDS_H
#define SALOG_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define ID_LEN 36 /* 4-char prefix + 32 */

/* out must hold ID_LEN + 1 bytes. Returns 0 / -1 (no entropy). */
int id_generate(const char *prefix4, char out[ID_LEN + 1]);
/* len bytes from the kernel's CSPRNG (getrandom, retried on EINTR). Returns
 * 0, or -1 when none are available. */
int id_random_bytes(unsigned char *buf, size_t len);
/* True when s is prefix4 followed by exactly 32 chars of [a-z2-7]. */
bool id_is_valid(const char *prefix4, const char *s);
/* Lowercase hex SHA-256 of len bytes, into hex[65]. */
void sha256_hex(const void *p, size_t len, char hex[65]);

#endif
