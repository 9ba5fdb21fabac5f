/* SPDX-License-Identifier: Apache-2.0 */
/* signaling.md §1: path and subprotocol, plain HTTP endpoints (healthz,
 * Prometheus metrics), wss with a real certificate. */
#include "sigpeer.h"

#include <string.h>

static int upgrade_status(guint16 port, const char *path, const char *subprotocol)
{
	WsConnectOpts o = { .port = port, .path = path, .subprotocol = subprotocol };
	int status = 0;
	char *err = NULL;
	WsClient *c = ws_connect_opts(&o, &status, &err, NULL);
	g_test_message("%s with %s: %d %s", path, subprotocol ? subprotocol : "(no subprotocol)",
	               status, err ? err : "");
	g_free(err);
	if (c) {
		g_assert_cmpint(status, ==, 0); /* only set on refusal */
		ws_close(c);
		return 101;
	}
	return status;
}

static void test_subprotocol_and_path(void)
{
	SigServer *s = sig_server_start(NULL);
	guint16 port = sig_server_port(s);
	g_assert_cmpint(upgrade_status(port, "/v1/ws", NULL), ==, 400);
	g_assert_cmpint(upgrade_status(port, "/v1/ws", "chat"), ==, 400);
	g_assert_cmpint(upgrade_status(port, "/v1/ws", "peerpipe.v2"), ==, 400);

	/* one of several offered */
	WsClient *c = ws_connect_path(port, "/v1/ws", "chat, peerpipe.v1");
	g_assert_cmpstr(ws_protocol(c), ==, "peerpipe.v1");
	SigPeer *p = sig_peer_join_on(c, s, "office", "gw1", "gateway");
	sig_peer_close(p);

	static const char *const bad_paths[] = { "/", "/v2/ws", "/v1/ws/x", "/v1", "/V1/WS" };
	for (gsize i = 0; i < G_N_ELEMENTS(bad_paths); i++) {
		int st = upgrade_status(port, bad_paths[i], WS_SUBPROTOCOL);
		g_assert_true(st == 404 || st == 400);
	}
	/* the server is fine after all that */
	p = sig_peer_join(s, "office", "gw1", "gateway");
	sig_peer_close(p);
	sig_server_stop_clean(s);
}

static void test_healthz(void)
{
	SigServer *s = sig_server_start(NULL);
	char *body = NULL;
	int st = http_get(sig_server_port(s), "/healthz", &body, NULL);
	g_assert_cmpint(st, ==, 200);
	g_assert_nonnull(body);
	g_assert_cmpstr(g_strstrip(body), ==, "ok");
	g_free(body);
	st = http_get(sig_server_port(s), "/no-such-page", NULL, NULL);
	g_assert_cmpint(st, ==, 404);
	sig_server_stop_clean(s);
}

/* Prometheus text format: "# HELP"/"# TYPE" comments and
 * name{labels} value [timestamp] samples. Returns the samples. */
static GPtrArray *parse_metrics(const char *body)
{
	GRegex *re = g_regex_new("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*\\})? "
	                         "([-+]?([0-9]*\\.?[0-9]+([eE][-+]?[0-9]+)?|NaN|[-+]Inf))( -?[0-9]+)?$",
	                         0, 0, NULL);
	GPtrArray *samples = g_ptr_array_new_with_free_func(g_free);
	char **lines = g_strsplit(body, "\n", -1);
	for (char **l = lines; *l; l++) {
		if (**l == '\0' || **l == '#')
			continue;
		if (!g_regex_match(re, *l, 0, NULL))
			g_test_message("not a Prometheus sample line: '%s'", *l);
		g_assert_true(g_regex_match(re, *l, 0, NULL));
		g_ptr_array_add(samples, g_strdup(*l));
	}
	g_strfreev(lines);
	g_regex_unref(re);
	return samples;
}

/* Sum of the samples whose metric name is `name` (exact) or contains it
 * (when !exact), and whose labels contain `label` (if given). */
