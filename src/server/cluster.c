/* SPDX-License-Identifier: Apache-2.0 */
/* Scale-out over Redis: membership in the hash pp:members:<room> (values
 * "seq|instance|peer_id|role|peer-json"), join order from INCR
 * pp:seq:<room>, events on channel pp:room:<room> ("J|<entry>", "L|<id>"),
 * relayed messages on pp:inst:<instance> ("<to>|<text>"). A join runs as
 * one Lua script (check size, number, store, publish, return the roster),
 * so every instance sees the same order. Instances refresh
 * pp:alive:<instance>; members of an instance that stops refreshing are
 * removed by the others. */
#include "cluster.h"

#include "redis_link.h"
#include "room.h"
#include "server.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <ev.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define SIG_HEARTBEAT_S 3.0
#define SIG_ALIVE_TTL_S 10
#define SIG_RECONNECT_S 1.0
#define SIG_READY_TICKS 3 /* reconnect ticks to wait for our SUBSCRIBE's answer */

static const char sig_join_lua[] =
	/* members of instances that stopped refreshing are removed first */
	"for _, v in ipairs(redis.call('HVALS', KEYS[1])) do "
	"local inst, id = string.match(v, '^%d+|(%x+)|(%x+)|') "
	"if inst and redis.call('EXISTS', 'pp:alive:' .. inst) == 0 then "
	"redis.call('HDEL', KEYS[1], id) redis.call('PUBLISH', KEYS[3], 'L|' .. id) end end "
	"if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return false end "
	"local seq = redis.call('INCR', KEYS[2]) "
	"local v = seq .. '|' .. ARGV[2] "
	"redis.call('HSET', KEYS[1], ARGV[1], v) "
	"redis.call('PUBLISH', KEYS[3], 'J|' .. v) "
	"return redis.call('HVALS', KEYS[1])";
static const char sig_leave_lua[] =
	"if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then "
	"redis.call('PUBLISH', KEYS[3], 'L|' .. ARGV[1]) end "
	"if redis.call('HLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) end "
	"return 1";

struct sig_cluster {
	struct sig_server *srv;
	struct sig_redis_link cmd;  /* commands and scripts */
	struct sig_redis_link sub;  /* SUBSCRIBE only */
	struct sig_redis_addr addr;
	ev_timer tick;         /* reconnect, or heartbeat and sweep */
	bool up;               /* both connected and subscribed to our channel */
	unsigned unready_ticks; /* ticks since connect without getting up */
	unsigned hung_tries;    /* reconnects for no answer since the link was last up */
	bool stopping;
	char inst[PP_PEER_ID_LEN + 1];
};

static void sig_cluster_connect(struct sig_cluster *cl);
static void sig_on_sub(redisAsyncContext *ac, void *reply_, void *priv);

bool sig_cluster_enabled(const struct sig_server *srv)
{
	return srv->cluster != NULL;
}

bool sig_cluster_ready(const struct sig_server *srv)
{
	return !srv->cluster || srv->cluster->up;
}

const char *sig_cluster_instance(const struct sig_server *srv)
{
	return srv->cluster ? srv->cluster->inst : "";
}

/* --- connection life ----------------------------------------------------- */

/* What Redis told us about a room is void once the link is gone: the
 * subscription went with the connection, remote members are learnt again
 * from the rosters of later joins. A room outlives the link while its
 * closing peers drain; it is subscribed again when the link is back. */
static void sig_cluster_forget_rooms(struct sig_cluster *cl)
{
	GHashTableIter it;
	gpointer key, value;
	g_hash_table_iter_init(&it, cl->srv->rooms);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		struct sig_room *r = value;
		r->subscribed = false;
		g_hash_table_remove_all(r->remote);
		g_ptr_array_set_size(r->waiting, 0); /* their peers are closed */
	}
}

/* The link is up again (a new instance id): rooms that still have local
 * members must hear their events, or peers joining them would wait for
 * the subscription forever. */
