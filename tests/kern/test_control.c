/* test_control.c - every control message field at and past its bounds, fed in-process */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kern_test.h"
#include "op_sizes.h"

static int setup(void **state)
{
	*state = kt_xokd();
	return 0;
}

static int teardown(void **state)
{
	kt_xokd_free(*state);
	return 0;
}

/* ---- framing ---- */

static void test_header(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000);
	_Alignas(16) uint8_t buf[64] = {0}, rep[XOK_MSG_MAX];
	struct xok_msg h = {XOK_ABI_MAGIC, XOK_ABI_VERSION, XOK_OP_HELLO, 7, 0}, rh;
	int rep_fd, fd;
	size_t n;

	/* shorter than a header */
	n = ctl_dispatch(x, a, buf, 15, false, NULL, 0, rep, &rep_fd);
	memcpy(&rh, rep, sizeof(rh));
	assert_int_equal(n, sizeof(rh));
	assert_int_equal(rh.status, -EINVAL);
	assert_int_equal(rep_fd, -1);

	memcpy(buf, &h, sizeof(h));
	n = ctl_dispatch(x, a, buf, sizeof(h), false, NULL, 0, rep, &rep_fd);
	memcpy(&rh, rep, sizeof(rh));
	assert_int_equal(rh.status, 0);
	assert_int_equal(rh.seq, 7);
	assert_int_equal(n, sizeof(rh) + sizeof(struct xok_hello_reply));

	/* truncated (datagram larger than XOK_MSG_MAX) */
	ctl_dispatch(x, a, buf, sizeof(h), true, NULL, 0, rep, &rep_fd);
	memcpy(&rh, rep, sizeof(rh));
	assert_int_equal(rh.status, -EMSGSIZE);

	h.magic ^= 1;
	memcpy(buf, &h, sizeof(h));
	ctl_dispatch(x, a, buf, sizeof(h), false, NULL, 0, rep, &rep_fd);
	memcpy(&rh, rep, sizeof(rh));
	assert_int_equal(rh.status, -EPROTO);

	h.magic = XOK_ABI_MAGIC;
	h.version = XOK_ABI_VERSION + 1;
	memcpy(buf, &h, sizeof(h));
	ctl_dispatch(x, a, buf, sizeof(h), false, NULL, 0, rep, &rep_fd);
	memcpy(&rh, rep, sizeof(rh));
	assert_int_equal(rh.status, -EPROTONOSUPPORT);

	h.version = XOK_ABI_VERSION;
	h.op = XOK_OP_NR;
	memcpy(buf, &h, sizeof(h));
	ctl_dispatch(x, a, buf, sizeof(h), false, NULL, 0, rep, &rep_fd);
	memcpy(&rh, rep, sizeof(rh));
	assert_int_equal(rh.status, -ENOSYS);
	h.op = 0xffff;
	memcpy(buf, &h, sizeof(h));
	ctl_dispatch(x, a, buf, sizeof(h), false, NULL, 0, rep, &rep_fd);
	memcpy(&rh, rep, sizeof(rh));
	assert_int_equal(rh.status, -ENOSYS);

	/* status must be 0 in requests */
	h.op = XOK_OP_HELLO;
	h.status = -1;
	memcpy(buf, &h, sizeof(h));
	ctl_dispatch(x, a, buf, sizeof(h), false, NULL, 0, rep, &rep_fd);
	memcpy(&rh, rep, sizeof(rh));
	assert_int_equal(rh.status, -EINVAL);

	/* an fd the op does not take is refused and closed */
	fd = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(kt_call(x, a, XOK_OP_HELLO, NULL, 0, fd, NULL, 0), -EINVAL);
	assert_true(kt_fd_closed(fd));
	/* fds with a bad header are closed too */
	fd = eventfd(0, EFD_CLOEXEC);
	h.status = 0;
	h.magic = 0;
	memcpy(buf, &h, sizeof(h));
	ctl_dispatch(x, a, buf, sizeof(h), false, &fd, 1, rep, &rep_fd);
	assert_true(kt_fd_closed(fd));
	/* more than one fd */
	{
		int two[2] = {eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC)};

		h.magic = XOK_ABI_MAGIC;
		h.op = XOK_OP_TXQ_SET;
		memcpy(buf, &h, sizeof(h));
		memset(buf + sizeof(h), 0, sizeof(struct xok_txq_set));
		ctl_dispatch(x, a, buf, sizeof(h) + sizeof(struct xok_txq_set), false, two, 2, rep,
			     &rep_fd);
		memcpy(&rh, rep, sizeof(rh));
		assert_int_equal(rh.status, -EINVAL);
		assert_true(kt_fd_closed(two[0]));
		assert_true(kt_fd_closed(two[1]));
	}
	/* lost fds (MSG_CTRUNC) */
	h.op = XOK_OP_HELLO;
	memcpy(buf, &h, sizeof(h));
	ctl_dispatch(x, a, buf, sizeof(h), false, NULL, -1, rep, &rep_fd);
	memcpy(&rh, rep, sizeof(rh));
	assert_int_equal(rh.status, -EINVAL);
}

/* Every op rejects a body one byte short or one byte long. */
/* Every byte of every length up to 300, at every offset of an unaligned buffer. */
static void test_pad_zero(void **state)
{
	uint8_t buf[300 + 8] = {0};

	(void)state;
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n <= 300; n++) {
			assert_true(ctl_pad_zero(buf + off, n));
			for (size_t i = 0; i < n; i++) {
				buf[off + i] = 0x80;
				assert_false(ctl_pad_zero(buf + off, n));
				buf[off + i] = 0;
			}
		}
	buf[0] = 1; /* outside the range checked */
	assert_true(ctl_pad_zero(buf + 1, 300));
}

