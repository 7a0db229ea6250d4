/* test_xokdump_expr.c - xokdump's expression parser: canonical forms, precedence, errors */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "frames.h"
#include "xokdump.h"

/* Parses text and checks its canonical (fully parenthesised) form. */
static void check_canon(const char *text, const char *want)
{
	struct expr_error err;
	struct expr *e = NULL;
	char buf[1024];
	int rc = expr_parse(text, &e, &err);

	if (rc)
		fail_msg("'%s': unexpected error at %u: %s", text, err.pos, err.msg);
	assert_int_equal(expr_format(e, buf, sizeof(buf)), 0);
	if (strcmp(buf, want))
		fail_msg("'%s': got '%s', want '%s'", text, buf, want);
	expr_free(e);
}

/* Checks that text is rejected at column pos (0 = the end) with msg in the message. */
static void check_error(const char *text, unsigned pos, const char *msg)
{
	struct expr_error err;
	struct expr *e = NULL;

	if (expr_parse(text, &e, &err) != -EINVAL)
		fail_msg("'%s': accepted", text);
	assert_null(e);
	if (!strstr(err.msg, msg))
		fail_msg("'%s': message '%s' lacks '%s'", text, err.msg, msg);
	if (err.pos != pos)
		fail_msg("'%s': error at column %u, want %u (%s)", text, err.pos, pos, err.msg);
}

static void test_protocols(void **state)
{
	(void)state;
	check_canon("", "(everything)");
	check_canon("tcp", "tcp");
	check_canon("udp", "udp");
	check_canon("icmp", "icmp");
	check_canon("ip", "ip");
	check_canon("arp", "arp");
	check_canon("ip proto 6", "tcp");
	check_canon("ip proto 47", "ip proto 47");
	check_canon("  ( ( tcp ) )  ", "tcp");
}

static void test_hosts(void **state)
{
	(void)state;
	check_canon("host 198.18.0.1", "host 198.18.0.1");
	check_canon("198.18.0.1", "host 198.18.0.1");
	check_canon("src 198.18.0.2", "src host 198.18.0.2");
	check_canon("dst host 198.18.0.1", "dst host 198.18.0.1");
	check_canon("src or dst host 1.2.3.4", "host 1.2.3.4");
	check_canon("src and dst host 1.2.3.4", "src and dst host 1.2.3.4");
	check_canon("dst and src host 1.2.3.4", "src and dst host 1.2.3.4");
	check_canon("ip host 1.2.3.4", "ip host 1.2.3.4");
	check_canon("arp src host 1.2.3.4", "arp src host 1.2.3.4");
	check_canon("ip src net 198.18.0.0/15", "ip src net 198.18.0.0/15");
	check_canon("net 10", "net 10.0.0.0/8");
	check_canon("net 10.1", "net 10.1.0.0/16");
	check_canon("net 0.0.0.0/0", "net 0.0.0.0/0");
	check_canon("net 1.2.3.4", "host 1.2.3.4");
}

static void test_ports(void **state)
{
	(void)state;
	check_canon("port 80", "port 80");
	check_canon("tcp port 80", "tcp port 80");
	check_canon("udp dst port 0x35", "udp dst port 53");
	check_canon("src port 5555", "src port 5555");
	check_canon("src and dst port 5", "src and dst port 5");
	check_canon("tcp src or dst port 22", "tcp port 22");
	check_canon("port 0", "port 0");
	check_canon("port 65535", "port 65535");
}

/* tcpdump's rule: 'and' and 'or' have equal precedence, left to right; 'not' binds tightest. */
static void test_precedence(void **state)
{
	(void)state;
	check_canon("tcp or udp and port 53", "((tcp or udp) and port 53)");
	check_canon("tcp and udp or arp", "((tcp and udp) or arp)");
	check_canon("tcp or (udp and port 53)", "(tcp or (udp and port 53))");
	check_canon("not tcp and udp", "(not tcp and udp)");
	check_canon("not (tcp and udp)", "not (tcp and udp)");
	check_canon("!tcp && (udp || icmp)", "(not tcp and (udp or icmp))");
	check_canon("not not arp", "not not arp");
	check_canon("tcp and dst port 80 and src host 198.18.0.2",
		    "((tcp and dst port 80) and src host 198.18.0.2)");
	/* "src or dst" is a direction, not an alternation. */
	check_canon("src or dst port 80 or arp", "(port 80 or arp)");
	check_canon("src port 1 or dst port 2", "(src port 1 or dst port 2)");
}

