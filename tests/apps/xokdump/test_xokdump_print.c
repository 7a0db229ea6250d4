/* test_xokdump_print.c - xokdump's tcpdump-style lines for crafted, truncated, broken frames */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "frames.h"
#include "xokdump.h"

/* 2023-11-14 22:13:20.123456789 UTC */
#define RX_NS 1700000000123456789ull
#define TS    "22:13:20.123456 "

#define A1 IP4(198, 18, 0, 1)
#define A2 IP4(198, 18, 0, 2)

static const uint8_t syn_opts[] = {
	2, 4, 0x05, 0xb4,		/* mss 1460 */
	4, 2,				/* sackOK */
	8, 10, 0, 0, 0, 1, 0, 0, 0, 0,	/* TS val 1 ecr 0 */
	1,				/* nop */
	3, 3, 7,			/* wscale 7 */
};

static int utc(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

/*
 * Prints the frame copied into a buffer of exactly caplen bytes, so that a read beyond
 * caplen is a heap overflow the sanitizer build reports.
 */
static void check_line_opts(const struct print_opts *o, const uint8_t *frame, size_t len,
			    size_t caplen, const char *want)
{
	uint8_t *copy = malloc(caplen ? caplen : 1);
	struct xd_frame f = { .rx_ns = RX_NS, .len = (uint32_t)len, .caplen = (uint32_t)caplen,
			      .data = copy };
	char line[XD_LINE_MAX];
	size_t n;

	memcpy(copy, frame, caplen);
	n = print_frame(o, &f, line, sizeof(line));
	free(copy);
	assert_int_equal(n, strlen(line));
	if (strcmp(line, want))
		fail_msg("got\n  %swant\n  %s", line, want);
}

static void check_line(const uint8_t *frame, size_t len, size_t caplen, const char *want)
{
	const struct print_opts o = { 0 };

	check_line_opts(&o, frame, len, caplen, want);
}

static size_t syn_ack(uint8_t *buf)
{
	struct frame_spec s = { .proto = 6, .src = A2, .dst = A1, .sport = 5555, .dport = 80,
				.tcp_flags = 0x12, .seq = 1, .ack = 2, .win = 512,
				.tcp_opts = syn_opts, .tcp_optlen = sizeof(syn_opts) };

	return frame_build(buf, &s);
}

static void test_tcp(void **state)
{
	uint8_t f[FRAME_MAX];
	size_t len = syn_ack(f);
	struct frame_spec s = { .proto = 6, .src = A2, .dst = A1, .sport = 5555, .dport = 80,
				.tcp_flags = 0x18, .seq = 1000, .ack = 5, .win = 512,
				.payload = 100 };

	(void)state;
	check_line(f, len, len, TS "IP 198.18.0.2.5555 > 198.18.0.1.80: Flags [S.], seq 1, "
		   "ack 2, win 512, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], "
		   "length 0\n");
	len = frame_build(f, &s);
	check_line(f, len, len, TS "IP 198.18.0.2.5555 > 198.18.0.1.80: Flags [P.], "
		   "seq 1000:1100, ack 5, win 512, length 100\n");
	/* A snapshot shorter than the frame does not change the lengths printed. */
	check_line(f, len, 54, TS "IP 198.18.0.2.5555 > 198.18.0.1.80: Flags [P.], "
		   "seq 1000:1100, ack 5, win 512, length 100\n");
	s.tcp_flags = 0x10;
	s.payload = 0;
	len = frame_build(f, &s);
	check_line(f, len, len, TS "IP 198.18.0.2.5555 > 198.18.0.1.80: Flags [.], ack 5, "
		   "win 512, length 0\n");
	s.tcp_flags = 0;
	len = frame_build(f, &s);
	check_line(f, len, len, TS "IP 198.18.0.2.5555 > 198.18.0.1.80: Flags [none], "
		   "win 512, length 0\n");
	s.tcp_flags = 0xff;
	len = frame_build(f, &s);
	check_line(f, len, len, TS "IP 198.18.0.2.5555 > 198.18.0.1.80: Flags [FSRP.UEW], "
		   "seq 1000, ack 5, win 512, urg 0, length 0\n");
}

static void test_tcp_options(void **state)
{
	static const uint8_t sack[] = { 1, 1, 5, 18, 0, 0, 0, 10, 0, 0, 0, 20,
					0, 0, 0, 30, 0, 0, 0, 40 };
	static const uint8_t odd[] = { 30, 4, 0xab, 0xcd, 0, 1, 1, 1 };
	static const uint8_t bad_mss[] = { 2, 3, 5, 0 };
	static const uint8_t zero_len[] = { 1, 99, 0, 0 };
	static const uint8_t too_long[] = { 1, 1, 8, 10 };
	const struct {
		const uint8_t *opts;
		size_t len;
		const char *want;
	} cases[] = {
		{ sack, sizeof(sack), "nop,nop,sack 2 {10:20}{30:40}]" },
		{ odd, sizeof(odd), "unknown-30 0xabcd,eol]" },
		{ bad_mss, sizeof(bad_mss), "bad opt]" },
		{ zero_len, sizeof(zero_len), "nop,bad opt]" },
		{ too_long, sizeof(too_long), "nop,nop,bad opt]" },
	};
	struct frame_spec s = { .proto = 6, .src = A2, .dst = A1, .sport = 1, .dport = 2,
				.tcp_flags = 0x10, .win = 1, .payload = 20 };
	uint8_t f[FRAME_MAX];
	char want[256];
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s.tcp_opts = cases[i].opts;
		s.tcp_optlen = cases[i].len;
		len = frame_build(f, &s);
		snprintf(want, sizeof(want),
			 TS "IP 198.18.0.2.1 > 198.18.0.1.2: Flags [.], seq 0:20, ack 0, win 1, "
			    "options [%s, length 20\n",
			 cases[i].want);
		check_line(f, len, len, want);
	}
}

