/* SPDX-License-Identifier: Apache-2.0 */
/* A tunnel node: signaling in, one session per remote peer out. See
 * peerpipe/tunnel/node.h. */
#include "node_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/ice.h"
#include "peerpipe/sigice.h"
#include "peerpipe/source.h"

#include <stdlib.h>
#include <string.h>

#define PP_TNODE_REDIAL_MIN_MS 1000
#define PP_TNODE_REDIAL_MAX_MS 30000
#define PP_TNODE_REDIAL_AFTER_JOIN_MS 3000
/* A gateway's wait for a desktop's ICE restart before it offers one: a
 * desktop that lost the path too sees it within a consent period (4-6 s)
 * of us, usually sooner; two offers that cross are settled by pp_peer. */
#define PP_TNODE_RESTART_WAIT_MS 2000

static const struct pp_tsession_callbacks pp_tnode_session_cb;

/* --- links ---------------------------------------------------------------------- */

static void pp_tlink_free(struct pp_tlink *l)
{
	pp_tnode_defer_clear(l);
	pp_tsession_free(l->session);
	pp_tnode_hold_clear(l);
	pp_ice_server_set_clear(&l->ice);
	g_free(l);
}

/* Links whose session has not ended: one that has (a pending offer
 * replaced, a session dropped) is freed at the next idle, and must not
 * take the place of the one made for its peer meanwhile. */
static guint pp_tnode_open_links(struct pp_tnode *n)
{
	GHashTableIter it;
	gpointer key;
	guint open = 0;

	g_hash_table_iter_init(&it, n->links);
	while (g_hash_table_iter_next(&it, &key, NULL))
		open += pp_tsession_get_state(((struct pp_tlink *)key)->session) != PP_TSESSION_CLOSED;
	return open;
}

static struct pp_tlink *pp_tnode_link_new(struct pp_tnode *n, const struct pp_sigclient_peer *peer,
                                          bool offerer)
{
	const struct pp_fingerprint *pins = NULL;
	size_t n_pins = 0;
	struct pp_tsession_config sc = n->cfg.session;
	struct pp_tlink *l;

	if (n->stopping || !n->cb.want_peer(n->user, peer, &pins, &n_pins))
		return NULL;
	if (pp_tnode_open_links(n) >= n->cfg.max_links) {
		pp_log(PP_LOG_WARN, peer->name, "node: %u sessions already: peer refused",
		       n->cfg.max_links);
		return NULL;
	}
	l = g_new0(struct pp_tlink, 1);
	l->node = n;
	l->peer = *peer;
	g_snprintf(l->log_peer, sizeof(l->log_peer), "%s/%.6s", peer->name, peer->peer_id);
	pp_ice_server_set_take(&l->ice, n->ice_json);
	sc.offerer = offerer;
	/* A lost path gets ICE restarts before the session is given up: the
	 * side that redials (the desktop) offers them, a gateway waits for
	 * them from a desktop, and offers one itself when none comes (the
	 * desktop's own path may look fine: consent expires by each side's
	 * clock, and a path can fail one way only). Between gateways neither
	 * redials: ICE failure stays final there, as before. */
	sc.ice_restart = n->cfg.redial;
	sc.peer.ice_restart_ok = n->cfg.redial || peer->role == PP_ROLE_DESKTOP;
	if (!n->cfg.redial && peer->role == PP_ROLE_DESKTOP)
		sc.ice_restart_wait_ms = PP_TNODE_RESTART_WAIT_MS;
	/* The desktop's restart is the one that counts: the gateway's own
	 * goes to the desktop's signaling id of before the outage, which may
	 * be dead (a network change takes the WebSocket too), while the
	 * desktop's comes from where it is now. */
	if (n->cfg.redial)
		sc.peer.restart_glare = PP_PEER_GLARE_STAND;
	else if (peer->role == PP_ROLE_DESKTOP)
		sc.peer.restart_glare = PP_PEER_GLARE_YIELD;
	sc.peer.pins = pins;
	sc.peer.n_pins = n_pins;
	sc.peer.ice_servers = l->ice.v;
	sc.peer.n_ice_servers = l->ice.n;
	sc.peer.log_peer = l->log_peer;
	l->session = pp_tsession_new(n->ctx, &sc, &pp_tnode_session_cb, l);
	if (!l->session || (offerer && pp_tsession_start_offer(l->session) < 0)) {
		pp_log(PP_LOG_WARN, l->log_peer, "node: cannot start a session");
		pp_tlink_free(l);
		return NULL;
	}
	l->offerer = offerer;
	g_hash_table_add(n->links, l);
	g_hash_table_replace(n->by_id, l->peer.peer_id, l);
	return l;
}

