/* socket.c - POSIX-like sockets: descriptors, options, and the calls common to TCP and UDP */
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <netinet/tcp.h>
#include <sys/time.h>

#include "socket_int.h"

/*
 * A thin layer over the low-level TCP and UDP end-points, behaving like Linux's calls:
 * -1 and errno, blocking calls that sleep in the stack's wait (which runs its timers and
 * delivers its packets, §3.3 "POSIX Sockets"), O_NONBLOCK.  All descriptors belong to the
 * default stack.  Descriptors are indexes into one table, offset by EXOS_FD_BASE.
 */

static struct exos_sock **fdtab;
static int nfd;

int sock_errno(int err)
{
	errno = err < 0 ? -err : err;
	return -1;
}

struct exos_sock *sock_get(int fd)
{
	int i = fd - EXOS_FD_BASE;

	if (i < 0 || i >= nfd || !fdtab[i]) {
		errno = EBADF;
		return NULL;
	}
	return fdtab[i];
}

static int fd_alloc(struct exos_sock *so)
{
	int i;

	for (i = 0; i < nfd; i++)
		if (!fdtab[i])
			break;
	if (i == nfd) {
		int n = nfd ? nfd * 2 : 64;
		struct exos_sock **t = realloc(fdtab, (size_t)n * sizeof(*t));
		if (!t)
			return -ENOMEM;
		memset(t + nfd, 0, (size_t)(n - nfd) * sizeof(*t));
		fdtab = t;
		nfd = n;
	}
	fdtab[i] = so;
	so->fd = i + EXOS_FD_BASE;
	return so->fd;
}

uint64_t sock_deadline(const struct exos_sock *so, uint64_t timeo, int flags)
{
	(void)so;
	(void)flags;
	return timeo ? exos_now_ns() + timeo : 0;
}

int sock_sockaddr_in(const struct sockaddr *addr, socklen_t len, uint32_t *ip, uint16_t *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;

	if (!addr || len < sizeof(*sin))
		return -EINVAL;
	if (sin->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	*ip = sin->sin_addr.s_addr;
	*port = ntohs(sin->sin_port);
	return 0;
}

void sock_fill_addr(struct sockaddr *addr, socklen_t *len, uint32_t ip, uint16_t port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = ip,
	};

	if (!addr || !len)
		return;
	memcpy(addr, &sin, MIN((size_t)*len, sizeof(sin)));
	*len = sizeof(sin);
}

struct exos_sock *sock_new(struct exos_stack *s, int type)
{
	struct exos_sock *so = calloc(1, sizeof(*so));

	if (!so)
		return NULL;
	so->s = s;
	so->type = type;
	so->rcvbuf = type == SOCK_STREAM ? TCP_RCVBUF_DEFAULT : UDP_RCVBUF_DEFAULT;
	so->sndbuf = TCP_SNDBUF_DEFAULT;
	if (fd_alloc(so) < 0) {
		free(so);
		return NULL;
	}
	s->socks++;
	return so;
}

static void sock_free(struct exos_sock *so)
{
	fdtab[so->fd - EXOS_FD_BASE] = NULL;
	so->s->socks--;
	free(so->accq);
	free(so);
}

EXOS_API int exos_socket(int domain, int type, int protocol)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct exos_stack *s;
	struct exos_sock *so;
	int err;

	if (domain != AF_INET)
		return sock_errno(-EAFNOSUPPORT);
	if (base != SOCK_STREAM && base != SOCK_DGRAM)
		return sock_errno(-ESOCKTNOSUPPORT);
	if (protocol && !(base == SOCK_STREAM && protocol == IPPROTO_TCP) &&
	    !(base == SOCK_DGRAM && protocol == IPPROTO_UDP))
		return sock_errno(-EPROTONOSUPPORT);
	err = exos_stack_default(&s);
	if (err < 0)
		return sock_errno(err);
	so = sock_new(s, base);
	if (!so)
		return sock_errno(-ENOMEM);
	so->nonblock = type & SOCK_NONBLOCK;
	return so->fd;
}

