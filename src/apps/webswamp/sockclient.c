/* sockclient.c - sockclient: the webswamp core on the libOS's POSIX-like sockets */
#include "cli.h"
#include "transport_exos.h"

/* The paper's "sockclient/xok" (§6.2): the same core through the socket layer, for scale. */
int main(int argc, char **argv)
{
	return swamp_main(argc, argv, &swamp_exos_sock_transport);
}
