/* socket.h - libexos POSIX-like sockets over the default stack */
#ifndef EXOS_SOCKET_H
#define EXOS_SOCKET_H

/*
 * The Berkeley socket calls, prefixed exos_, over exos_stack_default().  They behave like
 * Linux's: they return -1 and set errno, blocking calls sleep in the stack's wait (running
 * its timers), O_NONBLOCK/SOCK_NONBLOCK sockets return EAGAIN/EINPROGRESS.  Descriptors
 * are libexos's own (starting at EXOS_FD_BASE), not kernel file descriptors.
 *
 * Supported: AF_INET; SOCK_STREAM and SOCK_DGRAM (| SOCK_NONBLOCK); SOL_SOCKET SO_REUSEADDR,
 * SO_RCVBUF, SO_SNDBUF, SO_LINGER, SO_ERROR, SO_TYPE, SO_KEEPALIVE, SO_RCVTIMEO,
 * SO_SNDTIMEO; IPPROTO_TCP TCP_NODELAY, TCP_MAXSEG (get); MSG_DONTWAIT, MSG_PEEK,
 * MSG_WAITALL, MSG_NOSIGNAL (always: no SIGPIPE is ever raised).
 */

#include <stddef.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <exos/exos.h>

#define EXOS_FD_BASE 3

EXOS_API int exos_socket(int domain, int type, int protocol);
EXOS_API int exos_bind(int fd, const struct sockaddr *addr, socklen_t len);
EXOS_API int exos_listen(int fd, int backlog);
EXOS_API int exos_accept(int fd, struct sockaddr *addr, socklen_t *len);
EXOS_API int exos_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
EXOS_API int exos_connect(int fd, const struct sockaddr *addr, socklen_t len);
EXOS_API ssize_t exos_send(int fd, const void *buf, size_t len, int flags);
EXOS_API ssize_t exos_recv(int fd, void *buf, size_t len, int flags);
EXOS_API ssize_t exos_sendto(int fd, const void *buf, size_t len, int flags,
			     const struct sockaddr *to, socklen_t tolen);
EXOS_API ssize_t exos_recvfrom(int fd, void *buf, size_t len, int flags,
			       struct sockaddr *from, socklen_t *fromlen);
EXOS_API int exos_shutdown(int fd, int how);
EXOS_API int exos_close(int fd);
EXOS_API int exos_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
EXOS_API int exos_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
EXOS_API int exos_getsockname(int fd, struct sockaddr *addr, socklen_t *len);
EXOS_API int exos_getpeername(int fd, struct sockaddr *addr, socklen_t *len);
/* F_GETFL / F_SETFL (O_NONBLOCK only). */
EXOS_API int exos_fcntl(int fd, int cmd, ... /* int arg */);
/* POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP, POLLNVAL on exos descriptors. */
EXOS_API int exos_poll(struct pollfd *fds, nfds_t n, int timeout_ms);

#endif /* EXOS_SOCKET_H */
