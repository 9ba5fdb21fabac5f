/* SPDX-License-Identifier: Apache-2.0 */
/* signaling.md §3-4: every message type end to end, the offer rule,
 * verbatim relay of sdp/candidate, JOINED.ice_servers with TURN REST
 * credentials. */
#include "sigpeer.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

static const char offer_sdp[] = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

static void send_sdp(SigPeer *from, SigPeer *to, const char *type)
{
	json_t *m = json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "SEND_SDP", "to", to->id,
	                      "sdp", "type", type, "sdp", offer_sdp);
	char *t = json_dumps(m, JSON_COMPACT);
	g_assert_true(ws_send_text(from->ws, t));
	free(t);
	json_decref(m);
}

static void expect_sdp(SigPeer *at, SigPeer *from, const char *type)
{
	json_t *j = sig_expect(at->ws, "FORWARD_SDP", SIG_WAIT_MS);
	g_assert_cmpstr(json_string_value(json_object_get(j, "from")), ==, from->id);
	json_t *want = json_pack("{s:s, s:s}", "type", type, "sdp", offer_sdp);
	g_assert_true(json_equal(json_object_get(j, "sdp"), want));
	json_decref(want);
	json_decref(j);
}

/* Every message type, both directions, in the order of §4's diagram. */
static void test_round_trip(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *a = sig_peer_join(s, "office", "gw1", "gateway");
	g_assert_cmpuint(json_array_size(json_object_get(a->joined, "peers")), ==, 0);
	SigPeer *b = sig_peer_join(s, "office", "alice", "desktop");
	g_assert_cmpstr(a->id, !=, b->id);

	json_t *peers = json_object_get(b->joined, "peers");
	g_assert_cmpuint(json_array_size(peers), ==, 1);
	sig_assert_peer(json_array_get(peers, 0), a);

	json_t *np = sig_expect(a->ws, "NEW_PEER", SIG_WAIT_MS);
	sig_assert_peer(json_object_get(np, "peer"), b);
	json_decref(np);

	/* offer from the existing member, answer from the newcomer */
	send_sdp(a, b, "offer");
	expect_sdp(b, a, "offer");
	send_sdp(b, a, "answer");
	expect_sdp(a, b, "answer");

	/* trickle both ways, then end-of-candidates */
	g_assert_true(sig_send_ice_marker(a->ws, b->id, "a1"));
	sig_expect_ice_marker(b->ws, a->id, "a1", SIG_WAIT_MS);
	g_assert_true(sig_send_ice_marker(b->ws, a->id, "b1"));
	sig_expect_ice_marker(a->ws, b->id, "b1", SIG_WAIT_MS);
	for (int dir = 0; dir < 2; dir++) {
		SigPeer *from = dir ? b : a, *to = dir ? a : b;
		g_assert_true(ws_send_printf(from->ws, "{\"type\":\"SEND_ICE\",\"to\":\"%s\",\"candidate\":null}", to->id));
		json_t *j = sig_expect(to->ws, "FORWARD_ICE", SIG_WAIT_MS);
		g_assert_cmpstr(json_string_value(json_object_get(j, "from")), ==, from->id);
		json_t *cand = json_object_get(j, "candidate");
		g_assert_nonnull(cand); /* present ... */
		g_assert_true(json_is_null(cand)); /* ... and null */
		json_decref(j);
	}

	/* LEAVE_ROOM: the other side hears PEER_LEFT, and b is no longer a target */
	g_assert_true(ws_send_text(b->ws, "{\"type\":\"LEAVE_ROOM\"}"));
	json_t *left = sig_expect(a->ws, "PEER_LEFT", SIG_WAIT_MS);
	g_assert_cmpstr(json_string_value(json_object_get(left, "peer_id")), ==, b->id);
	json_decref(left);
	send_sdp(a, b, "offer");
	json_decref(sig_expect_error(a->ws, "unknown_peer", "SEND_SDP", SIG_WAIT_MS));

	/* nothing else was queued for a */
	sig_expect_silence(a->ws, 300);
	sig_peer_close(a);
	sig_peer_close(b);
	sig_server_stop_clean(s);
}

/* A WebSocket close handshake also announces PEER_LEFT; a new connection
 * of the same identity gets a fresh peer_id. */
