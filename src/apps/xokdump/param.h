/* param.h - every xokdump tunable and limit, with what it bounds */
#ifndef XOKDUMP_PARAM_H
#define XOKDUMP_PARAM_H

/* ---- the expression ---- */
#define XD_EXPR_MAX_NODES   256 /* AST nodes in one expression ("expression too long") */
#define XD_EXPR_MAX_DEPTH   64	/* nesting of parentheses and 'not' */
#define XD_EXPR_MAX_LEN	    4096 /* characters of the joined command-line expression */

/* ---- the filter compiler ---- */
/*
 * Copy filters installed for one expression.  Every copy filter costs one of the
 * DPF_MAX_COPY (64) bits shared by the whole system, so xokdump takes few: beyond this the
 * disjuncts are merged into one wider filter and userspace does the rest.
 */
#define XD_MAX_FILTERS	    8
/* Disjuncts kept while normalising; a larger intermediate result is widened at once. */
#define XD_DNF_MAX	    64
/* Match atoms in one conjunction (the DPF limit is DPF_MAX_ATOMS, SHIFT included). */
#define XD_CONJ_MAX_ATOMS   24

/* ---- capture ---- */
#define XD_SNAPLEN_DEFAULT  262144 /* tcpdump's default: "the whole frame" */
/* Ring entries always hold at least this much of a frame, even with a small -s, so that
 * the userspace evaluator sees every header the copy filters looked at (Ethernet 14 +
 * IPv4 60 + ports 4 = 78; ARP ends at 42). */
#define XD_CAPTURE_MIN	    128
#define XD_RING_ENTRIES	    1024   /* entries in the copy ring */
#define XD_FRAME_MAX	    9216   /* ring entry data when xokd reports no interface MTU */
#define XD_WAIT_NS	    200000000ull /* longest sleep before rechecking for signals */
/* Copies of one frame that several of our copy filters matched arrive back to back;
 * this many recent frames are remembered to drop the duplicates. */
#define XD_DEDUP_WINDOW	    XD_MAX_FILTERS

/* ---- output ---- */
#define XD_LINE_MAX	    2048 /* one printed line; longer lines end in "..." */

#endif /* XOKDUMP_PARAM_H */
