/* conn.c - xfwd's connection table: lookup both ways, lifecycle from SYN to LINGER, expiry */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xok/proto/tcp.h>

#include "conn.h"

static uint32_t mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Seeded, so that a client cannot aim its 4-tuples at one chain. */
static uint32_t conn_hash(uint32_t seed, uint32_t a, uint32_t b, uint32_t ports)
{
	return mix(mix(mix(seed ^ a) ^ b) ^ ports);
}

static uint32_t chash_of(const struct conn_table *t, uint32_t caddr, uint16_t cport, uint32_t laddr,
			 uint16_t lport)
{
	return conn_hash(t->seed, caddr, laddr, (uint32_t)cport << 16 | lport) & t->hmask;
}

static uint32_t bhash_of(const struct conn_table *t, uint32_t baddr, uint16_t bport, uint16_t eport)
{
	return conn_hash(t->seed, baddr, 0x5bd1e995u, (uint32_t)bport << 16 | eport) & t->hmask;
}

int conn_table_init(struct conn_table *t, uint32_t max, uint64_t syn_ns, uint64_t idle_ns,
		    uint64_t linger_ns, uint32_t seed)
{
	uint32_t nb = 64;

	memset(t, 0, sizeof(*t));
	if (max == 0 || max > (1u << 24))
		return -EINVAL;
	while (nb < max && nb < (1u << 22))
		nb <<= 1;
	t->pool = calloc(max, sizeof(*t->pool));
	t->chash = calloc(nb, sizeof(*t->chash));
	t->bhash = calloc(nb, sizeof(*t->bhash));
	if (!t->pool || !t->chash || !t->bhash) {
		conn_table_free(t);
		return -ENOMEM;
	}
	t->max = max;
	t->hmask = nb - 1;
	t->seed = seed;
	t->timeout[CONN_SYN] = syn_ns;
	t->timeout[CONN_EST] = idle_ns;
	t->timeout[CONN_LINGER] = linger_ns;
	for (uint32_t i = max; i-- > 0;) {
		t->pool[i].next = t->free;
		t->free = &t->pool[i];
	}
	return 0;
}

void conn_table_free(struct conn_table *t)
{
	for (int s = 0; s < CONN_STATE_NR; s++)
		while (t->lists[s].head)
			conn_free(t, t->lists[s].head);
	free(t->pool);
	free(t->chash);
	free(t->bhash);
	t->pool = NULL;
	t->chash = t->bhash = NULL;
	t->free = NULL;
}

struct xfwd_conn *conn_find_client(const struct conn_table *t, uint32_t caddr, uint16_t cport,
				   uint32_t laddr, uint16_t lport)
{
	struct xfwd_conn *c = t->chash[chash_of(t, caddr, cport, laddr, lport)];

	for (; c; c = c->cnext)
		if (c->caddr == caddr && c->cport == cport && c->laddr == laddr &&
		    c->lport == lport)
			return c;
	return NULL;
}

struct xfwd_conn *conn_find_backend(const struct conn_table *t, uint32_t baddr, uint16_t bport,
				    uint16_t eport)
{
	struct xfwd_conn *c = t->bhash[bhash_of(t, baddr, bport, eport)];

	for (; c; c = c->bnext)
		if (c->eport == eport && c->baddr == baddr && c->bport == bport)
			return c;
	return NULL;
}

/* ---- the per-state lists ---- */

static void list_append(struct conn_list *l, struct xfwd_conn *c)
{
	c->next = NULL;
	c->prev = l->tail;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->n++;
}

static void list_unlink(struct conn_list *l, struct xfwd_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
	l->n--;
}

static void conn_set_state(struct conn_table *t, struct xfwd_conn *c, enum conn_state s,
			   uint64_t now)
{
	list_unlink(&t->lists[c->state], c);
	c->state = (uint8_t)s;
	c->t = now;
	list_append(&t->lists[s], c);
}

/* A packet went by: to the tail of its list (the list stays in expiry order). */
static void conn_touch(struct conn_table *t, struct xfwd_conn *c, uint64_t now)
{
	struct conn_list *l = &t->lists[c->state];

	c->t = now;
	if (l->tail != c) {
		list_unlink(l, c);
		list_append(l, c);
	}
}

struct xfwd_conn *conn_new(struct conn_table *t, const struct xfwd_conn *key, uint64_t now)
{
	struct xfwd_conn *c = t->free;
	uint32_t h;

