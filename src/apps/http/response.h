/* response.h - status lines, header blocks and error responses */
#ifndef XOK_HTTP_RESPONSE_H
#define XOK_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_param.h"

/* Length of an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7). */
#define HTTP_DATE_LEN 29

/* "No such field" for the time fields of struct http_resp_fields. */
#define HTTP_NO_TIME INT64_MIN

struct http_resp_fields {
	int status;
	const char *content_type; /* NULL: no Content-Type */
	uint64_t content_length;
	int64_t last_modified; /* seconds since the epoch, or HTTP_NO_TIME */
	int64_t date;	       /* seconds since the epoch, or HTTP_NO_TIME: precomputed
				* blocks leave Date out, as it would go stale */
	bool keep_alive;       /* Connection: keep-alive, else Connection: close */
	const char *extra;     /* more fields, each ending in CRLF, or NULL */
};

/* The reason phrase of a status code ("Not Found"), "Unknown" if we never send it. */
const char *http_reason(int status);

/* Format t as an IMF-fixdate into out (HTTP_DATE_LEN + 1 bytes), whatever the locale.
 * Returns 0, or -EOVERFLOW for years outside 0..9999. */
int http_imf_date(int64_t t, char *out);

/* Format a header block: status line, fields, empty line. Always "HTTP/1.1" (RFC 9110
 * §6.2: a server sends its own version). Returns its length or -ENOSPC. */
int http_resp_header(char *buf, size_t size, const struct http_resp_fields *f);

/* A complete error response: header block and, unless head, a small HTML body.
 * 405 carries "Allow: GET, HEAD". Returns its length or -ENOSPC. */
int http_resp_error(char *buf, size_t size, int status, bool keep_alive, bool head);

#endif /* XOK_HTTP_RESPONSE_H */
