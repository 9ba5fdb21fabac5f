/* SPDX-License-Identifier: Apache-2.0 */
/* A tunnel session: one pp_peer, its control channel, its streams.
 * See peerpipe/tunnel/session.h. Control messages: session_ctrl.c. */
#include "session_priv.h"
#include "stream_priv.h" /* pp_tstream_read_now, pp_tstream_check_pressure */
#include "stream_pool.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/dtls.h"
#include "peerpipe/source.h"
#include "peerpipe/tunnel/ctrl.h"
#include "peerpipe/tunnel/frame.h"

#include <stdlib.h>
#include <string.h>

static void pp_tsession_report_closed(struct pp_tsession *s, const char *reason);

/* --- streams ---------------------------------------------------------------- */

static void pp_tsession_update_pause(struct pp_tsession *s)
{
	bool paused = pp_tsession_receive_paused(s);

	if (paused && s->check)
		s->check_pong_only = true;
	pp_peer_pause_receive(s->peer, paused);
}

static void pp_tsession_stream_pressure(void *user, struct pp_tstream *st, bool over)
{
	struct pp_tsession *s = user;

	if (over)
		s->pressured++;
	else if (s->pressured > 0)
		s->pressured--;
	pp_tsession_update_pause(s);
}

/* The streams' decoded bytes together passed the pool's limit, or fell to
 * half of it: every stream that holds some is under pressure meanwhile. */
static void pp_tsession_pool_over(void *user, bool over)
{
	struct pp_tsession *s = user;
	GHashTableIter it;
	gpointer st;

	(void)over;
	g_hash_table_iter_init(&it, s->streams);
	while (g_hash_table_iter_next(&it, &st, NULL))
		pp_tstream_check_pressure(st);
	pp_tsession_update_pause(s);
}

static void pp_tsession_stream_text(void *user, struct pp_tstream *st, const struct pp_ctrl_msg *m)
{
	struct pp_tsession *s = user;

	if (m && s->cb.on_stream_text)
		s->cb.on_stream_text(s->user, s, st, m);
}

static void pp_tsession_stream_closed(void *user, struct pp_tstream *st, const char *reason)
{
	struct pp_tsession *s = user;

	g_hash_table_remove(s->streams, st);
	if (s->cb.on_stream_closed)
		s->cb.on_stream_closed(s->user, s, st, reason);
	pp_tstream_free(st);
}

static const struct pp_tstream_callbacks pp_tsession_stream_cb = {
	.on_text = pp_tsession_stream_text,
	.on_pressure = pp_tsession_stream_pressure,
	.on_closed = pp_tsession_stream_closed,
};

static struct pp_tstream *pp_tsession_make_stream(struct pp_tsession *s, struct pp_sctp_channel *ch,
                                                  bool opener)
{
	struct pp_tstream_config c = s->cfg.stream;
	struct pp_tstream *st;

	c.peer_formats = s->remote_formats;
	c.our_formats = s->cfg.our_formats;
	c.compression = s->cfg.compression;
	c.zstd_budget = s->zstd_budget;
	c.pool = s->pool;
	c.unconfirmed_max = opener ? PP_TSTREAM_PENDING_MAX : 0;
	c.opener = opener;
	c.log_peer = s->log_peer;
	st = pp_tstream_new(s->ctx, ch, &c, &pp_tsession_stream_cb, s);
	if (st)
		g_hash_table_add(s->streams, st);
	return st;
}

struct pp_tstream *pp_tsession_accept_stream(struct pp_tsession *s, struct pp_sctp_channel *ch)
{
	return pp_tsession_make_stream(s, ch, false);
}

int pp_tsession_open_stream(struct pp_tsession *s, const char *service, int fd,
                            struct pp_tstream **out)
{
	struct pp_sctp_channel *ch = NULL;
	struct pp_tstream *st;
	int rc;

