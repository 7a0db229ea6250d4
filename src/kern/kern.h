/* kern.h - xokd's shared structures and, grouped by file, every cross-file function */
#ifndef XOK_KERN_H
#define XOK_KERN_H

/*
 * xokd is single-threaded: one epoll loop (loop.c) owns every structure below, so nothing
 * here needs a lock.  What needs care is the memory xokd shares with applications: it is
 * reached only through a `struct region` (a MAP_SHARED mapping of an app's sealed memfd),
 * every offset an app gives is bounds-checked once when the object (ring, TXQ, predicate,
 * notification) is created, and every word an app can change is re-read and re-checked
 * each time it is used (TXQ indices and descriptors are copied before validation).
 *
 * Object lifetimes: an app owns regions, rings, filter references, a TXQ and a predicate.
 * Regions are reference counted by everything that points into them (rings, TXQ,
 * predicate terms, pending transmit notifications); REGION_DEL of a region in use fails
 * with -EBUSY, and reclaim (app_free) tears the users down first, then the regions.
 * Filters are global (ids never reused) and live while any app holds a reference.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <net/if.h>

#include <xok/abi.h>
#include <xok/dpf.h>

#include "list.h"
#include "param.h"

struct xokd;
struct app;
struct iface;
struct xsk_socket;
struct xsk_umem;
struct xok_entry;

/* ---- event sources (epoll data.ptr points at one of these) ---- */
enum ev_kind {
	EV_LISTEN = 1,
	EV_CLIENT,
	EV_XSK,
	EV_TXQ,
	EV_TIMER,
	EV_SIGNAL,
};

struct evsrc {
	enum ev_kind kind;
	void *obj;
};

/* ---- checked transmission (txcheck.c) ----
 * What a filter lets its holders transmit: the header fields a reply to the transmitted
 * frame must have for the filter to match it, as value/mask bytes of a fixed key:
 *   [0..1] ethertype, [2] IPv4 protocol, [3..6] reply source = the frame's destination,
 *   [7..10] reply destination = the frame's source, [11..14] the first four bytes of the
 *   reply's L4 header (TCP/UDP: the frame's destination port, then its source port; ICMP:
 *   the reply's type), [15] unused. */
#define TX_KEY_LEN 16
struct tx_claim {
	uint8_t val[TX_KEY_LEN];
	uint8_t mask[TX_KEY_LEN];
	bool none;     /* claims nothing: a copy filter, or atoms that contradict each other */
	bool wildcard; /* pins neither the ethertype nor, for IPv4, the protocol (a catch-all
			* like strayd's): counts for privileged apps only */
};

/* A claim released (DPF_DELETE) while the app's TXQ still held descriptors queued before
 * the release: valid for descriptors before `until` (TXQ index) until `expires`. */
struct tx_grace {
	struct tx_claim claim;
	uint32_t until;
	uint64_t expires; /* CLOCK_MONOTONIC ns */
};

/* ---- shared memory ---- */
struct region {
	uint32_t id;   /* 1..XOK_APP_REGIONS_MAX within its app; table regions: XOK_REGION_TABLE */
	uint32_t refs; /* users: rings, TXQ, predicate terms, pending notifications */
	uint8_t *base; /* xokd's MAP_SHARED mapping */
	uint64_t size;
	bool readonly; /* table regions: mapped PROT_READ */
	bool dead;     /* table replaced: freed when refs drop to 0 */
};

struct ring {
	struct list_head app_link; /* app->rings */
	struct app *app;
	uint32_t id; /* global, never reused */
	struct region *region;
	struct xok_ring_hdr *hdr;
	uint8_t *entries;
	uint32_t entry_size;
	uint32_t nentries;
	uint32_t next;	   /* next entry xokd fills */
	uint32_t produced; /* xokd's count, stored to hdr->produced */
	uint32_t nfilters; /* filters delivering here */
	uint64_t delivered, dropped_full, truncated, bytes;
};