EXOS_API int exos_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct exos_sock *so = sock_get(fd);
	uint32_t ip;
	uint16_t port;
	int err;

	if (!so)
		return -1;
	err = sock_sockaddr_in(addr, len, &ip, &port);
	if (err < 0)
		return sock_errno(err);
	if (so->lport || so->state != SS_NEW || so->udp)
		return sock_errno(-EINVAL);
	if (ip != INADDR_ANY && !stack_is_local(so->s, ip))
		return sock_errno(-EADDRNOTAVAIL);
	so->laddr = ip;
	so->lport = port;
	err = so->type == SOCK_STREAM ? sock_tcp_bind(so) : sock_udp_bind(so);
	if (err < 0) {
		so->laddr = 0;
		so->lport = 0;
		return sock_errno(err);
	}
	return 0;
}

EXOS_API int exos_listen(int fd, int backlog)
{
	struct exos_sock *so = sock_get(fd);

	if (!so)
		return -1;
	if (so->type != SOCK_STREAM)
		return sock_errno(-EOPNOTSUPP);
	int err = sock_tcp_listen(so, backlog);
	return err < 0 ? sock_errno(err) : 0;
}

EXOS_API int exos_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	struct exos_sock *so = sock_get(fd);

	if (!so)
		return -1;
	if (so->type != SOCK_STREAM || so->state != SS_LISTEN)
		return sock_errno(-EINVAL);
	int r = sock_tcp_accept(so, addr, len, flags);
	return r < 0 ? sock_errno(r) : r;
}

EXOS_API int exos_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	return exos_accept4(fd, addr, len, 0);
}

EXOS_API int exos_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct exos_sock *so = sock_get(fd);
	uint32_t ip;
	uint16_t port;
	int err;

	if (!so)
		return -1;
	if (so->type == SOCK_DGRAM && addr && len >= sizeof(sa_family_t) &&
	    addr->sa_family == AF_UNSPEC) {
		so->udp_connected = false; /* dissolve the association */
		so->raddr = 0;
		so->rport = 0;
		return 0;
	}
	err = sock_sockaddr_in(addr, len, &ip, &port);
	if (err < 0)
		return sock_errno(err);
	err = so->type == SOCK_STREAM ? sock_tcp_connect(so, ip, port)
				      : sock_udp_connect(so, ip, port);
	return err < 0 ? sock_errno(err) : 0;
}

EXOS_API ssize_t exos_send(int fd, const void *buf, size_t len, int flags)
{
	return exos_sendto(fd, buf, len, flags, NULL, 0);
}

EXOS_API ssize_t exos_recv(int fd, void *buf, size_t len, int flags)
{
	return exos_recvfrom(fd, buf, len, flags, NULL, NULL);
}

EXOS_API ssize_t exos_sendto(int fd, const void *buf, size_t len, int flags,
			     const struct sockaddr *to, socklen_t tolen)
{
	struct exos_sock *so = sock_get(fd);
	ssize_t r;

	if (!so)
		return -1;
	if (so->type == SOCK_STREAM) {
		if (to)
			return sock_errno(so->state == SS_CONNECTED ? -EISCONN : -EOPNOTSUPP);
		r = sock_tcp_send(so, buf, len, flags);
	} else {
		uint32_t ip = so->raddr;
		uint16_t port = so->rport;
		if (to) {
			int err = sock_sockaddr_in(to, tolen, &ip, &port);
			if (err < 0)
				return sock_errno(err);
		} else if (!so->udp_connected) {
			return sock_errno(-EDESTADDRREQ);
		}
		r = sock_udp_sendto(so, buf, len, flags, ip, port);
	}
	return r < 0 ? sock_errno((int)r) : r;
}

