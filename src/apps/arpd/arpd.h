/* arpd.h - arpd, the ARP daemon: shared state of main.c, table.c and arp.c */
#ifndef ARPD_H
#define ARPD_H

/*
 * arpd is the §3.3 "naming" service for ARP: it owns the system ARP table that every
 * application maps read-only, and it is the only process that receives ARP frames (one DPF
 * filter on ethertype 0x0806 covers every xokd interface; each frame carries its ifindex).
 *
 *  - main.c:  command line, setup (table, ring, filter, transmit buffers), the event loop.
 *  - table.c: the table under its seqlock: lookup, insert, update, aging and refresh.
 *  - arp.c:   received frames (RFC 826 merge rule, answering requests for our addresses)
 *             and the frames arpd transmits (replies, refresh probes, announcements).
 *
 * Applications send their own requests on a miss and sleep on the table's `version` word;
 * arpd learns the replies (they are addressed to us) and bumps `version`, then tells xokd
 * (TABLE_NOTIFY) so that xokd re-evaluates the sleepers' predicates.
 */

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <exos/sys.h>
#include <xok/proto/arp.h>
#include <xok/proto/eth.h>

#include "param.h"

struct arpd_iface {
	uint32_t ifindex;
	uint32_t addr;	  /* network order */
	uint32_t mask;	  /* network order */
	uint32_t gateway; /* network order; 0 = none */
	uint8_t mac[ETH_ADDR_LEN];
	char name[16];
};

/* What arpd keeps about each table slot besides what it publishes. */
struct arpd_slot {
	uint64_t next_probe_ns; /* VALID: when the next refresh request is due */
	uint8_t probes;		/* refresh requests sent since the last reply */
};

struct arpd_stats {
	uint64_t rx, bad, ignored;
	uint64_t requests_answered, announcements;
	uint64_t added, refreshed, changed, expired, freed, evicted;
	uint64_t probes, conflicts;
	uint64_t tx, tx_errors;
	uint64_t publishes, notify_errors;
};

struct arpd_tx {
	struct exos_region *region;
	uint32_t *inflight; /* ARPD_TX_SLOTS notification words: nonzero while xokd sends */
	uint8_t *frames;
	uint32_t next;
};

struct arpd {
	struct exos_sys *sys;
	struct exos_ring *ring;
	struct exos_filter_id filter;
	struct xok_arp_table *tab; /* our writable mapping of the published table */
	struct arpd_slot slot[XOK_ARP_ENTRIES];
	bool changed;		   /* written since the last version bump */
	struct arpd_iface ifs[XOK_IFACES_MAX];
	unsigned nifs;
	struct arpd_tx tx;
	uint64_t max_age_ns;
	uint64_t age_due_ns;	   /* when table_age has work next */
	uint64_t last_conflict_log_ns;
	int verbose;
	struct arpd_stats st;
};

/* table.c */
void table_init(struct arpd *d);
int table_find(const struct arpd *d, uint32_t ifindex, uint32_t addr);
/* Records addr -> mac (a reply or request heard from it).  create: add it when absent. */
void table_learn(struct arpd *d, uint32_t ifindex, uint32_t addr, const uint8_t *mac,
		 bool create);
/* Expires, refreshes and frees entries; returns the next time anything is due (ns). */
uint64_t table_age(struct arpd *d, uint64_t now);
/* Bumps `version` and notifies xokd if the table changed since the last call. */
void table_publish(struct arpd *d);
void table_dump(const struct arpd *d, FILE *out);

/* arp.c */
int arp_tx_init(struct arpd *d);
void arp_input(struct arpd *d, const uint8_t *frame, uint32_t len, uint32_t ifindex);
const struct arpd_iface *arp_iface(const struct arpd *d, uint32_t ifindex);
/* A request for addr: broadcast, or unicast to dst_mac when non-NULL (refresh probe). */
int arp_send_request(struct arpd *d, const struct arpd_iface *ifc, uint32_t addr,
		     const uint8_t *dst_mac);
/* RFC 5227 announcement of ifc's address (gratuitous request). */
int arp_announce(struct arpd *d, const struct arpd_iface *ifc);

void arpd_log(const struct arpd *d, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* ARPD_H */
