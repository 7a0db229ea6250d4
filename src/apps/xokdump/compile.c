/* compile.c - the filter compiler: expression -> disjunctive normal form -> DPF copy filters */

/*
 * A DPF filter is a conjunction of atoms, with no negation and no alternation, so the
 * expression is first put in disjunctive normal form: an OR of conjunctions of atoms, one
 * copy filter per conjunction.  Where that cannot be exact the compiler WIDENS (replaces a
 * set of frames by a superset) and never narrows, so the copy filters always let through
 * every frame the expression matches; main.c applies expr_match to every frame, which
 * makes the output exact either way.  Widening happens when:
 *  - a primitive is negated ("not port 22"): atoms cannot say "not equal", so it becomes
 *    "true";
 *  - there are too many disjuncts (more than XD_DNF_MAX while normalising, more than the
 *    caller's max_filters at the end): they merge into one conjunction of the atoms they
 *    all share;
 *  - a conjunction would exceed XD_CONJ_MAX_ATOMS: the extra atoms are dropped.
 * Contradictory conjunctions ("tcp and udp", "arp and port 80") are dropped and a
 * conjunction that implies another is absorbed by it, so "host A" (IPv4 source, IPv4
 * destination, ARP sender, ARP target) costs four filters but "tcp and host A" two.
 *
 * Atoms live in one of two base contexts: the frame (Ethernet, IPv4, ARP fields) or L4,
 * after the variable-length IPv4 header.  Every L4 atom follows the one SHIFT atom that
 * opens that context: base' = 14 + (frame[14] & 0x0f) << 2.  match.c's evaluator defines
 * the meaning each primitive's atoms must have.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xok/proto/eth.h>
#include <xok/proto/ip.h>
#include "xokdump.h"

struct catom {
	uint8_t l4;	/* relative to the L4 base (after the SHIFT) */
	uint8_t width;
	uint16_t off;
	uint32_t mask;
	uint32_t value;
};

struct conj {
	unsigned n;
	struct catom a[XD_CONJ_MAX_ATOMS]; /* sorted by atom_cmp, no duplicates */
};

struct dnf {
	unsigned n;
	bool exact;			   /* matches exactly the expression's frames */
	struct conj c[XD_DNF_MAX];
};

/* The IHL indirection: base' = base + 14 + ((frame[14] & 0x0f) << 2). */
#define L4_SHIFT_OFF  14
#define L4_SHIFT_MASK 0x0f
#define L4_SHIFT_BITS 2
#define L4_SHIFT_ADD  ETH_HDR_LEN

/* ---- atoms ---- */

static int atom_cmp(const struct catom *a, const struct catom *b)
{
	if (a->l4 != b->l4)
		return a->l4 < b->l4 ? -1 : 1;
	if (a->off != b->off)
		return a->off < b->off ? -1 : 1;
	if (a->width != b->width)
		return a->width < b->width ? -1 : 1;
	if (a->mask != b->mask)
		return a->mask < b->mask ? -1 : 1;
	if (a->value != b->value)
		return a->value < b->value ? -1 : 1;
	return 0;
}

/* Byte x of the frame (absolute within the context) as tested by atom a: mask and value. */
static void atom_byte(const struct catom *a, unsigned x, uint8_t *mask, uint8_t *value)
{
	unsigned shift = (a->off + a->width - 1u - x) * 8u;

	*mask = (uint8_t)(a->mask >> shift);
	*value = (uint8_t)(a->value >> shift);
}

/* No frame satisfies both: some byte both test must hold different bits. */
static bool atoms_contradict(const struct catom *a, const struct catom *b)
{
	unsigned lo = a->off > b->off ? a->off : b->off;
	unsigned hi_a = a->off + a->width, hi_b = b->off + b->width;
	unsigned hi = hi_a < hi_b ? hi_a : hi_b;

	if (a->l4 != b->l4)
		return false; /* different bases: nothing is known */
	for (unsigned x = lo; x < hi; x++) {
		uint8_t ma, va, mb, vb;

		atom_byte(a, x, &ma, &va);
		atom_byte(b, x, &mb, &vb);
		if (ma & mb & (va ^ vb))
			return true;
	}
	return false;
}

/* Every frame satisfying a satisfies b (same field; a tests at least b's bits). */
static bool atom_implies(const struct catom *a, const struct catom *b)
{
	return a->l4 == b->l4 && a->off == b->off && a->width == b->width &&
	       (b->mask & ~a->mask) == 0 && (a->value & b->mask) == b->value;
}

