/* serve.h - from a parsed request to the bytes of its response */
#ifndef XOK_HTTP_SERVE_H
#define XOK_HTTP_SERVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "cache.h"
#include "request.h"
#include "response.h"

/*
 * The HTTP logic every server shares (httpd-linux, httpd on libexos sockets, cheetah):
 * a complete request in, a response out as pieces that point into the cache (or into
 * err[] for error responses). The caller sends them however its transport likes, then
 * releases the reply.  A file's response is its cached header block cut where the Date
 * field goes, the Date line of now (date[], the one part made per response), the rest of
 * the block, and the file data.
 */
#define HTTP_REPLY_HDR_HEAD 0 /* iov[]: the cached block up to where Date goes */
#define HTTP_REPLY_HDR_DATE 1 /* the Date field line (date[]) */
#define HTTP_REPLY_HDR_REST 2 /* the rest of the cached block */
#define HTTP_REPLY_DATA	    3 /* the file (absent for HEAD and empty files) */
struct http_reply {
	int status;
	bool keep_alive;     /* false: close the connection once it is sent */
	struct iovec iov[4]; /* as above; an error response is iov[0] alone */
	int iovcnt;
	uint64_t len;		/* bytes in iov[] */
	struct http_file *file; /* held until http_reply_release(), NULL for errors */
	char date[HTTP_DATE_LINE_LEN];
	char err[HTTP_ERRRESP_MAX];
};

/* Build the reply to a complete request (http_req_done()). Never fails: a missing file or
 * a bad request is answered with an error response. */
void http_reply_build(struct http_cache *c, const struct http_req *r, uint64_t now_ns,
		      struct http_reply *rep);

/* An error response not tied to a parsed request. */
void http_reply_error(struct http_reply *rep, int status, bool keep_alive, bool head);

void http_reply_release(struct http_cache *c, struct http_reply *rep);

#endif /* XOK_HTTP_SERVE_H */
