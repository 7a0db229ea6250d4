/* report.c - results in wrk's text shape, or as JSON */
#include <inttypes.h>
#include <string.h>

#include "report.h"

static const double percentiles[] = {50, 90, 99, 99.9};

static double per_sec(uint64_t n, uint64_t ns)
{
	return ns ? (double)n * 1e9 / (double)ns : 0.0;
}

static double per_req(uint64_t n, uint64_t requests)
{
	return requests ? (double)n / (double)requests : 0.0;
}

/* wrk's units: "635.91us", "12.92ms", "1.02s". */
static const char *fmt_time(char *buf, size_t len, double ns)
{
	if (ns < 1e6)
		snprintf(buf, len, "%.2fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
	return buf;
}

/* wrk's binary units: "17.76GB", "1.75MB", "512.00B". */
static const char *fmt_bytes(char *buf, size_t len, double v)
{
	static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
	unsigned u = 0;

	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, len, "%.2f%s", v, units[u]);
	return buf;
}

static void text_latency(FILE *f, const struct swamp_hist *h)
{
	double mean = swamp_hist_mean(h), sd = swamp_hist_stdev(h);
	char a[32], b[32], c[32];

	fprintf(f, "  Stats         Avg      Stdev     Max   +/- Stdev\n");
	fprintf(f, "    Latency %10s %10s %9s %8.2f%%\n", fmt_time(a, sizeof(a), mean),
		fmt_time(b, sizeof(b), sd), fmt_time(c, sizeof(c), (double)h->max),
		100.0 * swamp_hist_within(h, mean - sd, mean + sd));
	fprintf(f, "  Latency Distribution\n");
	for (size_t i = 0; i < sizeof(percentiles) / sizeof(percentiles[0]); i++)
		fprintf(f, "  %6g%% %9s\n", percentiles[i],
			fmt_time(a, sizeof(a), (double)swamp_hist_percentile(h, percentiles[i])));
}

/* The client stack's own view: a latency tail with retransmissions or transmit stalls
 * beside it is the client's doing, without them the network's or the server's. */
static void text_counters(FILE *f, const struct swamp_stats *st)
{
	const struct swamp_counters *c = &st->counters;

	fprintf(f, "  Packets: %" PRIu64 " sent, %" PRIu64 " received, %.2f/%.2f per request\n",
		c->tx_packets, c->rx_packets, per_req(c->tx_packets, st->requests),
		per_req(c->rx_packets, st->requests));
	if (c->retransmits || c->timeouts || c->tx_full || c->tx_dropped)
		fprintf(f,
			"  Stack: %" PRIu64 " retransmitted, %" PRIu64 " timeouts, %" PRIu64
			" sends found xokd's queue full, %" PRIu64 " frames dropped\n",
			c->retransmits, c->timeouts, c->tx_full, c->tx_dropped);
}

static void json_counters(FILE *f, const struct swamp_stats *st)
{
	const struct swamp_counters *c = &st->counters;

	fprintf(f,
		"  \"packets\": {\"tx\": %" PRIu64 ", \"rx\": %" PRIu64
		", \"tx_per_request\": %.3f, \"rx_per_request\": %.3f},\n",
		c->tx_packets, c->rx_packets, per_req(c->tx_packets, st->requests),
		per_req(c->rx_packets, st->requests));
	fprintf(f,
		"  \"stack\": {\"retransmits\": %" PRIu64 ", \"timeouts\": %" PRIu64
		", \"tx_full\": %" PRIu64 ", \"tx_dropped\": %" PRIu64 "},\n",
		c->retransmits, c->timeouts, c->tx_full, c->tx_dropped);
}

static void text_errors(FILE *f, const struct swamp_stats *st)
{
	const uint64_t *e = st->errors;

	if (e[SWAMP_ERR_CONNECT] || e[SWAMP_ERR_READ] || e[SWAMP_ERR_WRITE] || e[SWAMP_ERR_TIMEOUT])
		fprintf(f,
			"  Socket errors: connect %" PRIu64 ", read %" PRIu64 ", write %" PRIu64
			", timeout %" PRIu64 "\n",
			e[SWAMP_ERR_CONNECT], e[SWAMP_ERR_READ], e[SWAMP_ERR_WRITE],
			e[SWAMP_ERR_TIMEOUT]);
	if (e[SWAMP_ERR_STATUS])
		fprintf(f, "  Non-2xx responses: %" PRIu64 " (first: %d)\n", e[SWAMP_ERR_STATUS],
			st->first_errno[SWAMP_ERR_STATUS]);
	if (e[SWAMP_ERR_MALFORMED] || e[SWAMP_ERR_SHORT])
		fprintf(f, "  Malformed responses: %" PRIu64 ", short responses: %" PRIu64 "\n",
			e[SWAMP_ERR_MALFORMED], e[SWAMP_ERR_SHORT]);
	for (int k = 0; k < SWAMP_ERR_NR; k++)
		if (e[k] && k != SWAMP_ERR_STATUS)
			fprintf(f, "  First %s error: %s\n", swamp_err_names[k],
				strerror(st->first_errno[k]));
}

