/* SPDX-License-Identifier: Apache-2.0 */
#include "sigpeer.h"

#include <signal.h>
#include <string.h>

void sig_test_init(int *argc, char ***argv)
{
	signal(SIGPIPE, SIG_IGN);
	g_test_init(argc, argv, NULL);
}

char *sig_fingerprint(void)
{
	GString *s = g_string_new("sha-256 ");
	for (int i = 0; i < 32; i++)
		g_string_append_printf(s, "%s%02X", i ? ":" : "", g_random_int() & 0xff);
	return g_string_free(s, FALSE);
}

char *sig_join_text(const char *room, const char *token, const char *fingerprint)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "type", "JOIN_ROOM", "room", room,
	                      "token", token, "fingerprint", fingerprint);
	char *t = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	char *r = g_strdup(t);
	free(t);
	return r;
}

gboolean sig_is_peer_id(const char *s)
{
	if (!s || strlen(s) != 32)
		return FALSE;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return FALSE;
	return TRUE;
}

json_t *sig_parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
	if (!j)
		g_error("server sent invalid JSON (%s): %s", e.text, text);
	if (!json_is_object(j) || !json_is_string(json_object_get(j, "type")))
		g_error("server message is not an object with a string type: %s", text);
	return j;
}

static const char *event_name(WsEvent ev)
{
	switch (ev) {
	case WS_EV_TEXT: return "text";
	case WS_EV_BINARY: return "binary message";
	case WS_EV_CLOSE: return "close frame";
	case WS_EV_EOF: return "end of connection";
	case WS_EV_TIMEOUT: return "timeout";
	case WS_EV_ERROR: return "framing error";
	}
	return "?";
}

char *sig_expect_raw(WsClient *c, const char *type, int timeout_ms)
{
	char *t = ws_recv_text(c, timeout_ms);
	if (!t) {
		g_test_message("expected %s, got %s (close code %d)", type,
		               event_name(ws_last_event(c)), ws_close_code(c));
		g_assert_nonnull(t);
	}
	json_t *j = sig_parse(t);
	const char *got = json_string_value(json_object_get(j, "type"));
	if (strcmp(got, type) != 0) {
		g_test_message("expected %s, got: %s", type, t);
		g_assert_cmpstr(got, ==, type);
	}
	json_decref(j);
	return t;
}

json_t *sig_expect(WsClient *c, const char *type, int timeout_ms)
{
	char *t = sig_expect_raw(c, type, timeout_ms);
	json_t *j = sig_parse(t);
	g_free(t);
	return j;
}

json_t *sig_wait_for(WsClient *c, const char *type, int timeout_ms, guint *skipped)
{
	gint64 deadline = ws_now_ms() + timeout_ms;
	if (skipped)
		*skipped = 0;
	for (;;) {
		gint64 left = deadline - ws_now_ms();
		char *t = ws_recv_text(c, (int)MAX(left, 0));
		if (!t) {
			g_test_message("waiting for %s: got %s (close code %d)", type,
			               event_name(ws_last_event(c)), ws_close_code(c));
			g_assert_nonnull(t);
		}
		json_t *j = sig_parse(t);
		g_free(t);
		if (strcmp(json_string_value(json_object_get(j, "type")), type) == 0)
			return j;
		if (skipped)
			(*skipped)++;
		json_decref(j);
	}
}

json_t *sig_expect_error(WsClient *c, const char *code, const char *ref, int timeout_ms)
{
	char *t = sig_expect_raw(c, "ERROR", timeout_ms);
	g_test_message("got %s", t);
	json_t *j = sig_parse(t);
	json_t *jc = json_object_get(j, "code");
	json_t *jm = json_object_get(j, "message");
	json_t *jr = json_object_get(j, "ref");
	g_assert_true(json_is_string(jc));
	g_assert_cmpstr(json_string_value(jc), ==, code);
	g_assert_true(json_is_string(jm));
	g_assert_cmpuint(json_string_length(jm), >, 0);
	/* A wrong ref does not change what follows: it fails the test case
	 * without stopping it, so the rest of the case still runs. */
	if (ref == NULL) {
		if (!(jr == NULL || json_is_null(jr)))
			g_test_fail_printf("ERROR %s should have no ref: %s", code, t);
	} else if (strcmp(ref, "*") != 0) {
		if (!json_is_string(jr) || strcmp(json_string_value(jr), ref) != 0)
			g_test_fail_printf("ERROR %s should have ref \"%s\": %s", code, ref, t);
	}
	g_free(t);
	return j;
}

