/* capture.c - the session with xokd: the copy ring, the copy filters, the receive loop */

/*
 * xokdump is the paper's tcpdump (§3.3 (3)): it creates one ring, installs one or more copy
 * filters delivering to it (privileged: root or xokd's --group), and consumes what arrives.
 * The copy filters may be wider than the expression (see compile.c), so every frame is
 * checked again with expr_match before it is counted, printed or written.
 *
 * When several of our copy filters match one frame, xokd may deliver one copy per filter.
 * Those copies arrive back to back with the same timestamp and bytes but different filter
 * ids; the loop drops all but the first.  The same filter id twice in a row means two
 * frames, however alike.
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <exos/sys.h>
#include <xok/proto/eth.h>
#include "xokdump.h"

struct capture {
	const struct capture_opts *o;
	const struct expr *expr;
	struct exos_sys *sys;
	struct exos_ring *ring;
	uint32_t data_max;		/* data bytes an entry can hold */
	uint32_t ifindex;		/* -i; 0 = every interface */
	char ifnames[XOK_IFACES_MAX * 17];
	uint32_t ids[XD_MAX_FILTERS];	/* installed copy filters */
	unsigned nids;
	struct pcapw *pw;
	uint64_t received;		/* distinct frames the copy filters delivered */
	uint64_t captured;		/* ... that matched the expression */
	uint64_t duplicates;		/* extra copies of a frame several filters matched */
	struct {
		uint64_t rx_ns;
		uint32_t ifindex, len, hash;
		uint32_t filters;	/* bit i: ids[i] delivered a copy of this frame */
	} last;
};

/* ---- setup ---- */

/* Chooses the interfaces (-i) and returns the largest frame they can carry. */
static int pick_iface(struct capture *c, const struct xok_info_reply *info, uint32_t *frame_max)
{
	size_t n = 0;

	*frame_max = 0;
	for (uint32_t i = 0; i < info->niface && i < XOK_IFACES_MAX; i++) {
		const struct xok_iface_info *ifc = &info->ifaces[i];
		uint32_t max = ifc->mtu ? ifc->mtu + ETH_HDR_LEN + 4 /* vlan */ : XD_FRAME_MAX;

		if (c->o->iface && strncmp(ifc->name, c->o->iface, sizeof(ifc->name)))
			continue;
		c->ifindex = c->o->iface ? ifc->ifindex : 0;
		*frame_max = max > *frame_max ? max : *frame_max;
		n += (size_t)snprintf(c->ifnames + n, sizeof(c->ifnames) - n, "%s%.16s",
				      n ? "," : "", ifc->name);
	}
	if (c->o->iface && !c->ifindex) {
		fprintf(stderr, "xokdump: %s: not an interface of xokd\n", c->o->iface);
		return -ENODEV;
	}
	if (*frame_max == 0)
		*frame_max = XD_FRAME_MAX;
	return 0;
}

static uint32_t entry_size_for(unsigned snaplen, uint32_t frame_max)
{
	uint32_t data = snaplen < frame_max ? snaplen : frame_max;
	uint32_t size;

	if (data < XD_CAPTURE_MIN)
		data = XD_CAPTURE_MIN;
	size = (uint32_t)(sizeof(struct xok_ring_entry) + data + 7) & ~7u;
	return size > XOK_RING_ENTRY_MAX ? XOK_RING_ENTRY_MAX : size;
}

static int open_ring(struct capture *c)
{
	struct xok_info_reply info;
	uint32_t frame_max, size;
	int rc = exos_sys_info(c->sys, &info);

	if (rc) {
		fprintf(stderr, "xokdump: cannot read xokd's interfaces: %s\n", strerror(-rc));
		return rc;
	}
	rc = pick_iface(c, &info, &frame_max);
	if (rc)
		return rc;
	size = entry_size_for(c->o->snaplen, frame_max);
	rc = exos_ring_create(c->sys, size, XD_RING_ENTRIES, &c->ring);
	if (rc) {
		fprintf(stderr, "xokdump: cannot create the copy ring: %s\n", strerror(-rc));
		return rc;
	}
	c->data_max = size - (uint32_t)sizeof(struct xok_ring_entry);
	return 0;
}

static void report_insert_error(int rc)
{
	if (rc == -EPERM || rc == -EACCES)
		fprintf(stderr, "xokdump: copy filters need root or membership in xokd's "
			"--group GROUP\n");
	else if (rc == -ENOSPC)
		fprintf(stderr, "xokdump: xokd has no room for another copy filter (at most %d "
			"system-wide)\n", DPF_MAX_COPY);
	else
		fprintf(stderr, "xokdump: cannot install a copy filter: %s\n", strerror(-rc));
}

