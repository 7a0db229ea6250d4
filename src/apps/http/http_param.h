/* http_param.h - every tunable of the shared HTTP code, in one place */
#ifndef XOK_HTTP_PARAM_H
#define XOK_HTTP_PARAM_H

/* Longest request line (method SP target SP version, without CRLF): longer gets 414. */
#define HTTP_REQLINE_MAX 8192

/* Longest header section (header lines and the empty line ending it, line ends included):
 * longer gets 431. */
#define HTTP_HEADERS_MAX 16384

/* Longest method token we remember; longer ones are unknown methods (405) anyway. */
#define HTTP_METHOD_MAX 15

/* Longest value kept for a header we interpret (Connection, Content-Length): longer gets 400. */
#define HTTP_HDRVAL_MAX 255

/* Largest request body we read past (GET/HEAD with a body): larger gets 413. */
#define HTTP_BODY_MAX (64 * 1024)

/* Longest docroot-relative path after decoding: longer gets 414. */
#define HTTP_PATH_MAX 4096

/* Room for one precomputed response header block (status line + fields). */
#define HTTP_HDRBLOCK_MAX 512

/* Room for a whole error response (header block + small HTML body). */
#define HTTP_ERRRESP_MAX 1024

/* Served when a directory is requested. */
#define HTTP_INDEX_FILE "index.html"

/* Default cache capacity (file data + header blocks) and how long an entry is trusted
 * before its size/mtime are checked again against the file system. */
#define HTTP_CACHE_CAPACITY_DEFAULT	 (256UL << 20)
#define HTTP_CACHE_REVALIDATE_NS_DEFAULT 1000000000ULL

/* Value of the Server: field (the paper's server; httpd and httpd-linux share the code). */
#define HTTP_SERVER_NAME "cheetah"

#endif /* XOK_HTTP_PARAM_H */
