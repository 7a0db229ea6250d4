/* abi.h - the kernel ABI between xokd and applications (the paper's Table I on Linux) */
#ifndef XOK_ABI_H
#define XOK_ABI_H

/*
 * An application talks to xokd over an AF_UNIX SOCK_SEQPACKET control socket (default
 * XOK_SOCKET_DEFAULT, overridden by the XOK_SOCKET environment variable).  xokd identifies
 * the caller with SO_PEERCRED.  Every request is one datagram: a struct xok_msg header
 * followed by the operation's body; every reply echoes the header with `status` set to 0 or
 * -errno, followed by the reply body.  File descriptors travel with SCM_RIGHTS.
 *
 * Memory shared with xokd lives in regions: memfds the application creates, seals against
 * shrinking and hands over with XOK_OP_REGION_ADD.  Everything in shared memory is addressed
 * as <region id, byte offset>, never by pointer.  xokd validates every field of every
 * message; a bad request gets an error reply and affects nobody else.
 *
 * Shared words are accessed with the release/acquire helpers at the end of this file, never
 * through volatile.
 */

#include <errno.h>
#include <stdint.h>
#include <stddef.h>
#include <xok/dpf.h>

#define XOK_ABI_MAGIC	    0x584f4b31u /* "XOK1" */
#define XOK_ABI_VERSION	    2 /* 2: checked transmission, limits, wake notes, tables
				* owned by xokd */
#define XOK_SOCKET_DEFAULT  "/run/xok/xokd.sock"
#define XOK_SOCKET_ENV	    "XOK_SOCKET"
#define XOK_MSG_MAX	    4096 /* largest request or reply datagram */

enum xok_op {
	XOK_OP_HELLO = 0,	/* version check; returns the caller's app id */
	XOK_OP_REGION_ADD,	/* insert_pte analog: share a memfd (SCM_RIGHTS) */
	XOK_OP_REGION_DEL,
	XOK_OP_RING_SET,	/* pktring_setring */
	XOK_OP_RING_MOD,	/* pktring_modring */
	XOK_OP_RING_DEL,	/* pktring_delring */
	XOK_OP_DPF_INSERT,
	XOK_OP_DPF_DELETE,
	XOK_OP_DPF_REF,
	XOK_OP_NET_XMIT,	/* slow path: one frame per message */
	XOK_OP_TXQ_SET,		/* fast path: a shared-memory submission queue */
	XOK_OP_WKPRED,
	XOK_OP_INFO,
	XOK_OP_STATS,
	XOK_OP_TABLE_PUBLISH,	/* privileged: publish a system table (e.g. arpd's ARP table) */
	XOK_OP_TABLE_GET,	/* read-only fd of a published table (SCM_RIGHTS in the reply) */
	XOK_OP_TABLE_NOTIFY,	/* publisher: the table changed, re-evaluate predicates reading it */
	XOK_OP_WAKE_NOTE,	/* not a request: xokd -> app, see XOK_WKPRED_NOTIFY */
	XOK_OP_NR
};

struct xok_msg {
	uint32_t magic;	  /* XOK_ABI_MAGIC */
	uint16_t version; /* XOK_ABI_VERSION */
	uint16_t op;	  /* enum xok_op */
	uint32_t seq;	  /* echoed in the reply */
	int32_t status;	  /* requests: 0; replies: 0 or -errno */
};
_Static_assert(sizeof(struct xok_msg) == 16, "xok_msg is ABI");

/*
 * Errors every op may return: -EINVAL (a field out of range, a nonzero pad, a body whose
 * length is not exactly the op's body size, an fd where none is expected or none where one
 * is), -EMSGSIZE (datagram larger than XOK_MSG_MAX), -EPROTO (bad magic),
 * -EPROTONOSUPPORT (bad version), -ENOSYS (unknown op), -ENOENT (no such region, ring,
 * filter or table of the caller's), -EPERM (not allowed), -EDQUOT (a per-app limit from
 * HELLO would be exceeded), -EAGAIN (over the app's control request rate, max_ctl_rps: the
 * request was not carried out, and xokd reads nothing more from the app until its token
 * bucket has refilled one request; retry later).  Replies always carry the op's full reply body (zeroed unless
 * stated otherwise).  Unused trailing array elements (pieces past npieces, terms past
 * nterms, atoms past natoms) must be zero like pad fields.
 */

