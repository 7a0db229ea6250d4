/* test_relate.c - filter validation, builders and the relation table */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <cmocka.h>

#include "xok/dpf.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

static enum dpf_relation inverse(enum dpf_relation r)
{
	return r == DPF_REL_REFINES	 ? DPF_REL_REFINED_BY
	       : r == DPF_REL_REFINED_BY ? DPF_REL_REFINES
					 : r;
}

/* Checks rel(a, b) and the mirrored rel(b, a). */
static void rel(const struct dpf_filter *a, const struct dpf_filter *b, enum dpf_relation want,
		const char *what)
{
	enum dpf_relation ab = dpf_relate(a, b), ba = dpf_relate(b, a);

	if (ab != want || ba != inverse(want))
		fail_msg("%s: got %s/%s, want %s", what, dpf_relation_name(ab),
			 dpf_relation_name(ba), dpf_relation_name(want));
}

static struct dpf_filter tcp(uint32_t addr, uint16_t port)
{
	struct dpf_filter f;

	assert_int_equal(dpf_filter_tcp_port(&f, addr, port), 0);
	return f;
}

static struct dpf_filter udp(uint32_t addr, uint16_t port)
{
	struct dpf_filter f;

	assert_int_equal(dpf_filter_udp_port(&f, addr, port), 0);
	return f;
}

static struct dpf_filter conn(uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
	struct dpf_filter f;

	assert_int_equal(dpf_filter_tcp_4tuple(&f, laddr, lport, raddr, rport), 0);
	return f;
}

static struct dpf_filter subnet(bool src, uint32_t addr, uint8_t len)
{
	struct dpf_filter f;

	dpf_filter_init(&f);
	assert_int_equal(dpf_match_ipv4(&f), 0);
	if (src)
		assert_int_equal(dpf_match_ipv4_src(&f, addr, len), 0);
	else
		assert_int_equal(dpf_match_ipv4_dst(&f, addr, len), 0);
	return f;
}

static struct dpf_filter ethertype(uint16_t type)
{
	struct dpf_filter f;

	dpf_filter_init(&f);
	assert_int_equal(dpf_match_ethertype(&f, type), 0);
	return f;
}

static void test_validate(void **state)
{
	struct dpf_filter f;
	(void)state;

	dpf_filter_init(&f);
	assert_int_equal(dpf_filter_validate(&f), 0);
	assert_int_equal(dpf_filter_validate(NULL), -EINVAL);
#define BAD(stmt)                                                                                  \
	do {                                                                                       \
		dpf_filter_init(&f);                                                               \
		assert_int_equal(dpf_add_match(&f, 12, 2, 0xffff, 0x800), 0);                      \
		stmt;                                                                              \
		assert_int_equal(dpf_filter_validate(&f), -EINVAL);                                \
	} while (0)
	BAD(f.atoms[0].width = 3);
	BAD(f.atoms[0].width = 0);
	BAD(f.atoms[0].mask = 0x1ffff);
	BAD(f.atoms[0].value = 0x10000);
	BAD(f.atoms[0].mask = 0x00ff); /* value 0x800 has bits outside the mask */
	BAD(f.atoms[0].pad = 1);
	BAD(f.atoms[0].kind = 2);
	BAD(f.atoms[0].shift = 1); /* MATCH with a shift */
	BAD(f.atoms[0].add = 1);   /* MATCH with an add */
	BAD(f.atoms[0].offset = DPF_MAX_OFFSET + 1);
	BAD(f.pad = 1);
	BAD(f.natoms = DPF_MAX_ATOMS + 1);
	BAD(dpf_add_shift(&f, 14, 1, 0x0f, 8, 14));
	BAD(dpf_add_shift(&f, 14, 1, 0x0f, 2, DPF_MAX_OFFSET + 1));
	BAD((dpf_add_shift(&f, 14, 1, 0x0f, 2, 14), f.atoms[1].value = 1));
	BAD((dpf_add_shift(&f, 14, 1, 0x0f, 2, 14), dpf_add_shift(&f, 0, 1, 0xf, 2, 0),
	     dpf_add_shift(&f, 0, 1, 0xf, 2, 0)));
#undef BAD
	/* the extremes are fine */
	dpf_filter_init(&f);
	assert_int_equal(dpf_add_match(&f, DPF_MAX_OFFSET, 4, 0xffffffff, 0xdeadbeef), 0);
	assert_int_equal(dpf_add_shift(&f, DPF_MAX_OFFSET, 4, 0xffffffff, 7, DPF_MAX_OFFSET), 0);
	assert_int_equal(dpf_add_shift(&f, 0, 1, 0, 0, 0), 0);
	assert_int_equal(dpf_add_match(&f, 0, 1, 0, 0), 0);
	assert_int_equal(dpf_filter_validate(&f), 0);
	for (int i = f.natoms; i < DPF_MAX_ATOMS; i++)
		assert_int_equal(dpf_add_match(&f, 1, 1, 0, 0), 0);
	assert_int_equal(dpf_add_match(&f, 1, 1, 0, 0), -ENOSPC);
	assert_int_equal(dpf_add_shift(&f, 1, 1, 0, 0, 0), -ENOSPC);
	assert_int_equal(dpf_filter_validate(&f), 0);
}

