/* SPDX-License-Identifier: Apache-2.0 */
/* ICE agent on libnice: one stream, one component, RFC 5245/8445 mode
 * (NICE_COMPATIBILITY_RFC5245), full trickle, RFC 7675 consent freshness.
 * Setup speed: connectivity checks are paced at Ta = 5 ms (RFC 8445 §14.2's
 * floor; libnice's default of 20 ms made setup 68 ms on loopback) and the
 * controlling agent nominates aggressively (USE-CANDIDATE on its checks, as
 * RFC 5245 allows; saves a round of checks): 7.5 ms median setup on
 * loopback, measured by bench/rtc-bench.
 *
 * This file: life cycle, local side and data. ice_events.c: callbacks to
 * the user; ice_remote.c: the remote side; ice_cand.c: candidate lines;
 * ice_servers.c: STUN/TURN urls; ice_mdns*.c: .local names.
 *
 * Dead peer detection (libnice 0.1.21, measured by test_ice /ice/dead-peer
 * and tests/net): with consent freshness on, libnice sends a consent
 * binding request on the selected pair every 4-6 s (5 s randomised, RFC
 * 7675 §5.1) and fails the component when no response has come for 10 s
 * (a constant in libnice, shorter than RFC 7675's 30 s; no property
 * changes it). We report that as PP_ICE_FAILED: a peer that vanishes, or
 * closes its sockets (ICMP errors are ignored), is reported 10.0-10.2 s
 * after its last answer. The STUN retransmission knobs below only shape
 * connectivity checks and gathering; they do not move this. An upper
 * layer that needs faster detection must use its own traffic (e.g. SCTP
 * heartbeats). */
#include "ice_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <string.h>

#define PP_ICE_DNS_TIMEOUT_MS 5000
#define PP_ICE_MDNS_TIMEOUT_MS 2000
/* STUN retransmission timer of connectivity checks and TURN/STUN requests:
 * first RTO and the number of retransmissions (libnice's defaults, stated
 * here on purpose; they do not affect the consent timeout). */
#define PP_ICE_STUN_RTO_MS 500
#define PP_ICE_STUN_RETRANS 3
#define PP_ICE_PACING_MS 5 /* Ta; RFC 8445 §14.2: not below 5 ms */

static const char *const pp_ice_state_names[] = {
	[PP_ICE_NEW] = "new",
	[PP_ICE_CHECKING] = "checking",
	[PP_ICE_CONNECTED] = "connected",
	[PP_ICE_COMPLETED] = "completed",
	[PP_ICE_FAILED] = "failed",
	[PP_ICE_DISCONNECTED] = "disconnected",
	[PP_ICE_CLOSED] = "closed",
};

const char *pp_ice_state_name(enum pp_ice_state s)
{
	return (unsigned)s < G_N_ELEMENTS(pp_ice_state_names) ? pp_ice_state_names[s] : "?";
}

enum pp_ice_state pp_ice_get_state(const struct pp_ice *ice)
{
	return ice->state;
}

/* The selected pair's candidates; false when none is selected. */
static bool pp_ice_selected_pair(struct pp_ice *ice, NiceCandidate **l, NiceCandidate **r)
{
	return !ice->closing && nice_agent_get_selected_pair(ice->agent, ice->stream, 1, l, r);
}

int pp_ice_selected_types(struct pp_ice *ice, const char **local,
                          const char **remote)
{
	NiceCandidate *l = NULL, *r = NULL;

	if (!pp_ice_selected_pair(ice, &l, &r))
		return PP_ERR_STATE;
	*local = pp_ice_cand_type_name(l->type);
	*remote = pp_ice_cand_type_name(r->type);
	return 0;
}

int pp_ice_selected_remote(struct pp_ice *ice, char out[PP_ICE_ADDR_TEXT_MAX],
                           const char **type)
{
	NiceCandidate *l = NULL, *r = NULL;
	char ip[NICE_ADDRESS_STRING_LEN];

	if (!pp_ice_selected_pair(ice, &l, &r))
		return PP_ERR_STATE;
	nice_address_to_string(&r->addr, ip);
	g_snprintf(out, PP_ICE_ADDR_TEXT_MAX,
	           nice_address_ip_version(&r->addr) == 6 ? "[%s]:%u" : "%s:%u", ip,
	           nice_address_get_port(&r->addr));
	*type = pp_ice_cand_type_name(r->type);
	return 0;
}

/* ---- stream, credentials, gathering ---- */

