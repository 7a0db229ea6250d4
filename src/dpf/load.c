/* load.c - loading a generated program and swapping it into xokd's prog array */
#include <bpf/bpf.h>

#include "dpf_internal.h"

int dpf_prog_load(const struct dpf_prog *p, char *log, size_t log_size)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_XDP);
	int fd, err;

	if (!p || !p->insns || !p->ninsns)
		return -EINVAL;
	if (log && log_size)
		log[0] = '\0';
	/* First without a log: the verifier is much faster when it need not print. */
	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "xok_dpf", "GPL", p->insns, p->ninsns, &opts);
	if (fd >= 0)
		return fd;
	err = -errno;
	if (log && log_size > 1 && err != -EPERM) {
		opts.log_buf = log;
		opts.log_size = log_size > UINT32_MAX ? UINT32_MAX : (uint32_t)log_size;
		opts.log_level = 1;
		fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "xok_dpf", "GPL", p->insns, p->ninsns, &opts);
		if (fd >= 0) /* accepted this time (cannot happen, but never leak it) */
			return fd;
		log[log_size - 1] = '\0';
	}
	errno = -err;
	return err;
}

int dpf_prog_install(int prog_array_fd, int prog_fd)
{
	uint32_t slot = DPF_PROG_SLOT;

	if (bpf_map_update_elem(prog_array_fd, &slot, &prog_fd, BPF_ANY))
		return -errno;
	return 0;
}
