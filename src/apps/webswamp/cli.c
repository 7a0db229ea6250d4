/* cli.c - the command line and main program shared by webswamp, sockclient, sockclient-linux */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xok/abi.h>

#include "cli.h"
#include "param.h"
#include "report.h"

enum {
	OPT_DRIVER = 0x100,
	OPT_DOCSET,
	OPT_KEEPALIVE,
	OPT_MERGE,
	OPT_NO_CKSUM,
	OPT_THINK,
	OPT_SEED,
	OPT_TIMEOUT,
	OPT_JSON,
	OPT_TRACE,
	OPT_SOCKET,
};

static const struct option long_opts[] = {
    {"connections", required_argument, NULL, 'c'},
    {"duration", required_argument, NULL, 'd'},
    {"driver", required_argument, NULL, OPT_DRIVER},
    {"docset", required_argument, NULL, OPT_DOCSET},
    {"keepalive", no_argument, NULL, OPT_KEEPALIVE},
    {"merge", no_argument, NULL, OPT_MERGE},
    {"no-cksum", no_argument, NULL, OPT_NO_CKSUM},
    {"think", required_argument, NULL, OPT_THINK},
    {"seed", required_argument, NULL, OPT_SEED},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"trace", required_argument, NULL, OPT_TRACE},
    {"socket", required_argument, NULL, OPT_SOCKET},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *f, const struct swamp_transport_desc *desc)
{
	/* Options only the libOS's low-level TCP API can honour: say so where they are refused. */
	const char *merge = desc->caps & SWAMP_CAP_MERGE ? "" : " (not here)";
	const char *no_cksum = desc->caps & SWAMP_CAP_NO_CKSUM ? "" : " (not here)";
	const char *xok = desc->caps & SWAMP_CAP_XOK ? "" : " (not here)";

	fprintf(
	    f,
	    "Usage: %s [OPTIONS] URL\n"
	    "HTTP load generator (the webswamp core of Ganger et al., TOCS 2002, §6) over\n"
	    "%s.\n"
	    "CONNS emulated clients, each in a closed loop: think, connect, send GET, count the\n"
	    "response (checked against Content-Length or chunked framing), close.\n"
	    "URL is http://HOST[:PORT][/path]; HOST is %s.\n\n"
	    "  -c, --connections N  concurrent emulated clients (default %d)\n"
	    "  -d, --duration T     test length: seconds, or with s/ms/m (default %ds)\n"
	    "      --driver NAME    %s (default fixed):\n"
	    "                         fixed: the URL over and over, think --think ms (default 0)\n"
	    "                         surge: Zipf-popular documents of --docset, Pareto think\n"
	    "                         times with scale --think ms (default %d)\n"
	    "      --docset FILE    document set written by webswamp-gen (surge; the URL path\n"
	    "                       is prepended to every document path)\n"
	    "      --keepalive      HTTP/1.1 persistent connections (default: HTTP/1.0, one\n"
	    "                       connection per request)\n"
	    "      --merge          knowledge-based packet merging: ACKs ride on the request and\n"
	    "                       on our FIN.  It needs the libOS low-level TCP API, so only\n"
	    "                       webswamp accepts it%s\n"
	    "      --no-cksum       skip checksum verification of received packets (webswamp\n"
	    "                       only, like --merge)%s\n"
	    "      --think MS       think time in milliseconds (see --driver)\n"
	    "      --seed N         seed of the driver's random streams (default 1)\n"
	    "      --timeout MS     a request not complete after MS ms is an error (default %d)\n"
	    "      --trace FILE     log every request handed out: CLIENT SEQ THINK_NS PATH\n"
	    "      --socket PATH    xokd's control socket (libOS clients; default $%s or\n"
	    "                       %s)%s\n"
	    "      --json           print the results as JSON instead of wrk's text\n"
	    "  -h, --help           this text\n\n"
	    "Latency runs from the start of a request (its connect, for HTTP/1.0) to the last\n"
	    "byte of its response.  At the end, requests in flight are allowed to finish (up to\n"
	    "--timeout), so the counts match what the server served.\n",
	    desc->prog, desc->what,
	    (desc->caps & SWAMP_CAP_RESOLVE) ? "an IPv4 address or a host name"
					     : "a dotted IPv4 address",
	    SWAMP_CONNS_DEFAULT, SWAMP_DURATION_S_DEFAULT, swamp_driver_names,
	    SWAMP_SURGE_THINK_MS_DEFAULT, merge, no_cksum, SWAMP_TIMEOUT_MS_DEFAULT, XOK_SOCKET_ENV,
	    XOK_SOCKET_DEFAULT, xok);
}

