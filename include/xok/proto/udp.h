/* udp.h - UDP wire format (RFC 768; fields are in network byte order) */
#ifndef XOK_PROTO_UDP_H
#define XOK_PROTO_UDP_H

#include <stdint.h>

#define UDP_HDR_LEN 8

struct udp_hdr {
	uint16_t sport;
	uint16_t dport;
	uint16_t len;	/* header + payload */
	uint16_t check; /* 0 = none sent; a computed 0 goes out as 0xffff */
} __attribute__((packed, aligned(2)));
_Static_assert(sizeof(struct udp_hdr) == UDP_HDR_LEN, "wire format");

#endif /* XOK_PROTO_UDP_H */
