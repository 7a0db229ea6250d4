/* docset.c - the document set: what webswamp-gen creates and the surge driver requests */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docset.h"
#include "param.h"
#include "prng.h"

static uint64_t fnv1a64(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static struct swamp_docset *docset_alloc(uint32_t count, size_t paths_size)
{
	struct swamp_docset *ds = calloc(1, sizeof(*ds));

	if (!ds)
		return NULL;
	ds->docs = calloc(count ? count : 1, sizeof(*ds->docs));
	ds->paths = malloc(paths_size ? paths_size : 1);
	if (!ds->docs || !ds->paths) {
		swamp_docset_free(ds);
		return NULL;
	}
	ds->count = count;
	return ds;
}

void swamp_docset_free(struct swamp_docset *ds)
{
	if (!ds)
		return;
	free(ds->docs);
	free(ds->paths);
	free(ds);
}

/* Surge's hybrid: a lognormal body and, for a fixed fraction of files, a Pareto tail. */
static uint64_t docset_draw_size(struct swamp_rng *r, uint64_t max_size)
{
	double v;

	if (swamp_rng_unit(r) < SWAMP_SIZE_TAIL_FRACTION) {
		v = swamp_rng_pareto(r, SWAMP_SIZE_TAIL_K, SWAMP_SIZE_TAIL_ALPHA);
	} else {
		do
			v = exp(SWAMP_SIZE_LOGN_MU + SWAMP_SIZE_LOGN_SIGMA * swamp_rng_normal(r));
		while (v >= SWAMP_SIZE_TAIL_K);
	}
	return v >= (double)max_size ? max_size : (uint64_t)v;
}

int swamp_docset_generate(const struct swamp_gen_params *p, struct swamp_docset **out)
{
	size_t plen = strlen(p->prefix);
	struct swamp_docset *ds;
	struct swamp_rng sizes, order;
	size_t off = 0;

	if (!p->count || p->count > SWAMP_DOCSET_COUNT_MAX || plen + 12 > SWAMP_DOCSET_PATH_MAX)
		return -EINVAL;
	ds = docset_alloc(p->count, (size_t)p->count * (plen + 12));
	if (!ds)
		return -ENOMEM;
	ds->zipf = p->zipf;
	ds->seed = p->seed;
	/* Separate streams: changing the count does not reshuffle the sizes drawn so far. */
	swamp_rng_seed(&sizes, p->seed, 0);
	swamp_rng_seed(&order, p->seed, 1);
	for (uint32_t i = 0; i < p->count; i++) {
		struct swamp_doc *d = &ds->docs[i];

		d->size = docset_draw_size(&sizes, p->max_size);
		d->rank = i + 1;
		d->path_off = (uint32_t)off;
		off += (size_t)sprintf(ds->paths + off, "%s/%06" PRIu32, p->prefix, i) + 1;
	}
	/* Surge matches popularity to size independently: shuffle the ranks (Fisher-Yates). */
	for (uint32_t i = p->count - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(swamp_rng_next(&order) % (i + 1));
		uint32_t t = ds->docs[i].rank;

		ds->docs[i].rank = ds->docs[j].rank;
		ds->docs[j].rank = t;
	}
	ds->paths_size = off;
	*out = ds;
	return 0;
}

int swamp_docset_format(const struct swamp_docset *ds, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	int bad;

	if (!f)
		return -errno;
	fprintf(f, "%s %d\ncount %" PRIu32 "\nzipf %.17g\nseed %" PRIu64 "\n", SWAMP_DOCSET_MAGIC,
		SWAMP_DOCSET_VERSION, ds->count, ds->zipf, ds->seed);
	for (uint32_t i = 0; i < ds->count; i++)
		fprintf(f, "doc %" PRIu32 " %" PRIu64 " %s\n", ds->docs[i].rank, ds->docs[i].size,
			swamp_docset_path(ds, i));
	/* fflush makes *buf and *len describe everything so far: the checksummed part. */
	bad = fflush(f);
	if (!bad)
		fprintf(f, "end %016" PRIx64 "\n", fnv1a64(*buf, *len));
	bad |= ferror(f);
	if (fclose(f) || bad) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int swamp_docset_write(const struct swamp_docset *ds, const char *file)
{
	char *tmp = NULL, *buf = NULL;
	size_t len;
	int fd, rc;

	rc = swamp_docset_format(ds, &buf, &len);
	if (rc)
		return rc;
	if (asprintf(&tmp, "%s.tmp.%d", file, (int)getpid()) < 0) {
		rc = -ENOMEM;
		goto fail_buf;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto fail_tmp;
	}
	rc = write_all(fd, buf, len);
	if (!rc && fsync(fd))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, file))
		rc = -errno;
	if (rc)
		unlink(tmp);
fail_tmp:
	free(tmp);
fail_buf:
	free(buf);
	return rc;
}

