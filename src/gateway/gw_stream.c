/* SPDX-License-Identifier: Apache-2.0 */
/* Service streams on the gateway: the ACL decision, the connect to the
 * service's one host:port, CONNECTED/DENIED/FAILED, and the stream log. */
#include "acl.h"
#include "audit.h"
#include "connect_fault.h"
#include "gateway.h"
#include "resolve.h"

#include "peerpipe/error.h"
#include "peerpipe/fdwatch.h"
#include "peerpipe/log.h"
#include "peerpipe/source.h"
#include "peerpipe/tunnel/ctrl.h"
#include "peerpipe/tunnel/frame.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a peer learns about a refused stream: the same words whether the
 * service is unknown or forbidden, so names cannot be probed. */
#define GW_DENIED_REASON "not allowed"
/* CONNECTED waits this long for the service's first bytes (a reply to
 * the request that came with the OPEN, a banner) and shares their packet. */
#define GW_CONNECTED_HOLD_MS 1
/* Refused streams logged (and audited) per peer and minute. */
#define GW_TURN_AWAY_BURST 20

static const char *gw_peer_name(const struct gw_peer *p)
{
	return p->identity ? p->identity->name : pp_tlink_peer(p->link)->name;
}

static void gw_stream_answer(struct pp_tstream *st, char *json)
{
	if (json)
		pp_tstream_send_text(st, json);
	free(json);
}

/* A stream that will not reach its service: logged and audited with the
 * gateway's reason (why), answered with `answer` (DENIED or FAILED JSON,
 * taken), then reset once the answer is out. */
static void gw_stream_turn_away(struct gw_peer *p, struct pp_sctp_channel *ch, const char *service,
                                const char *why, char *answer, const char *reason)
{
	struct pp_tstream *st = pp_tsession_accept_stream(pp_tlink_session(p->link), ch);
	char note[GW_LOG_BUDGET_NOTE_MAX];
	unsigned quiet = 0;

	/* A peer can be refused as fast as it asks (at its stream limit,
	 * while the IDS is down): GW_TURN_AWAY_BURST lines a minute, the
	 * rest counted (with the next line, and when the peer goes). */
	if (gw_log_budget_take(&p->turned_away, g_get_monotonic_time(), GW_TURN_AWAY_BURST, &quiet)) {
		pp_log(PP_LOG_INFO, gw_peer_name(p), "stream %s#%u %s: %s%s", service,
		       pp_sctp_channel_id(ch), reason, why,
		       gw_log_budget_note(quiet, "refused streams", note, sizeof(note)));
		gw_audit("stream_denied",
		         json_pack("{s:s, s:s, s:s, s:i, s:s, s:i}", "peer", gw_peer_name(p),
		                   "fingerprint", p->identity ? p->identity->fp_text : "", "service",
		                   service, "stream_id", (int)pp_sctp_channel_id(ch), "reason", why,
		                   "not_logged", (int)quiet));
	}
	if (!st) {
		free(answer);
		pp_sctp_channel_close(ch);
		return;
	}
	gw_stream_answer(st, answer);
	pp_tstream_finish(st, reason);
}

static void gw_stream_refuse(struct gw_peer *p, struct pp_sctp_channel *ch, const char *service,
                             const char *why)
{
	gw_stream_turn_away(p, ch, service, why, pp_ctrl_build_denied(GW_DENIED_REASON), "denied");
}

/* No epoll watch for the service socket (out of memory, or of fds). */
static void gw_stream_unwatched(struct gw_stream *gs, int err)
{
	pp_log(PP_LOG_ERROR, gw_peer_name(gs->peer), "stream %s: cannot watch its socket to %s: %s",
	       pp_tstream_name(gs->st), gs->service, pp_strerror(err));
	gw_stream_answer(gs->st, pp_ctrl_build_failed("gateway out of resources"));
	pp_tstream_finish(gs->st, "gateway out of resources");
}

