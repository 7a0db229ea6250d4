/* hist.h - log-linear latency histogram (HdrHistogram's bucket layout) */
#ifndef SWAMP_HIST_H
#define SWAMP_HIST_H

#include <stdint.h>

/*
 * Values (nanoseconds) below 2^SUB_BITS are counted exactly; above, each power-of-two range
 * is split into 2^(SUB_BITS-1) equal sub-buckets, so every recorded value is known to within
 * 1/2^(SUB_BITS-1) of itself.  Recording is a shift and an increment: cheap enough for every
 * request of a load generator.
 */
struct swamp_hist {
	uint64_t *counts;
	uint64_t count;
	uint64_t min, max;
	double sum, sumsq;
};

int swamp_hist_init(struct swamp_hist *h);
void swamp_hist_free(struct swamp_hist *h);
void swamp_hist_record(struct swamp_hist *h, uint64_t v);
/* The smallest recorded value v such that at least p percent of values are <= v, reported as
 * the highest value of its bucket (never above max); 0 when empty. */
uint64_t swamp_hist_percentile(const struct swamp_hist *h, double p);
/* Fraction (0-1) of values within [lo, hi], at bucket resolution (wrk's "+/- Stdev"). */
double swamp_hist_within(const struct swamp_hist *h, double lo, double hi);
double swamp_hist_mean(const struct swamp_hist *h);
double swamp_hist_stdev(const struct swamp_hist *h);

#endif /* SWAMP_HIST_H */
