/* transport_linux.h - the core over Linux kernel TCP sockets */
#ifndef SWAMP_TRANSPORT_LINUX_H
#define SWAMP_TRANSPORT_LINUX_H

#include "core.h"

extern const struct swamp_transport_desc swamp_linux_transport;

int swamp_linux_transport_create(const struct swamp_opts *o, const struct swamp_url *u,
				 struct swamp_transport **out);

#endif /* SWAMP_TRANSPORT_LINUX_H */
