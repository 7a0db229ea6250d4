/* tcp_in.c - TCP ingress path: the RFC 9293 state machine, reassembly, delivery */
#include <exos/tcp.h>

#include "tcp_int.h"

/*
 * A segment is checked (checksum, options), demultiplexed by 4-tuple, and run through
 * RFC 9293 §3.10.7 "SEGMENT ARRIVES": PAWS (RFC 7323 §5), sequence acceptability and
 * trimming, RST and SYN with RFC 5961's exact-match and challenge-ACK rules, ACK processing
 * (send queue, RTT, congestion control, SACK scoreboard, window update), then text and FIN.
 *
 * In-order data is handed to the application in place (a pointer into the ring entry);
 * whatever it does not consume, and every out-of-order segment, is copied into packet
 * buffers.  ACKs are not sent from here: the segment marks the connection as owing one and
 * tcp_end_batch decides after the whole batch (and the application's replies) has been
 * processed - at once for out-of-order data, filled holes and FINs, else every second
 * full segment or after the delayed-ACK timeout.
 */

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int tcp_parse_opts(const struct tcp_hdr *th, struct tcp_opts *o)
{
	const uint8_t *p = (const uint8_t *)th + TCP_HDR_LEN;
	unsigned n = tcp_hdr_len(th) - TCP_HDR_LEN;

	memset(o, 0, sizeof(*o));
	o->wscale = -1;
	while (n) {
		uint8_t kind = p[0], len;
		if (kind == TCP_OPT_END)
			break;
		if (kind == TCP_OPT_NOP) {
			p++;
			n--;
			continue;
		}
		if (n < 2 || (len = p[1]) < 2 || len > n)
			return -EINVAL;
		switch (kind) {
		case TCP_OPT_MSS:
			if (len == TCP_OPTLEN_MSS)
				o->mss = get16(p + 2);
			break;
		case TCP_OPT_WSCALE:
			if (len == TCP_OPTLEN_WSCALE)
				o->wscale = (int8_t)MIN(p[2], TCP_WSCALE_MAX); /* RFC 7323 2.3 */
			break;
		case TCP_OPT_SACK_PERM:
			if (len == TCP_OPTLEN_SACK_PERM)
				o->sack_ok = true;
			break;
		case TCP_OPT_TIMESTAMP:
			if (len == TCP_OPTLEN_TIMESTAMP) {
				o->ts = true;
				o->tsval = get32(p + 2);
				o->tsecr = get32(p + 6);
			}
			break;
		case TCP_OPT_SACK:
			if ((len - 2) % 8 == 0) {
				unsigned nb = MIN((unsigned)(len - 2) / 8, TCP_SACK_BLOCKS_MAX);
				for (unsigned i = 0; i < nb; i++) {
					o->sack[i].start = get32(p + 2 + 8 * i);
					o->sack[i].end = get32(p + 6 + 8 * i);
				}
				o->nsack = (uint8_t)nb;
			}
			break;
		default:
			break;
		}
		p += len;
		n -= len;
	}
	return 0;
}

uint32_t tcp_rcv_wnd(const struct exos_tcp *c)
{
	uint32_t used = c->rxq_bytes + c->rx_held;

	return used >= c->rcvbuf ? 0 : c->rcvbuf - used;
}

/* ---- receive queues ---- */

static void rxseg_free(struct exos_stack *s, struct rxseg *r)
{
	if (r->buf)
		pbuf_put(s, r->buf);
	slab_put(&s->rxseg_slab, r);
}

void tcp_rx_free(struct exos_tcp *c)
{
	struct exos_stack *s = c->s;
	struct rxseg *r;

	while ((r = c->rxq_head)) {
		c->rxq_head = r->next;
		rxseg_free(s, r);
	}
	while ((r = c->ooq_head)) {
		c->ooq_head = r->next;
		rxseg_free(s, r);
	}
	c->rxq_tail = c->ooq_tail = NULL;
	c->rxq_bytes = c->ooq_bytes = c->ooq_segs = 0;
	c->nrsack = 0;
}

static void rxq_link(struct exos_tcp *c, struct rxseg *r)
{
	r->next = NULL;
	r->fin = 0;
	if (c->rxq_tail)
		c->rxq_tail->next = r;
	else
		c->rxq_head = r;
	c->rxq_tail = r;
	c->rxq_bytes += r->len;
}

/* Copies in-order bytes into the kept queue, packing them behind the last buffer.
 * The caller reserved the buffers (pbuf_reserve), so this cannot fail half-way. */
