/* webswamp.c - webswamp: the webswamp core on the libOS's low-level TCP events */
#include "cli.h"
#include "transport_exos.h"

/* The paper's webswamp (§6): count-only reception, zero-copy requests, --merge, --no-cksum. */
int main(int argc, char **argv)
{
	return swamp_main(argc, argv, &swamp_exos_tcp_transport);
}
