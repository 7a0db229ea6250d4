/* xok_entry.bpf.c - xokd's fixed XDP entry program: count, then tail-call the DPF program */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xok_shared.h"

/* Matched frames are redirected here by the generated DPF program (key: rx queue index). */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XOK_ENTRY_QUEUES_MAX);
	__type(key, __u32);
	__type(value, __u32);
} xsk_map SEC(".maps");

/* Slot XOK_DPF_PROG_SLOT holds the current DPF program; xokd swaps it atomically. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, XOK_DPF_PROG_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} dpf_progs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XOK_ESTAT_NR);
	__type(key, __u32);
	__type(value, __u64);
} entry_stats SEC(".maps");

/* What to do with a frame when no DPF program runs: XDP_PASS or XDP_DROP. */
const volatile __u32 unmatched_verdict = XOK_VERDICT_PASS;

static __always_inline void entry_count(__u32 idx, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&entry_stats, &idx);

	if (c)
		*c += n;
}

SEC("xdp")
int xok_entry(struct xdp_md *ctx)
{
	entry_count(XOK_ESTAT_RX, 1);
	entry_count(XOK_ESTAT_RX_BYTES, ctx->data_end - ctx->data);
	bpf_tail_call(ctx, &dpf_progs, XOK_DPF_PROG_SLOT);
	/* Only reached when the slot is empty or the tail call failed. */
	entry_count(XOK_ESTAT_NO_PROG, 1);
	return unmatched_verdict == XOK_VERDICT_DROP ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
