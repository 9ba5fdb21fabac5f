/* SPDX-License-Identifier: Apache-2.0 */
/* ICE restart of a live tunnel (node.c, session.c) through the real
 * signaling server: a gateway node and a desktop node (redial on) in one
 * process, peerpipe-signal as a child, everything on 127.0.0.1 inside a
 * private network namespace (the test unshares one first: root only), so
 * that an iptables rule there can cut the peers' UDP path while the
 * signaling (TCP) stays up.
 *
 *  - restart: the path is cut under two running streams; consent expires,
 *    the desktop offers one ICE restart over signaling (it answered the
 *    first offer: the gateway was there first), the gateway takes it as a
 *    restart of the same session, the path is let through again, and the
 *    same session carries on: both streams complete with equal SHA-256.
 *  - fallback: the path stays cut during the restart; the desktop gives
 *    the session up and redials as before; once the path is back a new
 *    session comes up.
 *
 * No timing assertions; the times are logged. */
#include "netns_private.h"
#include "sigserver.h"
#include "tunnel_pair.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/identity.h"
#include "peerpipe/tunnel/ctrl.h"
#include "peerpipe/tunnel/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROOM "office"
#define SVC "db"
#define DOWN_BYTES (20ull << 20) /* service -> desktop */
#define UP_BYTES (8ull << 20)    /* desktop -> service */

static GMainContext *ctx;
static const char *const loopback[] = { "127.0.0.1" };

struct node {
	const char *name;
	bool gateway;
	struct pp_identity *id;
	struct pp_identity *other_id;
	struct pp_tnode *n;
	char *token;
	char url[64];
	struct pp_tlink *link;     /* the current one */
	unsigned ready;            /* sessions that became READY */
	unsigned closed;           /* links closed */
	struct tp_pump *pump;      /* the service end (gateway), client end (desktop) */
	struct pp_tstream *st;
	bool connected;            /* desktop: CONNECTED received */
};

static bool want_peer(void *user, const struct pp_sigclient_peer *peer,
                      const struct pp_fingerprint **pins, size_t *n_pins)
{
	struct node *nd = user;

	*pins = pp_identity_fingerprint(nd->other_id);
	*n_pins = 1;
	return true;
}

static void on_ready(void *user, struct pp_tlink *l)
{
	struct node *nd = user;

	nd->link = l;
	nd->ready++;
	g_test_message("%s: session ready (%u)", nd->name, nd->ready);
}

static const struct tp_pump_cfg service_pump = {
	.send = DOWN_BYTES, .seed = 2, .shut_wr = true, .timeout_s = 120,
};
static const struct tp_pump_cfg client_pump = {
	.send = UP_BYTES, .seed = 1, .shut_wr = true, .timeout_s = 120,
};

/* The gateway: the stream gets a socket to the test's service. */
static void on_stream_request(void *user, struct pp_tlink *l, struct pp_sctp_channel *ch)
{
	struct node *nd = user;
	struct pp_tstream *st = pp_tsession_accept_stream(pp_tlink_session(l), ch);
	int a, b;

	g_assert_nonnull(st);
	g_assert_null(nd->pump);
	tp_socket_pair(false, 0, &a, &b);
	g_assert_cmpint(tp_set_nonblock(a), ==, 0);
	nd->pump = tp_pump_start(b, &service_pump, ctx);
	g_assert_cmpint(pp_tstream_attach(st, a), ==, 0);
	char *j = pp_ctrl_build_connected();
	g_assert_cmpint(pp_tstream_send_text(st, j), ==, 0);
	free(j);
	nd->st = st;
}

static void on_stream_text(void *user, struct pp_tlink *l, struct pp_tstream *st,
                           const struct pp_ctrl_msg *m)
{
	struct node *nd = user;

	if (m->type == PP_CTRL_CONNECTED) {
		pp_tstream_confirm(st);
		nd->connected = true;
	}
}

static void on_stream_closed(void *user, struct pp_tlink *l, struct pp_tstream *st,
                             const char *reason)
{
	struct node *nd = user;

	g_test_message("%s: stream closed: %s", nd->name, reason ? reason : "");
	if (st == nd->st)
		nd->st = NULL;
}

static void on_link_closed(void *user, struct pp_tlink *l, const char *reason)
{
	struct node *nd = user;

	nd->closed++;
	g_test_message("%s: link closed: %s", nd->name, reason ? reason : "");
	if (l == nd->link)
		nd->link = NULL;
}

static const struct pp_tnode_callbacks node_cb = {
	.want_peer = want_peer,
	.on_ready = on_ready,
	.on_stream_request = on_stream_request,
	.on_stream_text = on_stream_text,
	.on_stream_closed = on_stream_closed,
	.on_link_closed = on_link_closed,
};

