/* arp.c - ARP: lookups in arpd's shared table, requests and a short queue on a miss */
#include <xok/proto/arp.h>

#include "libos.h"
#include "tcp_int.h"

/*
 * arpd owns the ARP table and publishes it read-only (§3.3 "Naming and routing"); we read
 * it under its seqlock.  On a miss we broadcast a request ourselves, queue the frame
 * briefly, and wait for arpd to record the reply: the stack's wait watches the table's
 * `version` word, and a timer repeats the request (ARP_RETRIES times, then
 * EHOSTUNREACH).  A small cache keyed by the table version spares the table scan on the
 * fast path (TCP also keeps its next hop's MAC in its header template).
 */

#define ARP_SEQLOCK_SPINS 10000

static void arp_timer_fn(struct exos_stack *s, struct exos_timer *t);

int arp_init(struct exos_stack *s)
{
	struct arp_state *a = &s->arp;
	const void *base;
	size_t size;

	memset(a, 0, sizeof(*a));
	a->watch = -1;
	timer_init(&a->timer, arp_timer_fn);
	slab_init(&a->qslab, sizeof(struct arp_qent));
	if (exos_table_get(s->sys, XOK_TABLE_ARP, &base, &size) == 0 &&
	    size >= sizeof(struct xok_arp_table))
		a->table = base;
	return 0;
}

static void arp_drop_queue(struct exos_stack *s, struct arp_pending *p)
{
	struct arp_qent *q;

	while ((q = p->qhead)) {
		p->qhead = q->next;
		txb_release(s, q->t);
		slab_put(&s->arp.qslab, q);
		s->arp.nqueued--;
	}
	p->qtail = NULL;
	p->nq = 0;
}

void arp_destroy(struct exos_stack *s)
{
	struct arp_state *a = &s->arp;

	for (unsigned i = 0; i < ARP_PENDING_MAX; i++)
		if (a->pend[i].addr)
			arp_drop_queue(s, &a->pend[i]);
	memset(a->pend, 0, sizeof(a->pend));
	a->npending = 0;
	if (a->watch >= 0)
		exos_sys_unwatch(s->sys, a->watch);
	a->watch = -1;
	timer_cancel(s, &a->timer);
	slab_destroy(&a->qslab);
}

int arp_lookup(struct exos_stack *s, const struct exos_iface *ifc, uint32_t addr, uint8_t *mac)
{
	struct arp_state *a = &s->arp;
	struct arp_cache_ent *ce;
	uint32_t version;

	if (addr == INADDR_BROADCAST || (ifc->mask && (addr | ifc->mask) == 0xffffffffu)) {
		memset(mac, 0xff, ETH_ADDR_LEN);
		return 0;
	}
	if (!a->table)
		return -ENOENT;
	version = xok_load_acquire(&a->table->version);
	if (version != a->cache_version) {
		memset(a->cache, 0, sizeof(a->cache));
		a->cache_version = version;
	}
	ce = &a->cache[(ntohl(addr) * 2654435761u) >> 26 & (ARP_CACHE_SIZE - 1)];
	if (ce->addr == addr) {
		memcpy(mac, ce->mac, ETH_ADDR_LEN);
		return 0;
	}
	if (xok_arp_table_find(a->table, ifc->ifindex, addr, mac, ARP_SEQLOCK_SPINS) < 0)
		return -ENOENT;
	ce->addr = addr;
	memcpy(ce->mac, mac, ETH_ADDR_LEN);
	return 0;
}
_Static_assert((ARP_CACHE_SIZE & (ARP_CACHE_SIZE - 1)) == 0 && ARP_CACHE_SIZE <= 64,
	       "arp cache index uses the top 6 bits");

