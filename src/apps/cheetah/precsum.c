/* precsum.c - precomputed checksums: per-segment sums of each file, from .cheetah-sums */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cheetah.h"
#include "cksum.h"
#include "param.h"
#include "path.h"

/*
 * Paper §5.3, "Precomputed Checksums": a maintenance tool (cheetah-prep) stores the
 * Internet checksum of every segment-sized piece of every servable file, and the server
 * hands them to the TCP library with the data, so sending a file touches none of its
 * bytes. Here the sums live in DOCROOT/.cheetah-sums (format: src/apps/http/cksum.h).
 *
 * A file's sums are looked up lazily, per segment size, when a connection with that send
 * MSS first sends it, and copied out of the index into memory owned by the cached file:
 * the index can then be reloaded (cheetah-prep ran again) without pulling sums from under
 * sends in flight. An entry that is missing or stale (the file's size or mtime changed)
 * is replaced by sums computed here, once per (file, segment size), which still spares
 * every later send and retransmission the work.
 *
 * The index stores sums as numbers over big-endian 16-bit words; the stack combines sums
 * in memory order (exos_cksum_block). The two differ by a byte swap on little-endian hosts,
 * which htons() is exactly.
 */

struct sum_variant {
	uint32_t seg_size;
	uint16_t *sums;
};

struct file_sums {
	unsigned n;
	struct sum_variant v[CHEETAH_SUM_VARIANTS];
};

struct precsum {
	struct http_root root; /* our own handle on the docroot, for the index file */
	int verbose;
	struct cksum_index idx;
	bool have_idx;
	struct stat idx_st; /* of the loaded index (ino, size, mtime: replaced?) */
	uint64_t checked_ns;
	struct precsum_stats st;
};

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       http_stat_mtime_ns(a) == http_stat_mtime_ns(b);
}

/* (Re)load the index if it appeared or changed since the last load. */
static void index_load(struct precsum *p)
{
	struct cksum_index idx;
	struct stat st;
	int err;

	if (fstatat(p->root.dirfd, CKSUM_INDEX_NAME, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (p->have_idx)
			cksum_index_free(&p->idx);
		p->have_idx = false;
		return;
	}
	if (p->have_idx && same_file(&st, &p->idx_st))
		return;
	err = cksum_index_load(p->root.dirfd, &idx);
	if (err) {
		/* Keep what we had: a half-written index is replaced atomically anyway. */
		if (p->verbose)
			fprintf(stderr, "cheetah: precsum: %s: %s\n", CKSUM_INDEX_NAME,
				strerror(-err));
		return;
	}
	if (p->have_idx)
		cksum_index_free(&p->idx);
	p->idx = idx;
	p->have_idx = true;
	p->idx_st = st;
	p->st.index_loads++;
	p->st.index_entries = idx.count;
	if (p->verbose)
		fprintf(stderr, "cheetah: precsum: loaded %zu entries from %s\n", idx.count,
			CKSUM_INDEX_NAME);
}

int precsum_create(const char *docroot, int verbose, struct precsum **out)
{
	struct precsum *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	err = http_root_open(&p->root, docroot);
	if (err) {
		free(p);
		return err;
	}
	p->verbose = verbose;
	index_load(p);
	*out = p;
	return 0;
}

void precsum_destroy(struct precsum *p)
{
	if (p->have_idx)
		cksum_index_free(&p->idx);
	http_root_close(&p->root);
	free(p);
}

int precsum_on_load(void *ctx, struct http_file *f)
{
	(void)ctx;
	f->app = NULL; /* sums come per segment size, on first use */
	return 0;
}

void precsum_on_free(void *ctx, struct http_file *f)
{
	struct file_sums *fs = f->app;

	(void)ctx;
	if (!fs)
		return;
	for (unsigned i = 0; i < fs->n; i++)
		free(fs->v[i].sums);
	free(fs);
	f->app = NULL;
}

/* The index's sums for f, if it has a fresh entry. */
static bool sums_from_index(struct precsum *p, const struct http_file *f, uint32_t seg,
			    uint64_t count, uint16_t *out)
{
	const struct cksum_entry *e;

	if (!p->have_idx)
		return false;
	e = cksum_index_find(&p->idx, f->path, seg);
	if (!e)
		return false;
	if (cksum_entry_check(e, f->size, f->mtime_ns) || e->seg_count != count) {
		p->st.stale++;
		if (p->verbose)
			fprintf(stderr, "cheetah: precsum: stale sums for %s, computing\n",
				f->path);
		return false;
	}
	for (uint64_t i = 0; i < count; i++)
		out[i] = htons(e->sums[i]);
	p->st.stored++;
	return true;
}

static void sums_compute(const struct http_file *f, uint32_t seg, uint64_t count, uint16_t *out)
{
	for (uint64_t i = 0; i < count; i++) {
		uint64_t off = i * seg, left = f->size - off;

		out[i] = exos_cksum_block(f->data + off, left < seg ? (size_t)left : seg);
	}
}

const uint16_t *precsum_get(struct precsum *p, struct http_file *f, uint32_t seg_size,
			    uint64_t now_ns)
{
	struct file_sums *fs = f->app;
	uint64_t count = cksum_seg_count(f->size, seg_size);
	uint16_t *sums;

	if (!fs) {
		fs = calloc(1, sizeof(*fs));
		if (!fs)
			return NULL;
		f->app = fs;
	}
	for (unsigned i = 0; i < fs->n; i++)
		if (fs->v[i].seg_size == seg_size)
			return fs->v[i].sums;
	if (fs->n == CHEETAH_SUM_VARIANTS || !seg_size || seg_size % 2)
		return NULL; /* odd MSS or too many variants: the stack sums the data */
	sums = malloc(count ? count * sizeof(*sums) : 1);
	if (!sums)
		return NULL;
	if (now_ns - p->checked_ns >= CHEETAH_INDEX_RECHECK_NS) {
		p->checked_ns = now_ns;
		index_load(p);
	}
	if (!sums_from_index(p, f, seg_size, count, sums)) {
		sums_compute(f, seg_size, count, sums);
		p->st.computed++;
	}
	fs->v[fs->n++] = (struct sum_variant){.seg_size = seg_size, .sums = sums};
	return sums;
}

const struct precsum_stats *precsum_stats(const struct precsum *p)
{
	return &p->st;
}
