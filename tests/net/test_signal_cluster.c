/* SPDX-License-Identifier: Apache-2.0 */
/* Scale-out (signaling.md §5): two peerpipe-signal instances share rooms
 * through a real redis-server; the wire protocol must not change. */
#include "redis_hold.h"
#include "sigpeer.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
	GPid pid;
	char *dir;
	char *sock;
	char *url;
} Redis;

/* The redis-server child dies with the test, even one that aborts. */
static void redis_child_setup(gpointer data)
{
	(void)data;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static const char *redis_password; /* --requirepass when set */

static void redis_spawn(Redis *r)
{
	const char *argv[] = { "redis-server", "--port", "0", "--unixsocket", r->sock,
	                       "--save", "", "--appendonly", "no", "--dir", r->dir,
	                       redis_password ? "--requirepass" : NULL, redis_password, NULL };
	GError *err = NULL;
	g_assert_true(g_spawn_async(NULL, (char **)argv, NULL,
	                            G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
	                            G_SPAWN_STDOUT_TO_DEV_NULL,
	                            redis_child_setup, NULL, &r->pid, &err));
	g_assert_no_error(err);
}

static Redis *redis_start(void)
{
	Redis *r = g_new0(Redis, 1);
	r->dir = g_dir_make_tmp("pp-redis-XXXXXX", NULL);
	r->sock = g_build_filename(r->dir, "redis.sock", NULL);
	r->url = g_strdup_printf("redis.url=unix:%s", r->sock);
	redis_spawn(r);
	for (int i = 0; i < 100 && !g_file_test(r->sock, G_FILE_TEST_EXISTS); i++)
		g_usleep(50000);
	g_assert_true(g_file_test(r->sock, G_FILE_TEST_EXISTS));
	return r;
}

static void redis_stop(Redis *r)
{
	kill(r->pid, SIGKILL);
	waitpid(r->pid, NULL, 0);
	g_spawn_close_pid(r->pid);
	unlink(r->sock);
	rmdir(r->dir);
	g_free(r->sock);
	g_free(r->url);
	g_free(r->dir);
	g_free(r);
}

/* Two instances sharing one secret and one Redis; extra: more --set values
 * (NULL-terminated, or NULL). */
static void start_pair(Redis *r, SigServer **a, SigServer **b, const char *const *extra)
{
	SigServer *s[2];
	for (int i = 0; i < 2; i++) {
		s[i] = sig_server_new();
		if (i)
			sig_server_share_secret(s[i], s[0]);
		sig_server_add_args(s[i], "--set", r->url, NULL);
		for (const char *const *e = extra; e && *e; e++)
			sig_server_add_args(s[i], "--set", *e, NULL);
		sig_server_run(s[i]);
	}
	*a = s[0];
	*b = s[1];
}

/* The instances accept peers only once Redis is connected: retry briefly. */
static SigPeer *join_retry(SigServer *s, const char *room, const char *name, const char *role)
{
	for (int i = 0; i < 50; i++) {
		int status = 0;
		WsConnectOpts o = { .port = sig_server_port(s), .path = "/v1/ws", .subprotocol = "peerpipe.v1" };
		WsClient *c = ws_connect_opts(&o, &status, NULL, NULL);
		if (c)
			return sig_peer_join_on(c, s, room, name, role);
		g_assert_cmpint(status, ==, 503);
		g_usleep(100000);
	}
	g_error("instance never became ready");
}

static void test_cross_instance_flow(void)
{
	Redis *r = redis_start();
	SigServer *a, *b;
	start_pair(r, &a, &b, NULL);

	SigPeer *gw = join_retry(a, "office", "gw", "gateway");
	SigPeer *alice = join_retry(b, "office", "alice", "desktop");
	/* the newcomer on B sees the gateway on A; the gateway gets NEW_PEER */
	g_assert_cmpuint(json_array_size(json_object_get(alice->joined, "peers")), ==, 1);
	sig_assert_peer(json_array_get(json_object_get(alice->joined, "peers"), 0), gw);
	json_t *np = sig_expect(gw->ws, "NEW_PEER", SIG_WAIT_MS);
	sig_assert_peer(json_object_get(np, "peer"), alice);
	json_decref(np);

	/* relay both ways, byte for byte */
	const char *sdp = "{ \"type\":\"offer\",\"sdp\":\"v=0\\r\\n\\u00e9\" , \"x\":1.50e+2}";
	g_assert_true(ws_send_printf(gw->ws, "{\"type\":\"SEND_SDP\",\"to\":\"%s\",\"sdp\":%s}", alice->id, sdp));
	char *fwd = sig_expect_raw(alice->ws, "FORWARD_SDP", SIG_WAIT_MS);
	const char *val;
	gsize vlen;
	g_assert_true(sig_json_member_raw(fwd, strlen(fwd), "sdp", &val, &vlen));
	g_assert_cmpmem(val, vlen, sdp, strlen(sdp));
	g_free(fwd);
	g_assert_true(sig_send_ice_marker(alice->ws, gw->id, "mk1"));
	sig_expect_ice_marker(gw->ws, alice->id, "mk1", SIG_WAIT_MS);

	/* two desktops on different instances never see each other */
	SigPeer *bob = join_retry(a, "office", "bob", "desktop");
	g_assert_cmpuint(json_array_size(json_object_get(bob->joined, "peers")), ==, 1);
	g_assert_null(sig_find_peer(json_object_get(bob->joined, "peers"), alice->id));
	g_assert_true(ws_send_printf(bob->ws, "{\"type\":\"SEND_SDP\",\"to\":\"%s\",\"sdp\":{\"type\":\"offer\",\"sdp\":\"v=0\"}}", alice->id));
	json_decref(sig_expect_error(bob->ws, "unknown_peer", "SEND_SDP", SIG_WAIT_MS));
	json_decref(sig_expect(gw->ws, "NEW_PEER", SIG_WAIT_MS));
	sig_expect_silence(alice->ws, 300);

	/* leaving on B is announced on A */
	char *alice_id = g_strdup(alice->id);
	sig_peer_close(alice);
	json_t *left = sig_expect(gw->ws, "PEER_LEFT", SIG_WAIT_MS);
	g_assert_cmpstr(json_string_value(json_object_get(left, "peer_id")), ==, alice_id);
	json_decref(left);
	sig_expect_silence(bob->ws, 300);
	g_free(alice_id);
	sig_peer_close(bob);
	sig_peer_close(gw);
	sig_server_stop_clean(a);
	sig_server_stop_clean(b);
	redis_stop(r);
}

/* A relay the recipient's instance refuses (its queue holds the sender's
 * share) is answered on the sender's instance: ERROR rate_limited comes
 * back through Redis, and the slow recipient stays in the room. */
static void test_relay_refused_across(void)
{
	Redis *r = redis_start();
	SigServer *a, *b;
	const char *const extra[] = { "limits.send_queue_max=256KiB", NULL };
	start_pair(r, &a, &b, extra);

	SigPeer *mallory = join_retry(a, "office", "mallory", "desktop");
	SigPeer *probe = join_retry(b, "office", "probe", "desktop"); /* b is ready */
	SigPeer *gw = sig_peer_join_on(sig_connect_never_reading(sig_server_port(b)), b, "office",
	                               "gw", "gateway");
	json_decref(sig_expect(mallory->ws, "NEW_PEER", SIG_WAIT_MS));
	int sent = sig_flood_until_refused(mallory->ws, gw->id);
	g_test_message("across: refused after %d messages", sent);
	SigPeer *late = join_retry(a, "office", "late", "desktop");
	g_assert_nonnull(sig_find_peer(json_object_get(late->joined, "peers"), gw->id));
	sig_peer_close(late);
	sig_peer_close(probe);
	sig_peer_close(mallory);
	ws_abort(gw->ws);
	sig_peer_free(gw);
	sig_server_stop_clean(a);
	sig_server_stop_clean(b);
	redis_stop(r);
}

/* Peers joining at once on both instances: for every visible pair exactly
 * one side is the existing member (gets NEW_PEER), the other the newcomer
 * (has it in JOINED) — never both, never neither, so exactly one offers. */
static void test_concurrent_join_order(void)
{
	enum { N = 12 };
	Redis *r = redis_start();
	SigServer *a, *b, *srv[2];
	start_pair(r, &a, &b, NULL);
	srv[0] = a;
	srv[1] = b;
	SigPeer *w1 = join_retry(a, "warmup", "w1", "gateway");
	SigPeer *w2 = join_retry(b, "warmup", "w2", "gateway");

	WsClient *c[N];
	char *names[N];
	for (int i = 0; i < N; i++) {
		names[i] = g_strdup_printf("p%d", i);
		c[i] = ws_connect(sig_server_port(srv[i % 2]));
		g_assert_nonnull(c[i]);
	}
	/* send every JOIN_ROOM before reading any answer */
	for (int i = 0; i < N; i++) {
		char *tok = sig_token(srv[i % 2], names[i], "race", i % 3 ? "gateway" : "desktop");
		char *fp = sig_fingerprint();
		char *join = sig_join_text("race", tok, fp);
		g_free(fp);
		g_assert_true(ws_send_text(c[i], join));
		g_free(join);
		g_free(tok);
	}
	char *ids[N];
	GHashTable *knows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (int i = 0; i < N; i++) {
		json_t *j = sig_wait_for(c[i], "JOINED", SIG_WAIT_MS, NULL);
		ids[i] = g_strdup(json_string_value(json_object_get(j, "peer_id")));
		json_t *peers = json_object_get(j, "peers");
		for (size_t k = 0; k < json_array_size(peers); k++)
			g_hash_table_add(knows, g_strdup_printf("%s>%s", ids[i],
			                 json_string_value(json_object_get(json_array_get(peers, k), "peer_id"))));
		json_decref(j);
	}
	/* collect every NEW_PEER for a while */
	gint64 end = ws_now_ms() + 1500;
	for (int i = 0; i < N; i++) {
		char *text;
		while (ws_now_ms() < end && (text = ws_recv_text(c[i], 100)) != NULL) {
			json_t *np = sig_parse(text);
			g_free(text);
			if (strcmp(json_string_value(json_object_get(np, "type")), "NEW_PEER") != 0) {
				json_decref(np);
				continue;
			}
			char *key = g_strdup_printf("%s>%s", ids[i],
			                            json_string_value(json_object_get(json_object_get(np, "peer"), "peer_id")));
			g_assert_false(g_hash_table_contains(knows, key)); /* never both */
			g_hash_table_add(knows, key);
			json_decref(np);
		}
	}
	for (int i = 0; i < N; i++)
		for (int k = i + 1; k < N; k++) {
			gboolean visible = (i % 3) || (k % 3); /* not two desktops */
			char *ik = g_strdup_printf("%s>%s", ids[i], ids[k]);
			char *ki = g_strdup_printf("%s>%s", ids[k], ids[i]);
			int seen = g_hash_table_contains(knows, ik) + g_hash_table_contains(knows, ki);
			if (seen != (visible ? 2 : 0))
				g_error("pair %s/%s: %d sides know each other", names[i], names[k], seen);
			g_free(ik);
			g_free(ki);
		}
	for (int i = 0; i < N; i++) {
		ws_close(c[i]);
		g_free(ids[i]);
		g_free(names[i]);
	}
	g_hash_table_destroy(knows);
	sig_peer_close(w1);
	sig_peer_close(w2);
	sig_server_stop_clean(a);
	sig_server_stop_clean(b);
	redis_stop(r);
}

static void test_room_full_across_instances(void)
{
	Redis *r = redis_start();
	SigServer *a, *b;
	start_pair(r, &a, &b, (const char *const[]){ "limits.room_max_peers=2", NULL });
	SigPeer *p1 = join_retry(a, "small", "g1", "gateway");
	SigPeer *p2 = join_retry(b, "small", "d1", "desktop");
	WsClient *c = ws_connect(sig_server_port(a));
	char *tok = sig_token(a, "d2", "small", "desktop");
	char *fp = sig_fingerprint();
	char *join = sig_join_text("small", tok, fp);
	g_free(fp);
	g_assert_true(ws_send_text(c, join));
	json_decref(sig_expect_error(c, "room_full", "JOIN_ROOM", SIG_WAIT_MS));
	g_free(join);
	g_free(tok);
	ws_free(c);
	sig_peer_close(p1);
	sig_peer_close(p2);
	sig_server_stop_clean(a);
	sig_server_stop_clean(b);
	redis_stop(r);
}

/* JOIN_ROOM refused by Redis (the other instance holds the only place)
 * may be retried, but the connection must still join in time: it is
 * closed at the join deadline, not kept alive by pings, and the retries
 * leak nothing (the server runs under LeakSanitizer). */
static void test_room_full_retry(void)
{
	Redis *r = redis_start();
	SigServer *a, *b;
	start_pair(r, &a, &b, (const char *const[]){ "limits.room_max_peers=1", "limits.join_timeout=1s", NULL });
	SigPeer *p1 = join_retry(a, "small", "g1", "gateway");
	WsClient *c = ws_connect(sig_server_port(b));
	char *tok = sig_token(b, "d2", "small", "desktop");
	char *fp = sig_fingerprint();
	char *join = sig_join_text("small", tok, fp);
	for (int i = 0; i < 2; i++) {
		g_assert_true(ws_send_text(c, join));
		json_decref(sig_expect_error(c, "room_full", "JOIN_ROOM", SIG_WAIT_MS));
	}
	sig_expect_close(c, 1008, 3000);
	ws_free(c);
	/* Retries do not extend the deadline: one every 200 ms, refused each
	 * time, still closes about 1 s after connect (a few retries), where
	 * re-arming it per refusal would keep the connection forever. */
	c = ws_connect(sig_server_port(b));
	int tries = 0, got = 0;
	WsEvent ev = WS_EV_TEXT;
	while (ev == WS_EV_TEXT && tries < 25) {
		char *text = NULL;
		if (!ws_send_text(c, join))
			break;
		tries++;
		ev = ws_recv(c, SIG_WAIT_MS, &text, NULL, &got);
		g_free(text);
		if (ev == WS_EV_TEXT)
			g_usleep(200 * 1000);
	}
	g_test_message("closed after %d refused joins, code %d", tries, got);
	g_assert_cmpint(ev, ==, WS_EV_CLOSE);
	g_assert_cmpint(got, ==, 1008);
	g_assert_cmpint(tries, <, 25);
	g_free(join);
	g_free(fp);
	g_free(tok);
	ws_free(c);
	sig_peer_close(p1);
	sig_server_stop_clean(a);
	sig_server_stop_clean(b);
	redis_stop(r);
}

/* An instance killed without a word: its peers are announced as gone
 * once its liveness key expires (10 s) and a sweep runs (3 s). */
static void test_instance_crash(void)
{
	Redis *r = redis_start();
	SigServer *a, *b;
	start_pair(r, &a, &b, NULL);
	SigPeer *gw = join_retry(a, "office", "gw", "gateway");
	SigPeer *d = join_retry(b, "office", "d", "desktop");
	json_decref(sig_expect(gw->ws, "NEW_PEER", SIG_WAIT_MS));
	kill(sig_server_pid(b), SIGKILL);
	json_t *left = sig_expect(gw->ws, "PEER_LEFT", 20000);
	g_assert_cmpstr(json_string_value(json_object_get(left, "peer_id")), ==, d->id);
	json_decref(left);
	/* and a newcomer does not see the ghost */
	SigPeer *d2 = join_retry(a, "office", "d2", "desktop");
	g_assert_cmpuint(json_array_size(json_object_get(d2->joined, "peers")), ==, 1);
	ws_free(d->ws); /* its server is gone */
	sig_peer_free(d);
	sig_peer_close(d2);
	sig_peer_close(gw);
	sig_server_stop_clean(a);
	sig_server_wait(b, 1000);
	sig_server_free(b);
	redis_stop(r);
}

/* Redis gone: local peers are closed (1011) and new ones refused (503)
 * until it is back; then peers rejoin. */
static void test_broker_loss(void)
{
	Redis *r = redis_start();
	SigServer *a = sig_server_new();
	sig_server_add_args(a, "--set", r->url, NULL);
	sig_server_run(a);
	SigPeer *gw = join_retry(a, "office", "gw", "gateway");
	kill(r->pid, SIGKILL);
	waitpid(r->pid, NULL, 0);
	g_assert_cmpint(ws_recv_close(gw->ws, 5000, NULL), ==, 1011);
	ws_free(gw->ws);
	sig_peer_free(gw);
	int status = 0;
	WsConnectOpts o = { .port = sig_server_port(a), .path = "/v1/ws", .subprotocol = "peerpipe.v1" };
	WsClient *c = ws_connect_opts(&o, &status, NULL, NULL);
	g_assert_null(c);
	g_assert_cmpint(status, ==, 503);
	/* same socket path, new server */
	unlink(r->sock);
	redis_spawn(r);
	SigPeer *again = join_retry(a, "office", "gw", "gateway");
	sig_peer_close(again);
	sig_server_stop_clean(a);
	redis_stop(r);
}

/* Kills Redis and waits until the instance has closed this joined peer. */
static void redis_kill_seen_by(Redis *r, SigPeer *joined)
{
	kill(r->pid, SIGKILL);
	waitpid(r->pid, NULL, 0);
	g_assert_cmpint(ws_recv_close(joined->ws, 5000, NULL), ==, 1011);
	ws_free(joined->ws);
	sig_peer_free(joined);
	unlink(r->sock);
}

/* A connection made before the outage that had not joined yet: its
 * JOIN_ROOM during the outage is refused (the join cannot be ordered), not
 * parked in a room that nobody subscribes, and the room works once Redis
 * is back. */
static void test_join_during_outage(void)
{
	Redis *r = redis_start();
	SigServer *a = sig_server_new();
	sig_server_add_args(a, "--set", r->url, NULL);
	sig_server_run(a);
	SigPeer *gw = join_retry(a, "office", "gw", "gateway");
	WsClient *early = ws_connect(sig_server_port(a));
	redis_kill_seen_by(r, gw);

	char *tok = sig_token(a, "d", "office", "desktop");
	char *fp = sig_fingerprint();
	char *join = sig_join_text("office", tok, fp);
	g_free(fp);
	g_assert_true(ws_send_text(early, join));
	json_decref(sig_expect_error(early, "internal", "JOIN_ROOM", SIG_WAIT_MS));
	sig_expect_close(early, 1011, SIG_WAIT_MS);
	ws_free(early);
	g_free(join);
	g_free(tok);

	redis_spawn(r);
	SigPeer *g2 = join_retry(a, "office", "g2", "gateway");
	SigPeer *d = join_retry(a, "office", "d", "desktop");
	sig_assert_peer(json_array_get(json_object_get(d->joined, "peers"), 0), g2);
	json_t *np = sig_expect(g2->ws, "NEW_PEER", SIG_WAIT_MS);
	sig_assert_peer(json_object_get(np, "peer"), d);
	json_decref(np);
	sig_peer_close(d);
	sig_peer_close(g2);
	sig_server_stop_clean(a);
	redis_stop(r);
}

static guint64 metric(SigServer *s, const char *name)
{
	char *body = NULL;
	g_assert_cmpint(http_get(sig_server_port(s), "/metrics", &body, NULL), ==, 200);
	char *key = g_strdup_printf("\n%s ", name);
	const char *at = strstr(body, key);
	g_assert_nonnull(at);
	guint64 v = g_ascii_strtoull(at + strlen(key), NULL, 10);
	g_free(key);
	g_free(body);
	return v;
}

/* A room outlives a short outage while a closing peer drains: this one
 * does not read, so its close waits for the 2 s grace. Redis comes back
 * within that time; peers that then join the room must hear its events,
 * so the room is subscribed again on the new connection. */
static void test_resubscribe_after_outage(void)
{
	Redis *r = redis_start();
	SigServer *a = sig_server_new();
	sig_server_add_args(a, "--set", r->url, "--set", "limits.send_queue_max=32MiB", NULL);
	sig_server_run(a);
	WsConnectOpts slow = { .port = 0, .path = "/v1/ws", .subprotocol = "peerpipe.v1", .rcvbuf = 4096 };
	WsClient *sc = NULL;
	for (int i = 0; i < 50 && !sc; i++) {
		slow.port = sig_server_port(a);
		if (!(sc = ws_connect_opts(&slow, NULL, NULL, NULL)))
			g_usleep(100000);
	}
	g_assert_nonnull(sc);
	SigPeer *stuck = sig_peer_join_on(sc, a, "office", "stuck", "gateway");
	SigPeer *flood = join_retry(a, "office", "flood", "gateway");
	/* more than the socket buffers take (sndbuf grows to 4 MiB): the rest,
	 * up to flood's share of stuck's queue (an eighth, 4 MiB), waits in
	 * the server's queue, so the close cannot go out; beyond that share
	 * the SDPs are refused (rate_limited) */
	char *pad = g_strnfill(60000, 'x');
	for (int i = 0; i < 150; i++)
		g_assert_true(ws_send_printf(flood->ws, "{\"type\":\"SEND_SDP\",\"to\":\"%s\","
		                             "\"sdp\":{\"type\":\"offer\",\"sdp\":\"%s\"}}", stuck->id, pad));
	g_free(pad);
	/* answered in order: every SDP before it is queued for `stuck` */
	g_assert_true(ws_send_text(flood->ws, "{\"type\":\"SEND_ICE\",\"to\":\"00000000000000000000000000000000\",\"candidate\":null}"));
	for (guint refused = 0;; refused++) {
		json_t *e = sig_expect(flood->ws, "ERROR", SIG_WAIT_MS);
		const char *code = json_string_value(json_object_get(e, "code"));
		if (g_strcmp0(code, "unknown_peer") == 0) {
			g_assert_cmpuint(refused, >, 0);
			g_assert_cmpuint(refused, <, 150);
			json_decref(e);
			break;
		}
		g_assert_cmpstr(code, ==, "rate_limited");
		g_assert_cmpstr(json_string_value(json_object_get(e, "ref")), ==, "SEND_SDP");
		json_decref(e);
	}
	kill(r->pid, SIGKILL);
	waitpid(r->pid, NULL, 0);
	unlink(r->sock);
	redis_spawn(r);
	g_assert_cmpint(ws_recv_close(flood->ws, 5000, NULL), ==, 1011);

	WsClient *c = NULL;
	for (int i = 0; i < 200 && !c; i++) {
		int status = 0;
		WsConnectOpts o = { .port = sig_server_port(a), .path = "/v1/ws", .subprotocol = "peerpipe.v1" };
		if (!(c = ws_connect_opts(&o, &status, NULL, NULL)))
			g_usleep(20000);
	}
	g_assert_nonnull(c);
	/* the case under test: the room of the closing peer is still there */
	g_assert_cmpuint(metric(a, "peerpipe_signal_rooms"), ==, 1);
	SigPeer *d = sig_peer_join_on(c, a, "office", "d", "desktop");
	SigPeer *g2 = join_retry(a, "office", "g2", "gateway");
	json_t *np = sig_expect(d->ws, "NEW_PEER", SIG_WAIT_MS);
	sig_assert_peer(json_object_get(np, "peer"), g2);
	json_decref(np);
	ws_free(flood->ws);
	sig_peer_free(flood);
	ws_free(stuck->ws);
	sig_peer_free(stuck);
	sig_peer_close(g2);
	sig_peer_close(d);
	sig_server_stop_clean(a);
	redis_stop(r);
}

/* A server that accepts connections but never answers (hung, or not
 * Redis): after a few ticks the instance drops it and reconnects, so it
 * becomes ready once a working Redis listens at that address. */
static void test_unanswered_subscribe(void)
{
	Redis *r = g_new0(Redis, 1);
	r->dir = g_dir_make_tmp("pp-redis-XXXXXX", NULL);
	r->sock = g_build_filename(r->dir, "redis.sock", NULL);
	r->url = g_strdup_printf("redis.url=unix:%s", r->sock);
	int mute = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	g_strlcpy(sa.sun_path, r->sock, sizeof(sa.sun_path));
	g_assert_cmpint(bind(mute, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(mute, 16), ==, 0); /* connections wait, never accepted */

	SigServer *a = sig_server_new();
	sig_server_add_args(a, "--set", r->url, NULL);
	sig_server_run(a);
	g_usleep(300000);
	/* the connections made so far stay stuck on `mute`; new ones reach Redis */
	unlink(r->sock);
	redis_spawn(r);
	gint64 end = ws_now_ms() + 10000;
	WsClient *c = NULL;
	while (!c && ws_now_ms() < end) {
		int status = 0;
		WsConnectOpts o = { .port = sig_server_port(a), .path = "/v1/ws", .subprotocol = "peerpipe.v1" };
		if (!(c = ws_connect_opts(&o, &status, NULL, NULL))) {
			g_assert_cmpint(status, ==, 503);
			g_usleep(100000);
		}
	}
	g_assert_nonnull(c);
	SigPeer *gw = sig_peer_join_on(c, a, "office", "gw", "gateway");
	sig_peer_close(gw);
	sig_server_stop_clean(a);
	close(mute);
	redis_stop(r);
}

/* A server that never answers, for two reconnect cycles (3 ticks each):
 * one warning, not one per cycle. */
static void test_hung_redis_logged_once(void)
{
	char *dir = g_dir_make_tmp("pp-redis-XXXXXX", NULL);
	char *sock = g_build_filename(dir, "redis.sock", NULL);
	char *url = g_strdup_printf("redis.url=unix:%s", sock);
	int mute = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	g_strlcpy(sa.sun_path, sock, sizeof(sa.sun_path));
	g_assert_cmpint(bind(mute, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(mute, 16), ==, 0);
	g_assert_cmpint(fcntl(mute, F_SETFL, O_NONBLOCK), ==, 0);

	SigServer *a = sig_server_new();
	sig_server_add_args(a, "--set", url, NULL);
	sig_server_run(a);
	/* each attempt is two connections (commands, subscriptions), taken
	 * and held open here without a byte in answer */
	GArray *held = g_array_new(FALSE, FALSE, sizeof(int));
	for (int i = 0; i < 150 && held->len < 6; i++) { /* up to 15 s */
		int fd;
		g_usleep(100000);
		while ((fd = accept4(mute, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
			g_array_append_val(held, fd);
	}
	g_test_message("%u connections to the mute server", held->len);
	g_assert_cmpuint(held->len, >=, 6); /* a third attempt: two gave up */
	char *log = sig_server_log(a);
	guint warned = 0;
	for (const char *p = log; (p = strstr(p, "no answer from")); p++)
		warned++;
	g_assert_cmpuint(warned, ==, 1);
	g_free(log);
	sig_server_stop_clean(a);
	for (guint i = 0; i < held->len; i++)
		close(g_array_index(held, int, i));
	g_array_free(held, TRUE);
	close(mute);
	unlink(sock);
	rmdir(dir);
	g_free(url);
	g_free(sock);
	g_free(dir);
}

/* One instance whose Redis answers can be held back (redis_hold.h), and
 * Redis itself for a second instance to use directly. */
typedef struct {
	Redis *r;
	char *relay;
	RedisHold *h;
	char *url;
	SigServer *a;
} Held;

static void held_start(Held *x)
{
	x->r = redis_start();
	x->relay = g_build_filename(x->r->dir, "relay.sock", NULL);
	x->h = redis_hold_start(x->relay, x->r->sock);
	x->url = g_strdup_printf("redis.url=unix:%s", x->relay);
	x->a = sig_server_new();
	sig_server_add_args(x->a, "--set", x->url, NULL);
	sig_server_run(x->a);
}

static void held_stop(Held *x)
{
	sig_server_stop_clean(x->a);
	redis_hold_stop(x->h);
	unlink(x->relay);
	g_free(x->relay);
	g_free(x->url);
	redis_stop(x->r);
}

/* A new connection to s that sends JOIN_ROOM (JOINED not awaited). */
static WsClient *join_send(SigServer *s, const char *room, const char *name, const char *role)
{
	WsClient *c = ws_connect(sig_server_port(s));
	char *fp = sig_fingerprint();
	sig_send_join(c, s, room, name, role, fp);
	g_free(fp);
	return c;
}

/* A peer that goes while its join waits for Redis's answer, after its join
 * event announced it (NEW_PEER) to a member on the same instance: that
 * member gets PEER_LEFT. A relay holds the answer back, so the event (on
 * the other connection) is heard first. */
static void test_leave_during_join(void)
{
	Held x;
	held_start(&x);
	SigPeer *gw = join_retry(x.a, "office", "gw", "gateway");

	redis_hold_arm(x.h, "pp:members:office", 1500); /* the next join script */
	WsClient *c = join_send(x.a, "office", "d", "desktop");
	json_t *np = sig_expect(gw->ws, "NEW_PEER", SIG_WAIT_MS);
	char *id = g_strdup(json_string_value(json_object_get(json_object_get(np, "peer"), "peer_id")));
	json_decref(np);
	sig_expect_silence(c, 200); /* no JOINED yet: the join is in flight */
	ws_abort(c);
	json_t *left = sig_expect(gw->ws, "PEER_LEFT", SIG_WAIT_MS);
	g_assert_cmpstr(json_string_value(json_object_get(left, "peer_id")), ==, id);
	json_decref(left);
	/* the held answer and the L| event come later: nothing more for gw */
	sig_expect_silence(gw->ws, 1500);

	g_free(id);
	sig_peer_close(gw);
	held_stop(&x);
}

/* A member still joining (its JOINED waits for Redis) holds its NEW_PEERs.
 * A newer peer that joins and leaves meanwhile must not stay in its
 * roster: the held NEW_PEER is taken back (or a PEER_LEFT follows). */
static void test_newer_peer_left_during_join(void)
{
	Held x;
	held_start(&x);
	SigPeer *gw = join_retry(x.a, "office", "gw", "gateway");

	redis_hold_arm(x.h, "pp:members:office", 1500); /* the desktop's join script and after */
	WsClient *c = join_send(x.a, "office", "d", "desktop");
	json_decref(sig_expect(gw->ws, "NEW_PEER", SIG_WAIT_MS)); /* the desktop, seq known */
	/* a newer gateway joins (its event reaches the desktop's held list)
	 * and vanishes before the desktop's JOINED */
	WsClient *c2 = join_send(x.a, "office", "gw2", "gateway");
	json_t *np = sig_wait_for(gw->ws, "NEW_PEER", SIG_WAIT_MS, NULL);
	char *id2 = g_strdup(json_string_value(json_object_get(json_object_get(np, "peer"), "peer_id")));
	json_decref(np);
	ws_abort(c2);
	json_t *left = sig_wait_for(gw->ws, "PEER_LEFT", SIG_WAIT_MS, NULL);
	g_assert_cmpstr(json_string_value(json_object_get(left, "peer_id")), ==, id2);
	json_decref(left);
	/* the desktop's roster, from JOINED on: gw2 is never in it at the end */
	json_t *joined = sig_expect(c, "JOINED", 5000);
	GHashTable *roster = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	json_t *peers = json_object_get(joined, "peers"), *pe;
	size_t i;
	json_array_foreach(peers, i, pe)
		g_hash_table_add(roster, g_strdup(json_string_value(json_object_get(pe, "peer_id"))));
	json_decref(joined);
	char *t;
	while ((t = ws_recv_text(c, 1000))) {
		json_t *j = sig_parse(t);
		const char *type = json_string_value(json_object_get(j, "type"));
		g_test_message("desktop got %s", t);
		if (g_strcmp0(type, "NEW_PEER") == 0)
			g_hash_table_add(roster, g_strdup(json_string_value(
			                             json_object_get(json_object_get(j, "peer"), "peer_id"))));
		else if (g_strcmp0(type, "PEER_LEFT") == 0)
			g_hash_table_remove(roster, json_string_value(json_object_get(j, "peer_id")));
		json_decref(j);
		g_free(t);
	}
	g_assert_true(g_hash_table_contains(roster, gw->id));
	g_assert_false(g_hash_table_contains(roster, id2));
	g_hash_table_destroy(roster);

	ws_abort(c);
	g_free(id2);
	sig_peer_close(gw);
	held_stop(&x);
}

/* Redis stops answering (SIGSTOP) and the instance is told to stop: it
 * waits its drain for the last commands, then drops the link and exits 0
 * (under ASan: with nothing leaked, which it did before). */
static void test_hung_redis_at_stop(void)
{
	Redis *r = redis_start();
	SigServer *a = sig_server_new();
	sig_server_add_args(a, "--set", r->url, NULL);
	sig_server_run(a);
	SigPeer *gw = join_retry(a, "office", "gw", "gateway");
	kill(r->pid, SIGSTOP);
	g_assert_true(sig_send_ice_marker(gw->ws, "00000000000000000000000000000000", "x"));
	json_decref(sig_expect_error(gw->ws, "unknown_peer", "SEND_ICE", SIG_WAIT_MS));
	sig_peer_close(gw); /* its leave goes to Redis and is never answered */
	g_usleep(200 * 1000);
	int st = sig_server_stop(a, 10000);
	char *log = sig_server_log(a);
	kill(r->pid, SIGCONT);
	g_assert_true(st != -1 && WIFEXITED(st));
	if (WEXITSTATUS(st) != 0)
		g_test_message("server log:\n%s", log);
	g_assert_cmpint(WEXITSTATUS(st), ==, 0);
	g_assert_nonnull(strstr(log, "did not answer our last commands in time; dropping the link"));
	g_free(log);
	sig_server_free(a);
	redis_stop(r);
}

/* A member whose JOINED waits for Redis is announced already (its event
 * came first), and the existing members, who offer, may write to it at
 * once: from the same instance and from another. What they send is held
 * and follows JOINED; nobody gets unknown_peer, nothing is dropped. */
static void test_relay_to_joining(void)
{
	Held x;
	held_start(&x);
	SigServer *b = sig_server_new();
	sig_server_share_secret(b, x.a);
	sig_server_add_args(b, "--set", x.r->url, NULL);
	sig_server_run(b);
	SigPeer *near = join_retry(x.a, "office", "near", "gateway");
	SigPeer *far = join_retry(b, "office", "far", "gateway");
	json_decref(sig_wait_for(near->ws, "NEW_PEER", SIG_WAIT_MS, NULL)); /* far */

	redis_hold_arm(x.h, "pp:members:office", 1500); /* the desktop's join script */
	WsClient *c = join_send(x.a, "office", "d", "desktop");
	SigPeer *offerers[] = { near, far };
	char *did = NULL;
	for (int i = 0; i < 2; i++) {
		json_t *np = sig_wait_for(offerers[i]->ws, "NEW_PEER", SIG_WAIT_MS, NULL);
		const char *id = json_string_value(json_object_get(json_object_get(np, "peer"), "peer_id"));
		if (!did)
			did = g_strdup(id);
		g_assert_cmpstr(id, ==, did);
		json_decref(np);
		g_assert_true(ws_send_printf(offerers[i]->ws, "{\"type\":\"SEND_SDP\",\"to\":\"%s\","
		                             "\"sdp\":{\"type\":\"offer\",\"sdp\":\"v=0 from %s\"}}",
		                             did, offerers[i]->name));
	}
	sig_expect_silence(near->ws, 300); /* no unknown_peer */
	sig_expect_silence(far->ws, 300);
	json_t *joined = sig_expect(c, "JOINED", 5000);
	json_decref(joined);
	guint forwarded = 0;
	for (int i = 0; i < 2; i++) {
		json_t *f = sig_wait_for(c, "FORWARD_SDP", 3000, NULL);
		const char *from = json_string_value(json_object_get(f, "from"));
		g_assert_true(g_strcmp0(from, near->id) == 0 || g_strcmp0(from, far->id) == 0);
		forwarded++;
		json_decref(f);
	}
	g_assert_cmpuint(forwarded, ==, 2);

	ws_abort(c);
	g_free(did);
	sig_peer_close(near);
	sig_peer_close(far);
	sig_server_stop_clean(b);
	held_stop(&x);
}

/* A Redis that wants a password: the right one from redis.password_file
 * lets peers in; without it the instance never becomes ready (503). */
static void test_redis_auth(void)
{
	redis_password = "s3cret-for-tests";
	Redis *r = redis_start();
	redis_password = NULL;
	SigServer *a = sig_server_new();
	const char *pw = sig_server_write_file(a, "redis.pw", "s3cret-for-tests\n", -1);
	char *set_pw = g_strdup_printf("redis.password_file=%s", pw);
	sig_server_add_args(a, "--set", r->url, "--set", set_pw, NULL);
	sig_server_run(a);
	SigPeer *gw = join_retry(a, "office", "gw", "gateway");
	sig_peer_close(gw);
	sig_server_stop_clean(a);

	SigServer *b = sig_server_new();
	sig_server_add_args(b, "--set", r->url, NULL);
	sig_server_run(b);
	g_usleep(1500000);
	int status = 0;
	WsConnectOpts o = { .port = sig_server_port(b), .path = "/v1/ws", .subprotocol = "peerpipe.v1" };
	g_assert_null(ws_connect_opts(&o, &status, NULL, NULL));
	g_assert_cmpint(status, ==, 503);
	char *log = sig_server_log(b);
	g_assert_nonnull(strstr(log, "NOAUTH"));
	g_assert_null(strstr(log, "s3cret"));
	g_free(log);
	sig_server_stop_clean(b);
	g_free(set_pw);
	redis_stop(r);
}

int main(int argc, char **argv)
{
	sig_test_init(&argc, &argv);
	g_test_add_func("/cluster/cross-instance-flow", test_cross_instance_flow);
	g_test_add_func("/cluster/relay-refused-across", test_relay_refused_across);
	g_test_add_func("/cluster/concurrent-join-order", test_concurrent_join_order);
	g_test_add_func("/cluster/room-full", test_room_full_across_instances);
	g_test_add_func("/cluster/room-full-retry", test_room_full_retry);
	g_test_add_func("/cluster/instance-crash", test_instance_crash);
	g_test_add_func("/cluster/broker-loss", test_broker_loss);
	g_test_add_func("/cluster/redis-auth", test_redis_auth);
	g_test_add_func("/cluster/unanswered-subscribe", test_unanswered_subscribe);
	g_test_add_func("/cluster/hung-redis-logged-once", test_hung_redis_logged_once);
	g_test_add_func("/cluster/leave-during-join", test_leave_during_join);
	g_test_add_func("/cluster/newer-peer-left-during-join", test_newer_peer_left_during_join);
	g_test_add_func("/cluster/hung-redis-at-stop", test_hung_redis_at_stop);
	g_test_add_func("/cluster/relay-to-joining", test_relay_to_joining);
	g_test_add_func("/cluster/join-during-outage", test_join_during_outage);
	g_test_add_func("/cluster/resubscribe-after-outage", test_resubscribe_after_outage);
	return g_test_run();
}