static void node_start(struct node *nd, SigServer *srv, const char *name, bool gateway,
                       struct pp_identity *id, struct pp_identity *other)
{
	memset(nd, 0, sizeof(*nd));
	nd->name = name;
	nd->gateway = gateway;
	nd->id = id;
	nd->other_id = other;
	nd->token = sig_token(srv, name, ROOM, gateway ? "gateway" : "desktop");
	g_snprintf(nd->url, sizeof(nd->url), "ws://127.0.0.1:%u/v1/ws", sig_server_port(srv));
	struct pp_tnode_config nc = {
		.sig = {
			.url = nd->url,
			.token = nd->token,
			.room = ROOM,
			.fingerprint = pp_identity_fingerprint_str(id),
			.allow_insecure_ws = true,
		},
		.session = {
			.peer = {
				.identity = id,
				.local_addresses = loopback,
				.n_local_addresses = 1,
			},
			.is_gateway = gateway,
			.agent = "peerpipe/test",
		},
		.redial = !gateway,
	};
	nd->n = pp_tnode_new(ctx, &nc, &node_cb, nd);
	g_assert_nonnull(nd->n);
}

static void node_stop(struct node *nd)
{
	if (nd->pump) {
		tp_pump_stop(nd->pump);
		tp_pump_free(nd->pump);
	}
	pp_tnode_free(nd->n);
	g_free(nd->token);
}

/* --- loop -------------------------------------------------------------------- */

typedef bool (*pred_fn)(void *);

static bool run_until(pred_fn pred, void *data, unsigned ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;

	while (!pred(data) && g_get_monotonic_time() < end)
		g_main_context_iteration(ctx, TRUE);
	return pred(data);
}

static void sh(const char *cmd)
{
	int status = -1;
	gchar *argv[] = { "/bin/sh", "-c", (gchar *)cmd, NULL };

	g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status,
	                           NULL));
	if (!g_spawn_check_wait_status(status, NULL))
		g_error("command failed: %s", cmd);
}

/* Our namespace's loopback: UDP only, so the WebSocket stays up. */
static void cut_path(bool cut)
{
	sh(cut ? "iptables -I INPUT -i lo -p udp -j DROP" : "iptables -D INPUT -i lo -p udp -j DROP");
}

struct pair {
	struct node gw, desk;
	SigServer *srv;
	struct pp_identity *gw_id, *desk_id;
};

static bool both_ready(void *d)
{
	struct pair *p = d;
	return p->gw.link && p->desk.link && p->gw.ready && p->desk.ready;
}

static struct pp_peer *desk_peer(struct pair *p)
{
	return p->desk.link ? pp_tsession_peer(pp_tlink_session(p->desk.link)) : NULL;
}

static bool desk_restarting(void *d)
{
	struct pp_peer *pc = desk_peer(d);
	return !pc || pp_peer_get_state(pc) == PP_PEER_RESTARTING;
}

static void pair_up(struct pair *p)
{
	memset(p, 0, sizeof(*p));
	p->srv = sig_server_start(NULL);
	g_assert_cmpint(pp_identity_new_ephemeral(&p->gw_id), ==, 0);
	g_assert_cmpint(pp_identity_new_ephemeral(&p->desk_id), ==, 0);
	/* the gateway first: it gets NEW_PEER and offers, the desktop answers */
	node_start(&p->gw, p->srv, "gw", true, p->gw_id, p->desk_id);
	gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (pp_sigclient_get_state(pp_tnode_sigclient(p->gw.n)) != PP_SIGCLIENT_JOINED &&
	       g_get_monotonic_time() < end)
		g_main_context_iteration(ctx, TRUE);
	node_start(&p->desk, p->srv, "desk", false, p->desk_id, p->gw_id);
	g_assert_true(run_until(both_ready, p, 20000));
}

static void pair_down(struct pair *p)
{
	node_stop(&p->desk);
	node_stop(&p->gw);
	while (g_main_context_iteration(ctx, FALSE))
		;
	sig_server_stop_clean(p->srv);
	pp_identity_free(p->gw_id);
	pp_identity_free(p->desk_id);
}

static bool streams_flowing(void *d)
{
	struct pair *p = d;
	return p->desk.pump && tp_pump_received(p->desk.pump) >= DOWN_BYTES / 4 && p->gw.pump &&
	       tp_pump_received(p->gw.pump) >= UP_BYTES / 4;
}

