/* fake_sys.c - a fake sys layer (include/exos/sys.h) for the protocol unit tests */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "fake_sys.h"

/*
 * Everything the protocol layers reach xokd through, in memory: regions are heap
 * allocations, rings are real xok rings the tests fill, transmitted frames are gathered
 * (checking that every piece lies in a registered region, as xokd does) into a queue the
 * tests inspect, the clock only moves when a test moves it - or when the stack sleeps
 * with a deadline and nothing can wake it, which makes retransmission timing tests
 * deterministic and instantaneous.
 */

#define MAX_REGIONS 256
#define MAX_RINGS   8
#define MAX_FILTERS 1024
#define MAX_WATCHES 32
#define MAX_HELD    65536

struct exos_sys {
	int dummy;
};

struct fake_filter {
	bool used;
	uint32_t id;
	struct dpf_filter f;
};

struct fake_watch {
	bool used;
	const uint32_t *word;
	enum xok_wk_op op;
	uint32_t value;
};

static bool gso_on; /* fake_set_gso: not reset with the rest */

static struct {
	struct exos_sys sys;
	bool open;
	uint64_t now;
	struct exos_region *regions[MAX_REGIONS];
	struct exos_ring *rings[MAX_RINGS];
	uint32_t next_id;
	struct fake_filter filters[MAX_FILTERS];
	uint32_t next_filter;
	int filter_fail_err, filter_fail_n;
	int xmit_fail_err, xmit_fail_n;
	struct fake_watch watches[MAX_WATCHES];
	struct fake_frame *tx;
	size_t tx_head, tx_n, tx_cap;
	bool hold;
	uint32_t **held;
	size_t nheld;
	struct xok_arp_table *arp;
	void (*hook)(void *);
	void *hook_arg;
	struct fake_stats st;
} F;

void fake_reset(void)
{
	free(F.tx);
	free(F.held);
	free(F.arp);
	memset(&F, 0, sizeof(F));
	F.now = 1000000000ull;
	F.next_id = 1;
	F.next_filter = 100;
	F.arp = calloc(1, sizeof(*F.arp));
	F.arp->nentries = XOK_ARP_ENTRIES;
	F.held = calloc(MAX_HELD, sizeof(*F.held));
}

void fake_set_time(uint64_t ns)
{
	F.now = ns;
}

void fake_advance(uint64_t ns)
{
	F.now += ns;
}

uint64_t fake_time(void)
{
	return F.now;
}

EXOS_API uint64_t exos_now_ns(void)
{
	return F.now;
}

/* ---- the connection ---- */

EXOS_API int exos_sys_open(const char *path, struct exos_sys **out)
{
	(void)path;
	if (!F.arp)
		fake_reset();
	F.open = true;
	*out = &F.sys;
	return 0;
}

EXOS_API void exos_sys_close(struct exos_sys *sys)
{
	(void)sys;
	F.open = false;
}

EXOS_API int exos_sys_fd(const struct exos_sys *sys)
{
	(void)sys;
	return -1;
}

EXOS_API uint32_t exos_sys_app_id(const struct exos_sys *sys)
{
	(void)sys;
	return 1;
}

EXOS_API int exos_sys_info(struct exos_sys *sys, struct xok_info_reply *out)
{
	static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x01};

	(void)sys;
	memset(out, 0, sizeof(*out));
	out->niface = 1;
	out->ifaces[0].ifindex = FAKE_IFINDEX;
	out->ifaces[0].mtu = FAKE_MTU;
	strcpy(out->ifaces[0].name, "xok0");
	memcpy(out->ifaces[0].mac, mac, 6);
	out->ifaces[0].prefix_len = 24;
	out->ifaces[0].addr = inet_addr("198.18.0.1");
	out->ifaces[0].gateway = inet_addr("198.18.0.254");
	if (gso_on) {
		out->ifaces[0].flags = XOK_IFF_TCP_GSO;
		out->ifaces[0].gso_max = 14 + 65535;
	}
	return 0;
}

