/* signature_verify_event / signature_sign_event / base64: API.md II §4.7,
 * with keys generated here by OpenSSL and the real Go vector
 * (TestSearch_Verify, API.md §9 E7). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "codec/codec.h"
#include "model/signature.h"

static sv_value *sig_json(const char *text)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *v = NULL;
    cr_assert_eq(codec_json_decode(&v, text, strlen(text), CODEC_DEFAULT_MAX_DEPTH, &err), SALOG_OK,
                 "test JSON does not decode: %s", text);
    return v;
}

typedef struct sig_keys {
    char *private_pem;
    char *public_pem;
    char *raw_b64; /* base64 of the 32 raw key bytes */
} sig_keys;

static char *sig_bio_string(BIO *bio)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    cr_assert(n > 0);
    char *s = strndup(data, (size_t)n);
    cr_assert_not_null(s);
    return s;
}

static void sig_keys_make(sig_keys *k)
{
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    cr_assert_not_null(pkey);
    BIO *priv = BIO_new(BIO_s_mem()), *pub = BIO_new(BIO_s_mem());
    cr_assert(priv && pub);
    cr_assert_eq(PEM_write_bio_PrivateKey(priv, pkey, NULL, NULL, 0, NULL, NULL), 1);
    cr_assert_eq(PEM_write_bio_PUBKEY(pub, pkey), 1);
    k->private_pem = sig_bio_string(priv);
    k->public_pem = sig_bio_string(pub);
    unsigned char raw[32];
    size_t raw_len = sizeof raw;
    cr_assert_eq(EVP_PKEY_get_raw_public_key(pkey, raw, &raw_len), 1);
    cr_assert_eq(raw_len, 32);
    k->raw_b64 = base64_encode(raw, raw_len);
    cr_assert_not_null(k->raw_b64);
    BIO_free(priv);
    BIO_free(pub);
    EVP_PKEY_free(pkey);
}

static void sig_keys_free(sig_keys *k)
{
    free(k->private_pem);
    free(k->public_pem);
    free(k->raw_b64);
}

/* The public_key JSON string an SDK would send: members in the given
 * order, plus optional extra members, compact. */
static char *sig_public_key_json(const char *pem, bool key_first, const char *extra_member)
{
    sv_value *o = sv_object();
    cr_assert_not_null(o);
    if (key_first) {
        cr_assert_eq(sv_object_set_str(o, "key", pem), 0);
        cr_assert_eq(sv_object_set_str(o, "algorithm", "ED25519"), 0);
    } else {
        cr_assert_eq(sv_object_set_str(o, "algorithm", "ED25519"), 0);
        cr_assert_eq(sv_object_set_str(o, "key", pem), 0);
    }
    if (extra_member)
        cr_assert_eq(sv_object_set_str(o, extra_member, "extra info"), 0);
    sbuf b = {0};
    cr_assert_eq(codec_json_encode(&b, o), 0);
    char *s = strdup(sbuf_cstr(&b));
    cr_assert_not_null(s);
    sbuf_free(&b);
    sv_free(o);
    return s;
}

static salog_status sig_verify(const sv_value *event, const char *sig, const char *key, const char *base,
                               salog_err *err)
{
    salog_err_init(err);
    return signature_verify_event(event, sig, key, base, err);
}

static void sig_expect(const salog_err *err, salog_status st, salog_status want, const char *code,
                       const char *source)
{
    cr_assert_eq(st, want, "status %d want %d (%s)", st, want, err->count ? err->items[0].detail : "");
    cr_assert_eq(err->count, 1);
    cr_assert_str_eq(err->items[0].code, code, "code %s (%s)", err->items[0].code, err->items[0].detail);
    cr_assert_str_eq(err->items[0].source, source);
    cr_assert(err->items[0].detail[0] != '\0');
}

static const char *const sig_event_text =
    "{\"message\":\"hello \xc3\xa9\",\"actor\":\"alice\",\"new\":\"{\\\"b\\\":1}\",\"tenant_id\":\"t1\"}";