static void test_close_announces_left(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *g = sig_peer_join(s, "office", "gw1", "gateway");
	SigPeer *d = sig_peer_join(s, "office", "alice", "desktop");
	json_decref(sig_expect(g->ws, "NEW_PEER", SIG_WAIT_MS));
	char *old_id = g_strdup(d->id);
	sig_peer_close(d);
	json_t *left = sig_expect(g->ws, "PEER_LEFT", SIG_WAIT_MS);
	g_assert_cmpstr(json_string_value(json_object_get(left, "peer_id")), ==, old_id);
	json_decref(left);

	d = sig_peer_join(s, "office", "alice", "desktop");
	g_assert_cmpstr(d->id, !=, old_id);
	json_t *np = sig_expect(g->ws, "NEW_PEER", SIG_WAIT_MS);
	sig_assert_peer(json_object_get(np, "peer"), d);
	json_decref(np);
	/* the old id is dead */
	g_assert_true(sig_send_ice_marker(g->ws, old_id, "x"));
	json_decref(sig_expect_error(g->ws, "unknown_peer", "SEND_ICE", SIG_WAIT_MS));
	g_free(old_id);
	sig_peer_close(g);
	sig_peer_close(d);
	sig_server_stop_clean(s);
}

/* §4: the existing members get NEW_PEER (and offer); the newcomer only
 * gets JOINED listing them. */
static void test_offer_rule(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *g1 = sig_peer_join(s, "office", "gw1", "gateway");
	SigPeer *g2 = sig_peer_join(s, "office", "gw2", "gateway");
	json_t *np = sig_expect(g1->ws, "NEW_PEER", SIG_WAIT_MS);
	sig_assert_peer(json_object_get(np, "peer"), g2);
	json_decref(np);
	g_assert_cmpuint(json_array_size(json_object_get(g2->joined, "peers")), ==, 1);
	sig_assert_peer(json_array_get(json_object_get(g2->joined, "peers"), 0), g1);

	SigPeer *d = sig_peer_join(s, "office", "alice", "desktop");
	json_t *peers = json_object_get(d->joined, "peers");
	g_assert_cmpuint(json_array_size(peers), ==, 2);
	sig_assert_peer(sig_find_peer(peers, g1->id), g1);
	sig_assert_peer(sig_find_peer(peers, g2->id), g2);
	for (int i = 0; i < 2; i++) {
		SigPeer *g = i ? g2 : g1;
		np = sig_expect(g->ws, "NEW_PEER", SIG_WAIT_MS);
		sig_assert_peer(json_object_get(np, "peer"), d);
		json_decref(np);
	}
	/* the newcomers got nothing besides JOINED */
	sig_expect_silence(d->ws, 500);
	sig_expect_silence(g2->ws, 10);

	/* the existing member's offer reaches the newcomer */
	send_sdp(g1, d, "offer");
	expect_sdp(d, g1, "offer");
	sig_peer_close(g1);
	sig_peer_close(g2);
	sig_peer_close(d);
	sig_server_stop_clean(s);
}

/* The bytes of "sdp"/"candidate" in FORWARD_* equal the bytes sent. */
static void check_verbatim(SigPeer *from, SigPeer *to, const char *tmpl,
                           const char *key, const char *fwd_type)
{
	char **parts = g_strsplit(tmpl, "@TO@", -1);
	char *msg = g_strjoinv(to->id, parts);
	g_strfreev(parts);
	const char *sent;
	gsize sent_len;
	g_assert_true(sig_json_member_raw(msg, strlen(msg), key, &sent, &sent_len));
	/* the message is valid JSON (to be sure the test sends what it means) */
	json_t *parsed = json_loads(msg, JSON_REJECT_DUPLICATES, NULL);
	g_assert_nonnull(parsed);
	g_assert_true(ws_send_text(from->ws, msg));

	char *raw = sig_expect_raw(to->ws, fwd_type, SIG_WAIT_MS);
	const char *got;
	gsize got_len;
	g_assert_true(sig_json_member_raw(raw, strlen(raw), key, &got, &got_len));
	char *want_s = g_strndup(sent, sent_len), *got_s = g_strndup(got, got_len);
	g_test_message("sent %s: %s\nforwarded: %s", key, want_s, got_s);
	g_assert_cmpstr(got_s, ==, want_s);
	g_assert_cmpmem(got, got_len, sent, sent_len);
	json_t *fwd = sig_parse(raw);
	g_assert_cmpstr(json_string_value(json_object_get(fwd, "from")), ==, from->id);
	g_assert_true(json_equal(json_object_get(fwd, key), json_object_get(parsed, key)));
	json_decref(fwd);
	json_decref(parsed);
	g_free(want_s);
	g_free(got_s);
	g_free(raw);
	g_free(msg);
}

