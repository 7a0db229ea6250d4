/* ref_csum.h - the reference checksum of xfwd's tests, independent of nat.c's arithmetic */
#ifndef XFWD_TEST_REF_CSUM_H
#define XFWD_TEST_REF_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* RFC 1071 over big-endian 16-bit words, byte by byte, folded (not complemented). */
static inline uint32_t ref_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

#endif /* XFWD_TEST_REF_CSUM_H */
