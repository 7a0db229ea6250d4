/* cksum.h - Internet checksum partial sums and the cheetah-prep checksum index format */
#ifndef XOK_HTTP_CKSUM_H
#define XOK_HTTP_CKSUM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Partial sums (RFC 1071). A "sum" here is the 16-bit one's-complement sum of a byte string
 * taken as big-endian 16-bit words, an odd last byte padded with a zero low-order byte,
 * folded but NOT complemented. Sums of adjacent pieces combine (cksum_combine), so the TCP
 * checksum of a segment is ~(pseudo-header sum + TCP header sum + payload sum), where the
 * payload sum may come precomputed from the index below. The value is a number, not bytes:
 * it means the same on every host. 0 is returned only for all-zero data.
 *
 * Cheetah (paper §5.3, "Precomputed Checksums") stores the payload sum of every
 * segment-sized piece of each servable file, so sending file data touches no byte of it.
 */

/* The sum of buf[0..len). */
uint16_t cksum_partial(const void *buf, size_t len);

/* One's-complement addition of two sums. */
uint16_t cksum_add(uint16_t a, uint16_t b);

/* The sum of A followed by B, from sum(A), sum(B) and len(A): when A has odd length every
 * byte of B moves to the other half of its word, which byte-swaps sum(B). */
uint16_t cksum_combine(uint16_t sum_a, uint16_t sum_b, size_t len_a);

/* The checksum field value for a finished sum. */
static inline uint16_t cksum_finish(uint16_t sum)
{
	return (uint16_t)~sum;
}

/* Sums of data[i * seg_size .. min((i + 1) * seg_size, len)) into out[i], for i below
 * cksum_seg_count(len, seg_size). */
void cksum_segments(const void *data, uint64_t len, uint32_t seg_size, uint16_t *out);

static inline uint64_t cksum_seg_count(uint64_t len, uint32_t seg_size)
{
	return (len + seg_size - 1) / seg_size;
}

/*
 * The checksum index: one file, DOCROOT/.cheetah-sums, written by cheetah-prep. A dot-file,
 * so never served. All integers are little-endian and fixed width; offsets are from the
 * start of the file.
 *
 * Header, 40 bytes:
 *   off size  field
 *     0    8  magic        "XOKCKSUM" (8 ASCII bytes, no NUL)
 *     8    4  version      1
 *    12    4  header_size  40 (the offset of the first entry)
 *    16    4  entry_count
 *    20    4  flags        0 (no flags are defined; readers refuse unknown bits)
 *    24    8  file_size    size of the whole index file in bytes
 *    32    4  crc32        CRC-32 (IEEE 802.3, as zlib's crc32()) of the whole file,
 *                          computed with these 4 bytes taken as zero
 *    36    4  reserved     0
 *
 * Then entry_count entries back to back, each at an 8-byte aligned offset:
 *   off size  field
 *     0    4  entry_size   bytes of this entry, padding included; a multiple of 8
 *     4    2  path_len     1..4095
 *     6    2  reserved     0
 *     8    8  size         file size (st_size) the sums were computed for
 *    16    8  mtime_ns     file modification time (st_mtim) in ns since the epoch, signed
 *    24    4  seg_size     payload bytes per segment, 1..65535 (default 1448: MSS 1460
 *                          minus the 12 bytes of the TCP timestamp option)
 *    28    4  seg_count    ceil(size / seg_size); 0 for an empty file
 *    32    path_len        path: canonical, docroot-relative ("dir/file.html"): no leading
 *                          '/', no empty, ".", ".." or hidden (dot) components
 *          1..8            zero bytes: the path is NUL-terminated and the sums 8-aligned
 *          2 * seg_count   sums: u16 sum (as defined above) of segment i, bytes
 *                          [i * seg_size, min((i + 1) * seg_size, size)) of the file
 *          0..6            zero bytes to the next multiple of 8
 *
 * Entries are sorted by (path bytewise, seg_size) with no duplicates, so a file may have
 * sums for several segment sizes. The entries end exactly at file_size.
 *
 * Segment i starts at file offset i * seg_size: a sender that puts the HTTP header in the
 * first segment with the file's start must shorten that segment so later ones stay aligned,
 * or compute sums for misaligned pieces itself (cksum_partial / cksum_combine).
 *
 * The loader checks all of the above and refuses the whole file on any mismatch (-EBADMSG,
 * or -EPROTONOSUPPORT for another version). An entry whose size or mtime_ns no longer
 * matches its file is stale: cksum_entry_check() says so, and cheetah computes sums itself.
 */

#define CKSUM_INDEX_NAME    ".cheetah-sums"
#define CKSUM_INDEX_MAGIC   "XOKCKSUM"
#define CKSUM_INDEX_VERSION 1
#define CKSUM_HDR_SIZE	    40
#define CKSUM_ENT_HDR_SIZE  32
#define CKSUM_SEG_DEFAULT   1448
#define CKSUM_SEG_MAX	    65535
#define CKSUM_PATH_MAX	    4095

struct cksum_entry {
	const char *path; /* NUL-terminated */
	uint64_t size;
	int64_t mtime_ns;
	uint32_t seg_size;
	uint32_t seg_count;
	const uint16_t *sums; /* seg_count sums in host order */
};

struct cksum_index {
	void *image; /* the loaded file, sums converted to host order in place */
	size_t image_len;
	struct cksum_entry *ents; /* sorted as in the file */
	size_t count;
};

/* Serialise n entries (sorted, unique, valid) into a malloc'd image. 0 or -errno. */
int cksum_index_encode(const struct cksum_entry *ents, size_t n, void **image, size_t *len);

/* Validate an image and index it (buf is copied). 0, -EBADMSG, -EPROTONOSUPPORT, -ENOMEM. */
int cksum_index_decode(const void *buf, size_t len, struct cksum_index *idx);

/* Write/read CKSUM_INDEX_NAME in the directory dirfd. Writing replaces the file atomically. */
int cksum_index_write(int dirfd, const struct cksum_entry *ents, size_t n);
int cksum_index_load(int dirfd, struct cksum_index *idx);

void cksum_index_free(struct cksum_index *idx);

/* The entry for (path, seg_size), or NULL. */
const struct cksum_entry *cksum_index_find(const struct cksum_index *idx, const char *path,
					   uint32_t seg_size);

/* The index order: by path (bytewise), then seg_size; <0, 0, >0 like strcmp. */
int cksum_entry_cmp(const struct cksum_entry *a, const struct cksum_entry *b);

/* 0 if the entry still describes a file of this size and mtime, -ESTALE if not. */
int cksum_entry_check(const struct cksum_entry *e, uint64_t size, int64_t mtime_ns);

/* Check every entry against the file it names under dirfd; report(e, -errno) is called for
 * each stale (-ESTALE) or missing one. Returns how many were reported. */
size_t cksum_index_verify(const struct cksum_index *idx, int dirfd,
			  void (*report)(const struct cksum_entry *e, int err, void *arg),
			  void *arg);

#endif /* XOK_HTTP_CKSUM_H */
