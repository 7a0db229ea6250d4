/* txcheck.c - bench-xokd-txcheck: the CPU cost of checked transmission, in process */

/*
 *   bench-xokd-txcheck [--frames N] [--size B]
 *
 * Runs xokd's transmit path in this process (xokd_core with a fake interface: no BPF, no
 * sockets, no privileges) and times it per frame: an app's TXQ full of frames, drained
 * by tx_run (validate, gather into UMEM, check, queue) with completions reaped, checked
 * and --unchecked-tx, the app holding 1, 16 and 256 filters with the source port cycling
 * through them.  Also tx_check alone.  The difference
 * between checked and unchecked is what the check costs xokd per frame; tx.sh measures
 * the same on a real veth (frames per second and xokd's CPU time per frame).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kern.h"

#define IFINDEX 7
#define ME	0xc6120001u
#define NQ	1024
#define REGION	(4u << 20)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int call(struct xokd *x, struct app *a, uint16_t op, const void *body, size_t len, int fd,
		void *rep, size_t rep_len)
{
	static _Alignas(16) uint8_t buf[XOK_MSG_MAX], out[XOK_MSG_MAX];
	struct xok_msg h = {XOK_ABI_MAGIC, XOK_ABI_VERSION, op, 1, 0}, rh;
	int fds[1] = {fd}, rep_fd;

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), body, len);
	ctl_dispatch(x, a, buf, sizeof(h) + len, false, fds, fd >= 0, out, &rep_fd);
	memcpy(&rh, out, sizeof(rh));
	if (rep)
		memcpy(rep, out + sizeof(rh), rep_len);
	return rh.status;
}

struct setup {
	struct xokd x;
	struct app *a;
	uint8_t *base;
	struct xok_txq_hdr *hdr;
	uint32_t reg, ring, claims;
};

static void frame(uint8_t *f, const struct iface *ifc, uint16_t sport, uint32_t size)
{
	uint32_t src = htonl(ME), dst = htonl(ME + 1);

	memset(f, 0, size);
	f[0] = 2;
	f[5] = 1;
	memcpy(f + 6, ifc->mac, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[23] = 17;
	memcpy(f + 26, &src, 4);
	memcpy(f + 30, &dst, 4);
	f[34] = (uint8_t)(sport >> 8);
	f[35] = (uint8_t)sport;
	f[37] = 9;
}

static void setup(struct setup *s, bool unchecked, uint32_t claims, uint32_t size)
{
	struct xokd_cfg cfg = {0};
	struct xok_region_add ra = {.size = REGION};
	struct xok_region_add_reply rr;
	struct xok_ring_set rs = {0};
	struct xok_ring_set_reply rsr;
	struct xok_txq_set ts = {0};
	struct xok_tx_desc *q;
	uint32_t i;
	int fd;

	memset(s, 0, sizeof(*s));
	cfg.socket_path = "/nonexistent";
	cfg.unchecked_tx = unchecked;
	xlog_quiet = true;
	if (xokd_init(&s->x, &cfg) || iface_fake(&s->x, "bench0", IFINDEX, 1500))
		exit(1);
	s->x.no_bpf = true;
	s->x.ifaces[0].addr = htonl(ME);
	s->a = app_new(&s->x, -1, getpid(), 1000, 1000);
	fd = memfd_create("b", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, REGION) || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK))
		exit(1);
	s->base = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s->base == MAP_FAILED ||
	    call(&s->x, s->a, XOK_OP_REGION_ADD, &ra, sizeof(ra), fd, &rr, sizeof(rr)))
		exit(1);
	s->reg = rr.region;
	rs.at = (struct xok_ref){s->reg, 0, 0};
	rs.entry_size = 256;
	rs.nentries = 8;
	if (call(&s->x, s->a, XOK_OP_RING_SET, &rs, sizeof(rs), -1, &rsr, sizeof(rsr)))
		exit(1);
	for (i = 0; i < claims; i++) {
		struct xok_dpf_insert di;
		struct xok_dpf_insert_reply dr;

		memset(&di, 0, sizeof(di));
		di.ring = rsr.ring;
		dpf_filter_udp_port(&di.filter, ME, (uint16_t)(40000 + i));
		if (call(&s->x, s->a, XOK_OP_DPF_INSERT, &di, sizeof(di), -1, &dr, sizeof(dr)))
			exit(1);
	}
	s->claims = claims;
	ts.at = (struct xok_ref){s->reg, 0, 4096};
	ts.nentries = NQ;
	if (call(&s->x, s->a, XOK_OP_TXQ_SET, &ts, sizeof(ts), eventfd(0, EFD_CLOEXEC), NULL, 0))
		exit(1);
	s->hdr = (struct xok_txq_hdr *)(s->base + 4096);
	q = (struct xok_tx_desc *)(s->hdr + 1);
	for (i = 0; i < NQ; i++) { /* descriptor i sends from port 40000 + i % claims */
		uint64_t off = (2u << 20) + (uint64_t)(i % claims) * 2048;

		frame(s->base + off, &s->x.ifaces[0], (uint16_t)(40000 + i % claims), size);
		memset(&q[i], 0, sizeof(q[i]));
		q[i].ifindex = IFINDEX;
		q[i].npieces = 1;
		q[i].pieces[0] = (struct xok_piece){s->reg, size, off};
	}
}

