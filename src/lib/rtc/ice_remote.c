/* SPDX-License-Identifier: Apache-2.0 */
/* ICE: the remote side. Credentials, trickled candidates (kept until the
 * credentials are known, or resolved with mDNS first), end-of-candidates.
 * Candidates of another generation (ufrag) are dropped. */
#include "ice_priv.h"
#include "text.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <openssl/crypto.h>
#include <string.h>

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
	if (ice->remote_ufrag) {
		/* the same again (a renegotiation without restart) is fine */
		size_t n = strlen(pwd);
		bool same = strcmp(ufrag, ice->remote_ufrag) == 0 &&
		            n == strlen(ice->remote_pwd) &&
		            CRYPTO_memcmp(pwd, ice->remote_pwd, n) == 0;
		return same ? 0 : PP_ERR_STATE;
	}
	if (!nice_agent_set_remote_credentials(ice->agent, ice->stream, ufrag, pwd))
		return PP_ERR_INVALID;
	ice->remote_ufrag = g_strdup(ufrag);
	ice->remote_pwd = g_strdup(pwd);
	pp_ice_apply_waiting(ice);
	return 0;
}

void pp_ice_mdns_done(void *user, const char *name, const NiceAddress *addr)
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
