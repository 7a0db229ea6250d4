/* cksum.c - Internet checksum partial sums and the cheetah-prep checksum index */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cksum.h"
#include "path.h"

/* ---- partial sums ---- */

uint16_t cksum_add(uint16_t a, uint16_t b)
{
	uint32_t s = (uint32_t)a + b;

	return (uint16_t)((s & 0xffff) + (s >> 16));
}

static uint16_t fold64(uint64_t s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/*
 * Sum native 64-bit words with end-around carry: 2^64 = 1 (mod 2^16 - 1), so folding the
 * result gives the 16-bit one's-complement sum of the native-order 16-bit words, which is
 * the byte swap of the big-endian sum on a little-endian host (RFC 1071 §2(B)).
 */
uint16_t cksum_partial(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t sum = 0, w;
	uint16_t s;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		sum += w;
		sum += sum < w;
	}
	if (len) {
		w = 0;
		memcpy(&w, p, len); /* zero padding lands after the data, as the RFC pads */
		sum += w;
		sum += sum < w;
	}
	s = fold64(sum);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = (uint16_t)(s << 8 | s >> 8);
#endif
	return s;
}

uint16_t cksum_combine(uint16_t sum_a, uint16_t sum_b, size_t len_a)
{
	if (len_a & 1)
		sum_b = (uint16_t)(sum_b << 8 | sum_b >> 8);
	return cksum_add(sum_a, sum_b);
}

void cksum_segments(const void *data, uint64_t len, uint32_t seg_size, uint16_t *out)
{
	const unsigned char *p = data;

	for (uint64_t off = 0; off < len; off += seg_size) {
		uint64_t n = len - off < seg_size ? len - off : seg_size;

		*out++ = cksum_partial(p + off, (size_t)n);
	}
}

/* ---- index format helpers ---- */