void sig_expect_silence(WsClient *c, int ms)
{
	char *p = NULL;
	int code = 0;
	WsEvent ev = ws_recv(c, ms, &p, NULL, &code);
	if (ev != WS_EV_TIMEOUT)
		g_test_message("expected silence for %d ms, got %s: %s (close %d)", ms,
		               event_name(ev), p ? p : "", code);
	g_free(p);
	g_assert_cmpint(ev, ==, WS_EV_TIMEOUT);
}

void sig_expect_close(WsClient *c, int code, int timeout_ms)
{
	char *p = NULL;
	int got = 0;
	WsEvent ev = ws_recv(c, timeout_ms, &p, NULL, &got);
	if (ev != WS_EV_CLOSE || got != code)
		g_test_message("expected close %d, got %s %s (close %d)", code,
		               event_name(ev), p ? p : "", got);
	g_free(p);
	g_assert_cmpint(ev, ==, WS_EV_CLOSE);
	g_assert_cmpint(got, ==, code);
}

json_t *sig_find_peer(json_t *peers, const char *id)
{
	size_t i;
	json_t *p;
	json_array_foreach(peers, i, p) {
		if (g_strcmp0(json_string_value(json_object_get(p, "peer_id")), id) == 0)
			return p;
	}
	return NULL;
}

void sig_assert_peer(json_t *obj, const SigPeer *p)
{
	g_assert_true(json_is_object(obj));
	g_assert_cmpstr(json_string_value(json_object_get(obj, "peer_id")), ==, p->id);
	g_assert_cmpstr(json_string_value(json_object_get(obj, "name")), ==, p->name);
	g_assert_cmpstr(json_string_value(json_object_get(obj, "role")), ==, p->role);
	g_assert_cmpstr(json_string_value(json_object_get(obj, "fingerprint")), ==, p->fingerprint);
}

void sig_send_join(WsClient *ws, SigServer *s, const char *room, const char *name,
                   const char *role, const char *fingerprint)
{
	char *tok = sig_token(s, name, room, role);
	char *join = sig_join_text(room, tok, fingerprint);
	g_assert_true(ws_send_text(ws, join));
	g_free(join);
	g_free(tok);
}

SigPeer *sig_peer_join_on(WsClient *ws, SigServer *s, const char *room,
                          const char *name, const char *role)
{
	SigPeer *p = g_new0(SigPeer, 1);
	p->ws = ws;
	p->name = g_strdup(name);
	p->role = g_strdup(role);
	p->room = g_strdup(room);
	p->fingerprint = sig_fingerprint();
	sig_send_join(ws, s, room, name, role, p->fingerprint);
	p->joined = sig_expect(ws, "JOINED", SIG_WAIT_MS);
	g_assert_cmpstr(json_string_value(json_object_get(p->joined, "room")), ==, room);
	const char *id = json_string_value(json_object_get(p->joined, "peer_id"));
	g_assert_true(sig_is_peer_id(id));
	p->id = g_strdup(id);
	g_assert_true(json_is_array(json_object_get(p->joined, "peers")));
	g_assert_true(json_is_array(json_object_get(p->joined, "ice_servers")));
	return p;
}

SigPeer *sig_peer_join(SigServer *s, const char *room, const char *name, const char *role)
{
	return sig_peer_join_on(ws_connect(sig_server_port(s)), s, room, name, role);
}

void sig_peer_free(SigPeer *p)
{
	if (!p)
		return;
	g_free(p->id);
	g_free(p->name);
	g_free(p->role);
	g_free(p->room);
	g_free(p->fingerprint);
	json_decref(p->joined);
	g_free(p);
}

void sig_peer_close(SigPeer *p)
{
	if (!p)
		return;
	ws_close(p->ws);
	sig_peer_free(p);
}

gboolean sig_send_ice_marker(WsClient *c, const char *to, const char *marker)
{
	return ws_send_printf(c, "{\"type\":\"SEND_ICE\",\"to\":\"%s\",\"candidate\":"
	                      "{\"candidate\":\"candidate:1 1 udp 2122260223 10.0.0.2 54321 typ host ufrag %s\","
	                      "\"sdpMid\":\"0\",\"sdpMLineIndex\":0}}", to, marker);
}

void sig_expect_ice_marker(WsClient *c, const char *from, const char *marker, int timeout_ms)
{
	json_t *j = sig_expect(c, "FORWARD_ICE", timeout_ms);
	g_assert_cmpstr(json_string_value(json_object_get(j, "from")), ==, from);
	json_t *cand = json_object_get(j, "candidate");
	char *want = g_strdup_printf("candidate:1 1 udp 2122260223 10.0.0.2 54321 typ host ufrag %s", marker);
	g_assert_cmpstr(json_string_value(json_object_get(cand, "candidate")), ==, want);
	g_free(want);
	json_decref(j);
}

