/* test_wk.c - wakeup predicates: every op, sum of products, deadlines, futex wakeups */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
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

static uint32_t w[8];

static struct wk_term term(int lhs, uint8_t op, uint32_t rhs, int rhs_word, uint8_t product)
{
	struct wk_term t = {.lhs = &w[lhs], .rhs = rhs, .op = op, .product = product};

	if (rhs_word >= 0)
		t.rhs_word = &w[rhs_word];
	return t;
}

static bool eval1(uint8_t op, uint32_t l, uint32_t r)
{
	struct wkpred p = {.nterms = 1};

	w[0] = l;
	p.terms[0] = term(0, op, r, -1, 0);
	return wk_eval(&p, 0);
}

static void test_ops(void **state)
{
	(void)state;
	assert_true(eval1(XOK_WK_EQ, 5, 5));
	assert_false(eval1(XOK_WK_EQ, 5, 6));
	assert_true(eval1(XOK_WK_NE, 5, 6));
	assert_false(eval1(XOK_WK_NE, 5, 5));
	assert_true(eval1(XOK_WK_LT, 5, 6));
	assert_false(eval1(XOK_WK_LT, 6, 6));
	assert_false(eval1(XOK_WK_LT, 0xffffffffu, 1)); /* unsigned */
	assert_true(eval1(XOK_WK_GE, 6, 6));
	assert_true(eval1(XOK_WK_GE, 0xffffffffu, 1));
	assert_false(eval1(XOK_WK_GE, 5, 6));
	assert_true(eval1(XOK_WK_AND, 0x10, 0x30));
	assert_false(eval1(XOK_WK_AND, 0x10, 0x20));
}

static void test_word_rhs(void **state)
{
	struct wkpred p = {.nterms = 1};

	(void)state;
	p.terms[0] = term(0, XOK_WK_NE, 0, 1, 0); /* produced != consumed */
	w[0] = 3;
	w[1] = 3;
	assert_false(wk_eval(&p, 0));
	w[0] = 4;
	assert_true(wk_eval(&p, 0));
	w[1] = 4;
	assert_false(wk_eval(&p, 0));
}

static void test_products(void **state)
{
	struct wkpred p = {.nterms = 4};

	(void)state;
	/* (w0 == 1 && w1 == 1) || (w2 == 1 && w3 == 1), products numbered 5 and 31 */
	p.terms[0] = term(0, XOK_WK_EQ, 1, -1, 5);
	p.terms[1] = term(2, XOK_WK_EQ, 1, -1, 31);
	p.terms[2] = term(1, XOK_WK_EQ, 1, -1, 5);
	p.terms[3] = term(3, XOK_WK_EQ, 1, -1, 31);
	memset(w, 0, sizeof(w));
	assert_false(wk_eval(&p, 0));
	w[0] = 1;
	assert_false(wk_eval(&p, 0));
	w[1] = 1;
	assert_true(wk_eval(&p, 0));
	w[0] = 0;
	w[2] = 1;
	assert_false(wk_eval(&p, 0));
	w[3] = 1;
	assert_true(wk_eval(&p, 0));
	/* deadline: true once reached, whatever the terms */
	memset(w, 0, sizeof(w));
	p.deadline = 1000;
	assert_false(wk_eval(&p, 999));
	assert_true(wk_eval(&p, 1000));
}

/* ---- wakeups through the daemon ---- */

