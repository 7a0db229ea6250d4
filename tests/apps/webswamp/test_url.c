/* test_url.c - URL parsing: what is accepted, and every error case */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "url.h"

static void test_valid(void **state)
{
	struct swamp_url u;
	char ip[INET_ADDRSTRLEN];

	(void)state;
	assert_int_equal(swamp_url_parse("http://198.18.0.1/", false, &u, NULL), 0);
	assert_string_equal(u.path, "/");
	assert_string_equal(u.hostport, "198.18.0.1");
	assert_int_equal(ntohs(u.addr.sin_port), 80);
	inet_ntop(AF_INET, &u.addr.sin_addr, ip, sizeof(ip));
	assert_string_equal(ip, "198.18.0.1");

	assert_int_equal(swamp_url_parse("HTTP://198.18.0.1:8080", false, &u, NULL), 0);
	assert_string_equal(u.path, "/");
	assert_string_equal(u.hostport, "198.18.0.1:8080");
	assert_int_equal(ntohs(u.addr.sin_port), 8080);

	assert_int_equal(swamp_url_parse("http://10.0.0.1/a/b.html?x=1&y=%20", false, &u, NULL), 0);
	assert_string_equal(u.path, "/a/b.html?x=1&y=%20");
	assert_int_equal(swamp_url_parse("http://10.0.0.1?q", false, &u, NULL), 0);
	assert_string_equal(u.path, "/?q");
	assert_int_equal(swamp_url_parse("http://1.2.3.4:65535/", false, &u, NULL), 0);
}

static void test_resolve(void **state)
{
	struct swamp_url u;
	const char *why = NULL;

	(void)state;
	/* Names need resolving; the libOS transports only take addresses. */
	assert_int_equal(swamp_url_parse("http://localhost/", false, &u, &why), -EINVAL);
	assert_non_null(strstr(why, "dotted IPv4"));
	assert_int_equal(swamp_url_parse("http://localhost:81/x", true, &u, NULL), 0);
	assert_string_equal(u.host, "localhost");
	assert_string_equal(u.hostport, "localhost:81");
}

static void test_errors(void **state)
{
	static const struct {
		const char *url, *why;
	} bad[] = {
	    {"", "http://"},
	    {"ftp://1.2.3.4/", "http://"},
	    {"https://1.2.3.4/", "https"},
	    {"http://", "no host"},
	    {"http:///path", "no host"},
	    {"http://:80/", "no host"},
	    {"http://1.2.3.4:/", "port"},
	    {"http://1.2.3.4:0/", "port"},
	    {"http://1.2.3.4:65536/", "port"},
	    {"http://1.2.3.4:123456/", "port"},
	    {"http://1.2.3.4:8x/", "port"},
	    {"http://user@1.2.3.4/", "user"},
	    {"http://[::1]/", "IPv6"},
	    {"http://1.2.3.4/#frag", "fragment"},
	    {"http://1.2.3.4/a b", "space"},
	    {"http://1.2.3.4/a\x01", "control"},
	    {"http://1.2.3/", "dotted IPv4"},
	    {"http://1.2.3.256/", "dotted IPv4"},
	    {"http://ho_st/", "invalid character"},
	};
	struct swamp_url u;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;

		if (swamp_url_parse(bad[i].url, false, &u, &why) != -EINVAL)
			fail_msg("accepted '%s'", bad[i].url);
		if (!why || !strstr(why, bad[i].why))
			fail_msg("'%s': reason '%s' lacks '%s'", bad[i].url, why, bad[i].why);
	}
}

static void test_too_long(void **state)
{
	char url[4096];
	struct swamp_url u;
	const char *why = NULL;

	(void)state;
	memset(url, 'a', sizeof(url) - 1);
	url[sizeof(url) - 1] = '\0';
	memcpy(url, "http://1.2.3.4/", 15);
	assert_int_equal(swamp_url_parse(url, false, &u, &why), -EINVAL);
	assert_non_null(strstr(why, "too long"));
	memcpy(url, "http://", 7);
	assert_int_equal(swamp_url_parse(url, false, &u, &why), -EINVAL);
	assert_non_null(strstr(why, "too long"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_resolve),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
