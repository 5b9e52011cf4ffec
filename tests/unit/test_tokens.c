/* Tokens and ids: minting, authentication (right, wrong, near-miss,
 * expired, revoked secrets), listing, revocation, persistence, and that no
 * secret reaches the disk. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/timefmt.h"
#include "model/ids.h"
#include "model/store.h"
#include "model/tokens.h"
#include "tests/unit/test_tmpdir.h"

static char tokens_test_root[64];
static char tokens_test_data[96];
static store *tokens_test_store;

static void tokens_test_setup(void)
{
    test_tmpdir_make(tokens_test_root, sizeof tokens_test_root, "tokens");
    snprintf(tokens_test_data, sizeof tokens_test_data, "%s/data", tokens_test_root);
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(store_open(&tokens_test_store, tokens_test_data, true, &err), SALOG_OK);
}

static void tokens_test_teardown(void)
{
    store_close(tokens_test_store);
    tokens_test_store = NULL;
    test_tmpdir_remove(tokens_test_root);
}

TestSuite(tokens, .init = tokens_test_setup, .fini = tokens_test_teardown);

static void tokens_test_mint(const token_spec *spec, char secret[TOKEN_SECRET_LEN + 1],
                             token_info *info)
{
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(tokens_create(tokens_test_store, spec, secret, info, &err), SALOG_OK, "%s",
                 err.count ? err.items[0].detail : "");
}

static salog_status tokens_test_auth(const char *secret, size_t len, int64_t now, token_info *out,
                                     salog_err *err)
{
    salog_err_init(err);
    return tokens_authenticate(tokens_test_store, secret, len, now, out, err);
}

static void tokens_test_expect_unauthorized(const char *secret, size_t len, int64_t now)
{
    token_info info;
    salog_err err;
    cr_assert_eq(tokens_test_auth(secret, len, now, &info, &err), SALOG_E_UNAUTHORIZED);
    cr_assert_eq(err.count, 1);
    cr_assert_str_eq(err.items[0].code, "Unauthorized");
    /* The detail is generic: it never echoes what was presented. */
    if (len >= 8)
        cr_assert_null(strstr(err.items[0].detail, secret + 4));
    token_info_clear(&info);
}

