/* fwd.c - xfwd's setup and packet loop: demultiplex, rewrite, transmit from the ring */

/*
 * Return-path filters.  The backend answers to our backend-side address and the port we
 * gave the connection.  Two ways to claim those frames:
 *  - range (default): the ports come from an aligned power-of-two block (--ports, default
 *    61440-65535, outside the libOS's ephemeral range), and one filter per backend-side
 *    address claims the whole block with a masked port atom (dport & ~(n-1) == lo).  A new
 *    connection then costs no control call at all: xfwd demultiplexes its own connections
 *    from its one ring by hash, as ExOS does for accepted connections (§3.3 "Inter-End-Point
 *    Resource Sharing").  Installing or deleting a filter makes xokd regenerate and swap
 *    its eBPF program, a millisecond-scale synchronous call per connection that would
 *    stall every other connection's packets meanwhile; it also counts against the per-app
 *    filter limit.
 *  - conn (--return-filter conn): per connection, a 4-tuple filter <our address, our port,
 *    backend, backend port> (the paper's "initializes demultiplexing structures"), with
 *    the next port on a collision (-EEXIST/-EBUSY/-EPERM: somebody else's filter).
 *    Protection is then per connection, at the price above.
 *
 * Ring-entry lifetime.  A forwarded frame is transmitted straight from its ring entry
 * (rings live in registered memory), with a per-entry notification word that xokd
 * decrements once the frame has left.  The entry is returned (owner = 0) only after that.
 * Entries are returned in ring order (xokd refills in ring order, so returning a later
 * entry early would buy nothing): rx_rel trails rx_next over entries whose words are
 * still nonzero.  Normally that is a handful: xokd reaps completions right after each
 * kick.  If completions lag and fewer than 1/XFWD_RING_COPY_DIV of the entries are free,
 * new frames are copied to a bounce buffer (the only copy xfwd ever makes) and their
 * entries returned at once, so that held entries can never fill the ring and make xokd
 * drop frames.  The consumed counter (the wakeup predicate's) advances when a frame is
 * processed, not when its entry returns, so holding entries never causes a wakeup.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <xok/dpf.h>

#include "xfwd.h"
#include "app_xok.h"

static struct xok_ring_entry *ring_entry(const struct xfwd *x, uint32_t idx)
{
	return (struct xok_ring_entry *)(x->ring->entries + (size_t)idx * x->ring->entry_size);
}

const struct xfwd_iface *fwd_iface(const struct xfwd *x, uint32_t ifindex)
{
	for (uint32_t i = 0; i < x->nifs; i++)
		if (x->ifs[i].ifindex == ifindex)
			return &x->ifs[i];
	return NULL;
}

static bool fwd_is_local(const struct xfwd *x, uint32_t addr)
{
	for (uint32_t i = 0; i < x->nifs; i++)
		if (x->ifs[i].addr == addr)
			return true;
	return false;
}

/* ---- transmission ---- */

/* Queues one frame (a joined one when gso_size is nonzero), retrying a full queue. */
static int fwd_xmitv(struct xfwd *x, uint32_t ifindex, const struct exos_iov *iov, int n,
		     uint32_t *word, uint16_t gso_size)
{
	int err;

	__atomic_store_n(word, 1, __ATOMIC_RELAXED);
	for (int i = 0;; i++) {
		err = gso_size ? exos_xmit_gso(x->sys, ifindex, iov, n, word, gso_size)
			       : exos_xmit(x->sys, ifindex, iov, n, word);
		if (err != -EAGAIN || i == XFWD_XMIT_SPINS)
			break;
		/* xokd is behind: kick it, and give it the CPU it may be waiting for */
		if (i == 0)
			x->st.tx_again++;
		exos_xmit_flush(x->sys);
		if (i)
			sched_yield();
	}
	if (err) {
		__atomic_store_n(word, 0, __ATOMIC_RELAXED);
		x->st.drop_tx++;
		xfwd_log(x, 2, "transmit on ifindex %u: %s", ifindex, strerror(-err));
	}
	return err;
}

