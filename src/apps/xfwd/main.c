/* main.c - xfwd: command line, signals, the ready line */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xfwd.h"
#include "app.h"

static const char usage[] =
    "usage: xfwd --listen ADDR:PORT --backend ADDR:PORT[,ADDR:PORT...] [--policy rr|hash]\n"
    "            [--socket PATH] [--idle S] [--linger S] [--ports LO-HI]\n"
    "            [--return-filter range|conn] [--max-conns N] [--no-merge] [--stats] [-v]...\n"
    "            [--help]\n"
    "\n"
    "xfwd forwards TCP connections to backends by rewriting packets (Ganger et al.,\n"
    "TOCS 2002, §7 \"direct forwarding\"): a client's SYN picks a backend; every frame\n"
    "of the connection then has its Ethernet and IP addresses and TCP ports rewritten,\n"
    "its checksums patched incrementally (RFC 1624), and leaves on the backend's interface\n"
    "straight from the receive ring; the backend's frames come back the same way.  xfwd\n"
    "never acknowledges anything itself: the client is acknowledged by the backend.\n"
    "\n"
    "  -l, --listen ADDR:PORT  where clients connect (ADDR: one of xokd's addresses, or\n"
    "                          0.0.0.0 for all)\n"
    "  -b, --backend LIST      comma-separated ADDR:PORT backends (repeatable); the\n"
    "                          backend sees xfwd's address on its interface as the source\n"
    "  -p, --policy P          rr (round robin, the default) or hash (of the client's\n"
    "                          4-tuple)\n"
    "  -s, --socket PATH       xokd's control socket (default $" XOK_SOCKET_ENV " or\n"
    "                          " XOK_SOCKET_DEFAULT ")\n"
    "  -i, --idle S            forget an established connection after S seconds without\n"
    "                          packets (default 600)\n"
    "  -L, --linger S          keep a finished connection (both FINs acknowledged, or a\n"
    "                          RST) S seconds for late retransmissions (default 1)\n"
    "  -P, --ports LO-HI       xfwd's ports toward the backends: an aligned power-of-two\n"
    "                          block of at least 64 ports (default 61440-65535)\n"
    "  -r, --return-filter M   range (default): one filter claims the port block;\n"
    "                          conn: one 4-tuple filter per connection\n"
    "  -m, --max-conns N       connection table size (default 65536)\n"
    "      --no-merge          forward every segment in a frame of its own; by default,\n"
    "                          where xokd offers segmentation offload, a connection's\n"
    "                          in-order segments that arrive together (checksums\n"
    "                          verified) leave as one frame the kernel cuts again at\n"
    "                          the same boundaries, as a Linux router's GRO and GSO do\n"
    "      --stats             print the counters on exit\n"
    "  -v, --verbose           more logging (-vv setup, -vvv every connection)\n"
    "  -h, --help              this text\n"
    "\n"
    "SIGUSR1 prints the counters to stderr; SIGINT and SIGTERM stop it.  Needs xokd with\n"
    "an interface toward the clients and one toward the backends (they may be the same),\n"
    "and arpd for the next hops' MAC addresses.\n";

static int log_level;

void xfwd_log(const struct xfwd *x, int level, const char *fmt, ...)
{
	va_list ap;

	(void)x;
	if (level > log_level)
		return;
	va_start(ap, fmt);
	app_vlog("xfwd", fmt, ap);
	va_end(ap);
}

static int parse_seconds(const char *opt, const char *s, uint64_t *ns)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0.001 || v > 86400.0 * 365) {
		fprintf(stderr, "xfwd: %s wants seconds (0.001 to a year): %s\n", opt, s);
		return -EINVAL;
	}
	*ns = (uint64_t)(v * 1e9);
	return 0;
}