struct filter {
	struct list_head link; /* x->filters, ascending id */
	struct filter *hnext;  /* hash chain */
	uint32_t id;
	uint32_t owner_id; /* creating app's id (kept after it is gone) */
	struct app *owner; /* NULL once the creator is gone */
	uint32_t flags;	   /* XOK_DPF_* */
	int copy_slot;	   /* copy filters: 0..DPF_MAX_COPY-1; tree filters: -1 */
	struct ring *ring; /* delivery target; NULL when that ring's app is gone */
	struct xok_cap cap;
	uint32_t nrefs; /* apps holding a reference (the creator included) */
	uint64_t hits, bytes;
	struct tx_claim claim; /* what holding it lets an app transmit */
	/* the tree as libdpf has it, rebuilt lazily (filter_tree) after the set changed */
	struct filter *parent, *first_child, *next_sibling;
	bool foreign_below; /* a filter below it has another owner */
};

struct filter_ref {
	struct list_head app_link;   /* app->frefs */
	struct list_head claim_link; /* app->claims[] or claims_wild (txcheck.c); unlinked
				      * when the filter claims nothing */
	struct filter *f;
};

struct txq {
	struct region *region;
	struct xok_txq_hdr *hdr;
	struct xok_tx_desc *descs;
	uint32_t nentries;
	uint32_t cons; /* xokd's copy of hdr->cons */
	int efd;       /* the app's eventfd (xokd's dup) */
	struct evsrc ev;
};

struct wk_term {
	const uint32_t *lhs;
	const uint32_t *rhs_word; /* NULL: compare with rhs */
	uint32_t rhs;
	uint8_t op;
	uint8_t product;
};

struct wkpred {
	uint32_t *seq; /* struct xok_wake in an app region */
	uint32_t *sleeping;
	uint32_t flags; /* XOK_WKPRED_* */
	uint64_t deadline;   /* CLOCK_MONOTONIC ns, 0 = none */
	bool deadline_armed; /* deadline not yet reached */
	uint32_t nterms;
	struct wk_term terms[XOK_WK_TERMS_MAX];
	uint32_t nheld;
	struct region *held[1 + 2 * XOK_WK_TERMS_MAX]; /* one reference per use */
};

struct app {
	struct list_head link;	       /* x->apps, ascending id */
	struct list_head touched_link; /* x->touched: evaluate predicate after this batch */
	struct list_head txwork_link;  /* x->txwork: TXQ may hold descriptors to take */
	uint32_t id;		       /* never reused */
	int fd;			       /* control connection; -1 in unit tests */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool privileged; /* root or member of --group */
	char comm[16];
	struct evsrc ev;
	struct region *regions[XOK_APP_REGIONS_MAX]; /* by id - 1 */
	uint32_t nregions;
	uint64_t region_bytes;
	struct list_head rings;
	uint32_t nrings;
	struct list_head frefs;
	uint32_t nfilters; /* references held */
	struct txq *txq;
	struct wkpred *pred;
	uint32_t tx_inflight; /* frames in UMEM awaiting completion */
	bool dead;	      /* reclaimed; the struct is freed by app_reap */
	uint8_t log_budget[XOK_LOG_MODS]; /* per module: one noisy kind hides no other */
	uint32_t limit_logged; /* bit per enum app_limit: logged once */
	uint64_t tx_frames, tx_rejected, ctl_requests, wakeups;
	uint64_t tx_bytes, tx_denied, ctl_throttled, limit_hits, tx_gso;

	/* deficit round robin (tx.c); txwork_link is the active list */
	uint32_t tx_weight;
	int64_t tx_deficit; /* bytes it may still send in its current turn */
	bool tx_turn;	    /* its turn has begun: the quantum was added */
	bool tx_limited;    /* parked at its in-flight limit until a completion */

	/* control request rate (control.c): GCRA over ctl_tat; paused = not read */
	uint64_t ctl_tat;
	bool ctl_paused;
	struct list_head paused_link; /* x->paused */

	/* checked transmission (txcheck.c): its filters' claims by the local port they pin,
	 * the others (no or a partial port) in claims_wild; most recently used first */
	struct list_head claims[XOK_CLAIM_HASH];
	struct list_head claims_wild;
	struct tx_grace grace[XOK_TX_GRACE_MAX]; /* expires 0 = unused */
	uint32_t grace_next;
};

