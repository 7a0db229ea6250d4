/* table.c - arpd's ARP table: seqlock'd writes, learning, aging and refresh */

/*
 * The table is an open array of XOK_ARP_ENTRIES slots that readers scan under the seqlock
 * (`seq` odd while we write).  arpd is the only writer, so a write is: seq++ (odd), release
 * fence, the stores, seq++ (even, release).  Each change is its own short write section so
 * readers never spin long; `version` is bumped once per batch of changes (table_publish),
 * after the seqlock is even again, and xokd is told so that sleeping applications whose
 * predicate watches `version` are re-evaluated.
 *
 * Life of an entry: VALID when learned; from max_age * 3/4 arpd sends up to ARPD_PROBES
 * unicast requests to the recorded MAC (a reply addressed to us refreshes it); unanswered
 * at max_age it becomes FAILED (applications ignore it; their next request starts over)
 * and is freed ARPD_FAILED_HOLD_NS later.  A full table evicts a FAILED entry, else the
 * least recently confirmed one.  Times are CLOCK_MONOTONIC (exos_now_ns).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arpd.h"

static void tab_write_begin(struct arpd *d)
{
	uint32_t s = __atomic_load_n(&d->tab->seq, __ATOMIC_RELAXED);

	__atomic_store_n(&d->tab->seq, s + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE); /* seq odd before any entry store */
}

static void tab_write_end(struct arpd *d)
{
	uint32_t s = __atomic_load_n(&d->tab->seq, __ATOMIC_RELAXED);

	xok_store_release(&d->tab->seq, s + 1);
	d->changed = true;
}

static uint64_t refresh_after(const struct arpd *d)
{
	return d->max_age_ns / ARPD_REFRESH_DEN * ARPD_REFRESH_NUM;
}

static uint64_t probe_interval(const struct arpd *d)
{
	uint64_t iv = (d->max_age_ns - refresh_after(d)) / ARPD_PROBES;

	return iv ? iv : 1;
}

void table_init(struct arpd *d)
{
	memset(d->slot, 0, sizeof(d->slot));
	tab_write_begin(d);
	__atomic_store_n(&d->tab->nentries, XOK_ARP_ENTRIES, __ATOMIC_RELAXED);
	tab_write_end(d);
}

int table_find(const struct arpd *d, uint32_t ifindex, uint32_t addr)
{
	for (int i = 0; i < XOK_ARP_ENTRIES; i++) {
		const struct xok_arp_entry *e = &d->tab->e[i];

		if (e->addr == addr && e->ifindex == ifindex && e->state != XOK_ARP_FREE)
			return i;
	}
	return -1;
}

/* A slot for a new entry: a free one, else a FAILED one, else the oldest. */
static int table_alloc(struct arpd *d)
{
	int failed = -1, oldest = -1;

	for (int i = 0; i < XOK_ARP_ENTRIES; i++) {
		const struct xok_arp_entry *e = &d->tab->e[i];

		if (e->state == XOK_ARP_FREE)
			return i;
		if (e->state == XOK_ARP_FAILED && failed < 0)
			failed = i;
		if (oldest < 0 || e->updated_ns < d->tab->e[oldest].updated_ns)
			oldest = i;
	}
	d->st.evicted++;
	return failed >= 0 ? failed : oldest;
}

static void entry_store(struct xok_arp_entry *e, uint32_t ifindex, uint32_t addr,
			const uint8_t *mac, uint16_t state, uint64_t now)
{
	__atomic_store_n(&e->addr, addr, __ATOMIC_RELAXED);
	__atomic_store_n(&e->ifindex, ifindex, __ATOMIC_RELAXED);
	if (mac)
		memcpy(e->mac, mac, ETH_ADDR_LEN);
	__atomic_store_n(&e->state, state, __ATOMIC_RELAXED);
	__atomic_store_n(&e->updated_ns, now, __ATOMIC_RELAXED);
}

