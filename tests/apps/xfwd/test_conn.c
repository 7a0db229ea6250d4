/* test_conn.c - xfwd's connection table: SYN, retransmits, FINs, RST, expiry, recycling */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <xok/proto/tcp.h>

#include "conn.h"

#define MS	  1000000ull
#define S	  1000000000ull
#define SYN_NS	  (30 * S)
#define IDLE_NS	  (600 * S)
#define LINGER_NS (2 * S)

struct fixture {
	struct conn_table t;
	unsigned released;
	struct xfwd_conn last_released;
};

static void on_release(struct conn_table *t, struct xfwd_conn *c, void *arg)
{
	struct fixture *fx = arg;

	(void)t;
	fx->released++;
	fx->last_released = *c;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx || conn_table_init(&fx->t, 1024, SYN_NS, IDLE_NS, LINGER_NS, 12345))
		return -1;
	fx->t.release = on_release;
	fx->t.release_arg = fx;
	*state = fx;
	return 0;
}

/* Teardown asserts nothing leaked: every entry in use is on a list, and freeing the table
 * releases each one once. */
static int teardown(void **state)
{
	struct fixture *fx = *state;
	uint32_t listed = 0, inuse = fx->t.inuse;

	for (int s = 0; s < CONN_STATE_NR; s++)
		listed += fx->t.lists[s].n;
	assert_int_equal(listed, inuse);
	fx->released = 0;
	conn_table_free(&fx->t);
	assert_int_equal(fx->released, inuse);
	free(fx);
	return 0;
}

static struct xfwd_conn key_of(uint32_t n)
{
	struct xfwd_conn k = {0};

	k.caddr = htonl(0xc6120002u + (n >> 16));
	k.cport = htons((uint16_t)(1024 + (n & 0xffff)));
	k.laddr = htonl(0xc6120001u);
	k.lport = htons(80);
	k.baddr = htonl(0xc6120102u);
	k.bport = htons(80);
	k.eport = htons((uint16_t)(61440 + (n & 4095)));
	k.local = htonl(0xc6120101u);
	k.isn = 1000 + n;
	return k;
}

static struct xfwd_conn *add(struct fixture *fx, uint32_t n, uint64_t now)
{
	struct xfwd_conn k = key_of(n);

	assert_null(conn_find_client(&fx->t, k.caddr, k.cport, k.laddr, k.lport));
	assert_int_equal(conn_client_syn(&fx->t, NULL, k.isn), CONN_SYN_NEW);
	return conn_new(&fx->t, &k, now);
}

/* The handshake both ways; returns the entry in EST. */
static struct xfwd_conn *establish(struct fixture *fx, uint32_t n, uint64_t now)
{
	struct xfwd_conn *c = add(fx, n, now);

	assert_non_null(c);
	conn_track(&fx->t, c, CONN_C2B, TCP_SYN, c->isn, 0, 0, now);
	conn_track(&fx->t, c, CONN_B2C, TCP_SYN | TCP_ACK, 5000, c->isn + 1, 0, now);
	assert_int_equal(c->state, CONN_EST);
	conn_track(&fx->t, c, CONN_C2B, TCP_ACK, c->isn + 1, 5001, 0, now);
	return c;
}

static void test_syn_and_lookup(void **state)
{
	struct fixture *fx = *state;
	struct xfwd_conn k = key_of(7), *c;

	c = add(fx, 7, 0);
	assert_non_null(c);
	assert_int_equal(c->state, CONN_SYN);
	assert_ptr_equal(conn_find_client(&fx->t, k.caddr, k.cport, k.laddr, k.lport), c);
	assert_ptr_equal(conn_find_backend(&fx->t, k.baddr, k.bport, k.eport), c);
	/* other keys miss */
	assert_null(conn_find_client(&fx->t, k.caddr, htons(1), k.laddr, k.lport));
	assert_null(conn_find_backend(&fx->t, k.baddr, k.bport, htons(1)));
	assert_null(conn_find_backend(&fx->t, htonl(1), k.bport, k.eport));
	assert_int_equal(fx->t.inuse, 1);
}