__attribute__((format(printf, 2, 3))) static int bad(const struct swamp_transport_desc *desc,
						     const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", desc->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see --help)\n");
	return -EINVAL;
}

int swamp_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_double(const char *s, double max, double *out, char **rest)
{
	char *end;
	double v;

	if ((*s < '0' || *s > '9') && *s != '.')
		return -EINVAL;
	v = strtod(s, &end);
	if (end == s || !isfinite(v) || v < 0 || v > max || (!rest && *end))
		return -EINVAL;
	if (rest)
		*rest = end;
	*out = v;
	return 0;
}

/* "5", "2.5s", "500ms", "1m". */
static int parse_duration(const char *s, uint64_t *ns)
{
	double v, scale;
	char *unit;

	if (parse_double(s, 1e12, &v, &unit))
		return -EINVAL;
	if (!*unit || !strcmp(unit, "s"))
		scale = 1e9;
	else if (!strcmp(unit, "ms"))
		scale = 1e6;
	else if (!strcmp(unit, "m"))
		scale = 60e9;
	else
		return -EINVAL;
	if (v * scale > SWAMP_DURATION_S_MAX * 1e9 || v * scale < 1e6)
		return -EINVAL;
	*ns = (uint64_t)(v * scale);
	return 0;
}

static void opts_default(struct swamp_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->conns = SWAMP_CONNS_DEFAULT;
	o->duration_ns = SWAMP_DURATION_S_DEFAULT * 1000000000ULL;
	o->timeout_ns = SWAMP_TIMEOUT_MS_DEFAULT * 1000000ULL;
	o->think_ms = -1;
	o->seed = 1;
	o->driver = "fixed";
}

static int parse_one(int opt, const char *arg, const struct swamp_transport_desc *desc,
		     struct swamp_opts *o)
{
	const char *libos = "needs the libOS low-level TCP API: use webswamp";
	uint64_t v;
	double ms;

	switch (opt) {
	case 'c':
		if (swamp_parse_u64(arg, SWAMP_CONNS_MAX, &v) || !v)
			return bad(desc, "-c: '%s' is not a count 1-%d", arg, SWAMP_CONNS_MAX);
		o->conns = (uint32_t)v;
		return 0;
	case 'd':
		if (parse_duration(arg, &o->duration_ns))
			return bad(desc, "-d: '%s' is not a duration (1ms-24h; 5, 2.5s, 500ms, 1m)",
				   arg);
		return 0;
	case OPT_DRIVER:
		o->driver = arg;
		return 0;
	case OPT_DOCSET:
		o->docset = arg;
		return 0;
	case OPT_KEEPALIVE:
		o->keepalive = true;
		return 0;
	case OPT_MERGE:
		if (!(desc->caps & SWAMP_CAP_MERGE))
			return bad(desc, "--merge %s", libos);
		o->merge = true;
		return 0;
	case OPT_NO_CKSUM:
		if (!(desc->caps & SWAMP_CAP_NO_CKSUM))
			return bad(desc, "--no-cksum %s", libos);
		o->no_cksum = true;
		return 0;
	case OPT_THINK:
		if (parse_double(arg, 3600e3, &ms, NULL))
			return bad(desc, "--think: '%s' is not milliseconds (0-3600000)", arg);
		o->think_ms = ms;
		return 0;
	case OPT_SEED:
		if (swamp_parse_u64(arg, UINT64_MAX, &o->seed))
			return bad(desc, "--seed: '%s' is not an unsigned 64-bit number", arg);
		return 0;
	case OPT_TIMEOUT:
		if (swamp_parse_u64(arg, 3600000, &v) || !v)
			return bad(desc, "--timeout: '%s' is not milliseconds (1-3600000)", arg);
		o->timeout_ns = v * 1000000ULL;
		return 0;
	case OPT_JSON:
		o->json = true;
		return 0;
	case OPT_TRACE:
		o->trace = arg;
		return 0;
	case OPT_SOCKET:
		if (!(desc->caps & SWAMP_CAP_XOK))
			return bad(desc, "--socket: this client does not use xokd");
		o->xok_socket = arg;
		return 0;
	default:
		return bad(desc, "unknown option");
	}
}

