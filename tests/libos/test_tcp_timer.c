/* test_tcp_timer.c - TCP timers on the fake clock: RTO with backoff (RFC 6298), SYN
 * retries, give-up, RTT estimation, keepalive, orphaned FIN_WAIT_2 */
#include <string.h>

#include "harness.h"
#include "tcp_int.h"

static void test_syn_retransmit_backoff_and_timeout(void **state)
{
	struct exos_tcp_opts o = {
		.sz = sizeof(o), .remote_addr = ip4(PEER_IP), .remote_port = 40000};
	struct exos_tcp *c;
	struct parsed q;

	(void)state;
	assert_int_equal(exos_tcp_connect(H.s, &o, &h_ops, NULL, &c), 0);
	h_next(&q);
	uint32_t iss = q.seq;
	/* 1 s, then 2, 4, 8, 16, 32 (RFC 6298 2.1, 5.5); six retries as Linux. */
	uint64_t rto = 1 * SEC;
	for (int i = 0; i < 6; i++) {
		h_advance(rto - MS);
		h_expect_none();
		h_advance(MS);
		h_next(&q);
		assert_int_equal(q.flags, TCP_SYN);
		assert_int_equal(q.seq, iss);
		rto *= 2;
	}
	h_advance(rto);
	h_expect_none();
	assert_int_equal(H.errors, 1);
	assert_int_equal(H.last_err, -ETIMEDOUT);
	h_poll();
	assert_int_equal(H.freed, 1);
}

static void test_synack_retransmit(void **state)
{
	struct peer p;
	struct parsed q;

	(void)state;
	peer_init(&p, 80);
	h_listen_syn(&p, 80, 0, &q);
	h_advance(1 * SEC);
	h_next(&q);
	peer_check(&p, &q, TCP_SYN | TCP_ACK);
	/* The peer's retransmitted SYN gets the SYN-ACK again at once. */
	peer_send_at(&p, p.seq - 1, TCP_SYN, NULL, 0);
	h_next(&q);
	peer_check(&p, &q, TCP_SYN | TCP_ACK);
	/* Never completed: the embryo dies quietly after its retries. */
	h_advance(200 * SEC);
	h_drain();
	assert_int_equal(H.naccepted, 0);
	exos_tcp_close(H.listener);
}

static void test_data_rto_backoff(void **state)
{
	static uint8_t data[1000];
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;

	struct exos_tcp_sendreq r = {.data = data, .len = 1000, .flags = EXOS_TCP_SEND_COPY};
	assert_int_equal(exos_tcp_send(c, &r, 1), 0);
	h_next(&q);
	uint32_t seq = q.seq;
	struct exos_tcp_info info;
	exos_tcp_info(c, &info);
	uint64_t rto = (uint64_t)info.rto_us * 1000;
	assert_int_equal(rto, 200 * MS); /* the handshake's RTT sample, clamped to the minimum */
	for (int i = 0; i < 4; i++) {
		h_advance(rto - MS);
		h_expect_none();
		h_advance(MS);
		h_next(&q);
		assert_int_equal(q.seq, seq); /* go back to snd_una */
		assert_int_equal(q.len, 1000);
		rto *= 2;
	}
	struct exos_stack_stats st;
	h_stats(&st);
	assert_int_equal(st.tcp_rto_fired, 4);
	exos_tcp_info(c, &info);
	assert_int_equal(info.cwnd, 1448); /* loss window */
	/* The ACK arrives: back to normal, timer off. */
	p->ack = seq + 1000;
	peer_send(p, TCP_ACK, NULL, 0);
	h_advance(100 * SEC);
	h_expect_none();
	h_abort(c);
}

static void test_data_gives_up(void **state)
{
	static uint8_t data[10];
	struct h_conn *conn = *state;
	struct exos_tcp *c = conn->c;

	struct exos_tcp_sendreq r = {.data = data, .len = 10, .flags = EXOS_TCP_SEND_COPY};
	assert_int_equal(exos_tcp_send(c, &r, 1), 0);
	for (int i = 0; i < 40 && !H.errors; i++)
		h_advance(60 * SEC);
	assert_int_equal(H.errors, 1);
	assert_int_equal(H.last_err, -ETIMEDOUT);
	h_drain();
}

