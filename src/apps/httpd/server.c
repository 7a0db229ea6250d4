/* server.c - the non-blocking single-threaded HTTP server shared by httpd and httpd-linux */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "httpd_param.h"
#include "request.h"
#include "serve.h"
#include "server.h"
#include "sockops.h"

/*
 * One event loop, level-triggered readiness from sockops. A connection alternates between
 * READ (parse request bytes; every complete request gets a reply at once) and WRITE (the
 * reply did not fit in the socket buffer; wait for room, read nothing meanwhile so one
 * client cannot queue unbounded work). Pipelined requests wait in rbuf, unparsed, while a
 * reply is being written. After the last reply a connection is closed, or, when the client
 * may still be sending (error mid-request, unparsed bytes), shut down for writing and read
 * to the end first (LINGER): closing with unread data would reset the reply away.
 *
 * Timeouts: each connection sits in one of two lists ordered by its last progress, so the
 * oldest is always at the head and the sweep after each poll round is O(expired).
 */

enum conn_state { CONN_READ, CONN_WRITE, CONN_LINGER };

struct conn {
	int sock;
	enum conn_state state;
	uint32_t events;	  /* SOCK_EV_* currently polled for */
	uint64_t sent;		  /* bytes of rep already written */
	uint64_t last_ns;	  /* last progress */
	uint64_t req_ns;	  /* first byte of the request being received, 0: none yet */
	struct conn *prev, *next; /* timeout list, least recent progress first */
	size_t roff, rlen;	  /* unparsed bytes are rbuf[roff..rlen) */
	struct http_reply rep;
	struct http_req req;
	char rbuf[HTTPD_RBUF_SIZE];
};

struct conn_list {
	struct conn *head, *tail;
};

struct server {
	const struct httpd_conf *conf;
	struct sock_poll *poll;
	struct http_cache *cache;
	int lsock;
	uint64_t now;
	uint64_t accept_resume_ns; /* non-zero: accepting paused until then */
	struct conn_list active;   /* READ and WRITE, timeout conf->server.timeout_ms */
	struct conn_list linger;   /* LINGER, timeout HTTPD_LINGER_MS */
	uint64_t conns, requests;
};

#define MS 1000000ULL

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- timeout lists ---- */

static struct conn_list *conn_list_of(struct server *s, struct conn *c)
{
	return c->state == CONN_LINGER ? &s->linger : &s->active;
}

static void list_remove(struct conn_list *l, struct conn *c)
{
	*(c->prev ? &c->prev->next : &l->head) = c->next;
	*(c->next ? &c->next->prev : &l->tail) = c->prev;
	c->prev = c->next = NULL;
}

static void list_append(struct conn_list *l, struct conn *c)
{
	c->prev = l->tail;
	c->next = NULL;
	*(l->tail ? &l->tail->next : &l->head) = c;
	l->tail = c;
}

/* Progress: restart the connection's timeout. */
static void conn_touch(struct server *s, struct conn *c)
{
	struct conn_list *l = conn_list_of(s, c);

	c->last_ns = s->now;
	if (l->tail != c) {
		list_remove(l, c);
		list_append(l, c);
	}
}

/* ---- connection life ---- */

static int conn_set_events(struct server *s, struct conn *c, uint32_t events)
{
	int err = 0;

	if (c->events != events)
		err = sock_poll_mod(s->poll, c->sock, events, c);
	c->events = events;
	return err;
}

static void conn_close(struct server *s, struct conn *c)
{
	list_remove(conn_list_of(s, c), c);
	http_reply_release(s->cache, &c->rep);
	sock_close(c->sock);
	free(c);
}

static void conn_linger(struct server *s, struct conn *c)
{
	http_reply_release(s->cache, &c->rep);
	list_remove(&s->active, c);
	c->state = CONN_LINGER;
	list_append(&s->linger, c);
	c->last_ns = s->now;
	if (sock_shutdown(c->sock) < 0 || conn_set_events(s, c, SOCK_EV_IN) < 0)
		conn_close(s, c);
}

/* The last reply is out: close now, or linger if the client may still be sending. */
static void conn_finish(struct server *s, struct conn *c)
{
	if (c->req.status || c->roff < c->rlen)
		conn_linger(s, c);
	else
		conn_close(s, c);
}

/* The unsent part of the reply, as an iovec array; returns its count. */
static int reply_rest(const struct http_reply *rep, uint64_t off, struct iovec *iov)
{
	int n = 0;

	for (int i = 0; i < rep->iovcnt; i++) {
		size_t len = rep->iov[i].iov_len;

		if (off >= len) {
			off -= len;
			continue;
		}
		iov[n].iov_base = (char *)rep->iov[i].iov_base + off;
		iov[n].iov_len = len - (size_t)off;
		n++;
		off = 0;
	}
	return n;
}

/* Write what the socket takes. Returns 0 if the connection is still open (reply done and
 * back in READ, or waiting in WRITE), -1 if it was closed or handed to linger. */
