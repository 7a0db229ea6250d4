/* wk.c - wakeup predicates: validation, evaluation, futex wakeups, timeouts (§3.2 WK) */

/*
 * Xok's scheduler evaluated a sleeping process's predicate before giving it the CPU.  Here
 * the app sleeps in FUTEX_WAIT on its wake.seq word, and xokd evaluates its predicate
 * after events that concern that app only: a frame published into one of its rings, one
 * of its transmit notifications decremented, its deadline passing, a table it reads being
 * announced as changed, and installation.  Evaluation happens once per loop turn per app
 * (the touched list), and only if the app has said it sleeps: a running app costs nothing.
 *
 * The lost-wakeup race is closed Dekker-style: xokd publishes, fences, loads `sleeping`;
 * the app stores `sleeping`, fences, re-checks its condition.  When the predicate holds,
 * xokd clears `sleeping`, increments `seq` and FUTEX_WAKEs it (a shared futex: xokd's
 * mapping and the app's are the same memfd pages).
 *
 * All words are resolved to pointers and their regions referenced at installation, so
 * evaluation does no lookups and no bounds checks.
 *
 * With XOK_WKPRED_NOTIFY the wakeup is also a 16-byte datagram on the app's control
 * socket, so that an app can sleep in poll(2) on that socket together with fds of its own
 * (exos_sys_wait_poll).  It is sent with MSG_DONTWAIT and dropped if the socket is full:
 * the app re-checks everything after waking anyway, and a note never blocks xokd.
 */
#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kern.h"

static void wk_free(struct wkpred *p)
{
	uint32_t i;

	for (i = 0; i < p->nheld; i++)
		region_put(p->held[i]);
	free(p);
}

static int wk_word(struct xokd *x, struct app *a, struct wkpred *p, uint32_t region,
		   uint64_t offset, const uint32_t **out)
{
	struct region *r;
	void *ptr;
	int err;

	err = region_resolve(x, a, region, offset, 4, 4, true, &ptr, &r);
	if (err)
		return err;
	region_get(r);
	p->held[p->nheld++] = r;
	*out = ptr;
	return 0;
}

/* Recomputes the earliest armed deadline and re-arms the loop's timer. */
static void wk_arm(struct xokd *x)
{
	uint64_t next = 0;
	struct app *a;

	list_for_each_entry(a, &x->apps, link)
	{
		if (a->pred && a->pred->deadline_armed && (next == 0 || a->pred->deadline < next))
			next = a->pred->deadline;
	}
	x->wk_deadline = next;
	loop_arm(x);
}

uint64_t wk_next(const struct xokd *x)
{
	return x->wk_deadline;
}

int op_wkpred(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd)
{
	const struct xok_wkpred *m = req;
	struct wkpred *p;
	struct region *r;
	void *ptr;
	uint32_t i;
	int err;

	(void)fd;
	(void)rep;
	(void)rep_fd;
	if ((m->flags & ~(uint32_t)XOK_WKPRED_NOTIFY) || m->nterms > XOK_WK_TERMS_MAX ||
	    !ctl_pad_zero(&m->terms[m->nterms],
			  (XOK_WK_TERMS_MAX - m->nterms) * sizeof(struct xok_wk_term)))
		return -EINVAL;
	if (m->nterms == 0) {
		if (a->pred) {
			wk_free(a->pred);
			a->pred = NULL;
			wk_arm(x);
		}
		return 0;
	}
	if (m->wake.pad)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	err = region_resolve(x, a, m->wake.region, m->wake.offset, sizeof(struct xok_wake), 8,
			     false, &ptr, &r);
	if (err)
		goto fail;
	region_get(r);
	p->held[p->nheld++] = r;
	p->seq = &((struct xok_wake *)ptr)->seq;
	p->sleeping = &((struct xok_wake *)ptr)->sleeping;
	for (i = 0; i < m->nterms; i++) {
		const struct xok_wk_term *t = &m->terms[i];
		struct wk_term *w = &p->terms[i];

		err = -EINVAL;
		if (t->pad || t->lhs.pad || t->op >= XOK_WK_OP_NR || t->product >= XOK_WK_TERMS_MAX)
			goto fail;
		err = wk_word(x, a, p, t->lhs.region, t->lhs.offset, &w->lhs);
		if (err)
			goto fail;
		if (t->rhs_region) {
			err = wk_word(x, a, p, t->rhs_region, t->rhs, &w->rhs_word);
			if (err)
				goto fail;
		} else if (t->rhs > UINT32_MAX) {
			err = -EINVAL;
			goto fail;
		} else {
			w->rhs = (uint32_t)t->rhs;
		}
		w->op = t->op;
		w->product = t->product;
	}
	p->nterms = m->nterms;
	p->flags = m->flags;
	p->deadline = m->timeout_ns;
	p->deadline_armed = m->timeout_ns != 0;
	if (a->pred)
		wk_free(a->pred);
	a->pred = p;
	wk_arm(x);
	wk_touch(x, a); /* it may already be asleep with the predicate true */
	return 0;
fail:
	wk_free(p);
	return err;
}

