/* test_dns.c - the DNS stub: numeric hosts, queries, answers, NXDOMAIN, retries */
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <exos/dns.h>

#include "harness.h"
#include "libos.h"

static int mode, queries;
enum { ANSWER = 1, NXDOMAIN, SILENT, REFUSE };

/* Plays the nameserver at PEER_IP:53 whenever the resolver waits. */
static void ns_hook(void *arg)
{
	struct parsed q;
	uint8_t frame[2048], msg[512];

	(void)arg;
	while (h_try_next(&q)) {
		if (q.proto != 17 || q.dport != 53)
			continue;
		queries++;
		if (mode == SILENT)
			continue;
		if (mode == REFUSE) {
			uint8_t ip[256];
			memcpy(ip, q.ip, q.iplen);
			h_inject(frame, forge_icmp_unreach(frame, ip4(PEER_IP), 3, ip, q.iplen));
			continue;
		}
		size_t n = q.len;
		memcpy(msg, q.payload, n);
		msg[2] |= 0x80; /* QR */
		if (mode == NXDOMAIN) {
			msg[3] = 3;
		} else {
			msg[7] = 3; /* ANCOUNT: a CNAME and two A records, names compressed */
			static const uint8_t ans[] = {
				0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'w', 'w', 'w', 0xc0, 12,
				0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 10,
				0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 11,
			};
			memcpy(msg + n, ans, sizeof(ans));
			n += sizeof(ans);
		}
		h_inject(frame, forge_udp(frame, ip4(PEER_IP), 0, 53, q.sport, msg, n));
	}
}

static int setup(void **state)
{
	h_setup(state);
	mode = ANSWER;
	queries = 0;
	fake_set_wait_hook(ns_hook, NULL);
	setenv(EXOS_NAMESERVER_ENV, PEER_IP, 1);
	return 0;
}

static int teardown(void **state)
{
	unsetenv(EXOS_NAMESERVER_ENV);
	return h_teardown(state);
}

static void test_numeric(void **state)
{
	struct addrinfo *res, hints = {.ai_socktype = SOCK_STREAM};

	(void)state;
	assert_int_equal(exos_getaddrinfo("198.18.0.2", "80", NULL, &res), 0);
	assert_non_null(res);
	assert_non_null(res->ai_next); /* stream and datagram */
	struct sockaddr_in *a = (struct sockaddr_in *)res->ai_addr;
	assert_int_equal(a->sin_addr.s_addr, ip4(PEER_IP));
	assert_int_equal(ntohs(a->sin_port), 80);
	exos_freeaddrinfo(res);
	assert_int_equal(exos_getaddrinfo("198.18.0.2", "http", &hints, &res), 0);
	assert_null(res->ai_next);
	assert_int_equal(res->ai_socktype, SOCK_STREAM);
	exos_freeaddrinfo(res);
	hints.ai_family = AF_INET6;
	assert_int_equal(exos_getaddrinfo("198.18.0.2", "80", &hints, &res), EAI_FAMILY);
	assert_int_equal(queries, 0);
	h_expect_none();
}

static void test_no_nameserver(void **state)
{
	struct addrinfo *res;

	(void)state;
	unsetenv(EXOS_NAMESERVER_ENV);
	assert_int_equal(exos_getaddrinfo("example.com", "80", NULL, &res), EAI_FAIL);
	h_expect_none();
}

static void test_answer(void **state)
{
	struct addrinfo *res, hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_CANONNAME};

	(void)state;
	assert_int_equal(exos_getaddrinfo("xok.example", "8080", &hints, &res), 0);
	assert_int_equal(queries, 1);
	struct sockaddr_in *a = (struct sockaddr_in *)res->ai_addr;
	assert_int_equal(a->sin_addr.s_addr, ip4("192.0.2.10"));
	assert_int_equal(ntohs(a->sin_port), 8080);
	assert_string_equal(res->ai_canonname, "xok.example");
	assert_non_null(res->ai_next);
	a = (struct sockaddr_in *)res->ai_next->ai_addr;
	assert_int_equal(a->sin_addr.s_addr, ip4("192.0.2.11"));
	exos_freeaddrinfo(res);
}

static void test_nxdomain(void **state)
{
	struct addrinfo *res;

	(void)state;
	mode = NXDOMAIN;
	assert_int_equal(exos_getaddrinfo("nope.example", NULL, NULL, &res), EAI_NONAME);
}

static void test_retries_then_timeout(void **state)
{
	uint32_t addrs[4];

	(void)state;
	mode = SILENT;
	uint64_t t0 = fake_time();
	assert_int_equal(exos_dns_query_a(H.s, "slow.example", 0, addrs, 4, 0), -ETIMEDOUT);
	assert_int_equal(queries, 3);
	assert_int_equal(fake_time() - t0, 7 * SEC); /* 1 + 2 + 4 */
	mode = REFUSE;
	assert_int_equal(exos_dns_query_a(H.s, "x.example", 0, addrs, 4, 0), -ECONNREFUSED);
	assert_int_equal(exos_dns_query_a(H.s, "bad..name", 0, addrs, 4, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_numeric, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_nameserver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nxdomain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retries_then_timeout, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
