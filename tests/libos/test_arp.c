/* test_arp.c - ARP: lookups in the shared table, requests and queueing on a miss, failure */
#include <string.h>

#include "harness.h"
#include "libos.h"

static void test_miss_sends_request_then_frame(void **state)
{
	struct exos_tcp_opts o = {
		.sz = sizeof(o), .remote_addr = ip4(PEER_IP), .remote_port = 80};
	struct exos_tcp *c;
	struct parsed q;

	(void)state;
	fake_arp_clear();
	assert_int_equal(exos_tcp_connect(H.s, &o, &h_ops, NULL, &c), 0);
	h_next(&q);
	assert_int_equal(q.ethertype, 0x0806);
	assert_memory_equal(q.dst, "\xff\xff\xff\xff\xff\xff", 6);
	assert_memory_equal(q.src, our_mac, 6);
	assert_int_equal(q.arp_op, 1);
	assert_memory_equal(q.arp_sha, our_mac, 6);
	assert_int_equal(q.arp_spa, ip4(OUR_IP));
	assert_int_equal(q.arp_tpa, ip4(PEER_IP));
	h_expect_none(); /* the SYN waits */
	/* arpd records the reply: the table's version moves, the stack's wait wakes. */
	fake_arp_set(ip4(PEER_IP), peer_mac);
	assert_int_equal(exos_stack_wait(H.s, fake_time() + 10 * MS), 0);
	h_next(&q);
	assert_int_equal(q.proto, 6);
	assert_int_equal(q.flags, 0x02);
	assert_memory_equal(q.dst, peer_mac, 6);
	exos_tcp_abort(c);
	h_poll();
	h_drain();
}

static void test_no_reply_ehostunreach(void **state)
{
	struct exos_tcp_opts o = {
		.sz = sizeof(o), .remote_addr = ip4(PEER_IP), .remote_port = 80};
	struct exos_tcp *c;
	struct parsed q;

	(void)state;
	fake_arp_clear();
	assert_int_equal(exos_tcp_connect(H.s, &o, &h_ops, NULL, &c), 0);
	for (int i = 0; i < 3; i++) {
		h_next(&q);
		assert_int_equal(q.arp_op, 1);
		h_advance(1 * SEC);
	}
	assert_int_equal(H.errors, 1);
	assert_int_equal(H.last_err, -EHOSTUNREACH);
	h_poll();
	struct exos_stack_stats st;
	h_stats(&st);
	assert_int_equal(st.arp_failures, 1);
	assert_int_equal(st.arp_requests, 3);
	h_drain();
}

static void test_udp_queued_during_resolution(void **state)
{
	struct exos_udp *u;
	struct parsed q;
	static const struct exos_udp_ops ops;

	(void)state;
	fake_arp_clear();
	assert_int_equal(exos_udp_open(H.s, 0, 0, &ops, NULL, &u), 0);
	assert_int_equal(exos_udp_sendto(u, "a", 1, ip4(PEER_IP), 9), 0);
	assert_int_equal(exos_udp_sendto(u, "b", 1, ip4(PEER_IP), 9), 0);
	h_next(&q);
	assert_int_equal(q.arp_op, 1);
	h_expect_none(); /* one request for both */
	fake_arp_set(ip4(PEER_IP), peer_mac);
	h_poll();
	h_next(&q);
	assert_memory_equal(q.payload, "a", 1);
	h_next(&q);
	assert_memory_equal(q.payload, "b", 1);
	exos_udp_close(u);
}

/* A burst of connections to a host not yet resolved (a load generator's start): every SYN
 * waits in the queue and leaves when the reply comes, none is dropped to wait out an RTO. */
static void test_connect_burst_queued(void **state)
{
	enum { N = 200 };
	static struct exos_tcp *c[N];
	struct exos_tcp_opts o = {
		.sz = sizeof(o), .remote_addr = ip4(PEER_IP), .remote_port = 80};
	struct exos_stack_stats st;
	struct parsed q;

	(void)state;
	fake_arp_clear();
	for (int i = 0; i < N; i++)
		assert_int_equal(exos_tcp_connect(H.s, &o, &h_ops, NULL, &c[i]), 0);
	h_next(&q);
	assert_int_equal(q.arp_op, 1);
	h_expect_none(); /* one request, the SYNs wait */
	fake_arp_set(ip4(PEER_IP), peer_mac);
	h_poll();
	for (int i = 0; i < N; i++) {
		h_next(&q);
		assert_int_equal(q.flags, 0x02);
		assert_memory_equal(q.dst, peer_mac, 6);
	}
	h_expect_none();
	h_stats(&st);
	assert_int_equal(st.tx_drop_nobuf, 0);
	for (int i = 0; i < N; i++)
		exos_tcp_abort(c[i]);
	h_poll();
	h_drain();
}

/* The queue is still bounded per destination: past it frames are dropped and counted (the
 * request still goes out), and what was queued leaves on the reply. */
static void test_queue_bounded_per_destination(void **state)
{
	struct exos_udp *u;
	struct exos_stack_stats st;
	struct parsed q;
	static const struct exos_udp_ops ops;

	(void)state;
	fake_arp_clear();
	assert_int_equal(exos_udp_open(H.s, 0, 0, &ops, NULL, &u), 0);
	for (int i = 0; i < ARP_QUEUE_PER_DST + 5; i++)
		assert_int_equal(exos_udp_sendto(u, "x", 1, ip4(PEER_IP), 9), 0);
	h_stats(&st);
	assert_int_equal(st.tx_drop_nobuf, 5);
	h_next(&q);
	assert_int_equal(q.arp_op, 1);
	fake_arp_set(ip4(PEER_IP), peer_mac);
	h_poll();
	for (int i = 0; i < ARP_QUEUE_PER_DST; i++) {
		h_next(&q);
		assert_int_equal(q.proto, 17);
	}
	h_expect_none();
	exos_udp_close(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_miss_sends_request_then_frame, h_setup,
						h_teardown),
		cmocka_unit_test_setup_teardown(test_no_reply_ehostunreach, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_udp_queued_during_resolution, h_setup,
						h_teardown),
		cmocka_unit_test_setup_teardown(test_connect_burst_queued, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_queue_bounded_per_destination, h_setup,
						h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
