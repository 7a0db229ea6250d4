/* transport_linux.c - the core over Linux kernel TCP sockets: non-blocking, edge-triggered epoll */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core.h"
#include "param.h"
#include "transport_linux.h"

/*
 * One socket per emulated client, registered once, edge-triggered, for everything
 * (EPOLLIN | EPOLLOUT | EPOLLRDHUP): no epoll_ctl after connect and none before close,
 * because close removes the socket from the epoll set.  Received bytes are read into one
 * scratch buffer and only counted.  An event carries (client id, generation): the core may
 * close a client's socket and open a new one (often with the same fd number) while later
 * events of the same batch still name the old one; the generation tells them apart.
 */
#define LTP_CONNECTING 0x1

struct linux_tp {
	struct swamp_transport t;
	const char *prog;
	struct sockaddr_in addr;
	int ep;
	bool no_pwait2; /* kernel without epoll_pwait2: millisecond waits */
	bool warned_ports;
	struct epoll_event events[SWAMP_EPOLL_EVENTS];
	char scratch[SWAMP_SCRATCH_SIZE] __attribute__((aligned(64)));
};

static struct linux_tp *ltp(struct swamp_transport *t)
{
	return (struct linux_tp *)t;
}

static uint64_t ltp_key(const struct swamp_conn *c)
{
	return (uint64_t)c->id << 32 | c->tp_gen;
}

static void ltp_warn_ports(struct linux_tp *lt)
{
	if (lt->warned_ports)
		return;
	lt->warned_ports = true;
	fprintf(stderr,
		"%s: connect: no free local port (widen net.ipv4.ip_local_port_range, set "
		"net.ipv4.tcp_tw_reuse=1, or use --keepalive)\n",
		lt->prog);
}

static int ltp_connect(struct swamp_transport *t, struct swamp_conn *c)
{
	struct linux_tp *lt = ltp(t);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&lt->addr, sizeof(lt->addr)) && errno != EINPROGRESS) {
		rc = -errno;
		if (rc == -EADDRNOTAVAIL)
			ltp_warn_ports(lt);
		goto fail_fd;
	}
	ev.data.u64 = ltp_key(c);
	if (epoll_ctl(lt->ep, EPOLL_CTL_ADD, fd, &ev)) {
		rc = -errno;
		goto fail_fd;
	}
	c->tp.fd = fd;
	c->tp_flags = LTP_CONNECTING;
	return 0;
fail_fd:
	close(fd);
	return rc;
}

static long ltp_send(struct swamp_transport *t, struct swamp_conn *c, const void *buf, size_t len)
{
	ssize_t n = send(c->tp.fd, buf, len, MSG_NOSIGNAL);

	(void)t;
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

static void ltp_close(struct swamp_transport *t, struct swamp_conn *c)
{
	(void)t;
	close(c->tp.fd);
	c->tp.fd = -1;
	c->tp_flags = 0;
	c->tp_gen++;
}

static bool ltp_stale(const struct swamp_conn *c, uint64_t key)
{
	return c->tp.fd < 0 || ltp_key(c) != key;
}

static int ltp_sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || !err)
		return ECONNREFUSED;
	return err;
}

/*
 * Read until the socket is drained or the core is done with this connection.  A read that
 * returns less than asked means the queue is empty: new data raises a new edge, so we stop
 * there and save the read that would return EAGAIN -- unless the peer has closed, in which
 * case no edge is coming and we must read on to the EOF.
 */
static void ltp_read(struct linux_tp *lt, struct swamp_conn *c, uint64_t key, uint32_t events)
{
	bool hup = events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR);

	for (;;) {
		ssize_t n = read(c->tp.fd, lt->scratch, sizeof(lt->scratch));

		if (n > 0) {
			swamp_on_data(c, lt->scratch, (size_t)n);
			if (ltp_stale(c, key) || ((size_t)n < sizeof(lt->scratch) && !hup))
				return;
		} else if (n == 0) {
			swamp_on_eof(c);
			return;
		} else if (errno != EINTR) {
			if (errno != EAGAIN)
				swamp_on_error(c, errno);
			return;
		}
	}
}

