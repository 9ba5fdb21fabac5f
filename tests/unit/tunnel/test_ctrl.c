/* SPDX-License-Identifier: Apache-2.0 */
/* Control-channel and service-stream messages: builders against the exact
 * text of tunnel.md §3-4, round trips, and refusals with their reasons. */
#include "peerpipe/error.h"
#include "peerpipe/tunnel/ctrl.h"
#include "peerpipe/tunnel/frame.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses text (must succeed) into *m. */
static void parse_ok(const char *text, struct pp_ctrl_msg *m, enum pp_ctrl_type want)
{
	const char *why = "";
	int rc = pp_ctrl_parse(text, strlen(text), m, &why);
	if (rc)
		g_test_message("%s: %s", text, why);
	g_assert_cmpint(rc, ==, 0);
	g_assert_cmpint(m->type, ==, want);
}

/* Must fail with rc and a reason containing `reason`. */
static void parse_bad(const char *text, size_t len, int rc, const char *reason)
{
	struct pp_ctrl_msg m;
	const char *why = NULL;

	g_assert_cmpint(pp_ctrl_parse(text, len, &m, &why), ==, rc);
	g_assert_nonnull(why);
	if (!strstr(why, reason))
		g_error("%.80s: reason \"%s\", wanted \"%s\"", text, why, reason);
	g_assert_cmpint(m.type, ==, 0);
	g_assert_null(m.services);
	pp_ctrl_msg_clear(&m);
}

#define BAD(text, reason) parse_bad(text, strlen(text), PP_ERR_INVALID, reason)

/* Built text equals want exactly, and parses back to type t into *m. */
static void built(char *text, const char *want, enum pp_ctrl_type t, struct pp_ctrl_msg *m)
{
	g_assert_nonnull(text);
	if (want)
		g_assert_cmpstr(text, ==, want);
	parse_ok(text, m, t);
	free(text);
}

static void test_build_exact(void)
{
	struct pp_ctrl_msg m;

	built(pp_ctrl_build_hello(PP_ROLE_GATEWAY, "peerpipe/0.1.0", PP_FRAME_FMT_ALL, "1.0", 0),
	      "{\"type\":\"HELLO\",\"version\":\"1.0\",\"agent\":\"peerpipe/0.1.0\","
	      "\"role\":\"gateway\",\"compression\":[\"zstd\",\"lz4\"]}",
	      PP_CTRL_HELLO, &m);
	g_assert_cmpstr(m.version, ==, "1.0");
	g_assert_cmpstr(m.agent, ==, "peerpipe/0.1.0");
	g_assert_cmpint(m.role, ==, PP_ROLE_GATEWAY);
	g_assert_cmpuint(m.formats, ==, PP_FRAME_FMT_ALL);
	pp_ctrl_msg_clear(&m);
	built(pp_ctrl_build_hello(PP_ROLE_DESKTOP, NULL, 0, "1.1-G", 16384),
	      "{\"type\":\"HELLO\",\"version\":\"1.1-G\",\"agent\":\"\",\"role\":\"desktop\","
	      "\"compression\":[],\"max_datagram\":16384}", PP_CTRL_HELLO, &m);
	g_assert_cmpint(m.role, ==, PP_ROLE_DESKTOP);
	g_assert_cmpuint(m.max_datagram, ==, 16384);
	g_assert_cmpuint(m.formats, ==, 0);
	pp_ctrl_msg_clear(&m);

	built(pp_ctrl_build_connected(), "{\"type\":\"CONNECTED\"}", PP_CTRL_CONNECTED, &m);
	built(pp_ctrl_build_eof(), "{\"type\":\"EOF\"}", PP_CTRL_EOF, &m);
	built(pp_ctrl_build_denied("not allowed"), "{\"type\":\"DENIED\",\"reason\":\"not allowed\"}",
	      PP_CTRL_DENIED, &m);
	g_assert_cmpstr(m.reason, ==, "not allowed");
	pp_ctrl_msg_clear(&m);
	built(pp_ctrl_build_failed(NULL), "{\"type\":\"FAILED\",\"reason\":\"\"}", PP_CTRL_FAILED, &m);
	pp_ctrl_msg_clear(&m);
	built(pp_ctrl_build_bye("policy: GOST required"),
	      "{\"type\":\"BYE\",\"reason\":\"policy: GOST required\"}", PP_CTRL_BYE, &m);
	pp_ctrl_msg_clear(&m);
	built(pp_ctrl_build_ping(123), "{\"type\":\"PING\",\"t\":123}", PP_CTRL_PING, &m);
	g_assert_cmpint(m.t, ==, 123);
	built(pp_ctrl_build_alert("db#3", 2100498, "ET SCAN", PP_CTRL_ACTION_STREAM_CLOSED),
	      "{\"type\":\"ALERT\",\"stream\":\"db#3\",\"signature_id\":2100498,"
	      "\"signature\":\"ET SCAN\",\"action\":\"stream_closed\"}", PP_CTRL_ALERT, &m);
	g_assert_cmpstr(m.stream, ==, "db#3");
	g_assert_cmpuint(m.signature_id, ==, 2100498);
	g_assert_cmpstr(m.signature, ==, "ET SCAN");
	g_assert_cmpint(m.action, ==, PP_CTRL_ACTION_STREAM_CLOSED);
	g_assert_cmpstr(m.action_name, ==, "stream_closed");
	pp_ctrl_msg_clear(&m);
}

