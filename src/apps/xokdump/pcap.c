/* pcap.c - the -w writer: classic pcap files through libpcap, stamped with xokd's rx time */

/*
 * libpcap writes the format every tool reads (tcpdump -r, wireshark); we only lend it a
 * "dead" handle, since the frames come from xokd's ring and not from a libpcap capture.
 * Timestamps are xokd's CLOCK_REALTIME receive times, truncated to microseconds, the
 * classic format's precision.
 */

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include "xokdump.h"

struct pcapw {
	pcap_t *dead;
	pcap_dumper_t *dumper;
	unsigned snaplen;
};

int pcapw_open(const char *path, unsigned snaplen, struct pcapw **out, char *errbuf,
	       size_t errsize)
{
	struct pcapw *w = calloc(1, sizeof(*w));
	int rc = -ENOMEM;

	if (!w)
		goto fail;
	w->snaplen = snaplen;
	w->dead = pcap_open_dead(DLT_EN10MB, (int)snaplen);
	if (!w->dead)
		goto fail_free;
	w->dumper = pcap_dump_open(w->dead, path);
	if (!w->dumper) {
		snprintf(errbuf, errsize, "%s", pcap_geterr(w->dead));
		rc = -EIO;
		goto fail_close_dead;
	}
	*out = w;
	return 0;

fail_close_dead:
	pcap_close(w->dead);
fail_free:
	free(w);
fail:
	if (rc == -ENOMEM)
		snprintf(errbuf, errsize, "out of memory");
	return rc;
}

int pcapw_write(struct pcapw *w, const struct xd_frame *f)
{
	struct pcap_pkthdr h = { 0 };

	h.ts.tv_sec = (time_t)(f->rx_ns / 1000000000u);
	h.ts.tv_usec = (suseconds_t)(f->rx_ns % 1000000000u / 1000u);
	h.caplen = f->caplen < w->snaplen ? f->caplen : w->snaplen;
	h.len = f->len > h.caplen ? f->len : h.caplen;
	pcap_dump((u_char *)w->dumper, &h, f->data);
	/* pcap_dump reports nothing itself: a full disk shows on the stream. */
	return ferror(pcap_dump_file(w->dumper)) ? -EIO : 0;
}

int pcapw_flush(struct pcapw *w)
{
	return pcap_dump_flush(w->dumper) ? -EIO : 0;
}

int pcapw_close(struct pcapw *w)
{
	int rc = 0;

	if (!w)
		return 0;
	if (pcap_dump_flush(w->dumper))
		rc = -EIO;
	pcap_dump_close(w->dumper);
	pcap_close(w->dead);
	free(w);
	return rc;
}
