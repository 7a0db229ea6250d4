/* test_hist.c - latency histogram percentiles against a sorted reference */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "hist.h"
#include "param.h"
#include "prng.h"

static const double pcts[] = {0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The reference: the smallest sample with at least p% of samples at or below it. */
static uint64_t ref_percentile(const uint64_t *sorted, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n * (1 - 1e-12));

	return sorted[rank ? rank - 1 : 0];
}

/* Record, then check every percentile is the reference's bucket: never below it, and above
 * it by less than the bucket resolution. */
static void check_against_reference(uint64_t *v, size_t n)
{
	struct swamp_hist h;
	double sum = 0;

	assert_int_equal(swamp_hist_init(&h), 0);
	for (size_t i = 0; i < n; i++) {
		swamp_hist_record(&h, v[i]);
		sum += (double)v[i];
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		uint64_t want = ref_percentile(v, n, pcts[i]);
		uint64_t got = swamp_hist_percentile(&h, pcts[i]);
		uint64_t slack = want >> (SWAMP_HIST_SUB_BITS - 1);

		if (got < want || got > want + slack)
			fail_msg("p%g: got %llu, reference %llu", pcts[i], (unsigned long long)got,
				 (unsigned long long)want);
	}
	assert_int_equal(h.count, n);
	assert_int_equal(h.min, v[0]);
	assert_int_equal(h.max, v[n - 1]);
	assert_true(fabs(swamp_hist_mean(&h) - sum / (double)n) < 1e-6 * (sum / (double)n) + 1e-9);
	swamp_hist_free(&h);
}

static void test_uniform(void **state)
{
	size_t n = 100000;
	uint64_t *v = malloc(n * sizeof(*v));
	struct swamp_rng r;

	(void)state;
	swamp_rng_seed(&r, 42, 0);
	for (size_t i = 0; i < n; i++)
		v[i] = swamp_rng_next(&r) % 10000000; /* 0-10 ms */
	check_against_reference(v, n);
	free(v);
}

static void test_lognormal(void **state)
{
	size_t n = 100000;
	uint64_t *v = malloc(n * sizeof(*v));
	struct swamp_rng r;

	(void)state;
	swamp_rng_seed(&r, 7, 3);
	for (size_t i = 0; i < n; i++)
		v[i] = (uint64_t)exp(11.0 + 2.0 * swamp_rng_normal(&r)); /* ~60 us, heavy tail */
	check_against_reference(v, n);
	free(v);
}

static void test_small_values_exact(void **state)
{
	uint64_t v[] = {5, 1, 1023, 0, 512, 77, 77, 900};
	struct swamp_hist h;

	(void)state;
	check_against_reference(v, sizeof(v) / sizeof(v[0]));
	/* Below 2^SUB_BITS every value has its own bucket. */
	assert_int_equal(swamp_hist_init(&h), 0);
	for (uint64_t i = 1; i <= 1000; i++)
		swamp_hist_record(&h, i);
	assert_int_equal(swamp_hist_percentile(&h, 50), 500);
	assert_int_equal(swamp_hist_percentile(&h, 99.9), 999);
	assert_int_equal(swamp_hist_percentile(&h, 100), 1000);
	swamp_hist_free(&h);
}

static void test_one_and_empty(void **state)
{
	struct swamp_hist h;

	(void)state;
	assert_int_equal(swamp_hist_init(&h), 0);
	assert_int_equal(swamp_hist_percentile(&h, 50), 0);
	assert_true(swamp_hist_mean(&h) == 0.0);
	swamp_hist_record(&h, 123456789);
	/* A bucket's highest value is clamped to the true maximum. */
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		assert_int_equal(swamp_hist_percentile(&h, pcts[i]), 123456789);
	assert_true(swamp_hist_stdev(&h) == 0.0);
	/* Beyond the range: clamped, never out of bounds. */
	swamp_hist_record(&h, UINT64_MAX);
	assert_int_equal(h.max, (1ULL << SWAMP_HIST_MAX_BITS) - 1);
	swamp_hist_free(&h);
}

static void test_stdev_and_within(void **state)
{
	struct swamp_hist a;

	(void)state;
	assert_int_equal(swamp_hist_init(&a), 0);
	for (int i = 0; i < 500; i++) {
		swamp_hist_record(&a, 1000);
		swamp_hist_record(&a, 3000);
	}
	assert_int_equal(a.count, 1000);
	assert_int_equal(a.min, 1000);
	assert_int_equal(a.max, 3000);
	assert_true(fabs(swamp_hist_mean(&a) - 2000) < 1e-9);
	assert_true(fabs(swamp_hist_stdev(&a) - 1000) < 1e-6);
	assert_true(fabs(swamp_hist_within(&a, 1000, 3000) - 1.0) < 1e-12);
	assert_true(fabs(swamp_hist_within(&a, 0, 2000) - 0.5) < 1e-12);
	swamp_hist_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uniform),
	    cmocka_unit_test(test_lognormal),
	    cmocka_unit_test(test_small_values_exact),
	    cmocka_unit_test(test_one_and_empty),
	    cmocka_unit_test(test_stdev_and_within),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
