/* xsk.c - AF_XDP sockets through libxdp's xsk API (its XDP program load inhibited) */

/*
 * libxdp 1.3.1 cannot load its dispatcher on this kernel, so xokd attaches its own entry
 * program with libbpf (iface.c) and uses libxdp only for the socket and ring plumbing:
 * xsk_socket__create() with XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD, then our own XSKMAP
 * insert.  Sockets bind in copy mode (veth has no zero-copy) with need-wakeup.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <linux/if_xdp.h>
#include <xdp/xsk.h>

#include "kern.h"

struct xport_rings {
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
};

#define R(p) ((struct xport_rings *)(p)->rings)

static int xport_alloc(struct iface *ifc, uint32_t queue, bool fake, struct xport **out)
{
	struct xport *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	p->ifc = ifc;
	p->queue = queue;
	p->fake = fake;
	p->ev.kind = EV_XSK;
	p->ev.obj = p;
	p->rings = calloc(1, sizeof(struct xport_rings));
	if (fake)
		p->fake_comp = calloc(XOK_UMEM_FRAMES, sizeof(*p->fake_comp));
	if (!p->rings || (fake && !p->fake_comp)) {
		err = -ENOMEM;
		goto fail;
	}
	err = umem_create(p);
	if (err)
		goto fail;
	*out = p;
	return 0;
fail:
	umem_destroy(p);
	free(p->fake_comp);
	free(p->rings);
	free(p);
	return err;
}

int xport_fake(struct iface *ifc, uint32_t queue, struct xport **out)
{
	return xport_alloc(ifc, queue, true, out);
}

int xport_open(struct xokd *x, struct iface *ifc, uint32_t queue, struct xport **out)
{
	struct xsk_umem_config ucfg = {
	    .fill_size = XOK_XSK_FILL_SIZE,
	    .comp_size = XOK_XSK_COMP_SIZE,
	    .frame_size = XOK_UMEM_FRAME_SIZE,
	    .frame_headroom = XOK_UMEM_HEADROOM,
	};
	struct xsk_socket_config scfg = {
	    .rx_size = XOK_XSK_RX_SIZE,
	    .tx_size = XOK_XSK_TX_SIZE,
	    .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
	    .bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP,
	};
	struct xport *p;
	uint64_t addr[XOK_UMEM_RX_FRAMES];
	uint32_t i;
	int err;

	err = xport_alloc(ifc, queue, false, &p);
	if (err)
		return err;
	err = xsk_umem__create(&p->umem, p->area, p->area_size, &R(p)->fill, &R(p)->comp, &ucfg);
	if (err) {
		xlog("xsk", "%s: UMEM registration failed: %s", ifc->name, strerror(-err));
		goto fail;
	}
	/* a previous owner of the queue (an xokd that just exited) may still be releasing it */
	for (i = 0; i < 40; i++) {
		err = xsk_socket__create(&p->xsk, ifc->name, queue, p->umem, &R(p)->rx, &R(p)->tx,
					 &scfg);
		if (err != -EBUSY)
			break;
		usleep(50000);
	}
	if (err) {
		xlog("xsk", "%s queue %u: AF_XDP socket failed: %s", ifc->name, queue,
		     strerror(-err));
		goto fail;
	}
	err = xsk_socket__update_xskmap(p->xsk, iface_xskmap_fd(ifc));
	if (err) {
		xlog("xsk", "%s queue %u: XSKMAP insert failed: %s", ifc->name, queue,
		     strerror(-err));
		goto fail;
	}
	for (i = 0; i < XOK_UMEM_RX_FRAMES; i++)
		addr[i] = (uint64_t)i * XOK_UMEM_FRAME_SIZE;
	xport_rx_done(p, addr, XOK_UMEM_RX_FRAMES);
	err = loop_add(x, xsk_socket__fd(p->xsk), EPOLLIN, &p->ev);
	if (err)
		goto fail;
	*out = p;
	return 0;
fail:
	xport_close(x, p);
	return err;
}

void xport_close(struct xokd *x, struct xport *p)
{
	if (p->xsk) {
		loop_del(x, xsk_socket__fd(p->xsk));
		xsk_socket__delete(p->xsk);
	}
	if (p->umem)
		xsk_umem__delete(p->umem);
	umem_destroy(p);
	free(p->fake_comp);
	free(p->rings);
	free(p);
}

