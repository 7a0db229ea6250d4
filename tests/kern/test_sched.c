/* test_sched.c - fair transmit (DRR), per-app limits, request rate, impairment */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kern_test.h"

static int setup(void **state)
{
	*state = kt_xokd();
	return 0;
}

static int teardown(void **state)
{
	kt_xokd_free(*state);
	return 0;
}

/* ---- deficit round robin ---- */

#define NQ 2048 /* more than one loop turn's budget: the scheduler must choose */

struct flooder {
	struct app *a;
	uint8_t *base;
	struct xok_txq_hdr *hdr;
	uint32_t prod;
};

static uint64_t sent_by[256];
static uint32_t order[8192], norder;

static void count_hook(struct xokd *x, struct iface *ifc, const uint8_t *frame, uint32_t len)
{
	(void)x;
	(void)ifc;
	(void)len;
	sent_by[frame[0]]++; /* the first byte says whose frame it is */
	if (norder < sizeof(order) / sizeof(order[0]))
		order[norder++] = frame[0];
}

/* An app with a TXQ of NQ descriptors, all for the same len-byte frame tagged `tag`. */
static void flooder_init(struct xokd *x, struct flooder *fl, uid_t uid, uint8_t tag, uint32_t len)
{
	struct xok_txq_set m = {0};
	struct xok_tx_desc *q;
	uint32_t reg, i;

	fl->a = kt_app(x, uid);
	reg = kt_region(x, fl->a, 2 << 20, (void **)&fl->base);
	m.at = (struct xok_ref){reg, 0, 4096};
	m.nentries = NQ;
	assert_int_equal(
	    kt_call(x, fl->a, XOK_OP_TXQ_SET, &m, sizeof(m), eventfd(0, EFD_CLOEXEC), NULL, 0), 0);
	fl->hdr = (struct xok_txq_hdr *)(fl->base + 4096);
	q = (struct xok_tx_desc *)(fl->hdr + 1);
	memset(fl->base + (1536 << 10), tag, len);
	for (i = 0; i < NQ; i++) {
		memset(&q[i], 0, sizeof(q[i]));
		q[i].ifindex = KT_IFINDEX;
		q[i].npieces = 1;
		q[i].pieces[0] = (struct xok_piece){reg, len, 1536 << 10};
	}
	fl->prod = 0;
}

/* Keeps the queue full, as a flooding app does. */
static void flooder_fill(struct xokd *x, struct flooder *fl)
{
	uint32_t cons = xok_load_acquire(&fl->hdr->cons);

	fl->prod = cons + NQ;
	xok_store_release(&fl->hdr->prod, fl->prod);
	tx_kick(x, fl->a);
}

static void run_rounds(struct xokd *x, struct flooder *fl, int nfl, int rounds)
{
	int r, i;

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < nfl; i++)
			flooder_fill(x, &fl[i]);
		tx_run(x);
	}
}

static void test_drr_equal(void **state)
{
	struct xokd *x = *state;
	struct flooder fl[2];

	x->cfg.unchecked_tx = true;
	x->tx_hook = count_hook;
	memset(sent_by, 0, sizeof(sent_by));
	flooder_init(x, &fl[0], 1000, 1, 60);
	flooder_init(x, &fl[1], 1001, 2, 60);
	run_rounds(x, fl, 2, 200);
	assert_true(sent_by[1] > 10000);
	/* 50% each, within 1% */
	assert_true(llabs((long long)sent_by[1] - (long long)sent_by[2]) * 100 <
		    (long long)(sent_by[1] + sent_by[2]));
	/* DRR is about bytes: 1500-byte frames against 60-byte ones get equal bytes */
	memset(sent_by, 0, sizeof(sent_by));
	flooder_init(x, &fl[0], 1000, 3, 1500);
	flooder_init(x, &fl[1], 1001, 4, 60);
	run_rounds(x, fl, 2, 200);
	assert_true(sent_by[3] > 100);
	assert_true(llabs((long long)(sent_by[3] * 1500) - (long long)(sent_by[4] * 60)) * 10 <
		    (long long)(sent_by[3] * 1500 + sent_by[4] * 60));
}