static void test_body_lengths(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 0);
	static uint8_t zero[XOK_MSG_MAX];
	unsigned int op;

	for (op = 0; op < XOK_OP_NR; op++) {
		size_t size = op_body_size(op);

		if (op == XOK_OP_WAKE_NOTE) { /* xokd -> app only: not a request */
			assert_int_equal(kt_call(x, a, (uint16_t)op, zero, 0, -1, NULL, 0),
					 -ENOSYS);
			continue;
		}
		if (size)
			assert_int_equal(kt_call(x, a, (uint16_t)op, zero, size - 1, -1, NULL, 0),
					 -EINVAL);
		assert_int_equal(kt_call(x, a, (uint16_t)op, zero, size + 1, -1, NULL, 0), -EINVAL);
	}
}

/* ---- regions ---- */

static void test_region_add(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000);
	struct xok_region_add m = {.size = 8192};
	struct xok_region_add_reply r;
	int fd, p[2], i;

	/* no fd */
	assert_int_equal(kt_call(x, a, XOK_OP_REGION_ADD, &m, sizeof(m), -1, &r, sizeof(r)),
			 -EINVAL);
#define ADD_FD(msg, fdv) kt_call(x, a, XOK_OP_REGION_ADD, &(msg), sizeof(msg), (fdv), &r, sizeof(r))
	/* pad, flags, size 0, size not a page multiple */
	m.pad = 1;
	fd = kt_memfd(8192, F_SEAL_SHRINK);
	assert_int_equal(ADD_FD(m, fd), -EINVAL);
	assert_true(kt_fd_closed(fd));
	m.pad = 0;
	m.flags = 1;
	assert_int_equal(ADD_FD(m, kt_memfd(8192, F_SEAL_SHRINK)), -EINVAL);
	m.flags = 0;
	m.size = 0;
	assert_int_equal(ADD_FD(m, kt_memfd(8192, F_SEAL_SHRINK)), -EINVAL);
	m.size = 4097;
	assert_int_equal(ADD_FD(m, kt_memfd(8192, F_SEAL_SHRINK)), -EINVAL);
	/* memfd smaller than declared */
	m.size = 16384;
	assert_int_equal(ADD_FD(m, kt_memfd(8192, F_SEAL_SHRINK)), -EINVAL);
	/* not sealed against shrinking */
	m.size = 8192;
	assert_int_equal(ADD_FD(m, kt_memfd(8192, F_SEAL_GROW)), -EINVAL);
	assert_int_equal(ADD_FD(m, kt_memfd(8192, 0)), -EINVAL);
	/* not a regular file */
	assert_int_equal(pipe(p), 0);
	close(p[1]);
	assert_int_equal(ADD_FD(m, p[0]), -EINVAL);
	assert_true(kt_fd_closed(p[0]));
	assert_int_equal(ADD_FD(m, eventfd(0, 0)), -EINVAL);
	/* sealed against writing: xokd cannot map it writable */
	assert_true(ADD_FD(m, kt_memfd(8192, F_SEAL_SHRINK | F_SEAL_WRITE)) < 0);
	/* valid: the fd is closed (the mapping is the pin), ids start at 1 */
	fd = kt_memfd(8192, F_SEAL_SHRINK);
	assert_int_equal(ADD_FD(m, fd), 0);
	assert_true(kt_fd_closed(fd));
	assert_int_equal(r.region, 1);
	assert_int_equal(a->nregions, 1);
	/* count limit */
	for (i = 1; i < XOK_APP_REGIONS_MAX; i++)
		assert_int_equal(ADD_FD(m, kt_memfd(8192, F_SEAL_SHRINK)), 0);
	assert_int_equal(ADD_FD(m, kt_memfd(8192, F_SEAL_SHRINK)), -EDQUOT);
	assert_int_equal(a->nregions, XOK_APP_REGIONS_MAX);
#undef ADD_FD
}

static void test_region_bytes_limit(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000);
	struct xok_region_add m = {.size = XOK_APP_REGION_BYTES_MAX};
	struct xok_region_add_reply r;

	/* a sparse memfd: nothing is touched */
	assert_int_equal(kt_call(x, a, XOK_OP_REGION_ADD, &m, sizeof(m),
				 kt_memfd(m.size, F_SEAL_SHRINK), &r, sizeof(r)),
			 0);
	m.size = 4096;
	assert_int_equal(kt_call(x, a, XOK_OP_REGION_ADD, &m, sizeof(m),
				 kt_memfd(m.size, F_SEAL_SHRINK), &r, sizeof(r)),
			 -EDQUOT);
}

static void test_region_del(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000), *b = kt_app(x, 1001);
	struct xok_region_del d = {0};
	struct xok_ring_set rs = {0};
	struct xok_ring_set_reply rr;
	struct xok_ring_del rd = {0};

	d.region = kt_region(x, a, 65536, NULL);
	d.pad = 1;
	assert_int_equal(KT_CALL0(x, a, XOK_OP_REGION_DEL, &d), -EINVAL);
	d.pad = 0;
	/* another app cannot name it */
	assert_int_equal(KT_CALL0(x, b, XOK_OP_REGION_DEL, &d), -ENOENT);
	/* in use by a ring */
	rs.at.region = d.region;
	rs.entry_size = 2048;
	rs.nentries = 16;
	assert_int_equal(KT_CALL(x, a, XOK_OP_RING_SET, &rs, &rr), 0);
	assert_int_equal(KT_CALL0(x, a, XOK_OP_REGION_DEL, &d), -EBUSY);
	rd.ring = rr.ring;
	assert_int_equal(KT_CALL0(x, a, XOK_OP_RING_DEL, &rd), 0);
	assert_int_equal(KT_CALL0(x, a, XOK_OP_REGION_DEL, &d), 0);
	assert_int_equal(KT_CALL0(x, a, XOK_OP_REGION_DEL, &d), -ENOENT);
	d.region = 0;
	assert_int_equal(KT_CALL0(x, a, XOK_OP_REGION_DEL, &d), -ENOENT);
	d.region = XOK_APP_REGIONS_MAX + 1;
	assert_int_equal(KT_CALL0(x, a, XOK_OP_REGION_DEL, &d), -ENOENT);
	d.region = XOK_REGION_TABLE(0);
	assert_int_equal(KT_CALL0(x, a, XOK_OP_REGION_DEL, &d), -ENOENT);
}

