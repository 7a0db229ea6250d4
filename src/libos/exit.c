/* exit.c - process exit: close, drain, hand TIME_WAIT to twd, else linger (§3.3 (3)) */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "socket_int.h"

/*
 * A library TCP lives in the process, so the process's end is TCP's problem (§3.3 (3)).
 * At exit() (or a return from main) the hook registered by the first exos_stack_open runs,
 * for every stack of this process that is still open:
 *
 *  1. Every socket is closed as the kernel closes descriptors, and every low-level
 *     connection the application still holds is closed the same way (a FIN after its
 *     data; a reset if unread data is left), without further callbacks.
 *  2. The stack runs until no connection has data (or its FIN) outstanding, for at most
 *     EXIT_DRAIN_NS or the longest SO_LINGER of the sockets closed: exit does not lose
 *     data it had accepted from the application.
 *  3. What remains closing - TIME_WAIT, and FIN_WAIT_1/2, CLOSING, LAST_ACK with only the
 *     FIN outstanding - goes to twd (handoff.c), the paper's recommended approach, and
 *     the process ends at once.  (twd holds no data: a connection whose data the drain
 *     did not deliver stays with the process, as below.)
 *  4. Without twd (or for what it would not take) the connections need a process that
 *     stays, until no connection is closing or 2*MSL have passed.  $EXOS_EXIT_LINGER says
 *     how: "background" (the default) is the paper's second approach - the process ends
 *     for its parent at once, while a copy of it (fork, its own session, standard streams
 *     on /dev/null, every other descriptor but xokd's closed, its listeners closed so that
 *     their ports are free) keeps the connections;
 *     "foreground" is the first approach (exit waits); "none" drops them.  libexos says
 *     which on stderr, once.
 *
 * A stack is skipped when exit() is called from inside one of its callbacks (its state is
 * mid-update) or from a forked child that did not open it.  _exit(), a fatal signal or
 * kill -9 leave no time for any of this: xokd reclaims the filters and the peers get
 * resets from strayd.  libexos installs no signal handlers unless asked
 * (exos_stack_handoff_on_signals).
 */

static struct exos_stack *open_stacks;
static bool hook_registered, in_exit, warned;
static volatile sig_atomic_t exit_signal;

static void exit_hook(void);

void exit_register(struct exos_stack *s)
{
	s->pid = getpid();
	s->open_next = open_stacks;
	open_stacks = s;
	if (!hook_registered)
		hook_registered = atexit(exit_hook) == 0;
}

void exit_unregister(struct exos_stack *s)
{
	for (struct exos_stack **pp = &open_stacks; *pp; pp = &(*pp)->open_next) {
		if (*pp == s) {
			*pp = s->open_next;
			return;
		}
	}
}

static void exit_on_signal(int sig)
{
	exit_signal = sig;
}

EXOS_API int exos_stack_handoff_on_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = exit_on_signal;
	sa.sa_flags = SA_RESETHAND; /* a second signal kills at once */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
		return exos_err(-errno);
	return 0;
}

void exit_check_signal(struct exos_stack *s)
{
	if (exit_signal && !in_exit && !s->depth)
		exit(128 + exit_signal);
}

enum linger_mode { LINGER_BACKGROUND = 0, LINGER_FOREGROUND, LINGER_NONE };

static enum linger_mode linger_mode(void)
{
	const char *m = getenv("EXOS_EXIT_LINGER");

	if (m && !strcmp(m, "foreground"))
		return LINGER_FOREGROUND;
	if (m && !strcmp(m, "none"))
		return LINGER_NONE;
	return LINGER_BACKGROUND;
}

/* Runs every exiting stack once, sleeping at most until deadline. */
static bool exit_run(struct exos_stack **v, unsigned n, uint64_t deadline)
{
	bool alive = false;

	for (unsigned i = 0; i < n; i++) {
		uint64_t d = n > 1 ? MIN(exos_now_ns() + EXIT_SLICE_NS, deadline) : deadline;
		if (!v[i])
			continue;
		if (stack_block(v[i], d) == -EPIPE) {
			v[i] = NULL; /* xokd is gone, and everything with it */
			continue;
		}
		alive = true;
	}
	return alive;
}

static uint32_t exit_draining(struct exos_stack **v, unsigned n)
{
	uint32_t d = 0;

	for (unsigned i = 0; i < n; i++)
		if (v[i])
			d += tcp_exit_draining(v[i]);
	return d;
}

static uint32_t exit_closing(struct exos_stack **v, unsigned n)
{
	uint32_t d = 0;

	for (unsigned i = 0; i < n; i++)
		if (v[i])
			d += tcp_closing_count(v[i]);
	return d;
}

