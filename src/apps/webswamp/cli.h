/* cli.h - the command line and main program shared by webswamp, sockclient, sockclient-linux */
#ifndef SWAMP_CLI_H
#define SWAMP_CLI_H

#include "core.h"

/* Parses the common options into *o (rejecting those desc->caps cannot honour); returns 0,
 * 1 when --help was printed, or -EINVAL after printing why. */
int swamp_cli_parse(int argc, char **argv, const struct swamp_transport_desc *desc,
		    struct swamp_opts *o);

/* Strict unsigned decimal (digits only, no sign, no overflow, at most max): 0 or -EINVAL. */
int swamp_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* The whole program: parse, set up the driver, transport and core, run, report.  Returns
 * the exit status (0 ok, 1 run failed, 2 bad usage). */
int swamp_main(int argc, char **argv, const struct swamp_transport_desc *desc);

#endif /* SWAMP_CLI_H */
