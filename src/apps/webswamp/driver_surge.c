/* driver_surge.c - Surge-like driver: Zipf popularity over a heavy-tailed document set */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docset.h"
#include "driver.h"
#include "param.h"
#include "prng.h"

/*
 * Surge (Barford & Crovella, SIGMETRICS 1998) in the parts that shape a server's load:
 * document popularity follows Zipf's law over a document set whose sizes are lognormal with
 * a Pareto tail (drawn by webswamp-gen into the docset file), and users think for
 * Pareto-distributed OFF times between requests.  Each emulated client draws from its own
 * stream, so the n-th request of client c is a function of (seed, c, n) alone.
 */
struct surge_driver {
	struct swamp_driver d;
	struct swamp_reqs reqs;
	struct swamp_rng *rng; /* one stream per client */
	double *cdf;	       /* cdf[r] = sum of weights of ranks 1..r+1 */
	uint32_t *by_rank;     /* document index of rank r+1 */
	uint32_t ndocs;
	double think_k_ns;
};

/* The smallest rank whose cumulative weight exceeds u (binary search). */
static uint32_t surge_pick(const struct surge_driver *s, double u)
{
	uint32_t lo = 0, hi = s->ndocs - 1;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (s->cdf[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return s->by_rank[lo];
}

static void surge_next(struct swamp_driver *d, uint32_t client, struct swamp_task *t)
{
	struct surge_driver *s = (struct surge_driver *)d;
	struct swamp_rng *r = &s->rng[client];
	uint32_t doc = surge_pick(s, swamp_rng_unit(r) * s->cdf[s->ndocs - 1]);
	double think = 0;

	if (s->think_k_ns > 0) {
		think = swamp_rng_pareto(r, s->think_k_ns, SWAMP_SURGE_THINK_ALPHA);
		if (think > s->think_k_ns * SWAMP_SURGE_THINK_CAP)
			think = s->think_k_ns * SWAMP_SURGE_THINK_CAP;
	}
	t->req = s->reqs.arena + s->reqs.off[doc];
	t->req_len = s->reqs.len[doc];
	t->doc = doc;
	t->think_ns = (uint64_t)think;
	t->path = s->reqs.path[doc];
}

static void surge_destroy(struct swamp_driver *d)
{
	struct surge_driver *s = (struct surge_driver *)d;

	swamp_reqs_free(&s->reqs);
	free(s->rng);
	free(s->cdf);
	free(s->by_rank);
	free(s);
}

static const struct swamp_driver_ops surge_ops = {
    .name = "surge",
    .next = surge_next,
    .destroy = surge_destroy,
};

static int surge_tables(struct surge_driver *s, const struct swamp_docset *ds)
{
	double sum = 0;

	s->ndocs = ds->count;
	s->cdf = malloc(ds->count * sizeof(*s->cdf));
	s->by_rank = malloc(ds->count * sizeof(*s->by_rank));
	if (!s->cdf || !s->by_rank)
		return -ENOMEM;
	for (uint32_t i = 0; i < ds->count; i++)
		s->by_rank[ds->docs[i].rank - 1] = i;
	for (uint32_t r = 0; r < ds->count; r++) {
		sum += pow((double)(r + 1), -ds->zipf);
		s->cdf[r] = sum;
	}
	return 0;
}

static int surge_streams(struct surge_driver *s, const struct swamp_driver_params *p)
{
	s->rng = malloc((size_t)p->clients * sizeof(*s->rng));
	if (!s->rng)
		return -ENOMEM;
	for (uint32_t c = 0; c < p->clients; c++)
		swamp_rng_seed(&s->rng[c], p->seed, c);
	return 0;
}

static int surge_requests(struct surge_driver *s, const struct swamp_driver_params *p,
			  const struct swamp_docset *ds)
{
	const char **docs = malloc(ds->count * sizeof(*docs));
	int rc;

	if (!docs)
		return -ENOMEM;
	for (uint32_t i = 0; i < ds->count; i++)
		docs[i] = swamp_docset_path(ds, i);
	rc = swamp_reqs_build(&s->reqs, p, docs, ds->count);
	free(docs);
	return rc;
}

int swamp_driver_surge_create(const struct swamp_driver_params *p, struct swamp_driver **out)
{
	struct swamp_docset *ds = NULL;
	struct surge_driver *s;
	char why[256];
	int rc;

	if (!p->docset) {
		snprintf(p->err, p->errlen,
			 "the surge driver needs --docset FILE (see webswamp-gen)");
		return -EINVAL;
	}
	rc = swamp_docset_load(p->docset, &ds, why, sizeof(why));
	if (rc) {
		snprintf(p->err, p->errlen, "%s: %s", p->docset, why);
		return rc;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		swamp_docset_free(ds);
		return -ENOMEM;
	}
	s->d.ops = &surge_ops;
	s->think_k_ns = (p->think_ms >= 0 ? p->think_ms : SWAMP_SURGE_THINK_MS_DEFAULT) * 1e6;
	rc = surge_tables(s, ds);
	if (!rc)
		rc = surge_streams(s, p);
	if (!rc)
		rc = surge_requests(s, p, ds);
	swamp_docset_free(ds);
	if (rc) {
		surge_destroy(&s->d);
		return rc;
	}
	*out = &s->d;
	return 0;
}
