/* region.c - memory shared by applications (the insert_pte / page pinning analog) */

/*
 * An app shares memory by handing over a memfd.  xokd checks it is a regular file at least
 * the declared size and sealed against shrinking (otherwise the owner could truncate it and
 * turn xokd's next access into SIGBUS), maps it MAP_SHARED, and closes the fd: the mapping
 * is the pin.  It stays until REGION_DEL (refused with -EBUSY while anything points into
 * it) or until the app goes away.  Ids are slots 1..XOK_APP_REGIONS_MAX, private to the app.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kern.h"

int region_map_fd(struct app *a, int fd, uint64_t size, bool readonly, struct region **out)
{
	struct region *r;
	struct stat st;
	int seals;
	void *p;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		app_log(a, "region", "rejected: fd is not a regular file (use memfd_create)");
		return -EINVAL;
	}
	if ((uint64_t)st.st_size < size) {
		app_log(a, "region", "rejected: memfd is %lld bytes, %llu declared",
			(long long)st.st_size, (unsigned long long)size);
		return -EINVAL;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
		app_log(a, "region",
			"rejected: memfd lacks F_SEAL_SHRINK (create it with MFD_ALLOW_SEALING "
			"and add the seal, or it could be truncated under xokd)");
		return -EINVAL;
	}
	if (size > SIZE_MAX)
		return -EINVAL;
	p = mmap(NULL, size, readonly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		app_log(a, "region", "rejected: mmap of %llu bytes failed (%d)",
			(unsigned long long)size, err);
		return err;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		munmap(p, size);
		return -ENOMEM;
	}
	r->base = p;
	r->size = size;
	r->readonly = readonly;
	*out = r;
	return 0;
}

void region_free(struct region *r)
{
	munmap(r->base, r->size);
	free(r);
}

void region_get(struct region *r)
{
	r->refs++;
}

void region_put(struct region *r)
{
	if (--r->refs == 0 && r->dead)
		region_free(r);
}

struct region *region_lookup(struct app *a, uint32_t id)
{
	if (id == 0 || id > XOK_APP_REGIONS_MAX)
		return NULL;
	return a->regions[id - 1];
}

int region_resolve(struct xokd *x, struct app *a, uint32_t region, uint64_t offset, uint64_t len,
		   uint64_t align, bool allow_table, void **ptr, struct region **reg)
{
	struct region *r;

	if (allow_table && (region & XOK_REGION_TABLE(0)))
		r = table_region(x, region);
	else
		r = region_lookup(a, region);
	if (!r)
		return -ENOENT;
	if (align > 1 && (offset & (align - 1)))
		return -EINVAL;
	/* offset + len <= size without overflow */
	if (offset > r->size || len > r->size - offset)
		return -EINVAL;
	*ptr = r->base + offset;
	*reg = r;
	return 0;
}

int op_region_add(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd)
{
	const struct xok_region_add *m = req;
	struct xok_region_add_reply *out = rep;
	long page = sysconf(_SC_PAGESIZE);
	struct region *r;
	uint32_t slot;
	int err;

	(void)rep_fd;
	if (m->flags || m->pad || m->size == 0 || (m->size & (uint64_t)(page - 1)))
		return -EINVAL;
	if (*fd < 0)
		return -EINVAL;
	if (a->nregions >= x->cfg.limits.regions)
		return app_limit_hit(a, LIMIT_REGIONS, -EDQUOT,
				     "region rejected: regions limit (%u) reached",
				     x->cfg.limits.regions);
	if (a->region_bytes > x->cfg.limits.bytes ||
	    m->size > x->cfg.limits.bytes - a->region_bytes)
		return app_limit_hit(a, LIMIT_BYTES, -EDQUOT,
				     "region of %llu bytes rejected: region bytes limit (%llu) "
				     "reached",
				     (unsigned long long)m->size,
				     (unsigned long long)x->cfg.limits.bytes);
	for (slot = 0; slot < XOK_APP_REGIONS_MAX; slot++)
		if (!a->regions[slot])
			break;
	err = region_map_fd(a, *fd, m->size, false, &r);
	if (err)
		return err;
	close(*fd); /* the mapping is the pin */
	*fd = -1;
	r->id = slot + 1;
	a->regions[slot] = r;
	a->nregions++;
	a->region_bytes += r->size;
	out->region = r->id;
	return 0;
}

int op_region_del(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd)
{
	const struct xok_region_del *m = req;
	struct region *r;

	(void)x;
	(void)fd;
	(void)rep;
	(void)rep_fd;
	if (m->pad)
		return -EINVAL;
	r = region_lookup(a, m->region);
	if (!r)
		return -ENOENT;
	if (r->refs)
		return -EBUSY;
	a->regions[r->id - 1] = NULL;
	a->nregions--;
	a->region_bytes -= r->size;
	region_free(r);
	return 0;
}

void region_reclaim(struct app *a)
{
	uint32_t i;

	for (i = 0; i < XOK_APP_REGIONS_MAX; i++) {
		struct region *r = a->regions[i];

		if (!r)
			continue;
		if (r->refs)
			xlog("region", "app %u region %u still has %u users at reclaim", a->id,
			     r->id, r->refs);
		region_free(r);
		a->regions[i] = NULL;
	}
	a->nregions = 0;
	a->region_bytes = 0;
}
