/* Ed25519 signatures of events (API.md II §4.7), via OpenSSL libcrypto.
 * Signed bytes = canonical JSON of the event object. */
#ifndef SALOG_SIGNATURE_H
#define SALOG_SIGNATURE_H

#include <stddef.h>

#include "codec/error.h"
#include "codec/value.h"

/* Verifies `signature` (standard base64 of 64 bytes) over the canonical
 * event with `public_key` in either form of II §4.7: a JSON object string
 * whose "key" member is a PEM public key (members in any order, extra
 * members allowed), or the legacy bare base64 of the raw key (the last 32
 * bytes are the key). Malformed base64/key/JSON or a signature that does
 * not verify -> SALOG_E_VALIDATION at "<base>/signature" or
 * "<base>/public_key" (base "" or "/events/3"), with a clear detail. */
salog_status signature_verify_event(const sv_value *event, const char *signature, const char *public_key,
                                    const char *base, salog_err *err);

/* Signs the canonical event with the PEM private key `private_pem`:
 * *signature_b64 (caller frees) = standard base64 of the 64-byte signature. */
salog_status signature_sign_event(const sv_value *event, const char *private_pem, char **signature_b64,
                                  salog_err *err);

/* Standard base64 helpers (OpenSSL EVP_Encode/DecodeBlock underneath).
 * decode: strict (padding required, no whitespace); returns malloc'd bytes
 * and *len, NULL if malformed. */
char *base64_encode(const unsigned char *p, size_t len);
unsigned char *base64_decode(const char *s, size_t *len);

#endif