/* ---- regions ---- */

EXOS_API int exos_region_create(struct exos_sys *sys, size_t size, struct exos_region **out)
{
	(void)sys;
	size = (size + 4095) & ~(size_t)4095;
	for (int i = 0; i < MAX_REGIONS; i++) {
		if (F.regions[i])
			continue;
		struct exos_region *r = calloc(1, sizeof(*r));
		r->base = aligned_alloc(4096, size);
		memset(r->base, 0, size);
		r->size = size;
		r->id = F.next_id++;
		F.regions[i] = r;
		F.st.regions_live++;
		*out = r;
		return 0;
	}
	return -ENOSPC;
}

EXOS_API int exos_region_destroy(struct exos_sys *sys, struct exos_region *r)
{
	(void)sys;
	for (int i = 0; i < MAX_REGIONS; i++) {
		if (F.regions[i] == r) {
			F.regions[i] = NULL;
			free(r->base);
			free(r);
			F.st.regions_live--;
			return 0;
		}
	}
	return -ENOENT;
}

EXOS_API int exos_region_ref(const struct exos_sys *sys, const void *p, size_t len,
			     struct xok_ref *out)
{
	uintptr_t a = (uintptr_t)p;

	(void)sys;
	for (int i = 0; i < MAX_REGIONS; i++) {
		const struct exos_region *r = F.regions[i];
		uintptr_t b;
		if (!r)
			continue;
		b = (uintptr_t)r->base;
		if (a >= b && a - b <= r->size && len <= r->size - (a - b)) {
			out->region = r->id;
			out->pad = 0;
			out->offset = a - b;
			return 0;
		}
	}
	return -EFAULT;
}

/* ---- rings ---- */

EXOS_API int exos_ring_create(struct exos_sys *sys, uint32_t entry_size, uint32_t nentries,
			      struct exos_ring **out)
{
	struct exos_ring *ring;
	struct exos_region *r;
	int err;

	if (entry_size < XOK_RING_ENTRY_MIN || entry_size % 8 || !nentries)
		return -EINVAL;
	err = exos_region_create(sys, sizeof(struct xok_ring_hdr) + (size_t)entry_size * nentries,
				 &r);
	if (err < 0)
		return err;
	ring = calloc(1, sizeof(*ring));
	ring->id = F.next_id++;
	ring->entry_size = entry_size;
	ring->nentries = nentries;
	ring->hdr = r->base;
	ring->entries = (uint8_t *)r->base + sizeof(struct xok_ring_hdr);
	ring->region = r;
	for (int i = 0; i < MAX_RINGS; i++) {
		if (!F.rings[i]) {
			F.rings[i] = ring;
			break;
		}
	}
	*out = ring;
	return 0;
}

EXOS_API int exos_ring_destroy(struct exos_sys *sys, struct exos_ring *ring)
{
	for (int i = 0; i < MAX_RINGS; i++)
		if (F.rings[i] == ring)
			F.rings[i] = NULL;
	exos_region_destroy(sys, ring->region);
	free(ring);
	return 0;
}

static struct xok_ring_entry *ring_entry(struct exos_ring *ring, uint32_t i)
{
	return (struct xok_ring_entry *)(ring->entries + (size_t)(i % ring->nentries) *
						      ring->entry_size);
}

EXOS_API struct xok_ring_entry *exos_ring_peek(struct exos_ring *ring)
{
	struct xok_ring_entry *e = ring_entry(ring, ring->next);

	return xok_load_acquire(&e->owner) ? e : NULL;
}

EXOS_API void exos_ring_release(struct exos_ring *ring)
{
	struct xok_ring_entry *e = ring_entry(ring, ring->next);

	memset(e->data, 0xa5, e->caplen); /* data is dead now: poison it */
	xok_store_release(&e->owner, 0);
	ring->next = (ring->next + 1) % ring->nentries;
	ring->hdr->consumed++;
	F.st.rx_released++;
}

