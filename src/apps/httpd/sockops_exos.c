/* sockops_exos.c - httpd's socket calls on the libOS's POSIX-like sockets (exos_socket) */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <exos/exos.h>
#include <exos/socket.h>
#include <exos/sys.h>

#include "sockops.h"

/*
 * The paper's "Baseline/Xok" (§5.2): the same server as httpd-linux, on ExOS's default
 * socket library instead of the kernel's. Descriptors are libexos's own; the stack is the
 * default one (exos_stack_default: xokd's socket from $XOK_SOCKET). Readiness comes from
 * exos_poll over the whole set each call — a select()-style scan, as a socket server on
 * this interface has. sock_close() must drop a socket from its set without being told
 * which set, so the (few) sets are kept on a list.
 */

_Static_assert(SOCK_EV_IN == POLLIN && SOCK_EV_OUT == POLLOUT && SOCK_EV_ERR == POLLERR &&
		   SOCK_EV_HUP == POLLHUP,
	       "SOCK_EV_* are the poll(2) bits, which exos_poll uses");

struct sock_poll {
	struct sock_poll *next; /* all sets, for sock_close */
	struct pollfd *fds;
	void **data;
	int n, cap;
	int *slot; /* socket - EXOS_FD_BASE -> index in fds, or -1 */
	int nslot;
	int start; /* where the next scan starts: no socket starves the others */
};

static struct sock_poll *poll_sets;

/* -errno from a POSIX-like call's -1 and errno. */
static int neg_errno(void)
{
	return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

int sock_init(void)
{
	struct exos_stack *s;

	/* Connect to xokd now, so that a missing daemon is reported before serving. */
	return exos_stack_default(&s);
}

const char *sock_init_hint(void)
{
	static char hint[160];

	snprintf(hint, sizeof(hint), " (cannot reach xokd at %s: is xokd running? see $%s)",
		 exos_sys_socket_path(NULL), XOK_SOCKET_ENV);
	return hint;
}

int sock_listen(const char *addr, uint16_t port, int backlog)
{
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct in6_addr a6;
	int one = 1, err, fd;

	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return -EAFNOSUPPORT; /* the libOS speaks IPv4 only */
	if (inet_pton(AF_INET, addr, &a4.sin_addr) != 1)
		return -EDESTADDRREQ;
	fd = exos_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return neg_errno();
	if (exos_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    exos_bind(fd, (struct sockaddr *)&a4, sizeof(a4)) < 0 || exos_listen(fd, backlog) < 0) {
		err = neg_errno();
		exos_close(fd);
		return err;
	}
	return fd;
}

int sock_accept(int ls)
{
	int one = 1, fd;

	do
		fd = exos_accept4(ls, NULL, NULL, SOCK_NONBLOCK);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return neg_errno();
	exos_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

ssize_t sock_read(int s, void *buf, size_t len)
{
	ssize_t n;

	do
		n = exos_recv(s, buf, len, 0);
	while (n < 0 && errno == EINTR);
	return n < 0 ? neg_errno() : n;
}

/* No sendmsg on exos sockets: one send per piece, MSG_MORE on all but the last so that a
 * header and the start of its file still share a segment, as one sendmsg would. */
ssize_t sock_write(int s, const struct iovec *iov, int iovcnt)
{
	ssize_t done = 0;

	for (int i = 0; i < iovcnt; i++) {
		int flags = MSG_NOSIGNAL | (i + 1 < iovcnt ? MSG_MORE : 0);
		ssize_t n;

		do
			n = exos_send(s, iov[i].iov_base, iov[i].iov_len, flags);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return done ? done : neg_errno();
		done += n;
		if ((size_t)n < iov[i].iov_len)
			break;
	}
	return done;
}

int sock_shutdown(int s)
{
	return exos_shutdown(s, SHUT_WR) < 0 ? neg_errno() : 0;
}

static int *slot_of(struct sock_poll *p, int s)
{
	int i = s - EXOS_FD_BASE;

	return i >= 0 && i < p->nslot && p->slot[i] >= 0 ? &p->slot[i] : NULL;
}

static void poll_remove(struct sock_poll *p, int s)
{
	int *sl = slot_of(p, s), i, last;

	if (!sl)
		return;
	i = *sl;
	*sl = -1;
	last = --p->n;
	if (i != last) {
		p->fds[i] = p->fds[last];
		p->data[i] = p->data[last];
		p->slot[p->fds[i].fd - EXOS_FD_BASE] = i;
	}
}

int sock_close(int s)
{
	for (struct sock_poll *p = poll_sets; p; p = p->next)
		poll_remove(p, s);
	return exos_close(s) < 0 ? neg_errno() : 0;
}

int sock_poll_create(struct sock_poll **out)
{
	struct sock_poll *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->next = poll_sets;
	poll_sets = p;
	*out = p;
	return 0;
}

void sock_poll_destroy(struct sock_poll *p)
{
	struct sock_poll **pp = &poll_sets;

	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
	free(p->fds);
	free(p->data);
	free(p->slot);
	free(p);
}

/* Room for one more socket, and a slot map covering s. */
static int poll_grow(struct sock_poll *p, int s)
{
	int i = s - EXOS_FD_BASE;

	if (p->n == p->cap) {
		int cap = p->cap ? p->cap * 2 : 64;
		struct pollfd *fds = realloc(p->fds, (size_t)cap * sizeof(*fds));
		void **data;

		if (!fds)
			return -ENOMEM;
		p->fds = fds;
		data = realloc(p->data, (size_t)cap * sizeof(*data));
		if (!data)
			return -ENOMEM;
		p->data = data;
		p->cap = cap;
	}
	if (i >= p->nslot) {
		int n = i < 32 ? 64 : 2 * i;
		int *slot = realloc(p->slot, (size_t)n * sizeof(*slot));

		if (!slot)
			return -ENOMEM;
		for (int k = p->nslot; k < n; k++)
			slot[k] = -1;
		p->slot = slot;
		p->nslot = n;
	}
	return 0;
}

int sock_poll_add(struct sock_poll *p, int s, uint32_t events, void *data)
{
	int err;

	if (s < EXOS_FD_BASE)
		return -EBADF;
	if (slot_of(p, s))
		return -EEXIST;
	err = poll_grow(p, s);
	if (err)
		return err;
	p->fds[p->n] = (struct pollfd){.fd = s, .events = (short)(events & (POLLIN | POLLOUT))};
	p->data[p->n] = data;
	p->slot[s - EXOS_FD_BASE] = p->n++;
	return 0;
}

int sock_poll_mod(struct sock_poll *p, int s, uint32_t events, void *data)
{
	int *sl = slot_of(p, s);

	if (!sl)
		return -ENOENT;
	p->fds[*sl].events = (short)(events & (POLLIN | POLLOUT));
	p->data[*sl] = data;
	return 0;
}

int sock_poll(struct sock_poll *p, struct sock_event *ev, int max, int timeout_ms)
{
	int ready = exos_poll(p->fds, (nfds_t)p->n, timeout_ms), got = 0;

	if (ready < 0)
		return neg_errno();
	if (p->start >= p->n)
		p->start = 0;
	for (int k = 0; k < p->n && got < max && ready; k++) {
		int i = (p->start + k) % p->n;

		if (!p->fds[i].revents)
			continue;
		ready--;
		ev[got].events = (uint32_t)p->fds[i].revents &
				 (SOCK_EV_IN | SOCK_EV_OUT | SOCK_EV_ERR | SOCK_EV_HUP);
		ev[got].data = p->data[i];
		got++;
	}
	p->start++;
	return got;
}
