/* tcp_cc.c - congestion control and loss recovery: RFC 5681 slow start and congestion
 * avoidance, SACK-based recovery (RFC 2018, RFC 6675) with RACK loss detection (RFC 8985),
 * NewReno for peers without SACK (RFC 6582) */
#include <stdlib.h>

#include "tcp_int.h"

/*
 * Every segment sent is a record in a per-connection transmission log (a ring ordered by
 * sequence number): its range, its last transmission time and whether it is SACKed,
 * presumed LOST, or was retransmitted.  ACKs drop records from the head; SACK blocks mark
 * them.  Losses are inferred in the time domain (RACK): a segment is lost when one sent
 * after it has been delivered and a reordering window has passed since - which catches
 * lost retransmissions and losses in small windows, where counting three duplicate ACKs
 * would wait for a retransmission timeout.  Recovery then sends RFC 6675's NextSeg() (the
 * first LOST record, else new data) while pipe = flight - SACKed - LOST leaves room in cwnd,
 * cwnd following Proportional Rate Reduction (RFC 6937): new data keeps flowing in step with
 * what the receiver reports delivered, so that a lost retransmission is found by RACK too.
 * After an RTO every unSACKed record is LOST (CC_LOSS) and goes out again in order under
 * slow start.  Peers without SACK get NewReno: three duplicate ACKs, then the head.
 */

static inline struct tcp_txrec *txr_at(const struct exos_tcp *c, uint32_t i)
{
	return &c->txr[(c->txr_head + i) & (c->txr_cap - 1)];
}

static inline uint32_t txr_len(const struct tcp_txrec *r)
{
	return r->end - r->seq;
}

void tcp_cc_init(struct exos_tcp *c)
{
	uint32_t mss = tcp_eff_mss(c);

	/* RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)) */
	c->cwnd = MIN(TCP_IW_SEGS * mss, MAX(2 * mss, 14600u));
	c->ssthresh = UINT32_MAX / 2;
	c->ca_acked = 0;
	c->cc_state = CC_OPEN;
	c->dupacks = 0;
	c->fack = c->snd_una;
}

void tcp_cc_free(struct exos_tcp *c)
{
	free(c->txr);
	c->txr = NULL;
	c->txr_cap = c->txr_n = c->txr_head = 0;
}

static int txr_grow(struct exos_tcp *c)
{
	uint32_t cap = c->txr_cap ? c->txr_cap * 2 : TCP_TXR_INIT;
	struct tcp_txrec *t = malloc(cap * sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->txr_n; i++)
		t[i] = *txr_at(c, i);
	free(c->txr);
	c->txr = t;
	c->txr_cap = cap;
	c->txr_head = 0;
	return 0;
}

