/* stray.c - what strayd does with a frame nobody claimed */

/*
 * The checks, in order (RFC 1122 §3.2.2 and §4.2.2.9, RFC 9293 §3.10.7.1):
 *  1. an IPv4 frame with a sound header (version, length, header checksum);
 *  2. sent to us: a unicast Ethernet destination and one of xokd's addresses -- frames to
 *     broadcast or multicast addresses, or to hosts we are not, are never answered;
 *  3. from a possible single host (not 0, broadcast, multicast, loopback, class E, or our
 *     own address);
 *  4. not a fragment: without reassembly there is no checksum to trust and, past the
 *     first fragment, no transport header (fragments of a claimed datagram land here too);
 *  5. then by protocol, after verifying the transport checksum (see l4_csum_ok about
 *     Linux veth peers' partial checksums): an ICMP echo request gets
 *     an echo reply; other ICMP (errors especially) nothing; UDP a port unreachable; TCP a
 *     reset unless it is one; any other protocol a protocol unreachable.
 * Each reply spends a token of its class (errors, echo).
 */
#include <arpa/inet.h>
#include <string.h>

#include <xok/proto/icmp.h>
#include <xok/proto/tcp.h>
#include <xok/proto/udp.h>

#include "strayd.h"

const struct stray_iface *stray_iface(const struct strayd *d, uint32_t ifindex)
{
	for (unsigned i = 0; i < d->nifs; i++)
		if (d->ifs[i].ifindex == ifindex)
			return &d->ifs[i];
	return NULL;
}

static bool is_ours(const struct strayd *d, uint32_t addr)
{
	for (unsigned i = 0; i < d->nifs; i++)
		if (d->ifs[i].addr == addr)
			return true;
	return false;
}

static bool is_bcast_or_mcast(const struct strayd *d, uint32_t addr)
{
	uint32_t h = ntohl(addr);

	if (h == 0xffffffffu || (h >> 28) == 0xe)
		return true;
	for (unsigned i = 0; i < d->nifs; i++)
		if (d->ifs[i].mask != 0xffffffffu && (addr | d->ifs[i].mask) == 0xffffffffu &&
		    ((addr ^ d->ifs[i].addr) & d->ifs[i].mask) == 0)
			return true;
	return false;
}

static bool good_source(const struct strayd *d, uint32_t addr)
{
	uint32_t h = ntohl(addr);

	return h != 0 && (h >> 24) != 127 && (h >> 28) < 0xe && !is_bcast_or_mcast(d, addr) &&
	       !is_ours(d, addr);
}

/*
 * A transport checksum is good when it sums to zero -- or when it is a Linux veth peer's
 * CHECKSUM_PARTIAL placeholder (the folded pseudo-header sum, payload not yet summed) left
 * for a NIC that a frame redirected to AF_XDP never meets.  The libOS accepts those too
 * (src/libos/cksum.c); no frame that crossed a real wire looks like that.
 */
static bool l4_csum_ok(const struct ip_hdr *ip, const void *l4, size_t len, uint16_t check)
{
	uint32_t sum = csum_pseudo(ip->saddr, ip->daddr, ip->proto, (uint16_t)len);
	uint16_t partial = (uint16_t)~csum_fold(sum); /* the folded sum, network order */

	if (csum_fold(csum_add(sum, l4, len)) == 0)
		return true;
	return check == partial;
}