/* ---- conjunctions ---- */

/* Adds an atom; returns false if it had to be dropped (which widens the conjunction). */
static bool conj_add(struct conj *c, const struct catom *a)
{
	unsigned i = 0;

	if (a->mask == 0)
		return true; /* tests nothing: "net 0.0.0.0/0" */
	while (i < c->n && atom_cmp(&c->a[i], a) < 0)
		i++;
	if (i < c->n && atom_cmp(&c->a[i], a) == 0)
		return true;
	if (c->n == XD_CONJ_MAX_ATOMS)
		return false;
	memmove(&c->a[i + 1], &c->a[i], (c->n - i) * sizeof(c->a[0]));
	c->a[i] = *a;
	c->n++;
	return true;
}

static bool conj_satisfiable(const struct conj *c)
{
	for (unsigned i = 0; i < c->n; i++)
		for (unsigned j = i + 1; j < c->n; j++)
			if (atoms_contradict(&c->a[i], &c->a[j]))
				return false;
	return true;
}

/* x's frames are a subset of y's: each atom of y is implied by one of x. */
static bool conj_implies(const struct conj *x, const struct conj *y)
{
	for (unsigned j = 0; j < y->n; j++) {
		unsigned i = 0;

		while (i < x->n && !atom_implies(&x->a[i], &y->a[j]))
			i++;
		if (i == x->n)
			return false;
	}
	return true;
}

static bool conj_has(const struct conj *c, const struct catom *a)
{
	for (unsigned i = 0; i < c->n; i++)
		if (atom_cmp(&c->a[i], a) == 0)
			return true;
	return false;
}

/* ---- disjunctive normal forms ---- */

static void dnf_remove(struct dnf *d, unsigned i)
{
	memmove(&d->c[i], &d->c[i + 1], (d->n - i - 1) * sizeof(d->c[0]));
	d->n--;
}

/* Drops every conjunction that implies another one (it adds no frames). */
static void dnf_absorb(struct dnf *d)
{
	for (unsigned i = 0; i < d->n; i++) {
		for (unsigned j = 0; j < d->n;) {
			if (j == i || !conj_implies(&d->c[j], &d->c[i])) {
				j++;
				continue;
			}
			dnf_remove(d, j);
			if (j < i)
				i--;
		}
	}
}

/* The atoms every conjunction shares: one conjunction covering them all. */
static void dnf_common(const struct dnf *d, struct conj *out)
{
	struct conj c = { 0 };

	for (unsigned i = 0; d->n > 0 && i < d->c[0].n; i++) {
		unsigned k = 1;

		while (k < d->n && conj_has(&d->c[k], &d->c[0].a[i]))
			k++;
		if (k == d->n)
			c.a[c.n++] = d->c[0].a[i]; /* stays sorted */
	}
	*out = c;
}

static void dnf_widen(struct dnf *d)
{
	if (d->n <= 1)
		return;
	dnf_common(d, &d->c[0]);
	d->n = 1;
	d->exact = false;
}

static void dnf_true(struct dnf *d, bool exact)
{
	d->n = 1;
	d->c[0].n = 0;
	d->exact = exact;
}

/* d := d or b */
static void dnf_or(struct dnf *d, struct dnf *b)
{
	if (d->n + b->n > XD_DNF_MAX) {
		dnf_widen(d);
		dnf_widen(b);
	}
	memcpy(&d->c[d->n], b->c, b->n * sizeof(b->c[0]));
	d->n += b->n;
	d->exact = d->exact && b->exact;
	dnf_absorb(d);
}

/* out := a and b (distributing); a and b may be widened first to bound the product. */
static void dnf_and(struct dnf *a, struct dnf *b, struct dnf *out)
{
	out->n = 0;
	if (a->n * b->n > XD_DNF_MAX)
		dnf_widen(a->n >= b->n ? a : b);
	if (a->n * b->n > XD_DNF_MAX)
		dnf_widen(a->n >= b->n ? a : b);
	out->exact = a->exact && b->exact;
	for (unsigned i = 0; i < a->n; i++) {
		for (unsigned j = 0; j < b->n; j++) {
			struct conj *c = &out->c[out->n];

			*c = a->c[i];
			for (unsigned k = 0; k < b->c[j].n; k++)
				if (!conj_add(c, &b->c[j].a[k]))
					out->exact = false;
			if (conj_satisfiable(c))
				out->n++;
		}
	}
	dnf_absorb(out);
}

/* ---- primitives ---- */

