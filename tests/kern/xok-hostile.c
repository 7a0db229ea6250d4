/* xok-hostile.c - an application that attacks another one through xokd, for the tests */

/*
 *   xok-hostile --socket PATH --victim-port P --peer A --peer-mac M [--rounds N]
 *
 * The victim receives UDP port P on the interface's address.  Every attack below must be
 * refused; each prints "attack NAME err=E refused" (or "... ACCEPTED" -- a failure), and
 * at the end "hostile attacks=N refused=K tx_denied=D".  Run it unprivileged (setpriv):
 * root may install copy filters and publish tables by design.
 *
 *  steal     a filter equal to the victim's (-EEXIST), one refining it (-EPERM), one
 *            overlapping it ambiguously (-EBUSY), a copy filter to sniff it (-EPERM)
 *  forge     DPF_REF of the victim's filter with forged capabilities (-EPERM), then the
 *            refining filter again (-EPERM); deleting the victim's filter (-EPERM)
 *  memory    transmitting from region ids that are not its own, past its region's end,
 *            with an overflowing offset (-EFAULT); rings, regions and predicates on
 *            ids it does not have (-ENOENT)
 *  spoof     frames with the peer's source address, the victim's source port, another
 *            MAC, an IPv6 ethertype, an ARP reply, an ARP request lying about its
 *            address (-EPERM, by checked transmission)
 *  tables    publishing or notifying the ARP table (-EPERM)
 *  predicate invalid predicates (too many terms, words outside its memory, a bad op),
 *            then N valid ones as fast as it can (each replaces the last)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <exos/sys.h>
#include <xok/dpf.h>

#include "sys_internal.h" /* raw requests */

#include "udp_frame.h"
#include "xok_client.h"

static struct {
	const char *socket;
	int victim_port;
	uint32_t peer; /* host order */
	uint8_t peer_mac[6];
	int rounds;
} opt = {.rounds = 2000};

static int attacks, refused;

/* Records one attack: refused when err is one of the two expected errors. */
static void attack(const char *name, int err, int want, int want2)
{
	bool ok = err < 0 && (err == want || err == want2);

	attacks++;
	refused += ok;
	printf("attack %s err=%d %s\n", name, err, ok ? "refused" : "ACCEPTED");
	fflush(stdout);
}

static int raw(struct exos_sys *sys, uint16_t op, const void *req, size_t len, void *rep,
	       size_t rep_len)
{
	return sys_call(sys, op, req, len, -1, rep, rep_len, NULL);
}

/* The victim's filter: the one delivering the victim's UDP port (found through STATS). */
static uint32_t victim_filter(struct exos_sys *sys, uint32_t self)
{
	struct xok_stats_reply st;
	uint32_t i, cursor = 0;

	do {
		if (exos_sys_stats(sys, XOK_STATS_FILTER, cursor, &st))
			return 0;
		for (i = 0; i < st.count; i++)
			if (st.recs[i].owner != self && st.recs[i].c[XOK_SF_COPY] == 0)
				return st.recs[i].id; /* the first tree filter not ours */
		cursor = st.next_cursor;
	} while (cursor);
	return 0;
}

/* The victim's UDP port filter narrowed to datagrams from the peer: a refinement of it (the
 * IPv4 atoms must come before the port's indirection). */
static void victim_refined(struct dpf_filter *f, uint32_t me)
{
	dpf_filter_init(f);
	dpf_match_ipv4(f);
	dpf_match_ipv4_proto(f, 17);
	dpf_match_ipv4_dst(f, me, 32);
	dpf_match_ipv4_src(f, opt.peer, 32);
	dpf_match_l4_dport(f, (uint16_t)opt.victim_port);
}

static void steal(struct exos_sys *sys, struct exos_ring *ring, uint32_t me)
{
	struct exos_filter_id id;
	struct dpf_filter f;

	dpf_filter_udp_port(&f, me, (uint16_t)opt.victim_port);
	attack("steal-equal", exos_filter_insert(sys, ring, 0, 0, &f, &id), -EEXIST, -EEXIST);
	victim_refined(&f, me);
	attack("steal-refine", exos_filter_insert(sys, ring, 0, 0, &f, &id), -EPERM, -EPERM);
	dpf_filter_init(&f);
	dpf_match_ipv4(&f);
	dpf_match_ipv4_proto(&f, 17);
	dpf_match_l4_sport(&f, 53);
	attack("steal-overlap", exos_filter_insert(sys, ring, 0, 0, &f, &id), -EBUSY, -EBUSY);
	dpf_filter_udp_port(&f, me, (uint16_t)opt.victim_port);
	attack("steal-copy", exos_filter_insert(sys, ring, XOK_DPF_COPY, 0, &f, &id), -EPERM,
	       -EPERM);
	/* a parent named by hand that is not where the filter lands */
	victim_refined(&f, me);
	attack("steal-named-parent", exos_filter_insert(sys, ring, 0, 1, &f, &id), -EINVAL, -EPERM);
}

