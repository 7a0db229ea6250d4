/* tcp_out.c - TCP egress path: send queue, segmentation, options, checksums, transmission */
#include <exos/tcp.h>

#include "tcp_int.h"

/*
 * The send queue is a list of send requests in sequence order: references to application
 * memory (zero copy) or packet buffers we copied into.  A segment gathers its payload
 * straight from them - the frame is a txb with the headers (built from the per-connection
 * template) followed by up to TCP_SEG_PIECES pieces - and the txb holds a reference on
 * every request it gathers from until xokd reports the frame gone.  Payload checksums come
 * from the application's precomputed per-block sums where it gave them, combined with the
 * header and pseudo-header sums; otherwise they are computed over the data.
 *
 * Where xokd offers TCP segmentation offload (XOK_IFF_TCP_GSO), new data leaves in frames
 * of many segments (tcp_frame_max) that the kernel cuts at the MSS, as a Linux sender's
 * do: on veth each frame, not each segment, crosses the receiver's stack.  Such a frame
 * carries only the pseudo-header sum; the checksums are computed where it is cut.
 * Retransmissions and everything that is not new data stay one segment per frame.
 *
 * tcp_output sends what the congestion and receive windows allow, applying Nagle (when
 * asked for) and sender-side SWS avoidance; in loss recovery the SACK scoreboard
 * (tcp_cc_next) chooses what goes next.  Every segment carries the ACK, which cancels any
 * pending delayed ACK: data sent in reply to a request is how the ACK gets merged.
 */

uint16_t tcp_eff_mss(const struct exos_tcp *c)
{
	return (uint16_t)(c->mss - ((c->flags & TF_TS_OK) ? TCP_OPT_TS_ALIGNED : 0));
}

uint32_t tcp_frame_max(const struct exos_tcp *c)
{
	uint32_t mss = tcp_eff_mss(c), room;

	if (!c->ifc || !c->ifc->gso_max || (c->opt_flags & EXOS_TCP_F_NO_GSO) ||
	    mss < XOK_TX_GSO_MIN || c->ifc->gso_max < TCP_FRAME_HDR + TCP_OPT_MAX + 2 * mss)
		return mss;
	room = MIN(c->ifc->gso_max - TCP_FRAME_HDR - TCP_OPT_MAX, (uint32_t)TCP_GSO_BYTES);
	return room / mss * mss;
}

