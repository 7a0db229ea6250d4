/* harness.c - a stack over the fake sys layer, a scripted TCP peer, leak-checking teardown */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "harness.h"

struct harness H;
void (*h_suite_setup)(void);

static int h_on_accept(struct exos_tcp *l, struct exos_tcp *c, void *arg)
{
	(void)l;
	(void)arg;
	if (H.naccepted < 64)
		H.accepted[H.naccepted++] = c;
	H.conn = c;
	return 0;
}

static void h_on_connected(struct exos_tcp *c, void *arg)
{
	(void)arg;
	H.connected++;
	if (H.on_connected_hook)
		H.on_connected_hook(c);
}

static size_t h_on_data(struct exos_tcp *c, const void *data, size_t len, void *arg)
{
	size_t n = len < H.consume ? len : H.consume;

	(void)arg;
	H.data_calls++;
	if (H.rxlen + n > H.rxcap) {
		H.rxcap = (H.rxlen + n) * 2;
		H.rx = realloc(H.rx, H.rxcap);
	}
	memcpy(H.rx + H.rxlen, data, n);
	H.rxlen += n;
	if (H.on_data_hook)
		H.on_data_hook(c, data, len);
	return n;
}

static void h_on_sent(struct exos_tcp *c, void *cookie, size_t acked, void *arg)
{
	(void)c;
	(void)arg;
	H.sent_calls++;
	H.sent_bytes += acked;
	H.last_cookie = cookie;
}

static void h_on_close(struct exos_tcp *c, void *arg)
{
	(void)arg;
	H.closed++;
	if (H.on_close_hook)
		H.on_close_hook(c);
}

static void h_on_error(struct exos_tcp *c, int err, void *arg)
{
	(void)c;
	(void)arg;
	H.errors++;
	H.last_err = err;
}

static void h_on_free(struct exos_tcp *c, void *arg)
{
	(void)arg;
	H.freed++;
	if (H.conn == c)
		H.conn = NULL;
}

const struct exos_tcp_ops h_ops = {
	.on_accept = h_on_accept,
	.on_connected = h_on_connected,
	.on_data = h_on_data,
	.on_sent = h_on_sent,
	.on_close = h_on_close,
	.on_error = h_on_error,
	.on_free = h_on_free,
};

int h_setup(void **state)
{
	struct exos_stack_opts o = {.sz = sizeof(o)};
	uint32_t flags = H.stack_flags;

	(void)state;
	/* No real twd may see these fake filters; no exit hook forks over a fake xokd. */
	setenv("XOK_TWD_SOCKET", "/nonexistent/twd.sock", 0);
	setenv("EXOS_EXIT_LINGER", "none", 0);
	free(H.rx);
	memset(&H, 0, sizeof(H));
	H.consume = SIZE_MAX;
	fake_reset();
	fake_arp_set(ip4(PEER_IP), peer_mac);
	fake_arp_set(ip4(GW_IP), gw_mac);
	assert_int_equal(exos_sys_open(NULL, &o.sys), 0);
	o.ring_entries = 1024;
	o.flags = flags;
	assert_int_equal(exos_stack_open(&o, &H.s), 0);
	exos_stack_set_default(H.s);
	if (h_suite_setup)
		h_suite_setup();
	return 0;
}

void h_stats(struct exos_stack_stats *st)
{
	exos_stack_stats(H.s, st);
}

int h_teardown(void **state)
{
	struct exos_stack_stats st;
	struct fake_stats fs;
	struct exos_sys *sys = exos_stack_sys(H.s);

	(void)state;
	fake_set_wait_hook(NULL, NULL);
	fake_hold_completions(false);
	fake_complete_all();
	/* Let every timer run out: TIME_WAIT, FIN_WAIT_2, retransmissions. */
	for (int i = 0; i < 2000; i++) {
		exos_stack_poll(H.s);
		uint64_t t = exos_stack_next_timer(H.s);
		if (!t)
			break;
		if (t > fake_time())
			fake_set_time(t);
	}
	exos_stack_poll(H.s);
	h_stats(&st);
	assert_int_equal(st.tcp_pcbs_inuse, 0);
	assert_int_equal(st.tcp_tw_inuse, 0);
	assert_int_equal(st.udp_socks_inuse, 0);
	assert_int_equal(st.socks_inuse, 0);
	assert_int_equal(st.sreqs_inuse, 0);
	assert_int_equal(st.bufs_inuse, 0);
	assert_int_equal(st.txbs_inuse, 0);
	assert_int_equal(st.filters_inuse, (H.stack_flags & EXOS_STACK_ICMP_ECHO) ? 1 : 0);
	assert_int_equal(fake_filters_active(), st.filters_inuse);
	if (H.region)
		exos_region_destroy(sys, H.region);
	exos_stack_close(H.s);
	exos_sys_close(sys);
	fake_get_stats(&fs);
	assert_int_equal(fs.xmit_efault, 0);
	assert_int_equal(fs.regions_live, 0);
	assert_int_equal(fs.watches_live, 0);
	assert_int_equal(fake_filters_active(), 0);
	free(H.rx);
	memset(&H, 0, sizeof(H));
	return 0;
}

