/* SPDX-License-Identifier: Apache-2.0 */
/* peerpipe-signal internals shared by its modules.
 *
 * Layers inside the server, one way: ws.c (libwebsockets glue) calls
 * handler.c (protocol), which uses room.c (membership and visibility),
 * cluster.c (the same across instances, over redis_link.c), peer.c
 * (per-connection send queue and close) and deadline.c (join and ping
 * deadlines). Everything runs on one thread, on one libev loop. */
#ifndef PP_SIGNAL_SERVER_H
#define PP_SIGNAL_SERVER_H

#include "deadline.h"
#include "metrics.h"
#include "sconfig.h"

#include "peerpipe/buf.h"
#include "peerpipe/jwt.h"
#include "peerpipe/ratelimit.h"
#include "peerpipe/secret.h"
#include "peerpipe/sigmsg.h"

#include <glib.h>
#include <sys/uio.h>
#include <stdbool.h>
#include <stdint.h>

struct lws;
struct lws_context;
struct ev_loop;
struct sig_room;

/* One queued outgoing text message; buf holds LWS_PRE bytes of headroom. */
struct sig_out {
	struct sig_out *next;
	size_t len;
	char from[PP_PEER_ID_LEN + 1];  /* a relay's sender; "" for the server's own */
	unsigned char buf[];
};

/* One WebSocket connection. Lives in libwebsockets' per-session memory. */
struct sig_peer {
	struct lws *wsi;
	struct sig_room *room;          /* NULL until joined */
	struct sig_peer *room_prev, *room_next;
	struct sig_peer *wait_prev, *wait_next; /* deadline.c */
	int64_t deadline_ms;
	struct sig_out *outq_head, *outq_tail;
	char *fingerprint;              /* as declared at join, may be NULL */
	GSList *deferred;               /* texts held until JOINED is sent (newest first) */
	size_t deferred_bytes;          /*   their size */
	uint64_t seq;                   /* join order in the room; 0 until known */
	struct pp_buf rx;               /* assembles fragments; freed after each message */
	struct pp_bucket bucket;
	uint32_t rate, burst;           /* its limits: limits.rate and .burst, a
	                                 * gateway's once its token says so */
	size_t outq_bytes;
	size_t relay_bytes;             /* of them, relayed from other peers */
	GHashTable *relay_share;        /* sender id -> bytes of its relays queued here */
	uint32_t strikes;               /* refused messages in this window */
	int64_t strikes_since_ms;       /*   which began at the first of them */
	uint16_t close_code;            /* non-zero: close once the queue is flushed */
	uint8_t wait_kind;              /* enum sig_wait */
	bool joined;                    /* JOINED sent */
	bool joining;                   /* JOIN_ROOM accepted, JOINED not sent yet */
	bool ping_due;
	bool counted;                   /* included in the connection gauge */
	bool discard;                   /* rest of an oversized message is dropped */
	enum pp_role role;
	char id[PP_PEER_ID_LEN + 1];
	char name[PP_NAME_MAX + 1];
	char addr[48];                  /* remote address, for logs */
};

struct sig_cluster;

struct sig_server {
	struct sig_config cfg;
	struct sig_cluster *cluster;    /* NULL: standalone */
	struct pp_secret jwt_secret;
	struct pp_secret turn_secret;
	struct pp_secret redis_password; /* for AUTH; empty without password_file */
	struct lws_context *ctx;
	struct ev_loop *loop;           /* libev (epoll), foreign loop of ctx */
	GHashTable *rooms;              /* name -> struct sig_room * */
	GHashTable *peers;              /* peer id -> struct sig_peer * (joined or joining) */
	uint64_t seq;                   /* join counter when standalone */
	char **stun_urls;               /* NULL-terminated, may be empty */
	char **turn_urls;
	struct sig_metrics metrics;
	struct sig_deadlines deadlines;
	int64_t connections;
	bool stopping;
};