EXOS_API ssize_t exos_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
			       socklen_t *fromlen)
{
	struct exos_sock *so = sock_get(fd);
	ssize_t r;

	if (!so)
		return -1;
	if (so->type == SOCK_STREAM) {
		r = sock_tcp_recv(so, buf, len, flags);
		if (r >= 0 && from)
			sock_fill_addr(from, fromlen, so->raddr, so->rport);
	} else {
		r = sock_udp_recvfrom(so, buf, len, flags, from, fromlen);
	}
	return r < 0 ? sock_errno((int)r) : r;
}

EXOS_API int exos_shutdown(int fd, int how)
{
	struct exos_sock *so = sock_get(fd);

	if (!so)
		return -1;
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return sock_errno(-EINVAL);
	if (so->type == SOCK_DGRAM) {
		so->shut_rd |= how != SHUT_WR;
		so->shut_wr |= how != SHUT_RD;
		return 0;
	}
	int err = sock_tcp_shutdown(so, how);
	return err < 0 ? sock_errno(err) : 0;
}

EXOS_API int exos_close(int fd)
{
	struct exos_sock *so = sock_get(fd);

	if (!so)
		return -1;
	if (so->type == SOCK_STREAM)
		sock_tcp_close(so);
	else
		sock_udp_close(so);
	sock_free(so);
	return 0;
}

void sock_exit_close_all(struct exos_stack *s)
{
	for (int i = 0; i < nfd; i++) {
		struct exos_sock *so = fdtab[i];
		if (!so || so->s != s)
			continue;
		/* Closed as the kernel closes descriptors at exit: no waiting per socket (the
		 * exit hook drains them together, as long as the longest SO_LINGER). */
		if (so->linger_on && so->linger_sec > 0)
			s->linger_sec = MAX(s->linger_sec, (uint32_t)so->linger_sec);
		so->nonblock = true;
		if (so->type == SOCK_STREAM && so->state == SS_LISTEN) {
			/* The listener stays, detached: it delivers its connections until the
			 * hand-off, which takes its filter along (closing it now would give
			 * every live connection a filter of its own: a rebuild in xokd each). */
			sock_tcp_detach_listener(so);
			sock_free(so);
			continue;
		}
		exos_close(so->fd);
	}
}

static int opt_int(const void *val, socklen_t len, int *out)
{
	if (!val || len < sizeof(int))
		return -EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

static uint64_t tv_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * NSEC_PER_SEC + (uint64_t)tv->tv_usec * NSEC_PER_USEC;
}

EXOS_API int exos_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct exos_sock *so = sock_get(fd);
	int v = 0;

	if (!so)
		return -1;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_REUSEADDR:
		case SO_KEEPALIVE:
		case SO_RCVBUF:
		case SO_SNDBUF:
			if (opt_int(val, len, &v) < 0)
				return sock_errno(-EINVAL);
			if (name == SO_REUSEADDR)
				so->reuseaddr = v;
			else if (name == SO_KEEPALIVE)
				so->keepalive = v;
			else if (name == SO_RCVBUF) /* Linux doubles it for bookkeeping */
				so->rcvbuf = (uint32_t)MIN(MAX(v, 1024) * 2ll, 1ll << 30);
			else
				so->sndbuf = (uint32_t)MIN(MAX(v, 1024) * 2ll, 1ll << 30);
			break;
		case SO_LINGER: {
			struct linger l;
			if (!val || len < sizeof(l))
				return sock_errno(-EINVAL);
			memcpy(&l, val, sizeof(l));
			so->linger_on = l.l_onoff;
			so->linger_sec = l.l_linger;
			break;
		}
		case SO_RCVTIMEO:
		case SO_SNDTIMEO: {
			struct timeval tv;
			if (!val || len < sizeof(tv))
				return sock_errno(-EINVAL);
			memcpy(&tv, val, sizeof(tv));
			if (name == SO_RCVTIMEO)
				so->rcvtimeo = tv_ns(&tv);
			else
				so->sndtimeo = tv_ns(&tv);
			break;
		}
		default:
			return sock_errno(-ENOPROTOOPT);
		}
	} else if (level == IPPROTO_TCP && so->type == SOCK_STREAM) {
		if (opt_int(val, len, &v) < 0)
			return sock_errno(-EINVAL);
		switch (name) {
		case TCP_NODELAY:
			so->nodelay = v;
			break;
		case TCP_QUICKACK:
			so->quickack = v;
			break;
		case TCP_MAXSEG:
			break; /* accepted, ignored: the MSS follows the MTU */
		default:
			return sock_errno(-ENOPROTOOPT);
		}
	} else {
		return sock_errno(-ENOPROTOOPT);
	}
	if (so->type == SOCK_STREAM)
		sock_tcp_apply_opts(so);
	return 0;
}

