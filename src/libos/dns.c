/* dns.c - DNS stub resolver (RFC 1035): A queries over UDP, getaddrinfo for IPv4 */
#include <stdlib.h>
#include <strings.h>
#include <netinet/in.h>
#include <exos/dns.h>
#include <exos/udp.h>

#include "libos.h"

#define DNS_PORT	 53
#define DNS_HDR_LEN	 12
#define DNS_MAX_MSG	 512 /* UDP without EDNS */
#define DNS_TRIES	 3
#define DNS_TIMEOUT_MS	 1000
#define DNS_TYPE_A	 1
#define DNS_CLASS_IN	 1
#define DNS_FLAG_QR	 0x8000
#define DNS_FLAG_RD	 0x0100
#define DNS_RCODE(f)	 ((f) & 0xf)
#define DNS_RCODE_NXDOMAIN 3

struct dns_query {
	uint16_t id;
	uint32_t ns;
	int result; /* 0 = pending, > 0 = addresses, < 0 = -errno */
	uint32_t *addrs;
	int max;
	const uint8_t *q; /* our question section, to match the answer's */
	size_t qlen;
};

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Encodes name as labels; returns the length or -EINVAL. */
static int dns_encode_name(uint8_t *out, size_t cap, const char *name)
{
	size_t n = 0, len = strlen(name);

	if (len && name[len - 1] == '.')
		len--;
	if (!len || len > 253)
		return -EINVAL;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && name[j] != '.')
			j++;
		if (j == i || j - i > 63 || n + 1 + (j - i) + 1 > cap)
			return -EINVAL;
		out[n++] = (uint8_t)(j - i);
		memcpy(out + n, name + i, j - i);
		n += j - i;
		i = j + 1;
	}
	out[n++] = 0;
	return (int)n;
}

/* Skips a possibly compressed name; returns the offset after it or -1. */
static int dns_skip_name(const uint8_t *m, size_t len, size_t off)
{
	while (off < len) {
		uint8_t l = m[off];
		if ((l & 0xc0) == 0xc0)
			return off + 2 <= len ? (int)off + 2 : -1;
		if (l & 0xc0)
			return -1;
		off += 1 + l;
		if (l == 0)
			return (int)off;
	}
	return -1;
}

static int dns_parse(struct dns_query *q, const uint8_t *m, size_t len)
{
	if (len < DNS_HDR_LEN)
		return -EPROTO;
	uint16_t flags = rd16(m + 2), qd = rd16(m + 4), an = rd16(m + 6);
	if (!(flags & DNS_FLAG_QR))
		return -EPROTO;
	if (DNS_RCODE(flags) == DNS_RCODE_NXDOMAIN)
		return -ENOENT;
	if (DNS_RCODE(flags))
		return -EPROTO;
	if (qd != 1 || len < DNS_HDR_LEN + q->qlen || memcmp(m + DNS_HDR_LEN, q->q, q->qlen))
		return -EPROTO; /* not an answer to our question */
	size_t off = DNS_HDR_LEN + q->qlen;
	int n = 0;
	for (uint16_t i = 0; i < an; i++) {
		int o = dns_skip_name(m, len, off);
		if (o < 0 || (size_t)o + 10 > len)
			return n ? n : -EPROTO;
		uint16_t type = rd16(m + o), cls = rd16(m + o + 2), rdlen = rd16(m + o + 8);
		off = (size_t)o + 10;
		if (off + rdlen > len)
			return n ? n : -EPROTO;
		if (type == DNS_TYPE_A && cls == DNS_CLASS_IN && rdlen == 4 && n < q->max)
			memcpy(&q->addrs[n++], m + off, 4);
		off += rdlen;
	}
	return n ? n : -ENOENT;
}

static void dns_on_recv(struct exos_udp *u, const void *data, size_t len, uint32_t addr,
			uint16_t port, void *arg)
{
	struct dns_query *q = arg;

	(void)u;
	if (q->result || addr != q->ns || port != DNS_PORT || len < DNS_HDR_LEN ||
	    rd16(data) != q->id)
		return;
	q->result = dns_parse(q, data, len);
}

static void dns_on_error(struct exos_udp *u, int err, uint32_t addr, uint16_t port, void *arg)
{
	struct dns_query *q = arg;

	(void)u;
	if (!q->result && addr == q->ns && port == DNS_PORT)
		q->result = err;
}

static const struct exos_udp_ops dns_ops = {
	.on_recv = dns_on_recv,
	.on_error = dns_on_error,
};

static uint32_t dns_env_nameserver(void)
{
	const char *e = getenv(EXOS_NAMESERVER_ENV);
	struct in_addr a;

	if (!e || inet_pton(AF_INET, e, &a) != 1)
		return 0;
	return a.s_addr;
}

