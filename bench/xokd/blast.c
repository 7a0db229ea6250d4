/* blast.c - a pktgen-like UDP sender for the xokd benchmark (AF_PACKET, sendmmsg batches) */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_common.h"
#include "udp_frame.h"

#define BATCH 64

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"iface", required_argument, NULL, 'i'},   {"dst-mac", required_argument, NULL, 'm'},
	    {"src-mac", required_argument, NULL, 'M'}, {"src", required_argument, NULL, 's'},
	    {"dst", required_argument, NULL, 'd'},     {"dport", required_argument, NULL, 'p'},
	    {"seconds", required_argument, NULL, 't'}, {"pps", required_argument, NULL, 'r'},
	    {"size", required_argument, NULL, 'z'},    {0},
	};
	const char *ifname = NULL;
	uint8_t dmac[6] = {0}, smac[6] = {0}, frames[BATCH][1514];
	struct in_addr src = {0}, dst = {0};
	int port = 9, c, fd, i, one = 1;
	double seconds = 5;
	long pps = 0;
	size_t size = 60;
	struct sockaddr_ll sll = {0};
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint64_t sent = 0, seq = 0, t0, end, next;
	struct udp_frame u;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'i':
			ifname = optarg;
			break;
		case 'm':
			parse_mac(optarg, dmac);
			break;
		case 'M':
			parse_mac(optarg, smac);
			break;
		case 's':
			inet_pton(AF_INET, optarg, &src);
			break;
		case 'd':
			inet_pton(AF_INET, optarg, &dst);
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'r':
			pps = atol(optarg);
			break;
		case 'z':
			size = (size_t)atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (!ifname || size < 60 || size > 1514) {
		fprintf(stderr, "usage: blast --iface IF --dst-mac M --src-mac M --src A --dst A "
				"--dport P [--seconds S] [--pps N] [--size 60..1514]\n");
		return 2;
	}
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, dmac, 6);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("bind");
		return 1;
	}
	u = (struct udp_frame){.dst_mac = dmac,
			       .src_mac = smac,
			       .src = src.s_addr,
			       .dst = dst.s_addr,
			       .sport = 40000,
			       .dport = (uint16_t)port};
	for (i = 0; i < BATCH; i++) {
		udp_frame_build(frames[i], (uint32_t)size, &u);
		iov[i].iov_base = frames[i];
		iov[i].iov_len = size;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	t0 = bench_now(CLOCK_MONOTONIC);
	end = t0 + (uint64_t)(seconds * 1e9);
	next = t0;
	while (bench_now(CLOCK_MONOTONIC) < end) {
		int n = pps ? 1 : BATCH, k;
		uint64_t now = bench_now(CLOCK_MONOTONIC);

		if (pps) {
			struct timespec ts;

			next += 1000000000ull / (uint64_t)pps;
			ts.tv_sec = (time_t)(next / 1000000000ull);
			ts.tv_nsec = (long)(next % 1000000000ull);
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			now = bench_now(CLOCK_MONOTONIC);
		}
		for (i = 0; i < n; i++) {
			struct bench_payload p = {seq++, now};

			memcpy(frames[i] + BENCH_FRAME_OFF_PAYLOAD, &p, sizeof(p));
		}
		k = sendmmsg(fd, msgs, (unsigned int)n, 0);
		if (k > 0)
			sent += (uint64_t)k;
		else if (errno != ENOBUFS && errno != EAGAIN)
			break;
	}
	printf("blast sent=%llu seconds=%.2f pps=%.0f\n", (unsigned long long)sent,
	       (bench_now(CLOCK_MONOTONIC) - t0) / 1e9,
	       sent / ((bench_now(CLOCK_MONOTONIC) - t0) / 1e9));
	return 0;
}