static void test_rtt_estimate(void **state)
{
	static uint8_t data[100];
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;

	struct exos_tcp_sendreq r = {.data = data, .len = 100, .flags = EXOS_TCP_SEND_COPY};
	for (int i = 0; i < 20; i++) {
		assert_int_equal(exos_tcp_send(c, &r, 1), 0);
		h_next(&q);
		fake_advance(300 * MS); /* an RTT of 300 ms ... but the RTO fires first? no: */
		p->ack = q.seq + 100;
		peer_send(p, TCP_ACK, NULL, 0);
		h_drain(); /* a retransmission may have gone out at 200 ms: ignore */
	}
	struct exos_tcp_info info;
	exos_tcp_info(c, &info);
	assert_true(info.srtt_us > 250000 && info.srtt_us < 350000);
	assert_true(info.rto_us >= info.srtt_us);
	h_abort(c);
}

/* RFC 8985 7: a lone segment's loss is found by a probe after 2*SRTT + the receiver's
 * delayed-ACK allowance, not after an RTO. */
static void test_tail_loss_probe(void **state)
{
	static uint8_t data[3000];
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;

	struct exos_tcp_sendreq r = {.data = data, .len = 3000, .flags = EXOS_TCP_SEND_COPY};
	assert_int_equal(exos_tcp_send(c, &r, 1), 0);
	h_next(&q);
	uint32_t s0 = q.seq;
	h_next(&q);
	h_next(&q); /* three segments: 1448, 1448, 104 */
	assert_int_equal(q.len, 104);
	h_advance(1 * MS);
	h_expect_none();
	h_advance(2 * MS); /* 2*SRTT, floored at 2 ms */
	h_next(&q);
	assert_int_equal(q.seq, s0 + 2896); /* the probe: the last segment again */
	struct exos_stack_stats st;
	h_stats(&st);
	assert_int_equal(st.tcp_tlp_probes, 1);
	assert_int_equal(st.tcp_rto_fired, 0);
	/* The probe's ACK SACKs it: RACK finds the first two lost, they go at once. */
	h_advance(1 * MS);
	const uint32_t sack[1][2] = {{s0 + 2896, s0 + 3000}};
	p->ack = s0;
	peer_send_sack(p, 1, sack);
	h_next(&q);
	assert_int_equal(q.seq, s0);
	h_next(&q);
	assert_int_equal(q.seq, s0 + 1448);
	p->ack = s0 + 3000;
	peer_send(p, TCP_ACK, NULL, 0);
	h_advance(5 * SEC);
	h_expect_none();
	h_abort(c);
}

static void test_keepalive(void **state)
{
	struct peer p;
	struct parsed q;

	(void)state;
	peer_init(&p, 80);
	struct exos_tcp *c = h_passive_open(&p, 80, EXOS_TCP_F_KEEPALIVE);
	h_advance(7200 * SEC);
	h_next(&q);
	assert_int_equal(q.seq, p.ack - 1); /* a probe */
	assert_int_equal(q.len, 0);
	peer_send(&p, TCP_ACK, NULL, 0); /* answered: idle again */
	h_advance(75 * SEC);
	h_expect_none();
	/* Unanswered probes: nine, then the connection is dead. */
	h_advance(7200 * SEC);
	for (int i = 0; i < 9; i++) {
		h_next(&q);
		h_advance(75 * SEC);
	}
	assert_int_equal(H.errors, 1);
	assert_int_equal(H.last_err, -ETIMEDOUT);
	h_drain();
	(void)c;
	exos_tcp_close(H.listener);
}

static void test_orphan_fin_wait2(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;

	exos_tcp_close(c);
	h_next(&q);
	p->ack = q.seq + 1;
	peer_send(p, TCP_ACK, NULL, 0); /* FIN_WAIT_2, and the peer never closes */
	h_advance(59 * SEC);
	struct exos_stack_stats st;
	h_stats(&st);
	assert_int_equal(st.tcp_pcbs_inuse, 2);
	h_advance(2 * SEC);
	h_stats(&st);
	assert_int_equal(st.tcp_pcbs_inuse, 1);
	assert_int_equal(H.freed, 1);
}

