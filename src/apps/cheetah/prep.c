/* prep.c - cheetah-prep: precompute per-segment checksums of a docroot (paper §5.3) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cksum.h"
#include "path.h"

#define PROG "cheetah-prep"

/* Directory nesting we follow; deeper trees are surely a mistake (or a loop of bind mounts). */
#define PREP_DEPTH_MAX 64
#define PREP_SEGS_MAX  8

struct prep {
	uint32_t segs[PREP_SEGS_MAX]; /* segment sizes, ascending, unique */
	int nsegs;
	bool check, quiet;
	const struct cksum_index *idx; /* check mode */
	struct cksum_entry *ents;      /* write mode */
	size_t nents, cap;
	size_t files, problems;
};

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: " PROG " [-s SEGSIZE]... [--check] [-q] DOCROOT\n"
	    "Compute the 16-bit one's-complement sum of every segment-sized piece of every\n"
	    "servable file under DOCROOT (regular files; hidden files and directories and\n"
	    "symlinks are skipped) and store them in DOCROOT/" CKSUM_INDEX_NAME ", which cheetah\n"
	    "loads so that it never has to checksum file data. Run it again after changing\n"
	    "files: cheetah computes sums itself for entries whose size or mtime changed.\n"
	    "\n"
	    "  -s, --segment-size N  TCP payload bytes per segment, 1..%d; repeatable (up to %d);\n"
	    "                        %d (MSS 1460 minus 12 bytes of timestamps) is always stored\n"
	    "  -c, --check           write nothing: validate the existing index and report stale\n"
	    "                        entries and files without sums; exit 1 if there are any\n"
	    "  -q, --quiet           print only problems\n"
	    "  -h, --help            this text\n"
	    "\n"
	    "The format is documented in src/apps/http/cksum.h.\n",
	    CKSUM_SEG_MAX, PREP_SEGS_MAX - 1, CKSUM_SEG_DEFAULT);
}

static int add_seg(struct prep *p, long v)
{
	int i = 0;

	while (i < p->nsegs && p->segs[i] < v)
		i++;
	if (i < p->nsegs && p->segs[i] == v)
		return 0;
	if (p->nsegs == PREP_SEGS_MAX)
		return -E2BIG;
	memmove(&p->segs[i + 1], &p->segs[i], (size_t)(p->nsegs - i) * sizeof(p->segs[0]));
	p->segs[i] = (uint32_t)v;
	p->nsegs++;
	return 0;
}

static int parse_args(int argc, char **argv, struct prep *p, const char **docroot)
{
	static const struct option opts[] = {
	    {"segment-size", required_argument, NULL, 's'},
	    {"check", no_argument, NULL, 'c'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	add_seg(p, CKSUM_SEG_DEFAULT);
	while ((opt = getopt_long(argc, argv, "s:cqh", opts, NULL)) != -1) {
		char *end;
		long v;

		switch (opt) {
		case 's':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > CKSUM_SEG_MAX) {
				fprintf(stderr, PROG ": invalid segment size '%s' (1..%d)\n",
					optarg, CKSUM_SEG_MAX);
				return 2;
			}
			if (add_seg(p, v)) {
				fprintf(stderr, PROG ": at most %d segment sizes besides %d\n",
					PREP_SEGS_MAX - 1, CKSUM_SEG_DEFAULT);
				return 2;
			}
			break;
		case 'c':
			p->check = true;
			break;
		case 'q':
			p->quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "Try '" PROG " --help'.\n");
			return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, PROG ": %s DOCROOT (see --help)\n",
			optind < argc ? "exactly one" : "missing");
		return 2;
	}
	*docroot = argv[optind];
	return 0;
}

/* ---- write mode: compute ---- */

