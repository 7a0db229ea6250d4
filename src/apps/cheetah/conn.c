/* conn.c - one HTTP connection on the low-level TCP API: parse, answer, release, time out */
#include <errno.h>
#include <stdio.h>

#include "cheetah.h"
#include "param.h"

/*
 * No socket and no receive buffer: request bytes are parsed in place in the stack's packet
 * ring (on_data), and every complete request is answered at once from inside the callback,
 * so the response's first segment also carries the ACK of the request (with --merge the
 * ACK is explicitly held for it as well, exos_tcp_ack_hold). Pipelined requests are
 * answered one by one in order; the send requests simply queue behind each other.
 *
 * States: READ while requests are answered; DRAIN once the last response (Connection:
 * close, or an error) is queued with its FIN, when input is read and discarded so that
 * closing never resets a response away; CLOSED once the handle is given back, until
 * on_free. A connection stays on the timeout list (server.c) while it can still make
 * progress: bytes of a request in, or response bytes acknowledged (on_sent).
 *
 * Flow control: responses are queued whole (the stack paces them by the windows), but
 * after CHEETAH_PIPELINE_MAX unacknowledged responses on_data stops consuming; the stack
 * keeps the rest and the window closes until on_sent lets parsing resume.
 *
 * --no-merge (the baseline's behaviour, for Table II): on_data leaves the request to the
 * loop, which first sends the ACK on its own (exos_tcp_ack_now) and then has the data
 * offered again (exos_tcp_rx_resume); the FIN goes in its own segment (reply.c).
 */

static void conn_close(struct conn *cn)
{
	struct server *srv = cn->srv;

	cn->state = CONN_CLOSED;
	if (!cn->inflight)
		server_unlist(srv, cn);
	exos_tcp_close(cn->tcp);
}

void conn_abort(struct conn *cn)
{
	server_unlist(cn->srv, cn);
	cn->state = CONN_CLOSED;
	exos_tcp_abort(cn->tcp);
}

/* Answer the complete request in cn->req. */
static void conn_answer(struct conn *cn, uint64_t now)
{
	struct server *srv = cn->srv;
	bool head = cn->req.method == HTTP_METHOD_HEAD;
	struct http_reply rep;
	bool last;

	srv->st.requests++;
	if (srv->conf->merge)
		exos_tcp_ack_hold(cn->tcp, 0); /* the response carries it */
	http_reply_build(srv->cache, &cn->req, now, &rep);
	if (rep.status == 500 && srv->conf->svc.verbose)
		fprintf(stderr, "cheetah: %d for %.80s\n", rep.status, cn->req.target);
	last = !rep.keep_alive;
	if (reply_send(cn, &rep, head, last) < 0) {
		conn_abort(cn);
		return;
	}
	cn->req_ns = 0;
	http_req_init(&cn->req);
	if (last && cn->state == CONN_READ)
		cn->state = CONN_DRAIN;
	if (cn->inflight >= CHEETAH_PIPELINE_MAX)
		cn->paused = true;
}

/* Parse len bytes in place; returns how many were consumed (less only when paused). */
static size_t conn_parse(struct conn *cn, const char *p, size_t len, uint64_t now)
{
	size_t off = 0;

	while (off < len && cn->state == CONN_READ && !cn->paused) {
		if (!cn->req_ns)
			cn->req_ns = now;
		off += http_req_parse(&cn->req, p + off, len - off);
		if (http_req_done(&cn->req))
			conn_answer(cn, now);
	}
	/* A request must arrive whole within the timeout: trickled bytes are progress, but
	 * must not hold a connection forever (slowloris). */
	if (cn->state == CONN_READ && cn->req_ns && cn->req_ns + cn->srv->timeout_ns < now) {
		cn->srv->st.slow_requests++;
		conn_abort(cn);
	}
	return cn->state == CONN_READ ? off : len;
}

