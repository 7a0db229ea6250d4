/* test_tables.c - exact-match tables: connection filters in BPF hash maps (needs root)
 *
 * A listener with connections under it and active opens under the catch-all: the program
 * serves the connections from tables, and it keeps classifying exactly as the interpreter
 * while connections come and go without a new program (dpf_set_current stays true); a
 * structural change (a member refined, a table's parent deleted) makes the set stale until
 * the next program, which then agrees again; tables off, everything is back in the trie.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/bpf.h>

#include "xok/dpf.h"
#include "dpf_gen.h"
#include "dpf_test_util.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))
#define LOCAL	       IP(198, 18, 0, 1)
#define NCONN	       60

struct fixture {
	struct dpf_set *s;
	uint32_t arp, all, listener;
	uint32_t passive[NCONN + 40]; /* ids of connections under the listener */
	uint32_t active[NCONN];	      /* ... under the catch-all */
	uint32_t next_id;
	int fd; /* the installed program */
};

static struct frame_spec passive_frame(unsigned i)
{
	return (struct frame_spec){.ethertype = 0x0800, .ihl = 5, .proto = 6,
				   .src = IP(10, 0, i / 256, i % 256), .dst = LOCAL,
				   .sport = (uint16_t)(40000 + i), .dport = 80, .len = 60};
}

static struct frame_spec active_frame(unsigned i)
{
	return (struct frame_spec){.ethertype = 0x0800, .ihl = 5, .proto = 6,
				   .src = IP(10, 9, 9, 9), .dst = LOCAL, .sport = 80,
				   .dport = (uint16_t)(32768 + i), .len = 60};
}

static uint32_t insert(struct fixture *fx, const struct dpf_filter *f)
{
	uint32_t id = fx->next_id++;

	assert_int_equal(dpf_set_insert(fx->s, id, f, NULL), 0);
	return id;
}

static uint32_t insert_passive(struct fixture *fx, unsigned i)
{
	struct frame_spec fs = passive_frame(i);
	struct dpf_filter f;

	dpf_filter_tcp_4tuple(&f, LOCAL, 80, fs.src, fs.sport);
	return insert(fx, &f);
}

static uint32_t insert_active(struct fixture *fx, unsigned i)
{
	struct frame_spec fs = active_frame(i);
	struct dpf_filter f;

	dpf_filter_tcp_4tuple(&f, LOCAL, fs.dport, fs.src, 80);
	return insert(fx, &f);
}

/* A new program for the set, installed in place of the old one. */
static void regenerate(struct fixture *fx)
{
	if (fx->fd >= 0)
		close(fx->fd);
	fx->fd = set_load(fx->s, false, DPF_UNMATCHED_PASS, NULL);
	assert_true(fx->fd >= 0);
	dpf_set_commit(fx->s);
	assert_true(dpf_set_current(fx->s));
}

/* The installed program and the interpreter agree on spec's frame; returns the id. */
static uint32_t classify(struct fixture *fx, const struct frame_spec *spec)
{
	struct dpf_result want, got;
	uint8_t frame[128];
	size_t len = frame_build(frame, sizeof(frame), spec);
	uint32_t ret;

	dpf_interpret(fx->s, frame, len, &want);
	assert_int_equal(prog_run(fx->fd, frame, len, &got, &ret), 0);
	if (got.filter_id != want.filter_id)
		fail_msg("program says filter %u, interpreter %u", got.filter_id, want.filter_id);
	return got.filter_id;
}

/* Random frames too: the program and the interpreter agree on every one. */
static void agree_random(struct fixture *fx, uint64_t seed)
{
	struct rng r = {seed};

	for (int k = 0; k < 300; k++) {
		struct dpf_result want, got;
		uint8_t frame[1600];
		size_t len = gen_frame(&r, frame, sizeof(frame));
		uint32_t ret;

		dpf_interpret(fx->s, frame, len, &want);
		assert_int_equal(prog_run(fx->fd, frame, len, &got, &ret), 0);
		assert_int_equal(got.filter_id, want.filter_id);
	}
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct dpf_filter f;

	fx->s = dpf_set_new();
	fx->next_id = 1;
	fx->fd = -1;
	dpf_set_tables(fx->s, true);
	dpf_filter_init(&f);
	dpf_match_arp(&f);
	fx->arp = insert(fx, &f);
	dpf_filter_all_ipv4(&f);
	fx->all = insert(fx, &f);
	dpf_filter_tcp_port(&f, LOCAL, 80);
	fx->listener = insert(fx, &f);
	for (unsigned i = 0; i < NCONN; i++) {
		fx->passive[i] = insert_passive(fx, i);
		fx->active[i] = insert_active(fx, i);
	}
	regenerate(fx);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx->fd >= 0)
		close(fx->fd);
	dpf_set_free(fx->s);
	free(fx);
	return 0;
}

