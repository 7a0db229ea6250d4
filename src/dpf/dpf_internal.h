/* dpf_internal.h - libdpf internals shared by its files (not installed, not ABI) */
#ifndef XOK_DPF_INTERNAL_H
#define XOK_DPF_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/bpf.h>

#include "xok/dpf.h"

/*
 * ---- tunables ----
 *
 * DPF_BASE_LIMIT: a base (the start of a SHIFT context) at or beyond this offset is invalid:
 * every load relative to it fails.  Frames are assumed to be shorter (the XDP linear area is
 * at most a page); the generated code also needs the bound so that the verifier can track
 * variable packet offsets (the base plus the largest atom offset stays below 64 KiB).
 */
#define DPF_BASE_LIMIT	   0x7fffu /* also the invalid marker; 2^n - 1 (see codegen.c) */
#define DPF_CACHED_BASES   48	   /* contexts whose base is computed once at entry */
#define DPF_BSEARCH_MIN	   4	   /* dispatch on this many values or more by binary search */
#define DPF_NORM_MAX_BYTES (DPF_MAX_ATOMS * 4)

/* ---- eBPF instruction macros (from the kernel's tools/include/linux/filter.h) ---- */
#define BPF_ALU64_REG(OP, DST, SRC)                                                                \
	((struct bpf_insn){.code = BPF_ALU64 | BPF_OP(OP) | BPF_X,                                 \
			   .dst_reg = DST,                                                         \
			   .src_reg = SRC,                                                         \
			   .off = 0,                                                               \
			   .imm = 0})
#define BPF_ALU64_IMM(OP, DST, IMM)                                                                \
	((struct bpf_insn){.code = BPF_ALU64 | BPF_OP(OP) | BPF_K,                                 \
			   .dst_reg = DST,                                                         \
			   .src_reg = 0,                                                           \
			   .off = 0,                                                               \
			   .imm = IMM})
#define BPF_ALU32_IMM(OP, DST, IMM)                                                                \
	((struct bpf_insn){.code = BPF_ALU | BPF_OP(OP) | BPF_K,                                   \
			   .dst_reg = DST,                                                         \
			   .src_reg = 0,                                                           \
			   .off = 0,                                                               \
			   .imm = IMM})
#define BPF_ENDIAN(TYPE, DST, LEN)                                                                 \
	((struct bpf_insn){.code = BPF_ALU | BPF_END | BPF_SRC(TYPE),                              \
			   .dst_reg = DST,                                                         \
			   .src_reg = 0,                                                           \
			   .off = 0,                                                               \
			   .imm = LEN})
#define BPF_MOV64_REG(DST, SRC)                                                                    \
	((struct bpf_insn){.code = BPF_ALU64 | BPF_MOV | BPF_X,                                    \
			   .dst_reg = DST,                                                         \
			   .src_reg = SRC,                                                         \
			   .off = 0,                                                               \
			   .imm = 0})
#define BPF_MOV64_IMM(DST, IMM)                                                                    \
	((struct bpf_insn){.code = BPF_ALU64 | BPF_MOV | BPF_K,                                    \
			   .dst_reg = DST,                                                         \
			   .src_reg = 0,                                                           \
			   .off = 0,                                                               \
			   .imm = IMM})
#define BPF_MOV32_IMM(DST, IMM)                                                                    \
	((struct bpf_insn){.code = BPF_ALU | BPF_MOV | BPF_K,                                      \
			   .dst_reg = DST,                                                         \
			   .src_reg = 0,                                                           \
			   .off = 0,                                                               \
			   .imm = IMM})
#define BPF_LD_IMM64_RAW(DST, SRC, IMM)                                                            \
	((struct bpf_insn){.code = BPF_LD | BPF_DW | BPF_IMM,                                      \
			   .dst_reg = DST,                                                         \
			   .src_reg = SRC,                                                         \
			   .off = 0,                                                               \
			   .imm = (uint32_t)(IMM)}),                                               \
	    ((struct bpf_insn){.code = 0,                                                          \
			       .dst_reg = 0,                                                       \
			       .src_reg = 0,                                                       \
			       .off = 0,                                                           \
			       .imm = (uint32_t)((uint64_t)(IMM) >> 32)})
#define BPF_LD_MAP_FD(DST, MAP_FD) BPF_LD_IMM64_RAW(DST, BPF_PSEUDO_MAP_FD, MAP_FD)
#define BPF_LDX_MEM(SIZE, DST, SRC, OFF)                                                           \
	((struct bpf_insn){.code = BPF_LDX | BPF_SIZE(SIZE) | BPF_MEM,                             \
			   .dst_reg = DST,                                                         \
			   .src_reg = SRC,                                                         \
			   .off = OFF,                                                             \
			   .imm = 0})
