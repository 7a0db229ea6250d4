/* buf.c - buffers: registered-memory pools (packet buffers, transmit blocks) and heap slabs */
#include <stdlib.h>

#include "libos.h"
#include "tcp_int.h"

/*
 * Inter-end-point resource sharing (§3.3): every end-point of a stack draws its packet
 * buffers and transmit blocks from one pool of registered memory, grown a region at a time
 * up to a cap and never returned piecemeal, so the steady state allocates nothing.
 * Transmit headers must live in registered memory because exos_xmit gathers from it.
 */

/* ---- heap slabs ---- */

void slab_init(struct slab *sl, size_t objsz)
{
	memset(sl, 0, sizeof(*sl));
	sl->objsz = (objsz + 15) & ~(size_t)15;
}

static int slab_grow(struct slab *sl)
{
	void **chunks = realloc(sl->chunks, (sl->nchunks + 1) * sizeof(*chunks));
	if (!chunks)
		return -ENOMEM;
	sl->chunks = chunks;
	uint8_t *c = malloc(sl->objsz * SLAB_CHUNK_OBJS);
	if (!c)
		return -ENOMEM;
	chunks[sl->nchunks++] = c;
	for (unsigned i = 0; i < SLAB_CHUNK_OBJS; i++) {
		void *o = c + i * sl->objsz;
		*(void **)o = sl->free;
		sl->free = o;
	}
	return 0;
}

void *slab_get(struct slab *sl)
{
	if (!sl->free && slab_grow(sl) < 0)
		return NULL;
	void *o = sl->free;
	sl->free = *(void **)o;
	memset(o, 0, sl->objsz);
	sl->inuse++;
	return o;
}

void slab_put(struct slab *sl, void *p)
{
	*(void **)p = sl->free;
	sl->free = p;
	sl->inuse--;
}

void slab_destroy(struct slab *sl)
{
	for (unsigned i = 0; i < sl->nchunks; i++)
		free(sl->chunks[i]);
	free(sl->chunks);
	sl->chunks = NULL;
	sl->nchunks = 0;
	sl->free = NULL;
}

/* ---- registered pools ---- */

int pool_init(struct exos_stack *s, size_t max_bytes)
{
	struct pool *p = &s->pool;

	memset(p, 0, sizeof(*p));
	p->max_bytes = max_bytes;
	p->txb.objsz = TXB_SIZE;
	p->txb.grow_bytes = POOL_TXB_GROW;
	p->pbuf.objsz = PBUF_SIZE;
	p->pbuf.grow_bytes = POOL_PBUF_GROW;
	return 0;
}

void pool_destroy(struct exos_stack *s)
{
	struct pool *p = &s->pool;

	for (unsigned i = 0; i < p->nregions; i++)
		exos_region_destroy(s->sys, p->regions[i]);
	p->nregions = 0;
	p->bytes = 0;
	p->txb.free = p->pbuf.free = NULL;
	p->txb.nfree = p->pbuf.nfree = 0;
}

static int pool_grow(struct exos_stack *s, struct pool_class *c)
{
	struct pool *p = &s->pool;
	struct exos_region *r;

	if (p->nregions == POOL_REGIONS_MAX || p->bytes + c->grow_bytes > p->max_bytes)
		return -ENOBUFS;
	int err = exos_region_create(s->sys, c->grow_bytes, &r);
	if (err < 0)
		return err;
	p->regions[p->nregions++] = r;
	p->bytes += r->size;
	size_t n = r->size / c->objsz;
	/* Push in reverse so that allocation walks the region upwards. */
	for (size_t i = n; i-- > 0;) {
		void *o = (uint8_t *)r->base + i * c->objsz;
		*(void **)o = c->free;
		c->free = o;
	}
	c->nfree += n;
	return 0;
}

static void *pool_get(struct exos_stack *s, struct pool_class *c)
{
	/* Finished frames are reaped by the poll loop, never here: releasing them may call
	 * the application (on_sent), which must not happen in the middle of a transmit. */
	if (!c->free && pool_grow(s, c) < 0)
		return NULL;
	void *o = c->free;
	c->free = *(void **)o;
	c->inuse++;
	c->nfree--;
	return o;
}

static void pool_put(struct pool_class *c, void *o)
{
	*(void **)o = c->free;
	c->free = o;
	c->inuse--;
	c->nfree++;
}

int pbuf_reserve(struct exos_stack *s, uint32_t n)
{
	while (s->pool.pbuf.nfree < n)
		if (pool_grow(s, &s->pool.pbuf) < 0)
			return -ENOBUFS;
	return 0;
}

void *pbuf_get(struct exos_stack *s)
{
	return pool_get(s, &s->pool.pbuf);
}

void pbuf_put(struct exos_stack *s, void *p)
{
	pool_put(&s->pool.pbuf, p);
}

struct txb *txb_get(struct exos_stack *s)
{
	struct txb *t = pool_get(s, &s->pool.txb);

	if (!t)
		return NULL;
	t->notify = 0;
	t->hdr_len = 0;
	t->nsreq = 0;
	t->next = NULL;
	t->pbuf = NULL;
	return t;
}

void txb_release(struct exos_stack *s, struct txb *t)
{
	for (unsigned i = 0; i < t->nsreq; i++)
		tcp_sreq_unref(s, t->sreq[i]);
	if (t->pbuf)
		pbuf_put(s, t->pbuf);
	pool_put(&s->pool.txb, t);
}

/* xokd decrements each frame's word once the frame has left.  Frames complete in
 * submission order almost always; a straggler at the head only delays the release of the
 * frames behind it, never frees anything early. */
void tx_reap(struct exos_stack *s)
{
	struct txb *t;

	while ((t = s->tx_head) && xok_load_acquire(&t->notify) == 0) {
		s->tx_head = t->next;
		if (!s->tx_head)
			s->tx_tail = NULL;
		s->tx_inflight--;
		txb_release(s, t);
	}
}
