/* test_reclaim.c - an app's disappearance returns every resource: counts back to zero */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include "kern_test.h"

static int count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

/* Builds one of everything for a; returns a filter id b may reference. */
static uint32_t populate(struct xokd *x, struct app *a, bool pending_tx)
{
	uint8_t *base;
	uint32_t reg = kt_region(x, a, 1 << 16, (void **)&base);
	uint32_t ring1 = kt_ring(x, a, 2048, 16, NULL);
	uint32_t ring2 = kt_ring(x, a, 256, 64, NULL);
	struct xok_dpf_insert_reply f1, f2;
	struct xok_txq_set q = {0};
	struct xok_wkpred p;
	struct xok_tx_desc d;

	assert_int_equal(kt_udp_filter(x, a, ring1, 53, 0, &f1), 0);
	assert_int_equal(kt_udp_filter(x, a, ring2, 54, 0, &f2), 0);
	q.at = (struct xok_ref){reg, 0, 4096};
	q.nentries = 16;
	assert_int_equal(
	    kt_call(x, a, XOK_OP_TXQ_SET, &q, sizeof(q), eventfd(0, EFD_CLOEXEC), NULL, 0), 0);
	memset(&p, 0, sizeof(p));
	p.wake = (struct xok_ref){reg, 0, 0};
	p.nterms = 1;
	p.terms[0].lhs = (struct xok_ref){reg, 0, 64};
	p.timeout_ns = 1ull << 62;
	assert_int_equal(KT_CALL0(x, a, XOK_OP_WKPRED, &p), 0);
	if (pending_tx) {
		x->cfg.unchecked_tx = true; /* any bytes will do */
		memset(&d, 0, sizeof(d));
		d.ifindex = KT_IFINDEX;
		d.npieces = 1;
		d.pieces[0] = (struct xok_piece){reg, 60, 8192};
		d.notify = (struct xok_ref){reg, 0, 128};
		assert_int_equal(KT_CALL0(x, a, XOK_OP_NET_XMIT, &d), 0);
		assert_int_equal(KT_CALL0(x, a, XOK_OP_NET_XMIT, &d), 0);
	}
	munmap(base, 1 << 16); /* the test's own view; xokd keeps its mapping */
	return f1.filter;
}

static void test_reclaim_all(void **state)
{
	struct xokd *x = kt_xokd();
	int fds0, maps0;
	struct app *a;

	(void)state;
	/* one round first, so that allocator growth is not counted */
	a = kt_app(x, 1000);
	populate(x, a, true);
	app_free(x, a);
	app_reap(x);
	tx_complete(x, x->ifaces[0].ports[0]);
	fds0 = kt_open_fds();
	maps0 = count_maps();
	a = kt_app(x, 1000);
	populate(x, a, true);
	assert_int_equal(x->nfilters, 2);
	assert_true(kt_open_fds() > fds0);
	assert_true(count_maps() > maps0);
	assert_int_equal(a->tx_inflight, 2);

	app_free(x, a);
	app_reap(x);
	assert_int_equal(x->napps, 0);
	assert_int_equal(x->nfilters, 0);
	assert_int_equal(dpf_set_count(x->dpf), 0);
	assert_true(list_empty(&x->filters));
	assert_true(list_empty(&x->touched));
	assert_true(list_empty(&x->txwork));
	assert_int_equal(kt_open_fds(), fds0);
	assert_int_equal(count_maps(), maps0);
	/* the frames it queued still complete, touching nothing of the dead app */
	tx_complete(x, x->ifaces[0].ports[0]);
	assert_int_equal(x->ifaces[0].ports[0]->ntx_free, XOK_UMEM_FRAMES - XOK_UMEM_RX_FRAMES);
	kt_xokd_free(x);
}

