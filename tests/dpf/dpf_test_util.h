/* dpf_test_util.h - shared helpers for libdpf's tests, fuzzer and benchmark */
#ifndef XOK_DPF_TEST_UTIL_H
#define XOK_DPF_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xok/dpf.h"

#define TEST_SKIP 77 /* meson: test skipped */

/* splitmix64: small, seedable, good enough for test data */
struct rng {
	uint64_t s;
};
uint64_t rng_next(struct rng *r);
uint32_t rng_below(struct rng *r, uint32_t n); /* 0..n-1 */
bool rng_chance(struct rng *r, unsigned percent);

/* Seed from $DPF_TEST_SEED or the clock; printed so that a failure can be replayed. */
uint64_t test_seed(const char *name);

/* Frames: Ethernet II + IPv4 (ihl 5..15 words) + TCP/UDP ports; returns the length. */
struct frame_spec {
	uint16_t ethertype;
	uint8_t ihl; /* 5..15 */
	uint8_t proto;
	uint32_t src, dst;
	uint16_t sport, dport;
	size_t len; /* total, >= 14; truncates or pads with zeros */
};
size_t frame_build(uint8_t *buf, size_t cap, const struct frame_spec *spec);

/* Running a loaded program through BPF_PROG_TEST_RUN and decoding the metadata.
 * Returns 0 or -errno; *retval gets the XDP action. */
int prog_run(int prog_fd, const uint8_t *frame, size_t len, struct dpf_result *res,
	     uint32_t *retval);
/* Average ns per run of repeat runs (BPF_PROG_TEST_RUN duration). */
int prog_time(int prog_fd, const uint8_t *frame, size_t len, uint32_t repeat, double *ns);

/* Generates, loads and returns a program fd (or -errno; the verifier log goes to stderr). */
int set_load(struct dpf_set *s, bool linear, enum dpf_unmatched unmatched, size_t *ninsns);

/* Tests that need BPF: true when running as root, else print why and return false. */
bool have_bpf(void);

#endif /* XOK_DPF_TEST_UTIL_H */
