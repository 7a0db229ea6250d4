/* txcheck.c - checked transmission: reverse packet filters over the apps' own filters (§8) */

/*
 * The paper's Xok sends whatever an application hands it ("Unchecked Transmission", §8)
 * and names reverse packet filters as the way to protect the wire: check the headers of
 * every outgoing frame, and make sure they cannot change after the check.  xokd checks
 * the frame after gathering it into its own UMEM frame, so the app can no longer touch the
 * bytes that were checked.  The rule (--unchecked-tx turns it off):
 *
 *  1. The Ethernet source is the interface's MAC; the ethertype is IPv4 or ARP.
 *  2. ARP: hardware Ethernet/IPv4, sender MAC = the interface's, sender address = the
 *     interface's (or 0, a probe).  Requests may come from any app: the libOS resolves
 *     addresses by broadcasting them and arpd learns the replies for everyone (§3.3).
 *     Replies are checked like IPv4 frames below: only an app holding an ARP filter
 *     (arpd) may send them.
 *  3. IPv4: a valid header whose source address is the interface's.  Fragments after the
 *     first carry no ports: their source address is all there is to check.
 *  4. The app may only speak as itself: some tree filter it owns or references must match
 *     the *reply* to the frame -- addresses and ports swapped (ICMP echo <-> echo reply)
 *     -- judging only the atoms that test those header fields (ethertype, protocol,
 *     addresses, the first four L4 bytes; atoms on other bytes cannot be judged for a
 *     reply that does not exist yet and are ignored).  So a UDP socket bound to port 53
 *     sends from port 53, a connection's 4-tuple filter sends on that connection, arpd's
 *     ARP filter sends ARP replies, and strayd's catch-all sends anything from the
 *     interface's address.
 *  5. The reply must also stay the sender's: if a more specific filter below the matching
 *     one, held by somebody else, would match the reply too, it would take it, so that
 *     filter does not count.  (A TCP listener cannot forge its own port's connections
 *     that another app holds.)
 *  6. Catch-alls -- filters pinning neither the ethertype nor the IPv4 protocol -- count
 *     only for privileged apps (root or --group): anyone may install one when strayd is
 *     not running, and it would let them speak for every port.
 *
 * A filter's claim is computed once, at insertion, as value/mask bytes of a fixed key
 * (kern.h, struct tx_claim); a check builds the reply's key from the frame and compares
 * two words per candidate filter.  The app's claims are indexed by the local port they
 * pin, so a TCP/UDP frame looks at the filters for its source port and at those that pin
 * none (a catch-all, a port range); only other frames (ICMP, ARP replies) look at all of
 * them.  The filter that matched moves to the front of its list.
 */
#include <errno.h>
#include <string.h>

#include "kern.h"

/* Frame offsets (Ethernet II, IPv4) */
#define ETH_SRC	       6
#define ETH_TYPE       12
#define ETH_HLEN_      14
#define IP_VHL	       14
#define IP_FRAG	       20
#define IP_PROTO       23
#define IP_SRC	       26
#define IP_DST	       30
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP  0x0806
#define ARP_LEN	       28
#define ARP_OP_REQUEST 1

/* Key bytes (struct tx_claim) */
#define K_TYPE	0
#define K_PROTO 2
#define K_RSRC	3  /* the reply's source: the frame's destination */
#define K_RDST	7  /* the reply's destination: the frame's source */
#define K_L4	11 /* the reply's first four L4 bytes */

/* Where a byte of a filter's frame offset lands in the key; -1 = not a key byte. */
static int key_root(uint32_t off)
{
	if (off == ETH_TYPE || off == ETH_TYPE + 1)
		return K_TYPE + (int)(off - ETH_TYPE);
	if (off == IP_PROTO)
		return K_PROTO;
	if (off >= IP_SRC && off < IP_SRC + 4) /* the reply's source address */
		return K_RSRC + (int)(off - IP_SRC);
	if (off >= IP_DST && off < IP_DST + 4)
		return K_RDST + (int)(off - IP_DST);
	return -1;
}

static int key_l4(uint32_t off)
{
	return off < 4 ? K_L4 + (int)off : -1;
}

/* The standard IPv4 header-length indirection (dpf.h): base' = 14 + IHL * 4. */
static bool is_ihl_shift(const struct dpf_atom *a)
{
	return a->offset == IP_VHL && a->width == 1 && a->mask == 0x0f && a->shift == 2 &&
	       a->add == ETH_HLEN_;
}

