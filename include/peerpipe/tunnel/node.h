/* SPDX-License-Identifier: Apache-2.0 */
/* A tunnel node: one signaling client (sigclient.h) and the tunnel
 * sessions (session.h) it introduces, one per remote peer. Both the
 * gateway and the desktop client are nodes; they differ in whom they
 * want (want_peer) and what they do with sessions (the callbacks).
 *
 * Who offers follows signaling.md §4: the member that gets NEW_PEER
 * offers, the newcomer answers. A session that is up does not depend on
 * signaling: PEER_LEFT or a signaling outage leaves it running (consent
 * freshness ends it if the peer is really gone). After a signaling
 * reconnect the same remote peer shows up under a new peer_id; a
 * connected session with the fingerprint it declares is then kept and
 * re-addressed instead of building a second one (once the old peer_id
 * has left the room, or at once when the peer restarts ICE of that
 * session from the new one). A new offer that makes no session (want_peer
 * refuses it) leaves the connected session with the peer_id. Who may
 * connect is decided only by the DTLS fingerprint check against the
 * pins. */
#ifndef PEERPIPE_TUNNEL_NODE_H
#define PEERPIPE_TUNNEL_NODE_H

#include "peerpipe/sigclient.h"
#include "peerpipe/tunnel/session.h"

struct pp_tnode;
struct pp_tlink;

struct pp_tnode_config {
	struct pp_sigclient_config sig;    /* send_queue_max 0: 16 per link
	                                    * (max_links), at least the
	                                    * sigclient's default */
	struct pp_tsession_config session; /* template for every session; its
	                                    * pins are replaced per link by
	                                    * want_peer's */
	unsigned max_links;                /* 0 = 64 */
	/* When a session ends while its peer is still in the room, offer
	 * again after a backoff (1 s doubling to 30 s). Only one side of a
	 * pair may redial (the desktop), so that two offers never cross. */
	bool redial;
};

struct pp_tnode_callbacks {
	/* A visible peer. Return true to connect to it, with the pins that
	 * its certificate must match (copied). */
	bool (*want_peer)(void *user, const struct pp_sigclient_peer *peer,
	                  const struct pp_fingerprint **pins, size_t *n_pins);
	void (*on_signal_state)(void *user, enum pp_sigclient_state st,
	                        enum pp_sigclient_why why, const char *detail);
	void (*on_ready)(void *user, struct pp_tlink *l);
	void (*on_control)(void *user, struct pp_tlink *l, const struct pp_ctrl_msg *m);
	void (*on_stream_request)(void *user, struct pp_tlink *l, struct pp_sctp_channel *ch);
	void (*on_stream_text)(void *user, struct pp_tlink *l, struct pp_tstream *st,
	                       const struct pp_ctrl_msg *m);
	void (*on_stream_closed)(void *user, struct pp_tlink *l, struct pp_tstream *st,
	                         const char *reason);
	/* The link is freed after this returns. */
	void (*on_link_closed)(void *user, struct pp_tlink *l, const char *reason);
	/* Optional: a READY link's path lost (ICE restarts; its streams wait)
	 * or back (pp_tsession_callbacks.on_path). */
	void (*on_path)(void *user, struct pp_tlink *l, bool up, const char *reason);
};

struct pp_tnode *pp_tnode_new(GMainContext *ctx, const struct pp_tnode_config *cfg,
                              const struct pp_tnode_callbacks *cb, void *user);
/* Drops every session at once (use pp_tnode_shutdown first for BYE). */
void pp_tnode_free(struct pp_tnode *n);
/* BYE to every session and an orderly close; leaves the room. Returns the
 * number of sessions still closing (on_link_closed follows for each). */
unsigned pp_tnode_shutdown(struct pp_tnode *n, const char *reason);
void pp_tnode_foreach_link(struct pp_tnode *n, void (*fn)(struct pp_tlink *l, void *data),
                           void *data);
unsigned pp_tnode_link_count(const struct pp_tnode *n);
struct pp_sigclient *pp_tnode_sigclient(struct pp_tnode *n);

struct pp_tsession *pp_tlink_session(struct pp_tlink *l);
/* As the signaling server announced it (name, role, declared fingerprint). */
const struct pp_sigclient_peer *pp_tlink_peer(const struct pp_tlink *l);
void pp_tlink_set_data(struct pp_tlink *l, void *data);
void *pp_tlink_get_data(const struct pp_tlink *l);

#endif
