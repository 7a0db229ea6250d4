/* test_xokdump_compile.c - xokdump's filter compiler, held to libdpf's reference interpreter */

/*
 * For each expression the compiled copy filters go into a dpf_set and libdpf's
 * dpf_interpret decides which crafted frames they copy; expr_match (the userspace
 * evaluator) decides which frames the expression matches.  When the compiler says its
 * filters are exact the two must agree on every frame; otherwise every frame the
 * expression matches must still be copied (the filters may only be wider).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "frames.h"
#include "xokdump.h"

#define NFRAMES 6000

struct corpus {
	size_t n;
	size_t len[NFRAMES];
	uint8_t *frame[NFRAMES]; /* each allocated to exactly its length */
};

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11) % n;
}

static const uint32_t addrs[] = {
	IP4(198, 18, 0, 1), IP4(198, 18, 0, 2), IP4(198, 19, 7, 7), IP4(10, 0, 0, 1),
};
static const uint16_t ports[] = { 80, 53, 443, 5555, 1, 2 };

static uint32_t pick_addr(void)
{
	return rnd(8) ? addrs[rnd(4)] : rnd(UINT32_MAX);
}

static uint16_t pick_port(void)
{
	return rnd(8) ? ports[rnd(6)] : (uint16_t)rnd(65536);
}

static size_t random_ipv4(uint8_t *buf)
{
	static const uint8_t protos[] = { 6, 17, 1, 6, 17, 47 };
	struct frame_spec s = {
		.ihl = (uint8_t)(rnd(4) ? 5 + rnd(3) : rnd(16)),
		.proto = protos[rnd(6)],
		.frag = (uint16_t)(rnd(4) ? 0 : rnd(2) ? 0x2000 : rnd(65536)),
		.src = pick_addr(),
		.dst = pick_addr(),
		.sport = pick_port(),
		.dport = pick_port(),
		.payload = rnd(40),
	};

	if (s.ihl < 5) {
		/* The shorter header still has to fit the builder: build with 5, then lie. */
		size_t len;
		uint8_t ihl = s.ihl;

		s.ihl = 5;
		len = frame_build(buf, &s);
		buf[14] = (uint8_t)(0x40 | ihl);
		return len;
	}
	return frame_build(buf, &s);
}

static size_t random_frame(uint8_t *buf)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 9 };
	size_t len;

	switch (rnd(10)) {
	case 0:
	case 1:
		len = frame_arp(buf, (uint16_t)(1 + rnd(2)), mac, pick_addr(), mac, pick_addr());
		break;
	case 2:
		len = 60;
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rnd(256);
		break;
	default:
		len = random_ipv4(buf);
	}
	if (rnd(4) == 0)
		len = rnd((uint32_t)len + 1); /* cut short: loads beyond the end must fail */
	return len;
}

static int corpus_setup(void **state)
{
	struct corpus *c = calloc(1, sizeof(*c));
	uint8_t buf[FRAME_MAX];

	rng_state = 0x9e3779b97f4a7c15ull;
	for (c->n = 0; c->n < NFRAMES; c->n++) {
		c->len[c->n] = random_frame(buf);
		c->frame[c->n] = malloc(c->len[c->n] ? c->len[c->n] : 1);
		memcpy(c->frame[c->n], buf, c->len[c->n]);
	}
	*state = c;
	return 0;
}

static int corpus_teardown(void **state)
{
	struct corpus *c = *state;

	for (size_t i = 0; i < c->n; i++)
		free(c->frame[i]);
	free(c);
	return 0;
}

static struct expr *parse(const char *text)
{
	struct expr_error err;
	struct expr *e = NULL;

	if (expr_parse(text, &e, &err))
		fail_msg("'%s': %s", text, err.msg);
	return e;
}

static struct dpf_set *set_of(const struct dpf_filter *f, unsigned n)
{
	struct dpf_set *s = dpf_set_new();

	assert_non_null(s);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(dpf_filter_validate(&f[i]), 0);
		assert_int_equal(dpf_set_insert_copy(s, i + 1, &f[i]), (int)i);
	}
	return s;
}

static bool copied(const struct dpf_set *s, const uint8_t *frame, size_t len)
{
	struct dpf_result r;

	dpf_interpret(s, frame, len, &r);
	return r.copy_mask != 0;
}

