/* app.h - what the programs in src/apps share: stop and dump signals, numeric options,
 * stray operands, prefixed messages. */
#ifndef XOK_APP_H
#define XOK_APP_H

#include <signal.h>
#include <stdarg.h>

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

/* "PROG: " + the message + a newline on stderr, one write per line. */
void app_vlog(const char *prog, const char *fmt, va_list ap);

#endif /* XOK_APP_H */
