/* hist.c - log-linear latency histogram (HdrHistogram's bucket layout) */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "param.h"

#define SUB_COUNT (1U << SWAMP_HIST_SUB_BITS)
#define SUB_HALF  (SUB_COUNT / 2)
#define NBUCKETS  (SWAMP_HIST_MAX_BITS - SWAMP_HIST_SUB_BITS + 1)
#define NCOUNTS	  ((NBUCKETS + 1) * SUB_HALF)
#define VALUE_MAX ((1ULL << SWAMP_HIST_MAX_BITS) - 1)

/* Bucket b >= 1 holds [2^(b+SUB_BITS-1), 2^(b+SUB_BITS)) in steps of 2^b; bucket 0 holds
 * [0, 2^SUB_BITS) exactly.  The indices of consecutive buckets are contiguous. */
static unsigned hist_index(uint64_t v)
{
	int msb = 63 - __builtin_clzll(v | 1);
	unsigned b = msb < SWAMP_HIST_SUB_BITS ? 0 : (unsigned)(msb - SWAMP_HIST_SUB_BITS + 1);

	return b * SUB_HALF + (unsigned)(v >> b);
}

static unsigned hist_bucket(unsigned idx)
{
	return idx < SUB_COUNT ? 0 : idx / SUB_HALF - 1;
}

static uint64_t hist_lowest(unsigned idx)
{
	unsigned b = hist_bucket(idx);

	return (uint64_t)(idx - b * SUB_HALF) << b;
}

static uint64_t hist_highest(unsigned idx)
{
	return hist_lowest(idx) + (1ULL << hist_bucket(idx)) - 1;
}

int swamp_hist_init(struct swamp_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->counts = calloc(NCOUNTS, sizeof(*h->counts));
	if (!h->counts)
		return -ENOMEM;
	h->min = UINT64_MAX;
	return 0;
}

void swamp_hist_free(struct swamp_hist *h)
{
	free(h->counts);
	h->counts = NULL;
}

void swamp_hist_record(struct swamp_hist *h, uint64_t v)
{
	if (v > VALUE_MAX)
		v = VALUE_MAX;
	h->counts[hist_index(v)]++;
	h->count++;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->sum += (double)v;
	h->sumsq += (double)v * (double)v;
}

uint64_t swamp_hist_percentile(const struct swamp_hist *h, double p)
{
	uint64_t target, seen = 0;

	if (!h->count)
		return 0;
	if (p <= 0)
		return h->min;
	/* The relative nudge keeps 99.9% of 1000 at 999 despite 99.9 not being exact. */
	target = (uint64_t)ceil(p / 100.0 * (double)h->count * (1 - 1e-12));
	if (target < 1)
		target = 1;
	if (target > h->count)
		target = h->count;
	for (unsigned i = 0; i < NCOUNTS; i++) {
		seen += h->counts[i];
		if (seen >= target) {
			uint64_t v = hist_highest(i);

			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

double swamp_hist_within(const struct swamp_hist *h, double lo, double hi)
{
	uint64_t in = 0;

	if (!h->count)
		return 0.0;
	for (unsigned i = 0; i < NCOUNTS; i++) {
		double v = (double)hist_lowest(i);

		if (h->counts[i] && v >= lo && v <= hi)
			in += h->counts[i];
	}
	return (double)in / (double)h->count;
}

double swamp_hist_mean(const struct swamp_hist *h)
{
	return h->count ? h->sum / (double)h->count : 0.0;
}

double swamp_hist_stdev(const struct swamp_hist *h)
{
	double mean, var;

	if (h->count < 2)
		return 0.0;
	mean = swamp_hist_mean(h);
	var = h->sumsq / (double)h->count - mean * mean;
	return var > 0 ? sqrt(var) : 0.0;
}
