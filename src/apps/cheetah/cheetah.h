/* cheetah.h - cheetah's shared structures and its cross-file functions, grouped by file */
#ifndef XOK_CHEETAH_H
#define XOK_CHEETAH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <exos/exos.h>
#include <exos/sys.h>
#include <exos/tcp.h>

#include "app.h"
#include "cache.h"
#include "request.h"
#include "serve.h"

/* The command line. Every specialisation of §5.3 can be switched off, one at a time, for
 * the Table II breakdown. */
struct cheetah_conf {
	struct app_server_opts server; /* addr NULL: the stack's address */
	struct app_service_opts svc;   /* --socket, --stats, -v */
	bool merge;	    /* knowledge-based packet merging: FIN on data, request ACK held */
	bool precsum;	    /* precomputed per-segment checksums */
	bool prehdr;	    /* precomputed response headers (and error responses) */
	bool cache;	    /* merged file cache and retransmission pool (zero copy) */
};

/* The callbacks' clock: CLOCK_MONOTONIC at tick resolution, several times cheaper than
 * exos_now_ns() and never ahead of it, which is all timeouts of seconds need. The loop
 * itself reads the precise clock, so a deadline it computes never wakes it too early. */
static inline uint64_t coarse_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- cache.c: registered memory for the file cache ---- */

/* Where arenas come from: xokd-registered regions in cheetah, malloc in the unit test. */
struct regmem_backing {
	int (*create)(void *ctx, size_t size, void **base, void **handle);
	void (*destroy)(void *ctx, void *handle);
	void *ctx;
};

struct regmem_stats {
	size_t arenas, arena_bytes, used_bytes, peak_bytes;
	uint64_t allocs, frees, failures;
};

struct regmem;
int regmem_create(const struct regmem_backing *b, size_t arena_bytes, struct regmem **out);
void regmem_destroy(struct regmem *m);
void *regmem_alloc(struct regmem *m, size_t len);
void regmem_free(struct regmem *m, void *p, size_t len);
const struct regmem_stats *regmem_stats(const struct regmem *m);
/* The backing that registers each arena with xokd (exos_region_create). */
struct regmem_backing regmem_exos_backing(struct exos_sys *sys);
/* libhttp's allocator callbacks over m. */
struct http_cache_alloc regmem_cache_alloc(struct regmem *m);

/* ---- precsum.c: precomputed per-segment checksums ---- */

struct precsum_stats {
	uint64_t index_loads, index_entries;
	uint64_t stored;   /* (file, segment size) sums taken from the index */
	uint64_t stale;	   /* ... whose index entry no longer matched the file */
	uint64_t computed; /* ... computed here (missing or stale) */
};

struct precsum;
int precsum_create(const char *docroot, int verbose, struct precsum **out);
void precsum_destroy(struct precsum *p);
/* libhttp cache hooks (struct http_cache_conf on_load/on_free, hook_ctx = p). */
int precsum_on_load(void *ctx, struct http_file *f);
void precsum_on_free(void *ctx, struct http_file *f);
/* The sums of f's seg_size-byte pieces in the stack's unit (exos_cksum_block), from the
 * index or computed once; NULL if memory ran out. Valid while f is held. */
const uint16_t *precsum_get(struct precsum *p, struct http_file *f, uint32_t seg_size,
			    uint64_t now_ns);
const struct precsum_stats *precsum_stats(const struct precsum *p);

/* ---- errpage.c: error responses in registered memory ---- */

struct errpages;
int errpages_create(struct regmem *m, struct errpages **out);
void errpages_destroy(struct errpages *e, struct regmem *m);
/* The complete response for (status, keep_alive, head), its length in *len and where its
 * Date line goes in *date_at; NULL if not prepared. */
const char *errpage_find(const struct errpages *e, int status, bool keep_alive, bool head,
			 size_t *len, size_t *date_at);

/* ---- conn.c: one HTTP connection on the low-level TCP API ---- */

enum conn_state {
	CONN_READ,   /* parsing requests, answering each at once */
	CONN_DRAIN,  /* the last response is queued with its FIN: input is discarded */
	CONN_CLOSED, /* handle given back (close/abort/error): waiting for on_free */
};

struct server;

