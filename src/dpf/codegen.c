/* codegen.c - eBPF code generation for the decision trie, at run time (no compiler)
 *
 * Registers: r6 ctx, r7 the base of the most used context, r8 data_end, r9 the id of the
 * deepest matching filter so far; r1-r5 scratch.  Stack: fp-8 the copy mask, fp-16-8*i the
 * cached base of context slot i, below them a table lookup's key.  (The base in r7 rather than on the stack matters: on 6.18
 * every instruction that first touches a stack slot costs the verifier a liveness pass over
 * the whole program, which made 10,000-filter programs take seconds to load.)
 *
 * Layout:
 *   entry         save ctx, load data_end, compute each cached context base once (an
 *                 invalid base is stored as DPF_BASE_LIMIT, which fails every bounds check);
 *   tree          the merged trie; every match path ends at B0, the unmatched path at A0;
 *                 a level's exact-match tables (table.c) are looked up after its trie;
 *   copy A0..An   copy filters while nothing has matched; a match jumps into the B chain;
 *                 the end returns the unmatched action;
 *   copy B0..Bn   copy filters once something matched; the end prepends the result
 *                 (struct dpf_xdp_meta) and redirects.
 * The id and the copy mask are only ever stored, never branched on: the verifier keeps them
 * imprecise, so the many paths into B0 (one per filter) and through the copy chains prune
 * against each other instead of multiplying.  Packet pointers are reloaded from ctx for every
 * test, so no live register carries path-dependent packet ranges into a join either.
 *
 * Jumps name labels; asm.c lays the program out (dead code, far jumps).
 */
#include <stdlib.h>

#include "dpf_internal.h"

#define R_CTX	BPF_REG_6
#define R_BASE0 BPF_REG_7
#define R_END	BPF_REG_8
#define R_ID	BPF_REG_9
#define R_BASE	BPF_REG_1
#define R_PTR	BPF_REG_2
#define R_TMP	BPF_REG_3
#define R_VAL	BPF_REG_4
#define R_X	BPF_REG_5

#define SLOT_REG   (-2) /* struct dpf_ctx.slot: the base lives in R_BASE0 */
#define MASK_SLOT  (-8)
#define BASE_SLOT0 (-16)
#define KEY_SLOT   (BASE_SLOT0 - 8 * DPF_CACHED_BASES - DPF_TABLE_KEY_SIZE)
_Static_assert(KEY_SLOT >= -512, "the table key must fit in the BPF stack");

#define XDP_MD_DATA	      0
#define XDP_MD_DATA_END	      4
#define XDP_MD_RX_QUEUE_INDEX 16

struct gen {
	struct dpf_asm as;
	const struct dpf_trie *t;
	uint32_t done;	 /* B0: something matched */
	bool fail_first; /* chains fall through on failure (linear mode, see jmp_fail) */
};

static void emit(struct gen *g, struct bpf_insn insn)
{
	dpf_asm_emit(&g->as, insn);
}

static void emit_ld_imm64(struct gen *g, int dst, int src, uint64_t imm)
{
	dpf_asm_ld_imm64(&g->as, dst, src, imm);
}

static uint32_t label_new(struct gen *g)
{
	return dpf_asm_label(&g->as);
}

static void label_place(struct gen *g, uint32_t l)
{
	dpf_asm_place(&g->as, l);
}

static void jmp(struct gen *g, struct bpf_insn insn, uint32_t label)
{
	dpf_asm_jmp(&g->as, insn, label);
}

static void ja(struct gen *g, uint32_t label)
{
	dpf_asm_ja(&g->as, label);
}

/* ---- tests ---- */

static int ldx_size(unsigned width)
{
	return width == 1 ? BPF_B : width == 2 ? BPF_H : BPF_W;
}

static uint32_t full_mask(unsigned width)
{
	return width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
}

static void emit_ptr(struct gen *g, uint32_t ctx, uint32_t fail, bool cached);

/*
 * R_BASE = base of ctx (never the root), computed from the frame start, or goto fail when it
 * is invalid.  Never from a cached parent base: that may hold the invalid marker, a constant,
 * and a bounds branch on a constant has a known outcome, which makes the verifier track the
 * cached bases precisely; then the valid/invalid combinations of all contexts stop pruning
 * against each other and the state count doubles per context.
 */