uint32_t tcp_ts_now(const struct exos_tcp *c)
{
	return (uint32_t)(c->s->now / NSEC_PER_MSEC) + c->ts_offset;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The window field to advertise; moves rcv_adv.  Never shrinks the right edge, and holds
 * back small increases (receiver SWS avoidance, RFC 9293 3.8.6.2.2). */
static uint16_t tcp_adv_wnd(struct exos_tcp *c)
{
	uint32_t ws = c->rcv_wscale;
	uint32_t wnd = MIN(tcp_rcv_wnd(c), 0xffffu << ws);
	uint32_t right = c->rcv_nxt + wnd;
	uint32_t sws = MIN(c->rcvbuf / 2, (uint32_t)tcp_eff_mss(c));

	if (SEQ_LT(right, c->rcv_adv))
		right = c->rcv_adv;
	else if (right - c->rcv_adv < sws && SEQ_GT(c->rcv_adv, c->rcv_nxt))
		right = c->rcv_adv;
	else if (SEQ_LEQ(c->rcv_adv, c->rcv_nxt) && wnd < sws)
		right = c->rcv_nxt; /* stay closed until a useful window opens */
	uint32_t raw = MIN((right - c->rcv_nxt + (1u << ws) - 1) >> ws, 0xffffu);
	c->rcv_adv = c->rcv_nxt + (raw << ws);
	return (uint16_t)raw;
}

static unsigned tcp_write_opts(struct exos_tcp *c, uint8_t *p, uint8_t flags)
{
	unsigned n = 0;
	uint32_t tsval = tcp_ts_now(c);

	if (flags & TCP_SYN) {
		bool active = c->state == EXOS_TCP_SYN_SENT;
		bool sack = !(c->opt_flags & EXOS_TCP_F_NO_SACK) && (active || (c->flags & TF_SACK_OK));
		bool ts = !(c->opt_flags & EXOS_TCP_F_NO_TS) && (active || (c->flags & TF_TS_OK));
		bool ws = !(c->opt_flags & EXOS_TCP_F_NO_WSCALE) && (active || (c->flags & TF_WS_OK));
		p[n++] = TCP_OPT_MSS;
		p[n++] = TCP_OPTLEN_MSS;
		put16(p + n, (uint16_t)(c->ifc->mtu - IP_HDR_LEN - TCP_HDR_LEN));
		n += 2;
		if (sack && ts) {
			p[n++] = TCP_OPT_SACK_PERM;
			p[n++] = TCP_OPTLEN_SACK_PERM;
		} else if (ts || sack) {
			p[n++] = TCP_OPT_NOP;
			p[n++] = TCP_OPT_NOP;
			if (sack) {
				p[n++] = TCP_OPT_SACK_PERM;
				p[n++] = TCP_OPTLEN_SACK_PERM;
			}
		}
		if (ts) {
			p[n++] = TCP_OPT_TIMESTAMP;
			p[n++] = TCP_OPTLEN_TIMESTAMP;
			put32(p + n, tsval);
			put32(p + n + 4, active ? 0 : c->ts_recent);
			n += 8;
		}
		if (ws) {
			p[n++] = TCP_OPT_NOP;
			p[n++] = TCP_OPT_WSCALE;
			p[n++] = TCP_OPTLEN_WSCALE;
			p[n++] = c->rcv_wscale;
		}
		return n;
	}
	if (c->flags & TF_TS_OK) {
		p[n++] = TCP_OPT_NOP;
		p[n++] = TCP_OPT_NOP;
		p[n++] = TCP_OPT_TIMESTAMP;
		p[n++] = TCP_OPTLEN_TIMESTAMP;
		put32(p + n, tsval);
		put32(p + n + 4, c->ts_recent);
		n += 8;
	}
	if ((c->flags & TF_SACK_OK) && c->nrsack && !(flags & TCP_RST)) {
		unsigned nb = MIN(c->nrsack, (c->flags & TF_TS_OK) ? 3u : 4u);
		p[n++] = TCP_OPT_NOP;
		p[n++] = TCP_OPT_NOP;
		p[n++] = TCP_OPT_SACK;
		p[n++] = (uint8_t)(2 + 8 * nb);
		for (unsigned i = 0; i < nb; i++) {
			put32(p + n, c->rsack[i].start);
			put32(p + n + 4, c->rsack[i].end);
			n += 8;
		}
	}
	return n;
}

/* The request holding sequence number seq. */
static struct tcp_sreq *tcp_sreq_find(struct exos_tcp *c, uint32_t seq)
{
	struct tcp_sreq *r = c->sq_hint;

	if (!r || SEQ_LT(seq, r->seq))
		r = c->sq_head;
	while (r && SEQ_GEQ(seq, r->seq + r->len))
		r = r->next;
	if (r)
		c->sq_hint = r;
	return r;
}

static inline uint32_t sum_at(uint32_t sum, uint32_t at)
{
	return (at & 1) ? cksum_swap(sum) : sum;
}

/* The one's-complement sum of r's bytes [off, off+k), as placed at payload offset `at`. */
static uint64_t sreq_sum(const struct tcp_sreq *r, uint32_t off, uint32_t k, uint32_t at)
{
	uint32_t B = r->csum_block, end = off + k;
	uint64_t acc = 0;

	if (!r->csums)
		return sum_at(cksum_partial(r->data + off, k, 0), at);
	uint32_t pos = off;
	if (pos % B) { /* leading partial block */
		uint32_t n = MIN(end, (pos / B + 1) * B) - pos;
		acc += sum_at(cksum_partial(r->data + pos, n, 0), at);
		pos += n;
	}
	while (pos < end) {
		uint32_t blen = MIN(B, r->len - pos); /* the request's last block may be short */
		if (pos + blen > end)
			break;
		acc += sum_at(r->csums[pos / B], at + (pos - off));
		pos += blen;
	}
	if (pos < end)
		acc += sum_at(cksum_partial(r->data + pos, end - pos, 0), at + (pos - off));
	return acc;
}

/* The next hop's MAC is in the template; look again when arpd changed its table. */
static void tcp_refresh_mac(struct exos_tcp *c)
{
	struct exos_stack *s = c->s;
	uint32_t v = s->arp.table ? xok_load_acquire(&s->arp.table->version) : 0;

	if ((!c->mac_ok || v != c->arp_version) &&
	    arp_lookup(s, c->ifc, c->nexthop, c->tmpl) == 0) {
		c->mac_ok = true;
		c->arp_version = v;
	}
}

/* Gathers the payload [seq, seq+len) from the send queue into iov (at most TCP_SEG_PIECES
 * pieces, t holding a reference on each request); *off: each piece's offset in its
 * request.  Returns the bytes gathered. */
static uint32_t tcp_gather(struct exos_tcp *c, struct txb *t, uint32_t seq, uint32_t len,
			   struct exos_iov *iov, uint32_t *off, int *n)
{
	struct tcp_sreq *r = tcp_sreq_find(c, seq);
	uint32_t got = 0;

	*n = 0;
	while (r && got < len && *n < TCP_SEG_PIECES) {
		uint32_t o = seq + got - r->seq, k = MIN(len - got, r->len - o);

		iov[*n].base = r->data + o;
		iov[*n].len = k;
		off[*n] = o;
		t->sreq[*n] = r;
		r->refs++;
		(*n)++;
		got += k;
		r = r->next;
	}
	t->nsreq = (uint8_t)*n;
	return got;
}

/* A frame of several segments that ran out of pieces ends on a segment boundary. */
static uint32_t tcp_trim(struct txb *t, struct exos_iov *iov, int *n, uint32_t got, uint32_t mss)
{
	uint32_t cut = got % mss;

	while (cut) {
		struct exos_iov *last = &iov[*n - 1];

		if (last->len > cut) {
			last->len -= cut;
			break;
		}
		cut -= last->len;
		t->sreq[*n - 1]->refs--;
		(*n)--;
	}
	t->nsreq = (uint8_t)*n;
	return got - got % mss;
}

/* The sum of the gathered payload (as placed in the segment). */
static uint64_t tcp_payload_sum(const struct txb *t, const struct exos_iov *iov,
				const uint32_t *off, int n)
{
	uint64_t psum = 0;
	uint32_t at = 0;

	for (int i = 0; i < n; i++) {
		psum += sreq_sum(t->sreq[i], off[i], iov[i].len, at);
		at += iov[i].len;
	}
	return psum;
}

int tcp_xmit(struct exos_tcp *c, uint32_t seq, uint32_t len, uint8_t flags)
{
	struct exos_stack *s = c->s;
	struct exos_iov iov[TCP_SEG_PIECES];
	uint32_t off[TCP_SEG_PIECES], mss = tcp_eff_mss(c), got = 0, gso = 0;
	struct txb *t = txb_get(s);
	int n = 0, err;

	if (!t) {
		s->st.tx_drop_nobuf++;
		return -ENOBUFS;
	}
	tcp_refresh_mac(c);
	if (len > mss && !c->mac_ok)
		len = mss; /* the ARP queue takes single segments only */
	uint8_t *h = t->hdr;
	memcpy(h, c->tmpl, TCP_FRAME_HDR);
	struct ip_hdr *ip = (struct ip_hdr *)(h + ETH_HDR_LEN);
	struct tcp_hdr *th = (struct tcp_hdr *)(h + ETH_HDR_LEN + IP_HDR_LEN);
	unsigned thl = TCP_HDR_LEN + tcp_write_opts(c, h + TCP_FRAME_HDR, flags);

	if (len) {
		got = tcp_gather(c, t, seq, len, iov, off, &n);
		if (got < len && got > mss)
			got = tcp_trim(t, iov, &n, got, mss);
		if (got < len)
			flags &= (uint8_t)~TCP_FIN; /* cut short: the FIN is not in this one */
		if (got > mss)
			gso = mss;
	}
	th->seq = htonl(seq);
	th->ack = (flags & TCP_ACK) ? htonl(c->rcv_nxt) : 0;
	th->off = (uint8_t)((thl / 4) << 4);
	th->flags = flags;
	if (flags & TCP_SYN) {
		th->win = htons((uint16_t)MIN(tcp_rcv_wnd(c), 0xffffu));
	} else {
		th->win = htons(tcp_adv_wnd(c));
	}
	th->check = 0;
	th->urg = 0;
	ip->tot_len = htons((uint16_t)(IP_HDR_LEN + thl + got));
	ip->id = htons(c->ip_id);
	c->ip_id += gso ? (uint16_t)((got + gso - 1) / gso) : 1; /* one per segment on the wire */
	ip->check = 0;
	ip->check = cksum(ip, IP_HDR_LEN);
	uint64_t sum = (uint64_t)c->tmpl_pseudo + htons((uint16_t)(thl + got));
	if (gso) { /* the rest is summed where the frame is cut into segments */
		th->check = (uint16_t)cksum_fold(sum);
	} else {
		sum += tcp_payload_sum(t, iov, off, n) + cksum_partial(th, thl, 0);
		th->check = (uint16_t)~cksum_fold(sum);
	}
	t->hdr_len = (uint16_t)(ETH_HDR_LEN + IP_HDR_LEN + thl);
	if (c->mac_ok) {
		err = eth_xmit_gso(s, c->ifc, t, iov, n, (uint16_t)gso);
	} else {
		struct route rt = {c->ifc, c->nexthop};
		err = arp_output(s, &rt, t, iov, n);
	}
	if (err < 0)
		return err;
	s->st.tcp_out++;
	s->st.tcp_gso_out += gso != 0;
	if (flags & TCP_RST)
		s->st.tcp_rst_out++;
	if (flags & TCP_ACK) {
		c->flags &= ~(uint32_t)(TF_ACK_NOW | TF_ACK_DELAYED | TF_ACK_HELD);
		c->unacked_segs = 0;
		c->t_delack = 0;
		c->last_ack_sent = c->rcv_nxt;
	}
	return (int)got;
}

static int ctl_xmit(struct exos_stack *s, const struct tcp_ctl *x)
{
	const size_t hoff = ETH_HDR_LEN + IP_HDR_LEN;
	struct txb *t = txb_get(s);
	unsigned thl = TCP_HDR_LEN;

	if (!t)
		return -ENOBUFS;
	struct tcp_hdr *th = (struct tcp_hdr *)(t->hdr + hoff);
	uint8_t *o = t->hdr + hoff + TCP_HDR_LEN;
	if (x->ts) {
		o[0] = o[1] = TCP_OPT_NOP;
		o[2] = TCP_OPT_TIMESTAMP;
		o[3] = TCP_OPTLEN_TIMESTAMP;
		put32(o + 4, x->tsval);
		put32(o + 8, x->tsecr);
		thl += TCP_OPT_TS_ALIGNED;
	}
	th->sport = x->lport;
	th->dport = x->rport;
	th->seq = htonl(x->seq);
	th->ack = htonl(x->ack);
	th->off = (uint8_t)((thl / 4) << 4);
	th->flags = x->flags;
	th->win = htons(x->win);
	th->check = 0;
	th->urg = 0;
	uint32_t sum = cksum_pseudo(x->laddr, x->raddr, IP_PROTO_TCP, thl);
	th->check = cksum_fold(cksum_partial(th, thl, sum)) ^ 0xffff;
	t->hdr_len = (uint16_t)(hoff + thl);
	int err = ip_output(s, t, x->laddr, x->raddr, IP_PROTO_TCP, NULL, 0, 0);
	if (err == 0) {
		s->st.tcp_out++;
		if (x->flags & TCP_RST)
			s->st.tcp_rst_out++;
	}
	return err;
}

/* A stateless segment: resets for strays, ACKs from TIME_WAIT blocks.  No PCB will send it
 * again, so one that finds xokd's queue or our header buffers full is held (a few) and
 * retried at the end of the next batch, as blocked output is, rather than left to the
 * peer's retransmission. */
int tcp_xmit_ctl(struct exos_stack *s, const struct tcp_ctl *x)
{
	struct tcp_state *t = s->tcp;
	int err = ctl_xmit(s, x);

	if (err != -EAGAIN && err != -ENOBUFS)
		return err;
	if (t->nctl_held < TCP_CTL_HELD)
		t->ctl_held[t->nctl_held++] = *x; /* the stack's wait looks again soon */
	return err;
}

void tcp_ctl_retry(struct exos_stack *s)
{
	struct tcp_state *t = s->tcp;
	struct tcp_ctl held[TCP_CTL_HELD];
	uint32_t n = t->nctl_held;

	memcpy(held, t->ctl_held, n * sizeof(held[0]));
	t->nctl_held = 0;
	for (uint32_t i = 0; i < n; i++)
		tcp_xmit_ctl(s, &held[i]); /* what fails again is held again, in order */
}

void tcp_send_rst_reply(struct exos_stack *s, const struct exos_iface *ifc,
			const struct tcp_seg *seg)
{
	struct tcp_ctl x = {
		.laddr = seg->ip->daddr,
		.raddr = seg->ip->saddr,
		.lport = seg->th->dport,
		.rport = seg->th->sport,
	};

	(void)ifc;
	if (seg->flags & TCP_RST)
		return;
	if (seg->flags & TCP_ACK) {
		x.seq = seg->ack;
		x.flags = TCP_RST;
	} else {
		x.ack = seg->seq + seg->len + !!(seg->flags & TCP_SYN) + !!(seg->flags & TCP_FIN);
		x.flags = TCP_RST | TCP_ACK;
	}
	tcp_xmit_ctl(s, &x);
}

int tcp_send_syn(struct exos_tcp *c)
{
	uint8_t flags = TCP_SYN | (c->state == EXOS_TCP_SYN_RCVD ? TCP_ACK : 0);
	int err;

	stack_clock(c->s);
	err = tcp_xmit(c, c->iss, 0, flags);
	c->flags &= ~(uint32_t)TF_SYN_OWED;
	if (err == -EAGAIN || err == -ENOBUFS) {
		/* xokd's queue or our header buffers are full: nothing went out.  A burst of
		 * connections must not wait out a whole initial RTO (1 s) for it; the blocked
		 * output is retried at the end of the next batch, within TX_BLOCKED_RETRY_NS. */
		c->flags |= TF_SYN_OWED;
		tcp_defer(c, TL_OUT);
	}
	if (SEQ_LEQ(c->snd_max, c->iss)) {
		c->snd_nxt = c->snd_max = c->iss + 1;
		if (c->retries == 0) {
			c->rtt_seq = c->iss;
			c->rtt_start = c->s->now;
			c->flags |= TF_RTT_TIMING;
		}
	}
	if (flags & TCP_ACK && SEQ_LT(c->rcv_adv, c->rcv_nxt + MIN(tcp_rcv_wnd(c), 0xffffu)))
		c->rcv_adv = c->rcv_nxt + MIN(tcp_rcv_wnd(c), 0xffffu);
	c->t_rtx = c->s->now + tcp_rto_cur(c);
	tcp_timer_update(c);
	return err < 0 ? err : 0;
}

int tcp_send_ack(struct exos_tcp *c)
{
	int err = tcp_xmit(c, c->snd_nxt, 0, TCP_ACK);

	if (err == -EAGAIN || err == -ENOBUFS) {
		/* xokd's queue or our header buffers are full. The ACK is still owed (its flags
		 * clear only once one goes out): the delayed-ACK timer sends it shortly rather
		 * than leaving the peer to retransmit. */
		tcp_delack_arm(c, c->s->now + TX_BLOCKED_RETRY_NS);
		c->s->st.tcp_ack_deferred++;
	}
	return err < 0 ? err : 0;
}

int tcp_send_rst(struct exos_tcp *c)
{
	int err = tcp_xmit(c, c->snd_nxt, 0, TCP_RST | TCP_ACK);
	return err < 0 ? err : 0;
}

/* Sends [seq, seq+len) of sequence space (the FIN counts as the last number). Returns the
 * sequence space sent (maybe less: piece limits) or -errno. */
static int tcp_xmit_range(struct exos_tcp *c, uint32_t seq, uint32_t len)
{
	bool fin = (c->flags & TF_FIN_QUEUED) && seq + len == c->fin_seq + 1;
	uint32_t dlen = len - fin;
	uint8_t flags = TCP_ACK;

	if (fin)
		flags |= TCP_FIN;
	if (dlen && seq + dlen == c->snd_end)
		flags |= TCP_PSH;
	int sent = tcp_xmit(c, seq, dlen, flags);
	if (sent < 0)
		return sent;
	return sent + ((uint32_t)sent == dlen && fin);
}

int tcp_xmit_seq(struct exos_tcp *c, uint32_t seq, uint32_t len, bool rtx)
{
	bool fresh = seq == c->snd_max;
	int sent = tcp_xmit_range(c, seq, len);

	if (sent <= 0)
		return sent;
	if (!rtx && SEQ_GT(seq + (uint32_t)sent, c->snd_nxt))
		c->snd_nxt = seq + (uint32_t)sent;
	if (SEQ_GT(c->snd_nxt, c->snd_max))
		c->snd_max = c->snd_nxt;
	if (fresh && !(c->flags & TF_RTT_TIMING)) {
		c->rtt_seq = seq;
		c->rtt_start = c->s->now;
		c->flags |= TF_RTT_TIMING;
	}
	if (rtx && (c->flags & TF_RTT_TIMING) && SEQ_LEQ(seq, c->rtt_seq) &&
	    SEQ_LT(c->rtt_seq, seq + (uint32_t)sent))
		c->flags &= ~(uint32_t)TF_RTT_TIMING; /* Karn */
	tcp_cc_sent(c, seq, (uint32_t)sent, rtx);
	if (!c->t_rtx)
		tcp_rtx_arm(c); /* RFC 6298 5.1 (or the loss probe first) */
	return sent;
}

int tcp_output(struct exos_tcp *c)
{
	uint32_t mss = tcp_eff_mss(c);
	int sent_any = 0;

	if (c->flags & TF_DEAD)
		return 0;
	if (!tcp_synchronized(c)) {
		if (c->flags & TF_SYN_OWED)
			tcp_send_syn(c);
		return 0;
	}
	uint32_t end = c->snd_end + !!(c->flags & TF_FIN_QUEUED); /* after the FIN */
	for (;;) {
		uint32_t seq, len;
		bool rtx = false;
		if (c->cc_state == CC_LOSS || (c->cc_state == CC_RECOVERY && (c->flags & TF_SACK_OK))) {
			if (!tcp_cc_next(c, &seq, &len, &rtx))
				break;
		} else {
			if (SEQ_GEQ(c->snd_nxt, end))
				break;
			uint32_t cwnd = c->cwnd;
			if (c->cc_state == CC_OPEN) /* limited transmit, RFC 3042 */
				cwnd += MIN(c->dupacks, 2u) * mss;
			uint32_t wnd = MIN(c->snd_wnd, cwnd), inflight = c->snd_nxt - c->snd_una;
			uint32_t usable = wnd > inflight ? wnd - inflight : 0;
			uint32_t data = SEQ_GT(c->snd_end, c->snd_nxt) ? c->snd_end - c->snd_nxt : 0;
			uint32_t dlen = MIN(MIN(data, tcp_frame_max(c)), usable);
			if (dlen > mss && dlen < data)
				dlen -= dlen % mss; /* whole segments, but for the end of the data */
			bool fin = (c->flags & TF_FIN_QUEUED) && c->snd_nxt + dlen == c->fin_seq;
			if (!dlen && !fin)
				break;
			if (dlen < mss && !fin && !(c->flags & TF_FORCE)) {
				bool all = dlen == data;
				bool nagle_ok = !(c->opt_flags & EXOS_TCP_F_NAGLE) ||
						c->snd_nxt == c->snd_una;
				if (!(all && nagle_ok && !(c->flags & TF_MORE)) &&
				    dlen < c->max_snd_wnd / 2)
					break;
			}
			seq = c->snd_nxt;
			len = dlen + fin;
		}
		int sent = tcp_xmit_seq(c, seq, len, rtx);
		if (sent <= 0) {
			if (sent < 0)
				tcp_defer(c, TL_OUT); /* the stack's wait retries soon */
			break;
		}
		sent_any = 1;
		if (c->flags & TF_FORCE)
			break;
	}
	c->flags &= ~(uint32_t)TF_FORCE;
	if (sent_any && (c->flags & TF_PTO))
		tcp_rtx_arm(c); /* RFC 8985 7.2: restart the probe timer after new data */
	if (c->snd_max == c->snd_una && SEQ_LT(c->snd_nxt, end) && !c->t_rtx && !c->t_persist)
		tcp_persist_arm(c);
	tcp_timer_update(c);
	return sent_any;
}

/* ---- the send queue ---- */

static void sq_link(struct exos_tcp *c, struct tcp_sreq *r)
{
	r->next = NULL;
	if (c->sq_tail)
		c->sq_tail->next = r;
	else
		c->sq_head = r;
	c->sq_tail = r;
}

void tcp_queue_fin(struct exos_tcp *c)
{
	c->flags |= TF_FIN_QUEUED;
	c->fin_seq = c->snd_end;
}

/* Copies k bytes to the end of pool request r, updating its block sums. */
static void sreq_append(struct tcp_sreq *r, const uint8_t *p, uint32_t k)
{
	uint8_t *buf = (uint8_t *)r->data;
	uint32_t off = r->len, end = off + k;

	memcpy(buf + off, p, k);
	r->len = end;
	for (uint32_t b = off / SREQ_CSUM_BLOCK; b * SREQ_CSUM_BLOCK < end; b++) {
		uint32_t a = b * SREQ_CSUM_BLOCK, n = MIN(end - a, (uint32_t)SREQ_CSUM_BLOCK);
		r->blk[b] = cksum_fold(cksum_partial(buf + a, n, 0));
	}
}

/* Copies len bytes into packet buffers at the tail of the queue.  The last piece reports
 * report_len bytes with cookie when `report`.  Returns 0 or -ENOBUFS (nothing queued). */
int tcp_queue_copy(struct exos_tcp *c, const void *data, size_t len, void *cookie,
		   uint32_t report_len, bool report)
{
	struct exos_stack *s = c->s;
	const uint8_t *p = data;
	struct tcp_sreq *t = c->sq_tail;
	uint32_t req_seq = c->snd_end;
	size_t need = len;
	/* One segment's worth per buffer once the MSS is known: a full-sized segment is then
	 * exactly one buffer, and its checksum exactly the sum of its block sums. */
	uint32_t cap = tcp_synchronized(c) ? MIN((uint32_t)tcp_eff_mss(c), (uint32_t)PBUF_SIZE)
					   : PBUF_SIZE;

	/* Room in the tail buffer, then whole buffers: reserve first so we never half-fail. */
	if (t && (t->flags & SREQ_POOL) && !(t->flags & (SREQ_REPORT | SREQ_ACKED)) &&
	    t->len < cap)
		need -= MIN(need, (size_t)(cap - t->len));
	else
		t = NULL;
	if (pbuf_reserve(s, (uint32_t)((need + cap - 1) / cap)) < 0)
		return -ENOBUFS;
	if (t && len) {
		uint32_t k = (uint32_t)MIN(len, (size_t)(cap - t->len));
		sreq_append(t, p, k);
		p += k;
		len -= k;
		c->snd_end += k;
		c->sq_copy_bytes += k;
	}
	while (len) {
		struct tcp_sreq *r = slab_get(&s->sreq_slab);
		if (!r)
			return -ENOMEM;
		uint32_t k = (uint32_t)MIN(len, (size_t)cap);
		r->pcb = c;
		r->data = pbuf_get(s);
		r->seq = c->snd_end;
		r->len = 0;
		r->flags = SREQ_POOL;
		r->csums = r->blk;
		r->csum_block = SREQ_CSUM_BLOCK;
		sreq_append(r, p, k);
		sq_link(c, r);
		p += k;
		len -= k;
		c->snd_end += k;
		c->sq_copy_bytes += k;
	}
	if (report && c->sq_tail) {
		c->sq_tail->flags |= SREQ_REPORT;
		c->sq_tail->cookie = cookie;
		c->sq_tail->report_len = report_len;
		c->sq_tail->req_seq = req_seq;
	}
	return 0;
}

static int tcp_queue_ref(struct exos_tcp *c, const struct exos_tcp_sendreq *q)
{
	struct exos_stack *s = c->s;
	struct xok_ref ref;
	struct tcp_sreq *r;

	if (q->len > UINT32_MAX / 2)
		return -EINVAL;
	if (q->csums && (!q->csum_block || (q->csum_block & 1)))
		return -EINVAL;
	if (exos_region_ref(s->sys, q->data, q->len, &ref) < 0)
		return -EFAULT;
	r = slab_get(&s->sreq_slab);
	if (!r)
		return -ENOMEM;
	r->pcb = c;
	r->data = q->data;
	r->seq = c->snd_end;
	r->len = (uint32_t)q->len;
	r->csums = q->csums;
	r->csum_block = q->csum_block;
	r->flags = SREQ_REPORT;
	r->cookie = q->cookie;
	r->report_len = r->len;
	r->req_seq = r->seq;
	sq_link(c, r);
	c->snd_end += r->len;
	return 0;
}

EXOS_API int exos_tcp_send(struct exos_tcp *c, const struct exos_tcp_sendreq *reqs, unsigned n)
{
	struct exos_stack *s = c->s;
	int err = 0;

	if (c->flags & (TF_DEAD | TF_APP_CLOSED))
		return exos_err(-ENOTCONN);
	if (c->flags & TF_FIN_QUEUED)
		return exos_err(-EPIPE);
	switch (c->state) {
	case EXOS_TCP_SYN_SENT:
	case EXOS_TCP_SYN_RCVD:
	case EXOS_TCP_ESTABLISHED:
	case EXOS_TCP_CLOSE_WAIT:
		break;
	default:
		return exos_err(-ENOTCONN);
	}
	stack_clock(s);
	for (unsigned i = 0; i < n && !err; i++) {
		const struct exos_tcp_sendreq *q = &reqs[i];
		if (q->len) {
			if (q->flags & EXOS_TCP_SEND_COPY) {
				if (c->sq_copy_bytes + q->len > c->sndbuf)
					err = -EAGAIN;
				else
					err = tcp_queue_copy(c, q->data, q->len, q->cookie,
							     (uint32_t)q->len, true);
			} else {
				err = tcp_queue_ref(c, q);
			}
		}
		if (!err && (q->flags & EXOS_TCP_SEND_FIN)) {
			tcp_queue_fin(c);
			if (c->state == EXOS_TCP_ESTABLISHED)
				tcp_set_state(c, EXOS_TCP_FIN_WAIT_1);
			else if (c->state == EXOS_TCP_CLOSE_WAIT)
				tcp_set_state(c, EXOS_TCP_LAST_ACK);
			break;
		}
		if (i + 1 == n) {
			if (q->flags & EXOS_TCP_SEND_MORE)
				c->flags |= TF_MORE;
			else
				c->flags &= ~(uint32_t)TF_MORE;
		}
	}
	tcp_output(c);
	stack_api_done(s);
	return err ? exos_err(err) : 0;
}

EXOS_API int exos_tcp_flush(struct exos_tcp *c)
{
	c->flags &= ~(uint32_t)TF_MORE;
	stack_clock(c->s);
	tcp_output(c);
	stack_api_done(c->s);
	return 0;
}

/* snd_una moved: mark the requests it covers; those no frame refers to go at the end of
 * the batch (tcp_sendq_release, which calls on_sent). */
void tcp_sendq_acked(struct exos_tcp *c)
{
	struct tcp_sreq *r = c->sq_unacked ? c->sq_unacked : c->sq_head;
	bool rel = false;

	for (; r; r = r->next) {
		if (r->flags & SREQ_ACKED)
			continue;
		if (SEQ_GT(r->seq + r->len, c->snd_una))
			break;
		r->flags |= SREQ_ACKED;
		rel |= r->refs == 0;
		if (r->refs)
			c->s->tx_waiters++;
	}
	c->sq_unacked = r; /* acknowledged requests are never unmarked */
	if (rel || (c->sq_head && (c->sq_head->flags & SREQ_ACKED) && !c->sq_head->refs))
		tcp_defer(c, TL_REL);
}

void tcp_sendq_release(struct exos_tcp *c)
{
	struct exos_stack *s = c->s;
	struct tcp_sreq *r;

	while ((r = c->sq_head) && (r->flags & SREQ_ACKED) && r->refs == 0) {
		c->sq_head = r->next;
		if (!c->sq_head)
			c->sq_tail = NULL;
		if (c->sq_hint == r)
			c->sq_hint = NULL;
		if (r->flags & SREQ_POOL) {
			pbuf_put(s, (void *)r->data);
			c->sq_copy_bytes -= r->len;
		}
		if ((r->flags & SREQ_REPORT) && !(c->flags & TF_FREED) && c->ops && c->ops->on_sent) {
			uint32_t acked = 0;
			if (SEQ_GEQ(c->snd_una, r->req_seq + r->report_len))
				acked = r->report_len;
			else if (SEQ_GT(c->snd_una, r->req_seq))
				acked = c->snd_una - r->req_seq;
			c->ops->on_sent(c, r->cookie, acked, c->arg);
		}
		slab_put(&s->sreq_slab, r);
	}
}

void tcp_sendq_flush_all(struct exos_tcp *c)
{
	c->sq_unacked = NULL;
	for (struct tcp_sreq *r = c->sq_head; r; r = r->next) {
		if (!(r->flags & SREQ_ACKED) && r->refs)
			c->s->tx_waiters++;
		r->flags |= SREQ_ACKED;
	}
	if (c->sq_head)
		tcp_defer(c, TL_REL);
}

void tcp_sreq_unref(struct exos_stack *s, struct tcp_sreq *r)
{
	if (--r->refs == 0 && (r->flags & SREQ_ACKED)) {
		s->tx_waiters--;
		tcp_defer(r->pcb, TL_REL);
	}
}
