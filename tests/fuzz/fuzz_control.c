/* fuzz_control.c - libFuzzer harness: xokd's control operations, shared memory and paths
 *
 * xokd runs in process (one fake interface, no BPF, no sockets), with four app slots.  An
 * input is a sequence of records; each starts with a kind byte and an app byte:
 *   0 request   op (2 bytes), an fd kind (1: none, good memfd, unsealed memfd, eventfd,
 *               pipe, short memfd), a length byte, then that many body bytes handed to
 *               ctl_dispatch (zero-padded to the op's size half the time, so that bodies
 *               of the right length are common)
 *   1 scribble  region slot, 2-byte offset, length byte, bytes: the app writing into a
 *               region it shares with xokd (TXQ descriptors and indices, ring owner
 *               words, predicate words, wake words) -- xokd must not trust any of it
 *   2 frame     length byte, bytes, a 4-byte filter id: a received frame with that
 *               classification (rx_deliver, or impair_rx when impairment is on)
 *   3 run       the loop's deferred work: kick the app's TXQ, tx_run, completions,
 *               impairment, predicates, filter tree
 *   4 setup     a valid region + ring + UDP filter + TXQ + predicate for the app (so that
 *               mutations start from a working state)
 *   5 bye       the app disconnects (everything reclaimed); a new one takes the slot
 *   6 knobs     a byte: checked/unchecked transmit, impairment on/off, request rate,
 *               the in-flight limit
 * After each input every app disconnects and xokd must be back to nothing: no apps,
 * filters, rings or region references, every fd it took closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kern.h"
#include "fuzz_input.h"
#include "op_sizes.h"

#define NAPPS	 4
#define NREGS	 8
#define IFINDEX	 7
#define REG_SIZE 65536

struct fapp {
	struct app *a;
	struct {
		uint32_t id;
		uint8_t *base; /* the harness's own mapping */
		size_t size;
	} regs[NREGS];
};

static struct xokd X;
static struct fapp apps[NAPPS];

static uint16_t take16(struct input *in)
{
	return (uint16_t)(take8(in) | take8(in) << 8);
}

static uint32_t take32(struct input *in)
{
	return (uint32_t)take16(in) | (uint32_t)take16(in) << 16;
}

static int memfd(size_t size, bool seal)
{
	int fd = memfd_create("fz", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		abort();
	if (ftruncate(fd, (off_t)size) < 0)
		abort();
	if (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		abort();
	return fd;
}

static struct app *app_slot(uint8_t b)
{
	struct fapp *f = &apps[b % NAPPS];

	if (!f->a) {
		f->a = app_new(&X, -1, getpid(), (b % NAPPS) == 0 ? 0 : 1000 + b % NAPPS,
			       (b % NAPPS) == 0 ? 0 : 1000);
		memset(f->regs, 0, sizeof(f->regs));
	}
	return f->a;
}

static void app_bye(uint8_t b)
{
	struct fapp *f = &apps[b % NAPPS];
	int i;

	if (!f->a)
		return;
	app_free(&X, f->a);
	app_reap(&X);
	for (i = 0; i < NREGS; i++)
		if (f->regs[i].base)
			munmap(f->regs[i].base, f->regs[i].size);
	memset(f, 0, sizeof(*f));
}

/* Remembers a region xokd accepted, with a mapping of our own to scribble on. */
static void note_region(struct fapp *f, uint32_t id, int fd, size_t size)
{
	void *p;
	int i;

	for (i = 0; i < NREGS; i++)
		if (!f->regs[i].base)
			break;
	if (i == NREGS)
		return;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return;
	f->regs[i].id = id;
	f->regs[i].base = p;
	f->regs[i].size = size;
}

static size_t dispatch(struct app *a, uint16_t op, const void *body, size_t len, int fd, void *rep)
{
	static _Alignas(16) uint8_t buf[XOK_MSG_MAX];
	struct xok_msg h = {XOK_ABI_MAGIC, XOK_ABI_VERSION, op, 1, 0};
	int fds[1] = {fd}, rep_fd;

	if (len > sizeof(buf) - sizeof(h))
		len = sizeof(buf) - sizeof(h);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), body, len);
	return ctl_dispatch(&X, a, buf, sizeof(h) + len, false, fds, fd >= 0 ? 1 : 0, rep, &rep_fd);
}

