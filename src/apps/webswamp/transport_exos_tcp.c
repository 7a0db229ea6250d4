/* transport_exos_tcp.c - the core over libexos's low-level TCP events (webswamp, §6.1) */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <exos/exos.h>
#include <exos/sys.h>
#include <exos/tcp.h>

#include "core.h"
#include "param.h"
#include "transport_exos.h"

/*
 * The paper's webswamp on the packet-level TCP interface of include/exos/tcp.h:
 *
 *  - Count-only reception.  on_data passes the core the bytes in place (a pointer into the
 *    receive ring entry) and returns their length: nothing is copied or kept.
 *  - Zero-copy requests.  The driver formats every request once into memory registered
 *    with xokd (t->mem: a region per allocation); exos_tcp_send queues a reference to it
 *    and the stack transmits, and retransmits, from there.
 *  - Closing on the server's FIN.  An HTTP/1.0 response ends with the server's FIN.  When
 *    the core closes from inside on_data (the response is complete) the handle lingers
 *    until that FIN (on_close), SWAMP_LINGER_NS at most, and is closed then, as the
 *    paper's core "closes down connections that receive FIN bits": the server has closed
 *    first, so TIME_WAIT - and, on the libOS, the active open's xokd filter with it -
 *    stays with the server.  The core has moved on meanwhile, perhaps to the client's next
 *    connection.
 *  - --merge, knowledge-based packet merging.  The stack sends ACKs once the callbacks of a
 *    batch have returned, so the request the core sends from on_connected carries the ACK
 *    of the SYN-ACK, and the FIN sent from on_close carries the ACK of the response and of
 *    the server's FIN (held with exos_tcp_ack_hold while the handle lingers): SYN, GET+ACK,
 *    FIN+ACK, 3 packets per request.  Without --merge the client ACKs the way a kernel
 *    would, separately: exos_tcp_ack_now before the request and before the FIN (SYN, ACK,
 *    GET, ACK, FIN: 5).
 *  - --no-cksum: received checksums are not verified (EXOS_STACK_NO_RX_CSUM and
 *    EXOS_TCP_F_NO_RX_CSUM).
 *  - No TCP timestamps (EXOS_TCP_F_NO_TS).  A closed loop cycles through the ephemeral
 *    ports in seconds while the server keeps each in TIME_WAIT for a minute, so most SYNs
 *    land on a TIME_WAIT, which a server lets through when the SYN's sequence number or
 *    timestamp is newer.  libexos draws a random timestamp offset per connection, so half
 *    of those SYNs fail the server's PAWS check (RFC 7323 §5) and wait a 1 s SYN
 *    retransmission; the sequence number (RFC 6528: a clock plus a hash of the 4-tuple)
 *    always increases.  One-request connections gain nothing from timestamps anyway.
 *
 * Each emulated client has an etp_conn with two handle slots: `h`, the core's connection,
 * and `lh`, the previous one, lingering.  Callbacks carry the etp_conn and name their
 * handle, so one matching neither slot is stale.  After exos_tcp_close libexos calls
 * nothing but on_sent (not used: requests belong to the driver) and on_free, and a handle
 * stays valid until its on_free, so a slot is cleared before its handle is closed.
 * Lingering handles all wait the same time, so a FIFO holds them in deadline order.
 */

/* Regions behind t->mem: the drivers allocate one request arena each. */
#define ETP_REGIONS_MAX 4

struct exos_tp;

struct etp_conn {
	struct exos_tp *et;
	struct swamp_conn *c; /* set at its first connect */
	struct exos_tcp *h;   /* the core's connection, or NULL */
	struct exos_tcp *lh;  /* closed by the core, waiting for the server's FIN */
	uint64_t linger_end;
	struct etp_conn *lprev, *lnext; /* the linger FIFO */
};

struct exos_tp {
	struct swamp_transport t;
	struct exos_stack *s;
	struct exos_tcp_opts copts; /* every connect's */
	bool merge;
	bool in_poll;
	struct exos_tcp *in_data; /* the handle whose on_data is calling the core */
	struct etp_conn *conns;
	uint32_t nconns;
	struct etp_conn *lhead, *ltail;
	struct exos_region *regions[ETP_REGIONS_MAX];
	unsigned nregions;
};

static struct exos_tp *etp(struct swamp_transport *t)
{
	return (struct exos_tp *)t;
}

/* ---- lingering handles ---- */

static void linger_unlink(struct exos_tp *et, struct etp_conn *ec)
{
	if (ec->lprev)
		ec->lprev->lnext = ec->lnext;
	else
		et->lhead = ec->lnext;
	if (ec->lnext)
		ec->lnext->lprev = ec->lprev;
	else
		et->ltail = ec->lprev;
	ec->lprev = ec->lnext = NULL;
	ec->lh = NULL;
}

