/* driver_fixed.c - the paper's first driver: the same document, a constant think time */
#include <errno.h>
#include <stdlib.h>

#include "driver.h"

struct fixed_driver {
	struct swamp_driver d;
	struct swamp_reqs reqs;
	uint64_t think_ns;
};

static void fixed_next(struct swamp_driver *d, uint32_t client, struct swamp_task *t)
{
	struct fixed_driver *f = (struct fixed_driver *)d;

	(void)client;
	t->req = f->reqs.arena;
	t->req_len = f->reqs.len[0];
	t->doc = 0;
	t->think_ns = f->think_ns;
	t->path = f->reqs.path[0];
}

static void fixed_destroy(struct swamp_driver *d)
{
	struct fixed_driver *f = (struct fixed_driver *)d;

	swamp_reqs_free(&f->reqs);
	free(f);
}

static const struct swamp_driver_ops fixed_ops = {
    .name = "fixed",
    .next = fixed_next,
    .destroy = fixed_destroy,
};

int swamp_driver_fixed_create(const struct swamp_driver_params *p, struct swamp_driver **out)
{
	struct fixed_driver *f = calloc(1, sizeof(*f));
	int rc;

	if (!f)
		return -ENOMEM;
	f->d.ops = &fixed_ops;
	/* Zero think time by default: "repeatedly requesting the same Web document" (Fig. 6). */
	f->think_ns = p->think_ms > 0 ? (uint64_t)(p->think_ms * 1e6) : 0;
	rc = swamp_reqs_build(&f->reqs, p, NULL, 1);
	if (rc) {
		free(f);
		return rc;
	}
	*out = &f->d;
	return 0;
}
