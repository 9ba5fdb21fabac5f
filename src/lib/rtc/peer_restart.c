/* SPDX-License-Identifier: Apache-2.0 */
/* Renegotiation of a peer connection after its first offer/answer, which
 * here means ICE restart (peer.h has the rules): new ICE credentials and
 * a new ICE generation under the same DTLS association and SCTP
 * association. Also the lost-path policy (ice_restart_ok) and its
 * deadline.
 *
 * Why nothing above ICE is touched: DTLS 1.2 records carry no address and
 * the association needs no timer once up; SCTP retransmits what the dead
 * path swallowed. So a restart only swaps the datagram path underneath,
 * and what the application queued meanwhile goes out on the new one. */
#include "peer_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <string.h>

/* --- the deadline of a lost path ------------------------------------------------ */

static gboolean pp_peer_restart_timeout(gpointer data)
{
	struct pp_peer *p = data;

	p->restart_timer = NULL;
	pp_peer_set_state(p, PP_PEER_FAILED, "ICE path not back in time (no restart, or it did not connect)");
	return G_SOURCE_REMOVE;
}

void pp_peer_restart_stop(struct pp_peer *p)
{
	if (p->restart_timer)
		g_source_destroy(p->restart_timer);
	p->restart_timer = NULL;
}

/* (Re)starts the window in which the path must come back. */
static void pp_peer_restart_arm(struct pp_peer *p)
{
	pp_peer_restart_stop(p);
	p->restart_timer = g_timeout_source_new(p->cfg.ice_restart_timeout_ms);
	g_source_set_callback(p->restart_timer, pp_peer_restart_timeout, p, NULL);
	g_source_attach(p->restart_timer, p->ctx);
	g_source_unref(p->restart_timer);
}

static bool pp_peer_established(const struct pp_peer *p)
{
	return p->state == PP_PEER_CONNECTED || p->state == PP_PEER_DISCONNECTED ||
	       p->state == PP_PEER_RESTARTING;
}

/* Our agent restarted (asked here or by the peer). Before the first
 * CONNECTED there is nothing to keep: the state stays CONNECTING. */
static void pp_peer_restarting(struct pp_peer *p, const char *reason)
{
	if (!pp_peer_established(p))
		return;
	pp_peer_restart_arm(p);
	pp_peer_set_state(p, PP_PEER_RESTARTING, reason);
}

/* --- the ICE path ----------------------------------------------------------------- */

void pp_peer_path_up(struct pp_peer *p)
{
	enum pp_peer_state was = p->state;

	if ((was != PP_PEER_DISCONNECTED && was != PP_PEER_RESTARTING) || !pp_peer_association_up(p))
		return;
	pp_peer_restart_stop(p);
	pp_sctp_path_back(p->sctp); /* resend what the outage held, now */
	pp_peer_set_state(p, PP_PEER_CONNECTED,
	                  was == PP_PEER_RESTARTING ? "ICE restarted" : "ICE path back");
}

void pp_peer_path_lost(struct pp_peer *p, enum pp_ice_state st)
{
	if (!pp_peer_established(p) || !p->cfg.ice_restart_ok || p->closing) {
		/* as ever: an ICE failure is final (a mere DISCONNECTED of
		 * libnice may still come back by itself) */
		if (st == PP_ICE_FAILED)
			pp_peer_set_state(p, PP_PEER_FAILED, "ICE failed (no path, or consent lost)");
		return;
	}
	if (st == PP_ICE_DISCONNECTED && p->state == PP_PEER_RESTARTING)
		return; /* the new generation's checks go on */
	if (p->state == PP_PEER_CONNECTED)
		pp_peer_restart_arm(p);
	pp_peer_set_state(p, PP_PEER_DISCONNECTED,
	                  p->state == PP_PEER_RESTARTING ? "ICE restart did not connect"
	                                                 : "ICE path lost (consent expired or no usable pair)");
}

/* --- restart from here ------------------------------------------------------------ */

