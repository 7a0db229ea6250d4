/* xok-testapp.c - a small xokd client for the netns integration tests (uses exos/sys.h) */

/*
 * Subcommands (all take --socket PATH; output is line-oriented "key=value" for the shell
 * tests to grep):
 *   recv  --port P [--count N] [--entry-size S] [--entries N] [--hold] [--poll]
 *         [--timeout-ms T] [--linger-ms T]  ring + UDP filter; print N frames (hex, hash,
 *                               ifindex, ns); linger keeps the ring a while afterwards
 *   send  --ifindex I --dst-mac M --src A --dst A --sport P --dport P --payload S
 *         [--no-claim] 3-piece gather transmit (Ethernet | IP+UDP | payload) after
 *         installing a UDP filter for the source port (checked transmission: the app
 *         speaks as itself; --no-claim skips it); waits for the notification
 *   badsend                     transmissions from memory the app did not register
 *   wait  --port P              sleep on the predicate until a frame arrives
 *   pred-timeout --ms T         raw predicate whose xokd-side timeout must wake us
 *   filter --port P [--hold] [--sport-filter]  insert a UDP filter (destination port, or
 *                               source port), print filter= or filter_error=
 *   hold  [--rings N] [--port P] regions, rings, filters, txq; then sleep until killed
 *   fuzz  [--iterations N] [--seed S]  garbage and mutated control messages
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <exos/sys.h>
#include <xok/dpf.h>

#include "sys_internal.h" /* tests only: raw calls and the TXQ, to craft bad requests */

#include "op_sizes.h"
#include "udp_frame.h"
#include "xok_client.h"

static struct {
	const char *socket;
	int port;
	int count;
	uint32_t entry_size;
	uint32_t entries;
	bool hold;
	bool poll;
	int timeout_ms;
	uint32_t ifindex;
	uint8_t dst_mac[6];
	uint32_t src, dst;
	int sport, dport;
	const char *payload;
	int rings;
	int iterations;
	unsigned int seed;
	int ms;
	bool sport_filter;
	int linger_ms;
	bool no_claim;
} opt = {.count = 1,
	 .entry_size = 2048,
	 .entries = 64,
	 .timeout_ms = 10000,
	 .rings = 1,
	 .iterations = 20000,
	 .seed = 1,
	 .ms = 200};

static uint64_t now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	while (n--) {
		h ^= *p++;
		h *= 1099511628211ull;
	}
	return h;
}

static uint32_t iface_addr(struct exos_sys *sys, uint32_t *ifindex)
{
	struct xok_iface_info ifc;

	first_iface(sys, &ifc);
	if (ifindex)
		*ifindex = ifc.ifindex;
	return ntohl(ifc.addr);
}

static int udp_filter(struct exos_sys *sys, struct exos_ring *ring, int port,
		      struct exos_filter_id *id)
{
	struct dpf_filter f;

	if (opt.sport_filter) { /* overlaps a destination-port filter ambiguously */
		dpf_filter_init(&f);
		dpf_match_ipv4(&f);
		dpf_match_ipv4_proto(&f, 17);
		dpf_match_l4_sport(&f, (uint16_t)port);
	} else {
		dpf_filter_udp_port(&f, iface_addr(sys, NULL), (uint16_t)port);
	}
	return exos_filter_insert(sys, ring, 0, 0, &f, id);
}

static void print_frame(const struct xok_ring_entry *e)
{
	uint32_t i;

	printf("frame len=%u caplen=%u flags=%u ifindex=%u filter=%u rx_ns=%" PRIu64
	       " now_ns=%" PRIu64 " hash=%016" PRIx64 " hex=",
	       e->owner, e->caplen, e->flags, e->ifindex, e->filter_id, e->rx_ns, now_real(),
	       fnv1a(e->data, e->caplen));
	for (i = 0; i < e->caplen; i++)
		printf("%02x", e->data[i]);
	printf("\n");
	fflush(stdout);
}

/* ---- recv / wait ---- */

