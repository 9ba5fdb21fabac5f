/* SPDX-License-Identifier: Apache-2.0 */
/* Signaling client: peer -> server messages (signaling.md §3) built with
 * jansson, sent at a bounded rate through a bounded queue. */
#include "sigclient_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/source.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define PP_SIGCLIENT_RATE_DEFAULT 40   /* signaling.md: 50 per second */
#define PP_SIGCLIENT_BURST_DEFAULT 150 /*   and a burst of 200 */

void pp_sigclient_pace(struct pp_sigclient *c, uint32_t server_rate, uint32_t server_burst)
{
	/* Four fifths and three quarters, as 40/150 are of 50/200: a margin
	 * for the server's clock and ours. */
	uint32_t rate = server_rate ? MAX(server_rate / 5 * 4, 1u) : PP_SIGCLIENT_RATE_DEFAULT;
	uint32_t burst = server_burst ? MAX(server_burst / 4 * 3, 1u) : PP_SIGCLIENT_BURST_DEFAULT;

	c->send_rate = c->cfg_rate ? c->cfg_rate : rate;
	c->send_burst = c->cfg_burst ? c->cfg_burst : burst;
}

static void pp_sigclient_ws_send(struct pp_sigclient *c, const char *text)
{
	g_main_context_push_thread_default(c->ctx);
	soup_websocket_connection_send_text(c->ws, text);
	g_main_context_pop_thread_default(c->ctx);
}

/* {"token":"<jwt>","type":"JOIN_ROOM","room":...}: the token is spliced in
 * as text (it is [A-Za-z0-9._-] only, checked when set) so it exists in one
 * buffer of ours, wiped after the send. libsoup's frame copy is freed
 * unwiped once written; that is out of our reach. */
int pp_sigclient_send_join(struct pp_sigclient *c)
{
	static const char head[] = "{\"token\":\"";
	json_t *o = NULL;
	char *rest = NULL, *text = NULL;
	size_t len;
	int rc = PP_ERR_NOMEM;

	if (!c->ws || !c->token)
		return PP_ERR_STATE;
	o = json_pack("{s:s, s:s}", "type", "JOIN_ROOM", "room", c->room);
	if (!o || (c->fingerprint &&
	           json_object_set_new(o, "fingerprint", json_string(c->fingerprint)) < 0))
		goto out;
	if (!(rest = json_dumps(o, JSON_COMPACT)) || rest[0] != '{')
		goto out;
	len = strlen(head) + c->token_len + 2 + strlen(rest + 1);
	text = g_malloc(len + 1);
	snprintf(text, len + 1, "%s%s\",%s", head, c->token, rest + 1);
	pp_sigclient_ws_send(c, text);
	OPENSSL_cleanse(text, len);
	rc = 0;
out:
	g_free(text);
	free(rest);
	json_decref(o);
	return rc;
}

void pp_sigclient_outq_clear(struct pp_sigclient *c)
{
	char *t;
	pp_source_clear(&c->drain_timer);
	while ((t = g_queue_pop_head(&c->outq)))
		free(t);
	c->outq_bytes = 0;
}

static bool pp_sigclient_can_send(struct pp_sigclient *c)
{
	return !c->dead && !c->left && c->state == PP_SIGCLIENT_JOINED && c->ws &&
	       soup_websocket_connection_get_state(c->ws) == SOUP_WEBSOCKET_STATE_OPEN;
}

static gboolean pp_sigclient_on_drain(gpointer data)
{
	struct pp_sigclient *c = data;
	char *t;

	if (!pp_sigclient_can_send(c)) {
		pp_sigclient_outq_clear(c);
		return G_SOURCE_REMOVE;
	}
	while (!g_queue_is_empty(&c->outq) &&
	       pp_bucket_take(&c->bucket, c->send_rate, c->send_burst, pp_now_ms())) {
		t = g_queue_pop_head(&c->outq);
		c->outq_bytes -= strlen(t);
		pp_sigclient_ws_send(c, t);
		free(t);
	}
	if (!g_queue_is_empty(&c->outq))
		return G_SOURCE_CONTINUE;
	pp_source_clear(&c->drain_timer);
	return G_SOURCE_REMOVE;
}

