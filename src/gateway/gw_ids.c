/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's Suricata (ids = ids or ips): started with the gateway,
 * alerts mapped to streams (gw_alert.c), and the policy while it is not
 * ready: fail-closed refuses new streams, fail-open lets them pass and
 * says so.
 *
 * ips: Suricata reads an NFQUEUE that the gateway's own netfilter rules
 * (peerpipe/ids/nfq_rules.h) fill with the connections of sockets carrying
 * SO_MARK = ips_mark, which gw_stream.c sets on every service socket. The
 * rules are installed before Suricata starts and removed after it stopped
 * (normal exit, SIGTERM, a failed start). While nobody reads the queue its
 * packets are dropped (fail-closed) or pass (fail-open, `bypass`), so with
 * fail-closed the live streams would hang: they are ended at once, with
 * "inspection lost". */
#include "gateway.h"

#include "peerpipe/error.h"
#include "peerpipe/ids/nfq_rules.h"
#include "peerpipe/log.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* pp_suricata's grace (5 s) before SIGKILL, and the reaping after it. */
#define GW_IDS_STOP_WAIT_MS 7000

static void gw_ids_lost_stream(struct pp_tstream *st, void *data)
{
	struct gw_stream *gs = pp_tstream_get_data(st);
	const char *why = data;

	if (!gs)
		return; /* refused, already answered */
	pp_log(PP_LOG_WARN, gs->peer->identity->name, "stream %s to %s: inspection lost (%s): "
	       "closing it", pp_tstream_name(st), gs->service, why);
	gw_stream_abort(st, "inspection lost");
}

static void gw_ids_lost_link(struct pp_tlink *l, void *data)
{
	pp_tsession_foreach_stream(pp_tlink_session(l), gw_ids_lost_stream, data);
}

static void gw_ids_state(void *user, enum pp_suricata_state st, const char *reason)
{
	struct gw *gw = user;
	bool ready = st == PP_SURICATA_READY;
	bool ips = gw->ips_mark != 0;

	if (ready != gw->ids_ready)
		pp_log(ready ? PP_LOG_INFO : PP_LOG_ERROR, NULL, "IDS %s (%s): %s",
		       ready ? "ready" : "not inspecting", reason,
		       ready ? "streams are inspected"
		       : gw->ids_fail_open
		           ? (ips ? "fail-open: new streams pass UNINSPECTED, and live ones (the "
		                    "queue lets their packets by)"
		                  : "fail-open: new streams pass UNINSPECTED")
		           : (ips ? "fail-closed: new streams are refused, live ones are closed"
		                  : "fail-closed: new streams are refused"));
	/* ips, fail-closed: nobody reads the queue, the live streams' packets
	 * are dropped from now on; end them rather than leave them hanging. */
	if (gw->ids_ready && !ready && ips && !gw->ids_fail_open && gw->node)
		pp_tnode_foreach_link(gw->node, gw_ids_lost_link, (void *)reason);
	gw->ids_ready = ready;
}

static void gw_ids_alert(void *user, const struct pp_eve *e)
{
	gw_alert(user, e);
}

static const struct pp_suricata_callbacks gw_ids_cb = {
	.on_state = gw_ids_state,
	.on_alert = gw_ids_alert,
};

static struct pp_nfq_rules_config gw_ids_nfq(uint16_t queue, uint32_t mark, bool fail_open)
{
	return (struct pp_nfq_rules_config){ .queue = queue, .mark = mark, .fail_open = fail_open };
}

/* ips: the rules that queue the service connections (a stale set of the
 * same queue, left by a killed gateway, is replaced). */
static int gw_ids_rules_install(struct gw *gw, const struct gw_settings *s)
{
	struct pp_nfq_rules_config nc = gw_ids_nfq((uint16_t)s->ips_queue, (uint32_t)s->ips_mark,
	                                           gw->ids_fail_open);
	enum pp_nfq_backend used = PP_NFQ_NONE;
	char err[768], table[PP_NFQ_NAME_MAX], out[PP_NFQ_NAME_MAX], in[PP_NFQ_NAME_MAX];
	int rc = pp_nfq_rules_install(&nc, &used, err, sizeof(err));

	if (rc < 0) {
		pp_log(PP_LOG_ERROR, NULL, "IPS: cannot install the netfilter rules for NFQUEUE %u "
		       "(needs CAP_NET_ADMIN): %s", nc.queue, err);
		return rc;
	}
	gw->ips_backend = used;
	gw->ips_queue = nc.queue;
	gw->ips_mark = nc.mark;
	pp_nfq_rules_names(nc.queue, table, out, in);
	if (used == PP_NFQ_NFT)
		pp_log(PP_LOG_INFO, NULL, "IPS: service connections (socket mark 0x%08x) go to NFQUEUE "
		       "%u: nft table inet %s", nc.mark, nc.queue, table);
	else
		pp_log(PP_LOG_INFO, NULL, "IPS: service connections (socket mark 0x%08x) go to NFQUEUE "
		       "%u: iptables chains %s and %s (this kernel cannot queue from nftables)",
		       nc.mark, nc.queue, out, in);
	return 0;
}