/* Checks filters against the evaluator on the corpus; returns how many frames matched. */
static size_t check_agree(const struct corpus *c, const char *text, const struct expr *e,
			  const struct dpf_filter *f, unsigned n, bool exact)
{
	struct dpf_set *s = set_of(f, n);
	size_t matched = 0;

	for (size_t i = 0; i < c->n; i++) {
		bool u = expr_match(e, c->frame[i], c->len[i]);
		bool k = copied(s, c->frame[i], c->len[i]);

		matched += u;
		if (u && !k)
			fail_msg("'%s': frame %zu (len %zu) matches but no filter copies it", text,
				 i, c->len[i]);
		if (exact && k && !u)
			fail_msg("'%s': frame %zu (len %zu) copied by exact filters but does not "
				 "match", text, i, c->len[i]);
	}
	dpf_set_free(s);
	return matched;
}

static const char *const exprs[] = {
	"",
	"ip",
	"arp",
	"tcp",
	"udp",
	"icmp",
	"ip proto 47",
	"host 198.18.0.1",
	"src host 198.18.0.2",
	"dst host 198.18.0.1",
	"src and dst host 198.18.0.1",
	"ip host 198.18.0.1",
	"arp host 198.18.0.2",
	"arp dst host 198.18.0.1",
	"net 198.18.0.0/15",
	"src net 198.18.0.0/24",
	"dst net 198.0.0.0/8 and src net 198.18.0.0/16",
	"net 0.0.0.0/0",
	"port 80",
	"src port 53",
	"dst port 80",
	"tcp port 80",
	"udp dst port 53",
	"src and dst port 53",
	"tcp and dst port 80 and src host 198.18.0.2",
	"tcp or udp",
	"tcp or udp and port 53",
	"not tcp",
	"not (tcp or udp)",
	"udp and not port 53",
	"not not arp",
	"(tcp and port 80) or (udp and port 53) or arp",
	"host 198.18.0.1 and host 198.18.0.2",
	"port 80 or port 443",
	"port 1 or port 2 or port 80",
	"not host 198.18.0.1 or icmp",
	"tcp and udp",
	"arp and port 80",
	"(host 198.18.0.1 or host 198.18.0.2) and (port 80 or port 53)",
	"icmp or arp or tcp port 5555",
	"not (tcp and not port 80)",
	"ip and not icmp and (src port 1 or dst port 2)",
	"src net 198.18.0.0/15 and src host 198.19.7.7",
	"src host 198.19.7.7 and src net 198.18.0.0/15",
	"net 198.18.0.0/15 and not net 198.18.0.0/24",
	"src net 198.18.0.0/16 and src host 10.0.0.1",
};

/* Expressions no frame can match. */
static bool impossible(const char *text)
{
	return !strcmp(text, "tcp and udp") || !strcmp(text, "arp and port 80") ||
	       !strcmp(text, "src net 198.18.0.0/16 and src host 10.0.0.1");
}

static void test_agree(void **state)
{
	const struct corpus *c = *state;

	for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
		struct expr *e = parse(exprs[i]);
		struct xd_filters xf;
		size_t m;

		assert_int_equal(xd_compile(e, XD_MAX_FILTERS, &xf), 0);
		assert_true(xf.n <= XD_MAX_FILTERS);
		m = check_agree(c, exprs[i], e, xf.f, xf.n, xf.exact);
		if (xf.n > 0)
			check_agree(c, exprs[i], e, &xf.wide, 1, xf.n == 1 && xf.exact);
		/* Forced into one filter, the compiler must still only widen. */
		assert_int_equal(xd_compile(e, 1, &xf), 0);
		assert_true(xf.n <= 1);
		check_agree(c, exprs[i], e, xf.f, xf.n, xf.exact);
		/* The corpus exercises everything but the impossible expressions. */
		if (m == 0 && !impossible(exprs[i]))
			fail_msg("'%s' matched no frame of the corpus", exprs[i]);
		expr_free(e);
	}
}

/* Compiles text and checks the filter count, exactness and, optionally, filter 0. */
static void check_filters(const char *text, unsigned n, bool exact, const char *f0)
{
	struct expr *e = parse(text);
	struct xd_filters xf;
	char buf[1024];

	assert_int_equal(xd_compile(e, XD_MAX_FILTERS, &xf), 0);
	if (xf.n != n || xf.exact != exact)
		fail_msg("'%s': %u filters (%s), want %u (%s)", text, xf.n,
			 xf.exact ? "exact" : "wide", n, exact ? "exact" : "wide");
	if (f0) {
		assert_int_equal(xd_filter_format(&xf.f[0], false, buf, sizeof(buf)), 0);
		if (strcmp(buf, f0))
			fail_msg("'%s': filter 0 is\n  %s\nwant\n  %s", text, buf, f0);
	}
	expr_free(e);
}

