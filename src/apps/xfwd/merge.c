/* merge.c - xfwd's coalescing of in-order segments into one offload frame (see merge.h) */
#include <arpa/inet.h>
#include <string.h>

#include "merge.h"

/* The TCP header's word at offset 12: header length, flags, window. */
static uint32_t hdr_word12(const struct tcp_hdr *th, uint8_t ignore_flags)
{
	return (uint32_t)th->off << 24 | (uint32_t)(th->flags & (uint8_t)~ignore_flags) << 16 |
	       th->win;
}

bool merge_candidate(const struct nat_pkt *p)
{
	return (p->th->flags & (uint8_t)~TCP_PSH) == TCP_ACK && p->paylen >= XOK_TX_GSO_MIN &&
	       ip_hdr_len(p->ip) == IP_HDR_LEN;
}

bool merge_csum_ok(const struct nat_pkt *p)
{
	uint64_t sum = nat_csum_pseudo(p->ip->saddr, p->ip->daddr, IP_PROTO_TCP, p->tcp_len);

	return nat_csum_fold(nat_csum_add(sum, p->th, p->tcp_len)) == 0xffff;
}

void merge_start(struct merge_train *t, const struct nat_pkt *p, const void *key,
		 uint32_t ifindex, uint32_t entry, uint32_t gso_max)
{
	uint32_t hdrs = p->len - p->paylen;

	t->head = *p;
	t->key = key;
	t->ifindex = ifindex;
	t->first = entry;
	t->nseg = 1;
	t->seg_len = p->paylen;
	t->total = p->paylen;
	t->max_total = gso_max > hdrs ? gso_max - hdrs : 0;
	t->next_seq = ntohl(p->th->seq) + p->paylen;
	t->head_ok = false;
	t->closed = (p->th->flags & TCP_PSH) != 0;
	t->piece[0] = (struct exos_iov){.base = p->frame, .len = p->len};
}

/* Everything but the payload says p continues the train. */
static bool follows(const struct merge_train *t, const struct nat_pkt *p)
{
	const struct nat_pkt *h = &t->head;
	uint32_t thl = tcp_hdr_len(h->th);

	return !t->closed && t->nseg < MERGE_SEGS_MAX && p->paylen <= t->seg_len &&
	       t->total + p->paylen <= t->max_total && ntohl(p->th->seq) == t->next_seq &&
	       p->th->ack == h->th->ack && hdr_word12(p->th, TCP_PSH) == hdr_word12(h->th, TCP_PSH) &&
	       p->th->urg == h->th->urg &&
	       memcmp((const uint8_t *)p->th + TCP_HDR_LEN, (const uint8_t *)h->th + TCP_HDR_LEN,
		      thl - TCP_HDR_LEN) == 0 &&
	       p->ip->tos == h->ip->tos && p->ip->ttl == h->ip->ttl &&
	       p->ip->frag_off == h->ip->frag_off && p->ip->saddr == h->ip->saddr &&
	       p->ip->daddr == h->ip->daddr && p->th->sport == h->th->sport &&
	       p->th->dport == h->th->dport && memcmp(p->eth, h->eth, ETH_HDR_LEN) == 0;
}

bool merge_join(struct merge_train *t, const struct nat_pkt *p, const void *key,
		uint32_t ifindex)
{
	if (!t->nseg || t->key != key || t->ifindex != ifindex || !follows(t, p))
		return false;
	if (!t->head_ok) {
		if (!merge_csum_ok(&t->head))
			return false;
		t->head_ok = true;
	}
	if (!merge_csum_ok(p))
		return false;
	t->piece[t->nseg++] = (struct exos_iov){
	    .base = (const uint8_t *)p->th + tcp_hdr_len(p->th),
	    .len = p->paylen,
	};
	t->total += p->paylen;
	t->next_seq += p->paylen;
	if (p->paylen < t->seg_len || (p->th->flags & TCP_PSH)) {
		t->head.th->flags |= p->th->flags & TCP_PSH;
		t->closed = true;
	}
	return true;
}

int merge_finish(struct merge_train *t)
{
	struct nat_pkt *h = &t->head;
	uint32_t tcp_len = tcp_hdr_len(h->th) + t->total;

	h->ip->tot_len = htons((uint16_t)(IP_HDR_LEN + tcp_len));
	nat_ip_csum_full(h->ip);
	h->th->check = nat_csum_fold(nat_csum_pseudo(h->ip->saddr, h->ip->daddr, IP_PROTO_TCP,
						     tcp_len));
	return (int)t->nseg;
}
