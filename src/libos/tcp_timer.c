/* tcp_timer.c - TCP timers: retransmission (RFC 6298) with backoff, persist, delayed ACK,
 * keepalive, orphaned FIN_WAIT_2 */
#include <stddef.h>

#include "tcp_int.h"

/*
 * Each connection keeps its deadlines (t_rtx, t_persist, t_delack, t_keep, t_conn; 0 = off)
 * and one slot in the stack's timer heap at the earliest of them.  Moving a deadline later
 * (every ACK restarts the retransmission timer) leaves the slot early; when it fires with
 * nothing due it is simply re-armed - cheaper than a heap update per segment.
 */

void tcp_timer_update(struct exos_tcp *c)
{
	uint64_t d = 0,
		 ts[] = {c->t_rtx, c->t_persist, c->t_delack, c->t_keep, c->t_conn, c->t_reo};

	if (c->flags & TF_DEAD)
		return;
	for (unsigned i = 0; i < ARRAY_SIZE(ts); i++)
		if (ts[i] && (!d || ts[i] < d))
			d = ts[i];
	if (!d)
		timer_cancel(c->s, &c->timer);
	else if (!timer_armed(&c->timer) || d < c->timer.when)
		timer_arm(c->s, &c->timer, d);
}

void tcp_rtt_sample(struct exos_tcp *c, uint64_t r)
{
	if (!r)
		r = 1;
	if (!c->srtt) { /* (2.2) */
		c->srtt = r;
		c->rttvar = r / 2;
	} else { /* (2.3), alpha = 1/8, beta = 1/4 */
		uint64_t d = c->srtt > r ? c->srtt - r : r - c->srtt;
		c->rttvar = (3 * c->rttvar + d) / 4;
		c->srtt = (7 * c->srtt + r) / 8;
	}
	uint64_t rto = c->srtt + MAX(NSEC_PER_MSEC, 4 * c->rttvar);
	c->rto = MIN(MAX(rto, TCP_RTO_MIN_NS), TCP_RTO_MAX_NS);
}

void tcp_rtx_arm(struct exos_tcp *c)
{
	uint64_t pto = tcp_cc_pto(c);

	if (pto) {
		c->t_rtx = c->s->now + pto;
		c->flags |= TF_PTO;
	} else {
		c->t_rtx = c->s->now + tcp_rto_cur(c);
		c->flags &= ~(uint32_t)TF_PTO;
	}
}

void tcp_rtx_restart(struct exos_tcp *c)
{
	if (c->snd_una == c->snd_max) {
		c->t_rtx = 0; /* (5.2) */
		c->flags &= ~(uint32_t)TF_PTO;
	} else {
		tcp_rtx_arm(c); /* (5.3) */
	}
}

void tcp_delack_arm(struct exos_tcp *c, uint64_t when)
{
	if (!c->t_delack || when < c->t_delack)
		c->t_delack = when;
	tcp_timer_update(c);
}

void tcp_persist_arm(struct exos_tcp *c)
{
	uint64_t t = (c->srtt ? c->rto : TCP_RTO_INIT_NS) << MIN(c->persist_shift, 16);

	c->t_persist = c->s->now + MIN(MAX(t, TCP_PERSIST_MIN_NS), TCP_PERSIST_MAX_NS);
}

void tcp_keep_reset(struct exos_tcp *c)
{
	if (!(c->opt_flags & EXOS_TCP_F_KEEPALIVE))
		return;
	c->keep_probes = 0;
	c->t_keep = c->s->now + TCP_KEEPIDLE_NS;
}

/* A segment the peer must answer with an ACK: an old sequence number, no data. */
static void tcp_send_probe(struct exos_tcp *c)
{
	tcp_xmit(c, c->snd_una - 1, 0, TCP_ACK);
}

