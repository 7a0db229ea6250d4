/* splice.c - splicefwd's event loop: accept, connect, copy both ways, pass FINs on */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <exos/socket.h>

#include "splicefwd.h"
#include "app.h"

static void splice_log(const struct splicefwd *s, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void splice_log(const struct splicefwd *s, int level, const char *fmt, ...)
{
	va_list ap;

	if (level > s->verbose)
		return;
	va_start(ap, fmt);
	app_vlog("splicefwd", fmt, ap);
	va_end(ap);
}

static void set_nodelay(int fd)
{
	int one = 1;

	exos_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Closes fd with a reset (SO_LINGER 0). */
static void close_reset(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	exos_setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	exos_close(fd);
}

static void pair_free(struct splice_pair *p)
{
	free(p->c2b.buf);
	free(p);
}

/* Ends a pair: normally (both directions finished) or with resets both ways. */
static void pair_end(struct splicefwd *s, struct splice_pair *p, bool abort)
{
	if (abort) {
		close_reset(p->cfd);
		close_reset(p->bfd);
		s->st.aborted++;
	} else {
		exos_close(p->cfd);
		exos_close(p->bfd);
		s->st.closed++;
	}
	pair_free(p);
}

static int splice_accept_one(struct splicefwd *s)
{
	struct sockaddr_in peer, local, to = {.sin_family = AF_INET};
	socklen_t plen = sizeof(peer), llen = sizeof(local);
	struct splice_pair *p;
	int cfd, bfd;

	cfd = exos_accept4(s->lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK);
	if (cfd < 0)
		return -errno;
	exos_getsockname(cfd, (struct sockaddr *)&local, &llen);
	s->st.accepted++;
	p = calloc(1, sizeof(*p));
	if (p)
		p->c2b.buf = malloc(2 * s->bufsize);
	if (!p || !p->c2b.buf) {
		close_reset(cfd);
		free(p);
		return -ENOMEM;
	}
	p->b2c.buf = p->c2b.buf + s->bufsize;
	p->cfd = cfd;
	p->be = backend_pick(&s->be, peer.sin_addr.s_addr, peer.sin_port, local.sin_addr.s_addr,
			     local.sin_port, 0);
	p->be->st.conns++;
	bfd = exos_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (bfd < 0) {
		int err = -errno;

		close_reset(cfd);
		pair_free(p);
		return err;
	}
	p->bfd = bfd;
	set_nodelay(cfd);
	set_nodelay(bfd);
	to.sin_addr.s_addr = p->be->addr;
	to.sin_port = p->be->port;
	if (exos_connect(bfd, (struct sockaddr *)&to, sizeof(to)) == 0) {
		p->connected = true;
		s->st.connected++;
	} else if (errno != EINPROGRESS) {
		splice_log(s, 1, "connect to backend %u: %s", p->be->idx, strerror(errno));
		s->st.refused++;
		pair_end(s, p, true);
		return 0;
	}
	if (s->npairs == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct splice_pair **np = realloc(s->pairs, cap * sizeof(*np));

		if (!np) {
			pair_end(s, p, true);
			return -ENOMEM;
		}
		s->pairs = np;
		s->cap = cap;
	}
	s->pairs[s->npairs++] = p;
	return 0;
}

/* Reads what fits from fd into h: bytes read, 0, or -errno (reset, error). */
static ssize_t half_read(struct splicefwd *s, int fd, struct splice_half *h)
{
	size_t space;
	ssize_t n;

	if (h->eof)
		return 0;
	if (h->len == 0) {
		h->off = 0;
	} else if (h->off && h->off + h->len == s->bufsize) {
		memmove(h->buf, h->buf + h->off, h->len);
		h->off = 0;
	}
	space = s->bufsize - h->off - h->len;
	if (!space)
		return 0;
	n = exos_recv(fd, h->buf + h->off + h->len, space, 0);
	if (n > 0) {
		h->len += (size_t)n;
		return n;
	}
	if (n == 0) {
		h->eof = true;
		return 0;
	}
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
}

/* Writes h's bytes to fd, then passes its FIN on.  0 or -errno. */
static int half_write(int fd, struct splice_half *h, uint64_t *bytes)
{
	while (h->len) {
		ssize_t n = exos_send(fd, h->buf + h->off, h->len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			return -errno;
		}
		h->off += (size_t)n;
		h->len -= (size_t)n;
		*bytes += (uint64_t)n;
	}
	if (h->eof && !h->len && !h->shut) {
		exos_shutdown(fd, SHUT_WR);
		h->shut = true;
	}
	return 0;
}

enum pair_verdict { PAIR_LIVE, PAIR_DONE, PAIR_ABORT };

static enum pair_verdict pair_service(struct splicefwd *s, struct splice_pair *p, short rc,
				      short rb)
{
	if (!p->connected) {
		int err = 0;
		socklen_t l = sizeof(err);

		if (!(rb & (POLLOUT | POLLERR | POLLHUP)))
			goto client_only;
		exos_getsockopt(p->bfd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			splice_log(s, 2, "backend %u: %s", p->be->idx, strerror(err));
			s->st.refused++;
			return PAIR_ABORT;
		}
		p->connected = true;
		s->st.connected++;
	}
	if ((rb & (POLLIN | POLLHUP | POLLERR)) && half_read(s, p->bfd, &p->b2c) < 0)
		return PAIR_ABORT;
client_only:
	if ((rc & (POLLIN | POLLHUP | POLLERR)) && half_read(s, p->cfd, &p->c2b) < 0)
		return PAIR_ABORT;
	if (!p->connected)
		return PAIR_LIVE;
	if (half_write(p->bfd, &p->c2b, &s->st.bytes_c2b) ||
	    half_write(p->cfd, &p->b2c, &s->st.bytes_b2c))
		return PAIR_ABORT;
	return p->c2b.shut && p->b2c.shut ? PAIR_DONE : PAIR_LIVE;
}

static short client_events(const struct splicefwd *s, const struct splice_pair *p)
{
	short ev = 0;

	if (!p->c2b.eof && p->c2b.len < s->bufsize)
		ev |= POLLIN;
	if (p->b2c.len)
		ev |= POLLOUT;
	return ev;
}

static short backend_events(const struct splicefwd *s, const struct splice_pair *p)
{
	short ev = 0;

	if (!p->connected)
		return POLLOUT;
	if (!p->b2c.eof && p->b2c.len < s->bufsize)
		ev |= POLLIN;
	if (p->c2b.len)
		ev |= POLLOUT;
	return ev;
}

int splice_run(struct splicefwd *s, volatile sig_atomic_t *stop, volatile sig_atomic_t *dump)
{
	struct pollfd *fds = NULL;
	size_t fcap = 0;
	int err = 0;

	while (!*stop) {
		size_t n = 1 + 2 * s->npairs, np = s->npairs, live = 0;
		int r;

		if (n > fcap) {
			struct pollfd *nf = realloc(fds, 2 * n * sizeof(*nf));

			if (!nf) {
				err = -ENOMEM;
				break;
			}
			fds = nf;
			fcap = 2 * n;
		}
		fds[0] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
		for (size_t i = 0; i < np; i++) {
			const struct splice_pair *p = s->pairs[i];

			fds[1 + 2 * i] =
			    (struct pollfd){.fd = p->cfd, .events = client_events(s, p)};
			fds[2 + 2 * i] =
			    (struct pollfd){.fd = p->bfd, .events = backend_events(s, p)};
		}
		r = exos_poll(fds, n, 1000);
		if (*dump) {
			*dump = 0;
			splice_stats_print(s, stderr);
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			fprintf(stderr, "splicefwd: poll: %s\n", strerror(errno));
			break;
		}
		for (size_t i = 0; i < np; i++) {
			struct splice_pair *p = s->pairs[i];
			short rc = fds[1 + 2 * i].revents, rb = fds[2 + 2 * i].revents;
			enum pair_verdict v = PAIR_LIVE;

			if (rc | rb)
				v = pair_service(s, p, rc, rb);
			if (v == PAIR_LIVE)
				s->pairs[live++] = p;
			else
				pair_end(s, p, v == PAIR_ABORT);
		}
		s->npairs = live; /* pairs accepted below go after the survivors */
		if (fds[0].revents & POLLIN)
			for (int k = 0; k < SPLICE_ACCEPT_BURST; k++)
				if (splice_accept_one(s) == -EAGAIN)
					break;
	}
	free(fds);
	return err;
}

void splice_close_all(struct splicefwd *s)
{
	for (size_t i = 0; i < s->npairs; i++)
		pair_end(s, s->pairs[i], true);
	s->npairs = 0;
	free(s->pairs);
	s->pairs = NULL;
}

void splice_stats_print(const struct splicefwd *s, FILE *f)
{
	const struct splice_stats *st = &s->st;

	fprintf(f,
		"splicefwd: stats: accepted %llu connected %llu refused %llu closed %llu "
		"aborted %llu active %zu bytes_c2b %llu bytes_b2c %llu\n",
		(unsigned long long)st->accepted, (unsigned long long)st->connected,
		(unsigned long long)st->refused, (unsigned long long)st->closed,
		(unsigned long long)st->aborted, s->npairs, (unsigned long long)st->bytes_c2b,
		(unsigned long long)st->bytes_b2c);
	for (uint32_t i = 0; i < s->be.n; i++) {
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &s->be.b[i].addr, ip, sizeof(ip));
		fprintf(f, "splicefwd: backend %u %s:%u: conns %llu\n", i, ip,
			ntohs(s->be.b[i].port), (unsigned long long)s->be.b[i].st.conns);
	}
	fflush(f);
}
