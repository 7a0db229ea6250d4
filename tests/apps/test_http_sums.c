/* test_http_sums.c - the .cheetah-sums index: round trip, validation, corruption, staleness */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "http_testutil.h"

#include "cksum.h"
#include "path.h"

static uint16_t sums_a[3] = {0x1234, 0xffff, 0x0001};
static uint16_t sums_b[1] = {0xabcd};
static uint16_t sums_c[2] = {0x0102, 0x0304};

/* Sorted by (path, seg_size); "a.html" twice, with two segment sizes. */
static const struct cksum_entry ents[] = {
    {"a.html", 3000, 1700000000123456789LL, 1448, 3, sums_a},
    {"a.html", 3000, 1700000000123456789LL, 3000, 1, sums_b},
    {"dir/b.bin", 2, -5, 1, 2, sums_c},
    {"dir/empty", 0, 0, 1448, 0, NULL},
};
#define NENTS (sizeof(ents) / sizeof(ents[0]))

static void check_same(const struct cksum_entry *a, const struct cksum_entry *b)
{
	assert_string_equal(a->path, b->path);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->mtime_ns, b->mtime_ns);
	assert_int_equal(a->seg_size, b->seg_size);
	assert_int_equal(a->seg_count, b->seg_count);
	for (uint32_t i = 0; i < a->seg_count; i++)
		assert_int_equal(a->sums[i], b->sums[i]);
}

static void encode_all(void **img, size_t *len)
{
	assert_int_equal(cksum_index_encode(ents, NENTS, img, len), 0);
}

static void test_round_trip(void **state)
{
	struct cksum_index idx;
	size_t len;
	void *img;

	(void)state;
	encode_all(&img, &len);
	assert_int_equal(len % 8, 0);
	assert_memory_equal(img, CKSUM_INDEX_MAGIC, 8);
	assert_int_equal(cksum_index_decode(img, len, &idx), 0);
	assert_int_equal(idx.count, NENTS);
	for (size_t i = 0; i < NENTS; i++)
		check_same(&idx.ents[i], &ents[i]);
	check_same(cksum_index_find(&idx, "a.html", 1448), &ents[0]);
	check_same(cksum_index_find(&idx, "a.html", 3000), &ents[1]);
	check_same(cksum_index_find(&idx, "dir/empty", 1448), &ents[3]);
	assert_null(cksum_index_find(&idx, "a.html", 1460));
	assert_null(cksum_index_find(&idx, "b.html", 1448));
	assert_null(cksum_index_find(&idx, "", 1448));
	cksum_index_free(&idx);
	free(img);
}

static void test_empty_index(void **state)
{
	struct cksum_index idx;
	size_t len;
	void *img;

	(void)state;
	assert_int_equal(cksum_index_encode(NULL, 0, &img, &len), 0);
	assert_int_equal(len, CKSUM_HDR_SIZE);
	assert_int_equal(cksum_index_decode(img, len, &idx), 0);
	assert_int_equal(idx.count, 0);
	assert_null(cksum_index_find(&idx, "a", 1448));
	cksum_index_free(&idx);
	free(img);
}

/* The documented layout, byte for byte, for one small entry. */
static void test_layout(void **state)
{
	static uint16_t s[2] = {0xa1b2, 0x0c0d};
	const struct cksum_entry e = {"ab", 3, 0x0102030405060708LL, 2, 2, s};
	static const unsigned char want_ent[] = {
	    48,	  0,	0,    0,    2, 0, 0, 0, /* entry_size, path_len, reserved */
	    3,	  0,	0,    0,    0, 0, 0, 0, /* size */
	    8,	  7,	6,    5,    4, 3, 2, 1, /* mtime_ns */
	    2,	  0,	0,    0,    2, 0, 0, 0, /* seg_size, seg_count */
	    'a',  'b',	0,    0,    0, 0, 0, 0, /* path, NUL padding to 8 */
	    0xb2, 0xa1, 0x0d, 0x0c, 0, 0, 0, 0, /* sums, padding */
	};
	unsigned char *img;
	size_t len;

	(void)state;
	assert_int_equal(cksum_index_encode(&e, 1, (void **)&img, &len), 0);
	assert_int_equal(len, CKSUM_HDR_SIZE + sizeof(want_ent));
	assert_int_equal(img[8], CKSUM_INDEX_VERSION);
	assert_int_equal(img[12], CKSUM_HDR_SIZE);
	assert_int_equal(img[16], 1);
	assert_int_equal(img[24], len);
	assert_memory_equal(img + CKSUM_HDR_SIZE, want_ent, sizeof(want_ent));
	free(img);
}

