/* socket_tcp.c - SOCK_STREAM sockets over the low-level TCP end-points */
#include <poll.h>
#include <stdlib.h>

#include "socket_int.h"

/*
 * A stream socket owns one exos_tcp.  It registers no on_data callback, so the stack
 * keeps every received byte (copied once out of the ring) until recv copies it out and
 * reopens the window; send copies into the stack's registered buffers (bounded by
 * SO_SNDBUF).  A listening socket queues the connections its listener accepts until
 * accept() takes them; they count against the backlog meanwhile.
 */

static void so_on_connected(struct exos_tcp *c, void *arg)
{
	struct exos_sock *so = arg;

	(void)c;
	if (so->state == SS_CONNECTING)
		so->state = SS_CONNECTED;
}

static void so_on_error(struct exos_tcp *c, int err, void *arg)
{
	struct exos_sock *so = arg;

	(void)c;
	so->err = -err;
	so->state = SS_CLOSED;
}

static void so_on_free(struct exos_tcp *c, void *arg)
{
	struct exos_sock *so = arg;

	(void)c;
	so->tcp = NULL;
	so->state = SS_CLOSED;
}

static const struct exos_tcp_ops sock_conn_ops = {
	.on_connected = so_on_connected,
	.on_error = so_on_error,
	.on_free = so_on_free,
};

/* A connection accepted by the listener, waiting for accept(). */
static void so_pending_free(struct exos_tcp *c, void *arg)
{
	struct exos_sock *so = arg;

	for (uint32_t i = 0; i < so->naccq; i++) {
		if (so->accq[i] == c) {
			memmove(&so->accq[i], &so->accq[i + 1], (so->naccq - i - 1) * sizeof(c));
			so->naccq--;
			if (so->tcp)
				so->tcp->naccq--;
			break;
		}
	}
}

static const struct exos_tcp_ops sock_pending_ops = {
	.on_free = so_pending_free,
};

static int so_on_accept(struct exos_tcp *l, struct exos_tcp *c, void *arg)
{
	struct exos_sock *so = arg;

	if (so->naccq == so->accq_cap) {
		uint32_t cap = so->accq_cap ? so->accq_cap * 2 : 16;
		struct exos_tcp **q = realloc(so->accq, cap * sizeof(*q));
		if (!q)
			return -ENOMEM;
		so->accq = q;
		so->accq_cap = cap;
	}
	so->accq[so->naccq++] = c;
	l->naccq++;
	exos_tcp_set_ops(c, &sock_pending_ops, so);
	return 0;
}

static const struct exos_tcp_ops sock_listen_ops = {
	.on_accept = so_on_accept,
};

static uint32_t so_tcp_flags(const struct exos_sock *so)
{
	return (so->nodelay ? 0 : EXOS_TCP_F_NAGLE) | (so->quickack ? EXOS_TCP_F_QUICKACK : 0) |
	       (so->keepalive ? EXOS_TCP_F_KEEPALIVE : 0);
}

void sock_tcp_apply_opts(struct exos_sock *so)
{
	struct exos_tcp *c = so->tcp;
	const uint32_t mine = EXOS_TCP_F_NAGLE | EXOS_TCP_F_QUICKACK | EXOS_TCP_F_KEEPALIVE;

	if (!c)
		return;
	bool keep_was = c->opt_flags & EXOS_TCP_F_KEEPALIVE;
	c->opt_flags = (c->opt_flags & ~mine) | so_tcp_flags(so);
	c->sndbuf = so->sndbuf;
	if (so->state != SS_LISTEN)
		c->rcvbuf = MAX(so->rcvbuf, (uint32_t)TCP_RCVBUF_MIN);
	if (!keep_was && so->keepalive && tcp_synchronized(c)) {
		tcp_keep_reset(c);
		tcp_timer_update(c);
	}
	if (!so->nodelay && so->state == SS_CONNECTED)
		return;
	tcp_output(c); /* TCP_NODELAY set: flush what Nagle held */
	stack_api_done(so->s);
}

static uint16_t so_random_port(struct exos_stack *s)
{
	return (uint16_t)(TCP_EPHEMERAL_LO +
			  stack_random(s) % (TCP_EPHEMERAL_HI - TCP_EPHEMERAL_LO + 1));
}

