/* stats.c - the STATS op: counters per interface, ring, filter and app, with cursors */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"
#include "xok_shared.h"

static void stats_iface(struct xokd *x, struct iface *ifc, struct xok_stat_rec *r)
{
	uint64_t e[XOK_ESTAT_NR], drops = 0, seen;
	uint32_t q;

	iface_entry_stats(ifc, e);
	for (q = 0; q < ifc->nports; q++)
		drops += xport_kernel_drops(ifc->ports[q]);
	(void)x;
	seen = e[XOK_ESTAT_RX];
	r->id = ifc->ifindex;
	r->flags = ifc->nports;
	r->c[XOK_SI_RX] = ifc->rx;
	r->c[XOK_SI_TX] = ifc->tx;
	r->c[XOK_SI_DROP_UNMATCHED] = seen > ifc->rx + drops ? seen - ifc->rx - drops : 0;
	r->c[XOK_SI_DROP_RING_FULL] = ifc->drop_ring_full;
	r->c[XOK_SI_DROP_NO_FILTER] = ifc->drop_no_filter;
	r->c[XOK_SI_TX_ERRORS] = ifc->tx_errors + drops;
	r->c[XOK_SI_RX_BYTES] = ifc->rx_bytes;
	r->c[XOK_SI_TX_BYTES] = ifc->tx_bytes;
	memcpy(r->name, ifc->name, sizeof(r->name));
}

static void stats_name(char name[16], const struct app *a)
{
	if (a)
		memcpy(name, a->comm, 16);
}

static int ring_cmp(const void *pa, const void *pb)
{
	const struct ring *a = *(struct ring *const *)pa, *b = *(struct ring *const *)pb;

	return a->id < b->id ? -1 : a->id > b->id;
}

static void stats_rings(struct xokd *x, uint32_t cursor, struct xok_stats_reply *out)
{
	struct ring **all, *r;
	struct app *a;
	size_t n = 0, cap = 0, i;

	list_for_each_entry(a, &x->apps, link) cap += a->nrings;
	all = calloc(cap ? cap : 1, sizeof(*all));
	if (!all)
		return;
	list_for_each_entry(a, &x->apps, link)
	    list_for_each_entry(r, &a->rings, app_link) if (r->id >= cursor && n < cap) all[n++] =
		r;
	qsort(all, n, sizeof(*all), ring_cmp);
	for (i = 0; i < n && out->count < XOK_STATS_MAX; i++) {
		struct xok_stat_rec *s = &out->recs[out->count++];

		r = all[i];
		s->id = r->id;
		s->owner = r->app->id;
		s->flags = r->nentries;
		s->c[XOK_SR_DELIVERED] = r->delivered;
		s->c[XOK_SR_DROPPED_FULL] = r->dropped_full;
		s->c[XOK_SR_TRUNCATED] = r->truncated;
		s->c[XOK_SR_BYTES] = r->bytes;
		s->c[XOK_SR_ENTRY_SIZE] = r->entry_size;
		stats_name(s->name, r->app);
	}
	if (i < n)
		out->next_cursor = all[i]->id;
	free(all);
}

/*
 * The record for the object with this id in a walk by increasing id, or NULL: the id is
 * below the cursor (an earlier reply carried it), or the reply is full, in which case
 * next_cursor names the first id left out and every later call returns NULL too.
 */
static struct xok_stat_rec *stats_take(struct xok_stats_reply *out, uint32_t id,
				       uint32_t cursor)
{
	if (id < cursor || out->next_cursor)
		return NULL;
	if (out->count == XOK_STATS_MAX) {
		out->next_cursor = id;
		return NULL;
	}
	return &out->recs[out->count++];
}

static void stats_filters(struct xokd *x, uint32_t cursor, struct xok_stats_reply *out)
{
	struct filter *f;

	list_for_each_entry(f, &x->filters, link)
	{
		struct xok_stat_rec *s = stats_take(out, f->id, cursor);

		if (!s)
			continue;
		s->id = f->id;
		s->owner = f->owner_id;
		s->parent = f->copy_slot < 0 ? dpf_set_parent(x->dpf, f->id) : 0;
		s->flags = f->flags;
		if (dpf_set_in_table(x->dpf, f->id))
			s->flags |= XOK_DPF_STAT_TABLED;
		s->c[XOK_SF_HITS] = f->hits;
		s->c[XOK_SF_BYTES] = f->bytes;
		s->c[XOK_SF_RING] = f->ring ? f->ring->id : 0;
		s->c[XOK_SF_REFS] = f->nrefs;
		s->c[XOK_SF_COPY] = (uint64_t)(f->copy_slot + 1);
		stats_name(s->name, f->owner);
	}
}

/* stats_app_rec: the next record for app a (identity filled in), or NULL if it is not due */
static struct xok_stat_rec *stats_app_rec(struct xok_stats_reply *out, const struct app *a,
					  uint32_t cursor)
{
	struct xok_stat_rec *s = stats_take(out, a->id, cursor);

	if (!s)
		return NULL;
	s->id = a->id;
	s->owner = (uint32_t)a->pid;
	s->parent = (uint32_t)a->uid;
	stats_name(s->name, a);
	return s;
}

