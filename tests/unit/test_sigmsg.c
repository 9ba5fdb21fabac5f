/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: signaling message schema and raw payload spans. */
#include "peerpipe/error.h"
#include "peerpipe/sigmsg.h"

#include <glib.h>
#include <string.h>

#define PEER "0123456789abcdef0123456789abcdef"

static const char *parse_fail(const char *text)
{
	struct pp_sig_msg m;
	const char *why = NULL, *ref = NULL;
	g_assert_cmpint(pp_sig_parse(text, strlen(text), &m, &why, &ref), ==, PP_ERR_INVALID);
	g_assert_nonnull(why);
	g_assert_null(m.root);
	return why;
}

static void test_join(void)
{
	const char *t = "{\"type\":\"JOIN_ROOM\",\"room\":\"office\",\"token\":\"x.y.z\","
	                "\"fingerprint\":\"sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\",\"extra\":[1]}";
	struct pp_sig_msg m;
	const char *why, *ref;
	g_assert_cmpint(pp_sig_parse(t, strlen(t), &m, &why, &ref), ==, 0);
	g_assert_cmpint(m.type, ==, PP_SIG_JOIN_ROOM);
	g_assert_cmpstr(m.room, ==, "office");
	g_assert_cmpstr(m.token, ==, "x.y.z");
	g_assert_nonnull(m.fingerprint);
	pp_sig_msg_clear(&m);
	parse_fail("{\"type\":\"JOIN_ROOM\",\"room\":\"of fice\",\"token\":\"t\"}");
	parse_fail("{\"type\":\"JOIN_ROOM\",\"room\":\"office\"}");
	parse_fail("{\"type\":\"JOIN_ROOM\",\"room\":\"office\",\"token\":\"t\",\"fingerprint\":\"md5 AB\"}");
}

static void test_relay_spans(void)
{
	const char *t = "{ \"sdp\" : {\"type\":\"offer\" , \"sdp\":\"v=0\\r\\n\\u00e9\",\"n\":1.50e+2} ,"
	                "\"type\":\"SEND_SDP\",\"to\":\"" PEER "\"}";
	struct pp_sig_msg m;
	const char *why, *ref;
	g_assert_cmpint(pp_sig_parse(t, strlen(t), &m, &why, &ref), ==, 0);
	g_assert_cmpint(m.type, ==, PP_SIG_SEND_SDP);
	g_assert_cmpstr(m.to, ==, PEER);
	const char *want = "{\"type\":\"offer\" , \"sdp\":\"v=0\\r\\n\\u00e9\",\"n\":1.50e+2}";
	g_assert_cmpmem(t + m.payload_off, m.payload_len, want, strlen(want));
	pp_sig_msg_clear(&m);

	const char *ice = "{\"type\":\"SEND_ICE\",\"to\":\"" PEER "\",\"candidate\":null}";
	g_assert_cmpint(pp_sig_parse(ice, strlen(ice), &m, &why, &ref), ==, 0);
	g_assert_cmpmem(ice + m.payload_off, m.payload_len, "null", 4);
	pp_sig_msg_clear(&m);

	/* an escaped key still names the member */
	const char *esc = "{\"type\":\"SEND_ICE\",\"to\":\"" PEER "\",\"c\\u0061ndidate\":{\"candidate\":\"candidate:1 1 udp 1 1.2.3.4 5 typ host\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}}";
	g_assert_cmpint(pp_sig_parse(esc, strlen(esc), &m, &why, &ref), ==, 0);
	g_assert_true(g_str_has_prefix(esc + m.payload_off, "{\"candidate\":\"candidate:1"));
	pp_sig_msg_clear(&m);
}