/* ---- rings ---- */

static void test_ring_set(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000), *b = kt_app(x, 1001);
	struct xok_ring_set m = {0}, ok;
	struct xok_ring_set_reply r;
	uint32_t reg = kt_region(x, a, 1 << 20, NULL);
	int i;

	ok.at.region = reg;
	ok.at.pad = 0;
	ok.at.offset = 64;
	ok.entry_size = 2048;
	ok.nentries = 64;
#define RS(field, val, want)                                                                       \
	do {                                                                                       \
		m = ok;                                                                            \
		m.field = val;                                                                     \
		assert_int_equal(KT_CALL(x, a, XOK_OP_RING_SET, &m, &r), want);                    \
	} while (0)
	RS(at.pad, 1, -EINVAL);
	RS(at.region, 0, -ENOENT);
	RS(at.region, reg + 1, -ENOENT);
	RS(at.offset, 32, -EINVAL);		 /* not 64-byte aligned */
	RS(at.offset, (1 << 20) - 64, -EINVAL);	 /* runs past the end */
	RS(at.offset, UINT64_MAX - 63, -EINVAL); /* offset + size overflows */
	RS(at.offset, 1 << 20, -EINVAL);
	RS(entry_size, 0, -EINVAL);
	RS(entry_size, XOK_RING_ENTRY_MIN - 8, -EINVAL);
	RS(entry_size, XOK_RING_ENTRY_MAX + 8, -EINVAL);
	RS(entry_size, 2044, -EINVAL); /* not a multiple of 8 */
	RS(nentries, 0, -EINVAL);
	RS(nentries, XOK_RING_ENTRIES_MAX + 1, -EINVAL);
	RS(nentries, (1 << 20) / 2048, -EINVAL); /* header + entries past the end */
	RS(entry_size, XOK_RING_ENTRY_MIN, 0);
	RS(nentries, ((1 << 20) - 128 - 64) / 2048, 0); /* exactly fits */
	RS(at.offset, 0, 0);
#undef RS
	/* another app cannot put a ring in a's region */
	m = ok;
	assert_int_equal(KT_CALL(x, b, XOK_OP_RING_SET, &m, &r), -ENOENT);
	/* ids are never reused, and the limit */
	for (i = a->nrings; i < XOK_APP_RINGS_MAX; i++)
		assert_int_equal(KT_CALL(x, a, XOK_OP_RING_SET, &ok, &r), 0);
	assert_int_equal(KT_CALL(x, a, XOK_OP_RING_SET, &ok, &r), -EDQUOT);
}

static void test_ring_mod_del(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000), *b = kt_app(x, 1001);
	uint32_t ring = kt_ring(x, a, 2048, 16, NULL);
	struct xok_ring_mod m = {0};
	struct xok_ring_del d = {0};
	struct ring *r;

	m.ring = ring;
	m.geometry.at.region = kt_region(x, a, 65536, NULL);
	m.geometry.entry_size = 1024;
	m.geometry.nentries = 32;
	m.pad = 1;
	assert_int_equal(KT_CALL0(x, a, XOK_OP_RING_MOD, &m), -EINVAL);
	m.pad = 0;
	assert_int_equal(KT_CALL0(x, b, XOK_OP_RING_MOD, &m), -ENOENT);
	m.geometry.nentries = 64; /* 128 + 64K does not fit in 64K */
	assert_int_equal(KT_CALL0(x, a, XOK_OP_RING_MOD, &m), -EINVAL);
	m.geometry.nentries = 32;
	assert_int_equal(KT_CALL0(x, a, XOK_OP_RING_MOD, &m), 0);
	r = ring_lookup(a, ring);
	assert_non_null(r);
	assert_int_equal(r->entry_size, 1024);
	assert_int_equal(r->nentries, 32);
	assert_int_equal(r->next, 0);
	/* the first region is no longer used by it */
	assert_int_equal(a->regions[0]->refs, 0);
	assert_int_equal(a->regions[1]->refs, 1);

	d.ring = ring;
	d.pad = 1;
	assert_int_equal(KT_CALL0(x, a, XOK_OP_RING_DEL, &d), -EINVAL);
	d.pad = 0;
	assert_int_equal(KT_CALL0(x, b, XOK_OP_RING_DEL, &d), -ENOENT);
	/* busy while a filter delivers to it */
	assert_int_equal(kt_udp_filter(x, a, ring, 53, 0, NULL), 0);
	assert_int_equal(KT_CALL0(x, a, XOK_OP_RING_DEL, &d), -EBUSY);
}

/* ---- filters ---- */

static void test_dpf_insert_fields(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000), *b = kt_app(x, 1001);
	uint32_t ring = kt_ring(x, a, 2048, 16, NULL);
	struct xok_dpf_insert m, ok;
	struct xok_dpf_insert_reply r;

	memset(&ok, 0, sizeof(ok));
	ok.ring = ring;
	assert_int_equal(dpf_filter_udp_port(&ok.filter, 0, 53), 0);
