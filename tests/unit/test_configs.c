/* Stored configs: create/get/replace (optimistic concurrency)/delete,
 * listing with filters, both orders and cursors, public views. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/configs.h"
#include "model/ids.h"
#include "model/store.h"
#include "tests/unit/test_tmpdir.h"

static char configs_test_root[64];
static store *configs_test_store;

static void configs_test_setup(void)
{
    char data[96];
    test_tmpdir_make(configs_test_root, sizeof configs_test_root, "configs");
    snprintf(data, sizeof data, "%s/data", configs_test_root);
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(store_open(&configs_test_store, data, true, &err), SALOG_OK);
}

static void configs_test_teardown(void)
{
    store_close(configs_test_store);
    configs_test_store = NULL;
    test_tmpdir_remove(configs_test_root);
}

TestSuite(configs, .init = configs_test_setup, .fini = configs_test_teardown);

/* A small validated-looking config; with a forwarding secret if asked. */
static sv_value *configs_test_make(const char *name, bool with_secret)
{
    sv_value *c = sv_object();
    cr_assert_eq(sv_object_set_str(c, "name", name), 0);
    cr_assert_eq(sv_object_set_int(c, "version", 3), 0);
    sv_value *schema = sv_object();
    cr_assert_eq(sv_object_set_bool(schema, "tamper_proofing", true), 0);
    sv_value *fields = sv_array();
    sv_value *f = sv_object();
    cr_assert_eq(sv_object_set_str(f, "id", "message"), 0);
    cr_assert_eq(sv_object_set_str(f, "type", "string"), 0);
    cr_assert_eq(sv_array_push(fields, f), 0);
    cr_assert_eq(sv_object_set(schema, "fields", fields), 0);
    cr_assert_eq(sv_object_set(c, "schema", schema), 0);
    cr_assert_eq(sv_object_set_str(c, "hot_storage", "14d"), 0);
    if (with_secret) {
        sv_value *fwd = sv_object();
        cr_assert_eq(sv_object_set_str(fwd, "type", "http"), 0);
        cr_assert_eq(sv_object_set_str(fwd, "event_url", "https://example.test/in"), 0);
        cr_assert_eq(sv_object_set_str(fwd, "secret", "hunter2"), 0);
        cr_assert_eq(sv_object_set(c, "forwarding_configuration", fwd), 0);
    }
    return c;
}

static sv_value *configs_test_create(const char *name, bool with_secret)
{
    sv_value *c = configs_test_make(name, with_secret);
    sv_value *out = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(configs_create(configs_test_store, c, &out, &err), SALOG_OK);
    sv_free(c);
    return out;
}

static void configs_test_expect_error(salog_status got, const salog_err *err, salog_status st,
                                      const char *code, const char *source)
{
    cr_assert_eq(got, st, "status %d", got);
    cr_assert_geq(err->count, 1);
    cr_assert_str_eq(err->items[0].code, code);
    cr_assert_str_eq(err->items[0].source, source);
}

