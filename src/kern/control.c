/* control.c - the control socket: connections, SO_PEERCRED, framing, the op table */

/*
 * One AF_UNIX SOCK_SEQPACKET connection per app; one request datagram, one reply.
 * ctl_dispatch() does everything that does not depend on the op (header, exact body length,
 * fd count) and then calls the op's handler from ctl_ops[], indexed by op number like a
 * system call table.  It works on plain buffers, so unit tests call it without a socket.
 * Handlers validate their body's fields and return 0 or -errno; the reply always carries
 * the op's full reply body.  A received fd is owned by the handler only if it sets *fd to
 * -1; every other fd that arrives is closed.
 *
 * Each app's requests are rate limited (--limit rps=N; GCRA, a token bucket of
 * max(N / 10, XOK_APP_CTL_BURST_MIN) requests): a request over the rate is answered with
 * -EAGAIN without being carried out, and xokd then stops reading the app's socket until
 * its bucket holds a request again.  A client spinning on requests is thus slowed down in
 * its own sendmsg, and never costs xokd more than two requests per token.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kern.h"

enum ctl_fds {
	FD_NONE = 0, /* no fd may come with the request */
	FD_ONE,	     /* exactly one */
	FD_MAYBE,    /* zero or one (TXQ_SET: none when removing) */
};

struct ctl_op {
	ctl_op_fn fn;
	uint16_t req_size;
	uint16_t rep_size;
	uint8_t fds;
	const char *name;
};

static const struct ctl_op ctl_ops[XOK_OP_NR] = {
    [XOK_OP_HELLO] = {op_hello, 0, sizeof(struct xok_hello_reply), FD_NONE, "hello"},
    [XOK_OP_REGION_ADD] = {op_region_add, sizeof(struct xok_region_add),
			   sizeof(struct xok_region_add_reply), FD_ONE, "region_add"},
    [XOK_OP_REGION_DEL] = {op_region_del, sizeof(struct xok_region_del), 0, FD_NONE, "region_del"},
    [XOK_OP_RING_SET] = {op_ring_set, sizeof(struct xok_ring_set),
			 sizeof(struct xok_ring_set_reply), FD_NONE, "ring_set"},
    [XOK_OP_RING_MOD] = {op_ring_mod, sizeof(struct xok_ring_mod), 0, FD_NONE, "ring_mod"},
    [XOK_OP_RING_DEL] = {op_ring_del, sizeof(struct xok_ring_del), 0, FD_NONE, "ring_del"},
    [XOK_OP_DPF_INSERT] = {op_dpf_insert, sizeof(struct xok_dpf_insert),
			   sizeof(struct xok_dpf_insert_reply), FD_NONE, "dpf_insert"},
    [XOK_OP_DPF_DELETE] = {op_dpf_delete, sizeof(struct xok_dpf_delete), 0, FD_NONE, "dpf_delete"},
    [XOK_OP_DPF_REF] = {op_dpf_ref, sizeof(struct xok_dpf_ref), 0, FD_NONE, "dpf_ref"},
    [XOK_OP_NET_XMIT] = {op_net_xmit, sizeof(struct xok_tx_desc), 0, FD_NONE, "net_xmit"},
    [XOK_OP_TXQ_SET] = {op_txq_set, sizeof(struct xok_txq_set), 0, FD_MAYBE, "txq_set"},
    [XOK_OP_WKPRED] = {op_wkpred, sizeof(struct xok_wkpred), 0, FD_NONE, "wkpred"},
    [XOK_OP_INFO] = {op_info, 0, sizeof(struct xok_info_reply), FD_NONE, "info"},
    [XOK_OP_STATS] = {op_stats, sizeof(struct xok_stats_req), sizeof(struct xok_stats_reply),
		      FD_NONE, "stats"},
    [XOK_OP_TABLE_PUBLISH] = {op_table_publish, sizeof(struct xok_table_req),
			      sizeof(struct xok_table_req), FD_NONE, "table_publish"},
    [XOK_OP_TABLE_GET] = {op_table_get, sizeof(struct xok_table_req), sizeof(struct xok_table_req),
			  FD_NONE, "table_get"},
    [XOK_OP_TABLE_NOTIFY] = {op_table_notify, sizeof(struct xok_table_req),
			     sizeof(struct xok_table_req), FD_NONE, "table_notify"},
};

