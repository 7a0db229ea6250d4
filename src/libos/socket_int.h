/* socket_int.h - the POSIX-like socket layer's private internals */
#ifndef EXOS_SOCKET_INT_H
#define EXOS_SOCKET_INT_H

#include <netinet/in.h>
#include <exos/socket.h>
#include <exos/tcp.h>
#include <exos/udp.h>

#include "tcp_int.h"

/* A received datagram kept for recvfrom. */
struct sock_dgram {
	struct sock_dgram *next;
	uint32_t addr; /* network order */
	uint16_t port; /* host order */
	uint32_t len;
	uint8_t *buf; /* a packet buffer, or malloc'd when larger */
};

enum sock_state {
	SS_NEW = 0,
	SS_LISTEN,
	SS_CONNECTING,
	SS_CONNECTED,
	SS_CLOSED, /* the connection is gone (reset, timed out, closed) */
};

struct exos_sock {
	struct exos_stack *s;
	int fd;
	int type; /* SOCK_STREAM, SOCK_DGRAM */
	enum sock_state state;
	bool nonblock, reuseaddr, nodelay, keepalive, quickack;
	bool shut_rd, shut_wr;
	bool linger_on;
	int linger_sec;
	int err; /* pending error (SO_ERROR), positive errno */
	uint32_t laddr, raddr; /* network order */
	uint16_t lport, rport; /* host order */
	uint32_t rcvbuf, sndbuf;
	uint64_t rcvtimeo, sndtimeo; /* ns, 0 = none */
	int backlog;

	/* TCP */
	struct exos_tcp *tcp; /* the connection or the listener */
	struct exos_tcp **accq; /* listener: established, not yet accepted */
	uint32_t naccq, accq_cap;

	/* UDP */
	struct exos_udp *udp;
	struct sock_dgram *dq_head, *dq_tail;
	uint32_t dq_bytes;
	bool udp_connected;
};

/* ---- socket.c ---- */
struct exos_sock *sock_get(int fd); /* NULL and errno EBADF */
struct exos_sock *sock_new(struct exos_stack *s, int type);
int sock_errno(int err);	     /* -1 with errno = -err */
uint64_t sock_deadline(const struct exos_sock *so, uint64_t timeo, int flags);
int sock_sockaddr_in(const struct sockaddr *addr, socklen_t len, uint32_t *ip, uint16_t *port);
void sock_fill_addr(struct sockaddr *addr, socklen_t *len, uint32_t ip, uint16_t port);
/* Process exit: closes every descriptor of stack s (exit.c). */
void sock_exit_close_all(struct exos_stack *s);

/* ---- socket_tcp.c ---- */
int sock_tcp_bind(struct exos_sock *so);
int sock_tcp_listen(struct exos_sock *so, int backlog);
int sock_tcp_accept(struct exos_sock *so, struct sockaddr *addr, socklen_t *len, int flags);
int sock_tcp_connect(struct exos_sock *so, uint32_t addr, uint16_t port);
ssize_t sock_tcp_send(struct exos_sock *so, const void *buf, size_t len, int flags);
ssize_t sock_tcp_recv(struct exos_sock *so, void *buf, size_t len, int flags);
int sock_tcp_shutdown(struct exos_sock *so, int how);
void sock_tcp_close(struct exos_sock *so);
/* Process exit: resets what waits for accept(), leaves the listener to the exit hook. */
void sock_tcp_detach_listener(struct exos_sock *so);
short sock_tcp_revents(struct exos_sock *so);
void sock_tcp_apply_opts(struct exos_sock *so);

/* ---- socket_udp.c ---- */
int sock_udp_bind(struct exos_sock *so);
int sock_udp_connect(struct exos_sock *so, uint32_t addr, uint16_t port);
ssize_t sock_udp_sendto(struct exos_sock *so, const void *buf, size_t len, int flags,
			uint32_t addr, uint16_t port);
ssize_t sock_udp_recvfrom(struct exos_sock *so, void *buf, size_t len, int flags,
			  struct sockaddr *from, socklen_t *fromlen);
void sock_udp_close(struct exos_sock *so);
short sock_udp_revents(struct exos_sock *so);

#endif /* EXOS_SOCKET_INT_H */
