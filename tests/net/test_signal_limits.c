/* SPDX-License-Identifier: Apache-2.0 */
/* Connection limits: binary frames (1003), join timeout (1008), pings,
 * peers that vanish without a close frame. */
#include "sigpeer.h"

#include <string.h>

static void test_binary_frame(void)
{
	SigServer *s = sig_server_start(NULL);
	/* before JOIN */
	WsClient *ws = ws_connect(sig_server_port(s));
	g_assert_true(ws_send_binary(ws, "\x01\x02\x03", 3));
	sig_expect_close(ws, 1003, SIG_WAIT_MS);
	g_assert_true(ws_wait_eof(ws, SIG_WAIT_MS));
	ws_free(ws);

	/* after JOIN: closed, and the partner hears PEER_LEFT */
	SigPeer *g = sig_peer_join(s, "office", "gw1", "gateway");
	SigPeer *d = sig_peer_join(s, "office", "alice", "desktop");
	json_decref(sig_expect(g->ws, "NEW_PEER", SIG_WAIT_MS));
	static const char json_bin[] = "{\"type\":\"LEAVE_ROOM\"}";
	g_assert_true(ws_send_binary(d->ws, json_bin, strlen(json_bin)));
	sig_expect_close(d->ws, 1003, SIG_WAIT_MS);
	json_t *left = sig_expect(g->ws, "PEER_LEFT", SIG_WAIT_MS);
	g_assert_cmpstr(json_string_value(json_object_get(left, "peer_id")), ==, d->id);
	json_decref(left);
	ws_free(d->ws);
	sig_peer_free(d);
	sig_peer_close(g);
	sig_server_stop_clean(s);
}

/* Measures how long until the server closes an idle connection. */
static gint64 idle_close_ms(SigServer *s, int expect_code, int timeout_ms)
{
	WsClient *ws = ws_connect(sig_server_port(s));
	gint64 t0 = ws_now_ms();
	int code = ws_recv_close(ws, timeout_ms, NULL);
	gint64 dt = ws_now_ms() - t0;
	g_test_message("closed with %d after %" G_GINT64_FORMAT " ms", code, dt);
	g_assert_cmpint(code, ==, expect_code);
	g_assert_true(ws_wait_eof(ws, SIG_WAIT_MS));
	ws_free(ws);
	return dt;
}

/* The real default: 10 s. */
static void test_join_timeout_default(void)
{
	SigServer *s = sig_server_start(NULL);
	gint64 dt = idle_close_ms(s, 1008, 14000);
	g_assert_cmpint(dt, >=, 9000);
	g_assert_cmpint(dt, <=, 12500);
	sig_server_stop_clean(s);
}

static void test_join_timeout_configured(void)
{
	SigServer *s = sig_server_start("--set", "limits.join_timeout=1s", NULL);
	gint64 dt = idle_close_ms(s, 1008, 5000);
	g_assert_cmpint(dt, >=, 700);
	g_assert_cmpint(dt, <=, 3000);

	/* messages that are not a JOIN do not count */
	WsClient *ws = ws_connect(sig_server_port(s));
	gint64 t0 = ws_now_ms();
	g_assert_true(ws_send_text(ws, "nonsense"));
	json_decref(sig_expect_error(ws, "bad_request", NULL, SIG_WAIT_MS));
	g_assert_true(ws_send_text(ws, "{\"type\":\"LEAVE_ROOM\"}"));
	json_decref(sig_expect_error(ws, "not_joined", "LEAVE_ROOM", SIG_WAIT_MS));
	g_assert_cmpint(ws_recv_close(ws, 5000, NULL), ==, 1008);
	g_assert_cmpint(ws_now_ms() - t0, <=, 3000);
	ws_free(ws);

	/* a peer that joined in time stays */
	SigPeer *g = sig_peer_join(s, "office", "gw1", "gateway");
	SigPeer *d = sig_peer_join(s, "office", "alice", "desktop");
	json_decref(sig_expect(g->ws, "NEW_PEER", SIG_WAIT_MS));
	sig_expect_silence(d->ws, 2500);
	g_assert_true(sig_send_ice_marker(d->ws, g->id, "alive"));
	sig_expect_ice_marker(g->ws, d->id, "alive", SIG_WAIT_MS);
	sig_peer_close(g);
	sig_peer_close(d);
	sig_server_stop_clean(s);
}

/* A peer that does not answer pings is dropped and announced; one that
 * answers stays. */
