/* stats.c - xfwd's counters: its own, per backend, per connection state, and xokd's */
#include <arpa/inet.h>
#include <string.h>

#include "xfwd.h"

#define U(x) ((unsigned long long)(x))

/* xokd's view: our filters' hits and bytes, our transmissions. */
static void stats_xokd(struct xfwd *x, FILE *f)
{
	struct xok_stats_reply rep;
	uint32_t cursor = 0, app = exos_sys_app_id(x->sys);

	do {
		if (exos_sys_stats(x->sys, XOK_STATS_FILTER, cursor, &rep))
			return;
		for (uint32_t i = 0; i < rep.count; i++) {
			const struct xok_stat_rec *r = &rep.recs[i];
			const char *what = NULL;

			if (r->owner != app)
				continue;
			if (r->id == x->listen.id)
				what = "listen";
			for (uint32_t k = 0; k < x->nifs && !what; k++)
				if (x->ifs[k].has_ret && x->ifs[k].ret.id == r->id)
					what = "return";
			if (!what)
				continue; /* per-connection filters: too many to list */
			fprintf(f, "xfwd: xokd: filter %u (%s): hits %llu bytes %llu\n", r->id,
				what, U(r->c[XOK_SF_HITS]), U(r->c[XOK_SF_BYTES]));
		}
		cursor = rep.next_cursor;
	} while (cursor);
	cursor = 0;
	do {
		if (exos_sys_stats(x->sys, XOK_STATS_APP, cursor, &rep))
			return;
		for (uint32_t i = 0; i < rep.count; i++) {
			const struct xok_stat_rec *r = &rep.recs[i];

			if (r->id != app)
				continue;
			fprintf(f,
				"xfwd: xokd: app %u: filters %llu tx_frames %llu tx_rejected %llu "
				"wakeups %llu\n",
				app, U(r->c[XOK_SA_FILTERS]), U(r->c[XOK_SA_TX_FRAMES]),
				U(r->c[XOK_SA_TX_REJECTED]), U(r->c[XOK_SA_WAKEUPS]));
		}
		cursor = rep.next_cursor;
	} while (cursor);
}

void stats_print(struct xfwd *x, FILE *f)
{
	const struct xfwd_stats *s = &x->st;
	const struct conn_stats *c = &x->ct.st;

	fprintf(f,
		"xfwd: stats: rx %llu rx_bytes %llu drop: not_tcp %llu malformed %llu "
		"truncated %llu fragment %llu no_conn %llu no_backend %llu no_route %llu tx %llu; "
		"csum_partial %llu rx_copied %llu tx_again %llu held_max %llu "
		"merged_frames %llu merged_segs %llu "
		"filter_inserts %llu filter_collisions %llu filter_errors %llu "
		"arp_requests %llu arp_failures %llu arp_queued %llu arp_queue_drops %llu "
		"cmac_table %llu cmac_learned %llu\n",
		U(s->rx), U(s->rx_bytes), U(s->drop_not_tcp), U(s->drop_malformed),
		U(s->drop_truncated), U(s->drop_fragment), U(s->drop_no_conn),
		U(s->drop_no_backend), U(s->drop_no_route), U(s->drop_tx), U(s->csum_partial),
		U(s->rx_copied), U(s->tx_again), U(s->held_max), U(s->merged_frames),
		U(s->merged_segs), U(s->filter_inserts),
		U(s->filter_collisions), U(s->filter_errors), U(s->arp_requests),
		U(s->arp_failures), U(s->arp_queued), U(s->arp_queue_drops), U(s->cmac_table),
		U(s->cmac_learned));
	fprintf(f,
		"xfwd: conns: active %u syn %u est %u linger %u created %llu syn_retrans %llu "
		"recycled %llu closed_fin %llu closed_rst %llu expired_syn %llu expired_idle %llu "
		"expired_linger %llu full %llu\n",
		x->ct.inuse, x->ct.lists[CONN_SYN].n, x->ct.lists[CONN_EST].n,
		x->ct.lists[CONN_LINGER].n, U(c->created), U(c->syn_retrans), U(c->recycled),
		U(c->closed_fin), U(c->closed_rst), U(c->expired_syn), U(c->expired_idle),
		U(c->expired_linger), U(c->full));
	for (uint32_t i = 0; i < x->be.n; i++) {
		const struct xfwd_backend *b = &x->be.b[i];
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &b->addr, ip, sizeof(ip));
		fprintf(f,
			"xfwd: backend %u %s:%u: conns %llu active %u pkts_c2b %llu bytes_c2b %llu "
			"pkts_b2c %llu bytes_b2c %llu no_port %llu%s\n",
			i, ip, ntohs(b->port), U(b->st.conns), b->active, U(b->st.pkts_c2b),
			U(b->st.bytes_c2b), U(b->st.pkts_b2c), U(b->st.bytes_b2c), U(b->st.no_port),
			b->down_until > x->now ? " (down)" : "");
	}
	if (x->sys)
		stats_xokd(x, f);
	fflush(f);
}
