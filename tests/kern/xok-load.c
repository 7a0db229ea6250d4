/* xok-load.c - a raw xokd client for the protection tests: floods, echoes, spam, waits */

/*
 * Subcommands (all take --socket PATH; line-oriented output for the shell tests):
 *   flood  --dst-mac M --dst A --sport P --dport P [--size B] [--seconds S]
 *          keep the TXQ full of B-byte UDP frames from port P (bound first) for S seconds:
 *          "ready app=ID" then "flood queued=N refused=K"
 *   echo   --port P [--seconds S]   UDP echo on raw frames (addresses and ports swapped):
 *          "ready app=ID", at the end "echo frames=N"
 *   spam   [--seconds S]            control requests (INFO) back to back: "spam ok=N
 *          eagain=K"
 *   txhold --dst-mac M --dst A --sport P --dport P [--count N]  bind P, queue N frames
 *          without waiting for them, print "holding", sleep until killed
 *   waitpoll --port P               exos_sys_wait_poll on its ring and stdin: prints
 *          "ready", then "frame" / "stdin LINE" per event, "error=E" when the wait fails
 *   kick   [--ms T]                 exos_sys_wait with nothing to wait for, interrupted by
 *          exos_sys_kick from another thread after T ms and then from a SIGALRM handler:
 *          "kick thread_ms=X signal_ms=Y"
 *   txlat  --dst-mac M --dst A --sport P --dport P [--count N] [--ms T]  one frame every T
 *          ms; for each, the time from exos_xmit until xokd says it has left (its
 *          notification word): "txlat n=N p50_us=A p90_us=B p99_us=C max_us=D"
 *   table  [--seconds S]             maps the ARP table (GET works before arpd runs) and
 *          reports changes: "table size=N version=V", then "table version=V entries=E"
 *          whenever the version changes (waiting on it with a predicate)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <exos/sys.h>
#include <xok/dpf.h>

#include "udp_frame.h"
#include "xok_client.h"

static struct {
	const char *socket;
	uint8_t dst_mac[6];
	uint32_t dst; /* host order */
	int sport, dport, port;
	uint32_t size;
	int seconds;
	int count;
	int ms;
} opt = {.size = 60, .seconds = 5, .count = 64, .ms = 100};

/* A ring and a UDP filter on our address and port: binds the port. */
static struct exos_ring *bind_udp(struct exos_sys *sys, const struct xok_iface_info *ifc, int port,
				  uint32_t nentries)
{
	struct exos_filter_id id;
	struct exos_ring *ring;
	struct dpf_filter f;
	int err;

	err = exos_ring_create(sys, 2048, nentries, &ring);
	if (err)
		die("ring", err);
	dpf_filter_udp_port(&f, ntohl(ifc->addr), (uint16_t)port);
	err = exos_filter_insert(sys, ring, 0, 0, &f, &id);
	if (err)
		die("filter", err);
	return ring;
}

/* An Ethernet | IPv4 | UDP frame of opt.size bytes (at least 42). */
static uint32_t build_udp(uint8_t *f, const struct xok_iface_info *ifc)
{
	uint32_t len = opt.size < 42 ? 42 : opt.size;
	struct udp_frame u = {.dst_mac = opt.dst_mac,
			      .src_mac = ifc->mac,
			      .src = ifc->addr,
			      .dst = htonl(opt.dst),
			      .sport = (uint16_t)opt.sport,
			      .dport = (uint16_t)opt.dport};

	udp_frame_build(f, len, &u);
	return len;
}

/* ---- flood ---- */

