/* conn.c - twd's engine: the connections it speaks for, the filters it holds, timers */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xok/proto/eth.h>
#include <xok/proto/tcp.h>

#include "twd.h"

/*
 * Every connection arrived in a struct twd_rec and is one of five states whose
 * application has closed (RFC 9293 §3.10.7.4 read with "the user has closed"):
 *
 *   FIN_WAIT_1 --ACK of our FIN--> FIN_WAIT_2 --their FIN--> TIME_WAIT --2*MSL--> gone
 *       \--their FIN--> CLOSING --ACK of our FIN--> TIME_WAIT
 *   LAST_ACK --ACK of our FIN--> gone
 *
 * Our FIN is retransmitted with exponential backoff while unacknowledged (at most
 * TWD_FIN_RETRIES times); an orphaned FIN_WAIT_2 ends after its timeout.  "Gone" means
 * the filter reference is dropped (when it was the connection's own filter) so that the
 * 4-tuple is free again.
 *
 * Connections demultiplexed by a listener's filter came with that filter (TWD_F_PORT):
 * twd holds the port for them, resets what arrives there for other 4-tuples (the port is
 * closed: its application is gone), and lets the port go with its last connection or
 * gives it, connections included, to the next process that listens there (twd_take).
 * Active opens from a block of ephemeral ports came with the block's filter (TWD_F_BLOCK),
 * held the same way, except that nobody takes a block back.
 */

#define SEQ_LT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)
#define MIN(a, b)     ((a) < (b) ? (a) : (b))

/* A filter twd holds a reference to. */
struct twd_filter {
	struct twd_filter *hnext;
	uint32_t id;
	struct xok_cap cap;
	bool port;		 /* a listener's port filter (TWD_F_PORT) */
	bool block;		 /* a block of ephemeral ports (TWD_F_BLOCK) */
	bool given;		 /* TAKE: given to a new listener, waiting for DONE */
	uint32_t port_laddr;	 /* port: the listener's address (0 = any) */
	uint16_t lport;		 /* port: network order */
	uint32_t ifindex;	 /* port: where resets for closed 4-tuples go */
	uint8_t lmac[ETH_ADDR_LEN];
	uint32_t nconns;	 /* connections it delivers */
	bool dead;		 /* no connection left: on the release queue */
	struct twd_filter *rnext;
};

struct twd_conn {
	struct twd_conn *hnext;
	struct twd_filter *f;
	uint32_t heap; /* position in the timer heap + 1; 0 = not queued */
	uint64_t when; /* the next deadline: retransmission or the end of the state */
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	uint32_t ifindex;
	uint8_t lmac[ETH_ADDR_LEN], rmac[ETH_ADDR_LEN];
	uint8_t state, flags, wscale, retries;
	uint16_t win;
	uint32_t snd_una, snd_nxt, fin_seq, rcv_nxt;
	uint32_t ts_recent, ts_offset;
	uint64_t rto;	 /* ns, backed off */
	uint64_t rtx_at; /* our FIN's next retransmission; 0 = none */
	uint64_t expire; /* the end of FIN_WAIT_2 / TIME_WAIT; 0 = none */
	uint64_t since;	 /* TIME_WAIT entered */
};

struct twd {
	const struct twd_ops *ops;
	void *arg;
	uint64_t msl;
	struct twd_conn *conns[TWD_HASH_BUCKETS];
	struct twd_filter *filters[TWD_HASH_BUCKETS];
	uint32_t nconns, nfilters;
	struct twd_filter *rel_head, *rel_tail; /* filters to let go of (twd_release) */
	uint32_t nrel;
	struct twd_conn **heap;
	uint32_t nheap, heapcap;
	double tokens; /* resets and challenge ACKs */
	uint64_t tokens_at;
	uint16_t ip_id;
	struct twd_stats st;
};

/* ---- tables ---- */