int fwd_xmit(struct xfwd *x, uint32_t ifindex, const void *frame, uint32_t len, uint32_t *word)
{
	struct exos_iov iov = {.base = frame, .len = len};

	return fwd_xmitv(x, ifindex, &iov, 1, word, 0);
}

int bounce_get(struct xfwd *x)
{
	struct xfwd_bounce *b = &x->bounce;

	for (uint32_t k = 0; k < b->n; k++) {
		uint32_t i = (b->next + k) % b->n;

		if (xok_load_acquire(&b->word[i]) == 0) {
			__atomic_store_n(&b->word[i], 1, __ATOMIC_RELAXED);
			b->next = (i + 1) % b->n;
			return (int)i;
		}
	}
	return -ENOBUFS;
}

/* Returns entries whose frames have left (or were never sent), in ring order. */
static void fwd_reclaim(struct xfwd *x)
{
	while (x->rx_rel != x->rx_next) {
		uint32_t idx = x->rx_rel & x->ring_mask;

		if (xok_load_acquire(&x->rx_notify[idx]))
			break;
		xok_store_release(&ring_entry(x, idx)->owner, 0);
		x->rx_rel++;
	}
}

/* ---- connections ---- */

static void fwd_conn_release(struct conn_table *t, struct xfwd_conn *c, void *arg)
{
	struct xfwd *x = arg;
	struct xfwd_backend *b = &x->be.b[c->be];

	(void)t;
	port_free(&b->ports, ntohs(c->eport));
	b->active--;
	if (c->filter && x->sys) {
		int err = exos_filter_delete(x->sys, c->filter);

		if (err)
			xfwd_log(x, 1, "deleting filter %u: %s", c->filter, strerror(-err));
	}
	xfwd_log(x, 3, "connection %08x:%u -> backend %u port %u closed (%s%s)", ntohl(c->caddr),
		 ntohs(c->cport), c->be, ntohs(c->eport), conn_state_name(c->state),
		 c->flags & CONN_RST ? ", reset" : "");
}

/* Claims port for key in per-connection filter mode: 0, -EAGAIN (try another port), or a
 * real error. */
static int fwd_conn_filter(struct xfwd *x, struct xfwd_conn *key, uint16_t port)
{
	struct exos_filter_id id;
	struct dpf_filter f;
	int err;

	err = dpf_filter_tcp_4tuple(&f, ntohl(key->local), port, ntohl(key->baddr),
				    ntohs(key->bport));
	if (err)
		return err;
	err = exos_filter_insert(x->sys, x->ring, 0, 0, &f, &id);
	if (err == -EEXIST || err == -EBUSY || err == -EPERM) {
		x->st.filter_collisions++;
		return -EAGAIN;
	}
	if (err) {
		x->st.filter_errors++;
		return err;
	}
	x->st.filter_inserts++;
	key->filter = id.id;
	return 0;
}

/* A client's SYN without a connection: pick a backend and a port, claim the return path. */
static struct xfwd_conn *fwd_conn_new(struct xfwd *x, const struct nat_pkt *p, uint32_t ifindex)
{
	struct xfwd_backend *b;
	struct xfwd_conn key = {0}, *c;
	int port = -1, err = -EAGAIN;

	if (!fwd_iface(x, ifindex))
		return NULL; /* arrived on an interface without an address: no way back */
	b = backend_pick(&x->be, p->ip->saddr, p->th->sport, p->ip->daddr, p->th->dport, x->now);
	key.caddr = p->ip->saddr;
	key.cport = p->th->sport;
	key.laddr = p->ip->daddr;
	key.lport = p->th->dport;
	key.baddr = b->addr;
	key.bport = b->port;
	key.local = b->local;
	key.c_ifindex = ifindex;
	key.be = b->idx;
	key.isn = ntohl(p->th->seq);
	memcpy(key.cmac, p->eth->src, ETH_ADDR_LEN);
	key.cmac_version = neigh_version(x) + 1; /* look in arpd's table on first use */

