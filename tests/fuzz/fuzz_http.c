/* fuzz_http.c - libFuzzer harness: the HTTP request parser and the path normaliser
 *
 * An input is a byte stream from a client.  Byte 0 picks how the stream is cut into the
 * pieces the parser is fed (as TCP segments would cut it); the rest is parsed into as many
 * pipelined requests as it holds, twice: whole and in those pieces.  Both parses must give
 * the same requests (the parser keeps no state outside struct http_req).  Every complete
 * request must be well formed or carry one of the error statuses the parser documents;
 * for a well formed one, the normalised path must be confined to the docroot: relative,
 * no "." or ".." segment (nor any other hidden one), no empty segment, no control byte.
 * Any violation aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"
#include "request.h"

#define MAX_REQS 64

struct result {
	int status;
	enum http_method method;
	uint8_t version;
	bool keep_alive;
	size_t target_len;
	char target[HTTP_REQLINE_MAX + 1];
};

static void check_path(const struct http_req *r)
{
	char out[HTTP_PATH_MAX + 1];
	int n = http_path_normalize(r->target, r->target_len, out, sizeof(out));

	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out) || out[n] != '\0' || (n && out[0] == '/'))
		abort();
	for (int i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];
		bool seg_start = i == 0 || out[i - 1] == '/';

		if (c < 0x20 || c == 0x7f)
			abort();
		if (seg_start && (c == '/' || c == '.')) /* empty, dot or hidden segment */
			abort();
	}
}

static void check_request(const struct http_req *r)
{
	switch (r->status) {
	case 0:
		if (r->method != HTTP_METHOD_GET && r->method != HTTP_METHOD_HEAD)
			abort();
		if (r->version != 10 && r->version != 11)
			abort();
		if (r->target_len > HTTP_REQLINE_MAX || r->target[r->target_len] != '\0')
			abort();
		check_path(r);
		break;
	case 400:
	case 405:
	case 413:
	case 414:
	case 431:
	case 505:
		break;
	default:
		abort();
	}
}

/* Parses data in pieces of the sizes `cut` gives; returns the requests completed. */
static unsigned parse_all(const uint8_t *data, size_t size, uint8_t cut, struct result *out)
{
	static struct http_req r;
	unsigned n = 0;
	size_t off = 0, piece = 0;

	http_req_init(&r);
	while (off < size && n < MAX_REQS) {
		size_t len = cut ? (size_t)((cut * (piece + 7)) % 61 + 1) : size - off;
		size_t used;

		piece++;
		if (len > size - off)
			len = size - off;
		used = http_req_parse(&r, data + off, len);
		if (used > len)
			abort();
		off += used;
		if (!http_req_done(&r)) {
			if (used != len)
				abort(); /* an incomplete request takes everything it is given */
			continue;
		}
		check_request(&r);
		out[n] = (struct result){.status = r.status,
					 .method = r.method,
					 .version = r.version,
					 .keep_alive = r.keep_alive,
					 .target_len = r.target_len};
		memcpy(out[n].target, r.target, r.target_len + 1);
		n++;
		if (r.status)
			break; /* the connection would be closed */
		http_req_init(&r);
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct result whole[MAX_REQS], cut[MAX_REQS];
	unsigned nw, nc;

	if (size < 1)
		return 0;
	nw = parse_all(data + 1, size - 1, 0, whole);
	nc = parse_all(data + 1, size - 1, data[0] | 1, cut);
	if (nw != nc)
		abort();
	for (unsigned i = 0; i < nw; i++)
		if (whole[i].status != cut[i].status || whole[i].method != cut[i].method ||
		    whole[i].version != cut[i].version || whole[i].keep_alive != cut[i].keep_alive ||
		    whole[i].target_len != cut[i].target_len ||
		    memcmp(whole[i].target, cut[i].target, whole[i].target_len))
			abort();
	return 0;
}
