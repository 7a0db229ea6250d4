/* test_http_response.c - IMF-fixdate, header blocks and error responses */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "response.h"

static void check_date(int64_t t, const char *want)
{
	char out[HTTP_DATE_LEN + 1];

	assert_int_equal(http_imf_date(t, out), 0);
	assert_string_equal(out, want);
	assert_int_equal(strlen(out), HTTP_DATE_LEN);
}

static void test_imf_date(void **state)
{
	char out[HTTP_DATE_LEN + 1];

	(void)state;
	check_date(784111777, "Sun, 06 Nov 1994 08:49:37 GMT"); /* RFC 9110's example */
	check_date(0, "Thu, 01 Jan 1970 00:00:00 GMT");
	check_date(-1, "Wed, 31 Dec 1969 23:59:59 GMT");
	check_date(951782400, "Tue, 29 Feb 2000 00:00:00 GMT");
	check_date(4107542400LL, "Mon, 01 Mar 2100 00:00:00 GMT"); /* 2100 is no leap year */
	check_date(1700000000, "Tue, 14 Nov 2023 22:13:20 GMT");
	check_date(253402300799LL, "Fri, 31 Dec 9999 23:59:59 GMT");
	check_date(-62167219200LL, "Sat, 01 Jan 0000 00:00:00 GMT");
	assert_int_equal(http_imf_date(253402300800LL, out), -EOVERFLOW);
	assert_int_equal(http_imf_date(-62167219201LL, out), -EOVERFLOW);
}

static void test_header_block(void **state)
{
	struct http_resp_fields f = {
	    .status = 200,
	    .content_type = "text/html; charset=utf-8",
	    .content_length = 1461,
	    .last_modified = 784111777,
	    .date = HTTP_NO_TIME,
	    .keep_alive = true,
	};
	char buf[HTTP_HDRBLOCK_MAX];
	int n;

	(void)state;
	n = http_resp_header(buf, sizeof(buf), &f);
	assert_string_equal(buf, "HTTP/1.1 200 OK\r\n"
				 "Server: cheetah\r\n"
				 "Content-Type: text/html; charset=utf-8\r\n"
				 "Content-Length: 1461\r\n"
				 "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
				 "Connection: keep-alive\r\n"
				 "\r\n");
	assert_int_equal(n, strlen(buf));

	f.keep_alive = false;
	f.content_type = NULL;
	f.last_modified = HTTP_NO_TIME;
	f.date = 0;
	f.content_length = 0;
	f.extra = "X-A: b\r\n";
	n = http_resp_header(buf, sizeof(buf), &f);
	assert_string_equal(buf, "HTTP/1.1 200 OK\r\n"
				 "Server: cheetah\r\n"
				 "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
				 "Content-Length: 0\r\n"
				 "Connection: close\r\n"
				 "X-A: b\r\n"
				 "\r\n");
	assert_int_equal(n, strlen(buf));
}

static void test_header_nospace(void **state)
{
	struct http_resp_fields f = {
	    .status = 404, .last_modified = HTTP_NO_TIME, .date = HTTP_NO_TIME};
	char buf[HTTP_HDRBLOCK_MAX];
	int n;

	(void)state;
	n = http_resp_header(buf, sizeof(buf), &f);
	assert_true(n > 0);
	/* It needs n + 1 bytes (the NUL); one less is refused, never truncated. */
	assert_int_equal(http_resp_header(buf, (size_t)n + 1, &f), n);
	assert_int_equal(http_resp_header(buf, (size_t)n, &f), -ENOSPC);
	assert_int_equal(http_resp_header(buf, 10, &f), -ENOSPC);
	assert_int_equal(http_resp_header(NULL, 0, &f), -ENOSPC);
}

static void test_errors(void **state)
{
	static const int codes[] = {400, 404, 405, 413, 414, 431, 500, 505};
	char buf[HTTP_ERRRESP_MAX], head[HTTP_ERRRESP_MAX], want[64];
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		n = http_resp_error(buf, sizeof(buf), codes[i], false, false, 784111777);
		int h = http_resp_error(head, sizeof(head), codes[i], false, true, 784111777);
		const char *body;
		char cl[64];

		assert_true(n > 0 && h > 0 && h < n);
		snprintf(want, sizeof(want), "HTTP/1.1 %d %s\r\n", codes[i], http_reason(codes[i]));
		assert_memory_equal(buf, want, strlen(want));
		assert_string_not_equal(http_reason(codes[i]), "Unknown");
		/* HEAD gets the same header block, Content-Length included, and no body. */
		assert_memory_equal(buf, head, (size_t)h);
		body = buf + h;
		snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", strlen(body));
		assert_non_null(strstr(head, cl));
		assert_non_null(strstr(head, "Connection: close\r\n"));
		assert_true((strstr(head, "Allow: GET, HEAD\r\n") != NULL) == (codes[i] == 405));
		assert_non_null(strstr(head, "\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
	}
	n = http_resp_error(buf, sizeof(buf), 404, true, true, HTTP_NO_TIME);
	assert_int_equal(n, strlen(buf));
	assert_non_null(strstr(buf, "Connection: keep-alive\r\n"));
	assert_null(strstr(buf, "Date:"));
	assert_int_equal(http_resp_error(buf, 100, 404, true, false, HTTP_NO_TIME), -ENOSPC);
	assert_string_equal(http_reason(299), "Unknown");
}

/* A precomputed block (no Date) and where the Date line goes: after status and Server; the
 * block with the line spliced in there is the block formatted with that date. */
static void test_date_splice(void **state)
{
	struct http_resp_fields f = {.status = 200, .content_type = "text/plain",
				     .content_length = 5, .last_modified = 0,
				     .date = HTTP_NO_TIME, .keep_alive = true};
	char block[512], dated[512], spliced[600];
	const char *line = http_date_line();
	int n, m;
	size_t at;

	(void)state;
	n = http_resp_header(block, sizeof(block), &f);
	assert_true(n > 0);
	at = http_resp_date_at(block, (size_t)n);
	assert_memory_equal(block + at - 2, "\r\n", 2);
	assert_int_equal(strncmp(block + at, "Content-Type", 12), 0);
	/* the line: "Date: " + an IMF-fixdate + CRLF */
	assert_memory_equal(line, "Date: ", 6);
	assert_memory_equal(line + 6 + HTTP_DATE_LEN, "\r\n", 2);
	assert_memory_equal(line + 6 + 25, " GMT", 4);
	/* splicing it in gives what formatting with a Date gives */
	f.date = (int64_t)time(NULL);
	m = http_resp_header(dated, sizeof(dated), &f);
	assert_int_equal(m, n + HTTP_DATE_LINE_LEN);
	memcpy(spliced, block, at);
	memcpy(spliced + at, http_date_line(), HTTP_DATE_LINE_LEN);
	memcpy(spliced + at + HTTP_DATE_LINE_LEN, block + at, (size_t)n - at);
	if (memcmp(spliced, dated, (size_t)m)) { /* a second passed in between: once more */
		f.date = (int64_t)time(NULL);
		m = http_resp_header(dated, sizeof(dated), &f);
		memcpy(spliced + at, http_date_line(), HTTP_DATE_LINE_LEN);
	}
	assert_memory_equal(spliced, dated, (size_t)m);
	assert_int_equal(http_resp_date_at("no lines", 8), 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_imf_date),
	    cmocka_unit_test(test_header_block),
	    cmocka_unit_test(test_header_nospace),
	    cmocka_unit_test(test_date_splice),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
