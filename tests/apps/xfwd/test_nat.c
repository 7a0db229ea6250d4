/* test_nat.c - xfwd's rewrite: RFC 1624 incremental checksums against full recomputation */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nat.h"
#include "ref_csum.h"

#define FRAME_MAX 1600

/* An xorshift PRNG: reproducible packets. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}


static uint16_t ref_ip_csum(const uint8_t *ip, size_t ihl)
{
	uint8_t h[60];

	memcpy(h, ip, ihl);
	h[10] = h[11] = 0;
	return (uint16_t)~ref_sum(0, h, ihl);
}

static uint16_t ref_tcp_csum(const uint8_t *ip, const uint8_t *tcp, size_t tcp_len)
{
	uint8_t ph[12];
	uint8_t *seg = malloc(tcp_len);
	uint32_t sum;

	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = IP_PROTO_TCP;
	ph[10] = (uint8_t)(tcp_len >> 8);
	ph[11] = (uint8_t)tcp_len;
	memcpy(seg, tcp, tcp_len);
	seg[16] = seg[17] = 0;
	sum = ref_sum(ref_sum(0, ph, 12), seg, tcp_len);
	free(seg);
	return (uint16_t)~sum;
}

/* A random Ethernet/IPv4/TCP frame with correct checksums (or a CHECKSUM_PARTIAL TCP
 * checksum); returns its length (padded to 60 like a real short frame). */
