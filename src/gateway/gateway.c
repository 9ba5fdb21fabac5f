/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's node: which peers it talks to, what it tells them, and
 * reloads. Streams are in gw_stream.c. */
#include "acl.h"
#include "audit.h"
#include "bans.h"
#include "fd_limit.h"
#include "gateway.h"
#include "host_ports.h"
#include "mem_bound.h"
#include "mem_limit.h"
#include "resolve.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/tunnel/ctrl.h"
#include "peerpipe/tunnel/frame.h"

#include <stdlib.h>
#include <string.h>

static struct gw_peer *gw_peer_of(struct pp_tlink *l)
{
	return pp_tlink_get_data(l);
}

/* Records where p's datagrams come from now (the selected pair's remote). */
static void gw_peer_address(struct gw_peer *p)
{
	struct pp_peer *pc = pp_tsession_peer(pp_tlink_session(p->link));

	if (pp_peer_remote_address(pc, p->address, &p->address_type) < 0) {
		g_strlcpy(p->address, "unknown", sizeof(p->address));
		p->address_type = "none";
	}
}

/* A refused peer retries (its client backs off to 30 s, a hostile one
 * may not): each fingerprint's refusals are logged and audited up to
 * GW_REFUSAL_BURST times a minute, then counted until the minute is over.
 * The table is bounded; when full it starts over (a flood of distinct
 * fingerprints gets logged, never held). */
#define GW_REFUSAL_BURST 5
#define GW_REFUSALS_MAX 4096

/* Whether this refusal is to be logged now; *quiet: how many were not. */
static bool gw_refusal_log(struct gw *gw, const char *fp_text, unsigned *quiet)
{
	struct gw_log_budget *r;

	if (!gw->refusals)
		gw->refusals = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	r = g_hash_table_lookup(gw->refusals, fp_text);
	if (!r) {
		if (g_hash_table_size(gw->refusals) >= GW_REFUSALS_MAX)
			g_hash_table_remove_all(gw->refusals);
		r = g_new0(struct gw_log_budget, 1);
		g_hash_table_insert(gw->refusals, g_strdup(fp_text), r);
	}
	return gw_log_budget_take(r, g_get_monotonic_time(), GW_REFUSAL_BURST, quiet);
}

static const char *gw_refusal_note(unsigned quiet)
{
	static char buf[GW_LOG_BUDGET_NOTE_MAX];

	return gw_log_budget_note(quiet, "refusals", buf, sizeof(buf));
}

static const char *gw_turned_away_note(unsigned quiet)
{
	static char buf[GW_LOG_BUDGET_NOTE_MAX];

	return gw_log_budget_note(quiet, "refused streams", buf, sizeof(buf));
}

/* "peer refused: banned until ..." in the log and the audit log. */
static void gw_refuse_banned(struct gw *gw, const char *who, const struct ban *b)
{
	char until[BANS_TIME_TEXT_MAX];
	unsigned quiet = 0;

	if (!gw_refusal_log(gw, b->fp_text, &quiet))
		return;
	bans_time_format(b->until, until);
	pp_log(PP_LOG_WARN, who, "peer refused: banned until %s: identity %s (%s): %s%s", until,
	       b->identity, b->fp_text, b->reason, gw_refusal_note(quiet));
	gw_audit("peer_refused", json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "peer", who,
	                                   "fingerprint", b->fp_text, "identity", b->identity,
	                                   "reason", "banned", "until", until, "not_logged",
	                                   (int)quiet));
}

/* Desktops only, and only those whose declared fingerprint we know and
 * have not banned (the DTLS check against the pins is what decides, and
 * the pins leave banned identities out; skipping the others early spares
 * a handshake with strangers). */
static bool gw_want_peer(void *user, const struct pp_sigclient_peer *peer,
                         const struct pp_fingerprint **pins, size_t *n_pins)
{
	struct gw *gw = user;
	struct pp_fingerprint fp;
	const struct ban *b;

	if (peer->role != PP_ROLE_DESKTOP)
		return false;
	if (!peer->fingerprint[0] || pp_fingerprint_parse(peer->fingerprint, strlen(peer->fingerprint), &fp) < 0 ||
	    !gw_config_identity_by_fp(gw->cfg, &fp)) {
		unsigned quiet = 0;
		if (gw_refusal_log(gw, peer->fingerprint, &quiet))
			pp_log(PP_LOG_WARN, peer->name, "peer refused: fingerprint %s is not a known "
			       "identity%s", peer->fingerprint[0] ? peer->fingerprint : "(none)",
			       gw_refusal_note(quiet));
		return false;
	}
	if ((b = gw_sentinel_banned(gw, &fp))) {
		gw_refuse_banned(gw, peer->name, b);
		return false;
	}
	*pins = gw_sentinel_pins(gw, n_pins);
	return true;
}

