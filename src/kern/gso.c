/* gso.c - TCP segmentation offload: large TCP frames through a packet socket */

/*
 * AF_XDP moves one wire frame per descriptor, and on veth every one of them crosses the
 * whole receive path of the peer's stack by itself, where a Linux sender hands over one
 * 64 KB segment and lets the kernel (or the NIC) cut it.  So xokd offers the same to its
 * apps: a frame flagged XOK_TX_TCP_GSO is one large TCP segment that leaves through an
 * AF_PACKET socket with a virtio-net header (PACKET_VNET_HDR) asking for TCPv4
 * segmentation and the checksum; the kernel segments it, in the device if it can (a veth
 * passes it whole to its peer's stack), else in software on the way out.
 *
 * It is checked like every frame: the headers are copied into xokd's memory first, checked
 * there, and that copy is what is sent, so the app cannot change them afterwards; the
 * payload goes straight from the app's region into the kernel's buffer.  The send is
 * synchronous, so the frame has left (the notification is due) when sendmsg returns.
 * Frames still queued on the interface's AF_XDP socket go first, so that an app's frames
 * leave in the order it queued them.
 *
 * Not offered while --impair impairs transmission (it works on AF_XDP frames), with --no-gso, or
 * when the packet socket cannot be had.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>

#include "kern.h"

#define ETH_HDR	     14
#define GSO_HDR_MAX  (ETH_HDR + 60 + 60) /* Ethernet, IPv4 and TCP with all options */
#define GSO_SNDBUF   (8 << 20)
#define IP_PROTO_TCP 6

int gso_open(struct iface *ifc)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)ifc->ifindex};
	int one = 1, sndbuf = GSO_SNDBUF, fd;

	ifc->gso_fd = -1;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); /* protocol 0: receives nothing */
	if (fd < 0)
		return -errno;
	/* Through the device's queue, not around it (PACKET_QDISC_BYPASS): only that path
	 * segments in software when the device cannot (a veth whose peer runs XDP). */
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		int err = -errno;

		close(fd);
		return err;
	}
	/* room for a few 64 KB frames in flight; more than the default is not vital */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	ifc->gso_fd = fd;
	return 0;
}

void gso_close(struct iface *ifc)
{
	if (ifc->gso_fd >= 0)
		close(ifc->gso_fd);
	ifc->gso_fd = -1;
}

bool gso_avail(const struct xokd *x, const struct iface *ifc)
{
	return ifc->gso_fd >= 0 && !impair_tx_on(x) && !x->cfg.no_gso;
}

/* Copies the first n bytes of t's pieces into out. */
static void gather(const struct tx_frame *t, uint8_t *out, uint32_t n)
{
	for (uint32_t i = 0; i < t->npieces && n; i++) {
		uint32_t k = t->plen[i] < n ? t->plen[i] : n;

		memcpy(out, t->piece[i], k);
		out += k;
		n -= k;
	}
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The header length of a well-formed IPv4/TCP frame whose payload exceeds gso_size, or 0. */
static uint32_t tcp_headers(const uint8_t *h, uint32_t have, uint32_t len, uint16_t gso_size)
{
	uint32_t ihl, doff;

	if (have < ETH_HDR + 20 || be16(h + 12) != ETH_P_IP || (h[ETH_HDR] >> 4) != 4)
		return 0;
	ihl = (uint32_t)(h[ETH_HDR] & 0x0f) * 4;
	if (ihl < 20 || h[ETH_HDR + 9] != IP_PROTO_TCP || have < ETH_HDR + ihl + 20)
		return 0;
	if (be16(h + ETH_HDR + 2) != len - ETH_HDR || (be16(h + ETH_HDR + 6) & 0x3fff))
		return 0; /* the total length is the frame's; no fragment */
	doff = (uint32_t)(h[ETH_HDR + ihl + 12] >> 4) * 4;
	if (doff < 20 || ETH_HDR + ihl + doff > have)
		return 0;
	if (len - (ETH_HDR + ihl + doff) <= gso_size)
		return 0;
	return ETH_HDR + ihl + doff;
}

/* iov[] for the frame's bytes from `from` on (the payload), after `at` entries. */
static int payload_iov(const struct tx_frame *t, uint32_t from, struct iovec *iov, int at)
{
	for (uint32_t i = 0; i < t->npieces; i++) {
		if (from >= t->plen[i]) {
			from -= t->plen[i];
			continue;
		}
		iov[at].iov_base = (void *)(t->piece[i] + from);
		iov[at].iov_len = t->plen[i] - from;
		at++;
		from = 0;
	}
	return at;
}

int gso_send(struct xokd *x, struct app *a, const struct tx_frame *t, bool queued, uint32_t seq)
{
	uint8_t hdr[GSO_HDR_MAX];
	uint32_t have = t->len < sizeof(hdr) ? t->len : (uint32_t)sizeof(hdr), hlen;
	struct virtio_net_hdr vh = {0};
	struct iovec iov[2 + XOK_XMIT_PIECES];
	struct msghdr msg = {.msg_iov = iov};
	struct iface *ifc = t->ifc;
	int err;

	if (!gso_avail(x, ifc))
		return -EOPNOTSUPP;
	gather(t, hdr, have);
	hlen = tcp_headers(hdr, have, t->len, t->gso_size);
	if (!hlen)
		return -EINVAL;
	err = tx_check(x, a, ifc, hdr, hlen, queued, seq);
	if (err)
		return err;
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	vh.hdr_len = (uint16_t)hlen;
	vh.gso_size = t->gso_size;
	vh.csum_start = (uint16_t)(ETH_HDR + (hdr[ETH_HDR] & 0x0f) * 4);
	vh.csum_offset = 16; /* offsetof(struct tcphdr, check) */
	iov[0] = (struct iovec){&vh, sizeof(vh)};
	iov[1] = (struct iovec){hdr, hlen};
	msg.msg_iovlen = (size_t)payload_iov(t, hlen, iov, 2);
	if (ifc->nports)
		xport_tx_drain(ifc->ports[0]); /* what this app queued before goes first */
	if (sendmsg(ifc->gso_fd, &msg, MSG_DONTWAIT) < 0) {
		err = -errno;
		if (err == -EAGAIN || err == -ENOBUFS)
			return err; /* the caller retries it later */
		ifc->tx_errors++;
		return -EIO;
	}
	ifc->tx += (t->len - hlen + t->gso_size - 1) / t->gso_size;
	ifc->tx_bytes += t->len;
	ifc->tx_gso++;
	return 0;
}