Test(signature, sign_then_verify_with_every_key_form)
{
    sig_keys k;
    sig_keys_make(&k);
    sv_value *event = sig_json(sig_event_text);
    salog_err err;
    salog_err_init(&err);
    char *sig = NULL;
    cr_assert_eq(signature_sign_event(event, k.private_pem, &sig, &err), SALOG_OK, "%s", err.items[0].detail);
    cr_assert_not_null(sig);
    cr_assert_eq(strlen(sig), 88);

    char *sorted = sig_public_key_json(k.public_pem, false, NULL);       /* Python/Go */
    char *node = sig_public_key_json(k.public_pem, true, NULL);          /* Node */
    char *extra = sig_public_key_json(k.public_pem, true, "key_info");  /* user extras */
    cr_assert(strncmp(sorted, "{\"algorithm\":\"ED25519\",\"key\":\"-----BEGIN PUBLIC KEY-----\\n", 56) == 0,
              "%s", sorted);
    const char *keys[] = {sorted, node, extra, k.raw_b64, k.public_pem};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_assert_eq(sig_verify(event, sig, keys[i], "", &err), SALOG_OK, "key form %zu: %s", i,
                     err.count ? err.items[0].detail : "");

    /* Same event, members in another order: same canonical bytes. */
    sv_value *reordered =
        sig_json("{\"tenant_id\":\"t1\",\"new\":\"{\\\"b\\\":1}\",\"actor\":\"alice\",\"message\":\"hello \\u00e9\"}");
    cr_assert_eq(sig_verify(reordered, sig, sorted, "", &err), SALOG_OK);

    sv_free(reordered);
    free(sorted);
    free(node);
    free(extra);
    free(sig);
    sv_free(event);
    sig_keys_free(&k);
}

