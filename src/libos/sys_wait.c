/* sys_wait.c - sleeping on a wakeup predicate: rings with frames, watched words, a deadline */

/*
 * The predicate sent to xokd is one product per ring (`produced != consumed`, both words
 * in the ring header, so it stays true/false correctly as the app consumes and never needs
 * re-sending) and one per watch.  It is re-sent only when rings or watches change.
 * The deadline is not part of it: the futex wait itself carries the absolute
 * CLOCK_MONOTONIC deadline, so a changing deadline costs no round trip to xokd.
 *
 * Sleep protocol (see abi.h): read seq; store sleeping = 1; full fence; re-check the
 * condition locally; FUTEX_WAIT(seq, old).  xokd increments seq before waking, so a wakeup
 * between the check and the wait makes FUTEX_WAIT return at once.
 *
 * exos_sys_wait_poll sleeps in ppoll(2) instead, on the caller's fds plus the control
 * socket (the predicate then asks xokd for XOK_OP_WAKE_NOTE datagrams; the socket also
 * hangs up at once when xokd goes away) plus an eventfd of exos_sys_kick's.  Same
 * protocol: a note sent after the check makes the socket readable, so ppoll returns.
 * exos_sys_kick is for other threads and signal handlers: it sets `kicked`, bumps the
 * futex word and the eventfd -- all async-signal-safe.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sys_internal.h"

int sys_pred_install(struct exos_sys *sys)
{
	struct xok_wkpred req;
	struct xok_ref ref;
	uint32_t i, n = 0;
	int err;

	memset(&req, 0, sizeof(req));
	for (i = 0; i < SYS_RINGS_MAX; i++) {
		struct exos_ring *r = sys->rings[i];
		struct xok_wk_term *t;

		if (!r)
			continue;
		t = &req.terms[n];
		t->lhs.region = r->region->id;
		t->lhs.offset = offsetof(struct xok_ring_hdr, produced);
		t->op = XOK_WK_NE;
		t->rhs_region = r->region->id;
		t->rhs = offsetof(struct xok_ring_hdr, consumed);
		t->product = (uint8_t)n;
		n++;
	}
	for (i = 0; i < SYS_WATCHES_MAX; i++) {
		struct sys_watch *w = &sys->watches[i];
		struct xok_wk_term *t;

		if (!w->used)
			continue;
		if (n == XOK_WK_TERMS_MAX)
			return -E2BIG;
		t = &req.terms[n];
		t->lhs = w->ref;
		t->op = w->op;
		t->rhs = w->value;
		t->product = (uint8_t)n;
		n++;
	}
	req.nterms = n;
	req.flags = sys->notes ? XOK_WKPRED_NOTIFY : 0;
	if (n) {
		err = exos_region_ref(sys, sys->wake, sizeof(*sys->wake), &ref);
		if (err)
			return err;
		req.wake = ref;
	}
	err = sys_call(sys, XOK_OP_WKPRED, &req, sizeof(req), -1, NULL, 0, NULL);
	if (err)
		return err;
	sys->pred_dirty = false;
	sys->pred_installed = n != 0;
	return 0;
}

static bool sys_watch_true(const struct sys_watch *w)
{
	uint32_t v = __atomic_load_n(w->word, __ATOMIC_ACQUIRE);

	switch (w->op) {
	case XOK_WK_EQ:
		return v == w->value;
	case XOK_WK_NE:
		return v != w->value;
	case XOK_WK_LT:
		return v < w->value;
	case XOK_WK_GE:
		return v >= w->value;
	case XOK_WK_AND:
		return (v & w->value) != 0;
	}
	return false;
}

/* The predicate, evaluated locally. */
static bool sys_ready(const struct exos_sys *sys)
{
	uint32_t i;

	for (i = 0; i < SYS_RINGS_MAX; i++) {
		const struct exos_ring *r = sys->rings[i];

		if (r && xok_load_acquire(&r->hdr->produced) !=
			     __atomic_load_n(&r->hdr->consumed, __ATOMIC_RELAXED))
			return true;
	}
	for (i = 0; i < SYS_WATCHES_MAX; i++)
		if (sys->watches[i].used && sys_watch_true(&sys->watches[i]))
			return true;
	return false;
}

static bool sys_xokd_gone(const struct exos_sys *sys)
{
	struct pollfd p = {.fd = sys->fd, .events = POLLIN};

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR));
}

