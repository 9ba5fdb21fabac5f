/* SPDX-License-Identifier: Apache-2.0 */
/* IDS/IPS alerts to streams (tunnel.md §6): Suricata sees the gateway's
 * own connection to the service, so an alert's flow (EVE flow.src_* is
 * the initiator, flow.dest_* the service) is one stream's service socket,
 * known by its full 4-tuple (flow_key.h: the local port alone is shared
 * by sockets towards different services). That stream gets ALERT on its peer's control channel,
 * then is reset (channel and service socket); the audit log records it.
 *
 * In ips mode Suricata resets the service socket itself (rejectboth), and
 * that reset races the EVE record. Suricata writes the record before it
 * sends the resets and the EVE socket is read at a higher priority than
 * the streams (suricata_eve.c), so normally the stream is still here when
 * the alert comes. For the rest (the reset seen first; a drop record that
 * follows its alert; an alert at the close of an ids-mode flow) the flows
 * of streams that ended in the last GW_RECENT_US are kept in a small ring:
 * a late alert still reaches the peer (ALERT with the stream's label,
 * just after the reset) and the audit log with peer and service, and a
 * second record of a flow already alerted on is not reported twice. The
 * ring was chosen over delaying the abort of a reset socket: the stream
 * is the tunnel library's, which reports a reset when it happens. */
#include "audit.h"
#include "gateway.h"

#include "peerpipe/log.h"
#include "peerpipe/tunnel/ctrl.h"

#include <stdlib.h>
#include <string.h>

#define GW_RECENT_MAX 256                   /* flows; the oldest go first */
#define GW_RECENT_US (2 * G_USEC_PER_SEC)   /* how long an ended flow is kept */
#define GW_STREAM_NAME_MAX 96               /* "<label>#<id>" */

/* A stream that ended: enough to tell its peer and the audit log. */
struct gw_recent {
	char key[GW_FLOW_KEY_MAX];
	gint64 until;
	bool alerted;                   /* ALERT already sent for this flow */
	struct gw_peer *peer;           /* compared only (gw_alert_peer_live) */
	gint64 peer_since;
	char peer_name[GW_NAME_MAX + 1];
	char fp_text[PP_FP_TEXT_MAX];
	char service[GW_NAME_MAX + 1];
	char stream[GW_STREAM_NAME_MAX];
};

struct gw_alert_recent {
	struct gw_recent ring[GW_RECENT_MAX];
	unsigned next;
};

struct gw_alert_recent *gw_alert_recent_new(void)
{
	return g_new0(struct gw_alert_recent, 1);
}

void gw_alert_recent_free(struct gw_alert_recent *r)
{
	g_free(r);
}

static void gw_recent_add(struct gw_alert_recent *r, const struct gw_stream *gs, bool alerted)
{
	struct gw_recent *e = &r->ring[r->next];

	r->next = (r->next + 1) % GW_RECENT_MAX;
	memset(e, 0, sizeof(*e));
	g_strlcpy(e->key, gs->flow_key, sizeof(e->key));
	e->until = g_get_monotonic_time() + GW_RECENT_US;
	e->alerted = alerted;
	e->peer = gs->peer;
	e->peer_since = gs->peer->since_us;
	g_strlcpy(e->peer_name, gs->peer->identity->name, sizeof(e->peer_name));
	g_strlcpy(e->fp_text, gs->peer->identity->fp_text, sizeof(e->fp_text));
	g_strlcpy(e->service, gs->service, sizeof(e->service));
	g_strlcpy(e->stream, pp_tstream_name(gs->st), sizeof(e->stream));
}

static struct gw_recent *gw_recent_find(struct gw_alert_recent *r, const char *key)
{
	gint64 now = g_get_monotonic_time();

	if (!r)
		return NULL;
	for (unsigned i = 0; i < GW_RECENT_MAX; i++)
		if (r->ring[i].key[0] && r->ring[i].until > now && strcmp(r->ring[i].key, key) == 0)
			return &r->ring[i];
	return NULL;
}

struct gw_peer_find {
	const struct gw_recent *e;
	struct gw_peer *live;
};

static void gw_peer_find_fn(struct pp_tlink *l, void *data)
{
	struct gw_peer_find *f = data;
	struct gw_peer *p = pp_tlink_get_data(l);

	if (p && p == f->e->peer && p->link == l && p->since_us == f->e->peer_since)
		f->live = p;
}

/* The recorded peer if it is still connected: the pointer alone could be
 * a new peer at a freed one's address, so the connect time must match too. */
static struct gw_peer *gw_alert_peer_live(struct gw *gw, const struct gw_recent *e)
{
	struct gw_peer_find f = { .e = e };

	if (gw->node)
		pp_tnode_foreach_link(gw->node, gw_peer_find_fn, &f);
	return f.live;
}

/* The service socket's 4-tuple, the key alerts are matched with. A key
 * already held by another stream means that stream's socket is gone
 * (the kernel never gives one 4-tuple to two live sockets) while the
 * stream lingers: the new socket is the one alerts are about, said so in
 * the log. */
