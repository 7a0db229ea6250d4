# bpf-probe.sh - sourced by scripts/test and scripts/demo: can this kernel load BPF programs?
#
# A kernel whose BPF JIT allocator has deadlocked (tasks stuck in bpf_prog_pack_alloc /
# bpf_prog_pack_free until reboot) hangs every program load; say so and skip what needs BPF
# rather than hanging until the time limit.  The probe is left behind if it never returns.
bpf_probe() {
	local probe=build/tests/probe/xok-bpf-probe pid i why
	[[ $(id -u) == 0 && -x $probe ]] || return 0
	"$probe" & pid=$!
	why="the probe did not finish in 30 s"
	for i in $(seq 60); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" && return 0
			why="the probe's program load failed"
			break
		fi
		sleep 0.5
	done
	local stuck
	stuck=$(grep -ls 'bpf_prog_pack' /proc/[0-9]*/stack 2>/dev/null | wc -l || true)
	export XOK_BPF_BROKEN="this kernel cannot load BPF programs now ($why; $stuck tasks blocked in bpf_prog_pack_*): reboot to run the BPF tests"
	echo "test: WARNING: $XOK_BPF_BROKEN" >&2
}