_Static_assert(sizeof(struct xok_msg) + sizeof(struct xok_stats_reply) <= XOK_MSG_MAX, "ABI");
_Static_assert(sizeof(struct xok_msg) + sizeof(struct xok_wkpred) <= XOK_MSG_MAX, "ABI");

const char *ctl_op_name(unsigned int op)
{
	return op < XOK_OP_NR && ctl_ops[op].name ? ctl_ops[op].name : "?";
}

/* OR-accumulated a word at a time with no early exit, so that the compiler vectorises it:
 * every transmit descriptor has up to 15 unused 16-byte pieces to check. */
bool ctl_pad_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t acc = 0, w;
	size_t i = 0;

	for (; i + sizeof(w) <= n; i += sizeof(w)) {
		memcpy(&w, b + i, sizeof(w));
		acc |= w;
	}
	for (; i < n; i++)
		acc |= b[i];
	return acc == 0;
}

/*
 * Closes an fd an app sent.  close() can block on a socket with SO_LINGER set and data
 * queued: switch lingering off first (the kernel then finishes in the background).
 */
void ctl_close_fd(int fd)
{
	struct linger l = {0, 0};
	struct stat st;

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static void close_fds(int *fds, int nfds)
{
	int i;

	for (i = 0; i < nfds; i++)
		ctl_close_fd(fds[i]);
}

/* ---- request rate ---- */

static uint64_t ctl_interval(const struct xokd *x)
{
	return 1000000000ull / x->cfg.limits.rps;
}

static uint64_t ctl_tolerance(const struct xokd *x)
{
	uint32_t burst = x->cfg.limits.rps / 10;

	if (burst < XOK_APP_CTL_BURST_MIN)
		burst = XOK_APP_CTL_BURST_MIN;
	return ctl_interval(x) * (burst - 1);
}

bool ctl_rate_ok(struct xokd *x, struct app *a, uint64_t now)
{
	uint64_t t;

	if (!x->cfg.limits.rps)
		return true;
	t = a->ctl_tat > now ? a->ctl_tat : now;
	if (t - now > ctl_tolerance(x)) {
		a->ctl_paused = true; /* the caller stops reading it (ctl_pause) */
		return false;
	}
	a->ctl_tat = t + ctl_interval(x);
	return true;
}

/* When a paused app may send again. */
static uint64_t ctl_resume_at(const struct xokd *x, const struct app *a)
{
	uint64_t tol = ctl_tolerance(x);

	return a->ctl_tat > tol ? a->ctl_tat - tol : 1;
}

static void ctl_pause(struct xokd *x, struct app *a)
{
	if (list_linked(&a->paused_link))
		return;
	loop_mod(x, a->fd, EPOLLRDHUP, &a->ev); /* hangups still reach us */
	list_add_tail(&a->paused_link, &x->paused);
	loop_arm(x);
}

uint64_t ctl_next_resume(const struct xokd *x)
{
	const struct app *a;
	uint64_t next = 0, t;

	list_for_each_entry(a, &x->paused, paused_link)
	{
		t = ctl_resume_at(x, a);
		if (!next || t < next)
			next = t;
	}
	return next;
}

void ctl_resume(struct xokd *x, uint64_t now)
{
	struct app *a, *n;

	list_for_each_entry_safe(a, n, &x->paused, paused_link)
	{
		if (ctl_resume_at(x, a) > now)
			continue;
		list_del(&a->paused_link);
		a->ctl_paused = false;
		loop_mod(x, a->fd, EPOLLIN | EPOLLRDHUP, &a->ev);
	}
}

size_t ctl_dispatch(struct xokd *x, struct app *a, const void *buf, size_t len, bool truncated,
		    int *fds, int nfds, void *rep, int *rep_fd)
{
	static _Alignas(16) uint8_t body[XOK_MSG_MAX];
	struct xok_msg *rh = rep;
	struct xok_msg h;
	const struct ctl_op *op;
	int fd = -1, status;
	bool rate_ok;

	*rep_fd = -1;
	memset(rh, 0, sizeof(*rh));
	rh->magic = XOK_ABI_MAGIC;
	rh->version = XOK_ABI_VERSION;
	a->ctl_requests++;
	rate_ok = ctl_rate_ok(x, a, now_mono_ns()); /* every datagram counts, good or bad */
	if (!rate_ok) {
		a->ctl_throttled++;
		app_limit_hit(a, LIMIT_RPS, -EAGAIN,
			      "request refused: over the control request rate (%u/s); not "
			      "reading its requests until its bucket refills",
			      x->cfg.limits.rps);
	}
	if (len < sizeof(h)) {
		rh->op = UINT16_MAX;
		rh->status = -EINVAL;
		close_fds(fds, nfds);
		return sizeof(*rh);
	}
	memcpy(&h, buf, sizeof(h));
	rh->op = h.op;
	rh->seq = h.seq;
	if (!rate_ok) {
		close_fds(fds, nfds);
		rh->status = -EAGAIN;
		if (h.op < XOK_OP_NR && ctl_ops[h.op].fn) { /* the op's full reply body */
			memset(rh + 1, 0, ctl_ops[h.op].rep_size);
			return sizeof(*rh) + ctl_ops[h.op].rep_size;
		}
		return sizeof(*rh);
	}
	if (truncated)
		status = -EMSGSIZE;
	else if (h.magic != XOK_ABI_MAGIC)
		status = -EPROTO;
	else if (h.version != XOK_ABI_VERSION)
		status = -EPROTONOSUPPORT;
	else if (h.op >= XOK_OP_NR || !ctl_ops[h.op].fn)
		status = -ENOSYS;
	else if (h.status != 0)
		status = -EINVAL;
	else
		status = 0;
	if (status) {
		close_fds(fds, nfds);
		rh->status = status;
		return sizeof(*rh);
	}

	op = &ctl_ops[h.op];
	memset(rh + 1, 0, op->rep_size);
	if (len - sizeof(h) != op->req_size || nfds < 0 || nfds > 1 ||
	    (op->fds == FD_NONE && nfds != 0) || (op->fds == FD_ONE && nfds != 1)) {
		app_log(a, "ctl", "%s rejected: body %zu bytes (want %u), %d fds", op->name,
			len - sizeof(h), op->req_size, nfds);
		close_fds(fds, nfds);
		rh->status = -EINVAL;
		return sizeof(*rh) + op->rep_size;
	}
	if (nfds == 1)
		fd = fds[0];
	memcpy(body, (const uint8_t *)buf + sizeof(h), op->req_size);
	status = op->fn(x, a, body, &fd, rh + 1, rep_fd);
	ctl_close_fd(fd);
	rh->status = status;
	if (status)
		xdbg(x, "ctl", "app %u: %s -> %d", a->id, op->name, status);
	return sizeof(*rh) + op->rep_size;
}

/* ---- the socket ---- */

static int ctl_mkdir_p(const char *dir)
{
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *p;

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int ctl_probe(const struct xokd *x)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int probe, live;

	if (strlen(x->cfg.socket_path) >= sizeof(sun.sun_path)) {
		xlog("ctl", "socket path too long: %s", x->cfg.socket_path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, x->cfg.socket_path);
	probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	live = connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(probe);
	if (live) {
		xlog("ctl", "another xokd is listening on %s", x->cfg.socket_path);
		return -EADDRINUSE;
	}
	return 0;
}

int ctl_listen(struct xokd *x)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *path = x->cfg.socket_path;
	char dir[sizeof(sun.sun_path)];
	int fd, err;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		xlog("ctl", "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	snprintf(dir, sizeof(dir), "%s", path);
	err = ctl_mkdir_p(dirname(dir));
	if (err) {
		xlog("ctl", "cannot create the directory of %s: %s", path, strerror(-err));
		return err;
	}
	/* a live xokd answers on the path: refuse; a stale socket file is removed */
	err = ctl_probe(x);
	if (err)
		return err;
	unlink(path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, XOK_LISTEN_BACKLOG) < 0) {
		err = -errno;
		xlog("ctl", "cannot listen on %s: %s", path, strerror(-err));
		close(fd);
		return err;
	}
	x->listen_fd = fd;
	x->listen_ev.kind = EV_LISTEN;
	x->listen_ev.obj = x;
	err = loop_add(x, fd, EPOLLIN, &x->listen_ev);
	if (err)
		return err;
	xlog("ctl", "listening on %s", path);
	return 0;
}

void ctl_close(struct xokd *x)
{
	if (x->listen_fd < 0)
		return;
	close(x->listen_fd);
	x->listen_fd = -1;
	unlink(x->cfg.socket_path);
}

static uint32_t ctl_uid_apps(struct xokd *x, uid_t uid)
{
	struct app *a;
	uint32_t n = 0;

	list_for_each_entry(a, &x->apps, link) n += a->uid == uid;
	return n;
}

void ctl_accept(struct xokd *x)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct app *a;
	int fd;

	for (;;) {
		fd = accept4(x->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				xlog("ctl", "accept: %s", strerror(errno));
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			close(fd);
			continue;
		}
		if (x->napps >= XOK_APPS_MAX) {
			xlog("ctl", "refusing pid %d: %d apps connected", (int)cred.pid,
			     XOK_APPS_MAX);
			close(fd);
			continue;
		}
		if (cred.uid != 0 && ctl_uid_apps(x, cred.uid) >= XOK_UID_APPS_MAX) {
			xlog("ctl", "refusing pid %d: uid %d has %d apps connected", (int)cred.pid,
			     (int)cred.uid, XOK_UID_APPS_MAX);
			close(fd);
			continue;
		}
		a = app_new(x, fd, cred.pid, cred.uid, cred.gid);
		if (!a) {
			close(fd);
			continue;
		}
		if (loop_add(x, fd, EPOLLIN | EPOLLRDHUP, &a->ev)) {
			a->fd = -1;
			close(fd);
			app_free(x, a);
			continue;
		}
		xdbg(x, "ctl", "app %u connected: pid %d uid %d (%s)%s", a->id, (int)cred.pid,
		     (int)cred.uid, a->comm, a->privileged ? " privileged" : "");
	}
}

