/* SPDX-License-Identifier: Apache-2.0 */
/* A tunnel node's ICE restart offer held while its signaling connection
 * is checked: see node_priv.h. */
#include "node_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <string.h>

struct pp_held_cand {
	char *line; /* NULL: end of candidates */
	char *mid;
	int index;
};

struct pp_tlink_held {
	char *sdp;          /* the offer */
	GArray *cands;      /* struct pp_held_cand, in order */
	unsigned dropped;   /* candidates past PP_TNODE_EARLY_MAX */
};

static void pp_held_cand_clear(gpointer data)
{
	struct pp_held_cand *c = data;
	g_free(c->line);
	g_free(c->mid);
}

void pp_tnode_hold_clear(struct pp_tlink *l)
{
	if (!l->held)
		return;
	g_free(l->held->sdp);
	g_array_unref(l->held->cands);
	g_free(l->held);
	l->held = NULL;
}

/* Only a restart is held: an offer of a session that is up, the
 * desktop's or a gateway's fallback (a gateway's network can change
 * too). A first offer goes out at once: its session has no path to lose
 * yet, and the redial covers an offer that went nowhere. */
bool pp_tnode_hold_sdp(struct pp_tlink *l, const char *type, const char *sdp)
{
	struct pp_tnode *n = l->node;
	int rc;

	if (strcmp(type, "offer") != 0 ||
	    pp_tsession_get_state(l->session) != PP_TSESSION_READY)
		return false;
	if (pp_sigclient_heard_within(n->sig, PP_TNODE_SIG_FRESH_MS)) {
		pp_log(PP_LOG_INFO, l->log_peer,
		       "node: ICE restart offer sent at once: signaling was heard within %u ms",
		       PP_TNODE_SIG_FRESH_MS);
		return false;
	}
	pp_tnode_hold_clear(l); /* a newer offer replaces one not yet sent */
	l->held = g_new0(struct pp_tlink_held, 1);
	l->held->sdp = g_strdup(sdp);
	l->held->cands = g_array_new(FALSE, TRUE, sizeof(struct pp_held_cand));
	g_array_set_clear_func(l->held->cands, pp_held_cand_clear);
	rc = pp_sigclient_check(n->sig, 0);
	pp_log(PP_LOG_INFO, l->log_peer, "node: ICE restart offer held until %s",
	       rc == 0 ? "signaling answers" : "signaling is joined again");
	return true;
}

bool pp_tnode_hold_ice(struct pp_tlink *l, const char *line, const char *mid, int index)
{
	struct pp_held_cand c = { 0 };

	if (!l->held)
		return false;
	if (!pp_tnode_early_fits(l->held->cands->len, line == NULL)) {
		l->held->dropped++;
		return true;
	}
	c.line = g_strdup(line);
	c.mid = g_strdup(mid);
	c.index = index;
	g_array_append_val(l->held->cands, c);
	return true;
}

static void pp_tnode_hold_send(struct pp_tlink *l)
{
	const struct pp_tlink_held *h = l->held;
	struct pp_sigclient *sig = l->node->sig;
	int rc = pp_sigclient_send_sdp(sig, l->peer.peer_id, "offer", h->sdp);

	if (rc < 0)
		pp_log(PP_LOG_WARN, l->log_peer, "node: held offer not sent: %s", pp_strerror(rc));
	else
		pp_log(PP_LOG_INFO, l->log_peer, "node: held ICE restart offer sent (%u candidates%s)",
		       h->cands->len, h->dropped ? ", some dropped past the limit" : "");
	for (guint i = 0; rc == 0 && i < h->cands->len; i++) {
		const struct pp_held_cand *c = &g_array_index(h->cands, struct pp_held_cand, i);
		pp_sigclient_send_ice(sig, l->peer.peer_id, c->line, c->mid, c->index);
	}
	pp_tnode_hold_clear(l);
}

void pp_tnode_hold_flush(struct pp_tnode *n)
{
	GHashTableIter it;
	gpointer key;

	g_hash_table_iter_init(&it, n->links);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		struct pp_tlink *l = key;
		if (l->held && !l->closed)
			pp_tnode_hold_send(l);
	}
}
