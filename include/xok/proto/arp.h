/* arp.h - ARP for IPv4 over Ethernet, wire format (fields are in network byte order) */
#ifndef XOK_PROTO_ARP_H
#define XOK_PROTO_ARP_H

#include <stdint.h>
#include <xok/proto/eth.h>

#define ARP_HTYPE_ETHER 1
#define ARP_OP_REQUEST	1
#define ARP_OP_REPLY	2

struct arp_hdr {
	uint16_t htype; /* ARP_HTYPE_ETHER */
	uint16_t ptype; /* ETH_TYPE_IPV4 */
	uint8_t hlen;	/* 6 */
	uint8_t plen;	/* 4 */
	uint16_t op;	/* ARP_OP_* */
	uint8_t sha[ETH_ADDR_LEN];
	uint32_t spa;
	uint8_t tha[ETH_ADDR_LEN];
	uint32_t tpa;
} __attribute__((packed));
_Static_assert(sizeof(struct arp_hdr) == 28, "wire format");

#endif /* XOK_PROTO_ARP_H */
