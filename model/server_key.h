/* The server's Ed25519 key (API.md I.3): created by `salog init`, kept in
 * DATA/server_key.pem (mode 0660, written durably), used to sign
 * checkpoints and vault_sign events. */
#ifndef SALOG_SERVER_KEY_H
#define SALOG_SERVER_KEY_H

#include <stddef.h>

#include "codec/error.h"

/* Creates the key file; refuses to overwrite an existing one. */
salog_status server_key_create(const char *data_dir, salog_err *err);

/* PEM of the public key ("-----BEGIN PUBLIC KEY-----\n…"); caller frees. */
salog_status server_key_public_pem(const char *data_dir, char **pem_out, salog_err *err);

/* Ed25519 signature of msg: 64 bytes into sig. */
salog_status server_key_sign(const char *data_dir, const void *msg, size_t len, unsigned char sig[64],
                             salog_err *err);

#endif