static const char *mac_str(const uint8_t *m, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

void table_learn(struct arpd *d, uint32_t ifindex, uint32_t addr, const uint8_t *mac,
		 bool create)
{
	uint64_t now = exos_now_ns();
	char ip[INET_ADDRSTRLEN], m1[18], m2[18];
	struct xok_arp_entry *e;
	int i = table_find(d, ifindex, addr);

	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	if (i < 0) {
		if (!create)
			return;
		i = table_alloc(d);
		e = &d->tab->e[i];
		tab_write_begin(d);
		entry_store(e, ifindex, addr, mac, XOK_ARP_VALID, now);
		tab_write_end(d);
		d->st.added++;
		arpd_log(d, 1, "learned %s is-at %s (ifindex %u)", ip, mac_str(mac, m1, sizeof(m1)),
			 ifindex);
	} else {
		e = &d->tab->e[i];
		if (memcmp(e->mac, mac, ETH_ADDR_LEN)) {
			d->st.changed++;
			arpd_log(d, 0, "%s moved from %s to %s (ifindex %u)", ip,
				 mac_str(e->mac, m1, sizeof(m1)), mac_str(mac, m2, sizeof(m2)),
				 ifindex);
		} else {
			d->st.refreshed++;
			arpd_log(d, 2, "confirmed %s is-at %s", ip, mac_str(mac, m1, sizeof(m1)));
		}
		tab_write_begin(d);
		entry_store(e, ifindex, addr, mac, XOK_ARP_VALID, now);
		tab_write_end(d);
	}
	d->slot[i].probes = 0;
	d->slot[i].next_probe_ns = now + refresh_after(d);
	if (d->slot[i].next_probe_ns < d->age_due_ns)
		d->age_due_ns = d->slot[i].next_probe_ns;
}

static void table_free(struct arpd *d, int i)
{
	struct xok_arp_entry *e = &d->tab->e[i];

	tab_write_begin(d);
	__atomic_store_n(&e->state, XOK_ARP_FREE, __ATOMIC_RELAXED);
	__atomic_store_n(&e->addr, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->ifindex, 0, __ATOMIC_RELAXED);
	memset(e->mac, 0, ETH_ADDR_LEN);
	__atomic_store_n(&e->updated_ns, 0, __ATOMIC_RELAXED);
	tab_write_end(d);
	d->slot[i] = (struct arpd_slot){0};
	d->st.freed++;
}

static uint64_t age_valid(struct arpd *d, int i, uint64_t now)
{
	struct xok_arp_entry *e = &d->tab->e[i];
	struct arpd_slot *sl = &d->slot[i];
	uint64_t expire = e->updated_ns + d->max_age_ns;
	char ip[INET_ADDRSTRLEN];

	if (now >= expire) {
		inet_ntop(AF_INET, &e->addr, ip, sizeof(ip));
		arpd_log(d, 1, "%s did not answer %u refresh requests: failed", ip, sl->probes);
		tab_write_begin(d);
		__atomic_store_n(&e->state, XOK_ARP_FAILED, __ATOMIC_RELAXED);
		tab_write_end(d);
		d->st.expired++;
		sl->next_probe_ns = now + ARPD_FAILED_HOLD_NS; /* FAILED: when it is freed */
		return sl->next_probe_ns;
	}
	if (now >= sl->next_probe_ns && sl->probes < ARPD_PROBES) {
		const struct arpd_iface *ifc = arp_iface(d, e->ifindex);

		if (ifc && arp_send_request(d, ifc, e->addr, e->mac) == 0)
			d->st.probes++;
		sl->probes++;
		sl->next_probe_ns = now + probe_interval(d);
	}
	if (sl->probes < ARPD_PROBES && sl->next_probe_ns < expire)
		return sl->next_probe_ns;
	return expire;
}

uint64_t table_age(struct arpd *d, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (int i = 0; i < XOK_ARP_ENTRIES; i++) {
		uint16_t state = d->tab->e[i].state;
		uint64_t due;

		if (state == XOK_ARP_VALID) {
			due = age_valid(d, i, now);
		} else if (state == XOK_ARP_FAILED) {
			if (now >= d->slot[i].next_probe_ns) {
				table_free(d, i);
				continue;
			}
			due = d->slot[i].next_probe_ns;
		} else {
			continue;
		}
		if (due < next)
			next = due;
	}
	return next;
}

void table_publish(struct arpd *d)
{
	if (!d->changed)
		return;
	d->changed = false;
	xok_store_release(&d->tab->version, d->tab->version + 1);
	d->st.publishes++;
	if (exos_table_notify(d->sys, XOK_TABLE_ARP) < 0) {
		d->st.notify_errors++;
		arpd_log(d, 0, "table notify: %s", strerror(errno));
	}
}

static const char *state_name(uint16_t s)
{
	switch (s) {
	case XOK_ARP_VALID:
		return "valid";
	case XOK_ARP_FAILED:
		return "failed";
	}
	return "free";
}

void table_dump(const struct arpd *d, FILE *out)
{
	uint64_t now = exos_now_ns();
	unsigned n = 0;

	fprintf(out, "arpd: table version %u:\n", d->tab->version);
	for (int i = 0; i < XOK_ARP_ENTRIES; i++) {
		const struct xok_arp_entry *e = &d->tab->e[i];
		char ip[INET_ADDRSTRLEN], m[18];

		if (e->state == XOK_ARP_FREE)
			continue;
		inet_ntop(AF_INET, &e->addr, ip, sizeof(ip));
		fprintf(out, "arpd:   %-15s %s ifindex %u %s age %.1f s\n", ip,
			mac_str(e->mac, m, sizeof(m)), e->ifindex, state_name(e->state),
			(double)(now - e->updated_ns) / 1e9);
		n++;
	}
	fprintf(out, "arpd: %u entries\n", n);
}