void xport_fail(struct xokd *x, struct xport *p)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (p->dead || !p->xsk)
		return;
	getsockopt(xsk_socket__fd(p->xsk), SOL_SOCKET, SO_ERROR, &err, &len);
	xlog("xsk", "%s queue %u: socket error (%s): the device went away? no longer polled",
	     p->ifc->name, p->queue, strerror(err));
	loop_del(x, xsk_socket__fd(p->xsk));
	p->dead = true;
}

int xport_fd(const struct xport *p)
{
	return p->xsk ? xsk_socket__fd(p->xsk) : -1;
}

uint32_t xport_rx_peek(struct xport *p, uint32_t n, uint64_t *addr, uint32_t *len)
{
	uint32_t idx, got, i;

	if (p->fake)
		return 0;
	got = xsk_ring_cons__peek(&R(p)->rx, n, &idx);
	for (i = 0; i < got; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&R(p)->rx, idx + i);

		addr[i] = d->addr;
		len[i] = d->len;
	}
	if (got)
		xsk_ring_cons__release(&R(p)->rx, got);
	return got;
}

void xport_rx_done(struct xport *p, const uint64_t *addr, uint32_t n)
{
	uint32_t idx, i;

	if (p->fake || n == 0)
		return;
	/* the fill ring holds every rx frame, so this cannot fail */
	if (xsk_ring_prod__reserve(&R(p)->fill, n, &idx) != n) {
		xlog("xsk", "%s: fill ring full, %u frames lost", p->ifc->name, n);
		return;
	}
	for (i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&R(p)->fill, idx + i) =
		    addr[i] & ~(uint64_t)(XOK_UMEM_FRAME_SIZE - 1);
	xsk_ring_prod__submit(&R(p)->fill, n);
	if (xsk_ring_prod__needs_wakeup(&R(p)->fill))
		recvfrom(xsk_socket__fd(p->xsk), NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

int xport_tx_submit(struct xport *p, uint64_t addr, uint32_t len)
{
	struct xdp_desc *d;
	uint32_t idx;

	if (p->fake) {
		p->fake_comp[p->nfake_comp++] = addr;
		p->tx_outstanding++;
		return 0;
	}
	if (xsk_ring_prod__reserve(&R(p)->tx, 1, &idx) != 1)
		return -EAGAIN;
	d = xsk_ring_prod__tx_desc(&R(p)->tx, idx);
	d->addr = addr;
	d->len = len;
	d->options = 0;
	xsk_ring_prod__submit(&R(p)->tx, 1);
	p->tx_outstanding++;
	return 0;
}

void xport_tx_kick(struct xport *p)
{
	int i;

	if (p->fake || p->tx_outstanding == 0)
		return;
	/* copy mode only transmits from sendto(), and a bounded batch per call */
	for (i = 0; i < 64; i++) {
		if (sendto(xsk_socket__fd(p->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			break;
		if (errno != EAGAIN && errno != EBUSY)
			break;
		if (xsk_cons_nb_avail(&R(p)->comp, 1) > 0)
			break; /* completions to reap first */
	}
}

void xport_tx_drain(struct xport *p)
{
	struct xsk_ring_prod *tx = &R(p)->tx;
	int i;

	if (p->fake || p->tx_outstanding == 0)
		return;
	for (i = 0; i < 64 && __atomic_load_n(tx->consumer, __ATOMIC_ACQUIRE) != tx->cached_prod;
	     i++) {
		if (sendto(xsk_socket__fd(p->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 &&
		    errno != EAGAIN && errno != EBUSY)
			break;
	}
}

uint32_t xport_comp_take(struct xport *p, uint64_t *addr, uint32_t n)
{
	uint32_t idx, got, i;

	if (p->fake) {
		got = p->nfake_comp < n ? p->nfake_comp : n;
		for (i = 0; i < got; i++)
			addr[i] = p->fake_comp[i];
		memmove(p->fake_comp, p->fake_comp + got,
			(p->nfake_comp - got) * sizeof(*p->fake_comp));
		p->nfake_comp -= got;
		return got;
	}
	got = xsk_ring_cons__peek(&R(p)->comp, n, &idx);
	for (i = 0; i < got; i++)
		addr[i] = *xsk_ring_cons__comp_addr(&R(p)->comp, idx + i);
	if (got)
		xsk_ring_cons__release(&R(p)->comp, got);
	return got;
}

uint64_t xport_kernel_drops(const struct xport *p)
{
	struct xdp_statistics st;
	socklen_t len = sizeof(st);

	if (!p->xsk || getsockopt(xsk_socket__fd(p->xsk), SOL_XDP, XDP_STATISTICS, &st, &len) < 0)
		return 0;
	return st.rx_dropped + st.rx_ring_full;
}