	if (s->state != PP_TSESSION_READY)
		return PP_ERR_STATE;
	rc = pp_peer_channel_open(s->peer, service, PP_TUNNEL_STREAM_PROTOCOL, NULL, &ch);
	if (rc < 0)
		return rc;
	st = pp_tsession_make_stream(s, ch, true);
	if (!st) {
		pp_sctp_channel_close(ch);
		return PP_ERR_NOMEM;
	}
	rc = pp_tstream_attach(st, fd);
	if (rc < 0) {
		pp_tstream_abort(st, "attach failed");
		return rc;
	}
	pp_tstream_read_now(st); /* early data in the same batch as the OPEN */
	*out = st;
	return 0;
}

/* --- pp_peer callbacks --------------------------------------------------------- */

static void pp_tsession_local_desc(void *user, const char *type, const char *sdp)
{
	struct pp_tsession *s = user;
	s->cb.send_sdp(s->user, s, type, sdp);
}

static void pp_tsession_local_cand(void *user, const char *line, const char *mid, unsigned index)
{
	struct pp_tsession *s = user;
	s->cb.send_ice(s->user, s, line, mid, index);
}

/* One more ICE restart of this outage. */
void pp_tsession_restart_ice(struct pp_tsession *s, const char *why)
{
	int rc;

	s->restarts_tried++;
	pp_log(PP_LOG_INFO, s->log_peer, "session: %s, restarting ICE (%u of this outage)", why,
	       s->restarts_tried);
	if ((rc = pp_peer_restart_ice(s->peer)) < 0) {
		pp_log(PP_LOG_WARN, s->log_peer, "session: ICE restart: %s", pp_strerror(rc));
		pp_tsession_fail(s, "path lost and ICE cannot restart");
	}
}

/* The other side's restart did not come: the path is still lost here
 * (not restarting: its offer would have made pp_peer RESTARTING). */
static gboolean pp_tsession_restart_wait_over(gpointer data)
{
	struct pp_tsession *s = data;

	pp_source_fired(&s->restart_wait);
	if (s->state == PP_TSESSION_READY && !s->restarts_tried &&
	    pp_peer_get_state(s->peer) == PP_PEER_DISCONNECTED)
		pp_tsession_restart_ice(s, "path lost and the peer did not restart ICE");
	return G_SOURCE_REMOVE;
}

/* The ICE path is gone but DTLS, SCTP and the streams are kept: the side
 * that restarts offers an ICE restart, and another when the checks of one
 * fail while the outage lasts (a restart's checks give up after about 8
 * s), up to PP_TSESSION_RESTARTS_MAX; then the session ends (and the
 * owner redials as for any end). The other side waits for them, and
 * offers a restart itself, once per outage, if none comes
 * (ice_restart_wait_ms); pp_peer's window bounds each wait. */
static void pp_tsession_path_lost(struct pp_tsession *s)
{
	if (!s->cfg.ice_restart) {
		if (s->cfg.ice_restart_wait_ms && !s->restarts_tried && !s->restart_wait &&
		    s->state == PP_TSESSION_READY)
			s->restart_wait = pp_source_timeout(s->ctx, s->cfg.ice_restart_wait_ms,
			                                    pp_tsession_restart_wait_over, s);
		return;
	}
	if (s->restarts_tried >= PP_TSESSION_RESTARTS_MAX || s->state != PP_TSESSION_READY) {
		pp_tsession_fail(s, s->restarts_tried ? "path lost and not restored by ICE restarts"
		                                      : "path lost");
		return;
	}
	pp_tsession_restart_ice(s, s->restarts_tried ? "path still lost" : "path lost");
}

/* A change of a READY session's path, for the owner (on_path). */
static void pp_tsession_path_event(struct pp_tsession *s, bool up, const char *reason)
{
	if (s->state != PP_TSESSION_READY || s->path_down == !up)
		return;
	s->path_down = !up;
	if (s->cb.on_path)
		s->cb.on_path(s->user, s, up, reason ? reason : "");
}

