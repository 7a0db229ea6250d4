/* ip_in.c - IPv4 input: validation, options skipped, bounded fragment reassembly */
#include <stdlib.h>
#include <xok/proto/icmp.h>

#include "libos.h"
#include "tcp_int.h"

static void ip_dispatch(struct exos_stack *s, const struct exos_iface *ifc,
			const struct ip_hdr *ip, uint8_t *p, size_t len)
{
	switch (ip->proto) {
	case IP_PROTO_TCP:
		tcp_input(s, ifc, ip, p, len);
		break;
	case IP_PROTO_UDP:
		udp_input(s, ip, p, len);
		break;
	case IP_PROTO_ICMP:
		icmp_input(s, ip, p, len);
		break;
	default:
		s->st.rx_drop_noproto++;
		break;
	}
}

/* ---- reassembly (RFC 791 §3.2, bounded: IP_REASM_SLOTS datagrams, 30 s each) ---- */

static void reasm_free(struct ip_reasm *r)
{
	r->used = false;
	r->have_last = false;
	r->total = r->received = 0;
	memset(r->map, 0, sizeof(r->map));
}

static void reasm_timer_rearm(struct exos_stack *s)
{
	uint64_t d = 0;

	for (unsigned i = 0; i < IP_REASM_SLOTS; i++) {
		struct ip_reasm *r = &s->ip.reasm[i];
		if (r->used && (!d || r->deadline < d))
			d = r->deadline;
	}
	if (d)
		timer_arm(s, &s->ip.reasm_timer, d);
	else
		timer_cancel(s, &s->ip.reasm_timer);
}

static void reasm_timer_fn(struct exos_stack *s, struct exos_timer *t)
{
	(void)t;
	for (unsigned i = 0; i < IP_REASM_SLOTS; i++) {
		struct ip_reasm *r = &s->ip.reasm[i];
		if (r->used && r->deadline <= s->now) {
			s->st.ip_reasm_drop++;
			reasm_free(r);
		}
	}
	reasm_timer_rearm(s);
}

void ip_init(struct exos_stack *s)
{
	s->ip.next_id = (uint16_t)stack_random(s);
	timer_init(&s->ip.reasm_timer, reasm_timer_fn);
}

void ip_reasm_destroy(struct exos_stack *s)
{
	for (unsigned i = 0; i < IP_REASM_SLOTS; i++) {
		free(s->ip.reasm[i].data);
		s->ip.reasm[i].data = NULL;
		reasm_free(&s->ip.reasm[i]);
	}
	timer_cancel(s, &s->ip.reasm_timer);
}

static struct ip_reasm *reasm_find(struct exos_stack *s, const struct ip_hdr *ip)
{
	struct ip_reasm *free_slot = NULL;

	for (unsigned i = 0; i < IP_REASM_SLOTS; i++) {
		struct ip_reasm *r = &s->ip.reasm[i];
		if (r->used && r->saddr == ip->saddr && r->daddr == ip->daddr &&
		    r->id == ip->id && r->proto == ip->proto)
			return r;
		if (!r->used && !free_slot)
			free_slot = r;
	}
	if (!free_slot)
		return NULL;
	if (!free_slot->data) {
		free_slot->data = malloc(IP_HDR_LEN + IP_REASM_MAX);
		if (!free_slot->data)
			return NULL;
	}
	reasm_free(free_slot);
	free_slot->used = true;
	free_slot->saddr = ip->saddr;
	free_slot->daddr = ip->daddr;
	free_slot->id = ip->id;
	free_slot->proto = ip->proto;
	free_slot->deadline = s->now + IP_REASM_TIMEOUT_NS;
	reasm_timer_rearm(s);
	return free_slot;
}

static bool reasm_complete(const struct ip_reasm *r)
{
	uint32_t units = (r->total + 7) / 8;

	for (uint32_t u = 0; u < units; u++)
		if (!(r->map[u / 8] & (1u << (u % 8))))
			return false;
	return true;
}

static void ip_reasm(struct exos_stack *s, const struct exos_iface *ifc, const struct ip_hdr *ip,
		     const uint8_t *p, size_t len)
{
	uint16_t fo = ntohs(ip->frag_off);
	uint32_t off = (uint32_t)(fo & IP_OFFMASK) * 8;
	bool more = fo & IP_MF;
	struct ip_reasm *r;

	s->st.ip_frags++;
	if ((more && (len % 8 || len == 0)) || off + len > IP_REASM_MAX) {
		s->st.ip_reasm_drop++;
		return;
	}
	r = reasm_find(s, ip);
	if (!r) {
		s->st.ip_reasm_drop++;
		return;
	}
	if (!more) {
		if (r->have_last && r->total != off + len) {
			s->st.ip_reasm_drop++;
			reasm_free(r);
			return;
		}
		r->have_last = true;
		r->total = off + len;
	} else if (r->have_last && off + len > r->total) {
		s->st.ip_reasm_drop++;
		reasm_free(r);
		return;
	}
	memcpy(r->data + IP_HDR_LEN + off, p, len);
	for (uint32_t u = off / 8; u < (off + len + 7) / 8; u++)
		r->map[u / 8] |= (uint8_t)(1u << (u % 8));
	if (!r->have_last || !reasm_complete(r))
		return;

	struct ip_hdr *h = (struct ip_hdr *)r->data;
	memcpy(h, ip, IP_HDR_LEN);
	h->ver_ihl = (IP_VERSION << 4) | (IP_HDR_LEN / 4);
	h->tot_len = htons((uint16_t)(IP_HDR_LEN + r->total));
	h->frag_off = 0;
	s->st.ip_reasm_ok++;
	uint32_t total = r->total;
	reasm_free(r);
	reasm_timer_rearm(s);
	ip_dispatch(s, ifc, h, r->data + IP_HDR_LEN, total);
}

void ip_input(struct exos_stack *s, const struct exos_iface *ifc, uint8_t *pkt, size_t len)
{
	const struct ip_hdr *ip = (const struct ip_hdr *)pkt;
	unsigned hl;
	size_t tot;

	if (unlikely(len < IP_HDR_LEN || (ip->ver_ihl >> 4) != IP_VERSION)) {
		s->st.rx_drop_badip++;
		return;
	}
	hl = ip_hdr_len(ip);
	tot = ntohs(ip->tot_len);
	if (unlikely(hl < IP_HDR_LEN || tot < hl || tot > len || cksum(ip, hl) != 0)) {
		s->st.rx_drop_badip++;
		return;
	}
	/* Options (hl > 20) are skipped: none changes how we process a datagram. */
	if (unlikely(!stack_is_local(s, ip->daddr))) {
		bool bcast = ip->daddr == INADDR_BROADCAST ||
			     (ifc->mask && (ip->daddr | ifc->mask) == 0xffffffffu &&
			      ((ip->daddr ^ ifc->addr) & ifc->mask) == 0);
		if (!bcast || ip->proto != IP_PROTO_UDP) {
			s->st.rx_drop_notours++;
			return;
		}
	}
	if (unlikely(ntohs(ip->frag_off) & (IP_MF | IP_OFFMASK))) {
		ip_reasm(s, ifc, ip, pkt + hl, tot - hl);
		return;
	}
	ip_dispatch(s, ifc, ip, pkt + hl, tot - hl);
}
