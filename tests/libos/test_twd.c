/* test_twd.c - twd's engine: the closing states, TIME_WAIT, RFC 6191 SYNs, ports, release */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <xok/proto/tcp.h>

#include "forge.h"
#include "twd.h"

#define MS  1000000ull
#define SEC 1000000000ull

static struct {
	uint8_t frames[256][128];
	uint32_t len[256];
	int head, n;
	uint32_t refs, unrefs, last_unref;
	int ref_err;
} T;

static int t_ref(void *arg, uint32_t filter, const struct xok_cap *cap)
{
	(void)arg;
	(void)filter;
	(void)cap;
	if (T.ref_err)
		return T.ref_err;
	T.refs++;
	return 0;
}

static void t_unref(void *arg, uint32_t filter)
{
	(void)arg;
	T.unrefs++;
	T.last_unref = filter;
}

static int t_xmit(void *arg, uint32_t ifindex, const uint8_t *frame, uint32_t len)
{
	(void)arg;
	(void)ifindex;
	assert_true(T.n < 256 && len <= 128);
	memcpy(T.frames[(T.head + T.n) % 256], frame, len);
	T.len[(T.head + T.n) % 256] = len;
	T.n++;
	return 0;
}

static const struct twd_ops t_ops = {.ref = t_ref, .unref = t_unref, .xmit = t_xmit};

static void next(struct parsed *p)
{
	static uint8_t keep[128];

	if (!T.n)
		fail_msg("expected a frame from twd, none was sent");
	memcpy(keep, T.frames[T.head], T.len[T.head]);
	assert_int_equal(parse_frame(keep, T.len[T.head], p), 0);
	assert_true(p->ip_csum_ok);
	assert_true(p->csum_ok);
	assert_int_equal(p->proto, 6);
	T.head = (T.head + 1) % 256;
	T.n--;
}

static void none(void)
{
	if (T.n) {
		struct parsed p;
		next(&p);
		fail_msg("unexpected frame: flags 0x%02x seq %u ack %u", p.flags, p.seq, p.ack);
	}
}

#define NOW	(100 * SEC)
#define FIN	5000u	 /* our FIN's sequence number */
#define RCV	900000u	 /* the peer's next */
#define TSR	777u	 /* the peer's last TSval */
#define TSOFF	1000000u /* ours = ms + TSOFF */
#define FILTER	55
#define PORT	40000

static struct twd *t;

static int setup(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	t = twd_new(&t_ops, NULL, 1 * SEC); /* MSL 1 s: TIME_WAIT 2 s */
	return t ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	twd_free(t);
	assert_int_equal(T.unrefs, T.refs); /* every reference returned */
	return 0;
}

static struct twd_rec rec(uint8_t state, uint16_t rport)
{
	struct twd_rec r = {
		.laddr = ip4(OUR_IP),
		.raddr = ip4(PEER_IP),
		.lport = htons(80),
		.rport = htons(rport),
		.ifindex = 2,
		.state = state,
		.flags = TWD_F_TS | TWD_F_MAC,
		.rcv_wscale = 2,
		.win = 1000, /* 4000 bytes */
		.snd_una = FIN,
		.snd_nxt = FIN + 1,
		.fin_seq = FIN,
		.rcv_nxt = RCV,
		.ts_recent = TSR,
		.ts_offset = TSOFF,
		.rto_ms = 200,
		.filter = FILTER + rport - PORT,
		.cap = {{1, 2}},
	};
	memcpy(r.lmac, our_mac, 6);
	memcpy(r.rmac, peer_mac, 6);
	if (state == EXOS_TCP_TIME_WAIT || state == EXOS_TCP_FIN_WAIT_2) {
		r.snd_una = FIN + 1;
		r.expire_ns = NOW + (state == EXOS_TCP_TIME_WAIT ? 60 : 30) * SEC;
	}
	if (state == EXOS_TCP_TIME_WAIT)
		r.since_ns = NOW;
	return r;
}

