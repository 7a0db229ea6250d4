/* main.c - xokd: command line, setup, shutdown */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kern.h"

static const char usage[] =
    "usage: xokd --iface IFACE --addr A.B.C.D/N [--iface IFACE2 --addr ...]...\n"
    "            [--gateway A.B.C.D] [--socket PATH] [--xdp-mode native|skb]\n"
    "            [--unmatched pass|drop] [--group NAME] [--force] [--busy-poll] [-v]\n"
    "\n"
    "xokd owns the given network interfaces on behalf of Xok/Linux applications: it\n"
    "attaches an XDP program and an AF_XDP socket to each, demultiplexes received frames\n"
    "with DPF filters compiled to eBPF into the applications' shared-memory packet rings,\n"
    "and transmits their frames (the Xok kernel's Table I, as a daemon).\n"
    "\n"
    "  -i, --iface IFACE      an interface to own (repeatable, up to 8); it must exist and\n"
    "                         have no XDP program attached (see --force); give it no Linux\n"
    "                         address: the applications' stack owns it\n"
    "  -a, --addr A.B.C.D/N   the libOS IPv4 address of the preceding --iface (required),\n"
    "                         reported to applications by the INFO call\n"
    "  -g, --gateway A.B.C.D  default gateway reported to applications\n"
    "  -s, --socket PATH      control socket (default " XOK_SOCKET_DEFAULT "; its directory\n"
    "                         is created; the socket is mode 0666 so any user may connect)\n"
    "  -m, --xdp-mode MODE    native (driver XDP, the default) or skb (generic XDP)\n"
    "  -u, --unmatched VERDICT  frames no filter claims: pass (to the Linux stack, the\n"
    "                         default) or drop\n"
    "  -G, --group NAME       members of this group may install copy filters and publish\n"
    "                         system tables (root always may)\n"
    "  -f, --force            replace an XDP program already attached to an interface\n"
    "  -b, --busy-poll        poll sockets and transmit queues instead of sleeping (uses a\n"
    "                         whole CPU; off by default)\n"
    "  -v, --verbose          log every connection and failed request (repeatable)\n"
    "  -h, --help             this text\n"
    "\n"
    "xokd runs in the foreground and logs to stderr.  SIGINT or SIGTERM detach its XDP\n"
    "programs and exit; if xokd dies, the kernel detaches them (they are held by bpf_links).\n"
    "Inspect it with xokctl.  Needs CAP_NET_ADMIN, CAP_BPF and CAP_NET_RAW (run as root).\n";

static int parse_addr(const char *s, uint32_t *addr, uint8_t *prefix)
{
	char buf[32], *slash, *end;
	struct in_addr in;
	long p;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	if (inet_pton(AF_INET, buf, &in) != 1)
		return -EINVAL;
	errno = 0;
	p = strtol(slash + 1, &end, 10);
	if (errno || *end || end == slash + 1 || p < 1 || p > 32)
		return -EINVAL;
	*addr = in.s_addr;
	*prefix = (uint8_t)p;
	return 0;
}

