/* SPDX-License-Identifier: Apache-2.0 */
/* Hostile connections must not hurt others: while one healthy pair keeps
 * relaying (each message within a second), other connections send garbage,
 * deeply nested JSON, 1 MiB frames, lying frame headers, slowloris partial
 * requests and frames, and one peer never reads. The server survives. */
#include "sigpeer.h"

#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEALTHY_DEADLINE_MS 1000

typedef struct {
	SigPeer *a, *b;
	gint stop;
	/* results, read after the join */
	guint rounds;
	gint64 max_ms;
	char *failure;
} Healthy;

static gboolean relay_once(Healthy *h, SigPeer *from, SigPeer *to, guint n)
{
	char marker[32];
	g_snprintf(marker, sizeof(marker), "h%u", n);
	gint64 t0 = ws_now_ms();
	if (!sig_send_ice_marker(from->ws, to->id, marker)) {
		h->failure = g_strdup_printf("round %u: send failed", n);
		return FALSE;
	}
	char *t = ws_recv_text(to->ws, HEALTHY_DEADLINE_MS);
	gint64 dt = ws_now_ms() - t0;
	if (!t) {
		h->failure = g_strdup_printf("round %u: nothing within %d ms (event %d)", n,
		                             HEALTHY_DEADLINE_MS, ws_last_event(to->ws));
		return FALSE;
	}
	gboolean ok = strstr(t, "\"FORWARD_ICE\"") && strstr(t, marker) && strstr(t, from->id);
	if (!ok)
		h->failure = g_strdup_printf("round %u: unexpected message %s", n, t);
	g_free(t);
	h->max_ms = MAX(h->max_ms, dt);
	return ok;
}

static gpointer healthy_loop(gpointer data)
{
	Healthy *h = data;
	for (guint n = 0; !g_atomic_int_get(&h->stop); n++) {
		if (!relay_once(h, h->a, h->b, n) || !relay_once(h, h->b, h->a, n))
			break;
		h->rounds++;
		g_usleep(20 * 1000);
	}
	return NULL;
}

static WsClient *join_evil(SigServer *s, const char *name, const char *role, char **id)
{
	SigPeer *p = sig_peer_join(s, "evil", name, role);
	WsClient *ws = p->ws;
	if (id)
		*id = g_strdup(p->id);
	sig_peer_free(p);
	return ws;
}

static void garbage(SigServer *s, GPtrArray *keep)
{
	static const char *const junk[] = {
		"{{{{", "}", "[]", "null", "\"JOIN_ROOM\"", "{\"type\":\"JOIN_ROOM\"",
		"{\"type\":\"SEND_SDP\",\"to\":\"", "1e99999999", "{\"type\":\"\\ud800\"}",
		"{\"type\":\"JOIN_ROOM\",\"type\":\"LEAVE_ROOM\"}", "\t\r\n ",
		"{\"type\":\"SEND_ICE\",\"to\":\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\",\"candidate\":null}",
	};
	for (int c = 0; c < 10; c++) {
		WsClient *ws = c % 2 ? join_evil(s, "junk", "gateway", NULL) : ws_connect(sig_server_port(s));
		for (gsize i = 0; i < G_N_ELEMENTS(junk); i++)
			ws_send_text(ws, junk[i]);
		/* invalid UTF-8 in a text frame, control frames with odd payloads */
		ws_send_text_len(ws, "\xff\xfe\xfd", 3);
		ws_send_frame(ws, TRUE, WS_OP_PONG, "unsolicited", 11);
		ws_send_frame(ws, TRUE, 0x3, "reserved opcode", 15);
		g_ptr_array_add(keep, ws);
	}
}

static void nested(SigServer *s, GPtrArray *keep)
{
	char *id = NULL;
	WsClient *ws = join_evil(s, "nest", "gateway", &id);
	/* 30000 levels of arrays: valid JSON, 60 KB */
	gsize depth = 30000;
	char *deep = g_malloc(2 * depth + 1);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[2 * depth] = '\0';
	g_assert_true(ws_send_text(ws, deep));
	json_decref(sig_expect_error(ws, "bad_request", NULL, SIG_WAIT_MS));
	/* the same inside a relayed payload, and objects */
	GString *m = g_string_new("{\"type\":\"SEND_ICE\",\"to\":\"");
	g_string_append_printf(m, "%s\",\"candidate\":{\"candidate\":\"c\",\"x\":", id);
	for (int i = 0; i < 10000; i++)
		g_string_append(m, "{\"a\":");
	g_string_append(m, "1");
	for (int i = 0; i < 10000; i++)
		g_string_append_c(m, '}');
	g_string_append(m, "}}");
	g_assert_true(ws_send_text(ws, m->str));
	/* whatever the answer, the connection is alive afterwards */
	g_assert_true(ws_send_text(ws, "not json"));
	json_decref(sig_wait_for(ws, "ERROR", SIG_WAIT_MS, NULL));
	g_string_free(m, TRUE);
	g_free(deep);
	g_free(id);
	g_ptr_array_add(keep, ws);
}

