/* index.c - an index over a node's children, so that placing a filter is not O(siblings)
 *
 * A small decision tree on discriminating bytes: at each level a byte (context and offset)
 * that the children pin to many values; a child goes into its value's bucket, or the
 * "unpinned" bucket.  A new filter that pins the byte can only overlap the children of its
 * value's bucket and of the unpinned one: every other child has a different value in a byte
 * both pin, which dpf_relate() would find DISJOINT anyway.  A crowded bucket gets its own
 * index on another byte.  The index is rebuilt when the number of children doubles (so the
 * choice of bytes follows the population), and dropped when memory runs out: it only ever
 * narrows the candidates dpf_set_place() relates the filter to.
 */
#include <stdlib.h>

#include "dpf_internal.h"

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

void dpf_index_drop(struct dpf_node *p)
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

void dpf_index_add(struct dpf_node *p, struct dpf_node *c)
{
	if (p->index && cindex_add(p->index, c))
		dpf_index_drop(p);
}

void dpf_index_del(struct dpf_node *p, struct dpf_node *c)
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
 * The byte to discriminate v[0..n) on, from a sample.  Best is one that every sampled filter
 * pins (the most distinct values among those): a newcomer that does not pin it has to be
 * compared with everything, and a later level can split a crowded bucket further.  Else the
 * one that leaves the fewest dpf_candidates for a typical newcomer, (1 - cover) + cover /
 * distinct.  false: none helps.
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
	for (uint32_t j = 0; j < ncand; j++)
		if (cands[j].cover == ns && cands[j].distinct >= 2 &&
		    (!best || cands[j].distinct > best->distinct))
			best = &cands[j];
	for (uint32_t j = 0; j < ncand && !best; j++) {
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
			for (uint32_t i = 0; i < bk->members.n;
			     i++) { /* a failed sub refiled some */
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

void dpf_index_update(struct dpf_node *p)
{
	if (p->nchildren < DPF_INDEX_MIN / 2) {
		dpf_index_drop(p);
		p->index_built_at = 0;
	} else if (p->nchildren >= DPF_INDEX_MIN && p->nchildren >= 2 * p->index_built_at) {
		dpf_index_drop(p);
		p->index = cindex_build(p->children, p->nchildren, 0);
		p->index_built_at = p->nchildren;
	}
}

static void collect(const struct dpf_ibucket *b, const struct dpf_norm *n,
		    struct dpf_cand_lists *out);

static void collect_index(const struct dpf_cindex *x, const struct dpf_norm *n,
			  struct dpf_cand_lists *out)
{
	uint16_t b = index_bucket(x, n);

	if (b != DPF_INDEX_UNPINNED) {
		collect(&x->bucket[b], n, out);
		collect(&x->bucket[DPF_INDEX_UNPINNED], n, out);
		return;
	}
	for (int i = 0; i <= DPF_INDEX_UNPINNED; i++)
		collect(&x->bucket[i], n, out);
}

static void collect(const struct dpf_ibucket *b, const struct dpf_norm *n,
		    struct dpf_cand_lists *out)
{
	if (b->sub) {
		collect_index(b->sub, n, out);
		return;
	}
	if (!b->members.n || out->nomem)
		return;
	if (out->count == out->cap) {
		unsigned cap = 2 * out->cap;
		struct dpf_node *const **v = malloc(cap * sizeof(*v));
		uint32_t *nn = malloc(cap * sizeof(*nn));

		if (!v || !nn) {
			free(v);
			free(nn);
			out->nomem = true;
			return;
		}
		memcpy(v, out->v, out->count * sizeof(*v));
		memcpy(nn, out->n, out->count * sizeof(*nn));
		if (out->v != out->inl_v) {
			free(out->v);
			free(out->n);
		}
		out->v = v;
		out->n = nn;
		out->cap = cap;
	}
	out->v[out->count] = b->members.v;
	out->n[out->count++] = b->members.n;
}

/*
 * The children of p that n may overlap, as lists: all of them, or with an index the buckets
 * n's values lead to.  Every other child differs from n in a byte both pin: provably
 * disjoint.  Release with dpf_candidates_done().
 */
void dpf_candidates(const struct dpf_node *p, const struct dpf_norm *n, struct dpf_cand_lists *out)
{
	out->v = out->inl_v;
	out->n = out->inl_n;
	out->cap = 8;
	out->count = 0;
	out->nomem = false;
	if (p->index && index_bucket(p->index, n) != DPF_INDEX_UNPINNED)
		collect_index(p->index, n, out);
	else
		out->nomem = true; /* not worth it: the plain list */
	if (out->nomem) {
		out->count = 1;
		out->v[0] = p->children;
		out->n[0] = p->nchildren;
	}
}

void dpf_candidates_done(struct dpf_cand_lists *cl)
{
	if (cl->v != cl->inl_v) {
		free(cl->v);
		free(cl->n);
	}
}
