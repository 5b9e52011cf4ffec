/* The auth epoch (model/auth_epoch.h): every committed write of a token or a
 * config changes it, nothing else does, and the token and config reads
 * keyed by it see every change whose commit came before the epoch was read.
 * (Other processes: tests/integration/frame.test.mjs and config.test.mjs
 * change tokens and configs with the admin command and through one worker
 * and read them through the others.) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codec/timefmt.h"
#include "model/auditlog.h"
#include "model/auth_epoch.h"
#include "model/configs.h"
#include "model/store.h"
#include "model/store_internal.h"
#include "model/tokens.h"
#include "tests/unit/test_tmpdir.h"

static char epoch_test_root[64];
static char epoch_test_data[96];
static store *epoch_test_store;

static void epoch_test_setup(void)
{
    test_tmpdir_make(epoch_test_root, sizeof epoch_test_root, "epoch");
    snprintf(epoch_test_data, sizeof epoch_test_data, "%s/data", epoch_test_root);
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(store_open(&epoch_test_store, epoch_test_data, true, &err), SALOG_OK);
}

static void epoch_test_teardown(void)
{
    store_close(epoch_test_store);
    epoch_test_store = NULL;
    test_tmpdir_remove(epoch_test_root);
}

TestSuite(auth_epoch, .init = epoch_test_setup, .fini = epoch_test_teardown);

static auth_epoch epoch_test_read(void)
{
    auth_epoch e;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(auth_epoch_read(epoch_test_store, &e, &err), SALOG_OK);
    return e;
}

static bool epoch_test_same(const auth_epoch *a, const auth_epoch *b)
{
    return memcmp(a->bytes, b->bytes, AUTH_EPOCH_LEN) == 0;
}

static sv_value *epoch_test_config(const char *name)
{
    sv_value *c = sv_object();
    cr_assert_eq(sv_object_set_str(c, "name", name), 0);
    cr_assert_eq(sv_object_set_int(c, "version", 3), 0);
    sv_value *schema = sv_object();
    sv_value *fields = sv_array();
    sv_value *f = sv_object();
    cr_assert_eq(sv_object_set_str(f, "id", "message"), 0);
    cr_assert_eq(sv_object_set_str(f, "type", "string"), 0);
    cr_assert_eq(sv_array_push(fields, f), 0);
    cr_assert_eq(sv_object_set(schema, "fields", fields), 0);
    cr_assert_eq(sv_object_set(c, "schema", schema), 0);
    return c;
}

static sv_value *epoch_test_create_config(const char *name)
{
    sv_value *c = epoch_test_config(name), *out = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(configs_create(epoch_test_store, c, &out, &err), SALOG_OK);
    sv_free(c);
    return out;
}

/* Mints a token of `spec` (log scope when NULL). */
static void epoch_test_mint(const token_spec *spec, char secret[TOKEN_SECRET_LEN + 1], token_info *t)
{
    token_spec log_only = {.scopes = TOKEN_SCOPE_LOG};
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(tokens_create(epoch_test_store, spec ? spec : &log_only, secret, t, &err), SALOG_OK);
}

/* tokens_authenticate_at's status for `secret` under `epoch` at `now_us`. */
static salog_status epoch_test_auth(const char *secret, const auth_epoch *epoch, int64_t now_us)
{
    token_info got;
    salog_err err;
    salog_err_init(&err);
    salog_status st = tokens_authenticate_at(epoch_test_store, secret, TOKEN_SECRET_LEN, now_us, epoch, &got, &err);
    token_info_clear(&got);
    return st;
}

/* Each kind of token and config write gives a new epoch; failed writes,
 * reads and appended events leave it alone. */