#define BPF_STX_MEM(SIZE, DST, SRC, OFF)                                                           \
	((struct bpf_insn){.code = BPF_STX | BPF_SIZE(SIZE) | BPF_MEM,                             \
			   .dst_reg = DST,                                                         \
			   .src_reg = SRC,                                                         \
			   .off = OFF,                                                             \
			   .imm = 0})
#define BPF_JMP_REG(OP, DST, SRC, OFF)                                                             \
	((struct bpf_insn){.code = BPF_JMP | BPF_OP(OP) | BPF_X,                                   \
			   .dst_reg = DST,                                                         \
			   .src_reg = SRC,                                                         \
			   .off = OFF,                                                             \
			   .imm = 0})
#define BPF_JMP_IMM(OP, DST, IMM, OFF)                                                             \
	((struct bpf_insn){.code = BPF_JMP | BPF_OP(OP) | BPF_K,                                   \
			   .dst_reg = DST,                                                         \
			   .src_reg = 0,                                                           \
			   .off = OFF,                                                             \
			   .imm = IMM})
#define BPF_JMP32_IMM(OP, DST, IMM, OFF)                                                           \
	((struct bpf_insn){.code = BPF_JMP32 | BPF_OP(OP) | BPF_K,                                 \
			   .dst_reg = DST,                                                         \
			   .src_reg = 0,                                                           \
			   .off = OFF,                                                             \
			   .imm = IMM})
#define BPF_JMP_A(OFF)                                                                             \
	((struct bpf_insn){                                                                        \
	    .code = BPF_JMP | BPF_JA, .dst_reg = 0, .src_reg = 0, .off = OFF, .imm = 0})
/* "gotol": unconditional jump with a 32-bit offset in imm (kernel >= 6.4) */
#define BPF_JMP32_A(IMM)                                                                           \
	((struct bpf_insn){                                                                        \
	    .code = BPF_JMP32 | BPF_JA, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = IMM})
#define BPF_EMIT_CALL(FUNC)                                                                        \
	((struct bpf_insn){                                                                        \
	    .code = BPF_JMP | BPF_CALL, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = (FUNC)})
#define BPF_EXIT_INSN()                                                                            \
	((struct bpf_insn){                                                                        \
	    .code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0})

/* ---- relate.c: the normal form ---- */

/* One SHIFT of a context chain, compared by value. */
struct dpf_chain {
	uint16_t offset;
	uint16_t add;
	uint32_t mask;
	uint8_t width;
	uint8_t shift;
	uint8_t pad[2];
};

/* One constrained byte (mask != 0) of one context; value is pre-masked. */
struct dpf_nbyte {
	uint16_t off;
	uint8_t depth; /* context: 0 = frame start, d = after the filter's first d SHIFTs */
	uint8_t mask;
	uint8_t value;
	uint8_t pad;
};

/*
 * A filter as per-context byte maps.  Context d exists when extent[d] > 0: the frame must hold
 * extent[d] bytes from that context's base (a mask-0 atom and a SHIFT's field count too).
 * Bytes are sorted by (depth, off).  unsat: two atoms contradict each other (no frame matches).
 */
struct dpf_norm {
	uint8_t nshift; /* SHIFT atoms in the filter */
	bool unsat;
	uint16_t nbytes;
	uint16_t extent[DPF_MAX_DEPTH + 1];
	struct dpf_chain chain[DPF_MAX_DEPTH];
	struct dpf_nbyte bytes[]; /* nbytes */
};

struct dpf_norm *dpf_norm_new(const struct dpf_filter *f);
const struct dpf_nbyte *dpf_norm_byte(const struct dpf_norm *n, int depth, uint16_t off);
bool dpf_norm_same_ctx(const struct dpf_norm *a, const struct dpf_norm *b, int depth);
enum dpf_relation dpf_relate_norm(const struct dpf_norm *a, const struct dpf_norm *b);

/* ---- set.c: the filter tree ---- */

struct dpf_cvec {
	struct dpf_node **v;
	uint32_t n, cap;
};

/*
 * An index over a node's children, for placement: a small decision tree on discriminating
 * bytes (a context and offset that many children pin to many values).  A new filter that
 * pins the byte can only overlap the children in its value's bucket or in the bucket of those
 * that do not pin it; every other child differs from it in a byte both pin.  A crowded bucket
 * has its own index on another byte.  Purely an accelerator: dropped when memory runs out.
 */
#define DPF_INDEX_MIN	   32 /* children before a node (or bucket) gets an index */
#define DPF_INDEX_LEVELS   4
#define DPF_INDEX_UNPINNED 256
struct dpf_cindex {
	uint8_t depth;
	uint16_t off;
	struct dpf_chain chain[DPF_MAX_DEPTH];
	struct dpf_ibucket {
		struct dpf_cvec members;
		struct dpf_cindex *sub; /* instead of members */
	} bucket[DPF_INDEX_UNPINNED + 1];
};

