/* reply.c - a response onto the wire: references into the cache, precomputed sums, FIN */
#include <errno.h>
#include <time.h>

#include "cheetah.h"
#include "param.h"
#include "response.h"

/*
 * A response is one or two send requests: the header block, then the file data, both
 * pointing into the file's cache memory (registered with xokd), so the stack gathers the
 * segments from the cache and retransmits from it too. What the specialisations change:
 *
 *  - merge:   the FIN rides on the last request of the last response (EXOS_TCP_SEND_FIN)
 *             instead of following in a segment of its own (shutdown after the send);
 *  - precsum: the file request carries the per-segment sums (precsum.c). They serve only
 *             where segments start on a multiple of the sum's block size in the file, so a
 *             larger file's header is sent in a call of its own: it leaves as a segment by
 *             itself and the data segments that follow line up. A small file shares its
 *             one segment with the header, and its single sum still applies. Where xokd
 *             segments (exos_tcp_frame_max), a reply of several segments leaves in frames
 *             the kernel sums as it cuts them: sums would go unused there, and the header
 *             sent alone would cost a frame per window, so only one-segment replies get them;
 *  - prehdr:  the header is the cached file's precomputed block (and errors come from
 *             errpage.c) instead of being formatted per request and copied; only the Date
 *             line is copied in, between the block's first two lines and the rest;
 *  - cache:   without it (--no-cache) header and data are copied into the stack's buffers
 *             through a bounded send buffer, as a socket server's would be (conn_push).
 *
 * The last request of every response carries a cookie (the file, or srv->done_cookie when
 * no file stays referenced): its on_sent releases the file and ends the response.
 */

static struct exos_tcp_sendreq req_ref(const void *data, size_t len)
{
	return (struct exos_tcp_sendreq){.data = data, .len = len};
}

/* Queue n requests for one response; on success the response is in flight. */
static int queue(struct conn *cn, const struct exos_tcp_sendreq *q, unsigned n)
{
	int err = exos_tcp_send(cn->tcp, q, n);

	if (err < 0) {
		cn->srv->st.send_errors++;
		return err;
	}
	cn->inflight++;
	cn->srv->pinned++;
	return 0;
}

/* Without merging, the FIN goes alone after the data (a socket server's close()). */
static void finish(struct conn *cn, bool last)
{
	if (last && !cn->srv->conf->merge)
		exos_tcp_shutdown(cn->tcp);
}

static uint32_t fin_flag(const struct conn *cn, bool last)
{
	return last && cn->srv->conf->merge ? EXOS_TCP_SEND_FIN : 0;
}

/* A precomputed block cut at `at`, where the Date line goes: three requests into q. */
static unsigned dated(const char *block, size_t len, size_t at, const char *date_line,
		      struct exos_tcp_sendreq *q)
{
	q[0] = req_ref(block, at);
	q[1] = req_ref(date_line, HTTP_DATE_LINE_LEN);
	q[1].flags = EXOS_TCP_SEND_COPY; /* it changes: the stack keeps its own copy */
	q[2] = req_ref(block + at, len - at);
	return 3;
}

static int send_error(struct conn *cn, struct http_reply *rep, bool head, bool last)
{
	struct server *srv = cn->srv;
	struct exos_tcp_sendreq q[3];
	const char *page = NULL;
	unsigned n = 1;
	size_t len = 0, date_at = 0;
	int err;

	if (srv->conf->prehdr)
		page = errpage_find(srv->errs, rep->status, rep->keep_alive, head, &len, &date_at);
	if (page) {
		n = dated(page, len, date_at, http_date_line(), q);
	} else {
		q[0] = req_ref(rep->iov[0].iov_base, rep->iov[0].iov_len);
		q[0].flags = EXOS_TCP_SEND_COPY;
	}
	q[n - 1].flags |= fin_flag(cn, last);
	q[n - 1].cookie = &srv->done_cookie;
	err = queue(cn, q, n);
	if (!err)
		finish(cn, last);
	return err;
}

/* --no-prehdr: the header block a server without precomputation formats every time. */
static int format_header(struct conn *cn, const struct http_file *f, bool keep_alive)
{
	struct http_resp_fields h = {
	    .status = 200,
	    .content_type = f->content_type,
	    .content_length = f->size,
	    .last_modified = f->mtime_ns / 1000000000,
	    .date = (int64_t)time(NULL),
	    .keep_alive = keep_alive,
	};

	return http_resp_header(cn->hdrbuf, sizeof(cn->hdrbuf), &h);
}

/* The header requests: the cached block with the reply's Date line spliced in, or a
 * freshly formatted copy.  Returns how many (1 or 3), or -errno. */
static int header_req(struct conn *cn, const struct http_reply *rep, struct exos_tcp_sendreq *q)
{
	const struct http_file *f = rep->file;
	int n;

	if (cn->srv->conf->prehdr) /* cut by http_reply_build where its Date goes */
		return (int)dated(f->hdr[rep->keep_alive], f->hdr_len[rep->keep_alive],
				  f->hdr_date_at[rep->keep_alive], rep->date, q);
	n = format_header(cn, f, rep->keep_alive);
	if (n < 0)
		return n;
	*q = req_ref(cn->hdrbuf, (size_t)n);
	q->flags = EXOS_TCP_SEND_COPY;
	return 1;
}

