/* tcp_int.h - TCP's private internals: the PCB, send requests, and the cross-file
 * functions of tcp*.c grouped by file */
#ifndef EXOS_TCP_INT_H
#define EXOS_TCP_INT_H

#include <exos/tcp.h>
#include <xok/proto/tcp.h>

#include "libos.h"

/* Sequence-space comparisons (RFC 9293 3.4): modulo 2^32. */
#define SEQ_LT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)
#define SEQ_MAX(a, b) (SEQ_GT(a, b) ? (a) : (b))
#define SEQ_MIN(a, b) (SEQ_LT(a, b) ? (a) : (b))

/* Bytes of headers a TCP frame starts with (no IP options). */
#define TCP_FRAME_HDR (ETH_HDR_LEN + IP_HDR_LEN + TCP_HDR_LEN)
#define TCP_OPT_TS_ALIGNED 12 /* NOP NOP TS */
#define TCP_OPT_MAX	   40 /* options a TCP header holds at most */

/*
 * A send request: a run of bytes in sequence space [seq, seq+len) that lives in registered
 * memory - the application's (zero copy) or one of our packet buffers (copies: the socket
 * layer, EXOS_TCP_SEND_COPY).  Acknowledged requests leave the queue once no frame in
 * flight gathers from them (refs == 0); then on_sent reports them.
 */
#define SREQ_POOL   0x1 /* data is our pbuf */
#define SREQ_REPORT 0x2 /* call on_sent when released */
#define SREQ_ACKED  0x4 /* fully acknowledged (or the connection died) */
#define SREQ_CSUM_BLOCK 64
struct tcp_sreq {
	struct tcp_sreq *next;
	struct exos_tcp *pcb;
	const uint8_t *data;
	uint32_t seq;
	uint32_t len;
	const uint16_t *csums;
	uint32_t csum_block;
	uint16_t refs;
	uint8_t flags;
	uint8_t pad;
	uint32_t report_len; /* bytes on_sent reports (a split COPY request: the last piece) */
	uint32_t req_seq;    /* where the reported request starts */
	void *cookie;
	/* SREQ_POOL: the sums of SREQ_CSUM_BLOCK-byte blocks, computed while copying (the
	 * data is in cache then; at transmission time, with a large window, it is not). */
	uint16_t blk[PBUF_SIZE / SREQ_CSUM_BLOCK];
};

/* Received data kept by the stack (not consumed, or out of order), in a packet buffer. */
struct rxseg {
	struct rxseg *next;
	uint32_t seq;
	uint16_t off, len;
	uint8_t fin; /* out of order: a FIN follows the data */
	uint8_t pad[3];
	uint8_t *buf;
};

struct sack_block {
	uint32_t start, end;
};

/* One segment of the transmission log: what SACK and RACK reason about. */
#define TXR_SACKED 0x1
#define TXR_LOST   0x2 /* presumed lost, not yet retransmitted */
#define TXR_RTX	   0x4 /* retransmitted at least once */
struct tcp_txrec {
	uint32_t seq, end; /* sequence space (a FIN counts) */
	uint64_t xmit;	   /* last (re)transmission, ns */
	uint32_t flags;
	uint32_t pad;
};

/* TF_*: pcb->flags */
#define TF_ACK_NOW	0x00000001 /* an ACK must go out at the end of this batch */
#define TF_ACK_DELAYED	0x00000002 /* an ACK is owed: delayed-ACK timer running */
#define TF_FIN_QUEUED	0x00000004 /* the application ended its stream (fin_seq valid) */
#define TF_TS_OK	0x00000008 /* timestamps negotiated */
#define TF_SACK_OK	0x00000010 /* SACK negotiated */
#define TF_WS_OK	0x00000020 /* window scaling negotiated */
#define TF_RX_FIN	0x00000040 /* the peer's FIN arrived (in order) */
#define TF_APP_CLOSED	0x00000080 /* exos_tcp_close/abort: detached from the application */
#define TF_ERRORED	0x00000100 /* on_error delivered */
#define TF_MORE		0x00000200 /* EXOS_TCP_SEND_MORE: hold back a partial segment */
#define TF_PASSIVE	0x00000400 /* created by a listener */
#define TF_RTT_TIMING	0x00000800 /* a segment is being timed (rtt_seq, rtt_start) */
#define TF_FORCE	0x00001000 /* persist probe: send one byte past the window */
#define TF_DEAD		0x00002000 /* CLOSED: freed once nothing refers to it */
#define TF_FREED	0x00004000 /* on_free delivered */
#define TF_DELIVERING	0x00008000 /* inside on_data: don't re-enter delivery */
#define TF_CLOSE_NOTIFY 0x00010000 /* on_close owed once queued data is delivered */
#define TF_SYN_OWED	0x00020000 /* our SYN (SYN-ACK) found no room to go out: retry soon */
#define TF_ACK_HELD	0x00080000 /* exos_tcp_ack_hold in force until ack_hold_until */
#define TF_PTO		0x00200000 /* t_rtx is a tail loss probe (RFC 8985 7), not the RTO */

