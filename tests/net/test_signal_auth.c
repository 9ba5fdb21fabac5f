/* SPDX-License-Identifier: Apache-2.0 */
/* signaling.md §2: every bad token gets ERROR unauthorized and close 1008,
 * with the same message whatever check failed; the log never holds the
 * token; clock skew is tolerated. */
#include "sigpeer.h"

#include <string.h>

static char *try_join(SigServer *s, const char *room, const char *token)
{
	WsClient *ws = ws_connect(sig_server_port(s));
	char *fp = sig_fingerprint();
	char *join = sig_join_text(room, token, fp);
	g_assert_true(ws_send_text(ws, join));
	json_t *e = sig_expect_error(ws, "unauthorized", "JOIN_ROOM", SIG_WAIT_MS);
	char *msg = g_strdup(json_string_value(json_object_get(e, "message")));
	json_decref(e);
	sig_expect_close(ws, 1008, SIG_WAIT_MS);
	g_assert_true(ws_wait_eof(ws, SIG_WAIT_MS));
	ws_free(ws);
	g_free(join);
	g_free(fp);
	return msg;
}

static void test_bad_tokens(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *g = sig_peer_join(s, "office", "gw1", "gateway");
	char *first = NULL;
	GPtrArray *tokens = g_ptr_array_new_with_free_func(g_free);

	for (int k = 0; k < SIG_BAD_COUNT; k++) {
		char *tok = sig_token_bad(s, (SigBadToken)k, "alice", "office", "desktop");
		g_test_message("token %s: %s", sig_bad_token_name((SigBadToken)k), tok);
		char *msg = try_join(s, "office", tok);
		g_test_message("  -> ERROR message \"%s\"", msg);
		if (!first)
			first = g_strdup(msg);
		/* the message never says which check failed */
		g_assert_cmpstr(msg, ==, first);
		g_free(msg);
		g_ptr_array_add(tokens, tok);
	}
	/* a valid token for another room, used for this one */
	char *tok = sig_token(s, "alice", "lab", "desktop");
	char *msg = try_join(s, "office", tok);
	g_assert_cmpstr(msg, ==, first);
	g_free(msg);
	g_ptr_array_add(tokens, tok);
	/* a valid token with an empty-looking tail */
	tok = sig_token(s, "alice", "office", "desktop");
	char *cut = g_strndup(tok, strrchr(tok, '.') - tok + 1);
	msg = try_join(s, "office", cut);
	g_assert_cmpstr(msg, ==, first);
	g_free(msg);
	g_free(cut);
	g_free(tok);

	/* nobody joined */
	sig_expect_silence(g->ws, 300);
	sig_peer_close(g);

	/* the log does not hold the tokens (nor their signatures) */
	char *log = sig_server_log(s);
	for (guint i = 0; i < tokens->len; i++) {
		const char *t = tokens->pdata[i];
		const char *sig = strrchr(t, '.');
		g_assert_null(strstr(log, t));
		if (sig && strlen(sig + 1) >= 16)
			g_assert_null(strstr(log, sig + 1));
	}
	g_free(log);
	g_ptr_array_unref(tokens);
	g_free(first);
	sig_server_stop_clean(s);
}

/* auth.clock_skew (30 s) is honoured on exp and nbf. */
static void test_clock_skew(void)
{
	SigServer *s = sig_server_start(NULL);
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	static const struct {
		gint64 exp, nbf, iat;
		gboolean ok;
	} cases[] = {
		{ -10, 0, -700, TRUE },   /* expired 10 s ago: within skew */
		{ 600, 10, 0, TRUE },     /* valid in 10 s: within skew */
		{ -120, 0, -700, FALSE }, /* expired 2 minutes ago */
		{ 600, 120, 0, FALSE },   /* valid in 2 minutes */
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *tok = sig_token_times(s, "alice", "office", "desktop", now + cases[i].exp,
		                            cases[i].nbf ? now + cases[i].nbf : 0,
		                            cases[i].iat ? now + cases[i].iat : 0);
		g_test_message("case %zu", i);
		if (cases[i].ok) {
			WsClient *ws = ws_connect(sig_server_port(s));
			char *fp = sig_fingerprint();
			char *join = sig_join_text("office", tok, fp);
			g_assert_true(ws_send_text(ws, join));
			json_decref(sig_expect(ws, "JOINED", SIG_WAIT_MS));
			ws_close(ws);
			g_free(join);
			g_free(fp);
		} else {
			g_free(try_join(s, "office", tok));
		}
		g_free(tok);
	}
	sig_server_stop_clean(s);
}

/* A token stamped iat = now by an issuer whose clock agrees with ours is
 * valid at once, also with no skew allowed and just after a second
 * begins: the server reads the wall clock precisely (time() is the
 * kernel's coarse clock, a tick behind at second boundaries: a fresh
 * token was "not valid yet" there, as a CI run of cli-connect saw). */
static void test_fresh_token_at_second(void)
{
	SigServer *s = sig_server_start("--set", "auth.clock_skew=0s", NULL);
	char *fp = sig_fingerprint();

	for (int i = 0; i < 6; i++) {
		WsClient *ws = ws_connect(sig_server_port(s));
		gint64 sec = g_get_real_time() / G_USEC_PER_SEC, now;

		/* the first microseconds of the next second */
		while ((now = g_get_real_time()) / G_USEC_PER_SEC == sec)
			;
		char *tok = sig_token_times(s, "alice", "office", "desktop",
		                            now / G_USEC_PER_SEC + 600, 0, now / G_USEC_PER_SEC);
		char *join = sig_join_text("office", tok, fp);
		g_assert_true(ws_send_text(ws, join));
		json_decref(sig_expect(ws, "JOINED", SIG_WAIT_MS));
		g_test_message("round %d: joined %" G_GINT64_FORMAT " us into the second", i,
		               g_get_real_time() % G_USEC_PER_SEC);
		ws_close(ws);
		g_free(join);
		g_free(tok);
	}
	g_free(fp);
	sig_server_stop_clean(s);
}

/* The role and name come from the token: the server announces what the
 * token says. */
static void test_identity_from_token(void)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *g = sig_peer_join(s, "office", "gw1", "gateway");
	SigPeer *d = sig_peer_join(s, "office", "Alice.Smith_2-x", "desktop");
	json_t *np = sig_expect(g->ws, "NEW_PEER", SIG_WAIT_MS);
	json_t *peer = json_object_get(np, "peer");
	g_assert_cmpstr(json_string_value(json_object_get(peer, "name")), ==, "Alice.Smith_2-x");
	g_assert_cmpstr(json_string_value(json_object_get(peer, "role")), ==, "desktop");
	json_decref(np);
	sig_peer_close(d);
	sig_peer_close(g);
	sig_server_stop_clean(s);
}

int main(int argc, char **argv)
{
	sig_test_init(&argc, &argv);
	g_test_add_func("/signal/auth/bad-tokens", test_bad_tokens);
	g_test_add_func("/signal/auth/clock-skew", test_clock_skew);
	g_test_add_func("/signal/auth/fresh-token-at-second", test_fresh_token_at_second);
	g_test_add_func("/signal/auth/identity-from-token", test_identity_from_token);
	return g_test_run();
}
