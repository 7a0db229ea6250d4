/* test_set.c - the filter tree (insert, place, delete, re-parenting), copy filters and the
 * reference interpreter */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "xok/dpf.h"
#include "dpf_gen.h"
#include "dpf_test_util.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))
#define LOCAL	       IP(198, 18, 0, 1)
#define PEER	       IP(198, 18, 0, 2)

static struct dpf_filter tcp(uint16_t port)
{
	struct dpf_filter f;

	assert_int_equal(dpf_filter_tcp_port(&f, 0, port), 0);
	return f;
}

static struct dpf_filter conn(uint16_t lport, uint16_t rport)
{
	struct dpf_filter f;

	assert_int_equal(dpf_filter_tcp_4tuple(&f, 0, lport, PEER, rport), 0);
	return f;
}

static int insert(struct dpf_set *s, uint32_t id, struct dpf_filter f, uint32_t *parent)
{
	uint32_t p = 0xdeadbeef;
	int err = dpf_set_insert(s, id, &f, &p);

	if (parent)
		*parent = p;
	return err;
}

static void test_insert_place_delete(void **state)
{
	struct dpf_set *s = dpf_set_new();
	struct dpf_filter f;
	uint32_t p;
	(void)state;

	assert_non_null(s);
	assert_int_equal(insert(s, 1, tcp(80), &p), 0);
	assert_int_equal(p, 0);
	assert_int_equal(insert(s, 2, tcp(81), &p), 0);
	assert_int_equal(p, 0);
	/* place: where a connection would go, without inserting it */
	f = conn(80, 5000);
	assert_int_equal(dpf_set_place(s, &f, &p), 0);
	assert_int_equal(p, 1);
	assert_int_equal(dpf_set_count(s), 2);
	assert_int_equal(insert(s, 10, f, &p), 0);
	assert_int_equal(p, 1);
	assert_int_equal(dpf_set_parent(s, 10), 1);
	assert_int_equal(insert(s, 11, conn(80, 5001), &p), 0);
	assert_int_equal(p, 1);
	assert_int_equal(insert(s, 12, conn(81, 5001), &p), 0);
	assert_int_equal(p, 2);
	assert_int_equal(dpf_set_count(s), 5);
	/* equal filters: -EEXIST names the installed one, also when spelt differently */
	assert_int_equal(insert(s, 13, conn(80, 5000), &p), -EEXIST);
	assert_int_equal(p, 10);
	dpf_filter_init(&f);
	assert_int_equal(dpf_add_match(&f, 13, 1, 0xff, 0x00), 0);
	assert_int_equal(dpf_add_match(&f, 12, 1, 0xff, 0x08), 0);
	assert_int_equal(dpf_match_ipv4_proto(&f, 6), 0);
	assert_int_equal(dpf_match_l4_dport(&f, 81), 0);
	assert_int_equal(dpf_set_place(s, &f, &p), -EEXIST);
	assert_int_equal(p, 2);
	/* bad input */
	assert_int_equal(insert(s, 0, tcp(90), NULL), -EINVAL); /* id 0 */
	assert_int_equal(insert(s, 1, tcp(90), NULL), -EINVAL); /* id in use */
	f = tcp(90);
	f.atoms[0].width = 3;
	assert_int_equal(dpf_set_insert(s, 20, &f, &p), -EINVAL);
	dpf_filter_init(&f); /* proto 6 and 17 */
	assert_int_equal(dpf_match_ipv4_proto(&f, 6), 0);
	assert_int_equal(dpf_match_ipv4_proto(&f, 17), 0);
	assert_int_equal(dpf_set_insert(s, 20, &f, &p), -EINVAL);
	/* delete: the children move up */
	assert_int_equal(dpf_set_delete(s, 1), 0);
	assert_int_equal(dpf_set_parent(s, 10), 0);
	assert_int_equal(dpf_set_parent(s, 11), 0);
	assert_int_equal(dpf_set_delete(s, 1), -ENOENT);
	assert_int_equal(dpf_set_delete(s, 0), -ENOENT);
	assert_int_equal(dpf_set_count(s), 4);
	/* ... and the listener comes back above them */
	assert_int_equal(insert(s, 1, tcp(80), &p), 0);
	assert_int_equal(p, 0);
	assert_int_equal(dpf_set_parent(s, 10), 1);
	assert_int_equal(dpf_set_parent(s, 11), 1);
	assert_int_equal(dpf_set_parent(s, 12), 2);
	dpf_set_free(s);
}

