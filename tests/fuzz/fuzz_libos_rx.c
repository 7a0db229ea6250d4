/* fuzz_libos_rx.c - libFuzzer harness: the libOS receive path against live connection state
 *
 * A libexos stack runs over the fake sys layer of the unit tests (tests/libos/fake_sys.c):
 * for every input it listens on port 80, has a peer open a connection to it (established,
 * with a little data queued each way) and opens one itself to the peer's port 9000, with
 * UDP bound to 53.  The input is then a sequence of records, each starting with a kind byte:
 *   0 tcp     a TCP segment from the peer to one of the connections (or a listener port,
 *             or a closed one): flags, sequence and acknowledgment offsets relative to
 *             what the connection expects, window, options (MSS, window scale, SACK
 *             permitted, timestamps, SACK blocks), payload; valid checksum unless the
 *             record says otherwise
 *   1 raw     a frame as is (Ethernet onwards)
 *   2 udp     a datagram to one of a few ports
 *   3 icmp    a destination unreachable quoting one of the frames the stack sent
 *   4 frag    a fragment of a forged TCP segment (IP reassembly)
 *   5 time    the clock moves on (timers: retransmissions, delayed ACKs, TIME_WAIT)
 *   6 app     the application side: send, consume, close, abort on a connection
 * The stack runs after every record.  At the end everything is closed and the stack freed;
 * ASan/UBSan and the fake's own checks (memory outside registered regions) catch misuse.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <exos/exos.h>
#include <exos/tcp.h>
#include <exos/udp.h>
#include <xok/proto/tcp.h>

#include "fake_sys.h"
#include "forge.h"
#include "fuzz_input.h"

/* ---- the application ---- */

#define NCONN 4
static struct {
	struct exos_stack *s;
	struct exos_tcp *listener, *conn[NCONN];
	uint32_t rcv_nxt[NCONN], snd_una[NCONN]; /* the peer's view of each */
	uint16_t lport[NCONN], rport[NCONN];
	struct exos_udp *udp;
	uint8_t *mem; /* registered: zero-copy sends */
	struct exos_region *region;
	uint32_t tsval;
} A;

static int slot_of(struct exos_tcp *c)
{
	for (int i = 0; i < NCONN; i++)
		if (A.conn[i] == c)
			return i;
	return -1;
}

static int on_accept(struct exos_tcp *l, struct exos_tcp *c, void *arg)
{
	(void)l;
	(void)arg;
	for (int i = 0; i < NCONN; i++) {
		if (!A.conn[i]) {
			A.conn[i] = c;
			return 0;
		}
	}
	return -ECONNREFUSED;
}

static size_t on_data(struct exos_tcp *c, const void *data, size_t len, void *arg)
{
	(void)c;
	(void)data;
	(void)arg;
	return len / 2 + 1 > len ? len : len / 2 + 1; /* leaves some unconsumed */
}

static void on_gone(struct exos_tcp *c, void *arg)
{
	int i = slot_of(c);

	(void)arg;
	if (i >= 0)
		A.conn[i] = NULL;
}

static void on_error(struct exos_tcp *c, int err, void *arg)
{
	(void)err;
	on_gone(c, arg);
}

static const struct exos_tcp_ops ops = {
    .on_accept = on_accept,
    .on_data = on_data,
    .on_error = on_error,
    .on_free = on_gone,
};

/* ---- frames ---- */

static void inject(const uint8_t *frame, size_t len)
{
	fake_inject(frame, len);
	exos_stack_poll(A.s);
}

/* Reads what the stack sent; remembers the last frame as ICMP material; tracks ACKs. */
static uint8_t last_sent[FAKE_FRAME_MAX];
static size_t last_sent_len;

static void drain(void)
{
	struct fake_frame f;

	while (fake_tx_pop(&f)) {
		struct parsed q;

		memcpy(last_sent, f.data, f.len);
		last_sent_len = f.len;
		if (parse_frame(f.data, f.len, &q) < 0 || q.ethertype != 0x0800 || q.proto != 6)
			continue;
		for (int i = 0; i < NCONN; i++) {
			if (A.lport[i] != q.sport || A.rport[i] != q.dport)
				continue;
			if (q.opt.ts)
				A.tsval = q.opt.tsval;
			A.snd_una[i] = q.seq + (uint32_t)q.len + !!(q.flags & (TCP_SYN | TCP_FIN));
		}
	}
}

