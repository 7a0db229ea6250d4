/* test_docset.c - document-set file: round trip, validation, corruption detection */
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

static struct swamp_docset *gen(uint32_t count, uint64_t seed)
{
	struct swamp_gen_params p = {count, 0.8, seed, 1 << 20, "/ws"};
	struct swamp_docset *ds = NULL;

	assert_int_equal(swamp_docset_generate(&p, &ds), 0);
	return ds;
}

static void assert_same(const struct swamp_docset *a, const struct swamp_docset *b)
{
	assert_int_equal(a->count, b->count);
	assert_true(a->zipf == b->zipf);
	assert_int_equal(a->seed, b->seed);
	for (uint32_t i = 0; i < a->count; i++) {
		assert_int_equal(a->docs[i].size, b->docs[i].size);
		assert_int_equal(a->docs[i].rank, b->docs[i].rank);
		assert_string_equal(swamp_docset_path(a, i), swamp_docset_path(b, i));
	}
}

static void test_round_trip(void **state)
{
	struct swamp_docset *ds = gen(300, 11), *back = NULL, *again = gen(300, 11);
	char file[] = "/tmp/test_webswamp_docsetXXXXXX", err[256];
	int fd = mkstemp(file);
	uint64_t big = 0;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	/* Generation is deterministic, sizes are capped, and the tail is there. */
	assert_same(ds, again);
	for (uint32_t i = 0; i < ds->count; i++) {
		assert_true(ds->docs[i].size <= 1 << 20);
		big += ds->docs[i].size > 133000;
	}
	assert_true(big > 5 && big < 60);
	assert_int_equal(swamp_docset_write(ds, file), 0);
	assert_int_equal(swamp_docset_load(file, &back, err, sizeof(err)), 0);
	assert_same(ds, back);
	unlink(file);
	swamp_docset_free(ds);
	swamp_docset_free(back);
	swamp_docset_free(again);
}

static int parse(const char *buf, size_t len, char *err, size_t errlen)
{
	struct swamp_docset *ds = NULL;
	int rc = swamp_docset_parse(buf, len, &ds, err, errlen);

	swamp_docset_free(ds);
	return rc;
}

/* Any single changed byte and any truncation is caught. */
static void test_corruption(void **state)
{
	struct swamp_docset *ds = gen(20, 3);
	char *buf, err[256];
	size_t len;

	(void)state;
	assert_int_equal(swamp_docset_format(ds, &buf, &len), 0);
	assert_int_equal(parse(buf, len, err, sizeof(err)), 0);
	for (size_t i = 0; i < len; i++) {
		char saved = buf[i];

		for (int bit = 0; bit < 8; bit++) {
			buf[i] = (char)(saved ^ (1 << bit));
			if (!parse(buf, len, err, sizeof(err)))
				fail_msg("byte %zu bit %d flipped: accepted", i, bit);
		}
		buf[i] = saved;
	}
	for (size_t cut = 0; cut < len; cut++)
		if (!parse(buf, cut, err, sizeof(err)))
			fail_msg("cut at %zu of %zu: accepted", cut, len);
	/* Trailing garbage. */
	buf = realloc(buf, len + 2);
	memcpy(buf + len, "x\n", 2);
	assert_int_equal(parse(buf, len + 2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "after the end"));
	free(buf);
	swamp_docset_free(ds);
}

/* Well-checksummed but invalid content (formatted from a bad struct): the reader says why. */
static void expect_invalid(struct swamp_docset *ds, const char *why)
{
	char *buf, err[256];
	size_t len;

	assert_int_equal(swamp_docset_format(ds, &buf, &len), 0);
	if (parse(buf, len, err, sizeof(err)) != -EINVAL)
		fail_msg("accepted (wanted '%s'):\n%.*s", why, (int)len, buf);
	if (!strstr(err, why))
		fail_msg("error '%s' does not say '%s'", err, why);
	free(buf);
}

static void test_validation(void **state)
{
	struct swamp_docset *ds = gen(5, 1);
	char *paths = ds->paths;
	char bad_paths[] = "/ok\0/../etc/passwd\0/a b\0//x\0/y/\0";
	uint32_t r0 = ds->docs[0].rank;

	(void)state;
	ds->docs[0].rank = ds->docs[1].rank;
	expect_invalid(ds, "appears twice");
	ds->docs[0].rank = 0;
	expect_invalid(ds, "bad rank");
	ds->docs[0].rank = 6;
	expect_invalid(ds, "bad rank");
	ds->docs[0].rank = r0;
	ds->docs[0].size = 1ULL << 41;
	expect_invalid(ds, "bad size");
	ds->docs[0].size = 1;
	ds->paths = bad_paths;
	for (uint32_t i = 0, off = 0; i < 5; i++) {
		ds->docs[i].path_off = off;
		off += (uint32_t)strlen(bad_paths + off) + 1;
	}
	expect_invalid(ds, "line 6: bad path"); /* the second doc line */
	ds->paths = paths;
	ds->zipf = 11;
	expect_invalid(ds, "zipf");
	swamp_docset_free(ds);
}

static void test_header_errors(void **state)
{
	char err[256];
	const char *v2 = "webswamp-docset 2\ncount 1\n";
	const char *zero = "webswamp-docset 1\ncount 0\n";
	const char *junk = "GIF89a\n";

	(void)state;
	assert_int_equal(parse(v2, strlen(v2), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "version 2"));
	assert_int_equal(parse(zero, strlen(zero), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "at least 1"));
	assert_int_equal(parse(junk, strlen(junk), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 1"));
	assert_int_equal(parse("", 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "truncated"));
}

static void test_load_errors(void **state)
{
	struct swamp_docset *ds = NULL;
	char err[256];

	(void)state;
	assert_int_equal(swamp_docset_load("/nonexistent/x", &ds, err, sizeof(err)), -ENOENT);
	assert_int_equal(swamp_docset_load("/tmp", &ds, err, sizeof(err)), -EFBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),	cmocka_unit_test(test_corruption),
	    cmocka_unit_test(test_validation),	cmocka_unit_test(test_header_errors),
	    cmocka_unit_test(test_load_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