static void test_busy(void **state)
{
	struct dpf_set *s = dpf_set_new();
	struct dpf_filter src, dst, other;
	uint32_t p;
	(void)state;

	dpf_filter_init(&src);
	dpf_match_ipv4(&src);
	dpf_match_ipv4_src(&src, IP(10, 1, 2, 0), 24);
	dpf_filter_init(&dst);
	dpf_match_ipv4(&dst);
	dpf_match_ipv4_dst(&dst, IP(10, 1, 2, 0), 24);
	assert_int_equal(dpf_set_insert(s, 7, &src, &p), 0);
	assert_int_equal(dpf_set_place(s, &dst, &p), -EBUSY);
	assert_int_equal(p, 7);
	assert_int_equal(dpf_set_insert(s, 8, &dst, &p), -EBUSY);
	assert_int_equal(p, 7);
	assert_int_equal(dpf_set_count(s), 1);
	/* a /24 inside the installed one is fine, a disjoint /24 too */
	dpf_filter_init(&other);
	dpf_match_ipv4(&other);
	dpf_match_ipv4_src(&other, IP(10, 1, 2, 128), 25);
	assert_int_equal(dpf_set_insert(s, 9, &other, &p), 0);
	assert_int_equal(p, 7);
	dpf_filter_init(&other);
	dpf_match_ipv4(&other);
	dpf_match_ipv4_src(&other, IP(10, 1, 3, 0), 24);
	assert_int_equal(dpf_set_insert(s, 10, &other, &p), 0);
	assert_int_equal(p, 0);
	/* a /16 covering both moves them under it; the /25 stays under its /24 */
	dpf_filter_init(&other);
	dpf_match_ipv4(&other);
	dpf_match_ipv4_src(&other, IP(10, 1, 0, 0), 16);
	assert_int_equal(dpf_set_insert(s, 11, &other, &p), 0);
	assert_int_equal(p, 0);
	assert_int_equal(dpf_set_parent(s, 7), 11);
	assert_int_equal(dpf_set_parent(s, 10), 11);
	assert_int_equal(dpf_set_parent(s, 9), 7);
	/* busy below the root too: dst /24 inside the /16 overlaps the src /24 */
	dpf_match_ipv4_dst(&other, IP(10, 1, 2, 0), 24);
	assert_int_equal(dpf_set_place(s, &other, &p), -EBUSY);
	assert_true(p == 7 || p == 10);
	dpf_set_free(s);
}

struct walk_rec {
	uint32_t id[16], parent[16];
	int depth[16];
	bool copy[16];
	int n;
};

static void record(uint32_t id, uint32_t parent, int depth, bool copy, const struct dpf_filter *f,
		   void *arg)
{
	struct walk_rec *w = arg;

	(void)f;
	if (w->n < 16) {
		w->id[w->n] = id;
		w->parent[w->n] = parent;
		w->depth[w->n] = depth;
		w->copy[w->n] = copy;
	}
	w->n++;
}