static void forge(struct exos_sys *sys, struct exos_ring *ring, uint32_t me, uint32_t vf)
{
	struct exos_filter_id id;
	struct dpf_filter f;
	struct xok_cap cap;
	int i, err, worst = -EPERM;

	if (!vf)
		die("no victim filter found", -ENOENT);
	for (i = 0; i < 200; i++) {
		if (getrandom(&cap, sizeof(cap), 0) != sizeof(cap))
			die("getrandom", -errno);
		if (i == 0)
			memset(&cap, 0, sizeof(cap));
		err = exos_filter_ref(sys, vf, &cap, ring);
		if (err != -EPERM && err != -EAGAIN)
			worst = err;
	}
	attack("forge-capability x200", worst, -EPERM, -EPERM);
	victim_refined(&f, me);
	attack("forge-then-refine", exos_filter_insert(sys, ring, 0, 0, &f, &id), -EPERM, -EPERM);
	attack("delete-victim-filter", exos_filter_delete(sys, vf), -EPERM, -EPERM);
}

static void memory(struct exos_sys *sys, struct exos_region *reg, const struct exos_ring *ring,
		   uint32_t ifindex)
{
	struct xok_tx_desc d;
	struct xok_ring_set rs = {0};
	struct xok_region_del rd = {0};
	struct xok_wkpred wp;
	uint32_t id;
	int worst = -EFAULT, err;

	memset(&d, 0, sizeof(d));
	d.ifindex = ifindex;
	d.npieces = 1;
	for (id = 1; id <= 64; id++) { /* every region id that is not ours */
		if (id == reg->id || id == sys->ctl->id || id == ring->region->id)
			continue;
		d.pieces[0] = (struct xok_piece){.region = id, .len = 60};
		err = raw(sys, XOK_OP_NET_XMIT, &d, sizeof(d), NULL, 0);
		if (err != -EFAULT && err != -EAGAIN)
			worst = err;
	}
	attack("xmit-foreign-regions", worst, -EFAULT, -EFAULT);
	d.pieces[0] = (struct xok_piece){.region = reg->id, .len = 60, .offset = reg->size - 8};
	attack("xmit-past-end", raw(sys, XOK_OP_NET_XMIT, &d, sizeof(d), NULL, 0), -EFAULT,
	       -EFAULT);
	d.pieces[0] = (struct xok_piece){.region = reg->id, .len = 60, .offset = UINT64_MAX - 7};
	attack("xmit-overflow", raw(sys, XOK_OP_NET_XMIT, &d, sizeof(d), NULL, 0), -EFAULT,
	       -EFAULT);
	d.pieces[0] = (struct xok_piece){.region = XOK_REGION_TABLE(0), .len = 60};
	attack("xmit-from-table", raw(sys, XOK_OP_NET_XMIT, &d, sizeof(d), NULL, 0), -EFAULT,
	       -EFAULT);
	rs.at = (struct xok_ref){.region = 63};
	rs.entry_size = 2048;
	rs.nentries = 8;
	attack("ring-foreign-region", raw(sys, XOK_OP_RING_SET, &rs, sizeof(rs), NULL, 0), -ENOENT,
	       -ENOENT);
	rd.region = 62;
	attack("region-del-foreign", raw(sys, XOK_OP_REGION_DEL, &rd, sizeof(rd), NULL, 0), -ENOENT,
	       -ENOENT);
	memset(&wp, 0, sizeof(wp));
	wp.wake = (struct xok_ref){.region = 61};
	wp.nterms = 1;
	attack("pred-foreign-region", raw(sys, XOK_OP_WKPRED, &wp, sizeof(wp), NULL, 0), -ENOENT,
	       -ENOENT);
}

/* Ethernet + IPv4 (TTL 64) + the ports (toward 8080) of a frame from src:sport to the
 * peer, tot bytes of IP; the transport header's other fields are the caller's. */
static void frame_hdrs(uint8_t *f, const struct xok_iface_info *ifc, uint32_t s, uint8_t proto,
		       uint32_t tot, uint16_t sport)
{
	uint32_t dst = htonl(opt.peer);

	memset(f, 0, 14 + tot);
	memcpy(f, opt.peer_mac, 6);
	memcpy(f + 6, ifc->mac, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)(tot >> 8);
	f[17] = (uint8_t)tot;
	f[22] = 64;
	f[23] = proto;
	memcpy(f + 26, &s, 4);
	memcpy(f + 30, &dst, 4);
	f[34] = (uint8_t)(sport >> 8);
	f[35] = (uint8_t)sport;
	f[36] = 0x1f;
	f[37] = 0x90;
}