	for (int tries = 0; err == -EAGAIN && tries < XFWD_FILTER_RETRIES; tries++) {
		port = port_alloc(&b->ports);
		if (port < 0) {
			b->st.no_port++;
			return NULL;
		}
		err = 0;
		if (x->cfg.retfilter == XFWD_RET_CONN) {
			err = fwd_conn_filter(x, &key, (uint16_t)port);
			if (err)
				port_free(&b->ports, (uint16_t)port);
		}
	}
	if (err) {
		xfwd_log(x, 1, "no return filter for a connection to backend %u: %s", b->idx,
			 strerror(-err));
		return NULL;
	}
	key.eport = htons((uint16_t)port);
	b->active++; /* before conn_new: its failure path releases */
	c = conn_new(&x->ct, &key, x->now);
	if (!c) {
		fwd_conn_release(&x->ct, &key, x);
		return NULL;
	}
	b->st.conns++;
	xfwd_log(x, 3, "connection %08x:%u -> backend %u port %u", ntohl(key.caddr),
		 ntohs(key.cport), b->idx, port);
	return c;
}

/* ---- next hops ---- */

static const uint8_t *fwd_backend_mac(struct xfwd *x, struct xfwd_backend *b)
{
	uint32_t v = neigh_version(x);

	if (b->mac_valid && b->mac_version == v)
		return b->mac;
	b->mac_valid = neigh_lookup(x, b->ifindex, b->nexthop, b->mac) == 0;
	b->mac_version = v;
	return b->mac_valid ? b->mac : NULL;
}

/* The client side: arpd's table when it knows the next hop, else the MAC the client's
 * frames came from (the client itself, or the router in front of it). */
static const uint8_t *fwd_client_mac(struct xfwd *x, struct xfwd_conn *c)
{
	uint32_t v = neigh_version(x);

	if (c->cmac_version != v) {
		const struct xfwd_iface *ifc = fwd_iface(x, c->c_ifindex);
		uint32_t hop = c->caddr;

		if (ifc && ifc->mask && ((c->caddr ^ ifc->addr) & ifc->mask) && ifc->gateway)
			hop = ifc->gateway;
		c->cmac_from_table = neigh_lookup(x, c->c_ifindex, hop, c->cmac) == 0;
		if (c->cmac_from_table)
			x->st.cmac_table++;
		else
			x->st.cmac_learned++;
		c->cmac_version = v;
	}
	return c->cmac;
}

/* ---- the packet path ---- */

/* Sends the train of joined segments, if any: one offload frame from the ring entries,
 * with the first entry's notification word (entries return in ring order, so the later
 * ones wait behind it). */
static void fwd_train_send(struct xfwd *x)
{
	struct merge_train *t = &x->train;
	int n;

	if (!t->nseg)
		return;
	if (t->nseg == 1) {
		fwd_xmit(x, t->ifindex, t->head.frame, t->head.len, &x->rx_notify[t->first]);
	} else {
		n = merge_finish(t);
		if (fwd_xmitv(x, t->ifindex, t->piece, n, &x->rx_notify[t->first],
			      (uint16_t)t->seg_len) == 0) {
			x->st.merged_frames++;
			x->st.merged_segs += t->nseg;
		}
	}
	t->nseg = 0;
}

/* Whether the ring can lend entries to a train: not when it is near the copy threshold. */
static bool fwd_ring_roomy(const struct xfwd *x)
{
	uint32_t held = x->rx_next - x->rx_rel;

	return held + MERGE_SEGS_MAX < x->ring->nentries - x->ring->nentries / XFWD_RING_COPY_DIV;
}

/* A rewritten segment toward ifc: joins the train, starts one, or is not for one (false:
 * send it as it is). */
static bool fwd_merge(struct xfwd *x, const struct nat_pkt *p, const struct xfwd_iface *ifc,
		      const void *key, uint32_t idx)
{
	if (!x->cfg.merge || !ifc->gso_max || !merge_candidate(p) ||
	    p->len > ifc->mtu + ETH_HDR_LEN)
		return false;
	if (merge_join(&x->train, p, key, ifc->ifindex))
		return true;
	fwd_train_send(x);
	if (!fwd_ring_roomy(x))
		return false;
	merge_start(&x->train, p, key, ifc->ifindex, idx, ifc->gso_max);
	return true;
}

/* Transmits the rewritten frame p: from the ring entry, or a bounce copy under ring
 * pressure, or queued behind ARP when dmac is unknown.  A train goes first: frames leave
 * in the order they came. */