static int conn_send(struct server *s, struct conn *c)
{
	struct iovec iov[4];
	ssize_t n = 0;

	if (c->sent < c->rep.len)
		n = sock_write(c->sock, iov, reply_rest(&c->rep, c->sent, iov));
	if (n == -EAGAIN)
		n = 0;
	if (n < 0) {
		conn_close(s, c); /* EPIPE, ECONNRESET: the client went away */
		return -1;
	}
	if (n > 0) {
		c->sent += (uint64_t)n;
		conn_touch(s, c);
	}
	if (c->sent < c->rep.len) {
		c->state = CONN_WRITE;
		if (conn_set_events(s, c, SOCK_EV_OUT) == 0)
			return 0;
		conn_close(s, c);
		return -1;
	}
	s->requests++;
	if (!c->rep.keep_alive) {
		conn_finish(s, c);
		return -1;
	}
	http_reply_release(s->cache, &c->rep);
	http_req_init(&c->req);
	c->req_ns = 0;
	c->state = CONN_READ;
	if (conn_set_events(s, c, SOCK_EV_IN) == 0)
		return 0;
	conn_close(s, c);
	return -1;
}

/* Parse buffered bytes and answer every complete request, in order. */
static void conn_process(struct server *s, struct conn *c)
{
	while (c->state == CONN_READ && c->roff < c->rlen) {
		if (!c->req_ns)
			c->req_ns = s->now;
		c->roff += http_req_parse(&c->req, c->rbuf + c->roff, c->rlen - c->roff);
		if (!http_req_done(&c->req))
			break;
		http_reply_build(s->cache, &c->req, s->now, &c->rep);
		c->sent = 0;
		if (conn_send(s, c) < 0)
			return;
	}
	/* The parser consumed everything unless a reply is pending: rbuf is free again. */
	if (c->roff == c->rlen)
		c->roff = c->rlen = 0;
}

static void conn_recv(struct server *s, struct conn *c)
{
	ssize_t n = sock_read(c->sock, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen);

	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		conn_close(s, c); /* end of stream or reset, mid-request or idle */
		return;
	}
	c->rlen += (size_t)n;
	conn_touch(s, c);
	/* A request must arrive whole within the timeout: trickling a byte now and then is
	 * progress for conn_touch, but must not hold a connection forever (slowloris). */
	if (c->req_ns && s->now - c->req_ns > s->conf->server.timeout_ms * MS) {
		conn_close(s, c);
		return;
	}
	conn_process(s, c);
}

static void linger_recv(struct server *s, struct conn *c)
{
	ssize_t n = sock_read(c->sock, c->rbuf, sizeof(c->rbuf));

	/* Discarded; the linger timeout is not extended, so a talker cannot hold us. */
	if (n != -EAGAIN && n <= 0)
		conn_close(s, c);
}

/* Errors and hang-ups need no case of their own: they make the next read or write fail. */
static void conn_event(struct server *s, struct conn *c)
{
	switch (c->state) {
	case CONN_WRITE:
		if (conn_send(s, c) == 0 && c->state == CONN_READ)
			conn_process(s, c); /* pipelined requests waiting in rbuf */
		break;
	case CONN_READ:
		conn_recv(s, c);
		break;
	case CONN_LINGER:
		linger_recv(s, c);
		break;
	}
}

/* ---- accepting ---- */

static void conn_new(struct server *s, int sock)
{
	struct conn *c = malloc(sizeof(*c));

	if (!c) {
		sock_close(sock);
		return;
	}
	c->sock = sock;
	c->state = CONN_READ;
	c->events = SOCK_EV_IN;
	c->sent = 0;
	c->req_ns = 0;
	c->roff = c->rlen = 0;
	c->rep.file = NULL;
	c->rep.iovcnt = 0;
	http_req_init(&c->req);
	if (sock_poll_add(s->poll, sock, SOCK_EV_IN, c) < 0) {
		sock_close(sock);
		free(c);
		return;
	}
	c->last_ns = s->now;
	list_append(&s->active, c);
	s->conns++;
}

static void accept_pause(struct server *s, int err)
{
	/* Out of descriptors or memory: a level-triggered listener would spin, so stop
	 * watching it for a moment; timeouts will free descriptors meanwhile. */
	if (sock_poll_mod(s->poll, s->lsock, 0, &s->lsock) == 0)
		s->accept_resume_ns = s->now + HTTPD_ACCEPT_PAUSE_MS * MS;
	if (!s->conf->quiet)
		fprintf(stderr, "%s: accept: %s; pausing %d ms\n", s->conf->prog, strerror(-err),
			HTTPD_ACCEPT_PAUSE_MS);
}

static void server_accept(struct server *s)
{
	for (int i = 0; i < HTTPD_ACCEPT_BATCH; i++) {
		int sock = sock_accept(s->lsock);

		if (sock == -EAGAIN)
			return;
		if (sock == -EMFILE || sock == -ENFILE || sock == -ENOBUFS || sock == -ENOMEM) {
			accept_pause(s, sock);
			return;
		}
		if (sock >= 0) /* else the connection died before we took it: next */
			conn_new(s, sock);
	}
}

