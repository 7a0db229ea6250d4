/* path.c - request-target to file: decoding, normalisation, confinement to the docroot */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "path.h"

int http_root_open(struct http_root *root, const char *docroot)
{
	struct stat st;

	root->real = realpath(docroot, NULL);
	if (!root->real)
		return -errno;
	if (stat(root->real, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(root->real);
		return -ENOTDIR;
	}
	root->real_len = strlen(root->real);
	root->dirfd = open(root->real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root->dirfd < 0) {
		int err = -errno;

		free(root->real);
		return err;
	}
	return 0;
}

void http_root_close(struct http_root *root)
{
	if (root->dirfd >= 0)
		close(root->dirfd);
	free(root->real);
	root->real = NULL;
	root->dirfd = -1;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Skip "http://authority" of an absolute-form target (RFC 9112 §3.2.2): servers must accept it. */
static int skip_absolute_form(const char **t, const char **end)
{
	const char *p = *t;
	size_t n = (size_t)(*end - p);

	if (n && *p == '/')
		return 0;
	if (n >= 7 && strncasecmp(p, "http://", 7) == 0)
		p += 7;
	else if (n >= 8 && strncasecmp(p, "https://", 8) == 0)
		p += 8;
	else
		return -EINVAL; /* "*", authority-form and junk */
	while (p < *end && *p != '/' && *p != '?' && *p != '#')
		p++;
	*t = p;
	return 0;
}

/* Finish the segment out[seg..*w): drop empty and "." segments, pop on "..". */
static int end_segment(char *out, size_t seg, size_t *w)
{
	size_t len = *w - seg;
	size_t sep = seg ? seg - 1 : 0; /* where this segment's '/' was written */

	if (len == 0 || (len == 1 && out[seg] == '.')) {
		*w = sep;
		return 0;
	}
	if (len == 2 && out[seg] == '.' && out[seg + 1] == '.') {
		if (sep == 0)
			return -EINVAL; /* climbs above the docroot */
		while (sep > 0 && out[sep - 1] != '/')
			sep--;
		*w = sep ? sep - 1 : 0;
	}
	return 0;
}

/* Decode one byte of the path at *p, refusing what must never reach the file system. */
static int decode_byte(const char **p, const char *end, unsigned char *out)
{
	unsigned char c = (unsigned char)**p;

	if (c == '%') {
		int hi, lo;

		if (end - *p < 3)
			return -EINVAL;
		hi = hexval((unsigned char)(*p)[1]);
		lo = hexval((unsigned char)(*p)[2]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		c = (unsigned char)(hi << 4 | lo);
		/* An encoded '/' would make one segment two behind the normaliser's back. */
		if (c == '/')
			return -EINVAL;
		*p += 3;
	} else {
		*p += 1;
	}
	if (c < 0x20 || c == 0x7f)
		return -EINVAL; /* NUL would truncate the path; controls are never file names here
				 */
	*out = c;
	return 0;
}

static bool has_hidden_segment(const char *path)
{
	return path[0] == '.' || strstr(path, "/.") != NULL;
}

int http_path_normalize(const char *target, size_t len, char *out, size_t outsz)
{
	const char *p = target, *end = target + len;
	size_t w = 0, seg = 0;
	int err = skip_absolute_form(&p, &end);

	if (err)
		return err;
	while (p < end && *p != '?' && *p != '#') {
		unsigned char c;

		if (*p == '/') {
			err = end_segment(out, seg, &w);
			if (err)
				return err;
			p++;
			if (w)
				out[w++] = '/';
			seg = w;
			continue;
		}
		err = decode_byte(&p, end, &c);
		if (err)
			return err;
		if (w + 1 >= outsz)
			return -ENAMETOOLONG;
		out[w++] = (char)c;
	}
	err = end_segment(out, seg, &w);
	if (err)
		return err;
	if (w && out[w - 1] == '/')
		w--; /* a trailing slash names the same directory */
	out[w] = '\0';
	if (has_hidden_segment(out))
		return -ENOENT;
	return (int)w;
}

/* openat2() confined beneath the docroot, following no symlink at all. */
static int open_beneath(int dirfd, const char *rel)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS) /* pre-5.6 kernel: the realpath check still confines */
		fd = openat(dirfd, rel, (int)how.flags | O_NOFOLLOW);
	return fd < 0 ? -errno : (int)fd;
}

/* Canonicalise root/path and return the part below the root, or an error. */
static int canonical_rel(const struct http_root *root, const char *path, char *buf,
			 const char **rel)
{
	char full[PATH_MAX];
	int n = snprintf(full, sizeof(full), "%s/%s", root->real, path);

	if (n < 0 || (size_t)n >= sizeof(full))
		return -ENAMETOOLONG;
	if (!realpath(full, buf))
		return errno == ENOTDIR || errno == ELOOP ? -ENOENT : -errno;
	if (root->real_len == 1) { /* docroot "/" */
		*rel = buf[1] ? buf + 1 : ".";
		return 0;
	}
	if (strncmp(buf, root->real, root->real_len) != 0 ||
	    (buf[root->real_len] != '/' && buf[root->real_len] != '\0'))
		return -EXDEV; /* a symlink led outside the docroot */
	*rel = buf[root->real_len] ? buf + root->real_len + 1 : ".";
	return 0;
}

static int open_resolved(const struct http_root *root, const char *path, bool want_index, int *fdp,
			 struct stat *st, char *real, size_t realsz)
{
	char buf[PATH_MAX];
	const char *rel = NULL;
	int fd, err = canonical_rel(root, path, buf, &rel);

	if (err)
		return err;
	if (has_hidden_segment(rel) && strcmp(rel, ".") != 0)
		return -ENOENT; /* e.g. a visible symlink to a dot-file */
	fd = open_beneath(root->dirfd, rel);
	if (fd < 0)
		return fd == -ELOOP || fd == -EXDEV ? -ENOENT : fd;
	if (fstat(fd, st) < 0) {
		err = -errno;
		goto fail;
	}
	if (S_ISDIR(st->st_mode) && want_index) {
		char index[PATH_MAX];

		close(fd);
		if (snprintf(index, sizeof(index), "%s/%s", rel, HTTP_INDEX_FILE) >=
		    (int)sizeof(index))
			return -ENAMETOOLONG;
		return open_resolved(root, index, false, fdp, st, real, realsz);
	}
	err = -ENOENT; /* directories without index, FIFOs, devices: nothing to serve */
	if (!S_ISREG(st->st_mode))
		goto fail;
	err = -ENAMETOOLONG;
	if (real && snprintf(real, realsz, "%s", rel) >= (int)realsz)
		goto fail;
	*fdp = fd;
	return 0;
fail:
	close(fd);
	return err;
}

int http_path_open(const struct http_root *root, const char *path, int *fd, struct stat *st,
		   char *real, size_t realsz)
{
	return open_resolved(root, path, true, fd, st, real, realsz);
}

int http_path_status(int err)
{
	switch (err) {
	case -EINVAL:
		return 400;
	case -ENAMETOOLONG:
		return 414;
	case -ENOENT:
	case -ENOTDIR:
	case -EXDEV:
	case -ELOOP:
	case -EACCES:
	case -EPERM:
		return 404;
	default:
		return 500;
	}
}