static void rxq_append(struct exos_tcp *c, const uint8_t *data, uint32_t len)
{
	struct exos_stack *s = c->s;
	struct rxseg *t = c->rxq_tail;

	if (t && t->buf && t->off + t->len < PBUF_SIZE) {
		uint32_t k = MIN(len, PBUF_SIZE - (uint32_t)(t->off + t->len));
		memcpy(t->buf + t->off + t->len, data, k);
		t->len = (uint16_t)(t->len + k);
		c->rxq_bytes += k;
		data += k;
		len -= k;
	}
	while (len) {
		struct rxseg *r = slab_get(&s->rxseg_slab);
		uint8_t *buf = r ? pbuf_get(s) : NULL;
		if (!buf) {
			if (r)
				slab_put(&s->rxseg_slab, r);
			return; /* unreachable after pbuf_reserve, unless malloc failed */
		}
		uint32_t k = MIN(len, (uint32_t)PBUF_SIZE);
		memcpy(buf, data, k);
		r->buf = buf;
		r->len = (uint16_t)k;
		rxq_link(c, r);
		data += k;
		len -= k;
	}
}

static uint32_t pbufs_for(uint32_t len)
{
	return (len + PBUF_SIZE - 1) / PBUF_SIZE + 1;
}

/* Offers kept data to the application. */
void tcp_deliver(struct exos_tcp *c)
{
	struct exos_stack *s = c->s;
	struct rxseg *r;

	if (c->flags & (TF_DELIVERING | TF_APP_CLOSED | TF_DEAD) || !c->ops || !c->ops->on_data)
		goto eof;
	c->flags |= TF_DELIVERING;
	while ((r = c->rxq_head)) {
		size_t n = c->ops->on_data(c, r->buf + r->off, r->len, c->arg);
		if (c->flags & TF_DEAD)
			break;
		n = MIN(n, (size_t)r->len);
		if (c->opt_flags & EXOS_TCP_F_MANUAL_WINDOW)
			c->rx_held += (uint32_t)n;
		c->rxq_bytes -= (uint32_t)n;
		if (n < r->len) {
			r->off = (uint16_t)(r->off + n);
			r->len = (uint16_t)(r->len - n);
			break;
		}
		c->rxq_head = r->next;
		if (!c->rxq_head)
			c->rxq_tail = NULL;
		rxseg_free(s, r);
	}
	c->flags &= ~(uint32_t)TF_DELIVERING;
eof:
	if ((c->flags & TF_CLOSE_NOTIFY) && !c->rxq_head && !(c->flags & TF_DELIVERING)) {
		c->flags &= ~(uint32_t)TF_CLOSE_NOTIFY;
		if (!(c->flags & (TF_APP_CLOSED | TF_DEAD)) && c->ops && c->ops->on_close)
			c->ops->on_close(c, c->arg);
	}
}

/* In-order payload at rcv_nxt: in place to on_data, the rest kept.  False: no buffers to
 * keep it, the segment is dropped (nothing advanced). */
static bool rx_inorder(struct exos_tcp *c, const uint8_t *data, uint32_t len)
{
	struct exos_stack *s = c->s;

	if (pbuf_reserve(s, pbufs_for(len)) < 0) {
		s->st.tx_drop_nobuf++;
		return false;
	}
	c->rcv_nxt += len;
	c->bytes_received += len;
	if (c->rxq_head || (c->flags & (TF_DELIVERING | TF_APP_CLOSED)) || !c->ops ||
	    !c->ops->on_data) {
		rxq_append(c, data, len);
		tcp_deliver(c); /* kept data first, then this */
		return true;
	}
	c->flags |= TF_DELIVERING;
	size_t n = c->ops->on_data(c, data, len, c->arg);
	c->flags &= ~(uint32_t)TF_DELIVERING;
	if (c->flags & TF_DEAD)
		return true;
	n = MIN(n, (size_t)len);
	if (c->opt_flags & EXOS_TCP_F_MANUAL_WINDOW)
		c->rx_held += (uint32_t)n;
	if (n < len)
		rxq_append(c, data + n, len - (uint32_t)n);
	return true;
}

/* The contiguous run of out-of-order data containing seq. */
static struct sack_block ooq_run(const struct exos_tcp *c, uint32_t seq)
{
	struct sack_block b = {0, 0};
	bool in = false;

	for (const struct rxseg *r = c->ooq_head; r; r = r->next) {
		uint32_t end = r->seq + r->len + r->fin;
		if (in && r->seq == b.end) {
			b.end = end;
			continue;
		}
		if (in)
			break;
		b.start = r->seq;
		b.end = end;
		in = SEQ_LEQ(r->seq, seq) && SEQ_LT(seq, end);
		if (!in && SEQ_GT(r->seq, seq))
			break;
	}
	return in ? b : (struct sack_block){seq, seq};
}

/* RFC 2018 §4: the first block reports the most recent arrival, the rest repeat the most
 * recently reported blocks. */
static void rsack_note(struct exos_tcp *c, uint32_t seq)
{
	struct sack_block old[TCP_SACK_BLOCKS_MAX], b = ooq_run(c, seq);
	unsigned n = c->nrsack, k = 0;

	if (b.start == b.end)
		return;
	memcpy(old, c->rsack, sizeof(old));
	c->rsack[k++] = b;
	for (unsigned i = 0; i < n && k < TCP_SACK_BLOCKS_MAX; i++) {
		if (SEQ_LEQ(old[i].end, c->rcv_nxt))
			continue;
		if (SEQ_LEQ(old[i].start, b.end) && SEQ_GEQ(old[i].end, b.start))
			continue; /* inside (or merged into) the new block */
		c->rsack[k++] = old[i];
	}
	c->nrsack = (uint8_t)k;
}