/* Headers cut short by the capture, and TCP headers whose length field is impossible. */
static void test_tcp_truncated(void **state)
{
	uint8_t f[FRAME_MAX];
	size_t len = syn_ack(f);

	(void)state;
	check_line(f, len, 60, TS "IP 198.18.0.2.5555 > 198.18.0.1.80: Flags [S.], seq 1, ack 2, "
		   "win 512, options [mss 1460,sackOK,|tcp], length 0\n");
	check_line(f, len, 14 + 20 + 10, TS "IP 198.18.0.2.5555 > 198.18.0.1.80: [|tcp]\n");
	check_line(f, len, 14 + 20 + 3, TS "IP 198.18.0.2 > 198.18.0.1: tcp [|tcp], length 40\n");
	f[14 + 20 + 12] = 0x30; /* data offset 3 words */
	check_line(f, len, len, TS "IP 198.18.0.2.5555 > 198.18.0.1.80: [bad hdr length 12 - "
		   "too short, < 20]\n");
	f[14 + 20 + 12] = 0xf0; /* 60 bytes, but the datagram carries 40 */
	check_line(f, len, len, TS "IP 198.18.0.2.5555 > 198.18.0.1.80: [bad hdr length 60 - "
		   "too long, > 40]\n");
}

static void test_udp(void **state)
{
	struct frame_spec s = { .proto = 17, .src = A2, .dst = A1, .sport = 5555, .dport = 53,
				.payload = 12 };
	uint8_t f[FRAME_MAX];
	size_t len = frame_build(f, &s);

	(void)state;
	check_line(f, len, len, TS "IP 198.18.0.2.5555 > 198.18.0.1.53: UDP, length 12\n");
	check_line(f, len, 14 + 20 + 6, TS "IP 198.18.0.2.5555 > 198.18.0.1.53: [|udp]\n");
	f[14 + 20 + 5] = 4;
	check_line(f, len, len, TS "IP 198.18.0.2.5555 > 198.18.0.1.53: UDP, bad length 4 < 8\n");
	f[14 + 20 + 5] = 100;
	check_line(f, len, len, TS "IP 198.18.0.2.5555 > 198.18.0.1.53: UDP, bad length 100 > "
		   "20\n");
}

/* An ICMP error from A1 to A2 quoting a UDP datagram A2:5555 -> A1:9. */
static size_t icmp_error(uint8_t *f, uint8_t type, uint8_t code)
{
	struct frame_spec outer = { .proto = 1, .src = A1, .dst = A2, .icmp_type = type,
				    .icmp_code = code, .payload = 28 };
	struct frame_spec inner = { .proto = 17, .src = A2, .dst = A1, .sport = 5555, .dport = 9,
				    .payload = 0 };
	uint8_t q[FRAME_MAX];
	size_t len = frame_build(f, &outer);

	frame_build(q, &inner);
	memcpy(f + 14 + 20 + 8, q + 14, 28);
	return len;
}