int sock_tcp_bind(struct exos_sock *so)
{
	struct exos_stack *s = so->s;

	if (!so->lport) {
		for (int i = 0; i < TCP_PORT_RETRIES && !so->lport; i++) {
			uint16_t p = so_random_port(s);
			if (!tcp_listener_lookup(s, so->laddr, htons(p)))
				so->lport = p;
		}
		return so->lport ? 0 : -EADDRINUSE;
	}
	if (tcp_listener_lookup(s, so->laddr, htons(so->lport)))
		return -EADDRINUSE;
	return 0;
}

int sock_tcp_listen(struct exos_sock *so, int backlog)
{
	struct exos_tcp_opts o = {.sz = sizeof(o)};
	int err;

	backlog = backlog <= 0 ? 1 : MIN(backlog, 4096);
	if (so->state == SS_LISTEN) {
		so->tcp->backlog = (uint32_t)backlog;
		return 0;
	}
	if (so->state != SS_NEW)
		return -EINVAL;
	o.local_addr = so->laddr;
	o.backlog = (uint32_t)backlog;
	o.rcvbuf = so->rcvbuf;
	o.sndbuf = so->sndbuf;
	o.flags = so_tcp_flags(so);
	for (int i = 0; i < TCP_PORT_RETRIES; i++) {
		o.local_port = so->lport ? so->lport : so_random_port(so->s);
		err = exos_tcp_listen(so->s, &o, &sock_listen_ops, so, &so->tcp);
		if (err != -EADDRINUSE || so->lport)
			break;
	}
	if (err < 0)
		return err;
	so->lport = o.local_port;
	so->backlog = backlog;
	so->state = SS_LISTEN;
	return 0;
}

/* One wait step of a blocking call; maps the deadline to EAGAIN like SO_RCVTIMEO. */
static int so_wait(struct exos_sock *so, uint64_t deadline)
{
	int err = stack_block(so->s, deadline);

	return err == -ETIMEDOUT ? -EAGAIN : err;
}

int sock_tcp_accept(struct exos_sock *so, struct sockaddr *addr, socklen_t *len, int flags)
{
	uint64_t deadline = sock_deadline(so, so->rcvtimeo, 0);
	int err;

	exos_stack_poll(so->s);
	while (!so->naccq) {
		if (so->nonblock)
			return -EAGAIN;
		err = so_wait(so, deadline);
		if (err < 0)
			return err;
	}
	struct exos_tcp *c = so->accq[0];
	memmove(&so->accq[0], &so->accq[1], (so->naccq - 1) * sizeof(c));
	so->naccq--;
	so->tcp->naccq--;
	struct exos_sock *nso = sock_new(so->s, SOCK_STREAM);
	if (!nso) {
		exos_tcp_set_ops(c, NULL, NULL);
		exos_tcp_abort(c);
		return -ENFILE;
	}
	nso->tcp = c;
	nso->state = (c->flags & TF_DEAD) ? SS_CLOSED : SS_CONNECTED;
	nso->laddr = c->laddr;
	nso->lport = ntohs(c->lport);
	nso->raddr = c->raddr;
	nso->rport = ntohs(c->rport);
	nso->nonblock = flags & SOCK_NONBLOCK;
	nso->nodelay = so->nodelay;
	nso->quickack = so->quickack;
	nso->keepalive = so->keepalive;
	nso->rcvbuf = so->rcvbuf;
	nso->sndbuf = so->sndbuf;
	exos_tcp_set_ops(c, &sock_conn_ops, nso);
	sock_fill_addr(addr, len, nso->raddr, nso->rport);
	return nso->fd;
}