static size_t on_data(struct exos_tcp *c, const void *data, size_t len, void *arg)
{
	struct conn *cn = arg;
	struct server *srv = cn->srv;
	uint64_t now = coarse_now();

	(void)c;
	if (cn->state != CONN_READ)
		return len; /* DRAIN: read to the end and discard */
	server_touch(srv, cn, now);
	if (!srv->conf->merge && !cn->go) {
		server_defer(srv, cn); /* ACK first, from the loop */
		return 0;
	}
	return conn_parse(cn, data, len, now);
}

static void on_sent(struct exos_tcp *c, void *cookie, size_t acked, void *arg)
{
	struct conn *cn = arg;
	struct server *srv = cn->srv;

	(void)c;
	if (acked && cn->listed)
		server_touch(srv, cn, coarse_now());
	if (cn->copy_file)
		conn_push(cn);
	if (!cookie)
		return; /* a header that went alone, or a copied piece: not a response's end */
	if (cookie != &srv->done_cookie)
		http_cache_put(srv->cache, cookie);
	cn->inflight--;
	srv->pinned--;
	if (cn->state == CONN_CLOSED && !cn->inflight)
		server_unlist(srv, cn);
	if (cn->paused && !cn->copy_file && cn->inflight < CHEETAH_PIPELINE_MAX) {
		cn->paused = false;
		server_defer(srv, cn); /* offer the requests the stack kept for us */
	}
}

static void on_close(struct exos_tcp *c, void *arg)
{
	struct conn *cn = arg;

	(void)c;
	if (cn->state == CONN_CLOSED)
		return;
	if (cn->copy_file) {
		cn->peer_fin = true; /* the rest of the response first */
		return;
	}
	conn_close(cn); /* our FIN follows what is queued */
}

static void on_error(struct exos_tcp *c, int err, void *arg)
{
	struct conn *cn = arg;

	(void)c;
	(void)err;
	cn->srv->st.resets++;
	server_unlist(cn->srv, cn);
	cn->state = CONN_CLOSED;
}

static void on_free(struct exos_tcp *c, void *arg)
{
	(void)c;
	server_conn_free(((struct conn *)arg)->srv, arg);
}

static const struct exos_tcp_ops conn_ops = {
    .on_data = on_data,
    .on_sent = on_sent,
    .on_close = on_close,
    .on_error = on_error,
    .on_free = on_free,
};

int conn_accept(struct server *srv, struct exos_tcp *c)
{
	struct conn *cn = server_conn_new(srv, c);

	if (!cn)
		return -ENOMEM;
	cn->mss = exos_tcp_mss(c);
	cn->segmented = exos_tcp_frame_max(c) > cn->mss;
	exos_tcp_set_ops(c, &conn_ops, cn);
	return 0;
}

void conn_copied(struct conn *cn)
{
	cn->paused = cn->inflight >= CHEETAH_PIPELINE_MAX;
	if (cn->peer_fin && cn->state != CONN_CLOSED)
		conn_close(cn);
	else if (cn->state == CONN_READ && !cn->paused)
		server_defer(cn->srv, cn); /* parse what waited behind this response */
}

void conn_run(struct conn *cn)
{
	if (cn->freed || cn->state != CONN_READ)
		return;
	if (!cn->srv->conf->merge) {
		exos_tcp_ack_now(cn->tcp); /* the request's ACK, in a segment of its own */
		cn->go = true;
		exos_tcp_rx_resume(cn->tcp);
		cn->go = false; /* cn outlives on_free until the loop turn ends */
		return;
	}
	if (!cn->paused)
		exos_tcp_rx_resume(cn->tcp);
}

void conn_expire(struct conn *cn)
{
	struct server *srv = cn->srv;
	bool idle = !cn->inflight && !cn->copy_file && !cn->req_ns;

	srv->st.timeouts++;
	/* Nothing owed either way: a plain close. Otherwise the client stalled: reset, which
	 * also releases the cache memory its responses pinned. */
	if (idle && cn->state != CONN_CLOSED)
		conn_close(cn);
	else
		conn_abort(cn);
}