#define ETH_IP	 "[12:2]=0x0800"
#define FRAG0	 "[20:2]&0x1fff=0x0000"
#define L4_SHIFT "base+=14+([14:1]&0xf)<<2"

static void test_shapes(void **state)
{
	(void)state;
	/* A conjunction of positive primitives is one exact filter. */
	check_filters("tcp and dst port 80 and src host 198.18.0.2", 1, true,
		      ETH_IP " " FRAG0 " [23:1]=0x06 [26:4]=0xc6120002 " L4_SHIFT " [+2:2]=0x0050");
	check_filters("tcp", 1, true, ETH_IP " [23:1]=0x06");
	check_filters("arp", 1, true, "[12:2]=0x0806");
	check_filters("", 1, true, "(every frame)");
	check_filters("src net 198.18.0.0/15", 2, true, ETH_IP " [26:4]&0xfffe0000=0xc6120000");
	check_filters("udp and src and dst port 53", 1, true,
		      ETH_IP " " FRAG0 " [23:1]=0x11 " L4_SHIFT " [+0:2]=0x0035 [+2:2]=0x0035");
	/* host: IPv4 src, IPv4 dst, ARP sender, ARP target; tcp rules out ARP. */
	check_filters("host 198.18.0.1", 4, true, NULL);
	check_filters("tcp and host 198.18.0.1", 2, true, NULL);
	check_filters("ip host 198.18.0.1", 2, true, NULL);
	/* port: tcp and udp, source and destination. */
	check_filters("port 80", 4, true, NULL);
	check_filters("tcp port 80", 2, true, NULL);
	check_filters("port 80 or port 443", 8, true, NULL);
	/* Absorption: "tcp" covers "tcp and port 80"; "ip and tcp" is "tcp". */
	check_filters("tcp or (tcp and port 80)", 1, true, ETH_IP " [23:1]=0x06");
	check_filters("ip and tcp", 1, true, ETH_IP " [23:1]=0x06");
	check_filters("arp or ip", 2, true, NULL);
	/* Contradictions vanish. */
	check_filters("tcp and udp", 0, true, NULL);
	check_filters("arp and port 80", 0, true, NULL);
	check_filters("host 198.18.0.1 and tcp and arp", 0, true, NULL);
	check_filters("src net 198.18.0.0/16 and src host 10.0.0.1", 0, true, NULL);
	/* A host inside a net: the host's atom implies the net's. */
	check_filters("ip src net 198.18.0.0/15 and ip src host 198.19.7.7", 1, true,
		      ETH_IP " [26:4]&0xfffe0000=0xc6120000 [26:4]=0xc6130707");
	/* Negation widens to what the rest says. */
	check_filters("not tcp", 1, false, "(every frame)");
	check_filters("udp and not port 53", 1, false, ETH_IP " [23:1]=0x11");
	/* Too many disjuncts: the atoms they share (IPv4, first fragment). */
	check_filters("port 1 or port 2 or port 80", 1, false, ETH_IP " " FRAG0);
}

static void test_format_multiline(void **state)
{
	struct expr *e = parse("udp dst port 53");
	struct xd_filters xf;
	char buf[1024];

	(void)state;
	assert_int_equal(xd_compile(e, XD_MAX_FILTERS, &xf), 0);
	assert_int_equal(xd_filter_format(&xf.f[0], true, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "(000) match [12:2]=0x0800\n"
				 "(001) match [20:2]&0x1fff=0x0000\n"
				 "(002) match [23:1]=0x11\n"
				 "(003) shift base+=14+([14:1]&0xf)<<2\n"
				 "(004) match [+2:2]=0x0035\n");
	assert_int_equal(xd_filter_format(&xf.f[0], true, buf, 20), -ENOSPC);
	assert_true(strlen(buf) < 20);
	expr_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agree),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_format_multiline),
	};

	return cmocka_run_group_tests(tests, corpus_setup, corpus_teardown);
}
