/* server.h - the non-blocking single-threaded HTTP server shared by httpd and httpd-linux */
#ifndef XOK_HTTPD_SERVER_H
#define XOK_HTTPD_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"

struct httpd_conf {
	const char *prog; /* for messages: "httpd-linux" or "httpd" */
	struct app_server_opts server;
	bool quiet;
};

/* Serve until *stop becomes non-zero (set it from a signal handler). Returns 0 after a
 * clean shutdown, -errno if the server could not start or the poll loop failed. */
int httpd_run(const struct httpd_conf *conf, volatile sig_atomic_t *stop);

#endif /* XOK_HTTPD_SERVER_H */