int swamp_cli_parse(int argc, char **argv, const struct swamp_transport_desc *desc,
		    struct swamp_opts *o)
{
	int opt, rc;

	opts_default(o);
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":c:d:h", long_opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout, desc);
			return 1;
		}
		if (opt == ':')
			return bad(desc, "option '%s' needs a value", argv[optind - 1]);
		if (opt == '?')
			return bad(desc, "unknown option '%s'", argv[optind - 1]);
		rc = parse_one(opt, optarg, desc, o);
		if (rc)
			return rc;
	}
	if (optind == argc)
		return bad(desc, "no URL given");
	if (optind + 1 < argc)
		return bad(desc, "one URL only ('%s' is extra)", argv[optind + 1]);
	o->url = argv[optind];
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	swamp_interrupt();
}

/* No SA_RESTART: the transport's wait must return so the core notices the stop. */
static void signals_setup(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int main_run(const struct swamp_transport_desc *desc, const struct swamp_opts *o,
		    struct swamp_transport *t, struct swamp_driver *d)
{
	struct swamp_report rep = {.prog = desc->prog, .driver = o->driver, .o = o};
	struct swamp *s;
	int rc = swamp_create(o, d, t, &s);

	if (rc) {
		fprintf(stderr, "%s: %s%s\n", desc->prog,
			rc == -ENOMEM ? "" : "--trace: ", strerror(-rc));
		return 1;
	}
	rc = swamp_run(s);
	if (rc)
		fprintf(stderr, "%s: run aborted: %s\n", desc->prog, strerror(-rc));
	rep.st = swamp_stats(s);
	if (o->json)
		swamp_report_json(stdout, &rep);
	else
		swamp_report_text(stdout, &rep);
	swamp_destroy(s);
	return rc ? 1 : 0;
}

/* The transport comes first: the driver formats its requests into the transport's memory. */
static int main_driver(const struct swamp_transport_desc *desc, const struct swamp_opts *o,
		       const struct swamp_url *u, struct swamp_transport *t,
		       struct swamp_driver **d)
{
	char err[512] = "";
	struct swamp_driver_params dp = {
	    .name = o->driver,
	    .url = u,
	    .keepalive = o->keepalive,
	    .clients = o->conns,
	    .seed = o->seed,
	    .think_ms = o->think_ms,
	    .docset = o->docset,
	    .mem = t->mem.alloc ? &t->mem : NULL,
	    .err = err,
	    .errlen = sizeof(err),
	};
	int rc = swamp_driver_create(&dp, d);

	if (rc)
		fprintf(stderr, "%s: driver %s: %s\n", desc->prog, o->driver,
			err[0] ? err : strerror(-rc));
	return rc;
}

int swamp_main(int argc, char **argv, const struct swamp_transport_desc *desc)
{
	struct swamp_transport *t;
	struct swamp_driver *d;
	struct swamp_opts o;
	struct swamp_url u;
	const char *why = NULL;
	int rc = swamp_cli_parse(argc, argv, desc, &o);

	if (rc)
		return rc > 0 ? 0 : 2;
	rc = swamp_url_parse(o.url, desc->caps & SWAMP_CAP_RESOLVE, &u, &why);
	if (rc) {
		fprintf(stderr, "%s: %s: %s\n", desc->prog, o.url, why);
		return 2;
	}
	if (desc->create(&o, &u, &t))
		return 1; /* the transport said why */
	rc = main_driver(desc, &o, &u, t, &d);
	if (rc) {
		t->ops->destroy(t);
		return rc == -EINVAL ? 2 : 1;
	}
	signals_setup();
	rc = main_run(desc, &o, t, d);
	swamp_driver_destroy(d);
	t->ops->destroy(t);
	return rc;
}
