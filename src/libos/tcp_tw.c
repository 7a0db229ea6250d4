/* tcp_tw.c - compact TIME_WAIT blocks: the few values a closed connection still needs */
#include <stdlib.h>
#include <exos/twd.h>

#include "tcp_int.h"

/*
 * §3.3 (3) and its "minimized and isolated" control blocks: a connection entering
 * TIME_WAIT gives up its PCB, buffers and timers and keeps only what answering a
 * retransmitted FIN (or a stray segment) takes, plus its filter when it had its own (or its
 * port block's reference, which keeps the block's filter).  All
 * blocks wait the same 2*MSL, so a FIFO ordered by expiry and one stack timer serve them
 * all.  A process that exits hands its blocks to twd - the paper's third approach -
 * with their filters' capabilities (handoff.c); blocks of connections a listener's filter
 * delivered go with the listener's filter, and come back (tcp_tw_adopt) to the next
 * process that listens on the port.
 */

#define TW_TS 0x1 /* timestamps in use */

struct tcp_tw {
	struct tcp_tw *hnext;
	struct tcp_tw *qnext, *qprev;
	uint32_t laddr, raddr; /* network order */
	uint16_t lport, rport; /* network order */
	uint32_t snd_nxt, rcv_nxt;
	uint32_t ts_recent, ts_offset;
	uint32_t filter_id, icmp_filter;
	struct tcp_pblock *pblock; /* the port block that delivers it (tcp_port.c) */
	uint16_t win; /* the window field we last advertised (already scaled down) */
	uint8_t flags;
	uint8_t wscale; /* our window scale: win << wscale bytes */
	uint64_t expire;
	uint64_t since; /* TIME_WAIT began (twd counts its own 2 MSL from here) */
	struct xok_cap cap; /* filter_id's capability */
};

static void tw_timer_fn(struct exos_stack *s, struct exos_timer *t);

int tcp_tw_init(struct exos_stack *s)
{
	struct tcp_state *t = s->tcp;

	t->twtab = calloc(TCP_HASH_INIT, sizeof(*t->twtab));
	if (!t->twtab)
		return -ENOMEM;
	t->twmask = TCP_HASH_INIT - 1;
	slab_init(&t->tw_slab, sizeof(struct tcp_tw));
	timer_init(&t->tw_timer, tw_timer_fn);
	return 0;
}

static struct tcp_tw **tw_bucket(struct tcp_state *t, uint32_t laddr, uint16_t lport,
				 uint32_t raddr, uint16_t rport)
{
	return &t->twtab[tcp_hash4(t, laddr, lport, raddr, rport) & t->twmask];
}

static void tw_grow(struct tcp_state *t)
{
	uint32_t nsize = (t->twmask + 1) * 2;
	struct tcp_tw **nt = calloc(nsize, sizeof(*nt));

	if (!nt)
		return;
	for (uint32_t i = 0; i <= t->twmask; i++) {
		struct tcp_tw *w, *next;
		for (w = t->twtab[i]; w; w = next) {
			next = w->hnext;
			uint32_t b = tcp_hash4(t, w->laddr, w->lport, w->raddr, w->rport) & (nsize - 1);
			w->hnext = nt[b];
			nt[b] = w;
		}
	}
	free(t->twtab);
	t->twtab = nt;
	t->twmask = nsize - 1;
}

static struct tcp_tw *tw_lookup(struct tcp_state *t, uint32_t laddr, uint16_t lport,
				uint32_t raddr, uint16_t rport)
{
	for (struct tcp_tw *w = *tw_bucket(t, laddr, lport, raddr, rport); w; w = w->hnext)
		if (w->rport == rport && w->raddr == raddr && w->lport == lport && w->laddr == laddr)
			return w;
	return NULL;
}

bool tcp_tw_exists(struct exos_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
		   uint16_t rport)
{
	return tw_lookup(s->tcp, laddr, lport, raddr, rport) != NULL;
}

