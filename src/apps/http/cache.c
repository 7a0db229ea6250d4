/* cache.c - the docroot file cache: file contents and precomputed response headers */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "mime.h"
#include "response.h"

struct http_cache {
	struct http_root root;
	struct http_cache_conf conf;
	struct http_file **buckets; /* power-of-two count */
	size_t nbuckets;
	struct http_file *lru_head, *lru_tail;
	struct http_cache_stats stats;
};

#define CACHE_BUCKETS_MIN 64

static void *default_alloc(void *ctx, size_t len)
{
	(void)ctx;
	return malloc(len);
}

static void default_free(void *ctx, void *mem, size_t len)
{
	(void)ctx;
	(void)len;
	free(mem);
}

int http_cache_create(const char *docroot, const struct http_cache_conf *conf,
		      struct http_cache **out)
{
	struct http_cache *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->conf = *conf;
	if (!c->conf.capacity)
		c->conf.capacity = HTTP_CACHE_CAPACITY_DEFAULT;
	if (!c->conf.alloc.alloc) {
		c->conf.alloc.alloc = default_alloc;
		c->conf.alloc.free = default_free;
	}
	c->nbuckets = CACHE_BUCKETS_MIN;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	err = -ENOMEM;
	if (!c->buckets)
		goto fail;
	err = http_root_open(&c->root, docroot);
	if (err)
		goto fail;
	*out = c;
	return 0;
fail:
	free(c->buckets);
	free(c);
	return err;
}

/* FNV-1a: short keys, no adversary able to pick them beyond what a URL allows. */
static size_t key_hash(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 0x100000001b3ULL;
	return (size_t)(h ^ h >> 32);
}

static struct http_file **bucket(struct http_cache *c, const char *key)
{
	return &c->buckets[key_hash(key) & (c->nbuckets - 1)];
}

static void lru_unlink(struct http_cache *c, struct http_file *f)
{
	*(f->lprev ? &f->lprev->lnext : &c->lru_head) = f->lnext;
	*(f->lnext ? &f->lnext->lprev : &c->lru_tail) = f->lprev;
	f->lprev = f->lnext = NULL;
}

static void lru_append(struct http_cache *c, struct http_file *f)
{
	f->lprev = c->lru_tail;
	f->lnext = NULL;
	*(c->lru_tail ? &c->lru_tail->lnext : &c->lru_head) = f;
	c->lru_tail = f;
}

static void file_free(struct http_cache *c, struct http_file *f)
{
	if (c->conf.on_free)
		c->conf.on_free(c->conf.hook_ctx, f);
	c->conf.alloc.free(c->conf.alloc.ctx, f->mem, f->mem_len);
	free(f);
}

/* Take f out of the table; it is freed now or when its last holder lets go. */
static void file_unlink(struct http_cache *c, struct http_file *f)
{
	struct http_file **pp = bucket(c, f->key);

	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
	lru_unlink(c, f);
	f->cached = false;
	c->stats.files--;
	c->stats.bytes -= f->mem_len;
	if (!f->refs)
		file_free(c, f);
}

void http_cache_destroy(struct http_cache *c)
{
	while (c->lru_head)
		file_unlink(c, c->lru_head);
	http_root_close(&c->root);
	free(c->buckets);
	free(c);
}

static void table_grow(struct http_cache *c)
{
	size_t n = c->nbuckets * 2;
	struct http_file **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < c->nbuckets; i++) {
		while (c->buckets[i]) {
			struct http_file *f = c->buckets[i];
			size_t h = key_hash(f->key) & (n - 1);

			c->buckets[i] = f->hnext;
			f->hnext = b[h];
			b[h] = f;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = n;
}

static struct http_file *table_find(struct http_cache *c, const char *key)
{
	struct http_file *f = *bucket(c, key);

	while (f && strcmp(f->key, key) != 0)
		f = f->hnext;
	return f;
}

/* Evict least recently used unheld files until the cache fits its capacity. */
static void cache_trim(struct http_cache *c)
{
	struct http_file *f = c->lru_head;

	while (f && c->stats.bytes > c->conf.capacity) {
		struct http_file *next = f->lnext;

		if (!f->refs) {
			file_unlink(c, f);
			c->stats.evictions++;
		}
		f = next;
	}
}

static void table_insert(struct http_cache *c, struct http_file *f)
{
	struct http_file **b;

	if (f->mem_len > c->conf.capacity)
		return; /* served once, from its own entry */
	if (c->stats.files >= c->nbuckets)
		table_grow(c);
	b = bucket(c, f->key);
	f->hnext = *b;
	*b = f;
	f->cached = true;
	lru_append(c, f);
	c->stats.files++;
	c->stats.bytes += f->mem_len;
	cache_trim(c);
}

static int read_exact(int fd, unsigned char *p, uint64_t len)
{
	uint64_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* shrank while we read: the next lookup reloads it */
		got += (uint64_t)n;
	}
	return 0;
}