static void rsack_trim(struct exos_tcp *c)
{
	unsigned k = 0;

	for (unsigned i = 0; i < c->nrsack; i++) {
		if (SEQ_LEQ(c->rsack[i].end, c->rcv_nxt))
			continue;
		c->rsack[k] = c->rsack[i];
		if (SEQ_LT(c->rsack[k].start, c->rcv_nxt))
			c->rsack[k].start = c->rcv_nxt;
		k++;
	}
	c->nrsack = (uint8_t)k;
}

static void ooq_unlink_next(struct exos_tcp *c, struct rxseg **pp, struct rxseg *prev)
{
	struct rxseg *r = *pp;

	*pp = r->next;
	if (c->ooq_tail == r)
		c->ooq_tail = prev;
	c->ooq_segs--;
	c->ooq_bytes -= r->len;
	rxseg_free(c->s, r);
}

/* Keeps an out-of-order segment (copied), sorted and without overlaps. */
static int ooq_insert(struct exos_tcp *c, uint32_t seq, const uint8_t *data, uint32_t len,
		      bool fin)
{
	struct exos_stack *s = c->s;
	struct rxseg **pp = &c->ooq_head, *prev = NULL;
	uint32_t end = seq + len;

	if (c->ooq_tail && SEQ_GEQ(seq, c->ooq_tail->seq + c->ooq_tail->len)) {
		prev = c->ooq_tail;
		pp = &prev->next;
	} else {
		while (*pp && SEQ_LT((*pp)->seq, seq)) {
			prev = *pp;
			pp = &prev->next;
		}
	}
	if (prev) {
		uint32_t pend = prev->seq + prev->len;
		if (prev->fin && SEQ_GT(end, pend))
			return 0; /* data beyond a FIN: bogus */
		if (SEQ_GT(pend, seq)) {
			if (SEQ_GEQ(pend, end)) {
				if (fin && pend == end)
					prev->fin = 1;
				return 0; /* all duplicate */
			}
			data += pend - seq;
			len -= pend - seq;
			seq = pend;
		}
	}
	/* Segments the new one covers entirely go; a partial overlap trims the new one. */
	while (*pp && SEQ_GEQ((*pp)->seq, seq) && SEQ_LEQ((*pp)->seq + (*pp)->len, end)) {
		if ((*pp)->fin && (*pp)->seq + (*pp)->len == end)
			fin = true;
		ooq_unlink_next(c, pp, prev);
	}
	if (*pp && SEQ_GT(end, (*pp)->seq)) {
		len = (*pp)->seq - seq;
		end = seq + len;
		fin = false;
	}
	if (!len && !fin)
		return 0;
	if (c->ooq_segs + pbufs_for(len) > TCP_OOO_MAX_SEGS || pbuf_reserve(s, pbufs_for(len)) < 0)
		return -ENOBUFS;
	do {
		uint32_t k = MIN(len, (uint32_t)PBUF_SIZE);
		struct rxseg *r = slab_get(&s->rxseg_slab);
		if (!r)
			return -ENOMEM;
		if (k) {
			r->buf = pbuf_get(s);
			memcpy(r->buf, data, k);
		}
		r->seq = seq;
		r->len = (uint16_t)k;
		r->fin = (uint8_t)(fin && k == len);
		r->next = *pp;
		*pp = r;
		if (!r->next)
			c->ooq_tail = r;
		pp = &r->next;
		prev = r;
		c->ooq_segs++;
		c->ooq_bytes += k;
		seq += k;
		data += k;
		len -= k;
	} while (len);
	return 0;
}

static void tcp_fin_in(struct exos_tcp *c);

/* Moves out-of-order data that rcv_nxt has reached into order. */
static void ooq_drain(struct exos_tcp *c)
{
	struct exos_stack *s = c->s;
	struct rxseg *r;

	while ((r = c->ooq_head) && SEQ_LEQ(r->seq, c->rcv_nxt)) {
		c->ooq_head = r->next;
		if (!c->ooq_head)
			c->ooq_tail = NULL;
		c->ooq_segs--;
		c->ooq_bytes -= r->len;
		uint32_t skip = c->rcv_nxt - r->seq;
		bool fin = r->fin && SEQ_GEQ(r->seq + r->len, c->rcv_nxt);
		if (skip >= r->len) {
			rxseg_free(s, r);
		} else {
			r->off = (uint16_t)(r->off + skip);
			r->len = (uint16_t)(r->len - skip);
			r->seq = c->rcv_nxt;
			c->rcv_nxt += r->len;
			c->bytes_received += r->len;
			rxq_link(c, r);
		}
		if (fin) {
			tcp_fin_in(c);
			break;
		}
	}
	rsack_trim(c);
	tcp_deliver(c);
}

