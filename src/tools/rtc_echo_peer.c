/* SPDX-License-Identifier: Apache-2.0 */
/* peerpipe-rtc-echo: one pp_peer per remote peer; every message on every
 * channel is sent back on the same channel with the same kind, in order.
 * When a channel's queue is full (-ENOBUFS) the echoes wait here and go
 * out from on_buffered_amount_low. */
#include "rtc_echo.h"

#include "peerpipe/error.h"

#include <errno.h>
#include <string.h>

struct echo_msg {
	enum pp_sctp_kind kind;
	GBytes *data;
};

struct echo_chan {
	struct echo_peer *peer;
	struct pp_sctp_channel *ch;
	bool local;          /* opened by us */
	GQueue pending;      /* struct echo_msg waiting for room */
	size_t pending_bytes;
	guint64 messages, bytes, lows, waits;
};

static void echo_peer_free_later(struct echo_peer *p, guint ms);

static void echo_msg_free(gpointer data)
{
	struct echo_msg *m = data;
	g_bytes_unref(m->data);
	g_free(m);
}

static json_t *echo_chan_json(struct echo_chan *c)
{
	return json_pack("{s:s, s:s, s:i, s:s}", "peer", c->peer->id,
	                 "label", pp_sctp_channel_label(c->ch), "id",
	                 (int)pp_sctp_channel_id(c->ch), "protocol",
	                 pp_sctp_channel_protocol(c->ch));
}

static struct echo_chan *echo_chan_get(struct echo_peer *p, struct pp_sctp_channel *ch, bool local)
{
	struct echo_chan *c = pp_sctp_channel_get_user(ch);

	if (c)
		return c;
	c = g_new0(struct echo_chan, 1);
	c->peer = p;
	c->ch = ch;
	c->local = local;
	g_queue_init(&c->pending);
	pp_sctp_channel_set_user(ch, c);
	pp_sctp_channel_set_low_threshold(ch, ECHO_LOW_THRESHOLD);
	p->chans = g_list_prepend(p->chans, c);
	return c;
}

static void echo_chan_free(struct echo_chan *c)
{
	g_queue_clear_full(&c->pending, echo_msg_free);
	pp_sctp_channel_set_user(c->ch, NULL);
	c->peer->chans = g_list_remove(c->peer->chans, c);
	g_free(c);
}

/* Sends what waits, in order, until the queue is full again. */
static void echo_chan_flush(struct echo_chan *c)
{
	struct echo_msg *m;

	while ((m = g_queue_peek_head(&c->pending))) {
		gsize len;
		const void *d = g_bytes_get_data(m->data, &len);
		int rc = pp_sctp_channel_send(c->ch, m->kind == PP_SCTP_TEXT, d, len);
		if (rc == -ENOBUFS)
			return;
		if (rc < 0) {
			json_t *o = echo_chan_json(c);
			json_object_set_new(o, "reason", json_string(pp_strerror(rc)));
			echo_emit("echo_failed", o);
		}
		c->pending_bytes -= len;
		echo_msg_free(g_queue_pop_head(&c->pending));
	}
}

static void echo_chan_send(struct echo_chan *c, enum pp_sctp_kind kind, const uint8_t *data,
                           size_t len)
{
	int rc = PP_ERR_STATE;

	if (g_queue_is_empty(&c->pending)) {
		rc = pp_sctp_channel_send(c->ch, kind == PP_SCTP_TEXT, data, len);
		if (rc == 0)
			return;
	}
	if (rc == -ENOBUFS || !g_queue_is_empty(&c->pending)) {
		if (c->pending_bytes + len > ECHO_PENDING_MAX) {
			rc = PP_ERR_TOO_BIG;
		} else {
			struct echo_msg *m = g_new0(struct echo_msg, 1);
			m->kind = kind;
			m->data = g_bytes_new(data, len);
			g_queue_push_tail(&c->pending, m);
			c->pending_bytes += len;
			c->waits++;
			return;
		}
	}
	json_t *o = echo_chan_json(c);
	json_object_set_new(o, "reason", json_string(pp_strerror(rc)));
	echo_emit("echo_failed", o);
	if (rc == PP_ERR_TOO_BIG)
		pp_sctp_channel_close(c->ch);
}

