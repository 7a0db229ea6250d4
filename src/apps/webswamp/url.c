/* url.c - the target URL: http://HOST[:PORT][/path] */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "url.h"

static int url_fail(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return -EINVAL;
}

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.';
}

/* Printable ASCII other than space: what may go verbatim into a request line. */
static bool path_char(char c)
{
	return c > ' ' && c < 0x7f && c != '#';
}

static int url_port(const char *s, size_t len, unsigned *port, const char **why)
{
	unsigned v = 0;

	if (!len || len > 5)
		return url_fail(why, "port must be 1-65535");
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return url_fail(why, "port must be a decimal number");
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (!v || v > 65535)
		return url_fail(why, "port must be 1-65535");
	*port = v;
	return 0;
}

static int url_resolve(struct swamp_url *u, bool resolve, const char **why)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res;

	/* inet_pton takes only the strict dotted quad, no "1.2.3" shorthands. */
	if (inet_pton(AF_INET, u->host, &u->addr.sin_addr) == 1)
		return 0;
	if (!resolve)
		return url_fail(why, "host must be a dotted IPv4 address");
	if (getaddrinfo(u->host, NULL, &hints, &res)) {
		if (why)
			*why = "host name does not resolve to an IPv4 address";
		return -ENOENT;
	}
	u->addr.sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
	freeaddrinfo(res);
	return 0;
}

int swamp_url_parse(const char *s, bool resolve, struct swamp_url *u, const char **why)
{
	const char *h, *hend, *p;
	size_t hlen;
	int rc;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(s, "http://", 7))
		return url_fail(why, strncasecmp(s, "https://", 8) ? "URL must start with http://"
								   : "https is not supported");
	h = s + 7;
	p = h + strcspn(h, "/?#");
	if (strchr(p, '#'))
		return url_fail(why, "URL must not have a fragment");
	if (memchr(h, '@', (size_t)(p - h)))
		return url_fail(why, "URL must not have user information");
	if (*h == '[')
		return url_fail(why, "IPv6 hosts are not supported");
	hend = memchr(h, ':', (size_t)(p - h));
	if (!hend)
		hend = p;
	hlen = (size_t)(hend - h);
	if (!hlen)
		return url_fail(why, "URL has no host");
	if (hlen > SWAMP_HOST_MAX)
		return url_fail(why, "host is too long");
	for (size_t i = 0; i < hlen; i++)
		if (!host_char(h[i]))
			return url_fail(why, "host has an invalid character");
	memcpy(u->host, h, hlen);
	u->port = 80;
	if (hend < p) {
		rc = url_port(hend + 1, (size_t)(p - hend - 1), &u->port, why);
		if (rc)
			return rc;
	}
	if (strlen(p) + 1 > SWAMP_URL_PATH_MAX)
		return url_fail(why, "path is too long");
	snprintf(u->path, sizeof(u->path), "%s%s", *p == '/' ? "" : "/", p);
	for (const char *c = u->path; *c; c++)
		if (!path_char(*c))
			return url_fail(
			    why, "path has a space or control character (percent-encode it)");
	if (u->port == 80)
		snprintf(u->hostport, sizeof(u->hostport), "%s", u->host);
	else
		snprintf(u->hostport, sizeof(u->hostport), "%s:%u", u->host, u->port);
	u->addr.sin_family = AF_INET;
	u->addr.sin_port = htons((uint16_t)u->port);
	return url_resolve(u, resolve, why);
}
