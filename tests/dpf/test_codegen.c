/* test_codegen.c - the generated eBPF against the reference interpreter (needs root)
 *
 * Every program runs through BPF_PROG_TEST_RUN; the result it prepends to the frame must
 * name the same filter and copy mask as dpf_interpret, in merged and in linear mode, and
 * with exact-match tables while filters come and go without a new program.  The interpreter itself is checked against the tree
 * invariant: the tree filters a frame matches are exactly the result and its ancestors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "xok/dpf.h"
#include "dpf_gen.h"
#include "dpf_test_util.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

/* ---- the tree invariant, via dpf_set_walk ---- */

struct flat {
	uint32_t n;
	uint32_t id[2048], parent[2048];
	struct dpf_filter f[2048];
};

static void flatten(uint32_t id, uint32_t parent, int depth, bool copy, const struct dpf_filter *f,
		    void *arg)
{
	struct flat *fl = arg;

	(void)depth;
	if (copy)
		return;
	if (fl->n >= 2048)
		abort(); /* the check below needs every filter */
	fl->id[fl->n] = id;
	fl->parent[fl->n] = parent;
	fl->f[fl->n] = *f;
	fl->n++;
}

static bool is_ancestor_or_self(const struct flat *fl, uint32_t a, uint32_t id)
{
	while (id) {
		uint32_t i;

		if (id == a)
			return true;
		for (i = 0; i < fl->n && fl->id[i] != id; i++)
			;
		if (i == fl->n)
			return false;
		id = fl->parent[i];
	}
	return false;
}

/* Returns false (after printing) when a matching filter is not on the result's path. */
static bool check_invariant(const struct flat *fl, const struct dpf_set *s, const uint8_t *frame,
			    size_t len, uint32_t result)
{
	(void)s;
	for (uint32_t i = 0; i < fl->n; i++) {
		struct dpf_set *one = dpf_set_new();
		struct dpf_result r;
		bool match;

		dpf_set_insert(one, 1, &fl->f[i], NULL);
		dpf_interpret(one, frame, len, &r);
		match = r.filter_id == 1;
		dpf_set_free(one);
		if (match != is_ancestor_or_self(fl, fl->id[i], result)) {
			fprintf(stderr, "tree invariant: filter %u %s but the result is %u\n",
				fl->id[i], match ? "matches" : "does not match", result);
			return false;
		}
	}
	return true;
}

