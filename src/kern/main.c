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
    "            [--unmatched pass|drop] [--group NAME] [--force] [--busy-poll]\n"
    "            [--unchecked-tx] [--no-gso] [--limit KEY=N,...] [--tx-quantum BYTES]\n"
    "            [--tx-weight uid=UID:W|comm=NAME:W]... [--impair SPEC] [-v]\n"
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
    "  -U, --unchecked-tx     transmit frames unchecked, as the paper's Xok did; by default\n"
    "                         xokd checks every frame's headers after copying it: Ethernet\n"
    "                         source = the interface's MAC, IPv4 source = its address, and\n"
    "                         a filter the sender holds must match the reply (the sender\n"
    "                         speaks only as itself; see include/xok/abi.h)\n"
    "  -O, --no-gso           offer no TCP segmentation offload: every frame an application\n"
    "                         sends is at most an MTU, as on a wire without TSO (by default\n"
    "                         large TCP frames leave through a packet socket and the kernel\n"
    "                         segments them)\n"
    "  -l, --limit KEY=N,...  per-application limits, KEY one of: regions (default 64, at\n"
    "                         most 64), bytes (of all its regions, default 1 GiB; suffixes\n"
    "                         k, m, g), rings (64), filters (1024), txq (frames in flight,\n"
    "                         1024), rps (control requests per second, 20000; 0 = no limit).\n"
    "                         Over a limit a request fails with -EDQUOT (-EAGAIN for txq\n"
    "                         and rps), logged once per app\n"
    "  -q, --tx-quantum BYTES  deficit round robin quantum: bytes an app may send per turn\n"
    "                         at weight 1 (default 4096)\n"
    "  -w, --tx-weight uid=UID:W | comm=NAME:W\n"
    "                         transmit weight (1..1000, default 1) of the apps of a user or\n"
    "                         of processes named NAME; repeatable, the last match wins\n"
    "  -I, --impair SPEC      impair frames inside xokd, for testing:\n"
    "                         SPEC is drop=P,dup=P,reorder=P (percent), delay=US\n"
    "                         (microseconds), rate=MBIT (a bottleneck of MBIT Mbit/s),\n"
    "                         gap=K (a reordered frame lets K pass, default 3), seed=N\n"
    "                         (PRNG seed, default 1), dir=rx|tx|both (the directions\n"
    "                         impaired, default both; segmentation offload is offered\n"
    "                         only while transmission is not impaired); any subset\n"
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

static int parse_u64(const char *v, uint64_t max, bool suffix, uint64_t *out)
{
	unsigned long long n;
	char *end;

	errno = 0;
	if (*v < '0' || *v > '9')
		return -EINVAL;
	n = strtoull(v, &end, 10);
	if (errno)
		return -EINVAL;
	if (suffix && *end) {
		int sh = *end == 'k' ? 10 : *end == 'm' ? 20 : *end == 'g' ? 30 : -1;

		if (sh < 0 || end[1] || n > (max >> sh))
			return -EINVAL;
		n <<= sh;
		end++;
	}
	if (*end || n > max)
		return -EINVAL;
	*out = n;
	return 0;
}

static int parse_limits(const char *spec, struct xokd_limits *l)
{
	char buf[256], *tok, *save = NULL;

	if (strlen(spec) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *v = strchr(tok, '=');
		uint64_t n;

		if (!v)
			return -EINVAL;
		*v++ = 0;
		if (!strcmp(tok, "bytes")) {
			if (parse_u64(v, 1ull << 46, true, &n) || n == 0)
				return -EINVAL;
			l->bytes = n;
			continue;
		}
		if (parse_u64(v, XOK_LIMIT_MAX, false, &n))
			return -EINVAL;
		if (!strcmp(tok, "rps")) {
			l->rps = (uint32_t)n;
			continue;
		}
		if (n == 0)
			return -EINVAL;
		if (!strcmp(tok, "regions") && n <= XOK_APP_REGIONS_MAX)
			l->regions = (uint32_t)n;
		else if (!strcmp(tok, "rings"))
			l->rings = (uint32_t)n;
		else if (!strcmp(tok, "filters"))
			l->filters = (uint32_t)n;
		else if (!strcmp(tok, "txq"))
			l->txq = (uint32_t)n;
		else
			return -EINVAL;
	}
	return 0;
}