/* ns per frame through tx_run for n frames */
static double run(struct setup *s, uint64_t n)
{
	uint64_t sent = 0, t0 = now_ns(), cons;

	while (sent < n) {
		cons = xok_load_acquire(&s->hdr->cons);
		xok_store_release(&s->hdr->prod, cons + NQ);
		tx_kick(&s->x, s->a);
		tx_run(&s->x);
		tx_complete(&s->x, s->x.ifaces[0].ports[0]);
		sent += xok_load_acquire(&s->hdr->cons) - cons;
	}
	if (s->a->tx_denied)
		fprintf(stderr, "bench-xokd-txcheck: %llu frames refused!\n",
			(unsigned long long)s->a->tx_denied);
	return (double)(now_ns() - t0) / (double)sent;
}

static double check_only(struct setup *s, uint64_t n, uint32_t size)
{
	uint8_t f[2048];
	uint64_t i, t0;
	int bad = 0;

	t0 = now_ns();
	for (i = 0; i < n; i++) {
		frame(f, &s->x.ifaces[0], (uint16_t)(40000 + i % s->claims), 42);
		bad |= tx_check(&s->x, s->a, &s->x.ifaces[0], f, size, false, 0);
	}
	if (bad)
		fprintf(stderr, "bench-xokd-txcheck: tx_check refused a frame!\n");
	return (double)(now_ns() - t0) / (double)n;
}

static void teardown(struct setup *s)
{
	app_free(&s->x, s->a);
	app_reap(&s->x);
	xokd_fini(&s->x);
	munmap(s->base, REGION);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"frames", required_argument, NULL, 'n'},
	    {"size", required_argument, NULL, 'z'},
	    {0},
	};
	static struct setup s;
	uint64_t n = 2000000;
	uint32_t size = 60, claims[] = {1, 16, 256}, k;
	double u, c, f0;
	int o;

	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (o == 'n')
			n = strtoull(optarg, NULL, 10);
		else if (o == 'z')
			size = (uint32_t)atoi(optarg);
		else
			return 2;
	}
	if (size < 42 || size > 1514 || n == 0)
		return 2;
	printf("xokd's transmit path in process (tx_run: validate, gather, check, queue, "
	       "complete), %u-byte frames, %llu frames per run:\n",
	       size, (unsigned long long)n);
	for (k = 0; k < sizeof(claims) / sizeof(claims[0]); k++) {
		setup(&s, true, claims[k], size);
		u = run(&s, n);
		teardown(&s);
		setup(&s, false, claims[k], size);
		c = run(&s, n);
		f0 = check_only(&s, n, size);
		teardown(&s);
		printf("  %3u filters: unchecked %6.1f ns/frame, checked %6.1f ns/frame "
		       "(+%.1f ns, %+.1f%%); tx_check alone %.1f ns\n",
		       claims[k], u, c, c - u, 100.0 * (c - u) / u, f0);
	}
	return 0;
}
