/* test_ip.c - IPv4: options, validation, fragment reassembly and fragmentation, routing */
#include <string.h>

#include "harness.h"
#include "libos.h"
#include "tcp_int.h"

static struct {
	int n;
	uint8_t data[8192];
	size_t len;
} R;

static void on_recv(struct exos_udp *u, const void *data, size_t len, uint32_t addr,
		    uint16_t port, void *arg)
{
	(void)u;
	(void)addr;
	(void)port;
	(void)arg;
	R.n++;
	memcpy(R.data, data, len);
	R.len = len;
}

static const struct exos_udp_ops ops = {.on_recv = on_recv};

static int setup(void **state)
{
	memset(&R, 0, sizeof(R));
	return h_setup(state);
}

static void test_ip_options_skipped(void **state)
{
	struct exos_tcp_opts o = {.sz = sizeof(o), .local_port = 80};
	uint8_t frame[256];
	struct parsed q;

	(void)state;
	assert_int_equal(exos_tcp_listen(H.s, &o, &h_ops, NULL, &H.listener), 0);
	struct forge_tcp f = {.sport = 40000, .dport = 80, .seq = 1, .flags = TCP_SYN,
			      .win = 65535, .wscale = -1, .mss = 1460, .ip_opts = 12};
	h_inject(frame, forge_tcp(frame, &f));
	h_next(&q);
	assert_int_equal(q.flags, TCP_SYN | TCP_ACK);
	assert_int_equal(q.ack, 2);
	assert_true(q.frag_off & 0x4000); /* DF on TCP */
	exos_tcp_close(H.listener);
	h_poll();
	h_drain();
}

static void test_bad_ip_dropped(void **state)
{
	struct exos_udp *u;
	uint8_t frame[256];
	struct exos_stack_stats st;

	(void)state;
	assert_int_equal(exos_udp_open(H.s, 0, 7, &ops, NULL, &u), 0);
	size_t n = forge_udp(frame, 0, 0, 1, 7, "abc", 3);
	frame[ETH_HDR_LEN + 10] ^= 0xff; /* header checksum */
	h_inject(frame, n);
	n = forge_udp(frame, 0, ip4("198.18.0.77"), 1, 7, "abc", 3); /* not our address */
	h_inject(frame, n);
	n = forge_udp(frame, 0, 0, 1, 7, "abc", 3);
	h_inject(frame, n - 2); /* truncated: total length beyond the frame */
	assert_int_equal(R.n, 0);
	h_stats(&st);
	assert_int_equal(st.rx_drop_badip, 2);
	assert_int_equal(st.rx_drop_notours, 1);
	/* Trailing Ethernet padding is fine. */
	n = forge_udp(frame, 0, 0, 1, 7, "abc", 3);
	memset(frame + n, 0, 10);
	h_inject(frame, n + 10);
	assert_int_equal(R.n, 1);
	assert_int_equal(R.len, 3);
	exos_udp_close(u);
}

static void test_reassembly(void **state)
{
	struct exos_udp *u;
	uint8_t whole[4096], frag[2048], data[3000];

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 3);
	assert_int_equal(exos_udp_open(H.s, 0, 9, &ops, NULL, &u), 0);
	forge_udp(whole, 0, 0, 1, 9, data, sizeof(data));
	/* IP payload: 8 + 3000 bytes, in three fragments, last first, with a duplicate. */
	h_inject(frag, forge_fragment(frag, whole, 2400, 608, false));
	h_inject(frag, forge_fragment(frag, whole, 0, 1200, true));
	assert_int_equal(R.n, 0);
	h_inject(frag, forge_fragment(frag, whole, 0, 1200, true));
	h_inject(frag, forge_fragment(frag, whole, 1200, 1200, true));
	assert_int_equal(R.n, 1);
	assert_int_equal(R.len, sizeof(data));
	assert_memory_equal(R.data, data, sizeof(data));
	struct exos_stack_stats st;
	h_stats(&st);
	assert_int_equal(st.ip_reasm_ok, 1);
	/* An incomplete datagram times out and is dropped. */
	h_inject(frag, forge_fragment(frag, whole, 0, 1200, true));
	h_advance(31 * SEC);
	h_stats(&st);
	assert_int_equal(st.ip_reasm_drop, 1);
	h_inject(frag, forge_fragment(frag, whole, 2400, 608, false));
	assert_int_equal(R.n, 1);
	exos_udp_close(u);
}

static void test_fragmentation_on_send(void **state)
{
	struct exos_udp *u;
	uint8_t data[4000];
	struct parsed q;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 5);
	assert_int_equal(exos_udp_open(H.s, 0, 0, &ops, NULL, &u), 0);
	assert_int_equal(exos_udp_sendto(u, data, sizeof(data), ip4(PEER_IP), 9), 0);
	uint8_t payload[4096];
	size_t got = 0;
	uint16_t id = 0;
	for (int i = 0; i < 3; i++) {
		h_next(&q);
		size_t off = (q.frag_off & 0x1fff) * 8u;
		if (i == 0)
			id = q.id;
		assert_int_equal(q.id, id);
		assert_int_equal(off, got);
		assert_int_equal(!!(q.frag_off & 0x2000), i < 2);
		assert_true(q.tot_len <= 1500);
		memcpy(payload + got, q.payload, q.len);
		got += q.len;
	}
	h_expect_none();
	assert_int_equal(got, 8 + sizeof(data));
	assert_memory_equal(payload + 8, data, sizeof(data));
	/* The UDP checksum covers the whole datagram. */
	uint32_t sum = cksum_pseudo(ip4(OUR_IP), ip4(PEER_IP), 17, (uint32_t)got);
	assert_int_equal(cksum_fold(cksum_partial(payload, got, sum)), 0xffff);
	exos_udp_close(u);
}

static void test_route_via_gateway(void **state)
{
	struct exos_tcp_opts o = {
		.sz = sizeof(o), .remote_addr = ip4(FAR_IP), .remote_port = 443};
	struct exos_tcp *c;
	struct parsed q;

	(void)state;
	assert_int_equal(exos_tcp_connect(H.s, &o, &h_ops, NULL, &c), 0);
	h_next(&q);
	assert_memory_equal(q.dst, gw_mac, 6);
	assert_int_equal(q.daddr, ip4(FAR_IP));
	assert_int_equal(q.saddr, ip4(OUR_IP));
	exos_tcp_abort(c);
	h_poll();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ip_options_skipped, setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_bad_ip_dropped, setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_reassembly, setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_fragmentation_on_send, setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_route_via_gateway, setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
