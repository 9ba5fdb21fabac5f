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
 *  - fallback: the path stays cut during the restarts (three); the
 *    desktop gives the session up and redials as before; once the path is
 *    back a new session comes up.
 *  - long outage: the path comes back during the second restart, and the
 *    session carries on.
 *  - rejoin: the desktop's WebSocket dies without a close (its TCP
 *    connection is dropped by iptables) and it rejoins under a new
 *    peer_id while the old one is still in the room. The gateway cannot
 *    take the newcomer for its live session and offers a new one; the
 *    desktop (one session per gateway, as peerpipe connect) refuses it.
 *    Then the path is cut: the desktop's ICE restart comes from its new
 *    id, the gateway's answer must reach the desktop's live session, and
 *    the streams complete on it.
 *  - network change: the desktop's WebSocket and UDP path die together;
 *    its restart offer waits for a check of signaling, which fails; it
 *    rejoins and offers from its new id, and the streams complete.
 *  - rejoin, old id gone: the same, but the old id leaves the room (ping
 *    timeout) and the refused offer's session ends before the path is
 *    cut: the live session follows the new id, and the restart works.
 *  - gateway network change: the mirror of the network change, at the
 *    gateway; its fallback restart comes from its new id while its old
 *    one, which the desktop's restart went to, is still in the room.
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
	unsigned joins;            /* signaling JOINED, first time and rejoins */
	unsigned refused;          /* desktop: a second session refused */
	unsigned path_lost, path_back; /* on_path reports */
	char close_reason[128];    /* of the last link closed */
	guint16 sig_port;          /* our end of the WebSocket (pair_up) */
	const struct tp_pump_cfg *svc; /* gateway: what the service end does */
};

/* What a test changes of the defaults. */
struct pair_opts {
	const char *const *server_args; /* --set ... for peerpipe-signal, NULL-ended */
	uint32_t desk_keepalive_ms;     /* the desktop's signaling keepalive */
	uint32_t gw_keepalive_ms;       /* the gateway's */
	uint32_t gw_connect_timeout_ms; /* the gateway's sessions' connect deadline */
	const struct tp_pump_cfg *svc;  /* the service's end of the stream */
	const char *const *gw_addresses; /* the gateway's ICE addresses; NULL: 127.0.0.1 */
	size_t n_gw_addresses;
};

/* Log lines of one side's links (their tag: "[gw/" is the desktop's link
 * to the gateway) that contain a needle, counted while a test watches. */
static struct {
	const char *tag;
	const char *needle[2];
	unsigned seen[2];
} watch;

static void watch_sink(enum pp_log_level level, const char *line, void *user)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(watch.needle); i++)
		watch.seen[i] += strstr(line, watch.tag) && strstr(line, watch.needle[i]);
	if (level <= PP_LOG_WARN || g_test_verbose())
		fprintf(stderr, "%s\n", line);
}

static void watch_log(const char *tag, const char *a, const char *b)
{
	memset(&watch, 0, sizeof(watch));
	watch.tag = tag;
	watch.needle[0] = a;
	watch.needle[1] = b;
	pp_log_set_level(g_test_verbose() ? PP_LOG_DEBUG : PP_LOG_INFO);
	pp_log_set_sink(watch_sink, NULL);
}

static void watch_end(void)
{
	pp_log_set_sink(NULL, NULL);
	pp_log_set_level(g_test_verbose() ? PP_LOG_DEBUG : PP_LOG_WARN);
}

static bool want_peer(void *user, const struct pp_sigclient_peer *peer,
                      const struct pp_fingerprint **pins, size_t *n_pins)
{
	struct node *nd = user;

	/* the desktop wants one session per gateway, as peerpipe connect */
	if (!nd->gateway && nd->link) {
		nd->refused++;
		g_test_message("%s: a second session with %.8s refused", nd->name, peer->peer_id);
		return false;
	}
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
	nd->pump = tp_pump_start(b, nd->svc, ctx);
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
	g_strlcpy(nd->close_reason, reason ? reason : "", sizeof(nd->close_reason));
	g_test_message("%s: link closed: %s", nd->name, reason ? reason : "");
	if (l == nd->link)
		nd->link = NULL;
}

static void on_path(void *user, struct pp_tlink *l, bool up, const char *reason)
{
	struct node *nd = user;

	if (up)
		nd->path_back++;
	else
		nd->path_lost++;
	g_test_message("%s: path %s (%s)", nd->name, up ? "back" : "lost", reason);
}

static void on_signal_state(void *user, enum pp_sigclient_state st, enum pp_sigclient_why why,
                            const char *detail)
{
	struct node *nd = user;

	if (st == PP_SIGCLIENT_JOINED)
		nd->joins++;
	g_test_message("%s: signaling %s (%s)", nd->name, pp_sigclient_state_name(st),
	               pp_sigclient_why_name(why));
}

static const struct pp_tnode_callbacks node_cb = {
	.want_peer = want_peer,
	.on_signal_state = on_signal_state,
	.on_ready = on_ready,
	.on_stream_request = on_stream_request,
	.on_stream_text = on_stream_text,
	.on_stream_closed = on_stream_closed,
	.on_link_closed = on_link_closed,
	.on_path = on_path,
};

