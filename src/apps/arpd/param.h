/* param.h - arpd's tunables */
#ifndef ARPD_PARAM_H
#define ARPD_PARAM_H

#define ARPD_MAX_AGE_S_DEFAULT 60      /* an entry stays valid this long without a reply */
#define ARPD_MAX_AGE_S_MAX     86400
#define ARPD_REFRESH_NUM       3       /* refresh probes start at max_age * NUM / DEN */
#define ARPD_REFRESH_DEN       4
#define ARPD_PROBES	       3       /* unicast refresh requests before giving up */
#define ARPD_FAILED_HOLD_NS    20000000000ull /* a FAILED entry is freed after this */
#define ARPD_RING_ENTRIES      256     /* receive ring: ARP frames fit 128-byte entries */
#define ARPD_RING_ENTRY_SIZE   128
#define ARPD_RX_BUDGET	       64      /* frames handled per batch before table publish */
#define ARPD_TX_SLOTS	       64      /* transmit buffers (one frame each) */
#define ARPD_TX_SLOT_SIZE      64      /* a padded ARP frame is 60 bytes */
#define ARPD_CONFLICT_LOG_NS   10000000000ull /* address-conflict log lines at most this often */

#endif /* ARPD_PARAM_H */
