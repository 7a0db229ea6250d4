/* core.c - the webswamp core: emulated clients in closed loops over a pluggable transport */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core.h"
#include "param.h"

/*
 * Each emulated client is one swamp_conn and is always in exactly one state:
 *
 *	IDLE       the run is over for it
 *	THINK      in the think heap until its deadline; a kept-alive connection may be open
 *	CONNECTING transport connect under way              \
 *	SENDING    request partly sent, waiting to write     > "active": in the timeout FIFO
 *	RECEIVING  request sent, counting the response      /
 *
 * Think deadlines vary, so they live in a binary heap.  Request timeouts all have the same
 * length, so deadlines are in start order and a FIFO (doubly linked for O(1) removal on
 * completion) replaces a second heap.  Nothing is allocated after swamp_create().
 */
enum conn_state {
	CONN_IDLE,
	CONN_THINK,
	CONN_CONNECTING,
	CONN_SENDING,
	CONN_RECEIVING,
};

struct swamp {
	struct swamp_opts o;
	struct swamp_driver *driver;
	struct swamp_transport *tp;
	struct swamp_conn *conns;
	struct swamp_conn **heap; /* think heap, by deadline */
	uint32_t nheap;
	struct swamp_conn *to_head, *to_tail; /* timeout FIFO */
	uint32_t active;
	bool stopping;
	uint64_t drain_end;
	FILE *trace;
	struct swamp_stats st;
};

const char *const swamp_err_names[SWAMP_ERR_NR] = {
    [SWAMP_ERR_CONNECT] = "connect", [SWAMP_ERR_READ] = "read",
    [SWAMP_ERR_WRITE] = "write",     [SWAMP_ERR_TIMEOUT] = "timeout",
    [SWAMP_ERR_STATUS] = "status",   [SWAMP_ERR_MALFORMED] = "malformed",
    [SWAMP_ERR_SHORT] = "short",
};

static volatile sig_atomic_t swamp_interrupted;

void swamp_interrupt(void)
{
	swamp_interrupted = 1;
}

/* ---- think heap ---- */

static void heap_push(struct swamp *s, struct swamp_conn *c)
{
	uint32_t i = s->nheap++;

	while (i) {
		uint32_t parent = (i - 1) / 2;

		if (s->heap[parent]->deadline <= c->deadline)
			break;
		s->heap[i] = s->heap[parent];
		i = parent;
	}
	s->heap[i] = c;
}

static struct swamp_conn *heap_pop(struct swamp *s)
{
	struct swamp_conn *top = s->heap[0], *last = s->heap[--s->nheap];
	uint32_t i = 0;

	for (;;) {
		uint32_t child = 2 * i + 1;

		if (child >= s->nheap)
			break;
		if (child + 1 < s->nheap && s->heap[child + 1]->deadline < s->heap[child]->deadline)
			child++;
		if (last->deadline <= s->heap[child]->deadline)
			break;
		s->heap[i] = s->heap[child];
		i = child;
	}
	if (s->nheap)
		s->heap[i] = last;
	return top;
}

/* ---- timeout FIFO ---- */

static void to_append(struct swamp *s, struct swamp_conn *c)
{
	c->to_next = NULL;
	c->to_prev = s->to_tail;
	if (s->to_tail)
		s->to_tail->to_next = c;
	else
		s->to_head = c;
	s->to_tail = c;
}

static void to_remove(struct swamp *s, struct swamp_conn *c)
{
	if (c->to_prev)
		c->to_prev->to_next = c->to_next;
	else
		s->to_head = c->to_next;
	if (c->to_next)
		c->to_next->to_prev = c->to_prev;
	else
		s->to_tail = c->to_prev;
	c->to_prev = c->to_next = NULL;
}

/* ---- the closed loop ---- */

static void conn_start(struct swamp_conn *c, uint64_t now);
static void conn_retry(struct swamp_conn *c);

static void conn_drop(struct swamp_conn *c)
{
	struct swamp *s = c->s;

	if (c->open)
		s->tp->ops->close(s->tp, c);
	c->open = false;
	c->reqs_on_conn = 0;
}

