/* test_http_serve.c - from parsed requests to replies: pieces, keep-alive, error statuses */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "http_testutil.h"

#include "serve.h"

struct fixture {
	char dir[64];
	struct http_cache *cache;
	struct http_req req;
	struct http_reply rep;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct http_cache_conf conf = {0};

	strcpy(fx->dir, "/tmp/test_http_serve.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	tu_put_file(fx->dir, "a.txt", "0123456789");
	tu_put_file(fx->dir, "empty", "");
	assert_int_equal(http_cache_create(fx->dir, &conf, &fx->cache), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	http_cache_destroy(fx->cache);
	tu_rm_rf(fx->dir);
	free(fx);
	return 0;
}

static size_t hdr_len; /* of the last reply_to's header block */

/* Parse req and build its reply into fx->rep; the header block (every piece before the
 * data) is returned NUL-terminated. */
static const char *reply_to(struct fixture *fx, const char *req)
{
	static char hdr[HTTP_ERRRESP_MAX + 1];

	http_req_init(&fx->req);
	assert_int_equal(http_req_parse(&fx->req, req, strlen(req)), strlen(req));
	assert_true(http_req_done(&fx->req));
	http_reply_build(fx->cache, &fx->req, 0, &fx->rep);
	hdr_len = 0;
	for (int i = 0; i < fx->rep.iovcnt && i < HTTP_REPLY_DATA; i++) {
		assert_true(hdr_len + fx->rep.iov[i].iov_len < sizeof(hdr));
		memcpy(hdr + hdr_len, fx->rep.iov[i].iov_base, fx->rep.iov[i].iov_len);
		hdr_len += fx->rep.iov[i].iov_len;
	}
	hdr[hdr_len] = '\0';
	return hdr;
}

static void test_get_and_head(void **state)
{
	struct fixture *fx = *state;
	const char *h;

	h = reply_to(fx, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(fx->rep.status, 200);
	assert_true(fx->rep.keep_alive);
	assert_int_equal(fx->rep.iovcnt, HTTP_REPLY_DATA + 1);
	assert_non_null(strstr(h, "Connection: keep-alive\r\n"));
	/* the Date of now, after the status line and Server */
	assert_non_null(strstr(h, "HTTP/1.1 200 OK\r\nServer: "));
	assert_int_equal(fx->rep.iov[HTTP_REPLY_HDR_DATE].iov_len, HTTP_DATE_LINE_LEN);
	assert_memory_equal(fx->rep.iov[HTTP_REPLY_HDR_DATE].iov_base, "Date: ", 6);
	assert_int_equal(strncmp(fx->rep.iov[HTTP_REPLY_HDR_REST].iov_base, "Content-Type", 12),
			 0);
	assert_int_equal(fx->rep.iov[HTTP_REPLY_DATA].iov_len, 10);
	assert_memory_equal(fx->rep.iov[HTTP_REPLY_DATA].iov_base, "0123456789", 10);
	assert_int_equal(fx->rep.len, hdr_len + 10);
	http_reply_release(fx->cache, &fx->rep);

	h = reply_to(fx, "HEAD /a.txt HTTP/1.0\r\n\r\n");
	assert_int_equal(fx->rep.status, 200);
	assert_false(fx->rep.keep_alive);
	assert_int_equal(fx->rep.iovcnt, HTTP_REPLY_DATA);
	assert_non_null(strstr(h, "Content-Length: 10\r\nLast-Modified"));
	assert_non_null(strstr(h, "Connection: close\r\n"));
	assert_non_null(strstr(h, "\r\nDate: "));
	assert_int_equal(fx->rep.len, hdr_len);
	http_reply_release(fx->cache, &fx->rep);

	/* A Range header changes nothing: the whole file, 200. */
	reply_to(fx, "GET /a.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=2-3\r\n\r\n");
	assert_int_equal(fx->rep.status, 200);
	assert_int_equal(fx->rep.iov[HTTP_REPLY_DATA].iov_len, 10);
	http_reply_release(fx->cache, &fx->rep);

	reply_to(fx, "GET /empty HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(fx->rep.iovcnt, HTTP_REPLY_DATA);
	http_reply_release(fx->cache, &fx->rep);
}

static void check_error(struct fixture *fx, const char *req, int status, bool keep_alive)
{
	const char *h = reply_to(fx, req);
	char line[64];

	snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
	if (fx->rep.status != status || strncmp(h, line, strlen(line)) != 0)
		fail_msg("%s: got %d", req, fx->rep.status);
	assert_int_equal(fx->rep.keep_alive, keep_alive);
	assert_null(fx->rep.file);
	assert_int_equal(fx->rep.iovcnt, 1);
	assert_non_null(strstr(h, "\r\nDate: "));
	assert_non_null(strstr(h, keep_alive ? "Connection: keep-alive" : "Connection: close"));
	http_reply_release(fx->cache, &fx->rep);
}

static void test_errors(void **state)
{
	struct fixture *fx = *state;

	/* A missing file keeps the connection; anything malformed closes it. */
	check_error(fx, "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n", 404, true);
	check_error(fx, "GET /missing HTTP/1.0\r\n\r\n", 404, false);
	check_error(fx, "GET /.cheetah-sums HTTP/1.1\r\nHost: x\r\n\r\n", 404, true);
	check_error(fx, "GET /../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400, false);
	check_error(fx, "GET /a%2fb HTTP/1.1\r\nHost: x\r\n\r\n", 400, false);
	check_error(fx, "POST /a.txt HTTP/1.1\r\n", 405, false);
	check_error(fx, "GET / HTTP/2.0\r\n", 505, false);
	check_error(fx, "GET / HTTP/1.1\r\n\r\n", 400, false);
	reply_to(fx, "PUT / HTTP/1.1\r\n");
	assert_non_null(strstr(fx->rep.err, "Allow: GET, HEAD\r\n"));
	assert_non_null(strstr(fx->rep.err, "<h1>405 Method Not Allowed</h1>"));
	http_reply_release(fx->cache, &fx->rep);
	/* HEAD errors have no body. */
	reply_to(fx, "HEAD /missing HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_null(strstr(fx->rep.err, "<html>"));
	http_reply_release(fx->cache, &fx->rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_get_and_head, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