static void test_verbatim_relay(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *g = sig_peer_join(s, "office", "gw1", "gateway");
	SigPeer *d = sig_peer_join(s, "office", "alice", "desktop");
	json_decref(sig_expect(g->ws, "NEW_PEER", SIG_WAIT_MS));

	/* key order, spaces and newlines inside the value, escapes (\u00e9,
	 * \/, a surrogate pair, \" and \\), raw UTF-8, 1.50e+2, -0.0, unknown
	 * fields at both levels */
	check_verbatim(g, d,
	               "{ \"to\" : \"@TO@\" ,\"x-hint\":{\"a\":[1, 2]},\n"
	               "  \"sdp\" :  {  \"sdp\" : \"v=0\\r\\no=- 4611731400430051336 2 IN IP4 127.0.0.1\\r\\n"
	               "s=caf\\u00e9 \\/ \\ud83d\\ude00 \xc3\xa9 \\\"q\\\" \\\\\\r\\nt=0 0\\r\\n\" ,\n"
	               "\t\"x-unknown\" : { \"n\" : 1.50e+2, \"z\" : -0.0, \"list\" : [ true ,null, \"\\/\" ] },"
	               "   \"type\":\"offer\"   } , \"type\" : \"SEND_SDP\" }",
	               "sdp", "FORWARD_SDP");
	check_verbatim(d, g,
	               "{\"type\":\"SEND_SDP\",\"sdp\":{\"type\" :\"answer\",\"sdp\":\"v=0\\r\\n\\u0073=-\\r\\n\"},\"to\":\"@TO@\"}",
	               "sdp", "FORWARD_SDP");
	check_verbatim(g, d,
	               "{\"candidate\" : { \"sdpMLineIndex\" : 0 , \"candidate\" : "
	               "\"candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 0.0.0.0 rport 0 "
	               "generation 0 ufrag Es\\u0041w network-cost 999\", \"sdpMid\":\"0\","
	               "\"usernameFragment\" :\"Es\\u0041w\", \"x\" : {\"deep\":[[1.50e+2],[2,{\"k\":\"\\/\"}]]} },"
	               "\"type\":\"SEND_ICE\", \"to\":\"@TO@\"}",
	               "candidate", "FORWARD_ICE");
	check_verbatim(d, g,
	               "{\"type\":\"SEND_ICE\",\"to\":\"@TO@\",\"candidate\":{\"candidate\":\"\","
	               "\"sdpMid\":null,\"sdpMLineIndex\":null}}",
	               "candidate", "FORWARD_ICE");
	sig_peer_close(g);
	sig_peer_close(d);
	sig_server_stop_clean(s);
}

/* A fragmented text message (RFC 6455 §5.4) is one message. */
static void test_fragmented_message(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *g = sig_peer_join(s, "office", "gw1", "gateway");
	WsClient *ws = ws_connect(sig_server_port(s));
	char *fp = sig_fingerprint();
	char *tok = sig_token(s, "alice", "office", "desktop");
	char *join = sig_join_text("office", tok, fp);
	g_assert_true(ws_send_fragmented(ws, join, strlen(join), 5));
	json_t *j = sig_expect(ws, "JOINED", SIG_WAIT_MS);
	const char *id = json_string_value(json_object_get(j, "peer_id"));
	g_assert_true(sig_is_peer_id(id));
	json_t *np = sig_expect(g->ws, "NEW_PEER", SIG_WAIT_MS);
	g_assert_cmpstr(json_string_value(json_object_get(json_object_get(np, "peer"), "peer_id")), ==, id);
	/* a ping between fragments is allowed and answered */
	char *ice = g_strdup_printf("{\"type\":\"SEND_ICE\",\"to\":\"%s\",\"candidate\":null}", g->id);
	gsize half = strlen(ice) / 2;
	g_assert_true(ws_send_frame(ws, FALSE, WS_OP_TEXT, ice, half));
	g_assert_true(ws_send_ping(ws, "hi", 2));
	g_assert_true(ws_send_frame(ws, TRUE, WS_OP_CONT, ice + half, strlen(ice) - half));
	json_t *f = sig_expect(g->ws, "FORWARD_ICE", SIG_WAIT_MS);
	g_assert_cmpstr(json_string_value(json_object_get(f, "from")), ==, id);
	g_assert_true(json_is_null(json_object_get(f, "candidate")));
	sig_expect_silence(ws, 300);
	g_assert_cmpuint(ws_pongs_received(ws), ==, 1);
	json_decref(f);
	json_decref(np);
	json_decref(j);
	g_free(ice);
	g_free(join);
	g_free(tok);
	g_free(fp);
	ws_close(ws);
	sig_peer_close(g);
	sig_server_stop_clean(s);
}