/* A word or byte range in an application's shared memory. */
struct xok_ref {
	uint32_t region; /* region id; 0 = none */
	uint32_t pad;
	uint64_t offset;
};
_Static_assert(sizeof(struct xok_ref) == 16, "xok_ref is ABI");

/* ---- HELLO ----
 * The app's limits are xokd's --limit; exceeding one fails the request with -EDQUOT
 * (-EAGAIN for max_txq_frames and max_ctl_rps) and xokd logs it once per app. */
struct xok_hello_reply {
	uint32_t app_id;
	uint32_t abi_version;
	uint32_t max_regions, max_rings, max_filters; /* this app's limits */
	uint32_t max_txq_frames; /* frames in flight (gathered, not yet sent) */
	uint64_t max_region_bytes; /* total bytes of all regions */
	uint32_t max_ctl_rps;	   /* control requests per second; 0 = unlimited */
	uint32_t tx_weight;	   /* its share of each interface's transmit (DRR weight) */
	uint32_t flags;		   /* XOK_INFO_* */
	uint32_t pad;
};
_Static_assert(sizeof(struct xok_hello_reply) == 48, "ABI");

/* ---- REGION_ADD / REGION_DEL ----
 * The memfd must be a regular file at least `size` bytes long, sealed with F_SEAL_SHRINK
 * (otherwise the owner could truncate it under xokd), size a multiple of the page size. */
struct xok_region_add {
	uint64_t size;
	uint32_t flags; /* must be 0 */
	uint32_t pad;
};
struct xok_region_add_reply {
	uint32_t region;
	uint32_t pad;
};
struct xok_region_del { /* -EBUSY while a ring, TXQ, predicate or pending xmit uses it */
	uint32_t region;
	uint32_t pad;
};
_Static_assert(sizeof(struct xok_region_add) == 16, "ABI");
_Static_assert(sizeof(struct xok_region_add_reply) == 8, "ABI");
_Static_assert(sizeof(struct xok_region_del) == 8, "ABI");

/* ---- packet rings ----
 * A ring is a struct xok_ring_hdr followed by `nentries` entries of `entry_size` bytes,
 * inside one region.  xokd fills entries in order, starting at 0.  An entry belongs to
 * xokd while its `owner` word is 0; xokd copies a frame in, fills the header, then stores
 * the frame's original length in `owner` with release order.  The application consumes
 * entries in the same order and returns each by storing 0 in `owner` (release).  If the
 * next entry is not xokd's, the frame is dropped and counted (the paper's semantics).
 * `produced` counts frames xokd has published, so that a wakeup predicate can compare it
 * with a counter of the application's. */
struct xok_ring_hdr {
	uint32_t produced; /* xokd: frames published (release) */
	uint32_t pad0[15];
	uint32_t consumed; /* application: frames consumed (its own, for predicates) */
	uint32_t pad1[15];
};
_Static_assert(sizeof(struct xok_ring_hdr) == 128, "ABI");
_Static_assert(offsetof(struct xok_ring_hdr, consumed) == 64, "ABI");

#define XOK_RX_TRUNCATED 0x1 /* frame longer than the entry: only caplen bytes copied */
#define XOK_RX_COPY	 0x2 /* delivered by a copy filter */

struct xok_ring_entry {
	uint32_t owner;	    /* 0 = xokd's; else the frame's original length */
	uint32_t ifindex;   /* interface the frame arrived on */
	uint32_t caplen;    /* bytes of the frame present in data[] */
	uint16_t flags;	    /* XOK_RX_* */
	uint16_t pad;
	uint32_t filter_id; /* the filter that delivered it */
	uint32_t pad2;
	uint64_t rx_ns;	    /* CLOCK_REALTIME receive time, ns */
	uint8_t data[];
};
_Static_assert(sizeof(struct xok_ring_entry) == 32, "ABI");
#define XOK_RING_ENTRY_MIN 128	   /* entry_size bounds (header + data) */
#define XOK_RING_ENTRY_MAX 65536
#define XOK_RING_ENTRIES_MAX 65536