static void gw_on_ready(void *user, struct pp_tlink *l)
{
	struct gw *gw = user;
	struct pp_tsession *s = pp_tlink_session(l);
	const struct gw_identity *id = gw_config_identity_by_fp(gw->cfg, pp_tsession_remote_fingerprint(s));
	struct gw_peer *p;
	const struct ban *b;

	if (!id) { /* revoked between the handshake and now */
		pp_tsession_close(s, "identity not allowed");
		return;
	}
	if ((b = gw_sentinel_banned(gw, &id->fp))) { /* banned since the handshake began */
		gw_refuse_banned(gw, id->name, b);
		gw_sentinel_kick(s, b);
		return;
	}
	p = g_new0(struct gw_peer, 1);
	p->gw = gw;
	p->link = l;
	p->cfg = gw_config_ref(gw->cfg);
	p->identity = id;
	p->since_us = g_get_monotonic_time();
	pp_tlink_set_data(l, p);
	gw_peer_address(p);
	pp_log(PP_LOG_INFO, id->name, "peer connected: identity %s (%s), agent %s, from %s (%s)",
	       id->name, id->fp_text, pp_tsession_remote_agent(s), p->address, p->address_type);
	gw_audit("peer_connected",
	         json_pack("{s:s, s:s, s:s, s:s, s:s}", "peer", id->name, "fingerprint", id->fp_text,
	                   "agent", pp_tsession_remote_agent(s), "address", p->address,
	                   "address_type", p->address_type));
	gw_peer_send_services(p);
}

/* A peer's path came back after an ICE restart, maybe from elsewhere (a
 * network change): the session went on, from the address recorded. */
static void gw_on_path(void *user, struct pp_tlink *l, bool up, const char *reason)
{
	struct gw_peer *p = gw_peer_of(l);
	char was[sizeof(p->address)];

	if (!p || !up)
		return; /* the session logs the loss itself */
	g_strlcpy(was, p->address, sizeof(was));
	gw_peer_address(p);
	pp_log(PP_LOG_INFO, p->identity->name, "peer's path back (%s): from %s (%s)%s%s", reason,
	       p->address, p->address_type, strcmp(was, p->address) != 0 ? ", was " : "",
	       strcmp(was, p->address) != 0 ? was : "");
	gw_audit("peer_path_back",
	         json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "peer", p->identity->name, "fingerprint",
	                   p->identity->fp_text, "address", p->address, "address_type",
	                   p->address_type, "previous_address", was, "reason", reason));
}

static void gw_on_control(void *user, struct pp_tlink *l, const struct pp_ctrl_msg *m)
{
	struct gw_peer *p = gw_peer_of(l);
	const char *who = p ? p->identity->name : pp_tlink_peer(l)->name;

	if (m->type == PP_CTRL_BYE)
		pp_log(PP_LOG_INFO, who, "peer says BYE: %s", m->reason ? m->reason : "");
	else
		pp_log(PP_LOG_DEBUG, who, "control message %s ignored", pp_ctrl_type_name(m->type));
}

static void gw_on_stream_request(void *user, struct pp_tlink *l, struct pp_sctp_channel *ch)
{
	struct gw_peer *p = gw_peer_of(l);

	if (!p || ((struct gw *)user)->stopping) {
		pp_sctp_channel_close(ch);
		return;
	}
	gw_stream_request(p, ch);
}

static void gw_on_stream_closed(void *user, struct pp_tlink *l, struct pp_tstream *st,
                                const char *reason)
{
	struct gw_peer *p = gw_peer_of(l);

	if (p)
		gw_stream_closed(p, st, reason);
}

static void gw_on_link_closed(void *user, struct pp_tlink *l, const char *reason)
{
	struct gw_peer *p = gw_peer_of(l);

	if (!p) {
		pp_log(PP_LOG_INFO, pp_tlink_peer(l)->name, "session ended before it was ready: %s",
		       reason);
		return;
	}
	pp_log(PP_LOG_INFO, p->identity->name, "peer disconnected after %" PRId64 " s: %s%s",
	       (g_get_monotonic_time() - p->since_us) / G_USEC_PER_SEC, reason,
	       gw_turned_away_note(p->turned_away.quiet));
	gw_audit("peer_disconnected",
	         json_pack("{s:s, s:s, s:I, s:s, s:i}", "peer", p->identity->name, "fingerprint",
	                   p->identity->fp_text, "duration_s",
	                   (json_int_t)((g_get_monotonic_time() - p->since_us) / G_USEC_PER_SEC),
	                   "reason", reason, "streams_not_logged", (int)p->turned_away.quiet));
	gw_config_free(p->cfg);
	g_free(p);
	pp_tlink_set_data(l, NULL);
}