static void tcp_record(struct input *in)
{
	uint8_t sel = take8(in), fl = take8(in), opts = take8(in), plen = take8(in);
	int i = sel % (NCONN + 2);
	struct forge_tcp f = {0};
	uint8_t frame[2048], payload[256];

	if (i < NCONN) {
		f.sport = A.rport[i];
		f.dport = A.lport[i];
		f.seq = A.rcv_nxt[i] + (uint32_t)(int8_t)take8(in) * 97;
		f.ack = A.snd_una[i] + (uint32_t)(int8_t)take8(in) * 13;
	} else {
		f.sport = (uint16_t)(40000 + take8(in));
		f.dport = i == NCONN ? 80 : (uint16_t)(1 + take8(in));
		f.seq = take(in, 4);
		f.ack = take(in, 4);
	}
	f.flags = fl;
	f.win = (uint16_t)(take8(in) << 8 | take8(in));
	f.mss = (opts & 1) ? (uint16_t)(take8(in) << 4) : 0;
	f.wscale = (opts & 2) ? take8(in) % 16 : -1;
	f.sack_perm = opts & 4;
	f.ts = opts & 8;
	f.tsval = take(in, 4);
	f.tsecr = (opts & 16) ? A.tsval : take(in, 4);
	/* SACK blocks in what the 40 option bytes leave (forge_tcp lays them out 4-aligned) */
	int room = 40 - (f.mss ? 4 : 0) - (f.sack_perm ? 4 : 0) - (f.ts ? 12 : 0) -
		   (f.wscale >= 0 && (fl & TCP_SYN) ? 4 : 0) - 4;
	f.nsack = (opts >> 5) % 5;
	if (f.nsack > room / 8)
		f.nsack = room > 0 ? room / 8 : 0;
	for (int k = 0; k < f.nsack; k++) {
		uint32_t base = i < NCONN ? A.snd_una[i] : 0;

		f.sack[k][0] = base + (uint32_t)(int8_t)take8(in) * 100;
		f.sack[k][1] = f.sack[k][0] + take8(in) * 50u;
	}
	f.bad_csum = (fl & 0x40) && (opts & 0x80);
	for (int k = 0; k < plen; k++)
		payload[k] = take8(in);
	f.data = payload;
	f.len = plen;
	inject(frame, forge_tcp(frame, &f));
	if (i < NCONN && (fl & TCP_ACK) && !f.bad_csum)
		A.rcv_nxt[i] += plen + !!(fl & (TCP_SYN | TCP_FIN));
}

static void raw_record(struct input *in)
{
	uint8_t frame[FAKE_FRAME_MAX];
	size_t len = (size_t)(take8(in) << 3 | take8(in) >> 5) % sizeof(frame);

	for (size_t k = 0; k < len; k++)
		frame[k] = take8(in);
	if (len >= 14) { /* mostly to us, so that it gets past Ethernet */
		memcpy(frame, our_mac, 6);
		if (take8(in) & 1) {
			frame[12] = 0x08;
			frame[13] = 0x00;
		}
	}
	inject(frame, len);
}

static void udp_record(struct input *in)
{
	static const uint16_t ports[] = {53, 54, 80, 9000};
	uint8_t frame[2048], data[256];
	uint8_t n = take8(in);
	uint16_t port = ports[take8(in) % 4];

	for (int k = 0; k < n; k++)
		data[k] = take8(in);
	inject(frame, forge_udp(frame, 0, 0, (uint16_t)(1000 + take8(in)), port, data, n));
}

static void icmp_record(struct input *in)
{
	uint8_t frame[2048];
	size_t quoted = last_sent_len > 14 ? last_sent_len - 14 : 0;

	if (!quoted)
		return;
	quoted = quoted < (size_t)take8(in) + 8 ? quoted : (size_t)take8(in) + 8;
	inject(frame, forge_icmp_unreach(frame, ip4(PEER_IP), take8(in) % 16, last_sent + 14,
					 quoted));
}

static void frag_record(struct input *in)
{
	uint8_t whole[2048], frag[2048], data[600];
	int i = take8(in) % NCONN;
	struct forge_tcp f = {.sport = A.rport[i], .dport = A.lport[i], .seq = A.rcv_nxt[i],
			      .ack = A.snd_una[i], .flags = TCP_ACK, .win = 65535,
			      .data = data, .len = sizeof(data), .ip_id = (uint16_t)take(in, 4)};
	size_t len = forge_tcp(whole, &f), ip_len = len - 14;
	size_t at = (take8(in) % (ip_len / 8)) * 8, n = 8 + (take8(in) % 64) * 8;

	memset(data, take8(in), sizeof(data));
	len = forge_tcp(whole, &f);
	if (at + n > ip_len)
		n = ip_len - at;
	inject(frag, forge_fragment(frag, whole, at, n, at + n < ip_len));
}

