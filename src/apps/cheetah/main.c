/* main.c - cheetah's command line: docroot, address, and the specialisations to use */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cheetah.h"
#include "http_param.h"
#include "param.h"

/* Formatted once with the defaults, so that the shared option parser can print it. */
static char usage[2048];

static void format_usage(void)
{
	snprintf(
	    usage, sizeof(usage),
	    "Usage: cheetah -r DOCROOT [-p PORT] [-a ADDR] [--socket PATH] [-t SECONDS] [-m MB]\n"
	    "               [--no-merge] [--no-precsum] [--no-prehdr] [--no-cache] [--stats]\n"
	    "               [-v] [--help]\n"
	    "Serve the files under DOCROOT over HTTP/1.0 and HTTP/1.1 (GET and HEAD, keep-alive,\n"
	    "pipelining) on the Xok/Linux library OS's low-level TCP interface, with the\n"
	    "specialisations of the paper's Cheetah (TOCS 2002, section 5.3). Hidden (dot) files\n"
	    "are never served; DOCROOT/.cheetah-sums comes from cheetah-prep.\n"
	    "\n"
	    "  -r, --root DOCROOT     directory to serve (required)\n"
	    "  -p, --port PORT        TCP port (default %d)\n"
	    "  -a, --addr ADDR        IPv4 address to listen on (default: all of the stack's)\n"
	    "  -s, --socket PATH      xokd's control socket (default $XOK_SOCKET or xokd's)\n"
	    "  -t, --timeout SECONDS  close connections idle or stalled this long (default %d)\n"
	    "  -m, --cache-mb MB      file cache capacity in MiB (default %lu)\n"
	    "      --no-merge         no packet merging: the request's ACK and the FIN go in\n"
	    "                         segments of their own\n"
	    "      --no-precsum       no precomputed checksums: the stack sums file data\n"
	    "      --no-prehdr        no precomputed headers: format each one (with a Date)\n"
	    "      --no-cache         no merged cache and retransmission pool: copy responses\n"
	    "                         into the stack's buffers through a send buffer\n"
	    "      --stats            print counters at exit, packets per request among them\n"
	    "  -v, --verbose          log checksum index loads and stale entries\n"
	    "  -h, --help             this text\n"
	    "\n"
	    "SIGINT and SIGTERM stop the server cleanly.\n",
	    CHEETAH_PORT_DEFAULT, CHEETAH_TIMEOUT_MS_DEFAULT / 1000,
	    HTTP_CACHE_CAPACITY_DEFAULT >> 20);
}

enum {
	OPT_NO_MERGE = 256,
	OPT_NO_PRECSUM,
	OPT_NO_PREHDR,
	OPT_NO_CACHE,
};

static const char short_opts[] = APP_SERVER_SHORTOPTS APP_SERVICE_SHORTOPTS;
static const struct option long_opts[] = {
    APP_SERVER_LONGOPTS,
    APP_SERVICE_LONGOPTS,
    {"no-merge", no_argument, NULL, OPT_NO_MERGE},
    {"no-precsum", no_argument, NULL, OPT_NO_PRECSUM},
    {"no-prehdr", no_argument, NULL, OPT_NO_PREHDR},
    {"no-cache", no_argument, NULL, OPT_NO_CACHE},
    {NULL, 0, NULL, 0},
};

/* One of cheetah's own options (the specialisation switches) or a shared service one;
 * 0, or the exit status for a bad one. */
static int parse_opt(int opt, struct cheetah_conf *conf)
{
	switch (opt) {
	case OPT_NO_MERGE:
		conf->merge = false;
		return 0;
	case OPT_NO_PRECSUM:
		conf->precsum = false;
		return 0;
	case OPT_NO_PREHDR:
		conf->prehdr = false;
		return 0;
	case OPT_NO_CACHE:
		conf->cache = false;
		return 0;
	default:
		return app_service_opt(opt, optarg, usage, &conf->svc) ? 2 : 0;
	}
}

static int parse_args(int argc, char **argv, struct cheetah_conf *conf)
{
	int opt, taken, err;

	format_usage();
	while ((opt = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		taken = app_server_opt("cheetah", opt, optarg, &conf->server);
		if (taken < 0)
			return 2;
		if (!taken && (err = parse_opt(opt, conf)))
			return err;
	}
	return app_server_check("cheetah", argc, argv, &conf->server) ? 2 : 0;
}

int main(int argc, char **argv)
{
	struct cheetah_conf conf = {
	    .server = {.port = CHEETAH_PORT_DEFAULT, .timeout_ms = CHEETAH_TIMEOUT_MS_DEFAULT},
	    .merge = true,
	    .precsum = true,
	    .prehdr = true,
	    .cache = true,
	};
	int err = parse_args(argc, argv, &conf);

	if (err)
		return err;
	app_signals(0);
	return server_run(&conf, &app_stop) ? 1 : 0;
}