static int cmd_recv(bool sleep_first)
{
	struct exos_sys *sys = open_sys(opt.socket);
	struct exos_filter_id id;
	struct exos_ring *ring;
	uint64_t deadline;
	int err, got = 0;

	err = exos_ring_create(sys, opt.entry_size, opt.entries, &ring);
	if (err)
		die("ring", err);
	err = udp_filter(sys, ring, opt.port, &id);
	if (err)
		die("filter", err);
	printf("ready filter=%u ring=%u app=%u\n", id.id, ring->id, exos_sys_app_id(sys));
	fflush(stdout);
	deadline = exos_now_ns() + (uint64_t)opt.timeout_ms * 1000000ull;
	if (opt.hold) {
		/* never return entries: the ring fills and xokd must drop and count */
		while (exos_now_ns() < deadline)
			usleep(10000);
		printf("held\n");
		fflush(stdout);
		exos_sys_close(sys);
		return 0;
	}
	while (got < opt.count) {
		struct xok_ring_entry *e = exos_ring_peek(ring);

		if (!e) {
			uint64_t t0 = exos_now_ns();

			if (opt.poll) {
				if (t0 >= deadline)
					die("timeout", -ETIMEDOUT);
				continue;
			}
			if (sleep_first) {
				printf("sleeping\n");
				fflush(stdout);
			}
			err = exos_sys_wait(sys, deadline);
			if (err == -ETIMEDOUT)
				die("timeout", err);
			if (err && err != -EINTR)
				die("wait", err);
			if (sleep_first)
				printf("woke after_us=%" PRIu64 "\n", (exos_now_ns() - t0) / 1000);
			continue;
		}
		print_frame(e);
		exos_ring_release(ring);
		got++;
	}
	printf("done frames=%d\n", got);
	fflush(stdout);
	if (opt.linger_ms) /* keep the ring, so that its counters can be read */
		usleep((useconds_t)opt.linger_ms * 1000);
	exos_sys_close(sys);
	return 0;
}

/* ---- send: a 3-piece gather frame ---- */

static int cmd_send(void)
{
	struct exos_sys *sys = open_sys(opt.socket);
	struct xok_info_reply info;
	struct exos_region *reg;
	struct exos_iov iov[3];
	uint8_t *eth, *ipu, *pay;
	uint32_t *notify;
	size_t plen = strlen(opt.payload);
	uint64_t deadline;
	int err, h;

	err = exos_sys_info(sys, &info);
	if (err)
		die("info", err);
	if (!opt.ifindex)
		opt.ifindex = info.ifaces[0].ifindex;
	if (!opt.src)
		opt.src = ntohl(info.ifaces[0].addr);
	if (!opt.no_claim) { /* bind the source port: replies to it would reach us */
		struct exos_filter_id id;
		struct exos_ring *ring;
		struct dpf_filter f;

		err = exos_ring_create(sys, 2048, 8, &ring);
		if (err)
			die("ring", err);
		dpf_filter_udp_port(&f, ntohl(info.ifaces[0].addr), (uint16_t)opt.sport);
		err = exos_filter_insert(sys, ring, 0, 0, &f, &id);
		if (err)
			die("claim filter", err);
	}
	err = exos_region_create(sys, 65536, &reg);
	if (err)
		die("region", err);
	/* three pieces in three separate places of the region, plus the notification word */
	eth = (uint8_t *)reg->base + 256;
	ipu = (uint8_t *)reg->base + 4096;
	pay = (uint8_t *)reg->base + 8192;
	notify = (uint32_t *)((uint8_t *)reg->base + 64);

	memcpy(eth, opt.dst_mac, 6);
	memcpy(eth + 6, info.ifaces[0].mac, 6);
	eth[12] = 0x08;
	eth[13] = 0x00;
	memset(ipu, 0, 28);
	ipu[0] = 0x45;
	ipu[2] = (uint8_t)((20 + 8 + plen) >> 8);
	ipu[3] = (uint8_t)(20 + 8 + plen);
	ipu[6] = 0x40; /* DF */
	ipu[8] = 64;
	ipu[9] = 17;
	*(uint32_t *)(ipu + 12) = htonl(opt.src);
	*(uint32_t *)(ipu + 16) = htonl(opt.dst);
	*(uint16_t *)(ipu + 10) = htons(ip_csum(ipu, 20));
	*(uint16_t *)(ipu + 20) = htons((uint16_t)opt.sport);
	*(uint16_t *)(ipu + 22) = htons((uint16_t)opt.dport);
	*(uint16_t *)(ipu + 24) = htons((uint16_t)(8 + plen));
	/* UDP checksum 0: none (allowed over IPv4) */
	memcpy(pay, opt.payload, plen);

	iov[0] = (struct exos_iov){eth, 14};
	iov[1] = (struct exos_iov){ipu, 28};
	iov[2] = (struct exos_iov){pay, (uint32_t)plen};
	*notify = 1;
	err = exos_xmit(sys, opt.ifindex, iov, 3, notify);
	if (err)
		die("xmit", err);
	h = exos_sys_watch(sys, notify, XOK_WK_EQ, 0);
	if (h < 0)
		die("watch", h);
	deadline = exos_now_ns() + (uint64_t)opt.timeout_ms * 1000000ull;
	while (__atomic_load_n(notify, __ATOMIC_ACQUIRE) != 0) {
		err = exos_sys_wait(sys, deadline);
		if (err == -ETIMEDOUT)
			die("notify timeout", err);
	}
	printf("sent len=%zu notify=%u status=%u\n", 14 + 28 + plen, *notify, sys->txd[0].status);
	fflush(stdout);
	exos_sys_close(sys);
	return 0;
}

