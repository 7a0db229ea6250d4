/* xsk_drop.c - the baseline: a plain AF_XDP rx-drop on the same veth (libxdp xsk API, our own
 * redirect program attached with libbpf, copy mode like xokd) */
#include <errno.h>
#include <getopt.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "bench_common.h"
#include "xsk_redirect.skel.h"

#define FRAMES	   4096
#define FRAME_SIZE 4096
#define RING	   2048

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"iface", required_argument, NULL, 'i'},
	    {"seconds", required_argument, NULL, 't'},
	    {"busy", no_argument, NULL, 'b'},
	    {"skb", no_argument, NULL, 's'},
	    {0},
	};
	struct xsk_umem_config ucfg = {RING, RING, FRAME_SIZE, 0, 0};
	struct xsk_socket_config scfg = {
	    .rx_size = RING,
	    .tx_size = RING,
	    .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
	    .bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP,
	};
	LIBBPF_OPTS(bpf_link_create_opts, lo_opts);
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	struct xsk_redirect *skel;
	struct xsk_umem *umem;
	struct xsk_socket *xsk = NULL;
	const char *ifname = NULL;
	double seconds = 5;
	bool busy = false, skb = false;
	uint64_t got = 0, first = 0, last = 0, end = 0;
	uint32_t idx = 0, i;
	void *area;
	int c, link, ifindex;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'i':
			ifname = optarg;
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'b':
			busy = true;
			break;
		case 's':
			skb = true;
			break;
		default:
			return 2;
		}
	}
	if (!ifname) {
		fprintf(stderr, "usage: xsk_drop --iface IF [--seconds S] [--busy] [--skb]\n");
		return 2;
	}
	ifindex = (int)if_nametoindex(ifname);
	area = mmap(NULL, (size_t)FRAMES * FRAME_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	skel = xsk_redirect__open_and_load();
	if (area == MAP_FAILED || !skel) {
		fprintf(stderr, "xsk_drop: setup failed\n");
		return 1;
	}
	if (xsk_umem__create(&umem, area, (uint64_t)FRAMES * FRAME_SIZE, &fill, &comp, &ucfg)) {
		fprintf(stderr, "xsk_drop: UMEM setup failed: %s\n", strerror(errno));
		return 1;
	}
	/* the previous user of the queue (xokd) may still be releasing it */
	for (i = 0; i < 40; i++) {
		int err = xsk_socket__create(&xsk, ifname, 0, umem, &rx, &tx, &scfg);

		if (err != -EBUSY) {
			errno = -err;
			break;
		}
		usleep(50000);
	}
	if (!xsk || xsk_socket__update_xskmap(xsk, bpf_map__fd(skel->maps.xsks))) {
		fprintf(stderr, "xsk_drop: AF_XDP setup failed: %s\n", strerror(errno));
		return 1;
	}
	xsk_ring_prod__reserve(&fill, RING, &idx);
	for (i = 0; i < RING; i++)
		*xsk_ring_prod__fill_addr(&fill, idx + i) = (uint64_t)i * FRAME_SIZE;
	xsk_ring_prod__submit(&fill, RING);
	lo_opts.flags = skb ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	link =
	    bpf_link_create(bpf_program__fd(skel->progs.xsk_redirect), ifindex, BPF_XDP, &lo_opts);
	if (link < 0) {
		fprintf(stderr, "xsk_drop: attach failed: %s\n", strerror(-link));
		return 1;
	}
	printf("xsk_drop ready\n");
	fflush(stdout);
	for (;;) {
		uint32_t n, fidx = 0;
		uint64_t now;

		if (!busy && !xsk_cons_nb_avail(&rx, 1)) { /* drain everything, then sleep */
			struct pollfd p = {.fd = xsk_socket__fd(xsk), .events = POLLIN};

			poll(&p, 1, 100);
		}
		n = xsk_ring_cons__peek(&rx, 64, &idx);
		now = bench_now(CLOCK_MONOTONIC);
		if (n) {
			if (!first) {
				first = now;
				end = now + (uint64_t)(seconds * 1e9);
			}
			xsk_ring_prod__reserve(&fill, n, &fidx);
			for (i = 0; i < n; i++)
				*xsk_ring_prod__fill_addr(&fill, fidx + i) =
				    xsk_ring_cons__rx_desc(&rx, idx + i)->addr;
			xsk_ring_prod__submit(&fill, n);
			xsk_ring_cons__release(&rx, n);
			got += n;
			last = now;
			if (xsk_ring_prod__needs_wakeup(&fill))
				recvfrom(xsk_socket__fd(xsk), NULL, 0, MSG_DONTWAIT, NULL, NULL);
		}
		if (first && now >= end)
			break;
	}
	{
		struct xdp_statistics st = {0};
		socklen_t len = sizeof(st);

		getsockopt(xsk_socket__fd(xsk), SOL_XDP, XDP_STATISTICS, &st, &len);
		fprintf(stderr,
			"xsk_drop kernel: rx_dropped=%llu rx_ring_full=%llu "
			"fill_ring_empty=%llu\n",
			(unsigned long long)st.rx_dropped, (unsigned long long)st.rx_ring_full,
			(unsigned long long)st.rx_fill_ring_empty_descs);
	}
	printf("xsk_drop frames=%llu seconds=%.3f pps=%.0f\n", (unsigned long long)got,
	       (last - first) / 1e9, got / ((last - first) / 1e9));
	close(link);
	xsk_socket__delete(xsk);
	xsk_umem__delete(umem);
	xsk_redirect__destroy(skel);
	return 0;
}
