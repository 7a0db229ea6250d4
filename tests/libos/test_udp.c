/* test_udp.c - UDP: receive, send, checksums, ephemeral ports, ICMP errors */
#include <string.h>

#include "harness.h"
#include "libos.h"

static struct {
	int n;
	uint8_t data[2048];
	size_t len;
	uint32_t addr;
	uint16_t port;
	int errs, err;
	uint32_t eaddr;
	uint16_t eport;
} R;

static void on_recv(struct exos_udp *u, const void *data, size_t len, uint32_t addr,
		    uint16_t port, void *arg)
{
	(void)u;
	(void)arg;
	R.n++;
	memcpy(R.data, data, len < sizeof(R.data) ? len : sizeof(R.data));
	R.len = len;
	R.addr = addr;
	R.port = port;
}

static void on_error(struct exos_udp *u, int err, uint32_t addr, uint16_t port, void *arg)
{
	(void)u;
	(void)arg;
	R.errs++;
	R.err = err;
	R.eaddr = addr;
	R.eport = port;
}

static const struct exos_udp_ops ops = {.on_recv = on_recv, .on_error = on_error};

static int setup(void **state)
{
	memset(&R, 0, sizeof(R));
	return h_setup(state);
}

static void test_receive(void **state)
{
	struct exos_udp *u;
	uint8_t frame[2048];

	(void)state;
	assert_int_equal(exos_udp_open(H.s, 0, 5353, &ops, NULL, &u), 0);
	assert_int_equal(exos_udp_local_port(u), 5353);
	h_inject(frame, forge_udp(frame, 0, 0, 1234, 5353, "hello", 5));
	assert_int_equal(R.n, 1);
	assert_int_equal(R.len, 5);
	assert_memory_equal(R.data, "hello", 5);
	assert_int_equal(R.addr, ip4(PEER_IP));
	assert_int_equal(R.port, 1234);
	/* Another port: not ours. */
	h_inject(frame, forge_udp(frame, 0, 0, 1234, 5354, "x", 1));
	assert_int_equal(R.n, 1);
	/* A corrupted checksum is dropped; a zero checksum means "none". */
	size_t n = forge_udp(frame, 0, 0, 1234, 5353, "abc", 3);
	frame[n - 1] ^= 1;
	h_inject(frame, n);
	assert_int_equal(R.n, 1);
	n = forge_udp(frame, 0, 0, 1234, 5353, "abc", 3);
	frame[n - 3 - 2] = frame[n - 3 - 1] = 0;
	frame[n - 1] ^= 1;
	h_inject(frame, n);
	assert_int_equal(R.n, 2);
	/* The port is taken. */
	struct exos_udp *u2;
	assert_int_equal(exos_udp_open(H.s, 0, 5353, &ops, NULL, &u2), -EADDRINUSE);
	exos_udp_close(u);
	h_expect_none();
}

static void test_send(void **state)
{
	struct exos_udp *u;
	struct parsed q;

	(void)state;
	assert_int_equal(exos_udp_open(H.s, 0, 0, &ops, NULL, &u), 0);
	uint16_t port = exos_udp_local_port(u);
	assert_true(port >= 32768 && port <= 60999);
	assert_int_equal(exos_udp_sendto(u, "ping", 4, ip4(PEER_IP), 7), 0);
	h_next(&q);
	assert_int_equal(q.proto, 17);
	assert_memory_equal(q.dst, peer_mac, 6);
	assert_int_equal(q.saddr, ip4(OUR_IP));
	assert_int_equal(q.daddr, ip4(PEER_IP));
	assert_int_equal(q.sport, port);
	assert_int_equal(q.dport, 7);
	assert_int_equal(q.len, 4);
	assert_memory_equal(q.payload, "ping", 4);
	assert_int_equal(q.ttl, 64);
	/* Off-subnet: through the gateway. */
	assert_int_equal(exos_udp_sendto(u, "far", 3, ip4(FAR_IP), 53), 0);
	h_next(&q);
	assert_memory_equal(q.dst, gw_mac, 6);
	assert_int_equal(q.daddr, ip4(FAR_IP));
	/* Empty datagram. */
	assert_int_equal(exos_udp_sendto(u, "", 0, ip4(PEER_IP), 7), 0);
	h_next(&q);
	assert_int_equal(q.len, 0);
	assert_int_equal(exos_udp_sendto(u, "x", 70000, ip4(PEER_IP), 7), -EMSGSIZE);
	exos_udp_close(u);
}

static void test_ephemeral_port_retry(void **state)
{
	struct exos_udp *u;
	struct exos_stack_stats st;

	(void)state;
	/* Someone else holds the first three picks (§3.3 (4)): pick again. */
	fake_filter_fail(-EEXIST, 3);
	assert_int_equal(exos_udp_open(H.s, 0, 0, &ops, NULL, &u), 0);
	h_stats(&st);
	assert_int_equal(st.filters_inuse, 2); /* the port, ICMP errors */
	exos_udp_close(u);
	/* A fixed port somebody else has: EADDRINUSE. */
	fake_filter_fail(-EBUSY, 1);
	assert_int_equal(exos_udp_open(H.s, 0, 9999, &ops, NULL, &u), -EADDRINUSE);
}

static void test_icmp_port_unreachable(void **state)
{
	struct exos_udp *u;
	struct parsed q;
	uint8_t frame[2048], sent[2048];

	(void)state;
	assert_int_equal(exos_udp_open(H.s, 0, 0, &ops, NULL, &u), 0);
	assert_int_equal(exos_udp_sendto(u, "query", 5, ip4(PEER_IP), 53), 0);
	h_next(&q);
	size_t iplen = q.iplen;
	memcpy(sent, q.ip, iplen);
	h_inject(frame, forge_icmp_unreach(frame, ip4(PEER_IP), 3, sent, iplen));
	assert_int_equal(R.errs, 1);
	assert_int_equal(R.err, -ECONNREFUSED);
	assert_int_equal(R.eaddr, ip4(PEER_IP));
	assert_int_equal(R.eport, 53);
	/* Host unreachable from a router. */
	h_inject(frame, forge_icmp_unreach(frame, ip4(GW_IP), 1, sent, iplen));
	assert_int_equal(R.err, -EHOSTUNREACH);
	exos_udp_close(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_receive, setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_send, setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_ephemeral_port_retry, setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_icmp_port_unreachable, setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
