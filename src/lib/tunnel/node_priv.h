/* SPDX-License-Identifier: Apache-2.0 */
/* Internals of the tunnel node shared by node.c (signaling in, one session
 * per peer out), node_hold.c (a restart offer held while the signaling
 * connection is checked) and node_defer.c (a new offer while the session
 * has lost its path). */
#ifndef PEERPIPE_NODE_PRIV_H
#define PEERPIPE_NODE_PRIV_H

#include "peerpipe/sigice.h"
#include "peerpipe/tunnel/node.h"

#define PP_TNODE_EARLY_MAX 64 /* candidates kept per peer before its offer,
                               * and of a held restart offer */
#define PP_TNODE_SEND_QUEUE_PER_LINK 16 /* signaling messages that may wait per
                                         * link: a description, candidates */
/* A peer that rejoined signaling under a new id, while a session with it
 * is up, may be the same process (its WebSocket dropped) or a new one (it
 * restarted, with the same name and identity): the time its old process
 * gets to answer a PING (pp_tsession_check_peer). */
#define PP_TNODE_PEER_CHECK_MS 2000
/* A restart offer is not held when signaling was heard this recently
 * (node_hold.c): longer than the peer check, far shorter than the 10 s in
 * which ICE reports a lost path. */
#define PP_TNODE_SIG_FRESH_MS (PP_TNODE_PEER_CHECK_MS + 500)

/* Whether a queue of n candidates takes one more: up to the bound, and
 * one end-of-candidates marker past it, so that the end of a long
 * gathering is not lost with the candidates dropped before it. */
static inline bool pp_tnode_early_fits(guint n, bool end_marker)
{
	return n < PP_TNODE_EARLY_MAX || (end_marker && n == PP_TNODE_EARLY_MAX);
}

struct pp_tlink_held;

struct pp_tlink {
	struct pp_tnode *node;
	struct pp_sigclient_peer peer;
	struct pp_tsession *session;
	void *data;
	struct pp_ice_server_set ice; /* the room's, when the link was made */
	char log_peer[PP_NAME_MAX + 16];
	bool closed;
	bool offerer;       /* our session made the first offer */
	bool offer_refused; /* the peer's last description here was a new offer
	                     * that made no session: what it trickles is that
	                     * offer's, until its next description */
	struct pp_tlink_held *held; /* our restart offer, until signaling is
	                             * known to carry it (node_hold.c) */
	bool peer_restarted; /* dropped because the peer's process restarted:
	                      * the new one waits for our offer */
	char claimant[PP_PEER_ID_LEN + 1]; /* a newcomer that declares this
	                                    * peer's name and identity while
	                                    * its id is still in the room: if
	                                    * the check finds the peer silent,
	                                    * the session follows it ("" none) */
	char *deferred_offer; /* the peer's new offer, answered if this
	                       * session, its path lost, ends (node_defer.c) */
	GSource *defer_timer; /* the time it has to come back */
};

struct pp_tnode {
	GMainContext *ctx;
	struct pp_tnode_config cfg;
	struct pp_tnode_callbacks cb;
	void *user;
	struct pp_sigclient *sig;
	GHashTable *by_id;   /* peer_id -> link (current address) */
	GHashTable *links;   /* link set */
	GHashTable *roster;  /* peer_id -> struct pp_sigclient_peer * */
	GHashTable *early;   /* peer_id -> GPtrArray of candidate lines ("" = end)
	                      * that came before any offer of that peer */
	json_t *ice_json;
	bool stopping;
	GSource *redial;     /* pending re-offer to peers of the roster */
	guint redial_ms;
};

/* node.c */
/* A session that is up (signaling may still carry its ICE restart). */
bool pp_tnode_link_up(const struct pp_tlink *l);
/* A new session answering an offer from a roster member (want_peer and
 * max_links decide); NULL when none is made. */
struct pp_tlink *pp_tnode_answerer(struct pp_tnode *n, const char *from);
/* A session was made for an offer: the candidates that came first. */
void pp_tnode_replay_early(struct pp_tnode *n, struct pp_tlink *l);
/* A candidate from `from` kept, bounded, for an offer to come. */
void pp_tnode_queue_early(struct pp_tnode *n, const char *from,
                          const struct pp_sigclient_ice *cand);

/* node_defer.c. The peer offers a new session (another SDP o= session)
 * while our session with it has lost its path, and the owner wants no
 * second one (the desktop: one session per gateway). The peer may still
 * have our session (its restart from our new id is on the way: a network
 * change here, the old id still in the room) or none any more (it gave
 * ours up while we could not answer, a laptop asleep; or its process
 * restarted), where our restart cannot come back. Ours gets a few
 * seconds: back, and the offer is refused as before; not, and ours ends
 * ("the peer started a new session") and the offer is answered. The
 * peer's candidates meanwhile are kept for the offer too.
 *
 * defer_offer: true when the offer was kept (the path is lost), false to
 * refuse it as before. */
bool pp_tnode_defer_offer(struct pp_tnode *n, struct pp_tlink *l, const char *sdp);
/* on_path(up) of l: the kept offer is refused. */
void pp_tnode_defer_path_back(struct pp_tlink *l);
/* l ended: the kept offer, if any, is answered. */
void pp_tnode_defer_closed(struct pp_tnode *n, struct pp_tlink *l);
void pp_tnode_defer_clear(struct pp_tlink *l);

/* node_hold.c. The redialing side (the desktop) offers an ICE restart
 * when its path is lost, a gateway as a fallback when none came, and a
 * network change that lost the path may have taken the offerer's
 * WebSocket too: an offer written to a dead one is lost, and the
 * keepalive would notice only after the restart window. So the offer and
 * its candidates are held, the signaling connection is checked
 * (pp_sigclient_check), and they go out once it answered, or from the new
 * peer_id after a reconnect. Unless the server was heard from within
 * PP_TNODE_SIG_FRESH_MS: ICE reports a lost path 10 s after the peer's
 * last answer, so that was after any outage of ours began; a restart
 * after a failed peer check comes 2 s after the signaling message that
 * started it (a restarted gateway's NEW_PEER), which is the proof. Only an
 * outage of ours that begins within those 2 s sends the offer to a dead
 * WebSocket, and then the restart window and the redial recover, as
 * before the hold.
 *
 * hold_sdp/hold_ice: true when the message was held (the caller sends
 * nothing); hold_ice also holds while an offer is held. */
bool pp_tnode_hold_sdp(struct pp_tlink *l, const char *type, const char *sdp);
bool pp_tnode_hold_ice(struct pp_tlink *l, const char *line, const char *mid, int index);
/* Signaling answered the check, or joined again: every held message goes
 * out to its link's peer_id of now. */
void pp_tnode_hold_flush(struct pp_tnode *n);
void pp_tnode_hold_clear(struct pp_tlink *l);

#endif