static int arp_send_request(struct exos_stack *s, const struct exos_iface *ifc, uint32_t addr)
{
	struct txb *t = txb_get(s);
	struct arp_hdr *ah;

	if (!t)
		return -ENOBUFS;
	memset(t->hdr, 0, 60);
	eth_fill(t->hdr, (const uint8_t[ETH_ADDR_LEN]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		 ifc->mac, ETH_TYPE_ARP);
	ah = (struct arp_hdr *)(t->hdr + ETH_HDR_LEN);
	ah->htype = htons(ARP_HTYPE_ETHER);
	ah->ptype = htons(ETH_TYPE_IPV4);
	ah->hlen = ETH_ADDR_LEN;
	ah->plen = 4;
	ah->op = htons(ARP_OP_REQUEST);
	memcpy(ah->sha, ifc->mac, ETH_ADDR_LEN);
	ah->spa = ifc->addr;
	ah->tpa = addr;
	t->hdr_len = 60; /* minimum Ethernet frame, zero padded */
	s->st.arp_requests++;
	return eth_xmit(s, ifc, t, NULL, 0);
}

static void arp_watch_update(struct exos_stack *s)
{
	struct arp_state *a = &s->arp;

	if (!a->table)
		return;
	uint32_t v = xok_load_acquire(&a->table->version);
	if (a->watch >= 0 && (!a->npending || a->watch_version != v)) {
		exos_sys_unwatch(s->sys, a->watch);
		a->watch = -1;
	}
	if (a->npending && a->watch < 0) {
		int h = exos_sys_watch(s->sys, &a->table->version, XOK_WK_NE, v);
		if (h >= 0) {
			a->watch = h;
			a->watch_version = v;
		}
	}
}

static void arp_timer_rearm(struct exos_stack *s)
{
	struct arp_state *a = &s->arp;
	uint64_t d = 0;

	for (unsigned i = 0; i < ARP_PENDING_MAX; i++)
		if (a->pend[i].addr && (!d || a->pend[i].deadline < d))
			d = a->pend[i].deadline;
	if (d)
		timer_arm(s, &a->timer, d);
	else
		timer_cancel(s, &a->timer);
}

static struct arp_pending *arp_pending_find(struct exos_stack *s, uint32_t addr, bool create)
{
	struct arp_state *a = &s->arp;
	struct arp_pending *free_slot = NULL;

	for (unsigned i = 0; i < ARP_PENDING_MAX; i++) {
		if (a->pend[i].addr == addr)
			return &a->pend[i];
		if (!a->pend[i].addr && !free_slot)
			free_slot = &a->pend[i];
	}
	if (!create || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->addr = addr;
	a->npending++;
	return free_slot;
}

static void arp_pending_free(struct exos_stack *s, struct arp_pending *p)
{
	arp_drop_queue(s, p);
	p->addr = 0;
	s->arp.npending--;
}

/* Begins resolving p: the first request and its timer. */
static void arp_pending_start(struct exos_stack *s, struct arp_pending *p,
			      const struct exos_iface *ifc)
{
	p->ifc = ifc;
	p->tries = 1;
	p->deadline = s->now + ARP_TIMEOUT_NS;
	arp_send_request(s, ifc, p->addr);
	arp_timer_rearm(s);
	arp_watch_update(s);
}

int arp_output(struct exos_stack *s, const struct route *rt, struct txb *t,
	       const struct exos_iov *data, int ndata)
{
	struct arp_state *a = &s->arp;
	struct arp_pending *p;
	struct arp_qent *q;
	bool fresh = false;

	if (arp_lookup(s, rt->ifc, rt->nexthop, t->hdr) == 0)
		return eth_xmit(s, rt->ifc, t, data, ndata);

	p = arp_pending_find(s, rt->nexthop, false);
	if (!p) {
		p = arp_pending_find(s, rt->nexthop, true);
		fresh = true;
	}
	if (!p || p->nq >= ARP_QUEUE_PER_DST || a->nqueued >= ARP_QUEUE_MAX ||
	    ndata > XOK_XMIT_PIECES - 1 || !(q = slab_get(&a->qslab))) {
		s->st.tx_drop_nobuf++;
		txb_release(s, t);
		if (p && fresh)
			arp_pending_start(s, p, rt->ifc); /* still worth asking */
		return p ? 0 : -ENOBUFS;
	}
	q->t = t;
	q->niov = ndata;
	memcpy(q->iov, data, ndata * sizeof(*data));
	if (p->qtail)
		p->qtail->next = q;
	else
		p->qhead = q;
	p->qtail = q;
	p->nq++;
	a->nqueued++;
	if (fresh)
		arp_pending_start(s, p, rt->ifc);
	return 0;
}

/* The table changed (or a timer fired): send what has become resolvable. */
void arp_poll(struct exos_stack *s)
{
	struct arp_state *a = &s->arp;

	if (!a->npending || !a->table)
		return;
	if (xok_load_acquire(&a->table->version) == a->watch_version && a->watch >= 0)
		return;
	for (unsigned i = 0; i < ARP_PENDING_MAX; i++) {
		struct arp_pending *p = &a->pend[i];
		uint8_t mac[ETH_ADDR_LEN];
		struct arp_qent *q;
		if (!p->addr || arp_lookup(s, p->ifc, p->addr, mac) < 0)
			continue;
		while ((q = p->qhead)) {
			p->qhead = q->next;
			p->nq--;
			a->nqueued--;
			memcpy(q->t->hdr, mac, ETH_ADDR_LEN);
			eth_xmit(s, p->ifc, q->t, q->iov, q->niov);
			slab_put(&a->qslab, q);
		}
		p->qtail = NULL;
		p->addr = 0;
		a->npending--;
	}
	arp_watch_update(s);
	arp_timer_rearm(s);
}

static void arp_timer_fn(struct exos_stack *s, struct exos_timer *t)
{
	struct arp_state *a = &s->arp;

	(void)t;
	arp_poll(s);
	for (unsigned i = 0; i < ARP_PENDING_MAX; i++) {
		struct arp_pending *p = &a->pend[i];
		if (!p->addr || p->deadline > s->now)
			continue;
		if (p->tries < ARP_RETRIES) {
			p->tries++;
			p->deadline = s->now + ARP_TIMEOUT_NS;
			arp_send_request(s, p->ifc, p->addr);
			continue;
		}
		uint32_t addr = p->addr;
		s->st.arp_failures++;
		arp_pending_free(s, p);
		tcp_arp_failed(s, addr);
	}
	arp_watch_update(s);
	arp_timer_rearm(s);
}
