/* driver.h - high-level drivers: what each emulated client asks for next, and when */
#ifndef SWAMP_DRIVER_H
#define SWAMP_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "url.h"

/*
 * The paper's split (§6.1): the core calls the driver "to get the next Web page and
 * interrequest think time" whenever a client finishes a request.  A driver formats all its
 * requests once, at creation, so handing one out costs no allocation, and the bytes stay put
 * for as long as the driver lives (a libOS transport may transmit straight from them).
 * Drivers are deterministic: the n-th task of client c depends only on (seed, c, n).
 */
struct swamp_task {
	const char *req; /* the whole request */
	uint32_t req_len;
	uint32_t doc;	   /* index of the document (0 for the fixed driver) */
	uint64_t think_ns; /* think this long before sending it */
	const char *path;  /* the request target, for traces */
};

struct swamp_driver;

struct swamp_driver_ops {
	const char *name;
	void (*next)(struct swamp_driver *d, uint32_t client, struct swamp_task *t);
	void (*destroy)(struct swamp_driver *d);
};

struct swamp_driver {
	const struct swamp_driver_ops *ops;
};

/* Where request bytes live.  The default is malloc; a libOS transport supplies memory in a
 * region registered with xokd so that it can transmit the requests without copying them. */
struct swamp_mem {
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *p);
	void *ctx;
};

struct swamp_driver_params {
	const char *name; /* "fixed" or "surge" */
	const struct swamp_url *url;
	bool keepalive; /* HTTP/1.1 persistent, else HTTP/1.0 */
	uint32_t clients;
	uint64_t seed;
	double think_ms;	     /* < 0: the driver's default */
	const char *docset;	     /* surge: the document-set file */
	const struct swamp_mem *mem; /* NULL: malloc; must outlive the driver */
	char *err;		     /* why creation failed, for the user */
	size_t errlen;
};

/* Names of the drivers, for --help ("fixed|surge"). */
extern const char swamp_driver_names[];

int swamp_driver_create(const struct swamp_driver_params *p, struct swamp_driver **out);

static inline void swamp_driver_next(struct swamp_driver *d, uint32_t client, struct swamp_task *t)
{
	d->ops->next(d, client, t);
}

static inline void swamp_driver_destroy(struct swamp_driver *d)
{
	if (d)
		d->ops->destroy(d);
}

/* ---- shared by the drivers (driver.c) ---- */

/* Requests for `n` targets packed in one arena: request i is at arena + off[i]. */
struct swamp_reqs {
	char *arena;
	const struct swamp_mem *mem; /* the arena's allocator, NULL: malloc */
	uint32_t *off;
	uint32_t *len;
	char **path; /* the target of each request (into `paths`) */
	char *paths;
	uint32_t n;
};

/* Formats GET requests for url->path joined with each of `docs` (NULL: url->path alone). */
int swamp_reqs_build(struct swamp_reqs *r, const struct swamp_driver_params *p,
		     const char *const *docs, uint32_t n);
void swamp_reqs_free(struct swamp_reqs *r);

int swamp_driver_fixed_create(const struct swamp_driver_params *p, struct swamp_driver **out);
int swamp_driver_surge_create(const struct swamp_driver_params *p, struct swamp_driver **out);

#endif /* SWAMP_DRIVER_H */