/* ---- FIN, state changes ---- */

static void tcp_fin_in(struct exos_tcp *c)
{
	if (c->flags & TF_RX_FIN)
		return;
	c->rcv_nxt++;
	c->flags |= TF_RX_FIN | TF_ACK_NOW | TF_CLOSE_NOTIFY;
	tcp_defer(c, TL_ACK);
	switch (c->state) {
	case EXOS_TCP_SYN_RCVD:
	case EXOS_TCP_ESTABLISHED:
		tcp_set_state(c, EXOS_TCP_CLOSE_WAIT);
		break;
	case EXOS_TCP_FIN_WAIT_1:
		tcp_set_state(c, EXOS_TCP_CLOSING);
		break;
	case EXOS_TCP_FIN_WAIT_2:
		tcp_deliver(c);
		tcp_send_ack(c);
		tcp_tw_enter(c);
		return;
	default:
		break;
	}
	tcp_deliver(c);
}

static void tcp_syn_options(struct exos_tcp *c, const struct tcp_opts *o, bool active)
{
	uint16_t ifmss = (uint16_t)(c->ifc->mtu - IP_HDR_LEN - TCP_HDR_LEN);

	c->peer_mss = o->mss ? MAX(o->mss, TCP_MSS_MIN) : TCP_MSS_NOOPT;
	c->mss = MIN(c->peer_mss, ifmss);
	if (o->wscale >= 0 && !(c->opt_flags & EXOS_TCP_F_NO_WSCALE)) {
		c->flags |= TF_WS_OK;
		c->snd_wscale = (uint8_t)o->wscale;
	} else {
		c->snd_wscale = 0;
		c->rcv_wscale = 0;
	}
	if (o->ts && !(c->opt_flags & EXOS_TCP_F_NO_TS)) {
		c->flags |= TF_TS_OK;
		c->ts_recent = o->tsval;
		c->ts_recent_at = c->s->now;
	}
	if (o->sack_ok && !(c->opt_flags & EXOS_TCP_F_NO_SACK))
		c->flags |= TF_SACK_OK;
	(void)active;
}

/* ---- LISTEN ---- */

static void tcp_input_listen(struct exos_tcp *l, const struct exos_iface *ifc,
			     struct tcp_seg *seg)
{
	struct exos_stack *s = l->s;
	struct exos_tcp *c;

	if (seg->flags & TCP_RST)
		return;
	if (seg->flags & TCP_ACK) {
		tcp_send_rst_reply(s, ifc, seg);
		return;
	}
	if (!(seg->flags & TCP_SYN))
		return;
	if (l->nembryo + l->naccq >= l->backlog) {
		s->st.tcp_listen_overflow++;
		return; /* the client retries its SYN */
	}
	c = tcp_pcb_new(s);
	if (!c)
		return;
	c->laddr = seg->ip->daddr;
	c->lport = seg->th->dport;
	c->raddr = seg->ip->saddr;
	c->rport = seg->th->sport;
	c->listener = l;
	c->flags |= TF_PASSIVE;
	c->opt_flags = l->opt_flags;
	c->rcvbuf = l->rcvbuf;
	c->sndbuf = l->sndbuf;
	c->rcv_wscale = l->rcv_wscale;
	if (tcp_template_init(c) < 0) {
		slab_put(&s->tcp->pcb_slab, c);
		return;
	}
	l->nembryo++;
	c->irs = seg->seq;
	c->rcv_nxt = seg->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	tcp_syn_options(c, &seg->opt, false);
	c->snd_wnd = seg->wnd; /* never scaled in a SYN (RFC 7323 2.2) */
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = seg->seq;
	c->iss = tcp_isn(s, c->laddr, c->lport, c->raddr, c->rport);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_wl2 = c->iss;
	c->snd_end = c->iss + 1;
	c->last_ack_sent = c->rcv_nxt;
	tcp_set_state(c, EXOS_TCP_SYN_RCVD);
	tcp_hash_insert(c);
	tcp_cc_init(c);
	tcp_send_syn(c);
}

/* ---- SYN_SENT (RFC 9293 3.10.7.3) ---- */

static void tcp_data_fin(struct exos_tcp *c, struct tcp_seg *seg);

static void tcp_input_syn_sent(struct exos_tcp *c, const struct exos_iface *ifc,
			       struct tcp_seg *seg)
{
	struct exos_stack *s = c->s;
	bool ack = seg->flags & TCP_ACK;

