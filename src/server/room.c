/* SPDX-License-Identifier: Apache-2.0 */
/* Rooms: membership, who may see whom (signaling.md §4), and the
 * announcements that follow from it (JOINED, NEW_PEER, PEER_LEFT). */
#include "server.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

struct sig_room {
	struct sig_peer *head;
	size_t count;
	char name[PP_NAME_MAX + 1];
};

bool sig_room_visible(const struct sig_peer *a, const struct sig_peer *b)
{
	return a != b && a->room && a->room == b->room &&
	       !(a->role == PP_ROLE_DESKTOP && b->role == PP_ROLE_DESKTOP);
}

struct sig_peer *sig_room_find_visible(struct sig_server *srv, struct sig_peer *from, const char *id)
{
	struct sig_peer *p = g_hash_table_lookup(srv->peers, id);
	return p && sig_room_visible(from, p) ? p : NULL;
}

size_t sig_room_count(struct sig_server *srv)
{
	return g_hash_table_size(srv->rooms);
}

static json_t *sig_peer_object(const struct sig_peer *p)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "peer_id", p->id, "name", p->name,
	                      "role", pp_role_name(p->role));
	if (o && p->fingerprint)
		json_object_set_new(o, "fingerprint", json_string(p->fingerprint));
	return o;
}

static void sig_send_json(struct sig_server *srv, struct sig_peer *to, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (text)
		sig_peer_send(srv, to, text, strlen(text));
	else
		sig_peer_close(srv, to, 1011, "out of memory");
	free(text);
}

static int sig_new_id(char out[PP_PEER_ID_LEN + 1])
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

static void sig_room_link(struct sig_room *r, struct sig_peer *p)
{
	p->room = r;
	p->room_prev = NULL;
	p->room_next = r->head;
	if (r->head)
		r->head->room_prev = p;
	r->head = p;
	r->count++;
}

static void sig_send_joined(struct sig_server *srv, struct sig_peer *p, struct sig_room *r)
{
	json_t *peers = json_array();
	for (struct sig_peer *m = r->head; m && peers; m = m->room_next)
		if (sig_room_visible(p, m))
			json_array_append_new(peers, sig_peer_object(m));
	json_t *j = json_pack("{s:s, s:s, s:s, s:o}", "type", "JOINED", "room", r->name,
	                      "peer_id", p->id, "peers", peers);
	if (j && sig_ice_servers(srv, p, j) < 0) {
		json_decref(j);
		j = NULL;
	}
	sig_send_json(srv, p, j);
	json_decref(j);
}

int sig_room_join(struct sig_server *srv, struct sig_peer *p, const char *name)
{
	struct sig_room *r = g_hash_table_lookup(srv->rooms, name);
	int rc;

	if (r && r->count >= (size_t)srv->cfg.room_max_peers)
		return PP_ERR_TOO_BIG;
	do {
		if ((rc = sig_new_id(p->id)) < 0)
			return rc;
	} while (g_hash_table_contains(srv->peers, p->id));
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return PP_ERR_NOMEM;
		memcpy(r->name, name, strlen(name) + 1);
		g_hash_table_insert(srv->rooms, r->name, r);
	}
	sig_room_link(r, p);
	g_hash_table_insert(srv->peers, p->id, p);
	p->joined = true;
	srv->metrics.joins_total++;
	srv->metrics.peers_joined[p->role]++;
	sig_send_joined(srv, p, r);

	json_t *peer = sig_peer_object(p);
	json_t *j = json_pack("{s:s, s:o}", "type", "NEW_PEER", "peer", peer);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return PP_ERR_NOMEM;
	size_t len = strlen(text);
	for (struct sig_peer *m = r->head; m; m = m->room_next)
		if (sig_room_visible(m, p))
			sig_peer_send(srv, m, text, len);
	free(text);
	pp_log(PP_LOG_INFO, p->id, "joined room %s as %s \"%s\" (%zu in room)", r->name,
	       pp_role_name(p->role), p->name, r->count);
	return 0;
}

void sig_room_leave(struct sig_server *srv, struct sig_peer *p)
{
	struct sig_room *r = p->room;
	char text[64 + PP_PEER_ID_LEN];

	if (!r)
		return;
	int len = snprintf(text, sizeof(text), "{\"type\":\"PEER_LEFT\",\"peer_id\":\"%s\"}", p->id);
	for (struct sig_peer *m = r->head; m; m = m->room_next)
		if (sig_room_visible(m, p))
			sig_peer_send(srv, m, text, (size_t)len);
	if (p->room_prev)
		p->room_prev->room_next = p->room_next;
	else
		r->head = p->room_next;
	if (p->room_next)
		p->room_next->room_prev = p->room_prev;
	p->room = NULL;
	p->joined = false;
	p->room_prev = p->room_next = NULL;
	g_hash_table_remove(srv->peers, p->id);
	srv->metrics.peers_joined[p->role]--;
	pp_log(PP_LOG_INFO, p->id, "left room %s", r->name);
	if (--r->count == 0) {
		g_hash_table_remove(srv->rooms, r->name);
		free(r);
	}
}
