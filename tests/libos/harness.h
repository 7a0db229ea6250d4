/* harness.h - a stack over the fake sys layer, a scripted TCP peer, leak-checking teardown */
#ifndef EXOS_TEST_HARNESS_H
#define EXOS_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <exos/exos.h>
#include <exos/tcp.h>
#include <exos/udp.h>
#include <xok/proto/tcp.h>

#include "fake_sys.h"
#include "forge.h"

#define MS (1000000ull)
#define SEC (1000000000ull)

/* What the low-level callbacks saw (h_ops). */
struct harness {
	struct exos_stack *s;
	struct exos_tcp *listener;
	struct exos_tcp *accepted[64];
	int naccepted;
	struct exos_tcp *conn;
	int connected, closed, errors, freed, sent_calls;
	int last_err;
	size_t sent_bytes;
	void *last_cookie;
	size_t consume;	      /* bytes on_data consumes per call (default: all) */
	int data_calls;
	uint8_t *rx;	      /* bytes consumed by on_data */
	size_t rxlen, rxcap;
	void (*on_data_hook)(struct exos_tcp *c, const void *data, size_t len);
	void (*on_connected_hook)(struct exos_tcp *c);
	void (*on_close_hook)(struct exos_tcp *c);
	uint32_t stack_flags; /* EXOS_STACK_* for the next setup */
	struct exos_region *region; /* the test's own registered memory, freed at teardown */
};
extern struct harness H;
extern const struct exos_tcp_ops h_ops;

/* The scripted remote end of a TCP connection. */
struct peer {
	uint32_t ip;	    /* network order; 0 = PEER_IP */
	uint16_t port;	    /* the peer's port */
	uint16_t lport;	    /* ours */
	uint32_t seq;	    /* the peer's next sequence number */
	uint32_t ack;	    /* what it acknowledges (our next) */
	uint16_t win;	    /* raw window field it sends */
	int wscale;	    /* offered in its SYN; -1 none */
	uint16_t mss;
	bool sack, ts;
	uint32_t tsval;	    /* its clock: incremented per segment */
	uint32_t ts_recent; /* our last TSval */
};

/* A suite's own preparation, run by every h_setup once the stack is up (e.g. registered
 * memory for zero-copy sends); NULL for none. */
extern void (*h_suite_setup)(void);

int h_setup(void **state);
int h_teardown(void **state);
void h_poll(void);
void h_advance(uint64_t ns);		/* move the clock and poll */
void h_inject(const uint8_t *frame, size_t len);
/* The next transmitted frame, parsed; fails the test when there is none or it is
 * malformed or carries a bad checksum. */
void h_next(struct parsed *p);
bool h_try_next(struct parsed *p);
void h_expect_none(void);
void h_drain(void); /* drops everything transmitted so far */
/* After fake_xmit_fail(-EAGAIN, many) and what met the full queue: the stack's wait looks
 * again `waits` times, each retry_ns (the stack's TX_BLOCKED_RETRY_NS) later and with
 * nothing sent; then the queue has room and the clock moves one more such step (what was
 * held may now go out). */
void h_queue_full_then_room(int waits, uint64_t retry_ns);

void peer_init(struct peer *p, uint16_t lport);
/* Sends a segment with the peer's state; SYN/FIN and data advance its seq. */
void peer_send(struct peer *p, uint8_t flags, const void *data, size_t len);
void peer_send_at(struct peer *p, uint32_t seq, uint8_t flags, const void *data, size_t len);
/* A bare ACK at the peer's seq carrying nsack SACK blocks, most recent first (RFC 2018). */
void peer_send_sack(struct peer *p, int nsack, const uint32_t sack[][2]);
/* Checks that frame q is a TCP segment to the peer with these flags, and tracks its
 * timestamp. */
void peer_check(struct peer *p, const struct parsed *q, uint8_t flags);

/* The first half of the handshakes: listening on lport, the peer's SYN sent; and our
 * connect to the peer, our SYN taken (its port becomes p->lport).  *q is our first frame. */
void h_listen_syn(struct peer *p, uint16_t lport, uint32_t flags, struct parsed *q);
struct exos_tcp *h_connect_syn(struct peer *p, uint32_t flags, struct parsed *q);
/* Opens connections with the default peer (all options): passive (listener on lport,
 * SYN, SYN-ACK, ACK) and active (connect, SYN, SYN-ACK, ACK). */
struct exos_tcp *h_passive_open(struct peer *p, uint16_t lport, uint32_t flags);
struct exos_tcp *h_active_open(struct peer *p, uint32_t flags);
/* Resets a connection from the application side and swallows the RST. */
void h_abort(struct exos_tcp *c);
/* We close c first; the peer acknowledges our FIN with its own: TIME_WAIT here. */
void h_close_to_time_wait(struct peer *p, struct exos_tcp *c);
/* Closes H.listener before the test ends (h_teardown_conn then leaves it alone). */
void h_close_listener(void);

/* The fixture of tests that start from an established connection: the default peer's
 * connection accepted on port 80.  *state is the struct h_conn; h_teardown_conn closes the
 * listener unless the test did.  The peer without SACK keeps tail loss probes from going
 * ahead of the RTO. */
struct h_conn {
	struct peer p;
	struct exos_tcp *c;
};
int h_setup_conn(void **state);
int h_setup_conn_nosack(void **state);
int h_teardown_conn(void **state);

/* Table entries: a test on a fresh stack, and one starting from the fixture's connection. */
#define H_TEST(fn)	     cmocka_unit_test_setup_teardown(fn, h_setup, h_teardown)
#define H_CONN_TEST(fn)	     cmocka_unit_test_setup_teardown(fn, h_setup_conn, h_teardown_conn)
#define H_CONN_NOSACK_TEST(fn) \
	cmocka_unit_test_setup_teardown(fn, h_setup_conn_nosack, h_teardown_conn)

void h_stats(struct exos_stack_stats *st);

#endif /* EXOS_TEST_HARNESS_H */