static size_t reqs_len(const struct exos_tcp_sendreq *q, unsigned n)
{
	size_t len = 0;

	for (unsigned i = 0; i < n; i++)
		len += q[i].len;
	return len;
}

/* Attach the file's sums to its data request; true if the header (hdr_len bytes) must go
 * alone so that the data segments line up with them. */
static bool attach_sums(struct conn *cn, struct http_file *f, size_t hdr_len,
			struct exos_tcp_sendreq *data)
{
	struct server *srv = cn->srv;

	if (!srv->conf->precsum || !cn->mss)
		return false;
	if (cn->segmented && hdr_len + f->size > cn->mss)
		return false;
	data->csums = precsum_get(srv->sums, f, cn->mss, coarse_now());
	if (!data->csums)
		return false;
	data->csum_block = cn->mss;
	srv->st.precsum_replies++;
	if (f->size < CHEETAH_ALIGN_MIN_BYTES || hdr_len + f->size <= cn->mss)
		return false;
	srv->st.aligned_replies++;
	return true;
}

static int send_file(struct conn *cn, struct http_reply *rep, bool last)
{
	struct http_file *f = rep->file;
	struct exos_tcp_sendreq q[4];
	int nh = header_req(cn, rep, q), err;
	unsigned n;
	bool align = false;

	if (nh < 0)
		return nh;
	n = (unsigned)nh;
	if (rep->iovcnt > HTTP_REPLY_DATA) {
		q[n] = req_ref(f->data, f->size);
		align = attach_sums(cn, f, reqs_len(q, n), &q[n]);
		n++;
	}
	q[n - 1].flags |= fin_flag(cn, last);
	q[n - 1].cookie = f;
	if (align) {
		/* Two calls: the header leaves at once, alone; the data then starts a segment. */
		err = exos_tcp_send(cn->tcp, q, n - 1);
		if (!err)
			err = queue(cn, q + n - 1, 1);
	} else {
		err = queue(cn, q, n);
	}
	if (err) {
		/* The request holding the file was not queued, but the header may have been:
		 * keep the file until the connection is gone. One per connection suffices, as
		 * the caller aborts it. */
		if (!cn->orphan) {
			cn->orphan = f;
			rep->file = NULL;
		}
		return err;
	}
	rep->file = NULL; /* the hold now belongs to the send, released in on_sent */
	finish(cn, last);
	return 0;
}

/* --no-cache: stage header and data to be copied in as the send buffer drains. */
static int send_copy(struct conn *cn, struct http_reply *rep, bool last)
{
	struct http_file *f = rep->file;
	int n = format_header(cn, f, rep->keep_alive); /* copied anyway: formatted, Date and all */

	if (n < 0)
		return n;
	cn->copy_file = f;
	cn->copy_ptr[0] = cn->hdrbuf;
	cn->copy_len[0] = (size_t)n;
	cn->copy_ptr[1] = (const char *)f->data;
	cn->copy_len[1] = rep->iovcnt > HTTP_REPLY_DATA ? f->size : 0;
	cn->copy_fin = last;
	cn->paused = true; /* the next response waits until this one is copied */
	rep->file = NULL;
	conn_push(cn);
	return 0;
}

int reply_send(struct conn *cn, struct http_reply *rep, bool head, bool last)
{
	struct server *srv = cn->srv;
	int err;

	srv->st.responses[rep->status / 100 % 6]++;
	if (!rep->file)
		err = send_error(cn, rep, head, last);
	else if (srv->conf->cache)
		err = send_file(cn, rep, last);
	else
		err = send_copy(cn, rep, last);
	http_reply_release(srv->cache, rep);
	return err;
}

/* Room in the (emulated) socket send buffer. */
static size_t copy_room(const struct conn *cn)
{
	size_t unacked = exos_tcp_unacked(cn->tcp);

	return unacked < CHEETAH_COPY_SNDBUF ? CHEETAH_COPY_SNDBUF - unacked : 0;
}

void conn_push(struct conn *cn)
{
	struct server *srv = cn->srv;
	size_t room;

	while (cn->copy_file && cn->state != CONN_CLOSED && (room = copy_room(cn))) {
		int i = cn->copy_len[0] ? 0 : 1;
		size_t k = cn->copy_len[i] < room ? cn->copy_len[i] : room;
		bool end = i == 1 && k == cn->copy_len[1];
		struct exos_tcp_sendreq q = req_ref(cn->copy_ptr[i], k);
		int err;

		if (i == 0 && k == cn->copy_len[0] && !cn->copy_len[1])
			end = true; /* HEAD, or an empty file */
		q.flags = EXOS_TCP_SEND_COPY | (end ? fin_flag(cn, cn->copy_fin) : 0);
		q.cookie = end ? &srv->done_cookie : NULL;
		err = exos_tcp_send(cn->tcp, &q, 1);
		if (err == -EAGAIN || err == -ENOBUFS)
			return; /* the stack's copies are not released yet: next on_sent */
		if (err < 0) {
			srv->st.send_errors++;
			exos_tcp_abort(cn->tcp);
			return;
		}
		srv->st.copy_bytes += k;
		cn->copy_ptr[i] += k;
		cn->copy_len[i] -= k;
		if (end) {
			cn->inflight++;
			srv->pinned++;
			http_cache_put(srv->cache, cn->copy_file);
			cn->copy_file = NULL;
			finish(cn, cn->copy_fin);
			conn_copied(cn);
		}
	}
}
