/* transport_exos_sock.c - the core over libexos's POSIX-like sockets and exos_poll (sockclient) */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <exos/exos.h>
#include <exos/socket.h>

#include "core.h"
#include "param.h"
#include "transport_exos.h"

/*
 * The paper's "sockclient" (§6.2) on the libOS: the same core over non-blocking sockets,
 * as a program written against BSD sockets would drive them - connect, send, recv into a
 * buffer (one copy out of the stack, then counted), close - with exos_poll for readiness.
 * It is the baseline that shows what the socket layer costs next to webswamp's events.
 *
 * exos_poll is level-triggered and takes an array, so the transport keeps one pollfd array
 * for the whole run: slot i is client i's socket, slot n + i the socket it closed last,
 * lingering.  A socket asks for POLLOUT only while it connects or after a send that would
 * have blocked.  Like webswamp (see transport_exos_tcp.c), a socket the core closes right
 * after a complete response, before the server's FIN is in, lingers until that FIN
 * (SWAMP_LINGER_NS at most), its further bytes read and dropped: the server closes first
 * and keeps TIME_WAIT, and with it our end keeps no xokd filter for a minute.
 */
#define STP_CONNECTING 0x1
#define STP_WANT_WRITE 0x2
#define STP_RDHUP      0x4 /* the server's FIN is in */

struct sock_tp {
	struct swamp_transport t;
	struct exos_stack *s;
	struct sockaddr_in addr;
	uint32_t n;
	struct pollfd *pfd;   /* 2n: the core's sockets, then the lingering ones */
	uint64_t *linger_end; /* n */
	uint32_t nlinger;
	struct swamp_conn *reading; /* the client whose bytes are being counted */
	char scratch[SWAMP_SCRATCH_SIZE] __attribute__((aligned(64)));
};

static struct sock_tp *stp(struct swamp_transport *t)
{
	return (struct sock_tp *)t;
}

/* ---- lingering sockets ---- */

static void linger_close(struct sock_tp *st, uint32_t i)
{
	struct pollfd *p = &st->pfd[st->n + i];

	exos_close(p->fd);
	p->fd = -1;
	p->revents = 0;
	st->nlinger--;
}

static void linger_add(struct sock_tp *st, uint32_t i, int fd)
{
	struct pollfd *p = &st->pfd[st->n + i];

	if (p->fd >= 0)
		linger_close(st, i); /* the previous one's FIN is late */
	p->fd = fd;
	p->events = POLLIN | POLLRDHUP;
	p->revents = 0;
	st->linger_end[i] = swamp_now_ns() + SWAMP_LINGER_NS;
	st->nlinger++;
}

/* Bytes after the response are dropped; EOF, an error or the deadline close the socket. */
static void linger_event(struct sock_tp *st, uint32_t i, uint64_t now)
{
	int fd = st->pfd[st->n + i].fd;

	if (st->pfd[st->n + i].revents) {
		for (;;) {
			ssize_t k = exos_recv(fd, st->scratch, sizeof(st->scratch), 0);

			if (k > 0)
				continue;
			if (k < 0 && errno == EINTR)
				continue;
			if (k == 0 || errno != EAGAIN) {
				linger_close(st, i);
				return;
			}
			break;
		}
	}
	if (st->linger_end[i] <= now)
		linger_close(st, i);
}

static uint64_t linger_next(const struct sock_tp *st)
{
	uint64_t next = UINT64_MAX;

	for (uint32_t i = 0; i < st->n && st->nlinger; i++)
		if (st->pfd[st->n + i].fd >= 0 && st->linger_end[i] < next)
			next = st->linger_end[i];
	return next;
}

/* ---- downcalls ---- */

static int stp_connect(struct swamp_transport *t, struct swamp_conn *c)
{
	struct sock_tp *st = stp(t);
	int fd = exos_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), rc;

	if (fd < 0)
		return -errno;
	if (exos_connect(fd, (struct sockaddr *)&st->addr, sizeof(st->addr)) &&
	    errno != EINPROGRESS) {
		rc = -errno;
		swamp_exos_warn_ports(swamp_exos_sock_transport.prog, rc);
		exos_close(fd);
		return rc;
	}
	c->tp.fd = fd;
	c->tp_flags = STP_CONNECTING;
	st->pfd[c->id] = (struct pollfd){.fd = fd, .events = POLLOUT};
	return 0;
}

static long stp_send(struct swamp_transport *t, struct swamp_conn *c, const void *buf, size_t len)
{
	struct sock_tp *st = stp(t);
	ssize_t k = exos_send(c->tp.fd, buf, len, MSG_NOSIGNAL);

	if (k >= 0)
		return k;
	if (errno != EAGAIN && errno != EWOULDBLOCK)
		return -errno;
	c->tp_flags |= STP_WANT_WRITE;
	st->pfd[c->id].events |= POLLOUT;
	return -EAGAIN;
}

static void stp_close(struct swamp_transport *t, struct swamp_conn *c)
{
	struct sock_tp *st = stp(t);
	struct pollfd *p = &st->pfd[c->id];

	if (st->reading == c && !(c->tp_flags & STP_RDHUP))
		linger_add(st, c->id, c->tp.fd); /* a complete response: wait for the FIN */
	else
		exos_close(c->tp.fd);
	p->fd = -1;
	p->revents = 0;
	c->tp.fd = -1;
	c->tp_flags = 0;
	c->tp_gen++;
}

static bool stp_stale(const struct swamp_conn *c, int fd, uint32_t gen)
{
	return c->tp.fd != fd || c->tp_gen != gen;
}