/* Two roster entries for the same declared peer: a fingerprint (without
 * one nothing can be matched), and the same one and name. */
static bool pp_tnode_same_peer(const struct pp_sigclient_peer *a,
                               const struct pp_sigclient_peer *b)
{
	return a->fingerprint[0] && strcmp(a->fingerprint, b->fingerprint) == 0 &&
	       strcmp(a->name, b->name) == 0;
}

/* A connected session that the peer (declared fingerprint) already has:
 * after a signaling reconnect it comes back under a new peer_id. Only a
 * session whose peer_id has left the room qualifies: name and fingerprint
 * are only declared, so a second member claiming them while the first is
 * still there must not take over its signaling address. */
static struct pp_tlink *pp_tnode_find_live(struct pp_tnode *n, const struct pp_sigclient_peer *peer)
{
	GHashTableIter it;
	gpointer key;

	g_hash_table_iter_init(&it, n->links);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		struct pp_tlink *l = key;
		if (!l->closed && pp_tsession_get_state(l->session) == PP_TSESSION_READY &&
		    pp_tnode_same_peer(peer, &l->peer) &&
		    !g_hash_table_contains(n->roster, l->peer.peer_id))
			return l;
	}
	return NULL;
}

bool pp_tnode_link_up(const struct pp_tlink *l)
{
	return l && !l->closed && pp_tsession_get_state(l->session) == PP_TSESSION_READY;
}

/* An offer from `from` that continues one of our live sessions under
 * another peer_id (the same o= session): that session's peer came back
 * under a new id, its old one perhaps still in the room (a connection
 * that died without a close), and restarts ICE. Knowing a connection's
 * o= session (63 random bits, seen only by its two peers and the
 * signaling server) is more than declaring a name and a fingerprint, so
 * unlike find_live this does not wait for the old id to leave; pp_peer
 * still refuses a re-offer whose DTLS fingerprint or role is not the
 * session's. */
static struct pp_tlink *pp_tnode_find_continued(struct pp_tnode *n, const char *from,
                                                const char *sdp)
{
	const struct pp_sigclient_peer *peer = g_hash_table_lookup(n->roster, from);
	GHashTableIter it;
	gpointer key;

	if (!peer)
		return NULL;
	g_hash_table_iter_init(&it, n->links);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		struct pp_tlink *l = key;
		if (pp_tnode_link_up(l) && strcmp(l->peer.peer_id, from) != 0 &&
		    pp_tnode_same_peer(peer, &l->peer) &&
		    pp_peer_offer_continues(pp_tsession_peer(l->session), sdp, strlen(sdp)))
			return l;
	}
	return NULL;
}

/* The session's peer is now known as peer_id. A restart offer of ours
 * already sent went to its previous id, where nothing answers any more:
 * the peer's own restart is then answered, not refused in glare (a held
 * offer is not lost: it goes out to the new id). */
static void pp_tnode_readdress(struct pp_tnode *n, struct pp_tlink *l, const char *peer_id)
{
	if (strcmp(l->peer.peer_id, peer_id) != 0 && !l->held)
		pp_peer_restart_offer_lost(pp_tsession_peer(l->session));
	if (g_hash_table_lookup(n->by_id, l->peer.peer_id) == l)
		g_hash_table_remove(n->by_id, l->peer.peer_id);
	pp_log(PP_LOG_INFO, l->log_peer, "node: session kept, peer now known as %.8s", peer_id);
	l->claimant[0] = '\0'; /* settled */
	g_strlcpy(l->peer.peer_id, peer_id, sizeof(l->peer.peer_id));
	g_hash_table_replace(n->by_id, l->peer.peer_id, l);
}

/* l now follows its peer's new signaling id. On the side that restarts
 * ICE, check that the process behind it is still l's: a gateway that
 * restarted joins with the same name and identity and waits for our
 * offer, which we would otherwise not make before consent expired and
 * the ICE restarts failed (half a minute). */
static void pp_tnode_check_rejoined(struct pp_tnode *n, struct pp_tlink *l)
{
	if (n->cfg.redial)
		pp_tsession_check_peer(l->session, PP_TNODE_PEER_CHECK_MS);
}

