/* app.c - see app.h */
#include "app.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

volatile sig_atomic_t app_stop, app_dump;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		app_dump = 1;
	else
		app_stop = 1;
}

void app_signals(int dump)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (dump)
		sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int app_num(const char *prog, const char *what, const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	/* strtol would also take leading blanks and a '+': a number here is digits only */
	bool digits = (*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' && s[1] <= '9');

	errno = 0;
	v = strtol(s, &end, 10);
	if (!digits || errno || *end || v < min || v > max) {
		fprintf(stderr, "%s: invalid %s '%s' (expected %ld..%ld)\n", prog, what, s, min,
			max);
		return -1;
	}
	*out = v;
	return 0;
}

int app_no_operands(const char *prog, int argc, char **argv, const char *usage)
{
	if (optind >= argc)
		return 0;
	fprintf(stderr, "%s: unexpected argument '%s'\n%s", prog, argv[optind], usage ? usage : "");
	return -1;
}

int app_check_dir(const char *prog, const char *what, const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0) {
		fprintf(stderr, "%s: %s '%s': %s\n", prog, what, dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: %s '%s': not a directory\n", prog, what, dir);
		return -1;
	}
	return 0;
}

uint32_t app_prefix_mask(unsigned prefix_len)
{
	return prefix_len ? htonl(~0u << (32 - prefix_len)) : 0;
}

int app_service_opt(int c, const char *arg, const char *usage, struct app_service_opts *o)
{
	switch (c) {
	case 's':
		o->socket = arg;
		return 0;
	case 'S':
		o->stats = true;
		return 0;
	case 'v':
		o->verbose++;
		return 0;
	case 'h':
		fputs(usage, stdout);
		exit(0);
	default:
		fputs(usage, stderr);
		return -1;
	}
}

int app_server_opt(const char *prog, int c, const char *arg, struct app_server_opts *o)
{
	long v;

	switch (c) {
	case 'r':
		o->docroot = arg;
		return 1;
	case 'p':
		if (app_num(prog, "port", arg, 1, 65535, &v))
			return -1;
		o->port = (uint16_t)v;
		return 1;
	case 'a':
		o->addr = arg;
		return 1;
	case 't':
		if (app_num(prog, "timeout", arg, 1, 86400, &v))
			return -1;
		o->timeout_ms = (unsigned)v * 1000;
		return 1;
	case 'm':
		if (app_num(prog, "cache size", arg, 1, 1L << 20, &v))
			return -1;
		o->cache_bytes = (size_t)v << 20;
		return 1;
	default:
		return 0;
	}
}

int app_server_check(const char *prog, int argc, char **argv, const struct app_server_opts *o)
{
	if (app_no_operands(prog, argc, argv, NULL))
		return -1;
	if (!o->docroot) {
		fprintf(stderr, "%s: missing -r DOCROOT (see --help)\n", prog);
		return -1;
	}
	return app_check_dir(prog, "docroot", o->docroot);
}

void app_vlog(const char *prog, const char *fmt, va_list ap)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "%s: ", prog);

	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}