static void test_build_roundtrip(void)
{
	struct pp_ctrl_msg m;
	static const int64_t ts[] = { 0, -1, INT64_MAX, INT64_MIN, 1700000000123 };

	for (size_t i = 0; i < G_N_ELEMENTS(ts); i++) {
		built(pp_ctrl_build_pong(ts[i]), NULL, PP_CTRL_PONG, &m);
		g_assert_cmpint(m.t, ==, ts[i]);
	}
	built(pp_ctrl_build_alert("x", UINT32_MAX, NULL, PP_CTRL_ACTION_PEER_BANNED), NULL,
	      PP_CTRL_ALERT, &m);
	g_assert_cmpuint(m.signature_id, ==, UINT32_MAX);
	g_assert_cmpint(m.action, ==, PP_CTRL_ACTION_PEER_BANNED);
	g_assert_cmpstr(m.signature, ==, "");
	pp_ctrl_msg_clear(&m);

	/* Long free text is cut on a character boundary: "é" is 2 bytes. */
	GString *s = g_string_new("x");
	for (int i = 0; i < 400; i++)
		g_string_append(s, "é");
	built(pp_ctrl_build_denied(s->str), NULL, PP_CTRL_DENIED, &m);
	g_assert_cmpuint(strlen(m.reason), ==, 255);
	g_assert_true(g_utf8_validate(m.reason, -1, NULL));
	pp_ctrl_msg_clear(&m);
	built(pp_ctrl_build_alert("db#1", 1, s->str, PP_CTRL_ACTION_STREAM_CLOSED), NULL,
	      PP_CTRL_ALERT, &m);
	g_assert_cmpuint(strlen(m.signature), ==, 511);
	pp_ctrl_msg_clear(&m);
	built(pp_ctrl_build_hello(PP_ROLE_DESKTOP, s->str, PP_FRAME_FMT_LZ4, NULL, 0), NULL,
	      PP_CTRL_HELLO, &m);
	g_assert_cmpuint(strlen(m.agent), ==, 127);
	g_assert_cmpstr(m.version, ==, "1.0");
	g_assert_cmpuint(m.formats, ==, PP_FRAME_FMT_LZ4);
	pp_ctrl_msg_clear(&m);
	g_string_free(s, TRUE);

	/* refused arguments */
	g_assert_null(pp_ctrl_build_denied("\xff\xfe"));
	g_assert_null(pp_ctrl_build_hello(PP_ROLE_GATEWAY, "a", 0, "1.0 beta", 0));
	g_assert_null(pp_ctrl_build_hello(PP_ROLE_GATEWAY, "a", 0, "1.0", 1199));
	g_assert_null(pp_ctrl_build_hello(PP_ROLE_GATEWAY, "a", 0, "1.0", 65508));
	g_assert_null(pp_ctrl_build_hello((enum pp_role)7, "a", 0, "1.0", 0));
	g_assert_null(pp_ctrl_build_alert("db#1", 1, "s", PP_CTRL_ACTION_OTHER));
	g_assert_null(pp_ctrl_build_alert(NULL, 1, "s", PP_CTRL_ACTION_PEER_BANNED));
	char *longstream = g_strnfill(PP_CTRL_STREAM_MAX + 1, 's');
	g_assert_null(pp_ctrl_build_alert(longstream, 1, "s", PP_CTRL_ACTION_PEER_BANNED));
	g_free(longstream);
}

