/* resp.h - incremental, count-only HTTP/1.x response parser */
#ifndef SWAMP_RESP_H
#define SWAMP_RESP_H

#include <stddef.h>
#include <stdint.h>

#include "param.h"

/*
 * Fed the received byte stream in whatever spans the transport has (a TCP segment's payload
 * in place, or a scratch buffer), it parses the status line and header section and then only
 * counts body bytes: the body is never copied or looked at beyond the chunked framing.  A
 * header line split across spans is carried in `line` (truncated past SWAMP_LINE_MAX: only
 * short headers are interpreted).
 *
 * Framing: Content-Length; Transfer-Encoding: chunked (decoded, chunk data counted as body,
 * trailers skipped); otherwise, only when the server will close, the body runs to EOF.
 * 1xx interim responses are skipped; 204 and 304 have no body.
 */
enum swamp_resp_state {
	SWAMP_RESP_STATUS,
	SWAMP_RESP_HEADERS,
	SWAMP_RESP_BODY,       /* Content-Length bytes remain */
	SWAMP_RESP_BODY_EOF,   /* counted until the connection closes */
	SWAMP_RESP_CHUNK_SIZE, /* chunk-size [; ext] line */
	SWAMP_RESP_CHUNK_DATA,
	SWAMP_RESP_CHUNK_END, /* the CRLF after chunk data */
	SWAMP_RESP_TRAILERS,
	SWAMP_RESP_DONE,
};

#define SWAMP_RESP_F_HAVE_CL   0x01
#define SWAMP_RESP_F_CHUNKED   0x02
#define SWAMP_RESP_F_CLOSE     0x04 /* the server closes after this response */
#define SWAMP_RESP_F_KEEPALIVE 0x08 /* "Connection: keep-alive" seen */
#define SWAMP_RESP_F_CR	       0x20 /* chunk end: CR seen, LF expected */
#define SWAMP_RESP_F_HEX       0x40 /* chunk size: at least one digit seen */
#define SWAMP_RESP_F_EXT       0x80 /* chunk size: past the digits */

struct swamp_resp {
	uint8_t state;
	uint8_t flags;
	uint16_t status;
	uint16_t line_len;   /* bytes of the current partial line held in `line` */
	uint16_t minor;	     /* HTTP/1.minor */
	uint32_t line_total; /* true length of the current partial line */
	uint32_t hdr_bytes;  /* header section so far, for SWAMP_HEADERS_MAX */
	uint64_t content_length;
	uint64_t remaining; /* body or chunk bytes still to come */
	uint64_t body_bytes;
	uint64_t bytes; /* everything received for this response */
	char line[SWAMP_LINE_MAX];
};

void swamp_resp_init(struct swamp_resp *r);

/*
 * Consumes bytes from [p, p+n).  Returns how many were consumed (fewer than n only when the
 * response completed inside the span: the rest belongs to no response we asked for), or
 * -EBADMSG when the response is malformed.  swamp_resp_done() says whether it completed.
 */
long swamp_resp_feed(struct swamp_resp *r, const void *p, size_t n);

/* The connection reached EOF: 0 when that completes the response (or it was already
 * complete), -ENODATA when no byte of a response ever came, -EPROTO when it was cut short. */
int swamp_resp_eof(struct swamp_resp *r);

static inline int swamp_resp_done(const struct swamp_resp *r)
{
	return r->state == SWAMP_RESP_DONE;
}

/* After a complete response: may the connection carry another request? */
static inline int swamp_resp_reusable(const struct swamp_resp *r)
{
	return !(r->flags & SWAMP_RESP_F_CLOSE);
}

#endif /* SWAMP_RESP_H */
