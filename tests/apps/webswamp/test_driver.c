/* test_driver.c - drivers: request formatting, surge determinism and its distributions */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "docset.h"
#include "driver.h"
#include "param.h"

#define NDOCS	500
#define CLIENTS 8
#define TASKS	2000

static char docset_file[] = "/tmp/test_webswamp_docsetXXXXXX";
static struct swamp_url url;

static int setup(void **state)
{
	struct swamp_gen_params p = {NDOCS, 1.0, 99, 1 << 20, "/ws"};
	struct swamp_docset *ds;
	int fd = mkstemp(docset_file);

	(void)state;
	if (fd < 0 || swamp_url_parse("http://198.18.0.1:8080/base/", false, &url, NULL))
		return -1;
	close(fd);
	if (swamp_docset_generate(&p, &ds) || swamp_docset_write(ds, docset_file))
		return -1;
	swamp_docset_free(ds);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(docset_file);
	return 0;
}

static struct swamp_driver *make(const char *name, uint64_t seed, double think_ms, bool ka)
{
	char err[256] = "";
	struct swamp_driver_params p = {
	    .name = name,
	    .url = &url,
	    .keepalive = ka,
	    .clients = CLIENTS,
	    .seed = seed,
	    .think_ms = think_ms,
	    .docset = docset_file,
	    .err = err,
	    .errlen = sizeof(err),
	};
	struct swamp_driver *d = NULL;

	if (swamp_driver_create(&p, &d))
		fail_msg("driver %s: %s", name, err);
	return d;
}

static void test_fixed(void **state)
{
	struct swamp_driver *d = make("fixed", 1, -1, false);
	struct swamp_task t;
	const char *want = "GET /base/ HTTP/1.0\r\nHost: 198.18.0.1:8080\r\n\r\n";

	(void)state;
	for (uint32_t c = 0; c < CLIENTS; c++) {
		swamp_driver_next(d, c, &t);
		assert_int_equal(t.req_len, strlen(want));
		assert_memory_equal(t.req, want, t.req_len);
		assert_int_equal(t.think_ns, 0);
		assert_string_equal(t.path, "/base/");
	}
	swamp_driver_destroy(d);
	d = make("fixed", 1, 2.5, true);
	swamp_driver_next(d, 0, &t);
	assert_int_equal(t.think_ns, 2500000);
	assert_memory_equal(t.req, "GET /base/ HTTP/1.1\r\n", 21);
	swamp_driver_destroy(d);
}

/* Records the (doc, think) sequence of every client, interleaving clients in `order`. */
static void run_sequence(struct swamp_driver *d, uint32_t *docs, uint64_t *thinks, int order)
{
	for (int i = 0; i < TASKS; i++)
		for (uint32_t k = 0; k < CLIENTS; k++) {
			uint32_t c = order ? CLIENTS - 1 - k : k;
			struct swamp_task t;

			swamp_driver_next(d, c, &t);
			docs[c * TASKS + i] = t.doc;
			thinks[c * TASKS + i] = t.think_ns;
		}
}

static void test_surge_deterministic(void **state)
{
	size_t n = CLIENTS * TASKS;
	uint32_t *d1 = calloc(n, 4), *d2 = calloc(n, 4), *d3 = calloc(n, 4);
	uint64_t *t1 = calloc(n, 8), *t2 = calloc(n, 8), *t3 = calloc(n, 8);
	struct swamp_driver *a = make("surge", 1234, 10, false);
	struct swamp_driver *b = make("surge", 1234, 10, false);
	struct swamp_driver *c = make("surge", 1235, 10, false);
	size_t same = 0;

	(void)state;
	/* Same seed, clients interleaved differently: identical per-client sequences. */
	run_sequence(a, d1, t1, 0);
	run_sequence(b, d2, t2, 1);
	assert_memory_equal(d1, d2, n * 4);
	assert_memory_equal(t1, t2, n * 8);
	/* Another seed: a different sequence. */
	run_sequence(c, d3, t3, 0);
	for (size_t i = 0; i < n; i++)
		same += d1[i] == d3[i];
	assert_true(same < n / 4);
	assert_memory_not_equal(t1, t3, n * 8);
	/* Clients of one run differ from each other. */
	assert_memory_not_equal(d1, d1 + TASKS, TASKS * 4);
	swamp_driver_destroy(a);
	swamp_driver_destroy(b);
	swamp_driver_destroy(c);
	free(d1), free(d2), free(d3), free(t1), free(t2), free(t3);
}

static void test_surge_distributions(void **state)
{
	struct swamp_driver *d = make("surge", 5, 10, false);
	struct swamp_docset *ds;
	uint32_t hits[NDOCS] = {0}, top = 0, rank1 = 0;
	uint64_t k = 10000000, tmin = UINT64_MAX, tmax = 0;
	char err[128];

	(void)state;
	assert_int_equal(swamp_docset_load(docset_file, &ds, err, sizeof(err)), 0);
	for (int i = 0; i < 100000; i++) {
		struct swamp_task t;

		swamp_driver_next(d, (uint32_t)i % CLIENTS, &t);
		assert_true(t.doc < NDOCS);
		hits[t.doc]++;
		tmin = t.think_ns < tmin ? t.think_ns : tmin;
		tmax = t.think_ns > tmax ? t.think_ns : tmax;
		/* The request names the document under the URL's path. */
		assert_memory_equal(t.req, "GET /base/ws/", 13);
		assert_string_equal(t.path + 5, swamp_docset_path(ds, t.doc));
	}
	for (uint32_t i = 0; i < NDOCS; i++) {
		if (hits[i] > hits[top])
			top = i;
		if (ds->docs[i].rank == 1)
			rank1 = i;
	}
	/* Zipf(1) over 500 documents: rank 1 gets ~15% of requests and is the most popular. */
	assert_int_equal(top, rank1);
	assert_true(hits[rank1] > 12000 && hits[rank1] < 18000);
	/* Pareto think times: never below the scale, truncated at SWAMP_SURGE_THINK_CAP. */
	assert_true(tmin >= k);
	assert_true(tmax <= k * SWAMP_SURGE_THINK_CAP);
	assert_true(tmax > 10 * k);
	swamp_docset_free(ds);
	swamp_driver_destroy(d);
}

static void test_errors(void **state)
{
	char err[256] = "";
	struct swamp_driver_params p = {
	    .name = "surge",
	    .url = &url,
	    .clients = 1,
	    .think_ms = -1,
	    .err = err,
	    .errlen = sizeof(err),
	};
	struct swamp_driver *d;

	(void)state;
	assert_int_equal(swamp_driver_create(&p, &d), -EINVAL);
	assert_non_null(strstr(err, "--docset"));
	p.docset = "/nonexistent/docset";
	assert_true(swamp_driver_create(&p, &d) < 0);
	assert_non_null(strstr(err, "/nonexistent/docset"));
	p.name = "bogus";
	assert_int_equal(swamp_driver_create(&p, &d), -EINVAL);
	assert_non_null(strstr(err, "unknown driver"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixed),
	    cmocka_unit_test(test_surge_deterministic),
	    cmocka_unit_test(test_surge_distributions),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
