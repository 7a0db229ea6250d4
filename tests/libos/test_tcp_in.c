/* test_tcp_in.c - TCP input: handshakes, data, reordering, duplicates, RST, FIN, TIME_WAIT */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tcp_int.h"

static uint8_t pattern[65536];

static void fill_pattern(void)
{
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + (i >> 8));
}

/* ---- handshakes ---- */

static void test_passive_open_all_options(void **state)
{
	struct peer p;
	struct parsed q;

	(void)state;
	peer_init(&p, 80);
	h_listen_syn(&p, 80, 0, &q);
	peer_check(&p, &q, TCP_SYN | TCP_ACK);
	assert_int_equal(q.ack, p.seq);
	assert_int_equal(q.opt.mss, 1460);
	assert_true(q.opt.sack_perm);
	assert_true(q.opt.ts);
	assert_int_equal(q.opt.tsecr, p.tsval - 1);
	assert_true(q.opt.wscale > 0);
	assert_int_equal(q.win, 65535); /* unscaled in a SYN-ACK */
	assert_int_equal(H.naccepted, 0);
	p.ack = q.seq + 1;
	peer_send(&p, TCP_ACK, NULL, 0);
	assert_int_equal(H.naccepted, 1);
	h_expect_none();

	struct exos_tcp_info info;
	exos_tcp_info(H.accepted[0], &info);
	assert_int_equal(info.state, EXOS_TCP_ESTABLISHED);
	assert_int_equal(info.mss, 1448);
	assert_true(info.ts_ok && info.sack_ok);
	assert_int_equal(info.snd_wscale, 7);
	assert_int_equal(info.snd_wnd, 65535u << 7);
	h_abort(H.accepted[0]);
	exos_tcp_close(H.listener);
}

struct syn_case {
	bool mss, ws, ts, sack;
};

static void syn_variant(const struct syn_case *sc)
{
	struct peer p;
	struct parsed q;

	peer_init(&p, 81);
	p.mss = sc->mss ? 1200 : 0;
	p.wscale = sc->ws ? 3 : -1;
	p.ts = sc->ts;
	p.sack = sc->sack;
	h_listen_syn(&p, 81, 0, &q);
	peer_check(&p, &q, TCP_SYN | TCP_ACK);
	assert_int_equal(q.opt.mss, 1460); /* we always announce ours */
	assert_int_equal(q.opt.ts, sc->ts);
	assert_int_equal(q.opt.sack_perm, sc->sack);
	assert_int_equal(q.opt.wscale >= 0, sc->ws);
	p.ack = q.seq + 1;
	peer_send(&p, TCP_ACK, NULL, 0);
	assert_int_equal(H.naccepted, 1);

	struct exos_tcp_info info;
	exos_tcp_info(H.accepted[0], &info);
	assert_int_equal(info.mss, (sc->mss ? 1200 : 536) - (sc->ts ? 12 : 0));
	assert_int_equal(info.ts_ok, sc->ts);
	assert_int_equal(info.sack_ok, sc->sack);
	if (!sc->ws) {
		assert_int_equal(info.snd_wscale, 0);
		assert_int_equal(info.rcv_wscale, 0);
	}
	/* Data segments: timestamps only when negotiated, window within 16 bits. */
	peer_send(&p, TCP_ACK | TCP_PSH, "x", 1);
	peer_send(&p, TCP_ACK | TCP_PSH, "y", 1);
	h_next(&q);
	peer_check(&p, &q, TCP_ACK);
	assert_int_equal(q.opt.ts, sc->ts);
	assert_int_equal(q.ack, p.seq);
	h_abort(H.accepted[0]);
	exos_tcp_close(H.listener);
}

static void test_syn_option_variants(void **state)
{
	(void)state;
	for (int m = 0; m < 16; m++) {
		struct syn_case sc = {m & 1, m & 2, m & 4, m & 8};
		h_teardown(NULL);
		h_setup(NULL);
		syn_variant(&sc);
	}
}

