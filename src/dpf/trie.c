/* trie.c - from the filter tree to a decision trie of load-and-compare tests
 *
 * Each filter becomes a list of tests: its constrained bytes, per context, cut into 1-, 2- or
 * 4-byte loads on a fixed grid (so that equal fields of different filters become equal test
 * keys), plus a length test where the filter needs more bytes than its loads touch.  Below
 * its parent a filter only needs the tests its parent has not already done (its residual).
 *
 * The siblings of one tree level are pairwise disjoint, so at most one of them matches.  They
 * are merged into a trie: pick the test key (context, offset, width, mask) most siblings
 * share, load it once, and branch on its value (a binary search when many values: cost grows
 * with log n, not n); recurse on each value's group with that test removed.  Siblings without
 * the key are tried after the dispatch fails (the node's "rest").  A sibling whose tests are
 * all done matches: record its id and descend into its children's trie.
 *
 * Linear mode (the baseline) skips all of it: every filter's full test list in turn, deepest
 * filters first, so the first match is the deepest one.
 */
#include <stdlib.h>

#include "dpf_internal.h"

/* ---- arena ---- */

struct dpf_arena_blk {
	struct dpf_arena_blk *next;
	size_t used, size;
	max_align_t data[];
};

void *dpf_arena_alloc(struct dpf_arena *a, size_t size)
{
	struct dpf_arena_blk *b = a->blk;

	size = (size + 15) & ~(size_t)15;
	if (!b || b->size - b->used < size) {
		size_t bsize = size > 65536 ? size : 65536;

		b = malloc(sizeof(*b) + bsize);
		if (!b)
			return NULL;
		b->next = a->blk;
		b->used = 0;
		b->size = bsize;
		a->blk = b;
	}
	b->used += size;
	return (uint8_t *)b->data + b->used - size;
}

void dpf_arena_free(struct dpf_arena *a)
{
	while (a->blk) {
		struct dpf_arena_blk *next = a->blk->next;

		free(a->blk);
		a->blk = next;
	}
}

/* ---- context table ---- */

static uint32_t ctx_hash(int depth, const struct dpf_chain *chain)
{
	uint32_t h = 2166136261u ^ (uint32_t)depth;

	for (int i = 0; i < depth; i++) {
		const struct dpf_chain *c = &chain[i];
		uint32_t w[3] = {c->offset | (uint32_t)c->add << 16, c->mask,
				 c->width | (uint32_t)c->shift << 8};

		for (int k = 0; k < 3; k++)
			h = (h ^ w[k]) * 16777619u;
	}
	return h ^ (h >> 15);
}

static bool ctx_eq(const struct dpf_ctx *c, int depth, const struct dpf_chain *chain)
{
	if (c->depth != depth)
		return false;
	for (int i = 0; i < depth; i++) {
		const struct dpf_chain *a = &c->chain[i], *b = &chain[i];

		if (a->offset != b->offset || a->add != b->add || a->mask != b->mask ||
		    a->width != b->width || a->shift != b->shift)
			return false;
	}
	return true;
}

static int ctxtab_grow(struct dpf_ctxtab *t)
{
	uint32_t cap = t->cap ? 2 * t->cap : 16, hcap = 4 * cap;
	struct dpf_ctx *v = realloc(t->v, cap * sizeof(*v));
	uint32_t *h;

	if (!v)
		return -ENOMEM;
	t->v = v;
	h = calloc(hcap, sizeof(*h));
	if (!h)
		return -ENOMEM;
	free(t->hash);
	t->hash = h;
	t->hcap = hcap;
	t->cap = cap;
	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t k = ctx_hash(v[i].depth, v[i].chain) & (hcap - 1);

		while (h[k])
			k = (k + 1) & (hcap - 1);
		h[k] = i + 1;
	}
	return 0;
}

/* Index of the context after the first depth SHIFTs of chain; -ENOMEM. */
static int64_t ctx_intern(struct dpf_ctxtab *t, int depth, const struct dpf_chain *chain)
{
	uint32_t k;
	int64_t parent = -1;

	if (t->n == t->cap && ctxtab_grow(t))
		return -ENOMEM;
	for (k = ctx_hash(depth, chain) & (t->hcap - 1); t->hash[k]; k = (k + 1) & (t->hcap - 1))
		if (ctx_eq(&t->v[t->hash[k] - 1], depth, chain))
			return t->hash[k] - 1;
	if (depth > 0) {
		parent = ctx_intern(t, depth - 1, chain);
		if (parent < 0)
			return parent;
		if (t->n == t->cap && ctxtab_grow(t))
			return -ENOMEM;
		/* the table may have been rehashed: find the free slot again */
		for (k = ctx_hash(depth, chain) & (t->hcap - 1); t->hash[k];
		     k = (k + 1) & (t->hcap - 1))
			;
	}
	t->v[t->n] = (struct dpf_ctx){.depth = depth, .parent = (int32_t)parent, .slot = -1};
	memcpy(t->v[t->n].chain, chain, depth * sizeof(*chain));
	if (depth > 0)
		t->v[t->n].shift = chain[depth - 1];
	t->hash[k] = t->n + 1;
	return t->n++;
}