static void test_reparent(void **state)
{
	struct dpf_set *s = dpf_set_new();
	struct dpf_filter f;
	struct walk_rec w = {0};
	uint32_t p;
	(void)state;

	/* connections first, then their listener, then strayd's catch-all, then ARP */
	assert_int_equal(insert(s, 10, conn(80, 1), &p), 0);
	assert_int_equal(insert(s, 11, conn(80, 2), &p), 0);
	assert_int_equal(insert(s, 12, conn(81, 1), &p), 0);
	assert_int_equal(insert(s, 1, tcp(80), &p), 0);
	assert_int_equal(p, 0);
	assert_int_equal(dpf_set_parent(s, 10), 1);
	assert_int_equal(dpf_set_parent(s, 11), 1);
	assert_int_equal(dpf_set_parent(s, 12), 0);
	dpf_filter_all_ipv4(&f);
	assert_int_equal(dpf_set_insert(s, 100, &f, &p), 0);
	assert_int_equal(p, 0);
	assert_int_equal(dpf_set_parent(s, 1), 100);
	assert_int_equal(dpf_set_parent(s, 12), 100);
	assert_int_equal(dpf_set_parent(s, 10), 1);
	dpf_filter_init(&f);
	dpf_match_arp(&f);
	assert_int_equal(dpf_set_insert(s, 200, &f, &p), 0);
	assert_int_equal(p, 0);
	/* another connection now lands two levels down */
	assert_int_equal(insert(s, 13, conn(80, 3), &p), 0);
	assert_int_equal(p, 1);
	/* the everything filter goes above all of them */
	dpf_filter_everything(&f);
	assert_int_equal(dpf_set_insert(s, 300, &f, &p), 0);
	assert_int_equal(dpf_set_parent(s, 100), 300);
	assert_int_equal(dpf_set_parent(s, 200), 300);
	assert_int_equal(dpf_set_insert_copy(s, 400, &f), 0);
	dpf_set_walk(s, record, &w);
	assert_int_equal(w.n, 9);
	/* parents before children, copies last */
	for (int i = 0; i < w.n; i++) {
		bool seen = w.parent[i] == 0;

		for (int j = 0; j < i; j++)
			seen |= w.id[j] == w.parent[i];
		assert_true(seen);
		assert_int_equal(w.copy[i], i == w.n - 1);
	}
	assert_int_equal(w.id[0], 300);
	assert_int_equal(w.depth[0], 0);
	for (int i = 0; i < w.n; i++)
		if (w.id[i] == 13)
			assert_int_equal(w.depth[i], 3);
	/* deleting a middle level keeps the grandchildren */
	assert_int_equal(dpf_set_delete(s, 100), 0);
	assert_int_equal(dpf_set_parent(s, 1), 300);
	assert_int_equal(dpf_set_parent(s, 12), 300);
	assert_int_equal(dpf_set_parent(s, 13), 1);
	dpf_set_free(s);
}

static void test_copy_slots(void **state)
{
	struct dpf_set *s = dpf_set_new();
	struct dpf_filter f = tcp(80);
	(void)state;

	for (int i = 0; i < DPF_MAX_COPY; i++)
		assert_int_equal(dpf_set_insert_copy(s, 1000 + i, &f), i);
	assert_int_equal(dpf_set_insert_copy(s, 2000, &f), -ENOSPC);
	assert_int_equal(dpf_set_insert_copy(s, 1005, &f), -EEXIST);
	assert_int_equal(dpf_set_insert_copy(s, 0, &f), -EINVAL);
	assert_int_equal(dpf_set_copy_slot(s, 1063), 63);
	assert_int_equal(dpf_set_delete(s, 1007), 0);
	assert_int_equal(dpf_set_copy_slot(s, 1007), -ENOENT);
	assert_int_equal(dpf_set_insert_copy(s, 2000, &f), 7);
	/* copy filters overlap anything, tree filters ignore them */
	assert_int_equal(dpf_set_insert(s, 1, &f, NULL), 0);
	assert_int_equal(dpf_set_copy_slot(s, 1), -ENOENT);
	assert_int_equal(dpf_set_insert(s, 1000, &f, NULL), -EINVAL); /* id taken by a copy */
	assert_int_equal(dpf_set_count(s), DPF_MAX_COPY + 1);
	f.atoms[0].mask = 0x1ffff;
	assert_int_equal(dpf_set_delete(s, 1000), 0);
	assert_int_equal(dpf_set_insert_copy(s, 3000, &f), -EINVAL);
	dpf_set_free(s);
}