static int push_entry(struct prep *p, const struct cksum_entry *e)
{
	if (p->nents == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct cksum_entry *n = realloc(p->ents, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->ents = n;
		p->cap = cap;
	}
	p->ents[p->nents++] = *e;
	return 0;
}

static int sums_for(struct prep *p, const char *rel, const struct stat *st, const void *data)
{
	for (int i = 0; i < p->nsegs; i++) {
		uint64_t n = cksum_seg_count((uint64_t)st->st_size, p->segs[i]);
		struct cksum_entry e = {
		    .size = (uint64_t)st->st_size,
		    .mtime_ns = http_stat_mtime_ns(st),
		    .seg_size = p->segs[i],
		    .seg_count = (uint32_t)n,
		};
		uint16_t *sums = malloc(n ? n * sizeof(*sums) : 1);

		if (n > UINT32_MAX / 2 || !sums || !(e.path = strdup(rel))) {
			free(sums);
			return -ENOMEM;
		}
		cksum_segments(data, e.size, e.seg_size, sums);
		e.sums = sums;
		if (push_entry(p, &e)) {
			free((void *)e.path);
			free(sums);
			return -ENOMEM;
		}
	}
	return 0;
}

static bool same_file_state(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && http_stat_mtime_ns(a) == http_stat_mtime_ns(b);
}

static void drop_entries_from(struct prep *p, size_t n)
{
	while (p->nents > n) {
		p->nents--;
		free((void *)p->ents[p->nents].path);
		free((void *)p->ents[p->nents].sums);
	}
}

static int prep_file(struct prep *p, const char *rel, int fd, const struct stat *st)
{
	size_t first = p->nents;
	void *data = NULL;
	struct stat after;
	int err;

	if (st->st_size) {
		data = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (data == MAP_FAILED)
			return -errno;
	}
	err = sums_for(p, rel, st, data);
	if (data)
		munmap(data, (size_t)st->st_size);
	/* Sums of a file that changed while we read it would be stored as fresh: refuse. */
	if (!err && (fstat(fd, &after) < 0 || !same_file_state(st, &after)))
		err = -EAGAIN;
	if (err)
		drop_entries_from(p, first);
	return err;
}

/* ---- check mode ---- */

static void report_stale(const struct cksum_entry *e, int err, void *arg)
{
	(void)arg;
	printf("%s: %s (segment size %u)\n", err == -ESTALE ? "stale" : "gone", e->path,
	       e->seg_size);
}

static int check_file(struct prep *p, const char *rel)
{
	for (int i = 0; i < p->nsegs; i++) {
		if (!cksum_index_find(p->idx, rel, p->segs[i])) {
			printf("missing: %s (segment size %u)\n", rel, p->segs[i]);
			p->problems++;
		}
	}
	return 0;
}

/* ---- the walk ---- */

static int visit_file(struct prep *p, int dirfd, const char *name, const char *rel)
{
	struct stat st;
	int err, fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = 0; /* replaced by something else since readdir: nothing to serve */
	else if (p->check)
		err = check_file(p, rel);
	else
		err = prep_file(p, rel, fd, &st);
	if (!err && S_ISREG(st.st_mode))
		p->files++;
	close(fd);
	return err;
}

static int walk(struct prep *p, int dirfd, const char *prefix, int depth);

static int visit(struct prep *p, int dirfd, const char *prefix, const char *name, int depth)
{
	char rel[CKSUM_PATH_MAX + 1];
	struct stat st;
	int n = snprintf(rel, sizeof(rel), "%s%s%s", prefix, *prefix ? "/" : "", name);
	int err = 0;

	if (n < 0 || (size_t)n >= sizeof(rel))
		return -ENAMETOOLONG;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		err = visit_file(p, dirfd, name, rel);
	} else if (S_ISDIR(st.st_mode)) {
		int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

		if (sub < 0)
			return -errno;
		err = depth < PREP_DEPTH_MAX ? walk(p, sub, rel, depth + 1) : -ELOOP;
		close(sub);
	}
	/* Symlinks: the canonical path cheetah looks up is the target's, walked on its own
	 * if it lies inside the docroot. Devices, FIFOs, sockets: never served. */
	if (err && err != -ENOMEM) {
		/* One unreadable file must not cost the whole index: report it and go on. */
		fprintf(stderr, PROG ": %s: %s%s\n", rel, strerror(-err),
			err == -EAGAIN ? " (changed while read; run again)" : "");
		p->problems++;
		err = 0;
	}
	return err;
}

/* Visit dirfd's entries; prefix is its docroot-relative path. */
static int walk(struct prep *p, int dirfd, const char *prefix, int depth)
{
	int fd = dup(dirfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *de;
	int err = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while (!err && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue; /* ".", "..", and hidden files: never served */
		err = visit(p, dirfd, prefix, de->d_name, depth);
	}
	closedir(d);
	return err;
}

/* ---- main ---- */

static int ent_qsort_cmp(const void *a, const void *b)
{
	return cksum_entry_cmp(a, b);
}

static int run_write(struct prep *p, int rootfd, const char *docroot)
{
	int err = walk(p, rootfd, "", 0);

	if (!err) {
		qsort(p->ents, p->nents, sizeof(*p->ents), ent_qsort_cmp);
		err = cksum_index_write(rootfd, p->ents, p->nents);
	}
	if (err) {
		fprintf(stderr, PROG ": %s/%s: %s\n", docroot, CKSUM_INDEX_NAME, strerror(-err));
		return 1;
	}
	if (!p->quiet)
		printf(PROG ": %zu files, %d segment sizes: %s/%s written\n", p->files, p->nsegs,
		       docroot, CKSUM_INDEX_NAME);
	return p->problems ? 1 : 0;
}

static int run_check(struct prep *p, int rootfd, const char *docroot)
{
	struct cksum_index idx;
	int err = cksum_index_load(rootfd, &idx);

	if (err) {
		fprintf(stderr, PROG ": %s/%s: %s\n", docroot, CKSUM_INDEX_NAME,
			err == -EBADMSG ? "corrupt index" : strerror(-err));
		return 1;
	}
	p->idx = &idx;
	p->problems += cksum_index_verify(&idx, rootfd, report_stale, NULL);
	err = walk(p, rootfd, "", 0);
	if (!p->quiet)
		printf(PROG ": %zu entries, %zu files, %zu problems\n", idx.count, p->files,
		       p->problems);
	cksum_index_free(&idx);
	return err || p->problems ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct prep p = {0};
	const char *docroot;
	int rootfd, rc = parse_args(argc, argv, &p, &docroot);

	if (rc)
		return rc;
	rootfd = open(docroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		fprintf(stderr, PROG ": docroot '%s': %s\n", docroot, strerror(errno));
		return 2;
	}
	rc = p.check ? run_check(&p, rootfd, docroot) : run_write(&p, rootfd, docroot);
	for (size_t i = 0; i < p.nents; i++) {
		free((void *)p.ents[i].path);
		free((void *)p.ents[i].sums);
	}
	free(p.ents);
	close(rootfd);
	return rc;
}
