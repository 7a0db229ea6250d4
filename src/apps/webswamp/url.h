/* url.h - the target URL: http://HOST[:PORT][/path] */
#ifndef SWAMP_URL_H
#define SWAMP_URL_H

#include <netinet/in.h>
#include <stdbool.h>

#include "param.h"

struct swamp_url {
	struct sockaddr_in addr;	   /* server address and port (network order) */
	char host[SWAMP_HOST_MAX + 1];	   /* as written, for the Host header */
	char hostport[SWAMP_HOST_MAX + 7]; /* host[:port], the Host header's value */
	char path[SWAMP_URL_PATH_MAX + 1]; /* starts with '/', query included */
	unsigned port;
};

/*
 * Parses `s`.  HOST must be a dotted IPv4 address unless `resolve` is set, in which case a
 * name is resolved with getaddrinfo (IPv4 only: the libOS speaks IPv4).  Returns 0, or
 * -EINVAL (malformed; *why says what), -ENOENT (name did not resolve).
 */
int swamp_url_parse(const char *s, bool resolve, struct swamp_url *u, const char **why);

#endif /* SWAMP_URL_H */