static void test_interpret(void **state)
{
	struct dpf_set *s = dpf_set_new();
	struct dpf_filter f;
	struct dpf_result r;
	uint8_t buf[256];
	struct frame_spec fs = {.ethertype = 0x0800,
				.ihl = 5,
				.proto = 6,
				.src = PEER,
				.dst = LOCAL,
				.sport = 5000,
				.dport = 80,
				.len = 60};
	size_t len;
	(void)state;

	assert_int_equal(insert(s, 1, tcp(80), NULL), 0);
	assert_int_equal(insert(s, 2, conn(80, 5000), NULL), 0);
	dpf_filter_all_ipv4(&f);
	assert_int_equal(dpf_set_insert(s, 3, &f, NULL), 0);
	assert_int_equal(dpf_set_insert_copy(s, 4, &f), 0);
	dpf_filter_everything(&f);
	assert_int_equal(dpf_set_insert_copy(s, 5, &f), 1);

	len = frame_build(buf, sizeof(buf), &fs);
	dpf_interpret(s, buf, len, &r);
	assert_int_equal(r.filter_id, 2);
	assert_int_equal(r.copy_mask, 3);
	fs.sport = 5001; /* listener */
	len = frame_build(buf, sizeof(buf), &fs);
	dpf_interpret(s, buf, len, &r);
	assert_int_equal(r.filter_id, 1);
	fs.ihl = 15; /* options: the ports move */
	len = frame_build(buf, sizeof(buf), &fs);
	assert_int_equal(len, 60);
	dpf_interpret(s, buf, len, &r); /* 74 + 4 > 60: ports beyond the frame */
	assert_int_equal(r.filter_id, 3);
	fs.len = 78;
	len = frame_build(buf, sizeof(buf), &fs);
	dpf_interpret(s, buf, len, &r);
	assert_int_equal(r.filter_id, 1);
	dpf_interpret(s, buf, 77, &r); /* one byte short */
	assert_int_equal(r.filter_id, 3);
	fs.ethertype = 0x0806;
	len = frame_build(buf, sizeof(buf), &fs);
	dpf_interpret(s, buf, len, &r);
	assert_int_equal(r.filter_id, 0);
	assert_int_equal(r.copy_mask, 2);
	dpf_interpret(s, buf, 0, &r);
	assert_int_equal(r.filter_id, 0);
	assert_int_equal(r.copy_mask, 2);
	dpf_set_free(s);
}

/* ---- placement against brute force (exercises the children index) ---- */

struct snap {
	uint32_t n;
	uint32_t *id, *parent;
	struct dpf_filter *f;
};

static void snap_visit(uint32_t id, uint32_t parent, int depth, bool copy,
		       const struct dpf_filter *f, void *arg)
{
	struct snap *sn = arg;

	(void)depth;
	if (copy)
		return;
	sn->id[sn->n] = id;
	sn->parent[sn->n] = parent;
	sn->f[sn->n] = *f;
	sn->n++;
}

/* dpf_set_place by definition: descend into the child f refines, scanning every child. */
static int brute_place(const struct snap *sn, const struct dpf_filter *f, uint32_t *out)
{
	uint32_t level = 0;

	for (;;) {
		uint32_t down = 0, ambiguous = 0;

		for (uint32_t i = 0; i < sn->n && !down; i++) {
			if (sn->parent[i] != level)
				continue;
			switch (dpf_relate(f, &sn->f[i])) {
			case DPF_REL_EQUAL:
				*out = sn->id[i];
				return -EEXIST;
			case DPF_REL_REFINES:
				down = sn->id[i];
				break;
			case DPF_REL_AMBIGUOUS:
				ambiguous = ambiguous ? ambiguous : sn->id[i];
				break;
			default:
				break;
			}
		}
		if (down) {
			level = down;
			continue;
		}
		*out = ambiguous ? ambiguous : level;
		return ambiguous ? -EBUSY : 0;
	}
}

/* Many siblings of a few shapes, so that levels get big enough to be indexed. */
static void crowd_filter(struct rng *r, struct dpf_filter *f)
{
	static const uint32_t locals[] = {0, LOCAL, LOCAL + 1, LOCAL + 2};
	unsigned k = rng_below(r, 100);

	if (k < 30) {
		dpf_filter_tcp_port(f, locals[rng_below(r, 4)], (uint16_t)rng_below(r, 3000));
	} else if (k < 45) {
		dpf_filter_udp_port(f, locals[rng_below(r, 4)], (uint16_t)rng_below(r, 3000));
	} else if (k < 70) {
		dpf_filter_tcp_4tuple(f, locals[rng_below(r, 4)], (uint16_t)rng_below(r, 40),
				      IP(10, 0, rng_below(r, 4), rng_below(r, 256)),
				      (uint16_t)rng_below(r, 2000));
	} else if (k < 85) {
		dpf_filter_init(f);
		dpf_match_ipv4(f);
		dpf_match_ipv4_proto(f, rng_chance(r, 50) ? 47 : 1);
		dpf_match_ipv4_src(f, (uint32_t)rng_next(r), (uint8_t)(8 + rng_below(r, 25)));
	} else if (k < 90) {
		dpf_filter_tcp_port(f, 0, (uint16_t)rng_below(r, 40)); /* listeners */
	} else {
		gen_filter(r, f);
	}
}

