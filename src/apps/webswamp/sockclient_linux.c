/* sockclient_linux.c - sockclient-linux: the webswamp core on Linux kernel sockets */
#include "cli.h"
#include "transport_linux.h"

/* The paper's "sockclient" (§6.2) on the host OS: the baseline webswamp is measured against. */
int main(int argc, char **argv)
{
	return swamp_main(argc, argv, &swamp_linux_transport);
}