static void dump_frame(const uint8_t *frame, size_t len)
{
	fprintf(stderr, "frame (%zu bytes):", len);
	for (size_t i = 0; i < len && i < 96; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n  ", frame[i]);
	fprintf(stderr, "\n");
}

static void dump_set(uint32_t id, uint32_t parent, int depth, bool copy, const struct dpf_filter *f,
		     void *arg)
{
	(void)arg;
	fprintf(stderr, "%*s%s %u (parent %u):", 2 * depth, "", copy ? "copy" : "filter", id,
		parent);
	for (uint32_t i = 0; i < f->natoms; i++) {
		const struct dpf_atom *a = &f->atoms[i];

		if (a->kind == DPF_ATOM_SHIFT)
			fprintf(stderr, " [shift @%u/%u &%x <<%u +%u]", a->offset, a->width,
				a->mask, a->shift, a->add);
		else
			fprintf(stderr, " [@%u/%u &%x =%x]", a->offset, a->width, a->mask,
				a->value);
	}
	fprintf(stderr, "\n");
}

/* Runs frame through the programs (merged, then linear if nfd is 2); returns false (after
 * printing) on any disagreement. */
static bool check_frames(const struct dpf_set *s, const int *fd, int nfd,
			 enum dpf_unmatched unmatched, const uint8_t *frame, size_t len,
			 const struct flat *fl)
{
	struct dpf_result want, got;
	uint32_t retval, want_ret;

	dpf_interpret(s, frame, len, &want);
	want_ret = (want.filter_id || want.copy_mask || unmatched == DPF_UNMATCHED_PASS) ? XDP_PASS
											 : XDP_DROP;
	for (int m = 0; m < nfd; m++) {
		int err = prog_run(fd[m], frame, len, &got, &retval);

		if (err || retval != want_ret || got.filter_id != want.filter_id ||
		    got.copy_mask != want.copy_mask) {
			fprintf(
			    stderr,
			    "%s mode: err %d, ret %u id %u copy %#llx; interpreter: ret %u id %u "
			    "copy %#llx\n",
			    m ? "linear" : "merged", err, retval, got.filter_id,
			    (unsigned long long)got.copy_mask, want_ret, want.filter_id,
			    (unsigned long long)want.copy_mask);
			dump_frame(frame, len);
			dpf_set_walk(s, dump_set, NULL);
			return false;
		}
	}
	if (fl && !check_invariant(fl, s, frame, len, want.filter_id)) {
		dump_frame(frame, len);
		dpf_set_walk(s, dump_set, NULL);
		return false;
	}
	return true;
}

static bool check_frame(const struct dpf_set *s, const int fd[2], enum dpf_unmatched unmatched,
			const uint8_t *frame, size_t len, const struct flat *fl)
{
	return check_frames(s, fd, 2, unmatched, frame, len, fl);
}

/* Generates and loads the merged and the linear program, then commits (tables). */
static void load_both(struct dpf_set *s, enum dpf_unmatched unmatched, int fd[2],
		      const char *what)
{
	fd[0] = set_load(s, false, unmatched, NULL);
	fd[1] = set_load(s, true, unmatched, NULL);
	if (fd[0] < 0 || fd[1] < 0) {
		dpf_set_walk(s, dump_set, NULL);
		fail_msg("load failed: merged %d, linear %d (%s)", fd[0], fd[1], what);
	}
	dpf_set_commit(s);
}

/*
 * With tables: filters come and go; while the set says the installed programs are still
 * current, the merged one (tables and all) must agree with the interpreter without being
 * regenerated; when it is not, both are regenerated.  Returns false on a disagreement.
 */
static bool mutate_and_check(struct rng *r, struct dpf_set *s, enum dpf_unmatched unmatched,
			     int fd[2], uint32_t *next_id, const struct dpf_filter *family,
			     const char *what, unsigned *fast)
{
	for (int op = 0; op < 12; op++) {
		struct dpf_filter f;
		int err;

		if (rng_chance(r, 30)) {
			gen_filter(r, &f);
			err = dpf_set_insert(s, (*next_id)++, &f, NULL);
		} else if (rng_chance(r, 60)) {
			gen_sibling(r, family, &f);
			err = dpf_set_insert(s, (*next_id)++, &f, NULL);
		} else {
			err = dpf_set_delete(s, 1 + rng_below(r, *next_id));
		}
		if (dpf_set_current(s)) {
			*fast += err == 0;
		} else {
			close(fd[0]);
			close(fd[1]);
			load_both(s, unmatched, fd, what);
		}
		for (int k = 0; k < 8; k++) {
			uint8_t frame[1600];
			size_t len = gen_frame(r, frame, sizeof(frame));

			if (!check_frames(s, fd, 1, unmatched, frame, len, NULL))
				return false;
		}
	}
	return true;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- tests ---- */

static void test_differential(void **state)
{
	const char *env = getenv("DPF_TEST_ITERS");
	const char *only = getenv("DPF_TEST_ITER"); /* replay one iteration */
	unsigned iters = env ? (unsigned)atoi(env) : 5000, done = 0, frames = 0, tabled = 0;
	unsigned fast = 0;
	uint64_t seed = test_seed("differential");
	double start = now_s(), budget = env ? 1e9 : 30.0;
	static struct flat fl;
	(void)state;

	for (unsigned it = 0; it < iters && now_s() - start < budget; it++) {
		struct rng r = {seed ^ (0x9e3779b97f4a7c15ull * (it + 1))};
		char what[96];
		struct dpf_set *s = dpf_set_new();
		enum dpf_unmatched unmatched =
		    rng_chance(&r, 50) ? DPF_UNMATCHED_PASS : DPF_UNMATCHED_DROP;
		uint32_t next_id = 1 + (rng_chance(&r, 10) ? 0x7ffffff0u : 0);
		int fd[2];

		unsigned nf = it % 50 == 49 ? 300 : it % 4 == 3 ? 60 : 16;

		if (only && (unsigned)atoi(only) != it) {
			dpf_set_free(s);
			continue;
		}
		struct dpf_filter family;

		dpf_set_tables(s, it % 2); /* half the sets with exact-match tables, and a family */
		gen_set(&r, s, 1 + rng_below(&r, nf), rng_below(&r, it % 10 == 9 ? 64 : 4),
			&next_id);
		if (it % 2)
			gen_family(&r, s, 1 + rng_below(&r, 12), &next_id, &family);
		fl.n = 0;
		dpf_set_walk(s, flatten, &fl);
		snprintf(what, sizeof(what), "DPF_TEST_SEED=%llu DPF_TEST_ITER=%u",
			 (unsigned long long)seed, it);
		load_both(s, unmatched, fd, what);
		for (int k = 0; k < 24; k++) {
			uint8_t frame[1600];
			size_t len = gen_frame(&r, frame, sizeof(frame));

			if (!check_frame(s, fd, unmatched, frame, len, k < 8 ? &fl : NULL))
				fail_msg("disagreement: %s", what);
			frames++;
		}
		tabled += dpf_set_tabled(s) > 0;
		if (it % 2 &&
		    !mutate_and_check(&r, s, unmatched, fd, &next_id, &family, what, &fast))
			fail_msg("disagreement after changes: %s", what);
		close(fd[0]);
		close(fd[1]);
		dpf_set_free(s);
		done++;
	}
	fprintf(stderr,
		"differential: %u filter sets (%u with tables), %u frames, %u changes served "
		"by tables, %.1f s\n",
		done, tabled, frames, fast, now_s() - start);
	assert_true(done >= (only ? 1u : 200u));
	assert_true(only || (tabled > 0 && fast > 0));
}

/* Realistic filters against hand-made frames: every IHL, every truncation. */
static void test_crafted(void **state)
{
	struct dpf_set *s = dpf_set_new();
	struct dpf_filter f;
	uint32_t id = 1;
	int fd[2];
	(void)state;

	dpf_filter_init(&f);
	dpf_match_arp(&f);
	assert_int_equal(dpf_set_insert(s, id++, &f, NULL), 0);
	dpf_filter_all_ipv4(&f);
	assert_int_equal(dpf_set_insert(s, id++, &f, NULL), 0);
	for (uint16_t p = 1; p <= 8; p++) {
		dpf_filter_tcp_port(&f, 0, p);
		assert_int_equal(dpf_set_insert(s, id++, &f, NULL), 0);
		dpf_filter_udp_port(&f, IP(10, 0, 0, 1), p);
		assert_int_equal(dpf_set_insert(s, id++, &f, NULL), 0);
		dpf_filter_tcp_4tuple(&f, 0, p, IP(10, 0, 0, 2), 1000 + p);
		assert_int_equal(dpf_set_insert(s, id++, &f, NULL), 0);
	}
	dpf_filter_init(&f);
	dpf_match_ipv4(&f);
	dpf_match_ipv4_proto(&f, 1);
	dpf_match_ipv4_src(&f, IP(10, 0, 0, 0), 24);
	assert_int_equal(dpf_set_insert(s, id++, &f, NULL), 0);
	dpf_filter_tcp_port(&f, 0, 3);
	assert_int_equal(dpf_set_insert_copy(s, id++, &f), 0);
	dpf_filter_everything(&f);
	assert_int_equal(dpf_set_insert_copy(s, id++, &f), 1);
	load_both(s, DPF_UNMATCHED_DROP, fd, "crafted");
	for (int ihl = 0; ihl < 16; ihl++) {
		for (int proto = 0; proto < 3; proto++) {
			struct frame_spec fs = {.ethertype = 0x0800,
						.ihl = (uint8_t)ihl,
						.proto = (uint8_t[]){6, 17, 1}[proto],
						.src = IP(10, 0, 0, 2),
						.dst = IP(10, 0, 0, 1),
						.sport = 1003,
						.dport = 3};
			uint8_t frame[1600];
			size_t full = 14 + 4 * (size_t)ihl + 8;

			for (size_t len = 14; len <= full + 2; len++) {
				fs.len = len;
				frame_build(frame, sizeof(frame), &fs);
				if (!check_frame(s, fd, DPF_UNMATCHED_DROP, frame, len, NULL))
					fail_msg("crafted: ihl %d proto %d len %zu", ihl, proto,
						 len);
			}
		}
	}
	for (uint32_t et = 0x0000; et < 0x10000; et += 0x0101) {
		struct frame_spec fs = {
		    .ethertype = (uint16_t)et, .ihl = 5, .proto = 6, .dport = 3, .len = 60};
		uint8_t frame[64];

		frame_build(frame, sizeof(frame), &fs);
		assert_true(check_frame(s, fd, DPF_UNMATCHED_DROP, frame, 60, NULL));
	}
	close(fd[0]);
	close(fd[1]);
	dpf_set_free(s);
}

/* Large ids, high copy slots, the XSKMAP redirect path and the unmatched actions. */
static void test_metadata(void **state)
{
	struct dpf_set *s = dpf_set_new();
	struct dpf_codegen_opts o = {.sz = sizeof(o), .xsk_map_fd = -1};
	struct dpf_filter f;
	struct dpf_result res;
	struct dpf_prog p;
	struct frame_spec fs = {.ethertype = 0x0800, .ihl = 5, .proto = 6, .dport = 80, .len = 64};
	uint8_t frame[64];
	uint32_t ret;
	int fd, xsk;
	(void)state;

	frame_build(frame, sizeof(frame), &fs);
	dpf_filter_tcp_port(&f, 0, 80);
	assert_int_equal(dpf_set_insert(s, 0xfffffffeu, &f, NULL), 0);
	for (int i = 0; i < DPF_MAX_COPY; i++) {
		dpf_filter_tcp_port(&f, 0, (i % 3) ? 80 : 81);
		assert_int_equal(dpf_set_insert_copy(s, 100 + i, &f), i);
	}
	fd = set_load(s, false, DPF_UNMATCHED_DROP, NULL);
	assert_true(fd >= 0);
	assert_int_equal(prog_run(fd, frame, 64, &res, &ret), 0);
	assert_int_equal(ret, XDP_PASS);
	assert_int_equal(res.filter_id, 0xfffffffeu);
	assert_true(res.copy_mask == 0x6db6db6db6db6db6ull); /* slots not divisible by 3 */
	close(fd);
	/* only copies match: still metadata, id 0 */
	assert_int_equal(dpf_set_delete(s, 0xfffffffeu), 0);
	fd = set_load(s, true, DPF_UNMATCHED_DROP, NULL);
	assert_true(fd >= 0);
	assert_int_equal(prog_run(fd, frame, 64, &res, &ret), 0);
	assert_int_equal(ret, XDP_PASS);
	assert_int_equal(res.filter_id, 0);
	assert_true(res.copy_mask == 0x6db6db6db6db6db6ull);
	close(fd);
	/* nothing matches: the unmatched action, no metadata */
	fs.dport = 82;
	frame_build(frame, sizeof(frame), &fs);
	for (int u = 0; u < 2; u++) {
		fd = set_load(s, u, u ? DPF_UNMATCHED_PASS : DPF_UNMATCHED_DROP, NULL);
		assert_true(fd >= 0);
		assert_int_equal(prog_run(fd, frame, 64, &res, &ret), 0);
		assert_int_equal(ret, u ? XDP_PASS : XDP_DROP);
		assert_int_equal(res.filter_id, 0);
		assert_int_equal(res.copy_mask, 0);
		close(fd);
	}
	/* with an XSKMAP: the empty map falls back to XDP_PASS, metadata written */
	xsk = bpf_map_create(BPF_MAP_TYPE_XSKMAP, "xok_test_xsk", 4, 4, 4, NULL);
	assert_true(xsk >= 0);
	fs.dport = 80;
	frame_build(frame, sizeof(frame), &fs);
	o.xsk_map_fd = xsk;
	assert_int_equal(dpf_codegen(s, &o, &p), 0);
	fd = dpf_prog_load(&p, NULL, 0);
	dpf_prog_free(&p);
	assert_true(fd >= 0);
	assert_int_equal(prog_run(fd, frame, 64, &res, &ret), 0);
	assert_int_equal(ret, XDP_PASS);
	assert_true(res.copy_mask == 0x6db6db6db6db6db6ull);
	close(fd);
	close(xsk);
	/* the empty set */
	dpf_set_free(s);
	s = dpf_set_new();
	fd = set_load(s, false, DPF_UNMATCHED_DROP, NULL);
	assert_true(fd >= 0);
	assert_int_equal(prog_run(fd, frame, 64, &res, &ret), 0);
	assert_int_equal(ret, XDP_DROP);
	close(fd);
	/* options: bad size, bad action */
	o.sz = 2;
	assert_int_equal(dpf_codegen(s, &o, &p), -EINVAL);
	o.sz = sizeof(o);
	o.unmatched = 7;
	assert_int_equal(dpf_codegen(s, &o, &p), -EINVAL);
	assert_int_equal(dpf_codegen(s, NULL, &p), 0);
	dpf_prog_free(&p);
	dpf_set_free(s);
}

/* Swapping programs through a prog array slot, as xokd does. */
static void test_install(void **state)
{
	struct dpf_set *s = dpf_set_new();
	int pa, fd;
	uint32_t key = DPF_PROG_SLOT;
	LIBBPF_OPTS(bpf_map_create_opts, mo);
	(void)state;

	pa = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "xok_test_pa", 4, 4, 1, &mo);
	assert_true(pa >= 0);
	fd = set_load(s, false, DPF_UNMATCHED_PASS, NULL);
	assert_true(fd >= 0);
	assert_int_equal(dpf_prog_install(pa, fd), 0);
	assert_int_equal(bpf_map_delete_elem(pa, &key), 0);
	assert_true(dpf_prog_install(-1, fd) < 0);
	close(fd);
	close(pa);
	dpf_set_free(s);
}

/* A broken program is refused and the verifier log comes back. */
static void test_load_errors(void **state)
{
	struct bpf_insn bad[] = {{.code = BPF_JMP | BPF_EXIT}}; /* r0 never written */
	struct dpf_prog p = {bad, 1};
	char log[4096];
	(void)state;

	assert_true(dpf_prog_load(&p, log, sizeof(log)) < 0);
	assert_non_null(strstr(log, "R0"));
	assert_int_equal(dpf_prog_load(NULL, NULL, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_metadata),	 cmocka_unit_test(test_install),
	    cmocka_unit_test(test_load_errors),	 cmocka_unit_test(test_crafted),
	    cmocka_unit_test(test_differential),
	};

	if (!have_bpf())
		return TEST_SKIP;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
