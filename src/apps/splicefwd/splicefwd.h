/* splicefwd.h - splicefwd, the socket-splicing forwarder of paper §7: shared state */
#ifndef SPLICEFWD_H
#define SPLICEFWD_H

/*
 * The baseline §7 compares direct forwarding with: accept a client's connection on the
 * libOS's POSIX-like sockets, connect a second socket to a backend (chosen by the same code
 * as xfwd: src/apps/xfwd/backend.c), and copy bytes both ways.  Each side's TCP is
 * terminated here, so the client's data is acknowledged by splicefwd's stack whether or not
 * the backend ever gets it -- the broken end-to-end semantics the paper points out -- and
 * every byte is copied twice through a buffer.
 *
 * A FIN from one side is passed on as a shutdown of the other side's write half once the
 * buffered bytes are out; the pair closes when both directions are finished.  A reset or
 * error on either side aborts both (the other side gets a reset: SO_LINGER 0), so that a
 * backend refusing the connection looks like a refusal to the client too.
 *
 *  - main.c:   command line, setup, signals.
 *  - splice.c: the nonblocking event loop over exos_poll.
 */

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "backend.h"

#define SPLICE_BUF_DEFAULT  (64 * 1024) /* bytes buffered per direction per connection */
#define SPLICE_BUF_MIN	    1024
#define SPLICE_BUF_MAX	    (16 * 1024 * 1024)
#define SPLICE_BACKLOG	    1024
#define SPLICE_ACCEPT_BURST 64 /* connections accepted per wakeup */

struct splice_half { /* one direction: bytes read from one socket, to write to the other */
	uint8_t *buf;
	size_t off, len; /* pending bytes: buf[off, off + len) */
	bool eof;	 /* the source sent its FIN */
	bool shut;	 /* ... and we passed it on (shutdown of the destination's write half) */
};

struct splice_pair {
	int cfd, bfd;	/* client and backend sockets (exos descriptors) */
	bool connected; /* the backend connect finished */
	struct splice_half c2b, b2c;
	struct xfwd_backend *be;
};

struct splice_stats {
	uint64_t accepted, connected, refused, closed, aborted;
	uint64_t bytes_c2b, bytes_b2c;
};

struct splicefwd {
	int lfd;
	size_t bufsize;
	struct xfwd_backends be;
	struct splice_pair **pairs;
	size_t npairs, cap;
	struct splice_stats st;
	int verbose;
};

/* splice.c */
int splice_run(struct splicefwd *s, volatile sig_atomic_t *stop, volatile sig_atomic_t *dump);
void splice_close_all(struct splicefwd *s);
void splice_stats_print(const struct splicefwd *s, FILE *f);

#endif /* SPLICEFWD_H */