/* A segment from the peer to the record's 4-tuple. */
static void in(const struct twd_rec *r, uint32_t seq, uint32_t ack, uint8_t flags, bool ts,
	       uint32_t tsval, uint32_t len, uint64_t now)
{
	static const uint8_t data[64];
	uint8_t frame[256];
	struct forge_tcp f = {
		.sport = ntohs(r->rport),
		.dport = ntohs(r->lport),
		.seq = seq,
		.ack = ack,
		.flags = flags,
		.win = 500,
		.wscale = -1,
		.ts = ts,
		.tsval = tsval,
		.tsecr = 1,
		.data = data,
		.len = len,
	};

	twd_input(t, r->filter, frame, (uint32_t)forge_tcp(frame, &f), now);
}

/* Checks an ACK of the record's connection: our next, their next, our TS. */
static void expect_ack(const struct twd_rec *r, uint32_t rcv, uint32_t tsecr, uint64_t now)
{
	struct parsed p;

	next(&p);
	assert_int_equal(p.flags, TCP_ACK);
	assert_int_equal(p.seq, r->fin_seq + 1);
	assert_int_equal(p.ack, rcv);
	assert_int_equal(p.win, r->win);
	assert_int_equal(p.sport, ntohs(r->lport));
	assert_int_equal(p.dport, ntohs(r->rport));
	assert_int_equal(p.saddr, r->laddr);
	assert_int_equal(p.daddr, r->raddr);
	assert_memory_equal(p.dst, peer_mac, 6);
	assert_memory_equal(p.src, our_mac, 6);
	assert_true(p.opt.ts);
	assert_int_equal(p.opt.tsval, (uint32_t)(now / MS) + TSOFF);
	assert_int_equal(p.opt.tsecr, tsecr);
}

static int state_of(const struct twd_rec *r)
{
	return twd_state(t, r->laddr, r->lport, r->raddr, r->rport);
}

static void test_fin_wait_1_to_time_wait(void **state)
{
	struct twd_rec r = rec(EXOS_TCP_FIN_WAIT_1, PORT);
	struct parsed p;

	(void)state;
	assert_int_equal(twd_add(t, &r, NOW), 0);
	none(); /* the process sent the FIN: the first retransmission waits an RTO */
	assert_int_equal(twd_next_timer(t), NOW + 200 * MS);
	twd_timers(t, NOW + 200 * MS);
	next(&p);
	assert_int_equal(p.flags, TCP_FIN | TCP_ACK);
	assert_int_equal(p.seq, FIN);
	assert_int_equal(p.ack, RCV);
	assert_int_equal(twd_next_timer(t), NOW + 600 * MS); /* backed off: 400 ms */
	/* the peer's FIN crosses ours: CLOSING */
	in(&r, RCV, FIN, TCP_ACK | TCP_FIN, true, TSR + 1, 0, NOW + 300 * MS);
	expect_ack(&r, RCV + 1, TSR + 1, NOW + 300 * MS);
	assert_int_equal(state_of(&r), EXOS_TCP_CLOSING);
	/* our FIN acknowledged: TIME_WAIT for 2 MSL */
	in(&r, RCV + 1, FIN + 1, TCP_ACK, true, TSR + 2, 0, NOW + 400 * MS);
	none();
	assert_int_equal(state_of(&r), EXOS_TCP_TIME_WAIT);
	assert_int_equal(twd_next_timer(t), NOW + 2400 * MS);
	twd_timers(t, NOW + 2400 * MS);
	assert_int_equal(state_of(&r), -1);
	assert_int_equal(twd_stats(t)->ended_timewait, 1);
	/* the filter goes back to xokd through the release queue */
	assert_int_equal(T.unrefs, 0);
	assert_int_equal(twd_release(t, 8), 0);
	assert_int_equal(T.unrefs, 1);
	assert_int_equal(T.last_unref, r.filter);
}

static void test_fin_retries_give_up(void **state)
{
	struct twd_rec r = rec(EXOS_TCP_LAST_ACK, PORT);
	struct parsed p;
	uint64_t now = NOW;

	(void)state;
	r.retries = 2; /* the process had retransmitted twice already */
	assert_int_equal(twd_add(t, &r, now), 0);
	for (int i = 2; i < TWD_FIN_RETRIES; i++) {
		now = twd_next_timer(t);
		twd_timers(t, now);
		next(&p);
		assert_int_equal(p.flags, TCP_FIN | TCP_ACK);
	}
	now = twd_next_timer(t);
	twd_timers(t, now);
	none();
	assert_int_equal(state_of(&r), -1);
	assert_int_equal(twd_stats(t)->ended_gaveup, 1);
}

