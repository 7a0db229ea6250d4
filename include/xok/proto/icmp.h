/* icmp.h - ICMPv4 wire format (RFC 792; fields are in network byte order) */
#ifndef XOK_PROTO_ICMP_H
#define XOK_PROTO_ICMP_H

#include <stdint.h>

#define ICMP_ECHO_REPLY	   0
#define ICMP_DEST_UNREACH  3
#define ICMP_ECHO_REQUEST  8
#define ICMP_TIME_EXCEEDED 11

/* ICMP_DEST_UNREACH codes */
#define ICMP_NET_UNREACH   0
#define ICMP_HOST_UNREACH  1
#define ICMP_PROT_UNREACH  2
#define ICMP_PORT_UNREACH  3
#define ICMP_FRAG_NEEDED   4
#define ICMP_SR_FAILED	   5
#define ICMP_NET_UNKNOWN   6
#define ICMP_HOST_UNKNOWN  7
#define ICMP_NET_PROHIB	   9
#define ICMP_HOST_PROHIB   10
#define ICMP_ADMIN_PROHIB  13

#define ICMP_HDR_LEN	   8

struct icmp_hdr {
	uint8_t type;
	uint8_t code;
	uint16_t check;
	union {
		struct {
			uint16_t id;
			uint16_t seq;
		} echo;
		struct {
			uint16_t unused;
			uint16_t mtu; /* ICMP_FRAG_NEEDED */
		} frag;
		uint32_t raw;
	} un;
	/* Errors carry the offending IP header and at least 8 bytes of its payload here. */
} __attribute__((packed, aligned(2)));
_Static_assert(sizeof(struct icmp_hdr) == ICMP_HDR_LEN, "wire format");

#endif /* XOK_PROTO_ICMP_H */
