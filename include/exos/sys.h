/* sys.h - the libOS's system layer: the only code that speaks xokd's ABI */
#ifndef EXOS_SYS_H
#define EXOS_SYS_H

/*
 * Everything above this layer (Ethernet, ARP, IP, TCP, sockets, the apps) reaches xokd
 * through these calls.  Unit tests of the protocol layers link a fake implementation of
 * this same interface (tests/libos/fake_sys.c) that captures transmitted frames and injects
 * received ones.
 *
 * Functions return 0 (or a non-negative value) on success and -errno on failure, and set
 * errno.  No call blocks except exos_sys_wait() (control calls wait for xokd's reply).
 * A struct exos_sys is not thread-safe.
 */

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xok/abi.h>

#ifndef EXOS_API
#define EXOS_API __attribute__((visibility("default")))
#endif

struct exos_sys;

/* The control socket exos_sys_open connects to for path: path itself, else $XOK_SOCKET if
 * set and not empty, else XOK_SOCKET_DEFAULT.  For programs that name it in messages. */
EXOS_API const char *exos_sys_socket_path(const char *path);
/* Connects to xokd (path NULL: $XOK_SOCKET, else XOK_SOCKET_DEFAULT) and sets up the
 * shared state every app needs: a control region, the wake word, the transmit queue. */
EXOS_API int exos_sys_open(const char *path, struct exos_sys **out);
EXOS_API void exos_sys_close(struct exos_sys *sys);
/* The control socket's fd, for apps that want to notice xokd going away (POLLHUP). */
EXOS_API int exos_sys_fd(const struct exos_sys *sys);
EXOS_API uint32_t exos_sys_app_id(const struct exos_sys *sys);

EXOS_API int exos_sys_info(struct exos_sys *sys, struct xok_info_reply *out);

/* ---- shared memory ---- */
struct exos_region {
	uint32_t id;
	void *base;
	size_t size;
};
/* Creates a sealed memfd of `size` bytes (rounded up to pages), maps it and registers it. */
EXOS_API int exos_region_create(struct exos_sys *sys, size_t size, struct exos_region **out);
EXOS_API int exos_region_destroy(struct exos_sys *sys, struct exos_region *r);
/* Translates a pointer into a registered region to <region, offset>; -EFAULT when
 * [p, p+len) is not inside one region. */
EXOS_API int exos_region_ref(const struct exos_sys *sys, const void *p, size_t len,
			     struct xok_ref *out);

/* ---- packet rings ---- */
struct exos_ring {
	uint32_t id;
	uint32_t entry_size;
	uint32_t nentries;
	uint32_t next; /* next entry to consume */
	struct xok_ring_hdr *hdr;
	uint8_t *entries;
	struct exos_region *region; /* the ring's own region */
};
/* Creates a region holding a ring of nentries entries of entry_size bytes. */
EXOS_API int exos_ring_create(struct exos_sys *sys, uint32_t entry_size, uint32_t nentries,
			      struct exos_ring **out);
EXOS_API int exos_ring_destroy(struct exos_sys *sys, struct exos_ring *ring);
/* The next delivered entry, or NULL if none (acquire on the owner word). */
EXOS_API struct xok_ring_entry *exos_ring_peek(struct exos_ring *ring);
/* Returns the entry from exos_ring_peek to xokd and advances (consumed++). */
EXOS_API void exos_ring_release(struct exos_ring *ring);

/* ---- filters ---- */
struct exos_filter_id {
	uint32_t id;
	uint32_t parent;
	struct xok_cap cap;
};
/* flags: XOK_DPF_*.  On -EEXIST/-EBUSY, out->parent names the conflicting filter. */
EXOS_API int exos_filter_insert(struct exos_sys *sys, const struct exos_ring *ring,
				uint32_t flags, uint32_t parent, const struct dpf_filter *f,
				struct exos_filter_id *out);
EXOS_API int exos_filter_delete(struct exos_sys *sys, uint32_t id);
EXOS_API int exos_filter_ref(struct exos_sys *sys, uint32_t id, const struct xok_cap *cap,
			     const struct exos_ring *ring /* NULL: reference only */);

/* ---- transmission ---- */
struct exos_iov {
	const void *base; /* must lie in a registered region */
	uint32_t len;
};
/*
 * Queues one frame gathered from iov[0..n) on the fast path (shared-memory queue).  When
 * `notify` is non-NULL it must lie in a registered region; xokd decrements it once the
 * frame has left, so the caller increments it before calling.  Returns 0, -EAGAIN when the
 * queue is full (call exos_xmit_flush and retry), -EFAULT, -EINVAL.
 */
