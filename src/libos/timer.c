/* timer.c - the stack's timers: a binary min-heap of deadlines, run from the poll loop */
#include <stdlib.h>

#include "libos.h"

/*
 * No threads and no signals (§3.3 (2)): timers fire when the application calls into the
 * library, and exos_stack_wait sleeps no later than the earliest deadline.  Each timer is
 * embedded in its owner and remembers its heap slot, so arming, re-arming and cancelling
 * are O(log n) and allocation-free once the heap array has grown.
 */

void timer_init(struct exos_timer *t, void (*fn)(struct exos_stack *, struct exos_timer *))
{
	t->when = 0;
	t->idx = 0;
	t->fn = fn;
}

static void heap_set(struct timer_heap *h, uint32_t i, struct exos_timer *t)
{
	h->h[i] = t;
	t->idx = i + 1;
}

static void heap_up(struct timer_heap *h, uint32_t i)
{
	struct exos_timer *t = h->h[i];

	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (h->h[p]->when <= t->when)
			break;
		heap_set(h, i, h->h[p]);
		i = p;
	}
	heap_set(h, i, t);
}

static void heap_down(struct timer_heap *h, uint32_t i)
{
	struct exos_timer *t = h->h[i];

	for (;;) {
		uint32_t l = 2 * i + 1, m = i;
		uint64_t mw = t->when;
		if (l < h->n && h->h[l]->when < mw) {
			m = l;
			mw = h->h[l]->when;
		}
		if (l + 1 < h->n && h->h[l + 1]->when < mw)
			m = l + 1;
		if (m == i)
			break;
		heap_set(h, i, h->h[m]);
		i = m;
	}
	heap_set(h, i, t);
}

static void heap_remove(struct timer_heap *h, struct exos_timer *t)
{
	uint32_t i = t->idx - 1;
	struct exos_timer *last = h->h[--h->n];

	t->idx = 0;
	if (last == t)
		return;
	heap_set(h, i, last);
	if (i > 0 && h->h[(i - 1) / 2]->when > last->when)
		heap_up(h, i);
	else
		heap_down(h, i);
}

void timer_arm(struct exos_stack *s, struct exos_timer *t, uint64_t when)
{
	struct timer_heap *h = &s->timers;

	if (t->idx) {
		uint64_t old = t->when;
		t->when = when;
		if (when < old)
			heap_up(h, t->idx - 1);
		else if (when > old)
			heap_down(h, t->idx - 1);
		return;
	}
	if (h->n == h->cap) {
		uint32_t cap = h->cap ? h->cap * 2 : 64;
		struct exos_timer **nh = realloc(h->h, cap * sizeof(*nh));
		if (!nh)
			abort(); /* a few pointers per connection: nothing sensible to do */
		h->h = nh;
		h->cap = cap;
	}
	t->when = when;
	h->h[h->n] = t;
	t->idx = ++h->n;
	heap_up(h, h->n - 1);
}

void timer_cancel(struct exos_stack *s, struct exos_timer *t)
{
	if (t->idx)
		heap_remove(&s->timers, t);
}

uint64_t timer_next(const struct timer_heap *h)
{
	return h->n ? h->h[0]->when : 0;
}

void timer_run(struct exos_stack *s)
{
	struct timer_heap *h = &s->timers;

	while (h->n && h->h[0]->when <= s->now) {
		struct exos_timer *t = h->h[0];
		heap_remove(h, t);
		t->fn(s, t);
	}
}

void timer_heap_free(struct timer_heap *h)
{
	for (uint32_t i = 0; i < h->n; i++)
		h->h[i]->idx = 0;
	free(h->h);
	h->h = NULL;
	h->n = h->cap = 0;
}
