/* SPDX-License-Identifier: Apache-2.0 */
/* Signaling client (signaling.md): one WebSocket to peerpipe-signal, joined
 * to one room, reconnecting on its own.
 *
 * Conventions (docs/rtc-stack.md): created on a GMainContext the caller
 * passes, callbacks struct + one user pointer, errors as negative PP_ERR_*.
 *
 * Context. Every source is attached to `ctx`. libsoup also attaches sources
 * it creates while dispatching (writes that would block, close timers) to
 * the thread-default context, so the thread that runs `ctx` must have it
 * pushed as thread-default (g_main_context_push_thread_default), or `ctx`
 * must be the global default context (NULL means that one).
 *
 * Life cycle. Nothing is called back from pp_sigclient_new(): the first
 * connection attempt starts from the context. States:
 *
 *   CONNECTING -> JOINED -> DISCONNECTED -> (backoff) -> CONNECTING ...
 *                                        \-> FATAL (no more attempts)
 *
 * A drop (EOF, network error, close 1000/1001/1011, close 1008 without
 * ERROR unauthorized (rate limit), server restart, no traffic for 3
 * keepalive intervals, no JOINED in time, a server message over the size
 * limit, which we close with 1009) reconnects after
 * an exponential backoff with jitter (backoff_min .. backoff_max; a delay is
 * drawn from [d/2, d] with d doubling per failed attempt; d restarts at
 * backoff_min once a session stayed joined for 10 s). FATAL means retrying
 * cannot help: ERROR unauthorized (close 1008), a close 1002/1003/1007/1009
 * (a bug on one side), an upgrade refused with HTTP 4xx (except 408/429)
 * or answered with a redirect (3xx: never followed, since the JOIN_ROOM
 * and its token would go wherever it points, ws:// included), a server
 * that does not select the peerpipe.v1 subprotocol, or ERROR
 * bad_request in reply to our JOIN_ROOM. pp_sigclient_reconnect() (e.g.
 * after pp_sigclient_set_token()) leaves FATAL.
 *
 * An untrusted server certificate (TLS verification is always on) is
 * logged as an error each time and reported as DISCONNECTED with
 * PP_SIGCLIENT_WHY_TLS; the next attempt waits backoff_max at once (no
 * storm), so a deployment whose certificate gets fixed recovers by itself.
 * With tls_errors_fatal it is FATAL instead (interactive tools).
 *
 * Every connection gets a new peer_id. After a reconnect the client is a
 * newcomer again: on_joined() reports the new id and the current roster,
 * members that were there get NEW_PEER and make the offers, and the old id
 * is announced to them as PEER_LEFT. Callers treat it as a new signaling
 * session: negotiations in progress with any peer are void (a P2P path
 * that is already up does not depend on the signaling server). */
#ifndef PEERPIPE_SIGCLIENT_H
#define PEERPIPE_SIGCLIENT_H

#include "peerpipe/jwt.h"
#include "peerpipe/sigmsg.h"

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_SIGCLIENT_SUBPROTOCOL "peerpipe.v1"
#define PP_SIGCLIENT_DEFAULT_PATH "/v1/ws"
#define PP_SIGCLIENT_MAX_MESSAGE_DEFAULT (64 * 1024)
/* JOINED lists the whole visible roster: 255 peers with 64-character names
 * and sha-256 fingerprints already pass 64 KiB, so it has its own limit. */
#define PP_SIGCLIENT_MAX_JOINED_DEFAULT (1024 * 1024)
#define PP_SIGCLIENT_SEND_QUEUE_DEFAULT 256 /* messages waiting for the send rate */
#define PP_SIGCLIENT_PEERS_MAX 4096       /* entries in JOINED.peers */
#define PP_SIGCLIENT_ICE_SERVERS_MAX 32   /* entries in JOINED.ice_servers */
#define PP_SIGCLIENT_ICE_URLS_MAX 16      /* urls per ice server */
#define PP_SIGCLIENT_URL_MAX 1024         /* one ICE server URL */
#define PP_SIGCLIENT_CRED_MAX 1024        /* TURN username / credential */
#define PP_SIGCLIENT_CANDIDATE_MAX 4096   /* one candidate line */
#define PP_SIGCLIENT_MID_MAX 256          /* sdpMid */
#define PP_SIGCLIENT_CODE_MAX 64          /* ERROR.code */
#define PP_SIGCLIENT_CHECK_MS 3000        /* pp_sigclient_check()'s default */

