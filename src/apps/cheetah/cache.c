/* cache.c - registered memory for the file cache: the merged file cache and retransmission pool */
#include <errno.h>
#include <stdlib.h>

#include <exos/sys.h>

#include "cheetah.h"
#include "param.h"

/*
 * libhttp reads every file into memory that this allocator hands out (its allocator
 * callback), laid out [200 header, close][200 header, keep-alive][file data]. The memory
 * lies in regions registered with xokd, so exos_tcp_send can name it directly: segments
 * are gathered, and retransmitted, straight from the cache — there is no send buffer and
 * no copy of file data (paper §5.3, "Merged File Cache and Retransmission Pool"). A file
 * stays allocated while any send request refers to it: libhttp frees it only once its
 * last holder lets go, and cheetah lets go in on_sent.
 *
 * xokd limits an app to 64 regions, so files share large arenas, each managed by an
 * address-ordered first-fit free list with coalescing (the metadata lives on the heap, not
 * in the shared memory). A file larger than half an arena gets a region of its own.
 */

struct extent {
	struct extent *next;
	size_t off, len;
};

struct arena {
	struct arena *next;
	void *handle;
	unsigned char *base;
	size_t size, used;
	bool dedicated;	     /* holds one allocation; destroyed when it is freed */
	struct extent *free; /* by address, disjoint, never adjacent */
};

struct regmem {
	struct regmem_backing b;
	size_t arena_bytes;
	struct arena *arenas;
	struct regmem_stats st;
};

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

int regmem_create(const struct regmem_backing *b, size_t arena_bytes, struct regmem **out)
{
	struct regmem *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->b = *b;
	m->arena_bytes = round_up(arena_bytes, CHEETAH_ALLOC_ALIGN);
	*out = m;
	return 0;
}

static void arena_destroy(struct regmem *m, struct arena *a)
{
	struct arena **pp = &m->arenas;
	struct extent *e;

	while (*pp != a)
		pp = &(*pp)->next;
	*pp = a->next;
	while ((e = a->free)) {
		a->free = e->next;
		free(e);
	}
	m->b.destroy(m->b.ctx, a->handle);
	m->st.arenas--;
	m->st.arena_bytes -= a->size;
	free(a);
}

void regmem_destroy(struct regmem *m)
{
	while (m->arenas)
		arena_destroy(m, m->arenas);
	free(m);
}

static struct arena *arena_new(struct regmem *m, size_t size, bool dedicated)
{
	struct arena *a = calloc(1, sizeof(*a));
	void *base;

	if (!a)
		return NULL;
	if (!dedicated) {
		a->free = malloc(sizeof(*a->free));
		if (!a->free)
			goto fail;
		*a->free = (struct extent){.off = 0, .len = size};
	}
	if (m->b.create(m->b.ctx, size, &base, &a->handle) < 0)
		goto fail;
	a->base = base;
	a->size = size;
	a->dedicated = dedicated;
	a->next = m->arenas;
	m->arenas = a;
	m->st.arenas++;
	m->st.arena_bytes += size;
	return a;
fail:
	free(a->free);
	free(a);
	return NULL;
}

/* First fit in a's free list; NULL if nothing is large enough. */
static void *arena_take(struct arena *a, size_t len)
{
	for (struct extent **pp = &a->free; *pp; pp = &(*pp)->next) {
		struct extent *e = *pp;
		size_t off = e->off;

		if (e->len < len)
			continue;
		e->off += len;
		e->len -= len;
		if (!e->len) {
			*pp = e->next;
			free(e);
		}
		a->used += len;
		return a->base + off;
	}
	return NULL;
}

static void account_alloc(struct regmem *m, size_t len)
{
	m->st.allocs++;
	m->st.used_bytes += len;
	if (m->st.used_bytes > m->st.peak_bytes)
		m->st.peak_bytes = m->st.used_bytes;
}

void *regmem_alloc(struct regmem *m, size_t len)
{
	struct arena *a;
	void *p = NULL;

	len = round_up(len ? len : 1, CHEETAH_ALLOC_ALIGN);
	if (len > m->arena_bytes / 2) {
		a = arena_new(m, len, true);
		if (a) {
			a->used = len;
			p = a->base;
		}
	} else {
		for (a = m->arenas; a && !p; a = a->next)
			if (!a->dedicated)
				p = arena_take(a, len);
		if (!p && (a = arena_new(m, m->arena_bytes, false)))
			p = arena_take(a, len);
	}
	if (!p) {
		m->st.failures++;
		return NULL;
	}
	account_alloc(m, len);
	return p;
}

static struct arena *arena_of(struct regmem *m, const void *p)
{
	const unsigned char *c = p;

	for (struct arena *a = m->arenas; a; a = a->next)
		if (c >= a->base && c < a->base + a->size)
			return a;
	return NULL;
}

/* Give [off, off+len) back to a's free list, merging with its neighbours. */
static void arena_give(struct arena *a, size_t off, size_t len)
{
	struct extent **pp = &a->free, *prev = NULL, *e;

	while (*pp && (*pp)->off < off) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	a->used -= len;
	if (prev && prev->off + prev->len == off) {
		prev->len += len;
		if (*pp && prev->off + prev->len == (*pp)->off) {
			e = *pp;
			prev->len += e->len;
			prev->next = e->next;
			free(e);
		}
		return;
	}
	if (*pp && off + len == (*pp)->off) {
		(*pp)->off = off;
		(*pp)->len += len;
		return;
	}
	e = malloc(sizeof(*e));
	if (!e)
		return; /* the space is lost until the arena empties; better than failing */
	*e = (struct extent){.next = *pp, .off = off, .len = len};
	*pp = e;
}

static bool arena_is_last_shared(const struct regmem *m, const struct arena *a)
{
	for (const struct arena *o = m->arenas; o; o = o->next)
		if (o != a && !o->dedicated)
			return false;
	return true;
}

void regmem_free(struct regmem *m, void *p, size_t len)
{
	struct arena *a = arena_of(m, p);

	if (!a)
		return;
	len = round_up(len ? len : 1, CHEETAH_ALLOC_ALIGN);
	m->st.frees++;
	m->st.used_bytes -= len;
	if (a->dedicated) {
		arena_destroy(m, a);
		return;
	}
	arena_give(a, (size_t)((unsigned char *)p - a->base), len);
	/* Keep one shared arena however idle: the next load needs it anyway. */
	if (!a->used && !arena_is_last_shared(m, a))
		arena_destroy(m, a);
}

const struct regmem_stats *regmem_stats(const struct regmem *m)
{
	return &m->st;
}

static int exos_backing_create(void *ctx, size_t size, void **base, void **handle)
{
	struct exos_region *r;
	int err = exos_region_create(ctx, size, &r);

	if (err < 0)
		return err;
	*base = r->base;
	*handle = r;
	return 0;
}

static void exos_backing_destroy(void *ctx, void *handle)
{
	exos_region_destroy(ctx, handle);
}

struct regmem_backing regmem_exos_backing(struct exos_sys *sys)
{
	return (struct regmem_backing){
	    .create = exos_backing_create,
	    .destroy = exos_backing_destroy,
	    .ctx = sys,
	};
}

static void *cache_alloc(void *ctx, size_t len)
{
	return regmem_alloc(ctx, len);
}

static void cache_free(void *ctx, void *mem, size_t len)
{
	regmem_free(ctx, mem, len);
}

struct http_cache_alloc regmem_cache_alloc(struct regmem *m)
{
	return (struct http_cache_alloc){.alloc = cache_alloc, .free = cache_free, .ctx = m};
}
