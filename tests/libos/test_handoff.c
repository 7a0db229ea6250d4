/* test_handoff.c - the hand-off to twd: records, the wire protocol, taking a port back */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "harness.h"
#include "socket_int.h"
#include "twd.h"

/*
 * libexos's side (tcp_tw_rec, tcp_pcb_rec, handoff_stack, handoff_take_port) against the
 * fake sys layer, and each record checked by twd's own validator and replayed in twd's
 * engine: a retransmitted FIN must get the same ACK from twd as from the stack itself.
 */

/* ---- twd's engine with captured output ---- */

static struct {
	uint8_t frames[16][256];
	uint32_t len[16];
	int n;
	uint32_t refs, unrefs, last_ref;
} T;

static int t_ref(void *arg, uint32_t filter, const struct xok_cap *cap)
{
	struct xok_cap want = fake_cap(filter);

	(void)arg;
	T.refs++;
	T.last_ref = filter;
	return memcmp(cap, &want, sizeof(want)) ? -EPERM : 0;
}

static void t_unref(void *arg, uint32_t filter)
{
	(void)arg;
	(void)filter;
	T.unrefs++;
}

static int t_xmit(void *arg, uint32_t ifindex, const uint8_t *frame, uint32_t len)
{
	(void)arg;
	assert_int_equal(ifindex, FAKE_IFINDEX);
	assert_true(T.n < 16 && len <= 256);
	memcpy(T.frames[T.n], frame, len);
	T.len[T.n++] = len;
	return 0;
}

static const struct twd_ops t_ops = {.ref = t_ref, .unref = t_unref, .xmit = t_xmit};

static void t_next(struct parsed *p)
{
	static uint8_t keep[256];

	assert_true(T.n > 0);
	memcpy(keep, T.frames[0], T.len[0]);
	assert_int_equal(parse_frame(keep, T.len[0], p), 0);
	assert_true(p->ip_csum_ok);
	assert_true(p->csum_ok);
	memmove(T.frames[0], T.frames[1], sizeof(T.frames[0]) * 15);
	memmove(T.len, T.len + 1, sizeof(T.len[0]) * 15);
	T.n--;
}

/* The peer's segment as a frame (for twd, which the fake ring does not feed). */
static size_t peer_frame(uint8_t *frame, struct peer *p, uint32_t seq, uint8_t flags)
{
	struct forge_tcp f = {
		.saddr = p->ip,
		.sport = p->port,
		.dport = p->lport,
		.seq = seq,
		.ack = p->ack,
		.flags = flags,
		.win = p->win,
		.wscale = -1,
		.ts = p->ts,
		.tsval = p->tsval,
		.tsecr = p->ts_recent,
	};
	return forge_tcp(frame, &f);
}

/* An active open closed by us first, then by the peer: TIME_WAIT here. */
static void to_time_wait(struct peer *p)
{
	struct parsed q;
	struct exos_tcp *c;

	peer_init(p, 0);
	c = h_active_open(p, 0);
	exos_tcp_close(c);
	h_next(&q);
	peer_check(p, &q, TCP_ACK | TCP_FIN);
	p->ack = q.seq + 1;
	peer_send(p, TCP_ACK | TCP_FIN, NULL, 0);
	h_next(&q);
	peer_check(p, &q, TCP_ACK);
	h_poll();
}