enum pp_sigclient_state {
	PP_SIGCLIENT_CONNECTING = 0, /* TCP/TLS/upgrade/JOIN_ROOM under way */
	PP_SIGCLIENT_JOINED = 1,     /* sends are accepted */
	PP_SIGCLIENT_DISCONNECTED = 2, /* a retry is scheduled, or left */
	PP_SIGCLIENT_FATAL = 3,      /* no retry until pp_sigclient_reconnect() */
};

/* Why the state changed (on_state's `why`). */
enum pp_sigclient_why {
	PP_SIGCLIENT_WHY_NONE = 0,
	PP_SIGCLIENT_WHY_NETWORK,      /* connect failed, EOF, reset */
	PP_SIGCLIENT_WHY_CLOSED,       /* the server closed (1000/1001/1011/...) */
	PP_SIGCLIENT_WHY_TIMEOUT,      /* connect, JOINED, or keepalive timeout */
	PP_SIGCLIENT_WHY_TLS,          /* server certificate not trusted */
	PP_SIGCLIENT_WHY_UNAUTHORIZED, /* ERROR unauthorized: fix the token */
	PP_SIGCLIENT_WHY_PROTOCOL,     /* close 1002/1003/1007/1009, bad upgrade;
	                                * a message over the limit (retried) */
	PP_SIGCLIENT_WHY_HTTP,         /* upgrade refused with an HTTP status
	                                * (a redirect included: not followed) */
	PP_SIGCLIENT_WHY_ROOM_FULL,    /* ERROR room_full: retried */
	PP_SIGCLIENT_WHY_LEFT,         /* pp_sigclient_leave() */
};

struct pp_sigclient_config {
	const char *url;          /* ws:// or wss://host[:port][/path]; path
	                           * defaults to /v1/ws */
	const char *token;        /* JWT; copied, wiped on free, never logged */
	const char *room;         /* 1..64 of [A-Za-z0-9._-] */
	const char *fingerprint;  /* "sha-256 AB:..." or NULL */
	const char *ca_file;      /* PEM bundle trusted instead of the system
	                           * store; NULL = system trust store */
	bool allow_insecure_ws;   /* plain ws:// is refused unless set */
	bool tls_errors_fatal;    /* untrusted certificate: FATAL, not retried */
	uint32_t backoff_min_ms;  /* 0 = 500 */
	uint32_t backoff_max_ms;  /* 0 = 30000 */
	uint32_t max_message_size; /* 0 = 64 KiB (every message but JOINED) */
	uint32_t max_joined_size; /* 0 = 1 MiB. The larger of the two bounds
	                           * every message as it arrives, its fragments
	                           * summed: past it the connection is closed
	                           * (1009) before the message is buffered. A
	                           * smaller one over its type's limit is
	                           * dropped as malformed. */
	uint32_t connect_timeout_ms; /* TCP+TLS+upgrade+JOINED; 0 = 10000 */
	uint32_t keepalive_ms;    /* our pings (whole seconds, rounded up);
	                           * 0 = 10000. Dead after 3 silent intervals. */
	uint32_t send_rate;       /* messages/s we send; 0 = four fifths of
	                           * what JOINED.limits allows, else 40
	                           * (signaling.md's default: 50) */
	uint32_t send_burst;      /* 0 = three quarters of JOINED.limits'
	                           * burst, else 150 (signaling.md: 200) */
	uint32_t send_queue_max;  /* messages waiting for send_rate; 0 =
	                           * PP_SIGCLIENT_SEND_QUEUE_DEFAULT.
	                           * Their bytes are bounded too: 4 KiB each
	                           * on average, at least 1 MiB. */
};

struct pp_sigclient_peer {
	char peer_id[PP_PEER_ID_LEN + 1];
	char name[PP_NAME_MAX + 1];
	enum pp_role role;
	char fingerprint[PP_FINGERPRINT_MAX + 1]; /* "" when absent or malformed */
};

struct pp_sigclient_ice {
	const char *candidate;    /* "candidate:..." line (may be "") */
	const char *sdp_mid;      /* NULL when absent or null */
	int sdp_mline_index;      /* -1 when absent or null */
};