/* Per-app limits, for app_limit_hit's once-per-app log line. */
enum app_limit {
	LIMIT_REGIONS = 0,
	LIMIT_BYTES,
	LIMIT_RINGS,
	LIMIT_FILTERS,
	LIMIT_TXQ,
	LIMIT_RPS,
	LIMIT_NR
};

/* ---- interfaces and AF_XDP sockets ---- */
struct tx_pend {	 /* per UMEM frame in flight */
	struct app *app; /* NULL: no notification (or the app is gone) */
	struct region *region;
	uint32_t *word;
};

struct xport { /* one AF_XDP socket: (interface, rx queue) with its UMEM */
	struct iface *ifc;
	uint32_t queue;
	struct xsk_socket *xsk;
	struct xsk_umem *umem;
	uint8_t *area;
	size_t area_size;
	/* the rings live in libxdp's structs; opaque storage here keeps libxdp out of kern.h */
	void *rings;	   /* struct xport_rings (xsk.c) */
	uint64_t *tx_free; /* stack of free transmit frame addresses */
	uint32_t ntx_free;
	uint32_t tx_outstanding; /* submitted, not completed */
	struct tx_pend *pend;	 /* by frame number */
	bool fake;		 /* unit tests: no socket; transmit completes on tx_complete */
	bool dead;		 /* the device went away: no longer polled */
	uint64_t *fake_comp;
	uint32_t nfake_comp;
	struct evsrc ev;
	uint32_t tx_held; /* transmit frames held back by impairment, not submitted */
};

/* ---- impairment (impair.c) ---- */
struct imp_frame {
	struct list_head link;
	uint64_t release;   /* CLOCK_MONOTONIC ns: delay queue; reorder: hold limit */
	uint32_t countdown; /* reorder: frames still to pass it */
	uint32_t len;
	struct xport *port; /* transmit: the frame is UMEM frame `addr` of this socket */
	uint64_t addr;
	uint64_t rx_ns;	    /* receive: its receive time */
	uint8_t data[];	    /* receive: a copy of the frame */
};

enum imp_stat { IMP_DROP = 0, IMP_DUP, IMP_REORDER, IMP_DELAY, IMP_OVERFLOW, IMP_STAT_NR };

struct imp_dir {
	struct list_head held;	  /* reordered: wait for `countdown` later frames */
	struct list_head delayed; /* FIFO by release time */
	uint64_t link_free;	  /* rate=: when the emulated link has sent what it holds */
	uint32_t nqueued;
	uint64_t st[IMP_STAT_NR];
};

struct iface {
	char name[IF_NAMESIZE];
	uint32_t ifindex;
	uint8_t mac[6];
	uint32_t mtu;
	uint32_t addr; /* IPv4, network order */
	uint8_t prefix_len;
	struct xok_entry *skel;
	int link_fd; /* bpf_link of the entry program; -1 if not attached */
	struct xport *ports[XOK_QUEUES_MAX];
	uint32_t nports;
	uint64_t rx, tx, drop_ring_full, drop_no_filter, tx_errors, rx_bytes, tx_bytes;
	uint64_t xsk_dropped; /* kernel-side AF_XDP drops seen at the last stats call */
	struct imp_dir imp_rx, imp_tx;
	int gso_fd;	 /* the packet socket large TCP frames leave through (gso.c), or -1 */
	uint64_t tx_gso; /* frames sent through it */
};

/* ---- system tables ---- */
struct table {
	struct region *reg; /* xokd's read-only mapping; NULL only if creation failed */
	int rw_fd;	    /* the memfd, O_RDWR: handed to the publisher */
	int ro_fd;	    /* read-only reopen of it, handed out by TABLE_GET */
	uint32_t publisher; /* app id of the current (or last) publisher; 0 = none yet */
	uint64_t size;
};

/* ---- the daemon ---- */
enum xokd_xdp_mode { XOKD_XDP_NATIVE = 0, XOKD_XDP_SKB };

struct xokd_iface_cfg {
	char name[IF_NAMESIZE];
	uint32_t addr; /* network order */
	uint8_t prefix_len;
};

/* Per-app limits (--limit); zero fields take the param.h defaults in xokd_init, except
 * rps, where 0 means unlimited (main.c sets the default). */