/* Takes a pending kick, and its eventfd count with it, so that a kick ends one wait only
 * (a count left behind would end the next exos_sys_wait_poll at once). */
static bool sys_take_kick(struct exos_sys *sys)
{
	uint64_t drain;

	if (!__atomic_exchange_n(&sys->kicked, 0, __ATOMIC_ACQ_REL))
		return false;
	if (read(sys->kick_efd, &drain, sizeof(drain)) < 0) {
		/* EAGAIN: the kicker has not written yet; the wait below skips that count */
	}
	return true;
}

EXOS_API int exos_sys_kick(struct exos_sys *sys)
{
	uint64_t one = 1;
	ssize_t n;
	int e = errno; /* a signal handler must leave errno alone */

	__atomic_store_n(&sys->kicked, 1, __ATOMIC_RELEASE);
	__atomic_fetch_add(&sys->wake->seq, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &sys->wake->seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	n = write(sys->kick_efd, &one, sizeof(one));
	(void)n; /* EAGAIN: the counter is already nonzero, the waiter will see it */
	errno = e;
	return 0;
}

/* Prepares a sleep: flush, (re)install the predicate. */
static int sys_wait_prepare(struct exos_sys *sys, bool notes)
{
	int err;

	exos_xmit_flush(sys); /* never sleep on frames xokd has not been told about */
	if (notes && !sys->notes) {
		sys->notes = true;
		sys->pred_dirty = true;
	}
	if (sys->pred_dirty) {
		err = sys_pred_install(sys);
		if (err)
			return err;
	}
	return 0;
}

EXOS_API int exos_sys_wait(struct exos_sys *sys, uint64_t deadline_ns)
{
	int err;

	if (sys->notes)
		sys_drain_notes(sys); /* asked for by an earlier exos_sys_wait_poll */
	err = sys_wait_prepare(sys, false);
	if (err)
		return sys_err(err);
	for (;;) {
		uint32_t seq = __atomic_load_n(&sys->wake->seq, __ATOMIC_ACQUIRE);
		uint64_t now, until;
		struct timespec ts;
		long r;

		__atomic_store_n(&sys->wake->sleeping, 1, __ATOMIC_SEQ_CST);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (sys_ready(sys) || sys_take_kick(sys)) {
			__atomic_store_n(&sys->wake->sleeping, 0, __ATOMIC_RELAXED);
			return 0;
		}
		now = exos_now_ns();
		if (deadline_ns && now >= deadline_ns) {
			__atomic_store_n(&sys->wake->sleeping, 0, __ATOMIC_RELAXED);
			return sys_err(-ETIMEDOUT);
		}
		until = now + SYS_WAIT_SLICE_NS;
		if (deadline_ns && deadline_ns < until)
			until = deadline_ns;
		ts.tv_sec = (time_t)(until / 1000000000ull);
		ts.tv_nsec = (long)(until % 1000000000ull);
		/* shared futex (no FUTEX_PRIVATE_FLAG): xokd wakes it through its own mapping */
		r = syscall(SYS_futex, &sys->wake->seq, FUTEX_WAIT_BITSET, seq, &ts, NULL,
			    FUTEX_BITSET_MATCH_ANY);
		err = r < 0 ? errno : 0;
		__atomic_store_n(&sys->wake->sleeping, 0, __ATOMIC_RELAXED);
		if (r == 0 || err == EAGAIN) {
			/* woken with nothing to do: a kick, or xokd saying goodbye */
			if (!sys_ready(sys) && !__atomic_load_n(&sys->kicked, __ATOMIC_ACQUIRE) &&
			    sys_xokd_gone(sys))
				return sys_err(-EPIPE);
			sys_take_kick(sys);
			return 0;
		}
		if (err == EINTR)
			return sys_err(-EINTR);
		if (err != ETIMEDOUT)
			return sys_err(-err);
		if (deadline_ns && exos_now_ns() >= deadline_ns)
			return sys_err(-ETIMEDOUT);
		if (sys_xokd_gone(sys))
			return sys_err(-EPIPE);
	}
}

/* Reads every wake note waiting in the control socket (only notes arrive while no
 * request is outstanding); true if the socket reached its end. */
bool sys_drain_notes(struct exos_sys *sys)
{
	_Alignas(16) uint8_t buf[64];
	ssize_t n;

	while ((n = recv(sys->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	return n == 0;
}

static bool sys_revents(const struct pollfd *pfd, nfds_t n)
{
	for (nfds_t i = 0; i < n; i++)
		if (pfd[i].revents)
			return true;
	return false;
}

EXOS_API int exos_sys_wait_poll(struct exos_sys *sys, uint64_t deadline_ns, struct pollfd *fds,
				nfds_t nfds)
{
	struct pollfd stack_pfd[16], *pfd = stack_pfd;
	uint64_t drain;
	bool kicked;
	nfds_t i;
	int err, r;

	if (nfds > 4096 || (nfds && !fds))
		return sys_err(-EINVAL);
	if (nfds + 2 > sizeof(stack_pfd) / sizeof(stack_pfd[0])) {
		pfd = calloc(nfds + 2, sizeof(*pfd));
		if (!pfd)
			return sys_err(-ENOMEM);
	}
	err = sys_wait_prepare(sys, true);
	if (err)
		goto out;
	for (i = 0; i < nfds; i++) {
		pfd[i] = fds[i];
		fds[i].revents = 0;
	}
	pfd[nfds] = (struct pollfd){.fd = sys->fd, .events = POLLIN};
	pfd[nfds + 1] = (struct pollfd){.fd = sys->kick_efd, .events = POLLIN};
	for (;;) {
		uint64_t now;
		struct timespec ts, *tsp = NULL;

		__atomic_store_n(&sys->wake->sleeping, 1, __ATOMIC_SEQ_CST);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (sys_ready(sys) || sys_take_kick(sys)) {
			__atomic_store_n(&sys->wake->sleeping, 0, __ATOMIC_RELAXED);
			err = 0;
			break;
		}
		now = exos_now_ns();
		if (deadline_ns) {
			uint64_t left = deadline_ns > now ? deadline_ns - now : 0;

			ts.tv_sec = (time_t)(left / 1000000000ull);
			ts.tv_nsec = (long)(left % 1000000000ull);
			tsp = &ts;
		}
		r = ppoll(pfd, nfds + 2, tsp, NULL);
		err = r < 0 ? -errno : 0;
		__atomic_store_n(&sys->wake->sleeping, 0, __ATOMIC_RELAXED);
		if (r < 0)
			break;
		if (pfd[nfds + 1].revents &&
		    read(sys->kick_efd, &drain, sizeof(drain)) < 0 && errno != EAGAIN) {
			err = -errno;
			break;
		}
		kicked = sys_take_kick(sys);
		if ((pfd[nfds].revents & POLLIN) && sys_drain_notes(sys))
			pfd[nfds].revents |= POLLHUP;
		if (pfd[nfds].revents & (POLLHUP | POLLERR)) {
			err = -EPIPE;
			break;
		}
		for (i = 0; i < nfds; i++)
			fds[i].revents = pfd[i].revents;
		if (kicked || sys_revents(pfd, nfds + 1)) { /* a kick, a note, a caller's fd */
			err = 0;
			break;
		}
		/* only the count of a kick already taken: sleep again */
		if (deadline_ns && exos_now_ns() >= deadline_ns) {
			err = -ETIMEDOUT;
			break;
		}
	}
out:
	if (pfd != stack_pfd)
		free(pfd);
	return err ? sys_err(err) : 0;
}

EXOS_API int exos_sys_watch(struct exos_sys *sys, const uint32_t *word, enum xok_wk_op op,
			    uint32_t value)
{
	struct xok_ref ref;
	int i, err;

	if ((unsigned int)op >= XOK_WK_OP_NR || ((uintptr_t)word & 3))
		return sys_err(-EINVAL);
	err = exos_region_ref(sys, word, sizeof(*word), &ref);
	if (err)
		return err;
	for (i = 0; i < SYS_WATCHES_MAX; i++)
		if (!sys->watches[i].used)
			break;
	if (i == SYS_WATCHES_MAX)
		return sys_err(-ENOSPC);
	sys->watches[i] = (struct sys_watch){
	    .used = true, .op = (uint8_t)op, .value = value, .word = word, .ref = ref};
	sys->pred_dirty = true;
	return i;
}

EXOS_API int exos_sys_unwatch(struct exos_sys *sys, int handle)
{
	if (handle < 0 || handle >= SYS_WATCHES_MAX || !sys->watches[handle].used)
		return sys_err(-EINVAL);
	memset(&sys->watches[handle], 0, sizeof(sys->watches[handle]));
	sys->pred_dirty = true;
	return 0;
}
