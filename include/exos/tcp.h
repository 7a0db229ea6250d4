/* tcp.h - libexos low-level TCP: event callbacks, zero-copy send and receive (§5.3) */
#ifndef EXOS_TCP_H
#define EXOS_TCP_H

/*
 * The packet-level TCP interface that specialised applications (cheetah, webswamp, the
 * forwarder) program against instead of sockets.
 *
 * Receive.  Data is handed to on_data in place: a pointer into the receive ring entry (or,
 * for data that arrived out of order or was not consumed earlier, into the stack's buffer),
 * valid only during the call.  on_data returns how many bytes it consumed; the stack keeps
 * the rest (copying it out of the ring), counts it against the receive window, and offers it
 * again first, at the next delivery or when the application calls exos_tcp_rx_resume().
 * With EXOS_TCP_F_MANUAL_WINDOW, consumed bytes also stay counted against the window until
 * exos_tcp_recved() (lwIP's tcp_recved) - for applications that keep the data.
 *
 * Send.  exos_tcp_send queues a reference to caller-owned memory in a registered region
 * (exos_region_create on exos_stack_sys(s)); nothing is copied.  The stack transmits and
 * retransmits straight from that memory and reports the request back through on_sent once
 * it is acknowledged and no frame in flight still refers to it: only then may the caller
 * reuse or unmap it (Cheetah's merged file cache and retransmission pool).  The caller may
 * supply the one's-complement sum of each csum_block-sized piece (exos_cksum_block); the
 * stack then combines them with the header and pseudo-header sums instead of reading the
 * data.  EXOS_TCP_SEND_FIN puts the FIN on the request's last segment.
 *
 * ACKs.  ACKs are sent after the callbacks for a batch of received segments return, so a
 * send from on_data/on_connected/on_close carries the ACK (packet merging).  Beyond that,
 * exos_tcp_ack_hold() holds the ACK for received data until the application's next segment
 * or the given bound, whichever comes first ("don't ACK the request separately").
 *
 * Loss recovery: SACK (RFC 2018) with RACK-TLP loss detection (RFC 8985), RFC 6675 recovery
 * paced by PRR (RFC 6937), NewReno (RFC 6582) for peers without SACK; RFC 5681 windows.
 *
 * Callbacks run inside exos_stack_poll/exos_stack_wait; on_sent and on_free may also run
 * at the end of an exos_tcp_* call made outside them (exos_tcp_abort's own on_free, for
 * one).  Callbacks may call any exos_tcp_* function, including exos_tcp_close and
 * exos_tcp_abort on the connection itself, but not exos_stack_poll/wait.  A handle stays
 * valid until its on_free callback, which is the last one it gets; after
 * exos_tcp_close/abort only on_sent (for outstanding requests) and on_free are called.
 */

#include <stddef.h>
#include <stdint.h>
#include <exos/exos.h>

struct exos_tcp;

struct exos_tcp_ops {
	/* A connection to a listener completed its handshake.  Return 0 to keep it (it inherits
	 * the listener's ops and arg unless exos_tcp_set_ops is called on it here), or a
	 * negative errno to reset it. */
	int (*on_accept)(struct exos_tcp *listener, struct exos_tcp *c, void *arg);
	/* An active open (exos_tcp_connect) completed. */
	void (*on_connected)(struct exos_tcp *c, void *arg);
	/* In-order data, in place; returns the bytes consumed (0..len). */
	size_t (*on_data)(struct exos_tcp *c, const void *data, size_t len, void *arg);
	/* A send request's memory is free again: `acked` bytes of it were acknowledged (less
	 * than its length only when the connection died first).  Requests are reported in
	 * order, once each; zero-length requests (a bare FIN) are not reported. */
	void (*on_sent)(struct exos_tcp *c, void *cookie, size_t acked, void *arg);
	/* The peer closed its direction (FIN after all its data): no more on_data. */
	void (*on_close)(struct exos_tcp *c, void *arg);
	/* The connection failed: -ECONNREFUSED, -ECONNRESET, -ETIMEDOUT, -EHOSTUNREACH,
	 * -ENETUNREACH.  on_sent for outstanding requests and on_free follow. */
	void (*on_error)(struct exos_tcp *c, int err, void *arg);
	/* Last callback: the handle is invalid once it returns. */
	void (*on_free)(struct exos_tcp *c, void *arg);
};

