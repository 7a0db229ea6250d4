/* udp.h - libexos low-level UDP: datagrams in place, ICMP errors as callbacks */
#ifndef EXOS_UDP_H
#define EXOS_UDP_H

/*
 * A UDP end-point installs one DPF filter for its local port (and, unless the stack was
 * opened with EXOS_STACK_NO_ICMP_FILTERS, one for ICMP errors about its datagrams), both
 * delivering into the stack's ring (§3.3).  Received datagrams are handed to on_recv in
 * place, valid only during the call.
 */

#include <stddef.h>
#include <stdint.h>
#include <exos/exos.h>

struct exos_udp;

struct exos_udp_ops {
	/* addr network order, port host order */
	void (*on_recv)(struct exos_udp *u, const void *data, size_t len, uint32_t addr,
			uint16_t port, void *arg);
	/* An ICMP error about a datagram we sent to addr:port: -ECONNREFUSED (port
	 * unreachable), -EHOSTUNREACH, -ENETUNREACH, -EMSGSIZE. */
	void (*on_error)(struct exos_udp *u, int err, uint32_t addr, uint16_t port, void *arg);
};

/* local_addr network order (0: the stack's), port host order (0: random ephemeral). */
EXOS_API int exos_udp_open(struct exos_stack *s, uint32_t local_addr, uint16_t local_port,
			   const struct exos_udp_ops *ops, void *arg, struct exos_udp **out);
EXOS_API void exos_udp_close(struct exos_udp *u);
/* Copies the payload into registered memory and sends it (fragmenting above the MTU).
 * Returns 0 or -errno (-EHOSTUNREACH after ARP failed, -EMSGSIZE above 65507 bytes). */
EXOS_API int exos_udp_sendto(struct exos_udp *u, const void *data, size_t len, uint32_t addr,
			     uint16_t port);
EXOS_API uint16_t exos_udp_local_port(const struct exos_udp *u); /* host order */

#endif /* EXOS_UDP_H */