static void gw_on_signal_state(void *user, enum pp_sigclient_state st, enum pp_sigclient_why why,
                               const char *detail)
{
	pp_log(st == PP_SIGCLIENT_FATAL ? PP_LOG_ERROR : PP_LOG_INFO, NULL, "signaling: %s (%s%s%s)",
	       pp_sigclient_state_name(st), pp_sigclient_why_name(why), detail ? ": " : "",
	       detail ? detail : "");
}

static const struct pp_tnode_callbacks gw_node_cb = {
	.want_peer = gw_want_peer,
	.on_signal_state = gw_on_signal_state,
	.on_ready = gw_on_ready,
	.on_control = gw_on_control,
	.on_stream_request = gw_on_stream_request,
	.on_stream_closed = gw_on_stream_closed,
	.on_link_closed = gw_on_link_closed,
	.on_path = gw_on_path,
};

static int gw_frame_policy(enum gw_compression c)
{
	switch (c) {
	case GW_COMPRESSION_OFF: return PP_FRAME_POLICY_OFF;
	case GW_COMPRESSION_LZ4: return PP_FRAME_POLICY_LZ4;
	case GW_COMPRESSION_ZSTD: return PP_FRAME_POLICY_ZSTD_STREAM;
	default: return PP_FRAME_POLICY_AUTO;
	}
}

int gw_start(struct gw *gw, struct gw_config *cfg, struct pp_identity *id)
{
	const struct gw_settings *s = &cfg->gw;
	struct pp_tnode_config nc = {
		.sig = {
			.url = s->signal_url,
			.token = cfg->token,
			.room = s->room,
			.fingerprint = pp_identity_fingerprint_str(id),
			.ca_file = s->ca_file,
			.allow_insecure_ws = s->insecure_ws,
		},
		.session = {
			.peer = {
				.identity = id,
				.local_addresses = (const char *const *)cfg->ice_addresses,
				.n_local_addresses = cfg->n_ice_addresses,
				.sctp_buffer = (uint32_t)s->peer_buffer,
			},
			.is_gateway = true,
			.max_datagram = (uint32_t)s->max_datagram,
			.our_formats = PP_FRAME_FMT_ALL,
			.compression = gw_frame_policy(cfg->compression),
			.stream = {
				.high_mark = (size_t)s->stream_buffer,
				.early_max = (size_t)s->pending_limit,
			},
			/* its streams together, each way, as much as SCTP holds */
			.streams_memory = (size_t)s->peer_buffer,
		},
		.max_links = (unsigned)s->max_peers,
	};
	char mem[GW_MEM_LINE_MAX], *over;
	int rc;

	gw_fd_limit_check(s->max_peers, s->max_streams_per_peer); /* before any fd is taken */
	pp_frame_zstd_set_decoder_memory(gw_mem_zstd_decoders(s->max_peers));
	over = gw_mem_check(s, mem, sizeof(mem));
	pp_log(PP_LOG_INFO, NULL, "memory: %s", mem);
	if (over)
		pp_log(PP_LOG_WARN, NULL, "memory: %s", over);
	g_free(over);
	gw->cfg = cfg;
	gw->start_cfg = gw_config_ref(cfg); /* the node keeps pointers into it */
	gw->flows = g_hash_table_new(g_str_hash, g_str_equal);
	gw->resolver = gw_resolver_new();
	if (gw_sentinel_start(gw, cfg) < 0)
		return PP_ERR_CONFIG;
	if (gw_ids_start(gw, cfg) < 0)
		return PP_ERR_CONFIG;
	gw->identity = id;
	if ((rc = gw_audit_open(s->audit_log)) < 0) {
		pp_log(PP_LOG_ERROR, NULL, "audit log %s: cannot open: %s", s->audit_log, pp_strerror(rc));
		return PP_ERR_CONFIG;
	}
	if (!s->room || !s->room[0]) {
		if (pp_jwt_peek_room(cfg->token, gw->room, sizeof(gw->room)) < 0) {
			pp_log(PP_LOG_ERROR, NULL, "no room configured and the token names none");
			return PP_ERR_CONFIG;
		}
		nc.sig.room = gw->room;
	}
	g_snprintf(gw->agent, sizeof(gw->agent), "peerpipe-gateway/%s", PEERPIPE_VERSION);
	nc.session.agent = gw->agent;
	if (cfg->compression == GW_COMPRESSION_OFF)
		nc.session.our_formats = 0; /* peers send raw to us too */
	/* Signaling is the gateway's only TLS peer (services are plain TCP):
	 * its CA alone is trusted, and the system store is never parsed. */
	if (s->ca_file && pp_sigclient_trust_default(s->ca_file) < 0)
		return PP_ERR_CONFIG;
	gw_host_check_ports();
	gw->node = pp_tnode_new(gw->ctx, &nc, &gw_node_cb, gw);
	return gw->node ? 0 : PP_ERR_CONFIG;
}

