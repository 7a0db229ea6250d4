/* impair.bpf.c - tc (clsact) program that drops, duplicates and reorders IPv4 frames */

/*
 * For the impairment tests: attached on the Linux side of a veth pair, at egress (frames
 * toward xokd) and at ingress (frames from xokd).  Each IPv4 frame is, independently:
 *  - dropped with probability drop_ppm / 10^6;
 *  - duplicated with probability dup_ppm: bpf_clone_redirect to the same device and
 *    direction; the copy carries IMPAIR_CLONE_MARK in skb->mark so that this program lets
 *    it through untouched when it comes by again;
 *  - reordered with probability reorder_ppm: the frame is copied into a per-CPU stash and
 *    dropped; a later frame then carries it.  Once hold_pkts frames have passed on that
 *    CPU, or hold_ns has elapsed, the next frame F is first sent on as a clone (marked, as
 *    above), then rewritten in place into the stashed frame (bpf_skb_change_tail +
 *    bpf_skb_store_bytes) and passed too: the held frame arrives after the frames that
 *    followed it.  A stash older than max_hold_ns is dropped instead (its flow went
 *    quiet; a frame that old would be a stray, not a reordering).
 * ARP, non-IPv4 frames and GSO super-packets pass untouched (the Linux end of a veth
 * whose peer runs XDP sends single frames).
 *
 * This kernel has no fq or netem qdisc, so the frames cannot be delayed in a qdisc by
 * departure time (EDT); stashing works identically at ingress and egress.
 *
 * The settings live in .rodata: `tc filter add dev X egress bpf da obj impair.bpf.o sec tc`
 * uses the defaults below (5% drop, 1% duplicate, 2% reordered by 4 frames or 2 ms);
 * tests/impair/impair-attach sets them per attachment.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "impair_shared.h"

const volatile __u32 drop_ppm = 50000;
const volatile __u32 dup_ppm = 10000;
const volatile __u32 reorder_ppm = 20000;
const volatile __u32 hold_pkts = 4;
const volatile __u64 hold_ns = 2000000;
const volatile __u64 max_hold_ns = 100000000;
const volatile __u32 ingress = 0; /* attached at ingress (set by impair-attach) */

struct stash {
	__u64 since_ns; /* 0 = empty */
	__u32 len;
	__u32 passed;	/* frames since it was taken */
	__u8 data[IMPAIR_FRAME_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stash);
} impair_stash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IMPAIR_STAT_NR);
	__type(key, __u32);
	__type(value, __u64);
} impair_stats SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&impair_stats, &idx);

	if (c)
		*c += 1;
}

static __always_inline int chance(__u32 ppm)
{
	return ppm && bpf_get_prandom_u32() % IMPAIR_PPM < ppm;
}

/* Sends a copy of the frame as it is now, ahead of the frame itself. */
static __always_inline int send_clone(struct __sk_buff *skb)
{
	__u32 mark = skb->mark;
	int err;

	skb->mark = IMPAIR_CLONE_MARK;
	err = bpf_clone_redirect(skb, skb->ifindex, ingress ? BPF_F_INGRESS : 0);
	skb->mark = mark;
	return err;
}

/* Takes the frame out of the stream; the caller drops it. */
static __always_inline int hold(struct __sk_buff *skb, struct stash *st, __u64 now)
{
	__u32 len = skb->len;

	if (len < ETH_HLEN || len > IMPAIR_FRAME_MAX)
		return -1;
	if (bpf_skb_load_bytes(skb, 0, st->data, len))
		return -1;
	st->len = len;
	st->passed = 0;
	st->since_ns = now;
	return 0;
}

/* Lets the current frame go ahead (as a clone), then turns it into the held one. */
static __always_inline int release(struct __sk_buff *skb, struct stash *st)
{
	__u32 len = st->len;

	st->since_ns = 0;
	if (len < ETH_HLEN || len > IMPAIR_FRAME_MAX)
		return -1;
	if (send_clone(skb))
		return -1;
	if (bpf_skb_change_tail(skb, len, 0))
		return -1;
	if (bpf_skb_store_bytes(skb, 0, st->data, len, 0))
		return -1;
	return 0;
}

SEC("tc")
int impair(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct stash *st;
	__u64 now;

	if (skb->protocol != bpf_htons(ETH_P_IP) || skb->gso_segs > 1)
		return TC_ACT_OK;
	if (skb->mark == IMPAIR_CLONE_MARK) {
		skb->mark = 0; /* ours: a duplicate, or a frame sent ahead of a held one */
		return TC_ACT_OK;
	}
	count(IMPAIR_SEEN);
	if (chance(drop_ppm)) {
		count(IMPAIR_DROPPED);
		return TC_ACT_SHOT;
	}
	if (chance(dup_ppm)) {
		if (send_clone(skb) == 0)
			count(IMPAIR_DUPLICATED);
		else
			count(IMPAIR_ERRORS);
	}
	st = bpf_map_lookup_elem(&impair_stash, &zero);
	if (!st)
		return TC_ACT_OK;
	now = bpf_ktime_get_ns();
	if (st->since_ns) {
		if (now - st->since_ns > max_hold_ns) {
			st->since_ns = 0;
			count(IMPAIR_EXPIRED);
		} else if (++st->passed >= hold_pkts || now - st->since_ns >= hold_ns) {
			if (release(skb, st))
				count(IMPAIR_ERRORS);
			else
				count(IMPAIR_RELEASED);
			return TC_ACT_OK;
		}
	}
	if (!st->since_ns && chance(reorder_ppm)) {
		if (hold(skb, st, now) == 0) {
			count(IMPAIR_HELD);
			return TC_ACT_SHOT;
		}
		count(IMPAIR_ERRORS);
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