int sock_tcp_connect(struct exos_sock *so, uint32_t addr, uint16_t port)
{
	struct exos_tcp_opts o = {.sz = sizeof(o)};
	uint64_t deadline = sock_deadline(so, so->sndtimeo, 0);
	int err;

	switch (so->state) {
	case SS_LISTEN:
	case SS_CONNECTED:
		return -EISCONN;
	case SS_CONNECTING:
		if (so->nonblock)
			return -EALREADY;
		break;
	case SS_CLOSED:
		if (so->err) {
			err = so->err;
			so->err = 0;
			return -err;
		}
		return -EISCONN;
	case SS_NEW:
		if (!addr || !port)
			return -ECONNREFUSED;
		o.local_addr = so->laddr;
		o.local_port = so->lport;
		o.remote_addr = addr;
		o.remote_port = port;
		o.rcvbuf = so->rcvbuf;
		o.sndbuf = so->sndbuf;
		o.flags = so_tcp_flags(so);
		err = exos_tcp_connect(so->s, &o, &sock_conn_ops, so, &so->tcp);
		if (err < 0)
			return err;
		so->state = SS_CONNECTING;
		so->raddr = addr;
		so->rport = port;
		so->laddr = so->tcp->laddr;
		so->lport = ntohs(so->tcp->lport);
		if (so->nonblock)
			return -EINPROGRESS;
		break;
	}
	while (so->state == SS_CONNECTING) {
		err = so_wait(so, deadline);
		if (err == -EAGAIN)
			return -EINPROGRESS; /* SO_SNDTIMEO passed, as Linux */
		if (err < 0)
			return err;
	}
	if (so->state == SS_CONNECTED)
		return 0;
	err = so->err ? so->err : ECONNREFUSED;
	so->err = 0;
	return -err;
}

/* Waits while connecting; 0 once connected or the error. */
static int so_wait_connected(struct exos_sock *so, uint64_t deadline, bool nonblock)
{
	while (so->state == SS_CONNECTING) {
		if (nonblock)
			return -EAGAIN;
		int err = so_wait(so, deadline);
		if (err < 0)
			return err;
	}
	return 0;
}

ssize_t sock_tcp_send(struct exos_sock *so, const void *buf, size_t len, int flags)
{
	bool nonblock = so->nonblock || (flags & MSG_DONTWAIT);
	uint64_t deadline = sock_deadline(so, so->sndtimeo, flags);
	size_t done = 0;
	int err;

	if (so->state == SS_NEW || so->state == SS_LISTEN)
		return -ENOTCONN;
	err = so_wait_connected(so, deadline, nonblock);
	if (err < 0)
		return err;
	for (;;) {
		struct exos_tcp *c = so->tcp;
		if (so->err) {
			err = so->err;
			so->err = 0;
			return done ? (ssize_t)done : -err;
		}
		if (so->shut_wr || !c || (c->flags & (TF_DEAD | TF_FIN_QUEUED)) ||
		    so->state != SS_CONNECTED)
			return done ? (ssize_t)done : -EPIPE;
		uint32_t space = c->sndbuf > c->sq_copy_bytes ? c->sndbuf - c->sq_copy_bytes : 0;
		if (space && done < len) {
			size_t n = MIN((size_t)space, len - done);
			stack_clock(so->s);
			if (tcp_queue_copy(c, (const uint8_t *)buf + done, n, NULL, 0, false) == 0) {
				done += n;
				if (flags & MSG_MORE)
					c->flags |= TF_MORE;
				else
					c->flags &= ~(uint32_t)TF_MORE;
				tcp_output(c);
				stack_api_done(so->s);
			}
		}
		if (done == len)
			return (ssize_t)done;
		if (nonblock)
			return done ? (ssize_t)done : -EAGAIN;
		err = so_wait(so, deadline);
		if (err < 0)
			return done ? (ssize_t)done : err;
	}
}

ssize_t sock_tcp_recv(struct exos_sock *so, void *buf, size_t len, int flags)
{
	bool nonblock = so->nonblock || (flags & MSG_DONTWAIT);
	uint64_t deadline = sock_deadline(so, so->rcvtimeo, flags);
	size_t done = 0;
	int err;

	if (so->state == SS_NEW || so->state == SS_LISTEN)
		return -ENOTCONN;
	err = so_wait_connected(so, deadline, nonblock);
	if (err < 0)
		return err;
	exos_stack_poll(so->s);
	for (;;) {
		struct exos_tcp *c = so->tcp;
		if (so->shut_rd)
			return (ssize_t)done;
		if (c && len > done) {
			size_t n = tcp_rxq_read(c, (uint8_t *)buf + done, len - done, flags & MSG_PEEK);
			if (n && !(flags & MSG_PEEK)) {
				if ((c->flags & TF_DEAD) && !c->rxq_head)
					tcp_maybe_free(c); /* it only waited for us to read */
				stack_api_done(so->s);
			}
			done += n;
		}
		if (done && (!(flags & MSG_WAITALL) || done == len || (flags & MSG_PEEK)))
			return (ssize_t)done;
		if (so->err) {
			err = so->err;
			so->err = 0;
			return done ? (ssize_t)done : -err;
		}
		if (!c || (c->flags & TF_RX_FIN) || len == 0)
			return (ssize_t)done; /* end of stream */
		if (nonblock)
			return done ? (ssize_t)done : -EAGAIN;
		err = so_wait(so, deadline);
		if (err < 0)
			return done ? (ssize_t)done : err;
	}
}

