/* arp.c - arpd's ARP protocol: the RFC 826 receive path and the frames arpd transmits */

/*
 * Receive (RFC 826 "Packet Reception", plus the usual sanity checks): a frame for an
 * interface xokd does not own, of another hardware or protocol type, from a multicast or
 * zero MAC, or claiming one of our own addresses is ignored (the last one is logged as an
 * address conflict).  Otherwise, if the sender is already in the table its MAC is updated
 * (the merge rule: this is how gratuitous ARP and requests for other hosts refresh entries);
 * if the frame is addressed to us (target protocol address is the interface's), the sender
 * is added when it was not merged and it is on-link (or the gateway); and a request
 * addressed to us is answered with a unicast reply.  Requests with sender address 0 (RFC
 * 5227 probes) teach nothing but are answered, so that a host probing our address learns
 * it is taken.
 *
 * Transmit: frames are built in a small pool of registered buffers, one frame each; a
 * buffer is busy while its notification word is nonzero (xokd decrements it when the
 * frame has left), so no buffer is reused under xokd's gather.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "arpd.h"

static const uint8_t eth_bcast[ETH_ADDR_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

int arp_tx_init(struct arpd *d)
{
	size_t words = ARPD_TX_SLOTS * sizeof(uint32_t);
	size_t size = words + ARPD_TX_SLOTS * ARPD_TX_SLOT_SIZE;
	int err;

	err = exos_region_create(d->sys, size, &d->tx.region);
	if (err)
		return err;
	d->tx.inflight = d->tx.region->base;
	d->tx.frames = (uint8_t *)d->tx.region->base + words;
	d->tx.next = 0;
	return 0;
}

/* A free transmit buffer, or NULL when every one is still with xokd. */
static uint8_t *tx_get(struct arpd *d, uint32_t **word)
{
	for (uint32_t k = 0; k < ARPD_TX_SLOTS; k++) {
		uint32_t i = (d->tx.next + k) % ARPD_TX_SLOTS;

		if (xok_load_acquire(&d->tx.inflight[i]) == 0) {
			d->tx.next = (i + 1) % ARPD_TX_SLOTS;
			*word = &d->tx.inflight[i];
			return d->tx.frames + (size_t)i * ARPD_TX_SLOT_SIZE;
		}
	}
	return NULL;
}

static int tx_send(struct arpd *d, uint32_t ifindex, const uint8_t *frame, uint32_t *word)
{
	struct exos_iov iov = {.base = frame, .len = 60}; /* minimum frame, zero padded */
	int err;

	__atomic_store_n(word, 1, __ATOMIC_RELAXED);
	err = exos_xmit(d->sys, ifindex, &iov, 1, word);
	if (err == -EAGAIN) {
		exos_xmit_flush(d->sys);
		err = exos_xmit(d->sys, ifindex, &iov, 1, word);
	}
	if (err) {
		__atomic_store_n(word, 0, __ATOMIC_RELAXED);
		d->st.tx_errors++;
		arpd_log(d, 1, "transmit on ifindex %u: %s", ifindex, strerror(-err));
		return err;
	}
	d->st.tx++;
	return 0;
}

/* Builds and sends one ARP frame. */
static int arp_xmit(struct arpd *d, const struct arpd_iface *ifc, const uint8_t *eth_dst,
		    uint16_t op, const uint8_t *tha, uint32_t tpa, uint32_t spa)
{
	struct eth_hdr *eh;
	struct arp_hdr *ah;
	uint32_t *word;
	uint8_t *f = tx_get(d, &word);

	if (!f) {
		d->st.tx_errors++;
		return -ENOBUFS;
	}
	memset(f, 0, ARPD_TX_SLOT_SIZE);
	eh = (struct eth_hdr *)f;
	memcpy(eh->dst, eth_dst, ETH_ADDR_LEN);
	memcpy(eh->src, ifc->mac, ETH_ADDR_LEN);
	eh->type = htons(ETH_TYPE_ARP);
	ah = (struct arp_hdr *)(f + ETH_HDR_LEN);
	ah->htype = htons(ARP_HTYPE_ETHER);
	ah->ptype = htons(ETH_TYPE_IPV4);
	ah->hlen = ETH_ADDR_LEN;
	ah->plen = 4;
	ah->op = htons(op);
	memcpy(ah->sha, ifc->mac, ETH_ADDR_LEN);
	ah->spa = spa;
	if (tha)
		memcpy(ah->tha, tha, ETH_ADDR_LEN);
	ah->tpa = tpa;
	return tx_send(d, ifc->ifindex, f, word);
}

