/* SPDX-License-Identifier: Apache-2.0 */
/* The desktop's tunnel node: only the named gateway, only with its pinned
 * fingerprint; what the user sees of the session and its streams. */
#include "connect.h"

#include "peerpipe/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The gateway's texts (service descriptions, DENIED/FAILED/BYE reasons,
 * ALERT signatures) reach the user's terminal here: sanitized like logs. */
void conn_say(const char *fmt, ...)
{
	va_list ap;
	char *line;

	va_start(ap, fmt);
	line = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	pp_log_sanitize(line);
	printf("peerpipe: %s\n", line);
	fflush(stdout);
	g_free(line);
}

static bool conn_want_peer(void *user, const struct pp_sigclient_peer *peer,
                           const struct pp_fingerprint **pins, size_t *n_pins)
{
	struct conn_app *app = user;

	if (peer->role != PP_ROLE_GATEWAY || strcmp(peer->name, app->gateway) != 0)
		return false;
	if (app->link) {
		pp_log(PP_LOG_INFO, peer->name, "a second '%s' ignored: a session is up", peer->name);
		return false;
	}
	*pins = &app->pin;
	*n_pins = 1;
	return true;
}

/* A gateway that does not know our fingerprint never answers (it does not
 * tell strangers it exists), so silence is the only sign: name it. */
static gboolean conn_nag(gpointer data)
{
	struct conn_app *app = data;

	app->nag = 0;
	if (!app->link)
		conn_say("gateway %s not connected: no answer in %d s (is it in the room, and does "
		         "its operator have this device's fingerprint, %s?)",
		         app->gateway, CONN_NAG_S, pp_identity_fingerprint_str(app->identity));
	return G_SOURCE_REMOVE;
}

/* What the user can do about a refusal that no retry fixes. */
static const char *conn_fatal_hint(enum pp_sigclient_why why)
{
	switch (why) {
	case PP_SIGCLIENT_WHY_UNAUTHORIZED:
		return "The token was refused (expired, revoked or for another room): "
		       "get a new token and start peerpipe again";
	case PP_SIGCLIENT_WHY_TLS:
		return "The server's certificate is not trusted: check --signal and --ca-file";
	case PP_SIGCLIENT_WHY_HTTP:
		return "The server refused the WebSocket: check the --signal URL";
	default:
		return "Check --signal and the server, then start peerpipe again";
	}
}

/* Without signaling no tunnel can come up again: a client that stayed
 * would hold its listeners (and the connections it takes) for ever, and
 * a supervisor would never restart it. The held connections are reset
 * on the way out (conn_drop_waiting). */
static void conn_quit_no_signaling(struct conn_app *app)
{
	conn_say("no tunnel without signaling: exiting. %s", conn_fatal_hint(app->signal_why));
	app->exit_code = 1;
	pp_loop_quit(app->loop);
}

static void conn_on_signal_state(void *user, enum pp_sigclient_state st, enum pp_sigclient_why why,
                                 const char *detail)
{
	struct conn_app *app = user;

	if (st == PP_SIGCLIENT_JOINED) {
		conn_say("signaling: joined");
		if (!app->link && !app->nag)
			app->nag = g_timeout_add_seconds(CONN_NAG_S, conn_nag, app);
	}
	else if (st == PP_SIGCLIENT_DISCONNECTED)
		conn_say("signaling: disconnected (%s)%s", pp_sigclient_why_name(why),
		         app->link ? "; the tunnel stays up" : "; retrying");
	if (st == PP_SIGCLIENT_FATAL) {
		conn_say("signaling refused us (%s%s%s)", pp_sigclient_why_name(why), detail ? ": " : "",
		         detail ? detail : "");
		app->signal_fatal = true;
		app->signal_why = why;
		if (!app->link)
			conn_quit_no_signaling(app);
		else if (!app->services_only)
			conn_say("the tunnel to %s stays up; peerpipe exits when it ends. %s",
			         app->gateway, conn_fatal_hint(why));
	}
}

static void conn_on_ready(void *user, struct pp_tlink *l)
{
	struct conn_app *app = user;
	char fp[PP_FP_TEXT_MAX];

	pp_fingerprint_format(pp_tsession_remote_fingerprint(pp_tlink_session(l)), fp, sizeof(fp));
	app->link = l;
	conn_say("connected to gateway %s (%s)", pp_tlink_peer(l)->name, fp);
	conn_flush_waiting(app);
}

static void conn_abort_named(struct pp_tstream *st, void *data)
{
	if (strcmp(pp_tstream_name(st), data) == 0)
		pp_tstream_abort(st, "IDS alert");
}

