/* SPDX-License-Identifier: Apache-2.0 */
/* signaling.md §3 error codes and signal-server.md's choices: bad_request
 * keeps the connection, already_joined, not_joined, unknown_peer,
 * room_full, rate_limited (then 1008), too large (1009). */
#include "sigpeer.h"

#include <string.h>

/* The connection still relays: from -> to arrives. */
static void assert_relays(SigPeer *from, SigPeer *to, const char *marker)
{
	g_assert_true(sig_send_ice_marker(from->ws, to->id, marker));
	sig_expect_ice_marker(to->ws, from->id, marker, SIG_WAIT_MS);
}

static void test_bad_request(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *a = sig_peer_join(s, "office", "gw1", "gateway");
	SigPeer *b = sig_peer_join(s, "office", "alice", "desktop");
	json_decref(sig_expect(a->ws, "NEW_PEER", SIG_WAIT_MS));

	static const struct {
		const char *text; /* @TO@ becomes b's id */
		const char *ref;  /* NULL: absent, "*": the unknown type or absent */
	} cases[] = {
		{ "this is not JSON", NULL },
		{ "{\"type\":\"SEND_ICE\",\"to\":\"@TO@\",\"candidate\":null", NULL }, /* truncated */
		{ "[\"SEND_ICE\"]", NULL },
		{ "\"SEND_ICE\"", NULL },
		{ "{}", NULL },
		{ "{\"type\":5}", NULL },
		{ "{\"type\":null}", NULL },
		{ "{\"type\":\"HELLO\",\"to\":\"@TO@\"}", "*" },
		{ "{\"type\":\"send_sdp\",\"to\":\"@TO@\",\"sdp\":{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}}", "*" },
		{ "{\"type\":\"SEND_SDP\",\"sdp\":{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}}", "SEND_SDP" },
		{ "{\"type\":\"SEND_SDP\",\"to\":\"@TO@\"}", "SEND_SDP" },
		{ "{\"type\":\"SEND_SDP\",\"to\":123,\"sdp\":{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}}", "SEND_SDP" },
		{ "{\"type\":\"SEND_SDP\",\"to\":\"@TO@\",\"sdp\":\"v=0\\r\\n\"}", "SEND_SDP" },
		{ "{\"type\":\"SEND_SDP\",\"to\":\"@TO@\",\"sdp\":{\"type\":\"offer\"}}", "SEND_SDP" },
		{ "{\"type\":\"SEND_SDP\",\"to\":\"@TO@\",\"sdp\":{\"type\":\"pranswer\",\"sdp\":\"v=0\\r\\n\"}}", "SEND_SDP" },
		{ "{\"type\":\"SEND_ICE\",\"to\":\"@TO@\"}", "SEND_ICE" },
		{ "{\"type\":\"SEND_ICE\",\"to\":\"@TO@\",\"candidate\":42}", "SEND_ICE" },
		{ "{\"type\":\"SEND_ICE\",\"to\":[\"@TO@\"],\"candidate\":null}", "SEND_ICE" },
		{ "{\"type\":\"SEND_ICE\",\"to\":\"@TO@\",\"candidate\":{\"sdpMid\":\"0\"}}", "SEND_ICE" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		char **parts = g_strsplit(cases[i].text, "@TO@", -1);
		char *msg = g_strjoinv(b->id, parts);
		g_strfreev(parts);
		g_test_message("case %zu: %s", i, msg);
		g_assert_true(ws_send_text(a->ws, msg));
		json_t *e = sig_expect_error(a->ws, "bad_request", cases[i].ref, SIG_WAIT_MS);
		if (cases[i].ref && strcmp(cases[i].ref, "*") == 0) {
			json_t *r = json_object_get(e, "ref");
			json_t *m = json_loads(msg, 0, NULL);
			g_assert_true(r == NULL || json_is_null(r) ||
			              json_equal(r, json_object_get(m, "type")));
			json_decref(m);
		}
		json_decref(e);
		g_free(msg);
		/* the connection stays open and still works; b heard nothing else */
		char marker[16];
		g_snprintf(marker, sizeof(marker), "after%zu", i);
		assert_relays(a, b, marker);
	}
	sig_peer_close(a);
	sig_peer_close(b);
	sig_server_stop_clean(s);
}

static void test_bad_request_before_join(void)
{
	SigServer *s = sig_server_start(NULL);
	WsClient *ws = ws_connect(sig_server_port(s));
	g_assert_true(ws_send_text(ws, "{\"type\":"));
	json_decref(sig_expect_error(ws, "bad_request", NULL, SIG_WAIT_MS));
	/* JOIN_ROOM with a mistyped room */
	g_assert_true(ws_send_text(ws, "{\"type\":\"JOIN_ROOM\",\"room\":7,\"token\":\"x\"}"));
	json_decref(sig_expect_error(ws, "bad_request", "JOIN_ROOM", SIG_WAIT_MS));
	/* still open: a proper join works */
	SigPeer *p = sig_peer_join_on(ws, s, "office", "gw1", "gateway");
	sig_peer_close(p);
	sig_server_stop_clean(s);
}

static void test_already_joined(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *a = sig_peer_join(s, "office", "gw1", "gateway");
	SigPeer *b = sig_peer_join(s, "office", "alice", "desktop");
	json_decref(sig_expect(a->ws, "NEW_PEER", SIG_WAIT_MS));

	char *fp = sig_fingerprint();
	char *tok = sig_token(s, "alice", "office", "desktop");
	char *join = sig_join_text("office", tok, fp);
	g_assert_true(ws_send_text(b->ws, join));
	json_decref(sig_expect_error(b->ws, "already_joined", "JOIN_ROOM", SIG_WAIT_MS));
	g_free(join);
	g_free(tok);
	tok = sig_token(s, "alice", "lab", "desktop");
	join = sig_join_text("lab", tok, fp);
	g_assert_true(ws_send_text(b->ws, join));
	json_decref(sig_expect_error(b->ws, "already_joined", "JOIN_ROOM", SIG_WAIT_MS));
	g_free(join);
	g_free(tok);
	g_free(fp);

	/* b is still the same member of office: a was told nothing new */
	assert_relays(b, a, "still");
	assert_relays(a, b, "there");
	sig_expect_silence(a->ws, 200);
	sig_peer_close(a);
	sig_peer_close(b);
	sig_server_stop_clean(s);
}

static void test_not_joined(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *g = sig_peer_join(s, "office", "gw1", "gateway");
	WsClient *ws = ws_connect(sig_server_port(s));
	g_assert_true(ws_send_printf(ws, "{\"type\":\"SEND_SDP\",\"to\":\"%s\",\"sdp\":"
	                             "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}}", g->id));
	json_decref(sig_expect_error(ws, "not_joined", "SEND_SDP", SIG_WAIT_MS));
	g_assert_true(sig_send_ice_marker(ws, g->id, "early"));
	json_decref(sig_expect_error(ws, "not_joined", "SEND_ICE", SIG_WAIT_MS));
	g_assert_true(ws_send_text(ws, "{\"type\":\"LEAVE_ROOM\"}"));
	json_decref(sig_expect_error(ws, "not_joined", "LEAVE_ROOM", SIG_WAIT_MS));
	/* the gateway received none of it */
	sig_expect_silence(g->ws, 200);
	/* the connection can still join */
	SigPeer *d = sig_peer_join_on(ws, s, "office", "alice", "desktop");
	json_t *np = sig_expect(g->ws, "NEW_PEER", SIG_WAIT_MS);
	sig_assert_peer(json_object_get(np, "peer"), d);
	json_decref(np);
	sig_peer_close(d);
	sig_peer_close(g);
	sig_server_stop_clean(s);
}

static void test_room_full(void)
{
	SigServer *s = sig_server_start("--set", "limits.room_max_peers=2", NULL);
	SigPeer *a = sig_peer_join(s, "office", "gw1", "gateway");
	SigPeer *b = sig_peer_join(s, "office", "alice", "desktop");
	json_decref(sig_expect(a->ws, "NEW_PEER", SIG_WAIT_MS));

	WsClient *ws = ws_connect(sig_server_port(s));
	char *fp = sig_fingerprint();
	char *tok = sig_token(s, "gw2", "office", "gateway");
	char *join = sig_join_text("office", tok, fp);
	g_assert_true(ws_send_text(ws, join));
	json_decref(sig_expect_error(ws, "room_full", "JOIN_ROOM", SIG_WAIT_MS));
	g_free(join);
	g_free(tok);
	g_free(fp);
	ws_close(ws);
	/* nobody in the room heard of it */
	sig_expect_silence(a->ws, 300);
	sig_expect_silence(b->ws, 10);

	/* the limit is per room */
	SigPeer *l1 = sig_peer_join(s, "lab", "gw2", "gateway");
	SigPeer *l2 = sig_peer_join(s, "lab", "bob", "desktop");
	/* and frees up when a member leaves */
	sig_peer_close(b);
	json_decref(sig_expect(a->ws, "PEER_LEFT", SIG_WAIT_MS));
	SigPeer *c = sig_peer_join(s, "office", "gw3", "gateway");
	json_t *np = sig_expect(a->ws, "NEW_PEER", SIG_WAIT_MS);
	sig_assert_peer(json_object_get(np, "peer"), c);
	json_decref(np);
	sig_peer_close(a);
	sig_peer_close(c);
	sig_peer_close(l1);
	sig_peer_close(l2);
	sig_server_stop_clean(s);
}

/* Flood: 50/s with a burst of 200, then ERROR rate_limited; after 50
 * refused in a row, close 1008. The accepted ones arrive in order. */
static void test_rate_limited_flood(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *a = sig_peer_join(s, "office", "alice", "desktop"); /* signaling.md's limits */
	SigPeer *b = sig_peer_join(s, "office", "gw1", "gateway");
	json_decref(sig_expect(a->ws, "NEW_PEER", SIG_WAIT_MS));

	guint sent = 0;
	gint64 t0 = ws_now_ms();
	for (guint i = 0; i < 1000; i++) {
		char marker[16];
		g_snprintf(marker, sizeof(marker), "f%u", i);
		if (!sig_send_ice_marker(a->ws, b->id, marker))
			break;
		sent++;
	}
	gint64 flood_ms = ws_now_ms() - t0;
	g_test_message("sent %u messages in %" G_GINT64_FORMAT " ms", sent, flood_ms);
	g_assert_cmpuint(sent, >=, 250);

	json_decref(sig_expect_error(a->ws, "rate_limited", "SEND_ICE", SIG_WAIT_MS));
	guint skipped = 0;
	int code = ws_recv_close(a->ws, 5000, &skipped);
	g_test_message("close %d after %u more messages", code, skipped);
	if (code == WS_CLOSE_EOF) {
		/* The server sends 1008 and closes, but the rest of our flood is
		 * still unread in its socket: TCP answers that with a reset, and a
		 * reset discards whatever we had not read yet, close frame
		 * included. Which comes first is a race; the connection ended
		 * either way, after rate_limited. */
		g_test_message("closed with a reset (flood unread at the server)");
	} else {
		g_assert_cmpint(code, ==, 1008);
		g_assert_true(ws_wait_eof(a->ws, 3000));
	}

	/* b got the accepted ones, in order (the bucket refills during the
	 * flood, so there may be gaps), then PEER_LEFT */
	guint got = 0;
	gint64 last = -1;
	static const char prefix[] = "candidate:1 1 udp 2122260223 10.0.0.2 54321 typ host ufrag f";
	for (;;) {
		char *t = ws_recv_text(b->ws, SIG_WAIT_MS);
		g_assert_nonnull(t);
		json_t *j = sig_parse(t);
		g_free(t);
		const char *type = json_string_value(json_object_get(j, "type"));
		if (strcmp(type, "PEER_LEFT") == 0) {
			g_assert_cmpstr(json_string_value(json_object_get(j, "peer_id")), ==, a->id);
			json_decref(j);
			break;
		}
		g_assert_cmpstr(type, ==, "FORWARD_ICE");
		const char *cand = json_string_value(json_object_get(json_object_get(j, "candidate"), "candidate"));
		g_assert_nonnull(cand);
		g_assert_true(g_str_has_prefix(cand, prefix));
		gint64 n = g_ascii_strtoll(cand + strlen(prefix), NULL, 10);
		g_assert_cmpint(n, >, last);
		g_assert_cmpint(n, <, sent);
		last = n;
		got++;
		json_decref(j);
	}
	g_test_message("b received %u of %u", got, sent);
	g_assert_cmpuint(got, >=, 190);
	g_assert_cmpuint(got, <=, 200 + 50 * (flood_ms / 1000 + 2));
	ws_free(a->ws);
	sig_peer_free(a);
	/* b is unharmed */
	SigPeer *c = sig_peer_join(s, "office", "gw2", "gateway");
	json_decref(sig_expect(b->ws, "NEW_PEER", SIG_WAIT_MS));
	assert_relays(c, b, "ok");
	sig_peer_close(b);
	sig_peer_close(c);
	sig_server_stop_clean(s);
}

/* A gateway's messages grow with its peers: limits.gateway_rate/burst
 * (500/2000) apply to it once its token says gateway, and JOINED.limits
 * tells each peer its own. 600 messages at once (three desktop bursts):
 * none refused, all relayed in order. */
static void test_rate_gateway(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *a = sig_peer_join(s, "office", "gw1", "gateway");
	SigPeer *b = sig_peer_join(s, "office", "alice", "desktop");
	json_decref(sig_expect(a->ws, "NEW_PEER", SIG_WAIT_MS));
	json_t *la = json_object_get(a->joined, "limits"), *lb = json_object_get(b->joined, "limits");
	g_assert_cmpint(json_integer_value(json_object_get(la, "rate")), ==, 500);
	g_assert_cmpint(json_integer_value(json_object_get(la, "burst")), ==, 2000);
	g_assert_cmpint(json_integer_value(json_object_get(lb, "rate")), ==, 50);
	g_assert_cmpint(json_integer_value(json_object_get(lb, "burst")), ==, 200);

	for (guint i = 0; i < 600; i++) {
		char marker[16];
		g_snprintf(marker, sizeof(marker), "g%u", i);
		g_assert_true(sig_send_ice_marker(a->ws, b->id, marker));
	}
	for (guint i = 0; i < 600; i++) {
		char *t = ws_recv_text(b->ws, SIG_WAIT_MS), want[24];
		g_assert_nonnull(t);
		json_t *j = sig_parse(t);
		g_free(t);
		g_assert_cmpstr(json_string_value(json_object_get(j, "type")), ==, "FORWARD_ICE");
		g_snprintf(want, sizeof(want), "ufrag g%u", i);
		g_assert_true(g_str_has_suffix(json_string_value(json_object_get(
			json_object_get(j, "candidate"), "candidate")), want));
		json_decref(j);
	}
	sig_expect_silence(a->ws, 300); /* no ERROR rate_limited */
	sig_peer_close(a);
	sig_peer_close(b);
	sig_server_stop_clean(s);
}

/* A flood that goes on, though not in a row: one message every 20 ms
 * against 10/s, so accepted and refused ones alternate once the burst is
 * spent. The refusals add up and the connection closes with 1008; counted
 * "in a row" they never would. */
static void test_rate_limited_sustained(void)
{
	SigServer *s = sig_server_start("--set", "limits.rate=10", "--set", "limits.burst=10",
	                                "--set", "limits.rate_limit_close=20", NULL);
	SigPeer *a = sig_peer_join(s, "office", "alice", "desktop"); /* signaling.md's limits */
	SigPeer *b = sig_peer_join(s, "office", "gw1", "gateway");
	json_decref(sig_expect(a->ws, "NEW_PEER", SIG_WAIT_MS));
	guint sent = 0, refused = 0, accepted_between = 0;
	gboolean closed = FALSE, last_refused = FALSE;
	int code = 0;

	while (!closed && sent < 500) {
		if (!sig_send_ice_marker(a->ws, b->id, "steady"))
			break;
		sent++;
		g_usleep(20 * 1000);
		for (;;) { /* what the server said so far */
			char *p = NULL;
			WsEvent ev = ws_recv(a->ws, 0, &p, NULL, &code);
			if (ev == WS_EV_TEXT) {
				refused++;
				last_refused = TRUE;
			} else if (ev == WS_EV_CLOSE || ev == WS_EV_EOF) {
				closed = TRUE;
			}
			g_free(p);
			if (ev != WS_EV_TEXT)
				break;
		}
		while (ws_recv(b->ws, 0, NULL, NULL, NULL) == WS_EV_TEXT) {
			accepted_between += last_refused; /* an accepted one after a refusal */
			last_refused = FALSE;
		}
	}
	g_test_message("closed=%d (code %d) after %u sent, %u refused, %u accepted after a refusal",
	               closed, code, sent, refused, accepted_between);
	g_assert_true(closed);
	g_assert_cmpuint(accepted_between, >, 0); /* not a run of refusals */
	g_assert_cmpuint(sent, <, 500);
	ws_free(a->ws);
	sig_peer_free(a);
	sig_peer_close(b);
	sig_server_stop_clean(s);
}

/* A short burst over the limit is refused but not punished with a close. */
static void test_rate_limited_burst(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *a = sig_peer_join(s, "office", "alice", "desktop"); /* signaling.md's limits */
	SigPeer *b = sig_peer_join(s, "office", "gw1", "gateway");
	json_decref(sig_expect(a->ws, "NEW_PEER", SIG_WAIT_MS));
	for (guint i = 0; i < 235; i++)
		g_assert_true(sig_send_ice_marker(a->ws, b->id, "burst"));
	json_decref(sig_expect_error(a->ws, "rate_limited", "SEND_ICE", SIG_WAIT_MS));
	/* drain the other refusals, stay open */
	guint refused = 1;
	for (;;) {
		char *p = NULL;
		int code = 0;
		WsEvent ev = ws_recv(a->ws, 500, &p, NULL, &code);
		if (ev == WS_EV_TIMEOUT)
			break;
		if (ev != WS_EV_TEXT)
			g_test_message("after %u refusals: event %d, close code %d", refused, ev, code);
		g_assert_cmpint(ev, ==, WS_EV_TEXT);
		json_t *j = sig_parse(p);
		g_assert_cmpstr(json_string_value(json_object_get(j, "code")), ==, "rate_limited");
		json_decref(j);
		g_free(p);
		refused++;
	}
	g_test_message("%u refused", refused);
	g_assert_cmpuint(refused, <, 50);
	/* drain b, then after a pause a works normally */
	guint fwd = 0;
	while (ws_recv(b->ws, 300, NULL, NULL, NULL) == WS_EV_TEXT)
		fwd++;
	g_assert_cmpuint(fwd + refused, ==, 235);
	g_usleep(1000 * 1000);
	assert_relays(a, b, "calm");
	sig_peer_close(a);
	sig_peer_close(b);
	sig_server_stop_clean(s);
}

/* {"type":"SEND_ICE","to":ID,"candidate":{"candidate":"aaa..."}} of total bytes. */
static char *ice_of_size(const char *to, gsize total)
{
	char *pre = g_strdup_printf("{\"type\":\"SEND_ICE\",\"to\":\"%s\",\"candidate\":{\"candidate\":\"", to);
	static const char post[] = "\"}}";
	gsize pl = strlen(pre), tl = strlen(post);
	g_assert_cmpuint(total, >, pl + tl);
	char *m = g_malloc(total + 1);
	memcpy(m, pre, pl);
	memset(m + pl, 'a', total - pl - tl);
	memcpy(m + total - tl, post, tl);
	m[total] = '\0';
	g_free(pre);
	return m;
}

/* Too large: close 1009, optionally after ERROR too_large. */
static void expect_too_large(WsClient *ws)
{
	char *p = NULL;
	int code = 0;
	WsEvent ev = ws_recv(ws, 5000, &p, NULL, &code);
	if (ev == WS_EV_TEXT) {
		g_test_message("before the close: %s", p);
		json_t *j = sig_parse(p);
		g_assert_cmpstr(json_string_value(json_object_get(j, "type")), ==, "ERROR");
		g_assert_cmpstr(json_string_value(json_object_get(j, "code")), ==, "too_large");
		json_decref(j);
		g_free(p);
		p = NULL;
		ev = ws_recv(ws, 5000, &p, NULL, &code);
	}
	g_free(p);
	g_assert_cmpint(ev, ==, WS_EV_CLOSE);
	g_assert_cmpint(code, ==, 1009);
}

static void test_too_large(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *a = sig_peer_join(s, "office", "gw1", "gateway");
	SigPeer *b = sig_peer_join(s, "office", "alice", "desktop");
	json_decref(sig_expect(a->ws, "NEW_PEER", SIG_WAIT_MS));

	/* 64 KiB - 1: within the limit; relayed (or at worst bad_request), never closed */
	char *m = ice_of_size(b->id, 64 * 1024 - 1);
	g_assert_true(ws_send_text(a->ws, m));
	char *p = NULL;
	gsize len = 0;
	WsEvent ev = ws_recv(b->ws, SIG_WAIT_MS, &p, &len, NULL);
	if (ev == WS_EV_TEXT) {
		g_test_message("64 KiB - 1: relayed (%zu bytes forwarded)", len);
		json_t *j = sig_parse(p);
		g_assert_cmpstr(json_string_value(json_object_get(j, "type")), ==, "FORWARD_ICE");
		json_t *sent = json_loads(m, 0, NULL);
		g_assert_true(json_equal(json_object_get(j, "candidate"), json_object_get(sent, "candidate")));
		json_decref(sent);
		json_decref(j);
		sig_expect_silence(a->ws, 200);
	} else {
		g_test_message("64 KiB - 1: not relayed");
		g_assert_cmpint(ev, ==, WS_EV_TIMEOUT);
		json_decref(sig_expect_error(a->ws, "bad_request", "*", SIG_WAIT_MS));
	}
	g_free(p);
	g_free(m);
	assert_relays(a, b, "after-64k-1");

	/* 65 KiB: closed with 1009, b hears PEER_LEFT */
	SigPeer *c = sig_peer_join(s, "office", "gw2", "gateway");
	json_decref(sig_expect(b->ws, "NEW_PEER", SIG_WAIT_MS));
	json_decref(sig_expect(a->ws, "NEW_PEER", SIG_WAIT_MS));
	m = ice_of_size(b->id, 65 * 1024);
	ws_send_text(c->ws, m); /* may fail part way: the server can close early */
	g_free(m);
	expect_too_large(c->ws);
	json_t *left = sig_wait_for(b->ws, "PEER_LEFT", SIG_WAIT_MS, NULL);
	g_assert_cmpstr(json_string_value(json_object_get(left, "peer_id")), ==, c->id);
	json_decref(left);
	left = sig_expect(a->ws, "PEER_LEFT", SIG_WAIT_MS);
	g_assert_cmpstr(json_string_value(json_object_get(left, "peer_id")), ==, c->id);
	json_decref(left);
	ws_free(c->ws);
	sig_peer_free(c);

	assert_relays(b, a, "survivors");
	sig_peer_close(a);
	sig_peer_close(b);
	sig_server_stop_clean(s);
}

static void test_too_large_boundary(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *a = sig_peer_join(s, "office", "gw1", "gateway");
	/* exactly 64 KiB + 1 */
	char *m = ice_of_size(a->id, 64 * 1024 + 1);
	ws_send_text(a->ws, m);
	g_free(m);
	expect_too_large(a->ws);
	ws_free(a->ws);
	sig_peer_free(a);

	/* many small fragments adding up to more than 64 KiB */
	SigPeer *f = sig_peer_join(s, "office", "gw2", "gateway");
	m = ice_of_size(f->id, 80 * 1024);
	ws_send_fragmented(f->ws, m, strlen(m), 40);
	g_free(m);
	expect_too_large(f->ws);
	ws_free(f->ws);
	sig_peer_free(f);

	/* before JOIN as well */
	WsClient *ws = ws_connect(sig_server_port(s));
	m = g_malloc(70 * 1024);
	memset(m, ' ', 70 * 1024);
	ws_send_text_len(ws, m, 70 * 1024);
	g_free(m);
	expect_too_large(ws);
	ws_free(ws);
	sig_server_stop_clean(s);
}

int main(int argc, char **argv)
{
	sig_test_init(&argc, &argv);
	g_test_add_func("/signal/errors/bad-request", test_bad_request);
	g_test_add_func("/signal/errors/bad-request-before-join", test_bad_request_before_join);
	g_test_add_func("/signal/errors/already-joined", test_already_joined);
	g_test_add_func("/signal/errors/not-joined", test_not_joined);
	g_test_add_func("/signal/errors/room-full", test_room_full);
	g_test_add_func("/signal/errors/rate-limited-flood", test_rate_limited_flood);
	g_test_add_func("/signal/errors/rate-limited-sustained", test_rate_limited_sustained);
	g_test_add_func("/signal/errors/rate-limited-burst", test_rate_limited_burst);
	g_test_add_func("/signal/errors/rate-gateway", test_rate_gateway);
	g_test_add_func("/signal/errors/too-large", test_too_large);
	g_test_add_func("/signal/errors/too-large-boundary", test_too_large_boundary);
	return g_test_run();
}
