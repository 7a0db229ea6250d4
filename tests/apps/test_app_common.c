/* test_app_common.c - the helpers every program shares (src/apps/common/app.h) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
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

static void test_prefix_mask(void **state)
{
	(void)state;
	assert_int_equal(app_prefix_mask(0), 0);
	assert_int_equal(app_prefix_mask(24), htonl(0xffffff00u));
	assert_int_equal(app_prefix_mask(32), 0xffffffffu);
	assert_int_equal(app_prefix_mask(1), htonl(0x80000000u));
}

static void test_service_opts(void **state)
{
	struct app_service_opts o = {0};
	int saved;

	(void)state;
	assert_int_equal(app_service_opt('s', "/run/x.sock", "Usage\n", &o), 0);
	assert_string_equal(o.socket, "/run/x.sock");
	assert_int_equal(app_service_opt('S', NULL, "Usage\n", &o), 0);
	assert_true(o.stats);
	assert_int_equal(app_service_opt('v', NULL, "Usage\n", &o), 0);
	assert_int_equal(app_service_opt('v', NULL, "Usage\n", &o), 0);
	assert_int_equal(o.verbose, 2);
	capture_begin(&saved);
	int rc = app_service_opt('?', NULL, "Usage\n", &o);
	capture_end(saved);
	assert_int_equal(rc, -1);
	assert_string_equal(err_text, "Usage\n");
}

static void test_server_opts_take_theirs(void **state)
{
	struct app_server_opts o = {.port = 80, .timeout_ms = 1};

	(void)state;
	assert_int_equal(app_server_opt("p", 'r', "/srv", &o), 1);
	assert_string_equal(o.docroot, "/srv");
	assert_int_equal(app_server_opt("p", 'a', "::1", &o), 1);
	assert_string_equal(o.addr, "::1");
	assert_int_equal(app_server_opt("p", 'p', "8080", &o), 1);
	assert_int_equal(o.port, 8080);
	assert_int_equal(app_server_opt("p", 't', "3", &o), 1);
	assert_int_equal(o.timeout_ms, 3000);
	assert_int_equal(app_server_opt("p", 'm', "2", &o), 1);
	assert_int_equal(o.cache_bytes, 2u << 20);
	assert_int_equal(app_server_opt("p", 'q', NULL, &o), 0);
	assert_int_equal(app_server_opt("p", '?', NULL, &o), 0);
}

static void test_server_opts_refuse_bad_values(void **state)
{
	static const struct {
		int c;
		const char *arg, *msg;
	} bad[] = {
	    {'p', "0", "p: invalid port '0' (expected 1..65535)\n"},
	    {'t', "86401", "p: invalid timeout '86401' (expected 1..86400)\n"},
	    {'m', "-1", "p: invalid cache size '-1' (expected 1..1048576)\n"},
	};
	struct app_server_opts o = {.port = 80};
	int saved;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		capture_begin(&saved);
		int rc = app_server_opt("p", bad[i].c, bad[i].arg, &o);
		capture_end(saved);
		assert_int_equal(rc, -1);
		assert_string_equal(err_text, bad[i].msg);
	}
	assert_int_equal(o.port, 80);
}

static void test_server_check(void **state)
{
	char *argv[] = {"p", "extra", NULL};
	struct app_server_opts o = {0};
	int saved;

	(void)state;
	optind = 2;
	capture_begin(&saved);
	int rc = app_server_check("p", 2, argv, &o);
	capture_end(saved);
	assert_int_equal(rc, -1);
	assert_string_equal(err_text, "p: missing -r DOCROOT (see --help)\n");
	o.docroot = "/nonexistent";
	capture_begin(&saved);
	rc = app_server_check("p", 2, argv, &o);
	capture_end(saved);
	assert_int_equal(rc, -1);
	assert_string_equal(err_text, "p: docroot '/nonexistent': No such file or directory\n");
	optind = 1;
	capture_begin(&saved);
	rc = app_server_check("p", 2, argv, &o);
	capture_end(saved);
	assert_int_equal(rc, -1);
	assert_string_equal(err_text, "p: unexpected argument 'extra'\n");
	o.docroot = "/";
	optind = 2;
	assert_int_equal(app_server_check("p", 2, argv, &o), 0);
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
		cmocka_unit_test(test_prefix_mask),
		cmocka_unit_test(test_service_opts),
		cmocka_unit_test(test_server_opts_take_theirs),
		cmocka_unit_test(test_server_opts_refuse_bad_values),
		cmocka_unit_test(test_server_check),
		cmocka_unit_test(test_vlog_prefixes_each_line),
		cmocka_unit_test(test_signals_set_the_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