static void tcp_rto_fire(struct exos_tcp *c)
{
	struct exos_stack *s = c->s;

	if (c->state == EXOS_TCP_SYN_SENT || c->state == EXOS_TCP_SYN_RCVD) {
		unsigned max = c->state == EXOS_TCP_SYN_SENT ? TCP_SYN_RETRIES : TCP_SYNACK_RETRIES;
		if (++c->retries > max) {
			bool active = !(c->flags & TF_PASSIVE);
			tcp_done(c, active ? (c->soft_err ? c->soft_err : -ETIMEDOUT) : 0);
			return;
		}
		s->st.tcp_rto_fired++;
		c->flags &= ~(uint32_t)TF_RTT_TIMING;
		/* No answer to the first SYN: now it is worth a filter for ICMP errors about
		 * this connection (a destination unreachable ends the connect at once).  Fast
		 * connects never pay for one. */
		if (c->state == EXOS_TCP_SYN_SENT && !c->icmp_filter &&
		    icmp_error_filter(s, c->laddr, IP_PROTO_TCP, c->lport, c->rport,
				      &c->icmp_filter) < 0)
			c->icmp_filter = 0;
		tcp_send_syn(c);
		return;
	}
	if (c->snd_una == c->snd_max)
		return;
	if (c->flags & TF_PTO) {
		c->flags &= ~(uint32_t)TF_PTO;
		tcp_cc_tlp(c);
		c->t_rtx = s->now + tcp_rto_cur(c); /* the RTO proper, if the probe goes unanswered */
		return;
	}
	if (++c->retries > TCP_RETRIES) {
		tcp_done(c, c->soft_err ? c->soft_err : -ETIMEDOUT);
		return;
	}
	s->st.tcp_rto_fired++;
	c->flags &= ~(uint32_t)TF_RTT_TIMING;
	tcp_cc_rto(c);
	tcp_output(c); /* the first lost segment; re-arms t_rtx (5.6) */
	if (!c->t_rtx)
		c->t_rtx = s->now + tcp_rto_cur(c);
}

static void tcp_persist_fire(struct exos_tcp *c)
{
	if (c->snd_max != c->snd_una || !SEQ_LT(c->snd_nxt, c->snd_end + !!(c->flags & TF_FIN_QUEUED)))
		return; /* data in flight (the RTO covers it) or nothing to send */
	if (c->snd_wnd == 0) {
		c->s->st.tcp_persist_probes++;
		tcp_send_probe(c);
		if (c->persist_shift < 16)
			c->persist_shift++;
		tcp_persist_arm(c);
		return;
	}
	c->flags |= TF_FORCE; /* a window too small for SWS avoidance: send what fits */
	tcp_output(c);
}

static void tcp_keep_fire(struct exos_tcp *c)
{
	if (!tcp_synchronized(c))
		return;
	if (c->keep_probes >= TCP_KEEP_PROBES) {
		tcp_done(c, -ETIMEDOUT);
		return;
	}
	c->keep_probes++;
	c->s->st.tcp_keepalives++;
	tcp_send_probe(c);
	c->t_keep = c->s->now + TCP_KEEPINTVL_NS;
}

void tcp_timer_fn(struct exos_stack *s, struct exos_timer *t)
{
	struct exos_tcp *c = (struct exos_tcp *)((char *)t - offsetof(struct exos_tcp, timer));
	uint64_t now = s->now;

	if (c->t_rtx && c->t_rtx <= now) {
		c->t_rtx = 0;
		tcp_rto_fire(c);
	}
	if (!(c->flags & TF_DEAD) && c->t_reo && c->t_reo <= now) {
		c->t_reo = 0;
		tcp_cc_reo_timer(c);
	}
	if (!(c->flags & TF_DEAD) && c->t_persist && c->t_persist <= now) {
		c->t_persist = 0;
		tcp_persist_fire(c);
	}
	if (!(c->flags & TF_DEAD) && c->t_delack && c->t_delack <= now) {
		c->t_delack = 0;
		if (c->flags & (TF_ACK_NOW | TF_ACK_DELAYED))
			tcp_send_ack(c);
		c->flags &= ~(uint32_t)TF_ACK_HELD;
	}
	if (!(c->flags & TF_DEAD) && c->t_keep && c->t_keep <= now) {
		c->t_keep = 0;
		tcp_keep_fire(c);
	}
	if (!(c->flags & TF_DEAD) && c->t_conn && c->t_conn <= now) {
		c->t_conn = 0;
		tcp_done(c, 0); /* orphaned FIN_WAIT_2: the peer never closed */
	}
	tcp_timer_update(c);
}
