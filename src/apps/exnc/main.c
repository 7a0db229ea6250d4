/* main.c - exnc: netcat over libexos POSIX-like sockets (command line, connect, listen) */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <exos/dns.h>
#include <exos/socket.h>
#include <exos/sys.h>
#include <xok/abi.h>

#include "exnc.h"
#include "app.h"

static const char usage[] =
	"usage: exnc [-dlNnuv] [-p PORT] [-s ADDR] [-w SECS] [-q SECS] [--socket PATH]\n"
	"            [HOST] [PORT]\n"
	"\n"
	"exnc is netcat on the Xok/Linux library OS: it opens a TCP connection (or, with -l,\n"
	"accepts one) or a UDP association through libexos, copies stdin to the network and\n"
	"the network to stdout, and exits when the peer closes (after sending what stdin\n"
	"already holds: the rest of a file, what a pipe has buffered).\n"
	"\n"
	"  -l          listen for one connection (PORT from -p or the arguments; HOST, or -s,\n"
	"              is the local address to listen on)\n"
	"  -u          UDP instead of TCP (with -l: answer whoever sends the first datagram)\n"
	"  -p PORT     local port (with -l: the port to listen on)\n"
	"  -s ADDR     local address\n"
	"  -w SECS     give up connecting after SECS, and quit after SECS without traffic\n"
	"  -q SECS     quit SECS after end of input (0: at once; default: wait for the peer)\n"
	"  -N          shut down the sending side after end of input (TCP)\n"
	"  -d          do not read stdin\n"
	"  -n          numeric addresses only (accepted; names need $" EXOS_NAMESERVER_ENV ")\n"
	"  -v          report connections and errors in more detail (-vv: and the\n"
	"              stack's counters at exit)\n"
	"  --socket PATH  xokd's control socket (default $XOK_SOCKET or " XOK_SOCKET_DEFAULT ")\n"
	"  -h, --help  this text\n"
	"\n"
	"Examples: exnc -l -p 5001 >file;  exnc -N 198.18.0.2 5001 <file;  exnc -u HOST 53\n";

void exnc_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	app_vlog("exnc", fmt, ap);
	va_end(ap);
}

void exnc_info(const struct exnc_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (!o->verbose)
		return;
	va_start(ap, fmt);
	app_vlog("exnc", fmt, ap);
	va_end(ap);
}

static int parse_secs(const char *opt, const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v > 86400 * 365) {
		exnc_err("%s wants seconds: %s", opt, s);
		return -EINVAL;
	}
	*out = v < 0 ? -1 : (int)v;
	return 0;
}

static int parse_port(const char *s, uint16_t *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 1 || v > 65535) {
		exnc_err("invalid port: %s", s);
		return -EINVAL;
	}
	*out = (uint16_t)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct exnc_opts *o)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	o->w_secs = -1;
	o->q_secs = -1;
	while ((c = getopt_long(argc, argv, "dlNnuvp:s:w:q:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->no_stdin = true;
			break;
		case 'l':
			o->listen = true;
			break;
		case 'N':
			o->nflag_shutdown = true;
			break;
		case 'n':
			break;
		case 'u':
			o->udp = true;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'p':
			o->src_port = optarg;
			break;
		case 's':
			o->src_addr = optarg;
			break;
		case 'w':
			if (parse_secs("-w", optarg, &o->w_secs))
				return -EINVAL;
			break;
		case 'q':
			if (parse_secs("-q", optarg, &o->q_secs))
				return -EINVAL;
			break;
		case 'S':
			if (setenv(XOK_SOCKET_ENV, optarg, 1))
				return -errno;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			return -EINVAL;
		}
	}
	argc -= optind;
	argv += optind;
	if (o->listen) {
		/* exnc -l [-p PORT] | exnc -l PORT | exnc -l ADDR PORT */
		if (argc > 2 || (argc == 0 && !o->src_port) || (argc && o->src_port)) {
			exnc_err("listen: give the port once, with -p or as an argument");
			return -EINVAL;
		}
		if (argc == 2)
			o->src_addr = argv[0];
		if (argc)
			o->src_port = argv[argc - 1];
	} else {
		if (argc != 2) {
			fputs(usage, stderr);
			return -EINVAL;
		}
		o->host = argv[0];
		o->port = argv[1];
	}
	return 0;
}

static int resolve(const char *host, uint32_t *addr)
{
	struct addrinfo hints = {.ai_family = AF_INET}, *res;
	int err;

	if (inet_pton(AF_INET, host, addr) == 1)
		return 0;
	err = exos_getaddrinfo(host, NULL, &hints, &res);
	if (err) {
		exnc_err("%s: %s", host, gai_strerror(err));
		return -EINVAL;
	}
	*addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr;
	exos_freeaddrinfo(res);
	return 0;
}

