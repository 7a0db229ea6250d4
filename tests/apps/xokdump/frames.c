/* frames.c - crafting Ethernet/IPv4/TCP/UDP/ICMP/ARP frames for xokdump's unit tests */
#include <string.h>
#include "frames.h"
#include "test_bytes.h"

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x02 };

static size_t l4_build(uint8_t *p, const struct frame_spec *s)
{
	size_t hlen;

	switch (s->proto) {
	case 6:
		hlen = 20 + s->tcp_optlen;
		put16(p, s->sport);
		put16(p + 2, s->dport);
		put32(p + 4, s->seq);
		put32(p + 8, s->ack);
		p[12] = (uint8_t)(hlen / 4 << 4);
		p[13] = s->tcp_flags;
		put16(p + 14, s->win);
		if (s->tcp_optlen)
			memcpy(p + 20, s->tcp_opts, s->tcp_optlen);
		return hlen;
	case 17:
		put16(p, s->sport);
		put16(p + 2, s->dport);
		put16(p + 4, (uint16_t)(8 + s->payload));
		return 8;
	case 1:
		p[0] = s->icmp_type;
		p[1] = s->icmp_code;
		put16(p + 4, s->icmp_id);
		put16(p + 6, s->icmp_seq);
		return 8;
	default:
		return 0;
	}
}

size_t frame_build(uint8_t *buf, const struct frame_spec *s)
{
	unsigned ihl = s->ihl ? s->ihl : 5;
	uint8_t *ip = buf + 14;
	size_t l4len, tot;

	memset(buf, 0, FRAME_MAX);
	memcpy(buf, mac_a, 6);
	memcpy(buf + 6, mac_b, 6);
	put16(buf + 12, s->ethertype ? s->ethertype : 0x0800);
	ip[0] = (uint8_t)(0x40 | ihl);
	put16(ip + 4, s->ip_id);
	put16(ip + 6, s->frag);
	ip[8] = 64;
	ip[9] = s->proto;
	put32(ip + 12, s->src);
	put32(ip + 16, s->dst);
	l4len = l4_build(ip + ihl * 4, s);
	for (size_t i = 0; i < s->payload; i++)
		ip[ihl * 4 + l4len + i] = (uint8_t)i;
	tot = ihl * 4 + l4len + s->payload;
	put16(ip + 2, (uint16_t)tot);
	return 14 + tot;
}

size_t frame_arp(uint8_t *buf, uint16_t op, const uint8_t sha[6], uint32_t spa,
		 const uint8_t tha[6], uint32_t tpa)
{
	uint8_t *a = buf + 14;

	memset(buf, 0, FRAME_MAX);
	memset(buf, 0xff, 6);
	memcpy(buf + 6, sha, 6);
	put16(buf + 12, 0x0806);
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	put32(a + 14, spa);
	memcpy(a + 18, tha, 6);
	put32(a + 24, tpa);
	return 42;
}