static int cmd_flood(void)
{
	struct exos_sys *sys = open_sys(opt.socket);
	struct xok_iface_info ifc;
	struct exos_region *reg;
	struct exos_iov iov;
	uint32_t *inflight, len;
	uint64_t end, queued = 0, refused = 0;
	int err, h;

	first_iface(sys, &ifc);
	bind_udp(sys, &ifc, opt.sport, 8);
	err = exos_region_create(sys, 65536, &reg);
	if (err)
		die("region", err);
	inflight = reg->base;
	len = build_udp((uint8_t *)reg->base + 4096, &ifc);
	iov = (struct exos_iov){(uint8_t *)reg->base + 4096, len};
	/* wake when fewer than 128 of ours are in flight */
	h = exos_sys_watch(sys, inflight, XOK_WK_LT, 128);
	if (h < 0)
		die("watch", h);
	printf("ready app=%u\n", exos_sys_app_id(sys));
	fflush(stdout);
	end = exos_now_ns() + (uint64_t)opt.seconds * 1000000000ull;
	while (exos_now_ns() < end) {
		if (__atomic_load_n(inflight, __ATOMIC_ACQUIRE) >= 200) {
			err = exos_sys_wait(sys, end);
			if (err && err != -ETIMEDOUT && err != -EINTR)
				die("wait", err);
			continue;
		}
		__atomic_fetch_add(inflight, 1, __ATOMIC_RELAXED);
		err = exos_xmit(sys, ifc.ifindex, &iov, 1, inflight);
		if (err) {
			__atomic_fetch_sub(inflight, 1, __ATOMIC_RELAXED);
			if (err != -EAGAIN)
				die("xmit", err);
			exos_xmit_flush(sys);
			exos_sys_wait(sys, exos_now_ns() + 1000000);
			continue;
		}
		queued++;
		if ((queued & 31) == 0)
			exos_xmit_flush(sys);
	}
	{
		struct xok_stats_reply st;
		uint32_t i;

		if (exos_sys_stats(sys, XOK_STATS_APP, 0, &st) == 0)
			for (i = 0; i < st.count; i++)
				if (st.recs[i].id == exos_sys_app_id(sys))
					refused = st.recs[i].c[XOK_SA_TX_REJECTED];
	}
	printf("flood queued=%" PRIu64 " refused=%" PRIu64 "\n", queued, refused);
	fflush(stdout);
	exos_sys_close(sys);
	return 0;
}

/* ---- echo ---- */

static int cmd_echo(void)
{
	struct exos_sys *sys = open_sys(opt.socket);
	struct xok_iface_info ifc;
	struct exos_region *reg;
	struct exos_ring *ring;
	uint32_t *words, slot = 0;
	uint8_t *bufs;
	uint64_t end, frames = 0;
	int err;

	first_iface(sys, &ifc);
	ring = bind_udp(sys, &ifc, opt.port, 256);
	err = exos_region_create(sys, 64 * 2048 + 4096, &reg);
	if (err)
		die("region", err);
	words = reg->base; /* one in-flight word per transmit buffer */
	bufs = (uint8_t *)reg->base + 4096;
	printf("ready app=%u\n", exos_sys_app_id(sys));
	fflush(stdout);
	end = exos_now_ns() + (uint64_t)opt.seconds * 1000000000ull;
	while (exos_now_ns() < end) {
		struct xok_ring_entry *e = exos_ring_peek(ring);
		struct exos_iov iov;
		uint8_t *f, tmp[6];
		uint32_t n, ihl;

		if (!e) {
			err = exos_sys_wait(sys, end);
			if (err && err != -ETIMEDOUT && err != -EINTR)
				die("wait", err);
			continue;
		}
		n = e->caplen;
		ihl = n > 14 ? (uint32_t)(e->data[14] & 0x0f) * 4 : 0;
		if (n >= 14 + ihl + 8 && ihl >= 20 && n <= 2048 &&
		    !__atomic_load_n(&words[slot], __ATOMIC_ACQUIRE)) {
			f = bufs + (size_t)slot * 2048;
			memcpy(f, e->data, n);
			memcpy(tmp, f, 6); /* swap MACs, addresses, ports */
			memcpy(f, f + 6, 6);
			memcpy(f + 6, tmp, 6);
			memcpy(tmp, f + 26, 4);
			memcpy(f + 26, f + 30, 4);
			memcpy(f + 30, tmp, 4);
			memcpy(tmp, f + 14 + ihl, 2);
			memcpy(f + 14 + ihl, f + 16 + ihl, 2);
			memcpy(f + 16 + ihl, tmp, 2);
			f[14 + ihl + 6] = f[14 + ihl + 7] = 0; /* no UDP checksum */
			iov = (struct exos_iov){f, n};
			words[slot] = 1;
			if (exos_xmit(sys, ifc.ifindex, &iov, 1, &words[slot]) == 0) {
				frames++;
				slot = (slot + 1) % 64;
			} else {
				words[slot] = 0;
			}
			exos_xmit_flush(sys);
		}
		exos_ring_release(ring);
	}
	printf("echo frames=%" PRIu64 "\n", frames);
	fflush(stdout);
	exos_sys_close(sys);
	return 0;
}

/* ---- spam ---- */

static int cmd_spam(void)
{
	struct exos_sys *sys = open_sys(opt.socket);
	struct xok_info_reply info;
	uint64_t end, ok = 0, eagain = 0;
	int err;

	printf("ready app=%u\n", exos_sys_app_id(sys));
	fflush(stdout);
	end = exos_now_ns() + (uint64_t)opt.seconds * 1000000000ull;
	while (exos_now_ns() < end) {
		err = exos_sys_info(sys, &info);
		if (err == 0)
			ok++;
		else if (err == -EAGAIN)
			eagain++;
		else
			die("info", err);
	}
	printf("spam ok=%" PRIu64 " eagain=%" PRIu64 "\n", ok, eagain);
	fflush(stdout);
	exos_sys_close(sys);
	return 0;
}