/* A roster member that is the peer of l under another id and has no
 * session of its own: l's peer came back before its old id left (the
 * server drops a connection that died without a close only at its ping
 * timeout, so NEW_PEER of the new one can come first). */
static const struct pp_sigclient_peer *pp_tnode_successor(struct pp_tnode *n,
                                                          const struct pp_tlink *l)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, n->roster);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const struct pp_sigclient_peer *peer = value;
		if (strcmp(peer->peer_id, l->peer.peer_id) != 0 && pp_tnode_same_peer(&l->peer, peer) &&
		    !g_hash_table_contains(n->by_id, peer->peer_id))
			return peer;
	}
	return NULL;
}

/* A newcomer declares the name and identity of the peer of live session
 * l, whose id is still in the room: a second process (refused, as ever),
 * or the peer back after its old connection died without a close (a
 * crash or a lost host: the server keeps the old id until its ping
 * timeout, 30 s by default). On the side that restarts ICE, l is checked
 * as after a rejoin; if its peer is silent (pp_tnode_peer_silent), the
 * session follows the newcomer before it restarts ICE, and a new process
 * answers for a session of its own, as after a restart. Name and identity
 * are only declared, but a newcomer gets no more than an ICE restart offer
 * for a session whose peer has gone silent; the new session that may
 * follow checks the pinned fingerprint. */
static void pp_tnode_check_claimed(struct pp_tnode *n, const struct pp_sigclient_peer *peer)
{
	GHashTableIter it;
	gpointer key;

	if (!n->cfg.redial)
		return;
	g_hash_table_iter_init(&it, n->links);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		struct pp_tlink *l = key;
		if (!pp_tnode_link_up(l) || !pp_tnode_same_peer(peer, &l->peer) ||
		    strcmp(l->peer.peer_id, peer->peer_id) == 0 ||
		    !g_hash_table_contains(n->roster, l->peer.peer_id))
			continue;
		if (pp_tsession_check_peer(l->session, PP_TNODE_PEER_CHECK_MS) < 0)
			continue;
		pp_log(PP_LOG_INFO, l->log_peer,
		       "node: %.8s declares this peer's name and identity: is the peer still there?",
		       peer->peer_id);
		g_strlcpy(l->claimant, peer->peer_id, sizeof(l->claimant));
	}
}

/* pp_tsession_check_peer heard nothing (on_peer_silent): the session
 * follows the claimant, if it is still in the room without a session and
 * nothing re-addressed this one meanwhile. */
static void pp_tnode_peer_silent(void *user, struct pp_tsession *s)
{
	struct pp_tlink *l = user;
	struct pp_tnode *n = l->node;
	char id[PP_PEER_ID_LEN + 1];

	if (!l->claimant[0])
		return;
	g_strlcpy(id, l->claimant, sizeof(id));
	l->claimant[0] = '\0';
	if (!g_hash_table_contains(n->roster, id) || g_hash_table_contains(n->by_id, id))
		return;
	pp_log(PP_LOG_WARN, l->log_peer,
	       "node: the peer is silent, and %.8s declares its name and identity: the session "
	       "follows it",
	       id);
	/* Its old id is taken for gone, as the server will say at its ping
	 * timeout: no redial offers to it meanwhile. */
	g_hash_table_remove(n->roster, l->peer.peer_id);
	pp_tnode_readdress(n, l, id);
}

/* Some roster member has no session: the redial may make one. */
static bool pp_tnode_roster_unlinked(struct pp_tnode *n)
{
	GHashTableIter it;
	gpointer key;

	g_hash_table_iter_init(&it, n->roster);
	while (g_hash_table_iter_next(&it, &key, NULL))
		if (!g_hash_table_contains(n->by_id, key))
			return true;
	return false;
}

/* --- session callbacks ------------------------------------------------------------- */

static void pp_tnode_send_sdp(void *user, struct pp_tsession *s, const char *type, const char *sdp)
{
	struct pp_tlink *l = user;
	int rc;

	if (pp_tnode_hold_sdp(l, type, sdp))
		return;
	rc = pp_sigclient_send_sdp(l->node->sig, l->peer.peer_id, type, sdp);
	if (rc < 0)
		pp_log(PP_LOG_WARN, l->log_peer, "node: %s not sent: %s", type, pp_strerror(rc));
}

static void pp_tnode_send_ice(void *user, struct pp_tsession *s, const char *line, const char *mid,
                              unsigned index)
{
	struct pp_tlink *l = user;

	if (!pp_tnode_hold_ice(l, line, mid, (int)index))
		pp_sigclient_send_ice(l->node->sig, l->peer.peer_id, line, mid, (int)index);
}

