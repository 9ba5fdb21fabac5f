/* SPDX-License-Identifier: Apache-2.0 */
/* signal-server.md "Command line" and "Config file": --check-config, the
 * insecure/TLS rules, config files with file:line errors. */
#include "sigpeer.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>

static int exit_code(int st)
{
	g_assert_cmpint(st, !=, -1); /* it must not hang */
	g_assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_check_config(void)
{
	SigServer *s = sig_server_new();
	const char *secret = sig_server_secret_path(s);
	char *out = NULL, *err = NULL;

	const char *ok[] = { "--listen", "127.0.0.1:0", "--insecure", "--jwt-secret-file", secret,
	                     "--set", "limits.join_timeout=2s", "--set", "limits.max_message_size=64KiB",
	                     "--check-config", NULL };
	g_assert_cmpint(exit_code(sig_run_sync(ok, 5000, &out, NULL)), ==, 0);
	g_assert_null(strstr(out, "listening on"));
	g_free(out);

	const char *unknown_key[] = { "--listen", "127.0.0.1:0", "--insecure", "--jwt-secret-file", secret,
	                              "--set", "limits.no_such_key=1", "--check-config", NULL };
	g_assert_cmpint(exit_code(sig_run_sync(unknown_key, 5000, NULL, NULL)), ==, 1);

	const char *bad_value[] = { "--listen", "127.0.0.1:0", "--insecure", "--jwt-secret-file", secret,
	                            "--set", "limits.join_timeout=soon", "--check-config", NULL };
	g_assert_cmpint(exit_code(sig_run_sync(bad_value, 5000, NULL, NULL)), ==, 1);

	char *missing = g_build_filename(sig_server_dir(s), "does-not-exist", NULL);
	const char *no_secret[] = { "--listen", "127.0.0.1:0", "--insecure", "--jwt-secret-file", missing,
	                            "--check-config", NULL };
	g_assert_cmpint(exit_code(sig_run_sync(no_secret, 5000, NULL, NULL)), ==, 1);
	g_free(missing);

	const char *short_path = sig_server_write_file(s, "short.secret", "tooshort\n", -1);
	const char *short_secret[] = { "--listen", "127.0.0.1:0", "--insecure", "--jwt-secret-file",
	                               short_path, "--check-config", NULL };
	g_assert_cmpint(exit_code(sig_run_sync(short_secret, 5000, NULL, NULL)), ==, 1);

	/* an unknown key in a file is reported with file:line */
	const char *conf = sig_server_write_file(s, "bad.ini",
	                                         "[server]\nlisten = 127.0.0.1:0\nbogus_key = 1\n", -1);
	const char *bad_file[] = { "--config", conf, "--insecure", "--jwt-secret-file", secret,
	                           "--check-config", NULL };
	g_assert_cmpint(exit_code(sig_run_sync(bad_file, 5000, &out, &err)), ==, 1);
	char *where = g_strdup_printf("%s:3", conf);
	g_assert_true(strstr(out, where) || strstr(err, where));
	g_free(where);
	g_free(out);
	g_free(err);
	sig_server_free(s);
}

/* A config file is read; flags override it. */
static void test_config_file(void)
{
	SigServer *s = sig_server_new();
	char *text = g_strdup_printf("[server]\nlisten = 127.0.0.1:1\ninsecure = true\n"
	                             "[auth]\njwt_secret_file = %s\n"
	                             "[limits]\njoin_timeout = 1s\nroom_max_peers = 1\n",
	                             sig_server_secret_path(s));
	const char *conf = sig_server_write_file(s, "good.ini", text, -1);
	g_free(text);
	const char *check[] = { "--config", conf, "--check-config", NULL };
	g_assert_cmpint(exit_code(sig_run_sync(check, 5000, NULL, NULL)), ==, 0);

	/* --listen 127.0.0.1:0 (added by the harness) overrides the file's port */
	sig_server_add_args(s, "--config", conf, NULL);
	sig_server_run(s);
	WsClient *ws = ws_connect(sig_server_port(s));
	g_assert_cmpint(ws_recv_close(ws, 4000, NULL), ==, 1008); /* join_timeout 1s */
	ws_free(ws);
	SigPeer *a = sig_peer_join(s, "office", "gw1", "gateway");
	ws = ws_connect(sig_server_port(s));
	char *tok = sig_token(s, "gw2", "office", "gateway");
	char *fp = sig_fingerprint();
	char *join = sig_join_text("office", tok, fp);
	g_assert_true(ws_send_text(ws, join));
	json_decref(sig_expect_error(ws, "room_full", "JOIN_ROOM", SIG_WAIT_MS));
	ws_close(ws);
	g_free(join);
	g_free(fp);
	g_free(tok);
	sig_peer_close(a);
	sig_server_stop_clean(s);
}

static void test_refuses_to_start(void)
{
	SigServer *s = sig_server_new();
	const char *secret = sig_server_secret_path(s);
	char *out = NULL;

	/* --insecure only on loopback */
	const char *wild[] = { "--listen", "0.0.0.0:0", "--insecure", "--jwt-secret-file", secret, NULL };
	g_assert_cmpint(exit_code(sig_run_sync(wild, 5000, &out, NULL)), !=, 0);
	g_assert_null(strstr(out, "listening on"));
	g_free(out);

	/* TLS by default: no certificate, no start */
	const char *no_tls[] = { "--listen", "127.0.0.1:0", "--jwt-secret-file", secret, NULL };
	g_assert_cmpint(exit_code(sig_run_sync(no_tls, 5000, &out, NULL)), !=, 0);
	g_assert_null(strstr(out, "listening on"));
	g_free(out);

	/* no JWT secret, no start */
	const char *no_secret[] = { "--listen", "127.0.0.1:0", "--insecure", NULL };
	g_assert_cmpint(exit_code(sig_run_sync(no_secret, 5000, &out, NULL)), !=, 0);
	g_assert_null(strstr(out, "listening on"));
	g_free(out);
	sig_server_free(s);
}

/* The one stdout line, exactly; insecure mode is logged loudly. */
static void test_listen_line(void)
{
	SigServer *s = sig_server_start(NULL);
	char *want = g_strdup_printf("peerpipe-signal: listening on ws://127.0.0.1:%u/v1/ws",
	                             sig_server_port(s));
	g_assert_cmpstr(sig_server_listen_line(s), ==, want);
	g_free(want);
	/* stderr is read by another thread: give it a moment */
	char *log = NULL, *lower = NULL;
	for (int i = 0; i < 40; i++) {
		g_free(log);
		g_free(lower);
		log = sig_server_log(s);
		lower = g_ascii_strdown(log, -1);
		if (strstr(lower, "insecure"))
			break;
		g_usleep(50 * 1000);
	}
	g_test_message("log: %s", log);
	g_assert_nonnull(strstr(lower, "insecure"));
	g_free(lower);
	g_free(log);
	sig_server_stop_clean(s);
}

/* Every secret file gets the same warning when every user may read it
 * (accepted: Docker secrets are 0444), and none when it is private. */
static void test_secret_file_modes(void)
{
	SigServer *s = sig_server_new();
	const char *paths[] = {
		sig_server_write_file(s, "jwt2.secret", sig_server_secret(s), -1),
		sig_server_write_file(s, "turn.secret", "0123456789abcdef0123\n", -1),
		sig_server_write_file(s, "redis.pw", "pw\n", -1),
	};
	for (int open = 0; open < 2; open++) {
		for (gsize i = 0; i < G_N_ELEMENTS(paths); i++)
			g_assert_cmpint(g_chmod(paths[i], open ? 0644 : 0600), ==, 0);
		char *turn = g_strdup_printf("ice.turn_secret_file=%s", paths[1]);
		char *pw = g_strdup_printf("redis.password_file=%s", paths[2]);
		const char *argv[] = { "--listen", "127.0.0.1:0", "--insecure", "--jwt-secret-file", paths[0],
		                       "--set", turn, "--set", "redis.url=redis://127.0.0.1:6379",
		                       "--set", pw, "--check-config", NULL };
		char *err = NULL;
		g_assert_cmpint(exit_code(sig_run_sync(argv, 5000, NULL, &err)), ==, 0);
		for (gsize i = 0; i < G_N_ELEMENTS(paths); i++) {
			char *line = g_strdup_printf("%s is readable by every user", paths[i]);
			if (open && !strstr(err, line))
				g_error("no warning \"%s\" in:\n%s", line, err);
			if (!open)
				g_assert_null(strstr(err, line));
			g_free(line);
		}
		g_free(err);
		g_free(turn);
		g_free(pw);
	}
	sig_server_free(s);
}

int main(int argc, char **argv)
{
	sig_test_init(&argc, &argv);
	g_test_add_func("/signal/cli/check-config", test_check_config);
	g_test_add_func("/signal/cli/config-file", test_config_file);
	g_test_add_func("/signal/cli/refuses-to-start", test_refuses_to_start);
	g_test_add_func("/signal/cli/listen-line", test_listen_line);
	g_test_add_func("/signal/cli/secret-file-modes", test_secret_file_modes);
	return g_test_run();
}
