/* SPDX-License-Identifier: Apache-2.0 */
/* Internals of the tunnel node shared by node.c (signaling in, one session
 * per peer out) and node_hold.c (a restart offer held while the signaling
 * connection is checked). */
#ifndef PEERPIPE_NODE_PRIV_H
#define PEERPIPE_NODE_PRIV_H

#include "peerpipe/sigice.h"
#include "peerpipe/tunnel/node.h"

#define PP_TNODE_EARLY_MAX 64 /* candidates kept per peer before its offer,
                               * and of a held restart offer */
#define PP_TNODE_SEND_QUEUE_PER_LINK 16 /* signaling messages that may wait per
                                         * link: a description, candidates */

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
	bool offer_refused; /* the peer's last description here was a new offer
	                     * that made no session: what it trickles is that
	                     * offer's, until its next description */
	struct pp_tlink_held *held; /* our restart offer, until signaling is
	                             * known to carry it (node_hold.c) */
	bool peer_restarted; /* dropped because the peer's process restarted:
	                      * the new one waits for our offer */
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

/* node_hold.c. The redialing side (the desktop) offers an ICE restart
 * when its path is lost, a gateway as a fallback when none came, and a
 * network change that lost the path may have taken the offerer's
 * WebSocket too: an offer written to a dead one is lost, and the
 * keepalive would notice only after the restart window. So the offer and
 * its candidates are held, the signaling connection is checked
 * (pp_sigclient_check), and they go out once it answered, or from the new
 * peer_id after a reconnect.
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
