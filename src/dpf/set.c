/* set.c - the filter set: the refinement tree of installed filters plus the copy filters
 *
 * Invariant: the children of every node are pairwise disjoint (no frame matches two of
 * them) and each refines its parent, so a frame matches at most one filter per tree level
 * and the matching filters form one path from the root.  Insertion keeps it: a new filter
 * descends into the child it refines, and at its level every sibling must be provably
 * disjoint (stays), refine it (moves under it), be equal (-EEXIST) or else (-EBUSY).
 * Deletion moves the children up: they refine the deleted filter, which was disjoint from its
 * siblings, so they are disjoint from them too.
 */
#include <stdlib.h>

#include "dpf_internal.h"

#define TOMBSTONE ((struct dpf_node *)(uintptr_t)1)

/* ---- id map ---- */

static size_t id_hash(uint32_t id, size_t cap)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

static struct dpf_node *idmap_get(const struct dpf_idmap *m, uint32_t id)
{
	if (!m->cap)
		return NULL;
	for (size_t i = id_hash(id, m->cap);; i = (i + 1) & (m->cap - 1)) {
		struct dpf_node *n = m->slots[i];

		if (!n)
			return NULL;
		if (n != TOMBSTONE && n->id == id)
			return n;
	}
}

static int idmap_grow(struct dpf_idmap *m)
{
	size_t cap = m->cap ? m->cap : 64;
	struct dpf_node **old = m->slots;
	size_t oldcap = m->cap;

	while (cap < 4 * (m->live + 1))
		cap *= 2;
	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		return -ENOMEM;
	}
	m->cap = cap;
	m->used = m->live;
	for (size_t i = 0; i < oldcap; i++) {
		struct dpf_node *n = old[i];

		if (n && n != TOMBSTONE) {
			size_t k = id_hash(n->id, cap);

			while (m->slots[k])
				k = (k + 1) & (cap - 1);
			m->slots[k] = n;
		}
	}
	free(old);
	return 0;
}

static int idmap_put(struct dpf_idmap *m, struct dpf_node *n)
{
	size_t i;

	if (2 * (m->used + 1) > m->cap) {
		int err = idmap_grow(m);

		if (err)
			return err;
	}
	for (i = id_hash(n->id, m->cap); m->slots[i] && m->slots[i] != TOMBSTONE;
	     i = (i + 1) & (m->cap - 1))
		;
	if (!m->slots[i])
		m->used++;
	m->slots[i] = n;
	m->live++;
	return 0;
}

static void idmap_del(struct dpf_idmap *m, uint32_t id)
{
	for (size_t i = id_hash(id, m->cap);; i = (i + 1) & (m->cap - 1)) {
		struct dpf_node *n = m->slots[i];

		if (!n)
			return;
		if (n != TOMBSTONE && n->id == id) {
			m->slots[i] = TOMBSTONE;
			m->live--;
			return;
		}
	}
}

/* ---- the children index ---- */

