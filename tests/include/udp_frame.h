/* udp_frame.h - the Ethernet | IPv4 | UDP frames that the test and benchmark clients send,
 * and the MAC addresses they are given on the command line */
#ifndef XOK_TEST_UDP_FRAME_H
#define XOK_TEST_UDP_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test_bytes.h"

/* "aa:bb:cc:dd:ee:ff"; mac is left as it was unless all six bytes parse. */
static inline int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int m[6];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		return -1;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)m[i];
	return 0;
}

/* The Internet checksum of n bytes (an odd last byte counts as its high half). */
static inline uint16_t ip_csum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

struct udp_frame {
	const uint8_t *dst_mac, *src_mac;
	uint32_t src, dst; /* network order, as they go on the wire */
	uint16_t sport, dport;
};

/* A len-byte frame (len >= 42) at f: IPv4 without options, TTL 64, no UDP checksum, and a
 * payload of zeros for the caller to fill. */
static inline void udp_frame_build(uint8_t *f, uint32_t len, const struct udp_frame *u)
{
	memset(f, 0, len);
	memcpy(f, u->dst_mac, 6);
	memcpy(f + 6, u->src_mac, 6);
	f[12] = 0x08; /* IPv4 */
	f[14] = 0x45;
	put16(f + 16, (uint16_t)(len - 14));
	f[22] = 64;
	f[23] = 17; /* UDP */
	memcpy(f + 26, &u->src, 4);
	memcpy(f + 30, &u->dst, 4);
	put16(f + 24, ip_csum(f + 14, 20));
	put16(f + 34, u->sport);
	put16(f + 36, u->dport);
	put16(f + 38, (uint16_t)(len - 34));
}

#endif /* XOK_TEST_UDP_FRAME_H */