static size_t forge(uint8_t *f, bool partial)
{
	size_t ihl = 20 + 4 * (rnd() % 11), thl = 20 + 4 * (rnd() % 11);
	size_t pay = rnd() % 4 == 0 ? 0 : rnd() % (1500 - 60 - 60 + 1);
	size_t tot = ihl + thl + pay, len = 14 + tot;
	uint8_t *ip = f + 14, *tcp = ip + ihl;
	uint16_t c;

	for (size_t i = 0; i < FRAME_MAX; i++)
		f[i] = (uint8_t)rnd();
	f[12] = 0x08;
	f[13] = 0x00;
	ip[0] = (uint8_t)(0x40 | ihl / 4);
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[6] = rnd() & 1 ? 0x40 : 0; /* DF or nothing: never a fragment */
	ip[7] = 0;
	ip[9] = IP_PROTO_TCP;
	tcp[12] = (uint8_t)(thl / 4 << 4);
	c = ref_ip_csum(ip, ihl);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	if (partial) {
		uint8_t ph[12];

		memcpy(ph, ip + 12, 8);
		ph[8] = 0;
		ph[9] = IP_PROTO_TCP;
		ph[10] = (uint8_t)((thl + pay) >> 8);
		ph[11] = (uint8_t)(thl + pay);
		c = (uint16_t)ref_sum(0, ph, 12); /* folded, not complemented */
	} else {
		c = ref_tcp_csum(ip, tcp, thl + pay);
	}
	tcp[16] = (uint8_t)(c >> 8);
	tcp[17] = (uint8_t)c;
	return len < 60 ? 60 : len;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void random_rewrite(struct nat_rewrite *rw, uint8_t *dmac, uint8_t *smac)
{
	for (int i = 0; i < 6; i++) {
		dmac[i] = (uint8_t)rnd();
		smac[i] = (uint8_t)rnd();
	}
	rw->dmac = dmac;
	rw->smac = smac;
	rw->saddr = rnd() ^ rnd() << 16;
	rw->daddr = rnd() ^ rnd() << 16;
	rw->sport = (uint16_t)rnd();
	rw->dport = (uint16_t)rnd();
	switch (rnd() % 8) { /* edge values too */
	case 0:
		rw->saddr = 0;
		break;
	case 1:
		rw->daddr = 0xffffffffu;
		break;
	case 2:
		rw->sport = 0xffff;
		break;
	case 3:
		rw->dport = 0;
		break;
	}
}

/* Rewrites many random frames and compares the patched checksums with recomputed ones,
 * bit for bit, and everything else with what it should be. */
static void check_random(bool partial)
{
	static uint8_t f[FRAME_MAX], before[FRAME_MAX];

	for (int n = 0; n < 20000; n++) {
		size_t len = forge(f, partial);
		uint8_t dmac[6], smac[6];
		struct nat_rewrite rw;
		struct nat_pkt p;
		size_t ihl, tcp_len;
		uint8_t *ip = f + 14, *tcp;

		memcpy(before, f, FRAME_MAX);
		assert_int_equal(nat_parse(f, (uint32_t)len, (uint32_t)len, &p), NAT_OK);
		assert_int_equal(nat_csum_is_partial(&p), partial);
		ihl = (ip[0] & 15u) * 4;
		tcp = ip + ihl;
		tcp_len = be16(ip + 2) - ihl;
		assert_int_equal(p.len, 14 + be16(ip + 2));
		assert_int_equal(p.tcp_len, tcp_len);
		random_rewrite(&rw, dmac, smac);
		nat_apply(&p, &rw, partial);

		assert_memory_equal(f, dmac, 6);
		assert_memory_equal(f + 6, smac, 6);
		assert_memory_equal(ip + 12, &rw.saddr, 4);
		assert_memory_equal(ip + 16, &rw.daddr, 4);
		assert_memory_equal(tcp, &rw.sport, 2);
		assert_memory_equal(tcp + 2, &rw.dport, 2);
		if (be16(ip + 10) != ref_ip_csum(ip, ihl))
			fail_msg("packet %d: IP checksum %04x, recomputed %04x", n, be16(ip + 10),
				 ref_ip_csum(ip, ihl));
		if (be16(tcp + 16) != ref_tcp_csum(ip, tcp, tcp_len))
			fail_msg("packet %d (tcp_len %zu): TCP checksum %04x, recomputed %04x", n,
				 tcp_len, be16(tcp + 16), ref_tcp_csum(ip, tcp, tcp_len));
		/* the receiver's check: the sum over everything folds to 0xffff */
		assert_int_equal(ref_sum(0, ip, ihl), 0xffff);
		/* nothing else moved: IP fields other than addresses and checksum, the TCP
		 * header past the ports (but the checksum), the payload, the padding */
		assert_memory_equal(ip, before + 14, 10);
		assert_memory_equal(tcp + 4, before + 14 + ihl + 4, 12);
		assert_memory_equal(tcp + 18, before + 14 + ihl + 18, len - 14 - ihl - 18);
	}
}

static void test_incremental_vs_full(void **state)
{
	(void)state;
	check_random(false);
}

static void test_partial_completed(void **state)
{
	(void)state;
	check_random(true);
}

/* RFC 1624 §4's example: eqn. 3 gives 0x0000 where eqn. 2 would give 0xFFFF. */
static void test_rfc1624_example(void **state)
{
	uint16_t hc = htons(0xdd2f), m = htons(0x5555), m2 = htons(0x3285);

	(void)state;
	assert_int_equal(ntohs(nat_csum_patch(hc, nat_delta16(m, m2))), 0x0000);
	/* and the 32-bit delta is two 16-bit ones */
	assert_int_equal(nat_csum_fold(nat_delta32(0x12345678u, 0x9abcdef0u)),
			 nat_csum_fold(nat_delta16(0x5678, 0xdef0) + nat_delta16(0x1234, 0x9abc)));
	/* no change, no change: ~m + m = 0xffff, which is zero */
	assert_int_equal(nat_csum_patch(0x1234, nat_delta32(0xdeadbeef, 0xdeadbeef)), 0x1234);
}

static void test_parse_rejects(void **state)
{
	static uint8_t f[FRAME_MAX];
	struct nat_pkt p;
	size_t len;

	(void)state;
	len = forge(f, false);
	assert_int_equal(nat_parse(f, 13, 13, &p), NAT_NOT_TCP);
	f[12] = 0x86; /* IPv6 */
	assert_int_equal(nat_parse(f, (uint32_t)len, (uint32_t)len, &p), NAT_NOT_TCP);

	len = forge(f, false);
	f[14 + 9] = IP_PROTO_UDP;
	assert_int_equal(nat_parse(f, (uint32_t)len, (uint32_t)len, &p), NAT_NOT_TCP);

	len = forge(f, false);
	f[14] = 0x45 + 0x10; /* version 5 */
	assert_int_equal(nat_parse(f, (uint32_t)len, (uint32_t)len, &p), NAT_NOT_TCP);

	len = forge(f, false);
	f[14] = 0x44; /* IHL 16 bytes */
	assert_int_equal(nat_parse(f, (uint32_t)len, (uint32_t)len, &p), NAT_MALFORMED);

	len = forge(f, false);
	f[14 + 6] |= 0x20; /* MF: the first fragment */
	assert_int_equal(nat_parse(f, (uint32_t)len, (uint32_t)len, &p), NAT_FRAGMENT);
	f[14 + 6] = 0;
	f[14 + 7] = 1; /* a later fragment */
	assert_int_equal(nat_parse(f, (uint32_t)len, (uint32_t)len, &p), NAT_FRAGMENT);

	len = forge(f, false);
	f[14 + 2] = 0x7f; /* total length past the frame */
	assert_int_equal(nat_parse(f, (uint32_t)len, (uint32_t)len, &p), NAT_MALFORMED);
	/* ... and past a truncated entry */
	assert_int_equal(nat_parse(f, (uint32_t)len, 40000, &p), NAT_TRUNCATED);

	len = forge(f, false);
	{
		uint8_t *ip = f + 14, *tcp = ip + (ip[0] & 15) * 4;

		tcp[12] = 0x40; /* data offset 16 bytes */
		assert_int_equal(nat_parse(f, (uint32_t)len, (uint32_t)len, &p), NAT_MALFORMED);
		tcp[12] = 0xf0; /* 60 bytes: past a short segment's end */
		ip[2] = 0;
		ip[3] = (uint8_t)((ip[0] & 15) * 4 + 20);
		assert_int_equal(nat_parse(f, (uint32_t)len, (uint32_t)len, &p), NAT_MALFORMED);
	}
}

/* Ethernet padding is not transmitted: len is the IP packet's, not the frame's. */
static void test_parse_padding(void **state)
{
	static uint8_t f[FRAME_MAX];
	struct nat_pkt p;
	size_t len;

	(void)state;
	do
		len = forge(f, false);
	while (be16(f + 16) + 14 >= 60);
	assert_int_equal(len, 60);
	assert_int_equal(nat_parse(f, 60, 60, &p), NAT_OK);
	assert_int_equal(p.len, 14 + be16(f + 16));
	assert_int_equal(p.paylen, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_incremental_vs_full), cmocka_unit_test(test_partial_completed),
	    cmocka_unit_test(test_rfc1624_example),	cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_parse_padding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
