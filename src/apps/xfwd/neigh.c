/* neigh.c - xfwd's next hops: arpd's shared table, our own ARP requests, queued frames */

/*
 * libexos resolves next hops inside its stack (arp.c) but exports no resolve call, and
 * xfwd uses no stack: it reads arpd's table directly, as §3.3 "Naming and routing" has
 * every application do.  A lookup goes through a small cache that is valid for one table
 * version (one acquire load per lookup on the fast path).  On a miss, xfwd broadcasts an
 * ARP request itself (arpd records the reply: it owns all ARP frames), copies the waiting
 * frames to bounce buffers, and watches the table's version word in its wakeup predicate;
 * a timer repeats the request, and after XFWD_ARP_RETRIES the queued frames are dropped
 * and any backend behind that next hop is skipped for a while.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <xok/proto/arp.h>

#include "xfwd.h"

static void neigh_try_table(struct xfwd *x)
{
	struct neigh *nb = &x->nb;
	const void *base;
	size_t size;

	if (nb->table || x->now < nb->table_retry)
		return;
	if (exos_table_get(x->sys, XOK_TABLE_ARP, &base, &size) == 0 &&
	    size >= sizeof(struct xok_arp_table)) {
		nb->table = base;
		xfwd_log(x, 2, "using arpd's ARP table");
		return;
	}
	nb->table_retry = x->now + XFWD_TABLE_RETRY_NS;
}

void neigh_init(struct xfwd *x)
{
	memset(&x->nb, 0, sizeof(x->nb));
	x->nb.watch = -1;
	x->now = exos_now_ns();
	neigh_try_table(x);
	if (!x->nb.table)
		fprintf(stderr,
			"xfwd: arpd's ARP table is not published (yet): is arpd running?\n");
}

void neigh_close(struct xfwd *x)
{
	if (x->nb.watch >= 0)
		exos_sys_unwatch(x->sys, x->nb.watch);
	x->nb.watch = -1;
}

uint32_t neigh_version(const struct xfwd *x)
{
	return x->nb.table ? xok_load_acquire(&x->nb.table->version) : 0;
}

int neigh_lookup(struct xfwd *x, uint32_t ifindex, uint32_t addr, uint8_t *mac)
{
	struct neigh *nb = &x->nb;
	struct neigh_cache_ent *ce;
	uint32_t v;

	if (!nb->table) {
		neigh_try_table(x);
		if (!nb->table)
			return -ENOENT;
	}
	v = xok_load_acquire(&nb->table->version);
	if (v != nb->cache_version) {
		memset(nb->cache, 0, sizeof(nb->cache));
		nb->cache_version = v;
	}
	ce = &nb->cache[(ntohl(addr) * 2654435761u) >> 24 & (XFWD_NEIGH_CACHE - 1)];
	if (ce->addr == addr && ce->ifindex == ifindex) {
		memcpy(mac, ce->mac, ETH_ADDR_LEN);
		return 0;
	}
	if (xok_arp_table_find(nb->table, ifindex, addr, mac, XFWD_SEQLOCK_SPINS))
		return -ENOENT;
	ce->addr = addr;
	ce->ifindex = ifindex;
	memcpy(ce->mac, mac, ETH_ADDR_LEN);
	return 0;
}
_Static_assert((XFWD_NEIGH_CACHE & (XFWD_NEIGH_CACHE - 1)) == 0 && XFWD_NEIGH_CACHE <= 256,
	       "the cache index is the hash's top byte");

/* A broadcast who-has addr on ifindex, from a bounce buffer. */
static void neigh_request(struct xfwd *x, uint32_t ifindex, uint32_t addr)
{
	const struct xfwd_iface *ifc = fwd_iface(x, ifindex);
	struct eth_hdr *eh;
	struct arp_hdr *ah;
	uint8_t *frame;
	int b;

	if (!ifc)
		return;
	b = bounce_get(x);
	if (b < 0)
		return; /* the retry timer asks again */
	frame = x->bounce.buf + (size_t)b * x->bounce.size;
	memset(frame, 0, 60);
	eh = (struct eth_hdr *)frame;
	memset(eh->dst, 0xff, ETH_ADDR_LEN);
	memcpy(eh->src, ifc->mac, ETH_ADDR_LEN);
	eh->type = htons(ETH_TYPE_ARP);
	ah = (struct arp_hdr *)(frame + ETH_HDR_LEN);
	ah->htype = htons(ARP_HTYPE_ETHER);
	ah->ptype = htons(ETH_TYPE_IPV4);
	ah->hlen = ETH_ADDR_LEN;
	ah->plen = 4;
	ah->op = htons(ARP_OP_REQUEST);
	memcpy(ah->sha, ifc->mac, ETH_ADDR_LEN);
	ah->spa = ifc->addr;
	ah->tpa = addr;
	x->st.arp_requests++;
	fwd_xmit(x, ifindex, frame, 60, &x->bounce.word[b]); /* minimum frame, zero padded */
}

static struct neigh_pend *pend_find(struct xfwd *x, uint32_t ifindex, uint32_t addr, bool create)
{
	struct neigh *nb = &x->nb;
	struct neigh_pend *free_slot = NULL;

