/* SPDX-License-Identifier: Apache-2.0 */
/* Sentinel in the gateway (tunnel.md §6, docs/gateway.md "Sentinel"):
 * gw_stream.c and gw_alert.c report what each peer does; a peer whose
 * counts reach a limit is banned (bans.h, saved at once), told so with
 * ALERT peer_banned, sent BYE and disconnected. Banned fingerprints get no
 * offer (gw_want_peer), are left out of the pins a new session checks the
 * DTLS certificate against, and a session that still gets READY with one
 * is closed (gw_on_ready): three layers for one rule.
 *
 * With sentinel = false nothing is counted and no ban is added, but the
 * bans already in bans_file are enforced all the same. */
#include "audit.h"
#include "bans.h"
#include "gateway.h"
#include "sentinel.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/source.h"
#include "peerpipe/tunnel/ctrl.h"

#include <stdlib.h>
#include <string.h>

/* ALERT peer_banned carries no IDS signature: signature_id 0, and the
 * signature text names the counter ("Sentinel: 10 denied streams in 60 s"). */
#define GW_SENTINEL_SIGNATURE_ID 0

static int64_t gw_wall_now(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

static void gw_sentinel_limits(const struct gw_config *cfg, struct sentinel_limits *l)
{
	const struct gw_settings *s = &cfg->gw;

	l->window_ms = s->sentinel_window_ms;
	l->denied = (uint32_t)s->sentinel_denied;
	l->services = (uint32_t)s->sentinel_services;
	l->failed = (uint32_t)s->sentinel_failed;
	l->alerts = (uint32_t)s->sentinel_alerts;
}

static size_t gw_sentinel_active(const struct bans *b)
{
	int64_t now = gw_wall_now();
	size_t n = 0;

	for (size_t i = 0; i < bans_count(b); i++)
		n += bans_at(b, i)->until > now;
	return n;
}

int gw_sentinel_start(struct gw *gw, const struct gw_config *cfg)
{
	struct sentinel_limits lim;
	char err[512];
	int rc;

	gw_sentinel_limits(cfg, &lim);
	gw->sentinel = sentinel_new(&lim, GW_IDENTITIES_MAX);
	if (!gw->sentinel) {
		pp_log(PP_LOG_ERROR, NULL, "sentinel: bad limits");
		return PP_ERR_CONFIG;
	}
	/* A corrupt store is not an empty one: starting without the bans it
	 * held would let banned peers back in unnoticed. */
	rc = bans_open(cfg->gw.bans_file, &gw->bans, err, sizeof(err));
	if (rc < 0) {
		pp_log(PP_LOG_ERROR, NULL, "bans file unreadable, refusing to start (bans must not be "
		       "forgotten): %s. Fix the file, or run `peerpipe-gateway --config %s bans lift "
		       "--all` to set it aside and start with no bans", err, cfg->path);
		return rc;
	}
	pp_log(PP_LOG_INFO, NULL, "sentinel %s; %zu active bans in %s",
	       cfg->gw.sentinel ? "on" : "off (existing bans are enforced, none are added)",
	       gw_sentinel_active(gw->bans), cfg->gw.bans_file);
	return 0;
}

void gw_sentinel_reload(struct gw *gw, const struct gw_config *oldc, const struct gw_config *newc)
{
	struct sentinel_limits lim;

	gw_sentinel_limits(newc, &lim);
	if (gw->sentinel)
		sentinel_set_limits(gw->sentinel, &lim);
	if (strcmp(oldc->gw.bans_file, newc->gw.bans_file) != 0)
		pp_log(PP_LOG_WARN, NULL, "bans_file changed: still using %s until a restart",
		       gw->bans ? bans_path(gw->bans) : oldc->gw.bans_file);
}

void gw_sentinel_stop(struct gw *gw)
{
	pp_source_clear(&gw->ban_idle);
	sentinel_free(gw->sentinel);
	gw->sentinel = NULL;
	bans_free(gw->bans);
	gw->bans = NULL;
	g_free(gw->pins_ok);
	gw->pins_ok = NULL;
}

/* --- checks ------------------------------------------------------------------------- */

const struct ban *gw_sentinel_banned(struct gw *gw, const struct pp_fingerprint *fp)
{
	char err[512];
	int rc;

	if (!gw->bans)
		return NULL;
	/* A stat per check: an operator's `bans lift` counts at once. */
	rc = bans_refresh(gw->bans, err, sizeof(err));
	if (rc < 0)
		pp_log(PP_LOG_ERROR, NULL, "bans file changed but is unreadable, keeping the %zu bans "
		       "in memory: %s", bans_count(gw->bans), err);
	else if (rc > 0)
		pp_log(PP_LOG_INFO, NULL, "bans file re-read: %zu active bans",
		       gw_sentinel_active(gw->bans));
	return bans_find(gw->bans, fp, gw_wall_now());
}

const struct pp_fingerprint *gw_sentinel_pins(struct gw *gw, size_t *n)
{
	size_t all = 0, k = 0;
	const struct pp_fingerprint *pins = gw_config_pins(gw->cfg, &all);

	gw->pins_ok = g_renew(struct pp_fingerprint, gw->pins_ok, all ? all : 1);
	for (size_t i = 0; i < all; i++)
		if (!gw->bans || !bans_find(gw->bans, &pins[i], gw_wall_now()))
			gw->pins_ok[k++] = pins[i];
	*n = k;
	return gw->pins_ok;
}

/* --- bans --------------------------------------------------------------------------- */

/* ALERT peer_banned, every stream reset (the orderly close that follows
 * would go on writing what the peer sends to the services for its grace
 * time), then BYE and the close (both messages leave on the ordered
 * control channel before the association ends). */
void gw_sentinel_kick(struct pp_tsession *s, const struct ban *b)
{
	char until[BANS_TIME_TEXT_MAX], bye[PP_CTRL_REASON_MAX];
	char *msg = pp_ctrl_build_alert("", GW_SENTINEL_SIGNATURE_ID, b->reason,
	                                PP_CTRL_ACTION_PEER_BANNED);

	if (msg)
		pp_tsession_send_control(s, msg);
	free(msg);
	gw_session_abort_streams(s, "peer banned");
	bans_time_format(b->until, until);
	g_snprintf(bye, sizeof(bye), "banned until %s: %s", until, b->reason);
	pp_tsession_close(s, bye);
}

static void gw_sentinel_kick_link(struct pp_tlink *l, void *data)
{
	struct gw *gw = data;
	struct gw_peer *p = pp_tlink_get_data(l);
	const struct ban *b;

	if (!p || p->kicked || !p->identity)
		return;
	b = bans_find(gw->bans, &p->identity->fp, gw_wall_now());
	if (!b)
		return;
	p->kicked = true;
	pp_log(PP_LOG_WARN, p->identity->name, "closing the session of banned peer %s",
	       p->identity->name);
	gw_sentinel_kick(pp_tlink_session(l), b);
}

/* From an idle: the ban was decided inside a stream callback, where the
 * session must not go away under the caller. */
static gboolean gw_sentinel_enforce(gpointer data)
{
	struct gw *gw = data;

	g_source_unref(gw->ban_idle);
	gw->ban_idle = NULL;
	if (gw->bans && gw->node)
		pp_tnode_foreach_link(gw->node, gw_sentinel_kick_link, gw);
	return G_SOURCE_REMOVE;
}

static void gw_sentinel_ban(struct gw_peer *p, enum sentinel_counter c, uint32_t count)
{
	struct gw *gw = p->gw;
	const struct gw_identity *id = p->identity;
	const struct gw_settings *s = &gw->cfg->gw;
	int64_t now = gw_wall_now();
	int64_t until = now + (s->ban_time_ms + 999) / 1000;
	char reason[128], until_text[BANS_TIME_TEXT_MAX], err[512];
	struct ban b;

	sentinel_describe(c, count, s->sentinel_window_ms, reason, sizeof(reason));
	if (bans_entry_set(&b, &id->fp, id->name, reason, now, until) < 0)
		return; /* not a pinnable identity: cannot happen for a configured one */
	if (bans_add(gw->bans, &b, now, err, sizeof(err)) < 0)
		pp_log(PP_LOG_ERROR, id->name, "bans file: %s: the ban of %s is not saved, it holds "
		       "until the gateway restarts", err, id->name);
	bans_time_format(until, until_text);
	pp_log(PP_LOG_WARN, id->name, "peer banned until %s: identity %s (%s): %s", until_text,
	       id->name, id->fp_text, reason);
	gw_audit("peer_banned", json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "peer", id->name,
	                                  "fingerprint", id->fp_text, "reason", reason, "counter",
	                                  sentinel_counter_name(c), "until", until_text, "ban_s",
	                                  (json_int_t)(until - now)));
	p->banned = true;
	if (!gw->ban_idle) {
		gw->ban_idle = g_idle_source_new();
		g_source_set_callback(gw->ban_idle, gw_sentinel_enforce, gw, NULL);
		g_source_attach(gw->ban_idle, gw->ctx);
	}
}

void gw_sentinel_note(struct gw_peer *p, enum sentinel_event ev, const char *service)
{
	struct gw *gw = p->gw;
	enum sentinel_counter c;
	uint32_t count = 0;

	if (!gw->cfg->gw.sentinel || !gw->sentinel || !gw->bans || !p->identity || p->banned)
		return;
	c = sentinel_note(gw->sentinel, p->identity->name, ev, service,
	                  g_get_monotonic_time() / 1000, &count);
	if (c == SENTINEL_NONE)
		return;
	sentinel_forget(gw->sentinel, p->identity->name); /* the ban takes over */
	gw_sentinel_ban(p, c, count);
}