/* ---- reading ---- */

struct docset_cursor {
	const char *p, *end;
	unsigned lineno;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int docset_bad(struct docset_cursor *c,
							    const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (!c->errlen)
		return -EINVAL;
	if (c->lineno)
		n = snprintf(c->err, c->errlen, "line %u: ", c->lineno);
	if (n < 0 || (size_t)n >= c->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The next line without its '\n'; a final line without one means the file was cut short. */
static int docset_line(struct docset_cursor *c, const char **line, size_t *len)
{
	const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));

	c->lineno++;
	*line = c->p;
	*len = 0;
	if (!nl)
		return docset_bad(c, "truncated (no end line)");
	*len = (size_t)(nl - c->p);
	c->p = nl + 1;
	return 0;
}

/* Strict unsigned decimal: digits only, at least one, no overflow past max. */
static int parse_u64(const char **sp, const char *end, uint64_t max, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;

	if (s >= end || *s < '0' || *s > '9')
		return -EINVAL;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (d > max || v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*sp = s;
	*out = v;
	return 0;
}

/* "KEY NUMBER" header lines. */
static int docset_keyed_u64(struct docset_cursor *c, const char *key, uint64_t max, uint64_t *out)
{
	size_t klen = strlen(key), len;
	const char *l, *s;
	int rc = docset_line(c, &l, &len);

	if (rc)
		return rc;
	if (len <= klen || memcmp(l, key, klen) || l[klen] != ' ')
		return docset_bad(c, "expected '%s N'", key);
	s = l + klen + 1;
	if (parse_u64(&s, l + len, max, out) || s != l + len)
		return docset_bad(c, "bad %s (0-%" PRIu64 ")", key, max);
	return 0;
}

static int docset_header(struct docset_cursor *c, struct swamp_docset *ds, uint64_t *count)
{
	char zbuf[64], *zend;
	const char *l;
	uint64_t version;
	size_t len;
	int rc;

	rc = docset_keyed_u64(c, SWAMP_DOCSET_MAGIC, UINT32_MAX, &version);
	if (rc)
		return rc;
	if (version != SWAMP_DOCSET_VERSION)
		return docset_bad(c, "version %" PRIu64 " is not supported (want %d)", version,
				  SWAMP_DOCSET_VERSION);
	rc = docset_keyed_u64(c, "count", SWAMP_DOCSET_COUNT_MAX, count);
	if (!rc && !*count)
		rc = docset_bad(c, "count must be at least 1");
	if (rc)
		return rc;
	rc = docset_line(c, &l, &len);
	if (rc)
		return rc;
	if (len < 6 || len - 5 >= sizeof(zbuf) || memcmp(l, "zipf ", 5))
		return docset_bad(c, "expected 'zipf ALPHA'");
	memcpy(zbuf, l + 5, len - 5);
	zbuf[len - 5] = '\0';
	ds->zipf = strtod(zbuf, &zend);
	if (*zend || zend == zbuf || !isfinite(ds->zipf) || ds->zipf < 0 || ds->zipf > 10)
		return docset_bad(c, "bad zipf exponent (0-10)");
	return docset_keyed_u64(c, "seed", UINT64_MAX, &ds->seed);
}

bool swamp_docset_path_ok(const char *p, size_t len)
{
	if (len < 2 || len > SWAMP_DOCSET_PATH_MAX || p[0] != '/')
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = p[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9');

		if (!alnum && ch != '/' && ch != '.' && ch != '_' && ch != '-')
			return false;
		/* No empty segments, no "." or ".." (or hidden) segments: paths stay in DOCROOT. */
		if (ch == '/' && (i + 1 == len || p[i + 1] == '/' || p[i + 1] == '.'))
			return false;
	}
	return true;
}

static int docset_doc(struct docset_cursor *c, struct swamp_docset *ds, uint32_t i, size_t *off,
		      uint8_t *seen)
{
	struct swamp_doc *d = &ds->docs[i];
	const char *l, *s, *end;
	uint64_t rank;
	size_t len;
	int rc = docset_line(c, &l, &len);

	if (rc)
		return rc;
	end = l + len;
	if (len < 4 || memcmp(l, "doc ", 4))
		return docset_bad(c, "expected 'doc RANK SIZE PATH'");
	s = l + 4;
	if (parse_u64(&s, end, ds->count, &rank) || !rank || s >= end || *s++ != ' ')
		return docset_bad(c, "bad rank (1-%" PRIu32 ")", ds->count);
	if (seen[(rank - 1) / 8] & (1u << ((rank - 1) % 8)))
		return docset_bad(c, "rank %" PRIu64 " appears twice", rank);
	seen[(rank - 1) / 8] |= (uint8_t)(1u << ((rank - 1) % 8));
	if (parse_u64(&s, end, SWAMP_DOCSET_SIZE_MAX, &d->size) || s >= end || *s++ != ' ')
		return docset_bad(c, "bad size (0-%llu)",
				  (unsigned long long)SWAMP_DOCSET_SIZE_MAX);
	if (!swamp_docset_path_ok(s, (size_t)(end - s)))
		return docset_bad(c, "bad path (/-rooted, [A-Za-z0-9._-], no '.' segments)");
	d->rank = (uint32_t)rank;
	d->path_off = (uint32_t)*off;
	memcpy(ds->paths + *off, s, (size_t)(end - s));
	*off += (size_t)(end - s);
	ds->paths[(*off)++] = '\0';
	return 0;
}

static int docset_trailer(struct docset_cursor *c, const char *start)
{
	const char *l, *body_end = c->p;
	char want[17];
	size_t len;
	int rc = docset_line(c, &l, &len);

	if (rc)
		return rc;
	if (len != 20 || memcmp(l, "end ", 4))
		return docset_bad(c, "expected 'end CHECKSUM' (more doc lines than count?)");
	snprintf(want, sizeof(want), "%016" PRIx64, fnv1a64(start, (size_t)(body_end - start)));
	if (memcmp(l + 4, want, 16))
		return docset_bad(c, "checksum mismatch: the file is corrupt");
	if (c->p != c->end)
		return docset_bad(c, "data after the end line");
	return 0;
}

int swamp_docset_parse(const char *buf, size_t len, struct swamp_docset **out, char *err,
		       size_t errlen)
{
	struct docset_cursor c = {buf, buf + len, 0, err, errlen};
	struct swamp_docset hdr = {0}, *ds;
	uint8_t *seen = NULL;
	uint64_t count;
	size_t off = 0;
	int rc;

	if (errlen)
		err[0] = '\0';
	rc = docset_header(&c, &hdr, &count);
	if (rc)
		return rc;
	/* The paths cannot take more room than the file itself. */
	ds = docset_alloc((uint32_t)count, len);
	seen = calloc((size_t)(count + 7) / 8, 1);
	if (!ds || !seen) {
		rc = -ENOMEM;
		goto fail;
	}
	ds->zipf = hdr.zipf;
	ds->seed = hdr.seed;
	for (uint32_t i = 0; i < ds->count && !rc; i++)
		rc = docset_doc(&c, ds, i, &off, seen);
	if (!rc)
		rc = docset_trailer(&c, buf);
	if (rc)
		goto fail;
	ds->paths_size = off;
	free(seen);
	*out = ds;
	return 0;
fail:
	free(seen);
	swamp_docset_free(ds);
	return rc;
}

static int docset_read_file(const char *file, char **buf, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd = open(file, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		rc = -errno;
	} else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > SWAMP_DOCSET_FILE_MAX) {
		rc = -EFBIG;
	} else if (!(*buf = malloc((size_t)st.st_size + 1))) {
		rc = -ENOMEM;
	} else {
		n = pread(fd, *buf, (size_t)st.st_size, 0);
		if (n != st.st_size) {
			rc = n < 0 ? -errno : -EIO;
			free(*buf);
		}
		*len = (size_t)st.st_size;
	}
	close(fd);
	return rc;
}

int swamp_docset_load(const char *file, struct swamp_docset **out, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = docset_read_file(file, &buf, &len);

	if (rc) {
		snprintf(err, errlen, "%s",
			 rc == -EFBIG ? "not a regular file of sane size" : strerror(-rc));
		return rc;
	}
	rc = swamp_docset_parse(buf, len, out, err, errlen);
	free(buf);
	return rc;
}