static uint32_t hash4(uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
	uint64_t h = ((uint64_t)raddr << 32 | (uint32_t)rport << 16 | lport) ^
		     ((uint64_t)laddr * 0x9e3779b97f4a7c15ull);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (uint32_t)h % TWD_HASH_BUCKETS;
}

static struct twd_conn **conn_slot(struct twd *t, uint32_t laddr, uint16_t lport,
				   uint32_t raddr, uint16_t rport)
{
	struct twd_conn **pp = &t->conns[hash4(laddr, lport, raddr, rport)];

	for (; *pp; pp = &(*pp)->hnext)
		if ((*pp)->laddr == laddr && (*pp)->lport == lport && (*pp)->raddr == raddr &&
		    (*pp)->rport == rport)
			break;
	return pp;
}

static struct twd_filter *filter_find(const struct twd *t, uint32_t id)
{
	struct twd_filter *f = t->filters[id % TWD_HASH_BUCKETS];

	while (f && f->id != id)
		f = f->hnext;
	return f;
}

/*
 * A filter nothing needs any more goes on the release queue rather than straight back to
 * xokd: dropping the last reference makes xokd regenerate its program, milliseconds each,
 * and a thousand connections ending together must not stop twd answering the others for
 * seconds.  Until released, its frames still come here and get the closed port's reset.
 */
static void filter_put(struct twd *t, struct twd_filter *f)
{
	if (f->nconns || f->given || f->dead)
		return;
	f->dead = true;
	f->rnext = NULL;
	if (t->rel_tail)
		t->rel_tail->rnext = f;
	else
		t->rel_head = f;
	t->rel_tail = f;
	t->nrel++;
	t->nfilters--;
}

/* Moves a filter on the release queue to its head: a new incarnation waits for it. */
static void filter_release_first(struct twd *t, struct twd_filter *f)
{
	struct twd_filter **pp = &t->rel_head, *prev = NULL;

	if (!f->dead || t->rel_head == f)
		return;
	while (*pp && *pp != f) {
		prev = *pp;
		pp = &(*pp)->rnext;
	}
	if (!*pp)
		return;
	*pp = f->rnext;
	if (t->rel_tail == f)
		t->rel_tail = prev;
	f->rnext = t->rel_head;
	t->rel_head = f;
	if (!t->rel_tail)
		t->rel_tail = f;
}

static void filter_release(struct twd *t, struct twd_filter *f)
{
	struct twd_filter **pp = &t->filters[f->id % TWD_HASH_BUCKETS];

	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
	t->ops->unref(t->arg, f->id);
	free(f);
}

uint32_t twd_release(struct twd *t, uint32_t max)
{
	while (max-- && t->rel_head) {
		struct twd_filter *f = t->rel_head;
		t->rel_head = f->rnext;
		if (!t->rel_head)
			t->rel_tail = NULL;
		t->nrel--;
		filter_release(t, f);
	}
	return t->nrel;
}

/* ---- the timer heap (by conn->when) ---- */

static void heap_swap(struct twd *t, uint32_t i, uint32_t j)
{
	struct twd_conn *a = t->heap[i];

	t->heap[i] = t->heap[j];
	t->heap[j] = a;
	t->heap[i]->heap = i + 1;
	t->heap[j]->heap = j + 1;
}

static void heap_up(struct twd *t, uint32_t i)
{
	while (i && t->heap[(i - 1) / 2]->when > t->heap[i]->when) {
		heap_swap(t, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct twd *t, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < t->nheap && t->heap[l]->when < t->heap[m]->when)
			m = l;
		if (r < t->nheap && t->heap[r]->when < t->heap[m]->when)
			m = r;
		if (m == i)
			return;
		heap_swap(t, i, m);
		i = m;
	}
}

static void heap_remove(struct twd *t, struct twd_conn *c)
{
	uint32_t i;

	if (!c->heap)
		return;
	i = c->heap - 1;
	c->heap = 0;
	if (i == --t->nheap)
		return;
	t->heap[i] = t->heap[t->nheap];
	t->heap[i]->heap = i + 1;
	heap_up(t, i);
	heap_down(t, t->heap[i]->heap - 1);
}