static void emit_base(struct gen *g, uint32_t ctx, uint32_t fail)
{
	const struct dpf_ctx *c = &g->t->ctxs.v[ctx];
	const struct dpf_chain *s = &c->shift;
	uint64_t max = (uint64_t)s->add + ((uint64_t)s->mask << s->shift);

	emit_ptr(g, (uint32_t)c->parent, fail, false);
	emit(g, BPF_MOV64_REG(R_TMP, R_PTR));
	emit(g, BPF_ALU64_IMM(BPF_ADD, R_TMP, s->offset + s->width));
	jmp(g, BPF_JMP_REG(BPF_JGT, R_TMP, R_END, 0), fail);
	emit(g, BPF_LDX_MEM(ldx_size(s->width), R_X, R_PTR, s->offset));
	if (s->width > 1)
		emit(g, BPF_ENDIAN(BPF_TO_BE, R_X, 8 * s->width));
	if (s->mask != full_mask(s->width))
		emit(g, BPF_ALU32_IMM(BPF_AND, R_X, (int32_t)s->mask));
	if (s->shift)
		emit(g, BPF_ALU64_IMM(BPF_LSH, R_X, s->shift));
	if (s->add)
		emit(g, BPF_ALU64_IMM(BPF_ADD, R_X, s->add));
	if (c->parent > 0) {
		emit(g, BPF_ALU64_REG(BPF_ADD, R_X, R_BASE));
		max += DPF_BASE_LIMIT;
	}
	if (max >= DPF_BASE_LIMIT)
		jmp(g, BPF_JMP_IMM(BPF_JGE, R_X, DPF_BASE_LIMIT, 0), fail);
	emit(g, BPF_MOV64_REG(R_BASE, R_X));
}

/* R_PTR = data + base of ctx, or goto fail (only when the base is computed here).  cached:
 * may use the base computed at entry. */
static void emit_ptr(struct gen *g, uint32_t ctx, uint32_t fail, bool cached)
{
	const struct dpf_ctx *c = &g->t->ctxs.v[ctx];

	if (ctx == 0) {
		emit(g, BPF_LDX_MEM(BPF_W, R_PTR, R_CTX, XDP_MD_DATA));
		return;
	}
	if (cached && c->slot == SLOT_REG) {
		emit(g, BPF_LDX_MEM(BPF_W, R_PTR, R_CTX, XDP_MD_DATA));
		emit(g, BPF_ALU64_REG(BPF_ADD, R_PTR, R_BASE0));
		return;
	}
	if (cached && c->slot >= 0) {
		emit(g, BPF_LDX_MEM(BPF_DW, R_BASE, BPF_REG_10, BASE_SLOT0 - 8 * c->slot));
	} else {
		emit_base(g, ctx, fail);
	}
	emit(g, BPF_LDX_MEM(BPF_W, R_PTR, R_CTX, XDP_MD_DATA));
	emit(g, BPF_ALU64_REG(BPF_ADD, R_PTR, R_BASE));
}

/* R_PTR = data + base of ctx, and the frame holds end bytes from there; else goto fail. */
static void emit_bounds(struct gen *g, uint32_t ctx, uint32_t end, uint32_t fail)
{
	emit_ptr(g, ctx, fail, true);
	emit(g, BPF_MOV64_REG(R_TMP, R_PTR));
	emit(g, BPF_ALU64_IMM(BPF_ADD, R_TMP, end));
	jmp(g, BPF_JMP_REG(BPF_JGT, R_TMP, R_END, 0), fail);
}

/* R_VAL = masked load of t (after emit_bounds covering it). */
static void emit_load(struct gen *g, const struct dpf_test *t)
{
	emit(g, BPF_LDX_MEM(ldx_size(t->width), R_VAL, R_PTR, t->off));
	if (t->mask != full_mask(t->width))
		emit(g, BPF_ALU32_IMM(BPF_AND, R_VAL, (int32_t)t->mask));
}

static int test_cmp(const void *pa, const void *pb)
{
	const struct dpf_test *a = pa, *b = pb;

	if (a->ctx != b->ctx)
		return a->ctx < b->ctx ? -1 : 1;
	return a->off < b->off ? -1 : a->off > b->off;
}

/*
 * if (insn's condition) goto fail.  With fail_first the failure is the fall-through instead:
 * the verifier explores fall-throughs first and keeps every jump target pending meanwhile,
 * so a linear program whose fall-throughs pass would keep every filter's failure branches
 * pending at once (it refuses more than 8192); falling through to the next filter leaves one
 * pending branch per filter.
 */
