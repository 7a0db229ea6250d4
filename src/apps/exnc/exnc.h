/* exnc.h - exnc, netcat over libexos sockets: options and the pieces main.c and copy.c share */
#ifndef EXNC_H
#define EXNC_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#define EXNC_BUF_SIZE	   (256 * 1024) /* per direction: bulk transfers move in big bites */
#define EXNC_UDP_MAX	   65507	/* largest datagram payload */
#define EXNC_LINGER_S	   15		/* close waits this long for our data to be acked */
#define EXNC_STDIN_WAIT_MS 1		/* first exos_poll slice while stdin is watched */
#define EXNC_STDIN_WAIT_MAX_MS 16	/* idle slices double up to this */

struct exnc_opts {
	bool udp, listen, nflag_shutdown, no_stdin;
	int verbose;  /* -v: connections; -vv: also the stack's counters at exit */
	int w_secs;   /* -w: connect and idle timeout; -1 = none */
	int q_secs;   /* -q: quit this long after stdin EOF; -1 = never */
	const char *src_addr, *host, *port, *src_port;
	char peer[48];	/* "ADDR port P", for messages once connected */
};

/* copy.c: moves data until the peer closes, -q or -w says stop, or an error; returns the
 * exit status (0 or 1). */
int exnc_copy(int fd, const struct exnc_opts *o);

void exnc_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void exnc_info(const struct exnc_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* EXNC_H */