static void test_icmp(void **state)
{
	struct frame_spec s = { .proto = 1, .src = A2, .dst = A1, .icmp_type = 8, .icmp_id = 7,
				.icmp_seq = 1, .payload = 56 };
	uint8_t f[FRAME_MAX];
	size_t len = frame_build(f, &s);

	(void)state;
	check_line(f, len, len, TS "IP 198.18.0.2 > 198.18.0.1: ICMP echo request, id 7, seq 1, "
		   "length 64\n");
	check_line(f, len, 14 + 20 + 4, TS "IP 198.18.0.2 > 198.18.0.1: ICMP [|icmp]\n");
	s.icmp_type = 0;
	len = frame_build(f, &s);
	check_line(f, len, len, TS "IP 198.18.0.2 > 198.18.0.1: ICMP echo reply, id 7, seq 1, "
		   "length 64\n");

	len = icmp_error(f, 3, 3);
	check_line(f, len, len, TS "IP 198.18.0.1 > 198.18.0.2: ICMP 198.18.0.1 udp port 9 "
		   "unreachable, length 36\n");
	check_line(f, len, 14 + 20 + 8 + 10, TS "IP 198.18.0.1 > 198.18.0.2: ICMP unreachable, "
		   "code 3 [|icmp], length 36\n");
	len = icmp_error(f, 3, 1);
	check_line(f, len, len, TS "IP 198.18.0.1 > 198.18.0.2: ICMP host 198.18.0.1 "
		   "unreachable, length 36\n");
	len = icmp_error(f, 3, 2);
	check_line(f, len, len, TS "IP 198.18.0.1 > 198.18.0.2: ICMP 198.18.0.1 protocol 17 "
		   "unreachable, length 36\n");
	len = icmp_error(f, 3, 4);
	f[14 + 20 + 6] = 0x05;
	f[14 + 20 + 7] = 0x78;
	check_line(f, len, len, TS "IP 198.18.0.1 > 198.18.0.2: ICMP 198.18.0.1 unreachable - "
		   "need to frag (mtu 1400), length 36\n");
	len = icmp_error(f, 11, 0);
	check_line(f, len, len, TS "IP 198.18.0.1 > 198.18.0.2: ICMP time exceeded in-transit, "
		   "length 36\n");
	len = icmp_error(f, 13, 0);
	check_line(f, len, len, TS "IP 198.18.0.1 > 198.18.0.2: ICMP type 13, code 0, "
		   "length 36\n");
}

static void test_arp(void **state)
{
	static const uint8_t mac1[6] = { 2, 0, 0, 0, 0, 1 }, mac2[6] = { 2, 0, 0, 0, 0, 2 };
	static const uint8_t zero[6];
	uint8_t f[FRAME_MAX];
	size_t len = frame_arp(f, 1, mac2, A2, zero, A1);

	(void)state;
	check_line(f, len, len, TS "ARP, Request who-has 198.18.0.1 tell 198.18.0.2, "
		   "length 28\n");
	/* Padded to the Ethernet minimum, as on the wire. */
	check_line(f, 60, len, TS "ARP, Request who-has 198.18.0.1 tell 198.18.0.2, "
		   "length 46\n");
	check_line(f, len, 30, TS "ARP, [|arp]\n");
	len = frame_arp(f, 1, mac2, A2, mac1, A1);
	check_line(f, len, len, TS "ARP, Request who-has 198.18.0.1 (02:00:00:00:00:01) tell "
		   "198.18.0.2, length 28\n");
	len = frame_arp(f, 2, mac1, A1, mac2, A2);
	check_line(f, len, len, TS "ARP, Reply 198.18.0.1 is-at 02:00:00:00:00:01, "
		   "length 28\n");
	len = frame_arp(f, 3, mac1, A1, mac2, A2);
	check_line(f, len, len, TS "ARP, op 3, length 28\n");
	f[15] = 6;
	check_line(f, len, len, TS "ARP, hardware type 6, protocol 0x0800, length 28\n");
}

static void test_ip_malformed(void **state)
{
	struct frame_spec s = { .proto = 17, .src = A2, .dst = A1, .sport = 5555, .dport = 53,
				.payload = 12, .ip_id = 77 };
	uint8_t f[FRAME_MAX];
	size_t len = frame_build(f, &s);

	(void)state;
	check_line(f, len, 20, TS "IP [|ip]\n");
	f[14] = 0x65;
	check_line(f, len, len, TS "IP bad-version 6\n");
	f[14] = 0x43;
	check_line(f, len, len, TS "IP bad-hlen 12\n");
	f[14] = 0x45;
	f[17] = 10;
	check_line(f, len, len, TS "IP bad-len 10\n");
	f[17] = 100; /* claims 100 bytes, 40 came */
	check_line(f, len, len, TS "IP truncated-ip - 60 bytes missing! 198.18.0.2.5555 > "
		   "198.18.0.1.53: UDP, length 12\n");
	f[17] = 40;
	f[20] = 0x00; /* a later fragment: no ports to show */
	f[21] = 185;
	check_line(f, len, len, TS "IP 198.18.0.2 > 198.18.0.1: udp (frag 77:20@1480), "
		   "length 20\n");
	f[20] = 0x20; /* the first of several */
	f[21] = 0;
	check_line(f, len, len, TS "IP 198.18.0.2.5555 > 198.18.0.1.53: UDP, length 12\n");
	s.proto = 47;
	s.payload = 10;
	len = frame_build(f, &s);
	check_line(f, len, len, TS "IP 198.18.0.2 > 198.18.0.1: ip-proto-47, length 10\n");
}

