/* sys_internal.h - the system layer's private state (shared by sys.c, sys_ring.c, sys_wait.c) */
#ifndef EXOS_SYS_INTERNAL_H
#define EXOS_SYS_INTERNAL_H

/*
 * One struct exos_sys per connection to xokd.  Not thread-safe: an app that uses it from
 * several threads serialises the calls itself (the libOS is single-threaded, §3.3).
 *
 * The control region, created by exos_sys_open, holds the wake words at offset 0 and the
 * transmit queue (header + SYS_TXQ_ENTRIES descriptors) at offset SYS_TXQ_OFFSET.
 */

#include <exos/sys.h>

#define SYS_REGIONS_MAX 64		 /* regions tracked (xokd's default limit) */
#define SYS_RINGS_MAX	XOK_WK_TERMS_MAX /* each ring is one predicate term */
#define SYS_WATCHES_MAX XOK_WK_TERMS_MAX
#define SYS_TXQ_ENTRIES 1024 /* power of two: a burst of SYNs from many connections fits */
#define SYS_TXQ_OFFSET	64  /* after struct xok_wake, 64-byte aligned */
#define SYS_WAIT_SLICE_NS                                                                          \
	1000000000ull /* futex sleeps are cut in slices this long to                               \
		       * notice xokd going away (-EPIPE) */

struct sys_watch {
	bool used;
	uint8_t op;
	uint32_t value;
	const uint32_t *word;
	struct xok_ref ref;
};

struct sys_table {
	const void *base; /* NULL = not mapped */
	size_t size;
	bool writable; /* published by this app */
};

struct exos_sys {
	int fd;
	uint32_t seq;
	struct xok_hello_reply hello;

	struct exos_region *regions[SYS_REGIONS_MAX];
	struct exos_region *ctl; /* wake words + TXQ */
	struct xok_wake *wake;

	struct xok_txq_hdr *txq;
	struct xok_tx_desc *txd;
	uint32_t txq_prod; /* our copy of txq->prod */
	int efd;	   /* kicks xokd when it set XOK_TXQ_NEED_WAKEUP */

	struct exos_ring *rings[SYS_RINGS_MAX];
	struct sys_watch watches[SYS_WATCHES_MAX];
	bool pred_dirty; /* rings or watches changed since the last WKPRED */
	bool pred_installed;
	bool notes; /* the predicate asks for wake notes (exos_sys_wait_poll) */

	int kick_efd;	   /* exos_sys_kick wakes exos_sys_wait_poll through it */
	uint32_t kicked;   /* exos_sys_kick was called since the last wait returned */

	struct sys_table tables[XOK_TABLE_NR];
};

/* sys.c */
int sys_err(int err); /* sets errno = -err when err < 0; returns err */
/* One request/reply with xokd.  rep may be NULL; fd_in < 0 = none; fd_out may be NULL. */
int sys_call(struct exos_sys *sys, uint16_t op, const void *req, size_t req_len, int fd_in,
	     void *rep, size_t rep_len, int *fd_out);
int sys_region_new(struct exos_sys *sys, size_t size, struct exos_region **out);
bool sys_is_note(const void *buf, size_t n); /* an XOK_OP_WAKE_NOTE datagram */

/* sys_ring.c */
int sys_txq_setup(struct exos_sys *sys);
void sys_rings_free(struct exos_sys *sys);

/* sys_wait.c */
int sys_pred_install(struct exos_sys *sys);
bool sys_drain_notes(struct exos_sys *sys); /* true: the socket reached its end */

#endif /* EXOS_SYS_INTERNAL_H */
