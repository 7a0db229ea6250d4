/* ip.h - IPv4 wire format (RFC 791; fields are in network byte order) */
#ifndef XOK_PROTO_IP_H
#define XOK_PROTO_IP_H

#include <stdint.h>

#define IP_HDR_LEN	20 /* without options */
#define IP_HDR_MAX	60
#define IP_VERSION	4
#define IP_DF		0x4000 /* frag_off: don't fragment */
#define IP_MF		0x2000 /* frag_off: more fragments */
#define IP_OFFMASK	0x1fff /* frag_off: offset in 8-byte units */
#define IP_TTL_DEFAULT	64

#define IP_PROTO_ICMP	1
#define IP_PROTO_TCP	6
#define IP_PROTO_UDP	17

/* Option kinds. */
#define IP_OPT_END	0
#define IP_OPT_NOP	1

struct ip_hdr {
	uint8_t ver_ihl; /* version << 4 | header length in 32-bit words */
	uint8_t tos;
	uint16_t tot_len;
	uint16_t id;
	uint16_t frag_off; /* IP_DF | IP_MF | offset */
	uint8_t ttl;
	uint8_t proto;
	uint16_t check;
	uint32_t saddr;
	uint32_t daddr;
} __attribute__((packed, aligned(2)));
_Static_assert(sizeof(struct ip_hdr) == IP_HDR_LEN, "wire format");

static inline unsigned ip_hdr_len(const struct ip_hdr *ip)
{
	return (ip->ver_ihl & 0x0fu) * 4u;
}

#endif /* XOK_PROTO_IP_H */
