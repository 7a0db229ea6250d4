/* print.c - one tcpdump-style line per frame, never reading beyond the captured bytes */

/*
 * The format is tcpdump's with -n -S (numeric addresses and ports, absolute sequence
 * numbers): xokdump keeps no per-connection state and looks up no names.  Every header is
 * copied out of the frame with memcpy after have() has checked it lies within caplen;
 * a header cut short by the capture prints "[|proto]" as tcpdump does, a header whose own
 * length fields are impossible prints what is wrong with it.  Lengths printed are the
 * ones the headers claim (bounded by the frame's length on the wire), not the captured
 * ones, so a -s snapshot does not change them.
 */

#include <arpa/inet.h>
#include <string.h>
#include <time.h>
#include <xok/proto/arp.h>
#include <xok/proto/eth.h>
#include <xok/proto/icmp.h>
#include <xok/proto/ip.h>
#include <xok/proto/tcp.h>
#include <xok/proto/udp.h>
#include "xokdump.h"

#define ETH_TYPE_IPV6 0x86dd

/* Bytes [off, off + n) were captured. */
static bool have(const struct xd_frame *f, size_t off, size_t n)
{
	return off <= f->caplen && n <= f->caplen - off;
}

static void put_ip(struct sbuf *sb, uint32_t net_addr)
{
	uint32_t a = ntohl(net_addr);

	sb_printf(sb, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

static void put_mac(struct sbuf *sb, const uint8_t *m)
{
	sb_printf(sb, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void put_time(struct sbuf *sb, uint64_t rx_ns)
{
	time_t sec = (time_t)(rx_ns / 1000000000u);
	struct tm tm;

	if (!localtime_r(&sec, &tm)) {
		sb_printf(sb, "%llu ", (unsigned long long)rx_ns);
		return;
	}
	sb_printf(sb, "%02d:%02d:%02d.%06u ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		  (unsigned)(rx_ns % 1000000000u / 1000u));
}

/* ---- TCP ---- */

static const struct {
	uint8_t bit;
	char c;
} tcp_flag_chars[] = {
	{ TCP_FIN, 'F' }, { TCP_SYN, 'S' }, { TCP_RST, 'R' }, { TCP_PSH, 'P' },
	{ TCP_ACK, '.' }, { TCP_URG, 'U' }, { TCP_ECE, 'E' }, { TCP_CWR, 'W' },
};

static void put_tcp_flags(struct sbuf *sb, uint8_t flags)
{
	sb_printf(sb, "Flags [");
	for (size_t i = 0; i < sizeof(tcp_flag_chars) / sizeof(tcp_flag_chars[0]); i++)
		if (flags & tcp_flag_chars[i].bit)
			sb_putc(sb, tcp_flag_chars[i].c);
	if (flags == 0)
		sb_printf(sb, "none");
	sb_putc(sb, ']');
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/* One option's body (o[0] kind, o[1] length, both checked); false: malformed. */
static bool put_tcp_opt(struct sbuf *sb, const uint8_t *o, unsigned len)
{
	switch (o[0]) {
	case TCP_OPT_MSS:
		if (len != TCP_OPTLEN_MSS)
			return false;
		sb_printf(sb, "mss %u", (unsigned)o[2] << 8 | o[3]);
		return true;
	case TCP_OPT_WSCALE:
		if (len != TCP_OPTLEN_WSCALE)
			return false;
		sb_printf(sb, "wscale %u", o[2]);
		return true;
	case TCP_OPT_SACK_PERM:
		if (len != TCP_OPTLEN_SACK_PERM)
			return false;
		sb_printf(sb, "sackOK");
		return true;
	case TCP_OPT_TIMESTAMP:
		if (len != TCP_OPTLEN_TIMESTAMP)
			return false;
		sb_printf(sb, "TS val %u ecr %u", get32(o + 2), get32(o + 6));
		return true;
	case TCP_OPT_SACK:
		if (len < 2 || (len - 2) % 8)
			return false;
		sb_printf(sb, "sack %u ", (len - 2) / 8);
		for (unsigned i = 2; i < len; i += 8)
			sb_printf(sb, "{%u:%u}", get32(o + i), get32(o + i + 4));
		return true;
	default:
		sb_printf(sb, "unknown-%u", o[0]);
		if (len > 2)
			sb_printf(sb, " 0x");
		for (unsigned i = 2; i < len; i++)
			sb_printf(sb, "%02x", o[i]);
		return true;
	}
}

/* The options in [off, end) of the frame; end is within the TCP header. */
static void put_tcp_opts(struct sbuf *sb, const struct xd_frame *f, size_t off, size_t end)
{
	const uint8_t *d = f->data;
	char sep = '[';

	sb_printf(sb, ", options ");
	while (off < end) {
		unsigned len;

		sb_putc(sb, sep);
		sep = ',';
		if (!have(f, off, 1)) {
			sb_printf(sb, "|tcp]");
			return;
		}
		if (d[off] == TCP_OPT_END || d[off] == TCP_OPT_NOP) {
			sb_printf(sb, d[off] == TCP_OPT_END ? "eol" : "nop");
			if (d[off++] == TCP_OPT_END)
				break;
			continue;
		}
		if (!have(f, off, 2)) {
			sb_printf(sb, "|tcp]");
			return;
		}
		len = d[off + 1];
		/* A length the header cannot hold is malformed, captured or not. */
		if (len < 2 || off + len > end) {
			sb_printf(sb, "bad opt]");
			return;
		}
		if (!have(f, off, len)) {
			sb_printf(sb, "|tcp]");
			return;
		}
		if (!put_tcp_opt(sb, d + off, len)) {
			sb_printf(sb, "bad opt]");
			return;
		}
		off += len;
	}
	sb_putc(sb, ']');
}

/* The ports in front of every TCP or UDP header; returns false if not captured. */
static bool put_ports(struct sbuf *sb, const struct xd_frame *f, size_t off, uint32_t src,
		      uint32_t dst)
{
	uint16_t ports[2];

	if (!have(f, off, 4))
		return false;
	memcpy(ports, f->data + off, 4);
	put_ip(sb, src);
	sb_printf(sb, ".%u > ", ntohs(ports[0]));
	put_ip(sb, dst);
	sb_printf(sb, ".%u: ", ntohs(ports[1]));
	return true;
}

static void print_tcp(struct sbuf *sb, const struct xd_frame *f, size_t off, size_t l4len)
{
	struct tcp_hdr th;
	unsigned hlen;
	uint32_t plen;

	if (!have(f, off, sizeof(th))) {
		sb_printf(sb, "[|tcp]");
		return;
	}
	memcpy(&th, f->data + off, sizeof(th));
	hlen = tcp_hdr_len(&th);
	if (hlen < TCP_HDR_LEN) {
		sb_printf(sb, "[bad hdr length %u - too short, < %u]", hlen, TCP_HDR_LEN);
		return;
	}
	if (hlen > l4len) {
		sb_printf(sb, "[bad hdr length %u - too long, > %zu]", hlen, l4len);
		return;
	}
	plen = (uint32_t)(l4len - hlen);
	put_tcp_flags(sb, th.flags);
	if (plen > 0 || (th.flags & (TCP_SYN | TCP_FIN | TCP_RST)))
		sb_printf(sb, ", seq %u", ntohl(th.seq));
	if (plen > 0)
		sb_printf(sb, ":%u", ntohl(th.seq) + plen);
	if (th.flags & TCP_ACK)
		sb_printf(sb, ", ack %u", ntohl(th.ack));
	sb_printf(sb, ", win %u", ntohs(th.win));
	if (th.flags & TCP_URG)
		sb_printf(sb, ", urg %u", ntohs(th.urg));
	if (hlen > TCP_HDR_LEN)
		put_tcp_opts(sb, f, off + TCP_HDR_LEN, off + hlen);
	sb_printf(sb, ", length %u", plen);
}

/* ---- UDP ---- */

static void print_udp(struct sbuf *sb, const struct xd_frame *f, size_t off, size_t l4len)
{
	struct udp_hdr uh;
	unsigned ulen;

	if (!have(f, off, sizeof(uh))) {
		sb_printf(sb, "[|udp]");
		return;
	}
	memcpy(&uh, f->data + off, sizeof(uh));
	ulen = ntohs(uh.len);
	if (ulen < UDP_HDR_LEN)
		sb_printf(sb, "UDP, bad length %u < %u", ulen, UDP_HDR_LEN);
	else if (ulen > l4len)
		sb_printf(sb, "UDP, bad length %u > %zu", ulen, l4len);
	else
		sb_printf(sb, "UDP, length %u", ulen - UDP_HDR_LEN);
}

/* ---- ICMP ---- */

/* The datagram an ICMP error quotes: "198.18.0.1 udp port 9" style facts. */
struct icmp_quote {
	bool ok;      /* the quoted IPv4 header was captured */
	bool ports;   /* ... and its first 4 payload bytes */
	uint8_t proto;
	uint32_t dst; /* network order */
	uint16_t dport;
};

static void icmp_quote(const struct xd_frame *f, size_t off, struct icmp_quote *q)
{
	struct ip_hdr ip;
	uint16_t ports[2];

	memset(q, 0, sizeof(*q));
	if (!have(f, off, sizeof(ip)))
		return;
	memcpy(&ip, f->data + off, sizeof(ip));
	if (ip_hdr_len(&ip) < IP_HDR_LEN)
		return;
	q->ok = true;
	q->proto = ip.proto;
	q->dst = ip.daddr;
	if (have(f, off + ip_hdr_len(&ip), 4)) {
		memcpy(ports, f->data + off + ip_hdr_len(&ip), 4);
		q->ports = true;
		q->dport = ntohs(ports[1]);
	}
}

static void put_unreach(struct sbuf *sb, uint8_t code, const struct icmp_quote *q,
			const struct icmp_hdr *ih)
{
	const char *proto = q->proto == IP_PROTO_TCP ? "tcp" : "udp";

	if (!q->ok) {
		sb_printf(sb, "ICMP unreachable, code %u [|icmp]", code);
		return;
	}
	sb_printf(sb, "ICMP ");
	if (code == ICMP_NET_UNREACH || code == ICMP_HOST_UNREACH)
		sb_printf(sb, "%s ", code == ICMP_NET_UNREACH ? "net" : "host");
	put_ip(sb, q->dst);
	if (code == ICMP_PROT_UNREACH)
		sb_printf(sb, " protocol %u", q->proto);
	else if (code == ICMP_PORT_UNREACH && q->ports &&
		 (q->proto == IP_PROTO_TCP || q->proto == IP_PROTO_UDP))
		sb_printf(sb, " %s port %u", proto, q->dport);
	if (code == ICMP_FRAG_NEEDED)
		sb_printf(sb, " unreachable - need to frag (mtu %u)", ntohs(ih->un.frag.mtu));
	else if (code > ICMP_PORT_UNREACH)
		sb_printf(sb, " unreachable, code %u", code);
	else
		sb_printf(sb, " unreachable");
}

static void print_icmp(struct sbuf *sb, const struct xd_frame *f, size_t off, size_t l4len)
{
	struct icmp_hdr ih;
	struct icmp_quote q;

	if (!have(f, off, sizeof(ih))) {
		sb_printf(sb, "ICMP [|icmp]");
		return;
	}
	memcpy(&ih, f->data + off, sizeof(ih));
	switch (ih.type) {
	case ICMP_ECHO_REQUEST:
	case ICMP_ECHO_REPLY:
		sb_printf(sb, "ICMP echo %s, id %u, seq %u",
			  ih.type == ICMP_ECHO_REQUEST ? "request" : "reply", ntohs(ih.un.echo.id),
			  ntohs(ih.un.echo.seq));
		break;
	case ICMP_DEST_UNREACH:
		icmp_quote(f, off + ICMP_HDR_LEN, &q);
		put_unreach(sb, ih.code, &q, &ih);
		break;
	case ICMP_TIME_EXCEEDED:
		sb_printf(sb, "ICMP %s", ih.code == 0 ? "time exceeded in-transit"
						      : "ip reassembly time exceeded");
		break;
	default:
		sb_printf(sb, "ICMP type %u, code %u", ih.type, ih.code);
	}
	sb_printf(sb, ", length %zu", l4len);
}

/* ---- IPv4 ---- */

static void put_proto_name(struct sbuf *sb, uint8_t proto)
{
	if (proto == IP_PROTO_TCP || proto == IP_PROTO_UDP || proto == IP_PROTO_ICMP)
		sb_printf(sb, "%s", proto == IP_PROTO_TCP ? "tcp" : proto == IP_PROTO_UDP ? "udp"
											  : "icmp");
	else
		sb_printf(sb, "ip-proto-%u", proto);
}

/* Checks the header's own fields; prints the complaint and returns false if impossible. */
static bool ip_sane(struct sbuf *sb, const struct xd_frame *f, size_t off, const struct ip_hdr *ip)
{
	unsigned hlen = ip_hdr_len(ip), tot = ntohs(ip->tot_len);

	if (ip->ver_ihl >> 4 != IP_VERSION) {
		sb_printf(sb, "bad-version %u", ip->ver_ihl >> 4);
		return false;
	}
	if (hlen < IP_HDR_LEN) {
		sb_printf(sb, "bad-hlen %u", hlen);
		return false;
	}
	if (tot < hlen) {
		sb_printf(sb, "bad-len %u", tot);
		return false;
	}
	if (off + tot > f->len)
		sb_printf(sb, "truncated-ip - %zu bytes missing! ", off + tot - f->len);
	return true;
}

static void put_addrs(struct sbuf *sb, const struct ip_hdr *ip)
{
	put_ip(sb, ip->saddr);
	sb_printf(sb, " > ");
	put_ip(sb, ip->daddr);
	sb_printf(sb, ": ");
}

/* Anything but a first fragment of TCP, UDP or ICMP whose header was captured. */
static void print_ip_other(struct sbuf *sb, const struct ip_hdr *ip, size_t l4len)
{
	unsigned frag = ntohs(ip->frag_off);

	put_addrs(sb, ip);
	put_proto_name(sb, ip->proto);
	if (frag & (IP_OFFMASK | IP_MF))
		sb_printf(sb, " (frag %u:%zu@%u%s)", ntohs(ip->id), l4len,
			  (frag & IP_OFFMASK) * 8, frag & IP_MF ? "+" : "");
	else if (ip->proto == IP_PROTO_TCP || ip->proto == IP_PROTO_UDP)
		sb_printf(sb, " [|%s]", ip->proto == IP_PROTO_TCP ? "tcp" : "udp");
	sb_printf(sb, ", length %zu", l4len);
}

static void print_ip(struct sbuf *sb, const struct xd_frame *f, size_t off)
{
	struct ip_hdr ip;
	size_t hlen, l4len, end;
	bool first;

	sb_printf(sb, "IP ");
	if (!have(f, off, sizeof(ip))) {
		sb_printf(sb, "[|ip]");
		return;
	}
	memcpy(&ip, f->data + off, sizeof(ip));
	if (!ip_sane(sb, f, off, &ip))
		return;
	hlen = ip_hdr_len(&ip);
	/* The datagram ends where its header says, or where the frame ended on the wire. */
	end = off + ntohs(ip.tot_len) < f->len ? off + ntohs(ip.tot_len) : f->len;
	l4len = end > off + hlen ? end - off - hlen : 0;
	first = (ntohs(ip.frag_off) & IP_OFFMASK) == 0;
	if (first && ip.proto == IP_PROTO_ICMP) {
		put_addrs(sb, &ip);
		print_icmp(sb, f, off + hlen, l4len);
	} else if (first && (ip.proto == IP_PROTO_TCP || ip.proto == IP_PROTO_UDP) &&
		   put_ports(sb, f, off + hlen, ip.saddr, ip.daddr)) {
		if (ip.proto == IP_PROTO_TCP)
			print_tcp(sb, f, off + hlen, l4len);
		else
			print_udp(sb, f, off + hlen, l4len);
	} else {
		print_ip_other(sb, &ip, l4len);
	}
}

/* ---- ARP ---- */

static bool mac_is_zero(const uint8_t *m)
{
	static const uint8_t zero[ETH_ADDR_LEN];

	return !memcmp(m, zero, ETH_ADDR_LEN);
}

static void print_arp(struct sbuf *sb, const struct xd_frame *f, size_t off)
{
	struct arp_hdr a;
	size_t len = f->len > off ? f->len - off : 0;

	sb_printf(sb, "ARP, ");
	if (!have(f, off, sizeof(a))) {
		sb_printf(sb, "[|arp]");
		return;
	}
	memcpy(&a, f->data + off, sizeof(a));
	if (ntohs(a.htype) != ARP_HTYPE_ETHER || ntohs(a.ptype) != ETH_TYPE_IPV4 ||
	    a.hlen != ETH_ADDR_LEN || a.plen != 4) {
		sb_printf(sb, "hardware type %u, protocol 0x%04x, length %zu", ntohs(a.htype),
			  ntohs(a.ptype), len);
		return;
	}
	if (ntohs(a.op) == ARP_OP_REQUEST) {
		sb_printf(sb, "Request who-has ");
		put_ip(sb, a.tpa);
		if (!mac_is_zero(a.tha)) {
			sb_printf(sb, " (");
			put_mac(sb, a.tha);
			sb_putc(sb, ')');
		}
		sb_printf(sb, " tell ");
		put_ip(sb, a.spa);
	} else if (ntohs(a.op) == ARP_OP_REPLY) {
		sb_printf(sb, "Reply ");
		put_ip(sb, a.spa);
		sb_printf(sb, " is-at ");
		put_mac(sb, a.sha);
	} else {
		sb_printf(sb, "op %u", ntohs(a.op));
	}
	sb_printf(sb, ", length %zu", len);
}

/* ---- Ethernet ---- */

static const char *ethertype_name(uint16_t type)
{
	switch (type) {
	case ETH_TYPE_IPV4:
		return "IPv4";
	case ETH_TYPE_ARP:
		return "ARP";
	case ETH_TYPE_IPV6:
		return "IPv6";
	case ETH_TYPE_VLAN:
		return "802.1Q";
	default:
		return "Unknown";
	}
}

static void print_l3(struct sbuf *sb, const struct xd_frame *f, size_t off, uint16_t type)
{
	switch (type) {
	case ETH_TYPE_IPV4:
		print_ip(sb, f, off);
		break;
	case ETH_TYPE_ARP:
		print_arp(sb, f, off);
		break;
	case ETH_TYPE_IPV6:
		sb_printf(sb, "IP6, length %zu", f->len > off ? f->len - off : 0);
		break;
	default:
		sb_printf(sb, "ethertype %s (0x%04x), length %u", ethertype_name(type), type,
			  f->len);
	}
}

static void print_ether(struct sbuf *sb, const struct print_opts *o, const struct xd_frame *f)
{
	struct eth_hdr eh;
	size_t off = ETH_HDR_LEN;
	uint16_t type, tci;

	if (!have(f, 0, sizeof(eh))) {
		sb_printf(sb, "[|ether]");
		return;
	}
	memcpy(&eh, f->data, sizeof(eh));
	type = ntohs(eh.type);
	if (o->ether) {
		put_mac(sb, eh.src);
		sb_printf(sb, " > ");
		put_mac(sb, eh.dst);
		sb_printf(sb, ", ethertype %s (0x%04x), length %u: ", ethertype_name(type), type,
			  f->len);
	}
	if (type == ETH_TYPE_VLAN) {
		/* One 802.1Q tag: the real ethertype follows the tag control word. */
		if (!have(f, off, 4)) {
			sb_printf(sb, "[|vlan]");
			return;
		}
		tci = (uint16_t)(f->data[off] << 8 | f->data[off + 1]);
		type = (uint16_t)(f->data[off + 2] << 8 | f->data[off + 3]);
		sb_printf(sb, "vlan %u, p %u, ethertype %s (0x%04x), ", tci & 0x0fff, tci >> 13,
			  ethertype_name(type), type);
		off += 4;
	}
	print_l3(sb, f, off, type);
}

size_t print_frame(const struct print_opts *o, const struct xd_frame *f, char *buf,
		   size_t size)
{
	struct sbuf sb;

	if (size < 8) {
		if (size)
			buf[0] = '\0';
		return 0;
	}
	/* Two bytes held back for the newline and the NUL, whatever happens. */
	sb_init(&sb, buf, size - 1);
	if (!o->no_time)
		put_time(&sb, f->rx_ns);
	print_ether(&sb, o, f);
	if (sb.full)
		memcpy(buf + sb.len - 3, "...", 3);
	buf[sb.len++] = '\n';
	buf[sb.len] = '\0';
	return sb.len;
}
