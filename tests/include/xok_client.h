/* xok_client.h - what the raw test clients of xokd (tests/kern/xok-*.c) share: how they fail
 * (one "error=" line on stdout for the shell tests to grep, exit 1), their subcommands, the
 * connection, the interface and the addresses on their command lines */
#ifndef XOK_TEST_CLIENT_H
#define XOK_TEST_CLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <exos/sys.h>

static inline void die(const char *what, int err)
{
	printf("error=%d what=%s (%s)\n", err, what, strerror(err < 0 ? -err : err));
	fflush(stdout);
	exit(1);
}

/* A client's table of these ends with {0}. */
struct subcommand {
	const char *name;
	int (*run)(void);
};

/* The usage line lists the table, so that it names every subcommand there is. */
static inline void print_usage(const char *prog, const struct subcommand *cmds)
{
	const struct subcommand *c;

	fprintf(stderr, "usage: %s ", prog);
	for (c = cmds; c->name; c++)
		fprintf(stderr, "%s%s", c == cmds ? "" : "|", c->name);
	fprintf(stderr, " [options]\n");
}

/* The subcommand comes first, its options after it (getopt_long is set to start there); NULL,
 * once the usage line is out, when there is none. */
static inline const char *subcommand_arg(int argc, char **argv, const char *prog,
					 const struct subcommand *cmds)
{
	if (argc < 2) {
		print_usage(prog, cmds);
		return NULL;
	}
	optind = 2;
	return argv[1];
}

/* The exit status of the subcommand named cmd; 2 for a name not in the table. */
static inline int run_subcommand(const char *prog, const struct subcommand *cmds, const char *cmd)
{
	const struct subcommand *c;

	for (c = cmds; c->name; c++)
		if (!strcmp(cmd, c->name))
			return c->run();
	fprintf(stderr, "%s: unknown command %s\n", prog, cmd);
	return 2;
}

static inline struct exos_sys *open_sys(const char *socket)
{
	struct exos_sys *sys;
	int err = exos_sys_open(socket, &sys);

	if (err)
		die("open", err);
	return sys;
}

/* The clients use xokd's first interface only. */
static inline void first_iface(struct exos_sys *sys, struct xok_iface_info *out)
{
	struct xok_info_reply info;
	int err = exos_sys_info(sys, &info);

	if (err)
		die("info", err);
	if (info.niface == 0)
		die("info: no interface", -ENODEV);
	*out = info.ifaces[0];
}

/* A dotted IPv4 address, in host order. */
static inline uint32_t parse_ip(const char *s)
{
	struct in_addr in;

	if (inet_pton(AF_INET, s, &in) != 1)
		die("bad address", -EINVAL);
	return ntohl(in.s_addr);
}

#endif /* XOK_TEST_CLIENT_H */
