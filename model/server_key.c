#include "model/server_key.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY_FILE "server_key.pem"

static void key_path(const char *data_dir, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", data_dir, KEY_FILE);
}

/* temp file, fsync, rename, fsync the directory (STYLE.md 8). */
static salog_status write_durably(const char *path, const char *data, size_t len, salog_err *err)
{
    char tmp[4200], dir[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(dir, sizeof dir, "%s", path);
    salog_status st = SALOG_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0660);
    if (fd < 0)
        return salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "cannot create %s: %s", tmp,
                             strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "write %s: %s", tmp, strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || rename(tmp, path) != 0) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "persist %s: %s", path, strerror(errno));
        goto out;
    }
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
out:
    close(fd);
    if (st != SALOG_OK)
        unlink(tmp);
    return st;
}

salog_status server_key_create(const char *data_dir, salog_err *err)
{
    char path[4096];
    key_path(data_dir, path, sizeof path);
    if (access(path, F_OK) == 0)
        return salog_err_set(err, SALOG_E_VALIDATION, "BadState", "/", "%s already exists", path);
    salog_status st = SALOG_OK;
    EVP_PKEY *key = NULL;
    BIO *bio = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_keygen(ctx, &key) <= 0) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "Ed25519 key generation failed");
        goto out;
    }
    bio = BIO_new(BIO_s_mem());
    if (!bio || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "cannot encode the key");
        goto out;
    }
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    st = write_durably(path, data, (size_t)len, err);
out:
    BIO_free_all(bio); /* a mem BIO's buffer is cleared on free only with BIO_FLAGS_MEM_RDONLY unset: fine */
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(ctx);
    return st;
}

static salog_status load_key(const char *data_dir, EVP_PKEY **out, salog_err *err)
{
    char path[4096];
    key_path(data_dir, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "cannot open the server key: %s",
                             strerror(errno));
    *out = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!*out)
        return salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "the server key is unreadable");
    return SALOG_OK;
}

salog_status server_key_public_pem(const char *data_dir, char **pem_out, salog_err *err)
{
    EVP_PKEY *key = NULL;
    BIO *bio = NULL;
    salog_status st = load_key(data_dir, &key, err);
    *pem_out = NULL;
    if (st != SALOG_OK)
        goto out;
    bio = BIO_new(BIO_s_mem());
    char *data;
    long len;
    if (!bio || !PEM_write_bio_PUBKEY(bio, key) || (len = BIO_get_mem_data(bio, &data)) <= 0 ||
        !(*pem_out = strndup(data, (size_t)len))) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "cannot encode the public key");
        goto out;
    }
out:
    BIO_free_all(bio);
    EVP_PKEY_free(key);
    return st;
}

salog_status server_key_sign(const char *data_dir, const void *msg, size_t len, unsigned char sig[64],
                             salog_err *err)
{
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *md = NULL;
    salog_status st = load_key(data_dir, &key, err);
    if (st != SALOG_OK)
        goto out;
    size_t sig_len = 64;
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestSignInit(md, NULL, NULL, NULL, key) <= 0 ||
        EVP_DigestSign(md, sig, &sig_len, msg, len) <= 0 || sig_len != 64)
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "Ed25519 signing failed");
out:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    return st;
}