static void conn_trace(struct swamp *s, struct swamp_conn *c, const struct swamp_task *t)
{
	fprintf(s->trace, "%" PRIu32 " %" PRIu32 " %" PRIu64 " %s\n", c->id, c->seq, t->think_ns,
		t->path);
}

/*
 * Ask the driver for the client's next task.  `defer` is set when we got here from a failed
 * downcall: starting again at once could fail again at once and recurse, so the start goes
 * through the heap and the main loop instead.
 */
static void conn_next(struct swamp_conn *c, uint64_t now, bool defer)
{
	struct swamp *s = c->s;
	struct swamp_task t;

	if (s->stopping) {
		c->state = CONN_IDLE;
		return;
	}
	swamp_driver_next(s->driver, c->id, &t);
	if (s->trace)
		conn_trace(s, c, &t);
	c->seq++;
	c->req = t.req;
	c->req_len = t.req_len;
	if (t.think_ns || defer) {
		c->state = CONN_THINK;
		c->deadline =
		    now + (defer && t.think_ns < SWAMP_RETRY_NS ? SWAMP_RETRY_NS : t.think_ns);
		heap_push(s, c);
		return;
	}
	conn_start(c, now);
}

static void conn_end(struct swamp_conn *c)
{
	to_remove(c->s, c);
	c->s->active--;
}

static void conn_fail(struct swamp_conn *c, enum swamp_err kind, int err, bool defer)
{
	struct swamp *s = c->s;

	if (!s->st.errors[kind]++)
		s->st.first_errno[kind] = err;
	conn_end(c);
	conn_drop(c);
	conn_next(c, swamp_now_ns(), defer);
}

static void conn_complete(struct swamp_conn *c)
{
	struct swamp *s = c->s;
	uint64_t now = swamp_now_ns();

	swamp_hist_record(&s->st.latency, now - c->t_start);
	s->st.requests++;
	s->st.body_bytes += c->resp.body_bytes;
	if (c->resp.status < 200 || c->resp.status > 299)
		if (!s->st.errors[SWAMP_ERR_STATUS]++)
			s->st.first_errno[SWAMP_ERR_STATUS] = c->resp.status;
	conn_end(c);
	if (s->o.keepalive && swamp_resp_reusable(&c->resp))
		c->reqs_on_conn++;
	else
		conn_drop(c);
	conn_next(c, now, false);
}

static void conn_send(struct swamp_conn *c)
{
	struct swamp *s = c->s;

	while (c->req_off < c->req_len) {
		long n = s->tp->ops->send(s->tp, c, c->req + c->req_off, c->req_len - c->req_off);

		if (n == -EAGAIN || n == 0)
			return; /* swamp_on_writable resumes */
		if (n < 0 && c->reqs_on_conn && !c->req_off) {
			conn_retry(c); /* a kept-alive connection the server just closed */
			return;
		}
		if (n < 0) {
			conn_fail(c, SWAMP_ERR_WRITE, (int)-n, true);
			return;
		}
		c->req_off += (uint32_t)n;
	}
	c->state = CONN_RECEIVING;
}

static void conn_connect(struct swamp_conn *c)
{
	struct swamp *s = c->s;
	int rc = s->tp->ops->connect(s->tp, c);

	if (rc) {
		conn_fail(c, SWAMP_ERR_CONNECT, -rc, true);
		return;
	}
	c->open = true;
	c->state = CONN_CONNECTING;
}

static void conn_start(struct swamp_conn *c, uint64_t now)
{
	struct swamp *s = c->s;

	c->t_start = now;
	c->deadline = now + s->o.timeout_ns;
	c->req_off = 0;
	swamp_resp_init(&c->resp);
	to_append(s, c);
	s->active++;
	if (c->open) {
		c->state = CONN_SENDING;
		conn_send(c);
	} else {
		conn_connect(c);
	}
}

/* ---- upcalls ---- */

static bool conn_active(const struct swamp_conn *c)
{
	return c->state >= CONN_CONNECTING;
}

