/* stack.c - the stack: set-up from xokd's info, the poll loop, waiting, counters */
#include <stdlib.h>
#include <time.h>
#include <sys/random.h>

#include "libos.h"
#include "tcp_int.h"

/*
 * One ring receives everything this stack's filters claim (§3.3 "Inter-End-Point Resource
 * Sharing"); the poll loop drains it in batches, and after each batch sends the ACKs and
 * retried output the batch called for (so one ACK covers many segments, and ACKs ride on
 * the application's replies), then runs due timers, reaps finished transmissions and
 * kicks xokd once.
 */

static struct exos_stack *default_stack;

uint64_t stack_clock(struct exos_stack *s)
{
	s->now = exos_now_ns();
	return s->now;
}

uint32_t stack_random(struct exos_stack *s)
{
	/* xorshift64*, seeded from getrandom: ports, IP ids, timestamp offsets. */
	uint64_t x = s->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}

const struct exos_iface *stack_iface_by_addr(const struct exos_stack *s, uint32_t addr)
{
	for (unsigned i = 0; i < s->nifs; i++)
		if (s->ifs[i].addr == addr)
			return &s->ifs[i];
	return NULL;
}

const struct exos_iface *stack_iface_by_index(const struct exos_stack *s, uint32_t ifindex)
{
	for (unsigned i = 0; i < s->nifs; i++)
		if (s->ifs[i].ifindex == ifindex)
			return &s->ifs[i];
	return NULL;
}

bool stack_is_local(const struct exos_stack *s, uint32_t addr)
{
	return stack_iface_by_addr(s, addr) != NULL;
}

int stack_filter_insert(struct exos_stack *s, const struct dpf_filter *f, uint32_t *id,
			struct xok_cap *cap)
{
	struct exos_filter_id fid;
	int err = exos_filter_insert(s->sys, s->ring, 0, 0, f, &fid);

	if (err < 0)
		return err;
	*id = fid.id;
	if (cap)
		*cap = fid.cap;
	s->filters++;
	return 0;
}

int stack_filter_claim(struct exos_stack *s, const struct dpf_filter *f, uint32_t *id,
		       struct xok_cap *cap)
{
	int err = stack_filter_insert(s, f, id, cap);

	/* Equal to, overlapping or refining somebody else's filter: the port is taken. */
	if (err == -EEXIST || err == -EBUSY || err == -EACCES || err == -EPERM)
		return -EADDRINUSE;
	return err;
}

void stack_filter_delete(struct exos_stack *s, uint32_t id)
{
	if (!id)
		return;
	exos_filter_delete(s->sys, id);
	s->filters--;
}

static int stack_ifaces(struct exos_stack *s)
{
	struct xok_info_reply info;
	int err = exos_sys_info(s->sys, &info);

	if (err < 0)
		return err;
	for (uint32_t i = 0; i < info.niface && i < XOK_IFACES_MAX; i++) {
		const struct xok_iface_info *in = &info.ifaces[i];
		struct exos_iface *ifc = &s->ifs[s->nifs];
		if (!in->addr || in->prefix_len > 32)
			continue; /* no IPv4 address: nothing to route through it */
		ifc->ifindex = in->ifindex;
		ifc->mtu = in->mtu ? in->mtu : ETH_MTU_DEFAULT;
		ifc->addr = in->addr;
		ifc->mask = in->prefix_len ? htonl(~0u << (32 - in->prefix_len)) : 0;
		ifc->gateway = in->gateway;
		ifc->gso_max = (in->flags & XOK_IFF_TCP_GSO) ? in->gso_max : 0;
		memcpy(ifc->mac, in->mac, ETH_ADDR_LEN);
		s->nifs++;
	}
	return s->nifs ? 0 : -ENETDOWN;
}

