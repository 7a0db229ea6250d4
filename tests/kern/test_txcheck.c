/* test_txcheck.c - checked transmission: who may send which frames (txcheck.c's rule) */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include "kern_test.h"

#define ME    0xc6120001u /* 198.18.0.1: the fake interface's address */
#define PEER  0xc6120002u
#define PEER2 0xc6120003u

static const uint8_t peer_mac[6] = {0x02, 0, 0, 0, 0, 0x99};

struct env {
	struct xokd *x;
	struct app *a; /* unprivileged */
	uint32_t reg;  /* a's region for frames */
	uint8_t *base; /* the test's view of it */
	uint32_t ring; /* a's ring */
	uint32_t sent; /* frames the fake interface saw */
};

static struct env *cur;

static void hook(struct xokd *x, struct iface *ifc, const uint8_t *frame, uint32_t len)
{
	(void)x;
	(void)ifc;
	(void)frame;
	(void)len;
	cur->sent++;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	e->x = kt_xokd();
	e->x->ifaces[0].addr = htonl(ME);
	e->x->tx_hook = hook;
	e->a = kt_app(e->x, 1000);
	e->reg = kt_region(e->x, e->a, 65536, (void **)&e->base);
	e->ring = kt_ring(e->x, e->a, 2048, 16, NULL);
	cur = e;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	munmap(e->base, 65536);
	kt_xokd_free(e->x);
	free(e);
	return 0;
}

/* ---- frames ---- */

