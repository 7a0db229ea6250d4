/* mime.h - Content-Type by file name extension */
#ifndef XOK_HTTP_MIME_H
#define XOK_HTTP_MIME_H

/* The media type for a file name (only its last extension counts, case-insensitively);
 * application/octet-stream when unknown. Never NULL; the string is static. */
const char *http_mime_type(const char *name);

#endif /* XOK_HTTP_MIME_H */
