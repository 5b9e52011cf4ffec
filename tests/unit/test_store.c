/* The Berkeley DB environment: open/close/reopen, modes, the init marker,
 * failchk and checkpoint on a healthy store. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model/store.h"
#include "tests/unit/test_tmpdir.h"

/* Per-test scratch directory (each Criterion test runs in its own process). */
static char store_test_root[64];
static char store_test_data[96];

static void store_test_setup(void)
{
    test_tmpdir_make(store_test_root, sizeof store_test_root, "store");
    snprintf(store_test_data, sizeof store_test_data, "%s/data", store_test_root);
}

static void store_test_teardown(void)
{
    test_tmpdir_remove(store_test_root);
}

TestSuite(store, .init = store_test_setup, .fini = store_test_teardown);

Test(store, open_creates_directory_and_files)
{
    store *s = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(store_open(&s, store_test_data, true, &err), SALOG_OK, "%s",
                 err.count ? err.items[0].detail : "");
    cr_assert_not_null(s);
    cr_assert_str_eq(store_data_dir(s), store_test_data);
    cr_assert(!store_must_exit(s));

    struct stat sb;
    cr_assert_eq(stat(store_test_data, &sb), 0);
    cr_assert(S_ISDIR(sb.st_mode));
    cr_assert_eq(sb.st_mode & 0777, 0770, "dir mode %o", sb.st_mode & 0777);
    const char *files[] = {"tokens.db", "token_digests.db", "configs.db", "meta.db"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s/%s", store_test_data, files[i]);
        cr_assert_eq(stat(p, &sb), 0, "%s missing", files[i]);
        cr_assert_eq(sb.st_mode & 0777, 0660, "%s mode %o", files[i], sb.st_mode & 0777);
    }
    store_close(s);
}

Test(store, open_without_create_needs_the_directory)
{
    store *s = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_neq(store_open(&s, store_test_data, false, &err), SALOG_OK);
    cr_assert_null(s);
    cr_assert_eq(err.status, SALOG_E_INTERNAL);
}

Test(store, reopen_after_close)
{
    for (int round = 0; round < 3; round++) {
        store *s = NULL;
        salog_err err;
        salog_err_init(&err);
        cr_assert_eq(store_open(&s, store_test_data, round == 0, &err), SALOG_OK, "round %d: %s",
                     round, err.count ? err.items[0].detail : "");
        cr_assert_eq(store_failchk(s), SALOG_OK);
        store_checkpoint(s);
        cr_assert(!store_must_exit(s));
        store_close(s);
    }
}

/* DB_REGISTER allows one environment handle per process (BDB1528): a
 * second store_open in the same process fails and leaves the first one
 * working. */
Test(store, one_handle_per_process)
{
    store *a = NULL, *b = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(store_open(&a, store_test_data, true, &err), SALOG_OK);
    salog_err_init(&err);
    cr_assert_eq(store_open(&b, store_test_data, false, &err), SALOG_E_INTERNAL);
    cr_assert_null(b);
    cr_assert_eq(store_failchk(a), SALOG_OK);
    cr_assert(!store_must_exit(a));
    store_close(a);
    salog_err_init(&err);
    cr_assert_eq(store_open(&b, store_test_data, false, &err), SALOG_OK);
    store_close(b);
}

Test(store, initialised_marker)
{
    store *s = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert(!store_is_initialised(store_test_data));
    cr_assert_eq(store_open(&s, store_test_data, true, &err), SALOG_OK);
    cr_assert(!store_is_initialised(store_test_data));
    cr_assert_eq(store_mark_initialised(s, &err), SALOG_OK);
    cr_assert(store_is_initialised(store_test_data));

    char p[160];
    struct stat sb;
    snprintf(p, sizeof p, "%s/salog.initialised", store_test_data);
    cr_assert_eq(stat(p, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0660);
    snprintf(p, sizeof p, "%s/.salog.initialised.tmp", store_test_data);
    cr_assert_neq(stat(p, &sb), 0, "temporary file left behind");
    store_close(s);
    cr_assert(store_is_initialised(store_test_data));
}

Test(store, missing_directory_is_not_initialised)
{
    cr_assert(!store_is_initialised("/nonexistent/salog"));
}

/* Member files (model/store_members.h): one per open handle, removed on
 * close; a process that dies with the environment open leaves its file,
 * and store_watch then runs failchk and removes it. */
Test(store, member_files_mark_dead_openers)
{
    char path[160];
    store *s = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(store_open(&s, store_test_data, true, &err), SALOG_OK);
    snprintf(path, sizeof path, "%s/procs/%ld", store_test_data, (long)getpid());
    cr_assert_eq(access(path, F_OK), 0, "the opener's member file exists");
    cr_assert_eq(store_watch(s), SALOG_OK);

    pid_t child = fork();
    cr_assert_neq(child, -1);
    if (child == 0) {
        /* After fork the parent's handle must not be used: open our own, then
         * die without closing it. */
        store *c = NULL;
        salog_err cerr;
        salog_err_init(&cerr);
        _exit(store_open(&c, store_test_data, false, &cerr) == SALOG_OK ? 0 : 1);
    }
    int status = 0;
    cr_assert_eq(waitpid(child, &status, 0), child);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char dead[160];
    snprintf(dead, sizeof dead, "%s/procs/%ld", store_test_data, (long)child);
    cr_assert_eq(access(dead, F_OK), 0, "a process that died with the environment open leaves its file");
    cr_assert_eq(store_watch(s), SALOG_OK);
    cr_assert_neq(access(dead, F_OK), 0, "store_watch ran failchk and forgot the dead process");
    cr_assert(!store_must_exit(s));
    store_close(s);
    cr_assert_neq(access(path, F_OK), 0, "close removes the member file");
}

/* Log files are written full of zeros when they are created (DB_LOG_ZERO):
 * a commit's fdatasync then only rewrites blocks the file has, instead of
 * allocating them (store.c). A sparse log file has far fewer blocks than
 * its size. */
Test(store, log_files_are_fully_allocated)
{
    store *s = NULL;
    salog_err err;
    salog_err_init(&err);
    cr_assert_eq(store_open(&s, store_test_data, true, &err), SALOG_OK, "%s",
                 err.count ? err.items[0].detail : "");
    store_checkpoint(s);
    store_close(s);

    DIR *dir = opendir(store_test_data);
    cr_assert_not_null(dir);
    int logs = 0;
    for (struct dirent *de; (de = readdir(dir)) != NULL;) {
        if (strncmp(de->d_name, "log.", 4) != 0)
            continue;
        char p[400];
        snprintf(p, sizeof p, "%s/%s", store_test_data, de->d_name);
        struct stat sb;
        cr_assert_eq(stat(p, &sb), 0);
        cr_assert_geq(sb.st_size, 1024 * 1024, "%s is %lld bytes", de->d_name, (long long)sb.st_size);
        cr_assert_geq((long long)sb.st_blocks * 512, (long long)sb.st_size, "%s: %lld bytes allocated of %lld",
                      de->d_name, (long long)sb.st_blocks * 512, (long long)sb.st_size);
        logs++;
    }
    closedir(dir);
    cr_assert_gt(logs, 0, "no log file in %s", store_test_data);
}