static void test_builders(void **state)
{
	struct dpf_filter f, g;
	(void)state;

	/* one IHL indirection serves both ports */
	dpf_filter_init(&f);
	assert_int_equal(dpf_match_ipv4(&f), 0);
	assert_int_equal(dpf_match_ipv4_proto(&f, 6), 0);
	assert_int_equal(dpf_match_l4_dport(&f, 80), 0);
	assert_int_equal(dpf_match_l4_sport(&f, 1234), 0);
	assert_int_equal(f.natoms, 5);
	assert_int_equal(f.atoms[2].kind, DPF_ATOM_SHIFT);
	assert_int_equal(dpf_filter_validate(&f), 0);
	/* header fields cannot follow the indirection */
	assert_int_equal(dpf_match_ipv4_src(&f, IP(10, 0, 0, 1), 32), -EINVAL);
	assert_int_equal(dpf_match_ethertype(&f, 0x800), -EINVAL);
	assert_int_equal(dpf_match_ipv4_dst(&f, 1, 33), -EINVAL);
	/* prefix 0 adds nothing */
	dpf_filter_init(&g);
	assert_int_equal(dpf_match_ipv4_src(&g, IP(10, 0, 0, 1), 0), 0);
	assert_int_equal(g.natoms, 0);
	assert_int_equal(dpf_match_ipv4_src(&g, IP(10, 1, 2, 3), 20), 0);
	assert_int_equal(g.atoms[0].mask, 0xfffff000u);
	assert_int_equal(g.atoms[0].value, IP(10, 1, 0, 0));
	/* a port test after some other indirection is refused */
	dpf_filter_init(&g);
	assert_int_equal(dpf_add_shift(&g, 14, 1, 0x0f, 2, 18), 0);
	assert_int_equal(dpf_match_l4_dport(&g, 80), -EINVAL);
	assert_int_equal(g.natoms, 1);
	assert_int_equal(dpf_filter_everything(&g), 0);
	assert_int_equal(g.natoms, 0);
	assert_int_equal(dpf_filter_all_ipv4(&g), 0);
	assert_int_equal(g.natoms, 1);
	assert_int_equal(dpf_filter_tcp_4tuple(&g, IP(10, 0, 0, 1), 80, IP(10, 0, 0, 2), 999), 0);
	assert_int_equal(dpf_filter_validate(&g), 0);
}

