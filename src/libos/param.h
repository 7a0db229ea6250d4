/* param.h - every tunable of the libOS protocol stack, in one place */
#ifndef EXOS_PARAM_H
#define EXOS_PARAM_H

#define NSEC_PER_USEC 1000ull
#define NSEC_PER_MSEC 1000000ull
#define NSEC_PER_SEC  1000000000ull

/* ---- receive ring and buffer pool ---- */
#define RING_ENTRIES_DEFAULT	4096
#define RING_ENTRY_SIZE_DEFAULT 2048
#define RX_BATCH		64	 /* frames processed between end-of-batch work */
#define PBUF_SIZE		2048	 /* packet buffer: data, out-of-order, send copies */
#define TXB_SIZE		256	 /* transmit block: headers + completion word */
#define POOL_PBUF_GROW		(8u << 20) /* registered bytes added per pbuf growth */
#define POOL_TXB_GROW		(1u << 20) /* registered bytes added per txb growth */
#define POOL_MAX_DEFAULT	(512ul << 20)
#define POOL_REGIONS_MAX	128
#define SLAB_CHUNK_OBJS		256	 /* heap objects allocated at a time */

/* ---- transmission ---- */
#define TX_BLOCKED_RETRY_NS (1 * NSEC_PER_MSEC) /* wait step when xokd's queue is full */

/* ---- ARP ---- */
#define ARP_RETRIES	  3	/* requests before EHOSTUNREACH */
#define ARP_TIMEOUT_NS	  (1 * NSEC_PER_SEC)
/* Frames waiting for resolution.  A client opening many connections at once to a host it
 * has not resolved yet queues a SYN per connection: each one dropped here waits out a whole
 * 1 s retransmission timeout.  So, like Linux's neighbour queue (unres_qlen_bytes, a few
 * hundred small frames), the bound is a burst of connections, not a handful of frames. */
#define ARP_QUEUE_MAX	  1024 /* all destinations */
#define ARP_QUEUE_PER_DST 256
#define ARP_PENDING_MAX	  16	/* destinations being resolved at once */
#define ARP_CACHE_SIZE	  64	/* per-stack cache of table lookups (by next hop) */

/* ---- IPv4 ---- */
#define IP_REASM_SLOTS	    4	/* datagrams reassembled at once */
#define IP_REASM_MAX	    65535
#define IP_REASM_TIMEOUT_NS (30 * NSEC_PER_SEC)

/* ---- UDP ---- */
#define UDP_EPHEMERAL_LO   32768
#define UDP_EPHEMERAL_HI   60999
#define UDP_PORT_RETRIES   64
#define UDP_RCVBUF_DEFAULT (256u << 10)

/* ---- TCP ---- */
#define TCP_CTL_HELD	     64	 /* stateless segments kept while xokd's queue is full */
#define TCP_EPHEMERAL_LO     32768 /* Linux's default range */
#define TCP_EPHEMERAL_HI     60999
#define TCP_PORT_RETRIES     64	 /* random picks before EADDRNOTAVAIL (§3.3 (4)) */
#define TCP_PBLOCK_PORTS     64	 /* ephemeral ports claimed with one filter (tcp_port.c) */
#define TCP_PBLOCK_LINGER_NS (1 * NSEC_PER_SEC) /* an empty block waits this for new users */
#define TCP_HASH_INIT	     256 /* 4-tuple buckets; doubles at load 1 */
#define TCP_BACKLOG_DEFAULT  1024
#define TCP_RCVBUF_DEFAULT   (4u << 20)
#define TCP_SNDBUF_DEFAULT   (4u << 20)
#define TCP_RCVBUF_MIN	     2048
#define TCP_MSS_NOOPT	     536 /* when the peer sends no MSS option (RFC 9293) */
#define TCP_MSS_MIN	     88
#define TCP_IW_SEGS	     10	 /* initial window, RFC 6928 */
#define TCP_DUPTHRESH	     3
#define TCP_RTO_INIT_NS	     (1 * NSEC_PER_SEC)	  /* RFC 6298 (2.1) */
#define TCP_RTO_MIN_NS	     (200 * NSEC_PER_MSEC)
#define TCP_RTO_MAX_NS	     (60 * NSEC_PER_SEC)
#define TCP_SYN_RETRIES	     6	 /* as Linux: ~127 s */
#define TCP_SYNACK_RETRIES   5
#define TCP_RETRIES	     15	 /* data retransmissions before ETIMEDOUT (Linux retries2) */
#define TCP_DELACK_NS	     (40 * NSEC_PER_MSEC)
#define TCP_DELACK_SEGS	     2	 /* ACK at least every second full segment */
#define TCP_PERSIST_MIN_NS   (200 * NSEC_PER_MSEC)
#define TCP_PERSIST_MAX_NS   (60 * NSEC_PER_SEC)
#define TCP_MSL_NS	     (30 * NSEC_PER_SEC) /* TIME_WAIT lasts 2 MSL = 60 s, as Linux */
#define TCP_FIN_WAIT2_NS     (60 * NSEC_PER_SEC) /* orphaned FIN_WAIT_2 */
#define TCP_KEEPIDLE_NS	     (7200 * NSEC_PER_SEC)
#define TCP_KEEPINTVL_NS     (75 * NSEC_PER_SEC)
#define TCP_KEEP_PROBES	     9
#define TCP_PAWS_IDLE_NS     (24ull * 24 * 3600 * NSEC_PER_SEC) /* RFC 7323 5.5 */
#define TCP_CHALLENGE_PER_SEC 100 /* RFC 5961 challenge ACK rate limit */
#define TCP_TXR_INIT	     64	 /* transmission log records, doubled as needed */
#define TCP_PTO_MIN_NS	     (2 * NSEC_PER_MSEC)  /* tail loss probe floor */
#define TCP_PTO_DELACK_NS    (40 * NSEC_PER_MSEC) /* a lone segment's ACK may be delayed */
#define TCP_OOO_MAX_SEGS     4096 /* out-of-order segments kept per connection */
#define TCP_SEG_PIECES	     12	 /* send requests one segment may gather from */
#define TCP_GSO_BYTES	     65000 /* payload of one XOK_TX_TCP_GSO frame at most */
#define TCP_ACK_HOLD_DEFAULT_US 40000

/* ---- process exit (exit.c, handoff.c) ---- */
#define EXIT_DRAIN_NS	     (2 * NSEC_PER_SEC)	 /* unacknowledged data gets this long (or the
						  * longest SO_LINGER) before the hand-off */
#define EXIT_SLICE_NS	     (10 * NSEC_PER_MSEC) /* wait step when several stacks exit */
#define HANDOFF_TIMEOUT_MS   5000 /* twd's answer to one message */

#endif /* EXOS_PARAM_H */
