/* SPDX-License-Identifier: Apache-2.0 */
/* ICE agent on libnice: one stream, one component, RFC 5245/8445 mode
 * (NICE_COMPATIBILITY_RFC5245), regular nomination, full trickle, RFC 7675
 * consent freshness.
 *
 * libnice signals can fire inside libnice calls made from here, so every
 * event for the user is queued and delivered from an idle source on the
 * context (and flushed before each datagram, so a state change is seen
 * before the data that follows it).
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
#include "text.h"

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

enum pp_ice_ev_kind {
	PP_ICE_EV_CAND,
	PP_ICE_EV_EOC,
	PP_ICE_EV_STATE,
};

struct pp_ice_event {
	enum pp_ice_ev_kind kind;
	enum pp_ice_state state;
	char *line;
};

/* A remote candidate waiting for the remote credentials or for mDNS. */
struct pp_ice_remote {
	struct pp_candidate c;
	bool resolving;
	bool have_addr;
	NiceAddress addr;
};

struct pp_ice_closer {
	struct pp_ice *ice; /* NULL once freed */
	NiceAgent *agent;
};

struct pp_ice {
	GMainContext *ctx;
	NiceAgent *agent;
	guint stream;
	struct pp_ice_callbacks cb;
	void *user;
	char *peer;  /* log prefix */
	bool ice_tcp;
	bool relay_only;
	char *mdns_server;
	unsigned mdns_timeout_ms;
	NiceAddress local[PP_ICE_LOCAL_ADDRS_MAX];
	size_t n_local;
	struct pp_ice_srv srvs[PP_ICE_SRV_MAX];
	size_t n_srvs;
	struct pp_ice_dns *dns;
	bool dns_done;
	struct pp_ice_mdns *mdns;
	bool used_turn;   /* relays were requested: allocations to release */

	/* this generation (reset by a restart) */
	char *local_ufrag;
	char *local_pwd;
	char *remote_ufrag;
	char *remote_pwd;
	GPtrArray *waiting; /* struct pp_ice_remote * */
	unsigned n_remote;
	bool gather_wanted;
	bool gathering;
	bool remote_eoc;
	bool remote_eoc_done;
	enum pp_ice_state state;

	GQueue events;
	GSource *dispatch;
	bool closing;
	struct pp_ice_closer *closer;
};

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

/* ---- events to the user ---- */

static void pp_ice_event_free(gpointer data)
{
	struct pp_ice_event *ev = data;

	g_free(ev->line);
	g_free(ev);
}

static void pp_ice_flush(struct pp_ice *ice)
{
	struct pp_ice_event *ev;

	while (!ice->closing && (ev = g_queue_pop_head(&ice->events))) {
		switch (ev->kind) {
		case PP_ICE_EV_CAND:
		case PP_ICE_EV_EOC:
			if (ice->cb.on_local_candidate)
				ice->cb.on_local_candidate(ice->user, ev->line);
			break;
		case PP_ICE_EV_STATE:
			if (ice->cb.on_state)
				ice->cb.on_state(ice->user, ev->state);
			break;
		}
		pp_ice_event_free(ev);
	}
}

static gboolean pp_ice_dispatch(gpointer data)
{
	struct pp_ice *ice = data;

	g_source_unref(ice->dispatch);
	ice->dispatch = NULL;
	pp_ice_flush(ice);
	return G_SOURCE_REMOVE;
}

static void pp_ice_queue(struct pp_ice *ice, enum pp_ice_ev_kind kind,
                         enum pp_ice_state state, char *line)
{
	struct pp_ice_event *ev = g_new0(struct pp_ice_event, 1);

	ev->kind = kind;
	ev->state = state;
	ev->line = line;
	g_queue_push_tail(&ice->events, ev);
	if (!ice->dispatch) {
		ice->dispatch = g_idle_source_new();
		g_source_set_priority(ice->dispatch, G_PRIORITY_DEFAULT);
		g_source_set_callback(ice->dispatch, pp_ice_dispatch, ice, NULL);
		g_source_attach(ice->dispatch, ice->ctx);
	}
}

static void pp_ice_drop_events(struct pp_ice *ice)
{
	g_queue_clear_full(&ice->events, pp_ice_event_free);
	if (ice->dispatch) {
		g_source_destroy(ice->dispatch);
		g_source_unref(ice->dispatch);
		ice->dispatch = NULL;
	}
}

static void pp_ice_set_state(struct pp_ice *ice, enum pp_ice_state s)
{
	if (s == ice->state)
		return;
	pp_log(PP_LOG_INFO, ice->peer, "ice: %s -> %s", pp_ice_state_name(ice->state),
	       pp_ice_state_name(s));
	ice->state = s;
	pp_ice_queue(ice, PP_ICE_EV_STATE, s, NULL);
}

