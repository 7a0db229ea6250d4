/* tcp.c - TCP control blocks: 4-tuple demux, listen/connect, ports, close, deferred work */
#include <stdlib.h>
#include <exos/tcp.h>

#include "tcp_int.h"

/*
 * Demultiplexing happens here, in the library (§3.3 (1)): a listener installs one DPF
 * filter for its port and every connection accepted on it arrives in the same ring and is
 * found by its 4-tuple in a hash table - no per-connection filter, no xokd round trip per
 * accept.  An active open takes a port from a block of ephemeral ports that the stack
 * claimed with one filter (tcp_port.c), or, with a chosen port or when no block can be had,
 * installs a 4-tuple filter, choosing a random ephemeral port and choosing again when xokd
 * rejects the filter because someone else uses it (§3.3 (4)).
 *
 * A PCB lives until it is CLOSED (or moved into a compact TIME_WAIT block), no frame in
 * flight gathers from its send requests, and no stack list refers to it; it is then freed
 * at the end of the batch, after its on_free callback.
 */

#define TCP_STATE_NAME(x) [EXOS_TCP_##x] = #x
static const char *const tcp_state_names[EXOS_TCP_STATE_NR] = {
	TCP_STATE_NAME(CLOSED),	     TCP_STATE_NAME(LISTEN),	  TCP_STATE_NAME(SYN_SENT),
	TCP_STATE_NAME(SYN_RCVD),    TCP_STATE_NAME(ESTABLISHED), TCP_STATE_NAME(FIN_WAIT_1),
	TCP_STATE_NAME(FIN_WAIT_2),  TCP_STATE_NAME(CLOSE_WAIT),  TCP_STATE_NAME(CLOSING),
	TCP_STATE_NAME(LAST_ACK),    TCP_STATE_NAME(TIME_WAIT),
};

EXOS_API const char *exos_tcp_state_name(enum exos_tcp_state st)
{
	return (unsigned)st < EXOS_TCP_STATE_NR ? tcp_state_names[st] : "?";
}