struct conn {
	struct server *srv;
	struct exos_tcp *tcp;
	enum conn_state state;
	uint32_t mss;	   /* send MSS: which precomputed sums line up */
	bool segmented;	   /* xokd cuts frames of several segments: sums serve one-segment replies */
	uint32_t inflight; /* responses queued, their last request not yet reported sent */
	bool listed;	   /* on srv->active (timeout list) */
	bool queued;	   /* on srv->runq */
	bool paused;	   /* stopped consuming input: CHEETAH_PIPELINE_MAX or a copy pending */
	bool go;	   /* --no-merge: the request's ACK went out alone, now answer it */
	bool peer_fin;	   /* the client closed while a copy was staged: close after it */
	bool freed;	   /* on_free came: memory released at the end of the loop turn */
	uint64_t last_ns;  /* last progress */
	uint64_t req_ns;   /* first byte of the request being received, 0: none */
	struct conn *prev, *next;	  /* srv->active, least recent progress first */
	struct conn *run_next;		  /* srv->runq, or srv->graveyard */
	struct conn *all_prev, *all_next; /* srv->all: every conn not yet freed */
	/* A file a failed send may still gather from (part of its response got queued):
	 * released at on_free, when no frame refers to anything of ours any more. */
	struct http_file *orphan;
	/* --no-cache: the rest of a response still to be copied into the stack. */
	struct http_file *copy_file;
	const char *copy_ptr[2];
	size_t copy_len[2];
	bool copy_fin;
	char hdrbuf[HTTP_HDRBLOCK_MAX]; /* --no-prehdr: the header formatted per request */
	struct http_req req;
};

/* The listener's on_accept: a conn for c, which gets the connection callbacks. */
int conn_accept(struct server *srv, struct exos_tcp *c);
/* The loop's deferred work for cn (--no-merge answers, resumed parsing). */
void conn_run(struct conn *cn);
/* No progress for the timeout: give the handle back (gracefully if idle). */
void conn_expire(struct conn *cn);
/* Server exit: reset the connection (its sends are released). */
void conn_abort(struct conn *cn);
/* --no-cache: the staged response is all queued (reply.c). */
void conn_copied(struct conn *cn);

/* ---- reply.c: a response onto the wire ---- */

/* Queues rep (its file hold passes to the send, released at on_sent) and releases rep.
 * head: the request was HEAD; last: the connection ends with this response. Returns 0 or
 * -errno (nothing of the response may have been queued: the connection is unusable). */
int reply_send(struct conn *cn, struct http_reply *rep, bool head, bool last);
/* --no-cache: copy more of the staged response as the send buffer drains. */
void conn_push(struct conn *cn);

/* ---- server.c: the event loop ---- */

struct server_stats {
	uint64_t conns, requests, responses[6]; /* [status / 100] */
	uint64_t timeouts, slow_requests, resets;
	uint64_t precsum_replies, aligned_replies, copy_bytes, send_errors;
};

struct server {
	const struct cheetah_conf *conf;
	struct exos_sys *sys; /* ours: outlives the stack, so the cache can go last */
	struct exos_stack *stack;
	struct exos_tcp *listener;
	struct regmem *mem;
	struct http_cache *cache;
	struct precsum *sums;
	struct errpages *errs;
	uint64_t timeout_ns;
	struct conn *active_head, *active_tail; /* READ and DRAIN, by last progress */
	struct conn *runq;			/* deferred work for the loop */
	struct conn *graveyard;			/* freed by on_free, released after the turn */
	struct conn *spare;			/* released conns for reuse */
	struct conn *all;			/* every conn on_free has not released */
	uint64_t nconns;			/* conns not yet freed */
	struct server_stats st;
	uint64_t pinned;  /* responses in flight, all connections (files held) */
	char done_cookie; /* on_sent cookie of responses that hold no file */
};

int server_run(const struct cheetah_conf *conf, volatile sig_atomic_t *stop);
struct conn *server_conn_new(struct server *srv, struct exos_tcp *c);
void server_conn_free(struct server *srv, struct conn *cn);
void server_touch(struct server *srv, struct conn *cn, uint64_t now);
void server_unlist(struct server *srv, struct conn *cn);
void server_defer(struct server *srv, struct conn *cn);

#endif /* XOK_CHEETAH_H */
