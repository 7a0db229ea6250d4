/* test_http_cksum.c - Internet checksum partial sums: direct vs combined, odd splits */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cksum.h"

/* The obvious RFC 1071 loop, word by word, as the reference. */
static uint16_t ref_sum(const unsigned char *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void fill_random(unsigned char *p, size_t len, unsigned seed)
{
	srand(seed);
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)rand();
}

static void test_rfc1071_example(void **state)
{
	/* RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2. */
	static const unsigned char b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	/* A classic IPv4 header whose checksum field (zero here) must be b861. */
	static const unsigned char ip[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
					   0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
					   0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

	(void)state;
	assert_int_equal(cksum_partial(b, sizeof(b)), 0xddf2);
	assert_int_equal(cksum_finish(cksum_partial(ip, sizeof(ip))), 0xb861);
	assert_int_equal(cksum_partial(b, 0), 0);
	assert_int_equal(cksum_partial(b, 1), 0x0000);
	assert_int_equal(cksum_partial(b + 2, 1), 0xf200);
}

static void test_partial_vs_reference(void **state)
{
	unsigned char *buf = malloc(70000 + 8);

	(void)state;
	assert_non_null(buf);
	fill_random(buf, 70000 + 8, 1);
	for (size_t len = 0; len < 300; len++)
		for (size_t off = 0; off < 8; off++) /* every alignment of the start */
			assert_int_equal(cksum_partial(buf + off, len), ref_sum(buf + off, len));
	/* Long enough to overflow a careless 32-bit accumulator of 16-bit words. */
	assert_int_equal(cksum_partial(buf + 3, 70000), ref_sum(buf + 3, 70000));
	memset(buf, 0xff, 70000);
	assert_int_equal(cksum_partial(buf, 70000), ref_sum(buf, 70000));
	assert_int_equal(cksum_partial(buf, 70001), ref_sum(buf, 70001));
	free(buf);
}

static void test_combine_every_split(void **state)
{
	unsigned char buf[1500];

	(void)state;
	for (unsigned seed = 0; seed < 4; seed++) {
		size_t len = sizeof(buf) - seed; /* even and odd totals */
		uint16_t whole;

		fill_random(buf, len, seed + 10);
		whole = cksum_partial(buf, len);
		for (size_t k = 0; k <= len; k++) {
			uint16_t a = cksum_partial(buf, k), b = cksum_partial(buf + k, len - k);

			if (cksum_combine(a, b, k) != whole)
				fail_msg("seed %u split %zu", seed, k);
		}
	}
}

static void test_combine_three_pieces(void **state)
{
	unsigned char buf[301];

	(void)state;
	fill_random(buf, sizeof(buf), 99);
	for (size_t i = 0; i <= sizeof(buf); i += 7) {
		for (size_t j = i; j <= sizeof(buf); j += 5) {
			uint16_t a = cksum_partial(buf, i);
			uint16_t b = cksum_partial(buf + i, j - i);
			uint16_t c = cksum_partial(buf + j, sizeof(buf) - j);
			uint16_t ab = cksum_combine(a, b, i);

			assert_int_equal(cksum_combine(ab, c, j), cksum_partial(buf, sizeof(buf)));
			/* And right-associated: (b c) first, then a in front. */
			assert_int_equal(cksum_combine(a, cksum_combine(b, c, j - i), i),
					 cksum_partial(buf, sizeof(buf)));
		}
	}
}

static void test_add_and_zero(void **state)
{
	unsigned char z[64] = {0};

	(void)state;
	assert_int_equal(cksum_add(0xffff, 0x0001), 0x0001);
	assert_int_equal(cksum_add(0x8000, 0x8000), 0x0001);
	assert_int_equal(cksum_add(0, 0), 0);
	/* 0 only for all-zero data; a non-zero multiple of 0xffff folds to 0xffff. */
	assert_int_equal(cksum_partial(z, sizeof(z)), 0);
	z[0] = 0xff;
	z[1] = 0xff;
	assert_int_equal(cksum_partial(z, sizeof(z)), 0xffff);
}

static void test_segments(void **state)
{
	static const uint32_t segs[] = {1, 2, 3, 536, 1448, 1460, 65535};
	size_t len = 100000 + 1;
	unsigned char *buf = malloc(len);
	uint16_t *out = malloc(len * sizeof(*out));

	(void)state;
	assert_non_null(buf);
	assert_non_null(out);
	fill_random(buf, len, 7);
	for (size_t s = 0; s < sizeof(segs) / sizeof(segs[0]); s++) {
		uint64_t n = cksum_seg_count(len, segs[s]);
		uint16_t all = 0;

		cksum_segments(buf, len, segs[s], out);
		for (uint64_t i = 0; i < n; i++) {
			size_t off = (size_t)i * segs[s];
			size_t piece = len - off < segs[s] ? len - off : segs[s];

			assert_int_equal(out[i], ref_sum(buf + off, piece));
			all = cksum_combine(all, out[i], off);
		}
		/* Segment sums combine back into the whole file's sum. */
		assert_int_equal(all, cksum_partial(buf, len));
	}
	assert_int_equal(cksum_seg_count(0, 1448), 0);
	assert_int_equal(cksum_seg_count(1448, 1448), 1);
	assert_int_equal(cksum_seg_count(1449, 1448), 2);
	free(buf);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc1071_example),	cmocka_unit_test(test_partial_vs_reference),
	    cmocka_unit_test(test_combine_every_split), cmocka_unit_test(test_combine_three_pieces),
	    cmocka_unit_test(test_add_and_zero),	cmocka_unit_test(test_segments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