/* Every pointer passed to a callback is valid during the call only. Any
 * callback may call the send functions, pp_sigclient_leave() and
 * pp_sigclient_free() (freeing from a callback is deferred internally; no
 * callback follows it). */
struct pp_sigclient_callbacks {
	void (*on_state)(void *user, enum pp_sigclient_state state,
	                 enum pp_sigclient_why why, const char *detail);
	/* ice_servers: a normalized array of RTCIceServer objects, each
	 * {"urls":[...] (always an array), "username"?, "credential"?};
	 * borrowed (json_incref to keep). Entries for peers are in
	 * JOINED order, our own id excluded. Followed by on_state(JOINED). */
	void (*on_joined)(void *user, const char *peer_id,
	                  const struct pp_sigclient_peer *peers, size_t n_peers,
	                  json_t *ice_servers);
	void (*on_new_peer)(void *user, const struct pp_sigclient_peer *peer);
	/* type: "offer" or "answer" */
	void (*on_sdp)(void *user, const char *from, const char *type, const char *sdp);
	/* cand == NULL: end of candidates */
	void (*on_ice)(void *user, const char *from, const struct pp_sigclient_ice *cand);
	void (*on_peer_left)(void *user, const char *peer_id);
	/* A server ERROR message: code (e.g. "unknown_peer"), message and ref
	 * (may be NULL). unauthorized also ends in on_state(FATAL). */
	void (*on_error)(void *user, const char *code, const char *message, const char *ref);
	/* The server answered a pp_sigclient_check() while still JOINED. */
	void (*on_checked)(void *user);
};

struct pp_sigclient;

/* 0 or PP_ERR_CONFIG with *why a static reason (url, scheme, ws:// without
 * allow_insecure_ws, room, token form, fingerprint, limits). */
int pp_sigclient_config_check(const struct pp_sigclient_config *cfg, const char **why);
/* NULL when the configuration is refused (the reason is logged; call
 * pp_sigclient_config_check() to get it) or the ca_file cannot be loaded.
 * ctx NULL = the global default context. */
struct pp_sigclient *pp_sigclient_new(GMainContext *ctx, const struct pp_sigclient_config *cfg,
                                      const struct pp_sigclient_callbacks *cbs, void *user);
/* Process-wide, for a program whose only TLS peer is its signaling server
 * (peerpipe connect, peerpipe-gateway): ca_file's certificates become
 * GIO's default TLS database. glib-networking reads the default database
 * while it creates every client connection, before the client gives it
 * its own (ca_file's), so without this the first connection parses the whole
 * system trust store, twice (40 ms of the client's 100 ms from start to
 * the first byte through the tunnel). Verification still uses the
 * client's ca_file database; a program that also wants the system store
 * for other connections must not call this. 0, or PP_ERR_INVALID when
 * ca_file cannot be loaded (logged). */
int pp_sigclient_trust_default(const char *ca_file);
/* Closes the connection (no LEAVE_ROOM: the server announces PEER_LEFT on
 * close) and frees; the token is wiped. libsoup finishes the close handshake
 * on the context. NULL is allowed. */
void pp_sigclient_free(struct pp_sigclient *c);

/* Sends are accepted only while JOINED (else PP_ERR_STATE; callers queue
 * and resend after on_joined, with the new ids). Each message is at most
 * max_message_size (PP_ERR_TOO_BIG). Beyond send_rate/send_burst messages
 * wait in a bounded queue (send_queue_max; PP_ERR_TOO_BIG when full),
 * which is dropped on disconnect. PP_ERR_INVALID: `to` is not a peer_id,
 * type is not offer/answer, a string is not UTF-8. */
int pp_sigclient_send_sdp(struct pp_sigclient *c, const char *to, const char *type,
                          const char *sdp);
/* candidate NULL: end of candidates ("candidate": null); mid may be NULL,
 * mline_index < 0 means null. */
int pp_sigclient_send_ice(struct pp_sigclient *c, const char *to, const char *candidate,
                          const char *mid, int mline_index);
/* Sends LEAVE_ROOM (when joined) and closes; no reconnect. The state
 * becomes DISCONNECTED/LEFT once closed. PP_ERR_STATE when already left or
 * FATAL. */
