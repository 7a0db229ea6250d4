/* main.c - splicefwd: command line, the libOS stack and listening socket, signals */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <exos/exos.h>
#include <exos/socket.h>
#include <exos/sys.h>

#include "splicefwd.h"
#include "app.h"

static const char usage[] =
    "usage: splicefwd --listen ADDR:PORT --backend ADDR:PORT[,ADDR:PORT...]\n"
    "                 [--policy rr|hash] [--socket PATH] [--buf BYTES] [--stats] [-v]...\n"
    "                 [--help]\n"
    "\n"
    "splicefwd is the socket-splicing TCP forwarder of Ganger et al. (TOCS 2002, §7), the\n"
    "baseline for xfwd: it accepts clients on libexos's POSIX-like sockets, connects a\n"
    "socket to a backend for each, and copies the bytes both ways.  It terminates TCP on\n"
    "both sides: clients are acknowledged by splicefwd, not by the backend.\n"
    "\n"
    "  -l, --listen ADDR:PORT  where clients connect (one of xokd's addresses, or 0.0.0.0)\n"
    "  -b, --backend LIST      comma-separated ADDR:PORT backends (repeatable)\n"
    "  -p, --policy P          rr (round robin, the default) or hash (of the client's\n"
    "                          4-tuple): the same choice as xfwd's\n"
    "  -s, --socket PATH       xokd's control socket (default $" XOK_SOCKET_ENV " or\n"
    "                          " XOK_SOCKET_DEFAULT ")\n"
    "  -B, --buf BYTES         buffer per direction per connection (default 65536)\n"
    "      --stats             print the counters on exit\n"
    "  -v, --verbose           more logging\n"
    "  -h, --help              this text\n"
    "\n"
    "A FIN from either side becomes a shutdown of the other side's write half once the\n"
    "buffered bytes are out; a connection pair closes when both directions are done, and\n"
    "a reset or error on either side resets both.  SIGUSR1 prints the counters to stderr;\n"
    "SIGINT and SIGTERM stop it.  Needs xokd and arpd.\n";

struct splice_cfg {
	struct app_service_opts svc;
	struct sockaddr_in listen;
	char *backends;
	enum xfwd_policy policy;
	size_t buf;
};

static int parse_args(int argc, char **argv, struct splice_cfg *cfg)
{
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"backend", required_argument, NULL, 'b'},
	    {"policy", required_argument, NULL, 'p'},
	    {"buf", required_argument, NULL, 'B'},
	    APP_SERVICE_LONGOPTS,
	    {0},
	};
	bool have_listen = false;
	long v;
	int c;

	cfg->policy = XFWD_POLICY_RR;
	cfg->buf = SPLICE_BUF_DEFAULT;
	while ((c = getopt_long(argc, argv, "l:b:p:B:" APP_SERVICE_SHORTOPTS, opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (backend_parse_addr(optarg, &cfg->listen.sin_addr.s_addr,
					       &cfg->listen.sin_port)) {
				fprintf(stderr, "splicefwd: --listen wants ADDR:PORT: %s\n",
					optarg);
				return -EINVAL;
			}
			cfg->listen.sin_family = AF_INET;
			have_listen = true;
			break;
		case 'b':
			if (backend_list_append(&cfg->backends, optarg))
				return -ENOMEM;
			break;
		case 'p':
			if (policy_parse(optarg, &cfg->policy)) {
				fprintf(stderr, "splicefwd: --policy is rr or hash: %s\n", optarg);
				return -EINVAL;
			}
			break;
		case 'B':
			if (app_num("splicefwd", "--buf", optarg, SPLICE_BUF_MIN, SPLICE_BUF_MAX, &v))
				return -EINVAL;
			cfg->buf = (size_t)v;
			break;
		default:
			if (app_service_opt(c, optarg, usage, &cfg->svc))
				return -EINVAL;
		}
	}
	if (app_no_operands("splicefwd", argc, argv, usage))
		return -EINVAL;
	if (!have_listen || !cfg->backends) {
		fprintf(stderr, "splicefwd: --listen and --backend are required\n%s", usage);
		return -EINVAL;
	}
	return 0;
}

static int open_listener(const struct splice_cfg *cfg)
{
	int fd, one = 1;

	fd = exos_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	exos_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (exos_bind(fd, (const struct sockaddr *)&cfg->listen, sizeof(cfg->listen)) ||
	    exos_listen(fd, SPLICE_BACKLOG)) {
		int err = -errno;

		exos_close(fd);
		return err;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static struct splicefwd s;
	struct splice_cfg cfg = {0};
	struct exos_stack_opts so = {.sz = sizeof(so)};
	struct exos_stack *stack;
	char ip[INET_ADDRSTRLEN];
	int err;

	setvbuf(stderr, NULL, _IOLBF, 0);
	if (parse_args(argc, argv, &cfg)) {
		free(cfg.backends);
		return 2;
	}
	if (backend_parse_list(cfg.backends, &s.be)) {
		fprintf(stderr,
			"splicefwd: --backend wants ADDR:PORT[,ADDR:PORT...] (no "
			"duplicates): %s\n",
			cfg.backends);
		free(cfg.backends);
		return 2;
	}
	free(cfg.backends);
	s.be.policy = cfg.policy;
	s.bufsize = cfg.buf;
	s.verbose = cfg.svc.verbose;
	app_signals(1);

	so.xokd_path = cfg.svc.socket;
	err = exos_stack_open(&so, &stack);
	if (err) {
		fprintf(stderr, "splicefwd: cannot open the libOS stack (xokd at %s): %s\n",
			cfg.svc.socket ? cfg.svc.socket : "the default socket", strerror(-err));
		backends_free(&s.be);
		return 1;
	}
	exos_stack_set_default(stack);
	s.lfd = open_listener(&cfg);
	if (s.lfd < 0) {
		inet_ntop(AF_INET, &cfg.listen.sin_addr, ip, sizeof(ip));
		fprintf(stderr, "splicefwd: cannot listen on %s:%u: %s\n", ip,
			ntohs(cfg.listen.sin_port), strerror(-s.lfd));
		err = s.lfd;
	} else {
		inet_ntop(AF_INET, &cfg.listen.sin_addr, ip, sizeof(ip));
		fprintf(stderr, "splicefwd: ready: listening on %s:%u, %u backend%s, policy %s\n",
			ip, ntohs(cfg.listen.sin_port), s.be.n, s.be.n == 1 ? "" : "s",
			cfg.policy == XFWD_POLICY_RR ? "rr" : "hash");
		err = splice_run(&s, &app_stop, &app_dump);
		if (cfg.svc.stats)
			splice_stats_print(&s, stderr);
		splice_close_all(&s);
		exos_close(s.lfd);
	}
	exos_stack_close(stack);
	backends_free(&s.be);
	return err ? 1 : 0;
}
