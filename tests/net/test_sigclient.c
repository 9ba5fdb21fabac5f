/* SPDX-License-Identifier: Apache-2.0 */
/* The signaling client (libpeerpipe sigclient) against the real
 * peerpipe-signal: joins, relay both ways, end of candidates, PEER_LEFT,
 * reconnect after the server is killed and restarted on the same port,
 * fatal refusals without reconnect storms, TLS verification. */
#include "sigpeer.h"
#include "wsflood.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/sigclient.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <string.h>

#define ROOM "office"

typedef struct {
	const char *label;
	struct pp_sigclient *c;
	enum pp_sigclient_state state;
	enum pp_sigclient_why why;
	char *detail;
	guint n_state[4];
	guint n_joined;
	char peer_id[PP_PEER_ID_LEN + 1];
	gint64 joined_ms;               /* when on_state(JOINED) last came */
	GPtrArray *roster;              /* peer ids known through JOINED/NEW_PEER */
	GPtrArray *roles;               /* "id role name fp?" of the same */
	GPtrArray *left;                /* PEER_LEFT ids */
	GPtrArray *sdp;                 /* "from type sdp" */
	GPtrArray *ice;                 /* "from cand|mid|idx" or "from null" */
	GPtrArray *errors;              /* "code ref" */
	guint n_ice_servers;
	gboolean free_in_callback;      /* pp_sigclient_free() from on_state(FATAL) */
	guint n_checked;                /* on_checked */
} TC;

static GMainContext *ctx;

static void tc_on_state(void *user, enum pp_sigclient_state st, enum pp_sigclient_why why,
                        const char *detail)
{
	TC *t = user;
	t->state = st;
	t->why = why;
	g_free(t->detail);
	t->detail = g_strdup(detail);
	t->n_state[st]++;
	g_test_message("%s: state %s (%s) %s", t->label, pp_sigclient_state_name(st),
	               pp_sigclient_why_name(why), detail ? detail : "");
	if (st == PP_SIGCLIENT_JOINED)
		t->joined_ms = ws_now_ms();
	if (st == PP_SIGCLIENT_FATAL && t->free_in_callback) {
		pp_sigclient_free(t->c);
		t->c = NULL;
	}
}

static void tc_add_peer(TC *t, const struct pp_sigclient_peer *p)
{
	g_ptr_array_add(t->roster, g_strdup(p->peer_id));
	g_ptr_array_add(t->roles, g_strdup_printf("%s %s %s %s", p->peer_id, pp_role_name(p->role),
	                                          p->name, p->fingerprint));
}

static void tc_on_joined(void *user, const char *peer_id, const struct pp_sigclient_peer *peers,
                         size_t n, json_t *ice_servers)
{
	TC *t = user;
	g_assert_true(pp_peer_id_valid(peer_id, strlen(peer_id)));
	g_assert_cmpint(pp_sigclient_get_state(t->c), ==, PP_SIGCLIENT_JOINED);
	g_assert_cmpstr(pp_sigclient_peer_id(t->c), ==, peer_id);
	memcpy(t->peer_id, peer_id, sizeof(t->peer_id));
	t->n_joined++;
	g_ptr_array_set_size(t->roster, 0);
	g_ptr_array_set_size(t->roles, 0);
	for (size_t i = 0; i < n; i++)
		tc_add_peer(t, &peers[i]);
	g_assert_true(json_is_array(ice_servers));
	t->n_ice_servers = (guint)json_array_size(ice_servers);
}

static void tc_on_new_peer(void *user, const struct pp_sigclient_peer *p)
{
	tc_add_peer(user, p);
}

static void tc_on_sdp(void *user, const char *from, const char *type, const char *sdp)
{
	TC *t = user;
	g_ptr_array_add(t->sdp, g_strdup_printf("%s %s %s", from, type, sdp));
}

static void tc_on_ice(void *user, const char *from, const struct pp_sigclient_ice *c)
{
	TC *t = user;
	if (!c)
		g_ptr_array_add(t->ice, g_strdup_printf("%s null", from));
	else
		g_ptr_array_add(t->ice, g_strdup_printf("%s %s|%s|%d", from, c->candidate,
		                                        c->sdp_mid ? c->sdp_mid : "(null)",
		                                        c->sdp_mline_index));
}

static void tc_on_peer_left(void *user, const char *peer_id)
{
	TC *t = user;
	g_ptr_array_add(t->left, g_strdup(peer_id));
}

static void tc_on_error(void *user, const char *code, const char *message, const char *ref)
{
	TC *t = user;
	g_test_message("%s: ERROR %s (%s) ref %s", t->label, code, message ? message : "",
	               ref ? ref : "-");
	g_ptr_array_add(t->errors, g_strdup_printf("%s %s", code, ref ? ref : "-"));
}

static void tc_on_checked(void *user)
{
	TC *t = user;
	t->n_checked++;
}

static const struct pp_sigclient_callbacks tc_cbs = {
	.on_state = tc_on_state,
	.on_joined = tc_on_joined,
	.on_new_peer = tc_on_new_peer,
	.on_sdp = tc_on_sdp,
	.on_ice = tc_on_ice,
	.on_peer_left = tc_on_peer_left,
	.on_error = tc_on_error,
	.on_checked = tc_on_checked,
};

static char *url_of(SigServer *s, gboolean tls)
{
	return g_strdup_printf("%s://127.0.0.1:%u/v1/ws", tls ? "wss" : "ws", sig_server_port(s));
}

static TC *tc_new_cfg(const char *label, const struct pp_sigclient_config *cfg)
{
	TC *t = g_new0(TC, 1);
	t->label = label;
	t->state = PP_SIGCLIENT_DISCONNECTED;
	t->roster = g_ptr_array_new_with_free_func(g_free);
	t->roles = g_ptr_array_new_with_free_func(g_free);
	t->left = g_ptr_array_new_with_free_func(g_free);
	t->sdp = g_ptr_array_new_with_free_func(g_free);
	t->ice = g_ptr_array_new_with_free_func(g_free);
	t->errors = g_ptr_array_new_with_free_func(g_free);
	t->c = pp_sigclient_new(ctx, cfg, &tc_cbs, t);
	g_assert_nonnull(t->c);
	return t;
}

/* A client on a plain-ws test server with a valid token for name and
 * role, and the rest of its configuration from opts. */
static TC *tc_new_opts(SigServer *s, const char *label, const char *name, const char *role,
                       const struct pp_sigclient_config *opts)
{
	char *url = url_of(s, FALSE);
	char *tok = sig_token(s, name, ROOM, role);
	struct pp_sigclient_config cfg = *opts;

	cfg.url = url;
	cfg.token = tok;
	cfg.room = ROOM;
	cfg.allow_insecure_ws = true;
	TC *t = tc_new_cfg(label, &cfg);
	memset(tok, 'x', strlen(tok)); /* the client keeps its own copy */
	g_free(tok);
	g_free(url);
	return t;
}

/* The same with the defaults and an optional declared fingerprint. */
static TC *tc_new(SigServer *s, const char *label, const char *name, const char *role,
                  const char *fp)
{
	return tc_new_opts(s, label, name, role, &(struct pp_sigclient_config){ .fingerprint = fp });
}

static void tc_free(TC *t)
{
	pp_sigclient_free(t->c);
	g_free(t->detail);
	g_ptr_array_unref(t->roster);
	g_ptr_array_unref(t->roles);
	g_ptr_array_unref(t->left);
	g_ptr_array_unref(t->sdp);
	g_ptr_array_unref(t->ice);
	g_ptr_array_unref(t->errors);
	g_free(t);
}

static void spin(int ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
	while (g_get_monotonic_time() < end)
		if (!g_main_context_iteration(ctx, FALSE))
			g_usleep(500);
}