EXOS_API int exos_stack_open(const struct exos_stack_opts *opts, struct exos_stack **out)
{
	struct exos_stack_opts o = {0};
	struct exos_stack *s;
	int err;

	if (opts) {
		if (opts->sz < offsetof(struct exos_stack_opts, flags) + sizeof(opts->flags))
			return exos_err(-EINVAL);
		memcpy(&o, opts, MIN(opts->sz, sizeof(o)));
	}
	if (!o.ring_entries)
		o.ring_entries = RING_ENTRIES_DEFAULT;
	if (!o.pool_max_bytes)
		o.pool_max_bytes = POOL_MAX_DEFAULT;

	s = calloc(1, sizeof(*s));
	if (!s)
		return exos_err(-ENOMEM);
	s->flags = o.flags;
	if (getenv("EXOS_NO_RX_CSUM"))
		s->flags |= EXOS_STACK_NO_RX_CSUM;
	if (getrandom(&s->rng, sizeof(s->rng), 0) != sizeof(s->rng))
		s->rng = exos_now_ns();
	s->rng |= 1;
	if (o.sys) {
		s->sys = o.sys;
	} else {
		err = exos_sys_open(o.xokd_path, &s->sys);
		if (err < 0)
			goto fail_free;
		s->own_sys = true;
	}
	stack_clock(s);
	err = stack_ifaces(s);
	if (err < 0)
		goto fail_sys;
	if (!o.ring_entry_size) {
		/* Whole frames of the largest MTU (jumbo frames included). */
		uint32_t mtu = 0;
		for (unsigned i = 0; i < s->nifs; i++)
			mtu = MAX(mtu, s->ifs[i].mtu);
		o.ring_entry_size = MAX((uint32_t)RING_ENTRY_SIZE_DEFAULT,
					(uint32_t)(sizeof(struct xok_ring_entry) + ETH_HDR_LEN +
						   mtu + 7) & ~7u);
	}
	err = exos_ring_create(s->sys, o.ring_entry_size, o.ring_entries, &s->ring);
	if (err < 0)
		goto fail_sys;
	pool_init(s, o.pool_max_bytes);
	slab_init(&s->sreq_slab, sizeof(struct tcp_sreq));
	slab_init(&s->rxseg_slab, sizeof(struct rxseg));
	ip_init(s);
	err = arp_init(s);
	if (err < 0)
		goto fail_ring;
	err = udp_init(s);
	if (err < 0)
		goto fail_arp;
	err = tcp_init(s);
	if (err < 0)
		goto fail_udp;
	if (s->flags & EXOS_STACK_ICMP_ECHO) {
		err = icmp_echo_enable(s);
		if (err < 0)
			goto fail_tcp;
	}
	exit_register(s);
	*out = s;
	return 0;

fail_tcp:
	tcp_destroy(s);
fail_udp:
	udp_destroy(s);
fail_arp:
	arp_destroy(s);
fail_ring:
	pool_destroy(s);
	slab_destroy(&s->sreq_slab);
	slab_destroy(&s->rxseg_slab);
	exos_ring_destroy(s->sys, s->ring);
fail_sys:
	if (s->own_sys)
		exos_sys_close(s->sys);
fail_free:
	free(s);
	return exos_err(err);
}

