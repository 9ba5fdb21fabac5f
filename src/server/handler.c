/* SPDX-License-Identifier: Apache-2.0 */
/* The signaling protocol: one complete text message at a time, plus what
 * happens when a connection's deadline passes (no join, ping, no pong). */
#include "cluster.h"
#include "room.h"
#include "server.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Refusals by the rate limit count toward limits.rate_limit_close within
 * this long of the first one. */
#define SIG_STRIKE_WINDOW_MS 10000

/* The wall clock's seconds, read precisely: time() is the kernel's
 * coarse clock, which can still say the last second for a tick after
 * gettimeofday() has moved on, so a token an issuer stamped iat = now
 * (from the precise clock) would be "not valid yet" for that tick with
 * auth.clock_skew = 0. */
static int64_t sig_wall_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

static void sig_handle_join(struct sig_server *srv, struct sig_peer *p, const struct pp_sig_msg *m)
{
	struct pp_jwt_claims claims;
	const char *ref = pp_sig_type_name(m->type);

	if (p->joined || p->joining || p->room) {
		sig_peer_send_error(srv, p, SIG_ALREADY_JOINED, "this connection has joined a room already", ref);
		return;
	}
	if (!sig_cluster_ready(srv)) {
		/* Joins are ordered by Redis: none can be made until it is back.
		 * Like the peers that had joined, this one reconnects later. */
		sig_peer_send_error(srv, p, SIG_INTERNAL, SIG_BROKER_DOWN, ref);
		sig_peer_close(srv, p, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, SIG_BROKER_DOWN);
		return;
	}
	int rc = pp_jwt_verify(srv->jwt_secret.data, srv->jwt_secret.len, m->token, m->token_len,
	                       sig_wall_seconds(), srv->cfg.clock_skew_ms / 1000, &claims);
	if (rc == 0 && strcmp(claims.room, m->room) != 0)
		rc = PP_ERR_NOT_FOUND;
	if (rc < 0) {
		/* The reason goes to our log only; the peer learns nothing more. */
		pp_log(PP_LOG_WARN, p->addr, "JOIN_ROOM refused: token %s",
		       rc == PP_ERR_NOT_FOUND ? "is for another room" : pp_strerror(rc));
		sig_peer_send_error(srv, p, SIG_UNAUTHORIZED, "authentication failed", ref);
		sig_peer_close(srv, p, LWS_CLOSE_STATUS_POLICY_VIOLATION, "unauthorized");
		return;
	}
	memcpy(p->name, claims.sub, sizeof(p->name));
	p->role = claims.role;
	if (p->role == PP_ROLE_GATEWAY && p->burst != (uint32_t)srv->cfg.gateway_burst) {
		/* Its messages grow with its peers (an answer and candidates for
		 * each when they all restart ICE at once): a desktop's limit would
		 * stretch that over longer than the restart window. The bucket
		 * starts full once, not at every JOIN_ROOM after a refusal. */
		p->rate = (uint32_t)srv->cfg.gateway_rate;
		p->burst = (uint32_t)srv->cfg.gateway_burst;
		pp_bucket_init(&p->bucket, p->burst, pp_now_ms());
	}
	if (m->fingerprint && !(p->fingerprint = strdup(m->fingerprint))) {
		sig_peer_send_error(srv, p, SIG_INTERNAL, "out of memory", ref);
		return;
	}
	rc = sig_room_join(srv, p, m->room);
	if (rc == PP_ERR_TOO_BIG) {
		sig_peer_send_error(srv, p, SIG_ROOM_FULL, "the room is full", ref);
	} else if (rc < 0) {
		pp_log(PP_LOG_ERROR, p->addr, "join failed: %s", pp_strerror(rc));
		sig_peer_send_error(srv, p, SIG_INTERNAL, "internal error", ref);
	}
	if (rc < 0)
		sig_handle_join_refused(srv, p);
	/* Joined (sig_room_joined set the ping deadline) or waiting for
	 * Redis: the join deadline set at connect keeps running. */
}

void sig_handle_join_refused(struct sig_server *srv, struct sig_peer *p)
{
	/* The connection may try again, as if it had never sent JOIN_ROOM:
	 * nothing of this attempt is kept, and it must still join within the
	 * deadline it got at connect (retries do not extend it). */
	free(p->fingerprint);
	p->fingerprint = NULL;
}

#define SIG_HEAD_SDP "{\"type\":\"FORWARD_SDP\",\"from\":\""
#define SIG_HEAD_ICE "{\"type\":\"FORWARD_ICE\",\"from\":\""

bool sig_relay_sender(const char *msg, size_t len, char from[PP_PEER_ID_LEN + 1],
                      const char **ref)
{
	const size_t hl = sizeof(SIG_HEAD_SDP) - 1;

	G_STATIC_ASSERT(sizeof(SIG_HEAD_SDP) == sizeof(SIG_HEAD_ICE));
	if (len < hl + PP_PEER_ID_LEN)
		return false;
	if (memcmp(msg, SIG_HEAD_SDP, hl) == 0)
		*ref = pp_sig_type_name(PP_SIG_SEND_SDP);
	else if (memcmp(msg, SIG_HEAD_ICE, hl) == 0)
		*ref = pp_sig_type_name(PP_SIG_SEND_ICE);
	else
		return false;
	memcpy(from, msg + hl, PP_PEER_ID_LEN);
	from[PP_PEER_ID_LEN] = '\0';
	return true;
}

