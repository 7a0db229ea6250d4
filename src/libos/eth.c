/* eth.c - Ethernet II: input demultiplexing by type, frame transmission through xokd */
#include "libos.h"

static const uint8_t eth_bcast[ETH_ADDR_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

void eth_fill(uint8_t *hdr, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	struct eth_hdr *eh = (struct eth_hdr *)hdr;

	memcpy(eh->dst, dst, ETH_ADDR_LEN);
	memcpy(eh->src, src, ETH_ADDR_LEN);
	eh->type = htons(type);
}

void eth_input(struct exos_stack *s, const struct xok_ring_entry *e, uint8_t *frame,
	       size_t len)
{
	const struct eth_hdr *eh = (const struct eth_hdr *)frame;
	const struct exos_iface *ifc = stack_iface_by_index(s, e->ifindex);

	if (unlikely(len < ETH_HDR_LEN || !ifc)) {
		s->st.rx_drop_badeth++;
		return;
	}
	if (memcmp(eh->dst, ifc->mac, ETH_ADDR_LEN) && memcmp(eh->dst, eth_bcast, ETH_ADDR_LEN)) {
		s->st.rx_drop_notours++;
		return;
	}
	switch (ntohs(eh->type)) {
	case ETH_TYPE_IPV4:
		ip_input(s, ifc, frame + ETH_HDR_LEN, len - ETH_HDR_LEN);
		break;
	default:
		/* ARP belongs to arpd; VLANs and the rest are not ours. */
		s->st.rx_drop_noproto++;
		break;
	}
}

static int eth_queue(struct exos_stack *s, const struct exos_iface *ifc,
		     const struct exos_iov *iov, int n, uint32_t *notify, uint16_t gso_size)
{
	return gso_size ? exos_xmit_gso(s->sys, ifc->ifindex, iov, n, notify, gso_size)
			: exos_xmit(s->sys, ifc->ifindex, iov, n, notify);
}

int eth_xmit(struct exos_stack *s, const struct exos_iface *ifc, struct txb *t,
	     const struct exos_iov *data, int ndata)
{
	return eth_xmit_gso(s, ifc, t, data, ndata, 0);
}

int eth_xmit_gso(struct exos_stack *s, const struct exos_iface *ifc, struct txb *t,
		 const struct exos_iov *data, int ndata, uint16_t gso_size)
{
	struct exos_iov iov[XOK_XMIT_PIECES];
	uint32_t len = t->hdr_len;
	int err;

	if (ndata + 1 > XOK_XMIT_PIECES) {
		txb_release(s, t);
		return -EINVAL;
	}
	iov[0].base = t->hdr;
	iov[0].len = t->hdr_len;
	for (int i = 0; i < ndata; i++) {
		iov[i + 1] = data[i];
		len += data[i].len;
	}
	t->notify = 1;
	err = eth_queue(s, ifc, iov, ndata + 1, &t->notify, gso_size);
	if (err == -EAGAIN) {
		/* xokd's queue is full: kick it and try once more. */
		exos_xmit_flush(s->sys);
		err = eth_queue(s, ifc, iov, ndata + 1, &t->notify, gso_size);
	}
	if (err < 0) {
		if (err == -EAGAIN) {
			s->tx_blocked = true;
			s->st.tx_again++;
		} else {
			s->st.tx_errors++;
		}
		txb_release(s, t);
		return err;
	}
	s->tx_blocked = false;
	s->tx_dirty = true;
	s->st.tx_frames++;
	s->st.tx_bytes += len;
	if (s->tx_tail)
		s->tx_tail->next = t;
	else
		s->tx_head = t;
	s->tx_tail = t;
	s->tx_inflight++;
	return 0;
}
