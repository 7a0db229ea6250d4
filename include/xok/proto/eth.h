/* eth.h - Ethernet II wire format (fields are in network byte order) */
#ifndef XOK_PROTO_ETH_H
#define XOK_PROTO_ETH_H

#include <stdint.h>

#define ETH_ADDR_LEN	 6
#define ETH_HDR_LEN	 14
#define ETH_TYPE_IPV4	 0x0800
#define ETH_TYPE_ARP	 0x0806
#define ETH_TYPE_VLAN	 0x8100
#define ETH_MTU_DEFAULT	 1500

struct eth_hdr {
	uint8_t dst[ETH_ADDR_LEN];
	uint8_t src[ETH_ADDR_LEN];
	uint16_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct eth_hdr) == ETH_HDR_LEN, "wire format");

#endif /* XOK_PROTO_ETH_H */