static void ltp_event(struct linux_tp *lt, const struct epoll_event *ev)
{
	struct swamp_conn *c = swamp_conn_get(lt->t.core, (uint32_t)(ev->data.u64 >> 32));
	uint64_t key = ev->data.u64;

	if (!c || ltp_stale(c, key))
		return;
	if (c->tp_flags & LTP_CONNECTING) {
		if (ev->events & (EPOLLERR | EPOLLHUP)) {
			swamp_on_error(c, ltp_sock_error(c->tp.fd));
			return;
		}
		if (!(ev->events & EPOLLOUT))
			return;
		c->tp_flags &= (uint8_t)~LTP_CONNECTING;
		swamp_on_connected(c);
	} else if (ev->events & EPOLLOUT) {
		swamp_on_writable(c);
	}
	if (ltp_stale(c, key))
		return;
	if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		ltp_read(lt, c, key, ev->events);
}

static int ltp_wait(struct linux_tp *lt, int64_t timeout_ns)
{
	struct timespec ts = {timeout_ns / 1000000000, timeout_ns % 1000000000};
	int n = -1;

	if (!lt->no_pwait2) {
		n = epoll_pwait2(lt->ep, lt->events, SWAMP_EPOLL_EVENTS, &ts, NULL);
		if (n >= 0 || errno != ENOSYS)
			return n;
		lt->no_pwait2 = true;
	}
	/* Round up: waking early only costs a loop; waking late delays think deadlines. */
	return epoll_wait(lt->ep, lt->events, SWAMP_EPOLL_EVENTS,
			  (int)((timeout_ns + 999999) / 1000000));
}

static int ltp_poll(struct swamp_transport *t, int64_t timeout_ns)
{
	struct linux_tp *lt = ltp(t);
	int n = ltp_wait(lt, timeout_ns);

	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++)
		ltp_event(lt, &lt->events[i]);
	return 0;
}

static void ltp_destroy(struct swamp_transport *t)
{
	struct linux_tp *lt = ltp(t);

	close(lt->ep);
	free(lt);
}

static const struct swamp_transport_ops ltp_ops = {
    .connect = ltp_connect,
    .send = ltp_send,
    .close = ltp_close,
    .poll = ltp_poll,
    .destroy = ltp_destroy,
};

/* Every client holds a socket: make sure the descriptor limit allows it. */
static int ltp_fd_limit(const char *prog, uint32_t conns)
{
	rlim_t need = (rlim_t)conns + 64;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		int err = errno;

		fprintf(stderr, "%s: getrlimit(RLIMIT_NOFILE): %s\n", prog, strerror(err));
		return -err;
	}
	if (rl.rlim_cur >= need)
		return 0;
	rl.rlim_cur = need;
	if (rl.rlim_max < need)
		rl.rlim_max = need; /* only root may raise it */
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		fprintf(stderr,
			"%s: -c %u needs %llu file descriptors, and RLIMIT_NOFILE (ulimit -n) "
			"cannot be raised that far\n",
			prog, conns, (unsigned long long)need);
		return -EMFILE;
	}
	return 0;
}

static int ltp_create(const struct swamp_opts *o, const struct swamp_url *u,
		      struct swamp_transport **out)
{
	struct linux_tp *lt;
	int rc = ltp_fd_limit(swamp_linux_transport.prog, o->conns);

	if (rc)
		return rc;
	lt = calloc(1, sizeof(*lt));
	if (!lt)
		return swamp_no_memory(swamp_linux_transport.prog, o->conns);
	lt->t.ops = &ltp_ops;
	lt->prog = swamp_linux_transport.prog;
	lt->addr = u->addr;
	lt->ep = epoll_create1(EPOLL_CLOEXEC);
	if (lt->ep < 0) {
		rc = -errno;
		fprintf(stderr, "%s: epoll_create1: %s\n", lt->prog, strerror(-rc));
		free(lt);
		return rc;
	}
	*out = &lt->t;
	return 0;
}

const struct swamp_transport_desc swamp_linux_transport = {
    .prog = "sockclient-linux",
    .what = "Linux kernel sockets (non-blocking, edge-triggered epoll)",
    .caps = SWAMP_CAP_RESOLVE,
    .create = ltp_create,
};
