/* driver.c - driver registry and the request formatting the drivers share */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

static const struct {
	const char *name;
	int (*create)(const struct swamp_driver_params *p, struct swamp_driver **out);
} drivers[] = {
    {"fixed", swamp_driver_fixed_create},
    {"surge", swamp_driver_surge_create},
};

const char swamp_driver_names[] = "fixed|surge";

int swamp_driver_create(const struct swamp_driver_params *p, struct swamp_driver **out)
{
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (!strcmp(p->name, drivers[i].name))
			return drivers[i].create(p, out);
	snprintf(p->err, p->errlen, "unknown driver '%s' (%s)", p->name, swamp_driver_names);
	return -EINVAL;
}

/* The URL's path is the prefix of every document path: "/" + "/ws/1" is "/ws/1". */
static int reqs_target(char *buf, size_t cap, const char *base, const char *doc)
{
	size_t blen = strlen(base);

	if (!doc)
		return snprintf(buf, cap, "%s", base);
	if (blen && base[blen - 1] == '/')
		blen--;
	return snprintf(buf, cap, "%.*s%s", (int)blen, base, doc);
}

/* HTTP/1.0 closes after each response (the paper's workload); HTTP/1.1 persists. */
static int reqs_format(char *buf, size_t cap, const char *target, const char *host, bool keepalive)
{
	return snprintf(buf, cap, "GET %s HTTP/1.%d\r\nHost: %s\r\n\r\n", target, keepalive ? 1 : 0,
			host);
}

/* Two passes over the targets (measure, then fill) so the arena is one allocation. */
static int reqs_measure(struct swamp_reqs *r, const struct swamp_driver_params *p,
			const char *const *docs, size_t *arena, size_t *paths)
{
	*arena = *paths = 0;
	for (uint32_t i = 0; i < r->n; i++) {
		int t = reqs_target(NULL, 0, p->url->path, docs ? docs[i] : NULL);
		int q;

		if (t < 0)
			return -EINVAL;
		q = reqs_format(NULL, 0, "", p->url->hostport, p->keepalive);
		if (q < 0 || (size_t)t + (size_t)q > UINT32_MAX / 2)
			return -EINVAL;
		*arena += (size_t)t + (size_t)q + 1;
		*paths += (size_t)t + 1;
	}
	return 0;
}

int swamp_reqs_build(struct swamp_reqs *r, const struct swamp_driver_params *p,
		     const char *const *docs, uint32_t n)
{
	size_t asize, psize, aoff = 0, poff = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	r->n = n;
	rc = reqs_measure(r, p, docs, &asize, &psize);
	if (rc)
		return rc;
	r->mem = p->mem;
	r->arena = r->mem ? r->mem->alloc(r->mem->ctx, asize) : malloc(asize);
	r->paths = malloc(psize);
	r->off = calloc(n, sizeof(*r->off));
	r->len = calloc(n, sizeof(*r->len));
	r->path = calloc(n, sizeof(*r->path));
	if (!r->arena || !r->paths || !r->off || !r->len || !r->path) {
		swamp_reqs_free(r);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		int t =
		    reqs_target(r->paths + poff, psize - poff, p->url->path, docs ? docs[i] : NULL);
		int q = reqs_format(r->arena + aoff, asize - aoff, r->paths + poff,
				    p->url->hostport, p->keepalive);

		r->path[i] = r->paths + poff;
		r->off[i] = (uint32_t)aoff;
		r->len[i] = (uint32_t)q;
		poff += (size_t)t + 1;
		aoff += (size_t)q + 1;
	}
	return 0;
}

void swamp_reqs_free(struct swamp_reqs *r)
{
	if (r->mem && r->arena)
		r->mem->free(r->mem->ctx, r->arena);
	else
		free(r->arena);
	free(r->paths);
	free(r->off);
	free(r->len);
	free(r->path);
	memset(r, 0, sizeof(*r));
}
