/* param.h - xfwd's tunables */
#ifndef XFWD_PARAM_H
#define XFWD_PARAM_H

#define XFWD_BACKENDS_MAX      64    /* --backend list length */
#define XFWD_RING_ENTRIES      4096  /* receive ring (power of two) */
#define XFWD_RING_ENTRY_MIN    2048  /* bytes per entry, header included; more for MTU */
#define XFWD_RX_BUDGET	       128   /* frames handled between transmit flushes */
#define XFWD_RING_COPY_DIV     4     /* copy frames once fewer than entries/DIV are free */
#define XFWD_BOUNCE_BUFS       512   /* copy buffers: ring pressure and ARP queues */
#define XFWD_XMIT_SPINS	       4096  /* full transmit queue: flush+yield this often, then drop */
#define XFWD_CONNS_DEFAULT     65536 /* --max-conns */
#define XFWD_IDLE_S_DEFAULT    600   /* --idle: established connections */
#define XFWD_LINGER_MS_DEFAULT 1000  /* --linger: after both FINs were acked, or a RST */
#define XFWD_SYN_TIMEOUT_NS    30000000000ull /* a SYN the backend never answered */
#define XFWD_PORTS_DEFAULT_LO  61440	      /* --ports: our ephemeral ports toward backends, */
#define XFWD_PORTS_DEFAULT_HI  65535	      /* outside the libOS's 32768-60999 */
#define XFWD_FILTER_RETRIES    64	      /* --return-filter conn: ports tried per SYN */
#define XFWD_NEIGH_PENDING     64	      /* next hops being resolved at once */
#define XFWD_NEIGH_QUEUE       16	      /* frames queued per unresolved next hop */
#define XFWD_NEIGH_CACHE       256	      /* next-hop cache entries (power of two) */
#define XFWD_ARP_TIMEOUT_NS    1000000000ull  /* between our ARP requests for one address */
#define XFWD_ARP_RETRIES       3	      /* requests before the next hop counts as failed */
#define XFWD_BACKEND_DOWN_NS   5000000000ull  /* a backend whose ARP failed is skipped this long */
#define XFWD_TABLE_RETRY_NS    1000000000ull  /* look for arpd's table this often until found */
#define XFWD_SEQLOCK_SPINS     1000	      /* ARP table read retries */

#endif /* XFWD_PARAM_H */
