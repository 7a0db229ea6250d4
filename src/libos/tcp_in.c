/* tcp_in.c - TCP ingress path: the RFC 9293 state machine */
#include <exos/tcp.h>

#include "tcp_int.h"

/*
 * A segment is checked (checksum, options), demultiplexed by 4-tuple, and run through
 * RFC 9293 §3.10.7 "SEGMENT ARRIVES": PAWS (RFC 7323 §5), sequence acceptability and
 * trimming, RST and SYN with RFC 5961's exact-match and challenge-ACK rules, ACK processing
 * (send queue, RTT, congestion control and loss detection, window update), then text (to the
 * receive queues, tcp_rxq.c: in place to the application, or kept) and FIN.
 *
 * ACKs are not sent from here: the segment marks the connection as owing one and
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

void tcp_fin_in(struct exos_tcp *c)
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
	if (s->exiting) {
		tcp_send_rst_reply(s, ifc, seg); /* the process is going: the port is closing */
		return;
	}
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
	c->ts_offset = tcp_ts_offset(s, c->laddr, c->raddr);
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
		if (tcp_ooq_insert(c, seg->seq, seg->data, seg->len, fin) == 0)
			tcp_rsack_note(c, seg->seq);
		tcp_ack_now(c); /* RFC 5681 4.2: a duplicate ACK at once */
		return;
	}
	bool hole = c->ooq_head != NULL;
	if (seg->len) {
		if (!tcp_rx_inorder(c, seg->data, seg->len))
			return;
		if (c->flags & TF_DEAD)
			return;
		if (c->unacked_segs < UINT8_MAX)
			c->unacked_segs++;
	}
	if (fin) {
		if (hole)
			tcp_ooq_purge(c);
		tcp_fin_in(c);
		return;
	}
	if (hole) {
		tcp_ooq_drain(c);
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
