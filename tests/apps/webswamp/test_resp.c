/* test_resp.c - the count-only HTTP response parser, fed in every possible split */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "resp.h"

struct outcome {
	long rc; /* -errno, or bytes consumed in total */
	int done;
	int eof_rc; /* swamp_resp_eof() after the bytes, when not done */
	uint16_t status;
	uint64_t body;
	int reusable;
};

/* Feeds `msg` in pieces of `step` bytes (0: one piece), stopping at an error or completion. */
static struct outcome feed(const char *msg, size_t len, size_t step)
{
	struct swamp_resp r;
	struct outcome o = {0};
	size_t off = 0;

	swamp_resp_init(&r);
	while (off < len && !swamp_resp_done(&r)) {
		size_t n = step && len - off > step ? step : len - off;
		long used = swamp_resp_feed(&r, msg + off, n);

		if (used < 0) {
			o.rc = used;
			o.body = r.body_bytes;
			o.status = r.status;
			return o;
		}
		off += (size_t)used;
		if ((size_t)used < n)
			break;
	}
	o.rc = (long)off;
	o.done = swamp_resp_done(&r);
	o.eof_rc = o.done ? 0 : swamp_resp_eof(&r);
	o.status = r.status;
	o.body = r.body_bytes;
	o.reusable = swamp_resp_reusable(&r);
	return o;
}

/* Feeds it split at one point: [0, cut) then [cut, len). */
static struct outcome feed_cut(const char *msg, size_t len, size_t cut)
{
	struct swamp_resp r;
	struct outcome o = {0};
	long a, b = 0;

	swamp_resp_init(&r);
	a = swamp_resp_feed(&r, msg, cut);
	if (a >= 0 && !swamp_resp_done(&r) && cut < len)
		b = swamp_resp_feed(&r, msg + cut, len - cut);
	o.rc = a < 0 ? a : b < 0 ? b : a + b;
	o.done = swamp_resp_done(&r);
	o.status = r.status;
	o.body = r.body_bytes;
	return o;
}

/* Every split (byte by byte, every step size, every single cut) gives the same outcome. */
static struct outcome feed_all(const char *msg)
{
	size_t len = strlen(msg);
	struct outcome whole = feed(msg, len, 0);

	for (size_t step = 1; step < len; step++) {
		struct outcome o = feed(msg, len, step);

		assert_int_equal(o.rc, whole.rc);
		assert_int_equal(o.done, whole.done);
		assert_int_equal(o.eof_rc, whole.eof_rc);
		assert_int_equal(o.body, whole.body);
		assert_int_equal(o.status, whole.status);
	}
	for (size_t cut = 0; cut <= len; cut++) {
		struct outcome o = feed_cut(msg, len, cut);

		assert_int_equal(o.done, whole.done);
		assert_int_equal(o.body, whole.body);
		if (whole.rc < 0)
			assert_int_equal(o.rc, whole.rc);
	}
	return whole;
}

static void test_content_length(void **state)
{
	const char *m = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 10\r\n"
			"Connection: close\r\n\r\n0123456789";
	struct outcome o = feed_all(m);

	(void)state;
	assert_true(o.done);
	assert_int_equal(o.rc, strlen(m));
	assert_int_equal(o.status, 200);
	assert_int_equal(o.body, 10);
	assert_false(o.reusable);
}

static void test_keepalive_reusable(void **state)
{
	struct outcome o = feed_all("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");

	(void)state;
	assert_true(o.done);
	assert_true(o.reusable);
	/* HTTP/1.0 closes unless it says keep-alive. */
	o = feed_all("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc");
	assert_false(o.reusable);
	o = feed_all("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 3\r\n\r\nabc");
	assert_true(o.reusable);
	o = feed_all("HTTP/1.1 200 OK\r\nConnection: foo, close\r\nContent-Length: 3\r\n\r\nabc");
	assert_false(o.reusable);
}

static void test_zero_length_and_bare_lf(void **state)
{
	struct outcome o = feed_all("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");

	(void)state;
	assert_true(o.done);
	assert_int_equal(o.body, 0);
	o = feed_all("HTTP/1.1 404 Not Found\nContent-Length: 2\n\nno");
	assert_true(o.done);
	assert_int_equal(o.status, 404);
	assert_int_equal(o.body, 2);
}

static void test_short_body(void **state)
{
	/* Fewer bytes than Content-Length, then EOF: a short response. */
	struct outcome o = feed_all("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234");

	(void)state;
	assert_false(o.done);
	assert_int_equal(o.eof_rc, -EPROTO);
	assert_int_equal(o.body, 5);
	/* Cut inside the headers. */
	o = feed_all("HTTP/1.1 200 OK\r\nContent-Len");
	assert_int_equal(o.eof_rc, -EPROTO);
	/* Nothing at all: not short, but no response. */
	o = feed("", 0, 0);
	assert_int_equal(o.eof_rc, -ENODATA);
}

static void test_long_body(void **state)
{
	/* More bytes than Content-Length: complete, with bytes left over (the core's error). */
	const char *m = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef";
	struct swamp_resp r;
	long used;

	(void)state;
	swamp_resp_init(&r);
	used = swamp_resp_feed(&r, m, strlen(m));
	assert_true(swamp_resp_done(&r));
	assert_int_equal(used, strlen(m) - 3);
}