static void conn_on_control(void *user, struct pp_tlink *l, const struct pp_ctrl_msg *m)
{
	struct conn_app *app = user;

	switch (m->type) {
	case PP_CTRL_SERVICES:
		conn_say("services: %zu", m->n_services);
		for (size_t i = 0; i < m->n_services; i++)
			conn_say("service %s (%s) %s", m->services[i].name, m->services[i].proto,
			         m->services[i].description);
		if (app->services_only)
			pp_loop_quit(app->loop);
		break;
	case PP_CTRL_ALERT:
		if (m->action == PP_CTRL_ACTION_PEER_BANNED) /* about the peer, maybe no stream */
			conn_say("ALERT: this identity is banned by the gateway: %s (signature %u)",
			         m->signature ? m->signature : "", m->signature_id);
		else if (m->action == PP_CTRL_ACTION_STREAM_CLOSED)
			conn_say("ALERT on %s: %s (signature %u), stream closed",
			         m->stream && m->stream[0] ? m->stream : "?",
			         m->signature ? m->signature : "", m->signature_id);
		else /* a newer gateway's action: say only what it said */
			conn_say("ALERT on %s: %s (signature %u), action \"%s\" (not known to this client)",
			         m->stream && m->stream[0] ? m->stream : "?",
			         m->signature ? m->signature : "", m->signature_id,
			         m->action_name ? m->action_name : "");
		/* The gateway resets that stream too, but its SCTP reset waits
		 * until our side has acknowledged the stream's data (delayed
		 * SACK: up to 20 ms); the application learns now. */
		if (m->action == PP_CTRL_ACTION_STREAM_CLOSED && m->stream && m->stream[0])
			pp_tsession_foreach_stream(pp_tlink_session(l), conn_abort_named,
			                           (void *)m->stream);
		break;
	case PP_CTRL_BYE:
		conn_say("gateway says BYE: %s", m->reason ? m->reason : "");
		break;
	default:
		break;
	}
}

static void conn_on_stream_text(void *user, struct pp_tlink *l, struct pp_tstream *st,
                                const struct pp_ctrl_msg *m)
{
	if (m->type == PP_CTRL_CONNECTED) {
		pp_tstream_confirm(st);
		pp_log(PP_LOG_DEBUG, NULL, "stream %s connected", pp_tstream_name(st));
	} else if (m->type == PP_CTRL_DENIED) {
		conn_say("stream %s denied: %s", pp_tstream_name(st), m->reason ? m->reason : "");
	} else if (m->type == PP_CTRL_FAILED) {
		conn_say("stream %s failed: %s", pp_tstream_name(st), m->reason ? m->reason : "");
	}
}

static void conn_on_stream_closed(void *user, struct pp_tlink *l, struct pp_tstream *st,
                                  const char *reason)
{
	struct pp_tstream_stats s;

	pp_tstream_get_stats(st, &s);
	pp_log(PP_LOG_INFO, NULL, "stream %s closed (%s): sent %" PRIu64 " B, received %" PRIu64 " B",
	       pp_tstream_name(st), reason, s.bytes_in, s.bytes_out);
}

static void conn_on_link_closed(void *user, struct pp_tlink *l, const char *reason)
{
	struct conn_app *app = user;

	if (app->link == l) {
		app->link = NULL;
		conn_say("tunnel to %s down: %s", pp_tlink_peer(l)->name, reason);
	} else {
		conn_say("gateway %s not connected: %s", pp_tlink_peer(l)->name, reason);
	}
	if (app->services_only) {
		app->exit_code = 1;
		pp_loop_quit(app->loop);
	} else if (app->signal_fatal && !app->link) {
		conn_quit_no_signaling(app);
	}
}

/* The user's connections stall while the path is lost: say why, and
 * that they are kept. */
static void conn_on_path(void *user, struct pp_tlink *l, bool up, const char *reason)
{
	struct conn_app *app = user;

	if (l != app->link)
		return;
	if (!up) {
		app->path_lost_at = g_get_monotonic_time();
		conn_say("tunnel to %s: path lost, reconnecting; open connections wait (%s)",
		         pp_tlink_peer(l)->name, reason);
	} else {
		conn_say("tunnel to %s: path back %.1f s after it was found lost (%s)",
		         pp_tlink_peer(l)->name,
		         (double)(g_get_monotonic_time() - app->path_lost_at) / 1e6, reason);
	}
}

const struct pp_tnode_callbacks conn_node_cb = {
	.want_peer = conn_want_peer,
	.on_signal_state = conn_on_signal_state,
	.on_ready = conn_on_ready,
	.on_control = conn_on_control,
	.on_stream_text = conn_on_stream_text,
	.on_stream_closed = conn_on_stream_closed,
	.on_link_closed = conn_on_link_closed,
	.on_path = conn_on_path,
};