EXOS_API int exos_dns_query_a(struct exos_stack *s, const char *name, uint32_t nameserver,
			      uint32_t *addrs, int max, uint32_t timeout_ms)
{
	uint8_t msg[DNS_MAX_MSG];
	struct dns_query q = {.addrs = addrs, .max = max};
	struct exos_udp *u;
	int err, qn;

	if (!name || !addrs || max <= 0)
		return exos_err(-EINVAL);
	q.ns = nameserver ? nameserver : dns_env_nameserver();
	if (!q.ns)
		return exos_err(-EDESTADDRREQ);
	memset(msg, 0, DNS_HDR_LEN);
	qn = dns_encode_name(msg + DNS_HDR_LEN, sizeof(msg) - DNS_HDR_LEN - 4, name);
	if (qn < 0)
		return exos_err(qn);
	uint8_t *p = msg + DNS_HDR_LEN + qn;
	p[0] = 0;
	p[1] = DNS_TYPE_A;
	p[2] = 0;
	p[3] = DNS_CLASS_IN;
	q.q = msg + DNS_HDR_LEN;
	q.qlen = (size_t)qn + 4;
	q.id = (uint16_t)stack_random(s);
	msg[0] = (uint8_t)(q.id >> 8);
	msg[1] = (uint8_t)q.id;
	msg[2] = DNS_FLAG_RD >> 8;
	msg[5] = 1; /* QDCOUNT */

	err = exos_udp_open(s, 0, 0, &dns_ops, &q, &u);
	if (err < 0)
		return err;
	uint64_t step = (uint64_t)(timeout_ms ? timeout_ms : DNS_TIMEOUT_MS) * NSEC_PER_MSEC;
	for (int t = 0; t < DNS_TRIES && !q.result; t++, step *= 2) {
		err = exos_udp_sendto(u, msg, DNS_HDR_LEN + q.qlen, q.ns, DNS_PORT);
		if (err < 0 && err != -ENOBUFS) {
			q.result = err;
			break;
		}
		uint64_t deadline = exos_now_ns() + step;
		while (!q.result) {
			err = stack_block(s, deadline);
			if (err == -ETIMEDOUT)
				break;
			if (err < 0) {
				q.result = err;
				break;
			}
		}
	}
	exos_udp_close(u);
	if (!q.result)
		return exos_err(-ETIMEDOUT);
	return q.result < 0 ? exos_err(q.result) : q.result;
}

static int dns_port(const char *service, const struct addrinfo *hints, uint16_t *port)
{
	char *end;

	*port = 0;
	if (!service)
		return 0;
	long v = strtol(service, &end, 10);
	if (*service && !*end) {
		if (v < 0 || v > 65535)
			return EAI_SERVICE;
		*port = (uint16_t)v;
		return 0;
	}
	if (hints && (hints->ai_flags & AI_NUMERICSERV))
		return EAI_NONAME;
	const char *proto = hints && hints->ai_socktype == SOCK_DGRAM ? "udp" : "tcp";
	struct servent *se = getservbyname(service, proto);
	if (!se)
		return EAI_SERVICE;
	*port = ntohs((uint16_t)se->s_port);
	return 0;
}

static int ai_append(struct addrinfo ***tail, uint32_t addr, uint16_t port, int socktype,
		     int flags, const char *canon)
{
	struct {
		struct addrinfo ai;
		struct sockaddr_in sin;
	} *e = calloc(1, sizeof(*e));

	if (!e)
		return EAI_MEMORY;
	e->sin.sin_family = AF_INET;
	e->sin.sin_port = htons(port);
	e->sin.sin_addr.s_addr = addr;
	e->ai.ai_family = AF_INET;
	e->ai.ai_socktype = socktype;
	e->ai.ai_protocol = socktype == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP;
	e->ai.ai_addrlen = sizeof(e->sin);
	e->ai.ai_addr = (struct sockaddr *)&e->sin;
	if (canon && (flags & AI_CANONNAME))
		e->ai.ai_canonname = strdup(canon);
	**tail = &e->ai;
	*tail = &e->ai.ai_next;
	return 0;
}

EXOS_API void exos_freeaddrinfo(struct addrinfo *res)
{
	while (res) {
		struct addrinfo *next = res->ai_next;
		free(res->ai_canonname);
		free(res); /* the sockaddr lives in the same allocation */
		res = next;
	}
}

EXOS_API int exos_getaddrinfo(const char *node, const char *service,
			      const struct addrinfo *hints, struct addrinfo **res)
{
	uint32_t addrs[16];
	int n = 0, err, flags = hints ? hints->ai_flags : 0;
	uint16_t port;
	struct in_addr a;

	*res = NULL;
	if (hints && hints->ai_family != AF_UNSPEC && hints->ai_family != AF_INET)
		return EAI_FAMILY;
	if (!node && !service)
		return EAI_NONAME;
	err = dns_port(service, hints, &port);
	if (err)
		return err;
	if (!node) {
		addrs[n++] = (flags & AI_PASSIVE) ? htonl(INADDR_ANY) : htonl(INADDR_LOOPBACK);
	} else if (inet_pton(AF_INET, node, &a) == 1) {
		addrs[n++] = a.s_addr;
	} else if (flags & AI_NUMERICHOST) {
		return EAI_NONAME;
	} else {
		struct exos_stack *s;
		if (!dns_env_nameserver())
			return EAI_FAIL; /* no nameserver configured (EXOS_NAMESERVER) */
		if (exos_stack_default(&s) < 0)
			return EAI_SYSTEM;
		n = exos_dns_query_a(s, node, 0, addrs, (int)ARRAY_SIZE(addrs), 0);
		if (n == -ENOENT)
			return EAI_NONAME;
		if (n == -ETIMEDOUT)
			return EAI_AGAIN;
		if (n < 0)
			return EAI_FAIL;
	}
	struct addrinfo *head = NULL, **tail = &head;
	int types[2] = {SOCK_STREAM, SOCK_DGRAM}, ntypes = 2;
	if (hints && hints->ai_socktype) {
		types[0] = hints->ai_socktype;
		ntypes = 1;
	}
	for (int i = 0; i < n; i++) {
		for (int t = 0; t < ntypes; t++) {
			err = ai_append(&tail, addrs[i], port, types[t], flags, i ? NULL : node);
			if (err) {
				exos_freeaddrinfo(head);
				return err;
			}
		}
	}
	*res = head;
	return 0;
}
