/* test_tcp_cc.c - loss recovery: fast retransmit (NewReno), SACK recovery, limited transmit,
 * RTO recovery; bulk transfers both ways through a lossy, duplicating, reordering link */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tcp_int.h"

static struct exos_region *region;
static uint8_t *mem;
#define MEM_SIZE (4u << 20)

/* Run by h_setup for every test (h_suite_setup). */
static void make_mem(void)
{
	assert_int_equal(exos_region_create(exos_stack_sys(H.s), MEM_SIZE, &region), 0);
	mem = region->base;
	H.region = region;
	srand(12345);
	for (size_t i = 0; i < MEM_SIZE; i++)
		mem[i] = (uint8_t)rand();
}

/* Sends `n` bytes from mem and returns how many segments went out (dropped here). */
static int send_and_count(struct exos_tcp *c, size_t n, uint32_t *first_seq)
{
	struct exos_tcp_sendreq r = {.data = mem, .len = n};
	struct parsed q;
	int segs = 0;

	assert_int_equal(exos_tcp_send(c, &r, 1), 0);
	while (h_try_next(&q)) {
		if (!segs)
			*first_seq = q.seq;
		segs++;
	}
	return segs;
}

/* The peer's duplicate ACK, with one SACK block when nsack is 1. */
static void dupack(struct peer *p, int nsack, uint32_t s0, uint32_t e0)
{
	const uint32_t sack[1][2] = {{s0, e0}};

	peer_send_sack(p, nsack, sack);
}

static void test_fast_retransmit_newreno(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;
	uint32_t s0;

	const uint32_t M = 1448;
	int segs = send_and_count(c, 10 * M, &s0);
	assert_int_equal(segs, 10);
	/* Segment 0 lost: the peer ACKs segment -1 (p->ack) three more times. */
	p->ack = s0;
	dupack(p, 0, 0, 0);
	dupack(p, 0, 0, 0);
	h_expect_none(); /* limited transmit has no new data to send */
	dupack(p, 0, 0, 0);
	h_next(&q); /* the fast retransmission */
	assert_int_equal(q.seq, s0);
	assert_int_equal(q.len, M);
	struct exos_stack_stats st;
	h_stats(&st);
	assert_int_equal(st.tcp_fast_retransmits, 1);
	struct exos_tcp_info info;
	exos_tcp_info(c, &info);
	assert_int_equal(info.ssthresh, 5 * M);
	/* A partial ACK (segments 0..4 arrived, 5 lost too): retransmit 5 at once. */
	p->ack = s0 + 5 * M;
	peer_send(p, TCP_ACK, NULL, 0);
	h_next(&q);
	assert_int_equal(q.seq, s0 + 5 * M);
	/* The full ACK ends recovery. */
	p->ack = s0 + 10 * M;
	peer_send(p, TCP_ACK, NULL, 0);
	exos_tcp_info(c, &info);
	assert_true(info.cwnd <= 5 * M + M);
	h_drain();
	h_abort(c);
}

static void sack2(struct peer *p, uint32_t s0, uint32_t e0, uint32_t s1, uint32_t e1)
{
	const uint32_t sack[2][2] = {{s0, e0}, {s1, e1}};

	peer_send_sack(p, 2, sack);
}

static void test_sack_recovery_retransmits_holes_only(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;
	uint32_t s0;

	const uint32_t M = 1448;
	assert_int_equal(send_and_count(c, 10 * M, &s0), 10);
	h_advance(1 * MS); /* the round trip */
	/* Segments 2 and 5 lost.  The SACK of 3: 2 was sent before it - lost (RACK) once a
	 * quarter of the minimum RTT has passed without it, and fast-retransmitted. */
	p->ack = s0 + 2 * M;
	dupack(p, 1, s0 + 3 * M, s0 + 4 * M);
	h_expect_none();
	h_advance(250 * 1000);
	h_next(&q);
	assert_int_equal(q.seq, s0 + 2 * M);
	h_expect_none();
	struct exos_tcp_info info;
	exos_tcp_info(c, &info);
	assert_int_equal(info.ssthresh, 4 * M);
	dupack(p, 1, s0 + 3 * M, s0 + 5 * M);
	h_expect_none(); /* pipe (8 - 2 SACKed) is above cwnd (4) */
	sack2(p, s0 + 6 * M, s0 + 10 * M, s0 + 3 * M, s0 + 5 * M);
	/* 5 is lost too; pipe is now 8 - 6 - 1: room for it, and only it. */
	h_next(&q);
	assert_int_equal(q.seq, s0 + 5 * M);
	h_expect_none();
	p->ack = s0 + 10 * M;
	peer_send(p, TCP_ACK, NULL, 0);
	exos_tcp_info(c, &info);
	assert_int_equal(info.total_retrans, 2);
	assert_int_equal(info.cwnd, 4 * M); /* recovery over: cwnd = ssthresh */
	h_drain();
	h_abort(c);
}