static void tw_queue_append(struct tcp_state *t, struct tcp_tw *w)
{
	w->qnext = NULL;
	w->qprev = t->tw_tail;
	if (t->tw_tail)
		t->tw_tail->qnext = w;
	else
		t->tw_head = w;
	t->tw_tail = w;
}

static void tw_queue_unlink(struct tcp_state *t, struct tcp_tw *w)
{
	if (w->qprev)
		w->qprev->qnext = w->qnext;
	else
		t->tw_head = w->qnext;
	if (w->qnext)
		w->qnext->qprev = w->qprev;
	else
		t->tw_tail = w->qprev;
}

static void tw_unlink(struct exos_stack *s, struct tcp_tw *w)
{
	struct tcp_state *t = s->tcp;

	for (struct tcp_tw **pp = tw_bucket(t, w->laddr, w->lport, w->raddr, w->rport); *pp;
	     pp = &(*pp)->hnext) {
		if (*pp == w) {
			*pp = w->hnext;
			break;
		}
	}
	t->twcount--;
	tw_queue_unlink(t, w);
}

static void tw_free(struct exos_stack *s, struct tcp_tw *w)
{
	tw_unlink(s, w);
	stack_filter_delete(s, w->filter_id);
	stack_filter_delete(s, w->icmp_filter);
	tcp_port_tw_done(s, w->pblock);
	slab_put(&s->tcp->tw_slab, w);
}

static void tw_timer_rearm(struct exos_stack *s)
{
	struct tcp_state *t = s->tcp;

	if (t->tw_head)
		timer_arm(s, &t->tw_timer, t->tw_head->expire);
	else
		timer_cancel(s, &t->tw_timer);
}

static void tw_timer_fn(struct exos_stack *s, struct exos_timer *tm)
{
	struct tcp_state *t = s->tcp;

	(void)tm;
	while (t->tw_head && t->tw_head->expire <= s->now)
		tw_free(s, t->tw_head);
	tw_timer_rearm(s);
}

void tcp_tw_destroy(struct exos_stack *s)
{
	struct tcp_state *t = s->tcp;

	while (t->tw_head)
		tw_free(s, t->tw_head);
	timer_cancel(s, &t->tw_timer);
	slab_destroy(&t->tw_slab);
	free(t->twtab);
	t->twtab = NULL;
}

void tcp_tw_enter(struct exos_tcp *c)
{
	struct exos_stack *s = c->s;
	struct tcp_state *t = s->tcp;
	struct tcp_tw *w;

	if (t->twcount > t->twmask)
		tw_grow(t);
	w = slab_get(&t->tw_slab);
	if (w) {
		w->laddr = c->laddr;
		w->raddr = c->raddr;
		w->lport = c->lport;
		w->rport = c->rport;
		w->snd_nxt = c->snd_max;
		w->rcv_nxt = c->rcv_nxt;
		w->ts_recent = c->ts_recent;
		w->ts_offset = c->ts_offset;
		w->flags = (c->flags & TF_TS_OK) ? TW_TS : 0;
		uint32_t adv = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
		w->win = (uint16_t)MIN(adv >> c->rcv_wscale, 0xffffu);
		w->wscale = c->rcv_wscale;
		w->filter_id = c->filter_id; /* the block keeps the connection's filter */
		w->cap = c->filter_cap;
		w->icmp_filter = c->icmp_filter;
		w->pblock = tcp_port_to_tw(c);
		c->filter_id = c->icmp_filter = 0;
		w->expire = s->now + 2 * t->msl_ns;
		w->since = s->now;
		struct tcp_tw **b = tw_bucket(t, w->laddr, w->lport, w->raddr, w->rport);
		w->hnext = *b;
		*b = w;
		t->twcount++;
		tw_queue_append(t, w);
		if (!timer_armed(&t->tw_timer))
			tw_timer_rearm(s);
	}
	tcp_set_state(c, EXOS_TCP_TIME_WAIT);
	tcp_done(c, 0);
}

