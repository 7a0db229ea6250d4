/* dpf_gen.c - random filters and frames for differential testing (tests and fuzzer) */
#include "dpf_gen.h"

#include <string.h>

static const uint16_t ethertypes[] = {0x0800, 0x0800, 0x0800, 0x0806, 0x86dd, 0x8100};
static const uint8_t protos[] = {6, 6, 17, 1};
static const uint32_t addrs[] = {0x0a000001, 0x0a000002, 0x0a000101, 0xc0a80001, 0xc6120001};
static const uint16_t ports[] = {1, 2, 80, 443, 0x8000, 5000};
static const uint8_t prefixes[] = {8, 16, 23, 24, 32, 32};

#define PICK(r, a) ((a)[rng_below((r), sizeof(a) / sizeof((a)[0]))])

static void add(struct dpf_filter *f, uint16_t off, uint8_t width, uint32_t mask, uint32_t value)
{
	dpf_add_match(f, off, width, mask, value & mask);
}

/* A random atom at a small offset: masks and values mostly from what frames contain. */
static void add_random(struct rng *r, struct dpf_filter *f, uint16_t maxoff)
{
	static const uint8_t widths[] = {1, 2, 4};
	uint8_t w = PICK(r, widths);
	uint32_t full = w == 4 ? 0xffffffffu : (1u << (8 * w)) - 1;
	uint32_t mask = rng_chance(r, 50) ? full : (uint32_t)rng_next(r) & full;
	uint32_t value = rng_chance(r, 70) ? 0 : (uint32_t)rng_next(r);

	add(f, (uint16_t)rng_below(r, maxoff + 1), w, mask, value);
}

static void add_shift(struct rng *r, struct dpf_filter *f, bool first)
{
	unsigned k = rng_below(r, 100);

	if (first && k < 80)
		dpf_add_shift(f, 14, 1, 0x0f, 2, 14); /* IPv4 header length */
	else if (first && k < 90)
		dpf_add_shift(f, 14, 1, 0x0f, 2, 18); /* another context */
	else if (!first && k < 60)
		dpf_add_shift(f, 12, 1, 0xf0, 0, 0); /* TCP data offset, scaled oddly */
	else if (!first && k < 80)
		dpf_add_shift(f, 0, 1, 0x03, 2, 4);
	else
		dpf_add_shift(f, (uint16_t)rng_below(r, 40), (uint8_t)(1u << rng_below(r, 3)),
			      rng_chance(r, 20) ? 0 : (uint32_t)rng_below(r, 256),
			      (uint8_t)rng_below(r, 8), (uint16_t)rng_below(r, 64));
}

void gen_filter(struct rng *r, struct dpf_filter *f)
{
	dpf_filter_init(f);
	if (rng_chance(r, 3))
		return; /* everything */
	if (rng_chance(r, 70)) {
		uint16_t et = PICK(r, ethertypes);
		unsigned k = rng_below(r, 10);

		if (k < 7) {
			add(f, 12, 2, 0xffff, et);
		} else if (k < 8) { /* split into bytes, any order */
			add(f, 13, 1, 0xff, et & 0xff);
			add(f, 12, 1, 0xff, et >> 8);
		} else if (k < 9) {
			add(f, 10, 4, 0x0000ffff, et);
		} else {
			add(f, 12, 4, 0xffff0000, (uint32_t)et << 16);
		}
	}
	if (rng_chance(r, 50))
		add(f, 23, 1, 0xff, PICK(r, protos));
	if (rng_chance(r, 10))
		add(f, 14, 1, rng_chance(r, 50) ? 0xff : 0x0f, 0x45);
	for (int i = 0; i < 2; i++) {
		if (rng_chance(r, 25)) {
			uint8_t len = PICK(r, prefixes);
			uint32_t mask = len == 32 ? 0xffffffffu : ~(0xffffffffu >> len);

			add(f, i ? 30 : 26, 4, mask, PICK(r, addrs));
		}
	}
	if (rng_chance(r, 10))
		add_random(r, f, 64);
	if (rng_chance(r, 8))
		add(f, (uint16_t)(14 + rng_below(r, 120)), 1, 0, 0); /* length requirement */
	if (rng_chance(r, 55)) {
		add_shift(r, f, true);
		if (rng_chance(r, 55))
			add(f, 2, 2, 0xffff,
			    rng_chance(r, 70) ? PICK(r, ports) : rng_below(r, 512));
		if (rng_chance(r, 30))
			add(f, 0, 2, 0xffff,
			    rng_chance(r, 70) ? PICK(r, ports) : rng_below(r, 512));
		if (rng_chance(r, 8))
			add(f, 3, 1, 0xff, PICK(r, ports) & 0xff); /* half a port */
		if (rng_chance(r, 10))
			add_random(r, f, 24);
		if (rng_chance(r, 8))
			add(f, (uint16_t)rng_below(r, 60), 1, 0, 0);
		if (rng_chance(r, 15)) {
			add_shift(r, f, false);
			if (rng_chance(r, 70))
				add_random(r, f, 16);
			if (rng_chance(r, 20))
				add(f, (uint16_t)rng_below(r, 40), 1, 0, 0);
		}
	}
}