static void pp_tsession_peer_state(void *user, enum pp_peer_state st, const char *reason)
{
	struct pp_tsession *s = user;

	if (st == PP_PEER_CONNECTED && s->peer_up) {
		/* back after an ICE restart: the session simply goes on */
		pp_log(PP_LOG_INFO, s->log_peer, "session: path back (%s)", reason ? reason : "");
		s->restarts_tried = 0;
		pp_source_clear(&s->restart_wait);
		pp_tsession_path_event(s, true, reason);
	} else if (st == PP_PEER_CONNECTED) {
		s->peer_up = true;
		pp_tsession_connected(s);
	} else if (st == PP_PEER_DISCONNECTED) {
		pp_tsession_path_event(s, false, reason);
		pp_tsession_path_lost(s);
	} else if (st == PP_PEER_RESTARTING) {
		/* also when the peer's restart comes while our path looked fine */
		pp_tsession_path_event(s, false, reason);
	} else if (st == PP_PEER_FAILED || st == PP_PEER_CLOSED) {
		pp_tsession_report_closed(s, s->close_reason ? s->close_reason
		                             : reason ? reason
		                                      : pp_peer_state_name(st));
	}
}

static void pp_tsession_ch_open(void *user, struct pp_sctp_channel *ch)
{
	struct pp_tsession *s = user;
	const char *proto = pp_sctp_channel_protocol(ch);

	if (ch == s->control) {
		pp_tsession_send_hello(s);
		return;
	}
	if (pp_sctp_channel_get_user(ch))
		return; /* one of our streams got its ACK */
	if (!s->control && !s->cfg.offerer &&
	    strcmp(pp_sctp_channel_label(ch), PP_CTRL_LABEL) == 0 &&
	    strcmp(proto, PP_CTRL_PROTOCOL) == 0) {
		s->control = ch;
		pp_tsession_send_hello(s);
		return;
	}
	if (s->state == PP_TSESSION_READY && strcmp(proto, PP_TUNNEL_STREAM_PROTOCOL) == 0 &&
	    s->cb.on_stream_request) {
		s->cb.on_stream_request(s->user, s, ch);
		return;
	}
	pp_log(PP_LOG_INFO, s->log_peer, "channel '%s' (%s) refused: not a service stream%s",
	       pp_sctp_channel_label(ch), proto, s->state == PP_TSESSION_READY ? "" : " or before HELLO");
	pp_sctp_channel_close(ch);
}

static void pp_tsession_ch_message(void *user, struct pp_sctp_channel *ch, enum pp_sctp_kind kind,
                                   const uint8_t *data, size_t len)
{
	struct pp_tsession *s = user;
	struct pp_tstream *st;

	if (G_UNLIKELY(s->check))
		pp_tsession_peer_heard(s, -1);
	if (ch == s->control) {
		pp_tsession_on_control(s, kind, data, len);
		return;
	}
	st = pp_sctp_channel_get_user(ch);
	if (st)
		pp_tstream_on_message(st, kind, data, len);
}

static void pp_tsession_ch_closed(void *user, struct pp_sctp_channel *ch)
{
	struct pp_tsession *s = user;
	struct pp_tstream *st;

	if (ch == s->control) {
		s->control = NULL;
		if (s->state != PP_TSESSION_CLOSED)
			pp_tsession_close(s, NULL);
		return;
	}
	st = pp_sctp_channel_get_user(ch);
	if (st)
		pp_tstream_on_channel_closed(st);
}

static void pp_tsession_ch_low(void *user, struct pp_sctp_channel *ch)
{
	struct pp_tstream *st = pp_sctp_channel_get_user(ch); /* NULL for control */

	if (st)
		pp_tstream_on_low(st);
}

