/* SPDX-License-Identifier: Apache-2.0 */
/* IDS/IPS alerts to streams (tunnel.md §6): Suricata sees the gateway's
 * own connection to the service, so the initiator of an alert's flow
 * (EVE flow.src_ip/src_port) is the local address of one stream's
 * service socket. That stream gets ALERT on its peer's control channel,
 * then is reset (channel and service socket); the audit log records it. */
#include "audit.h"
#include "gateway.h"

#include "peerpipe/log.h"
#include "peerpipe/tunnel/ctrl.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* "ip port" in inet_ntop form, as EVE's endpoint text. */
static void gw_alert_key(char *out, size_t cap, const char *ip, uint16_t port)
{
	g_snprintf(out, cap, "%s %u", ip, port);
}

/* The service socket's local address, the key alerts are matched with. */
void gw_alert_track(struct gw *gw, struct gw_stream *gs, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "";
	uint16_t port = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)&ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
	} else {
		return;
	}
	gw_alert_key(gs->flow_key, sizeof(gs->flow_key), ip, port);
	g_hash_table_replace(gw->flows, gs->flow_key, gs);
}

void gw_alert_untrack(struct gw *gw, struct gw_stream *gs)
{
	if (gs->flow_key[0] && g_hash_table_lookup(gw->flows, gs->flow_key) == gs)
		g_hash_table_remove(gw->flows, gs->flow_key);
	gs->flow_key[0] = '\0';
}

static void gw_alert_audit(const struct pp_eve *e, const struct gw_stream *gs, const char *action)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "signature_id",
	                      (json_int_t)e->alert.signature_id, "signature", e->alert.signature,
	                      "ids_action", pp_eve_action_name(e->alert.action), "action", action);
	if (gs) {
		json_object_set_new(o, "peer", json_string(gs->peer->identity->name));
		json_object_set_new(o, "fingerprint", json_string(gs->peer->identity->fp_text));
		json_object_set_new(o, "service", json_string(gs->service));
		json_object_set_new(o, "stream", json_string(pp_tstream_name(gs->st)));
	}
	gw_audit("alert", o);
}

void gw_alert(struct gw *gw, const struct pp_eve *e)
{
	const struct pp_eve_endpoint *client = NULL, *server = NULL;
	char key[PP_EVE_IP_MAX + 8];
	struct gw_stream *gs = NULL;
	char *msg;

	if ((e->type != PP_EVE_ALERT && e->type != PP_EVE_DROP) ||
	    e->alert.action == PP_EVE_ACTION_NONE)
		return;
	if (pp_eve_initiator(e, &client, &server) && client->has_ip && client->has_port) {
		gw_alert_key(key, sizeof(key), client->ip, client->port);
		gs = g_hash_table_lookup(gw->flows, key);
	}
	if (!gs) {
		pp_log(PP_LOG_WARN, NULL, "IDS alert %u (%s) on a flow that is no stream of ours "
		       "(%s:%u -> %s:%u)", e->alert.signature_id, e->alert.signature,
		       client ? client->ip : "?", client ? client->port : 0, server ? server->ip : "?",
		       server ? server->port : 0);
		gw_alert_audit(e, NULL, "none");
		return;
	}
	pp_log(PP_LOG_WARN, gs->peer->identity->name, "stream %s to %s: IDS alert %u (%s): closing it",
	       pp_tstream_name(gs->st), gs->service, e->alert.signature_id, e->alert.signature);
	gw_alert_audit(e, gs, "stream_closed");
	/* ALERT first, so the user learns why before the stream goes. */
	msg = pp_ctrl_build_alert(pp_tstream_name(gs->st), e->alert.signature_id, e->alert.signature,
	                          PP_CTRL_ACTION_STREAM_CLOSED);
	if (msg)
		pp_tsession_send_control(pp_tlink_session(gs->peer->link), msg);
	free(msg);
	gw_alert_untrack(gw, gs);
	pp_tstream_abort(gs->st, "IDS alert");
}
