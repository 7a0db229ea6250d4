/* tx.c - the transmit path: TXQ fast path, NET_XMIT slow path, completions */

/*
 * A frame is described by up to XOK_XMIT_PIECES <region, offset, len> pieces of the
 * sender's own regions.  xokd copies the descriptor out of shared memory first (the app
 * could change it under us), validates every field -- each piece must lie inside one of the
 * sender's regions, checked as offset <= size && len <= size - offset so that no sum can
 * overflow -- then gathers the pieces into a UMEM frame (the one transmit copy) and hands
 * it to the AF_XDP tx ring.  When the completion ring returns the frame, the notification
 * word is decremented atomically (the paper's net_xmit) and the app is touched for its
 * predicate.  The notification word's region is pinned (referenced) until then.
 *
 * Before a gathered frame is queued, checked transmission (txcheck.c) looks at its
 * headers in the UMEM copy, where the app can no longer change them.
 *
 * Fairness (§8 "Transmit Queue Fairness"): the apps' TXQs are the per-application
 * transmit queues, and xokd takes from them by deficit round robin (tx_run), with a
 * byte quantum times a per-app weight (--tx-quantum, --tx-weight).  xokd itself keeps at
 * most XOK_TX_DEVQ_MAX frames submitted per socket, so a flood cannot park a long queue of
 * frames in front of another app's.  When a TXQ is empty xokd sets XOK_TXQ_NEED_WAKEUP,
 * fences, and looks once more (the app advances prod, fences, then reads the flag: one of
 * the two sees the other).  An app at its in-flight limit leaves the round until one of
 * its frames completes; a full interface queue stops the round where it is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "kern.h"

static int tx_notify_resolve(struct xokd *x, struct app *a, const struct xok_tx_desc *d,
			     struct tx_frame *t)
{
	void *p;

	t->nreg = NULL;
	t->notify = NULL;
	if (d->notify.pad)
		return -EINVAL;
	if (d->notify.region == 0)
		return d->notify.offset ? -EINVAL : 0;
	if (region_resolve(x, a, d->notify.region, d->notify.offset, 4, 4, false, &p, &t->nreg))
		return -EFAULT;
	t->notify = p;
	return 0;
}

/* Validates a descriptor (already copied out of shared memory) into t. */
static int tx_validate(struct xokd *x, struct app *a, const struct xok_tx_desc *d,
		       struct tx_frame *t)
{
	uint64_t total = 0;
	uint32_t i;
	int err;

	if ((d->flags & ~XOK_TX_TCP_GSO) || d->pad)
		return -EINVAL;
	if ((d->flags & XOK_TX_TCP_GSO) ? d->gso_size < XOK_TX_GSO_MIN : d->gso_size != 0)
		return -EINVAL;
	if (d->npieces == 0 || d->npieces > XOK_XMIT_PIECES)
		return -EINVAL;
	if (!ctl_pad_zero(&d->pieces[d->npieces],
			  (XOK_XMIT_PIECES - d->npieces) * sizeof(struct xok_piece)))
		return -EINVAL;
	t->ifc = iface_by_index(x, d->ifindex);
	if (!t->ifc)
		return -ENODEV;
	err = tx_notify_resolve(x, a, d, t);
	if (err)
		return err;
	t->npieces = d->npieces;
	t->gso_size = d->gso_size;
	for (i = 0; i < d->npieces; i++) {
		const struct xok_piece *pc = &d->pieces[i];
		struct region *r;
		void *p;

		if (region_resolve(x, a, pc->region, pc->offset, pc->len, 1, false, &p, &r))
			return -EFAULT; /* not memory this app registered */
		t->piece[i] = p;
		t->plen[i] = pc->len;
		total += pc->len;
	}
	if (total < XOK_TX_FRAME_MIN)
		return -EINVAL;
	if (total > (t->gso_size ? XOK_TX_GSO_FRAME_MAX : iface_frame_max(t->ifc)))
		return -EMSGSIZE;
	t->len = (uint32_t)total;
	return 0;
}

/*
 * tx_send's outcome besides 0 and the descriptor's own errors: the app is at its in-flight
 * limit (it waits for its completions), or the interface's queue is full (everybody
 * waits).
 */
#define TX_APP_LIMIT (-EDQUOT)
#define TX_DEV_FULL  (-EBUSY)