/* ---- tests ---- */

struct chunk_byte {
	uint16_t off;
	uint8_t mask, value;
};

static uint32_t native(const uint8_t *b, unsigned width)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;

	switch (width) {
	case 1:
		memcpy(&u8, b, 1);
		return u8;
	case 2:
		memcpy(&u16, b, 2);
		return u16;
	default:
		memcpy(&u32, b, 4);
		return u32;
	}
}

static void emit_chunk(struct dpf_test *out, uint32_t *nout, uint32_t ctx, uint16_t off,
		       unsigned width, const struct chunk_byte *bytes, unsigned nbytes)
{
	uint8_t m[4] = {0}, v[4] = {0};

	for (unsigned i = 0; i < nbytes; i++) {
		if (bytes[i].off < off || bytes[i].off >= off + width)
			continue;
		m[bytes[i].off - off] = bytes[i].mask;
		v[bytes[i].off - off] = bytes[i].value;
	}
	out[(*nout)++] = (struct dpf_test){
		.ctx = ctx,
		.off = off,
		.width = width,
		.mask = native(m, width),
		.value = native(v, width),
	};
}

/* Cuts the constrained bytes of one grid word [g, g+4) into loads ending by extent. */
static uint16_t chunk_word(struct dpf_test *out, uint32_t *nout, uint32_t ctx, int g,
			   const struct chunk_byte *b, unsigned nb, uint16_t extent)
{
	bool half[2] = {false, false};
	uint16_t end = 0;

	for (unsigned i = 0; i < nb; i++)
		half[(b[i].off - g) >= 2] = true;
	if (half[0] && half[1] && g >= 0 && g + 4 <= extent) {
		emit_chunk(out, nout, ctx, g, 4, b, nb);
		return g + 4;
	}
	for (int h = 0; h < 2; h++) {
		int lo = g + 2 * h;
		unsigned cnt = 0;
		uint16_t only = 0;

		if (!half[h])
			continue;
		for (unsigned i = 0; i < nb; i++)
			if (b[i].off >= lo && b[i].off < lo + 2) {
				cnt++;
				only = b[i].off;
			}
		if (cnt == 2) {
			emit_chunk(out, nout, ctx, lo, 2, b, nb);
			end = lo + 2;
		} else {
			emit_chunk(out, nout, ctx, only, 1, b, nb);
			end = only + 1;
		}
	}
	return end;
}

/*
 * The tests of n below parent p (NULL: the full test list): n's constrained bits that p does
 * not constrain, plus length tests.  out has room for n->nbytes + DPF_MAX_DEPTH + 1 tests.
 */
static int make_tests(struct dpf_ctxtab *ctxs, const struct dpf_norm *n, const struct dpf_norm *p,
		      struct dpf_test *out, uint32_t *nout)
{
	uint32_t i = 0, j = 0;

	*nout = 0;
	for (int d = 0; d <= n->nshift && d <= DPF_MAX_DEPTH; d++) {
		struct chunk_byte word[4];
		bool shared = p && dpf_norm_same_ctx(n, p, d);
		uint16_t known = shared ? p->extent[d] : 0, end = 0;
		int phase = d == 0 ? 2 : 0, g = INT32_MIN;
		unsigned nw = 0;
		int64_t ctx;

		if (!n->extent[d])
			continue;
		ctx = ctx_intern(ctxs, d, n->chain);
		if (ctx < 0)
			return (int)ctx;
		for (; i < n->nbytes && n->bytes[i].depth == d; i++) {
			const struct dpf_nbyte *b = &n->bytes[i];
			uint8_t mask = b->mask;
			int wg;

			if (shared) {
				while (j < p->nbytes &&
				       (p->bytes[j].depth < d ||
					(p->bytes[j].depth == d && p->bytes[j].off < b->off)))
					j++;
				if (j < p->nbytes && p->bytes[j].depth == d && p->bytes[j].off == b->off)
					mask &= ~p->bytes[j].mask;
			}
			if (!mask)
				continue;
			wg = (int)b->off - ((int)b->off - phase + 4) % 4;
			if (wg != g && nw) {
				uint16_t e = chunk_word(out, nout, (uint32_t)ctx, g, word, nw,
							n->extent[d]);
				end = e > end ? e : end;
				nw = 0;
			}
			g = wg;
			word[nw++] = (struct chunk_byte){b->off, mask, b->value & mask};
		}
		if (nw) {
			uint16_t e = chunk_word(out, nout, (uint32_t)ctx, g, word, nw, n->extent[d]);
			end = e > end ? e : end;
		}
		if (n->extent[d] > known && n->extent[d] > end)
			out[(*nout)++] = (struct dpf_test){
				.ctx = (uint32_t)ctx,
				.off = n->extent[d] - 1,
				.width = 1,
			};
	}
	for (uint32_t k = 0; k < *nout; k++)
		ctxs->v[out[k].ctx].uses++;
	return 0;
}