static void test_ping_timeout(void)
{
	SigServer *s = sig_server_start("--set", "limits.ping_interval=1s",
	                                "--set", "limits.ping_timeout=2s", NULL);
	SigPeer *b = sig_peer_join(s, "office", "alice", "desktop");
	SigPeer *a = sig_peer_join(s, "office", "gw1", "gateway");
	json_decref(sig_expect(b->ws, "NEW_PEER", SIG_WAIT_MS));
	ws_set_auto_pong(a->ws, FALSE);
	gint64 t0 = ws_now_ms();

	/* a reads (so it sees the pings) but never answers; b reads and
	 * answers its own pings meanwhile */
	gint64 dropped_at = 0, left_at = 0;
	while (ws_now_ms() - t0 < 9000 && (!dropped_at || !left_at)) {
		char *p = NULL;
		WsEvent ev;
		if (!dropped_at) {
			ev = ws_recv(a->ws, 50, &p, NULL, NULL);
			if (ev == WS_EV_CLOSE || ev == WS_EV_EOF) {
				dropped_at = ws_now_ms() - t0;
			} else {
				if (ev != WS_EV_TIMEOUT)
					g_test_message("a got %d: %s", ev, p);
				g_assert_cmpint(ev, ==, WS_EV_TIMEOUT);
			}
			g_free(p);
			p = NULL;
		}
		if (!left_at) {
			ev = ws_recv(b->ws, 50, &p, NULL, NULL);
			if (ev == WS_EV_TEXT) {
				json_t *j = sig_parse(p);
				g_assert_cmpstr(json_string_value(json_object_get(j, "type")), ==, "PEER_LEFT");
				g_assert_cmpstr(json_string_value(json_object_get(j, "peer_id")), ==, a->id);
				json_decref(j);
				left_at = ws_now_ms() - t0;
			} else {
				g_assert_cmpint(ev, ==, WS_EV_TIMEOUT);
			}
			g_free(p);
		}
	}
	g_test_message("a: %u pings, dropped after %" G_GINT64_FORMAT " ms; b heard PEER_LEFT after %"
	               G_GINT64_FORMAT " ms", ws_pings_received(a->ws), dropped_at, left_at);
	g_assert_cmpuint(ws_pings_received(a->ws), >=, 1);
	g_assert_cmpint(dropped_at, >, 0);
	g_assert_cmpint(left_at, >=, 1500);
	g_assert_cmpint(left_at, <=, 6000);
	g_assert_cmpint(dropped_at, <=, 6500);
	ws_free(a->ws);
	sig_peer_free(a);

	/* b answers its pings (while reading) and survives well past the timeout */
	sig_expect_silence(b->ws, 4000);
	g_assert_cmpuint(ws_pings_received(b->ws), >=, 4);
	SigPeer *c = sig_peer_join(s, "office", "gw2", "gateway");
	json_t *np = sig_expect(b->ws, "NEW_PEER", SIG_WAIT_MS);
	sig_assert_peer(json_object_get(np, "peer"), c);
	json_decref(np);
	sig_peer_close(b);
	sig_peer_close(c);
	sig_server_stop_clean(s);
}

/* TCP dropped without a close frame (RST, or a bare FIN): the partner hears
 * PEER_LEFT promptly. */
static void test_vanishing_peer(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *g = sig_peer_join(s, "office", "gw1", "gateway");
	for (int how = 0; how < 2; how++) {
		SigPeer *d = sig_peer_join(s, "office", how ? "bob" : "alice", "desktop");
		json_decref(sig_expect(g->ws, "NEW_PEER", SIG_WAIT_MS));
		gint64 t0 = ws_now_ms();
		if (how == 0)
			ws_abort(d->ws);
		else
			ws_free(d->ws);
		json_t *left = sig_expect(g->ws, "PEER_LEFT", 1500);
		g_test_message("%s: PEER_LEFT after %" G_GINT64_FORMAT " ms", how ? "FIN" : "RST",
		               ws_now_ms() - t0);
		g_assert_cmpstr(json_string_value(json_object_get(left, "peer_id")), ==, d->id);
		json_decref(left);
		sig_peer_free(d);
	}
	sig_peer_close(g);
	sig_server_stop_clean(s);
}

int main(int argc, char **argv)
{
	sig_test_init(&argc, &argv);
	g_test_add_func("/signal/limits/binary-frame", test_binary_frame);
	g_test_add_func("/signal/limits/join-timeout-default", test_join_timeout_default);
	g_test_add_func("/signal/limits/join-timeout-configured", test_join_timeout_configured);
	g_test_add_func("/signal/limits/ping-timeout", test_ping_timeout);
	g_test_add_func("/signal/limits/vanishing-peer", test_vanishing_peer);
	return g_test_run();
}