static void test_time_wait_record(void **state)
{
	struct exos_stack_stats st;
	struct twd_rec r;
	struct peer p;
	struct parsed a, b;
	uint8_t frame[256];

	(void)state;
	memset(&T, 0, sizeof(T));
	to_time_wait(&p);
	h_stats(&st);
	assert_int_equal(st.tcp_tw_inuse, 1);
	struct tcp_tw *w = tcp_tw_first(H.s);
	assert_non_null(w);
	assert_true(tcp_tw_rec(H.s, w, &r));
	assert_int_equal(twd_rec_check(&r), 0);
	assert_int_equal(r.state, EXOS_TCP_TIME_WAIT);
	assert_int_equal(r.laddr, ip4(OUR_IP));
	assert_int_equal(r.raddr, ip4(PEER_IP));
	assert_int_equal(r.lport, htons(p.lport));
	assert_int_equal(r.rport, htons(p.port));
	assert_int_equal(r.ifindex, FAKE_IFINDEX);
	assert_memory_equal(r.lmac, our_mac, 6);
	assert_memory_equal(r.rmac, peer_mac, 6);
	/* an active open: its port, and the filter that delivers it, are its port block's */
	assert_int_equal(r.flags, TWD_F_TS | TWD_F_MAC | TWD_F_BLOCK);
	assert_int_equal(r.snd_una, p.ack);
	assert_int_equal(r.snd_nxt, p.ack);
	assert_int_equal(r.fin_seq, p.ack - 1);
	assert_int_equal(r.rcv_nxt, p.seq);
	assert_int_equal(r.ts_recent, p.tsval - 1);
	assert_int_equal(r.expire_ns, fake_time() + 60 * SEC);
	assert_int_equal(r.since_ns, fake_time());
	assert_true(r.filter != 0);
	struct xok_cap cap = fake_cap(r.filter);
	assert_memory_equal(&r.cap, &cap, sizeof(cap));

	/* The stack answers the peer's retransmitted FIN ... */
	peer_send_at(&p, p.seq - 1, TCP_ACK | TCP_FIN, NULL, 0);
	h_next(&a);
	/* ... and twd, given the record, answers it identically (same clock). */
	struct twd *t = twd_new(&t_ops, NULL, 30 * SEC);
	assert_int_equal(twd_add(t, &r, fake_time()), 0);
	assert_int_equal(T.refs, 1);
	assert_int_equal(T.last_ref, r.filter);
	assert_int_equal(twd_add(t, &r, fake_time()), -EEXIST); /* the 4-tuple is taken */
	p.tsval--; /* the same segment again */
	twd_input(t, r.filter, frame, (uint32_t)peer_frame(frame, &p, p.seq - 1, TCP_ACK | TCP_FIN),
		  fake_time());
	t_next(&b);
	assert_int_equal(b.flags, TCP_ACK);
	assert_int_equal(b.seq, a.seq);
	assert_int_equal(b.ack, a.ack);
	assert_int_equal(b.win, a.win);
	assert_memory_equal(b.src, a.src, 6);
	assert_memory_equal(b.dst, a.dst, 6);
	assert_int_equal(b.saddr, a.saddr);
	assert_int_equal(b.daddr, a.daddr);
	assert_int_equal(b.sport, a.sport);
	assert_int_equal(b.dport, a.dport);
	assert_true(b.opt.ts && a.opt.ts);
	assert_int_equal(b.opt.tsval, a.opt.tsval);
	assert_int_equal(b.opt.tsecr, a.opt.tsecr);
	assert_int_equal(twd_state(t, r.laddr, r.lport, r.raddr, r.rport), EXOS_TCP_TIME_WAIT);

	/* Taken: the stack forgets the block; its port block lingers a while, then goes. */
	size_t before = fake_filters_active();
	tcp_tw_forget(H.s, w, true);
	h_stats(&st);
	assert_int_equal(st.tcp_tw_inuse, 0);
	assert_int_equal(fake_filters_active(), before);
	fake_advance(2 * SEC);
	h_poll();
	assert_int_equal(fake_filters_active(), before - 1);
	twd_free(t);
	assert_int_equal(T.unrefs, 1);
}

static void test_port_record(void **state)
{
	struct twd_rec r;
	struct h_conn *conn = *state;

	h_close_to_time_wait(&conn->p, conn->c);
	struct tcp_tw *w = tcp_tw_first(H.s);
	assert_non_null(w);
	assert_true(tcp_tw_rec(H.s, w, &r));
	assert_int_equal(twd_rec_check(&r), 0);
	/* demultiplexed here: it travels with the listener's port filter */
	assert_int_equal(r.flags & TWD_F_PORT, TWD_F_PORT);
	assert_int_equal(r.filter, H.listener->filter_id);
	assert_memory_equal(&r.cap, &H.listener->filter_cap, sizeof(r.cap));
	assert_int_equal(r.port_laddr, 0);
	h_close_listener();
	h_poll();
	/* the listener gone, nothing delivers the block any more */
	assert_false(tcp_tw_rec(H.s, w, &r));
}

