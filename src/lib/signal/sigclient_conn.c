/* SPDX-License-Identifier: Apache-2.0 */
/* Signaling client: the libsoup WebSocket, what the server sends, and how
 * each way of losing the connection is classified (retry or fatal). The
 * connection and handshake under it are made in sigclient_upgrade.c. */
#include "sigclient_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/source.h"

#include <string.h>

#define PP_SIGCLIENT_LOG_MALFORMED 20 /* then only every 1000th */
#define PP_SIGCLIENT_LOCATION_SHOWN 256 /* of a redirect's Location, in the detail */

static gboolean pp_sigclient_unref_later(gpointer obj)
{
	g_object_unref(obj);
	return G_SOURCE_REMOVE;
}

void pp_sigclient_conn_teardown(struct pp_sigclient *c)
{
	pp_source_clear(&c->deadline_timer);
	pp_source_clear(&c->alive_timer);
	pp_sigclient_check_clear(c);
	if (c->cancel) {
		/* the connect callback holds its own reference and sees this */
		g_cancellable_cancel(c->cancel);
		g_clear_object(&c->cancel);
	}
	if (!c->ws)
		return;
	SoupWebsocketConnection *ws = c->ws;
	c->ws = NULL;
	g_signal_handlers_disconnect_by_data(ws, c);
	g_signal_handlers_disconnect_by_data(soup_websocket_connection_get_io_stream(ws), c);
	if (soup_websocket_connection_get_state(ws) == SOUP_WEBSOCKET_STATE_OPEN)
		PP_SIGCLIENT_SOUP(c, soup_websocket_connection_close(ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL));
	if (c->depth > 0) {
		/* possibly inside one of ws's own signal emissions */
		GSource *s = g_idle_source_new();
		g_source_set_callback(s, pp_sigclient_unref_later, ws, NULL);
		g_source_attach(s, c->ctx);
		g_source_unref(s);
	} else {
		g_object_unref(ws);
	}
}

