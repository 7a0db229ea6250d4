/* test_http_request.c - the incremental request parser: splits, pipelining, limits, statuses */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "request.h"

/* What a test compares of one parsed request. */
struct seen {
	int status;
	enum http_method method;
	int version;
	bool keep_alive;
	char target[64];
};

#define SEEN_MAX 8

/* Feed buf in pieces ending at the given split points; record each complete request. */
static size_t feed(const char *buf, size_t len, const size_t *splits, size_t nsplits,
		   struct seen *out, size_t max)
{
	struct http_req *r = malloc(sizeof(*r));
	size_t n = 0, pos = 0;

	assert_non_null(r);
	http_req_init(r);
	for (size_t i = 0; i <= nsplits; i++) {
		size_t end = i < nsplits ? splits[i] : len;

		while (pos < end) {
			pos += http_req_parse(r, buf + pos, end - pos);
			if (!http_req_done(r))
				continue;
			assert_true(n < max);
			out[n].status = r->status;
			out[n].method = r->method;
			out[n].version = r->version;
			out[n].keep_alive = r->keep_alive;
			snprintf(out[n].target, sizeof(out[n].target), "%.63s", r->target);
			n++;
			if (r->status) /* the connection would be closed here */
				goto out;
			http_req_init(r);
		}
	}
out:
	free(r);
	return n;
}

/* Parse one request given whole; return its status and the consumed count. */
static int parse_one(const char *s, struct http_req *r, size_t *used)
{
	http_req_init(r);
	*used = http_req_parse(r, s, strlen(s));
	return http_req_done(r) ? r->status : -1;
}

static int status_of(const char *s)
{
	struct http_req *r = malloc(sizeof(*r));
	size_t used;
	int st;

	assert_non_null(r);
	st = parse_one(s, r, &used);
	free(r);
	return st;
}

static void test_simple_get(void **state)
{
	static const char req[] = "GET /index.html HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n";
	struct http_req r;
	size_t used;

	(void)state;
	assert_int_equal(parse_one(req, &r, &used), 0);
	assert_int_equal(used, strlen(req));
	assert_int_equal(r.method, HTTP_METHOD_GET);
	assert_int_equal(r.version, 11);
	assert_true(r.keep_alive);
	assert_true(r.has_host);
	assert_string_equal(r.target, "/index.html");
	assert_int_equal(r.target_len, 11);
}

static void test_head_and_bare_lf(void **state)
{
	struct http_req r;
	size_t used;

	(void)state;
	assert_int_equal(parse_one("HEAD /a HTTP/1.0\n\n", &r, &used), 0);
	assert_int_equal(r.method, HTTP_METHOD_HEAD);
	assert_int_equal(r.version, 10);
	assert_false(r.keep_alive);
	/* RFC 9112 §2.2: empty lines before the request line are ignored. */
	assert_int_equal(parse_one("\r\n\r\nGET / HTTP/1.0\r\n\r\n", &r, &used), 0);
	assert_int_equal(used, 22);
}