static void put16(unsigned char *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static void put32(unsigned char *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put64(unsigned char *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static uint16_t get16(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

/* Bytes from an entry's start to its sums: header, path, 1..8 zero bytes. */
static size_t ent_sums_off(size_t path_len)
{
	return (CKSUM_ENT_HDR_SIZE + path_len) / 8 * 8 + 8;
}

static size_t ent_size(size_t path_len, uint64_t seg_count)
{
	return (ent_sums_off(path_len) + 2 * seg_count + 7) / 8 * 8;
}

/* Canonical docroot-relative path: components non-empty and not starting with '.'. */
static bool path_ok(const char *path, size_t len)
{
	if (len == 0 || len > CKSUM_PATH_MAX || memchr(path, '\0', len))
		return false;
	for (size_t i = 0; i < len; i++) {
		bool bol = i == 0 || path[i - 1] == '/';

		if (bol && (path[i] == '/' || path[i] == '.'))
			return false;
	}
	return path[len - 1] != '/';
}

static bool ent_fields_ok(const struct cksum_entry *e, size_t path_len)
{
	return path_ok(e->path, path_len) && e->seg_size >= 1 && e->seg_size <= CKSUM_SEG_MAX &&
	       e->seg_count == cksum_seg_count(e->size, e->seg_size);
}

int cksum_entry_cmp(const struct cksum_entry *a, const struct cksum_entry *b)
{
	int c = strcmp(a->path, b->path);

	if (c)
		return c;
	return a->seg_size < b->seg_size ? -1 : a->seg_size > b->seg_size;
}

static uint32_t image_crc(const unsigned char *img, size_t len)
{
	static const unsigned char zero[4];
	uLong crc = crc32(0L, Z_NULL, 0);

	crc = crc32(crc, img, 32);
	crc = crc32(crc, zero, 4);
	return (uint32_t)crc32(crc, img + 36, (uInt)(len - 36));
}

/* ---- encode ---- */

static size_t encode_entry(unsigned char *p, const struct cksum_entry *e)
{
	size_t plen = strlen(e->path), size = ent_size(plen, e->seg_count);
	unsigned char *sums = p + ent_sums_off(plen);

	memset(p, 0, size);
	put32(p, (uint32_t)size);
	put16(p + 4, (uint16_t)plen);
	put64(p + 8, e->size);
	put64(p + 16, (uint64_t)e->mtime_ns);
	put32(p + 24, e->seg_size);
	put32(p + 28, e->seg_count);
	memcpy(p + CKSUM_ENT_HDR_SIZE, e->path, plen);
	for (uint32_t i = 0; i < e->seg_count; i++)
		put16(sums + 2 * i, e->sums[i]);
	return size;
}

int cksum_index_encode(const struct cksum_entry *ents, size_t n, void **image, size_t *len)
{
	size_t total = CKSUM_HDR_SIZE, off = CKSUM_HDR_SIZE;
	unsigned char *img;

	if (n > UINT32_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		size_t size = ent_size(strlen(ents[i].path), ents[i].seg_count);

		if (!ent_fields_ok(&ents[i], strlen(ents[i].path)) || size > UINT32_MAX ||
		    (i && cksum_entry_cmp(&ents[i - 1], &ents[i]) >= 0))
			return -EINVAL;
		total += size;
	}
	img = calloc(1, total);
	if (!img)
		return -ENOMEM;
	memcpy(img, CKSUM_INDEX_MAGIC, 8);
	put32(img + 8, CKSUM_INDEX_VERSION);
	put32(img + 12, CKSUM_HDR_SIZE);
	put32(img + 16, (uint32_t)n);
	put64(img + 24, total);
	for (size_t i = 0; i < n; i++)
		off += encode_entry(img + off, &ents[i]);
	put32(img + 32, image_crc(img, total));
	*image = img;
	*len = total;
	return 0;
}

/* ---- decode ---- */

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int check_header(const unsigned char *img, size_t len)
{
	if (len < CKSUM_HDR_SIZE || memcmp(img, CKSUM_INDEX_MAGIC, 8) != 0)
		return -EBADMSG;
	if (get32(img + 8) != CKSUM_INDEX_VERSION)
		return -EPROTONOSUPPORT;
	if (get32(img + 12) != CKSUM_HDR_SIZE || get32(img + 20) != 0 || get32(img + 36) != 0 ||
	    get64(img + 24) != len || get32(img + 32) != image_crc(img, len))
		return -EBADMSG;
	/* Every entry takes at least 40 bytes: bound the count before allocating for it. */
	if (get32(img + 16) > (len - CKSUM_HDR_SIZE) / 40)
		return -EBADMSG;
	return 0;
}

/* Check the entry at img + off and point e into it; returns its size or -EBADMSG. */
static long decode_entry(unsigned char *img, size_t len, size_t off, struct cksum_entry *e)
{
	unsigned char *p = img + off;
	size_t size, plen, sums;
	uint16_t *s;

	if (len - off < CKSUM_ENT_HDR_SIZE)
		return -EBADMSG;
	size = get32(p);
	plen = get16(p + 4);
	e->path = (const char *)p + CKSUM_ENT_HDR_SIZE;
	e->size = get64(p + 8);
	e->mtime_ns = (int64_t)get64(p + 16);
	e->seg_size = get32(p + 24);
	e->seg_count = get32(p + 28);
	if (get16(p + 6) != 0 || plen > CKSUM_PATH_MAX || size > len - off ||
	    size != ent_size(plen, e->seg_count) || !ent_fields_ok(e, plen))
		return -EBADMSG;
	sums = ent_sums_off(plen);
	if (!all_zero(p + CKSUM_ENT_HDR_SIZE + plen, sums - CKSUM_ENT_HDR_SIZE - plen) ||
	    !all_zero(p + sums + 2 * (size_t)e->seg_count, size - sums - 2 * (size_t)e->seg_count))
		return -EBADMSG;
	/* Sums are 8-aligned in a malloc'd image: convert them in place for direct use. */
	s = (uint16_t *)(void *)(p + sums);
	for (uint32_t i = 0; i < e->seg_count; i++)
		s[i] = le16toh(s[i]);
	e->sums = s;
	return (long)size;
}

/* Validate and index img (which idx then owns, even on failure). */
static int decode_owned(unsigned char *img, size_t len, struct cksum_index *idx)
{
	size_t off = CKSUM_HDR_SIZE, n;
	int err = check_header(img, len);

	memset(idx, 0, sizeof(*idx));
	idx->image = img;
	idx->image_len = len;
	if (err)
		goto fail;
	n = get32(img + 16);
	err = -ENOMEM;
	idx->ents = calloc(n ? n : 1, sizeof(*idx->ents));
	if (!idx->ents)
		goto fail;
	err = -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		long size = decode_entry(img, len, off, &idx->ents[i]);

		if (size < 0 || (i && cksum_entry_cmp(&idx->ents[i - 1], &idx->ents[i]) >= 0))
			goto fail;
		off += (size_t)size;
	}
	if (off != len)
		goto fail;
	idx->count = n;
	return 0;
fail:
	cksum_index_free(idx);
	return err;
}

int cksum_index_decode(const void *buf, size_t len, struct cksum_index *idx)
{
	unsigned char *img = malloc(len ? len : 1);

	if (!img)
		return -ENOMEM;
	memcpy(img, buf, len);
	return decode_owned(img, len, idx);
}

void cksum_index_free(struct cksum_index *idx)
{
	free(idx->ents);
	free(idx->image);
	memset(idx, 0, sizeof(*idx));
}

/* ---- files ---- */

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cksum_index_write(int dirfd, const struct cksum_entry *ents, size_t n)
{
	char tmp[64];
	void *img;
	size_t len;
	int fd, err = cksum_index_encode(ents, n, &img, &len);

	if (err)
		return err;
	/* Write aside and rename, so a reader sees the old index or the new one, never half. */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", CKSUM_INDEX_NAME, (int)getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = write_all(fd, img, len);
	if (!err && fsync(fd) < 0)
		err = -errno;
	close(fd);
	if (!err && renameat(dirfd, tmp, dirfd, CKSUM_INDEX_NAME) < 0)
		err = -errno;
	if (err)
		unlinkat(dirfd, tmp, 0);
out:
	free(img);
	return err;
}

/* Larger than any index of a plausible docroot: refuse before allocating. */
#define CKSUM_INDEX_LOAD_MAX (1UL << 30)

int cksum_index_load(int dirfd, struct cksum_index *idx)
{
	unsigned char *img;
	struct stat st;
	size_t got = 0;
	int err, fd = openat(dirfd, CKSUM_INDEX_NAME, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	err = -EBADMSG;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > CKSUM_INDEX_LOAD_MAX)
		goto out;
	err = -ENOMEM;
	img = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!img)
		goto out;
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, img + got, (size_t)st.st_size - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	/* A short read leaves file_size unmatched: decode reports -EBADMSG. */
	err = decode_owned(img, got, idx);
out:
	close(fd);
	return err;
}

const struct cksum_entry *cksum_index_find(const struct cksum_index *idx, const char *path,
					   uint32_t seg_size)
{
	struct cksum_entry key = {.path = path, .seg_size = seg_size};
	size_t lo = 0, hi = idx->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cksum_entry_cmp(&key, &idx->ents[mid]);

		if (c == 0)
			return &idx->ents[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int cksum_entry_check(const struct cksum_entry *e, uint64_t size, int64_t mtime_ns)
{
	return e->size == size && e->mtime_ns == mtime_ns ? 0 : -ESTALE;
}

size_t cksum_index_verify(const struct cksum_index *idx, int dirfd,
			  void (*report)(const struct cksum_entry *e, int err, void *arg),
			  void *arg)
{
	size_t bad = 0;

	for (size_t i = 0; i < idx->count; i++) {
		const struct cksum_entry *e = &idx->ents[i];
		struct stat st;
		int err = 0;

		if (fstatat(dirfd, e->path, &st, AT_SYMLINK_NOFOLLOW) < 0)
			err = -errno;
		else if (!S_ISREG(st.st_mode))
			err = -ENOENT;
		else
			err = cksum_entry_check(e, (uint64_t)st.st_size, http_stat_mtime_ns(&st));
		if (err) {
			bad++;
			if (report)
				report(e, err, arg);
		}
	}
	return bad;
}