bool fake_inject(const void *frame, size_t len)
{
	struct exos_ring *ring = F.rings[0];
	if (!ring)
		return false;
	struct xok_ring_entry *e = ring_entry(ring, ring->hdr->produced);
	size_t cap = ring->entry_size - sizeof(*e);

	if (e->owner) {
		F.st.ring_full++;
		return false;
	}
	e->ifindex = FAKE_IFINDEX;
	e->caplen = (uint32_t)(len < cap ? len : cap);
	e->flags = len > cap ? XOK_RX_TRUNCATED : 0;
	e->filter_id = 0;
	e->rx_ns = F.now;
	memcpy(e->data, frame, e->caplen);
	xok_store_release(&e->owner, (uint32_t)len);
	ring->hdr->produced++;
	return true;
}

static bool rings_pending(void)
{
	for (int i = 0; i < MAX_RINGS; i++) {
		struct exos_ring *r = F.rings[i];
		if (r && xok_load_acquire(&ring_entry(r, r->next)->owner))
			return true;
	}
	return false;
}

/* ---- filters ---- */

EXOS_API int exos_filter_insert(struct exos_sys *sys, const struct exos_ring *ring,
				uint32_t flags, uint32_t parent, const struct dpf_filter *f,
				struct exos_filter_id *out)
{
	(void)sys;
	(void)ring;
	(void)flags;
	(void)parent;
	if (dpf_filter_validate(f) < 0)
		return -EINVAL;
	if (F.filter_fail_n > 0) {
		F.filter_fail_n--;
		out->parent = 7;
		return F.filter_fail_err;
	}
	for (int i = 0; i < MAX_FILTERS; i++) {
		if (F.filters[i].used)
			continue;
		F.filters[i].used = true;
		F.filters[i].id = F.next_filter++;
		F.filters[i].f = *f;
		memset(out, 0, sizeof(*out));
		out->id = F.filters[i].id;
		out->cap = fake_cap(out->id);
		return 0;
	}
	return -ENOSPC;
}

EXOS_API int exos_filter_delete(struct exos_sys *sys, uint32_t id)
{
	(void)sys;
	for (int i = 0; i < MAX_FILTERS; i++) {
		if (F.filters[i].used && F.filters[i].id == id) {
			F.filters[i].used = false;
			return 0;
		}
	}
	return -ENOENT;
}

struct xok_cap fake_cap(uint32_t id)
{
	return (struct xok_cap){{id * 0x9e3779b97f4a7c15ull, ~(uint64_t)id}};
}

/* A reference by capability (a filter twd gives back): the filter becomes ours. */
EXOS_API int exos_filter_ref(struct exos_sys *sys, uint32_t id, const struct xok_cap *cap,
			     const struct exos_ring *ring)
{
	struct xok_cap want = fake_cap(id);

	(void)sys;
	(void)ring;
	if (memcmp(cap, &want, sizeof(want)))
		return -EPERM;
	for (int i = 0; i < MAX_FILTERS; i++)
		if (F.filters[i].used && F.filters[i].id == id)
			return 0;
	for (int i = 0; i < MAX_FILTERS; i++) {
		if (F.filters[i].used)
			continue;
		F.filters[i].used = true;
		F.filters[i].id = id;
		dpf_filter_init(&F.filters[i].f);
		return 0;
	}
	return -ENOSPC;
}

void fake_filter_fail(int err, int n)
{
	F.filter_fail_err = err;
	F.filter_fail_n = n;
}

size_t fake_filters_active(void)
{
	size_t n = 0;
	for (int i = 0; i < MAX_FILTERS; i++)
		n += F.filters[i].used;
	return n;
}

bool fake_filter_last(struct dpf_filter *out)
{
	uint32_t best = 0;
	int bi = -1;

	for (int i = 0; i < MAX_FILTERS; i++)
		if (F.filters[i].used && F.filters[i].id >= best) {
			best = F.filters[i].id;
			bi = i;
		}
	if (bi < 0)
		return false;
	*out = F.filters[bi].f;
	return true;
}

