/* merge.h - xfwd's coalescing: a connection's in-order segments into one offload frame */
#ifndef XFWD_MERGE_H
#define XFWD_MERGE_H

/*
 * A backend sends a download as a train of full-sized segments.  Forwarded a frame each,
 * every segment crosses xokd, the kernel's transmit path and the client's receive path by
 * itself, and wakes the client once per segment.  Where xokd offers TCP segmentation
 * offload (XOK_IFF_TCP_GSO), xfwd instead joins the consecutive segments of one connection
 * that arrive together into one frame, which the kernel cuts again at the same boundaries:
 * what a Linux router's GRO and GSO do to forwarded traffic, under GRO's rules -
 *  - contiguous sequence numbers, the same ACK number, window, header length, flags and
 *    option bytes (a PSH may end the train: only the last segment carries it after the cut);
 *  - every segment as long as the first but the last, which may be shorter and ends it;
 *  - no IP options, the same TOS, TTL and fragment bits;
 *  - every segment's TCP checksum verified before it joins.  The kernel computes fresh
 *    checksums for the segments it cuts, so a corrupted segment that joined would reach the
 *    client as good data; one that fails is forwarded alone with its checksum as it was,
 *    for the client to drop, exactly as without coalescing.
 * What the client receives is what the backend sent: the same segments, sizes, sequence
 * numbers, options and payload; only the IP IDs are renumbered upward from the first's.
 *
 * Pure functions over frames in memory, like nat.c: the unit tests cut a joined frame
 * themselves and compare.
 */

#include <stdbool.h>
#include <stdint.h>
#include <exos/sys.h>
#include <xok/abi.h>

#include "nat.h"

/* Segments per joined frame: the first piece is the first frame whole, each further piece
 * one segment's payload. */
#define MERGE_SEGS_MAX XOK_XMIT_PIECES

struct merge_train {
	struct nat_pkt head;	/* the first segment: its headers become the frame's */
	const void *key;	/* the connection (compared, never dereferenced) */
	uint32_t ifindex;	/* where the frame goes */
	uint32_t first;		/* the first segment's ring entry (its notification word) */
	uint32_t nseg;		/* 0: no train */
	uint32_t seg_len;	/* the first segment's payload: where the kernel cuts */
	uint32_t total;		/* payload bytes in the train */
	uint32_t max_total;	/* payload bytes the interface's offload frames hold */
	uint32_t next_seq;	/* host order */
	bool head_ok;		/* the first segment's checksum was verified */
	bool closed;		/* a shorter segment or a PSH ended the train */
	struct exos_iov piece[MERGE_SEGS_MAX];
};

/* Whether p (rewritten) may start or join a train: a data segment with ACK (and PSH)
 * only, no IP options, a payload the offload accepts as a segment size.  Reads headers
 * only. */
bool merge_candidate(const struct nat_pkt *p);

/* Whether p's TCP checksum is right (reads the whole segment). */
bool merge_csum_ok(const struct nat_pkt *p);

/* Starts a train with p, sent on ifindex with ring entry `entry`; gso_max is the
 * interface's largest offload frame. */
void merge_start(struct merge_train *t, const struct nat_pkt *p, const void *key,
		 uint32_t ifindex, uint32_t entry, uint32_t gso_max);

/* Adds p (a candidate, rewritten) to the train if it follows under the rules above; its
 * checksum (and, on the first join, the head's) is verified here.  False: it does not
 * join, and the caller sends the train first, then p. */
bool merge_join(struct merge_train *t, const struct nat_pkt *p, const void *key,
		uint32_t ifindex);

/* Makes the train one frame: the head's IP total length and checksum, PSH if a segment
 * had it, and the TCP checksum field holding the folded pseudo-header sum (what
 * XOK_TX_TCP_GSO wants).  Returns the count of t->piece, the frame's gather list; the
 * offload segment size is t->seg_len.  Only for trains of two or more segments. */
int merge_finish(struct merge_train *t);

#endif /* XFWD_MERGE_H */