static double metric_sum(GPtrArray *samples, const char *name, gboolean exact,
                         const char *label, int *count)
{
	double sum = 0;
	*count = 0;
	for (guint i = 0; i < samples->len; i++) {
		const char *l = samples->pdata[i];
		gsize nl = strcspn(l, "{ ");
		char *n = g_strndup(l, nl);
		gboolean match = exact ? strcmp(n, name) == 0 : strstr(n, name) != NULL;
		g_free(n);
		if (!match || (label && !strstr(l + nl, label)))
			continue;
		sum += g_ascii_strtod(strrchr(l, ' ') + 1, NULL);
		(*count)++;
	}
	return sum;
}

static GPtrArray *get_metrics(SigServer *s)
{
	char *body = NULL, *headers = NULL;
	int st = http_get(sig_server_port(s), "/metrics", &body, &headers);
	g_assert_cmpint(st, ==, 200);
	char *lower = g_ascii_strdown(headers, -1);
	g_test_message("metrics:\n%s", body);
	GPtrArray *samples = parse_metrics(body);
	g_assert_nonnull(strstr(lower, "content-type: text/plain"));
	g_free(lower);
	g_free(body);
	g_free(headers);
	return samples;
}

static double connections(SigServer *s)
{
	GPtrArray *m = get_metrics(s);
	int n;
	double v = metric_sum(m, "peerpipe_signal_connections", TRUE, NULL, &n);
	g_assert_cmpint(n, >=, 1);
	g_ptr_array_unref(m);
	return v;
}

static void test_metrics(void)
{
	SigServer *s = sig_server_start(NULL);
	guint16 port = sig_server_port(s);
	double base = connections(s);

	SigPeer *g = sig_peer_join(s, "office", "gw1", "gateway");
	SigPeer *d = sig_peer_join(s, "office", "alice", "desktop");
	json_decref(sig_expect(g->ws, "NEW_PEER", SIG_WAIT_MS));
	for (int i = 0; i < 3; i++) {
		g_assert_true(sig_send_ice_marker(g->ws, d->id, "m"));
		json_decref(sig_expect(d->ws, "FORWARD_ICE", SIG_WAIT_MS));
	}
	/* refusals: bad_request x2, unknown_peer x1, unauthorized x1 */
	g_assert_true(ws_send_text(g->ws, "not json"));
	json_decref(sig_expect_error(g->ws, "bad_request", NULL, SIG_WAIT_MS));
	g_assert_true(ws_send_text(g->ws, "{\"type\":\"NOPE\"}"));
	json_decref(sig_expect_error(g->ws, "bad_request", "*", SIG_WAIT_MS));
	g_assert_true(sig_send_ice_marker(g->ws, "00000000000000000000000000000000", "x"));
	json_decref(sig_expect_error(g->ws, "unknown_peer", "SEND_ICE", SIG_WAIT_MS));
	WsClient *bad = ws_connect(port);
	char *tok = sig_token_bad(s, SIG_BAD_WRONG_SECRET, "eve", "office", "desktop");
	char *fp = sig_fingerprint();
	char *join = sig_join_text("office", tok, fp);
	g_assert_true(ws_send_text(bad, join));
	json_decref(sig_expect_error(bad, "unauthorized", "JOIN_ROOM", SIG_WAIT_MS));
	g_assert_cmpint(ws_recv_close(bad, SIG_WAIT_MS, NULL), ==, 1008);
	ws_free(bad);
	g_free(join);
	g_free(fp);
	g_free(tok);

	GPtrArray *m = get_metrics(s);
	int n;
	double v = metric_sum(m, "peerpipe_signal_connections", TRUE, NULL, &n);
	g_assert_cmpint(n, >=, 1);
	g_assert_cmpfloat(v, >=, base + 2);
	v = metric_sum(m, "refused", FALSE, "reason=\"bad_request\"", &n);
	g_assert_cmpint(n, >=, 1);
	g_assert_cmpfloat(v, >=, 2);
	v = metric_sum(m, "refused", FALSE, "reason=\"unknown_peer\"", &n);
	g_assert_cmpint(n, >=, 1);
	g_assert_cmpfloat(v, >=, 1);
	v = metric_sum(m, "refused", FALSE, "reason=\"unauthorized\"", &n);
	g_assert_cmpint(n, >=, 1);
	g_assert_cmpfloat(v, >=, 1);
	v = metric_sum(m, "relayed", FALSE, NULL, &n);
	g_assert_cmpint(n, >=, 1);
	g_assert_cmpfloat(v, >=, 3);
	v = metric_sum(m, "room", FALSE, NULL, &n);
	g_assert_cmpint(n, >=, 1);
	g_assert_cmpfloat(v, >=, 1);
	g_ptr_array_unref(m);

	/* the connection gauge goes back down */
	sig_peer_close(g);
	sig_peer_close(d);
	gint64 deadline = ws_now_ms() + 3000;
	while ((v = connections(s)) > base && ws_now_ms() < deadline)
		g_usleep(100 * 1000);
	g_assert_cmpfloat(v, <=, base);
	sig_server_stop_clean(s);
}