int pp_sigclient_leave(struct pp_sigclient *c);
/* For a caller with reason to doubt the connection (its own network path
 * was just lost, say, and the WebSocket may have gone with it): libsoup
 * pings every second until the server is heard from. Anything received
 * from it ends the check with on_checked(); silence for timeout_ms
 * (0 = PP_SIGCLIENT_CHECK_MS) ends the connection as the keepalive
 * would after three silent intervals, and it is retried (on_state
 * DISCONNECTED, TIMEOUT): the next JOINED brings a new peer_id. A check
 * already running keeps its deadline. PP_ERR_STATE unless JOINED: a
 * caller waits for on_joined() then. */
int pp_sigclient_check(struct pp_sigclient *c, uint32_t timeout_ms);
/* Joined, and the server was heard from (a message or a pong) within the
 * last ms: what a check would wait for, if the doubt is older than that. */
bool pp_sigclient_heard_within(const struct pp_sigclient *c, uint32_t ms);
/* Replaces the token used by the next JOIN_ROOM (the old one is wiped).
 * PP_ERR_INVALID when it is not a JWT-shaped string. */
int pp_sigclient_set_token(struct pp_sigclient *c, const char *token);
/* Connects now with a fresh backoff, from any state but JOINED/CONNECTING
 * (PP_ERR_STATE then). */
int pp_sigclient_reconnect(struct pp_sigclient *c);

enum pp_sigclient_state pp_sigclient_get_state(const struct pp_sigclient *c);
/* Our peer_id while JOINED, else NULL. */
const char *pp_sigclient_peer_id(const struct pp_sigclient *c);
/* Connection attempts started so far (for tests and status displays). */
unsigned pp_sigclient_attempts(const struct pp_sigclient *c);
/* Messages per second we send at most now (send_rate, or what the last
 * JOINED.limits made of it). */
uint32_t pp_sigclient_send_rate(const struct pp_sigclient *c);
const char *pp_sigclient_state_name(enum pp_sigclient_state s);
const char *pp_sigclient_why_name(enum pp_sigclient_why w);

/* ---- server -> peer message parser (pure; exposed for tests and fuzzing) */

enum pp_sigclient_msg_type {
	PP_SIGCLIENT_MSG_UNKNOWN = 0, /* a type this version does not know: ignore */
	PP_SIGCLIENT_MSG_JOINED,
	PP_SIGCLIENT_MSG_NEW_PEER,
	PP_SIGCLIENT_MSG_FORWARD_SDP,
	PP_SIGCLIENT_MSG_FORWARD_ICE,
	PP_SIGCLIENT_MSG_PEER_LEFT,
	PP_SIGCLIENT_MSG_ERROR,
};

struct pp_sigclient_limits {
	size_t max_message_size;  /* every type but JOINED */
	size_t max_joined_size;
};

struct pp_sigclient_msg {
	enum pp_sigclient_msg_type type;
	json_t *root;                 /* owns the strings below */
	const char *type_name;        /* the "type" string as received */
	/* JOINED */
	const char *room;
	const char *peer_id;          /* also PEER_LEFT */
	struct pp_sigclient_peer *peers; /* JOINED (n_peers, malformed entries
	                                  * skipped) and NEW_PEER (one) */
	size_t n_peers;
	size_t n_skipped;             /* JOINED.peers/ice_servers entries dropped */
	json_t *ice_servers;          /* JOINED: normalized copy, owned */
	uint32_t limit_rate, limit_burst; /* JOINED.limits (an extension of
	                                  * peerpipe-signal: what it allows us),
	                                  * 0 when absent or malformed */
	/* FORWARD_SDP, FORWARD_ICE */
	const char *from;
	const char *sdp_type, *sdp;
	bool has_candidate;           /* false: candidate null (end) */
	struct pp_sigclient_ice ice;
	/* ERROR */
	const char *code, *message, *ref;
};

/* Parses one text message from the server. 0 (type may be UNKNOWN),
 * PP_ERR_TOO_BIG, or PP_ERR_INVALID; on error *why is a static reason and
 * `out` needs no clearing. */
int pp_sigclient_msg_parse(const char *text, size_t len, const struct pp_sigclient_limits *lim,
                           struct pp_sigclient_msg *out, const char **why);
void pp_sigclient_msg_clear(struct pp_sigclient_msg *m);
/* 32 lowercase hex characters. */
bool pp_peer_id_valid(const char *s, size_t len);

#endif