/* pcb->lists: which stack lists the PCB is on */
#define TL_HASH 0x1
#define TL_ACK	0x2
#define TL_OUT	0x4
#define TL_DEAD 0x8
#define TL_REL	0x10 /* acknowledged requests became free: run on_sent */

enum tcp_cc_state {
	CC_OPEN = 0,
	CC_RECOVERY, /* fast recovery (SACK RFC 6675, or NewReno RFC 6582) */
	CC_LOSS,     /* after an RTO: everything outstanding presumed lost */
};

struct tcp_pblock;

struct exos_tcp {
	struct exos_stack *s;
	struct exos_tcp *hnext;	   /* 4-tuple hash chain, or the listener list */
	struct exos_tcp *listener; /* SYN_RCVD: the listener that created us */
	struct exos_tcp *ack_next, *out_next, *dead_next, *rel_next;
	uint32_t laddr, raddr; /* network order; listener laddr 0 = any of ours */
	uint16_t lport, rport; /* network order */
	uint8_t state;	       /* enum exos_tcp_state */
	uint8_t lists;	       /* TL_* */
	uint8_t cc_state;      /* enum tcp_cc_state */
	uint8_t retries;       /* consecutive RTOs / SYN retries */
	uint32_t flags;	       /* TF_* */
	uint32_t opt_flags;    /* EXOS_TCP_F_* */
	const struct exos_tcp_ops *ops;
	void *arg;
	const struct exos_iface *ifc;
	int soft_err;	     /* last ICMP error, for SO_ERROR and connect failures */
	uint32_t filter_id;  /* our DPF filter (listener, active open), 0 = none */
	struct xok_cap filter_cap; /* its capability (handed to twd at exit) */
	uint32_t icmp_filter;
	struct tcp_pblock *pblock; /* active open: the port block its port is from */
	void *sock;	     /* the socket layer's object, if any */

	/* listener */
	uint32_t backlog, nembryo, naccq; /* naccq: accepted, not yet taken (socket layer) */

	/* send side */
	uint32_t iss, snd_una, snd_nxt, snd_max;
	uint32_t snd_wnd, max_snd_wnd, snd_wl1, snd_wl2;
	uint32_t snd_end; /* after the last queued byte */
	uint32_t fin_seq; /* TF_FIN_QUEUED: the FIN's sequence number */
	uint32_t sndbuf, sq_copy_bytes;
	uint16_t mss;	   /* send MSS: payload per segment, options excluded */
	uint16_t peer_mss; /* as offered */
	uint8_t snd_wscale, rcv_wscale;
	uint8_t persist_shift, keep_probes;
	struct tcp_sreq *sq_head, *sq_tail;
	struct tcp_sreq *sq_hint; /* a request at or before snd_nxt's (search start) */
	struct tcp_sreq *sq_unacked; /* the first request not yet acknowledged, or NULL */

	/* receive side */
	uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge of the advertised window */
	uint32_t rcvbuf;
	uint32_t rx_held; /* EXOS_TCP_F_MANUAL_WINDOW: consumed but not yet recved */
	uint32_t rxq_bytes, ooq_bytes, ooq_segs;
	struct rxseg *rxq_head, *rxq_tail; /* in order, not consumed */
	struct rxseg *ooq_head, *ooq_tail; /* out of order, sorted, disjoint */
	struct sack_block rsack[TCP_SACK_BLOCKS_MAX]; /* to report, most recent first */
	uint8_t nrsack;
	uint8_t unacked_segs;
	uint64_t ack_hold_until;
	uint32_t last_ack_sent;

