/* filter.c - the filter table: ids, capabilities, ownership, the tree rule, recompilation */

/*
 * libdpf keeps the filter set (tree + copy filters) and generates the eBPF program; this
 * file keeps what the kernel side adds: who may do what.
 *
 *  - Ids come from a counter and are never reused while xokd runs, so a stale id can never
 *    name somebody else's new filter.  A capability (128 random bits from getrandom) comes
 *    back with each new filter; presenting it with DPF_REF grants a reference.
 *  - A filter lives while any app holds a reference (the creator holds the first).
 *  - The tree rule (§3.2 "Packet Demultiplexing"): dpf_set_place() says where a new filter
 *    would land.  Landing at the root (disjoint from everything, or containing filters
 *    that then move under it -- they keep their frames, the deepest match wins) is always
 *    allowed; landing under a filter is allowed if the inserter holds a reference to it or
 *    it is XOK_DPF_OPEN.  Equal and ambiguous overlaps are refused by libdpf.
 *  - Copy filters overlap anything, so they need root or --group.
 *  - Each tree filter carries its transmit claim (txcheck.c), computed at insertion; the
 *    parent/child links txcheck.c walks are rebuilt from libdpf's tree when it changed.
 *  - A change regenerates the program for each interface and swaps it into the entry
 *    program's tail-call slot: one map update, so a frame sees the old or the new program.
 *    An insert whose program fails to build or load is rolled back and reported.  Changes
 *    that libdpf serves from its exact-match tables (a connection's filter next to others
 *    of its shape) need no new program: the insert or delete updates a BPF hash map the
 *    installed program already consults (dpf_set_current()), in microseconds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/random.h>

#include "kern.h"

int filter_init(struct xokd *x)
{
	list_init(&x->filters);
	x->dpf = dpf_set_new();
	if (!x->dpf)
		return -ENOMEM;
	dpf_set_tables(x->dpf, true);
	return 0;
}

struct filter *filter_lookup(struct xokd *x, uint32_t id)
{
	struct filter *f;

	for (f = x->fhash[id % XOK_FILTER_HASH]; f; f = f->hnext)
		if (f->id == id)
			return f;
	return NULL;
}

static void filter_hash_del(struct xokd *x, struct filter *f)
{
	struct filter **pp = &x->fhash[f->id % XOK_FILTER_HASH];

	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
}

static struct filter_ref *filter_ref_of(struct app *a, struct filter *f)
{
	struct filter_ref *r;

	list_for_each_entry(r, &a->frefs, app_link) if (r->f == f) return r;
	return NULL;
}

bool filter_held(struct app *a, struct filter *f)
{
	return f->owner == a || filter_ref_of(a, f) != NULL;
}

static void filter_tree_visit(uint32_t id, uint32_t parent, int depth, bool copy,
			      const struct dpf_filter *df, void *arg)
{
	struct xokd *x = arg;
	struct filter *f = filter_lookup(x, id), *p;

	(void)depth;
	(void)df;
	if (!f || copy)
		return;
	p = parent ? filter_lookup(x, parent) : NULL;
	f->parent = p;
	if (p) {
		f->next_sibling = p->first_child;
		p->first_child = f;
	}
}

void filter_tree(struct xokd *x)
{
	struct filter *f, *p;

	if (!x->tree_dirty)
		return;
	x->tree_dirty = false;
	list_for_each_entry(f, &x->filters, link)
	{
		f->parent = f->first_child = f->next_sibling = NULL;
		f->foreign_below = false;
	}
	dpf_set_walk(x->dpf, filter_tree_visit, x);
	list_for_each_entry(f, &x->filters, link)
	{
		for (p = f->parent; p; p = p->parent)
			if (p->owner_id != f->owner_id)
				p->foreign_below = true;
	}
}

static void filter_set_ring(struct filter *f, struct ring *ring)
{
	if (f->ring)
		f->ring->nfilters--;
	f->ring = ring;
	if (ring)
		ring->nfilters++;
}

/* Removes f from the set and frees it (its last reference is gone). */
static void filter_destroy(struct xokd *x, struct filter *f)
{
	bool tabled = dpf_set_in_table(x->dpf, f->id);
	int err = dpf_set_delete(x->dpf, f->id);

	if (err)
		xlog("dpf", "delete of filter %u from the set failed (%d)", f->id, err);
	if (f->copy_slot >= 0)
		x->copy[f->copy_slot] = NULL;
	filter_set_ring(f, NULL);
	filter_hash_del(x, f);
	list_del(&f->link);
	x->nfilters--;
	if (!dpf_set_current(x->dpf))
		x->dpf_dirty = true;
	else if (tabled)
		x->dpf_table_deletes++;
	x->tree_dirty = true;
	free(f);
}

