/* Signed checkpoints of the tree (API.md I.3): sealed by auditlog_publish,
 * read back by size. Keys are config id + be64 size, so btree order is size
 * order and the latest checkpoint is the last key with the id's prefix. */
#include "model/auditlog.h"
#include "model/be64.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/codec.h"
#include "codec/timefmt.h"
#include "model/server_key.h"
#include "model/store_internal.h"

#define CP_KEY_LEN (ID_LEN + 8)
#define CP_READ_RETRIES 8

static void cp_key(uint8_t key[CP_KEY_LEN], const char *id, uint64_t size)
{
    memcpy(key, id, ID_LEN);
    be64_put(key + ID_LEN, size);
}

/* Which checkpoint of a config to find. */
typedef enum cp_which { CP_LATEST, CP_COVERING, CP_EXACT } cp_which;

/* Finds a checkpoint of `id`: *size and (when doc is not NULL) its bytes
 * (caller frees). Returns 0, DB_NOTFOUND or a DB error. flags = DB_RMW
 * inside a transaction that will write one. */
static int cp_find(DB *db, DB_TXN *txn, const char *id, cp_which which, uint64_t k, u_int32_t flags,
                   uint64_t *size, void **doc, size_t *doc_len)
{
    DBC *cur = NULL;
    uint8_t kbuf[64];
    DBT key, val;
    *size = 0;
    if (doc) {
        *doc = NULL;
        *doc_len = 0;
    }
    int ret = db->cursor(db, txn, &cur, 0);
    if (ret != 0)
        return ret;
    memset(&key, 0, sizeof key);
    memset(&val, 0, sizeof val);
    cp_key(kbuf, id, which == CP_LATEST ? UINT64_MAX : k);
    key.data = kbuf;
    key.size = CP_KEY_LEN;
    key.ulen = sizeof kbuf;
    key.flags = DB_DBT_USERMEM;
    val.flags = DB_DBT_MALLOC;
    if (which == CP_EXACT) {
        ret = cur->get(cur, &key, &val, DB_SET | flags);
    } else {
        ret = cur->get(cur, &key, &val, DB_SET_RANGE | flags);
        if (which == CP_LATEST) {
            /* No checkpoint has size UINT64_MAX: step back to the last one
             * before the next config's keys (or the end). */
            free(val.data);
            val.data = NULL;
            if (ret == 0)
                ret = cur->get(cur, &key, &val, DB_PREV | flags);
            else if (ret == DB_NOTFOUND)
                ret = cur->get(cur, &key, &val, DB_LAST | flags);
        }
    }
    if (ret == 0 && (key.size != CP_KEY_LEN || memcmp(kbuf, id, ID_LEN) != 0))
        ret = DB_NOTFOUND;
    if (ret == 0) {
        *size = be64_get(kbuf + ID_LEN);
        if (doc) {
            *doc = val.data;
            *doc_len = val.size;
            val.data = NULL;
        }
    }
    free(val.data);
    int cret = cur->close(cur);
    if (ret == 0)
        ret = cret;
    return ret;
}

/* The JSON string form of the server's public key (II §4.7). */
static salog_status cp_public_key_text(store *s, char **out, salog_err *err)
{
    char *pem = NULL;
    sv_value *obj = NULL;
    sbuf b = {0};
    *out = NULL;
    salog_status st = server_key_public_pem(store_data_dir(s), &pem, err);
    if (st != SALOG_OK)
        goto out;
    obj = sv_object();
    if (!obj || sv_object_set_str(obj, "algorithm", "ED25519") != 0 || sv_object_set_str(obj, "key", pem) != 0 ||
        codec_canonical_json(&b, obj) != 0 || b.oom || !(*out = strdup(sbuf_cstr(&b)))) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
        goto out;
    }
out:
    sbuf_free(&b);
    sv_free(obj);
    free(pem);
    return st;
}

/* The signed checkpoint document of size n, with a consistency proof from
 * the previous checkpoint's size m (none when m == 0). */
static salog_status cp_build(store *s, const char *id, uint64_t m, uint64_t n, sv_value **out, salog_err *err)
{
    uint8_t root[MERKLE_HASH_LEN];
    unsigned char sig[64];
    char name[65], root_hex[65], at[TIME_RFC3339_LEN + 1], sig_b64[4 * 64 / 3 + 4];
    sv_value *signed_part = NULL, *doc = NULL, *proof = NULL;
    char *pk = NULL;
    sbuf b = {0};
    *out = NULL;
    /* What gets signed is folded from the stored subtrees, which every
     * proof uses; the stored root of that size must agree, or searches and
     * /v1/root would hand out another one: refuse to sign over damage. */
    uint8_t stored[MERKLE_HASH_LEN];
    salog_status st = auditlog_root_folded(s, id, n, root, err);
    if (st != SALOG_OK || (st = auditlog_root(s, id, n, stored, err)) != SALOG_OK)
        goto out;
    if (memcmp(root, stored, MERKLE_HASH_LEN) != 0) {
        st = salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL,
                           "the stored root of size %llu does not match the tree; not signing it (run salog verify)",
                           (unsigned long long)n);
        goto out;
    }
    if (m > 0 && (st = auditlog_consistency_proof(s, id, m, n, &proof, err)) != SALOG_OK)
        goto out;
    if ((st = cp_public_key_text(s, &pk, err)) != SALOG_OK)
        goto out;
    auditlog_tree_name(id, name);
    merkle_hex(root, root_hex);
    time_format_us(time_now_us(), at);
    signed_part = sv_object();
    if (!signed_part || sv_object_set_str(signed_part, "published_at", at) != 0 ||
        sv_object_set_str(signed_part, "root_hash", root_hex) != 0 ||
        sv_object_set_int(signed_part, "size", (int64_t)n) != 0 ||
        sv_object_set_str(signed_part, "tree_name", name) != 0 || codec_canonical_json(&b, signed_part) != 0 ||
        b.oom) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
        goto out;
    }
    if ((st = server_key_sign(store_data_dir(s), b.data, b.len, sig, err)) != SALOG_OK)
        goto out;
    EVP_EncodeBlock((unsigned char *)sig_b64, sig, sizeof sig);
    doc = sv_object();
    if (!doc || sv_object_set_str(doc, "tree_name", name) != 0 || sv_object_set_int(doc, "size", (int64_t)n) != 0 ||
        sv_object_set_str(doc, "root_hash", root_hex) != 0 || sv_object_set_str(doc, "published_at", at) != 0)
        goto oom;
    if (proof) {
        int rc = sv_object_set(doc, "consistency_proof", proof);
        proof = NULL;
        if (rc != 0)
            goto oom;
    }
    if (sv_object_set_str(doc, "signature", sig_b64) != 0 || sv_object_set_str(doc, "public_key", pk) != 0)
        goto oom;
    *out = doc;
    doc = NULL;
    goto out;
