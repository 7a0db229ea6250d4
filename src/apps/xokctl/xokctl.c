/* xokctl.c - inspect a running xokd: apps, filters (as a tree), rings, counters */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <xok/abi.h>

static const char usage[] =
    "usage: xokctl apps|filters|rings|tx|impair|stats [--json] [--socket PATH]\n"
    "\n"
    "  apps      connected applications: pid, uid, regions, rings, filters, transmit and\n"
    "            control counters, wakeups\n"
    "  filters   the filter tree (children indented under the filter they refine) with\n"
    "            owners, delivery rings, references and hit counts; then copy filters\n"
    "  rings     packet rings: owner, geometry, delivered, dropped (ring full), truncated\n"
    "  tx        per app: transmit weight, bytes sent, frames refused by checked\n"
    "            transmission, queued and in-flight frames, requests refused for the rate\n"
    "            and by limits\n"
    "  impair    per interface: frames dropped, duplicated, reordered and delayed by\n"
    "            xokd --impair, each way\n"
    "  stats     per-interface counters, then rings; with --json everything (interfaces,\n"
    "            rings, filters, apps, apps_tx, impair) as one JSON object\n"
    "\n"
    "  -j, --json         machine-readable output\n"
    "  -s, --socket PATH  xokd's control socket (default $" XOK_SOCKET_ENV
    ", else " XOK_SOCKET_DEFAULT ")\n";

struct recs {
	struct xok_stat_rec *r;
	size_t n;
};

static int ctl_fd = -1;
static uint32_t ctl_seq;

static int ctl_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	if (!path)
		path = getenv(XOK_SOCKET_ENV);
	if (!path || !*path)
		path = XOK_SOCKET_DEFAULT;
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
		return -EPROTO;
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

/* ---- JSON ---- */

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
					   "deficit",	    NULL};
static const char *const impair_keys[8] = {"rx_drop", "rx_dup", "rx_reorder", "rx_delay",
					   "tx_drop", "tx_dup", "tx_reorder", "tx_delay"};