static void accept_resume(struct server *s)
{
	if (s->accept_resume_ns && s->now >= s->accept_resume_ns &&
	    sock_poll_mod(s->poll, s->lsock, SOCK_EV_IN, &s->lsock) == 0)
		s->accept_resume_ns = 0;
}

/* ---- timeouts ---- */

static void sweep_list(struct server *s, struct conn_list *l, uint64_t timeout_ns)
{
	while (l->head && s->now - l->head->last_ns >= timeout_ns)
		conn_close(s, l->head);
}

static void sweep(struct server *s)
{
	sweep_list(s, &s->active, s->conf->server.timeout_ms * MS);
	sweep_list(s, &s->linger, HTTPD_LINGER_MS * MS);
}

/* Milliseconds until the next timeout or pause end, at most HTTPD_TICK_MS. */
static int next_wakeup_ms(const struct server *s)
{
	uint64_t next = s->now + HTTPD_TICK_MS * MS;

	if (s->active.head && s->active.head->last_ns + s->conf->server.timeout_ms * MS < next)
		next = s->active.head->last_ns + s->conf->server.timeout_ms * MS;
	if (s->linger.head && s->linger.head->last_ns + HTTPD_LINGER_MS * MS < next)
		next = s->linger.head->last_ns + HTTPD_LINGER_MS * MS;
	if (s->accept_resume_ns && s->accept_resume_ns < next)
		next = s->accept_resume_ns;
	return next <= s->now ? 0 : (int)((next - s->now + MS - 1) / MS);
}

/* ---- the loop ---- */

static int server_setup(struct server *s, const struct httpd_conf *conf)
{
	struct http_cache_conf cc = {
	    .capacity = conf->server.cache_bytes,
	    .revalidate_ns = HTTP_CACHE_REVALIDATE_NS_DEFAULT,
	};
	int err;

	memset(s, 0, sizeof(*s));
	s->conf = conf;
	s->lsock = -1;
	err = http_cache_create(conf->server.docroot, &cc, &s->cache);
	if (err) {
		fprintf(stderr, "%s: docroot %s: %s\n", conf->prog, conf->server.docroot,
			strerror(-err));
		return err;
	}
	err = sock_poll_create(&s->poll);
	if (err)
		goto fail_cache;
	s->lsock = sock_listen(conf->server.addr, conf->server.port, HTTPD_BACKLOG);
	if (s->lsock < 0) {
		err = s->lsock;
		fprintf(stderr, "%s: listen on %s port %u: %s\n", conf->prog, conf->server.addr,
			conf->server.port,
			err == -EDESTADDRREQ ? "not a numeric IP address" : strerror(-err));
		goto fail_poll;
	}
	err = sock_poll_add(s->poll, s->lsock, SOCK_EV_IN, &s->lsock);
	if (err)
		goto fail_listen;
	return 0;
fail_listen:
	sock_close(s->lsock);
fail_poll:
	sock_poll_destroy(s->poll);
fail_cache:
	http_cache_destroy(s->cache);
	return err;
}

static void server_teardown(struct server *s)
{
	while (s->active.head)
		conn_close(s, s->active.head);
	while (s->linger.head)
		conn_close(s, s->linger.head);
	sock_close(s->lsock);
	sock_poll_destroy(s->poll);
	http_cache_destroy(s->cache);
}

int httpd_run(const struct httpd_conf *conf, volatile sig_atomic_t *stop)
{
	struct sock_event ev[HTTPD_EVENTS];
	struct server s;
	int err = server_setup(&s, conf);

	if (err)
		return err;
	if (!conf->quiet)
		fprintf(stderr, "%s: serving %s on %s port %u\n", conf->prog,
			http_cache_root(s.cache)->real, conf->server.addr, conf->server.port);
	while (!*stop) {
		int n;

		s.now = now_ns();
		n = sock_poll(s.poll, ev, HTTPD_EVENTS, next_wakeup_ms(&s));
		if (n < 0 && n != -EINTR) {
			fprintf(stderr, "%s: poll: %s\n", conf->prog, strerror(-n));
			err = n;
			break;
		}
		s.now = now_ns();
		/* A connection is only ever closed by its own event or by the sweep below, so no
		 * event of this batch can refer to a freed connection. */
		for (int i = 0; i < n; i++) {
			if (ev[i].data == &s.lsock)
				server_accept(&s);
			else
				conn_event(&s, ev[i].data);
		}
		sweep(&s);
		accept_resume(&s);
	}
	if (!conf->quiet)
		fprintf(stderr, "%s: exiting after %llu connections, %llu responses\n", conf->prog,
			(unsigned long long)s.conns, (unsigned long long)s.requests);
	server_teardown(&s);
	return err;
}
