/* main.c - cheetah's command line: docroot, address, and the specialisations to use */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cheetah.h"
#include "http_param.h"
#include "param.h"

static void usage(FILE *out)
{
	fprintf(
	    out,
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
	OPT_STATS,
};

static const struct option long_opts[] = {
    {"root", required_argument, NULL, 'r'},
    {"port", required_argument, NULL, 'p'},
    {"addr", required_argument, NULL, 'a'},
    {"socket", required_argument, NULL, 's'},
    {"timeout", required_argument, NULL, 't'},
    {"cache-mb", required_argument, NULL, 'm'},
    {"no-merge", no_argument, NULL, OPT_NO_MERGE},
    {"no-precsum", no_argument, NULL, OPT_NO_PRECSUM},
    {"no-prehdr", no_argument, NULL, OPT_NO_PREHDR},
    {"no-cache", no_argument, NULL, OPT_NO_CACHE},
    {"stats", no_argument, NULL, OPT_STATS},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One option; 0, or the exit status for a bad one. */
static int parse_opt(int opt, struct cheetah_conf *conf)
{
	long v;

	switch (opt) {
	case 'r':
		conf->docroot = optarg;
		break;
	case 'p':
		if (app_num("cheetah", "port", optarg, 1, 65535, &v))
			return 2;
		conf->port = (uint16_t)v;
		break;
	case 'a':
		conf->addr = optarg;
		break;
	case 's':
		conf->socket = optarg;
		break;
	case 't':
		if (app_num("cheetah", "timeout", optarg, 1, 86400, &v))
			return 2;
		conf->timeout_ms = (unsigned)v * 1000;
		break;
	case 'm':
		if (app_num("cheetah", "cache size", optarg, 1, 1L << 20, &v))
			return 2;
		conf->cache_bytes = (size_t)v << 20;
		break;
	case OPT_NO_MERGE:
		conf->merge = false;
		break;
	case OPT_NO_PRECSUM:
		conf->precsum = false;
		break;
	case OPT_NO_PREHDR:
		conf->prehdr = false;
		break;
	case OPT_NO_CACHE:
		conf->cache = false;
		break;
	case OPT_STATS:
		conf->stats = true;
		break;
	case 'v':
		conf->verbose++;
		break;
	case 'h':
		usage(stdout);
		exit(0);
	default:
		usage(stderr);
		return 2;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct cheetah_conf *conf)
{
	int opt, err;

	while ((opt = getopt_long(argc, argv, "r:p:a:s:t:m:vh", long_opts, NULL)) != -1)
		if ((err = parse_opt(opt, conf)))
			return err;
	if (app_no_operands("cheetah", argc, argv, NULL))
		return 2;
	if (!conf->docroot) {
		fprintf(stderr, "cheetah: missing -r DOCROOT (see --help)\n");
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cheetah_conf conf = {
	    .port = CHEETAH_PORT_DEFAULT,
	    .timeout_ms = CHEETAH_TIMEOUT_MS_DEFAULT,
	    .merge = true,
	    .precsum = true,
	    .prehdr = true,
	    .cache = true,
	};
	int err = parse_args(argc, argv, &conf);

	if (err)
		return err;
	if (app_check_dir("cheetah", "docroot", conf.docroot))
		return 2;
	app_signals(0);
	return server_run(&conf, &app_stop) ? 1 : 0;
}
