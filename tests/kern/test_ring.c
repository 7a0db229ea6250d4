/* test_ring.c - ring publication: owner word last, full ring drops, truncation, rx delivery */
#include <errno.h>
#include <pthread.h>
#include <string.h>

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

static struct xok_ring_entry *entry(void *base, uint32_t entry_size, uint32_t i)
{
	return (struct xok_ring_entry *)((uint8_t *)base + sizeof(struct xok_ring_hdr) +
					 (size_t)i * entry_size);
}

static void test_publish_fields(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000);
	void *base;
	struct ring *r = ring_lookup(a, kt_ring(x, a, 256, 4, &base));
	struct xok_ring_hdr *hdr = base;
	uint8_t frame[100];
	struct xok_ring_entry *e;

	memset(frame, 0x5a, sizeof(frame));
	frame[0] = 1;
	assert_int_equal(ring_publish(r, frame, sizeof(frame), 9, 77, 0, 123456789ull), 0);
	e = entry(base, 256, 0);
	assert_int_equal(e->owner, 100);
	assert_int_equal(e->caplen, 100);
	assert_int_equal(e->ifindex, 9);
	assert_int_equal(e->filter_id, 77);
	assert_int_equal(e->flags, 0);
	assert_int_equal(e->rx_ns, 123456789ull);
	assert_memory_equal(e->data, frame, 100);
	assert_int_equal(xok_load_acquire(&hdr->produced), 1);
	assert_int_equal(r->next, 1);
	assert_int_equal(r->delivered, 1);
	assert_int_equal(r->bytes, 100);
}

static void test_full_ring(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000);
	void *base;
	struct ring *r = ring_lookup(a, kt_ring(x, a, 256, 4, &base));
	uint8_t frame[64] = {0};
	int i;

	for (i = 0; i < 4; i++) {
		frame[0] = (uint8_t)i;
		assert_int_equal(ring_publish(r, frame, 64, 1, 1, 0, 0), 0);
	}
	/* every entry is the app's: drop and count, nothing overwritten */
	assert_int_equal(ring_publish(r, frame, 64, 1, 1, 0, 0), -ENOBUFS);
	assert_int_equal(ring_publish(r, frame, 64, 1, 1, 0, 0), -ENOBUFS);
	assert_int_equal(r->dropped_full, 2);
	assert_int_equal(entry(base, 256, 0)->data[0], 0);
	/* the app returns entry 0 only: the next frame lands there, in order */
	xok_store_release(&entry(base, 256, 0)->owner, 0);
	frame[0] = 99;
	assert_int_equal(ring_publish(r, frame, 64, 1, 1, 0, 0), 0);
	assert_int_equal(entry(base, 256, 0)->data[0], 99);
	/* entry 1 is still the app's: even with entry 2 free xokd does not skip ahead */
	xok_store_release(&entry(base, 256, 2)->owner, 0);
	assert_int_equal(ring_publish(r, frame, 64, 1, 1, 0, 0), -ENOBUFS);
	assert_int_equal(r->dropped_full, 3);
	assert_int_equal(xok_load_acquire(&((struct xok_ring_hdr *)base)->produced), 5);
}

static void test_truncation(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000);
	void *base;
	struct ring *r = ring_lookup(a, kt_ring(x, a, 128, 4, &base));
	uint8_t frame[1500];
	struct xok_ring_entry *e;
	int i;

	for (i = 0; i < 1500; i++)
		frame[i] = (uint8_t)i;
	assert_int_equal(ring_publish(r, frame, 1500, 1, 1, 0, 0), 0);
	e = entry(base, 128, 0);
	assert_int_equal(e->owner, 1500); /* the original length */
	assert_int_equal(e->caplen, 128 - 32);
	assert_true(e->flags & XOK_RX_TRUNCATED);
	assert_memory_equal(e->data, frame, 96);
	/* the next entry is untouched by the copy */
	assert_int_equal(entry(base, 128, 1)->owner, 0);
	assert_int_equal(entry(base, 128, 1)->caplen, 0);
	assert_int_equal(r->truncated, 1);
	/* exactly fitting is not truncated */
	assert_int_equal(ring_publish(r, frame, 96, 1, 1, 0, 0), 0);
	assert_int_equal(entry(base, 128, 1)->caplen, 96);
	assert_int_equal(entry(base, 128, 1)->flags, 0);
}

static void test_wraparound(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000);
	void *base;
	struct ring *r = ring_lookup(a, kt_ring(x, a, 256, 3, &base));
	uint8_t frame[64] = {0};
	uint32_t i;

	for (i = 0; i < 10; i++) {
		struct xok_ring_entry *e = entry(base, 256, i % 3);

		frame[0] = (uint8_t)i;
		assert_int_equal(ring_publish(r, frame, 64, 1, 1, 0, 0), 0);
		assert_int_equal(e->data[0], i);
		xok_store_release(&e->owner, 0);
	}
	assert_int_equal(r->next, 10 % 3);
	assert_int_equal(((struct xok_ring_hdr *)base)->produced, 10);
}