Test(ids, generate_and_validate)
{
    char a[ID_LEN + 1], b[ID_LEN + 1];
    cr_assert_eq(id_generate("pci_", a), 0);
    cr_assert_eq(id_generate("pci_", b), 0);
    cr_assert_eq(strlen(a), ID_LEN);
    cr_assert(id_is_valid("pci_", a));
    cr_assert(!id_is_valid("pti_", a));
    cr_assert_str_neq(a, b);
    for (size_t i = 4; i < ID_LEN; i++)
        cr_assert(strchr("abcdefghijklmnopqrstuvwxyz234567", a[i]) != NULL);
    cr_assert(!id_is_valid("pci_", "pci_"));
    cr_assert(!id_is_valid("pci_", "pci_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));   /* 31 */
    cr_assert(!id_is_valid("pci_", "pci_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 33 */
    cr_assert(!id_is_valid("pci_", "pci_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"));  /* '1' */
    cr_assert(!id_is_valid("pci_", "pci_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaA"));  /* 'A' */
    cr_assert(id_is_valid("pci_", "pci_abcdefghijklmnopqrstuvwxyz234567"));
    cr_assert(!id_is_valid("pci_", NULL));
    cr_assert_eq(id_generate("pc", a), -1);
}

Test(ids, sha256_hex_known_value)
{
    char hex[65];
    sha256_hex("abc", 3, hex);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_hex("", 0, hex);
    cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

Test(tokens, create_then_authenticate)
{
    const char *cfgs[] = {"pci_abcdefghijklmnopqrstuvwxyz234567"};
    sv_value *restr = sv_object();
    sv_value *vals = sv_array();
    cr_assert_eq(sv_array_push(vals, sv_string("t1")), 0);
    cr_assert_eq(sv_object_set(restr, "tenant_id", vals), 0);
    token_spec spec = {.name = "ci", .scopes = TOKEN_SCOPE_LOG | TOKEN_SCOPE_SEARCH,
                       .config_ids = cfgs, .config_count = 1, .restrictions = restr};
    char secret[TOKEN_SECRET_LEN + 1];
    token_info made;
    int64_t before = time_now_us();
    tokens_test_mint(&spec, secret, &made);
    cr_assert_eq(strlen(secret), TOKEN_SECRET_LEN);
    cr_assert(id_is_valid("pts_", secret));
    cr_assert(id_is_valid("pti_", made.id));
    cr_assert_str_eq(made.name, "ci");
    cr_assert_eq(made.scopes, TOKEN_SCOPE_LOG | TOKEN_SCOPE_SEARCH);
    cr_assert_eq(made.config_count, 1);
    cr_assert_str_eq(made.config_ids[0], cfgs[0]);
    cr_assert(sv_equal(made.restrictions, restr));
    cr_assert_geq(made.created_at_us, before);
    cr_assert_eq(made.expires_at_us, 0);
    cr_assert(!made.revoked);

    token_info got;
    salog_err err;
    cr_assert_eq(tokens_test_auth(secret, TOKEN_SECRET_LEN, time_now_us(), &got, &err), SALOG_OK);
    cr_assert_str_eq(got.id, made.id);
    cr_assert_str_eq(got.name, "ci");
    cr_assert_eq(got.scopes, made.scopes);
    cr_assert_eq(got.created_at_us, made.created_at_us);
    cr_assert(token_allows_config(&got, cfgs[0]));
    cr_assert(!token_allows_config(&got, "pci_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"));
    cr_assert(sv_equal(got.restrictions, restr));
    token_info_clear(&got);
    token_info_clear(&made);
    sv_free(restr);
}

Test(tokens, unbound_token_allows_every_config)
{
    token_spec spec = {.scopes = TOKEN_SCOPE_ADMIN};
    char secret[TOKEN_SECRET_LEN + 1];
    token_info made;
    tokens_test_mint(&spec, secret, &made);
    cr_assert_null(made.name);
    cr_assert_null(made.restrictions);
    cr_assert(token_allows_config(&made, "pci_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"));
    token_info_clear(&made);
}

Test(tokens, wrong_and_near_miss_secrets)
{
    token_spec spec = {.scopes = TOKEN_SCOPE_LOG};
    char secret[TOKEN_SECRET_LEN + 1];
    token_info made;
    tokens_test_mint(&spec, secret, &made);
    int64_t now = time_now_us();

    char other[TOKEN_SECRET_LEN + 1];
    cr_assert_eq(id_generate("pts_", other), 0);
    tokens_test_expect_unauthorized(other, TOKEN_SECRET_LEN, now);

    /* One character changed, at the start, middle and end. */
    size_t spots[] = {4, TOKEN_SECRET_LEN / 2, TOKEN_SECRET_LEN - 1};
    for (size_t i = 0; i < 3; i++) {
        char near[TOKEN_SECRET_LEN + 1];
        memcpy(near, secret, sizeof near);
        near[spots[i]] = near[spots[i]] == 'a' ? 'b' : 'a';
        tokens_test_expect_unauthorized(near, TOKEN_SECRET_LEN, now);
    }
    /* Truncated, extended, empty, prefix changed. */
    tokens_test_expect_unauthorized(secret, TOKEN_SECRET_LEN - 1, now);
    char longer[TOKEN_SECRET_LEN + 2];
    memcpy(longer, secret, TOKEN_SECRET_LEN);
    longer[TOKEN_SECRET_LEN] = 'a';
    longer[TOKEN_SECRET_LEN + 1] = '\0';
    tokens_test_expect_unauthorized(longer, TOKEN_SECRET_LEN + 1, now);
    tokens_test_expect_unauthorized("", 0, now);
    char prefixed[TOKEN_SECRET_LEN + 1];
    memcpy(prefixed, secret, sizeof prefixed);
    prefixed[0] = 'x';
    tokens_test_expect_unauthorized(prefixed, TOKEN_SECRET_LEN, now);
    /* The token id is not a secret. */
    tokens_test_expect_unauthorized(made.id, ID_LEN, now);

    token_info got;
    salog_err err;
    cr_assert_eq(tokens_test_auth(secret, TOKEN_SECRET_LEN, now, &got, &err), SALOG_OK);
    token_info_clear(&got);
    token_info_clear(&made);
}

Test(tokens, expiry)
{
    int64_t now = time_now_us();
    token_spec spec = {.scopes = TOKEN_SCOPE_SEARCH, .expires_at_us = now + 1000000};
    char secret[TOKEN_SECRET_LEN + 1];
    token_info made;
    tokens_test_mint(&spec, secret, &made);
    cr_assert_eq(made.expires_at_us, now + 1000000);

    token_info got;
    salog_err err;
    cr_assert_eq(tokens_test_auth(secret, TOKEN_SECRET_LEN, now + 999999, &got, &err), SALOG_OK);
    cr_assert_eq(got.expires_at_us, now + 1000000);
    token_info_clear(&got);
    tokens_test_expect_unauthorized(secret, TOKEN_SECRET_LEN, now + 1000000);
    tokens_test_expect_unauthorized(secret, TOKEN_SECRET_LEN, now + 86400000000LL);
    token_info_clear(&made);
}

Test(tokens, revoke)
{
    token_spec spec = {.scopes = TOKEN_SCOPE_LOG};
    char s1[TOKEN_SECRET_LEN + 1], s2[TOKEN_SECRET_LEN + 1];
    token_info t1, t2;
    tokens_test_mint(&spec, s1, &t1);
    tokens_test_mint(&spec, s2, &t2);
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(tokens_revoke(tokens_test_store, t1.id, &err), SALOG_OK);
    tokens_test_expect_unauthorized(s1, TOKEN_SECRET_LEN, time_now_us());
    /* Revoking twice is harmless; the other token still works. */
    cr_assert_eq(tokens_revoke(tokens_test_store, t1.id, &err), SALOG_OK);
    token_info got;
    cr_assert_eq(tokens_test_auth(s2, TOKEN_SECRET_LEN, time_now_us(), &got, &err), SALOG_OK);
    token_info_clear(&got);

    salog_err_init(&err);
    cr_assert_eq(tokens_revoke(tokens_test_store, "pti_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &err),
                 SALOG_E_NOT_FOUND);
    salog_err_init(&err);
    cr_assert_eq(tokens_revoke(tokens_test_store, "garbage", &err), SALOG_E_NOT_FOUND);

    token_info *all = NULL;
    size_t n = 0;
    salog_err_init(&err);
    cr_assert_eq(tokens_list(tokens_test_store, &all, &n, &err), SALOG_OK);
    cr_assert_eq(n, 2);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(all[i].revoked, strcmp(all[i].id, t1.id) == 0);
        token_info_clear(&all[i]);
    }
    free(all);
    token_info_clear(&t1);
    token_info_clear(&t2);
}

Test(tokens, list_oldest_first)
{
    token_info *all = NULL;
    size_t n = 99;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(tokens_list(tokens_test_store, &all, &n, &err), SALOG_OK);
    cr_assert_eq(n, 0);
    free(all);

    char ids[5][ID_LEN + 1];
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        token_spec spec = {.name = name, .scopes = TOKEN_SCOPE_LOG};
        char secret[TOKEN_SECRET_LEN + 1];
        token_info made;
        tokens_test_mint(&spec, secret, &made);
        memcpy(ids[i], made.id, sizeof ids[i]);
        token_info_clear(&made);
        usleep(2000);
    }
    cr_assert_eq(tokens_list(tokens_test_store, &all, &n, &err), SALOG_OK);
    cr_assert_eq(n, 5);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(all[i].id, ids[i]);
        if (i > 0)
            cr_assert_gt(all[i].created_at_us, all[i - 1].created_at_us);
        token_info_clear(&all[i]);
    }
    free(all);
}

Test(tokens, bad_spec_is_refused)
{
    char secret[TOKEN_SECRET_LEN + 1];
    token_info made;
    salog_err err;
    salog_err_init(&err);
    token_spec none = {.scopes = 0};
    cr_assert_eq(tokens_create(tokens_test_store, &none, secret, &made, &err), SALOG_E_VALIDATION);
    cr_assert_eq(secret[0], '\0');

    const char *bad_cfg[] = {"nope"};
    token_spec bad = {.scopes = TOKEN_SCOPE_LOG, .config_ids = bad_cfg, .config_count = 1};
    salog_err_init(&err);
    cr_assert_eq(tokens_create(tokens_test_store, &bad, secret, &made, &err), SALOG_E_VALIDATION);

    sv_value *restr = sv_object();
    cr_assert_eq(sv_object_set_str(restr, "tenant_id", "t1"), 0); /* not a list */
    token_spec bad_r = {.scopes = TOKEN_SCOPE_LOG, .restrictions = restr};
    salog_err_init(&err);
    cr_assert_eq(tokens_create(tokens_test_store, &bad_r, secret, &made, &err),
                 SALOG_E_VALIDATION);
    sv_free(restr);
}

/* True if `needle` occurs in any file under the data directory. */
static bool tokens_test_found_on_disk(const char *needle)
{
    const char *files[] = {"tokens.db", "token_digests.db", "log.0000000001"};
    size_t nlen = strlen(needle);
    for (size_t f = 0; f < 3; f++) {
        char path[160];
        snprintf(path, sizeof path, "%s/%s", tokens_test_data, files[f]);
        FILE *fp = fopen(path, "rb");
        if (!fp)
            continue;
        fseek(fp, 0, SEEK_END);
        long size = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        char *buf = malloc((size_t)size + 1);
        size_t got = fread(buf, 1, (size_t)size, fp);
        fclose(fp);
        bool hit = got >= nlen && memmem(buf, got, needle, nlen) != NULL;
        free(buf);
        if (hit)
            return true;
    }
    return false;
}

Test(tokens, secret_never_stored_and_survives_reopen)
{
    token_spec spec = {.name = "persist", .scopes = TOKEN_SCOPE_LOG};
    char secret[TOKEN_SECRET_LEN + 1];
    token_info made;
    tokens_test_mint(&spec, secret, &made);
    store_checkpoint(tokens_test_store);
    store_close(tokens_test_store);
    tokens_test_store = NULL;

    cr_assert(!tokens_test_found_on_disk(secret + 4), "secret found on disk");
    cr_assert(tokens_test_found_on_disk(made.id), "the id should be on disk (sanity check)");

    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(store_open(&tokens_test_store, tokens_test_data, false, &err), SALOG_OK);
    token_info got;
    cr_assert_eq(tokens_test_auth(secret, TOKEN_SECRET_LEN, time_now_us(), &got, &err), SALOG_OK);
    cr_assert_str_eq(got.id, made.id);
    cr_assert_str_eq(got.name, "persist");
    token_info_clear(&got);
    token_info_clear(&made);
}