static void test_services(void)
{
	struct pp_ctrl_msg m;
	struct pp_ctrl_service sv[PP_CTRL_SERVICES_MAX + 1];
	char names[PP_CTRL_SERVICES_MAX + 1][16];
	char *desc = g_strnfill(300, 'd');

	for (size_t i = 0; i <= PP_CTRL_SERVICES_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "svc-%zu", i);
		sv[i] = (struct pp_ctrl_service){ names[i], "tcp", i ? "" : desc };
	}
	sv[1].description = (char *)"Legacy SQL — база";
	sv[2].proto = NULL;
	built(pp_ctrl_build_services(sv, PP_CTRL_SERVICES_MAX), NULL, PP_CTRL_SERVICES, &m);
	g_assert_cmpuint(m.n_services, ==, PP_CTRL_SERVICES_MAX);
	g_assert_cmpstr(m.services[7].name, ==, "svc-7");
	g_assert_cmpstr(m.services[2].proto, ==, "tcp");
	g_assert_cmpstr(m.services[1].description, ==, "Legacy SQL — база");
	g_assert_cmpuint(strlen(m.services[0].description), ==, PP_CTRL_DESCRIPTION_MAX);
	pp_ctrl_msg_clear(&m);
	built(pp_ctrl_build_services(NULL, 0), "{\"type\":\"SERVICES\",\"services\":[]}",
	      PP_CTRL_SERVICES, &m);
	g_assert_cmpuint(m.n_services, ==, 0);
	pp_ctrl_msg_clear(&m);
	g_assert_null(pp_ctrl_build_services(sv, PP_CTRL_SERVICES_MAX + 1));
	sv[3].name = (char *)"svc-4"; /* duplicate */
	g_assert_null(pp_ctrl_build_services(sv, 10));
	sv[3].name = (char *)"bad name";
	g_assert_null(pp_ctrl_build_services(sv, 10));
	g_free(desc);

	/* as a third party may send it: proto and description absent */
	parse_ok("{\"services\":[{\"name\":\"db\",\"x\":1}],\"type\":\"SERVICES\"}", &m,
	         PP_CTRL_SERVICES);
	g_assert_cmpstr(m.services[0].proto, ==, "tcp");
	g_assert_cmpstr(m.services[0].description, ==, "");
	pp_ctrl_msg_clear(&m);
}

