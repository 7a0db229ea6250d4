/* param.h - strayd's tunables */
#ifndef STRAYD_PARAM_H
#define STRAYD_PARAM_H

#define STRAYD_RATE_DEFAULT	 1000 /* replies per second per class (errors, echo) */
#define STRAYD_BURST_DIV	 10   /* default burst: rate / this (at least 1) */
#define STRAYD_RING_ENTRIES	 1024
#define STRAYD_RING_ENTRY_SIZE	 2048 /* a 1514-byte frame fits: echo requests answered whole */
#define STRAYD_RX_BUDGET	 64   /* frames handled between transmit flushes */
#define STRAYD_TX_SLOTS		 256  /* transmit buffers, one frame each */
#define STRAYD_TX_SLOT_SIZE	 2048
#define STRAYD_TTL		 64
#define STRAYD_TABLE_RETRY_NS	 2000000000ull /* look for arpd's table this often until found */
#define STRAYD_ARP_SPINS	 1000 /* seqlock retries before giving up on a table read */

#endif /* STRAYD_PARAM_H */
