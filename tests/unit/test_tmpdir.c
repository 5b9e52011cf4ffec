#include "tests/unit/test_tmpdir.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

void test_tmpdir_make(char *out, size_t n, const char *name)
{
    /* mkdtemp replaces the trailing six X's of the template with random characters. */
    int len = snprintf(out, n, "/tmp/salog-%s-XXXXXX", name);
    cr_assert(len > 0 && (size_t)len < n, "scratch path too long");
    cr_assert_not_null(mkdtemp(out), "mkdtemp %s", out);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void test_tmpdir_remove(const char *dir)
{
    if (dir && dir[0])
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
