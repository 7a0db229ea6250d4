/* test_http_path.c - target normalisation and confinement of files to the docroot */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "http_testutil.h"

#include "path.h"

static void check_norm(const char *target, int want_err, const char *want)
{
	char out[HTTP_PATH_MAX + 1];
	int n = http_path_normalize(target, strlen(target), out, sizeof(out));

	if (want_err) {
		if (n != want_err)
			fail_msg("%s: got %d, want %d", target, n, want_err);
		return;
	}
	if (n < 0)
		fail_msg("%s: got error %d, want \"%s\"", target, n, want);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void test_normalize(void **state)
{
	(void)state;
	check_norm("/", 0, "");
	check_norm("/index.html", 0, "index.html");
	check_norm("/a/b/c.txt", 0, "a/b/c.txt");
	check_norm("/a/b/../c", 0, "a/c");
	check_norm("/a/./b", 0, "a/b");
	check_norm("//a//b//", 0, "a/b");
	check_norm("/a/..", 0, "");
	check_norm("/a/../", 0, "");
	check_norm("/a/b/../../c", 0, "c");
	check_norm("/a/.git/../b", 0, "a/b"); /* the hidden segment is gone */
	check_norm("/x?y=../../etc/passwd", 0, "x");
	check_norm("/x#../frag", 0, "x");
	check_norm("/%41b%20c", 0, "Ab c");
	check_norm("/%c3%a9t%C3%A9", 0, "\xc3\xa9t\xc3\xa9");
	check_norm("/a%2e", 0, "a.");
	check_norm("/a..b", 0, "a..b");
	check_norm("http://example.com/a/b", 0, "a/b");
	check_norm("HTTPS://example.com", 0, "");
	check_norm("http://example.com?x", 0, "");
}

static void test_escapes_refused(void **state)
{
	(void)state;
	check_norm("/..", -EINVAL, NULL);
	check_norm("/../etc/passwd", -EINVAL, NULL);
	check_norm("/a/../../etc/passwd", -EINVAL, NULL);
	check_norm("/%2e%2e/etc/passwd", -EINVAL, NULL);
	check_norm("/%2E%2e/", -EINVAL, NULL);
	check_norm("/.%2e/x", -EINVAL, NULL);
	check_norm("/a/%2e%2e/%2e%2e/x", -EINVAL, NULL);
	check_norm("/..//..//etc/passwd", -EINVAL, NULL);
	check_norm("/a%2fb", -EINVAL, NULL);
	check_norm("/a%2Fb", -EINVAL, NULL);
	check_norm("/%2f%2fetc/passwd", -EINVAL, NULL);
	check_norm("/%00", -EINVAL, NULL);
	check_norm("/index.html%00.txt", -EINVAL, NULL);
	check_norm("/a%0a", -EINVAL, NULL);
	check_norm("/a%7f", -EINVAL, NULL);
	check_norm("/%zz", -EINVAL, NULL);
	check_norm("/%4", -EINVAL, NULL);
	check_norm("/%", -EINVAL, NULL);
	check_norm("*", -EINVAL, NULL);
	check_norm("a/b", -EINVAL, NULL);
	check_norm("ftp://x/a", -EINVAL, NULL);
	check_norm("http://x/../a", -EINVAL, NULL);
}

static void test_hidden_refused(void **state)
{
	(void)state;
	check_norm("/.hidden", -ENOENT, NULL);
	check_norm("/a/.git/config", -ENOENT, NULL);
	check_norm("/.cheetah-sums", -ENOENT, NULL);
	check_norm("/%2echeetah-sums", -ENOENT, NULL);
	check_norm("/...", -ENOENT, NULL);
	check_norm("/a/.", 0, "a");
}

static void test_too_long(void **state)
{
	size_t len = HTTP_PATH_MAX + 2;
	char *t = malloc(len + 1), out[HTTP_PATH_MAX + 1];

	(void)state;
	assert_non_null(t);
	t[0] = '/';
	memset(t + 1, 'a', len - 1);
	t[len] = '\0';
	assert_int_equal(http_path_normalize(t, len, out, sizeof(out)), -ENAMETOOLONG);
	/* Exactly HTTP_PATH_MAX decoded bytes still fit. */
	assert_int_equal(http_path_normalize(t, HTTP_PATH_MAX + 1, out, sizeof(out)),
			 HTTP_PATH_MAX);
	free(t);
}

/* ---- the file system side ---- */

struct fixture {
	char top[64]; /* holds docroot and a file outside it */
	char root[96];
	struct http_root r;
};

static void put_link(const char *dir, const char *name, const char *target)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char p[256];

	strcpy(fx->top, "/tmp/test_http_path.XXXXXX");
	assert_non_null(mkdtemp(fx->top));
	snprintf(fx->root, sizeof(fx->root), "%s/www", fx->top);
	assert_int_equal(mkdir(fx->root, 0755), 0);
	tu_put_file(fx->top, "outside.txt", "secret outside\n");
	tu_put_file(fx->root, "index.html", "<h1>root</h1>\n");
	tu_put_file(fx->root, "a.txt", "a\n");
	tu_put_file(fx->root, ".hidden", "hidden\n");
	snprintf(p, sizeof(p), "%s/dir", fx->root);
	assert_int_equal(mkdir(p, 0755), 0);
	tu_put_file(p, "index.html", "<h1>dir</h1>\n");
	tu_put_file(p, ".secret", "s\n");
	snprintf(p, sizeof(p), "%s/empty", fx->root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/.git", fx->root);
	assert_int_equal(mkdir(p, 0755), 0);
	tu_put_file(p, "config", "c\n");
	snprintf(p, sizeof(p), "%s/fifo", fx->root);
	assert_int_equal(mkfifo(p, 0644), 0);
	put_link(fx->root, "passwd", "/etc/passwd");
	put_link(fx->root, "etc", "/etc");
	put_link(fx->root, "up", "../outside.txt");
	put_link(fx->root, "updir", "..");
	put_link(fx->root, "in", "a.txt");
	put_link(fx->root, "indir", "dir");
	snprintf(p, sizeof(p), "%s/a.txt", fx->root);
	put_link(fx->root, "abs_in", p);
	put_link(fx->root, "to_hidden", ".hidden");
	put_link(fx->root, "to_git", ".git/config");
	put_link(fx->root, "loop", "loop");
	put_link(fx->root, "dangling", "nonexistent");
	assert_int_equal(http_root_open(&fx->r, fx->root), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	http_root_close(&fx->r);
	tu_rm_rf(fx->top);
	free(fx);
	return 0;
}

/* Open path under the fixture's root; on success check the canonical path and content. */
static int open_check(struct fixture *fx, const char *path, const char *want_real,
		      const char *want_text)
{
	char real[HTTP_PATH_MAX + 1], buf[64] = {0};
	struct stat st;
	int fd, err = http_path_open(&fx->r, path, &fd, &st, real, sizeof(real));

	if (err)
		return err;
	assert_true(S_ISREG(st.st_mode));
	assert_string_equal(real, want_real);
	assert_true(read(fd, buf, sizeof(buf) - 1) >= 0);
	assert_string_equal(buf, want_text);
	close(fd);
	return 0;
}

static void test_open_inside(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(open_check(fx, "a.txt", "a.txt", "a\n"), 0);
	assert_int_equal(open_check(fx, "", "index.html", "<h1>root</h1>\n"), 0);
	assert_int_equal(open_check(fx, "dir", "dir/index.html", "<h1>dir</h1>\n"), 0);
	/* Symlinks that stay inside are followed; the canonical path is the target's. */
	assert_int_equal(open_check(fx, "in", "a.txt", "a\n"), 0);
	assert_int_equal(open_check(fx, "abs_in", "a.txt", "a\n"), 0);
	assert_int_equal(open_check(fx, "indir", "dir/index.html", "<h1>dir</h1>\n"), 0);
	assert_int_equal(open_check(fx, "indir/index.html", "dir/index.html", "<h1>dir</h1>\n"), 0);
}

static void test_open_refused(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(open_check(fx, "passwd", NULL, NULL), -EXDEV);
	assert_int_equal(open_check(fx, "etc/passwd", NULL, NULL), -EXDEV);
	assert_int_equal(open_check(fx, "up", NULL, NULL), -EXDEV);
	assert_int_equal(open_check(fx, "updir/outside.txt", NULL, NULL), -EXDEV);
	assert_int_equal(open_check(fx, "to_hidden", NULL, NULL), -ENOENT);
	assert_int_equal(open_check(fx, "to_git", NULL, NULL), -ENOENT);
	assert_int_equal(open_check(fx, "loop", NULL, NULL), -ENOENT);
	assert_int_equal(open_check(fx, "dangling", NULL, NULL), -ENOENT);
	assert_int_equal(open_check(fx, "missing", NULL, NULL), -ENOENT);
	assert_int_equal(open_check(fx, "a.txt/x", NULL, NULL), -ENOENT);
	assert_int_equal(open_check(fx, "empty", NULL, NULL), -ENOENT); /* no index.html */
	assert_int_equal(open_check(fx, "fifo", NULL, NULL), -ENOENT);
	/* Hidden names reaching the file system directly are refused there too. */
	assert_int_equal(open_check(fx, ".hidden", NULL, NULL), -ENOENT);
	assert_int_equal(open_check(fx, "dir/.secret", NULL, NULL), -ENOENT);
	assert_int_equal(http_path_status(-EXDEV), 404);
}

static void test_root_errors(void **state)
{
	struct fixture *fx = *state;
	struct http_root r;
	char p[256];

	assert_int_equal(http_root_open(&r, "/nonexistent/docroot"), -ENOENT);
	snprintf(p, sizeof(p), "%s/a.txt", fx->root);
	assert_int_equal(http_root_open(&r, p), -ENOTDIR);
}

static void test_status_map(void **state)
{
	(void)state;
	assert_int_equal(http_path_status(-EINVAL), 400);
	assert_int_equal(http_path_status(-ENAMETOOLONG), 414);
	assert_int_equal(http_path_status(-ENOENT), 404);
	assert_int_equal(http_path_status(-EACCES), 404);
	assert_int_equal(http_path_status(-ENOMEM), 500);
	assert_int_equal(http_path_status(-EIO), 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalize),
	    cmocka_unit_test(test_escapes_refused),
	    cmocka_unit_test(test_hidden_refused),
	    cmocka_unit_test(test_too_long),
	    cmocka_unit_test(test_status_map),
	    cmocka_unit_test_setup_teardown(test_open_inside, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_root_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
