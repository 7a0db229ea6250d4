/* trie.c - from the filter tree to a decision trie of load-and-compare tests
 *
 * Each filter is a list of tests (tests.c); below its parent only its residual.
 *
 * The siblings of one tree level are pairwise disjoint, so at most one of them matches.  They
 * are merged into a trie: pick the test key (context, offset, width, mask) most siblings
 * share, load it once, and branch on its value (a binary search when many values: cost grows
 * with log n, not n); recurse on each value's group with that test removed.  Siblings without
 * the key are tried after the dispatch fails (the node's "rest").  Keys that all siblings
 * test with one value (a shared prefix: ethertype, protocol, local address...) become a single
 * chain with one bounds check per context.  A sibling whose tests are all done matches: record
 * its id and descend into its children's trie.
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
	struct dpf_set *s;
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
	return mix64(((uint64_t)k->ctx << 24 | (uint64_t)k->off << 8 | k->width) ^ (uint64_t)k->mask
										       << 32);
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

static struct dpf_tnode *build_level(struct builder *b, struct dpf_node *parent,
				     struct dpf_tnode **tables);

static struct dpf_tnode *make_match(struct builder *b, const struct dpf_node *node, bool descend)
{
	struct dpf_tnode *t = tnode_new(b, DPF_T_MATCH);

	if (!t)
		return NULL;
	t->match.id = node->id;
	if (descend) /* the set is the builder's, not const: tables may change */
		t->match.children = build_level(b, (struct dpf_node *)node, &t->match.tables);
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

/* Dispatch on key over the ng items testing it (first, from take_key); the items after them
 * become the node's rest, which the caller builds. */
static struct dpf_tnode *build_dispatch(struct builder *b, struct item *items, uint32_t ng,
					const struct dpf_test *key)
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
	return t;
}

/*
 * One step of build_items: a node for the first *used of items[0..m); when *used < m the
 * others still need a trie, to hang at *rest.  Keys that every item tests with the same
 * value are a shared prefix: one chain (one bounds check per context) in front of the rest.
 */