static void addr_str(uint32_t a, char *buf)
{
	inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* A socket of the right type, bound to -s/-p when given. */
static int open_socket(const struct exnc_opts *o)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int one = 1, fd;

	fd = exos_socket(AF_INET, o->udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (fd < 0) {
		exnc_err("socket: %s (is xokd running? socket %s)", strerror(errno),
			 exos_sys_socket_path(NULL));
		return -1;
	}
	if (!o->src_addr && !o->src_port)
		return fd;
	if (o->src_addr && resolve(o->src_addr, &sin.sin_addr.s_addr))
		goto fail;
	if (o->src_port && parse_port(o->src_port, &sin.sin_port))
		goto fail;
	sin.sin_port = htons(sin.sin_port);
	exos_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (exos_bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		exnc_err("bind to %s port %s: %s", o->src_addr ? o->src_addr : "*",
			 o->src_port ? o->src_port : "*", strerror(errno));
		goto fail;
	}
	return fd;
fail:
	exos_close(fd);
	return -1;
}

static int do_connect(struct exnc_opts *o)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	const char *proto = o->udp ? "udp" : "tcp";
	char a[INET_ADDRSTRLEN];
	uint16_t port;
	int fd;

	if (parse_port(o->port, &port) || resolve(o->host, &sin.sin_addr.s_addr))
		return -1;
	sin.sin_port = htons(port);
	addr_str(sin.sin_addr.s_addr, a);
	fd = open_socket(o);
	if (fd < 0)
		return -1;
	if (o->w_secs > 0) {
		struct timeval tv = {.tv_sec = o->w_secs};

		exos_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (exos_connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		exnc_err("connect to %s port %u%s: %s", a, port, o->udp ? " (udp)" : "",
			 errno == EINPROGRESS ? "Connection timed out" : strerror(errno));
		exos_close(fd);
		return -1;
	}
	if (o->w_secs > 0) {
		struct timeval tv = {0};

		exos_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	snprintf(o->peer, sizeof(o->peer), "%s port %u", a, port);
	exnc_info(o, "connected to %s (%s)", o->peer, proto);
	return fd;
}

static int do_listen(struct exnc_opts *o)
{
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	char a[INET_ADDRSTRLEN];
	int lfd, fd;

	lfd = open_socket(o);
	if (lfd < 0)
		return -1;
	if (o->udp) {
		char c;

		exnc_info(o, "listening on %s port %s (udp)", o->src_addr ? o->src_addr : "*",
			  o->src_port);
		if (exos_recvfrom(lfd, &c, 1, MSG_PEEK, (struct sockaddr *)&peer, &len) < 0 ||
		    exos_connect(lfd, (struct sockaddr *)&peer, len) < 0) {
			exnc_err("udp: %s", strerror(errno));
			exos_close(lfd);
			return -1;
		}
		addr_str(peer.sin_addr.s_addr, a);
		snprintf(o->peer, sizeof(o->peer), "%s port %u", a, ntohs(peer.sin_port));
		exnc_info(o, "connection from %s (udp)", o->peer);
		return lfd;
	}
	if (exos_listen(lfd, 1) < 0) {
		exnc_err("listen: %s", strerror(errno));
		exos_close(lfd);
		return -1;
	}
	exnc_info(o, "listening on %s port %s (tcp)", o->src_addr ? o->src_addr : "*",
		  o->src_port);
	fd = exos_accept(lfd, (struct sockaddr *)&peer, &len);
	if (fd < 0)
		exnc_err("accept: %s", strerror(errno));
	exos_close(lfd);
	if (fd >= 0) {
		addr_str(peer.sin_addr.s_addr, a);
		snprintf(o->peer, sizeof(o->peer), "%s port %u", a, ntohs(peer.sin_port));
		exnc_info(o, "connection from %s (tcp)", o->peer);
	}
	return fd;
}

static void print_stack_stats(void)
{
	struct exos_stack_stats st;
	struct exos_stack *s;

	if (exos_stack_default(&s) < 0)
		return;
	exos_stack_stats(s, &st);
#define U(x) (unsigned long long)(x)
	fprintf(stderr,
		"exnc: stack: rx %llu frames %llu bytes, tx %llu frames %llu bytes; tcp in %llu "
		"out %llu retransmits %llu (fast %llu, rto %llu) dupacks_in %llu ooo_in %llu "
		"dup_in %llu paws_drop %llu bad_seq %llu; rx drops: csum %llu notours %llu "
		"truncated %llu; tx: nobuf %llu again %llu errors %llu\n",
		U(st.rx_frames), U(st.rx_bytes), U(st.tx_frames), U(st.tx_bytes), U(st.tcp_in),
		U(st.tcp_out), U(st.tcp_retransmits), U(st.tcp_fast_retransmits),
		U(st.tcp_rto_fired), U(st.tcp_dupacks_in), U(st.tcp_ooo_in), U(st.tcp_dup_in),
		U(st.tcp_paws_drop), U(st.tcp_bad_seq), U(st.rx_drop_csum), U(st.rx_drop_notours),
		U(st.rx_drop_truncated), U(st.tx_drop_nobuf), U(st.tx_again), U(st.tx_errors));
#undef U
}

int main(int argc, char **argv)
{
	struct exnc_opts o = {0};
	int fd, rc;

	if (parse_args(argc, argv, &o))
		return 1;
	signal(SIGPIPE, SIG_IGN);
	fd = o.listen ? do_listen(&o) : do_connect(&o);
	if (fd < 0)
		return 1;
	rc = exnc_copy(fd, &o);
	if (!o.udp) {
		/* our data and FIN must be acknowledged before the process (and with it the
		 * connection's state) goes away */
		struct linger l = {.l_onoff = 1, .l_linger = EXNC_LINGER_S};

		exos_setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	exos_close(fd);
	if (o.verbose > 1)
		print_stack_stats();
	return rc;
}