struct sleeper {
	uint32_t *seq, *sleeping;
	int woke;
	uint64_t waited_ms;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *sleeper(void *arg)
{
	struct sleeper *s = arg;
	uint32_t seq = __atomic_load_n(s->seq, __ATOMIC_ACQUIRE);
	struct timespec ts = {5, 0};
	uint64_t t0 = mono_ms();

	__atomic_store_n(s->sleeping, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, s->seq, FUTEX_WAIT, seq, &ts, NULL, 0);
	s->woke = __atomic_load_n(s->seq, __ATOMIC_ACQUIRE) != seq;
	s->waited_ms = mono_ms() - t0;
	return NULL;
}

/* Region layout: wake words at 0, predicate words at 64.. */
static void install(struct xokd *x, struct app *a, uint32_t reg, uint32_t lhs_region,
		    uint64_t lhs_off, uint8_t op, uint32_t rhs, uint64_t deadline)
{
	struct xok_wkpred m;

	memset(&m, 0, sizeof(m));
	m.wake = (struct xok_ref){reg, 0, 0};
	m.timeout_ns = deadline;
	m.nterms = 1;
	m.terms[0].lhs = (struct xok_ref){lhs_region, 0, lhs_off};
	m.terms[0].op = op;
	m.terms[0].rhs = rhs;
	assert_int_equal(KT_CALL0(x, a, XOK_OP_WKPRED, &m), 0);
}

static void test_wake(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000);
	uint8_t *base;
	uint32_t reg = kt_region(x, a, 4096, (void **)&base);
	struct xok_wake *wk = (struct xok_wake *)base;
	uint32_t *word = (uint32_t *)(base + 64);
	struct sleeper s = {&wk->seq, &wk->sleeping};
	pthread_t t;

	install(x, a, reg, reg, 64, XOK_WK_EQ, 7, 0);
	wk_run(x); /* installation touches it: not sleeping, nothing happens */
	assert_int_equal(wk->seq, 0);

	/* true but not sleeping: no wakeup */
	*word = 7;
	wk_touch(x, a);
	wk_run(x);
	assert_int_equal(wk->seq, 0);
	assert_int_equal(a->wakeups, 0);

	/* sleeping but false: no wakeup */
	*word = 0;
	assert_int_equal(pthread_create(&t, NULL, sleeper, &s), 0);
	while (!__atomic_load_n(&wk->sleeping, __ATOMIC_ACQUIRE))
		usleep(1000);
	usleep(20000);
	wk_touch(x, a);
	wk_run(x);
	assert_int_equal(wk->seq, 0);
	assert_int_equal(wk->sleeping, 1);

	/* sleeping and true: woken, sleeping cleared, seq bumped */
	*word = 7;
	wk_touch(x, a);
	wk_run(x);
	pthread_join(t, NULL);
	assert_true(s.woke);
	assert_true(s.waited_ms < 4000);
	assert_int_equal(wk->seq, 1);
	assert_int_equal(wk->sleeping, 0);
	assert_int_equal(a->wakeups, 1);
}

static void test_wake_on_delivery(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000);
	void *rbase;
	uint8_t *base;
	uint32_t reg = kt_region(x, a, 4096, (void **)&base);
	uint32_t ring = kt_ring(x, a, 2048, 4, &rbase);
	struct xok_wake *wk = (struct xok_wake *)base;
	struct sleeper s = {&wk->seq, &wk->sleeping};
	struct xok_dpf_insert_reply f;
	struct dpf_xdp_meta meta = {.magic = DPF_META_MAGIC};
	struct xok_wkpred m;
	uint8_t frame[60] = {0};
	pthread_t t;

	assert_int_equal(kt_udp_filter(x, a, ring, 53, 0, &f), 0);
	/* the sys layer's ring predicate: produced != consumed */
	memset(&m, 0, sizeof(m));
	m.wake = (struct xok_ref){reg, 0, 0};
	m.nterms = 1;
	m.terms[0].lhs =
	    (struct xok_ref){a->regions[1]->id, 0, offsetof(struct xok_ring_hdr, produced)};
	m.terms[0].rhs_region = a->regions[1]->id;
	m.terms[0].rhs = offsetof(struct xok_ring_hdr, consumed);
	m.terms[0].op = XOK_WK_NE;
	assert_int_equal(KT_CALL0(x, a, XOK_OP_WKPRED, &m), 0);
	wk_run(x);
	assert_int_equal(pthread_create(&t, NULL, sleeper, &s), 0);
	while (!__atomic_load_n(&wk->sleeping, __ATOMIC_ACQUIRE))
		usleep(1000);
	meta.filter_id = f.filter;
	rx_deliver(x, &x->ifaces[0], frame, sizeof(frame), &meta, 1);
	wk_run(x);
	pthread_join(t, NULL);
	assert_true(s.woke);
	assert_int_equal(a->wakeups, 1);
}