static int cvec_push(struct dpf_cvec *v, struct dpf_node *c)
{
	if (v->n == v->cap) {
		uint32_t cap = v->cap ? 2 * v->cap : 4;
		struct dpf_node **nv = realloc(v->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	c->ileaf = v;
	c->ipos = v->n;
	v->v[v->n++] = c;
	return 0;
}

static void cindex_free(struct dpf_cindex *x)
{
	if (!x)
		return;
	for (int b = 0; b <= DPF_INDEX_UNPINNED; b++) {
		free(x->bucket[b].members.v);
		cindex_free(x->bucket[b].sub);
	}
	free(x);
}

static void index_drop(struct dpf_node *p)
{
	cindex_free(p->index);
	p->index = NULL;
}

/* The bucket of a filter: its value of the discriminating byte, if it pins it. */
static uint16_t index_bucket(const struct dpf_cindex *x, const struct dpf_norm *n)
{
	const struct dpf_nbyte *b;

	if (n->nshift < x->depth)
		return DPF_INDEX_UNPINNED;
	for (int i = 0; i < x->depth; i++)
		if (memcmp(&n->chain[i], &x->chain[i], sizeof(x->chain[i])))
			return DPF_INDEX_UNPINNED;
	b = dpf_norm_byte(n, x->depth, x->off);
	return b && b->mask == 0xff ? b->value : DPF_INDEX_UNPINNED;
}

static int cindex_add(struct dpf_cindex *x, struct dpf_node *c)
{
	struct dpf_ibucket *b = &x->bucket[index_bucket(x, c->norm)];

	return b->sub ? cindex_add(b->sub, c) : cvec_push(&b->members, c);
}

static void index_add(struct dpf_node *p, struct dpf_node *c)
{
	if (p->index && cindex_add(p->index, c))
		index_drop(p);
}

static void index_del(struct dpf_node *p, struct dpf_node *c)
{
	struct dpf_cvec *v = c->ileaf;
	struct dpf_node *last;

	if (!p->index)
		return;
	last = v->v[--v->n];
	v->v[c->ipos] = last;
	last->ipos = c->ipos;
}

struct cand {
	const struct dpf_norm *ctx; /* a filter with this context */
	uint8_t depth;
	uint16_t off;
	uint32_t cover, distinct;
	uint64_t seen[4];
};

/*
 * The byte to discriminate v[0..n) on, from a sample: the one that leaves the fewest
 * candidates for a typical newcomer, (1 - cover) + cover / distinct.  false: none helps.
 */
static bool pick_byte(struct dpf_node *const *v, uint32_t n, struct dpf_cindex *x)
{
	uint32_t step = n / 64 + 1, ns = 0, ncand = 0, capcand = 0;
	struct cand *cands = NULL, *best = NULL;
	double best_score = 1.0;

	for (uint32_t i = 0; i < n; i += step, ns++) {
		const struct dpf_norm *nn = v[i]->norm;

		for (uint32_t k = 0; k < nn->nbytes; k++) {
			const struct dpf_nbyte *b = &nn->bytes[k];
			struct cand *c = NULL;

			if (b->mask != 0xff)
				continue;
			for (uint32_t j = 0; j < ncand && !c; j++)
				if (cands[j].depth == b->depth && cands[j].off == b->off &&
				    dpf_norm_same_ctx(cands[j].ctx, nn, b->depth))
					c = &cands[j];
			if (!c) {
				if (ncand == capcand) {
					uint32_t cap = capcand ? 2 * capcand : 64;
					struct cand *nv = realloc(cands, cap * sizeof(*nv));

					if (!nv) {
						free(cands);
						return false;
					}
					cands = nv;
					capcand = cap;
				}
				c = &cands[ncand++];
				*c = (struct cand){.ctx = nn, .depth = b->depth, .off = b->off};
			}
			c->cover++;
			if (!(c->seen[b->value / 64] & (1ull << (b->value % 64)))) {
				c->seen[b->value / 64] |= 1ull << (b->value % 64);
				c->distinct++;
			}
		}
	}
	for (uint32_t j = 0; j < ncand; j++) {
		double cover = (double)cands[j].cover / ns;
		double score = (1 - cover) + cover / cands[j].distinct;

		if (cands[j].distinct >= 2 && score < best_score - 1e-9) {
			best = &cands[j];
			best_score = score;
		}
	}
	if (best) {
		x->depth = best->depth;
		x->off = best->off;
		memset(x->chain, 0, sizeof(x->chain));
		memcpy(x->chain, best->ctx->chain, best->depth * sizeof(x->chain[0]));
	}
	free(cands);
	return best != NULL;
}

/* An index over v[0..n), or NULL (no useful byte, or no memory). */
static struct dpf_cindex *cindex_build(struct dpf_node *const *v, uint32_t n, int level)
{
	struct dpf_cindex *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	if (!pick_byte(v, n, x)) {
		free(x);
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++)
		if (cindex_add(x, v[i]))
			goto fail;
	if (level + 1 < DPF_INDEX_LEVELS) {
		for (int b = 0; b <= DPF_INDEX_UNPINNED; b++) {
			struct dpf_ibucket *bk = &x->bucket[b];
			struct dpf_cindex *sub;

			if (bk->members.n < DPF_INDEX_MIN)
				continue;
			sub = cindex_build(bk->members.v, bk->members.n, level + 1);
			if (sub) { /* the members are now filed in sub */
				free(bk->members.v);
				bk->members = (struct dpf_cvec){0};
				bk->sub = sub;
				continue;
			}
			for (uint32_t i = 0; i < bk->members.n; i++) { /* a failed sub refiled some */
				bk->members.v[i]->ileaf = &bk->members;
				bk->members.v[i]->ipos = i;
			}
		}
	}
	return x;
fail:
	cindex_free(x);
	return NULL;
}

static void index_update(struct dpf_node *p)
{
	if (p->nchildren < DPF_INDEX_MIN / 2) {
		index_drop(p);
		p->index_built_at = 0;
	} else if (p->nchildren >= DPF_INDEX_MIN && p->nchildren >= 2 * p->index_built_at) {
		index_drop(p);
		p->index = cindex_build(p->children, p->nchildren, 0);
		p->index_built_at = p->nchildren;
	}
}

struct cand_lists {
	struct dpf_node *const *v[64];
	uint32_t n[64];
	unsigned count;
	bool overflow;
};

static void collect(const struct dpf_ibucket *b, const struct dpf_norm *n, struct cand_lists *out);

static void collect_index(const struct dpf_cindex *x, const struct dpf_norm *n,
			  struct cand_lists *out)
{
	uint16_t b = index_bucket(x, n);

	if (b != DPF_INDEX_UNPINNED) {
		collect(&x->bucket[b], n, out);
		collect(&x->bucket[DPF_INDEX_UNPINNED], n, out);
		return;
	}
	for (int i = 0; i <= DPF_INDEX_UNPINNED && !out->overflow; i++)
		collect(&x->bucket[i], n, out);
}

static void collect(const struct dpf_ibucket *b, const struct dpf_norm *n, struct cand_lists *out)
{
	if (b->sub) {
		collect_index(b->sub, n, out);
	} else if (b->members.n) {
		if (out->count == 64) {
			out->overflow = true;
			return;
		}
		out->v[out->count] = b->members.v;
		out->n[out->count++] = b->members.n;
	}
}

/*
 * The children of p that n may overlap: all of them, or with an index the buckets n's values
 * lead to.  Every other child differs from n in a byte both pin: provably disjoint.
 */
static void candidates(const struct dpf_node *p, const struct dpf_norm *n, struct cand_lists *out)
{
	out->count = 0;
	out->overflow = false;
	if (p->index && index_bucket(p->index, n) != DPF_INDEX_UNPINNED)
		collect_index(p->index, n, out);
	if (!p->index || out->overflow || index_bucket(p->index, n) == DPF_INDEX_UNPINNED) {
		out->v[0] = p->children;
		out->n[0] = p->nchildren;
		out->count = 1;
	}
}

/* ---- children vectors ---- */

static int child_add(struct dpf_node *p, struct dpf_node *c)
{
	if (p->nchildren == p->cchildren) {
		uint32_t cap = p->cchildren ? 2 * p->cchildren : 4;
		struct dpf_node **v = realloc(p->children, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->children = v;
		p->cchildren = cap;
	}
	c->parent = p;
	c->pos = p->nchildren;
	p->children[p->nchildren++] = c;
	index_add(p, c);
	return 0;
}

static void child_remove(struct dpf_node *c)
{
	struct dpf_node *p = c->parent;
	struct dpf_node *last = p->children[--p->nchildren];

	index_del(p, c);
	p->children[c->pos] = last;
	last->pos = c->pos;
	c->parent = NULL;
}

static int child_reserve(struct dpf_node *p, uint32_t extra)
{
	uint32_t need = p->nchildren + extra;

	if (need > p->cchildren) {
		struct dpf_node **v = realloc(p->children, need * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->children = v;
		p->cchildren = need;
	}
	return 0;
}

/* ---- the set ---- */

struct dpf_set *dpf_set_new(void)
{
	struct dpf_set *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->root.copy_slot = -1;
	s->root.norm = dpf_norm_new(&s->root.filter);
	if (!s->root.norm) {
		free(s);
		return NULL;
	}
	return s;
}

static void node_free(struct dpf_node *n)
{
	index_drop(n);
	free(n->children);
	free(n->norm);
	free(n);
}

static void free_subtree(struct dpf_node *n)
{
	for (uint32_t i = 0; i < n->nchildren; i++)
		free_subtree(n->children[i]);
	node_free(n);
}

void dpf_set_free(struct dpf_set *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->root.nchildren; i++)
		free_subtree(s->root.children[i]);
	index_drop(&s->root);
	free(s->root.children);
	free(s->root.norm);
	for (int i = 0; i < DPF_MAX_COPY; i++)
		if (s->copy[i])
			node_free(s->copy[i]);
	free(s->ids.slots);
	free(s);
}

/*
 * Finds where n goes: *parent is the deepest node n refines.  Returns 0, -EEXIST or -EBUSY
 * (*conflict names the equal/ambiguous filter).
 */
static int place(const struct dpf_set *s, const struct dpf_norm *n, const struct dpf_node **parent,
		 uint32_t *conflict)
{
	const struct dpf_node *cur = &s->root;

	for (;;) {
		const struct dpf_node *down = NULL, *ambiguous = NULL;
		struct cand_lists cl;

		candidates(cur, n, &cl);
		for (unsigned l = 0; l < cl.count && !down; l++) {
			for (uint32_t i = 0; i < cl.n[l] && !down; i++) {
				const struct dpf_node *c = cl.v[l][i];

				switch (dpf_relate_norm(n, c->norm)) {
				case DPF_REL_EQUAL:
					*conflict = c->id;
					return -EEXIST;
				case DPF_REL_REFINES:
					down = c;
					break;
				case DPF_REL_AMBIGUOUS:
					if (!ambiguous)
						ambiguous = c;
					break;
				default:
					break;
				}
			}
		}
		if (down) {
			cur = down;
			continue;
		}
		if (ambiguous) {
			*conflict = ambiguous->id;
			return -EBUSY;
		}
		*parent = cur;
		return 0;
	}
}

static int check_filter(const struct dpf_filter *f, struct dpf_norm **out)
{
	struct dpf_norm *n;

	if (dpf_filter_validate(f))
		return -EINVAL;
	n = dpf_norm_new(f);
	if (!n)
		return -ENOMEM;
	if (n->unsat) { /* matches nothing: certainly not what the caller meant */
		free(n);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

int dpf_set_place(const struct dpf_set *s, const struct dpf_filter *f, uint32_t *parent_out)
{
	const struct dpf_node *parent;
	struct dpf_norm *n;
	uint32_t conflict = 0;
	int err = check_filter(f, &n);

	if (err)
		return err;
	err = place(s, n, &parent, &conflict);
	free(n);
	if (parent_out)
		*parent_out = err ? conflict : parent->id;
	return err;
}

static struct dpf_node *node_new(uint32_t id, const struct dpf_filter *f, struct dpf_norm *n)
{
	struct dpf_node *node = calloc(1, sizeof(*node));

	if (!node)
		return NULL;
	node->id = id;
	node->copy_slot = -1;
	node->norm = n;
	node->filter = *f;
	return node;
}

int dpf_set_insert(struct dpf_set *s, uint32_t id, const struct dpf_filter *f,
		   uint32_t *parent_out)
{
	const struct dpf_node *cparent;
	struct dpf_node *parent, *node, **movers = NULL;
	struct cand_lists cl;
	struct dpf_norm *n;
	uint32_t conflict = 0, nmove = 0, ncand = 0;
	int err;

	if (id == 0 || idmap_get(&s->ids, id))
		return -EINVAL;
	if (s->ntree >= DPF_MAX_FILTERS)
		return -ENOSPC;
	err = check_filter(f, &n);
	if (err)
		return err;
	err = place(s, n, &cparent, &conflict);
	if (err) {
		free(n);
		if (parent_out)
			*parent_out = conflict;
		return err;
	}
	parent = (struct dpf_node *)cparent;
	node = node_new(id, f, n);
	if (!node || idmap_put(&s->ids, node)) {
		free(node);
		free(n);
		return -ENOMEM;
	}
	/* Siblings that refine the new filter move under it. */
	if (child_reserve(parent, 1)) { /* first: it may move parent->children */
		idmap_del(&s->ids, id);
		node_free(node);
		return -ENOMEM;
	}
	candidates(parent, n, &cl);
	for (unsigned l = 0; l < cl.count; l++)
		ncand += cl.n[l];
	movers = malloc((ncand ? ncand : 1) * sizeof(*movers));
	if (!movers) {
		idmap_del(&s->ids, id);
		node_free(node);
		return -ENOMEM;
	}
	for (unsigned l = 0; l < cl.count; l++)
		for (uint32_t i = 0; i < cl.n[l]; i++)
			if (dpf_relate_norm(n, cl.v[l][i]->norm) == DPF_REL_REFINED_BY)
				movers[nmove++] = cl.v[l][i];
	if (child_reserve(node, nmove)) {
		free(movers);
		idmap_del(&s->ids, id);
		node_free(node);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < nmove; i++) {
		child_remove(movers[i]);
		child_add(node, movers[i]); /* reserved: cannot fail */
	}
	free(movers);
	child_add(parent, node);
	index_update(parent);
	index_update(node);
	s->ntree++;
	if (parent_out)
		*parent_out = parent->id;
	return 0;
}

int dpf_set_insert_copy(struct dpf_set *s, uint32_t id, const struct dpf_filter *f)
{
	struct dpf_node *node;
	struct dpf_norm *n;
	int slot, err;

	if (id == 0)
		return -EINVAL;
	if (idmap_get(&s->ids, id))
		return -EEXIST;
	if (s->ncopy >= DPF_MAX_COPY)
		return -ENOSPC;
	err = check_filter(f, &n);
	if (err)
		return err;
	for (slot = 0; s->copy[slot]; slot++)
		;
	node = node_new(id, f, n);
	if (!node || idmap_put(&s->ids, node)) {
		free(node);
		free(n);
		return -ENOMEM;
	}
	node->copy_slot = slot;
	s->copy[slot] = node;
	s->ncopy++;
	return slot;
}

int dpf_set_delete(struct dpf_set *s, uint32_t id)
{
	struct dpf_node *node = id ? idmap_get(&s->ids, id) : NULL;
	struct dpf_node *parent;

	if (!node)
		return -ENOENT;
	idmap_del(&s->ids, id);
	if (node->copy_slot >= 0) {
		s->copy[node->copy_slot] = NULL;
		s->ncopy--;
		node_free(node);
		return 0;
	}
	parent = node->parent;
	child_remove(node);
	if (child_reserve(parent, node->nchildren)) {
		/* Cannot fail in practice (shrinking tree); keep the subtree reachable. */
		child_add(parent, node);
		idmap_put(&s->ids, node);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < node->nchildren; i++)
		child_add(parent, node->children[i]);
	index_update(parent);
	s->ntree--;
	node_free(node);
	return 0;
}

size_t dpf_set_count(const struct dpf_set *s)
{
	return s->ntree + s->ncopy;
}

uint32_t dpf_set_parent(const struct dpf_set *s, uint32_t id)
{
	const struct dpf_node *n = id ? idmap_get(&s->ids, id) : NULL;

	return n && n->parent ? n->parent->id : 0;
}

int dpf_set_copy_slot(const struct dpf_set *s, uint32_t id)
{
	const struct dpf_node *n = id ? idmap_get(&s->ids, id) : NULL;

	return n && n->copy_slot >= 0 ? n->copy_slot : -ENOENT;
}

static void walk(const struct dpf_node *n, int depth, dpf_visit_fn fn, void *arg)
{
	for (uint32_t i = 0; i < n->nchildren; i++) {
		const struct dpf_node *c = n->children[i];

		fn(c->id, n->id, depth, false, &c->filter, arg);
		walk(c, depth + 1, fn, arg);
	}
}

void dpf_set_walk(const struct dpf_set *s, dpf_visit_fn fn, void *arg)
{
	walk(&s->root, 0, fn, arg);
	for (int i = 0; i < DPF_MAX_COPY; i++)
		if (s->copy[i])
			fn(s->copy[i]->id, 0, 0, true, &s->copy[i]->filter, arg);
}