static void exit_linger(struct exos_stack **v, unsigned n)
{
	uint64_t deadline = 0;

	/* The process is gone for everyone else: its ports are free for the next one (the
	 * connections listeners delivered get filters of their own, or go to twd). */
	for (unsigned i = 0; i < n; i++)
		if (v[i])
			tcp_exit_release_ports(v[i]);
	for (unsigned i = 0; i < n; i++)
		if (v[i])
			deadline = MAX(deadline, exos_now_ns() + 2 * v[i]->tcp->msl_ns);
	while (exit_closing(v, n) && exos_now_ns() < deadline && exit_run(v, n, deadline))
		;
}

static bool fd_needed(int fd, struct exos_stack **v, unsigned n)
{
	char path[64], link[64];
	ssize_t len;

	for (unsigned i = 0; i < n; i++)
		if (v[i] && fd == exos_sys_fd(v[i]->sys))
			return true;
	/* the sys layer's transmit kick (an eventfd): keep every eventfd */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	len = readlink(path, link, sizeof(link) - 1);
	if (len <= 0)
		return false;
	link[len] = 0;
	return !strcmp(link, "anon_inode:[eventfd]");
}

/* The lingering copy lets go of everything of the application's but xokd. */
static void exit_detach(struct exos_stack **v, unsigned n)
{
	int close_fds[1024], nclose = 0, null;
	DIR *d = opendir("/proc/self/fd");

	setsid();
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) && nclose < (int)ARRAY_SIZE(close_fds)) {
			int fd = atoi(e->d_name);
			if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd <= 2 || fd == dirfd(d))
				continue;
			if (!fd_needed(fd, v, n))
				close_fds[nclose++] = fd;
		}
		closedir(d);
	}
	for (int i = 0; i < nclose; i++)
		close(close_fds[i]);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
}

static void exit_hook(void)
{
	struct exos_stack *v[16];
	unsigned n = 0;
	pid_t pid = getpid();
	uint64_t deadline;
	uint32_t left = 0, took = 0, linger = 0;
	int twd_err = 0;

	if (in_exit)
		return;
	in_exit = true;
	for (struct exos_stack *s = open_stacks; s && n < ARRAY_SIZE(v); s = s->open_next)
		if (s->pid == pid && !s->depth)
			v[n++] = s;
	if (!n)
		return;

	/* 1. close what the application left open */
	for (unsigned i = 0; i < n; i++) {
		v[i]->exiting = true;
		stack_clock(v[i]);
		sock_exit_close_all(v[i]);
		tcp_exit_close_all(v[i]);
		linger = MAX(linger, v[i]->linger_sec);
	}

	/* 2. drain: data already accepted from the application reaches the peer */
	deadline = exos_now_ns() + MAX(EXIT_DRAIN_NS, (uint64_t)linger * NSEC_PER_SEC);
	while (exit_draining(v, n) && exos_now_ns() < deadline && exit_run(v, n, deadline))
		;

	/* 3. the hand-off */
	for (unsigned i = 0; i < n; i++) {
		uint32_t l = 0;
		int r;
		if (!v[i])
			continue;
		r = handoff_stack(v[i], true, &l);
		if (r > 0)
			took += (uint32_t)r;
		else if (r < 0)
			twd_err = r;
		left += l;
		if (!l)
			v[i] = NULL;
	}
	if (!left)
		return;

	/* 4. nobody took them: linger */
	enum linger_mode mode = linger_mode();
	pid_t child = -1;
	char why[160];

	if (twd_err)
		snprintf(why, sizeof(why), "twd is not reachable at %s (%s)",
			 handoff_socket_path(), strerror(-twd_err));
	else
		snprintf(why, sizeof(why), "twd took %u; the rest still hold data or twd refused them",
			 took);
	if (mode == LINGER_BACKGROUND) {
		fflush(NULL);
		child = fork();
		if (child == 0) {
			exit_detach(v, n);
			exit_linger(v, n);
			_exit(0); /* no second run of atexit handlers or stdio flushes */
		}
		if (child < 0)
			mode = LINGER_FOREGROUND;
	}
	if (!warned) {
		warned = true;
		if (mode == LINGER_BACKGROUND)
			fprintf(stderr,
				"libexos: %s: pid %d keeps %u closing TCP connection%s in the "
				"background (at most 2*MSL)\n",
				why, (int)child, left, left == 1 ? "" : "s");
		else
			fprintf(stderr, "libexos: %s: %s %u closing TCP connection%s\n", why,
				mode == LINGER_NONE ? "dropping" : "exit waits (at most 2*MSL) for",
				left, left == 1 ? "" : "s");
	}
	if (mode == LINGER_FOREGROUND)
		exit_linger(v, n);
}
