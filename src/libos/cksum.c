/* cksum.c - the Internet checksum (RFC 1071): partial sums, pseudo-headers */
#include "libos.h"

/*
 * Sums are accumulated over native-order 16-bit words and folded at the end; storing the
 * complemented fold natively gives the right bytes on the wire whatever the host order
 * (RFC 1071 §2(B)).  A partial sum of bytes that will sit at an odd offset must be
 * byte-swapped before it is added (cksum_swap).
 */

uint32_t cksum_partial(const void *p, size_t len, uint32_t sum)
{
	const uint8_t *b = p;
	uint64_t acc = sum;

	/* 32 bytes per iteration into a 64-bit accumulator: carries cannot overflow for
	 * any length below 2^32 words. */
	while (len >= 32) {
		uint32_t w[8];
		memcpy(w, b, sizeof(w));
		acc += (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + w[6] + w[7];
		b += 32;
		len -= 32;
	}
	while (len >= 4) {
		uint32_t w;
		memcpy(&w, b, 4);
		acc += w;
		b += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;
		memcpy(&w, b, 2);
		acc += w;
		b += 2;
		len -= 2;
	}
	if (len) {
		uint16_t w = 0;
		memcpy(&w, b, 1); /* the odd byte is the high-order byte of a zero-padded word */
		acc += w;
	}
	return cksum_fold(acc);
}

uint16_t cksum(const void *p, size_t len)
{
	return (uint16_t)~cksum_fold(cksum_partial(p, len, 0));
}

uint32_t cksum_pseudo(uint32_t saddr, uint32_t daddr, uint8_t proto, uint32_t len)
{
	uint64_t acc = 0;

	acc += (saddr & 0xffff) + (saddr >> 16);
	acc += (daddr & 0xffff) + (daddr >> 16);
	acc += htons(proto);
	acc += htons((uint16_t)len);
	return cksum_fold(acc);
}

/*
 * A transport checksum that fails may still be the mark of a frame from a Linux veth peer
 * with transmit checksum offload on: the sender left the checksum as CHECKSUM_PARTIAL (the
 * folded pseudo-header sum, payload not yet summed) for a NIC that the frame, redirected to
 * AF_XDP, never meets.  No frame that crossed a real wire looks like that.
 */
bool cksum_is_partial(uint16_t check, uint32_t saddr, uint32_t daddr, uint8_t proto,
		      uint32_t len)
{
	return check == cksum_fold(cksum_pseudo(saddr, daddr, proto, len));
}

EXOS_API uint16_t exos_cksum_block(const void *data, size_t len)
{
	return cksum_fold(cksum_partial(data, len, 0));
}