struct xok_ring_set {
	struct xok_ref at; /* where the xok_ring_hdr starts; 64-byte aligned; the whole ring
			    * (128 + entry_size * nentries bytes) lies in that region */
	uint32_t entry_size; /* multiple of 8 */
	uint32_t nentries;
};
struct xok_ring_set_reply {
	uint32_t ring;
	uint32_t pad;
};
struct xok_ring_mod { /* replaces the ring's memory; xokd restarts at entry 0, produced 0 */
	uint32_t ring;
	uint32_t pad;
	struct xok_ring_set geometry;
};
struct xok_ring_del { /* -EBUSY while filters deliver to it */
	uint32_t ring;
	uint32_t pad;
};
_Static_assert(sizeof(struct xok_ring_set) == 24, "ABI");
_Static_assert(sizeof(struct xok_ring_set_reply) == 8, "ABI");
_Static_assert(sizeof(struct xok_ring_mod) == 32, "ABI");
_Static_assert(sizeof(struct xok_ring_del) == 8, "ABI");

/* ---- filters ----
 * A tree filter is placed under the deepest installed filter it refines (see dpf.h).  The
 * caller must own that parent, hold a reference to it (DPF_REF), or the parent must be
 * XOK_DPF_OPEN.  `parent` is optional: when nonzero and it is not where the filter lands,
 * the insert fails with -EINVAL.  Copy filters need root or xokd's --group. */
#define XOK_DPF_COPY 0x1 /* copy filter */
#define XOK_DPF_OPEN 0x2 /* anyone may refine this filter (strayd's catch-all) */
#define XOK_DPF_STAT_TABLED 0x100 /* STATS only: served by an exact-match table */

struct xok_cap {
	uint64_t w[2]; /* 128 unguessable bits */
};

struct xok_dpf_insert {
	uint32_t ring;	 /* caller's ring receiving matched frames */
	uint32_t flags;	 /* XOK_DPF_* */
	uint32_t parent; /* optional, see above */
	uint32_t pad;
	struct dpf_filter filter;
};
struct xok_dpf_insert_reply {
	uint32_t filter;      /* never reused while xokd runs */
	uint32_t parent;      /* where it landed; on -EEXIST/-EBUSY: the conflicting filter */
	struct xok_cap cap;   /* present with DPF_REF to share this filter */
};
struct xok_dpf_delete { /* drops the caller's reference; the filter goes with the last one */
	uint32_t filter;
	uint32_t pad;
};
/* Takes a reference to a filter by capability.  With ring != 0 the filter's frames are
 * re-pointed to that ring of the caller's (how a connection is handed to twd). */
struct xok_dpf_ref {
	uint32_t filter;
	uint32_t ring;
	struct xok_cap cap;
};
_Static_assert(sizeof(struct xok_dpf_insert) == 16 + sizeof(struct dpf_filter), "ABI");
_Static_assert(sizeof(struct xok_dpf_insert_reply) == 24, "ABI");
_Static_assert(sizeof(struct xok_dpf_delete) == 8, "ABI");
_Static_assert(sizeof(struct xok_dpf_ref) == 24, "ABI");

/* ---- transmission ----
 * A frame is gathered from up to XOK_XMIT_PIECES pieces of the caller's regions into one
 * frame of at most the interface MTU + 14 bytes.  Once the frame has left (completion),
 * xokd atomically decrements the 32-bit notification word, if one is given.  The caller
 * must not modify the pieces until then. */
#define XOK_XMIT_PIECES 16

struct xok_piece {
	uint32_t region;
	uint32_t len;
	uint64_t offset;
};
_Static_assert(sizeof(struct xok_piece) == 16, "ABI");

