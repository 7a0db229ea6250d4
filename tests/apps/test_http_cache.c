/* test_http_cache.c - the docroot file cache: allocator, header blocks, invalidation, eviction */
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
#include <cmocka.h>

#include "http_testutil.h"

#include "cache.h"

/* The application's allocator, counting, to check every byte comes back. */
struct counting {
	size_t allocs, frees, live;
	int loads, unloads, fail_load;
};

static void *count_alloc(void *ctx, size_t len)
{
	struct counting *c = ctx;

	c->allocs++;
	c->live += len;
	return malloc(len);
}

static void count_free(void *ctx, void *mem, size_t len)
{
	struct counting *c = ctx;

	c->frees++;
	c->live -= len;
	free(mem);
}

static int on_load(void *ctx, struct http_file *f)
{
	struct counting *c = ctx;

	if (c->fail_load)
		return -c->fail_load;
	c->loads++;
	f->app = c;
	return 0;
}

static void on_free(void *ctx, struct http_file *f)
{
	struct counting *c = ctx;

	assert_ptr_equal(f->app, c);
	c->unloads++;
}

struct fixture {
	char dir[64];
	struct counting cnt;
	struct http_cache_conf conf;
	struct http_cache *cache;
};

static void set_mtime(struct fixture *fx, const char *name, time_t sec)
{
	char p[256];
	struct timespec ts[2] = {{sec, 0}, {sec, 0}};

	snprintf(p, sizeof(p), "%s/%s", fx->dir, name);
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char p[256];

	strcpy(fx->dir, "/tmp/test_http_cache.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	tu_put_file(fx->dir, "a.txt", "hello\n");
	tu_put_file(fx->dir, "index.html", "<p>hi</p>\n");
	tu_put_file(fx->dir, ".hidden", "no\n");
	tu_put_file(fx->dir, "empty", "");
	snprintf(p, sizeof(p), "%s/passwd", fx->dir);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	fx->conf = (struct http_cache_conf){
	    .capacity = 1 << 20,
	    .revalidate_ns = 0,
	    .alloc = {count_alloc, count_free, &fx->cnt},
	    .on_load = on_load,
	    .on_free = on_free,
	    .hook_ctx = &fx->cnt,
	};
	*state = fx;
	return 0;
}

static void make_cache(struct fixture *fx)
{
	assert_int_equal(http_cache_create(fx->dir, &fx->conf, &fx->cache), 0);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx->cache)
		http_cache_destroy(fx->cache);
	/* Every allocation returned, every load matched by an unload. */
	assert_int_equal(fx->cnt.allocs, fx->cnt.frees);
	assert_int_equal(fx->cnt.live, 0);
	assert_int_equal(fx->cnt.loads, fx->cnt.unloads);
	tu_rm_rf(fx->dir);
	free(fx);
	return 0;
}

static struct http_file *get_ok(struct fixture *fx, const char *target, uint64_t now)
{
	struct http_file *f = NULL;

	assert_int_equal(http_cache_get(fx->cache, target, strlen(target), now, &f), 0);
	return f;
}

static void test_load_and_layout(void **state)
{
	struct fixture *fx = *state;
	struct http_file *f, *g;

	make_cache(fx);
	f = get_ok(fx, "/a.txt", 0);
	assert_int_equal(f->size, 6);
	assert_memory_equal(f->data, "hello\n", 6);
	assert_string_equal(f->key, "a.txt");
	assert_string_equal(f->path, "a.txt");
	assert_string_equal(f->content_type, "text/plain; charset=utf-8");
	assert_ptr_equal(f->app, &fx->cnt);
	/* [hdr close][hdr keep-alive][data], all in the application's memory. */
	assert_ptr_equal(f->hdr[0] + f->hdr_len[0], f->hdr[1]);
	assert_ptr_equal((const unsigned char *)f->hdr[1] + f->hdr_len[1], f->data);
	assert_int_equal(fx->cnt.live, f->hdr_len[0] + f->hdr_len[1] + 6);
	assert_memory_equal(f->hdr[0], "HTTP/1.1 200 OK\r\n", 17);
	assert_non_null(memmem(f->hdr[0], f->hdr_len[0], "Connection: close\r\n\r\n", 21));
	assert_non_null(memmem(f->hdr[1], f->hdr_len[1], "Connection: keep-alive\r\n\r\n", 26));
	assert_non_null(memmem(f->hdr[1], f->hdr_len[1], "Content-Length: 6\r\n", 19));
	assert_non_null(memmem(f->hdr[1], f->hdr_len[1], "Last-Modified: ", 15));
	g = get_ok(fx, "//a.txt?x=1", 0); /* same key after normalisation */
	assert_ptr_equal(f, g);
	assert_int_equal(http_cache_stats(fx->cache)->loads, 1);
	assert_int_equal(http_cache_stats(fx->cache)->hits, 1);
	http_cache_put(fx->cache, f);
	http_cache_put(fx->cache, g);
	f = get_ok(fx, "/", 0);
	assert_string_equal(f->path, "index.html");
	assert_string_equal(f->content_type, "text/html; charset=utf-8");
	http_cache_put(fx->cache, f);
	f = get_ok(fx, "/empty", 0);
	assert_int_equal(f->size, 0);
	http_cache_put(fx->cache, f);
}