	if (ack && (SEQ_LEQ(seg->ack, c->iss) || SEQ_GT(seg->ack, c->snd_max))) {
		if (!(seg->flags & TCP_RST))
			tcp_send_rst_reply(s, ifc, seg);
		return;
	}
	if (seg->flags & TCP_RST) {
		if (ack)
			tcp_done(c, -ECONNREFUSED);
		return;
	}
	if (!(seg->flags & TCP_SYN))
		return;
	c->irs = seg->seq;
	c->rcv_nxt = seg->seq + 1;
	c->last_ack_sent = c->rcv_nxt;
	tcp_syn_options(c, &seg->opt, true);
	c->rcv_adv = c->rcv_nxt + MIN(tcp_rcv_wnd(c), 0xffffu); /* our SYN's window */
	c->snd_wnd = seg->wnd;
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = seg->seq;
	c->snd_wl2 = seg->ack;
	if (!ack) {
		/* Simultaneous open: SYN_RCVD, SYN-ACK with our original ISS. */
		tcp_set_state(c, EXOS_TCP_SYN_RCVD);
		tcp_send_syn(c);
		return;
	}
	if ((c->flags & TF_RTT_TIMING) && c->retries == 0)
		tcp_rtt_sample(c, s->now - c->rtt_start);
	c->flags &= ~(uint32_t)TF_RTT_TIMING;
	c->snd_una = seg->ack;
	c->retries = 0;
	c->t_rtx = 0;
	tcp_set_state(c, EXOS_TCP_ESTABLISHED);
	tcp_cc_init(c);
	tcp_keep_reset(c);
	s->st.tcp_conns_connected++;
	/* The ACK goes at the end of the batch, so data sent from on_connected carries it. */
	c->flags |= TF_ACK_NOW;
	tcp_defer(c, TL_ACK);
	if (c->ops && c->ops->on_connected)
		c->ops->on_connected(c, c->arg);
	if (c->flags & TF_DEAD)
		return;
	if (seg->len || (seg->flags & TCP_FIN)) {
		seg->seq++;
		seg->flags &= (uint8_t)~TCP_SYN;
		tcp_data_fin(c, seg);
	}
	tcp_output(c);
	tcp_timer_update(c);
}

/* ---- synchronized states ---- */

static void tcp_challenge_ack(struct exos_tcp *c)
{
	struct exos_stack *s = c->s;

	if (s->now - c->chal_start > NSEC_PER_SEC) {
		c->chal_start = s->now;
		c->chal_count = 0;
	}
	if (c->chal_count++ >= TCP_CHALLENGE_PER_SEC)
		return;
	s->st.tcp_challenge_acks++;
	tcp_send_ack(c);
}

static void tcp_ack_now(struct exos_tcp *c)
{
	c->flags |= TF_ACK_NOW;
	tcp_defer(c, TL_ACK);
}

/* The window a segment must fall in: what we advertised. */
static uint32_t tcp_rwnd(const struct exos_tcp *c)
{
	return SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
}

/* RFC 9293 3.10.7.4 first check, then trimming to the window.  False: drop. */
static bool tcp_acceptable(struct exos_tcp *c, struct tcp_seg *seg)
{
	uint32_t wnd = tcp_rwnd(c);
	uint32_t slen = seg->len + !!(seg->flags & TCP_SYN) + !!(seg->flags & TCP_FIN);
	bool ok;

	if (slen == 0)
		ok = wnd == 0 ? seg->seq == c->rcv_nxt
			      : SEQ_GEQ(seg->seq, c->rcv_nxt) && SEQ_LT(seg->seq, c->rcv_nxt + wnd);
	else if (wnd == 0)
		ok = false;
	else
		ok = (SEQ_GEQ(seg->seq, c->rcv_nxt) && SEQ_LT(seg->seq, c->rcv_nxt + wnd)) ||
		     (SEQ_GEQ(seg->seq + slen - 1, c->rcv_nxt) &&
		      SEQ_LT(seg->seq + slen - 1, c->rcv_nxt + wnd));
	if (!ok && wnd == 0 && seg->seq == c->rcv_nxt) {
		/* Zero window: still take its ACK (and RST), not its text - which is answered
		 * with an ACK restating the window. */
		seg->len = 0;
		seg->flags &= (uint8_t)~(TCP_FIN | TCP_SYN);
		if (!(seg->flags & TCP_RST))
			tcp_ack_now(c);
		return true;
	}
	if (!ok)
		return false;

	/* Trim what lies before rcv_nxt ... */
	if (SEQ_LT(seg->seq, c->rcv_nxt)) {
		uint32_t dup = c->rcv_nxt - seg->seq;
		if (seg->flags & TCP_SYN) {
			seg->flags &= (uint8_t)~TCP_SYN;
			seg->seq++;
			dup--;
		}
		if (dup >= seg->len) {
			if (dup > seg->len)
				seg->flags &= (uint8_t)~TCP_FIN;
			seg->len = 0;
		} else {
			seg->data += dup;
			seg->len -= dup;
		}
		seg->seq = c->rcv_nxt;
	}
	/* ... and what lies beyond the window. */
	if (SEQ_GT(seg->seq + seg->len, c->rcv_nxt + wnd)) {
		seg->len = c->rcv_nxt + wnd - seg->seq;
		seg->flags &= (uint8_t)~TCP_FIN;
	}
	return true;
}