EXOS_API int exos_xmit(struct exos_sys *sys, uint32_t ifindex, const struct exos_iov *iov,
		       int n, uint32_t *notify);
/* The same for a large IPv4/TCP frame that leaves as segments of gso_size payload bytes
 * (XOK_TX_TCP_GSO in xok/abi.h: the interface must offer XOK_IFF_TCP_GSO, the TCP checksum
 * field holds the folded pseudo-header sum). */
EXOS_API int exos_xmit_gso(struct exos_sys *sys, uint32_t ifindex, const struct exos_iov *iov,
			   int n, uint32_t *notify, uint16_t gso_size);
/* Kicks xokd if it asked for a wakeup.  Cheap when it did not. */
EXOS_API int exos_xmit_flush(struct exos_sys *sys);
/* Frames queued but not yet consumed by xokd. */
EXOS_API uint32_t exos_xmit_pending(const struct exos_sys *sys);

/* ---- waiting (wakeup predicates) ---- */
/*
 * Sleeps until a frame is waiting in any ring created through this sys, or any watched
 * word satisfies its condition, or the CLOCK_MONOTONIC deadline (ns, 0 = none) passes.
 * The predicate is rebuilt and sent to xokd only when the set of rings or watches changes
 * (the deadline travels in the futex wait, not in the predicate).  Flushes queued transmit
 * descriptors first (exos_xmit_flush).  May return 0 spuriously: callers re-check.
 * Returns 0 when woken, -ETIMEDOUT at the deadline, -EINTR on a signal, -EPIPE if xokd has
 * gone away (at once when xokd exits cleanly, within a second when it is killed).
 */
EXOS_API int exos_sys_wait(struct exos_sys *sys, uint64_t deadline_ns);
/*
 * The same, but also returns when one of the caller's fds (stdin, a Linux socket, a
 * timerfd...) has an event: sleeps in ppoll(2) on fds[0..nfds) plus the control socket
 * (xokd sends a wake note there whenever the predicate wakes the app: XOK_WKPRED_NOTIFY)
 * plus exos_sys_kick's eventfd.  On return fds[i].revents are set as by poll(2); 0 means
 * woken (frames, a watch, a kick, an fd event, or spuriously: callers re-check).  Detects
 * xokd going away at once (-EPIPE).  Once used, every later predicate carries the note
 * flag, which costs xokd one send(2) per wakeup.
 */
EXOS_API int exos_sys_wait_poll(struct exos_sys *sys, uint64_t deadline_ns, struct pollfd *fds,
				nfds_t nfds);
/*
 * Makes a current or the next exos_sys_wait / exos_sys_wait_poll of this sys return 0
 * promptly.  The one call that is thread-safe and async-signal-safe: for a thread that
 * waits on something else (or a signal handler) to interrupt the libOS's sleep.
 */
EXOS_API int exos_sys_kick(struct exos_sys *sys);
/* Watches `*word op value` (a word in a registered region or a published table); returns
 * a handle for exos_sys_unwatch. */
EXOS_API int exos_sys_watch(struct exos_sys *sys, const uint32_t *word, enum xok_wk_op op,
			    uint32_t value);
EXOS_API int exos_sys_unwatch(struct exos_sys *sys, int handle);

/* ---- system tables ---- */
/* Maps a published table read-only. */
EXOS_API int exos_table_get(struct exos_sys *sys, enum xok_table t, const void **base,
			    size_t *size);
/* Privileged: creates, maps writable and publishes a table; *base is the writable map. */
EXOS_API int exos_table_publish(struct exos_sys *sys, enum xok_table t, size_t size,
				void **base);
/* Publisher: tells xokd the table changed (bump its version word first), so that apps
 * sleeping on a predicate that reads it are re-evaluated. */
EXOS_API int exos_table_notify(struct exos_sys *sys, enum xok_table t);

/* ---- statistics ---- */
EXOS_API int exos_sys_stats(struct exos_sys *sys, enum xok_stats_kind kind, uint32_t cursor,
			    struct xok_stats_reply *out);

/* CLOCK_MONOTONIC in ns; the libOS's one clock. */
EXOS_API uint64_t exos_now_ns(void);

#endif /* EXOS_SYS_H */
