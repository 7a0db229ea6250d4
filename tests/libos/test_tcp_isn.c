/* test_tcp_isn.c - ISNs and timestamp clocks that every process on the host agrees on */
#include <string.h>

#include "harness.h"
#include "tcp_int.h"

/* Two stacks (two processes) derive the same ISN key, so a 4-tuple's ISNs keep increasing
 * across process restarts, as a peer holding it in TIME_WAIT requires (RFC 6528, 9293). */
static void test_isn_key_is_host_wide(void **state)
{
	struct tcp_state a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	tcp_isn_init(&a);
	tcp_isn_init(&b);
	assert_memory_equal(a.isn_key, b.isn_key, sizeof(a.isn_key));
	assert_memory_not_equal(a.isn_key, (uint8_t[16]){0}, sizeof(a.isn_key));
}

/* The ISN is M + F(4-tuple): later means larger, another tuple means another offset. */
static void test_isn_grows_with_the_clock(void **state)
{
	uint32_t l = ip4(OUR_IP), r = ip4(PEER_IP);
	uint32_t i1, i2, other;

	(void)state;
	i1 = tcp_isn(H.s, l, htons(40000), r, htons(80));
	other = tcp_isn(H.s, l, htons(40001), r, htons(80));
	h_advance(1 * SEC);
	i2 = tcp_isn(H.s, l, htons(40000), r, htons(80));
	assert_int_equal((uint32_t)(i2 - i1), 1000000000u / 4000); /* 4 µs ticks */
	assert_int_not_equal(i1, other);
}

/* TSval offsets depend on the address pair only: two connections to one host share one
 * timestamp clock (PAWS at the peer accepts the second on a reused 4-tuple). */
static void test_ts_clock_per_address_pair(void **state)
{
	struct peer p1, p2;
	struct exos_tcp *c1, *c2;
	uint32_t l = ip4(OUR_IP), r = ip4(PEER_IP);

	(void)state;
	assert_int_equal(tcp_ts_offset(H.s, l, r), tcp_ts_offset(H.s, l, r));
	assert_int_not_equal(tcp_ts_offset(H.s, l, r), tcp_ts_offset(H.s, l, r ^ htonl(1)));

	peer_init(&p1, 0);
	peer_init(&p2, 0);
	p2.port = 40001;
	c1 = h_active_open(&p1, 0);
	H.connected = 0;
	c2 = h_active_open(&p2, 0);
	/* same fake clock instant: both connections stamped the same TSval */
	assert_int_equal(p1.ts_recent, p2.ts_recent);
	h_abort(c1);
	h_abort(c2);
}

static int setup(void **state)
{
	return h_setup(state);
}

static int teardown(void **state)
{
	return h_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_isn_key_is_host_wide),
		cmocka_unit_test_setup_teardown(test_isn_grows_with_the_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ts_clock_per_address_pair, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
