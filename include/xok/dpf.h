/* dpf.h - dynamic packet filters: the filter model, the filter tree, eBPF code generation */
#ifndef XOK_DPF_H
#define XOK_DPF_H

/*
 * A filter is a conjunction of atoms.  A MATCH atom tests
 *     (load(base + offset, width) & mask) == value
 * where the load is big-endian (network byte order) and fails when the bytes lie beyond the
 * frame.  A SHIFT atom (an indirection) opens a new base for the atoms after it:
 *     base' = base + add + ((load(base + offset, width) & mask) << shift)
 * which is how TCP/UDP ports are found after a variable-length IPv4 header
 * (offset 14, width 1, mask 0x0f, shift 2, add 14).  A SHIFT also fails when its field lies
 * beyond the frame.  Atoms after a SHIFT are relative to the new base; a filter may nest
 * SHIFTs up to DPF_MAX_DEPTH deep.  A base of 32767 or more counts as beyond the frame (XDP
 * frames are far shorter; the generated code needs the bound).
 *
 * Installed filters form a tree under refinement (A refines B when every frame matching A
 * matches B).  A frame belongs to the deepest matching filter.  Copy filters sit outside the
 * tree: each one that matches gets a copy, whatever else matches.
 *
 * This header is part of the kernel ABI: the atom layout travels in xokd's control messages.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DPF_MAX_ATOMS	   32	/* per filter */
#define DPF_MAX_DEPTH	   2	/* nested SHIFT atoms per filter */
#define DPF_MAX_COPY	   64	/* copy filters installed at once (one bit each in struct dpf_xdp_meta) */
#define DPF_MAX_OFFSET	   1500 /* largest atom offset relative to its base */
#define DPF_MAX_FILTERS	   65536

enum dpf_atom_kind {
	DPF_ATOM_MATCH = 0,
	DPF_ATOM_SHIFT = 1,
};

struct dpf_atom {
	uint8_t kind;	 /* enum dpf_atom_kind */
	uint8_t width;	 /* 1, 2 or 4 bytes */
	uint8_t shift;	 /* SHIFT only: left shift of the masked field, 0..7 */
	uint8_t pad;	 /* must be zero */
	uint16_t offset; /* relative to the current base, <= DPF_MAX_OFFSET */
	uint16_t add;	 /* SHIFT only: constant added to the base, <= DPF_MAX_OFFSET */
	uint32_t mask;	 /* host order; bits above width*8 must be zero */
	uint32_t value;	 /* host order; must satisfy (value & ~mask) == 0; SHIFT: zero */
};
_Static_assert(sizeof(struct dpf_atom) == 16, "dpf_atom is ABI");

struct dpf_filter {
	uint32_t natoms;
	uint32_t pad;
	struct dpf_atom atoms[DPF_MAX_ATOMS];
};
_Static_assert(sizeof(struct dpf_filter) == 8 + 16 * DPF_MAX_ATOMS, "dpf_filter is ABI");

/* Checks a filter's shape; returns 0 or -EINVAL.  Every other entry point assumes it passed. */
int dpf_filter_validate(const struct dpf_filter *f);

/* ---- building filters (all values in host order; helpers return 0 or -ENOSPC) ---- */
void dpf_filter_init(struct dpf_filter *f);
int dpf_add_match(struct dpf_filter *f, uint16_t offset, uint8_t width, uint32_t mask,
		  uint32_t value);
int dpf_add_shift(struct dpf_filter *f, uint16_t offset, uint8_t width, uint32_t mask,
		  uint8_t shift, uint16_t add);

/* Ethernet II frames.  Each helper appends to f; combine them for narrower filters.  The
 * Ethernet/IPv4 helpers must come before the L4 port helpers (after the indirection they
 * return -EINVAL).  A prefix length of 0 adds nothing; 33 or more is -EINVAL. */
int dpf_match_ethertype(struct dpf_filter *f, uint16_t ethertype);
int dpf_match_arp(struct dpf_filter *f);
int dpf_match_ipv4(struct dpf_filter *f); /* ethertype 0x0800 */
int dpf_match_ipv4_proto(struct dpf_filter *f, uint8_t proto);
int dpf_match_ipv4_src(struct dpf_filter *f, uint32_t addr, uint8_t prefix_len);
int dpf_match_ipv4_dst(struct dpf_filter *f, uint32_t addr, uint8_t prefix_len);
/* Appends the IHL indirection, then the port test, after an IPv4 proto match. */
int dpf_match_l4_dport(struct dpf_filter *f, uint16_t port);
int dpf_match_l4_sport(struct dpf_filter *f, uint16_t port);