static void test_active_open(void **state)
{
	struct exos_tcp_opts o = {
		.sz = sizeof(o), .remote_addr = ip4(PEER_IP), .remote_port = 40000};
	struct exos_tcp *c;
	struct peer p;
	struct parsed q;
	struct dpf_filter f;

	(void)state;
	peer_init(&p, 0);
	size_t filters = fake_filters_active();
	assert_int_equal(exos_tcp_connect(H.s, &o, &h_ops, NULL, &c), 0);
	assert_int_equal(fake_filters_active(), filters + 1); /* its 4-tuple filter */
	assert_true(fake_filter_last(&f));
	h_next(&q);
	p.lport = q.sport;
	peer_check(&p, &q, TCP_SYN);
	assert_true(q.sport >= 32768 && q.sport <= 60999);
	assert_int_equal(q.opt.mss, 1460);
	assert_true(q.opt.sack_perm && q.opt.ts && q.opt.wscale > 0);
	assert_int_equal(q.opt.tsecr, 0);
	assert_int_equal(q.win, 65535);
	p.ack = q.seq + 1;
	peer_send(&p, TCP_SYN | TCP_ACK, NULL, 0);
	assert_int_equal(H.connected, 1);
	h_next(&q);
	peer_check(&p, &q, TCP_ACK);
	assert_int_equal(q.seq, p.ack);
	assert_int_equal(q.ack, p.seq);
	assert_true(q.opt.ts);
	assert_int_equal(q.opt.tsecr, p.tsval - 1);
	h_expect_none();
	h_abort(c);
}

/* webswamp's merging: a request sent from on_connected carries the handshake's ACK. */
static void send_request(struct exos_tcp *c)
{
	struct exos_tcp_sendreq r = {.data = "GET /\r\n", .len = 7,
				     .flags = EXOS_TCP_SEND_COPY};
	assert_int_equal(exos_tcp_send(c, &r, 1), 0);
}

static void test_active_open_ack_merged(void **state)
{
	struct peer p;
	struct parsed q;

	(void)state;
	peer_init(&p, 0);
	H.on_connected_hook = send_request;
	struct exos_tcp *c = h_connect_syn(&p, 0, &q);
	p.ack = q.seq + 1;
	peer_send(&p, TCP_SYN | TCP_ACK, NULL, 0);
	h_next(&q);
	peer_check(&p, &q, TCP_ACK | TCP_PSH);
	assert_int_equal(q.len, 7);
	assert_int_equal(q.ack, p.seq);
	h_expect_none(); /* no separate ACK */
	h_abort(c);
}

static void test_simultaneous_open(void **state)
{
	struct exos_tcp_opts o = {.sz = sizeof(o),
				  .local_port = 5555,
				  .remote_addr = ip4(PEER_IP),
				  .remote_port = 40000};
	struct exos_tcp *c;
	struct peer p;
	struct parsed q;

	(void)state;
	peer_init(&p, 5555);
	assert_int_equal(exos_tcp_connect(H.s, &o, &h_ops, NULL, &c), 0);
	h_next(&q);
	peer_check(&p, &q, TCP_SYN);
	uint32_t iss = q.seq;
	/* The peer's SYN crosses ours. */
	peer_send(&p, TCP_SYN, NULL, 0);
	h_next(&q);
	peer_check(&p, &q, TCP_SYN | TCP_ACK);
	assert_int_equal(q.seq, iss);
	assert_int_equal(q.ack, p.seq);
	assert_int_equal(H.connected, 0);
	/* Its SYN-ACK for our SYN. */
	p.ack = iss + 1;
	peer_send_at(&p, p.seq - 1, TCP_SYN | TCP_ACK, NULL, 0);
	/* ...is a SYN in a synchronized state?  No: we are in SYN_RCVD and the SYN is the
	 * same as before, so it re-elicits our SYN-ACK or is ignored; the plain ACK below
	 * completes the handshake either way. */
	h_drain();
	peer_send(&p, TCP_ACK, NULL, 0);
	assert_int_equal(H.connected, 1);
	struct exos_tcp_info info;
	exos_tcp_info(c, &info);
	assert_int_equal(info.state, EXOS_TCP_ESTABLISHED);
	h_abort(c);
}

static void test_connect_refused(void **state)
{
	struct peer p;
	struct parsed q;

	(void)state;
	peer_init(&p, 0);
	h_connect_syn(&p, 0, &q);
	/* A RST whose ACK does not acknowledge our SYN is ignored ... */
	p.ack = q.seq + 7;
	peer_send(&p, TCP_RST | TCP_ACK, NULL, 0);
	assert_int_equal(H.errors, 0);
	/* ... one that does refuses the connection. */
	p.ack = q.seq + 1;
	peer_send(&p, TCP_RST | TCP_ACK, NULL, 0);
	assert_int_equal(H.errors, 1);
	assert_int_equal(H.last_err, -ECONNREFUSED);
	h_poll();
	assert_int_equal(H.freed, 1);
}