unsigned gw_stop(struct gw *gw)
{
	gw->stopping = true;
	return pp_tnode_shutdown(gw->node, "gateway shutting down");
}

void gw_free(struct gw *gw)
{
	gw_ids_stop(gw);
	pp_tnode_free(gw->node);
	gw->node = NULL;
	gw_resolver_free(gw->resolver); /* drops lookups of streams freed unclosed */
	gw->resolver = NULL;
	gw_sentinel_stop(gw);
	if (gw->flows)
		g_hash_table_destroy(gw->flows);
	gw->flows = NULL;
	if (gw->refusals)
		g_hash_table_destroy(gw->refusals);
	gw->refusals = NULL;
	gw_config_free(gw->cfg);
	gw->cfg = NULL;
	gw_config_free(gw->start_cfg);
	gw->start_cfg = NULL;
	gw_audit_close();
}

/* --- reload ------------------------------------------------------------------------- */

static void gw_close_forbidden(struct pp_tstream *st, void *data)
{
	struct gw_stream *gs = pp_tstream_get_data(st);
	struct gw_peer *p = data;
	const struct gw_service *svc;

	if (!gs)
		return;
	svc = gw_config_service_by_name(p->gw->cfg, gs->service);
	if (!svc || !gw_acl_allows(p->gw->cfg, p->identity, svc))
		gw_stream_abort(st, "access revoked");
}

static void gw_reload_peer(struct pp_tlink *l, void *data)
{
	struct gw_peer *p = gw_peer_of(l);
	struct gw_config *oldc = data;
	const struct gw_identity *nid;
	bool changed;

	if (!p)
		return;
	nid = gw_acl_identity_in(p->gw->cfg, p->identity);
	if (!nid) {
		pp_log(PP_LOG_WARN, p->identity->name, "identity revoked by reload: disconnecting");
		gw_session_abort_streams(pp_tlink_session(l), "identity revoked");
		pp_tsession_close(pp_tlink_session(l), "identity revoked");
		return;
	}
	changed = gw_acl_services_changed(oldc, p->identity, p->gw->cfg, nid);
	gw_config_free(p->cfg);
	p->cfg = gw_config_ref(p->gw->cfg);
	p->identity = nid;
	if (changed)
		gw_peer_send_services(p);
	pp_tsession_foreach_stream(pp_tlink_session(l), gw_close_forbidden, p);
}

/* What a reload cannot apply is said, one line per setting, rather than
 * kept silently: the running value stays until a restart. */
static void gw_reload_warn_restart(const struct gw_config *oldc, const struct gw_config *newc)
{
	const char *names[GW_RESTART_KEYS_MAX];
	size_t n = gw_config_restart_changes(oldc, newc, names, G_N_ELEMENTS(names));

	for (size_t i = 0; i < n && i < G_N_ELEMENTS(names); i++)
		pp_log(PP_LOG_WARN, NULL, "reload: %s changed in the file but needs a restart: the "
		       "running value stays until then", names[i]);
}

void gw_reload(struct gw *gw, struct gw_config *newc)
{
	struct gw_config *oldc = gw->cfg;
	int rc;

	gw_reload_warn_restart(oldc, newc);
	gw->cfg = newc;
	if (gw->log_level_cli < 0)
		pp_log_set_level(newc->log_level);
	else if ((int)newc->log_level != gw->log_level_cli)
		pp_log(PP_LOG_INFO, NULL, "reload: log_level changed in the file; --log-level given at "
		       "start stays in force");
	if ((rc = gw_audit_open(newc->gw.audit_log)) < 0)
		pp_log(PP_LOG_ERROR, NULL, "audit log %s: cannot open: %s", newc->gw.audit_log,
		       pp_strerror(rc));
	gw_sentinel_reload(gw, oldc, newc);
	pp_tnode_foreach_link(gw->node, gw_reload_peer, oldc);
	pp_log(PP_LOG_INFO, NULL, "configuration reloaded: %zu services, %zu identities",
	       newc->n_services, newc->n_identities);
	gw_config_free(oldc);
}