	for (int i = 0; i < XFWD_NEIGH_PENDING; i++) {
		struct neigh_pend *p = &nb->pend[i];

		if (p->addr == addr && p->ifindex == ifindex)
			return p;
		if (!p->addr && !free_slot)
			free_slot = p;
	}
	if (!create || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->addr = addr;
	free_slot->ifindex = ifindex;
	free_slot->tries = 1;
	free_slot->deadline = x->now + XFWD_ARP_TIMEOUT_NS;
	nb->npend++;
	neigh_request(x, ifindex, addr);
	return free_slot;
}

static void pend_free(struct xfwd *x, struct neigh_pend *p, bool drop)
{
	for (uint32_t i = 0; i < p->nq; i++)
		if (drop) {
			__atomic_store_n(&x->bounce.word[p->q[i]], 0, __ATOMIC_RELEASE);
			x->st.arp_queue_drops++;
		}
	memset(p, 0, sizeof(*p));
	x->nb.npend--;
}

/* Keeps the predicate watching the table's version while anything is pending. */
static void neigh_watch_update(struct xfwd *x)
{
	struct neigh *nb = &x->nb;
	uint32_t v;

	if (!nb->table)
		return;
	v = xok_load_acquire(&nb->table->version);
	if (nb->watch >= 0 && (!nb->npend || nb->watch_version != v)) {
		exos_sys_unwatch(x->sys, nb->watch);
		nb->watch = -1;
	}
	if (nb->npend && nb->watch < 0) {
		int h = exos_sys_watch(x->sys, &nb->table->version, XOK_WK_NE, v);

		if (h >= 0) {
			nb->watch = h;
			nb->watch_version = v;
		}
	}
}

void neigh_solicit(struct xfwd *x, uint32_t ifindex, uint32_t addr)
{
	pend_find(x, ifindex, addr, true);
	neigh_watch_update(x);
}

int neigh_queue(struct xfwd *x, uint32_t ifindex, uint32_t addr, const uint8_t *frame, uint32_t len)
{
	struct neigh_pend *p = pend_find(x, ifindex, addr, true);
	int b;

	neigh_watch_update(x);
	if (!p || p->nq == XFWD_NEIGH_QUEUE || len > x->bounce.size) {
		x->st.arp_queue_drops++;
		return -ENOBUFS;
	}
	b = bounce_get(x);
	if (b < 0) {
		x->st.arp_queue_drops++;
		return -ENOBUFS;
	}
	memcpy(x->bounce.buf + (size_t)b * x->bounce.size, frame, len);
	p->q[p->nq] = (uint16_t)b;
	p->qlen[p->nq] = (uint16_t)len;
	p->nq++;
	x->st.arp_queued++;
	return 0;
}

/* Resolution failed: skip the backends behind this next hop for a while. */
static void neigh_failed(struct xfwd *x, const struct neigh_pend *p)
{
	char ip[INET_ADDRSTRLEN];

	x->st.arp_failures++;
	inet_ntop(AF_INET, &p->addr, ip, sizeof(ip));
	xfwd_log(x, 0, "no ARP reply from %s: its backends are skipped for now", ip);
	for (uint32_t i = 0; i < x->be.n; i++) {
		struct xfwd_backend *b = &x->be.b[i];

		if (b->nexthop == p->addr && b->ifindex == p->ifindex)
			b->down_until = x->now + XFWD_BACKEND_DOWN_NS;
	}
}

void neigh_poll(struct xfwd *x)
{
	struct neigh *nb = &x->nb;

	uint32_t v;

	if (!nb->npend)
		return;
	neigh_try_table(x);
	v = neigh_version(x);
	if (nb->table && v == nb->polled_version && x->now < neigh_deadline(x))
		return; /* nothing changed: spare the table scans */
	nb->polled_version = v;
	for (int i = 0; i < XFWD_NEIGH_PENDING; i++) {
		struct neigh_pend *p = &nb->pend[i];
		uint8_t mac[ETH_ADDR_LEN];

		if (!p->addr)
			continue;
		if (neigh_lookup(x, p->ifindex, p->addr, mac) == 0) {
			for (uint32_t k = 0; k < p->nq; k++) {
				uint8_t *frame = x->bounce.buf + (size_t)p->q[k] * x->bounce.size;

				memcpy(frame, mac, ETH_ADDR_LEN);
				fwd_xmit(x, p->ifindex, frame, p->qlen[k],
					 &x->bounce.word[p->q[k]]);
			}
			for (uint32_t k = 0; k < x->be.n; k++)
				if (x->be.b[k].nexthop == p->addr)
					x->be.b[k].down_until = 0;
			pend_free(x, p, false);
			continue;
		}
		if (p->deadline > x->now)
			continue;
		if (p->tries < XFWD_ARP_RETRIES) {
			p->tries++;
			p->deadline = x->now + XFWD_ARP_TIMEOUT_NS;
			neigh_request(x, p->ifindex, p->addr);
			continue;
		}
		neigh_failed(x, p);
		pend_free(x, p, true);
	}
	neigh_watch_update(x);
}

uint64_t neigh_deadline(const struct xfwd *x)
{
	const struct neigh *nb = &x->nb;
	uint64_t d = 0;

	if (!nb->npend)
		return 0;
	if (!nb->table)
		return nb->table_retry;
	for (int i = 0; i < XFWD_NEIGH_PENDING; i++)
		if (nb->pend[i].addr && (!d || nb->pend[i].deadline < d))
			d = nb->pend[i].deadline;
	return d;
}
