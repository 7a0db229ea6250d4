/* test_merge.c - xfwd's coalescing: joined frames cut back into exactly the segments sent */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "merge.h"
#include "ref_csum.h"
#include "test_bytes.h"

#define MSS	 1448
#define OPT_LEN	 12 /* NOP NOP timestamps */
#define HDRS	 (ETH_HDR_LEN + IP_HDR_LEN + TCP_HDR_LEN + OPT_LEN)
#define SEGS	 24
#define GSO_MAX	 (14 + 65535)
#define SEQ0	 0xfffff000u /* the train wraps the sequence space */
#define KEY	 ((const void *)0x1234)
#define IFINDEX	 7

static uint8_t frames[SEGS][HDRS + MSS];
static struct nat_pkt pkts[SEGS];


static uint32_t pseudo_sum(const uint8_t *ip, uint32_t tcp_len)
{
	uint8_t ph[12];

	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = IP_PROTO_TCP;
	ph[10] = (uint8_t)(tcp_len >> 8);
	ph[11] = (uint8_t)tcp_len;
	return ref_sum(0, ph, 12);
}

/* Correct IP and TCP checksums for the frame at f (TCP length tcp_len). */
static void seal(uint8_t *f, uint32_t tcp_len)
{
	uint8_t *ip = f + ETH_HDR_LEN, *tcp = ip + IP_HDR_LEN;

	put16(ip + 10, 0);
	put16(ip + 10, (uint16_t)~ref_sum(0, ip, IP_HDR_LEN));
	put16(tcp + 16, 0);
	put16(tcp + 16, (uint16_t)~ref_sum(pseudo_sum(ip, tcp_len), tcp, tcp_len));
}

/* Segment i of a backend's train: len payload bytes at SEQ0 + i * MSS, ACK (+ flags). */
static struct nat_pkt *segment(int i, uint32_t len, uint8_t flags)
{
	uint8_t *f = frames[i], *ip = f + ETH_HDR_LEN, *tcp = ip + IP_HDR_LEN;
	uint32_t tcp_len = TCP_HDR_LEN + OPT_LEN + len;
	static const uint8_t opts[OPT_LEN] = {1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78};

