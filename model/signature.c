/* Ed25519 signatures over canonical events (API.md II §4.7). */
#include "signature.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "codec/codec.h"

#define ED25519_KEY_LEN 32
#define ED25519_SIG_LEN 64
#define PTR_MAX 256

char *base64_encode(const unsigned char *p, size_t len)
{
    if (len > (size_t)INT32_MAX / 4 * 3 - 3)
        return NULL; /* EVP_EncodeBlock takes an int length */
    size_t out_len = (len + 2) / 3 * 4;
    char *out = malloc(out_len + 1);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, p, (int)len);
    out[out_len] = '\0';
    return out;
}

static bool base64_char_ok(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* EVP_DecodeBlock skips surrounding whitespace and ignores padding when
 * counting, so the strict form (whole quads, alphabet only, '=' only as the
 * last one or two characters) is checked here first. */
unsigned char *base64_decode(const char *s, size_t *len)
{
    size_t n = s ? strlen(s) : 0;
    size_t pad = 0;
    unsigned char *out = NULL;

    *len = 0;
    if (!s || n % 4 != 0 || n > (size_t)INT32_MAX)
        return NULL;
    if (n >= 1 && s[n - 1] == '=')
        pad++;
    if (pad && n >= 2 && s[n - 2] == '=')
        pad++;
    for (size_t i = 0; i < n - pad; i++)
        if (!base64_char_ok((unsigned char)s[i]))
            return NULL;
    out = malloc(n / 4 * 3 + 1);
    if (!out)
        return NULL;
    if (n == 0)
        return out;
    int w = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (w < 0 || (size_t)w < pad) {
        free(out);
        return NULL;
    }
    *len = (size_t)w - pad;
    return out;
}

/* Builds base + "/" + name (name is a plain ASCII token). */
static void pointer_member(char *out, size_t n, const char *base, const char *name)
{
    snprintf(out, n, "%s/%s", base ? base : "", name);
}

static EVP_PKEY *pkey_from_raw_tail(const unsigned char *bytes, size_t len)
{
    if (len < ED25519_KEY_LEN)
        return NULL;
    return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, bytes + len - ED25519_KEY_LEN, ED25519_KEY_LEN);
}

/* "ssh-ed25519 <base64 blob> [comment]": the blob ends with the 32-byte key. */
static EVP_PKEY *pkey_from_openssh(const char *s)
{
    EVP_PKEY *pkey = NULL;
    unsigned char *blob = NULL;
    char *b64 = NULL;
    size_t blob_len = 0;
    const char *p = s + strlen("ssh-ed25519");

    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strcspn(p, " \t\r\n");
    b64 = strndup(p, n);
    if (!b64)
        goto out;
    blob = base64_decode(b64, &blob_len);
    if (!blob)
        goto out;
    pkey = pkey_from_raw_tail(blob, blob_len);
out:
    free(blob);
    free(b64);
    return pkey;
}

static EVP_PKEY *pkey_from_pem(const char *s)
{
    EVP_PKEY *pkey = NULL;
    BIO *bio = BIO_new_mem_buf(s, -1);
    if (!bio)
        return NULL;
    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (pkey && EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    return pkey;
}

/* The key string of either public_key form; NULL if none is usable. */
static EVP_PKEY *pkey_from_key_string(const char *key)
{
    while (*key == ' ' || *key == '\t' || *key == '\r' || *key == '\n')
        key++;
    if (!strncmp(key, "-----BEGIN", 10))
        return pkey_from_pem(key);
    if (!strncmp(key, "ssh-ed25519", 11))
        return pkey_from_openssh(key);
    size_t len = 0;
    unsigned char *raw = base64_decode(key, &len);
    EVP_PKEY *pkey = raw ? pkey_from_raw_tail(raw, len) : NULL;
    free(raw);
    return pkey;
}

/* public_key: a JSON object with a "key" member, else the key itself.
 * Returns NULL with *why set when no Ed25519 key can be had. */
static EVP_PKEY *pkey_from_public_key(const char *public_key, const char **why)
{
    EVP_PKEY *pkey = NULL;
    sv_value *obj = NULL;
    salog_err scratch;
    const char *p = public_key;

    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    if (*p == '{') {
        salog_err_init(&scratch);
        if (codec_json_decode(&obj, public_key, strlen(public_key), CODEC_DEFAULT_MAX_DEPTH, &scratch) != SALOG_OK ||
            !obj || obj->type != SV_OBJECT) {
            *why = "public_key is not valid JSON";
            goto out;
        }
        const sv_value *key = sv_object_get(obj, "key");
        if (!key || key->type != SV_STRING || strlen(key->u.s.ptr) != key->u.s.len) {
            *why = "public_key JSON has no \"key\" string member";
            goto out;
        }
        pkey = pkey_from_key_string(key->u.s.ptr);
    } else {
        pkey = pkey_from_key_string(public_key);
    }
    if (!pkey)
        *why = "public_key holds no usable Ed25519 public key (PEM, OpenSSH or base64 of the raw key)";
out:
    sv_free(obj);
    return pkey;
}

/* Canonical JSON of the event into text; a status and error on failure. */
static salog_status event_canonical(const sv_value *event, const char *base, sbuf *text, salog_err *err)
{
    char ptr[PTR_MAX];
    int rc = codec_canonical_json(text, event);
    if (rc == 0 && sbuf_cstr(text))
        return SALOG_OK;
    if (rc == -2) {
        pointer_member(ptr, sizeof ptr, base, "event");
        return salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", ptr,
                             "the event holds a null or a float and cannot be canonicalised");
    }
    return salog_err_set(err, SALOG_E_INTERNAL, "InternalError", NULL, "out of memory");
}