struct dpf_table;
struct dpf_hist;

struct dpf_node {
	uint32_t id;
	int copy_slot; /* -1: tree filter */
	struct dpf_table *tables;      /* exact-match tables of its children (table.c) */
	struct dpf_table *table;       /* the table holding its entry, or NULL */
	struct dpf_node *tnext, *tprev; /* ... that table's members */
	struct dpf_hist *hist;	       /* shapes of leaves inserted under it, and how often */
	struct dpf_node *parent;
	uint32_t pos; /* index in parent->children */
	struct dpf_node **children;
	uint32_t nchildren, cchildren;
	struct dpf_cindex *index; /* over children, or NULL */
	uint32_t index_built_at;  /* nchildren then; rebuilt when that doubles */
	struct dpf_cvec *ileaf;	  /* where parent->index files this node */
	uint32_t ipos;
	struct dpf_norm *norm;
	struct dpf_filter filter;
};

struct dpf_idmap {
	struct dpf_node **slots; /* open addressing; NULL empty, tombstone marker */
	size_t cap, used, live;
};

struct dpf_ctx;
struct dpf_ctxtab {
	struct dpf_ctx *v;
	uint32_t n, cap;
	uint32_t *hash; /* open addressing of index+1 */
	uint32_t hcap;
};

struct dpf_set {
	struct dpf_node root; /* id 0, the empty filter */
	struct dpf_idmap ids;
	struct dpf_node *copy[DPF_MAX_COPY];
	size_t ntree, ncopy;
	bool tables_on;
	bool stale;		 /* the committed programs no longer classify as the set does */
	struct dpf_table *tables; /* all of them, through dpf_table.gnext */
	size_t ntabled;		 /* nodes with an entry in a table */
	struct dpf_ctxtab tctxs; /* contexts of table shapes: indices stable for the set's life */
};

/* index.c: the children index (only an accelerator for set.c) */
struct dpf_cand_lists { /* the children a filter may overlap, as lists */
	struct dpf_node *const *(*v);
	uint32_t *n;
	unsigned count, cap;
	bool nomem;
	struct dpf_node *const *inl_v[8];
	uint32_t inl_n[8];
};

void dpf_candidates(const struct dpf_node *p, const struct dpf_norm *n, struct dpf_cand_lists *out);
void dpf_candidates_done(struct dpf_cand_lists *cl);
void dpf_index_add(struct dpf_node *p, struct dpf_node *c);
void dpf_index_del(struct dpf_node *p, struct dpf_node *c);
void dpf_index_update(struct dpf_node *p); /* after p's children changed */
void dpf_index_drop(struct dpf_node *p);

/* interp.c */
bool dpf_filter_matches(const struct dpf_filter *f, const uint8_t *frame, size_t len);

/* ---- tests.c and trie.c: tests and the decision trie ---- */

/* A load-and-compare: (load(ctx base + off, width) & mask) == value, in native load order
 * (mask and value are what an eBPF load of the big-endian bytes yields on this host).
 * mask == 0: only checks that the bytes exist. */
struct dpf_test {
	uint32_t ctx; /* index into the context table */
	uint16_t off;
	uint8_t width;
	uint8_t pad;
	uint32_t mask;
	uint32_t value;
};

struct dpf_ctx {
	uint8_t depth;
	int32_t parent;		/* context index, -1 for the root context */
	struct dpf_chain shift; /* the SHIFT that opens it (depth > 0) */
	struct dpf_chain chain[DPF_MAX_DEPTH];
	uint32_t uses;
	int32_t slot; /* stack slot of its cached base, -1: computed where used */
};

enum dpf_tkind {
	DPF_T_MATCH,	/* record id, then try the children */
	DPF_T_CHAIN,	/* all tests, then next */
	DPF_T_DISPATCH, /* load key, branch on its value */
	DPF_T_TABLE,	/* load the shape's fields as a key, look it up in a table's map */
};

struct dpf_tnode {
	enum dpf_tkind kind;
	struct dpf_tnode *rest; /* tried when this node fails; NULL: the enclosing failure */
	union {
		struct {
			uint32_t id;
			struct dpf_tnode *children; /* NULL: no children */
			struct dpf_tnode *tables;   /* TABLE nodes tried after the children */
		} match;
		struct {
			struct dpf_test *tests;
			uint32_t n;
			struct dpf_tnode *next;
		} chain;
		struct {
			struct dpf_test key;
			uint32_t nvals;
			uint32_t *vals; /* sorted ascending, distinct */
			struct dpf_tnode **subs;
		} dispatch;
		struct {
			int map_fd;
			struct dpf_test *tests; /* the shape, in key order */
			uint32_t n;
		} table;
	};
};