/* Takes o. */
static int pp_sigclient_send_json(struct pp_sigclient *c, json_t *o)
{
	char *text = NULL;
	size_t len;
	int rc;

	if (!o)
		return PP_ERR_INVALID; /* json_pack refused a string: not UTF-8 */
	if (!pp_sigclient_can_send(c)) {
		rc = PP_ERR_STATE;
		goto out;
	}
	if (!(text = json_dumps(o, JSON_COMPACT))) {
		rc = PP_ERR_NOMEM;
		goto out;
	}
	len = strlen(text);
	if (len > c->lim.max_message_size) {
		rc = PP_ERR_TOO_BIG;
		goto out;
	}
	if (g_queue_is_empty(&c->outq) &&
	    pp_bucket_take(&c->bucket, c->send_rate, c->send_burst, pp_now_ms())) {
		pp_sigclient_ws_send(c, text);
		rc = 0;
		goto out;
	}
	if (g_queue_get_length(&c->outq) >= c->outq_max || c->outq_bytes + len > c->outq_bytes_max) {
		pp_warn("sigclient: outgoing queue full (%u messages): message refused",
		        g_queue_get_length(&c->outq));
		rc = PP_ERR_TOO_BIG;
		goto out;
	}
	g_queue_push_tail(&c->outq, text);
	c->outq_bytes += len;
	text = NULL; /* transferred */
	if (!c->drain_timer)
		c->drain_timer = pp_sigclient_timer(c, MAX(1000 / c->send_rate, 1u), pp_sigclient_on_drain);
	rc = 0;
out:
	free(text);
	json_decref(o);
	return rc;
}

int pp_sigclient_send_sdp(struct pp_sigclient *c, const char *to, const char *type,
                          const char *sdp)
{
	if (!to || !pp_peer_id_valid(to, strlen(to)) || !type ||
	    (strcmp(type, "offer") != 0 && strcmp(type, "answer") != 0) || !sdp || !*sdp)
		return PP_ERR_INVALID;
	return pp_sigclient_send_json(c, json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "SEND_SDP",
	                                           "to", to, "sdp", "type", type, "sdp", sdp));
}

int pp_sigclient_send_ice(struct pp_sigclient *c, const char *to, const char *candidate,
                          const char *mid, int mline_index)
{
	json_t *cand;

	if (!to || !pp_peer_id_valid(to, strlen(to)) || mline_index > 65535 ||
	    (candidate && strlen(candidate) > PP_SIGCLIENT_CANDIDATE_MAX) ||
	    (mid && strlen(mid) > PP_SIGCLIENT_MID_MAX))
		return PP_ERR_INVALID;
	if (!candidate)
		cand = json_null();
	else
		cand = json_pack("{s:s, s:o, s:o}", "candidate", candidate,
		                 "sdpMid", mid ? json_string(mid) : json_null(),
		                 "sdpMLineIndex", mline_index >= 0 ? json_integer(mline_index) : json_null());
	if (!cand)
		return PP_ERR_INVALID;
	return pp_sigclient_send_json(c, json_pack("{s:s, s:s, s:o}", "type", "SEND_ICE", "to", to,
	                                           "candidate", cand));
}

void pp_sigclient_left(struct pp_sigclient *c)
{
	pp_sigclient_conn_teardown(c);
	pp_source_clear(&c->leave_timer);
	pp_source_clear(&c->retry_timer);
	pp_info("sigclient: left room %s", c->room);
	pp_sigclient_set_state(c, PP_SIGCLIENT_DISCONNECTED, PP_SIGCLIENT_WHY_LEFT, "left the room");
}

static gboolean pp_sigclient_on_left(gpointer data)
{
	struct pp_sigclient *c = data;

	pp_source_clear(&c->leave_timer);
	pp_sigclient_enter(c);
	pp_sigclient_left(c);
	pp_sigclient_exit(c);
	return G_SOURCE_REMOVE;
}

int pp_sigclient_leave(struct pp_sigclient *c)
{
	bool joined = pp_sigclient_can_send(c);

	if (c->dead || c->left || c->state == PP_SIGCLIENT_FATAL)
		return PP_ERR_STATE;
	c->left = true;
	pp_source_clear(&c->retry_timer);
	pp_sigclient_outq_clear(c);
	if (joined) {
		/* the server answers LEAVE_ROOM by closing (1000): on_closed */
		pp_sigclient_ws_send(c, "{\"type\":\"LEAVE_ROOM\"}");
		c->leave_timer = pp_sigclient_timer(c, PP_SIGCLIENT_LEAVE_WAIT_MS, pp_sigclient_on_left);
	} else {
		pp_sigclient_conn_teardown(c);
		c->leave_timer = pp_sigclient_timer(c, 0, pp_sigclient_on_left);
	}
	return 0;
}