uint32_t tx_weight_for(const struct xokd *x, const struct app *a)
{
	uint32_t i, w = 1;

	for (i = 0; i < x->cfg.nweights; i++) {
		const struct xokd_weight *r = &x->cfg.weights[i];

		if (r->by_uid ? r->uid == a->uid : !strncmp(r->comm, a->comm, sizeof(r->comm)))
			w = r->weight; /* the last matching rule wins */
	}
	return w;
}

int tx_submit(struct xokd *x, struct xport *p, uint64_t addr, uint32_t len)
{
	int err = xport_tx_submit(p, addr, len);

	if (!err && p->fake && x->tx_hook)
		x->tx_hook(x, p->ifc, umem_frame(p, addr), len);
	return err;
}

static bool tx_dev_room(const struct xokd *x, const struct xport *p)
{
	return p->ntx_free > 0 && p->tx_outstanding + p->tx_held < XOK_TX_DEVQ_MAX &&
	       impair_tx_room(x, p->ifc);
}

static void tx_refused(struct app *a, const struct tx_frame *t, const uint8_t *frame)
{
	a->tx_denied++;
	app_log(a, "tx", "frame refused by checked transmission (%u bytes, ethertype %02x%02x): "
		"it does not speak as this app", t->len, frame[12], frame[13]);
}

/* A large TCP frame through the packet socket (gso.c); it has left when this returns. */
static int tx_send_gso(struct xokd *x, struct app *a, const struct tx_frame *t, bool queued,
		       uint32_t seq)
{
	int err = gso_send(x, a, t, queued, seq);

	if (err == -EAGAIN || err == -ENOBUFS)
		return TX_DEV_FULL;
	if (err == -EPERM)
		tx_refused(a, t, t->piece[0]);
	if (err)
		return err;
	a->tx_frames++;
	a->tx_bytes += t->len;
	a->tx_gso++;
	if (t->notify) {
		__atomic_fetch_sub(t->notify, 1, __ATOMIC_SEQ_CST);
		wk_touch(x, a);
	}
	return 0;
}

/*
 * Gathers t into a UMEM frame -- the one transmit copy, and the copy the check reads, so
 * the app cannot change checked headers -- checks it, and queues it.
 */
static int tx_send(struct xokd *x, struct app *a, const struct tx_frame *t, bool queued,
		   uint32_t seq)
{
	struct xport *p = t->ifc->ports[0];
	struct tx_pend *pd;
	uint64_t addr;
	uint8_t *dst, *frame;
	uint32_t i;
	int err;

	if (!p || p->dead)
		return -ENETDOWN;
	if (a->tx_inflight >= x->cfg.limits.txq)
		return TX_APP_LIMIT;
	if (t->gso_size)
		return tx_send_gso(x, a, t, queued, seq);
	if (!tx_dev_room(x, p) || umem_tx_alloc(p, &addr))
		return TX_DEV_FULL;
	frame = dst = umem_frame(p, addr);
	for (i = 0; i < t->npieces; i++) {
		memcpy(dst, t->piece[i], t->plen[i]);
		dst += t->plen[i];
	}
	err = tx_check(x, a, t->ifc, frame, t->len, queued, seq);
	if (err) {
		umem_tx_release(p, addr);
		tx_refused(a, t, frame);
		return err;
	}
	pd = &p->pend[addr / XOK_UMEM_FRAME_SIZE];
	pd->app = a;
	pd->region = t->nreg;
	pd->word = t->notify;
	if (t->nreg)
		region_get(t->nreg);
	a->tx_inflight++;
	a->tx_frames++;
	a->tx_bytes += t->len;
	t->ifc->tx++;
	t->ifc->tx_bytes += t->len;
	if (impair_tx_on(x))
		impair_tx(x, p, addr, t->len);
	else if (tx_submit(x, p, addr, t->len))
		tx_finish_frame(x, p, addr); /* cannot happen: DEVQ_MAX < the ring's size */
	return 0;
}

static void tx_kick_all(struct xokd *x)
{
	uint32_t i;

	for (i = 0; i < x->niface; i++)
		if (x->ifaces[i].nports)
			xport_tx_kick(x->ifaces[i].ports[0]);
}