/* Retransmitted SYNs find the entry: no duplicate. */
static void test_syn_retransmit(void **state)
{
	struct fixture *fx = *state;
	struct xfwd_conn k = key_of(1), *c;

	c = add(fx, 1, 0);
	conn_track(&fx->t, c, CONN_C2B, TCP_SYN, k.isn, 0, 0, 0);
	for (int i = 1; i <= 3; i++) {
		struct xfwd_conn *f = conn_find_client(&fx->t, k.caddr, k.cport, k.laddr, k.lport);

		assert_ptr_equal(f, c);
		assert_int_equal(conn_client_syn(&fx->t, f, k.isn), CONN_SYN_RETRANS);
		conn_track(&fx->t, f, CONN_C2B, TCP_SYN, k.isn, 0, 0, i * S);
	}
	assert_int_equal(fx->t.inuse, 1);
	assert_int_equal(fx->t.st.created, 1);
	assert_int_equal(fx->t.st.syn_retrans, 3);
	assert_int_equal(c->state, CONN_SYN);
	/* the retransmissions kept it alive: it expires SYN_NS after the last one */
	assert_int_equal(conn_expire(&fx->t, 3 * S + SYN_NS - 1, 100), 0);
	assert_int_equal(conn_expire(&fx->t, 3 * S + SYN_NS, 100), 1);
	assert_int_equal(fx->t.st.expired_syn, 1);
	assert_int_equal(fx->released, 1);
}

/* Both FINs, each acknowledged: LINGER, then gone after the linger time. */
static void test_fins(void **state)
{
	struct fixture *fx = *state;
	struct xfwd_conn *c = establish(fx, 2, 0);
	uint32_t cs = c->isn + 1;

	/* the client sends 100 bytes and its FIN in one segment */
	conn_track(&fx->t, c, CONN_C2B, TCP_ACK | TCP_FIN | TCP_PSH, cs, 5001, 100, 1 * MS);
	assert_true(c->flags & CONN_FIN_C);
	assert_int_equal(c->fin_c, cs + 101);
	/* an ACK of the data but not the FIN does not count */
	conn_track(&fx->t, c, CONN_B2C, TCP_ACK, 5001, cs + 100, 0, 2 * MS);
	assert_false(c->flags & CONN_FIN_C_ACKED);
	/* the backend answers 1000 bytes, acknowledging the FIN */
	conn_track(&fx->t, c, CONN_B2C, TCP_ACK | TCP_PSH, 5001, cs + 101, 1000, 3 * MS);
	assert_true(c->flags & CONN_FIN_C_ACKED);
	assert_int_equal(c->state, CONN_EST);
	/* the backend's FIN ... */
	conn_track(&fx->t, c, CONN_B2C, TCP_ACK | TCP_FIN, 6001, cs + 101, 0, 4 * MS);
	assert_int_equal(c->fin_b, 6002);
	assert_int_equal(c->state, CONN_EST);
	/* ... and the client's last ACK */
	conn_track(&fx->t, c, CONN_C2B, TCP_ACK, cs + 101, 6002, 0, 5 * MS);
	assert_int_equal(c->state, CONN_LINGER);
	assert_int_equal(fx->t.st.closed_fin, 1);
	/* late retransmissions neither revive nor extend it */
	conn_track(&fx->t, c, CONN_B2C, TCP_ACK | TCP_FIN, 6001, cs + 101, 0, 1 * S);
	assert_int_equal(c->state, CONN_LINGER);
	assert_int_equal(conn_next_deadline(&fx->t), 5 * MS + LINGER_NS);
	assert_int_equal(conn_expire(&fx->t, 5 * MS + LINGER_NS - 1, 100), 0);
	assert_int_equal(conn_expire(&fx->t, 5 * MS + LINGER_NS, 100), 1);
	assert_int_equal(fx->t.st.expired_linger, 1);
	assert_int_equal(fx->released, 1);
	assert_int_equal(fx->t.inuse, 0);
}

