/* table.c - system tables (§3.3 "Naming and routing"): xokd's memory, written by one
 * privileged publisher, mapped read-only by everyone */

/*
 * xokd creates each table when it starts: a zero-filled memfd sealed against resizing,
 * mode 0444.  It keeps the O_RDWR fd, a read-only mapping (predicate terms may read a
 * table: XOK_REGION_TABLE(t)) and an O_RDONLY reopen.  TABLE_GET hands out the read-only
 * fd: a read-only file description can be neither written nor mapped writable, and the
 * 0444 mode keeps anyone but root from reopening it writable through /proc/self/fd.
 * TABLE_PUBLISH hands the O_RDWR fd to one privileged app at a time (arpd).
 *
 * Because the memory is xokd's, not the publisher's, it outlives publishers: an app that
 * starts before arpd maps the empty table and sees arpd's entries appear when arpd
 * starts, and when arpd restarts the new one writes into the same pages every app
 * already maps (the table's own version word tells them it changed).  Before, arpd
 * created the memfd and a restart replaced it, leaving every app with a frozen copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kern.h"

static const char *const table_names[XOK_TABLE_NR] = {[XOK_TABLE_ARP] = "xok-arp-table"};

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

static int table_create(struct table *tb, uint32_t t)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t size = (table_min_size(t) + (uint64_t)page - 1) & ~(uint64_t)(page - 1);
	char path[64];
	void *p;
	int err;

	tb->rw_fd = memfd_create(table_names[t], MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (tb->rw_fd < 0)
		return -errno;
	if (ftruncate(tb->rw_fd, (off_t)size) < 0 ||
	    fcntl(tb->rw_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0 ||
	    fchmod(tb->rw_fd, 0444) < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", tb->rw_fd);
	tb->ro_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (tb->ro_fd < 0)
		return -errno;
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, tb->ro_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	tb->reg = calloc(1, sizeof(*tb->reg));
	if (!tb->reg) {
		err = -errno;
		munmap(p, size);
		return err;
	}
	tb->reg->id = XOK_REGION_TABLE(t);
	tb->reg->base = p;
	tb->reg->size = size;
	tb->reg->readonly = true;
	tb->size = size;
	return 0;
}

int table_init(struct xokd *x)
{
	uint32_t t;
	int err;

	for (t = 0; t < XOK_TABLE_NR; t++) {
		err = table_create(&x->tables[t], t);
		if (err) {
			xlog("table", "cannot create table %u: %d", t, err);
			return err;
		}
	}
	return 0;
}

int op_table_publish(struct xokd *x, struct app *a, const void *req, int *fd, void *rep,
		     int *rep_fd)
{
	const struct xok_table_req *m = req;
	struct xok_table_req *out = rep;
	struct table *tb;
	struct app *owner;

	(void)fd;
	if (m->table >= XOK_TABLE_NR || m->pad)
		return -EINVAL;
	tb = &x->tables[m->table];
	if (!tb->reg || m->size > tb->size)
		return -EINVAL;
	if (!a->privileged) {
		app_log(a, "table", "publish rejected: needs root or the xokd group");
		return -EPERM;
	}
	owner = tb->publisher && tb->publisher != a->id ? app_by_id(x, tb->publisher) : NULL;
	if (owner) {
		app_log(a, "table", "publish rejected: app %u (pid %d) publishes table %u",
			owner->id, (int)owner->pid, m->table);
		return -EBUSY;
	}
	tb->publisher = a->id;
	*rep_fd = tb->rw_fd;
	out->table = m->table;
	out->size = tb->size;
	xlog("table", "table %u: publisher is now app %u (pid %d, %s)", m->table, a->id,
	     (int)a->pid, a->comm);
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

	for (t = 0; t < XOK_TABLE_NR; t++) {
		struct table *tb = &x->tables[t];

		if (tb->reg) {
			tb->reg->dead = true;
			if (tb->reg->refs == 0)
				region_free(tb->reg);
			tb->reg = NULL;
		}
		if (tb->ro_fd >= 0)
			close(tb->ro_fd);
		if (tb->rw_fd >= 0)
			close(tb->rw_fd);
		tb->ro_fd = tb->rw_fd = -1;
	}
}