static void test_refusals(void)
{
	struct pp_sig_msg m;
	const char *why, *ref;
	const char *unknown = "{\"type\":\"HELLO\"}";
	g_assert_cmpint(pp_sig_parse(unknown, strlen(unknown), &m, &why, &ref), ==, PP_ERR_INVALID);
	g_assert_cmpstr(why, ==, "unknown message type");
	g_assert_null(ref);
	const char *bad_to = "{\"type\":\"SEND_SDP\",\"to\":\"XYZ\",\"sdp\":{\"type\":\"offer\",\"sdp\":\"v=0\"}}";
	g_assert_cmpint(pp_sig_parse(bad_to, strlen(bad_to), &m, &why, &ref), ==, PP_ERR_INVALID);
	g_assert_cmpstr(ref, ==, "SEND_SDP");

	parse_fail("");
	parse_fail("not json");
	parse_fail("[]");
	parse_fail("{\"type\":1}");
	parse_fail("{\"type\":\"LEAVE_ROOM\",\"type\":\"LEAVE_ROOM\"}");
	parse_fail("{\"type\":\"SEND_SDP\",\"to\":\"" PEER "\",\"sdp\":{\"type\":\"pranswer\",\"sdp\":\"v=0\"}}");
	parse_fail("{\"type\":\"SEND_SDP\",\"to\":\"" PEER "\",\"sdp\":{\"type\":\"offer\",\"sdp\":\"\"}}");
	parse_fail("{\"type\":\"SEND_SDP\",\"to\":\"" PEER "\",\"sdp\":\"v=0\"}");
	parse_fail("{\"type\":\"SEND_ICE\",\"to\":\"" PEER "\"}");
	parse_fail("{\"type\":\"SEND_ICE\",\"to\":\"" PEER "\",\"candidate\":{\"candidate\":5}}");
	parse_fail("{\"type\":\"SEND_ICE\",\"to\":\"" PEER "\",\"candidate\":{\"candidate\":\"c\",\"sdpMLineIndex\":-1}}");
	parse_fail("{\"type\":\"SEND_ICE\",\"to\":\"0123456789ABCDEF0123456789abcdef\",\"candidate\":null}");
	/* nesting is bounded before jansson recurses */
	GString *deep = g_string_new("{\"type\":\"LEAVE_ROOM\",\"x\":");
	for (int i = 0; i < 100; i++)
		g_string_append_c(deep, '[');
	for (int i = 0; i < 100; i++)
		g_string_append_c(deep, ']');
	g_string_append_c(deep, '}');
	g_assert_cmpstr(parse_fail(deep->str), ==, "JSON nested too deeply");
	g_string_free(deep, TRUE);
}

static void test_peek_type(void)
{
	const char *t = "{\"to\":\"x\", \"type\" : \"SEND_ICE\"}";
	g_assert_cmpstr(pp_sig_peek_type(t, strlen(t)), ==, "SEND_ICE");
	g_assert_null(pp_sig_peek_type("{\"type\":\"SEND\"}", 15));
	g_assert_null(pp_sig_peek_type("{\"type\":1}", 10));
	g_assert_null(pp_sig_peek_type("{\"type\":\"LEAVE_RO", 18));
	g_assert_null(pp_sig_peek_type("garbage", 7));
}

static void test_span_malformed(void)
{
	size_t off, len;
	g_assert_cmpint(pp_json_member_span("{}", 2, "a", &off, &len), ==, PP_ERR_NOT_FOUND);
	g_assert_cmpint(pp_json_member_span("{\"a\":", 5, "a", &off, &len), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_json_member_span("{\"a\":\"x", 7, "a", &off, &len), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_json_member_span("{\"a\":[1,{\"b\":\"]\"}] }", 20, "a", &off, &len), ==, 0);
	g_assert_cmpuint(len, ==, 13);
	g_assert_cmpint(pp_json_member_span("[1]", 3, "a", &off, &len), ==, PP_ERR_INVALID);
}

static void test_fingerprint(void)
{
	const char *ok = "sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
	g_assert_true(pp_fingerprint_valid(ok, strlen(ok)));
	g_assert_false(pp_fingerprint_valid(ok, strlen(ok) - 3));
	g_assert_false(pp_fingerprint_valid("sha-256 AB", 10));
	g_assert_false(pp_fingerprint_valid("", 0));
	char *bad = g_strdup(ok);
	bad[10] = '-';
	g_assert_false(pp_fingerprint_valid(bad, strlen(bad)));
	g_free(bad);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sigmsg/join", test_join);
	g_test_add_func("/sigmsg/relay-spans", test_relay_spans);
	g_test_add_func("/sigmsg/refusals", test_refusals);
	g_test_add_func("/sigmsg/span-malformed", test_span_malformed);
	g_test_add_func("/sigmsg/peek-type", test_peek_type);
	g_test_add_func("/sigmsg/fingerprint", test_fingerprint);
	return g_test_run();
}