static const struct pp_peer_callbacks pp_tsession_peer_cb = {
	.on_local_description = pp_tsession_local_desc,
	.on_local_candidate = pp_tsession_local_cand,
	.on_state = pp_tsession_peer_state,
	.on_channel_open = pp_tsession_ch_open,
	.on_message = pp_tsession_ch_message,
	.on_channel_closed = pp_tsession_ch_closed,
	.on_buffered_amount_low = pp_tsession_ch_low,
};

/* --- life cycle ------------------------------------------------------------------ */

static gboolean pp_tsession_closed_idle(gpointer data)
{
	struct pp_tsession *s = data;
	GList *left = g_hash_table_get_keys(s->streams);

	g_source_unref(s->closed_idle);
	s->closed_idle = NULL;
	/* Every stream is reported before the session: one whose own report
	 * was still waiting in the context would otherwise be freed with the
	 * session, unreported (its owner's record of it leaked). */
	for (GList *l = left; l; l = l->next)
		if (g_hash_table_contains(s->streams, l->data))
			pp_tstream_end_now(l->data, "session closed");
	g_list_free(left);
	s->cb.on_closed(s->user, s, s->close_reason ? s->close_reason : "closed");
	return G_SOURCE_REMOVE;
}

static void pp_tsession_report_closed(struct pp_tsession *s, const char *reason)
{
	if (s->state == PP_TSESSION_CLOSED && (s->closed_idle || s->closed_reported))
		return;
	s->state = PP_TSESSION_CLOSED;
	s->closed_reported = true;
	if (!s->close_reason)
		s->close_reason = g_strdup(reason);
	pp_tsession_stop_timers(s);
	pp_source_clear(&s->restart_wait);
	pp_source_clear(&s->check);
	s->closed_idle = g_idle_source_new();
	g_source_set_callback(s->closed_idle, pp_tsession_closed_idle, s, NULL);
	g_source_attach(s->closed_idle, s->ctx);
}

void pp_tsession_fail(struct pp_tsession *s, const char *reason)
{
	if (!s->close_reason)
		s->close_reason = g_strdup(reason);
	pp_log(PP_LOG_INFO, s->log_peer, "session: closing: %s", reason);
	pp_peer_close(s->peer);
}

void pp_tsession_drop(struct pp_tsession *s, const char *reason)
{
	if (!s->close_reason)
		s->close_reason = g_strdup(reason);
	pp_log(PP_LOG_INFO, s->log_peer, "session: dropped: %s", reason);
	pp_peer_close_now(s->peer);
}

void pp_tsession_close(struct pp_tsession *s, const char *bye_reason)
{
	if (bye_reason && s->control) {
		char *bye = pp_ctrl_build_bye(bye_reason);
		if (bye)
			pp_sctp_channel_send(s->control, true, bye, strlen(bye));
		free(bye);
	}
	pp_tsession_fail(s, bye_reason ? bye_reason : "closed");
}

struct pp_tsession *pp_tsession_new(GMainContext *ctx, const struct pp_tsession_config *cfg,
                                    const struct pp_tsession_callbacks *cb, void *user)
{
	struct pp_tsession *s = g_new0(struct pp_tsession, 1);

	s->ctx = ctx;
	s->cfg = *cfg;
	s->cb = *cb;
	s->user = user;
	s->log_peer = g_strdup(cfg->peer.log_peer);
	s->agent = g_strdup(cfg->agent ? cfg->agent : "peerpipe");
	s->cfg.agent = s->agent;
	s->cfg.peer.log_peer = s->log_peer;
	if (!s->cfg.hello_timeout_ms)
		s->cfg.hello_timeout_ms = 10000;
	if (!s->cfg.max_datagram)
		s->cfg.max_datagram = PP_DTLS_DATAGRAM_MAX;
	if (s->cfg.max_datagram <= PP_CTRL_MAX_DATAGRAM_MIN)
		s->cfg.max_datagram = 0;
	s->cfg.max_datagram = MIN(s->cfg.max_datagram, (uint32_t)PP_DTLS_DATAGRAM_MAX);
	s->cfg.peer.max_datagram = 0; /* until the peer's HELLO says it takes more */
	if (!s->cfg.connect_timeout_ms)
		s->cfg.connect_timeout_ms = 30000;
	s->streams = g_hash_table_new(NULL, NULL);
	s->zstd_budget = pp_frame_budget_new();
	if (!s->cfg.streams_memory)
		s->cfg.streams_memory = PP_TSESSION_STREAMS_MEMORY_DEFAULT;
	s->pool = pp_tstream_pool_new(s->cfg.streams_memory, pp_tsession_pool_over, s);
	s->peer = pp_peer_new(ctx, &s->cfg.peer, &pp_tsession_peer_cb, s);
	if (!s->peer || !s->zstd_budget) {
		pp_tsession_free(s);
		return NULL;
	}
	pp_tsession_start_timer(s, s->cfg.connect_timeout_ms, "connection timed out");
	return s;
}