static void test_every_byte_flip_detected(void **state)
{
	struct cksum_index idx;
	unsigned char *img;
	size_t len;

	(void)state;
	encode_all((void **)&img, &len);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			img[i] ^= (unsigned char)(1 << bit);
			if (cksum_index_decode(img, len, &idx) == 0)
				fail_msg("flip of bit %d at offset %zu went unnoticed", bit, i);
			img[i] ^= (unsigned char)(1 << bit);
		}
	}
	assert_int_equal(cksum_index_decode(img, len, &idx), 0);
	cksum_index_free(&idx);
	free(img);
}

static void test_truncation_detected(void **state)
{
	struct cksum_index idx;
	unsigned char *img, *big;
	size_t len;

	(void)state;
	encode_all((void **)&img, &len);
	for (size_t n = 0; n < len; n++)
		assert_int_equal(cksum_index_decode(img, n, &idx), -EBADMSG);
	big = calloc(1, len + 8);
	memcpy(big, img, len);
	assert_int_equal(cksum_index_decode(big, len + 8, &idx), -EBADMSG);
	free(big);
	free(img);
}

/* Recompute the CRC of a doctored image, so only the structural checks can catch it. */
static void fix_crc(unsigned char *img, size_t len)
{
	static const unsigned char zero[4];
	uLong crc = crc32(0L, Z_NULL, 0);
	uint32_t v;

	crc = crc32(crc, img, 32);
	crc = crc32(crc, zero, 4);
	v = (uint32_t)crc32(crc, img + 36, (uInt)(len - 36));
	img[32] = (unsigned char)v;
	img[33] = (unsigned char)(v >> 8);
	img[34] = (unsigned char)(v >> 16);
	img[35] = (unsigned char)(v >> 24);
}

static int decode_doctored(size_t off, unsigned char val)
{
	struct cksum_index idx;
	unsigned char *img;
	size_t len;
	int err;

	encode_all((void **)&img, &len);
	img[off] = val;
	fix_crc(img, len);
	err = cksum_index_decode(img, len, &idx);
	if (!err)
		cksum_index_free(&idx);
	free(img);
	return err;
}

static void test_structure_checked(void **state)
{
	const size_t e0 = CKSUM_HDR_SIZE; /* first entry: "a.html", 1448, 3 sums */

	(void)state;
	assert_int_equal(decode_doctored(8, 2), -EPROTONOSUPPORT); /* version */
	assert_int_equal(decode_doctored(0, 'Y'), -EBADMSG);	   /* magic */
	assert_int_equal(decode_doctored(12, 48), -EBADMSG);	   /* header_size */
	assert_int_equal(decode_doctored(16, 5), -EBADMSG);	   /* entry_count */
	assert_int_equal(decode_doctored(16, 3), -EBADMSG);
	assert_int_equal(decode_doctored(20, 1), -EBADMSG);	    /* flags */
	assert_int_equal(decode_doctored(36, 1), -EBADMSG);	    /* reserved */
	assert_int_equal(decode_doctored(e0 + 0, 8), -EBADMSG);	    /* entry_size */
	assert_int_equal(decode_doctored(e0 + 4, 5), -EBADMSG);	    /* path_len */
	assert_int_equal(decode_doctored(e0 + 6, 1), -EBADMSG);	    /* reserved */
	assert_int_equal(decode_doctored(e0 + 8, 0), -EBADMSG);	    /* size vs seg_count */
	assert_int_equal(decode_doctored(e0 + 25, 0x10), -EBADMSG); /* seg_size vs seg_count */
	assert_int_equal(decode_doctored(e0 + 28, 4), -EBADMSG);    /* seg_count */
	assert_int_equal(decode_doctored(e0 + 32, '.'), -EBADMSG);  /* hidden path */
	assert_int_equal(decode_doctored(e0 + 32, '/'), -EBADMSG);  /* absolute path */
	assert_int_equal(decode_doctored(e0 + 33, 0), -EBADMSG);    /* NUL inside the path */
	assert_int_equal(decode_doctored(e0 + 32, 'z'), -EBADMSG);  /* out of order */
	assert_int_equal(decode_doctored(e0 + 38, 1), -EBADMSG);    /* path padding */
	assert_int_equal(decode_doctored(e0 + 46, 1), -EBADMSG);    /* sums padding */
}