#define DI(stmt, want)                                                                             \
	do {                                                                                       \
		m = ok;                                                                            \
		stmt;                                                                              \
		assert_int_equal(KT_CALL(x, a, XOK_OP_DPF_INSERT, &m, &r), want);                  \
	} while (0)
	DI(m.pad = 1, -EINVAL);
	DI(m.flags = 0x4, -EINVAL);
	DI(m.flags = XOK_DPF_COPY | XOK_DPF_OPEN, -EINVAL);
	DI(m.ring = 0, -ENOENT);
	DI(m.ring = ring + 100, -ENOENT);
	DI(m.filter.natoms = DPF_MAX_ATOMS + 1, -EINVAL);
	DI(m.filter.pad = 1, -EINVAL);
	DI(m.filter.atoms[m.filter.natoms].mask = 1, -EINVAL); /* past natoms: must be zero */
	DI(m.filter.atoms[0].width = 3, -EINVAL);
	DI(m.filter.atoms[0].pad = 1, -EINVAL);
	DI(m.filter.atoms[0].kind = 7, -EINVAL);
	DI(m.flags = XOK_DPF_COPY, -EPERM); /* not privileged */
	DI(m.parent = 999, -EINVAL);	    /* lands at the root, not under 999 */
#undef DI
	/* b's ring cannot be used by a */
	m = ok;
	m.ring = kt_ring(x, b, 2048, 16, NULL);
	assert_int_equal(KT_CALL(x, a, XOK_OP_DPF_INSERT, &m, &r), -ENOENT);
	/* valid */
	m = ok;
	assert_int_equal(KT_CALL(x, a, XOK_OP_DPF_INSERT, &m, &r), 0);
	assert_true(r.filter > 0);
	assert_int_equal(r.parent, 0);
	assert_true(r.cap.w[0] | r.cap.w[1]);
	assert_int_equal(x->nfilters, 1);
}

static void test_dpf_tree_rules(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000), *b = kt_app(x, 1001), *root = kt_app(x, 0);
	uint32_t ra = kt_ring(x, a, 2048, 16, NULL), rb = kt_ring(x, b, 2048, 16, NULL);
	uint32_t rroot = kt_ring(x, root, 2048, 16, NULL);
	struct xok_dpf_insert m;
	struct xok_dpf_insert_reply r, ipv4, port53;

	/* a: all IPv4 */
	memset(&m, 0, sizeof(m));
	m.ring = ra;
	dpf_filter_all_ipv4(&m.filter);
	assert_int_equal(KT_CALL(x, a, XOK_OP_DPF_INSERT, &m, &ipv4), 0);
	/* a refines its own filter: lands under it */
	assert_int_equal(kt_udp_filter(x, a, ra, 53, 0, &port53), 0);
	assert_int_equal(port53.parent, ipv4.filter);
	/* b may not refine a's filter: -EPERM, naming the parent */
	assert_int_equal(kt_udp_filter(x, b, rb, 54, 0, &r), -EPERM);
	assert_int_equal(r.parent, ipv4.filter);
	/* equal to an installed filter */
	assert_int_equal(kt_udp_filter(x, a, ra, 53, 0, &r), -EEXIST);
	assert_int_equal(r.parent, port53.filter);
	/* an ambiguous overlap: UDP source port 53 vs destination port 53 */
	memset(&m, 0, sizeof(m));
	m.ring = ra;
	dpf_filter_init(&m.filter);
	dpf_match_ipv4(&m.filter);
	dpf_match_ipv4_proto(&m.filter, 17);
	dpf_match_l4_sport(&m.filter, 53);
	assert_int_equal(KT_CALL(x, a, XOK_OP_DPF_INSERT, &m, &r), -EBUSY);
	/* explicit parent that matches */
	memset(&m, 0, sizeof(m));
	m.ring = ra;
	m.parent = ipv4.filter;
	dpf_filter_udp_port(&m.filter, 0, 99);
	assert_int_equal(KT_CALL(x, a, XOK_OP_DPF_INSERT, &m, &r), 0);
	assert_int_equal(r.parent, ipv4.filter);
	/* a capability lets b refine it */
	{
		struct xok_dpf_ref ref = {.filter = ipv4.filter, .cap = ipv4.cap};

		ref.cap.w[1] ^= 1;
		assert_int_equal(KT_CALL0(x, b, XOK_OP_DPF_REF, &ref), -EPERM);
		ref.cap = ipv4.cap;
		ref.ring = ra; /* not b's ring */
		assert_int_equal(KT_CALL0(x, b, XOK_OP_DPF_REF, &ref), -ENOENT);
		ref.ring = 0;
		ref.filter = 12345;
		assert_int_equal(KT_CALL0(x, b, XOK_OP_DPF_REF, &ref), -ENOENT);
		ref.filter = ipv4.filter;
		assert_int_equal(KT_CALL0(x, b, XOK_OP_DPF_REF, &ref), 0);
		assert_int_equal(kt_udp_filter(x, b, rb, 54, 0, &r), 0);
		assert_int_equal(r.parent, ipv4.filter);
		/* re-point a's filter to b's ring (the twd hand-off) */
		ref.filter = port53.filter;
		ref.cap = port53.cap;
		ref.ring = rb;
		assert_int_equal(KT_CALL0(x, b, XOK_OP_DPF_REF, &ref), 0);
		assert_int_equal(filter_lookup(x, port53.filter)->ring->app, b);
	}
	/* an OPEN filter (strayd's) may be refined by anyone */
	memset(&m, 0, sizeof(m));
	m.ring = rroot;
	m.flags = XOK_DPF_OPEN;
	dpf_filter_init(&m.filter);
	dpf_match_arp(&m.filter);
	assert_int_equal(KT_CALL(x, root, XOK_OP_DPF_INSERT, &m, &r), 0);
	{
		uint32_t open_id = r.filter;

		memset(&m, 0, sizeof(m));
		m.ring = rb;
		dpf_filter_init(&m.filter);
		dpf_match_arp(&m.filter);
		dpf_add_match(&m.filter, 20, 2, 0xffff, 1); /* ARP requests */
		assert_int_equal(KT_CALL(x, b, XOK_OP_DPF_INSERT, &m, &r), 0);
		assert_int_equal(r.parent, open_id);
	}
	/* copy filters: root may, overlapping anything */
	memset(&m, 0, sizeof(m));
	m.ring = rroot;
	m.flags = XOK_DPF_COPY;
	dpf_filter_everything(&m.filter);
	assert_int_equal(KT_CALL(x, root, XOK_OP_DPF_INSERT, &m, &r), 0);
	assert_true(filter_lookup(x, r.filter)->copy_slot >= 0);
	m.parent = 1;
	assert_int_equal(KT_CALL(x, root, XOK_OP_DPF_INSERT, &m, &r), -EINVAL);
}