static void huge_frames(SigServer *s)
{
	gsize n = 1024 * 1024;
	char *big = g_malloc(n);
	memset(big, 'x', n);
	memcpy(big, "{\"type\":\"JOIN_ROOM\",\"pad\":\"", 27);
	big[n - 2] = '"';
	big[n - 1] = '}';
	WsClient *ws[4];
	for (int i = 0; i < 4; i++) {
		ws[i] = i % 2 ? join_evil(s, "big", "gateway", NULL) : ws_connect(sig_server_port(s));
		ws_send_text_len(ws[i], big, n); /* the server may cut us off early */
	}
	for (int i = 0; i < 4; i++) {
		int code = ws_recv_close(ws[i], 5000, NULL);
		g_test_message("1 MiB frame %d: close %d", i, code);
		g_assert_cmpint(code, ==, 1009);
		ws_free(ws[i]);
	}
	/* 1 MiB as 256 fragments */
	WsClient *f = join_evil(s, "frag", "gateway", NULL);
	ws_send_fragmented(f, big, n, 256);
	g_assert_cmpint(ws_recv_close(f, 5000, NULL), ==, 1009);
	ws_free(f);
	g_free(big);

	/* a header claiming 2^63-1 bytes, then more than the limit of them */
	WsClient *liar = ws_connect(sig_server_port(s));
	gsize lie = 70 * 1024;
	char *junk = g_malloc(lie);
	memset(junk, 'x', lie);
	ws_send_frame_declared(liar, TRUE, WS_OP_TEXT, G_MAXINT64, junk, lie);
	g_free(junk);
	int code = ws_recv_close(liar, 5000, NULL);
	g_test_message("2^63 header: close %d", code);
	g_assert_true(code == 1009 || code == 1002);
	ws_free(liar);
}

static void slowloris(SigServer *s, GPtrArray *keep, GPtrArray *raw_fds)
{
	guint16 port = sig_server_port(s);
	for (int i = 0; i < 10; i++) {
		/* half an HTTP upgrade request, then silence */
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = g_htons(port),
		                          .sin_addr.s_addr = g_htonl(0x7f000001) };
		g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
		static const char half[] = "GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: webs";
		g_assert_cmpint(send(fd, half, sizeof(half) - 1, MSG_NOSIGNAL), ==, (gssize)sizeof(half) - 1);
		g_ptr_array_add(raw_fds, GINT_TO_POINTER(fd));
	}
	for (int i = 0; i < 10; i++) {
		/* a frame that promises 1000 bytes and delivers 10 */
		WsClient *ws = i % 2 ? join_evil(s, "slow", "gateway", NULL) : ws_connect(port);
		g_assert_true(ws_send_frame_declared(ws, TRUE, WS_OP_TEXT, 1000, "{\"type\":\"", 9));
		g_ptr_array_add(keep, ws);
	}
	for (int i = 0; i < 10; i++) {
		/* two bytes of a 64-bit-length header */
		WsClient *ws = join_evil(s, "slow", "desktop", NULL);
		g_assert_true(ws_send_raw(ws, "\x81\xff", 2));
		g_ptr_array_add(keep, ws);
	}
}

/* One peer never reads, and a gateway floods it. Its queue takes relays
 * up to its share; then the flooder is refused and the reader stays:
 * what others send never gets a peer dropped (the ping deadline deals
 * with a dead one). */
static void never_reader(SigServer *s, GPtrArray *keep)
{
	WsClient *ws = sig_connect_never_reading(sig_server_port(s));
	SigPeer *x = sig_peer_join_on(ws, s, "evil", "sloth", "desktop");
	char *xid = g_strdup(x->id);
	sig_peer_free(x);
	SigPeer *g = sig_peer_join(s, "evil", "firehose", "gateway");
	g_assert_nonnull(sig_find_peer(json_object_get(g->joined, "peers"), xid));
	gint64 t0 = ws_now_ms();
	int sent = sig_flood_until_refused(g->ws, xid);
	g_test_message("never-reader: the flooder refused after %d messages, %" G_GINT64_FORMAT " ms",
	               sent, ws_now_ms() - t0);
	/* x is still in the room: a newcomer gateway sees it */
	SigPeer *late = sig_peer_join(s, "evil", "late", "gateway");
	g_assert_nonnull(sig_find_peer(json_object_get(late->joined, "peers"), xid));
	sig_peer_close(late);
	g_free(xid);
	g_ptr_array_add(keep, ws);
	g_ptr_array_add(keep, g->ws);
	sig_peer_free(g);
}

/* A flooder takes its share of a slow gateway's queue and is refused;
 * another desktop's candidate of the same size still goes in, and the
 * gateway, once it reads, gets it after the flooder's: one sender cannot
 * take the room of the others, and nobody is dropped. */