/* ---- libnice signals and data ---- */

static void pp_ice_on_candidate(NiceAgent *agent, NiceCandidate *nc, gpointer data)
{
	struct pp_ice *ice = data;
	char line[PP_CAND_LINE_MAX + 1];

	if (nc->stream_id != ice->stream || ice->closing)
		return;
	if (pp_ice_cand_format(nc, ice->local_ufrag, line, sizeof(line)) < 0) {
		pp_log(PP_LOG_WARN, ice->peer, "ice: cannot format a local %s candidate",
		       pp_ice_cand_type_name(nc->type));
		return;
	}
	pp_log(PP_LOG_DEBUG, ice->peer, "ice: local %s", line);
	pp_ice_queue(ice, PP_ICE_EV_CAND, 0, g_strdup(line));
}

static void pp_ice_on_gathering_done(NiceAgent *agent, guint stream, gpointer data)
{
	struct pp_ice *ice = data;

	if (stream != ice->stream || ice->closing)
		return;
	pp_log(PP_LOG_DEBUG, ice->peer, "ice: gathering done");
	pp_ice_queue(ice, PP_ICE_EV_EOC, 0, NULL);
}

static void pp_ice_on_component_state(NiceAgent *agent, guint stream, guint comp,
                                      guint st, gpointer data)
{
	struct pp_ice *ice = data;
	enum pp_ice_state s;

	if (stream != ice->stream || ice->closing)
		return;
	switch (st) {
	case NICE_COMPONENT_STATE_CONNECTING:
		s = PP_ICE_CHECKING;
		break;
	case NICE_COMPONENT_STATE_CONNECTED:
		s = PP_ICE_CONNECTED;
		break;
	case NICE_COMPONENT_STATE_READY:
		s = PP_ICE_COMPLETED;
		break;
	case NICE_COMPONENT_STATE_FAILED:
		s = PP_ICE_FAILED;
		break;
	case NICE_COMPONENT_STATE_DISCONNECTED:
		if (ice->state != PP_ICE_CONNECTED && ice->state != PP_ICE_COMPLETED)
			return;
		s = PP_ICE_DISCONNECTED;
		break;
	default:
		return; /* gathering */
	}
	pp_ice_set_state(ice, s);
}

static void pp_ice_on_selected(NiceAgent *agent, guint stream, guint comp,
                               NiceCandidate *l, NiceCandidate *r, gpointer data)
{
	struct pp_ice *ice = data;

	if (stream == ice->stream && !ice->closing)
		pp_log(PP_LOG_INFO, ice->peer, "ice: selected pair %s/%s %s",
		       pp_ice_cand_type_name(l->type), pp_ice_cand_type_name(r->type),
		       l->transport == NICE_CANDIDATE_TRANSPORT_UDP ? "udp" : "tcp");
}

static void pp_ice_recv(NiceAgent *agent, guint stream, guint comp, guint len,
                        gchar *buf, gpointer data)
{
	struct pp_ice *ice = data;

	if (stream != ice->stream || ice->closing)
		return;
	pp_ice_flush(ice); /* state changes before the data that follows them */
	if (!ice->closing && ice->cb.on_data)
		ice->cb.on_data(ice->user, (const uint8_t *)buf, len);
}