static void test_encode_refuses(void **state)
{
	struct cksum_entry bad[2] = {ents[0], ents[1]};
	size_t len;
	void *img;

	(void)state;
	bad[1] = ents[0]; /* duplicate */
	assert_int_equal(cksum_index_encode(bad, 2, &img, &len), -EINVAL);
	bad[0] = ents[1];
	bad[1] = ents[0]; /* unsorted */
	assert_int_equal(cksum_index_encode(bad, 2, &img, &len), -EINVAL);
	bad[0] = ents[0];
	bad[0].seg_count = 2;
	assert_int_equal(cksum_index_encode(bad, 1, &img, &len), -EINVAL);
	bad[0] = ents[0];
	bad[0].path = "a/../b";
	assert_int_equal(cksum_index_encode(bad, 1, &img, &len), -EINVAL);
	bad[0].path = "a//b";
	assert_int_equal(cksum_index_encode(bad, 1, &img, &len), -EINVAL);
	bad[0].path = "a/";
	assert_int_equal(cksum_index_encode(bad, 1, &img, &len), -EINVAL);
	bad[0].path = "";
	assert_int_equal(cksum_index_encode(bad, 1, &img, &len), -EINVAL);
	bad[0] = ents[0];
	bad[0].seg_size = 0;
	assert_int_equal(cksum_index_encode(bad, 1, &img, &len), -EINVAL);
}

static void test_stale(void **state)
{
	(void)state;
	assert_int_equal(cksum_entry_check(&ents[0], 3000, 1700000000123456789LL), 0);
	assert_int_equal(cksum_entry_check(&ents[0], 3001, 1700000000123456789LL), -ESTALE);
	assert_int_equal(cksum_entry_check(&ents[0], 3000, 1700000000123456788LL), -ESTALE);
}

struct reported {
	int stale, gone;
};

static void on_report(const struct cksum_entry *e, int err, void *arg)
{
	struct reported *r = arg;

	(void)e;
	if (err == -ESTALE)
		r->stale++;
	else
		r->gone++;
}

/* Write real files, index them, load from disk, then make entries stale and gone. */
static void test_files(void **state)
{
	char dir[] = "/tmp/test_http_sums.XXXXXX";
	unsigned char data[4000];
	struct cksum_entry e[2];
	uint16_t sums[2][3];
	struct cksum_index idx;
	struct reported rep = {0};
	struct stat st;
	int dfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7);
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "y.bin" : "x.bin";
		int fd = openat(dfd, name, O_WRONLY | O_CREAT, 0644);

		assert_int_equal(write(fd, data, sizeof(data)), sizeof(data));
		assert_int_equal(fstat(fd, &st), 0);
		close(fd);
		cksum_segments(data, sizeof(data), 1448, sums[i]);
		e[i] = (struct cksum_entry){name, sizeof(data), http_stat_mtime_ns(&st), 1448,
					    3,	  sums[i]};
	}
	assert_int_equal(cksum_index_load(dfd, &idx), -ENOENT);
	assert_int_equal(cksum_index_write(dfd, e, 2), 0);
	assert_int_equal(cksum_index_load(dfd, &idx), 0);
	check_same(&idx.ents[1], &e[1]);
	assert_int_equal(cksum_index_verify(&idx, dfd, on_report, &rep), 0);

	/* A newer mtime makes x.bin stale; removing y.bin makes its entry gone. */
	assert_int_equal(utimensat(dfd, "x.bin", (struct timespec[]){{1, 0}, {2, 0}}, 0), 0);
	assert_int_equal(unlinkat(dfd, "y.bin", 0), 0);
	assert_int_equal(cksum_index_verify(&idx, dfd, on_report, &rep), 2);
	assert_int_equal(rep.stale, 1);
	assert_int_equal(rep.gone, 1);
	cksum_index_free(&idx);

	/* A corrupted file on disk is refused as a whole. */
	assert_int_equal(pwrite(openat(dfd, CKSUM_INDEX_NAME, O_WRONLY), "X", 1, 60), 1);
	assert_int_equal(cksum_index_load(dfd, &idx), -EBADMSG);
	close(dfd);
	tu_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_empty_index),
	    cmocka_unit_test(test_layout),
	    cmocka_unit_test(test_every_byte_flip_detected),
	    cmocka_unit_test(test_truncation_detected),
	    cmocka_unit_test(test_structure_checked),
	    cmocka_unit_test(test_encode_refuses),
	    cmocka_unit_test(test_stale),
	    cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