void h_poll(void)
{
	exos_stack_poll(H.s);
}

void h_advance(uint64_t ns)
{
	fake_advance(ns);
	exos_stack_poll(H.s);
}

void h_queue_full_then_room(int waits, uint64_t retry_ns)
{
	for (int i = 0; i < waits; i++) {
		uint64_t t0 = fake_time();

		assert_int_equal(exos_stack_wait(H.s, t0 + 50 * MS), 0);
		assert_int_equal(fake_time() - t0, retry_ns);
		h_expect_none();
	}
	fake_xmit_fail(0, 0);
	h_advance(retry_ns);
}

void h_inject(const uint8_t *frame, size_t len)
{
	assert_true(fake_inject(frame, len));
	exos_stack_poll(H.s);
}

bool h_try_next(struct parsed *p)
{
	static struct fake_frame f;

	if (!fake_tx_pop(&f))
		return false;
	assert_int_equal(parse_frame(f.data, f.len, p), 0);
	/* p points into f: keep a copy alive until the next call. */
	if (p->ethertype == 0x0800) {
		assert_true(p->ip_csum_ok);
		if ((p->proto == 6 || p->proto == 17 || p->proto == 1) && !(p->frag_off & 0x3fff))
			assert_true(p->csum_ok); /* (fragments: checked once reassembled) */
	}
	return true;
}

void h_next(struct parsed *p)
{
	if (!h_try_next(p))
		fail_msg("expected a transmitted frame, none was sent");
}

void h_expect_none(void)
{
	struct parsed p;

	if (h_try_next(&p))
		fail_msg("unexpected frame: proto %u flags 0x%02x seq %u len %zu", p.proto, p.flags,
			 p.seq, p.len);
}

void h_drain(void)
{
	fake_tx_clear();
}

void peer_init(struct peer *p, uint16_t lport)
{
	memset(p, 0, sizeof(*p));
	p->ip = ip4(PEER_IP);
	p->port = 40000;
	p->lport = lport;
	p->seq = 1000000;
	p->win = 65535;
	p->wscale = 7;
	p->mss = 1460;
	p->sack = true;
	p->ts = true;
	p->tsval = 5000;
}

/* The peer's segment with its state: options only in a SYN, timestamps when it uses them. */
static struct forge_tcp peer_segment(struct peer *p, uint32_t seq, uint8_t flags)
{
	return (struct forge_tcp){
		.saddr = p->ip,
		.sport = p->port,
		.dport = p->lport,
		.seq = seq,
		.ack = (flags & TCP_ACK) ? p->ack : 0,
		.flags = flags,
		.win = p->win,
		.wscale = (flags & TCP_SYN) ? p->wscale : -1,
		.mss = (flags & TCP_SYN) ? p->mss : 0,
		.sack_perm = (flags & TCP_SYN) && p->sack,
		.ts = p->ts,
		.tsval = p->tsval++,
		.tsecr = p->ts_recent,
	};
}

void peer_send_at(struct peer *p, uint32_t seq, uint8_t flags, const void *data, size_t len)
{
	uint8_t frame[2048];
	struct forge_tcp f = peer_segment(p, seq, flags);

	f.data = data;
	f.len = len;
	h_inject(frame, forge_tcp(frame, &f));
}

