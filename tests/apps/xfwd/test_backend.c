/* test_backend.c - xfwd's backends: parsing, round robin, 4-tuple hash, port blocks */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backend.h"

static void test_parse_addr(void **state)
{
	uint32_t a;
	uint16_t p;

	(void)state;
	assert_int_equal(backend_parse_addr("198.18.1.2:8080", &a, &p), 0);
	assert_int_equal(a, inet_addr("198.18.1.2"));
	assert_int_equal(p, htons(8080));
	assert_int_equal(backend_parse_addr("198.18.1.2:65535", &a, &p), 0);
	const char *bad[] = {"198.18.1.2",
			     "198.18.1.2:",
			     "198.18.1.2:0",
			     "198.18.1.2:65536",
			     "198.18.1:80",
			     "x:80",
			     "198.18.1.2:80x",
			     "198.18.1.2:-1",
			     ":80",
			     "198.18.1.2:+80",
			     "198.18.1.2:8080000000000000000000000000000000000"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (backend_parse_addr(bad[i], &a, &p) != -EINVAL)
			fail_msg("accepted %s", bad[i]);
}

static void test_parse_list(void **state)
{
	struct xfwd_backends set;

	(void)state;
	assert_int_equal(backend_parse_list("198.18.1.2:80,198.18.1.3:80,198.18.1.2:81", &set), 0);
	assert_int_equal(set.n, 3);
	assert_int_equal(set.b[2].addr, inet_addr("198.18.1.2"));
	assert_int_equal(set.b[2].port, htons(81));
	assert_int_equal(set.b[2].idx, 2);
	backends_free(&set);
	assert_int_equal(backend_parse_list("198.18.1.2:80,198.18.1.2:80", &set), -EINVAL);
	assert_int_equal(backend_parse_list("", &set), -EINVAL);
	assert_int_equal(backend_parse_list(",", &set), -EINVAL);
	assert_int_equal(backend_parse_list("198.18.1.2:80,junk", &set), -EINVAL);
	assert_null(set.b);
}

/* Repeated --backend options join into one list, in their order. */
static void test_list_append(void **state)
{
	char *list = NULL;

	(void)state;
	assert_int_equal(backend_list_append(&list, "198.18.1.2:80"), 0);
	assert_string_equal(list, "198.18.1.2:80");
	assert_int_equal(backend_list_append(&list, "198.18.1.3:80,198.18.1.4:80"), 0);
	assert_string_equal(list, "198.18.1.2:80,198.18.1.3:80,198.18.1.4:80");
	free(list);
	list = NULL;
	assert_int_equal(backend_list_append(&list, ""), 0);
	assert_string_equal(list, "");
	assert_int_equal(backend_list_append(&list, "198.18.1.2:80"), 0);
	assert_string_equal(list, "198.18.1.2:80");
	free(list);
}

static void test_policy_parse(void **state)
{
	enum xfwd_policy p = XFWD_POLICY_RR;

	(void)state;
	assert_int_equal(policy_parse("hash", &p), 0);
	assert_int_equal(p, XFWD_POLICY_HASH);
	assert_int_equal(policy_parse("rr", &p), 0);
	assert_int_equal(p, XFWD_POLICY_RR);
	assert_int_equal(policy_parse("RR", &p), -EINVAL);
	assert_int_equal(policy_parse("", &p), -EINVAL);
	assert_int_equal(p, XFWD_POLICY_RR);
}

static void test_ports_parse(void **state)
{
	uint16_t lo;
	uint32_t n;

	(void)state;
	assert_int_equal(ports_parse("61440-65535", &lo, &n), 0);
	assert_int_equal(lo, 61440);
	assert_int_equal(n, 4096);
	assert_int_equal(ports_parse("32768-65535", &lo, &n), 0);
	assert_int_equal(n, 32768);
	assert_int_equal(ports_parse("1024-1087", &lo, &n), 0);
	const char *bad[] = {"61440-65534", "61441-65535", "1000-1063",	   "1024-1055",
			     "0-65535",	    "65535-61440", "61440",	   "61440-",
			     "-65535",	    "a-b",	   "61440-65535x", "61440-70000"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ports_parse(bad[i], &lo, &n) != -EINVAL)
			fail_msg("accepted %s", bad[i]);
}

static void make_set(struct xfwd_backends *set, uint32_t n, enum xfwd_policy policy)
{
	char list[1024] = "";

	for (uint32_t i = 0; i < n; i++) {
		char one[32];

		snprintf(one, sizeof(one), "%s198.18.1.%u:80", i ? "," : "", i + 2);
		strcat(list, one);
	}
	assert_int_equal(backend_parse_list(list, set), 0);
	assert_int_equal(backends_init(set, policy, 61440, 4096), 0);
}

static void test_round_robin(void **state)
{
	struct xfwd_backends set;
	uint32_t count[3] = {0};

	(void)state;
	make_set(&set, 3, XFWD_POLICY_RR);
	for (int i = 0; i < 300; i++) {
		struct xfwd_backend *b = backend_pick(&set, htonl(1), htons((uint16_t)i), 0, 80, 0);

		assert_int_equal(b->idx, i % 3); /* strictly in turn */
		count[b->idx]++;
	}
	assert_int_equal(count[0], 100);
	/* a down backend is skipped; the turn goes on after the one chosen */
	set.b[1].down_until = 10;
	for (int i = 0; i < 4; i++)
		assert_int_not_equal(backend_pick(&set, 0, 0, 0, 0, 5)->idx, 1);
	/* back after its time */
	uint32_t seen1 = 0;
	for (int i = 0; i < 3; i++)
		seen1 += backend_pick(&set, 0, 0, 0, 0, 10)->idx == 1;
	assert_int_equal(seen1, 1);
	/* all down: still an answer */
	for (int i = 0; i < 3; i++)
		set.b[i].down_until = 100;
	assert_non_null(backend_pick(&set, 0, 0, 0, 0, 50));
	backends_free(&set);
}

static void test_hash(void **state)
{
	struct xfwd_backends set;
	uint32_t count[2] = {0};
	uint64_t r = 1;

	(void)state;
	make_set(&set, 2, XFWD_POLICY_HASH);
	for (int i = 0; i < 20000; i++) {
		uint32_t caddr, laddr = inet_addr("198.18.0.1");
		uint16_t cport;

		r = r * 6364136223846793005ull + 1442695040888963407ull;
		caddr = htonl(0xc6120000u | (uint32_t)(r >> 40 & 0xffff));
		cport = htons((uint16_t)(32768 + (r >> 20) % 28232));
		struct xfwd_backend *b = backend_pick(&set, caddr, cport, laddr, htons(80), 0);

		/* the same 4-tuple, the same backend, however often it is asked */
		assert_ptr_equal(backend_pick(&set, caddr, cport, laddr, htons(80), 0), b);
		count[b->idx]++;
	}
	/* spread: each within 45..55% */
	assert_in_range(count[0], 9000, 11000);
	/* sequential client ports (one client) spread too */
	count[0] = count[1] = 0;
	for (uint16_t p = 40000; p < 40200; p++)
		count[backend_pick(&set, inet_addr("198.18.0.2"), htons(p), inet_addr("198.18.0.1"),
				   htons(80), 0)
			  ->idx]++;
	assert_in_range(count[0], 70, 130);
	/* a down backend: its tuples go elsewhere, the others stay put */
	set.b[0].down_until = 10;
	for (uint16_t p = 40000; p < 40200; p++)
		assert_int_equal(backend_pick(&set, inet_addr("198.18.0.2"), htons(p),
					      inet_addr("198.18.0.1"), htons(80), 0)
				     ->idx,
				 1);
	backends_free(&set);
}

static void test_ports(void **state)
{
	struct xfwd_backends set;
	struct xfwd_ports *p;
	int first;

	(void)state;
	make_set(&set, 1, XFWD_POLICY_RR);
	p = &set.b[0].ports;
	/* sequential */
	first = port_alloc(p);
	assert_int_equal(first, 61440);
	assert_int_equal(port_alloc(p), 61441);
	/* a freed port is not reused before the others: least recently used first */
	port_free(p, 61440);
	assert_int_equal(port_alloc(p), 61442);
	/* exhaustion */
	for (int i = 3; i < 4096; i++)
		assert_true(port_in_block(p, (uint16_t)port_alloc(p)));
	assert_int_equal(p->inuse, 4095);
	assert_int_equal(port_alloc(p), 61440); /* the one left, after a wrap */
	assert_int_equal(port_alloc(p), -EADDRNOTAVAIL);
	/* a free in the middle of full words is found */
	port_free(p, 63000);
	port_free(p, 63000); /* twice: harmless */
	assert_int_equal(p->inuse, 4095);
	assert_int_equal(port_alloc(p), 63000);
	/* out-of-block frees are ignored */
	port_free(p, 80);
	assert_int_equal(p->inuse, 4096);
	assert_false(port_in_block(p, 61439));
	assert_true(port_in_block(p, 65535));
	backends_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_addr),	cmocka_unit_test(test_parse_list),
	    cmocka_unit_test(test_list_append), cmocka_unit_test(test_policy_parse),
	    cmocka_unit_test(test_ports_parse), cmocka_unit_test(test_round_robin),
	    cmocka_unit_test(test_hash),	cmocka_unit_test(test_ports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
