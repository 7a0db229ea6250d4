/* param.h - every xokd tunable and limit, with what it bounds */
#ifndef XOK_KERN_PARAM_H
#define XOK_KERN_PARAM_H

/* ---- per-application limits: the defaults of --limit (reported by HELLO; exceeding one
 * gives -EDQUOT, or -EAGAIN for the transmit and request-rate limits) ---- */
#define XOK_APP_REGIONS_MAX	 64	      /* regions per app; region ids are 1..this (also
					       * the most --limit regions= may allow) */
#define XOK_APP_REGION_BYTES_MAX (1ull << 30) /* total bytes of one app's regions */
#define XOK_APP_RINGS_MAX	 64	      /* packet rings per app */
#define XOK_APP_FILTERS_MAX	 1024	      /* filters an app owns or references */
#define XOK_APP_TX_INFLIGHT_MAX	 1024	      /* frames gathered into UMEM, not yet sent */
#define XOK_APP_CTL_RPS		 20000	      /* control requests per second (token bucket) */
#define XOK_APP_CTL_BURST_MIN	 64	      /* bucket depth: max(rps / 10, this) requests */
#define XOK_LIMIT_MAX		 (1u << 30)   /* largest count --limit accepts */

/* ---- daemon-wide limits ---- */
#define XOK_APPS_MAX	    1024	/* connected applications */
#define XOK_UID_APPS_MAX    256		/* ... of one non-root uid: no user takes every slot */
#define XOK_QUEUES_MAX	    8		/* AF_XDP sockets (rx queues) per interface */
#define XOK_TABLE_BYTES_MAX (64u << 20) /* size of one published system table */

/* ---- AF_XDP ----
 * Frame headroom in front of every received frame in its UMEM chunk; the frame itself
 * begins with the generated program's struct dpf_xdp_meta prefix. */
#define XOK_UMEM_FRAME_SIZE 4096 /* one frame per UMEM chunk (aligned mode) */
#define XOK_UMEM_FRAMES	    4096 /* per socket: 16 MiB */
#define XOK_UMEM_RX_FRAMES  2048 /* given to the fill ring; the rest transmit */
#define XOK_UMEM_HEADROOM   64	 /* frame headroom (see above) */
#define XOK_XSK_RX_SIZE	    2048 /* descriptors in the AF_XDP rx ring */
#define XOK_XSK_TX_SIZE	    1024 /* ... tx ring */
#define XOK_XSK_FILL_SIZE   2048 /* ... fill ring (>= XOK_UMEM_RX_FRAMES) */
#define XOK_XSK_COMP_SIZE   2048 /* ... completion ring */

/* ---- transmit ---- */
#define XOK_TX_FRAME_MIN 14 /* shortest frame: an Ethernet header */
#define XOK_TX_GSO_FRAME_MAX (14 + 65535) /* XOK_TX_TCP_GSO: an IPv4 packet's limit */
/* Deficit round robin over the apps' transmit queues (tx.c): each turn an app may send
 * quantum * weight bytes.  A quantum of one full UMEM frame keeps every turn O(1). */
#define XOK_TX_QUANTUM	    4096 /* default --tx-quantum, bytes */
#define XOK_TX_QUANTUM_MAX  (1u << 20)
#define XOK_TX_WEIGHT_MAX   1000 /* --tx-weight */
#define XOK_TX_WEIGHTS_MAX  32	 /* --tx-weight rules */
#define XOK_TX_REJECT_COST  64	 /* deficit bytes a rejected descriptor costs its app */
/* Frames xokd keeps submitted to one AF_XDP socket and not yet completed (a device queue
 * limit, like BQL): the rest wait in the apps' own queues, where the scheduler can still
 * choose among them, so a flood cannot park thousands of frames ahead of another app's. */
#define XOK_TX_DEVQ_MAX	    256
#define XOK_TX_RUN_BUDGET   1024 /* descriptors taken per loop turn, all apps together */
/* Checked transmission: claims an app released (DPF_DELETE) while descriptors it queued
 * earlier were still unread stay valid for those descriptors, up to this many per app and
 * for at most this long. */
#define XOK_TX_GRACE_MAX    32
#define XOK_CLAIM_HASH	    64 /* buckets of an app's claims, by local port */
#define XOK_TX_GRACE_NS	    (100ull * 1000000ull)

/* ---- impairment (--impair) ---- */
#define XOK_IMPAIR_GAP	      3	   /* default gap=: a reordered frame waits behind K frames */
#define XOK_IMPAIR_HOLD_NS    (20ull * 1000000ull) /* ... or at most this long */
#define XOK_IMPAIR_QUEUE_MAX  8192 /* frames held (reordered or delayed) per direction */
#define XOK_IMPAIR_DELAY_MAX  10000000 /* delay=, microseconds */
#define XOK_IMPAIR_RATE_MAX   1000000  /* rate=, Mbit/s */
#define XOK_IMPAIR_WIRE_EXTRA 24       /* rate=: preamble, FCS and gap around each frame */
#define XOK_IMPAIR_LINK_QUEUE_NS 250000 /* rate=: transmit time the link queues at most */

/* ---- event loop ---- */
#define XOK_RX_BATCH	   64	/* rx descriptors taken per peek */
#define XOK_RX_BUDGET	   1024 /* frames per socket per loop iteration */
#define XOK_EPOLL_EVENTS   64	/* events per epoll_wait */
#define XOK_LISTEN_BACKLOG 128	/* control socket backlog */
#define XOK_CTL_FDS_MAX	   4	/* fds received per datagram (more fail the request) */

/* ---- program rebuilds ---- */
/* Least time between two loads of the generated DPF program.  Every load frees the previous
 * program through deferred kernel work that contends for the JIT allocator's lock; thousands
 * of loads a second can deadlock that allocator until reboot (seen on 6.18).  Inserts wait
 * for the interval (their reply must follow the swap); deletes and reclaims are coalesced
 * into the next rebuild. */
#define XOK_DPF_MIN_INTERVAL_NS (5ull * 1000000ull)

/* ---- logging ---- */
#define XOK_APP_LOG_BUDGET 32 /* error lines logged per app and module, then suppressed */
#define XOK_LOG_MODS	   6  /* modules with a budget of their own (log.c) */

#endif /* XOK_KERN_PARAM_H */