static void test_wss(void)
{
	SigServer *s = sig_server_new();
	char *cert, *key, *other_cert, *other_key;
	sig_make_cert(sig_server_dir(s), "server", &cert, &key);
	sig_make_cert(sig_server_dir(s), "other", &other_cert, &other_key);
	sig_server_set_tls(s, cert, key);
	sig_server_run(s);
	g_assert_true(g_str_has_prefix(sig_server_listen_line(s), "peerpipe-signal: listening on wss://127.0.0.1:"));
	guint16 port = sig_server_port(s);

	/* verified against the right CA: the protocol works over TLS */
	WsConnectOpts o = { .port = port, .subprotocol = WS_SUBPROTOCOL, .tls = TRUE, .ca_file = cert };
	char *err = NULL;
	WsClient *c1 = ws_connect_opts(&o, NULL, &err, NULL);
	if (!c1)
		g_test_message("wss connect: %s", err);
	g_assert_nonnull(c1);
	WsClient *c2 = ws_connect_opts(&o, NULL, NULL, NULL);
	g_assert_nonnull(c2);
	SigPeer *g = sig_peer_join_on(c1, s, "office", "gw1", "gateway");
	SigPeer *d = sig_peer_join_on(c2, s, "office", "alice", "desktop");
	json_decref(sig_expect(g->ws, "NEW_PEER", SIG_WAIT_MS));
	g_assert_true(sig_send_ice_marker(d->ws, g->id, "tls"));
	sig_expect_ice_marker(g->ws, d->id, "tls", SIG_WAIT_MS);

	/* verified against the wrong CA: refused by the client */
	WsConnectOpts bad = o;
	bad.ca_file = other_cert;
	int status = -1;
	WsClient *c3 = ws_connect_opts(&bad, &status, &err, NULL);
	g_test_message("wrong CA: %s", err);
	g_assert_null(c3);
	g_assert_cmpint(status, ==, 0);
	g_assert_nonnull(strstr(err, "TLS handshake failed"));
	g_free(err);
	err = NULL;

	/* plain ws on the TLS port gets no upgrade */
	WsConnectOpts plain = { .port = port, .subprotocol = WS_SUBPROTOCOL, .timeout_ms = 3000 };
	WsClient *c4 = ws_connect_opts(&plain, &status, &err, NULL);
	g_test_message("plain on TLS port: %d %s", status, err);
	g_assert_null(c4);
	g_assert_cmpint(status, !=, 101);
	g_free(err);

	/* the TLS peers are unaffected; closing announces PEER_LEFT */
	sig_peer_close(d);
	json_decref(sig_expect(g->ws, "PEER_LEFT", SIG_WAIT_MS));
	sig_peer_close(g);
	g_free(cert);
	g_free(key);
	g_free(other_cert);
	g_free(other_key);
	sig_server_stop_clean(s);
}

int main(int argc, char **argv)
{
	sig_test_init(&argc, &argv);
	g_test_add_func("/signal/transport/subprotocol-and-path", test_subprotocol_and_path);
	g_test_add_func("/signal/transport/healthz", test_healthz);
	g_test_add_func("/signal/transport/metrics", test_metrics);
	g_test_add_func("/signal/transport/wss", test_wss);
	return g_test_run();
}
