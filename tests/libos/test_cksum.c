/* test_cksum.c - the Internet checksum: partial sums, odd offsets, pseudo-headers */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "libos.h"

/* RFC 1071 by the book: big-endian 16-bit words, end-around carry. */
static uint16_t ref_sum(const uint8_t *p, size_t len)
{
	uint32_t acc = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* Our sums are native-order; on the wire (stored natively) they equal the reference. */
static uint16_t wire(uint16_t native)
{
	uint8_t b[2];
	memcpy(b, &native, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void test_matches_reference(void **state)
{
	uint8_t buf[4096 + 64];

	(void)state;
	srand(7);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len < 300; len++)
			assert_int_equal(wire(cksum_fold(cksum_partial(buf + off, len, 0))),
					 ref_sum(buf + off, len));
	assert_int_equal(wire(cksum_fold(cksum_partial(buf, 4096, 0))), ref_sum(buf, 4096));
	/* All ones: the sum of 0xffff words stays 0xffff, never 0. */
	memset(buf, 0xff, 64);
	assert_int_equal(cksum_fold(cksum_partial(buf, 64, 0)), 0xffff);
}

static void test_combine_at_odd_offsets(void **state)
{
	uint8_t buf[1000];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 31 + 7);
	for (size_t split = 0; split < 200; split++) {
		uint32_t a = cksum_partial(buf, split, 0);
		uint32_t b = cksum_partial(buf + split, 1000 - split, 0);
		uint64_t s = (uint64_t)a + ((split & 1) ? cksum_swap(b) : b);
		assert_int_equal(cksum_fold(s), cksum_fold(cksum_partial(buf, 1000, 0)));
	}
	/* exos_cksum_block is the same partial sum, for applications. */
	assert_int_equal(exos_cksum_block(buf, 1000), cksum_fold(cksum_partial(buf, 1000, 0)));
}

static void test_header_checksum(void **state)
{
	/* RFC 1071's example words, and an IPv4 header that must verify to 0. */
	uint8_t ip[20] = {0x45, 0, 0, 0x54, 0xab, 0xcd, 0x40, 0, 64, 1, 0, 0,
			  198, 18, 0, 1, 198, 18, 0, 2};
	(void)state;
	uint16_t c = cksum(ip, 20);
	memcpy(ip + 10, &c, 2);
	assert_int_equal(cksum(ip, 20), 0);
	assert_int_equal(ref_sum(ip, 20), 0xffff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_reference),
		cmocka_unit_test(test_combine_at_odd_offsets),
		cmocka_unit_test(test_header_checksum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
