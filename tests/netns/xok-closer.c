/* xok-closer.c - a libexos process that closes connections first and exits (twd tests) */

/*
 * Client mode (--connect ADDR): opens --count connections to ADDR:--port, sends one line
 * on each and closes it (the active close: TIME_WAIT is ours once the peer closes too).
 * Server mode (--listen): accepts --count connections on --port, reads a line from each,
 * and closes it first (TIME_WAIT on connections a listener's filter delivers).
 *
 * Then, unless --exit-now, it waits until every connection is in TIME_WAIT (or, with
 * --state fin_wait_2, 300 ms: our FINs acknowledged, the peer's still to come), prints
 *     closed-all <CLOCK_REALTIME ns> tw=<TIME_WAIT blocks> pcbs=<control blocks>
 * and returns from main: the exit hook hands the connections to twd.  --pause-ms waits
 * between sending and closing, --sleep-ms before returning (the stack runs meanwhile),
 * so that a test can act at those points.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <exos/socket.h>
#include <exos/sys.h>

#define CLOSER_MAX 8192

static const char usage[] =
	"usage: xok-closer (--connect ADDR | --listen) --port P [--count N] [--lport P]\n"
	"                  [--exit-now] [--state time_wait|fin_wait_2] [--sleep-ms MS]\n"
	"                  [--timeout S] [--signals] [--pause-ms MS]\n";

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int open_one(uint32_t addr, uint16_t port, uint16_t lport)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = exos_socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (lport) {
		struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(lport)};
		if (exos_bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
			exos_close(fd);
			return -1;
		}
	}
	sin.sin_addr.s_addr = addr;
	if (exos_connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		exos_close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"connect", required_argument, NULL, 'c'}, {"listen", no_argument, NULL, 'l'},
		{"port", required_argument, NULL, 'p'},	   {"count", required_argument, NULL, 'n'},
		{"lport", required_argument, NULL, 'L'},   {"exit-now", no_argument, NULL, 'x'},
		{"state", required_argument, NULL, 's'},   {"sleep-ms", required_argument, NULL, 'S'},
		{"timeout", required_argument, NULL, 't'}, {"signals", no_argument, NULL, 'g'},
		{"pause-ms", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},	   {0},
	};
	uint32_t addr = 0;
	uint16_t port = 0, lport = 0;
	int count = 1, sleep_ms = 0, pause_ms = 0, timeout_s = 20, c, lfd = -1;
	bool listen_mode = false, exit_now = false, fw2 = false;
	static int fds[CLOSER_MAX];
	struct exos_stack *s;
	struct exos_stack_stats st;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (inet_pton(AF_INET, optarg, &addr) != 1)
				return 2;
			break;
		case 'l':
			listen_mode = true;
			break;
		case 'p':
			port = (uint16_t)atoi(optarg);
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 'L':
			lport = (uint16_t)atoi(optarg);
			break;
		case 'x':
			exit_now = true;
			break;
		case 's':
			fw2 = !strcmp(optarg, "fin_wait_2");
			break;
		case 'S':
			sleep_ms = atoi(optarg);
			break;
		case 't':
			timeout_s = atoi(optarg);
			break;
		case 'g':
			exos_stack_handoff_on_signals();
			break;
		case 'P':
			pause_ms = atoi(optarg);
			break;
		default:
			fputs(usage, c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (!port || count < 1 || count > CLOSER_MAX || (!addr && !listen_mode)) {
		fputs(usage, stderr);
		return 2;
	}
	if (exos_stack_default(&s) < 0) {
		perror("xok-closer: stack");
		return 1;
	}
	if (listen_mode) {
		struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(port)};
		lfd = exos_socket(AF_INET, SOCK_STREAM, 0);
		if (lfd < 0 || exos_bind(lfd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
		    exos_listen(lfd, 4096) < 0) {
			perror("xok-closer: listen");
			return 1;
		}
		printf("listening port=%u\n", port);
		fflush(stdout);
	}
	for (int i = 0; i < count; i++) {
		char line[64];
		fds[i] = listen_mode ? exos_accept(lfd, NULL, NULL)
				     : open_one(addr, port, lport ? (uint16_t)(lport + i) : 0);
		if (fds[i] < 0) {
			fprintf(stderr, "xok-closer: connection %d: %s\n", i, strerror(errno));
			return 1;
		}
		if (listen_mode) {
			if (exos_recv(fds[i], line, sizeof(line), 0) < 0)
				return 1;
		} else {
			int n = snprintf(line, sizeof(line), "hello %d\n", i);
			if (exos_send(fds[i], line, (size_t)n, 0) != n)
				return 1;
		}
	}
	printf("opened %d\n", count);
	fflush(stdout);
	if (pause_ms) {
		uint64_t until = exos_now_ns() + (uint64_t)pause_ms * 1000000ull;
		while (exos_now_ns() < until)
			exos_stack_wait(s, until);
	}
	for (int i = 0; i < count; i++)
		exos_close(fds[i]);
	if (!exit_now && fw2) {
		/* our FINs are acknowledged within a round trip: FIN_WAIT_2, the peer's open */
		uint64_t until = exos_now_ns() + 300000000ull;
		while (exos_now_ns() < until)
			exos_stack_wait(s, until);
	} else if (!exit_now) {
		uint64_t deadline = exos_now_ns() + (uint64_t)timeout_s * 1000000000ull;
		for (;;) {
			exos_stack_stats(s, &st);
			if (st.tcp_tw_inuse == (uint64_t)count)
				break;
			if (exos_now_ns() >= deadline) {
				fprintf(stderr, "xok-closer: timed out: tw %llu pcbs %llu\n",
					(unsigned long long)st.tcp_tw_inuse,
					(unsigned long long)st.tcp_pcbs_inuse);
				return 1;
			}
			exos_stack_wait(s, exos_now_ns() + 10000000ull);
		}
	}
	exos_stack_stats(s, &st);
	printf("closed-all %llu tw=%llu pcbs=%llu tx_again=%llu rx=%llu\n",
	       (unsigned long long)realtime_ns(), (unsigned long long)st.tcp_tw_inuse,
	       (unsigned long long)st.tcp_pcbs_inuse, (unsigned long long)st.tx_again,
	       (unsigned long long)st.rx_frames);
	fflush(stdout);
	if (sleep_ms) {
		uint64_t until = exos_now_ns() + (uint64_t)sleep_ms * 1000000ull;
		while (exos_now_ns() < until)
			exos_stack_wait(s, until);
	}
	return 0;
}
