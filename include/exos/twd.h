/* twd.h - the TIME_WAIT hand-off protocol between libexos and twd (§3.3 (3)) */
#ifndef EXOS_TWD_H
#define EXOS_TWD_H

/*
 * The paper's third approach to TIME_WAIT: "hand-off TIME_WAIT connections to a
 * special-purpose server when the process wants to terminate ... provide the server with
 * the few relevant TCP control block values, give the corresponding DPF filter to the
 * server, and switch its association from the application's packet ring to the server's".
 *
 * Transport: an AF_UNIX SOCK_SEQPACKET connection to twd (TWD_SOCKET_DEFAULT, overridden
 * by $TWD_SOCKET_ENV).  Every message is a struct twd_hdr followed by its body; all
 * fields are host order except addresses and ports, which are network order as on the
 * wire; pads are zero.  Times are CLOCK_MONOTONIC nanoseconds: twd runs on the same host.
 *
 * HANDOFF (client -> twd): `count` (1..TWD_BATCH_MAX) struct twd_rec.  twd takes a
 * reference to each record's filter with its capability and re-points the filter to its
 * own ring (XOK_OP_DPF_REF with ring != 0), then answers ACK.  Only after the ACK may the
 * client exit: until twd holds its reference, the client's is the one keeping the filter.
 * A record names either the connection's own 4-tuple filter or, for connections that a
 * listener's filter demultiplexed (TWD_F_PORT), the listener's filter: twd then holds
 * the whole port, answers the segments of the connections it knows and resets the rest
 * (the port is closed: its application is gone), until its last connection there ends
 * or an application asks for the port back (TAKE).  Active opens that took their ports
 * from a block of ephemeral ports (TWD_F_BLOCK) travel with the block's filter, which twd
 * holds the same way (nobody takes a block back).
 *
 * ACK (twd -> client): `count` records taken; `taken` has bit i set for record i taken
 * (bit i % 64 of word i / 64).  A record not taken stays the client's problem.  `status`
 * is 0, or -errno when the whole message was refused (bad magic, version, length).
 *
 * TAKE (client -> twd): a struct twd_take: an application wants to listen on a port whose
 * filter twd holds (its insert failed with EEXIST or EBUSY).  twd answers PORT.
 *
 * PORT (twd -> client): a struct twd_port and `count` struct twd_rec: the connections
 * twd still holds on the port (TIME_WAIT ones are worth adopting); more PORT messages
 * follow while `count` is TWD_BATCH_MAX.  `status`:
 *   0        - the port's filter is in `port`; present the capability with DPF_REF and
 *              your ring, adopt the records, then send DONE.  twd stops answering for
 *              them at once and drops its reference when DONE (or the disconnect) comes.
 *   -ENOENT  - twd holds nothing there (any more): insert your own.  A filter twd held
 *              for another local address on that port was released first (it would
 *              shadow or be shadowed by the new listener's).
 * DONE (client -> twd): an empty body.
 */

#include <stdint.h>
#include <xok/abi.h>

#define TWD_MAGIC	   0x54574431u /* "TWD1" */
#define TWD_VERSION	   1
#define TWD_SOCKET_DEFAULT "/run/xok/twd.sock"
#define TWD_SOCKET_ENV	   "XOK_TWD_SOCKET"
#define TWD_BATCH_MAX	   256 /* records per HANDOFF or PORT message */

enum twd_msg_type {
	TWD_MSG_HANDOFF = 1,
	TWD_MSG_ACK,
	TWD_MSG_TAKE,
	TWD_MSG_PORT,
	TWD_MSG_DONE,
	TWD_MSG_NR
};

struct twd_hdr {
	uint32_t magic;	  /* TWD_MAGIC */
	uint16_t version; /* TWD_VERSION */
	uint16_t type;	  /* enum twd_msg_type */
	uint32_t seq;	  /* the client's; echoed in the answer */
	uint32_t count;	  /* records that follow (HANDOFF, PORT) or taken (ACK) */
	int32_t status;	  /* answers: 0 or -errno */
	uint32_t pad;
	uint64_t now_ns;  /* the sender's CLOCK_MONOTONIC when it sent the message */
};
_Static_assert(sizeof(struct twd_hdr) == 32, "twd_hdr is protocol");

