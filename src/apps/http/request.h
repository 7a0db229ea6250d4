/* request.h - incremental HTTP/1.0 and HTTP/1.1 request parser */
#ifndef XOK_HTTP_REQUEST_H
#define XOK_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_param.h"

/*
 * The parser is a byte-at-a-time state machine that copies what it keeps (method, target,
 * the few header values it interprets) into struct http_req. The caller may therefore feed
 * any split of the byte stream — one TCP segment at a time, as cheetah will — and discard
 * consumed bytes at once. It stops right after the end of one request (request line, header
 * section and any Content-Length body), so pipelined requests are parsed one by one: the
 * bytes it did not consume belong to the next request.
 *
 * A request is complete when http_req_done() is true. Its status is then 0 (well formed
 * GET or HEAD) or the HTTP error status to answer with (400, 405, 413, 414, 431, 505);
 * after an error the connection must be closed, as the parser may have stopped in the
 * middle of the request. Call http_req_init() before parsing the next request.
 */

enum http_method {
	HTTP_METHOD_NONE = 0,
	HTTP_METHOD_GET,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_OTHER, /* any other token: answered 405 */
};

enum http_req_state {
	HTTP_RS_START, /* skipping empty lines before the request line */
	HTTP_RS_METHOD,
	HTTP_RS_TARGET,
	HTTP_RS_VERSION,
	HTTP_RS_RL_LF,	 /* CR seen at the end of the request line */
	HTTP_RS_HDR_BOL, /* beginning of a header line (or of the empty line) */
	HTTP_RS_HDR_NAME,
	HTTP_RS_HDR_OWS, /* spaces after the colon */
	HTTP_RS_HDR_VALUE,
	HTTP_RS_HDR_LF, /* CR seen at the end of a header line */
	HTTP_RS_END_LF, /* CR seen on the empty line */
	HTTP_RS_BODY,
	HTTP_RS_DONE,
};

/* Which header the parser is in; only these few are interpreted. */
enum http_hdr_id {
	HTTP_HDR_OTHER = 0,
	HTTP_HDR_CONNECTION,
	HTTP_HDR_HOST,
	HTTP_HDR_CONTENT_LENGTH,
	HTTP_HDR_TRANSFER_ENCODING,
};

struct http_req {
	/* Results, valid once http_req_done(). */
	int status; /* 0 = serve it, else the error status to send */
	enum http_method method;
	uint8_t version; /* 10 = HTTP/1.0, 11 = HTTP/1.1 */
	bool keep_alive; /* after the version default and Connection: tokens */
	bool has_host;
	uint64_t content_length; /* request body length, skipped by the parser */
	size_t target_len;
	char target[HTTP_REQLINE_MAX + 1]; /* NUL-terminated request-target as sent */

	/* Parser state. */
	enum http_req_state state;
	enum http_hdr_id hdr;
	bool conn_close, conn_keep_alive, has_length;
	size_t line_len; /* bytes of the request line so far */
	size_t hdrs_len; /* bytes of the header section so far */
	size_t tok_len;	 /* bytes in tok[] */
	uint64_t body_left;
	char method_buf[HTTP_METHOD_MAX + 1];
	char tok[HTTP_HDRVAL_MAX + 1]; /* version, header name or kept header value */
};

/* Prepare for a new request (also after a complete one, for pipelining). */
void http_req_init(struct http_req *r);

/* Feed len bytes; returns how many were consumed (all of them unless the request
 * completed inside buf). Never fails: errors complete the request with a status. */
size_t http_req_parse(struct http_req *r, const void *buf, size_t len);

static inline bool http_req_done(const struct http_req *r)
{
	return r->state == HTTP_RS_DONE;
}

#endif /* XOK_HTTP_REQUEST_H */