/* Close reasons come from the server: printable ASCII only in our log. */
static void pp_sigclient_printable(char *dst, size_t n, const char *src)
{
	size_t i = 0;
	for (; src && *src && i + 1 < n; src++)
		dst[i++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
	dst[i] = '\0';
}

static void pp_sigclient_dispatch_error(struct pp_sigclient *c, const struct pp_sigclient_msg *m)
{
	bool joining = c->state == PP_SIGCLIENT_CONNECTING;
	bool on_join = m->ref && strcmp(m->ref, "JOIN_ROOM") == 0;

	pp_warn("sigclient: server ERROR %s (ref %s)", m->code, m->ref ? m->ref : "-");
	if (c->cbs.on_error)
		c->cbs.on_error(c->user, m->code, m->message, m->ref);
	if (c->dead)
		return;
	if (strcmp(m->code, "unauthorized") == 0)
		pp_sigclient_fatal(c, PP_SIGCLIENT_WHY_UNAUTHORIZED,
		                   "the server refused the token (ERROR unauthorized)");
	else if (joining && strcmp(m->code, "room_full") == 0)
		pp_sigclient_retry(c, PP_SIGCLIENT_WHY_ROOM_FULL, "the room is full", false);
	else if (joining && on_join && strcmp(m->code, "bad_request") == 0)
		pp_sigclient_fatal(c, PP_SIGCLIENT_WHY_PROTOCOL, "the server refused our JOIN_ROOM (bad_request)");
	else if (joining && on_join)
		pp_sigclient_retry(c, PP_SIGCLIENT_WHY_CLOSED, "JOIN_ROOM failed on the server", false);
}

static void pp_sigclient_dispatch_joined(struct pp_sigclient *c, struct pp_sigclient_msg *m)
{
	if (c->state != PP_SIGCLIENT_CONNECTING) {
		pp_warn("sigclient: unexpected JOINED dropped");
		return;
	}
	if (strcmp(m->room, c->room) != 0) {
		pp_sigclient_retry(c, PP_SIGCLIENT_WHY_PROTOCOL, "JOINED names another room", false);
		return;
	}
	pp_source_clear(&c->deadline_timer);
	memcpy(c->peer_id, m->peer_id, sizeof(c->peer_id));
	c->joined_at_us = g_get_monotonic_time();
	pp_sigclient_pace(c, m->limit_rate, m->limit_burst);
	pp_bucket_init(&c->bucket, c->send_burst, pp_now_ms());
	c->state = PP_SIGCLIENT_JOINED;
	c->reported = true;
	pp_info("sigclient: joined room %s as %s: %zu peers, %zu ICE servers, sending at most %u "
	        "messages/s%s", c->room, c->peer_id, m->n_peers, json_array_size(m->ice_servers),
	        c->send_rate, m->n_skipped ? " (malformed entries skipped)" : "");
	if (c->cbs.on_joined)
		c->cbs.on_joined(c->user, c->peer_id, m->peers, m->n_peers, m->ice_servers);
	if (!c->dead && c->state == PP_SIGCLIENT_JOINED && c->cbs.on_state)
		c->cbs.on_state(c->user, PP_SIGCLIENT_JOINED, PP_SIGCLIENT_WHY_NONE, NULL);
}

static void pp_sigclient_dispatch(struct pp_sigclient *c, struct pp_sigclient_msg *m)
{
	bool joined = c->state == PP_SIGCLIENT_JOINED;

	if (m->type != PP_SIGCLIENT_MSG_UNKNOWN && m->type != PP_SIGCLIENT_MSG_ERROR &&
	    m->type != PP_SIGCLIENT_MSG_JOINED && !joined) {
		pp_warn("sigclient: %s before JOINED dropped", m->type_name);
		return;
	}
	switch (m->type) {
	case PP_SIGCLIENT_MSG_JOINED:
		pp_sigclient_dispatch_joined(c, m);
		break;
	case PP_SIGCLIENT_MSG_NEW_PEER:
		if (c->cbs.on_new_peer)
			c->cbs.on_new_peer(c->user, m->peers);
		break;
	case PP_SIGCLIENT_MSG_FORWARD_SDP:
		if (c->cbs.on_sdp)
			c->cbs.on_sdp(c->user, m->from, m->sdp_type, m->sdp);
		break;
	case PP_SIGCLIENT_MSG_FORWARD_ICE:
		if (c->cbs.on_ice)
			c->cbs.on_ice(c->user, m->from, m->has_candidate ? &m->ice : NULL);
		break;
	case PP_SIGCLIENT_MSG_PEER_LEFT:
		if (c->cbs.on_peer_left)
			c->cbs.on_peer_left(c->user, m->peer_id);
		break;
	case PP_SIGCLIENT_MSG_ERROR:
		pp_sigclient_dispatch_error(c, m);
		break;
	case PP_SIGCLIENT_MSG_UNKNOWN:
		pp_debug("sigclient: message type unknown to this version ignored");
		break;
	}
}

static void pp_sigclient_on_message(SoupWebsocketConnection *ws, gint type, GBytes *data,
                                    gpointer user)
{
	struct pp_sigclient *c = user;
	struct pp_sigclient_msg m;
	const char *why = NULL;
	gsize len = 0;
	const char *text = g_bytes_get_data(data, &len);

	pp_sigclient_enter(c);
	c->last_rx_us = g_get_monotonic_time();
	if (c->left)
		goto out;
	pp_sigclient_check_heard(c);
	if (c->dead || c->ws != ws)
		goto out;
	if (type != SOUP_WEBSOCKET_DATA_TEXT) {
		why = "a binary frame";
	} else if (pp_sigclient_msg_parse(text ? text : "", len, &c->lim, &m, &why) == 0) {
		pp_sigclient_dispatch(c, &m);
		pp_sigclient_msg_clear(&m);
		goto out;
	}
	if (++c->malformed <= PP_SIGCLIENT_LOG_MALFORMED || c->malformed % 1000 == 0)
		pp_warn("sigclient: dropped a malformed message from the server (%zu bytes): %s "
		        "(%u so far)", (size_t)len, why, c->malformed);
out:
	pp_sigclient_exit(c);
}

static void pp_sigclient_on_pong(SoupWebsocketConnection *ws, GBytes *data, gpointer user)
{
	struct pp_sigclient *c = user;

	pp_sigclient_enter(c);
	c->last_rx_us = g_get_monotonic_time();
	if (!c->left)
		pp_sigclient_check_heard(c);
	pp_sigclient_exit(c);
}

static void pp_sigclient_on_ws_error(SoupWebsocketConnection *ws, GError *err, gpointer user)
{
	pp_info("sigclient: connection error: %s", err->message);
}

static void pp_sigclient_on_closed(SoupWebsocketConnection *ws, gpointer user)
{
	struct pp_sigclient *c = user;
	unsigned code = soup_websocket_connection_get_close_code(ws);
	char reason[128], detail[256];

	pp_sigclient_enter(c);
	pp_sigclient_printable(reason, sizeof(reason), soup_websocket_connection_get_close_data(ws));
	if (c->left) {
		pp_sigclient_left(c);
		goto out;
	}
	snprintf(detail, sizeof(detail), "the server closed the connection with %u%s%s%s", code,
	         reason[0] ? " (" : "", reason, reason[0] ? ")" : "");
	switch (code) {
	case SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR:
	case SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA:
	case SOUP_WEBSOCKET_CLOSE_BAD_DATA:
	case SOUP_WEBSOCKET_CLOSE_TOO_BIG:
		/* one side breaks the protocol: retrying would repeat it */
		pp_sigclient_fatal(c, PP_SIGCLIENT_WHY_PROTOCOL, detail);
		break;
	case 0:
	case SOUP_WEBSOCKET_CLOSE_NO_STATUS:
	case SOUP_WEBSOCKET_CLOSE_ABNORMAL:
		pp_sigclient_retry(c, PP_SIGCLIENT_WHY_NETWORK, "connection lost", false);
		break;
	default: /* 1000, 1001 (shutdown), 1008 (policy), 1011, ... */
		pp_sigclient_retry(c, PP_SIGCLIENT_WHY_CLOSED, detail, false);
		break;
	}
out:
	pp_sigclient_exit(c);
}

/* The server sent more than one message may hold (a text frame with FIN=0
 * and continuation frames without end, say): the meter under the WebSocket
 * stopped the input at that frame, before libsoup could reassemble it.
 * Like any other server error: retried with backoff. */
static void pp_sigclient_on_too_big(GIOStream *io, guint64 size, gpointer user)
{
	struct pp_sigclient *c = user;
	guint64 max = MAX(c->lim.max_message_size, c->lim.max_joined_size);
	char detail[256];

	pp_sigclient_enter(c);
	if (c->ws && soup_websocket_connection_get_state(c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
		PP_SIGCLIENT_SOUP(c, soup_websocket_connection_close(c->ws, SOUP_WEBSOCKET_CLOSE_TOO_BIG,
		                                                     "message too big"));
	if (size == G_MAXUINT64)
		snprintf(detail, sizeof(detail), "the server sent a message over the %" G_GUINT64_FORMAT
		         "-byte limit: closed with 1009 (message too big)", max);
	else
		snprintf(detail, sizeof(detail), "the server sent a message over the %" G_GUINT64_FORMAT
		         "-byte limit (%" G_GUINT64_FORMAT " bytes by its frame headers): closed with "
		         "1009 (message too big)", max, size);
	pp_sigclient_retry(c, PP_SIGCLIENT_WHY_PROTOCOL, detail, false); /* leaving: the leave ends */
	pp_sigclient_exit(c);
}

static gboolean pp_sigclient_on_deadline(gpointer data)
{
	struct pp_sigclient *c = data;
	pp_source_clear(&c->deadline_timer);
	pp_sigclient_enter(c);
	pp_sigclient_retry(c, PP_SIGCLIENT_WHY_TIMEOUT,
	                   c->ws ? "no JOINED in time" : "connection attempt timed out", false);
	pp_sigclient_exit(c);
	return G_SOURCE_REMOVE;
}

static gboolean pp_sigclient_on_alive(gpointer data)
{
	struct pp_sigclient *c = data;
	gint64 silent_ms = (g_get_monotonic_time() - c->last_rx_us) / 1000;

	/* libsoup pings in whole seconds; the server answers each one */
	if (silent_ms <= 3 * 1000 * (gint64)pp_sigclient_keepalive_s(c))
		return G_SOURCE_CONTINUE;
	pp_sigclient_enter(c);
	pp_sigclient_retry(c, PP_SIGCLIENT_WHY_TIMEOUT, "no traffic from the server", false);
	pp_sigclient_exit(c);
	return G_SOURCE_REMOVE; /* teardown destroyed this source already */
}

static void pp_sigclient_tls_flags_text(GTlsCertificateFlags f, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s%s%s%s%s", (f & G_TLS_CERTIFICATE_UNKNOWN_CA) ? " unknown CA;" : "",
	         (f & G_TLS_CERTIFICATE_BAD_IDENTITY) ? " name mismatch;" : "",
	         (f & G_TLS_CERTIFICATE_NOT_ACTIVATED) ? " not yet valid;" : "",
	         (f & G_TLS_CERTIFICATE_EXPIRED) ? " expired;" : "",
	         (f & G_TLS_CERTIFICATE_REVOKED) ? " revoked;" : "",
	         (f & G_TLS_CERTIFICATE_INSECURE) ? " insecure algorithm;" : "",
	         (f & G_TLS_CERTIFICATE_GENERIC_ERROR) ? " invalid;" : "");
}

/* A redirect is never followed: the JOIN_ROOM and its token would go to
 * whoever the Location names (another host, or ws:// in clear text). */
static void pp_sigclient_redirected(struct pp_sigclient *c, guint status, const char *location)
{
	char to[PP_SIGCLIENT_LOCATION_SHOWN], detail[512];

	pp_sigclient_printable(to, sizeof(to), location);
	if (location && strlen(location) >= sizeof(to))
		memcpy(to + sizeof(to) - 4, "...", 4);
	if (location)
		snprintf(detail, sizeof(detail), "the server answered the upgrade with a redirect "
		         "(HTTP %u) to %s: not followed", status, to);
	else
		snprintf(detail, sizeof(detail), "the server answered the upgrade with a redirect "
		         "(HTTP %u) without a Location: not followed", status);
	pp_sigclient_fatal(c, PP_SIGCLIENT_WHY_HTTP, detail);
}

static void pp_sigclient_connect_failed(struct pp_sigclient *c, const struct pp_sigclient_failure *f)
{
	guint status = f->status;
	const GError *err = f->err;
	char detail[512], flags[160];

	if (c->tls_flags || err->domain == G_TLS_ERROR) {
		pp_sigclient_tls_flags_text(c->tls_flags, flags, sizeof(flags));
		snprintf(detail, sizeof(detail), "TLS: the server certificate is not trusted:%s %s%s",
		         flags, err->message, c->tls_errors_fatal ? "" : " (retrying slowly)");
		if (c->tls_errors_fatal || g_error_matches(err, G_TLS_ERROR, G_TLS_ERROR_UNAVAILABLE))
			pp_sigclient_fatal(c, PP_SIGCLIENT_WHY_TLS, detail);
		else
			pp_sigclient_retry(c, PP_SIGCLIENT_WHY_TLS, detail, true);
		return;
	}
	if (SOUP_STATUS_IS_REDIRECTION(status)) {
		pp_sigclient_redirected(c, status, f->location);
	} else if (status >= 400 && status < 500 && status != 408 && status != 429) {
		snprintf(detail, sizeof(detail), "the upgrade was refused with HTTP %u", status);
		pp_sigclient_fatal(c, PP_SIGCLIENT_WHY_HTTP, detail);
	} else if (status >= 300) {
		snprintf(detail, sizeof(detail), "the upgrade was refused with HTTP %u", status);
		pp_sigclient_retry(c, PP_SIGCLIENT_WHY_HTTP, detail, false);
	} else if (err->domain == SOUP_WEBSOCKET_ERROR) {
		snprintf(detail, sizeof(detail), "bad WebSocket handshake: %s", err->message);
		pp_sigclient_fatal(c, PP_SIGCLIENT_WHY_PROTOCOL, detail);
	} else {
		snprintf(detail, sizeof(detail), "cannot connect: %s", err->message);
		pp_sigclient_retry(c, PP_SIGCLIENT_WHY_NETWORK, detail, false);
	}
}

static void pp_sigclient_connected(struct pp_sigclient *c, SoupWebsocketConnection *ws)
{
	const char *proto = soup_websocket_connection_get_protocol(ws);
	guint64 max = MAX(c->lim.max_message_size, c->lim.max_joined_size);

	c->ws = ws;
	if (!proto || strcmp(proto, PP_SIGCLIENT_SUBPROTOCOL) != 0) {
		pp_sigclient_fatal(c, PP_SIGCLIENT_WHY_PROTOCOL,
		                   "the server did not select the peerpipe.v1 subprotocol");
		return;
	}
	/* Whole messages, fragments summed, are bounded by the meter under the
	 * WebSocket (wslimit_stream.h): libsoup 3.2 bounds frames only. It
	 * trips at max, before this one does; this stays as a second bound. */
	soup_websocket_connection_set_max_incoming_payload_size(ws, max + 1);
	g_signal_connect(soup_websocket_connection_get_io_stream(ws), "too-big",
	                 G_CALLBACK(pp_sigclient_on_too_big), c);
	PP_SIGCLIENT_SOUP(c, soup_websocket_connection_set_keepalive_interval(
	                             ws, pp_sigclient_keepalive_s(c)));
	g_signal_connect(ws, "message", G_CALLBACK(pp_sigclient_on_message), c);
	g_signal_connect(ws, "pong", G_CALLBACK(pp_sigclient_on_pong), c);
	g_signal_connect(ws, "error", G_CALLBACK(pp_sigclient_on_ws_error), c);
	g_signal_connect(ws, "closed", G_CALLBACK(pp_sigclient_on_closed), c);
	c->last_rx_us = g_get_monotonic_time();
	c->alive_timer = pp_sigclient_timer(c, MAX(c->keepalive_ms / 2, 100u), pp_sigclient_on_alive);
	int rc = pp_sigclient_send_join(c);
	if (rc < 0)
		pp_sigclient_fatal(c, PP_SIGCLIENT_WHY_PROTOCOL, pp_strerror(rc));
}

void pp_sigclient_upgrade_done(struct pp_sigclient *c, SoupWebsocketConnection *ws,
                               const struct pp_sigclient_failure *f)
{
	pp_sigclient_enter(c);
	g_clear_object(&c->cancel);
	c->tls_flags = f ? f->tls_flags : 0;
	if (ws)
		pp_sigclient_connected(c, ws);
	else
		pp_sigclient_connect_failed(c, f);
	pp_sigclient_exit(c);
}

void pp_sigclient_conn_start(struct pp_sigclient *c)
{
	char detail[300];

	pp_sigclient_conn_teardown(c);
	c->attempts++;
	c->tls_flags = 0;
	c->peer_id[0] = '\0';
	c->deadline_timer = pp_sigclient_timer(c, c->connect_timeout_ms, pp_sigclient_on_deadline);
	pp_debug("sigclient: connecting to %s (attempt %u)", c->where, c->attempts);
	c->cancel = pp_sigclient_upgrade_start(c);
	snprintf(detail, sizeof(detail), "%s (attempt %u)", c->where, c->attempts);
	pp_sigclient_set_state(c, PP_SIGCLIENT_CONNECTING, PP_SIGCLIENT_WHY_NONE, detail);
}
