/* main.c - twd: command line, xokd (ring, transmit, filter references), the main loop */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <exos/sys.h>

#include "twd.h"
#include "app.h"
#include "app_xok.h"

static const char usage[] =
	"usage: twd [--socket PATH] [--xok-socket PATH] [--msl S] [-v]... [--help]\n"
	"\n"
	"twd is the TIME_WAIT server (the paper's section 3.3 (3), recommended approach):\n"
	"when a libexos process exits, it hands over its connections in TIME_WAIT and those\n"
	"still closing, with the DPF filters that deliver them, and ends at once; twd\n"
	"re-points the filters to its own ring and speaks for the connections (RFC 9293):\n"
	"it ACKs retransmitted FINs, retransmits unacknowledged FINs, resets data that\n"
	"arrives after the close, handles a SYN reusing a 4-tuple in TIME_WAIT per RFC 6191,\n"
	"and lets each connection go after 2*MSL.\n"
	"\n"
	"  -s, --socket PATH      where applications reach twd (default $" TWD_SOCKET_ENV ",\n"
	"                         else " TWD_SOCKET_DEFAULT "; mode 0666)\n"
	"  -x, --xok-socket PATH  xokd's control socket (default $" XOK_SOCKET_ENV ", else\n"
	"                         " XOK_SOCKET_DEFAULT ")\n"
	"  -m, --msl S            maximum segment lifetime in seconds (default 30; TIME_WAIT\n"
	"                         lasts 2*MSL from when it began; fractions allowed)\n"
	"  -v, --verbose          log every hand-off and port given back (-vv: every\n"
	"                         connection's end)\n"
	"  -h, --help             this text\n"
	"\n"
	"SIGUSR1 prints the counters to stderr; SIGINT and SIGTERM stop twd (the connections\n"
	"it holds are dropped: their filters go with it).\n";

struct twd_main {
	struct exos_sys *sys;
	struct exos_ring *ring;
	struct xok_info_reply info;
	struct exos_region *txr;
	uint32_t *inflight;
	uint8_t *frames;
	uint32_t tx_next;
	struct twd *t;
	int verbose;
};

/* ---- what the engine needs (struct twd_ops) ---- */