static int status_of(const uint8_t *rep)
{
	struct xok_msg rh;

	memcpy(&rh, rep, sizeof(rh));
	return rh.status;
}

static void rec_request(struct input *in, uint8_t ab)
{
	static _Alignas(16) uint8_t body[XOK_MSG_MAX], rep[XOK_MSG_MAX];
	struct fapp *f = &apps[ab % NAPPS];
	struct app *a = app_slot(ab);
	uint16_t op = take16(in);
	uint8_t fdk = take8(in), len = take8(in), i;
	size_t blen;
	int fd = -1, keep = -1;
	uint64_t size = 0;

	memset(body, 0, sizeof(body));
	for (i = 0; i < len; i++)
		body[i] = take8(in);
	blen = len;
	if (fdk & 0x80) { /* the op's exact size: most bodies then get past framing */
		op %= XOK_OP_NR + 1;
		blen = op < XOK_OP_NR ? op_body_size(op) : len;
	}
	if (op == XOK_OP_REGION_ADD && blen >= sizeof(struct xok_region_add))
		memcpy(&size, body, sizeof(size));
	switch (fdk & 7) {
	case 1: /* a good memfd of the declared size (bounded) */
		if (size == 0 || size > (1 << 20))
			size = 4096;
		fd = memfd((size_t)size, true);
		keep = dup(fd); /* our own handle, to map what xokd accepted */
		break;
	case 2:
		fd = memfd(4096, false);
		break;
	case 3:
		fd = eventfd(0, EFD_CLOEXEC);
		break;
	case 4: {
		int p[2];

		if (pipe(p) == 0) {
			close(p[1]);
			fd = p[0];
		}
		break;
	}
	case 5:
		fd = memfd(100, true); /* shorter than any region */
		break;
	}
	dispatch(a, op, body, blen, fd, rep);
	/* an fd xokd was given is closed, unless it is the eventfd of a TXQ it set up */
	if (fd >= 0 && (fdk & 7) != 3 && fcntl(fd, F_GETFD) >= 0)
		abort();
	if (keep >= 0) {
		if (op == XOK_OP_REGION_ADD && status_of(rep) == 0) {
			struct xok_region_add_reply r;

			memcpy(&r, rep + sizeof(struct xok_msg), sizeof(r));
			note_region(f, r.region, keep, (size_t)size);
		}
		close(keep);
	}
}

static void rec_scribble(struct input *in, uint8_t ab)
{
	struct fapp *f = &apps[ab % NAPPS];
	uint8_t slot = take8(in) % NREGS, len = take8(in), i;
	uint16_t off = take16(in);

	if (!f->a || !f->regs[slot].base)
		return;
	for (i = 0; i < len; i++) {
		uint8_t v = take8(in);

		if ((size_t)off + i < f->regs[slot].size)
			__atomic_store_n(&f->regs[slot].base[off + i], v, __ATOMIC_RELAXED);
	}
}

static void rec_frame(struct input *in)
{
	static uint8_t frame[2048];
	struct dpf_xdp_meta m = {.magic = DPF_META_MAGIC};
	uint8_t len = take8(in), i;
	uint32_t n = 14u + len;

	memset(frame, 0, sizeof(frame));
	for (i = 0; i < len; i++)
		frame[14 + i] = take8(in);
	frame[12] = 0x08;
	m.filter_id = take32(in) % (X.next_filter_id + 1);
	m.copy_mask = take8(in);
	if (impair_on(&X))
		impair_rx(&X, &X.ifaces[0], frame, n, &m, 1);
	else
		rx_deliver(&X, &X.ifaces[0], frame, n, &m, 1);
}

static void rec_run(uint8_t ab)
{
	struct app *a = apps[ab % NAPPS].a;

	if (a)
		tx_kick(&X, a);
	tx_run(&X);
	tx_complete(&X, X.ifaces[0].ports[0]);
	impair_run(&X);
	wk_run(&X);
	filter_sync(&X);
	filter_tree(&X);
}