static void pp_tnode_ready(void *user, struct pp_tsession *s)
{
	struct pp_tlink *l = user;
	l->node->redial_ms = 0; /* a session worked: the backoff starts over */
	if (l->node->cb.on_ready)
		l->node->cb.on_ready(l->node->user, l);
}

static void pp_tnode_control(void *user, struct pp_tsession *s, const struct pp_ctrl_msg *m)
{
	struct pp_tlink *l = user;
	if (l->node->cb.on_control)
		l->node->cb.on_control(l->node->user, l, m);
}

static void pp_tnode_stream_request(void *user, struct pp_tsession *s, struct pp_sctp_channel *ch)
{
	struct pp_tlink *l = user;
	if (l->node->cb.on_stream_request)
		l->node->cb.on_stream_request(l->node->user, l, ch);
	else
		pp_sctp_channel_close(ch);
}

static void pp_tnode_stream_text(void *user, struct pp_tsession *s, struct pp_tstream *st,
                                 const struct pp_ctrl_msg *m)
{
	struct pp_tlink *l = user;
	if (l->node->cb.on_stream_text)
		l->node->cb.on_stream_text(l->node->user, l, st, m);
}

static void pp_tnode_stream_closed(void *user, struct pp_tsession *s, struct pp_tstream *st,
                                   const char *reason)
{
	struct pp_tlink *l = user;
	if (l->node->cb.on_stream_closed)
		l->node->cb.on_stream_closed(l->node->user, l, st, reason);
}

static void pp_tnode_path(void *user, struct pp_tsession *s, bool up, const char *reason)
{
	struct pp_tlink *l = user;
	if (up)
		pp_tnode_defer_path_back(l);
	if (l->node->cb.on_path)
		l->node->cb.on_path(l->node->user, l, up, reason);
}

static gboolean pp_tnode_free_link_idle(gpointer data)
{
	pp_tlink_free(data);
	return G_SOURCE_REMOVE;
}

/* Offers to every roster peer we want and have no session with. */
static gboolean pp_tnode_redial_fire(gpointer data)
{
	struct pp_tnode *n = data;
	GList *peers = g_hash_table_get_values(n->roster);

	g_source_unref(n->redial);
	n->redial = NULL;
	for (GList *l = peers; l; l = l->next) {
		struct pp_sigclient_peer *peer = l->data;
		if (!g_hash_table_lookup(n->by_id, peer->peer_id) && !pp_tnode_find_live(n, peer))
			pp_tnode_link_new(n, peer, true);
	}
	g_list_free(peers);
	return G_SOURCE_REMOVE;
}

static void pp_tnode_redial_later(struct pp_tnode *n)
{
	if (!n->cfg.redial || n->stopping || n->redial)
		return;
	n->redial_ms = n->redial_ms ? MIN(n->redial_ms * 2, PP_TNODE_REDIAL_MAX_MS)
	                            : PP_TNODE_REDIAL_MIN_MS;
	pp_log(PP_LOG_INFO, NULL, "node: offering again in %u ms", n->redial_ms);
	n->redial = g_timeout_source_new(n->redial_ms);
	g_source_set_callback(n->redial, pp_tnode_redial_fire, n, NULL);
	g_source_attach(n->redial, n->ctx);
}

static void pp_tnode_session_closed(void *user, struct pp_tsession *s, const char *reason)
{
	struct pp_tlink *l = user;
	struct pp_tnode *n = l->node;

	l->closed = true;
	if (n->cb.on_link_closed)
		n->cb.on_link_closed(n->user, l, reason);
	if (g_hash_table_lookup(n->by_id, l->peer.peer_id) == l)
		g_hash_table_remove(n->by_id, l->peer.peer_id);
	g_hash_table_remove(n->links, l);
	/* Its id is free: a live session of the same peer whose old id has
	 * left the room follows it (PEER_LEFT could not while this one, say
	 * an offer the peer refused, held the id). */
	const struct pp_sigclient_peer *peer = g_hash_table_lookup(n->roster, l->peer.peer_id);
	struct pp_tlink *live;
	if (peer && !g_hash_table_contains(n->by_id, peer->peer_id) &&
	    (live = pp_tnode_find_live(n, peer)))
		pp_tnode_readdress(n, live, peer->peer_id);
	/* Its peer, under this id or a new one (it came back while the
	 * session lived on), or any other member without a session. */
	pp_tnode_defer_closed(n, l);
	if (l->peer_restarted && n->cfg.redial && !n->stopping) {
		/* its new process waits for our offer: no backoff */
		pp_source_clear(&n->redial);
		n->redial = pp_source_timeout(n->ctx, 0, pp_tnode_redial_fire, n);
		pp_log(PP_LOG_INFO, l->log_peer, "node: offering to the restarted peer now");
	} else if (pp_tnode_roster_unlinked(n)) {
		pp_tnode_redial_later(n);
	}
	/* Not from inside the session's own callback. */
	GSource *idle = g_idle_source_new();
	g_source_set_callback(idle, pp_tnode_free_link_idle, l, NULL);
	g_source_attach(idle, n->ctx);
	g_source_unref(idle);
}

