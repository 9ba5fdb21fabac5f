/* SPDX-License-Identifier: Apache-2.0 */
#include "room.h"

#include "cluster.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <inttypes.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static bool sig_roles_visible(enum pp_role a, enum pp_role b)
{
	return !(a == PP_ROLE_DESKTOP && b == PP_ROLE_DESKTOP);
}

size_t sig_room_count(struct sig_server *srv)
{
	return g_hash_table_size(srv->rooms);
}

struct sig_room *sig_room_lookup(struct sig_server *srv, const char *name)
{
	return g_hash_table_lookup(srv->rooms, name);
}

int sig_room_route(struct sig_server *srv, struct sig_peer *from, const char *id,
                   struct sig_route *out)
{
	struct sig_room *r = from->room;
	struct sig_peer *p = g_hash_table_lookup(srv->peers, id);

	out->local = NULL;
	out->remote = NULL;
	if (!r || !from->joined)
		return PP_ERR_NOT_FOUND;
	if (p && p != from && sig_peer_announced(p) && p->room == r &&
	    sig_roles_visible(from->role, p->role)) {
		out->local = p;
		return 0;
	}
	const struct sig_remote *m = r->remote ? g_hash_table_lookup(r->remote, id) : NULL;
	if (m && sig_roles_visible(from->role, m->role)) {
		out->remote = m;
		return 0;
	}
	return PP_ERR_NOT_FOUND;
}

/* The peer object of signaling.md §3, as JSON text (malloc'd). */
static char *sig_peer_json(const struct sig_peer *p)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "peer_id", p->id, "name", p->name,
	                      "role", pp_role_name(p->role));
	if (o && p->fingerprint)
		json_object_set_new(o, "fingerprint", json_string(p->fingerprint));
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