static void test_listen_no_pcb_rst(void **state)
{
	struct peer p;
	struct parsed q;

	(void)state;
	peer_init(&p, 9999);
	/* No listener: a SYN is answered with RST|ACK, an ACK with RST at its ack. */
	peer_send(&p, TCP_SYN, NULL, 0);
	h_next(&q);
	peer_check(&p, &q, TCP_RST | TCP_ACK);
	assert_int_equal(q.seq, 0);
	assert_int_equal(q.ack, p.seq);
	p.ack = 777;
	peer_send(&p, TCP_ACK, "z", 1);
	h_next(&q);
	peer_check(&p, &q, TCP_RST);
	assert_int_equal(q.seq, 777);
	/* A RST is never answered. */
	peer_send(&p, TCP_RST, NULL, 0);
	h_expect_none();
}

static void test_listen_backlog(void **state)
{
	struct exos_tcp_opts o = {.sz = sizeof(o), .local_port = 82, .backlog = 2};
	struct peer p[3];
	struct parsed q;

	(void)state;
	assert_int_equal(exos_tcp_listen(H.s, &o, &h_ops, NULL, &H.listener), 0);
	for (int i = 0; i < 3; i++) {
		peer_init(&p[i], 82);
		p[i].port = (uint16_t)(41000 + i);
		peer_send(&p[i], TCP_SYN, NULL, 0);
	}
	h_next(&q);
	h_next(&q);
	h_expect_none(); /* the third SYN was dropped */
	struct exos_stack_stats st;
	h_stats(&st);
	assert_int_equal(st.tcp_listen_overflow, 1);
	exos_tcp_close(H.listener); /* resets the two embryos */
	h_poll();
	h_next(&q);
	assert_true(q.flags & TCP_RST);
	h_next(&q);
	assert_true(q.flags & TCP_RST);
}

/* ---- data ---- */

static void test_data_in_place_and_delayed_ack(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;

	fill_pattern();
	peer_send(p, TCP_ACK | TCP_PSH, pattern, 100);
	assert_int_equal(H.rxlen, 100);
	assert_memory_equal(H.rx, pattern, 100);
	h_expect_none(); /* one segment: the ACK is delayed */
	h_advance(39 * MS);
	h_expect_none();
	h_advance(2 * MS);
	h_next(&q);
	peer_check(p, &q, TCP_ACK);
	assert_int_equal(q.ack, p->seq);
	/* Two full segments: ACK at once. */
	peer_send(p, TCP_ACK, pattern + 100, 1448);
	h_expect_none();
	peer_send(p, TCP_ACK, pattern + 1548, 1448);
	h_next(&q);
	assert_int_equal(q.ack, p->seq);
	assert_int_equal(H.rxlen, 100 + 2 * 1448);
	assert_memory_equal(H.rx, pattern, H.rxlen);
	h_abort(c);
}

static void test_out_of_order_and_sack(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;

	fill_pattern();
	uint32_t base = p->seq;
	/* Segments 2 and 4 arrive before 1 and 3. */
	peer_send_at(p, base + 1000, TCP_ACK, pattern + 1000, 1000);
	h_next(&q);
	peer_check(p, &q, TCP_ACK);
	assert_int_equal(q.ack, base);
	assert_int_equal(q.opt.nsack, 1);
	assert_int_equal(q.opt.sack[0][0], base + 1000);
	assert_int_equal(q.opt.sack[0][1], base + 2000);
	peer_send_at(p, base + 3000, TCP_ACK, pattern + 3000, 1000);
	h_next(&q);
	assert_int_equal(q.ack, base);
	assert_int_equal(q.opt.nsack, 2);
	assert_int_equal(q.opt.sack[0][0], base + 3000); /* most recent first (RFC 2018) */
	assert_int_equal(q.opt.sack[0][1], base + 4000);
	assert_int_equal(q.opt.sack[1][0], base + 1000);
	assert_int_equal(H.rxlen, 0);
	/* A duplicate of an out-of-order segment changes nothing but is ACKed. */
	peer_send_at(p, base + 3000, TCP_ACK, pattern + 3000, 1000);
	h_next(&q);
	assert_int_equal(q.ack, base);
	/* 1 fills the first hole: 1 and 2 are delivered, ACK at once. */
	peer_send_at(p, base, TCP_ACK, pattern, 1000);
	h_next(&q);
	assert_int_equal(q.ack, base + 2000);
	assert_int_equal(q.opt.nsack, 1);
	assert_int_equal(q.opt.sack[0][0], base + 3000);
	assert_int_equal(H.rxlen, 2000);
	/* 3 overlapping 2 and 4 partially. */
	peer_send_at(p, base + 1500, TCP_ACK, pattern + 1500, 1700);
	h_next(&q);
	assert_int_equal(q.ack, base + 4000);
	assert_int_equal(q.opt.nsack, 0);
	assert_int_equal(H.rxlen, 4000);
	assert_memory_equal(H.rx, pattern, 4000);
	p->seq = base + 4000;
	struct exos_stack_stats st;
	h_stats(&st);
	assert_int_equal(st.bufs_inuse, 0); /* everything delivered, buffers back */
	h_abort(c);
}

