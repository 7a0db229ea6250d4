/* exos.h - libexos, the ExOS library OS: stack lifecycle, polling, waiting, counters */
#ifndef EXOS_EXOS_H
#define EXOS_EXOS_H

/*
 * A struct exos_stack is one instance of the protocol stack (Ethernet, ARP, IPv4, ICMP, UDP,
 * TCP) over one connection to xokd.  It owns one packet ring, into which every filter it
 * installs delivers (listeners, connections, UDP ports, ICMP errors), a pool of buffers in
 * registered shared memory shared by all its end-points, and its timers.
 *
 * No threads: the stack runs when the application calls into it.  exos_stack_poll() drains
 * the ring, runs expired timers and flushes transmissions; exos_stack_wait() sleeps in xokd's
 * wakeup predicate until a frame arrives, the next timer is due, or the caller's deadline.
 * An event loop is
 *
 *	for (;;) { exos_stack_poll(s); ...; exos_stack_wait(s, 0); }
 *
 * A stack is not thread-safe: use it from one thread (or serialise every call).
 *
 * Errors: functions return 0 (or a count) on success and -errno on failure, and set errno.
 * The POSIX-like layer (socket.h) returns -1 and sets errno instead.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef EXOS_API
#define EXOS_API __attribute__((visibility("default")))
#endif

struct exos_sys;
struct exos_stack;

/* Options for exos_stack_open.  Zero means "the default" for every field. */
struct exos_stack_opts {
	size_t sz;		   /* sizeof(struct exos_stack_opts) */
	const char *xokd_path;	   /* control socket; NULL: $XOK_SOCKET or the default */
	struct exos_sys *sys;	   /* an already open sys to use (the stack does not close it) */
	uint32_t ring_entries;	   /* receive ring entries (default 4096) */
	uint32_t ring_entry_size;  /* bytes per entry, header included (default 2048, or
				    * whatever the largest interface MTU's frames need) */
	size_t pool_max_bytes;	   /* cap on registered buffer memory (default 512 MiB) */
	uint32_t flags;		   /* EXOS_STACK_* */
};

#define EXOS_STACK_ICMP_ECHO	   0x1 /* claim ICMP echo requests to our address, answer them */
#define EXOS_STACK_NO_RX_CSUM	   0x2 /* trust received TCP/UDP checksums (webswamp's option) */
#define EXOS_STACK_NO_ICMP_FILTERS 0x4 /* no per-end-point ICMP error filters */

/* Opens a stack: connects to xokd (unless opts->sys), learns the interfaces, creates the
 * receive ring and the buffer pool.  opts may be NULL. */
EXOS_API int exos_stack_open(const struct exos_stack_opts *opts, struct exos_stack **out);
/* Resets every connection, removes every filter, frees everything. */
EXOS_API void exos_stack_close(struct exos_stack *s);

/* Processes received frames, expired timers and finished transmissions, then flushes
 * queued transmissions.  Returns the number of frames processed, or -errno. */
EXOS_API int exos_stack_poll(struct exos_stack *s);
/* Sleeps until a frame arrives, the next timer is due or deadline_ns (CLOCK_MONOTONIC, as
 * exos_now_ns; 0 = none) passes, then polls.  Returns 0 or -ETIMEDOUT (the caller's
 * deadline passed), -EINTR, -EPIPE (xokd went away). */
EXOS_API int exos_stack_wait(struct exos_stack *s, uint64_t deadline_ns);
/* The earliest timer deadline (0 = none): for applications that sleep elsewhere. */
EXOS_API uint64_t exos_stack_next_timer(const struct exos_stack *s);

EXOS_API struct exos_sys *exos_stack_sys(struct exos_stack *s);
/* The primary interface's IPv4 address (network order). */
EXOS_API uint32_t exos_stack_addr(const struct exos_stack *s);

/* The stack the POSIX-like calls (socket.h, dns.h) use: opened with default options on
 * first use unless one was installed with exos_stack_set_default. */
