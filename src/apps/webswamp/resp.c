/* resp.c - incremental, count-only HTTP/1.x response parser */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "resp.h"

void swamp_resp_init(struct swamp_resp *r)
{
	/* Everything but the line buffer, which is only read up to line_len. */
	memset(r, 0, offsetof(struct swamp_resp, line));
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "HTTP/1.x SSS[ reason]": only the first 12 bytes matter, so a truncated line is fine. */
static int resp_status(struct swamp_resp *r, const char *l, size_t len)
{
	if (len < 12 || memcmp(l, "HTTP/1.", 7) || !is_digit(l[7]) || l[8] != ' ')
		return -EBADMSG;
	if (!is_digit(l[9]) || !is_digit(l[10]) || !is_digit(l[11]) || l[9] == '0')
		return -EBADMSG;
	if (len > 12 && l[12] != ' ')
		return -EBADMSG;
	r->minor = (uint16_t)(l[7] - '0');
	r->status = (uint16_t)((l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0'));
	r->state = SWAMP_RESP_HEADERS;
	return 0;
}

static int resp_content_length(struct swamp_resp *r, const char *v, size_t len)
{
	uint64_t n = 0;

	/* 19 digits cannot overflow 64 bits; a list ("5, 5") is rejected, as is any sign. */
	if (!len || len > 19)
		return -EBADMSG;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(v[i]))
			return -EBADMSG;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if ((r->flags & SWAMP_RESP_F_HAVE_CL) && r->content_length != n)
		return -EBADMSG;
	r->content_length = n;
	r->flags |= SWAMP_RESP_F_HAVE_CL;
	return 0;
}

/* We send no TE or Accept-Encoding, so "chunked" is the only coding a server may use. */
static int resp_transfer_encoding(struct swamp_resp *r, const char *v, size_t len)
{
	if (len != 7 || strncasecmp(v, "chunked", 7) || (r->flags & SWAMP_RESP_F_CHUNKED))
		return -EBADMSG;
	r->flags |= SWAMP_RESP_F_CHUNKED;
	return 0;
}

static void resp_connection(struct swamp_resp *r, const char *v, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t start, end;

		while (i < len && (is_ows(v[i]) || v[i] == ','))
			i++;
		start = i;
		while (i < len && v[i] != ',')
			i++;
		end = i;
		while (end > start && is_ows(v[end - 1]))
			end--;
		if (end - start == 5 && !strncasecmp(v + start, "close", 5))
			r->flags |= SWAMP_RESP_F_CLOSE;
		else if (end - start == 10 && !strncasecmp(v + start, "keep-alive", 10))
			r->flags |= SWAMP_RESP_F_KEEPALIVE;
	}
}

static bool name_is(const char *l, size_t nlen, const char *name)
{
	return nlen == strlen(name) && !strncasecmp(l, name, nlen);
}

/* One field line: we interpret three names and skip the rest.  `total` is the line's true
 * length; when it exceeds `len` only a prefix is held, fine unless the field is one we need. */
static int resp_field(struct swamp_resp *r, const char *l, size_t len, size_t total)
{
	const char *colon = memchr(l, ':', len), *v;
	size_t nlen, vlen;
	bool trunc = total > len;

	if (is_ows(l[0]))
		return -EBADMSG; /* obsolete line folding */
	if (!colon)
		return trunc ? 0 : -EBADMSG;
	nlen = (size_t)(colon - l);
	if (!nlen || is_ows(l[nlen - 1]))
		return -EBADMSG;
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen && is_ows(*v))
		v++, vlen--;
	while (vlen && is_ows(v[vlen - 1]))
		vlen--;
	if (name_is(l, nlen, "content-length"))
		return trunc ? -EBADMSG : resp_content_length(r, v, vlen);
	if (name_is(l, nlen, "transfer-encoding"))
		return trunc ? -EBADMSG : resp_transfer_encoding(r, v, vlen);
	if (name_is(l, nlen, "connection")) {
		if (trunc)
			return -EBADMSG;
		resp_connection(r, v, vlen);
	}
	return 0;
}

static void resp_start_chunk(struct swamp_resp *r)
{
	r->state = SWAMP_RESP_CHUNK_SIZE;
	r->remaining = 0;
	r->line_total = 0;
	r->flags &= (uint8_t) ~(SWAMP_RESP_F_HEX | SWAMP_RESP_F_EXT | SWAMP_RESP_F_CR);
}

/* The empty line: decide how the body is framed. */
static int resp_end_headers(struct swamp_resp *r)
{
	if (r->status < 200) {
		/* An interim response: the real one follows.  101 we never asked for. */
		if (r->status == 101)
			return -EBADMSG;
		r->state = SWAMP_RESP_STATUS;
		r->flags = 0;
		r->content_length = 0;
		return 0;
	}
	if ((r->flags & SWAMP_RESP_F_CHUNKED) && (r->flags & SWAMP_RESP_F_HAVE_CL))
		return -EBADMSG; /* ambiguous framing (a smuggling vector) */
	if (r->minor == 0 && !(r->flags & SWAMP_RESP_F_KEEPALIVE))
		r->flags |= SWAMP_RESP_F_CLOSE;
	if (r->status == 204 || r->status == 304) {
		r->state = SWAMP_RESP_DONE;
	} else if (r->flags & SWAMP_RESP_F_CHUNKED) {
		resp_start_chunk(r);
	} else if (r->flags & SWAMP_RESP_F_HAVE_CL) {
		r->remaining = r->content_length;
		r->state = r->remaining ? SWAMP_RESP_BODY : SWAMP_RESP_DONE;
	} else if (r->flags & SWAMP_RESP_F_CLOSE) {
		r->state = SWAMP_RESP_BODY_EOF;
	} else {
		return -EBADMSG; /* no framing on a persistent connection */
	}
	return 0;
}

