/* cache.h - the docroot file cache: file contents and precomputed response headers */
#ifndef XOK_HTTP_CACHE_H
#define XOK_HTTP_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "path.h"

/*
 * Files are served from memory: a file is read once into memory the application supplies
 * through an allocator callback (cheetah passes memory registered with xokd, so that TCP
 * segments are transmitted — and retransmitted — straight from the cache, the paper's
 * "merged file cache and retransmission pool"), next to its two precomputed 200 header
 * blocks. Lookups go by normalised URL path. An entry is trusted for revalidate_ns; after
 * that the next lookup resolves the path again and reloads the file if it now names another
 * file or its size or mtime changed.
 *
 * Entries are reference counted: http_cache_get() returns a held file that stays valid and
 * unchanged until http_cache_put(), even if it is invalidated or evicted meanwhile. Files
 * larger than the whole capacity are still served, from an entry no other lookup shares.
 * Not thread-safe: one cache per event loop.
 */

struct http_cache_alloc {
	void *(*alloc)(void *ctx, size_t len); /* NULL return: -ENOMEM */
	void (*free)(void *ctx, void *mem, size_t len);
	void *ctx;
};

struct http_file;

struct http_cache_conf {
	size_t capacity;	       /* bytes of file data and header blocks kept; 0: default */
	uint64_t revalidate_ns;	       /* 0: check the file system on every lookup */
	struct http_cache_alloc alloc; /* all NULL: malloc/free */
	/* Optional hooks after a file is loaded and before it is freed: cheetah attaches its
	 * checksums to f->app here. A failing on_load fails the lookup with its error. */
	int (*on_load)(void *ctx, struct http_file *f);
	void (*on_free)(void *ctx, struct http_file *f);
	void *hook_ctx;
};

struct http_file {
	/* Read-only for the application. */
	const char *key;	   /* normalised URL path */
	const char *path;	   /* canonical docroot-relative path (checksum index key) */
	const unsigned char *data; /* size bytes of file content */
	uint64_t size;
	int64_t mtime_ns;
	const char *content_type;
	/* The 200 header blocks, [0] with Connection: close, [1] with keep-alive. In memory
	 * they lie [0][1][data], so hdr[1] and data are one contiguous piece. */
	const char *hdr[2];
	uint32_t hdr_len[2];
	uint32_t hdr_date_at[2]; /* where the Date field goes in each (http_resp_date_at) */
	void *app; /* the application's, see on_load */

	/* Private to cache.c. */
	unsigned refs;
	bool cached; /* in the table (false: invalidated or too big) */
	dev_t dev;
	ino_t ino;
	uint64_t checked_ns;
	void *mem;
	size_t mem_len;
	struct http_file *hnext;	 /* hash chain */
	struct http_file *lprev, *lnext; /* LRU list, least recently used first */
};

struct http_cache_stats {
	uint64_t hits, loads, invalidations, evictions;
	size_t files, bytes;
};

struct http_cache;

/* Open the docroot (-ENOENT, -ENOTDIR, ...) and create an empty cache. */
int http_cache_create(const char *docroot, const struct http_cache_conf *conf,
		      struct http_cache **out);

/* Free everything; no file may still be held. */
void http_cache_destroy(struct http_cache *c);

/* Find or load the file for a request-target. now_ns is any monotonic clock. Returns 0 and
 * a held file, or -errno (http_path_status() gives the HTTP status). */
int http_cache_get(struct http_cache *c, const char *target, size_t len, uint64_t now_ns,
		   struct http_file **out);

/* Release a file from http_cache_get(). */
void http_cache_put(struct http_cache *c, struct http_file *f);

const struct http_root *http_cache_root(const struct http_cache *c);
const struct http_cache_stats *http_cache_stats(const struct http_cache *c);

#endif /* XOK_HTTP_CACHE_H */