EXOS_API int exos_stack_default(struct exos_stack **out);
EXOS_API void exos_stack_set_default(struct exos_stack *s);

/*
 * Process exit (§3.3 (3)).  When the process calls exit() or returns from main, libexos
 * closes the sockets and connections it still holds, waits (at most 2 s, or the longest
 * SO_LINGER) for data already sent to be acknowledged, and hands the connections left in
 * TIME_WAIT or still closing to twd, the TIME_WAIT server ($XOK_TWD_SOCKET, default
 * /run/xok/twd.sock); then the process ends at once.  Without twd, a background copy of
 * the process keeps them until they end or 2*MSL passes ($EXOS_EXIT_LINGER=foreground:
 * exit waits instead; =none: they are dropped), and libexos says so on stderr once.
 * exos_stack_close hands its TIME_WAIT connections to twd the same way (no waiting).
 *
 * libexos installs no signal handlers.  exos_stack_handoff_on_signals() installs handlers
 * for SIGTERM and SIGINT that make the process exit(128 + signal) - with the above - at
 * its next call into a stack's poll or wait (at once when it is sleeping in one); a
 * second signal terminates it at once.
 */
EXOS_API int exos_stack_handoff_on_signals(void);

/* Counters.  The *_inuse fields are live object counts (leak checks); the rest only grow. */
struct exos_stack_stats {
	uint64_t tcp_pcbs_inuse;   /* connections and listeners */
	uint64_t tcp_tw_inuse;	   /* compact TIME_WAIT blocks */
	uint64_t udp_socks_inuse;
	uint64_t bufs_inuse;	   /* packet buffers (data, out-of-order, send copies) */
	uint64_t txbs_inuse;	   /* transmit blocks (headers of frames in flight) */
	uint64_t sreqs_inuse;	   /* queued send requests */
	uint64_t filters_inuse;	   /* DPF filters installed by this stack */
	uint64_t socks_inuse;	   /* POSIX-like descriptors */
	uint64_t pool_bytes;	   /* registered memory held by the pool */

	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	uint64_t rx_drop_truncated, rx_drop_badeth, rx_drop_badip, rx_drop_notours;
	uint64_t rx_drop_csum, rx_drop_noproto;
	uint64_t rx_csum_partial; /* accepted: left unfinished by a veth peer's offload */
	uint64_t ip_frags, ip_reasm_ok, ip_reasm_drop;
	uint64_t tx_drop_nobuf, tx_again, tx_errors;
	uint64_t arp_requests, arp_failures;
	uint64_t icmp_in, icmp_echo_replies, icmp_errors_delivered;
	uint64_t udp_in, udp_out, udp_drop_nosock, udp_drop_full;
	uint64_t tcp_in, tcp_out, tcp_rst_out, tcp_retransmits, tcp_fast_retransmits;
	uint64_t tcp_rto_fired, tcp_dupacks_in, tcp_ooo_in, tcp_dup_in, tcp_paws_drop;
	uint64_t tcp_bad_seq, tcp_challenge_acks, tcp_conns_accepted, tcp_conns_connected;
	uint64_t tcp_conns_reset, tcp_conns_timedout, tcp_listen_overflow, tcp_no_pcb;
	uint64_t tcp_ephemeral_retries, tcp_persist_probes, tcp_keepalives, tcp_tlp_probes;
	uint64_t tcp_port_blocks; /* blocks of ephemeral ports claimed (tcp_port.c) */
	uint64_t tcp_gso_out;	  /* frames of several segments that xokd segments */
	uint64_t tcp_ack_deferred; /* ACKs that found the transmit queue full, sent by a timer */
};
EXOS_API void exos_stack_stats(const struct exos_stack *s, struct exos_stack_stats *out);

/* The 16-bit one's-complement sum of len bytes (not complemented), the unit of the
 * precomputed checksums exos_tcp_send accepts.  len should be even unless it is the end. */
EXOS_API uint16_t exos_cksum_block(const void *data, size_t len);

#endif /* EXOS_EXOS_H */