/* Re-queues c at the earlier of its retransmission and its end. */
static void conn_timer(struct twd *t, struct twd_conn *c)
{
	uint64_t w = c->rtx_at && (!c->expire || c->rtx_at < c->expire) ? c->rtx_at : c->expire;

	heap_remove(t, c);
	if (!w)
		return;
	if (t->nheap == t->heapcap) {
		uint32_t cap = t->heapcap ? t->heapcap * 2 : 256;
		struct twd_conn **h = realloc(t->heap, cap * sizeof(*h));
		if (!h)
			return; /* it ends when a segment or a TAKE comes; rare enough */
		t->heap = h;
		t->heapcap = cap;
	}
	c->when = w;
	t->heap[t->nheap] = c;
	c->heap = ++t->nheap;
	heap_up(t, c->heap - 1);
}

/* ---- output ---- */

static uint32_t ts_now(const struct twd_conn *c, uint64_t now)
{
	return (uint32_t)(now / TWD_NSEC_PER_MSEC) + c->ts_offset;
}

static void send_frame(struct twd *t, uint32_t ifindex, const struct twd_out *o)
{
	uint8_t buf[TWD_TX_SLOT_SIZE];
	uint32_t len = twd_seg_build(buf, o);

	if (t->ops->xmit(t->arg, ifindex, buf, len) == 0)
		t->st.tx++;
	else
		t->st.tx_errors++;
}

static void conn_send(struct twd *t, struct twd_conn *c, uint32_t seq, uint8_t flags,
		      uint64_t now)
{
	struct twd_out o = {
		.laddr = c->laddr,
		.raddr = c->raddr,
		.lport = c->lport,
		.rport = c->rport,
		.lmac = c->lmac,
		.rmac = c->rmac,
		.seq = seq,
		.ack = c->rcv_nxt,
		.flags = flags,
		.win = c->win,
		.ts = c->flags & TWD_F_TS,
		.tsval = ts_now(c, now),
		.tsecr = c->ts_recent,
		.ip_id = t->ip_id++,
	};

	send_frame(t, c->ifindex, &o);
}

static void send_ack(struct twd *t, struct twd_conn *c, uint64_t now)
{
	t->st.acks++;
	conn_send(t, c, c->snd_nxt, TCP_ACK, now);
}

static void send_fin(struct twd *t, struct twd_conn *c, uint64_t now)
{
	/* (no next-hop address yet: the first frame from the peer will teach it) */
	if (c->flags & TWD_F_MAC)
		conn_send(t, c, c->fin_seq, TCP_FIN | TCP_ACK, now);
	c->snd_nxt = c->fin_seq + 1;
}

/* Unsolicited answers (resets, challenge ACKs) come out of a token bucket. */
static bool reply_allowed(struct twd *t, uint64_t now)
{
	t->tokens += (double)(now - t->tokens_at) * 1e-9 * TWD_REPLY_RATE;
	if (t->tokens > TWD_REPLY_BURST)
		t->tokens = TWD_REPLY_BURST;
	t->tokens_at = now;
	if (t->tokens < 1) {
		t->st.rate_limited++;
		return false;
	}
	t->tokens -= 1;
	return true;
}

/* RFC 9293 §3.10.7.1: the reset answering a segment that has no connection. */
static void send_rst_reply(struct twd *t, uint32_t ifindex, const uint8_t *lmac,
			   const struct twd_seg *s, uint64_t now)
{
	struct twd_out o = {
		.laddr = s->daddr,
		.raddr = s->saddr,
		.lport = s->dport,
		.rport = s->sport,
		.lmac = lmac,
		.rmac = s->smac,
		.ip_id = t->ip_id++,
	};

	if (s->flags & TCP_RST || !reply_allowed(t, now))
		return;
	if (s->flags & TCP_ACK) {
		o.seq = s->ack;
		o.flags = TCP_RST;
	} else {
		o.ack = s->seq + s->len + !!(s->flags & TCP_SYN) + !!(s->flags & TCP_FIN);
		o.flags = TCP_RST | TCP_ACK;
	}
	t->st.resets++;
	send_frame(t, ifindex, &o);
}