/* ---- transmission ---- */

/* Checks a frame's pieces as xokd does and gathers them into buf (cap bytes); its length,
 * or -errno. */
static long gather(struct exos_sys *sys, const struct exos_iov *iov, int n, uint32_t *notify,
		   uint8_t *buf, size_t cap)
{
	struct xok_ref ref;
	size_t len = 0;

	if (n <= 0 || n > XOK_XMIT_PIECES)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		if (exos_region_ref(sys, iov[i].base, iov[i].len, &ref) < 0) {
			F.st.xmit_efault++;
			return -EFAULT;
		}
		len += iov[i].len;
	}
	if (notify && exos_region_ref(sys, notify, sizeof(*notify), &ref) < 0) {
		F.st.xmit_efault++;
		return -EFAULT;
	}
	if (len > cap)
		return -EINVAL;
	len = 0;
	for (int i = 0; i < n; i++) {
		memcpy(buf + len, iov[i].base, iov[i].len);
		len += iov[i].len;
	}
	return (long)len;
}

/* Queues one frame for the tests to inspect. */
static void push(uint32_t ifindex, const uint8_t *data, size_t len)
{
	if (F.tx_n == F.tx_cap) {
		size_t cap = F.tx_cap ? F.tx_cap * 2 : 256;
		struct fake_frame *t = malloc(cap * sizeof(*t));
		for (size_t i = 0; i < F.tx_n; i++)
			t[i] = F.tx[(F.tx_head + i) % F.tx_cap];
		free(F.tx);
		F.tx = t;
		F.tx_cap = cap;
		F.tx_head = 0;
	}
	struct fake_frame *fr = &F.tx[(F.tx_head + F.tx_n++) % F.tx_cap];
	fr->ifindex = ifindex;
	fr->len = (uint32_t)len;
	memcpy(fr->data, data, len);
}

static void notify_sent(uint32_t *notify)
{
	if (!notify)
		return;
	if (F.hold && F.nheld < MAX_HELD)
		F.held[F.nheld++] = notify;
	else
		__atomic_fetch_sub(notify, 1, __ATOMIC_RELEASE);
}