static void test_drr_weights(void **state)
{
	struct xokd *x = *state;
	struct flooder fl[2];
	double share;

	x->cfg.unchecked_tx = true;
	x->tx_hook = count_hook;
	x->cfg.weights[0] = (struct xokd_weight){.by_uid = true, .uid = 2000, .weight = 3};
	strcpy(x->cfg.weights[1].comm, "nosuchcomm");
	x->cfg.weights[1].weight = 7;
	x->cfg.nweights = 2;
	memset(sent_by, 0, sizeof(sent_by));
	flooder_init(x, &fl[0], 2000, 5, 100);
	flooder_init(x, &fl[1], 2001, 6, 100);
	assert_int_equal(fl[0].a->tx_weight, 3);
	assert_int_equal(fl[1].a->tx_weight, 1);
	run_rounds(x, fl, 2, 200);
	share = (double)sent_by[5] / (double)(sent_by[5] + sent_by[6]);
	assert_true(share > 0.73 && share < 0.77);
}

/* One frame of an idle app waits behind at most one turn of the flooder. */
static void test_drr_idle_latency(void **state)
{
	struct xokd *x = *state;
	struct flooder fl[2];
	uint32_t i, before = 0;

	x->cfg.unchecked_tx = true;
	x->tx_hook = count_hook;
	flooder_init(x, &fl[0], 1000, 7, 60);
	flooder_init(x, &fl[1], 1001, 8, 60);
	run_rounds(x, fl, 1, 20); /* the flood is under way */
	norder = 0;
	flooder_fill(x, &fl[0]);
	xok_store_release(&fl[1].hdr->prod, 1); /* the idle app's one frame */
	tx_kick(x, fl[1].a);
	tx_run(x);
	for (i = 0; i < norder && order[i] != 8; i++)
		before++;
	assert_true(i < norder);
	assert_true(before <= x->cfg.tx_quantum / 60 + 1);
}

/* An app at its in-flight limit waits for its own completions; others go on. */
static void test_inflight_limit(void **state)
{
	struct xokd *x = *state;
	struct flooder fl[2];

	x->cfg.unchecked_tx = true;
	x->tx_hook = count_hook;
	x->cfg.limits.txq = 10;
	memset(sent_by, 0, sizeof(sent_by));
	flooder_init(x, &fl[0], 1000, 9, 60);
	flooder_init(x, &fl[1], 1001, 10, 60);
	flooder_fill(x, &fl[0]);
	flooder_fill(x, &fl[1]);
	/* each sends its 10 and leaves the round; the completions at the end of the run
	 * bring both back */
	tx_run(x);
	assert_int_equal(sent_by[9], 10);
	assert_int_equal(sent_by[10], 10);
	assert_false(fl[0].a->tx_limited);
	assert_true(list_linked(&fl[0].a->txwork_link));
	assert_true(list_linked(&fl[1].a->txwork_link));
	tx_run(x);
	assert_int_equal(sent_by[9], 20);
	assert_int_equal(sent_by[10], 20);
}

/* ---- limits ---- */

