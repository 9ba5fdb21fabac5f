/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/error.h"
#include "peerpipe/rtc/candidate.h"

#include <glib.h>
#include <string.h>

static void parse_ok(const char *text, struct pp_candidate *c)
{
	int rc = pp_candidate_parse(text, strlen(text), c);
	if (rc != 0)
		g_test_message("%s: %s", text, pp_strerror(rc));
	g_assert_cmpint(rc, ==, 0);
}

static void parse_err(const char *text, int want)
{
	struct pp_candidate c;
	memset(&c, 0xa5, sizeof(c));
	g_test_message("%s", text);
	g_assert_cmpint(pp_candidate_parse(text, strlen(text), &c), ==, want);
	/* zeroed on failure */
	for (size_t i = 0; i < sizeof(c); i++)
		g_assert_cmpuint(((unsigned char *)&c)[i], ==, 0);
}

/* format(parse(text)) == want (or text when want is NULL) */
static void roundtrip(const char *text, const char *want)
{
	struct pp_candidate a, b;
	char out[PP_CAND_LINE_MAX + 1];

	parse_ok(text, &a);
	int n = pp_candidate_format(&a, out, sizeof(out));
	g_assert_cmpint(n, >, 0);
	g_assert_cmpuint((size_t)n, ==, strlen(out));
	g_assert_cmpstr(out, ==, want ? want : text);
	parse_ok(out, &b);
	g_assert_cmpint(memcmp(&a, &b, sizeof(a)), ==, 0);
}

