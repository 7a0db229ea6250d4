/* relate.c - normal form of a filter and the relations between two filters
 *
 * A filter is normalised to one byte map per base context (frame start, after its first
 * SHIFT, after its second) plus each context's required extent.  Two filters share a
 * context when their SHIFT chains up to that depth are equal by value, so within a shared
 * context the same offset names the same frame byte for both.  Across different contexts
 * nothing is known, so the relations stay conservative there:
 *   DISJOINT   some shared byte has a bit both constrain to different values;
 *   A REFINES B  every context of B is a context of A with at least B's extent, and A
 *              constrains every bit B constrains to the same value;
 *   EQUAL      both refine each other;
 *   AMBIGUOUS  everything else.
 * A filter whose atoms contradict each other matches no frame and is DISJOINT from
 * everything (even itself).
 */
#include <stdlib.h>

#include "dpf_internal.h"

union norm_buf {
	struct dpf_norm n;
	uint8_t raw[sizeof(struct dpf_norm) + DPF_NORM_MAX_BYTES * sizeof(struct dpf_nbyte)];
};

static int nbyte_cmp(const void *pa, const void *pb)
{
	const struct dpf_nbyte *a = pa, *b = pb;

	if (a->depth != b->depth)
		return a->depth < b->depth ? -1 : 1;
	return a->off < b->off ? -1 : a->off > b->off;
}

/* Fills n (room for DPF_NORM_MAX_BYTES bytes) from a validated filter. */
static void norm_build(const struct dpf_filter *f, struct dpf_norm *n)
{
	uint32_t nb = 0, out = 0;
	int d = 0;

	memset(n, 0, sizeof(*n));
	for (uint32_t i = 0; i < f->natoms; i++) {
		const struct dpf_atom *a = &f->atoms[i];
		uint16_t end = a->offset + a->width;

		if (end > n->extent[d])
			n->extent[d] = end;
		if (a->kind == DPF_ATOM_SHIFT) {
			n->chain[d] = (struct dpf_chain){
			    .offset = a->offset,
			    .add = a->add,
			    .mask = a->mask,
			    .width = a->width,
			    .shift = a->shift,
			};
			d++;
			continue;
		}
		for (unsigned k = 0; k < a->width; k++) {
			unsigned sh = 8 * (a->width - 1 - k);
			uint8_t m = (a->mask >> sh) & 0xff;

			if (!m)
				continue;
			n->bytes[nb++] = (struct dpf_nbyte){
			    .off = a->offset + k,
			    .depth = d,
			    .mask = m,
			    .value = (a->value >> sh) & 0xff,
			};
		}
	}
	n->nshift = d;
	qsort(n->bytes, nb, sizeof(n->bytes[0]), nbyte_cmp);
	for (uint32_t i = 0; i < nb; i++) {
		struct dpf_nbyte *b = &n->bytes[i];

		if (out && n->bytes[out - 1].depth == b->depth && n->bytes[out - 1].off == b->off) {
			struct dpf_nbyte *p = &n->bytes[out - 1];

			if (p->mask & b->mask & (p->value ^ b->value))
				n->unsat = true;
			p->mask |= b->mask;
			p->value |= b->value;
			continue;
		}
		n->bytes[out++] = *b;
	}
	n->nbytes = out;
}

struct dpf_norm *dpf_norm_new(const struct dpf_filter *f)
{
	union norm_buf buf;
	struct dpf_norm *n;
	size_t size;

	norm_build(f, &buf.n);
	size = sizeof(*n) + buf.n.nbytes * sizeof(buf.n.bytes[0]);
	n = malloc(size);
	if (n)
		memcpy(n, &buf.n, size);
	return n;
}

const struct dpf_nbyte *dpf_norm_byte(const struct dpf_norm *n, int depth, uint16_t off)
{
	struct dpf_nbyte key = {.off = off, .depth = (uint8_t)depth};
	uint32_t lo = 0, hi = n->nbytes;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = nbyte_cmp(&n->bytes[mid], &key);

		if (c == 0)
			return &n->bytes[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool chain_eq(const struct dpf_chain *a, const struct dpf_chain *b)
{
	return a->offset == b->offset && a->add == b->add && a->mask == b->mask &&
	       a->width == b->width && a->shift == b->shift;
}

bool dpf_norm_same_ctx(const struct dpf_norm *a, const struct dpf_norm *b, int depth)
{
	if (!a->extent[depth] || !b->extent[depth])
		return false;
	for (int i = 0; i < depth; i++)
		if (!chain_eq(&a->chain[i], &b->chain[i]))
			return false;
	return true;
}

enum dpf_relation dpf_relate_norm(const struct dpf_norm *a, const struct dpf_norm *b)
{
	bool shared[DPF_MAX_DEPTH + 1];
	bool a_ref_b = true, b_ref_a = true;
	uint32_t i = 0, j = 0;

	if (a->unsat || b->unsat)
		return DPF_REL_DISJOINT;
	for (int d = 0; d <= DPF_MAX_DEPTH; d++) {
		shared[d] = dpf_norm_same_ctx(a, b, d);
		if (b->extent[d] && (!shared[d] || a->extent[d] < b->extent[d]))
			a_ref_b = false;
		if (a->extent[d] && (!shared[d] || b->extent[d] < a->extent[d]))
			b_ref_a = false;
	}
	while (i < a->nbytes || j < b->nbytes) {
		int c;

		if (i == a->nbytes)
			c = 1;
		else if (j == b->nbytes)
			c = -1;
		else
			c = nbyte_cmp(&a->bytes[i], &b->bytes[j]);
		if (c < 0) { /* only A constrains this byte */
			b_ref_a = false;
			i++;
		} else if (c > 0) {
			a_ref_b = false;
			j++;
		} else {
			const struct dpf_nbyte *x = &a->bytes[i++], *y = &b->bytes[j++];

			if (!shared[x->depth])
				continue; /* both refinements already ruled out */
			if (x->mask & y->mask & (x->value ^ y->value))
				return DPF_REL_DISJOINT;
			if (y->mask & ~x->mask)
				a_ref_b = false;
			if (x->mask & ~y->mask)
				b_ref_a = false;
		}
	}
	if (a_ref_b && b_ref_a)
		return DPF_REL_EQUAL;
	if (a_ref_b)
		return DPF_REL_REFINES;
	if (b_ref_a)
		return DPF_REL_REFINED_BY;
	return DPF_REL_AMBIGUOUS;
}

enum dpf_relation dpf_relate(const struct dpf_filter *a, const struct dpf_filter *b)
{
	union norm_buf na, nb;

	if (dpf_filter_validate(a) || dpf_filter_validate(b))
		return DPF_REL_AMBIGUOUS; /* conservative: never claim anything about garbage */
	norm_build(a, &na.n);
	norm_build(b, &nb.n);
	return dpf_relate_norm(&na.n, &nb.n);
}

const char *dpf_relation_name(enum dpf_relation r)
{
	switch (r) {
	case DPF_REL_DISJOINT:
		return "disjoint";
	case DPF_REL_EQUAL:
		return "equal";
	case DPF_REL_REFINES:
		return "refines";
	case DPF_REL_REFINED_BY:
		return "refined-by";
	case DPF_REL_AMBIGUOUS:
		return "ambiguous";
	}
	return "?";
}