static void test_members(void **state)
{
	struct fixture *fx = *state;
	struct frame_spec fs;

	assert_int_equal(dpf_set_tabled(fx->s), 2 * NCONN);
	for (unsigned i = 0; i < NCONN; i++) {
		fs = passive_frame(i);
		assert_int_equal(classify(fx, &fs), fx->passive[i]);
		fs = active_frame(i);
		assert_int_equal(classify(fx, &fs), fx->active[i]);
	}
	fs = passive_frame(NCONN + 5); /* a new client: the listener */
	assert_int_equal(classify(fx, &fs), fx->listener);
	fs = active_frame(NCONN + 5); /* nobody's port: the catch-all */
	assert_int_equal(classify(fx, &fs), fx->all);
	fs = passive_frame(3);
	fs.len = 14 + 20 + 3; /* too short for the ports: not a connection's */
	assert_int_equal(classify(fx, &fs), fx->all);
	agree_random(fx, 1);
}

/* Connections come and go without a new program. */
static void test_churn(void **state)
{
	struct fixture *fx = *state;
	struct frame_spec fs;

	for (unsigned i = NCONN; i < NCONN + 40; i++) {
		fx->passive[i] = insert_passive(fx, i);
		assert_true(dpf_set_current(fx->s));
		fs = passive_frame(i);
		assert_int_equal(classify(fx, &fs), fx->passive[i]);
	}
	for (unsigned i = 0; i < 10; i++) {
		assert_int_equal(dpf_set_delete(fx->s, fx->passive[i]), 0);
		assert_int_equal(dpf_set_delete(fx->s, fx->active[i]), 0);
		assert_true(dpf_set_current(fx->s));
		fs = passive_frame(i);
		assert_int_equal(classify(fx, &fs), fx->listener);
		fs = active_frame(i);
		assert_int_equal(classify(fx, &fs), fx->all);
	}
	assert_int_equal(dpf_set_tabled(fx->s), 2 * NCONN + 40 - 20);
	/* a deleted connection's 4-tuple can come back */
	fx->passive[0] = insert_passive(fx, 0);
	assert_true(dpf_set_current(fx->s));
	fs = passive_frame(0);
	assert_int_equal(classify(fx, &fs), fx->passive[0]);
	agree_random(fx, 2);
}

/* A member that gains a child leaves its table; the old program is exact until the new one
 * is in, and the stale entry goes at the commit. */
static void test_refined_member(void **state)
{
	struct fixture *fx = *state;
	struct frame_spec fs = passive_frame(20);
	struct dpf_filter f;
	size_t before = dpf_set_tabled(fx->s);
	uint32_t child;

	dpf_filter_init(&f);
	dpf_match_ipv4(&f);
	dpf_match_ipv4_proto(&f, 6);
	dpf_match_ipv4_dst(&f, LOCAL, 32);
	dpf_match_ipv4_src(&f, fs.src, 32);
	assert_int_equal(dpf_add_match(&f, 15, 1, 0xff, 0x10), 0); /* TOS */
	dpf_match_l4_sport(&f, fs.sport);
	dpf_match_l4_dport(&f, 80);
	child = insert(fx, &f);
	assert_int_equal(dpf_set_parent(fx->s, child), fx->passive[20]);
	assert_false(dpf_set_current(fx->s));
	regenerate(fx);
	assert_int_equal(dpf_set_tabled(fx->s), before - 1);
	assert_int_equal(classify(fx, &fs), fx->passive[20]);
	assert_int_equal(classify(fx, &fs), fx->passive[20]);
	{
		uint8_t frame[128];
		size_t len = frame_build(frame, sizeof(frame), &fs);
		struct dpf_result want, got;
		uint32_t ret;

		frame[15] = 0x10;
		dpf_interpret(fx->s, frame, len, &want);
		assert_int_equal(want.filter_id, child);
		assert_int_equal(prog_run(fx->fd, frame, len, &got, &ret), 0);
		assert_int_equal(got.filter_id, child);
	}
	/* the child goes again: the member is a leaf again, and back in its table */
	assert_int_equal(dpf_set_delete(fx->s, child), 0);
	assert_false(dpf_set_current(fx->s));
	regenerate(fx);
	assert_int_equal(dpf_set_tabled(fx->s), before);
	assert_int_equal(classify(fx, &fs), fx->passive[20]);
}

