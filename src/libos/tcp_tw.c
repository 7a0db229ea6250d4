/* tcp_tw.c - compact TIME_WAIT blocks: the few values a closed connection still needs */
#include <stdlib.h>

#include "tcp_int.h"

/*
 * §3.3 (3) and its "minimized and isolated" control blocks: a connection entering
 * TIME_WAIT gives up its PCB, buffers and timers and keeps only what answering a
 * retransmitted FIN (or a stray segment) takes, plus its filter when it had its own.  All
 * blocks wait the same 2*MSL, so a FIFO ordered by expiry and one stack timer serve them
 * all.  (A process that exits hands its blocks to twd - the paper's third approach -
 * through the filter capability; that hand-off is twd's side.)
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
	uint16_t win; /* the window field we last advertised (already scaled down) */
	uint8_t flags;
	uint64_t expire;
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

static void tw_free(struct exos_stack *s, struct tcp_tw *w)
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
	stack_filter_delete(s, w->filter_id);
	stack_filter_delete(s, w->icmp_filter);
	slab_put(&t->tw_slab, w);
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
		w->filter_id = c->filter_id; /* the block keeps the connection's filter */
		w->icmp_filter = c->icmp_filter;
		c->filter_id = c->icmp_filter = 0;
		w->expire = s->now + 2 * TCP_MSL_NS;
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
		w->expire = s->now + 2 * TCP_MSL_NS;
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
