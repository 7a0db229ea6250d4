/* transport_exos.c - what the two libexos transports share: stack set-up, drain, counters */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <exos/exos.h>
#include <exos/sys.h>
#include <xok/abi.h>

#include "transport_exos.h"

int swamp_exos_open(const char *prog, const struct swamp_opts *o, struct exos_stack **out)
{
	struct exos_stack_opts so = {
	    .sz = sizeof(so),
	    .xokd_path = o->xok_socket,
	    .flags = o->no_cksum ? EXOS_STACK_NO_RX_CSUM : 0,
	};
	int rc = exos_stack_open(&so, out);

	if (rc < 0)
		fprintf(stderr,
			"%s: cannot open a libOS stack on xokd at %s: %s (is xokd running? "
			"see --socket)\n",
			prog, exos_sys_socket_path(o->xok_socket), strerror(-rc));
	return rc;
}

void swamp_exos_drain(struct exos_stack *s, uint64_t ns)
{
	uint64_t end = exos_now_ns() + ns;

	for (;;) {
		struct exos_stack_stats st;
		uint64_t now = exos_now_ns(), slice = now + 10 * 1000000ULL;

		exos_stack_stats(s, &st);
		if (!st.tcp_pcbs_inuse || now >= end)
			return;
		if (exos_stack_wait(s, slice < end ? slice : end) == -EPIPE)
			return;
	}
}

void swamp_exos_counters(struct exos_stack *s, struct swamp_counters *out)
{
	struct exos_stack_stats st;

	exos_stack_stats(s, &st);
	*out = (struct swamp_counters){
	    .tx_packets = st.tx_frames,
	    .rx_packets = st.rx_frames,
	    .retransmits = st.tcp_retransmits,
	    .timeouts = st.tcp_rto_fired,
	    .tx_full = st.tx_again,
	    .tx_dropped = st.tx_drop_nobuf,
	};
}

void swamp_exos_warn_ports(const char *prog, int rc)
{
	static bool warned;

	if (warned || (rc != -EADDRNOTAVAIL && rc != -EDQUOT))
		return;
	warned = true;
	if (rc == -EADDRNOTAVAIL)
		fprintf(stderr,
			"%s: connect: no free local port (every ephemeral port tried is "
			"busy here or in xokd)\n",
			prog);
	else
		fprintf(stderr,
			"%s: connect: xokd refused another filter (each connection, "
			"and each TIME_WAIT we keep, holds one): use fewer connections\n",
			prog);
}