/* The listener goes: its connections move up to the catch-all and join the active opens'
 * table there (same shape at that level). */
static void test_parent_deleted(void **state)
{
	struct fixture *fx = *state;
	struct frame_spec fs;

	assert_int_equal(dpf_set_delete(fx->s, fx->listener), 0);
	assert_false(dpf_set_current(fx->s));
	regenerate(fx);
	assert_int_equal(dpf_set_tabled(fx->s), 2 * NCONN);
	for (unsigned i = 0; i < NCONN; i++) {
		fs = passive_frame(i);
		assert_int_equal(classify(fx, &fs), fx->passive[i]);
	}
	fs = passive_frame(NCONN + 7);
	assert_int_equal(classify(fx, &fs), fx->all);
	agree_random(fx, 3);
}

static void test_tables_off(void **state)
{
	struct fixture *fx = *state;
	struct frame_spec fs;

	dpf_set_tables(fx->s, false);
	assert_false(dpf_set_current(fx->s));
	assert_int_equal(dpf_set_tabled(fx->s), 0);
	regenerate(fx);
	for (unsigned i = 0; i < NCONN; i++) {
		fs = active_frame(i);
		assert_int_equal(classify(fx, &fs), fx->active[i]);
	}
	/* off: every insert needs a program */
	fx->passive[NCONN] = insert_passive(fx, NCONN);
	assert_false(dpf_set_current(fx->s));
}

/* Below DPF_TABLE_MIN members nothing is tabled; at it, a table appears. */
static void test_threshold(void **state)
{
	struct fixture fx = {.s = dpf_set_new(), .next_id = 1, .fd = -1};
	struct dpf_filter f;
	(void)state;

	dpf_set_tables(fx.s, true);
	dpf_filter_tcp_port(&f, LOCAL, 80);
	fx.listener = insert(&fx, &f);
	for (unsigned i = 0; i < DPF_TABLE_MIN - 1; i++)
		insert_passive(&fx, i);
	regenerate(&fx);
	assert_int_equal(dpf_set_tabled(fx.s), 0);
	insert_passive(&fx, DPF_TABLE_MIN);
	assert_false(dpf_set_current(fx.s)); /* no table to go into yet */
	regenerate(&fx);
	assert_int_equal(dpf_set_tabled(fx.s), DPF_TABLE_MIN);
	insert_passive(&fx, DPF_TABLE_MIN + 1);
	assert_true(dpf_set_current(fx.s));
	close(fx.fd);
	dpf_set_free(fx.s);
}

/* One client, one connection at a time: after DPF_TABLE_MIN of them the shape gets its
 * table anyway, and the next connections need no program. */
static void test_sequential(void **state)
{
	struct fixture fx = {.s = dpf_set_new(), .next_id = 1, .fd = -1};
	struct dpf_filter f;
	unsigned i, programs = 0;
	(void)state;

	dpf_set_tables(fx.s, true);
	dpf_filter_all_ipv4(&f);
	fx.all = insert(&fx, &f);
	regenerate(&fx);
	for (i = 0; i < 3 * DPF_TABLE_MIN; i++) {
		struct frame_spec fs = active_frame(i);
		uint32_t id = insert_active(&fx, i);

		if (!dpf_set_current(fx.s)) {
			regenerate(&fx);
			programs++;
		}
		assert_int_equal(classify(&fx, &fs), id);
		assert_int_equal(dpf_set_delete(fx.s, id), 0);
		if (!dpf_set_current(fx.s)) {
			regenerate(&fx);
			programs++;
		}
		assert_int_equal(classify(&fx, &fs), fx.all);
	}
	/* a program per insert and per delete until the table, then none */
	assert_true(programs <= 2 * DPF_TABLE_MIN);
	assert_true(dpf_set_current(fx.s));
	close(fx.fd);
	dpf_set_free(fx.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_members, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_churn, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refined_member, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parent_deleted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tables_off, setup, teardown),
	    cmocka_unit_test(test_threshold),
	    cmocka_unit_test(test_sequential),
	};

	if (!have_bpf())
		return TEST_SKIP;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
