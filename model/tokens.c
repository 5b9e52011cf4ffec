/* API tokens (model/tokens.h, API.md I.2, I.8).
 *
 * tokens.db: id -> record JSON {id, name?, scopes, configs, restrictions?,
 * created_at, expires_at?, revoked, secret_sha256}. token_digests.db: the
 * 32-byte SHA-256 of the secret -> id. The secret itself is never stored;
 * authentication looks the digest up, then compares it in constant time
 * with the one in the record. */
#include "model/tokens.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "codec/timefmt.h"
#include "model/json_cache.h"
#include "model/merkle.h"
#include "model/store_internal.h"

/* The token cache is keyed by the secret's digest in hex. */
_Static_assert(JSON_CACHE_KEY_MAX >= 64, "a token digest in hex is a json_cache key");

#define TOKEN_DIGEST_LEN 32

static const struct {
    const char *name;
    unsigned bit;
} token_scope_names[] = {
    {"log", TOKEN_SCOPE_LOG},
    {"search", TOKEN_SCOPE_SEARCH},
    {"admin", TOKEN_SCOPE_ADMIN},
};

#define TOKEN_SCOPE_COUNT (sizeof token_scope_names / sizeof token_scope_names[0])

void token_info_clear(token_info *t)
{
    if (!t)
        return;
    free(t->name);
    for (size_t i = 0; i < t->config_count; i++)
        free(t->config_ids[i]);
    free(t->config_ids);
    sv_free(t->restrictions);
    memset(t, 0, sizeof *t);
}

bool token_allows_config(const token_info *t, const char *config_id)
{
    if (t->config_count == 0)
        return true;
    for (size_t i = 0; i < t->config_count; i++)
        if (strcmp(t->config_ids[i], config_id) == 0)
            return true;
    return false;
}

_Static_assert(TOKEN_DIGEST_LEN == MERKLE_HASH_LEN, "a token digest is one SHA-256");

static int token_digest(const char *secret, size_t len, unsigned char md[TOKEN_DIGEST_LEN])
{
    return merkle_sha256(secret, len, md); /* the digest fetched once per process */
}

static void token_digest_hex(const unsigned char md[TOKEN_DIGEST_LEN], char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < TOKEN_DIGEST_LEN; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}

/* Record -> token_info. 0, or -1 for a malformed record / OOM. */
static int token_info_from_record(const sv_value *rec, token_info *t)
{
    memset(t, 0, sizeof *t);
    const char *id = sv_object_get_str(rec, "id");
    const char *created = sv_object_get_str(rec, "created_at");
    const sv_value *scopes = sv_object_get(rec, "scopes");
    const sv_value *configs = sv_object_get(rec, "configs");
    const sv_value *revoked = sv_object_get(rec, "revoked");
    if (!id || strlen(id) != ID_LEN || !created || !sv_is(scopes, SV_ARRAY) ||
        !sv_is(configs, SV_ARRAY) || !sv_is(revoked, SV_BOOL))
        return -1;
    memcpy(t->id, id, ID_LEN + 1);
    if (time_parse_rfc3339(created, &t->created_at_us) != 0)
        goto fail;
    const char *expires = sv_object_get_str(rec, "expires_at");
    if (expires && time_parse_rfc3339(expires, &t->expires_at_us) != 0)
        goto fail;
    t->revoked = revoked->u.b;
    const char *name = sv_object_get_str(rec, "name");
    if (name && !(t->name = strdup(name)))
        goto fail;
    for (size_t i = 0; i < scopes->u.arr.count; i++) {
        const sv_value *sc = scopes->u.arr.items[i];
        for (size_t j = 0; sv_is(sc, SV_STRING) && j < TOKEN_SCOPE_COUNT; j++)
            if (strcmp(sc->u.s.ptr, token_scope_names[j].name) == 0)
                t->scopes |= token_scope_names[j].bit;
    }
    if (configs->u.arr.count > 0) {
        t->config_ids = calloc(configs->u.arr.count, sizeof *t->config_ids);
        if (!t->config_ids)
            goto fail;
        for (size_t i = 0; i < configs->u.arr.count; i++) {
            const sv_value *c = configs->u.arr.items[i];
            if (!sv_is(c, SV_STRING) || !(t->config_ids[i] = strdup(c->u.s.ptr)))
                goto fail;
            t->config_count = i + 1;
        }
    }
    const sv_value *restr = sv_object_get(rec, "restrictions");
    if (sv_is(restr, SV_OBJECT) && !(t->restrictions = sv_clone(restr)))
        goto fail;
    return 0;
fail:
    token_info_clear(t);
    return -1;
}