static int insert_one(struct capture *c, const struct dpf_filter *f)
{
	struct exos_filter_id id;
	char buf[1024];
	int rc = exos_filter_insert(c->sys, c->ring, XOK_DPF_COPY, 0, f, &id);

	if (rc)
		return rc;
	c->ids[c->nids++] = id.id;
	if (c->o->verbose) {
		xd_filter_format(f, false, buf, sizeof(buf));
		fprintf(stderr, "xokdump: copy filter %u: %s\n", id.id, buf);
	}
	return 0;
}

static void remove_filters(struct capture *c)
{
	while (c->nids > 0)
		exos_filter_delete(c->sys, c->ids[--c->nids]);
}

/* Installs every filter, or the one wide filter if xokd cannot take them all. */
static int install_filters(struct capture *c, const struct xd_filters *xf)
{
	bool exact = xf->exact;
	int rc = 0;

	for (unsigned i = 0; rc == 0 && i < xf->n; i++)
		rc = insert_one(c, &xf->f[i]);
	if (rc == -ENOSPC && xf->n > 1) {
		remove_filters(c);
		if (c->o->verbose)
			fprintf(stderr, "xokdump: no room for %u copy filters, using one wider "
				"filter\n", xf->n);
		rc = insert_one(c, &xf->wide);
		exact = false;
	}
	if (rc) {
		report_insert_error(rc);
		return rc;
	}
	if (c->o->verbose)
		fprintf(stderr, "xokdump: %u copy filter%s, %s\n", c->nids, c->nids == 1 ? "" : "s",
			exact ? "exact" : "wider than the expression (it is applied in userspace)");
	if (xf->n == 0)
		fprintf(stderr, "xokdump: warning: the expression matches no frame\n");
	return 0;
}

static int open_output(struct capture *c)
{
	char err[256];
	int rc;

	if (!c->o->wfile)
		return 0;
	rc = pcapw_open(c->o->wfile, c->o->snaplen, &c->pw, err, sizeof(err));
	if (rc)
		fprintf(stderr, "xokdump: %s: %s\n", c->o->wfile, err);
	return rc;
}

static int capture_open(struct capture *c, const struct xd_filters *xf)
{
	int rc = exos_sys_open(c->o->socket, &c->sys);

	if (rc) {
		fprintf(stderr,
			"xokdump: cannot connect to xokd at %s: %s (is xokd running? see --socket)\n",
			exos_sys_socket_path(c->o->socket), strerror(-rc));
		return rc;
	}
	rc = open_ring(c);
	if (rc == 0)
		rc = install_filters(c, xf);
	if (rc == 0)
		rc = open_output(c);
	return rc;
}

static void capture_close(struct capture *c)
{
	if (c->pw && pcapw_close(c->pw))
		fprintf(stderr, "xokdump: %s: write error\n", c->o->wfile);
	if (!c->sys)
		return;
	remove_filters(c);
	if (c->ring)
		exos_ring_destroy(c->sys, c->ring);
	exos_sys_close(c->sys);
}

/* ---- the receive loop ---- */

static uint32_t frame_hash(const struct xd_frame *f)
{
	uint32_t h = 2166136261u; /* FNV-1a over the headers is plenty to tell frames apart */

	for (uint32_t i = 0; i < f->caplen && i < XD_CAPTURE_MIN; i++)
		h = (h ^ f->data[i]) * 16777619u;
	return h;
}

static int filter_index(const struct capture *c, uint32_t id)
{
	for (unsigned i = 0; i < c->nids; i++)
		if (c->ids[i] == id)
			return (int)i;
	return -1;
}

/* Another copy of the frame just seen, delivered by another of our filters. */
static bool duplicate(struct capture *c, const struct xd_frame *f, uint32_t filter_id)
{
	int idx = filter_index(c, filter_id);
	uint32_t hash = frame_hash(f);
	uint32_t bit = idx >= 0 ? 1u << idx : 0;
	bool same = c->last.rx_ns == f->rx_ns && c->last.ifindex == f->ifindex &&
		    c->last.len == f->len && c->last.hash == hash;

	if (same && bit && !(c->last.filters & bit)) {
		c->last.filters |= bit;
		return true;
	}
	c->last.rx_ns = f->rx_ns;
	c->last.ifindex = f->ifindex;
	c->last.len = f->len;
	c->last.hash = hash;
	c->last.filters = bit;
	return false;
}

static int output(struct capture *c, struct xd_frame *f)
{
	char line[XD_LINE_MAX];
	size_t n;

	if (f->caplen > c->o->snaplen)
		f->caplen = c->o->snaplen;
	if (c->pw) {
		int rc = pcapw_write(c->pw, f);

		if (rc == 0 && c->o->packet_buffered)
			rc = pcapw_flush(c->pw);
		return rc;
	}
	n = print_frame(&c->o->print, f, line, sizeof(line));
	return fwrite(line, 1, n, stdout) == n ? 0 : -EIO;
}

