/* SPDX-License-Identifier: Apache-2.0 */
/* The control channel of a session (tunnel.md §3): the offerer opens it,
 * both sides send HELLO first, PING is answered with PONG, the rest goes
 * to the owner. Also the session's deadlines (connect, HELLO) and the
 * check that the peer is still the process it was (pp_tsession_check_peer). */
#include "session_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/source.h"
#include "peerpipe/tunnel/ctrl.h"
#include "peerpipe/tunnel/frame.h"

#include <stdlib.h>
#include <string.h>

static gboolean pp_tsession_timeout(gpointer data)
{
	struct pp_tsession *s = data;

	g_source_unref(s->timer);
	s->timer = NULL;
	pp_tsession_fail(s, s->timer_reason);
	return G_SOURCE_REMOVE;
}

void pp_tsession_stop_timers(struct pp_tsession *s)
{
	pp_source_clear(&s->timer);
}

void pp_tsession_start_timer(struct pp_tsession *s, uint32_t ms, const char *reason)
{
	pp_tsession_stop_timers(s);
	s->timer_reason = reason;
	s->timer = g_timeout_source_new(ms);
	g_source_set_callback(s->timer, pp_tsession_timeout, s, NULL);
	g_source_attach(s->timer, s->ctx);
}

void pp_tsession_connected(struct pp_tsession *s)
{
	pp_tsession_start_timer(s, s->cfg.hello_timeout_ms, "no HELLO from the peer");
	if (!s->cfg.offerer)
		return; /* the offerer opens the control channel */
	if (pp_peer_channel_open(s->peer, PP_CTRL_LABEL, PP_CTRL_PROTOCOL, NULL,
	                         &s->control) < 0)
		pp_tsession_fail(s, "cannot open the control channel");
}

static void pp_tsession_maybe_ready(struct pp_tsession *s)
{
	if (!s->hello_sent || !s->hello_received || s->state != PP_TSESSION_CONNECTING)
		return;
	pp_tsession_stop_timers(s);
	s->state = PP_TSESSION_READY;
	pp_log(PP_LOG_INFO, s->log_peer, "session: ready (%s, agent %s)",
	       s->remote_gateway ? "gateway" : "desktop", s->remote_agent);
	if (s->cb.on_ready)
		s->cb.on_ready(s->user, s);
}

void pp_tsession_send_hello(struct pp_tsession *s)
{
	char *hello;

	if (s->hello_sent)
		return;
	hello = pp_ctrl_build_hello(s->cfg.is_gateway ? PP_ROLE_GATEWAY : PP_ROLE_DESKTOP, s->agent,
	                            s->cfg.our_formats, PP_TUNNEL_VERSION, s->cfg.max_datagram);
	if (!hello || pp_tsession_send_control(s, hello) < 0) {
		free(hello);
		pp_tsession_fail(s, "cannot send HELLO");
		return;
	}
	free(hello);
	s->hello_sent = true;
	pp_tsession_maybe_ready(s);
}

int pp_tsession_send_control(struct pp_tsession *s, const char *json)
{
	if (!s->control || pp_sctp_channel_get_state(s->control) != PP_SCTP_CHANNEL_OPEN)
		return PP_ERR_STATE;
	return pp_sctp_channel_send(s->control, true, json, strlen(json));
}

static void pp_tsession_on_hello(struct pp_tsession *s, const struct pp_ctrl_msg *m)
{
	if (s->hello_received) {
		pp_log(PP_LOG_INFO, s->log_peer, "session: second HELLO ignored");
		return;
	}
	s->hello_received = true;
	s->remote_formats = m->formats & PP_FRAME_FMT_ALL;
	s->remote_agent = g_strdup(m->agent ? m->agent : "?");
	s->remote_gateway = m->role == PP_ROLE_GATEWAY;
	/* Both ends take larger datagrams: the path decides (rtc/sctp_pmtu.c). */
	if (s->cfg.max_datagram && m->max_datagram)
		pp_peer_set_max_datagram(s->peer, MIN(s->cfg.max_datagram, m->max_datagram));
	pp_tsession_maybe_ready(s);
}

