/* app_xok.h - what the programs that talk to xokd directly share on top of libexos's sys
 * layer: reaching xokd and waiting for it, with the same messages. */
#ifndef XOK_APP_XOK_H
#define XOK_APP_XOK_H

#include <stdint.h>

#include <exos/sys.h>

/* exos_sys_open, with "PROG: cannot reach xokd at PATH: why (is xokd running? ...)" on
 * stderr when it fails; PATH as exos_sys_open resolves socket (NULL: $XOK_SOCKET, else the
 * default). */
int app_sys_open(const char *prog, const char *socket, struct exos_sys **sys);

/* exos_sys_wait until deadline_ns (0: none).  0 when woken, at the deadline or by a signal,
 * for the loop to look at its work and flags again; else the error, with "PROG: xokd went
 * away" or "PROG: wait: why" on stderr. */
int app_sys_wait(const char *prog, struct exos_sys *sys, uint64_t deadline_ns);

#endif /* XOK_APP_XOK_H */