static void app_record(struct input *in)
{
	uint8_t op = take8(in), len = take8(in);
	struct exos_tcp *c = A.conn[op % NCONN];
	struct exos_tcp_sendreq q = {.data = A.mem + len, .len = (uint32_t)len * 37};

	if (!c)
		return;
	switch ((op >> 2) % 5) {
	case 0:
		exos_tcp_send(c, &q, 1);
		break;
	case 1:
		q.flags = EXOS_TCP_SEND_COPY | EXOS_TCP_SEND_FIN;
		exos_tcp_send(c, &q, 1);
		break;
	case 2:
		exos_tcp_shutdown(c);
		break;
	case 3:
		exos_tcp_close(c);
		A.conn[op % NCONN] = NULL;
		break;
	case 4:
		exos_tcp_abort(c);
		A.conn[op % NCONN] = NULL;
		break;
	}
	exos_stack_poll(A.s);
}

/* ---- set-up: a listener, an accepted connection, an active open, a UDP socket ---- */

static void establish(void)
{
	struct exos_tcp_opts lo = {.sz = sizeof(lo), .local_port = 80};
	struct exos_tcp_opts co = {.sz = sizeof(co), .remote_addr = ip4(PEER_IP),
				   .remote_port = 9000};
	struct forge_tcp f = {.sport = 40001, .dport = 80, .seq = 1000, .flags = TCP_SYN,
			      .win = 65535, .mss = 1460, .wscale = 7, .sack_perm = true,
			      .ts = true, .tsval = 1};
	uint8_t frame[256];
	struct exos_tcp *c = NULL;

	exos_tcp_listen(A.s, &lo, &ops, NULL, &A.listener);
	inject(frame, forge_tcp(frame, &f));
	A.lport[0] = 80;
	A.rport[0] = 40001;
	drain();
	f.seq = 1001;
	f.ack = A.snd_una[0];
	f.flags = TCP_ACK;
	f.mss = 0;
	f.wscale = -1;
	f.sack_perm = false;
	f.tsecr = A.tsval;
	inject(frame, forge_tcp(frame, &f));
	A.rcv_nxt[0] = 1001;
	if (exos_tcp_connect(A.s, &co, &ops, NULL, &c) == 0) {
		struct fake_frame sf;
		struct parsed q;

		A.conn[1] = c;
		if (fake_tx_pop(&sf) && parse_frame(sf.data, sf.len, &q) == 0) {
			A.lport[1] = q.sport;
			A.rport[1] = 9000;
			f = (struct forge_tcp){.sport = 9000, .dport = q.sport, .seq = 5000,
					       .ack = q.seq + 1, .flags = TCP_SYN | TCP_ACK,
					       .win = 65535, .mss = 1460, .wscale = 7,
					       .sack_perm = true, .ts = true, .tsval = 1,
					       .tsecr = q.opt.tsval};
			inject(frame, forge_tcp(frame, &f));
			A.rcv_nxt[1] = 5001;
		}
	}
	drain();
}

static void setup(void)
{
	struct exos_stack_opts o = {.sz = sizeof(o), .ring_entries = 256,
				    .flags = EXOS_STACK_ICMP_ECHO};

	memset(&A, 0, sizeof(A));
	fake_reset();
	fake_arp_set(ip4(PEER_IP), peer_mac);
	fake_arp_set(ip4(GW_IP), gw_mac);
	if (exos_sys_open(NULL, &o.sys) || exos_stack_open(&o, &A.s))
		abort();
	if (exos_region_create(o.sys, 65536, &A.region))
		abort();
	A.mem = A.region->base;
	memset(A.mem, 'x', 65536);
	exos_udp_open(A.s, 0, 53, NULL, NULL, &A.udp);
	establish();
}

static void teardown(void)
{
	struct exos_sys *sys = exos_stack_sys(A.s);
	struct fake_stats fs;

	for (int i = 0; i < NCONN; i++)
		if (A.conn[i])
			exos_tcp_abort(A.conn[i]);
	if (A.listener)
		exos_tcp_close(A.listener);
	if (A.udp)
		exos_udp_close(A.udp);
	exos_stack_poll(A.s);
	fake_complete_all();
	exos_stack_close(A.s);
	exos_region_destroy(sys, A.region);
	exos_sys_close(sys);
	fake_get_stats(&fs);
	if (fs.xmit_efault || fs.regions_live)
		abort(); /* a frame from memory nobody registered, or a region leaked */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("XOK_TWD_SOCKET", "/nonexistent/twd.sock", 1);
	setenv("EXOS_EXIT_LINGER", "none", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};

	setup();
	for (int records = 0; in.n && records < 256; records++) {
		switch (take8(&in) % 7) {
		case 0:
			tcp_record(&in);
			break;
		case 1:
			raw_record(&in);
			break;
		case 2:
			udp_record(&in);
			break;
		case 3:
			icmp_record(&in);
			break;
		case 4:
			frag_record(&in);
			break;
		case 5:
			fake_advance((uint64_t)take8(&in) * 10000000ull); /* up to 2.55 s */
			exos_stack_poll(A.s);
			break;
		case 6:
			app_record(&in);
			break;
		}
		drain();
	}
	teardown();
	return 0;
}