/* ---- badsend: transmit from memory the app did not register ---- */

static int raw_xmit(struct exos_sys *sys, const struct xok_tx_desc *d)
{
	return sys_call(sys, XOK_OP_NET_XMIT, d, sizeof(*d), -1, NULL, 0, NULL);
}

static int cmd_badsend(void)
{
	struct exos_sys *sys = open_sys(opt.socket);
	struct exos_region *reg;
	struct xok_tx_desc d;
	uint32_t ifindex, *notify, prod;
	int err, fails = 0;
	uint64_t deadline;

	iface_addr(sys, &ifindex);
	err = exos_region_create(sys, 4096, &reg);
	if (err)
		die("region", err);
	notify = reg->base;

	/* 1: a region id that is not ours */
	memset(&d, 0, sizeof(d));
	d.ifindex = ifindex;
	d.npieces = 1;
	d.pieces[0] = (struct xok_piece){.region = 60, .len = 60, .offset = 0};
	err = raw_xmit(sys, &d);
	printf("case=foreign_region err=%d\n", err);
	fails += err == -EFAULT;
	/* 2: our region, but past its end */
	d.pieces[0] = (struct xok_piece){.region = reg->id, .len = 60, .offset = 4090};
	err = raw_xmit(sys, &d);
	printf("case=past_end err=%d\n", err);
	fails += err == -EFAULT;
	/* 3: offset + len overflowing 64 bits */
	d.pieces[0] = (struct xok_piece){.region = reg->id, .len = 60, .offset = UINT64_MAX - 10};
	err = raw_xmit(sys, &d);
	printf("case=overflow err=%d\n", err);
	fails += err == -EFAULT;
	/* 4: the region of another connection of the same process: ids are per connection */
	{
		struct exos_sys *other = open_sys(opt.socket);
		struct exos_region *oreg;
		int k;

		/* give the other app more regions than we have: its last id is not ours */
		for (k = 0; k < 3; k++) {
			err = exos_region_create(other, 65536, &oreg);
			if (err)
				die("region2", err);
		}
		d.pieces[0] = (struct xok_piece){.region = oreg->id, .len = 60};
		err = raw_xmit(sys, &d);
		printf("case=other_app_region err=%d\n", err);
		fails += err == -EFAULT;
		exos_sys_close(other);
	}
	/* 5: the same through the fast path: xokd sets the status and still notifies */
	*notify = 1;
	prod = sys->txq_prod;
	memset(&sys->txd[prod & (SYS_TXQ_ENTRIES - 1)], 0, sizeof(d));
	sys->txd[prod & (SYS_TXQ_ENTRIES - 1)].ifindex = ifindex;
	sys->txd[prod & (SYS_TXQ_ENTRIES - 1)].npieces = 1;
	sys->txd[prod & (SYS_TXQ_ENTRIES - 1)].pieces[0] =
	    (struct xok_piece){.region = 61, .len = 60};
	sys->txd[prod & (SYS_TXQ_ENTRIES - 1)].notify =
	    (struct xok_ref){.region = reg->id, .offset = 0};
	xok_store_release(&sys->txq->prod, ++sys->txq_prod);
	exos_xmit_flush(sys);
	exos_sys_watch(sys, notify, XOK_WK_EQ, 0);
	deadline = exos_now_ns() + 5000000000ull;
	while (__atomic_load_n(notify, __ATOMIC_ACQUIRE) != 0)
		if (exos_sys_wait(sys, deadline) == -ETIMEDOUT)
			break;
	printf("case=txq_foreign_region status=%u notify=%u\n",
	       sys->txd[prod & (SYS_TXQ_ENTRIES - 1)].status, *notify);
	fails += sys->txd[prod & (SYS_TXQ_ENTRIES - 1)].status == EFAULT && *notify == 0;
	printf("badsend rejected=%d of 5\n", fails);
	fflush(stdout);
	exos_sys_close(sys);
	return fails == 5 ? 0 : 1;
}

