/* dns.h - libexos DNS stub resolver: A records over UDP */
#ifndef EXOS_DNS_H
#define EXOS_DNS_H

/*
 * exos_getaddrinfo resolves numeric IPv4 addresses itself and names by asking one
 * nameserver for A records over the default stack: the `EXOS_NAMESERVER` environment
 * variable (a dotted-quad address), else none, in which case names fail with EAI_FAIL.
 * Each query is retried (3 tries, 1 s apart, then 2 s, 4 s).  Results are standard struct
 * addrinfo lists; free them with exos_freeaddrinfo.  Only AF_INET / AF_UNSPEC.
 */

#include <netdb.h>
#include <stdint.h>
#include <exos/exos.h>

#define EXOS_NAMESERVER_ENV "EXOS_NAMESERVER"

EXOS_API int exos_getaddrinfo(const char *node, const char *service,
			      const struct addrinfo *hints, struct addrinfo **res);
EXOS_API void exos_freeaddrinfo(struct addrinfo *res);

/* The query itself: up to max A records for name from nameserver (network order; 0: the
 * environment's) on stack s.  Returns the number of addresses (network order) or -errno:
 * -ENOENT (NXDOMAIN or no A record), -ETIMEDOUT, -EDESTADDRREQ (no nameserver),
 * -ECONNREFUSED, -EPROTO (malformed answer), -EINVAL (bad name). */
EXOS_API int exos_dns_query_a(struct exos_stack *s, const char *name, uint32_t nameserver,
			      uint32_t *addrs, int max, uint32_t timeout_ms);

#endif /* EXOS_DNS_H */