/* Complete filters (each starts from an empty f).  local_addr 0: any local address. */
int dpf_filter_udp_port(struct dpf_filter *f, uint32_t local_addr, uint16_t local_port);
int dpf_filter_tcp_port(struct dpf_filter *f, uint32_t local_addr, uint16_t local_port);
int dpf_filter_tcp_4tuple(struct dpf_filter *f, uint32_t local_addr, uint16_t local_port,
			  uint32_t remote_addr, uint16_t remote_port);
int dpf_filter_all_ipv4(struct dpf_filter *f);
int dpf_filter_everything(struct dpf_filter *f); /* zero atoms: matches every frame */

/* ---- relations ---- */
enum dpf_relation {
	DPF_REL_DISJOINT = 0, /* no frame matches both */
	DPF_REL_EQUAL,	      /* exactly the same frames */
	DPF_REL_REFINES,      /* A's frames are a strict subset of B's */
	DPF_REL_REFINED_BY,   /* B's frames are a strict subset of A's */
	DPF_REL_AMBIGUOUS,    /* they overlap and neither contains the other */
};
/* Exact for atoms in the same base context (same chain of SHIFTs); where contexts differ and
 * nothing proves disjointness or containment, the answer is AMBIGUOUS (never wrongly
 * DISJOINT or REFINES).  A filter whose atoms contradict each other matches nothing and is
 * DISJOINT from everything, itself included. */
enum dpf_relation dpf_relate(const struct dpf_filter *a, const struct dpf_filter *b);
const char *dpf_relation_name(enum dpf_relation r);

/* ---- the filter set: tree, copy filters, merged trie ---- */
struct dpf_set;

struct dpf_set *dpf_set_new(void);
void dpf_set_free(struct dpf_set *s);

/*
 * Inserts a tree filter with the caller-chosen id (nonzero, unique).  The filter is placed
 * under the deepest installed filter it refines; *parent_out receives that filter's id
 * (0 for the root).  Existing filters at that level which refine the new one move under it.
 * Returns 0, -EEXIST (equal to an installed filter; *parent_out names it), -EBUSY (ambiguous
 * overlap; *parent_out names the conflicting filter), -ENOSPC, -ENOMEM, -EINVAL (invalid
 * filter, id 0 or already in use, or atoms that contradict each other: it would match
 * nothing).
 * The caller (xokd) decides whether the inserter may refine *parent_out: use
 * dpf_set_place() first to learn the parent without inserting.
 */
int dpf_set_place(const struct dpf_set *s, const struct dpf_filter *f, uint32_t *parent_out);
int dpf_set_insert(struct dpf_set *s, uint32_t id, const struct dpf_filter *f,
		   uint32_t *parent_out);
/* Copy filters: returns the copy slot (0..DPF_MAX_COPY-1) or -ENOSPC/-EEXIST/-EINVAL. */
int dpf_set_insert_copy(struct dpf_set *s, uint32_t id, const struct dpf_filter *f);
/* Removes a tree or copy filter; a tree filter's children move up to its parent.
 * Returns 0 or -ENOENT. */
int dpf_set_delete(struct dpf_set *s, uint32_t id);

size_t dpf_set_count(const struct dpf_set *s); /* tree and copy filters */
uint32_t dpf_set_parent(const struct dpf_set *s, uint32_t id); /* 0 = root or unknown */
int dpf_set_copy_slot(const struct dpf_set *s, uint32_t id);    /* -ENOENT if not a copy */
/* Visits every tree filter depth-first (parents before children) and then copy filters. */
typedef void (*dpf_visit_fn)(uint32_t id, uint32_t parent, int depth, bool copy,
			     const struct dpf_filter *f, void *arg);
void dpf_set_walk(const struct dpf_set *s, dpf_visit_fn fn, void *arg);