EXOS_API int exos_xmit(struct exos_sys *sys, uint32_t ifindex, const struct exos_iov *iov, int n,
		       uint32_t *notify)
{
	static uint8_t buf[FAKE_FRAME_MAX];
	long len;

	if (F.xmit_fail_n > 0) {
		F.xmit_fail_n--;
		return F.xmit_fail_err;
	}
	len = gather(sys, iov, n, notify, buf, sizeof(buf));
	if (len < 0)
		return (int)len;
	if (len > FAKE_MTU + 14)
		return -EINVAL;
	push(ifindex, buf, (size_t)len);
	notify_sent(notify);
	return 0;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

static uint16_t fold16(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* The pseudo-header sum of an IPv4 header ip for a TCP length len (host order). */
static uint32_t pseudo(const uint8_t *ip, uint32_t len)
{
	return sum16(ip + 12, 8, 0) + 6 + len;
}

void fake_set_gso(bool on)
{
	gso_on = on;
}

/* Cuts a large TCP frame into segments of gso_size payload bytes, as the kernel does for
 * XOK_TX_TCP_GSO: headers copied, lengths, IP ids, sequence numbers and both checksums
 * recomputed, FIN and PSH on the last segment only. */
EXOS_API int exos_xmit_gso(struct exos_sys *sys, uint32_t ifindex, const struct exos_iov *iov,
			   int n, uint32_t *notify, uint16_t gso_size)
{
	static uint8_t buf[14 + 65535], seg[FAKE_FRAME_MAX];
	long len = gather(sys, iov, n, notify, buf, sizeof(buf));
	uint32_t ihl, hl, tcplen, payload, seq;

	if (len < 0)
		return (int)len;
	if (!gso_on || gso_size < XOK_TX_GSO_MIN)
		return -EOPNOTSUPP;
	F.st.xmit_gso++;
	ihl = (buf[14] & 0x0f) * 4u;
	hl = 14 + ihl + (buf[14 + ihl + 12] >> 4) * 4u;
	tcplen = (uint32_t)len - 14 - ihl;
	payload = (uint32_t)len - hl;
	if (buf[12] != 0x08 || buf[13] != 0 || buf[23] != 6 || payload <= gso_size ||
	    (uint32_t)(buf[16] << 8 | buf[17]) != len - 14 ||
	    (uint16_t)(buf[14 + ihl + 16] << 8 | buf[14 + ihl + 17]) !=
		fold16(pseudo(buf + 14, tcplen)) ||
	    hl + gso_size > sizeof(seg)) {
		F.st.xmit_bad_gso++;
		return -EINVAL;
	}
	memcpy(&seq, buf + 14 + ihl + 4, 4);
	seq = ntohl(seq);
	for (uint32_t off = 0, k = 0; off < payload; off += gso_size, k++) {
		uint32_t m = payload - off < gso_size ? payload - off : gso_size;
		uint8_t *ip = seg + 14, *th = seg + 14 + ihl;
		uint16_t id = (uint16_t)((buf[18] << 8 | buf[19]) + k);
		uint32_t s = htonl(seq + off), tl = hl - 14 - ihl + m;
		uint16_t c;

		memcpy(seg, buf, hl);
		memcpy(seg + hl, buf + hl + off, m);
		ip[2] = (uint8_t)((ihl + tl) >> 8);
		ip[3] = (uint8_t)(ihl + tl);
		ip[4] = (uint8_t)(id >> 8);
		ip[5] = (uint8_t)id;
		ip[10] = ip[11] = 0;
		c = (uint16_t)~fold16(sum16(ip, ihl, 0));
		ip[10] = (uint8_t)(c >> 8);
		ip[11] = (uint8_t)c;
		memcpy(th + 4, &s, 4);
		if (off + m < payload)
			th[13] &= (uint8_t)~(0x01 | 0x08); /* FIN, PSH: the last segment's */
		th[16] = th[17] = 0;
		c = (uint16_t)~fold16(sum16(th, tl, pseudo(ip, tl)));
		th[16] = (uint8_t)(c >> 8);
		th[17] = (uint8_t)c;
		push(ifindex, seg, hl + m);
	}
	notify_sent(notify);
	return 0;
}

EXOS_API int exos_xmit_flush(struct exos_sys *sys)
{
	(void)sys;
	F.st.flushes++;
	return 0;
}

EXOS_API uint32_t exos_xmit_pending(const struct exos_sys *sys)
{
	(void)sys;
	return 0;
}

size_t fake_tx_count(void)
{
	return F.tx_n;
}

bool fake_tx_pop(struct fake_frame *out)
{
	if (!F.tx_n)
		return false;
	*out = F.tx[F.tx_head];
	F.tx_head = (F.tx_head + 1) % F.tx_cap;
	F.tx_n--;
	return true;
}

void fake_tx_clear(void)
{
	F.tx_n = 0;
	F.tx_head = 0;
}

void fake_hold_completions(bool hold)
{
	F.hold = hold;
}

void fake_complete_all(void)
{
	for (size_t i = 0; i < F.nheld; i++)
		__atomic_fetch_sub(F.held[i], 1, __ATOMIC_RELEASE);
	F.nheld = 0;
}

void fake_xmit_fail(int err, int n)
{
	F.xmit_fail_err = err;
	F.xmit_fail_n = n;
}

/* ---- waiting ---- */

static bool watch_true(const struct fake_watch *w)
{
	uint32_t v = xok_load_acquire(w->word);

	switch (w->op) {
	case XOK_WK_EQ:
		return v == w->value;
	case XOK_WK_NE:
		return v != w->value;
	case XOK_WK_LT:
		return v < w->value;
	case XOK_WK_GE:
		return v >= w->value;
	case XOK_WK_AND:
		return (v & w->value) != 0;
	default:
		return false;
	}
}

static bool watches_true(void)
{
	for (int i = 0; i < MAX_WATCHES; i++)
		if (F.watches[i].used && watch_true(&F.watches[i]))
			return true;
	return false;
}

EXOS_API int exos_sys_wait(struct exos_sys *sys, uint64_t deadline_ns)
{
	(void)sys;
	F.st.waits++;
	if (F.hook && !rings_pending() && !watches_true())
		F.hook(F.hook_arg);
	if (rings_pending() || watches_true())
		return 0;
	if (!deadline_ns) {
		F.st.waits_forever++; /* would sleep forever: a test bug or a stack bug */
		return -ETIMEDOUT;
	}
	if (F.now < deadline_ns)
		F.now = deadline_ns;
	return -ETIMEDOUT;
}

EXOS_API int exos_sys_watch(struct exos_sys *sys, const uint32_t *word, enum xok_wk_op op,
			    uint32_t value)
{
	(void)sys;
	for (int i = 0; i < MAX_WATCHES; i++) {
		if (F.watches[i].used)
			continue;
		F.watches[i] = (struct fake_watch){true, word, op, value};
		F.st.watches_live++;
		return i;
	}
	return -ENOSPC;
}

EXOS_API int exos_sys_unwatch(struct exos_sys *sys, int handle)
{
	(void)sys;
	if (handle < 0 || handle >= MAX_WATCHES || !F.watches[handle].used)
		return -EINVAL;
	F.watches[handle].used = false;
	F.st.watches_live--;
	return 0;
}

void fake_set_wait_hook(void (*fn)(void *arg), void *arg)
{
	F.hook = fn;
	F.hook_arg = arg;
}

/* ---- tables ---- */

EXOS_API int exos_table_get(struct exos_sys *sys, enum xok_table t, const void **base,
			    size_t *size)
{
	(void)sys;
	if (t != XOK_TABLE_ARP)
		return -ENOENT;
	*base = F.arp;
	*size = sizeof(*F.arp);
	return 0;
}

EXOS_API int exos_table_publish(struct exos_sys *sys, enum xok_table t, size_t size, void **base)
{
	(void)sys;
	(void)t;
	(void)size;
	(void)base;
	return -EPERM;
}

EXOS_API int exos_table_notify(struct exos_sys *sys, enum xok_table t)
{
	(void)sys;
	(void)t;
	return 0;
}

void fake_arp_set(uint32_t ip, const uint8_t mac[6])
{
	struct xok_arp_table *t = F.arp;
	int slot = -1;

	for (int i = 0; i < XOK_ARP_ENTRIES; i++) {
		if (t->e[i].addr == ip) {
			slot = i;
			break;
		}
		if (slot < 0 && !t->e[i].addr)
			slot = i;
	}
	t->seq++;
	t->e[slot].addr = ip;
	t->e[slot].ifindex = FAKE_IFINDEX;
	memcpy(t->e[slot].mac, mac, 6);
	t->e[slot].state = XOK_ARP_VALID;
	t->e[slot].updated_ns = F.now;
	t->seq++;
	t->version++;
}

void fake_arp_clear(void)
{
	F.arp->seq++;
	memset(F.arp->e, 0, sizeof(F.arp->e));
	F.arp->seq++;
	F.arp->version++;
}

/* ---- statistics ---- */

EXOS_API int exos_sys_stats(struct exos_sys *sys, enum xok_stats_kind kind, uint32_t cursor,
			    struct xok_stats_reply *out)
{
	(void)sys;
	(void)kind;
	(void)cursor;
	memset(out, 0, sizeof(*out));
	return 0;
}

void fake_get_stats(struct fake_stats *out)
{
	*out = F.st;
}
