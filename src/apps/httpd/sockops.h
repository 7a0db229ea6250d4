/* sockops.h - the socket calls httpd makes: Linux sockets now, libexos sockets later */
#ifndef XOK_HTTPD_SOCKOPS_H
#define XOK_HTTPD_SOCKOPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/*
 * httpd's whole view of the network. server.c calls nothing else, so the same server runs
 * on Linux kernel sockets (sockops_linux.c: httpd-linux) and on the libOS POSIX-like
 * sockets (sockops_exos.c, on exos_socket/bind/listen/accept/send/recv/close/poll: httpd).
 *
 * Sockets are small non-negative ints ("handles"); every call is non-blocking and returns
 * a count or 0 on success and -errno on failure (-EAGAIN: would block). Readiness is level
 * triggered, like poll(): an event repeats while its condition holds. The SOCK_EV_ values
 * equal POLLIN/POLLOUT/POLLERR/POLLHUP so that poll-based implementations pass them through.
 */

#define SOCK_EV_IN  0x001u
#define SOCK_EV_OUT 0x004u
#define SOCK_EV_ERR 0x008u /* always reported, never requested */
#define SOCK_EV_HUP 0x010u /* always reported, never requested */

struct sock_event {
	uint32_t events;
	void *data; /* as given to sock_poll_add/sock_poll_mod */
};

struct sock_poll;

/* Process-wide setup before any other call (Linux: raise RLIMIT_NOFILE, ignore SIGPIPE;
 * libOS: reach xokd). */
int sock_init(void);

/* After sock_init failed: what the user should check, for the message ("" if nothing). */
const char *sock_init_hint(void);

/* A listening TCP socket on a numeric address ("0.0.0.0", "198.18.0.1", "::") and port;
 * -EDESTADDRREQ if addr is not one. */
int sock_listen(const char *addr, uint16_t port, int backlog);

/* The next pending connection, non-blocking, with Nagle off; -EAGAIN if none. */
int sock_accept(int ls);

/* Bytes read, 0 at end of stream, or -errno. */
ssize_t sock_read(int s, void *buf, size_t len);

/* Gather write; may be short. Never raises SIGPIPE: a closed peer gives -EPIPE. */
ssize_t sock_write(int s, const struct iovec *iov, int iovcnt);

/* Send FIN once queued data is out; reading stays possible. */
int sock_shutdown(int s);

/* Close, dropping s from the poll set it is in. */
int sock_close(int s);

/* A set of sockets to wait on. */
int sock_poll_create(struct sock_poll **out);
void sock_poll_destroy(struct sock_poll *p);
int sock_poll_add(struct sock_poll *p, int s, uint32_t events, void *data);
int sock_poll_mod(struct sock_poll *p, int s, uint32_t events, void *data);

/* Wait up to timeout_ms (-1: forever) for events; returns how many were stored in ev[],
 * 0 on timeout, -EINTR when a signal arrived. */
int sock_poll(struct sock_poll *p, struct sock_event *ev, int max, int timeout_ms);

#endif /* XOK_HTTPD_SOCKOPS_H */
