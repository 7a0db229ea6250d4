/* main.c - arpd: command line, setup, the event loop */
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

#include "arpd.h"
#include "app.h"
#include "app_xok.h"

static const char usage[] =
	"usage: arpd [--socket PATH] [--max-age S] [--stats] [-v]... [--help]\n"
	"\n"
	"arpd is Xok/Linux's ARP service: it publishes the system ARP table that every\n"
	"application maps read-only, receives all ARP frames on xokd's interfaces, answers\n"
	"requests for xokd's addresses, and learns from replies, from requests addressed to us\n"
	"and, for hosts already in the table, from any ARP frame (RFC 826).  Entries are\n"
	"refreshed with unicast requests before they expire.  Applications send their own\n"
	"requests on a miss; arpd records the replies and wakes them.\n"
	"\n"
	"  -s, --socket PATH   xokd's control socket (default $" XOK_SOCKET_ENV " or\n"
	"                      " XOK_SOCKET_DEFAULT ")\n"
	"  -a, --max-age S     seconds an entry stays valid without a reply (default 60);\n"
	"                      refresh requests start at 3/4 of it\n"
	"      --stats         print the counters on exit\n"
	"  -v, --verbose       log learned, changed and expired entries (-vv: every reply)\n"
	"  -h, --help          this text\n"
	"\n"
	"Needs root or xokd's --group (publishing a system table is privileged).  SIGUSR1\n"
	"prints the table and the counters to stderr; SIGINT and SIGTERM stop it.  Start it\n"
	"before the applications: they map the table when their stack opens.\n";

void arpd_log(const struct arpd *d, int level, const char *fmt, ...)
{
	va_list ap;

	if (level > d->verbose)
		return;
	va_start(ap, fmt);
	app_vlog("arpd", fmt, ap);
	va_end(ap);
}

struct arpd_cfg {
	struct app_service_opts svc;
	unsigned long max_age_s;
};

