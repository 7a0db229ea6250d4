/* forge.c - building test frames and parsing transmitted ones, with checksums */
#include <string.h>
#include <arpa/inet.h>
#include <xok/proto/eth.h>
#include <xok/proto/icmp.h>
#include <xok/proto/ip.h>
#include <xok/proto/tcp.h>
#include <xok/proto/udp.h>
#include <xok/proto/arp.h>

#include "forge.h"
#include "test_bytes.h"

const uint8_t our_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
const uint8_t peer_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
const uint8_t gw_mac[6] = {0x02, 0, 0, 0, 0, 0xfe};

uint32_t ip4(const char *dotted)
{
	return inet_addr(dotted);
}

/* An independent (byte-at-a-time, big-endian) Internet checksum. */
static uint32_t sum_be(const uint8_t *p, size_t len, uint32_t acc)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	return acc;
}

static uint16_t fold_be(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

static uint32_t pseudo_be(uint32_t saddr, uint32_t daddr, uint8_t proto, size_t len)
{
	uint8_t ph[12];
	memcpy(ph, &saddr, 4);
	memcpy(ph + 4, &daddr, 4);
	ph[8] = 0;
	ph[9] = proto;
	ph[10] = (uint8_t)(len >> 8);
	ph[11] = (uint8_t)len;
	return sum_be(ph, 12, 0);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Ethernet + IPv4 header; returns the L4 offset. */
static size_t forge_ip(uint8_t *frame, uint32_t saddr, uint32_t daddr, uint8_t proto,
		       size_t l4len, unsigned opts, uint16_t id, uint16_t frag_off)
{
	memcpy(frame, our_mac, 6);
	memcpy(frame + 6, peer_mac, 6);
	put16(frame + 12, ETH_TYPE_IPV4);
	uint8_t *ip = frame + ETH_HDR_LEN;
	size_t hl = IP_HDR_LEN + opts;
	memset(ip, 0, hl);
	ip[0] = (uint8_t)(0x40 | (hl / 4));
	put16(ip + 2, (uint16_t)(hl + l4len));
	put16(ip + 4, id);
	put16(ip + 6, frag_off);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, &saddr, 4);
	memcpy(ip + 16, &daddr, 4);
	for (unsigned i = 0; i < opts; i++)
		ip[IP_HDR_LEN + i] = i + 1 < opts ? IP_OPT_NOP : IP_OPT_END;
	put16(ip + 10, fold_be(sum_be(ip, hl, 0)));
	return ETH_HDR_LEN + hl;
}

size_t forge_tcp(uint8_t *frame, const struct forge_tcp *f)
{
	uint32_t saddr = f->saddr ? f->saddr : ip4(PEER_IP);
	uint32_t daddr = f->daddr ? f->daddr : ip4(OUR_IP);
	uint8_t opt[40];
	size_t on = 0;

	if (f->mss) {
		opt[on++] = TCP_OPT_MSS;
		opt[on++] = 4;
		put16(opt + on, f->mss);
		on += 2;
	}
	if (f->sack_perm) {
		opt[on++] = TCP_OPT_NOP;
		opt[on++] = TCP_OPT_NOP;
		opt[on++] = TCP_OPT_SACK_PERM;
		opt[on++] = 2;
	}
	if (f->ts) {
		opt[on++] = TCP_OPT_NOP;
		opt[on++] = TCP_OPT_NOP;
		opt[on++] = TCP_OPT_TIMESTAMP;
		opt[on++] = 10;
		put32(opt + on, f->tsval);
		put32(opt + on + 4, f->tsecr);
		on += 8;
	}
	if (f->wscale >= 0 && (f->flags & TCP_SYN)) {
		opt[on++] = TCP_OPT_NOP;
		opt[on++] = TCP_OPT_WSCALE;
		opt[on++] = 3;
		opt[on++] = (uint8_t)f->wscale;
	}
	if (f->nsack) {
		opt[on++] = TCP_OPT_NOP;
		opt[on++] = TCP_OPT_NOP;
		opt[on++] = TCP_OPT_SACK;
		opt[on++] = (uint8_t)(2 + 8 * f->nsack);
		for (int i = 0; i < f->nsack; i++) {
			put32(opt + on, f->sack[i][0]);
			put32(opt + on + 4, f->sack[i][1]);
			on += 8;
		}
	}
	while (on % 4)
		opt[on++] = TCP_OPT_END;
	size_t thl = TCP_HDR_LEN + on;
	size_t off = forge_ip(frame, saddr, daddr, IP_PROTO_TCP, thl + f->len, f->ip_opts,
			      f->ip_id, f->frag_off);
	uint8_t *th = frame + off;
	put16(th, f->sport);
	put16(th + 2, f->dport);
	put32(th + 4, f->seq);
	put32(th + 8, f->ack);
	th[12] = (uint8_t)((thl / 4) << 4);
	th[13] = f->flags;
	put16(th + 14, f->win);
	put16(th + 16, 0);
	put16(th + 18, 0);
	memcpy(th + TCP_HDR_LEN, opt, on);
	if (f->len)
		memcpy(th + thl, f->data, f->len);
	uint32_t acc = pseudo_be(saddr, daddr, IP_PROTO_TCP, thl + f->len);
	uint16_t ck = fold_be(sum_be(th, thl + f->len, acc));
	put16(th + 16, f->bad_csum ? (uint16_t)(ck ^ 0x5a5a) : ck);
	return off + thl + f->len;
}

size_t forge_udp(uint8_t *frame, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
		 const void *data, size_t len)
{
	saddr = saddr ? saddr : ip4(PEER_IP);
	daddr = daddr ? daddr : ip4(OUR_IP);
	size_t off = forge_ip(frame, saddr, daddr, IP_PROTO_UDP, UDP_HDR_LEN + len, 0, 1, 0);
	uint8_t *uh = frame + off;
	put16(uh, sport);
	put16(uh + 2, dport);
	put16(uh + 4, (uint16_t)(UDP_HDR_LEN + len));
	put16(uh + 6, 0);
	memcpy(uh + UDP_HDR_LEN, data, len);
	uint32_t acc = pseudo_be(saddr, daddr, IP_PROTO_UDP, UDP_HDR_LEN + len);
	uint16_t ck = fold_be(sum_be(uh, UDP_HDR_LEN + len, acc));
	put16(uh + 6, ck ? ck : 0xffff);
	return off + UDP_HDR_LEN + len;
}

size_t forge_icmp_unreach(uint8_t *frame, uint32_t from, uint8_t code, const uint8_t *ip,
			  size_t iplen)
{
	size_t q = iplen < 28 ? iplen : 28; /* header + 8 bytes, as routers do */
	size_t off = forge_ip(frame, from, ip4(OUR_IP), IP_PROTO_ICMP, ICMP_HDR_LEN + q, 0, 2, 0);
	uint8_t *ih = frame + off;
	memset(ih, 0, ICMP_HDR_LEN);
	ih[0] = ICMP_DEST_UNREACH;
	ih[1] = code;
	memcpy(ih + ICMP_HDR_LEN, ip, q);
	put16(ih + 2, fold_be(sum_be(ih, ICMP_HDR_LEN + q, 0)));
	return off + ICMP_HDR_LEN + q;
}

size_t forge_icmp_echo(uint8_t *frame, uint16_t id, uint16_t seq, const void *data, size_t len)
{
	size_t off = forge_ip(frame, ip4(PEER_IP), ip4(OUR_IP), IP_PROTO_ICMP,
			      ICMP_HDR_LEN + len, 0, 3, 0);
	uint8_t *ih = frame + off;
	memset(ih, 0, ICMP_HDR_LEN);
	ih[0] = ICMP_ECHO_REQUEST;
	put16(ih + 4, id);
	put16(ih + 6, seq);
	memcpy(ih + ICMP_HDR_LEN, data, len);
	put16(ih + 2, fold_be(sum_be(ih, ICMP_HDR_LEN + len, 0)));
	return off + ICMP_HDR_LEN + len;
}

size_t forge_fragment(uint8_t *out, const uint8_t *frame, size_t off, size_t n, bool more)
{
	const uint8_t *ip = frame + ETH_HDR_LEN;
	size_t hl = (ip[0] & 0x0f) * 4u;

	memcpy(out, frame, ETH_HDR_LEN + hl);
	memcpy(out + ETH_HDR_LEN + hl, ip + hl + off, n);
	uint8_t *nip = out + ETH_HDR_LEN;
	put16(nip + 2, (uint16_t)(hl + n));
	put16(nip + 6, (uint16_t)((off / 8) | (more ? IP_MF : 0)));
	put16(nip + 10, 0);
	put16(nip + 10, fold_be(sum_be(nip, hl, 0)));
	return ETH_HDR_LEN + hl + n;
}

static void parse_tcp_opts(const uint8_t *p, size_t n, struct parsed_tcp_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->mss = o->wscale = -1;
	for (size_t i = 0; i < n;) {
		uint8_t k = p[i];
		if (k == TCP_OPT_END)
			break;
		if (k == TCP_OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= n || p[i + 1] < 2)
			break;
		uint8_t l = p[i + 1];
		switch (k) {
		case TCP_OPT_MSS:
			o->mss = get16(p + i + 2);
			break;
		case TCP_OPT_WSCALE:
			o->wscale = p[i + 2];
			break;
		case TCP_OPT_SACK_PERM:
			o->sack_perm = true;
			break;
		case TCP_OPT_TIMESTAMP:
			o->ts = true;
			o->tsval = get32(p + i + 2);
			o->tsecr = get32(p + i + 6);
			break;
		case TCP_OPT_SACK:
			o->nsack = (l - 2) / 8;
			for (int b = 0; b < o->nsack && b < 4; b++) {
				o->sack[b][0] = get32(p + i + 2 + 8 * b);
				o->sack[b][1] = get32(p + i + 6 + 8 * b);
			}
			break;
		}
		i += l;
	}
}

int parse_frame(const uint8_t *f, size_t len, struct parsed *p)
{
	memset(p, 0, sizeof(*p));
	p->opt.mss = p->opt.wscale = -1;
	if (len < ETH_HDR_LEN)
		return -1;
	memcpy(p->dst, f, 6);
	memcpy(p->src, f + 6, 6);
	p->ethertype = get16(f + 12);
	if (p->ethertype == ETH_TYPE_ARP) {
		const uint8_t *a = f + ETH_HDR_LEN;
		if (len < ETH_HDR_LEN + 28)
			return -1;
		p->arp_op = get16(a + 6);
		memcpy(p->arp_sha, a + 8, 6);
		memcpy(&p->arp_spa, a + 14, 4);
		memcpy(&p->arp_tpa, a + 24, 4);
		return 0;
	}
	if (p->ethertype != ETH_TYPE_IPV4 || len < ETH_HDR_LEN + IP_HDR_LEN)
		return -1;
	const uint8_t *ip = f + ETH_HDR_LEN;
	size_t hl = (ip[0] & 0x0f) * 4u;
	p->ip = ip;
	p->tot_len = get16(ip + 2);
	p->iplen = p->tot_len;
	if ((ip[0] >> 4) != 4 || hl < IP_HDR_LEN || p->tot_len < hl ||
	    ETH_HDR_LEN + (size_t)p->tot_len > len)
		return -1;
	p->ip_csum_ok = fold_be(sum_be(ip, hl, 0)) == 0;
	p->id = get16(ip + 4);
	p->frag_off = get16(ip + 6);
	p->ttl = ip[8];
	p->proto = ip[9];
	memcpy(&p->saddr, ip + 12, 4);
	memcpy(&p->daddr, ip + 16, 4);
	const uint8_t *l4 = ip + hl;
	size_t l4len = p->tot_len - hl;
	if (p->frag_off & (IP_MF | IP_OFFMASK)) {
		p->payload = l4;
		p->len = l4len;
		return 0;
	}
	if (p->proto == IP_PROTO_TCP) {
		if (l4len < TCP_HDR_LEN)
			return -1;
		size_t thl = (l4[12] >> 4) * 4u;
		if (thl < TCP_HDR_LEN || thl > l4len)
			return -1;
		p->sport = get16(l4);
		p->dport = get16(l4 + 2);
		p->seq = get32(l4 + 4);
		p->ack = get32(l4 + 8);
		p->flags = l4[13];
		p->win = get16(l4 + 14);
		parse_tcp_opts(l4 + TCP_HDR_LEN, thl - TCP_HDR_LEN, &p->opt);
		p->payload = l4 + thl;
		p->len = l4len - thl;
		uint32_t acc = pseudo_be(p->saddr, p->daddr, IP_PROTO_TCP, l4len);
		p->csum_ok = fold_be(sum_be(l4, l4len, acc)) == 0;
	} else if (p->proto == IP_PROTO_UDP) {
		if (l4len < UDP_HDR_LEN)
			return -1;
		p->sport = get16(l4);
		p->dport = get16(l4 + 2);
		p->payload = l4 + UDP_HDR_LEN;
		p->len = get16(l4 + 4) - UDP_HDR_LEN;
		uint32_t acc = pseudo_be(p->saddr, p->daddr, IP_PROTO_UDP, l4len);
		p->csum_ok = get16(l4 + 6) == 0 || fold_be(sum_be(l4, l4len, acc)) == 0;
	} else if (p->proto == IP_PROTO_ICMP) {
		if (l4len < ICMP_HDR_LEN)
			return -1;
		p->icmp_type = l4[0];
		p->icmp_code = l4[1];
		p->payload = l4 + ICMP_HDR_LEN;
		p->len = l4len - ICMP_HDR_LEN;
		p->csum_ok = fold_be(sum_be(l4, l4len, 0)) == 0;
	}
	return 0;
}
