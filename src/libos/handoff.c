/* handoff.c - handing closing connections to twd, and taking a port back from it */
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <exos/twd.h>

#include "tcp_int.h"

/*
 * The paper's recommended way out of TIME_WAIT for a library TCP (§3.3 (3)): "hand-off
 * TIME_WAIT connections to a special-purpose server when the process wants to terminate":
 * the few control-block values (struct twd_rec), the DPF filter by its capability, and
 * twd re-points the filter to its own ring (XOK_OP_DPF_REF with a ring).  The protocol is
 * include/exos/twd.h; twd is src/apps/twd.
 *
 * Connections with no filter of their own (accepted on a listener and demultiplexed here)
 * travel with the listener's port filter: installing a 4-tuple filter per connection at
 * exit would cost xokd a program regeneration each.  twd then holds the port until its
 * last connection ends, and gives it back, connections included, to the next process that
 * listens there (handoff_take_port, from exos_tcp_listen).
 */

struct handoff_item {
	struct twd_rec r;
	struct exos_tcp *c; /* or */
	struct tcp_tw *w;
};

const char *handoff_socket_path(void)
{
	const char *p = getenv(TWD_SOCKET_ENV);

	return p && *p ? p : TWD_SOCKET_DEFAULT;
}

/* A connection to twd, or -errno (-ENOENT, -ECONNREFUSED: twd does not run). */
static int twd_connect(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {HANDOFF_TIMEOUT_MS / 1000, (HANDOFF_TIMEOUT_MS % 1000) * 1000};
	const char *path = handoff_socket_path();
	int fd, err;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void twd_hdr_init(struct twd_hdr *h, uint16_t type, uint32_t seq, uint32_t count)
{
	memset(h, 0, sizeof(*h));
	h->magic = TWD_MAGIC;
	h->version = TWD_VERSION;
	h->type = type;
	h->seq = seq;
	h->count = count;
	h->now_ns = exos_now_ns();
}

static int twd_send(int fd, const void *buf, size_t len)
{
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

/* Receives one answer of `type` to `seq`; its length, or -errno. */
static ssize_t twd_recv(int fd, void *buf, size_t len, uint16_t type, uint32_t seq)
{
	struct twd_hdr h;
	ssize_t n = recv(fd, buf, len, 0);

	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	if ((size_t)n < sizeof(h))
		return n == 0 ? -ECONNRESET : -EPROTO;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != TWD_MAGIC || h.version != TWD_VERSION || h.type != type || h.seq != seq)
		return -EPROTO;
	if (h.status < 0)
		return h.status;
	return n;
}

/* One HANDOFF message; marks the records twd took in `taken`. */
static int twd_handoff_batch(int fd, uint32_t seq, const struct handoff_item *it, uint32_t n,
			     bool *taken)
{
	size_t len = sizeof(struct twd_hdr) + n * sizeof(struct twd_rec);
	uint8_t *buf = malloc(len);
	uint8_t ack[sizeof(struct twd_hdr) + sizeof(struct twd_ack)];
	struct twd_ack a;
	ssize_t r;
	int err;

	if (!buf)
		return -ENOMEM;
	twd_hdr_init((struct twd_hdr *)buf, TWD_MSG_HANDOFF, seq, n);
	for (uint32_t i = 0; i < n; i++)
		memcpy(buf + sizeof(struct twd_hdr) + i * sizeof(struct twd_rec), &it[i].r,
		       sizeof(struct twd_rec));
	err = twd_send(fd, buf, len);
	free(buf);
	if (err < 0)
		return err;
	r = twd_recv(fd, ack, sizeof(ack), TWD_MSG_ACK, seq);
	if (r < 0)
		return (int)r;
	if ((size_t)r != sizeof(ack))
		return -EPROTO;
	memcpy(&a, ack + sizeof(struct twd_hdr), sizeof(a));
	for (uint32_t i = 0; i < n; i++)
		taken[i] = (a.taken[i / 64] >> (i % 64)) & 1;
	return 0;
}

/* What may go: closing PCBs with only their FIN outstanding and TIME_WAIT blocks - all
 * of them, or (l) only the TIME_WAIT blocks listener l's filter delivers. */
static uint32_t handoff_collect(struct exos_stack *s, const struct exos_tcp *l,
				struct handoff_item **out)
{
	struct tcp_state *t = s->tcp;
	uint32_t cap = 0, n = 0;
	struct handoff_item *it = NULL;

	for (uint32_t i = 0; !l && i <= t->hmask; i++)
		for (struct exos_tcp *c = t->htab[i]; c; c = c->hnext)
			cap++;
	cap += tcp_tw_count(s);
	if (!cap || !(it = calloc(cap, sizeof(*it)))) {
		*out = NULL;
		return 0;
	}
	for (uint32_t i = 0; !l && i <= t->hmask; i++)
		for (struct exos_tcp *c = t->htab[i]; c && n < cap; c = c->hnext)
			if (tcp_pcb_rec(c, &it[n].r))
				it[n++].c = c;
	for (struct tcp_tw *w = tcp_tw_first(s); w && n < cap; w = tcp_tw_next(w))
		if ((!l || tcp_tw_on_listener(w, l)) && tcp_tw_rec(s, w, &it[n].r))
			it[n++].w = w;
	*out = it;
	return n;
}

/* Sends the items to twd; forgets those it took.  Their number, or -errno when twd
 * cannot be reached (or refused everything). */
static int handoff_items(struct exos_stack *s, struct handoff_item *it, uint32_t n,
			 bool process_exit)
{
	bool taken[TWD_BATCH_MAX];
	uint32_t done = 0, seq = 0;
	int fd, err = 0, took = 0;

	fd = twd_connect();
	if (fd < 0)
		return fd;
	s->depth++; /* forgetting PCBs frees nothing until the end: the items stay valid */
	while (done < n && !err) {
		uint32_t k = MIN(n - done, (uint32_t)TWD_BATCH_MAX);
		err = twd_handoff_batch(fd, ++seq, it + done, k, taken);
		for (uint32_t i = 0; !err && i < k; i++) {
			if (!taken[i])
				continue;
			if (it[done + i].c)
				tcp_pcb_forget(it[done + i].c, !process_exit);
			else
				tcp_tw_forget(s, it[done + i].w, !process_exit);
			took++;
		}
		done += k;
	}
	s->depth--;
	if (took)
		tcp_port_retire(s); /* twd re-pointed the blocks it got to its ring */
	stack_end_batch(s);
	close(fd);
	return took ? took : err;
}

int handoff_stack(struct exos_stack *s, bool process_exit, uint32_t *left)
{
	struct handoff_item *it;
	uint32_t n;
	int r = 0;

	stack_clock(s);
	n = handoff_collect(s, NULL, &it);
	if (n)
		r = handoff_items(s, it, n, process_exit);
	free(it);
	*left = tcp_closing_count(s);
	return r;
}

int handoff_listener(struct exos_tcp *l)
{
	struct exos_stack *s = l->s;
	struct handoff_item *it;
	uint32_t n = handoff_collect(s, l, &it);
	int r = n ? handoff_items(s, it, n, false) : 0;

	free(it);
	return r;
}

/* Reads PORT answers to `seq` until one carries less than a full batch. */
static int twd_port_recv(int fd, uint32_t seq, struct twd_port *port, struct twd_rec **recs,
			 uint32_t *nrecs)
{
	size_t len = TWD_MSG_MAX;
	uint8_t *buf = malloc(len);
	int err = 0;

	*recs = NULL;
	*nrecs = 0;
	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct twd_hdr h;
		ssize_t r = twd_recv(fd, buf, len, TWD_MSG_PORT, seq);
		if (r < 0) {
			err = (int)r;
			break;
		}
		memcpy(&h, buf, sizeof(h));
		if (h.count > TWD_BATCH_MAX ||
		    (size_t)r != sizeof(h) + sizeof(*port) + h.count * sizeof(struct twd_rec)) {
			err = -EPROTO;
			break;
		}
		memcpy(port, buf + sizeof(h), sizeof(*port));
		struct twd_rec *nr = realloc(*recs, (*nrecs + h.count + 1) * sizeof(*nr));
		if (!nr) {
			err = -ENOMEM;
			break;
		}
		*recs = nr;
		memcpy(nr + *nrecs, buf + sizeof(h) + sizeof(*port), h.count * sizeof(*nr));
		*nrecs += h.count;
		if (h.count < TWD_BATCH_MAX)
			break;
	}
	free(buf);
	return err;
}