	/* timestamps (RFC 7323) */
	uint32_t ts_recent, ts_offset;
	uint64_t ts_recent_at;

	/* RTT and RTO (RFC 6298), in ns */
	uint64_t srtt, rttvar, rto;
	uint32_t rtt_seq;
	uint64_t rtt_start;

	/* congestion control (RFC 5681, 6582, 6675) and loss detection (RFC 8985) */
	uint32_t cwnd, ssthresh, ca_acked;
	uint32_t dupacks;
	uint32_t recover;	  /* RecoveryPoint */
	struct tcp_txrec *txr;	  /* the transmission log: a ring of segments in flight */
	uint32_t txr_cap, txr_head, txr_n;
	uint32_t txr_lost_hint;	  /* no LOST record before this index */
	uint32_t sacked_bytes;	  /* in SACKED records */
	uint32_t lost_bytes;	  /* in LOST records (not yet retransmitted) */
	uint32_t sacked_segs;
	uint32_t fack;		  /* highest SACKed/ACKed sequence number + 1 */
	uint64_t rack_xmit;	  /* RACK: send time of the most recently sent delivered segment */
	uint64_t rack_rtt, min_rtt;
	uint32_t rack_end;
	bool rack_advanced, reord_seen;
	uint8_t reo_steps;	  /* reordering window multiplier, raised by D-SACKs */
	uint32_t prr_delivered, prr_out, recover_fs; /* RFC 6937 */
	bool tlp_out;		  /* a tail loss probe is unanswered */
	uint32_t tlp_high;

	/* timers: one heap slot at the earliest of these (0 = off) */
	struct exos_timer timer;
	uint64_t t_rtx, t_persist, t_delack, t_keep, t_conn, t_reo;

	/* header template: Ethernet + IPv4 + TCP ports, and the pseudo-header sum */
	uint8_t tmpl[TCP_FRAME_HDR];
	uint32_t tmpl_pseudo;
	uint32_t nexthop;
	uint32_t arp_version; /* table version tmpl's destination MAC was read at */
	bool mac_ok;
	uint16_t ip_id;

	/* RFC 5961 challenge-ACK rate limit */
	uint64_t chal_start;
	uint32_t chal_count;

	uint64_t total_retrans, bytes_acked, bytes_received;
};

/* Parsed options of a received segment. */
struct tcp_opts {
	uint16_t mss;	/* 0: absent */
	int8_t wscale;	/* -1: absent */
	bool sack_ok;
	bool ts;
	uint32_t tsval, tsecr;
	uint8_t nsack;
	struct sack_block sack[TCP_SACK_BLOCKS_MAX];
};

/* A received segment, as tcp_in.c passes it around (no file-static "current segment"). */
struct tcp_seg {
	const struct ip_hdr *ip;
	const struct tcp_hdr *th;
	const uint8_t *data; /* payload */
	uint32_t len;	     /* payload bytes */
	uint32_t seq, ack;   /* host order */
	uint32_t wnd;	     /* raw (unscaled) */
	uint8_t flags;
	struct tcp_opts opt;
};

struct tcp_tw;
struct twd_rec;

/* A segment sent without a connection: resets, TIME_WAIT ACKs. */
struct tcp_ctl {
	uint32_t laddr, raddr; /* network order */
	uint16_t lport, rport; /* network order */
	uint32_t seq, ack;
	uint8_t flags;
	bool ts;
	uint16_t win;
	uint32_t tsval, tsecr;
};

struct tcp_state {
	struct exos_tcp **htab; /* connections by 4-tuple */
	uint32_t hmask, hcount;
	struct exos_tcp *listeners;
	struct tcp_tw **twtab; /* TIME_WAIT blocks by 4-tuple */
	uint32_t twmask, twcount;
	struct tcp_tw *tw_head, *tw_tail; /* by expiry */
	struct exos_timer tw_timer;
	struct exos_tcp *ack_list, *out_list, *dead_list, *rel_list;
	struct tcp_ctl ctl_held[TCP_CTL_HELD]; /* stateless segments that found no room */
	uint32_t nctl_held;
	struct slab pcb_slab, tw_slab;
	bool in_batch;
	uint64_t msl_ns; /* TIME_WAIT lasts 2 * msl_ns (TCP_MSL_NS, $EXOS_TCP_MSL_MS) */
	struct tcp_pblock *pblocks; /* ephemeral port blocks (tcp_port.c) */
	struct exos_timer pblock_timer; /* returns blocks empty for TCP_PBLOCK_LINGER_NS */
	uint32_t hash_seed;
	uint8_t isn_key[16];
};