EXOS_API void exos_stack_close(struct exos_stack *s)
{
	if (!s)
		return;
	if (default_stack == s)
		default_stack = NULL;
	exit_unregister(s);
	stack_clock(s);
	/* TIME_WAIT, and closing connections with only their FIN outstanding, go to twd
	 * when it runs (handoff.c); the rest are reset. */
	uint32_t left;
	handoff_stack(s, false, &left);
	tcp_destroy(s);
	udp_destroy(s);
	stack_filter_delete(s, s->echo_filter);
	s->echo_filter = 0;
	exos_xmit_flush(s->sys);
	arp_destroy(s);
	ip_reasm_destroy(s);
	/* Let the last frames (the resets above) leave before their memory goes: xokd
	 * refuses to drop a region a pending transmission still uses.  Bounded: 100 ms. */
	for (int i = 0; i < 100 && s->tx_head; i++) {
		tx_reap(s);
		if (s->tx_head)
			nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	s->tx_head = s->tx_tail = NULL;
	pool_destroy(s);
	slab_destroy(&s->sreq_slab);
	slab_destroy(&s->rxseg_slab);
	timer_heap_free(&s->timers);
	exos_ring_destroy(s->sys, s->ring);
	if (s->own_sys)
		exos_sys_close(s->sys);
	free(s);
}

static void stack_rx(struct exos_stack *s, struct xok_ring_entry *e)
{
	uint32_t len = e->caplen;

	s->st.rx_frames++;
	s->st.rx_bytes += len;
	if (unlikely((e->flags & XOK_RX_TRUNCATED) || len > s->ring->entry_size - sizeof(*e))) {
		s->st.rx_drop_truncated++;
		return;
	}
	eth_input(s, e, e->data, len);
}

void stack_end_batch(struct exos_stack *s)
{
	tcp_end_batch(s);
	if (s->tx_dirty) {
		s->tx_dirty = false;
		exos_xmit_flush(s->sys);
	}
}

EXOS_API int exos_stack_poll(struct exos_stack *s)
{
	struct xok_ring_entry *e;
	int n = 0;

	stack_clock(s);
	s->depth++; /* API calls from callbacks leave the sending to us */
	/* Bounded by the ring size so that a peer flooding us cannot starve timers. */
	for (uint32_t budget = s->ring->nentries; budget;) {
		int batch = 0;
		while (batch < RX_BATCH && budget && (e = exos_ring_peek(s->ring))) {
			stack_rx(s, e);
			exos_ring_release(s->ring);
			batch++;
			budget--;
		}
		if (!batch)
			break;
		n += batch;
		tcp_end_batch(s);
	}
	stack_clock(s);
	timer_run(s);
	tx_reap(s);
	arp_poll(s);
	stack_end_batch(s);
	s->depth--;
	exit_check_signal(s);
	return n;
}

EXOS_API uint64_t exos_stack_next_timer(const struct exos_stack *s)
{
	return timer_next(&s->timers);
}

int stack_block(struct exos_stack *s, uint64_t deadline)
{
	uint64_t d;
	int err;

	stack_end_batch(s);
	tx_reap(s);
	stack_end_batch(s); /* on_sent for what the reaping released */
	stack_clock(s);
	d = timer_next(&s->timers);
	if (s->tx_blocked || s->tcp->out_list || s->tcp->nctl_held ||
	    (s->tx_head && s->tx_waiters)) {
		/* xokd's queue was full (TCP output or held segments wait to be retried), or
		 * acknowledged data waits for frames in flight to complete: look again soon
		 * rather than sleeping on a condition that no packet or timer would end. */
		uint64_t r = s->now + TX_BLOCKED_RETRY_NS;
		if (!d || r < d)
			d = r;
	}
	if (deadline && (!d || deadline < d))
		d = deadline;
	if (d && d <= s->now) {
		err = -ETIMEDOUT;
	} else {
		err = exos_sys_wait(s->sys, d);
	}
	exos_stack_poll(s);
	exit_check_signal(s);
	if (err == -ETIMEDOUT)
		return deadline && s->now >= deadline ? -ETIMEDOUT : 0;
	return err;
}

EXOS_API int exos_stack_wait(struct exos_stack *s, uint64_t deadline_ns)
{
	return exos_err(stack_block(s, deadline_ns));
}

EXOS_API struct exos_sys *exos_stack_sys(struct exos_stack *s)
{
	return s->sys;
}

EXOS_API uint32_t exos_stack_addr(const struct exos_stack *s)
{
	return s->nifs ? s->ifs[0].addr : 0;
}

EXOS_API int exos_stack_default(struct exos_stack **out)
{
	if (!default_stack) {
		int err = exos_stack_open(NULL, &default_stack);
		if (err < 0)
			return err;
	}
	*out = default_stack;
	return 0;
}

EXOS_API void exos_stack_set_default(struct exos_stack *s)
{
	default_stack = s;
}

EXOS_API void exos_stack_stats(const struct exos_stack *s, struct exos_stack_stats *out)
{
	*out = s->st;
	out->tcp_pcbs_inuse = s->tcp->pcb_slab.inuse;
	out->tcp_tw_inuse = s->tcp->tw_slab.inuse;
	out->udp_socks_inuse = s->udp.slab.inuse;
	out->bufs_inuse = s->pool.pbuf.inuse;
	out->txbs_inuse = s->pool.txb.inuse;
	out->sreqs_inuse = s->sreq_slab.inuse;
	out->filters_inuse = s->filters;
	out->socks_inuse = s->socks;
	out->pool_bytes = s->pool.bytes;
}