static void test_errors(void **state)
{
	(void)state;
	check_error("tcp and", 0, "expected a primitive, got the end");
	check_error("foo", 1, "expected a primitive (ip, arp, tcp, udp, icmp, host, net, port), "
			      "got 'foo'");
	check_error("tcp udp", 5, "unexpected 'udp' after a complete expression");
	check_error("tcp )", 5, "unexpected ')'");
	check_error("(tcp", 0, "missing ')' for the '(' at column 1");
	check_error("(tcp or udp", 0, "missing ')'");
	check_error(")", 1, "expected a primitive, got ')'");
	check_error("not", 0, "expected a primitive, got the end");
	check_error("host", 0, "expected an IPv4 address after 'host', got the end");
	check_error("host 300.1.2.3", 6, "'300.1.2.3' is not an IPv4 address");
	check_error("host example.com", 6, "does not look up names");
	check_error("host 1.2.3", 6, "is not an IPv4 address");
	check_error("host 1.2.3.4.", 6, "is not an IPv4 address");
	check_error("port", 0, "expected a port after 'port', got the end");
	check_error("port 70000", 6, "port '70000' out of range");
	check_error("port no-such-service-xd", 6, "unknown port 'no-such-service-xd'");
	check_error("src", 0, "expected 'host', 'net', 'port' or an address after the direction");
	check_error("dst foo", 5, "after the direction, got 'foo'");
	check_error("icmp host 1.2.3.4", 1, "'icmp' cannot qualify 'host'");
	check_error("tcp net 10", 1, "'tcp' cannot qualify 'net'");
	check_error("ip port 80", 1, "'ip' cannot qualify 'port'");
	check_error("arp src port 80", 1, "'arp' cannot qualify 'port'");
	check_error("tcp 80", 5, "expected a primitive");
	check_error("net 198.18.0.1/15", 5, "bits set beyond the /15 prefix");
	check_error("net 1.2.3.0/33", 5, "LEN 0 to 32");
	check_error("net 1.2/16", 5, "A.B.C.D/LEN");
	check_error("net x", 5, "is not an IPv4 network");
	check_error("ip proto 300", 10, "expected a protocol number 0 to 255");
	check_error("tcp & udp", 5, "unexpected '&'");
	check_error("tcp | udp", 5, "unexpected '|'");
	check_error("tcp and and udp", 9, "expected a primitive, got 'and'");
}

static void test_limits(void **state)
{
	char text[XD_EXPR_MAX_LEN + 16] = "";
	struct expr_error err;
	struct expr *e = NULL;

	(void)state;
	for (int i = 0; i < XD_EXPR_MAX_DEPTH + 1; i++)
		strcat(text, "(");
	strcat(text, "tcp");
	check_error(text, XD_EXPR_MAX_DEPTH + 1, "nested too deeply");

	/* Exactly at the depth limit is fine. */
	text[0] = '\0';
	for (int i = 0; i < XD_EXPR_MAX_DEPTH; i++)
		strcat(text, "(");
	strcat(text, "tcp");
	for (int i = 0; i < XD_EXPR_MAX_DEPTH; i++)
		strcat(text, ")");
	check_canon(text, "tcp");

	text[0] = '\0';
	for (int i = 0; i < XD_EXPR_MAX_NODES; i++)
		strcat(text, "tcp or ");
	strcat(text, "tcp");
	assert_int_equal(expr_parse(text, &e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "expression too long"));

	memset(text, 'a', XD_EXPR_MAX_LEN + 1);
	text[XD_EXPR_MAX_LEN + 1] = '\0';
	assert_int_equal(expr_parse(text, &e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "longer than"));
}

static void test_join(void **state)
{
	char *argv[] = { "tcp", "and", "(port", "80)" };
	char *s;

	(void)state;
	s = expr_join(4, argv);
	assert_string_equal(s, "tcp and (port 80)");
	free(s);
	s = expr_join(0, argv);
	assert_string_equal(s, "");
	free(s);
}

/* A few direct evaluations; test_xokdump_compile.c checks many more against libdpf. */
static void test_match(void **state)
{
	uint8_t f[FRAME_MAX];
	struct frame_spec s = { .proto = 6, .src = IP4(198, 18, 0, 2), .dst = IP4(198, 18, 0, 1),
				.sport = 5555, .dport = 80 };
	size_t len = frame_build(f, &s);
	struct expr_error err;
	struct expr *e;
	const struct {
		const char *text;
		bool match;
	} cases[] = {
		{ "", true },
		{ "tcp", true },
		{ "udp", false },
		{ "ip", true },
		{ "arp", false },
		{ "port 80", true },
		{ "src port 80", false },
		{ "dst port 80", true },
		{ "tcp and dst port 80 and src host 198.18.0.2", true },
		{ "tcp and dst port 80 and src host 198.18.0.1", false },
		{ "host 198.18.0.1", true },
		{ "src and dst host 198.18.0.1", false },
		{ "net 198.18.0.0/15", true },
		{ "net 198.20.0.0/15", false },
		{ "net 0.0.0.0/0", true },
		{ "not tcp", false },
		{ "not udp and port 5555", true },
		{ "udp or tcp and port 80", true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(expr_parse(cases[i].text, &e, &err), 0);
		if (expr_match(e, f, len) != cases[i].match)
			fail_msg("'%s' should %smatch", cases[i].text,
				 cases[i].match ? "" : "not ");
		/* Loads beyond the frame fail: a frame cut before the ports has no port. */
		if (!strcmp(cases[i].text, "dst port 80"))
			assert_false(expr_match(e, f, 14 + 20 + 3));
		expr_free(e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_protocols), cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_ports),	  cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_errors),	  cmocka_unit_test(test_limits),
		cmocka_unit_test(test_join),	  cmocka_unit_test(test_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
