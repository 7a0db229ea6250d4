/* tx.c - strayd's transmit side: buffers, next-hop MAC, token buckets */

/*
 * A reply goes to the next hop toward its destination: the destination itself when it is
 * on-link, else the interface's gateway.  Its MAC comes from arpd's table when the table
 * is published and has the entry; otherwise from the received frame's source address,
 * which is the neighbour that delivered the packet and so can carry the reply back.
 * strayd never sends ARP requests of its own.
 *
 * Buffers are one frame each in a registered region; a buffer is busy while its
 * notification word is nonzero (xokd decrements it after transmission).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "strayd.h"

int tx_init(struct strayd *d)
{
	size_t words = STRAYD_TX_SLOTS * sizeof(uint32_t);
	size_t size = words + (size_t)STRAYD_TX_SLOTS * STRAYD_TX_SLOT_SIZE;
	int err;

	err = exos_region_create(d->sys, size, &d->txr);
	if (err)
		return err;
	d->inflight = d->txr->base;
	d->frames = (uint8_t *)d->txr->base + words;
	return 0;
}

bool tx_allow(struct strayd *d, enum stray_class c)
{
	struct stray_bucket *b = &d->bucket[c];
	uint64_t now;

	if (d->rate <= 0)
		return true;
	now = exos_now_ns();
	b->tokens += (double)(now - b->last_ns) * 1e-9 * d->rate;
	if (b->tokens > d->burst)
		b->tokens = d->burst;
	b->last_ns = now;
	if (b->tokens < 1.0) {
		d->st.rate_limited++;
		return false;
	}
	b->tokens -= 1.0;
	return true;
}

uint8_t *tx_get(struct strayd *d, uint32_t **word)
{
	for (uint32_t k = 0; k < STRAYD_TX_SLOTS; k++) {
		uint32_t i = (d->tx_next + k) % STRAYD_TX_SLOTS;

		if (xok_load_acquire(&d->inflight[i]) == 0) {
			d->tx_next = (i + 1) % STRAYD_TX_SLOTS;
			*word = &d->inflight[i];
			return d->frames + (size_t)i * STRAYD_TX_SLOT_SIZE;
		}
	}
	d->st.tx_errors++;
	return NULL;
}

void tx_try_arp_table(struct strayd *d)
{
	const void *base;
	size_t size;

	if (d->arp)
		return;
	if (exos_table_get(d->sys, XOK_TABLE_ARP, &base, &size) == 0 &&
	    size >= sizeof(struct xok_arp_table)) {
		d->arp = base;
		stray_log(d, 1, "using arpd's ARP table");
	}
}

int tx_send(struct strayd *d, const struct stray_iface *ifc, uint8_t *frame, size_t len,
	    uint32_t *word, uint32_t dst, const uint8_t *src_mac)
{
	struct eth_hdr *eh = (struct eth_hdr *)frame;
	uint32_t hop = dst;
	struct exos_iov iov;
	int err;

	if (((dst ^ ifc->addr) & ifc->mask) && ifc->gateway)
		hop = ifc->gateway;
	if (d->arp && xok_arp_table_find(d->arp, ifc->ifindex, hop, eh->dst, STRAYD_ARP_SPINS) == 0) {
		d->st.arp_hits++;
	} else {
		memcpy(eh->dst, src_mac, ETH_ADDR_LEN);
		d->st.arp_misses++;
	}
	memcpy(eh->src, ifc->mac, ETH_ADDR_LEN);
	eh->type = htons(ETH_TYPE_IPV4);
	if (len < 60) {
		memset(frame + len, 0, 60 - len); /* minimum Ethernet frame */
		len = 60;
	}
	iov.base = frame;
	iov.len = (uint32_t)len;
	__atomic_store_n(word, 1, __ATOMIC_RELAXED);
	err = exos_xmit(d->sys, ifc->ifindex, &iov, 1, word);
	if (err == -EAGAIN) {
		exos_xmit_flush(d->sys);
		err = exos_xmit(d->sys, ifc->ifindex, &iov, 1, word);
	}
	if (err) {
		__atomic_store_n(word, 0, __ATOMIC_RELAXED);
		d->st.tx_errors++;
		stray_log(d, 1, "transmit on %s: %s", ifc->name, strerror(-err));
		return err;
	}
	d->st.tx++;
	return 0;
}