/* The index of the first record ending after seq (txr_n if none). */
static uint32_t txr_find(const struct exos_tcp *c, uint32_t seq)
{
	uint32_t lo = 0, hi = c->txr_n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (SEQ_LEQ(txr_at(c, mid)->end, seq))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void prr_sent(struct exos_tcp *c, uint32_t len);

static void txr_mark_lost(struct exos_tcp *c, uint32_t i)
{
	struct tcp_txrec *r = txr_at(c, i);

	if (r->flags & (TXR_LOST | TXR_SACKED))
		return;
	r->flags |= TXR_LOST;
	c->lost_bytes += txr_len(r);
	if (i < c->txr_lost_hint)
		c->txr_lost_hint = i;
}

void tcp_cc_sent(struct exos_tcp *c, uint32_t seq, uint32_t len, bool rtx)
{
	uint64_t now = c->s->now;

	if (!len)
		return;
	prr_sent(c, len);
	if (!rtx && (!c->txr_n || SEQ_GEQ(seq, txr_at(c, c->txr_n - 1)->end))) {
		/* one record per segment on the wire, also for a frame xokd cuts (GSO) */
		uint32_t mss = tcp_eff_mss(c);

		for (uint32_t off = 0, k; off < len; off += k) {
			k = len - off > mss + 1 ? mss : len - off; /* a FIN stays with its data */
			if (c->txr_n == c->txr_cap && txr_grow(c) < 0)
				return; /* unlogged: recovered by the RTO, as without SACK */
			struct tcp_txrec *r = txr_at(c, c->txr_n++);
			r->seq = seq + off;
			r->end = seq + off + k;
			r->xmit = now;
			r->flags = 0;
		}
		return;
	}
	for (uint32_t i = txr_find(c, seq); i < c->txr_n; i++) {
		struct tcp_txrec *r = txr_at(c, i);
		if (SEQ_GEQ(r->seq, seq + len))
			break;
		if (r->flags & TXR_LOST) {
			r->flags &= ~(uint32_t)TXR_LOST;
			c->lost_bytes -= txr_len(r);
		}
		r->flags |= TXR_RTX;
		r->xmit = now;
	}
	c->total_retrans++;
	c->s->st.tcp_retransmits++;
}

/* Every byte sent in recovery counts against PRR's allowance. */
static void prr_sent(struct exos_tcp *c, uint32_t len)
{
	if (c->cc_state == CC_RECOVERY)
		c->prr_out += len;
}

/* RFC 6937 3: cwnd for this ACK, from the data it reports delivered. */
static void prr_ack(struct exos_tcp *c, uint32_t delivered)
{
	uint32_t mss = tcp_eff_mss(c), pipe = tcp_cc_pipe(c);
	int64_t sndcnt;

	c->prr_delivered += delivered;
	if (pipe > c->ssthresh) {
		uint64_t fs = MAX(c->recover_fs, 1u);
		sndcnt = (int64_t)(((uint64_t)c->prr_delivered * c->ssthresh + fs - 1) / fs) -
			 c->prr_out;
	} else {
		int64_t limit = MAX((int64_t)c->prr_delivered - c->prr_out, (int64_t)delivered) + mss;
		sndcnt = MIN((int64_t)c->ssthresh - pipe, limit);
	}
	if (sndcnt < 0)
		sndcnt = 0;
	c->cwnd = pipe + (uint32_t)sndcnt;
}

uint32_t tcp_cc_pipe(const struct exos_tcp *c)
{
	uint32_t out = c->sacked_bytes + c->lost_bytes;
	return tcp_flight(c) > out ? tcp_flight(c) - out : 0;
}

/* ---- RACK (RFC 8985 6) ---- */

static bool sent_after(uint64_t t1, uint32_t seq1, uint64_t t2, uint32_t seq2)
{
	return t1 > t2 || (t1 == t2 && SEQ_GT(seq1, seq2));
}

/* A record was delivered (cumulatively ACKed or SACKed). */
static void rack_update(struct exos_tcp *c, const struct tcp_txrec *r)
{
	uint64_t rtt = c->s->now - r->xmit;

	/* An ACK faster than any seen must be for the original of a retransmission. */
	if ((r->flags & TXR_RTX) && c->min_rtt && rtt < c->min_rtt)
		return;
	c->rack_rtt = rtt;
	if (!(r->flags & TXR_RTX) && (!c->min_rtt || rtt < c->min_rtt))
		c->min_rtt = rtt ? rtt : 1;
	if (sent_after(r->xmit, r->end, c->rack_xmit, c->rack_end)) {
		c->rack_xmit = r->xmit;
		c->rack_end = r->end;
	}
	c->rack_advanced = true;
}

static uint64_t rack_reo_wnd(const struct exos_tcp *c)
{
	if (!c->reord_seen && (c->cc_state != CC_OPEN || c->sacked_segs >= TCP_DUPTHRESH))
		return 0; /* no reordering seen: as quick as the DupAck threshold */
	/* min_RTT/4, widened by each D-SACK (a spurious retransmission), up to SRTT. */
	uint64_t w = (c->min_rtt ? c->min_rtt : c->srtt) / 4 * MAX(c->reo_steps, 1);
	return MIN(w, c->srtt);
}

/* Marks LOST what was sent before the most recently sent delivered segment, by more than
 * the reordering window; arms the reordering timer for what is still within it. */
static void rack_detect(struct exos_tcp *c)
{
	uint64_t now = c->s->now, reo = rack_reo_wnd(c), wait = 0;

	if (!c->rack_advanced)
		return;
	c->rack_advanced = false;
	for (uint32_t i = 0; i < c->txr_n; i++) {
		struct tcp_txrec *r = txr_at(c, i);
		if (r->flags & (TXR_SACKED | TXR_LOST))
			continue;
		if (!sent_after(c->rack_xmit, c->rack_end, r->xmit, r->end)) {
			if (c->cc_state == CC_OPEN && !(r->flags & TXR_RTX))
				break; /* original transmissions go out in sequence order */
			continue;
		}
		uint64_t deadline = r->xmit + c->rack_rtt + reo;
		if (deadline <= now)
			txr_mark_lost(c, i);
		else if (!wait || deadline - now < wait)
			wait = deadline - now;
	}
	c->t_reo = wait ? now + wait : 0;
}

/* ---- windows ---- */

static void cc_grow(struct exos_tcp *c, uint32_t acked)
{
	uint32_t mss = tcp_eff_mss(c);

	if (c->cwnd < c->ssthresh) {
		c->cwnd += acked; /* slow start, counting bytes (as Linux) */
	} else {
		c->ca_acked += acked;
		while (c->ca_acked >= c->cwnd) {
			c->ca_acked -= c->cwnd;
			c->cwnd += mss;
		}
	}
	if (c->cwnd > (1u << 30))
		c->cwnd = 1u << 30;
}

/* Fast retransmit: the first lost segment goes now, whatever cwnd says (RFC 6675 (4.3),
 * RFC 6582 (2)).  Without SACK that is the head of the queue. */
static void cc_retransmit_first(struct exos_tcp *c)
{
	uint32_t i = 0;

	if (!(c->flags & TF_SACK_OK))
		txr_mark_lost(c, 0);
	while (i < c->txr_n && !(txr_at(c, i)->flags & TXR_LOST))
		i++;
	if (i == c->txr_n)
		return;
	struct tcp_txrec *r = txr_at(c, i);
	tcp_xmit_seq(c, r->seq, txr_len(r), true);
}

static void cc_enter_recovery(struct exos_tcp *c)
{
	uint32_t mss = tcp_eff_mss(c);

	c->ssthresh = MAX(tcp_flight(c) / 2, 2 * mss);
	c->recover = c->snd_max;
	c->cc_state = CC_RECOVERY;
	c->prr_delivered = c->prr_out = 0;
	c->recover_fs = tcp_flight(c);
	c->s->st.tcp_fast_retransmits++;
	cc_retransmit_first(c);
	if (c->flags & TF_SACK_OK) {
		c->cwnd = c->ssthresh; /* RFC 6675 (4.2); NextSeg sends the other LOST records */
	} else {
		c->cwnd = c->ssthresh + TCP_DUPTHRESH * mss; /* RFC 6582 (3) */
	}
	c->t_rtx = c->s->now + tcp_rto_cur(c);
	c->flags &= ~(uint32_t)TF_PTO;
}

/* The SACK blocks of an ACK: mark the records they cover. */
static void cc_sack(struct exos_tcp *c, const struct tcp_opts *o)
{
	for (unsigned b = 0; b < o->nsack; b++) {
		uint32_t start = o->sack[b].start, end = o->sack[b].end;
		if (!SEQ_LT(start, end) || SEQ_LEQ(end, c->snd_una) || SEQ_GT(end, c->snd_max))
			continue; /* D-SACK (RFC 2883) or bogus */
		for (uint32_t i = txr_find(c, start); i < c->txr_n; i++) {
			struct tcp_txrec *r = txr_at(c, i);
			if (SEQ_GT(r->end, end))
				break;
			if (SEQ_LT(r->seq, start) || (r->flags & TXR_SACKED))
				continue;
			r->flags |= TXR_SACKED;
			c->sacked_bytes += txr_len(r);
			c->sacked_segs++;
			if (r->flags & TXR_LOST) {
				r->flags &= ~(uint32_t)TXR_LOST;
				c->lost_bytes -= txr_len(r);
			}
			if (SEQ_LT(r->end, c->fack) && !(r->flags & TXR_RTX))
				c->reord_seen = true; /* delivered after something sent later */
			if (SEQ_GT(r->end, c->fack))
				c->fack = r->end;
			rack_update(c, r);
		}
	}
}

/* snd_una moved: drop the records it covers. */
static void cc_cumulative(struct exos_tcp *c)
{
	uint32_t popped = 0;

	while (c->txr_n) {
		struct tcp_txrec *r = txr_at(c, 0);
		if (SEQ_GT(r->end, c->snd_una)) {
			if (SEQ_LT(r->seq, c->snd_una)) { /* partly acknowledged */
				uint32_t k = c->snd_una - r->seq;
				if (r->flags & TXR_SACKED)
					c->sacked_bytes -= k;
				if (r->flags & TXR_LOST)
					c->lost_bytes -= k;
				r->seq = c->snd_una;
			}
			break;
		}
		if (r->flags & TXR_SACKED) {
			c->sacked_bytes -= txr_len(r);
			c->sacked_segs--;
		} else {
			if (SEQ_LT(r->end, c->fack) && !(r->flags & TXR_RTX))
				c->reord_seen = true;
			rack_update(c, r);
		}
		if (r->flags & TXR_LOST)
			c->lost_bytes -= txr_len(r);
		c->txr_head = (c->txr_head + 1) & (c->txr_cap - 1);
		c->txr_n--;
		popped++;
	}
	c->txr_lost_hint = c->txr_lost_hint > popped ? c->txr_lost_hint - popped : 0;
	if (SEQ_GT(c->snd_una, c->fack))
		c->fack = c->snd_una;
}

void tcp_cc_ack(struct exos_tcp *c, uint32_t acked, const struct tcp_opts *o, bool dupack)
{
	uint32_t mss = tcp_eff_mss(c), sacked_before = c->sacked_bytes;
	bool sack = c->flags & TF_SACK_OK;

	if (acked)
		cc_cumulative(c);
	if (sack && o->nsack) {
		/* RFC 2883: a first block below snd_una, or inside the second, reports a
		 * duplicate - typically of a needless retransmission: reorder more patiently. */
		const struct sack_block *d = &o->sack[0];
		if (SEQ_LEQ(d->end, c->snd_una) ||
		    (o->nsack > 1 && SEQ_GEQ(d->start, o->sack[1].start) &&
		     SEQ_LEQ(d->end, o->sack[1].end))) {
			c->reord_seen = true;
			if (c->reo_steps < 16)
				c->reo_steps++;
		}
		cc_sack(c, o);
	}
	uint32_t delivered = acked + (c->sacked_bytes > sacked_before
					      ? c->sacked_bytes - sacked_before : 0);
	if (c->tlp_out && SEQ_GEQ(c->snd_una, c->tlp_high))
		c->tlp_out = false;

	if (sack) {
		rack_detect(c);
	} else if (dupack && c->cc_state == CC_OPEN && ++c->dupacks >= TCP_DUPTHRESH) {
		cc_enter_recovery(c);
		return;
	}

	switch (c->cc_state) {
	case CC_OPEN:
		if (acked)
			c->dupacks = 0;
		if (c->lost_bytes) {
			cc_enter_recovery(c);
			break;
		}
		if (acked)
			cc_grow(c, acked);
		break;
	case CC_RECOVERY:
		if (SEQ_GEQ(c->snd_una, c->recover)) {
			/* Full ACK: leave recovery (RFC 6582 3.2 (3), RFC 6675 5 (b)). */
			c->cc_state = CC_OPEN;
			c->dupacks = 0;
			c->cwnd = sack ? c->ssthresh
				       : MIN(c->ssthresh, MAX(tcp_flight(c), mss) + mss);
			c->ca_acked = 0;
		} else if (!sack && acked) {
			/* NewReno partial ACK: retransmit the next hole, deflate. */
			cc_retransmit_first(c);
			c->cwnd = c->cwnd > acked ? c->cwnd - acked : mss;
			if (acked >= mss)
				c->cwnd += mss;
		} else if (!sack && dupack) {
			c->cwnd += mss; /* inflation */
		} else if (sack) {
			prr_ack(c, delivered);
		}
		break;
	case CC_LOSS:
		if (acked)
			cc_grow(c, acked);
		if (SEQ_GEQ(c->snd_una, c->recover)) {
			c->cc_state = CC_OPEN;
			c->dupacks = 0;
		}
		break;
	}
}

/* RFC 6675 NextSeg(), under the cwnd - pipe >= SMSS gate. */
bool tcp_cc_next(struct exos_tcp *c, uint32_t *seq, uint32_t *len, bool *rtx)
{
	uint32_t mss = tcp_eff_mss(c);

	if (tcp_cc_pipe(c) + mss > MAX(c->cwnd, mss))
		return false;
	/* (1) the first LOST record */
	if (c->lost_bytes) {
		for (uint32_t i = c->txr_lost_hint; i < c->txr_n; i++) {
			struct tcp_txrec *r = txr_at(c, i);
			if (r->flags & TXR_LOST) {
				c->txr_lost_hint = i;
				*seq = r->seq;
				*len = txr_len(r);
				*rtx = true;
				return true;
			}
		}
		c->txr_lost_hint = c->txr_n;
	}
	/* (2) new data the receive window allows */
	uint32_t end = c->snd_end + !!(c->flags & TF_FIN_QUEUED);
	if (SEQ_LT(c->snd_max, end)) {
		uint32_t right = c->snd_una + c->snd_wnd;
		uint32_t room = SEQ_GT(right, c->snd_max) ? right - c->snd_max : 0;
		uint32_t data = SEQ_GT(c->snd_end, c->snd_max) ? c->snd_end - c->snd_max : 0;
		uint32_t dlen = MIN(MIN(mss, data), room);
		bool fin = (c->flags & TF_FIN_QUEUED) && c->snd_max + dlen == c->fin_seq;
		if (dlen || fin) {
			*seq = c->snd_max;
			*len = dlen + fin;
			*rtx = false;
			return true;
		}
	}
	return false;
}

void tcp_cc_rto(struct exos_tcp *c)
{
	uint32_t mss = tcp_eff_mss(c);

	if (c->retries <= 1) /* RFC 5681 (4): only on the first timeout of a segment */
		c->ssthresh = MAX(tcp_flight(c) / 2, 2 * mss);
	c->cwnd = mss;
	c->ca_acked = 0;
	c->cc_state = CC_LOSS;
	c->recover = c->snd_max;
	c->dupacks = 0;
	c->tlp_out = false;
	/* RFC 8985 6.3: everything not SACKed is lost.  A second timeout in a row also
	 * forgets the SACKs, in case the receiver reneged (RFC 2018 8). */
	for (uint32_t i = 0; i < c->txr_n; i++) {
		struct tcp_txrec *r = txr_at(c, i);
		if ((r->flags & TXR_SACKED) && c->retries >= 2) {
			r->flags &= ~(uint32_t)TXR_SACKED;
			c->sacked_bytes -= txr_len(r);
			c->sacked_segs--;
		}
		txr_mark_lost(c, i);
	}
	c->txr_lost_hint = 0;
}

void tcp_cc_reo_timer(struct exos_tcp *c)
{
	c->rack_advanced = true;
	rack_detect(c);
	if (c->cc_state == CC_OPEN && c->lost_bytes)
		cc_enter_recovery(c);
	tcp_output(c);
}

uint64_t tcp_cc_pto(const struct exos_tcp *c)
{
	if (!(c->flags & TF_SACK_OK) || c->cc_state != CC_OPEN || c->tlp_out || !c->srtt ||
	    c->retries || !tcp_synchronized(c))
		return 0;
	uint64_t pto = 2 * c->srtt;
	if (tcp_flight(c) <= tcp_eff_mss(c) + 1u)
		pto += TCP_PTO_DELACK_NS; /* the receiver may delay a lone segment's ACK */
	pto = MAX(pto, TCP_PTO_MIN_NS);
	return MIN(pto, tcp_rto_cur(c));
}

/* RFC 8985 7.3: probe with new data if there is any the window allows, else with the
 * last segment sent; the ACK it elicits gives RACK what it needs. */
void tcp_cc_tlp(struct exos_tcp *c)
{
	uint32_t mss = tcp_eff_mss(c), seq, len;
	uint32_t right = c->snd_una + c->snd_wnd;
	uint32_t data = SEQ_GT(c->snd_end, c->snd_max) ? c->snd_end - c->snd_max : 0;

	if (c->snd_una == c->snd_max)
		return;
	c->tlp_out = true;
	c->tlp_high = c->snd_max;
	c->s->st.tcp_tlp_probes++;
	if (data && SEQ_GT(right, c->snd_max)) {
		seq = c->snd_max;
		len = MIN(MIN(mss, data), right - c->snd_max);
		if ((c->flags & TF_FIN_QUEUED) && seq + len == c->fin_seq)
			len++;
	} else if (c->txr_n) {
		struct tcp_txrec *r = txr_at(c, c->txr_n - 1);
		seq = r->seq;
		len = txr_len(r);
	} else {
		return;
	}
	tcp_xmit_seq(c, seq, len, seq != c->snd_max);
}