static void filter_unref(struct xokd *x, struct app *a, struct filter_ref *r)
{
	struct filter *f = r->f;

	list_del(&r->app_link);
	claim_unindex(r);
	a->nfilters--;
	free(r);
	if (--f->nrefs == 0)
		filter_destroy(x, f);
}

static int filter_ref_add(struct app *a, struct filter *f)
{
	struct filter_ref *r = malloc(sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->f = f;
	list_add_tail(&r->app_link, &a->frefs);
	claim_index(a, r);
	a->nfilters++;
	f->nrefs++;
	return 0;
}

/* Waits out the rest of the pacing interval since the previous program load. */
static void filter_pace(struct xokd *x)
{
	uint64_t now = now_mono_ns(), next = x->dpf_last_load_ns + XOK_DPF_MIN_INTERVAL_NS;

	if (x->dpf_last_load_ns && now < next) {
		struct timespec d = {.tv_sec = 0, .tv_nsec = (long)(next - now)};

		while (nanosleep(&d, &d) && errno == EINTR)
			;
	}
	x->dpf_last_load_ns = now_mono_ns();
}

int filter_compile(struct xokd *x)
{
	static char log[65536];
	uint64_t t0;
	uint32_t i;
	int err = 0;

	x->dpf_dirty = false;
	if (x->no_bpf)
		return 0;
	filter_pace(x);
	t0 = now_mono_ns();
	if (dpf_set_count(x->dpf) == 0) {
		/* nothing to match: an empty slot makes the entry return the unmatched verdict */
		for (i = 0; i < x->niface; i++)
			iface_install(x, &x->ifaces[i], -1);
		x->dpf_compiles++;
		dpf_set_commit(x->dpf);
		return 0;
	}
	for (i = 0; i < x->niface; i++) {
		struct iface *ifc = &x->ifaces[i];
		struct dpf_codegen_opts o = {
		    .sz = sizeof(o),
		    .xsk_map_fd = iface_xskmap_fd(ifc),
		    .unmatched = x->cfg.unmatched,
		};
		struct dpf_prog prog = {0};
		int fd;

		err = dpf_codegen(x->dpf, &o, &prog);
		if (err) {
			xlog("dpf", "code generation failed for %s (%d)", ifc->name, err);
			break;
		}
		log[0] = 0;
		x->dpf_last_insns = prog.ninsns;
		fd = dpf_prog_load(&prog, log, sizeof(log));
		dpf_prog_free(&prog);
		if (fd < 0) {
			err = fd;
			xlog("dpf", "program for %s rejected (%d): %.400s", ifc->name, err, log);
			break;
		}
		err = iface_install(x, ifc, fd);
		close(fd);
		if (err) {
			xlog("dpf", "install on %s failed (%d)", ifc->name, err);
			break;
		}
	}
	x->dpf_compiles++;
	x->dpf_last_load_us = (now_mono_ns() - t0) / 1000;
	if (err)
		x->dpf_compile_errors++;
	else
		dpf_set_commit(x->dpf);
	return err;
}

int filter_timeout(const struct xokd *x)
{
	uint64_t now, next;

	if (!x->dpf_dirty)
		return -1;
	now = now_mono_ns();
	next = x->dpf_last_load_ns + XOK_DPF_MIN_INTERVAL_NS;
	return now >= next ? 0 : (int)((next - now + 999999) / 1000000);
}

void filter_sync(struct xokd *x)
{
	if (x->dpf_dirty && filter_timeout(x) == 0)
		filter_compile(x);
}

/* Whether a may place a filter under parent p. */
static bool filter_may_refine(struct app *a, struct filter *p)
{
	return (p->flags & XOK_DPF_OPEN) || filter_ref_of(a, p) != NULL;
}

int op_dpf_insert(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd)
{
	const struct xok_dpf_insert *m = req;
	struct xok_dpf_insert_reply *out = rep;
	const struct dpf_filter *df = &m->filter;
	struct filter *f, *pf;
	struct ring *ring;
	uint32_t parent = 0;
	int slot = -1, err;

	(void)fd;
	(void)rep_fd;
	if (m->pad || (m->flags & ~(uint32_t)(XOK_DPF_COPY | XOK_DPF_OPEN)) ||
	    m->flags == (XOK_DPF_COPY | XOK_DPF_OPEN))
		return -EINVAL;
	if (df->pad || df->natoms > DPF_MAX_ATOMS ||
	    !ctl_pad_zero(&df->atoms[df->natoms],
			  (DPF_MAX_ATOMS - df->natoms) * sizeof(struct dpf_atom)))
		return -EINVAL;
	if (dpf_filter_validate(df))
		return -EINVAL;
	ring = ring_lookup(a, m->ring);
	if (!ring)
		return -ENOENT;
	if (a->nfilters >= x->cfg.limits.filters)
		return app_limit_hit(a, LIMIT_FILTERS, -EDQUOT,
				     "insert rejected: filters limit (%u) reached",
				     x->cfg.limits.filters);
	if (x->nfilters >= DPF_MAX_FILTERS || x->next_filter_id == UINT32_MAX)
		return -ENOSPC;

	if (m->flags & XOK_DPF_COPY) {
		if (!a->privileged) {
			app_log(a, "dpf", "copy filter rejected: needs root or the xokd group");
			return -EPERM;
		}
		if (m->parent)
			return -EINVAL;
	} else {
		err = dpf_set_place(x->dpf, df, &parent);
		out->parent = parent;
		if (err == -EEXIST || err == -EBUSY) {
			app_log(a, "dpf", "insert rejected: %s filter %u",
				err == -EEXIST ? "equal to" : "overlaps", parent);
			return err;
		}
		if (err)
			return err;
		if (m->parent && m->parent != parent)
			return -EINVAL;
		if (parent) {
			pf = filter_lookup(x, parent);
			if (!pf)
				return -EIO; /* libdpf and the table disagree */
			if (!filter_may_refine(a, pf)) {
				app_log(a, "dpf", "insert rejected: refines filter %u of app %u",
					parent, pf->owner_id);
				return -EPERM;
			}
		}
	}

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->id = x->next_filter_id++;
	if (m->flags & XOK_DPF_COPY) {
		slot = dpf_set_insert_copy(x->dpf, f->id, df);
		err = slot < 0 ? slot : 0;
	} else {
		err = dpf_set_insert(x->dpf, f->id, df, &parent);
	}
	if (err) {
		free(f);
		return err;
	}
	if (getrandom(&f->cap, sizeof(f->cap), 0) != sizeof(f->cap)) {
		dpf_set_delete(x->dpf, f->id);
		free(f);
		return -EAGAIN;
	}
	f->owner = a;
	f->owner_id = a->id;
	f->flags = m->flags;
	f->copy_slot = slot;
	if (slot >= 0)
		f->claim.none = true; /* copy filters only watch */
	else
		claim_from_filter(df, &f->claim);
	if (filter_ref_add(a, f)) {
		dpf_set_delete(x->dpf, f->id);
		free(f);
		return -ENOMEM;
	}
	filter_set_ring(f, ring);
	f->hnext = x->fhash[f->id % XOK_FILTER_HASH];
	x->fhash[f->id % XOK_FILTER_HASH] = f;
	list_add_tail(&f->link, &x->filters);
	x->nfilters++;
	x->tree_dirty = true;
	if (slot >= 0)
		x->copy[slot] = f;

	/* a table entry already classifies with the installed program */
	if (dpf_set_current(x->dpf)) {
		x->dpf_table_inserts++;
		err = 0;
	} else {
		err = filter_compile(x);
	}
	if (err) {
		/* roll back and put the previous program back */
		filter_unref(x, a, filter_ref_of(a, f));
		filter_compile(x);
		return err;
	}
	out->filter = f->id;
	out->parent = parent;
	out->cap = f->cap;
	xdbg(x, "dpf", "app %u: filter %u inserted under %u%s", a->id, f->id, parent,
	     slot >= 0 ? " (copy)" : "");
	return 0;
}

int op_dpf_delete(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd)
{
	const struct xok_dpf_delete *m = req;
	struct filter_ref *r;
	struct filter *f;

	(void)fd;
	(void)rep;
	(void)rep_fd;
	if (m->pad)
		return -EINVAL;
	f = filter_lookup(x, m->filter);
	if (!f)
		return -ENOENT;
	r = filter_ref_of(a, f);
	if (!r)
		return -EPERM;
	tx_grace_add(x, a, f); /* frames queued before this may still use its claim */
	filter_unref(x, a, r);
	filter_sync(x);
	return 0;
}

static bool cap_equal(const struct xok_cap *a, const struct xok_cap *b)
{
	/* constant time: the comparison must not leak how many bits matched */
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1])) == 0;
}