static void tw_send_ack(struct exos_stack *s, const struct tcp_tw *w)
{
	struct tcp_ctl x = {
		.laddr = w->laddr,
		.raddr = w->raddr,
		.lport = w->lport,
		.rport = w->rport,
		.seq = w->snd_nxt,
		.ack = w->rcv_nxt,
		.flags = TCP_ACK,
		.win = w->win,
		.ts = w->flags & TW_TS,
		.tsval = (uint32_t)(s->now / NSEC_PER_MSEC) + w->ts_offset,
		.tsecr = w->ts_recent,
	};

	tcp_xmit_ctl(s, &x);
}

bool tcp_tw_input(struct exos_stack *s, const struct exos_iface *ifc, struct tcp_seg *seg)
{
	struct tcp_state *t = s->tcp;
	struct tcp_tw *w = tw_lookup(t, seg->ip->daddr, seg->th->dport, seg->ip->saddr,
				     seg->th->sport);

	(void)ifc;
	if (!w)
		return false;
	if (seg->flags & TCP_RST) {
		/* As Linux (tcp_rfc1337 = 0): a reset ends TIME_WAIT early. */
		if (seg->seq == w->rcv_nxt) {
			tw_free(s, w);
			tw_timer_rearm(s);
		}
		return true;
	}
	bool ts = (w->flags & TW_TS) && seg->opt.ts;
	if (ts && SEQ_LT(seg->opt.tsval, w->ts_recent)) {
		tw_send_ack(s, w); /* PAWS */
		return true;
	}
	if ((seg->flags & (TCP_SYN | TCP_ACK)) == TCP_SYN &&
	    (SEQ_GT(seg->seq, w->rcv_nxt) || (ts && SEQ_GT(seg->opt.tsval, w->ts_recent)))) {
		/* A new incarnation (RFC 9293 3.10.7.4 TIME-WAIT, RFC 6191): let it through. */
		tw_free(s, w);
		tw_timer_rearm(s);
		return false;
	}
	if (seg->flags & TCP_FIN) {
		/* The peer retransmitted its FIN: our last ACK was lost.  Restart 2 MSL. */
		w->expire = s->now + 2 * t->msl_ns;
		tw_queue_unlink(t, w);
		tw_queue_append(t, w);
		tw_timer_rearm(s);
	}
	if (ts && SEQ_GEQ(seg->opt.tsval, w->ts_recent))
		w->ts_recent = seg->opt.tsval;
	if ((seg->flags & (TCP_FIN | TCP_SYN)) || seg->len)
		tw_send_ack(s, w);
	return true;
}

/* ---- the hand-off to twd (handoff.c) ---- */

struct tcp_tw *tcp_tw_first(struct exos_stack *s)
{
	return s->tcp->tw_head;
}

struct tcp_tw *tcp_tw_next(struct tcp_tw *w)
{
	return w->qnext;
}

uint32_t tcp_tw_count(const struct exos_stack *s)
{
	return s->tcp->twcount;
}

bool tcp_tw_on_listener(const struct tcp_tw *w, const struct exos_tcp *l)
{
	return !w->filter_id && !w->pblock && w->lport == l->lport &&
	       (!l->laddr || w->laddr == l->laddr);
}

void tcp_tw_prune_orphans(struct exos_stack *s)
{
	struct tcp_tw *w = s->tcp->tw_head, *next;

	for (; w; w = next) {
		next = w->qnext;
		if (!w->filter_id && !w->pblock && !tcp_listener_lookup(s, w->laddr, w->lport))
			tw_free(s, w);
	}
	tw_timer_rearm(s);
}

