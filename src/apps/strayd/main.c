/* main.c - strayd: command line, setup, the event loop, counters */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xok/dpf.h>

#include "strayd.h"
#include "app.h"
#include "app_xok.h"

static const char usage[] =
	"usage: strayd [--socket PATH] [--rate N] [--burst N] [--stats] [-v]... [--help]\n"
	"\n"
	"strayd handles the IPv4 packets no Xok/Linux application claims: its filter matches\n"
	"every IPv4 frame and every application's filter refines it, so it sees only the\n"
	"leftovers.  For those addressed to xokd's addresses it answers like a host's kernel:\n"
	"ICMP echo replies, ICMP port unreachable for UDP, protocol unreachable for other\n"
	"protocols, and TCP resets (RFC 9293).  It never answers resets, ICMP errors,\n"
	"fragments, broadcasts or multicasts, and it rate-limits itself.\n"
	"\n"
	"  -s, --socket PATH  xokd's control socket (default $" XOK_SOCKET_ENV " or\n"
	"                     " XOK_SOCKET_DEFAULT ")\n"
	"  -r, --rate N       replies per second, for errors and resets and separately for\n"
	"                     echo replies (default 1000; 0: unlimited)\n"
	"  -b, --burst N      token bucket depth (default rate/10, at least 1)\n"
	"      --stats        print the counters on exit\n"
	"  -v, --verbose      log every reply (-vv: also setup details)\n"
	"  -h, --help         this text\n"
	"\n"
	"SIGUSR1 prints the counters to stderr; SIGINT and SIGTERM stop it.  It reads arpd's\n"
	"ARP table for the next hop when published, else replies to the frame's source MAC.\n";

void stray_log(const struct strayd *d, int level, const char *fmt, ...)
{
	va_list ap;

	if (level > d->verbose)
		return;
	va_start(ap, fmt);
	app_vlog("strayd", fmt, ap);
	va_end(ap);
}

struct stray_cfg {
	struct app_service_opts svc;
	double rate, burst;
};