static void pp_ice_forget_generation(struct pp_ice *ice)
{
	g_ptr_array_set_size(ice->waiting, 0);
	g_free(ice->remote_ufrag);
	if (ice->remote_pwd)
		OPENSSL_cleanse(ice->remote_pwd, strlen(ice->remote_pwd));
	g_free(ice->remote_pwd);
	g_free(ice->local_ufrag);
	if (ice->local_pwd)
		OPENSSL_cleanse(ice->local_pwd, strlen(ice->local_pwd));
	g_free(ice->local_pwd);
	ice->remote_ufrag = ice->remote_pwd = ice->local_ufrag = ice->local_pwd = NULL;
	ice->n_remote = 0;
	ice->direct = false; /* until a pair of the new generation is selected */
	pp_ice_hot_drop(ice);
	ice->gather_wanted = ice->gathering = false;
	ice->remote_eoc = ice->remote_eoc_done = false;
}

static int pp_ice_stream_open(struct pp_ice *ice)
{
	int rc = PP_ERR_STATE;

	ice->stream = nice_agent_add_stream(ice->agent, 1);
	if (!ice->stream)
		goto out;
	if (!nice_agent_attach_recv(ice->agent, ice->stream, 1, ice->ctx, pp_ice_recv, ice) ||
	    !nice_agent_get_local_credentials(ice->agent, ice->stream, &ice->local_ufrag,
	                                      &ice->local_pwd))
		goto out;
	rc = 0;
out:
	return rc;
}

static void pp_ice_gather_now(struct pp_ice *ice)
{
	bool stun = false;

	ice->gathering = true;
	for (size_t i = 0; i < ice->n_srvs; i++) {
		struct pp_ice_srv *s = &ice->srvs[i];
		char ip[NICE_ADDRESS_STRING_LEN];

		if (!s->resolved)
			continue;
		nice_address_to_string(&s->addr, ip);
		if (s->kind == PP_ICE_SRV_STUN && !stun) {
			g_object_set(ice->agent, "stun-server", ip, "stun-server-port",
			             (guint)s->port, NULL);
			stun = true; /* libnice takes one */
		} else if (s->kind == PP_ICE_SRV_TURN) {
			if (nice_agent_set_relay_info(ice->agent, ice->stream, 1, ip, s->port,
			                              s->username, s->password, s->relay))
				ice->used_turn = true;
			else
				pp_log(PP_LOG_WARN, ice->peer, "ice: TURN server %s refused", s->host);
		}
	}
	if (!nice_agent_gather_candidates(ice->agent, ice->stream)) {
		pp_log(PP_LOG_WARN, ice->peer, "ice: no local address to gather on");
		pp_ice_queue_eoc(ice);
	}
}

static void pp_ice_dns_done(void *user)
{
	struct pp_ice *ice = user;

	pp_ice_dns_cancel(ice->dns); /* releases it; no more callbacks */
	ice->dns = NULL;
	ice->dns_done = true;
	if (ice->gather_wanted && !ice->gathering && !ice->closing)
		pp_ice_gather_now(ice);
}

int pp_ice_gather(struct pp_ice *ice)
{
	if (ice->closing || ice->gather_wanted)
		return PP_ERR_STATE;
	ice->gather_wanted = true;
	if (ice->dns_done)
		pp_ice_gather_now(ice);
	return 0;
}

int pp_ice_local_credentials(struct pp_ice *ice, const char **ufrag,
                             const char **pwd)
{
	if (ice->closing || !ice->local_ufrag)
		return PP_ERR_STATE;
	*ufrag = ice->local_ufrag;
	*pwd = ice->local_pwd;
	return 0;
}

/* ---- data ---- */

int pp_ice_send(struct pp_ice *ice, const uint8_t *data, size_t len)
{
	if (ice->closing)
		return PP_ERR_STATE;
	if (len == 0 || len > PP_ICE_DATAGRAM_MAX)
		return len ? PP_ERR_TOO_BIG : PP_ERR_INVALID;
	if (ice->state != PP_ICE_CONNECTED && ice->state != PP_ICE_COMPLETED)
		return -EAGAIN;
	if (nice_agent_send(ice->agent, ice->stream, 1, (guint)len, (const gchar *)data) !=
	    (gint)len)
		return -EAGAIN;
	return 0;
}

/* ---- life cycle ---- */

