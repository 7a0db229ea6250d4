/* app.h - what the programs in src/apps share: stop and dump signals, numeric options,
 * stray operands, the options of services and of file servers, prefixed messages. */
#ifndef XOK_APP_H
#define XOK_APP_H

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Set by the handler app_signals installs: SIGINT or SIGTERM asks the program to stop,
 * SIGUSR1 to print its counters. The main loop reads and clears them. */
extern volatile sig_atomic_t app_stop, app_dump;

/* Installs that handler for SIGINT, SIGTERM and (when dump) SIGUSR1, without SA_RESTART so
 * that a blocked wait returns EINTR and the loop sees the flag at once; ignores SIGPIPE so
 * a peer that went away is an EPIPE, not a death. */
void app_signals(int dump);

/* Parses s as a decimal integer in [min, max]. On anything else ("", "12x", " 1", "+1",
 * out of range) prints "PROG: invalid WHAT 'S' (expected MIN..MAX)" and returns
 * -1. */
int app_num(const char *prog, const char *what, const char *s, long min, long max, long *out);

/* -1, with "PROG: unexpected argument 'X'" and the usage (unless NULL) on stderr, when argv
 * still holds operands after option parsing (optind < argc); else 0. */
int app_no_operands(const char *prog, int argc, char **argv, const char *usage);

/* 0 when dir names a directory; else -1 with "PROG: WHAT 'DIR': why" on stderr, so that a
 * program says what is wrong with its argument before it starts anything. */
int app_check_dir(const char *prog, const char *what, const char *dir);

/* The network-order mask of a /prefix_len (0..32) network, as xokd reports interfaces. */
uint32_t app_prefix_mask(unsigned prefix_len);

/* The options of the services that run beside xokd (arpd, strayd, xfwd, splicefwd):
 * -s/--socket PATH, --stats, -v/--verbose (repeatable), -h/--help.  A program appends
 * APP_SERVICE_SHORTOPTS to its short options and APP_SERVICE_LONGOPTS to its table, and
 * hands every option its own switch does not take to app_service_opt. */
struct app_service_opts {
	const char *socket; /* NULL: $XOK_SOCKET, else xokd's default */
	bool stats;
	int verbose;
};

#define APP_SERVICE_SHORTOPTS "s:vh"
/* --stats has no short form: its value 'S' is not in APP_SERVICE_SHORTOPTS. */
#define APP_SERVICE_LONGOPTS                                                                       \
	{"socket", required_argument, NULL, 's'},                                                  \
	{"stats", no_argument, NULL, 'S'},                                                         \
	{"verbose", no_argument, NULL, 'v'},                                                       \
	{"help", no_argument, NULL, 'h'}

/* Takes option c (getopt's return) with its argument arg: 0.  -h prints usage on stdout and
 * exits 0.  Any other c is one getopt refused (unknown, or its argument missing, already
 * reported): usage on stderr and -1. */
int app_service_opt(int c, const char *arg, const char *usage, struct app_service_opts *o);

/* The options of the file servers (cheetah, httpd, httpd-linux): -r/--root DOCROOT,
 * -p/--port PORT, -a/--addr ADDR, -t/--timeout SECONDS, -m/--cache-mb MB.  A program appends
 * APP_SERVER_SHORTOPTS and APP_SERVER_LONGOPTS to its own, offers each option getopt returns
 * to app_server_opt first, and sets its defaults before parsing. */
struct app_server_opts {
	const char *docroot;
	const char *addr;
	uint16_t port;
	unsigned timeout_ms; /* no-progress timeout per connection */
	size_t cache_bytes;  /* 0: the cache's default */
};

#define APP_SERVER_SHORTOPTS "r:p:a:t:m:"
#define APP_SERVER_LONGOPTS                                                                        \
	{"root", required_argument, NULL, 'r'},                                                    \
	{"port", required_argument, NULL, 'p'},                                                    \
	{"addr", required_argument, NULL, 'a'},                                                    \
	{"timeout", required_argument, NULL, 't'},                                                 \
	{"cache-mb", required_argument, NULL, 'm'}

/* 1 when c is one of those options and arg is valid for it, 0 when c is none of them, -1
 * with "PROG: invalid WHAT 'ARG' (expected MIN..MAX)" on stderr when arg is not valid. */
int app_server_opt(const char *prog, int c, const char *arg, struct app_server_opts *o);

/* After parsing: -1 with the reason on stderr when operands are left, -r is missing or
 * DOCROOT is not a directory, so that nothing starts on a bad command line; else 0. */
int app_server_check(const char *prog, int argc, char **argv, const struct app_server_opts *o);

/* "PROG: " + the message + a newline on stderr, one write per line. */
void app_vlog(const char *prog, const char *fmt, va_list ap);

#endif /* XOK_APP_H */