static int parse_count(const char *opt, const char *s, double *out)
{
	long v;

	if (app_num("strayd", opt, s, 0, 100000000, &v))
		return -EINVAL;
	*out = (double)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct stray_cfg *cfg)
{
	static const struct option opts[] = {
		{"rate", required_argument, NULL, 'r'},
		{"burst", required_argument, NULL, 'b'},
		APP_SERVICE_LONGOPTS,
		{0},
	};
	int c;

	cfg->rate = STRAYD_RATE_DEFAULT;
	cfg->burst = -1;
	while ((c = getopt_long(argc, argv, "r:b:" APP_SERVICE_SHORTOPTS, opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (parse_count("--rate", optarg, &cfg->rate))
				return -EINVAL;
			break;
		case 'b':
			if (parse_count("--burst", optarg, &cfg->burst))
				return -EINVAL;
			if (cfg->burst < 1) {
				fprintf(stderr, "strayd: --burst must be at least 1\n");
				return -EINVAL;
			}
			break;
		default:
			if (app_service_opt(c, optarg, usage, &cfg->svc))
				return -EINVAL;
		}
	}
	if (app_no_operands("strayd", argc, argv, usage))
		return -EINVAL;
	if (cfg->burst < 0)
		cfg->burst = cfg->rate / STRAYD_BURST_DIV < 1 ? 1 : cfg->rate / STRAYD_BURST_DIV;
	return 0;
}

static void print_stats(const struct strayd *d)
{
	const struct stray_stats *s = &d->st;

#define U(x) (unsigned long long)(x)
	fprintf(stderr,
		"strayd: stats: rx %llu echo_replies %llu port_unreach %llu proto_unreach %llu "
		"resets %llu rate_limited %llu ignored: not_ipv4 %llu bcast %llu not_ours %llu "
		"bad_src %llu frag %llu rst %llu icmp %llu truncated %llu; bad %llu bad_csum %llu "
		"arp_hits %llu arp_misses %llu tx %llu tx_errors %llu\n",
		U(s->rx), U(s->echo_replies), U(s->port_unreach), U(s->proto_unreach),
		U(s->resets), U(s->rate_limited), U(s->ign_not_ipv4), U(s->ign_bcast),
		U(s->ign_not_ours), U(s->ign_bad_src), U(s->ign_frag), U(s->ign_rst),
		U(s->ign_icmp), U(s->ign_truncated), U(s->bad), U(s->bad_csum), U(s->arp_hits),
		U(s->arp_misses), U(s->tx), U(s->tx_errors));
#undef U
}

static int load_ifaces(struct strayd *d)
{
	struct xok_info_reply info;
	int err = exos_sys_info(d->sys, &info);

	if (err)
		return err;
	for (uint32_t i = 0; i < info.niface && i < XOK_IFACES_MAX; i++) {
		const struct xok_iface_info *ii = &info.ifaces[i];
		struct stray_iface *ifc = &d->ifs[d->nifs++];
		char ip[INET_ADDRSTRLEN];

		ifc->ifindex = ii->ifindex;
		ifc->addr = ii->addr;
		ifc->mask = app_prefix_mask(ii->prefix_len);
		ifc->gateway = ii->gateway;
		ifc->mtu = ii->mtu;
		memcpy(ifc->mac, ii->mac, ETH_ADDR_LEN);
		memcpy(ifc->name, ii->name, sizeof(ifc->name) - 1);
		inet_ntop(AF_INET, &ifc->addr, ip, sizeof(ip));
		stray_log(d, 2, "interface %s (ifindex %u): %s/%u", ifc->name, ifc->ifindex, ip,
			  ii->prefix_len);
	}
	return d->nifs ? 0 : -ENODEV;
}

static int setup(struct strayd *d, const struct stray_cfg *cfg)
{
	struct dpf_filter f;
	int err;

	err = app_sys_open("strayd", cfg->svc.socket, &d->sys);
	if (err)
		return err;
	err = load_ifaces(d);
	if (err) {
		fprintf(stderr, "strayd: xokd interfaces: %s\n", strerror(-err));
		return err;
	}
	err = exos_ring_create(d->sys, STRAYD_RING_ENTRY_SIZE, STRAYD_RING_ENTRIES, &d->ring);
	if (err) {
		fprintf(stderr, "strayd: receive ring: %s\n", strerror(-err));
		return err;
	}
	err = tx_init(d);
	if (err) {
		fprintf(stderr, "strayd: transmit buffers: %s\n", strerror(-err));
		return err;
	}
	dpf_filter_all_ipv4(&f);
	err = exos_filter_insert(d->sys, d->ring, XOK_DPF_OPEN, 0, &f, &d->filter);
	if (err) {
		fprintf(stderr, "strayd: cannot install the catch-all IPv4 filter: %s",
			strerror(-err));
		if (err == -EEXIST || err == -EBUSY)
			fprintf(stderr, " (filter %u is in the way: is another strayd running?)",
				d->filter.parent);
		fputc('\n', stderr);
		return err;
	}
	tx_try_arp_table(d);
	return 0;
}

static int drain(struct strayd *d)
{
	struct xok_ring_entry *e;
	int n = 0;

	while (n < STRAYD_RX_BUDGET && (e = exos_ring_peek(d->ring))) {
		stray_input(d, e->data, e->caplen, e->owner, e->ifindex);
		exos_ring_release(d->ring);
		n++;
	}
	return n;
}

static int run(struct strayd *d)
{
	while (!app_stop) {
		uint64_t deadline = 0;
		int err;

		while (drain(d) == STRAYD_RX_BUDGET)
			exos_xmit_flush(d->sys);
		if (!d->arp) {
			uint64_t now = exos_now_ns();

			if (now >= d->arp_retry_ns) {
				tx_try_arp_table(d);
				d->arp_retry_ns = now + STRAYD_TABLE_RETRY_NS;
			}
			deadline = d->arp ? 0 : d->arp_retry_ns;
		}
		if (app_dump) {
			app_dump = 0;
			print_stats(d);
		}
		err = app_sys_wait("strayd", d->sys, deadline);
		if (err)
			return err;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct strayd d;
	struct stray_cfg cfg = {0};
	int err;

	if (parse_args(argc, argv, &cfg))
		return 2;
	setvbuf(stderr, NULL, _IOLBF, 0);
	d.verbose = cfg.svc.verbose;
	d.rate = cfg.rate;
	d.burst = cfg.burst;
	for (int c = 0; c < STRAY_CLASS_NR; c++)
		d.bucket[c] = (struct stray_bucket){.tokens = cfg.burst, .last_ns = exos_now_ns()};
	d.ip_id = (uint16_t)getpid();
	app_signals(1);

	err = setup(&d, &cfg);
	if (!err) {
		if (cfg.rate > 0)
			fprintf(stderr, "strayd: ready: %u interface%s, catch-all filter %u, at most "
				"%.0f replies/s (burst %.0f)\n", d.nifs, d.nifs == 1 ? "" : "s",
				d.filter.id, cfg.rate, cfg.burst);
		else
			fprintf(stderr, "strayd: ready: %u interface%s, catch-all filter %u, not "
				"rate-limited\n", d.nifs, d.nifs == 1 ? "" : "s", d.filter.id);
		err = run(&d);
	}
	if (cfg.svc.stats)
		print_stats(&d);
	exos_sys_close(d.sys); /* xokd removes our filter, ring and regions */
	return err ? 1 : 0;
}