/* ---- pred-timeout: xokd's timeout wakes a sleeper whose predicate stays false ---- */

static int cmd_pred_timeout(void)
{
	struct exos_sys *sys = open_sys(opt.socket);
	struct xok_wkpred p;
	struct exos_region *reg;
	uint64_t t0, deadline;
	uint32_t seq;
	int err;

	err = exos_region_create(sys, 4096, &reg);
	if (err)
		die("region", err);
	memset(&p, 0, sizeof(p));
	p.wake = (struct xok_ref){.region = sys->ctl->id, .offset = 0};
	p.nterms = 1;
	p.terms[0].lhs = (struct xok_ref){.region = reg->id, .offset = 0};
	p.terms[0].op = XOK_WK_NE; /* word != 0: never true, nobody writes it */
	t0 = exos_now_ns();
	deadline = t0 + (uint64_t)opt.ms * 1000000ull;
	p.timeout_ns = deadline;
	err = sys_call(sys, XOK_OP_WKPRED, &p, sizeof(p), -1, NULL, 0, NULL);
	if (err)
		die("wkpred", err);
	seq = __atomic_load_n(&sys->wake->seq, __ATOMIC_ACQUIRE);
	__atomic_store_n(&sys->wake->sleeping, 1, __ATOMIC_SEQ_CST);
	/* no futex timeout: only xokd can end this sleep (backstop: 10 s) */
	{
		struct timespec ts = {10, 0};

		syscall(SYS_futex, &sys->wake->seq, FUTEX_WAIT, seq, &ts, NULL, 0);
	}
	printf("pred-timeout woke_after_ms=%" PRIu64 " seq=%u sleeping=%u\n",
	       (exos_now_ns() - t0) / 1000000, sys->wake->seq, sys->wake->sleeping);
	fflush(stdout);
	exos_sys_close(sys);
	return 0;
}

/* ---- filter / hold ---- */

static void sleep_forever(void)
{
	for (;;)
		pause();
}

static int cmd_filter(void)
{
	struct exos_sys *sys = open_sys(opt.socket);
	struct exos_filter_id id;
	struct exos_ring *ring;
	int err;

	err = exos_ring_create(sys, 2048, 16, &ring);
	if (err)
		die("ring", err);
	err = udp_filter(sys, ring, opt.port, &id);
	if (err)
		printf("filter_error=%d conflict=%u\n", err, id.parent);
	else
		printf("filter=%u parent=%u\n", id.id, id.parent);
	fflush(stdout);
	if (opt.hold)
		sleep_forever();
	exos_sys_close(sys);
	return err ? 1 : 0;
}

static int cmd_hold(void)
{
	struct exos_sys *sys = open_sys(opt.socket);
	struct exos_filter_id id;
	struct exos_region *extra;
	struct exos_ring *ring;
	int i, err;

	for (i = 0; i < opt.rings; i++) {
		err = exos_ring_create(sys, 2048, 32, &ring);
		if (err)
			die("ring", err);
		if (opt.port) {
			err = udp_filter(sys, ring, opt.port + i, &id);
			if (err)
				die("filter", err);
		}
	}
	err = exos_region_create(sys, 1 << 20, &extra);
	if (err)
		die("region", err);
	memset(extra->base, 0xab, extra->size);
	if (!sys->pred_dirty || sys_pred_install(sys) == 0)
		printf("holding\n");
	fflush(stdout);
	sleep_forever();
	return 0;
}

/* ---- fuzz: random and malformed control traffic ---- */

static int fuzz_connect(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *path = opt.socket ? opt.socket : getenv(XOK_SOCKET_ENV);
	int fd;

	if (!path)
		path = XOK_SOCKET_DEFAULT;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		die("fuzz connect", -errno);
	return fd;
}

