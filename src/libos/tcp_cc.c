/* tcp_cc.c - congestion control: RFC 5681 slow start and congestion avoidance, NewReno fast
 * recovery (RFC 6582), SACK scoreboard and SACK-based loss recovery (RFC 2018, RFC 6675) */
#include "tcp_int.h"

/*
 * The scoreboard is the sorted set of SACKed ranges above snd_una.  Between and below them
 * lie holes; hole k is the one below range k, and the hole above the last range reaches
 * snd_max.  RFC 6675's IsLost() is monotone in the sequence number, so a hole is lost as
 * a whole when DupThresh ranges, or more than (DupThresh-1)*SMSS SACKed bytes, lie above
 * it.  After an RTO everything outstanding at the time is presumed lost (CC_LOSS) and the
 * same machinery retransmits it in order, skipping what the receiver already SACKed.
 *
 * A retransmission that is itself lost is not detectable by RFC 6675; we add a simple rule
 * (Linux's pre-RACK one): when data sent after a round of retransmissions began is SACKed
 * while holes the round covered remain, the round is presumed lost and restarts.
 */

void tcp_cc_init(struct exos_tcp *c)
{
	uint32_t mss = tcp_eff_mss(c);

	/* RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)) */
	c->cwnd = MIN(TCP_IW_SEGS * mss, MAX(2 * mss, 14600u));
	c->ssthresh = UINT32_MAX / 2;
	c->ca_acked = 0;
	c->cc_state = CC_OPEN;
	c->dupacks = 0;
	c->nsb = 0;
	c->sacked_bytes = 0;
	c->high_sacked = c->snd_una;
}

/* ---- the scoreboard ---- */

static void sb_recount(struct exos_tcp *c)
{
	uint32_t bytes = 0;

	for (unsigned i = 0; i < c->nsb; i++)
		bytes += c->sb[i].end - c->sb[i].start;
	c->sacked_bytes = bytes;
	c->high_sacked = c->nsb ? c->sb[c->nsb - 1].end : c->snd_una;
}

/* Adds [start, end) to the scoreboard; true if it covered anything new. */
static bool sb_add(struct exos_tcp *c, uint32_t start, uint32_t end)
{
	unsigned i = 0, j;

	while (i < c->nsb && SEQ_LT(c->sb[i].end, start))
		i++;
	if (i < c->nsb && SEQ_LEQ(c->sb[i].start, end)) {
		/* overlaps or touches range i (and maybe the ones after it) */
		if (SEQ_LEQ(c->sb[i].start, start) && SEQ_GEQ(c->sb[i].end, end))
			return false;
		if (SEQ_LT(start, c->sb[i].start))
			c->sb[i].start = start;
		if (SEQ_GT(end, c->sb[i].end))
			c->sb[i].end = end;
		for (j = i + 1; j < c->nsb && SEQ_LEQ(c->sb[j].start, c->sb[i].end); j++)
			if (SEQ_GT(c->sb[j].end, c->sb[i].end))
				c->sb[i].end = c->sb[j].end;
		memmove(&c->sb[i + 1], &c->sb[j], (c->nsb - j) * sizeof(c->sb[0]));
		c->nsb = (uint16_t)(c->nsb - (j - i - 1));
		return true;
	}
	if (c->nsb == TCP_SACK_SB_MAX)
		return false; /* full: the information is only an optimisation */
	memmove(&c->sb[i + 1], &c->sb[i], (c->nsb - i) * sizeof(c->sb[0]));
	c->sb[i].start = start;
	c->sb[i].end = end;
	c->nsb++;
	return true;
}

bool tcp_sack_update(struct exos_tcp *c, const struct tcp_opts *o)
{
	bool changed = false;

	for (unsigned i = 0; i < o->nsack; i++) {
		uint32_t start = o->sack[i].start, end = o->sack[i].end;
		if (!SEQ_LT(start, end) || SEQ_LEQ(end, c->snd_una) || SEQ_GT(end, c->snd_max))
			continue; /* D-SACK (RFC 2883) or bogus */
		if (SEQ_LT(start, c->snd_una))
			start = c->snd_una;
		changed |= sb_add(c, start, end);
	}
	if (changed)
		sb_recount(c);
	return changed;
}

void tcp_sack_trim(struct exos_tcp *c)
{
	unsigned k = 0;

	for (unsigned i = 0; i < c->nsb; i++) {
		if (SEQ_LEQ(c->sb[i].end, c->snd_una))
			continue;
		c->sb[k] = c->sb[i];
		if (SEQ_LT(c->sb[k].start, c->snd_una))
			c->sb[k].start = c->snd_una;
		k++;
	}
	c->nsb = (uint16_t)k;
	sb_recount(c);
}