static void test_limits(void **state)
{
	struct xokd *x = *state;
	struct app *a;
	struct xok_hello_reply h;
	struct xok_region_add m = {.size = 4096};
	int i, fd;

	x->cfg.limits.regions = 3;
	x->cfg.limits.rings = 1;
	x->cfg.limits.filters = 2;
	x->cfg.limits.bytes = 5 * 4096;
	a = kt_app(x, 1000);
	assert_int_equal(kt_call(x, a, XOK_OP_HELLO, NULL, 0, -1, &h, sizeof(h)), 0);
	assert_int_equal(h.max_regions, 3);
	assert_int_equal(h.max_rings, 1);
	assert_int_equal(h.max_filters, 2);
	assert_int_equal(h.max_region_bytes, 5 * 4096);
	assert_int_equal(h.tx_weight, 1);
	assert_int_equal(h.flags, XOK_INFO_CHECKED_TX);
	/* bytes: a 4-page region and then another page fits, 2 more pages do not */
	m.size = 4 * 4096;
	fd = kt_memfd(m.size, F_SEAL_SHRINK);
	assert_int_equal(kt_call(x, a, XOK_OP_REGION_ADD, &m, sizeof(m), fd, NULL, 0), 0);
	m.size = 2 * 4096;
	fd = kt_memfd(m.size, F_SEAL_SHRINK);
	assert_int_equal(kt_call(x, a, XOK_OP_REGION_ADD, &m, sizeof(m), fd, NULL, 0), -EDQUOT);
	assert_true(kt_fd_closed(fd));
	assert_int_equal(a->limit_hits, 1);
	/* rings: one (it takes the last page) */
	kt_ring(x, a, 128, 8, NULL);
	assert_int_equal(a->nregions, 2);
	m.size = 4096;
	fd = kt_memfd(m.size, F_SEAL_SHRINK);
	assert_int_equal(kt_call(x, a, XOK_OP_REGION_ADD, &m, sizeof(m), fd, NULL, 0), -EDQUOT);
	{
		struct xok_ring_set rs = {
		    .at = {a->regions[1]->id, 0, 0}, .entry_size = 128, .nentries = 4};

		assert_int_equal(KT_CALL0(x, a, XOK_OP_RING_SET, &rs), -EDQUOT);
	}
	/* regions: a fresh app, 3 allowed */
	a = kt_app(x, 1001);
	for (i = 0; i < 3; i++)
		kt_region(x, a, 4096, NULL);
	fd = kt_memfd(4096, F_SEAL_SHRINK);
	assert_int_equal(kt_call(x, a, XOK_OP_REGION_ADD, &m, sizeof(m), fd, NULL, 0), -EDQUOT);
	assert_true(a->limit_logged & (1u << LIMIT_REGIONS));
	/* filters */
	a = kt_app(x, 1002);
	{
		uint32_t ring = kt_ring(x, a, 2048, 4, NULL);

		assert_int_equal(kt_udp_filter(x, a, ring, 1, 0, NULL), 0);
		assert_int_equal(kt_udp_filter(x, a, ring, 2, 0, NULL), 0);
		assert_int_equal(kt_udp_filter(x, a, ring, 3, 0, NULL), -EDQUOT);
	}
}

static void test_rate(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000), *b = kt_app(x, 1001);
	struct xok_info_reply info;
	int i;

	x->cfg.limits.rps = 100; /* burst: XOK_APP_CTL_BURST_MIN */
	for (i = 0; i < XOK_APP_CTL_BURST_MIN; i++)
		assert_int_equal(kt_call(x, a, XOK_OP_INFO, NULL, 0, -1, &info, sizeof(info)), 0);
	assert_int_equal(kt_call(x, a, XOK_OP_INFO, NULL, 0, -1, &info, sizeof(info)), -EAGAIN);
	assert_int_equal(a->ctl_throttled, 1);
	assert_true(a->ctl_paused);
	assert_true(a->limit_logged & (1u << LIMIT_RPS));
	/* somebody else is not affected */
	assert_int_equal(kt_call(x, b, XOK_OP_INFO, NULL, 0, -1, &info, sizeof(info)), 0);
	/* one interval later, one more request */
	usleep(12000);
	assert_int_equal(kt_call(x, a, XOK_OP_INFO, NULL, 0, -1, &info, sizeof(info)), 0);
	assert_int_equal(kt_call(x, a, XOK_OP_INFO, NULL, 0, -1, &info, sizeof(info)), -EAGAIN);
	/* a paused app resumes when its time comes */
	a->ctl_paused = true;
	list_add_tail(&a->paused_link, &x->paused);
	assert_true(ctl_next_resume(x) > 0);
	ctl_resume(x, now_mono_ns() + 1000000000ull);
	assert_false(a->ctl_paused);
	assert_true(list_empty(&x->paused));
}

/* ---- impairment ---- */

static size_t udp_frame(uint8_t *f, uint16_t port, uint8_t tag)
{
	memset(f, 0, 64);
	f[12] = 0x08;
	f[14] = 0x45;
	f[23] = 17;
	f[36] = (uint8_t)(port >> 8);
	f[37] = (uint8_t)port;
	f[50] = tag;
	return 64;
}