static struct dpf_tnode *build_step(struct builder *b, struct item *items, uint32_t m,
				    uint32_t *used, struct dpf_tnode ***rest)
{
	struct dpf_tnode *tail = NULL;
	struct dpf_test *prefix;
	uint32_t np = 0;

	*used = m;
	for (uint32_t i = 0; i < m; i++) /* nothing left to test: it matches, no other can */
		if (items[i].n == 0)
			return make_match(b, items[i].node, true);
	if (m == 1)
		return make_chain(b, items[0].tests, items[0].n,
				  make_match(b, items[0].node, true));
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
			tail = build_dispatch(b, items, ng, &k.key);
			if (tail) {
				*used = ng;
				*rest = &tail->rest;
			}
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

/*
 * The trie for items: pairwise disjoint siblings, each with its remaining tests.  A loop, not
 * a recursion, along the rest chain: a level can hold thousands of differently shaped
 * filters.
 */
static struct dpf_tnode *build_items(struct builder *b, struct item *items, uint32_t m)
{
	struct dpf_tnode *head = NULL, **link = &head;

	while (m > 0 && !b->err) {
		struct dpf_tnode **rest = NULL;
		uint32_t used;

		*link = build_step(b, items, m, &used, &rest);
		if (!*link || used == m)
			break;
		link = rest;
		items += used;
		m -= used;
	}
	return b->err ? NULL : head;
}

static struct dpf_test *alloc_tests(struct builder *b, const struct dpf_norm *n)
{
	struct dpf_test *v =
	    dpf_arena_alloc(&b->t->arena, (n->nbytes + DPF_MAX_DEPTH + 1) * sizeof(*v));

	if (!v)
		b->err = -ENOMEM;
	return v;
}

/* A TABLE node for tb, its shape in the trie's contexts. */
static struct dpf_tnode *make_table(struct builder *b, const struct dpf_table *tb)
{
	struct dpf_tnode *t = tnode_new(b, DPF_T_TABLE);
	struct dpf_test *tests = dpf_arena_alloc(&b->t->arena, tb->ntests * sizeof(*tests));

	if (!t || !tests) {
		b->err = -ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < tb->ntests; i++) {
		const struct dpf_ctx *c = &b->s->tctxs.v[tb->shape[i].ctx];
		int64_t ctx = dpf_ctx_intern(&b->t->ctxs, c->depth, c->chain);

		if (ctx < 0) {
			b->err = (int)ctx;
			return NULL;
		}
		tests[i] = tb->shape[i];
		tests[i].ctx = (uint32_t)ctx;
		b->t->ctxs.v[ctx].uses++;
	}
	t->table.map_fd = tb->map_fd;
	t->table.tests = tests;
	t->table.n = tb->ntests;
	return t;
}

/* TABLE nodes for parent's tables, chained through rest. */
static struct dpf_tnode *build_tables(struct builder *b, const struct dpf_node *parent)
{
	struct dpf_tnode *head = NULL, **link = &head;

	for (const struct dpf_table *tb = parent->tables; tb && !b->err; tb = tb->next) {
		*link = make_table(b, tb);
		if (*link)
			link = &(*link)->rest;
	}
	return b->err ? NULL : head;
}

/* The trie for the children of parent that no table serves; *tables: the tables. */
static struct dpf_tnode *build_level(struct builder *b, struct dpf_node *parent,
				     struct dpf_tnode **tables)
{
	struct item *items;
	struct dpf_tnode *t;
	uint32_t m = parent->nchildren, n = 0;
	bool *tabled;

	*tables = NULL;
	if (b->err)
		return NULL;
	tabled = calloc(m ? m : 1, sizeof(*tabled));
	items = calloc(m ? m : 1, sizeof(*items));
	if (!tabled || !items) {
		b->err = -ENOMEM;
		goto out;
	}
	if (b->s->tables_on && (b->err = dpf_table_level(b->s, parent, tabled)) == 0)
		*tables = build_tables(b, parent);
	for (uint32_t i = 0; i < m && !b->err; i++) {
		const struct dpf_node *c = parent->children[i];
		struct item *it = &items[n];

		if (tabled[i])
			continue;
		it->node = c;
		it->tests = alloc_tests(b, c->norm);
		if (it->tests) {
			int err =
			    dpf_make_tests(&b->t->ctxs, c->norm, parent->norm, it->tests, &it->n);
			if (err)
				b->err = err;
		}
		n++;
	}
out:
	t = b->err || !n ? NULL : build_items(b, items, n);
	free(items);
	free(tabled);
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
		b->err = dpf_make_tests(&b->t->ctxs, v[i].node->norm, NULL, tests, &n);
		c = b->err ? NULL : make_chain(b, tests, n, make_match(b, v[i].node, false));
		if (c)
			c->rest = head;
		head = c;
	}
	free(v);
	return head;
}

int dpf_trie_build(struct dpf_set *s, bool linear, struct dpf_trie *t)
{
	struct builder b = {.s = s, .t = t};
	static const struct dpf_chain none[DPF_MAX_DEPTH];

	memset(t, 0, sizeof(*t));
	if (dpf_ctx_intern(&t->ctxs, 0, none) < 0) /* the root context is index 0 */
		b.err = -ENOMEM;
	if (!b.err)
		t->tree = linear ? build_linear(&b, s) : build_level(&b, &s->root, &t->tree_tables);
	for (int slot = 0; slot < DPF_MAX_COPY && !b.err; slot++) {
		const struct dpf_node *c = s->copy[slot];
		struct dpf_test *tests;
		uint32_t n;

		if (!c)
			continue;
		tests = alloc_tests(&b, c->norm);
		if (!tests)
			break;
		b.err = dpf_make_tests(&t->ctxs, c->norm, NULL, tests, &n);
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