static const char *addr_str(uint32_t a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* Builds the reply with `build`'s result in a fresh buffer and sends it. */
static void reply(struct strayd *d, const struct stray_iface *ifc, const struct eth_hdr *eh,
		  const struct ip_hdr *ip, size_t ip_avail, uint8_t kind, uint8_t code)
{
	uint32_t *word;
	uint8_t *out;
	size_t len;

	if (!tx_allow(d, kind == ICMP_ECHO_REPLY ? STRAY_ECHO : STRAY_ERRORS))
		return;
	out = tx_get(d, &word);
	if (!out)
		return;
	switch (kind) {
	case ICMP_ECHO_REPLY:
		len = build_echo_reply(d, out, ip, ip_avail);
		break;
	case ICMP_DEST_UNREACH:
		len = build_icmp_error(d, out, ip, ip_avail, ICMP_DEST_UNREACH, code);
		break;
	default: /* TCP reset */
		len = build_rst(d, out, ip, ip_avail);
		break;
	}
	if (tx_send(d, ifc, out, len, word, ip->saddr, eh->src))
		return;
	if (kind == ICMP_ECHO_REPLY)
		d->st.echo_replies++;
	else if (kind == ICMP_DEST_UNREACH && code == ICMP_PORT_UNREACH)
		d->st.port_unreach++;
	else if (kind == ICMP_DEST_UNREACH)
		d->st.proto_unreach++;
	else
		d->st.resets++;
}

#define STRAY_RST 0xff /* reply kind: a TCP reset */

static void stray_icmp(struct strayd *d, const struct stray_iface *ifc,
		       const struct eth_hdr *eh, const struct ip_hdr *ip, size_t avail)
{
	size_t ihl = ip_hdr_len(ip);
	const struct icmp_hdr *ic = (const struct icmp_hdr *)((const uint8_t *)ip + ihl);

	if (avail - ihl < ICMP_HDR_LEN) {
		d->st.bad++;
		return;
	}
	if (ic->type != ICMP_ECHO_REQUEST || ic->code != 0) {
		d->st.ign_icmp++; /* never answer errors, replies or the rest */
		return;
	}
	if (csum_fold(csum_add(0, ic, avail - ihl)) != 0) {
		d->st.bad_csum++;
		return;
	}
	reply(d, ifc, eh, ip, avail, ICMP_ECHO_REPLY, 0);
}

static void stray_udp(struct strayd *d, const struct stray_iface *ifc, const struct eth_hdr *eh,
		      const struct ip_hdr *ip, size_t avail)
{
	size_t ihl = ip_hdr_len(ip);
	const struct udp_hdr *uh = (const struct udp_hdr *)((const uint8_t *)ip + ihl);
	char a[INET_ADDRSTRLEN];

	if (avail - ihl < UDP_HDR_LEN || ntohs(uh->len) < UDP_HDR_LEN ||
	    ntohs(uh->len) > avail - ihl) {
		d->st.bad++;
		return;
	}
	if (uh->check && !l4_csum_ok(ip, uh, ntohs(uh->len), uh->check)) {
		d->st.bad_csum++;
		return;
	}
	stray_log(d, 1, "port unreachable to %s:%u (udp port %u)", addr_str(ip->saddr, a),
		  ntohs(uh->sport), ntohs(uh->dport));
	reply(d, ifc, eh, ip, avail, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH);
}

static void stray_tcp(struct strayd *d, const struct stray_iface *ifc, const struct eth_hdr *eh,
		      const struct ip_hdr *ip, size_t avail)
{
	size_t ihl = ip_hdr_len(ip);
	const struct tcp_hdr *th = (const struct tcp_hdr *)((const uint8_t *)ip + ihl);
	char a[INET_ADDRSTRLEN];

	if (avail - ihl < TCP_HDR_LEN || tcp_hdr_len(th) < TCP_HDR_LEN ||
	    tcp_hdr_len(th) > avail - ihl) {
		d->st.bad++;
		return;
	}
	if (th->flags & TCP_RST) {
		d->st.ign_rst++; /* a reset is never answered */
		return;
	}
	if (!l4_csum_ok(ip, th, avail - ihl, th->check)) {
		d->st.bad_csum++;
		return;
	}
	stray_log(d, 1, "reset to %s:%u (tcp port %u, flags 0x%02x)", addr_str(ip->saddr, a),
		  ntohs(th->sport), ntohs(th->dport), th->flags);
	reply(d, ifc, eh, ip, avail, STRAY_RST, 0);
}

void stray_input(struct strayd *d, const uint8_t *frame, uint32_t caplen, uint32_t len,
		 uint32_t ifindex)
{
	const struct eth_hdr *eh = (const struct eth_hdr *)frame;
	const struct stray_iface *ifc;
	const struct ip_hdr *ip;
	size_t ihl, tot;

	d->st.rx++;
	if (caplen < ETH_HDR_LEN + IP_HDR_LEN || eh->type != htons(ETH_TYPE_IPV4)) {
		d->st.ign_not_ipv4++;
		return;
	}
	ip = (const struct ip_hdr *)(frame + ETH_HDR_LEN);
	ihl = ip_hdr_len(ip);
	tot = ntohs(ip->tot_len);
	if ((ip->ver_ihl >> 4) != IP_VERSION || ihl < IP_HDR_LEN || tot < ihl ||
	    ETH_HDR_LEN + tot > len || ETH_HDR_LEN + ihl > caplen) {
		d->st.bad++;
		return;
	}
	if (csum_fold(csum_add(0, ip, ihl)) != 0) {
		d->st.bad_csum++;
		return;
	}
	if ((eh->dst[0] & 1) || is_bcast_or_mcast(d, ip->daddr)) {
		d->st.ign_bcast++;
		return;
	}
	ifc = stray_iface(d, ifindex);
	if (!ifc || !is_ours(d, ip->daddr)) {
		d->st.ign_not_ours++;
		return;
	}
	if (!good_source(d, ip->saddr)) {
		d->st.ign_bad_src++;
		return;
	}
	if (ntohs(ip->frag_off) & (IP_MF | IP_OFFMASK)) {
		d->st.ign_frag++;
		return;
	}
	if (ETH_HDR_LEN + tot > caplen) {
		d->st.ign_truncated++; /* longer than our ring entries: cannot checksum it */
		return;
	}
	switch (ip->proto) {
	case IP_PROTO_ICMP:
		stray_icmp(d, ifc, eh, ip, tot);
		break;
	case IP_PROTO_UDP:
		stray_udp(d, ifc, eh, ip, tot);
		break;
	case IP_PROTO_TCP:
		stray_tcp(d, ifc, eh, ip, tot);
		break;
	default:
		reply(d, ifc, eh, ip, tot, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH);
		break;
	}
}
