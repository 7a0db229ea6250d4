/* copy.c - exnc's data loop: stdin -> socket, socket -> stdout */

/*
 * libexos descriptors are not kernel file descriptors, so one poll() cannot wait for both
 * stdin and the socket.  The loop therefore sleeps in exos_poll (which runs the stack:
 * its packets and timers) and checks stdin with a zero-timeout poll() between sleeps.
 * While stdin may still bring data, exos_poll sleeps in short slices (1 ms, doubling to
 * 16 ms while nothing happens); once stdin is finished, exos_poll sleeps until the socket
 * or a deadline (-q, -w) needs us.  Bulk data moves in EXNC_BUF_SIZE bites: a full read of
 * stdin is queued with one exos_send, and each exos_recv drains up to a buffer's worth.
 *
 * stdin is never made non-blocking (the file description may be shared with the shell):
 * it is read only after poll() said it is readable.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <exos/socket.h>
#include <exos/sys.h>

#include "exnc.h"

struct copy {
	int fd;
	const struct exnc_opts *o;
	uint8_t *in;	 /* stdin -> socket */
	size_t in_off, in_len;
	uint8_t *out;	 /* socket -> stdout */
	bool stdin_open;
	bool eof_done;	 /* stdin's EOF handled (-N shutdown, -q deadline) */
	bool peer_eof;	 /* the peer has finished sending */
	uint64_t quit_ns, idle_ns; /* deadlines, 0 = none */
	int slice_ms;
};

static uint64_t now_ns(void)
{
	return exos_now_ns();
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static bool stdin_readable(void)
{
	struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

/*
 * After the peer's FIN (a half-close: it may still receive), whatever stdin already holds
 * is still sent, so `exnc -l <file` delivers the whole file to a client that finished its
 * own sending first.  Input stdin does not have yet (a terminal, a slow pipe) is not
 * waited for: the peer's close ends the session, as netcat users expect.
 */
static bool stdin_pending(const struct copy *c)
{
	return c->in_len || (c->stdin_open && stdin_readable());
}

/* stdin -> buffer -> socket; returns 1 on progress, 0 on none, -1 on a fatal error. */
static int pump_out(struct copy *c)
{
	int progress = 0;
	size_t cap = c->o->udp ? EXNC_UDP_MAX : EXNC_BUF_SIZE;

	if (c->stdin_open && c->in_len == 0 && stdin_readable()) {
		ssize_t n = read(STDIN_FILENO, c->in, cap);

		if (n > 0) {
			c->in_off = 0;
			c->in_len = (size_t)n;
			progress = 1;
		} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			if (n < 0)
				exnc_err("read from stdin: %s", strerror(errno));
			c->stdin_open = false;
			progress = 1;
		}
	}
	while (c->in_len) {
		ssize_t s = exos_send(c->fd, c->in + c->in_off, c->in_len, MSG_DONTWAIT);

		if (s < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ENOBUFS)
				break;
			exnc_err("send to %s: %s", c->o->peer, strerror(errno));
			return -1;
		}
		c->in_off += (size_t)s;
		c->in_len -= (size_t)s;
		progress = 1;
		if (c->o->udp) /* one read, one datagram */
			c->in_len = 0;
	}
	if (!c->stdin_open && !c->in_len && !c->eof_done) {
		c->eof_done = true;
		exnc_info(c->o, "end of input");
		if (c->o->nflag_shutdown && !c->o->udp && exos_shutdown(c->fd, SHUT_WR) < 0 &&
		    errno != ENOTCONN)
			exnc_err("shutdown: %s", strerror(errno));
		if (c->o->q_secs >= 0)
			c->quit_ns = now_ns() + (uint64_t)c->o->q_secs * 1000000000ull;
	}
	return progress;
}

/* socket -> stdout; returns 1 on progress, 0 on none, 2 at the peer's EOF, -1 on error. */
static int pump_in(struct copy *c)
{
	int progress = 0;

	for (int i = 0; i < 16; i++) {
		ssize_t r = exos_recv(c->fd, c->out, EXNC_BUF_SIZE, MSG_DONTWAIT);
		int err;

		if (r == 0 && !c->o->udp)
			return 2;
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return progress;
			exnc_err("receive from %s: %s", c->o->peer, strerror(errno));
			return -1;
		}
		err = write_all(STDOUT_FILENO, c->out, (size_t)r);
		if (err) {
			exnc_err("write to stdout: %s", strerror(-err));
			return -1;
		}
		progress = 1;
	}
	return progress;
}

/* Sleeps until the socket, stdin (by slices) or a deadline may need us. */
static int wait_some(struct copy *c)
{
	struct pollfd p = {.fd = c->fd, .events = c->peer_eof ? 0 : POLLIN};
	uint64_t deadline = 0, now;
	int timeout = -1;

	if (c->in_len)
		p.events |= POLLOUT;
	if (c->quit_ns)
		deadline = c->quit_ns;
	if (c->idle_ns && (!deadline || c->idle_ns < deadline))
		deadline = c->idle_ns;
	if (deadline) {
		now = now_ns();
		timeout = deadline > now ? (int)((deadline - now + 999999) / 1000000) : 0;
	}
	if (c->stdin_open && !c->in_len && (timeout < 0 || timeout > c->slice_ms))
		timeout = c->slice_ms;
	if (exos_poll(&p, 1, timeout) < 0 && errno != EINTR) {
		exnc_err("poll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int exnc_copy(int fd, const struct exnc_opts *o)
{
	struct copy c = {
		.fd = fd,
		.o = o,
		.stdin_open = !o->no_stdin,
		.slice_ms = EXNC_STDIN_WAIT_MS,
	};
	int rc = 0;

	c.in = malloc(EXNC_BUF_SIZE);
	c.out = malloc(EXNC_BUF_SIZE);
	if (!c.in || !c.out) {
		exnc_err("out of memory");
		rc = 1;
		goto out;
	}
	if (o->w_secs > 0)
		c.idle_ns = now_ns() + (uint64_t)o->w_secs * 1000000000ull;
	for (;;) {
		int a = pump_out(&c), b;

		if (a < 0) {
			rc = 1;
			break;
		}
		b = c.peer_eof ? 0 : pump_in(&c);
		if (b < 0) {
			rc = 1;
			break;
		}
		if (b == 2) {
			exnc_info(o, "connection closed by the peer");
			c.peer_eof = true;
			b = 1;
		}
		if (c.peer_eof && !stdin_pending(&c))
			break;
		if (c.quit_ns && now_ns() >= c.quit_ns)
			break;
		if (a || b) {
			c.slice_ms = EXNC_STDIN_WAIT_MS;
			if (o->w_secs > 0)
				c.idle_ns = now_ns() + (uint64_t)o->w_secs * 1000000000ull;
			continue;
		}
		if (c.idle_ns && now_ns() >= c.idle_ns) {
			exnc_info(o, "idle for %d s: closing", o->w_secs);
			break;
		}
		if (wait_some(&c) < 0) {
			rc = 1;
			break;
		}
		if (c.slice_ms < EXNC_STDIN_WAIT_MAX_MS)
			c.slice_ms *= 2;
	}
out:
	free(c.in);
	free(c.out);
	return rc;
}