oom:
    st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
out:
    sbuf_free(&b);
    sv_free(signed_part);
    sv_free(doc);
    sv_free(proof);
    free(pk);
    return st;
}

typedef struct cp_publish_ctx {
    const char *id;
    uint64_t sealed;
    salog_status st;
    salog_err *err;
} cp_publish_ctx;

/* The write lock (DB_RMW) on the latest checkpoint's page serialises
 * publishers in every process: the second one then sees the first's
 * checkpoint and proves consistency from it. */
static int cp_publish_txn(store *s, DB_TXN *txn, void *vctx)
{
    cp_publish_ctx *c = vctx;
    uint64_t m = 0, n = 0;
    sv_value *doc = NULL;
    sbuf b = {0};
    uint8_t key[CP_KEY_LEN];
    c->sealed = 0;
    int ret = cp_find(s->checkpoints, txn, c->id, CP_LATEST, 0, DB_RMW, &m, NULL, NULL);
    if (ret == DB_NOTFOUND)
        ret = 0;
    if (ret != 0)
        return ret;
    if ((c->st = auditlog_size(s, c->id, &n, c->err)) != SALOG_OK)
        return STORE_TXN_ROLLBACK;
    if (n <= m)
        return 0;
    if ((c->st = cp_build(s, c->id, m, n, &doc, c->err)) != SALOG_OK)
        return STORE_TXN_ROLLBACK;
    if (codec_json_encode(&b, doc) != 0 || b.oom) {
        ret = ENOMEM;
        goto out;
    }
    cp_key(key, c->id, n);
    ret = store_put(s->checkpoints, txn, key, sizeof key, b.data, b.len, DB_NOOVERWRITE);
    if (ret == 0)
        c->sealed = n;
out:
    sbuf_free(&b);
    sv_free(doc);
    return ret;
}

salog_status auditlog_publish(store *s, const char *config_id, uint64_t *size_out, salog_err *err)
{
    cp_publish_ctx c = {.id = config_id, .st = SALOG_OK, .err = err};
    *size_out = 0;
    if (!config_id || strlen(config_id) != ID_LEN)
        return salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", "/config_id", "malformed config id");
    int ret = store_txn_run(s, cp_publish_txn, &c);
    if (ret == STORE_TXN_ROLLBACK)
        return c.st;
    if (ret != 0)
        return store_db_error(s, ret, "publishing a checkpoint", err);
    *size_out = c.sealed;
    return SALOG_OK;
}

static salog_status cp_read(store *s, const char *config_id, cp_which which, uint64_t k, sv_value **doc,
                            salog_err *err)
{
    void *buf = NULL;
    size_t len = 0;
    uint64_t size = 0;
    int ret = 0;
    salog_status st = SALOG_OK;
    *doc = NULL;
    if (!config_id || strlen(config_id) != ID_LEN)
        return salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", "/config_id", "malformed config id");
    for (int attempt = 0; attempt <= CP_READ_RETRIES; attempt++) {
        ret = cp_find(s->checkpoints, NULL, config_id, which, k, 0, &size, &buf, &len);
        if (ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED)
            break;
        usleep(1000u << (attempt < 6 ? attempt : 6));
    }
    if (ret == DB_NOTFOUND)
        return salog_err_set(err, SALOG_E_TREE_NOT_FOUND, "TreeNotFound", "/", "no such checkpoint");
    if (ret != 0)
        return store_db_error(s, ret, "reading a checkpoint", err);
    salog_err derr;
    salog_err_init(&derr);
    if (codec_json_decode(doc, buf, len, STORE_JSON_MAX_DEPTH, &derr) != SALOG_OK || !*doc) {
        sv_free(*doc);
        *doc = NULL;
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "checkpoint %llu is unreadable",
                           (unsigned long long)size);
    }
    free(buf);
    return st;
}

salog_status auditlog_latest_checkpoint(store *s, const char *config_id, sv_value **doc, salog_err *err)
{
    return cp_read(s, config_id, CP_LATEST, 0, doc, err);
}

salog_status auditlog_checkpoint_covering(store *s, const char *config_id, uint64_t k, sv_value **doc,
                                          salog_err *err)
{
    return cp_read(s, config_id, CP_COVERING, k, doc, err);
}

salog_status auditlog_checkpoint_at(store *s, const char *config_id, uint64_t size, sv_value **doc,
                                    salog_err *err)
{
    return cp_read(s, config_id, CP_EXACT, size, doc, err);
}