static int parse_args(int argc, char **argv, struct xokd_cfg *cfg)
{
	static const struct option opts[] = {
	    {"iface", required_argument, NULL, 'i'},	{"addr", required_argument, NULL, 'a'},
	    {"gateway", required_argument, NULL, 'g'},	{"socket", required_argument, NULL, 's'},
	    {"xdp-mode", required_argument, NULL, 'm'}, {"unmatched", required_argument, NULL, 'u'},
	    {"group", required_argument, NULL, 'G'},	{"force", no_argument, NULL, 'f'},
	    {"busy-poll", no_argument, NULL, 'b'},	{"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},		{0},
	};
	bool have_addr[XOK_IFACES_MAX] = {0};
	struct xokd_iface_cfg *ic;
	struct in_addr in;
	struct group *gr;
	uint32_t i;
	int c;

	cfg->socket_path = XOK_SOCKET_DEFAULT;
	while ((c = getopt_long(argc, argv, "i:a:g:s:m:u:G:fbvh", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (cfg->niface == XOK_IFACES_MAX) {
				fprintf(stderr, "xokd: at most %d interfaces\n", XOK_IFACES_MAX);
				return -EINVAL;
			}
			if (strlen(optarg) >= IF_NAMESIZE) {
				fprintf(stderr, "xokd: interface name too long: %s\n", optarg);
				return -EINVAL;
			}
			for (i = 0; i < cfg->niface; i++)
				if (!strcmp(cfg->ifaces[i].name, optarg)) {
					fprintf(stderr, "xokd: %s given twice\n", optarg);
					return -EINVAL;
				}
			strcpy(cfg->ifaces[cfg->niface++].name, optarg);
			break;
		case 'a':
			if (cfg->niface == 0 || have_addr[cfg->niface - 1]) {
				fprintf(stderr, "xokd: --addr must follow its --iface\n");
				return -EINVAL;
			}
			ic = &cfg->ifaces[cfg->niface - 1];
			if (parse_addr(optarg, &ic->addr, &ic->prefix_len)) {
				fprintf(stderr, "xokd: bad address (want A.B.C.D/N): %s\n", optarg);
				return -EINVAL;
			}
			have_addr[cfg->niface - 1] = true;
			break;
		case 'g':
			if (inet_pton(AF_INET, optarg, &in) != 1) {
				fprintf(stderr, "xokd: bad gateway: %s\n", optarg);
				return -EINVAL;
			}
			cfg->gateway = in.s_addr;
			break;
		case 's':
			cfg->socket_path = optarg;
			break;
		case 'm':
			if (!strcmp(optarg, "native")) {
				cfg->xdp_mode = XOKD_XDP_NATIVE;
			} else if (!strcmp(optarg, "skb")) {
				cfg->xdp_mode = XOKD_XDP_SKB;
			} else {
				fprintf(stderr, "xokd: --xdp-mode is native or skb\n");
				return -EINVAL;
			}
			break;
		case 'u':
			if (!strcmp(optarg, "pass")) {
				cfg->unmatched = DPF_UNMATCHED_PASS;
			} else if (!strcmp(optarg, "drop")) {
				cfg->unmatched = DPF_UNMATCHED_DROP;
			} else {
				fprintf(stderr, "xokd: --unmatched is pass or drop\n");
				return -EINVAL;
			}
			break;
		case 'G':
			gr = getgrnam(optarg);
			if (!gr) {
				fprintf(stderr, "xokd: no such group: %s\n", optarg);
				return -EINVAL;
			}
			cfg->have_group = true;
			cfg->group = gr->gr_gid;
			break;
		case 'f':
			cfg->force = true;
			break;
		case 'b':
			cfg->busy_poll = true;
			break;
		case 'v':
			cfg->verbose++;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "xokd: unexpected argument: %s\n", argv[optind]);
		return -EINVAL;
	}
	if (cfg->niface == 0) {
		fprintf(stderr, "xokd: no --iface given\n%s", usage);
		return -EINVAL;
	}
	for (i = 0; i < cfg->niface; i++)
		if (!have_addr[i]) {
			fprintf(stderr, "xokd: --iface %s has no --addr\n", cfg->ifaces[i].name);
			return -EINVAL;
		}
	return 0;
}

int main(int argc, char **argv)
{
	static struct xokd x;
	struct xokd_cfg cfg = {0};
	uint32_t i;
	int err;

	if (parse_args(argc, argv, &cfg))
		return 2;
	setvbuf(stderr, NULL, _IOLBF, 0);
	err = xokd_init(&x, &cfg);
	if (err) {
		xlog("main", "init: %s", strerror(-err));
		return 1;
	}
	err = ctl_probe(&x); /* before touching any interface */
	if (err)
		goto fail;
	err = loop_setup(&x);
	if (err) {
		xlog("main", "event loop setup: %s", strerror(-err));
		goto fail;
	}
	for (i = 0; i < cfg.niface; i++) {
		err = iface_open(&x, &x.ifaces[i], &cfg.ifaces[i]);
		if (err)
			goto fail;
		x.niface++;
	}
	err = filter_compile(&x); /* the empty set: every frame gets the unmatched verdict */
	if (err) {
		xlog("main", "cannot install the initial DPF program: %s", strerror(-err));
		goto fail;
	}
	err = ctl_listen(&x);
	if (err)
		goto fail;
	xlog("main", "ready: %u interface%s, %s XDP, unmatched frames %s%s", x.niface,
	     x.niface == 1 ? "" : "s", cfg.xdp_mode == XOKD_XDP_SKB ? "generic" : "native",
	     cfg.unmatched == DPF_UNMATCHED_DROP ? "dropped" : "passed to Linux",
	     cfg.busy_poll ? ", busy-polling" : "");
	err = loop_run(&x);
	xokd_fini(&x);
	xlog("main", "stopped");
	return err ? 1 : 0;
fail:
	xokd_fini(&x);
	return 1;
}