static void deliver(struct xokd *x, uint16_t port, uint8_t tag, uint32_t filter)
{
	struct dpf_xdp_meta m = {.magic = DPF_META_MAGIC, .filter_id = filter};
	uint8_t f[64];

	impair_rx(x, &x->ifaces[0], f, (uint32_t)udp_frame(f, port, tag), &m, 1);
}

static void test_impair_parse(void **state)
{
	struct xokd_impair im;

	(void)state;
	assert_int_equal(impair_parse("drop=10,dup=0.5,reorder=2,delay=300,gap=5,seed=9", &im), 0);
	assert_true(im.on);
	assert_int_equal(im.drop, 100000);
	assert_int_equal(im.dup, 5000);
	assert_int_equal(im.reorder, 20000);
	assert_int_equal(im.delay_us, 300);
	assert_int_equal(im.gap, 5);
	assert_int_equal(im.seed, 9);
	assert_true(im.rx && im.tx);
	assert_int_equal(impair_parse("drop=1,dir=rx", &im), 0);
	assert_true(im.rx && !im.tx);
	assert_int_equal(impair_parse("dir=tx,drop=1", &im), 0);
	assert_true(!im.rx && im.tx);
	assert_int_equal(impair_parse("dir=both", &im), 0);
	assert_true(im.rx && im.tx);
	assert_int_equal(impair_parse("dir=up", &im), -EINVAL);
	assert_int_equal(impair_parse("drop=101", &im), -EINVAL);
	assert_int_equal(impair_parse("drop=-1", &im), -EINVAL);
	assert_int_equal(impair_parse("bogus=1", &im), -EINVAL);
	assert_int_equal(impair_parse("drop", &im), -EINVAL);
	assert_int_equal(impair_parse("delay=x", &im), -EINVAL);
}

static void test_impair_rx(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000);
	void *base;
	uint32_t ring = kt_ring(x, a, 256, 64, &base);
	struct xok_dpf_insert_reply fr;
	struct ring *r = ring_lookup(a, ring);
	struct iface *ifc = &x->ifaces[0];
	int i;

	assert_int_equal(kt_udp_filter(x, a, ring, 4000, 0, &fr), 0);
	x->cfg.impair = (struct xokd_impair){
	    .on = true, .drop = 1000000, .gap = 3, .seed = 1, .rx = true, .tx = true};
	for (i = 0; i < 10; i++)
		deliver(x, 4000, (uint8_t)i, fr.filter);
	assert_int_equal(r->delivered, 0);
	assert_int_equal(ifc->imp_rx.st[IMP_DROP], 10);
	/* everything twice */
	x->cfg.impair.drop = 0;
	x->cfg.impair.dup = 1000000;
	deliver(x, 4000, 1, fr.filter);
	assert_int_equal(r->delivered, 2);
	/* delayed: nothing until the delay has passed, then classified again */
	x->cfg.impair.dup = 0;
	x->cfg.impair.delay_us = 20000;
	deliver(x, 4000, 2, fr.filter);
	deliver(x, 4000, 3, fr.filter);
	impair_run(x);
	assert_int_equal(r->delivered, 2);
	assert_true(impair_next(x) > 0);
	usleep(25000);
	impair_run(x);
	assert_int_equal(r->delivered, 4);
	assert_int_equal(ifc->imp_rx.st[IMP_DELAY], 2);
	/* reordered: held until `gap` frames passed it */
	x->cfg.impair.delay_us = 0;
	x->cfg.impair.reorder = 1000000;
	deliver(x, 4000, 10, fr.filter);
	x->cfg.impair.reorder = 0;
	deliver(x, 4000, 11, fr.filter);
	deliver(x, 4000, 12, fr.filter);
	assert_int_equal(r->delivered, 6);
	deliver(x, 4000, 13, fr.filter);
	assert_int_equal(r->delivered, 8); /* 13, then 10 */
	{
		uint8_t *e = (uint8_t *)base + sizeof(struct xok_ring_hdr);
		uint32_t tags[4], k;

		for (k = 0; k < 4; k++)
			tags[k] = e[(4 + k) * 256 + 32 + 50];
		assert_int_equal(tags[0], 11);
		assert_int_equal(tags[1], 12);
		assert_int_equal(tags[2], 13);
		assert_int_equal(tags[3], 10);
	}
	/* a held frame whose filter went away in the meantime is not delivered */
	x->cfg.impair.reorder = 1000000;
	deliver(x, 4000, 20, fr.filter);
	{
		struct xok_dpf_delete del = {.filter = fr.filter};

		assert_int_equal(KT_CALL0(x, a, XOK_OP_DPF_DELETE, &del), 0);
	}
	usleep((XOK_IMPAIR_HOLD_NS / 1000) + 5000);
	impair_run(x);
	assert_int_equal(r->delivered, 8);
	impair_fini(x);
}