static int stp_sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (exos_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || !err)
		return ECONNREFUSED;
	return err;
}

/* Read until the socket is drained (level-triggered: what is left raises the next poll) or
 * the core is done with this connection. */
static void stp_read(struct sock_tp *st, struct swamp_conn *c, int fd, uint32_t gen)
{
	for (;;) {
		ssize_t k = exos_recv(fd, st->scratch, sizeof(st->scratch), 0);

		if (k > 0) {
			st->reading = c;
			swamp_on_data(c, st->scratch, (size_t)k);
			st->reading = NULL;
			if (stp_stale(c, fd, gen))
				return;
		} else if (k == 0) {
			swamp_on_eof(c);
			return;
		} else if (errno != EINTR) {
			if (errno != EAGAIN)
				swamp_on_error(c, errno);
			return;
		}
	}
}

static void stp_event(struct sock_tp *st, struct swamp_conn *c, short ev)
{
	int fd = c->tp.fd;
	uint32_t gen = c->tp_gen;

	if (ev & POLLRDHUP)
		c->tp_flags |= STP_RDHUP;
	if (c->tp_flags & STP_CONNECTING) {
		if (ev & (POLLERR | POLLHUP)) {
			swamp_on_error(c, stp_sock_error(fd));
			return;
		}
		if (!(ev & POLLOUT))
			return;
		c->tp_flags &= (uint8_t)~STP_CONNECTING;
		st->pfd[c->id].events = POLLIN | POLLRDHUP;
		swamp_on_connected(c);
	} else if ((ev & POLLOUT) && (c->tp_flags & STP_WANT_WRITE)) {
		c->tp_flags &= (uint8_t)~STP_WANT_WRITE;
		st->pfd[c->id].events = POLLIN | POLLRDHUP;
		swamp_on_writable(c);
	}
	if (stp_stale(c, fd, gen))
		return;
	if (ev & (POLLIN | POLLRDHUP | POLLHUP | POLLERR))
		stp_read(st, c, fd, gen);
}

static int stp_poll(struct swamp_transport *t, int64_t timeout_ns)
{
	struct sock_tp *st = stp(t);
	uint64_t now = swamp_now_ns(), next = st->nlinger ? linger_next(st) : UINT64_MAX;
	int ms, k;

	if (next < now + (uint64_t)timeout_ns)
		timeout_ns = next > now ? (int64_t)(next - now) : 0;
	/* Round up: waking early only costs a loop; waking late delays think deadlines. */
	ms = (int)((timeout_ns + 999999) / 1000000);
	k = exos_poll(st->pfd, 2 * (nfds_t)st->n, ms);
	if (k < 0)
		return -errno;
	now = swamp_now_ns();
	for (uint32_t i = 0; i < st->n; i++) {
		struct swamp_conn *c;
		short ev = st->pfd[i].revents;

		if (!ev || st->pfd[i].fd < 0)
			continue;
		st->pfd[i].revents = 0;
		c = swamp_conn_get(st->t.core, i);
		if (c && c->tp.fd == st->pfd[i].fd)
			stp_event(st, c, ev);
	}
	for (uint32_t i = 0; i < st->n && st->nlinger; i++)
		if (st->pfd[st->n + i].fd >= 0)
			linger_event(st, i, now);
	return 0;
}

static void stp_counters(struct swamp_transport *t, struct swamp_counters *out)
{
	swamp_exos_counters(stp(t)->s, out);
}

static void stp_destroy(struct swamp_transport *t)
{
	struct sock_tp *st = stp(t);

	for (uint32_t i = 0; i < st->n && st->nlinger; i++)
		if (st->pfd[st->n + i].fd >= 0)
			linger_close(st, i);
	swamp_exos_drain(st->s, SWAMP_DRAIN_NS);
	exos_stack_set_default(NULL);
	exos_stack_close(st->s);
	free(st->linger_end);
	free(st->pfd);
	free(st);
}

static const struct swamp_transport_ops stp_ops = {
    .connect = stp_connect,
    .send = stp_send,
    .close = stp_close,
    .poll = stp_poll,
    .destroy = stp_destroy,
    .counters = stp_counters,
};

static int stp_create(const struct swamp_opts *o, const struct swamp_url *u,
		      struct swamp_transport **out)
{
	struct sock_tp *st = calloc(1, sizeof(*st));
	int rc;

	if (!st)
		return swamp_no_memory(swamp_exos_sock_transport.prog, o->conns);
	st->n = o->conns;
	st->pfd = calloc(2 * (size_t)o->conns, sizeof(*st->pfd));
	st->linger_end = calloc(o->conns, sizeof(*st->linger_end));
	if (!st->pfd || !st->linger_end) {
		rc = swamp_no_memory(swamp_exos_sock_transport.prog, o->conns);
		goto fail;
	}
	for (size_t i = 0; i < 2 * (size_t)o->conns; i++)
		st->pfd[i].fd = -1;
	rc = swamp_exos_open(swamp_exos_sock_transport.prog, o, &st->s);
	if (rc < 0)
		goto fail;
	exos_stack_set_default(st->s); /* the stack the exos_ socket calls use */
	st->t.ops = &stp_ops;
	st->addr = u->addr;
	*out = &st->t;
	return 0;
fail:
	free(st->linger_end);
	free(st->pfd);
	free(st);
	return rc;
}

const struct swamp_transport_desc swamp_exos_sock_transport = {
    .prog = "sockclient",
    .what = "the libOS's POSIX-like sockets (libexos, include/exos/socket.h), non-blocking,\n"
	    "with exos_poll",
    .caps = SWAMP_CAP_XOK,
    .create = stp_create,
};