bool tcp_sack_is_sacked(const struct exos_tcp *c, uint32_t seq)
{
	for (unsigned i = 0; i < c->nsb; i++)
		if (SEQ_LEQ(c->sb[i].start, seq) && SEQ_LT(seq, c->sb[i].end))
			return true;
	return false;
}

/* Hole k: [*a, *b); its lost part: [*a, *lost_end). */
struct holes {
	uint32_t above[TCP_SACK_SB_MAX + 1]; /* SACKed bytes in ranges k.. */
};

static void holes_init(const struct exos_tcp *c, struct holes *h)
{
	h->above[c->nsb] = 0;
	for (unsigned k = c->nsb; k-- > 0;)
		h->above[k] = h->above[k + 1] + (c->sb[k].end - c->sb[k].start);
}

static void hole_get(const struct exos_tcp *c, const struct holes *h, unsigned k, uint32_t *a,
		     uint32_t *b, uint32_t *lost_end)
{
	uint32_t mss = tcp_eff_mss(c);

	*a = k == 0 ? c->snd_una : c->sb[k - 1].end;
	*b = k < c->nsb ? c->sb[k].start : c->snd_max;
	bool lost = k < c->nsb && (c->nsb - k >= TCP_DUPTHRESH ||
				   h->above[k] > (TCP_DUPTHRESH - 1) * mss);
	if (lost)
		*lost_end = *b;
	else if (c->cc_state == CC_LOSS && SEQ_LT(*a, c->recover))
		*lost_end = SEQ_MIN(*b, c->recover);
	else
		*lost_end = *a;
}

/* RFC 6675 SetPipe(): bytes presumed in the network. */
uint32_t tcp_cc_pipe(const struct exos_tcp *c)
{
	struct holes h;
	uint32_t pipe = 0;

	holes_init(c, &h);
	for (unsigned k = 0; k <= c->nsb; k++) {
		uint32_t a, b, le;
		hole_get(c, &h, k, &a, &b, &le);
		if (!SEQ_LT(a, b))
			continue;
		pipe += b - le; /* not lost */
		if (SEQ_GT(c->high_rxt, a))
			pipe += SEQ_MIN(b, c->high_rxt) - a; /* retransmitted */
	}
	return pipe;
}