/* More than one message holds: the longest prefix that fits. */
static void test_services_fit(void)
{
	enum { N = 300 };
	struct pp_ctrl_msg m;
	struct pp_ctrl_service sv[N];
	char names[N][PP_CTRL_NAME_MAX + 1];
	char *desc = g_strnfill(PP_CTRL_DESCRIPTION_MAX, 'd'), *text, *more;
	size_t sent = 0;

	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "svc-%zu", i);
		sv[i] = (struct pp_ctrl_service){ names[i], "tcp", "" };
	}
	text = pp_ctrl_build_services_fit(sv, 5, &sent);
	g_assert_cmpuint(sent, ==, 5);
	built(text, NULL, PP_CTRL_SERVICES, &m);
	pp_ctrl_msg_clear(&m);
	/* more entries than a message lists */
	text = pp_ctrl_build_services_fit(sv, N, &sent);
	g_assert_cmpuint(sent, ==, PP_CTRL_SERVICES_MAX);
	built(text, NULL, PP_CTRL_SERVICES, &m);
	g_assert_cmpuint(m.n_services, ==, PP_CTRL_SERVICES_MAX);
	pp_ctrl_msg_clear(&m);
	/* long names and descriptions: more bytes than a message holds */
	for (size_t i = 0; i < N; i++) {
		memset(names[i], 'n', PP_CTRL_NAME_MAX);
		snprintf(names[i] + PP_CTRL_NAME_MAX - 4, 5, "%04zu", i);
		sv[i].description = desc;
	}
	g_assert_null(pp_ctrl_build_services(sv, PP_CTRL_SERVICES_MAX));
	text = pp_ctrl_build_services_fit(sv, PP_CTRL_SERVICES_MAX, &sent);
	g_assert_nonnull(text);
	g_assert_cmpuint(sent, >, 100);
	g_assert_cmpuint(sent, <, PP_CTRL_SERVICES_MAX);
	g_assert_cmpuint(strlen(text), <=, PP_CTRL_MSG_MAX);
	more = pp_ctrl_build_services(sv, sent + 1);
	g_assert_null(more); /* the longest that fits */
	built(text, NULL, PP_CTRL_SERVICES, &m);
	g_assert_cmpuint(m.n_services, ==, sent);
	g_assert_cmpstr(m.services[sent - 1].name, ==, names[sent - 1]);
	pp_ctrl_msg_clear(&m);
	g_free(desc);
}