static size_t eth(uint8_t *f, const uint8_t *src, uint16_t type)
{
	memcpy(f, peer_mac, 6);
	memcpy(f + 6, src, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	return 14;
}

/* An IPv4 frame of proto from src to dst; l4 bytes follow a 20-byte header. */
static size_t ip4(uint8_t *f, const struct iface *ifc, uint8_t proto, uint32_t src, uint32_t dst,
		  const uint8_t *l4, size_t l4len)
{
	size_t n = eth(f, ifc->mac, 0x0800);
	uint32_t s = htonl(src), d = htonl(dst);

	memset(f + n, 0, 20);
	f[n] = 0x45;
	f[n + 8] = 64;
	f[n + 9] = proto;
	memcpy(f + n + 12, &s, 4);
	memcpy(f + n + 16, &d, 4);
	memcpy(f + n + 20, l4, l4len);
	return n + 20 + l4len;
}

static size_t l4(uint8_t *f, const struct iface *ifc, uint8_t proto, uint32_t src, uint16_t sport,
		 uint32_t dst, uint16_t dport)
{
	uint8_t h[8] = {(uint8_t)(sport >> 8), (uint8_t)sport, (uint8_t)(dport >> 8),
			(uint8_t)dport};

	return ip4(f, ifc, proto, src, dst, h, sizeof(h));
}

static size_t icmp(uint8_t *f, const struct iface *ifc, uint8_t type)
{
	uint8_t h[8] = {type};

	return ip4(f, ifc, 1, ME, PEER, h, sizeof(h));
}

static size_t arp(uint8_t *f, const struct iface *ifc, uint16_t op, const uint8_t *sha,
		  uint32_t spa)
{
	size_t n = eth(f, ifc->mac, 0x0806);
	uint32_t s = htonl(spa), t = htonl(PEER);

	memset(f + n, 0, 28);
	f[n + 1] = 1;	 /* Ethernet */
	f[n + 2] = 0x08; /* IPv4 */
	f[n + 4] = 6;
	f[n + 5] = 4;
	f[n + 7] = (uint8_t)op;
	memcpy(f + n + 8, sha, 6);
	memcpy(f + n + 14, &s, 4);
	memcpy(f + n + 24, &t, 4);
	return n + 28;
}

/* NET_XMIT of a frame built in the app's region; the frame completes at once. */
static int xmit_as(struct env *e, struct app *a, uint32_t reg, uint8_t *base, const uint8_t *f,
		   size_t len)
{
	struct xok_tx_desc d = {0};
	int err;

	memcpy(base + 8192, f, len);
	d.ifindex = KT_IFINDEX;
	d.npieces = 1;
	d.pieces[0] = (struct xok_piece){reg, (uint32_t)len, 8192};
	err = KT_CALL0(e->x, a, XOK_OP_NET_XMIT, &d);
	tx_complete(e->x, e->x->ifaces[0].ports[0]);
	return err;
}

static int xmit(struct env *e, const uint8_t *f, size_t len)
{
	return xmit_as(e, e->a, e->reg, e->base, f, len);
}

static int insert(struct env *e, struct app *a, uint32_t ring, const struct dpf_filter *f,
		  uint32_t flags, struct xok_dpf_insert_reply *rep)
{
	struct xok_dpf_insert m;
	struct xok_dpf_insert_reply r;

	memset(&m, 0, sizeof(m));
	m.ring = ring;
	m.flags = flags;
	m.filter = *f;
	return KT_CALL(e->x, a, XOK_OP_DPF_INSERT, &m, rep ? rep : &r);
}

/* ---- tests ---- */

static void test_udp_port(void **state)
{
	struct env *e = *state;
	struct iface *ifc = &e->x->ifaces[0];
	uint8_t f[128];
	struct dpf_filter df;
	uint8_t bad_mac[6] = {0x02, 0, 0, 0, 0, 0x42};
	size_t n;

	/* no filter: nothing may go out */
	n = l4(f, ifc, 17, ME, 5353, PEER, 53);
	assert_int_equal(xmit(e, f, n), -EPERM);
	assert_int_equal(e->a->tx_denied, 1);
	assert_int_equal(e->sent, 0);

	assert_int_equal(dpf_filter_udp_port(&df, ME, 5353), 0);
	assert_int_equal(insert(e, e->a, e->ring, &df, 0, NULL), 0);
	assert_int_equal(xmit(e, f, n), 0);
	assert_int_equal(e->sent, 1);
	/* another source port, another protocol, another source address */
	n = l4(f, ifc, 17, ME, 5354, PEER, 53);
	assert_int_equal(xmit(e, f, n), -EPERM);
	n = l4(f, ifc, 6, ME, 5353, PEER, 53);
	assert_int_equal(xmit(e, f, n), -EPERM);
	n = l4(f, ifc, 17, PEER2, 5353, PEER, 53);
	assert_int_equal(xmit(e, f, n), -EPERM);
	/* a spoofed Ethernet source */
	n = l4(f, ifc, 17, ME, 5353, PEER, 53);
	memcpy(f + 6, bad_mac, 6);
	assert_int_equal(xmit(e, f, n), -EPERM);
	/* other ethertypes (VLAN, IPv6) and runts */
	n = l4(f, ifc, 17, ME, 5353, PEER, 53);
	f[12] = 0x81;
	assert_int_equal(xmit(e, f, n), -EPERM);
	f[12] = 0x86;
	f[13] = 0xdd;
	assert_int_equal(xmit(e, f, n), -EPERM);
	n = l4(f, ifc, 17, ME, 5353, PEER, 53);
	assert_int_equal(xmit(e, f, 14 + 20 + 2), -EPERM); /* no room for the ports */
	f[14] = 0x44;					   /* IHL 4 */
	assert_int_equal(xmit(e, f, n), -EPERM);
	f[14] = 0x65; /* version 6 */
	assert_int_equal(xmit(e, f, n), -EPERM);
	/* a later fragment carries no ports: the address is enough */
	n = l4(f, ifc, 17, ME, 1, PEER, 2);
	f[14 + 6] = 0x00;
	f[14 + 7] = 0x10; /* offset 16 * 8 */
	assert_int_equal(xmit(e, f, n), 0);
	f[14 + 12] ^= 1; /* ... from another address */
	assert_int_equal(xmit(e, f, n), -EPERM);
	assert_int_equal(e->sent, 2);
	assert_int_equal(e->a->tx_denied, 11);

	/* the paper's behaviour on request */
	e->x->cfg.unchecked_tx = true;
	assert_int_equal(xmit(e, f, n), 0);
	assert_int_equal(e->sent, 3);
}

static void test_4tuple_and_tree(void **state)
{
	struct env *e = *state;
	struct xokd *x = e->x;
	struct iface *ifc = &x->ifaces[0];
	struct app *b = kt_app(x, 1001);
	uint8_t *bbase;
	uint32_t breg = kt_region(x, b, 65536, (void **)&bbase),
		 bring = kt_ring(x, b, 2048, 8, NULL);
	struct xok_dpf_insert_reply lis, conn;
	struct xok_dpf_ref ref = {0};
	struct dpf_filter df;
	uint8_t f[128];
	size_t n;

	/* a connects: a 4-tuple filter lets it send on that connection only */
	assert_int_equal(dpf_filter_tcp_4tuple(&df, ME, 40000, PEER, 80), 0);
	assert_int_equal(insert(e, e->a, e->ring, &df, 0, NULL), 0);
	n = l4(f, ifc, 6, ME, 40000, PEER, 80);
	assert_int_equal(xmit(e, f, n), 0);
	n = l4(f, ifc, 6, ME, 40000, PEER2, 80); /* another peer */
	assert_int_equal(xmit(e, f, n), -EPERM);
	n = l4(f, ifc, 6, ME, 40000, PEER, 81); /* another peer port */
	assert_int_equal(xmit(e, f, n), -EPERM);

	/* b listens on port 80; a takes one connection (refining it, by capability) */
	assert_int_equal(dpf_filter_tcp_port(&df, ME, 80), 0);
	assert_int_equal(insert(e, b, bring, &df, 0, &lis), 0);
	ref.filter = lis.filter;
	ref.cap = lis.cap;
	assert_int_equal(KT_CALL0(x, e->a, XOK_OP_DPF_REF, &ref), 0);
	assert_int_equal(dpf_filter_tcp_4tuple(&df, ME, 80, PEER2, 5555), 0);
	assert_int_equal(insert(e, e->a, e->ring, &df, 0, &conn), 0);
	assert_int_equal(conn.parent, lis.filter);
	/* b answers anyone on port 80 -- except the peer of a's connection below it */
	n = l4(f, ifc, 6, ME, 80, PEER, 1234);
	assert_int_equal(xmit_as(e, b, breg, bbase, f, n), 0);
	n = l4(f, ifc, 6, ME, 80, PEER2, 5555);
	assert_int_equal(xmit_as(e, b, breg, bbase, f, n), -EPERM);
	assert_int_equal(b->tx_denied, 1);
	/* a holds both: its own connection, and (by reference) the listener */
	assert_int_equal(xmit(e, f, n), 0);
	n = l4(f, ifc, 6, ME, 80, PEER, 1234);
	assert_int_equal(xmit(e, f, n), 0);
	munmap(bbase, 65536);
}

static void test_icmp(void **state)
{
	struct env *e = *state;
	struct xokd *x = e->x;
	struct iface *ifc = &x->ifaces[0];
	struct dpf_filter df;
	uint8_t f[128];

	/* the libOS's echo filter: ICMP to us, type 8 after the header-length indirection */
	dpf_filter_init(&df);
	assert_int_equal(dpf_match_ipv4(&df), 0);
	assert_int_equal(dpf_match_ipv4_proto(&df, 1), 0);
	assert_int_equal(dpf_match_ipv4_dst(&df, ME, 32), 0);
	assert_int_equal(dpf_add_shift(&df, 14, 1, 0x0f, 2, 14), 0);
	assert_int_equal(dpf_add_match(&df, 0, 1, 0xff, 8), 0);
	assert_int_equal(insert(e, e->a, e->ring, &df, 0, NULL), 0);
	assert_int_equal(xmit(e, f, icmp(f, ifc, 0)), 0);	/* echo reply */
	assert_int_equal(xmit(e, f, icmp(f, ifc, 8)), -EPERM);	/* echo request */
	assert_int_equal(xmit(e, f, icmp(f, ifc, 3)), -EPERM);	/* unreachable */
	assert_int_equal(xmit(e, f, icmp(f, ifc, 11)), -EPERM); /* time exceeded */
}

static void test_catch_all(void **state)
{
	struct env *e = *state;
	struct xokd *x = e->x;
	struct iface *ifc = &x->ifaces[0];
	struct app *root = kt_app(x, 0);
	uint8_t *rbase;
	uint32_t rreg = kt_region(x, root, 65536, (void **)&rbase),
		 rring = kt_ring(x, root, 2048, 8, NULL);
	struct dpf_filter df;
	uint8_t f[128];
	size_t n;

	/* an unprivileged catch-all receives, but speaks for nobody */
	assert_int_equal(dpf_filter_all_ipv4(&df), 0);
	assert_int_equal(insert(e, e->a, e->ring, &df, XOK_DPF_OPEN, NULL), 0);
	n = l4(f, ifc, 6, ME, 22, PEER, 999);
	assert_int_equal(xmit(e, f, n), -EPERM);
	assert_int_equal(xmit(e, f, icmp(f, ifc, 3)), -EPERM);
	/* strayd's (privileged): RSTs and ICMP errors from the interface's address */
	app_free(x, e->a);
	app_reap(x);
	e->a = kt_app(x, 1000); /* (the fixture's region is gone with it) */
	assert_int_equal(insert(e, root, rring, &df, XOK_DPF_OPEN, NULL), 0);
	assert_int_equal(xmit_as(e, root, rreg, rbase, f, n), 0);
	assert_int_equal(xmit_as(e, root, rreg, rbase, f, icmp(f, ifc, 3)), 0);
	n = l4(f, ifc, 6, PEER2, 22, PEER, 999); /* but not as somebody else */
	assert_int_equal(xmit_as(e, root, rreg, rbase, f, n), -EPERM);
	munmap(rbase, 65536);
}

static void test_arp(void **state)
{
	struct env *e = *state;
	struct xokd *x = e->x;
	struct iface *ifc = &x->ifaces[0];
	uint8_t bad[6] = {0x02, 1, 2, 3, 4, 5};
	struct dpf_filter df;
	uint8_t f[128];

	/* requests with the interface's identity: from anyone (the libOS resolves) */
	assert_int_equal(xmit(e, f, arp(f, ifc, 1, ifc->mac, ME)), 0);
	assert_int_equal(xmit(e, f, arp(f, ifc, 1, ifc->mac, 0)), 0); /* a probe */
	assert_int_equal(xmit(e, f, arp(f, ifc, 1, bad, ME)), -EPERM);
	assert_int_equal(xmit(e, f, arp(f, ifc, 1, ifc->mac, PEER)), -EPERM);
	/* replies: only from arpd, the holder of the ARP filter */
	assert_int_equal(xmit(e, f, arp(f, ifc, 2, ifc->mac, ME)), -EPERM);
	dpf_filter_init(&df);
	assert_int_equal(dpf_match_arp(&df), 0);
	assert_int_equal(insert(e, e->a, e->ring, &df, 0, NULL), 0);
	assert_int_equal(xmit(e, f, arp(f, ifc, 2, ifc->mac, ME)), 0);
	assert_int_equal(xmit(e, f, arp(f, ifc, 2, ifc->mac, PEER)), -EPERM); /* poisoning */
	assert_int_equal(xmit(e, f, arp(f, ifc, 2, bad, ME)), -EPERM);
}

/* Claims are indexed by the port they pin; a port range (xfwd's NAT ports) pins none. */
static void test_many_and_ranges(void **state)
{
	struct env *e = *state;
	struct iface *ifc = &e->x->ifaces[0];
	struct dpf_filter df;
	uint8_t f[128];
	int i;

	for (i = 0; i < 300; i++) {
		assert_int_equal(dpf_filter_udp_port(&df, ME, (uint16_t)(10000 + i)), 0);
		assert_int_equal(insert(e, e->a, e->ring, &df, 0, NULL), 0);
	}
	for (i = 299; i >= 0; i -= 7)
		assert_int_equal(xmit(e, f, l4(f, ifc, 17, ME, (uint16_t)(10000 + i), PEER, 9)), 0);
	assert_int_equal(xmit(e, f, l4(f, ifc, 17, ME, 10300, PEER, 9)), -EPERM);
	/* TCP ports 0x4000-0x40ff, as xfwd's return filter pins them */
	dpf_filter_init(&df);
	dpf_match_ipv4(&df);
	dpf_match_ipv4_proto(&df, 6);
	dpf_match_ipv4_dst(&df, ME, 32);
	dpf_add_shift(&df, 14, 1, 0x0f, 2, 14);
	dpf_add_match(&df, 2, 2, 0xff00, 0x4000);
	assert_int_equal(insert(e, e->a, e->ring, &df, 0, NULL), 0);
	assert_int_equal(xmit(e, f, l4(f, ifc, 6, ME, 0x4000, PEER, 80)), 0);
	assert_int_equal(xmit(e, f, l4(f, ifc, 6, ME, 0x40ff, PEER2, 80)), 0);
	assert_int_equal(xmit(e, f, l4(f, ifc, 6, ME, 0x4100, PEER, 80)), -EPERM);
	assert_int_equal(xmit(e, f, l4(f, ifc, 17, ME, 0x4001, PEER, 80)), -EPERM);
	/* deleting one port's filter takes that port away, not its neighbours' */
	{
		struct xok_stats_reply st;
		struct xok_stats_req rq = {XOK_STATS_FILTER, 0};
		struct xok_dpf_delete del = {0};

		assert_int_equal(KT_CALL(e->x, e->a, XOK_OP_STATS, &rq, &st), 0);
		del.filter = st.recs[5].id; /* port 10005 */
		assert_int_equal(KT_CALL0(e->x, e->a, XOK_OP_DPF_DELETE, &del), 0);
	}
	assert_int_equal(xmit(e, f, l4(f, ifc, 17, ME, 10005, PEER, 9)), -EPERM);
	assert_int_equal(xmit(e, f, l4(f, ifc, 17, ME, 10004, PEER, 9)), 0);
	assert_int_equal(xmit(e, f, l4(f, ifc, 17, ME, 10006, PEER, 9)), 0);
}

/* A filter deleted after frames were queued on the TXQ still covers those frames. */
static void test_grace(void **state)
{
	struct env *e = *state;
	struct xokd *x = e->x;
	struct iface *ifc = &x->ifaces[0];
	struct xok_txq_hdr *hdr = (struct xok_txq_hdr *)(e->base + 4096);
	struct xok_tx_desc *q = (struct xok_tx_desc *)(hdr + 1);
	struct xok_txq_set m = {.at = {e->reg, 0, 4096}, .nentries = 16};
	struct xok_dpf_insert_reply fr;
	struct xok_dpf_delete del = {0};
	struct dpf_filter df;
	size_t n;
	int i;

	assert_int_equal(
	    kt_call(x, e->a, XOK_OP_TXQ_SET, &m, sizeof(m), eventfd(0, EFD_CLOEXEC), NULL, 0), 0);
	assert_int_equal(dpf_filter_udp_port(&df, ME, 7000), 0);
	assert_int_equal(insert(e, e->a, e->ring, &df, 0, &fr), 0);
	n = l4(e->base + 16384, ifc, 17, ME, 7000, PEER, 9);
	for (i = 0; i < 2; i++) {
		memset(&q[i], 0, sizeof(q[i]));
		q[i].ifindex = KT_IFINDEX;
		q[i].npieces = 1;
		q[i].pieces[0] = (struct xok_piece){e->reg, (uint32_t)n, 16384};
	}
	xok_store_release(&hdr->prod, 1);
	/* the app queued one frame, then closes the socket: the delete arrives first */
	del.filter = fr.filter;
	assert_int_equal(KT_CALL0(x, e->a, XOK_OP_DPF_DELETE, &del), 0);
	xok_store_release(&hdr->prod, 2); /* queued after the delete: no grace */
	tx_kick(x, e->a);
	tx_run(x);
	assert_int_equal(xok_load_acquire(&hdr->cons), 2);
	assert_int_equal(q[0].status, 0);
	assert_int_equal(q[1].status, EPERM);
	assert_int_equal(e->sent, 1);
	assert_int_equal(e->a->tx_denied, 1);
}

/* The frame is checked in xokd's copy: what the check saw is what goes out. */
static uint8_t seen[256];
static void copy_hook(struct xokd *x, struct iface *ifc, const uint8_t *frame, uint32_t len)
{
	(void)x;
	(void)ifc;
	memcpy(seen, frame, len < sizeof(seen) ? len : sizeof(seen));
}

static void test_claim_derivation(void **state)
{
	struct env *e = *state;
	struct dpf_filter df;
	struct tx_claim c;

	(void)e;
	assert_int_equal(dpf_filter_udp_port(&df, ME, 53), 0);
	claim_from_filter(&df, &c);
	assert_false(c.none);
	assert_false(c.wildcard);
	assert_int_equal(c.mask[2], 0xff);
	assert_int_equal(c.val[2], 17);
	/* key bytes 11..14 are the reply's ports: its destination port is ours */
	assert_int_equal(c.mask[13], 0xff);
	assert_int_equal(c.val[13] << 8 | c.val[14], 53);
	assert_int_equal(c.mask[11] | c.mask[12], 0); /* any remote port */
	assert_int_equal(c.mask[7], 0xff);	      /* the reply goes to our address */
	assert_int_equal(dpf_filter_all_ipv4(&df), 0);
	claim_from_filter(&df, &c);
	assert_true(c.wildcard);
	dpf_filter_init(&df);
	claim_from_filter(&df, &c);
	assert_true(c.wildcard);
	/* contradictory atoms (libdpf refuses such filters anyway) */
	dpf_filter_init(&df);
	dpf_add_match(&df, 23, 1, 0xff, 6);
	dpf_add_match(&df, 22, 2, 0x00ff, 17);
	claim_from_filter(&df, &c);
	assert_true(c.none);
	/* atoms beyond a second indirection are not judged */
	dpf_filter_init(&df);
	dpf_match_ipv4(&df);
	dpf_match_ipv4_proto(&df, 1);
	dpf_add_shift(&df, 14, 1, 0x0f, 2, 14);
	dpf_add_shift(&df, 8, 1, 0x0f, 2, 8);
	dpf_add_match(&df, 0, 2, 0xffff, 80);
	claim_from_filter(&df, &c);
	assert_int_equal(c.mask[11] | c.mask[12] | c.mask[13] | c.mask[14], 0);
}

static void test_checked_copy(void **state)
{
	struct env *e = *state;
	struct iface *ifc = &e->x->ifaces[0];
	struct dpf_filter df;
	uint8_t f[128];
	size_t n;

	e->x->tx_hook = copy_hook;
	assert_int_equal(dpf_filter_udp_port(&df, ME, 9999), 0);
	assert_int_equal(insert(e, e->a, e->ring, &df, 0, NULL), 0);
	n = l4(f, ifc, 17, ME, 9999, PEER, 1);
	assert_int_equal(xmit(e, f, n), 0);
	assert_memory_equal(seen, f, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_claim_derivation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_udp_port, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_4tuple_and_tree, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_icmp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_catch_all, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_arp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_and_ranges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_grace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checked_copy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
