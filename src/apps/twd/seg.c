/* seg.c - twd's segments: parsing what arrives, building what it sends */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <xok/proto/eth.h>
#include <xok/proto/ip.h>
#include <xok/proto/tcp.h>

#include "twd.h"

static uint32_t sum16(const void *p, size_t len, uint32_t acc)
{
	const uint8_t *b = p;

	while (len >= 2) {
		acc += (uint32_t)(b[0] << 8 | b[1]);
		b += 2;
		len -= 2;
	}
	if (len)
		acc += (uint32_t)b[0] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* The pseudo-header sum (host order words), addresses in network order. */
static uint32_t pseudo(uint32_t saddr, uint32_t daddr, uint32_t len)
{
	uint32_t s = ntohl(saddr), d = ntohl(daddr);

	return (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + IP_PROTO_TCP + len;
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void parse_ts(const uint8_t *o, unsigned n, struct twd_seg *s)
{
	while (n) {
		uint8_t kind = o[0], len;
		if (kind == TCP_OPT_END)
			break;
		if (kind == TCP_OPT_NOP) {
			o++;
			n--;
			continue;
		}
		if (n < 2 || (len = o[1]) < 2 || len > n)
			break;
		if (kind == TCP_OPT_TIMESTAMP && len == TCP_OPTLEN_TIMESTAMP) {
			s->ts = true;
			s->tsval = get32(o + 2);
			s->tsecr = get32(o + 6);
		}
		o += len;
		n -= len;
	}
}

int twd_seg_parse(const uint8_t *frame, uint32_t len, struct twd_seg *out)
{
	struct eth_hdr eh;
	struct ip_hdr ip;
	struct tcp_hdr th;
	unsigned ihl, thl;
	uint32_t tot, tcplen;

	memset(out, 0, sizeof(*out));
	if (len < ETH_HDR_LEN + IP_HDR_LEN + TCP_HDR_LEN)
		return -EINVAL;
	memcpy(&eh, frame, sizeof(eh));
	if (ntohs(eh.type) != ETH_TYPE_IPV4)
		return -EINVAL;
	memcpy(&ip, frame + ETH_HDR_LEN, sizeof(ip));
	ihl = ip_hdr_len(&ip);
	tot = ntohs(ip.tot_len);
	if ((ip.ver_ihl >> 4) != IP_VERSION || ihl < IP_HDR_LEN || tot < ihl + TCP_HDR_LEN ||
	    ETH_HDR_LEN + tot > len || ip.proto != IP_PROTO_TCP ||
	    (ntohs(ip.frag_off) & (IP_MF | IP_OFFMASK)))
		return -EINVAL;
	if (fold(sum16(frame + ETH_HDR_LEN, ihl, 0)) != 0xffff)
		return -EINVAL;
	const uint8_t *p = frame + ETH_HDR_LEN + ihl;
	tcplen = tot - ihl;
	memcpy(&th, p, sizeof(th));
	thl = tcp_hdr_len(&th);
	if (thl < TCP_HDR_LEN || thl > tcplen)
		return -EINVAL;
	if (fold(sum16(p, tcplen, pseudo(ip.saddr, ip.daddr, tcplen))) != 0xffff &&
	    ntohs(th.check) != fold(pseudo(ip.saddr, ip.daddr, tcplen)))
		return -EINVAL; /* (the second: a veth peer's unfinished offload checksum) */
	out->saddr = ip.saddr;
	out->daddr = ip.daddr;
	out->sport = th.sport;
	out->dport = th.dport;
	out->seq = ntohl(th.seq);
	out->ack = ntohl(th.ack);
	out->wnd = ntohs(th.win);
	out->flags = th.flags;
	out->len = tcplen - thl;
	memcpy(out->smac, eh.src, ETH_ADDR_LEN);
	parse_ts(p + TCP_HDR_LEN, thl - TCP_HDR_LEN, out);
	return 0;
}

uint32_t twd_seg_build(uint8_t *buf, const struct twd_out *o)
{
	unsigned thl = TCP_HDR_LEN + (o->ts ? 12 : 0);
	uint32_t len = ETH_HDR_LEN + IP_HDR_LEN + thl;
	uint8_t *ip = buf + ETH_HDR_LEN, *th = ip + IP_HDR_LEN;
	uint16_t c;

	memset(buf, 0, TWD_TX_SLOT_SIZE);
	memcpy(buf, o->rmac, ETH_ADDR_LEN);
	memcpy(buf + ETH_ADDR_LEN, o->lmac, ETH_ADDR_LEN);
	buf[12] = ETH_TYPE_IPV4 >> 8;
	buf[13] = ETH_TYPE_IPV4 & 0xff;

	ip[0] = (IP_VERSION << 4) | (IP_HDR_LEN / 4);
	ip[2] = (uint8_t)((IP_HDR_LEN + thl) >> 8);
	ip[3] = (uint8_t)(IP_HDR_LEN + thl);
	ip[4] = (uint8_t)(o->ip_id >> 8);
	ip[5] = (uint8_t)o->ip_id;
	ip[6] = IP_DF >> 8;
	ip[8] = IP_TTL_DEFAULT;
	ip[9] = IP_PROTO_TCP;
	memcpy(ip + 12, &o->laddr, 4);
	memcpy(ip + 16, &o->raddr, 4);
	c = (uint16_t)~fold(sum16(ip, IP_HDR_LEN, 0));
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;

	memcpy(th, &o->lport, 2);
	memcpy(th + 2, &o->rport, 2);
	put32(th + 4, o->seq);
	put32(th + 8, o->ack);
	th[12] = (uint8_t)((thl / 4) << 4);
	th[13] = o->flags;
	th[14] = (uint8_t)(o->win >> 8);
	th[15] = (uint8_t)o->win;
	if (o->ts) {
		th[20] = th[21] = TCP_OPT_NOP;
		th[22] = TCP_OPT_TIMESTAMP;
		th[23] = TCP_OPTLEN_TIMESTAMP;
		put32(th + 24, o->tsval);
		put32(th + 28, o->tsecr);
	}
	c = (uint16_t)~fold(sum16(th, thl, pseudo(o->laddr, o->raddr, thl)));
	th[16] = (uint8_t)(c >> 8);
	th[17] = (uint8_t)c;
	return len < 60 ? 60 : len; /* the minimum Ethernet frame (zero padded) */
}
