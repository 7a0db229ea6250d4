/* test_cheetah_regmem.c - cheetah's registered-memory arenas, and its checksum unit conversion */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cheetah.h"
#include "cksum.h"
#include "param.h"

/* A malloc backing, page-aligned like the mapped regions it stands for, that counts arenas
 * and can be told to fail. */
struct fake {
	unsigned live, created, fail;
};

static int fake_create(void *ctx, size_t size, void **base, void **handle)
{
	struct fake *f = ctx;
	void *p;

	if (f->fail)
		return -ENOMEM;
	p = aligned_alloc(4096, (size + 4095) / 4096 * 4096);
	if (!p)
		return -ENOMEM;
	*base = *handle = p;
	f->live++;
	f->created++;
	return 0;
}

static void fake_destroy(void *ctx, void *handle)
{
	struct fake *f = ctx;

	f->live--;
	free(handle);
}

#define ARENA (1u << 20)

static struct regmem *mk(struct fake *f)
{
	struct regmem_backing b = {.create = fake_create, .destroy = fake_destroy, .ctx = f};
	struct regmem *m;

	assert_int_equal(regmem_create(&b, ARENA, &m), 0);
	return m;
}

/* Random sizes, random frees, every block filled: no overlap, everything comes back. */
static void test_random(void **state)
{
	enum { N = 2000 };
	static unsigned char *p[N];
	static size_t len[N];
	struct fake f = {0};
	struct regmem *m = mk(&f);
	unsigned seed = 1;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		int i = rand_r(&seed) % N;

		if (p[i]) {
			for (size_t k = 0; k < len[i]; k++)
				assert_int_equal(p[i][k], (unsigned char)i);
			regmem_free(m, p[i], len[i]);
			p[i] = NULL;
			continue;
		}
		len[i] = (size_t)(rand_r(&seed) % 5000) + 1;
		p[i] = regmem_alloc(m, len[i]);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % CHEETAH_ALLOC_ALIGN, 0);
		memset(p[i], i, len[i]);
	}
	for (int i = 0; i < N; i++)
		if (p[i])
			regmem_free(m, p[i], len[i]);
	assert_int_equal(regmem_stats(m)->used_bytes, 0);
	assert_int_equal(regmem_stats(m)->arenas, 1); /* one shared arena kept warm */
	regmem_destroy(m);
	assert_int_equal(f.live, 0);
}

/* Freed neighbours merge: after fragmenting an arena completely and freeing every piece in
 * a scattered order, the whole arena is one piece again. */
static void test_coalesce(void **state)
{
	enum { PIECES = ARENA / 4096 };
	static void *p[PIECES];
	struct fake f = {0};
	struct regmem *m = mk(&f);
	void *all;

	(void)state;
	for (int i = 0; i < PIECES; i++)
		assert_non_null(p[i] = regmem_alloc(m, 4096));
	assert_int_equal(f.created, 1);
	for (int step = 0; step < 3; step++) /* 0, 3, 6, ...; then 1, 4, ...; then 2, 5, ... */
		for (int i = step; i < PIECES; i += 3)
			regmem_free(m, p[i], 4096);
	all = regmem_alloc(m, ARENA / 2);
	assert_non_null(all);
	assert_non_null(regmem_alloc(m, ARENA / 2));
	assert_int_equal(f.created, 1);
	regmem_destroy(m);
	assert_int_equal(f.live, 0);
}

/* A block larger than half an arena gets its own arena, gone when it is freed; arenas
 * emptied beyond the first are given back. */
static void test_dedicated(void **state)
{
	struct fake f = {0};
	struct regmem *m = mk(&f);
	void *small, *big, *fill, *spill;

	(void)state;
	small = regmem_alloc(m, 100);
	big = regmem_alloc(m, ARENA * 3);
	assert_non_null(small);
	assert_non_null(big);
	assert_int_equal(f.live, 2);
	memset(big, 0xab, ARENA * 3);
	regmem_free(m, big, ARENA * 3);
	assert_int_equal(f.live, 1);
	fill = regmem_alloc(m, ARENA / 2);
	spill = regmem_alloc(m, ARENA / 2); /* does not fit beside small and fill */
	assert_non_null(fill);
	assert_non_null(spill);
	assert_int_equal(f.live, 2);
	regmem_free(m, spill, ARENA / 2);
	assert_int_equal(f.live, 1);
	regmem_free(m, fill, ARENA / 2);
	regmem_free(m, small, 100);
	assert_int_equal(f.live, 1);
	regmem_destroy(m);
	assert_int_equal(f.live, 0);
}

static void test_backing_fails(void **state)
{
	struct fake f = {.fail = 1};
	struct regmem *m = mk(&f);

	(void)state;
	assert_null(regmem_alloc(m, 10));
	assert_null(regmem_alloc(m, ARENA));
	assert_int_equal(regmem_stats(m)->failures, 2);
	regmem_destroy(m);
}

/* libhttp's sums (cheetah-prep's index) are numbers over big-endian words; the stack's
 * (exos_cksum_block) are in memory order: htons() converts, odd lengths included. */
static void test_sum_units(void **state)
{
	unsigned char buf[1501];
	unsigned seed = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)rand_r(&seed);
	for (size_t len = 1; len <= sizeof(buf); len += 97)
		assert_int_equal(htons(cksum_partial(buf, len)) % 0xffff,
				 exos_cksum_block(buf, len) % 0xffff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random),    cmocka_unit_test(test_coalesce),
	    cmocka_unit_test(test_dedicated), cmocka_unit_test(test_backing_fails),
	    cmocka_unit_test(test_sum_units),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