size_t gen_frame(struct rng *r, uint8_t *buf, size_t max)
{
	struct frame_spec fs;
	size_t full, len;

	if (max > 1600)
		max = 1600;
	if (rng_chance(r, 8)) { /* noise */
		len = 14 + rng_below(r, (uint32_t)(max < 160 ? max - 13 : 147));
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rng_next(r);
		return len;
	}
	fs.ethertype = rng_chance(r, 10) ? (uint16_t)rng_next(r) : PICK(r, ethertypes);
	fs.ihl = rng_chance(r, 60) ? 5 : (uint8_t)rng_below(r, 16);
	fs.proto = rng_chance(r, 10) ? (uint8_t)rng_next(r) : PICK(r, protos);
	fs.src = PICK(r, addrs) ^ (rng_chance(r, 30) ? (uint32_t)rng_below(r, 1024) : 0);
	fs.dst = PICK(r, addrs) ^ (rng_chance(r, 30) ? (uint32_t)rng_below(r, 1024) : 0);
	fs.sport = rng_chance(r, 10)   ? (uint16_t)rng_next(r)
		   : rng_chance(r, 25) ? (uint16_t)rng_below(r, 512)
				       : PICK(r, ports);
	fs.dport = rng_chance(r, 10)   ? (uint16_t)rng_next(r)
		   : rng_chance(r, 25) ? (uint16_t)rng_below(r, 512)
				       : PICK(r, ports);
	full = 14 + 4 * (size_t)fs.ihl + 20 + rng_below(r, 48);
	if (rng_chance(r, 35))
		full = 14 + rng_below(r, (uint32_t)full - 13); /* truncated */
	if (rng_chance(r, 3))
		full = 14 + rng_below(r, 1400);
	fs.len = full < max ? full : max;
	len = frame_build(buf, max, &fs);
	if (rng_chance(r, 20)) /* some payload noise */
		for (int i = 0; i < 4; i++)
			buf[rng_below(r, (uint32_t)len)] = (uint8_t)rng_next(r);
	return len;
}

/* f plus one more atom in its current context: usually a refinement of f. */
static void refine(struct rng *r, struct dpf_filter *f)
{
	bool l4 = false;

	for (uint32_t i = 0; i < f->natoms; i++)
		l4 |= f->atoms[i].kind == DPF_ATOM_SHIFT;
	if (rng_chance(r, 50))
		add(f, l4 ? (rng_chance(r, 50) ? 0 : 2) : 26, l4 ? 2 : 4, l4 ? 0xffff : 0xffffffff,
		    l4 ? PICK(r, ports) : PICK(r, addrs));
	else
		add_random(r, f, l4 ? 24 : 64);
}

/* f with one MATCH bit flipped: usually a sibling disjoint from f. */
static void sibling(struct rng *r, struct dpf_filter *f)
{
	for (int tries = 0; tries < 4 && f->natoms; tries++) {
		struct dpf_atom *a = &f->atoms[rng_below(r, f->natoms)];

		if (a->kind == DPF_ATOM_MATCH && a->mask) {
			uint32_t bit;

			do
				bit = 1u << rng_below(r, 32);
			while (!(bit & a->mask));
			a->value ^= bit;
			return;
		}
	}
}

void gen_sibling(struct rng *r, const struct dpf_filter *base, struct dpf_filter *out)
{
	*out = *base;
	sibling(r, out);
	if (rng_chance(r, 50))
		sibling(r, out);
}

void gen_family(struct rng *r, struct dpf_set *s, unsigned n, uint32_t *next_id,
		struct dpf_filter *base)
{
	struct dpf_filter g;

	gen_filter(r, base);
	dpf_set_insert(s, (*next_id)++, base, NULL);
	for (unsigned i = 1; i < n; i++) {
		gen_sibling(r, base, &g);
		dpf_set_insert(s, (*next_id)++, &g, NULL);
	}
}

