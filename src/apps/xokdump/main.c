/* main.c - xokdump: tcpdump for Xok/Linux; the command line, signals and -d */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xokdump.h"

#define XOKDUMP_VERSION "0.1.0"

static volatile sig_atomic_t stop_requested;

struct args {
	struct capture_opts cap;
	bool list_filters;  /* -d */
	bool line_buffered; /* -l */
	char *expr_text;
};

static const char usage_text[] =
	"Usage: xokdump [-deltnUv] [-i IFACE] [-c COUNT] [-w FILE] [-s SNAPLEN]\n"
	"               [--socket PATH] [EXPRESSION]\n"
	"Print or save the frames xokd receives, through DPF copy filters.\n"
	"\n"
	"  -i, --interface IFACE  only frames received on IFACE (default: all of xokd's)\n"
	"  -c COUNT               exit after COUNT matching frames\n"
	"  -w FILE                write frames to a pcap FILE ('-' = stdout), print nothing\n"
	"  -s SNAPLEN             keep SNAPLEN bytes of each frame (0 = 262144, the default)\n"
	"  -n                     numeric output (always: xokdump resolves no names)\n"
	"  -e                     print the link-level header\n"
	"  -t                     no timestamp\n"
	"  -l                     line-buffered standard output\n"
	"  -U                     flush the -w file after every frame\n"
	"  -v                     report the expression and the copy filters installed\n"
	"  -d                     print the compiled copy filters and exit\n"
	"      --socket PATH      xokd's control socket (default $XOK_SOCKET, else\n"
	"                         /run/xok/xokd.sock)\n"
	"  -h, --help             this help;  --version: the version\n"
	"\n"
	"EXPRESSION (pcap-filter subset; 'and' and 'or' have equal precedence):\n"
	"  ip | arp | tcp | udp | icmp | ip proto N\n"
	"  [ip|arp] [src|dst] host A | [ip|arp] [src|dst] net A/LEN\n"
	"  [tcp|udp] [src|dst] port N\n"
	"  EXPR and EXPR | EXPR or EXPR | not EXPR | ( EXPR )\n"
	"Copy filters need root or membership in xokd's --group.  See xokdump(1).\n";

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* No SA_RESTART: a signal must interrupt the wait for frames. */
static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int parse_number(const char *opt, const char *s, unsigned long long max,
			unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || *out > max) {
		fprintf(stderr, "xokdump: invalid %s '%s'\n", opt, s);
		return -EINVAL;
	}
	return 0;
}

enum { OPT_SOCKET = 256, OPT_VERSION };