/* --- pp_peer callbacks ------------------------------------------------------ */

static void echo_on_description(void *user, const char *type, const char *sdp)
{
	struct echo_peer *p = user;
	int rc = pp_sigclient_send_sdp(p->app->sig, p->id, type, sdp);

	echo_emit(rc < 0 ? "send_failed" : "sdp_sent",
	          json_pack("{s:s, s:s, s:s}", "peer", p->id, "type", type, "result",
	                    rc < 0 ? pp_strerror(rc) : "ok"));
}

/* "candidate:F C udp PRIO ADDR PORT typ T ..." -> fields for an event. */
static json_t *echo_candidate_json(const char *line)
{
	char addr[256], typ[16], proto[8];
	unsigned port = 0;
	json_t *o = json_object();

	if (line && sscanf(line, "candidate:%*s %*u %7s %*u %255s %u typ %15s", proto, addr, &port,
	                   typ) == 4) {
		json_object_set_new(o, "protocol", json_string(proto));
		json_object_set_new(o, "address", json_string(addr));
		json_object_set_new(o, "port", json_integer(port));
		json_object_set_new(o, "type", json_string(typ));
		json_object_set_new(o, "mdns", json_boolean(g_str_has_suffix(addr, ".local")));
	}
	return o;
}

static void echo_on_candidate(void *user, const char *line, const char *mid, unsigned index)
{
	struct echo_peer *p = user;
	int rc = pp_sigclient_send_ice(p->app->sig, p->id, line, line ? mid : NULL,
	                               line ? (int)index : -1);
	json_t *o = echo_candidate_json(line);

	json_object_set_new(o, "peer", json_string(p->id));
	if (!line)
		json_object_set_new(o, "end", json_true());
	if (rc < 0)
		json_object_set_new(o, "send_error", json_string(pp_strerror(rc)));
	echo_emit("local_candidate", o);
}

static void echo_open_own_channels(struct echo_peer *p)
{
	for (char **l = p->app->open_labels; l && *l; l++) {
		struct pp_sctp_channel *ch = NULL;
		int rc = pp_peer_channel_open(p->pc, *l, "peerpipe.echo.v1", NULL, &ch);
		if (rc < 0) {
			echo_emit("open_failed", json_pack("{s:s, s:s, s:s}", "peer", p->id, "label", *l,
			                                   "reason", pp_strerror(rc)));
			continue;
		}
		echo_chan_get(p, ch, true);
		echo_emit("channel_opening", json_pack("{s:s, s:s, s:i}", "peer", p->id, "label", *l,
		                                       "id", (int)pp_sctp_channel_id(ch)));
	}
}

static void echo_on_state(void *user, enum pp_peer_state st, const char *reason)
{
	struct echo_peer *p = user;
	char fp[PP_FP_TEXT_MAX];

	p->state = st;
	switch (st) {
	case PP_PEER_CONNECTED:
		if (pp_fingerprint_format(pp_peer_remote_fingerprint(p->pc), fp, sizeof(fp)) < 0)
			fp[0] = '\0';
		echo_emit("connected", json_pack("{s:s, s:s, s:s, s:b}", "peer", p->id, "dtls_role",
		                                 p->dtls_role ? p->dtls_role : "?", "remote_fingerprint",
		                                 fp, "offerer", p->offerer));
		echo_open_own_channels(p);
		break;
	case PP_PEER_FAILED:
		echo_emit("failed", json_pack("{s:s, s:s}", "peer", p->id, "reason",
		                              reason ? reason : ""));
		if (p->dropping)
			echo_peer_free_later(p, 0);
		else
			echo_peer_drop(p, "failed");
		break;
	case PP_PEER_CLOSED:
		echo_emit("closed", json_pack("{s:s, s:s}", "peer", p->id, "reason",
		                              reason ? reason : ""));
		if (p->dropping)
			echo_peer_free_later(p, 0);
		else
			echo_peer_drop(p, "closed");
		break;
	default:
		echo_emit("state", json_pack("{s:s, s:s}", "peer", p->id, "state",
		                             pp_peer_state_name(st)));
		break;
	}
}