static int deliver(struct capture *c, const struct xok_ring_entry *e)
{
	struct xd_frame f = {
		.rx_ns = e->rx_ns,
		.ifindex = e->ifindex,
		/* xokd is trusted, but the entry is shared memory: never read past it. */
		.caplen = e->caplen < c->data_max ? e->caplen : c->data_max,
		.data = e->data,
	};

	f.len = e->owner > f.caplen ? e->owner : f.caplen;
	if (c->ifindex && f.ifindex != c->ifindex)
		return 0;
	if (duplicate(c, &f, e->filter_id)) {
		c->duplicates++;
		return 0;
	}
	c->received++;
	if (!expr_match(c->expr, f.data, f.caplen))
		return 0;
	c->captured++;
	return output(c, &f);
}

static int flush_output(struct capture *c)
{
	if (c->pw)
		return pcapw_flush(c->pw);
	return fflush(stdout) ? -errno : 0;
}

static int drain(struct capture *c, const volatile sig_atomic_t *stop)
{
	struct xok_ring_entry *e;
	int rc = 0;

	while (rc == 0 && !*stop && (e = exos_ring_peek(c->ring))) {
		rc = deliver(c, e);
		exos_ring_release(c->ring);
		if (c->o->count && c->captured >= c->o->count)
			return 1;
	}
	return rc;
}

/* Our short waits end before exos_sys_wait looks at the socket, so we look ourselves. */
static bool xokd_gone(const struct capture *c)
{
	struct pollfd p = { .fd = exos_sys_fd(c->sys), .events = POLLIN };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR));
}

static int capture_loop(struct capture *c, const volatile sig_atomic_t *stop)
{
	int rc = 0;

	while (!*stop) {
		rc = drain(c, stop);
		if (rc)
			break;
		/* Idle: make what we have visible before sleeping. */
		rc = flush_output(c);
		if (rc)
			break;
		/* A bounded sleep: a signal landing just before the wait is seen soon. */
		rc = exos_sys_wait(c->sys, exos_now_ns() + XD_WAIT_NS);
		if (rc == -ETIMEDOUT && xokd_gone(c))
			rc = -EPIPE;
		if (rc == -EINTR || rc == -ETIMEDOUT)
			rc = 0;
		if (rc)
			break;
	}
	if (rc == -EPIPE)
		fprintf(stderr, "xokdump: xokd went away\n");
	else if (rc < 0)
		fprintf(stderr, "xokdump: %s: %s\n", c->pw ? c->o->wfile : "output",
			strerror(-rc));
	return rc > 0 ? 0 : rc;
}

static uint64_t ring_drops(struct capture *c)
{
	struct xok_stats_reply *r = calloc(1, sizeof(*r));
	uint32_t cursor = 0;
	uint64_t drops = UINT64_MAX;

	do {
		if (!r || exos_sys_stats(c->sys, XOK_STATS_RING, cursor, r))
			break;
		for (uint32_t i = 0; i < r->count && i < XOK_STATS_MAX; i++)
			if (r->recs[i].id == c->ring->id)
				drops = r->recs[i].c[1]; /* ring: delivered, dropped_full, ... */
		cursor = r->next_cursor;
	} while (cursor && drops == UINT64_MAX);
	free(r);
	return drops;
}

static void print_stats(struct capture *c)
{
	uint64_t drops = c->ring ? ring_drops(c) : UINT64_MAX;

	fprintf(stderr, "%llu packet%s captured\n", (unsigned long long)c->captured,
		c->captured == 1 ? "" : "s");
	fprintf(stderr, "%llu packet%s received by filter\n", (unsigned long long)c->received,
		c->received == 1 ? "" : "s");
	if (drops != UINT64_MAX)
		fprintf(stderr, "%llu packet%s dropped by xokd\n", (unsigned long long)drops,
			drops == 1 ? "" : "s");
	if (c->o->verbose)
		fprintf(stderr, "xokdump: %llu duplicate cop%s dropped (frames matched by several "
			"copy filters)\n", (unsigned long long)c->duplicates,
			c->duplicates == 1 ? "y" : "ies");
}

int capture_run(const struct capture_opts *o, const struct expr *e,
		const struct xd_filters *xf, const volatile sig_atomic_t *stop)
{
	struct capture *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		fprintf(stderr, "xokdump: out of memory\n");
		return -ENOMEM;
	}
	c->o = o;
	c->expr = e;
	rc = capture_open(c, xf);
	if (rc == 0) {
		fprintf(stderr, "xokdump: listening on %s, link-type EN10MB (Ethernet), snapshot "
			"length %u bytes\n", c->ifnames[0] ? c->ifnames : "(no interfaces)",
			o->snaplen);
		rc = capture_loop(c, stop);
		fflush(stdout);
		print_stats(c);
	}
	capture_close(c);
	free(c);
	return rc;
}
