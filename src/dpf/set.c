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
	dpf_index_add(p, c);
	return 0;
}

static void child_remove(struct dpf_node *c)
{
	struct dpf_node *p = c->parent;
	struct dpf_node *last = p->children[--p->nchildren];

	dpf_index_del(p, c);
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
	s->stale = true; /* no program yet */
	s->root.norm = dpf_norm_new(&s->root.filter);
	if (!s->root.norm) {
		free(s);
		return NULL;
	}
	return s;
}

static void node_free(struct dpf_node *n)
{
	dpf_table_forget(n);
	dpf_index_drop(n);
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
	while (s->tables)
		dpf_table_drop_all(s, s->tables->parent);
	free(s->tctxs.v);
	free(s->tctxs.hash);
	for (uint32_t i = 0; i < s->root.nchildren; i++)
		free_subtree(s->root.children[i]);
	dpf_index_drop(&s->root);
	dpf_table_forget(&s->root);
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
		struct dpf_cand_lists cl;

		dpf_candidates(cur, n, &cl);
		for (unsigned l = 0; l < cl.count && !down; l++) {
			for (uint32_t i = 0; i < cl.n[l] && !down; i++) {
				const struct dpf_node *c = cl.v[l][i];

				switch (dpf_relate_norm(n, c->norm)) {
				case DPF_REL_EQUAL:
					*conflict = c->id;
					dpf_candidates_done(&cl);
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
		dpf_candidates_done(&cl);
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

int dpf_set_insert(struct dpf_set *s, uint32_t id, const struct dpf_filter *f, uint32_t *parent_out)
{
	const struct dpf_node *cparent;
	struct dpf_node *parent, *node, **movers = NULL;
	struct dpf_cand_lists cl;
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
	dpf_candidates(parent, n, &cl);
	for (unsigned l = 0; l < cl.count; l++)
		ncand += cl.n[l];
	movers = malloc((ncand ? ncand : 1) * sizeof(*movers));
	if (!movers) {
		dpf_candidates_done(&cl);
		idmap_del(&s->ids, id);
		node_free(node);
		return -ENOMEM;
	}
	for (unsigned l = 0; l < cl.count; l++)
		for (uint32_t i = 0; i < cl.n[l]; i++)
			if (dpf_relate_norm(n, cl.v[l][i]->norm) == DPF_REL_REFINED_BY)
				movers[nmove++] = cl.v[l][i];
	dpf_candidates_done(&cl);
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
	dpf_index_update(parent);
	dpf_index_update(node);
	s->ntree++;
	if (nmove || !dpf_table_insert(s, parent, node))
		s->stale = true;
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
	s->stale = true;
	return slot;
}

int dpf_set_delete(struct dpf_set *s, uint32_t id)
{
	struct dpf_node *node = id ? idmap_get(&s->ids, id) : NULL;
	struct dpf_node *parent;
	bool exact;

	if (!node)
		return -ENOENT;
	idmap_del(&s->ids, id);
	if (node->copy_slot >= 0) {
		s->copy[node->copy_slot] = NULL;
		s->ncopy--;
		s->stale = true;
		node_free(node);
		return 0;
	}
	/* a leaf in a live table leaves no trace in the installed program once out of it */
	exact = dpf_table_delete(s, node) && !node->tables;
	dpf_table_drop_all(s, node);
	if (!exact)
		s->stale = true;
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
	dpf_index_update(parent);
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

bool dpf_set_in_table(const struct dpf_set *s, uint32_t id)
{
	const struct dpf_node *n = id ? idmap_get(&s->ids, id) : NULL;

	return n && n->table;
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