static int put_int(void *val, socklen_t *len, int v)
{
	if (!val || !len || *len < sizeof(int))
		return -EINVAL;
	memcpy(val, &v, sizeof(v));
	*len = sizeof(v);
	return 0;
}

EXOS_API int exos_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	struct exos_sock *so = sock_get(fd);
	int err = 0;

	if (!so)
		return -1;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ERROR:
			err = put_int(val, len, so->err);
			if (!err)
				so->err = 0;
			break;
		case SO_TYPE:
			err = put_int(val, len, so->type);
			break;
		case SO_REUSEADDR:
			err = put_int(val, len, so->reuseaddr);
			break;
		case SO_KEEPALIVE:
			err = put_int(val, len, so->keepalive);
			break;
		case SO_RCVBUF:
			err = put_int(val, len, (int)so->rcvbuf);
			break;
		case SO_SNDBUF:
			err = put_int(val, len, (int)so->sndbuf);
			break;
		case SO_ACCEPTCONN:
			err = put_int(val, len, so->state == SS_LISTEN);
			break;
		case SO_LINGER: {
			struct linger l = {so->linger_on, so->linger_sec};
			if (!val || !len || *len < sizeof(l))
				return sock_errno(-EINVAL);
			memcpy(val, &l, sizeof(l));
			*len = sizeof(l);
			break;
		}
		default:
			return sock_errno(-ENOPROTOOPT);
		}
	} else if (level == IPPROTO_TCP && so->type == SOCK_STREAM) {
		switch (name) {
		case TCP_NODELAY:
			err = put_int(val, len, so->nodelay);
			break;
		case TCP_QUICKACK:
			err = put_int(val, len, so->quickack);
			break;
		case TCP_MAXSEG:
			err = put_int(val, len, so->tcp ? (int)exos_tcp_mss(so->tcp) : TCP_MSS_NOOPT);
			break;
		default:
			return sock_errno(-ENOPROTOOPT);
		}
	} else {
		return sock_errno(-ENOPROTOOPT);
	}
	return err < 0 ? sock_errno(err) : 0;
}

EXOS_API int exos_getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct exos_sock *so = sock_get(fd);

	if (!so)
		return -1;
	if (!addr || !len)
		return sock_errno(-EFAULT);
	sock_fill_addr(addr, len, so->laddr, so->lport);
	return 0;
}

EXOS_API int exos_getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct exos_sock *so = sock_get(fd);

	if (!so)
		return -1;
	if (!addr || !len)
		return sock_errno(-EFAULT);
	if ((so->type == SOCK_STREAM && so->state != SS_CONNECTED) ||
	    (so->type == SOCK_DGRAM && !so->udp_connected))
		return sock_errno(-ENOTCONN);
	sock_fill_addr(addr, len, so->raddr, so->rport);
	return 0;
}

EXOS_API int exos_fcntl(int fd, int cmd, ...)
{
	struct exos_sock *so = sock_get(fd);
	va_list ap;
	int arg;

	if (!so)
		return -1;
	switch (cmd) {
	case F_GETFL:
		return O_RDWR | (so->nonblock ? O_NONBLOCK : 0);
	case F_SETFL:
		va_start(ap, cmd);
		arg = va_arg(ap, int);
		va_end(ap);
		so->nonblock = arg & O_NONBLOCK;
		return 0;
	case F_GETFD:
	case F_SETFD:
		return 0;
	default:
		return sock_errno(-EINVAL);
	}
}
