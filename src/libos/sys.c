/* sys.c - the libOS system layer: connection to xokd, regions, filters, tables, info */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sys_internal.h"

int sys_err(int err)
{
	if (err < 0)
		errno = -err;
	return err;
}

EXOS_API uint64_t exos_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int sys_call(struct exos_sys *sys, uint16_t op, const void *req, size_t req_len, int fd_in,
	     void *rep, size_t rep_len, int *fd_out)
{
	_Alignas(16) uint8_t buf[XOK_MSG_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct xok_msg h = {
	    .magic = XOK_ABI_MAGIC,
	    .version = XOK_ABI_VERSION,
	    .op = op,
	    .seq = ++sys->seq,
	};
	struct iovec iov = {buf, sizeof(h) + req_len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;
	struct xok_msg rh;
	ssize_t n;
	int fd = -1;

	if (fd_out)
		*fd_out = -1;
	if (sizeof(h) + req_len > sizeof(buf))
		return -EMSGSIZE;
	if (sys->notes) /* wake notes waiting in the socket leave room for the reply */
		sys_drain_notes(sys);
	memcpy(buf, &h, sizeof(h));
	if (req_len)
		memcpy(buf + sizeof(h), req, req_len);
	if (fd_in >= 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd_in, sizeof(int));
	}
	do
		n = sendmsg(sys->fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == ECONNRESET || errno == ENOTCONN ? -EPIPE : -errno;

	for (;;) {
		iov.iov_len = sizeof(buf);
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		do
			n = recvmsg(sys->fd, &mh, MSG_CMSG_CLOEXEC);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return errno == ECONNRESET ? -EPIPE : -errno;
		if (n == 0)
			return -EPIPE;
		if (!sys_is_note(buf, (size_t)n))
			break; /* wake notes (exos_sys_wait_poll) may come before the reply */
	}
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	if ((size_t)n < sizeof(rh)) {
		if (fd >= 0)
			close(fd);
		return -EPROTO;
	}
	memcpy(&rh, buf, sizeof(rh));
	if (rh.magic != XOK_ABI_MAGIC || rh.seq != h.seq || rh.op != op) {
		if (fd >= 0)
			close(fd);
		return -EPROTO;
	}
	if (rep && rep_len) {
		size_t got = (size_t)n - sizeof(rh);

		memset(rep, 0, rep_len);
		memcpy(rep, buf + sizeof(rh), got < rep_len ? got : rep_len);
	}
	if (fd >= 0) {
		if (fd_out && rh.status == 0)
			*fd_out = fd;
		else
			close(fd);
	}
	return rh.status;
}

bool sys_is_note(const void *buf, size_t n)
{
	struct xok_msg h;

	if (n != sizeof(h))
		return false;
	memcpy(&h, buf, sizeof(h));
	return h.magic == XOK_ABI_MAGIC && h.op == XOK_OP_WAKE_NOTE && h.seq == 0;
}

/* ---- connection ---- */

EXOS_API const char *exos_sys_socket_path(const char *path)
{
	if (!path)
		path = getenv(XOK_SOCKET_ENV);
	return path && *path ? path : XOK_SOCKET_DEFAULT;
}

EXOS_API int exos_sys_open(const char *path, struct exos_sys **out)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct exos_sys *sys;
	int err;

	*out = NULL;
	path = exos_sys_socket_path(path);
	if (strlen(path) >= sizeof(sun.sun_path))
		return sys_err(-ENAMETOOLONG);
	strcpy(sun.sun_path, path);
	sys = calloc(1, sizeof(*sys));
	if (!sys)
		return sys_err(-ENOMEM);
	sys->efd = -1;
	sys->kick_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sys->kick_efd < 0) {
		err = -errno;
		free(sys);
		return sys_err(err);
	}
	sys->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sys->fd < 0) {
		err = -errno;
		goto fail;
	}
	if (connect(sys->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = -errno;
		goto fail;
	}
	err = sys_call(sys, XOK_OP_HELLO, NULL, 0, -1, &sys->hello, sizeof(sys->hello), NULL);
	if (err)
		goto fail;
	err = sys_txq_setup(sys);
	if (err)
		goto fail;
	*out = sys;
	return 0;
fail:
	exos_sys_close(sys);
	return sys_err(err);
}

EXOS_API void exos_sys_close(struct exos_sys *sys)
{
	uint32_t i;

	if (!sys)
		return;
	if (sys->fd >= 0)
		close(sys->fd); /* xokd reclaims everything of ours */
	if (sys->efd >= 0)
		close(sys->efd);
	if (sys->kick_efd >= 0)
		close(sys->kick_efd);
	sys_rings_free(sys);
	for (i = 0; i < SYS_REGIONS_MAX; i++) {
		struct exos_region *r = sys->regions[i];

		if (!r)
			continue;
		munmap(r->base, r->size);
		free(r);
	}
	for (i = 0; i < XOK_TABLE_NR; i++)
		if (sys->tables[i].base)
			munmap((void *)sys->tables[i].base, sys->tables[i].size);
	free(sys);
}

