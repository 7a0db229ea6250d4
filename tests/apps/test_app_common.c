/* test_app_common.c - the helpers every program shares (src/apps/common/app.h) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"

/* What the helper printed on stderr while fn ran. */
static char err_text[512];

static void capture_begin(int *saved)
{
	fflush(stderr);
	*saved = dup(STDERR_FILENO);
	FILE *f = tmpfile();
	assert_non_null(f);
	dup2(fileno(f), STDERR_FILENO);
	fclose(f); /* the descriptor dup2 made keeps the file */
}

static void capture_end(int saved)
{
	fflush(stderr);
	off_t n = lseek(STDERR_FILENO, 0, SEEK_CUR);
	lseek(STDERR_FILENO, 0, SEEK_SET);
	ssize_t got = read(STDERR_FILENO, err_text, sizeof(err_text) - 1);
	err_text[got > 0 ? got : 0] = 0;
	assert_true(n >= 0);
	dup2(saved, STDERR_FILENO);
	close(saved);
}

static void test_num_accepts_the_range(void **state)
{
	long v = -7;

	(void)state;
	assert_int_equal(app_num("p", "port", "1", 1, 65535, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(app_num("p", "port", "65535", 1, 65535, &v), 0);
	assert_int_equal(v, 65535);
	assert_int_equal(app_num("p", "n", "-3", -5, 5, &v), 0);
	assert_int_equal(v, -3);
}

static void test_num_refuses_with_a_message(void **state)
{
	static const char *bad[] = {"", "0", "65536", "12x", "x", " 1", "+1", "-1", "-",
				    "99999999999999999999999"};
	long v = 42;
	int saved;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		capture_begin(&saved);
		int rc = app_num("prog", "port", bad[i], 1, 65535, &v);
		capture_end(saved);
		assert_int_equal(rc, -1);
		assert_int_equal(v, 42); /* untouched */
		char want[128];
		snprintf(want, sizeof(want), "prog: invalid port '%s' (expected 1..65535)\n", bad[i]);
		assert_string_equal(err_text, want);
	}
}

static void test_operands(void **state)
{
	char *argv[] = {"prog", "-v", "extra", NULL};
	int saved;

	(void)state;
	optind = 3;
	assert_int_equal(app_no_operands("prog", 3, argv, "Usage: prog\n"), 0);
	optind = 2;
	capture_begin(&saved);
	int rc = app_no_operands("prog", 3, argv, "Usage: prog\n");
	capture_end(saved);
	assert_int_equal(rc, -1);
	assert_string_equal(err_text, "prog: unexpected argument 'extra'\nUsage: prog\n");
	capture_begin(&saved);
	rc = app_no_operands("prog", 3, argv, NULL);
	capture_end(saved);
	assert_int_equal(rc, -1);
	assert_string_equal(err_text, "prog: unexpected argument 'extra'\n");
}

static void test_check_dir(void **state)
{
	char dir[] = "/tmp/app_common.XXXXXX", file[64];
	int saved;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/f", dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(app_check_dir("prog", "docroot", dir), 0);
	capture_begin(&saved);
	int rc = app_check_dir("prog", "docroot", file);
	capture_end(saved);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err_text, "prog: docroot '"));
	assert_non_null(strstr(err_text, "': not a directory\n"));
	unlink(file);
	capture_begin(&saved);
	rc = app_check_dir("prog", "docroot", file);
	capture_end(saved);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err_text, "': No such file or directory\n"));
	rmdir(dir);
}

static void vlog_helper(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	app_vlog("prog", fmt, ap);
	va_end(ap);
}

static void test_vlog_prefixes_each_line(void **state)
{
	int saved;

	(void)state;
	capture_begin(&saved);
	vlog_helper("ready: %d interface%s", 2, "s");
	capture_end(saved);
	assert_string_equal(err_text, "prog: ready: 2 interfaces\n");
}

/* The handler sets the flags and a signal interrupts a blocked wait (no SA_RESTART). */
static void test_signals_set_the_flags(void **state)
{
	(void)state;
	app_stop = app_dump = 0;
	app_signals(1);
	raise(SIGUSR1);
	assert_int_equal(app_dump, 1);
	assert_int_equal(app_stop, 0);
	raise(SIGTERM);
	assert_int_equal(app_stop, 1);
	struct sigaction sa;
	sigaction(SIGINT, NULL, &sa);
	assert_int_equal(sa.sa_flags & SA_RESTART, 0);
	sigaction(SIGPIPE, NULL, &sa);
	assert_ptr_equal(sa.sa_handler, SIG_IGN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_num_accepts_the_range),
		cmocka_unit_test(test_num_refuses_with_a_message),
		cmocka_unit_test(test_operands),
		cmocka_unit_test(test_check_dir),
		cmocka_unit_test(test_vlog_prefixes_each_line),
		cmocka_unit_test(test_signals_set_the_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