static void test_duplicate_segment(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;

	fill_pattern();
	uint32_t base = p->seq;
	peer_send(p, TCP_ACK, pattern, 500);
	h_advance(50 * MS);
	h_next(&q); /* delayed ACK */
	peer_send_at(p, base, TCP_ACK, pattern, 500); /* retransmitted: old */
	h_next(&q);
	peer_check(p, &q, TCP_ACK);
	assert_int_equal(q.ack, base + 500);
	assert_int_equal(H.rxlen, 500); /* not delivered twice */
	struct exos_stack_stats st;
	h_stats(&st);
	assert_int_equal(st.tcp_dup_in, 1);
	h_abort(c);
}

static void test_partial_consume(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;

	fill_pattern();
	H.consume = 300;
	peer_send(p, TCP_ACK, pattern, 1000);
	assert_int_equal(H.rxlen, 300);
	struct exos_tcp_info info;
	exos_tcp_info(c, &info);
	assert_int_equal(info.rcv_wnd, (4u << 20) - 700); /* the kept bytes count */
	H.consume = SIZE_MAX;
	exos_tcp_rx_resume(c);
	assert_int_equal(H.rxlen, 1000);
	assert_memory_equal(H.rx, pattern, 1000);
	/* Kept data is offered first when more arrives. */
	H.consume = 0;
	peer_send(p, TCP_ACK, pattern + 1000, 100);
	H.consume = SIZE_MAX;
	peer_send(p, TCP_ACK, pattern + 1100, 100);
	assert_int_equal(H.rxlen, 1200);
	assert_memory_equal(H.rx, pattern, 1200);
	h_drain();
	(void)q;
	h_abort(c);
}

/* ---- RST ---- */

static void test_rst_exact_in_window_out_of_window(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct parsed q;

	/* Out of window: silently dropped. */
	peer_send_at(p, p->seq + 100000000u, TCP_RST, NULL, 0);
	h_expect_none();
	assert_int_equal(H.errors, 0);
	/* In window, not exact: a challenge ACK (RFC 5961), the connection lives. */
	peer_send_at(p, p->seq + 10, TCP_RST, NULL, 0);
	h_next(&q);
	peer_check(p, &q, TCP_ACK);
	assert_int_equal(q.ack, p->seq);
	assert_int_equal(H.errors, 0);
	/* A SYN in a synchronized state: challenge ACK too. */
	peer_send_at(p, p->seq + 10, TCP_SYN, NULL, 0);
	h_next(&q);
	peer_check(p, &q, TCP_ACK);
	assert_int_equal(H.errors, 0);
	/* Exact: reset. */
	peer_send_at(p, p->seq, TCP_RST, NULL, 0);
	h_expect_none();
	assert_int_equal(H.errors, 1);
	assert_int_equal(H.last_err, -ECONNRESET);
	h_poll();
	assert_int_equal(H.freed, 1);
}

static void test_paws(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;

	p->tsval -= 100; /* an old timestamp: a wrapped duplicate */
	peer_send(p, TCP_ACK, "old", 3);
	h_next(&q);
	peer_check(p, &q, TCP_ACK);
	assert_int_equal(q.ack, p->seq - 3);
	assert_int_equal(H.rxlen, 0);
	struct exos_stack_stats st;
	h_stats(&st);
	assert_int_equal(st.tcp_paws_drop, 1);
	h_abort(c);
}