int op_dpf_ref(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd)
{
	const struct xok_dpf_ref *m = req;
	struct ring *ring = NULL;
	struct filter *f;
	int err;

	(void)fd;
	(void)rep;
	(void)rep_fd;
	f = filter_lookup(x, m->filter);
	if (!f)
		return -ENOENT;
	if (!cap_equal(&f->cap, &m->cap)) {
		app_log(a, "dpf", "ref of filter %u rejected: wrong capability", f->id);
		return -EPERM;
	}
	if (m->ring) {
		ring = ring_lookup(a, m->ring);
		if (!ring)
			return -ENOENT;
	}
	if (!filter_ref_of(a, f)) {
		if (a->nfilters >= x->cfg.limits.filters)
			return app_limit_hit(a, LIMIT_FILTERS, -EDQUOT,
					     "ref rejected: filters limit (%u) reached",
					     x->cfg.limits.filters);
		err = filter_ref_add(a, f);
		if (err)
			return err;
	}
	if (ring)
		filter_set_ring(f, ring);
	return 0;
}

void filter_reclaim(struct xokd *x, struct app *a)
{
	struct filter_ref *r, *rn;
	struct filter *f;

	list_for_each_entry_safe(r, rn, &a->frefs, app_link) filter_unref(x, a, r);
	/* filters others still hold: forget a's rings and a as owner */
	list_for_each_entry(f, &x->filters, link)
	{
		if (f->ring && f->ring->app == a)
			filter_set_ring(f, NULL);
		if (f->owner == a)
			f->owner = NULL;
	}
}

void filter_fini(struct xokd *x)
{
	struct filter *f, *n;

	list_for_each_entry_safe(f, n, &x->filters, link)
	{
		filter_hash_del(x, f);
		list_del(&f->link);
		free(f);
	}
	x->nfilters = 0;
	if (x->dpf)
		dpf_set_free(x->dpf);
	x->dpf = NULL;
}
