/* asm.c - a small eBPF assembler: labels, dead code removal, far jumps
 *
 * Code is emitted as abstract instructions whose jumps name labels.  dpf_asm_finish() then
 *   - drops what the entry cannot reach (the verifier refuses unreachable code, and a filter
 *     that matches every frame makes whatever follows it unreachable);
 *   - drops jumps to the next instruction (the verifier would remove each "ja +0" itself, at
 *     a cost linear in the program size per removal);
 *   - lays the program out, turning a conditional jump whose offset does not fit 16 bits
 *     into an inverted jump over a "gotol" (BPF_JMP32 | BPF_JA, 32-bit offset, kernel 6.4+);
 *     an unconditional one simply becomes a gotol.  Offsets only grow, so this converges.
 */
#include <stdlib.h>

#include "dpf_internal.h"

static struct dpf_ains *put(struct dpf_asm *as, struct bpf_insn insn, uint8_t kind, uint32_t label)
{
	if (as->err)
		return NULL;
	if (as->n == as->cap) {
		size_t cap = as->cap ? 2 * as->cap : 1024;
		struct dpf_ains *v = realloc(as->v, cap * sizeof(*v));

		if (!v) {
			as->err = -ENOMEM;
			return NULL;
		}
		as->v = v;
		as->cap = cap;
	}
	as->v[as->n] = (struct dpf_ains){.insn = insn, .label = label, .kind = kind};
	return &as->v[as->n++];
}

void dpf_asm_emit(struct dpf_asm *as, struct bpf_insn insn)
{
	put(as, insn, DPF_A_PLAIN, 0);
}

void dpf_asm_ld_imm64(struct dpf_asm *as, int dst, int src, uint64_t imm)
{
	struct bpf_insn pair[2] = {BPF_LD_IMM64_RAW(dst, src, imm)};

	dpf_asm_emit(as, pair[0]);
	dpf_asm_emit(as, pair[1]);
}

uint32_t dpf_asm_label(struct dpf_asm *as)
{
	if (as->nlabels == as->clabels) {
		uint32_t cap = as->clabels ? 2 * as->clabels : 1024;
		uint32_t *v = realloc(as->labels, cap * sizeof(*v));

		if (!v) {
			as->err = -ENOMEM;
			return 0;
		}
		as->labels = v;
		as->clabels = cap;
	}
	as->labels[as->nlabels] = UINT32_MAX;
	return as->nlabels++;
}

void dpf_asm_place(struct dpf_asm *as, uint32_t l)
{
	if (!as->err)
		as->labels[l] = (uint32_t)as->n;
}

/* Conditional jump (code/dst/imm of insn) to label. */
void dpf_asm_jmp(struct dpf_asm *as, struct bpf_insn insn, uint32_t label)
{
	put(as, insn, DPF_A_JMP, label);
}

void dpf_asm_ja(struct dpf_asm *as, uint32_t label)
{
	put(as, BPF_JMP_A(0), DPF_A_JA, label);
}

uint8_t dpf_asm_invert(uint8_t op)
{
	switch (op) {
	case BPF_JEQ:
		return BPF_JNE;
	case BPF_JNE:
		return BPF_JEQ;
	case BPF_JGT:
		return BPF_JLE;
	case BPF_JLE:
		return BPF_JGT;
	case BPF_JGE:
		return BPF_JLT;
	default: /* BPF_JLT */
		return BPF_JGE;
	}
}

static unsigned ains_size(const struct dpf_asm *as, size_t i)
{
	const struct dpf_ains *a = &as->v[i];

	if (!a->live)
		return 0;
	switch (a->kind) {
	case DPF_A_JA:
		return a->far; /* 0: jumps to the next emitted insn (see mark_nops) */
	case DPF_A_JMP:
		return a->far ? 2 : 1;
	default:
		return 1;
	}
}

/* Marks what the entry reaches.  Code can be dead, e.as. everything after a filter that
 * matches every frame, or the copy chain only a tree match would enter. */
