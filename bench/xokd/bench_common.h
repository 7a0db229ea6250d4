/* bench_common.h - what the xokd benchmark's sender and receivers agree on */
#ifndef XOK_BENCH_COMMON_H
#define XOK_BENCH_COMMON_H

#include <stdint.h>
#include <time.h>

/* The UDP payload of every benchmark frame. */
struct bench_payload {
	uint64_t seq;
	uint64_t sent_ns; /* CLOCK_MONOTONIC when handed to the kernel */
};

#define BENCH_FRAME_OFF_PAYLOAD 42 /* Ethernet 14 + IPv4 20 + UDP 8 */

static inline uint64_t bench_now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif /* XOK_BENCH_COMMON_H */