/* RFC 6675 NextSeg(), under the cwnd - pipe >= SMSS gate. */
bool tcp_cc_next(struct exos_tcp *c, uint32_t *seq, uint32_t *len, bool *rtx)
{
	uint32_t mss = tcp_eff_mss(c);
	struct holes h;

	if (tcp_cc_pipe(c) + mss > MAX(c->cwnd, mss))
		return false;
	holes_init(c, &h);
	/* (1) the first lost byte not yet retransmitted */
	for (unsigned k = 0; k <= c->nsb; k++) {
		uint32_t a, b, le;
		hole_get(c, &h, k, &a, &b, &le);
		uint32_t start = SEQ_MAX(a, c->high_rxt);
		if (SEQ_LT(start, le)) {
			*seq = start;
			*len = MIN(mss, le - start);
			*rtx = true;
			return true;
		}
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
	/* (3) any unSACKed byte not yet retransmitted */
	for (unsigned k = 0; k <= c->nsb; k++) {
		uint32_t a, b, le;
		hole_get(c, &h, k, &a, &b, &le);
		uint32_t start = SEQ_MAX(a, c->high_rxt);
		if (SEQ_LT(start, b)) {
			*seq = start;
			*len = MIN(mss, b - start);
			*rtx = true;
			return true;
		}
	}
	return false;
}

void tcp_cc_sent(struct exos_tcp *c, uint32_t seq, uint32_t len, bool rtx)
{
	if (!rtx)
		return;
	if (SEQ_GT(seq + len, c->high_rxt))
		c->high_rxt = seq + len;
	c->total_retrans++;
	c->s->st.tcp_retransmits++;
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

static void cc_retransmit_head(struct exos_tcp *c)
{
	uint32_t mss = tcp_eff_mss(c);
	uint32_t end = c->nsb ? c->sb[0].start : c->snd_max;
	uint32_t len = MIN(mss, end - c->snd_una);
	bool fin = (c->flags & TF_FIN_QUEUED) && c->snd_una + len == c->fin_seq + 1;
	uint8_t flags = TCP_ACK | (fin ? TCP_FIN : 0);

	if (!len)
		return;
	int sent = tcp_xmit(c, c->snd_una, len - fin, flags);
	if (sent >= 0) {
		tcp_cc_sent(c, c->snd_una, (uint32_t)sent + fin, true);
		if ((c->flags & TF_RTT_TIMING) && SEQ_LEQ(c->snd_una, c->rtt_seq) &&
		    SEQ_LT(c->rtt_seq, c->snd_una + len))
			c->flags &= ~(uint32_t)TF_RTT_TIMING; /* Karn */
	}
}

static void cc_enter_recovery(struct exos_tcp *c)
{
	uint32_t mss = tcp_eff_mss(c);

	c->ssthresh = MAX(tcp_flight(c) / 2, 2 * mss);
	c->recover = c->snd_max;
	c->high_rxt = c->snd_una;
	c->rxt_mark = c->snd_max;
	c->rescue_rxt = c->snd_una;
	c->cc_state = CC_RECOVERY;
	c->s->st.tcp_fast_retransmits++;
	cc_retransmit_head(c); /* RFC 6675 (4.3) / RFC 6582 (2): the first hole, now */
	if (c->flags & TF_SACK_OK)
		c->cwnd = c->ssthresh;
	else
		c->cwnd = c->ssthresh + TCP_DUPTHRESH * mss;
	c->t_rtx = c->s->now + c->rto;
}

/* Lost-retransmission rule (see the top of the file). */
static void cc_check_round(struct exos_tcp *c)
{
	if (!SEQ_GT(c->high_sacked, c->rxt_mark) || !SEQ_GT(c->high_rxt, c->snd_una))
		return;
	/* Is a byte below high_rxt still unSACKed? snd_una itself is. */
	c->high_rxt = c->snd_una;
	c->rxt_mark = c->snd_max;
}

void tcp_cc_ack(struct exos_tcp *c, uint32_t acked, uint32_t old_una)
{
	uint32_t mss = tcp_eff_mss(c);

	(void)old_una;
	switch (c->cc_state) {
	case CC_OPEN:
		c->dupacks = 0;
		cc_grow(c, acked);
		break;
	case CC_RECOVERY:
		if (SEQ_GEQ(c->snd_una, c->recover)) {
			/* Full ACK: leave recovery (RFC 6582 3.2 (3), RFC 6675 5 (b)). */
			c->cc_state = CC_OPEN;
			c->dupacks = 0;
			if (c->flags & TF_SACK_OK)
				c->cwnd = c->ssthresh;
			else
				c->cwnd = MIN(c->ssthresh, MAX(tcp_flight(c), mss) + mss);
			c->ca_acked = 0;
		} else if (!(c->flags & TF_SACK_OK)) {
			/* NewReno partial ACK: retransmit the next hole, deflate. */
			c->high_rxt = c->snd_una;
			cc_retransmit_head(c);
			c->cwnd = c->cwnd > acked ? c->cwnd - acked : mss;
			if (acked >= mss)
				c->cwnd += mss;
		} else if (SEQ_LT(c->high_rxt, c->snd_una)) {
			c->high_rxt = c->snd_una;
		}
		break;
	case CC_LOSS:
		if (SEQ_LT(c->high_rxt, c->snd_una))
			c->high_rxt = c->snd_una;
		if (SEQ_GEQ(c->snd_una, c->recover)) {
			c->cc_state = CC_OPEN;
			c->dupacks = 0;
		}
		cc_grow(c, acked);
		break;
	}
}

void tcp_cc_dupack(struct exos_tcp *c, bool new_sack)
{
	uint32_t mss = tcp_eff_mss(c);

	switch (c->cc_state) {
	case CC_OPEN: {
		c->dupacks++;
		bool lost = false;
		if ((c->flags & TF_SACK_OK) && c->nsb) {
			struct holes h;
			uint32_t a, b, le;
			holes_init(c, &h);
			hole_get(c, &h, 0, &a, &b, &le);
			lost = SEQ_LT(a, le); /* IsLost(HighACK + 1) */
		}
		if (c->dupacks >= TCP_DUPTHRESH || lost)
			cc_enter_recovery(c);
		break;
	}
	case CC_RECOVERY:
		if (!(c->flags & TF_SACK_OK))
			c->cwnd += mss; /* NewReno inflation */
		else if (new_sack)
			cc_check_round(c);
		break;
	case CC_LOSS:
		if (new_sack)
			cc_check_round(c);
		break;
	}
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
	c->high_rxt = c->snd_una;
	c->rxt_mark = c->snd_max;
	c->dupacks = 0;
	/* RFC 2018 §8: after a timeout, SACK information is not to be trusted (reneging). */
	c->nsb = 0;
	sb_recount(c);
}