static void sig_cluster_subscribe_rooms(struct sig_cluster *cl)
{
	GHashTableIter it;
	gpointer key, value;
	g_hash_table_iter_init(&it, cl->srv->rooms);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		struct sig_room *r = value;
		if (!r->subscribed)
			redisAsyncCommand(cl->sub.ac, sig_on_sub, NULL, "SUBSCRIBE pp:room:%s", r->name);
	}
}

/* The broker is gone: every local peer must rejoin once it is back, so the
 * room state is rebuilt from scratch on every instance. */
static void sig_cluster_down(struct sig_cluster *cl, const char *why)
{
	struct sig_server *srv = cl->srv;
	GHashTableIter it;
	gpointer key, value;

	if (cl->up)
		pp_error("redis: %s; closing local peers until it is back", why);
	cl->up = false;
	g_hash_table_iter_init(&it, srv->peers);
	while (g_hash_table_iter_next(&it, &key, &value))
		sig_peer_close(srv, value, 1011, SIG_BROKER_DOWN);
	sig_cluster_forget_rooms(cl);
	if (cl->cmd.ac)
		redisAsyncDisconnect(cl->cmd.ac);
	if (cl->sub.ac)
		redisAsyncDisconnect(cl->sub.ac);
}

static void sig_cluster_tick(struct ev_loop *loop, ev_timer *w, int revents);

static bool sig_power_of_10(unsigned n)
{
	while (n >= 10 && n % 10 == 0)
		n /= 10;
	return n == 1;
}

static void sig_cluster_schedule(struct sig_cluster *cl, double seconds)
{
	ev_timer_stop(cl->srv->loop, &cl->tick);
	ev_timer_set(&cl->tick, seconds, 0.0);
	ev_timer_start(cl->srv->loop, &cl->tick);
}

static void sig_on_link_down(struct sig_redis_link *l, bool was_up, const char *why)
{
	struct sig_cluster *cl = l->owner;
	if (cl->stopping)
		return;
	if (was_up)
		sig_cluster_down(cl, why);
	else
		pp_warn("redis: cannot connect: %s", why);
	sig_cluster_schedule(cl, SIG_RECONNECT_S);
}

/* --- messages from Redis ------------------------------------------------- */

static void sig_on_room_event(struct sig_cluster *cl, const char *room, char *payload)
{
	struct sig_server *srv = cl->srv;
	struct sig_room *r = sig_room_lookup(srv, room);
	if (!r)
		return;
	if (payload[0] == 'L' && payload[1] == '|') {
		sig_room_remote_leave(srv, r, payload + 2);
		return;
	}
	uint64_t seq;
	char *inst, *id, *json;
	enum pp_role role;
	if (payload[0] != 'J' || payload[1] != '|' ||
	    sig_room_parse_entry(payload + 2, &seq, &inst, &id, &role, &json) < 0) {
		pp_warn("redis: malformed event on room %s", room);
		return;
	}
	if (strcmp(inst, cl->inst) == 0) {
		struct sig_peer *p = g_hash_table_lookup(srv->peers, id);
		if (!p || p->room != r)
			return;
		p->seq = seq; /* may precede the script's reply: NEW_PEERs wait for JOINED */
	} else {
		sig_room_remote_add(r, seq, inst, id, role);
	}
	sig_room_announce(srv, r, id, role, seq, json);
}

/* The sender of a relay p's queue refused is on another instance: its
 * ERROR goes back the way the relay came. */
static void sig_cluster_refuse_relay(struct sig_cluster *cl, struct sig_peer *p, const char *from,
                                     const char *ref)
{
	struct sig_remote *m = p->room ? g_hash_table_lookup(p->room->remote, from) : NULL;
	char *text;

	cl->srv->metrics.refused_total[SIG_RATE_LIMITED]++;
	if (!m)
		return; /* it has left: nobody to tell */
	text = sig_error_text(SIG_RATE_LIMITED, SIG_RELAY_REFUSED, ref);
	if (text) {
		struct iovec iov = { text, strlen(text) };
		sig_cluster_forward(cl->srv, m->inst, m->id, &iov, 1);
	}
	free(text);
}

