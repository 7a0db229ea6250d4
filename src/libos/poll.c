/* poll.c - exos_poll: readiness of exos descriptors, sleeping in the stack's wait */
#include <poll.h>

#include "socket_int.h"

static short sock_revents(int fd, short events)
{
	struct exos_sock *so = sock_get(fd);
	short ev;

	if (!so)
		return POLLNVAL;
	ev = so->type == SOCK_STREAM ? sock_tcp_revents(so) : sock_udp_revents(so);
	/* POLLERR, POLLHUP and POLLNVAL are reported whether asked for or not. */
	return ev & (events | POLLERR | POLLHUP | POLLNVAL);
}

EXOS_API int exos_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	struct exos_stack *s = NULL;
	uint64_t deadline = 0;
	int err;

	for (nfds_t i = 0; i < n && !s; i++) {
		struct exos_sock *so = fds[i].fd >= 0 ? sock_get(fds[i].fd) : NULL;
		if (so)
			s = so->s;
	}
	if (s)
		exos_stack_poll(s);
	if (timeout_ms > 0)
		deadline = exos_now_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;
	for (;;) {
		int ready = 0;
		for (nfds_t i = 0; i < n; i++) {
			fds[i].revents = fds[i].fd < 0 ? 0 : sock_revents(fds[i].fd, fds[i].events);
			ready += fds[i].revents != 0;
		}
		if (ready || timeout_ms == 0 || !s)
			return ready;
		err = stack_block(s, deadline);
		if (err == -ETIMEDOUT)
			return 0;
		if (err < 0)
			return sock_errno(err);
	}
}