static int pp_ice_config_copy(struct pp_ice *ice, const struct pp_ice_config *cfg)
{
	int rc = PP_ERR_CONFIG;

	ice->peer = g_strdup(cfg->log_peer);
	if (cfg->n_local_addresses > PP_ICE_LOCAL_ADDRS_MAX ||
	    (cfg->n_local_addresses && !cfg->local_addresses) ||
	    (cfg->n_ice_servers && !cfg->ice_servers))
		goto out;
	for (size_t i = 0; i < cfg->n_local_addresses; i++) {
		nice_address_init(&ice->local[i]);
		if (!cfg->local_addresses[i] ||
		    !nice_address_set_from_string(&ice->local[i], cfg->local_addresses[i]))
			goto out;
		ice->n_local++;
	}
	for (size_t i = 0; i < cfg->n_ice_servers && i < PP_ICE_SERVERS_MAX; i++) {
		const struct pp_ice_server *s = &cfg->ice_servers[i];
		for (size_t u = 0; s->urls && u < s->n_urls && u < PP_ICE_URLS_MAX; u++) {
			int prc;
			if (ice->n_srvs == PP_ICE_SRV_MAX)
				break;
			prc = pp_ice_srv_parse(s->urls[u], s->username, s->credential,
			                       &ice->srvs[ice->n_srvs]);
			if (prc == 0)
				ice->n_srvs++;
			else
				pp_log(PP_LOG_WARN, ice->peer, "ice: ice server url %zu/%zu skipped: %s",
				       i, u, pp_strerror(prc));
		}
	}
	ice->ice_tcp = cfg->ice_tcp;
	ice->relay_only = cfg->relay_only;
	ice->mdns_server = g_strdup(cfg->mdns_server);
	ice->mdns_timeout_ms = cfg->mdns_timeout_ms ? cfg->mdns_timeout_ms : PP_ICE_MDNS_TIMEOUT_MS;
	rc = 0;
out:
	return rc;
}

static int pp_ice_agent_new(struct pp_ice *ice, bool controlling)
{
	/* no NICE_AGENT_OPTION_REGULAR_NOMINATION: aggressive (see the top) */
	NiceAgentOption opts = NICE_AGENT_OPTION_ICE_TRICKLE | NICE_AGENT_OPTION_CONSENT_FRESHNESS;

	ice->agent = nice_agent_new_full(ice->ctx, NICE_COMPATIBILITY_RFC5245, opts);
	if (!ice->agent)
		return PP_ERR_NOMEM;
	g_object_set(ice->agent, "controlling-mode", controlling, "ice-tcp", ice->ice_tcp,
	             "ice-udp", TRUE, "upnp", FALSE, "keepalive-conncheck", TRUE,
	             "force-relay", ice->relay_only, "stun-initial-timeout",
	             (guint)PP_ICE_STUN_RTO_MS, "stun-max-retransmissions",
	             (guint)PP_ICE_STUN_RETRANS, "stun-pacing-timer", (guint)PP_ICE_PACING_MS, NULL);
	for (size_t i = 0; i < ice->n_local; i++)
		nice_agent_add_local_address(ice->agent, &ice->local[i]);
	pp_ice_connect_signals(ice);
	return 0;
}

static void pp_ice_remote_free(gpointer p)
{
	g_free(p);
}

struct pp_ice *pp_ice_new(GMainContext *ctx, const struct pp_ice_config *cfg,
                          const struct pp_ice_callbacks *cb, void *user)
{
	struct pp_ice *ice = NULL, *ret = NULL;
	bool unresolved = false;
	int rc;

	if (!ctx || !cfg || !cb) {
		pp_log(PP_LOG_ERROR, NULL, "ice: context, config and callbacks are required");
		goto out;
	}
	ice = g_new0(struct pp_ice, 1);
	ice->ctx = g_main_context_ref(ctx);
	ice->cb = *cb;
	ice->user = user;
	ice->waiting = g_ptr_array_new_with_free_func(pp_ice_remote_free);
	g_queue_init(&ice->events);
	if ((rc = pp_ice_config_copy(ice, cfg)) < 0 ||
	    (rc = pp_ice_agent_new(ice, cfg->controlling)) < 0 ||
	    (rc = pp_ice_stream_open(ice)) < 0) {
		pp_log(PP_LOG_ERROR, cfg->log_peer, "ice: cannot create the agent: %s",
		       pp_strerror(rc));
		goto out;
	}
	for (size_t i = 0; i < ice->n_srvs; i++)
		unresolved |= !ice->srvs[i].resolved;
	ice->dns_done = !unresolved;
	if (unresolved)
		ice->dns = pp_ice_dns_start(ice->ctx, ice->srvs, ice->n_srvs,
		                            PP_ICE_DNS_TIMEOUT_MS, pp_ice_dns_done, ice);
	ret = ice;
	ice = NULL; /* transferred */
out:
	pp_ice_free(ice);
	return ret;
}