	memset(f, 0, sizeof(frames[i]));
	memcpy(f, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00", ETH_HDR_LEN);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(IP_HDR_LEN + tcp_len));
	put16(ip + 4, (uint16_t)(1000 + i));
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = IP_PROTO_TCP;
	put32(ip + 12, 0xc6120101);
	put32(ip + 16, 0xc6120202);
	put16(tcp, 80);
	put16(tcp + 2, 40000);
	put32(tcp + 4, SEQ0 + (uint32_t)i * MSS);
	put32(tcp + 8, 0x01020304);
	tcp[12] = (uint8_t)((TCP_HDR_LEN + OPT_LEN) / 4 << 4);
	tcp[13] = (uint8_t)(TCP_ACK | flags);
	put16(tcp + 14, 501);
	memcpy(tcp + TCP_HDR_LEN, opts, OPT_LEN);
	for (uint32_t k = 0; k < len; k++)
		tcp[TCP_HDR_LEN + OPT_LEN + k] = (uint8_t)(i * 31 + k * 7 + (k >> 8));
	seal(f, tcp_len);
	assert_int_equal(nat_parse(f, HDRS + len, HDRS + len, &pkts[i]), NAT_OK);
	return &pkts[i];
}

/* What the kernel's TCPv4 segmentation makes of a joined frame (the pieces gathered):
 * cut at gso_size, headers copied, sequence numbers and IP IDs advanced, PSH on the last
 * only, checksums completed.  Returns the segment count; segs[k] hold the frames. */
static int cut(const struct exos_iov *iov, int n, uint32_t gso, uint8_t segs[][HDRS + MSS],
	       uint32_t *lens)
{
	static uint8_t whole[GSO_MAX];
	uint32_t len = 0, off = HDRS;
	int k = 0;

	for (int i = 0; i < n; i++) {
		memcpy(whole + len, iov[i].base, iov[i].len);
		len += iov[i].len;
	}
	const uint8_t *ip = whole + ETH_HDR_LEN, *tcp = ip + IP_HDR_LEN;
	assert_int_equal((ip[2] << 8 | ip[3]) + ETH_HDR_LEN, len); /* total length covers all */
	assert_int_equal(ref_sum(0, ip, IP_HDR_LEN), 0xffff);
	/* the checksum field holds the folded pseudo-header sum over the whole TCP length */
	assert_int_equal(tcp[16] << 8 | tcp[17], pseudo_sum(ip, len - ETH_HDR_LEN - IP_HDR_LEN));
	uint32_t seq = (uint32_t)tcp[4] << 24 | tcp[5] << 16 | tcp[6] << 8 | tcp[7];
	while (off < len) {
		uint32_t pay = len - off < gso ? len - off : gso;
		uint8_t *s = segs[k], *sip = s + ETH_HDR_LEN, *stcp = sip + IP_HDR_LEN;
		bool last = off + pay == len;

		memcpy(s, whole, HDRS);
		memcpy(s + HDRS, whole + off, pay);
		put16(sip + 2, (uint16_t)(HDRS - ETH_HDR_LEN + pay));
		put16(sip + 4, (uint16_t)((ip[4] << 8 | ip[5]) + k));
		put32(stcp + 4, seq + (off - HDRS));
		if (!last)
			stcp[13] &= (uint8_t)~(TCP_PSH | TCP_FIN);
		seal(s, TCP_HDR_LEN + OPT_LEN + pay);
		lens[k++] = HDRS + pay;
		off += pay;
	}
	return k;
}

static struct merge_train train;
static uint8_t originals[SEGS][HDRS + MSS];

/* Builds segments [0, n) (segment i with lens[i] and flags[i]), keeps a copy of each as
 * sent, and joins them; returns how many joined. */
static int join_all(int n, const uint32_t *lens, const uint8_t *flags)
{
	int joined = 1;

	for (int i = 0; i < n; i++) {
		segment(i, lens[i], flags[i]);
		memcpy(originals[i], frames[i], HDRS + lens[i]);
	}
	merge_start(&train, &pkts[0], KEY, IFINDEX, 42, GSO_MAX);
	for (int i = 1; i < n; i++) {
		assert_true(merge_candidate(&pkts[i]));
		if (!merge_join(&train, &pkts[i], KEY, IFINDEX))
			break;
		joined++;
	}
	return joined;
}

/* Joins n segments, cuts the frame and compares with what was sent, IP ID and the PSH of
 * inner segments aside. */
static void check_roundtrip(int n, const uint32_t *lens, const uint8_t *flags)
{
	static uint8_t segs[SEGS][HDRS + MSS];
	uint32_t cut_lens[SEGS];

	assert_int_equal(join_all(n, lens, flags), n);
	int pieces = merge_finish(&train);
	assert_int_equal(pieces, n);
	assert_int_equal(cut(train.piece, pieces, train.seg_len, segs, cut_lens), n);
	for (int i = 0; i < n; i++) {
		uint8_t *o = originals[i], *s = segs[i];

		assert_int_equal(cut_lens[i], HDRS + lens[i]);
		put16(o + ETH_HDR_LEN + 4, 0); /* IP IDs: renumbered */
		put16(s + ETH_HDR_LEN + 4, 0);
		seal(o, TCP_HDR_LEN + OPT_LEN + lens[i]);
		seal(s, TCP_HDR_LEN + OPT_LEN + lens[i]);
		assert_memory_equal(s, o, HDRS + lens[i]);
	}
}

static void test_full_train(void **state)
{
	uint32_t lens[MERGE_SEGS_MAX];
	uint8_t flags[MERGE_SEGS_MAX] = {0};

	(void)state;
	for (int i = 0; i < MERGE_SEGS_MAX; i++)
		lens[i] = MSS;
	check_roundtrip(MERGE_SEGS_MAX, lens, flags);
	/* a sixteenth more does not fit */
	assert_false(merge_join(&train, segment(MERGE_SEGS_MAX, MSS, 0), KEY, IFINDEX));
}

/* A shorter last segment carrying PSH ends the train; PSH stays on the last segment. */
static void test_short_psh_tail(void **state)
{
	uint32_t lens[] = {MSS, MSS, MSS, 700};
	uint8_t flags[] = {0, 0, 0, TCP_PSH};

	(void)state;
	check_roundtrip(4, lens, flags);
	assert_true(train.closed);
	assert_false(merge_join(&train, segment(4, MSS, 0), KEY, IFINDEX));
}

/* A PSH in a full-sized segment ends the train too. */
static void test_psh_ends(void **state)
{
	uint32_t lens[] = {MSS, MSS, MSS};
	uint8_t flags[] = {0, TCP_PSH, 0};

	(void)state;
	assert_int_equal(join_all(3, lens, flags), 2);
}

/* A shorter segment ends the train even without PSH. */
static void test_short_ends(void **state)
{
	uint32_t lens[] = {MSS, 1000, MSS};
	uint8_t flags[] = {0, 0, 0};

	(void)state;
	assert_int_equal(join_all(3, lens, flags), 2);
	/* and a segment longer than the first never joins */
	uint32_t lens2[] = {1000, MSS};
	assert_int_equal(join_all(2, lens2, flags), 1);
}

static void start_two(void)
{
	merge_start(&train, segment(0, MSS, 0), KEY, IFINDEX, 0, GSO_MAX);
}

static bool joins(struct nat_pkt *p)
{
	return merge_join(&train, p, KEY, IFINDEX);
}

/* Each header difference GRO flushes on keeps the segment out. */
static void test_header_mismatch(void **state)
{
	struct nat_pkt *p;

	(void)state;
	start_two();
	p = segment(2, MSS, 0); /* a gap: segment 1 is missing */
	assert_false(joins(p));

	struct {
		size_t at; /* byte offset in the frame */
		uint8_t val;
	} edits[] = {
	    {ETH_HDR_LEN + IP_HDR_LEN + 8 + 3, 0x05},	   /* ACK number */
	    {ETH_HDR_LEN + IP_HDR_LEN + 15, 0xf6},	   /* window */
	    {ETH_HDR_LEN + IP_HDR_LEN + 20 + 7, 0x35},	   /* TSval */
	    {ETH_HDR_LEN + IP_HDR_LEN + 13, TCP_ACK | TCP_URG}, /* flags */
	    {ETH_HDR_LEN + 1, 0x02},			   /* TOS (ECN) */
	    {ETH_HDR_LEN + 8, 63},			   /* TTL */
	    {ETH_HDR_LEN + 6, 0x00},			   /* DF */
	    {ETH_HDR_LEN + 15, 0x09},			   /* source address */
	    {ETH_HDR_LEN + IP_HDR_LEN + 1, 81},		   /* source port */
	    {5, 0x09},					   /* destination MAC */
	};
	for (size_t e = 0; e < sizeof(edits) / sizeof(edits[0]); e++) {
		start_two();
		p = segment(1, MSS, 0);
		frames[1][edits[e].at] = edits[e].val;
		seal(frames[1], TCP_HDR_LEN + OPT_LEN + MSS);
		if (joins(p))
			fail_msg("edit %zu at byte %zu joined", e, edits[e].at);
	}
	/* another connection or interface */
	start_two();
	assert_false(merge_join(&train, segment(1, MSS, 0), (const void *)0x99, IFINDEX));
	assert_false(merge_join(&train, segment(1, MSS, 0), KEY, IFINDEX + 1));
	assert_true(joins(segment(1, MSS, 0)));
}

/* A corrupted segment never joins: neither as the one joining nor as the head. */
static void test_bad_checksum(void **state)
{
	struct nat_pkt *p;

	(void)state;
	start_two();
	p = segment(1, MSS, 0);
	frames[1][HDRS + 100] ^= 0x40; /* payload bit flip after the sum */
	assert_false(joins(p));
	assert_int_equal(train.nseg, 1);

	merge_start(&train, segment(0, MSS, 0), KEY, IFINDEX, 0, GSO_MAX);
	frames[0][HDRS + 5] ^= 0x01;
	assert_false(joins(segment(1, MSS, 0)));
	assert_int_equal(train.nseg, 1);
	assert_true(merge_csum_ok(&pkts[1]));
	assert_false(merge_csum_ok(&pkts[0]));
}

/* Only ACK (+PSH) data segments of a size the offload takes are candidates. */
static void test_candidates(void **state)
{
	(void)state;
	assert_true(merge_candidate(segment(0, MSS, 0)));
	assert_true(merge_candidate(segment(0, XOK_TX_GSO_MIN, TCP_PSH)));
	assert_false(merge_candidate(segment(0, XOK_TX_GSO_MIN - 1, 0)));
	assert_false(merge_candidate(segment(0, 0, 0)));
	assert_false(merge_candidate(segment(0, MSS, TCP_FIN)));
	assert_false(merge_candidate(segment(0, MSS, TCP_RST)));
	assert_false(merge_candidate(segment(0, MSS, TCP_SYN)));
	assert_false(merge_candidate(segment(0, MSS, TCP_URG)));
	assert_false(merge_candidate(segment(0, MSS, TCP_ECE)));
	struct nat_pkt *p = segment(0, MSS, 0);
	p->th->flags = 0; /* no ACK */
	assert_false(merge_candidate(p));
}

/* The offload frame's limit bounds the train. */
static void test_frame_limit(void **state)
{
	(void)state;
	merge_start(&train, segment(0, MSS, 0), KEY, IFINDEX, 0, HDRS + 3 * MSS);
	assert_true(joins(segment(1, MSS, 0)));
	assert_true(joins(segment(2, MSS, 0)));
	assert_false(joins(segment(3, MSS, 0)));
	assert_int_equal(train.total, 3 * MSS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_train),	  cmocka_unit_test(test_short_psh_tail),
	    cmocka_unit_test(test_psh_ends),	  cmocka_unit_test(test_short_ends),
	    cmocka_unit_test(test_header_mismatch), cmocka_unit_test(test_bad_checksum),
	    cmocka_unit_test(test_candidates),	  cmocka_unit_test(test_frame_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