Test(configs, create_and_get)
{
    sv_value *made = configs_test_create("alpha", false);
    const char *id = sv_object_get_str(made, "id");
    cr_assert(id_is_valid("pci_", id));
    cr_assert_str_eq(made->u.obj.members[0].key, "id");
    const char *created = sv_object_get_str(made, "created_at");
    const char *updated = sv_object_get_str(made, "updated_at");
    cr_assert_eq(strlen(created), 27);
    cr_assert_eq(created[26], 'Z');
    cr_assert_str_eq(created, updated);
    cr_assert_str_eq(sv_object_get_str(made, "name"), "alpha");

    sv_value *got = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(configs_get(configs_test_store, id, &got, &err), SALOG_OK);
    cr_assert(sv_equal(got, made));
    bool exists = false;
    cr_assert_eq(configs_exists(configs_test_store, id, &exists, &err), SALOG_OK);
    cr_assert(exists);
    cr_assert_eq(configs_exists(configs_test_store, "pci_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &exists, &err), SALOG_OK);
    cr_assert(!exists);
    cr_assert_eq(err.count, 0, "absent is an answer, not an error");
    cr_assert_eq(configs_exists(configs_test_store, "not an id", &exists, &err), SALOG_OK);
    cr_assert(!exists);
    /* An answer leaves the caller's error record as it was. */
    salog_err_set(&err, SALOG_E_VALIDATION, "Earlier", "/x", "kept");
    cr_assert_eq(configs_exists(configs_test_store, "pci_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &exists, &err), SALOG_OK);
    cr_assert(!exists);
    cr_assert_eq(err.count, 1);
    cr_assert_str_eq(err.items[0].code, "Earlier");
    salog_err_init(&err);
    sv_free(got);
    sv_free(made);
}

Test(configs, id_and_times_in_the_input_are_replaced)
{
    sv_value *c = configs_test_make("beta", false);
    cr_assert_eq(sv_object_set_str(c, "id", "pci_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 0);
    cr_assert_eq(sv_object_set_str(c, "created_at", "2000-01-01T00:00:00.000000Z"), 0);
    sv_value *out = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(configs_create(configs_test_store, c, &out, &err), SALOG_OK);
    cr_assert_str_neq(sv_object_get_str(out, "id"), "pci_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    cr_assert_str_neq(sv_object_get_str(out, "created_at"), "2000-01-01T00:00:00.000000Z");
    sv_free(out);
    sv_free(c);
}

Test(configs, get_unknown)
{
    sv_value *got = NULL;
    salog_err err;
    salog_err_init(&err);
    configs_test_expect_error(
        configs_get(configs_test_store, "pci_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &got, &err), &err,
        SALOG_E_VALIDATION, "DoesNotExist", "/id");
    cr_assert_null(got);
    salog_err_init(&err);
    configs_test_expect_error(configs_get(configs_test_store, "../../etc/passwd", &got, &err),
                              &err, SALOG_E_VALIDATION, "DoesNotExist", "/id");
}

Test(configs, replace_checks_updated_at)
{
    sv_value *made = configs_test_create("gamma", true);
    const char *id = sv_object_get_str(made, "id");
    char old_updated[32];
    snprintf(old_updated, sizeof old_updated, "%s", sv_object_get_str(made, "updated_at"));

    sv_value *next = configs_test_make("gamma2", false);
    sv_value *out = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(configs_replace(configs_test_store, id, old_updated, next, &out, &err), SALOG_OK);
    cr_assert_str_eq(sv_object_get_str(out, "id"), id);
    cr_assert_str_eq(sv_object_get_str(out, "name"), "gamma2");
    cr_assert_str_eq(sv_object_get_str(out, "created_at"), sv_object_get_str(made, "created_at"));
    cr_assert_gt(strcmp(sv_object_get_str(out, "updated_at"), old_updated), 0);
    cr_assert_null(sv_object_get(out, "forwarding_configuration"));

    /* The stale updated_at now loses, and nothing changes. */
    sv_value *again = NULL;
    salog_err_init(&err);
    configs_test_expect_error(
        configs_replace(configs_test_store, id, old_updated, next, &again, &err), &err,
        SALOG_E_VALIDATION, "BadState", "/updated_at");
    cr_assert_null(again);
    sv_value *got = NULL;
    salog_err_init(&err);
    cr_assert_eq(configs_get(configs_test_store, id, &got, &err), SALOG_OK);
    cr_assert(sv_equal(got, out));
    sv_free(got);

    salog_err_init(&err);
    configs_test_expect_error(configs_replace(configs_test_store,
                                              "pci_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                              old_updated, next, &again, &err),
                              &err, SALOG_E_VALIDATION, "DoesNotExist", "/id");
    sv_free(out);
    sv_free(next);
    sv_free(made);
}

Test(configs, delete)
{
    sv_value *made = configs_test_create("delta", false);
    const char *id = sv_object_get_str(made, "id");
    sv_value *gone = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(configs_delete(configs_test_store, id, &gone, &err), SALOG_OK);
    cr_assert(sv_equal(gone, made));
    sv_free(gone);
    gone = NULL;
    bool exists = true;
    salog_err_init(&err);
    cr_assert_eq(configs_exists(configs_test_store, id, &exists, &err), SALOG_OK);
    cr_assert(!exists);
    salog_err_init(&err);
    configs_test_expect_error(configs_delete(configs_test_store, id, &gone, &err), &err,
                              SALOG_E_VALIDATION, "DoesNotExist", "/id");
    cr_assert_null(gone);
    sv_free(made);
}

Test(configs, public_view_strips_secret)
{
    sv_value *made = configs_test_create("eps", true);
    const sv_value *fwd = sv_object_get(made, "forwarding_configuration");
    cr_assert_str_eq(sv_object_get_str(fwd, "secret"), "hunter2"); /* stored */
    sv_value *pub = configs_public_view(made);
    const sv_value *pfwd = sv_object_get(pub, "forwarding_configuration");
    cr_assert_not_null(pfwd);
    cr_assert_null(sv_object_get(pfwd, "secret"));
    cr_assert_str_eq(sv_object_get_str(pfwd, "event_url"), "https://example.test/in");
    cr_assert_not_null(sv_object_get(made, "forwarding_configuration")); /* input untouched */
    cr_assert_not_null(sv_object_get(fwd, "secret"));
    sv_free(pub);

    /* Listing returns public views. */
    config_list_query q = {.size = 10};
    sv_value *page = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(configs_list(configs_test_store, &q, &page, &err), SALOG_OK);
    const sv_value *items = sv_object_get(page, "items");
    cr_assert_eq(items->u.arr.count, 1);
    cr_assert_null(sv_object_get(sv_object_get(items->u.arr.items[0], "forwarding_configuration"),
                                 "secret"));
    sv_free(page);
    sv_free(made);
}

/* Pages through the whole listing, copying the ids in order into ids[];
 * returns how many there were. */
static size_t configs_test_walk(config_list_query *q, size_t expect_count, char ids[][ID_LEN + 1],
                                size_t max)
{
    size_t n = 0, pages = 0;
    char cursor[256] = "";
    for (;;) {
        q->last = cursor;
        sv_value *page = NULL;
        salog_err err;
        salog_err_init(&err);
        cr_assert_eq(configs_list(configs_test_store, q, &page, &err), SALOG_OK, "%s",
                     err.count ? err.items[0].detail : "");
        cr_assert_eq(sv_object_get(page, "count")->u.i, (int64_t)expect_count);
        const sv_value *items = sv_object_get(page, "items");
        cr_assert_leq(items->u.arr.count, q->size);
        for (size_t i = 0; i < items->u.arr.count; i++) {
            cr_assert_lt(n, max);
            snprintf(ids[n++], ID_LEN + 1, "%s", sv_object_get_str(items->u.arr.items[i], "id"));
        }
        const char *last = sv_object_get_str(page, "last");
        cr_assert_not_null(last);
        pages++;
        cr_assert_lt(pages, 50);
        if (!*last) {
            sv_free(page);
            break;
        }
        cr_assert_eq(items->u.arr.count, q->size, "a non-final page is full");
        snprintf(cursor, sizeof cursor, "%s", last);
        sv_free(page);
    }
    return n;
}

static int configs_test_strcmp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

Test(configs, list_paging_both_orders)
{
    enum { N = 7 };
    char created[N][ID_LEN + 1];
    for (int i = 0; i < N; i++) {
        char name[16];
        snprintf(name, sizeof name, "cfg%d", i);
        sv_value *m = configs_test_create(name, false);
        snprintf(created[i], sizeof created[i], "%s", sv_object_get_str(m, "id"));
        sv_free(m);
        usleep(1500);
    }
    char got[N + 2][ID_LEN + 1];
    for (size_t size = 1; size <= 8; size += 3) {
        config_list_query q = {.size = size};
        cr_assert_eq(configs_test_walk(&q, N, got, N + 2), N);
        for (int i = 0; i < N; i++)
            cr_assert_str_eq(got[i], created[i], "asc size %zu at %d", size, i);
        q.descending = true;
        cr_assert_eq(configs_test_walk(&q, N, got, N + 2), N);
        for (int i = 0; i < N; i++)
            cr_assert_str_eq(got[i], created[N - 1 - i], "desc size %zu at %d", size, i);
    }
    /* order_by id */
    char sorted[N][ID_LEN + 1];
    memcpy(sorted, created, sizeof sorted);
    qsort(sorted, N, sizeof sorted[0], configs_test_strcmp);
    config_list_query qi = {.size = 3, .order_by = "id"};
    cr_assert_eq(configs_test_walk(&qi, N, got, N + 2), N);
    for (int i = 0; i < N; i++)
        cr_assert_str_eq(got[i], sorted[i]);
    qi.descending = true;
    cr_assert_eq(configs_test_walk(&qi, N, got, N + 2), N);
    for (int i = 0; i < N; i++)
        cr_assert_str_eq(got[i], sorted[N - 1 - i]);

    /* order_by updated_at: touching the oldest moves it last. */
    sv_value *first = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(configs_get(configs_test_store, created[0], &first, &err), SALOG_OK);
    sv_value *repl = NULL;
    cr_assert_eq(configs_replace(configs_test_store, created[0],
                                 sv_object_get_str(first, "updated_at"), first, &repl, &err),
                 SALOG_OK);
    config_list_query qu = {.size = 2, .order_by = "updated_at"};
    cr_assert_eq(configs_test_walk(&qu, N, got, N + 2), N);
    cr_assert_str_eq(got[N - 1], created[0]);
    cr_assert_str_eq(got[0], created[1]);
    sv_free(first);
    sv_free(repl);
}

Test(configs, list_cursor_errors)
{
    for (int i = 0; i < 3; i++) {
        sv_value *m = configs_test_create("x", false);
        sv_free(m);
    }
    config_list_query q = {.size = 1};
    sv_value *page = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(configs_list(configs_test_store, &q, &page, &err), SALOG_OK);
    char cursor[256];
    snprintf(cursor, sizeof cursor, "%s", sv_object_get_str(page, "last"));
    cr_assert_neq(cursor[0], '\0');
    sv_free(page);

    const char *garbage[] = {"MTox", "!!!!", "abc", "bm90IGEgY3Vyc29y", "%%%%====", "===="};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        q.last = garbage[i];
        page = NULL;
        salog_err_init(&err);
        configs_test_expect_error(configs_list(configs_test_store, &q, &page, &err), &err,
                                  SALOG_E_VALIDATION, "BadFormat", "/last");
        cr_assert_null(page);
    }
    /* A cursor of another ordering is refused too. */
    q.last = cursor;
    q.descending = true;
    salog_err_init(&err);
    configs_test_expect_error(configs_list(configs_test_store, &q, &page, &err), &err,
                              SALOG_E_VALIDATION, "BadFormat", "/last");
    q.descending = false;
    q.order_by = "id";
    salog_err_init(&err);
    configs_test_expect_error(configs_list(configs_test_store, &q, &page, &err), &err,
                              SALOG_E_VALIDATION, "BadFormat", "/last");
}

static int64_t configs_test_count(const sv_value *filter)
{
    config_list_query q = {.size = 100, .filter = filter};
    sv_value *page = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(configs_list(configs_test_store, &q, &page, &err), SALOG_OK, "%s",
                 err.count ? err.items[0].detail : "");
    int64_t n = sv_object_get(page, "count")->u.i;
    cr_assert_eq((int64_t)sv_object_get(page, "items")->u.arr.count, n);
    sv_free(page);
    return n;
}

static int64_t configs_test_count1(const char *key, const char *value)
{
    sv_value *f = sv_object();
    cr_assert_eq(sv_object_set_str(f, key, value), 0);
    int64_t n = configs_test_count(f);
    sv_free(f);
    return n;
}

Test(configs, list_filters)
{
    sv_value *a = configs_test_create("prod-eu", false);
    usleep(2000);
    sv_value *b = configs_test_create("prod-us", false);
    usleep(2000);
    sv_value *c = configs_test_create("staging", false);
    const char *bid = sv_object_get_str(b, "id");
    const char *b_created = sv_object_get_str(b, "created_at");

    cr_assert_eq(configs_test_count(NULL), 3);
    cr_assert_eq(configs_test_count1("id", bid), 1);
    cr_assert_eq(configs_test_count1("id", "pci_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 0);
    cr_assert_eq(configs_test_count1("name", "staging"), 1);
    cr_assert_eq(configs_test_count1("name", "prod"), 0);
    cr_assert_eq(configs_test_count1("name__contains", "prod"), 2);
    cr_assert_eq(configs_test_count1("name__contains", "-us"), 1);
    cr_assert_eq(configs_test_count1("created_at__gt", b_created), 1);
    cr_assert_eq(configs_test_count1("created_at__lt", b_created), 1);
    cr_assert_eq(configs_test_count1("created_at__lt", "2100-01-01T00:00:00Z"), 3);
    cr_assert_eq(configs_test_count1("created_at__gt", "2100-01-01T00:00:00Z"), 0);
    /* Another spelling of the same instant compares as that instant. */
    cr_assert_eq(configs_test_count1("created_at__gt", "1999-12-31T23:00:00-01:00"), 3);

    /* updated_at moves on replace; created_at does not. */
    salog_err err;
    salog_err_init(&err);
    sv_value *a2 = NULL;
    usleep(2000);
    cr_assert_eq(configs_replace(configs_test_store, sv_object_get_str(a, "id"),
                                 sv_object_get_str(a, "updated_at"), a, &a2, &err),
                 SALOG_OK);
    const char *c_updated = sv_object_get_str(c, "updated_at");
    cr_assert_eq(configs_test_count1("updated_at__gt", c_updated), 1);
    cr_assert_eq(configs_test_count1("updated_at__lt", c_updated), 1);
    cr_assert_eq(configs_test_count1("created_at__gt", c_updated), 0);

    /* Combined members all apply. */
    sv_value *f = sv_object();
    cr_assert_eq(sv_object_set_str(f, "name__contains", "prod"), 0);
    cr_assert_eq(sv_object_set_str(f, "created_at__gt", b_created), 0);
    cr_assert_eq(configs_test_count(f), 0);
    sv_free(f);
    f = sv_object();
    cr_assert_eq(sv_object_set_str(f, "name__contains", "prod"), 0);
    cr_assert_eq(sv_object_set_str(f, "updated_at__gt", c_updated), 0);
    cr_assert_eq(configs_test_count(f), 1);
    sv_free(f);

    sv_free(a);
    sv_free(a2);
    sv_free(b);
    sv_free(c);
}

Test(configs, list_filter_errors)
{
    sv_value *page = NULL;
    salog_err err;
    config_list_query q = {.size = 1};

    sv_value *f = sv_object();
    cr_assert_eq(sv_object_set_str(f, "color", "red"), 0);
    q.filter = f;
    salog_err_init(&err);
    configs_test_expect_error(configs_list(configs_test_store, &q, &page, &err), &err,
                              SALOG_E_VALIDATION, "UnexpectedProperty", "/filter/color");
    sv_free(f);

    f = sv_object();
    cr_assert_eq(sv_object_set_int(f, "name", 3), 0);
    q.filter = f;
    salog_err_init(&err);
    configs_test_expect_error(configs_list(configs_test_store, &q, &page, &err), &err,
                              SALOG_E_VALIDATION, "InvalidString", "/filter/name");
    sv_free(f);

    f = sv_object();
    cr_assert_eq(sv_object_set_str(f, "created_at__gt", "yesterday-ish"), 0);
    q.filter = f;
    salog_err_init(&err);
    configs_test_expect_error(configs_list(configs_test_store, &q, &page, &err), &err,
                              SALOG_E_VALIDATION, "BadFormat", "/filter/created_at__gt");
    sv_free(f);

    q.filter = NULL;
    q.order_by = "name";
    salog_err_init(&err);
    configs_test_expect_error(configs_list(configs_test_store, &q, &page, &err), &err,
                              SALOG_E_VALIDATION, "BadFormat", "/order_by");
    cr_assert_null(page);
}

Test(configs, empty_list_and_all_ids)
{
    config_list_query q = {.size = 5};
    sv_value *page = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(configs_list(configs_test_store, &q, &page, &err), SALOG_OK);
    cr_assert_eq(sv_object_get(page, "count")->u.i, 0);
    cr_assert_str_eq(sv_object_get_str(page, "last"), "");
    cr_assert_eq(sv_object_get(page, "items")->u.arr.count, 0);
    sv_free(page);

    char made[3][ID_LEN + 1];
    for (int i = 0; i < 3; i++) {
        sv_value *m = configs_test_create("z", false);
        snprintf(made[i], sizeof made[i], "%s", sv_object_get_str(m, "id"));
        sv_free(m);
        usleep(1500);
    }
    char **ids = NULL;
    size_t n = 0;
    cr_assert_eq(configs_all_ids(configs_test_store, &ids, &n, &err), SALOG_OK);
    cr_assert_eq(n, 3);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(ids[i], made[i]);
        free(ids[i]);
    }
    free(ids);
}

/* configs_peek answers "none, one or several" without reading them all. */
Test(configs, peek_counts_up_to_max)
{
    salog_err err;
    salog_err_init(&err);
    size_t count = 99;
    char first[ID_LEN + 1];
    cr_assert_eq(configs_peek(configs_test_store, 2, &count, first, &err), SALOG_OK);
    cr_assert_eq(count, 0);
    sv_value *a = configs_test_create("peek-a", false);
    const char *a_id = sv_object_get_str(a, "id");
    cr_assert_eq(configs_peek(configs_test_store, 2, &count, first, &err), SALOG_OK);
    cr_assert_eq(count, 1);
    cr_assert_str_eq(first, a_id);
    sv_value *b = configs_test_create("peek-b", false);
    sv_value *c = configs_test_create("peek-c", false);
    cr_assert_eq(configs_peek(configs_test_store, 2, &count, first, &err), SALOG_OK);
    cr_assert_eq(count, 2, "stops counting at max");
    cr_assert_eq(configs_peek(configs_test_store, 10, &count, first, &err), SALOG_OK);
    cr_assert_eq(count, 3);
    sv_free(a);
    sv_free(b);
    sv_free(c);
}

/* configs_get_shared: the decoding is reused while the stored bytes stay the
 * same (one shared value), and a replaced config is seen at once. */
Test(configs, shared_reads_follow_changes)
{
    sv_value *made = configs_test_create("shared", true);
    const char *id = sv_object_get_str(made, "id");
    sv_value *a = NULL, *b = NULL, *fresh = NULL, *out = NULL, *c = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(configs_get_shared(configs_test_store, id, &a, &err), SALOG_OK);
    cr_assert_eq(configs_get_shared(configs_test_store, id, &b, &err), SALOG_OK);
    cr_assert_eq(a, b, "the same bytes give the same shared value");
    cr_assert_eq(configs_get(configs_test_store, id, &fresh, &err), SALOG_OK);
    cr_assert_neq(fresh, a, "configs_get still hands out a value of the caller's own");
    cr_assert_str_eq(sv_object_get_str(a, "name"), "shared");

    sv_value *next = configs_test_make("shared2", false);
    cr_assert_eq(configs_replace(configs_test_store, id, sv_object_get_str(made, "updated_at"), next, &out, &err),
                 SALOG_OK);
    cr_assert_eq(configs_get_shared(configs_test_store, id, &c, &err), SALOG_OK);
    cr_assert_str_eq(sv_object_get_str(c, "name"), "shared2");
    /* Holders of the old value still read it whole. */
    cr_assert_str_eq(sv_object_get_str(a, "name"), "shared");
    sv_free(a);
    sv_free(b);
    sv_free(c);
    sv_free(fresh);
    sv_free(out);
    sv_free(next);
    sv_free(made);

    salog_err_init(&err);
    configs_test_expect_error(configs_get_shared(configs_test_store, "pci_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &c, &err),
                              &err, SALOG_E_VALIDATION, "DoesNotExist", "/id");
}