static struct catom atom(uint16_t off, uint8_t width, uint32_t mask, uint32_t value)
{
	return (struct catom){ .off = off, .width = width, .mask = mask, .value = value };
}

static struct catom l4_atom(uint16_t off, uint32_t value)
{
	return (struct catom){ .l4 = 1, .off = off, .width = 2, .mask = 0xffff, .value = value };
}

/* Appends base+x, base+y or base+x+y according to dir (x, y: the src and dst tests). */
static void dnf_add_dir(struct dnf *d, const struct conj *base, uint8_t dir,
			const struct catom *x, const struct catom *y)
{
	struct conj *c = &d->c[d->n];

	if (dir == DIR_ANY) {
		dnf_add_dir(d, base, DIR_SRC, x, y);
		dnf_add_dir(d, base, DIR_DST, x, y);
		return;
	}
	*c = *base;
	if (dir != DIR_DST)
		conj_add(c, x);
	if (dir != DIR_SRC)
		conj_add(c, y);
	d->n++;
}

static void dnf_host(const struct expr_prim *pr, struct dnf *d)
{
	uint32_t mask = xd_prefix_mask(pr->plen);
	struct conj base = { 0 };
	struct catom x, y;

	if (pr->on & PRIM_ON_IP) {
		base.n = 0;
		conj_add(&base, &(struct catom){ .off = 12, .width = 2, .mask = 0xffff,
						 .value = ETH_TYPE_IPV4 });
		x = atom(26, 4, mask, pr->addr);
		y = atom(30, 4, mask, pr->addr);
		dnf_add_dir(d, &base, pr->dir, &x, &y);
	}
	if (pr->on & PRIM_ON_ARP) {
		base.n = 0;
		conj_add(&base, &(struct catom){ .off = 12, .width = 2, .mask = 0xffff,
						 .value = ETH_TYPE_ARP });
		x = atom(28, 4, mask, pr->addr);
		y = atom(38, 4, mask, pr->addr);
		dnf_add_dir(d, &base, pr->dir, &x, &y);
	}
}

/* IPv4, this protocol, first fragment: the fields before the ports. */
static void conj_l4_base(struct conj *c, uint8_t proto)
{
	c->n = 0;
	conj_add(c, &(struct catom){ .off = 12, .width = 2, .mask = 0xffff,
				     .value = ETH_TYPE_IPV4 });
	conj_add(c, &(struct catom){ .off = 20, .width = 2, .mask = IP_OFFMASK, .value = 0 });
	conj_add(c, &(struct catom){ .off = 23, .width = 1, .mask = 0xff, .value = proto });
}

static void dnf_port(const struct expr_prim *pr, struct dnf *d)
{
	struct catom x = l4_atom(0, pr->port), y = l4_atom(2, pr->port);
	struct conj base;

	if (pr->on & PRIM_ON_TCP) {
		conj_l4_base(&base, IP_PROTO_TCP);
		dnf_add_dir(d, &base, pr->dir, &x, &y);
	}
	if (pr->on & PRIM_ON_UDP) {
		conj_l4_base(&base, IP_PROTO_UDP);
		dnf_add_dir(d, &base, pr->dir, &x, &y);
	}
}

static void dnf_prim(const struct expr_prim *pr, struct dnf *d)
{
	struct conj *c = &d->c[0];

	d->n = 0;
	d->exact = true;
	switch (pr->kind) {
	case PRIM_ETHER:
	case PRIM_IPPROTO:
		c->n = 0;
		conj_add(c, &(struct catom){ .off = 12, .width = 2, .mask = 0xffff,
					     .value = pr->kind == PRIM_ETHER ? pr->ethertype
									     : ETH_TYPE_IPV4 });
		if (pr->kind == PRIM_IPPROTO)
			conj_add(c, &(struct catom){ .off = 23, .width = 1, .mask = 0xff,
						     .value = pr->proto });
		d->n = 1;
		break;
	case PRIM_HOST:
		dnf_host(pr, d);
		break;
	case PRIM_PORT:
		dnf_port(pr, d);
		break;
	}
	dnf_absorb(d);
}

/* ---- the expression ---- */