/* {field: [string…]} with at least one field. */
static bool token_restrictions_valid(const sv_value *r)
{
    if (!sv_is(r, SV_OBJECT))
        return false;
    for (size_t i = 0; i < r->u.obj.count; i++) {
        const sv_value *vals = r->u.obj.members[i].value;
        if (!sv_is(vals, SV_ARRAY))
            return false;
        for (size_t j = 0; j < vals->u.arr.count; j++)
            if (!sv_is(vals->u.arr.items[j], SV_STRING))
                return false;
    }
    return true;
}

static salog_status token_check_spec(const token_spec *spec, salog_err *err)
{
    if ((spec->scopes & (TOKEN_SCOPE_LOG | TOKEN_SCOPE_SEARCH | TOKEN_SCOPE_ADMIN)) == 0 ||
        (spec->scopes & ~(TOKEN_SCOPE_LOG | TOKEN_SCOPE_SEARCH | TOKEN_SCOPE_ADMIN)) != 0)
        return salog_err_set(err, SALOG_E_VALIDATION, "InvalidScope", "/scopes",
                             "a token needs one or more of log, search, admin");
    for (size_t i = 0; i < spec->config_count; i++)
        if (!id_is_valid("pci_", spec->config_ids[i]))
            return salog_err_set(err, SALOG_E_VALIDATION, "ConfigNotExist", "/config_id",
                                 "not a config id");
    if (spec->restrictions && !token_restrictions_valid(spec->restrictions))
        return salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", "/restrictions",
                             "restrictions must map fields to lists of strings");
    if (spec->expires_at_us < 0)
        return salog_err_set(err, SALOG_E_VALIDATION, "BadFormat", "/expires_at",
                             "bad expiry time");
    return SALOG_OK;
}

static sv_value *token_record_build(const token_spec *spec, const char *id, int64_t now_us,
                                    const char *digest_hex)
{
    char when[TIME_RFC3339_LEN + 1];
    sv_value *rec = sv_object();
    sv_value *scopes = sv_array();
    sv_value *configs = sv_array();
    if (!rec || !scopes || !configs)
        goto fail;
    for (size_t j = 0; j < TOKEN_SCOPE_COUNT; j++)
        if ((spec->scopes & token_scope_names[j].bit) &&
            sv_array_push(scopes, sv_string(token_scope_names[j].name)) != 0)
            goto fail;
    for (size_t i = 0; i < spec->config_count; i++)
        if (sv_array_push(configs, sv_string(spec->config_ids[i])) != 0)
            goto fail;
    if (sv_object_set_str(rec, "id", id) != 0)
        goto fail;
    if (spec->name && sv_object_set_str(rec, "name", spec->name) != 0)
        goto fail;
    int r1 = sv_object_set(rec, "scopes", scopes);
    scopes = NULL;
    int r2 = sv_object_set(rec, "configs", configs);
    configs = NULL;
    if (r1 != 0 || r2 != 0)
        goto fail;
    if (spec->restrictions) {
        sv_value *copy = sv_clone(spec->restrictions);
        if (!copy || sv_object_set(rec, "restrictions", copy) != 0)
            goto fail;
    }
    time_format_us(now_us, when);
    if (sv_object_set_str(rec, "created_at", when) != 0)
        goto fail;
    if (spec->expires_at_us != 0) {
        time_format_us(spec->expires_at_us, when);
        if (sv_object_set_str(rec, "expires_at", when) != 0)
            goto fail;
    }
    if (sv_object_set_bool(rec, "revoked", false) != 0 ||
        sv_object_set_str(rec, "secret_sha256", digest_hex) != 0)
        goto fail;
    return rec;
fail:
    sv_free(rec);
    sv_free(scopes);
    sv_free(configs);
    return NULL;
}

struct token_create_ctx {
    const char *id;
    const unsigned char *digest;
    const sv_value *rec;
};

static int token_create_txn(store *s, DB_TXN *txn, void *vctx)
{
    struct token_create_ctx *c = vctx;
    int ret = store_put_json(s->tokens, txn, c->id, c->rec, DB_NOOVERWRITE);
    if (ret == 0)
        ret = store_put(s->token_digests, txn, c->digest, TOKEN_DIGEST_LEN, c->id, strlen(c->id),
                        DB_NOOVERWRITE);
    if (ret == 0)
        ret = auth_epoch_bump(s, txn);
    return ret;
}