static void test_errors(void **state)
{
	struct fixture *fx = *state;
	struct http_file *f;

	make_cache(fx);
	assert_int_equal(http_cache_get(fx->cache, "/missing", 8, 0, &f), -ENOENT);
	assert_int_equal(http_cache_get(fx->cache, "/../a.txt", 9, 0, &f), -EINVAL);
	assert_int_equal(http_cache_get(fx->cache, "/.hidden", 8, 0, &f), -ENOENT);
	assert_int_equal(http_cache_get(fx->cache, "/passwd", 7, 0, &f), -EXDEV);
	fx->cnt.fail_load = EIO;
	assert_int_equal(http_cache_get(fx->cache, "/a.txt", 6, 0, &f), -EIO);
	fx->cnt.fail_load = 0;
	assert_int_equal(http_cache_stats(fx->cache)->files, 0);
}

static void test_invalidation(void **state)
{
	struct fixture *fx = *state;
	struct http_file *old, *f;
	char p[256];
	size_t frees;

	make_cache(fx);
	old = get_ok(fx, "/a.txt", 0);
	tu_put_file(fx->dir, "a.txt", "changed!\n");
	f = get_ok(fx, "/a.txt", 1);
	assert_ptr_not_equal(f, old);
	assert_int_equal(f->size, 9);
	assert_memory_equal(f->data, "changed!\n", 9);
	/* The old version stays intact for whoever still sends it, freed on release. */
	assert_memory_equal(old->data, "hello\n", 6);
	frees = fx->cnt.frees;
	http_cache_put(fx->cache, old);
	assert_int_equal(fx->cnt.frees, frees + 1);
	http_cache_put(fx->cache, f);

	/* Same size, other mtime: reloaded too. */
	tu_put_file(fx->dir, "a.txt", "CHANGED!\n");
	set_mtime(fx, "a.txt", 1000);
	f = get_ok(fx, "/a.txt", 2);
	assert_memory_equal(f->data, "CHANGED!\n", 9);
	http_cache_put(fx->cache, f);

	/* Gone: the entry goes with it. */
	tu_put_file(fx->dir, "b.txt", "b");
	http_cache_put(fx->cache, get_ok(fx, "/b.txt", 3));
	assert_int_equal(http_cache_stats(fx->cache)->files, 2);
	snprintf(p, sizeof(p), "%s/b.txt", fx->dir);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(http_cache_get(fx->cache, "/b.txt", 6, 4, &f), -ENOENT);
	assert_int_equal(http_cache_stats(fx->cache)->files, 1);
	assert_true(http_cache_stats(fx->cache)->invalidations >= 3);
}

static void test_revalidate_interval(void **state)
{
	struct fixture *fx = *state;
	struct http_file *f;

	fx->conf.revalidate_ns = 1000;
	make_cache(fx);
	http_cache_put(fx->cache, get_ok(fx, "/a.txt", 0));
	tu_put_file(fx->dir, "a.txt", "changed!\n");
	/* Trusted within the interval, checked after it. */
	f = get_ok(fx, "/a.txt", 999);
	assert_int_equal(f->size, 6);
	http_cache_put(fx->cache, f);
	f = get_ok(fx, "/a.txt", 1000);
	assert_int_equal(f->size, 9);
	http_cache_put(fx->cache, f);
	assert_int_equal(http_cache_stats(fx->cache)->loads, 2);
}

static void test_eviction(void **state)
{
	struct fixture *fx = *state;
	char name[16], body[1001];
	struct http_file *a, *f;
	size_t one;

	memset(body, 'x', 1000);
	body[1000] = '\0';
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		tu_put_file(fx->dir, name, body);
	}
	make_cache(fx);
	a = get_ok(fx, "/f0", 0);
	one = fx->cnt.live;
	http_cache_put(fx->cache, a);
	http_cache_destroy(fx->cache);
	fx->conf.capacity = 3 * one;
	make_cache(fx);
	a = get_ok(fx, "/f0", 0); /* held throughout: never evicted */
	for (int i = 1; i < 6; i++) {
		snprintf(name, sizeof(name), "/f%d", i);
		http_cache_put(fx->cache, get_ok(fx, name, 0));
		assert_true(http_cache_stats(fx->cache)->bytes <= 3 * one);
	}
	assert_int_equal(http_cache_stats(fx->cache)->files, 3);
	assert_int_equal(http_cache_stats(fx->cache)->evictions, 3);
	f = get_ok(fx, "/f0", 0);
	assert_ptr_equal(f, a);
	http_cache_put(fx->cache, f);
	http_cache_put(fx->cache, a);
	/* f5 is most recent, so still there; f1 was evicted first. */
	assert_int_equal(http_cache_stats(fx->cache)->loads, 6);
	http_cache_put(fx->cache, get_ok(fx, "/f5", 0));
	assert_int_equal(http_cache_stats(fx->cache)->loads, 6);
	http_cache_put(fx->cache, get_ok(fx, "/f1", 0));
	assert_int_equal(http_cache_stats(fx->cache)->loads, 7);
}

static void test_too_big_for_cache(void **state)
{
	struct fixture *fx = *state;
	struct http_file *f, *g;

	fx->conf.capacity = 100;
	make_cache(fx);
	tu_put_file(fx->dir, "big", "0123456789012345678901234567890123456789");
	f = get_ok(fx, "/big", 0);
	g = get_ok(fx, "/big", 0);
	/* Served, but from entries of their own, each freed on release. */
	assert_ptr_not_equal(f, g);
	assert_int_equal(f->size, 40);
	assert_int_equal(http_cache_stats(fx->cache)->files, 0);
	http_cache_put(fx->cache, f);
	http_cache_put(fx->cache, g);
	assert_int_equal(fx->cnt.live, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_load_and_layout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalidation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revalidate_interval, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_eviction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_big_for_cache, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