static void test_dpf_delete_and_ids(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000), *b = kt_app(x, 1001);
	uint32_t ra = kt_ring(x, a, 2048, 16, NULL);
	struct xok_dpf_insert_reply r1, r2;
	struct xok_dpf_delete d = {0};

	assert_int_equal(kt_udp_filter(x, a, ra, 1000, 0, &r1), 0);
	d.filter = r1.filter;
	d.pad = 1;
	assert_int_equal(KT_CALL0(x, a, XOK_OP_DPF_DELETE, &d), -EINVAL);
	d.pad = 0;
	assert_int_equal(KT_CALL0(x, b, XOK_OP_DPF_DELETE, &d), -EPERM);
	assert_int_equal(KT_CALL0(x, a, XOK_OP_DPF_DELETE, &d), 0);
	assert_int_equal(KT_CALL0(x, a, XOK_OP_DPF_DELETE, &d), -ENOENT);
	/* the same filter again gets a new id: ids are never reused */
	assert_int_equal(kt_udp_filter(x, a, ra, 1000, 0, &r2), 0);
	assert_true(r2.filter > r1.filter);
	assert_int_equal(x->nfilters, 1);
	assert_int_equal(dpf_set_count(x->dpf), 1);
}

static void test_dpf_limit(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000);
	uint32_t ra = kt_ring(x, a, 2048, 16, NULL);
	int i;

	for (i = 0; i < XOK_APP_FILTERS_MAX; i++)
		assert_int_equal(kt_udp_filter(x, a, ra, (uint16_t)(2000 + i), 0, NULL), 0);
	assert_int_equal(kt_udp_filter(x, a, ra, 1, 0, NULL), -EDQUOT);
}

/* ---- transmit ---- */

static uint8_t tx_seen[4096];
static uint32_t tx_seen_len, tx_seen_count;

static void tx_hook(struct xokd *x, struct iface *ifc, const uint8_t *frame, uint32_t len)
{
	(void)x;
	(void)ifc;
	memcpy(tx_seen, frame, len);
	tx_seen_len = len;
	tx_seen_count++;
}

static void test_net_xmit(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000), *b = kt_app(x, 1001);
	struct xok_tx_desc d, ok;
	uint8_t *base;
	uint32_t reg = kt_region(x, a, 65536, (void **)&base), *notify = (uint32_t *)(base + 64);
	uint32_t breg;
	int i;

	/* b's second region: an id a does not have */
	kt_region(x, b, 65536, NULL);
	breg = kt_region(x, b, 65536, NULL);
	assert_null(region_lookup(a, breg));
	x->tx_hook = tx_hook;
	x->cfg.unchecked_tx = true; /* the gather mechanics; test_checked_tx does the checks */
	for (i = 0; i < 1000; i++)
		base[4096 + i] = (uint8_t)i;
	memset(&ok, 0, sizeof(ok));
	ok.ifindex = KT_IFINDEX;
	ok.npieces = 3;
	ok.pieces[0] = (struct xok_piece){reg, 14, 4096};
	ok.pieces[1] = (struct xok_piece){reg, 20, 8192};
	ok.pieces[2] = (struct xok_piece){reg, 100, 4096 + 500};
	ok.notify = (struct xok_ref){reg, 0, 64};
#define NX(stmt, want)                                                                             \
	do {                                                                                       \
		d = ok;                                                                            \
		stmt;                                                                              \
		assert_int_equal(KT_CALL0(x, a, XOK_OP_NET_XMIT, &d), want);                       \
	} while (0)
	NX(d.status = 1, -EINVAL);
	NX(d.flags = XOK_TX_TCP_GSO, -EINVAL);	     /* without a segment size */
	NX(d.flags = 2, -EINVAL);
	NX(d.gso_size = 1000, -EINVAL);		     /* a segment size without the flag */
	NX((d.flags = XOK_TX_TCP_GSO, d.gso_size = XOK_TX_GSO_MIN - 1), -EINVAL);
	NX((d.flags = XOK_TX_TCP_GSO, d.gso_size = 1000), -EOPNOTSUPP); /* no offload here */
	NX(d.pad = 1, -EINVAL);
	NX(d.npieces = 0, -EINVAL);
	NX(d.npieces = XOK_XMIT_PIECES + 1, -EINVAL);
	NX(d.pieces[5].len = 1, -EINVAL); /* past npieces: must be zero */
	NX(d.ifindex = 99, -ENODEV);
	NX(d.pieces[1].region = 0, -EFAULT);
	NX(d.pieces[1].region = reg + 1, -EFAULT); /* not registered */
	NX(d.pieces[1].region = breg, -EFAULT);	   /* b's id space: a has no such id */
	NX(d.pieces[1].region = XOK_REGION_TABLE(0), -EFAULT);
	NX(d.pieces[1].offset = 65536 - 19, -EFAULT);	  /* past the end */
	NX(d.pieces[1].offset = UINT64_MAX - 5, -EFAULT); /* overflow */
	NX(d.pieces[1].offset = 65536, -EFAULT);
	NX(d.pieces[1].len = UINT32_MAX, -EFAULT);
	NX((d.npieces = 1, d.pieces[1] = d.pieces[2] = (struct xok_piece){0}, d.pieces[0].len = 13),
	   -EINVAL); /* shorter than an Ethernet header */
	NX(d.pieces[2].len = KT_MTU + 14 - 34 + 1, -EMSGSIZE);
	NX(d.notify.pad = 1, -EINVAL);
	NX(d.notify.offset = 66, -EFAULT); /* misaligned */
	NX(d.notify.offset = 65536, -EFAULT);
	NX(d.notify.region = reg + 1, -EFAULT);
	NX((d.notify.region = 0), -EINVAL); /* no region but an offset */
