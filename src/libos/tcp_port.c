/* tcp_port.c - ephemeral ports for active opens, claimed from xokd a block at a time
 *
 * An active open needs a local port that no other process receives on.  The paper's ExOS
 * installs a 4-tuple filter per connection, on a random port, trying again when the filter
 * conflicts (§3.3 (4)).  Here that costs a round trip to xokd per connection and another per
 * close -- on a busy client most of its time.  So, as a listener's one filter serves all the
 * connections it accepts (§3.3 "Inter-End-Point Resource Sharing"), a stack claims
 * TCP_PBLOCK_PORTS consecutive ephemeral ports with one masked filter (a random aligned
 * block, another one on conflict: the same §3.3 (4) rule, a block at a time), hands them out
 * to its connections and demultiplexes their segments by 4-tuple itself.  Segments for a
 * block's ports that no connection or TIME_WAIT block claims get a reset, as the catch-all
 * would give them.
 *
 * A block lives while connections or TIME_WAIT blocks use its ports (refs), and for
 * TCP_PBLOCK_LINGER_NS after the last one, for the next connections; then it goes back to
 * xokd.  At
 * exit the block's filter travels to twd with its closing connections (TWD_F_BLOCK); twd
 * points it at its own ring, so a block handed over (retired) serves no new connection.
 * Connections with a chosen local port, and all of them when no block can be had, still
 * get a 4-tuple filter of their own.
 */
#include <stdlib.h>
#include <exos/twd.h>

#include "tcp_int.h"

struct tcp_pblock {
	struct tcp_pblock *next;
	uint32_t laddr;	 /* network order */
	uint16_t base;	 /* host order, a multiple of TCP_PBLOCK_PORTS */
	uint32_t filter; /* its DPF filter */
	struct xok_cap cap;
	uint64_t used; /* bit i: port base + i has a live connection */
	uint32_t refs; /* connections and TIME_WAIT blocks on its ports */
	bool retired;  /* handed to twd: no new connections */
	uint64_t empty_since;
};

_Static_assert(TCP_PBLOCK_PORTS == 64, "a block's ports are one 64-bit word");
_Static_assert((TCP_EPHEMERAL_HI + 1 - TCP_EPHEMERAL_LO) >= TCP_PBLOCK_PORTS,
	       "the ephemeral range holds a block");

static uint16_t block_first(void)
{
	return (uint16_t)((TCP_EPHEMERAL_LO + TCP_PBLOCK_PORTS - 1) / TCP_PBLOCK_PORTS *
			  TCP_PBLOCK_PORTS);
}

static uint32_t block_count(void)
{
	return (TCP_EPHEMERAL_HI + 1u - block_first()) / TCP_PBLOCK_PORTS;
}

static int block_filter(struct dpf_filter *f, uint32_t laddr, uint16_t base)
{
	dpf_filter_init(f);
	if (dpf_match_ipv4(f) < 0 || dpf_match_ipv4_proto(f, IP_PROTO_TCP) < 0 ||
	    dpf_match_ipv4_dst(f, ntohl(laddr), 32) < 0 ||
	    dpf_add_shift(f, 14, 1, 0x0f, 2, 14) < 0 || /* the IPv4 header length */
	    dpf_add_match(f, 2, 2, 0x10000 - TCP_PBLOCK_PORTS, base) < 0)
		return -EINVAL;
	return 0;
}

/* A new block for laddr from xokd, or NULL (errno-style code in *err). */
static struct tcp_pblock *block_claim(struct exos_stack *s, uint32_t laddr, int *err)
{
	struct tcp_pblock *b = calloc(1, sizeof(*b));
	struct dpf_filter f;

	*err = -ENOMEM;
	if (!b)
		return NULL;
	for (int i = 0; i < TCP_PORT_RETRIES; i++) {
		uint16_t base = (uint16_t)(block_first() +
					   stack_random(s) % block_count() * TCP_PBLOCK_PORTS);

		*err = block_filter(&f, laddr, base);
		if (*err == 0)
			*err = stack_filter_claim(s, &f, &b->filter, &b->cap);
		if (*err == 0) {
			b->laddr = laddr;
			b->base = base;
			b->next = s->tcp->pblocks;
			s->tcp->pblocks = b;
			s->st.tcp_port_blocks++;
			return b;
		}
		if (*err != -EADDRINUSE)
			break;
		s->st.tcp_ephemeral_retries++;
	}
	free(b);
	return NULL;
}

