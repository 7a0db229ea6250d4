/* response.c - status lines, header blocks and error responses */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "response.h"

const char *http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

/* Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	yoe = z - era * 146097;
	yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
	doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

int http_imf_date(int64_t t, char *out)
{
	static const char wday[7][4] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
	static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	/* Floor division, so that instants before 1970 land on the right day. */
	int64_t days = t / 86400 - (t % 86400 < 0), secs = t - days * 86400, y;
	char tmp[64];
	unsigned m, d;

	if (t < -62167219200LL || t > 253402300799LL) /* 0000-01-01 .. 9999-12-31 */
		return -EOVERFLOW;
	civil_from_days(days, &y, &m, &d);
	/* The range check makes it exactly HTTP_DATE_LEN; the compiler cannot see that. */
	snprintf(tmp, sizeof(tmp), "%s, %02u %s %04d %02d:%02d:%02d GMT",
		 wday[((days % 7) + 7) % 7], d, mon[m - 1], (int)y, (int)(secs / 3600),
		 (int)(secs / 60 % 60), (int)(secs % 60));
	memcpy(out, tmp, HTTP_DATE_LEN + 1);
	return 0;
}

/* An output buffer whose offset runs past its size on overflow, checked once at the end. */
struct outbuf {
	char *buf;
	size_t size, off;
};

__attribute__((format(printf, 2, 3))) static void appendf(struct outbuf *o, const char *fmt, ...)
{
	size_t room = o->off < o->size ? o->size - o->off : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? o->buf + o->off : NULL, room, fmt, ap);
	va_end(ap);
	o->off += n > 0 ? (size_t)n : 0;
}

static void append_time(struct outbuf *o, const char *name, int64_t t)
{
	char date[HTTP_DATE_LEN + 1];

	if (t != HTTP_NO_TIME && http_imf_date(t, date) == 0)
		appendf(o, "%s: %s\r\n", name, date);
}

int http_resp_header(char *buf, size_t size, const struct http_resp_fields *f)
{
	struct outbuf o = {.buf = buf, .size = size};

	appendf(&o, "HTTP/1.1 %d %s\r\nServer: " HTTP_SERVER_NAME "\r\n", f->status,
		http_reason(f->status));
	append_time(&o, "Date", f->date);
	if (f->content_type)
		appendf(&o, "Content-Type: %s\r\n", f->content_type);
	appendf(&o, "Content-Length: %" PRIu64 "\r\n", f->content_length);
	append_time(&o, "Last-Modified", f->last_modified);
	appendf(&o, "Connection: %s\r\n%s\r\n", f->keep_alive ? "keep-alive" : "close",
		f->extra ? f->extra : "");
	/* vsnprintf wants room for its NUL, so a block filling buf exactly is refused too. */
	return o.off < size ? (int)o.off : -ENOSPC;
}

size_t http_resp_date_at(const char *block, size_t len)
{
	const char *end = block + len, *p = block;

	for (int lines = 0; lines < 2; lines++) { /* the status line, then Server */
		p = memchr(p, '\n', (size_t)(end - p));
		if (!p)
			return len;
		p++;
	}
	return (size_t)(p - block);
}

const char *http_date_line(void)
{
	static __thread char line[HTTP_DATE_LINE_LEN + 1];
	static __thread time_t at = -1;
	time_t now = time(NULL);

	if (now != at) {
		char date[HTTP_DATE_LEN + 1];

		if (http_imf_date((int64_t)now, date) == 0) {
			memcpy(line, "Date: ", 6);
			memcpy(line + 6, date, HTTP_DATE_LEN);
			memcpy(line + 6 + HTTP_DATE_LEN, "\r\n", 2);
			at = now;
		}
	}
	return line;
}

int http_resp_error(char *buf, size_t size, int status, bool keep_alive, bool head, int64_t date)
{
	char body[256];
	int blen = snprintf(body, sizeof(body),
			    "<html><head><title>%d %s</title></head>"
			    "<body><h1>%d %s</h1></body></html>\n",
			    status, http_reason(status), status, http_reason(status));
	struct http_resp_fields f = {
	    .status = status,
	    .content_type = "text/html; charset=utf-8",
	    .content_length = (uint64_t)blen,
	    .last_modified = HTTP_NO_TIME,
	    .date = date,
	    .keep_alive = keep_alive,
	    .extra = status == 405 ? "Allow: GET, HEAD\r\n" : NULL,
	};
	int hlen = http_resp_header(buf, size, &f);

	if (hlen < 0 || head)
		return hlen;
	if ((size_t)hlen + (size_t)blen >= size)
		return -ENOSPC;
	memcpy(buf + hlen, body, (size_t)blen + 1);
	return hlen + blen;
}