static void stats_apps(struct xokd *x, uint32_t cursor, struct xok_stats_reply *out)
{
	struct app *a;

	list_for_each_entry(a, &x->apps, link)
	{
		struct xok_stat_rec *s = stats_app_rec(out, a, cursor);

		if (!s)
			continue;
		s->flags = a->privileged;
		s->c[XOK_SA_REGIONS] = a->nregions;
		s->c[XOK_SA_REGION_BYTES] = a->region_bytes;
		s->c[XOK_SA_RINGS] = a->nrings;
		s->c[XOK_SA_FILTERS] = a->nfilters;
		s->c[XOK_SA_TX_FRAMES] = a->tx_frames;
		s->c[XOK_SA_TX_REJECTED] = a->tx_rejected;
		s->c[XOK_SA_CTL_REQUESTS] = a->ctl_requests;
		s->c[XOK_SA_WAKEUPS] = a->wakeups;
	}
}

static uint32_t txq_backlog(const struct app *a)
{
	uint32_t prod;

	if (!a->txq)
		return 0;
	prod = xok_load_acquire(&a->txq->hdr->prod);
	return prod - a->txq->cons <= a->txq->nentries ? prod - a->txq->cons : 0;
}

static void stats_apps_tx(struct xokd *x, uint32_t cursor, struct xok_stats_reply *out)
{
	struct app *a;

	list_for_each_entry(a, &x->apps, link)
	{
		struct xok_stat_rec *s = stats_app_rec(out, a, cursor);

		if (!s)
			continue;
		s->flags = a->tx_weight;
		s->c[XOK_SAT_TX_BYTES] = a->tx_bytes;
		s->c[XOK_SAT_TX_DENIED] = a->tx_denied;
		s->c[XOK_SAT_TXQ_BACKLOG] = txq_backlog(a);
		s->c[XOK_SAT_TX_INFLIGHT] = a->tx_inflight;
		s->c[XOK_SAT_CTL_THROTTLED] = a->ctl_throttled;
		s->c[XOK_SAT_LIMIT_HITS] = a->limit_hits;
		s->c[XOK_SAT_DEFICIT] = a->tx_deficit > 0 ? (uint64_t)a->tx_deficit : 0;
		s->c[XOK_SAT_TX_GSO] = a->tx_gso;
	}
}

static void stats_impair(struct xokd *x, struct iface *ifc, struct xok_stat_rec *r)
{
	uint32_t k;

	r->id = ifc->ifindex;
	r->flags = impair_on(x);
	for (k = 0; k < 4; k++) {
		r->c[XOK_SI_IMP_RX_DROP + k] = ifc->imp_rx.st[IMP_DROP + k];
		r->c[XOK_SI_IMP_TX_DROP + k] = ifc->imp_tx.st[IMP_DROP + k];
	}
	memcpy(r->name, ifc->name, sizeof(r->name));
}

static void stats_dpf(struct xokd *x, struct xok_stat_rec *r)
{
	r->flags = 1; /* xokd always runs with tables */
	r->c[XOK_SD_PROGRAMS] = x->dpf_compiles - x->dpf_compile_errors;
	r->c[XOK_SD_PROGRAM_ERRORS] = x->dpf_compile_errors;
	r->c[XOK_SD_FILTERS] = dpf_set_count(x->dpf);
	r->c[XOK_SD_TABLED] = dpf_set_tabled(x->dpf);
	r->c[XOK_SD_TABLE_INSERTS] = x->dpf_table_inserts;
	r->c[XOK_SD_TABLE_DELETES] = x->dpf_table_deletes;
	r->c[XOK_SD_INSNS] = x->dpf_last_insns;
	r->c[XOK_SD_LOAD_US] = x->dpf_last_load_us;
	memcpy(r->name, "dpf", 4);
}

int op_stats(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd)
{
	const struct xok_stats_req *m = req;
	struct xok_stats_reply *out = rep;
	uint32_t i;

	(void)a;
	(void)fd;
	(void)rep_fd;
	switch (m->kind) {
	case XOK_STATS_IFACE:
		for (i = m->cursor; i < x->niface && out->count < XOK_STATS_MAX; i++)
			stats_iface(x, &x->ifaces[i], &out->recs[out->count++]);
		out->next_cursor = i < x->niface ? i : 0;
		return 0;
	case XOK_STATS_RING:
		stats_rings(x, m->cursor, out);
		return 0;
	case XOK_STATS_FILTER:
		stats_filters(x, m->cursor, out);
		return 0;
	case XOK_STATS_APP:
		stats_apps(x, m->cursor, out);
		return 0;
	case XOK_STATS_APP_TX:
		stats_apps_tx(x, m->cursor, out);
		return 0;
	case XOK_STATS_IMPAIR:
		for (i = m->cursor; i < x->niface && out->count < XOK_STATS_MAX; i++)
			stats_impair(x, &x->ifaces[i], &out->recs[out->count++]);
		out->next_cursor = i < x->niface ? i : 0;
		return 0;
	case XOK_STATS_DPF:
		if (m->cursor)
			return -EINVAL;
		stats_dpf(x, &out->recs[out->count++]);
		return 0;
	}
	return -EINVAL;
}