static void fwd_send(struct xfwd *x, struct nat_pkt *p, uint32_t ifindex, uint32_t nexthop,
		     bool have_mac, uint32_t idx)
{
	uint32_t held = x->rx_next - x->rx_rel;

	fwd_train_send(x);
	if (!have_mac) {
		if (neigh_queue(x, ifindex, nexthop, p->frame, p->len))
			x->st.drop_no_route++;
		return;
	}
	if (held >= x->ring->nentries - x->ring->nentries / XFWD_RING_COPY_DIV) {
		int b = bounce_get(x);

		if (b >= 0) {
			uint8_t *buf = x->bounce.buf + (size_t)b * x->bounce.size;

			memcpy(buf, p->frame, p->len);
			x->st.rx_copied++;
			fwd_xmit(x, ifindex, buf, p->len, &x->bounce.word[b]);
			return;
		}
	}
	fwd_xmit(x, ifindex, p->frame, p->len, &x->rx_notify[idx]);
}

static const uint8_t zero_mac[ETH_ADDR_LEN];

static void fwd_c2b(struct xfwd *x, struct nat_pkt *p, uint32_t ifindex, uint32_t idx)
{
	const struct tcp_hdr *th = p->th;
	struct xfwd_conn *c;
	struct xfwd_backend *b;
	const uint8_t *mac;
	struct nat_rewrite rw;
	bool partial;

	c = conn_find_client(&x->ct, p->ip->saddr, th->sport, p->ip->daddr, th->dport);
	if ((th->flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) == TCP_SYN) {
		enum conn_syn_verdict v = conn_client_syn(&x->ct, c, ntohl(th->seq));

		if (v == CONN_SYN_RECYCLE) {
			conn_free(&x->ct, c);
			c = NULL;
		}
		if (!c) {
			c = fwd_conn_new(x, p, ifindex);
			if (!c) {
				x->st.drop_no_backend++;
				return;
			}
		}
	} else if (!c) {
		x->st.drop_no_conn++;
		return;
	}
	conn_track(&x->ct, c, CONN_C2B, th->flags, ntohl(th->seq), ntohl(th->ack), p->paylen,
		   x->now);
	if (!c->cmac_from_table)
		memcpy(c->cmac, p->eth->src, ETH_ADDR_LEN);
	b = &x->be.b[c->be];
	mac = fwd_backend_mac(x, b);
	partial = nat_csum_is_partial(p);
	x->st.csum_partial += partial;
	rw = (struct nat_rewrite){
	    .dmac = mac ? mac : zero_mac, /* filled in when ARP resolves */
	    .smac = fwd_iface(x, b->ifindex)->mac,
	    .saddr = c->local,
	    .daddr = c->baddr,
	    .sport = c->eport,
	    .dport = c->bport,
	};
	nat_apply(p, &rw, partial);
	b->st.pkts_c2b++;
	b->st.bytes_c2b += p->len - ETH_HDR_LEN;
	fwd_send(x, p, b->ifindex, b->nexthop, mac != NULL, idx);
}

static void fwd_b2c(struct xfwd *x, struct nat_pkt *p, uint32_t idx)
{
	const struct tcp_hdr *th = p->th;
	const struct xfwd_iface *ifc;
	struct xfwd_conn *c;
	struct xfwd_backend *b;
	struct nat_rewrite rw;
	bool partial;

	c = conn_find_backend(&x->ct, p->ip->saddr, th->sport, th->dport);
	if (!c || c->local != p->ip->daddr) {
		x->st.drop_no_conn++;
		return;
	}
	conn_track(&x->ct, c, CONN_B2C, th->flags, ntohl(th->seq), ntohl(th->ack), p->paylen,
		   x->now);
	ifc = fwd_iface(x, c->c_ifindex);
	b = &x->be.b[c->be];
	partial = nat_csum_is_partial(p);
	x->st.csum_partial += partial;
	rw = (struct nat_rewrite){
	    .dmac = fwd_client_mac(x, c),
	    .smac = ifc->mac,
	    .saddr = c->laddr,
	    .daddr = c->caddr,
	    .sport = c->lport,
	    .dport = c->cport,
	};
	nat_apply(p, &rw, partial);
	b->st.pkts_b2c++;
	b->st.bytes_b2c += p->len - ETH_HDR_LEN;
	if (!fwd_merge(x, p, ifc, c, idx))
		fwd_send(x, p, c->c_ifindex, 0, true, idx);
}