void gw_alert_track(struct gw *gw, struct gw_stream *gs, int fd)
{
	struct gw_stream *old;
	int rc;

	if (!gw->ids)
		return; /* no IDS: no alert will need the flow */
	rc = gw_flow_key_of_socket(fd, gs->flow_key);
	if (rc < 0) {
		pp_log(PP_LOG_WARN, gs->peer->identity->name, "stream %s: its socket's addresses are "
		       "unknown (%s): IDS alerts cannot be matched to it", pp_tstream_name(gs->st),
		       g_strerror(-rc));
		return;
	}
	old = g_hash_table_lookup(gw->flows, gs->flow_key);
	if (old && old != gs) {
		pp_log(PP_LOG_WARN, gs->peer->identity->name, "stream %s: flow %s was still held by "
		       "stream %s (its socket closed): alerts on it now go to %s",
		       pp_tstream_name(gs->st), gs->flow_key, pp_tstream_name(old->st),
		       pp_tstream_name(gs->st));
		/* The table's key is old's buffer: the entry goes before that
		 * buffer is blanked (untracked: old's end must not remove the
		 * new entry). */
		g_hash_table_remove(gw->flows, gs->flow_key);
		old->flow_key[0] = '\0';
	}
	g_hash_table_replace(gw->flows, gs->flow_key, gs);
}

/* The flow is no stream any more; kept a while in the ring (alerted: an
 * ALERT was sent for it). */
static void gw_alert_end_flow(struct gw *gw, struct gw_stream *gs, bool alerted)
{
	if (!gs->flow_key[0])
		return;
	if (g_hash_table_lookup(gw->flows, gs->flow_key) == gs)
		g_hash_table_remove(gw->flows, gs->flow_key);
	if (gw->recent && gs->peer->identity)
		gw_recent_add(gw->recent, gs, alerted);
	gs->flow_key[0] = '\0';
}

void gw_alert_untrack(struct gw *gw, struct gw_stream *gs)
{
	gw_alert_end_flow(gw, gs, false);
}

static void gw_alert_audit(const struct pp_eve *e, const char *peer, const char *fp,
                           const char *service, const char *stream, const char *action)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "signature_id",
	                      (json_int_t)e->alert.signature_id, "signature", e->alert.signature,
	                      "ids_action", pp_eve_action_name(e->alert.action), "action", action);
	if (peer) {
		json_object_set_new(o, "peer", json_string(peer));
		json_object_set_new(o, "fingerprint", json_string(fp));
		json_object_set_new(o, "service", json_string(service));
		json_object_set_new(o, "stream", json_string(stream));
	}
	gw_audit("alert", o);
}

static void gw_alert_send(struct gw_peer *p, const char *stream, const struct pp_eve *e)
{
	char *msg = pp_ctrl_build_alert(stream, e->alert.signature_id, e->alert.signature,
	                                PP_CTRL_ACTION_STREAM_CLOSED);
	if (msg)
		pp_tsession_send_control(pp_tlink_session(p->link), msg);
	free(msg);
}

/* An alert on a flow whose stream ended moments ago (see the top). */
static void gw_alert_late(struct gw *gw, struct gw_recent *r, const struct pp_eve *e)
{
	struct gw_peer *p;

	if (r->alerted) { /* the drop record after its alert, or a second rule */
		pp_log(PP_LOG_DEBUG, r->peer_name, "stream %s: IDS %s %u on a flow already alerted on",
		       r->stream, e->event_type, e->alert.signature_id);
		return;
	}
	r->alerted = true;
	p = gw_alert_peer_live(gw, r);
	pp_log(PP_LOG_WARN, r->peer_name, "stream %s to %s: IDS alert %u (%s): the stream had just "
	       "ended (%s)", r->stream, r->service, e->alert.signature_id, e->alert.signature,
	       p ? "ALERT sent after it" : "peer gone");
	gw_alert_audit(e, r->peer_name, r->fp_text, r->service, r->stream, "stream_closed");
	if (p) {
		gw_alert_send(p, r->stream, e);
		gw_sentinel_note(p, SENTINEL_EV_ALERT, NULL);
	}
}

void gw_alert(struct gw *gw, const struct pp_eve *e)
{
	char key[GW_FLOW_KEY_MAX] = "";
	struct gw_stream *gs = NULL;
	bool keyed;

	if ((e->type != PP_EVE_ALERT && e->type != PP_EVE_DROP) ||
	    e->alert.action == PP_EVE_ACTION_NONE)
		return;
	keyed = gw_flow_key_of_eve(e, key);
	if (keyed)
		gs = g_hash_table_lookup(gw->flows, key);
	if (!gs) {
		struct gw_recent *r = keyed ? gw_recent_find(gw->recent, key) : NULL;
		if (r) {
			gw_alert_late(gw, r, e);
			return;
		}
		pp_log(PP_LOG_WARN, NULL, "IDS alert %u (%s) on a flow that is no stream of ours (%s)",
		       e->alert.signature_id, e->alert.signature, keyed ? key : "no addresses");
		gw_alert_audit(e, NULL, NULL, NULL, NULL, "none");
		return;
	}
	pp_log(PP_LOG_WARN, gs->peer->identity->name, "stream %s to %s: IDS alert %u (%s): closing it",
	       pp_tstream_name(gs->st), gs->service, e->alert.signature_id, e->alert.signature);
	gw_alert_audit(e, gs->peer->identity->name, gs->peer->identity->fp_text, gs->service,
	               pp_tstream_name(gs->st), "stream_closed");
	/* ALERT first, so the user learns why before the stream goes. */
	gw_alert_send(gs->peer, pp_tstream_name(gs->st), e);
	gw_sentinel_note(gs->peer, SENTINEL_EV_ALERT, NULL); /* a ban closes the session later */
	gw_alert_end_flow(gw, gs, true);
	pp_tstream_abort(gs->st, "IDS alert");
}
