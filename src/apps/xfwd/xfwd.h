/* xfwd.h - xfwd, the direct TCP forwarder of paper §7: shared state and table of contents */
#ifndef XFWD_H
#define XFWD_H

/*
 * xfwd forwards TCP connections to backends by patching packets, never by terminating
 * them (§7 "Direct Forwarding"): a client's SYN picks a backend; from then on every frame
 * of the connection has its Ethernet addresses, IPv4 addresses and TCP ports rewritten,
 * its checksums patched (RFC 1624), and is transmitted on the other interface.  Data,
 * ACKs, windows and options pass untouched, so the client is acknowledged by the backend
 * itself (end-to-end semantics), and the backend sees xfwd's backend-side address (it
 * needs no route back to the clients).
 *
 * Receive: one ring, two kinds of filters.  The listen filter (dpf_filter_tcp_port on the
 * listen address and port) gets the client side.  The return traffic comes to our own
 * backend-side address and a port of ours: by default ONE filter per backend-side address
 * claims an aligned block of ports with a masked port atom (--ports; see fwd.c for why),
 * and xfwd demultiplexes connections itself; with --return-filter conn, each connection
 * installs its own 4-tuple filter instead (the paper's "initializes demultiplexing
 * structures"), retrying another port when the insert collides.
 *
 * Transmit: straight from the ring entry (the ring lives in registered memory), with the
 * entry's own notification word; the entry goes back to xokd only once that word says the
 * frame has left.  Entries are returned in ring order, since xokd refills in ring order.
 * When too many entries are waiting for their frames to leave, new frames are copied to
 * bounce buffers instead, so that the ring never stalls (fwd.c).
 *
 *  - main.c:    command line, signals, the ready line.
 *  - fwd.c:     setup (interfaces, routes, ring, filters) and the packet loop.
 *  - conn.c:    the connection table, both directions, lifecycle and expiry.
 *  - nat.c:     parsing, rewriting, incremental checksums.
 *  - merge.c:   joining a connection's in-order segments into offload frames.
 *  - backend.c: the backend list, selection policies, our port blocks.
 *  - neigh.c:   next hops: arpd's table, our own ARP requests on a miss, queued frames.
 *  - stats.c:   counters, including xokd's for our filters.
 */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <exos/sys.h>

#include "app.h"
#include "backend.h"
#include "conn.h"
#include "merge.h"
#include "nat.h"
#include "param.h"

enum xfwd_retfilter {
	XFWD_RET_RANGE = 0, /* one masked-port filter per backend-side address */
	XFWD_RET_CONN,	    /* one 4-tuple filter per connection */
};

struct xfwd_cfg {
	struct app_service_opts svc;
	uint32_t laddr; /* network order; 0 = every address of xokd's */
	uint16_t lport; /* network order */
	enum xfwd_policy policy;
	enum xfwd_retfilter retfilter;
	uint16_t port_lo; /* host order */
	uint32_t port_n;
	uint32_t max_conns;
	uint64_t idle_ns, linger_ns;
	bool merge; /* join in-order segments into offload frames (merge.h) */
};

struct xfwd_iface {
	uint32_t ifindex;
	uint32_t addr, mask, gateway; /* network order */
	uint32_t mtu;
	uint32_t gso_max; /* xokd's segmentation offload: largest frame, 0 without */
	uint8_t mac[ETH_ADDR_LEN];
	char name[16];
	bool has_ret; /* the return filter for this address is installed */
	struct exos_filter_id ret;
};

struct xfwd_stats {
	uint64_t rx, rx_bytes;
	uint64_t drop_not_tcp, drop_malformed, drop_truncated, drop_fragment;
	uint64_t drop_no_conn;	  /* not a SYN, and no connection */
	uint64_t drop_no_backend; /* SYN refused: table full, no port, filter failure */
	uint64_t drop_no_route;	  /* no next hop MAC and none could be queued */
	uint64_t drop_tx;	  /* xokd refused or its queue stayed full */
	uint64_t csum_partial;	  /* TCP checksums completed (offloading veth peers) */
	uint64_t rx_copied;	  /* copied to a bounce buffer: ring pressure */
	uint64_t tx_again;	  /* transmit queue full: flushed and retried */
	uint64_t held_max;	  /* most ring entries waiting for their transmission */
	uint64_t merged_frames;	  /* offload frames sent of joined segments */
	uint64_t merged_segs;	  /* the segments they hold */
	uint64_t filter_inserts, filter_collisions, filter_errors;
	uint64_t arp_requests, arp_failures, arp_queued, arp_queue_drops;
	uint64_t cmac_table, cmac_learned; /* client-side next hops: arpd's table / learned */
};

