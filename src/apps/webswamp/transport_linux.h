/* transport_linux.h - the core over Linux kernel TCP sockets */
#ifndef SWAMP_TRANSPORT_LINUX_H
#define SWAMP_TRANSPORT_LINUX_H

#include "core.h"

extern const struct swamp_transport_desc swamp_linux_transport;

#endif /* SWAMP_TRANSPORT_LINUX_H */