static void tx_complete_all(struct xokd *x)
{
	uint32_t i;

	for (i = 0; i < x->niface; i++)
		if (x->ifaces[i].nports && x->ifaces[i].ports[0]->tx_outstanding)
			tx_complete(x, x->ifaces[i].ports[0]);
}

int op_net_xmit(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd)
{
	const struct xok_tx_desc *d = req;
	struct tx_frame t;
	int err;

	(void)fd;
	(void)rep;
	(void)rep_fd;
	if (d->status) {
		a->tx_rejected++;
		return -EINVAL;
	}
	err = tx_validate(x, a, d, &t);
	if (!err)
		err = tx_send(x, a, &t, false, 0);
	if (err == TX_APP_LIMIT)
		err = app_limit_hit(a, LIMIT_TXQ, -EAGAIN,
				    "net_xmit refused: %u frames in flight (txq limit)",
				    a->tx_inflight);
	else if (err == TX_DEV_FULL)
		err = -EAGAIN;
	if (err) {
		a->tx_rejected++;
		return err;
	}
	xport_tx_kick(t.ifc->ports[0]);
	return 0;
}

/* One frame done (sent, or dropped by impairment): notify its app, free the UMEM frame. */
void tx_finish_frame(struct xokd *x, struct xport *p, uint64_t addr)
{
	uint64_t frame = addr / XOK_UMEM_FRAME_SIZE;
	struct tx_pend *pd;
	struct app *a;

	if (frame >= XOK_UMEM_FRAMES)
		return;
	pd = &p->pend[frame];
	a = pd->app;
	if (a) {
		if (pd->word) {
			__atomic_fetch_sub(pd->word, 1, __ATOMIC_SEQ_CST);
			region_put(pd->region);
			wk_touch(x, a);
		}
		a->tx_inflight--;
		if (a->tx_limited && a->tx_inflight < x->cfg.limits.txq) {
			a->tx_limited = false; /* back into the round */
			if (a->txq && !list_linked(&a->txwork_link))
				list_add_tail(&a->txwork_link, &x->txwork);
		}
	}
	memset(pd, 0, sizeof(*pd));
	umem_tx_release(p, addr);
}

void tx_complete(struct xokd *x, struct xport *p)
{
	uint64_t addr[64];
	uint32_t n, i;

	while ((n = xport_comp_take(p, addr, 64)) > 0) {
		for (i = 0; i < n; i++) {
			tx_finish_frame(x, p, addr[i]);
			if (p->tx_outstanding)
				p->tx_outstanding--;
		}
	}
}

/* ---- the shared-memory queue ---- */

static void txq_free(struct xokd *x, struct txq *q)
{
	loop_del(x, q->efd);
	close(q->efd);
	region_put(q->region);
	free(q);
}

static bool fd_is_eventfd(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = 0;
	return !strcmp(target, "anon_inode:[eventfd]");
}

int op_txq_set(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd)
{
	const struct xok_txq_set *m = req;
	struct txq *q;
	uint64_t bytes;
	void *p;
	int err;

	(void)rep;
	(void)rep_fd;
	if (m->pad || m->at.pad)
		return -EINVAL;
	if (m->at.region == 0 && m->at.offset == 0 && m->nentries == 0) {
		if (*fd >= 0)
			return -EINVAL;
		if (a->txq) {
			txq_free(x, a->txq);
			a->txq = NULL;
		}
		if (list_linked(&a->txwork_link))
			list_del(&a->txwork_link);
		return 0;
	}
	if (m->nentries == 0 || m->nentries > XOK_TXQ_ENTRIES_MAX ||
	    (m->nentries & (m->nentries - 1)))
		return -EINVAL;
	if (*fd < 0 || !fd_is_eventfd(*fd)) {
		app_log(a, "tx", "txq_set rejected: the fd is not an eventfd");
		return -EINVAL;
	}
	bytes = sizeof(struct xok_txq_hdr) + (uint64_t)m->nentries * sizeof(struct xok_tx_desc);
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	err = region_resolve(x, a, m->at.region, m->at.offset, bytes, 64, false, &p, &q->region);
	if (err) {
		free(q);
		return err;
	}
	q->hdr = p;
	q->descs = (struct xok_tx_desc *)((uint8_t *)p + sizeof(struct xok_txq_hdr));
	q->nentries = m->nentries;
	q->efd = *fd;
	q->ev.kind = EV_TXQ;
	q->ev.obj = a;
	/*
	 * Edge-triggered, and never read: every write to an eventfd is a new edge, and xokd
	 * must not read from a file description the app shares (it could make it blocking
	 * and drain it first, stalling xokd in read()).
	 */
	err = loop_add(x, q->efd, EPOLLIN | EPOLLET, &q->ev);
	if (err) {
		free(q);
		return err;
	}
	*fd = -1;
	region_get(q->region);
	if (a->txq)
		txq_free(x, a->txq);
	a->txq = q;
	xok_store_release(&q->hdr->cons, 0);
	__atomic_store_n(&q->hdr->flags, x->cfg.busy_poll ? 0 : XOK_TXQ_NEED_WAKEUP,
			 __ATOMIC_SEQ_CST);
	return 0;
}

