/* test_core.c - the core's closed loop over a scripted fake transport */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "core.h"
#include "prng.h"

/*
 * The fake plays a server behind the transport contract of core.h: connect succeeds (or is
 * refused, or fails at once), a complete request is answered with `response` cut into
 * random pieces, and in close mode followed by EOF.  Events are queued and delivered only
 * from poll, tagged with the connection's generation like a real batching transport.
 */
enum fake_ev { EV_CONNECTED, EV_WRITABLE, EV_DATA, EV_EOF, EV_ERROR };

struct fake_event {
	uint32_t id, gen;
	enum fake_ev type;
	const char *p;
	size_t n;
};

#define QMAX 65536

struct fake {
	struct swamp_transport t;
	struct fake_event q[QMAX];
	size_t head, tail;
	struct swamp_rng rng;
	/* the script */
	const char *response;
	bool server_close; /* EOF after each response */
	bool eof_on_reuse; /* answer a request on a reused connection with EOF */
	bool silent;	   /* never answer */
	int connect_rc;	   /* < 0: connect fails at once */
	int refuse;	   /* > 0: connects are refused with this errno */
	size_t send_max;   /* accept at most this many bytes per send (0: all) */
	/* what happened */
	uint64_t connects, closes, sends, requests_seen;
	uint32_t open;
	size_t got[64];	     /* request bytes received per connection */
	uint32_t served[64]; /* responses sent on the current connection */
	char last_req[256];
};

static struct fake *fake_of(struct swamp_transport *t)
{
	return (struct fake *)t;
}

static void push(struct fake *f, struct swamp_conn *c, enum fake_ev type, const char *p, size_t n)
{
	assert_true(f->tail - f->head < QMAX);
	f->q[f->tail++ % QMAX] = (struct fake_event){c->id, c->tp_gen, type, p, n};
}

static int fake_connect(struct swamp_transport *t, struct swamp_conn *c)
{
	struct fake *f = fake_of(t);

	if (f->connect_rc)
		return f->connect_rc;
	f->connects++;
	f->open++;
	f->got[c->id] = 0;
	f->served[c->id] = 0;
	push(f, c, f->refuse ? EV_ERROR : EV_CONNECTED, NULL, (size_t)f->refuse);
	return 0;
}

/* The response, cut at random points. */
static void respond(struct fake *f, struct swamp_conn *c)
{
	size_t len = strlen(f->response), off = 0;

	while (off < len) {
		size_t n = 1 + swamp_rng_next(&f->rng) % 40;

		if (n > len - off)
			n = len - off;
		push(f, c, EV_DATA, f->response + off, n);
		off += n;
	}
	if (f->server_close)
		push(f, c, EV_EOF, NULL, 0);
}

static long fake_send(struct swamp_transport *t, struct swamp_conn *c, const void *buf, size_t len)
{
	struct fake *f = fake_of(t);
	size_t n = f->send_max && len > f->send_max ? f->send_max : len;

	f->sends++;
	if (f->got[c->id] == 0 && n == len)
		snprintf(f->last_req, sizeof(f->last_req), "%.*s", (int)len, (const char *)buf);
	f->got[c->id] += n;
	if (n < len) {
		push(f, c, EV_WRITABLE, NULL, 0);
		return (long)n;
	}
	/* The whole request is in (the core sends each request from its start). */
	f->requests_seen++;
	f->got[c->id] = 0;
	if (f->eof_on_reuse && f->served[c->id])
		push(f, c, EV_EOF, NULL, 0);
	else if (!f->silent)
		respond(f, c);
	f->served[c->id]++;
	return (long)n;
}

static void fake_close(struct swamp_transport *t, struct swamp_conn *c)
{
	struct fake *f = fake_of(t);

	f->closes++;
	f->open--;
	c->tp_gen++;
}

static int fake_poll(struct swamp_transport *t, int64_t timeout_ns)
{
	struct fake *f = fake_of(t);
	size_t end = f->tail;

	if (f->head == end) {
		struct timespec ts = {0, timeout_ns < 200000 ? timeout_ns : 200000};

		nanosleep(&ts, NULL);
		return 0;
	}
	/* Only what was queued before this poll: events queued by upcalls wait for the next. */
	while (f->head != end) {
		struct fake_event ev = f->q[f->head++ % QMAX];
		struct swamp_conn *c = swamp_conn_get(t->core, ev.id);

		if (c->tp_gen != ev.gen)
			continue; /* stale: that connection was closed */
		if (ev.type == EV_CONNECTED)
			swamp_on_connected(c);
		else if (ev.type == EV_WRITABLE)
			swamp_on_writable(c);
		else if (ev.type == EV_DATA)
			swamp_on_data(c, ev.p, ev.n);
		else if (ev.type == EV_EOF)
			swamp_on_eof(c);
		else
			swamp_on_error(c, (int)ev.n);
	}
	return 0;
}

