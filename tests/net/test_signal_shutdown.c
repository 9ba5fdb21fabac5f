/* SPDX-License-Identifier: Apache-2.0 */
/* signal-server.md: SIGTERM/SIGINT stop accepting, close every connection
 * with 1001 and exit 0. */
#include "sigpeer.h"

#include <signal.h>
#include <sys/wait.h>

static void stop_with_peers(int sig)
{
	SigServer *s = sig_server_start(NULL);
	SigPeer *g = sig_peer_join(s, "office", "gw1", "gateway");
	SigPeer *d = sig_peer_join(s, "office", "alice", "desktop");
	SigPeer *l = sig_peer_join(s, "lab", "gw2", "gateway");
	json_decref(sig_expect(g->ws, "NEW_PEER", SIG_WAIT_MS));
	WsClient *idle = ws_connect(sig_server_port(s)); /* upgraded, not joined */

	g_assert_cmpint(kill(sig_server_pid(s), sig), ==, 0);
	WsClient *all[] = { g->ws, d->ws, l->ws, idle };
	for (gsize i = 0; i < G_N_ELEMENTS(all); i++) {
		/* PEER_LEFT while shutting down is allowed, the close code is not optional */
		guint skipped = 0;
		int code = ws_recv_close(all[i], 5000, &skipped);
		g_test_message("client %zu: close %d (after %u messages)", i, code, skipped);
		g_assert_cmpint(code, ==, 1001);
		g_assert_true(ws_wait_eof(all[i], 5000));
	}
	int st = sig_server_wait(s, 10000);
	g_test_message("exit status 0x%x", st);
	g_assert_cmpint(st, !=, -1);
	g_assert_true(WIFEXITED(st));
	g_assert_cmpint(WEXITSTATUS(st), ==, 0);
	/* nothing listens any more */
	WsConnectOpts o = { .port = sig_server_port(s), .subprotocol = WS_SUBPROTOCOL, .timeout_ms = 1000 };
	g_assert_null(ws_connect_opts(&o, NULL, NULL, NULL));

	for (gsize i = 0; i < G_N_ELEMENTS(all); i++)
		ws_free(all[i]);
	sig_peer_free(g);
	sig_peer_free(d);
	sig_peer_free(l);
	sig_server_free(s);
}

static void test_sigterm(void)
{
	stop_with_peers(SIGTERM);
}

static void test_sigint(void)
{
	stop_with_peers(SIGINT);
}

/* An idle server stops cleanly too (the helper asserts exit 0). */
static void test_sigterm_idle(void)
{
	SigServer *s = sig_server_start(NULL);
	g_assert_true(sig_server_alive(s));
	sig_server_stop_clean(s);
}

int main(int argc, char **argv)
{
	sig_test_init(&argc, &argv);
	g_test_add_func("/signal/shutdown/sigterm", test_sigterm);
	g_test_add_func("/signal/shutdown/sigint", test_sigint);
	g_test_add_func("/signal/shutdown/sigterm-idle", test_sigterm_idle);
	return g_test_run();
}