/* d := DNF of node i (negated when neg), pushing negations inward (De Morgan). */
static int dnf_build(const struct expr *e, unsigned i, bool neg, struct dnf *d)
{
	const struct expr_node *n = &e->nodes[i];
	struct dnf *b, *out;
	bool conjunction;
	int rc;

	if (n->kind == EXPR_PRIM) {
		if (neg)
			dnf_true(d, false); /* widened: atoms cannot negate */
		else
			dnf_prim(&n->prim, d);
		return 0;
	}
	if (n->kind == EXPR_NOT)
		return dnf_build(e, n->left, !neg, d);
	conjunction = (n->kind == EXPR_AND) != neg;
	rc = dnf_build(e, n->left, neg, d);
	if (rc)
		return rc;
	b = malloc(sizeof(*b));
	out = conjunction ? malloc(sizeof(*out)) : NULL;
	if (!b || (conjunction && !out)) {
		rc = -ENOMEM;
		goto out_free;
	}
	rc = dnf_build(e, n->right, neg, b);
	if (rc)
		goto out_free;
	if (conjunction) {
		dnf_and(d, b, out);
		memcpy(d, out, sizeof(*d));
	} else {
		dnf_or(d, b);
	}
out_free:
	free(out);
	free(b);
	return rc;
}

static int conj_emit(const struct conj *c, struct dpf_filter *f)
{
	bool shifted = false;
	int rc = 0;

	dpf_filter_init(f);
	for (unsigned i = 0; rc == 0 && i < c->n; i++) {
		const struct catom *a = &c->a[i];

		if (a->l4 && !shifted) {
			rc = dpf_add_shift(f, L4_SHIFT_OFF, 1, L4_SHIFT_MASK, L4_SHIFT_BITS,
					   L4_SHIFT_ADD);
			shifted = true;
		}
		if (rc == 0)
			rc = dpf_add_match(f, a->off, a->width, a->mask, a->value);
	}
	return rc;
}

static int emit_all(const struct dnf *d, struct xd_filters *out)
{
	struct conj common;
	int rc = 0;

	out->n = d->n;
	out->exact = d->exact;
	for (unsigned i = 0; rc == 0 && i < d->n; i++)
		rc = conj_emit(&d->c[i], &out->f[i]);
	dnf_common(d, &common);
	if (rc == 0)
		rc = conj_emit(&common, &out->wide);
	return rc;
}

int xd_compile(const struct expr *e, unsigned max_filters, struct xd_filters *out)
{
	struct dnf *d = malloc(sizeof(*d));
	int rc = 0;

	if (!d)
		return -ENOMEM;
	if (max_filters == 0 || max_filters > XD_MAX_FILTERS)
		max_filters = XD_MAX_FILTERS;
	memset(out, 0, sizeof(*out));
	if (e->nnodes == 0)
		dnf_true(d, true);
	else
		rc = dnf_build(e, e->root, false, d);
	if (rc == 0) {
		if (d->n > max_filters)
			dnf_widen(d);
		rc = emit_all(d, out);
	}
	free(d);
	return rc;
}

/* ---- printing filters (-v, -d) ---- */

static void atom_format(const struct dpf_atom *a, bool rel, struct sbuf *sb)
{
	uint32_t full = a->width == 4 ? ~0u : (1u << (a->width * 8)) - 1;

	if (a->kind == DPF_ATOM_SHIFT) {
		sb_printf(sb, "base+=%u+([%s%u:%u]&0x%x)<<%u", a->add, rel ? "+" : "", a->offset,
			  a->width, a->mask, a->shift);
		return;
	}
	sb_printf(sb, "[%s%u:%u]", rel ? "+" : "", a->offset, a->width);
	if (a->mask != full)
		sb_printf(sb, "&0x%0*x", a->width * 2, a->mask);
	sb_printf(sb, "=0x%0*x", a->width * 2, a->value);
}

int xd_filter_format(const struct dpf_filter *f, bool multiline, char *buf, size_t size)
{
	struct sbuf sb;
	bool rel = false;

	if (size == 0)
		return -ENOSPC;
	sb_init(&sb, buf, size);
	if (f->natoms == 0)
		sb_printf(&sb, multiline ? "(000) accept every frame\n" : "(every frame)");
	for (uint32_t i = 0; i < f->natoms && i < DPF_MAX_ATOMS; i++) {
		if (multiline)
			sb_printf(&sb, "(%03u) %s ", i,
				  f->atoms[i].kind == DPF_ATOM_SHIFT ? "shift" : "match");
		else if (i)
			sb_putc(&sb, ' ');
		atom_format(&f->atoms[i], rel, &sb);
		if (multiline)
			sb_putc(&sb, '\n');
		rel = rel || f->atoms[i].kind == DPF_ATOM_SHIFT;
	}
	return sb.full ? -ENOSPC : 0;
}
