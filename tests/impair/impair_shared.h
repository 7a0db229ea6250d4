/* impair_shared.h - constants shared by impair.bpf.c and impair-attach.c */
#ifndef IMPAIR_SHARED_H
#define IMPAIR_SHARED_H

#define IMPAIR_PPM	    1000000	/* probabilities are in parts per million */
#define IMPAIR_CLONE_MARK   0x1a2b3c4du /* skb->mark of our own duplicates: pass them */
#define IMPAIR_FRAME_MAX    1536	/* largest frame the reorder stash holds */

enum impair_stat {
	IMPAIR_SEEN = 0,   /* IPv4 frames considered */
	IMPAIR_DROPPED,
	IMPAIR_DUPLICATED,
	IMPAIR_HELD,	   /* taken out of the stream to be sent later (reordering) */
	IMPAIR_RELEASED,   /* sent later, behind frames that followed it */
	IMPAIR_EXPIRED,	   /* held too long (no traffic followed): dropped */
	IMPAIR_ERRORS,	   /* a helper failed; the frame passed (or, if held, was lost) */
	IMPAIR_STAT_NR
};

#endif /* IMPAIR_SHARED_H */
