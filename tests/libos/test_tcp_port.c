/* test_tcp_port.c - ephemeral ports for active opens, claimed a block at a time */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "param.h"

static uint16_t block_base(uint16_t port)
{
	return (uint16_t)(port & ~(TCP_PBLOCK_PORTS - 1));
}

/* Opens an active connection to the default peer on peer port `port`. */
static struct exos_tcp *open_to(struct peer *p, uint16_t port)
{
	peer_init(p, 0);
	p->port = port;
	H.connected = 0;
	return h_active_open(p, 0);
}

/* The filter is a block filter: TCP to our address, the destination port masked. */
static void check_block_filter(uint16_t base)
{
	struct dpf_filter f;
	bool masked = false;

	assert_true(fake_filter_last(&f));
	for (uint32_t i = 0; i < f.natoms; i++) {
		const struct dpf_atom *a = &f.atoms[i];

		if (a->kind == DPF_ATOM_MATCH && a->offset == 2 && a->width == 2) {
			assert_int_equal(a->mask, 0x10000 - TCP_PBLOCK_PORTS);
			assert_int_equal(a->value, base);
			masked = true;
		}
	}
	assert_true(masked);
}

/* Connections share one block and its one filter; it lingers, then goes back. */
static void test_block_shared(void **state)
{
	struct exos_tcp *c[3];
	struct exos_stack_stats st;
	struct peer p[3];
	(void)state;

	for (int i = 0; i < 3; i++)
		c[i] = open_to(&p[i], (uint16_t)(80 + i));
	for (int i = 0; i < 3; i++) {
		assert_true(p[i].lport >= TCP_EPHEMERAL_LO && p[i].lport <= TCP_EPHEMERAL_HI);
		assert_int_equal(block_base(p[i].lport), block_base(p[0].lport));
		for (int k = 0; k < i; k++)
			assert_true(p[i].lport != p[k].lport);
	}
	assert_int_equal(fake_filters_active(), 1);
	check_block_filter(block_base(p[0].lport));
	h_stats(&st);
	assert_int_equal(st.tcp_port_blocks, 1);
	for (int i = 0; i < 3; i++)
		h_abort(c[i]);
	assert_int_equal(fake_filters_active(), 1); /* lingers for the next connections */
	c[0] = open_to(&p[0], 80);
	assert_int_equal(fake_filters_active(), 1);
	h_stats(&st);
	assert_int_equal(st.tcp_port_blocks, 1);
	h_abort(c[0]);
	h_advance(TCP_PBLOCK_LINGER_NS + MS);
	assert_int_equal(fake_filters_active(), 0);
}

/* A full block: the next connection claims another. */
static void test_block_full(void **state)
{
	struct exos_tcp *c[TCP_PBLOCK_PORTS + 1];
	struct exos_stack_stats st;
	struct peer p;
	(void)state;

	for (int i = 0; i <= TCP_PBLOCK_PORTS; i++)
		c[i] = open_to(&p, 80);
	assert_int_equal(fake_filters_active(), 2);
	h_stats(&st);
	assert_int_equal(st.tcp_port_blocks, 2);
	for (int i = 0; i <= TCP_PBLOCK_PORTS; i++)
		h_abort(c[i]);
}

/* A block someone else has (the insert conflicts): another block, at random. */
static void test_block_conflict(void **state)
{
	struct exos_stack_stats st;
	struct exos_tcp *c;
	struct peer p;
	(void)state;

	fake_filter_fail(-EBUSY, 2);
	c = open_to(&p, 80);
	h_stats(&st);
	assert_int_equal(st.tcp_ephemeral_retries, 2);
	assert_int_equal(st.tcp_port_blocks, 1);
	check_block_filter(block_base(p.lport));
	h_abort(c);
}

/* No block to be had: the connection gets a 4-tuple filter of its own. */
static void test_no_block(void **state)
{
	struct exos_stack_stats st;
	struct dpf_filter f, want;
	struct exos_tcp *c;
	struct peer p;
	(void)state;

	fake_filter_fail(-EBUSY, TCP_PORT_RETRIES);
	c = open_to(&p, 80);
	h_stats(&st);
	assert_int_equal(st.tcp_port_blocks, 0);
	assert_true(fake_filter_last(&f));
	dpf_filter_tcp_4tuple(&want, ntohl(ip4(OUR_IP)), p.lport, ntohl(ip4(PEER_IP)), 80);
	assert_int_equal(f.natoms, want.natoms);
	assert_memory_equal(f.atoms, want.atoms, want.natoms * sizeof(want.atoms[0]));
	h_abort(c);
	assert_int_equal(fake_filters_active(), 0); /* its own filter goes with it */
}

/* A segment for a port of our block that no connection uses: a reset, as the catch-all
 * would send. */
static void test_block_stray(void **state)
{
	struct exos_stack_stats st;
	struct exos_tcp *c;
	struct parsed q;
	struct peer p, stray;
	(void)state;

	c = open_to(&p, 80);
	stray = p;
	stray.lport = (uint16_t)(block_base(p.lport) + ((p.lport + 1) % TCP_PBLOCK_PORTS));
	peer_send(&stray, TCP_ACK, "x", 1);
	h_next(&q);
	assert_true(q.flags & TCP_RST);
	assert_int_equal(q.sport, stray.lport);
	h_stats(&st);
	assert_int_equal(st.tcp_no_pcb, 1);
	h_abort(c);
}

/* TIME_WAIT keeps the block (it delivers the peer's retransmitted FIN) until it ends. */
static void test_block_time_wait(void **state)
{
	struct exos_stack_stats st;
	struct exos_tcp *c;
	struct parsed q;
	struct peer p;
	(void)state;

	c = open_to(&p, 80);
	exos_tcp_close(c);
	h_next(&q);
	peer_check(&p, &q, TCP_ACK | TCP_FIN);
	p.ack = q.seq + 1;
	peer_send(&p, TCP_ACK | TCP_FIN, NULL, 0);
	h_next(&q);
	h_poll();
	h_stats(&st);
	assert_int_equal(st.tcp_tw_inuse, 1);
	h_advance(TCP_PBLOCK_LINGER_NS + MS);
	assert_int_equal(fake_filters_active(), 1);
	peer_send_at(&p, p.seq - 1, TCP_ACK | TCP_FIN, NULL, 0); /* retransmitted FIN */
	h_next(&q);
	assert_int_equal(q.flags, TCP_ACK);
	assert_int_equal(q.sport, p.lport);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_block_shared, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_block_full, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_block_conflict, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_no_block, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_block_stray, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_block_time_wait, h_setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