static void tcp_paws_update(struct exos_tcp *c, const struct tcp_seg *seg)
{
	/* RFC 7323 4.3 (2). */
	if (seg->opt.ts && SEQ_GEQ(seg->opt.tsval, c->ts_recent) &&
	    SEQ_LEQ(seg->seq, c->last_ack_sent)) {
		c->ts_recent = seg->opt.tsval;
		c->ts_recent_at = c->s->now;
	}
}

static void tcp_input_rst(struct exos_tcp *c, const struct tcp_seg *seg)
{
	if (seg->seq != c->rcv_nxt) {
		tcp_challenge_ack(c); /* RFC 5961 3.2: in window, not exact */
		return;
	}
	switch (c->state) {
	case EXOS_TCP_SYN_RCVD:
		tcp_done(c, (c->flags & TF_PASSIVE) ? 0 : -ECONNREFUSED);
		break;
	case EXOS_TCP_ESTABLISHED:
	case EXOS_TCP_FIN_WAIT_1:
	case EXOS_TCP_FIN_WAIT_2:
	case EXOS_TCP_CLOSE_WAIT:
		tcp_done(c, -ECONNRESET);
		break;
	default:
		tcp_done(c, 0);
		break;
	}
}

/* ACK processing of a synchronized connection.  False: drop the segment. */
static bool tcp_input_ack(struct exos_tcp *c, const struct exos_iface *ifc,
			  struct tcp_seg *seg)
{
	struct exos_stack *s = c->s;
	uint32_t ack = seg->ack;

	if (c->state == EXOS_TCP_SYN_RCVD) {
		if (SEQ_LEQ(ack, c->snd_una) || SEQ_GT(ack, c->snd_max)) {
			tcp_send_rst_reply(s, ifc, seg);
			return false;
		}
		if ((c->flags & TF_RTT_TIMING) && c->retries == 0)
			tcp_rtt_sample(c, s->now - c->rtt_start);
		c->flags &= ~(uint32_t)TF_RTT_TIMING;
		c->snd_una = ack;
		c->retries = 0;
		c->t_rtx = 0;
		c->snd_wnd = (uint32_t)seg->wnd << c->snd_wscale;
		c->max_snd_wnd = MAX(c->max_snd_wnd, c->snd_wnd);
		c->snd_wl1 = seg->seq;
		c->snd_wl2 = ack;
		tcp_set_state(c, EXOS_TCP_ESTABLISHED);
		tcp_cc_init(c);
		tcp_keep_reset(c);
		if (c->flags & TF_PASSIVE)
			tcp_accept_established(c);
		else if (c->ops && c->ops->on_connected) {
			s->st.tcp_conns_connected++;
			c->ops->on_connected(c, c->arg);
		}
		if (c->flags & TF_DEAD)
			return false;
		if (c->flags & TF_FIN_QUEUED)
			tcp_set_state(c, EXOS_TCP_FIN_WAIT_1);
		return true;
	}

	if (SEQ_GT(ack, c->snd_max)) {
		tcp_ack_now(c); /* acks something not yet sent */
		return false;
	}
	if (SEQ_LT(ack, c->snd_una - MAX(c->max_snd_wnd, 65535u))) {
		tcp_challenge_ack(c); /* RFC 5961 5.2 */
		return false;
	}

	uint32_t wnd = (uint32_t)seg->wnd << c->snd_wscale;
	uint32_t acked = 0;
	bool dupack = false;

	if (SEQ_GT(ack, c->snd_una)) {
		acked = ack - c->snd_una;
		if ((c->flags & TF_RTT_TIMING) && SEQ_GT(ack, c->rtt_seq)) {
			tcp_rtt_sample(c, s->now - c->rtt_start);
			c->flags &= ~(uint32_t)TF_RTT_TIMING;
		}
		c->snd_una = ack;
		if (SEQ_LT(c->snd_nxt, ack))
			c->snd_nxt = ack;
		c->retries = 0;
		c->persist_shift = 0;
		c->bytes_acked += acked;
		tcp_sendq_acked(c);
	} else if (ack == c->snd_una && seg->len == 0 && !(seg->flags & (TCP_SYN | TCP_FIN)) &&
		   wnd == c->snd_wnd && c->snd_max != c->snd_una) {
		s->st.tcp_dupacks_in++;
		dupack = true;
	}
	if (acked || dupack || seg->opt.nsack)
		tcp_cc_ack(c, acked, &seg->opt, dupack);
	if (acked)
		tcp_rtx_restart(c);

	/* Window update (RFC 9293 3.10.7.4, fifth check). */
	if (SEQ_LT(c->snd_wl1, seg->seq) ||
	    (c->snd_wl1 == seg->seq && SEQ_LEQ(c->snd_wl2, ack))) {
		bool opened = c->snd_wnd == 0 && wnd > 0;
		c->snd_wnd = wnd;
		c->max_snd_wnd = MAX(c->max_snd_wnd, wnd);
		c->snd_wl1 = seg->seq;
		c->snd_wl2 = ack;
		if (opened) {
			c->t_persist = 0;
			c->persist_shift = 0;
		}
	}

