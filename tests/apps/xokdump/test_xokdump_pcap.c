/* test_xokdump_pcap.c - xokdump's -w writer: what it writes, libpcap reads back exactly */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <pcap/pcap.h>
#include "frames.h"
#include "xokdump.h"

#define SNAPLEN 96

struct sample {
	uint64_t rx_ns;
	uint8_t data[FRAME_MAX];
	size_t len;
};

static void make_samples(struct sample *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct frame_spec spec = { .proto = 17, .src = IP4(198, 18, 0, 2),
					   .dst = IP4(198, 18, 0, 1), .sport = 5555,
					   .dport = (uint16_t)(9000 + i),
					   .payload = i * 40 /* the last ones exceed SNAPLEN */ };

		s[i].len = frame_build(s[i].data, &spec);
		/* 999 ns past a microsecond: the file keeps microseconds, truncated */
		s[i].rx_ns = 1700000000000000000ull + i * 1234567891ull + 999;
	}
}

static void test_round_trip(void **state)
{
	char path[] = "/tmp/xokdump-test-XXXXXX";
	char err[PCAP_ERRBUF_SIZE];
	struct sample s[5];
	struct pcapw *w;
	pcap_t *p;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	make_samples(s, 5);
	assert_int_equal(pcapw_open(path, SNAPLEN, &w, err, sizeof(err)), 0);
	for (size_t i = 0; i < 5; i++) {
		struct xd_frame f = { .rx_ns = s[i].rx_ns, .len = (uint32_t)s[i].len,
				      .caplen = (uint32_t)s[i].len, .data = s[i].data };

		assert_int_equal(pcapw_write(w, &f), 0);
	}
	assert_int_equal(pcapw_close(w), 0);

	p = pcap_open_offline(path, err);
	assert_non_null(p);
	assert_int_equal(pcap_datalink(p), DLT_EN10MB);
	assert_int_equal(pcap_snapshot(p), SNAPLEN);
	for (size_t i = 0; i < 5; i++) {
		struct pcap_pkthdr *h;
		const u_char *data;
		size_t want_cap = s[i].len < SNAPLEN ? s[i].len : SNAPLEN;

		assert_int_equal(pcap_next_ex(p, &h, &data), 1);
		assert_int_equal(h->ts.tv_sec, s[i].rx_ns / 1000000000u);
		assert_int_equal(h->ts.tv_usec, s[i].rx_ns % 1000000000u / 1000u);
		assert_int_equal(h->len, s[i].len);
		assert_int_equal(h->caplen, want_cap);
		assert_memory_equal(data, s[i].data, want_cap);
	}
	assert_true(pcap_next_ex(p, &(struct pcap_pkthdr *){ NULL },
				 &(const u_char *){ NULL }) == PCAP_ERROR_BREAK);
	pcap_close(p);
	unlink(path);
}

/* A frame captured short by xokd keeps its wire length. */
static void test_truncated_frame(void **state)
{
	char path[] = "/tmp/xokdump-test-XXXXXX";
	char err[PCAP_ERRBUF_SIZE];
	struct sample s;
	struct pcapw *w;
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *p;
	int fd = mkstemp(path);
	struct xd_frame f;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	make_samples(&s, 1);
	f = (struct xd_frame){ .rx_ns = s.rx_ns, .len = 1514, .caplen = 40, .data = s.data };
	assert_int_equal(pcapw_open(path, 65535, &w, err, sizeof(err)), 0);
	assert_int_equal(pcapw_write(w, &f), 0);
	assert_int_equal(pcapw_flush(w), 0);
	assert_int_equal(pcapw_close(w), 0);
	p = pcap_open_offline(path, err);
	assert_non_null(p);
	assert_int_equal(pcap_next_ex(p, &h, &data), 1);
	assert_int_equal(h->caplen, 40);
	assert_int_equal(h->len, 1514);
	assert_memory_equal(data, s.data, 40);
	pcap_close(p);
	unlink(path);
}

static void test_open_error(void **state)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	struct pcapw *w = NULL;

	(void)state;
	assert_int_equal(pcapw_open("/nonexistent-dir/x.pcap", SNAPLEN, &w, err, sizeof(err)),
			 -EIO);
	assert_null(w);
	assert_non_null(strstr(err, "No such file or directory"));
	assert_int_equal(pcapw_close(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncated_frame),
		cmocka_unit_test(test_open_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
