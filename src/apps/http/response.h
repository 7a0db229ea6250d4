/* response.h - status lines, header blocks and error responses */
#ifndef XOK_HTTP_RESPONSE_H
#define XOK_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_param.h"

/* Length of an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7). */
#define HTTP_DATE_LEN 29
/* Length of the whole field line, "Date: " + IMF-fixdate + CRLF. */
#define HTTP_DATE_LINE_LEN (6 + HTTP_DATE_LEN + 2)

/* "No such field" for the time fields of struct http_resp_fields. */
#define HTTP_NO_TIME INT64_MIN

struct http_resp_fields {
	int status;
	const char *content_type; /* NULL: no Content-Type */
	uint64_t content_length;
	int64_t last_modified; /* seconds since the epoch, or HTTP_NO_TIME */
	int64_t date;	       /* seconds since the epoch, or HTTP_NO_TIME: precomputed
				* blocks leave Date out, as it would go stale, and send
				* http_date_line() at http_resp_date_at() instead */
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

/* Where a Date field line goes in a header block formatted without one: after the status
 * line and Server (RFC 9110 sends no order, but this is where servers put it). */
size_t http_resp_date_at(const char *block, size_t len);

/* The "Date: ...\r\n" field line for now (HTTP_DATE_LINE_LEN bytes, not NUL-terminated),
 * formatted at most once a second per thread.  RFC 9110 §6.6.1: an origin server with a
 * clock sends it in every response. */
const char *http_date_line(void);

/* A complete error response: header block and, unless head, a small HTML body.
 * 405 carries "Allow: GET, HEAD".  date: as in struct http_resp_fields.  Returns its
 * length or -ENOSPC. */
int http_resp_error(char *buf, size_t size, int status, bool keep_alive, bool head, int64_t date);

#endif /* XOK_HTTP_RESPONSE_H */