static void test_lost_retransmission(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;
	uint32_t s0;

	const uint32_t M = 1448;
	struct exos_tcp_sendreq r = {.data = mem, .len = 30 * M};
	assert_int_equal(exos_tcp_send(c, &r, 1), 0);
	h_next(&q);
	s0 = q.seq;
	h_drain(); /* 10 segments */
	h_advance(1 * MS);
	p->ack = s0;
	dupack(p, 1, s0 + M, s0 + 2 * M); /* 0 lost: retransmitted */
	h_advance(250 * 1000);
	h_next(&q);
	assert_int_equal(q.seq, s0);
	h_drain();
	h_advance(1 * MS);
	/* The SACKs go on; new data goes out as they free the pipe ... */
	dupack(p, 1, s0 + M, s0 + 9 * M);
	h_drain();
	h_advance(1 * MS);
	/* ... and when data sent after the retransmission is SACKed while 0 is still
	 * missing, the retransmission was lost too: again (no RTO needed). */
	dupack(p, 1, s0 + M, s0 + 11 * M);
	bool again = false;
	while (h_try_next(&q))
		again |= q.seq == s0;
	assert_true(again);
	struct exos_stack_stats st;
	h_stats(&st);
	assert_int_equal(st.tcp_rto_fired, 0);
	h_abort(c);
}

static void test_limited_transmit(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;
	uint32_t s0;

	const uint32_t M = 1448;
	assert_int_equal(send_and_count(c, 10 * M, &s0), 10);
	struct exos_tcp_sendreq r = {.data = mem + 10 * M, .len = 4 * M};
	assert_int_equal(exos_tcp_send(c, &r, 1), 0);
	h_expect_none(); /* cwnd full */
	p->ack = s0;
	dupack(p, 0, 0, 0);
	h_next(&q); /* RFC 3042: one new segment per duplicate ACK */
	assert_int_equal(q.seq, s0 + 10 * M);
	dupack(p, 0, 0, 0);
	h_next(&q);
	assert_int_equal(q.seq, s0 + 11 * M);
	h_drain();
	h_abort(c);
}

static void test_rto_goes_back(void **state)
{
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;
	uint32_t s0;

	const uint32_t M = 1448;
	assert_int_equal(send_and_count(c, 4 * M, &s0), 4);
	struct exos_tcp_info info;
	exos_tcp_info(c, &info);
	h_advance((uint64_t)info.rto_us * 1000);
	h_next(&q);
	assert_int_equal(q.seq, s0); /* RTO: the first segment, one (cwnd 1) */
	h_expect_none();
	p->ack = s0 + M;
	peer_send(p, TCP_ACK, NULL, 0);
	/* Slow start from one segment, everything outstanding resent in order. */
	h_next(&q);
	assert_int_equal(q.seq, s0 + M);
	h_next(&q);
	assert_int_equal(q.seq, s0 + 2 * M);
	h_expect_none();
	h_abort(c);
}

/* ---- a lossy link ---- */

struct link {
	unsigned loss, dup, reorder; /* percent */
	struct fake_frame held;
	bool has_held;
};

static bool chance(unsigned pct)
{
	return (unsigned)(rand() % 100) < pct;
}

/* The receiving peer: keeps what arrived as ranges, ACKs each segment with SACK blocks
 * (most recent first). */
struct rpeer {
	struct peer p;
	uint32_t irs;
	uint8_t *buf;
	size_t total;
	uint8_t *have; /* per byte: received */
	uint32_t recent[3][2];
	int nrecent;
};

