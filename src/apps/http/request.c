/* request.c - incremental HTTP/1.0 and HTTP/1.1 request parser (RFC 9110, RFC 9112) */
#include <string.h>
#include <strings.h>

#include "request.h"

/* tchar of RFC 9110 §5.6.2: the characters of methods and header names. */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

void http_req_init(struct http_req *r)
{
	/* Only the fields read before being written need clearing: not the buffers. */
	r->status = 0;
	r->method = HTTP_METHOD_NONE;
	r->version = 0;
	r->keep_alive = false;
	r->has_host = false;
	r->content_length = 0;
	r->target_len = 0;
	r->target[0] = '\0';
	r->state = HTTP_RS_START;
	r->hdr = HTTP_HDR_OTHER;
	r->conn_close = false;
	r->conn_keep_alive = false;
	r->has_length = false;
	r->line_len = 0;
	r->hdrs_len = 0;
	r->tok_len = 0;
	r->body_left = 0;
}

/* Complete the request with an error; the connection will be closed after the answer. */
static void req_fail(struct http_req *r, int status)
{
	r->status = status;
	r->keep_alive = false;
	r->state = HTTP_RS_DONE;
}

static void tok_push(struct http_req *r, unsigned char c)
{
	if (r->tok_len < HTTP_HDRVAL_MAX)
		r->tok[r->tok_len++] = (char)c;
	r->tok[r->tok_len] = '\0';
}

static void end_method(struct http_req *r)
{
	memcpy(r->method_buf, r->tok, r->tok_len + 1);
	/* Methods are case-sensitive (RFC 9110 §9.1): "get" is some other method. */
	if (strcmp(r->method_buf, "GET") == 0)
		r->method = HTTP_METHOD_GET;
	else if (strcmp(r->method_buf, "HEAD") == 0)
		r->method = HTTP_METHOD_HEAD;
	else
		r->method = HTTP_METHOD_OTHER;
	r->tok_len = 0;
	r->state = HTTP_RS_TARGET;
}

/* "HTTP/" DIGIT "." DIGIT; 1.x above 1.1 is answered as 1.1 (RFC 9110 §2.5). */
static int parse_version(struct http_req *r)
{
	const char *v = r->tok;

	if (r->tok_len != 8 || strncmp(v, "HTTP/", 5) != 0 || v[6] != '.')
		return 400;
	if (v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1')
		return 505;
	r->version = v[7] == '0' ? 10 : 11;
	return 0;
}

static void end_request_line(struct http_req *r)
{
	int status = parse_version(r);

	/* Syntax and version errors first, then the method, as the line is now complete. */
	if (!status && r->method == HTTP_METHOD_OTHER)
		status = 405;
	if (status) {
		req_fail(r, status);
		return;
	}
	r->tok_len = 0;
	r->state = HTTP_RS_HDR_BOL;
}

static enum http_hdr_id header_id(const char *name, size_t len)
{
	static const struct {
		const char *name;
		enum http_hdr_id id;
	} known[] = {
	    {"connection", HTTP_HDR_CONNECTION},
	    {"host", HTTP_HDR_HOST},
	    {"content-length", HTTP_HDR_CONTENT_LENGTH},
	    {"transfer-encoding", HTTP_HDR_TRANSFER_ENCODING},
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i].name) == len && strncasecmp(known[i].name, name, len) == 0)
			return known[i].id;
	return HTTP_HDR_OTHER;
}

/* Connection: a comma-separated token list; only close and keep-alive matter here. */
static void parse_connection(struct http_req *r)
{
	char *save = NULL;

	for (char *t = strtok_r(r->tok, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t n;

		while (is_ows((unsigned char)*t))
			t++;
		n = strlen(t);
		while (n && is_ows((unsigned char)t[n - 1]))
			n--;
		if (n == 5 && strncasecmp(t, "close", 5) == 0)
			r->conn_close = true;
		else if (n == 10 && strncasecmp(t, "keep-alive", 10) == 0)
			r->conn_keep_alive = true;
	}
}

static int parse_content_length(struct http_req *r)
{
	uint64_t v = 0;

	if (r->tok_len == 0)
		return 400;
	for (size_t i = 0; i < r->tok_len; i++) {
		unsigned char c = (unsigned char)r->tok[i];

		if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10)
			return 400;
		v = v * 10 + (c - '0');
	}
	/* Repeated lengths must agree, or the message framing is ambiguous (RFC 9112 §6.3). */
	if (r->has_length && v != r->content_length)
		return 400;
	r->has_length = true;
	r->content_length = v;
	return 0;
}

static int end_header_line(struct http_req *r)
{
	int status = 0;

	while (r->tok_len && is_ows((unsigned char)r->tok[r->tok_len - 1]))
		r->tok[--r->tok_len] = '\0';

	switch (r->hdr) {
	case HTTP_HDR_CONNECTION:
		parse_connection(r);
		break;
	case HTTP_HDR_HOST:
		if (r->has_host)
			return 400;
		r->has_host = true;
		break;
	case HTTP_HDR_CONTENT_LENGTH:
		status = parse_content_length(r);
		break;
	case HTTP_HDR_TRANSFER_ENCODING:
		/* No request bodies are wanted; chunked framing is not worth supporting. */
		return 400;
	case HTTP_HDR_OTHER:
		break;
	}
	r->tok_len = 0;
	r->state = HTTP_RS_HDR_BOL;
	return status;
}