static void check_invariants(const struct snap *sn)
{
	for (uint32_t i = 0; i < sn->n; i++) {
		for (uint32_t j = 0; j < sn->n; j++) {
			if (sn->id[j] == sn->parent[i] &&
			    dpf_relate(&sn->f[i], &sn->f[j]) != DPF_REL_REFINES)
				fail_msg("filter %u does not refine its parent %u", sn->id[i],
					 sn->id[j]);
			if (j > i && sn->parent[i] == sn->parent[j] &&
			    dpf_relate(&sn->f[i], &sn->f[j]) != DPF_REL_DISJOINT)
				fail_msg("siblings %u and %u: %s", sn->id[i], sn->id[j],
					 dpf_relation_name(dpf_relate(&sn->f[i], &sn->f[j])));
		}
	}
}

static void test_index_placement(void **state)
{
	uint64_t seed = test_seed("index placement");
	enum { N = 1500 };
	struct snap sn = {0};
	(void)state;

	sn.id = calloc(N, sizeof(*sn.id));
	sn.parent = calloc(N, sizeof(*sn.parent));
	sn.f = calloc(N, sizeof(*sn.f));
	assert_non_null(sn.f);
	for (int round = 0; round < 3; round++) {
		struct rng r = {seed + (uint64_t)round};
		struct dpf_set *s = dpf_set_new();
		uint32_t next = 1;

		for (int i = 0; i < N; i++) {
			struct dpf_filter f;
			uint32_t want_p = 0, got_p = 0;
			int want, got;

			crowd_filter(&r, &f);
			if (i % 7 == 0) {
				sn.n = 0;
				dpf_set_walk(s, snap_visit, &sn);
				want = brute_place(&sn, &f, &want_p);
				got = dpf_set_place(s, &f, &got_p);
				if (got == -EINVAL && dpf_relate(&f, &f) == DPF_REL_DISJOINT)
					continue; /* contradictory: refused, never placed */
				if (want != got || (want != -EBUSY && want_p != got_p))
					fail_msg(
					    "place: %d/%u, brute force %d/%u (seed %llu round %d "
					    "step %d)",
					    got, got_p, want, want_p, (unsigned long long)seed,
					    round, i);
			}
			dpf_set_insert(s, next++, &f, NULL);
			if (rng_chance(&r, 10))
				dpf_set_delete(s, 1 + rng_below(&r, next - 1));
		}
		sn.n = 0;
		dpf_set_walk(s, snap_visit, &sn);
		assert_true(sn.n > 100);
		check_invariants(&sn);
		dpf_set_free(s);
	}
	free(sn.id);
	free(sn.parent);
	free(sn.f);
}

/* Instructions generated for s (merged), or a test failure. */
static size_t gen_len(struct dpf_set *s)
{
	struct dpf_codegen_opts o = {.sz = sizeof(o), .xsk_map_fd = -1};
	struct dpf_prog p;
	size_t n;

	assert_int_equal(dpf_codegen(s, &o, &p), 0);
	n = p.ninsns;
	dpf_prog_free(&p);
	return n;
}

/* Deleting filters shrinks the merged program again: after removing 255 of 256 port
 * filters it is exactly the program of a set that only ever held the survivor. */
static void test_delete_shrinks_program(void **state)
{
	struct dpf_set *big = dpf_set_new(), *one = dpf_set_new();
	struct dpf_filter f;
	uint32_t parent;
	size_t full;

	(void)state;
	for (uint32_t i = 0; i < 256; i++) {
		dpf_filter_init(&f);
		assert_int_equal(dpf_filter_tcp_port(&f, 0xc6120001, (uint16_t)(1000 + i)), 0);
		assert_int_equal(dpf_set_insert(big, i + 1, &f, &parent), 0);
		if (i == 77)
			assert_int_equal(dpf_set_insert(one, i + 1, &f, &parent), 0);
	}
	full = gen_len(big);
	for (uint32_t i = 0; i < 256; i++)
		if (i != 77)
			assert_int_equal(dpf_set_delete(big, i + 1), 0);
	assert_int_equal(dpf_set_count(big), 1);
	assert_int_equal(gen_len(big), gen_len(one));
	assert_true(gen_len(big) * 10 < full);
	dpf_set_free(big);
	dpf_set_free(one);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_insert_place_delete),
	    cmocka_unit_test(test_busy),
	    cmocka_unit_test(test_reparent),
	    cmocka_unit_test(test_copy_slots),
	    cmocka_unit_test(test_interpret),
	    cmocka_unit_test(test_index_placement),
	    cmocka_unit_test(test_delete_shrinks_program),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