struct xokd_limits {
	uint32_t regions, rings, filters, txq, rps;
	uint64_t bytes;
};

struct xokd_weight { /* --tx-weight uid=N:W or comm=NAME:W */
	bool by_uid;
	uid_t uid;
	char comm[16];
	uint32_t weight;
};

struct xokd_impair { /* --impair; probabilities in parts per million */
	bool on;
	uint32_t drop, dup, reorder;
	uint32_t delay_us;
	uint32_t rate_mbit; /* 0: no bottleneck */
	uint32_t gap;
	uint64_t seed;
	bool rx, tx; /* dir=: the directions impaired (both by default) */
};

struct xokd_cfg {
	struct xokd_iface_cfg ifaces[XOK_IFACES_MAX];
	uint32_t niface;
	uint32_t gateway; /* network order; 0 = none */
	const char *socket_path;
	enum xokd_xdp_mode xdp_mode;
	enum dpf_unmatched unmatched;
	bool have_group;
	gid_t group;
	bool force;
	bool busy_poll;
	int verbose;
	bool unchecked_tx; /* the paper's behaviour: transmit whatever apps hand over */
	bool no_gso;	   /* --no-gso: no TCP segmentation offload */
	struct xokd_limits limits;
	uint32_t tx_quantum;
	struct xokd_weight weights[XOK_TX_WEIGHTS_MAX];
	uint32_t nweights;
	struct xokd_impair impair;
};

#define XOK_FILTER_HASH 4096

struct xokd {
	struct xokd_cfg cfg;
	int epfd;
	int listen_fd;
	int timer_fd;
	int signal_fd;
	struct evsrc listen_ev, timer_ev, signal_ev;
	bool stop;

	struct iface ifaces[XOK_IFACES_MAX];
	uint32_t niface;

	struct list_head apps;
	struct list_head zombies; /* reclaimed apps, freed at the end of a loop turn
				   * (epoll may still hold events naming them) */
	uint32_t napps;
	uint32_t next_app_id, next_ring_id, next_filter_id;

	struct dpf_set *dpf;
	struct list_head filters;
	uint32_t nfilters;
	bool tree_dirty; /* filter parent/child links need rebuilding (filter_tree) */
	struct filter *fhash[XOK_FILTER_HASH];
	struct filter *copy[DPF_MAX_COPY];
	bool dpf_dirty; /* set changed: recompile before sleeping */
	bool no_bpf;	/* unit tests: never generate or load programs */
	uint64_t dpf_compiles, dpf_compile_errors;
	uint64_t dpf_table_inserts, dpf_table_deletes; /* changes served without a program */
	uint64_t dpf_last_insns, dpf_last_load_us;
	uint64_t dpf_last_load_ns; /* paces program loads: XOK_DPF_MIN_INTERVAL_NS */

	struct table tables[XOK_TABLE_NR];

	struct list_head touched; /* apps whose predicate must be evaluated */
	struct list_head txwork;  /* DRR active list: apps whose TXQ xokd must drain */
	bool tx_blocked;	  /* the last tx_run stopped: no room on an interface */
	struct list_head paused;  /* apps over their request rate, not read for now */
	uint64_t timer_deadline;  /* what timer_fd is armed for; 0 = disarmed */
	uint64_t wk_deadline;	  /* earliest armed predicate deadline; 0 = none */
	uint64_t imp_rng;	  /* impairment PRNG state */

	/* unit tests: sees every frame a fake port transmits */
	void (*tx_hook)(struct xokd *x, struct iface *ifc, const uint8_t *frame, uint32_t len);
};