/* One FIN alone, even acknowledged, is a half-close: the entry stays. */
static void test_half_close(void **state)
{
	struct fixture *fx = *state;
	struct xfwd_conn *c = establish(fx, 3, 0);

	conn_track(&fx->t, c, CONN_C2B, TCP_ACK | TCP_FIN, c->isn + 1, 5001, 0, 1 * MS);
	conn_track(&fx->t, c, CONN_B2C, TCP_ACK, 5001, c->isn + 2, 0, 2 * MS);
	assert_int_equal(c->flags, CONN_FIN_C | CONN_FIN_C_ACKED);
	assert_int_equal(c->state, CONN_EST);
	/* data keeps flowing from the backend */
	conn_track(&fx->t, c, CONN_B2C, TCP_ACK, 5001, c->isn + 2, 1448, 3 * MS);
	assert_int_equal(c->state, CONN_EST);
	assert_int_equal(conn_expire(&fx->t, 10 * S, 100), 0);
}

/* A FIN whose acknowledgement wraps around 2^32. */
static void test_fin_wraparound(void **state)
{
	struct fixture *fx = *state;
	struct xfwd_conn *c = establish(fx, 4, 0);

	conn_track(&fx->t, c, CONN_B2C, TCP_ACK | TCP_FIN, 0xfffffff0u, c->isn + 1, 0x10, 1);
	assert_int_equal(c->fin_b, 1);
	conn_track(&fx->t, c, CONN_C2B, TCP_ACK, c->isn + 1, 0, 0, 2);
	assert_false(c->flags & CONN_FIN_B_ACKED);
	conn_track(&fx->t, c, CONN_C2B, TCP_ACK, c->isn + 1, 1, 0, 3);
	assert_true(c->flags & CONN_FIN_B_ACKED);
}

/* A RST either way ends it (after the linger time). */
static void test_rst(void **state)
{
	struct fixture *fx = *state;
	struct xfwd_conn *a = add(fx, 5, 0), *b = establish(fx, 6, 0);

	/* connection refused: the backend answers the SYN with RST|ACK */
	conn_track(&fx->t, a, CONN_C2B, TCP_SYN, a->isn, 0, 0, 0);
	conn_track(&fx->t, a, CONN_B2C, TCP_RST | TCP_ACK, 0, a->isn + 1, 0, 1 * MS);
	assert_int_equal(a->state, CONN_LINGER);
	assert_true(a->flags & CONN_RST);
	/* the client resets an established one */
	conn_track(&fx->t, b, CONN_C2B, TCP_RST, b->isn + 1, 0, 0, 2 * MS);
	assert_int_equal(b->state, CONN_LINGER);
	assert_int_equal(fx->t.st.closed_rst, 2);
	assert_int_equal(conn_expire(&fx->t, 2 * MS + LINGER_NS, 100), 2);
	assert_int_equal(fx->t.inuse, 0);
}

/* A new SYN on a lingering 4-tuple: the same ISN is a late retransmission, another ISN a
 * new connection. */
static void test_recycle(void **state)
{
	struct fixture *fx = *state;
	struct xfwd_conn *c = establish(fx, 8, 0);

	conn_track(&fx->t, c, CONN_C2B, TCP_RST, c->isn + 1, 0, 0, 1);
	assert_int_equal(conn_client_syn(&fx->t, c, c->isn), CONN_SYN_RETRANS);
	assert_int_equal(conn_client_syn(&fx->t, c, c->isn + 12345), CONN_SYN_RECYCLE);
	assert_int_equal(fx->t.st.recycled, 1);
	/* the caller frees it and creates the new one: same client key, maybe a new port */
	struct xfwd_conn k = *c;
	conn_free(&fx->t, c);
	assert_int_equal(fx->released, 1);
	k.isn += 12345;
	k.eport = htons(61999);
	c = conn_new(&fx->t, &k, 2);
	assert_non_null(c);
	assert_int_equal(c->state, CONN_SYN);
	assert_int_equal(c->flags, 0);
	assert_ptr_equal(conn_find_client(&fx->t, k.caddr, k.cport, k.laddr, k.lport), c);
	assert_ptr_equal(conn_find_backend(&fx->t, k.baddr, k.bport, htons(61999)), c);
	/* a live connection's stray SYN is forwarded, not a new connection */
	struct xfwd_conn *e = establish(fx, 9, 3);
	assert_int_equal(conn_client_syn(&fx->t, e, e->isn + 99), CONN_SYN_RETRANS);
}