void claim_from_filter(const struct dpf_filter *f, struct tx_claim *c)
{
	enum { ROOT, L4, OTHER } ctx = ROOT;
	uint32_t i, b;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < f->natoms && i < DPF_MAX_ATOMS; i++) {
		const struct dpf_atom *a = &f->atoms[i];

		if (a->kind == DPF_ATOM_SHIFT) {
			ctx = ctx == ROOT && is_ihl_shift(a) ? L4 : OTHER;
			continue;
		}
		if (ctx == OTHER)
			continue;
		for (b = 0; b < a->width; b++) {
			uint32_t sh = 8 * (a->width - 1 - b); /* atoms are big-endian */
			uint8_t m = (uint8_t)(a->mask >> sh), v = (uint8_t)(a->value >> sh) & m;
			int k = ctx == ROOT ? key_root(a->offset + b) : key_l4(a->offset + b);

			if (!m || k < 0)
				continue;
			if ((c->val[k] ^ v) & c->mask[k] & m)
				c->none = true; /* contradicts an earlier atom: matches nothing */
			c->mask[k] |= m;
			c->val[k] |= v;
		}
	}
	c->wildcard =
	    c->mask[K_TYPE] != 0xff || c->mask[K_TYPE + 1] != 0xff ||
	    (c->val[K_TYPE] == 0x08 && c->val[K_TYPE + 1] == 0x00 && c->mask[K_PROTO] != 0xff);
}

/* The reply's key and which of its bytes are known; `no_type`: the frame is an ICMP
 * message without a reply type, which no claim on the ICMP type can cover. */
struct tx_key {
	uint8_t key[TX_KEY_LEN];
	uint8_t known[TX_KEY_LEN];
	bool no_type;
};

static bool claim_matches(const struct tx_claim *c, const struct tx_key *k)
{
	uint64_t kv[2], kn[2], cv[2], cm[2];

	if (c->none)
		return false;
	memcpy(kv, k->key, sizeof(kv));
	memcpy(kn, k->known, sizeof(kn));
	memcpy(cv, c->val, sizeof(cv));
	memcpy(cm, c->mask, sizeof(cm));
	if (((kv[0] ^ cv[0]) & cm[0] & kn[0]) | ((kv[1] ^ cv[1]) & cm[1] & kn[1]))
		return false;
	return !(k->no_type && c->mask[K_L4]);
}

static void key_set(struct tx_key *k, int at, const uint8_t *p, int n)
{
	memcpy(&k->key[at], p, (size_t)n);
	memset(&k->known[at], 0xff, (size_t)n);
}

/* ICMP queries and their replies: echo (8/0), timestamp (13/14), information (15/16),
 * address mask (17/18).  Other types (errors) have no reply. */
static int icmp_reply_type(uint8_t t)
{
	switch (t) {
	case 8:
		return 0;
	case 0:
		return 8;
	case 13:
	case 15:
	case 17:
		return t + 1;
	case 14:
	case 16:
	case 18:
		return t - 1;
	}
	return -1;
}

/* Whether a reply matching f would stay with a: no filter below f that a does not hold
 * matches it too (recursively: one of a's own below f may have somebody else's under it). */
static bool claim_keeps(struct app *a, struct filter *f, const struct tx_key *k, int depth)
{
	struct filter *c;

	if ((f->owner == a && !f->foreign_below) || depth > DPF_MAX_FILTERS)
		return true;
	for (c = f->first_child; c; c = c->next_sibling) {
		if (!claim_matches(&c->claim, k))
			continue;
		if (!filter_held(a, c) || !claim_keeps(a, c, k, depth + 1))
			return false;
	}
	return true;
}

static uint32_t claim_hash(const uint8_t port[2])
{
	uint32_t p = (uint32_t)(port[0] << 8 | port[1]);

	return (p ^ (p >> 6) ^ (p >> 12)) & (XOK_CLAIM_HASH - 1);
}

void claim_index(struct app *a, struct filter_ref *r)
{
	const struct tx_claim *c = &r->f->claim;

	list_init(&r->claim_link);
	if (c->none)
		return;
	if (c->mask[K_L4 + 2] == 0xff && c->mask[K_L4 + 3] == 0xff)
		list_add_tail(&r->claim_link, &a->claims[claim_hash(&c->val[K_L4 + 2])]);
	else
		list_add_tail(&r->claim_link, &a->claims_wild);
}

void claim_unindex(struct filter_ref *r)
{
	if (list_linked(&r->claim_link))
		list_del(&r->claim_link);
}

static bool claim_ok(struct app *a, const struct filter *f, const struct tx_key *k)
{
	return !(f->claim.wildcard && !a->privileged) && claim_matches(&f->claim, k) &&
	       claim_keeps(a, (struct filter *)f, k, 0);
}

/* One of a's claim lists: a matching claim moves to its front. */
static bool claims_in(struct app *a, struct list_head *list, const struct tx_key *k)
{
	struct filter_ref *r;

	list_for_each_entry(r, list, claim_link)
	{
		if (!claim_ok(a, r->f, k))
			continue;
		if (list->next != &r->claim_link) {
			list_del(&r->claim_link);
			list_add(&r->claim_link, list);
		}
		return true;
	}
	return false;
}