int pp_ice_restart(struct pp_ice *ice)
{
	int rc = PP_ERR_STATE;

	if (ice->closing)
		goto out;
	nice_agent_attach_recv(ice->agent, ice->stream, 1, ice->ctx, NULL, NULL);
	nice_agent_remove_stream(ice->agent, ice->stream);
	pp_ice_drop_events(ice); /* the old generation's candidates */
	pp_ice_forget_generation(ice);
	if ((rc = pp_ice_stream_open(ice)) < 0) {
		pp_log(PP_LOG_ERROR, ice->peer, "ice: restart failed");
		pp_ice_set_state(ice, PP_ICE_FAILED);
		goto out;
	}
	pp_log(PP_LOG_INFO, ice->peer, "ice: restart");
	ice->state = PP_ICE_NEW; /* always reported, even from NEW */
	pp_ice_queue_state(ice, PP_ICE_NEW);
	rc = pp_ice_gather(ice);
out:
	return rc;
}

static void pp_ice_closed(GObject *src, GAsyncResult *res, gpointer data)
{
	struct pp_ice_closer *closer = data;
	struct pp_ice *ice = closer->ice;

	g_object_unref(closer->agent);
	g_free(closer);
	if (!ice)
		return;
	ice->closer = NULL;
	ice->state = PP_ICE_CLOSED;
	if (ice->cb.on_state) {
		ice->in_callback = true;
		ice->cb.on_state(ice->user, PP_ICE_CLOSED); /* may free ice */
		pp_ice_callback_done(ice);
	}
}

/* Closing: libnice reads a stream's sockets only while a receive callback
 * is attached, and an unread datagram (a TURN deallocate answer, a late
 * packet of the peer) keeps its source ready on every loop turn until the
 * close finishes: drop them instead of spinning. */
static void pp_ice_recv_drop(NiceAgent *agent, guint stream, guint comp, guint len, gchar *buf,
                             gpointer data)
{
}

/* Stops everything that could call back into ice. */
static void pp_ice_quiesce(struct pp_ice *ice)
{
	pp_ice_drop_events(ice);
	pp_ice_hot_drop(ice);
	pp_ice_dns_cancel(ice->dns);
	ice->dns = NULL;
	pp_ice_mdns_free(ice->mdns);
	ice->mdns = NULL;
	if (ice->agent) {
		if (ice->stream)
			nice_agent_attach_recv(ice->agent, ice->stream, 1, ice->ctx, pp_ice_recv_drop, NULL);
		g_signal_handlers_disconnect_by_data(ice->agent, ice);
	}
}

void pp_ice_close(struct pp_ice *ice)
{
	if (!ice || ice->closing)
		return;
	ice->closing = true;
	ice->close_called = true;
	pp_ice_quiesce(ice);
	ice->closer = g_new0(struct pp_ice_closer, 1);
	ice->closer->ice = ice;
	ice->closer->agent = g_object_ref(ice->agent);
	/* the callback comes on the thread-default context of this call */
	g_main_context_push_thread_default(ice->ctx);
	nice_agent_close_async(ice->agent, pp_ice_closed, ice->closer);
	g_main_context_pop_thread_default(ice->ctx);
}

static void pp_ice_destroy(struct pp_ice *ice)
{
	if (ice->closer)
		ice->closer->ice = NULL;
	ice->closing = true;
	pp_ice_quiesce(ice);
	if (ice->agent && !ice->close_called && ice->used_turn) {
		/* release the TURN allocations in the background: the close
		 * holds the agent until it is done, on the context */
		g_main_context_push_thread_default(ice->ctx);
		nice_agent_close_async(ice->agent, NULL, NULL);
		g_main_context_pop_thread_default(ice->ctx);
	}
	if (ice->agent)
		g_object_unref(ice->agent);
	pp_ice_forget_generation(ice);
	g_ptr_array_free(ice->waiting, TRUE);
	for (size_t i = 0; i < ice->n_srvs; i++)
		pp_ice_srv_clear(&ice->srvs[i]);
	g_free(ice->mdns_server);
	g_free(ice->peer);
	g_main_context_unref(ice->ctx);
	g_free(ice);
}

bool pp_ice_callback_done(struct pp_ice *ice)
{
	ice->in_callback = false;
	if (!ice->free_pending)
		return true;
	pp_ice_destroy(ice);
	return false;
}

void pp_ice_free(struct pp_ice *ice)
{
	if (!ice)
		return;
	if (ice->in_callback) {
		/* freed from inside one of its callbacks: stop everything now,
		 * release the memory once the callback has returned */
		ice->closing = true;
		ice->free_pending = true;
		pp_ice_quiesce(ice);
		return;
	}
	pp_ice_destroy(ice);
}
