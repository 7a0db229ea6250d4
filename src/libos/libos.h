/* libos.h - the libOS's private shared internals: the stack, buffers, timers, and every
 * cross-file function of the lower layers, grouped by file (TCP's are in tcp_int.h) */
#ifndef EXOS_LIBOS_H
#define EXOS_LIBOS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/types.h>

#include <exos/exos.h>
#include <exos/sys.h>
#include <xok/abi.h>
#include <xok/proto/eth.h>
#include <xok/proto/ip.h>

#include "param.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)     ((a) < (b) ? (a) : (b))
#define MAX(a, b)     ((a) > (b) ? (a) : (b))
#define likely(x)     __builtin_expect(!!(x), 1)
#define unlikely(x)   __builtin_expect(!!(x), 0)

/* Exported functions return -errno and set errno: `return exos_err(-EINVAL);`. */
static inline int exos_err(int err)
{
	if (err < 0)
		errno = -err;
	return err;
}

struct exos_tcp;
struct exos_udp;
struct tcp_state;
struct tcp_sreq;

/* ---- objects ---- */

/* One of our interfaces, from xokd's info reply.  Addresses in network order. */
struct exos_iface {
	uint32_t ifindex;
	uint32_t mtu;
	uint32_t addr, mask, gateway;
	uint32_t gso_max; /* XOK_IFF_TCP_GSO: the largest frame xokd segments; 0 = none */
	uint8_t mac[ETH_ADDR_LEN];
};

/* Where a datagram to some address goes. */
struct route {
	const struct exos_iface *ifc;
	uint32_t nexthop; /* the destination, or the gateway */
};

/* A heap object allocator: objects come in chunks and are recycled through a free list,
 * never returned to malloc one by one (no per-packet malloc). */
struct slab {
	size_t objsz;
	void *free;
	void **chunks;
	unsigned nchunks;
	uint64_t inuse;
};

/* A class of fixed-size objects in registered memory. */
struct pool_class {
	size_t objsz;
	size_t grow_bytes;
	void *free;
	uint64_t inuse, nfree;
};

struct pool {
	struct exos_region *regions[POOL_REGIONS_MAX];
	unsigned nregions;
	size_t bytes, max_bytes;
	struct pool_class txb;	/* struct txb */
	struct pool_class pbuf; /* PBUF_SIZE data buffers */
};

/*
 * A transmit block: the headers of one outgoing frame and its completion word, in
 * registered memory because exos_xmit gathers the headers from it and xokd decrements
 * `notify` when the frame has left.  Until then the txb holds references on what the frame
 * gathers from: TCP send requests and/or one packet buffer it owns.
 */
#define TXB_HDR_MAX 128
struct txb {
	uint32_t notify;
	uint16_t hdr_len;
	uint8_t nsreq;
	uint8_t pad;
	struct txb *next;	 /* in-flight FIFO / ARP queue */
	void *pbuf;		 /* owned packet buffer, or NULL */
	struct tcp_sreq *sreq[TCP_SEG_PIECES];
	uint8_t hdr[TXB_HDR_MAX] __attribute__((aligned(16)));
};
_Static_assert(sizeof(struct txb) <= TXB_SIZE, "txb fits its pool class");

/* A timer: a slot in the stack's min-heap. */
struct exos_timer {
	uint64_t when;
	uint32_t idx; /* heap position + 1; 0 = not armed */
	void (*fn)(struct exos_stack *s, struct exos_timer *t);
};

struct timer_heap {
	struct exos_timer **h;
	uint32_t n, cap;
};

/* An ARP resolution in progress. */
struct arp_pending {
	uint32_t addr; /* 0 = free slot */
	const struct exos_iface *ifc;
	uint32_t tries;
	uint64_t deadline;
	uint32_t nq;
	struct arp_qent *qhead, *qtail;
};

struct arp_qent {
	struct arp_qent *next;
	struct txb *t;
	int niov;
	struct exos_iov iov[XOK_XMIT_PIECES];
};

