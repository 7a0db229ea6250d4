/* conn.h - xfwd's connection table: both directions of each forwarded connection */
#ifndef XFWD_CONN_H
#define XFWD_CONN_H

/*
 * A connection is found from the client side by the client's 4-tuple <client address,
 * client port, our listen address, listen port> and from the backend side by <backend
 * address, backend port, our port toward it> (our backend-side address is implied by the
 * backend's route).  Two hash tables with chaining index the same preallocated entries.
 *
 * xfwd does no TCP processing: it only watches flags and sequence numbers to know when a
 * connection is over.
 *   SYN     the client's SYN created it; the backend has not answered.  A retransmitted
 *           SYN (same 4-tuple) finds it and is forwarded again: no second connection.
 *   EST     the backend's SYN-ACK went by.  FINs are noted with the sequence number that
 *           acknowledges them (FIN's sequence + 1); an ACK from the other side at or past
 *           it marks that FIN acknowledged.
 *   LINGER  both FINs acknowledged, or a RST went by (in either direction).  Packets are
 *           still forwarded (late retransmissions, the last ACK), but the entry goes at
 *           a fixed deadline.  A new SYN on a lingering 4-tuple with another initial
 *           sequence number is a new connection: the old entry is recycled.
 * SYN and EST entries expire after a period without packets (SYN: XFWD_SYN_TIMEOUT_NS;
 * EST: --idle).  Each state keeps its entries on a list in expiry order (the timeouts are
 * per state, so appending at the tail keeps each list sorted): expiry looks at heads only.
 *
 * The table owns no resources beyond its memory: freeing an entry calls the owner's
 * release hook (which returns the port and, in per-connection filter mode, the filter).
 */

#include <stdbool.h>
#include <stdint.h>
#include <xok/proto/eth.h>

enum conn_state { CONN_SYN = 0, CONN_EST, CONN_LINGER, CONN_STATE_NR };

enum conn_dir {
	CONN_C2B = 0, /* client -> backend */
	CONN_B2C,     /* backend -> client */
};

#define CONN_FIN_C	 0x01 /* the client sent its FIN */
#define CONN_FIN_C_ACKED 0x02 /* ... and the backend acknowledged it */
#define CONN_FIN_B	 0x04
#define CONN_FIN_B_ACKED 0x08
#define CONN_RST	 0x10
#define CONN_FINS_DONE	 (CONN_FIN_C | CONN_FIN_C_ACKED | CONN_FIN_B | CONN_FIN_B_ACKED)

struct xfwd_conn {
	struct xfwd_conn *cnext, *bnext; /* hash chains (client key, backend key) */
	struct xfwd_conn *prev, *next;	 /* its state's list; next also links the free list */
	/* client side, as on the wire (network order) */
	uint32_t caddr, laddr; /* client, our client-side (listen) address */
	uint16_t cport, lport;
	/* backend side (network order) */
	uint16_t bport, eport;	    /* backend port, our port toward it */
	uint32_t baddr, local;	    /* backend, our backend-side address */
	uint32_t c_ifindex;	    /* client-side interface */
	uint16_t be;		    /* backend index */
	uint8_t state;		    /* enum conn_state */
	uint8_t flags;		    /* CONN_* */
	uint8_t cmac[ETH_ADDR_LEN]; /* client-side next hop's MAC */
	bool cmac_from_table;	    /* from arpd's table (else learned from the client's frames) */
	uint32_t cmac_version;	    /* table version cmac was checked at */
	uint32_t isn;		    /* the client's initial sequence number */
	uint32_t fin_c, fin_b;	    /* the ACK numbers that acknowledge each FIN */
	uint32_t filter;	    /* per-connection return filter (0: none) */
	uint64_t t;		    /* SYN, EST: last packet; LINGER: when it entered */
};

struct conn_list {
	struct xfwd_conn *head, *tail;
	uint32_t n;
};

struct conn_stats {
	uint64_t created;
	uint64_t syn_retrans; /* SYNs that found their connection */
	uint64_t recycled;    /* lingering entries replaced by a new connection */
	uint64_t closed_fin, closed_rst;
	uint64_t expired_syn, expired_idle, expired_linger;
	uint64_t full; /* new connections refused: table full */
};

struct conn_table;
typedef void (*conn_release_fn)(struct conn_table *t, struct xfwd_conn *c, void *arg);

struct conn_table {
	struct xfwd_conn *pool;
	struct xfwd_conn *free;
	uint32_t max, inuse;
	struct xfwd_conn **chash, **bhash;
	uint32_t hmask;
	uint32_t seed;
	struct conn_list lists[CONN_STATE_NR];
	uint64_t timeout[CONN_STATE_NR]; /* ns: SYN, idle, linger */
	conn_release_fn release;
	void *release_arg;
	struct conn_stats st;
};

int conn_table_init(struct conn_table *t, uint32_t max, uint64_t syn_ns, uint64_t idle_ns,
		    uint64_t linger_ns, uint32_t seed);
/* Frees every entry (through the release hook) and the table. */
void conn_table_free(struct conn_table *t);

struct xfwd_conn *conn_find_client(const struct conn_table *t, uint32_t caddr, uint16_t cport,
				   uint32_t laddr, uint16_t lport);
struct xfwd_conn *conn_find_backend(const struct conn_table *t, uint32_t baddr, uint16_t bport,
				    uint16_t eport);
/* A new SYN-state entry with key's address, port, interface and backend fields; NULL when
 * the table is full.  The key must not be in the table. */
struct xfwd_conn *conn_new(struct conn_table *t, const struct xfwd_conn *key, uint64_t now);
/* Releases (hook) and frees an entry. */
void conn_free(struct conn_table *t, struct xfwd_conn *c);
/* Notes a segment going through (flags, seq, ack as on the wire, host order). */
void conn_track(struct conn_table *t, struct xfwd_conn *c, enum conn_dir dir, uint8_t flags,
		uint32_t seq, uint32_t ack, uint32_t paylen, uint64_t now);
/* What a client's SYN (without ACK) means, given the entry c its 4-tuple found (or NULL):
 * a new connection, a retransmission of c's SYN (or a stray SYN on a live connection:
 * forwarded, the backend decides), or a new connection reusing a lingering 4-tuple (the
 * caller frees c first). */
enum conn_syn_verdict {
	CONN_SYN_NEW = 0,
	CONN_SYN_RETRANS,
	CONN_SYN_RECYCLE,
};
enum conn_syn_verdict conn_client_syn(struct conn_table *t, const struct xfwd_conn *c,
				      uint32_t seq);
/* Frees up to `budget` expired entries; returns how many. */
uint32_t conn_expire(struct conn_table *t, uint64_t now, uint32_t budget);
/* The earliest expiry (0: no entries). */
uint64_t conn_next_deadline(const struct conn_table *t);
const char *conn_state_name(enum conn_state s);

static inline bool seq_geq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

#endif /* XFWD_CONN_H */