static void test_bad_checksum_dropped(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	uint8_t frame[256];

	struct forge_tcp f = {.sport = p->port, .dport = 80, .seq = p->seq, .ack = p->ack,
			      .flags = TCP_ACK, .win = 1000, .wscale = -1, .data = "abc",
			      .len = 3, .bad_csum = true};
	h_inject(frame, forge_tcp(frame, &f));
	assert_int_equal(H.rxlen, 0);
	struct exos_stack_stats st;
	h_stats(&st);
	assert_int_equal(st.rx_drop_csum, 1);
	h_abort(c);
}

/* ---- FIN, both orders; TIME_WAIT ---- */

static void test_peer_closes_first(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;

	peer_send(p, TCP_ACK | TCP_FIN, "bye", 3);
	assert_int_equal(H.rxlen, 3);
	assert_int_equal(H.closed, 1);
	h_next(&q); /* FIN is ACKed at once */
	peer_check(p, &q, TCP_ACK);
	assert_int_equal(q.ack, p->seq);
	struct exos_tcp_info info;
	exos_tcp_info(c, &info);
	assert_int_equal(info.state, EXOS_TCP_CLOSE_WAIT);
	/* Our close: FIN, LAST_ACK; the peer's ACK ends it (no TIME_WAIT on this side). */
	assert_int_equal(exos_tcp_close(c), 0);
	h_next(&q);
	peer_check(p, &q, TCP_ACK | TCP_FIN);
	p->ack = q.seq + 1;
	peer_send(p, TCP_ACK, NULL, 0);
	h_poll();
	assert_int_equal(H.freed, 1);
	struct exos_stack_stats st;
	h_stats(&st);
	assert_int_equal(st.tcp_tw_inuse, 0);
}

static void test_we_close_first_time_wait(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;

	assert_int_equal(exos_tcp_shutdown(c), 0);
	h_next(&q);
	peer_check(p, &q, TCP_ACK | TCP_FIN);
	p->ack = q.seq + 1;
	peer_send(p, TCP_ACK, NULL, 0); /* FIN_WAIT_2 */
	struct exos_tcp_info info;
	exos_tcp_info(c, &info);
	assert_int_equal(info.state, EXOS_TCP_FIN_WAIT_2);
	/* Data still arrives in FIN_WAIT_2. */
	peer_send(p, TCP_ACK, "late", 4);
	assert_int_equal(H.rxlen, 4);
	peer_send(p, TCP_ACK | TCP_FIN, NULL, 0);
	h_next(&q);
	peer_check(p, &q, TCP_ACK);
	assert_int_equal(q.ack, p->seq);
	assert_int_equal(H.closed, 1);
	h_poll();
	assert_int_equal(H.freed, 1); /* the PCB is gone ... */
	struct exos_stack_stats st;
	h_stats(&st);
	assert_int_equal(st.tcp_tw_inuse, 1); /* ... a compact block remains */
	assert_int_equal(st.tcp_pcbs_inuse, 1); /* the listener */
	/* A retransmitted FIN is ACKed again. */
	peer_send_at(p, p->seq - 1, TCP_ACK | TCP_FIN, NULL, 0);
	h_next(&q);
	peer_check(p, &q, TCP_ACK);
	assert_int_equal(q.ack, p->seq);
	assert_int_equal(q.seq, p->ack);
	assert_true(q.opt.ts);
	/* 2 MSL later it is gone. */
	h_advance(59 * SEC);
	h_stats(&st);
	assert_int_equal(st.tcp_tw_inuse, 1);
	h_advance(2 * SEC);
	h_stats(&st);
	assert_int_equal(st.tcp_tw_inuse, 0);
}

/* A TIME_WAIT block has no PCB to send its ACK again: one that finds xokd's queue full is
 * held and goes out once there is room (the stack's wait looks again soon meanwhile), once. */
static void test_time_wait_ack_held_when_queue_full(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_stack_stats st;
	struct parsed q;

	h_close_to_time_wait(p, conn->c);
	h_stats(&st);
	assert_int_equal(st.tcp_tw_inuse, 1);
	uint64_t out0 = st.tcp_out;
	fake_xmit_fail(-EAGAIN, 1000); /* full until further notice */
	peer_send_at(p, p->seq - 1, TCP_ACK | TCP_FIN, NULL, 0); /* a retransmitted FIN */
	h_expect_none();
	h_queue_full_then_room(1, TX_BLOCKED_RETRY_NS);
	h_next(&q);
	peer_check(p, &q, TCP_ACK);
	assert_int_equal(q.ack, p->seq);
	h_advance(10 * MS);
	h_expect_none(); /* once */
	h_stats(&st);
	assert_int_equal(st.tcp_out, out0 + 1); /* counted when sent, not per attempt */
}