static int op_ref(void *arg, uint32_t filter, const struct xok_cap *cap)
{
	struct twd_main *m = arg;
	int err = -EAGAIN;

	/* -EAGAIN: xokd's request-rate limit; it lets us go again within milliseconds */
	for (int i = 0; i < TWD_REF_RETRIES && err == -EAGAIN; i++) {
		err = exos_filter_ref(m->sys, filter, cap, m->ring);
		if (err == -EAGAIN)
			nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	return err;
}

static void op_unref(void *arg, uint32_t filter)
{
	struct twd_main *m = arg;

	for (int i = 0; i < TWD_REF_RETRIES; i++) {
		if (exos_filter_delete(m->sys, filter) != -EAGAIN)
			return;
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
}

static int op_xmit(void *arg, uint32_t ifindex, const uint8_t *frame, uint32_t len)
{
	struct twd_main *m = arg;
	struct exos_iov iov;
	int err;

	for (uint32_t k = 0; k < TWD_TX_SLOTS; k++) {
		uint32_t i = (m->tx_next + k) % TWD_TX_SLOTS;
		uint32_t *word = &m->inflight[i];
		uint8_t *buf = m->frames + (size_t)i * TWD_TX_SLOT_SIZE;

		if (xok_load_acquire(word))
			continue;
		m->tx_next = (i + 1) % TWD_TX_SLOTS;
		memcpy(buf, frame, len);
		iov.base = buf;
		iov.len = len;
		__atomic_store_n(word, 1, __ATOMIC_RELAXED);
		err = exos_xmit(m->sys, ifindex, &iov, 1, word);
		if (err == -EAGAIN) {
			exos_xmit_flush(m->sys);
			err = exos_xmit(m->sys, ifindex, &iov, 1, word);
		}
		if (err)
			__atomic_store_n(word, 0, __ATOMIC_RELAXED);
		return err;
	}
	return -ENOBUFS;
}

static const struct twd_ops twd_ops = {
	.ref = op_ref,
	.unref = op_unref,
	.xmit = op_xmit,
};

/* ---- jobs from the socket (server.c) ---- */

/* The record's interface is one of xokd's, with the record's local address. */
static bool iface_ok(const struct twd_main *m, const struct twd_rec *r)
{
	for (uint32_t i = 0; i < m->info.niface && i < XOK_IFACES_MAX; i++) {
		const struct xok_iface_info *ifc = &m->info.ifaces[i];
		if (ifc->ifindex == r->ifindex && ifc->addr == r->laddr &&
		    !memcmp(ifc->mac, r->lmac, sizeof(r->lmac)))
			return true;
	}
	return false;
}

static void run_job(struct twd_job *j, void *arg)
{
	struct twd_main *m = arg;
	uint64_t now = exos_now_ns();
	uint32_t taken = 0;
	int first_err = 0;

	switch (j->type) {
	case TWD_JOB_HANDOFF:
		memset(&j->ack, 0, sizeof(j->ack));
		for (uint32_t i = 0; i < j->n; i++) {
			struct twd_rec r;
			memcpy(&r, &j->recs[i], sizeof(r));
			int err = iface_ok(m, &r) ? twd_add(m->t, &r, now) : -EINVAL;
			if (err == 0) {
				j->ack.taken[i / 64] |= 1ull << (i % 64);
				taken++;
			} else if (!first_err) {
				first_err = err;
			}
		}
		twd_note_handoff(m->t, j->n, taken);
		j->status = 0;
		if (m->verbose || first_err)
			fprintf(stderr,
				"twd: pid %d handed over %u connection%s, %u taken in %.1f ms%s%s\n",
				(int)j->pid, j->n, j->n == 1 ? "" : "s", taken,
				(double)(exos_now_ns() - now) / 1e6,
				first_err ? "; first refusal: " : "",
				first_err ? strerror(-first_err) : "");
		break;
	case TWD_JOB_TAKE:
		j->status = twd_take(m->t, j->take.laddr, j->take.lport, &j->port, &j->out,
				     &j->nout, now);
		if (m->verbose && j->status == 0)
			fprintf(stderr, "twd: pid %d took port %u back with %u connection%s\n",
				(int)j->pid, ntohs(j->take.lport), j->nout, j->nout == 1 ? "" : "s");
		break;
	case TWD_JOB_DONE:
		twd_take_done(m->t, j->filter);
		j->status = 0;
		break;
	}
}

/* ---- set-up ---- */

static int parse_msl(const char *s, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);

	if (*end || end == s || !isfinite(v) || v < 0.001 || v > 3600) {
		fprintf(stderr, "twd: --msl wants seconds (0.001..3600): %s\n", s);
		return -EINVAL;
	}
	*out = (uint64_t)(v * 1e9);
	return 0;
}

static void print_stats(struct twd_main *m)
{
	const struct twd_stats *s = twd_stats(m->t);
	uint32_t by[EXOS_TCP_STATE_NR];
	uint32_t n = twd_count(m->t, by);

#define U(x) (unsigned long long)(x)
	fprintf(stderr,
		"twd: stats: conns %u fin_wait_1 %u fin_wait_2 %u closing %u last_ack %u "
		"time_wait %u filters %u releasing %u handoffs %llu taken %llu refused %llu rx %llu "
		"rx_bad %llu rx_stray %llu rx_given %llu acks %llu fin_in %llu fin_rtx %llu "
		"resets %llu challenge_acks %llu rate_limited %llu paws %llu rst_in %llu "
		"data_rst %llu syn_reuse %llu syn_old %llu ended_timewait %llu "
		"ended_fin_wait2 %llu ended_last_ack %llu ended_rst %llu ended_syn %llu "
		"ended_data %llu ended_gaveup %llu ended_released %llu takes %llu "
		"ports_given %llu ports_released %llu tx %llu tx_errors %llu\n",
		n, by[EXOS_TCP_FIN_WAIT_1], by[EXOS_TCP_FIN_WAIT_2], by[EXOS_TCP_CLOSING],
		by[EXOS_TCP_LAST_ACK], by[EXOS_TCP_TIME_WAIT], twd_filters(m->t),
		twd_releasing(m->t), U(s->handoffs),
		U(s->taken), U(s->refused), U(s->rx), U(s->rx_bad), U(s->rx_stray),
		U(s->rx_given), U(s->acks), U(s->fin_in), U(s->fin_rtx), U(s->resets),
		U(s->challenge_acks), U(s->rate_limited), U(s->paws), U(s->rst_in),
		U(s->data_rst), U(s->syn_reuse), U(s->syn_old), U(s->ended_timewait),
		U(s->ended_fin_wait2), U(s->ended_last_ack), U(s->ended_rst), U(s->ended_syn),
		U(s->ended_data), U(s->ended_gaveup), U(s->ended_released), U(s->takes),
		U(s->ports_given), U(s->ports_released), U(s->tx), U(s->tx_errors));
#undef U
}

static int setup(struct twd_main *m, const char *xok_socket, uint64_t msl)
{
	size_t words = TWD_TX_SLOTS * sizeof(uint32_t);
	int err;

	err = app_sys_open("twd", xok_socket, &m->sys);
	if (err)
		return err;
	err = exos_sys_info(m->sys, &m->info);
	if (!err)
		err = exos_ring_create(m->sys, TWD_RING_ENTRY_SIZE, TWD_RING_ENTRIES, &m->ring);
	if (!err)
		err = exos_region_create(m->sys, words + (size_t)TWD_TX_SLOTS * TWD_TX_SLOT_SIZE,
					 &m->txr);
	if (err) {
		fprintf(stderr, "twd: xokd set-up: %s\n", strerror(-err));
		return err;
	}
	m->inflight = m->txr->base;
	m->frames = (uint8_t *)m->txr->base + words;
	m->t = twd_new(&twd_ops, m, msl);
	return m->t ? 0 : -ENOMEM;
}

static void rx_drain(struct twd_main *m)
{
	struct xok_ring_entry *e;
	uint64_t now = exos_now_ns();

	for (uint32_t budget = TWD_RING_ENTRIES; budget && (e = exos_ring_peek(m->ring)); budget--) {
		if (!(e->flags & XOK_RX_TRUNCATED))
			twd_input(m->t, e->filter_id, e->data, e->caplen, now);
		exos_ring_release(m->ring);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"xok-socket", required_argument, NULL, 'x'},
		{"msl", required_argument, NULL, 'm'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *path = getenv(TWD_SOCKET_ENV), *xok_socket = NULL;
	uint64_t msl = TWD_MSL_DEFAULT_NS;
	struct twd_main m = {0};
	struct twd_server *sv;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "s:x:m:vh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'x':
			xok_socket = optarg;
			break;
		case 'm':
			if (parse_msl(optarg, &msl))
				return 2;
			break;
		case 'v':
			m.verbose++;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "twd: unexpected argument: %s\n%s", argv[optind], usage);
		return 2;
	}
	if (!path || !*path)
		path = TWD_SOCKET_DEFAULT;

	app_signals(1);

	if (setup(&m, xok_socket, msl))
		return 1;
	sv = twd_server_start(path, m.sys, run_job, &m, m.verbose);
	if (!sv) {
		twd_free(m.t);
		exos_sys_close(m.sys);
		return 1;
	}
	fprintf(stderr, "twd: ready: socket %s, msl %.3f s\n", path, (double)msl / 1e9);

	while (!app_stop) {
		uint64_t now, d;
		int err;

		if (app_dump) {
			app_dump = 0;
			print_stats(&m);
		}
		twd_server_poll(sv);
		rx_drain(&m);
		twd_timers(m.t, exos_now_ns());
		exos_xmit_flush(m.sys);
		/* a few filters back to xokd per turn: each costs xokd a recompile */
		bool more = twd_release(m.t, TWD_RELEASE_BATCH) != 0;
		now = exos_now_ns();
		d = twd_next_timer(m.t);
		if (!d || d > now + TWD_WAIT_MAX_NS)
			d = now + TWD_WAIT_MAX_NS;
		if (more)
			d = now + 1; /* just look at the ring again, then release more */
		err = exos_sys_wait(m.sys, d);
		if (err == -EPIPE) {
			fprintf(stderr, "twd: xokd went away\n");
			rc = 1;
			break;
		}
	}
	if (m.verbose)
		print_stats(&m);
	twd_server_stop(sv);
	twd_free(m.t);
	exos_sys_close(m.sys);
	return rc;
}