static void open_stream(struct pair *p)
{
	int a, b;
	struct pp_tstream *st = NULL;

	tp_socket_pair(false, 0, &a, &b);
	g_assert_cmpint(tp_set_nonblock(a), ==, 0);
	g_assert_cmpint(pp_tsession_open_stream(pp_tlink_session(p->desk.link), SVC, a, &st), ==, 0);
	p->desk.st = st;
	p->desk.pump = tp_pump_start(b, &client_pump, ctx);
	g_assert_true(run_until(streams_flowing, p, 60000));
}

static bool pumps_done(void *d)
{
	struct pair *p = d;
	return tp_pump_done(p->desk.pump) && tp_pump_done(p->gw.pump);
}

/* --- tests ----------------------------------------------------------------------- */

static void test_restart(void)
{
	struct pair p;
	uint8_t want[TP_SHA_LEN];

	pair_up(&p);
	struct pp_tlink *gl = p.gw.link, *dl = p.desk.link;
	open_stream(&p);
	gint64 t0 = g_get_monotonic_time();
	cut_path(true);
	g_assert_true(run_until(desk_restarting, &p, 40000));
	g_assert_nonnull(desk_peer(&p));
	g_test_message("path cut: the desktop restarts ICE after %.1f s",
	               (g_get_monotonic_time() - t0) / 1e6);
	cut_path(false);
	gint64 t1 = g_get_monotonic_time();
	g_assert_true(run_until(pumps_done, &p, 120000));
	g_test_message("streams complete %.1f s after the path came back",
	               (g_get_monotonic_time() - t1) / 1e6);
	/* the same session on both sides: no redial, nothing closed */
	g_assert_cmpuint(p.gw.closed, ==, 0);
	g_assert_cmpuint(p.desk.closed, ==, 0);
	g_assert_true(p.gw.link == gl && p.desk.link == dl);
	g_assert_cmpuint(p.gw.ready, ==, 1);
	g_assert_cmpuint(p.desk.ready, ==, 1);
	g_assert_cmpint(pp_peer_get_state(desk_peer(&p)), ==, PP_PEER_CONNECTED);
	g_assert_cmpint(pp_peer_get_state(pp_tsession_peer(pp_tlink_session(gl))), ==,
	                PP_PEER_CONNECTED);
	/* both directions intact */
	struct tp_pump *dp = p.desk.pump, *gp = p.gw.pump;
	g_assert_false(dp->timed_out || gp->timed_out);
	g_assert_cmpint(dp->err, ==, 0);
	g_assert_cmpint(gp->err, ==, 0);
	g_assert_cmpuint(tp_pump_received(dp), ==, DOWN_BYTES);
	g_assert_cmpuint(tp_pump_received(gp), ==, UP_BYTES);
	tp_gen_sha(service_pump.seed, DOWN_BYTES, want);
	g_assert_cmpmem(dp->recv_sha, TP_SHA_LEN, want, TP_SHA_LEN);
	tp_gen_sha(client_pump.seed, UP_BYTES, want);
	g_assert_cmpmem(gp->recv_sha, TP_SHA_LEN, want, TP_SHA_LEN);
	pair_down(&p);
}

static bool desk_link_closed(void *d)
{
	return ((struct pair *)d)->desk.closed > 0;
}

static bool both_ready_again(void *d)
{
	struct pair *p = d;
	return p->desk.ready >= 2 && p->gw.ready >= 2 && both_ready(p);
}

static void test_fallback(void)
{
	struct pair p;

	pair_up(&p);
	gint64 t0 = g_get_monotonic_time();
	cut_path(true);
	g_assert_true(run_until(desk_restarting, &p, 40000));
	g_test_message("path cut: the desktop restarts ICE after %.1f s",
	               (g_get_monotonic_time() - t0) / 1e6);
	g_assert_true(run_until(desk_link_closed, &p, 60000));
	g_test_message("the restart did not connect: desktop session closed after %.1f s",
	               (g_get_monotonic_time() - t0) / 1e6);
	cut_path(false);
	gint64 t1 = g_get_monotonic_time();
	g_assert_true(run_until(both_ready_again, &p, 60000));
	g_test_message("redialed: a new session %.1f s after the path came back",
	               (g_get_monotonic_time() - t1) / 1e6);
	pair_down(&p);
}

int main(int argc, char **argv)
{
	if (!netns_private_init(&argc, &argv, "test_tunnel_restart", NULL))
		return 0;
	ctx = g_main_context_default();
	g_test_add_func("/tunnel-restart/restart-keeps-streams", test_restart);
	g_test_add_func("/tunnel-restart/fallback-redial", test_fallback);
	return g_test_run();
}