struct arp_cache_ent {
	uint32_t addr;
	uint8_t mac[ETH_ADDR_LEN];
};

struct arp_state {
	const struct xok_arp_table *table; /* arpd's, read-only; NULL when not published */
	uint32_t cache_version;
	struct arp_cache_ent cache[ARP_CACHE_SIZE];
	struct arp_pending pend[ARP_PENDING_MAX];
	uint32_t npending, nqueued;
	int watch;		/* exos_sys_watch handle on table->version, or -1 */
	uint32_t watch_version;
	struct exos_timer timer;
	struct slab qslab;
};

struct ip_reasm {
	uint32_t saddr, daddr;
	uint16_t id;
	uint8_t proto;
	bool used, have_last;
	uint32_t total;	   /* payload length, known once the last fragment arrived */
	uint32_t received; /* payload bytes received (duplicates not counted) */
	uint64_t deadline;
	uint8_t hdr[IP_HDR_MAX];
	uint8_t map[IP_REASM_MAX / 8 / 8 + 1]; /* one bit per 8-byte unit */
	uint8_t *data;			       /* IP_HDR_LEN + IP_REASM_MAX bytes */
};

struct ip_state {
	uint16_t next_id;
	struct ip_reasm reasm[IP_REASM_SLOTS];
	struct exos_timer reasm_timer;
};

struct udp_state {
	struct exos_udp **htab; /* by local port */
	uint32_t hmask, count;
	struct slab slab;
};

struct exos_stack {
	struct exos_sys *sys;
	bool own_sys;
	uint32_t flags; /* EXOS_STACK_* */
	uint64_t now;	/* ns, refreshed at every entry */
	struct exos_iface ifs[XOK_IFACES_MAX];
	unsigned nifs;
	struct exos_ring *ring;
	struct pool pool;
	struct slab sreq_slab, rxseg_slab;
	struct timer_heap timers;

	struct txb *tx_head, *tx_tail; /* frames in flight, in submission order */
	uint32_t tx_inflight;
	bool tx_blocked; /* xokd's queue was full: retry soon */
	uint32_t tx_waiters; /* acknowledged send requests still gathered by frames in flight */
	bool tx_dirty;	 /* frames queued since the last flush */
	int depth;	 /* > 0 while processing input (deferred frees) */

	struct arp_state arp;
	struct ip_state ip;
	struct udp_state udp;
	struct tcp_state *tcp;
	uint32_t echo_filter; /* ICMP echo filter id, 0 = none */
	uint64_t filters;     /* installed by this stack */
	uint64_t socks;	      /* socket layer descriptors */
	uint64_t rng;
	struct exos_stack_stats st;

	/* process exit (exit.c): the stacks of this process, and what exit is doing */
	struct exos_stack *open_next;
	pid_t pid;     /* the process that opened it: a forked child does not exit for it */
	bool exiting;  /* exit hook running: listeners take no new connections */
	uint32_t linger_sec; /* socket layer: the longest SO_LINGER of a socket closed at exit */
};

/* ---- stack.c ---- */
uint64_t stack_clock(struct exos_stack *s); /* refreshes and returns s->now */
uint32_t stack_random(struct exos_stack *s);
const struct exos_iface *stack_iface_by_addr(const struct exos_stack *s, uint32_t addr);
const struct exos_iface *stack_iface_by_index(const struct exos_stack *s, uint32_t ifindex);
bool stack_is_local(const struct exos_stack *s, uint32_t addr);
/* Installs f delivering to the stack's ring; its capability to *cap unless cap is NULL. */
int stack_filter_insert(struct exos_stack *s, const struct dpf_filter *f, uint32_t *id,
			struct xok_cap *cap);
/* The same for a filter claiming a port: -EADDRINUSE when somebody has it. */
int stack_filter_claim(struct exos_stack *s, const struct dpf_filter *f, uint32_t *id,
		       struct xok_cap *cap);
void stack_filter_delete(struct exos_stack *s, uint32_t id);
void stack_end_batch(struct exos_stack *s);
/* After an API call: send what it produced, unless we are inside the poll loop (a
 * callback), which sends at its end. */