static void jmp_fail(struct gen *g, struct bpf_insn insn, uint32_t fail)
{
	uint32_t ok;

	if (!g->fail_first) {
		jmp(g, insn, fail);
		return;
	}
	ok = label_new(g);
	insn.code = BPF_CLASS(insn.code) | BPF_SRC(insn.code) | dpf_asm_invert(BPF_OP(insn.code));
	jmp(g, insn, ok);
	ja(g, fail);
	label_place(g, ok);
}

/* All tests must pass, else goto fail.  One bounds check per context. */
static void emit_chain(struct gen *g, struct dpf_test *tests, uint32_t n, uint32_t fail)
{
	qsort(tests, n, sizeof(*tests), test_cmp);
	for (uint32_t i = 0; i < n;) {
		uint32_t j, end = 0;

		for (j = i; j < n && tests[j].ctx == tests[i].ctx; j++)
			if (tests[j].off + tests[j].width > end)
				end = tests[j].off + tests[j].width;
		emit_ptr(g, tests[i].ctx, fail, true);
		emit(g, BPF_MOV64_REG(R_TMP, R_PTR));
		emit(g, BPF_ALU64_IMM(BPF_ADD, R_TMP, end));
		jmp_fail(g, BPF_JMP_REG(BPF_JGT, R_TMP, R_END, 0), fail);
		for (; i < j; i++) {
			if (!tests[i].mask)
				continue;
			emit_load(g, &tests[i]);
			jmp_fail(g, BPF_JMP32_IMM(BPF_JNE, R_VAL, (int32_t)tests[i].value, 0),
				 fail);
		}
	}
}

/* ---- the trie ---- */

static void emit_node(struct gen *g, const struct dpf_tnode *t, uint32_t fail);

/*
 * Dispatches on R_VAL over vals[lo..hi] (sorted), knowing R_VAL lies in [rl, rh]: a balanced
 * tree of JGT, then up to three JEQ per leaf.  The range is tracked as the verifier tracks
 * it, so that no branch the verifier can decide is emitted: it would delete the dead side
 * afterwards, one range at a time, at a cost linear in the program size each.  (Consecutive
 * values, e.g. a block of ports, make whole leaves decidable.)  Only sound reasoning is used:
 * an omitted jump is one no frame can take.
 */
static void bsearch_emit(struct gen *g, const uint32_t *vals, const uint32_t *labels, uint32_t lo,
			 uint32_t hi, uint32_t fail, uint64_t rl, uint64_t rh)
{
	uint32_t mid, right;

	if (hi - lo + 1 < DPF_BSEARCH_MIN) {
		for (uint32_t i = lo; i <= hi; i++) {
			if (rl == rh && rl == vals[i]) {
				ja(g, labels[i]);
				return;
			}
			jmp(g, BPF_JMP32_IMM(BPF_JEQ, R_VAL, (int32_t)vals[i], 0), labels[i]);
			if (vals[i] == rl)
				rl++;
			else if (vals[i] == rh)
				rh--;
			if (rl > rh)
				return;
		}
		ja(g, fail);
		return;
	}
	mid = lo + (hi - lo) / 2;
	right = label_new(g);
	jmp(g, BPF_JMP32_IMM(BPF_JGT, R_VAL, (int32_t)vals[mid], 0), right);
	bsearch_emit(g, vals, labels, lo, mid, fail, rl, vals[mid]);
	label_place(g, right);
	bsearch_emit(g, vals, labels, mid + 1, hi, fail, (uint64_t)vals[mid] + 1, rh);
}

