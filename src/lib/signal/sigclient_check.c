/* SPDX-License-Identifier: Apache-2.0 */
/* Signaling client: the liveness check (pp_sigclient_check()). A caller
 * whose network path was just lost cannot wait for the keepalive's
 * verdict (three silent intervals, 30 s by default) before it trusts the
 * connection with an ICE restart offer: the check pings every second
 * and gives a silent connection up after a few seconds instead. */
#include "sigclient_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/source.h"

static void pp_sigclient_keepalive_every(struct pp_sigclient *c, guint seconds)
{
	if (c->ws)
		PP_SIGCLIENT_SOUP(c, soup_websocket_connection_set_keepalive_interval(c->ws, seconds));
}

static gboolean pp_sigclient_on_check_timeout(gpointer data)
{
	struct pp_sigclient *c = data;

	pp_source_fired(&c->check_timer);
	pp_sigclient_enter(c);
	pp_sigclient_retry(c, PP_SIGCLIENT_WHY_TIMEOUT, "no answer to a liveness check", false);
	pp_sigclient_exit(c);
	return G_SOURCE_REMOVE;
}

int pp_sigclient_check(struct pp_sigclient *c, uint32_t timeout_ms)
{
	if (c->dead || c->left || c->state != PP_SIGCLIENT_JOINED || !c->ws)
		return PP_ERR_STATE;
	if (c->check_timer)
		return 0;
	pp_info("sigclient: checking that the server still answers (%u ms)",
	        timeout_ms ? timeout_ms : PP_SIGCLIENT_CHECK_MS);
	c->check_timer = pp_sigclient_timer(c, timeout_ms ? timeout_ms : PP_SIGCLIENT_CHECK_MS,
	                                    pp_sigclient_on_check_timeout);
	pp_sigclient_keepalive_every(c, 1);
	return 0;
}

bool pp_sigclient_heard_within(const struct pp_sigclient *c, uint32_t ms)
{
	return !c->dead && !c->left && c->state == PP_SIGCLIENT_JOINED && c->ws &&
	       g_get_monotonic_time() - c->last_rx_us <= (gint64)ms * 1000;
}

void pp_sigclient_check_clear(struct pp_sigclient *c)
{
	pp_source_clear(&c->check_timer);
}

void pp_sigclient_check_heard(struct pp_sigclient *c)
{
	if (!c->check_timer)
		return;
	pp_source_clear(&c->check_timer);
	pp_sigclient_keepalive_every(c, pp_sigclient_keepalive_s(c));
	pp_info("sigclient: the server answered the check");
	if (c->cbs.on_checked)
		c->cbs.on_checked(c->user);
}
