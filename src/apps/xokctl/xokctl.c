/* xokctl.c - inspect a running xokd: apps, filters (as a tree), rings, counters, ARP */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <exos/sys.h>
#include <xok/abi.h>

static const char usage[] =
    "usage: xokctl apps|filters|rings|tx|impair|dpf|stats|arp [--json] [--watch [--count N]]\n"
    "              [--socket PATH]\n"
    "\n"
    "  apps      connected applications: pid, uid, regions, rings, filters, transmit and\n"
    "            control counters, wakeups\n"
    "  filters   the filter tree (children indented under the filter they refine) with\n"
    "            each owner's app id, pid and command, delivery rings, references and hit\n"
    "            counts (\"table\": served by an exact-match table); then copy filters\n"
    "  rings     packet rings: owner, geometry, delivered, dropped (ring full), truncated\n"
    "  tx        per app: transmit weight, bytes sent, frames refused by checked\n"
    "            transmission, queued and in-flight frames, requests refused for the rate\n"
    "            and by limits, frames sent through TCP segmentation offload\n"
    "  impair    per interface: frames dropped, duplicated, reordered and delayed by\n"
    "            xokd --impair, each way\n"
    "  dpf       the filter engine: programs generated and installed, filters, those in\n"
    "            exact-match tables, changes served by tables (no new program), the last\n"
    "            program's size and generation time\n"
    "  stats     per-interface counters, rings and the filter engine; with --json\n"
    "            everything (interfaces, rings, filters, apps, apps_tx, impair, dpf) as one\n"
    "            JSON object\n"
    "  arp       the ARP table arpd publishes: address, MAC, interface, state, age\n"
    "\n"
    "  -j, --json         machine-readable output (with --watch: one object per line)\n"
    "  -w, --watch        refresh once a second (the screen is cleared first) until\n"
    "                     interrupted\n"
    "  -n, --count N      with --watch: stop after N refreshes\n"
    "  -s, --socket PATH  xokd's control socket (default $" XOK_SOCKET_ENV
    ", else " XOK_SOCKET_DEFAULT ")\n";

struct recs {
	struct xok_stat_rec *r;
	size_t n;
};

static int ctl_fd = -1;
static uint32_t ctl_seq;
static const char *socket_path;
static volatile sig_atomic_t interrupted;

