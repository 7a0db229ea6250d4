/* prng.h - seeded, portable pseudo-random numbers: splitmix64 seeding, xoshiro256** streams */
#ifndef SWAMP_PRNG_H
#define SWAMP_PRNG_H

#include <math.h>
#include <stdint.h>

/*
 * The drivers must be exactly reproducible: the same seed gives the same request sequence on
 * every run, whatever the timing.  Each emulated client therefore owns its own stream,
 * derived from (seed, client) with splitmix64, so interleaving never changes what a client
 * asks for.  xoshiro256** (Blackman & Vigna) is fast and has no bad low bits.
 */
struct swamp_rng {
	uint64_t s[4];
};

static inline uint64_t swamp_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void swamp_rng_seed(struct swamp_rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL);

	/* splitmix64 never yields four zero words, which xoshiro cannot leave. */
	for (int i = 0; i < 4; i++)
		r->s[i] = swamp_splitmix64(&x);
}

static inline uint64_t swamp_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t swamp_rng_next(struct swamp_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = swamp_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = swamp_rotl(s[3], 45);
	return result;
}

/* Uniform in [0, 1), 53 bits. */
static inline double swamp_rng_unit(struct swamp_rng *r)
{
	return (double)(swamp_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in (0, 1]: safe to take the log of or divide by. */
static inline double swamp_rng_unit_open0(struct swamp_rng *r)
{
	return (double)((swamp_rng_next(r) >> 11) + 1) * 0x1.0p-53;
}

/* Pareto(k, alpha) by inversion: k / U^(1/alpha), U in (0, 1]. */
static inline double swamp_rng_pareto(struct swamp_rng *r, double k, double alpha)
{
	return k / pow(swamp_rng_unit_open0(r), 1.0 / alpha);
}

/* Standard normal by Box-Muller (one value per call keeps the stream stateless). */
static inline double swamp_rng_normal(struct swamp_rng *r)
{
	double u1 = swamp_rng_unit_open0(r), u2 = swamp_rng_unit(r);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

#endif /* SWAMP_PRNG_H */
