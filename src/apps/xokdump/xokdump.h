/* xokdump.h - xokdump's internal interfaces, grouped by the file that implements them */
#ifndef XOKDUMP_H
#define XOKDUMP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xok/dpf.h>
#include "param.h"

/* One captured frame as xokdump sees it (from a ring entry, or crafted by a test). */
struct xd_frame {
	uint64_t rx_ns;	     /* CLOCK_REALTIME receive time */
	uint32_t ifindex;
	uint32_t len;	     /* original length on the wire */
	uint32_t caplen;     /* bytes present in data[]; never read beyond */
	const uint8_t *data;
};

/* ---- sbuf.c: bounded string building for the formatters ---- */

struct sbuf {
	char *buf;
	size_t size; /* > 0 */
	size_t len;  /* characters written, excluding the NUL */
	bool full;   /* something did not fit: the text ends early */
};

void sb_init(struct sbuf *sb, char *buf, size_t size);
void sb_printf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_putc(struct sbuf *sb, char c);

/* ---- expr.c: the tcpdump-style expression and its parser ---- */

enum expr_kind {
	EXPR_PRIM = 0,
	EXPR_AND,
	EXPR_OR,
	EXPR_NOT,
};

enum prim_kind {
	PRIM_ETHER = 0, /* ethertype ("ip", "arp") */
	PRIM_IPPROTO,	/* IPv4 carrying a protocol ("tcp", "udp", "icmp", "ip proto N") */
	PRIM_HOST,	/* an IPv4 address or prefix ("host A", "net A/N") */
	PRIM_PORT,	/* a TCP or UDP port */
};

enum prim_dir {
	DIR_ANY = 0, /* "src or dst", the default */
	DIR_SRC,
	DIR_DST,
	DIR_BOTH,    /* "src and dst" */
};

/* What a HOST or PORT primitive looks at (a bit set; the qualifier narrows it). */
#define PRIM_ON_IP  0x1 /* IPv4 source/destination */
#define PRIM_ON_ARP 0x2 /* ARP sender/target protocol address */
#define PRIM_ON_TCP 0x4
#define PRIM_ON_UDP 0x8

struct expr_prim {
	uint8_t kind;	    /* enum prim_kind */
	uint8_t dir;	    /* enum prim_dir */
	uint8_t on;	    /* PRIM_ON_* */
	uint8_t plen;	    /* HOST: prefix length, 0..32 */
	uint16_t ethertype; /* ETHER */
	uint16_t port;	    /* PORT */
	uint8_t proto;	    /* IPPROTO */
	uint8_t pad;
	uint32_t addr;	    /* HOST: host order, host bits zero */
};

struct expr_node {
	uint8_t kind;	  /* enum expr_kind */
	uint16_t left;	  /* AND, OR, NOT: node index */
	uint16_t right;	  /* AND, OR */
	struct expr_prim prim;
};

/* Nodes live in one array so an expression is one allocation; nnodes == 0 is the empty
 * expression, which matches every frame (tcpdump with no expression). */
struct expr {
	unsigned nnodes;
	unsigned root;
	struct expr_node nodes[XD_EXPR_MAX_NODES];
};

struct expr_error {
	unsigned pos;	/* 1-based column of the offending word, 0 = end of expression */
	char msg[192];
};

int expr_parse(const char *text, struct expr **out, struct expr_error *err);
void expr_free(struct expr *e);
/* Fully parenthesised canonical form ("((tcp or udp) and port 53)"). */
int expr_format(const struct expr *e, char *buf, size_t size);
/* Joins argv words with single spaces, as tcpdump does; NULL on overflow. */
char *expr_join(int argc, char *const argv[]);

/* The mask of an IPv4 prefix of plen bits, host order. */
static inline uint32_t xd_prefix_mask(unsigned plen)
{
	return plen == 0 ? 0 : ~0u << (32 - plen);
}

/* ---- match.c: the userspace evaluator, the reference meaning of an expression ---- */

bool expr_match(const struct expr *e, const uint8_t *frame, size_t len);

/* ---- compile.c: expression -> copy filters (DNF over DPF atoms) ---- */

struct xd_filters {
	unsigned n;	 /* filters to install; 0 = the expression matches no frame */
	bool exact;	 /* the filters match exactly the expression's frames */
	struct dpf_filter f[XD_MAX_FILTERS];
	/* One filter matching every frame any of f[] matches (when n > 0): the fallback
	 * when xokd has no room for n copy filters. */
	struct dpf_filter wide;
};

int xd_compile(const struct expr *e, unsigned max_filters, struct xd_filters *out);
/* One line ("[12:2]=0x0800 [23:1]=0x06 ...") or, with multiline, one atom per line. */
int xd_filter_format(const struct dpf_filter *f, bool multiline, char *buf, size_t size);

/* ---- print.c: one tcpdump-style line per frame ---- */

struct print_opts {
	bool no_time; /* -t */
	bool ether;   /* -e: link-level header */
};

/* Formats f into buf (always NUL-terminated, ending in '\n'); returns the length. */
size_t print_frame(const struct print_opts *o, const struct xd_frame *f, char *buf,
		   size_t size);

/* ---- pcap.c: the -w writer ---- */

struct pcapw;

/* path "-" is standard output.  errbuf receives libpcap's reason on failure. */
int pcapw_open(const char *path, unsigned snaplen, struct pcapw **out, char *errbuf,
	       size_t errsize);
int pcapw_write(struct pcapw *w, const struct xd_frame *f);
int pcapw_flush(struct pcapw *w);
int pcapw_close(struct pcapw *w);

/* ---- capture.c: the session with xokd: copy ring, copy filters, the receive loop ---- */

struct capture_opts {
	const char *socket;    /* NULL: $XOK_SOCKET, else XOK_SOCKET_DEFAULT */
	const char *iface;     /* NULL: every interface xokd owns */
	uint64_t count;	       /* stop after this many frames; 0 = never */
	unsigned snaplen;      /* bytes of each frame printed or written */
	int verbose;
	bool packet_buffered;  /* -U: flush the pcap file after every frame */
	const char *wfile;     /* -w; NULL: print lines on stdout */
	struct print_opts print;
};

/* Captures until the count is reached or *stop is set (by a signal).  Reports its own
 * errors on stderr and returns 0 or -errno. */
int capture_run(const struct capture_opts *o, const struct expr *e,
		const struct xd_filters *xf, const volatile sig_atomic_t *stop);

#endif /* XOKDUMP_H */