/* Builds a UDP frame in buf; returns its length. */
static uint32_t udp(uint8_t *f, const struct xok_iface_info *ifc, uint32_t src, uint16_t sport)
{
	frame_hdrs(f, ifc, htonl(src), 17, 50, sport);
	f[39] = 30;
	return 64;
}

static uint32_t arp(uint8_t *f, const struct xok_iface_info *ifc, uint16_t op, uint32_t spa)
{
	uint32_t s = htonl(spa), t = htonl(opt.peer);

	memset(f, 0, 60);
	memcpy(f, opt.peer_mac, 6);
	memcpy(f + 6, ifc->mac, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	f[15] = 1;
	f[16] = 0x08;
	f[18] = 6;
	f[19] = 4;
	f[21] = (uint8_t)op;
	memcpy(f + 22, ifc->mac, 6);
	memcpy(f + 28, &s, 4);
	memcpy(f + 32, opt.peer_mac, 6);
	memcpy(f + 38, &t, 4);
	return 60;
}

static int xmit_gso(struct exos_sys *sys, struct exos_region *reg, uint32_t ifindex, uint32_t len,
		    uint16_t gso_size)
{
	struct xok_tx_desc d;

	memset(&d, 0, sizeof(d));
	d.ifindex = ifindex;
	d.npieces = 1;
	d.pieces[0] = (struct xok_piece){.region = reg->id, .len = len, .offset = 1024};
	if (gso_size) {
		d.flags = XOK_TX_TCP_GSO;
		d.gso_size = gso_size;
	}
	return raw(sys, XOK_OP_NET_XMIT, &d, sizeof(d), NULL, 0);
}

static int xmit_frame(struct exos_sys *sys, struct exos_region *reg, uint32_t ifindex, uint32_t len)
{
	return xmit_gso(sys, reg, ifindex, len, 0);
}

/* A large TCP frame (3000 payload bytes, for segments of 1000) from sport: XOK_TX_TCP_GSO. */
static uint32_t tcp_gso(uint8_t *f, const struct xok_iface_info *ifc, uint16_t sport)
{
	uint32_t tot = 20 + 20 + 3000;

	frame_hdrs(f, ifc, ifc->addr, 6, tot, sport);
	f[46] = 0x50; /* data offset 5 */
	f[47] = 0x10; /* ACK */
	return 14 + tot;
}

static void spoof(struct exos_sys *sys, struct exos_region *reg, const struct xok_iface_info *ifc)
{
	uint8_t *f = (uint8_t *)reg->base + 1024;
	uint32_t me = ntohl(ifc->addr), n;

	n = udp(f, ifc, opt.peer, 4444);
	attack("spoof-peer-address", xmit_frame(sys, reg, ifc->ifindex, n), -EPERM, -EPERM);
	n = udp(f, ifc, me, (uint16_t)opt.victim_port);
	attack("spoof-victim-port", xmit_frame(sys, reg, ifc->ifindex, n), -EPERM, -EPERM);
	n = udp(f, ifc, me, 4444);
	attack("spoof-unbound-port", xmit_frame(sys, reg, ifc->ifindex, n), -EPERM, -EPERM);
	f[6] ^= 0x10; /* another MAC */
	attack("spoof-mac", xmit_frame(sys, reg, ifc->ifindex, n), -EPERM, -EPERM);
	n = udp(f, ifc, me, 4444);
	f[12] = 0x86;
	f[13] = 0xdd;
	attack("spoof-ipv6", xmit_frame(sys, reg, ifc->ifindex, n), -EPERM, -EPERM);
	n = arp(f, ifc, 2, me);
	attack("arp-reply-not-arpd", xmit_frame(sys, reg, ifc->ifindex, n), -EPERM, -EPERM);
	n = arp(f, ifc, 1, opt.peer);
	attack("arp-request-lying", xmit_frame(sys, reg, ifc->ifindex, n), -EPERM, -EPERM);
	if (ifc->flags & XOK_IFF_TCP_GSO) { /* offloaded frames are checked all the same */
		n = tcp_gso(f, ifc, (uint16_t)opt.victim_port);
		attack("spoof-gso", xmit_gso(sys, reg, ifc->ifindex, n, 1000), -EPERM, -EPERM);
	}
}

static void tables(struct exos_sys *sys)
{
	struct xok_table_req t = {.table = XOK_TABLE_ARP}, rep;
	void *base;

	attack("table-publish", exos_table_publish(sys, XOK_TABLE_ARP, 4096, &base), -EPERM,
	       -EPERM);
	attack("table-notify", raw(sys, XOK_OP_TABLE_NOTIFY, &t, sizeof(t), &rep, sizeof(rep)),
	       -EPERM, -EPERM);
}

static void predicates(struct exos_sys *sys, struct exos_region *reg)
{
	struct xok_wkpred wp;
	int i, err, ok = 0, eagain = 0, other = 0;

	memset(&wp, 0, sizeof(wp));
	wp.wake = (struct xok_ref){.region = reg->id};
	wp.nterms = XOK_WK_TERMS_MAX + 1;
	attack("pred-too-many-terms", raw(sys, XOK_OP_WKPRED, &wp, sizeof(wp), NULL, 0), -EINVAL,
	       -EINVAL);
	wp.nterms = 1;
	wp.terms[0].lhs = (struct xok_ref){.region = reg->id, .offset = reg->size};
	attack("pred-word-past-end", raw(sys, XOK_OP_WKPRED, &wp, sizeof(wp), NULL, 0), -EINVAL,
	       -EINVAL);
	wp.terms[0].lhs.offset = 64;
	wp.terms[0].op = 99;
	attack("pred-bad-op", raw(sys, XOK_OP_WKPRED, &wp, sizeof(wp), NULL, 0), -EINVAL, -EINVAL);
	/* a storm of valid predicates, all terms in use, replacing each other */
	wp.nterms = XOK_WK_TERMS_MAX;
	for (i = 0; i < XOK_WK_TERMS_MAX; i++) {
		wp.terms[i].lhs =
		    (struct xok_ref){.region = reg->id, .offset = 64 + 4 * (uint64_t)i};
		wp.terms[i].op = XOK_WK_NE;
		wp.terms[i].product = (uint8_t)i;
	}
	for (i = 0; i < opt.rounds; i++) {
		wp.timeout_ns = exos_now_ns() + 1000000; /* and a timer each time */
		err = raw(sys, XOK_OP_WKPRED, &wp, sizeof(wp), NULL, 0);
		ok += err == 0;
		eagain += err == -EAGAIN;
		other += err && err != -EAGAIN;
	}
	printf("predicate storm: %d installed, %d refused for the rate, %d other errors\n", ok,
	       eagain, other);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"socket", required_argument, NULL, 'S'}, {"victim-port", required_argument, NULL, 'p'},
	    {"peer", required_argument, NULL, 'd'},   {"peer-mac", required_argument, NULL, 'm'},
	    {"rounds", required_argument, NULL, 'r'}, {0},
	};
	struct xok_info_reply info;
	struct xok_stats_reply st;
	struct exos_region *reg;
	struct exos_ring *ring;
	struct exos_sys *sys;
	struct in_addr in;
	uint64_t denied = 0;
	uint32_t i;
	int c, err;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'S':
			opt.socket = optarg;
			break;
		case 'p':
			opt.victim_port = atoi(optarg);
			break;
		case 'd':
			if (inet_pton(AF_INET, optarg, &in) != 1)
				die("bad --peer", -EINVAL);
			opt.peer = ntohl(in.s_addr);
			break;
		case 'm':
			if (parse_mac(optarg, opt.peer_mac))
				die("bad --peer-mac", -EINVAL);
			break;
		case 'r':
			opt.rounds = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sys = open_sys(opt.socket);
	err = exos_sys_info(sys, &info);
	if (err || !info.niface)
		die("info", err ? err : -ENODEV);
	err = exos_ring_create(sys, 2048, 16, &ring);
	if (err)
		die("ring", err);
	err = exos_region_create(sys, 65536, &reg);
	if (err)
		die("region", err);
	steal(sys, ring, ntohl(info.ifaces[0].addr));
	forge(sys, ring, ntohl(info.ifaces[0].addr), victim_filter(sys, exos_sys_app_id(sys)));
	memory(sys, reg, ring, info.ifaces[0].ifindex);
	spoof(sys, reg, &info.ifaces[0]);
	tables(sys);
	predicates(sys, reg);
	/* what xokd counted against us */
	while (exos_sys_stats(sys, XOK_STATS_APP_TX, 0, &st) == -EAGAIN)
		usleep(10000);
	for (i = 0; i < st.count; i++)
		if (st.recs[i].id == exos_sys_app_id(sys))
			denied = st.recs[i].c[XOK_SAT_TX_DENIED];
	printf("hostile attacks=%d refused=%d tx_denied=%" PRIu64 "\n", attacks, refused, denied);
	exos_sys_close(sys);
	return refused == attacks ? 0 : 1;
}
