/* tcp.h - TCP wire format (RFC 9293, options RFC 7323 and RFC 2018; network byte order) */
#ifndef XOK_PROTO_TCP_H
#define XOK_PROTO_TCP_H

#include <stdint.h>

#define TCP_HDR_LEN	20 /* without options */
#define TCP_HDR_MAX	60

/* flags (the low byte of the offset/flags word) */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

/* option kinds and lengths */
#define TCP_OPT_END	    0
#define TCP_OPT_NOP	    1
#define TCP_OPT_MSS	    2 /* len 4 */
#define TCP_OPT_WSCALE	    3 /* len 3, RFC 7323 */
#define TCP_OPT_SACK_PERM   4 /* len 2, RFC 2018 */
#define TCP_OPT_SACK	    5 /* len 2 + 8n */
#define TCP_OPT_TIMESTAMP   8 /* len 10, RFC 7323 */
#define TCP_OPTLEN_MSS	    4
#define TCP_OPTLEN_WSCALE   3
#define TCP_OPTLEN_SACK_PERM 2
#define TCP_OPTLEN_TIMESTAMP 10
#define TCP_WSCALE_MAX	    14
#define TCP_SACK_BLOCKS_MAX 4

struct tcp_hdr {
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t off;   /* data offset in 32-bit words << 4 */
	uint8_t flags; /* TCP_FIN ... TCP_CWR */
	uint16_t win;
	uint16_t check;
	uint16_t urg;
} __attribute__((packed, aligned(2)));
_Static_assert(sizeof(struct tcp_hdr) == TCP_HDR_LEN, "wire format");

static inline unsigned tcp_hdr_len(const struct tcp_hdr *th)
{
	return (th->off >> 4) * 4u;
}

#endif /* XOK_PROTO_TCP_H */