/* Receives one datagram: 1 handled, 0 nothing pending, -1 the app is gone (freed). */
static int ctl_client_one(struct xokd *x, struct app *a)
{
	static _Alignas(16) uint8_t buf[XOK_MSG_MAX], rep[XOK_MSG_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(int) * XOK_CTL_FDS_MAX)];
		struct cmsghdr align;
	} cin, cout;
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cin.buf,
			    .msg_controllen = sizeof(cin.buf)};
	int fds[XOK_CTL_FDS_MAX * 2], nfds = 0, rep_fd;
	struct cmsghdr *c;
	size_t replen;
	ssize_t n;

	n = recvmsg(a->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		app_free(x, a);
		return -1;
	}
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		int *p = (int *)CMSG_DATA(c);
		size_t i, k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, p + i, sizeof(fd));
			if (nfds < (int)(sizeof(fds) / sizeof(fds[0])))
				fds[nfds++] = fd;
			else
				ctl_close_fd(fd);
		}
	}
	if (n == 0 && nfds == 0) { /* end of stream */
		app_free(x, a);
		return -1;
	}
	if (mh.msg_flags & MSG_CTRUNC) { /* fds were lost: refuse the request */
		close_fds(fds, nfds);
		nfds = -1;
	}
	replen =
	    ctl_dispatch(x, a, buf, (size_t)n, mh.msg_flags & MSG_TRUNC, fds, nfds, rep, &rep_fd);
	iov.iov_base = rep;
	iov.iov_len = replen;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (rep_fd >= 0) {
		memset(&cout, 0, sizeof(cout));
		mh.msg_control = cout.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &rep_fd, sizeof(int));
	}
	if (sendmsg(a->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* gone, or not reading its replies: either way it is done */
		xdbg(x, "ctl", "app %u: reply failed (%s), disconnecting", a->id, strerror(errno));
		app_free(x, a);
		return -1;
	}
	if (a->ctl_paused) {
		ctl_pause(x, a);
		return 0;
	}
	return 1;
}

void ctl_client_event(struct xokd *x, struct app *a, uint32_t events)
{
	int i, r = 0;

	if (a->ctl_paused) { /* only a hangup wakes a paused app's socket */
		if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			app_free(x, a);
		return;
	}
	for (i = 0; i < 64; i++) {
		r = ctl_client_one(x, a);
		if (r <= 0)
			break;
	}
	if (r == 0 && (events & (EPOLLHUP | EPOLLERR)))
		app_free(x, a);
}
