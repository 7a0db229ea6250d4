/* core.h - the webswamp core: emulated clients in closed loops over a pluggable transport */
#ifndef SWAMP_CORE_H
#define SWAMP_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "driver.h"
#include "hist.h"
#include "resp.h"
#include "url.h"

/*
 * The paper's webswamp core (§6.1): a number of emulated clients, each in a closed loop of
 * think -> connect -> send the request -> count the response -> close, all in one thread.
 * The core knows HTTP and the loop; a transport knows how bytes move.  Three transports
 * share it: Linux kernel sockets (sockclient-linux), the libOS POSIX-like sockets
 * (sockclient) and the libOS low-level TCP event API (webswamp).
 *
 * The contract between them:
 *
 *  - Downcalls (core -> transport): connect, send, close, poll, destroy (the ops below).
 *    They never call back into the core synchronously: a failure is a return value.
 *  - Upcalls (transport -> core): swamp_on_connected/writable/data/eof/error.  Transports
 *    make them only from inside their poll op.  The core may make downcalls from inside an
 *    upcall, and does so on purpose: it sends the request from inside
 *    swamp_on_connected() and closes from inside the swamp_on_data() that completes a
 *    response.  That is what lets a libOS transport implement the paper's packet merging
 *    (--merge): the ACK of the SYN-ACK rides on the request, the ACK of the last data and
 *    FIN rides on our FIN, because the transport can hold the ACK until the upcall returns.
 *  - After close (or a close inside an upcall), the transport delivers no further upcall for
 *    that connection's old incarnation.  The core may connect the same swamp_conn again at
 *    once, even inside the upcall; a transport that batches events must recognise stale
 *    ones (tp_gen is for that).
 *  - swamp_on_data() gets the received bytes in place (a pointer into a receive ring or a
 *    scratch buffer) valid for the call only; the core counts them and copies at most the
 *    bytes of a header line split across spans (count-only reception, §6.1).
 *  - Request bytes passed to send stay valid and unchanged until the request completes
 *    (they live in the driver), so a transport may transmit from them without copying.
 */

enum swamp_err {
	SWAMP_ERR_CONNECT,   /* connect failed, refused, or reset before established */
	SWAMP_ERR_READ,	     /* reset or closed with no response */
	SWAMP_ERR_WRITE,     /* sending the request failed */
	SWAMP_ERR_TIMEOUT,   /* no complete response within --timeout */
	SWAMP_ERR_STATUS,    /* complete response, status not 2xx (also counted as a request) */
	SWAMP_ERR_MALFORMED, /* unparseable status line or headers, bad framing, extra bytes */
	SWAMP_ERR_SHORT,     /* closed before Content-Length (or the chunked body) was complete */
	SWAMP_ERR_NR,
};

extern const char *const swamp_err_names[SWAMP_ERR_NR];

/* Transport capabilities: options a transport can honour. */
#define SWAMP_CAP_MERGE	   0x1 /* --merge: knowledge-based packet merging */
#define SWAMP_CAP_NO_CKSUM 0x2 /* --no-cksum: skip receive checksum verification */
#define SWAMP_CAP_RESOLVE  0x4 /* host names resolve (getaddrinfo); else dotted IPv4 only */
#define SWAMP_CAP_XOK	   0x8 /* a libOS client: --socket names xokd's control socket */

struct swamp_opts {
	uint32_t conns;
	uint64_t duration_ns;
	uint64_t timeout_ns;
	double think_ms; /* < 0: the driver's default */
	uint64_t seed;
	bool keepalive;
	bool merge;
	bool no_cksum;
	bool json;
	const char *driver;
	const char *docset;
	const char *trace;	/* file to log every task handed out, or NULL */
	const char *xok_socket; /* --socket: xokd's control socket (NULL: $XOK_SOCKET) */
	const char *url;
};

struct swamp;
struct swamp_transport;

struct swamp_conn {
	/* Owned by the transport: its handle, and a generation it bumps on every close so
	 * that events still queued for the old connection are recognised as stale. */
	union {
		int fd;
		void *ptr;
	} tp;
	uint32_t tp_gen;
	uint8_t tp_flags;
	uint32_t id; /* also the emulated client's number */

	/* Owned by the core. */
	struct swamp *s;
	uint8_t state;
	bool open;	       /* a transport connection exists (close it when done) */
	uint32_t reqs_on_conn; /* requests completed on this transport connection */
	uint32_t seq;	       /* tasks handed to this client so far */
	uint32_t req_len, req_off;
	const char *req;
	uint64_t t_start;  /* request start: connect, or send on a reused connection */
	uint64_t deadline; /* think end (in the heap) or timeout (in the FIFO) */
	struct swamp_conn *to_prev, *to_next;
	struct swamp_resp resp;
};