/* ---- txhold: frames queued, then killed ---- */

static int cmd_txhold(void)
{
	struct exos_sys *sys = open_sys(opt.socket);
	struct xok_iface_info ifc;
	struct exos_region *reg;
	struct exos_iov iov;
	uint32_t *word;
	int i, err;

	first_iface(sys, &ifc);
	bind_udp(sys, &ifc, opt.sport, 8);
	err = exos_region_create(sys, 65536, &reg);
	if (err)
		die("region", err);
	word = reg->base;
	iov = (struct exos_iov){(uint8_t *)reg->base + 4096,
				build_udp((uint8_t *)reg->base + 4096, &ifc)};
	for (i = 0; i < opt.count; i++) {
		__atomic_fetch_add(word, 1, __ATOMIC_RELAXED);
		if (exos_xmit(sys, ifc.ifindex, &iov, 1, word)) {
			__atomic_fetch_sub(word, 1, __ATOMIC_RELAXED);
			break;
		}
	}
	exos_xmit_flush(sys);
	printf("holding queued=%d\n", i);
	fflush(stdout);
	for (;;)
		pause();
	return 0;
}

/* ---- waitpoll ---- */

static int cmd_waitpoll(void)
{
	struct exos_sys *sys = open_sys(opt.socket);
	struct xok_iface_info ifc;
	struct exos_ring *ring;
	char line[256];
	int err;

	first_iface(sys, &ifc);
	ring = bind_udp(sys, &ifc, opt.port, 32);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p = {.fd = 0, .events = POLLIN};
		struct xok_ring_entry *e;

		while ((e = exos_ring_peek(ring))) {
			printf("frame len=%u\n", e->owner);
			exos_ring_release(ring);
		}
		fflush(stdout);
		err = exos_sys_wait_poll(sys, 0, &p, 1);
		if (err) {
			printf("error=%d (%s)\n", err, strerror(-err));
			fflush(stdout);
			exos_sys_close(sys);
			return 1;
		}
		if (p.revents & POLLIN) {
			ssize_t n = read(0, line, sizeof(line) - 1);

			if (n <= 0) {
				printf("stdin closed\n");
				break;
			}
			line[n] = 0;
			line[strcspn(line, "\n")] = 0;
			printf("stdin %s\n", line);
		}
	}
	fflush(stdout);
	exos_sys_close(sys);
	return 0;
}

/* ---- kick ---- */

static struct exos_sys *kick_sys;

static void *kicker(void *arg)
{
	(void)arg;
	usleep((useconds_t)opt.ms * 1000);
	exos_sys_kick(kick_sys);
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
	exos_sys_kick(kick_sys);
}

static int cmd_kick(void)
{
	struct xok_iface_info ifc;
	struct sigaction sa;
	pthread_t t;
	uint64_t t0, t1;
	int err;

	kick_sys = open_sys(opt.socket);
	first_iface(kick_sys, &ifc);
	bind_udp(kick_sys, &ifc, 9, 8); /* a ring nobody sends to */
	t0 = exos_now_ns();
	pthread_create(&t, NULL, kicker, NULL);
	err = exos_sys_wait(kick_sys, t0 + 10000000000ull);
	t1 = exos_now_ns();
	pthread_join(t, NULL);
	if (err)
		die("wait (thread kick)", err);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	ualarm((useconds_t)opt.ms * 1000, 0);
	err = exos_sys_wait_poll(kick_sys, exos_now_ns() + 10000000000ull, NULL, 0);
	if (err && err != -EINTR)
		die("wait_poll (signal kick)", err);
	printf("kick thread_ms=%" PRIu64 " signal_ms=%" PRIu64 "\n", (t1 - t0) / 1000000,
	       (exos_now_ns() - t1) / 1000000);
	fflush(stdout);
	exos_sys_close(kick_sys);
	return 0;
}