/* The service is connected: the stream starts flowing. */
static void gw_stream_up(struct gw_stream *gs, int fd)
{
	char *json;
	int rc;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int)); /* we batch already */
	gw_alert_track(gs->peer->gw, gs, fd); /* before the early data goes out */
	rc = pp_tstream_attach(gs->st, fd);
	if (rc == PP_ERR_STATE) {
		/* The stream ended while the connect was under way (the peer
		 * reset it, say): nothing to answer, the socket just goes. */
		gw_alert_untrack(gs->peer->gw, gs);
		close(fd);
		return;
	}
	if (rc < 0) {
		close(fd);
		gw_stream_unwatched(gs, rc);
		return;
	}
	gs->connected = true;
	json = pp_ctrl_build_connected();
	if (json) /* with the service's first bytes, when they come at once */
		pp_tstream_send_text_soon(gs->st, json, GW_CONNECTED_HOLD_MS);
	free(json);
	pp_log(PP_LOG_DEBUG, gw_peer_name(gs->peer), "stream %s: connected to %s",
	       pp_tstream_name(gs->st), gs->service);
}

/* The connect failed. Only a failure the service or the network caused
 * counts for Sentinel (connect_fault.h); the gateway's own (no fd, no
 * local port) is logged as such and never held against the peer. */
static void gw_stream_unreachable(struct gw_stream *gs, enum gw_fault fault, const char *why)
{
	const char *reason = fault == GW_FAULT_SERVICE ? "service unreachable" : "gateway error";

	if (fault == GW_FAULT_SERVICE) {
		pp_log(PP_LOG_WARN, gw_peer_name(gs->peer), "stream %s: service %s unreachable: %s",
		       pp_tstream_name(gs->st), gs->service, why);
		gw_sentinel_note(gs->peer, SENTINEL_EV_FAILED, gs->service);
	} else {
		pp_log(PP_LOG_ERROR, gw_peer_name(gs->peer), "stream %s: cannot connect to service %s: "
		       "%s (the gateway's own failure, not counted against the peer)",
		       pp_tstream_name(gs->st), gs->service, why);
	}
	gw_stream_answer(gs->st, pp_ctrl_build_failed(reason));
	pp_tstream_finish(gs->st, reason);
}

/* ips mode: a socket without the mark would reach the service
 * uninspected (the netfilter rules queue marked sockets only): never
 * connect one. SO_MARK needs CAP_NET_ADMIN. */
static void gw_stream_unmarked(struct gw_stream *gs, int err)
{
	pp_log(PP_LOG_ERROR, gw_peer_name(gs->peer), "stream %s: cannot mark the socket to %s for "
	       "inspection (SO_MARK: %s; needs CAP_NET_ADMIN): not connecting",
	       pp_tstream_name(gs->st), gs->service, g_strerror(err));
	gw_stream_answer(gs->st, pp_ctrl_build_failed("inspection unavailable"));
	pp_tstream_finish(gs->st, "inspection unavailable");
}

static void gw_stream_stop_pending(struct gw_stream *gs, bool close_fd)
{
	pp_fdwatch_free(gs->pending_watch);
	gs->pending_watch = NULL;
	pp_source_clear(&gs->pending_timer);
	pp_source_clear(&gs->attempt_timer);
	if (close_fd && gs->pending_fd >= 0)
		close(gs->pending_fd);
	gs->pending_fd = -1;
}

/* Whatever of the connect is still under way stops: the attempt (its
 * socket closed), the name's lookup, the addresses not tried yet. */
static void gw_stream_stop_connecting(struct gw_stream *gs)
{
	gw_stream_stop_pending(gs, true);
	gw_resolve_cancel(gs->lookup);
	gs->lookup = NULL;
	g_list_free_full(gs->addrs, g_object_unref);
	gs->addrs = NULL;
}

/* --- the connect: to an address literal at once, or to each address of a
 * name in turn once the lookup answers (resolve.h); connect_timeout
 * bounds the whole of it --------------------------------------------------- */

static void gw_stream_try_next(struct gw_stream *gs);

/* The connect to one address ended on fd (-1: no socket was made): err
 * 0 (connected) or an errno. A name's next address is tried after any
 * failure (an address family this host does not route, say: "localhost"
 * gives ::1 first), and the last one's is the stream's. */
static void gw_stream_connect_result(struct gw_stream *gs, int fd, int err)
{
	pp_fdwatch_free(gs->pending_watch);
	gs->pending_watch = NULL;
	pp_source_clear(&gs->attempt_timer);
	gs->pending_fd = -1;
	if (!err) {
		pp_source_clear(&gs->pending_timer);
		gw_stream_up(gs, fd);
		return;
	}
	if (fd >= 0)
		close(fd);
	if (gs->addrs) {
		pp_log(PP_LOG_DEBUG, gw_peer_name(gs->peer), "stream %s: an address of %s: %s; "
		       "trying the next", pp_tstream_name(gs->st), gs->service, g_strerror(err));
		gw_stream_try_next(gs);
		return;
	}
	pp_source_clear(&gs->pending_timer);
	gw_stream_unreachable(gs, gw_fault_of_errno(err), g_strerror(err));
}

