/* forge.h - building test frames (Ethernet/IPv4/TCP/UDP/ICMP) and parsing what the stack sent */
#ifndef EXOS_TEST_FORGE_H
#define EXOS_TEST_FORGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUR_IP	  "198.18.0.1"
#define PEER_IP	  "198.18.0.2"
#define GW_IP	  "198.18.0.254"
#define FAR_IP	  "203.0.113.9" /* off-subnet: via the gateway */
extern const uint8_t our_mac[6], peer_mac[6], gw_mac[6];

/* A TCP segment from a peer.  Zero addresses mean PEER_IP -> OUR_IP. */
struct forge_tcp {
	uint32_t saddr, daddr; /* network order */
	uint16_t sport, dport; /* host order */
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint16_t mss;	    /* 0: no MSS option */
	int wscale;	    /* < 0: no window scale option */
	bool sack_perm;
	bool ts;
	uint32_t tsval, tsecr;
	int nsack;
	uint32_t sack[4][2];
	const void *data;
	size_t len;
	unsigned ip_opts;   /* bytes of IP options (NOPs, then END), a multiple of 4 */
	uint16_t ip_id;
	uint16_t frag_off;  /* host order: IP_MF | offset/8 */
	bool bad_csum;
};
size_t forge_tcp(uint8_t *frame, const struct forge_tcp *f);

/* A UDP datagram from saddr:sport to daddr:dport (zero addresses: peer -> us). */
size_t forge_udp(uint8_t *frame, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
		 const void *data, size_t len);
/* An ICMP destination unreachable from `from` quoting ip (an IP datagram we sent). */
size_t forge_icmp_unreach(uint8_t *frame, uint32_t from, uint8_t code, const uint8_t *ip,
			  size_t iplen);
size_t forge_icmp_echo(uint8_t *frame, uint16_t id, uint16_t seq, const void *data, size_t len);
/* Fragment [off, off+n) of the IP datagram in `frame` (a whole Ethernet frame). */
size_t forge_fragment(uint8_t *out, const uint8_t *frame, size_t off, size_t n, bool more);

struct parsed_tcp_opts {
	int mss;    /* -1: absent */
	int wscale; /* -1: absent */
	bool sack_perm, ts;
	uint32_t tsval, tsecr;
	int nsack;
	uint32_t sack[4][2];
};

struct parsed {
	uint16_t ethertype;
	uint8_t dst[6], src[6];
	/* IPv4 */
	uint32_t saddr, daddr;
	uint8_t proto, ttl;
	uint16_t id, frag_off, tot_len;
	bool ip_csum_ok;
	/* TCP / UDP */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	struct parsed_tcp_opts opt;
	const uint8_t *payload;
	size_t len;
	bool csum_ok;
	/* ICMP */
	uint8_t icmp_type, icmp_code;
	/* ARP */
	uint16_t arp_op;
	uint32_t arp_spa, arp_tpa;
	uint8_t arp_sha[6];
	const uint8_t *ip; /* the IP header inside the frame */
	size_t iplen;
};
/* Parses a frame; returns 0, or -1 when it is not well formed. */
int parse_frame(const uint8_t *frame, size_t len, struct parsed *p);

uint32_t ip4(const char *dotted); /* network order */

#endif /* EXOS_TEST_FORGE_H */
