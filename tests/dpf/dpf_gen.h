/* dpf_gen.h - random filters and frames for differential testing (tests and fuzzer) */
#ifndef XOK_DPF_GEN_H
#define XOK_DPF_GEN_H

#include "dpf_test_util.h"

/* A random valid filter over Ethernet/IPv4/TCP/UDP-like fields, drawn from small value pools
 * so that random filters often relate and random frames often match. */
void gen_filter(struct rng *r, struct dpf_filter *f);
/* A random frame (14..max bytes, max <= 1600): mostly well-formed headers with IP options,
 * truncations, odd ethertypes, sometimes plain noise.  Returns the length. */
size_t gen_frame(struct rng *r, uint8_t *buf, size_t max);

/* Fills s with up to nfilters random tree filters (keeping those it accepts), up to ncopy copy
 * filters, and deletes a few.  Ids start at *next_id. */
void gen_set(struct rng *r, struct dpf_set *s, unsigned nfilters, unsigned ncopy,
	     uint32_t *next_id);

/* A family: a random filter f and up to n - 1 siblings of it (values flipped, same fields),
 * as connections of one listener are; f itself goes to *base. */
void gen_family(struct rng *r, struct dpf_set *s, unsigned n, uint32_t *next_id,
		struct dpf_filter *base);
/* A sibling of base (one value bit flipped). */
void gen_sibling(struct rng *r, const struct dpf_filter *base, struct dpf_filter *out);

/* arpd's ARP filter, strayd's catch-all, UDP services, ICMP and GRE subnet filters, 200 TCP
 * listeners with 20 connections each, bound TCP and UDP ports: total tree filters (>= 7350)
 * plus 6 copy filters.  NULL on a refused insert (*err, *failed_id). */
#define MIX_LOCAL 0xc6120001u /* 198.18.0.1 */
struct dpf_set *gen_mixed_set(unsigned total, unsigned *ntree, int *err, uint32_t *failed_id);

#endif /* XOK_DPF_GEN_H */