static void test_last_ack(void **state)
{
	struct twd_rec r = rec(EXOS_TCP_LAST_ACK, PORT);

	(void)state;
	assert_int_equal(twd_add(t, &r, NOW), 0);
	in(&r, RCV, FIN, TCP_ACK, true, TSR, 0, NOW); /* not our FIN yet */
	assert_int_equal(state_of(&r), EXOS_TCP_LAST_ACK);
	in(&r, RCV, FIN + 1, TCP_ACK, true, TSR, 0, NOW);
	assert_int_equal(state_of(&r), -1);
	assert_int_equal(twd_stats(t)->ended_last_ack, 1);
	none();
}

static void test_fin_not_sent(void **state)
{
	struct twd_rec r = rec(EXOS_TCP_FIN_WAIT_1, PORT);
	struct parsed p;

	(void)state;
	r.snd_nxt = FIN; /* a closed window kept it back */
	assert_int_equal(twd_add(t, &r, NOW), 0);
	next(&p);
	assert_int_equal(p.flags, TCP_FIN | TCP_ACK);
	assert_int_equal(p.seq, FIN);
}

static void test_time_wait_fin_again(void **state)
{
	struct twd_rec r = rec(EXOS_TCP_TIME_WAIT, PORT);

	(void)state;
	r.since_ns = NOW - 1 * SEC; /* twd's MSL caps it: since + 2 s */
	assert_int_equal(twd_add(t, &r, NOW), 0);
	assert_int_equal(twd_next_timer(t), NOW + 1 * SEC);
	/* the peer retransmits its FIN: our ACK was lost; TIME_WAIT starts over */
	in(&r, RCV - 1, FIN + 1, TCP_ACK | TCP_FIN, true, TSR + 5, 0, NOW + 500 * MS);
	expect_ack(&r, RCV, TSR + 5, NOW + 500 * MS);
	assert_int_equal(twd_next_timer(t), NOW + 2500 * MS);
	assert_int_equal(twd_stats(t)->fin_in, 1);
	/* an old duplicate ACK: unacceptable, answered with an ACK */
	in(&r, RCV - 1, FIN + 1, TCP_ACK, true, TSR + 6, 0, NOW + 600 * MS);
	expect_ack(&r, RCV, TSR + 6, NOW + 600 * MS);
	twd_timers(t, NOW + 2500 * MS);
	assert_int_equal(state_of(&r), -1);
}