EXOS_API int exos_sys_fd(const struct exos_sys *sys)
{
	return sys->fd;
}

EXOS_API uint32_t exos_sys_app_id(const struct exos_sys *sys)
{
	return sys->hello.app_id;
}

EXOS_API int exos_sys_info(struct exos_sys *sys, struct xok_info_reply *out)
{
	return sys_err(sys_call(sys, XOK_OP_INFO, NULL, 0, -1, out, sizeof(*out), NULL));
}

EXOS_API int exos_sys_stats(struct exos_sys *sys, enum xok_stats_kind kind, uint32_t cursor,
			    struct xok_stats_reply *out)
{
	struct xok_stats_req req = {.kind = kind, .cursor = cursor};

	return sys_err(sys_call(sys, XOK_OP_STATS, &req, sizeof(req), -1, out, sizeof(*out), NULL));
}

/* ---- regions ---- */

static int sys_memfd(size_t size, unsigned int seals)
{
	int fd = memfd_create("exos", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0 || fcntl(fd, F_ADD_SEALS, seals) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int sys_region_new(struct exos_sys *sys, size_t size, struct exos_region **out)
{
	long page = sysconf(_SC_PAGESIZE);
	struct xok_region_add req = {0};
	struct xok_region_add_reply rep;
	struct exos_region *r;
	uint32_t slot;
	void *base;
	int fd, err;

	if (size == 0 || size > (size_t)1 << 46)
		return -EINVAL;
	size = (size + (size_t)page - 1) & ~((size_t)page - 1);
	for (slot = 0; slot < SYS_REGIONS_MAX; slot++)
		if (!sys->regions[slot])
			break;
	if (slot == SYS_REGIONS_MAX)
		return -EDQUOT;
	fd = sys_memfd(size, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	if (fd < 0)
		return fd;
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		err = -errno;
		close(fd);
		return err;
	}
	req.size = size;
	err = sys_call(sys, XOK_OP_REGION_ADD, &req, sizeof(req), fd, &rep, sizeof(rep), NULL);
	close(fd);
	if (err) {
		munmap(base, size);
		return err;
	}
	r = malloc(sizeof(*r));
	if (!r) {
		struct xok_region_del del = {.region = rep.region};

		sys_call(sys, XOK_OP_REGION_DEL, &del, sizeof(del), -1, NULL, 0, NULL);
		munmap(base, size);
		return -ENOMEM;
	}
	r->id = rep.region;
	r->base = base;
	r->size = size;
	sys->regions[slot] = r;
	*out = r;
	return 0;
}

EXOS_API int exos_region_create(struct exos_sys *sys, size_t size, struct exos_region **out)
{
	return sys_err(sys_region_new(sys, size, out));
}

EXOS_API int exos_region_destroy(struct exos_sys *sys, struct exos_region *r)
{
	struct xok_region_del req = {.region = r->id};
	uint32_t i;
	int err;

	err = sys_call(sys, XOK_OP_REGION_DEL, &req, sizeof(req), -1, NULL, 0, NULL);
	if (err == -EBUSY && sys->pred_installed && sys->pred_dirty) {
		/* a dropped watch may still pin it in xokd's copy of the predicate */
		err = sys_pred_install(sys);
		if (!err)
			err =
			    sys_call(sys, XOK_OP_REGION_DEL, &req, sizeof(req), -1, NULL, 0, NULL);
	}
	if (err)
		return sys_err(err);
	for (i = 0; i < SYS_REGIONS_MAX; i++)
		if (sys->regions[i] == r)
			sys->regions[i] = NULL;
	munmap(r->base, r->size);
	free(r);
	return 0;
}

EXOS_API int exos_region_ref(const struct exos_sys *sys, const void *p, size_t len,
			     struct xok_ref *out)
{
	uintptr_t a = (uintptr_t)p;
	uint32_t i;

	for (i = 0; i < SYS_REGIONS_MAX; i++) {
		const struct exos_region *r = sys->regions[i];
		uintptr_t b;

		if (!r)
			continue;
		b = (uintptr_t)r->base;
		if (a >= b && a - b <= r->size && len <= r->size - (a - b)) {
			out->region = r->id;
			out->pad = 0;
			out->offset = a - b;
			return 0;
		}
	}
	for (i = 0; i < XOK_TABLE_NR; i++) {
		const struct sys_table *t = &sys->tables[i];
		uintptr_t b = (uintptr_t)t->base;

		if (t->base && a >= b && a - b <= t->size && len <= t->size - (a - b)) {
			out->region = XOK_REGION_TABLE(i);
			out->pad = 0;
			out->offset = a - b;
			return 0;
		}
	}
	return sys_err(-EFAULT);
}

/* ---- filters ---- */

EXOS_API int exos_filter_insert(struct exos_sys *sys, const struct exos_ring *ring, uint32_t flags,
				uint32_t parent, const struct dpf_filter *f,
				struct exos_filter_id *out)
{
	struct xok_dpf_insert req;
	struct xok_dpf_insert_reply rep;
	int err;

	memset(out, 0, sizeof(*out));
	if (!ring || f->natoms > DPF_MAX_ATOMS)
		return sys_err(-EINVAL);
	memset(&req, 0, sizeof(req));
	req.ring = ring->id;
	req.flags = flags;
	req.parent = parent;
	req.filter.natoms = f->natoms;
	memcpy(req.filter.atoms, f->atoms, f->natoms * sizeof(f->atoms[0]));
	err = sys_call(sys, XOK_OP_DPF_INSERT, &req, sizeof(req), -1, &rep, sizeof(rep), NULL);
	out->parent = rep.parent;
	if (err)
		return sys_err(err);
	out->id = rep.filter;
	out->cap = rep.cap;
	return 0;
}

EXOS_API int exos_filter_delete(struct exos_sys *sys, uint32_t id)
{
	struct xok_dpf_delete req = {.filter = id};

	return sys_err(sys_call(sys, XOK_OP_DPF_DELETE, &req, sizeof(req), -1, NULL, 0, NULL));
}

EXOS_API int exos_filter_ref(struct exos_sys *sys, uint32_t id, const struct xok_cap *cap,
			     const struct exos_ring *ring)
{
	struct xok_dpf_ref req = {.filter = id, .ring = ring ? ring->id : 0, .cap = *cap};

	return sys_err(sys_call(sys, XOK_OP_DPF_REF, &req, sizeof(req), -1, NULL, 0, NULL));
}

/* ---- system tables ---- */

EXOS_API int exos_table_get(struct exos_sys *sys, enum xok_table t, const void **base, size_t *size)
{
	struct xok_table_req req = {.table = t}, rep;
	void *p;
	int fd, err;

	if ((unsigned int)t >= XOK_TABLE_NR)
		return sys_err(-EINVAL);
	if (!sys->tables[t].base) {
		err =
		    sys_call(sys, XOK_OP_TABLE_GET, &req, sizeof(req), -1, &rep, sizeof(rep), &fd);
		if (err)
			return sys_err(err);
		if (fd < 0)
			return sys_err(-EPROTO);
		p = mmap(NULL, rep.size, PROT_READ, MAP_SHARED, fd, 0);
		err = -errno;
		close(fd);
		if (p == MAP_FAILED)
			return sys_err(err);
		sys->tables[t].base = p;
		sys->tables[t].size = rep.size;
	}
	*base = sys->tables[t].base;
	*size = sys->tables[t].size;
	return 0;
}

/*
 * xokd owns the table's memory (abi.h): publishing gets a writable fd of it.  A restarted
 * publisher gets the same pages back, with what its predecessor wrote.
 */
EXOS_API int exos_table_publish(struct exos_sys *sys, enum xok_table t, size_t size, void **base)
{
	struct xok_table_req req = {.table = t, .size = size}, rep;
	void *p;
	int fd, err;

	if ((unsigned int)t >= XOK_TABLE_NR || size == 0)
		return sys_err(-EINVAL);
	err = sys_call(sys, XOK_OP_TABLE_PUBLISH, &req, sizeof(req), -1, &rep, sizeof(rep), &fd);
	if (err)
		return sys_err(err);
	if (fd < 0 || rep.size < size)
		return sys_err(fd < 0 ? -EPROTO : -EINVAL);
	p = mmap(NULL, rep.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	err = -errno;
	close(fd);
	if (p == MAP_FAILED)
		return sys_err(err);
	if (sys->tables[t].base)
		munmap((void *)sys->tables[t].base, sys->tables[t].size);
	sys->tables[t].base = p;
	sys->tables[t].size = rep.size;
	sys->tables[t].writable = true;
	*base = p;
	return 0;
}

EXOS_API int exos_table_notify(struct exos_sys *sys, enum xok_table t)
{
	struct xok_table_req req = {.table = t}, rep;

	return sys_err(
	    sys_call(sys, XOK_OP_TABLE_NOTIFY, &req, sizeof(req), -1, &rep, sizeof(rep), NULL));
}
