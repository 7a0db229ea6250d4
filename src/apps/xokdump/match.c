/* match.c - the userspace evaluator: what every primitive of an expression matches */

/*
 * This is the definition of an expression's meaning.  The filter compiler (compile.c) must
 * produce DPF atoms with exactly the same meaning, including how a load beyond the end of
 * the frame fails (DPF's loads fail; so do these), and the unit tests hold the two to each
 * other through libdpf's reference interpreter.  Every copied frame passes through here, so
 * the output is exact even where the copy filters had to be wider than the expression.
 */

#include <xok/proto/eth.h>
#include <xok/proto/ip.h>
#include "xokdump.h"

/* Big-endian load that fails beyond the frame, as a DPF atom's load does. */
static bool ld(const uint8_t *f, size_t len, size_t off, unsigned width, uint32_t *v)
{
	uint32_t x = 0;

	if (off > len || width > len - off)
		return false;
	for (unsigned i = 0; i < width; i++)
		x = x << 8 | f[off + i];
	*v = x;
	return true;
}

static bool ld_is(const uint8_t *f, size_t len, size_t off, unsigned width, uint32_t mask,
		  uint32_t value)
{
	uint32_t v;

	return ld(f, len, off, width, &v) && (v & mask) == value;
}

static bool dir_match(const struct expr_prim *pr, bool src, bool dst)
{
	switch (pr->dir) {
	case DIR_SRC:
		return src;
	case DIR_DST:
		return dst;
	case DIR_BOTH:
		return src && dst;
	default:
		return src || dst;
	}
}

/* A prefix of length 0 tests nothing (the compiler emits no atom for it). */
static bool addr_at(const struct expr_prim *pr, const uint8_t *f, size_t len, size_t off)
{
	return pr->plen == 0 || ld_is(f, len, off, 4, xd_prefix_mask(pr->plen), pr->addr);
}

static bool host_match(const struct expr_prim *pr, const uint8_t *f, size_t len)
{
	if ((pr->on & PRIM_ON_IP) && ld_is(f, len, 12, 2, 0xffff, ETH_TYPE_IPV4) &&
	    dir_match(pr, addr_at(pr, f, len, 26), addr_at(pr, f, len, 30)))
		return true;
	return (pr->on & PRIM_ON_ARP) && ld_is(f, len, 12, 2, 0xffff, ETH_TYPE_ARP) &&
	       dir_match(pr, addr_at(pr, f, len, 28), addr_at(pr, f, len, 38));
}

/* Ports sit after the variable-length IPv4 header of a first (or only) fragment. */
static bool port_match_proto(const struct expr_prim *pr, uint8_t proto, const uint8_t *f,
			     size_t len)
{
	uint32_t ihl;
	size_t base;

	if (!ld_is(f, len, 12, 2, 0xffff, ETH_TYPE_IPV4) || !ld_is(f, len, 23, 1, 0xff, proto) ||
	    !ld_is(f, len, 20, 2, IP_OFFMASK, 0) || !ld(f, len, 14, 1, &ihl))
		return false;
	base = ETH_HDR_LEN + ((ihl & 0x0f) << 2);
	return dir_match(pr, ld_is(f, len, base, 2, 0xffff, pr->port),
			 ld_is(f, len, base + 2, 2, 0xffff, pr->port));
}

static bool prim_match(const struct expr_prim *pr, const uint8_t *f, size_t len)
{
	switch (pr->kind) {
	case PRIM_ETHER:
		return ld_is(f, len, 12, 2, 0xffff, pr->ethertype);
	case PRIM_IPPROTO:
		return ld_is(f, len, 12, 2, 0xffff, ETH_TYPE_IPV4) &&
		       ld_is(f, len, 23, 1, 0xff, pr->proto);
	case PRIM_HOST:
		return host_match(pr, f, len);
	case PRIM_PORT:
		return ((pr->on & PRIM_ON_TCP) && port_match_proto(pr, IP_PROTO_TCP, f, len)) ||
		       ((pr->on & PRIM_ON_UDP) && port_match_proto(pr, IP_PROTO_UDP, f, len));
	}
	return false;
}

static bool node_match(const struct expr *e, unsigned i, const uint8_t *f, size_t len)
{
	const struct expr_node *n = &e->nodes[i];

	switch (n->kind) {
	case EXPR_AND:
		return node_match(e, n->left, f, len) && node_match(e, n->right, f, len);
	case EXPR_OR:
		return node_match(e, n->left, f, len) || node_match(e, n->right, f, len);
	case EXPR_NOT:
		return !node_match(e, n->left, f, len);
	default:
		return prim_match(&n->prim, f, len);
	}
}

bool expr_match(const struct expr *e, const uint8_t *frame, size_t len)
{
	return e->nnodes == 0 || node_match(e, e->root, frame, len);
}