/* The close a kernel would make: without --merge, ACK what came in (the response, and the
 * server's FIN if it has arrived) in a segment of its own, then send our FIN. */
static void etp_finish(struct exos_tp *et, struct exos_tcp *h)
{
	if (!et->merge)
		exos_tcp_ack_now(h);
	exos_tcp_close(h);
}

static void etp_linger(struct exos_tp *et, struct etp_conn *ec, struct exos_tcp *h)
{
	if (ec->lh) {
		/* The previous connection's FIN is late: close it now. */
		struct exos_tcp *old = ec->lh;

		linger_unlink(et, ec);
		etp_finish(et, old);
	}
	ec->lh = h;
	ec->linger_end = exos_now_ns() + SWAMP_LINGER_NS;
	ec->lnext = NULL;
	ec->lprev = et->ltail;
	if (et->ltail)
		et->ltail->lnext = ec;
	else
		et->lhead = ec;
	et->ltail = ec;
	if (et->merge)
		exos_tcp_ack_hold(h, (uint32_t)(SWAMP_LINGER_NS / 1000));
}

static void linger_expire(struct exos_tp *et, uint64_t now)
{
	struct etp_conn *ec;

	while ((ec = et->lhead) && ec->linger_end <= now) {
		struct exos_tcp *h = ec->lh;

		linger_unlink(et, ec);
		etp_finish(et, h);
	}
}

/* ---- libexos callbacks ---- */

static void etp_on_connected(struct exos_tcp *h, void *arg)
{
	struct etp_conn *ec = arg;

	if (h == ec->h)
		swamp_on_connected(ec->c);
}

static size_t etp_on_data(struct exos_tcp *h, const void *data, size_t len, void *arg)
{
	struct etp_conn *ec = arg;
	struct exos_tp *et = ec->et;

	if (h == ec->h) {
		et->in_data = h;
		swamp_on_data(ec->c, data, len);
		et->in_data = NULL;
	}
	/* Counted (or, after the response, bytes nobody asked for): consumed either way. */
	return len;
}

static void etp_on_close(struct exos_tcp *h, void *arg)
{
	struct etp_conn *ec = arg;

	if (h == ec->h) {
		swamp_on_eof(ec->c);
	} else if (h == ec->lh) {
		linger_unlink(ec->et, ec);
		etp_finish(ec->et, h);
	}
}

static void etp_on_error(struct exos_tcp *h, int err, void *arg)
{
	struct etp_conn *ec = arg;

	if (h == ec->h) {
		swamp_on_error(ec->c, err); /* the core closes it */
	} else if (h == ec->lh) {
		linger_unlink(ec->et, ec);
		exos_tcp_close(h);
	}
}

static void etp_on_free(struct exos_tcp *h, void *arg)
{
	struct etp_conn *ec = arg;

	if (h == ec->h) {
		/* Gone without on_error (it should not happen): an error for the core, which
		 * hears of it only from inside poll, else at its timeout. */
		ec->h = NULL;
		if (ec->et->in_poll)
			swamp_on_error(ec->c, ECONNRESET);
	} else if (h == ec->lh) {
		linger_unlink(ec->et, ec);
	}
}

static const struct exos_tcp_ops etp_ops = {
    .on_connected = etp_on_connected,
    .on_data = etp_on_data,
    .on_close = etp_on_close,
    .on_error = etp_on_error,
    .on_free = etp_on_free,
};

/* ---- downcalls ---- */

static int etp_connect(struct swamp_transport *t, struct swamp_conn *c)
{
	struct exos_tp *et = etp(t);
	struct etp_conn *ec = &et->conns[c->id];
	struct exos_tcp *h;
	int rc = exos_tcp_connect(et->s, &et->copts, &etp_ops, ec, &h);

	if (rc < 0) {
		swamp_exos_warn_ports(swamp_exos_tcp_transport.prog, rc);
		return rc;
	}
	ec->c = c;
	ec->h = h;
	c->tp.ptr = h;
	return 0;
}

static long etp_send(struct swamp_transport *t, struct swamp_conn *c, const void *buf, size_t len)
{
	struct exos_tp *et = etp(t);
	struct etp_conn *ec = &et->conns[c->id];
	struct exos_tcp_sendreq r = {.data = buf, .len = len};
	int rc;

	if (!ec->h)
		return -ENOTCONN;
	if (!et->merge)
		exos_tcp_ack_now(ec->h);
	rc = exos_tcp_send(ec->h, &r, 1);
	return rc < 0 ? rc : (long)len;
}

