/* transport_exos.h - the core over libexos: the two transports and what they share */
#ifndef SWAMP_TRANSPORT_EXOS_H
#define SWAMP_TRANSPORT_EXOS_H

#include <stdint.h>

#include <exos/exos.h>

#include "core.h"

/* webswamp: the low-level TCP event API (include/exos/tcp.h); --merge, --no-cksum. */
extern const struct swamp_transport_desc swamp_exos_tcp_transport;
/* sockclient: the POSIX-like non-blocking sockets (include/exos/socket.h) and exos_poll. */
extern const struct swamp_transport_desc swamp_exos_sock_transport;

/* ---- shared by both (transport_exos.c) ---- */

/* Opens a stack on xokd's socket (o->xok_socket, else $XOK_SOCKET, else the default), with
 * receive checksums off for --no-cksum.  Says why on stderr when it fails. */
int swamp_exos_open(const char *prog, const struct swamp_opts *o, struct exos_stack **out);
/* Runs the stack until no connection is left (TIME_WAIT blocks aside) or `ns` passes, so
 * that the last FINs and ACKs go out before exos_stack_close resets what remains. */
void swamp_exos_drain(struct exos_stack *s, uint64_t ns);
/* What the stack counted: frames, retransmissions, transmit stalls (the counters op). */
void swamp_exos_counters(struct exos_stack *s, struct swamp_counters *out);
/* Once per run: no free local port (every ephemeral port busy or refused by xokd). */
void swamp_exos_warn_ports(const char *prog, int rc);

#endif /* SWAMP_TRANSPORT_EXOS_H */
