/* strayd.h - strayd, the stray packet daemon: shared state of its files */
#ifndef STRAYD_H
#define STRAYD_H

/*
 * strayd is §3.3's error-reporting service.  Its one DPF filter matches every IPv4 frame
 * and is XOK_DPF_OPEN, so every application's filter refines it and a frame reaches strayd
 * only when no application claims it.  For such a frame addressed to one of xokd's
 * addresses it answers as a host's kernel would: ICMP echo replies (so `ping` works), ICMP
 * port unreachable for UDP, protocol unreachable for other protocols, and a reset for TCP
 * (RFC 9293 §3.10.7.1).  It never answers resets, ICMP errors, fragments, broadcast or
 * multicast frames, or packets from addresses that cannot be a single host, and it
 * rate-limits itself with token buckets.
 *
 *  - main.c:  command line, setup, event loop, counters.
 *  - stray.c: classifying an unclaimed frame and deciding what to send.
 *  - build.c: building the reply frames (checksums included).
 *  - tx.c:    transmit buffers, the next hop's MAC (arpd's table or the frame's source),
 *             the token buckets.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <exos/sys.h>
#include <xok/proto/eth.h>
#include <xok/proto/ip.h>

#include "param.h"

struct stray_iface {
	uint32_t ifindex;
	uint32_t addr, mask, gateway; /* network order */
	uint32_t mtu;
	uint8_t mac[ETH_ADDR_LEN];
	char name[16];
};

struct stray_stats {
	uint64_t rx;
	uint64_t echo_replies, port_unreach, proto_unreach, resets;
	uint64_t ign_not_ipv4, ign_bcast, ign_not_ours, ign_bad_src, ign_frag, ign_rst;
	uint64_t ign_icmp, ign_truncated;
	uint64_t bad, bad_csum;
	uint64_t rate_limited;
	uint64_t arp_hits, arp_misses;
	uint64_t tx, tx_errors;
};

struct stray_bucket {
	double tokens;
	uint64_t last_ns;
};

enum stray_class { STRAY_ERRORS = 0, STRAY_ECHO, STRAY_CLASS_NR };

struct strayd {
	struct exos_sys *sys;
	struct exos_ring *ring;
	struct exos_filter_id filter;
	const struct xok_arp_table *arp; /* arpd's, read-only; NULL until published */
	uint64_t arp_retry_ns;
	struct stray_iface ifs[XOK_IFACES_MAX];
	unsigned nifs;

	struct exos_region *txr;
	uint32_t *inflight; /* STRAYD_TX_SLOTS notification words */
	uint8_t *frames;
	uint32_t tx_next;

	double rate, burst; /* rate 0: unlimited */
	struct stray_bucket bucket[STRAY_CLASS_NR];
	uint16_t ip_id;
	int verbose;
	struct stray_stats st;
};

/* stray.c */
void stray_input(struct strayd *d, const uint8_t *frame, uint32_t caplen, uint32_t len,
		 uint32_t ifindex);
const struct stray_iface *stray_iface(const struct strayd *d, uint32_t ifindex);

/* build.c: each writes a complete Ethernet frame into out and returns its length.
 * `ip` is the received IPv4 header, ip_avail the bytes of the packet present. */
uint16_t csum_fold(uint32_t sum);
uint32_t csum_add(uint32_t sum, const void *data, size_t len);
uint32_t csum_pseudo(uint32_t saddr, uint32_t daddr, uint8_t proto, uint16_t len);
size_t build_echo_reply(struct strayd *d, uint8_t *out, const struct ip_hdr *ip,
			size_t ip_avail);
size_t build_icmp_error(struct strayd *d, uint8_t *out, const struct ip_hdr *ip,
			size_t ip_avail, uint8_t type, uint8_t code);
size_t build_rst(struct strayd *d, uint8_t *out, const struct ip_hdr *ip, size_t ip_avail);

/* tx.c */
int tx_init(struct strayd *d);
/* Consumes a token of the class; false when the bucket is empty. */
bool tx_allow(struct strayd *d, enum stray_class c);
/* A free transmit buffer (with room for STRAYD_TX_SLOT_SIZE bytes) or NULL. */
uint8_t *tx_get(struct strayd *d, uint32_t **word);
/* Fills the Ethernet header at `frame` toward dst (the reply's destination) and sends
 * len bytes; src_mac is the received frame's source, used when arpd's table has no entry. */
int tx_send(struct strayd *d, const struct stray_iface *ifc, uint8_t *frame, size_t len,
	    uint32_t *word, uint32_t dst, const uint8_t *src_mac);
void tx_try_arp_table(struct strayd *d);

void stray_log(const struct strayd *d, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* STRAYD_H */