int sock_tcp_shutdown(struct exos_sock *so, int how)
{
	if (so->state != SS_CONNECTED && so->state != SS_CONNECTING)
		return -ENOTCONN;
	if (how != SHUT_WR)
		so->shut_rd = true;
	if (how != SHUT_RD && !so->shut_wr) {
		so->shut_wr = true;
		if (so->tcp)
			exos_tcp_shutdown(so->tcp);
	}
	return 0;
}

void sock_tcp_detach_listener(struct exos_sock *so)
{
	while (so->naccq) {
		struct exos_tcp *p = so->accq[--so->naccq];
		exos_tcp_set_ops(p, NULL, NULL);
		exos_tcp_abort(p);
	}
	if (so->tcp) {
		so->tcp->naccq = 0;
		exos_tcp_set_ops(so->tcp, NULL, NULL);
	}
	so->tcp = NULL;
}

void sock_tcp_close(struct exos_sock *so)
{
	struct exos_tcp *c = so->tcp;

	if (so->state == SS_LISTEN) {
		while (so->naccq) {
			struct exos_tcp *p = so->accq[--so->naccq];
			exos_tcp_set_ops(p, NULL, NULL);
			exos_tcp_abort(p);
		}
		exos_tcp_set_ops(c, NULL, NULL);
		exos_tcp_close(c);
		return;
	}
	if (!c)
		return;
	if (so->linger_on && so->linger_sec == 0) {
		exos_tcp_set_ops(c, NULL, NULL);
		exos_tcp_abort(c); /* SO_LINGER 0: reset */
		return;
	}
	if (so->linger_on && !so->nonblock && so->state == SS_CONNECTED && !c->rxq_bytes) {
		/* SO_LINGER: wait (bounded) for our data and FIN to be acknowledged. */
		uint64_t deadline = exos_now_ns() + (uint64_t)so->linger_sec * NSEC_PER_SEC;
		exos_tcp_shutdown(c);
		while (so->tcp && !(so->tcp->flags & TF_DEAD) &&
		       so->tcp->snd_una != so->tcp->snd_max &&
		       stack_block(so->s, deadline) != -ETIMEDOUT)
			;
		c = so->tcp;
		if (!c)
			return;
	}
	exos_tcp_set_ops(c, NULL, NULL);
	exos_tcp_close(c);
}

short sock_tcp_revents(struct exos_sock *so)
{
	struct exos_tcp *c = so->tcp;
	short ev = 0;

	switch (so->state) {
	case SS_NEW:
		return POLLOUT | POLLHUP;
	case SS_LISTEN:
		return so->naccq ? POLLIN : 0;
	case SS_CONNECTING:
		return 0;
	case SS_CLOSED:
		ev = POLLIN | POLLRDHUP | POLLHUP;
		if (so->err)
			ev |= POLLERR;
		if (c && c->rxq_bytes)
			ev |= POLLIN;
		return ev;
	case SS_CONNECTED:
		break;
	}
	if (!c)
		return POLLIN | POLLHUP;
	if (c->rxq_bytes || (c->flags & TF_RX_FIN) || so->shut_rd)
		ev |= POLLIN;
	if (c->flags & TF_RX_FIN)
		ev |= POLLRDHUP;
	if (!(c->flags & (TF_FIN_QUEUED | TF_DEAD)) && c->sndbuf > c->sq_copy_bytes)
		ev |= POLLOUT;
	if (so->err)
		ev |= POLLERR;
	if ((c->flags & TF_DEAD) || ((c->flags & TF_RX_FIN) && (c->flags & TF_FIN_QUEUED)))
		ev |= POLLHUP;
	return ev;
}