static void block_free(struct exos_stack *s, struct tcp_pblock *b)
{
	struct tcp_pblock **pp;

	for (pp = &s->tcp->pblocks; *pp != b; pp = &(*pp)->next)
		;
	*pp = b->next;
	stack_filter_delete(s, b->filter);
	free(b);
}

/* A free port of b for c's 4-tuple (a random one first), or 0. */
static uint16_t block_pick(struct exos_stack *s, struct tcp_pblock *b, const struct exos_tcp *c)
{
	uint32_t start = stack_random(s) % TCP_PBLOCK_PORTS;

	if (b->used == ~0ull || b->retired)
		return 0;
	for (uint32_t k = 0; k < TCP_PBLOCK_PORTS; k++) {
		uint32_t i = (start + k) % TCP_PBLOCK_PORTS;
		uint16_t port = (uint16_t)(b->base + i);

		if (!((b->used >> i) & 1) &&
		    !tcp_tuple_busy(s, c->laddr, htons(port), c->raddr, c->rport))
			return port;
	}
	return 0;
}

static void block_take(struct tcp_pblock *b, struct exos_tcp *c, uint16_t port)
{
	b->used |= 1ull << (port - b->base);
	b->refs++;
	c->pblock = b;
	c->lport = htons(port);
}

int tcp_port_pick(struct exos_tcp *c)
{
	struct exos_stack *s = c->s;
	struct tcp_pblock *b;
	uint16_t port;
	int err;

	for (b = s->tcp->pblocks; b; b = b->next) {
		if (b->laddr != c->laddr)
			continue;
		port = block_pick(s, b, c);
		if (port) {
			block_take(b, c, port);
			return 0;
		}
	}
	b = block_claim(s, c->laddr, &err);
	if (!b)
		return err;
	port = block_pick(s, b, c);
	if (!port)
		return -EADDRINUSE; /* cannot happen: a new block has every port free */
	block_take(b, c, port);
	return 0;
}

/* Returns the blocks that have been empty for the linger time; re-arms for the rest. */
static void linger_fn(struct exos_stack *s, struct exos_timer *t)
{
	struct tcp_pblock *b, *next;
	uint64_t first = 0;

	for (b = s->tcp->pblocks; b; b = next) {
		next = b->next;
		if (b->refs)
			continue;
		if (b->empty_since + TCP_PBLOCK_LINGER_NS <= s->now)
			block_free(s, b);
		else if (!first || b->empty_since < first)
			first = b->empty_since;
	}
	if (first)
		timer_arm(s, t, first + TCP_PBLOCK_LINGER_NS);
}

void tcp_port_init(struct exos_stack *s)
{
	timer_init(&s->tcp->pblock_timer, linger_fn);
}

/* An empty block lingers for new connections, unless twd has it. */
static void block_put(struct exos_stack *s, struct tcp_pblock *b)
{
	if (--b->refs)
		return;
	if (b->retired) {
		block_free(s, b);
		return;
	}
	b->empty_since = s->now;
	if (!timer_armed(&s->tcp->pblock_timer))
		timer_arm(s, &s->tcp->pblock_timer, s->now + TCP_PBLOCK_LINGER_NS);
}

void tcp_port_release(struct exos_tcp *c)
{
	struct tcp_pblock *b = c->pblock;

	if (!b)
		return;
	c->pblock = NULL;
	b->used &= ~(1ull << (ntohs(c->lport) - b->base));
	block_put(c->s, b);
}

struct tcp_pblock *tcp_port_to_tw(struct exos_tcp *c)
{
	struct tcp_pblock *b = c->pblock;

	if (b) { /* the TIME_WAIT block takes over the connection's reference */
		c->pblock = NULL;
		b->used &= ~(1ull << (ntohs(c->lport) - b->base));
	}
	return b;
}

void tcp_port_tw_done(struct exos_stack *s, struct tcp_pblock *b)
{
	if (b)
		block_put(s, b);
}

void tcp_port_rec(const struct tcp_pblock *b, struct twd_rec *r)
{
	r->filter = b->filter;
	r->cap = b->cap;
	r->flags |= TWD_F_BLOCK;
}

void tcp_port_retire(struct exos_stack *s)
{
	for (struct tcp_pblock *b = s->tcp->pblocks; b; b = b->next)
		b->retired = true;
}

void tcp_port_destroy(struct exos_stack *s)
{
	timer_cancel(s, &s->tcp->pblock_timer);
	while (s->tcp->pblocks)
		block_free(s, s->tcp->pblocks);
}
