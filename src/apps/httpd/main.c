/* main.c - command line of httpd-linux (Linux sockets) and httpd (libexos sockets) */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "http_param.h"
#include "httpd_param.h"
#include "server.h"
#include "sockops.h"

#ifndef HTTPD_PROG
#define HTTPD_PROG "httpd"
#endif

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: " HTTPD_PROG " -r DOCROOT [-p PORT] [-a ADDR] [-t SECONDS] [-m MB] [-q]\n"
	    "Serve the files under DOCROOT over HTTP/1.0 and HTTP/1.1 (GET and HEAD,\n"
	    "keep-alive, pipelining) from a single-threaded non-blocking event loop.\n"
	    "Files are cached in memory; hidden (dot) files are never served.\n"
	    "\n"
	    "  -r, --root DOCROOT     directory to serve (required)\n"
	    "  -p, --port PORT        TCP port (default %d)\n"
	    "  -a, --addr ADDR        numeric IPv4/IPv6 address to listen on (default 0.0.0.0)\n"
	    "  -t, --timeout SECONDS  close connections idle or stalled this long (default %d)\n"
	    "  -m, --cache-mb MB      file cache capacity in MiB (default %lu)\n"
	    "  -q, --quiet            no start and exit messages\n"
	    "  -h, --help             this text\n"
	    "\n"
	    "SIGINT and SIGTERM stop the server cleanly.\n",
	    HTTPD_PORT_DEFAULT, HTTPD_TIMEOUT_MS_DEFAULT / 1000, HTTP_CACHE_CAPACITY_DEFAULT >> 20);
}

static int parse_args(int argc, char **argv, struct httpd_conf *conf)
{
	static const struct option opts[] = {
	    APP_SERVER_LONGOPTS,
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt, taken;

	while ((opt = getopt_long(argc, argv, APP_SERVER_SHORTOPTS "qh", opts, NULL)) != -1) {
		taken = app_server_opt(HTTPD_PROG, opt, optarg, &conf->server);
		if (taken < 0)
			return 2;
		if (taken)
			continue;
		switch (opt) {
		case 'q':
			conf->quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	return app_server_check(HTTPD_PROG, argc, argv, &conf->server) ? 2 : 0;
}

int main(int argc, char **argv)
{
	struct httpd_conf conf = {
	    .prog = HTTPD_PROG,
	    .server = {.addr = "0.0.0.0",
		       .port = HTTPD_PORT_DEFAULT,
		       .timeout_ms = HTTPD_TIMEOUT_MS_DEFAULT},
	};
	int err = parse_args(argc, argv, &conf);

	if (err)
		return err;
	err = sock_init();
	if (err) {
		fprintf(stderr, HTTPD_PROG ": socket setup: %s%s\n", strerror(-err),
			sock_init_hint());
		return 1;
	}
	app_signals(0);
	return httpd_run(&conf, &app_stop) ? 1 : 0;
}