static void test_fin_wait_1_record(void **state)
{
	static const char data[] = "0123456789";
	struct exos_tcp_sendreq req = {.data = data, .len = 10, .flags = EXOS_TCP_SEND_COPY};
	struct twd_rec r;
	struct peer p;
	struct parsed q;
	uint8_t frame[256];

	(void)state;
	memset(&T, 0, sizeof(T));
	peer_init(&p, 0);
	struct exos_tcp *c = h_active_open(&p, 0);
	assert_int_equal(exos_tcp_send(c, &req, 1), 0);
	h_next(&q);
	exos_tcp_close(c);
	h_next(&q);
	peer_check(&p, &q, TCP_ACK | TCP_FIN);
	uint32_t fin = q.seq;
	/* data outstanding: the exit drains it first, it cannot go to twd */
	assert_int_equal(tcp_exit_draining(H.s), 1);
	assert_false(tcp_pcb_rec(c, &r));
	p.ack = fin; /* the data acknowledged, not the FIN */
	peer_send(&p, TCP_ACK, NULL, 0);
	assert_int_equal(tcp_exit_draining(H.s), 0);
	assert_int_equal(tcp_closing_count(H.s), 1);
	assert_true(tcp_pcb_rec(c, &r));
	assert_int_equal(twd_rec_check(&r), 0);
	assert_int_equal(r.state, EXOS_TCP_FIN_WAIT_1);
	assert_int_equal(r.snd_una, fin);
	assert_int_equal(r.fin_seq, fin);
	assert_int_equal(r.snd_nxt, fin + 1);
	assert_int_equal(r.expire_ns, 0);
	assert_true(r.rto_ms >= 200);

	/* twd retransmits the FIN after the RTO; the peer's ACK, then FIN end it */
	struct twd *t = twd_new(&t_ops, NULL, 30 * SEC);
	uint64_t now = fake_time();
	assert_int_equal(twd_add(t, &r, now), 0);
	assert_int_equal(T.n, 0);
	assert_int_equal(twd_next_timer(t), now + (uint64_t)r.rto_ms * MS);
	twd_timers(t, twd_next_timer(t));
	t_next(&q);
	assert_int_equal(q.flags, TCP_FIN | TCP_ACK);
	assert_int_equal(q.seq, fin);
	assert_int_equal(q.ack, p.seq);
	p.ack = fin + 1;
	twd_input(t, r.filter, frame, (uint32_t)peer_frame(frame, &p, p.seq, TCP_ACK), now);
	assert_int_equal(T.n, 0);
	assert_int_equal(twd_state(t, r.laddr, r.lport, r.raddr, r.rport), EXOS_TCP_FIN_WAIT_2);
	p.tsval++;
	twd_input(t, r.filter, frame, (uint32_t)peer_frame(frame, &p, p.seq, TCP_ACK | TCP_FIN),
		  now);
	t_next(&q);
	assert_int_equal(q.flags, TCP_ACK);
	assert_int_equal(q.ack, p.seq + 1);
	assert_int_equal(twd_state(t, r.laddr, r.lport, r.raddr, r.rport), EXOS_TCP_TIME_WAIT);
	twd_free(t);

	/* (the stack still holds it: let the test's peer finish it here too) */
	peer_send(&p, TCP_ACK | TCP_FIN, NULL, 0);
	h_next(&q);
}

static void test_last_ack_record(void **state)
{
	struct twd_rec r;
	struct h_conn *conn = *state;
	struct peer *p = &conn->p;
	struct exos_tcp *c = conn->c;
	struct parsed q;

	peer_send(p, TCP_ACK | TCP_FIN, NULL, 0); /* the peer closes first */
	h_next(&q);
	exos_tcp_close(c);
	h_next(&q);
	peer_check(p, &q, TCP_ACK | TCP_FIN);
	assert_true(tcp_pcb_rec(c, &r));
	assert_int_equal(twd_rec_check(&r), 0);
	assert_int_equal(r.state, EXOS_TCP_LAST_ACK);
	assert_int_equal(r.flags & TWD_F_PORT, TWD_F_PORT);
	assert_int_equal(r.rcv_nxt, p->seq);
	p->ack = q.seq + 1;
	peer_send(p, TCP_ACK, NULL, 0);
	assert_false(tcp_pcb_rec(c, &r)); /* over */
}