static void emit_dispatch(struct gen *g, const struct dpf_tnode *t, uint32_t fail)
{
	const struct dpf_test *k = &t->dispatch.key;
	uint32_t n = t->dispatch.nvals, *labels;

	emit_bounds(g, k->ctx, k->off + k->width, fail);
	if (!k->mask || n == 1) {
		if (k->mask) {
			emit_load(g, k);
			jmp(g, BPF_JMP32_IMM(BPF_JNE, R_VAL, (int32_t)t->dispatch.vals[0], 0),
			    fail);
		}
		emit_node(g, t->dispatch.subs[0], fail);
		return;
	}
	emit_load(g, k);
	labels = malloc(n * sizeof(*labels));
	if (!labels) {
		g->as.err = -ENOMEM;
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		labels[i] = label_new(g);
	bsearch_emit(g, t->dispatch.vals, labels, 0, n - 1, fail, 0,
		     k->mask != full_mask(k->width) ? k->mask : full_mask(k->width));
	for (uint32_t i = 0; i < n && !g->as.err; i++) {
		label_place(g, labels[i]);
		emit_node(g, t->dispatch.subs[i], fail);
	}
	free(labels);
}

/*
 * A table lookup: the shape's fields (one bounds check per context) make the key on the
 * stack, in shape order; a hit is a leaf, so its id is the answer.
 */
static void emit_table(struct gen *g, const struct dpf_tnode *t, uint32_t fail)
{
	const struct dpf_test *tests = t->table.tests;
	int16_t key = KEY_SLOT;

	for (uint32_t i = 0; i < t->table.n;) {
		uint32_t j, end = 0;

		for (j = i; j < t->table.n && tests[j].ctx == tests[i].ctx; j++)
			if (tests[j].off + tests[j].width > end)
				end = tests[j].off + tests[j].width;
		emit_bounds(g, tests[i].ctx, end, fail);
		for (; i < j; i++) {
			if (!tests[i].mask)
				continue;
			emit_load(g, &tests[i]);
			emit(g, BPF_STX_MEM(BPF_W, BPF_REG_10, R_VAL, key));
			key += 4;
		}
	}
	emit_ld_imm64(g, BPF_REG_1, BPF_PSEUDO_MAP_FD, (uint32_t)t->table.map_fd);
	emit(g, BPF_MOV64_REG(BPF_REG_2, BPF_REG_10));
	emit(g, BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, KEY_SLOT));
	emit(g, BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem));
	jmp(g, BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 0), fail);
	emit(g, BPF_LDX_MEM(BPF_W, R_ID, BPF_REG_0, 0));
	ja(g, g->done);
}

/* A level: the trie of its children, then its tables in turn, then fail. */
static void emit_level(struct gen *g, const struct dpf_tnode *trie, const struct dpf_tnode *tables,
		       uint32_t fail)
{
	uint32_t next;

	if (!tables) {
		emit_node(g, trie, fail);
		return;
	}
	if (trie) {
		next = label_new(g);
		emit_node(g, trie, next);
		label_place(g, next);
	}
	for (; tables && !g->as.err; tables = tables->rest) {
		next = tables->rest ? label_new(g) : fail;
		emit_table(g, tables, next);
		if (tables->rest)
			label_place(g, next);
	}
}

/* Emits t and its rest chain; every path ends in a jump (to fail, or to g->done). */
static void emit_node(struct gen *g, const struct dpf_tnode *t, uint32_t fail)
{
	if (!t) {
		ja(g, fail);
		return;
	}
	for (; t && !g->as.err; t = t->rest) {
		uint32_t rest = t->rest ? label_new(g) : fail;

		switch (t->kind) {
		case DPF_T_MATCH:
			emit(g, BPF_MOV32_IMM(R_ID, (int32_t)t->match.id));
			if (t->match.children || t->match.tables)
				emit_level(g, t->match.children, t->match.tables, g->done);
			else
				ja(g, g->done);
			break;
		case DPF_T_CHAIN:
			emit_chain(g, t->chain.tests, t->chain.n, rest);
			emit_node(g, t->chain.next, rest);
			break;
		case DPF_T_DISPATCH:
			emit_dispatch(g, t, rest);
			break;
		case DPF_T_TABLE: /* only in a level's table list (emit_level) */
			g->as.err = -EINVAL;
			break;
		}
		if (t->rest)
			label_place(g, rest);
	}
}

/* ---- program ---- */

