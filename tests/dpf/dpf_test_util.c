/* dpf_test_util.c - shared helpers for libdpf's tests, fuzzer and benchmark */
#include "dpf_test_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "test_bytes.h"

uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t rng_below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rng_next(r) % n) : 0;
}

bool rng_chance(struct rng *r, unsigned percent)
{
	return rng_below(r, 100) < percent;
}

uint64_t test_seed(const char *name)
{
	const char *env = getenv("DPF_TEST_SEED");
	uint64_t seed;

	if (env && *env) {
		seed = strtoull(env, NULL, 0);
	} else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^
		       (uint64_t)getpid() << 32;
	}
	fprintf(stderr, "%s: seed %" PRIu64 " (replay with DPF_TEST_SEED=%" PRIu64 ")\n", name,
		seed, seed);
	return seed;
}

size_t frame_build(uint8_t *buf, size_t cap, const struct frame_spec *spec)
{
	uint8_t tmp[1600] = {0};
	size_t l4 = 14 + 4 * (size_t)spec->ihl, len = spec->len;

	memset(tmp, 0, sizeof(tmp));
	tmp[0] = 0x02; /* dst MAC 02:00:00:00:00:01, src 02:00:00:00:00:02 */
	tmp[5] = 0x01;
	tmp[6] = 0x02;
	tmp[11] = 0x02;
	put16(tmp + 12, spec->ethertype);
	tmp[14] = 0x40 | (spec->ihl & 0x0f);
	put16(tmp + 16, (uint16_t)(len > 14 ? len - 14 : 0));
	tmp[22] = 64;
	tmp[23] = spec->proto;
	put32(tmp + 26, spec->src);
	put32(tmp + 30, spec->dst);
	if (l4 + 4 <= sizeof(tmp)) {
		put16(tmp + l4, spec->sport);
		put16(tmp + l4 + 2, spec->dport);
	}
	if (len > sizeof(tmp))
		len = sizeof(tmp);
	if (len > cap)
		len = cap;
	memcpy(buf, tmp, len);
	return len;
}

int prog_run(int prog_fd, const uint8_t *frame, size_t len, struct dpf_result *res,
	     uint32_t *retval)
{
	uint8_t out[4096 + 64];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (uint32_t)len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	struct dpf_xdp_meta meta;

	memset(res, 0, sizeof(*res));
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	*retval = opts.retval;
	/* A matched frame comes back with the struct dpf_xdp_meta prefix in front of it. */
	if (opts.data_size_out == len)
		return 0;
	if (opts.data_size_out != len + sizeof(meta))
		return -EPROTO;
	memcpy(&meta, out, sizeof(meta));
	if (meta.magic != DPF_META_MAGIC || memcmp(out + sizeof(meta), frame, len))
		return -EPROTO;
	res->filter_id = meta.filter_id;
	res->copy_mask = meta.copy_mask;
	return 0;
}

int prog_time(int prog_fd, const uint8_t *frame, size_t len, uint32_t repeat, double *ns)
{
	uint8_t out[4096 + 64];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (uint32_t)len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	*ns = opts.duration;
	return 0;
}

/*
 * Program loads are paced: each load's old program is freed by deferred kernel work that
 * takes the JIT allocator's lock, and thousands of loads a second can pile up enough of it
 * to deadlock that allocator until reboot (seen on 6.18).  200 a second keeps the
 * differential tests and the fuzzer well clear of that.
 */
#define LOADS_PER_SEC 200

static void pace_loads(void)
{
	static uint64_t next_ns;
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (next_ns > now) {
		uint64_t wait = next_ns - now;
		struct timespec d = {.tv_sec = (time_t)(wait / 1000000000ull),
				     .tv_nsec = (long)(wait % 1000000000ull)};

		nanosleep(&d, NULL);
		now = next_ns;
	}
	next_ns = now + 1000000000ull / LOADS_PER_SEC;
}

int set_load(struct dpf_set *s, bool linear, enum dpf_unmatched unmatched, size_t *ninsns)
{
	struct dpf_codegen_opts o = {
	    .sz = sizeof(o), .xsk_map_fd = -1, .unmatched = unmatched, .linear = linear};
	static char log[1 << 20];
	struct dpf_prog p;
	int err, fd;

	err = dpf_codegen(s, &o, &p);
	if (err)
		return err;
	if (ninsns)
		*ninsns = p.ninsns;
	pace_loads();
	fd = dpf_prog_load(&p, log, sizeof(log));
	if (fd < 0) {
		size_t l = strlen(log);

		fprintf(stderr, "load failed (%d, %zu insns); verifier log tail:\n%s\n", fd,
			p.ninsns, l > 3000 ? log + l - 3000 : log);
	}
	dpf_prog_free(&p);
	return fd;
}

bool have_bpf(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "skipped: needs root (BPF_PROG_LOAD, BPF_PROG_TEST_RUN)\n");
		return false;
	}
	if (getenv("XOK_BPF_BROKEN")) {
		fprintf(stderr, "skipped: %s\n", getenv("XOK_BPF_BROKEN"));
		return false;
	}
	return true;
}