#undef NX
	assert_int_equal(tx_seen_count, 0);
	assert_int_equal(a->tx_rejected, 26);

	/* a valid 3-piece frame is gathered into one frame */
	*notify = 1;
	d = ok;
	assert_int_equal(KT_CALL0(x, a, XOK_OP_NET_XMIT, &d), 0);
	assert_int_equal(tx_seen_count, 1);
	assert_int_equal(tx_seen_len, 134);
	assert_memory_equal(tx_seen, base + 4096, 14);
	assert_memory_equal(tx_seen + 14, base + 8192, 20);
	assert_memory_equal(tx_seen + 34, base + 4096 + 500, 100);
	assert_int_equal(a->tx_inflight, 1);
	assert_int_equal(a->regions[reg - 1]->refs, 1); /* notification pins its region */
	/* the notification word is decremented at completion, not before */
	assert_int_equal(*notify, 1);
	tx_complete(x, x->ifaces[0].ports[0]);
	assert_int_equal(*notify, 0);
	assert_int_equal(a->tx_inflight, 0);
	assert_int_equal(a->regions[reg - 1]->refs, 0);
	assert_int_equal(x->ifaces[0].tx, 1);
	/* without a notification */
	d = ok;
	d.notify = (struct xok_ref){0};
	assert_int_equal(KT_CALL0(x, a, XOK_OP_NET_XMIT, &d), 0);
	tx_complete(x, x->ifaces[0].ports[0]);
	assert_int_equal(a->tx_inflight, 0);
	/* the interface's queue holds XOK_TX_DEVQ_MAX frames */
	for (i = 0; i < XOK_TX_DEVQ_MAX; i++)
		assert_int_equal(KT_CALL0(x, a, XOK_OP_NET_XMIT, &d), 0);
	assert_int_equal(KT_CALL0(x, a, XOK_OP_NET_XMIT, &d), -EAGAIN);
	assert_int_equal(a->limit_hits, 0); /* not the app's limit */
	tx_complete(x, x->ifaces[0].ports[0]);
	/* the app's in-flight limit (--limit txq=) */
	x->cfg.limits.txq = 10;
	for (i = 0; i < 10; i++)
		assert_int_equal(KT_CALL0(x, a, XOK_OP_NET_XMIT, &d), 0);
	assert_int_equal(KT_CALL0(x, a, XOK_OP_NET_XMIT, &d), -EAGAIN);
	assert_int_equal(a->limit_hits, 1);
	tx_complete(x, x->ifaces[0].ports[0]);
	assert_int_equal(KT_CALL0(x, a, XOK_OP_NET_XMIT, &d), 0);
	tx_complete(x, x->ifaces[0].ports[0]);
}

static void test_txq(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000);
	struct xok_txq_set m = {0}, ok;
	uint8_t *base;
	uint32_t reg = kt_region(x, a, 1 << 20, (void **)&base);
	struct xok_txq_hdr *hdr = (struct xok_txq_hdr *)(base + 4096);
	struct xok_tx_desc *q = (struct xok_tx_desc *)(hdr + 1);
	uint32_t *notify = (uint32_t *)base;
	int efd;

	x->tx_hook = tx_hook;
	x->cfg.unchecked_tx = true;
	tx_seen_count = 0;
	ok.at = (struct xok_ref){reg, 0, 4096};
	ok.nentries = 64;
	ok.pad = 0;