static void fwd_frame(struct xfwd *x, struct xok_ring_entry *e, uint32_t idx)
{
	struct nat_pkt p;

	x->st.rx++;
	x->st.rx_bytes += e->owner;
	switch (nat_parse(e->data, e->caplen, e->owner, &p)) {
	case NAT_OK:
		break;
	case NAT_NOT_TCP:
		x->st.drop_not_tcp++;
		return;
	case NAT_MALFORMED:
		x->st.drop_malformed++;
		return;
	case NAT_TRUNCATED:
		x->st.drop_truncated++;
		return;
	case NAT_FRAGMENT:
		x->st.drop_fragment++;
		return;
	}
	if (p.th->dport == x->cfg.lport &&
	    (x->cfg.laddr ? p.ip->daddr == x->cfg.laddr : fwd_is_local(x, p.ip->daddr)))
		fwd_c2b(x, &p, e->ifindex, idx);
	else if (port_in_block(&x->be.b[0].ports, ntohs(p.th->dport)))
		fwd_b2c(x, &p, idx);
	else
		x->st.drop_no_conn++;
}

/* Processes up to XFWD_RX_BUDGET frames; returns how many. */
static uint32_t fwd_drain(struct xfwd *x)
{
	uint32_t n = 0;

	while (n < XFWD_RX_BUDGET) {
		uint32_t idx = x->rx_next & x->ring_mask;
		struct xok_ring_entry *e = ring_entry(x, idx);
		uint32_t held = x->rx_next - x->rx_rel;

		if (held > x->st.held_max)
			x->st.held_max = held;
		if (held == x->ring->nentries)
			break; /* every entry is ours, waiting for transmissions: not a new frame */
		if (!xok_load_acquire(&e->owner))
			break;
		fwd_frame(x, e, idx);
		x->rx_next++;
		xok_store_release(&x->ring->hdr->consumed, x->rx_next);
		n++;
	}
	fwd_train_send(x); /* joins only what arrived together: never waits for more */
	return n;
}

int fwd_run(struct xfwd *x, volatile sig_atomic_t *stop, volatile sig_atomic_t *dump)
{
	while (!*stop) {
		uint64_t deadline, d;
		uint32_t n;
		int err;

		x->now = exos_now_ns();
		fwd_reclaim(x);
		n = fwd_drain(x);
		exos_xmit_flush(x->sys);
		conn_expire(&x->ct, x->now, 1024);
		neigh_poll(x);
		if (*dump) {
			*dump = 0;
			stats_print(x, stderr);
		}
		if (n == XFWD_RX_BUDGET)
			continue;
		if (x->rx_next - x->rx_rel == x->ring->nentries) {
			sched_yield(); /* the ring is all in flight: completions free it */
			continue;
		}
		deadline = conn_next_deadline(&x->ct);
		d = neigh_deadline(x);
		if (d && (!deadline || d < deadline))
			deadline = d;
		err = app_sys_wait("xfwd", x->sys, deadline);
		if (err)
			return err;
	}
	return 0;
}

/* ---- setup ---- */

static int fwd_load_ifaces(struct xfwd *x)
{
	struct xok_info_reply info;
	int err = exos_sys_info(x->sys, &info);

	if (err)
		return err;
	for (uint32_t i = 0; i < info.niface && i < XOK_IFACES_MAX; i++) {
		const struct xok_iface_info *ii = &info.ifaces[i];
		struct xfwd_iface *ifc;

		if (!ii->addr)
			continue;
		ifc = &x->ifs[x->nifs++];
		ifc->ifindex = ii->ifindex;
		ifc->addr = ii->addr;
		ifc->mask = app_prefix_mask(ii->prefix_len);
		ifc->gateway = ii->gateway;
		ifc->mtu = ii->mtu ? ii->mtu : ETH_MTU_DEFAULT;
		ifc->gso_max = (ii->flags & XOK_IFF_TCP_GSO) ? ii->gso_max : 0;
		memcpy(ifc->mac, ii->mac, ETH_ADDR_LEN);
		memcpy(ifc->name, ii->name, sizeof(ifc->name) - 1);
	}
	return x->nifs ? 0 : -ENODEV;
}