static const struct option long_opts[] = {
	{ "interface", required_argument, NULL, 'i' },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* Options with an argument; returns 0 or -EINVAL. */
static int parse_value_opt(struct args *a, int opt, const char *arg)
{
	unsigned long long v;

	switch (opt) {
	case 'c':
		if (parse_number("count", arg, UINT64_MAX, &v))
			return -EINVAL;
		if (v == 0) {
			fprintf(stderr, "xokdump: invalid count '%s'\n", arg);
			return -EINVAL;
		}
		a->cap.count = v;
		break;
	case 's':
		if (parse_number("snaplen", arg, XD_SNAPLEN_DEFAULT, &v))
			return -EINVAL;
		a->cap.snaplen = v ? (unsigned)v : XD_SNAPLEN_DEFAULT;
		break;
	case 'i':
		a->cap.iface = arg;
		break;
	case 'w':
		a->cap.wfile = arg;
		break;
	default: /* OPT_SOCKET */
		a->cap.socket = arg;
	}
	return 0;
}

/* Handles one option; returns 0, 1 (exit successfully) or -EINVAL. */
static int parse_opt(struct args *a, int opt, const char *arg)
{
	switch (opt) {
	case 'c':
	case 's':
	case 'i':
	case 'w':
	case OPT_SOCKET:
		return parse_value_opt(a, opt, arg);
	case 'd':
		a->list_filters = true;
		break;
	case 'e':
		a->cap.print.ether = true;
		break;
	case 't':
		a->cap.print.no_time = true;
		break;
	case 'l':
		a->line_buffered = true;
		break;
	case 'U':
		a->cap.packet_buffered = true;
		break;
	case 'v':
		a->cap.verbose++;
		break;
	case 'n':
		break; /* numeric is all xokdump knows */
	case 'h':
		fputs(usage_text, stdout);
		return 1;
	case OPT_VERSION:
		puts("xokdump " XOKDUMP_VERSION);
		return 1;
	default:
		fprintf(stderr, "Try 'xokdump --help'.\n");
		return -EINVAL;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	int opt, rc;

	memset(a, 0, sizeof(*a));
	a->cap.snaplen = XD_SNAPLEN_DEFAULT;
	/* Options may follow the expression's words, as with tcpdump. */
	while ((opt = getopt_long(argc, argv, "c:dehi:lns:tUvw:", long_opts, NULL)) != -1) {
		rc = parse_opt(a, opt, optarg);
		if (rc)
			return rc;
	}
	a->expr_text = expr_join(argc - optind, argv + optind);
	if (!a->expr_text) {
		fprintf(stderr, "xokdump: expression longer than %d characters\n",
			XD_EXPR_MAX_LEN);
		return -EINVAL;
	}
	return 0;
}

static void report_syntax_error(const char *text, const struct expr_error *err)
{
	unsigned col = err->pos ? err->pos : (unsigned)strlen(text) + 1;

	fprintf(stderr, "xokdump: syntax error: %s\n", err->msg);
	if (!*text)
		return;
	fprintf(stderr, "  %s\n  %*s^\n", text, (int)col - 1, "");
}

/* -d: what would be installed, without asking xokd. */
static void list_filters(const struct expr *e, const struct xd_filters *xf)
{
	char buf[4096];

	expr_format(e, buf, sizeof(buf));
	printf("expression: %s\n", buf);
	printf("%u copy filter%s, %s\n", xf->n, xf->n == 1 ? "" : "s",
	       xf->n == 0 ? "the expression matches no frame"
	       : xf->exact ? "exact" : "wider than the expression (it is applied in userspace)");
	for (unsigned i = 0; i < xf->n; i++) {
		xd_filter_format(&xf->f[i], true, buf, sizeof(buf));
		printf("filter %u:\n%s", i, buf);
	}
}

static int compile_expression(const struct args *a, struct expr **e, struct xd_filters *xf)
{
	struct expr_error err;
	char buf[4096];
	int rc = expr_parse(a->expr_text, e, &err);

	if (rc) {
		report_syntax_error(a->expr_text, &err);
		return rc;
	}
	rc = xd_compile(*e, XD_MAX_FILTERS, xf);
	if (rc) {
		fprintf(stderr, "xokdump: cannot compile the expression: %s\n", strerror(-rc));
		expr_free(*e);
		*e = NULL;
		return rc;
	}
	if (a->cap.verbose && !a->list_filters) {
		expr_format(*e, buf, sizeof(buf));
		fprintf(stderr, "xokdump: expression: %s\n", buf);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct xd_filters *xf = calloc(1, sizeof(*xf));
	struct expr *e = NULL;
	struct args a = { 0 };
	int rc = xf ? parse_args(argc, argv, &a) : -ENOMEM;

	if (rc == 0)
		rc = compile_expression(&a, &e, xf);
	if (rc == 0 && a.list_filters) {
		list_filters(e, xf);
	} else if (rc == 0) {
		if (a.line_buffered)
			setvbuf(stdout, NULL, _IOLBF, 0);
		install_signals();
		rc = capture_run(&a.cap, e, xf, &stop_requested);
	}
	expr_free(e);
	free(a.expr_text);
	free(xf);
	return rc < 0 ? 1 : 0;
}