/* ---- connections ---- */

static void conn_end(struct twd *t, struct twd_conn *c, uint64_t *counter)
{
	struct twd_conn **pp = conn_slot(t, c->laddr, c->lport, c->raddr, c->rport);

	if (*pp == c)
		*pp = c->hnext;
	heap_remove(t, c);
	t->nconns--;
	(*counter)++;
	c->f->nconns--;
	filter_put(t, c->f);
	free(c);
}

static void enter_time_wait(struct twd *t, struct twd_conn *c, uint64_t now)
{
	c->state = EXOS_TCP_TIME_WAIT;
	c->rtx_at = 0;
	c->since = now;
	c->expire = now + 2 * t->msl;
	conn_timer(t, c);
}

/* r may share f: the same listener's port filter (never while given), or the same block. */
static bool filter_shared_with(const struct twd_filter *f, const struct twd_rec *r)
{
	if (f->dead || memcmp(&f->cap, &r->cap, sizeof(f->cap)))
		return false;
	if (f->block)
		return r->flags & TWD_F_BLOCK;
	return f->port && (r->flags & TWD_F_PORT) && !f->given && f->lport == r->lport &&
	       f->port_laddr == r->port_laddr;
}

static struct twd_filter *filter_get(struct twd *t, const struct twd_rec *r, int *err)
{
	struct twd_filter *f = filter_find(t, r->filter);