	bool fin_acked = (c->flags & TF_FIN_QUEUED) && SEQ_GT(c->snd_una, c->fin_seq);
	switch (c->state) {
	case EXOS_TCP_FIN_WAIT_1:
		if (fin_acked) {
			tcp_set_state(c, EXOS_TCP_FIN_WAIT_2);
			if (c->flags & TF_APP_CLOSED)
				c->t_conn = s->now + TCP_FIN_WAIT2_NS;
		}
		break;
	case EXOS_TCP_CLOSING:
		if (fin_acked) {
			tcp_tw_enter(c);
			return false;
		}
		break;
	case EXOS_TCP_LAST_ACK:
		if (fin_acked) {
			tcp_done(c, 0);
			return false;
		}
		break;
	default:
		break;
	}
	return true;
}

/* Text and FIN (RFC 9293 3.10.7.4, seventh and eighth checks). */
static void tcp_data_fin(struct exos_tcp *c, struct tcp_seg *seg)
{
	struct exos_stack *s = c->s;
	bool fin = seg->flags & TCP_FIN;

	if (!seg->len && !fin)
		return;
	if (c->state != EXOS_TCP_ESTABLISHED && c->state != EXOS_TCP_FIN_WAIT_1 &&
	    c->state != EXOS_TCP_FIN_WAIT_2 && c->state != EXOS_TCP_SYN_RCVD) {
		if (seg->len || fin)
			tcp_ack_now(c); /* the peer already closed: re-ACK its FIN */
		return;
	}
	if (seg->len && (c->flags & TF_APP_CLOSED)) {
		/* Data for a connection nobody will read: reset (as Linux does). */
		tcp_send_rst(c);
		tcp_done(c, 0);
		return;
	}
	if (seg->seq != c->rcv_nxt) {
		s->st.tcp_ooo_in++;
		if (ooq_insert(c, seg->seq, seg->data, seg->len, fin) == 0)
			rsack_note(c, seg->seq);
		tcp_ack_now(c); /* RFC 5681 4.2: a duplicate ACK at once */
		return;
	}
	bool hole = c->ooq_head != NULL;
	if (seg->len) {
		if (!rx_inorder(c, seg->data, seg->len))
			return;
		if (c->flags & TF_DEAD)
			return;
		if (c->unacked_segs < UINT8_MAX)
			c->unacked_segs++;
	}
	if (fin) {
		if (hole) {
			/* Whatever was queued beyond the FIN cannot be real data. */
			struct rxseg *r;
			while ((r = c->ooq_head)) {
				c->ooq_head = r->next;
				rxseg_free(s, r);
			}
			c->ooq_tail = NULL;
			c->ooq_bytes = c->ooq_segs = 0;
			c->nrsack = 0;
		}
		tcp_fin_in(c);
		return;
	}
	if (hole) {
		ooq_drain(c);
		tcp_ack_now(c); /* RFC 5681 4.2: a hole (partly) filled */
		return;
	}
	c->flags |= TF_ACK_DELAYED;
	tcp_defer(c, TL_ACK);
}

static void tcp_input_conn(struct exos_tcp *c, const struct exos_iface *ifc, struct tcp_seg *seg)
{
	struct exos_stack *s = c->s;

	if (c->state == EXOS_TCP_SYN_SENT) {
		tcp_input_syn_sent(c, ifc, seg);
		return;
	}
	tcp_keep_reset(c);

	/* PAWS (RFC 7323 5.3). */
	if ((c->flags & TF_TS_OK) && seg->opt.ts && !(seg->flags & TCP_RST)) {
		if (SEQ_LT(seg->opt.tsval, c->ts_recent)) {
			if (s->now - c->ts_recent_at < TCP_PAWS_IDLE_NS) {
				s->st.tcp_paws_drop++;
				tcp_ack_now(c);
				return;
			}
			c->ts_recent = seg->opt.tsval; /* idle 24 days: ts_recent is stale */
			c->ts_recent_at = s->now;
		}
	}

	if (c->state == EXOS_TCP_SYN_RCVD && (seg->flags & TCP_SYN) && !(seg->flags & TCP_ACK) &&
	    seg->seq == c->irs) {
		tcp_send_syn(c); /* the peer retransmitted its SYN: our SYN-ACK was lost */
		return;
	}

	if (!tcp_acceptable(c, seg)) {
		if (SEQ_LT(seg->seq, c->rcv_nxt))
			s->st.tcp_dup_in++;
		else
			s->st.tcp_bad_seq++;
		if (!(seg->flags & TCP_RST))
			tcp_ack_now(c);
		return;
	}
	if ((c->flags & TF_TS_OK) && !(seg->flags & TCP_RST))
		tcp_paws_update(c, seg);

	if (seg->flags & TCP_RST) {
		tcp_input_rst(c, seg);
		return;
	}
	if (seg->flags & TCP_SYN) {
		tcp_challenge_ack(c); /* RFC 5961 4.2 */
		return;
	}
	if (!(seg->flags & TCP_ACK))
		return;
	if (!tcp_input_ack(c, ifc, seg))
		return;
	tcp_data_fin(c, seg);
	if (c->flags & TF_DEAD)
		return;
	if (c->sq_head || (c->flags & TF_FIN_QUEUED))
		tcp_output(c);
	tcp_timer_update(c);
}