static int ctl_connect(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *path = exos_sys_socket_path(socket_path);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ctl_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (ctl_fd < 0 || connect(ctl_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "xokctl: cannot connect to %s: %s (is xokd running?)\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int ctl_stats(uint32_t kind, uint32_t cursor, struct xok_stats_reply *out)
{
	struct {
		struct xok_msg h;
		struct xok_stats_req r;
	} req = {{XOK_ABI_MAGIC, XOK_ABI_VERSION, XOK_OP_STATS, ++ctl_seq, 0}, {kind, cursor}};
	static _Alignas(16) uint8_t buf[XOK_MSG_MAX];
	struct xok_msg h;
	ssize_t n;

	if (send(ctl_fd, &req, sizeof(req), MSG_NOSIGNAL) < 0)
		return -errno;
	n = recv(ctl_fd, buf, sizeof(buf), 0);
	if (n < (ssize_t)sizeof(h))
		return n < 0 ? -errno : -EPROTO;
	memcpy(&h, buf, sizeof(h));
	if (h.status)
		return h.status;
	if ((size_t)n < sizeof(h) + sizeof(*out))
		return -EPROTO;
	memcpy(out, buf + sizeof(h), sizeof(*out));
	return 0;
}

static int fetch(uint32_t kind, struct recs *out)
{
	struct xok_stats_reply rep;
	uint32_t cursor = 0;
	int err;

	free(out->r);
	out->r = NULL;
	out->n = 0;
	do {
		struct xok_stat_rec *nr;

		err = ctl_stats(kind, cursor, &rep);
		if (err) {
			fprintf(stderr, "xokctl: stats request failed: %s\n", strerror(-err));
			return err;
		}
		if (rep.count > XOK_STATS_MAX)
			return -EPROTO;
		nr = realloc(out->r, (out->n + rep.count + 1) * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		out->r = nr;
		memcpy(out->r + out->n, rep.recs, rep.count * sizeof(*nr));
		out->n += rep.count;
		cursor = rep.next_cursor;
	} while (cursor && rep.count);
	return 0;
}

static void name16(char out[17], const char in[16])
{
	size_t i;

	for (i = 0; i < 16 && in[i]; i++)
		out[i] =
		    (in[i] == '"' || in[i] == '\\' || (unsigned char)in[i] < 0x20) ? '?' : in[i];
	out[i] = 0;
}

/* ---- JSON: pretty (one value per line) or, under --watch, one object per line ---- */

static bool compact;

static void json_nl(int indent)
{
	if (!compact)
		printf("\n%*s", indent, "");
}

static const char *const iface_keys[8] = {
    "rx",	 "tx",	     "drop_unmatched", "drop_ring_full", "drop_no_filter",
    "tx_errors", "rx_bytes", "tx_bytes"};
static const char *const ring_keys[8] = {"delivered",  "dropped_full", "truncated", "bytes",
					 "entry_size", NULL,	       NULL,	    NULL};
static const char *const filter_keys[8] = {"hits",	 "bytes", "ring", "refs",
					   "copy_slot1", NULL,	  NULL,	  NULL};
static const char *const app_keys[8] = {"regions",   "region_bytes", "rings",	     "filters",
					"tx_frames", "tx_rejected",  "ctl_requests", "wakeups"};
static const char *const app_tx_keys[8] = {"tx_bytes",	    "tx_denied",  "txq_backlog",
					   "tx_inflight",   "ctl_throttled", "limit_hits",
					   "deficit",	    "tx_gso"};
static const char *const impair_keys[8] = {"rx_drop", "rx_dup", "rx_reorder", "rx_delay",
					   "tx_drop", "tx_dup", "tx_reorder", "tx_delay"};
static const char *const dpf_keys[8] = {"programs",	 "program_errors", "filters", "tabled",
					"table_inserts", "table_deletes",  "insns",   "load_us"};

/* The pid of app `id` (filters' owners), or 0 when it is gone. */
static uint32_t app_pid(const struct recs *apps, uint32_t id)
{
	for (size_t i = 0; apps && i < apps->n; i++)
		if (apps->r[i].id == id)
			return apps->r[i].owner;
	return 0;
}

/* A list of records: the four header words under these names, the name, the counters;
 * with `apps`, each record's owner's pid as "owner_pid" (filters). */
static void json_list(const char *key, const struct recs *rs, const char *id, const char *owner,
		      const char *parent, const char *flags, const char *const keys[8],
		      const struct recs *apps, bool last)
{
	size_t i;
	int k;

	json_nl(2);
	printf("\"%s\": [", key);
	for (i = 0; i < rs->n; i++) {
		const struct xok_stat_rec *r = &rs->r[i];
		char nm[17];

		name16(nm, r->name);
		printf("%s", i ? "," : "");
		json_nl(4);
		printf("{\"%s\": %u, \"%s\": %u, \"%s\": %u, \"%s\": %u, \"name\": \"%s\"", id, r->id,
		       owner, r->owner, parent, r->parent, flags, r->flags, nm);
		if (apps)
			printf(", \"owner_pid\": %u", app_pid(apps, r->owner));
		for (k = 0; k < 8; k++)
			if (keys[k])
				printf(", \"%s\": %" PRIu64, keys[k], r->c[k]);
		printf("}");
	}
	if (rs->n)
		json_nl(2);
	printf("]%s", last ? "" : ",");
}

static void json_begin(void)
{
	printf("{");
}

static void json_end(void)
{
	json_nl(0);
	printf("}\n");
}

/* ---- text ---- */

static void print_apps(const struct recs *a)
{
	size_t i;

	printf("%-5s %-7s %-6s %-16s %4s %10s %5s %7s %9s %7s %8s %8s\n", "APP", "PID", "UID",
	       "COMM", "REGS", "REG_BYTES", "RINGS", "FILTERS", "TX", "TX_REJ", "REQS", "WAKEUPS");
	for (i = 0; i < a->n; i++) {
		const struct xok_stat_rec *r = &a->r[i];
		char nm[17];

		name16(nm, r->name);
		printf("%-5u %-7u %-6u %-16s %4" PRIu64 " %10" PRIu64 " %5" PRIu64 " %7" PRIu64
		       " %9" PRIu64 " %7" PRIu64 " %8" PRIu64 " %8" PRIu64 "%s\n",
		       r->id, r->owner, r->parent, nm, r->c[0], r->c[1], r->c[2], r->c[3], r->c[4],
		       r->c[5], r->c[6], r->c[7], r->flags ? "  (privileged)" : "");
	}
}

static void print_apps_tx(const struct recs *a)
{
	size_t i;

	printf("%-5s %-7s %-16s %6s %12s %8s %8s %8s %9s %8s %10s\n", "APP", "PID", "COMM",
	       "WEIGHT", "TX_BYTES", "DENIED", "BACKLOG", "INFLIGHT", "THROTTLED", "LIMITS",
	       "GSO");
	for (i = 0; i < a->n; i++) {
		const struct xok_stat_rec *r = &a->r[i];
		char nm[17];

		name16(nm, r->name);
		printf("%-5u %-7u %-16s %6u %12" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64
		       " %9" PRIu64 " %8" PRIu64 " %10" PRIu64 "\n",
		       r->id, r->owner, nm, r->flags, r->c[0], r->c[1], r->c[2], r->c[3], r->c[4],
		       r->c[5], r->c[7]);
	}
}

static void print_impair(const struct recs *is)
{
	size_t i;
	int k;

	printf("%-16s %-4s", "IFACE", "ON");
	for (k = 0; k < 8; k++)
		printf(" %10s", impair_keys[k]);
	printf("\n");
	for (i = 0; i < is->n; i++) {
		const struct xok_stat_rec *r = &is->r[i];
		char nm[17];

		name16(nm, r->name);
		printf("%-16s %-4s", nm, r->flags ? "yes" : "no");
		for (k = 0; k < 8; k++)
			printf(" %10" PRIu64, r->c[k]);
		printf("\n");
	}
}

static void print_dpf(const struct recs *ds)
{
	for (size_t i = 0; i < ds->n; i++) {
		printf("dpf: tables %s", ds->r[i].flags ? "on" : "off");
		for (int k = 0; k < 8; k++)
			printf(", %s %" PRIu64, dpf_keys[k], ds->r[i].c[k]);
		printf("\n");
	}
}

static void print_rings(const struct recs *rs)
{
	size_t i;

	printf("%-6s %-5s %-16s %8s %6s %10s %10s %10s %12s\n", "RING", "APP", "COMM", "ENTRIES",
	       "SIZE", "DELIVERED", "DROP_FULL", "TRUNCATED", "BYTES");
	for (i = 0; i < rs->n; i++) {
		const struct xok_stat_rec *r = &rs->r[i];
		char nm[17];

		name16(nm, r->name);
		printf("%-6u %-5u %-16s %8u %6" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
		       " %12" PRIu64 "\n",
		       r->id, r->owner, nm, r->flags, r->c[4], r->c[0], r->c[1], r->c[2], r->c[3]);
	}
}

static void print_filter(const struct xok_stat_rec *r, const struct recs *apps, int depth)
{
	char nm[17], label[64], pid[16];
	uint32_t p = app_pid(apps, r->owner);

	name16(nm, r->name);
	snprintf(label, sizeof(label), "%*s%u", depth * 2, "", r->id);
	if (p)
		snprintf(pid, sizeof(pid), "%u", p);
	else
		snprintf(pid, sizeof(pid), "-");
	printf("%-16s %-5u %-7s %-16s %6" PRIu64 " %4" PRIu64 " %10" PRIu64 " %12" PRIu64 "%s%s%s\n",
	       label, r->owner, pid, nm[0] ? nm : "(gone)", r->c[2], r->c[3], r->c[0], r->c[1],
	       (r->flags & XOK_DPF_OPEN) ? "  open" : "",
	       (r->flags & XOK_DPF_COPY) ? "  copy" : "",
	       (r->flags & XOK_DPF_STAT_TABLED) ? "  table" : "");
}

static void print_tree(const struct recs *fs, const struct recs *apps, uint32_t parent,
		       int depth)
{
	size_t i;

	for (i = 0; i < fs->n; i++) {
		const struct xok_stat_rec *r = &fs->r[i];

		if ((r->flags & XOK_DPF_COPY) || r->parent != parent || depth > 64)
			continue;
		print_filter(r, apps, depth);
		print_tree(fs, apps, r->id, depth + 1);
	}
}

static void print_filters(const struct recs *fs, const struct recs *apps)
{
	size_t i;
	bool copies = false;

	printf("%-16s %-5s %-7s %-16s %6s %4s %10s %12s\n", "FILTER", "OWNER", "PID", "COMM",
	       "RING", "REFS", "HITS", "BYTES");
	print_tree(fs, apps, 0, 0);
	for (i = 0; i < fs->n; i++) {
		if (!(fs->r[i].flags & XOK_DPF_COPY))
			continue;
		if (!copies)
			printf("copy filters:\n");
		copies = true;
		print_filter(&fs->r[i], apps, 1);
	}
}

static void print_ifaces(const struct recs *is)
{
	size_t i;

	printf("%-16s %7s %10s %10s %10s %10s %10s %9s %12s %12s\n", "IFACE", "IFINDEX", "RX", "TX",
	       "UNMATCHED", "RING_FULL", "NO_FILTER", "TX_ERR", "RX_BYTES", "TX_BYTES");
	for (i = 0; i < is->n; i++) {
		const struct xok_stat_rec *r = &is->r[i];
		char nm[17];

		name16(nm, r->name);
		printf("%-16s %7u %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
		       " %10" PRIu64 " %9" PRIu64 " %12" PRIu64 " %12" PRIu64 "\n",
		       nm, r->id, r->c[0], r->c[1], r->c[2], r->c[3], r->c[4], r->c[5], r->c[6],
		       r->c[7]);
	}
}

/* ---- the ARP table: mapped read-only through the sys layer (exos_table_get) ---- */

static struct exos_sys *arp_sys;
static const struct xok_arp_table *arp_table;

static const char *arp_state(uint16_t st)
{
	return st == XOK_ARP_VALID ? "valid" : st == XOK_ARP_FAILED ? "failed" : "free";
}

/* A consistent copy of the used entries (arpd's seqlock); their count, or -errno. */
static int arp_snapshot(struct xok_arp_entry *out, uint32_t *version)
{
	if (!arp_table) {
		const void *base;
		size_t size;
		int err = arp_sys ? 0 : exos_sys_open(socket_path, &arp_sys);

		if (!err)
			err = exos_table_get(arp_sys, XOK_TABLE_ARP, &base, &size);
		if (err) {
			fprintf(stderr, "xokctl: ARP table: %s\n", strerror(-err));
			return err;
		}
		if (size < sizeof(*arp_table))
			return -EPROTO;
		arp_table = base;
	}
	for (int spin = 0; spin < 100000; spin++) {
		uint32_t seq = xok_load_acquire(&arp_table->seq), n = 0;

		if (seq & 1)
			continue;
		*version = __atomic_load_n(&arp_table->version, __ATOMIC_RELAXED);
		for (uint32_t i = 0; i < XOK_ARP_ENTRIES; i++) {
			struct xok_arp_entry e;
			memcpy(&e, (const void *)&arp_table->e[i], sizeof(e));
			if (e.addr && e.state != XOK_ARP_FREE)
				out[n++] = e;
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&arp_table->seq, __ATOMIC_RELAXED) == seq)
			return (int)n;
	}
	return -EAGAIN;
}

static int show_arp(bool json)
{
	static struct xok_arp_entry e[XOK_ARP_ENTRIES];
	uint64_t now = exos_now_ns();
	uint32_t version = 0;
	int n = arp_snapshot(e, &version);

	if (n < 0)
		return n;
	if (json) {
		json_begin();
		json_nl(2);
		printf("\"arp\": {\"version\": %u, \"entries\": [", version);
	} else {
		printf("%-15s %-17s %7s %-6s %10s\n", "ADDRESS", "MAC", "IFINDEX", "STATE",
		       "AGE_S");
	}
	for (int i = 0; i < n; i++) {
		char ip[INET_ADDRSTRLEN], mac[18];
		double age = e[i].updated_ns && now > e[i].updated_ns
				     ? (double)(now - e[i].updated_ns) / 1e9
				     : 0;

		inet_ntop(AF_INET, &e[i].addr, ip, sizeof(ip));
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", e[i].mac[0], e[i].mac[1],
			 e[i].mac[2], e[i].mac[3], e[i].mac[4], e[i].mac[5]);
		if (json) {
			printf("%s", i ? "," : "");
			json_nl(4);
			printf("{\"addr\": \"%s\", \"mac\": \"%s\", \"ifindex\": %u, \"state\": "
			       "\"%s\", \"age_ms\": %" PRIu64 "}",
			       ip, mac, e[i].ifindex, arp_state(e[i].state), (uint64_t)(age * 1e3));
		} else {
			printf("%-15s %-17s %7u %-6s %10.1f\n", ip, mac, e[i].ifindex,
			       arp_state(e[i].state), age);
		}
	}
	if (json) {
		if (n)
			json_nl(2);
		printf("]}");
		json_end();
	}
	return 0;
}

/* ---- subcommands ---- */

enum cmd { CMD_APPS, CMD_FILTERS, CMD_RINGS, CMD_TX, CMD_IMPAIR, CMD_DPF, CMD_STATS, CMD_ARP,
	   CMD_NR };
static const char *const cmd_names[CMD_NR] = {"apps",	"filters", "rings", "tx",
					      "impair", "dpf",	   "stats", "arp"};

static struct recs ifs, rings, filters, apps, apps_tx, imp, dpf;

static int show(enum cmd cmd, bool json)
{
	int err = 0;

	switch (cmd) {
	case CMD_APPS:
		if ((err = fetch(XOK_STATS_APP, &apps)))
			break;
		if (json) {
			json_begin();
			json_list("apps", &apps, "app", "pid", "uid", "privileged", app_keys, NULL,
				  true);
			json_end();
		} else {
			print_apps(&apps);
		}
		break;
	case CMD_FILTERS:
		if ((err = fetch(XOK_STATS_FILTER, &filters)) || (err = fetch(XOK_STATS_APP, &apps)))
			break;
		if (json) {
			json_begin();
			json_list("filters", &filters, "filter", "owner", "parent", "flags",
				  filter_keys, &apps, true);
			json_end();
		} else {
			print_filters(&filters, &apps);
		}
		break;
	case CMD_TX:
		if ((err = fetch(XOK_STATS_APP_TX, &apps_tx)))
			break;
		if (json) {
			json_begin();
			json_list("apps_tx", &apps_tx, "app", "pid", "uid", "weight", app_tx_keys,
				  NULL, true);
			json_end();
		} else {
			print_apps_tx(&apps_tx);
		}
		break;
	case CMD_IMPAIR:
		if ((err = fetch(XOK_STATS_IMPAIR, &imp)))
			break;
		if (json) {
			json_begin();
			json_list("impair", &imp, "ifindex", "owner", "parent", "on", impair_keys,
				  NULL, true);
			json_end();
		} else {
			print_impair(&imp);
		}
		break;
	case CMD_DPF:
		if ((err = fetch(XOK_STATS_DPF, &dpf)))
			break;
		if (json) {
			json_begin();
			json_list("dpf", &dpf, "id", "owner", "parent", "tables", dpf_keys, NULL,
				  true);
			json_end();
		} else {
			print_dpf(&dpf);
		}
		break;
	case CMD_RINGS:
		if ((err = fetch(XOK_STATS_RING, &rings)))
			break;
		if (json) {
			json_begin();
			json_list("rings", &rings, "ring", "app", "parent", "nentries", ring_keys,
				  NULL, true);
			json_end();
		} else {
			print_rings(&rings);
		}
		break;
	case CMD_STATS:
		if ((err = fetch(XOK_STATS_IFACE, &ifs)) || (err = fetch(XOK_STATS_RING, &rings)) ||
		    (err = fetch(XOK_STATS_DPF, &dpf)))
			break;
		if (!json) {
			print_ifaces(&ifs);
			printf("\n");
			print_rings(&rings);
			printf("\n");
			print_dpf(&dpf);
			break;
		}
		if ((err = fetch(XOK_STATS_FILTER, &filters)) || (err = fetch(XOK_STATS_APP, &apps)) ||
		    (err = fetch(XOK_STATS_APP_TX, &apps_tx)) || (err = fetch(XOK_STATS_IMPAIR, &imp)))
			break;
		json_begin();
		json_list("ifaces", &ifs, "ifindex", "owner", "parent", "queues", iface_keys, NULL,
			  false);
		json_list("rings", &rings, "ring", "app", "parent", "nentries", ring_keys, NULL,
			  false);
		json_list("filters", &filters, "filter", "owner", "parent", "flags", filter_keys,
			  &apps, false);
		json_list("apps", &apps, "app", "pid", "uid", "privileged", app_keys, NULL, false);
		json_list("apps_tx", &apps_tx, "app", "pid", "uid", "weight", app_tx_keys, NULL,
			  false);
		json_list("impair", &imp, "ifindex", "owner", "parent", "on", impair_keys, NULL,
			  false);
		json_list("dpf", &dpf, "id", "owner", "parent", "tables", dpf_keys, NULL, true);
		json_end();
		break;
	case CMD_ARP:
		err = show_arp(json);
		break;
	case CMD_NR:
		break;
	}
	return err;
}

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int parse_count(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || end == s || *s == '-' || !*out) {
		fprintf(stderr, "xokctl: --count wants a positive number: %s\n", s);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"json", no_argument, NULL, 'j'},	    {"watch", no_argument, NULL, 'w'},
	    {"count", required_argument, NULL, 'n'}, {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},	    {0},
	};
	unsigned long count = 0;
	bool json = false, watch = false;
	enum cmd cmd;
	int c, err = 0;

	while ((c = getopt_long(argc, argv, "jwn:s:h", lo, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'w':
			watch = true;
			break;
		case 'n':
			if (parse_count(optarg, &count))
				return 2;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default: /* getopt said what is wrong */
			fprintf(stderr, "xokctl: see xokctl --help\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		if (optind == argc) {
			fputs("xokctl: which command?", stderr);
			for (cmd = 0; cmd < CMD_NR; cmd++)
				fprintf(stderr, " %s", cmd_names[cmd]);
		} else {
			fputs("xokctl: one command at a time", stderr);
		}
		fputs(" (see xokctl --help)\n", stderr);
		return 2;
	}
	for (cmd = 0; cmd < CMD_NR && strcmp(argv[optind], cmd_names[cmd]); cmd++)
		;
	if (cmd == CMD_NR) {
		fprintf(stderr, "xokctl: unknown command %s (see xokctl --help)\n", argv[optind]);
		return 2;
	}
	if (count && !watch) {
		fprintf(stderr, "xokctl: --count goes with --watch\n");
		return 2;
	}
	if (cmd != CMD_ARP && ctl_connect())
		return 1;
	if (watch) {
		struct sigaction sa = {.sa_handler = on_sigint};
		sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: the sleep ends */
		sigaction(SIGTERM, &sa, NULL);
		compact = json;
	}
	for (unsigned long i = 0; !interrupted; i++) {
		if (watch && !json)
			printf("\033[H\033[2J"); /* home, clear */
		err = show(cmd, json);
		fflush(stdout);
		if (err || !watch || (count && i + 1 >= count))
			break;
		nanosleep(&(struct timespec){1, 0}, NULL);
	}
	free(ifs.r);
	free(rings.r);
	free(filters.r);
	free(apps.r);
	free(apps_tx.r);
	free(imp.r);
	if (ctl_fd >= 0)
		close(ctl_fd);
	if (arp_sys)
		exos_sys_close(arp_sys);
	return err ? 1 : 0;
}