static void echo_on_channel_open(void *user, struct pp_sctp_channel *ch)
{
	struct echo_peer *p = user;
	struct echo_chan *c = echo_chan_get(p, ch, false);
	json_t *o = echo_chan_json(c);

	json_object_set_new(o, "origin", json_string(c->local ? "local" : "remote"));
	echo_emit("channel_open", o);
}

static void echo_on_message(void *user, struct pp_sctp_channel *ch, enum pp_sctp_kind kind,
                            const uint8_t *data, size_t len)
{
	struct echo_peer *p = user;
	struct echo_chan *c = echo_chan_get(p, ch, false);
	json_t *o = echo_chan_json(c);

	c->messages++;
	c->bytes += len;
	json_object_set_new(o, "kind", json_string(kind == PP_SCTP_TEXT ? "text" : "binary"));
	json_object_set_new(o, "size", json_integer((json_int_t)len));
	echo_emit("message", o);
	echo_chan_send(c, kind, data, len);
}

static void echo_on_channel_closed(void *user, struct pp_sctp_channel *ch)
{
	struct echo_peer *p = user;
	struct echo_chan *c = echo_chan_get(p, ch, false);
	json_t *o = echo_chan_json(c);

	json_object_set_new(o, "messages", json_integer((json_int_t)c->messages));
	json_object_set_new(o, "bytes", json_integer((json_int_t)c->bytes));
	json_object_set_new(o, "echoes_waited", json_integer((json_int_t)c->waits));
	json_object_set_new(o, "low_events", json_integer((json_int_t)c->lows));
	json_object_set_new(o, "unsent", json_integer((json_int_t)c->pending_bytes));
	echo_emit("channel_closed", o);
	echo_chan_free(c);
}

static void echo_on_low(void *user, struct pp_sctp_channel *ch)
{
	struct echo_peer *p = user;
	struct echo_chan *c = echo_chan_get(p, ch, false);

	c->lows++;
	echo_chan_flush(c);
}

static const struct pp_peer_callbacks echo_peer_cb = {
	.on_local_description = echo_on_description,
	.on_local_candidate = echo_on_candidate,
	.on_state = echo_on_state,
	.on_channel_open = echo_on_channel_open,
	.on_message = echo_on_message,
	.on_channel_closed = echo_on_channel_closed,
	.on_buffered_amount_low = echo_on_low,
};

/* --- life -------------------------------------------------------------------- */

struct echo_peer *echo_peer_new(struct echo_app *app, const char *peer_id, bool offerer)
{
	struct echo_peer *p = g_new0(struct echo_peer, 1);
	struct pp_peer_config cfg = {
		.identity = app->identity,
		.pins = app->pins,
		.n_pins = app->n_pins,
		.allow_unpinned = app->allow_unpinned,
		.ice_servers = app->ice.n ? app->ice.v : NULL,
		.n_ice_servers = app->ice.n,
		.local_addresses = (const char *const *)app->local_addresses,
		.n_local_addresses = app->local_addresses ? g_strv_length(app->local_addresses) : 0,
		.log_peer = peer_id,
	};

	p->app = app;
	g_strlcpy(p->id, peer_id, sizeof(p->id));
	p->offerer = offerer;
	p->pc = pp_peer_new(app->ctx, &cfg, &echo_peer_cb, p);
	if (!p->pc) {
		echo_emit("failed", json_pack("{s:s, s:s}", "peer", peer_id, "reason",
		                              "pp_peer_new refused the configuration"));
		g_free(p);
		return NULL;
	}
	g_hash_table_replace(app->peers, p->id, p);
	if (offerer) {
		int rc = pp_peer_create_offer(p->pc);
		if (rc < 0)
			echo_emit("failed", json_pack("{s:s, s:s}", "peer", p->id, "reason",
			                              pp_strerror(rc)));
	}
	return p;
}