static void sig_on_forward(struct sig_cluster *cl, const char *payload, size_t len)
{
	if (len < PP_PEER_ID_LEN + 1 || payload[PP_PEER_ID_LEN] != '|')
		return;
	char id[PP_PEER_ID_LEN + 1];
	memcpy(id, payload, PP_PEER_ID_LEN);
	id[PP_PEER_ID_LEN] = '\0';
	struct sig_peer *p = g_hash_table_lookup(cl->srv->peers, id);
	if (!p || !sig_peer_announced(p))
		return;
	const char *msg = payload + PP_PEER_ID_LEN + 1, *ref;
	size_t mlen = len - PP_PEER_ID_LEN - 1;
	char from[PP_PEER_ID_LEN + 1];
	struct iovec iov = { (void *)msg, mlen };
	if (!sig_relay_sender(msg, mlen, from, &ref))
		sig_peer_send(cl->srv, p, msg, mlen); /* the server's own (an ERROR) */
	else if (sig_peer_relay(cl->srv, p, from, &iov, 1) < 0)
		sig_cluster_refuse_relay(cl, p, from, ref);
}

/* Fire-and-forget commands still get their errors logged. */
static void sig_on_reply_log(redisAsyncContext *ac, void *reply_, void *priv)
{
	redisReply *reply = reply_;
	(void)ac, (void)priv;
	if (reply && reply->type == REDIS_REPLY_ERROR)
		pp_error("redis: %s", reply->str);
}

static void sig_on_sub(redisAsyncContext *ac, void *reply_, void *priv)
{
	struct sig_redis_link *l = ac->data;
	struct sig_cluster *cl = l->owner;
	redisReply *reply = reply_;
	sig_on_reply_log(ac, reply_, priv);
	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING || reply->element[1]->type != REDIS_REPLY_STRING)
		return;
	const char *kind = reply->element[0]->str, *channel = reply->element[1]->str;
	bool own = strncmp(channel, "pp:inst:", 8) == 0;
	if (strcmp(kind, "subscribe") == 0) {
		if (own) {
			cl->up = true;
			cl->hung_tries = 0;
			pp_info("redis: connected as instance %s", cl->inst);
			sig_cluster_subscribe_rooms(cl);
		} else if (strncmp(channel, "pp:room:", 8) == 0) {
			struct sig_room *room = sig_room_lookup(cl->srv, channel + 8);
			if (room)
				sig_room_subscribed(cl->srv, room);
		}
	} else if (strcmp(kind, "message") == 0 && reply->element[2]->type == REDIS_REPLY_STRING) {
		if (own)
			sig_on_forward(cl, reply->element[2]->str, reply->element[2]->len);
		else if (strncmp(channel, "pp:room:", 8) == 0)
			sig_on_room_event(cl, channel + 8, reply->element[2]->str);
	}
}

static void sig_on_join_reply(redisAsyncContext *ac, void *reply_, void *priv)
{
	struct sig_redis_link *l = ac->data;
	struct sig_server *srv = ((struct sig_cluster *)l->owner)->srv;
	redisReply *reply = reply_;
	char *id = priv;
	struct sig_peer *p = g_hash_table_lookup(srv->peers, id);
	g_free(id);
	if (!p || !p->joining)
		return; /* gone meanwhile; its LEAVE script follows this one */
	if (reply && reply->type == REDIS_REPLY_NIL) {
		sig_peer_send_error(srv, p, SIG_ROOM_FULL, "the room is full", "JOIN_ROOM");
		p->joining = false; /* not in Redis: leave without announcing */
		sig_room_leave(srv, p);
		sig_handle_join_refused(srv, p);
		return;
	}
	if (!reply || reply->type != REDIS_REPLY_ARRAY) {
		pp_error("redis: join script failed: %s", reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "no reply");
		sig_peer_send_error(srv, p, SIG_INTERNAL, "internal error", "JOIN_ROOM");
		sig_peer_close(srv, p, 1011, "join failed");
		return;
	}
	char **entries = g_new0(char *, reply->elements + 1);
	size_t n = 0;
	for (size_t i = 0; i < reply->elements; i++)
		if (reply->element[i]->type == REDIS_REPLY_STRING)
			entries[n++] = reply->element[i]->str;
	sig_room_join_done(srv, p, entries, n);
	g_free(entries);
}

