/* socket_udp.c - SOCK_DGRAM sockets over the low-level UDP end-points */
#include <poll.h>
#include <stdlib.h>

#include "socket_int.h"

/*
 * Received datagrams are copied out of the ring into packet buffers (header and payload
 * in one buffer; malloc only for datagrams too large for one) and queued, up to SO_RCVBUF
 * bytes.  ICMP errors about our datagrams become the socket's pending error, reported by
 * the next call (ECONNREFUSED for port unreachable), as Linux does for connected sockets.
 */

#define DGRAM_INLINE (PBUF_SIZE - sizeof(struct sock_dgram))

static void su_on_recv(struct exos_udp *u, const void *data, size_t len, uint32_t addr,
		       uint16_t port, void *arg)
{
	struct exos_sock *so = arg;
	struct exos_stack *s = so->s;
	struct sock_dgram *d;

	(void)u;
	if (so->shut_rd)
		return;
	if (so->udp_connected && (addr != so->raddr || port != so->rport))
		return; /* a connected socket hears only its peer */
	if (so->dq_bytes + len > so->rcvbuf) {
		s->st.udp_drop_full++;
		return;
	}
	if (len <= DGRAM_INLINE) {
		d = pbuf_get(s);
		if (!d) {
			s->st.udp_drop_full++;
			return;
		}
		d->buf = (uint8_t *)(d + 1);
	} else {
		d = malloc(sizeof(*d) + len);
		if (!d) {
			s->st.udp_drop_full++;
			return;
		}
		d->buf = (uint8_t *)(d + 1);
	}
	memcpy(d->buf, data, len);
	d->len = (uint32_t)len;
	d->addr = addr;
	d->port = port;
	d->next = NULL;
	if (so->dq_tail)
		so->dq_tail->next = d;
	else
		so->dq_head = d;
	so->dq_tail = d;
	so->dq_bytes += (uint32_t)len;
}

static void su_on_error(struct exos_udp *u, int err, uint32_t addr, uint16_t port, void *arg)
{
	struct exos_sock *so = arg;

	(void)u;
	if (so->udp_connected && (addr != so->raddr || port != so->rport))
		return;
	so->err = -err;
}

static const struct exos_udp_ops sock_udp_ops = {
	.on_recv = su_on_recv,
	.on_error = su_on_error,
};

static void dgram_free(struct exos_stack *s, struct sock_dgram *d)
{
	if (d->len <= DGRAM_INLINE)
		pbuf_put(s, d);
	else
		free(d);
}

int sock_udp_bind(struct exos_sock *so)
{
	int err = exos_udp_open(so->s, so->laddr, so->lport, &sock_udp_ops, so, &so->udp);

	if (err < 0)
		return err;
	so->lport = exos_udp_local_port(so->udp);
	return 0;
}

int sock_udp_connect(struct exos_sock *so, uint32_t addr, uint16_t port)
{
	if (!so->udp) {
		int err = sock_udp_bind(so);
		if (err < 0)
			return err;
	}
	so->raddr = addr;
	so->rport = port;
	so->udp_connected = true;
	return 0;
}

ssize_t sock_udp_sendto(struct exos_sock *so, const void *buf, size_t len, int flags,
			uint32_t addr, uint16_t port)
{
	int err;

	(void)flags;
	if (so->err) {
		err = so->err;
		so->err = 0;
		return -err;
	}
	if (so->shut_wr)
		return -EPIPE;
	if (!so->udp) {
		err = sock_udp_bind(so);
		if (err < 0)
			return err;
	}
	err = exos_udp_sendto(so->udp, buf, len, addr, port);
	return err < 0 ? err : (ssize_t)len;
}

ssize_t sock_udp_recvfrom(struct exos_sock *so, void *buf, size_t len, int flags,
			  struct sockaddr *from, socklen_t *fromlen)
{
	bool nonblock = so->nonblock || (flags & MSG_DONTWAIT);
	uint64_t deadline = sock_deadline(so, so->rcvtimeo, flags);
	struct sock_dgram *d;
	int err;

	if (!so->udp) {
		err = sock_udp_bind(so); /* Linux autobinds too */
		if (err < 0)
			return err;
	}
	exos_stack_poll(so->s);
	while (!(d = so->dq_head)) {
		if (so->err) {
			err = so->err;
			so->err = 0;
			return -err;
		}
		if (so->shut_rd)
			return 0;
		if (nonblock)
			return -EAGAIN;
		err = stack_block(so->s, deadline);
		if (err == -ETIMEDOUT)
			return -EAGAIN;
		if (err < 0)
			return err;
	}
	size_t n = MIN(len, (size_t)d->len);
	memcpy(buf, d->buf, n);
	sock_fill_addr(from, fromlen, d->addr, d->port);
	if (flags & MSG_TRUNC)
		n = d->len;
	if (!(flags & MSG_PEEK)) {
		so->dq_head = d->next;
		if (!so->dq_head)
			so->dq_tail = NULL;
		so->dq_bytes -= d->len;
		dgram_free(so->s, d);
	}
	return (ssize_t)n;
}

void sock_udp_close(struct exos_sock *so)
{
	struct sock_dgram *d;

	exos_udp_close(so->udp);
	so->udp = NULL;
	while ((d = so->dq_head)) {
		so->dq_head = d->next;
		dgram_free(so->s, d);
	}
	so->dq_tail = NULL;
	so->dq_bytes = 0;
}

short sock_udp_revents(struct exos_sock *so)
{
	short ev = POLLOUT;

	if (so->dq_head)
		ev |= POLLIN;
	if (so->err)
		ev |= POLLERR;
	return ev;
}
