/* app_xok.c - see app_xok.h */
#include "app_xok.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int app_sys_open(const char *prog, const char *socket, struct exos_sys **sys)
{
	int err = exos_sys_open(socket, sys);

	if (err)
		fprintf(stderr, "%s: cannot reach xokd at %s: %s (is xokd running? see --socket)\n",
			prog, exos_sys_socket_path(socket), strerror(-err));
	return err;
}

int app_sys_wait(const char *prog, struct exos_sys *sys, uint64_t deadline_ns)
{
	int err = exos_sys_wait(sys, deadline_ns);

	if (err == -EPIPE)
		fprintf(stderr, "%s: xokd went away\n", prog);
	else if (err && err != -ETIMEDOUT && err != -EINTR)
		fprintf(stderr, "%s: wait: %s\n", prog, strerror(-err));
	else
		err = 0;
	return err;
}
