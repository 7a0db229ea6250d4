/* serve.c - from a parsed request to the bytes of its response */
#include "path.h"
#include "response.h"
#include "serve.h"

void http_reply_error(struct http_reply *rep, int status, bool keep_alive, bool head)
{
	int n = http_resp_error(rep->err, sizeof(rep->err), status, keep_alive, head);

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
	rep->status = 200;
	rep->keep_alive = r->keep_alive;
	rep->file = f;
	rep->iov[0].iov_base = (void *)f->hdr[r->keep_alive];
	rep->iov[0].iov_len = f->hdr_len[r->keep_alive];
	rep->iov[1].iov_base = (void *)f->data;
	rep->iov[1].iov_len = f->size;
	rep->iovcnt = head || f->size == 0 ? 1 : 2;
	rep->len = rep->iov[0].iov_len + (rep->iovcnt == 2 ? f->size : 0);
}

void http_reply_release(struct http_cache *c, struct http_reply *rep)
{
	if (rep->file)
		http_cache_put(c, rep->file);
	rep->file = NULL;
	rep->iovcnt = 0;
}
