/* kern_test.c - helpers for xokd's in-process unit tests */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kern_test.h"

struct xokd *kt_xokd(void)
{
	struct xokd_cfg cfg = {0};
	struct xokd *x = malloc(sizeof(*x));

	assert_non_null(x);
	cfg.socket_path = "/nonexistent";
	assert_int_equal(xokd_init(x, &cfg), 0);
	x->no_bpf = true;
	assert_int_equal(iface_fake(x, "fake0", KT_IFINDEX, KT_MTU), 0);
	return x;
}

void kt_xokd_free(struct xokd *x)
{
	xokd_fini(x);
	free(x);
}

struct app *kt_app(struct xokd *x, uid_t uid)
{
	struct app *a = app_new(x, -1, getpid(), uid, uid);

	assert_non_null(a);
	return a;
}

int kt_call(struct xokd *x, struct app *a, uint16_t op, const void *body, size_t len, int fd,
	    void *rep, size_t rep_len)
{
	static _Alignas(16) uint8_t buf[XOK_MSG_MAX + 64], out[XOK_MSG_MAX];
	struct xok_msg h = {XOK_ABI_MAGIC, XOK_ABI_VERSION, op, 42, 0}, rh;
	int fds[1] = {fd}, rep_fd;
	size_t n;

	assert_true(sizeof(h) + len <= sizeof(buf));
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), body, len);
	n = ctl_dispatch(x, a, buf, sizeof(h) + len, false, fds, fd >= 0 ? 1 : 0, out, &rep_fd);
	assert_true(n >= sizeof(rh));
	memcpy(&rh, out, sizeof(rh));
	assert_int_equal(rh.magic, XOK_ABI_MAGIC);
	assert_int_equal(rh.seq, 42);
	assert_int_equal(rh.op, op);
	if (rep && rep_len) {
		memset(rep, 0, rep_len);
		memcpy(rep, out + sizeof(rh), n - sizeof(rh) < rep_len ? n - sizeof(rh) : rep_len);
	}
	return rh.status;
}

int kt_memfd(size_t size, unsigned int seals)
{
	int fd = memfd_create("kt", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	if (seals)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

uint32_t kt_region(struct xokd *x, struct app *a, size_t size, void **base)
{
	struct xok_region_add m = {.size = size};
	struct xok_region_add_reply r;
	int fd = kt_memfd(size, F_SEAL_SHRINK);

	if (base) {
		*base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		assert_true(*base != MAP_FAILED);
	}
	assert_int_equal(kt_call(x, a, XOK_OP_REGION_ADD, &m, sizeof(m), fd, &r, sizeof(r)), 0);
	assert_true(r.region != 0);
	return r.region;
}

uint32_t kt_ring(struct xokd *x, struct app *a, uint32_t entry_size, uint32_t nentries, void **base)
{
	size_t size = sizeof(struct xok_ring_hdr) + (size_t)entry_size * nentries;
	struct xok_ring_set m = {0};
	struct xok_ring_set_reply r;

	size = (size + 4095) & ~(size_t)4095;
	m.at.region = kt_region(x, a, size, base);
	m.entry_size = entry_size;
	m.nentries = nentries;
	assert_int_equal(KT_CALL(x, a, XOK_OP_RING_SET, &m, &r), 0);
	return r.ring;
}

int kt_udp_filter(struct xokd *x, struct app *a, uint32_t ring, uint16_t port, uint32_t flags,
		  struct xok_dpf_insert_reply *rep)
{
	struct xok_dpf_insert m;
	struct xok_dpf_insert_reply r;

	memset(&m, 0, sizeof(m));
	m.ring = ring;
	m.flags = flags;
	assert_int_equal(dpf_filter_udp_port(&m.filter, 0, port), 0);
	return KT_CALL(x, a, XOK_OP_DPF_INSERT, &m, rep ? rep : &r);
}

int kt_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

bool kt_fd_closed(int fd)
{
	return fcntl(fd, F_GETFD) < 0 && errno == EBADF;
}