/* What a client's own stack (the libOS) counted: packets, and the retransmissions and
 * transmit stalls that explain a latency tail. */
struct swamp_counters {
	uint64_t tx_packets, rx_packets;
	uint64_t retransmits; /* TCP segments sent again */
	uint64_t timeouts;    /* retransmission timeouts that fired */
	uint64_t tx_full;     /* transmissions that found xokd's queue full (retried) */
	uint64_t tx_dropped;  /* frames dropped for want of a buffer or queue slot */
};

struct swamp_transport_ops {
	/* Start connecting c to the server.  0: in progress (swamp_on_connected follows, or
	 * swamp_on_error); -errno: failed now (no connection exists). */
	int (*connect)(struct swamp_transport *t, struct swamp_conn *c);
	/* Queue up to len bytes; returns how many were taken (0 < n <= len), or -EAGAIN (wait
	 * for swamp_on_writable), or another -errno. */
	long (*send)(struct swamp_transport *t, struct swamp_conn *c, const void *buf, size_t len);
	/* Close gracefully (FIN; no linger, no RST unless data is unread).  Never fails. */
	void (*close)(struct swamp_transport *t, struct swamp_conn *c);
	/* Wait up to timeout_ns (0: do not block) for events and deliver them as upcalls.
	 * Returns 0, -EINTR (a signal: the core checks for a stop) or another -errno (fatal). */
	int (*poll)(struct swamp_transport *t, int64_t timeout_ns);
	void (*destroy)(struct swamp_transport *t);
	/* Optional: the client's own stack's counters so far; the core reports the
	 * difference over the run. */
	void (*counters)(struct swamp_transport *t, struct swamp_counters *out);
};

struct swamp_transport {
	const struct swamp_transport_ops *ops;
	struct swamp *core; /* set by swamp_create */
	struct swamp_mem
	    mem; /* optional: where the driver puts request bytes (alloc NULL: malloc) */
};

/* What a program built on the core supplies (see cli.c's swamp_main). */
struct swamp_transport_desc {
	const char *prog;
	const char *what; /* one line for --help */
	unsigned caps;
	/* On failure it has said why on stderr; swamp_main only exits. */
	int (*create)(const struct swamp_opts *o, const struct swamp_url *u,
		      struct swamp_transport **out);
};

/* A transport's create could not allocate its state for CONNS clients: says so, -ENOMEM. */
int swamp_no_memory(const char *prog, uint32_t conns);

struct swamp_stats {
	uint64_t requests;   /* complete responses, whatever their status */
	uint64_t bytes;	     /* every byte received */
	uint64_t body_bytes; /* body bytes of complete responses */
	uint64_t connects;   /* transport connections established */
	uint64_t errors[SWAMP_ERR_NR];
	/* Of the first error of each kind, for diagnosis (for SWAMP_ERR_STATUS: the status). */
	int first_errno[SWAMP_ERR_NR];
	uint64_t elapsed_ns;
	uint64_t cpu_user_ns, cpu_sys_ns; /* of this process during the run */
	struct swamp_hist latency;	  /* ns, request start to last response byte */
	bool have_counters;		  /* the transport has the counters op: */
	struct swamp_counters counters;	  /*   what its stack counted during the run */
};

int swamp_create(const struct swamp_opts *o, struct swamp_driver *d, struct swamp_transport *t,
		 struct swamp **out);
/* Runs for o->duration_ns, then stops handing out tasks and waits (at most o->timeout_ns)
 * for requests in flight, so every request the server served is counted.  Returns 0 or a
 * fatal -errno (the transport's poll failed). */
int swamp_run(struct swamp *s);
const struct swamp_stats *swamp_stats(const struct swamp *s);
void swamp_destroy(struct swamp *s);
/* Async-signal-safe: ends the run early (SIGINT); the results so far are reported. */
void swamp_interrupt(void);

/* For transports: the connection of emulated client `id` (< o->conns), for event lookup. */
struct swamp_conn *swamp_conn_get(struct swamp *s, uint32_t id);

/* Upcalls; see the contract above. */
void swamp_on_connected(struct swamp_conn *c);
void swamp_on_writable(struct swamp_conn *c);
void swamp_on_data(struct swamp_conn *c, const void *p, size_t n);
void swamp_on_eof(struct swamp_conn *c);
void swamp_on_error(struct swamp_conn *c, int err);

static inline uint64_t swamp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#endif /* SWAMP_CORE_H */
