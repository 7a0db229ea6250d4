/* txflood.c - bench-xokd-txflood: one app transmitting as fast as xokd lets it */

/*
 *   bench-xokd-txflood --socket PATH --dst-mac M --dst A [--size B] [--seconds S]
 *                      [--claims N]
 *
 * Binds N UDP ports (one filter each: what checked transmission looks up) and keeps its
 * transmit queue full of B-byte frames for S seconds, cycling through the N source ports
 * -- the worst case for xokd's move-to-front claim lookup when N > 1.  Prints the frames
 * xokd completed per second: "txflood frames=F seconds=S fps=R".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <exos/sys.h>
#include <xok/dpf.h>

#include "udp_frame.h"

#define INFLIGHT 200 /* frames kept queued or in flight */

static void die(const char *what, int err)
{
	fprintf(stderr, "bench-xokd-txflood: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"dst-mac", required_argument, NULL, 'm'},
	    {"dst", required_argument, NULL, 'd'},
	    {"size", required_argument, NULL, 'z'},
	    {"seconds", required_argument, NULL, 't'},
	    {"claims", required_argument, NULL, 'c'},
	    {0},
	};
	const char *sock = NULL;
	uint8_t dmac[6] = {2, 0, 0, 0, 0, 1};
	uint32_t dst = 0, size = 60, claims = 1, i, *inflight, done0;
	int seconds = 5, c, err;
	struct xok_info_reply info;
	struct exos_sys *sys;
	struct exos_region *reg;
	struct exos_ring *ring;
	struct in_addr in;
	uint64_t t0, end, queued = 0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'm':
			if (parse_mac(optarg, dmac))
				die("--dst-mac", -EINVAL);
			break;
		case 'd':
			if (inet_pton(AF_INET, optarg, &in) != 1)
				die("--dst", -EINVAL);
			dst = in.s_addr;
			break;
		case 'z':
			size = (uint32_t)atoi(optarg);
			break;
		case 't':
			seconds = atoi(optarg);
			break;
		case 'c':
			claims = (uint32_t)atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (size < 42 || size > 1514 || claims < 1 || claims > 1000)
		die("--size 42..1514, --claims 1..1000", -EINVAL);
	err = exos_sys_open(sock, &sys);
	if (err)
		die("open", err);
	err = exos_sys_info(sys, &info);
	if (err || !info.niface)
		die("info", err ? err : -ENODEV);
	err = exos_ring_create(sys, 256, 8, &ring);
	if (err)
		die("ring", err);
	for (i = 0; i < claims; i++) { /* ports 40000.. */
		struct exos_filter_id id;
		struct dpf_filter f;

		dpf_filter_udp_port(&f, ntohl(info.ifaces[0].addr), (uint16_t)(40000 + i));
		err = exos_filter_insert(sys, ring, 0, 0, &f, &id);
		if (err)
			die("filter", err);
	}
	err = exos_region_create(sys, 4096 + (size_t)claims * 2048, &reg);
	if (err)
		die("region", err);
	inflight = reg->base;
	for (i = 0; i < claims; i++) { /* one frame per source port */
		struct udp_frame u = {.dst_mac = dmac,
				      .src_mac = info.ifaces[0].mac,
				      .src = info.ifaces[0].addr,
				      .dst = dst,
				      .sport = (uint16_t)(40000 + i),
				      .dport = 9};

		udp_frame_build((uint8_t *)reg->base + 4096 + (size_t)i * 2048, size, &u);
	}
	if (exos_sys_watch(sys, inflight, XOK_WK_LT, INFLIGHT / 2) < 0)
		die("watch", -errno);
	printf("ready\n");
	fflush(stdout);
	t0 = exos_now_ns();
	end = t0 + (uint64_t)seconds * 1000000000ull;
	while (exos_now_ns() < end) {
		struct exos_iov iov;

		if (__atomic_load_n(inflight, __ATOMIC_ACQUIRE) >= INFLIGHT) {
			exos_sys_wait(sys, end);
			continue;
		}
		iov.base = (uint8_t *)reg->base + 4096 + (size_t)(queued % claims) * 2048;
		iov.len = size;
		__atomic_fetch_add(inflight, 1, __ATOMIC_RELAXED);
		err = exos_xmit(sys, info.ifaces[0].ifindex, &iov, 1, inflight);
		if (err) {
			__atomic_fetch_sub(inflight, 1, __ATOMIC_RELAXED);
			exos_xmit_flush(sys);
			exos_sys_wait(sys, exos_now_ns() + 1000000);
			continue;
		}
		if ((++queued & 31) == 0)
			exos_xmit_flush(sys);
	}
	done0 = __atomic_load_n(inflight, __ATOMIC_ACQUIRE);
	printf("txflood frames=%" PRIu64 " seconds=%d fps=%" PRIu64 "\n", queued - done0, seconds,
	       (queued - done0) / (uint64_t)seconds);
	exos_sys_close(sys);
	return 0;
}