/* A consumer thread checks every entry it acquires is complete: the owner word is the
 * last thing xokd writes (release) and the first the app reads (acquire). */
struct consumer {
	void *base;
	uint32_t n, total;
	int errors;
};

static void *consume(void *arg)
{
	struct consumer *c = arg;
	uint32_t got = 0, i = 0;

	while (got < c->total) {
		struct xok_ring_entry *e = entry(c->base, 256, i);
		uint32_t len = xok_load_acquire(&e->owner), k, seq;

		if (!len)
			continue;
		memcpy(&seq, e->data, 4);
		if (seq != got || e->caplen != len)
			c->errors++;
		for (k = 4; k < e->caplen; k++)
			if (e->data[k] != (uint8_t)(seq + k))
				c->errors++;
		xok_store_release(&e->owner, 0);
		got++;
		i = (i + 1) % c->n;
	}
	return NULL;
}

static void test_publish_concurrent(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000);
	struct consumer c = {.n = 8, .total = 50000};
	struct ring *r = ring_lookup(a, kt_ring(x, a, 256, 8, &c.base));
	uint8_t frame[200];
	pthread_t t;
	uint32_t seq = 0, k;

	assert_int_equal(pthread_create(&t, NULL, consume, &c), 0);
	while (seq < c.total) {
		uint32_t len = 60 + seq % 140;

		memcpy(frame, &seq, 4);
		for (k = 4; k < len; k++)
			frame[k] = (uint8_t)(seq + k);
		if (ring_publish(r, frame, len, 1, 1, 0, 0) == 0)
			seq++;
	}
	pthread_join(t, NULL);
	assert_int_equal(c.errors, 0);
	assert_int_equal(r->delivered, c.total);
}

/* rx_deliver: the metadata picks the ring; copy filters get copies; stale ids drop. */
static void test_rx_deliver(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000), *root = kt_app(x, 0);
	void *ba, *br;
	uint32_t ra = kt_ring(x, a, 2048, 4, &ba), rr = kt_ring(x, root, 2048, 4, &br);
	struct xok_dpf_insert_reply fa, fc;
	struct xok_dpf_insert m;
	struct dpf_xdp_meta meta = {.magic = DPF_META_MAGIC};
	struct iface *ifc = &x->ifaces[0];
	uint8_t frame[80] = {1, 2, 3};

	assert_int_equal(kt_udp_filter(x, a, ra, 53, 0, &fa), 0);
	memset(&m, 0, sizeof(m));
	m.ring = rr;
	m.flags = XOK_DPF_COPY;
	dpf_filter_everything(&m.filter);
	assert_int_equal(KT_CALL(x, root, XOK_OP_DPF_INSERT, &m, &fc), 0);

	meta.filter_id = fa.filter;
	meta.copy_mask = 1ull << filter_lookup(x, fc.filter)->copy_slot;
	rx_deliver(x, ifc, frame, sizeof(frame), &meta, 42);
	assert_int_equal(entry(ba, 2048, 0)->owner, 80);
	assert_int_equal(entry(ba, 2048, 0)->filter_id, fa.filter);
	assert_int_equal(entry(ba, 2048, 0)->ifindex, KT_IFINDEX);
	assert_int_equal(entry(ba, 2048, 0)->rx_ns, 42);
	assert_int_equal(entry(br, 2048, 0)->owner, 80);
	assert_int_equal(entry(br, 2048, 0)->flags, XOK_RX_COPY);
	assert_int_equal(entry(br, 2048, 0)->filter_id, fc.filter);
	assert_int_equal(filter_lookup(x, fa.filter)->hits, 1);
	assert_int_equal(ifc->rx, 1);
	/* bad magic, unknown filter, nothing matched */
	meta.magic = 0;
	rx_deliver(x, ifc, frame, sizeof(frame), &meta, 42);
	meta.magic = DPF_META_MAGIC;
	meta.copy_mask = 0;
	meta.filter_id = 999;
	rx_deliver(x, ifc, frame, sizeof(frame), &meta, 42);
	meta.filter_id = 0;
	rx_deliver(x, ifc, frame, sizeof(frame), &meta, 42);
	/* a copy filter's id as the tree match is not honoured */
	meta.filter_id = fc.filter;
	rx_deliver(x, ifc, frame, sizeof(frame), &meta, 42);
	assert_int_equal(ifc->drop_no_filter, 4);
	assert_int_equal(entry(ba, 2048, 1)->owner, 0);
	/* ring full: counted per interface and per ring */
	meta.filter_id = fa.filter;
	rx_deliver(x, ifc, frame, sizeof(frame), &meta, 42);
	rx_deliver(x, ifc, frame, sizeof(frame), &meta, 42);
	rx_deliver(x, ifc, frame, sizeof(frame), &meta, 42);
	rx_deliver(x, ifc, frame, sizeof(frame), &meta, 42);
	assert_int_equal(ifc->drop_ring_full, 1);
	assert_int_equal(ring_lookup(a, ra)->dropped_full, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_publish_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_ring, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wraparound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_publish_concurrent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_deliver, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