/* ---- txlat ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmd_txlat(void)
{
	struct exos_sys *sys = open_sys(opt.socket);
	struct xok_iface_info ifc;
	struct exos_region *reg;
	struct exos_iov iov;
	uint64_t *lat;
	uint32_t *word;
	int i, n = 0, err;

	first_iface(sys, &ifc);
	bind_udp(sys, &ifc, opt.sport, 8);
	err = exos_region_create(sys, 65536, &reg);
	if (err)
		die("region", err);
	lat = calloc((size_t)opt.count, sizeof(*lat));
	if (!lat)
		die("calloc", -ENOMEM);
	word = reg->base;
	iov = (struct exos_iov){(uint8_t *)reg->base + 4096,
				build_udp((uint8_t *)reg->base + 4096, &ifc)};
	if (exos_sys_watch(sys, word, XOK_WK_EQ, 0) < 0)
		die("watch", -errno);
	printf("ready app=%u\n", exos_sys_app_id(sys));
	fflush(stdout);
	for (i = 0; i < opt.count; i++) {
		uint64_t t0, deadline;

		usleep((useconds_t)opt.ms * 1000);
		__atomic_store_n(word, 1, __ATOMIC_RELEASE);
		t0 = exos_now_ns();
		err = exos_xmit(sys, ifc.ifindex, &iov, 1, word);
		if (err)
			die("xmit", err);
		exos_xmit_flush(sys);
		deadline = t0 + 1000000000ull;
		while (__atomic_load_n(word, __ATOMIC_ACQUIRE) != 0) {
			err = exos_sys_wait(sys, deadline);
			if (err == -ETIMEDOUT)
				break;
			if (err && err != -EINTR)
				die("wait", err);
		}
		lat[n++] = (exos_now_ns() - t0) / 1000;
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
	printf("txlat n=%d p50_us=%" PRIu64 " p90_us=%" PRIu64 " p99_us=%" PRIu64 " max_us=%" PRIu64
	       "\n",
	       n, lat[n / 2], lat[n * 9 / 10], lat[n * 99 / 100], lat[n - 1]);
	fflush(stdout);
	free(lat);
	exos_sys_close(sys);
	return 0;
}

/* ---- table ---- */

static int cmd_table(void)
{
	struct exos_sys *sys = open_sys(opt.socket);
	const struct xok_arp_table *t;
	const void *base;
	uint64_t end;
	uint32_t v;
	size_t size;
	int err, h, i, e;

	err = exos_table_get(sys, XOK_TABLE_ARP, &base, &size);
	if (err)
		die("table get", err);
	t = base;
	v = xok_load_acquire(&t->version);
	printf("table size=%zu version=%u\n", size, v);
	fflush(stdout);
	end = exos_now_ns() + (uint64_t)opt.seconds * 1000000000ull;
	while (exos_now_ns() < end) {
		h = exos_sys_watch(sys, &t->version, XOK_WK_NE, v);
		if (h < 0)
			die("watch", h);
		err = exos_sys_wait(sys, end);
		exos_sys_unwatch(sys, h);
		if (err == -ETIMEDOUT)
			break;
		if (err && err != -EINTR)
			die("wait", err);
		if (xok_load_acquire(&t->version) == v)
			continue;
		v = xok_load_acquire(&t->version);
		for (i = 0, e = 0; i < XOK_ARP_ENTRIES; i++)
			e += t->e[i].state == XOK_ARP_VALID;
		printf("table version=%u entries=%d\n", v, e);
		fflush(stdout);
	}
	exos_sys_close(sys);
	return 0;
}

static const struct subcommand cmds[] = {
    {"flood", cmd_flood},   {"echo", cmd_echo},		{"spam", cmd_spam},
    {"txhold", cmd_txhold}, {"waitpoll", cmd_waitpoll}, {"kick", cmd_kick},
    {"txlat", cmd_txlat},   {"table", cmd_table},	{0},
};

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"socket", required_argument, NULL, 'S'},
	    {"dst-mac", required_argument, NULL, 'm'},
	    {"dst", required_argument, NULL, 'd'},
	    {"sport", required_argument, NULL, 'a'},
	    {"dport", required_argument, NULL, 'b'},
	    {"port", required_argument, NULL, 'p'},
	    {"size", required_argument, NULL, 'z'},
	    {"seconds", required_argument, NULL, 't'},
	    {"count", required_argument, NULL, 'n'},
	    {"ms", required_argument, NULL, 'M'},
	    {0},
	};
	const char *cmd;
	int c;

	cmd = subcommand_arg(argc, argv, "xok-load", cmds);
	if (!cmd)
		return 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'S':
			opt.socket = optarg;
			break;
		case 'm':
			if (parse_mac(optarg, opt.dst_mac))
				die("bad mac", -EINVAL);
			break;
		case 'd':
			opt.dst = parse_ip(optarg);
			break;
		case 'a':
			opt.sport = atoi(optarg);
			break;
		case 'b':
			opt.dport = atoi(optarg);
			break;
		case 'p':
			opt.port = atoi(optarg);
			break;
		case 'z':
			opt.size = (uint32_t)atoi(optarg);
			if (opt.size > 1514)
				die("size", -EINVAL);
			break;
		case 't':
			opt.seconds = atoi(optarg);
			break;
		case 'n':
			opt.count = atoi(optarg);
			break;
		case 'M':
			opt.ms = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run_subcommand("xok-load", cmds, cmd);
}