static void end_headers(struct http_req *r)
{
	/* RFC 9112 §3.2: an HTTP/1.1 request without Host gets 400. */
	if (r->version == 11 && !r->has_host) {
		req_fail(r, 400);
		return;
	}
	if (r->content_length > HTTP_BODY_MAX) {
		req_fail(r, 413);
		return;
	}
	if (r->version == 11)
		r->keep_alive = !r->conn_close;
	else
		r->keep_alive = r->conn_keep_alive && !r->conn_close;
	r->body_left = r->content_length;
	r->state = r->body_left ? HTTP_RS_BODY : HTTP_RS_DONE;
}

/* The request line: method SP request-target SP HTTP-version. */
static void step_request_line(struct http_req *r, unsigned char c)
{
	bool eol = c == '\r' || c == '\n';

	/* Line ends are not part of the line, but a flood of empty lines is bounded too. */
	if ((!eol || r->state == HTTP_RS_START) && ++r->line_len > HTTP_REQLINE_MAX) {
		req_fail(r, r->state == HTTP_RS_START ? 400 : 414);
		return;
	}
	switch (r->state) {
	case HTTP_RS_START:
		/* RFC 9112 §2.2: ignore empty lines before the request line. */
		if (eol)
			return;
		if (!is_tchar(c)) {
			req_fail(r, 400);
			return;
		}
		r->line_len = 1;
		r->state = HTTP_RS_METHOD;
		tok_push(r, c);
		return;
	case HTTP_RS_METHOD:
		if (c == ' ')
			end_method(r);
		else if (!is_tchar(c))
			req_fail(r, 400);
		else if (r->tok_len < HTTP_METHOD_MAX)
			tok_push(r, c);
		else
			r->tok[0] = '\0'; /* too long to be GET or HEAD: some other method */
		return;
	case HTTP_RS_TARGET:
		if (c == ' ' && r->target_len) {
			r->state = HTTP_RS_VERSION;
		} else if (c <= ' ' || c >= 0x7f) {
			/* Controls, spaces and non-ASCII are never valid in a target;
			 * CR/LF here is an HTTP/0.9 request line, also refused. */
			req_fail(r, 400);
		} else {
			r->target[r->target_len++] = (char)c;
			r->target[r->target_len] = '\0';
		}
		return;
	default: /* HTTP_RS_VERSION */
		if (eol) {
			if (c == '\n')
				end_request_line(r);
			else
				r->state = HTTP_RS_RL_LF;
		} else if (r->tok_len >= 8) {
			req_fail(r, 400);
		} else {
			tok_push(r, c);
		}
		return;
	}
}

static void step_header_name(struct http_req *r, unsigned char c)
{
	if (c == ':') {
		r->hdr = header_id(r->tok, r->tok_len);
		r->tok_len = 0;
		r->tok[0] = '\0';
		r->state = HTTP_RS_HDR_OWS;
	} else if (is_tchar(c)) {
		/* Names longer than the buffer are none of the few interpreted ones. */
		tok_push(r, c);
	} else {
		/* Includes whitespace before the colon (RFC 9112 §5.1: must be 400). */
		req_fail(r, 400);
	}
}

static void step_header_value(struct http_req *r, unsigned char c)
{
	int status = 0;

	if (c == '\r') {
		r->state = HTTP_RS_HDR_LF;
		return;
	}
	if (c == '\n')
		status = end_header_line(r);
	else if ((c < ' ' && c != '\t') || c == 0x7f)
		status = 400;
	else if (r->hdr != HTTP_HDR_OTHER && r->hdr != HTTP_HDR_HOST) {
		if (r->tok_len >= HTTP_HDRVAL_MAX)
			status = 400;
		else
			tok_push(r, c);
	}
	if (status)
		req_fail(r, status);
}

/* The header section: header lines, then an empty line. */
static void step_headers(struct http_req *r, unsigned char c)
{
	if (++r->hdrs_len > HTTP_HEADERS_MAX) {
		req_fail(r, 431);
		return;
	}
	switch (r->state) {
	case HTTP_RS_HDR_BOL:
		if (c == '\r') {
			r->state = HTTP_RS_END_LF;
		} else if (c == '\n') {
			end_headers(r);
		} else if (is_tchar(c)) {
			r->state = HTTP_RS_HDR_NAME;
			tok_push(r, c);
		} else {
			/* Obsolete line folding and junk (RFC 9112 §5.2: may reject). */
			req_fail(r, 400);
		}
		return;
	case HTTP_RS_HDR_NAME:
		step_header_name(r, c);
		return;
	case HTTP_RS_HDR_OWS:
		if (is_ows(c))
			return;
		r->state = HTTP_RS_HDR_VALUE;
		step_header_value(r, c);
		return;
	case HTTP_RS_HDR_VALUE:
		step_header_value(r, c);
		return;
	case HTTP_RS_HDR_LF: {
		int status = c == '\n' ? end_header_line(r) : 400;

		if (status)
			req_fail(r, status);
		return;
	}
	default: /* HTTP_RS_END_LF */
		if (c != '\n')
			req_fail(r, 400);
		else
			end_headers(r);
		return;
	}
}

size_t http_req_parse(struct http_req *r, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i = 0;

	while (i < len && r->state != HTTP_RS_DONE) {
		if (r->state == HTTP_RS_BODY) {
			size_t n = len - i < r->body_left ? len - i : (size_t)r->body_left;

			i += n;
			r->body_left -= n;
			if (!r->body_left)
				r->state = HTTP_RS_DONE;
		} else if (r->state == HTTP_RS_RL_LF) {
			if (p[i++] != '\n')
				req_fail(r, 400);
			else
				end_request_line(r);
		} else if (r->state <= HTTP_RS_VERSION) {
			step_request_line(r, p[i++]);
		} else {
			step_headers(r, p[i++]);
		}
	}
	return i;
}