static void sig_handle_relay(struct sig_server *srv, struct sig_peer *p, const struct pp_sig_msg *m,
                             const char *text)
{
	const bool sdp = m->type == PP_SIG_SEND_SDP;
	const char *ref = pp_sig_type_name(m->type);

	if (!p->joined) {
		sig_peer_send_error(srv, p, SIG_NOT_JOINED, p->joining ? "JOIN_ROOM is in progress" : "send JOIN_ROOM first", ref);
		return;
	}
	struct sig_route to;
	if (sig_room_route(srv, p, m->to, &to) < 0) {
		sig_peer_send_error(srv, p, SIG_UNKNOWN_PEER, "no such peer in this room", ref);
		return;
	}
	/* {"type":"FORWARD_SDP","from":"<id>","sdp":<raw>} : the payload is
	 * copied byte for byte from what the sender wrote. */
	const char *head = sdp ? SIG_HEAD_SDP : SIG_HEAD_ICE;
	const char *mid = sdp ? "\",\"sdp\":" : "\",\"candidate\":";
	const struct iovec iov[] = {
		{ (void *)head, strlen(head) },
		{ p->id, PP_PEER_ID_LEN },
		{ (void *)mid, strlen(mid) },
		{ (void *)(text + m->payload_off), m->payload_len },
		{ (void *)"}", 1 },
	};
	if (!to.local) {
		sig_cluster_forward(srv, to.remote->inst, to.remote->id, iov, 5);
	} else if (sig_peer_relay(srv, to.local, p->id, iov, 5) < 0) {
		sig_peer_send_error(srv, p, SIG_RATE_LIMITED, SIG_RELAY_REFUSED, ref);
		return;
	}
	srv->metrics.messages_relayed_total++;
}

static void sig_handle_leave(struct sig_server *srv, struct sig_peer *p)
{
	if (!p->joined) {
		sig_peer_send_error(srv, p, SIG_NOT_JOINED, "not in a room", "LEAVE_ROOM");
		return;
	}
	sig_room_leave(srv, p);
	sig_peer_close(srv, p, LWS_CLOSE_STATUS_NORMAL, "left the room");
}

/* "Exceeding the rate gets ERROR rate_limited and, if it goes on, close
 * 1008" (signaling.md §1): refusals are counted over a window from the
 * first of them, not in a row, so a client that keeps sending a little
 * over the rate (every other message refused) is closed too. */
static bool sig_rate_ok(struct sig_server *srv, struct sig_peer *p, const char *text, size_t len)
{
	int64_t now = pp_now_ms();

	if (pp_bucket_take(&p->bucket, p->rate, p->burst, now))
		return true;
	if (!p->strikes || now - p->strikes_since_ms > SIG_STRIKE_WINDOW_MS) {
		p->strikes = 0;
		p->strikes_since_ms = now;
	}
	if (++p->strikes >= (uint32_t)srv->cfg.rate_limit_close) {
		srv->metrics.refused_total[SIG_RATE_LIMITED]++;
		sig_peer_close(srv, p, LWS_CLOSE_STATUS_POLICY_VIOLATION, "message rate limit exceeded");
	} else {
		sig_peer_send_error(srv, p, SIG_RATE_LIMITED, "too many messages; slow down",
		                    pp_sig_peek_type(text, len));
	}
	return false;
}

void sig_handle_message(struct sig_server *srv, struct sig_peer *p, const char *text, size_t len)
{
	struct pp_sig_msg m;
	const char *why = NULL, *ref = NULL;

	srv->metrics.messages_received_total++;
	if (p->close_code || !sig_rate_ok(srv, p, text, len))
		return;
	if (pp_sig_parse(text, len, &m, &why, &ref) < 0) {
		pp_log(PP_LOG_DEBUG, p->joined ? p->id : p->addr, "bad request: %s", why);
		sig_peer_send_error(srv, p, SIG_BAD_REQUEST, why, ref);
		return;
	}
	switch (m.type) {
	case PP_SIG_JOIN_ROOM:
		sig_handle_join(srv, p, &m);
		break;
	case PP_SIG_SEND_SDP:
	case PP_SIG_SEND_ICE:
		sig_handle_relay(srv, p, &m, text);
		break;
	case PP_SIG_LEAVE_ROOM:
		sig_handle_leave(srv, p);
		break;
	}
	pp_sig_msg_clear(&m);
}

void sig_handle_deadline(struct sig_server *srv, struct sig_peer *p, enum sig_wait kind)
{
	if (p->close_code)
		return;
	switch (kind) {
	case SIG_WAIT_JOIN:
		if (!p->joined && !p->joining)
			sig_peer_close(srv, p, LWS_CLOSE_STATUS_POLICY_VIOLATION, "no JOIN_ROOM in time");
		break;
	case SIG_WAIT_PING:
		p->ping_due = true;
		lws_callback_on_writable(p->wsi);
		sig_deadline_set(srv, p, SIG_WAIT_PONG);
		break;
	case SIG_WAIT_PONG:
		srv->metrics.peers_dropped_total++;
		sig_room_leave(srv, p); /* announce now, not after the close grace */
		sig_peer_close(srv, p, LWS_CLOSE_STATUS_GOINGAWAY, "no pong: peer unreachable");
		break;
	default:
		break;
	}
}

void sig_handle_pong(struct sig_server *srv, struct sig_peer *p)
{
	if (p->wait_kind == SIG_WAIT_PONG)
		sig_deadline_set(srv, p, SIG_WAIT_PING);
}
