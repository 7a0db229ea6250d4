/* docset.h - the document set: what webswamp-gen creates and the surge driver requests */
#ifndef SWAMP_DOCSET_H
#define SWAMP_DOCSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * File format (text, so it can be read and diffed; version 1):
 *
 *	webswamp-docset 1
 *	count N
 *	zipf ALPHA            popularity of rank r is proportional to r^-ALPHA
 *	seed SEED             the generator's seed (informational)
 *	doc RANK SIZE PATH    N lines; ranks are a permutation of 1..N
 *	end CHECKSUM          FNV-1a 64 of every byte before this line, 16 hex digits
 *
 * The reader checks all of it (magic, version, counts, ranges, the rank permutation, path
 * syntax, the checksum, nothing after the end line), so a truncated or corrupted file is an
 * error and never a silently different workload.
 */
#define SWAMP_DOCSET_MAGIC   "webswamp-docset"
#define SWAMP_DOCSET_VERSION 1

struct swamp_doc {
	uint64_t size;
	uint32_t rank;	   /* 1 = most popular */
	uint32_t path_off; /* into swamp_docset.paths */
};

struct swamp_docset {
	uint32_t count;
	double zipf;
	uint64_t seed;
	struct swamp_doc *docs;
	char *paths; /* NUL-terminated paths, back to back */
	size_t paths_size;
};

struct swamp_gen_params {
	uint32_t count;
	double zipf;
	uint64_t seed;
	uint64_t max_size;  /* sizes are capped here */
	const char *prefix; /* URL path prefix of every document, e.g. "/ws" */
};

static inline const char *swamp_docset_path(const struct swamp_docset *ds, uint32_t i)
{
	return ds->paths + ds->docs[i].path_off;
}

/* Draws sizes (Surge's lognormal body with a Pareto tail) and a random popularity order. */
int swamp_docset_generate(const struct swamp_gen_params *p, struct swamp_docset **out);
/* Formats to a malloc'ed buffer (*buf, *len). */
int swamp_docset_format(const struct swamp_docset *ds, char **buf, size_t *len);
/* Writes `file` atomically (a temporary file renamed over it). */
int swamp_docset_write(const struct swamp_docset *ds, const char *file);
/* Parses and validates; on failure fills err with the reason ("line 7: ..."). */
int swamp_docset_parse(const char *buf, size_t len, struct swamp_docset **out, char *err,
		       size_t errlen);
int swamp_docset_load(const char *file, struct swamp_docset **out, char *err, size_t errlen);
void swamp_docset_free(struct swamp_docset *ds);
/* A document path the reader accepts: '/'-rooted, [A-Za-z0-9._-] segments, none empty or
 * starting with '.', at most SWAMP_DOCSET_PATH_MAX bytes. */
bool swamp_docset_path_ok(const char *p, size_t len);

#endif /* SWAMP_DOCSET_H */