static void test_ports(void **state)
{
	(void)state;
	struct dpf_filter t80 = tcp(0, 80), t81 = tcp(0, 81), u80 = udp(0, 80);
	struct dpf_filter t80a = tcp(IP(10, 0, 0, 1), 80), t80b = tcp(IP(10, 0, 0, 2), 80);

	rel(&t80, &t81, DPF_REL_DISJOINT, "tcp 80 / tcp 81");
	rel(&t80, &u80, DPF_REL_DISJOINT, "tcp 80 / udp 80");
	rel(&t80, &t80, DPF_REL_EQUAL, "tcp 80 / itself");
	rel(&t80a, &t80, DPF_REL_REFINES, "tcp 10.0.0.1:80 / tcp *:80");
	rel(&t80a, &t80b, DPF_REL_DISJOINT, "tcp 10.0.0.1:80 / 10.0.0.2:80");
	rel(&t80a, &t81, DPF_REL_DISJOINT, "tcp 10.0.0.1:80 / *:81");
}

static void test_connections(void **state)
{
	(void)state;
	struct dpf_filter lst = tcp(0, 80), lsta = tcp(IP(10, 0, 0, 1), 80);
	struct dpf_filter c1 = conn(0, 80, IP(10, 9, 9, 9), 5000);
	struct dpf_filter c2 = conn(0, 80, IP(10, 9, 9, 9), 5001);
	struct dpf_filter c3 = conn(0, 80, IP(10, 9, 9, 8), 5000);
	struct dpf_filter c4 = conn(IP(10, 0, 0, 1), 80, IP(10, 9, 9, 9), 5000);
	struct dpf_filter other = tcp(0, 81), u = udp(0, 80);

	rel(&c1, &lst, DPF_REL_REFINES, "4-tuple / listener");
	rel(&c4, &lst, DPF_REL_REFINES, "4-tuple with local addr / wildcard listener");
	rel(&c4, &lsta, DPF_REL_REFINES, "4-tuple / listener with addr");
	rel(&c1, &lsta, DPF_REL_AMBIGUOUS, "4-tuple wildcard addr / listener with addr");
	rel(&c4, &c1, DPF_REL_REFINES, "4-tuple with local addr / without");
	rel(&c1, &c2, DPF_REL_DISJOINT, "4-tuples, remote ports differ");
	rel(&c1, &c3, DPF_REL_DISJOINT, "4-tuples, remote addrs differ");
	rel(&c1, &other, DPF_REL_DISJOINT, "4-tuple / listener on another port");
	rel(&c1, &u, DPF_REL_DISJOINT, "4-tuple / udp");
}

static void test_protocols(void **state)
{
	(void)state;
	struct dpf_filter arp, ip, all, t = tcp(0, 80);

	dpf_filter_init(&arp);
	assert_int_equal(dpf_match_arp(&arp), 0);
	assert_int_equal(dpf_filter_all_ipv4(&ip), 0);
	assert_int_equal(dpf_filter_everything(&all), 0);
	rel(&arp, &ip, DPF_REL_DISJOINT, "arp / ipv4");
	rel(&arp, &t, DPF_REL_DISJOINT, "arp / tcp (contexts differ, root decides)");
	rel(&arp, &all, DPF_REL_REFINES, "arp / everything");
	rel(&t, &ip, DPF_REL_REFINES, "tcp / all ipv4");
	rel(&t, &all, DPF_REL_REFINES, "tcp / everything");
	rel(&all, &all, DPF_REL_EQUAL, "everything / everything");
}

