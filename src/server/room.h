/* SPDX-License-Identifier: Apache-2.0 */
/* Rooms: membership, visibility (signaling.md §4) and the announcements
 * that follow from them (JOINED, NEW_PEER, PEER_LEFT).
 *
 * Every member has a join sequence number; NEW_PEER for a newcomer goes to
 * the visible members that joined before it, and JOINED lists exactly
 * those. Locally the number comes from a counter; with Redis scale-out
 * (cluster.c) from Redis, so the order is the same on every instance and
 * exactly one side of each pair offers. */
#ifndef PP_SIGNAL_ROOM_H
#define PP_SIGNAL_ROOM_H

#include "server.h"

/* A member connected to another instance (scale-out). */
struct sig_remote {
	uint64_t seq;
	enum pp_role role;
	char id[PP_PEER_ID_LEN + 1];
	char inst[PP_PEER_ID_LEN + 1];
};

struct sig_room {
	struct sig_peer *head;   /* local members, joined or joining */
	size_t count;
	GHashTable *remote;      /* id -> struct sig_remote *, scale-out only */
	GPtrArray *waiting;      /* ids of local peers waiting for the subscription */
	bool subscribed;
	char name[PP_NAME_MAX + 1];
};

/* Where a relayed message goes: a local peer or another instance. */
struct sig_route {
	struct sig_peer *local;
	const struct sig_remote *remote;
};

int sig_room_route(struct sig_server *srv, struct sig_peer *from, const char *id,
                   struct sig_route *out);

/* Called by cluster.c. */
struct sig_room *sig_room_lookup(struct sig_server *srv, const char *name);
void sig_room_subscribed(struct sig_server *srv, struct sig_room *r);
/* entries: "seq|inst|id|role|peer-json" as stored in Redis; NULL: room full */
void sig_room_join_done(struct sig_server *srv, struct sig_peer *p, char **entries, size_t n);
void sig_room_announce(struct sig_server *srv, struct sig_room *r, const char *id,
                       enum pp_role role, uint64_t seq, const char *peer_json);
void sig_room_remote_add(struct sig_room *r, uint64_t seq, const char *inst, const char *id,
                         enum pp_role role);
void sig_room_remote_leave(struct sig_server *srv, struct sig_room *r, const char *id);
/* Parses "seq|inst|id|role|json"; pointers into s, which is modified. */
int sig_room_parse_entry(char *s, uint64_t *seq, char **inst, char **id, enum pp_role *role,
                         char **json);

#endif
