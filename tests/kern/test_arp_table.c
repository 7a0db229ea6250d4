/* test_arp_table.c - xok_arp_table_find: every reader's view of arpd's seqlock'd table */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kern_test.h"

#define A1 0xc6120002u
#define A2 0xc6120003u

static struct xok_arp_table *new_table(void)
{
	struct xok_arp_table *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->nentries = XOK_ARP_ENTRIES;
	return t;
}

static void put(struct xok_arp_table *t, int i, uint32_t addr, uint32_t ifindex,
		uint8_t last, uint16_t state)
{
	t->e[i] = (struct xok_arp_entry){
	    .addr = addr, .ifindex = ifindex, .mac = {2, 0, 0, 0, 0, last}, .state = state};
}

static void test_found_and_not(void **state)
{
	struct xok_arp_table *t = new_table();
	uint8_t mac[6] = {0};
	const uint8_t want[6] = {2, 0, 0, 0, 0, 7};

	(void)state;
	put(t, 0, A2, 5, 6, XOK_ARP_FAILED);
	put(t, 1, A1, 5, 7, XOK_ARP_VALID);
	assert_int_equal(xok_arp_table_find(t, 5, A1, mac, 10), 0);
	assert_memory_equal(mac, want, 6);
	/* a failed entry is not an answer; nor is an address that is not there */
	assert_int_equal(xok_arp_table_find(t, 5, A2, mac, 10), -ENOENT);
	assert_int_equal(xok_arp_table_find(t, 5, 0xc6120009u, mac, 10), -ENOENT);
	free(t);
}

static void test_interfaces(void **state)
{
	struct xok_arp_table *t = new_table();
	uint8_t mac[6] = {0};

	(void)state;
	put(t, 0, A1, 5, 1, XOK_ARP_VALID);
	put(t, 1, A1, 6, 2, XOK_ARP_VALID);
	put(t, 2, A2, 0, 3, XOK_ARP_VALID);
	assert_int_equal(xok_arp_table_find(t, 6, A1, mac, 10), 0);
	assert_int_equal(mac[5], 2); /* the entry of the interface asked for */
	assert_int_equal(xok_arp_table_find(t, 7, A1, mac, 10), -ENOENT);
	assert_int_equal(xok_arp_table_find(t, 0, A1, mac, 10), 0); /* 0: any interface */
	assert_int_equal(mac[5], 1);
	assert_int_equal(xok_arp_table_find(t, 9, A2, mac, 10), 0); /* entry for any */
	assert_int_equal(mac[5], 3);
	free(t);
}

static void test_bounds(void **state)
{
	struct xok_arp_table *t = new_table();
	uint8_t mac[6] = {0};

	(void)state;
	put(t, 3, A1, 5, 1, XOK_ARP_VALID);
	t->nentries = 3; /* only the first three count */
	assert_int_equal(xok_arp_table_find(t, 5, A1, mac, 10), -ENOENT);
	/* a publisher's bogus count cannot take the reader past the array */
	put(t, XOK_ARP_ENTRIES - 1, A2, 5, 4, XOK_ARP_VALID);
	t->nentries = 0xffffffffu;
	assert_int_equal(xok_arp_table_find(t, 5, A2, mac, 10), 0);
	assert_int_equal(mac[5], 4);
	free(t);
}

static void test_writer_holds_lock(void **state)
{
	struct xok_arp_table *t = new_table();
	uint8_t mac[6] = {0};

	(void)state;
	put(t, 0, A1, 5, 1, XOK_ARP_VALID);
	t->seq = 3; /* odd: arpd is writing */
	assert_int_equal(xok_arp_table_find(t, 5, A1, mac, 100), -EAGAIN);
	assert_int_equal(xok_arp_table_find(t, 5, A1, mac, 0), -EAGAIN);
	t->seq = 4;
	assert_int_equal(xok_arp_table_find(t, 5, A1, mac, 1), 0);
	free(t);
}

/* A writer flips one entry's MAC between two values while readers look: a reader may see
 * either, never a mix of the two (the seqlock's whole point). */
struct flip {
	struct xok_arp_table *t;
	int stop;
};

static void *writer(void *arg)
{
	struct flip *f = arg;

	for (uint32_t k = 0; !__atomic_load_n(&f->stop, __ATOMIC_RELAXED); k++) {
		uint8_t v = (k & 1) ? 0xaa : 0x55;

		__atomic_store_n(&f->t->seq, f->t->seq + 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		for (int i = 0; i < 6; i++)
			__atomic_store_n(&f->t->e[0].mac[i], v, __ATOMIC_RELAXED);
		xok_store_release(&f->t->seq, f->t->seq + 1);
	}
	return NULL;
}

static void test_no_torn_reads(void **state)
{
	struct flip f = {.t = new_table()};
	pthread_t th;
	int ok = 0;

	(void)state;
	put(f.t, 0, A1, 5, 0x55, XOK_ARP_VALID);
	memset(f.t->e[0].mac, 0x55, 6);
	assert_int_equal(pthread_create(&th, NULL, writer, &f), 0);
	for (int i = 0; i < 200000; i++) {
		uint8_t mac[6];

		if (xok_arp_table_find(f.t, 5, A1, mac, 1000) != 0)
			continue;
		ok++;
		for (int b = 1; b < 6; b++)
			assert_int_equal(mac[b], mac[0]);
		assert_true(mac[0] == 0x55 || mac[0] == 0xaa);
	}
	__atomic_store_n(&f.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	assert_true(ok > 0);
	free(f.t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_found_and_not),
	    cmocka_unit_test(test_interfaces),
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_writer_holds_lock),
	    cmocka_unit_test(test_no_torn_reads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
