/* tcp_exit.c - TCP at process exit: close what is open, drain data, records for twd */
#include <exos/twd.h>

#include "tcp_int.h"

/*
 * When the process exits, every connection it still holds is closed as Linux closes a
 * descriptor: a FIN after the queued data (a reset when unread data is left).  The exit
 * hook (exit.c) then runs the stack until no connection has data outstanding, and hands
 * what remains closing to twd: records of the few control block values twd needs
 * (struct twd_rec) and the filter that delivers each connection - its own 4-tuple filter,
 * or its listener's port filter for connections demultiplexed here (§3.3 (1)).
 */

static bool tcp_state_closing(uint8_t st)
{
	return st == EXOS_TCP_FIN_WAIT_1 || st == EXOS_TCP_FIN_WAIT_2 || st == EXOS_TCP_CLOSING ||
	       st == EXOS_TCP_LAST_ACK;
}

void tcp_exit_close_all(struct exos_stack *s)
{
	struct tcp_state *t = s->tcp;

	s->depth++; /* frees wait for the end of the batch: the chains stay walkable */
	for (uint32_t i = 0; i <= t->hmask; i++) {
	again:
		for (struct exos_tcp *c = t->htab[i]; c; c = c->hnext) {
			if (c->flags & (TF_DEAD | TF_APP_CLOSED))
				continue;
			c->ops = NULL; /* the application is gone: no more callbacks */
			c->arg = NULL;
			if (c->listener) {
				/* a handshake in progress nobody will accept */
				tcp_send_rst(c);
				tcp_done(c, 0);
				goto again; /* the chain changed */
			}
			exos_tcp_close(c);
			if (c->flags & TF_DEAD)
				goto again;
		}
	}
	for (struct exos_tcp *l = t->listeners; l; l = l->hnext) {
		l->ops = NULL; /* kept (not closed) until the hand-off: it delivers connections */
		l->arg = NULL;
	}
	s->depth--;
	stack_end_batch(s);
}

void tcp_exit_release_ports(struct exos_stack *s)
{
	struct exos_tcp *l;

	s->depth++;
	while ((l = s->tcp->listeners))
		tcp_listener_release(l);
	tcp_tw_prune_orphans(s);
	s->depth--;
	stack_end_batch(s);
}

/* Data (or the FIN itself) not yet sent, or data not yet acknowledged. */
static bool tcp_draining(const struct exos_tcp *c)
{
	if (!tcp_state_closing(c->state) || !(c->flags & TF_FIN_QUEUED))
		return false;
	return SEQ_LT(c->snd_una, c->fin_seq) || SEQ_LEQ(c->snd_max, c->fin_seq);
}

uint32_t tcp_exit_draining(struct exos_stack *s)
{
	struct tcp_state *t = s->tcp;
	uint32_t n = 0;

	for (uint32_t i = 0; i <= t->hmask; i++)
		for (struct exos_tcp *c = t->htab[i]; c; c = c->hnext)
			n += !(c->flags & TF_DEAD) && tcp_draining(c);
	return n;
}

uint32_t tcp_closing_count(struct exos_stack *s)
{
	struct tcp_state *t = s->tcp;
	uint32_t n = tcp_tw_count(s);

	for (uint32_t i = 0; i <= t->hmask; i++)
		for (struct exos_tcp *c = t->htab[i]; c; c = c->hnext)
			n += !(c->flags & TF_DEAD) && tcp_state_closing(c->state);
	return n;
}

bool tcp_pcb_rec(struct exos_tcp *c, struct twd_rec *r)
{
	struct exos_stack *s = c->s;

	memset(r, 0, sizeof(*r));
	if ((c->flags & TF_DEAD) || !tcp_state_closing(c->state) ||
	    !(c->flags & TF_FIN_QUEUED) || SEQ_LT(c->snd_una, c->fin_seq) || !c->ifc)
		return false;
	if (c->filter_id) {
		r->filter = c->filter_id;
		r->cap = c->filter_cap;
	} else if (c->pblock) {
		tcp_port_rec(c->pblock, r);
	} else {
		struct exos_tcp *l = (c->flags & TF_PASSIVE) ? tcp_listener_lookup(s, c->laddr, c->lport)
							      : NULL;
		if (!l || !l->filter_id)
			return false;
		r->filter = l->filter_id;
		r->cap = l->filter_cap;
		r->port_laddr = l->laddr;
		r->flags |= TWD_F_PORT;
	}
	r->laddr = c->laddr;
	r->raddr = c->raddr;
	r->lport = c->lport;
	r->rport = c->rport;
	r->ifindex = c->ifc->ifindex;
	memcpy(r->lmac, c->ifc->mac, ETH_ADDR_LEN);
	if (c->mac_ok) {
		memcpy(r->rmac, c->tmpl, ETH_ADDR_LEN);
		r->flags |= TWD_F_MAC;
	} else if (arp_lookup(s, c->ifc, c->nexthop, r->rmac) == 0) {
		r->flags |= TWD_F_MAC;
	}
	r->state = c->state;
	if (c->flags & TF_TS_OK)
		r->flags |= TWD_F_TS;
	r->rcv_wscale = c->rcv_wscale;
	r->retries = c->retries;
	uint32_t adv = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	r->win = (uint16_t)MIN(adv >> c->rcv_wscale, 0xffffu);
	r->snd_una = c->snd_una;
	r->snd_nxt = SEQ_GT(c->snd_max, c->fin_seq) ? c->fin_seq + 1 : c->fin_seq;
	r->fin_seq = c->fin_seq;
	r->rcv_nxt = c->rcv_nxt;
	r->ts_recent = c->ts_recent;
	r->ts_offset = c->ts_offset;
	r->rto_ms = (uint32_t)MAX(tcp_rto_cur(c) / NSEC_PER_MSEC, 1);
	if (c->state == EXOS_TCP_FIN_WAIT_2)
		r->expire_ns = c->t_conn ? c->t_conn : s->now + TCP_FIN_WAIT2_NS;
	return true;
}

void tcp_pcb_forget(struct exos_tcp *c, bool drop_ref)
{
	struct exos_stack *s = c->s;

	if (!drop_ref) {
		/* The process is exiting: xokd drops our references with the rest. */
		s->filters -= !!c->filter_id + !!c->icmp_filter;
		c->filter_id = c->icmp_filter = 0;
		c->pblock = NULL; /* ... and the block with it (tcp_port_retire) */
	}
	c->ops = NULL;
	c->flags |= TF_APP_CLOSED;
	tcp_done(c, 0); /* no reset: twd speaks for it now */
}