static const struct pp_tsession_callbacks pp_tnode_session_cb = {
	.send_sdp = pp_tnode_send_sdp,
	.send_ice = pp_tnode_send_ice,
	.on_ready = pp_tnode_ready,
	.on_control = pp_tnode_control,
	.on_stream_request = pp_tnode_stream_request,
	.on_stream_text = pp_tnode_stream_text,
	.on_stream_closed = pp_tnode_stream_closed,
	.on_closed = pp_tnode_session_closed,
	.on_path = pp_tnode_path,
	.on_peer_silent = pp_tnode_peer_silent,
};

/* --- signaling callbacks ------------------------------------------------------------- */

static void pp_tnode_sig_state(void *user, enum pp_sigclient_state st, enum pp_sigclient_why why,
                               const char *detail)
{
	struct pp_tnode *n = user;

	if (st != PP_SIGCLIENT_JOINED) {
		g_hash_table_remove_all(n->roster); /* a new session will list everyone */
		g_hash_table_remove_all(n->early);
	}
	if (n->cb.on_signal_state)
		n->cb.on_signal_state(n->user, st, why, detail);
}

static void pp_tnode_remember(struct pp_tnode *n, const struct pp_sigclient_peer *peer)
{
	struct pp_sigclient_peer *copy = g_memdup2(peer, sizeof(*peer));
	g_hash_table_replace(n->roster, copy->peer_id, copy);
}

static void pp_tnode_sig_joined(void *user, const char *peer_id, const struct pp_sigclient_peer *peers,
                                size_t n_peers, json_t *ice_servers)
{
	struct pp_tnode *n = user;

	json_decref(n->ice_json);
	n->ice_json = json_is_array(ice_servers) ? json_incref(ice_servers) : NULL;
	for (size_t i = 0; i < n_peers; i++) {
		struct pp_tlink *live = pp_tnode_find_live(n, &peers[i]);
		pp_tnode_remember(n, &peers[i]);
		if (live)
			pp_tnode_readdress(n, live, peers[i].peer_id);
	}
	pp_tnode_hold_flush(n); /* from the new id, to the peers' ids of now */
	/* We are the newcomer to everyone listed: they offer. A member that
	 * still has a session with our previous incarnation (we restarted)
	 * may not; the redialing side offers itself after 3 s (well after the
	 * offers of members that do, so that two offers do not cross). */
	if (!n->redial_ms)
		n->redial_ms = PP_TNODE_REDIAL_AFTER_JOIN_MS / 2;
	pp_tnode_redial_later(n);
}

static void pp_tnode_sig_new_peer(void *user, const struct pp_sigclient_peer *peer)
{
	struct pp_tnode *n = user;
	struct pp_tlink *live = pp_tnode_find_live(n, peer);
	struct pp_tlink *old = g_hash_table_lookup(n->by_id, peer->peer_id);

	pp_tnode_remember(n, peer);
	if (live) {
		pp_tnode_readdress(n, live, peer->peer_id);
		pp_tnode_check_rejoined(n, live);
		return;
	}
	pp_tnode_check_claimed(n, peer);
	if (old) /* a fresh id is never reused; be safe */
		pp_tsession_close(old->session, NULL);
	pp_tnode_link_new(n, peer, true); /* the existing member offers */
}

struct pp_tlink *pp_tnode_answerer(struct pp_tnode *n, const char *from)
{
	const struct pp_sigclient_peer *peer = g_hash_table_lookup(n->roster, from);

	if (!peer) {
		pp_log(PP_LOG_INFO, NULL, "node: signaling from unknown peer %.8s ignored", from);
		return NULL;
	}
	return pp_tnode_link_new(n, peer, false);
}