static void emit_entry(struct gen *g)
{
	const struct dpf_ctxtab *ctxs = &g->t->ctxs;

	emit(g, BPF_MOV64_REG(R_CTX, BPF_REG_1));
	emit(g, BPF_LDX_MEM(BPF_W, R_END, R_CTX, XDP_MD_DATA_END));
	emit(g, BPF_MOV64_IMM(R_ID, 0));
	emit(g, BPF_MOV64_IMM(BPF_REG_1, 0));
	emit(g, BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, MASK_SLOT));
	for (uint32_t c = 1; c < ctxs->n; c++) {
		int32_t slot = ctxs->v[c].slot;
		int16_t off = BASE_SLOT0 - 8 * slot;
		uint32_t invalid, next;

		if (slot < 0 && slot != SLOT_REG)
			continue;
		invalid = label_new(g);
		next = label_new(g);
		emit_base(g, c, invalid);
		ja(g, next);
		label_place(g, invalid);
		emit(g, BPF_MOV64_IMM(R_BASE, DPF_BASE_LIMIT));
		label_place(g, next);
		/*
		 * Widen: the verifier does not track MOD, so after these two no-ops (every base
		 * is <= DPF_BASE_LIMIT) a valid base and the invalid marker look alike to it, the
		 * scalar [0, 0x7fff].  Using a base as a packet offset makes it precise; without
		 * this, each context's valid and invalid cases would be verified separately, the
		 * whole program 2^contexts times.
		 */
		emit(g, BPF_ALU64_IMM(BPF_MOD, R_BASE, DPF_BASE_LIMIT + 1));
		emit(g, BPF_ALU64_IMM(BPF_AND, R_BASE, DPF_BASE_LIMIT));
		if (slot == SLOT_REG)
			emit(g, BPF_MOV64_REG(R_BASE0, R_BASE));
		else
			emit(g, BPF_STX_MEM(BPF_DW, BPF_REG_10, R_BASE, off));
	}
}

static void emit_set_bit(struct gen *g, uint32_t slot, bool first)
{
	if (!first)
		emit(g, BPF_LDX_MEM(BPF_DW, R_X, BPF_REG_10, MASK_SLOT));
	if (slot < 31 && first) {
		emit(g, BPF_MOV64_IMM(R_X, 1 << slot));
	} else if (slot < 31) {
		emit(g, BPF_ALU64_IMM(BPF_OR, R_X, 1 << slot));
	} else if (first) {
		emit_ld_imm64(g, R_X, 0, 1ull << slot);
	} else {
		emit_ld_imm64(g, R_TMP, 0, 1ull << slot);
		emit(g, BPF_ALU64_REG(BPF_OR, R_X, R_TMP));
	}
	emit(g, BPF_STX_MEM(BPF_DW, BPF_REG_10, R_X, MASK_SLOT));
}

/*
 * The classification travels as a prefix in front of the Ethernet header (bpf_xdp_adjust_head
 * into the headroom), not as XDP metadata: some kernels (6.18 builds among them) refuse
 * bpf_xdp_adjust_meta to XDP programs, while every kernel with AF_XDP has adjust_head, and
 * copy mode carries the prefix into the UMEM with the frame.  xokd strips it.
 */
static void emit_finish(struct gen *g, int xsk_map_fd)
{
	uint32_t pass = label_new(g);

	emit(g, BPF_MOV64_REG(BPF_REG_1, R_CTX));
	emit(g, BPF_MOV64_IMM(BPF_REG_2, -(int32_t)sizeof(struct dpf_xdp_meta)));
	emit(g, BPF_EMIT_CALL(BPF_FUNC_xdp_adjust_head));
	jmp(g, BPF_JMP_IMM(BPF_JNE, BPF_REG_0, 0, 0), pass);
	emit(g, BPF_LDX_MEM(BPF_W, BPF_REG_2, R_CTX, XDP_MD_DATA));
	emit(g, BPF_LDX_MEM(BPF_W, BPF_REG_3, R_CTX, XDP_MD_DATA_END));
	emit(g, BPF_MOV64_REG(BPF_REG_4, BPF_REG_2));
	emit(g, BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, sizeof(struct dpf_xdp_meta)));
	jmp(g, BPF_JMP_REG(BPF_JGT, BPF_REG_4, BPF_REG_3, 0), pass);
	emit(g, BPF_MOV32_IMM(BPF_REG_1, (int32_t)DPF_META_MAGIC));
	emit(g, BPF_STX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, offsetof(struct dpf_xdp_meta, magic)));
	emit(g, BPF_STX_MEM(BPF_W, BPF_REG_2, R_ID, offsetof(struct dpf_xdp_meta, filter_id)));
	emit(g, BPF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, MASK_SLOT));
	emit(g,
	     BPF_STX_MEM(BPF_DW, BPF_REG_2, BPF_REG_1, offsetof(struct dpf_xdp_meta, copy_mask)));
	if (xsk_map_fd >= 0) {
		emit_ld_imm64(g, BPF_REG_1, BPF_PSEUDO_MAP_FD, (uint32_t)xsk_map_fd);
		emit(g, BPF_LDX_MEM(BPF_W, BPF_REG_2, R_CTX, XDP_MD_RX_QUEUE_INDEX));
		emit(g, BPF_MOV64_IMM(BPF_REG_3, XDP_PASS));
		emit(g, BPF_EMIT_CALL(BPF_FUNC_redirect_map));
		emit(g, BPF_EXIT_INSN());
	}
	label_place(g, pass);
	emit(g, BPF_MOV64_IMM(BPF_REG_0, XDP_PASS));
	emit(g, BPF_EXIT_INSN());
}