/* The interface and next hop toward each backend: on-link first, else a gateway. */
static int fwd_route_backends(struct xfwd *x)
{
	for (uint32_t i = 0; i < x->be.n; i++) {
		struct xfwd_backend *b = &x->be.b[i];
		const struct xfwd_iface *via = NULL;
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &b->addr, ip, sizeof(ip));
		if (fwd_is_local(x, b->addr)) {
			fprintf(stderr, "xfwd: backend %s is one of xokd's own addresses\n", ip);
			return -EINVAL;
		}
		for (uint32_t k = 0; k < x->nifs && !via; k++)
			if (x->ifs[k].mask && !((b->addr ^ x->ifs[k].addr) & x->ifs[k].mask))
				via = &x->ifs[k];
		b->nexthop = b->addr;
		for (uint32_t k = 0; k < x->nifs && !via; k++)
			if (x->ifs[k].gateway) {
				via = &x->ifs[k];
				b->nexthop = via->gateway;
			}
		if (!via) {
			fprintf(stderr, "xfwd: no route to backend %s (not on-link, no gateway)\n",
				ip);
			return -ENETUNREACH;
		}
		b->ifindex = via->ifindex;
		b->local = via->addr;
	}
	return 0;
}

/* The return filter of one backend-side address: TCP to addr, dport in our block. */
static int fwd_range_filter(struct xfwd *x, struct xfwd_iface *ifc)
{
	struct dpf_filter f;
	uint16_t mask = (uint16_t) ~(x->cfg.port_n - 1);
	int err;

	dpf_filter_init(&f);
	err = dpf_match_ipv4(&f);
	if (!err)
		err = dpf_match_ipv4_proto(&f, IP_PROTO_TCP);
	if (!err)
		err = dpf_match_ipv4_dst(&f, ntohl(ifc->addr), 32);
	/* the same IPv4 header-length indirection as dpf_match_l4_dport's, so that libdpf
	 * relates this filter to the other port filters in one base context */
	if (!err)
		err = dpf_add_shift(&f, 14, 1, 0x0f, 2, ETH_HDR_LEN);
	if (!err)
		err = dpf_add_match(&f, 2, 2, mask, x->cfg.port_lo);
	if (err)
		return err;
	err = exos_filter_insert(x->sys, x->ring, 0, 0, &f, &ifc->ret);
	if (err) {
		fprintf(stderr, "xfwd: cannot claim ports %u-%u on %s: %s", x->cfg.port_lo,
			x->cfg.port_lo + x->cfg.port_n - 1, ifc->name, strerror(-err));
		if (err == -EEXIST || err == -EBUSY || err == -EPERM)
			fprintf(stderr, " (filter %u is in the way)", ifc->ret.parent);
		fputc('\n', stderr);
		return err;
	}
	ifc->has_ret = true;
	return 0;
}

static int fwd_filters(struct xfwd *x)
{
	struct dpf_filter f;
	int err;

	err = dpf_filter_tcp_port(&f, ntohl(x->cfg.laddr), ntohs(x->cfg.lport));
	if (err)
		return err;
	err = exos_filter_insert(x->sys, x->ring, 0, 0, &f, &x->listen);
	if (err) {
		fprintf(stderr, "xfwd: cannot listen on port %u: %s", ntohs(x->cfg.lport),
			strerror(-err));
		if (err == -EEXIST || err == -EBUSY || err == -EPERM)
			fprintf(stderr, " (filter %u is in the way)", x->listen.parent);
		fputc('\n', stderr);
		return err;
	}
	if (x->cfg.retfilter != XFWD_RET_RANGE)
		return 0;
	for (uint32_t i = 0; i < x->be.n; i++) {
		struct xfwd_iface *ifc = (struct xfwd_iface *)fwd_iface(x, x->be.b[i].ifindex);

		if (!ifc->has_ret) {
			err = fwd_range_filter(x, ifc);
			if (err)
				return err;
		}
	}
	return 0;
}