/* Format both 200 header blocks of f into hdr[][] and return their lengths. */
static int format_headers(const struct http_file *f, char hdr[2][HTTP_HDRBLOCK_MAX],
			  uint32_t len[2])
{
	for (int ka = 0; ka < 2; ka++) {
		struct http_resp_fields h = {
		    .status = 200,
		    .content_type = f->content_type,
		    .content_length = f->size,
		    .last_modified = f->mtime_ns / 1000000000,
		    .date = HTTP_NO_TIME,
		    .keep_alive = ka,
		};
		int n = http_resp_header(hdr[ka], HTTP_HDRBLOCK_MAX, &h);

		if (n < 0)
			return n;
		len[ka] = (uint32_t)n;
	}
	return 0;
}

/* Allocate the file's memory, laid out [hdr close][hdr keep-alive][data], and fill it. */
static int file_fill(struct http_cache *c, struct http_file *f, int fd)
{
	char hdr[2][HTTP_HDRBLOCK_MAX];
	unsigned char *mem;
	int err = format_headers(f, hdr, f->hdr_len);

	if (err)
		return err;
	f->mem_len = f->hdr_len[0] + f->hdr_len[1] + f->size;
	if (f->mem_len < f->size) /* size_t overflow on a 32-bit host */
		return -EFBIG;
	mem = c->conf.alloc.alloc(c->conf.alloc.ctx, f->mem_len);
	if (!mem)
		return -ENOMEM;
	f->mem = mem;
	memcpy(mem, hdr[0], f->hdr_len[0]);
	memcpy(mem + f->hdr_len[0], hdr[1], f->hdr_len[1]);
	f->hdr[0] = (const char *)mem;
	f->hdr[1] = (const char *)mem + f->hdr_len[0];
	for (int ka = 0; ka < 2; ka++)
		f->hdr_date_at[ka] = (uint32_t)http_resp_date_at(f->hdr[ka], f->hdr_len[ka]);
	f->data = mem + f->hdr_len[0] + f->hdr_len[1];
	err = read_exact(fd, mem + f->hdr_len[0] + f->hdr_len[1], f->size);
	if (err)
		c->conf.alloc.free(c->conf.alloc.ctx, mem, f->mem_len);
	return err;
}

static int file_load(struct http_cache *c, const char *key, const char *path, int fd,
		     const struct stat *st, uint64_t now_ns, struct http_file **out)
{
	size_t klen = strlen(key) + 1, plen = strlen(path) + 1;
	struct http_file *f = calloc(1, sizeof(*f) + klen + plen);
	int err;

	if (!f)
		return -ENOMEM;
	f->key = memcpy((char *)(f + 1), key, klen);
	f->path = memcpy((char *)(f + 1) + klen, path, plen);
	f->size = (uint64_t)st->st_size;
	f->mtime_ns = http_stat_mtime_ns(st);
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->content_type = http_mime_type(path);
	f->checked_ns = now_ns;
	err = file_fill(c, f, fd);
	if (err) {
		free(f);
		return err;
	}
	if (c->conf.on_load) {
		err = c->conf.on_load(c->conf.hook_ctx, f);
		if (err) {
			c->conf.alloc.free(c->conf.alloc.ctx, f->mem, f->mem_len);
			free(f);
			return err;
		}
	}
	c->stats.loads++;
	*out = f;
	return 0;
}

static bool file_matches(const struct http_file *f, const struct stat *st, const char *path)
{
	return f->dev == st->st_dev && f->ino == st->st_ino && f->size == (uint64_t)st->st_size &&
	       f->mtime_ns == http_stat_mtime_ns(st) && strcmp(f->path, path) == 0;
}

static void file_hold(struct http_cache *c, struct http_file *f, struct http_file **out)
{
	f->refs++;
	if (f->cached) {
		lru_unlink(c, f);
		lru_append(c, f);
	}
	c->stats.hits++;
	*out = f;
}

int http_cache_get(struct http_cache *c, const char *target, size_t len, uint64_t now_ns,
		   struct http_file **out)
{
	char key[HTTP_PATH_MAX + 1], path[HTTP_PATH_MAX + 1];
	struct http_file *f;
	struct stat st;
	int fd, err = http_path_normalize(target, len, key, sizeof(key));

	if (err < 0)
		return err;
	f = table_find(c, key);
	if (f && now_ns - f->checked_ns < c->conf.revalidate_ns) {
		file_hold(c, f, out);
		return 0;
	}
	err = http_path_open(&c->root, key, &fd, &st, path, sizeof(path));
	if (!err && f && file_matches(f, &st, path)) {
		close(fd);
		f->checked_ns = now_ns;
		file_hold(c, f, out);
		return 0;
	}
	if (f) {
		file_unlink(c, f); /* gone or changed */
		c->stats.invalidations++;
	}
	if (err)
		return err;
	err = file_load(c, key, path, fd, &st, now_ns, &f);
	close(fd);
	if (err)
		return err;
	f->refs = 1;
	table_insert(c, f);
	*out = f;
	return 0;
}

void http_cache_put(struct http_cache *c, struct http_file *f)
{
	if (--f->refs == 0 && !f->cached)
		file_free(c, f);
}

const struct http_root *http_cache_root(const struct http_cache *c)
{
	return &c->root;
}

const struct http_cache_stats *http_cache_stats(const struct http_cache *c)
{
	return &c->stats;
}