int dpf_codegen_trie(const struct dpf_trie *t, const struct dpf_codegen_opts *opts,
		     struct dpf_prog *out)
{
	struct gen g = {.t = t};
	uint32_t na = t->ncopy + 1, *a, *b;
	int err;

	a = malloc(2 * na * sizeof(*a));
	if (!a)
		return -ENOMEM;
	b = a + na;
	for (uint32_t i = 0; i < na; i++) {
		a[i] = label_new(&g);
		b[i] = label_new(&g);
	}
	g.done = b[0];
	emit_entry(&g);
	g.fail_first = opts->linear;
	emit_level(&g, t->tree, t->tree_tables, a[0]);
	g.fail_first = false;
	/* copy filters while nothing matched */
	for (uint32_t i = 0; i < t->ncopy; i++) {
		label_place(&g, a[i]);
		emit_chain(&g, t->copy[i].chain->chain.tests, t->copy[i].chain->chain.n, a[i + 1]);
		emit_set_bit(&g, t->copy[i].slot, true);
		ja(&g, b[i + 1]);
	}
	label_place(&g, a[t->ncopy]);
	emit(&g,
	     BPF_MOV64_IMM(BPF_REG_0, opts->unmatched == DPF_UNMATCHED_DROP ? XDP_DROP : XDP_PASS));
	emit(&g, BPF_EXIT_INSN());
	/* copy filters once something matched */
	for (uint32_t i = 0; i < t->ncopy; i++) {
		uint32_t skip = b[i + 1];

		label_place(&g, b[i]);
		emit_chain(&g, t->copy[i].chain->chain.tests, t->copy[i].chain->chain.n, skip);
		emit_set_bit(&g, t->copy[i].slot, false);
	}
	label_place(&g, b[t->ncopy]);
	emit_finish(&g, opts->xsk_map_fd);
	free(a);
	err = g.as.err ? g.as.err : dpf_asm_finish(&g.as, out);
	dpf_asm_free(&g.as);
	return err;
}

static void assign_slots(struct dpf_trie *t)
{
	struct dpf_ctxtab *c = &t->ctxs;
	uint32_t nslots = 0;

	for (uint32_t i = 1; i < c->n; i++)
		c->v[i].slot = -1;
	/* most used first; few contexts in practice, so a selection pass is fine */
	while (nslots < DPF_CACHED_BASES + 1) {
		int64_t best = -1;

		for (uint32_t i = 1; i < c->n; i++)
			if (c->v[i].slot == -1 && c->v[i].uses &&
			    (best < 0 || c->v[i].uses > c->v[best].uses))
				best = i;
		if (best < 0)
			break;
		c->v[best].slot = nslots++ == 0 ? SLOT_REG : (int32_t)nslots - 2;
	}
}

int dpf_codegen(struct dpf_set *s, const struct dpf_codegen_opts *opts, struct dpf_prog *out)
{
	struct dpf_codegen_opts o = {.sz = sizeof(o), .xsk_map_fd = -1};
	struct dpf_trie t;
	int err;

	if (!s || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (opts) {
		if (opts->sz < offsetof(struct dpf_codegen_opts, xsk_map_fd) + sizeof(int))
			return -EINVAL;
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	}
	if (o.unmatched != DPF_UNMATCHED_PASS && o.unmatched != DPF_UNMATCHED_DROP)
		return -EINVAL;
	err = dpf_trie_build(s, o.linear, &t);
	if (err)
		return err;
	assign_slots(&t);
	err = dpf_codegen_trie(&t, &o, out);
	dpf_trie_free(&t);
	return err;
}

void dpf_prog_free(struct dpf_prog *p)
{
	if (!p)
		return;
	free(p->insns);
	p->insns = NULL;
	p->ninsns = 0;
}