int pp_peer_restart_ice(struct pp_peer *p)
{
	int rc;

	if (p->closing || !p->have_remote || !p->ice || p->restart_offered || !pp_peer_established(p))
		return PP_ERR_STATE;
	/* a re-offer must repeat every m-line of the first exchange */
	if (!p->offerer && p->remote->n_mlines > 1)
		return PP_ERR_UNSUPPORTED;
	if ((rc = pp_ice_restart(p->ice)) < 0)
		return rc;
	p->restart_offered = true;
	p->restart_offer_lost = false;
	pp_peer_restarting(p, "ICE restart asked here");
	if (p->closing || p->state == PP_PEER_FAILED) /* closed from on_state */
		return 0;
	rc = pp_peer_emit_description(p, NULL);
	if (rc < 0) /* the deadline ends it */
		pp_log(PP_LOG_WARN, p->log_peer, "cannot write the ICE restart offer: %s", pp_strerror(rc));
	return rc;
}

/* --- descriptions after the first exchange -------------------------------------- */

/* desc's o= session against the remote description's: 1 the same, 0
 * another, -1 unknown (no remote description or o= session id on either
 * side, or desc does not parse). */
static int pp_peer_same_origin(const struct pp_peer *p, const char *desc, size_t len)
{
	struct pp_sdp *sdp = NULL;
	int same;

	if (!p->remote || !p->remote->origin_id[0] || pp_sdp_parse(desc, len, &sdp, NULL) < 0)
		return -1;
	same = !sdp->origin_id[0] ? -1 : strcmp(sdp->origin_id, p->remote->origin_id) == 0;
	pp_sdp_free(sdp);
	return same;
}

bool pp_peer_offer_continues(const struct pp_peer *p, const char *offer, size_t len)
{
	return pp_peer_same_origin(p, offer, len) == 1;
}

bool pp_peer_other_session(const struct pp_peer *p, const char *desc, size_t len)
{
	return pp_peer_same_origin(p, desc, len) == 0;
}

/* The DTLS role a later description implies for us must be the one we
 * have: a role change would need a new DTLS association (RFC 8842 §5.5).
 * actpass (or no a=setup) in an offer leaves it to us, the answerer; an
 * answer without a=setup is active (RFC 4145's default). */
static int pp_peer_check_setup(const struct pp_peer *p, bool is_offer, enum pp_sdp_setup setup)
{
	enum pp_dtls_role ours;

	switch (setup) {
	case PP_SDP_SETUP_ACTPASS:
		return is_offer ? 0 : PP_ERR_INVALID;
	case PP_SDP_SETUP_NONE:
		if (is_offer)
			return 0;
		ours = PP_DTLS_SERVER;
		break;
	case PP_SDP_SETUP_ACTIVE:
		ours = PP_DTLS_SERVER;
		break;
	case PP_SDP_SETUP_PASSIVE:
		ours = PP_DTLS_CLIENT;
		break;
	default:
		return PP_ERR_UNSUPPORTED;
	}
	return ours == p->dtls_role ? 0 : PP_ERR_UNSUPPORTED;
}

/* What may never change under a running association. */
static int pp_peer_check_same_connection(struct pp_peer *p, bool is_offer, const struct pp_sdp *sdp,
                                         enum pp_sdp_change change)
{
	const char *type = is_offer ? "offer" : "answer";

	switch (change) {
	case PP_SDP_OTHER_SESSION:
		pp_log(PP_LOG_WARN, p->log_peer, "remote %s refused: it is for another session (o= differs)",
		       type);
		return PP_ERR_STATE;
	case PP_SDP_FINGERPRINT_CHANGED:
		pp_log(PP_LOG_WARN, p->log_peer,
		       "remote %s refused: its DTLS fingerprint is not this connection's "
		       "(another identity needs a new connection)", type);
		return PP_ERR_AUTH;
	case PP_SDP_SCTP_PORT_CHANGED:
		pp_log(PP_LOG_WARN, p->log_peer, "remote %s refused: the SCTP port changed", type);
		return PP_ERR_UNSUPPORTED;
	default:
		break;
	}
	if (pp_peer_check_setup(p, is_offer, sdp->setup) < 0) {
		pp_log(PP_LOG_WARN, p->log_peer,
		       "remote %s refused: a=setup:%s would change the DTLS role (a new association)",
		       type, pp_sdp_setup_name(sdp->setup));
		return PP_ERR_UNSUPPORTED;
	}
	return 0;
}