static void test_chromium(void)
{
	struct pp_candidate c;

	parse_ok("candidate:3034378165 1 udp 2113937151 1f0a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b.local "
	         "54400 typ host generation 0 ufrag EsAw network-id 1 network-cost 10", &c);
	g_assert_cmpstr(c.foundation, ==, "3034378165");
	g_assert_cmpuint(c.component, ==, 1);
	g_assert_cmpint(c.transport, ==, PP_CAND_UDP);
	g_assert_cmpuint(c.priority, ==, 2113937151);
	g_assert_cmpint(c.addr.family, ==, PP_CAND_MDNS);
	g_assert_cmpstr(c.addr.host, ==, "1f0a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b.local");
	g_assert_cmpuint(c.addr.port, ==, 54400);
	g_assert_cmpint(c.type, ==, PP_CAND_HOST);
	g_assert_false(c.has_raddr);
	g_assert_cmpint(c.tcptype, ==, PP_CAND_TCPTYPE_NONE);
	g_assert_true(c.has_generation);
	g_assert_cmpuint(c.generation, ==, 0);
	g_assert_cmpstr(c.ufrag, ==, "EsAw");
	g_assert_true(c.has_network_id);
	g_assert_cmpuint(c.network_id, ==, 1);
	g_assert_true(c.has_network_cost);
	g_assert_cmpuint(c.network_cost, ==, 10);

	/* srflx with a hidden raddr, "a=" prefix and a line end */
	parse_ok("a=candidate:842163049 1 udp 1677729535 203.0.113.7 54400 typ srflx "
	         "raddr 0.0.0.0 rport 0 generation 0 network-cost 999\r\n", &c);
	g_assert_cmpint(c.type, ==, PP_CAND_SRFLX);
	g_assert_cmpint(c.addr.family, ==, PP_CAND_IPV4);
	g_assert_cmpmem(c.addr.ip, 4, "\xcb\x00\x71\x07", 4);
	g_assert_true(c.has_raddr);
	g_assert_cmpint(c.raddr.family, ==, PP_CAND_IPV4);
	g_assert_cmpuint(c.raddr.port, ==, 0);

	/* TCP active host, port 9 */
	parse_ok("candidate:1510613869 1 tcp 1518280447 192.0.2.10 9 typ host tcptype active "
	         "generation 0 network-id 1\n", &c);
	g_assert_cmpint(c.transport, ==, PP_CAND_TCP);
	g_assert_cmpint(c.tcptype, ==, PP_CAND_TCPTYPE_ACTIVE);

	/* relay over IPv6 */
	parse_ok("candidate:2157334355 1 udp 33562367 2001:db8::7 3478 typ relay raddr "
	         "203.0.113.7 rport 54400 generation 0 ufrag EsAw network-id 2", &c);
	g_assert_cmpint(c.type, ==, PP_CAND_RELAY);
	g_assert_cmpint(c.addr.family, ==, PP_CAND_IPV6);
	g_assert_cmpmem(c.addr.ip, 16, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x07", 16);
	g_assert_cmpuint(c.raddr.port, ==, 54400);
}

static void test_firefox(void)
{
	struct pp_candidate c;

	parse_ok("candidate:0 1 UDP 2122252543 3f1e6c4f-a6fb-4bd2-9d1a-7e5f3bcd7a10.local 60923 typ host", &c);
	g_assert_cmpint(c.addr.family, ==, PP_CAND_MDNS);
	g_assert_false(c.has_generation);
	g_assert_cmpstr(c.ufrag, ==, "");
	parse_ok("candidate:2 1 TCP 2105524479 192.0.2.1 9 typ host tcptype active", &c);
	g_assert_cmpint(c.transport, ==, PP_CAND_TCP);
	parse_ok("candidate:5 1 TCP 2105524479 192.0.2.1 50000 typ host tcptype passive", &c);
	g_assert_cmpint(c.tcptype, ==, PP_CAND_TCPTYPE_PASSIVE);
	parse_ok("candidate:6 2 tcp 1 192.0.2.1 50000 typ prflx tcptype so", &c);
	g_assert_cmpint(c.tcptype, ==, PP_CAND_TCPTYPE_SO);
	g_assert_cmpint(c.type, ==, PP_CAND_PRFLX);
	g_assert_cmpuint(c.component, ==, 2);
	parse_ok("candidate:3 1 UDP 92217087 fe80::1:2:3:4 61234 typ host", &c);
	g_assert_cmpint(c.addr.family, ==, PP_CAND_IPV6);
	/* mDNS names: case and label rules */
	parse_ok("candidate:3 1 UDP 9 Host-1.LOCAL 1 typ host", &c);
	g_assert_cmpint(c.addr.family, ==, PP_CAND_MDNS);
	/* unknown extensions are skipped */
	parse_ok("candidate:1 1 udp 1 192.0.2.1 1 typ host x-foo bar network-id 3 y 1", &c);
	g_assert_cmpuint(c.network_id, ==, 3);
	/* limits: 32-character foundation, 256 component, max numbers */
	parse_ok("candidate:abcdefghijklmnopqrstuvwxyz+/0123 256 udp 4294967295 192.0.2.1 65535 "
	         "typ host generation 4294967295", &c);
	g_assert_cmpuint(c.priority, ==, 4294967295u);
	g_assert_cmpuint(c.generation, ==, 4294967295u);
	g_assert_cmpuint(c.component, ==, 256);
}

static void test_roundtrip(void)
{
	roundtrip("candidate:842163049 1 udp 1677729535 203.0.113.7 54400 typ srflx raddr 0.0.0.0 "
	          "rport 0 generation 0 ufrag EsAw network-id 1 network-cost 999", NULL);
	roundtrip("candidate:1 1 tcp 1518280447 192.0.2.10 9 typ host tcptype active", NULL);
	roundtrip("candidate:x 1 udp 1 abc.local 5 typ host", NULL);
	roundtrip("candidate:1 1 udp 1 ::1 5 typ relay raddr fe80::1 rport 7", NULL);
	/* normalised: lowercase transport, known extensions in one order,
	 * unknown ones dropped, no a= or line end, no leading zeros */
	roundtrip("a=candidate:0 1 UDP 002 192.0.2.1 00080 typ srflx generation 1 rport 1 x y "
	          "raddr 10.0.0.1\r\n",
	          "candidate:0 1 udp 2 192.0.2.1 80 typ srflx raddr 10.0.0.1 rport 1 generation 1");
}

static void test_unsupported(void)
{
	parse_err("candidate:1 1 ssltcp 1 192.0.2.1 443 typ host", PP_ERR_UNSUPPORTED);
	parse_err("candidate:1 1 udp 1 turn.example.com 3478 typ host", PP_ERR_UNSUPPORTED);
	parse_err("candidate:1 1 udp 1 localhost 3478 typ host", PP_ERR_UNSUPPORTED);
	parse_err("candidate:1 1 udp 1 192.0.2.1 1 typ relay raddr example.com rport 1", PP_ERR_UNSUPPORTED);
	parse_err("candidate:1 1 udp 1 192.0.2.1 1 typ peer", PP_ERR_UNSUPPORTED);
	parse_err("candidate:1 1 tcp 1 192.0.2.1 1 typ host", PP_ERR_UNSUPPORTED);
	/* ...but a malformed field still wins */
	parse_err("candidate:1 1 ssltcp 1 192.0.2.1 99999 typ host", PP_ERR_INVALID);
	parse_err("candidate:1 1 udp 1 turn.example.com 3478 typ host generation x", PP_ERR_INVALID);
}

static void test_invalid(void)
{
	static const char *const bad[] = {
		"",
		"a=",
		"candidate:",
		"candidate 1 1 udp 1 192.0.2.1 1 typ host",
		"a=candidate:1 1 udp 1 192.0.2.1 1 typ",
		"candidate:1 1 udp 1 192.0.2.1 1 host host",
		"candidate:1 1 udp 1 192.0.2.1 1 typ host raddr",
		"candidate:1 1 udp 1 192.0.2.1 1 typ host ",
		" candidate:1 1 udp 1 192.0.2.1 1 typ host",
		"candidate:1  1 udp 1 192.0.2.1 1 typ host",
		"candidate:1 1 udp 1 192.0.2.1 1 typ host\r\n\r\n",
		"candidate:1 1 udp 1 192.0.2.1 1 typ host\n\n",
		"candidate:1 1 udp 1 192.0.2.1 1 typ\thost",
		"candidate:1 1 udp 1 192.0.2.1 1 typ host\r",
		"candidate:1 1 udp 1 192.0.2.1 1\x7f typ host",
		/* foundation */
		"candidate: 1 udp 1 192.0.2.1 1 typ host",
		"candidate:a-b 1 udp 1 192.0.2.1 1 typ host",
		"candidate:abcdefghijklmnopqrstuvwxyz+/01234 1 udp 1 192.0.2.1 1 typ host",
		/* numbers */
		"candidate:1 0 udp 1 192.0.2.1 1 typ host",
		"candidate:1 257 udp 1 192.0.2.1 1 typ host",
		"candidate:1 0001 udp 1 192.0.2.1 1 typ host",
		"candidate:1 +1 udp 1 192.0.2.1 1 typ host",
		"candidate:1 1 udp 0 192.0.2.1 1 typ host",
		"candidate:1 1 udp -1 192.0.2.1 1 typ host",
		"candidate:1 1 udp 4294967296 192.0.2.1 1 typ host",
		"candidate:1 1 udp 00000000001 192.0.2.1 1 typ host",
		"candidate:1 1 udp 1 192.0.2.1 65536 typ host",
		"candidate:1 1 udp 1 192.0.2.1 1a typ host",
		"candidate:1 1 udp 1 192.0.2.1 1 typ host generation 4294967296",
		"candidate:1 1 udp 1 192.0.2.1 1 typ host network-id x",
		"candidate:1 1 udp 1 192.0.2.1 1 typ host network-cost -1",
		"candidate:1 1 udp 1 192.0.2.1 1 typ host raddr 0.0.0.0 rport 65536",
		/* transport, type */
		"candidate:1 1 u\"p 1 192.0.2.1 1 typ host",
		"candidate:1 1 udp 1 192.0.2.1 1 typ ho\"st",
		/* addresses */
		"candidate:1 1 udp 1 192.0.2 1 typ host",
		"candidate:1 1 udp 1 192.0.2.256 1 typ host",
		"candidate:1 1 udp 1 192.0.2.01 1 typ host",
		"candidate:1 1 udp 1 1.2.3.4.5 1 typ host",
		"candidate:1 1 udp 1 [::1] 1 typ host",
		"candidate:1 1 udp 1 fe80::1%eth0 1 typ host",
		"candidate:1 1 udp 1 ::g 1 typ host",
		"candidate:1 1 udp 1 -a.local 1 typ host",
		"candidate:1 1 udp 1 a..local 1 typ host",
		"candidate:1 1 udp 1 .local 1 typ host",
		"candidate:1 1 udp 1 a_b.local 1 typ host",
		"candidate:1 1 udp 1 a.local. 1 typ host",
		"candidate:1 1 udp 1 192.0.2.1 1 typ host raddr 1.2.3 rport 1",
		/* extensions */
		"candidate:1 1 udp 1 192.0.2.1 1 typ host raddr 0.0.0.0",
		"candidate:1 1 udp 1 192.0.2.1 1 typ host rport 0",
		"candidate:1 1 udp 1 192.0.2.1 1 typ host generation 0 generation 0",
		"candidate:1 1 udp 1 192.0.2.1 1 typ host ufrag a ufrag b",
		"candidate:1 1 udp 1 192.0.2.1 1 typ host ufrag a-b",
		"candidate:1 1 udp 1 192.0.2.1 1 typ host tcptype active",
		"candidate:1 1 tcp 1 192.0.2.1 1 typ host tcptype client",
		"candidate:1 1 udp 1 192.0.2.1 1 typ host x\"y z",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		parse_err(bad[i], PP_ERR_INVALID);

	/* an embedded NUL */
	struct pp_candidate c;
	g_assert_cmpint(pp_candidate_parse("candidate:1 1 udp 1 ::1\0 1 typ host", 35, &c), ==,
	                PP_ERR_INVALID);
}

static void test_limits(void)
{
	struct pp_candidate c;
	GString *g = g_string_new("candidate:1 1 udp 1 192.0.2.1 1 typ host");

	/* 16 extension pairs, then 17 */
	for (int i = 0; i < PP_CAND_EXT_MAX; i++)
		g_string_append_printf(g, " x%d y", i);
	parse_ok(g->str, &c);
	g_string_append(g, " z 1");
	parse_err(g->str, PP_ERR_TOO_BIG);

	/* the whole line */
	g_string_assign(g, "candidate:1 1 udp 1 192.0.2.1 1 typ host x ");
	while (g->len < PP_CAND_LINE_MAX)
		g_string_append_c(g, 'y');
	parse_ok(g->str, &c);
	g_string_append(g, "\r\n"); /* not counted */
	parse_ok(g->str, &c);
	g_string_insert_c(g, 50, 'y');
	parse_err(g->str, PP_ERR_TOO_BIG);

	/* host names: 253 characters at most */
	g_string_assign(g, "candidate:1 1 udp 1 ");
	for (int i = 0; i < 3; i++)
		g_string_append(g, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
	for (int i = 0; i < 253 - 3 * 64 - 6; i++)
		g_string_append_c(g, 'b');
	g_string_append(g, ".local 1 typ host");
	parse_ok(g->str, &c);
	g_assert_cmpuint(strlen(c.addr.host), ==, 253);
	g_string_replace(g, ".local", "a.local", 1);
	parse_err(g->str, PP_ERR_INVALID);
	/* labels: 63 characters at most */
	parse_ok("candidate:1 1 udp 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.local 1 typ host", &c);
	parse_err("candidate:1 1 udp 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.local 1 typ host",
	          PP_ERR_INVALID);
	/* ufrag: 256 */
	g_string_assign(g, "candidate:1 1 udp 1 192.0.2.1 1 typ host ufrag ");
	for (int i = 0; i < PP_CAND_UFRAG_MAX; i++)
		g_string_append_c(g, 'u');
	parse_ok(g->str, &c);
	g_string_append_c(g, 'u');
	parse_err(g->str, PP_ERR_TOO_BIG);
	g_string_free(g, TRUE);
}

static void test_format_errors(void)
{
	struct pp_candidate c, base;
	char out[PP_CAND_LINE_MAX + 1];

	parse_ok("candidate:1 1 tcp 1 192.0.2.1 1 typ host raddr 10.0.0.1 rport 2 tcptype so "
	         "ufrag abcd", &base);
	g_assert_cmpint(pp_candidate_format(&base, out, sizeof(out)), >, 0);
	/* too small, at every size */
	size_t n = strlen(out);
	for (size_t cap = 0; cap <= n; cap++)
		g_assert_cmpint(pp_candidate_format(&base, out, cap), ==, PP_ERR_TOO_BIG);
	g_assert_cmpint(pp_candidate_format(&base, out, n + 1), ==, (int)n);

#define BAD(stmt)                                                               \
	do {                                                                    \
		c = base;                                                       \
		stmt;                                                           \
		g_assert_cmpint(pp_candidate_format(&c, out, sizeof(out)), ==, \
		                PP_ERR_INVALID);                                \
	} while (0)
	BAD(c.foundation[0] = '\0');
	BAD(strcpy(c.foundation, "a b"));
	BAD(memset(c.foundation, 'a', sizeof(c.foundation)));
	BAD(strcpy(c.ufrag, "a b"));
	BAD(c.component = 0);
	BAD(c.component = 257);
	BAD(c.priority = 0);
	BAD(c.type = (enum pp_cand_type)4);
	BAD(c.transport = (enum pp_cand_transport)2);
	BAD(c.tcptype = PP_CAND_TCPTYPE_NONE);
	BAD(c.tcptype = (enum pp_cand_tcptype)9);
	BAD(c.transport = PP_CAND_UDP);
	BAD(strcpy(c.addr.host, "192.0.2.1 1"));
	BAD(strcpy(c.addr.host, ""));
	BAD(strcpy(c.addr.host, "example.com"));
	BAD(c.addr.family = PP_CAND_IPV6);
	BAD(memset(c.addr.host, 'a', sizeof(c.addr.host)));
	BAD(strcpy(c.raddr.host, "x y"));
#undef BAD
	/* raddr is not checked when absent */
	c = base;
	c.has_raddr = false;
	strcpy(c.raddr.host, "x y");
	g_assert_cmpint(pp_candidate_format(&c, out, sizeof(out)), >, 0);
	g_assert_null(strstr(out, "raddr"));
}

static void test_names(void)
{
	g_assert_cmpstr(pp_candidate_type_name(PP_CAND_HOST), ==, "host");
	g_assert_cmpstr(pp_candidate_type_name(PP_CAND_RELAY), ==, "relay");
	g_assert_cmpstr(pp_candidate_type_name((enum pp_cand_type)17), ==, "?");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rtc/candidate/chromium", test_chromium);
	g_test_add_func("/rtc/candidate/firefox", test_firefox);
	g_test_add_func("/rtc/candidate/roundtrip", test_roundtrip);
	g_test_add_func("/rtc/candidate/unsupported", test_unsupported);
	g_test_add_func("/rtc/candidate/invalid", test_invalid);
	g_test_add_func("/rtc/candidate/limits", test_limits);
	g_test_add_func("/rtc/candidate/format-errors", test_format_errors);
	g_test_add_func("/rtc/candidate/names", test_names);
	return g_test_run();
}