int sig_random_id(char out[PP_PEER_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[PP_PEER_ID_LEN / 2];
	if (RAND_bytes(r, sizeof(r)) != 1)
		return PP_ERR_CRYPTO;
	for (size_t i = 0; i < sizeof(r); i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[PP_PEER_ID_LEN] = '\0';
	return 0;
}

static void sig_room_free(struct sig_server *srv, struct sig_room *r)
{
	sig_cluster_room_close(srv, r->name);
	g_hash_table_remove(srv->rooms, r->name);
	if (r->remote)
		g_hash_table_destroy(r->remote);
	if (r->waiting)
		g_ptr_array_free(r->waiting, TRUE);
	free(r);
}

static void sig_room_unlink(struct sig_server *srv, struct sig_peer *p)
{
	struct sig_room *r = p->room;
	if (p->room_prev)
		p->room_prev->room_next = p->room_next;
	else
		r->head = p->room_next;
	if (p->room_next)
		p->room_next->room_prev = p->room_prev;
	p->room = NULL;
	p->room_prev = p->room_next = NULL;
	g_hash_table_remove(srv->peers, p->id);
	g_slist_free_full(p->deferred, free);
	p->deferred = NULL;
	p->deferred_bytes = 0;
	if (--r->count == 0)
		sig_room_free(srv, r);
}

/* Sends JOINED: `peers` is the JSON array text of the visible members. */
static void sig_send_joined(struct sig_server *srv, struct sig_peer *p, const char *peers)
{
	json_t *ice = json_object();
	char *ice_text = NULL, *text = NULL;

	if (ice && sig_ice_servers(srv, p, ice) == 0)
		ice_text = json_dumps(json_object_get(ice, "ice_servers"), JSON_COMPACT);
	json_decref(ice);
	if (ice_text)
		text = g_strdup_printf("{\"type\":\"JOINED\",\"room\":\"%s\",\"peer_id\":\"%s\","
		                       "\"peers\":%s,\"ice_servers\":%s,"
		                       "\"limits\":{\"rate\":%u,\"burst\":%u}}",
		                       p->room->name, p->id, peers, ice_text, p->rate, p->burst);
	free(ice_text);
	if (!text) {
		sig_peer_close(srv, p, 1011, "out of memory");
		return;
	}
	sig_peer_send(srv, p, text, strlen(text));
	g_free(text);
}

/* JOINED is out: the peer is a member; release what waited for it. */
static void sig_room_joined(struct sig_server *srv, struct sig_peer *p)
{
	p->joining = false;
	p->joined = true;
	/* The join deadline ran until now (through a Redis round trip and
	 * any refused attempts); from here on the peer answers pings. */
	sig_deadline_set(srv, p, SIG_WAIT_PING);
	srv->metrics.joins_total++;
	srv->metrics.peers_joined[p->role]++;
	p->deferred = g_slist_reverse(p->deferred);
	for (GSList *l = p->deferred; l; l = l->next)
		sig_peer_send(srv, p, l->data, strlen(l->data));
	g_slist_free_full(p->deferred, free);
	p->deferred = NULL;
	p->deferred_bytes = 0;
	pp_log(PP_LOG_INFO, p->id, "joined room %s as %s \"%s\" (seq %" PRIu64 ")", p->room->name,
	       pp_role_name(p->role), p->name, p->seq);
}

void sig_room_announce(struct sig_server *srv, struct sig_room *r, const char *id,
                       enum pp_role role, uint64_t seq, const char *peer_json)
{
	char *text = g_strdup_printf("{\"type\":\"NEW_PEER\",\"peer\":%s}", peer_json);
	size_t len = strlen(text);

	for (struct sig_peer *m = r->head; m; m = m->room_next) {
		if (!m->seq || m->seq >= seq || strcmp(m->id, id) == 0 || !sig_roles_visible(m->role, role))
			continue;
		if (m->joined)
			sig_peer_send(srv, m, text, len);
		else
			sig_peer_defer(srv, m, text, strlen(text));
	}
	g_free(text);
}

/* Standalone: the order is a local counter and the roster is the room. */
static void sig_room_join_local(struct sig_server *srv, struct sig_peer *p)
{
	struct sig_room *r = p->room;
	GString *peers = g_string_new("[");
	char *mine = sig_peer_json(p);

	p->seq = ++srv->seq;
	for (struct sig_peer *m = r->head; m; m = m->room_next) {
		if (m == p || !m->joined || !sig_roles_visible(m->role, p->role))
			continue;
		char *j = sig_peer_json(m);
		g_string_append_printf(peers, "%s%s", peers->len > 1 ? "," : "", j ? j : "{}");
		free(j);
	}
	g_string_append_c(peers, ']');
	sig_send_joined(srv, p, peers->str);
	g_string_free(peers, TRUE);
	sig_room_joined(srv, p);
	if (mine)
		sig_room_announce(srv, r, p->id, p->role, p->seq, mine);
	free(mine);
}

int sig_room_join(struct sig_server *srv, struct sig_peer *p, const char *name)
{
	struct sig_room *r = g_hash_table_lookup(srv->rooms, name);
	size_t members = r ? r->count + (r->remote ? g_hash_table_size(r->remote) : 0) : 0;
	int rc;

	if (members >= (size_t)srv->cfg.room_max_peers)
		return PP_ERR_TOO_BIG;
	do {
		if ((rc = sig_random_id(p->id)) < 0)
			return rc;
	} while (g_hash_table_contains(srv->peers, p->id));
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return PP_ERR_NOMEM;
		memcpy(r->name, name, strlen(name) + 1);
		g_hash_table_insert(srv->rooms, r->name, r);
		sig_cluster_room_open(srv, r);
	}
	p->room = r;
	p->room_next = r->head;
	if (r->head)
		r->head->room_prev = p;
	r->head = p;
	r->count++;
	p->joining = true;
	g_hash_table_insert(srv->peers, p->id, p);
	if (!sig_cluster_enabled(srv))
		sig_room_join_local(srv, p);
	else if (r->subscribed)
		sig_cluster_join(srv, p);
	else
		g_ptr_array_add(r->waiting, g_strdup(p->id));
	return 0;
}

void sig_room_subscribed(struct sig_server *srv, struct sig_room *r)
{
	r->subscribed = true;
	for (guint i = 0; i < r->waiting->len; i++) {
		struct sig_peer *p = g_hash_table_lookup(srv->peers, g_ptr_array_index(r->waiting, i));
		if (p && p->room == r && p->joining)
			sig_cluster_join(srv, p);
	}
	g_ptr_array_set_size(r->waiting, 0);
}

int sig_room_parse_entry(char *s, uint64_t *seq, char **inst, char **id, enum pp_role *role,
                         char **json)
{
	char *parts[5];
	for (int i = 0; i < 4; i++) {
		parts[i] = s;
		s = strchr(s, '|');
		if (!s)
			return PP_ERR_INVALID;
		*s++ = '\0';
	}
	parts[4] = s;
	char *end;
	*seq = strtoull(parts[0], &end, 10);
	if (*end || !*seq || strlen(parts[1]) != PP_PEER_ID_LEN || strlen(parts[2]) != PP_PEER_ID_LEN ||
	    pp_role_parse(parts[3], role) < 0 || parts[4][0] != '{')
		return PP_ERR_INVALID;
	*inst = parts[1];
	*id = parts[2];
	*json = parts[4];
	return 0;
}

void sig_room_remote_add(struct sig_room *r, uint64_t seq, const char *inst, const char *id,
                         enum pp_role role)
{
	if (g_hash_table_contains(r->remote, id))
		return;
	struct sig_remote *m = g_new0(struct sig_remote, 1);
	m->seq = seq;
	m->role = role;
	g_strlcpy(m->id, id, sizeof(m->id));
	g_strlcpy(m->inst, inst, sizeof(m->inst));
	g_hash_table_insert(r->remote, m->id, m);
}

void sig_room_join_done(struct sig_server *srv, struct sig_peer *p, char **entries, size_t n)
{
	GString *peers = g_string_new("[");
	for (size_t i = 0; i < n; i++) {
		uint64_t seq;
		char *inst, *id, *json;
		enum pp_role role;
		if (sig_room_parse_entry(entries[i], &seq, &inst, &id, &role, &json) < 0)
			continue;
		if (strcmp(id, p->id) == 0) {
			p->seq = seq;
			continue;
		}
		if (strcmp(inst, sig_cluster_instance(srv)) != 0)
			sig_room_remote_add(p->room, seq, inst, id, role);
		if (sig_roles_visible(p->role, role))
			g_string_append_printf(peers, "%s%s", peers->len > 1 ? "," : "", json);
	}
	g_string_append_c(peers, ']');
	sig_send_joined(srv, p, peers->str);
	g_string_free(peers, TRUE);
	sig_room_joined(srv, p);
}

/* A member still joining holds its NEW_PEERs until JOINED. For a peer that
 * left meanwhile, a held NEW_PEER is taken back (the two never meet);
 * without one, the PEER_LEFT waits behind JOINED, whose roster comes from
 * a Redis answer that may predate the leave. Never dropped: a roster entry
 * without its PEER_LEFT is a peer the member would offer to forever. */
static void sig_room_defer_left(struct sig_server *srv, struct sig_peer *m, const char *id,
                                const char *left)
{
	char key[32 + PP_PEER_ID_LEN];

	/* the server writes the peer object: the id is exactly this member */
	snprintf(key, sizeof(key), "\"peer_id\":\"%s\"", id);
	for (GSList *l = m->deferred; l; l = l->next) {
		if (strstr(l->data, key) && g_str_has_prefix(l->data, "{\"type\":\"NEW_PEER\"")) {
			m->deferred_bytes -= strlen(l->data);
			free(l->data);
			m->deferred = g_slist_delete_link(m->deferred, l);
			return;
		}
	}
	sig_peer_defer(srv, m, left, strlen(left));
}

static void sig_room_send_left(struct sig_server *srv, struct sig_room *r, const char *id,
                               enum pp_role role)
{
	char text[64 + PP_PEER_ID_LEN];
	int len = snprintf(text, sizeof(text), "{\"type\":\"PEER_LEFT\",\"peer_id\":\"%s\"}", id);
	for (struct sig_peer *m = r->head; m; m = m->room_next) {
		if (strcmp(m->id, id) == 0 || !sig_roles_visible(m->role, role))
			continue;
		if (m->joined)
			sig_peer_send(srv, m, text, (size_t)len);
		else if (m->joining)
			sig_room_defer_left(srv, m, id, text);
	}
}

void sig_room_remote_leave(struct sig_server *srv, struct sig_room *r, const char *id)
{
	struct sig_remote *m = g_hash_table_lookup(r->remote, id);
	if (!m)
		return;
	sig_room_send_left(srv, r, id, m->role);
	g_hash_table_remove(r->remote, id);
	pp_debug("remote peer %s left room %s", id, r->name);
}

void sig_room_leave(struct sig_server *srv, struct sig_peer *p)
{
	struct sig_room *r = p->room;
	if (!r)
		return;
	/* A join still waiting for Redis's answer may have been announced
	 * already (its event came first and set seq): its NEW_PEER needs a
	 * PEER_LEFT, and the L| event will not give one, as it is not remote. */
	if (p->joined || p->seq)
		sig_room_send_left(srv, r, p->id, p->role);
	if (p->joined) {
		srv->metrics.peers_joined[p->role]--;
		pp_log(PP_LOG_INFO, p->id, "left room %s", r->name);
	}
	if (p->joined || p->joining)
		sig_cluster_leave(srv, p);
	p->joined = p->joining = false;
	sig_room_unlink(srv, p);
}