/* Our DTLS role from the remote description's a=setup (RFC 8842): an
 * answer "active" makes us the server; we answer an offer with active. */
static const char *echo_dtls_role(const char *type, const char *sdp)
{
	const char *s = strstr(sdp, "a=setup:");

	if (strcmp(type, "offer") == 0)
		return "client";
	if (s && strncmp(s + 8, "passive", 7) == 0)
		return "client";
	return "server";
}

void echo_peer_on_sdp(struct echo_peer *p, const char *type, const char *sdp)
{
	int rc;

	if (p->have_remote) {
		echo_emit("sdp_ignored", json_pack("{s:s, s:s, s:s}", "peer", p->id, "type", type,
		                                   "reason", "renegotiation is not supported"));
		return;
	}
	p->dtls_role = echo_dtls_role(type, sdp);
	rc = pp_peer_set_remote_description(p->pc, type, sdp, strlen(sdp));
	echo_emit("sdp_received", json_pack("{s:s, s:s, s:s, s:s}", "peer", p->id, "type", type,
	                                    "result", rc < 0 ? pp_strerror(rc) : "ok",
	                                    "dtls_role", p->dtls_role));
	if (rc < 0) {
		echo_emit("failed", json_pack("{s:s, s:s}", "peer", p->id, "reason",
		                              "remote description refused"));
		return;
	}
	p->have_remote = true;
}

void echo_peer_on_ice(struct echo_peer *p, const struct pp_sigclient_ice *cand)
{
	const char *line = cand ? cand->candidate : NULL;
	json_t *o;
	int rc;

	if (line && !*line)
		line = NULL; /* {"candidate":""} is end of candidates too */
	rc = pp_peer_add_remote_candidate(p->pc, line);
	o = echo_candidate_json(line);
	json_object_set_new(o, "peer", json_string(p->id));
	if (!line)
		json_object_set_new(o, "end", json_true());
	json_object_set_new(o, "result", json_string(rc < 0 ? pp_strerror(rc) : "ok"));
	echo_emit("remote_candidate", o);
}

static gboolean echo_peer_free_cb(gpointer data)
{
	struct echo_peer *p = data;
	struct echo_app *app = p->app;

	p->free_source = 0;
	g_hash_table_remove(app->peers, p->id); /* echo_peer_destroy */
	if (app->stopping && g_hash_table_size(app->peers) == 0)
		g_main_loop_quit(app->loop);
	return G_SOURCE_REMOVE;
}

/* pp_peer_free() only outside its callbacks: from the loop. */
static void echo_peer_free_later(struct echo_peer *p, guint ms)
{
	if (p->free_source)
		g_source_remove(p->free_source);
	p->free_source = g_timeout_add(ms, echo_peer_free_cb, p);
}

void echo_peer_drop(struct echo_peer *p, const char *why)
{
	if (p->dropping)
		return;
	p->dropping = true;
	echo_emit("peer_dropped", json_pack("{s:s, s:s}", "peer", p->id, "reason", why));
	if (p->state == PP_PEER_CLOSED || p->state == PP_PEER_FAILED) {
		echo_peer_free_later(p, 0);
		return;
	}
	/* orderly: SCTP shutdown, then close_notify; freed on CLOSED (which
	 * may come from inside this call), or after the grace at the latest */
	echo_peer_free_later(p, ECHO_CLOSE_GRACE_MS);
	pp_peer_close(p->pc);
}

void echo_peer_destroy(gpointer data)
{
	struct echo_peer *p = data;

	if (p->free_source)
		g_source_remove(p->free_source);
	pp_peer_free(p->pc);
	while (p->chans) {
		struct echo_chan *c = p->chans->data;
		g_queue_clear_full(&c->pending, echo_msg_free);
		p->chans = g_list_delete_link(p->chans, p->chans);
		g_free(c);
	}
	g_free(p);
}