salog_status signature_verify_event(const sv_value *event, const char *signature, const char *public_key,
                                    const char *base, salog_err *err)
{
    salog_status st = SALOG_OK;
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *ctx = NULL;
    sbuf text = {0};
    char sig_ptr[PTR_MAX], key_ptr[PTR_MAX];
    const char *why = NULL;

    pointer_member(sig_ptr, sizeof sig_ptr, base, "signature");
    pointer_member(key_ptr, sizeof key_ptr, base, "public_key");
    sig = base64_decode(signature ? signature : "", &sig_len);
    if (!signature || !sig) {
        st = salog_err_set(err, SALOG_E_VALIDATION, "BadFormatBase64", sig_ptr,
                           "signature must be the standard base64 of an Ed25519 signature");
        goto out;
    }
    if (sig_len != ED25519_SIG_LEN) {
        st = salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", sig_ptr,
                           "signature must be 64 bytes (Ed25519), not %zu", sig_len);
        goto out;
    }
    pkey = public_key ? pkey_from_public_key(public_key, &why) : NULL;
    if (!pkey) {
        st = salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", key_ptr, "%s",
                           why ? why : "public_key is missing");
        goto out;
    }
    st = event_canonical(event, base, &text, err);
    if (st != SALOG_OK)
        goto out;
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", NULL, "cannot set up Ed25519 verification");
        goto out;
    }
    if (EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)text.data, text.len) != 1) {
        st = salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", sig_ptr,
                           "the signature does not verify against public_key for this event");
        goto out;
    }
out:
    ERR_clear_error(); /* OpenSSL's per-thread queue must not outlive the call */
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    sbuf_free(&text);
    free(sig);
    return st;
}

/* Never prompt on a terminal for an encrypted key: the worker has none. */
static int pem_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

salog_status signature_sign_event(const sv_value *event, const char *private_pem, char **signature_b64,
                                  salog_err *err)
{
    salog_status st = SALOG_OK;
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *ctx = NULL;
    BIO *bio = NULL;
    sbuf text = {0};
    unsigned char sig[ED25519_SIG_LEN];
    size_t sig_len = sizeof sig;

    *signature_b64 = NULL;
    bio = private_pem ? BIO_new_mem_buf(private_pem, -1) : NULL;
    if (bio)
        pkey = PEM_read_bio_PrivateKey(bio, NULL, pem_no_passphrase, NULL);
    if (!pkey || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", NULL,
                           "the signing key is not an unencrypted Ed25519 PEM private key");
        goto out;
    }
    st = event_canonical(event, "", &text, err);
    if (st != SALOG_OK)
        goto out;
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) != 1 ||
        EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)text.data, text.len) != 1 ||
        sig_len != ED25519_SIG_LEN) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", NULL, "Ed25519 signing failed");
        goto out;
    }
    *signature_b64 = base64_encode(sig, sig_len);
    if (!*signature_b64)
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", NULL, "out of memory");
out:
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    sbuf_free(&text);
    return st;
}