/* A working setup to mutate from: region, ring, UDP filter, TXQ, predicate. */
static void rec_setup(uint8_t ab, uint8_t port)
{
	static _Alignas(16) uint8_t rep[XOK_MSG_MAX];
	struct fapp *f = &apps[ab % NAPPS];
	struct app *a = app_slot(ab);
	struct xok_region_add ra = {.size = REG_SIZE};
	struct xok_region_add_reply rr;
	struct xok_ring_set rs = {0};
	struct xok_ring_set_reply rsr;
	struct xok_dpf_insert di;
	struct xok_txq_set ts = {0};
	struct xok_wkpred wp;
	int fd = memfd(REG_SIZE, true), keep = dup(fd);

	dispatch(a, XOK_OP_REGION_ADD, &ra, sizeof(ra), fd, rep);
	if (status_of(rep)) {
		close(keep);
		return;
	}
	memcpy(&rr, rep + sizeof(struct xok_msg), sizeof(rr));
	note_region(f, rr.region, keep, REG_SIZE);
	close(keep);
	rs.at = (struct xok_ref){rr.region, 0, 0};
	rs.entry_size = 256;
	rs.nentries = 64;
	dispatch(a, XOK_OP_RING_SET, &rs, sizeof(rs), -1, rep);
	memcpy(&rsr, rep + sizeof(struct xok_msg), sizeof(rsr));
	memset(&di, 0, sizeof(di));
	di.ring = rsr.ring;
	dpf_filter_udp_port(&di.filter, 0xc6120001u, (uint16_t)(7000 + port));
	dispatch(a, XOK_OP_DPF_INSERT, &di, sizeof(di), -1, rep);
	ts.at = (struct xok_ref){rr.region, 0, 32768};
	ts.nentries = 64;
	dispatch(a, XOK_OP_TXQ_SET, &ts, sizeof(ts), eventfd(0, EFD_CLOEXEC), rep);
	memset(&wp, 0, sizeof(wp));
	wp.wake = (struct xok_ref){rr.region, 0, 24576};
	wp.nterms = 1;
	wp.terms[0].lhs = (struct xok_ref){rr.region, 0, 0};
	wp.terms[0].op = XOK_WK_NE;
	wp.terms[0].rhs_region = rr.region;
	wp.terms[0].rhs = 64;
	dispatch(a, XOK_OP_WKPRED, &wp, sizeof(wp), -1, rep);
}

static void rec_knobs(uint8_t k)
{
	X.cfg.unchecked_tx = k & 1;
	X.cfg.impair.on = (k & 2) != 0;
	X.cfg.impair.drop = (k & 4) ? 200000 : 0;
	X.cfg.impair.dup = (k & 8) ? 200000 : 0;
	X.cfg.impair.reorder = (k & 16) ? 300000 : 0;
	X.cfg.impair.gap = 2;
	X.cfg.limits.rps = (k & 32) ? 1000 : 0;
	X.cfg.limits.txq = (k & 64) ? 4 : XOK_APP_TX_INFLIGHT_MAX;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct xokd_cfg cfg = {0};

	(void)argc;
	(void)argv;
	cfg.socket_path = "/nonexistent";
	xlog_quiet = true;
	if (xokd_init(&X, &cfg))
		abort();
	X.no_bpf = true;
	if (iface_fake(&X, "fz0", IFINDEX, 1500))
		abort();
	X.ifaces[0].addr = 0x010012c6; /* 198.18.0.1, network order */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	int guard = 0, i;

	rec_knobs(0);
	while (in.n && guard++ < 256) {
		uint8_t kind = take8(&in), ab = take8(&in);

		switch (kind % 7) {
		case 0:
			rec_request(&in, ab);
			break;
		case 1:
			rec_scribble(&in, ab);
			break;
		case 2:
			rec_frame(&in);
			break;
		case 3:
			rec_run(ab);
			break;
		case 4:
			rec_setup(ab, take8(&in));
			break;
		case 5:
			app_bye(ab);
			break;
		case 6:
			rec_knobs(take8(&in));
			break;
		}
	}
	rec_run(0);
	impair_fini(&X);
	for (i = 0; i < NAPPS; i++)
		app_bye((uint8_t)i);
	tx_complete(&X, X.ifaces[0].ports[0]);
	/* everything an app had is gone with it */
	if (X.napps || X.nfilters || !list_empty(&X.filters) || !list_empty(&X.txwork) ||
	    !list_empty(&X.touched) || !list_empty(&X.paused))
		abort();
	if (X.tables[XOK_TABLE_ARP].reg && X.tables[XOK_TABLE_ARP].reg->refs)
		abort();
	if (X.ifaces[0].ports[0]->tx_held || X.ifaces[0].ports[0]->tx_outstanding)
		abort();
	return 0;
}