static inline void stack_api_done(struct exos_stack *s)
{
	if (!s->depth)
		stack_end_batch(s);
}
/* Runs one wait step for a blocking call: polls, then sleeps until something happens or
 * deadline (0 = none).  Returns 0, -ETIMEDOUT (deadline), -EINTR, -EPIPE. */
int stack_block(struct exos_stack *s, uint64_t deadline);

/* ---- exit.c ---- */
void exit_register(struct exos_stack *s);   /* exos_stack_open: hook process exit */
void exit_unregister(struct exos_stack *s); /* exos_stack_close */
/* A signal exos_stack_handoff_on_signals caught: exit now (from a safe point). */
void exit_check_signal(struct exos_stack *s);

/* ---- handoff.c ---- */
struct twd_rec;
/* Hands s's closing connections (TIME_WAIT, and closing ones with nothing but their FIN
 * outstanding) to twd; those twd took are forgotten here (their filters' references
 * dropped too unless process_exit).  Returns how many twd took (0 if it does not run),
 * and in *left how many closing connections remain. */
int handoff_stack(struct exos_stack *s, bool process_exit, uint32_t *left);
/* A listener closes: the TIME_WAIT blocks its filter delivers go to twd with it (else
 * nothing would deliver them any more).  How many twd took, or -errno. */
struct exos_tcp;
int handoff_listener(struct exos_tcp *l);
/* Listen: twd may hold the port (a previous process's connections).  0 and the port's
 * filter (id, cap; TIME_WAIT blocks adopted) when twd gave it; -ENOENT when it holds
 * nothing there (any more). */
int handoff_take_port(struct exos_stack *s, uint32_t laddr, uint16_t lport, uint32_t *id,
		      struct xok_cap *cap);
/* twd's socket: $XOK_TWD_SOCKET or TWD_SOCKET_DEFAULT. */
const char *handoff_socket_path(void);

/* ---- timer.c ---- */
void timer_init(struct exos_timer *t, void (*fn)(struct exos_stack *, struct exos_timer *));
void timer_arm(struct exos_stack *s, struct exos_timer *t, uint64_t when);
void timer_cancel(struct exos_stack *s, struct exos_timer *t);
static inline bool timer_armed(const struct exos_timer *t)
{
	return t->idx != 0;
}
uint64_t timer_next(const struct timer_heap *h); /* 0 = none */
void timer_run(struct exos_stack *s);
void timer_heap_free(struct timer_heap *h);

/* ---- buf.c ---- */
void slab_init(struct slab *sl, size_t objsz);
void *slab_get(struct slab *sl); /* zeroed; NULL when out of memory */
void slab_put(struct slab *sl, void *p);
void slab_destroy(struct slab *sl);

int pool_init(struct exos_stack *s, size_t max_bytes);
void pool_destroy(struct exos_stack *s);
void *pbuf_get(struct exos_stack *s); /* PBUF_SIZE bytes of registered memory, or NULL */
void pbuf_put(struct exos_stack *s, void *p);
int pbuf_reserve(struct exos_stack *s, uint32_t n); /* ensures n are free: 0 or -ENOBUFS */
struct txb *txb_get(struct exos_stack *s); /* headers cleared of references; or NULL */
/* Drops what a finished (or never sent) txb refers to and returns it to the pool. */
void txb_release(struct exos_stack *s, struct txb *t);
/* Releases finished frames at the head of the in-flight FIFO. */
void tx_reap(struct exos_stack *s);

/* ---- cksum.c ---- */
uint32_t cksum_partial(const void *p, size_t len, uint32_t sum); /* 32-bit accumulator */
static inline uint16_t cksum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}
/* A partial sum of bytes placed at an odd offset: swap its bytes. */
static inline uint32_t cksum_swap(uint32_t sum)
{
	uint16_t f = cksum_fold(sum);
	return (uint32_t)(uint16_t)((f >> 8) | (f << 8));
}
uint16_t cksum(const void *p, size_t len); /* complemented: ready for a header */
uint32_t cksum_pseudo(uint32_t saddr, uint32_t daddr, uint8_t proto, uint32_t len);
bool cksum_is_partial(uint16_t check, uint32_t saddr, uint32_t daddr, uint8_t proto,
		      uint32_t len);