void pp_tsession_free(struct pp_tsession *s)
{
	GHashTableIter it;
	gpointer key;

	if (!s)
		return;
	pp_tsession_stop_timers(s);
	pp_source_clear(&s->closed_idle);
	pp_source_clear(&s->restart_wait);
	pp_source_clear(&s->check);
	pp_tstream_pool_disown(s->pool); /* no report while its streams go */
	s->pool = NULL;
	g_hash_table_iter_init(&it, s->streams);
	while (g_hash_table_iter_next(&it, &key, NULL))
		pp_tstream_free(key);
	g_hash_table_destroy(s->streams);
	pp_frame_budget_unref(s->zstd_budget);
	pp_peer_free(s->peer);
	g_free(s->remote_agent);
	g_free(s->close_reason);
	g_free(s->agent);
	g_free(s->log_peer);
	g_free(s);
}

int pp_tsession_start_offer(struct pp_tsession *s)
{
	return pp_peer_create_offer(s->peer);
}

int pp_tsession_remote_sdp(struct pp_tsession *s, const char *type, const char *sdp)
{
	return pp_peer_set_remote_description(s->peer, type, sdp, strlen(sdp));
}

int pp_tsession_remote_candidate(struct pp_tsession *s, const char *line)
{
	return pp_peer_add_remote_candidate(s->peer, line);
}

unsigned pp_tsession_restarts(const struct pp_tsession *s)
{
	return s->restarts_tried;
}

enum pp_tsession_state pp_tsession_get_state(const struct pp_tsession *s)
{
	return s->state;
}

const struct pp_fingerprint *pp_tsession_remote_fingerprint(const struct pp_tsession *s)
{
	return pp_peer_remote_fingerprint(s->peer);
}

struct pp_peer *pp_tsession_peer(struct pp_tsession *s)
{
	return s->peer;
}

const char *pp_tsession_remote_agent(const struct pp_tsession *s)
{
	return s->remote_agent;
}

bool pp_tsession_remote_is_gateway(const struct pp_tsession *s)
{
	return s->remote_gateway;
}

unsigned pp_tsession_stream_count(const struct pp_tsession *s)
{
	return g_hash_table_size(s->streams);
}

bool pp_tsession_receive_paused(const struct pp_tsession *s)
{
	return s->pressured > 0 || pp_tstream_pool_over(s->pool);
}

void pp_tsession_foreach_stream(struct pp_tsession *s,
                                void (*fn)(struct pp_tstream *st, void *data), void *data)
{
	GList *keys = g_hash_table_get_keys(s->streams);

	for (GList *l = keys; l; l = l->next)
		fn(l->data, data);
	g_list_free(keys);
}

void pp_tsession_set_user(struct pp_tsession *s, void *user)
{
	s->user = user;
}

void *pp_tsession_get_user(const struct pp_tsession *s)
{
	return s->user;
}
