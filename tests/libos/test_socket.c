/* test_socket.c - the POSIX-like socket API: blocking and non-blocking calls, poll, options */
#include <fcntl.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <exos/socket.h>

#include "harness.h"
#include "libos.h"

static struct peer P;

static struct sockaddr_in sin_of(const char *ip, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = ip4(ip);
	return a;
}

/* A peer that answers while the application sleeps: SYN-ACK to a SYN, ACKs data. */
static int hook_mode;
enum { HOOK_ACCEPT = 1, HOOK_REFUSE, HOOK_DATA };

static void peer_hook(void *arg)
{
	struct parsed q;

	(void)arg;
	while (h_try_next(&q)) {
		if (q.proto != 6)
			continue;
		if (q.flags & TCP_SYN)
			P.lport = q.sport;
		peer_check(&P, &q, q.flags);
		if (q.flags & TCP_SYN) {
			P.ack = q.seq + 1;
			if (hook_mode == HOOK_REFUSE) {
				peer_send(&P, TCP_RST | TCP_ACK, NULL, 0);
				continue;
			}
			peer_send(&P, TCP_SYN | TCP_ACK, NULL, 0);
		} else if (q.len) {
			P.ack = q.seq + (uint32_t)q.len;
			peer_send(&P, TCP_ACK, NULL, 0);
		}
	}
	if (hook_mode == HOOK_DATA) {
		hook_mode = 0;
		peer_send(&P, TCP_ACK | TCP_PSH, "from peer", 9);
	}
}

static int setup(void **state)
{
	h_setup(state);
	peer_init(&P, 0);
	hook_mode = 0;
	return 0;
}

static void test_errors(void **state)
{
	(void)state;
	assert_int_equal(exos_close(12345), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(exos_socket(AF_INET6, SOCK_STREAM, 0), -1);
	assert_int_equal(errno, EAFNOSUPPORT);
	int fd = exos_socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= EXOS_FD_BASE);
	char b[4];
	assert_int_equal(exos_recv(fd, b, 4, 0), -1);
	assert_int_equal(errno, ENOTCONN);
	assert_int_equal(exos_send(fd, b, 4, 0), -1);
	assert_int_equal(errno, ENOTCONN);
	struct sockaddr_in a = sin_of(PEER_IP, 1);
	assert_int_equal(exos_bind(fd, (struct sockaddr *)&a, sizeof(a)), -1);
	assert_int_equal(errno, EADDRNOTAVAIL);
	assert_int_equal(exos_close(fd), 0);
}

