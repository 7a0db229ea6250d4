/* test_http_mime.c - Content-Type by extension */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mime.h"

static void test_known(void **state)
{
	(void)state;
	assert_string_equal(http_mime_type("index.html"), "text/html; charset=utf-8");
	assert_string_equal(http_mime_type("dir/page.HTM"), "text/html; charset=utf-8");
	assert_string_equal(http_mime_type("a.txt"), "text/plain; charset=utf-8");
	assert_string_equal(http_mime_type("style.css"), "text/css");
	assert_string_equal(http_mime_type("app.js"), "text/javascript");
	assert_string_equal(http_mime_type("x.JSON"), "application/json");
	assert_string_equal(http_mime_type("logo.png"), "image/png");
	assert_string_equal(http_mime_type("photo.jpeg"), "image/jpeg");
	assert_string_equal(http_mime_type("photo.JPG"), "image/jpeg");
	assert_string_equal(http_mime_type("a.tar.gz"), "application/gzip");
	assert_string_equal(http_mime_type("doc.pdf"), "application/pdf");
	assert_string_equal(http_mime_type("f.woff2"), "font/woff2");
}

static void test_default(void **state)
{
	(void)state;
	assert_string_equal(http_mime_type("Makefile"), "application/octet-stream");
	assert_string_equal(http_mime_type("file."), "application/octet-stream");
	assert_string_equal(http_mime_type(".profile"), "application/octet-stream");
	assert_string_equal(http_mime_type("a.html.bak"), "application/octet-stream");
	assert_string_equal(http_mime_type("dir.html/file"), "application/octet-stream");
	assert_string_equal(http_mime_type("x.htmlx"), "application/octet-stream");
	assert_string_equal(http_mime_type(""), "application/octet-stream");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known),
	    cmocka_unit_test(test_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