/* Options for listen and connect.  Zero means "the default" for every field. */
struct exos_tcp_opts {
	size_t sz;		/* sizeof(struct exos_tcp_opts) */
	uint32_t local_addr;	/* network order; 0: the stack's address (listen: any of ours) */
	uint16_t local_port;	/* host order; connect: 0 = random ephemeral port */
	uint16_t remote_port;	/* connect: host order */
	uint32_t remote_addr;	/* connect: network order */
	uint32_t backlog;	/* listen: connections in handshake (default 1024) */
	uint32_t rcvbuf;	/* receive window bytes (default 4 MiB) */
	uint32_t sndbuf;	/* EXOS_TCP_SEND_COPY limit, socket layer (default 4 MiB) */
	uint32_t flags;		/* EXOS_TCP_F_* */
};

#define EXOS_TCP_F_NAGLE	 0x01 /* Nagle's algorithm (off by default at this level) */
#define EXOS_TCP_F_MANUAL_WINDOW 0x02 /* consumed bytes reopen the window at exos_tcp_recved */
#define EXOS_TCP_F_NO_RX_CSUM	 0x04 /* don't verify received checksums */
#define EXOS_TCP_F_NO_SACK	 0x08 /* don't offer SACK (RFC 2018) */
#define EXOS_TCP_F_NO_TS	 0x10 /* don't offer timestamps (RFC 7323) */
#define EXOS_TCP_F_NO_WSCALE	 0x20 /* don't offer window scaling (RFC 7323) */
#define EXOS_TCP_F_KEEPALIVE	 0x40 /* probe idle connections (2 h, 75 s, 9 probes) */
#define EXOS_TCP_F_QUICKACK	 0x80 /* ACK every segment at once (no delayed ACKs) */
#define EXOS_TCP_F_NO_GSO	 0x100 /* one frame per segment even where xokd segments */

EXOS_API int exos_tcp_listen(struct exos_stack *s, const struct exos_tcp_opts *o,
			     const struct exos_tcp_ops *ops, void *arg, struct exos_tcp **out);
/* Starts an active open; on_connected or on_error reports the outcome. */
EXOS_API int exos_tcp_connect(struct exos_stack *s, const struct exos_tcp_opts *o,
			      const struct exos_tcp_ops *ops, void *arg, struct exos_tcp **out);
EXOS_API void exos_tcp_set_ops(struct exos_tcp *c, const struct exos_tcp_ops *ops, void *arg);

/* One send request. */
struct exos_tcp_sendreq {
	const void *data;	/* registered memory (unless EXOS_TCP_SEND_COPY) */
	size_t len;		/* may be 0 with EXOS_TCP_SEND_FIN */
	const uint16_t *csums;	/* optional: csums[i] = exos_cksum_block(data + i*csum_block, */
	uint32_t csum_block;	/*   min(csum_block, len - i*csum_block)); even, > 0 if csums */
	uint32_t flags;		/* EXOS_TCP_SEND_* */
	void *cookie;		/* handed back by on_sent */
};
#define EXOS_TCP_SEND_FIN  0x1 /* end of stream: the FIN rides on the last segment */
#define EXOS_TCP_SEND_MORE 0x2 /* more follows at once: hold back a partial last segment */
#define EXOS_TCP_SEND_COPY 0x4 /* copy into the stack's pool (bounded by sndbuf) */