static void json_list(const char *key, const struct recs *rs, const char *id, const char *owner,
		      const char *parent, const char *flags, const char *const keys[8], bool last)
{
	size_t i;
	int k;

	printf("  \"%s\": [", key);
	for (i = 0; i < rs->n; i++) {
		const struct xok_stat_rec *r = &rs->r[i];
		char nm[17];

		name16(nm, r->name);
		printf("%s\n    {\"%s\": %u, \"%s\": %u, \"%s\": %u, \"%s\": %u, \"name\": \"%s\"",
		       i ? "," : "", id, r->id, owner, r->owner, parent, r->parent, flags, r->flags,
		       nm);
		for (k = 0; k < 8; k++)
			if (keys[k])
				printf(", \"%s\": %" PRIu64, keys[k], r->c[k]);
		printf("}");
	}
	printf("%s]%s\n", rs->n ? "\n  " : "", last ? "" : ",");
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

	printf("%-5s %-7s %-16s %6s %12s %8s %8s %8s %9s %8s\n", "APP", "PID", "COMM", "WEIGHT",
	       "TX_BYTES", "DENIED", "BACKLOG", "INFLIGHT", "THROTTLED", "LIMITS");
	for (i = 0; i < a->n; i++) {
		const struct xok_stat_rec *r = &a->r[i];
		char nm[17];

		name16(nm, r->name);
		printf("%-5u %-7u %-16s %6u %12" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64
		       " %9" PRIu64 " %8" PRIu64 "\n",
		       r->id, r->owner, nm, r->flags, r->c[0], r->c[1], r->c[2], r->c[3], r->c[4],
		       r->c[5]);
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

static void print_filter(const struct xok_stat_rec *r, int depth)
{
	char nm[17], label[64];

	name16(nm, r->name);
	snprintf(label, sizeof(label), "%*s%u", depth * 2, "", r->id);
	printf("%-16s %-5u %-16s %6" PRIu64 " %4" PRIu64 " %10" PRIu64 " %12" PRIu64 "%s%s\n",
	       label, r->owner, nm[0] ? nm : "(gone)", r->c[2], r->c[3], r->c[0], r->c[1],
	       (r->flags & XOK_DPF_OPEN) ? "  open" : "",
	       (r->flags & XOK_DPF_COPY) ? "  copy" : "");
}

static void print_tree(const struct recs *fs, uint32_t parent, int depth)
{
	size_t i;

	for (i = 0; i < fs->n; i++) {
		const struct xok_stat_rec *r = &fs->r[i];

		if ((r->flags & XOK_DPF_COPY) || r->parent != parent || depth > 64)
			continue;
		print_filter(r, depth);
		print_tree(fs, r->id, depth + 1);
	}
}

static void print_filters(const struct recs *fs)
{
	size_t i;
	bool copies = false;

	printf("%-16s %-5s %-16s %6s %4s %10s %12s\n", "FILTER", "OWNER", "COMM", "RING", "REFS",
	       "HITS", "BYTES");
	print_tree(fs, 0, 0);
	for (i = 0; i < fs->n; i++) {
		if (!(fs->r[i].flags & XOK_DPF_COPY))
			continue;
		if (!copies)
			printf("copy filters:\n");
		copies = true;
		print_filter(&fs->r[i], 1);
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

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *socket_path = NULL, *cmd = NULL;
	struct recs ifs = {0}, rings = {0}, filters = {0}, apps = {0}, apps_tx = {0}, imp = {0};
	bool json = false;
	int c, err = 0;

	while ((c = getopt_long(argc, argv, "js:h", lo, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(usage, stderr);
		return 2;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "apps") && strcmp(cmd, "filters") && strcmp(cmd, "rings") &&
	    strcmp(cmd, "tx") && strcmp(cmd, "impair") && strcmp(cmd, "stats")) {
		fprintf(stderr, "xokctl: unknown command %s\n%s", cmd, usage);
		return 2;
	}
	if (ctl_connect(socket_path))
		return 1;

	if (!strcmp(cmd, "apps")) {
		err = fetch(XOK_STATS_APP, &apps);
		if (!err && json) {
			printf("{\n");
			json_list("apps", &apps, "app", "pid", "uid", "privileged", app_keys, true);
			printf("}\n");
		} else if (!err) {
			print_apps(&apps);
		}
	} else if (!strcmp(cmd, "filters")) {
		err = fetch(XOK_STATS_FILTER, &filters);
		if (!err && json) {
			printf("{\n");
			json_list("filters", &filters, "filter", "owner", "parent", "flags",
				  filter_keys, true);
			printf("}\n");
		} else if (!err) {
			print_filters(&filters);
		}
	} else if (!strcmp(cmd, "tx")) {
		err = fetch(XOK_STATS_APP_TX, &apps_tx);
		if (!err && json) {
			printf("{\n");
			json_list("apps_tx", &apps_tx, "app", "pid", "uid", "weight", app_tx_keys,
				  true);
			printf("}\n");
		} else if (!err) {
			print_apps_tx(&apps_tx);
		}
	} else if (!strcmp(cmd, "impair")) {
		err = fetch(XOK_STATS_IMPAIR, &imp);
		if (!err && json) {
			printf("{\n");
			json_list("impair", &imp, "ifindex", "owner", "parent", "on", impair_keys,
				  true);
			printf("}\n");
		} else if (!err) {
			print_impair(&imp);
		}
	} else if (!strcmp(cmd, "rings")) {
		err = fetch(XOK_STATS_RING, &rings);
		if (!err && json) {
			printf("{\n");
			json_list("rings", &rings, "ring", "app", "parent", "nentries", ring_keys,
				  true);
			printf("}\n");
		} else if (!err) {
			print_rings(&rings);
		}
	} else {
		err = fetch(XOK_STATS_IFACE, &ifs);
		if (!err)
			err = fetch(XOK_STATS_RING, &rings);
		if (!err && json)
			err = fetch(XOK_STATS_FILTER, &filters);
		if (!err && json)
			err = fetch(XOK_STATS_APP, &apps);
		if (!err && json)
			err = fetch(XOK_STATS_APP_TX, &apps_tx);
		if (!err && json)
			err = fetch(XOK_STATS_IMPAIR, &imp);
		if (!err && json) {
			printf("{\n");
			json_list("ifaces", &ifs, "ifindex", "owner", "parent", "queues",
				  iface_keys, false);
			json_list("rings", &rings, "ring", "app", "parent", "nentries", ring_keys,
				  false);
			json_list("filters", &filters, "filter", "owner", "parent", "flags",
				  filter_keys, false);
			json_list("apps", &apps, "app", "pid", "uid", "privileged", app_keys, false);
			json_list("apps_tx", &apps_tx, "app", "pid", "uid", "weight", app_tx_keys,
				  false);
			json_list("impair", &imp, "ifindex", "owner", "parent", "on", impair_keys,
				  true);
			printf("}\n");
		} else if (!err) {
			print_ifaces(&ifs);
			printf("\n");
			print_rings(&rings);
		}
	}
	free(ifs.r);
	free(rings.r);
	free(filters.r);
	free(apps.r);
	free(apps_tx.r);
	free(imp.r);
	close(ctl_fd);
	return err ? 1 : 0;
}