static void test_subnets(void **state)
{
	(void)state;
	struct dpf_filter s24 = subnet(true, IP(10, 1, 2, 0), 24);
	struct dpf_filter s24b = subnet(true, IP(10, 1, 3, 0), 24);
	struct dpf_filter s16 = subnet(true, IP(10, 1, 0, 0), 16);
	struct dpf_filter s16b = subnet(true, IP(10, 2, 0, 0), 16);
	struct dpf_filter s32 = subnet(true, IP(10, 1, 2, 77), 32);
	struct dpf_filter s23 = subnet(true, IP(10, 1, 2, 0), 23);
	struct dpf_filter d24 = subnet(false, IP(10, 1, 2, 0), 24);
	struct dpf_filter s8 = subnet(true, IP(10, 0, 0, 0), 8);

	rel(&s24, &s16, DPF_REL_REFINES, "/24 in /16");
	rel(&s32, &s24, DPF_REL_REFINES, "/32 in /24");
	rel(&s24, &s24b, DPF_REL_DISJOINT, "disjoint /24s");
	rel(&s16, &s16b, DPF_REL_DISJOINT, "disjoint /16s");
	rel(&s24b, &s16b, DPF_REL_DISJOINT, "/24 outside a /16");
	rel(&s24, &s23, DPF_REL_REFINES, "/24 in /23 (bit-level prefix)");
	rel(&s24b, &s23, DPF_REL_REFINES, "the other /24 in the /23");
	rel(&s16, &s8, DPF_REL_REFINES, "/16 in /8");
	rel(&s24, &d24, DPF_REL_AMBIGUOUS, "src /24 vs dst /24");
}

static void test_indirection(void **state)
{
	(void)state;
	struct dpf_filter t80 = tcp(0, 80), fixed, opts5, alt, sport, nested, nested2;

	/* dport at a fixed offset (assumes no IP options): another context */
	dpf_filter_init(&fixed);
	dpf_match_ipv4(&fixed);
	dpf_match_ipv4_proto(&fixed, 6);
	dpf_add_match(&fixed, 36, 2, 0xffff, 80);
	rel(&fixed, &t80, DPF_REL_AMBIGUOUS, "fixed-offset port / indirect port");
	/* ... but a different fixed port is still not provably disjoint */
	dpf_filter_init(&fixed);
	dpf_match_ipv4(&fixed);
	dpf_match_ipv4_proto(&fixed, 6);
	dpf_add_match(&fixed, 36, 2, 0xffff, 81);
	rel(&fixed, &t80, DPF_REL_AMBIGUOUS, "fixed port 81 / indirect port 80");
	/* pinning IHL = 5 (no options) refines the indirect filter */
	dpf_filter_init(&opts5);
	dpf_match_ipv4(&opts5);
	dpf_match_ipv4_proto(&opts5, 6);
	dpf_add_match(&opts5, 14, 1, 0x0f, 5);
	dpf_match_l4_dport(&opts5, 80);
	rel(&opts5, &t80, DPF_REL_REFINES, "IHL 5 + port / port");
	/* a different indirection: contexts differ */
	dpf_filter_init(&alt);
	dpf_match_ipv4(&alt);
	dpf_match_ipv4_proto(&alt, 6);
	dpf_add_shift(&alt, 14, 1, 0x0f, 2, 18);
	dpf_add_match(&alt, 2, 2, 0xffff, 80);
	rel(&alt, &t80, DPF_REL_AMBIGUOUS, "other indirection");
	/* same context, different fields */
	dpf_filter_init(&sport);
	dpf_match_ipv4(&sport);
	dpf_match_ipv4_proto(&sport, 6);
	dpf_match_l4_sport(&sport, 80);
	rel(&sport, &t80, DPF_REL_AMBIGUOUS, "sport 80 / dport 80");
	/* nested indirection (a second SHIFT inside the L4 header) */
	nested = t80;
	dpf_add_shift(&nested, 12, 1, 0xf0, 0, 0);
	dpf_add_match(&nested, 0, 1, 0xff, 0x17);
	rel(&nested, &t80, DPF_REL_REFINES, "nested indirection / its prefix");
	nested2 = t80;
	dpf_add_shift(&nested2, 12, 1, 0xf0, 0, 0);
	dpf_add_match(&nested2, 0, 1, 0xff, 0x18);
	rel(&nested, &nested2, DPF_REL_DISJOINT, "same nested context, values differ");
	nested2 = t80;
	dpf_add_shift(&nested2, 12, 1, 0xf0, 1, 0);
	dpf_add_match(&nested2, 0, 1, 0xff, 0x18);
	rel(&nested, &nested2, DPF_REL_AMBIGUOUS, "nested contexts differ (shift)");
	nested2 = tcp(0, 81);
	dpf_add_shift(&nested2, 12, 1, 0xf0, 1, 0);
	rel(&nested, &nested2, DPF_REL_DISJOINT, "nested contexts differ, shared one disjoint");
	/* a trailing SHIFT only requires its field */
	nested2 = t80;
	dpf_add_shift(&nested2, 12, 1, 0xf0, 1, 0);
	rel(&nested2, &t80, DPF_REL_REFINES, "trailing shift needs 13 L4 bytes");
}