struct dpf_arena {
	struct dpf_arena_blk *blk;
};

struct dpf_trie {
	struct dpf_arena arena;
	struct dpf_ctxtab ctxs;
	struct dpf_tnode *tree;	       /* NULL: nothing to match */
	struct dpf_tnode *tree_tables; /* the root level's TABLE nodes */
	uint32_t ncopy;
	struct {
		uint32_t slot;
		struct dpf_tnode *chain; /* CHAIN node whose next is NULL */
	} copy[DPF_MAX_COPY];
};

/* tests.c */
int64_t dpf_ctx_intern(struct dpf_ctxtab *t, int depth, const struct dpf_chain *chain);
/* The tests of n below parent p (NULL: all of n's tests); out has room for
 * n->nbytes + DPF_MAX_DEPTH + 1. */
int dpf_make_tests(struct dpf_ctxtab *ctxs, const struct dpf_norm *n, const struct dpf_norm *p,
		   struct dpf_test *out, uint32_t *nout);

/* trie.c */
void *dpf_arena_alloc(struct dpf_arena *a, size_t size);
void dpf_arena_free(struct dpf_arena *a);
int dpf_trie_build(struct dpf_set *s, bool linear, struct dpf_trie *t);

/* ---- table.c: exact-match tables ---- */
#define DPF_TABLE_TESTS	   16 /* tests in a table's shape at most */
#define DPF_TABLE_KEY_SIZE (4 * DPF_TABLE_TESTS)

struct dpf_table {
	struct dpf_table *next;	 /* its parent's tables */
	struct dpf_table *gnext; /* the set's tables */
	struct dpf_node *parent;
	struct dpf_node *members; /* through dpf_node.tnext */
	uint32_t nmembers;
	uint32_t ntests, keylen;
	struct dpf_test shape[DPF_TABLE_TESTS]; /* ctx: index into dpf_set.tctxs; value 0 */
	int map_fd;
	bool live;	/* the installed programs consult it */
	bool generated; /* the programs generated since the last commit consult it */
};

/* Sorts parent's leaf children into its tables (creating tables for big enough groups,
 * dropping empty ones); tabled[i] says whether children[i] is served by a table. */
int dpf_table_level(struct dpf_set *s, struct dpf_node *parent, bool *tabled);
/* A new leaf under parent: into a live table of its shape if there is one (true). */
bool dpf_table_insert(struct dpf_set *s, struct dpf_node *parent, struct dpf_node *node);
/* node leaves the set: out of its table; true if the installed programs stay exact. */
bool dpf_table_delete(struct dpf_set *s, struct dpf_node *node);
void dpf_table_drop_all(struct dpf_set *s, struct dpf_node *parent); /* parent's tables */
void dpf_table_forget(struct dpf_node *n); /* frees n's shape history */
void dpf_trie_free(struct dpf_trie *t);

/* ---- asm.c: a small assembler with labels ---- */

enum { DPF_A_PLAIN, DPF_A_JMP, DPF_A_JA };

struct dpf_ains {
	struct bpf_insn insn;
	uint32_t label;
	uint8_t kind;
	uint8_t far;  /* DPF_A_JMP: too far for 16 bits; DPF_A_JA: not a no-op */
	uint8_t live; /* reachable from the entry */
};

struct dpf_asm {
	struct dpf_ains *v;
	size_t n, cap;
	uint32_t *labels; /* label -> index in v where it was placed */
	uint32_t nlabels, clabels;
	int err; /* sticky: the first allocation failure */
};

void dpf_asm_emit(struct dpf_asm *a, struct bpf_insn insn);
void dpf_asm_ld_imm64(struct dpf_asm *a, int dst, int src, uint64_t imm);
uint32_t dpf_asm_label(struct dpf_asm *a);
void dpf_asm_place(struct dpf_asm *a, uint32_t label);
void dpf_asm_jmp(struct dpf_asm *a, struct bpf_insn insn, uint32_t label); /* conditional */
void dpf_asm_ja(struct dpf_asm *a, uint32_t label);
uint8_t dpf_asm_invert(uint8_t jmp_op); /* JEQ <-> JNE, JGT <-> JLE, JGE <-> JLT */
int dpf_asm_finish(struct dpf_asm *a, struct dpf_prog *out);
void dpf_asm_free(struct dpf_asm *a);

/* codegen.c */
int dpf_codegen_trie(const struct dpf_trie *t, const struct dpf_codegen_opts *opts,
		     struct dpf_prog *out);

#endif /* XOK_DPF_INTERNAL_H */