static void etp_close(struct swamp_transport *t, struct swamp_conn *c)
{
	struct exos_tp *et = etp(t);
	struct etp_conn *ec = &et->conns[c->id];
	struct exos_tcp *h = ec->h;

	if (!h)
		return;
	ec->h = NULL;
	c->tp.ptr = NULL;
	c->tp_gen++;
	if (et->in_data == h)
		etp_linger(et, ec, h); /* a complete response: wait for the server's FIN */
	else
		etp_finish(et, h);
}

static int etp_poll(struct swamp_transport *t, int64_t timeout_ns)
{
	struct exos_tp *et = etp(t);
	uint64_t now = exos_now_ns(), deadline = now + (uint64_t)timeout_ns;
	int rc;

	if (et->lhead && et->lhead->linger_end < deadline)
		deadline = et->lhead->linger_end;
	et->in_poll = true;
	if (deadline <= now)
		rc = exos_stack_poll(et->s);
	else
		rc = exos_stack_wait(et->s, deadline);
	et->in_poll = false;
	if (rc > 0 || rc == -ETIMEDOUT)
		rc = 0;
	if (et->lhead)
		linger_expire(et, exos_now_ns());
	return rc;
}

static void etp_counters(struct swamp_transport *t, struct swamp_counters *out)
{
	swamp_exos_counters(etp(t)->s, out);
}

static void etp_destroy(struct swamp_transport *t)
{
	struct exos_tp *et = etp(t);

	while (et->lhead) {
		struct etp_conn *ec = et->lhead;
		struct exos_tcp *h = ec->lh;

		linger_unlink(et, ec);
		etp_finish(et, h);
	}
	swamp_exos_drain(et->s, SWAMP_DRAIN_NS);
	for (unsigned i = 0; i < et->nregions; i++)
		exos_region_destroy(exos_stack_sys(et->s), et->regions[i]);
	exos_stack_close(et->s);
	free(et->conns);
	free(et);
}

static const struct swamp_transport_ops etp_tops = {
    .connect = etp_connect,
    .send = etp_send,
    .close = etp_close,
    .poll = etp_poll,
    .destroy = etp_destroy,
    .counters = etp_counters,
};

/* ---- request memory: regions registered with xokd ---- */

static void *etp_mem_alloc(void *ctx, size_t size)
{
	struct exos_tp *et = ctx;
	struct exos_region *r;

	if (et->nregions == ETP_REGIONS_MAX ||
	    exos_region_create(exos_stack_sys(et->s), size, &r) < 0)
		return NULL;
	et->regions[et->nregions++] = r;
	return r->base;
}

static void etp_mem_free(void *ctx, void *p)
{
	struct exos_tp *et = ctx;

	for (unsigned i = 0; i < et->nregions; i++) {
		if (et->regions[i]->base != p)
			continue;
		exos_region_destroy(exos_stack_sys(et->s), et->regions[i]);
		et->regions[i] = et->regions[--et->nregions];
		return;
	}
}

static int etp_create(const struct swamp_opts *o, const struct swamp_url *u,
		      struct swamp_transport **out)
{
	struct exos_tp *et = calloc(1, sizeof(*et));
	int rc;

	if (!et)
		return swamp_no_memory(swamp_exos_tcp_transport.prog, o->conns);
	et->conns = calloc(o->conns, sizeof(*et->conns));
	if (!et->conns) {
		rc = swamp_no_memory(swamp_exos_tcp_transport.prog, o->conns);
		goto fail;
	}
	rc = swamp_exos_open(swamp_exos_tcp_transport.prog, o, &et->s);
	if (rc < 0)
		goto fail;
	et->t.ops = &etp_tops;
	et->t.mem = (struct swamp_mem){.alloc = etp_mem_alloc, .free = etp_mem_free, .ctx = et};
	et->merge = o->merge;
	et->nconns = o->conns;
	for (uint32_t i = 0; i < o->conns; i++)
		et->conns[i].et = et;
	et->copts = (struct exos_tcp_opts){
	    .sz = sizeof(et->copts),
	    .remote_addr = u->addr.sin_addr.s_addr,
	    .remote_port = ntohs(u->addr.sin_port),
	    .flags = EXOS_TCP_F_NO_TS | (o->no_cksum ? EXOS_TCP_F_NO_RX_CSUM : 0),
	};
	*out = &et->t;
	return 0;
fail:
	free(et->conns);
	free(et);
	return rc;
}

const struct swamp_transport_desc swamp_exos_tcp_transport = {
    .prog = "webswamp",
    .what = "the libOS's low-level TCP events (libexos, include/exos/tcp.h): count-only\n"
	    "reception in place, requests sent from registered memory without a copy",
    .caps = SWAMP_CAP_MERGE | SWAMP_CAP_NO_CKSUM | SWAMP_CAP_XOK,
    .create = etp_create,
};