static void test_syn_rfc6191(void **state)
{
	struct twd_rec r1 = rec(EXOS_TCP_TIME_WAIT, PORT), r2 = rec(EXOS_TCP_TIME_WAIT, PORT + 1),
		       r3 = rec(EXOS_TCP_TIME_WAIT, PORT + 2), r4 = rec(EXOS_TCP_TIME_WAIT, PORT + 3);

	(void)state;
	r4.flags &= (uint8_t)~TWD_F_TS;
	assert_int_equal(twd_add(t, &r1, NOW), 0);
	assert_int_equal(twd_add(t, &r2, NOW), 0);
	assert_int_equal(twd_add(t, &r3, NOW), 0);
	assert_int_equal(twd_add(t, &r4, NOW), 0);
	/* an older timestamp: the old connection's ACK (and TIME_WAIT stays) */
	in(&r1, RCV + 100000, 0, TCP_SYN, true, TSR - 1, 0, NOW);
	expect_ack(&r1, RCV, TSR, NOW);
	assert_int_equal(state_of(&r1), EXOS_TCP_TIME_WAIT);
	assert_int_equal(twd_stats(t)->syn_old, 1);
	/* a newer timestamp: a new incarnation; the 4-tuple is released */
	in(&r1, RCV - 100000, 0, TCP_SYN, true, TSR + 1, 0, NOW);
	none();
	assert_int_equal(state_of(&r1), -1);
	assert_int_equal(twd_stats(t)->syn_reuse, 1);
	/* until its filter is back with xokd, the SYN's retransmission is left for the
	 * listener's (no reset); anything else gets the reset of a closed connection */
	in(&r1, RCV - 100000, 0, TCP_SYN, true, TSR + 2, 0, NOW);
	none();
	in(&r1, RCV, FIN + 1, TCP_ACK, true, TSR + 2, 0, NOW);
	struct parsed p;
	next(&p);
	assert_int_equal(p.flags, TCP_RST);
	/* the same timestamp and a greater sequence number: new */
	in(&r2, RCV + 1, 0, TCP_SYN, true, TSR, 0, NOW);
	assert_int_equal(state_of(&r2), -1);
	/* no timestamp in the SYN (the old connection had them): by sequence number */
	in(&r3, RCV - 1, 0, TCP_SYN, false, 0, 0, NOW);
	expect_ack(&r3, RCV, TSR, NOW);
	in(&r3, RCV + 1, 0, TCP_SYN, false, 0, 0, NOW);
	assert_int_equal(state_of(&r3), -1);
	/* the old connection had no timestamps: a SYN with one is a new incarnation */
	in(&r4, RCV - 1, 0, TCP_SYN, true, 5, 0, NOW);
	assert_int_equal(state_of(&r4), -1);
	assert_int_equal(twd_stats(t)->ended_syn, 4);
	none();
}

static void test_rst(void **state)
{
	struct twd_rec r = rec(EXOS_TCP_TIME_WAIT, PORT);

	(void)state;
	assert_int_equal(twd_add(t, &r, NOW), 0);
	in(&r, RCV + 10, 0, TCP_RST, false, 0, 0, NOW); /* in window, not exact: RFC 5961 */
	expect_ack(&r, RCV, TSR, NOW);
	assert_int_equal(twd_stats(t)->challenge_acks, 1);
	in(&r, RCV + 100000, 0, TCP_RST, false, 0, 0, NOW); /* outside: ignored */
	none();
	in(&r, RCV, 0, TCP_RST, false, 0, 0, NOW);
	assert_int_equal(state_of(&r), -1);
	assert_int_equal(twd_stats(t)->ended_rst, 1);
	none();
}

static void test_data_after_close(void **state)
{
	struct twd_rec r = rec(EXOS_TCP_FIN_WAIT_2, PORT);
	struct parsed p;

	(void)state;
	assert_int_equal(twd_add(t, &r, NOW), 0);
	in(&r, RCV, FIN + 1, TCP_ACK | TCP_PSH, true, TSR + 1, 10, NOW);
	next(&p);
	assert_int_equal(p.flags, TCP_RST);
	assert_int_equal(p.seq, FIN + 1);
	assert_int_equal(state_of(&r), -1);
	assert_int_equal(twd_stats(t)->ended_data, 1);
}

static void test_fin_wait_2_timeout_and_paws(void **state)
{
	struct twd_rec r = rec(EXOS_TCP_FIN_WAIT_2, PORT);

	(void)state;
	assert_int_equal(twd_add(t, &r, NOW), 0);
	assert_int_equal(twd_next_timer(t), NOW + 30 * SEC);
	in(&r, RCV, FIN + 1, TCP_ACK | TCP_FIN, true, TSR - 10, 0, NOW); /* PAWS: old */
	expect_ack(&r, RCV, TSR, NOW);
	assert_int_equal(state_of(&r), EXOS_TCP_FIN_WAIT_2);
	assert_int_equal(twd_stats(t)->paws, 1);
	twd_timers(t, NOW + 30 * SEC);
	assert_int_equal(state_of(&r), -1);
	assert_int_equal(twd_stats(t)->ended_fin_wait2, 1);
}