static void gw_stream_connect_done(void *data, GIOCondition got)
{
	struct gw_stream *gs = data;
	int err = 0;
	socklen_t len = sizeof(err);

	(void)got; /* SO_ERROR says how the connect ended */
	if (getsockopt(gs->pending_fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	gw_stream_connect_result(gs, gs->pending_fd, err);
}

static gboolean gw_stream_connect_timeout(gpointer data)
{
	struct gw_stream *gs = data;

	pp_source_fired(&gs->pending_timer);
	if (gs->lookup) { /* this host's DNS, not the peer's doing */
		gw_resolve_cancel(gs->lookup);
		gs->lookup = NULL;
		gw_stream_unreachable(gs, GW_FAULT_GATEWAY, "name resolution timed out");
		return G_SOURCE_REMOVE;
	}
	gw_stream_stop_pending(gs, true);
	gw_stream_unreachable(gs, GW_FAULT_SERVICE, "connect timed out");
	return G_SOURCE_REMOVE;
}

/* A name's address that has not answered in its share of the time: the
 * next one gets its turn (a path that drops one address family must not
 * use up connect_timeout while another would answer at once). */
static gboolean gw_stream_attempt_timeout(gpointer data)
{
	struct gw_stream *gs = data;

	pp_source_fired(&gs->attempt_timer);
	gw_stream_connect_result(gs, gs->pending_fd, ETIMEDOUT);
	return G_SOURCE_REMOVE;
}

/* With more addresses after this one: an even share of what is left of
 * connect_timeout, at least 250 ms (RFC 8305's connection attempt delay). */
static void gw_stream_attempt_timer(struct gw_stream *gs)
{
	gint64 left_ms = (gs->deadline_us - g_get_monotonic_time()) / 1000;
	gint64 share = left_ms / (gint64)(g_list_length(gs->addrs) + 1);

	if (!gs->addrs)
		return;
	share = MAX(share, 250);
	if (share >= left_ms)
		return; /* connect_timeout comes first */
	gs->attempt_timer = pp_source_timeout(gs->peer->gw->ctx, (guint)share,
	                                      gw_stream_attempt_timeout, gs);
}

/* A non-blocking connect to a service on this host or a veth away has
 * usually finished inside connect(): the kernel runs the handshake's
 * packets before the call returns. Seen at once, the stream is up in this
 * dispatch, without an epoll watch, a timer and a loop turn of its own.
 * A second connect() says it in one call: 0 (or EISCONN) once connected,
 * EALREADY while under way, else how it failed (the socket's error,
 * consumed as SO_ERROR would). Returns 0, -EALREADY or -errno. */
static int gw_connect_settled(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (connect(fd, sa, len) == 0 || errno == EISCONN)
		return 0;
	return errno == EINPROGRESS ? -EALREADY : -errno;
}

static void gw_stream_connect_to(struct gw_stream *gs, const struct sockaddr *sa, socklen_t len)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), settled;

	if (fd >= 0 && (gs->mark_err = -gw_ids_mark_socket(gs->peer->gw, fd)) != 0) {
		pp_source_clear(&gs->pending_timer);
		gw_stream_unmarked(gs, gs->mark_err);
		close(fd);
		return;
	}
	if (fd < 0 || (connect(fd, sa, len) < 0 && errno != EINPROGRESS)) {
		gw_stream_connect_result(gs, fd, errno);
		return;
	}
	settled = gw_connect_settled(fd, sa, len);
	if (settled != -EALREADY) {
		gw_stream_connect_result(gs, fd, -settled);
		return;
	}
	gs->pending_fd = fd;
	gs->pending_watch = pp_fdwatch_new(gs->peer->gw->ctx, fd, G_IO_OUT, gw_stream_connect_done, gs);
	if (!gs->pending_watch) {
		int err = -errno;
		pp_source_clear(&gs->pending_timer);
		gw_stream_stop_pending(gs, true);
		gw_stream_unwatched(gs, err);
		return;
	}
	if (!gs->pending_timer)
		gs->pending_timer = pp_source_timeout(gs->peer->gw->ctx, (guint)gs->timeout_ms,
		                                      gw_stream_connect_timeout, gs);
	gw_stream_attempt_timer(gs);
}