static inline bool tcp_synchronized(const struct exos_tcp *c)
{
	return c->state >= EXOS_TCP_ESTABLISHED;
}

void tcp_defer(struct exos_tcp *c, uint8_t list);
/* Sends the stateless segments held while xokd's queue was full (tcp_xmit_ctl). */
void tcp_ctl_retry(struct exos_stack *s);

/* An ACK must go at the end of this batch. */
static inline void tcp_ack_now(struct exos_tcp *c)
{
	c->flags |= TF_ACK_NOW;
	tcp_defer(c, TL_ACK);
}

/* The window a segment must fall in: what we advertised. */
static inline uint32_t tcp_rwnd(const struct exos_tcp *c)
{
	return SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
}

/* Bytes in flight by sequence space. */
static inline uint32_t tcp_flight(const struct exos_tcp *c)
{
	return c->snd_max - c->snd_una;
}

/* The retransmission timeout in force: the estimate, doubled for each consecutive timeout
 * (RFC 6298 5.5); an ACK of new data ends the backoff (retries = 0), as in BSD. */
static inline uint64_t tcp_rto_cur(const struct exos_tcp *c)
{
	uint64_t r = c->rto << MIN(c->retries, 16);
	return MIN(r, TCP_RTO_MAX_NS);
}

/* ---- tcp.c ---- */
int tcp_init(struct exos_stack *s);
void tcp_destroy(struct exos_stack *s);
struct exos_tcp *tcp_pcb_new(struct exos_stack *s);
void tcp_set_state(struct exos_tcp *c, enum exos_tcp_state st);
struct exos_tcp *tcp_lookup(struct exos_stack *s, uint32_t laddr, uint16_t lport,
			    uint32_t raddr, uint16_t rport);
struct exos_tcp *tcp_listener_lookup(struct exos_stack *s, uint32_t laddr, uint16_t lport);
int tcp_hash_insert(struct exos_tcp *c);
void tcp_hash_remove(struct exos_tcp *c);
uint32_t tcp_hash4(const struct tcp_state *t, uint32_t laddr, uint16_t lport, uint32_t raddr,
		   uint16_t rport);
int tcp_template_init(struct exos_tcp *c);
/* The connection is over (CLOSED): error err (< 0) reported if the application still
 * holds it, outstanding requests released, the PCB freed when nothing refers to it. */
void tcp_done(struct exos_tcp *c, int err);
void tcp_maybe_free(struct exos_tcp *c);
void tcp_defer(struct exos_tcp *c, uint8_t list); /* TL_ACK / TL_OUT / TL_REL / TL_DEAD */
void tcp_end_batch(struct exos_stack *s);
void tcp_icmp_error(struct exos_stack *s, int err, const struct ip_hdr *inner,
		    const uint8_t *l4, size_t len);
void tcp_accept_established(struct exos_tcp *c);
/* Closes listener l for good (its live connections get filters of their own, its TIME_WAIT
 * blocks go to twd when it runs). */
void tcp_listener_release(struct exos_tcp *l);
/* Process exit: every connection the application still holds is closed as if its
 * descriptor were (detached first: no more callbacks); embryonic ones are reset. */
void tcp_exit_close_all(struct exos_stack *s);
/* Connections still sending data (or a FIN not yet sent): exit drains them first. */
uint32_t tcp_exit_draining(struct exos_stack *s);
/* Closing connections of any kind (PCBs past ESTABLISHED and TIME_WAIT blocks). */
uint32_t tcp_closing_count(struct exos_stack *s);
/* Lingering after exit: closes every listener (the port is free for the next process) and
 * forgets the TIME_WAIT blocks nothing delivers any more. */
void tcp_exit_release_ports(struct exos_stack *s);
/* c's record for twd (false: not hand-over material: data still outstanding, or no
 * filter delivers it). */
bool tcp_pcb_rec(struct exos_tcp *c, struct twd_rec *r);
/* twd took c: forget it without a word on the wire (drop_ref: and our filter reference). */
void tcp_pcb_forget(struct exos_tcp *c, bool drop_ref);
void tcp_arp_failed(struct exos_stack *s, uint32_t addr); /* nexthop unresolvable */

