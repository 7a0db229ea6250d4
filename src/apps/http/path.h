/* path.h - request-target to file: decoding, normalisation, confinement to the docroot */
#ifndef XOK_HTTP_PATH_H
#define XOK_HTTP_PATH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "http_param.h"

/*
 * Two steps, both refusing rather than repairing anything suspicious:
 *
 * http_path_normalize() works on the URL only: it strips an absolute-form prefix, the query
 * and fragment, decodes %-escapes, removes empty, "." and ".." segments (RFC 3986 §5.2.4,
 * after decoding, so %2e%2e is ".." too) and refuses a ".." that climbs above the root, an
 * encoded '/', NUL and other control bytes, and hidden (dot) segments.
 *
 * http_path_open() works on the file system: it resolves every symlink (realpath), refuses
 * a result outside the docroot or with a hidden component, then opens that canonical path
 * with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) relative to the docroot, so a path
 * changed under us between the two steps fails instead of escaping.
 *
 * Errors and their HTTP status (http_path_status()):
 *   -EINVAL        malformed or escaping target            400
 *   -ENAMETOOLONG  decoded path longer than HTTP_PATH_MAX   414
 *   -ENOENT        missing, hidden, not a regular file      404
 *   -EXDEV         resolves outside the docroot             404
 *   -EACCES etc.   as the file system says                  404 (500 for the unexpected)
 */

struct http_root {
	int dirfd;  /* O_PATH directory fd of the docroot */
	char *real; /* its canonical absolute path */
	size_t real_len;
};

/* Open the docroot; -ENOENT if missing, -ENOTDIR if not a directory. */
int http_root_open(struct http_root *root, const char *docroot);
void http_root_close(struct http_root *root);

/* Normalise target[0..len) into out (docroot-relative, no leading '/', "" for the docroot
 * itself). Returns the length of out or -errno. */
int http_path_normalize(const char *target, size_t len, char *out, size_t outsz);

/* Open the regular file a normalised path names (a directory means its index.html).
 * On success *fd is open O_RDONLY, *st describes it and, if real is not NULL, real gets its
 * canonical docroot-relative path (the key of the checksum index). */
int http_path_open(const struct http_root *root, const char *path, int *fd, struct stat *st,
		   char *real, size_t realsz);

/* A file's modification time in ns since the epoch: the staleness key of cache and index. */
static inline int64_t http_stat_mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* The HTTP status to answer for an error from this module (or from reading the file). */
int http_path_status(int err);

#endif /* XOK_HTTP_PATH_H */