bool tcp_tw_rec(struct exos_stack *s, const struct tcp_tw *w, struct twd_rec *r)
{
	struct route rt;

	memset(r, 0, sizeof(*r));
	if (w->filter_id) {
		r->filter = w->filter_id;
		r->cap = w->cap;
	} else if (w->pblock) {
		tcp_port_rec(w->pblock, r);
	} else {
		/* Demultiplexed by a listener's filter: twd gets the listener's. */
		struct exos_tcp *l = tcp_listener_lookup(s, w->laddr, w->lport);
		if (!l || !l->filter_id)
			return false; /* its listener closed earlier: nothing delivers it */
		r->filter = l->filter_id;
		r->cap = l->filter_cap;
		r->port_laddr = l->laddr;
		r->flags |= TWD_F_PORT;
	}
	if (ip_route(s, w->raddr, &rt) < 0)
		return false;
	r->laddr = w->laddr;
	r->raddr = w->raddr;
	r->lport = w->lport;
	r->rport = w->rport;
	r->ifindex = rt.ifc->ifindex;
	memcpy(r->lmac, rt.ifc->mac, ETH_ADDR_LEN);
	if (arp_lookup(s, rt.ifc, rt.nexthop, r->rmac) == 0)
		r->flags |= TWD_F_MAC;
	r->state = EXOS_TCP_TIME_WAIT;
	if (w->flags & TW_TS)
		r->flags |= TWD_F_TS;
	r->rcv_wscale = w->wscale;
	r->win = w->win;
	r->snd_una = r->snd_nxt = w->snd_nxt;
	r->fin_seq = w->snd_nxt - 1;
	r->rcv_nxt = w->rcv_nxt;
	r->ts_recent = w->ts_recent;
	r->ts_offset = w->ts_offset;
	r->expire_ns = w->expire;
	r->since_ns = w->since;
	return true;
}

void tcp_tw_forget(struct exos_stack *s, struct tcp_tw *w, bool drop_ref)
{
	tw_unlink(s, w);
	if (drop_ref) {
		stack_filter_delete(s, w->filter_id);
		stack_filter_delete(s, w->icmp_filter);
		tcp_port_tw_done(s, w->pblock);
	} else {
		/* The process is exiting: xokd drops our references with the rest. */
		s->filters -= !!w->filter_id + !!w->icmp_filter;
	}
	slab_put(&s->tcp->tw_slab, w);
	tw_timer_rearm(s);
}

int tcp_tw_adopt(struct exos_stack *s, const struct twd_rec *r)
{
	struct tcp_state *t = s->tcp;
	struct tcp_tw *w, *p;

	if (r->state != EXOS_TCP_TIME_WAIT || r->expire_ns <= s->now ||
	    tw_lookup(t, r->laddr, r->lport, r->raddr, r->rport) ||
	    tcp_lookup(s, r->laddr, r->lport, r->raddr, r->rport))
		return -EINVAL;
	if (t->twcount > t->twmask)
		tw_grow(t);
	w = slab_get(&t->tw_slab);
	if (!w)
		return -ENOMEM;
	w->laddr = r->laddr;
	w->raddr = r->raddr;
	w->lport = r->lport;
	w->rport = r->rport;
	w->snd_nxt = r->snd_nxt;
	w->rcv_nxt = r->rcv_nxt;
	w->ts_recent = r->ts_recent;
	w->ts_offset = r->ts_offset;
	w->flags = (r->flags & TWD_F_TS) ? TW_TS : 0;
	w->win = r->win;
	w->wscale = r->rcv_wscale;
	w->expire = MIN(r->expire_ns, s->now + 2 * t->msl_ns);
	w->since = MIN(r->since_ns, w->expire);
	/* no filter of its own: the listener's delivers it */
	struct tcp_tw **b = tw_bucket(t, w->laddr, w->lport, w->raddr, w->rport);
	w->hnext = *b;
	*b = w;
	t->twcount++;
	/* keep the queue in expiry order: adopted blocks may end before younger ones */
	for (p = t->tw_tail; p && p->expire > w->expire; p = p->qprev)
		;
	w->qprev = p;
	w->qnext = p ? p->qnext : t->tw_head;
	if (w->qnext)
		w->qnext->qprev = w;
	else
		t->tw_tail = w;
	if (p)
		p->qnext = w;
	else
		t->tw_head = w;
	tw_timer_rearm(s);
	return 0;
}
