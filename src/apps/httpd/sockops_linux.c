/* sockops_linux.c - httpd's socket calls on Linux kernel sockets and epoll */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockops.h"

_Static_assert(SOCK_EV_IN == EPOLLIN && SOCK_EV_OUT == EPOLLOUT && SOCK_EV_ERR == EPOLLERR &&
		   SOCK_EV_HUP == EPOLLHUP,
	       "SOCK_EV_* are the poll(2) bits, which epoll shares");

struct sock_poll {
	int epfd;
	struct epoll_event evs[256];
};

int sock_init(void)
{
	struct rlimit rl;

	/* Writes to a reset peer must fail with EPIPE, not kill the server. */
	signal(SIGPIPE, SIG_IGN);
	/* One descriptor per connection: wrk -c 500 and more must not hit EMFILE. */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -errno;
	}
	return 0;
}

const char *sock_init_hint(void)
{
	return "";
}

int sock_listen(const char *addr, uint16_t port, int backlog)
{
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct sockaddr *sa = (struct sockaddr *)&a4;
	socklen_t salen = sizeof(a4);
	int one = 1, err, fd;

	/* inet_pton, not getaddrinfo: "1.2.3" is a typo here, not 1.2.0.3. */
	if (inet_pton(AF_INET6, addr, &a6.sin6_addr) == 1) {
		sa = (struct sockaddr *)&a6;
		salen = sizeof(a6);
	} else if (inet_pton(AF_INET, addr, &a4.sin_addr) != 1) {
		return -EDESTADDRREQ;
	}
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Restarting right after a run must not wait for TIME_WAIT to drain. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, sa, salen) < 0 || listen(fd, backlog) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int sock_accept(int ls)
{
	int one = 1, fd;

	do
		fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	/* Responses leave in one gather write; Nagle would only delay pipelined ones. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

ssize_t sock_read(int s, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(s, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

ssize_t sock_write(int s, const struct iovec *iov, int iovcnt)
{
	struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
	ssize_t n;

	do
		n = sendmsg(s, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

int sock_shutdown(int s)
{
	return shutdown(s, SHUT_WR) < 0 ? -errno : 0;
}

int sock_close(int s)
{
	/* The kernel drops a closed descriptor from every epoll set by itself. */
	return close(s) < 0 ? -errno : 0;
}

int sock_poll_create(struct sock_poll **out)
{
	struct sock_poll *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0) {
		int err = -errno;

		free(p);
		return err;
	}
	*out = p;
	return 0;
}

void sock_poll_destroy(struct sock_poll *p)
{
	close(p->epfd);
	free(p);
}

static int poll_ctl(struct sock_poll *p, int op, int s, uint32_t events, void *data)
{
	struct epoll_event ev = {.data.ptr = data};

	/* SOCK_EV_IN/OUT are POLLIN/POLLOUT, which equal EPOLLIN/EPOLLOUT. */
	ev.events = events & (EPOLLIN | EPOLLOUT);
	return epoll_ctl(p->epfd, op, s, &ev) < 0 ? -errno : 0;
}

int sock_poll_add(struct sock_poll *p, int s, uint32_t events, void *data)
{
	return poll_ctl(p, EPOLL_CTL_ADD, s, events, data);
}

int sock_poll_mod(struct sock_poll *p, int s, uint32_t events, void *data)
{
	return poll_ctl(p, EPOLL_CTL_MOD, s, events, data);
}

int sock_poll(struct sock_poll *p, struct sock_event *ev, int max, int timeout_ms)
{
	int n;

	if (max > (int)(sizeof(p->evs) / sizeof(p->evs[0])))
		max = (int)(sizeof(p->evs) / sizeof(p->evs[0]));
	n = epoll_wait(p->epfd, p->evs, max, timeout_ms);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		ev[i].events = p->evs[i].events & (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP);
		ev[i].data = p->evs[i].data.ptr;
	}
	return n;
}