static void test_lenient(void)
{
	struct pp_ctrl_msg m;

	parse_ok("{\"type\":\"NEWTHING\",\"a\":[1,2,{\"b\":null}]}", &m, PP_CTRL_UNKNOWN);
	parse_ok("{\"type\":\"GOST_KEY\",\"paramset\":\"id-tc26\",\"pub\":\"AAAA\",\"nonce\":\"BB\"}",
	         &m, PP_CTRL_GOST_KEY);
	parse_ok(" {\"compression\":[\"brotli\",\"lz4\",\"LZ4\"],\"role\":\"desktop\",\"version\":"
	         "\"2.0\",\"type\":\"HELLO\",\"future\":{}}\n", &m, PP_CTRL_HELLO);
	g_assert_cmpuint(m.formats, ==, PP_FRAME_FMT_LZ4);
	g_assert_cmpstr(m.version, ==, "2.0");
	g_assert_cmpstr(m.agent, ==, "");
	pp_ctrl_msg_clear(&m);
	parse_ok("{\"type\":\"PING\",\"t\":123.9}", &m, PP_CTRL_PING);
	g_assert_cmpint(m.t, ==, 123);
	parse_ok("{\"type\":\"PONG\",\"t\":-5e2}", &m, PP_CTRL_PONG);
	g_assert_cmpint(m.t, ==, -500);
	parse_ok("{\"type\":\"ALERT\",\"stream\":\"db#1\",\"signature_id\":0,\"action\":\"quarantined\"}",
	         &m, PP_CTRL_ALERT);
	g_assert_cmpint(m.action, ==, PP_CTRL_ACTION_OTHER);
	pp_ctrl_msg_clear(&m);
	/* an unknown action keeps its name to show; a long one is cut on a
	 * character boundary, not refused (the session must not end on it) */
	parse_ok("{\"type\":\"ALERT\",\"stream\":\"db#1\",\"signature_id\":0,\"action\":\"quarantined\"}",
	         &m, PP_CTRL_ALERT);
	g_assert_cmpstr(m.action_name, ==, "quarantined");
	pp_ctrl_msg_clear(&m);
	GString *act = g_string_new("{\"type\":\"ALERT\",\"stream\":\"db#1\",\"signature_id\":0,"
	                            "\"action\":\"x");
	for (int i = 0; i < 40; i++)
		g_string_append(act, "\u00e9"); /* 2 bytes each in UTF-8 */
	g_string_append(act, "\"}");
	parse_ok(act->str, &m, PP_CTRL_ALERT);
	g_assert_cmpint(m.action, ==, PP_CTRL_ACTION_OTHER);
	g_assert_cmpuint(strlen(m.action_name), ==, 63); /* "x" and 31 of them */
	g_assert_true(g_utf8_validate(m.action_name, -1, NULL));
	pp_ctrl_msg_clear(&m);
	g_string_free(act, TRUE);
	parse_ok("{\"type\":\"EOF\",\"reason\":5}", &m, PP_CTRL_EOF); /* not a field of EOF */
	parse_ok("{\"type\":\"BYE\"}", &m, PP_CTRL_BYE);
	g_assert_cmpstr(m.reason, ==, "");
	pp_ctrl_msg_clear(&m);

	/* the size and nesting limits, just inside */
	GString *s = g_string_new("{\"type\":\"EOF\",\"pad\":\"");
	while (s->len < PP_CTRL_MSG_MAX - 2)
		g_string_append_c(s, 'p');
	g_string_append(s, "\"}");
	parse_ok(s->str, &m, PP_CTRL_EOF);
	g_string_insert_c(s, 25, 'p');
	parse_bad(s->str, s->len, PP_ERR_TOO_BIG, "over 64 KiB");
	g_string_free(s, TRUE);
	parse_ok("{\"type\":\"PING\",\"t\":1,\"x\":[[[[[[[1]]]]]]]}", &m, PP_CTRL_PING);
	BAD("{\"type\":\"PING\",\"t\":1,\"x\":[[[[[[[[1]]]]]]]]}", "nested");
}