static void test_exit_close_all(void **state)
{
	struct peer p, p2;
	struct parsed q;

	(void)state;
	peer_init(&p, 80);
	struct exos_tcp *c = h_passive_open(&p, 80, 0);
	(void)c;
	/* a second handshake left half done */
	peer_init(&p2, 80);
	p2.port = 40001;
	peer_send(&p2, TCP_SYN, NULL, 0);
	h_next(&q);
	int freed = H.freed;
	tcp_exit_close_all(H.s);
	bool fin = false, rst = false;
	while (h_try_next(&q)) {
		if (q.dport == p.port && q.flags == (TCP_ACK | TCP_FIN))
			fin = true;
		if (q.dport == p2.port && (q.flags & TCP_RST))
			rst = true;
	}
	assert_true(fin); /* closed as a descriptor is at exit */
	assert_true(rst); /* nobody will accept it */
	h_poll();
	assert_int_equal(H.freed, freed); /* detached: no callbacks any more */
	assert_int_equal(tcp_closing_count(H.s), 1);
	p.ack++;
	peer_send(&p, TCP_ACK | TCP_FIN, NULL, 0);
	h_next(&q);
	assert_int_equal(tcp_closing_count(H.s), 1); /* now in TIME_WAIT */
	exos_tcp_close(H.listener);
}

/* At exit the socket layer closes connections like descriptors, but leaves listeners to
 * the hand-off (their filter delivers the connections still closing). */
