/* build.c - strayd's reply frames: echo reply, ICMP errors, TCP resets */

/*
 * Every builder writes the IPv4 packet after a 14-byte gap for the Ethernet header (which
 * tx_send fills once it knows the next hop) and returns the frame length.  Replies carry a
 * fresh 20-byte IPv4 header (options of the received packet are not echoed), TTL 64, the
 * received destination as their source.
 */
#include <arpa/inet.h>
#include <string.h>

#include <xok/proto/icmp.h>
#include <xok/proto/tcp.h>

#include "strayd.h"

uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

/* The one's-complement of the folded sum, in network order. */
uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

uint32_t csum_pseudo(uint32_t saddr, uint32_t daddr, uint8_t proto, uint16_t len)
{
	uint32_t sum = 0;

	sum = csum_add(sum, &saddr, 4);
	sum = csum_add(sum, &daddr, 4);
	return sum + proto + len;
}

static struct ip_hdr *ip_fill(struct strayd *d, uint8_t *out, uint32_t src, uint32_t dst,
			      uint8_t proto, size_t payload, uint8_t tos, bool df)
{
	struct ip_hdr *ip = (struct ip_hdr *)(out + ETH_HDR_LEN);

	ip->ver_ihl = IP_VERSION << 4 | IP_HDR_LEN / 4;
	ip->tos = tos;
	ip->tot_len = htons((uint16_t)(IP_HDR_LEN + payload));
	ip->id = df ? 0 : htons(d->ip_id++);
	ip->frag_off = df ? htons(IP_DF) : 0;
	ip->ttl = STRAYD_TTL;
	ip->proto = proto;
	ip->check = 0;
	ip->saddr = src;
	ip->daddr = dst;
	ip->check = csum_fold(csum_add(0, ip, IP_HDR_LEN));
	return ip;
}

size_t build_echo_reply(struct strayd *d, uint8_t *out, const struct ip_hdr *ip,
			size_t ip_avail)
{
	size_t ihl = ip_hdr_len(ip), n = ip_avail - ihl;
	struct ip_hdr *rip = ip_fill(d, out, ip->daddr, ip->saddr, IP_PROTO_ICMP, n, ip->tos,
				     false);
	struct icmp_hdr *ic = (struct icmp_hdr *)((uint8_t *)rip + IP_HDR_LEN);

	memcpy(ic, (const uint8_t *)ip + ihl, n);
	ic->type = ICMP_ECHO_REPLY;
	ic->code = 0;
	ic->check = 0;
	ic->check = csum_fold(csum_add(0, ic, n));
	return ETH_HDR_LEN + IP_HDR_LEN + n;
}

size_t build_icmp_error(struct strayd *d, uint8_t *out, const struct ip_hdr *ip,
			size_t ip_avail, uint8_t type, uint8_t code)
{
	size_t ihl = ip_hdr_len(ip);
	size_t quote = ihl + (ip_avail - ihl < 8 ? ip_avail - ihl : 8); /* header + 8 bytes */
	struct ip_hdr *rip = ip_fill(d, out, ip->daddr, ip->saddr, IP_PROTO_ICMP,
				     ICMP_HDR_LEN + quote, 0xc0, false);
	struct icmp_hdr *ic = (struct icmp_hdr *)((uint8_t *)rip + IP_HDR_LEN);

	memset(ic, 0, ICMP_HDR_LEN);
	ic->type = type;
	ic->code = code;
	memcpy((uint8_t *)ic + ICMP_HDR_LEN, ip, quote);
	ic->check = csum_fold(csum_add(0, ic, ICMP_HDR_LEN + quote));
	return ETH_HDR_LEN + IP_HDR_LEN + ICMP_HDR_LEN + quote;
}

/* RFC 9293 §3.10.7.1 (CLOSED): a reset that the sender of `ip` will accept. */
size_t build_rst(struct strayd *d, uint8_t *out, const struct ip_hdr *ip, size_t ip_avail)
{
	size_t ihl = ip_hdr_len(ip);
	const struct tcp_hdr *th = (const struct tcp_hdr *)((const uint8_t *)ip + ihl);
	uint32_t seg_len = (uint32_t)(ip_avail - ihl - tcp_hdr_len(th));
	struct ip_hdr *rip = ip_fill(d, out, ip->daddr, ip->saddr, IP_PROTO_TCP, TCP_HDR_LEN, 0,
				     true);
	struct tcp_hdr *rt = (struct tcp_hdr *)((uint8_t *)rip + IP_HDR_LEN);
	uint32_t sum;

	memset(rt, 0, TCP_HDR_LEN);
	rt->sport = th->dport;
	rt->dport = th->sport;
	rt->off = (TCP_HDR_LEN / 4) << 4;
	if (th->flags & TCP_ACK) {
		rt->seq = th->ack; /* <SEQ=SEG.ACK><CTL=RST> */
		rt->flags = TCP_RST;
	} else {
		/* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; SYN and FIN occupy one each */
		seg_len += !!(th->flags & TCP_SYN) + !!(th->flags & TCP_FIN);
		rt->ack = htonl(ntohl(th->seq) + seg_len);
		rt->flags = TCP_RST | TCP_ACK;
	}
	sum = csum_pseudo(rip->saddr, rip->daddr, IP_PROTO_TCP, TCP_HDR_LEN);
	rt->check = csum_fold(csum_add(sum, rt, TCP_HDR_LEN));
	return ETH_HDR_LEN + IP_HDR_LEN + TCP_HDR_LEN;
}
