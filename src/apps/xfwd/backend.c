/* backend.c - xfwd's backends: parsing, selection policies, per-backend port blocks */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "param.h"

int backend_parse_addr(const char *s, uint32_t *addr, uint16_t *port)
{
	char buf[32], *colon, *end;
	struct in_addr in;
	unsigned long p;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	colon = strrchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = 0;
	if (inet_pton(AF_INET, buf, &in) != 1)
		return -EINVAL;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || colon[1] == '-' || colon[1] == '+' || p == 0 ||
	    p > 65535)
		return -EINVAL;
	*addr = in.s_addr;
	*port = htons((uint16_t)p);
	return 0;
}

int backend_list_append(char **list, const char *more)
{
	size_t old = *list ? strlen(*list) : 0, n = strlen(more);
	char *nl = realloc(*list, old + n + 2);

	if (!nl)
		return -ENOMEM;
	if (old)
		nl[old++] = ',';
	memcpy(nl + old, more, n + 1);
	*list = nl;
	return 0;
}

int policy_parse(const char *s, enum xfwd_policy *policy)
{
	if (!strcmp(s, "rr"))
		*policy = XFWD_POLICY_RR;
	else if (!strcmp(s, "hash"))
		*policy = XFWD_POLICY_HASH;
	else
		return -EINVAL;
	return 0;
}

int backend_parse_list(const char *list, struct xfwd_backends *set)
{
	char *copy, *tok, *save = NULL;
	int err = 0;

	memset(set, 0, sizeof(*set));
	copy = strdup(list);
	set->b = calloc(XFWD_BACKENDS_MAX, sizeof(*set->b));
	if (!copy || !set->b) {
		err = -ENOMEM;
		goto out;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct xfwd_backend *b;

		if (set->n == XFWD_BACKENDS_MAX) {
			err = -E2BIG;
			goto out;
		}
		b = &set->b[set->n];
		err = backend_parse_addr(tok, &b->addr, &b->port);
		if (err)
			goto out;
		for (uint32_t i = 0; i < set->n; i++)
			if (set->b[i].addr == b->addr && set->b[i].port == b->port) {
				err = -EINVAL;
				goto out;
			}
		b->idx = (uint16_t)set->n++;
	}
	if (set->n == 0)
		err = -EINVAL;
out:
	free(copy);
	if (err) {
		free(set->b);
		set->b = NULL;
		set->n = 0;
	}
	return err;
}

int ports_parse(const char *s, uint16_t *lo, uint32_t *n)
{
	unsigned long a, b;
	char *end;

	errno = 0;
	a = strtoul(s, &end, 10);
	if (errno || end == s || *end != '-' || *s == '-' || *s == '+')
		return -EINVAL;
	s = end + 1;
	b = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || *s == '+')
		return -EINVAL;
	if (a == 0 || b > 65535 || b < a)
		return -EINVAL;
	/* an aligned power-of-two block: one masked filter atom claims it */
	uint32_t cnt = (uint32_t)(b - a + 1);
	if (cnt < 64 || (cnt & (cnt - 1)) || (a & (cnt - 1)))
		return -EINVAL;
	*lo = (uint16_t)a;
	*n = cnt;
	return 0;
}

int backends_init(struct xfwd_backends *set, enum xfwd_policy policy, uint16_t lo, uint32_t n)
{
	set->policy = policy;
	set->rr = 0;
	for (uint32_t i = 0; i < set->n; i++) {
		struct xfwd_ports *p = &set->b[i].ports;

		p->lo = lo;
		p->n = n;
		p->cursor = 0;
		p->inuse = 0;
		p->map = calloc((n + 63) / 64, sizeof(uint64_t));
		if (!p->map)
			return -ENOMEM;
	}
	return 0;
}

void backends_free(struct xfwd_backends *set)
{
	for (uint32_t i = 0; i < set->n; i++)
		free(set->b[i].ports.map);
	free(set->b);
	set->b = NULL;
	set->n = 0;
}

uint32_t backend_hash(uint32_t caddr, uint16_t cport, uint32_t laddr, uint16_t lport)
{
	/* murmur3's finaliser over a mix of the words: every input bit reaches every output
	 * bit; the values are the wire's (network order), so the choice is host-independent
	 * only up to byte order, which is fine within one forwarder */
	uint32_t h = caddr * 0x9e3779b1u;

	h ^= laddr + 0x7f4a7c15u + (h << 6) + (h >> 2);
	h ^= ((uint32_t)cport << 16 | lport) + 0x85ebca6bu + (h << 6) + (h >> 2);
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

struct xfwd_backend *backend_pick(struct xfwd_backends *set, uint32_t caddr, uint16_t cport,
				  uint32_t laddr, uint16_t lport, uint64_t now)
{
	uint32_t start, i;

	if (set->policy == XFWD_POLICY_HASH) {
		start = backend_hash(caddr, cport, laddr, lport) % set->n;
	} else {
		start = set->rr % set->n;
		set->rr = (start + 1) % set->n;
	}
	for (i = 0; i < set->n; i++) {
		struct xfwd_backend *b = &set->b[(start + i) % set->n];

		if (b->down_until <= now) {
			if (set->policy == XFWD_POLICY_RR)
				set->rr = (b->idx + 1) % set->n;
			return b;
		}
	}
	return &set->b[start]; /* all down: try anyway */
}

int port_alloc(struct xfwd_ports *p)
{
	uint32_t i = p->cursor, left = p->n;

	if (p->inuse == p->n)
		return -EADDRNOTAVAIL;
	while (left) {
		uint64_t w = p->map[i / 64] >> (i % 64);

		if (w == ~0ull >> (i % 64)) { /* the rest of this word is taken */
			uint32_t skip = 64 - i % 64;

			left = left > skip ? left - skip : 0;
			i = (i + skip) & (p->n - 1);
			continue;
		}
		if (!(w & 1)) {
			p->map[i / 64] |= 1ull << (i % 64);
			p->inuse++;
			p->cursor = (i + 1) & (p->n - 1);
			return p->lo + i;
		}
		i = (i + 1) & (p->n - 1);
		left--;
	}
	return -EADDRNOTAVAIL;
}

void port_free(struct xfwd_ports *p, uint16_t port)
{
	uint32_t i = (uint16_t)(port - p->lo);

	if (i >= p->n || !(p->map[i / 64] & (1ull << (i % 64))))
		return;
	p->map[i / 64] &= ~(1ull << (i % 64));
	p->inuse--;
}