void peer_send_sack(struct peer *p, int nsack, const uint32_t sack[][2])
{
	uint8_t frame[256];
	struct forge_tcp f = peer_segment(p, p->seq, TCP_ACK);

	f.nsack = nsack;
	memcpy(f.sack, sack, (size_t)nsack * sizeof(f.sack[0]));
	h_inject(frame, forge_tcp(frame, &f));
}

void peer_send(struct peer *p, uint8_t flags, const void *data, size_t len)
{
	uint32_t seq = p->seq;

	p->seq += (uint32_t)len + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);
	peer_send_at(p, seq, flags, data, len);
}

void peer_check(struct peer *p, const struct parsed *q, uint8_t flags)
{
	assert_int_equal(q->proto, 6);
	assert_int_equal(q->daddr, p->ip);
	assert_int_equal(q->dport, p->port);
	assert_int_equal(q->sport, p->lport);
	assert_memory_equal(q->dst, peer_mac, 6);
	assert_memory_equal(q->src, our_mac, 6);
	if (q->flags != flags)
		fail_msg("flags 0x%02x, expected 0x%02x (seq %u ack %u len %zu)", q->flags, flags,
			 q->seq, q->ack, q->len);
	if (q->opt.ts)
		p->ts_recent = q->opt.tsval;
}

void h_listen_syn(struct peer *p, uint16_t lport, uint32_t flags, struct parsed *q)
{
	struct exos_tcp_opts o = {.sz = sizeof(o), .local_port = lport, .flags = flags};

	p->lport = lport;
	assert_int_equal(exos_tcp_listen(H.s, &o, &h_ops, NULL, &H.listener), 0);
	peer_send(p, TCP_SYN, NULL, 0);
	h_next(q);
}

struct exos_tcp *h_connect_syn(struct peer *p, uint32_t flags, struct parsed *q)
{
	struct exos_tcp_opts o = {
		.sz = sizeof(o),
		.remote_addr = p->ip,
		.remote_port = p->port,
		.flags = flags,
	};
	struct exos_tcp *c;

	assert_int_equal(exos_tcp_connect(H.s, &o, &h_ops, NULL, &c), 0);
	h_next(q);
	p->lport = q->sport;
	return c;
}

struct exos_tcp *h_passive_open(struct peer *p, uint16_t lport, uint32_t flags)
{
	struct parsed q;

	h_listen_syn(p, lport, flags, &q);
	peer_check(p, &q, TCP_SYN | TCP_ACK);
	assert_int_equal(q.ack, p->seq);
	p->ack = q.seq + 1;
	peer_send(p, TCP_ACK, NULL, 0);
	assert_int_equal(H.naccepted, 1);
	return H.accepted[0];
}

struct exos_tcp *h_active_open(struct peer *p, uint32_t flags)
{
	struct parsed q;
	struct exos_tcp *c = h_connect_syn(p, flags, &q);

	peer_check(p, &q, TCP_SYN);
	p->ack = q.seq + 1;
	peer_send(p, TCP_SYN | TCP_ACK, NULL, 0);
	assert_int_equal(H.connected, 1);
	h_next(&q);
	peer_check(p, &q, TCP_ACK);
	assert_int_equal(q.ack, p->seq);
	return c;
}

void h_abort(struct exos_tcp *c)
{
	exos_tcp_abort(c);
	h_poll();
	h_drain();
}

void h_close_to_time_wait(struct peer *p, struct exos_tcp *c)
{
	struct parsed q;

	exos_tcp_close(c);
	h_next(&q);
	p->ack = q.seq + 1;
	peer_send(p, TCP_ACK | TCP_FIN, NULL, 0);
	h_next(&q);
}

void h_close_listener(void)
{
	exos_tcp_close(H.listener);
	H.listener = NULL;
}

static struct h_conn h_conn;

static int open_conn(void **state, bool sack)
{
	peer_init(&h_conn.p, 80);
	h_conn.p.sack = sack;
	h_conn.c = h_passive_open(&h_conn.p, 80, 0);
	*state = &h_conn;
	return 0;
}

int h_setup_conn(void **state)
{
	h_setup(state);
	return open_conn(state, true);
}

int h_setup_conn_nosack(void **state)
{
	h_setup(state);
	return open_conn(state, false);
}

int h_teardown_conn(void **state)
{
	if (H.listener)
		h_close_listener();
	return h_teardown(state);
}