struct xok_tx_desc {
	uint32_t ifindex;
	uint16_t npieces;
	uint16_t flags; /* XOK_TX_* */
	uint32_t status; /* txq only: written by xokd before notify: 0 or an errno (positive) */
	uint16_t gso_size; /* XOK_TX_TCP_GSO: TCP payload bytes per segment on the wire */
	uint16_t pad;
	struct xok_ref notify; /* 4-byte aligned u32; region 0 = no notification */
	struct xok_piece pieces[XOK_XMIT_PIECES];
};
_Static_assert(sizeof(struct xok_tx_desc) == 32 + 16 * XOK_XMIT_PIECES, "ABI");

/*
 * XOK_TX_TCP_GSO (interfaces with XOK_IFF_TCP_GSO): the frame is one IPv4/TCP segment of
 * up to the interface's gso_max bytes, which leaves as segments of gso_size payload bytes
 * each (TCP segmentation offload, done by the kernel): the IPv4 header's total length and
 * checksum describe the whole frame, the TCP checksum field holds the pseudo-header sum
 * over the whole TCP length (folded, not complemented, as for a partial checksum), FIN
 * and PSH are kept for the last segment only.  The payload must exceed gso_size;
 * gso_size must be at least XOK_TX_GSO_MIN.  The notification comes as soon as xokd has
 * handed the frame to the kernel.  Checked transmission applies to its headers.
 */
#define XOK_TX_TCP_GSO 0x1
#define XOK_TX_GSO_MIN 536

/* NET_XMIT body: one struct xok_tx_desc (status 0).  Errors (also the TXQ `status`, as a
 * positive errno): -EFAULT a piece or the notification word is not inside one of the
 * caller's own regions (or the word is not 4-byte aligned), -ENODEV no such interface,
 * -EINVAL flags/pad/npieces or a frame shorter than an Ethernet header (or, with
 * XOK_TX_TCP_GSO, not a TCP segment as described above), -EOPNOTSUPP XOK_TX_TCP_GSO on an
 * interface without it, -EMSGSIZE longer than the interface's MTU + 14 (gso_max), -EPERM checked transmission refused the frame (below),
 * -EAGAIN (NET_XMIT only) the caller has max_txq_frames frames in flight or the
 * interface's transmit queue is full: retry after a notification.  A TXQ descriptor that
 * hits the last case simply waits.
 *
 * Checked transmission (XOK_INFO_CHECKED_TX, xokd's default; --unchecked-tx is the paper's
 * behaviour): xokd checks the headers after gathering the frame into its own memory, so
 * they cannot change afterwards.  A frame goes out only if its Ethernet source is the
 * interface's MAC, it is IPv4 or ARP, and
 *  - ARP: sender MAC and address are the interface's (address 0 allowed); requests from
 *    anyone, replies only from an app holding a filter that takes ARP frames (arpd);
 *  - IPv4: the source address is the interface's, and (unless it is a fragment with a
 *    nonzero offset) a tree filter the sender owns or references would match the reply to
 *    the frame (addresses and ports swapped; ICMP echo/timestamp/information/mask
 *    requests and replies swapped), judged on the atoms that test the ethertype, protocol,
 *    addresses and the first four L4 bytes -- and no more specific filter below it that the
 *    sender does not hold would match that reply too.  A filter pinning neither the
 *    ethertype nor the IPv4 protocol (a catch-all, strayd's) counts only for root or
 *    members of xokd's --group.
 * Refused frames are counted per app (tx_rejected, and tx_denied in XOK_STATS_APP_TX).  A
 * filter deleted while the TXQ still holds descriptors queued before the deletion keeps
 * its claim for those descriptors (100 ms at most). */