/*
 * ---- exact-match tables (DPF's hash dispatch) ----
 *
 * Many sibling filters that differ only in the values of the same fields -- one per TCP
 * connection below a listener or below the catch-all -- are better served by a hash lookup
 * than by a trie branch each, and above all they can then come and go without a new
 * program: with tables on, code generation gives each group of at least DPF_TABLE_MIN leaf
 * siblings of one shape (same fields, widths and masks below the same parent) a BPF hash
 * map, keyed by the fields' values, that the program consults after the level's trie.  A
 * later filter of that shape under that parent is added to the map by dpf_set_insert itself,
 * and a member's deletion removes it there: the installed program stays correct, and
 * dpf_set_current() says so.
 *
 * The protocol: dpf_codegen (which may create maps and fill them) for each program, install
 * the programs, then dpf_set_commit(); no other change to the set in between.
 */
#define DPF_TABLE_MIN 4 /* leaf siblings of one shape before they share a table */

/* Tables on or off (default off: no BPF maps; code generation is then pure).  Turning them
 * off drops every table; the next program must be generated without them. */
void dpf_set_tables(struct dpf_set *s, bool on);
/* True while the programs generated and committed last still classify exactly as the set
 * does (every change since went into or out of a live table). */
bool dpf_set_current(const struct dpf_set *s);
/* The programs generated since the last commit are installed: the tables they consult are
 * live (inserts may now go straight into them); entries no program needs are removed. */
void dpf_set_commit(struct dpf_set *s);
/* How many filters are table entries now, and whether id is one (statistics, tests). */
size_t dpf_set_tabled(const struct dpf_set *s);
bool dpf_set_in_table(const struct dpf_set *s, uint32_t id);

/* ---- reference interpreter ---- */
struct dpf_result {
	uint32_t filter_id; /* deepest matching tree filter, 0 = none */
	uint32_t pad;
	uint64_t copy_mask; /* bit i set: copy slot i matched */
};
void dpf_interpret(const struct dpf_set *s, const uint8_t *frame, size_t len,
		   struct dpf_result *out);

/* ---- eBPF code generation ---- */

/* What the generated program prepends to the frame (bpf_xdp_adjust_head) when anything
 * matched; AF_XDP delivers it as the first bytes of the frame in the UMEM. */
struct dpf_xdp_meta {
	uint32_t magic; /* DPF_META_MAGIC */
	uint32_t filter_id;
	uint64_t copy_mask;
};
_Static_assert(sizeof(struct dpf_xdp_meta) == 16, "dpf_xdp_meta is ABI");
#define DPF_META_MAGIC 0x44504631u /* "DPF1" */

enum dpf_unmatched {
	DPF_UNMATCHED_PASS = 0, /* give the frame to the Linux stack */
	DPF_UNMATCHED_DROP = 1,
};

struct dpf_codegen_opts {
	size_t sz;		 /* sizeof(struct dpf_codegen_opts) */
	int xsk_map_fd;		 /* XSKMAP to redirect matched frames into, by rx_queue_index;
				  * -1: matched frames return XDP_PASS with the result prepended
				  * (tests read it back through BPF_PROG_TEST_RUN) */
	enum dpf_unmatched unmatched;
	bool linear;		 /* no merging: test every filter in turn (benchmark baseline) */
};

struct dpf_prog {
	struct bpf_insn *insns;
	size_t ninsns;
};

/* Generates the program for the current set (opts NULL: xsk_map_fd -1, pass, merged).
 * With tables on it may create tables and fill their maps (see above).
 * Returns 0 or -errno; free out with dpf_prog_free(). */
int dpf_codegen(struct dpf_set *s, const struct dpf_codegen_opts *opts, struct dpf_prog *out);
void dpf_prog_free(struct dpf_prog *p);

/* Loads a generated program as BPF_PROG_TYPE_XDP named "xok_dpf" (expected attach type
 * BPF_XDP, as prog-array tail calls from xokd's entry program require).  Returns the fd or
 * -errno (errno set too); on verifier rejection the log is copied to log (if non-NULL). */
int dpf_prog_load(const struct dpf_prog *p, char *log, size_t log_size);

/*
 * The swap: xokd's fixed entry program (bpf/xok_entry.bpf.c) tail-calls slot
 * DPF_PROG_SLOT of a PROG_ARRAY.  Replacing that slot is one atomic map update, so every
 * frame runs either the old or the new program in full.
 */
#define DPF_PROG_SLOT 0
int dpf_prog_install(int prog_array_fd, int prog_fd);

#endif /* XOK_DPF_H */
