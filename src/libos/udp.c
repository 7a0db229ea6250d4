/* udp.c - UDP (RFC 768): end-points, demultiplexing, checksums, ICMP errors */
#include <stdlib.h>
#include <exos/udp.h>
#include <xok/proto/udp.h>

#include "libos.h"

#define UDP_HASH_SIZE 256

struct exos_udp {
	struct exos_udp *hnext;
	struct exos_stack *s;
	uint32_t laddr; /* network order; 0 = any of ours */
	uint16_t lport; /* network order */
	const struct exos_udp_ops *ops;
	void *arg;
	uint32_t filter_id, icmp_filter;
};

int udp_init(struct exos_stack *s)
{
	s->udp.htab = calloc(UDP_HASH_SIZE, sizeof(*s->udp.htab));
	if (!s->udp.htab)
		return -ENOMEM;
	s->udp.hmask = UDP_HASH_SIZE - 1;
	slab_init(&s->udp.slab, sizeof(struct exos_udp));
	return 0;
}

static void udp_unhash(struct exos_udp *u)
{
	struct exos_udp **pp = &u->s->udp.htab[ntohs(u->lport) & u->s->udp.hmask];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == u) {
			*pp = u->hnext;
			u->s->udp.count--;
			return;
		}
	}
}

void udp_destroy(struct exos_stack *s)
{
	if (!s->udp.htab)
		return;
	for (uint32_t i = 0; i <= s->udp.hmask; i++)
		while (s->udp.htab[i])
			exos_udp_close(s->udp.htab[i]);
	free(s->udp.htab);
	s->udp.htab = NULL;
	slab_destroy(&s->udp.slab);
}

static struct exos_udp *udp_lookup(struct exos_stack *s, uint32_t laddr, uint16_t lport)
{
	for (struct exos_udp *u = s->udp.htab[ntohs(lport) & s->udp.hmask]; u; u = u->hnext)
		if (u->lport == lport && (!u->laddr || u->laddr == laddr))
			return u;
	return NULL;
}

void udp_input(struct exos_stack *s, const struct ip_hdr *ip, const uint8_t *p, size_t len)
{
	const struct udp_hdr *uh = (const struct udp_hdr *)p;
	struct exos_udp *u;
	size_t ulen;

	s->st.udp_in++;
	if (len < UDP_HDR_LEN || (ulen = ntohs(uh->len)) < UDP_HDR_LEN || ulen > len) {
		s->st.rx_drop_badip++;
		return;
	}
	if (uh->check && !(s->flags & EXOS_STACK_NO_RX_CSUM)) {
		uint32_t sum = cksum_pseudo(ip->saddr, ip->daddr, IP_PROTO_UDP, (uint32_t)ulen);
		if (cksum_fold(cksum_partial(p, ulen, sum)) != 0xffff) {
			if (!cksum_is_partial(uh->check, ip->saddr, ip->daddr, IP_PROTO_UDP,
					      (uint32_t)ulen)) {
				s->st.rx_drop_csum++;
				return;
			}
			s->st.rx_csum_partial++;
		}
	}
	u = udp_lookup(s, ip->daddr, uh->dport);
	if (!u) {
		s->st.udp_drop_nosock++;
		return;
	}
	if (u->ops && u->ops->on_recv)
		u->ops->on_recv(u, p + UDP_HDR_LEN, ulen - UDP_HDR_LEN, ip->saddr,
				ntohs(uh->sport), u->arg);
}

void udp_icmp_error(struct exos_stack *s, int err, const struct ip_hdr *inner,
		    const uint8_t *l4, size_t len)
{
	const struct udp_hdr *uh = (const struct udp_hdr *)l4;
	struct exos_udp *u;

	if (len < 4)
		return;
	u = udp_lookup(s, inner->saddr, uh->sport);
	if (!u)
		return;
	s->st.icmp_errors_delivered++;
	if (u->ops && u->ops->on_error)
		u->ops->on_error(u, err, inner->daddr, ntohs(uh->dport), u->arg);
}

static int udp_claim(struct exos_stack *s, struct exos_udp *u, uint16_t port)
{
	struct dpf_filter f;
	int err;

	if (udp_lookup(s, u->laddr, htons(port)))
		return -EADDRINUSE;
	dpf_filter_init(&f);
	if (dpf_filter_udp_port(&f, ntohl(u->laddr), port) < 0)
		return -EINVAL;
	err = stack_filter_claim(s, &f, &u->filter_id, NULL);
	if (err < 0)
		return err;
	u->lport = htons(port);
	return 0;
}