static void test_learns_mac(void **state)
{
	struct twd_rec r = rec(EXOS_TCP_TIME_WAIT, PORT);

	(void)state;
	r.flags &= (uint8_t)~TWD_F_MAC;
	memset(r.rmac, 0, 6);
	assert_int_equal(twd_add(t, &r, NOW), 0);
	in(&r, RCV - 1, FIN + 1, TCP_ACK | TCP_FIN, true, TSR, 0, NOW);
	expect_ack(&r, RCV, TSR, NOW); /* to the frame's source (peer_mac) */
}

static void test_port_filter(void **state)
{
	struct twd_rec a = rec(EXOS_TCP_TIME_WAIT, PORT), b = rec(EXOS_TCP_TIME_WAIT, PORT + 1);
	struct twd_rec other = rec(EXOS_TCP_TIME_WAIT, PORT + 2);
	struct parsed p;

	(void)state;
	a.flags |= TWD_F_PORT;
	b.flags |= TWD_F_PORT;
	b.filter = a.filter;
	assert_int_equal(twd_add(t, &a, NOW), 0);
	assert_int_equal(twd_add(t, &b, NOW), 0);
	assert_int_equal(T.refs, 1); /* the port filter, once */
	assert_int_equal(twd_filters(t), 1);
	/* its own filter is not shareable; nor is a port filter with another capability */
	other.filter = a.filter;
	assert_int_equal(twd_add(t, &other, NOW), -EEXIST);
	other.flags |= TWD_F_PORT;
	other.cap.w[0] = 99;
	assert_int_equal(twd_add(t, &other, NOW), -EEXIST);
	/* another 4-tuple on the port: closed (its application is gone) */
	other = rec(EXOS_TCP_TIME_WAIT, PORT + 9);
	other.filter = a.filter;
	in(&other, 123, 0, TCP_SYN, true, 1, 0, NOW);
	next(&p);
	assert_int_equal(p.flags, TCP_RST | TCP_ACK);
	assert_int_equal(p.seq, 0);
	assert_int_equal(p.ack, 124);
	assert_int_equal(p.dport, PORT + 9);
	in(&other, 123, 4567, TCP_ACK, true, 1, 0, NOW);
	next(&p);
	assert_int_equal(p.flags, TCP_RST);
	assert_int_equal(p.seq, 4567);
	in(&other, 123, 4567, TCP_RST, false, 0, 0, NOW); /* never a reset for a reset */
	none();
	/* the port is held until its last connection ends */
	in(&a, RCV, 0, TCP_RST, false, 0, 0, NOW);
	twd_release(t, 8);
	assert_int_equal(T.unrefs, 0);
	in(&b, RCV, 0, TCP_RST, false, 0, 0, NOW);
	assert_int_equal(twd_filters(t), 0);
	assert_int_equal(twd_releasing(t), 1);
	/* until released, its frames still get the closed port's reset */
	in(&a, RCV, FIN + 1, TCP_ACK | TCP_FIN, true, TSR, 0, NOW);
	next(&p);
	assert_int_equal(p.flags, TCP_RST);
	twd_release(t, 8);
	assert_int_equal(T.unrefs, 1);
	in(&a, RCV, FIN + 1, TCP_ACK | TCP_FIN, true, TSR, 0, NOW);
	none(); /* released: no claim to answer with */
	assert_int_equal(twd_stats(t)->rx_stray, 5);
}