static bool app_claims(struct xokd *x, struct app *a, const struct tx_key *k, bool queued,
		       uint32_t seq)
{
	struct filter_ref *r;
	uint64_t now;
	uint32_t i;

	filter_tree(x);
	if (k->known[K_L4 + 2] == 0xff && k->known[K_L4 + 3] == 0xff) {
		/* the frame's source port is known: only claims pinning it, or no port */
		if (claims_in(a, &a->claims[claim_hash(&k->key[K_L4 + 2])], k) ||
		    claims_in(a, &a->claims_wild, k))
			return true;
	} else {
		list_for_each_entry(r, &a->frefs, app_link)
		{
			if (list_linked(&r->claim_link) && claim_ok(a, r->f, k))
				return true;
		}
	}
	if (!queued)
		return false;
	/* claims released after this descriptor was queued (the refusal path only) */
	now = now_mono_ns();
	for (i = 0; i < XOK_TX_GRACE_MAX; i++) {
		const struct tx_grace *g = &a->grace[i];

		if (now >= g->expires || (int32_t)(g->until - seq) <= 0)
			continue;
		if ((!g->claim.wildcard || a->privileged) && claim_matches(&g->claim, k))
			return true;
	}
	return false;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* 0: allowed; 1: allowed if claimed; -EPERM */
static int check_arp(const struct iface *ifc, const uint8_t *fr, uint32_t len)
{
	const uint8_t *ah = fr + ETH_HLEN_;
	uint32_t spa;

	if (len < ETH_HLEN_ + ARP_LEN || be16(ah) != 1 || be16(ah + 2) != ETHERTYPE_IPV4 ||
	    ah[4] != 6 || ah[5] != 4)
		return -EPERM;
	memcpy(&spa, ah + 14, 4);
	if (memcmp(ah + 8, ifc->mac, 6) || (spa != ifc->addr && spa != 0))
		return -EPERM; /* not the interface's own identity */
	return be16(ah + 6) == ARP_OP_REQUEST ? 0 : 1;
}

/* 0: allowed; 1: allowed if claimed (k filled in); -EPERM */
static int check_ipv4(const struct iface *ifc, const uint8_t *fr, uint32_t len, struct tx_key *k)
{
	uint32_t ihl, l4, src;
	uint8_t proto;
	int t;

	if (len < ETH_HLEN_ + 20 || (fr[IP_VHL] >> 4) != 4)
		return -EPERM;
	ihl = (uint32_t)(fr[IP_VHL] & 0x0f) * 4;
	if (ihl < 20 || ETH_HLEN_ + ihl > len)
		return -EPERM;
	memcpy(&src, fr + IP_SRC, 4);
	if (src != ifc->addr)
		return -EPERM;
	if (be16(fr + IP_FRAG) & 0x1fff)
		return 0; /* a later fragment: no ports to check */
	proto = fr[IP_PROTO];
	key_set(k, K_PROTO, &proto, 1);
	key_set(k, K_RSRC, fr + IP_DST, 4);
	key_set(k, K_RDST, fr + IP_SRC, 4);
	l4 = ETH_HLEN_ + ihl;
	switch (proto) {
	case 6:	  /* TCP */
	case 17:  /* UDP */
	case 132: /* SCTP */
	case 136: /* UDP-Lite */
		if (len < l4 + 4)
			return -EPERM;
		key_set(k, K_L4, fr + l4 + 2, 2); /* the reply's source port: our destination */
		key_set(k, K_L4 + 2, fr + l4, 2);
		break;
	case 1: /* ICMP */
		if (len < l4 + 1)
			return -EPERM;
		t = icmp_reply_type(fr[l4]);
		if (t < 0) {
			k->no_type = true;
		} else {
			uint8_t rt = (uint8_t)t;

			key_set(k, K_L4, &rt, 1);
		}
		break;
	}
	return 1;
}

int tx_check(struct xokd *x, struct app *a, const struct iface *ifc, const uint8_t *frame,
	     uint32_t len, bool queued, uint32_t seq)
{
	struct tx_key k;
	uint16_t type;
	int r;

	if (x->cfg.unchecked_tx)
		return 0;
	if (len < ETH_HLEN_ || memcmp(frame + ETH_SRC, ifc->mac, 6))
		return -EPERM;
	memset(&k, 0, sizeof(k));
	type = be16(frame + ETH_TYPE);
	key_set(&k, K_TYPE, frame + ETH_TYPE, 2);
	if (type == ETHERTYPE_ARP)
		r = check_arp(ifc, frame, len);
	else if (type == ETHERTYPE_IPV4)
		r = check_ipv4(ifc, frame, len, &k);
	else
		r = -EPERM;
	if (r <= 0)
		return r;
	return app_claims(x, a, &k, queued, seq) ? 0 : -EPERM;
}

void tx_grace_add(struct xokd *x, struct app *a, const struct filter *f)
{
	struct tx_grace *g;
	uint32_t prod;

	if (x->cfg.unchecked_tx || !a->txq || f->claim.none)
		return;
	prod = xok_load_acquire(&a->txq->hdr->prod);
	if (prod == a->txq->cons || prod - a->txq->cons > a->txq->nentries)
		return;		      /* nothing queued before the release (or a bogus prod) */
	g = &a->grace[a->grace_next]; /* the oldest goes when all are in use */
	a->grace_next = (a->grace_next + 1) % XOK_TX_GRACE_MAX;
	g->claim = f->claim;
	g->until = prod;
	g->expires = now_mono_ns() + XOK_TX_GRACE_NS;
}
