/* param.h - twd's tunables */
#ifndef TWD_PARAM_H
#define TWD_PARAM_H

#define TWD_NSEC_PER_MSEC 1000000ull
#define TWD_NSEC_PER_SEC  1000000000ull

#define TWD_MSL_DEFAULT_NS   (30 * TWD_NSEC_PER_SEC) /* --msl: TIME_WAIT lasts 2 MSL */
#define TWD_FIN_WAIT2_NS     (60 * TWD_NSEC_PER_SEC) /* an orphaned FIN_WAIT_2 at most */
#define TWD_FIN_RETRIES	     8	  /* FIN retransmissions before giving up (~50 s) */
#define TWD_RTO_MIN_NS	     (200 * TWD_NSEC_PER_MSEC)
#define TWD_RTO_MAX_NS	     (60 * TWD_NSEC_PER_SEC)
#define TWD_REPLY_RATE	     1000 /* resets and challenge ACKs per second (token bucket) */
#define TWD_REPLY_BURST	     100

#define TWD_RING_ENTRIES     1024
#define TWD_RING_ENTRY_SIZE  2048 /* whole frames: checksums need all of a segment */
#define TWD_TX_SLOTS	     512  /* frames in flight */
#define TWD_TX_SLOT_SIZE     128  /* Ethernet + IPv4 + TCP + timestamps, padded */

#define TWD_HASH_BUCKETS     4096 /* connections by 4-tuple; filters by id */
#define TWD_CLIENTS_MAX	     64	  /* simultaneous hand-off connections */
#define TWD_CLIENT_TIMEOUT_MS 5000 /* a client silent this long mid-protocol is dropped */
#define TWD_WAIT_MAX_NS	     TWD_NSEC_PER_SEC /* the main loop looks at signals this often */
#define TWD_KICK_NS	     (100 * TWD_NSEC_PER_MSEC) /* the server kicks again (never needed) */
#define TWD_RELEASE_BATCH    4	  /* filter references dropped per main-loop turn */
#define TWD_REF_RETRIES	     200  /* xokd's request-rate limit: EAGAIN retried every ms */

#endif /* TWD_PARAM_H */
