/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's Suricata (ids = ids): started with the gateway, alerts
 * mapped to streams (gw_alert.c), and the policy while it is not ready:
 * fail-closed refuses new streams, fail-open lets them pass and says so. */
#include "gateway.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <string.h>

/* pp_suricata's grace (5 s) before SIGKILL, and the reaping after it. */
#define GW_IDS_STOP_WAIT_MS 7000

static void gw_ids_state(void *user, enum pp_suricata_state st, const char *reason)
{
	struct gw *gw = user;
	bool ready = st == PP_SURICATA_READY;

	if (ready != gw->ids_ready)
		pp_log(ready ? PP_LOG_INFO : PP_LOG_ERROR, NULL, "IDS %s (%s): %s",
		       ready ? "ready" : "not inspecting", reason,
		       ready ? "streams are inspected"
		       : gw->ids_fail_open ? "fail-open: new streams pass UNINSPECTED"
		                           : "fail-closed: new streams are refused");
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

int gw_ids_start(struct gw *gw, const struct gw_config *cfg)
{
	const struct gw_settings *s = &cfg->gw;
	struct pp_suricata_config sc = {
		.mode = PP_SURICATA_IDS,
		.interface = s->ids_interface,
		.work_dir = s->ids_work_dir,
	};
	const char *why = NULL;
	int rc;

	if (strcmp(s->ids, "ids") != 0)
		return 0;
	gw->ids_on = true;
	gw->ids_fail_open = strcmp(s->ids_policy, "fail-open") == 0;
	gw->ids_rules = g_strsplit(s->ids_rules, ",", -1);
	for (gchar **p = gw->ids_rules; *p; p++)
		g_strstrip(*p);
	sc.rule_files = (const char *const *)gw->ids_rules;
	rc = pp_suricata_new(gw->ctx, &sc, &gw_ids_cb, gw, &gw->ids, &why);
	if (rc == 0)
		rc = pp_suricata_start(gw->ids);
	if (rc < 0)
		pp_log(PP_LOG_ERROR, NULL, "IDS: %s", why ? why : pp_strerror(rc));
	return rc;
}

/* Whether a new stream may start now (the policy while not inspecting). */
bool gw_ids_admits(const struct gw *gw)
{
	return !gw->ids_on || gw->ids_ready || gw->ids_fail_open;
}

static void gw_ids_closed(void *user)
{
	*(bool *)user = true;
}

/* Waits (on the loop, bounded) until Suricata is stopped and reaped and
 * its socket removed: the gateway never exits leaving it behind. */
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
	g_strfreev(gw->ids_rules);
	gw->ids_rules = NULL;
}