static void test_take(void **state)
{
	struct twd_rec a = rec(EXOS_TCP_TIME_WAIT, PORT), b = rec(EXOS_TCP_FIN_WAIT_2, PORT + 1);
	struct twd_rec c = rec(EXOS_TCP_TIME_WAIT, PORT + 2), *out;
	struct twd_port port;
	uint32_t n;

	(void)state;
	a.flags |= TWD_F_PORT;
	b.flags |= TWD_F_PORT;
	b.filter = a.filter;
	c.flags |= TWD_F_PORT;
	c.lport = htons(81);
	c.port_laddr = ip4(OUR_IP); /* port 81, a listener on one address */
	assert_int_equal(twd_add(t, &a, NOW), 0);
	assert_int_equal(twd_add(t, &b, NOW), 0);
	assert_int_equal(twd_add(t, &c, NOW), 0);
	assert_int_equal(twd_take(t, 0, htons(82), &port, &out, &n, NOW), -ENOENT);
	free(out);
	/* port 81 asked for any address: the one-address filter would shadow it: released */
	assert_int_equal(twd_take(t, 0, htons(81), &port, &out, &n, NOW), -ENOENT);
	free(out);
	assert_int_equal(state_of(&c), -1);
	assert_int_equal(twd_stats(t)->ports_released, 1);
	/* port 80: given with its two connections */
	assert_int_equal(twd_take(t, 0, htons(80), &port, &out, &n, NOW), 0);
	assert_int_equal(port.filter, a.filter);
	assert_memory_equal(&port.cap, &a.cap, sizeof(a.cap));
	assert_int_equal(n, 2);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(twd_rec_check(&out[i]), 0);
		assert_int_equal(out[i].filter, a.filter);
		assert_int_equal(out[i].rcv_nxt, RCV);
	}
	free(out);
	assert_int_equal(twd_count(t, NULL), 0);
	/* on its way to the new listener: frames are left alone */
	in(&a, RCV, 0, TCP_SYN, true, 1, 0, NOW);
	none();
	assert_int_equal(twd_stats(t)->rx_given, 1);
	assert_int_equal(twd_take(t, 0, htons(80), &port, &out, &n, NOW), -ENOENT);
	free(out);
	twd_take_done(t, a.filter);
	twd_release(t, 8);
	assert_int_equal(T.unrefs, 2); /* port 81's and port 80's */

	/* a port filter on its way back to xokd goes at once when its port is asked for */
	struct twd_rec d = rec(EXOS_TCP_TIME_WAIT, PORT + 5);
	d.flags |= TWD_F_PORT;
	d.lport = htons(83);
	assert_int_equal(twd_add(t, &d, NOW), 0);
	in(&d, RCV, 0, TCP_RST, false, 0, 0, NOW);
	assert_int_equal(twd_releasing(t), 1);
	assert_int_equal(twd_take(t, 0, htons(83), &port, &out, &n, NOW), -ENOENT);
	free(out);
	assert_int_equal(twd_releasing(t), 0);
	assert_int_equal(T.unrefs, 3);
}

static void test_add_errors(void **state)
{
	struct twd_rec r = rec(EXOS_TCP_TIME_WAIT, PORT);
	uint8_t frame[64] = {0};

	(void)state;
	r.state = EXOS_TCP_ESTABLISHED;
	assert_int_equal(twd_add(t, &r, NOW), -EINVAL);
	r = rec(EXOS_TCP_TIME_WAIT, PORT);
	T.ref_err = -EDQUOT;
	assert_int_equal(twd_add(t, &r, NOW), -EDQUOT); /* xokd's filter limit */
	T.ref_err = 0;
	assert_int_equal(twd_count(t, NULL), 0);
	/* frames from filters twd does not hold, or no frames at all */
	twd_input(t, 12345, frame, sizeof(frame), NOW);
	assert_int_equal(twd_stats(t)->rx_bad, 1);
	assert_int_equal(twd_add(t, &r, NOW), 0);
	r.filter = 4242;
	in(&r, RCV, FIN + 1, TCP_ACK, true, TSR, 0, NOW);
	assert_int_equal(twd_stats(t)->rx_stray, 1);
	none();
}

static void test_reply_rate(void **state)
{
	struct twd_rec r = rec(EXOS_TCP_TIME_WAIT, PORT);
	int sent = 0;

	(void)state;
	assert_int_equal(twd_add(t, &r, NOW), 0);
	for (int i = 0; i < 300; i++) {
		in(&r, RCV + 10, 0, TCP_RST, false, 0, 0, NOW);
		while (T.n) {
			struct parsed p;
			next(&p);
			sent++;
		}
	}
	assert_int_equal(sent, TWD_REPLY_BURST);
	assert_int_equal(twd_stats(t)->rate_limited, 300 - TWD_REPLY_BURST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fin_wait_1_to_time_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fin_retries_give_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fin_not_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_wait_fin_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syn_rfc6191, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_after_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fin_wait_2_timeout_and_paws, setup, teardown),
		cmocka_unit_test_setup_teardown(test_learns_mac, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_rate, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
