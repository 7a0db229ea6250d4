/* ringpoll.c - the xokd benchmark's application: frames per second delivered into its ring
 * (busy-polling, entries returned at once), or wake-up latency while sleeping on its
 * predicate */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <exos/sys.h>
#include <xok/dpf.h>

#include "bench_common.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *v, size_t n)
{
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_u64);
	printf("latency %s samples=%zu median_us=%.1f p99_us=%.1f max_us=%.1f\n", what, n,
	       v[n / 2] / 1e3, v[(n * 99) / 100] / 1e3, v[n - 1] / 1e3);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"socket", required_argument, NULL, 'S'},  {"port", required_argument, NULL, 'p'},
	    {"seconds", required_argument, NULL, 't'}, {"latency", no_argument, NULL, 'l'},
	    {"entries", required_argument, NULL, 'E'}, {0},
	};
	const char *sock = NULL;
	int port = 9, c, err;
	double seconds = 5;
	bool latency = false;
	uint32_t entries = 1024;
	struct exos_sys *sys;
	struct exos_ring *ring;
	struct exos_filter_id id;
	struct dpf_filter f;
	uint64_t got = 0, first = 0, last = 0, end = 0, *lat_send = NULL, *lat_xokd = NULL;
	size_t nlat = 0, cap = 1 << 20;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'S':
			sock = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'l':
			latency = true;
			break;
		case 'E':
			entries = (uint32_t)atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if ((err = exos_sys_open(sock, &sys)) ||
	    (err = exos_ring_create(sys, 256, entries, &ring))) {
		fprintf(stderr, "ringpoll: setup: %s\n", strerror(-err));
		return 1;
	}
	dpf_filter_udp_port(&f, 0, (uint16_t)port);
	err = exos_filter_insert(sys, ring, 0, 0, &f, &id);
	if (err) {
		fprintf(stderr, "ringpoll: filter: %s\n", strerror(-err));
		return 1;
	}
	lat_send = calloc(cap, sizeof(*lat_send));
	lat_xokd = calloc(cap, sizeof(*lat_xokd));
	printf("ringpoll ready\n");
	fflush(stdout);
	for (;;) {
		struct xok_ring_entry *e = exos_ring_peek(ring);
		uint64_t now;

		if (!e) {
			if (first && bench_now(CLOCK_MONOTONIC) >= end)
				break;
			if (latency) {
				err = exos_sys_wait(sys, first ? end : 0);
				if (err && err != -ETIMEDOUT && err != -EINTR)
					break;
			} else {
				sched_yield(); /* busy-poll, but let xokd have the CPU */
			}
			continue;
		}
		now = bench_now(CLOCK_MONOTONIC);
		if (!first) {
			first = now;
			end = now + (uint64_t)(seconds * 1e9);
		}
		if (latency && nlat < cap && e->caplen >= BENCH_FRAME_OFF_PAYLOAD + 16) {
			struct bench_payload p;

			memcpy(&p, e->data + BENCH_FRAME_OFF_PAYLOAD, sizeof(p));
			lat_send[nlat] = now - p.sent_ns;
			lat_xokd[nlat] = bench_now(CLOCK_REALTIME) - e->rx_ns;
			nlat++;
		}
		exos_ring_release(ring);
		got++;
		last = now;
		if (now >= end)
			break;
	}
	printf("ringpoll frames=%llu seconds=%.3f pps=%.0f\n", (unsigned long long)got,
	       (last - first) / 1e9, got / ((last - first) / 1e9));
	if (latency) {
		report("send->app", lat_send, nlat);
		report("xokd_rx->app", lat_xokd, nlat);
	}
	exos_sys_close(sys);
	return 0;
}
