/* server.c - cheetah's event loop: one wakeup predicate, per-request state, timeouts */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <exos/sys.h>

#include "app_xok.h"
#include "cheetah.h"
#include "param.h"

/*
 * Paper §5.3: "Cheetah simply waits for any relevant event (e.g., network packet arrival)
 * and then processes it ... per-request state is checked to see if forward progress can be
 * made". Here the wait is exos_stack_wait — one wakeup predicate in xokd covering the
 * stack's ring and its timers — and the processing happens in the stack's callbacks
 * (conn.c). The loop itself only runs the work callbacks deferred (runq), expires
 * connections that made no progress (the active list is ordered by last progress, so the
 * sweep is O(expired)), and recycles the connections on_free released (graveyard: their
 * memory stays valid until the turn ends, whatever the callbacks did meanwhile).
 */

#define MS	  1000000ull
#define SPARE_MAX 1024 /* released conns kept for reuse */

struct conn *server_conn_new(struct server *srv, struct exos_tcp *c)
{
	struct conn *cn = srv->spare;

	if (cn)
		srv->spare = cn->run_next;
	else if (!(cn = malloc(sizeof(*cn))))
		return NULL;
	memset(cn, 0, offsetof(struct conn, hdrbuf));
	http_req_init(&cn->req);
	cn->srv = srv;
	cn->tcp = c;
	cn->state = CONN_READ;
	cn->listed = true;
	cn->last_ns = coarse_now();
	cn->prev = srv->active_tail;
	*(srv->active_tail ? &srv->active_tail->next : &srv->active_head) = cn;
	srv->active_tail = cn;
	cn->all_next = srv->all;
	if (srv->all)
		srv->all->all_prev = cn;
	srv->all = cn;
	srv->nconns++;
	srv->st.conns++;
	return cn;
}

void server_unlist(struct server *srv, struct conn *cn)
{
	if (!cn->listed)
		return;
	*(cn->prev ? &cn->prev->next : &srv->active_head) = cn->next;
	*(cn->next ? &cn->next->prev : &srv->active_tail) = cn->prev;
	cn->prev = cn->next = NULL;
	cn->listed = false;
}

void server_touch(struct server *srv, struct conn *cn, uint64_t now)
{
	cn->last_ns = now;
	if (!cn->listed || srv->active_tail == cn)
		return;
	server_unlist(srv, cn);
	cn->listed = true;
	cn->prev = srv->active_tail;
	srv->active_tail->next = cn;
	srv->active_tail = cn;
}

void server_defer(struct server *srv, struct conn *cn)
{
	if (cn->queued || cn->freed)
		return;
	cn->queued = true;
	cn->run_next = srv->runq;
	srv->runq = cn;
}

/* on_free: the stack is done with cn; its memory goes at the end of the loop turn. */
void server_conn_free(struct server *srv, struct conn *cn)
{
	server_unlist(srv, cn);
	*(cn->all_prev ? &cn->all_prev->all_next : &srv->all) = cn->all_next;
	if (cn->all_next)
		cn->all_next->all_prev = cn->all_prev;
	if (cn->queued) {
		struct conn **pp = &srv->runq;

		while (*pp != cn)
			pp = &(*pp)->run_next;
		*pp = cn->run_next;
		cn->queued = false;
	}
	if (cn->copy_file)
		http_cache_put(srv->cache, cn->copy_file);
	if (cn->orphan)
		http_cache_put(srv->cache, cn->orphan);
	cn->copy_file = cn->orphan = NULL;
	cn->state = CONN_CLOSED;
	cn->freed = true;
	cn->run_next = srv->graveyard;
	srv->graveyard = cn;
	srv->nconns--;
}

static void reap(struct server *srv)
{
	struct conn *cn;
	unsigned kept = 0;

	for (cn = srv->spare; cn && kept < SPARE_MAX; cn = cn->run_next)
		kept++;
	while ((cn = srv->graveyard)) {
		srv->graveyard = cn->run_next;
		if (kept++ < SPARE_MAX) {
			cn->run_next = srv->spare;
			srv->spare = cn;
		} else {
			free(cn);
		}
	}
}

static void run_deferred(struct server *srv)
{
	struct conn *cn;

	while ((cn = srv->runq)) {
		srv->runq = cn->run_next;
		cn->queued = false;
		conn_run(cn);
	}
}

static void sweep(struct server *srv, uint64_t now)
{
	/* last_ns may be later than now: callbacks run after the loop read its clock. */
	while (srv->active_head && srv->active_head->last_ns + srv->timeout_ns <= now)
		conn_expire(srv->active_head);
}

static uint64_t next_deadline(const struct server *srv, uint64_t now)
{
	uint64_t d = now + CHEETAH_TICK_MS * MS;

	if (srv->active_head && srv->active_head->last_ns + srv->timeout_ns < d)
		d = srv->active_head->last_ns + srv->timeout_ns;
	return d;
}

/* ---- set-up and tear-down ---- */