void pp_tnode_replay_early(struct pp_tnode *n, struct pp_tlink *l)
{
	GPtrArray *q = g_hash_table_lookup(n->early, l->peer.peer_id);

	for (guint i = 0; q && i < q->len; i++) {
		const char *line = g_ptr_array_index(q, i);
		pp_tsession_remote_candidate(l->session, line[0] ? line : NULL);
	}
	g_hash_table_remove(n->early, l->peer.peer_id);
}

/* The peer of live session l restarts ICE from its new id `from` (see
 * find_continued): the session answers there from now on. What `from`
 * had here (our offer, left unanswered by a peer that keeps this
 * session) can no longer be reached and ends. */
static struct pp_tlink *pp_tnode_follow_restart(struct pp_tnode *n, struct pp_tlink *l,
                                                const char *from)
{
	struct pp_tlink *pending = g_hash_table_lookup(n->by_id, from);

	pp_log(PP_LOG_INFO, l->log_peer, "node: ICE restart from the peer's new id %.8s", from);
	pp_tnode_readdress(n, l, from);
	if (pending)
		pp_tsession_close(pending->session, NULL);
	return l;
}

static void pp_tnode_sig_sdp(void *user, const char *from, const char *type, const char *sdp)
{
	struct pp_tnode *n = user;
	struct pp_tlink *l = g_hash_table_lookup(n->by_id, from), *live;
	bool offer = strcmp(type, "offer") == 0;
	bool fresh = false;
	int rc;

	if (!offer && pp_tnode_link_up(l) && pp_tsession_restarts(l->session) &&
	    pp_peer_other_session(pp_tsession_peer(l->session), sdp, strlen(sdp))) {
		/* The answer to our ICE restart comes from a process that does
		 * not have this session: the peer restarted. Its new process
		 * waits for our offer: the redial makes it. */
		pp_log(PP_LOG_WARN, l->log_peer,
		       "node: the answer to our ICE restart is for another session: the peer "
		       "restarted; this session ends and a new one is offered");
		l->peer_restarted = true;
		pp_tsession_drop(l->session, "the peer restarted");
		return;
	}
	if (offer && l && !l->closed && !pp_tnode_link_up(l) &&
	    pp_peer_other_session(pp_tsession_peer(l->session), sdp, strlen(sdp))) {
		/* The peer gave up the connection it offered before, which never
		 * came up here (it was, say, an ICE restart of a session this
		 * process never had), and offers another: that one is answered. */
		pp_log(PP_LOG_INFO, l->log_peer, "node: a new offer replaces the one not connected yet");
		pp_tsession_close(l->session, NULL);
		l = NULL;
	}
	if (offer && !pp_tnode_link_up(l) && (live = pp_tnode_find_continued(n, from, sdp)))
		l = pp_tnode_follow_restart(n, live, from);
	if (offer && l && !l->closed && l->offerer && !pp_tnode_link_up(l)) {
		/* Our first offer is out, unanswered, and the peer offers too:
		 * its ICE restart of a session we no longer have (it was away
		 * while ours ended), or two first offers crossing (the desktop
		 * redials 3 s after joining when no offer came). signaling.md
		 * has no glare, so one side settles it: the side that does not
		 * redial keeps its offer (the peer answers it, giving up its old
		 * session for it: node_defer.c), the redialing side drops its
		 * own and answers. */
		if (!n->cfg.redial) {
			pp_log(PP_LOG_INFO, l->log_peer, "node: an offer crossed ours: ours stands");
			return;
		}
		pp_log(PP_LOG_INFO, l->log_peer, "node: an offer crossed ours: the peer's is answered");
		pp_tsession_close(l->session, NULL);
		l = NULL;
	}
	if (offer && pp_tnode_link_up(l)) {
		l->offer_refused = false;
		if (pp_peer_offer_continues(pp_tsession_peer(l->session), sdp, strlen(sdp))) {
			/* The same connection offered again (its o= session): an
			 * ICE restart after the peer's path changed. pp_peer
			 * refuses it unless the DTLS fingerprint and role are the
			 * session's; the session carries on either way. */
			rc = pp_tsession_remote_sdp(l->session, type, sdp);
			/* PP_ERR_STATE: our own restart offer stands (glare,
			 * which pp_peer logs): the expected end of a crossing */
			if (rc < 0)
				pp_log(rc == PP_ERR_STATE ? PP_LOG_INFO : PP_LOG_WARN, l->log_peer,
				       "node: re-offer refused: %s", pp_strerror(rc));
			return;
		}
		/* A new offer for a session that is up: the peer started over
		 * (its process restarted; we kept the session re-addressed),
		 * or it has not matched its new signaling id to this session
		 * (we rejoined while our old id was still in the room). If a
		 * new session is made, it takes the peer_id and the old one
		 * runs on until it ends. If not (want_peer: one session per
		 * gateway on the desktop; max_links), the session that is up
		 * keeps the id, or its ICE restart's answer and candidates
		 * would be lost. signaling.md has no way to decline an offer:
		 * the offerer hears nothing and its session ends unconnected,
		 * as with any peer we do not want. */
		struct pp_tlink *next = pp_tnode_answerer(n, from);
		if (!next && pp_tnode_defer_offer(n, l, sdp))
			return;
		if (!next) {
			pp_log(PP_LOG_INFO, l->log_peer,
			       "node: a new offer refused: the session that is up keeps the peer");
			l->offer_refused = true;
			return;
		}
		pp_log(PP_LOG_INFO, l->log_peer, "node: a new offer: the peer starts a new session");
		l = next;
		fresh = true;
	} else if (!l && offer) {
		fresh = (l = pp_tnode_answerer(n, from)) != NULL;
	}
	if (!l || l->closed)
		return;
	l->offer_refused = false;
	rc = pp_tsession_remote_sdp(l->session, type, sdp);
	if (fresh && rc == 0)
		pp_tnode_replay_early(n, l);
	if (rc < 0) {
		pp_log(PP_LOG_WARN, l->log_peer, "node: remote %s refused: %s", type, pp_strerror(rc));
		if (pp_tsession_get_state(l->session) != PP_TSESSION_READY)
			pp_tsession_close(l->session, NULL);
	}
}