static void gw_ids_rules_remove(struct gw *gw)
{
	struct pp_nfq_rules_config nc = gw_ids_nfq(gw->ips_queue, gw->ips_mark, gw->ids_fail_open);
	char err[768];

	if (gw->ips_backend == PP_NFQ_NONE)
		return;
	if (pp_nfq_rules_remove(&nc, gw->ips_backend, err, sizeof(err)) < 0)
		pp_log(PP_LOG_ERROR, NULL, "IPS: cannot remove the netfilter rules of NFQUEUE %u: %s "
		       "(harmless: they match no socket but ours; the next start replaces them)",
		       nc.queue, err);
	else
		pp_log(PP_LOG_INFO, NULL, "IPS: netfilter rules of NFQUEUE %u removed (%s)", nc.queue,
		       pp_nfq_backend_name(gw->ips_backend));
	gw->ips_backend = PP_NFQ_NONE;
	gw->ips_mark = 0;
}

int gw_ids_start(struct gw *gw, const struct gw_config *cfg)
{
	const struct gw_settings *s = &cfg->gw;
	bool ips = strcmp(s->ids, "ips") == 0;
	struct pp_suricata_config sc = {
		.mode = ips ? PP_SURICATA_IPS : PP_SURICATA_IDS,
		.interface = ips ? NULL : s->ids_interface,
		.work_dir = s->ids_work_dir,
		.nfq_queue = (uint16_t)s->ips_queue,
		.sidecar = strcmp(s->ids_engine, "sidecar") == 0,
	};
	const char *why = NULL;
	int rc;

	if (!ips && strcmp(s->ids, "ids") != 0)
		return 0;
	gw->ids_on = true;
	gw->ids_fail_open = strcmp(s->ids_policy, "fail-open") == 0;
	sc.nfq_fail_open = gw->ids_fail_open;
	gw->ids_rules = g_strsplit(s->ids_rules, ",", -1);
	for (gchar **p = gw->ids_rules; *p; p++)
		g_strstrip(*p);
	sc.rule_files = (const char *const *)gw->ids_rules;
	gw->recent = gw_alert_recent_new();
	rc = pp_suricata_new(gw->ctx, &sc, &gw_ids_cb, gw, &gw->ids, &why);
	if (rc < 0) {
		pp_log(PP_LOG_ERROR, NULL, "IDS: %s", why ? why : pp_strerror(rc));
		return rc;
	}
	if (ips && (rc = gw_ids_rules_install(gw, s)) < 0)
		return rc; /* gw_free -> gw_ids_stop cleans up */
	rc = pp_suricata_start(gw->ids);
	if (rc < 0)
		pp_log(PP_LOG_ERROR, NULL, "IDS: %s", pp_strerror(rc));
	return rc;
}

/* Whether a new stream may start now (the policy while not inspecting). */
bool gw_ids_admits(const struct gw *gw)
{
	return !gw->ids_on || gw->ids_ready || gw->ids_fail_open;
}

int gw_ids_mark_socket(const struct gw *gw, int fd)
{
	uint32_t mark = gw->ips_mark;

	if (!mark)
		return 0;
	return setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == 0 ? 0 : -errno;
}

static void gw_ids_closed(void *user)
{
	*(bool *)user = true;
}

/* Waits (on the loop, bounded) until Suricata is stopped and reaped and
 * its socket removed, then removes ips mode's netfilter rules: the
 * gateway never exits leaving either behind. Suricata goes first, so that
 * no packet of a live stream passes uninspected meanwhile. */
void gw_ids_stop(struct gw *gw)
{
	bool done = false;
	gint64 end = g_get_monotonic_time() + GW_IDS_STOP_WAIT_MS * 1000;

	if (gw->ids) {
		pp_suricata_close(gw->ids, gw_ids_closed, &done);
		while (!done && g_get_monotonic_time() < end)
			g_main_context_iteration(gw->ctx, TRUE);
		if (!done)
			pp_log(PP_LOG_WARN, NULL, "IDS: Suricata did not stop in %d ms", GW_IDS_STOP_WAIT_MS);
	}
	gw->ids = NULL;
	gw_ids_rules_remove(gw);
	g_strfreev(gw->ids_rules);
	gw->ids_rules = NULL;
	gw_alert_recent_free(gw->recent);
	gw->recent = NULL;
}