void tx_kick(struct xokd *x, struct app *a)
{
	if (!a->txq)
		return;
	__atomic_store_n(&a->txq->hdr->flags, 0, __ATOMIC_RELAXED);
	if (!list_linked(&a->txwork_link) && !a->tx_limited)
		list_add_tail(&a->txwork_link, &x->txwork);
}

static void txq_finish(struct xokd *x, struct app *a, struct txq *q, uint32_t idx, int err,
		       const struct tx_frame *t)
{
	struct xok_tx_desc *slot = &q->descs[idx];

	__atomic_store_n(&slot->status, (uint32_t)-err, __ATOMIC_RELAXED);
	if (err && t && t->notify) {
		__atomic_fetch_sub(t->notify, 1, __ATOMIC_SEQ_CST);
		wk_touch(x, a);
	}
	q->cons++;
	xok_store_release(&q->hdr->cons, q->cons);
}

enum tx_drain {
	TX_EMPTY,   /* nothing left in its queue */
	TX_DEFICIT, /* the next frame is larger than what is left of its turn */
	TX_LIMIT,   /* at its in-flight limit: waits for its own completions */
	TX_FULL,    /* the interface's queue is full: everybody waits */
	TX_BUDGET,  /* this loop turn's budget is spent */
	TX_BOGUS,   /* prod is nonsense: ignored until the app kicks again */
};

/* Takes descriptors from a's TXQ while its turn's deficit covers them (DRR). */
static enum tx_drain tx_drain(struct xokd *x, struct app *a, uint32_t *budget)
{
	struct txq *q = a->txq;
	uint32_t prod;

	prod = xok_load_acquire(&q->hdr->prod);
	if (prod - q->cons > q->nentries) {
		app_log(a, "tx",
			"TXQ prod %u is more than %u ahead of cons %u: queue ignored "
			"until fixed",
			prod, q->nentries, q->cons);
		return TX_BOGUS;
	}
	while (q->cons != prod) {
		uint32_t idx = q->cons & (q->nentries - 1);
		struct xok_tx_desc d;
		struct tx_frame t;
		int err;

		if (*budget == 0)
			return TX_BUDGET;
		memcpy(&d, &q->descs[idx], sizeof(d)); /* the app may scribble on the slot */
		err = tx_validate(x, a, &d, &t);
		if (err) {
			struct tx_frame nt;

			(*budget)--;
			a->tx_rejected++;
			a->tx_deficit -= XOK_TX_REJECT_COST;
			app_log(a, "tx", "descriptor %u rejected (%d)", q->cons, err);
			txq_finish(x, a, q, idx, err,
				   tx_notify_resolve(x, a, &d, &nt) == 0 ? &nt : NULL);
			continue;
		}
		if ((int64_t)t.len > a->tx_deficit)
			return TX_DEFICIT;
		err = tx_send(x, a, &t, true, q->cons);
		if (err == TX_APP_LIMIT)
			return TX_LIMIT;
		if (err == TX_DEV_FULL)
			return TX_FULL;
		(*budget)--;
		if (err) {
			a->tx_rejected++;
			a->tx_deficit -= XOK_TX_REJECT_COST;
		} else {
			a->tx_deficit -= t.len;
		}
		txq_finish(x, a, q, idx, err, err ? &t : NULL);
	}
	return TX_EMPTY;
}

