/* ip_out.c - IPv4 output: routing (on-link or gateway), header, fragmentation */
#include "libos.h"

int ip_route(const struct exos_stack *s, uint32_t daddr, struct route *rt)
{
	const struct exos_iface *gw = NULL;

	for (unsigned i = 0; i < s->nifs; i++) {
		const struct exos_iface *ifc = &s->ifs[i];
		if (((daddr ^ ifc->addr) & ifc->mask) == 0 || daddr == INADDR_BROADCAST) {
			rt->ifc = ifc;
			rt->nexthop = daddr;
			return 0;
		}
		if (ifc->gateway && !gw)
			gw = ifc;
	}
	if (!gw)
		return -ENETUNREACH;
	rt->ifc = gw;
	rt->nexthop = gw->gateway;
	return 0;
}

void ip_hdr_fill(struct ip_hdr *ip, uint32_t saddr, uint32_t daddr, uint8_t proto,
		 uint16_t tot_len, uint16_t id, uint16_t frag_off)
{
	ip->ver_ihl = (IP_VERSION << 4) | (IP_HDR_LEN / 4);
	ip->tos = 0;
	ip->tot_len = htons(tot_len);
	ip->id = htons(id);
	ip->frag_off = htons(frag_off);
	ip->ttl = IP_TTL_DEFAULT;
	ip->proto = proto;
	ip->check = 0;
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->check = cksum(ip, IP_HDR_LEN);
}

/* Copies bytes [off, off+n) of (head ++ pieces) to dst. */
static void gather_copy(uint8_t *dst, const uint8_t *head, size_t headlen,
			const struct exos_iov *v, int nv, size_t off, size_t n)
{
	while (n && off < headlen) {
		size_t k = MIN(n, headlen - off);
		memcpy(dst, head + off, k);
		dst += k;
		off += k;
		n -= k;
	}
	off -= headlen;
	for (int i = 0; n && i < nv; i++) {
		if (off >= v[i].len) {
			off -= v[i].len;
			continue;
		}
		size_t k = MIN(n, v[i].len - off);
		memcpy(dst, (const uint8_t *)v[i].base + off, k);
		dst += k;
		n -= k;
		off = 0;
	}
}

static int ip_fragment(struct exos_stack *s, const struct route *rt, struct txb *t,
		       uint32_t saddr, uint32_t daddr, uint8_t proto, const struct exos_iov *data,
		       int ndata, size_t plen)
{
	const size_t hoff = ETH_HDR_LEN + IP_HDR_LEN;
	size_t maxfrag = (rt->ifc->mtu - IP_HDR_LEN) & ~(size_t)7;
	uint16_t id = s->ip.next_id++;
	int err = 0;

	if (maxfrag > PBUF_SIZE)
		maxfrag = PBUF_SIZE & ~(size_t)7;
	for (size_t off = 0; off < plen && !err; off += maxfrag) {
		size_t n = MIN(maxfrag, plen - off);
		struct txb *f = txb_get(s);
		void *buf = f ? pbuf_get(s) : NULL;
		if (!buf) {
			if (f)
				txb_release(s, f);
			s->st.tx_drop_nobuf++;
			err = -ENOBUFS;
			break;
		}
		f->pbuf = buf;
		gather_copy(buf, t->hdr + hoff, t->hdr_len - hoff, data, ndata, off, n);
		eth_fill(f->hdr, rt->ifc->mac, rt->ifc->mac, ETH_TYPE_IPV4); /* dst: ARP */
		ip_hdr_fill((struct ip_hdr *)(f->hdr + ETH_HDR_LEN), saddr, daddr, proto,
			    (uint16_t)(IP_HDR_LEN + n), id,
			    (uint16_t)((off / 8) | (off + n < plen ? IP_MF : 0)));
		f->hdr_len = hoff;
		struct exos_iov iov = {buf, (uint32_t)n};
		err = arp_output(s, rt, f, &iov, 1);
	}
	txb_release(s, t);
	return err;
}

int ip_output(struct exos_stack *s, struct txb *t, uint32_t saddr, uint32_t daddr,
	      uint8_t proto, const struct exos_iov *data, int ndata, size_t datalen)
{
	const size_t hoff = ETH_HDR_LEN + IP_HDR_LEN;
	struct route rt;
	int err = ip_route(s, daddr, &rt);

	if (err < 0) {
		txb_release(s, t);
		return err;
	}
	if (!saddr)
		saddr = rt.ifc->addr;
	size_t plen = t->hdr_len - hoff + datalen;
	if (plen > 0xffff - IP_HDR_LEN) {
		txb_release(s, t);
		return -EMSGSIZE;
	}
	if (IP_HDR_LEN + plen > rt.ifc->mtu)
		return ip_fragment(s, &rt, t, saddr, daddr, proto, data, ndata, plen);
	eth_fill(t->hdr, rt.ifc->mac, rt.ifc->mac, ETH_TYPE_IPV4); /* dst set by ARP */
	ip_hdr_fill((struct ip_hdr *)(t->hdr + ETH_HDR_LEN), saddr, daddr, proto,
		    (uint16_t)(IP_HDR_LEN + plen), s->ip.next_id++, 0);
	return arp_output(s, &rt, t, data, ndata);
}