/* ---- trie ---- */

struct item {
	const struct dpf_node *node;
	struct dpf_test *tests;
	uint32_t n;
	uint32_t val; /* value of the key being dispatched on */
};

struct keyslot {
	struct dpf_test key; /* the first value seen */
	uint32_t count;	     /* items testing the key */
	uint32_t nvals;	     /* distinct values among them */
	bool used;
};

struct builder {
	struct dpf_trie *t;
	int err;
};

static bool key_eq(const struct dpf_test *a, const struct dpf_test *b)
{
	return a->ctx == b->ctx && a->off == b->off && a->width == b->width && a->mask == b->mask;
}

static uint32_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return (uint32_t)(x ^ (x >> 33));
}

static uint32_t key_hash(const struct dpf_test *k)
{
	return mix64(((uint64_t)k->ctx << 24 | (uint64_t)k->off << 8 | k->width) ^
		     (uint64_t)k->mask << 32);
}

/*
 * Is a a better dispatch key than best?  The one most siblings test; then one they all agree
 * on (a shared prefix, tested once for all); then the most discriminating; then shallower,
 * earlier, wider.
 */
static bool key_better(const struct keyslot *a, const struct keyslot *best)
{
	if (!best)
		return true;
	if (a->count != best->count)
		return a->count > best->count;
	if ((a->nvals == 1) != (best->nvals == 1))
		return a->nvals == 1;
	if (a->nvals != best->nvals)
		return a->nvals > best->nvals;
	if (a->key.ctx != best->key.ctx)
		return a->key.ctx < best->key.ctx;
	if (a->key.off != best->key.off)
		return a->key.off < best->key.off;
	if (a->key.width != best->key.width)
		return a->key.width > best->key.width;
	return a->key.mask > best->key.mask;
}

/* Counts keys (and distinct (key, value) pairs) over the items' tests; picks the best key. */
static int choose_key(struct item *items, uint32_t m, struct keyslot *out)
{
	uint32_t total = 0, cap = 16;
	struct keyslot *tab, *best = NULL;
	struct dpf_test *vals; /* distinct (key, value) pairs */
	bool *vused;

	for (uint32_t i = 0; i < m; i++)
		total += items[i].n;
	while (cap < 2 * total)
		cap *= 2;
	tab = calloc(cap, sizeof(*tab));
	vals = calloc(cap, sizeof(*vals));
	vused = calloc(cap, sizeof(*vused));
	if (!tab || !vals || !vused) {
		free(tab);
		free(vals);
		free(vused);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < m; i++) {
		for (uint32_t k = 0; k < items[i].n; k++) {
			const struct dpf_test *t = &items[i].tests[k];
			uint32_t hk = key_hash(t), h = hk & (cap - 1);
			uint32_t hv = mix64((uint64_t)hk << 32 | t->value) & (cap - 1);

			while (tab[h].used && !key_eq(&tab[h].key, t))
				h = (h + 1) & (cap - 1);
			if (!tab[h].used) {
				tab[h].used = true;
				tab[h].key = *t;
			}
			tab[h].count++;
			while (vused[hv] && !(key_eq(&vals[hv], t) && vals[hv].value == t->value))
				hv = (hv + 1) & (cap - 1);
			if (!vused[hv]) {
				vused[hv] = true;
				vals[hv] = *t;
				tab[h].nvals++;
			}
		}
	}
	for (uint32_t h = 0; h < cap; h++)
		if (tab[h].used && key_better(&tab[h], best))
			best = &tab[h];
	*out = *best;
	out->key.value = 0;
	free(tab);
	free(vals);
	free(vused);
	return 0;
}

static int item_val_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;

	return a->val < b->val ? -1 : a->val > b->val;
}