/* ---- eth.c ---- */
void eth_input(struct exos_stack *s, const struct xok_ring_entry *e, uint8_t *frame,
	       size_t len);
/* Transmits t (whose header starts with the Ethernet header) followed by data pieces. */
/* A frame of several TCP segments for xokd to cut at gso_size (0: an ordinary frame). */
int eth_xmit_gso(struct exos_stack *s, const struct exos_iface *ifc, struct txb *t,
		 const struct exos_iov *data, int ndata, uint16_t gso_size);
int eth_xmit(struct exos_stack *s, const struct exos_iface *ifc, struct txb *t,
	     const struct exos_iov *data, int ndata);
void eth_fill(uint8_t *hdr, const uint8_t *dst, const uint8_t *src, uint16_t type);

/* ---- arp.c ---- */
int arp_init(struct exos_stack *s);
void arp_destroy(struct exos_stack *s);
/* 0 and the MAC when known; -ENOENT when not (no request sent). */
int arp_lookup(struct exos_stack *s, const struct exos_iface *ifc, uint32_t addr,
	       uint8_t *mac);
/* Sends t to nexthop: at once when resolved, else queued while a request goes out.
 * Returns 0 (sent or queued), -EHOSTUNREACH, -ENOBUFS; on error t is released. */
int arp_output(struct exos_stack *s, const struct route *rt, struct txb *t,
	       const struct exos_iov *data, int ndata);
void arp_poll(struct exos_stack *s); /* table changed or timers: retry queued frames */

/* ---- ip_in.c ---- */
void ip_input(struct exos_stack *s, const struct exos_iface *ifc, uint8_t *pkt, size_t len);
void ip_init(struct exos_stack *s);
void ip_reasm_destroy(struct exos_stack *s);

/* ---- ip_out.c ---- */
int ip_route(const struct exos_stack *s, uint32_t daddr, struct route *rt);
/* Fills Ethernet + IPv4 headers at the front of t->hdr (the transport header follows at
 * ETH_HDR_LEN + IP_HDR_LEN, already written, t->hdr_len covering it) and sends it with the
 * payload pieces, fragmenting when it does not fit the MTU (copying the pieces).  saddr 0:
 * the interface's.  Returns 0 or -errno; t is consumed either way. */
int ip_output(struct exos_stack *s, struct txb *t, uint32_t saddr, uint32_t daddr,
	      uint8_t proto, const struct exos_iov *data, int ndata, size_t datalen);
void ip_hdr_fill(struct ip_hdr *ip, uint32_t saddr, uint32_t daddr, uint8_t proto,
		 uint16_t tot_len, uint16_t id, uint16_t frag_off);

/* ---- icmp.c ---- */
void icmp_input(struct exos_stack *s, const struct ip_hdr *ip, const uint8_t *p,
		size_t len);
int icmp_echo_enable(struct exos_stack *s);
/* A filter for ICMP errors quoting our datagrams from local port `port` of `proto`
 * (and, when rport != 0, to remote rport). */
int icmp_error_filter(struct exos_stack *s, uint32_t laddr, uint8_t proto, uint16_t port,
		      uint16_t rport, uint32_t *id);
int icmp_errno(uint8_t type, uint8_t code); /* 0 = ignore */

/* ---- udp.c ---- */
int udp_init(struct exos_stack *s);
void udp_destroy(struct exos_stack *s);
void udp_input(struct exos_stack *s, const struct ip_hdr *ip, const uint8_t *p, size_t len);
void udp_icmp_error(struct exos_stack *s, int err, const struct ip_hdr *inner,
		    const uint8_t *l4, size_t len);

#endif /* EXOS_LIBOS_H */