int fwd_setup(struct xfwd *x)
{
	uint32_t entry_size = XFWD_RING_ENTRY_MIN, seed;
	size_t words;
	int err;

	err = app_sys_open("xfwd", x->cfg.svc.socket, &x->sys);
	if (err)
		return err;
	err = fwd_load_ifaces(x);
	if (err) {
		fprintf(stderr, "xfwd: xokd interfaces: %s\n", strerror(-err));
		return err;
	}
	if (x->cfg.laddr && !fwd_is_local(x, x->cfg.laddr)) {
		fprintf(stderr, "xfwd: --listen address is not one of xokd's\n");
		return -EADDRNOTAVAIL;
	}
	err = fwd_route_backends(x);
	if (err)
		return err;
	for (uint32_t i = 0; i < x->be.n; i++)
		if ((!x->cfg.laddr || x->cfg.laddr == x->be.b[i].local) &&
		    port_in_block(&x->be.b[i].ports, ntohs(x->cfg.lport))) {
			fprintf(stderr,
				"xfwd: the listen port is in --ports on the same address\n");
			return -EINVAL;
		}

	for (uint32_t i = 0; i < x->nifs; i++) {
		uint32_t need =
		    (uint32_t)sizeof(struct xok_ring_entry) + ETH_HDR_LEN + x->ifs[i].mtu;

		need = (need + 63) & ~63u;
		if (need > entry_size)
			entry_size = need;
	}
	err = exos_ring_create(x->sys, entry_size, XFWD_RING_ENTRIES, &x->ring);
	if (err) {
		fprintf(stderr, "xfwd: receive ring: %s\n", strerror(-err));
		return err;
	}
	x->ring_mask = XFWD_RING_ENTRIES - 1;
	err = exos_region_create(x->sys, XFWD_RING_ENTRIES * sizeof(uint32_t), &x->rxn_region);
	if (err) {
		fprintf(stderr, "xfwd: notification words: %s\n", strerror(-err));
		return err;
	}
	x->rx_notify = x->rxn_region->base;
	x->bounce.n = XFWD_BOUNCE_BUFS;
	x->bounce.size = entry_size - (uint32_t)sizeof(struct xok_ring_entry);
	words = ((XFWD_BOUNCE_BUFS * sizeof(uint32_t)) + 63) & ~(size_t)63;
	err = exos_region_create(x->sys, words + (size_t)x->bounce.n * x->bounce.size,
				 &x->bounce.region);
	if (err) {
		fprintf(stderr, "xfwd: bounce buffers: %s\n", strerror(-err));
		return err;
	}
	x->bounce.word = x->bounce.region->base;
	x->bounce.buf = (uint8_t *)x->bounce.region->base + words;

	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint32_t)exos_now_ns();
	err = conn_table_init(&x->ct, x->cfg.max_conns, XFWD_SYN_TIMEOUT_NS, x->cfg.idle_ns,
			      x->cfg.linger_ns, seed);
	if (err) {
		fprintf(stderr, "xfwd: connection table: %s\n", strerror(-err));
		return err;
	}
	x->ct.release = fwd_conn_release;
	x->ct.release_arg = x;
	neigh_init(x);
	err = fwd_filters(x);
	if (err)
		return err;
	x->now = exos_now_ns();
	for (uint32_t i = 0; i < x->be.n; i++)
		if (!fwd_backend_mac(x, &x->be.b[i]))
			neigh_solicit(x, x->be.b[i].ifindex, x->be.b[i].nexthop);
	exos_xmit_flush(x->sys);
	return 0;
}

void fwd_close(struct xfwd *x)
{
	/* xokd reclaims filters, rings and regions with the connection: no per-connection
	 * filter deletes on the way out */
	x->ct.release = NULL;
	if (x->ct.pool)
		conn_table_free(&x->ct);
	if (x->sys)
		neigh_close(x);
	exos_sys_close(x->sys);
	x->sys = NULL;
}