static void test_wait_sleeps_until_timer(void **state)
{
	static uint8_t data[10];
	struct h_conn *conn = *state;
	struct exos_tcp *c = conn->c;
	struct parsed q;

	struct exos_tcp_sendreq r = {.data = data, .len = 10, .flags = EXOS_TCP_SEND_COPY};
	assert_int_equal(exos_tcp_send(c, &r, 1), 0);
	h_next(&q);
	uint64_t t0 = fake_time();
	/* exos_stack_wait sleeps no later than the retransmission timer. */
	assert_int_equal(exos_stack_wait(H.s, 0), 0);
	assert_int_equal(fake_time() - t0, 200 * MS);
	h_next(&q);
	assert_int_equal(q.len, 10);
	/* The caller's deadline wins when earlier. */
	t0 = fake_time();
	assert_int_equal(exos_stack_wait(H.s, t0 + 50 * MS), -ETIMEDOUT);
	assert_int_equal(fake_time() - t0, 50 * MS);
	h_abort(c);
}

/* An ACK that finds xokd's queue full is not lost: the delayed-ACK timer sends it once the
 * queue has room, well before the peer would retransmit. */
static void test_ack_retried_when_queue_full(void **state)
{
	static const uint8_t data[100];
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;
	struct exos_stack_stats st;

	uint32_t hole = p->seq;
	fake_xmit_fail(-EAGAIN, 2); /* the send and its one retry after the kick */
	peer_send_at(p, hole + 100, TCP_ACK | TCP_PSH, data, sizeof(data)); /* out of order */
	h_expect_none();
	h_stats(&st);
	assert_int_equal(st.tcp_ack_deferred, 1);
	h_advance(1 * MS);
	h_next(&q);
	peer_check(p, &q, TCP_ACK);
	assert_int_equal(q.ack, hole); /* the duplicate ACK, with the block it saw */
	assert_int_equal(q.opt.nsack, 1);
	assert_int_equal(q.opt.sack[0][0], hole + 100);
	h_advance(200 * MS);
	h_expect_none(); /* sent once, not repeated */
	h_abort(c);
}

/* A SYN that finds xokd's queue full (a burst of connects) goes out as soon as there is
 * room -- while output is blocked the stack's wait looks again every TX_BLOCKED_RETRY_NS --
 * not after the 1 s initial RTO; its own RTO then runs from when it actually left. */
static void test_syn_retried_when_queue_full(void **state)
{
	struct exos_tcp_opts o = {
		.sz = sizeof(o), .remote_addr = ip4(PEER_IP), .remote_port = 40000};
	struct exos_stack_stats st;
	struct exos_tcp *c;
	struct parsed q;

	(void)state;
	fake_xmit_fail(-EAGAIN, 1000); /* full until further notice */
	assert_int_equal(exos_tcp_connect(H.s, &o, &h_ops, NULL, &c), 0);
	h_expect_none();
	h_queue_full_then_room(3, TX_BLOCKED_RETRY_NS);
	h_next(&q);
	assert_int_equal(q.flags, TCP_SYN);
	h_stats(&st);
	assert_true(st.tx_again >= 4);
	assert_int_equal(st.tcp_rto_fired, 0);
	h_advance(1 * SEC - MS);
	h_expect_none();
	h_advance(MS);
	h_next(&q);
	assert_int_equal(q.flags, TCP_SYN); /* the RTO, 1 s after the SYN left */
	h_stats(&st);
	assert_int_equal(st.tcp_rto_fired, 1);
	h_abort(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		H_TEST(test_syn_retransmit_backoff_and_timeout),
		H_TEST(test_synack_retransmit),
		H_CONN_NOSACK_TEST(test_data_rto_backoff),
		H_CONN_TEST(test_data_gives_up),
		H_CONN_TEST(test_rtt_estimate),
		H_CONN_TEST(test_tail_loss_probe),
		H_TEST(test_keepalive),
		H_CONN_TEST(test_orphan_fin_wait2),
		H_CONN_NOSACK_TEST(test_wait_sleeps_until_timer),
		H_CONN_TEST(test_ack_retried_when_queue_full),
		H_TEST(test_syn_retried_when_queue_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
