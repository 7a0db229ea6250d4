/* param.h - every tunable of the webswamp load generator, in one place */
#ifndef SWAMP_PARAM_H
#define SWAMP_PARAM_H

/* Defaults of the command line, chosen to match wrk's so that results line up. */
#define SWAMP_CONNS_DEFAULT	 10
#define SWAMP_DURATION_S_DEFAULT 10
#define SWAMP_TIMEOUT_MS_DEFAULT 2000
#define SWAMP_CONNS_MAX		 1000000
#define SWAMP_DURATION_S_MAX	 (24 * 3600)

/* After a connect or send that failed at once (no free port, no file descriptor), the client
 * waits this long before its next request, so that a persistent local failure does not spin. */
#define SWAMP_RETRY_NS 1000000ULL

/* Think-time scale (Pareto k) of the surge driver when --think is not given.  Surge's own
 * users think for k = 1 s; a benchmark wants a denser load from fewer clients. */
#define SWAMP_SURGE_THINK_MS_DEFAULT 10
/* Pareto shape of think (OFF) times, from Surge (Barford & Crovella 1998). */
#define SWAMP_SURGE_THINK_ALPHA 1.5
/* Think times are truncated at this many times the scale so that a bounded run never has
 * a client asleep for most of it. */
#define SWAMP_SURGE_THINK_CAP 100

/* Surge's file-size model: a lognormal body and a Pareto tail above the cutoff. */
#define SWAMP_SIZE_LOGN_MU	 9.357
#define SWAMP_SIZE_LOGN_SIGMA	 1.318
#define SWAMP_SIZE_TAIL_K	 133000.0
#define SWAMP_SIZE_TAIL_ALPHA	 1.1
#define SWAMP_SIZE_TAIL_FRACTION 0.07

/* webswamp-gen defaults: a document set that fits comfortably in a tmpfs. */
#define SWAMP_GEN_COUNT_DEFAULT	   1000
#define SWAMP_GEN_MAX_SIZE_DEFAULT (1UL << 20)
#define SWAMP_GEN_ZIPF_DEFAULT	   1.0
#define SWAMP_GEN_PREFIX	   "/ws"
#define SWAMP_DOCSET_NAME	   "webswamp.docset"

/* Document-set limits the reader enforces (a corrupt file must not make us allocate
 * without bound). */
#define SWAMP_DOCSET_COUNT_MAX (1U << 22)
#define SWAMP_DOCSET_PATH_MAX  255
#define SWAMP_DOCSET_SIZE_MAX  (1ULL << 40)
#define SWAMP_DOCSET_FILE_MAX  (1UL << 30)

/* Response parsing: a header line split across receive spans is carried in a per-connection
 * buffer this big; longer lines are kept truncated (only the headers we interpret need to
 * fit, and those are short). */
#define SWAMP_LINE_MAX 96
/* Longest header section (status line, fields, line ends) before the response is malformed. */
#define SWAMP_HEADERS_MAX 16384
/* Longest chunk-size line (size, extensions, line end) of a chunked body. */
#define SWAMP_CHUNK_LINE_MAX 1024

/* Latency histogram: values in nanoseconds with 2^10 linear sub-buckets per power of two
 * (relative error below 0.2%), up to 2^40 ns (18 minutes); larger values are clamped. */
#define SWAMP_HIST_SUB_BITS 10
#define SWAMP_HIST_MAX_BITS 40

/* URL limits (the Host header is built from the host part). */
#define SWAMP_HOST_MAX	   253
#define SWAMP_URL_PATH_MAX 2048

/* Linux transport: events per epoll_wait and the scratch buffer received bytes are read
 * into (and only counted from). */
#define SWAMP_EPOLL_EVENTS 512
#define SWAMP_SCRATCH_SIZE (64 * 1024)

/* libOS transports (webswamp, sockclient).  After a response that ends the connection the
 * client waits this long for the server's FIN before closing itself, the paper's "closes
 * down connections that receive FIN bits": whoever closes first keeps TIME_WAIT, and on
 * the libOS an active open's TIME_WAIT keeps its xokd filter for 60 s (an app may own at
 * most 1024).  webswamp --merge also holds the ACK of the response this long, for the FIN
 * to carry. */
#define SWAMP_LINGER_NS (100 * 1000000ULL)
/* At exit, libOS transports close what is left gracefully and run the stack this long (at
 * most) for the last FINs and ACKs before the stack resets whatever remains. */
#define SWAMP_DRAIN_NS (200 * 1000000ULL)

#endif /* SWAMP_PARAM_H */