static void test_timeout(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000);
	uint8_t *base;
	uint32_t reg = kt_region(x, a, 4096, (void **)&base);
	struct xok_wake *wk = (struct xok_wake *)base;
	struct sleeper s = {&wk->seq, &wk->sleeping};
	struct timespec now;
	uint64_t deadline;
	pthread_t t;

	clock_gettime(CLOCK_MONOTONIC, &now);
	deadline = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec + 30000000ull;
	install(x, a, reg, reg, 64, XOK_WK_EQ, 1, deadline); /* never true by itself */
	assert_true(a->pred->deadline_armed);
	assert_int_equal(pthread_create(&t, NULL, sleeper, &s), 0);
	while (!__atomic_load_n(&wk->sleeping, __ATOMIC_ACQUIRE))
		usleep(1000);
	wk_timer(x); /* too early: nothing */
	wk_run(x);
	assert_int_equal(wk->seq, 0);
	usleep(40000);
	wk_timer(x); /* what timer_fd firing does */
	wk_run(x);
	pthread_join(t, NULL);
	assert_true(s.woke);
	assert_false(a->pred->deadline_armed); /* fires once */
}

static void test_table_notify(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000), *pub = kt_app(x, 0);
	size_t size = (sizeof(struct xok_arp_table) + 4095) & ~(size_t)4095;
	struct xok_table_req m = {.table = XOK_TABLE_ARP, .size = size}, r;
	uint8_t *base;
	uint32_t reg = kt_region(x, a, 4096, (void **)&base);
	struct xok_wake *wk = (struct xok_wake *)base;
	struct sleeper s = {&wk->seq, &wk->sleeping};
	struct xok_arp_table *tab;
	pthread_t t;

	assert_int_equal(KT_CALL(x, pub, XOK_OP_TABLE_PUBLISH, &m, &r), 0);
	tab = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   x->tables[XOK_TABLE_ARP].rw_fd, 0);
	assert_true(tab != MAP_FAILED);
	/* wait for the table's version to move past 0 */
	install(x, a, reg, XOK_REGION_TABLE(XOK_TABLE_ARP), offsetof(struct xok_arp_table, version),
		XOK_WK_NE, 0, 0);
	assert_int_equal(pthread_create(&t, NULL, sleeper, &s), 0);
	while (!__atomic_load_n(&wk->sleeping, __ATOMIC_ACQUIRE))
		usleep(1000);
	__atomic_store_n(&tab->version, 1, __ATOMIC_RELEASE);
	m.size = 0;
	assert_int_equal(KT_CALL(x, pub, XOK_OP_TABLE_NOTIFY, &m, &r), 0);
	wk_run(x);
	pthread_join(t, NULL);
	assert_true(s.woke);
	/* the table region is pinned by the predicate; a new publisher (after the first is
	 * gone) writes into the same memory the predicate reads */
	assert_int_equal(x->tables[XOK_TABLE_ARP].reg->refs, 1);
	app_free(x, pub);
	app_reap(x);
	pub = kt_app(x, 0);
	m.size = size;
	assert_int_equal(KT_CALL(x, pub, XOK_OP_TABLE_PUBLISH, &m, &r), 0);
	__atomic_store_n(&tab->version, 0, __ATOMIC_RELEASE);
	assert_false(wk_eval(a->pred, 0));
	__atomic_store_n(&tab->version, 2, __ATOMIC_RELEASE);
	assert_true(wk_eval(a->pred, 0));
	munmap(tab, size);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ops),
	    cmocka_unit_test(test_word_rhs),
	    cmocka_unit_test(test_products),
	    cmocka_unit_test_setup_teardown(test_wake, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wake_on_delivery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_table_notify, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