/* A pending ARP resolution and the frames waiting for it (in bounce buffers). */
struct neigh_pend {
	uint32_t addr, ifindex; /* 0 addr: free slot */
	uint32_t tries;
	uint64_t deadline;
	uint32_t nq;
	uint16_t q[XFWD_NEIGH_QUEUE]; /* bounce buffer indexes */
	uint16_t qlen[XFWD_NEIGH_QUEUE];
};

struct neigh_cache_ent {
	uint32_t addr, ifindex;
	uint8_t mac[ETH_ADDR_LEN];
};

struct neigh {
	const struct xok_arp_table *table; /* arpd's, read-only; NULL until published */
	uint64_t table_retry;
	uint32_t cache_version;
	struct neigh_cache_ent cache[XFWD_NEIGH_CACHE];
	struct neigh_pend pend[XFWD_NEIGH_PENDING];
	uint32_t npend;
	int watch;
	uint32_t watch_version;
	uint32_t polled_version; /* table version neigh_poll last looked at */
};

/* Copy buffers: a buffer is busy while its word is nonzero (queued or being sent). */
struct xfwd_bounce {
	struct exos_region *region;
	uint32_t *word;
	uint8_t *buf;
	uint32_t n, size, next;
};

struct xfwd {
	struct xfwd_cfg cfg;
	struct exos_sys *sys;
	struct exos_ring *ring;
	uint32_t ring_mask;
	struct exos_region *rxn_region;
	uint32_t *rx_notify; /* one notification word per ring entry */
	uint32_t rx_next;    /* frames consumed (free-running) */
	uint32_t rx_rel;     /* frames returned to xokd (free-running) */
	struct xfwd_bounce bounce;
	struct xfwd_iface ifs[XOK_IFACES_MAX];
	uint32_t nifs;
	struct exos_filter_id listen;
	struct xfwd_backends be;
	struct conn_table ct;
	struct neigh nb;
	struct xfwd_stats st;
	struct merge_train train; /* segments received together, not yet sent */
	uint64_t now;
};

/* fwd.c */
int fwd_setup(struct xfwd *x);
/* Runs until *stop; calls stats_print when *dump is set. */
int fwd_run(struct xfwd *x, volatile sig_atomic_t *stop, volatile sig_atomic_t *dump);
void fwd_close(struct xfwd *x);
const struct xfwd_iface *fwd_iface(const struct xfwd *x, uint32_t ifindex);
/* Sends len bytes at frame (registered memory) with notification word *word (set to 1
 * here).  Retries a full transmit queue; 0 or -errno (then *word is 0 again). */
int fwd_xmit(struct xfwd *x, uint32_t ifindex, const void *frame, uint32_t len, uint32_t *word);
/* A free bounce buffer (its word set to 1: the caller owns it), or -ENOBUFS. */
int bounce_get(struct xfwd *x);

/* neigh.c */
void neigh_init(struct xfwd *x);
void neigh_close(struct xfwd *x);
/* The current ARP table version (0 without a table). */
uint32_t neigh_version(const struct xfwd *x);
/* The MAC of addr on ifindex from arpd's table: 0 or -ENOENT. */
int neigh_lookup(struct xfwd *x, uint32_t ifindex, uint32_t addr, uint8_t *mac);
/* Queues a ready frame (all but its destination MAC) until addr resolves, and asks for it.
 * 0 (queued) or -ENOBUFS (dropped). */
int neigh_queue(struct xfwd *x, uint32_t ifindex, uint32_t addr, const uint8_t *frame,
		uint32_t len);
/* Starts resolving addr without a frame (setup: the backends). */
void neigh_solicit(struct xfwd *x, uint32_t ifindex, uint32_t addr);
/* Table changes and retry timers: sends what resolved, fails what timed out. */
void neigh_poll(struct xfwd *x);
uint64_t neigh_deadline(const struct xfwd *x);

/* stats.c */
void stats_print(struct xfwd *x, FILE *f);

void xfwd_log(const struct xfwd *x, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* XFWD_H */