static struct dpf_tnode *tnode_new(struct builder *b, enum dpf_tkind kind)
{
	struct dpf_tnode *t = dpf_arena_alloc(&b->t->arena, sizeof(*t));

	if (!t) {
		b->err = -ENOMEM;
		return NULL;
	}
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	return t;
}

static struct dpf_tnode *build_level(struct builder *b, const struct dpf_node *parent);

static struct dpf_tnode *make_match(struct builder *b, const struct dpf_node *node, bool descend)
{
	struct dpf_tnode *t = tnode_new(b, DPF_T_MATCH);

	if (!t)
		return NULL;
	t->match.id = node->id;
	if (descend)
		t->match.children = build_level(b, node);
	return t;
}

static struct dpf_tnode *make_chain(struct builder *b, struct dpf_test *tests, uint32_t n,
				    struct dpf_tnode *next)
{
	struct dpf_tnode *t = tnode_new(b, DPF_T_CHAIN);

	if (!t)
		return NULL;
	t->chain.tests = tests;
	t->chain.n = n;
	t->chain.next = next;
	return t;
}

/* Removes key from every item that tests it, moving those to the front; returns how many. */
static uint32_t take_key(struct item *items, uint32_t m, const struct dpf_test *key)
{
	uint32_t ng = 0;

	for (uint32_t i = 0; i < m; i++) {
		struct item *it = &items[i];
		uint32_t k;

		for (k = 0; k < it->n && !key_eq(&it->tests[k], key); k++)
			;
		if (k == it->n)
			continue;
		it->val = it->tests[k].value;
		it->tests[k] = it->tests[it->n - 1];
		it->tests[--it->n] = (struct dpf_test){0};
		if (i != ng) {
			struct item tmp = items[ng];

			items[ng] = *it;
			*it = tmp;
		}
		ng++;
	}
	return ng;
}

static struct dpf_tnode *build_items(struct builder *b, struct item *items, uint32_t m);

/* Dispatch on key: the ng items testing it come first (from take_key), the others are the
 * node's rest. */
static struct dpf_tnode *build_dispatch(struct builder *b, struct item *items, uint32_t m,
					uint32_t ng, const struct dpf_test *key)
{
	struct dpf_tnode *t;
	uint32_t nvals = 0;

	qsort(items, ng, sizeof(*items), item_val_cmp);
	for (uint32_t i = 0; i < ng; i++)
		if (i == 0 || items[i].val != items[i - 1].val)
			nvals++;
	t = tnode_new(b, DPF_T_DISPATCH);
	if (!t)
		return NULL;
	t->dispatch.key = *key;
	t->dispatch.nvals = nvals;
	t->dispatch.vals = dpf_arena_alloc(&b->t->arena, nvals * sizeof(uint32_t));
	t->dispatch.subs = dpf_arena_alloc(&b->t->arena, nvals * sizeof(t->dispatch.subs[0]));
	if (!t->dispatch.vals || !t->dispatch.subs) {
		b->err = -ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0, v = 0; i < ng; v++) {
		uint32_t j = i;

		while (j < ng && items[j].val == items[i].val)
			j++;
		t->dispatch.vals[v] = items[i].val;
		t->dispatch.subs[v] = build_items(b, items + i, j - i);
		i = j;
	}
	t->rest = build_items(b, items + ng, m - ng);
	return t;
}

/*
 * The trie for items (pairwise disjoint siblings, each with its remaining tests).  Keys that
 * every item tests with the same value are a shared prefix: they become one chain (one bounds
 * check per context) in front of whatever follows.
 */
static struct dpf_tnode *build_items(struct builder *b, struct item *items, uint32_t m)
{
	struct dpf_tnode *tail = NULL;
	struct dpf_test *prefix;
	uint32_t np = 0;

	if (m == 0 || b->err)
		return NULL;
	for (uint32_t i = 0; i < m; i++) /* nothing left to test: it matches, no other can */
		if (items[i].n == 0)
			return make_match(b, items[i].node, true);
	if (m == 1)
		return make_chain(b, items[0].tests, items[0].n, make_match(b, items[0].node, true));
	/* a prefix is at most as long as any item's test list */
	prefix = dpf_arena_alloc(&b->t->arena, items[0].n * sizeof(*prefix));
	if (!prefix) {
		b->err = -ENOMEM;
		return NULL;
	}
	for (;;) {
		struct keyslot k;
		uint32_t ng;

		b->err = choose_key(items, m, &k);
		if (b->err)
			return NULL;
		ng = take_key(items, m, &k.key);
		if (k.count != m || k.nvals != 1) {
			tail = build_dispatch(b, items, m, ng, &k.key);
			break;
		}
		prefix[np] = k.key;
		prefix[np++].value = items[0].val;
		for (uint32_t i = 0; i < m && !tail; i++)
			if (items[i].n == 0)
				tail = make_match(b, items[i].node, true);
		if (tail)
			break;
	}
	return np ? make_chain(b, prefix, np, tail) : tail;
}

