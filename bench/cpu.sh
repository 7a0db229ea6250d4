# shellcheck shell=bash
# cpu.sh - the CPU accounting every benchmark in bench/ shares (sourced).

# cpu_ticks N...: "busy total" jiffies so far of each CPU N, in /proc/stat's (ascending)
# order, on one line from one read: busy is everything but idle and iowait.
cpu_ticks() {
	awk -v want=" $* " '$1 ~ /^cpu[0-9]+$/ && index(want, " " substr($1, 4) " ") {
		b = $2 + $3 + $4 + $7 + $8 + $9; printf "%d %d ", b, b + $5 + $6 } END { print "" }' \
		/proc/stat
}
