/* errpage.c - error responses, formatted once into registered memory */
#include <errno.h>
#include <stdlib.h>

#include "cheetah.h"
#include "response.h"

/*
 * Every error cheetah can answer (the parser's and the path checks' statuses), in each
 * variant (Connection: close or keep-alive, with or without the body for HEAD), formatted
 * at start-up into one block of registered memory: an error response is then sent like a
 * file, by reference, with no formatting and no copy but the Date line's. It is the
 * precomputed-header specialisation applied to errors; --no-prehdr formats them per request
 * instead.
 */

static const int errpage_status[] = {400, 404, 405, 413, 414, 431, 500, 505};
#define ERRPAGE_NSTATUS (sizeof(errpage_status) / sizeof(errpage_status[0]))

struct errpage {
	const char *data;
	uint32_t len;
	uint32_t date_at; /* found once here, not per response */
};

struct errpages {
	char *mem;
	size_t mem_len;
	struct errpage page[ERRPAGE_NSTATUS][2][2]; /* [status][keep_alive][head] */
};

int errpages_create(struct regmem *m, struct errpages **out)
{
	struct errpages *e = calloc(1, sizeof(*e));
	size_t off = 0;

	if (!e)
		return -ENOMEM;
	e->mem_len = ERRPAGE_NSTATUS * 4 * HTTP_ERRRESP_MAX;
	e->mem = regmem_alloc(m, e->mem_len);
	if (!e->mem) {
		free(e);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ERRPAGE_NSTATUS; i++) {
		for (int ka = 0; ka < 2; ka++) {
			for (int head = 0; head < 2; head++) {
				int n = http_resp_error(e->mem + off, HTTP_ERRRESP_MAX,
							errpage_status[i], ka, head, HTTP_NO_TIME);

				if (n < 0)
					continue; /* left NULL: sent as a copy if ever needed */
				e->page[i][ka][head] = (struct errpage){
				    .data = e->mem + off,
				    .len = (uint32_t)n,
				    .date_at = (uint32_t)http_resp_date_at(e->mem + off, (size_t)n),
				};
				off += (size_t)n;
			}
		}
	}
	*out = e;
	return 0;
}

void errpages_destroy(struct errpages *e, struct regmem *m)
{
	regmem_free(m, e->mem, e->mem_len);
	free(e);
}

const char *errpage_find(const struct errpages *e, int status, bool keep_alive, bool head,
			 size_t *len, size_t *date_at)
{
	for (size_t i = 0; i < ERRPAGE_NSTATUS; i++) {
		const struct errpage *p = &e->page[i][keep_alive][head];

		if (errpage_status[i] != status)
			continue;
		*len = p->len;
		*date_at = p->date_at;
		return p->data;
	}
	return NULL;
}