static void test_malformed(void)
{
	parse_bad("", 0, PP_ERR_INVALID, "not valid JSON");
	BAD("{\"type\":\"EOF\"", "not valid JSON");
	BAD("{\"type\":\"EOF\"} x", "not valid JSON");
	BAD("{\"type\":\"EOF\",\"type\":\"EOF\"}", "not valid JSON");
	BAD("{\"type\":\"BYE\",\"reason\":\"\xff\"}", "not valid JSON");
	BAD("{\"type\":\"BYE\",\"reason\":\"\xc0\xaf\"}", "not valid JSON");
	BAD("{\"type\":\"BYE\",\"reason\":\"a\\u0000b\"}", "not valid JSON");
	parse_bad("{\"type\":\"EOF\"}\0", 15, PP_ERR_INVALID, "not valid JSON");
	BAD("[\"EOF\"]", "JSON object");
	BAD("{\"t\":1}", "string \"type\"");
	BAD("{\"type\":5}", "string \"type\"");
	BAD("\"EOF\"", "not valid JSON");

	BAD("{\"type\":\"HELLO\",\"role\":\"desktop\"}", "\"version\"");
	BAD("{\"type\":\"HELLO\",\"version\":1.0,\"role\":\"desktop\"}", "\"version\"");
	BAD("{\"type\":\"HELLO\",\"version\":\"\",\"role\":\"desktop\"}", "\"version\"");
	BAD("{\"type\":\"HELLO\",\"version\":\"1.0 beta\",\"role\":\"desktop\"}", "\"version\"");
	BAD("{\"type\":\"HELLO\",\"version\":\"12345678901234567\",\"role\":\"desktop\"}", "\"version\"");
	BAD("{\"type\":\"HELLO\",\"version\":\"1.0\"}", "\"role\"");
	BAD("{\"type\":\"HELLO\",\"version\":\"1.0\",\"role\":\"admin\"}", "\"role\"");
	BAD("{\"type\":\"HELLO\",\"version\":\"1.0\",\"role\":\"desktop\",\"agent\":7}", "\"agent\"");
	BAD("{\"type\":\"HELLO\",\"version\":\"1.0\",\"role\":\"desktop\",\"max_datagram\":1199}", "\"max_datagram\"");
	BAD("{\"type\":\"HELLO\",\"version\":\"1.0\",\"role\":\"desktop\",\"max_datagram\":\"9000\"}", "\"max_datagram\"");
	BAD("{\"type\":\"HELLO\",\"version\":\"1.0\",\"role\":\"desktop\",\"max_datagram\":70000}", "\"max_datagram\"");
	BAD("{\"type\":\"HELLO\",\"version\":\"1.0\",\"role\":\"desktop\",\"compression\":\"zstd\"}",
	    "\"compression\"");
	BAD("{\"type\":\"HELLO\",\"version\":\"1.0\",\"role\":\"desktop\",\"compression\":[1]}",
	    "\"compression\"");
	BAD("{\"type\":\"HELLO\",\"version\":\"1.0\",\"role\":\"desktop\",\"compression\":"
	    "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}", "\"compression\"");
	char *agent = g_strdup_printf("{\"type\":\"HELLO\",\"version\":\"1.0\",\"role\":\"desktop\","
	                              "\"agent\":\"%0129d\"}", 0);
	BAD(agent, "\"agent\"");
	g_free(agent);

	BAD("{\"type\":\"SERVICES\"}", "\"services\"");
	BAD("{\"type\":\"SERVICES\",\"services\":{}}", "\"services\"");
	BAD("{\"type\":\"SERVICES\",\"services\":[5]}", "must be an object");
	BAD("{\"type\":\"SERVICES\",\"services\":[{}]}", "\"name\"");
	BAD("{\"type\":\"SERVICES\",\"services\":[{\"name\":\"\"}]}", "\"name\"");
	BAD("{\"type\":\"SERVICES\",\"services\":[{\"name\":\"a b\"}]}", "\"name\"");
	BAD("{\"type\":\"SERVICES\",\"services\":[{\"name\":\"b\\u00e4\"}]}", "\"name\"");
	BAD("{\"type\":\"SERVICES\",\"services\":[{\"name\":\"db\",\"proto\":6}]}", "\"proto\"");
	BAD("{\"type\":\"SERVICES\",\"services\":[{\"name\":\"db\",\"proto\":\"\"}]}", "\"proto\"");
	BAD("{\"type\":\"SERVICES\",\"services\":[{\"name\":\"db\",\"description\":[]}]}",
	    "\"description\"");
	BAD("{\"type\":\"SERVICES\",\"services\":[{\"name\":\"db\"},{\"name\":\"db\"}]}", "duplicate");

	BAD("{\"type\":\"ALERT\",\"signature_id\":1,\"action\":\"peer_banned\"}", "\"stream\"");
	BAD("{\"type\":\"ALERT\",\"stream\":1,\"signature_id\":1,\"action\":\"peer_banned\"}", "\"stream\"");
	BAD("{\"type\":\"ALERT\",\"stream\":\"s\",\"action\":\"peer_banned\"}", "\"signature_id\"");
	BAD("{\"type\":\"ALERT\",\"stream\":\"s\",\"signature_id\":-1,\"action\":\"x\"}", "\"signature_id\"");
	BAD("{\"type\":\"ALERT\",\"stream\":\"s\",\"signature_id\":4294967296,\"action\":\"x\"}",
	    "\"signature_id\"");
	BAD("{\"type\":\"ALERT\",\"stream\":\"s\",\"signature_id\":1.5,\"action\":\"x\"}", "\"signature_id\"");
	BAD("{\"type\":\"ALERT\",\"stream\":\"s\",\"signature_id\":1}", "\"action\"");
	BAD("{\"type\":\"ALERT\",\"stream\":\"s\",\"signature_id\":1,\"action\":true}", "\"action\"");
	BAD("{\"type\":\"ALERT\",\"stream\":\"s\",\"signature_id\":1,\"action\":\"x\",\"signature\":{}}",
	    "\"signature\"");

	BAD("{\"type\":\"PING\"}", "\"t\"");
	BAD("{\"type\":\"PING\",\"t\":\"1\"}", "\"t\"");
	BAD("{\"type\":\"PONG\",\"t\":null}", "\"t\"");
	BAD("{\"type\":\"PONG\",\"t\":true}", "\"t\"");
	BAD("{\"type\":\"PONG\",\"t\":1e300}", "\"t\"");
	BAD("{\"type\":\"PONG\",\"t\":9223372036854775808.0}", "\"t\"");
	BAD("{\"type\":\"BYE\",\"reason\":1}", "\"reason\"");
	BAD("{\"type\":\"DENIED\",\"reason\":null}", "\"reason\"");
	char *reason = g_strdup_printf("{\"type\":\"FAILED\",\"reason\":\"%0257d\"}", 0);
	BAD(reason, "\"reason\"");
	g_free(reason);
}