int tcp_init(struct exos_stack *s)
{
	struct tcp_state *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->htab = calloc(TCP_HASH_INIT, sizeof(*t->htab));
	if (!t->htab) {
		free(t);
		return -ENOMEM;
	}
	t->hmask = TCP_HASH_INIT - 1;
	slab_init(&t->pcb_slab, sizeof(struct exos_tcp));
	t->msl_ns = TCP_MSL_NS;
	const char *msl = getenv("EXOS_TCP_MSL_MS");
	if (msl && *msl) {
		char *end;
		unsigned long ms = strtoul(msl, &end, 10);
		if (!*end && ms >= 1 && ms <= 3600000)
			t->msl_ns = ms * NSEC_PER_MSEC;
	}
	tcp_isn_init(t);
	s->tcp = t;
	tcp_port_init(s);
	if (tcp_tw_init(s) < 0) {
		free(t->htab);
		free(t);
		s->tcp = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Frees a PCB outright (stack teardown): no callbacks, no frames. */
static void tcp_pcb_destroy(struct exos_tcp *c)
{
	struct exos_stack *s = c->s;
	struct tcp_sreq *r;

	timer_cancel(s, &c->timer);
	tcp_rx_free(c);
	tcp_cc_free(c);
	while ((r = c->sq_head)) {
		c->sq_head = r->next;
		if (r->flags & SREQ_POOL)
			pbuf_put(s, (void *)r->data);
		slab_put(&s->sreq_slab, r);
	}
	stack_filter_delete(s, c->filter_id);
	stack_filter_delete(s, c->icmp_filter);
	tcp_port_release(c);
	slab_put(&s->tcp->pcb_slab, c);
}

void tcp_destroy(struct exos_stack *s)
{
	struct tcp_state *t = s->tcp;

	if (!t)
		return;
	/* Frames in flight are forgotten: drop their references first. */
	for (struct txb *x = s->tx_head; x; x = x->next)
		x->nsreq = 0;
	for (uint32_t i = 0; i <= t->hmask; i++) {
		struct exos_tcp *c;
		while ((c = t->htab[i])) {
			t->htab[i] = c->hnext;
			if (c->state != EXOS_TCP_SYN_SENT && c->state != EXOS_TCP_CLOSED)
				tcp_send_rst(c);
			tcp_pcb_destroy(c);
		}
	}
	struct exos_tcp *c;
	while ((c = t->listeners)) {
		t->listeners = c->hnext;
		tcp_pcb_destroy(c);
	}
	/* PCBs already closed, waiting on lists to be freed. */
	while ((c = t->dead_list)) {
		t->dead_list = c->dead_next;
		if (!(c->lists & TL_HASH))
			tcp_pcb_destroy(c);
	}
	tcp_tw_destroy(s);
	tcp_port_destroy(s);
	slab_destroy(&t->pcb_slab);
	free(t->htab);
	free(t);
	s->tcp = NULL;
}

uint32_t tcp_hash4(const struct tcp_state *t, uint32_t laddr, uint16_t lport, uint32_t raddr,
		   uint16_t rport)
{
	uint64_t h = ((uint64_t)raddr << 32 | (uint32_t)rport << 16 | lport) ^
		     ((uint64_t)laddr * 0x9e3779b97f4a7c15ull) ^ t->hash_seed;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

static void tcp_hash_grow(struct tcp_state *t)
{
	uint32_t nsize = (t->hmask + 1) * 2;
	struct exos_tcp **nt = calloc(nsize, sizeof(*nt));

	if (!nt)
		return; /* longer chains, still correct */
	for (uint32_t i = 0; i <= t->hmask; i++) {
		struct exos_tcp *c, *next;
		for (c = t->htab[i]; c; c = next) {
			next = c->hnext;
			uint32_t b = tcp_hash4(t, c->laddr, c->lport, c->raddr, c->rport) & (nsize - 1);
			c->hnext = nt[b];
			nt[b] = c;
		}
	}
	free(t->htab);
	t->htab = nt;
	t->hmask = nsize - 1;
}

int tcp_hash_insert(struct exos_tcp *c)
{
	struct tcp_state *t = c->s->tcp;

	if (t->hcount > t->hmask)
		tcp_hash_grow(t);
	uint32_t b = tcp_hash4(t, c->laddr, c->lport, c->raddr, c->rport) & t->hmask;
	c->hnext = t->htab[b];
	t->htab[b] = c;
	t->hcount++;
	c->lists |= TL_HASH;
	return 0;
}

void tcp_hash_remove(struct exos_tcp *c)
{
	struct tcp_state *t = c->s->tcp;

	if (!(c->lists & TL_HASH))
		return;
	uint32_t b = tcp_hash4(t, c->laddr, c->lport, c->raddr, c->rport) & t->hmask;
	for (struct exos_tcp **pp = &t->htab[b]; *pp; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			t->hcount--;
			break;
		}
	}
	c->lists &= (uint8_t)~TL_HASH;
}

struct exos_tcp *tcp_lookup(struct exos_stack *s, uint32_t laddr, uint16_t lport,
			    uint32_t raddr, uint16_t rport)
{
	struct tcp_state *t = s->tcp;
	uint32_t b = tcp_hash4(t, laddr, lport, raddr, rport) & t->hmask;

	for (struct exos_tcp *c = t->htab[b]; c; c = c->hnext)
		if (c->rport == rport && c->raddr == raddr && c->lport == lport &&
		    c->laddr == laddr)
			return c;
	return NULL;
}

struct exos_tcp *tcp_listener_lookup(struct exos_stack *s, uint32_t laddr, uint16_t lport)
{
	struct exos_tcp *any = NULL;

	for (struct exos_tcp *l = s->tcp->listeners; l; l = l->hnext) {
		if (l->lport != lport)
			continue;
		if (l->laddr == laddr)
			return l;
		if (!l->laddr)
			any = l;
	}
	return any;
}

static void tcp_listener_unlink(struct exos_tcp *l)
{
	for (struct exos_tcp **pp = &l->s->tcp->listeners; *pp; pp = &(*pp)->hnext) {
		if (*pp == l) {
			*pp = l->hnext;
			return;
		}
	}
}

struct exos_tcp *tcp_pcb_new(struct exos_stack *s)
{
	struct exos_tcp *c = slab_get(&s->tcp->pcb_slab);

	if (!c)
		return NULL;
	c->s = s;
	timer_init(&c->timer, tcp_timer_fn);
	c->rcvbuf = TCP_RCVBUF_DEFAULT;
	c->sndbuf = TCP_SNDBUF_DEFAULT;
	c->mss = TCP_MSS_NOOPT;
	c->peer_mss = TCP_MSS_NOOPT;
	c->rto = TCP_RTO_INIT_NS;
	c->ip_id = (uint16_t)stack_random(s);
	return c;
}

void tcp_set_state(struct exos_tcp *c, enum exos_tcp_state st)
{
	c->state = (uint8_t)st;
}

void tcp_defer(struct exos_tcp *c, uint8_t list)
{
	struct tcp_state *t = c->s->tcp;

	if (c->lists & list)
		return;
	c->lists |= list;
	switch (list) {
	case TL_ACK:
		c->ack_next = t->ack_list;
		t->ack_list = c;
		break;
	case TL_OUT:
		c->out_next = t->out_list;
		t->out_list = c;
		break;
	case TL_REL:
		c->rel_next = t->rel_list;
		t->rel_list = c;
		break;
	case TL_DEAD:
		c->dead_next = t->dead_list;
		t->dead_list = c;
		break;
	}
}

int tcp_template_init(struct exos_tcp *c)
{
	struct exos_stack *s = c->s;
	struct route rt;
	int err = ip_route(s, c->raddr, &rt);

	if (err < 0)
		return err;
	c->ifc = rt.ifc;
	c->nexthop = rt.nexthop;
	if (!c->laddr)
		c->laddr = rt.ifc->addr;
	memset(c->tmpl, 0, sizeof(c->tmpl));
	c->arp_version = s->arp.table ? xok_load_acquire(&s->arp.table->version) : 0;
	c->mac_ok = arp_lookup(s, rt.ifc, rt.nexthop, c->tmpl) == 0;
	eth_fill(c->tmpl, c->tmpl, rt.ifc->mac, ETH_TYPE_IPV4);
	struct ip_hdr *ip = (struct ip_hdr *)(c->tmpl + ETH_HDR_LEN);
	ip->ver_ihl = (IP_VERSION << 4) | (IP_HDR_LEN / 4);
	ip->frag_off = htons(IP_DF);
	ip->ttl = IP_TTL_DEFAULT;
	ip->proto = IP_PROTO_TCP;
	ip->saddr = c->laddr;
	ip->daddr = c->raddr;
	struct tcp_hdr *th = (struct tcp_hdr *)(c->tmpl + ETH_HDR_LEN + IP_HDR_LEN);
	th->sport = c->lport;
	th->dport = c->rport;
	c->tmpl_pseudo = cksum_pseudo(c->laddr, c->raddr, IP_PROTO_TCP, 0);
	return 0;
}

/* Freeable: closed, no request still referenced, and no data kept for the application
 * (a graceful close leaves the PCB holding unread data until it is read or closed). */
static bool tcp_freeable(const struct exos_tcp *c)
{
	return (c->flags & TF_DEAD) && !c->sq_head && (!c->rxq_head || (c->flags & TF_APP_CLOSED));
}

void tcp_maybe_free(struct exos_tcp *c)
{
	if (tcp_freeable(c))
		tcp_defer(c, TL_DEAD);
}

static void tcp_free_now(struct exos_tcp *c)
{
	struct exos_stack *s = c->s;

	if (!(c->flags & TF_FREED)) {
		c->flags |= TF_FREED;
		if (c->ops && c->ops->on_free)
			c->ops->on_free(c, c->arg);
	}
	if (c->lists & (TL_ACK | TL_OUT | TL_REL))
		return; /* still listed: freed when that list lets go of it */
	timer_cancel(s, &c->timer);
	slab_put(&s->tcp->pcb_slab, c);
}

void tcp_done(struct exos_tcp *c, int err)
{
	struct exos_stack *s = c->s;

	if (c->flags & TF_DEAD)
		return;
	if (c->state == EXOS_TCP_SYN_RCVD && c->listener) {
		c->listener->nembryo--;
		c->listener = NULL;
		c->ops = NULL; /* never accepted: the application never saw it */
	}
	if (c->state == EXOS_TCP_LISTEN)
		tcp_listener_unlink(c);
	tcp_set_state(c, EXOS_TCP_CLOSED);
	c->flags |= TF_DEAD;
	c->t_rtx = c->t_persist = c->t_delack = c->t_keep = c->t_conn = c->t_reo = 0;
	timer_cancel(s, &c->timer);
	tcp_hash_remove(c);
	stack_filter_delete(s, c->filter_id);
	stack_filter_delete(s, c->icmp_filter);
	c->filter_id = c->icmp_filter = 0;
	tcp_port_release(c);
	tcp_cc_free(c);
	if (err < 0 || (c->flags & TF_APP_CLOSED))
		tcp_rx_free(c);
	if (err < 0) {
		if (err == -ETIMEDOUT)
			s->st.tcp_conns_timedout++;
		else if (err == -ECONNRESET)
			s->st.tcp_conns_reset++;
		if (!(c->flags & (TF_APP_CLOSED | TF_ERRORED))) {
			c->flags |= TF_ERRORED;
			c->soft_err = err;
			if (c->ops && c->ops->on_error)
				c->ops->on_error(c, err, c->arg);
		}
	}
	tcp_sendq_flush_all(c);
	tcp_maybe_free(c);
}

/* The handshake of a passive open completed: hand the connection to the application. */
void tcp_accept_established(struct exos_tcp *c)
{
	struct exos_tcp *l = c->listener;

	c->listener = NULL;
	if (!l)
		return;
	l->nembryo--;
	c->ops = l->ops;
	c->arg = l->arg;
	c->s->st.tcp_conns_accepted++;
	if (c->ops && c->ops->on_accept) {
		int err = c->ops->on_accept(l, c, l->arg);
		if (err < 0 && !(c->flags & TF_DEAD)) {
			c->ops = NULL;
			c->flags |= TF_APP_CLOSED;
			tcp_send_rst(c);
			tcp_done(c, 0);
		}
	}
}

/* Runs the work segments and API calls deferred: ACK decisions, blocked output, on_sent
 * for released requests, frees.  Callbacks may queue more; loop until quiet. */
void tcp_end_batch(struct exos_stack *s)
{
	struct tcp_state *t = s->tcp;
	struct exos_tcp *c;

	if (t->in_batch)
		return; /* a callback called into the stack: the outer loop picks it up */
	t->in_batch = true;
	/* Output blocked by a full transmit queue is retried once per batch, not in a loop:
	 * what fails again waits for the next poll. */
	if (t->nctl_held)
		tcp_ctl_retry(s);
	struct exos_tcp *out = t->out_list;
	t->out_list = NULL;
	while ((c = out)) {
		out = c->out_next;
		c->lists &= (uint8_t)~TL_OUT;
		if (c->flags & TF_DEAD)
			tcp_maybe_free(c);
		else
			tcp_output(c);
	}
	while (t->ack_list || t->rel_list || t->dead_list) {
		while ((c = t->ack_list)) {
			t->ack_list = c->ack_next;
			c->lists &= (uint8_t)~TL_ACK;
			if (c->flags & TF_DEAD) {
				tcp_maybe_free(c);
				continue;
			}
			if (!(c->flags & (TF_ACK_NOW | TF_ACK_DELAYED)))
				continue;
			if (c->flags & TF_ACK_NOW) {
				tcp_send_ack(c);
			} else if ((c->flags & TF_ACK_HELD) && s->now < c->ack_hold_until) {
				tcp_delack_arm(c, c->ack_hold_until);
			} else if (c->unacked_segs >= TCP_DELACK_SEGS ||
				   (c->opt_flags & EXOS_TCP_F_QUICKACK)) {
				tcp_send_ack(c);
			} else {
				tcp_delack_arm(c, s->now + TCP_DELACK_NS);
			}
		}
		while ((c = t->rel_list)) {
			t->rel_list = c->rel_next;
			c->lists &= (uint8_t)~TL_REL;
			tcp_sendq_release(c);
			tcp_maybe_free(c);
		}
		while ((c = t->dead_list)) {
			t->dead_list = c->dead_next;
			c->lists &= (uint8_t)~TL_DEAD;
			if (tcp_freeable(c))
				tcp_free_now(c);
		}
	}
	t->in_batch = false;
}

void tcp_icmp_error(struct exos_stack *s, int err, const struct ip_hdr *inner,
		    const uint8_t *l4, size_t len)
{
	const struct tcp_hdr *th = (const struct tcp_hdr *)l4;
	struct exos_tcp *c;

	if (len < 8)
		return;
	c = tcp_lookup(s, inner->saddr, th->sport, inner->daddr, th->dport);
	if (!c)
		return;
	uint32_t seq = ntohl(th->seq);
	/* RFC 5927 §4.1: only errors quoting data we have outstanding. */
	if (SEQ_LT(seq, c->snd_una) || SEQ_GEQ(seq, c->snd_max))
		return;
	s->st.icmp_errors_delivered++;
	if (err == -EMSGSIZE)
		return; /* we send DF with the interface MTU; PMTU discovery not done */
	if (c->state == EXOS_TCP_SYN_SENT &&
	    (err == -ECONNREFUSED || err == -EHOSTUNREACH || err == -ENETUNREACH ||
	     err == -ENOPROTOOPT)) {
		tcp_done(c, err);
		return;
	}
	c->soft_err = err; /* soft error: reported if the connection later times out */
}

void tcp_arp_failed(struct exos_stack *s, uint32_t addr)
{
	struct tcp_state *t = s->tcp;

	for (uint32_t i = 0; i <= t->hmask; i++) {
	again:
		for (struct exos_tcp *c = t->htab[i]; c; c = c->hnext) {
			if (c->nexthop != addr || c->mac_ok)
				continue;
			if (c->state == EXOS_TCP_SYN_SENT) {
				tcp_done(c, -EHOSTUNREACH);
				goto again; /* the chain changed */
			}
			c->soft_err = -EHOSTUNREACH;
		}
	}
}

/* ---- the API ---- */

static int tcp_opts_get(const struct exos_tcp_opts *o, struct exos_tcp_opts *out)
{
	memset(out, 0, sizeof(*out));
	if (!o)
		return -EINVAL;
	if (o->sz < offsetof(struct exos_tcp_opts, flags) + sizeof(o->flags))
		return -EINVAL;
	memcpy(out, o, MIN(o->sz, sizeof(*out)));
	return 0;
}

static void tcp_apply_opts(struct exos_tcp *c, const struct exos_tcp_opts *o)
{
	c->opt_flags = o->flags;
	if (o->rcvbuf)
		c->rcvbuf = MAX(o->rcvbuf, TCP_RCVBUF_MIN);
	if (o->sndbuf)
		c->sndbuf = o->sndbuf;
	/* Window scale: the smallest shift that lets the window cover rcvbuf (RFC 7323). */
	c->rcv_wscale = 0;
	if (!(c->opt_flags & EXOS_TCP_F_NO_WSCALE))
		while (c->rcv_wscale < TCP_WSCALE_MAX && (0xffffu << c->rcv_wscale) < c->rcvbuf)
			c->rcv_wscale++;
}

EXOS_API int exos_tcp_listen(struct exos_stack *s, const struct exos_tcp_opts *opts,
			     const struct exos_tcp_ops *ops, void *arg, struct exos_tcp **out)
{
	struct exos_tcp_opts o;
	struct dpf_filter f;
	struct exos_tcp *l;
	int err = tcp_opts_get(opts, &o);

	if (err < 0 || !o.local_port)
		return exos_err(-EINVAL);
	if (o.local_addr && !stack_is_local(s, o.local_addr))
		return exos_err(-EADDRNOTAVAIL);
	for (l = s->tcp->listeners; l; l = l->hnext)
		if (l->lport == htons(o.local_port) &&
		    (!l->laddr || !o.local_addr || l->laddr == o.local_addr))
			return exos_err(-EADDRINUSE);
	l = tcp_pcb_new(s);
	if (!l)
		return exos_err(-ENOMEM);
	dpf_filter_init(&f);
	if (dpf_filter_tcp_port(&f, ntohl(o.local_addr), o.local_port) < 0) {
		err = -EINVAL;
		goto fail;
	}
	/* A previous process's connections on this port may be with twd, under the filter
	 * we would install: take them back with it (handoff.c). */
	err = handoff_take_port(s, o.local_addr, htons(o.local_port), &l->filter_id,
				&l->filter_cap);
	if (err < 0)
		err = stack_filter_claim(s, &f, &l->filter_id, &l->filter_cap);
	if (err < 0)
		goto fail;
	l->laddr = o.local_addr;
	l->lport = htons(o.local_port);
	l->backlog = o.backlog ? o.backlog : TCP_BACKLOG_DEFAULT;
	tcp_apply_opts(l, &o);
	l->ops = ops;
	l->arg = arg;
	tcp_set_state(l, EXOS_TCP_LISTEN);
	l->hnext = s->tcp->listeners;
	s->tcp->listeners = l;
	*out = l;
	return 0;
fail:
	slab_put(&s->tcp->pcb_slab, l);
	return exos_err(err);
}

bool tcp_tuple_busy(struct exos_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
		    uint16_t rport)
{
	return tcp_lookup(s, laddr, lport, raddr, rport) ||
	       tcp_tw_exists(s, laddr, lport, raddr, rport);
}

/* Claims lport for c's 4-tuple with a filter.  -EADDRINUSE: taken (here or by another app). */
static int tcp_claim_port(struct exos_tcp *c, uint16_t lport)
{
	struct exos_stack *s = c->s;
	struct dpf_filter f;
	int err;

	if (tcp_tuple_busy(s, c->laddr, htons(lport), c->raddr, c->rport))
		return -EADDRINUSE;
	dpf_filter_init(&f);
	if (dpf_filter_tcp_4tuple(&f, ntohl(c->laddr), lport, ntohl(c->raddr), ntohs(c->rport)) <
	    0)
		return -EINVAL;
	err = stack_filter_claim(s, &f, &c->filter_id, &c->filter_cap);
	if (err < 0)
		return err;
	c->lport = htons(lport);
	return 0;
}

EXOS_API int exos_tcp_connect(struct exos_stack *s, const struct exos_tcp_opts *opts,
			      const struct exos_tcp_ops *ops, void *arg, struct exos_tcp **out)
{
	struct exos_tcp_opts o;
	struct exos_tcp *c;
	int err = tcp_opts_get(opts, &o);

	if (err < 0 || !o.remote_addr || !o.remote_port)
		return exos_err(-EINVAL);
	if (o.local_addr && !stack_is_local(s, o.local_addr))
		return exos_err(-EADDRNOTAVAIL);
	stack_clock(s);
	c = tcp_pcb_new(s);
	if (!c)
		return exos_err(-ENOMEM);
	c->laddr = o.local_addr;
	c->raddr = o.remote_addr;
	c->rport = htons(o.remote_port);
	err = tcp_template_init(c); /* routes; fills laddr */
	if (err < 0)
		goto fail;
	if (o.local_port) {
		err = tcp_claim_port(c, o.local_port);
	} else if ((err = tcp_port_pick(c)) == -EADDRINUSE) {
		/* no block to be had: a port of its own, filter and all (§3.3 (4)) */
		for (int i = 0; i < TCP_PORT_RETRIES && err == -EADDRINUSE; i++) {
			uint16_t p = (uint16_t)(TCP_EPHEMERAL_LO +
						stack_random(s) % (TCP_EPHEMERAL_HI -
								   TCP_EPHEMERAL_LO + 1));
			err = tcp_claim_port(c, p);
			if (err == -EADDRINUSE)
				s->st.tcp_ephemeral_retries++;
		}
		if (err == -EADDRINUSE)
			err = -EADDRNOTAVAIL;
	}
	if (err < 0)
		goto fail;
	tcp_template_init(c); /* again, now with the port */
	tcp_apply_opts(c, &o);
	c->ops = ops;
	c->arg = arg;
	c->iss = tcp_isn(s, c->laddr, c->lport, c->raddr, c->rport);
	c->ts_offset = tcp_ts_offset(s, c->laddr, c->raddr);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_end = c->iss + 1;
	c->rcv_adv = 0;
	tcp_set_state(c, EXOS_TCP_SYN_SENT);
	tcp_hash_insert(c);
	tcp_cc_init(c);
	err = tcp_send_syn(c);
	if (err < 0 && err != -EAGAIN && err != -ENOBUFS) {
		tcp_hash_remove(c);
		goto fail;
	}
	*out = c;
	stack_api_done(s);
	return 0;
fail:
	stack_filter_delete(s, c->filter_id);
	stack_filter_delete(s, c->icmp_filter);
	tcp_port_release(c);
	slab_put(&s->tcp->pcb_slab, c);
	return exos_err(err);
}

EXOS_API void exos_tcp_set_ops(struct exos_tcp *c, const struct exos_tcp_ops *ops, void *arg)
{
	c->ops = ops;
	c->arg = arg;
}

static void tcp_listener_close(struct exos_tcp *l)
{
	struct tcp_state *t = l->s->tcp;

	/* Reset its connections still in the handshake. */
	for (uint32_t i = 0; i <= t->hmask && l->nembryo; i++) {
	again:
		for (struct exos_tcp *c = t->htab[i]; c; c = c->hnext) {
			if (c->listener == l) {
				tcp_send_rst(c);
				tcp_done(c, 0);
				goto again;
			}
		}
	}
	/* Connections it accepted arrive through its filter (demultiplexed here, §3.3 (1)).
	 * The listener goes; they stay: give each a filter of its own, refining the
	 * listener's, before that one is deleted. */
	for (uint32_t i = 0; i <= t->hmask; i++) {
		for (struct exos_tcp *c = t->htab[i]; c; c = c->hnext) {
			struct dpf_filter f;
			if (!(c->flags & TF_PASSIVE) || c->filter_id || c->lport != l->lport ||
			    (l->laddr && c->laddr != l->laddr))
				continue;
			dpf_filter_init(&f);
			if (dpf_filter_tcp_4tuple(&f, ntohl(c->laddr), ntohs(c->lport),
						  ntohl(c->raddr), ntohs(c->rport)) < 0 ||
			    stack_filter_insert(l->s, &f, &c->filter_id, &c->filter_cap) < 0)
				c->filter_id = 0; /* its frames will go to strayd: reset */
		}
	}
	/* Its TIME_WAIT blocks have no filter of their own either: twd takes them with the
	 * port's (when it runs; else their segments go to strayd). */
	handoff_listener(l);
	tcp_done(l, 0);
}

void tcp_listener_release(struct exos_tcp *l)
{
	l->flags |= TF_APP_CLOSED;
	l->ops = NULL;
	tcp_listener_close(l);
}

EXOS_API int exos_tcp_shutdown(struct exos_tcp *c)
{
	struct exos_stack *s = c->s;

	stack_clock(s);
	switch (c->state) {
	case EXOS_TCP_LISTEN:
		c->flags |= TF_APP_CLOSED;
		tcp_listener_close(c);
		break;
	case EXOS_TCP_SYN_SENT:
	case EXOS_TCP_SYN_RCVD:
	case EXOS_TCP_ESTABLISHED:
	case EXOS_TCP_CLOSE_WAIT:
		if (c->flags & TF_FIN_QUEUED)
			break;
		tcp_queue_fin(c);
		if (c->state == EXOS_TCP_ESTABLISHED)
			tcp_set_state(c, EXOS_TCP_FIN_WAIT_1);
		else if (c->state == EXOS_TCP_CLOSE_WAIT)
			tcp_set_state(c, EXOS_TCP_LAST_ACK);
		tcp_output(c);
		break;
	case EXOS_TCP_CLOSED:
		return exos_err(-ENOTCONN);
	default:
		break;
	}
	stack_api_done(s);
	return 0;
}

EXOS_API int exos_tcp_close(struct exos_tcp *c)
{
	struct exos_stack *s = c->s;

	if (c->flags & TF_APP_CLOSED)
		return exos_err(-EBADF);
	stack_clock(s);
	c->flags |= TF_APP_CLOSED;
	if (c->flags & TF_DEAD) {
		tcp_rx_free(c); /* kept for the application, which is done with it */
		tcp_maybe_free(c);
	} else if (c->state == EXOS_TCP_SYN_SENT || c->state == EXOS_TCP_CLOSED) {
		tcp_done(c, 0);
	} else if (c->rxq_bytes || c->ooq_bytes) {
		/* Unread data: Linux resets rather than pretending it was delivered. */
		tcp_send_rst(c);
		tcp_done(c, 0);
	} else {
		exos_tcp_shutdown(c);
		if (c->state == EXOS_TCP_FIN_WAIT_2)
			c->t_conn = s->now + TCP_FIN_WAIT2_NS;
		tcp_timer_update(c);
	}
	stack_api_done(s);
	return 0;
}

EXOS_API void exos_tcp_abort(struct exos_tcp *c)
{
	struct exos_stack *s = c->s;

	stack_clock(s);
	c->flags |= TF_APP_CLOSED;
	if (c->state == EXOS_TCP_LISTEN) {
		tcp_listener_close(c);
	} else if (!(c->flags & TF_DEAD)) {
		if (c->state != EXOS_TCP_SYN_SENT)
			tcp_send_rst(c);
		tcp_done(c, 0);
	}
	stack_api_done(s);
}

EXOS_API void exos_tcp_ack_hold(struct exos_tcp *c, uint32_t max_us)
{
	stack_clock(c->s);
	c->flags |= TF_ACK_HELD;
	c->ack_hold_until = c->s->now + (uint64_t)(max_us ? max_us : TCP_ACK_HOLD_DEFAULT_US) *
						NSEC_PER_USEC;
	/* The hold overrides "every second segment" and the delayed-ACK timer; an ACK that
	 * must go at once (out-of-order data, a filled hole, a FIN) still goes. */
}

EXOS_API void exos_tcp_ack_now(struct exos_tcp *c)
{
	stack_clock(c->s);
	if (!(c->flags & TF_DEAD) && (c->flags & (TF_ACK_NOW | TF_ACK_DELAYED)))
		tcp_send_ack(c);
	stack_api_done(c->s);
}

EXOS_API uint32_t exos_tcp_mss(const struct exos_tcp *c)
{
	return tcp_eff_mss(c);
}

EXOS_API uint32_t exos_tcp_frame_max(const struct exos_tcp *c)
{
	return tcp_frame_max(c);
}

EXOS_API size_t exos_tcp_unacked(const struct exos_tcp *c)
{
	return c->snd_end - c->snd_una - (tcp_synchronized(c) ? 0 : 1);
}

EXOS_API int exos_tcp_info(const struct exos_tcp *c, struct exos_tcp_info *out)
{
	memset(out, 0, sizeof(*out));
	out->state = (enum exos_tcp_state)c->state;
	out->local_addr = c->laddr;
	out->remote_addr = c->raddr;
	out->local_port = ntohs(c->lport);
	out->remote_port = ntohs(c->rport);
	out->mss = tcp_eff_mss(c);
	out->srtt_us = (uint32_t)(c->srtt / NSEC_PER_USEC);
	out->rttvar_us = (uint32_t)(c->rttvar / NSEC_PER_USEC);
	out->rto_us = (uint32_t)(tcp_rto_cur(c) / NSEC_PER_USEC);
	out->cwnd = c->cwnd;
	out->ssthresh = c->ssthresh;
	out->snd_wnd = c->snd_wnd;
	out->rcv_wnd = tcp_rcv_wnd(c);
	out->snd_wscale = c->snd_wscale;
	out->rcv_wscale = c->rcv_wscale;
	out->ts_ok = !!(c->flags & TF_TS_OK);
	out->sack_ok = !!(c->flags & TF_SACK_OK);
	out->retransmits = c->retries;
	out->total_retrans = c->total_retrans;
	out->bytes_acked = c->bytes_acked;
	out->bytes_received = c->bytes_received;
	return 0;
}
