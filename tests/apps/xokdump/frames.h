/* frames.h - crafting Ethernet frames for xokdump's unit tests */
#ifndef XOKDUMP_TEST_FRAMES_H
#define XOKDUMP_TEST_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_MAX 1600

/* What to put in a frame; zero fields get sensible defaults (see frames.c). */
struct frame_spec {
	uint16_t ethertype;   /* 0: IPv4 */
	uint8_t ihl;	      /* IPv4 header words; 0: 5 */
	uint8_t proto;	      /* IPv4 protocol */
	uint16_t frag;	      /* IPv4 flags and fragment offset (host order) */
	uint16_t ip_id;
	uint32_t src, dst;    /* IPv4 addresses, host order */
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint32_t seq, ack;
	uint16_t win;
	const uint8_t *tcp_opts; /* multiple of 4 bytes */
	size_t tcp_optlen;
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_id, icmp_seq;
	size_t payload;	      /* bytes of payload after the L4 header */
};

/* Each returns the frame's length.  Addresses and ports in host order. */
size_t frame_build(uint8_t *buf, const struct frame_spec *s);
size_t frame_arp(uint8_t *buf, uint16_t op, const uint8_t sha[6], uint32_t spa,
		 const uint8_t tha[6], uint32_t tpa);

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

#endif /* XOKDUMP_TEST_FRAMES_H */