static void node_start(struct node *nd, SigServer *srv, const char *name, bool gateway,
                       struct pp_identity *id, struct pp_identity *other, const struct pair_opts *o)
{
	memset(nd, 0, sizeof(*nd));
	nd->name = name;
	nd->gateway = gateway;
	nd->id = id;
	nd->other_id = other;
	nd->svc = o->svc ? o->svc : &service_pump;
	nd->token = sig_token(srv, name, ROOM, gateway ? "gateway" : "desktop");
	g_snprintf(nd->url, sizeof(nd->url), "ws://127.0.0.1:%u/v1/ws", sig_server_port(srv));
	struct pp_tnode_config nc = {
		.sig = {
			.url = nd->url,
			.token = nd->token,
			.room = ROOM,
			.fingerprint = pp_identity_fingerprint_str(id),
			.allow_insecure_ws = true,
			.keepalive_ms = gateway ? o->gw_keepalive_ms : o->desk_keepalive_ms,
		},
		.session = {
			.peer = {
				.identity = id,
				.local_addresses = gateway && o->gw_addresses ? o->gw_addresses
				                                              : loopback,
				.n_local_addresses = gateway && o->gw_addresses ? o->n_gw_addresses : 1,
			},
			.is_gateway = gateway,
			.agent = "peerpipe/test",
			.connect_timeout_ms = gateway ? o->gw_connect_timeout_ms : 0,
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

/* The local ports of the TCP connections to the signaling server (its
 * clients' ends), as ss(8) lists them: "Recv-Q Send-Q local peer". */
static GArray *sig_client_ports(SigServer *srv)
{
	char *cmd = g_strdup_printf("ss -Htn state established '( dport = :%u )'",
	                            sig_server_port(srv));
	char *out = NULL, **lines;
	int status = -1;
	GArray *ports = g_array_new(FALSE, FALSE, sizeof(guint16));

	g_assert_true(g_spawn_command_line_sync(cmd, &out, NULL, &status, NULL));
	g_assert_true(g_spawn_check_wait_status(status, NULL));
	lines = g_strsplit(out, "\n", -1);
	for (char **l = lines; *l; l++) {
		char **tok = g_strsplit_set(g_strstrip(*l), " \t", -1);
		for (char **t = tok; *t; t++) {
			const char *colon = strrchr(*t, ':');
			if (colon) {
				guint16 port = (guint16)atoi(colon + 1);
				g_array_append_val(ports, port);
				break; /* the first address is the local one */
			}
		}
		g_strfreev(tok);
	}
	g_strfreev(lines);
	g_free(out);
	g_free(cmd);
	return ports;
}

static bool port_in(GArray *ports, guint16 port)
{
	for (guint i = 0; i < ports->len; i++)
		if (g_array_index(ports, guint16, i) == port)
			return true;
	return false;
}

static void pair_up_opts(struct pair *p, const struct pair_opts *o)
{
	GArray *gw_ports, *all;

	memset(p, 0, sizeof(*p));
	p->srv = sig_server_new();
	for (const char *const *a = o->server_args; a && *a; a++)
		sig_server_add_args(p->srv, *a, NULL);
	sig_server_run(p->srv);
	g_assert_cmpint(pp_identity_new_ephemeral(&p->gw_id), ==, 0);
	g_assert_cmpint(pp_identity_new_ephemeral(&p->desk_id), ==, 0);
	/* the gateway first: it gets NEW_PEER and offers, the desktop answers */
	node_start(&p->gw, p->srv, "gw", true, p->gw_id, p->desk_id, o);
	gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (pp_sigclient_get_state(pp_tnode_sigclient(p->gw.n)) != PP_SIGCLIENT_JOINED &&
	       g_get_monotonic_time() < end)
		g_main_context_iteration(ctx, TRUE);
	gw_ports = sig_client_ports(p->srv);
	g_assert_cmpuint(gw_ports->len, ==, 1);
	p->gw.sig_port = g_array_index(gw_ports, guint16, 0);
	node_start(&p->desk, p->srv, "desk", false, p->desk_id, p->gw_id, o);
	g_assert_true(run_until(both_ready, p, 20000));
	/* the desktop's signaling connection: the one that is not the gateway's */
	all = sig_client_ports(p->srv);
	for (guint i = 0; i < all->len; i++)
		if (!port_in(gw_ports, g_array_index(all, guint16, i)))
			p->desk.sig_port = g_array_index(all, guint16, i);
	g_array_free(all, TRUE);
	g_array_free(gw_ports, TRUE);
}

static void pair_up(struct pair *p)
{
	static const struct pair_opts defaults = { 0 };

	pair_up_opts(p, &defaults);
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

/* A stream from the desktop, its client end a pump of cli; sockbuf: see
 * tp_socket_pair(). */
static void start_stream(struct pair *p, const struct tp_pump_cfg *cli, int sockbuf)
{
	int a, b;
	struct pp_tstream *st = NULL;

	tp_socket_pair(false, sockbuf, &a, &b);
	g_assert_cmpint(tp_set_nonblock(a), ==, 0);
	g_assert_cmpint(pp_tsession_open_stream(pp_tlink_session(p->desk.link), SVC, a, &st), ==, 0);
	p->desk.st = st;
	p->desk.pump = tp_pump_start(b, cli, ctx);
}

static void open_stream_cfg(struct pair *p, const struct tp_pump_cfg *cli)
{
	start_stream(p, cli, 0);
	g_assert_true(run_until(streams_flowing, p, 60000));
}

static void open_stream(struct pair *p)
{
	open_stream_cfg(p, &client_pump);
}

static bool pumps_done(void *d)
{
	struct pair *p = d;
	return tp_pump_done(p->desk.pump) && tp_pump_done(p->gw.pump);
}

/* --- tests ----------------------------------------------------------------------- */

/* Cuts the path under the running stream (opening the pumps' gate, if
 * any, so that data queue up meanwhile), waits for the desktop's ICE
 * restart and lets the path through again: the same sessions, no redial,
 * carry the stream to its end with both directions intact. */
static void streams_complete_on(struct pair *p, struct pp_tlink *gl, struct pp_tlink *dl);

/* Cuts the path (opening the pumps' gate, if any) and waits up to ms for
 * pred; logs "path cut: <what> after N s". Returns when the cut began. */
static gint64 cut_path_until(struct pair *p, volatile gint *gate, pred_fn pred, unsigned ms,
                             const char *what)
{
	gint64 t0 = g_get_monotonic_time();

	cut_path(true);
	if (gate)
		g_atomic_int_set(gate, 1);
	g_assert_true(run_until(pred, p, ms));
	g_test_message("path cut: %s after %.1f s", what, (g_get_monotonic_time() - t0) / 1e6);
	return t0;
}

static void restart_keeps_streams(struct pair *p, struct pp_tlink *gl, struct pp_tlink *dl,
                                  volatile gint *gate)
{
	cut_path_until(p, gate, desk_restarting, 40000, "the desktop restarts ICE");
	g_assert_nonnull(desk_peer(p));
	cut_path(false);
	streams_complete_on(p, gl, dl);
}

/* The path is back: the same sessions, no redial, carry the stream to its
 * end with both directions intact; each side reported from `least` to
 * `most` lost paths, and as many back. */
static void streams_complete_after(struct pair *p, struct pp_tlink *gl, struct pp_tlink *dl,
                                   unsigned least, unsigned most)
{
	uint8_t want[TP_SHA_LEN];
	gint64 t1 = g_get_monotonic_time();

	g_assert_true(run_until(pumps_done, p, 120000));
	g_test_message("streams complete %.1f s after the path came back",
	               (g_get_monotonic_time() - t1) / 1e6);
	/* the same session on both sides: no redial */
	g_assert_cmpuint(p->desk.closed, ==, 0);
	g_assert_true(p->gw.link == gl && p->desk.link == dl);
	g_assert_cmpuint(p->gw.ready, ==, 1);
	g_assert_cmpuint(p->desk.ready, ==, 1);
	g_assert_cmpint(pp_peer_get_state(desk_peer(p)), ==, PP_PEER_CONNECTED);
	g_assert_cmpint(pp_peer_get_state(pp_tsession_peer(pp_tlink_session(gl))), ==,
	                PP_PEER_CONNECTED);
	/* each side reported the outage, and its end */
	const struct node *nodes[] = { &p->gw, &p->desk };
	for (size_t i = 0; i < G_N_ELEMENTS(nodes); i++) {
		const struct node *nd = nodes[i];
		g_assert_cmpuint(nd->path_lost, >=, least);
		g_assert_cmpuint(nd->path_lost, <=, most);
		g_assert_cmpuint(nd->path_back, ==, nd->path_lost);
	}
	/* both directions intact */
	struct tp_pump *dp = p->desk.pump, *gp = p->gw.pump;
	g_assert_false(dp->timed_out || gp->timed_out);
	g_assert_cmpint(dp->err, ==, 0);
	g_assert_cmpint(gp->err, ==, 0);
	g_assert_cmpuint(tp_pump_received(dp), ==, DOWN_BYTES);
	g_assert_cmpuint(tp_pump_received(gp), ==, UP_BYTES);
	tp_gen_sha(service_pump.seed, DOWN_BYTES, want);
	g_assert_cmpmem(dp->recv_sha, TP_SHA_LEN, want, TP_SHA_LEN);
	tp_gen_sha(client_pump.seed, UP_BYTES, want);
	g_assert_cmpmem(gp->recv_sha, TP_SHA_LEN, want, TP_SHA_LEN);
}

static void streams_complete_on(struct pair *p, struct pp_tlink *gl, struct pp_tlink *dl)
{
	streams_complete_after(p, gl, dl, 1, 1);
}

static void test_restart(void)
{
	struct pair p;

	pair_up(&p);
	struct pp_tlink *gl = p.gw.link, *dl = p.desk.link;
	open_stream(&p);
	restart_keeps_streams(&p, gl, dl, NULL);
	g_assert_cmpuint(p.gw.closed, ==, 0);
	pair_down(&p);
}

static bool never(void *d)
{
	(void)d;
	return false;
}

/* A blip shorter than ICE consent (10 s): the same pair, and SCTP's
 * retransmissions carry the streams on once the path is back, within its
 * backed-off timer (at most rto_max: 1.8 s after a 7 s outage at 3 s,
 * 2.9-3.8 s at 10 s). A side whose last consent answer came 3 s or more
 * before the cut (libnice checks every 4-6 s) may still see its consent
 * expire and restart ICE: either way the same sessions carry on. */
static void test_short_outage(void)
{
	struct pair p;

	pair_up(&p);
	struct pp_tlink *gl = p.gw.link, *dl = p.desk.link;
	open_stream(&p);
	cut_path(true);
	run_until(never, NULL, 7000);
	cut_path(false);
	streams_complete_after(&p, gl, dl, 0, 1);
	pair_down(&p);
}

/* The desktop's WebSocket dies without a close: its TCP connection is
 * dropped both ways (the server keeps the old id until its ping timeout;
 * the desktop's keepalive notices and it rejoins under a new id). */
static void block_tcp_port(guint16 port, bool block)
{
	char *cmd = g_strdup_printf("iptables %s INPUT -i lo -p tcp --sport %u -j DROP && "
	                            "iptables %s INPUT -i lo -p tcp --dport %u -j DROP",
	                            block ? "-I" : "-D", port, block ? "-I" : "-D", port);
	sh(cmd);
	g_free(cmd);
}

static bool desk_rejoined(void *d)
{
	return ((struct pair *)d)->desk.joins >= 2;
}

static bool desk_refused(void *d)
{
	return ((struct pair *)d)->desk.refused >= 1;
}

static const char *node_peer_id(struct node *nd)
{
	return pp_sigclient_peer_id(pp_tnode_sigclient(nd->n));
}

static const char *desk_peer_id(struct pair *p)
{
	return node_peer_id(&p->desk);
}

/* The pumps stop at a quarter until the path is cut: the stream is open,
 * a quarter done, across the rejoin, and its data queue up during the
 * outage. */
static void rejoin_pumps(volatile gint *gate, struct tp_pump_cfg *svc, struct tp_pump_cfg *cli)
{
	*svc = service_pump;
	svc->pause_at = DOWN_BYTES / 4;
	svc->gate = gate;
	*cli = client_pump;
	cli->pause_at = UP_BYTES / 4;
	cli->gate = gate;
}

/* The desktop rejoins (new id D2) while its old id D1 is still in the
 * room; the gateway offers a new session to D2 and the desktop refuses
 * it. Returns with the gateway holding both links: the live one and the
 * refused offer's. */
static void rejoin_refused(struct pair *p, char *old_id, size_t old_id_size)
{
	gint64 t0 = g_get_monotonic_time();

	g_assert_cmpuint(p->desk.sig_port, !=, 0);
	g_strlcpy(old_id, desk_peer_id(p), old_id_size);
	block_tcp_port(p->desk.sig_port, true);
	g_assert_true(run_until(desk_rejoined, p, 30000));
	g_assert_cmpstr(desk_peer_id(p), !=, old_id);
	g_assert_true(run_until(desk_refused, p, 20000));
	g_test_message("desktop rejoined as %.8s (was %.8s) and refused the gateway's new offer "
	               "after %.1f s", desk_peer_id(p), old_id, (g_get_monotonic_time() - t0) / 1e6);
	g_assert_cmpuint(pp_tnode_link_count(p->gw.n), ==, 2);
	g_assert_cmpuint(p->desk.closed, ==, 0);
	g_assert_cmpuint(p->gw.closed, ==, 0);
}

static void test_rejoin_restart(void)
{
	struct pair p;
	gint gate = 0;
	struct tp_pump_cfg svc, cli;
	char old_id[PP_PEER_ID_LEN + 1];

	rejoin_pumps(&gate, &svc, &cli);
	/* the server's default ping timeout keeps the old id in the room
	 * until well after the restart */
	const struct pair_opts o = { .desk_keepalive_ms = 1000, .svc = &svc };
	pair_up_opts(&p, &o);
	struct pp_tlink *gl = p.gw.link, *dl = p.desk.link;
	open_stream_cfg(&p, &cli);
	rejoin_refused(&p, old_id, sizeof(old_id));
	restart_keeps_streams(&p, gl, dl, &gate);
	/* the gateway's live session now answers to the desktop's new id,
	 * and did so while the old one was still in the room */
	g_assert_cmpstr(pp_tlink_peer(gl)->peer_id, ==, desk_peer_id(&p));
	char *log = sig_server_log(p.srv);
	g_assert_null(strstr(log, "no pong"));
	g_free(log);
	block_tcp_port(p.desk.sig_port, false);
	pair_down(&p);
}

static bool old_id_gone_and_offer_ended(void *d)
{
	struct pair *p = d;
	char *log = sig_server_log(p->srv);
	bool gone = strstr(log, "no pong") != NULL;

	g_free(log);
	return gone && p->gw.closed >= 1;
}

static void test_rejoin_old_id_gone(void)
{
	static const char *const server_args[] = { "--set", "limits.ping_interval=1s", "--set",
		                                   "limits.ping_timeout=10s", NULL };
	struct pair p;
	gint gate = 0;
	struct tp_pump_cfg svc, cli;
	char old_id[PP_PEER_ID_LEN + 1];

	rejoin_pumps(&gate, &svc, &cli);
	/* the old id leaves 10-11 s after its connection is blocked: after
	 * the desktop's rejoin (3-4 s) and before the refused offer's
	 * session gives up (15 s after it was made) */
	const struct pair_opts o = {
		.server_args = server_args,
		.desk_keepalive_ms = 1000,
		.gw_connect_timeout_ms = 15000,
		.svc = &svc,
	};
	pair_up_opts(&p, &o);
	struct pp_tlink *gl = p.gw.link, *dl = p.desk.link;
	open_stream_cfg(&p, &cli);
	rejoin_refused(&p, old_id, sizeof(old_id));
	g_assert_true(run_until(old_id_gone_and_offer_ended, &p, 40000));
	g_assert_cmpuint(p.gw.closed, ==, 1);
	/* the live session followed its peer to the new id */
	g_assert_cmpstr(pp_tlink_peer(gl)->peer_id, ==, desk_peer_id(&p));
	restart_keeps_streams(&p, gl, dl, &gate);
	g_assert_cmpstr(pp_tlink_peer(gl)->peer_id, ==, desk_peer_id(&p));
	block_tcp_port(p.desk.sig_port, false);
	pair_down(&p);
}

static bool desk_rejoined_restarting(void *d)
{
	return desk_rejoined(d) && desk_restarting(d);
}

/* A network change at one node (the gateway's or the desktop's): a pair
 * whose paused stream is open, then that node's WebSocket and the UDP
 * path cut at once, and the pumps' gate opened. old_id gets the node's
 * peer_id of before. Returns the time of the cut. */
static gint64 network_change_cut(struct pair *p, volatile gint *gate, struct tp_pump_cfg *svc,
                                 struct tp_pump_cfg *cli, struct node *at,
                                 char old_id[PP_PEER_ID_LEN + 1])
{
	rejoin_pumps(gate, svc, cli);
	const struct pair_opts o = { .svc = svc };
	pair_up_opts(p, &o);
	open_stream_cfg(p, cli);
	g_strlcpy(old_id, node_peer_id(at), PP_PEER_ID_LEN + 1);
	gint64 t0 = g_get_monotonic_time();
	block_tcp_port(at->sig_port, true);
	cut_path(true);
	g_atomic_int_set(gate, 1);
	return t0;
}

/* The path is let through again: the streams complete on the sessions
 * gl and dl of before the cut, which answer the moved node's new id. */
static void network_change_done(struct pair *p, struct pp_tlink *gl, struct pp_tlink *dl,
                                struct node *at)
{
	cut_path(false);
	streams_complete_on(p, gl, dl);
	if (at == &p->desk)
		g_assert_cmpstr(pp_tlink_peer(gl)->peer_id, ==, node_peer_id(at));
	else
		g_assert_cmpstr(pp_tlink_peer(dl)->peer_id, ==, node_peer_id(at));
	block_tcp_port(at->sig_port, false);
	pair_down(p);
}

/* A network change: the desktop's WebSocket and its UDP path die
 * together, with the default keepalive (10 s), which alone would notice
 * only after 30 s of silence, past the restart window. The desktop's
 * restart offer waits for a check of its signaling connection; the check
 * fails, the desktop rejoins under a new id and offers from there; the
 * path comes back once the offer is out, and the same sessions carry the
 * streams to their end. */
static void test_network_change(void)
{
	struct pair p;
	gint gate = 0;
	struct tp_pump_cfg svc, cli;
	char old_id[PP_PEER_ID_LEN + 1];
	watch_log("[gw/", "ICE restart offer held", "ICE restart offer sent at once");
	gint64 t0 = network_change_cut(&p, &gate, &svc, &cli, &p.desk, old_id);
	struct pp_tlink *gl = p.gw.link, *dl = p.desk.link;

	g_assert_true(run_until(desk_rejoined_restarting, &p, 40000));
	watch_end();
	g_test_message("signaling and path cut: the desktop rejoined as %.8s (was %.8s) and "
	               "offered its ICE restart from there after %.1f s", desk_peer_id(&p), old_id,
	               (g_get_monotonic_time() - t0) / 1e6);
	g_assert_cmpstr(desk_peer_id(&p), !=, old_id);
	/* nothing came over the desktop's dead WebSocket after the cut: its
	 * offer waited (the gateway's, on a live one, need not) */
	g_assert_cmpuint(watch.seen[0], ==, 1);
	g_assert_cmpuint(watch.seen[1], ==, 0);
	network_change_done(&p, gl, dl, &p.desk);
}

static bool gw_rejoined_and_followed(void *d)
{
	struct pair *p = d;
	const char *gw_id = node_peer_id(&p->gw);

	return p->gw.joins >= 2 && p->desk.link && gw_id[0] &&
	       strcmp(pp_tlink_peer(p->desk.link)->peer_id, gw_id) == 0;
}

/* The mirror of the above: the gateway's WebSocket and UDP path die
 * together (its address changed) while the desktop's signaling is fine.
 * The desktop's restart goes to the gateway's old id, which the server
 * keeps until its ping timeout, and is lost. The gateway's fallback
 * restart waits for a check of its signaling, which fails; it rejoins
 * and offers from its new id. The desktop follows the session there and,
 * its own offer lost, answers rather than refusing in glare. */
static void test_gateway_network_change(void)
{
	struct pair p;
	gint gate = 0;
	struct tp_pump_cfg svc, cli;
	char old_id[PP_PEER_ID_LEN + 1];
	gint64 t0 = network_change_cut(&p, &gate, &svc, &cli, &p.gw, old_id);
	struct pp_tlink *gl = p.gw.link, *dl = p.desk.link;

	g_assert_true(run_until(gw_rejoined_and_followed, &p, 40000));
	g_test_message("signaling and path cut at the gateway: it rejoined as %.8s (was %.8s) and "
	               "the desktop took its ICE restart from there after %.1f s",
	               node_peer_id(&p.gw), old_id, (g_get_monotonic_time() - t0) / 1e6);
	/* the old id was still in the room: the desktop refused a second
	 * session with the newcomer, and the server had not dropped it */
	g_assert_cmpuint(p.desk.refused, ==, 1);
	char *log = sig_server_log(p.srv);
	g_assert_null(strstr(log, "no pong"));
	g_free(log);
	network_change_done(&p, gl, dl, &p.gw);
}

static bool desk_second_restart(void *d)
{
	struct pair *p = d;
	return p->desk.link && pp_tsession_restarts(pp_tlink_session(p->desk.link)) >= 2;
}

/* An outage longer than one restart's checks: the desktop's first
 * restart fails while the path is still cut, and its second one, once
 * the path is back, carries the session on: the same sessions complete
 * both streams. */
static void test_long_outage(void)
{
	struct pair p;

	pair_up(&p);
	struct pp_tlink *gl = p.gw.link, *dl = p.desk.link;
	open_stream(&p);
	cut_path_until(&p, NULL, desk_second_restart, 60000, "the desktop's second ICE restart");
	cut_path(false);
	streams_complete_on(&p, gl, dl);
	g_assert_cmpuint(pp_tsession_restarts(pp_tlink_session(dl)), ==, 0); /* the path is back */
	pair_down(&p);
}

/* --- the gateway's process restarts, or only its signaling ------------------------ */

static bool desk_ready_again(void *d)
{
	struct pair *p = d;
	return p->desk.ready >= 2 && p->desk.link && p->gw.link;
}

/* The gateway's process restarts (a crash, an upgrade) while the desktop
 * holds a session with it. Its BYE never arrives (the path is cut while
 * it goes); the new process joins under a new id with the same name and
 * identity and, a newcomer, waits for an offer. The desktop follows its
 * session to the new id and PINGs: no PONG, so it restarts ICE there; the
 * new process answers for a session of its own, and the desktop drops the
 * old one ("the peer restarted") and offers at once, instead of waiting
 * for consent to expire and its restarts to fail (half a minute). A
 * stream then works on the new session. */
static bool desk_check_over(void *d)
{
	struct pair *p = d;
	return !p->desk.link || !pp_tsession_checking_peer(pp_tlink_session(p->desk.link));
}

/* The check that a newcomer's claim started is over. */
static bool desk_check_over_claimed(void *d)
{
	return watch.seen[0] && desk_check_over(d);
}

/* The gateway's process goes (its BYE lost: the path is cut meanwhile)
 * and a new one with the same name and identity starts; returns once
 * ready(p) (desk_ready_again, or one that also acts meanwhile): the
 * desktop has a new session with it (the log watch ends there). */
static void gw_process_replaced_until(struct pair *p, pred_fn ready)
{
	static const struct pair_opts defaults = { 0 };

	cut_path(true);
	node_stop(&p->gw);
	while (g_main_context_iteration(ctx, FALSE))
		;
	cut_path(false);
	gint64 t0 = g_get_monotonic_time();
	node_start(&p->gw, p->srv, "gw", true, p->gw_id, p->desk_id, &defaults);
	g_assert_true(run_until(ready, p, 40000));
	watch_end();
	g_test_message("a new session %.1f s after the gateway's new process started",
	               (g_get_monotonic_time() - t0) / 1e6);
}

static void gw_process_replaced(struct pair *p)
{
	gw_process_replaced_until(p, desk_ready_again);
}

/* The desktop's session with the gateway's new process is up, after the
 * one with the old process ended as "the peer restarted": a stream works
 * on it, both directions intact. */
static void new_session_carries(struct pair *p)
{
	uint8_t want[TP_SHA_LEN];

	g_assert_cmpuint(p->desk.closed, ==, 1);
	g_assert_cmpstr(p->desk.close_reason, ==, "the peer restarted");
	g_assert_cmpuint(p->desk.ready, ==, 2);
	g_assert_cmpuint(p->gw.ready, ==, 1);
	g_assert_cmpstr(pp_tlink_peer(p->desk.link)->peer_id, ==, node_peer_id(&p->gw));
	open_stream(p);
	g_assert_true(run_until(pumps_done, p, 120000));
	g_assert_cmpuint(tp_pump_received(p->desk.pump), ==, DOWN_BYTES);
	g_assert_cmpuint(tp_pump_received(p->gw.pump), ==, UP_BYTES);
	tp_gen_sha(service_pump.seed, DOWN_BYTES, want);
	g_assert_cmpmem(p->desk.pump->recv_sha, TP_SHA_LEN, want, TP_SHA_LEN);
	tp_gen_sha(client_pump.seed, UP_BYTES, want);
	g_assert_cmpmem(p->gw.pump->recv_sha, TP_SHA_LEN, want, TP_SHA_LEN);
}

static void test_gateway_process_restart(void)
{
	struct pair p;

	pair_up(&p);
	watch_log("[gw/", "ICE restart offer sent at once", "ICE restart offer held");
	gw_process_replaced(&p);
	/* its NEW_PEER, 2 s before, showed signaling works: no check of it */
	g_assert_cmpuint(watch.seen[0], ==, 1);
	g_assert_cmpuint(watch.seen[1], ==, 0);
	new_session_carries(&p);
	pair_down(&p);
}

/* The gateway's host is lost without a close (its signaling blocked both
 * ways, so no close reaches the server, then the process replaced) and
 * the desktop's session follows the newcomer once the check finds the old
 * process silent; until ready(p). Returns the old signaling port, still
 * blocked. */
static guint16 gw_lost_without_close(struct pair *p, pred_fn ready)
{
	guint16 old_port = p->gw.sig_port;

	block_tcp_port(old_port, true);
	watch_log("[gw/", "declares this peer's name and identity", "the session follows it");
	gw_process_replaced_until(p, ready);
	g_assert_cmpuint(watch.seen[0], ==, 1);
	g_assert_cmpuint(watch.seen[1], ==, 1);
	/* no offer to the old id, taken for gone (it would end unconnected) */
	g_assert_cmpuint(pp_tnode_link_count(p->desk.n), ==, 1);
	return old_port;
}

/* The gateway's host is lost (a crash, a power cut): its WebSocket dies
 * without a close, so the server keeps the old id in the room until its
 * ping timeout (30 s), and the new process joins while it is still there.
 * The desktop cannot take the newcomer for its gateway on a declared name
 * and identity alone: it checks its session (PING), hears nothing, and
 * only then lets the session follow the newcomer and restart ICE there;
 * the new process answers for a session of its own, and the desktop
 * offers to it at once. Before, nothing happened until consent expired
 * and the restarts to the old id failed, or the old id left: half a
 * minute. */
static void test_gateway_crash_no_fin(void)
{
	struct pair p;

	pair_up(&p);
	guint16 old_port = gw_lost_without_close(&p, desk_ready_again);
	char *log = sig_server_log(p.srv);
	g_assert_null(strstr(log, "no pong")); /* the old id was still in the room */
	g_free(log);
	new_session_carries(&p);
	block_tcp_port(old_port, false);
	pair_down(&p);
}

/* gateway-crash-no-fin while the desktop's receive is paused: its user's
 * program stopped reading a download, so the gateway's data waits in the
 * desktop's association. The user reads again while the desktop checks
 * its session: that data was sent before the PING and proves nothing, and
 * must not pass for an answer (it did, and the desktop stayed with the
 * dead process for half a minute). Only a PONG answers then: none comes,
 * and the session follows the new process as above. */
static volatile gint desk_reads;

static bool desk_paused(void *d)
{
	struct pair *p = d;
	return p->desk.link && pp_tsession_receive_paused(pp_tlink_session(p->desk.link));
}

/* The service has written nothing for 500 ms: every buffer between it and
 * the desktop's paused association is full, that association's too. */
static bool service_stalled(void *d)
{
	static uint64_t last;
	static gint64 since;
	struct pair *p = d;
	uint64_t sent = p->gw.pump ? tp_pump_sent(p->gw.pump) : 0;
	gint64 now = g_get_monotonic_time();

	if (sent != last || since == 0) {
		last = sent;
		since = now;
	}
	return sent > 0 && now - since >= 500000;
}

/* desk_ready_again; the desktop's user reads again once the check began. */
static bool desk_ready_reading_on_check(void *d)
{
	if (watch.seen[0])
		g_atomic_int_set(&desk_reads, 1);
	return desk_ready_again(d);
}

static void test_gateway_crash_paused_desktop(void)
{
	const struct tp_pump_cfg reader = { .seed = 1, .shut_wr = true, .timeout_s = 120,
		                            .read_gate = &desk_reads };
	struct pair p;

	g_atomic_int_set(&desk_reads, 0);
	pair_up(&p);
	start_stream(&p, &reader, 64 * 1024);
	g_assert_true(run_until(desk_paused, &p, 30000));
	g_assert_true(run_until(service_stalled, &p, 30000));
	g_assert_cmpuint(tp_pump_received(p.desk.pump), ==, 0);
	guint16 old_port = gw_lost_without_close(&p, desk_ready_reading_on_check);
	g_assert_cmpint(g_atomic_int_get(&desk_reads), ==, 1);
	/* more than its socket and stream held: the association's data came
	 * through while the session was still checked, and did not count */
	g_test_message("the desktop's user read %" G_GUINT64_FORMAT " bytes sent before the PING",
	               tp_pump_received(p.desk.pump));
	g_assert_cmpuint(tp_pump_received(p.desk.pump), >, 1u << 20);
	tp_pump_stop(p.desk.pump); /* the old session's stream */
	tp_pump_free(p.desk.pump);
	p.desk.pump = NULL;
	new_session_carries(&p);
	block_tcp_port(old_port, false);
	pair_down(&p);
}

/* The control of gateway-crash-no-fin: a second process declares the
 * gateway's name and identity while the first one lives (a copy started
 * by mistake, or someone with its token). The desktop checks its
 * session: the first process answers over the path, the session stays
 * where it is (no ICE restart), the newcomer gets no session, and the
 * running stream ends on the same session. */
static void test_gateway_twin(void)
{
	static const struct pair_opts defaults = { 0 };
	struct pair p;
	struct node twin;

	pair_up(&p);
	struct pp_tlink *gl = p.gw.link, *dl = p.desk.link;
	open_stream(&p);
	watch_log("[gw/", "declares this peer's name and identity", "the session follows it");
	node_start(&twin, p.srv, "gw", true, p.gw_id, p.desk_id, &defaults);
	g_assert_true(run_until(desk_check_over_claimed, &p, 10000));
	watch_end();
	g_assert_cmpuint(watch.seen[0], ==, 1);
	g_assert_cmpuint(watch.seen[1], ==, 0);
	g_assert_cmpuint(p.desk.refused, ==, 1);
	g_assert_cmpuint(pp_tsession_restarts(pp_tlink_session(dl)), ==, 0);
	g_assert_cmpstr(pp_tlink_peer(dl)->peer_id, ==, node_peer_id(&p.gw));
	streams_complete_after(&p, gl, dl, 0, 0);
	g_assert_cmpuint(twin.ready, ==, 0);
	node_stop(&twin);
	pair_down(&p);
}

/* The control of gateway-process-restart: only the gateway's WebSocket
 * dies (its TCP connection is dropped), the process and the path live
 * on. It rejoins under a new id; once its old id leaves the room (ping
 * timeout) the desktop follows the session there and PINGs; the PONG
 * comes over the path and the session goes on: no ICE restart, no new
 * session, the stream completes on it. */
static void test_gateway_rejoin_same_process(void)
{
	static const char *const server_args[] = { "--set", "limits.ping_interval=1s", "--set",
		                                   "limits.ping_timeout=5s", NULL };
	const struct pair_opts o = { .server_args = server_args, .gw_keepalive_ms = 1000 };
	struct pair p;

	pair_up_opts(&p, &o);
	struct pp_tlink *gl = p.gw.link, *dl = p.desk.link;
	open_stream(&p);
	block_tcp_port(p.gw.sig_port, true);
	gint64 t0 = g_get_monotonic_time();
	g_assert_true(run_until(gw_rejoined_and_followed, &p, 40000));
	g_test_message("the gateway rejoined as %.8s and the desktop's session followed it after "
	               "%.1f s", node_peer_id(&p.gw), (g_get_monotonic_time() - t0) / 1e6);
	g_assert_true(pp_tsession_checking_peer(pp_tlink_session(dl)));
	g_assert_true(run_until(desk_check_over, &p, 10000));
	g_assert_cmpuint(pp_tsession_restarts(pp_tlink_session(dl)), ==, 0); /* the PONG came */
	block_tcp_port(p.gw.sig_port, false);
	streams_complete_after(&p, gl, dl, 0, 0);
	g_assert_cmpuint(p.gw.closed, ==, 0);
	pair_down(&p);
}

/* --- two first offers that cross -------------------------------------------------- */

static bool desk_offered(void *d)
{
	struct pair *p = d;
	return pp_tnode_link_count(p->desk.n) >= 1;
}

/* The gateway's offer to a new desktop is late (its signaling connection
 * held for a few seconds, as under a restart storm's load): the desktop,
 * given none, offers itself 3 s after joining, and the two offers cross.
 * One settles it: the gateway keeps its offer, the desktop drops its own
 * and answers; one session, READY on both sides. */
static void test_offers_cross(void)
{
	static const struct pair_opts defaults = { 0 };
	struct pair p;

	memset(&p, 0, sizeof(p));
	p.srv = sig_server_new();
	sig_server_run(p.srv);
	g_assert_cmpint(pp_identity_new_ephemeral(&p.gw_id), ==, 0);
	g_assert_cmpint(pp_identity_new_ephemeral(&p.desk_id), ==, 0);
	node_start(&p.gw, p.srv, "gw", true, p.gw_id, p.desk_id, &defaults);
	gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (pp_sigclient_get_state(pp_tnode_sigclient(p.gw.n)) != PP_SIGCLIENT_JOINED &&
	       g_get_monotonic_time() < end)
		g_main_context_iteration(ctx, TRUE);
	GArray *ports = sig_client_ports(p.srv);
	g_assert_cmpuint(ports->len, ==, 1);
	p.gw.sig_port = g_array_index(ports, guint16, 0);
	g_array_free(ports, TRUE);
	block_tcp_port(p.gw.sig_port, true);
	node_start(&p.desk, p.srv, "desk", false, p.desk_id, p.gw_id, &defaults);
	g_assert_true(run_until(desk_offered, &p, 10000));
	block_tcp_port(p.gw.sig_port, false);
	g_assert_true(run_until(both_ready, &p, 30000));
	/* the desktop's own offer gave way; the gateway's made the session */
	g_assert_cmpuint(p.desk.closed, ==, 1);
	g_assert_cmpuint(p.gw.closed, ==, 0);
	g_assert_cmpuint(p.desk.ready, ==, 1);
	g_assert_cmpuint(p.gw.ready, ==, 1);
	g_assert_cmpuint(pp_tnode_link_count(p.gw.n), ==, 1);
	pair_down(&p);
}

/* --- a restart storm: every peer of a full gateway at once ---------------------- */

#define STORM_DESKS 64 /* the gateway's default max_peers */

struct storm {
	SigServer *srv;
	struct pp_identity *gw_id, *desk_id; /* the desktops share one key */
	struct node gw;
	struct node desk[STORM_DESKS];
	char names[STORM_DESKS][16];
};

/* Every desktop's counter at `field` (an unsigned of struct node) is set. */
static bool storm_all(struct storm *s, size_t field)
{
	for (int i = 0; i < STORM_DESKS; i++)
		if (!G_STRUCT_MEMBER(unsigned, &s->desk[i], field))
			return false;
	return true;
}

static bool storm_ready(void *d)
{
	return storm_all(d, G_STRUCT_OFFSET(struct node, ready)) &&
	       ((struct storm *)d)->gw.ready == STORM_DESKS;
}

static bool storm_lost(void *d)
{
	return storm_all(d, G_STRUCT_OFFSET(struct node, path_lost));
}

static bool storm_back(void *d)
{
	return storm_all(d, G_STRUCT_OFFSET(struct node, path_back));
}

/* Every desktop has its second session, with the gateway's new process. */
static bool storm_ready_again(void *d)
{
	struct storm *s = d;

	for (int i = 0; i < STORM_DESKS; i++)
		if (s->desk[i].ready < 2 || !s->desk[i].link)
			return false;
	return s->gw.ready == STORM_DESKS;
}

/* Every desktop of a full gateway (64, its default max_peers; four ICE
 * addresses) restarts ICE at once, as after an outage of the gateway's
 * uplink: the gateway answers all of them together, each answer followed
 * by its candidates (four and the end), about 380 messages through its
 * one signaling connection. Every session must come back, none may end. */
static const char *const storm_gw_addrs[] = { "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4" };
static const struct pair_opts storm_opts = { .gw_addresses = storm_gw_addrs,
	                                     .n_gw_addresses = 4 };

/* A full gateway and its 64 desktops, every session READY. */
static struct storm *storm_up(void)
{
	const struct pair_opts *o = &storm_opts;
	struct storm *s = g_new0(struct storm, 1);

	s->srv = sig_server_new();
	sig_server_run(s->srv);
	g_assert_cmpint(pp_identity_new_ephemeral(&s->gw_id), ==, 0);
	g_assert_cmpint(pp_identity_new_ephemeral(&s->desk_id), ==, 0);
	node_start(&s->gw, s->srv, "gw", true, s->gw_id, s->desk_id, o);
	for (int i = 0; i < STORM_DESKS; i++) {
		g_snprintf(s->names[i], sizeof(s->names[i]), "desk%02d", i);
		node_start(&s->desk[i], s->srv, s->names[i], false, s->desk_id, s->gw_id, o);
	}
	g_assert_true(run_until(storm_ready, s, 120000));
	return s;
}

static void storm_down(struct storm *s)
{
	for (int i = 0; i < STORM_DESKS; i++)
		node_stop(&s->desk[i]);
	node_stop(&s->gw);
	while (g_main_context_iteration(ctx, FALSE))
		;
	sig_server_stop_clean(s->srv);
	pp_identity_free(s->gw_id);
	pp_identity_free(s->desk_id);
	g_free(s);
}

static void test_restart_storm(void)
{
	struct storm *s = storm_up();
	gint64 t0 = g_get_monotonic_time();
	for (int i = 0; i < STORM_DESKS; i++)
		g_assert_cmpint(pp_peer_restart_ice(pp_tsession_peer(pp_tlink_session(s->desk[i].link))),
		                ==, 0);
	g_assert_true(storm_lost(s));
	bool back = run_until(storm_back, s, 60000);
	unsigned closed = 0, returned = 0;
	for (int i = 0; i < STORM_DESKS; i++) {
		closed += s->desk[i].closed;
		returned += s->desk[i].path_back;
	}
	g_test_message("%u of %d paths back %.1f s after the restarts, %u sessions ended", returned,
	               STORM_DESKS, (g_get_monotonic_time() - t0) / 1e6, closed);
	g_assert_true(back);
	g_assert_cmpuint(closed, ==, 0);
	g_assert_cmpuint(s->gw.closed, ==, 0);
	storm_down(s);
}

/* The full gateway's process restarts (an upgrade): every one of its 64
 * desktops finds out by itself (its PING unanswered, its ICE restart
 * answered for another session) and has a new session with the new
 * process, which answers all of their offers at once. */
static void test_gateway_restart_storm(void)
{
	struct storm *s = storm_up();
	unsigned told = 0;

	cut_path(true); /* the old process's BYEs are lost, as in a crash */
	node_stop(&s->gw);
	while (g_main_context_iteration(ctx, FALSE))
		;
	cut_path(false);
	gint64 t0 = g_get_monotonic_time();
	node_start(&s->gw, s->srv, "gw", true, s->gw_id, s->desk_id, &storm_opts);
	bool again = run_until(storm_ready_again, s, 90000);
	for (int i = 0; i < STORM_DESKS; i++)
		told += strcmp(s->desk[i].close_reason, "the peer restarted") == 0;
	g_test_message("%u of %d desktops told the gateway restarted; every desktop with a new "
	               "session %.1f s after the new process started: %s", told, STORM_DESKS,
	               (g_get_monotonic_time() - t0) / 1e6, again ? "yes" : "no");
	g_assert_true(again);
	g_assert_cmpuint(told, ==, STORM_DESKS);
	for (int i = 0; i < STORM_DESKS; i++)
		g_assert_cmpuint(s->desk[i].closed, ==, 1);
	g_assert_cmpuint(s->gw.closed, ==, 0);
	storm_down(s);
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
	gint64 t0 = cut_path_until(&p, NULL, desk_restarting, 40000, "the desktop restarts ICE");
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
	g_test_add_func("/tunnel-restart/rejoin-then-restart", test_rejoin_restart);
	g_test_add_func("/tunnel-restart/rejoin-old-id-gone", test_rejoin_old_id_gone);
	g_test_add_func("/tunnel-restart/network-change", test_network_change);
	g_test_add_func("/tunnel-restart/gateway-network-change", test_gateway_network_change);
	g_test_add_func("/tunnel-restart/restart-storm", test_restart_storm);
	g_test_add_func("/tunnel-restart/long-outage", test_long_outage);
	g_test_add_func("/tunnel-restart/short-outage", test_short_outage);
	g_test_add_func("/tunnel-restart/gateway-process-restart", test_gateway_process_restart);
	g_test_add_func("/tunnel-restart/gateway-rejoin-same-process", test_gateway_rejoin_same_process);
	g_test_add_func("/tunnel-restart/gateway-crash-no-fin", test_gateway_crash_no_fin);
	g_test_add_func("/tunnel-restart/gateway-crash-paused-desktop",
	                test_gateway_crash_paused_desktop);
	g_test_add_func("/tunnel-restart/gateway-twin", test_gateway_twin);
	g_test_add_func("/tunnel-restart/gateway-restart-storm", test_gateway_restart_storm);
	g_test_add_func("/tunnel-restart/offers-cross", test_offers_cross);
	return g_test_run();
}