static void test_keep_alive_defaults(void **state)
{
	static const struct {
		const char *req;
		bool keep_alive;
	} cases[] = {
	    {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true},
	    {"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false},
	    {"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, CLOSE\r\n\r\n", false},
	    {"GET / HTTP/1.0\r\n\r\n", false},
	    {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
	    {"GET / HTTP/1.0\r\nConnection:Keep-Alive \r\n\r\n", true},
	    {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
	    {"GET / HTTP/1.0\r\nX-Connection: keep-alive\r\n\r\n", false},
	    /* Higher minor versions are answered as HTTP/1.1 (RFC 9110 §2.5). */
	    {"GET / HTTP/1.2\r\nHost: x\r\n\r\n", true},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_req r;
		size_t used;

		assert_int_equal(parse_one(cases[i].req, &r, &used), 0);
		if (r.keep_alive != cases[i].keep_alive)
			fail_msg("case %zu: %s", i, cases[i].req);
	}
}

/* Three pipelined requests, one with a body to skip, the last one closing. */
static const char pipeline[] = "GET /one HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\n\r\n"
			       "HEAD /two HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
			       "GET /three HTTP/1.0\r\n\r\n";

static void check_pipeline(const struct seen *s, size_t n)
{
	assert_int_equal(n, 3);
	assert_int_equal(s[0].status, 0);
	assert_string_equal(s[0].target, "/one");
	assert_int_equal(s[0].method, HTTP_METHOD_GET);
	assert_true(s[0].keep_alive);
	assert_int_equal(s[1].status, 0);
	assert_string_equal(s[1].target, "/two");
	assert_int_equal(s[1].method, HTTP_METHOD_HEAD);
	assert_int_equal(s[2].status, 0);
	assert_string_equal(s[2].target, "/three");
	assert_int_equal(s[2].version, 10);
	assert_false(s[2].keep_alive);
}

static void test_pipeline_every_split(void **state)
{
	size_t len = strlen(pipeline);
	struct seen s[SEEN_MAX];

	(void)state;
	check_pipeline(s, feed(pipeline, len, NULL, 0, s, SEEN_MAX));
	for (size_t k = 0; k <= len; k++) {
		size_t split = k;

		check_pipeline(s, feed(pipeline, len, &split, 1, s, SEEN_MAX));
	}
	/* Two split points: every pair, so each request boundary meets every other cut. */
	for (size_t a = 0; a <= len; a += 3) {
		for (size_t b = a; b <= len; b++) {
			size_t splits[2] = {a, b};

			check_pipeline(s, feed(pipeline, len, splits, 2, s, SEEN_MAX));
		}
	}
}

static void test_pipeline_byte_by_byte(void **state)
{
	size_t len = strlen(pipeline), splits[sizeof(pipeline)];
	struct seen s[SEEN_MAX];

	(void)state;
	for (size_t i = 0; i < len; i++)
		splits[i] = i + 1;
	check_pipeline(s, feed(pipeline, len, splits, len, s, SEEN_MAX));
}

/* An error stops the pipeline: nothing after it is parsed. */
static void test_pipeline_error_stops(void **state)
{
	static const char req[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
				  "POST /b HTTP/1.1\r\nHost: h\r\n\r\n"
				  "GET /c HTTP/1.1\r\nHost: h\r\n\r\n";
	struct seen s[SEEN_MAX];

	(void)state;
	assert_int_equal(feed(req, strlen(req), NULL, 0, s, SEEN_MAX), 2);
	assert_int_equal(s[0].status, 0);
	assert_int_equal(s[1].status, 405);
	assert_false(s[1].keep_alive);
}

static char *request_line_of(size_t line_len)
{
	/* "GET /aaa...a HTTP/1.1" is exactly line_len bytes. */
	size_t path = line_len - strlen("GET / HTTP/1.1");
	char *s = malloc(line_len + 64);

	assert_non_null(s);
	strcpy(s, "GET /");
	memset(s + 5, 'a', path);
	strcpy(s + 5 + path, " HTTP/1.1\r\nHost: x\r\n\r\n");
	return s;
}

static void test_request_line_limit(void **state)
{
	char *ok = request_line_of(HTTP_REQLINE_MAX);
	char *big = request_line_of(HTTP_REQLINE_MAX + 1);
	struct http_req *r = malloc(sizeof(*r));
	size_t used;

	(void)state;
	assert_int_equal(parse_one(ok, r, &used), 0);
	assert_int_equal(r->target_len, HTTP_REQLINE_MAX - strlen("GET  HTTP/1.1"));
	assert_int_equal(parse_one(big, r, &used), 414);
	/* It answers as soon as the limit is crossed, without waiting for the rest. */
	assert_int_equal(used, HTTP_REQLINE_MAX + 1);
	free(ok);
	free(big);
	free(r);
}

static char *headers_of(size_t hdrs_len)
{
	/* Header section (lines with their CRLFs, excluding the final empty line) of exactly
	 * hdrs_len bytes: "Host: x\r\n" then one filler field. */
	size_t fill = hdrs_len - strlen("Host: x\r\n") - strlen("X-Fill: \r\n");
	char *s = malloc(hdrs_len + 64);

	assert_non_null(s);
	strcpy(s, "GET / HTTP/1.1\r\nHost: x\r\nX-Fill: ");
	memset(s + strlen(s), 'f', fill);
	strcpy(s + strlen("GET / HTTP/1.1\r\nHost: x\r\nX-Fill: ") + fill, "\r\n\r\n");
	return s;
}

static void test_header_limit(void **state)
{
	/* The limit counts the empty line that ends the section too. */
	char *ok = headers_of(HTTP_HEADERS_MAX - 2);
	char *big = headers_of(HTTP_HEADERS_MAX - 1);

	(void)state;
	assert_int_equal(status_of(ok), 0);
	assert_int_equal(status_of(big), 431);
	free(ok);
	free(big);
}

static void test_statuses(void **state)
{
	static const struct {
		const char *req;
		int status;
	} cases[] = {
	    {"POST / HTTP/1.1\r\nHost: x\r\n\r\n", 405},
	    {"PUT /x HTTP/1.1\r\nHost: x\r\n\r\n", 405},
	    {"DELETE /x HTTP/1.0\r\n\r\n", 405},
	    {"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 405},
	    {"get / HTTP/1.1\r\nHost: x\r\n\r\n", 405}, /* methods are case-sensitive */
	    {"VERYLONGMETHODNAMEXYZ / HTTP/1.1\r\nHost: x\r\n\r\n", 405},
	    {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
	    {"GET / HTTP/3.0\r\n\r\n", 505},
	    {"GET / HTTP/0.9\r\n\r\n", 505},
	    {"POST / HTTP/2.0\r\n\r\n", 505}, /* the version is judged first */
	    {"GET / HTTP/1.10\r\n\r\n", 400},
	    {"GET / HTTP/11\r\n\r\n", 400},
	    {"GET / http/1.1\r\n\r\n", 400},
	    {"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400},
	    {"GET /\r\n\r\n", 400},	      /* HTTP/0.9 simple request */
	    {"GET  / HTTP/1.1\r\n\r\n", 400}, /* empty target */
	    {"GET /a b HTTP/1.1\r\n\r\n", 400},
	    {"GET /\x01 HTTP/1.1\r\n\r\n", 400},
	    {"GET /\xc3\xa9 HTTP/1.1\r\n\r\n", 400},
	    {" GET / HTTP/1.1\r\n\r\n", 400},
	    {"G(T / HTTP/1.1\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\n\r\n", 400}, /* HTTP/1.1 without Host */
	    {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost: x\r\nX: a\x01\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", 400},
	    {"GET / HTTP/1.1\rHost: x\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost: x\r\n\rX", 400},
	    {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n", 413},
	    {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", 0},
	    {"GET http://example.com/a HTTP/1.1\r\nHost: x\r\n\r\n", 0},
	    {"GET /?q=1&r=%20 HTTP/1.1\r\nHost: x\r\nX-Odd: \x80\xff\r\n\r\n", 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = status_of(cases[i].req);

		if (st != cases[i].status)
			fail_msg("case %zu: got %d, want %d", i, st, cases[i].status);
	}
}

static void test_errors_close(void **state)
{
	struct http_req r;
	size_t used;

	(void)state;
	assert_int_equal(parse_one("POST / HTTP/1.1\r\nHost: x\r\n\r\n", &r, &used), 405);
	assert_false(r.keep_alive);
	/* 405 is decided at the end of the request line: the headers are not read. */
	assert_int_equal(used, strlen("POST / HTTP/1.1\r\n"));
	assert_int_equal(parse_one("GET / HTTP/2.0\r\n", &r, &used), 505);
	assert_false(r.keep_alive);
}

static void test_incomplete(void **state)
{
	static const char *parts[] = {"",
				      "GET",
				      "GET /",
				      "GET / HTTP/1.1",
				      "GET / HTTP/1.1\r\nHost: x\r\n",
				      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nab"};
	struct http_req r;

	(void)state;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		http_req_init(&r);
		assert_int_equal(http_req_parse(&r, parts[i], strlen(parts[i])), strlen(parts[i]));
		assert_false(http_req_done(&r));
	}
}

static void test_empty_line_flood(void **state)
{
	char *s = malloc(HTTP_REQLINE_MAX + 2);

	(void)state;
	assert_non_null(s);
	memset(s, '\n', HTTP_REQLINE_MAX + 1);
	s[HTTP_REQLINE_MAX + 1] = '\0';
	assert_int_equal(status_of(s), 400);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_simple_get),
	    cmocka_unit_test(test_head_and_bare_lf),
	    cmocka_unit_test(test_keep_alive_defaults),
	    cmocka_unit_test(test_pipeline_every_split),
	    cmocka_unit_test(test_pipeline_byte_by_byte),
	    cmocka_unit_test(test_pipeline_error_stops),
	    cmocka_unit_test(test_request_line_limit),
	    cmocka_unit_test(test_header_limit),
	    cmocka_unit_test(test_statuses),
	    cmocka_unit_test(test_errors_close),
	    cmocka_unit_test(test_incomplete),
	    cmocka_unit_test(test_empty_line_flood),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
