/* SPDX-License-Identifier: Apache-2.0 */
/* A tunnel node's answer to a new offer that comes while its session
 * with that peer has lost its path: see node_priv.h. */
#include "node_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/source.h"

/* How long our session, its path lost, gets to come back once the peer
 * offers a new one. A restart the peer can continue comes back within a
 * few round trips of its offer going out (held at most until signaling
 * answers a check); one it cannot continue never does. */
#define PP_TNODE_DEFER_MS 3000

/* A session that is up whose ICE path is lost (restarting, or waiting
 * for the peer's restart). */
static bool pp_tnode_path_lost(const struct pp_tlink *l)
{
	enum pp_peer_state st;

	if (!pp_tnode_link_up(l))
		return false;
	st = pp_peer_get_state(pp_tsession_peer(l->session));
	return st == PP_PEER_DISCONNECTED || st == PP_PEER_RESTARTING;
}

static gboolean pp_tnode_defer_over(gpointer data)
{
	struct pp_tlink *l = data;
	struct pp_tnode *n = l->node;

	pp_source_fired(&l->defer_timer);
	if (!pp_tnode_path_lost(l))
		return G_SOURCE_REMOVE; /* closed meanwhile: defer_closed answers */
	pp_log(PP_LOG_WARN, l->log_peer,
	       "node: our session did not come back and the peer offers a new one: it has none "
	       "any more; this session ends and the offer is answered");
	if (g_hash_table_lookup(n->by_id, l->peer.peer_id) == l)
		g_hash_table_remove(n->by_id, l->peer.peer_id);
	pp_tsession_drop(l->session, "the peer started a new session");
	return G_SOURCE_REMOVE;
}

bool pp_tnode_defer_offer(struct pp_tnode *n, struct pp_tlink *l, const char *sdp)
{
	if (!pp_tnode_path_lost(l))
		return false;
	if (!l->deferred_offer) {
		pp_log(PP_LOG_INFO, l->log_peer,
		       "node: the peer offers a new session while ours has lost its path: ours gets "
		       "%u ms to come back", PP_TNODE_DEFER_MS);
		/* what trickled before belongs to neither */
		g_hash_table_remove(n->early, l->peer.peer_id);
		l->defer_timer = pp_source_timeout(n->ctx, PP_TNODE_DEFER_MS, pp_tnode_defer_over, l);
	}
	g_free(l->deferred_offer); /* the newest offer is the one to answer */
	l->deferred_offer = g_strdup(sdp);
	return true;
}

void pp_tnode_defer_path_back(struct pp_tlink *l)
{
	if (!l->deferred_offer)
		return;
	pp_log(PP_LOG_INFO, l->log_peer,
	       "node: our session is back: the peer's new offer is refused, the session keeps it");
	g_hash_table_remove(l->node->early, l->peer.peer_id);
	pp_tnode_defer_clear(l);
	l->offer_refused = true;
}

void pp_tnode_defer_closed(struct pp_tnode *n, struct pp_tlink *l)
{
	struct pp_tlink *next;
	char *sdp = l->deferred_offer;
	int rc;

	l->deferred_offer = NULL;
	pp_source_clear(&l->defer_timer);
	if (!sdp || n->stopping || g_hash_table_contains(n->by_id, l->peer.peer_id) ||
	    !(next = pp_tnode_answerer(n, l->peer.peer_id))) {
		g_free(sdp);
		return;
	}
	rc = pp_tsession_remote_sdp(next->session, "offer", sdp);
	g_free(sdp);
	if (rc < 0) {
		pp_log(PP_LOG_WARN, next->log_peer, "node: remote offer refused: %s", pp_strerror(rc));
		pp_tsession_close(next->session, NULL);
		return;
	}
	pp_tnode_replay_early(n, next);
}

void pp_tnode_defer_clear(struct pp_tlink *l)
{
	g_free(l->deferred_offer);
	l->deferred_offer = NULL;
	pp_source_clear(&l->defer_timer);
}