/*
 * TXQ_SET: a single-producer single-consumer ring of xok_tx_desc in the caller's memory,
 * the batched fast path.  xokd takes descriptors from the apps' TXQs by deficit round
 * robin: on each interface every app with frames queued gets, in turn, tx_weight times
 * xokd's quantum in bytes; xokd itself keeps only a short queue per interface, so an app's
 * frame waits behind at most that queue and one turn of each other app.  The application writes descriptors, then advances `prod`
 * (release); xokd consumes, then advances `cons` (release).  When xokd goes idle it sets
 * XOK_TXQ_NEED_WAKEUP in `flags`; the application then writes 1 to the eventfd it passed
 * with TXQ_SET (SCM_RIGHTS) after advancing `prod`.  A descriptor xokd rejects is skipped
 * with its `status` set and its notification word still decremented.
 */
#define XOK_TXQ_NEED_WAKEUP 0x1
struct xok_txq_hdr {
	uint32_t prod;	  /* application (release) */
	uint32_t pad0[15];
	uint32_t cons;	  /* xokd (release) */
	uint32_t flags;	  /* xokd: XOK_TXQ_* */
	uint32_t pad1[14];
};
_Static_assert(sizeof(struct xok_txq_hdr) == 128, "ABI");
_Static_assert(offsetof(struct xok_txq_hdr, cons) == 64, "ABI");

struct xok_txq_set {
	struct xok_ref at; /* the xok_txq_hdr, 64-byte aligned; descriptors follow it */
	uint32_t nentries; /* power of two, <= XOK_TXQ_ENTRIES_MAX */
	uint32_t pad;
};
#define XOK_TXQ_ENTRIES_MAX 4096
_Static_assert(sizeof(struct xok_txq_set) == 24, "ABI");
/* TXQ_SET with at.region == 0 and nentries == 0 (and no fd) removes the queue. */

/* ---- wakeup predicates ----
 * (flags: XOK_WKPRED_NOTIFY -- whenever xokd wakes the app it also sends it a 16-byte
 * datagram on the control socket, a struct xok_msg with op XOK_OP_WAKE_NOTE and seq 0, so
 * that an app can sleep in poll(2) on its control socket together with other fds; the
 * socket also reports POLLHUP at once if xokd goes away.  Notes are dropped when the
 * socket's buffer is full; apps skip them when they wait for a reply.)
 * (The futex is a shared one: wait without FUTEX_PRIVATE_FLAG.  Both sides need a full
 * fence between their store and their load of the other's word: the app between storing
 * `sleeping` and re-checking its condition, xokd between publishing and loading
 * `sleeping`.  Reaching the timeout counts as the predicate being true; the timeout then
 * fires once.  `product` is < XOK_WK_TERMS_MAX; a constant rhs is <= UINT32_MAX.)
 *
 * A sum of products of terms `word(lhs) OP rhs`, where rhs is a constant or another word.
 * Words are 32-bit, 4-byte aligned, in the caller's regions.  The predicate is true when
 * every term of at least one product is true.  The caller sleeps with FUTEX_WAIT on
 * `wake.seq` after setting `wake.sleeping` = 1 and re-checking its condition; xokd, after
 * any event touching the caller (delivery to its rings, transmit completion, the timeout),
 * evaluates the predicate if `sleeping` is set and, when true, clears `sleeping`, increments
 * `seq` and wakes it.  One predicate per application; a new one replaces the old.
 * nterms == 0 removes it. */
enum xok_wk_op {
	XOK_WK_EQ = 0,
	XOK_WK_NE,
	XOK_WK_LT, /* unsigned */
	XOK_WK_GE, /* unsigned */
	XOK_WK_AND, /* (word & rhs) != 0 */
	XOK_WK_OP_NR
};
#define XOK_WK_TERMS_MAX 32

struct xok_wk_term {
	struct xok_ref lhs;
	uint64_t rhs;	     /* constant, or offset of the rhs word when rhs_region != 0 */
	uint32_t rhs_region; /* 0 = rhs is a constant */
	uint8_t op;	     /* enum xok_wk_op */
	uint8_t product;     /* which product (AND group) the term belongs to */
	uint16_t pad;
};
_Static_assert(sizeof(struct xok_wk_term) == 32, "ABI");

struct xok_wake {
	uint32_t seq;	   /* futex word: xokd increments and wakes */
	uint32_t sleeping; /* application sets 1 before sleeping; xokd clears on wakeup */
};
_Static_assert(sizeof(struct xok_wake) == 8, "ABI");

