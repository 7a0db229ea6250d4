/* rx.c - the receive path: AF_XDP rx ring -> DPF metadata -> app packet rings */

/*
 * The generated DPF program has already classified every frame that reaches an AF_XDP
 * socket: it prepended a struct dpf_xdp_meta (matched tree filter id, copy-filter bitmask)
 * to the frame, and copy mode carried both into the UMEM.  xokd never re-parses headers;
 * it strips the prefix, looks up the filter by id and copies the frame into that filter's
 * ring (one copy, as in Xok), then into the ring of each matching copy filter.
 */
#include <string.h>

#include "kern.h"

static void rx_to_filter(struct xokd *x, struct iface *ifc, struct filter *f, const uint8_t *frame,
			 uint32_t len, uint16_t flags, uint64_t rx_ns)
{
	f->hits++;
	f->bytes += len;
	if (!f->ring) {
		ifc->drop_no_filter++;
		return;
	}
	if (ring_publish(f->ring, frame, len, ifc->ifindex, f->id, flags, rx_ns)) {
		ifc->drop_ring_full++;
		return;
	}
	wk_touch(x, f->ring->app);
}

void rx_deliver(struct xokd *x, struct iface *ifc, const uint8_t *frame, uint32_t len,
		const struct dpf_xdp_meta *m, uint64_t rx_ns)
{
	uint64_t mask;
	struct filter *f;

	ifc->rx++;
	ifc->rx_bytes += len;
	if (m->magic != DPF_META_MAGIC || len == 0 || (m->filter_id == 0 && m->copy_mask == 0)) {
		ifc->drop_no_filter++;
		return;
	}
	if (m->filter_id) {
		f = filter_lookup(x, m->filter_id);
		if (f && f->copy_slot < 0)
			rx_to_filter(x, ifc, f, frame, len, 0, rx_ns);
		else
			ifc->drop_no_filter++; /* deleted since the program was generated */
	}
	for (mask = m->copy_mask; mask; mask &= mask - 1) {
		f = x->copy[__builtin_ctzll(mask)];
		if (f)
			rx_to_filter(x, ifc, f, frame, len, XOK_RX_COPY, rx_ns);
	}
}

/* One descriptor: the DPF program's prefix, then the frame as it arrived. */
static void rx_descriptor(struct xokd *x, struct xport *p, uint8_t *data, uint32_t len,
			  uint64_t rx_ns)
{
	struct dpf_xdp_meta m = {0};

	if (len < sizeof(m) || len > XOK_UMEM_FRAME_SIZE) { /* never: the program prepends it */
		p->ifc->rx++;
		p->ifc->drop_no_filter++;
		return;
	}
	memcpy(&m, data, sizeof(m));
	data += sizeof(m);
	len -= (uint32_t)sizeof(m);
	if (impair_rx_on(x))
		impair_rx(x, p->ifc, data, len, &m, rx_ns);
	else
		rx_deliver(x, p->ifc, data, len, &m, rx_ns);
}

void rx_port(struct xokd *x, struct xport *p)
{
	uint64_t addr[XOK_RX_BATCH];
	uint32_t len[XOK_RX_BATCH];
	uint32_t n, i, total = 0;
	uint64_t rx_ns = 0;

	while (total < XOK_RX_BUDGET) {
		n = xport_rx_peek(p, XOK_RX_BATCH, addr, len);
		if (n == 0)
			break;
		if (total == 0)
			rx_ns = now_real_ns();
		for (i = 0; i < n; i++)
			rx_descriptor(x, p, umem_frame(p, addr[i]), len[i], rx_ns);
		xport_rx_done(p, addr, n);
		total += n;
	}
	/* in copy mode transmit completions show up here too */
	if (p->tx_outstanding)
		tx_complete(x, p);
}