static void test_widths(void **state)
{
	(void)state;
	struct dpf_filter w2 = ethertype(0x0800), w1, w4, w4b, mask0;

	dpf_filter_init(&w1);
	dpf_add_match(&w1, 13, 1, 0xff, 0x00);
	dpf_add_match(&w1, 12, 1, 0xff, 0x08);
	rel(&w1, &w2, DPF_REL_EQUAL, "two bytes / one halfword");
	dpf_filter_init(&w4);
	dpf_add_match(&w4, 10, 4, 0x0000ffff, 0x0800);
	rel(&w4, &w2, DPF_REL_EQUAL, "word with a half mask ending at the same byte");
	dpf_filter_init(&w4b);
	dpf_add_match(&w4b, 12, 4, 0xffff0000, 0x08000000);
	rel(&w4b, &w2, DPF_REL_REFINES, "a wider load needs two more bytes");
	dpf_filter_init(&mask0);
	dpf_match_ipv4(&mask0);
	dpf_add_match(&mask0, 100, 1, 0, 0);
	rel(&mask0, &w2, DPF_REL_REFINES, "mask-0 atom: frame at least 101 bytes");
	dpf_filter_init(&w1);
	dpf_add_match(&w1, 14, 1, 0xf0, 0x40);
	dpf_filter_init(&w4);
	dpf_add_match(&w4, 14, 1, 0x0f, 0x05);
	rel(&w1, &w4, DPF_REL_AMBIGUOUS, "different bits of one byte");
	dpf_filter_init(&w4b);
	dpf_add_match(&w4b, 14, 1, 0xff, 0x45);
	rel(&w4b, &w1, DPF_REL_REFINES, "whole byte / high nibble");
	rel(&w4b, &w4, DPF_REL_REFINES, "whole byte / low nibble");
	dpf_add_match(&w1, 14, 1, 0x0f, 0x05);
	rel(&w4b, &w1, DPF_REL_EQUAL, "two nibbles / the byte");
	dpf_filter_init(&w4);
	dpf_add_match(&w4, 14, 1, 0xff, 0x46);
	rel(&w4b, &w4, DPF_REL_DISJOINT, "one bit differs");
}

static void test_empty_and_unsat(void **state)
{
	(void)state;
	struct dpf_filter all, none, t80 = tcp(0, 80), len;

	dpf_filter_everything(&all);
	rel(&t80, &all, DPF_REL_REFINES, "tcp / empty");
	dpf_filter_init(&len);
	dpf_add_match(&len, 20, 1, 0, 0);
	rel(&len, &all, DPF_REL_REFINES, "length-only / empty");
	dpf_filter_init(&none);
	dpf_add_match(&none, 12, 2, 0xffff, 0x0800);
	dpf_add_match(&none, 13, 1, 0xff, 0x06);
	rel(&none, &all, DPF_REL_DISJOINT, "contradiction / empty");
	rel(&none, &none, DPF_REL_DISJOINT, "contradiction / itself");
	rel(&none, &t80, DPF_REL_DISJOINT, "contradiction / tcp");
	assert_string_equal(dpf_relation_name(DPF_REL_REFINED_BY), "refined-by");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_validate),	    cmocka_unit_test(test_builders),
	    cmocka_unit_test(test_ports),	    cmocka_unit_test(test_connections),
	    cmocka_unit_test(test_protocols),	    cmocka_unit_test(test_subnets),
	    cmocka_unit_test(test_indirection),	    cmocka_unit_test(test_widths),
	    cmocka_unit_test(test_empty_and_unsat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