#define XOK_WKPRED_NOTIFY 0x1

struct xok_wkpred {
	struct xok_ref wake;  /* struct xok_wake, 8-byte aligned */
	uint64_t timeout_ns;  /* CLOCK_MONOTONIC deadline; 0 = none */
	uint32_t nterms;
	uint32_t flags;	      /* XOK_WKPRED_* */
	struct xok_wk_term terms[XOK_WK_TERMS_MAX];
};
_Static_assert(sizeof(struct xok_wkpred) == 32 + 32 * XOK_WK_TERMS_MAX, "ABI");

/* ---- INFO ---- */
#define XOK_IFACES_MAX 8
struct xok_iface_info {
	uint32_t ifindex;
	uint32_t mtu;
	char name[16];
	uint8_t mac[6];
	uint8_t prefix_len;
	uint8_t pad;
	uint32_t addr;	  /* IPv4, network order */
	uint32_t gateway; /* IPv4, network order; 0 = none */
	uint32_t flags;	  /* XOK_IFF_* */
	uint32_t gso_max; /* XOK_IFF_TCP_GSO: the largest frame XOK_TX_TCP_GSO takes */
};
_Static_assert(sizeof(struct xok_iface_info) == 48, "ABI");

struct xok_info_reply {
	uint32_t niface;
	uint32_t flags; /* XOK_INFO_* */
	struct xok_iface_info ifaces[XOK_IFACES_MAX];
};
_Static_assert(sizeof(struct xok_info_reply) == 8 + 48 * XOK_IFACES_MAX, "ABI");
#define XOK_INFO_CHECKED_TX 0x1 /* xokd verifies transmitted headers */
#define XOK_IFF_TCP_GSO	    0x1 /* transmits XOK_TX_TCP_GSO frames */

/* ---- STATS ----
 * Request a kind and a cursor; the reply carries up to XOK_STATS_MAX records starting at
 * the cursor and the next cursor (0 = done). */
enum xok_stats_kind {
	XOK_STATS_IFACE = 0,
	XOK_STATS_RING,
	XOK_STATS_FILTER,
	XOK_STATS_APP,
	XOK_STATS_APP_TX, /* per app: transmit scheduling and limits */
	XOK_STATS_IMPAIR, /* per interface: --impair counters */
	XOK_STATS_DPF,	  /* one record: the filter engine */
	XOK_STATS_KIND_NR
};
struct xok_stats_req {
	uint32_t kind;
	uint32_t cursor; /* 0 = from the start; else the reply's next_cursor */
};
_Static_assert(sizeof(struct xok_stats_req) == 8, "ABI");
struct xok_stat_rec {
	uint32_t id;	  /* ifindex, ring, filter or app id */
	uint32_t owner;	  /* app id owning it (filters, rings); pid for apps */
	uint32_t parent;  /* filters: parent filter; apps: uid */
	uint32_t flags;	  /* filters: XOK_DPF_*; rings: nentries */
	uint64_t c[8];	  /* counters, meaning per kind: see xok_stat_* below */
	char name[16];	  /* interface name, or app's comm */
};
_Static_assert(sizeof(struct xok_stat_rec) == 96, "ABI");
/* iface: rx, tx, drop_unmatched, drop_ring_full, drop_no_filter, tx_errors, rx_bytes, tx_bytes
 *        (rx: frames AF_XDP delivered to xokd; drop_unmatched: frames the XDP program saw
 *        that no filter matched -- passed to Linux or dropped per --unmatched -- estimated
 *        as seen - delivered - kernel AF_XDP drops; drop_no_filter: delivered frames whose
 *        filter or ring is gone, or metadata missing)
 * ring: delivered, dropped_full, truncated, bytes, entry_size
 * filter: hits, bytes, ring, refs, copy slot + 1 (0 = tree filter)
 * app: regions, region_bytes, rings, filters, tx_frames, tx_rejected, ctl_requests, wakeups
 * app_tx (flags: tx_weight): tx_bytes, tx_denied (refused by checked transmission),
 *        txq_backlog (descriptors queued, not yet taken), tx_inflight, ctl_throttled
 *        (requests refused with -EAGAIN for the rate), limit_hits (requests refused by a
 *        limit), deficit (bytes left in its current turn), tx_gso (XOK_TX_TCP_GSO frames
 *        sent)
 * impair (per interface; flags: 1 if --impair is on): rx_drop, rx_dup, rx_reorder,
 *        rx_delay, tx_drop, tx_dup, tx_reorder, tx_delay
 * dpf (one record; flags: 1 if exact-match tables are on): programs (generated and
 *        installed), program_errors, filters (tree and copy), tabled (filters served by
 *        exact-match tables now), table_inserts and table_deletes (changes that needed no
 *        new program), insns (of the last program), load_us (its generation and load) */