void swamp_on_connected(struct swamp_conn *c)
{
	if (c->state != CONN_CONNECTING)
		return;
	c->s->st.connects++;
	c->state = CONN_SENDING;
	conn_send(c);
}

void swamp_on_writable(struct swamp_conn *c)
{
	if (c->state == CONN_SENDING)
		conn_send(c);
}

void swamp_on_data(struct swamp_conn *c, const void *p, size_t n)
{
	long used;

	c->s->st.bytes += n;
	if (c->state != CONN_SENDING && c->state != CONN_RECEIVING) {
		/* Bytes nobody asked for on an idle kept-alive connection (more than the last
		 * response's framing said): a server error; the next request opens a fresh
		 * connection. */
		if (!conn_active(c) && c->open) {
			if (!c->s->st.errors[SWAMP_ERR_MALFORMED]++)
				c->s->st.first_errno[SWAMP_ERR_MALFORMED] = EBADMSG;
			conn_drop(c);
		}
		return;
	}
	used = swamp_resp_feed(&c->resp, p, n);
	if (used < 0 || (swamp_resp_done(&c->resp) && (size_t)used < n))
		conn_fail(c, SWAMP_ERR_MALFORMED, EBADMSG, false);
	else if (swamp_resp_done(&c->resp))
		conn_complete(c);
}

/* The server closed a kept-alive connection just as we reused it (its idle timeout or
 * request limit): not an error; send the request again on a fresh connection. */
static void conn_retry(struct swamp_conn *c)
{
	conn_drop(c);
	c->req_off = 0;
	swamp_resp_init(&c->resp);
	conn_connect(c);
}

void swamp_on_eof(struct swamp_conn *c)
{
	int rc;

	if (!conn_active(c)) {
		conn_drop(c);
		return;
	}
	if (c->state == CONN_CONNECTING) {
		conn_fail(c, SWAMP_ERR_CONNECT, ECONNRESET, false);
		return;
	}
	rc = swamp_resp_eof(&c->resp);
	if (!rc)
		conn_complete(c);
	else if (rc == -ENODATA && c->reqs_on_conn)
		conn_retry(c);
	else if (rc == -ENODATA)
		conn_fail(c, SWAMP_ERR_READ, ECONNRESET, false);
	else
		conn_fail(c, SWAMP_ERR_SHORT, EPROTO, false);
}

void swamp_on_error(struct swamp_conn *c, int err)
{
	if (err < 0)
		err = -err;
	switch (c->state) {
	case CONN_CONNECTING:
		conn_fail(c, SWAMP_ERR_CONNECT, err, false);
		break;
	case CONN_SENDING:
		conn_fail(c, SWAMP_ERR_WRITE, err, false);
		break;
	case CONN_RECEIVING:
		if (c->reqs_on_conn && !c->resp.bytes)
			conn_retry(c);
		else
			conn_fail(c, SWAMP_ERR_READ, err, false);
		break;
	default:
		conn_drop(c);
		break;
	}
}

struct swamp_conn *swamp_conn_get(struct swamp *s, uint32_t id)
{
	return id < s->o.conns ? &s->conns[id] : NULL;
}

/* ---- the main loop ---- */

static void run_stop(struct swamp *s, uint64_t now)
{
	s->stopping = true;
	s->drain_end = now + s->o.timeout_ns;
	/* Thinking clients would only have started new requests: they are done. */
	while (s->nheap)
		heap_pop(s)->state = CONN_IDLE;
}

static void run_timers(struct swamp *s, uint64_t now)
{
	while (s->nheap && s->heap[0]->deadline <= now)
		conn_start(heap_pop(s), now);
	while (s->to_head && s->to_head->deadline <= now)
		conn_fail(s->to_head, SWAMP_ERR_TIMEOUT, ETIMEDOUT, true);
}

static int64_t run_wait(const struct swamp *s, uint64_t now, uint64_t end)
{
	uint64_t next = s->stopping ? s->drain_end : end;

	if (s->nheap && s->heap[0]->deadline < next)
		next = s->heap[0]->deadline;
	if (s->to_head && s->to_head->deadline < next)
		next = s->to_head->deadline;
	return next > now ? (int64_t)(next - now) : 0;
}

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000ULL + (uint64_t)tv.tv_usec * 1000ULL;
}

