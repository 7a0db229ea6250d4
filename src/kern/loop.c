/* loop.c - the event loop: epoll over the control socket, clients, AF_XDP sockets, TXQ
 * eventfds, the predicate timer and signals */

/*
 * One turn: wait (forever when idle; 0 with --busy-poll or when the transmit scheduler ran
 * out of its budget; 1 ms while transmitted frames await completion), handle the ready
 * sources, then the deferred work in a fixed order -- drain TXQs and reap completions,
 * release impaired frames that are due, evaluate the predicates of the apps the turn
 * touched, regenerate the DPF program if the set changed, free reclaimed apps.  Deferring
 * predicate evaluation to the end of the turn batches wakeups: an app that got 64 frames
 * is evaluated once.
 *
 * One timerfd serves every deadline: predicate timeouts, apps paused for their request
 * rate, and the impairment queues (loop_arm takes the earliest).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "kern.h"

uint64_t now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t now_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int loop_add(struct xokd *x, int fd, uint32_t events, struct evsrc *ev)
{
	struct epoll_event e = {.events = events, .data.ptr = ev};

	if (x->epfd < 0)
		return 0; /* unit tests run without a loop */
	if (epoll_ctl(x->epfd, EPOLL_CTL_ADD, fd, &e) < 0)
		return -errno;
	return 0;
}

int loop_mod(struct xokd *x, int fd, uint32_t events, struct evsrc *ev)
{
	struct epoll_event e = {.events = events, .data.ptr = ev};

	if (x->epfd < 0 || fd < 0)
		return 0;
	if (epoll_ctl(x->epfd, EPOLL_CTL_MOD, fd, &e) < 0)
		return -errno;
	return 0;
}

static void next_min(uint64_t *next, uint64_t t)
{
	if (t && (!*next || t < *next))
		*next = t;
}

void loop_arm(struct xokd *x)
{
	struct itimerspec its = {0};
	uint64_t next = 0;

	next_min(&next, wk_next(x));
	next_min(&next, ctl_next_resume(x));
	next_min(&next, impair_next(x));
	if (next == x->timer_deadline || x->timer_fd < 0)
		return;
	x->timer_deadline = next;
	its.it_value.tv_sec = (time_t)(next / 1000000000ull);
	its.it_value.tv_nsec = (long)(next % 1000000000ull);
	timerfd_settime(x->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void loop_timer(struct xokd *x)
{
	uint64_t v;

	while (read(x->timer_fd, &v, sizeof(v)) == sizeof(v))
		;
	x->timer_deadline = 0;
	wk_timer(x); /* re-arms */
	ctl_resume(x, now_mono_ns());
	impair_run(x);
	loop_arm(x);
}

void loop_del(struct xokd *x, int fd)
{
	if (x->epfd >= 0)
		epoll_ctl(x->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int loop_setup(struct xokd *x)
{
	sigset_t mask;
	int err;

	x->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (x->epfd < 0)
		return -errno;
	x->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (x->timer_fd < 0)
		return -errno;
	x->timer_ev.kind = EV_TIMER;
	x->timer_ev.obj = x;
	err = loop_add(x, x->timer_fd, EPOLLIN, &x->timer_ev);
	if (err)
		return err;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	x->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (x->signal_fd < 0)
		return -errno;
	x->signal_ev.kind = EV_SIGNAL;
	x->signal_ev.obj = x;
	return loop_add(x, x->signal_fd, EPOLLIN, &x->signal_ev);
}

static void loop_signal(struct xokd *x)
{
	struct signalfd_siginfo si;

	while (read(x->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		xlog("main", "%s: shutting down", strsignal((int)si.ssi_signo));
		x->stop = true;
	}
}

static void loop_event(struct xokd *x, struct epoll_event *e)
{
	struct evsrc *ev = e->data.ptr;
	struct app *a;

	switch (ev->kind) {
	case EV_LISTEN:
		ctl_accept(x);
		break;
	case EV_CLIENT:
		a = ev->obj;
		if (!a->dead)
			ctl_client_event(x, a, e->events);
		break;
	case EV_XSK:
		if (e->events & (EPOLLERR | EPOLLHUP))
			xport_fail(x, ev->obj);
		else
			rx_port(x, ev->obj);
		break;
	case EV_TXQ:
		a = ev->obj;
		if (!a->dead)
			tx_kick(x, a);
		break;
	case EV_TIMER:
		loop_timer(x);
		break;
	case EV_SIGNAL:
		loop_signal(x);
		break;
	}
}

static void loop_poll_all(struct xokd *x)
{
	struct app *a;
	uint32_t i, q;

	for (i = 0; i < x->niface; i++)
		for (q = 0; q < x->ifaces[i].nports; q++)
			if (!x->ifaces[i].ports[q]->dead)
				rx_port(x, x->ifaces[i].ports[q]);
	list_for_each_entry(a, &x->apps, link) if (a->txq && !list_linked(&a->txwork_link))
	    list_add_tail(&a->txwork_link, &x->txwork);
}

/* The epoll timeout: the sooner of transmit work and a coalesced filter rebuild. */
static int loop_timeout(const struct xokd *x)
{
	int t = tx_timeout(x), f = filter_timeout(x);

	if (t < 0)
		return f;
	return f < 0 || t < f ? t : f;
}

int loop_run(struct xokd *x)
{
	struct epoll_event evs[XOK_EPOLL_EVENTS];
	int i, n, timeout;

	while (!x->stop) {
		timeout = x->cfg.busy_poll ? 0 : loop_timeout(x);
		n = epoll_wait(x->epfd, evs, XOK_EPOLL_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			xlog("main", "epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (i = 0; i < n; i++)
			loop_event(x, &evs[i]);
		if (x->cfg.busy_poll)
			loop_poll_all(x);
		tx_run(x);
		if (impair_on(x)) {
			impair_run(x);
			loop_arm(x);
		}
		wk_run(x);
		filter_sync(x);
		app_reap(x);
	}
	return 0;
}