static void test_helpers(void)
{
	char *n64 = g_strnfill(64, 'n'), *n65 = g_strnfill(65, 'n');

	g_assert_true(pp_tunnel_service_name_valid("db"));
	g_assert_true(pp_tunnel_service_name_valid("A-z_0.9"));
	g_assert_true(pp_tunnel_service_name_valid(n64));
	g_assert_false(pp_tunnel_service_name_valid(n65));
	g_assert_false(pp_tunnel_service_name_valid(""));
	g_assert_false(pp_tunnel_service_name_valid(NULL));
	g_assert_false(pp_tunnel_service_name_valid("a b"));
	g_assert_false(pp_tunnel_service_name_valid("a/b"));
	g_assert_false(pp_tunnel_service_name_valid("bä"));
	g_free(n64);
	g_free(n65);

	g_assert_cmpint(pp_ctrl_session_version("1.1-G", "1.1-G"), ==, PP_TUNNEL_V1_1G);
	g_assert_cmpint(pp_ctrl_session_version("1.1-G", "1.0"), ==, PP_TUNNEL_V1_0);
	g_assert_cmpint(pp_ctrl_session_version("1.0", "1.1-G"), ==, PP_TUNNEL_V1_0);
	g_assert_cmpint(pp_ctrl_session_version("1.1-G", "2.0"), ==, PP_TUNNEL_V1_0);
	g_assert_cmpint(pp_ctrl_session_version("1.1-G", NULL), ==, PP_TUNNEL_V1_0);
	g_assert_cmpstr(pp_tunnel_version_name(PP_TUNNEL_V1_1G), ==, "1.1-G");
	g_assert_cmpstr(pp_tunnel_version_name(PP_TUNNEL_V1_0), ==, "1.0");
	g_assert_cmpstr(pp_ctrl_type_name(PP_CTRL_GOST_KEY), ==, "GOST_KEY");
	g_assert_cmpstr(pp_ctrl_type_name(PP_CTRL_EOF), ==, "EOF");
	g_assert_cmpstr(pp_ctrl_type_name((enum pp_ctrl_type)99), ==, "UNKNOWN");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tunnel/ctrl/build_exact", test_build_exact);
	g_test_add_func("/tunnel/ctrl/build_roundtrip", test_build_roundtrip);
	g_test_add_func("/tunnel/ctrl/services", test_services);
	g_test_add_func("/tunnel/ctrl/services_fit", test_services_fit);
	g_test_add_func("/tunnel/ctrl/lenient", test_lenient);
	g_test_add_func("/tunnel/ctrl/malformed", test_malformed);
	g_test_add_func("/tunnel/ctrl/helpers", test_helpers);
	return g_test_run();
}