enum xok_stat_iface { XOK_SI_RX = 0, XOK_SI_TX, XOK_SI_DROP_UNMATCHED, XOK_SI_DROP_RING_FULL,
		      XOK_SI_DROP_NO_FILTER, XOK_SI_TX_ERRORS, XOK_SI_RX_BYTES, XOK_SI_TX_BYTES };
enum xok_stat_ring { XOK_SR_DELIVERED = 0, XOK_SR_DROPPED_FULL, XOK_SR_TRUNCATED, XOK_SR_BYTES,
		     XOK_SR_ENTRY_SIZE };
enum xok_stat_filter { XOK_SF_HITS = 0, XOK_SF_BYTES, XOK_SF_RING, XOK_SF_REFS, XOK_SF_COPY };
enum xok_stat_app { XOK_SA_REGIONS = 0, XOK_SA_REGION_BYTES, XOK_SA_RINGS, XOK_SA_FILTERS,
		    XOK_SA_TX_FRAMES, XOK_SA_TX_REJECTED, XOK_SA_CTL_REQUESTS, XOK_SA_WAKEUPS };
enum xok_stat_app_tx { XOK_SAT_TX_BYTES = 0, XOK_SAT_TX_DENIED, XOK_SAT_TXQ_BACKLOG,
		       XOK_SAT_TX_INFLIGHT, XOK_SAT_CTL_THROTTLED, XOK_SAT_LIMIT_HITS,
		       XOK_SAT_DEFICIT, XOK_SAT_TX_GSO };
enum xok_stat_impair { XOK_SI_IMP_RX_DROP = 0, XOK_SI_IMP_RX_DUP, XOK_SI_IMP_RX_REORDER,
		       XOK_SI_IMP_RX_DELAY, XOK_SI_IMP_TX_DROP, XOK_SI_IMP_TX_DUP,
		       XOK_SI_IMP_TX_REORDER, XOK_SI_IMP_TX_DELAY };
enum xok_stat_dpf { XOK_SD_PROGRAMS = 0, XOK_SD_PROGRAM_ERRORS, XOK_SD_FILTERS, XOK_SD_TABLED,
		    XOK_SD_TABLE_INSERTS, XOK_SD_TABLE_DELETES, XOK_SD_INSNS, XOK_SD_LOAD_US };
#define XOK_STATS_MAX 32
struct xok_stats_reply {
	uint32_t count;
	uint32_t next_cursor;
	struct xok_stat_rec recs[XOK_STATS_MAX];
};
_Static_assert(sizeof(struct xok_msg) + sizeof(struct xok_stats_reply) <= XOK_MSG_MAX, "ABI");

/* ---- system tables ----
 * xokd creates every system table when it starts, zero-filled, and owns its memory for its
 * whole life: GET always succeeds (an app that starts before arpd maps the empty table and
 * sees arpd's entries appear), and a publisher that restarts gets the *same* memory back,
 * so every app's mapping stays valid and current across publisher restarts. */