static void test_ether(void **state)
{
	struct frame_spec s = { .proto = 17, .src = A2, .dst = A1, .sport = 5555, .dport = 53,
				.payload = 12 };
	const struct print_opts e_opt = { .ether = true }, t_opt = { .no_time = true };
	uint8_t f[FRAME_MAX];
	size_t len = frame_build(f, &s);

	(void)state;
	check_line_opts(&t_opt, f, len, len, "IP 198.18.0.2.5555 > 198.18.0.1.53: UDP, "
			"length 12\n");
	check_line_opts(&e_opt, f, len, len, TS "02:00:00:00:00:02 > 02:00:00:00:00:01, "
			"ethertype IPv4 (0x0800), length 54: IP 198.18.0.2.5555 > "
			"198.18.0.1.53: UDP, length 12\n");
	check_line(f, len, 13, TS "[|ether]\n");
	check_line(f, len, 0, TS "[|ether]\n");

	/* One 802.1Q tag in front of the IPv4 header. */
	memmove(f + 18, f + 14, len - 14);
	f[12] = 0x81;
	f[13] = 0x00;
	f[14] = 0x20; /* priority 1, VLAN 5 */
	f[15] = 0x05;
	f[16] = 0x08;
	f[17] = 0x00;
	check_line(f, len + 4, len + 4, TS "vlan 5, p 1, ethertype IPv4 (0x0800), IP "
		   "198.18.0.2.5555 > 198.18.0.1.53: UDP, length 12\n");
	check_line(f, len + 4, 16, TS "[|vlan]\n");

	f[12] = 0x88;
	f[13] = 0xcc;
	check_line(f, 60, 60, TS "ethertype Unknown (0x88cc), length 60\n");
	f[12] = 0x86;
	f[13] = 0xdd;
	check_line(f, 94, 60, TS "IP6, length 80\n");
}

/* A line too long for its buffer is cut, marked, and still one line. */
static void test_small_buffer(void **state)
{
	uint8_t f[FRAME_MAX];
	size_t len = syn_ack(f);
	struct xd_frame fr = { .rx_ns = RX_NS, .len = (uint32_t)len, .caplen = (uint32_t)len,
			       .data = f };
	const struct print_opts o = { 0 };
	char line[24];

	(void)state;
	assert_int_equal(print_frame(&o, &fr, line, sizeof(line)), sizeof(line) - 1);
	assert_string_equal(line, TS "IP ...\n");
	assert_int_equal(print_frame(&o, &fr, line, 4), 0);
	assert_string_equal(line, "");
}

/*
 * Random damage to valid frames, printed with every caplen from a buffer of exactly that
 * size: under ASan any read beyond caplen fails the test.
 */
static void test_robust(void **state)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	uint64_t x = 88172645463325252ull;
	const struct print_opts o = { .ether = true };
	uint8_t f[FRAME_MAX];
	char line[XD_LINE_MAX];

	(void)state;
	for (int iter = 0; iter < 4000; iter++) {
		struct frame_spec s = { .proto = (uint8_t)(iter % 3 == 0 ? 6 : iter % 3 == 1 ? 17
											      : 1),
					.tcp_opts = syn_opts, .tcp_optlen = sizeof(syn_opts),
					.payload = (size_t)(iter % 50) };
		size_t len = iter % 7 == 0 ? frame_arp(f, 1, mac, A1, mac, A2) : frame_build(f, &s);

		for (int k = 0; k < 1 + iter % 6; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			f[(x >> 8) % len] = (uint8_t)(x >> 32);
		}
		for (size_t cap = 0; cap <= len; cap += 1 + (size_t)(iter % 5)) {
			uint8_t *copy = malloc(cap ? cap : 1);
			struct xd_frame fr = { .rx_ns = RX_NS, .len = (uint32_t)len,
					       .caplen = (uint32_t)cap, .data = copy };
			size_t n;

			memcpy(copy, f, cap);
			n = print_frame(&o, &fr, line, sizeof(line));
			assert_true(n > 0 && line[n - 1] == '\n' && strlen(line) == n);
			free(copy);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp),	     cmocka_unit_test(test_tcp_options),
		cmocka_unit_test(test_tcp_truncated), cmocka_unit_test(test_udp),
		cmocka_unit_test(test_icmp),	     cmocka_unit_test(test_arp),
		cmocka_unit_test(test_ip_malformed), cmocka_unit_test(test_ether),
		cmocka_unit_test(test_small_buffer), cmocka_unit_test(test_robust),
	};

	return cmocka_run_group_tests(tests, utc, NULL);
}