/* Queue empty: set need-wakeup, then look once more.  True if it really is idle. */
static bool txq_idle(struct xokd *x, struct txq *q)
{
	if (x->cfg.busy_poll)
		return true;
	__atomic_store_n(&q->hdr->flags, XOK_TXQ_NEED_WAKEUP, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (xok_load_acquire(&q->hdr->prod) == q->cons)
		return true;
	__atomic_store_n(&q->hdr->flags, 0, __ATOMIC_RELAXED);
	return false;
}

/* The interface's queue is full: push what we queued, reap completions; room now? */
static bool tx_make_room(struct xokd *x, struct app *a)
{
	uint32_t idx = a->txq->cons & (a->txq->nentries - 1);
	struct iface *ifc;
	uint32_t ifindex;

	tx_kick_all(x);
	tx_complete_all(x);
	ifindex = __atomic_load_n(&a->txq->descs[idx].ifindex, __ATOMIC_RELAXED);
	ifc = iface_by_index(x, ifindex);
	return !ifc || !ifc->nports || tx_dev_room(x, ifc->ports[0]);
}

static void tx_leave(struct app *a)
{
	list_del(&a->txwork_link);
	a->tx_turn = false;
	a->tx_deficit = 0;
}

/*
 * Deficit round robin (Shreedhar & Varghese) over the apps on x->txwork: the app at the
 * head starts a turn by adding quantum * weight to its deficit and sends while its next
 * frame fits; then it goes to the tail (and keeps what is left of the deficit), or leaves
 * the list when its queue is empty (and loses it).  When the interface's queue is full the
 * run stops with the head app mid-turn, so the next free slots are its, then the next
 * app's: nobody gets ahead by being first in the list.
 */
void tx_run(struct xokd *x)
{
	uint32_t budget = XOK_TX_RUN_BUDGET;
	int stalls = 0;

	x->tx_blocked = false;
	while (!list_empty(&x->txwork)) {
		struct app *a = list_entry(x->txwork.next, struct app, txwork_link);
		enum tx_drain r;

		if (!a->txq) {
			tx_leave(a);
			continue;
		}
		if (!a->tx_turn) {
			a->tx_turn = true;
			a->tx_deficit += (int64_t)x->cfg.tx_quantum * a->tx_weight;
		}
		r = tx_drain(x, a, &budget);
		if (r == TX_EMPTY) {
			if (txq_idle(x, a->txq))
				tx_leave(a);
			continue;
		}
		if (r == TX_DEFICIT) {
			list_del(&a->txwork_link);
			list_add_tail(&a->txwork_link, &x->txwork);
			a->tx_turn = false;
			continue;
		}
		if (r == TX_LIMIT) {
			tx_leave(a);
			a->tx_limited = true; /* tx_finish_frame puts it back */
			continue;
		}
		if (r == TX_BOGUS) {
			tx_leave(a);
			continue;
		}
		if (r == TX_BUDGET)
			break;
		/* TX_FULL */
		if (stalls++ < 4 && tx_make_room(x, a))
			continue;
		x->tx_blocked = true;
		break;
	}
	tx_kick_all(x);
	tx_complete_all(x);
}

int tx_timeout(const struct xokd *x)
{
	uint32_t i;

	if (!list_empty(&x->txwork))
		return x->tx_blocked ? 1 : 0;
	for (i = 0; i < x->niface; i++)
		if (x->ifaces[i].nports && !x->ifaces[i].ports[0]->dead &&
		    x->ifaces[i].ports[0]->tx_outstanding)
			return 1;
	return -1;
}

void tx_reclaim(struct xokd *x, struct app *a)
{
	uint32_t i, q, f;

	if (list_linked(&a->txwork_link))
		list_del(&a->txwork_link);
	a->tx_limited = false;
	if (a->txq) {
		txq_free(x, a->txq);
		a->txq = NULL;
	}
	if (a->tx_inflight == 0)
		return;
	/* frames already in UMEM still go out; only the notifications are forgotten */
	for (i = 0; i < x->niface; i++)
		for (q = 0; q < x->ifaces[i].nports; q++) {
			struct xport *p = x->ifaces[i].ports[q];

			for (f = 0; f < XOK_UMEM_FRAMES; f++) {
				struct tx_pend *pd = &p->pend[f];

				if (pd->app != a)
					continue;
				if (pd->region)
					region_put(pd->region);
				pd->app = NULL;
				pd->region = NULL;
				pd->word = NULL;
			}
		}
	a->tx_inflight = 0;
}