Test(signature, legacy_raw_key_uses_last_32_bytes)
{
    sig_keys k;
    sig_keys_make(&k);
    sv_value *event = sig_json(sig_event_text);
    salog_err err;
    salog_err_init(&err);
    char *sig = NULL;
    cr_assert_eq(signature_sign_event(event, k.private_pem, &sig, &err), SALOG_OK);

    /* DER SubjectPublicKeyInfo (12-byte prefix + key) also ends with the key. */
    size_t raw_len = 0;
    unsigned char *raw = base64_decode(k.raw_b64, &raw_len);
    cr_assert_eq(raw_len, 32);
    unsigned char longer[44] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    memcpy(longer + 12, raw, 32);
    char *longer_b64 = base64_encode(longer, sizeof longer);
    cr_assert_eq(sig_verify(event, sig, longer_b64, "", &err), SALOG_OK);

    /* OpenSSH line: blob = string "ssh-ed25519" + string key. */
    unsigned char blob[51] = {0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9', 0, 0, 0, 32};
    memcpy(blob + 19, raw, 32);
    char *blob_b64 = base64_encode(blob, sizeof blob);
    char ssh[200];
    snprintf(ssh, sizeof ssh, "ssh-ed25519 %s user@host", blob_b64);
    cr_assert_eq(sig_verify(event, sig, ssh, "", &err), SALOG_OK, "%s", err.items[0].detail);

    /* Fewer than 32 bytes: unusable key. */
    char *short_b64 = base64_encode(raw, 31);
    sig_expect(&err, sig_verify(event, sig, short_b64, "", &err), SALOG_E_VALIDATION, "BadFormat", "/public_key");

    free(short_b64);
    free(blob_b64);
    free(longer_b64);
    free(raw);
    free(sig);
    sv_free(event);
    sig_keys_free(&k);
}

Test(signature, tampered_event_or_signature_fails)
{
    sig_keys k, other;
    sig_keys_make(&k);
    sig_keys_make(&other);
    sv_value *event = sig_json(sig_event_text);
    salog_err err;
    salog_err_init(&err);
    char *sig = NULL;
    cr_assert_eq(signature_sign_event(event, k.private_pem, &sig, &err), SALOG_OK);
    char *pk = sig_public_key_json(k.public_pem, false, NULL);

    sv_value *changed = sig_json("{\"message\":\"hello \xc3\xa9!\",\"actor\":\"alice\",\"new\":\"{\\\"b\\\":1}\","
                                 "\"tenant_id\":\"t1\"}");
    sig_expect(&err, sig_verify(changed, sig, pk, "", &err), SALOG_E_VALIDATION, "BadFormat", "/signature");
    cr_assert_str_eq(err.items[0].detail, "the signature does not verify against public_key for this event");

    /* An added member changes the canonical bytes. */
    sv_value *added = sig_json(sig_event_text);
    cr_assert_eq(sv_object_set_str(added, "status", "ok"), 0);
    sig_expect(&err, sig_verify(added, sig, pk, "", &err), SALOG_E_VALIDATION, "BadFormat", "/signature");

    /* One flipped bit in the signature. */
    size_t len = 0;
    unsigned char *raw = base64_decode(sig, &len);
    cr_assert_eq(len, 64);
    raw[10] ^= 0x01;
    char *bad_sig = base64_encode(raw, len);
    sig_expect(&err, sig_verify(event, bad_sig, pk, "/events/3", &err), SALOG_E_VALIDATION, "BadFormat",
               "/events/3/signature");

    /* Someone else's key. */
    sig_expect(&err, sig_verify(event, sig, other.raw_b64, "", &err), SALOG_E_VALIDATION, "BadFormat",
               "/signature");

    free(bad_sig);
    free(raw);
    sv_free(added);
    sv_free(changed);
    free(pk);
    free(sig);
    sv_free(event);
    sig_keys_free(&other);
    sig_keys_free(&k);
}

Test(signature, malformed_signature_and_key)
{
    sig_keys k;
    sig_keys_make(&k);
    sv_value *event = sig_json(sig_event_text);
    salog_err err;
    char sig64[89];
    unsigned char zeros[64] = {0};
    char *z = base64_encode(zeros, 64);
    snprintf(sig64, sizeof sig64, "%s", z);
    free(z);

    const char *garbage[] = {"not base64!", "abc", "AAAA AAAA", "AA=A", "====", "QUJD\n", "Q===", "QUJD===="};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        sig_expect(&err, sig_verify(event, garbage[i], k.raw_b64, "", &err), SALOG_E_VALIDATION,
                   "BadFormatBase64", "/signature");

    /* Valid base64, wrong length. */
    sig_expect(&err, sig_verify(event, "QUJD", k.raw_b64, "/events/0", &err), SALOG_E_VALIDATION, "BadFormat",
               "/events/0/signature");
    sig_expect(&err, sig_verify(event, "", k.raw_b64, "", &err), SALOG_E_VALIDATION, "BadFormat", "/signature");

    /* Unusable keys (the signature is well-formed, so the key is blamed). */
    const char *bad_keys[] = {"", "%%%", "QUJD", "{\"algorithm\":\"ED25519\"}", "{\"key\":5}", "{\"key\":",
                              "{\"key\":\"-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\\n\"}",
                              "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n", "ssh-ed25519 !!"};
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++)
        sig_expect(&err, sig_verify(event, sig64, bad_keys[i], "", &err), SALOG_E_VALIDATION, "BadFormat",
                   "/public_key");

    /* An RSA key is not an Ed25519 key. */
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    cr_assert_not_null(rsa);
    BIO *bio = BIO_new(BIO_s_mem());
    cr_assert_eq(PEM_write_bio_PUBKEY(bio, rsa), 1);
    char *rsa_pem = sig_bio_string(bio);
    sig_expect(&err, sig_verify(event, sig64, rsa_pem, "", &err), SALOG_E_VALIDATION, "BadFormat", "/public_key");
    free(rsa_pem);
    BIO_free(bio);
    EVP_PKEY_free(rsa);

    sv_free(event);
    sig_keys_free(&k);
}