EXOS_API int exos_udp_open(struct exos_stack *s, uint32_t local_addr, uint16_t local_port,
			   const struct exos_udp_ops *ops, void *arg, struct exos_udp **out)
{
	struct exos_udp *u;
	int err;

	if (local_addr && !stack_is_local(s, local_addr))
		return exos_err(-EADDRNOTAVAIL);
	u = slab_get(&s->udp.slab);
	if (!u)
		return exos_err(-ENOMEM);
	u->s = s;
	u->laddr = local_addr;
	u->ops = ops;
	u->arg = arg;
	stack_clock(s);
	if (local_port) {
		err = udp_claim(s, u, local_port);
	} else {
		err = -EADDRINUSE;
		for (int i = 0; i < UDP_PORT_RETRIES && err == -EADDRINUSE; i++) {
			uint16_t port = (uint16_t)(UDP_EPHEMERAL_LO +
						   stack_random(s) % (UDP_EPHEMERAL_HI -
								      UDP_EPHEMERAL_LO + 1));
			err = udp_claim(s, u, port);
		}
		if (err == -EADDRINUSE)
			err = -EADDRNOTAVAIL;
	}
	if (err < 0) {
		slab_put(&s->udp.slab, u);
		return exos_err(err);
	}
	/* Best effort: without it, ICMP errors just go unreported. */
	if (icmp_error_filter(s, local_addr ? local_addr : s->ifs[0].addr, IP_PROTO_UDP,
			      u->lport, 0, &u->icmp_filter) < 0)
		u->icmp_filter = 0;
	struct exos_udp **head = &s->udp.htab[ntohs(u->lport) & s->udp.hmask];
	u->hnext = *head;
	*head = u;
	s->udp.count++;
	*out = u;
	return 0;
}

EXOS_API void exos_udp_close(struct exos_udp *u)
{
	struct exos_stack *s;

	if (!u)
		return;
	s = u->s;
	udp_unhash(u);
	stack_filter_delete(s, u->filter_id);
	stack_filter_delete(s, u->icmp_filter);
	slab_put(&s->udp.slab, u);
}

EXOS_API uint16_t exos_udp_local_port(const struct exos_udp *u)
{
	return ntohs(u->lport);
}

EXOS_API int exos_udp_sendto(struct exos_udp *u, const void *data, size_t len, uint32_t addr,
			     uint16_t port)
{
	const size_t hoff = ETH_HDR_LEN + IP_HDR_LEN;
	struct exos_stack *s = u->s;
	struct route rt;
	struct txb *t;
	int err;

	if (len > 0xffff - IP_HDR_LEN - UDP_HDR_LEN)
		return exos_err(-EMSGSIZE);
	if (!addr || !port)
		return exos_err(-EDESTADDRREQ);
	stack_clock(s);
	err = ip_route(s, addr, &rt);
	if (err < 0)
		return exos_err(err);
	uint32_t saddr = u->laddr ? u->laddr : rt.ifc->addr;
	t = txb_get(s);
	if (!t)
		return exos_err(-ENOBUFS);

	struct exos_iov iov = {data, (uint32_t)len};
	bool frag = IP_HDR_LEN + UDP_HDR_LEN + len > rt.ifc->mtu;
	if (!frag && len) {
		/* The frame must gather from registered memory: copy into a packet buffer
		 * the txb owns.  (Fragments are copied by ip_output itself.) */
		t->pbuf = pbuf_get(s);
		if (!t->pbuf) {
			txb_release(s, t);
			s->st.tx_drop_nobuf++;
			return exos_err(-ENOBUFS);
		}
		memcpy(t->pbuf, data, len);
		iov.base = t->pbuf;
	}
	struct udp_hdr *uh = (struct udp_hdr *)(t->hdr + hoff);
	uh->sport = u->lport;
	uh->dport = htons(port);
	uh->len = htons((uint16_t)(UDP_HDR_LEN + len));
	uh->check = 0;
	uint32_t sum = cksum_pseudo(saddr, addr, IP_PROTO_UDP, (uint32_t)(UDP_HDR_LEN + len));
	sum = cksum_partial(uh, UDP_HDR_LEN, sum);
	sum = cksum_partial(data, len, sum);
	uh->check = (uint16_t)~cksum_fold(sum);
	if (!uh->check)
		uh->check = 0xffff;
	t->hdr_len = hoff + UDP_HDR_LEN;
	err = ip_output(s, t, saddr, addr, IP_PROTO_UDP, &iov, len ? 1 : 0, len);
	if (err < 0)
		return exos_err(err);
	s->st.udp_out++;
	stack_end_batch(s);
	return 0;
}