void gen_set(struct rng *r, struct dpf_set *s, unsigned nfilters, unsigned ncopy, uint32_t *next_id)
{
	uint32_t first = *next_id;
	struct dpf_filter f, g;

	for (unsigned i = 0; i < nfilters; i++) {
		gen_filter(r, &f);
		dpf_set_insert(s, (*next_id)++, &f, NULL);
		if (rng_chance(r, 40) && f.natoms < DPF_MAX_ATOMS) {
			g = f;
			refine(r, &g);
			dpf_set_insert(s, (*next_id)++, &g, NULL);
			if (rng_chance(r, 40)) {
				sibling(r, &g);
				dpf_set_insert(s, (*next_id)++, &g, NULL);
			}
		}
		if (rng_chance(r, 25)) {
			g = f;
			sibling(r, &g);
			dpf_set_insert(s, (*next_id)++, &g, NULL);
		}
	}
	for (unsigned i = 0; i < ncopy; i++) {
		gen_filter(r, &f);
		dpf_set_insert_copy(s, (*next_id)++, &f);
	}
	if (rng_chance(r, 30))
		for (unsigned i = 0; i < 3; i++)
			dpf_set_delete(s, first + rng_below(r, *next_id - first));
}

/* ---- the busy host: 10,000 filters of mixed shapes ---- */

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

static int add_tree(struct dpf_set *s, uint32_t *id, const struct dpf_filter *f)
{
	return dpf_set_insert(s, (*id)++, f, NULL);
}

static int add_copy(struct dpf_set *s, uint32_t *id, const struct dpf_filter *f)
{
	int slot = dpf_set_insert_copy(s, (*id)++, f);

	return slot < 0 ? slot : 0;
}

static void subnet(struct dpf_filter *f, uint8_t proto, uint32_t src, uint8_t len)
{
	dpf_filter_init(f);
	dpf_match_ipv4(f);
	dpf_match_ipv4_proto(f, proto);
	dpf_match_ipv4_src(f, src, len);
}

struct dpf_set *gen_mixed_set(unsigned total, unsigned *ntree, int *err, uint32_t *failed_id)
{
	struct dpf_set *s = dpf_set_new();
	struct dpf_filter f;
	uint32_t id = 1;
	int e = 0;

#define ADD()                                                                                      \
	do {                                                                                       \
		if (!e && (e = add_tree(s, &id, &f)))                                              \
			*failed_id = id - 1;                                                       \
	} while (0)
	dpf_filter_init(&f);
	dpf_match_arp(&f);
	ADD();
	dpf_filter_all_ipv4(&f);
	ADD();
	for (unsigned i = 0; i < 50; i++) {
		dpf_filter_udp_port(&f, MIX_LOCAL, (uint16_t)(5000 + i));
		ADD();
	}
	for (unsigned i = 0; i < 100; i++) {
		subnet(&f, 1, IP(10, 1, i, 0), 24);
		ADD();
	}
	for (unsigned l = 0; l < 200; l++) {
		dpf_filter_tcp_port(&f, 0, (uint16_t)(8000 + l));
		ADD();
		for (unsigned c = 0; c < 20; c++) {
			dpf_filter_tcp_4tuple(&f, MIX_LOCAL, (uint16_t)(8000 + l),
					      IP(172, 16, l, c), (uint16_t)(30000 + 7 * c + l));
			ADD();
		}
	}
	for (unsigned i = 0; i < 3000; i++) {
		dpf_filter_tcp_port(&f, MIX_LOCAL, (uint16_t)(10000 + i));
		ADD();
	}
	for (unsigned i = 0; i < 1000; i++) {
		dpf_filter_udp_port(&f, 0, (uint16_t)(20000 + i));
		ADD();
	}
	for (unsigned i = 0; id <= total; i++) {
		subnet(&f, 47, IP(10, 2 + i / 256, i % 256, 0), 24);
		ADD();
	}
#undef ADD
	*ntree = id - 1;
#define COPY()                                                                                     \
	do {                                                                                       \
		if (!e && (e = add_copy(s, &id, &f)))                                              \
			*failed_id = id - 1;                                                       \
	} while (0)
	dpf_filter_init(&f);
	dpf_match_ipv4(&f);
	dpf_match_ipv4_proto(&f, 6);
	COPY();
	dpf_filter_init(&f);
	dpf_match_arp(&f);
	COPY();
	subnet(&f, 47, IP(10, 2, 0, 0), 16);
	COPY();
	dpf_filter_tcp_port(&f, 0, 8100);
	COPY();
	dpf_filter_udp_port(&f, 0, 20500);
	COPY();
	dpf_filter_everything(&f);
	COPY();
#undef COPY
	if (e) {
		*err = e;
		dpf_set_free(s);
		return NULL;
	}
	return s;
}