#define TQ(stmt, fdv, want)                                                                        \
	do {                                                                                       \
		m = ok;                                                                            \
		stmt;                                                                              \
		assert_int_equal(kt_call(x, a, XOK_OP_TXQ_SET, &m, sizeof(m), (fdv), NULL, 0),     \
				 want);                                                            \
	} while (0)
	TQ((void)0, -1, -EINVAL);		 /* no eventfd */
	TQ((void)0, kt_memfd(4096, 0), -EINVAL); /* not an eventfd */
	TQ(m.pad = 1, eventfd(0, 0), -EINVAL);
	TQ(m.at.pad = 1, eventfd(0, 0), -EINVAL);
	TQ(m.nentries = 0, eventfd(0, 0), -EINVAL);
	TQ(m.nentries = 48, eventfd(0, 0), -EINVAL); /* not a power of two */
	TQ(m.nentries = XOK_TXQ_ENTRIES_MAX * 2, eventfd(0, 0), -EINVAL);
	TQ(m.at.offset = 4096 + 32, eventfd(0, 0), -EINVAL); /* not 64-byte aligned */
	TQ(m.nentries = 4096, eventfd(0, 0), -EINVAL);	     /* does not fit */
	TQ(m.at.region = 9, eventfd(0, 0), -ENOENT);
	efd = eventfd(0, EFD_CLOEXEC);
	TQ((void)0, efd, 0);
	assert_false(kt_fd_closed(efd)); /* xokd keeps it */
	assert_int_equal(hdr->flags, XOK_TXQ_NEED_WAKEUP);
	/* two descriptors: one bad (foreign region), one good */
	memset(q, 0, 2 * sizeof(*q));
	q[0].ifindex = KT_IFINDEX;
	q[0].npieces = 1;
	q[0].pieces[0] = (struct xok_piece){.region = 33, .len = 60};
	q[0].notify = (struct xok_ref){reg, 0, 0};
	q[0].status = 12345; /* garbage: xokd overwrites it */
	q[1] = q[0];
	q[1].pieces[0].region = reg;
	q[1].pieces[0].offset = 8192;
	*notify = 2;
	xok_store_release(&hdr->prod, 2);
	tx_kick(x, a);
	tx_run(x);
	assert_int_equal(xok_load_acquire(&hdr->cons), 2);
	assert_int_equal(q[0].status, EFAULT);
	assert_int_equal(q[1].status, 0);
	assert_int_equal(tx_seen_count, 1);
	assert_int_equal(*notify, 0); /* rejected: at once; sent: at completion (tx_run) */
	assert_int_equal(hdr->flags, XOK_TXQ_NEED_WAKEUP);
	assert_int_equal(tx_timeout(x), -1);
	/* a bogus prod far ahead of cons is ignored, not walked */
	xok_store_release(&hdr->prod, 2 + 1000);
	tx_kick(x, a);
	tx_run(x);
	assert_int_equal(xok_load_acquire(&hdr->cons), 2);
	/* removal: no fd allowed */
	m = (struct xok_txq_set){0};
	assert_int_equal(kt_call(x, a, XOK_OP_TXQ_SET, &m, sizeof(m), eventfd(0, 0), NULL, 0),
			 -EINVAL);
	assert_int_equal(kt_call(x, a, XOK_OP_TXQ_SET, &m, sizeof(m), -1, NULL, 0), 0);
	assert_null(a->txq);
	assert_true(kt_fd_closed(efd)); /* in-process, xokd's fd is the one we handed over */
#undef TQ
}

/* ---- predicates ---- */

static void test_wkpred_fields(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000);
	struct xok_wkpred m, ok;
	uint32_t reg = kt_region(x, a, 8192, NULL);

	memset(&ok, 0, sizeof(ok));
	ok.wake = (struct xok_ref){reg, 0, 0};
	ok.nterms = 2;
	ok.terms[0].lhs = (struct xok_ref){reg, 0, 64};
	ok.terms[0].op = XOK_WK_NE;
	ok.terms[1].lhs = (struct xok_ref){reg, 0, 68};
	ok.terms[1].rhs_region = reg;
	ok.terms[1].rhs = 72;
	ok.terms[1].op = XOK_WK_GE;
	ok.terms[1].product = 1;
#define WP(stmt, want)                                                                             \
	do {                                                                                       \
		m = ok;                                                                            \
		stmt;                                                                              \
		assert_int_equal(KT_CALL0(x, a, XOK_OP_WKPRED, &m), want);                         \
	} while (0)
	WP(m.flags = 2, -EINVAL);
	WP(m.nterms = XOK_WK_TERMS_MAX + 1, -EINVAL);
	WP(m.terms[2].op = 1, -EINVAL); /* past nterms */
	WP(m.wake.pad = 1, -EINVAL);
	WP(m.wake.offset = 4, -EINVAL); /* struct xok_wake is 8-aligned */
	WP(m.wake.offset = 8192 - 4, -EINVAL);
	WP(m.wake.region = 5, -ENOENT);
	WP(m.terms[0].lhs.pad = 1, -EINVAL);
	WP(m.terms[0].pad = 1, -EINVAL);
	WP(m.terms[0].lhs.offset = 66, -EINVAL); /* misaligned */
	WP(m.terms[0].lhs.offset = 8192, -EINVAL);
	WP(m.terms[0].lhs.offset = UINT64_MAX - 1, -EINVAL);
	WP(m.terms[0].lhs.region = 5, -ENOENT);
	WP(m.terms[0].lhs.region = XOK_REGION_TABLE(XOK_TABLE_NR), -ENOENT); /* no such table */
	WP(m.terms[0].op = XOK_WK_OP_NR, -EINVAL);
	WP(m.terms[0].product = XOK_WK_TERMS_MAX, -EINVAL);
	WP(m.terms[0].rhs = (uint64_t)UINT32_MAX + 1, -EINVAL);
	WP(m.terms[1].rhs = 70, -EINVAL); /* rhs word misaligned */
	WP(m.terms[1].rhs_region = 5, -ENOENT);
	WP((void)0, 0);
#undef WP
	assert_non_null(a->pred);
	assert_int_equal(a->regions[reg - 1]->refs, 4); /* wake, lhs, lhs, rhs */
	/* nterms == 0 removes it and unpins */
	m = ok;
	m.nterms = 0;
	memset(m.terms, 0, sizeof(m.terms));
	assert_int_equal(KT_CALL0(x, a, XOK_OP_WKPRED, &m), 0);
	assert_null(a->pred);
	assert_int_equal(a->regions[reg - 1]->refs, 0);
}

/* ---- info, stats, tables ---- */

