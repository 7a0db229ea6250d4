/* kern_test.h - helpers for xokd's in-process unit tests: a daemon without sockets or BPF */
#ifndef XOK_KERN_TEST_H
#define XOK_KERN_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kern.h"

#define KT_IFINDEX 7
#define KT_MTU	   1500

/* A daemon with one fake interface (KT_IFINDEX), no BPF, no event loop. */
struct xokd *kt_xokd(void);
void kt_xokd_free(struct xokd *x);
/* An app as if it had connected (no socket).  uid 0 makes it privileged. */
struct app *kt_app(struct xokd *x, uid_t uid);

/* Sends op with body (len bytes) and at most one fd; returns the status, copies the reply
 * body into rep (rep_len bytes). */
int kt_call(struct xokd *x, struct app *a, uint16_t op, const void *body, size_t len, int fd,
	    void *rep, size_t rep_len);
/* The same with the exact body size of the struct. */
#define KT_CALL(x, a, op, body, rep)                                                               \
	kt_call((x), (a), (op), (body), sizeof(*(body)), -1, (rep), sizeof(*(rep)))
#define KT_CALL0(x, a, op, body) kt_call((x), (a), (op), (body), sizeof(*(body)), -1, NULL, 0)

/* A memfd of size bytes with the given seals (F_SEAL_SHRINK for a valid region). */
int kt_memfd(size_t size, unsigned int seals);
/* Registers a fresh region; *base receives the test's own mapping of it. */
uint32_t kt_region(struct xokd *x, struct app *a, size_t size, void **base);
/* Sets up a ring at the start of a new region. */
uint32_t kt_ring(struct xokd *x, struct app *a, uint32_t entry_size, uint32_t nentries,
		 void **base);
/* Installs a UDP-port filter delivering to ring; returns the status. */
int kt_udp_filter(struct xokd *x, struct app *a, uint32_t ring, uint16_t port, uint32_t flags,
		  struct xok_dpf_insert_reply *rep);
int kt_open_fds(void);
bool kt_fd_closed(int fd);

#endif /* XOK_KERN_TEST_H */