static int mark_live(struct dpf_asm *as)
{
	size_t *stack = malloc((2 * as->n + 1) * sizeof(*stack)), sp = 0;

	if (!stack)
		return -ENOMEM;
	if (as->n)
		stack[sp++] = 0;
	while (sp) {
		size_t i = stack[--sp];
		struct dpf_ains *a;

		if (i >= as->n || as->v[i].live)
			continue;
		a = &as->v[i];
		a->live = 1;
		if (a->kind != DPF_A_PLAIN) {
			uint32_t t = as->labels[a->label];

			if (t < as->n && !as->v[t].live)
				stack[sp++] = t;
			if (a->kind == DPF_A_JA)
				continue;
		} else if (a->insn.code == (BPF_JMP | BPF_EXIT)) {
			continue;
		} else if (a->insn.code == (BPF_LD | BPF_DW | BPF_IMM)) {
			as->v[++i].live = 1; /* second half */
		}
		if (i + 1 < as->n && !as->v[i + 1].live)
			stack[sp++] = i + 1;
	}
	free(stack);
	return 0;
}

/*
 * A JA whose target is the next insn that takes room is a no-op: drop it (the verifier would
 * remove each "ja +0" itself, again at a cost linear in the program size).  Backwards, so
 * that a run of such jumps collapses.  For DPF_A_JA, far means "emitted".
 */
static void mark_nops(struct dpf_asm *as)
{
	size_t next = as->n; /* first insn at or after i+1 that takes room */

	for (size_t i = as->n; i-- > 0;) {
		struct dpf_ains *a = &as->v[i];

		if (a->kind == DPF_A_JA)
			a->far = a->live && as->labels[a->label] > next;
		if (ains_size(as, i))
			next = i;
	}
}

int dpf_asm_finish(struct dpf_asm *as, struct dpf_prog *out)
{
	uint32_t *pos = malloc((as->n + 1) * sizeof(*pos));
	struct bpf_insn *insns;
	bool changed = true;

	if (!pos)
		return -ENOMEM;
	for (uint32_t l = 0; l < as->nlabels; l++)
		if (as->labels[l] == UINT32_MAX) {
			free(pos);
			return -EFAULT; /* unplaced label: a codegen bug */
		}
	if (mark_live(as)) {
		free(pos);
		return -ENOMEM;
	}
	mark_nops(as);
	while (changed) {
		changed = false;
		pos[0] = 0;
		for (size_t i = 0; i < as->n; i++)
			pos[i + 1] = pos[i] + ains_size(as, i);
		for (size_t i = 0; i < as->n; i++) {
			struct dpf_ains *a = &as->v[i];
			int64_t off;

			if (a->kind != DPF_A_JMP || a->far || !a->live)
				continue;
			off = (int64_t)pos[as->labels[a->label]] - (pos[i] + 1);
			if (off < INT16_MIN || off > INT16_MAX) {
				a->far = 1;
				changed = true;
			}
		}
	}
	insns = malloc((pos[as->n] ? pos[as->n] : 1) * sizeof(*insns));
	if (!insns) {
		free(pos);
		return -ENOMEM;
	}
	for (size_t i = 0; i < as->n; i++) {
		const struct dpf_ains *a = &as->v[i];
		struct bpf_insn *o = &insns[pos[i]];
		int64_t target = a->kind == DPF_A_PLAIN ? 0 : pos[as->labels[a->label]];

		if (!a->live)
			continue;
		switch (a->kind) {
		case DPF_A_PLAIN:
			*o = a->insn;
			break;
		case DPF_A_JA:
			if (!ains_size(as, i))
				break;
			if (target - (pos[i] + 1) >= INT16_MIN &&
			    target - (pos[i] + 1) <= INT16_MAX)
				*o = BPF_JMP_A((int16_t)(target - (pos[i] + 1)));
			else
				*o = BPF_JMP32_A((int32_t)(target - (pos[i] + 1)));
			break;
		case DPF_A_JMP:
			*o = a->insn;
			if (!a->far) {
				o->off = (int16_t)(target - (pos[i] + 1));
				break;
			}
			o->code =
			    BPF_CLASS(o->code) | BPF_SRC(o->code) | dpf_asm_invert(BPF_OP(o->code));
			o->off = 1;
			o[1] = BPF_JMP32_A((int32_t)(target - (pos[i] + 2)));
			break;
		}
	}
	out->insns = insns;
	out->ninsns = pos[as->n];
	free(pos);
	return 0;
}

void dpf_asm_free(struct dpf_asm *as)
{
	free(as->v);
	free(as->labels);
	memset(as, 0, sizeof(*as));
}