static int parse_weight(const char *spec, struct xokd_cfg *cfg)
{
	struct xokd_weight *w;
	const char *colon = strrchr(spec, ':');
	uint64_t n;
	size_t klen;

	if (cfg->nweights == XOK_TX_WEIGHTS_MAX || !colon ||
	    parse_u64(colon + 1, XOK_TX_WEIGHT_MAX, false, &n) || n == 0)
		return -EINVAL;
	w = &cfg->weights[cfg->nweights];
	memset(w, 0, sizeof(*w));
	w->weight = (uint32_t)n;
	if (!strncmp(spec, "uid=", 4)) {
		char num[16];

		klen = (size_t)(colon - spec - 4);
		if (klen == 0 || klen >= sizeof(num))
			return -EINVAL;
		memcpy(num, spec + 4, klen);
		num[klen] = 0;
		if (parse_u64(num, UINT32_MAX - 1, false, &n))
			return -EINVAL;
		w->by_uid = true;
		w->uid = (uid_t)n;
	} else if (!strncmp(spec, "comm=", 5)) {
		klen = (size_t)(colon - spec - 5);
		if (klen == 0 || klen >= sizeof(w->comm))
			return -EINVAL;
		memcpy(w->comm, spec + 5, klen);
	} else {
		return -EINVAL;
	}
	cfg->nweights++;
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
	    {"help", no_argument, NULL, 'h'},		{"unchecked-tx", no_argument, NULL, 'U'},
	    {"limit", required_argument, NULL, 'l'},	{"tx-quantum", required_argument, NULL, 'q'},
	    {"tx-weight", required_argument, NULL, 'w'}, {"impair", required_argument, NULL, 'I'},
	    {"no-gso", no_argument, NULL, 'O'},
	    {0},
	};
	uint64_t n;
	bool have_addr[XOK_IFACES_MAX] = {0};
	struct xokd_iface_cfg *ic;
	struct in_addr in;
	struct group *gr;
	uint32_t i;
	int c;

	cfg->socket_path = XOK_SOCKET_DEFAULT;
	cfg->limits.rps = XOK_APP_CTL_RPS;
	while ((c = getopt_long(argc, argv, "i:a:g:s:m:u:G:fbvhUOl:q:w:I:", opts, NULL)) != -1) {
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
		case 'U':
			cfg->unchecked_tx = true;
			break;
		case 'O':
			cfg->no_gso = true;
			break;
		case 'l':
			if (parse_limits(optarg, &cfg->limits)) {
				fprintf(stderr,
					"xokd: bad --limit (want regions=1..%d, bytes=N[kmg], "
					"rings=N, filters=N, txq=N, rps=N): %s\n",
					XOK_APP_REGIONS_MAX, optarg);
				return -EINVAL;
			}
			break;
		case 'q':
			if (parse_u64(optarg, XOK_TX_QUANTUM_MAX, false, &n) || n < 64) {
				fprintf(stderr, "xokd: --tx-quantum is 64..%u bytes\n",
					XOK_TX_QUANTUM_MAX);
				return -EINVAL;
			}
			cfg->tx_quantum = (uint32_t)n;
			break;
		case 'w':
			if (parse_weight(optarg, cfg)) {
				fprintf(stderr,
					"xokd: bad --tx-weight (want uid=UID:W or comm=NAME:W, W "
					"1..%d, at most %d rules): %s\n",
					XOK_TX_WEIGHT_MAX, XOK_TX_WEIGHTS_MAX, optarg);
				return -EINVAL;
			}
			break;
		case 'I':
			if (impair_parse(optarg, &cfg->impair)) {
				fprintf(stderr,
					"xokd: bad --impair (want drop=P,dup=P,reorder=P,delay=US,"
					"rate=MBIT,gap=K,seed=N,dir=rx|tx|both): %s\n",
					optarg);
				return -EINVAL;
			}
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
	if (cfg.impair.on)
		xlog("main",
		     "IMPAIRING every frame: drop %.2f%%, dup %.2f%%, reorder %.2f%% (gap %u), "
		     "delay %u us, rate %u Mbit/s (0: unlimited), seed %llu; frames %s",
		     cfg.impair.drop / 1e4, cfg.impair.dup / 1e4, cfg.impair.reorder / 1e4,
		     cfg.impair.gap, cfg.impair.delay_us, cfg.impair.rate_mbit,
		     (unsigned long long)cfg.impair.seed,
		     cfg.impair.rx && cfg.impair.tx ? "received and sent"
		     : cfg.impair.rx		    ? "received only"
						    : "sent only");
	xlog("main",
	     "ready: %u interface%s, %s XDP, unmatched frames %s, %s transmission, "
	     "limits regions=%u bytes=%llu rings=%u filters=%u txq=%u rps=%u%s",
	     x.niface, x.niface == 1 ? "" : "s",
	     cfg.xdp_mode == XOKD_XDP_SKB ? "generic" : "native",
	     cfg.unmatched == DPF_UNMATCHED_DROP ? "dropped" : "passed to Linux",
	     cfg.unchecked_tx ? "UNCHECKED" : "checked", x.cfg.limits.regions,
	     (unsigned long long)x.cfg.limits.bytes, x.cfg.limits.rings, x.cfg.limits.filters,
	     x.cfg.limits.txq, x.cfg.limits.rps, cfg.busy_poll ? ", busy-polling" : "");
	err = loop_run(&x);
	xokd_fini(&x);
	xlog("main", "stopped");
	return err ? 1 : 0;
fail:
	xokd_fini(&x);
	return 1;
}