static int parse_args(int argc, char **argv, struct xfwd_cfg *cfg, char **backends)
{
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"backend", required_argument, NULL, 'b'},
	    {"policy", required_argument, NULL, 'p'},
	    {"idle", required_argument, NULL, 'i'},
	    {"linger", required_argument, NULL, 'L'},
	    {"ports", required_argument, NULL, 'P'},
	    {"return-filter", required_argument, NULL, 'r'},
	    {"max-conns", required_argument, NULL, 'm'},
	    {"no-merge", no_argument, NULL, 'M'},
	    APP_SERVICE_LONGOPTS,
	    {0},
	};
	bool have_listen = false;
	int c;

	cfg->policy = XFWD_POLICY_RR;
	cfg->merge = true;
	cfg->retfilter = XFWD_RET_RANGE;
	cfg->port_lo = XFWD_PORTS_DEFAULT_LO;
	cfg->port_n = XFWD_PORTS_DEFAULT_HI - XFWD_PORTS_DEFAULT_LO + 1;
	cfg->max_conns = XFWD_CONNS_DEFAULT;
	cfg->idle_ns = XFWD_IDLE_S_DEFAULT * 1000000000ull;
	cfg->linger_ns = XFWD_LINGER_MS_DEFAULT * 1000000ull;
	while ((c = getopt_long(argc, argv, "l:b:p:i:L:P:r:m:" APP_SERVICE_SHORTOPTS, opts,
				NULL)) != -1) {
		switch (c) {
		case 'l':
			if (backend_parse_addr(optarg, &cfg->laddr, &cfg->lport)) {
				fprintf(stderr, "xfwd: --listen wants ADDR:PORT: %s\n", optarg);
				return -EINVAL;
			}
			have_listen = true;
			break;
		case 'b':
			if (backend_list_append(backends, optarg))
				return -ENOMEM;
			break;
		case 'p':
			if (policy_parse(optarg, &cfg->policy)) {
				fprintf(stderr, "xfwd: --policy is rr or hash: %s\n", optarg);
				return -EINVAL;
			}
			break;
		case 'i':
			if (parse_seconds("--idle", optarg, &cfg->idle_ns))
				return -EINVAL;
			break;
		case 'L':
			if (parse_seconds("--linger", optarg, &cfg->linger_ns))
				return -EINVAL;
			break;
		case 'P':
			if (ports_parse(optarg, &cfg->port_lo, &cfg->port_n)) {
				fprintf(stderr,
					"xfwd: --ports wants LO-HI, an aligned power-of-two "
					"block of at least 64 ports (e.g. 61440-65535): %s\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'r':
			if (!strcmp(optarg, "range")) {
				cfg->retfilter = XFWD_RET_RANGE;
			} else if (!strcmp(optarg, "conn")) {
				cfg->retfilter = XFWD_RET_CONN;
			} else {
				fprintf(stderr, "xfwd: --return-filter is range or conn: %s\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'm': {
			long v;

			if (app_num("xfwd", "--max-conns", optarg, 1, 1L << 24, &v))
				return -EINVAL;
			cfg->max_conns = (uint32_t)v;
			break;
		}
		case 'M':
			cfg->merge = false;
			break;
		default:
			if (app_service_opt(c, optarg, usage, &cfg->svc))
				return -EINVAL;
		}
	}
	if (app_no_operands("xfwd", argc, argv, usage))
		return -EINVAL;
	if (!have_listen || !*backends) {
		fprintf(stderr, "xfwd: --listen and --backend are required\n%s", usage);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct xfwd x;
	char *backends = NULL, lip[INET_ADDRSTRLEN];
	int err;

	setvbuf(stderr, NULL, _IOLBF, 0);
	if (parse_args(argc, argv, &x.cfg, &backends)) {
		free(backends);
		return 2;
	}
	log_level = x.cfg.svc.verbose;
	err = backend_parse_list(backends, &x.be);
	if (err) {
		fprintf(stderr,
			"xfwd: --backend wants ADDR:PORT[,ADDR:PORT...] (at most %d, no "
			"duplicates): %s\n",
			XFWD_BACKENDS_MAX, backends);
		free(backends);
		return 2;
	}
	free(backends);
	err = backends_init(&x.be, x.cfg.policy, x.cfg.port_lo, x.cfg.port_n);
	if (err) {
		fprintf(stderr, "xfwd: %s\n", strerror(-err));
		backends_free(&x.be);
		return 1;
	}
	app_signals(1);

	err = fwd_setup(&x);
	if (!err) {
		inet_ntop(AF_INET, &x.cfg.laddr, lip, sizeof(lip));
		fprintf(stderr,
			"xfwd: ready: listening on %s:%u (filter %u), %u backend%s, "
			"policy %s, return filter %s, ports %u-%u\n",
			lip, ntohs(x.cfg.lport), x.listen.id, x.be.n, x.be.n == 1 ? "" : "s",
			x.cfg.policy == XFWD_POLICY_RR ? "rr" : "hash",
			x.cfg.retfilter == XFWD_RET_RANGE ? "range" : "per connection",
			x.cfg.port_lo, x.cfg.port_lo + x.cfg.port_n - 1);
		err = fwd_run(&x, &app_stop, &app_dump);
	}
	if (x.cfg.svc.stats)
		stats_print(&x, stderr);
	fwd_close(&x);
	backends_free(&x.be);
	return err ? 1 : 0;
}
