/* httpd_param.h - every tunable of httpd and httpd-linux, in one place */
#ifndef XOK_HTTPD_PARAM_H
#define XOK_HTTPD_PARAM_H

/* Per-connection receive buffer. The parser copies what it keeps, so this only bounds how
 * much is read per call, not the size of a request. */
#define HTTPD_RBUF_SIZE 4096

/* Events taken per poll call, and connections accepted per listener event. */
#define HTTPD_EVENTS	   256
#define HTTPD_ACCEPT_BATCH 64

#define HTTPD_BACKLOG	   4096
#define HTTPD_PORT_DEFAULT 8080

/* A connection that makes no progress (no request bytes in, no response bytes out) for
 * this long is closed: stalled and idle clients alike. Settable with -t. */
#define HTTPD_TIMEOUT_MS_DEFAULT 10000

/* After an error response we stop sending and read (discarding) until the client closes,
 * so that closing with unread data does not reset the response away; bounded by this. */
#define HTTPD_LINGER_MS 2000

/* Out of descriptors: stop accepting this long instead of spinning on a ready listener. */
#define HTTPD_ACCEPT_PAUSE_MS 100

/* Longest sleep in the event loop, so that a signal is seen even if it raced the wait. */
#define HTTPD_TICK_MS 500

#endif /* XOK_HTTPD_PARAM_H */