/* --- operations ----------------------------------------------------------- */

void sig_cluster_room_open(struct sig_server *srv, struct sig_room *r)
{
	struct sig_cluster *cl = srv->cluster;
	if (!cl)
		return;
	r->remote = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
	r->waiting = g_ptr_array_new_with_free_func(g_free);
	if (cl->sub.ac)
		redisAsyncCommand(cl->sub.ac, sig_on_sub, NULL, "SUBSCRIBE pp:room:%s", r->name);
}

void sig_cluster_room_close(struct sig_server *srv, const char *room)
{
	struct sig_cluster *cl = srv->cluster;
	if (cl && cl->sub.ac && cl->up)
		redisAsyncCommand(cl->sub.ac, sig_on_sub, NULL, "UNSUBSCRIBE pp:room:%s", room);
}

static void sig_room_keys(const char *room, char *members, char *seq, char *channel, size_t len)
{
	snprintf(members, len, "pp:members:%s", room);
	snprintf(seq, len, "pp:seq:%s", room);
	snprintf(channel, len, "pp:room:%s", room);
}

void sig_cluster_join(struct sig_server *srv, struct sig_peer *p)
{
	struct sig_cluster *cl = srv->cluster;
	char km[96], ks[96], kc[96], max[24];
	json_t *o = json_pack("{s:s, s:s, s:s}", "peer_id", p->id, "name", p->name, "role", pp_role_name(p->role));
	if (o && p->fingerprint)
		json_object_set_new(o, "fingerprint", json_string(p->fingerprint));
	char *json = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	char *entry = json ? g_strdup_printf("%s|%s|%s|%s", cl->inst, p->id, pp_role_name(p->role), json) : NULL;
	free(json);
	if (!entry || !cl->cmd.ac) {
		sig_peer_send_error(srv, p, SIG_INTERNAL, "internal error", "JOIN_ROOM");
		sig_peer_close(srv, p, 1011, "join failed");
		g_free(entry);
		return;
	}
	sig_room_keys(p->room->name, km, ks, kc, sizeof(km));
	snprintf(max, sizeof(max), "%lld", (long long)srv->cfg.room_max_peers);
	redisAsyncCommand(cl->cmd.ac, sig_on_join_reply, g_strdup(p->id), "EVAL %s 3 %s %s %s %s %s %s",
	                  sig_join_lua, km, ks, kc, p->id, entry, max);
	g_free(entry);
}

static void sig_cluster_leave_id(struct sig_cluster *cl, const char *room, const char *id)
{
	char km[96], ks[96], kc[96];
	if (!cl->cmd.ac || !cl->up)
		return;
	sig_room_keys(room, km, ks, kc, sizeof(km));
	redisAsyncCommand(cl->cmd.ac, sig_on_reply_log, NULL, "EVAL %s 3 %s %s %s %s", sig_leave_lua, km, ks, kc, id);
}

void sig_cluster_leave(struct sig_server *srv, struct sig_peer *p)
{
	if (srv->cluster && p->room)
		sig_cluster_leave_id(srv->cluster, p->room->name, p->id);
}