int pp_ice_selected_types(struct pp_ice *ice, const char **local,
                          const char **remote)
{
	NiceCandidate *l = NULL, *r = NULL;

	if (ice->closing ||
	    !nice_agent_get_selected_pair(ice->agent, ice->stream, 1, &l, &r))
		return PP_ERR_STATE;
	*local = pp_ice_cand_type_name(l->type);
	*remote = pp_ice_cand_type_name(r->type);
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
		pp_ice_queue(ice, PP_ICE_EV_EOC, 0, NULL);
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

/* ---- remote side ---- */

static int pp_ice_apply(struct pp_ice *ice, const struct pp_candidate *c,
                        const NiceAddress *addr)
{
	NiceCandidate *nc = pp_ice_cand_to_nice(c, ice->stream, addr);
	GSList one = { nc, NULL };
	int rc = PP_ERR_INVALID;

	if (!nc)
		goto out;
	if (nice_agent_set_remote_candidates(ice->agent, ice->stream, 1, &one) < 0)
		goto out;
	rc = 0;
out:
	if (nc)
		nice_candidate_free(nc);
	return rc;
}

static void pp_ice_try_eoc(struct pp_ice *ice)
{
	if (!ice->remote_eoc || ice->remote_eoc_done || !ice->remote_ufrag ||
	    ice->waiting->len)
		return;
	ice->remote_eoc_done = true;
	nice_agent_peer_candidate_gathering_done(ice->agent, ice->stream);
}

static bool pp_ice_stale(struct pp_ice *ice, const struct pp_candidate *c)
{
	return c->ufrag[0] && ice->remote_ufrag && strcmp(c->ufrag, ice->remote_ufrag) != 0;
}

/* Applies what waited for the credentials; drops other generations. */
static void pp_ice_apply_waiting(struct pp_ice *ice)
{
	for (guint i = 0; i < ice->waiting->len;) {
		struct pp_ice_remote *r = ice->waiting->pdata[i];
		if (r->resolving) {
			i++;
			continue;
		}
		if (!pp_ice_stale(ice, &r->c) &&
		    pp_ice_apply(ice, &r->c, r->have_addr ? &r->addr : NULL) < 0)
			pp_log(PP_LOG_INFO, ice->peer, "ice: remote candidate refused by libnice");
		g_ptr_array_remove_index(ice->waiting, i);
	}
	pp_ice_try_eoc(ice);
}

static bool pp_ice_cred_ok(const char *s, size_t min)
{
	size_t n = s ? strnlen(s, 257) : 0;

	return n >= min && n <= 256 && pp_rtc_text_ice_chars((struct pp_rtc_span){ s, n });
}

int pp_ice_set_remote_credentials(struct pp_ice *ice, const char *ufrag,
                                  const char *pwd)
{
	if (ice->closing)
		return PP_ERR_STATE;
	if (!pp_ice_cred_ok(ufrag, 4) || !pp_ice_cred_ok(pwd, 22))
		return PP_ERR_INVALID;
	if (ice->remote_ufrag)
		return strcmp(ufrag, ice->remote_ufrag) == 0 &&
		               CRYPTO_memcmp(pwd, ice->remote_pwd, strlen(pwd) + 1) == 0
		       ? 0
		       : PP_ERR_STATE;
	if (!nice_agent_set_remote_credentials(ice->agent, ice->stream, ufrag, pwd))
		return PP_ERR_INVALID;
	ice->remote_ufrag = g_strdup(ufrag);
	ice->remote_pwd = g_strdup(pwd);
	pp_ice_apply_waiting(ice);
	return 0;
}

static void pp_ice_mdns_done(void *user, const char *name, const NiceAddress *addr)
{
	struct pp_ice *ice = user;

	for (guint i = 0; i < ice->waiting->len;) {
		struct pp_ice_remote *r = ice->waiting->pdata[i];
		if (!r->resolving || g_ascii_strcasecmp(r->c.addr.host, name) != 0) {
			i++;
			continue;
		}
		if (!addr) {
			pp_log(PP_LOG_INFO, ice->peer, "ice: dropping unresolved mDNS candidate");
			g_ptr_array_remove_index(ice->waiting, i);
			continue;
		}
		r->resolving = false;
		r->have_addr = true;
		r->addr = *addr;
		i++;
	}
	if (ice->remote_ufrag)
		pp_ice_apply_waiting(ice);
	else
		pp_ice_try_eoc(ice);
}

static int pp_ice_wait(struct pp_ice *ice, const struct pp_candidate *c)
{
	struct pp_ice_remote *r = g_new0(struct pp_ice_remote, 1);

	r->c = *c;
	if (c->addr.family == PP_CAND_MDNS) {
		if (!ice->mdns)
			ice->mdns = pp_ice_mdns_new(ice->ctx, ice->mdns_server, ice->mdns_timeout_ms,
			                            pp_ice_mdns_done, ice);
		if (!ice->mdns || pp_ice_mdns_resolve(ice->mdns, c->addr.host) < 0) {
			pp_log(PP_LOG_INFO, ice->peer, "ice: skipping an mDNS candidate");
			g_free(r);
			return ice->mdns ? 0 : PP_ERR_UNSUPPORTED;
		}
		r->resolving = true;
	}
	g_ptr_array_add(ice->waiting, r);
	return 0;
}

int pp_ice_add_remote_candidate(struct pp_ice *ice, const char *line)
{
	struct pp_candidate c;
	int rc = PP_ERR_STATE;

	if (ice->closing)
		goto out;
	if ((rc = pp_ice_cand_parse(line, &c)) < 0)
		goto out;
	rc = PP_ERR_UNSUPPORTED;
	if (c.component != 1 || (c.transport == PP_CAND_TCP && !ice->ice_tcp))
		goto out;
	rc = PP_ERR_TOO_BIG;
	if (ice->n_remote >= PP_ICE_REMOTE_CANDS_MAX)
		goto out;
	rc = 0;
	if (pp_ice_stale(ice, &c)) {
		pp_log(PP_LOG_DEBUG, ice->peer, "ice: candidate of an old generation dropped");
		goto out;
	}
	ice->n_remote++;
	if (c.addr.family == PP_CAND_MDNS || !ice->remote_ufrag)
		rc = pp_ice_wait(ice, &c);
	else
		rc = pp_ice_apply(ice, &c, NULL);
out:
	if (rc < 0 && rc != PP_ERR_STATE)
		pp_log(PP_LOG_DEBUG, ice->peer, "ice: remote candidate not used: %s",
		       pp_strerror(rc));
	return rc;
}

int pp_ice_end_of_remote_candidates(struct pp_ice *ice)
{
	if (ice->closing)
		return PP_ERR_STATE;
	ice->remote_eoc = true;
	pp_ice_try_eoc(ice);
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
	if (cfg->n_local_addresses > PP_ICE_LOCAL_ADDRS_MAX)
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
		for (size_t u = 0; u < s->n_urls && u < PP_ICE_URLS_MAX; u++) {
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
	NiceAgentOption opts = NICE_AGENT_OPTION_ICE_TRICKLE |
	                       NICE_AGENT_OPTION_CONSENT_FRESHNESS |
	                       NICE_AGENT_OPTION_REGULAR_NOMINATION;

	ice->agent = nice_agent_new_full(ice->ctx, NICE_COMPATIBILITY_RFC5245, opts);
	if (!ice->agent)
		return PP_ERR_NOMEM;
	g_object_set(ice->agent, "controlling-mode", controlling, "ice-tcp", ice->ice_tcp,
	             "ice-udp", TRUE, "upnp", FALSE, "keepalive-conncheck", TRUE,
	             "force-relay", ice->relay_only, "stun-initial-timeout",
	             (guint)PP_ICE_STUN_RTO_MS, "stun-max-retransmissions",
	             (guint)PP_ICE_STUN_RETRANS, NULL);
	for (size_t i = 0; i < ice->n_local; i++)
		nice_agent_add_local_address(ice->agent, &ice->local[i]);
	g_signal_connect(ice->agent, "new-candidate-full", G_CALLBACK(pp_ice_on_candidate), ice);
	g_signal_connect(ice->agent, "candidate-gathering-done",
	                 G_CALLBACK(pp_ice_on_gathering_done), ice);
	g_signal_connect(ice->agent, "component-state-changed",
	                 G_CALLBACK(pp_ice_on_component_state), ice);
	g_signal_connect(ice->agent, "new-selected-pair-full", G_CALLBACK(pp_ice_on_selected),
	                 ice);
	return 0;
}

static void pp_ice_remote_free(gpointer p)
{
	g_free(p);
}

struct pp_ice *pp_ice_new(GMainContext *ctx, const struct pp_ice_config *cfg,
                          const struct pp_ice_callbacks *cb, void *user)
{
	struct pp_ice *ice = g_new0(struct pp_ice, 1), *ret = NULL;
	bool unresolved = false;
	int rc;

	ice->ctx = g_main_context_ref(ctx ? ctx : g_main_context_default());
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
	pp_ice_queue(ice, PP_ICE_EV_STATE, PP_ICE_NEW, NULL);
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
	if (ice->cb.on_state)
		ice->cb.on_state(ice->user, PP_ICE_CLOSED); /* may free ice */
}

/* Stops everything that could call back into ice. */
static void pp_ice_quiesce(struct pp_ice *ice)
{
	pp_ice_drop_events(ice);
	pp_ice_dns_cancel(ice->dns);
	ice->dns = NULL;
	pp_ice_mdns_free(ice->mdns);
	ice->mdns = NULL;
	if (ice->agent) {
		if (ice->stream)
			nice_agent_attach_recv(ice->agent, ice->stream, 1, ice->ctx, NULL, NULL);
		g_signal_handlers_disconnect_by_data(ice->agent, ice);
	}
}

void pp_ice_close(struct pp_ice *ice)
{
	if (!ice || ice->closing)
		return;
	ice->closing = true;
	pp_ice_quiesce(ice);
	ice->closer = g_new0(struct pp_ice_closer, 1);
	ice->closer->ice = ice;
	ice->closer->agent = g_object_ref(ice->agent);
	/* the callback comes on the thread-default context of this call */
	g_main_context_push_thread_default(ice->ctx);
	nice_agent_close_async(ice->agent, pp_ice_closed, ice->closer);
	g_main_context_pop_thread_default(ice->ctx);
}

void pp_ice_free(struct pp_ice *ice)
{
	if (!ice)
		return;
	if (ice->closer)
		ice->closer->ice = NULL;
	ice->closing = true;
	pp_ice_quiesce(ice);
	if (ice->agent && !ice->closer && ice->used_turn) {
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