enum xok_table {
	XOK_TABLE_ARP = 0,
	XOK_TABLE_NR
};
struct xok_table_req { /* PUBLISH returns a writable fd of the table (SCM_RIGHTS);
			  * GET returns a read-only fd */
	uint32_t table;
	uint32_t pad;
	uint64_t size;	/* PUBLISH: bytes the publisher needs, <= the table's size (0: all);
			 * GET, NOTIFY: 0 */
};
_Static_assert(sizeof(struct xok_table_req) == 16, "ABI");
/* The reply body of PUBLISH, GET and NOTIFY is a struct xok_table_req with the table's
 * size.  PUBLISH needs root or xokd's --group and makes the caller the table's one
 * publisher; -EBUSY while another connected app is.  The contents survive the publisher
 * (a new one finds what the last one wrote, and should take the seqlock before
 * rewriting).  NOTIFY (publisher only) makes xokd evaluate the sleeping predicates that
 * read the table: xokd cannot see writes to shared memory, so the publisher says when it
 * changed one.  The read-only fds cannot be turned into writable ones: the memfd's mode
 * is 0444, so reopening it through /proc/self/fd for writing fails (except for root). */

/* Predicate terms may read published tables: use this as the term's region id. */
#define XOK_REGION_TABLE(t) (0x80000000u | (uint32_t)(t))

/* The ARP table arpd publishes: a seqlock'd open array. */
#define XOK_ARP_ENTRIES 1024
struct xok_arp_entry {
	uint32_t addr;	 /* IPv4, network order; 0 = empty */
	uint32_t ifindex;
	uint8_t mac[6];
	uint16_t state;	 /* XOK_ARP_* */
	uint32_t pad;
	uint64_t updated_ns;
};
_Static_assert(sizeof(struct xok_arp_entry) == 32, "ABI");
#define XOK_ARP_FREE	 0
#define XOK_ARP_VALID	 1
#define XOK_ARP_FAILED	 2 /* no reply to repeated requests */
struct xok_arp_table {
	uint32_t seq;	   /* seqlock: odd while arpd writes */
	uint32_t nentries; /* XOK_ARP_ENTRIES */
	uint32_t version;  /* bumped on every change: apps wait on it with a predicate */
	uint32_t pad[13];
	struct xok_arp_entry e[XOK_ARP_ENTRIES];
};
_Static_assert(offsetof(struct xok_arp_table, e) == 64, "ABI");

/* ---- shared-word accessors ---- */
static inline uint32_t xok_load_acquire(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void xok_store_release(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/*
 * Looks addr up in arpd's table under its seqlock: 0 with its MAC in mac[6], -ENOENT
 * when it has no valid entry, -EAGAIN when arpd kept writing through spins
 * tries.  ifindex 0, here or in an entry, matches any interface.  Every reader of the
 * table (libexos, strayd, xfwd) uses this one, so that the protocol lives in one place.
 */
static inline int xok_arp_table_find(const struct xok_arp_table *t, uint32_t ifindex,
				     uint32_t addr, uint8_t *mac, int spins)
{
	for (int spin = 0; spin < spins; spin++) {
		uint32_t seq = xok_load_acquire(&t->seq);
		uint32_t n = __atomic_load_n(&t->nentries, __ATOMIC_RELAXED);
		int found = -ENOENT;

		if (seq & 1)
			continue; /* arpd is writing */
		if (n > XOK_ARP_ENTRIES)
			n = XOK_ARP_ENTRIES;
		for (uint32_t i = 0; i < n; i++) {
			const struct xok_arp_entry *e = &t->e[i];
			uint32_t eif = __atomic_load_n(&e->ifindex, __ATOMIC_RELAXED);

			if (__atomic_load_n(&e->addr, __ATOMIC_RELAXED) != addr ||
			    (eif && ifindex && eif != ifindex) ||
			    __atomic_load_n(&e->state, __ATOMIC_RELAXED) != XOK_ARP_VALID)
				continue;
			__builtin_memcpy(mac, e->mac, 6);
			found = 0;
			break;
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&t->seq, __ATOMIC_RELAXED) == seq)
			return found;
	}
	return -EAGAIN;
}

#endif /* XOK_ABI_H */