/* ---- log.c ---- */
extern bool xlog_quiet; /* nothing is logged (fuzzers) */
void xlog(const char *mod, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xdbg(const struct xokd *x, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Logs a rejected request of app a, within its budget for mod (XOK_APP_LOG_BUDGET). */
void app_log(struct app *a, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- main.c / loop.c ---- */
int xokd_init(struct xokd *x, const struct xokd_cfg *cfg); /* state only: no sockets */
void xokd_limits_default(struct xokd_limits *l);	   /* fills zero fields */
void xokd_fini(struct xokd *x);
int loop_setup(struct xokd *x);
int loop_run(struct xokd *x);
int loop_add(struct xokd *x, int fd, uint32_t events, struct evsrc *ev);
int loop_mod(struct xokd *x, int fd, uint32_t events, struct evsrc *ev);
void loop_del(struct xokd *x, int fd);
/* Re-arms timer_fd for the earliest of the predicate deadlines, paused apps and the
 * impairment queues. */
void loop_arm(struct xokd *x);
uint64_t now_mono_ns(void);
uint64_t now_real_ns(void);

/* ---- control.c ---- */
typedef int (*ctl_op_fn)(struct xokd *x, struct app *a, const void *req, int *fd, void *rep,
			 int *rep_fd);
int ctl_probe(const struct xokd *x); /* -EADDRINUSE if a live xokd answers on the path */
int ctl_listen(struct xokd *x);
void ctl_close(struct xokd *x);
void ctl_accept(struct xokd *x);
void ctl_client_event(struct xokd *x, struct app *a, uint32_t events);
/*
 * Handles one request datagram as received (len bytes of buf; truncated when the datagram
 * was larger than the buffer; fds received with it, which it takes over).  Always writes a
 * reply (header + the op's reply body) to rep (XOK_MSG_MAX bytes) and returns its length;
 * *rep_fd receives an fd to pass back or -1 (still owned by xokd).
 */
size_t ctl_dispatch(struct xokd *x, struct app *a, const void *buf, size_t len, bool truncated,
		    int *fds, int nfds, void *rep, int *rep_fd);
const char *ctl_op_name(unsigned int op);
/* Request-rate limit: true if a may send another request now (takes a token). */
bool ctl_rate_ok(struct xokd *x, struct app *a, uint64_t now);
uint64_t ctl_next_resume(const struct xokd *x); /* 0 = no app paused */
void ctl_resume(struct xokd *x, uint64_t now);	 /* un-pause apps whose time came */
void ctl_close_fd(int fd); /* an fd an app sent: never blocks */
bool ctl_pad_zero(const void *p, size_t n);

/* ---- app.c ---- */
struct app *app_new(struct xokd *x, int fd, pid_t pid, uid_t uid, gid_t gid);
void app_free(struct xokd *x, struct app *a); /* reclaim everything; struct freed by app_reap */
void app_reap(struct xokd *x);
struct app *app_by_id(struct xokd *x, uint32_t id);
/* Counts a refused request against limit l and logs it once per app; returns err. */
int app_limit_hit(struct app *a, enum app_limit l, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool app_in_group(const struct xokd *x, int fd, uid_t uid, gid_t gid);
int op_hello(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd);

/* ---- region.c ---- */
int op_region_add(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd);
int op_region_del(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd);
/* Maps a sealed memfd after checking it (regular, >= size, F_SEAL_SHRINK). */
int region_map_fd(struct app *a, int fd, uint64_t size, bool readonly, struct region **out);
struct region *region_lookup(struct app *a, uint32_t id);
/*
 * Resolves <ref.region, ref.offset> .. + len in app a's regions (or, if allow_table, a
 * published table) with overflow-safe bounds and the given alignment, into a pointer and
 * the region.  Does not take a reference.  Returns 0, -ENOENT (no such region), -EINVAL
 * (pad, alignment, or range).
 */
int region_resolve(struct xokd *x, struct app *a, uint32_t region, uint64_t offset, uint64_t len,
		   uint64_t align, bool allow_table, void **ptr, struct region **reg);
void region_get(struct region *r);
void region_put(struct region *r);
void region_free(struct region *r);
void region_reclaim(struct app *a); /* all of a's regions: users must be gone */

/* ---- ring.c ---- */
int op_ring_set(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd);
int op_ring_mod(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd);
int op_ring_del(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd);
struct ring *ring_lookup(struct app *a, uint32_t id);
/* Copies a frame into the ring's next entry; -ENOBUFS when it is not xokd's. */
int ring_publish(struct ring *r, const uint8_t *frame, uint32_t len, uint32_t ifindex,
		 uint32_t filter_id, uint16_t flags, uint64_t rx_ns);
void ring_reclaim(struct xokd *x, struct app *a);

/* ---- filter.c ---- */
int filter_init(struct xokd *x);
void filter_fini(struct xokd *x);
int op_dpf_insert(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd);
int op_dpf_delete(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd);
int op_dpf_ref(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd);
struct filter *filter_lookup(struct xokd *x, uint32_t id);
bool filter_held(struct app *a, struct filter *f); /* a owns or references f */
void filter_tree(struct xokd *x); /* rebuild parent/child links if the set changed */
/* Regenerates and installs the DPF program on every interface; 0 or -errno. */
int filter_compile(struct xokd *x);
void filter_sync(struct xokd *x); /* filter_compile if the set changed and pacing allows */
int filter_timeout(const struct xokd *x); /* ms until filter_sync has work, or -1 */
void filter_reclaim(struct xokd *x, struct app *a);

/* ---- iface.c ---- */
int iface_open(struct xokd *x, struct iface *ifc, const struct xokd_iface_cfg *cfg);
void iface_close(struct xokd *x, struct iface *ifc);
int iface_fake(struct xokd *x, const char *name, uint32_t ifindex, uint32_t mtu);
struct iface *iface_by_index(struct xokd *x, uint32_t ifindex);
int iface_install(struct xokd *x, struct iface *ifc, int prog_fd); /* -1: empty the slot */
int iface_xskmap_fd(const struct iface *ifc);
void iface_entry_stats(const struct iface *ifc, uint64_t out[]);
uint32_t iface_frame_max(const struct iface *ifc); /* largest frame it transmits */
int op_info(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd);

/* ---- umem.c ---- */
int umem_create(struct xport *p);
void umem_destroy(struct xport *p);
uint8_t *umem_frame(struct xport *p, uint64_t addr);
int umem_tx_alloc(struct xport *p, uint64_t *addr);
void umem_tx_release(struct xport *p, uint64_t addr);

/* ---- xsk.c ---- */
int xport_open(struct xokd *x, struct iface *ifc, uint32_t queue, struct xport **out);
int xport_fake(struct iface *ifc, uint32_t queue, struct xport **out);
void xport_close(struct xokd *x, struct xport *p);
/* rx: peeks up to n descriptors; returns how many, with their addr/len. */
uint32_t xport_rx_peek(struct xport *p, uint32_t n, uint64_t *addr, uint32_t *len);
void xport_rx_done(struct xport *p, const uint64_t *addr, uint32_t n); /* back to fill ring */
int xport_tx_submit(struct xport *p, uint64_t addr, uint32_t len);
void xport_tx_kick(struct xport *p);
void xport_tx_drain(struct xport *p); /* until every submitted frame has been sent */
uint32_t xport_comp_take(struct xport *p, uint64_t *addr, uint32_t n);
int xport_fd(const struct xport *p);
void xport_fail(struct xokd *x, struct xport *p); /* EPOLLERR: stop polling it */
uint64_t xport_kernel_drops(const struct xport *p);

/* ---- txcheck.c ---- */
void claim_from_filter(const struct dpf_filter *f, struct tx_claim *c);
void claim_index(struct app *a, struct filter_ref *r); /* a now holds r->f */
void claim_unindex(struct filter_ref *r);
/*
 * Checked transmission: may app a send this frame (already copied into xokd's memory) on
 * ifc?  seq is the descriptor's TXQ index (grace claims), or `queued` false for NET_XMIT.
 * Returns 0 or -EPERM.
 */
int tx_check(struct xokd *x, struct app *a, const struct iface *ifc, const uint8_t *frame,
	     uint32_t len, bool queued, uint32_t seq);
/* a released filter f: keep its claim for the descriptors a queued before now. */
void tx_grace_add(struct xokd *x, struct app *a, const struct filter *f);

/* ---- impair.c ---- */
int impair_parse(const char *spec, struct xokd_impair *out); /* --impair's argument */
bool impair_on(const struct xokd *x);
bool impair_rx_on(const struct xokd *x);
bool impair_tx_on(const struct xokd *x);
/* rate=: false while the emulated link already holds XOK_IMPAIR_LINK_QUEUE_NS of frames. */
bool impair_tx_room(const struct xokd *x, const struct iface *ifc);
/* Receive: frame with its classification; delivers (rx_deliver) now, later or never. */
void impair_rx(struct xokd *x, struct iface *ifc, const uint8_t *frame, uint32_t len,
	       const struct dpf_xdp_meta *m, uint64_t rx_ns);
/* Transmit: UMEM frame addr of p, already accounted as pending; submits now, later or
 * never (a dropped frame completes at once). */
void impair_tx(struct xokd *x, struct xport *p, uint64_t addr, uint32_t len);
void impair_run(struct xokd *x);	  /* release what is due */
uint64_t impair_next(const struct xokd *x); /* earliest release, 0 = none */
void impair_fini(struct xokd *x);

/* ---- rx.c ---- */
void rx_port(struct xokd *x, struct xport *p);
/* Delivers one frame given its DPF metadata (what rx_port does per descriptor). */
void rx_deliver(struct xokd *x, struct iface *ifc, const uint8_t *frame, uint32_t len,
		const struct dpf_xdp_meta *m, uint64_t rx_ns);

/* ---- tx.c ---- */
/* A validated frame: the pieces of the app's memory it is gathered from. */
struct tx_frame {
	struct iface *ifc;
	uint32_t npieces;
	uint32_t len;
	uint16_t gso_size; /* XOK_TX_TCP_GSO: payload per segment; 0: an ordinary frame */
	const uint8_t *piece[XOK_XMIT_PIECES];
	uint32_t plen[XOK_XMIT_PIECES];
	struct region *nreg; /* notification word's region, NULL = none */
	uint32_t *notify;
};
int op_net_xmit(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd);
int op_txq_set(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd);
void tx_kick(struct xokd *x, struct app *a); /* its eventfd fired */
void tx_run(struct xokd *x);		     /* drain TXQs round-robin */
void tx_complete(struct xokd *x, struct xport *p);
/* epoll timeout for the transmit side: -1 nothing to do, 0 runnable work, 1 (ms) waiting
 * for completions */
int tx_timeout(const struct xokd *x);
void tx_reclaim(struct xokd *x, struct app *a);
/* Submits a gathered UMEM frame to the socket (after impairment); -EAGAIN if its ring is
 * full. */
int tx_submit(struct xokd *x, struct xport *p, uint64_t addr, uint32_t len);
/* Completes a frame that will never be sent (impairment drop, teardown): notifies. */
void tx_finish_frame(struct xokd *x, struct xport *p, uint64_t addr);
uint32_t tx_weight_for(const struct xokd *x, const struct app *a);

/* ---- gso.c ---- */
int gso_open(struct iface *ifc); /* the packet socket; on failure gso_fd stays -1 */
void gso_close(struct iface *ifc);
bool gso_avail(const struct xokd *x, const struct iface *ifc);
/* Checks and sends a validated XOK_TX_TCP_GSO frame; 0 once the kernel has it. */
int gso_send(struct xokd *x, struct app *a, const struct tx_frame *t, bool queued, uint32_t seq);

/* ---- wk.c ---- */
int op_wkpred(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd);
bool wk_eval(const struct wkpred *p, uint64_t now);
void wk_touch(struct xokd *x, struct app *a);
void wk_run(struct xokd *x);   /* evaluate touched apps, wake the sleeping true ones */
void wk_timer(struct xokd *x); /* timer_fd fired */
uint64_t wk_next(const struct xokd *x); /* earliest armed predicate deadline, 0 = none */
void wk_shutdown(struct xokd *x);	/* xokd is exiting: wake every sleeping app */
void wk_table_changed(struct xokd *x, struct region *table);
void wk_reclaim(struct xokd *x, struct app *a);

/* ---- table.c ---- */
int op_table_publish(struct xokd *x, struct app *a, const void *req, int *fd, void *rep,
		     int *rep_fd);
int op_table_get(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd);
int op_table_notify(struct xokd *x, struct app *a, const void *req, int *fd, void *rep,
		    int *rep_fd);
struct region *table_region(struct xokd *x, uint32_t region_id);
int table_init(struct xokd *x); /* creates every system table, empty */
void table_fini(struct xokd *x);

/* ---- stats.c ---- */
int op_stats(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd);

#endif /* XOK_KERN_H */
