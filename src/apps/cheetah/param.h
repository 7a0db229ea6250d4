/* param.h - every tunable of cheetah, in one place */
#ifndef XOK_CHEETAH_PARAM_H
#define XOK_CHEETAH_PARAM_H

/* The libOS owns the port through a DPF filter: port 80 needs no privilege. */
#define CHEETAH_PORT_DEFAULT 80

/* A connection that makes no progress (request bytes in, response bytes acknowledged) for
 * this long is closed; a request must also arrive whole within it (slowloris). -t. */
#define CHEETAH_TIMEOUT_MS_DEFAULT 10000

/* Longest sleep in the event loop, so that a signal racing the wait is seen. */
#define CHEETAH_TICK_MS 500

/* Connections in the handshake per listener (the stack's SYN_RCVD limit). */
#define CHEETAH_BACKLOG 4096

/* Responses queued and not yet acknowledged per connection before we stop parsing
 * pipelined requests: queuing is cheap (references), but a client that never reads must
 * not pin the whole cache. Parsing resumes as responses are acknowledged. */
#define CHEETAH_PIPELINE_MAX 32

/* Registered memory for the file cache comes in arenas of this size (xokd allows an app
 * 64 regions and 1 GiB in all, shared with the stack's own buffer pool); a file larger than
 * half an arena gets a region of its own. */
#define CHEETAH_ARENA_BYTES (64ul << 20)
#define CHEETAH_ALLOC_ALIGN 64 /* file data starts on a cache line */

/* Cap on the stack's buffer pool (receive copies, headers, --no-cache send copies), so the
 * cache's arenas fit in xokd's per-app budget beside it. */
#define CHEETAH_POOL_MAX (256ul << 20)

/* Precomputed checksums only pay when data segments line up with the stored sums, which
 * needs the header in a segment of its own: one more packet. Below this file size that
 * packet costs more than summing the data, so small files share the first segment with the
 * header and the stack sums what does not line up. */
#define CHEETAH_ALIGN_MIN_BYTES (32u << 10)

/* Segment sizes (connection MSS values) for which one file keeps sums at once. */
#define CHEETAH_SUM_VARIANTS 4

/* How often the checksum index file is checked for replacement by cheetah-prep. */
#define CHEETAH_INDEX_RECHECK_NS 1000000000ull

/* --no-cache (the baseline's send path): file data is copied into the stack's buffers,
 * at most this much per connection at a time (a socket's send buffer). */
#define CHEETAH_COPY_SNDBUF (512u << 10)

/* On exit: how long to wait for connections to finish releasing their send requests. */
#define CHEETAH_DRAIN_MS 2000

#endif /* XOK_CHEETAH_PARAM_H */