/* The 4-tuple has a connection or a TIME_WAIT block. */
bool tcp_tuple_busy(struct exos_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
		    uint16_t rport);

/* ---- tcp_in.c ---- */
void tcp_input(struct exos_stack *s, const struct exos_iface *ifc, const struct ip_hdr *ip,
	       const uint8_t *p, size_t len);
int tcp_parse_opts(const struct tcp_hdr *th, struct tcp_opts *o);
void tcp_fin_in(struct exos_tcp *c); /* the peer's FIN is next in sequence */

/* ---- tcp_rxq.c ---- */
uint32_t tcp_rcv_wnd(const struct exos_tcp *c); /* bytes we can take beyond rcv_nxt */
void tcp_rx_free(struct exos_tcp *c);		 /* drops kept data (close, abort) */
/* In-order payload at rcv_nxt: in place to on_data, the rest kept.  False: no buffers to
 * keep it; the segment is dropped (nothing advanced). */
bool tcp_rx_inorder(struct exos_tcp *c, const uint8_t *data, uint32_t len);
int tcp_ooq_insert(struct exos_tcp *c, uint32_t seq, const uint8_t *data, uint32_t len,
		   bool fin);
void tcp_ooq_drain(struct exos_tcp *c); /* rcv_nxt reached queued data: deliver it */
void tcp_ooq_purge(struct exos_tcp *c);
void tcp_rsack_note(struct exos_tcp *c, uint32_t seq); /* an out-of-order arrival */
/* Socket layer: copies up to len kept in-order bytes out (and reopens the window). */
size_t tcp_rxq_read(struct exos_tcp *c, void *buf, size_t len, bool peek);
void tcp_deliver(struct exos_tcp *c);
void tcp_window_update(struct exos_tcp *c);

/* ---- tcp_out.c ---- */
/* Payload one frame may carry: a segment, or whole segments xokd cuts (GSO). */
uint32_t tcp_frame_max(const struct exos_tcp *c);
/* Sends what windows, Nagle and the ACK state call for. */
int tcp_output(struct exos_tcp *c);
int tcp_send_syn(struct exos_tcp *c); /* SYN or SYN-ACK, by state */
int tcp_send_ack(struct exos_tcp *c);
int tcp_send_rst(struct exos_tcp *c); /* <SEQ=SND.NXT><CTL=RST,ACK> */
/* A reset answering a segment that has no connection (RFC 9293 3.10.7.1). */
void tcp_send_rst_reply(struct exos_stack *s, const struct exos_iface *ifc,
			const struct tcp_seg *seg);
int tcp_xmit(struct exos_tcp *c, uint32_t seq, uint32_t len, uint8_t flags);
/* Sends [seq, seq+len) of sequence space (a FIN included when it is the last number) with
 * the bookkeeping: snd_nxt/snd_max, RTT timing (Karn), the transmission log, timers. */
int tcp_xmit_seq(struct exos_tcp *c, uint32_t seq, uint32_t len, bool rtx);
int tcp_xmit_ctl(struct exos_stack *s, const struct tcp_ctl *x);
void tcp_sendq_acked(struct exos_tcp *c); /* releases what snd_una covers */
void tcp_sendq_release(struct exos_tcp *c); /* pops finished requests, on_sent */
void tcp_sendq_flush_all(struct exos_tcp *c); /* the connection died: release everything */
void tcp_sreq_unref(struct exos_stack *s, struct tcp_sreq *r); /* from tx_reap */
uint16_t tcp_eff_mss(const struct exos_tcp *c); /* payload per segment incl. options */
uint32_t tcp_ts_now(const struct exos_tcp *c);
int tcp_queue_copy(struct exos_tcp *c, const void *data, size_t len, void *cookie,
		   uint32_t report_len, bool report);
void tcp_queue_fin(struct exos_tcp *c);

/* ---- tcp_timer.c ---- */
void tcp_timer_fn(struct exos_stack *s, struct exos_timer *t);
void tcp_timer_update(struct exos_tcp *c); /* re-arms the heap slot at the earliest t_* */
void tcp_rtt_sample(struct exos_tcp *c, uint64_t rtt_ns);
void tcp_rtx_restart(struct exos_tcp *c); /* after new data acked or sent */
void tcp_rtx_arm(struct exos_tcp *c);	   /* the loss probe or the RTO, from now */
void tcp_delack_arm(struct exos_tcp *c, uint64_t when);
void tcp_persist_arm(struct exos_tcp *c);
void tcp_keep_reset(struct exos_tcp *c);