/* The next address of the name, in the resolver's order. */
static void gw_stream_try_next(struct gw_stream *gs)
{
	GInetAddress *a = gs->addrs->data;
	GSocketAddress *sa = g_inet_socket_address_new(a, gs->port);
	struct sockaddr_storage ss;
	gboolean ok = g_socket_address_to_native(sa, &ss, sizeof(ss), NULL);
	socklen_t len = (socklen_t)g_socket_address_get_native_size(sa);

	g_object_unref(sa);
	gs->addrs = g_list_delete_link(gs->addrs, gs->addrs);
	g_object_unref(a);
	if (!ok) {
		pp_source_clear(&gs->pending_timer);
		gw_stream_unreachable(gs, GW_FAULT_GATEWAY, "unusable address");
		return;
	}
	gw_stream_connect_to(gs, (const struct sockaddr *)&ss, len);
}

static gpointer gw_ref_address(gconstpointer a, gpointer unused)
{
	(void)unused;
	return g_object_ref((gpointer)a);
}

static void gw_stream_resolved(void *user, GList *addrs, const GError *err)
{
	struct gw_stream *gs = user;

	gs->lookup = NULL;
	if (err || !addrs) {
		pp_source_clear(&gs->pending_timer);
		gw_stream_unreachable(gs, gw_fault_of_gerror(err), err ? err->message : "no address");
		return;
	}
	gs->addrs = g_list_copy_deep(addrs, gw_ref_address, NULL);
	gw_stream_try_next(gs);
}

static void gw_stream_connect(struct gw_stream *gs, const struct gw_service *svc, int64_t timeout_ms)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
		                  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char port[8];

	gs->timeout_ms = timeout_ms;
	gs->deadline_us = g_get_monotonic_time() + timeout_ms * 1000;
	gs->port = svc->port;
	if (svc->kind == GW_ADDR_NAME) {
		gs->pending_timer = pp_source_timeout(gs->peer->gw->ctx, (guint)timeout_ms,
		                                      gw_stream_connect_timeout, gs);
		gs->lookup = gw_resolve(gs->peer->gw->resolver, svc->host, gw_stream_resolved, gs);
		return;
	}
	g_snprintf(port, sizeof(port), "%u", svc->port);
	if (getaddrinfo(svc->host, port, &hints, &ai) != 0 || !ai) {
		gw_stream_unreachable(gs, GW_FAULT_GATEWAY, "bad address"); /* the configuration's */
		return;
	}
	gw_stream_connect_to(gs, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
}

void gw_stream_request(struct gw_peer *p, struct pp_sctp_channel *ch)
{
	struct gw *gw = p->gw;
	const char *label = pp_sctp_channel_label(ch);
	const struct gw_service *svc = gw_config_service_by_name(gw->cfg, label);
	struct gw_stream *gs;
	struct pp_tstream *st;

	if (!p->identity || gw_acl_identity_in(gw->cfg, p->identity) != p->identity) {
		gw_stream_refuse(p, ch, label, "identity not current");
		return;
	}
	if (p->banned || p->kicked) {
		/* banned in this same receive batch: its session closes from an
		 * idle, and nothing more of it may reach a service meanwhile */
		gw_stream_refuse(p, ch, label, "peer banned");
		return;
	}
	if (!svc || !gw_acl_allows(gw->cfg, p->identity, svc)) {
		gw_stream_refuse(p, ch, label, svc ? "not in the service's allow list" : "no such service");
		gw_sentinel_note(p, SENTINEL_EV_DENIED, label);
		return;
	}
	if (!gw_ids_admits(gw)) {
		/* fail-closed: nothing uninspected reaches a service */
		gw_stream_turn_away(p, ch, label, "IDS not ready (fail-closed)",
		                    pp_ctrl_build_failed("inspection unavailable"),
		                    "inspection unavailable");
		return;
	}
	if (p->streams >= (unsigned)gw->cfg->gw.max_streams_per_peer) {
		gw_stream_refuse(p, ch, label, "too many streams");
		return;
	}
	/* Counted before it is let through: the stream that reaches the
	 * distinct-services limit is the ban's first refusal, not a
	 * connection that lives until the session's close. */
	gw_sentinel_note(p, SENTINEL_EV_STREAM, svc->name);
	if (p->banned) {
		gw_stream_refuse(p, ch, label, "peer banned");
		return;
	}
	st = pp_tsession_accept_stream(pp_tlink_session(p->link), ch);
	if (!st) {
		pp_sctp_channel_close(ch);
		return;
	}
	gs = g_new0(struct gw_stream, 1);
	gs->peer = p;
	gs->st = st;
	gs->pending_fd = -1;
	g_strlcpy(gs->service, svc->name, sizeof(gs->service));
	pp_tstream_set_data(st, gs);
	p->streams++;
	gw->streams++;
	gw_stream_connect(gs, svc, gw->cfg->gw.connect_timeout_ms);
}

