/* test_verifier.c - 10,000 filters of mixed shapes must pass the verifier (needs root)
 *
 * The shapes of a busy host: arpd's ARP filter, strayd's catch-all, UDP services, ICMP and
 * GRE subnet filters, TCP listeners each refined by connections, bound TCP/UDP ports, and a
 * few copy filters.  The merged program must load; a sample of frames must agree with the
 * interpreter.  The program is larger than 32K instructions, so far jumps are exercised.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "xok/dpf.h"
#include "dpf_gen.h"
#include "dpf_test_util.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))
#define LOCAL	       IP(198, 18, 0, 1)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct dpf_set *mixed_set(unsigned *ntree)
{
	uint32_t failed_id = 0;
	int err;
	struct dpf_set *s = gen_mixed_set(10000, ntree, &err, &failed_id);

	if (!s)
		fail_msg("insert of filter %u: %d", failed_id, err);
	return s;
}

/* Frames aimed at the set's filters (and near misses). */
static size_t aimed_frame(struct rng *r, uint8_t *buf, size_t cap)
{
	struct frame_spec fs = {.ethertype = 0x0800, .ihl = 5, .len = 64};
	unsigned k = rng_below(r, 7);

	fs.dst = rng_chance(r, 80) ? LOCAL : LOCAL + 1;
	fs.ihl = rng_chance(r, 70) ? 5 : (uint8_t)(5 + rng_below(r, 11));
	fs.len = 14 + 4 * fs.ihl + 20;
	if (rng_chance(r, 10))
		fs.len = 14 + rng_below(r, (uint32_t)fs.len - 13);
	switch (k) {
	case 0:
		fs.ethertype = rng_chance(r, 50) ? 0x0806 : 0x86dd;
		break;
	case 1:
		fs.proto = 17;
		fs.dport = (uint16_t)(rng_chance(r, 50) ? 5000 + rng_below(r, 60)
							: 20000 + rng_below(r, 1100));
		break;
	case 2:
		fs.proto = rng_chance(r, 50) ? 1 : 47;
		fs.src = IP(10, 1 + rng_below(r, 10), rng_below(r, 256), rng_below(r, 256));
		break;
	case 3: {
		unsigned l = rng_below(r, 210), c = rng_below(r, 22);

		fs.proto = 6;
		fs.dport = (uint16_t)(8000 + l);
		fs.src = IP(172, 16, l, c);
		fs.sport = (uint16_t)(30000 + 7 * c + l + (rng_chance(r, 10) ? 1 : 0));
		break;
	}
	case 4:
		fs.proto = 6;
		fs.dport = (uint16_t)(10000 + rng_below(r, 3100));
		break;
	default:
		fs.proto = (uint8_t)rng_next(r);
		fs.dport = (uint16_t)rng_next(r);
		break;
	}
	return frame_build(buf, cap, &fs);
}

static void check_sample(const struct dpf_set *s, int fd, const char *mode, uint64_t seed)
{
	struct rng r = {seed};

	for (int i = 0; i < 3000; i++) {
		uint8_t frame[256];
		size_t len = aimed_frame(&r, frame, sizeof(frame));
		struct dpf_result want, got;
		uint32_t ret;

		dpf_interpret(s, frame, len, &want);
		assert_int_equal(prog_run(fd, frame, len, &got, &ret), 0);
		if (got.filter_id != want.filter_id || got.copy_mask != want.copy_mask)
			fail_msg("%s: frame %d: program id %u copy %#llx, interpreter id %u copy "
				 "%#llx (seed %llu)",
				 mode, i, got.filter_id, (unsigned long long)got.copy_mask,
				 want.filter_id, (unsigned long long)want.copy_mask,
				 (unsigned long long)seed);
	}
}

static void test_10k_mixed(void **state)
{
	struct dpf_codegen_opts o = {.sz = sizeof(o), .xsk_map_fd = -1};
	struct bpf_prog_info info;
	uint32_t ilen = sizeof(info);
	static char log[1 << 20];
	struct dpf_prog p;
	struct dpf_set *s;
	unsigned ntree;
	double t0, t1, t2;
	int fd;
	(void)state;

	t0 = now_s();
	s = mixed_set(&ntree);
	t1 = now_s();
	assert_int_equal(ntree, 10000);
	fprintf(stderr, "10k: set built in %.2f s (%.1f us/insert)\n", t1 - t0,
		(t1 - t0) * 1e6 / ntree);
	for (int linear = 0; linear < 2; linear++) {
		o.linear = linear;
		t0 = now_s();
		assert_int_equal(dpf_codegen(s, &o, &p), 0);
		t1 = now_s();
		fd = dpf_prog_load(&p, log, sizeof(log));
		t2 = now_s();
		if (fd < 0) {
			size_t l = strlen(log);

			fprintf(stderr, "%s: %zu insns: load failed %d\n%s\n",
				linear ? "linear" : "merged", p.ninsns, fd,
				l > 2000 ? log + l - 2000 : log);
			dpf_prog_free(&p);
			if (linear) /* the baseline is allowed to be too big */
				continue;
			fail_msg("merged program for 10k filters rejected");
		}
		memset(&info, 0, sizeof(info));
		assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &ilen), 0);
		fprintf(stderr,
			"10k %s: %zu insns, verifier processed %u, codegen %.1f ms, load %.1f ms\n",
			linear ? "linear" : "merged", p.ninsns, info.verified_insns,
			(t1 - t0) * 1e3, (t2 - t1) * 1e3);
		if (!linear)
			assert_true(p.ninsns > 32768); /* far jumps were needed */
		dpf_prog_free(&p);
		check_sample(s, fd, linear ? "linear" : "merged", test_seed("10k sample"));
		close(fd);
	}
	dpf_set_free(s);
}

/* Many siblings on one key: one binary search. */
static void test_4096_ports(void **state)
{
	struct dpf_set *s = dpf_set_new();
	struct dpf_filter f;
	size_t n;
	int fd;
	(void)state;

	for (unsigned i = 0; i < 4096; i++) {
		dpf_filter_tcp_port(&f, 0, (uint16_t)(1024 + 3 * i));
		assert_int_equal(dpf_set_insert(s, i + 1, &f, NULL), 0);
	}
	fd = set_load(s, false, DPF_UNMATCHED_PASS, &n);
	assert_true(fd >= 0);
	fprintf(stderr, "4096 ports: %zu insns\n", n);
	for (unsigned port = 1000; port < 1024 + 3 * 4096 + 10; port++) {
		struct frame_spec fs = {
		    .ethertype = 0x0800, .ihl = 5, .proto = 6, .dport = (uint16_t)port, .len = 60};
		uint8_t frame[64];
		struct dpf_result want, got;
		uint32_t ret;

		frame_build(frame, sizeof(frame), &fs);
		dpf_interpret(s, frame, 60, &want);
		assert_int_equal(prog_run(fd, frame, 60, &got, &ret), 0);
		assert_int_equal(got.filter_id, want.filter_id);
		assert_int_equal(want.filter_id,
				 (port >= 1024 && (port - 1024) % 3 == 0 && port < 1024 + 3 * 4096)
				     ? (port - 1024) / 3 + 1
				     : 0);
	}
	close(fd);
	dpf_set_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_4096_ports),
	    cmocka_unit_test(test_10k_mixed),
	};

	if (!have_bpf())
		return TEST_SKIP;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
