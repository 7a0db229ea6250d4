/* fake_sys.h - the test side of the fake sys layer: frames in and out, clock, ARP, filters */
#ifndef EXOS_TEST_FAKE_SYS_H
#define EXOS_TEST_FAKE_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <exos/sys.h>

#define FAKE_FRAME_MAX 2048
#define FAKE_IFINDEX   2
#define FAKE_MTU       1500

struct fake_frame {
	uint32_t ifindex;
	uint32_t len;
	uint8_t data[FAKE_FRAME_MAX];
};

/* Resets everything (exos_sys_open does it too). */
void fake_reset(void);

/* The clock exos_now_ns returns. */
void fake_set_time(uint64_t ns);
void fake_advance(uint64_t ns);
uint64_t fake_time(void);

/* Puts a frame into the first ring (the stack's); false if the ring was full. */
bool fake_inject(const void *frame, size_t len);

/* Transmitted frames, oldest first. */
size_t fake_tx_count(void);
bool fake_tx_pop(struct fake_frame *out);
void fake_tx_clear(void);

/* Transmit completions: by default a frame completes (its notify word is decremented) as
 * soon as it is queued; held, they complete at fake_complete_all. */
void fake_hold_completions(bool hold);
void fake_complete_all(void);
/* The next n exos_xmit calls fail with err (e.g. -EAGAIN: queue full). */
void fake_xmit_fail(int err, int n);
/* Whether the interface offers TCP segmentation offload (survives fake_reset; default off).
 * exos_xmit_gso frames are cut into segments here, as the kernel would, and queued as
 * such; a frame that breaks the rules of XOK_TX_TCP_GSO counts in xmit_bad_gso. */
void fake_set_gso(bool on);

/* The ARP table (as arpd would publish it). */
void fake_arp_set(uint32_t ip, const uint8_t mac[6]);
void fake_arp_clear(void);

/* Filters: the capability the fake gives filter id (exos_filter_ref accepts it for any id,
 * which then counts as ours); the next n inserts fail with err; active count; the last
 * inserted. */
struct xok_cap fake_cap(uint32_t id);
void fake_filter_fail(int err, int n);
size_t fake_filters_active(void);
bool fake_filter_last(struct dpf_filter *out);

/* Called whenever the stack would sleep (exos_sys_wait), to play the peer. */
void fake_set_wait_hook(void (*fn)(void *arg), void *arg);

/* Misuse detected: pieces outside registered memory, leaked regions, waits that would
 * never return. */
struct fake_stats {
	uint64_t xmit_efault, ring_full, waits, waits_forever, flushes, regions_live;
	uint64_t watches_live, rx_released;
	uint64_t xmit_gso, xmit_bad_gso; /* large frames, and those breaking the rules */
};
void fake_get_stats(struct fake_stats *out);

#endif /* EXOS_TEST_FAKE_SYS_H */
