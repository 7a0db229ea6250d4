/* impair-attach.c - attach tests/impair's tc program with chosen rates; read its counters */

/*
 * impair-attach --dev IF [--ingress] [--drop PCT] [--dup PCT] [--reorder PCT]
 *               [--hold-pkts N] [--hold-us US]      attach (replacing ours, if any)
 * impair-attach --dev IF [--ingress] --stats         print the attached program's counters
 * impair-attach --dev IF [--ingress] --detach        remove it
 *
 * Run it in the device's namespace (ip netns exec).  The program is the skeleton of
 * impair.bpf.o; its .rodata takes the rates before loading.  The tc filter (clsact, handle
 * 1, priority 1) holds the program after this process exits.  See impair.bpf.c.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "impair.skel.h"
#include "impair_shared.h"

static const char usage[] =
	"usage: impair-attach --dev IF [--ingress] [--drop PCT] [--dup PCT] [--reorder PCT]\n"
	"                     [--hold-pkts N] [--hold-us US]\n"
	"       impair-attach --dev IF [--ingress] --stats | --detach\n"
	"  defaults: --drop 5 --dup 1 --reorder 2 --hold-pkts 4 --hold-us 2000: a reordered\n"
	"  frame is sent after N more frames have passed or US microseconds, whichever is first\n";

static const char *const stat_names[IMPAIR_STAT_NR] = {
	"seen", "dropped", "duplicated", "held", "released", "expired", "errors",
};

struct cfg {
	const char *dev;
	bool ingress, stats, detach;
	double drop, dup, reorder;
	unsigned long hold_pkts, hold_us;
};

static int parse_pct(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (*end || end == s || v < 0 || v > 100) {
		fprintf(stderr, "impair-attach: want a percentage 0..100: %s\n", s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse(int argc, char **argv, struct cfg *c)
{
	static const struct option opts[] = {
		{"dev", required_argument, NULL, 'd'},	   {"ingress", no_argument, NULL, 'i'},
		{"egress", no_argument, NULL, 'e'},	   {"drop", required_argument, NULL, 'D'},
		{"dup", required_argument, NULL, 'u'},	   {"reorder", required_argument, NULL, 'r'},
		{"hold-us", required_argument, NULL, 't'}, {"hold-pkts", required_argument, NULL, 'P'},
		{"stats", no_argument, NULL, 's'},	   {"detach", no_argument, NULL, 'x'},
		{"help", no_argument, NULL, 'h'},	   {0},
	};
	int o;

	*c = (struct cfg){.drop = 5, .dup = 1, .reorder = 2, .hold_pkts = 4,
		      .hold_us = 2000};
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			c->dev = optarg;
			break;
		case 'i':
			c->ingress = true;
			break;
		case 'e':
			c->ingress = false;
			break;
		case 'D':
			if (parse_pct(optarg, &c->drop))
				return -EINVAL;
			break;
		case 'u':
			if (parse_pct(optarg, &c->dup))
				return -EINVAL;
			break;
		case 'r':
			if (parse_pct(optarg, &c->reorder))
				return -EINVAL;
			break;
		case 't':
			c->hold_us = strtoul(optarg, NULL, 10);
			break;
		case 'P':
			c->hold_pkts = strtoul(optarg, NULL, 10);
			if (c->hold_pkts < 1 || c->hold_pkts > 1000000) {
				fprintf(stderr, "impair-attach: --hold-pkts wants 1..1000000\n");
				return -EINVAL;
			}
			break;
		case 's':
			c->stats = true;
			break;
		case 'x':
			c->detach = true;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			return -EINVAL;
		}
	}
	if (!c->dev || optind != argc) {
		fputs(usage, stderr);
		return -EINVAL;
	}
	return 0;
}

static int do_stats(struct bpf_tc_hook *hook)
{
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = 1, .priority = 1);
	struct bpf_prog_info pi = {0};
	__u32 map_ids[8], len = sizeof(pi);
	int ncpu = libbpf_num_possible_cpus(), err, pfd;

	err = bpf_tc_query(hook, &q);
	if (err)
		return err;
	pfd = bpf_prog_get_fd_by_id(q.prog_id);
	if (pfd < 0)
		return -errno;
	pi.nr_map_ids = 8;
	pi.map_ids = (__u64)(unsigned long)map_ids;
	err = bpf_obj_get_info_by_fd(pfd, &pi, &len);
	close(pfd);
	if (err)
		return err;
	for (__u32 i = 0; i < pi.nr_map_ids && i < 8; i++) {
		struct bpf_map_info mi = {0};
		__u32 mlen = sizeof(mi);
		int mfd = bpf_map_get_fd_by_id(map_ids[i]);
		__u64 *v;

		if (mfd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(mfd, &mi, &mlen) || strcmp(mi.name, "impair_stats")) {
			close(mfd);
			continue;
		}
		v = calloc((size_t)ncpu, sizeof(*v));
		for (__u32 k = 0; v && k < IMPAIR_STAT_NR; k++) {
			__u64 sum = 0;

			if (bpf_map_lookup_elem(mfd, &k, v) == 0)
				for (int c = 0; c < ncpu; c++)
					sum += v[c];
			printf("%s%s=%llu", k ? " " : "", stat_names[k], (unsigned long long)sum);
		}
		printf("\n");
		free(v);
		close(mfd);
		return 0;
	}
	return -ENOENT;
}

static __u32 ppm(double pct)
{
	return (__u32)(pct / 100.0 * IMPAIR_PPM + 0.5);
}

static int do_attach(const struct cfg *c, struct bpf_tc_hook *hook)
{
	LIBBPF_OPTS(bpf_tc_opts, a, .handle = 1, .priority = 1, .flags = BPF_TC_F_REPLACE);
	struct impair *skel = impair__open();
	int err;

	if (!skel)
		return -errno;
	skel->rodata->drop_ppm = ppm(c->drop);
	skel->rodata->dup_ppm = ppm(c->dup);
	skel->rodata->reorder_ppm = ppm(c->reorder);
	skel->rodata->hold_pkts = (__u32)c->hold_pkts;
	skel->rodata->hold_ns = (__u64)c->hold_us * 1000;
	skel->rodata->ingress = c->ingress;
	err = impair__load(skel);
	if (!err) {
		err = bpf_tc_hook_create(hook);
		if (err == -EEXIST)
			err = 0;
	}
	if (!err) {
		a.prog_fd = bpf_program__fd(skel->progs.impair);
		err = bpf_tc_attach(hook, &a);
	}
	if (!err)
		printf("impair: %s %s: drop %.2f%% dup %.2f%% reorder %.2f%% (behind %lu frames or "
		       "%lu us) (prog id %u)\n", c->dev, c->ingress ? "ingress" : "egress", c->drop,
		       c->dup, c->reorder, c->hold_pkts, c->hold_us, a.prog_id);
	impair__destroy(skel); /* the tc filter keeps the program and its maps */
	return err;
}

static int print_warnings(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* creating clsact where it exists is expected: its kernel message is noise */
	if (level != LIBBPF_WARN || strstr(fmt, "Kernel error message"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	struct cfg c;
	int err;

	if (parse(argc, argv, &c))
		return 2;
	libbpf_set_print(print_warnings);
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)if_nametoindex(c.dev),
		    .attach_point = c.ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	if (!hook.ifindex) {
		fprintf(stderr, "impair-attach: no such device: %s\n", c.dev);
		return 1;
	}
	if (c.stats) {
		err = do_stats(&hook);
	} else if (c.detach) {
		LIBBPF_OPTS(bpf_tc_opts, d, .handle = 1, .priority = 1);
		err = bpf_tc_detach(&hook, &d);
	} else {
		err = do_attach(&c, &hook);
	}
	if (err) {
		fprintf(stderr, "impair-attach: %s %s: %s\n", c.dev, c.ingress ? "ingress" : "egress",
			strerror(err < 0 ? -err : err));
		return 1;
	}
	return 0;
}