Test(signature, unhashable_event_is_refused)
{
    sig_keys k;
    sig_keys_make(&k);
    salog_err err;
    sv_value *event = sig_json("{\"message\":\"m\",\"n\":1.5}");
    unsigned char zeros[64] = {0};
    char *z = base64_encode(zeros, 64);
    sig_expect(&err, sig_verify(event, z, k.raw_b64, "", &err), SALOG_E_VALIDATION, "BadFormat", "/event");
    char *sig = (char *)1;
    salog_err_init(&err);
    cr_assert_neq(signature_sign_event(event, k.private_pem, &sig, &err), SALOG_OK);
    cr_assert_null(sig);
    free(z);
    sv_free(event);
    sig_keys_free(&k);
}

Test(signature, sign_refuses_bad_private_key)
{
    sig_keys k;
    sig_keys_make(&k);
    sv_value *event = sig_json("{\"message\":\"m\"}");
    salog_err err;
    char *sig = (char *)1;
    salog_err_init(&err);
    cr_assert_eq(signature_sign_event(event, "not a key", &sig, &err), SALOG_E_INTERNAL);
    cr_assert_null(sig);
    salog_err_init(&err);
    cr_assert_eq(signature_sign_event(event, k.public_pem, &sig, &err), SALOG_E_INTERNAL);
    cr_assert_null(sig);
    sv_free(event);
    sig_keys_free(&k);
}

/* Real data: pangea-go TestSearch_Verify (API.md §9 E7, II §3.4). */
Test(signature, go_test_search_verify_vector)
{
    sv_value *event = sig_json("{\"actor\":\"Actor\",\"action\":\"Action\",\"message\":\"sigtest100\",\"new\":\"New\","
                               "\"old\":\"Old\",\"source\":\"Source\",\"status\":\"Status\",\"target\":\"Target\"}");
    const char *pk = "lvOyDMpK2DQ16NI8G41yINl01wMHzINBahtDPoh4+mE=";
    const char *sig = "dg7Wg+E8QzZzhECzQoH3v3pbjWObR8ve7SHREAyA9JlFOusKPHVb16t5D3rbscnv80ry/aWzfMTscRNSYJFzDA==";
    salog_err err;
    cr_assert_eq(sig_verify(event, sig, pk, "", &err), SALOG_OK, "%s", err.count ? err.items[0].detail : "");

    /* And its envelope hashes to the documented value. */
    sv_value *env = sv_object();
    cr_assert_eq(sv_object_set(env, "event", sv_clone(event)), 0);
    cr_assert_eq(sv_object_set_str(env, "received_at", "2022-09-20T13:09:28.673562Z"), 0);
    cr_assert_eq(sv_object_set_str(env, "public_key", pk), 0);
    cr_assert_eq(sv_object_set_str(env, "signature", sig), 0);
    char hex[65];
    cr_assert_eq(codec_canonical_sha256_hex(env, hex), 0);
    cr_assert_str_eq(hex, "afa77464cad6e1b34e23d4847106081577f0b78f9c407ab501d16c09b23be202");

    cr_assert_eq(sv_object_set_str(event, "message", "sigtest101"), 0);
    cr_assert_eq(sig_verify(event, sig, pk, "", &err), SALOG_E_VALIDATION);
    sv_free(env);
    sv_free(event);
}

Test(base64, round_trip_and_strictness)
{
    const unsigned char data[] = "\x00\xff\x10salog";
    for (size_t n = 0; n <= 8; n++) {
        char *enc = base64_encode(data, n);
        cr_assert_not_null(enc);
        cr_assert_eq(strlen(enc), (n + 2) / 3 * 4);
        size_t len = 99;
        unsigned char *dec = base64_decode(enc, &len);
        cr_assert_not_null(dec, "%s", enc);
        cr_assert_eq(len, n);
        cr_assert(n == 0 || memcmp(dec, data, n) == 0);
        free(dec);
        free(enc);
    }
    char *e = base64_encode((const unsigned char *)"hi", 2);
    cr_assert_str_eq(e, "aGk=");
    free(e);
    size_t len;
    const char *bad[] = {"aGk", "aGk=\n", " aGk=", "aG=k", "a*k=", "aGk=aGk=", "=aGk"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_null(base64_decode(bad[i], &len), "%s accepted", bad[i]);
}
