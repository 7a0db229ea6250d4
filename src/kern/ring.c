/* ring.c - packet rings: setup, and publication of received frames (§3.2 "Packet Buffering") */

/*
 * A ring is an xok_ring_hdr followed by nentries entries in one app region.  xokd fills
 * entries strictly in order.  Publication protocol (the paper's, with explicit ordering):
 *   1. load-acquire the entry's owner word; nonzero -> the app still has it: drop, count;
 *   2. copy the frame (truncated to the entry) and the header fields;
 *   3. store-release the frame's original length into owner (the app may now read it);
 *   4. store-release the new `produced` count into the ring header.
 * The app returns an entry by storing 0 (release) in owner.  Nothing xokd reads from the
 * ring is trusted beyond "zero or not".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"

struct ring *ring_lookup(struct app *a, uint32_t id)
{
	struct ring *r;

	list_for_each_entry(r, &a->rings, app_link) if (r->id == id) return r;
	return NULL;
}

/* Validates a ring geometry and resolves it into r (without taking the region). */
static int ring_geometry(struct xokd *x, struct app *a, const struct xok_ring_set *g,
			 struct ring *r)
{
	uint64_t bytes;
	void *p;
	int err;

	if (g->at.pad)
		return -EINVAL;
	if (g->entry_size < XOK_RING_ENTRY_MIN || g->entry_size > XOK_RING_ENTRY_MAX ||
	    (g->entry_size & 7))
		return -EINVAL;
	if (g->nentries == 0 || g->nentries > XOK_RING_ENTRIES_MAX)
		return -EINVAL;
	/* at most 128 + 2^16 * 2^16: no overflow in 64 bits */
	bytes = sizeof(struct xok_ring_hdr) + (uint64_t)g->entry_size * g->nentries;
	err = region_resolve(x, a, g->at.region, g->at.offset, bytes, 64, false, &p, &r->region);
	if (err)
		return err;
	r->hdr = p;
	r->entries = (uint8_t *)p + sizeof(struct xok_ring_hdr);
	r->entry_size = g->entry_size;
	r->nentries = g->nentries;
	r->next = 0;
	r->produced = 0;
	return 0;
}

int op_ring_set(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd)
{
	struct xok_ring_set_reply *out = rep;
	struct ring tmp = {0}, *r;
	int err;

	(void)fd;
	(void)rep_fd;
	err = ring_geometry(x, a, req, &tmp);
	if (err)
		return err;
	if (a->nrings >= x->cfg.limits.rings)
		return app_limit_hit(a, LIMIT_RINGS, -EDQUOT,
				     "ring rejected: rings limit (%u) reached", x->cfg.limits.rings);
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = tmp;
	r->app = a;
	r->id = x->next_ring_id++;
	region_get(r->region);
	xok_store_release(&r->hdr->produced, 0);
	list_add_tail(&r->app_link, &a->rings);
	a->nrings++;
	out->ring = r->id;
	return 0;
}

int op_ring_mod(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd)
{
	const struct xok_ring_mod *m = req;
	struct ring tmp = {0}, *r;
	int err;

	(void)fd;
	(void)rep;
	(void)rep_fd;
	if (m->pad)
		return -EINVAL;
	r = ring_lookup(a, m->ring);
	if (!r)
		return -ENOENT;
	err = ring_geometry(x, a, &m->geometry, &tmp);
	if (err)
		return err;
	region_get(tmp.region);
	region_put(r->region);
	r->region = tmp.region;
	r->hdr = tmp.hdr;
	r->entries = tmp.entries;
	r->entry_size = tmp.entry_size;
	r->nentries = tmp.nentries;
	r->next = 0;
	r->produced = 0;
	xok_store_release(&r->hdr->produced, 0);
	return 0;
}

static void ring_free(struct app *a, struct ring *r)
{
	list_del(&r->app_link);
	a->nrings--;
	region_put(r->region);
	free(r);
}

int op_ring_del(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd)
{
	const struct xok_ring_del *m = req;
	struct ring *r;

	(void)x;
	(void)fd;
	(void)rep;
	(void)rep_fd;
	if (m->pad)
		return -EINVAL;
	r = ring_lookup(a, m->ring);
	if (!r)
		return -ENOENT;
	if (r->nfilters)
		return -EBUSY;
	ring_free(a, r);
	return 0;
}

int ring_publish(struct ring *r, const uint8_t *frame, uint32_t len, uint32_t ifindex,
		 uint32_t filter_id, uint16_t flags, uint64_t rx_ns)
{
	struct xok_ring_entry *e =
	    (struct xok_ring_entry *)(r->entries + (size_t)r->next * r->entry_size);
	uint32_t room = r->entry_size - (uint32_t)sizeof(*e);
	uint32_t caplen = len;

	if (xok_load_acquire(&e->owner) != 0) {
		r->dropped_full++;
		return -ENOBUFS;
	}
	if (caplen > room) {
		caplen = room;
		flags |= XOK_RX_TRUNCATED;
		r->truncated++;
	}
	memcpy(e->data, frame, caplen);
	e->ifindex = ifindex;
	e->caplen = caplen;
	e->flags = flags;
	e->pad = 0;
	e->filter_id = filter_id;
	e->pad2 = 0;
	e->rx_ns = rx_ns;
	xok_store_release(&e->owner, len); /* last: hands the entry to the app */
	if (++r->next == r->nentries)
		r->next = 0;
	xok_store_release(&r->hdr->produced, ++r->produced);
	r->delivered++;
	r->bytes += len;
	return 0;
}

void ring_reclaim(struct xokd *x, struct app *a)
{
	struct ring *r, *n;

	(void)x;
	/* filter_reclaim has already detached every filter delivering here */
	list_for_each_entry_safe(r, n, &a->rings, app_link) ring_free(a, r);
}
