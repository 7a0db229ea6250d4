/* impair.c - --impair: seeded loss, duplication, reordering and delay inside xokd */

/*
 * A test instrument, off by default: `--impair drop=P,dup=P,reorder=P,delay=US,rate=MBIT,
 * gap=K,seed=N` impairs every frame xokd delivers to an app (receive) and every frame an app
 * transmits (transmit), with probabilities in percent and a seeded PRNG, so that a failing
 * run can be repeated.  Per frame and direction, in this order:
 *
 *   drop     the frame is gone (a transmitted one completes at once: the sender's
 *            notification word is decremented as if it had been sent);
 *   dup      a second copy follows it;
 *   reorder  the frame (or copy) is held back until K later frames have passed it (gap=,
 *            default 3), or XOK_IMPAIR_HOLD_NS at most when traffic stops;
 *   delay    every frame leaves US microseconds after it arrived (a FIFO released by the
 *            loop's timer);
 *   rate     a bottleneck link of MBIT Mbit/s: frames leave no faster than it serialises
 *            them, queued in the same FIFO.  On transmit the link queues little (see
 *            impair_tx_room), so a saturated link backs up into the apps' queues, where
 *            fair transmit decides who goes next.
 *
 * Receive: a frame that is held or delayed is copied out of the UMEM (its frame goes back
 * to the fill ring at once) and classified again when it is finally delivered, against the
 * filters installed then -- like a frame that really arrived late.  Transmit: the UMEM
 * frame itself waits, counted in its socket's device queue (tx_held), so held frames also
 * hold back the sender's later frames as a slow link would.  Queues are bounded
 * (XOK_IMPAIR_QUEUE_MAX per direction): beyond that frames are dropped and counted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"

#define PPM 1000000u

/* ---- configuration ---- */

static int impair_pct(const char *v, uint32_t *ppm)
{
	char *end;
	double d = strtod(v, &end);

	if (end == v || *end || !(d >= 0.0 && d <= 100.0))
		return -EINVAL;
	*ppm = (uint32_t)(d * (PPM / 100) + 0.5);
	return 0;
}

static int impair_num(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	n = strtoull(v, &end, 10);
	if (*end || n > max)
		return -EINVAL;
	*out = n;
	return 0;
}

static int impair_dir(const char *v, struct xokd_impair *out)
{
	out->rx = !strcmp(v, "rx") || !strcmp(v, "both");
	out->tx = !strcmp(v, "tx") || !strcmp(v, "both");
	return out->rx || out->tx ? 0 : -EINVAL;
}

int impair_parse(const char *spec, struct xokd_impair *out)
{
	char buf[256], *tok, *save = NULL;
	uint64_t n;

	if (strlen(spec) >= sizeof(buf))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->gap = XOK_IMPAIR_GAP;
	out->seed = 1;
	out->rx = out->tx = true;
	strcpy(buf, spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *v = strchr(tok, '=');
		int err;

		if (!v)
			return -EINVAL;
		*v++ = 0;
		if (!strcmp(tok, "drop"))
			err = impair_pct(v, &out->drop);
		else if (!strcmp(tok, "dup"))
			err = impair_pct(v, &out->dup);
		else if (!strcmp(tok, "reorder"))
			err = impair_pct(v, &out->reorder);
		else if (!strcmp(tok, "delay"))
			err = impair_num(v, XOK_IMPAIR_DELAY_MAX, &n)
				  ?: (out->delay_us = (uint32_t)n, 0);
		else if (!strcmp(tok, "rate"))
			err = impair_num(v, XOK_IMPAIR_RATE_MAX, &n)
				  ?: (out->rate_mbit = (uint32_t)n, 0);
		else if (!strcmp(tok, "gap"))
			err = impair_num(v, 1000, &n) ?: (out->gap = (uint32_t)n, 0);
		else if (!strcmp(tok, "seed"))
			err = impair_num(v, UINT64_MAX, &out->seed);
		else if (!strcmp(tok, "dir"))
			err = impair_dir(v, out);
		else
			err = -EINVAL;
		if (err)
			return err;
	}
	if (out->gap == 0)
		out->gap = 1;
	out->on = true;
	return 0;
}

bool impair_on(const struct xokd *x)
{
	return x->cfg.impair.on;
}

bool impair_rx_on(const struct xokd *x)
{
	return x->cfg.impair.on && x->cfg.impair.rx;
}

/* Segmentation offload frames leave outside the impairment: not offered while it is on. */
bool impair_tx_on(const struct xokd *x)
{
	return x->cfg.impair.on && x->cfg.impair.tx;
}

/*
 * Like a shaping qdisc with a short queue (and like BQL on a real NIC): the emulated link
 * takes frames only while it holds less than XOK_IMPAIR_LINK_QUEUE_NS of them; the rest
 * wait in the apps' queues, where fair transmit orders them.  A long device queue would
 * serve frames first come, first served, and no weight would matter.
 */
bool impair_tx_room(const struct xokd *x, const struct iface *ifc)
{
	if (!impair_tx_on(x) || !x->cfg.impair.rate_mbit)
		return true;
	return ifc->imp_tx.link_free <= now_mono_ns() + XOK_IMPAIR_LINK_QUEUE_NS;
}