static int listener_accept(struct exos_tcp *l, struct exos_tcp *c, void *arg)
{
	(void)l;
	return conn_accept(arg, c);
}

static const struct exos_tcp_ops listener_ops = {.on_accept = listener_accept};

static int server_listen(struct server *srv)
{
	const struct cheetah_conf *conf = srv->conf;
	struct exos_tcp_opts o = {
	    .sz = sizeof(o),
	    .local_port = conf->server.port,
	    .backlog = CHEETAH_BACKLOG,
	    /* --no-cache copies data in: bound it like a socket's send buffer. */
	    .sndbuf = conf->cache ? 0 : CHEETAH_COPY_SNDBUF,
	};

	if (conf->server.addr && inet_pton(AF_INET, conf->server.addr, &o.local_addr) != 1) {
		fprintf(stderr, "cheetah: not a numeric IPv4 address: %s\n", conf->server.addr);
		return -EINVAL;
	}
	return exos_tcp_listen(srv->stack, &o, &listener_ops, srv, &srv->listener);
}

static int server_open_cache(struct server *srv)
{
	const struct cheetah_conf *conf = srv->conf;
	struct regmem_backing b = regmem_exos_backing(srv->sys);
	struct http_cache_conf cc = {
	    .capacity = conf->server.cache_bytes,
	    .revalidate_ns = HTTP_CACHE_REVALIDATE_NS_DEFAULT,
	    .on_load = precsum_on_load,
	    .on_free = precsum_on_free,
	};
	int err = regmem_create(&b, CHEETAH_ARENA_BYTES, &srv->mem);

	if (err)
		return err;
	err = precsum_create(conf->server.docroot, conf->svc.verbose, &srv->sums);
	if (err)
		return err;
	cc.alloc = regmem_cache_alloc(srv->mem);
	cc.hook_ctx = srv->sums;
	err = http_cache_create(conf->server.docroot, &cc, &srv->cache);
	if (err)
		return err;
	return errpages_create(srv->mem, &srv->errs);
}

static void server_close_cache(struct server *srv)
{
	if (srv->errs)
		errpages_destroy(srv->errs, srv->mem);
	if (srv->cache)
		http_cache_destroy(srv->cache);
	if (srv->sums)
		precsum_destroy(srv->sums);
	if (srv->mem)
		regmem_destroy(srv->mem);
}

static int server_setup(struct server *srv, const struct cheetah_conf *conf)
{
	struct exos_stack_opts so = {
	    .sz = sizeof(so),
	    .pool_max_bytes = CHEETAH_POOL_MAX,
	};
	int err;

	memset(srv, 0, sizeof(*srv));
	srv->conf = conf;
	srv->timeout_ns = conf->server.timeout_ms * MS;
	err = app_sys_open("cheetah", conf->svc.socket, &srv->sys);
	if (err < 0)
		return err;
	so.sys = srv->sys;
	err = exos_stack_open(&so, &srv->stack);
	if (err < 0) {
		fprintf(stderr, "cheetah: libOS stack: %s\n", strerror(-err));
		exos_sys_close(srv->sys);
		return err;
	}
	err = server_open_cache(srv);
	if (err) {
		fprintf(stderr, "cheetah: docroot %s: %s\n", conf->server.docroot, strerror(-err));
		goto fail;
	}
	err = server_listen(srv);
	if (err) {
		fprintf(stderr, "cheetah: listen on port %u: %s\n", conf->server.port,
			strerror(-err));
		goto fail;
	}
	return 0;
fail:
	exos_stack_close(srv->stack);
	server_close_cache(srv);
	exos_sys_close(srv->sys);
	return err;
}

/* Reset every connection and give the stack a moment (bounded) to send the resets and
 * report their requests released. */
static void server_drain(struct server *srv)
{
	uint64_t end = exos_now_ns() + CHEETAH_DRAIN_MS * MS;

	exos_tcp_close(srv->listener);
	while (srv->active_head)
		conn_abort(srv->active_head);
	while (srv->pinned && exos_now_ns() < end) {
		uint64_t d = exos_now_ns() + 10 * MS;

		if (exos_stack_wait(srv->stack, d < end ? d : end) == -EPIPE)
			break;
		run_deferred(srv);
		reap(srv);
	}
}

/* The stack goes first (no callback and no frame of ours after it; frames xokd still holds
 * keep their regions pinned there), then the connections it never freed and the holds they
 * had, then the cache and its registered memory, and the connection to xokd last. */
static void server_teardown(struct server *srv)
{
	struct conn *cn;

	server_drain(srv);
	exos_stack_close(srv->stack);
	while ((cn = srv->all)) {
		srv->runq = NULL; /* nothing runs any more */
		cn->queued = false;
		server_conn_free(srv, cn);
	}
	if (srv->pinned)
		fprintf(stderr, "cheetah: %llu responses were still in flight at exit\n",
			(unsigned long long)srv->pinned);
	reap(srv);
	while ((cn = srv->spare)) {
		srv->spare = cn->run_next;
		free(cn);
	}
	server_close_cache(srv);
	exos_sys_close(srv->sys);
}

