/* tcp_rxq.c - TCP receive queues: in-place delivery, kept and out-of-order data, the SACK
 * blocks we report, the window, and the application's side of it all */
#include <exos/tcp.h>

#include "tcp_int.h"

/*
 * In-order data goes to on_data straight from the ring entry; what the application does not
 * consume is copied into packet buffers (the kept queue, offered again first), and so is
 * every out-of-order segment (a sorted, disjoint queue, bounded by TCP_OOO_MAX_SEGS and the
 * pool).  The SACK blocks we report follow RFC 2018 4: the first covers the most recent
 * arrival, the others repeat the most recently reported ones.
 */

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
bool tcp_rx_inorder(struct exos_tcp *c, const uint8_t *data, uint32_t len)
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
void tcp_rsack_note(struct exos_tcp *c, uint32_t seq)
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
int tcp_ooq_insert(struct exos_tcp *c, uint32_t seq, const uint8_t *data, uint32_t len,
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


/* Moves out-of-order data that rcv_nxt has reached into order. */
void tcp_ooq_drain(struct exos_tcp *c)
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

/* Whatever was queued beyond a FIN cannot be real data. */
void tcp_ooq_purge(struct exos_tcp *c)
{
	struct rxseg *r;

	while ((r = c->ooq_head)) {
		c->ooq_head = r->next;
		rxseg_free(c->s, r);
	}
	c->ooq_tail = NULL;
	c->ooq_bytes = c->ooq_segs = 0;
	c->nrsack = 0;
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