static uint32_t tx_hits;
static void hit_hook(struct xokd *x, struct iface *ifc, const uint8_t *frame, uint32_t len)
{
	(void)x;
	(void)ifc;
	(void)frame;
	(void)len;
	tx_hits++;
}

static void test_impair_tx(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000);
	uint8_t *base;
	uint32_t reg = kt_region(x, a, 65536, (void **)&base);
	uint32_t *notify = (uint32_t *)base;
	struct xok_tx_desc d = {0};
	struct iface *ifc = &x->ifaces[0];

	x->cfg.unchecked_tx = true;
	x->tx_hook = hit_hook;
	d.ifindex = KT_IFINDEX;
	d.npieces = 1;
	d.pieces[0] = (struct xok_piece){reg, 60, 4096};
	d.notify = (struct xok_ref){reg, 0, 0};
	/* dropped: the sender is notified as if it had been sent */
	x->cfg.impair = (struct xokd_impair){
	    .on = true, .drop = 1000000, .gap = 3, .seed = 1, .rx = true, .tx = true};
	*notify = 1;
	assert_int_equal(KT_CALL0(x, a, XOK_OP_NET_XMIT, &d), 0);
	assert_int_equal(*notify, 0);
	assert_int_equal(tx_hits, 0);
	assert_int_equal(a->tx_inflight, 0);
	assert_int_equal(ifc->imp_tx.st[IMP_DROP], 1);
	/* dir=rx: transmission is left alone */
	x->cfg.impair.tx = false;
	*notify = 1;
	assert_int_equal(KT_CALL0(x, a, XOK_OP_NET_XMIT, &d), 0);
	assert_int_equal(tx_hits, 1);
	assert_int_equal(ifc->imp_tx.st[IMP_DROP], 1);
	tx_complete(x, ifc->ports[0]);
	assert_int_equal(*notify, 0);
	tx_hits = 0;
	x->cfg.impair.tx = true;
	/* duplicated: two frames leave, one notification */
	x->cfg.impair.drop = 0;
	x->cfg.impair.dup = 1000000;
	*notify = 1;
	assert_int_equal(KT_CALL0(x, a, XOK_OP_NET_XMIT, &d), 0);
	assert_int_equal(tx_hits, 2);
	tx_complete(x, ifc->ports[0]);
	assert_int_equal(*notify, 0);
	/* delayed: held in UMEM, counted in the device queue, sent when due */
	x->cfg.impair.dup = 0;
	x->cfg.impair.delay_us = 10000;
	*notify = 1;
	assert_int_equal(KT_CALL0(x, a, XOK_OP_NET_XMIT, &d), 0);
	assert_int_equal(tx_hits, 2);
	assert_int_equal(ifc->ports[0]->tx_held, 1);
	usleep(15000);
	impair_run(x);
	assert_int_equal(tx_hits, 3);
	assert_int_equal(ifc->ports[0]->tx_held, 0);
	tx_complete(x, ifc->ports[0]);
	assert_int_equal(*notify, 0);
	/* held frames of an app that goes away: they still leave, nobody is notified */
	*notify = 1;
	assert_int_equal(KT_CALL0(x, a, XOK_OP_NET_XMIT, &d), 0);
	app_free(x, a);
	app_reap(x);
	usleep(15000);
	impair_run(x);
	assert_int_equal(tx_hits, 4);
	tx_complete(x, ifc->ports[0]);
	munmap(base, 65536);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_drr_equal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drr_weights, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drr_idle_latency, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inflight_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate, setup, teardown),
	    cmocka_unit_test(test_impair_parse),
	    cmocka_unit_test_setup_teardown(test_impair_rx, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_impair_tx, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
