/* twd.h - twd, the TIME_WAIT server: the connection engine and its interfaces */
#ifndef TWD_H
#define TWD_H

/*
 * twd keeps the closing TCP connections of processes that have exited (§3.3 (3), the
 * paper's recommended third approach): libexos hands over the few control-block values
 * of each (include/exos/twd.h) and the DPF filter that delivers it, which twd re-points
 * to its own ring.  From then on twd speaks for the connection, as RFC 9293 §3.10.7.4
 * says an application-closed connection behaves: it ACKs the peer's (retransmitted) FIN,
 * retransmits our unacknowledged FIN, answers unacceptable segments with an ACK, resets
 * data sent after the close (RFC 1122 4.2.2.13), handles a SYN reusing the 4-tuple in
 * TIME_WAIT per RFC 6191, and lets go of everything at the end of TIME_WAIT (2*MSL).
 *
 *  - conn.c:   the engine: connections by 4-tuple, the filters held, the state machine,
 *              timers.  No I/O: it calls struct twd_ops (unit tests supply their own).
 *  - seg.c:    parsing received segments, building ours (checksums included).
 *  - proto.c:  validating hand-off records and messages (the server side of twd.h).
 *  - server.c: the AF_UNIX socket: a thread that reads messages and passes them to the
 *              main thread as jobs (the sys layer is single-threaded).
 *  - main.c:   command line, xokd (ring, transmit, filter references), the main loop.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <exos/tcp.h>
#include <exos/twd.h>

#include "param.h"

/* What the engine needs from the outside world. */
struct twd_ops {
	/* Takes a reference to a filter and points its frames at twd's ring: 0 or -errno. */
	int (*ref)(void *arg, uint32_t filter, const struct xok_cap *cap);
	/* Drops twd's reference. */
	void (*unref)(void *arg, uint32_t filter);
	/* Sends one frame (copied: the buffer is the engine's). */
	int (*xmit)(void *arg, uint32_t ifindex, const uint8_t *frame, uint32_t len);
};

struct twd_stats {
	uint64_t handoffs;	 /* HANDOFF messages */
	uint64_t taken, refused; /* records */
	uint64_t rx, rx_bad, rx_stray, rx_given;
	uint64_t acks, fin_rtx, resets, challenge_acks, rate_limited;
	uint64_t fin_in, rst_in, data_rst, paws;
	uint64_t syn_reuse, syn_old;
	uint64_t ended_timewait, ended_fin_wait2, ended_last_ack, ended_rst, ended_gaveup;
	uint64_t ended_syn, ended_data, ended_released;
	uint64_t takes, ports_given, ports_released;
	uint64_t tx, tx_errors;
};

struct twd;
struct twd_conn;

/* A parsed TCP segment (seg.c). */
struct twd_seg {
	uint32_t saddr, daddr; /* network order */
	uint16_t sport, dport; /* network order */
	uint32_t seq, ack;
	uint16_t wnd;
	uint8_t flags;
	bool ts;
	uint32_t tsval, tsecr;
	uint32_t len; /* payload bytes */
	uint8_t smac[6];
};

/* ---- conn.c ---- */
struct twd *twd_new(const struct twd_ops *ops, void *arg, uint64_t msl_ns);
void twd_free(struct twd *t); /* releases every filter (ops->unref) */
/* Validates r (proto.c) and starts speaking for it: 0, or -errno (-EEXIST: its 4-tuple is
 * already here; -EINVAL: a bad record; the filter reference's error). */
int twd_add(struct twd *t, const struct twd_rec *r, uint64_t now);
/* A frame from xokd's ring, delivered by filter `filter`. */
void twd_input(struct twd *t, uint32_t filter, const uint8_t *frame, uint32_t len,
	       uint64_t now);
void twd_timers(struct twd *t, uint64_t now);
uint64_t twd_next_timer(const struct twd *t); /* 0 = none */
/* TAKE: the port's filter (*port) and its connections (malloc'd *recs, *n; they are
 * forgotten here) when twd holds a listener filter for lport at laddr: 0; else -ENOENT
 * (a filter held for the port at another address is released first).  The filter stays
 * referenced until twd_take_done. */
int twd_take(struct twd *t, uint32_t laddr, uint16_t lport, struct twd_port *port,
	     struct twd_rec **recs, uint32_t *n, uint64_t now);
void twd_take_done(struct twd *t, uint32_t filter);
const struct twd_stats *twd_stats(const struct twd *t);
void twd_note_handoff(struct twd *t, uint32_t n, uint32_t taken); /* counters */
/* Connections held, in total and per enum exos_tcp_state (by[EXOS_TCP_STATE_NR]). */
uint32_t twd_count(const struct twd *t, uint32_t *by);
uint32_t twd_filters(const struct twd *t);   /* held for connections */
uint32_t twd_releasing(const struct twd *t); /* on the release queue */
/* Lets go of up to max filters nothing needs any more; returns how many remain queued. */
uint32_t twd_release(struct twd *t, uint32_t max);
/* Looks a connection up (tests): its state, or -1. */
int twd_state(const struct twd *t, uint32_t laddr, uint16_t lport, uint32_t raddr,
	      uint16_t rport);

/* ---- seg.c ---- */
/* Parses an Ethernet/IPv4/TCP frame (checksums verified; a partial checksum left by a
 * veth peer's offload accepted).  0, or -EINVAL. */
int twd_seg_parse(const uint8_t *frame, uint32_t len, struct twd_seg *out);
struct twd_out {
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	const uint8_t *lmac, *rmac;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	bool ts;
	uint32_t tsval, tsecr;
	uint16_t ip_id;
};
/* Builds a frame into buf (TWD_TX_SLOT_SIZE bytes); its length. */
uint32_t twd_seg_build(uint8_t *buf, const struct twd_out *o);

/* ---- proto.c ---- */
/* A record twd can take: 0 or -EINVAL. */
int twd_rec_check(const struct twd_rec *r);
/* A received message: its header valid and its length exact for its type; 0 or -errno. */
int twd_msg_check(const void *buf, size_t len, struct twd_hdr *h);

/* ---- server.c (with main.c's job runner) ---- */
enum twd_job_type { TWD_JOB_HANDOFF = 1, TWD_JOB_TAKE, TWD_JOB_DONE };
struct twd_job {
	enum twd_job_type type;
	pid_t pid;		    /* the client (SO_PEERCRED) */
	const struct twd_rec *recs; /* HANDOFF */
	uint32_t n;
	struct twd_take take;	    /* TAKE */
	uint32_t filter;	    /* DONE */
	/* results */
	int status;
	struct twd_ack ack;	    /* HANDOFF */
	struct twd_port port;	    /* TAKE */
	struct twd_rec *out;
	uint32_t nout;
};
struct twd_server;
struct exos_sys;
/* Runs jobs on the main thread: `run` is called from twd_server_poll; the server wakes the
 * main thread's sleep on sys with exos_sys_kick. */
struct twd_server *twd_server_start(const char *path, struct exos_sys *sys,
				    void (*run)(struct twd_job *j, void *arg), void *arg,
				    int verbose);
/* Main thread: runs the job waiting, if any. */
void twd_server_poll(struct twd_server *sv);
void twd_server_stop(struct twd_server *sv); /* joins the thread, removes the socket */

#endif /* TWD_H */