/* ---- statistics (--stats) ---- */

static double per(uint64_t n, uint64_t d)
{
	return d ? (double)n / (double)d : 0.0;
}

#define U(x) ((unsigned long long)(x))

static void report_stack(const struct server *srv)
{
	const struct server_stats *st = &srv->st;
	struct exos_stack_stats xs;

	exos_stack_stats(srv->stack, &xs);
	fprintf(stderr,
		"cheetah: stats: packets per request: %.2f received, %.2f sent, %.2f total "
		"(%llu rx, %llu tx frames)\n",
		per(xs.rx_frames, st->requests), per(xs.tx_frames, st->requests),
		per(xs.rx_frames + xs.tx_frames, st->requests), U(xs.rx_frames), U(xs.tx_frames));
	fprintf(stderr,
		"cheetah: stats: tcp: %llu segments in, %llu frames out (%llu segmented by xokd), "
		"%llu retransmits (%llu fast, %llu timeouts), %llu resets out, %llu duplicates in, "
		"%llu out of order in\n",
		U(xs.tcp_in), U(xs.tcp_out), U(xs.tcp_gso_out), U(xs.tcp_retransmits),
		U(xs.tcp_fast_retransmits),
		U(xs.tcp_rto_fired), U(xs.tcp_rst_out), U(xs.tcp_dup_in), U(xs.tcp_ooo_in));
	fprintf(stderr,
		"cheetah: stats: drops: %llu rx (csum %llu, not ours %llu), %llu tx (no buffer), "
		"%llu tx retried, %llu tx errors\n",
		U(xs.rx_drop_truncated + xs.rx_drop_badeth + xs.rx_drop_badip + xs.rx_drop_notours +
		  xs.rx_drop_csum + xs.rx_drop_noproto),
		U(xs.rx_drop_csum), U(xs.rx_drop_notours), U(xs.tx_drop_nobuf), U(xs.tx_again),
		U(xs.tx_errors));
}

static void server_report(const struct server *srv)
{
	const struct server_stats *st = &srv->st;
	const struct http_cache_stats *cs = http_cache_stats(srv->cache);
	const struct precsum_stats *ps = precsum_stats(srv->sums);
	const struct regmem_stats *ms = regmem_stats(srv->mem);

	fprintf(stderr,
		"cheetah: stats: %llu connections, %llu requests (2xx %llu, 4xx %llu, 5xx %llu)\n",
		U(st->conns), U(st->requests), U(st->responses[2]), U(st->responses[4]),
		U(st->responses[5]));
	report_stack(srv);
	fprintf(stderr,
		"cheetah: stats: timeouts %llu, slow requests %llu, peer resets %llu, "
		"send errors %llu\n",
		U(st->timeouts), U(st->slow_requests), U(st->resets), U(st->send_errors));
	fprintf(stderr,
		"cheetah: stats: precsum: %llu replies with sums (%llu aligned), sums %llu from "
		"index, %llu computed, %llu stale\n",
		U(st->precsum_replies), U(st->aligned_replies), U(ps->stored), U(ps->computed),
		U(ps->stale));
	fprintf(stderr,
		"cheetah: stats: cache: %llu hits, %llu loads, %zu files, %zu bytes; registered "
		"%zu arenas, %zu bytes, peak %zu used\n",
		U(cs->hits), U(cs->loads), cs->files, cs->bytes, ms->arenas, ms->arena_bytes,
		ms->peak_bytes);
	fprintf(stderr, "cheetah: stats: copied %llu bytes (--no-cache)\n", U(st->copy_bytes));
}

/* ---- the loop ---- */

static const char *onoff(bool on)
{
	return on ? "on" : "off";
}

int server_run(const struct cheetah_conf *conf, volatile sig_atomic_t *stop)
{
	struct server srv;
	int err = server_setup(&srv, conf);
	uint64_t now;

	if (err)
		return err;
	fprintf(stderr,
		"cheetah: serving %s on %s port %u (merge %s, precsum %s, prehdr %s, cache %s)\n",
		http_cache_root(srv.cache)->real, conf->server.addr ? conf->server.addr : "*",
		conf->server.port,
		onoff(conf->merge), onoff(conf->precsum), onoff(conf->prehdr), onoff(conf->cache));
	now = exos_now_ns();
	while (!*stop) {
		err = exos_stack_wait(srv.stack, next_deadline(&srv, now));
		if (err == -EPIPE) {
			fprintf(stderr, "cheetah: xokd went away\n");
			break;
		}
		err = 0;
		now = exos_now_ns();
		run_deferred(&srv);
		sweep(&srv, now);
		reap(&srv);
	}
	if (conf->svc.stats)
		server_report(&srv);
	fprintf(stderr, "cheetah: exiting after %llu connections, %llu requests\n", U(srv.st.conns),
		U(srv.st.requests));
	server_teardown(&srv);
	return err;
}