	if (!c) {
		t->st.full++;
		return NULL;
	}
	t->free = c->next;
	*c = *key;
	c->cnext = c->bnext = c->prev = c->next = NULL;
	c->state = CONN_SYN;
	c->flags = 0;
	c->t = now;
	h = chash_of(t, c->caddr, c->cport, c->laddr, c->lport);
	c->cnext = t->chash[h];
	t->chash[h] = c;
	h = bhash_of(t, c->baddr, c->bport, c->eport);
	c->bnext = t->bhash[h];
	t->bhash[h] = c;
	list_append(&t->lists[CONN_SYN], c);
	t->inuse++;
	t->st.created++;
	return c;
}

void conn_free(struct conn_table *t, struct xfwd_conn *c)
{
	struct xfwd_conn **pp;

	if (t->release)
		t->release(t, c, t->release_arg);
	pp = &t->chash[chash_of(t, c->caddr, c->cport, c->laddr, c->lport)];
	while (*pp != c)
		pp = &(*pp)->cnext;
	*pp = c->cnext;
	pp = &t->bhash[bhash_of(t, c->baddr, c->bport, c->eport)];
	while (*pp != c)
		pp = &(*pp)->bnext;
	*pp = c->bnext;
	list_unlink(&t->lists[c->state], c);
	memset(c, 0, sizeof(*c));
	c->next = t->free;
	t->free = c;
	t->inuse--;
}

void conn_track(struct conn_table *t, struct xfwd_conn *c, enum conn_dir dir, uint8_t flags,
		uint32_t seq, uint32_t ack, uint32_t paylen, uint64_t now)
{
	uint8_t fin = dir == CONN_C2B ? CONN_FIN_C : CONN_FIN_B;
	uint8_t other = dir == CONN_C2B ? CONN_FIN_B : CONN_FIN_C;
	uint32_t *fin_seq = dir == CONN_C2B ? &c->fin_c : &c->fin_b;
	uint32_t other_seq = dir == CONN_C2B ? c->fin_b : c->fin_c;

	if (c->state == CONN_LINGER)
		return; /* forwarded, but its end is already set */
	if (flags & TCP_RST) {
		c->flags |= CONN_RST;
		t->st.closed_rst++;
		conn_set_state(t, c, CONN_LINGER, now);
		return;
	}
	if (dir == CONN_B2C && c->state == CONN_SYN &&
	    (flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK)) {
		conn_set_state(t, c, CONN_EST, now);
	}
	if ((flags & TCP_FIN) && !(c->flags & fin)) {
		c->flags |= fin;
		*fin_seq = seq + paylen + 1 + !!(flags & TCP_SYN);
	}
	if ((flags & TCP_ACK) && (c->flags & other) && !(c->flags & (other << 1)) &&
	    seq_geq(ack, other_seq))
		c->flags |= (uint8_t)(other << 1); /* CONN_FIN_x_ACKED */
	if ((c->flags & CONN_FINS_DONE) == CONN_FINS_DONE) {
		t->st.closed_fin++;
		conn_set_state(t, c, CONN_LINGER, now);
		return;
	}
	conn_touch(t, c, now);
}

enum conn_syn_verdict conn_client_syn(struct conn_table *t, const struct xfwd_conn *c, uint32_t seq)
{
	if (!c)
		return CONN_SYN_NEW;
	if (c->state == CONN_LINGER && seq != c->isn) {
		t->st.recycled++;
		return CONN_SYN_RECYCLE;
	}
	t->st.syn_retrans++;
	return CONN_SYN_RETRANS;
}

uint32_t conn_expire(struct conn_table *t, uint64_t now, uint32_t budget)
{
	uint32_t n = 0;

	for (int s = 0; s < CONN_STATE_NR; s++) {
		struct conn_list *l = &t->lists[s];

		while (n < budget && l->head && now - l->head->t >= t->timeout[s]) {
			if (s == CONN_SYN)
				t->st.expired_syn++;
			else if (s == CONN_EST)
				t->st.expired_idle++;
			else
				t->st.expired_linger++;
			conn_free(t, l->head);
			n++;
		}
	}
	return n;
}

uint64_t conn_next_deadline(const struct conn_table *t)
{
	uint64_t d = 0;

	for (int s = 0; s < CONN_STATE_NR; s++) {
		const struct xfwd_conn *c = t->lists[s].head;

		if (c && (!d || c->t + t->timeout[s] < d))
			d = c->t + t->timeout[s];
	}
	return d;
}

const char *conn_state_name(enum conn_state s)
{
	static const char *const names[CONN_STATE_NR] = {"SYN", "EST", "LINGER"};

	return (unsigned)s < CONN_STATE_NR ? names[s] : "?";
}