#define SPIN_UNTIL(cond, ms)                                                    \
	do {                                                                    \
		gint64 end_ = g_get_monotonic_time() + (gint64)(ms) * 1000;     \
		while (!(cond) && g_get_monotonic_time() < end_)                \
			if (!g_main_context_iteration(ctx, FALSE))              \
				g_usleep(500);                                  \
		if (!(cond))                                                    \
			g_error("timed out after %d ms waiting for: %s", (int)(ms), #cond); \
	} while (0)

static gboolean has(GPtrArray *a, const char *s)
{
	for (guint i = 0; i < a->len; i++)
		if (strcmp(a->pdata[i], s) == 0)
			return TRUE;
	return FALSE;
}

static guint64 metric(SigServer *s, const char *name)
{
	char *body = NULL;
	g_assert_cmpint(http_get(sig_server_port(s), "/metrics", &body, NULL), ==, 200);
	char *needle = g_strconcat("\n", name, " ", NULL);
	char *at = strstr(body, needle);
	g_assert_nonnull(at);
	guint64 v = g_ascii_strtoull(at + strlen(needle), NULL, 10);
	g_free(needle);
	g_free(body);
	return v;
}

/* Gateway first, then a desktop: JOINED/NEW_PEER, SDP and ICE both ways,
 * candidate null, sends refused before the join, PEER_LEFT on leave. */
static void test_relay(void)
{
	SigServer *s = sig_server_start(NULL);
	char *gfp = sig_fingerprint();
	TC *g = tc_new(s, "gateway", "gw1", "gateway", gfp);
	g_assert_cmpint(pp_sigclient_send_sdp(g->c, "0123456789abcdef0123456789abcdef", "offer", "v=0\r\n"),
	                ==, PP_ERR_STATE);
	g_assert_cmpint(g->n_state[PP_SIGCLIENT_CONNECTING], ==, 0); /* nothing from new() */
	SPIN_UNTIL(g->state == PP_SIGCLIENT_JOINED, 5000);
	g_assert_cmpuint(g->roster->len, ==, 0);
	g_assert_cmpuint(g->n_state[PP_SIGCLIENT_CONNECTING], ==, 1);

	TC *d = tc_new(s, "desktop", "alice", "desktop", NULL);
	SPIN_UNTIL(d->state == PP_SIGCLIENT_JOINED && g->roster->len == 1, 5000);
	g_assert_cmpstr(g->roster->pdata[0], ==, d->peer_id);
	g_assert_cmpuint(d->roster->len, ==, 1);
	g_assert_cmpstr(d->roster->pdata[0], ==, g->peer_id);
	char *want = g_strdup_printf("%s gateway gw1 %s", g->peer_id, gfp);
	g_assert_cmpstr(d->roles->pdata[0], ==, want);
	g_free(want);
	want = g_strdup_printf("%s desktop alice ", d->peer_id);
	g_assert_cmpstr(g->roles->pdata[0], ==, want);
	g_free(want);

	/* bad arguments */
	g_assert_cmpint(pp_sigclient_send_sdp(g->c, "NOT-AN-ID", "offer", "v=0\r\n"), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_sigclient_send_sdp(g->c, d->peer_id, "pranswer", "v=0\r\n"), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_sigclient_send_sdp(g->c, d->peer_id, "offer", "\xff\xfe"), ==, PP_ERR_INVALID);

	/* the existing member offers, the newcomer answers; trickle both ways */
	const char *offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=\"quoted\" \\ \xc3\xa9\r\n";
	g_assert_cmpint(pp_sigclient_send_sdp(g->c, d->peer_id, "offer", offer), ==, 0);
	g_assert_cmpint(pp_sigclient_send_ice(g->c, d->peer_id,
	                                      "candidate:1 1 udp 2122260223 10.0.0.2 54321 typ host",
	                                      "0", 0), ==, 0);
	g_assert_cmpint(pp_sigclient_send_ice(g->c, d->peer_id, NULL, NULL, -1), ==, 0);
	SPIN_UNTIL(d->sdp->len == 1 && d->ice->len == 2, 5000);
	want = g_strdup_printf("%s offer %s", g->peer_id, offer);
	g_assert_cmpstr(d->sdp->pdata[0], ==, want);
	g_free(want);
	want = g_strdup_printf("%s candidate:1 1 udp 2122260223 10.0.0.2 54321 typ host|0|0", g->peer_id);
	g_assert_cmpstr(d->ice->pdata[0], ==, want);
	g_free(want);
	want = g_strdup_printf("%s null", g->peer_id);
	g_assert_cmpstr(d->ice->pdata[1], ==, want);
	g_free(want);

	g_assert_cmpint(pp_sigclient_send_sdp(d->c, g->peer_id, "answer", "v=0\r\nanswer\r\n"), ==, 0);
	g_assert_cmpint(pp_sigclient_send_ice(d->c, g->peer_id, "candidate:2 1 udp 1 10.0.0.3 1 typ host",
	                                      NULL, 3), ==, 0);
	g_assert_cmpint(pp_sigclient_send_ice(d->c, g->peer_id, "candidate:3 1 udp 1 10.0.0.4 2 typ host",
	                                      "data", -1), ==, 0);
	g_assert_cmpint(pp_sigclient_send_ice(d->c, g->peer_id, NULL, NULL, -1), ==, 0);
	SPIN_UNTIL(g->sdp->len == 1 && g->ice->len == 3, 5000);
	want = g_strdup_printf("%s answer v=0\r\nanswer\r\n", d->peer_id);
	g_assert_cmpstr(g->sdp->pdata[0], ==, want);
	g_free(want);
	want = g_strdup_printf("%s candidate:2 1 udp 1 10.0.0.3 1 typ host|(null)|3", d->peer_id);
	g_assert_cmpstr(g->ice->pdata[0], ==, want);
	g_free(want);
	want = g_strdup_printf("%s candidate:3 1 udp 1 10.0.0.4 2 typ host|data|-1", d->peer_id);
	g_assert_cmpstr(g->ice->pdata[1], ==, want);
	g_free(want);
	want = g_strdup_printf("%s null", d->peer_id);
	g_assert_cmpstr(g->ice->pdata[2], ==, want);
	g_free(want);

	/* a target that is not in the room: the server's ERROR reaches on_error */
	g_assert_cmpint(pp_sigclient_send_sdp(d->c, "0123456789abcdef0123456789abcdef", "offer", "v=0\r\n"), ==, 0);
	SPIN_UNTIL(d->errors->len == 1, 5000);
	g_assert_cmpstr(d->errors->pdata[0], ==, "unknown_peer SEND_SDP");
	g_assert_cmpint(d->state, ==, PP_SIGCLIENT_JOINED);

	/* leave: the gateway learns PEER_LEFT, the desktop stays down */
	char *did = g_strdup(d->peer_id);
	g_assert_cmpint(pp_sigclient_leave(d->c), ==, 0);
	g_assert_cmpint(pp_sigclient_leave(d->c), ==, PP_ERR_STATE);
	SPIN_UNTIL(g->left->len == 1 && d->state == PP_SIGCLIENT_DISCONNECTED, 5000);
	g_assert_cmpstr(g->left->pdata[0], ==, did);
	g_assert_cmpint(d->why, ==, PP_SIGCLIENT_WHY_LEFT);
	g_assert_null(pp_sigclient_peer_id(d->c));
	g_assert_cmpint(pp_sigclient_send_sdp(d->c, g->peer_id, "offer", "v=0\r\n"), ==, PP_ERR_STATE);
	spin(700);
	g_assert_cmpuint(pp_sigclient_attempts(d->c), ==, 1); /* no reconnect after leave */
	g_assert_cmpuint(g->errors->len, ==, 0);

	/* and back in on request, with a new id */
	g_assert_cmpint(pp_sigclient_reconnect(d->c), ==, 0);
	SPIN_UNTIL(d->state == PP_SIGCLIENT_JOINED && g->roster->len == 2, 5000);
	g_assert_cmpstr(d->peer_id, !=, did);
	g_assert_cmpstr(g->roster->pdata[1], ==, d->peer_id);
	g_free(did);

	tc_free(d);
	tc_free(g);
	spin(100);
	g_free(gfp);
	sig_server_stop_clean(s);
}

/* Messages accepted at once before the queue is full: the burst's, then
 * the queue's. */
static int fill_queue(TC *from, const char *to)
{
	int rc = 0, sent = 0;

	while (rc == 0 && sent < 5000) {
		rc = pp_sigclient_send_ice(from->c, to, "candidate:9 1 udp 1 10.0.0.9 9 typ host", "0", 0);
		if (rc == 0)
			sent++;
	}
	g_assert_cmpint(rc, ==, PP_ERR_TOO_BIG);
	return sent;
}

/* n numbered candidates from `from` to `to`, all accepted; every `batch`
 * (0: never) the loop runs 10 ms, for a receiver in this thread. */
static void send_candidates(TC *from, const char *to, int n, int batch)
{
	for (int i = 0; i < n; i++) {
		char *line = g_strdup_printf("candidate:%d 1 udp 1 10.0.0.2 %d typ host", i, 1000 + i);
		g_assert_cmpint(pp_sigclient_send_ice(from->c, to, line, "0", 0), ==, 0);
		g_free(line);
		if (batch && i % batch == batch - 1)
			spin(10);
	}
}

/* send_queue_max sets the bound (a node's: 16 per link). The desktop
 * sends, at signaling.md's default limits (JOINED.limits 50/200: burst
 * 150 here). */
static void test_outgoing_bound_configured(void)
{
	SigServer *s = sig_server_start(NULL);
	TC *g = tc_new(s, "gateway", "gw1", "gateway", NULL);
	SPIN_UNTIL(g->state == PP_SIGCLIENT_JOINED, 5000);
	TC *d = tc_new_opts(s, "desktop", "alice", "desktop", &(struct pp_sigclient_config){
		.send_queue_max = 1024,
	});
	SPIN_UNTIL(d->state == PP_SIGCLIENT_JOINED && g->roster->len == 1, 5000);

	int sent = fill_queue(d, g->peer_id);
	g_test_message("queue full after %d messages (burst 150, queue 1024)", sent);
	g_assert_cmpint(sent, >, 150 + 256);
	g_assert_cmpint(sent, <=, 150 + 1024 + 1);
	tc_free(d);
	tc_free(g);
	spin(100);
	sig_server_stop_clean(s);
}

/* More messages than the burst: the surplus waits in the bounded queue and
 * goes out at our rate, below the server's limit (no rate_limited). The
 * desktop sends: signaling.md's default limits, 50/s with a burst of 200. */
static void test_outgoing_bound(void)
{
	SigServer *s = sig_server_start(NULL);
	TC *g = tc_new(s, "gateway", "gw1", "gateway", NULL);
	SPIN_UNTIL(g->state == PP_SIGCLIENT_JOINED, 5000);
	TC *d = tc_new(s, "desktop", "alice", "desktop", NULL);
	SPIN_UNTIL(d->state == PP_SIGCLIENT_JOINED && g->roster->len == 1, 5000);

	g_assert_cmpuint(pp_sigclient_send_rate(d->c), ==, 40);
	gint64 t0 = ws_now_ms();
	send_candidates(d, g->peer_id, 230, 0);
	SPIN_UNTIL(g->ice->len == 230, 15000);
	g_test_message("230 candidates relayed in %" G_GINT64_FORMAT " ms (burst 150, 40/s)",
	               ws_now_ms() - t0);
	for (int i = 0; i < 230; i++) { /* in order */
		char *want = g_strdup_printf(" candidate:%d 1 ", i);
		g_assert_true(strstr(g->ice->pdata[i], want) != NULL);
		g_free(want);
	}
	g_assert_cmpuint(d->errors->len, ==, 0);

	/* the queue has a bound */
	int sent = fill_queue(d, g->peer_id);
	g_test_message("queue full after %d more messages", sent);
	g_assert_cmpint(sent, <=, 150 + 256);
	/* one message above max_message_size is refused */
	char *big = g_malloc(70 * 1024);
	memset(big, 'a', 70 * 1024 - 1);
	big[70 * 1024 - 1] = '\0';
	g_assert_cmpint(pp_sigclient_send_sdp(d->c, g->peer_id, "offer", big), ==, PP_ERR_TOO_BIG);
	g_free(big);
	tc_free(d);
	tc_free(g);
	spin(100);
	sig_server_stop_clean(s);
}

/* A gateway's messages grow with its peers: peerpipe-signal allows it
 * limits.gateway_rate/burst (500/2000) and says so in JOINED.limits; the
 * client paces itself at four fifths of it (a desktop stays at 40/s).
 * 1,200 candidates (as many messages as a full room's ICE restart) go out
 * without one rate_limited, in order. */
static void test_gateway_pace(void)
{
	SigServer *s = sig_server_start(NULL);
	TC *g = tc_new_opts(s, "gateway", "gw1", "gateway", &(struct pp_sigclient_config){
		.send_queue_max = 2048,
	});
	SPIN_UNTIL(g->state == PP_SIGCLIENT_JOINED, 5000);
	TC *d = tc_new(s, "desktop", "alice", "desktop", NULL);
	SPIN_UNTIL(d->state == PP_SIGCLIENT_JOINED && g->roster->len == 1, 5000);
	g_assert_cmpuint(pp_sigclient_send_rate(g->c), ==, 400);
	g_assert_cmpuint(pp_sigclient_send_rate(d->c), ==, 40);

	gint64 t0 = ws_now_ms();
	send_candidates(g, d->peer_id, 1200, 100); /* the desktop reads meanwhile, as it would */
	SPIN_UNTIL(d->ice->len == 1200, 30000);
	g_test_message("1200 candidates relayed in %" G_GINT64_FORMAT " ms (gateway: burst 1500, "
	               "400/s; at a desktop's 40/s: 26 s)", ws_now_ms() - t0);
	for (int i = 0; i < 1200; i += 100) {
		char *want = g_strdup_printf(" candidate:%d 1 ", i);
		g_assert_true(strstr(d->ice->pdata[i], want) != NULL);
		g_free(want);
	}
	g_assert_cmpuint(g->errors->len, ==, 0);
	tc_free(d);
	tc_free(g);
	spin(100);
	sig_server_stop_clean(s);

	/* configured lower: the client follows what JOINED says */
	s = sig_server_start("--set", "limits.gateway_rate=100", "--set", "limits.gateway_burst=400",
	                     NULL);
	g = tc_new(s, "gateway", "gw1", "gateway", NULL);
	SPIN_UNTIL(g->state == PP_SIGCLIENT_JOINED, 5000);
	g_assert_cmpuint(pp_sigclient_send_rate(g->c), ==, 80);
	tc_free(g);
	spin(100);
	sig_server_stop_clean(s);
}

static SigServer *restart_on_port(SigServer *old, guint16 port)
{
	SigServer *s = sig_server_new();
	sig_server_share_secret(s, old);
	char *listen = g_strdup_printf("127.0.0.1:%u", port);
	sig_server_add_args(s, "--listen", listen, NULL);
	g_free(listen);
	sig_server_run(s);
	g_assert_cmpuint(sig_server_port(s), ==, port);
	return s;
}

/* Both clients come back by themselves, with new ids, and find each other. */
static void rejoin_after(SigServer **sp, TC *g, TC *d, int sig, const char *what)
{
	SigServer *s = *sp;
	guint16 port = sig_server_port(s);
	char *gid = g_strdup(g->peer_id), *did = g_strdup(d->peer_id);
	guint gj = g->n_joined, dj = d->n_joined;

	gint64 t0 = ws_now_ms();
	g_assert_cmpint(kill(sig_server_pid(s), sig), ==, 0);
	g_assert_cmpint(sig_server_wait(s, 10000), !=, -1);
	gint64 t_dead = ws_now_ms();
	SigServer *s2 = restart_on_port(s, port);
	gint64 t_up = ws_now_ms();
	sig_server_free(s);
	*sp = s2;
	SPIN_UNTIL(g->n_joined == gj + 1 && d->n_joined == dj + 1, 35000);
	/* whoever joined second saw the other in JOINED, the first got NEW_PEER */
	SPIN_UNTIL(has(g->roster, d->peer_id) && has(d->roster, g->peer_id), 5000);
	g_assert_cmpstr(g->peer_id, !=, gid);
	g_assert_cmpstr(d->peer_id, !=, did);
	gint64 tg = g->joined_ms - t0, td = d->joined_ms - t0;
	g_test_message("%s: server gone after %" G_GINT64_FORMAT " ms, listening again after %"
	               G_GINT64_FORMAT " ms; rejoined: gateway %" G_GINT64_FORMAT " ms, desktop %"
	               G_GINT64_FORMAT " ms (attempts so far %u / %u)",
	               what, t_dead - t0, t_up - t0, tg, td, pp_sigclient_attempts(g->c),
	               pp_sigclient_attempts(d->c));
	printf("# RECONNECT %s: restart %" G_GINT64_FORMAT " ms, gateway %" G_GINT64_FORMAT
	       " ms, desktop %" G_GINT64_FORMAT " ms\n", what, t_up - t0, tg, td);
	/* backoff 0.5 s (jitter 0.25..0.5) then 1 s: the restart plus two
	 * delays at most, with room for a loaded machine */
	g_assert_cmpint(tg, <, (t_up - t0) + 2500);
	g_assert_cmpint(td, <, (t_up - t0) + 2500);
	/* still talking: relay on the new ids */
	g_assert_cmpint(pp_sigclient_send_sdp(g->c, d->peer_id, "offer", "v=0\r\nagain\r\n"), ==, 0);
	guint n = d->sdp->len;
	SPIN_UNTIL(d->sdp->len == n + 1, 5000);
	g_free(gid);
	g_free(did);
}

static void test_reconnect(void)
{
	SigServer *s = sig_server_start(NULL);
	TC *g = tc_new(s, "gateway", "gw1", "gateway", NULL);
	TC *d = tc_new(s, "desktop", "alice", "desktop", NULL);
	SPIN_UNTIL(g->state == PP_SIGCLIENT_JOINED && d->state == PP_SIGCLIENT_JOINED &&
	           has(g->roster, d->peer_id) && has(d->roster, g->peer_id), 5000);

	rejoin_after(&s, g, d, SIGKILL, "SIGKILL");
	rejoin_after(&s, g, d, SIGTERM, "SIGTERM (close 1001)");
	g_assert_cmpint(g->why, ==, PP_SIGCLIENT_WHY_NONE);
	g_assert_cmpint(g->n_state[PP_SIGCLIENT_FATAL] + d->n_state[PP_SIGCLIENT_FATAL], ==, 0);
	g_assert_cmpuint(g->errors->len + d->errors->len, ==, 0);

	tc_free(d);
	tc_free(g);
	spin(100);
	sig_server_stop_clean(s);
}

/* A refused token is fatal: one connection, no retries. */
static void bad_token(SigBadToken kind, gboolean free_in_cb)
{
	SigServer *s = sig_server_start(NULL);
	char *url = url_of(s, FALSE);
	char *tok = sig_token_bad(s, kind, "gw1", ROOM, "gateway");
	struct pp_sigclient_config cfg = {
		.url = url, .token = tok, .room = ROOM, .allow_insecure_ws = true,
		.backoff_min_ms = 100, .backoff_max_ms = 200,
	};
	TC *t = tc_new_cfg(sig_bad_token_name(kind), &cfg);
	t->free_in_callback = free_in_cb;
	SPIN_UNTIL(t->state == PP_SIGCLIENT_FATAL, 5000);
	g_assert_cmpint(t->why, ==, PP_SIGCLIENT_WHY_UNAUTHORIZED);
	g_assert_true(has(t->errors, "unauthorized JOIN_ROOM"));
	spin(1500); /* backoff is 0.1..0.2 s: a retry would show by now */
	guint64 accepted = metric(s, "peerpipe_signal_connections_accepted_total");
	g_test_message("%s: connections accepted by the server: %" G_GUINT64_FORMAT,
	               sig_bad_token_name(kind), accepted);
	g_assert_cmpuint(accepted, ==, 1);
	g_assert_cmpuint(t->n_state[PP_SIGCLIENT_CONNECTING], ==, 1);
	g_assert_cmpuint(t->n_state[PP_SIGCLIENT_FATAL], ==, 1);
	if (!free_in_cb) {
		g_assert_cmpuint(pp_sigclient_attempts(t->c), ==, 1);
		/* a good token and an explicit reconnect bring it back */
		char *good = sig_token(s, "gw1", ROOM, "gateway");
		g_assert_cmpint(pp_sigclient_set_token(t->c, "not a token"), ==, PP_ERR_INVALID);
		g_assert_cmpint(pp_sigclient_set_token(t->c, good), ==, 0);
		g_assert_cmpint(pp_sigclient_reconnect(t->c), ==, 0);
		SPIN_UNTIL(t->state == PP_SIGCLIENT_JOINED, 5000);
		g_free(good);
	}
	char *log = sig_server_log(s);
	g_assert_null(strstr(log, tok)); /* sanity: the server never logs it either */
	g_free(log);
	tc_free(t);
	spin(100);
	g_free(tok);
	g_free(url);
	sig_server_stop_clean(s);
}

static void test_bad_token_wrong_secret(void)
{
	bad_token(SIG_BAD_WRONG_SECRET, FALSE);
}

static void test_bad_token_expired(void)
{
	bad_token(SIG_BAD_EXPIRED, TRUE);
}

/* The token never appears in what the library logs. */
static GString *captured;

static void capture_sink(enum pp_log_level level, const char *line, void *user)
{
	g_string_append(captured, line);
	g_string_append_c(captured, '\n');
	fprintf(stderr, "%s\n", line);
}

static void test_token_not_logged(void)
{
	SigServer *s = sig_server_start(NULL);
	captured = g_string_new(NULL);
	pp_log_set_level(PP_LOG_DEBUG);
	pp_log_set_sink(capture_sink, NULL);
	char *tok = sig_token(s, "gw1", ROOM, "gateway");
	char *url = url_of(s, FALSE);
	struct pp_sigclient_config cfg = {
		.url = url, .token = tok, .room = ROOM, .allow_insecure_ws = true,
	};
	TC *t = tc_new_cfg("gateway", &cfg);
	SPIN_UNTIL(t->state == PP_SIGCLIENT_JOINED, 5000);
	tc_free(t);
	spin(100);
	pp_log_set_sink(NULL, NULL);
	pp_log_set_level(PP_LOG_INFO);
	g_assert_true(strstr(captured->str, "joined room") != NULL);
	char **parts = g_strsplit(tok, ".", 3);
	for (int i = 0; parts[i]; i++)
		g_assert_null(strstr(captured->str, parts[i]));
	g_strfreev(parts);
	g_string_free(captured, TRUE);
	g_free(tok);
	g_free(url);
	sig_server_stop_clean(s);
}

/* A wss server with a fresh self-signed certificate (*cert is also the CA
 * file that trusts it), its URL and a gateway token. */
static SigServer *tls_server_new(char **cert, char **key, char **url, char **tok)
{
	SigServer *s = sig_server_new();

	sig_make_cert(sig_server_dir(s), "srv", cert, key);
	sig_server_set_tls(s, *cert, *key);
	sig_server_run(s);
	*url = url_of(s, TRUE);
	*tok = sig_token(s, "gw1", ROOM, "gateway");
	return s;
}

/* wss with a self-signed certificate: trusted through ca_file; refused
 * without it, slowly retried (or fatal when asked). */
static void test_tls(void)
{
	char *cert = NULL, *key = NULL, *url = NULL, *tok = NULL;
	SigServer *s = tls_server_new(&cert, &key, &url, &tok);

	struct pp_sigclient_config cfg = { .url = url, .token = tok, .room = ROOM, .ca_file = cert };
	TC *ok = tc_new_cfg("wss+ca", &cfg);
	SPIN_UNTIL(ok->state == PP_SIGCLIENT_JOINED, 5000);

	cfg.ca_file = NULL; /* system trust store: the self-signed cert is unknown */
	TC *bad = tc_new_cfg("wss-untrusted", &cfg);
	SPIN_UNTIL(bad->state == PP_SIGCLIENT_DISCONNECTED && bad->n_state[PP_SIGCLIENT_CONNECTING] == 1, 5000);
	g_assert_cmpint(bad->why, ==, PP_SIGCLIENT_WHY_TLS);
	g_assert_true(strstr(bad->detail, "not trusted") != NULL);
	g_test_message("untrusted: %s", bad->detail);
	spin(2000); /* the next attempt waits backoff_max (30 s): no storm */
	g_assert_cmpuint(pp_sigclient_attempts(bad->c), ==, 1);
	g_assert_cmpuint(bad->n_joined, ==, 0);

	cfg.tls_errors_fatal = true;
	TC *fatal = tc_new_cfg("wss-untrusted-fatal", &cfg);
	SPIN_UNTIL(fatal->state == PP_SIGCLIENT_FATAL, 5000);
	g_assert_cmpint(fatal->why, ==, PP_SIGCLIENT_WHY_TLS);

	/* a CA file that is not the server's: refused as well */
	char *other_cert = NULL, *other_key = NULL;
	sig_make_cert(sig_server_dir(s), "other", &other_cert, &other_key);
	cfg.ca_file = other_cert;
	TC *other = tc_new_cfg("wss-other-ca", &cfg);
	SPIN_UNTIL(other->state == PP_SIGCLIENT_FATAL, 5000);
	g_assert_cmpint(other->why, ==, PP_SIGCLIENT_WHY_TLS);

	/* an unreadable ca_file is a configuration error */
	cfg.ca_file = "/nonexistent/ca.pem";
	g_assert_null(pp_sigclient_new(ctx, &cfg, &tc_cbs, NULL));

	tc_free(other);
	tc_free(fatal);
	tc_free(bad);
	tc_free(ok);
	spin(100);
	g_free(other_cert);
	g_free(other_key);
	g_free(tok);
	g_free(url);
	g_free(cert);
	g_free(key);
	sig_server_stop_clean(s);
}

/* pp_sigclient_trust_default() is process-wide (run in a subprocess):
 * the CA becomes the default, so even a session without ca_file trusts
 * it; a file that is not a CA bundle is refused and changes nothing. */
static void test_trust_default(void)
{
	if (!g_test_subprocess()) {
		g_test_trap_subprocess(NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
		g_test_trap_assert_passed();
		return;
	}
	char *cert = NULL, *key = NULL, *url = NULL, *tok = NULL;
	SigServer *s = tls_server_new(&cert, &key, &url, &tok);

	g_assert_cmpint(pp_sigclient_trust_default("/nonexistent/ca.pem"), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_sigclient_trust_default(cert), ==, 0);
	struct pp_sigclient_config cfg = { .url = url, .token = tok, .room = ROOM };
	TC *c = tc_new_cfg("wss-default-ca", &cfg);
	SPIN_UNTIL(c->state == PP_SIGCLIENT_JOINED, 5000);
	tc_free(c);
	spin(100);
	g_free(tok);
	g_free(url);
	g_free(cert);
	g_free(key);
	sig_server_stop_clean(s);
}

/* Plain ws:// only with allow_insecure_ws; other configuration errors. */
static void test_config(void)
{
	const char *why = NULL;
	struct pp_sigclient_config cfg = {
		.url = "ws://127.0.0.1:1/v1/ws", .token = "a.b.c", .room = ROOM,
	};
	g_assert_cmpint(pp_sigclient_config_check(&cfg, &why), ==, PP_ERR_CONFIG);
	g_assert_true(strstr(why, "allow_insecure_ws") != NULL);
	g_assert_null(pp_sigclient_new(ctx, &cfg, &tc_cbs, NULL));
	cfg.allow_insecure_ws = true;
	g_assert_cmpint(pp_sigclient_config_check(&cfg, &why), ==, 0);
	cfg.url = "wss://127.0.0.1:1";
	g_assert_cmpint(pp_sigclient_config_check(&cfg, &why), ==, 0);

	static const char *const bad_urls[] = {
		"http://127.0.0.1/v1/ws", "wss://", "not a url", "wss://user:pw@host/v1/ws",
		"wss://host/v1/ws#frag", "ftp://host/",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(bad_urls); i++) {
		cfg.url = bad_urls[i];
		g_assert_cmpint(pp_sigclient_config_check(&cfg, &why), ==, PP_ERR_CONFIG);
	}
	cfg.url = "wss://host";
	cfg.room = "bad room";
	g_assert_cmpint(pp_sigclient_config_check(&cfg, &why), ==, PP_ERR_CONFIG);
	cfg.room = ROOM;
	cfg.token = "tok\"en";
	g_assert_cmpint(pp_sigclient_config_check(&cfg, &why), ==, PP_ERR_CONFIG);
	cfg.token = "a.b.c";
	cfg.fingerprint = "sha-256 nope";
	g_assert_cmpint(pp_sigclient_config_check(&cfg, &why), ==, PP_ERR_CONFIG);
	cfg.fingerprint = NULL;
	cfg.backoff_min_ms = 5000;
	cfg.backoff_max_ms = 1000;
	g_assert_cmpint(pp_sigclient_config_check(&cfg, &why), ==, PP_ERR_CONFIG);
}

/* A server that is not there: retries back off (0.1, 0.2, 0.4, 0.4 ... s),
 * free() during a pending attempt is clean. */
static void test_backoff(void)
{
	SigServer *s = sig_server_start(NULL);
	guint16 port = sig_server_port(s);
	sig_server_stop_clean(s); /* nothing listens on port any more */
	char *url = g_strdup_printf("ws://127.0.0.1:%u/v1/ws", port);
	struct pp_sigclient_config cfg = {
		.url = url, .token = "a.b.c", .room = ROOM, .allow_insecure_ws = true,
		.backoff_min_ms = 100, .backoff_max_ms = 400,
	};
	TC *t = tc_new_cfg("nowhere", &cfg);
	spin(2500);
	guint n = pp_sigclient_attempts(t->c);
	g_test_message("attempts in 2.5 s with backoff 0.1..0.4 s: %u", n);
	/* delays >= 0.05, 0.1, 0.2, 0.2, ...: at most ~13; at least 5 */
	g_assert_cmpuint(n, >=, 5);
	g_assert_cmpuint(n, <=, 14);
	/* the last report may be the next attempt's "connecting" (why none):
	 * wait for the disconnect it ends in */
	for (int i = 0; i < 500 && t->state != PP_SIGCLIENT_DISCONNECTED; i++)
		spin(10);
	g_assert_cmpint(t->state, ==, PP_SIGCLIENT_DISCONNECTED);
	g_assert_cmpint(t->why, ==, PP_SIGCLIENT_WHY_NETWORK);
	g_assert_cmpuint(t->n_state[PP_SIGCLIENT_FATAL], ==, 0);
	tc_free(t);
	spin(50);
	g_free(url);
}

/* The parser of server messages on its own. */
static void test_parse(void)
{
	struct pp_sigclient_limits lim = { 64 * 1024, 1024 * 1024 };
	struct pp_sigclient_msg m;
	const char *why = NULL;
	const char *id = "0123456789abcdef0123456789abcdef";
	char *t;

	t = g_strdup_printf("{\"type\":\"JOINED\",\"room\":\"office\",\"peer_id\":\"%s\",\"x\":1,"
	                    "\"peers\":[{\"peer_id\":\"%s\",\"name\":\"g\",\"role\":\"gateway\"},"
	                    "{\"peer_id\":\"BAD\",\"name\":\"g\",\"role\":\"gateway\"},"
	                    "{\"peer_id\":\"%s\",\"name\":\"me\",\"role\":\"desktop\"}],"
	                    "\"ice_servers\":[{\"urls\":\"stun:s:3478\"},{\"urls\":[\"turn:t\"],"
	                    "\"username\":\"1:a\",\"credential\":\"c\"},{\"urls\":\"http://x\"}]}",
	                    id, "ffffffffffffffffffffffffffffffff", id);
	g_assert_cmpint(pp_sigclient_msg_parse(t, strlen(t), &lim, &m, &why), ==, 0);
	g_assert_cmpint(m.type, ==, PP_SIGCLIENT_MSG_JOINED);
	g_assert_cmpuint(m.n_peers, ==, 1);
	g_assert_cmpuint(m.n_skipped, ==, 3); /* bad id, own id, bad url */
	char *ice = json_dumps(m.ice_servers, JSON_COMPACT | JSON_SORT_KEYS);
	g_assert_cmpstr(ice, ==, "[{\"urls\":[\"stun:s:3478\"]},{\"credential\":\"c\",\"urls\":[\"turn:t\"],"
	                         "\"username\":\"1:a\"}]");
	free(ice);
	g_assert_cmpuint(m.limit_rate, ==, 0); /* no JOINED.limits */
	g_assert_cmpuint(m.limit_burst, ==, 0);
	pp_sigclient_msg_clear(&m);
	g_free(t);

	/* JOINED.limits: both integers 1..1000000, else ignored (not an error) */
	static const struct {
		const char *limits;
		uint32_t rate, burst;
	} lims[] = {
		{ "{\"rate\":500,\"burst\":2000}", 500, 2000 },
		{ "{\"rate\":1,\"burst\":1000000}", 1, 1000000 },
		{ "{\"rate\":0,\"burst\":200}", 0, 0 },
		{ "{\"rate\":50,\"burst\":1000001}", 0, 0 },
		{ "{\"rate\":\"50\",\"burst\":200}", 0, 0 },
		{ "{\"rate\":50.5,\"burst\":200}", 0, 0 },
		{ "{\"rate\":50}", 0, 0 },
		{ "[50,200]", 0, 0 },
		{ "null", 0, 0 },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(lims); i++) {
		t = g_strdup_printf("{\"type\":\"JOINED\",\"room\":\"office\",\"peer_id\":\"%s\","
		                    "\"peers\":[],\"limits\":%s}", id, lims[i].limits);
		g_assert_cmpint(pp_sigclient_msg_parse(t, strlen(t), &lim, &m, &why), ==, 0);
		g_assert_cmpuint(m.limit_rate, ==, lims[i].rate);
		g_assert_cmpuint(m.limit_burst, ==, lims[i].burst);
		pp_sigclient_msg_clear(&m);
		g_free(t);
	}

	static const char *const good[] = {
		"{\"type\":\"SOMETHING_NEW\",\"a\":[1,2]}",
		"{\"type\":\"PEER_LEFT\",\"peer_id\":\"0123456789abcdef0123456789abcdef\"}",
		"{\"type\":\"ERROR\",\"code\":\"bad_request\",\"message\":\"m\",\"ref\":null}",
		"{\"type\":\"FORWARD_ICE\",\"from\":\"0123456789abcdef0123456789abcdef\",\"candidate\":null}",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
		g_assert_cmpint(pp_sigclient_msg_parse(good[i], strlen(good[i]), &lim, &m, &why), ==, 0);
		pp_sigclient_msg_clear(&m);
	}
	static const char *const bad[] = {
		"", "[]", "{\"type\":1}", "{\"a\":1}", "{\"type\":\"PEER_LEFT\",\"peer_id\":\"0123\"}",
		"{\"type\":\"PEER_LEFT\",\"peer_id\":\"0123456789ABCDEF0123456789ABCDEF\"}",
		"{\"type\":\"PEER_LEFT\",\"type\":\"PEER_LEFT\",\"peer_id\":\"0123456789abcdef0123456789abcdef\"}",
		"{\"type\":\"FORWARD_SDP\",\"from\":\"0123456789abcdef0123456789abcdef\",\"sdp\":{\"type\":\"x\",\"sdp\":\"v\"}}",
		"{\"type\":\"FORWARD_SDP\",\"from\":\"0123456789abcdef0123456789abcdef\",\"sdp\":{\"type\":\"offer\",\"sdp\":\"a\\u0000b\"}}",
		"{\"type\":\"FORWARD_ICE\",\"from\":\"0123456789abcdef0123456789abcdef\",\"candidate\":{\"candidate\":\"c\",\"sdpMLineIndex\":70000}}",
		"{\"type\":\"NEW_PEER\",\"peer\":{\"peer_id\":\"0123456789abcdef0123456789abcdef\",\"name\":\"a b\",\"role\":\"gateway\"}}",
		"{\"type\":\"NEW_PEER\",\"peer\":{\"peer_id\":\"0123456789abcdef0123456789abcdef\",\"name\":\"a\",\"role\":\"admin\"}}",
		"{\"type\":\"ERROR\",\"code\":\"Bad Code\"}",
		"{\"type\":\"JOINED\",\"room\":\"office\",\"peer_id\":\"0123456789abcdef0123456789abcdef\",\"peers\":{}}",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		why = NULL;
		g_assert_cmpint(pp_sigclient_msg_parse(bad[i], strlen(bad[i]), &lim, &m, &why), ==, PP_ERR_INVALID);
		g_assert_nonnull(why);
	}
	/* nesting and size */
	GString *deep = g_string_new("{\"type\":\"X\",\"a\":");
	for (int i = 0; i < 100; i++)
		g_string_append_c(deep, '[');
	for (int i = 0; i < 100; i++)
		g_string_append_c(deep, ']');
	g_string_append_c(deep, '}');
	g_assert_cmpint(pp_sigclient_msg_parse(deep->str, deep->len, &lim, &m, &why), ==, PP_ERR_INVALID);
	g_string_free(deep, TRUE);
	GString *big = g_string_new("{\"type\":\"PEER_LEFT\",\"pad\":\"");
	while (big->len < 70 * 1024)
		g_string_append(big, "xxxxxxxxxxxxxxxx");
	g_string_append(big, "\",\"peer_id\":\"0123456789abcdef0123456789abcdef\"}");
	g_assert_cmpint(pp_sigclient_msg_parse(big->str, big->len, &lim, &m, &why), ==, PP_ERR_TOO_BIG);
	g_string_free(big, TRUE);
}

/* Every fingerprint pp_fingerprint_valid() accepts survives a NEW_PEER,
 * sha-512 (199 characters) included: it used to be dropped as too long. */
static void test_parse_fingerprints(void)
{
	static const struct {
		const char *name;
		int bytes;
	} algs[] = { { "sha-1", 20 }, { "sha-224", 28 }, { "sha-256", 32 }, { "sha-384", 48 }, { "sha-512", 64 } };
	struct pp_sigclient_limits lim = { 64 * 1024, 1024 * 1024 };
	struct pp_sigclient_msg m;
	const char *why = NULL;

	for (gsize a = 0; a < G_N_ELEMENTS(algs); a++) {
		GString *fp = g_string_new(algs[a].name);
		for (int i = 0; i < algs[a].bytes; i++)
			g_string_append_printf(fp, "%c%02X", i ? ':' : ' ', (i * 37) & 0xff);
		g_assert_true(pp_fingerprint_valid(fp->str, fp->len));
		char *t = g_strdup_printf("{\"type\":\"NEW_PEER\",\"peer\":{\"peer_id\":\"%s\",\"name\":\"g\","
		                          "\"role\":\"gateway\",\"fingerprint\":\"%s\"}}",
		                          "0123456789abcdef0123456789abcdef", fp->str);
		g_assert_cmpint(pp_sigclient_msg_parse(t, strlen(t), &lim, &m, &why), ==, 0);
		g_assert_cmpint(m.type, ==, PP_SIGCLIENT_MSG_NEW_PEER);
		g_assert_cmpuint(m.n_peers, ==, 1);
		g_assert_cmpstr(m.peers[0].fingerprint, ==, fp->str);
		g_assert_cmpuint(fp->len, <=, PP_FINGERPRINT_MAX);
		pp_sigclient_msg_clear(&m);
		g_free(t);
		g_string_free(fp, TRUE);
	}
}

/* ---- a scripted fake server (libsoup's SoupServer) for what the real one
 * never does: malformed and unknown messages, binary frames, messages
 * before JOINED, close codes 1011 and 1003, silence after JOIN_ROOM. */

typedef struct {
	SoupServer *server;
	guint16 port;
	guint conns;
	GPtrArray *ws;        /* connections, kept open */
	GPtrArray *joins;     /* JOIN_ROOM texts received */
	int mode;             /* what to do on JOIN_ROOM, per connection */
} Fake;

enum { FAKE_SCRIPT, FAKE_JOIN_THEN_1003, FAKE_SILENT };

static const char *fake_id = "0123456789abcdef0123456789abcdef";
static const char *fake_other = "fedcba9876543210fedcba9876543210";

static void fake_send(SoupWebsocketConnection *ws, const char *text)
{
	soup_websocket_connection_send_text(ws, text);
}

static void fake_on_message(SoupWebsocketConnection *ws, gint type, GBytes *data, gpointer user)
{
	Fake *f = user;
	gsize len;
	const char *text = g_bytes_get_data(data, &len);
	char *t = g_strndup(text, len);
	struct pp_sig_msg m;
	const char *why = NULL, *ref = NULL;

	/* what the client sends is valid for the server's own parser */
	g_assert_cmpint(pp_sig_parse(t, len, &m, &why, &ref), ==, 0);
	if (m.type != PP_SIG_JOIN_ROOM) {
		pp_sig_msg_clear(&m);
		g_free(t);
		return;
	}
	g_assert_cmpstr(m.room, ==, ROOM);
	pp_sig_msg_clear(&m);
	g_ptr_array_add(f->joins, t);
	char *joined = g_strdup_printf("{\"type\":\"JOINED\",\"room\":\"office\",\"peer_id\":\"%s\","
	                               "\"peers\":[{\"peer_id\":\"%s\",\"name\":\"gw9\",\"role\":\"gateway\","
	                               "\"fingerprint\":\"bogus\",\"extra\":true}],\"ice_servers\":"
	                               "[{\"urls\":\"stun:127.0.0.1:3478\"},{\"urls\":42}],\"future\":{}}",
	                               fake_id, fake_other);
	char *sdp = g_strdup_printf("{\"type\":\"FORWARD_SDP\",\"from\":\"%s\",\"sdp\":{\"type\":\"offer\","
	                            "\"sdp\":\"v=0\\r\\n\"}}", fake_other);
	char *left = g_strdup_printf("{\"type\":\"PEER_LEFT\",\"peer_id\":\"%s\"}", fake_other);
	switch (f->mode) {
	case FAKE_SCRIPT:
		fake_send(ws, sdp);                 /* before JOINED: dropped */
		fake_send(ws, "not json");
		fake_send(ws, "{\"type\":\"JOINED\",\"room\":\"office\",\"peer_id\":\"XYZ\",\"peers\":[]}");
		soup_websocket_connection_send_binary(ws, "\x01\x02", 2);
		fake_send(ws, "{\"type\":\"WHATEVER_COMES_NEXT\",\"x\":[1]}");
		fake_send(ws, joined);
		fake_send(ws, joined);              /* a second JOINED: dropped */
		fake_send(ws, "{\"type\":\"FORWARD_ICE\",\"from\":\"nope\",\"candidate\":null}");
		fake_send(ws, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
		fake_send(ws, sdp);
		fake_send(ws, left);
		soup_websocket_connection_close(ws, SOUP_WEBSOCKET_CLOSE_SERVER_ERROR, "boom");
		f->mode = FAKE_JOIN_THEN_1003;
		break;
	case FAKE_JOIN_THEN_1003:
		fake_send(ws, joined);
		soup_websocket_connection_close(ws, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA, "binary");
		break;
	case FAKE_SILENT:
		break;
	}
	g_free(joined);
	g_free(sdp);
	g_free(left);
}

static void fake_on_ws(SoupServer *server, SoupServerMessage *msg, const char *path,
                       SoupWebsocketConnection *ws, gpointer user)
{
	Fake *f = user;
	f->conns++;
	g_ptr_array_add(f->ws, g_object_ref(ws));
	g_signal_connect(ws, "message", G_CALLBACK(fake_on_message), f);
}

/* tls: serve wss with this certificate (NULL: plain ws) */
static Fake *fake_new_tls(int mode, GTlsCertificate *tls)
{
	static char *protocols[] = { "peerpipe.v1", NULL };
	Fake *f = g_new0(Fake, 1);
	GError *err = NULL;
	f->mode = mode;
	f->ws = g_ptr_array_new_with_free_func(g_object_unref);
	f->joins = g_ptr_array_new_with_free_func(g_free);
	f->server = soup_server_new("tls-certificate", tls, NULL);
	soup_server_add_websocket_handler(f->server, "/v1/ws", NULL, protocols, fake_on_ws, f, NULL);
	g_assert_true(soup_server_listen_local(f->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY |
	                                       (tls ? SOUP_SERVER_LISTEN_HTTPS : 0), &err));
	g_assert_no_error(err);
	GSList *uris = soup_server_get_uris(f->server);
	f->port = (guint16)g_uri_get_port(uris->data);
	g_slist_free_full(uris, (GDestroyNotify)g_uri_unref);
	return f;
}

static Fake *fake_new(int mode)
{
	return fake_new_tls(mode, NULL);
}

static void fake_free(Fake *f)
{
	soup_server_disconnect(f->server);
	g_object_unref(f->server);
	g_ptr_array_unref(f->ws);
	g_ptr_array_unref(f->joins);
	g_free(f);
}

static TC *tc_fake(Fake *f, const char *label, const char *path, uint32_t timeout_ms)
{
	char *url = g_strdup_printf("ws://127.0.0.1:%u%s", f->port, path);
	char *fp = sig_fingerprint();
	struct pp_sigclient_config cfg = {
		.url = url, .token = "aaa.bbb.ccc", .room = ROOM, .fingerprint = fp,
		.allow_insecure_ws = true, .backoff_min_ms = 100, .backoff_max_ms = 200,
		.connect_timeout_ms = timeout_ms,
	};
	TC *t = tc_new_cfg(label, &cfg);
	g_free(fp);
	g_free(url);
	return t;
}

static void test_fake_server(void)
{
	Fake *f = fake_new(FAKE_SCRIPT);
	TC *t = tc_fake(f, "fake", "", 0); /* empty path: /v1/ws */
	SPIN_UNTIL(t->state == PP_SIGCLIENT_FATAL, 5000);
	/* connection 1: junk dropped, one JOINED, one FORWARD_SDP, one
	 * PEER_LEFT, then 1011 -> retried; connection 2: JOINED then 1003 */
	g_assert_cmpuint(f->conns, ==, 2);
	g_assert_cmpuint(f->joins->len, ==, 2);
	g_assert_true(strstr(f->joins->pdata[0], "\"token\":\"aaa.bbb.ccc\"") != NULL);
	g_assert_cmpuint(t->n_joined, ==, 2);
	g_assert_cmpuint(t->sdp->len, ==, 1);
	g_assert_cmpuint(t->left->len, ==, 1);
	g_assert_cmpuint(t->ice->len, ==, 0);
	g_assert_cmpuint(t->roster->len, ==, 1);
	char *want = g_strdup_printf("%s gateway gw9 ", fake_other); /* bogus fingerprint dropped */
	g_assert_cmpstr(t->roles->pdata[0], ==, want);
	g_free(want);
	g_assert_cmpuint(t->n_ice_servers, ==, 1);
	g_assert_cmpuint(t->n_state[PP_SIGCLIENT_DISCONNECTED], ==, 1);
	g_assert_cmpint(t->why, ==, PP_SIGCLIENT_WHY_PROTOCOL);
	g_assert_true(strstr(t->detail, "1003") != NULL);
	spin(500);
	g_assert_cmpuint(f->conns, ==, 2); /* fatal: no more attempts */
	tc_free(t);
	fake_free(f);
	spin(50);
}

/* No JOINED within connect_timeout: retried (TIMEOUT). Wrong path: the
 * server answers 404, which no retry can fix (FATAL, HTTP). */
static void test_fake_timeouts(void)
{
	Fake *f = fake_new(FAKE_SILENT);
	TC *t = tc_fake(f, "silent", "/v1/ws", 400);
	SPIN_UNTIL(f->conns >= 2, 5000);
	g_assert_cmpint(t->n_state[PP_SIGCLIENT_DISCONNECTED], >=, 1);
	g_assert_cmpint(t->n_state[PP_SIGCLIENT_FATAL], ==, 0);
	g_assert_cmpuint(t->n_joined, ==, 0);
	tc_free(t);

	TC *w = tc_fake(f, "wrong-path", "/nope", 0);
	SPIN_UNTIL(w->state == PP_SIGCLIENT_FATAL, 5000);
	g_assert_cmpint(w->why, ==, PP_SIGCLIENT_WHY_HTTP);
	g_assert_true(strstr(w->detail, "404") != NULL);
	tc_free(w);
	fake_free(f);
	spin(50);
}

/* ---- redirects. The upgrade request is never sent on to where a 3xx
 * answer points: the JOIN_ROOM and its token would go to whoever the
 * Location names, in clear text for a ws:// one. FATAL (HTTP), naming the
 * Location; the other server never hears from the client. */

static void redirect_handler(SoupServer *server, SoupServerMessage *msg, const char *path,
                             GHashTable *query, gpointer user)
{
	const char *to = user;
	guint status = strstr(path, "307") ? SOUP_STATUS_TEMPORARY_REDIRECT : SOUP_STATUS_FOUND;
	soup_server_message_set_redirect(msg, status, to);
}

/* to_scheme: the scheme of the Location, which names a plain ws server */
static void redirect_case(gboolean tls, const char *path, const char *to_scheme)
{
	char *dir = g_dir_make_tmp("sigclient-redirect-XXXXXX", NULL);
	char *cert = NULL, *key = NULL;
	GTlsCertificate *tc = NULL;
	GError *err = NULL;

	g_assert_nonnull(dir);
	if (tls) {
		sig_make_cert(dir, "srv", &cert, &key);
		tc = g_tls_certificate_new_from_files(cert, key, &err);
		g_assert_no_error(err);
	}
	Fake *target = fake_new(FAKE_SCRIPT); /* a plain ws server elsewhere */
	Fake *f = fake_new_tls(FAKE_SILENT, tc);
	char *to = g_strdup_printf("%s://127.0.0.1:%u/v1/ws", to_scheme, target->port);
	soup_server_add_handler(f->server, path, redirect_handler, to, NULL);
	char *url = g_strdup_printf("%s://127.0.0.1:%u%s", tls ? "wss" : "ws", f->port, path);
	struct pp_sigclient_config cfg = {
		.url = url, .token = "aaa.bbb.ccc", .room = ROOM, .ca_file = cert,
		.allow_insecure_ws = true, .backoff_min_ms = 100, .backoff_max_ms = 200,
	};
	TC *t = tc_new_cfg(tls ? "wss-redirect" : "ws-redirect", &cfg);
	SPIN_UNTIL(t->state == PP_SIGCLIENT_FATAL || target->conns > 0, 5000);
	spin(500); /* a retry, or a late connection elsewhere, would show by now */
	g_assert_cmpuint(target->conns, ==, 0);
	g_assert_cmpuint(target->joins->len, ==, 0);
	g_assert_cmpint(t->state, ==, PP_SIGCLIENT_FATAL);
	g_assert_cmpint(t->why, ==, PP_SIGCLIENT_WHY_HTTP);
	g_assert_true(strstr(t->detail, "redirect") != NULL);
	g_assert_true(strstr(t->detail, to) != NULL);
	g_assert_true(strstr(t->detail, "not followed") != NULL);
	g_assert_cmpuint(pp_sigclient_attempts(t->c), ==, 1);
	tc_free(t);
	fake_free(f);
	fake_free(target);
	spin(50);
	g_free(url);
	g_free(to);
	g_clear_object(&tc);
	if (tls) {
		g_unlink(cert);
		g_unlink(key);
	}
	g_rmdir(dir);
	g_free(cert);
	g_free(key);
	g_free(dir);
}

static void test_redirect(void)
{
	redirect_case(FALSE, "/moved-307", "http"); /* another server */
	redirect_case(TRUE, "/moved", "ws");        /* from wss to clear text */
}

/* ---- a server streaming one message without end: a text frame with FIN=0,
 * then continuation frames, each far under the frame limit (wsflood.h).
 * libsoup 3.2 reassembles them all (RSS grew by 524 MiB for 512 MiB sent);
 * the client must stop at its message limit, close with 1009 "message too
 * big", say so, and reconnect with backoff like after any server error.
 * The JOINED before it comes in fragments with a ping among them, on the
 * first connection in the same write as the 101 answer. */

static long rss_kib(void)
{
	char *status = NULL;
	long v = -1;

	if (g_file_get_contents("/proc/self/status", &status, NULL, NULL)) {
		const char *at = strstr(status, "\nVmRSS:");
		if (at)
			v = atol(at + strlen("\nVmRSS:"));
	}
	g_free(status);
	return v;
}

static void test_fragment_flood(void)
{
	const guint64 cap = (guint64)64 << 20;
	WsFlood *fl = wsflood_start(ROOM, cap);
	char *url = g_strdup_printf("ws://127.0.0.1:%u/v1/ws", wsflood_port(fl));
	struct pp_sigclient_config cfg = {
		.url = url, .token = "aaa.bbb.ccc", .room = ROOM, .allow_insecure_ws = true,
		.backoff_min_ms = 100, .backoff_max_ms = 200,
		.max_message_size = 64 * 1024, .max_joined_size = 64 * 1024,
	};
	captured = g_string_new(NULL);
	pp_log_set_sink(capture_sink, NULL);
	long rss0 = rss_kib();
	TC *t = tc_new_cfg("flood", &cfg);
	SPIN_UNTIL(wsflood_done(fl) >= 2 && t->n_state[PP_SIGCLIENT_DISCONNECTED] >= 2, 30000);
	long rss1 = rss_kib();
	pp_log_set_sink(NULL, NULL);
	for (guint i = 0; i < 2; i++) {
		const WsFloodConn *r = wsflood_conn(fl, i);
		g_test_message("connection %u: %" G_GUINT64_FORMAT " bytes of the message went out "
		               "before the client stopped it; its close: %d %s", i, r->sent,
		               r->close_code, r->close_reason);
		g_assert_cmpint(r->close_code, ==, 1009);
		g_assert_cmpstr(r->close_reason, ==, "message too big");
		/* the limit plus what the sockets' buffers hold */
		g_assert_cmpuint(r->sent, <, cap / 2);
	}
	g_assert_true(wsflood_conn(fl, 1)->got_join);
	g_test_message("client RSS %ld KiB before, %ld KiB after", rss0, rss1);
	g_assert_cmpint(rss1 - rss0, <, 24 * 1024);
	/* each time: joined (a fragmented JOINED passes), then dropped, retried */
	g_assert_cmpuint(t->n_joined, >=, 2);
	g_assert_cmpuint(t->n_state[PP_SIGCLIENT_FATAL], ==, 0);
	g_assert_cmpint(t->why, ==, PP_SIGCLIENT_WHY_PROTOCOL);
	g_assert_true(strstr(t->detail, "closed with 1009 (message too big)") != NULL);
	g_assert_true(strstr(captured->str, "over the 65536-byte limit") != NULL);
	g_assert_cmpuint(pp_sigclient_attempts(t->c), >=, 2);
	tc_free(t);
	spin(50);
	g_string_free(captured, TRUE);
	captured = NULL;
	wsflood_stop(fl);
	g_free(url);
}

/* A client whose limit is above the server's: the server closes with 1009,
 * a bug in the configuration, so FATAL rather than a retry loop. */
static void test_close_1009(void)
{
	SigServer *s = sig_server_start(NULL);
	TC *g = tc_new(s, "gateway", "gw1", "gateway", NULL);
	SPIN_UNTIL(g->state == PP_SIGCLIENT_JOINED, 5000);
	TC *d = tc_new_opts(s, "desktop", "alice", "desktop", &(struct pp_sigclient_config){
		.max_message_size = 256 * 1024,
	});
	SPIN_UNTIL(d->state == PP_SIGCLIENT_JOINED && g->roster->len == 1, 5000);
	char *big = g_malloc(100 * 1024);
	memset(big, 'a', 100 * 1024 - 1);
	big[100 * 1024 - 1] = '\0';
	g_assert_cmpint(pp_sigclient_send_sdp(d->c, g->peer_id, "offer", big), ==, 0);
	g_free(big);
	SPIN_UNTIL(d->state == PP_SIGCLIENT_FATAL, 5000);
	g_assert_cmpint(d->why, ==, PP_SIGCLIENT_WHY_PROTOCOL);
	g_assert_true(strstr(d->detail, "1009") != NULL);
	spin(500);
	g_assert_cmpuint(pp_sigclient_attempts(d->c), ==, 1);
	tc_free(d);
	tc_free(g);
	spin(100);
	sig_server_stop_clean(s);
}

/* Idle but alive: the server answers our pings, nothing reconnects. A
 * server that stops answering (SIGSTOP: TCP stays up) is detected after 3
 * keepalive intervals; it is rejoined once it runs again. */
static void test_keepalive(void)
{
	SigServer *s = sig_server_start(NULL);
	TC *t = tc_new_opts(s, "keepalive", "gw1", "gateway", &(struct pp_sigclient_config){
		.keepalive_ms = 1000, .connect_timeout_ms = 1000,
		.backoff_min_ms = 200, .backoff_max_ms = 400,
	});
	SPIN_UNTIL(t->state == PP_SIGCLIENT_JOINED, 5000);
	spin(4500);
	g_assert_cmpint(t->state, ==, PP_SIGCLIENT_JOINED);
	g_assert_cmpuint(pp_sigclient_attempts(t->c), ==, 1);

	gint64 t0 = ws_now_ms();
	g_assert_cmpint(kill(sig_server_pid(s), SIGSTOP), ==, 0);
	SPIN_UNTIL(t->state == PP_SIGCLIENT_DISCONNECTED, 8000);
	gint64 t1 = ws_now_ms();
	g_assert_cmpint(t->why, ==, PP_SIGCLIENT_WHY_TIMEOUT);
	g_test_message("silent server detected after %" G_GINT64_FORMAT " ms", t1 - t0);
	/* the last pong came at most one ping interval (1 s) before the stop */
	g_assert_cmpint(t1 - t0, >=, 1900);
	g_assert_cmpint(t1 - t0, <=, 5000);
	spin(1500); /* attempts time out: TCP connects, nobody upgrades */
	g_assert_cmpint(kill(sig_server_pid(s), SIGCONT), ==, 0);
	guint n = t->n_joined;
	SPIN_UNTIL(t->n_joined == n + 1, 8000);
	tc_free(t);
	spin(100);
	sig_server_stop_clean(s);
}

/* pp_sigclient_check() with the default 10 s keepalive: a server that
 * answers ends the check with on_checked and the connection stays; a
 * silent one (stopped) is given up at the check's deadline, long before
 * the keepalive's 30 s, and rejoined once it answers again. */
static void test_check(void)
{
	SigServer *s = sig_server_start(NULL);
	TC *t = tc_new_opts(s, "check", "desk1", "desktop", &(struct pp_sigclient_config){
		.connect_timeout_ms = 1000, .backoff_min_ms = 200, .backoff_max_ms = 400,
	});

	SPIN_UNTIL(t->state == PP_SIGCLIENT_JOINED, 5000);
	char first_id[PP_PEER_ID_LEN + 1];
	g_strlcpy(first_id, t->peer_id, sizeof(first_id));
	gint64 t0 = ws_now_ms();
	g_assert_cmpint(pp_sigclient_check(t->c, 3000), ==, 0);
	g_assert_cmpint(pp_sigclient_check(t->c, 3000), ==, 0); /* one running */
	SPIN_UNTIL(t->n_checked == 1, 5000);
	g_test_message("a live server answered the check after %" G_GINT64_FORMAT " ms",
	               ws_now_ms() - t0);
	g_assert_true(pp_sigclient_heard_within(t->c, 3000)); /* the pong */
	spin(3500); /* past the deadline: nothing more comes of it */
	g_assert_cmpuint(t->n_checked, ==, 1);
	g_assert_cmpint(t->state, ==, PP_SIGCLIENT_JOINED);
	g_assert_cmpuint(pp_sigclient_attempts(t->c), ==, 1);
	/* the keepalive pings every 10 s; the server's own pings do not count */
	g_assert_false(pp_sigclient_heard_within(t->c, 3000));

	g_assert_cmpint(kill(sig_server_pid(s), SIGSTOP), ==, 0);
	t0 = ws_now_ms();
	g_assert_cmpint(pp_sigclient_check(t->c, 3000), ==, 0);
	SPIN_UNTIL(t->state == PP_SIGCLIENT_DISCONNECTED, 8000);
	g_test_message("a silent server given up after %" G_GINT64_FORMAT " ms", ws_now_ms() - t0);
	g_assert_cmpint(t->why, ==, PP_SIGCLIENT_WHY_TIMEOUT);
	g_assert_nonnull(strstr(t->detail, "liveness check"));
	g_assert_cmpuint(t->n_checked, ==, 1);
	g_assert_cmpint(pp_sigclient_check(t->c, 3000), ==, PP_ERR_STATE);
	g_assert_false(pp_sigclient_heard_within(t->c, 60000)); /* not joined */
	g_assert_cmpint(kill(sig_server_pid(s), SIGCONT), ==, 0);
	SPIN_UNTIL(t->n_joined == 2 && t->state == PP_SIGCLIENT_JOINED, 10000);
	g_assert_cmpstr(t->peer_id, !=, first_id);
	g_assert_true(pp_sigclient_heard_within(t->c, 3000)); /* JOINED */
	g_assert_cmpuint(t->n_checked, ==, 1);
	tc_free(t);
	spin(100);
	sig_server_stop_clean(s);
}

/* A leave while the server has gone silent: the keepalive's verdict
 * comes before the leave's wait is over. The leave must end it, not a
 * reconnect that would join again as a member nobody handles. */
static void test_leave_while_silent(void)
{
	SigServer *s = sig_server_start(NULL);
	TC *t = tc_new_opts(s, "leave-silent", "gw1", "gateway", &(struct pp_sigclient_config){
		.keepalive_ms = 1000, .connect_timeout_ms = 1000,
		/* a retry would come after the leave's 2 s wait */
		.backoff_min_ms = 3000, .backoff_max_ms = 3000,
	});
	SPIN_UNTIL(t->state == PP_SIGCLIENT_JOINED, 5000);
	g_assert_cmpint(kill(sig_server_pid(s), SIGSTOP), ==, 0);
	spin(1500); /* silent, not yet for 3 keepalives */
	g_assert_cmpint(t->state, ==, PP_SIGCLIENT_JOINED);
	g_assert_cmpint(pp_sigclient_leave(t->c), ==, 0);
	SPIN_UNTIL(t->state == PP_SIGCLIENT_DISCONNECTED, 5000);
	g_assert_cmpint(t->why, ==, PP_SIGCLIENT_WHY_LEFT);
	spin(5000); /* past the leave's wait and any retry's delay */
	g_assert_cmpint(t->state, ==, PP_SIGCLIENT_DISCONNECTED);
	g_assert_cmpint(t->why, ==, PP_SIGCLIENT_WHY_LEFT);
	g_assert_cmpuint(pp_sigclient_attempts(t->c), ==, 1);
	g_assert_cmpint(kill(sig_server_pid(s), SIGCONT), ==, 0);
	spin(1000);
	g_assert_cmpuint(pp_sigclient_attempts(t->c), ==, 1);
	g_assert_cmpint(t->state, ==, PP_SIGCLIENT_DISCONNECTED);
	tc_free(t);
	spin(100);
	sig_server_stop_clean(s);
}

static void drop_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer user)
{
}

int main(int argc, char **argv)
{
	sig_test_init(&argc, &argv);
	/* libsoup's and GIO's per-frame debug lines drown the test log */
	g_log_set_handler("libsoup", G_LOG_LEVEL_DEBUG, drop_log, NULL);
	g_log_set_handler("GLib-GIO", G_LOG_LEVEL_DEBUG, drop_log, NULL);
	pp_log_setup("test_sigclient", PP_LOG_INFO, PP_LOG_TEXT);
	ctx = g_main_context_new();
	g_main_context_push_thread_default(ctx);
	g_test_add_func("/sigclient/parse", test_parse);
	g_test_add_func("/sigclient/parse-fingerprints", test_parse_fingerprints);
	g_test_add_func("/sigclient/config", test_config);
	g_test_add_func("/sigclient/relay", test_relay);
	g_test_add_func("/sigclient/outgoing-bound", test_outgoing_bound);
	g_test_add_func("/sigclient/outgoing-bound-configured", test_outgoing_bound_configured);
	g_test_add_func("/sigclient/gateway-pace", test_gateway_pace);
	g_test_add_func("/sigclient/reconnect", test_reconnect);
	g_test_add_func("/sigclient/bad-token/wrong-secret", test_bad_token_wrong_secret);
	g_test_add_func("/sigclient/bad-token/expired-free-in-callback", test_bad_token_expired);
	g_test_add_func("/sigclient/token-not-logged", test_token_not_logged);
	g_test_add_func("/sigclient/tls", test_tls);
	g_test_add_func("/sigclient/trust-default", test_trust_default);
	g_test_add_func("/sigclient/backoff", test_backoff);
	g_test_add_func("/sigclient/fake-server/script", test_fake_server);
	g_test_add_func("/sigclient/fake-server/timeouts", test_fake_timeouts);
	g_test_add_func("/sigclient/fake-server/redirect", test_redirect);
	g_test_add_func("/sigclient/fake-server/fragment-flood", test_fragment_flood);
	g_test_add_func("/sigclient/close-1009", test_close_1009);
	g_test_add_func("/sigclient/keepalive", test_keepalive);
	g_test_add_func("/sigclient/leave-while-silent", test_leave_while_silent);
	g_test_add_func("/sigclient/check", test_check);
	int rc = g_test_run();
	g_main_context_pop_thread_default(ctx);
	g_main_context_unref(ctx);
	return rc;
}