void pp_tnode_queue_early(struct pp_tnode *n, const char *from, const struct pp_sigclient_ice *cand)
{
	GPtrArray *q = g_hash_table_lookup(n->early, from);

	if (!g_hash_table_contains(n->roster, from))
		return;
	if (!q) {
		q = g_ptr_array_new_with_free_func(g_free);
		g_hash_table_insert(n->early, g_strdup(from), q);
	}
	if (pp_tnode_early_fits(q->len, !(cand && cand->candidate[0])))
		g_ptr_array_add(q, g_strdup(cand && cand->candidate[0] ? cand->candidate : ""));
}

static void pp_tnode_sig_ice(void *user, const char *from, const struct pp_sigclient_ice *cand)
{
	struct pp_tnode *n = user;
	struct pp_tlink *l = g_hash_table_lookup(n->by_id, from);

	if (!l) {
		/* Before its offer (trickle may overtake it), or a stray one for
		 * a session that is gone: kept, bounded, for the offer to come.
		 * A candidate never makes a session by itself. */
		pp_tnode_queue_early(n, from, cand);
		return;
	}
	if (l->closed)
		return;
	/* A new offer waits (node_defer.c): its candidates are kept for it;
	 * our restart's go to the session, which drops the others by ufrag. */
	if (l->deferred_offer) {
		pp_tnode_queue_early(n, from, cand);
		if (!(cand && cand->candidate[0]))
			return;
	}
	/* After a new offer we refused, the peer's candidates are that
	 * offer's: pp_ice drops them by their ufrag (another generation), but
	 * an end of candidates names none and would end this session's. */
	if (l->offer_refused && !(cand && cand->candidate[0]))
		return;
	pp_tsession_remote_candidate(l->session, cand && cand->candidate[0] ? cand->candidate : NULL);
}


static void pp_tnode_sig_left(void *user, const char *peer_id)
{
	struct pp_tnode *n = user;
	struct pp_tlink *l = g_hash_table_lookup(n->by_id, peer_id);

	const struct pp_sigclient_peer *next;

	g_hash_table_remove(n->roster, peer_id);
	g_hash_table_remove(n->early, peer_id);
	if (!l || l->closed)
		return;
	/* A P2P path that is up does not need signaling: keep it, and follow
	 * its peer if it is already back under a new id (else a later ICE
	 * restart or redial would go to the id that left). */
	if (pp_tsession_get_state(l->session) != PP_TSESSION_READY)
		pp_tsession_close(l->session, NULL);
	else if ((next = pp_tnode_successor(n, l))) {
		pp_tnode_readdress(n, l, next->peer_id);
		pp_tnode_check_rejoined(n, l);
	}
}