static void run_cpu(struct swamp *s, const struct rusage *before)
{
	struct rusage after;

	getrusage(RUSAGE_SELF, &after);
	s->st.cpu_user_ns = tv_ns(after.ru_utime) - tv_ns(before->ru_utime);
	s->st.cpu_sys_ns = tv_ns(after.ru_stime) - tv_ns(before->ru_stime);
}

/* At the start, the counters so far; at the end, what the run added to them. */
static void run_counters(struct swamp *s, bool end)
{
	const struct swamp_transport_ops *ops = s->tp->ops;
	struct swamp_counters now, *c = &s->st.counters;

	if (!ops->counters)
		return;
	ops->counters(s->tp, &now);
	s->st.have_counters = true;
	if (!end) {
		*c = now;
		return;
	}
	c->tx_packets = now.tx_packets - c->tx_packets;
	c->rx_packets = now.rx_packets - c->rx_packets;
	c->retransmits = now.retransmits - c->retransmits;
	c->timeouts = now.timeouts - c->timeouts;
	c->tx_full = now.tx_full - c->tx_full;
	c->tx_dropped = now.tx_dropped - c->tx_dropped;
}

int swamp_run(struct swamp *s)
{
	uint64_t start = swamp_now_ns(), end = start + s->o.duration_ns, now = start;
	struct rusage ru;
	int rc = 0;

	getrusage(RUSAGE_SELF, &ru);
	run_counters(s, false);
	for (uint32_t i = 0; i < s->o.conns; i++)
		conn_next(&s->conns[i], start, false);
	for (;;) {
		if (!s->stopping && (now >= end || swamp_interrupted))
			run_stop(s, now);
		if (s->stopping && (!s->active || now >= s->drain_end))
			break;
		run_timers(s, now);
		rc = s->tp->ops->poll(s->tp, run_wait(s, now, end));
		if (rc && rc != -EINTR)
			break;
		rc = 0;
		now = swamp_now_ns();
	}
	s->st.elapsed_ns = now - start;
	run_cpu(s, &ru);
	run_counters(s, true);
	for (uint32_t i = 0; i < s->o.conns; i++)
		conn_drop(&s->conns[i]);
	if (s->trace)
		fflush(s->trace);
	return rc;
}

/* ---- setup ---- */

int swamp_create(const struct swamp_opts *o, struct swamp_driver *d, struct swamp_transport *t,
		 struct swamp **out)
{
	struct swamp *s = calloc(1, sizeof(*s));
	int rc = -ENOMEM;

	if (!s)
		return -ENOMEM;
	s->o = *o;
	s->driver = d;
	s->tp = t;
	t->core = s;
	s->conns = calloc(o->conns, sizeof(*s->conns));
	s->heap = calloc(o->conns, sizeof(*s->heap));
	if (!s->conns || !s->heap || swamp_hist_init(&s->st.latency))
		goto fail;
	for (uint32_t i = 0; i < o->conns; i++) {
		s->conns[i].id = i;
		s->conns[i].s = s;
		s->conns[i].tp.fd = -1;
	}
	if (o->trace) {
		s->trace = fopen(o->trace, "we");
		if (!s->trace) {
			rc = -errno;
			goto fail;
		}
		/* A large buffer keeps tracing to one write per many requests. */
		setvbuf(s->trace, NULL, _IOFBF, 1 << 20);
	}
	*out = s;
	return 0;
fail:
	swamp_destroy(s);
	return rc;
}

int swamp_no_memory(const char *prog, uint32_t conns)
{
	fprintf(stderr, "%s: out of memory for the state of %u connections\n", prog, conns);
	return -ENOMEM;
}

const struct swamp_stats *swamp_stats(const struct swamp *s)
{
	return &s->st;
}

void swamp_destroy(struct swamp *s)
{
	if (!s)
		return;
	if (s->trace)
		fclose(s->trace);
	swamp_hist_free(&s->st.latency);
	free(s->heap);
	free(s->conns);
	free(s);
}
