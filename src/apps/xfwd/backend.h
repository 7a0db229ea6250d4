/* backend.h - xfwd's backends: the list, the selection policies, our ports toward each */
#ifndef XFWD_BACKEND_H
#define XFWD_BACKEND_H

/*
 * Each backend has its own block of our ephemeral ports: the return traffic of a
 * connection is recognised by <backend address, backend port, our port>, so the same port
 * may serve one connection per backend at a time.  Ports are handed out sequentially
 * (the least recently used first), which keeps a port away from its previous connection
 * for as long as possible: that connection may still be in TIME_WAIT on the backend.
 *
 * The port block is an aligned power-of-two range, so that a single DPF filter with a
 * masked port atom (`dport & ~(n - 1) == lo`) can claim all of it.
 */

#include <stdbool.h>
#include <stdint.h>
#include <xok/proto/eth.h>

enum xfwd_policy {
	XFWD_POLICY_RR = 0, /* round robin */
	XFWD_POLICY_HASH,   /* a hash of the client's 4-tuple */
};

struct xfwd_ports {
	uint16_t lo;	 /* first port, host order */
	uint32_t n;	 /* ports in the block: a power of two, lo a multiple of it */
	uint32_t cursor; /* next index to try */
	uint32_t inuse;
	uint64_t *map; /* bit i: port lo + i is taken */
};

struct xfwd_backend_stats {
	uint64_t conns;		      /* connections sent to it */
	uint64_t pkts_c2b, bytes_c2b; /* forwarded to it (frames, IP bytes) */
	uint64_t pkts_b2c, bytes_b2c; /* forwarded from it */
	uint64_t no_port;	      /* SYNs dropped: every port in use */
};

struct xfwd_backend {
	uint32_t addr; /* network order */
	uint16_t port; /* network order */
	uint16_t idx;
	/* route (filled at setup) */
	uint32_t ifindex; /* interface toward it */
	uint32_t local;	  /* our address there, network order */
	uint32_t nexthop; /* itself, or the gateway */
	/* next hop's MAC, valid while the ARP table's version is mac_version */
	uint8_t mac[ETH_ADDR_LEN];
	bool mac_valid;
	uint32_t mac_version;
	uint64_t down_until; /* skipped by the policies until then (ARP failed) */
	uint32_t active;     /* connections now */
	struct xfwd_ports ports;
	struct xfwd_backend_stats st;
};

struct xfwd_backends {
	struct xfwd_backend *b;
	uint32_t n;
	uint32_t rr; /* round-robin cursor */
	enum xfwd_policy policy;
};

/* "A.B.C.D:PORT" -> network-order address and port.  0 or -EINVAL. */
int backend_parse_addr(const char *s, uint32_t *addr, uint16_t *port);
/* "A:P[,A:P...]" into set->b (allocated); duplicates are -EINVAL. */
int backend_parse_list(const char *list, struct xfwd_backends *set);
/* Appends more to the comma-separated list *list (malloc'd; NULL is empty), for a repeated
 * --backend.  0, or -ENOMEM with *list as it was. */
int backend_list_append(char **list, const char *more);
/* "rr" or "hash".  0 or -EINVAL. */
int policy_parse(const char *s, enum xfwd_policy *policy);
/* "LO-HI": an aligned power-of-two block of at least 64 ports.  0 or -EINVAL. */
int ports_parse(const char *s, uint16_t *lo, uint32_t *n);
/* Allocates every backend's port map for the block [lo, lo + n). */
int backends_init(struct xfwd_backends *set, enum xfwd_policy policy, uint16_t lo, uint32_t n);
void backends_free(struct xfwd_backends *set);

/* The policy's choice for a new connection (addresses and ports in network order);
 * backends marked down are skipped unless all are. */
struct xfwd_backend *backend_pick(struct xfwd_backends *set, uint32_t caddr, uint16_t cport,
				  uint32_t laddr, uint16_t lport, uint64_t now);
/* The 4-tuple hash of the hash policy (deterministic: the same tuple, the same backend). */
uint32_t backend_hash(uint32_t caddr, uint16_t cport, uint32_t laddr, uint16_t lport);

/* A free port of the block (host order), or -EADDRNOTAVAIL. */
int port_alloc(struct xfwd_ports *p);
void port_free(struct xfwd_ports *p, uint16_t port);
static inline bool port_in_block(const struct xfwd_ports *p, uint16_t port)
{
	return (uint32_t)(uint16_t)(port - p->lo) < p->n;
}

#endif /* XFWD_BACKEND_H */