/* peer.c */
void sig_peer_send(struct sig_server *srv, struct sig_peer *p, const char *text, size_t len);
/* One message from several pieces, copied once into the send queue. */
void sig_peer_sendv(struct sig_server *srv, struct sig_peer *p, const struct iovec *iov, int n);
/* A FORWARD_SDP/ICE from sender `from` (any instance). Refused (-1,
 * nothing queued) when the recipient's queue already holds its part of
 * relays, or this sender's part of them: a recipient that reads slowly
 * gets fewer messages, never dropped for what others send it, and one
 * sender cannot take the room of the others (docs/signal-server.md). */
int sig_peer_relay(struct sig_server *srv, struct sig_peer *p, const char *from,
                   const struct iovec *iov, int n);
/* What the sender of a refused relay reads (ERROR rate_limited). */
#define SIG_RELAY_REFUSED "the recipient is not keeping up: send again later"
/* handler.c: the sender of a FORWARD_SDP/ICE message a server built, into
 * from, and the type its sender sent (ref); false for any other message. */
bool sig_relay_sender(const char *msg, size_t len, char from[PP_PEER_ID_LEN + 1],
                      const char **ref);
void sig_peer_send_error(struct sig_server *srv, struct sig_peer *p, enum sig_refusal code,
                         const char *message, const char *ref);
/* The ERROR message's text (malloc'd; NULL without memory). */
char *sig_error_text(enum sig_refusal code, const char *message, const char *ref);
/* Holds text for a peer still joining, sent after its JOINED. A peer that
 * would hold more than a room can explain (SIG_DEFERRED_MAX) is closed
 * (1011: join again) rather than miss any. */
void sig_peer_defer(struct sig_server *srv, struct sig_peer *p, const char *text, size_t len);
#define SIG_DEFERRED_MAX 256
/* Joined, or joining and announced to the room already (its NEW_PEER is
 * out, so members may write to it; what they send is held for it). */
static inline bool sig_peer_announced(const struct sig_peer *p)
{
	return p->joined || (p->joining && p->seq);
}
/* Closes once everything queued so far is sent (and at the latest after 2 s). */
void sig_peer_close(struct sig_server *srv, struct sig_peer *p, uint16_t code, const char *why);
void sig_peer_release(struct sig_server *srv, struct sig_peer *p);
/* Pops and writes one queued item; returns -1 when the connection must close. */
int sig_peer_writeable(struct sig_server *srv, struct sig_peer *p);

/* room.c (more in room.h) */
/* Starts the join; JOINED follows now or, with scale-out, when Redis answers. */
int sig_room_join(struct sig_server *srv, struct sig_peer *p, const char *room);
void sig_room_leave(struct sig_server *srv, struct sig_peer *p);
size_t sig_room_count(struct sig_server *srv);
/* 128 random bits as 32 lowercase hex characters (peer and instance ids). */
int sig_random_id(char out[PP_PEER_ID_LEN + 1]);

/* handler.c */
void sig_handle_message(struct sig_server *srv, struct sig_peer *p, const char *text, size_t len);
void sig_handle_deadline(struct sig_server *srv, struct sig_peer *p, enum sig_wait kind);
/* A JOIN_ROOM was refused (room full): forget it, back to the join deadline. */
void sig_handle_join_refused(struct sig_server *srv, struct sig_peer *p);
void sig_handle_pong(struct sig_server *srv, struct sig_peer *p);

/* secrets.c */
/* Reads a secret file named by config key `key`; warns when every user may
 * read it. 0, or PP_ERR_CONFIG with err filled. */
int sig_secret_load(const char *key, const char *path, size_t min_len, struct pp_secret *out,
                    char *err, size_t errlen);

/* ice.c */
int sig_ice_load(struct sig_server *srv, char *err, size_t errlen);
/* Appends the "ice_servers" array for this peer to obj. */
int sig_ice_servers(struct sig_server *srv, const struct sig_peer *p, void *json_obj);

#endif