/* Queues n requests and transmits what the windows allow.  Returns 0, -ENOTCONN (not yet
 * or no longer sending), -EPIPE (already shut down), -EFAULT (memory not registered),
 * -EINVAL, -ENOBUFS/-EAGAIN (COPY: no room). */
EXOS_API int exos_tcp_send(struct exos_tcp *c, const struct exos_tcp_sendreq *reqs,
			   unsigned n);
/* Transmits what EXOS_TCP_SEND_MORE held back. */
EXOS_API int exos_tcp_flush(struct exos_tcp *c);

/* Sends a FIN after the queued data; keeps receiving. */
EXOS_API int exos_tcp_shutdown(struct exos_tcp *c);
/* shutdown + the application is done with the handle: further data is discarded (and
 * answered with a reset, as Linux does).  on_sent and on_free still follow. */
EXOS_API int exos_tcp_close(struct exos_tcp *c);
/* Resets the connection (or closes the listener and resets its pending connections). */
EXOS_API void exos_tcp_abort(struct exos_tcp *c);

/* Holds the ACK for data received so far until this connection next transmits or max_us
 * passes (0: the delayed-ACK timeout, 40 ms). */
EXOS_API void exos_tcp_ack_hold(struct exos_tcp *c, uint32_t max_us);
/* Sends an ACK now if one is owed. */
EXOS_API void exos_tcp_ack_now(struct exos_tcp *c);

/* EXOS_TCP_F_MANUAL_WINDOW: n consumed bytes are no longer held by the application. */
EXOS_API void exos_tcp_recved(struct exos_tcp *c, size_t n);
/* Offers the data the stack kept (not consumed) to on_data again. */
EXOS_API int exos_tcp_rx_resume(struct exos_tcp *c);

/* Effective send MSS (payload bytes per segment, options excluded). */
EXOS_API uint32_t exos_tcp_mss(const struct exos_tcp *c);
/* Payload bytes of new data one frame may carry: the MSS, or a multiple of it where xokd
 * segments (XOK_IFF_TCP_GSO). Such frames carry only the pseudo-header sum: the segments'
 * checksums are computed where they are cut, so precomputed sums do not apply to them. */
EXOS_API uint32_t exos_tcp_frame_max(const struct exos_tcp *c);
/* Bytes queued and not yet acknowledged. */
EXOS_API size_t exos_tcp_unacked(const struct exos_tcp *c);

enum exos_tcp_state {
	EXOS_TCP_CLOSED = 0,
	EXOS_TCP_LISTEN,
	EXOS_TCP_SYN_SENT,
	EXOS_TCP_SYN_RCVD,
	EXOS_TCP_ESTABLISHED,
	EXOS_TCP_FIN_WAIT_1,
	EXOS_TCP_FIN_WAIT_2,
	EXOS_TCP_CLOSE_WAIT,
	EXOS_TCP_CLOSING,
	EXOS_TCP_LAST_ACK,
	EXOS_TCP_TIME_WAIT,
	EXOS_TCP_STATE_NR
};
EXOS_API const char *exos_tcp_state_name(enum exos_tcp_state st);

struct exos_tcp_info {
	enum exos_tcp_state state;
	uint32_t local_addr, remote_addr; /* network order */
	uint16_t local_port, remote_port; /* host order */
	uint32_t mss;
	uint32_t srtt_us, rttvar_us, rto_us;
	uint32_t cwnd, ssthresh;	  /* bytes */
	uint32_t snd_wnd, rcv_wnd;	  /* bytes */
	uint8_t snd_wscale, rcv_wscale;
	uint8_t ts_ok, sack_ok;
	uint32_t retransmits;		  /* consecutive timeouts */
	uint64_t total_retrans;		  /* segments retransmitted */
	uint64_t bytes_acked, bytes_received;
};
EXOS_API int exos_tcp_info(const struct exos_tcp *c, struct exos_tcp_info *out);

#endif /* EXOS_TCP_H */