/* Idle expiry follows the last packet, per entry, in order. */
static void test_idle_expiry(void **state)
{
	struct fixture *fx = *state;
	struct xfwd_conn *a = establish(fx, 10, 0), *b = establish(fx, 11, 0);
	struct xfwd_conn ka = *a;

	/* traffic on a at t=100 s keeps it; b expires at IDLE_NS */
	conn_track(&fx->t, a, CONN_B2C, TCP_ACK, 5001, a->isn + 1, 10, 100 * S);
	assert_int_equal(conn_next_deadline(&fx->t), IDLE_NS);
	assert_int_equal(conn_expire(&fx->t, IDLE_NS, 100), 1);
	assert_int_equal(fx->last_released.cport, key_of(11).cport);
	(void)b;
	assert_int_equal(fx->t.st.expired_idle, 1);
	assert_ptr_equal(conn_find_client(&fx->t, ka.caddr, ka.cport, ka.laddr, ka.lport), a);
	assert_int_equal(conn_expire(&fx->t, 100 * S + IDLE_NS - 1, 100), 0);
	assert_int_equal(conn_expire(&fx->t, 100 * S + IDLE_NS, 100), 1);
	assert_int_equal(fx->t.inuse, 0);
	assert_int_equal(conn_next_deadline(&fx->t), 0);
}

/* The budget bounds the work of one expiry pass. */
static void test_expire_budget(void **state)
{
	struct fixture *fx = *state;

	for (uint32_t i = 0; i < 50; i++)
		assert_non_null(add(fx, 100 + i, 0));
	assert_int_equal(conn_expire(&fx->t, SYN_NS, 20), 20);
	assert_int_equal(conn_expire(&fx->t, SYN_NS, 100), 30);
}

/* A full table refuses, and recovers when entries go. */
static void test_full(void **state)
{
	struct fixture *fx = *state;
	uint32_t i;

	for (i = 0; i < 1024; i++)
		assert_non_null(add(fx, 1000 + i, 0));
	struct xfwd_conn k = key_of(5000);
	assert_null(conn_new(&fx->t, &k, 0));
	assert_int_equal(fx->t.st.full, 1);
	assert_int_equal(conn_expire(&fx->t, SYN_NS, 1), 1);
	assert_non_null(conn_new(&fx->t, &k, SYN_NS));
}

/* Random creates and frees against a shadow array: the hash chains stay consistent. */
static void test_random_churn(void **state)
{
	struct fixture *fx = *state;
	static struct xfwd_conn *live[4096];
	uint64_t r = 88172645463325252ull;

	for (int step = 0; step < 200000; step++) {
		uint32_t n;

		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		n = (uint32_t)(r % 4096);
		struct xfwd_conn k = key_of(n);
		struct xfwd_conn *c = conn_find_client(&fx->t, k.caddr, k.cport, k.laddr, k.lport);

		assert_ptr_equal(c, live[n]);
		if (c) {
			assert_ptr_equal(conn_find_backend(&fx->t, k.baddr, k.bport, k.eport), c);
			conn_free(&fx->t, c);
			live[n] = NULL;
		} else if (fx->t.inuse < fx->t.max &&
			   !conn_find_backend(&fx->t, k.baddr, k.bport, k.eport)) {
			live[n] = conn_new(&fx->t, &k, (uint64_t)step);
			assert_non_null(live[n]);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_syn_and_lookup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_syn_retransmit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fins, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_half_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fin_wraparound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rst, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idle_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expire_budget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_random_churn, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
