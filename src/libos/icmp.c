/* icmp.c - ICMPv4: echo replies (on request), destination-unreachable errors to end-points */
#include <xok/proto/icmp.h>
#include <xok/proto/tcp.h>
#include <xok/proto/udp.h>

#include "libos.h"
#include "tcp_int.h"

/*
 * ICMP is not end-point specific, so nobody claims all of it: a stack that wants to answer
 * pings installs a filter for echo requests to its address (EXOS_STACK_ICMP_ECHO), and each
 * UDP end-point and active TCP open installs a narrow filter for destination-unreachable
 * errors that quote its own datagrams (inner protocol, source address and port).  Errors
 * are delivered to the matching end-point as ECONNREFUSED, EHOSTUNREACH, ...
 */

int icmp_errno(uint8_t type, uint8_t code)
{
	/* Linux's icmp_err_convert[] */
	static const int unreach[16] = {
		ENETUNREACH, EHOSTUNREACH, ENOPROTOOPT, ECONNREFUSED, EMSGSIZE, EOPNOTSUPP,
		ENETUNREACH, EHOSTDOWN,	   ENONET,	ENETUNREACH,  EHOSTUNREACH, ENETUNREACH,
		EHOSTUNREACH, EHOSTUNREACH, EHOSTUNREACH, EHOSTUNREACH,
	};

	if (type == ICMP_DEST_UNREACH)
		return code < 16 ? -unreach[code] : -EHOSTUNREACH;
	if (type == ICMP_TIME_EXCEEDED)
		return -EHOSTUNREACH;
	return 0;
}

static void icmp_echo_reply(struct exos_stack *s, const struct ip_hdr *ip, const uint8_t *p,
			    size_t len)
{
	const size_t hoff = ETH_HDR_LEN + IP_HDR_LEN;
	struct txb *t;
	void *buf;

	if (len - ICMP_HDR_LEN > PBUF_SIZE)
		return;
	t = txb_get(s);
	buf = t ? pbuf_get(s) : NULL;
	if (!buf) {
		if (t)
			txb_release(s, t);
		s->st.tx_drop_nobuf++;
		return;
	}
	t->pbuf = buf;
	memcpy(buf, p + ICMP_HDR_LEN, len - ICMP_HDR_LEN);
	struct icmp_hdr *ih = (struct icmp_hdr *)(t->hdr + hoff);
	memcpy(ih, p, ICMP_HDR_LEN);
	ih->type = ICMP_ECHO_REPLY;
	ih->code = 0;
	ih->check = 0;
	uint32_t sum = cksum_partial(ih, ICMP_HDR_LEN, 0);
	sum = cksum_partial(buf, len - ICMP_HDR_LEN, sum);
	ih->check = (uint16_t)~cksum_fold(sum);
	t->hdr_len = hoff + ICMP_HDR_LEN;
	struct exos_iov iov = {buf, (uint32_t)(len - ICMP_HDR_LEN)};
	if (ip_output(s, t, ip->daddr, ip->saddr, IP_PROTO_ICMP, &iov, 1, iov.len) == 0)
		s->st.icmp_echo_replies++;
}

static void icmp_error_input(struct exos_stack *s, const struct icmp_hdr *ih, const uint8_t *p,
			     size_t len)
{
	const struct ip_hdr *inner = (const struct ip_hdr *)(p + ICMP_HDR_LEN);
	int err = icmp_errno(ih->type, ih->code);
	size_t ilen = len - ICMP_HDR_LEN;

	if (!err || ilen < IP_HDR_LEN)
		return;
	unsigned hl = ip_hdr_len(inner);
	if ((inner->ver_ihl >> 4) != IP_VERSION || hl < IP_HDR_LEN || ilen < hl + 8)
		return; /* RFC 792: the header and 64 bits of data */
	if (!stack_is_local(s, inner->saddr))
		return; /* not about a datagram of ours */
	const uint8_t *l4 = (const uint8_t *)inner + hl;
	if (inner->proto == IP_PROTO_UDP)
		udp_icmp_error(s, err, inner, l4, ilen - hl);
	else if (inner->proto == IP_PROTO_TCP)
		tcp_icmp_error(s, err, inner, l4, ilen - hl);
}

void icmp_input(struct exos_stack *s, const struct ip_hdr *ip, const uint8_t *p, size_t len)
{
	const struct icmp_hdr *ih = (const struct icmp_hdr *)p;

	s->st.icmp_in++;
	if (len < ICMP_HDR_LEN || cksum(p, len) != 0) {
		s->st.rx_drop_csum++;
		return;
	}
	switch (ih->type) {
	case ICMP_ECHO_REQUEST:
		if (s->flags & EXOS_STACK_ICMP_ECHO)
			icmp_echo_reply(s, ip, p, len);
		break;
	case ICMP_DEST_UNREACH:
	case ICMP_TIME_EXCEEDED:
		icmp_error_input(s, ih, p, len);
		break;
	default:
		break;
	}
}

/* The IPv4 header length indirection: base' = base + 14 + IHL*4 (dpf.h). */
static int icmp_filter_base(struct dpf_filter *f, uint32_t daddr)
{
	int err = 0;

	dpf_filter_init(f);
	err |= dpf_match_ipv4(f);
	err |= dpf_match_ipv4_proto(f, IP_PROTO_ICMP);
	err |= dpf_match_ipv4_dst(f, ntohl(daddr), 32);
	err |= dpf_add_shift(f, ETH_HDR_LEN, 1, 0x0f, 2, ETH_HDR_LEN);
	return err ? -EINVAL : 0;
}

int icmp_echo_enable(struct exos_stack *s)
{
	struct dpf_filter f;

	if (icmp_filter_base(&f, s->ifs[0].addr) < 0 ||
	    dpf_add_match(&f, 0, 1, 0xff, ICMP_ECHO_REQUEST) < 0)
		return -EINVAL;
	return stack_filter_insert(s, &f, &s->echo_filter, NULL);
}

int icmp_error_filter(struct exos_stack *s, uint32_t laddr, uint8_t proto, uint16_t port,
		      uint16_t rport, uint32_t *id)
{
	struct dpf_filter f;
	int err = 0;

	if (s->flags & EXOS_STACK_NO_ICMP_FILTERS) {
		*id = 0;
		return 0;
	}
	if (icmp_filter_base(&f, laddr) < 0)
		return -EINVAL;
	/* After the ICMP header: the quoted IP header, then the quoted transport ports. */
	err |= dpf_add_match(&f, 0, 1, 0xff, ICMP_DEST_UNREACH);
	err |= dpf_add_match(&f, ICMP_HDR_LEN + 9, 1, 0xff, proto);
	err |= dpf_add_match(&f, ICMP_HDR_LEN + 12, 4, 0xffffffffu, ntohl(laddr));
	err |= dpf_add_shift(&f, ICMP_HDR_LEN, 1, 0x0f, 2, ICMP_HDR_LEN);
	err |= dpf_add_match(&f, 0, 2, 0xffff, ntohs(port));
	if (rport)
		err |= dpf_add_match(&f, 2, 2, 0xffff, ntohs(rport));
	if (err)
		return -EINVAL;
	return stack_filter_insert(s, &f, id, NULL);
}
