/* Scratch directories for unit tests: one naming rule, one recursive removal. */
#ifndef SALOG_TEST_TMPDIR_H
#define SALOG_TEST_TMPDIR_H

#include <stddef.h>

/* Creates /tmp/salog-<name>-<random> into out (size n); aborts the test on failure. */
void test_tmpdir_make(char *out, size_t n, const char *name);
/* Removes dir and everything below it (no-op for ""). */
void test_tmpdir_remove(const char *dir);

#endif
