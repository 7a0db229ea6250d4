/* table.c - system tables (§3.3 "Naming and routing"): published by a privileged daemon,
 * mapped read-only by everyone */

/*
 * arpd creates the ARP table in a memfd, maps it writable, seals it (F_SEAL_SHRINK, and
 * F_SEAL_FUTURE_WRITE so nobody else can map it writable) and publishes it.  xokd keeps a
 * read-only mapping (predicate terms may read it: XOK_REGION_TABLE(t)) and a read-only
 * reopen of the file (/proc/self/fd/N, O_RDONLY), which it hands to any app asking with
 * TABLE_GET: a read-only file description can be neither written nor mapped writable nor
 * truncated.  Republishing replaces the table; the old mapping lives on while predicates
 * use it.  A table outlives its publisher's connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "kern.h"

static uint64_t table_min_size(uint32_t t)
{
	switch (t) {
	case XOK_TABLE_ARP:
		return sizeof(struct xok_arp_table);
	}
	return 0;
}

struct region *table_region(struct xokd *x, uint32_t region_id)
{
	uint32_t t = region_id & ~XOK_REGION_TABLE(0);

	if ((region_id & XOK_REGION_TABLE(0)) == 0 || t >= XOK_TABLE_NR)
		return NULL;
	return x->tables[t].reg;
}

static void table_drop(struct table *tb)
{
	if (tb->reg) {
		tb->reg->dead = true;
		if (tb->reg->refs == 0)
			region_free(tb->reg);
		tb->reg = NULL;
	}
	if (tb->ro_fd >= 0)
		close(tb->ro_fd);
	tb->ro_fd = -1;
}

int op_table_publish(struct xokd *x, struct app *a, const void *req, int *fd, void *rep,
		     int *rep_fd)
{
	const struct xok_table_req *m = req;
	struct xok_table_req *out = rep;
	struct region *r;
	char path[64];
	int ro, err;

	(void)rep_fd;
	if (m->table >= XOK_TABLE_NR || m->pad || m->size < table_min_size(m->table) ||
	    m->size > XOK_TABLE_BYTES_MAX)
		return -EINVAL;
	if (!a->privileged) {
		app_log(a, "table", "publish rejected: needs root or the xokd group");
		return -EPERM;
	}
	err = region_map_fd(a, *fd, m->size, true, &r);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", *fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	if (ro < 0) {
		err = -errno;
		region_free(r);
		return err;
	}
	table_drop(&x->tables[m->table]);
	r->id = XOK_REGION_TABLE(m->table);
	x->tables[m->table].reg = r;
	x->tables[m->table].ro_fd = ro;
	x->tables[m->table].publisher = a->id;
	x->tables[m->table].size = m->size;
	out->table = m->table;
	out->size = m->size;
	xlog("table", "table %u published by app %u (pid %d), %llu bytes", m->table, a->id,
	     (int)a->pid, (unsigned long long)m->size);
	return 0;
}

int op_table_get(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd)
{
	const struct xok_table_req *m = req;
	struct xok_table_req *out = rep;

	(void)a;
	(void)fd;
	if (m->table >= XOK_TABLE_NR || m->pad || m->size)
		return -EINVAL;
	if (!x->tables[m->table].reg)
		return -ENOENT;
	*rep_fd = x->tables[m->table].ro_fd;
	out->table = m->table;
	out->size = x->tables[m->table].size;
	return 0;
}

int op_table_notify(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd)
{
	const struct xok_table_req *m = req;
	struct xok_table_req *out = rep;
	struct table *tb;

	(void)fd;
	(void)rep_fd;
	if (m->table >= XOK_TABLE_NR || m->pad || m->size)
		return -EINVAL;
	tb = &x->tables[m->table];
	if (!tb->reg)
		return -ENOENT;
	if (tb->publisher != a->id)
		return -EPERM;
	wk_table_changed(x, tb->reg);
	out->table = m->table;
	out->size = tb->size;
	return 0;
}

void table_fini(struct xokd *x)
{
	uint32_t t;

	for (t = 0; t < XOK_TABLE_NR; t++)
		table_drop(&x->tables[t]);
}