static int fuzz_fd(unsigned int *seed)
{
	int fd, p[2];

	switch (rand_r(seed) % 8) {
	case 0:
		return eventfd(0, EFD_CLOEXEC);
	case 1:
		if (pipe2(p, O_CLOEXEC) < 0)
			return -1;
		close(p[1]);
		return p[0];
	case 2:
		return open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	case 3: /* unsealed memfd */
		fd = memfd_create("fz", MFD_CLOEXEC);
		if (fd >= 0 && ftruncate(fd, 65536) < 0) {
			close(fd);
			return -1;
		}
		return fd;
	case 4: /* sealed but tiny */
		fd = memfd_create("fz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd >= 0 &&
		    (ftruncate(fd, 100) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)) {
			close(fd);
			return -1;
		}
		return fd;
	case 5: /* a good one */
		fd = memfd_create("fz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd >= 0 &&
		    (ftruncate(fd, 65536) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)) {
			close(fd);
			return -1;
		}
		return fd;
	case 6:
		return socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	default:
		return open("/dev/null", O_RDWR | O_CLOEXEC);
	}
}

/* A plausible request for op, then a few random mutations. */
static size_t fuzz_msg(unsigned int *seed, uint8_t *buf, size_t cap)
{
	struct xok_msg h = {XOK_ABI_MAGIC, XOK_ABI_VERSION, 0, 0, 0};
	size_t len, i, nmut;
	int mode = rand_r(seed) % 10;

	if (mode == 0) { /* pure garbage of random length */
		len = (size_t)rand_r(seed) % cap;
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)rand_r(seed);
		return len;
	}
	h.op = (uint16_t)(rand_r(seed) % (XOK_OP_NR + 2));
	h.seq = (uint32_t)rand_r(seed);
	len = sizeof(h) + (h.op < XOK_OP_NR ? op_body_size(h.op) : (size_t)rand_r(seed) % 64);
	memset(buf, 0, len);
	memcpy(buf, &h, sizeof(h));
	/* small plausible values: ids 0..3, offsets page-ish, sizes 4096-ish */
	for (i = sizeof(h); i + 4 <= len; i += 4) {
		uint32_t v;

		switch (rand_r(seed) % 6) {
		case 0:
			v = (uint32_t)rand_r(seed) % 4;
			break;
		case 1:
			v = 4096u << (rand_r(seed) % 4);
			break;
		case 2:
			v = (uint32_t)rand_r(seed);
			break;
		case 3:
			v = 0xffffffffu;
			break;
		default:
			v = 0;
		}
		memcpy(buf + i, &v, 4);
	}
	nmut = mode == 1 ? 0 : (size_t)rand_r(seed) % 4;
	for (i = 0; i < nmut && len; i++)
		buf[(size_t)rand_r(seed) % len] = (uint8_t)rand_r(seed);
	if (mode == 2 && len > 1) /* truncated */
		len = (size_t)rand_r(seed) % len;
	if (mode == 3) /* oversized */
		len = cap;
	return len;
}

static int cmd_fuzz(void)
{
	static uint8_t buf[XOK_MSG_MAX + 512], rep[XOK_MSG_MAX + 512];
	unsigned int seed = opt.seed;
	int fd = fuzz_connect(), it, reconnects = 0, replies = 0;

	signal(SIGPIPE, SIG_IGN);
	for (it = 0; it < opt.iterations; it++) {
		union {
			char b[CMSG_SPACE(sizeof(int) * 3)];
			struct cmsghdr al;
		} cm;
		size_t len = fuzz_msg(&seed, buf, sizeof(buf));
		struct iovec iov = {buf, len};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		int nfds = rand_r(&seed) % 4 == 0 ? 1 + rand_r(&seed) % 3 : 0, fds[3], i;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};

		if (nfds) {
			struct cmsghdr *c;

			for (i = 0; i < nfds; i++)
				fds[i] = fuzz_fd(&seed);
			for (i = 0; i < nfds; i++)
				if (fds[i] < 0)
					fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
			memset(&cm, 0, sizeof(cm));
			mh.msg_control = cm.b;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
		}
		if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 || len == 0) {
			/* a zero-length datagram reads as end of stream: xokd hangs up */
			close(fd);
			fd = fuzz_connect();
			reconnects++;
		} else if (poll(&pfd, 1, 2000) > 0) {
			ssize_t n = recv(fd, rep, sizeof(rep), MSG_DONTWAIT);

			if (n > 0) {
				/* a reply may carry a table fd: drop it with the message */
				replies++;
			} else {
				close(fd);
				fd = fuzz_connect();
				reconnects++;
			}
		} else {
			die("fuzz: no reply within 2 s", -ETIMEDOUT);
		}
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		if (rand_r(&seed) % 500 == 0) { /* sometimes vanish mid-conversation */
			close(fd);
			fd = fuzz_connect();
			reconnects++;
		}
	}
	close(fd);
	printf("fuzz iterations=%d replies=%d reconnects=%d\n", opt.iterations, replies,
	       reconnects);
	/* xokd must still answer properly */
	{
		struct exos_sys *sys = open_sys(opt.socket);

		printf("fuzz alive app=%u\n", exos_sys_app_id(sys));
		exos_sys_close(sys);
	}
	fflush(stdout);
	return 0;
}