static struct dpf_test *alloc_tests(struct builder *b, const struct dpf_norm *n)
{
	struct dpf_test *v =
		dpf_arena_alloc(&b->t->arena, (n->nbytes + DPF_MAX_DEPTH + 1) * sizeof(*v));

	if (!v)
		b->err = -ENOMEM;
	return v;
}

/* The trie for the children of parent. */
static struct dpf_tnode *build_level(struct builder *b, const struct dpf_node *parent)
{
	struct item *items;
	struct dpf_tnode *t;
	uint32_t m = parent->nchildren;

	if (!m || b->err)
		return NULL;
	items = calloc(m, sizeof(*items));
	if (!items) {
		b->err = -ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < m && !b->err; i++) {
		const struct dpf_node *c = parent->children[i];

		items[i].node = c;
		items[i].tests = alloc_tests(b, c->norm);
		if (items[i].tests) {
			int err = make_tests(&b->t->ctxs, c->norm, parent->norm, items[i].tests,
					     &items[i].n);
			if (err)
				b->err = err;
		}
	}
	t = b->err ? NULL : build_items(b, items, m);
	free(items);
	return t;
}

/* ---- linear mode ---- */

struct lin {
	const struct dpf_node *node;
	uint32_t depth, order;
};

static int lin_cmp(const void *pa, const void *pb)
{
	const struct lin *a = pa, *b = pb;

	if (a->depth != b->depth)
		return a->depth > b->depth ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static void lin_collect(const struct dpf_node *n, uint32_t depth, struct lin *v, uint32_t *nv)
{
	for (uint32_t i = 0; i < n->nchildren; i++) {
		v[*nv] = (struct lin){n->children[i], depth, *nv};
		(*nv)++;
		lin_collect(n->children[i], depth + 1, v, nv);
	}
}

static struct dpf_tnode *build_linear(struct builder *b, const struct dpf_set *s)
{
	struct dpf_tnode *head = NULL;
	struct lin *v;
	uint32_t nv = 0;

	if (!s->ntree)
		return NULL;
	v = malloc(s->ntree * sizeof(*v));
	if (!v) {
		b->err = -ENOMEM;
		return NULL;
	}
	lin_collect(&s->root, 0, v, &nv);
	qsort(v, nv, sizeof(*v), lin_cmp);
	for (uint32_t i = nv; i-- > 0 && !b->err;) {
		struct dpf_test *tests = alloc_tests(b, v[i].node->norm);
		struct dpf_tnode *c;
		uint32_t n;

		if (!tests)
			break;
		b->err = make_tests(&b->t->ctxs, v[i].node->norm, NULL, tests, &n);
		c = b->err ? NULL : make_chain(b, tests, n, make_match(b, v[i].node, false));
		if (c)
			c->rest = head;
		head = c;
	}
	free(v);
	return head;
}

int dpf_trie_build(const struct dpf_set *s, bool linear, struct dpf_trie *t)
{
	struct builder b = {.t = t};
	static const struct dpf_chain none[DPF_MAX_DEPTH];

	memset(t, 0, sizeof(*t));
	if (ctx_intern(&t->ctxs, 0, none) < 0) /* the root context is index 0 */
		b.err = -ENOMEM;
	if (!b.err)
		t->tree = linear ? build_linear(&b, s) : build_level(&b, &s->root);
	for (int slot = 0; slot < DPF_MAX_COPY && !b.err; slot++) {
		const struct dpf_node *c = s->copy[slot];
		struct dpf_test *tests;
		uint32_t n;

		if (!c)
			continue;
		tests = alloc_tests(&b, c->norm);
		if (!tests)
			break;
		b.err = make_tests(&t->ctxs, c->norm, NULL, tests, &n);
		if (b.err)
			break;
		t->copy[t->ncopy].slot = slot;
		t->copy[t->ncopy].chain = make_chain(&b, tests, n, NULL);
		t->ncopy++;
	}
	if (b.err) {
		dpf_trie_free(t);
		return b.err;
	}
	return 0;
}

void dpf_trie_free(struct dpf_trie *t)
{
	dpf_arena_free(&t->arena);
	free(t->ctxs.v);
	free(t->ctxs.hash);
	memset(t, 0, sizeof(*t));
}
