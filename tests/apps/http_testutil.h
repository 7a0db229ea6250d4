/* http_testutil.h - file helpers shared by the libhttp tests (include after cmocka.h) */
#ifndef XOK_TESTS_HTTP_TESTUTIL_H
#define XOK_TESTS_HTTP_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>

/* Create dir/name holding text. */
static inline void tu_put_file(const char *dir, const char *name, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Remove a temporary directory tree made by the test. */
static inline void tu_rm_rf(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

#endif /* XOK_TESTS_HTTP_TESTUTIL_H */