int arp_send_request(struct arpd *d, const struct arpd_iface *ifc, uint32_t addr,
		     const uint8_t *dst_mac)
{
	return arp_xmit(d, ifc, dst_mac ? dst_mac : eth_bcast, ARP_OP_REQUEST, dst_mac, addr,
			ifc->addr);
}

int arp_announce(struct arpd *d, const struct arpd_iface *ifc)
{
	int err = arp_xmit(d, ifc, eth_bcast, ARP_OP_REQUEST, NULL, ifc->addr, ifc->addr);

	if (!err)
		d->st.announcements++;
	return err;
}

const struct arpd_iface *arp_iface(const struct arpd *d, uint32_t ifindex)
{
	for (unsigned i = 0; i < d->nifs; i++)
		if (d->ifs[i].ifindex == ifindex)
			return &d->ifs[i];
	return NULL;
}

static bool on_link(const struct arpd_iface *ifc, uint32_t addr)
{
	return ((addr ^ ifc->addr) & ifc->mask) == 0 || (ifc->gateway && addr == ifc->gateway);
}

/* A unicast host address that may be in the table. */
static bool good_sender(const struct arpd_iface *ifc, uint32_t spa)
{
	uint32_t h = ntohl(spa);

	if (h == 0 || h == 0xffffffffu || (h >> 28) >= 0xe || (h >> 24) == 127)
		return false;
	if (ifc->mask != 0xffffffffu && (spa | ifc->mask) == 0xffffffffu)
		return false; /* the subnet's broadcast address */
	return true;
}

static void arp_conflict(struct arpd *d, const struct arpd_iface *ifc, const uint8_t *sha)
{
	uint64_t now = exos_now_ns();
	char ip[INET_ADDRSTRLEN];

	d->st.conflicts++;
	if (d->last_conflict_log_ns && now - d->last_conflict_log_ns < ARPD_CONFLICT_LOG_NS)
		return;
	d->last_conflict_log_ns = now;
	inet_ntop(AF_INET, &ifc->addr, ip, sizeof(ip));
	arpd_log(d, 0, "address conflict: %02x:%02x:%02x:%02x:%02x:%02x also claims %s on %s",
		 sha[0], sha[1], sha[2], sha[3], sha[4], sha[5], ip, ifc->name);
}

void arp_input(struct arpd *d, const uint8_t *frame, uint32_t len, uint32_t ifindex)
{
	const struct eth_hdr *eh = (const struct eth_hdr *)frame;
	const struct arpd_iface *ifc;
	struct arp_hdr ah;
	bool merged = false, for_us;
	uint16_t op;

	d->st.rx++;
	if (len < ETH_HDR_LEN + sizeof(ah) || eh->type != htons(ETH_TYPE_ARP)) {
		d->st.bad++;
		return;
	}
	memcpy(&ah, frame + ETH_HDR_LEN, sizeof(ah));
	op = ntohs(ah.op);
	ifc = arp_iface(d, ifindex);
	if (!ifc || ah.htype != htons(ARP_HTYPE_ETHER) || ah.ptype != htons(ETH_TYPE_IPV4) ||
	    ah.hlen != ETH_ADDR_LEN || ah.plen != 4 ||
	    (op != ARP_OP_REQUEST && op != ARP_OP_REPLY)) {
		d->st.ignored++;
		return;
	}
	if ((ah.sha[0] & 1) || !memcmp(ah.sha, (uint8_t[ETH_ADDR_LEN]){0}, ETH_ADDR_LEN) ||
	    !memcmp(ah.sha, ifc->mac, ETH_ADDR_LEN)) {
		d->st.ignored++; /* multicast, zero, or our own frame */
		return;
	}
	if (ah.spa == ifc->addr) {
		arp_conflict(d, ifc, ah.sha);
		return;
	}
	for_us = ah.tpa == ifc->addr;
	if (ah.spa && good_sender(ifc, ah.spa) && table_find(d, ifindex, ah.spa) >= 0) {
		table_learn(d, ifindex, ah.spa, ah.sha, false);
		merged = true;
	}
	if (for_us && !merged && ah.spa && good_sender(ifc, ah.spa) && on_link(ifc, ah.spa))
		table_learn(d, ifindex, ah.spa, ah.sha, true);
	if (for_us && op == ARP_OP_REQUEST) {
		/* the reply goes to the requester's hardware address, as Linux does */
		if (arp_xmit(d, ifc, ah.sha, ARP_OP_REPLY, ah.sha, ah.spa, ifc->addr) == 0)
			d->st.requests_answered++;
	} else if (!for_us && !merged) {
		d->st.ignored++;
	}
}