void sig_cluster_forward(struct sig_server *srv, const char *inst, const char *to,
                         const struct iovec *iov, int n)
{
	struct sig_cluster *cl = srv->cluster;
	if (!cl || !cl->cmd.ac || !cl->up)
		return;
	/* "<to>|<message>" */
	size_t len = PP_PEER_ID_LEN + 1;
	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	char *payload = g_malloc(len), *w = payload;
	memcpy(w, to, PP_PEER_ID_LEN);
	w[PP_PEER_ID_LEN] = '|';
	w += PP_PEER_ID_LEN + 1;
	for (int i = 0; i < n; w += iov[i].iov_len, i++)
		memcpy(w, iov[i].iov_base, iov[i].iov_len);
	redisAsyncCommand(cl->cmd.ac, sig_on_reply_log, NULL, "PUBLISH pp:inst:%s %b", inst, payload, len);
	g_free(payload);
}

/* --- liveness -------------------------------------------------------------- */

struct sig_sweep {
	struct sig_cluster *cl;
	char inst[PP_PEER_ID_LEN + 1];
};

static void sig_on_alive_reply(redisAsyncContext *ac, void *reply_, void *priv)
{
	struct sig_sweep *sw = priv;
	redisReply *reply = reply_;
	(void)ac;
	if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) {
		/* That instance stopped refreshing: remove its members everywhere. */
		GHashTableIter it;
		gpointer key, value;
		pp_warn("redis: instance %s is gone; removing its peers", sw->inst);
		g_hash_table_iter_init(&it, sw->cl->srv->rooms);
		while (g_hash_table_iter_next(&it, &key, &value)) {
			struct sig_room *r = value;
			GHashTableIter mi;
			gpointer mk, mv;
			g_hash_table_iter_init(&mi, r->remote);
			while (g_hash_table_iter_next(&mi, &mk, &mv))
				if (strcmp(((struct sig_remote *)mv)->inst, sw->inst) == 0)
					sig_cluster_leave_id(sw->cl, r->name, mk);
		}
	}
	g_free(sw);
}

static void sig_cluster_sweep(struct sig_cluster *cl)
{
	GHashTable *insts = g_hash_table_new(g_str_hash, g_str_equal);
	GHashTableIter it;
	gpointer key, value;
	g_hash_table_iter_init(&it, cl->srv->rooms);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		GHashTableIter mi;
		gpointer mk, mv;
		g_hash_table_iter_init(&mi, ((struct sig_room *)value)->remote);
		while (g_hash_table_iter_next(&mi, &mk, &mv))
			g_hash_table_add(insts, ((struct sig_remote *)mv)->inst);
	}
	g_hash_table_iter_init(&it, insts);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		struct sig_sweep *sw = g_new0(struct sig_sweep, 1);
		sw->cl = cl;
		g_strlcpy(sw->inst, key, sizeof(sw->inst));
		redisAsyncCommand(cl->cmd.ac, sig_on_alive_reply, sw, "EXISTS pp:alive:%s", sw->inst);
	}
	g_hash_table_destroy(insts);
}

static void sig_cluster_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sig_cluster *cl = (struct sig_cluster *)((char *)w - offsetof(struct sig_cluster, tick));
	(void)loop, (void)revents;
	if (cl->stopping)
		return;
	if (!cl->cmd.ac && !cl->sub.ac) {
		sig_cluster_connect(cl);
	} else if (cl->up) {
		redisAsyncCommand(cl->cmd.ac, sig_on_reply_log, NULL, "SET pp:alive:%s 1 EX %d", cl->inst, SIG_ALIVE_TTL_S);
		sig_cluster_sweep(cl);
	} else if (!cl->cmd.ac || !cl->sub.ac) {
		/* one side failed: start both afresh */
		sig_cluster_down(cl, "partial connection");
	} else if (++cl->unready_ticks >= SIG_READY_TICKS) {
		/* Connected, but our SUBSCRIBE has no answer (a hung server, or not
		 * Redis). Free, not disconnect: that would wait for the replies. */
		/* once, then at 10, 100, ... tries: a hung server is one event */
		if (++cl->hung_tries == 1)
			pp_warn("redis: no answer from %s; reconnecting until it answers", cl->addr.host);
		else if (sig_power_of_10(cl->hung_tries))
			pp_warn("redis: still no answer from %s after %u tries", cl->addr.host,
			        cl->hung_tries);
		redisAsyncFree(cl->cmd.ac); /* its on_down closes what depends on it */
		if (cl->sub.ac)
			redisAsyncFree(cl->sub.ac);
	}
	sig_cluster_schedule(cl, cl->up ? SIG_HEARTBEAT_S : SIG_RECONNECT_S);
}

