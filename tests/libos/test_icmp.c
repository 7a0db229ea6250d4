/* test_icmp.c - ICMP: echo replies, destination unreachable delivered to TCP */
#include <string.h>

#include "harness.h"
#include "libos.h"

static int setup_echo(void **state)
{
	H.stack_flags = EXOS_STACK_ICMP_ECHO;
	return h_setup(state);
}

static int teardown_echo(void **state)
{
	H.stack_flags = EXOS_STACK_ICMP_ECHO; /* h_setup cleared it */
	return h_teardown(state);
}

static void test_echo_reply(void **state)
{
	uint8_t frame[2048];
	struct parsed q;

	(void)state;
	h_inject(frame, forge_icmp_echo(frame, 0x1234, 7, "abcdefgh", 8));
	h_next(&q);
	assert_int_equal(q.proto, 1);
	assert_int_equal(q.icmp_type, 0);
	assert_int_equal(q.daddr, ip4(PEER_IP));
	assert_int_equal(q.len, 8);
	assert_memory_equal(q.payload, "abcdefgh", 8);
	assert_memory_equal(q.ip + 20 + 4, "\x12\x34\x00\x07", 4);
}

static void test_no_echo_by_default(void **state)
{
	uint8_t frame[2048];

	(void)state;
	h_inject(frame, forge_icmp_echo(frame, 1, 1, "x", 1));
	h_expect_none();
}

static void test_unreachable_refuses_connect(void **state)
{
	struct exos_tcp_opts o = {
		.sz = sizeof(o), .remote_addr = ip4(PEER_IP), .remote_port = 80};
	struct exos_tcp *c;
	struct parsed q;
	uint8_t frame[2048], syn[256];

	(void)state;
	assert_int_equal(exos_tcp_connect(H.s, &o, &h_ops, NULL, &c), 0);
	h_next(&q);
	/* The ICMP error filter comes with the first SYN retransmission. */
	struct exos_stack_stats st;
	h_stats(&st);
	uint64_t filters = st.filters_inuse;
	h_advance(1 * SEC);
	h_next(&q);
	h_stats(&st);
	assert_int_equal(st.filters_inuse, filters + 1);
	size_t n = q.iplen;
	memcpy(syn, q.ip, n);
	/* An error quoting a sequence number we never sent is ignored (RFC 5927). */
	syn[20 + 4] ^= 0x80;
	h_inject(frame, forge_icmp_unreach(frame, ip4(PEER_IP), 3, syn, n));
	assert_int_equal(H.errors, 0);
	syn[20 + 4] ^= 0x80;
	h_inject(frame, forge_icmp_unreach(frame, ip4(PEER_IP), 3, syn, n));
	assert_int_equal(H.errors, 1);
	assert_int_equal(H.last_err, -ECONNREFUSED);
	h_poll();
	assert_int_equal(H.freed, 1);
	(void)c;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_echo_reply, setup_echo, teardown_echo),
		cmocka_unit_test_setup_teardown(test_no_echo_by_default, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_unreachable_refuses_connect, h_setup,
						h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