	*err = 0;
	if (f) {
		if (!filter_shared_with(f, r))
			*err = -EEXIST;
		return *err ? NULL : f;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = t->ops->ref(t->arg, r->filter, &r->cap);
	if (*err) {
		free(f);
		return NULL;
	}
	f->id = r->filter;
	f->cap = r->cap;
	f->port = r->flags & TWD_F_PORT;
	f->block = r->flags & TWD_F_BLOCK;
	f->port_laddr = r->port_laddr;
	f->lport = r->lport;
	f->ifindex = r->ifindex;
	memcpy(f->lmac, r->lmac, ETH_ADDR_LEN);
	f->hnext = t->filters[f->id % TWD_HASH_BUCKETS];
	t->filters[f->id % TWD_HASH_BUCKETS] = f;
	t->nfilters++;
	return f;
}

int twd_add(struct twd *t, const struct twd_rec *r, uint64_t now)
{
	struct twd_conn **pp, *c;
	struct twd_filter *f;
	int err = twd_rec_check(r);

	if (err)
		return err;
	pp = conn_slot(t, r->laddr, r->lport, r->raddr, r->rport);
	if (*pp)
		return -EEXIST;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	f = filter_get(t, r, &err);
	if (!f) {
		free(c);
		return err;
	}
	c->f = f;
	f->nconns++;
	c->laddr = r->laddr;
	c->raddr = r->raddr;
	c->lport = r->lport;
	c->rport = r->rport;
	c->ifindex = r->ifindex;
	memcpy(c->lmac, r->lmac, ETH_ADDR_LEN);
	memcpy(c->rmac, r->rmac, ETH_ADDR_LEN); /* without TWD_F_MAC: learnt from a frame */
	c->state = r->state;
	c->flags = r->flags;
	c->wscale = r->rcv_wscale;
	c->retries = r->retries;
	c->win = r->win;
	c->snd_una = r->snd_una;
	c->snd_nxt = r->snd_nxt;
	c->fin_seq = r->fin_seq;
	c->rcv_nxt = r->rcv_nxt;
	c->ts_recent = r->ts_recent;
	c->ts_offset = r->ts_offset;
	c->rto = (uint64_t)r->rto_ms * TWD_NSEC_PER_MSEC;
	if (c->rto < TWD_RTO_MIN_NS)
		c->rto = TWD_RTO_MIN_NS;
	if (c->rto > TWD_RTO_MAX_NS)
		c->rto = TWD_RTO_MAX_NS;
	*pp = c;
	t->nconns++;
	switch (c->state) {
	case EXOS_TCP_TIME_WAIT:
		c->since = r->since_ns ? r->since_ns : now;
		c->expire = MIN(r->expire_ns, c->since + 2 * t->msl);
		if (c->expire < now)
			c->expire = now; /* ends at the next timer run */
		break;
	case EXOS_TCP_FIN_WAIT_2:
		c->expire = MIN(r->expire_ns, now + TWD_FIN_WAIT2_NS);
		break;
	default: /* our FIN is outstanding */
		if (c->snd_nxt == c->fin_seq)
			send_fin(t, c, now); /* never sent (a closed window): now */
		c->rtx_at = now + c->rto;
		break;
	}
	conn_timer(t, c);
	return 0;
}

/* RFC 9293 §3.10.7.4, first check. */
static bool seg_acceptable(const struct twd_conn *c, const struct twd_seg *s)
{
	uint32_t wnd = (uint32_t)c->win << c->wscale;
	uint32_t slen = s->len + !!(s->flags & TCP_SYN) + !!(s->flags & TCP_FIN);

	if (slen == 0)
		return wnd == 0 ? s->seq == c->rcv_nxt
				: SEQ_GEQ(s->seq, c->rcv_nxt) && SEQ_LT(s->seq, c->rcv_nxt + wnd);
	if (wnd == 0)
		return false;
	return (SEQ_GEQ(s->seq, c->rcv_nxt) && SEQ_LT(s->seq, c->rcv_nxt + wnd)) ||
	       (SEQ_GEQ(s->seq + slen - 1, c->rcv_nxt) &&
		SEQ_LT(s->seq + slen - 1, c->rcv_nxt + wnd));
}

/* RFC 6191 §2: may a SYN for a TIME_WAIT 4-tuple start a new incarnation? */
static bool syn_acceptable(const struct twd_conn *c, const struct twd_seg *s)
{
	if (c->flags & TWD_F_TS) {
		if (s->ts)
			return SEQ_GT(s->tsval, c->ts_recent) ||
			       (s->tsval == c->ts_recent && SEQ_GT(s->seq, c->rcv_nxt));
		return SEQ_GT(s->seq, c->rcv_nxt);
	}
	return s->ts || SEQ_GT(s->seq, c->rcv_nxt);
}

static void conn_input(struct twd *t, struct twd_conn *c, const struct twd_seg *s, uint64_t now)
{
	bool ts = (c->flags & TWD_F_TS) && s->ts;

	if (!(c->flags & TWD_F_MAC)) {
		memcpy(c->rmac, s->smac, ETH_ADDR_LEN); /* the neighbour that delivered it */
		c->flags |= TWD_F_MAC;
	}
	if ((s->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN) {
		if (c->state == EXOS_TCP_TIME_WAIT && syn_acceptable(c, s)) {
			/* A new incarnation: free the 4-tuple.  This SYN is spent (twd cannot
			 * accept for anyone); the peer's retransmission finds the listener. */
			struct twd_filter *f = c->f;
			t->st.syn_reuse++;
			conn_end(t, c, &t->st.ended_syn);
			filter_release_first(t, f); /* (a port filter stays while it has others) */
			return;
		}
		/* Old, or not in TIME_WAIT: the ACK of the connection we have (RFC 9293
		 * §3.10.7.4 with RFC 5961 §4; RFC 6191's "silently drop" leaves the peer to its
		 * SYN timeout, Linux answers like this) */
		if (reply_allowed(t, now)) {
			t->st.syn_old++;
			t->st.challenge_acks++;
			send_ack(t, c, now);
		}
		return;
	}
	if (ts && !(s->flags & TCP_RST) && SEQ_LT(s->tsval, c->ts_recent)) {
		t->st.paws++; /* RFC 7323 §5.3 */
		send_ack(t, c, now);
		return;
	}
	if (!seg_acceptable(c, s)) {
		if (s->flags & TCP_RST)
			return;
		if ((s->flags & TCP_FIN) && c->state == EXOS_TCP_TIME_WAIT &&
		    s->seq + s->len + 1 == c->rcv_nxt) {
			/* their FIN again: our last ACK was lost; TIME_WAIT starts over */
			t->st.fin_in++;
			c->expire = now + 2 * t->msl;
			conn_timer(t, c);
		}
		if (ts && SEQ_GEQ(s->tsval, c->ts_recent))
			c->ts_recent = s->tsval;
		send_ack(t, c, now);
		return;
	}
	if (s->flags & TCP_RST) {
		if (s->seq == c->rcv_nxt) {
			t->st.rst_in++;
			conn_end(t, c, &t->st.ended_rst);
		} else if (reply_allowed(t, now)) {
			t->st.challenge_acks++; /* RFC 5961 §3.2 */
			send_ack(t, c, now);
		}
		return;
	}
	if (s->flags & TCP_SYN) { /* SYN-ACK or SYN with ACK in a synchronized state */
		if (reply_allowed(t, now)) {
			t->st.challenge_acks++;
			send_ack(t, c, now);
		}
		return;
	}
	if (!(s->flags & TCP_ACK))
		return;
	if (SEQ_GT(s->ack, c->snd_nxt)) {
		send_ack(t, c, now); /* acknowledges something never sent */
		return;
	}
	if (SEQ_GT(s->ack, c->snd_una))
		c->snd_una = s->ack;
	if (ts && SEQ_GEQ(s->tsval, c->ts_recent) && SEQ_LEQ(s->seq, c->rcv_nxt))
		c->ts_recent = s->tsval; /* RFC 7323 §4.3 */
	bool fin_acked = c->snd_una == c->fin_seq + 1;
	switch (c->state) {
	case EXOS_TCP_FIN_WAIT_1:
		if (fin_acked) {
			c->state = EXOS_TCP_FIN_WAIT_2;
			c->rtx_at = 0;
			c->expire = now + MIN(TWD_FIN_WAIT2_NS, 2 * t->msl);
			conn_timer(t, c);
		}
		break;
	case EXOS_TCP_CLOSING:
		if (fin_acked)
			enter_time_wait(t, c, now);
		break;
	case EXOS_TCP_LAST_ACK:
		if (fin_acked) {
			conn_end(t, c, &t->st.ended_last_ack);
			return;
		}
		break;
	default:
		break;
	}
	if (s->len) {
		if (c->state == EXOS_TCP_FIN_WAIT_1 || c->state == EXOS_TCP_FIN_WAIT_2) {
			/* Data after the application closed: it cannot be delivered (RFC 1122
			 * 4.2.2.13, RFC 9293 §3.6.1). */
			t->st.data_rst++;
			if (reply_allowed(t, now)) {
				t->st.resets++;
				conn_send(t, c, c->snd_nxt, TCP_RST, now);
			}
			conn_end(t, c, &t->st.ended_data);
			return;
		}
		send_ack(t, c, now); /* past their FIN: re-ACK it */
		return;
	}
	if (!(s->flags & TCP_FIN))
		return;
	t->st.fin_in++;
	if (s->seq != c->rcv_nxt) {
		send_ack(t, c, now);
		return;
	}
	switch (c->state) {
	case EXOS_TCP_FIN_WAIT_1:
		c->rcv_nxt++;
		c->state = EXOS_TCP_CLOSING;
		break;
	case EXOS_TCP_FIN_WAIT_2:
		c->rcv_nxt++;
		enter_time_wait(t, c, now);
		break;
	case EXOS_TCP_TIME_WAIT:
		c->expire = now + 2 * t->msl;
		conn_timer(t, c);
		break;
	default:
		break;
	}
	send_ack(t, c, now);
}

void twd_input(struct twd *t, uint32_t filter, const uint8_t *frame, uint32_t len,
	       uint64_t now)
{
	struct twd_seg s;
	struct twd_conn *c;
	struct twd_filter *f;

	t->st.rx++;
	if (twd_seg_parse(frame, len, &s)) {
		t->st.rx_bad++;
		return;
	}
	f = filter_find(t, filter);
	if (!f) {
		t->st.rx_stray++; /* from a filter already let go: no claim to answer with */
		return;
	}
	if (f->given) {
		t->st.rx_given++; /* on its way to the port's new listener */
		return;
	}
	c = *conn_slot(t, s.daddr, s.dport, s.saddr, s.sport);
	if (!c || c->f != f) {
		/* a connection that ended (its filter not yet released), or another 4-tuple
		 * on a port twd holds: CLOSED, RFC 9293 §3.10.7.1 - except a SYN for a
		 * 4-tuple that is being freed for its application's listener: its
		 * retransmission will find the listener */
		t->st.rx_stray++;
		if (!f->port && !f->block && (s.flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
			return;
		send_rst_reply(t, f->ifindex, f->lmac, &s, now);
		return;
	}
	conn_input(t, c, &s, now);
}

void twd_timers(struct twd *t, uint64_t now)
{
	while (t->nheap && t->heap[0]->when <= now) {
		struct twd_conn *c = t->heap[0];

		heap_remove(t, c);
		if (c->expire && c->expire <= now) {
			conn_end(t, c,
				 c->state == EXOS_TCP_TIME_WAIT ? &t->st.ended_timewait
								: &t->st.ended_fin_wait2);
			continue;
		}
		if (c->rtx_at && c->rtx_at <= now) {
			if (c->retries >= TWD_FIN_RETRIES) {
				conn_end(t, c, &t->st.ended_gaveup);
				continue;
			}
			c->retries++;
			t->st.fin_rtx++;
			send_fin(t, c, now);
			c->rto = MIN(c->rto * 2, TWD_RTO_MAX_NS);
			c->rtx_at = now + c->rto;
		}
		conn_timer(t, c);
	}
}

uint64_t twd_next_timer(const struct twd *t)
{
	return t->nheap ? t->heap[0]->when : 0;
}

static void conn_rec(const struct twd_conn *c, struct twd_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->laddr = c->laddr;
	r->raddr = c->raddr;
	r->lport = c->lport;
	r->rport = c->rport;
	r->ifindex = c->ifindex;
	memcpy(r->lmac, c->lmac, ETH_ADDR_LEN);
	memcpy(r->rmac, c->rmac, ETH_ADDR_LEN);
	r->state = c->state;
	r->flags = c->flags;
	r->rcv_wscale = c->wscale;
	r->retries = c->retries;
	r->win = c->win;
	r->snd_una = c->snd_una;
	r->snd_nxt = c->snd_nxt;
	r->fin_seq = c->fin_seq;
	r->rcv_nxt = c->rcv_nxt;
	r->ts_recent = c->ts_recent;
	r->ts_offset = c->ts_offset;
	r->rto_ms = (uint32_t)(c->rto / TWD_NSEC_PER_MSEC);
	r->expire_ns = c->expire;
	r->since_ns = c->since;
	r->filter = c->f->id;
	r->cap = c->f->cap;
	if (c->f->port)
		r->port_laddr = c->f->port_laddr;
}

/* Ends (or, with recs, gives away) every connection f delivers. */
static uint32_t filter_drain(struct twd *t, struct twd_filter *f, struct twd_rec *recs)
{
	uint32_t n = 0;

	for (uint32_t b = 0; b < TWD_HASH_BUCKETS && f->nconns; b++) {
		struct twd_conn *c = t->conns[b], *next;
		for (; c; c = next) {
			next = c->hnext;
			if (c->f != f)
				continue;
			if (recs)
				conn_rec(c, &recs[n]);
			n++;
			conn_end(t, c, &t->st.ended_released);
		}
	}
	return n;
}

int twd_take(struct twd *t, uint32_t laddr, uint16_t lport, struct twd_port *port,
	     struct twd_rec **recs, uint32_t *n, uint64_t now)
{
	struct twd_filter *give = NULL;

	(void)now;
	t->st.takes++;
	*recs = NULL;
	*n = 0;
	for (uint32_t b = 0; b < TWD_HASH_BUCKETS; b++) {
		struct twd_filter *f = t->filters[b], *next;
		for (; f; f = next) {
			next = f->hnext;
			if (f->dead && f->port && f->lport == lport) {
				/* on its way back to xokd: now, so that the listener's insert works */
				filter_release_first(t, f);
				t->rel_head = f->rnext;
				if (!t->rel_head)
					t->rel_tail = NULL;
				t->nrel--;
				filter_release(t, f);
				continue;
			}
			if (f->dead || !f->port || f->given || f->lport != lport)
				continue;
			if (f->port_laddr == laddr && !give) {
				give = f;
				continue;
			}
			/* the same port at another address: it would shadow the new listener
			 * (or be shadowed): let it go */
			t->st.ports_released++;
			f->nconns += 1; /* hold it while its connections go */
			filter_drain(t, f, NULL);
			f->nconns -= 1;
			filter_put(t, f);
		}
	}
	if (!give)
		return -ENOENT;
	*recs = calloc(give->nconns + 1, sizeof(**recs));
	if (!*recs)
		return -ENOMEM;
	memset(port, 0, sizeof(*port));
	port->filter = give->id;
	port->cap = give->cap;
	give->given = true;
	t->st.ports_given++;
	*n = filter_drain(t, give, *recs);
	return 0;
}

void twd_take_done(struct twd *t, uint32_t filter)
{
	struct twd_filter *f = filter_find(t, filter);

	if (!f || !f->given)
		return;
	f->given = false;
	filter_put(t, f);
}

struct twd *twd_new(const struct twd_ops *ops, void *arg, uint64_t msl_ns)
{
	struct twd *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ops = ops;
	t->arg = arg;
	t->msl = msl_ns;
	t->tokens = TWD_REPLY_BURST;
	return t;
}

void twd_free(struct twd *t)
{
	if (!t)
		return;
	for (uint32_t b = 0; b < TWD_HASH_BUCKETS; b++)
		while (t->conns[b])
			conn_end(t, t->conns[b], &t->st.ended_released);
	for (uint32_t b = 0; b < TWD_HASH_BUCKETS; b++) {
		for (struct twd_filter *f = t->filters[b]; f; f = f->hnext) {
			f->given = false;
			f->nconns = 0;
			filter_put(t, f);
		}
	}
	twd_release(t, UINT32_MAX);
	free(t->heap);
	free(t);
}

const struct twd_stats *twd_stats(const struct twd *t)
{
	return &t->st;
}

void twd_note_handoff(struct twd *t, uint32_t n, uint32_t taken)
{
	t->st.handoffs++;
	t->st.taken += taken;
	t->st.refused += n - taken;
}

uint32_t twd_count(const struct twd *t, uint32_t *by)
{
	if (by) {
		memset(by, 0, EXOS_TCP_STATE_NR * sizeof(*by));
		for (uint32_t b = 0; b < TWD_HASH_BUCKETS; b++)
			for (const struct twd_conn *c = t->conns[b]; c; c = c->hnext)
				by[c->state < EXOS_TCP_STATE_NR ? c->state : 0]++;
	}
	return t->nconns;
}

uint32_t twd_filters(const struct twd *t)
{
	return t->nfilters;
}

uint32_t twd_releasing(const struct twd *t)
{
	return t->nrel;
}

int twd_state(const struct twd *t, uint32_t laddr, uint16_t lport, uint32_t raddr,
	      uint16_t rport)
{
	const struct twd_conn *c = t->conns[hash4(laddr, lport, raddr, rport)];

	for (; c; c = c->hnext)
		if (c->laddr == laddr && c->lport == lport && c->raddr == raddr &&
		    c->rport == rport)
			return c->state;
	return -1;
}
