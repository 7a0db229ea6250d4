/* bpf_probe.c - does this kernel still load BPF programs?  (scripts/test asks before testing)
 *
 * Loads a two-instruction XDP program and exits 0 once the kernel returns a program fd.  The
 * caller runs it under a time limit: a probe that never returns means the kernel's BPF JIT
 * allocator is stuck for the rest of this boot (tasks blocked in bpf_prog_pack_alloc /
 * bpf_prog_pack_free), and every test that loads a program would hang instead of failing.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 2 /* XDP_PASS */ },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd;

	if (argc > 1) {
		fprintf(stderr, "usage: %s\nLoads a trivial XDP program; exit 0 if the kernel "
				"accepts it.\n", argv[0]);
		return strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "xok_probe", "GPL", prog, 2, NULL);
	if (fd < 0) {
		fprintf(stderr, "bpf-probe: BPF_PROG_LOAD failed: %s\n", strerror(errno));
		return 1;
	}
	close(fd);
	return 0;
}