static void rpeer_ack(struct rpeer *r, struct link *back)
{
	uint8_t frame[256];
	struct forge_tcp f = {.saddr = r->p.ip, .sport = r->p.port, .dport = r->p.lport,
			      .seq = r->p.seq, .ack = r->p.ack, .flags = TCP_ACK,
			      .win = r->p.win, .wscale = -1, .ts = true, .tsval = r->p.tsval++,
			      .tsecr = r->p.ts_recent, .nsack = r->nrecent};
	memcpy(f.sack, r->recent, sizeof(r->recent));
	if (chance(back->loss))
		return;
	fake_inject(frame, forge_tcp(frame, &f));
}

static void rpeer_rx(struct rpeer *r, const struct parsed *q, struct link *back)
{
	if (q->opt.ts)
		r->p.ts_recent = q->opt.tsval;
	size_t off = q->seq - r->irs;
	if (q->len && off + q->len <= r->total) {
		memcpy(r->buf + off, q->payload, q->len);
		memset(r->have + off, 1, q->len);
	}
	size_t nxt = r->p.ack - r->irs;
	while (nxt < r->total && r->have[nxt])
		nxt++;
	r->p.ack = r->irs + (uint32_t)nxt;
	/* The block containing this segment first, then the older ones still above. */
	uint32_t blocks[3][2];
	int n = 0;
	if (q->len && off > nxt) {
		size_t a = off, b = off + q->len;
		while (a > nxt && r->have[a - 1])
			a--;
		while (b < r->total && r->have[b])
			b++;
		blocks[n][0] = r->irs + (uint32_t)a;
		blocks[n][1] = r->irs + (uint32_t)b;
		n++;
	}
	for (int i = 0; i < r->nrecent && n < 3; i++) {
		size_t a = r->recent[i][0] - r->irs;
		if (a <= nxt || (n && r->recent[i][0] >= blocks[0][0] &&
				 r->recent[i][0] < blocks[0][1]))
			continue;
		size_t b = a;
		while (b < r->total && r->have[b])
			b++;
		blocks[n][0] = r->recent[i][0];
		blocks[n][1] = r->irs + (uint32_t)b;
		n++;
	}
	memcpy(r->recent, blocks, sizeof(blocks));
	r->nrecent = n;
	rpeer_ack(r, back);
}

/* Our stack sends `total` bytes to a peer over a lossy link. */
static void bulk_send(unsigned loss, unsigned dup, unsigned reorder, size_t total)
{
	struct link fwd = {loss, dup, reorder}, back = {loss, 0, 0};
	struct rpeer r;
	struct fake_frame f;
	struct parsed q;

	peer_init(&r.p, 80);
	struct exos_tcp *c = h_passive_open(&r.p, 80, 0);
	r.irs = r.p.ack;
	r.total = total;
	r.buf = calloc(1, total);
	r.have = calloc(1, total);
	r.nrecent = 0;
	struct exos_tcp_sendreq req = {.data = mem, .len = total, .flags = EXOS_TCP_SEND_FIN};
	assert_int_equal(exos_tcp_send(c, &req, 1), 0);
	uint64_t t0 = fake_time();
	int rounds = 0;
	while (r.p.ack - r.irs < total && rounds < 200000) {
		rounds++;
		while (fake_tx_pop(&f)) {
			if (chance(fwd.loss))
				continue;
			assert_int_equal(parse_frame(f.data, f.len, &q), 0);
			assert_true(q.csum_ok);
			if (fwd.has_held) { /* deliver the held one after this one */
				struct parsed hq;
				assert_int_equal(parse_frame(f.data, f.len, &q), 0);
				rpeer_rx(&r, &q, &back);
				parse_frame(fwd.held.data, fwd.held.len, &hq);
				rpeer_rx(&r, &hq, &back);
				fwd.has_held = false;
				continue;
			}
			if (chance(fwd.reorder)) {
				fwd.held = f;
				fwd.has_held = true;
				continue;
			}
			rpeer_rx(&r, &q, &back);
			if (chance(fwd.dup))
				rpeer_rx(&r, &q, &back);
		}
		if (fwd.has_held) {
			struct parsed hq;
			parse_frame(fwd.held.data, fwd.held.len, &hq);
			rpeer_rx(&r, &hq, &back);
			fwd.has_held = false;
		}
		h_advance(MS); /* the link's delay: ACKs processed, timers run */
	}
	assert_int_equal(r.p.ack - r.irs, total);
	assert_memory_equal(r.buf, mem, total);
	print_message("bulk send %zu bytes, loss %u%%: %.3f s simulated, %d rounds\n", total, loss,
		      (double)(fake_time() - t0) / 1e9, rounds);
	/* Close: ACK our FIN, send ours. */
	r.p.ack++;
	while (h_try_next(&q))
		;
	r.p.seq = r.p.seq;
	peer_send(&r.p, TCP_ACK | TCP_FIN, NULL, 0);
	h_drain();
	free(r.buf);
	free(r.have);
	exos_tcp_close(H.listener);
}