static int resp_line(struct swamp_resp *r, const char *l, size_t len, size_t total)
{
	if (total == len && len && l[len - 1] == '\r')
		len--, total--;
	switch (r->state) {
	case SWAMP_RESP_STATUS:
		return resp_status(r, l, len);
	case SWAMP_RESP_HEADERS:
		return total ? resp_field(r, l, len, total) : resp_end_headers(r);
	default: /* SWAMP_RESP_TRAILERS: skipped */
		if (!total)
			r->state = SWAMP_RESP_DONE;
		return 0;
	}
}

/* Header and trailer lines: whole lines are parsed in place; a line split across spans is
 * gathered in r->line first. */
static int resp_feed_line(struct swamp_resp *r, const char **sp, const char *end)
{
	const char *s = *sp, *nl = memchr(s, '\n', (size_t)(end - s));
	size_t piece = (size_t)((nl ? nl : end) - s), room;
	int rc;

	r->hdr_bytes += (uint32_t)piece + (nl ? 1 : 0);
	if (r->hdr_bytes > SWAMP_HEADERS_MAX)
		return -EBADMSG;
	*sp = nl ? nl + 1 : end;
	/* In place or gathered, a line is seen through the same SWAMP_LINE_MAX window, so the
	 * outcome never depends on where the spans were cut. */
	if (nl && !r->line_total)
		return resp_line(r, s, piece < SWAMP_LINE_MAX ? piece : SWAMP_LINE_MAX, piece);
	room = SWAMP_LINE_MAX - r->line_len;
	if (piece < room)
		room = piece;
	memcpy(r->line + r->line_len, s, room);
	r->line_len = (uint16_t)(r->line_len + room);
	r->line_total += (uint32_t)piece;
	if (!nl)
		return 0;
	rc = resp_line(r, r->line, r->line_len, r->line_total);
	r->line_len = 0;
	r->line_total = 0;
	return rc;
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "1a2b[ ;ext=val]\r\n": digits, then anything up to the line end. */
static int resp_feed_chunk_size(struct swamp_resp *r, const char **sp, const char *end)
{
	const char *s = *sp;
	int rc = 0;

	while (s < end) {
		char c = *s++;
		int d;

		if (++r->line_total > SWAMP_CHUNK_LINE_MAX)
			return -EBADMSG;
		if (c == '\n') {
			if (!(r->flags & SWAMP_RESP_F_HEX))
				return -EBADMSG;
			r->state = r->remaining ? SWAMP_RESP_CHUNK_DATA : SWAMP_RESP_TRAILERS;
			r->line_total = 0;
			r->hdr_bytes = 0;
			break;
		}
		if (r->flags & SWAMP_RESP_F_EXT)
			continue;
		d = hex_value(c);
		if (d >= 0) {
			if (r->remaining >> 60)
				return -EBADMSG;
			r->remaining = (r->remaining << 4) | (uint64_t)d;
			r->flags |= SWAMP_RESP_F_HEX;
		} else if ((c == ';' || c == '\r' || is_ows(c)) && (r->flags & SWAMP_RESP_F_HEX)) {
			r->flags |= SWAMP_RESP_F_EXT;
		} else {
			rc = -EBADMSG;
			break;
		}
	}
	*sp = s;
	return rc;
}

/* The CRLF (or bare LF) that ends chunk data. */
static int resp_feed_chunk_end(struct swamp_resp *r, const char **sp)
{
	char c = *(*sp)++;

	if (c == '\r' && !(r->flags & SWAMP_RESP_F_CR)) {
		r->flags |= SWAMP_RESP_F_CR;
		return 0;
	}
	if (c != '\n')
		return -EBADMSG;
	resp_start_chunk(r);
	return 0;
}

static void resp_count(struct swamp_resp *r, const char **sp, const char *end)
{
	uint64_t take = (uint64_t)(end - *sp);

	if (r->state != SWAMP_RESP_BODY_EOF && take > r->remaining)
		take = r->remaining;
	*sp += take;
	r->body_bytes += take;
	if (r->state == SWAMP_RESP_BODY_EOF)
		return;
	r->remaining -= take;
	if (!r->remaining)
		r->state = r->state == SWAMP_RESP_BODY ? SWAMP_RESP_DONE : SWAMP_RESP_CHUNK_END;
}

long swamp_resp_feed(struct swamp_resp *r, const void *p, size_t n)
{
	const char *s = p, *end = s + n;
	int rc = 0;

	while (s < end && r->state != SWAMP_RESP_DONE && !rc) {
		switch (r->state) {
		case SWAMP_RESP_BODY:
		case SWAMP_RESP_BODY_EOF:
		case SWAMP_RESP_CHUNK_DATA:
			resp_count(r, &s, end);
			break;
		case SWAMP_RESP_CHUNK_SIZE:
			rc = resp_feed_chunk_size(r, &s, end);
			break;
		case SWAMP_RESP_CHUNK_END:
			rc = resp_feed_chunk_end(r, &s);
			break;
		default:
			rc = resp_feed_line(r, &s, end);
			break;
		}
	}
	r->bytes += (uint64_t)(s - (const char *)p);
	return rc ? rc : (long)(s - (const char *)p);
}

int swamp_resp_eof(struct swamp_resp *r)
{
	if (r->state == SWAMP_RESP_BODY_EOF)
		r->state = SWAMP_RESP_DONE;
	if (r->state == SWAMP_RESP_DONE)
		return 0;
	if (r->state == SWAMP_RESP_STATUS && !r->bytes)
		return -ENODATA;
	return -EPROTO;
}