static void test_reclaim_shared_filter(void **state)
{
	struct xokd *x = kt_xokd();
	struct app *a = kt_app(x, 1000), *b = kt_app(x, 1001);
	uint32_t rb = kt_ring(x, b, 2048, 16, NULL);
	struct xok_dpf_insert_reply f;
	struct xok_dpf_ref ref = {0};
	struct filter *flt;
	uint32_t ra = kt_ring(x, a, 2048, 16, NULL);

	(void)state;
	assert_int_equal(kt_udp_filter(x, a, ra, 80, 0, &f), 0);
	ref.filter = f.filter;
	ref.cap = f.cap;
	assert_int_equal(KT_CALL0(x, b, XOK_OP_DPF_REF, &ref), 0);
	flt = filter_lookup(x, f.filter);
	assert_int_equal(flt->nrefs, 2);
	/* a goes: b's reference keeps the filter, but a's ring is gone */
	app_free(x, a);
	app_reap(x);
	flt = filter_lookup(x, f.filter);
	assert_non_null(flt);
	assert_int_equal(flt->nrefs, 1);
	assert_null(flt->ring);
	assert_null(flt->owner);
	/* b re-points it to its own ring, then goes too */
	ref.ring = rb;
	assert_int_equal(KT_CALL0(x, b, XOK_OP_DPF_REF, &ref), 0);
	assert_non_null(flt->ring);
	assert_int_equal(ring_lookup(b, rb)->nfilters, 1);
	app_free(x, b);
	app_reap(x);
	assert_null(filter_lookup(x, f.filter));
	assert_int_equal(x->nfilters, 0);
	kt_xokd_free(x);
}

static void test_reclaim_ring_of_other(void **state)
{
	struct xokd *x = kt_xokd();
	struct app *a = kt_app(x, 1000), *b = kt_app(x, 1001);
	uint32_t ra = kt_ring(x, a, 2048, 16, NULL), rb = kt_ring(x, b, 2048, 16, NULL);
	struct xok_dpf_insert_reply f;
	struct xok_dpf_ref ref = {0};

	(void)state;
	/* a's filter delivers to b's ring; b dies: a's filter survives, deliveries drop */
	assert_int_equal(kt_udp_filter(x, a, ra, 80, 0, &f), 0);
	ref.filter = f.filter;
	ref.cap = f.cap;
	ref.ring = rb;
	assert_int_equal(KT_CALL0(x, b, XOK_OP_DPF_REF, &ref), 0);
	app_free(x, b);
	app_reap(x);
	assert_non_null(filter_lookup(x, f.filter));
	assert_null(filter_lookup(x, f.filter)->ring);
	assert_int_equal(ring_lookup(a, ra)->nfilters, 0);
	{
		struct dpf_xdp_meta m = {.magic = DPF_META_MAGIC, .filter_id = f.filter};
		uint8_t frame[60] = {0};

		rx_deliver(x, &x->ifaces[0], frame, sizeof(frame), &m, 0);
		assert_int_equal(x->ifaces[0].drop_no_filter, 1);
	}
	kt_xokd_free(x);
}

static void test_reclaim_many(void **state)
{
	struct xokd *x = kt_xokd();
	int fds0, maps0, i;

	(void)state;
	/* warm up allocator and dpf so steady state is measured */
	for (i = 0; i < 3; i++) {
		struct app *a = kt_app(x, 1000);

		populate(x, a, false);
		app_free(x, a);
		app_reap(x);
	}
	fds0 = kt_open_fds();
	maps0 = count_maps();
	for (i = 0; i < 200; i++) {
		struct app *a = kt_app(x, 1000);

		populate(x, a, i % 2);
		if (i % 3 == 0)
			tx_complete(x, x->ifaces[0].ports[0]);
		app_free(x, a);
		app_reap(x);
	}
	tx_complete(x, x->ifaces[0].ports[0]);
	assert_int_equal(kt_open_fds(), fds0);
	assert_int_equal(count_maps(), maps0);
	assert_int_equal(x->napps, 0);
	assert_int_equal(x->nfilters, 0);
	assert_true(x->next_filter_id > 400); /* ids kept growing: never reused */
	kt_xokd_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reclaim_all),
	    cmocka_unit_test(test_reclaim_shared_filter),
	    cmocka_unit_test(test_reclaim_ring_of_other),
	    cmocka_unit_test(test_reclaim_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