/* splitmix64: small, seedable, good enough to pick which frames to impair */
static uint64_t impair_rand(struct xokd *x)
{
	uint64_t z = (x->imp_rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static bool chance(struct xokd *x, uint32_t ppm)
{
	if (ppm == 0)
		return false;
	if (x->imp_rng == 0)
		x->imp_rng = x->cfg.impair.seed ? x->cfg.impair.seed : 1;
	return impair_rand(x) % PPM < ppm;
}

/* ---- the queues ---- */

static void imp_dir_init(struct imp_dir *d)
{
	if (!d->held.next) {
		list_init(&d->held);
		list_init(&d->delayed);
	}
}

static struct imp_frame *imp_new(uint32_t len, bool copy)
{
	struct imp_frame *f = calloc(1, sizeof(*f) + (copy ? len : 0));

	if (f)
		f->len = len;
	return f;
}

/* What leaves the impairment: delivered (receive) or submitted (transmit). */
static void imp_out(struct xokd *x, struct iface *ifc, bool rx, struct imp_frame *f)
{
	if (rx) {
		struct dpf_xdp_meta m = {.magic = DPF_META_MAGIC};
		struct dpf_result r;

		/* classified now, against the filters installed now */
		dpf_interpret(x->dpf, f->data, f->len, &r);
		m.filter_id = r.filter_id;
		m.copy_mask = r.copy_mask;
		rx_deliver(x, ifc, f->data, f->len, &m, f->rx_ns);
	} else {
		f->port->tx_held--;
		if (tx_submit(x, f->port, f->addr, f->len))
			tx_finish_frame(x, f->port, f->addr);
	}
	free(f);
}

static void imp_enqueue(struct imp_dir *d, struct list_head *q, struct imp_frame *f)
{
	list_add_tail(&f->link, q);
	d->nqueued++;
}

static void imp_dequeue(struct imp_dir *d, struct imp_frame *f)
{
	list_del(&f->link);
	d->nqueued--;
}

/* delay= or rate=: frames leave through the FIFO, not at once. */
static bool imp_shaped(const struct xokd *x)
{
	return x->cfg.impair.delay_us || x->cfg.impair.rate_mbit;
}

/* Past the reorder stage: into the FIFO, or out.  Release times never decrease (now and
 * the link's free time only grow), so the FIFO stays sorted. */
static void imp_emit(struct xokd *x, struct iface *ifc, bool rx, struct imp_frame *f, uint64_t now)
{
	struct imp_dir *d = rx ? &ifc->imp_rx : &ifc->imp_tx;
	uint32_t mbit = x->cfg.impair.rate_mbit;
	uint64_t release = now + (uint64_t)x->cfg.impair.delay_us * 1000;

	if (mbit) {
		uint64_t start = d->link_free > now ? d->link_free : now;

		d->link_free = start + (uint64_t)(f->len + XOK_IMPAIR_WIRE_EXTRA) * 8000 / mbit;
		if (d->link_free > release)
			release = d->link_free;
	}
	if (release > now) {
		f->release = release;
		imp_enqueue(d, &d->delayed, f);
		d->st[IMP_DELAY]++;
		return;
	}
	imp_out(x, ifc, rx, f);
}

/* A frame went past the held ones: those whose countdown ends follow it. */
static void imp_passed(struct xokd *x, struct iface *ifc, bool rx, uint64_t now)
{
	struct imp_dir *d = rx ? &ifc->imp_rx : &ifc->imp_tx;
	struct imp_frame *f, *n;

	list_for_each_entry_safe(f, n, &d->held, link)
	{
		if (--f->countdown)
			continue;
		imp_dequeue(d, f);
		imp_emit(x, ifc, rx, f, now);
	}
}

/* A frame that is not leaving at once: held back (reorder) or delayed. */
static void imp_keep(struct xokd *x, struct iface *ifc, bool rx, struct imp_frame *f, bool hold,
		     uint64_t now)
{
	struct imp_dir *d = rx ? &ifc->imp_rx : &ifc->imp_tx;

	if (hold) {
		f->countdown = x->cfg.impair.gap;
		f->release = now + XOK_IMPAIR_HOLD_NS;
		imp_enqueue(d, &d->held, f);
		d->st[IMP_REORDER]++;
		return;
	}
	imp_emit(x, ifc, rx, f, now);
	imp_passed(x, ifc, rx, now);
}

void impair_rx(struct xokd *x, struct iface *ifc, const uint8_t *frame, uint32_t len,
	       const struct dpf_xdp_meta *m, uint64_t rx_ns)
{
	struct imp_dir *d = &ifc->imp_rx;
	uint64_t now = now_mono_ns();
	int copies = 1, i;

	imp_dir_init(d);
	if (chance(x, x->cfg.impair.drop)) {
		d->st[IMP_DROP]++;
		ifc->rx++;
		ifc->rx_bytes += len;
		return;
	}
	if (chance(x, x->cfg.impair.dup)) {
		d->st[IMP_DUP]++;
		copies = 2;
	}
	for (i = 0; i < copies; i++) {
		bool hold = chance(x, x->cfg.impair.reorder);
		struct imp_frame *f;

		if (!hold && !imp_shaped(x)) { /* now, with its XDP classification */
			rx_deliver(x, ifc, frame, len, m, rx_ns);
			imp_passed(x, ifc, true, now);
			continue;
		}
		if (d->nqueued >= XOK_IMPAIR_QUEUE_MAX || !(f = imp_new(len, true))) {
			d->st[IMP_OVERFLOW]++;
			continue;
		}
		memcpy(f->data, frame, len);
		f->rx_ns = rx_ns;
		imp_keep(x, ifc, true, f, hold, now);
	}
}

void impair_tx(struct xokd *x, struct xport *p, uint64_t addr, uint32_t len)
{
	struct iface *ifc = p->ifc;
	struct imp_dir *d = &ifc->imp_tx;
	uint64_t now = now_mono_ns(), copy[2] = {addr, 0};
	int copies = 1, i;

	imp_dir_init(d);
	if (chance(x, x->cfg.impair.drop)) {
		d->st[IMP_DROP]++;
		tx_finish_frame(x, p, addr);
		return;
	}
	if (chance(x, x->cfg.impair.dup) && !umem_tx_alloc(p, &copy[1])) {
		/* the copy is nobody's: its completion notifies no one */
		memcpy(umem_frame(p, copy[1]), umem_frame(p, addr), len);
		d->st[IMP_DUP]++;
		copies = 2;
	}
	for (i = 0; i < copies; i++) {
		bool hold = chance(x, x->cfg.impair.reorder);
		struct imp_frame *f = NULL;

		if ((hold || imp_shaped(x)) && d->nqueued < XOK_IMPAIR_QUEUE_MAX)
			f = imp_new(len, false);
		if (!f) { /* out now (or no room to keep it) */
			if (hold || imp_shaped(x))
				d->st[IMP_OVERFLOW]++;
			if (tx_submit(x, p, copy[i], len))
				tx_finish_frame(x, p, copy[i]);
			imp_passed(x, ifc, false, now);
			continue;
		}
		f->port = p;
		f->addr = copy[i];
		p->tx_held++;
		imp_keep(x, ifc, false, f, hold, now);
	}
}

static void impair_dir_run(struct xokd *x, struct iface *ifc, bool rx, uint64_t now)
{
	struct imp_dir *d = rx ? &ifc->imp_rx : &ifc->imp_tx;
	struct imp_frame *f, *n;

	if (!d->held.next)
		return;
	list_for_each_entry_safe(f, n, &d->held, link)
	{
		if (f->release > now)
			continue;
		imp_dequeue(d, f);
		imp_emit(x, ifc, rx, f, now);
	}
	while (!list_empty(&d->delayed)) {
		f = list_entry(d->delayed.next, struct imp_frame, link);
		if (f->release > now)
			break;
		imp_dequeue(d, f);
		imp_out(x, ifc, rx, f);
	}
}

void impair_run(struct xokd *x)
{
	uint64_t now;
	uint32_t i;

	if (!impair_on(x))
		return;
	now = now_mono_ns();
	for (i = 0; i < x->niface; i++) {
		impair_dir_run(x, &x->ifaces[i], true, now);
		impair_dir_run(x, &x->ifaces[i], false, now);
		if (x->ifaces[i].nports)
			xport_tx_kick(x->ifaces[i].ports[0]);
	}
}

static uint64_t dir_next(const struct imp_dir *d)
{
	const struct imp_frame *f;
	uint64_t next = 0;

	if (!d->held.next)
		return 0;
	list_for_each_entry(f, &d->held, link) if (!next || f->release < next) next = f->release;
	if (!list_empty(&d->delayed)) {
		f = list_entry(d->delayed.next, struct imp_frame, link);
		if (!next || f->release < next)
			next = f->release;
	}
	return next;
}

uint64_t impair_next(const struct xokd *x)
{
	uint64_t next = 0, t;
	uint32_t i;

	if (!impair_on(x))
		return 0;
	for (i = 0; i < x->niface; i++) {
		t = dir_next(&x->ifaces[i].imp_rx);
		if (t && (!next || t < next))
			next = t;
		t = dir_next(&x->ifaces[i].imp_tx);
		if (t && (!next || t < next))
			next = t;
	}
	return next;
}

static void dir_free(struct imp_dir *d, bool rx)
{
	struct list_head *lists[2] = {&d->held, &d->delayed};
	struct imp_frame *f, *n;
	int k;

	if (!d->held.next)
		return;
	for (k = 0; k < 2; k++)
		list_for_each_entry_safe(f, n, lists[k], link)
		{
			list_del(&f->link);
			if (!rx) {
				f->port->tx_held--;
				umem_tx_release(f->port, f->addr);
			}
			free(f);
		}
	d->nqueued = 0;
}

void impair_fini(struct xokd *x)
{
	uint32_t i;

	for (i = 0; i < x->niface; i++) {
		dir_free(&x->ifaces[i].imp_rx, true);
		dir_free(&x->ifaces[i].imp_tx, false);
	}
}