static gboolean turn_entry_ok(json_t *e, const char *turn_secret, const char *name,
                              gint64 now, gint64 ttl)
{
	const char *user = json_string_value(json_object_get(e, "username"));
	const char *cred = json_string_value(json_object_get(e, "credential"));
	g_assert_nonnull(user);
	g_assert_nonnull(cred);
	char *colon = strchr(user, ':');
	g_assert_nonnull(colon);
	g_assert_cmpstr(colon + 1, ==, name);
	gint64 expiry = g_ascii_strtoll(user, NULL, 10);
	g_assert_cmpint(expiry, >=, now + ttl - 60);
	g_assert_cmpint(expiry, <=, now + ttl + 60);
	unsigned char mac[20];
	unsigned int maclen = 0;
	HMAC(EVP_sha1(), turn_secret, (int)strlen(turn_secret), (const unsigned char *)user,
	     strlen(user), mac, &maclen);
	char *want = g_base64_encode(mac, maclen);
	g_assert_cmpstr(cred, ==, want);
	g_free(want);
	return TRUE;
}

/* JOINED.ice_servers: RTCIceServer shape, TURN REST credentials. */
static void test_ice_servers(void)
{
	static const char turn_secret[] = "turn-static-auth-secret-for-tests";
	SigServer *s = sig_server_new();
	const char *tpath = sig_server_write_file(s, "turn.secret", turn_secret, -1);
	char *tset = g_strdup_printf("ice.turn_secret_file=%s", tpath);
	sig_server_add_args(s, "--set", "ice.stun_urls=stun:stun.example:3478",
	                    "--set", "ice.turn_urls=turn:turn.example:3478?transport=udp,turns:turn.example:5349?transport=tcp",
	                    "--set", tset, "--set", "ice.turn_ttl=2h", NULL);
	g_free(tset);
	sig_server_run(s);
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	SigPeer *p = sig_peer_join(s, "office", "alice", "desktop");
	json_t *ice = json_object_get(p->joined, "ice_servers");
	char *dump = json_dumps(ice, 0);
	g_test_message("ice_servers: %s", dump);
	free(dump);
	gboolean stun = FALSE, turn_udp = FALSE, turns_tcp = FALSE;
	size_t i, k;
	json_t *e, *u;
	json_array_foreach(ice, i, e) {
		json_t *urls = json_object_get(e, "urls");
		g_assert_true(json_is_array(urls));
		g_assert_cmpuint(json_array_size(urls), >, 0);
		gboolean is_turn = FALSE;
		json_array_foreach(urls, k, u) {
			const char *url = json_string_value(u);
			g_assert_nonnull(url);
			if (strcmp(url, "stun:stun.example:3478") == 0) {
				stun = TRUE;
			} else if (strcmp(url, "turn:turn.example:3478?transport=udp") == 0) {
				turn_udp = is_turn = TRUE;
			} else if (strcmp(url, "turns:turn.example:5349?transport=tcp") == 0) {
				turns_tcp = is_turn = TRUE;
			} else {
				g_test_message("unexpected url %s", url);
				g_assert_not_reached();
			}
		}
		if (is_turn)
			g_assert_true(turn_entry_ok(e, turn_secret, "alice", now, 7200));
		else
			g_assert_null(json_object_get(e, "credential"));
	}
	g_assert_true(stun);
	g_assert_true(turn_udp);
	g_assert_true(turns_tcp);
	sig_peer_close(p);
	sig_server_stop_clean(s);
}

int main(int argc, char **argv)
{
	sig_test_init(&argc, &argv);
	g_test_add_func("/signal/flow/round-trip", test_round_trip);
	g_test_add_func("/signal/flow/close-announces-left", test_close_announces_left);
	g_test_add_func("/signal/flow/offer-rule", test_offer_rule);
	g_test_add_func("/signal/flow/verbatim-relay", test_verbatim_relay);
	g_test_add_func("/signal/flow/fragmented-message", test_fragmented_message);
	g_test_add_func("/signal/flow/ice-servers", test_ice_servers);
	return g_test_run();
}
