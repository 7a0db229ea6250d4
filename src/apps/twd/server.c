/* server.c - twd's AF_UNIX socket: clients hand connections over, listeners take ports */

/*
 * A thread of its own waits on the socket and the clients (poll), reads and checks their
 * messages, and hands each to the main thread as a job: the main thread alone talks to
 * xokd (the sys layer is single-threaded) and owns the engine.  The main thread sleeps in
 * xokd's wakeup predicate, which knows nothing of this socket, so the server interrupts
 * that sleep with exos_sys_kick (the sys layer's one thread-safe call: a kick before the
 * sleep makes the sleep return at once).  One job at a time, in arrival order.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <exos/sys.h>

#include "twd.h"

struct twd_client {
	int fd;
	pid_t pid;
	uint32_t given; /* a port filter TAKEn, not yet DONE */
	uint64_t last;	/* CLOCK_MONOTONIC of its last message */
};

struct twd_server {
	int lfd;
	int stop[2];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_t thread;
	struct exos_sys *sys; /* the main thread's: only exos_sys_kick from here */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct twd_job *job; /* waiting for the main thread */
	bool job_done;
	void (*run)(struct twd_job *j, void *arg);
	void *arg;
	int verbose;
	struct twd_client clients[TWD_CLIENTS_MAX];
	unsigned nclients;
	_Alignas(16) uint8_t buf[TWD_MSG_MAX];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * TWD_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Server thread: hands j to the main thread and waits until it ran. */
static void job_submit(struct twd_server *sv, struct twd_job *j)
{
	pthread_mutex_lock(&sv->mu);
	sv->job = j;
	sv->job_done = false;
	while (!sv->job_done) {
		struct timespec ts;
		uint64_t until;

		exos_sys_kick(sv->sys);
		clock_gettime(CLOCK_REALTIME, &ts);
		until = (uint64_t)ts.tv_sec * TWD_NSEC_PER_SEC + (uint64_t)ts.tv_nsec + TWD_KICK_NS;
		ts.tv_sec = (time_t)(until / TWD_NSEC_PER_SEC);
		ts.tv_nsec = (long)(until % TWD_NSEC_PER_SEC);
		pthread_cond_timedwait(&sv->cv, &sv->mu, &ts);
	}
	sv->job = NULL;
	pthread_mutex_unlock(&sv->mu);
}

void twd_server_poll(struct twd_server *sv)
{
	pthread_mutex_lock(&sv->mu);
	if (sv->job && !sv->job_done) {
		sv->run(sv->job, sv->arg);
		sv->job_done = true;
		pthread_cond_broadcast(&sv->cv);
	}
	pthread_mutex_unlock(&sv->mu);
}

static void hdr_init(struct twd_hdr *h, uint16_t type, uint32_t seq, uint32_t count, int status)
{
	memset(h, 0, sizeof(*h));
	h->magic = TWD_MAGIC;
	h->version = TWD_VERSION;
	h->type = type;
	h->seq = seq;
	h->count = count;
	h->status = status;
	h->now_ns = mono_ns();
}

static void client_done(struct twd_server *sv, struct twd_client *cl)
{
	if (cl->given) {
		struct twd_job j = {.type = TWD_JOB_DONE, .pid = cl->pid, .filter = cl->given};
		job_submit(sv, &j);
		cl->given = 0;
	}
}

static void client_close(struct twd_server *sv, unsigned i)
{
	client_done(sv, &sv->clients[i]);
	close(sv->clients[i].fd);
	sv->clients[i] = sv->clients[--sv->nclients];
}

static int reply(int fd, const void *buf, size_t len)
{
	return send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len ? 0 : -1;
}

static int on_handoff(struct twd_server *sv, struct twd_client *cl, const struct twd_hdr *h)
{
	struct twd_job j = {.type = TWD_JOB_HANDOFF, .pid = cl->pid, .n = h->count};
	struct {
		struct twd_hdr h;
		struct twd_ack a;
	} ack;
	uint32_t taken = 0;

	j.recs = (const struct twd_rec *)(sv->buf + sizeof(*h)); /* 8-aligned in buf */
	job_submit(sv, &j);
	for (unsigned w = 0; w < TWD_BATCH_MAX / 64; w++)
		taken += (uint32_t)__builtin_popcountll(j.ack.taken[w]);
	hdr_init(&ack.h, TWD_MSG_ACK, h->seq, taken, 0);
	ack.a = j.ack;
	return reply(cl->fd, &ack, sizeof(ack));
}

static int on_take(struct twd_server *sv, struct twd_client *cl, const struct twd_hdr *h)
{
	struct twd_job j = {.type = TWD_JOB_TAKE, .pid = cl->pid};
	uint32_t sent = 0;
	int err = 0;

	if (cl->given)
		return -1; /* one port per client connection */
	memcpy(&j.take, sv->buf + sizeof(*h), sizeof(j.take));
	job_submit(sv, &j);
	if (j.status == 0)
		cl->given = j.port.filter;
	do {
		uint32_t k = j.nout - sent < TWD_BATCH_MAX ? j.nout - sent : TWD_BATCH_MAX;
		size_t len = sizeof(struct twd_hdr) + sizeof(struct twd_port) +
			     k * sizeof(struct twd_rec);

		hdr_init((struct twd_hdr *)sv->buf, TWD_MSG_PORT, h->seq, k, j.status);
		memcpy(sv->buf + sizeof(struct twd_hdr), &j.port, sizeof(j.port));
		if (k)
			memcpy(sv->buf + sizeof(struct twd_hdr) + sizeof(j.port), j.out + sent,
			       k * sizeof(struct twd_rec));
		sent += k;
		if (reply(cl->fd, sv->buf, len) < 0) {
			err = -1;
			break;
		}
		if (k < TWD_BATCH_MAX)
			break;
	} while (1);
	free(j.out);
	return err;
}

/* One message from client i; false: drop the client. */
static bool client_read(struct twd_server *sv, unsigned i)
{
	struct twd_client *cl = &sv->clients[i];
	struct twd_hdr h = {0};
	ssize_t n = recv(cl->fd, sv->buf, sizeof(sv->buf), MSG_TRUNC | MSG_DONTWAIT);
	int err;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;
	cl->last = mono_ns();
	err = (size_t)n > sizeof(sv->buf) ? -EMSGSIZE : twd_msg_check(sv->buf, (size_t)n, &h);
	if (err) {
		struct {
			struct twd_hdr h;
			struct twd_ack a;
		} nak;
		if (sv->verbose)
			fprintf(stderr, "twd: pid %d: bad message: %s\n", (int)cl->pid,
				strerror(-err));
		if ((size_t)n >= sizeof(h))
			memcpy(&h, sv->buf, sizeof(h));
		hdr_init(&nak.h, TWD_MSG_ACK, h.seq, 0, err);
		memset(&nak.a, 0, sizeof(nak.a));
		reply(cl->fd, &nak, sizeof(nak));
		return false;
	}
	switch (h.type) {
	case TWD_MSG_HANDOFF:
		return on_handoff(sv, cl, &h) == 0;
	case TWD_MSG_TAKE:
		return on_take(sv, cl, &h) == 0;
	case TWD_MSG_DONE:
		client_done(sv, cl);
		return true;
	default:
		return false;
	}
}

static void client_accept(struct twd_server *sv)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int fd = accept4(sv->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (sv->nclients == TWD_CLIENTS_MAX) {
		close(fd); /* the client falls back to lingering */
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		cr.pid = 0;
	sv->clients[sv->nclients++] = (struct twd_client){.fd = fd, .pid = cr.pid,
							  .last = mono_ns()};
}

static void *server_main(void *arg)
{
	struct twd_server *sv = arg;
	struct pollfd p[TWD_CLIENTS_MAX + 2];

	for (;;) {
		unsigned n = sv->nclients;

		p[0] = (struct pollfd){.fd = sv->stop[0], .events = POLLIN};
		p[1] = (struct pollfd){.fd = sv->lfd, .events = POLLIN};
		for (unsigned i = 0; i < n; i++)
			p[2 + i] = (struct pollfd){.fd = sv->clients[i].fd, .events = POLLIN};
		if (poll(p, n + 2, 1000) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		/* clients first, from the last (closing one moves the last into its place) */
		for (unsigned i = n; i-- > 0;) {
			if (p[2 + i].revents & (POLLIN | POLLHUP | POLLERR)) {
				if (!client_read(sv, i))
					client_close(sv, i);
			} else if (mono_ns() - sv->clients[i].last >
				   TWD_CLIENT_TIMEOUT_MS * TWD_NSEC_PER_MSEC) {
				client_close(sv, i);
			}
		}
		if (p[1].revents & POLLIN)
			client_accept(sv);
	}
	while (sv->nclients)
		client_close(sv, sv->nclients - 1);
	return NULL;
}

/* The socket: refuses to take over from a twd that answers; replaces a stale one. */
static int server_socket(struct twd_server *sv)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char dir[sizeof(sv->path)], *slash;
	int fd;

	memcpy(sun.sun_path, sv->path, strlen(sv->path));
	snprintf(dir, sizeof(dir), "%s", sv->path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir(dir, 0755); /* /run/xok normally exists: xokd's */
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		fprintf(stderr, "twd: another twd answers at %s\n", sv->path);
		return -EADDRINUSE;
	}
	unlink(sv->path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 64) < 0 ||
	    chmod(sv->path, 0666) < 0) {
		int err = -errno;
		fprintf(stderr, "twd: cannot listen at %s: %s\n", sv->path, strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

struct twd_server *twd_server_start(const char *path, struct exos_sys *sys,
				    void (*run)(struct twd_job *j, void *arg), void *arg,
				    int verbose)
{
	struct twd_server *sv = calloc(1, sizeof(*sv));
	sigset_t all, old;

	if (!sv)
		return NULL;
	if (strlen(path) >= sizeof(sv->path)) {
		fprintf(stderr, "twd: socket path too long: %s\n", path);
		free(sv);
		return NULL;
	}
	memcpy(sv->path, path, strlen(path) + 1);
	sv->run = run;
	sv->arg = arg;
	sv->verbose = verbose;
	sv->sys = sys;
	pthread_mutex_init(&sv->mu, NULL);
	pthread_cond_init(&sv->cv, NULL);
	sv->lfd = server_socket(sv);
	if (sv->lfd < 0 || pipe2(sv->stop, O_CLOEXEC) < 0) {
		if (sv->lfd >= 0) {
			close(sv->lfd);
			unlink(sv->path);
		}
		free(sv);
		return NULL;
	}
	/* signals are the main thread's: the server thread blocks them all */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int err = pthread_create(&sv->thread, NULL, server_main, sv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		close(sv->lfd);
		close(sv->stop[0]);
		close(sv->stop[1]);
		unlink(sv->path);
		free(sv);
		return NULL;
	}
	return sv;
}

void twd_server_stop(struct twd_server *sv)
{
	if (!sv)
		return;
	if (write(sv->stop[1], "x", 1) < 0) {
		/* the pipe cannot be full: nothing else writes it */
	}
	/* the thread may be waiting for a job (a client's DONE at its close): run them */
	for (;;) {
		struct timespec ts = {0, (long)TWD_KICK_NS};
		int r = pthread_tryjoin_np(sv->thread, NULL);
		if (r == 0)
			break;
		twd_server_poll(sv);
		nanosleep(&ts, NULL);
	}
	close(sv->lfd);
	close(sv->stop[0]);
	close(sv->stop[1]);
	unlink(sv->path);
	pthread_mutex_destroy(&sv->mu);
	pthread_cond_destroy(&sv->cv);
	free(sv);
}