static void test_simultaneous_close(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;

	exos_tcp_shutdown(c);
	h_next(&q);
	peer_check(p, &q, TCP_ACK | TCP_FIN);
	uint32_t our_fin = q.seq;
	/* The peer's FIN crosses ours, not acknowledging it. */
	peer_send(p, TCP_ACK | TCP_FIN, NULL, 0);
	h_next(&q);
	peer_check(p, &q, TCP_ACK);
	struct exos_tcp_info info;
	exos_tcp_info(c, &info);
	assert_int_equal(info.state, EXOS_TCP_CLOSING);
	p->ack = our_fin + 1;
	peer_send(p, TCP_ACK, NULL, 0);
	h_poll();
	struct exos_stack_stats st;
	h_stats(&st);
	assert_int_equal(st.tcp_tw_inuse, 1);
	assert_int_equal(H.freed, 1); /* done: the handle is gone */
}

static void test_fin_out_of_order(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;

	fill_pattern();
	uint32_t base = p->seq;
	peer_send_at(p, base + 100, TCP_ACK | TCP_FIN, pattern + 100, 100);
	h_next(&q);
	assert_int_equal(q.ack, base);
	assert_int_equal(H.closed, 0);
	peer_send_at(p, base, TCP_ACK, pattern, 100);
	h_next(&q);
	assert_int_equal(q.ack, base + 201);
	assert_int_equal(H.rxlen, 200);
	assert_int_equal(H.closed, 1);
	p->seq = base + 201;
	exos_tcp_close(c);
	h_next(&q);
	peer_check(p, &q, TCP_ACK | TCP_FIN);
	p->ack = q.seq + 1;
	peer_send(p, TCP_ACK, NULL, 0);
}

static void test_data_after_close_resets(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;

	exos_tcp_close(c);
	h_next(&q);
	peer_check(p, &q, TCP_ACK | TCP_FIN);
	p->ack = q.seq + 1;
	peer_send(p, TCP_ACK, "more", 4);
	h_next(&q);
	assert_true(q.flags & TCP_RST);
	h_poll();
	assert_int_equal(H.freed, 1);
}

static void test_time_wait_new_syn(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct parsed q;

	h_close_to_time_wait(p, conn->c);
	struct exos_stack_stats st;
	h_stats(&st);
	assert_int_equal(st.tcp_tw_inuse, 1);
	/* A new SYN with a higher sequence number reopens the 4-tuple (RFC 6191). */
	p->seq += 100000;
	H.naccepted = 0;
	peer_send(p, TCP_SYN, NULL, 0);
	h_next(&q);
	peer_check(p, &q, TCP_SYN | TCP_ACK);
	h_stats(&st);
	assert_int_equal(st.tcp_tw_inuse, 0);
	p->ack = q.seq + 1;
	peer_send(p, TCP_ACK, NULL, 0);
	assert_int_equal(H.naccepted, 1);
	h_abort(H.accepted[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		H_TEST(test_passive_open_all_options),
		H_TEST(test_syn_option_variants),
		H_TEST(test_active_open),
		H_TEST(test_active_open_ack_merged),
		H_TEST(test_simultaneous_open),
		H_TEST(test_connect_refused),
		H_TEST(test_listen_no_pcb_rst),
		H_TEST(test_listen_backlog),
		H_CONN_TEST(test_data_in_place_and_delayed_ack),
		H_CONN_TEST(test_out_of_order_and_sack),
		H_CONN_TEST(test_duplicate_segment),
		H_CONN_TEST(test_partial_consume),
		H_CONN_TEST(test_rst_exact_in_window_out_of_window),
		H_CONN_TEST(test_paws),
		H_CONN_TEST(test_bad_checksum_dropped),
		H_CONN_TEST(test_peer_closes_first),
		H_CONN_TEST(test_we_close_first_time_wait),
		H_CONN_TEST(test_time_wait_ack_held_when_queue_full),
		H_CONN_TEST(test_simultaneous_close),
		H_CONN_TEST(test_fin_out_of_order),
		H_CONN_TEST(test_data_after_close_resets),
		H_CONN_TEST(test_time_wait_new_syn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