static void test_exit_sockets(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(80)};
	struct exos_stack_stats st;
	struct peer p;
	struct parsed q;

	(void)state;
	int lfd = exos_socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(exos_bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(exos_listen(lfd, 8), 0);
	peer_init(&p, 80);
	peer_send(&p, TCP_SYN, NULL, 0);
	h_next(&q);
	p.ack = q.seq + 1;
	peer_send(&p, TCP_ACK, NULL, 0);
	int fd = exos_accept(lfd, NULL, NULL);
	assert_true(fd >= 0);
	assert_int_equal(exos_send(fd, "bye", 3, 0), 3);
	h_next(&q);
	assert_int_equal(q.len, 3);
	struct linger lg = {1, 5};
	assert_int_equal(exos_setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	sock_exit_close_all(H.s);
	h_next(&q);
	peer_check(&p, &q, TCP_ACK | TCP_FIN); /* closed, without waiting for the linger */
	h_stats(&st);
	assert_int_equal(st.socks_inuse, 0);
	assert_int_equal(H.s->linger_sec, 5); /* the exit drains as long as the longest linger */
	struct exos_tcp *l = tcp_listener_lookup(H.s, 0, htons(80));
	assert_non_null(l); /* still delivering */
	assert_true(l->filter_id != 0);
	assert_int_equal(tcp_closing_count(H.s), 1);
	assert_int_equal(tcp_exit_draining(H.s), 1); /* "bye" unacknowledged */
	p.ack += 4;
	peer_send(&p, TCP_ACK | TCP_FIN, NULL, 0);
	h_next(&q);
	assert_int_equal(tcp_exit_draining(H.s), 0);
	exos_tcp_close(l);
}

/* Lingering without twd: the ports go (a restarted server can listen at once); closing
 * connections get filters of their own, TIME_WAIT blocks nothing delivers are dropped. */
static void test_release_ports(void **state)
{
	struct exos_stack_stats st;
	struct peer p, p2;
	struct parsed q;

	(void)state;
	peer_init(&p, 80);
	h_close_to_time_wait(&p, h_passive_open(&p, 80, 0));
	peer_init(&p2, 80);
	p2.port = 40001;
	H.naccepted = 0;
	peer_send(&p2, TCP_SYN, NULL, 0);
	h_next(&q);
	p2.ack = q.seq + 1;
	peer_send(&p2, TCP_ACK, NULL, 0);
	struct exos_tcp *c2 = H.accepted[0];
	exos_tcp_close(c2); /* FIN_WAIT_1, through the listener's filter */
	h_next(&q);
	assert_int_equal(c2->filter_id, 0);
	tcp_exit_release_ports(H.s);
	assert_null(tcp_listener_lookup(H.s, 0, htons(80)));
	assert_true(c2->filter_id != 0); /* a 4-tuple filter of its own */
	h_stats(&st);
	assert_int_equal(st.tcp_tw_inuse, 0);
	assert_int_equal(st.filters_inuse, 1);
	H.listener = NULL;
	p2.ack++;
	peer_send(&p2, TCP_ACK | TCP_FIN, NULL, 0);
	h_next(&q);
}

static void test_no_twd(void **state)
{
	struct peer p;
	uint32_t left = 0;

	(void)state;
	to_time_wait(&p);
	assert_true(handoff_stack(H.s, false, &left) < 0); /* nobody at the socket */
	assert_int_equal(left, 1);
	struct exos_stack_stats st;
	h_stats(&st);
	assert_int_equal(st.tcp_tw_inuse, 1); /* still ours */
	uint32_t id = 0;
	struct xok_cap cap;
	assert_int_equal(handoff_take_port(H.s, 0, htons(80), &id, &cap), -ENOENT);
}

/* ---- a fake twd on a real socket ---- */

struct fake_twd {
	char path[108];
	int lfd;
	pthread_t th;
	int mode; /* 0: HANDOFF, take all but record 1; 1: TAKE -> PORT; 2: TAKE -> ENOENT */
	struct twd_rec give;
	uint32_t got, checked_ok, done;
};

static void *fake_twd_main(void *arg)
{
	struct fake_twd *ft = arg;
	static _Alignas(16) uint8_t buf[TWD_MSG_MAX];
	struct twd_hdr h;
	int fd = accept(ft->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		if (twd_msg_check(buf, (size_t)n, &h))
			break;
		if (h.type == TWD_MSG_DONE) {
			ft->done++;
			continue;
		}
		if (h.type == TWD_MSG_HANDOFF) {
			struct {
				struct twd_hdr h;
				struct twd_ack a;
			} ack = {.h = h};
			ack.h.type = TWD_MSG_ACK;
			for (uint32_t i = 0; i < h.count; i++) {
				struct twd_rec r;
				memcpy(&r, buf + sizeof(h) + i * sizeof(r), sizeof(r));
				ft->got++;
				ft->checked_ok += twd_rec_check(&r) == 0;
				if (i != 1)
					ack.a.taken[i / 64] |= 1ull << (i % 64);
			}
			send(fd, &ack, sizeof(ack), 0);
			continue;
		}
		/* TAKE */
		struct {
			struct twd_hdr h;
			struct twd_port port;
			struct twd_rec r;
		} rep = {.h = h};
		rep.h.type = TWD_MSG_PORT;
		rep.h.count = ft->mode == 1;
		rep.h.status = ft->mode == 1 ? 0 : -ENOENT;
		rep.port.filter = ft->mode == 1 ? 777 : 0;
		rep.port.cap = fake_cap(777);
		rep.r = ft->give;
		send(fd, &rep, ft->mode == 1 ? sizeof(rep) : sizeof(rep) - sizeof(rep.r), 0);
	}
	close(fd);
	return NULL;
}

static void fake_twd_start(struct fake_twd *ft, int mode)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	ft->mode = mode;
	snprintf(ft->path, sizeof(ft->path), "/tmp/test-twd-%d.sock", (int)getpid());
	unlink(ft->path);
	memcpy(sun.sun_path, ft->path, strlen(ft->path));
	ft->lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_true(ft->lfd >= 0);
	assert_int_equal(bind(ft->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(ft->lfd, 4), 0);
	setenv("XOK_TWD_SOCKET", ft->path, 1);
	assert_int_equal(pthread_create(&ft->th, NULL, fake_twd_main, ft), 0);
}

static void fake_twd_stop(struct fake_twd *ft)
{
	pthread_join(ft->th, NULL);
	close(ft->lfd);
	unlink(ft->path);
	setenv("XOK_TWD_SOCKET", "/nonexistent/twd.sock", 1);
}

static void test_handoff_to_twd(void **state)
{
	struct fake_twd ft = {0};
	struct exos_stack_stats st;
	struct peer p1, p2;
	uint32_t left = 0;

	(void)state;
	to_time_wait(&p1);
	H.connected = 0;
	to_time_wait(&p2);
	h_stats(&st);
	assert_int_equal(st.tcp_tw_inuse, 2);
	size_t filters = fake_filters_active();
	fake_twd_start(&ft, 0);
	assert_int_equal(handoff_stack(H.s, false, &left), 1); /* twd refused record 1 */
	fake_twd_stop(&ft);
	assert_int_equal(ft.got, 2);
	assert_int_equal(ft.checked_ok, 2);
	assert_int_equal(left, 1);
	h_stats(&st);
	assert_int_equal(st.tcp_tw_inuse, 1);
	/* both came from one port block, whose filter still delivers the one twd refused */
	assert_int_equal(fake_filters_active(), filters);
}

/* A listener closing gives its TIME_WAIT blocks (no filter of their own) to twd with its
 * port filter. */
static void test_listener_close_hands_off(void **state)
{
	struct fake_twd ft = {0};
	struct exos_stack_stats st;
	struct h_conn *conn = *state;

	h_close_to_time_wait(&conn->p, conn->c);
	h_stats(&st);
	assert_int_equal(st.tcp_tw_inuse, 1);
	fake_twd_start(&ft, 0);
	h_close_listener();
	fake_twd_stop(&ft);
	assert_int_equal(ft.got, 1);
	assert_int_equal(ft.checked_ok, 1);
	h_stats(&st);
	assert_int_equal(st.tcp_tw_inuse, 0);
}

static void test_take_port_back(void **state)
{
	struct exos_tcp_opts o = {.sz = sizeof(o), .local_port = 80};
	struct fake_twd ft = {0};
	struct exos_stack_stats st;
	struct peer p;
	struct parsed q;

	(void)state;
	peer_init(&p, 80);
	p.ack = 123456;
	/* a TIME_WAIT connection a previous process left on port 80 */
	ft.give = (struct twd_rec){
		.laddr = ip4(OUR_IP), .raddr = ip4(PEER_IP), .lport = htons(80),
		.rport = htons(p.port), .ifindex = FAKE_IFINDEX, .state = EXOS_TCP_TIME_WAIT,
		.flags = TWD_F_TS | TWD_F_MAC | TWD_F_PORT, .win = 1000, .snd_una = p.ack,
		.snd_nxt = p.ack, .fin_seq = p.ack - 1, .rcv_nxt = p.seq, .ts_recent = p.tsval - 1,
		.ts_offset = 42, .expire_ns = fake_time() + 10 * SEC, .since_ns = fake_time(),
		.filter = 777, .cap = fake_cap(777)};
	memcpy(ft.give.lmac, our_mac, 6);
	memcpy(ft.give.rmac, peer_mac, 6);
	fake_twd_start(&ft, 1);
	assert_int_equal(exos_tcp_listen(H.s, &o, &h_ops, NULL, &H.listener), 0);
	fake_twd_stop(&ft);
	assert_int_equal(ft.done, 1);
	assert_int_equal(H.listener->filter_id, 777); /* twd's filter, now ours */
	h_stats(&st);
	assert_int_equal(st.tcp_tw_inuse, 1); /* the connection adopted */
	/* its peer's retransmitted FIN: ACKed by the adopted block */
	peer_send_at(&p, p.seq - 1, TCP_ACK | TCP_FIN, NULL, 0);
	h_next(&q);
	peer_check(&p, &q, TCP_ACK);
	assert_int_equal(q.seq, p.ack);
	assert_int_equal(q.ack, p.seq);
	assert_int_equal(q.opt.tsecr, p.tsval - 1);
	exos_tcp_close(H.listener);

	/* twd holds nothing there: the listener installs its own */
	memset(&ft, 0, sizeof(ft));
	fake_twd_start(&ft, 2);
	assert_int_equal(exos_tcp_listen(H.s, &o, &h_ops, NULL, &H.listener), 0);
	fake_twd_stop(&ft);
	assert_true(H.listener->filter_id != 777);
	exos_tcp_close(H.listener);
}

/* ---- twd's validation of what arrives ---- */

static void test_rec_check(void **state)
{
	struct twd_rec good = {
		.laddr = 1, .raddr = 2, .lport = 3, .rport = 4, .ifindex = 5,
		.state = EXOS_TCP_TIME_WAIT, .snd_una = 101, .snd_nxt = 101, .fin_seq = 100,
		.expire_ns = 10, .since_ns = 5, .filter = 9};
	struct twd_rec r;

	(void)state;
	assert_int_equal(twd_rec_check(&good), 0);
#define BAD(stmt)                                          \
	do {                                               \
		r = good;                                  \
		stmt;                                      \
		assert_int_equal(twd_rec_check(&r), -EINVAL); \
	} while (0)
	BAD(r.laddr = 0);
	BAD(r.filter = 0);
	BAD(r.ifindex = 0);
	BAD(r.pad = 1);
	BAD(r.flags = 0x80);
	BAD(r.rcv_wscale = 15);
	BAD(r.port_laddr = 7);		  /* without TWD_F_PORT */
	BAD(r.lmac[0] = 1);		  /* a group address as ours */
	BAD(r.state = EXOS_TCP_ESTABLISHED);
	BAD(r.snd_una = 100);		  /* TIME_WAIT: our FIN acknowledged */
	BAD(r.expire_ns = 0);
	BAD(r.since_ns = 11);
	BAD(r.state = EXOS_TCP_FIN_WAIT_1); /* FIN_WAIT_1 with the FIN acknowledged */
	BAD(r.snd_una = r.snd_nxt = 90);  /* data outstanding */
	BAD(r.snd_nxt = 103);
	r = good;
	r.state = EXOS_TCP_LAST_ACK;
	r.snd_una = 100;
	r.expire_ns = 0;
	assert_int_equal(twd_rec_check(&r), 0);
	r.snd_nxt = 100; /* the FIN not sent yet */
	assert_int_equal(twd_rec_check(&r), 0);
#undef BAD
}

static void test_msg_check(void **state)
{
	_Alignas(16) uint8_t buf[sizeof(struct twd_hdr) + 2 * sizeof(struct twd_rec)] = {0};
	struct twd_hdr h = {.magic = TWD_MAGIC, .version = TWD_VERSION, .type = TWD_MSG_HANDOFF,
			    .count = 2};
	struct twd_hdr out;

	(void)state;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(twd_msg_check(buf, sizeof(buf), &out), 0);
	assert_int_equal(twd_msg_check(buf, sizeof(buf) - 1, &out), -EINVAL);
	assert_int_equal(twd_msg_check(buf, 10, &out), -EINVAL);
	h.count = 0;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(twd_msg_check(buf, sizeof(h), &out), -EINVAL);
	h.count = 2;
	h.magic = 1;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(twd_msg_check(buf, sizeof(buf), &out), -EPROTO);
	h.magic = TWD_MAGIC;
	h.version = 9;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(twd_msg_check(buf, sizeof(buf), &out), -EPROTONOSUPPORT);
	h.version = TWD_VERSION;
	h.type = TWD_MSG_ACK; /* twd's own */
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(twd_msg_check(buf, sizeof(buf), &out), -EINVAL);
	h.type = TWD_MSG_TAKE;
	h.count = 0;
	memcpy(buf, &h, sizeof(h));
	struct twd_take t = {.laddr = 0, .lport = htons(80)};
	memcpy(buf + sizeof(h), &t, sizeof(t));
	assert_int_equal(twd_msg_check(buf, sizeof(h) + sizeof(t), &out), 0);
	t.lport = 0;
	memcpy(buf + sizeof(h), &t, sizeof(t));
	assert_int_equal(twd_msg_check(buf, sizeof(h) + sizeof(t), &out), -EINVAL);
	h.type = TWD_MSG_DONE;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(twd_msg_check(buf, sizeof(h), &out), 0);
	assert_int_equal(twd_msg_check(buf, sizeof(h) + 4, &out), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		H_TEST(test_time_wait_record),
		H_CONN_TEST(test_port_record),
		H_TEST(test_fin_wait_1_record),
		H_CONN_TEST(test_last_ack_record),
		H_TEST(test_exit_close_all),
		H_TEST(test_exit_sockets),
		H_TEST(test_release_ports),
		H_TEST(test_no_twd),
		H_TEST(test_handoff_to_twd),
		H_CONN_TEST(test_listener_close_hands_off),
		H_TEST(test_take_port_back),
		cmocka_unit_test(test_rec_check),
		cmocka_unit_test(test_msg_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