static int parse_args(int argc, char **argv, struct arpd_cfg *cfg)
{
	static const struct option opts[] = {
		{"max-age", required_argument, NULL, 'a'},
		APP_SERVICE_LONGOPTS,
		{0},
	};
	long v;
	int c;

	cfg->max_age_s = ARPD_MAX_AGE_S_DEFAULT;
	while ((c = getopt_long(argc, argv, "a:" APP_SERVICE_SHORTOPTS, opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (app_num("arpd", "--max-age", optarg, 1, ARPD_MAX_AGE_S_MAX, &v))
				return -EINVAL;
			cfg->max_age_s = (unsigned long)v;
			break;
		default:
			if (app_service_opt(c, optarg, usage, &cfg->svc))
				return -EINVAL;
		}
	}
	return app_no_operands("arpd", argc, argv, usage) ? -EINVAL : 0;
}

static void print_stats(const struct arpd *d)
{
	const struct arpd_stats *s = &d->st;

	fprintf(stderr,
		"arpd: stats: rx %llu bad %llu ignored %llu answered %llu announced %llu "
		"added %llu refreshed %llu changed %llu expired %llu freed %llu evicted %llu "
		"probes %llu conflicts %llu tx %llu tx_errors %llu publishes %llu "
		"notify_errors %llu\n",
		(unsigned long long)s->rx, (unsigned long long)s->bad,
		(unsigned long long)s->ignored, (unsigned long long)s->requests_answered,
		(unsigned long long)s->announcements, (unsigned long long)s->added,
		(unsigned long long)s->refreshed, (unsigned long long)s->changed,
		(unsigned long long)s->expired, (unsigned long long)s->freed,
		(unsigned long long)s->evicted, (unsigned long long)s->probes,
		(unsigned long long)s->conflicts, (unsigned long long)s->tx,
		(unsigned long long)s->tx_errors, (unsigned long long)s->publishes,
		(unsigned long long)s->notify_errors);
}

static int load_ifaces(struct arpd *d)
{
	struct xok_info_reply info;
	int err = exos_sys_info(d->sys, &info);

	if (err)
		return err;
	for (uint32_t i = 0; i < info.niface && i < XOK_IFACES_MAX; i++) {
		const struct xok_iface_info *ii = &info.ifaces[i];
		struct arpd_iface *ifc = &d->ifs[d->nifs++];
		char ip[INET_ADDRSTRLEN];

		ifc->ifindex = ii->ifindex;
		ifc->addr = ii->addr;
		ifc->mask = app_prefix_mask(ii->prefix_len);
		ifc->gateway = ii->gateway;
		memcpy(ifc->mac, ii->mac, ETH_ADDR_LEN);
		memcpy(ifc->name, ii->name, sizeof(ifc->name) - 1);
		inet_ntop(AF_INET, &ifc->addr, ip, sizeof(ip));
		arpd_log(d, 1, "interface %s (ifindex %u): %s/%u", ifc->name, ifc->ifindex, ip,
			 ii->prefix_len);
	}
	return d->nifs ? 0 : -ENODEV;
}

static int setup(struct arpd *d, const struct arpd_cfg *cfg)
{
	size_t size = (sizeof(struct xok_arp_table) + 4095) & ~(size_t)4095;
	struct dpf_filter f;
	void *base;
	int err;

	err = app_sys_open("arpd", cfg->svc.socket, &d->sys);
	if (err)
		return err;
	err = load_ifaces(d);
	if (err) {
		fprintf(stderr, "arpd: xokd interfaces: %s\n", strerror(-err));
		return err;
	}
	err = exos_table_publish(d->sys, XOK_TABLE_ARP, size, &base);
	if (err) {
		fprintf(stderr, "arpd: cannot publish the ARP table: %s%s\n", strerror(-err),
			err == -EPERM ? " (run as root or a member of xokd's --group)" : "");
		return err;
	}
	d->tab = base;
	table_init(d);
	err = exos_ring_create(d->sys, ARPD_RING_ENTRY_SIZE, ARPD_RING_ENTRIES, &d->ring);
	if (err) {
		fprintf(stderr, "arpd: receive ring: %s\n", strerror(-err));
		return err;
	}
	dpf_filter_init(&f);
	dpf_match_arp(&f);
	err = exos_filter_insert(d->sys, d->ring, 0, 0, &f, &d->filter);
	if (err) {
		fprintf(stderr, "arpd: cannot install the ARP filter: %s", strerror(-err));
		if (err == -EEXIST || err == -EBUSY)
			fprintf(stderr, " (filter %u is in the way: is another arpd running?)",
				d->filter.parent);
		fputc('\n', stderr);
		return err;
	}
	err = arp_tx_init(d);
	if (err) {
		fprintf(stderr, "arpd: transmit buffers: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

/* Drains the ring; returns the number of frames handled. */
static int drain(struct arpd *d)
{
	struct xok_ring_entry *e;
	int n = 0;

	while (n < ARPD_RX_BUDGET && (e = exos_ring_peek(d->ring))) {
		arp_input(d, e->data, e->caplen, e->ifindex);
		exos_ring_release(d->ring);
		n++;
	}
	return n;
}

static int run(struct arpd *d)
{
	for (unsigned i = 0; i < d->nifs; i++)
		arp_announce(d, &d->ifs[i]);
	while (!app_stop) {
		uint64_t now;
		int err;

		while (drain(d) == ARPD_RX_BUDGET)
			table_publish(d);
		now = exos_now_ns();
		if (now >= d->age_due_ns)
			d->age_due_ns = table_age(d, now);
		table_publish(d);
		if (app_dump) {
			app_dump = 0;
			table_dump(d, stderr);
			print_stats(d);
		}
		err = app_sys_wait("arpd", d->sys, d->age_due_ns == UINT64_MAX ? 0 : d->age_due_ns);
		if (err)
			return err;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct arpd d;
	struct arpd_cfg cfg = {0};
	int err;

	if (parse_args(argc, argv, &cfg))
		return 2;
	setvbuf(stderr, NULL, _IOLBF, 0);
	d.verbose = cfg.svc.verbose;
	d.max_age_ns = (uint64_t)cfg.max_age_s * 1000000000ull;
	app_signals(1);

	err = setup(&d, &cfg);
	if (!err) {
		fprintf(stderr, "arpd: ready: %u interface%s, %d-entry table, max age %lu s\n",
			d.nifs, d.nifs == 1 ? "" : "s", XOK_ARP_ENTRIES, cfg.max_age_s);
		err = run(&d);
	}
	if (cfg.svc.stats)
		print_stats(&d);
	/* xokd removes our filter, ring and regions; the table stays published */
	exos_sys_close(d.sys);
	return err ? 1 : 0;
}