void pp_peer_restart_offer_lost(struct pp_peer *p)
{
	if (!p->restart_offered || p->restart_offer_lost)
		return;
	p->restart_offer_lost = true;
	pp_log(PP_LOG_INFO, p->log_peer,
	       "our ICE restart offer went to the peer's previous signaling id: it yields to the peer's");
}

/* Both sides offered a restart at once: one offer stands (restart_glare:
 * by default the first offerer's; never ours when it was lost). The other
 * side drops its own offer and answers it with a fresh generation (see
 * pp_peer_renegotiate). 1: we yield. */
static int pp_peer_glare(struct pp_peer *p, enum pp_sdp_change change)
{
	bool stand = !p->restart_offer_lost &&
	             (p->cfg.restart_glare == PP_PEER_GLARE_STAND ||
	              (p->cfg.restart_glare == PP_PEER_GLARE_FIRST_OFFERER && p->offerer));

	if (stand || change != PP_SDP_ICE_RESTART) {
		pp_log(PP_LOG_INFO, p->log_peer, "remote offer refused: our ICE restart offer stands");
		return PP_ERR_STATE;
	}
	pp_log(PP_LOG_INFO, p->log_peer, "both sides restarted ICE: answering the peer's offer");
	p->restart_offered = false;
	return 1;
}

static int pp_peer_take_remote(struct pp_peer *p, const struct pp_sdp *sdp)
{
	int rc = pp_ice_set_remote_credentials(p->ice, sdp->ufrag, sdp->pwd);

	if (rc < 0)
		return rc;
	pp_peer_apply_candidates(p, sdp);
	if (sdp->end_of_candidates)
		pp_ice_end_of_remote_candidates(p->ice);
	return 0;
}

int pp_peer_renegotiate(struct pp_peer *p, bool is_offer, struct pp_sdp **psdp)
{
	struct pp_sdp *sdp = *psdp;
	enum pp_sdp_change change = pp_sdp_compare(p->remote, sdp);
	bool yielded = false;
	int rc;

	if (!is_offer && !p->restart_offered)
		return PP_ERR_STATE; /* an answer to nothing */
	if ((rc = pp_peer_check_same_connection(p, is_offer, sdp, change)) < 0)
		return rc;
	if (is_offer && p->restart_offered) {
		if ((rc = pp_peer_glare(p, change)) < 0)
			return rc;
		yielded = true;
	}
	if (!is_offer) {
		/* RFC 8839 §4.4.1.1.1: the answer to a restart has new ones */
		if (change != PP_SDP_ICE_RESTART) {
			pp_log(PP_LOG_WARN, p->log_peer,
			       "remote answer refused: it kept the ICE credentials of before the restart");
			return PP_ERR_INVALID;
		}
		if ((rc = pp_peer_take_remote(p, sdp)) < 0)
			return rc;
		p->restart_offered = false;
	} else if (change == PP_SDP_ICE_RESTART) {
		/* Yielding too: the candidates of our own offer went to where
		 * the peer was, which a network change may have left (its old
		 * signaling id, its WebSocket dead), while its offer comes from
		 * where it is now. A fresh generation trickles there; what the
		 * peer may have had of ours is another ufrag's and dropped. */
		if ((rc = pp_ice_restart(p->ice)) < 0)
			return rc;
		if (!yielded)
			pp_peer_restarting(p, "ICE restart asked by the peer");
		if ((rc = pp_peer_take_remote(p, sdp)) < 0)
			return rc;
	}
	/* from here the description is ours to keep */
	pp_sdp_free(p->remote);
	p->remote = sdp;
	*psdp = NULL; /* transferred */
	if (is_offer && !p->closing && (rc = pp_peer_emit_description(p, p->remote)) < 0)
		return rc;
	pp_log(PP_LOG_INFO, p->log_peer, "remote %s applied: %s", is_offer ? "re-offer" : "re-answer",
	       pp_sdp_change_name(change));
	return 0;
}