static void sig_cluster_connect(struct sig_cluster *cl)
{
	/* A fresh instance id per connection: members registered under an old
	 * one are swept once its liveness key expires. */
	if (sig_random_id(cl->inst) < 0)
		return;
	cl->unready_ticks = 0;
	struct sig_redis_link *links[] = { &cl->cmd, &cl->sub };
	for (int i = 0; i < 2; i++) {
		links[i]->owner = cl;
		links[i]->on_down = sig_on_link_down;
		if (sig_redis_link_open(links[i], cl->srv->ctx, &cl->addr) < 0) {
			if (cl->cmd.ac)
				redisAsyncDisconnect(cl->cmd.ac);
			return;
		}
		const struct pp_secret *pw = &cl->srv->redis_password; /* read by sig_prepare */
		if (pw->data)
			redisAsyncCommand(links[i]->ac, sig_on_reply_log, NULL, "AUTH %b", pw->data, pw->len);
	}
	redisAsyncCommand(cl->cmd.ac, sig_on_reply_log, NULL, "SET pp:alive:%s 1 EX %d", cl->inst, SIG_ALIVE_TTL_S);
	redisAsyncCommand(cl->sub.ac, sig_on_sub, NULL, "SUBSCRIBE pp:inst:%s", cl->inst);
}

int sig_cluster_start(struct sig_server *srv, char *err, size_t errlen)
{
	if (!srv->cfg.redis_url)
		return 0;
	struct sig_cluster *cl = g_new0(struct sig_cluster, 1);
	cl->srv = srv;
	int rc = sig_redis_addr_parse(&cl->addr, srv->cfg.redis_url, err, errlen);
	if (rc < 0 || !srv->ctx) { /* no context: --check-config, checking only */
		g_free(cl);
		return rc < 0 ? PP_ERR_CONFIG : 0;
	}
	srv->cluster = cl;
	ev_timer_init(&cl->tick, sig_cluster_tick, 0.0, 0.0);
	sig_cluster_connect(cl);
	sig_cluster_schedule(cl, SIG_RECONNECT_S);
	return 0;
}

void sig_cluster_stop(struct sig_server *srv)
{
	struct sig_cluster *cl = srv->cluster;
	if (!cl)
		return;
	cl->stopping = true;
	ev_timer_stop(srv->loop, &cl->tick);
	if (cl->cmd.ac) {
		redisAsyncCommand(cl->cmd.ac, sig_on_reply_log, NULL, "DEL pp:alive:%s", cl->inst);
		redisAsyncDisconnect(cl->cmd.ac); /* after pending replies */
	}
	if (cl->sub.ac)
		redisAsyncDisconnect(cl->sub.ac);
}

bool sig_cluster_busy(const struct sig_server *srv)
{
	return srv->cluster && (srv->cluster->cmd.ac || srv->cluster->sub.ac);
}

void sig_cluster_free(struct sig_server *srv)
{
	struct sig_cluster *cl = srv->cluster;
	if (!cl)
		return;
	cl->stopping = true; /* the links' on_down does nothing now */
	ev_timer_stop(srv->loop, &cl->tick);
	if (cl->cmd.ac || cl->sub.ac)
		pp_warn("redis: %s did not answer our last commands in time; dropping the link",
		        cl->addr.host);
	/* Free, not disconnect (that waits for the replies): each reply
	 * callback gets NULL, and the lws side of the link is let go. */
	if (cl->cmd.ac)
		redisAsyncFree(cl->cmd.ac);
	if (cl->sub.ac)
		redisAsyncFree(cl->sub.ac);
	g_free(cl);
	srv->cluster = NULL;
}