static void test_info_stats(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000);
	struct xok_info_reply info;
	struct xok_stats_req s = {0};
	static struct xok_stats_reply sr;
	uint32_t ring = kt_ring(x, a, 2048, 16, NULL);
	int i;

	assert_int_equal(kt_call(x, a, XOK_OP_INFO, NULL, 0, -1, &info, sizeof(info)), 0);
	assert_int_equal(info.niface, 1);
	assert_int_equal(info.ifaces[0].ifindex, KT_IFINDEX);
	assert_int_equal(info.ifaces[0].mtu, KT_MTU);
	s.kind = XOK_STATS_KIND_NR;
	assert_int_equal(KT_CALL(x, a, XOK_OP_STATS, &s, &sr), -EINVAL);
	s.kind = XOK_STATS_IFACE;
	assert_int_equal(KT_CALL(x, a, XOK_OP_STATS, &s, &sr), 0);
	assert_int_equal(sr.count, 1);
	assert_int_equal(sr.recs[0].id, KT_IFINDEX);
	s.kind = XOK_STATS_RING;
	assert_int_equal(KT_CALL(x, a, XOK_OP_STATS, &s, &sr), 0);
	assert_int_equal(sr.count, 1);
	assert_int_equal(sr.recs[0].id, ring);
	assert_int_equal(sr.recs[0].flags, 16);
	/* cursors: 40 apps come back as 32 + 8 */
	for (i = 0; i < 39; i++)
		kt_app(x, 1000);
	s.kind = XOK_STATS_APP;
	assert_int_equal(KT_CALL(x, a, XOK_OP_STATS, &s, &sr), 0);
	assert_int_equal(sr.count, XOK_STATS_MAX);
	assert_true(sr.next_cursor > 0);
	s.cursor = sr.next_cursor;
	assert_int_equal(KT_CALL(x, a, XOK_OP_STATS, &s, &sr), 0);
	assert_int_equal(sr.count, 8);
	assert_int_equal(sr.next_cursor, 0);
}

static void test_tables(void **state)
{
	struct xokd *x = *state;
	struct app *a = kt_app(x, 1000), *root = kt_app(x, 0), *root2 = kt_app(x, 0);
	struct xok_table_req m = {0}, r, g = {.table = XOK_TABLE_ARP};
	size_t size = (sizeof(struct xok_arp_table) + 4095) & ~(size_t)4095;
	struct xok_arp_table *w, *ro_map;
	struct stat st;
	int ro;

	/* the table exists from the start, empty: apps that start before arpd get it */
	assert_int_equal(KT_CALL(x, a, XOK_OP_TABLE_GET, &g, &r), 0);
	assert_int_equal(r.size, size);
	ro = x->tables[XOK_TABLE_ARP].ro_fd;
	ro_map = mmap(NULL, size, PROT_READ, MAP_SHARED, ro, 0);
	assert_true(ro_map != MAP_FAILED);
	assert_int_equal(ro_map->version, 0);

	m.table = XOK_TABLE_ARP;
	m.size = sizeof(struct xok_arp_table);
	assert_int_equal(KT_CALL(x, a, XOK_OP_TABLE_PUBLISH, &m, &r), -EPERM);
	m.table = XOK_TABLE_NR;
	assert_int_equal(KT_CALL(x, root, XOK_OP_TABLE_PUBLISH, &m, &r), -EINVAL);
	m.table = XOK_TABLE_ARP;
	m.size = size + 1; /* more than the table */
	assert_int_equal(KT_CALL(x, root, XOK_OP_TABLE_PUBLISH, &m, &r), -EINVAL);
	m.size = size;
	m.pad = 1;
	assert_int_equal(KT_CALL(x, root, XOK_OP_TABLE_PUBLISH, &m, &r), -EINVAL);
	m.pad = 0;
	/* publishing takes no fd any more: the memory is xokd's */
	assert_int_equal(kt_call(x, root, XOK_OP_TABLE_PUBLISH, &m, sizeof(m),
				 kt_memfd(size, F_SEAL_SHRINK), &r, sizeof(r)),
			 -EINVAL);
	assert_int_equal(KT_CALL(x, root, XOK_OP_TABLE_PUBLISH, &m, &r), 0);
	assert_int_equal(r.size, size);
	assert_int_equal(x->tables[XOK_TABLE_ARP].publisher, root->id);
	/* the publisher writes through the fd it got; readers see it in their mapping */
	w = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 x->tables[XOK_TABLE_ARP].rw_fd, 0);
	assert_true(w != MAP_FAILED);
	w->version = 7;
	assert_int_equal(ro_map->version, 7);

	g.size = 1;
	assert_int_equal(KT_CALL(x, a, XOK_OP_TABLE_GET, &g, &r), -EINVAL);
	g.size = 0;
	/* only the publisher notifies */
	assert_int_equal(KT_CALL(x, a, XOK_OP_TABLE_NOTIFY, &g, &r), -EPERM);
	assert_int_equal(KT_CALL(x, root, XOK_OP_TABLE_NOTIFY, &g, &r), 0);
	/* one publisher at a time; when it is gone the next one adopts the same memory */
	assert_int_equal(KT_CALL(x, root2, XOK_OP_TABLE_PUBLISH, &m, &r), -EBUSY);
	app_free(x, root);
	app_reap(x);
	assert_int_equal(KT_CALL(x, root2, XOK_OP_TABLE_PUBLISH, &m, &r), 0);
	assert_int_equal(KT_CALL(x, root2, XOK_OP_TABLE_NOTIFY, &g, &r), 0);
	w->version = 8; /* (the old mapping stands for the new publisher's) */
	assert_int_equal(ro_map->version, 8);
	/* the read-only fd xokd hands out cannot be written, mapped writable or truncated,
	 * and the memfd's mode keeps non-root apps from reopening it writable */
	{
		void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);

		assert_true(p == MAP_FAILED);
		assert_true(write(ro, "x", 1) < 0);
		assert_true(ftruncate(ro, 0) < 0);
		assert_int_equal(fstat(ro, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0444);
		assert_true(ftruncate(x->tables[XOK_TABLE_ARP].rw_fd, 0) < 0); /* sealed */
	}
	munmap(w, size);
	munmap(ro_map, size);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_header, setup, teardown),
	    cmocka_unit_test(test_pad_zero),
	    cmocka_unit_test_setup_teardown(test_body_lengths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_region_add, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_region_bytes_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_region_del, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ring_set, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ring_mod_del, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dpf_insert_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dpf_tree_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dpf_delete_and_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dpf_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_net_xmit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_txq, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wkpred_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_info_stats, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tables, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