Test(auth_epoch, changes_with_every_token_and_config_write_only)
{
    salog_err err;
    salog_err_init(&err);
    auth_epoch start = epoch_test_read();
    auth_epoch zero;
    memset(&zero, 0, sizeof zero);
    cr_assert(epoch_test_same(&start, &zero), "a new store has the all-zero epoch");

    char secret[TOKEN_SECRET_LEN + 1];
    token_info t;
    epoch_test_mint(NULL, secret, &t);
    auth_epoch after_create = epoch_test_read();
    cr_assert(!epoch_test_same(&after_create, &start), "token create");

    sv_value *c = epoch_test_create_config("epoch-a");
    const char *id = sv_object_get_str(c, "id");
    auth_epoch after_config = epoch_test_read();
    cr_assert(!epoch_test_same(&after_config, &after_create), "config create");

    /* Reads, a failed revoke, a failed replace and a logged event: no change. */
    token_info got;
    cr_assert_eq(tokens_authenticate(epoch_test_store, secret, TOKEN_SECRET_LEN, time_now_us(), &got, &err),
                 SALOG_OK);
    token_info_clear(&got);
    cr_assert_eq(tokens_revoke(epoch_test_store, "pti_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &err), SALOG_E_NOT_FOUND);
    salog_err_init(&err);
    sv_value *next = epoch_test_config("epoch-a2"), *replaced = NULL;
    cr_assert_eq(configs_replace(epoch_test_store, id, "2000-01-01T00:00:00.000000Z", next, &replaced, &err),
                 SALOG_E_VALIDATION, "a stale updated_at is refused");
    salog_err_init(&err);
    sv_value *event = sv_object();
    cr_assert_eq(sv_object_set_str(event, "message", "hello"), 0);
    log_item item = {.event = event};
    log_append_result res;
    cr_assert_eq(auditlog_append(epoch_test_store, id, &item, 1, &res, &err), SALOG_OK, "%s",
                 err.count ? err.items[0].detail : "");
    auditlog_append_result_clear(&res);
    sv_free(event);
    auth_epoch unchanged = epoch_test_read();
    cr_assert(epoch_test_same(&unchanged, &after_config), "reads, failed writes and events leave it");

    cr_assert_eq(configs_replace(epoch_test_store, id, sv_object_get_str(c, "updated_at"), next, &replaced, &err),
                 SALOG_OK);
    auth_epoch after_replace = epoch_test_read();
    cr_assert(!epoch_test_same(&after_replace, &after_config), "config replace");

    sv_value *deleted = NULL;
    cr_assert_eq(configs_delete(epoch_test_store, id, &deleted, &err), SALOG_OK);
    auth_epoch after_delete = epoch_test_read();
    cr_assert(!epoch_test_same(&after_delete, &after_replace), "config delete");

    cr_assert_eq(tokens_revoke(epoch_test_store, t.id, &err), SALOG_OK);
    auth_epoch after_revoke = epoch_test_read();
    cr_assert(!epoch_test_same(&after_revoke, &after_delete), "token revoke");

    sv_free(c);
    sv_free(next);
    sv_free(replaced);
    sv_free(deleted);
    token_info_clear(&t);
}

/* A token read under one epoch is used again under that epoch without a
 * read (the store as of that epoch); after a revocation the new epoch reads
 * it again and refuses it. */
Test(auth_epoch, token_reads_follow_the_epoch)
{
    salog_err err;
    salog_err_init(&err);
    char secret[TOKEN_SECRET_LEN + 1];
    token_info t, got;
    epoch_test_mint(NULL, secret, &t);
    auth_epoch before = epoch_test_read();
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(tokens_authenticate_at(epoch_test_store, secret, TOKEN_SECRET_LEN, time_now_us(), &before,
                                            &got, &err),
                     SALOG_OK);
        cr_assert_str_eq(got.id, t.id);
        cr_assert_eq(got.scopes, TOKEN_SCOPE_LOG);
        token_info_clear(&got);
    }

    cr_assert_eq(tokens_revoke(epoch_test_store, t.id, &err), SALOG_OK);
    /* The record kept under the old epoch is what the store held then: a
     * request that read the epoch before the revocation committed is
     * served as of that moment (this shows that the epoch is the key). */
    cr_assert_eq(epoch_test_auth(secret, &before, time_now_us()), SALOG_OK);
    auth_epoch after = epoch_test_read();
    cr_assert_eq(epoch_test_auth(secret, &after, time_now_us()), SALOG_E_UNAUTHORIZED,
                 "the revocation is seen under the epoch read after it");
    /* Once read, the newer record replaces the kept one: no reader goes
     * back to the revoked token's old state, whatever epoch it holds. */
    cr_assert_eq(epoch_test_auth(secret, &before, time_now_us()), SALOG_E_UNAUTHORIZED);
    /* Expiry is judged on each call, never kept. */
    token_spec brief = {.scopes = TOKEN_SCOPE_LOG, .expires_at_us = time_now_us() + 60 * 1000000LL};
    char secret2[TOKEN_SECRET_LEN + 1];
    token_info t2;
    epoch_test_mint(&brief, secret2, &t2);
    auth_epoch now = epoch_test_read();
    cr_assert_eq(epoch_test_auth(secret2, &now, time_now_us()), SALOG_OK);
    cr_assert_eq(epoch_test_auth(secret2, &now, brief.expires_at_us + 1), SALOG_E_UNAUTHORIZED);
    /* An unknown secret is never kept: still refused, under any epoch. */
    cr_assert_eq(epoch_test_auth("pts_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &now, time_now_us()),
                 SALOG_E_UNAUTHORIZED);
    token_info_clear(&t);
    token_info_clear(&t2);
}

/* configs_peek_at and configs_get_shared_at under changing configs. */
Test(auth_epoch, config_reads_follow_the_epoch)
{
    salog_err err;
    salog_err_init(&err);
    size_t count = 99;
    char first[ID_LEN + 1];
    auth_epoch e0 = epoch_test_read();
    cr_assert_eq(configs_peek_at(epoch_test_store, 2, &e0, &count, first, &err), SALOG_OK);
    cr_assert_eq(count, 0);

    sv_value *a = epoch_test_create_config("peek-a");
    const char *a_id = sv_object_get_str(a, "id");
    auth_epoch e1 = epoch_test_read();
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(configs_peek_at(epoch_test_store, 2, &e1, &count, first, &err), SALOG_OK);
        cr_assert_eq(count, 1);
        cr_assert_str_eq(first, a_id);
    }
    sv_value *b = epoch_test_create_config("peek-b");
    auth_epoch e2 = epoch_test_read();
    cr_assert_eq(configs_peek_at(epoch_test_store, 2, &e2, &count, first, &err), SALOG_OK);
    cr_assert_eq(count, 2, "the second config is seen under the new epoch");
    cr_assert_eq(configs_peek_at(epoch_test_store, 10, &e2, &count, first, &err), SALOG_OK);
    cr_assert_eq(count, 2, "another max is answered by a scan of its own");

    /* The config itself: kept under one epoch, read again after a change. */
    sv_value *v1 = NULL, *v1_again = NULL, *v2 = NULL, *replaced = NULL;
    cr_assert_eq(configs_get_shared_at(epoch_test_store, a_id, &e2, &v1, &err), SALOG_OK);
    cr_assert_eq(configs_get_shared_at(epoch_test_store, a_id, &e2, &v1_again, &err), SALOG_OK);
    cr_assert_eq(v1, v1_again, "one shared value under one epoch");
    cr_assert_str_eq(sv_object_get_str(v1, "name"), "peek-a");
    sv_value *next = epoch_test_config("peek-a2");
    cr_assert_eq(configs_replace(epoch_test_store, a_id, sv_object_get_str(a, "updated_at"), next, &replaced, &err),
                 SALOG_OK);
    auth_epoch e3 = epoch_test_read();
    cr_assert_eq(configs_get_shared_at(epoch_test_store, a_id, &e3, &v2, &err), SALOG_OK);
    cr_assert_str_eq(sv_object_get_str(v2, "name"), "peek-a2", "the replacement is seen under the new epoch");

    sv_value *deleted = NULL, *gone = NULL;
    cr_assert_eq(configs_delete(epoch_test_store, a_id, &deleted, &err), SALOG_OK);
    auth_epoch e4 = epoch_test_read();
    cr_assert_eq(configs_get_shared_at(epoch_test_store, a_id, &e4, &gone, &err), SALOG_E_VALIDATION,
                 "a deleted config is gone under the new epoch");
    cr_assert_null(gone);
    salog_err_init(&err);
    cr_assert_eq(configs_peek_at(epoch_test_store, 2, &e4, &count, first, &err), SALOG_OK);
    cr_assert_eq(count, 1);
    cr_assert_str_eq(first, sv_object_get_str(b, "id"));

    sv_free(v1);
    sv_free(v1_again);
    sv_free(v2);
    sv_free(next);
    sv_free(replaced);
    sv_free(deleted);
    sv_free(a);
    sv_free(b);
}

/* Changes made by another process (its own environment handle, as the
 * admin command or another worker has) are seen under the epoch read after
 * them: a revoked token, a second config, a replaced config. */
Test(auth_epoch, another_process_changes_are_seen)
{
    salog_err err;
    salog_err_init(&err);
    char secret[TOKEN_SECRET_LEN + 1];
    token_info t;
    epoch_test_mint(NULL, secret, &t);
    sv_value *a = epoch_test_create_config("proc-a");
    const char *a_id = sv_object_get_str(a, "id");
    auth_epoch before = epoch_test_read();
    size_t count = 0;
    char first[ID_LEN + 1];
    sv_value *v = NULL;
    cr_assert_eq(epoch_test_auth(secret, &before, time_now_us()), SALOG_OK);
    cr_assert_eq(configs_peek_at(epoch_test_store, 2, &before, &count, first, &err), SALOG_OK);
    cr_assert_eq(count, 1);
    cr_assert_eq(configs_get_shared_at(epoch_test_store, a_id, &before, &v, &err), SALOG_OK);
    cr_assert_str_eq(sv_object_get_str(v, "name"), "proc-a");
    sv_free(v);
    v = NULL;

    pid_t child = fork();
    cr_assert_geq(child, 0);
    if (child == 0) {
        /* Never touches the parent's handles; exit codes say what failed. */
        store *other = NULL;
        salog_err cerr;
        salog_err_init(&cerr);
        if (store_open(&other, epoch_test_data, false, &cerr) != SALOG_OK)
            _exit(10);
        if (tokens_revoke(other, t.id, &cerr) != SALOG_OK)
            _exit(11);
        sv_value *b_in = epoch_test_config("proc-b"), *b = NULL, *next = epoch_test_config("proc-a2"), *r = NULL;
        if (configs_create(other, b_in, &b, &cerr) != SALOG_OK)
            _exit(12);
        if (configs_replace(other, a_id, sv_object_get_str(a, "updated_at"), next, &r, &cerr) != SALOG_OK)
            _exit(13);
        sv_free(b_in);
        sv_free(b);
        sv_free(next);
        sv_free(r);
        store_close(other);
        _exit(0);
    }
    int status = 0;
    cr_assert_eq(waitpid(child, &status, 0), child);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the other process's changes (status %d)", status);

    auth_epoch after = epoch_test_read();
    cr_assert(!epoch_test_same(&after, &before));
    cr_assert_eq(epoch_test_auth(secret, &after, time_now_us()), SALOG_E_UNAUTHORIZED, "revoked by the other process");
    salog_err_init(&err);
    cr_assert_eq(configs_peek_at(epoch_test_store, 2, &after, &count, first, &err), SALOG_OK);
    cr_assert_eq(count, 2, "the other process's config is counted");
    cr_assert_eq(configs_get_shared_at(epoch_test_store, a_id, &after, &v, &err), SALOG_OK);
    cr_assert_str_eq(sv_object_get_str(v, "name"), "proc-a2", "replaced by the other process");
    sv_free(v);
    sv_free(a);
    token_info_clear(&t);
}

/* A damaged epoch record (only damage to the file makes one) neither fails
 * requests nor lets a stale record through: reads go to the store, and the
 * next write replaces the record. */
Test(auth_epoch, damaged_record_reads_the_store)
{
    salog_err err;
    salog_err_init(&err);
    char secret[TOKEN_SECRET_LEN + 1];
    token_info t;
    epoch_test_mint(NULL, secret, &t);
    const char *bad[] = {"short", "seventeen bytes!!"};
    for (size_t i = 0; i < 2; i++) {
        cr_assert_eq(store_put(epoch_test_store->auth_epoch, NULL, "epoch", 5, bad[i], strlen(bad[i]), 0), 0);
        auth_epoch e = epoch_test_read();
        cr_assert_not(e.usable, "a %zu-byte record", strlen(bad[i]));
        cr_assert_eq(epoch_test_auth(secret, &e, time_now_us()), SALOG_OK);
    }
    /* Kept nothing under the damaged epoch: a revocation made behind its
     * back (as another process would) is seen while it stays damaged. */
    auth_epoch damaged = epoch_test_read();
    cr_assert_eq(tokens_revoke(epoch_test_store, t.id, &err), SALOG_OK);
    cr_assert_eq(store_put(epoch_test_store->auth_epoch, NULL, "epoch", 5, bad[0], strlen(bad[0]), 0), 0);
    cr_assert_eq(epoch_test_auth(secret, &damaged, time_now_us()), SALOG_E_UNAUTHORIZED);
    /* The next write replaces it. */
    char secret2[TOKEN_SECRET_LEN + 1];
    token_info t2;
    epoch_test_mint(NULL, secret2, &t2);
    auth_epoch repaired = epoch_test_read();
    cr_assert(repaired.usable);
    token_info_clear(&t);
    token_info_clear(&t2);
}
