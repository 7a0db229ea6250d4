/* tests.c - from a filter's normal form to load-and-compare tests, and the context table
 *
 * A filter's constrained bytes are cut, per context, into 1-, 2- or 4-byte loads on a fixed
 * grid (4-byte words starting at offset 2 mod 4 at the frame start, where Ethernet puts the
 * IPv4 fields, and 0 mod 4 after a SHIFT), so that the same field of different filters
 * becomes the same test key whatever atoms spelled it.  A load never reaches past the bytes
 * the filter requires anyway, and a length test covers a required extent that no load
 * touches.  Below its parent a filter only needs the bits its parent does not constrain
 * (its residual).  Contexts (SHIFT chains) are interned into a table shared by the tests.
 */
#include <stdlib.h>

#include "dpf_internal.h"

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
int64_t dpf_ctx_intern(struct dpf_ctxtab *t, int depth, const struct dpf_chain *chain)
{
	uint32_t k;
	int64_t parent = -1;

	if (t->n == t->cap && ctxtab_grow(t))
		return -ENOMEM;
	for (k = ctx_hash(depth, chain) & (t->hcap - 1); t->hash[k]; k = (k + 1) & (t->hcap - 1))
		if (ctx_eq(&t->v[t->hash[k] - 1], depth, chain))
			return t->hash[k] - 1;
	if (depth > 0) {
		parent = dpf_ctx_intern(t, depth - 1, chain);
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
int dpf_make_tests(struct dpf_ctxtab *ctxs, const struct dpf_norm *n, const struct dpf_norm *p,
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
		ctx = dpf_ctx_intern(ctxs, d, n->chain);
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
				if (j < p->nbytes && p->bytes[j].depth == d &&
				    p->bytes[j].off == b->off)
					mask &= ~p->bytes[j].mask;
			}
			if (!mask)
				continue;
			wg = (int)b->off - ((int)b->off - phase + 4) % 4;
			if (wg != g && nw) {
				uint16_t e =
				    chunk_word(out, nout, (uint32_t)ctx, g, word, nw, n->extent[d]);
				end = e > end ? e : end;
				nw = 0;
			}
			g = wg;
			word[nw++] = (struct chunk_byte){b->off, mask, b->value & mask};
		}
		if (nw) {
			uint16_t e =
			    chunk_word(out, nout, (uint32_t)ctx, g, word, nw, n->extent[d]);
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