static void test_relay_share(void)
{
	SigServer *s = sig_server_start("--set", "limits.send_queue_max=256KiB", NULL);
	SigPeer *gw = sig_peer_join_on(sig_connect_never_reading(sig_server_port(s)), s, "office", "gw", "gateway");
	SigPeer *mallory = sig_peer_join(s, "office", "mallory", "desktop");
	SigPeer *alice = sig_peer_join(s, "office", "alice", "desktop");
	int sent = sig_flood_until_refused(mallory->ws, gw->id);
	/* as large as mallory's: it fits only because mallory is held to her
	 * eighth (32 KiB) of the queue; with the relays' half alone she would
	 * hold 120 KB of the 128 KiB, and with no share at all the gateway
	 * would be dropped (queue over 256 KiB) */
	char *pad = g_strnfill(60 * 1024, 'a');
	g_assert_true(ws_send_printf(alice->ws, "{\"type\":\"SEND_ICE\",\"to\":\"%s\",\"candidate\":"
	                             "{\"candidate\":\"%s ufrag alice1\"}}", gw->id, pad));
	g_free(pad);
	sig_expect_silence(alice->ws, 500); /* no ERROR for her */
	int from_mallory = 0;
	for (;;) {
		char *t = ws_recv_text(gw->ws, 10000);
		g_assert_nonnull(t);
		json_t *j = sig_parse(t);
		g_free(t);
		const char *type = json_string_value(json_object_get(j, "type"));
		if (g_strcmp0(type, "NEW_PEER") == 0) { /* mallory's and alice's, first */
			json_decref(j);
			continue;
		}
		g_assert_cmpstr(type, ==, "FORWARD_ICE");
		const char *from = json_string_value(json_object_get(j, "from"));
		if (g_strcmp0(from, alice->id) == 0) {
			const char *c = json_string_value(json_object_get(json_object_get(j, "candidate"), "candidate"));
			g_assert_true(g_str_has_suffix(c, "ufrag alice1"));
			json_decref(j);
			break;
		}
		g_assert_cmpstr(from, ==, mallory->id);
		from_mallory++;
		json_decref(j);
	}
	g_test_message("relay-share: mallory sent %d, %d reached the gateway before alice's", sent,
	               from_mallory);
	g_assert_cmpint(from_mallory, >, 0);
	g_assert_cmpint(from_mallory, <, sent);
	sig_peer_close(alice);
	sig_peer_close(mallory);
	sig_peer_close(gw);
	sig_server_stop_clean(s);
}

static void test_hostile_neighbours(void)
{
	SigServer *s = sig_server_start("--set", "limits.send_queue_max=256KiB", NULL);
	Healthy h = { 0 };
	h.a = sig_peer_join(s, "office", "gw1", "gateway");
	h.b = sig_peer_join(s, "office", "alice", "desktop");
	json_decref(sig_expect(h.a->ws, "NEW_PEER", SIG_WAIT_MS));
	GThread *th = g_thread_new("healthy", healthy_loop, &h);
	GPtrArray *keep = g_ptr_array_new();
	GPtrArray *raw_fds = g_ptr_array_new();

	g_test_message("garbage");
	garbage(s, keep);
	g_test_message("nested");
	nested(s, keep);
	g_test_message("huge frames");
	huge_frames(s);
	g_test_message("slowloris");
	slowloris(s, keep, raw_fds);
	g_test_message("never reader");
	never_reader(s, keep);
	g_usleep(1000 * 1000); /* the healthy pair keeps going with all of it open */

	g_atomic_int_set(&h.stop, 1);
	g_thread_join(th);
	g_test_message("healthy pair: %u rounds, slowest %" G_GINT64_FORMAT " ms, failure: %s",
	               h.rounds, h.max_ms, h.failure ? h.failure : "none");
	g_assert_null(h.failure);
	g_assert_cmpuint(h.rounds, >=, 10);
	g_assert_cmpint(h.max_ms, <, HEALTHY_DEADLINE_MS);

	/* the server survives and serves */
	g_assert_true(sig_server_alive(s));
	char *body = NULL;
	g_assert_cmpint(http_get(sig_server_port(s), "/healthz", &body, NULL), ==, 200);
	g_free(body);
	SigPeer *c = sig_peer_join(s, "office", "gw2", "gateway");
	g_assert_cmpuint(json_array_size(json_object_get(c->joined, "peers")), ==, 2);

	for (guint i = 0; i < keep->len; i++)
		ws_abort(keep->pdata[i]);
	for (guint i = 0; i < raw_fds->len; i++)
		close(GPOINTER_TO_INT(raw_fds->pdata[i]));
	g_ptr_array_unref(keep);
	g_ptr_array_unref(raw_fds);
	g_free(h.failure);
	sig_peer_close(c);
	sig_peer_close(h.a);
	sig_peer_close(h.b);
	sig_server_stop_clean(s);
}

int main(int argc, char **argv)
{
	sig_test_init(&argc, &argv);
	g_test_add_func("/signal/hostile/neighbours", test_hostile_neighbours);
	g_test_add_func("/signal/hostile/relay-share", test_relay_share);
	return g_test_run();
}
