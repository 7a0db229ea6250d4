/* serve.c - from a parsed request to the bytes of its response */
#include <string.h>
#include <time.h>

#include "path.h"
#include "response.h"
#include "serve.h"

void http_reply_error(struct http_reply *rep, int status, bool keep_alive, bool head)
{
	int n = http_resp_error(rep->err, sizeof(rep->err), status, keep_alive, head,
				(int64_t)time(NULL));

	if (n < 0) /* cannot happen with HTTP_ERRRESP_MAX; never send a broken response */
		n = 0;
	rep->status = status;
	rep->keep_alive = keep_alive;
	rep->file = NULL;
	rep->iov[0].iov_base = rep->err;
	rep->iov[0].iov_len = (size_t)n;
	rep->iovcnt = 1;
	rep->len = (uint64_t)n;
}

void http_reply_build(struct http_cache *c, const struct http_req *r, uint64_t now_ns,
		      struct http_reply *rep)
{
	bool head = r->method == HTTP_METHOD_HEAD;
	struct http_file *f;
	int err, status;

	if (r->status) {
		http_reply_error(rep, r->status, false, head);
		return;
	}
	err = http_cache_get(c, r->target, r->target_len, now_ns, &f);
	if (err) {
		/* A missing file is an ordinary answer; anything else ends the connection. */
		status = http_path_status(err);
		http_reply_error(rep, status, status == 404 && r->keep_alive, head);
		return;
	}
	const char *hdr = f->hdr[r->keep_alive];
	uint32_t at = f->hdr_date_at[r->keep_alive];

	rep->status = 200;
	rep->keep_alive = r->keep_alive;
	rep->file = f;
	memcpy(rep->date, http_date_line(), HTTP_DATE_LINE_LEN);
	rep->iov[HTTP_REPLY_HDR_HEAD] = (struct iovec){(void *)hdr, at};
	rep->iov[HTTP_REPLY_HDR_DATE] = (struct iovec){rep->date, HTTP_DATE_LINE_LEN};
	rep->iov[HTTP_REPLY_HDR_REST] =
	    (struct iovec){(void *)(hdr + at), f->hdr_len[r->keep_alive] - at};
	rep->iov[HTTP_REPLY_DATA] = (struct iovec){(void *)f->data, f->size};
	rep->iovcnt = head || f->size == 0 ? HTTP_REPLY_DATA : HTTP_REPLY_DATA + 1;
	rep->len = f->hdr_len[r->keep_alive] + HTTP_DATE_LINE_LEN +
		   (rep->iovcnt > HTTP_REPLY_DATA ? f->size : 0);
}

void http_reply_release(struct http_cache *c, struct http_reply *rep)
{
	if (rep->file)
		http_cache_put(c, rep->file);
	rep->file = NULL;
	rep->iovcnt = 0;
}