void tcp_input(struct exos_stack *s, const struct exos_iface *ifc, const struct ip_hdr *ip,
	       const uint8_t *p, size_t len)
{
	const struct tcp_hdr *th = (const struct tcp_hdr *)p;
	struct exos_tcp *c;
	struct tcp_seg seg;
	unsigned hl;

	s->st.tcp_in++;
	if (unlikely(len < TCP_HDR_LEN || (hl = tcp_hdr_len(th)) < TCP_HDR_LEN || hl > len)) {
		s->st.rx_drop_badip++;
		return;
	}
	c = tcp_lookup(s, ip->daddr, th->dport, ip->saddr, th->sport);
	if (!(s->flags & EXOS_STACK_NO_RX_CSUM) && !(c && (c->opt_flags & EXOS_TCP_F_NO_RX_CSUM))) {
		uint32_t sum = cksum_pseudo(ip->saddr, ip->daddr, IP_PROTO_TCP, (uint32_t)len);
		if (unlikely(cksum_fold(cksum_partial(p, len, sum)) != 0xffff)) {
			if (!cksum_is_partial(th->check, ip->saddr, ip->daddr, IP_PROTO_TCP,
					      (uint32_t)len)) {
				s->st.rx_drop_csum++;
				return;
			}
			s->st.rx_csum_partial++;
		}
	}
	seg.ip = ip;
	seg.th = th;
	seg.data = p + hl;
	seg.len = (uint32_t)(len - hl);
	seg.seq = ntohl(th->seq);
	seg.ack = ntohl(th->ack);
	seg.wnd = ntohs(th->win);
	seg.flags = th->flags;
	if (tcp_parse_opts(th, &seg.opt) < 0) {
		s->st.rx_drop_badip++;
		return;
	}
	if (c) {
		tcp_input_conn(c, ifc, &seg);
		return;
	}
	if (tcp_tw_input(s, ifc, &seg))
		return;
	c = tcp_listener_lookup(s, ip->daddr, th->dport);
	if (c) {
		tcp_input_listen(c, ifc, &seg);
		return;
	}
	s->st.tcp_no_pcb++;
	if (!(seg.flags & TCP_RST))
		tcp_send_rst_reply(s, ifc, &seg);
}

/* ---- the application side of the receive queue ---- */

void tcp_window_update(struct exos_tcp *c)
{
	uint32_t wnd = tcp_rcv_wnd(c), adv = tcp_rwnd(c);
	uint32_t mss = tcp_eff_mss(c);

	if (!tcp_synchronized(c) || (c->flags & TF_RX_FIN))
		return;
	/* Tell the peer once the window grew by two segments or half the buffer (and
	 * always when it reopens from below one segment). */
	if (wnd > adv && (wnd - adv >= MIN(2 * mss, c->rcvbuf / 2) || (adv < mss && wnd >= mss)))
		tcp_ack_now(c);
}

size_t tcp_rxq_read(struct exos_tcp *c, void *buf, size_t len, bool peek)
{
	struct exos_stack *s = c->s;
	uint8_t *out = buf;
	size_t done = 0;
	struct rxseg *r = c->rxq_head;

	while (r && done < len) {
		size_t k = MIN(len - done, (size_t)r->len);
		memcpy(out + done, r->buf + r->off, k);
		done += k;
		if (peek) {
			r = r->next;
			continue;
		}
		c->rxq_bytes -= (uint32_t)k;
		if (k < r->len) {
			r->off = (uint16_t)(r->off + k);
			r->len = (uint16_t)(r->len - k);
			break;
		}
		c->rxq_head = r->next;
		if (!c->rxq_head)
			c->rxq_tail = NULL;
		rxseg_free(s, r);
		r = c->rxq_head;
	}
	if (!peek && done)
		tcp_window_update(c);
	return done;
}

EXOS_API void exos_tcp_recved(struct exos_tcp *c, size_t n)
{
	stack_clock(c->s);
	c->rx_held = n >= c->rx_held ? 0 : c->rx_held - (uint32_t)n;
	tcp_window_update(c);
	stack_api_done(c->s);
}

EXOS_API int exos_tcp_rx_resume(struct exos_tcp *c)
{
	stack_clock(c->s);
	tcp_deliver(c);
	if (!(c->flags & TF_DEAD))
		tcp_window_update(c);
	stack_api_done(c->s);
	return 0;
}