#define TWD_F_TS   0x01 /* timestamps (RFC 7323) in use: send TSval/TSecr */
#define TWD_F_MAC  0x02 /* rmac is the next hop's address (else: reply to the frame's source) */
#define TWD_F_PORT 0x04 /* `filter` is a listener's port filter shared by several records */
#define TWD_F_BLOCK 0x08 /* `filter` is a block of ephemeral ports shared by several records */
#define TWD_F_ALL  0x0f

/*
 * One connection.  Its FIN is `fin_seq`; the FIN has been sent when snd_nxt == fin_seq + 1
 * and acknowledged when snd_una == fin_seq + 1 (no data is ever outstanding: the client
 * drains data before it hands a connection over).  States (enum exos_tcp_state):
 *   FIN_WAIT_1  our FIN unacknowledged (or unsent), the peer's not received;
 *   FIN_WAIT_2  our FIN acknowledged, waiting for the peer's until `expire_ns`;
 *   CLOSING     both FINs sent, ours unacknowledged;
 *   LAST_ACK    the peer's FIN received first, ours unacknowledged;
 *   TIME_WAIT   both done; the 4-tuple stays quarantined until `expire_ns` (entered at
 *               `since_ns`; twd ends it earlier if its own 2*MSL from since_ns is shorter).
 */
struct twd_rec {
	uint32_t laddr, raddr;	   /* IPv4, network order */
	uint16_t lport, rport;	   /* network order */
	uint32_t ifindex;	   /* the interface the connection uses */
	uint8_t lmac[6], rmac[6];  /* our interface's MAC; the next hop's (TWD_F_MAC) */
	uint8_t state;		   /* enum exos_tcp_state, one of the five above */
	uint8_t flags;		   /* TWD_F_* */
	uint8_t rcv_wscale;	   /* our window scale (0..14) */
	uint8_t retries;	   /* FIN retransmissions already made */
	uint16_t win;		   /* the window field we advertise (already scaled) */
	uint16_t pad;
	uint32_t snd_una, snd_nxt; /* oldest unacknowledged, next to send (host order) */
	uint32_t fin_seq;	   /* our FIN's sequence number */
	uint32_t rcv_nxt;	   /* next expected from the peer (its FIN counted once in) */
	uint32_t ts_recent;	   /* TF_TS: the peer's last TSval, echoed as TSecr */
	uint32_t ts_offset;	   /* TF_TS: our TSval = CLOCK_MONOTONIC ms + ts_offset */
	uint32_t rto_ms;	   /* FIN retransmission timeout (before backoff) */
	uint64_t expire_ns;	   /* TIME_WAIT, FIN_WAIT_2: when the state ends; else 0 */
	uint64_t since_ns;	   /* TIME_WAIT: when it was entered; else 0 */
	uint32_t filter;	   /* the DPF filter that delivers the connection's segments */
	uint32_t port_laddr;	   /* TWD_F_PORT: the listener's local address (0 = any) */
	struct xok_cap cap;	   /* its capability */
};
_Static_assert(sizeof(struct twd_rec) == 104, "twd_rec is protocol");

struct twd_ack {
	uint64_t taken[TWD_BATCH_MAX / 64];
};
_Static_assert(sizeof(struct twd_ack) == 32, "twd_ack is protocol");

struct twd_take {
	uint32_t laddr; /* network order; 0 = any local address */
	uint16_t lport; /* network order */
	uint16_t pad;
};
_Static_assert(sizeof(struct twd_take) == 8, "twd_take is protocol");

struct twd_port {
	uint32_t filter;
	uint32_t pad;
	struct xok_cap cap;
};
_Static_assert(sizeof(struct twd_port) == 24, "twd_port is protocol");

/* The largest message: a PORT answer with a full batch. */
#define TWD_MSG_MAX \
	(sizeof(struct twd_hdr) + sizeof(struct twd_port) + TWD_BATCH_MAX * sizeof(struct twd_rec))

#endif /* EXOS_TWD_H */