/* Sends 60 KB candidates from `from` to `to` until one is refused with
 * rate_limited (ref SEND_ICE); returns how many went. Reads what `from`
 * gets meanwhile: never a PEER_LEFT for `to` (others may come and go). */
int sig_flood_until_refused(WsClient *from, const char *to)
{
	GString *m = g_string_new(NULL);
	g_string_append_printf(m, "{\"type\":\"SEND_ICE\",\"to\":\"%s\",\"candidate\":{\"candidate\":\"", to);
	for (gsize i = 0; i < 60 * 1024; i++)
		g_string_append_c(m, 'c');
	g_string_append(m, "\"}}");
	int sent = 0;
	gboolean refused = FALSE;
	for (; sent < 150 && !refused; sent++) {
		g_assert_true(ws_send_text(from, m->str));
		char *t;
		while (!refused && (t = ws_recv_text(from, sent == 149 ? 5000 : 0))) {
			json_t *j = sig_parse(t);
			const char *type = json_string_value(json_object_get(j, "type"));
			if (g_strcmp0(type, "ERROR") == 0) {
				g_assert_cmpstr(json_string_value(json_object_get(j, "code")), ==, "rate_limited");
				g_assert_cmpstr(json_string_value(json_object_get(j, "ref")), ==, "SEND_ICE");
				refused = TRUE;
			} else if (g_strcmp0(type, "PEER_LEFT") == 0) {
				g_assert_cmpstr(json_string_value(json_object_get(j, "peer_id")), !=, to);
			} else {
				g_assert_cmpstr(type, ==, "NEW_PEER");
			}
			json_decref(j);
			g_free(t);
		}
	}
	g_assert_true(refused);
	g_string_free(m, TRUE);
	return sent;
}

WsClient *sig_connect_never_reading(int port)
{
	WsConnectOpts o = { .port = port, .subprotocol = WS_SUBPROTOCOL, .rcvbuf = 4096 };
	WsClient *ws = ws_connect_opts(&o, NULL, NULL, NULL);
	g_assert_nonnull(ws);
	return ws;
}

/* ---- raw spans: an independent little scanner -------------------------- */

static gsize skip_ws(const char *t, gsize len, gsize i)
{
	while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n'))
		i++;
	return i;
}

/* i at '"'; index after the closing quote, or 0 */
static gsize skip_string(const char *t, gsize len, gsize i)
{
	for (i++; i < len; i++) {
		if (t[i] == '\\')
			i++;
		else if (t[i] == '"')
			return i + 1;
	}
	return 0;
}

/* Index after the value starting at i, or 0. */
static gsize skip_value(const char *t, gsize len, gsize i)
{
	if (i >= len)
		return 0;
	if (t[i] == '"')
		return skip_string(t, len, i);
	if (t[i] == '{' || t[i] == '[') {
		int depth = 0;
		for (; i < len; i++) {
			if (t[i] == '"') {
				gsize e = skip_string(t, len, i);
				if (!e)
					return 0;
				i = e - 1;
			} else if (t[i] == '{' || t[i] == '[') {
				depth++;
			} else if (t[i] == '}' || t[i] == ']') {
				if (--depth == 0)
					return i + 1;
			}
		}
		return 0;
	}
	while (i < len && !strchr(",}] \t\r\n", t[i]))
		i++;
	return i;
}

gboolean sig_json_member_raw(const char *text, gsize len, const char *key,
                             const char **val, gsize *vlen)
{
	gsize i = skip_ws(text, len, 0);
	if (i >= len || text[i] != '{')
		return FALSE;
	i++;
	for (;;) {
		i = skip_ws(text, len, i);
		if (i >= len || text[i] != '"')
			return FALSE;
		gsize ke = skip_string(text, len, i);
		if (!ke)
			return FALSE;
		gboolean match = (ke - i - 2 == strlen(key)) && memcmp(text + i + 1, key, ke - i - 2) == 0;
		i = skip_ws(text, len, ke);
		if (i >= len || text[i] != ':')
			return FALSE;
		i = skip_ws(text, len, i + 1);
		gsize ve = skip_value(text, len, i);
		if (!ve)
			return FALSE;
		if (match) {
			*val = text + i;
			*vlen = ve - i;
			return TRUE;
		}
		i = skip_ws(text, len, ve);
		if (i < len && text[i] == ',') {
			i++;
			continue;
		}
		return FALSE;
	}
}