static void test_eof_delimited(void **state)
{
	/* HTTP/1.0 without Content-Length: the body runs to EOF. */
	struct outcome o = feed_all("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nhello world");

	(void)state;
	assert_false(o.done);
	assert_int_equal(o.eof_rc, 0);
	assert_int_equal(o.body, 11);
	/* A persistent response must be framed. */
	o = feed_all("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nhello");
	assert_int_equal(o.rc, -EBADMSG);
}

static void test_chunked(void **state)
{
	const char *m = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			"5\r\nhello\r\n1A;name=value\r\nabcdefghijklmnopqrstuvwxyz\r\n"
			"0\r\nX-Trailer: yes\r\n\r\n";
	struct outcome o = feed_all(m);

	(void)state;
	assert_true(o.done);
	assert_int_equal(o.rc, strlen(m));
	assert_int_equal(o.body, 5 + 26);
	assert_true(o.reusable);
	o = feed_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n");
	assert_true(o.done);
	assert_int_equal(o.body, 0);
}

static void test_chunked_errors(void **state)
{
	struct outcome o;

	(void)state;
	/* Missing CRLF after chunk data. */
	o = feed_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n0\r\n\r\n");
	assert_int_equal(o.rc, -EBADMSG);
	/* Not a hex size. */
	o = feed_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
	assert_int_equal(o.rc, -EBADMSG);
	/* Empty size line. */
	o = feed_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n");
	assert_int_equal(o.rc, -EBADMSG);
	/* Overflowing size. */
	o = feed_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "11111111111111111\r\n");
	assert_int_equal(o.rc, -EBADMSG);
	/* Cut in the middle of the chunks: short. */
	o = feed_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
	assert_int_equal(o.eof_rc, -EPROTO);
	/* Both framings, and a coding we never asked for. */
	o = feed_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n");
	assert_int_equal(o.rc, -EBADMSG);
	o = feed_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
	assert_int_equal(o.rc, -EBADMSG);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
	    "HTTP/2 200 OK\r\n\r\n",
	    "HTTP/1.1 20 OK\r\n\r\n",
	    "HTTP/1.1 2000 OK\r\n\r\n",
	    "HTTP/1.1 099 OK\r\n\r\n",
	    "ICY 200 OK\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length : 3\r\n\r\nabc",
	    "HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
	    "HTTP/1.1 200 OK\r\nX: a\r\n  folded\r\nContent-Length: 0\r\n\r\n",
	    "HTTP/1.1 101 Switching Protocols\r\n\r\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct outcome o = feed_all(bad[i]);

		if (o.rc != -EBADMSG)
			fail_msg("accepted: %s", bad[i]);
	}
}

static void test_equal_duplicate_length(void **state)
{
	struct outcome o =
	    feed_all("HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok");

	(void)state;
	assert_true(o.done);
	assert_int_equal(o.body, 2);
}

static void test_interim_and_no_body(void **state)
{
	struct outcome o = feed_all("HTTP/1.1 100 Continue\r\n\r\n"
				    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

	(void)state;
	assert_true(o.done);
	assert_int_equal(o.status, 200);
	assert_int_equal(o.body, 2);
	/* 204 and 304 have no body whatever they say. */
	o = feed_all("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n");
	assert_true(o.done);
	assert_int_equal(o.body, 0);
	o = feed_all("HTTP/1.1 204 No Content\r\n\r\n");
	assert_true(o.done);
}

/* A long uninteresting header split anywhere is skipped; a long one we need is an error. */
static void test_long_lines(void **state)
{
	char m[8192];
	char pad[3000];
	struct outcome o;

	(void)state;
	memset(pad, 'v', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	snprintf(m, sizeof(m), "HTTP/1.1 200 %s\r\nX-Long: %s\r\nContent-Length: 4\r\n\r\nbody",
		 pad, pad);
	o = feed(m, strlen(m), 7);
	assert_true(o.done);
	assert_int_equal(o.body, 4);
	o = feed(m, strlen(m), 1);
	assert_true(o.done);
	o = feed(m, strlen(m), 0);
	assert_true(o.done);
	snprintf(m, sizeof(m), "HTTP/1.1 200 OK\r\nContent-Length: 4%.*s\r\n\r\nbody", 200,
		 "                                                                              "
		 "                                                                              "
		 "                                                                              ");
	o = feed_all(m);
	assert_int_equal(o.rc, -EBADMSG);
}

static void test_header_limit(void **state)
{
	size_t cap = SWAMP_HEADERS_MAX + 4096, len = 0;
	char *m = malloc(cap);
	struct outcome o;

	(void)state;
	assert_non_null(m);
	len += (size_t)sprintf(m, "HTTP/1.1 200 OK\r\n");
	while (len < SWAMP_HEADERS_MAX + 100)
		len += (size_t)sprintf(m + len, "X-Filler: 0123456789012345678901234567890\r\n");
	len += (size_t)sprintf(m + len, "Content-Length: 0\r\n\r\n");
	o = feed(m, len, 0);
	assert_int_equal(o.rc, -EBADMSG);
	o = feed(m, len, 13);
	assert_int_equal(o.rc, -EBADMSG);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_content_length),
	    cmocka_unit_test(test_keepalive_reusable),
	    cmocka_unit_test(test_zero_length_and_bare_lf),
	    cmocka_unit_test(test_short_body),
	    cmocka_unit_test(test_long_body),
	    cmocka_unit_test(test_eof_delimited),
	    cmocka_unit_test(test_chunked),
	    cmocka_unit_test(test_chunked_errors),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_equal_duplicate_length),
	    cmocka_unit_test(test_interim_and_no_body),
	    cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_header_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