int handoff_take_port(struct exos_stack *s, uint32_t laddr, uint16_t lport, uint32_t *id,
		      struct xok_cap *cap)
{
	struct {
		struct twd_hdr h;
		struct twd_take t;
	} req;
	struct twd_port port;
	struct twd_rec *recs = NULL;
	uint32_t nrecs = 0;
	int fd = twd_connect(), err;

	if (fd < 0)
		return -ENOENT; /* no twd: nothing of ours can be there */
	twd_hdr_init(&req.h, TWD_MSG_TAKE, 1, 0);
	req.t = (struct twd_take){.laddr = laddr, .lport = lport};
	err = twd_send(fd, &req, sizeof(req));
	if (!err)
		err = twd_port_recv(fd, 1, &port, &recs, &nrecs);
	if (err < 0) {
		close(fd);
		free(recs);
		return -ENOENT;
	}
	err = exos_filter_ref(s->sys, port.filter, &port.cap, s->ring);
	if (err == 0) {
		*id = port.filter;
		*cap = port.cap;
		s->filters++;
		stack_clock(s);
		for (uint32_t i = 0; i < nrecs; i++)
			tcp_tw_adopt(s, &recs[i]); /* TIME_WAIT ones; the rest are lost */
	}
	twd_hdr_init(&req.h, TWD_MSG_DONE, 2, 0);
	twd_send(fd, &req.h, sizeof(req.h));
	close(fd);
	free(recs);
	return err == 0 ? 0 : -ENOENT;
}