salog_status tokens_create(store *s, const token_spec *spec, char secret_out[TOKEN_SECRET_LEN + 1],
                           token_info *info_out, salog_err *err)
{
    salog_status st = SALOG_OK;
    unsigned char digest[TOKEN_DIGEST_LEN];
    char digest_hex[65];
    char id[ID_LEN + 1];
    sv_value *rec = NULL;
    memset(info_out, 0, sizeof *info_out);
    secret_out[0] = '\0';
    st = token_check_spec(spec, err);
    if (st != SALOG_OK)
        goto out;
    if (id_generate("pti_", id) != 0 || id_generate("pts_", secret_out) != 0) {
        st = salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL, "no randomness available");
        goto out;
    }
    if (token_digest(secret_out, TOKEN_SECRET_LEN, digest) != 0) {
        st = salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL, "digest failed");
        goto out;
    }
    token_digest_hex(digest, digest_hex);
    rec = token_record_build(spec, id, time_now_us(), digest_hex);
    if (!rec) {
        st = salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL, "out of memory");
        goto out;
    }
    struct token_create_ctx ctx = {.id = id, .digest = digest, .rec = rec};
    int ret = store_txn_run(s, token_create_txn, &ctx);
    if (ret != 0) {
        st = store_db_error(s, ret, "storing the token", err);
        goto out;
    }
    if (token_info_from_record(rec, info_out) != 0) {
        st = salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL, "out of memory");
        goto out;
    }
out:
    if (st != SALOG_OK)
        OPENSSL_cleanse(secret_out, TOKEN_SECRET_LEN + 1); /* never show an unstored secret */
    OPENSSL_cleanse(digest, sizeof digest);
    OPENSSL_cleanse(digest_hex, sizeof digest_hex);
    sv_free(rec);
    return st;
}

struct token_auth_ctx {
    const unsigned char *digest;
    const char *digest_hex;   /* the token cache's key */
    const unsigned char *tag; /* the auth epoch read before, or NULL */
    sv_value *rec;            /* NULL when the digest is unknown */
};

static int token_auth_read(store *s, DB_TXN *txn, void *vctx)
{
    struct token_auth_ctx *c = vctx;
    sv_free(c->rec);
    c->rec = NULL;
    void *id = NULL, *raw = NULL;
    size_t id_len = 0, raw_len = 0;
    int ret = store_get_alloc(s->token_digests, txn, c->digest, TOKEN_DIGEST_LEN, &id, &id_len, 0);
    if (ret == DB_NOTFOUND)
        return 0;
    if (ret != 0)
        return ret;
    char key[ID_LEN + 1];
    if (id_len != ID_LEN) {
        free(id);
        return EINVAL;
    }
    memcpy(key, id, ID_LEN);
    key[ID_LEN] = '\0';
    free(id);
    ret = store_get_alloc(s->tokens, txn, key, ID_LEN, &raw, &raw_len, 0);
    if (ret == DB_NOTFOUND)
        return 0;
    if (ret != 0)
        return ret;
    /* Shared and read-only: token_info_from_record copies what it keeps.
     * Keyed by digest, so that the next request with this secret and the
     * same epoch needs no read at all. */
    c->rec = json_cache_decode(s->token_cache, c->digest_hex, raw, raw_len, c->tag);
    free(raw);
    return c->rec ? 0 : EINVAL;
}

static salog_status token_unauthorized(salog_err *err)
{
    return salog_err_set(err, SALOG_E_UNAUTHORIZED, "Unauthorized", NULL,
                         "the token is invalid, expired or revoked");
}

salog_status tokens_authenticate(store *s, const char *secret, size_t secret_len, int64_t now_us,
                                 token_info *out, salog_err *err)
{
    return tokens_authenticate_at(s, secret, secret_len, now_us, NULL, out, err);
}

salog_status tokens_authenticate_at(store *s, const char *secret, size_t secret_len, int64_t now_us,
                                    const auth_epoch *epoch, token_info *out, salog_err *err)
{
    salog_status st = SALOG_OK;
    unsigned char digest[TOKEN_DIGEST_LEN];
    char digest_hex[65];
    struct token_auth_ctx ctx = {.digest = digest, .digest_hex = digest_hex, .tag = auth_epoch_tag(epoch), .rec = NULL};
    memset(out, 0, sizeof *out);
    if (!secret || secret_len != TOKEN_SECRET_LEN) {
        st = token_unauthorized(err);
        goto out;
    }
    if (token_digest(secret, secret_len, digest) != 0) {
        st = salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL, "digest failed");
        goto out;
    }
    token_digest_hex(digest, digest_hex);
    if (ctx.tag)
        ctx.rec = json_cache_get_tagged(s->token_cache, digest_hex, ctx.tag);
    int ret = ctx.rec ? 0 : store_read_run(s, token_auth_read, &ctx);
    if (ret != 0) {
        st = store_db_error(s, ret, "reading the token", err);
        goto out;
    }
    const char *stored = ctx.rec ? sv_object_get_str(ctx.rec, "secret_sha256") : NULL;
    if (!stored || strlen(stored) != 64 || CRYPTO_memcmp(stored, digest_hex, 64) != 0) {
        st = token_unauthorized(err);
        goto out;
    }
    if (token_info_from_record(ctx.rec, out) != 0) {
        st = salog_err_set(err, SALOG_E_INTERNAL, NULL, NULL, "unreadable token record");
        goto out;
    }
    if (out->revoked || (out->expires_at_us != 0 && now_us >= out->expires_at_us)) {
        token_info_clear(out);
        st = token_unauthorized(err);
        goto out;
    }
