/* nat.h - xfwd's header rewrite: parsing, address/port translation, RFC 1624 checksums */
#ifndef XFWD_NAT_H
#define XFWD_NAT_H

/*
 * Pure functions over a frame in memory (no xokd, no state), so that the unit tests can
 * check them against a full recomputation on random packets.
 *
 * Checksums are one's-complement sums of 16-bit words loaded in host order straight from
 * the frame (RFC 1071 §2(B): the sum is byte-order independent as long as loads and stores
 * agree), so no word is byte-swapped on the fast path.  A rewrite changes the IPv4
 * addresses (covered by the IP header checksum and by TCP's pseudo-header) and the TCP
 * ports; each checksum is patched with RFC 1624's Eqn. 3, HC' = ~(~HC + ~m + m'), for the
 * changed words only: the payload is never read.
 *
 * The exception is a TCP checksum left unfinished by a Linux veth peer with transmit
 * checksum offload on (CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum and
 * the payload is not summed yet, a NIC was supposed to finish it).  Such a frame would be
 * dropped by the Linux receiver behind our other interface, so it is recognised (the field
 * equals the pseudo-header sum) and the TCP checksum is computed in full after the rewrite.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xok/proto/eth.h>
#include <xok/proto/ip.h>
#include <xok/proto/tcp.h>

/* A parsed IPv4/TCP frame (pointers into the frame). */
struct nat_pkt {
	uint8_t *frame;
	uint32_t len; /* bytes to transmit: Ethernet header + IP total length (no padding) */
	struct eth_hdr *eth;
	struct ip_hdr *ip;
	struct tcp_hdr *th;
	uint32_t tcp_len; /* TCP header + payload */
	uint32_t paylen;  /* TCP payload */
};

/* What a frame becomes.  Addresses and ports in network order. */
struct nat_rewrite {
	const uint8_t *dmac, *smac;
	uint32_t saddr, daddr;
	uint16_t sport, dport;
};

enum nat_parse_err {
	NAT_OK = 0,
	NAT_NOT_TCP,   /* not Ethernet II / IPv4 / TCP */
	NAT_MALFORMED, /* lengths that do not add up */
	NAT_TRUNCATED, /* longer than the ring entry: only part of it is here */
	NAT_FRAGMENT,  /* an IP fragment: ports are not (all) there */
};

/* Parses frame[0..caplen) of a frame whose original length was origlen. */
enum nat_parse_err nat_parse(uint8_t *frame, uint32_t caplen, uint32_t origlen, struct nat_pkt *p);

/* Whether the TCP checksum is an unfinished CHECKSUM_PARTIAL one (see above). */
bool nat_csum_is_partial(const struct nat_pkt *p);

/* Rewrites MACs, addresses and ports and patches both checksums (RFC 1624); with
 * `partial`, the TCP checksum is computed in full instead. */
void nat_apply(struct nat_pkt *p, const struct nat_rewrite *rw, bool partial);

/* ---- checksum arithmetic (RFC 1071, RFC 1624) ---- */
uint16_t nat_csum_fold(uint64_t sum);
/* Adds len bytes at data (host-order 16-bit words) to sum; not folded. */
uint64_t nat_csum_add(uint64_t sum, const void *data, size_t len);
/* The TCP pseudo-header (RFC 9293 §3.1), not folded. */
uint64_t nat_csum_pseudo(uint32_t saddr, uint32_t daddr, uint8_t proto, uint32_t len);
/* RFC 1624 Eqn. 3 over a precomputed delta: sum of ~old and new 16-bit words. */
uint16_t nat_csum_patch(uint16_t check, uint64_t delta);
/* The delta of replacing 32-bit (16-bit) word old by new. */
uint64_t nat_delta32(uint32_t oldv, uint32_t newv);
uint64_t nat_delta16(uint16_t oldv, uint16_t newv);
/* Full recomputations (the reference for tests, and the partial-checksum path). */
void nat_ip_csum_full(struct ip_hdr *ip);
void nat_tcp_csum_full(struct nat_pkt *p);

#endif /* XFWD_NAT_H */