static void test_nonblocking_connect_and_poll(void **state)
{
	struct parsed q;
	char buf[64];

	(void)state;
	int fd = exos_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = sin_of(PEER_IP, 40000);
	assert_int_equal(exos_connect(fd, (struct sockaddr *)&a, sizeof(a)), -1);
	assert_int_equal(errno, EINPROGRESS);
	struct pollfd pfd = {.fd = fd, .events = POLLOUT | POLLIN};
	assert_int_equal(exos_poll(&pfd, 1, 0), 0);
	h_next(&q);
	P.lport = q.sport;
	P.ack = q.seq + 1;
	peer_send(&P, TCP_SYN | TCP_ACK, NULL, 0);
	assert_int_equal(exos_poll(&pfd, 1, 0), 1);
	assert_int_equal(pfd.revents, POLLOUT);
	int err = -1;
	socklen_t el = sizeof(err);
	assert_int_equal(exos_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el), 0);
	assert_int_equal(err, 0);
	h_next(&q); /* the handshake's ACK */
	/* send/recv */
	assert_int_equal(exos_send(fd, "hello", 5, 0), 5);
	h_next(&q);
	peer_check(&P, &q, TCP_ACK | TCP_PSH);
	assert_memory_equal(q.payload, "hello", 5);
	assert_int_equal(exos_recv(fd, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EAGAIN);
	P.ack = q.seq + 5;
	peer_send(&P, TCP_ACK, "world!", 6);
	assert_int_equal(exos_poll(&pfd, 1, 0), 1);
	assert_true(pfd.revents & POLLIN);
	assert_int_equal(exos_recv(fd, buf, 3, MSG_PEEK), 3);
	assert_int_equal(exos_recv(fd, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "world!", 6);
	/* The peer closes: EOF. */
	peer_send(&P, TCP_ACK | TCP_FIN, NULL, 0);
	assert_int_equal(exos_recv(fd, buf, sizeof(buf), 0), 0);
	pfd.events = POLLIN | POLLRDHUP;
	assert_int_equal(exos_poll(&pfd, 1, 0), 1);
	assert_true(pfd.revents & POLLRDHUP);
	struct sockaddr_in pa;
	socklen_t pl = sizeof(pa);
	assert_int_equal(exos_getpeername(fd, (struct sockaddr *)&pa, &pl), 0);
	assert_int_equal(pa.sin_addr.s_addr, ip4(PEER_IP));
	assert_int_equal(ntohs(pa.sin_port), 40000);
	assert_int_equal(exos_close(fd), 0);
	h_drain();
	/* Our FIN went out; the peer's ACK finishes it. */
	P.ack++;
	peer_send(&P, TCP_ACK, NULL, 0);
	h_drain();
}

static void test_blocking_connect(void **state)
{
	char buf[64];

	(void)state;
	fake_set_wait_hook(peer_hook, NULL);
	hook_mode = HOOK_DATA;
	int fd = exos_socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = sin_of(PEER_IP, 40000);
	assert_int_equal(exos_connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	/* recv blocks; the peer sends meanwhile. */
	hook_mode = HOOK_DATA;
	assert_int_equal(exos_recv(fd, buf, sizeof(buf), 0), 9);
	assert_memory_equal(buf, "from peer", 9);
	int one = 1;
	assert_int_equal(exos_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	assert_int_equal(exos_send(fd, "x", 1, 0), 1);
	struct linger l = {1, 0};
	assert_int_equal(exos_setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
	fake_set_wait_hook(NULL, NULL);
	h_drain();
	assert_int_equal(exos_close(fd), 0); /* linger 0: reset */
	struct parsed q;
	h_next(&q);
	assert_true(q.flags & TCP_RST);
}

static void test_blocking_connect_refused(void **state)
{
	(void)state;
	fake_set_wait_hook(peer_hook, NULL);
	hook_mode = HOOK_REFUSE;
	int fd = exos_socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = sin_of(PEER_IP, 40000);
	assert_int_equal(exos_connect(fd, (struct sockaddr *)&a, sizeof(a)), -1);
	assert_int_equal(errno, ECONNREFUSED);
	assert_int_equal(exos_close(fd), 0);
	fake_set_wait_hook(NULL, NULL);
}

static void test_listen_accept(void **state)
{
	struct parsed q;
	char buf[64];

	(void)state;
	int lfd = exos_socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	assert_int_equal(exos_setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	struct sockaddr_in a = sin_of("0.0.0.0", 8080);
	assert_int_equal(exos_bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(exos_listen(lfd, 16), 0);
	assert_int_equal(exos_fcntl(lfd, F_SETFL, O_NONBLOCK), 0);
	assert_true(exos_fcntl(lfd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(exos_accept(lfd, NULL, NULL), -1);
	assert_int_equal(errno, EAGAIN);
	/* A client connects and sends a request before we accept. */
	P.lport = 8080;
	peer_send(&P, TCP_SYN, NULL, 0);
	h_next(&q);
	P.ack = q.seq + 1;
	peer_send(&P, TCP_ACK, NULL, 0);
	peer_send(&P, TCP_ACK | TCP_PSH, "GET /", 5);
	struct pollfd pfd = {.fd = lfd, .events = POLLIN};
	assert_int_equal(exos_poll(&pfd, 1, 0), 1);
	struct sockaddr_in pa;
	socklen_t pl = sizeof(pa);
	int fd = exos_accept(lfd, (struct sockaddr *)&pa, &pl);
	assert_true(fd >= EXOS_FD_BASE);
	assert_int_equal(pa.sin_addr.s_addr, ip4(PEER_IP));
	assert_int_equal(ntohs(pa.sin_port), 40000);
	struct sockaddr_in la;
	socklen_t ll = sizeof(la);
	assert_int_equal(exos_getsockname(fd, (struct sockaddr *)&la, &ll), 0);
	assert_int_equal(ntohs(la.sin_port), 8080);
	assert_int_equal(exos_recv(fd, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "GET /", 5);
	assert_int_equal(exos_send(fd, "200", 3, 0), 3);
	peer_send(&P, TCP_ACK | TCP_FIN, NULL, 0);
	assert_int_equal(exos_recv(fd, buf, sizeof(buf), 0), 0);
	assert_int_equal(exos_close(fd), 0);
	while (h_try_next(&q)) {
		peer_check(&P, &q, q.flags);
		P.ack = q.seq + (uint32_t)q.len + !!(q.flags & TCP_FIN);
	}
	peer_send(&P, TCP_ACK, NULL, 0);
	assert_int_equal(exos_close(lfd), 0);
	h_drain();
}

static void test_close_with_unread_data_resets(void **state)
{
	struct parsed q;

	(void)state;
	int lfd = exos_socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = sin_of(OUR_IP, 8081);
	assert_int_equal(exos_bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(exos_listen(lfd, 1), 0);
	P.lport = 8081;
	peer_send(&P, TCP_SYN, NULL, 0);
	h_next(&q);
	P.ack = q.seq + 1;
	peer_send(&P, TCP_ACK, NULL, 0);
	peer_send(&P, TCP_ACK, "unread", 6);
	int fd = exos_accept(lfd, NULL, NULL);
	assert_true(fd >= 0);
	h_drain();
	assert_int_equal(exos_close(fd), 0);
	h_next(&q);
	assert_true(q.flags & TCP_RST);
	/* A queued, never accepted connection is reset when the listener closes. */
	struct peer p2 = P;
	p2.port = 40001;
	peer_send(&p2, TCP_SYN, NULL, 0);
	h_next(&q);
	p2.ack = q.seq + 1;
	peer_send(&p2, TCP_ACK, NULL, 0);
	assert_int_equal(exos_close(lfd), 0);
	h_poll();
	h_next(&q);
	assert_true(q.flags & TCP_RST);
}

static void test_send_buffer_limit(void **state)
{
	static char big[100000];
	struct parsed q;

	(void)state;
	int fd = exos_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int sz = 4096;
	assert_int_equal(exos_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	socklen_t sl = sizeof(sz);
	assert_int_equal(exos_getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, &sl), 0);
	assert_int_equal(sz, 8192); /* doubled, as Linux */
	int one = 1;
	assert_int_equal(exos_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	struct sockaddr_in a = sin_of(PEER_IP, 40000);
	exos_connect(fd, (struct sockaddr *)&a, sizeof(a));
	h_next(&q);
	P.lport = q.sport;
	P.ack = q.seq + 1;
	peer_send(&P, TCP_SYN | TCP_ACK, NULL, 0);
	h_drain();
	assert_int_equal(exos_send(fd, big, sizeof(big), 0), 8192);
	assert_int_equal(exos_send(fd, big, sizeof(big), 0), -1);
	assert_int_equal(errno, EAGAIN);
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	assert_int_equal(exos_poll(&pfd, 1, 0), 0);
	P.ack += 8192;
	peer_send(&P, TCP_ACK, NULL, 0);
	assert_int_equal(exos_poll(&pfd, 1, 0), 1);
	assert_int_equal(exos_send(fd, big, sizeof(big), MSG_DONTWAIT), 8192);
	h_drain();
	struct linger l = {1, 0};
	exos_setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	assert_int_equal(exos_close(fd), 0);
	h_drain();
}

static void test_udp_socket(void **state)
{
	uint8_t frame[2048], sent[256];
	struct parsed q;
	char buf[64];

	(void)state;
	int fd = exos_socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = sin_of("0.0.0.0", 6000);
	assert_int_equal(exos_bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	struct sockaddr_in to = sin_of(PEER_IP, 7000);
	assert_int_equal(exos_sendto(fd, "dgram", 5, 0, (struct sockaddr *)&to, sizeof(to)), 5);
	h_next(&q);
	assert_int_equal(q.sport, 6000);
	assert_int_equal(q.dport, 7000);
	h_inject(frame, forge_udp(frame, 0, 0, 7000, 6000, "reply", 5));
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	assert_int_equal(exos_recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 5);
	assert_memory_equal(buf, "reply", 5);
	assert_int_equal(ntohs(from.sin_port), 7000);
	assert_int_equal(exos_recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL), -1);
	assert_int_equal(errno, EAGAIN);
	/* Connected: ICMP port unreachable becomes ECONNREFUSED on the next call. */
	assert_int_equal(exos_connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	assert_int_equal(exos_send(fd, "q", 1, 0), 1);
	h_next(&q);
	memcpy(sent, q.ip, q.iplen);
	h_inject(frame, forge_icmp_unreach(frame, ip4(PEER_IP), 3, sent, q.iplen));
	assert_int_equal(exos_recv(fd, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, ECONNREFUSED);
	assert_int_equal(exos_close(fd), 0);
}

static void test_poll_timeout(void **state)
{
	(void)state;
	int fd = exos_socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = sin_of("0.0.0.0", 6001);
	assert_int_equal(exos_bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	uint64_t t0 = fake_time();
	assert_int_equal(exos_poll(&pfd, 1, 100), 0);
	assert_true(fake_time() - t0 >= 100 * MS);
	struct timeval tv = {0, 50000};
	assert_int_equal(exos_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	char b;
	t0 = fake_time();
	assert_int_equal(exos_recv(fd, &b, 1, 0), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(fake_time() - t0, 50 * MS);
	assert_int_equal(exos_close(fd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_errors, setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_nonblocking_connect_and_poll, setup,
						h_teardown),
		cmocka_unit_test_setup_teardown(test_blocking_connect, setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_blocking_connect_refused, setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_listen_accept, setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_close_with_unread_data_resets, setup,
						h_teardown),
		cmocka_unit_test_setup_teardown(test_send_buffer_limit, setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_udp_socket, setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_poll_timeout, setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