void pp_tsession_on_control(struct pp_tsession *s, enum pp_sctp_kind kind,
                            const uint8_t *data, size_t len)
{
	struct pp_ctrl_msg m;
	const char *why = NULL;

	if (kind != PP_SCTP_TEXT || pp_ctrl_parse((const char *)data, len, &m, &why) < 0) {
		pp_log(PP_LOG_WARN, s->log_peer, "session: bad control message: %s",
		       kind != PP_SCTP_TEXT ? "binary" : why ? why : "invalid");
		pp_tsession_fail(s, "protocol error on the control channel");
		return;
	}
	if (m.type != PP_CTRL_HELLO && !s->hello_received) {
		pp_tsession_fail(s, "control message before HELLO");
	} else if (m.type == PP_CTRL_HELLO) {
		pp_tsession_on_hello(s, &m);
	} else if (m.type == PP_CTRL_PING) {
		char *pong = pp_ctrl_build_pong(m.t);
		if (pong)
			pp_tsession_send_control(s, pong);
		free(pong);
	} else if (m.type == PP_CTRL_PONG) {
		if (s->check)
			pp_tsession_peer_heard(s, m.t);
	} else if (m.type != PP_CTRL_UNKNOWN && s->cb.on_control) {
		s->cb.on_control(s->user, s, &m);
	}
	pp_ctrl_msg_clear(&m);
}

/* --- is the peer still there? ------------------------------------------------------ */

/* No PONG: the process we had the session with may be gone (a new one
 * took its name), or the path may be down and not noticed yet. An ICE
 * restart tells the two apart: its offer goes to the peer's current
 * signaling id, where the same process answers it and a new one answers
 * for another session (the owner then ends this one). */
static gboolean pp_tsession_check_over(gpointer data)
{
	struct pp_tsession *s = data;

	pp_source_fired(&s->check);
	if (s->cb.on_peer_silent)
		s->cb.on_peer_silent(s->user, s);
	if (s->state == PP_TSESSION_READY && pp_peer_get_state(s->peer) == PP_PEER_CONNECTED)
		pp_tsession_restart_ice(s, "no answer to a PING: is the peer still the same process?");
	return G_SOURCE_REMOVE;
}

int pp_tsession_check_peer(struct pp_tsession *s, uint32_t timeout_ms)
{
	char *ping;
	int rc;

	/* While the path is lost no PONG can come back: the ICE restarts
	 * under way settle who is at the other end. */
	if (s->state != PP_TSESSION_READY || !s->cfg.ice_restart ||
	    pp_peer_get_state(s->peer) != PP_PEER_CONNECTED)
		return PP_ERR_STATE;
	ping = pp_ctrl_build_ping(++s->check_t);
	if (!ping)
		return PP_ERR_NOMEM;
	rc = pp_tsession_send_control(s, ping);
	free(ping);
	if (rc < 0)
		return rc;
	pp_source_clear(&s->check);
	s->check = pp_source_timeout(s->ctx, timeout_ms, pp_tsession_check_over, s);
	/* Paused, usrsctp holds what came before the PING: only the PONG
	 * tells the peer is there now (pp_tsession_update_pause sets it too
	 * when a pause begins during the check). */
	s->check_pong_only = pp_tsession_receive_paused(s);
	pp_log(PP_LOG_INFO, s->log_peer,
	       "session: is the peer still the same process? PING, %u ms for %s", timeout_ms,
	       s->check_pong_only ? "its PONG (receive is paused: older data proves nothing)"
	                          : "an answer");
	return 0;
}

void pp_tsession_peer_heard(struct pp_tsession *s, int64_t pong_t)
{
	if (s->check_pong_only && pong_t != s->check_t)
		return;
	pp_source_clear(&s->check);
	pp_log(PP_LOG_INFO, s->log_peer, "session: the peer answered: the session goes on");
}

bool pp_tsession_checking_peer(const struct pp_tsession *s)
{
	return s->check != NULL;
}