void swamp_report_text(FILE *f, const struct swamp_report *r)
{
	const struct swamp_stats *st = r->st;
	const struct swamp_opts *o = r->o;
	double cpu = (double)(st->cpu_user_ns + st->cpu_sys_ns);
	char a[32], b[32];

	fprintf(f, "Running %s test @ %s\n", fmt_time(a, sizeof(a), (double)o->duration_ns),
		o->url);
	fprintf(f, "  1 thread and %" PRIu32 " connections (%s, driver %s, %s)\n", o->conns,
		r->prog, r->driver, o->keepalive ? "HTTP/1.1 keep-alive" : "HTTP/1.0 close");
	text_latency(f, &st->latency);
	fprintf(f, "  %" PRIu64 " requests in %s, %s read\n", st->requests,
		fmt_time(a, sizeof(a), (double)st->elapsed_ns),
		fmt_bytes(b, sizeof(b), (double)st->bytes));
	text_errors(f, st);
	fprintf(f, "  CPU: %.2fs user, %.2fs sys, %.2fus per request\n",
		(double)st->cpu_user_ns / 1e9, (double)st->cpu_sys_ns / 1e9,
		st->requests ? cpu / 1e3 / (double)st->requests : 0.0);
	if (st->have_counters)
		text_counters(f, st);
	fprintf(f, "Requests/sec: %10.2f\n", per_sec(st->requests, st->elapsed_ns));
	fprintf(f, "Transfer/sec: %10s\n",
		fmt_bytes(a, sizeof(a), per_sec(st->bytes, st->elapsed_ns)));
}

/* URLs and names are printable ASCII (url.c checks), so escaping '"' and '\' suffices. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void json_latency(FILE *f, const struct swamp_hist *h)
{
	fprintf(f,
		"  \"latency_us\": {\"mean\": %.3f, \"stdev\": %.3f, \"min\": %.3f, \"max\": %.3f",
		swamp_hist_mean(h) / 1e3, swamp_hist_stdev(h) / 1e3,
		h->count ? (double)h->min / 1e3 : 0.0, (double)h->max / 1e3);
	for (size_t i = 0; i < sizeof(percentiles) / sizeof(percentiles[0]); i++)
		fprintf(f, ", \"p%g\": %.3f", percentiles[i],
			(double)swamp_hist_percentile(h, percentiles[i]) / 1e3);
	fprintf(f, "},\n");
}

void swamp_report_json(FILE *f, const struct swamp_report *r)
{
	const struct swamp_stats *st = r->st;
	const struct swamp_opts *o = r->o;
	double cpu_us = (double)(st->cpu_user_ns + st->cpu_sys_ns) / 1e3;

	fprintf(f, "{\n  \"tool\": ");
	json_str(f, r->prog);
	fprintf(f, ",\n  \"url\": ");
	json_str(f, o->url);
	fprintf(f, ",\n  \"driver\": ");
	json_str(f, r->driver);
	fprintf(f, ",\n  \"connections\": %" PRIu32 ",\n  \"keepalive\": %s,\n", o->conns,
		o->keepalive ? "true" : "false");
	fprintf(f, "  \"duration_s\": %.6f,\n  \"requests\": %" PRIu64 ",\n", st->elapsed_ns / 1e9,
		st->requests);
	fprintf(f, "  \"bytes\": %" PRIu64 ",\n  \"body_bytes\": %" PRIu64 ",\n", st->bytes,
		st->body_bytes);
	fprintf(f, "  \"connects\": %" PRIu64 ",\n", st->connects);
	fprintf(f, "  \"requests_per_sec\": %.2f,\n  \"bytes_per_sec\": %.2f,\n",
		per_sec(st->requests, st->elapsed_ns), per_sec(st->bytes, st->elapsed_ns));
	json_latency(f, &st->latency);
	fprintf(f, "  \"errors\": {");
	for (int k = 0; k < SWAMP_ERR_NR; k++)
		fprintf(f, "%s\"%s\": %" PRIu64, k ? ", " : "", swamp_err_names[k], st->errors[k]);
	fprintf(f, "},\n");
	if (st->have_counters)
		json_counters(f, st);
	fprintf(f, "  \"cpu\": {\"user_s\": %.6f, \"sys_s\": %.6f, \"us_per_request\": %.3f}\n}\n",
		st->cpu_user_ns / 1e9, st->cpu_sys_ns / 1e9,
		st->requests ? cpu_us / (double)st->requests : 0.0);
}