static void fake_destroy(struct swamp_transport *t)
{
	(void)t;
}

static const struct swamp_transport_ops fake_ops = {
    fake_connect, fake_send, fake_close, fake_poll, fake_destroy,
};

static const char ok10[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
static const char ok10_close[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789";

struct run {
	struct fake *f;
	struct swamp_stats st;
	uint64_t hist_count;
};

static struct fake *fake_new(const char *response)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->t.ops = &fake_ops;
	f->response = response;
	f->server_close = true;
	swamp_rng_seed(&f->rng, 1, 0);
	return f;
}

/* Runs the fixed driver over `f` and returns the stats (the fake stays for inspection). */
static struct swamp_stats run(struct fake *f, uint32_t conns, uint64_t ms, bool keepalive,
			      uint64_t timeout_ms)
{
	struct swamp_url u;
	struct swamp_driver *d;
	struct swamp_driver_params dp = {
	    .name = "fixed", .url = &u, .keepalive = keepalive, .clients = conns, .think_ms = -1};
	struct swamp_opts o = {.conns = conns,
			       .duration_ns = ms * 1000000ULL,
			       .timeout_ns = timeout_ms * 1000000ULL,
			       .keepalive = keepalive,
			       .driver = "fixed",
			       .url = "http://198.18.0.1/x"};
	struct swamp_stats st;
	struct swamp *s;

	assert_int_equal(swamp_url_parse(o.url, false, &u, NULL), 0);
	assert_int_equal(swamp_driver_create(&dp, &d), 0);
	assert_int_equal(swamp_create(&o, d, &f->t, &s), 0);
	assert_int_equal(swamp_run(s), 0);
	st = *swamp_stats(s);
	st.latency.counts = NULL; /* freed with s */
	swamp_destroy(s);
	swamp_driver_destroy(d);
	/* Whatever happened, nothing is left open. */
	assert_int_equal(f->open, 0);
	return st;
}

static uint64_t total_errors(const struct swamp_stats *st)
{
	uint64_t n = 0;

	for (int k = 0; k < SWAMP_ERR_NR; k++)
		n += st->errors[k];
	return n;
}

static void test_close_mode(void **state)
{
	struct fake *f = fake_new(ok10);
	struct swamp_stats st = run(f, 8, 30, false, 1000);

	(void)state;
	assert_true(st.requests > 100);
	assert_int_equal(total_errors(&st), 0);
	/* Drained at the end: every request the server saw was counted. */
	assert_int_equal(st.requests, f->requests_seen);
	assert_int_equal(st.body_bytes, 10 * st.requests);
	assert_int_equal(st.latency.count, st.requests);
	/* One connection per request, each closed by us. */
	assert_int_equal(f->connects, st.requests);
	assert_int_equal(st.connects, st.requests);
	assert_string_equal(f->last_req, "GET /x HTTP/1.0\r\nHost: 198.18.0.1\r\n\r\n");
	free(f);
}

static void test_keepalive(void **state)
{
	struct fake *f = fake_new(ok10);
	struct swamp_stats st;

	(void)state;
	f->server_close = false;
	st = run(f, 4, 30, true, 1000);
	assert_true(st.requests > 100);
	assert_int_equal(total_errors(&st), 0);
	assert_int_equal(f->connects, 4);
	assert_int_equal(st.requests, f->requests_seen);
	assert_string_equal(f->last_req, "GET /x HTTP/1.1\r\nHost: 198.18.0.1\r\n\r\n");
	free(f);
	/* The server says close: a new connection per request, still no errors. */
	f = fake_new(ok10_close);
	st = run(f, 4, 20, true, 1000);
	assert_int_equal(total_errors(&st), 0);
	assert_int_equal(f->connects, st.requests);
	free(f);
}

static void test_keepalive_retry(void **state)
{
	struct fake *f = fake_new(ok10);
	struct swamp_stats st;

	(void)state;
	/* The server drops every kept-alive connection just as it is reused: the request goes
	 * again on a fresh connection and nobody counts an error. */
	f->server_close = false;
	f->eof_on_reuse = true;
	st = run(f, 4, 20, true, 1000);
	assert_true(st.requests > 20);
	assert_int_equal(total_errors(&st), 0);
	assert_true(f->connects >= st.requests);
	free(f);
}

static void test_partial_sends(void **state)
{
	struct fake *f = fake_new(ok10);
	struct swamp_stats st;

	(void)state;
	f->send_max = 7;
	st = run(f, 4, 20, false, 1000);
	assert_true(st.requests > 20);
	assert_int_equal(total_errors(&st), 0);
	assert_true(f->sends > 5 * st.requests);
	free(f);
}

static void test_response_errors(void **state)
{
	struct fake *f = fake_new("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234");
	struct swamp_stats st = run(f, 4, 20, false, 1000);

	(void)state;
	/* Short: EOF before Content-Length. */
	assert_int_equal(st.requests, 0);
	assert_true(st.errors[SWAMP_ERR_SHORT] > 10);
	assert_int_equal(st.errors[SWAMP_ERR_SHORT], total_errors(&st));
	free(f);
	/* Longer than Content-Length: caught when the extra bytes come with the last body
	 * byte; when they come later the response is complete and closed already (count-only
	 * reception does not wait for what it did not ask for). */
	f = fake_new("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n01234");
	st = run(f, 4, 20, false, 1000);
	assert_true(st.errors[SWAMP_ERR_MALFORMED] > 10);
	assert_int_equal(st.requests + st.errors[SWAMP_ERR_MALFORMED], f->requests_seen);
	free(f);
	/* Garbage. */
	f = fake_new("SSH-2.0-OpenSSH_9.2\r\n");
	st = run(f, 4, 20, false, 1000);
	assert_int_equal(st.requests, 0);
	assert_int_equal(st.errors[SWAMP_ERR_MALFORMED], total_errors(&st));
	free(f);
	/* A closed connection with nothing sent back. */
	f = fake_new("");
	st = run(f, 4, 20, false, 1000);
	assert_true(st.errors[SWAMP_ERR_READ] > 10);
	free(f);
	/* Non-2xx: complete, counted as requests and as status errors. */
	f = fake_new("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	st = run(f, 4, 20, false, 1000);
	assert_true(st.requests > 10);
	assert_int_equal(st.errors[SWAMP_ERR_STATUS], st.requests);
	assert_int_equal(st.first_errno[SWAMP_ERR_STATUS], 404);
	free(f);
}

static void test_connect_errors(void **state)
{
	struct fake *f = fake_new(ok10);
	struct swamp_stats st;

	(void)state;
	f->refuse = ECONNREFUSED;
	st = run(f, 4, 20, false, 1000);
	assert_int_equal(st.requests, 0);
	assert_true(st.errors[SWAMP_ERR_CONNECT] > 10);
	assert_int_equal(st.first_errno[SWAMP_ERR_CONNECT], ECONNREFUSED);
	free(f);
	/* Failing at once (no ports): counted, and retried after a pause rather than spinning. */
	f = fake_new(ok10);
	f->connect_rc = -EADDRNOTAVAIL;
	st = run(f, 4, 30, false, 1000);
	assert_true(st.errors[SWAMP_ERR_CONNECT] >= 4);
	assert_true(st.errors[SWAMP_ERR_CONNECT] <= 4 * 40);
	assert_int_equal(st.first_errno[SWAMP_ERR_CONNECT], EADDRNOTAVAIL);
	free(f);
}

static void test_timeouts(void **state)
{
	struct fake *f = fake_new(ok10);
	struct swamp_stats st;

	(void)state;
	f->silent = true;
	st = run(f, 4, 50, false, 10);
	assert_int_equal(st.requests, 0);
	/* 50 ms of 10 ms timeouts (each retried after the retry pause), plus the drain. */
	assert_true(st.errors[SWAMP_ERR_TIMEOUT] >= 4 * 3);
	assert_true(st.errors[SWAMP_ERR_TIMEOUT] <= 4 * 7);
	assert_int_equal(st.errors[SWAMP_ERR_TIMEOUT], total_errors(&st));
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_close_mode),	    cmocka_unit_test(test_keepalive),
	    cmocka_unit_test(test_keepalive_retry), cmocka_unit_test(test_partial_sends),
	    cmocka_unit_test(test_response_errors), cmocka_unit_test(test_connect_errors),
	    cmocka_unit_test(test_timeouts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