out:
    OPENSSL_cleanse(digest, sizeof digest);
    OPENSSL_cleanse(digest_hex, sizeof digest_hex);
    sv_free(ctx.rec);
    return st;
}

struct token_list_ctx {
    token_info *items;
    size_t count, cap;
};

static void token_list_reset(struct token_list_ctx *c)
{
    for (size_t i = 0; i < c->count; i++)
        token_info_clear(&c->items[i]);
    c->count = 0;
}

static int token_list_each(const void *key, size_t key_len, const void *val, size_t val_len,
                           void *vctx)
{
    (void)key;
    (void)key_len;
    struct token_list_ctx *c = vctx;
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        token_info *n = realloc(c->items, cap * sizeof *n);
        if (!n)
            return ENOMEM;
        c->items = n;
        c->cap = cap;
    }
    sv_value *rec = NULL;
    salog_err e;
    salog_err_init(&e);
    if (codec_json_decode(&rec, val, val_len, STORE_JSON_MAX_DEPTH, &e) != SALOG_OK || !rec)
        return EINVAL;
    int r = token_info_from_record(rec, &c->items[c->count]);
    sv_free(rec);
    if (r != 0)
        return EINVAL;
    c->count++;
    return 0;
}

static int token_list_txn(store *s, DB_TXN *txn, void *vctx)
{
    struct token_list_ctx *c = vctx;
    token_list_reset(c);
    return store_scan(s->tokens, txn, token_list_each, c);
}

static int token_info_cmp_age(const void *a, const void *b)
{
    const token_info *x = a, *y = b;
    if (x->created_at_us != y->created_at_us)
        return x->created_at_us < y->created_at_us ? -1 : 1;
    return strcmp(x->id, y->id);
}

salog_status tokens_list(store *s, token_info **out, size_t *count, salog_err *err)
{
    struct token_list_ctx ctx = {0};
    *out = NULL;
    *count = 0;
    int ret = store_txn_run(s, token_list_txn, &ctx);
    if (ret != 0) {
        token_list_reset(&ctx);
        free(ctx.items);
        return store_db_error(s, ret, "listing tokens", err);
    }
    if (ctx.count > 1)
        qsort(ctx.items, ctx.count, sizeof *ctx.items, token_info_cmp_age);
    *out = ctx.items;
    *count = ctx.count;
    return SALOG_OK;
}

struct token_revoke_ctx {
    const char *id;
    bool found;
};

static int token_revoke_txn(store *s, DB_TXN *txn, void *vctx)
{
    struct token_revoke_ctx *c = vctx;
    sv_value *rec = NULL;
    c->found = false;
    int ret = store_get_json(s->tokens, txn, c->id, &rec, DB_RMW);
    if (ret == DB_NOTFOUND)
        return STORE_TXN_ROLLBACK;
    if (ret != 0)
        return ret;
    c->found = true;
    if (sv_object_set_bool(rec, "revoked", true) != 0)
        ret = ENOMEM;
    else
        ret = store_put_json(s->tokens, txn, c->id, rec, 0);
    if (ret == 0)
        ret = auth_epoch_bump(s, txn);
    sv_free(rec);
    return ret;
}

salog_status tokens_revoke(store *s, const char *id, salog_err *err)
{
    if (!id_is_valid("pti_", id))
        return salog_err_set(err, SALOG_E_NOT_FOUND, NULL, "/id", "no such token");
    struct token_revoke_ctx ctx = {.id = id, .found = false};
    int ret = store_txn_run(s, token_revoke_txn, &ctx);
    if (ret == STORE_TXN_ROLLBACK && !ctx.found)
        return salog_err_set(err, SALOG_E_NOT_FOUND, NULL, "/id", "no such token");
    if (ret != 0)
        return store_db_error(s, ret, "revoking the token", err);
    return SALOG_OK;
}