static void pp_tnode_sig_error(void *user, const char *code, const char *message, const char *ref)
{
	pp_log(PP_LOG_WARN, NULL, "signaling: error %s (%s) on %s", code, message ? message : "",
	       ref ? ref : "-");
}

static void pp_tnode_sig_checked(void *user)
{
	pp_tnode_hold_flush(user);
}

static const struct pp_sigclient_callbacks pp_tnode_sig_cb = {
	.on_state = pp_tnode_sig_state,
	.on_joined = pp_tnode_sig_joined,
	.on_new_peer = pp_tnode_sig_new_peer,
	.on_sdp = pp_tnode_sig_sdp,
	.on_ice = pp_tnode_sig_ice,
	.on_peer_left = pp_tnode_sig_left,
	.on_error = pp_tnode_sig_error,
	.on_checked = pp_tnode_sig_checked,
};

/* --- node ------------------------------------------------------------------------------- */

struct pp_tnode *pp_tnode_new(GMainContext *ctx, const struct pp_tnode_config *cfg,
                              const struct pp_tnode_callbacks *cb, void *user)
{
	struct pp_tnode *n = g_new0(struct pp_tnode, 1);

	n->ctx = ctx;
	n->cfg = *cfg;
	if (!n->cfg.max_links)
		n->cfg.max_links = 64;
	n->cb = *cb;
	n->user = user;
	n->by_id = g_hash_table_new(g_str_hash, g_str_equal);
	n->links = g_hash_table_new(NULL, NULL);
	n->roster = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
	n->early = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	                                 (GDestroyNotify)g_ptr_array_unref);
	/* All links' signaling goes through one connection: when the paths
	 * of many fail at once (a gateway's uplink), every session restarts
	 * ICE together, each with a description and its candidates. */
	struct pp_sigclient_config sc = cfg->sig;
	if (!sc.send_queue_max)
		sc.send_queue_max = MAX(PP_TNODE_SEND_QUEUE_PER_LINK * n->cfg.max_links,
		                        (unsigned)PP_SIGCLIENT_SEND_QUEUE_DEFAULT);
	n->sig = pp_sigclient_new(ctx, &sc, &pp_tnode_sig_cb, n);
	if (!n->sig) {
		pp_tnode_free(n);
		return NULL;
	}
	return n;
}

void pp_tnode_free(struct pp_tnode *n)
{
	GHashTableIter it;
	gpointer key;

	if (!n)
		return;
	pp_sigclient_free(n->sig);
	pp_source_clear(&n->redial);
	g_hash_table_iter_init(&it, n->links);
	while (g_hash_table_iter_next(&it, &key, NULL))
		pp_tlink_free(key);
	g_hash_table_destroy(n->links);
	g_hash_table_destroy(n->by_id);
	g_hash_table_destroy(n->roster);
	g_hash_table_destroy(n->early);
	json_decref(n->ice_json);
	g_free(n);
}

unsigned pp_tnode_shutdown(struct pp_tnode *n, const char *reason)
{
	GList *links = g_hash_table_get_keys(n->links);

	n->stopping = true;
	for (GList *l = links; l; l = l->next) {
		struct pp_tlink *link = l->data;
		if (!link->closed)
			pp_tsession_close(link->session, reason);
	}
	g_list_free(links);
	if (pp_sigclient_get_state(n->sig) == PP_SIGCLIENT_JOINED)
		pp_sigclient_leave(n->sig);
	return g_hash_table_size(n->links);
}

void pp_tnode_foreach_link(struct pp_tnode *n, void (*fn)(struct pp_tlink *l, void *data),
                           void *data)
{
	GList *links = g_hash_table_get_keys(n->links);

	for (GList *l = links; l; l = l->next)
		if (!((struct pp_tlink *)l->data)->closed)
			fn(l->data, data);
	g_list_free(links);
}

unsigned pp_tnode_link_count(const struct pp_tnode *n)
{
	return g_hash_table_size(n->links);
}

struct pp_sigclient *pp_tnode_sigclient(struct pp_tnode *n)
{
	return n->sig;
}

struct pp_tsession *pp_tlink_session(struct pp_tlink *l)
{
	return l->session;
}

const struct pp_sigclient_peer *pp_tlink_peer(const struct pp_tlink *l)
{
	return &l->peer;
}

void pp_tlink_set_data(struct pp_tlink *l, void *data)
{
	l->data = data;
}

void *pp_tlink_get_data(const struct pp_tlink *l)
{
	return l->data;
}
