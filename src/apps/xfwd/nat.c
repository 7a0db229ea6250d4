/* nat.c - xfwd's header rewrite: MACs, addresses, ports, incremental checksums (RFC 1624) */
#include <arpa/inet.h>
#include <string.h>

#include "nat.h"

enum nat_parse_err nat_parse(uint8_t *frame, uint32_t caplen, uint32_t origlen, struct nat_pkt *p)
{
	uint32_t ihl, tot, thl;
	uint16_t type;

	if (caplen < ETH_HDR_LEN + IP_HDR_LEN)
		return origlen > caplen ? NAT_TRUNCATED : NAT_NOT_TCP;
	p->frame = frame;
	p->eth = (struct eth_hdr *)frame;
	memcpy(&type, &p->eth->type, sizeof(type));
	if (type != htons(ETH_TYPE_IPV4))
		return NAT_NOT_TCP;
	p->ip = (struct ip_hdr *)(frame + ETH_HDR_LEN);
	if ((p->ip->ver_ihl >> 4) != IP_VERSION || p->ip->proto != IP_PROTO_TCP)
		return NAT_NOT_TCP;
	ihl = ip_hdr_len(p->ip);
	tot = ntohs(p->ip->tot_len);
	if (ihl < IP_HDR_LEN || tot < ihl + TCP_HDR_LEN)
		return NAT_MALFORMED;
	if (origlen > caplen && ETH_HDR_LEN + tot > caplen)
		return NAT_TRUNCATED;
	if (ETH_HDR_LEN + tot > caplen)
		return NAT_MALFORMED;
	if (ntohs(p->ip->frag_off) & (IP_MF | IP_OFFMASK))
		return NAT_FRAGMENT;
	p->th = (struct tcp_hdr *)((uint8_t *)p->ip + ihl);
	thl = tcp_hdr_len(p->th);
	if (thl < TCP_HDR_LEN || ihl + thl > tot)
		return NAT_MALFORMED;
	p->tcp_len = tot - ihl;
	p->paylen = p->tcp_len - thl;
	p->len = ETH_HDR_LEN + tot;
	return NAT_OK;
}

/* ---- checksum arithmetic ---- */

uint16_t nat_csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint64_t nat_csum_add(uint64_t sum, const void *data, size_t len)
{
	const uint8_t *b = data;

	/* 32-bit words into a 64-bit accumulator: 2^16 = 1 (mod 0xffff), so the wide sum
	 * folds to the same 16-bit one's-complement sum; no carry is lost below 2^32 words */
	while (len >= 4) {
		uint32_t w;

		memcpy(&w, b, 4);
		sum += w;
		b += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, b, 2);
		sum += w;
		b += 2;
		len -= 2;
	}
	if (len) {
		uint16_t w = 0;

		memcpy(&w, b, 1); /* the odd byte is the first byte of a zero-padded word */
		sum += w;
	}
	return sum;
}

uint64_t nat_csum_pseudo(uint32_t saddr, uint32_t daddr, uint8_t proto, uint32_t len)
{
	return (uint64_t)(saddr & 0xffff) + (saddr >> 16) + (daddr & 0xffff) + (daddr >> 16) +
	       htons(proto) + htons((uint16_t)len);
}

uint64_t nat_delta16(uint16_t oldv, uint16_t newv)
{
	return (uint64_t)(uint16_t)~oldv + newv;
}

uint64_t nat_delta32(uint32_t oldv, uint32_t newv)
{
	return nat_delta16((uint16_t)oldv, (uint16_t)newv) +
	       nat_delta16((uint16_t)(oldv >> 16), (uint16_t)(newv >> 16));
}

uint16_t nat_csum_patch(uint16_t check, uint64_t delta)
{
	return (uint16_t)~nat_csum_fold((uint16_t)~check + delta);
}

void nat_ip_csum_full(struct ip_hdr *ip)
{
	ip->check = 0;
	ip->check = (uint16_t)~nat_csum_fold(nat_csum_add(0, ip, ip_hdr_len(ip)));
}

void nat_tcp_csum_full(struct nat_pkt *p)
{
	uint64_t sum = nat_csum_pseudo(p->ip->saddr, p->ip->daddr, IP_PROTO_TCP, p->tcp_len);

	p->th->check = 0;
	p->th->check = (uint16_t)~nat_csum_fold(nat_csum_add(sum, p->th, p->tcp_len));
}

bool nat_csum_is_partial(const struct nat_pkt *p)
{
	return p->th->check ==
	       nat_csum_fold(nat_csum_pseudo(p->ip->saddr, p->ip->daddr, IP_PROTO_TCP, p->tcp_len));
}

/* ---- the rewrite ---- */

void nat_apply(struct nat_pkt *p, const struct nat_rewrite *rw, bool partial)
{
	struct ip_hdr *ip = p->ip;
	struct tcp_hdr *th = p->th;
	uint64_t da, dp;

	memcpy(p->eth->dst, rw->dmac, ETH_ADDR_LEN);
	memcpy(p->eth->src, rw->smac, ETH_ADDR_LEN);

	da = nat_delta32(ip->saddr, rw->saddr) + nat_delta32(ip->daddr, rw->daddr);
	dp = nat_delta16(th->sport, rw->sport) + nat_delta16(th->dport, rw->dport);
	ip->saddr = rw->saddr;
	ip->daddr = rw->daddr;
	th->sport = rw->sport;
	th->dport = rw->dport;
	ip->check = nat_csum_patch(ip->check, da);
	if (partial)
		nat_tcp_csum_full(p);
	else
		th->check = nat_csum_patch(th->check, da + dp);
}