/* ---- tcp_cc.c ---- */
void tcp_cc_init(struct exos_tcp *c);
void tcp_cc_free(struct exos_tcp *c); /* the transmission log */
/* An acceptable ACK: acked bytes newly acknowledged (snd_una already moved), its SACK
 * blocks, and whether it is a duplicate ACK (RFC 5681 definition). */
void tcp_cc_ack(struct exos_tcp *c, uint32_t acked, const struct tcp_opts *o, bool dupack);
void tcp_cc_rto(struct exos_tcp *c);
void tcp_cc_tlp(struct exos_tcp *c);	    /* the probe timeout fired */
void tcp_cc_reo_timer(struct exos_tcp *c); /* RACK's reordering settling time passed */
uint64_t tcp_cc_pto(const struct exos_tcp *c); /* when to probe from now; 0: not now */
/* In recovery: the next range to (re)transmit and whether it is a retransmission.
 * Returns false when nothing may be sent now. */
bool tcp_cc_next(struct exos_tcp *c, uint32_t *seq, uint32_t *len, bool *rtx);
/* Records a transmission of [seq, seq+len) (new data appends to the log). */
void tcp_cc_sent(struct exos_tcp *c, uint32_t seq, uint32_t len, bool rtx);
uint32_t tcp_cc_pipe(const struct exos_tcp *c);

/* ---- tcp_tw.c ---- */
int tcp_tw_init(struct exos_stack *s);
void tcp_tw_destroy(struct exos_stack *s);
/* Moves c into a compact TIME_WAIT block; c itself is done. */
void tcp_tw_enter(struct exos_tcp *c);
/* Handles a segment for a TIME_WAIT 4-tuple; returns true if consumed, false if a new
 * SYN should go to the listener (the block is gone then). */
bool tcp_tw_input(struct exos_stack *s, const struct exos_iface *ifc, struct tcp_seg *seg);
bool tcp_tw_exists(struct exos_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
		   uint16_t rport);
/* For the hand-off to twd (handoff.c): the blocks in expiry order, one block's record
 * (false: it cannot be handed over - no filter delivers it any more), forgetting a block
 * twd took (drop_ref: also drop our reference to its filter), adopting one from twd. */
struct tcp_tw *tcp_tw_first(struct exos_stack *s);
struct tcp_tw *tcp_tw_next(struct tcp_tw *w);
bool tcp_tw_rec(struct exos_stack *s, const struct tcp_tw *w, struct twd_rec *r);
void tcp_tw_forget(struct exos_stack *s, struct tcp_tw *w, bool drop_ref);
int tcp_tw_adopt(struct exos_stack *s, const struct twd_rec *r);
uint32_t tcp_tw_count(const struct exos_stack *s);
bool tcp_tw_on_listener(const struct tcp_tw *w, const struct exos_tcp *l); /* l delivers w */
void tcp_tw_prune_orphans(struct exos_stack *s); /* frees blocks nothing delivers */

/* ---- tcp_isn.c ---- */
void tcp_isn_init(struct tcp_state *t);
uint32_t tcp_isn(struct exos_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
		 uint16_t rport);
uint64_t siphash24(const uint8_t key[16], const void *data, size_t len);
uint32_t tcp_ts_offset(const struct exos_stack *s, uint32_t laddr, uint32_t raddr);

/* ---- tcp_port.c: ephemeral ports a block at a time ---- */
void tcp_port_init(struct exos_stack *s);
int tcp_port_pick(struct exos_tcp *c); /* c->lport from a block; -EADDRINUSE: no block */
void tcp_port_release(struct exos_tcp *c);		      /* c is done with its port */
struct tcp_pblock *tcp_port_to_tw(struct exos_tcp *c);	      /* ... TIME_WAIT keeps it */
void tcp_port_tw_done(struct exos_stack *s, struct tcp_pblock *b); /* that TIME_WAIT ended */
void tcp_port_rec(const struct tcp_pblock *b, struct twd_rec *r); /* for twd */
void tcp_port_retire(struct exos_stack *s); /* handed to twd: no new connections there */
void tcp_port_destroy(struct exos_stack *s);

#endif /* EXOS_TCP_INT_H */