void gw_stream_closed(struct gw_peer *p, struct pp_tstream *st, const char *reason)
{
	struct gw_stream *gs = pp_tstream_get_data(st);
	struct pp_tstream_stats s;

	if (!gs)
		return; /* refused: logged when denied */
	pp_tstream_get_stats(st, &s);
	pp_log(PP_LOG_INFO, gw_peer_name(p),
	       "stream %s closed: service=%s to_service=%" PRIu64 " from_service=%" PRIu64
	       " tunnel_rx=%" PRIu64 " tunnel_tx=%" PRIu64 " sent_raw=%" PRIu64 " sent_lz4=%" PRIu64
	       " sent_zstd=%" PRIu64 " duration_ms=%" PRId64 " reason=%s",
	       pp_tstream_name(st), gs->service, s.bytes_out, s.bytes_in, s.wire_out, s.wire_in,
	       s.sent_as[PP_FRAME_RAW], s.sent_as[PP_FRAME_LZ4],
	       s.sent_as[PP_FRAME_ZSTD] + s.sent_as[PP_FRAME_ZSTD_STREAM],
	       (s.ended_us - s.started_us) / 1000, reason);
	if (gw_audit_enabled()) /* no record built for nobody on every stream */
		gw_audit("stream_closed",
		         json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "peer", gw_peer_name(p),
		                   "fingerprint", p->identity->fp_text, "service", gs->service,
		                   "stream", pp_tstream_name(st), "bytes_to_service",
		                   (json_int_t)s.bytes_out, "bytes_from_service",
		                   (json_int_t)s.bytes_in, "duration_ms",
		                   (json_int_t)((s.ended_us - s.started_us) / 1000), "reason", reason));
	p->streams--;
	p->gw->streams--;
	gw_alert_untrack(p->gw, gs);
	gw_stream_stop_connecting(gs);
	g_free(gs);
}

void gw_stream_abort(struct pp_tstream *st, const char *reason)
{
	struct gw_stream *gs = pp_tstream_get_data(st);

	/* The stream is closed only once the peer has answered the reset
	 * (gw_stream_closed), which a hung peer never does: a lookup or
	 * connect still under way stops now, so the service sees nothing
	 * of a stream already ended and no failure of it counts for Sentinel. */
	if (gs && !gs->connected)
		gw_stream_stop_connecting(gs);
	pp_tstream_abort(st, reason);
}

static void gw_stream_abort_one(struct pp_tstream *st, void *reason)
{
	gw_stream_abort(st, reason);
}

void gw_session_abort_streams(struct pp_tsession *s, const char *reason)
{
	pp_tsession_foreach_stream(s, gw_stream_abort_one, (void *)reason);
}

void gw_peer_send_services(struct gw_peer *p)
{
	const struct gw_service *list[GW_SERVICES_MAX];
	struct pp_ctrl_service out[GW_SERVICES_MAX];
	size_t n = gw_acl_services_for(p->gw->cfg, p->identity, list, GW_SERVICES_MAX), sent;
	char *json;

	for (size_t i = 0; i < n; i++) {
		out[i].name = (char *)list[i]->name;
		out[i].proto = (char *)"tcp";
		out[i].description = (char *)list[i]->description;
	}
	json = pp_ctrl_build_services_fit(out, n, &sent);
	if (!json) {
		pp_log(PP_LOG_ERROR, gw_peer_name(p), "cannot build SERVICES: out of memory");
		return;
	}
	/* The list is what the peer is told, not what it may use. */
	if (sent < n)
		pp_log(PP_LOG_WARN, gw_peer_name(p), "SERVICES lists %zu of the %zu services this "
		       "identity may use (one message holds %d entries, %d bytes); the others still "
		       "work by name", sent, n, PP_CTRL_SERVICES_MAX, PP_CTRL_MSG_MAX);
	pp_tsession_send_control(pp_tlink_session(p->link), json);
	free(json);
}