static void test_bulk_send_clean(void **state)
{
	(void)state;
	bulk_send(0, 0, 0, 1u << 20);
}

static void test_bulk_send_lossy(void **state)
{
	(void)state;
	bulk_send(5, 1, 3, 2u << 20);
}

/* The reverse: a peer sends to our receiver over a lossy link, retransmitting what our
 * ACKs and SACK blocks do not cover after a timeout. */
static void test_bulk_receive_lossy(void **state)
{
	const size_t total = 2u << 20, M = 1448;
	const unsigned loss = 5;
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;
	uint32_t iss = p->seq;
	uint8_t *sacked = calloc(1, total / M + 1);
	uint32_t una = iss, nxt = iss;
	uint32_t wnd = 65535u << 7; /* from its SYN-ACK */
	uint64_t last_progress = fake_time();
	int rounds = 0;

	while (H.rxlen < total && rounds < 100000) {
		rounds++;
		/* Send new segments within our advertised window (at most 32 per round). */
		for (int k = 0; k < 32 && nxt - iss < total && nxt - una < wnd; k++) {
			size_t off = nxt - iss, n = MIN(M, total - off);
			if (!chance(loss)) {
				p->seq = nxt;
				peer_send_at(p, nxt, TCP_ACK, mem + off, n);
				if (chance(1))
					peer_send_at(p, nxt, TCP_ACK, mem + off, n);
			}
			nxt += (uint32_t)n;
		}
		/* Retransmit holes after a quiet period (a crude RTO). */
		if (fake_time() - last_progress > 20 * MS) {
			for (uint32_t s = una; s != nxt;) {
				size_t off = s - iss, n = MIN(M, total - off);
				if (!sacked[off / M] && !chance(loss))
					peer_send_at(p, s, TCP_ACK, mem + off, n);
				s += (uint32_t)n;
			}
			last_progress = fake_time();
		}
		/* Read our ACKs. */
		while (h_try_next(&q)) {
			if (chance(loss))
				continue;
			if (q.opt.ts)
				p->ts_recent = q.opt.tsval;
			if (SEQ_GT(q.ack, una)) {
				una = q.ack;
				last_progress = fake_time();
			}
			for (int b = 0; b < q.opt.nsack; b++)
				for (uint32_t s = q.opt.sack[b][0]; SEQ_LT(s, q.opt.sack[b][1]);
				     s += (uint32_t)M)
					sacked[(s - iss) / M] = 1;
			struct exos_tcp_info info;
			exos_tcp_info(c, &info);
			wnd = (uint32_t)q.win << info.rcv_wscale;
		}
		h_advance(MS);
	}
	assert_int_equal(H.rxlen, total);
	assert_memory_equal(H.rx, mem, total);
	struct exos_stack_stats st;
	h_stats(&st);
	assert_true(st.tcp_ooo_in > 0);
	print_message("bulk receive %zu bytes, loss %u%%: %d rounds, %lu out of order\n", total,
		      loss, rounds, (unsigned long)st.tcp_ooo_in);
	free(sacked);
	h_drain();
	h_abort(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		H_CONN_NOSACK_TEST(test_fast_retransmit_newreno),
		H_CONN_TEST(test_sack_recovery_retransmits_holes_only),
		H_CONN_TEST(test_lost_retransmission),
		H_CONN_NOSACK_TEST(test_limited_transmit),
		H_CONN_NOSACK_TEST(test_rto_goes_back),
		H_TEST(test_bulk_send_clean),
		H_TEST(test_bulk_send_lossy),
		H_CONN_TEST(test_bulk_receive_lossy),
	};
	h_suite_setup = make_mem;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