static bool wk_term_true(const struct wk_term *t)
{
	uint32_t l = __atomic_load_n(t->lhs, __ATOMIC_ACQUIRE);
	uint32_t r = t->rhs_word ? __atomic_load_n(t->rhs_word, __ATOMIC_ACQUIRE) : t->rhs;

	switch (t->op) {
	case XOK_WK_EQ:
		return l == r;
	case XOK_WK_NE:
		return l != r;
	case XOK_WK_LT:
		return l < r;
	case XOK_WK_GE:
		return l >= r;
	case XOK_WK_AND:
		return (l & r) != 0;
	}
	return false;
}

bool wk_eval(const struct wkpred *p, uint64_t now)
{
	uint32_t present = 0, failed = 0, i;

	if (p->deadline && now >= p->deadline)
		return true;
	/* sum of products: a product is true when none of its terms is false */
	for (i = 0; i < p->nterms; i++) {
		uint32_t bit = 1u << p->terms[i].product;

		present |= bit;
		if (!(failed & bit) && !wk_term_true(&p->terms[i]))
			failed |= bit;
	}
	return (present & ~failed) != 0;
}

void wk_touch(struct xokd *x, struct app *a)
{
	if (a->pred && !a->dead && !list_linked(&a->touched_link))
		list_add_tail(&a->touched_link, &x->touched);
}

static void wk_check(struct app *a, uint64_t now)
{
	struct wkpred *p = a->pred;

	if (!__atomic_load_n(p->sleeping, __ATOMIC_ACQUIRE))
		return;
	if (!wk_eval(p, now))
		return;
	__atomic_store_n(p->sleeping, 0, __ATOMIC_RELAXED);
	__atomic_fetch_add(p->seq, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, p->seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	if ((p->flags & XOK_WKPRED_NOTIFY) && a->fd >= 0) {
		struct xok_msg note = {.magic = XOK_ABI_MAGIC,
				       .version = XOK_ABI_VERSION,
				       .op = XOK_OP_WAKE_NOTE};

		send(a->fd, &note, sizeof(note), MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	a->wakeups++;
}

void wk_run(struct xokd *x)
{
	uint64_t now;

	if (list_empty(&x->touched))
		return;
	/* order our publications (ring owner words, notifications) before reading `sleeping` */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	now = now_mono_ns();
	while (!list_empty(&x->touched)) {
		struct app *a = list_entry(x->touched.next, struct app, touched_link);

		list_del(&a->touched_link);
		if (a->pred && !a->dead)
			wk_check(a, now);
	}
}

void wk_timer(struct xokd *x)
{
	uint64_t now = now_mono_ns();
	struct app *a;

	list_for_each_entry(a, &x->apps, link)
	{
		if (!a->pred || !a->pred->deadline_armed || a->pred->deadline > now)
			continue;
		a->pred->deadline_armed = false;
		wk_touch(x, a);
	}
	wk_arm(x);
}

void wk_table_changed(struct xokd *x, struct region *table)
{
	struct app *a;
	uint32_t i;

	list_for_each_entry(a, &x->apps, link)
	{
		if (!a->pred)
			continue;
		for (i = 0; i < a->pred->nheld; i++)
			if (a->pred->held[i] == table) {
				wk_touch(x, a);
				break;
			}
	}
}

void wk_shutdown(struct xokd *x)
{
	struct app *a;

	/* apps sleeping on xokd should notice it is gone now, not at their next timeout */
	list_for_each_entry(a, &x->apps, link)
	{
		if (!a->pred)
			continue;
		__atomic_fetch_add(a->pred->seq, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, a->pred->seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	}
}

void wk_reclaim(struct xokd *x, struct app *a)
{
	if (!a->pred)
		return;
	wk_free(a->pred);
	a->pred = NULL;
	wk_arm(x);
}
