/* xok-echo.c - a multi-connection TCP echo (or sink) server on libexos sockets, for tests */

/*
 * One thread, non-blocking libexos sockets, exos_poll over the listener and every
 * connection: what a small event-driven server on the POSIX-like API looks like.  Each
 * connection's bytes are echoed back (or, with --sink, counted and dropped); a connection
 * ends when the peer has closed and everything was echoed.  Output for the shell tests:
 *   ready port=P                    once listening
 *   done conns=N bytes=B max_open=M  at exit (--count reached, or SIGTERM/SIGINT)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <exos/socket.h>
#include <exos/sys.h>

#define ECHO_MAX_CONNS 4096
#define ECHO_BUF       (64 * 1024)
#define ECHO_DRAIN_NS  10000000000ull

struct conn {
	int fd;
	uint8_t *buf;
	size_t off, len; /* bytes received, not yet echoed */
	bool rd_eof;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char usage[] =
	"usage: xok-echo --port P [--count N] [--sink] [--help]\n"
	"  echo server on libexos sockets (XOK_SOCKET selects xokd); exits after N\n"
	"  connections have ended (default: at SIGTERM)\n";

/* Closed connections still hold unacknowledged data and FINs: run the stack until every
 * one is gone (bounded), since they die with the process. */
static void drain(void)
{
	uint64_t deadline = exos_now_ns() + ECHO_DRAIN_NS;
	struct exos_stack_stats st;
	struct exos_stack *s;

	if (exos_stack_default(&s) < 0)
		return;
	for (;;) {
		exos_stack_stats(s, &st);
		if (st.tcp_pcbs_inuse == 0 || exos_now_ns() >= deadline)
			break;
		exos_stack_wait(s, deadline);
	}
	if (st.tcp_pcbs_inuse)
		fprintf(stderr, "xok-echo: %llu connections still closing at exit\n",
			(unsigned long long)st.tcp_pcbs_inuse);
}

static void conn_end(struct conn *c)
{
	exos_close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
}

/* Moves what it can; returns false once the connection is finished. */
static bool conn_step(struct conn *c, bool sink, unsigned long long *bytes)
{
	for (;;) {
		if (c->len) {
			ssize_t s = exos_send(c->fd, c->buf + c->off, c->len, MSG_DONTWAIT);

			if (s < 0)
				return errno == EAGAIN;
			c->off += (size_t)s;
			c->len -= (size_t)s;
			if (c->len)
				return true;
		}
		if (c->rd_eof)
			return false;
		ssize_t r = exos_recv(c->fd, c->buf, ECHO_BUF, MSG_DONTWAIT);
		if (r < 0)
			return errno == EAGAIN;
		if (r == 0) {
			c->rd_eof = true;
			exos_shutdown(c->fd, SHUT_WR);
			return true;
		}
		*bytes += (unsigned long long)r;
		c->off = 0;
		c->len = sink ? 0 : (size_t)r;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'}, {"count", required_argument, NULL, 'c'},
		{"sink", no_argument, NULL, 's'},	{"help", no_argument, NULL, 'h'},
		{0},
	};
	static struct conn conns[ECHO_MAX_CONNS];
	static struct pollfd pfd[ECHO_MAX_CONNS + 1];
	struct sockaddr_in sin = {.sin_family = AF_INET};
	unsigned long long bytes = 0;
	long count = -1, done = 0;
	int port = 0, lfd, one = 1, nopen = 0, max_open = 0, c;
	bool sink = false;

	while ((c = getopt_long(argc, argv, "p:c:sh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'c':
			count = atol(optarg);
			break;
		case 's':
			sink = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (port <= 0 || port > 65535) {
		fputs(usage, stderr);
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	sin.sin_port = htons((uint16_t)port);
	lfd = exos_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (lfd < 0 || exos_setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    exos_bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || exos_listen(lfd, 1024) < 0) {
		fprintf(stderr, "xok-echo: listen on port %d: %s\n", port, strerror(errno));
		return 1;
	}
	for (int i = 0; i < ECHO_MAX_CONNS; i++)
		conns[i].fd = -1;
	printf("ready port=%d\n", port);
	fflush(stdout);
	while (!stop && (count < 0 || done < count)) {
		int n = 0, fd;

		while ((fd = exos_accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
			int i;

			for (i = 0; i < ECHO_MAX_CONNS && conns[i].fd >= 0; i++)
				;
			if (i == ECHO_MAX_CONNS || !(conns[i].buf = malloc(ECHO_BUF))) {
				exos_close(fd);
				continue;
			}
			conns[i] = (struct conn){.fd = fd, .buf = conns[i].buf};
			if (++nopen > max_open)
				max_open = nopen;
		}
		pfd[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (int i = 0; i < ECHO_MAX_CONNS; i++) {
			struct conn *k = &conns[i];

			if (k->fd < 0)
				continue;
			if (!conn_step(k, sink, &bytes)) {
				conn_end(k);
				nopen--;
				done++;
				continue;
			}
			pfd[n++] = (struct pollfd){
				.fd = k->fd, .events = (short)(k->len ? POLLOUT : POLLIN)};
		}
		if (count >= 0 && done >= count)
			break;
		if (exos_poll(pfd, (nfds_t)n, 1000) < 0 && errno != EINTR) {
			fprintf(stderr, "xok-echo: poll: %s\n", strerror(errno));
			break;
		}
	}
	for (int i = 0; i < ECHO_MAX_CONNS; i++)
		if (conns[i].fd >= 0)
			conn_end(&conns[i]);
	exos_close(lfd);
	drain();
	printf("done conns=%ld bytes=%llu max_open=%d\n", done, bytes, max_open);
	fflush(stdout);
	return 0;
}