static int cmd_recv_frames(void)
{
	return cmd_recv(false);
}

static int cmd_wait(void)
{
	return cmd_recv(true);
}

static const struct subcommand cmds[] = {
    {"recv", cmd_recv_frames},
    {"send", cmd_send},
    {"badsend", cmd_badsend},
    {"wait", cmd_wait},
    {"pred-timeout", cmd_pred_timeout},
    {"filter", cmd_filter},
    {"hold", cmd_hold},
    {"fuzz", cmd_fuzz},
    {0},
};

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"socket", required_argument, NULL, 'S'},
	    {"port", required_argument, NULL, 'p'},
	    {"count", required_argument, NULL, 'n'},
	    {"entry-size", required_argument, NULL, 'e'},
	    {"entries", required_argument, NULL, 'E'},
	    {"hold", no_argument, NULL, 'H'},
	    {"poll", no_argument, NULL, 'P'},
	    {"timeout-ms", required_argument, NULL, 't'},
	    {"ifindex", required_argument, NULL, 'i'},
	    {"dst-mac", required_argument, NULL, 'm'},
	    {"src", required_argument, NULL, 's'},
	    {"dst", required_argument, NULL, 'd'},
	    {"sport", required_argument, NULL, 'a'},
	    {"dport", required_argument, NULL, 'b'},
	    {"payload", required_argument, NULL, 'y'},
	    {"rings", required_argument, NULL, 'r'},
	    {"iterations", required_argument, NULL, 'I'},
	    {"seed", required_argument, NULL, 'z'},
	    {"ms", required_argument, NULL, 'M'},
	    {"sport-filter", no_argument, NULL, 'F'},
	    {"linger-ms", required_argument, NULL, 'L'},
	    {"no-claim", no_argument, NULL, 'C'},
	    {0},
	};
	const char *cmd;
	int c;

	cmd = subcommand_arg(argc, argv, "xok-testapp", cmds);
	if (!cmd)
		return 2;
	opt.payload = "hello from xok";
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'S':
			opt.socket = optarg;
			break;
		case 'p':
			opt.port = atoi(optarg);
			break;
		case 'n':
			opt.count = atoi(optarg);
			break;
		case 'e':
			opt.entry_size = (uint32_t)atoi(optarg);
			break;
		case 'E':
			opt.entries = (uint32_t)atoi(optarg);
			break;
		case 'H':
			opt.hold = true;
			break;
		case 'P':
			opt.poll = true;
			break;
		case 't':
			opt.timeout_ms = atoi(optarg);
			break;
		case 'i':
			opt.ifindex = (uint32_t)atoi(optarg);
			break;
		case 'm':
			if (parse_mac(optarg, opt.dst_mac))
				die("bad mac", -EINVAL);
			break;
		case 's':
			opt.src = parse_ip(optarg);
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
		case 'y':
			opt.payload = optarg;
			break;
		case 'r':
			opt.rings = atoi(optarg);
			break;
		case 'I':
			opt.iterations = atoi(optarg);
			break;
		case 'z':
			opt.seed = (unsigned int)atoi(optarg);
			break;
		case 'M':
			opt.ms = atoi(optarg);
			break;
		case 'F':
			opt.sport_filter = true;
			break;
		case 'L':
			opt.linger_ms = atoi(optarg);
			break;
		case 'C':
			opt.no_claim = true;
			break;
		default:
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run_subcommand("xok-testapp", cmds, cmd);
}
