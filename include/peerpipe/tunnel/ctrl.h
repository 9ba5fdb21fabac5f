/* SPDX-License-Identifier: Apache-2.0 */
/* Control-channel and service-stream text messages (tunnel.md §3-4).
 *
 * Control channel: HELLO, SERVICES, ALERT, PING, PONG, BYE, GOST_KEY.
 * Service stream:  CONNECTED, DENIED, FAILED, EOF.
 * One parser for both (the caller checks a type arrived where it may).
 *
 * Parsing is strict about what it knows and silent about the rest, as the
 * spec asks: an unknown "type" yields PP_CTRL_UNKNOWN (to be ignored),
 * unknown fields are ignored, but a known field of the wrong type or out
 * of its limits is PP_ERR_INVALID with a reason. jansson refuses text that
 * is not UTF-8 and strings holding \u0000, so every string is a safe C
 * string. Free text (agent, description, signature, reason) may hold any
 * other character; the logger escapes control characters. */
#ifndef PEERPIPE_TUNNEL_CTRL_H
#define PEERPIPE_TUNNEL_CTRL_H

#include "peerpipe/jwt.h" /* enum pp_role: "gateway" | "desktop" */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_CTRL_LABEL "peerpipe-control"
#define PP_CTRL_PROTOCOL "peerpipe.control.v1"
#define PP_TUNNEL_STREAM_PROTOCOL "peerpipe.tcp.v1"

/* Limits; string lengths in bytes. */
#define PP_CTRL_MSG_MAX 65536       /* one text message */
#define PP_CTRL_NESTING_MAX 8       /* {} and [] depth, checked before parsing */
#define PP_CTRL_SERVICES_MAX 256
#define PP_CTRL_NAME_MAX 64         /* service name: 1..64 of [A-Za-z0-9._-] */
#define PP_CTRL_PROTO_MAX 16        /* service proto: same charset, "tcp" */
#define PP_CTRL_DESCRIPTION_MAX 256
#define PP_CTRL_AGENT_MAX 128
#define PP_CTRL_MAX_DATAGRAM_MIN 1200 /* HELLO "max_datagram" range */
#define PP_CTRL_MAX_DATAGRAM_MAX 65507
#define PP_CTRL_VERSION_MAX 16      /* 1..16 of [A-Za-z0-9._-] */
#define PP_CTRL_COMPRESSION_MAX 8   /* entries; unknown names are ignored */
#define PP_CTRL_REASON_MAX 256
#define PP_CTRL_SIGNATURE_MAX 512
#define PP_CTRL_STREAM_MAX 128      /* ALERT "stream": "<label>#<id>" */
#define PP_CTRL_ACTION_MAX 64       /* ALERT "action" as kept (longer: cut) */

enum pp_ctrl_type {
	PP_CTRL_UNKNOWN = 0, /* a type we do not know: ignore it */
	PP_CTRL_HELLO,
	PP_CTRL_SERVICES,
	PP_CTRL_ALERT,
	PP_CTRL_PING,
	PP_CTRL_PONG,
	PP_CTRL_BYE,
	PP_CTRL_GOST_KEY,    /* v1.1-G key exchange: known, not supported yet */
	PP_CTRL_CONNECTED,   /* service stream from here on */
	PP_CTRL_DENIED,
	PP_CTRL_FAILED,
	PP_CTRL_EOF,
};

enum pp_ctrl_action {
	PP_CTRL_ACTION_OTHER = 0, /* a future action name: the alert still counts */
	PP_CTRL_ACTION_STREAM_CLOSED,
	PP_CTRL_ACTION_PEER_BANNED,
};

enum pp_tunnel_version {
	PP_TUNNEL_V1_0 = 0,
	PP_TUNNEL_V1_1G,
};

struct pp_ctrl_service {
	char *name;        /* valid per pp_tunnel_service_name_valid() */
	char *proto;       /* "tcp" when absent */
	char *description; /* "" when absent */
};

/* Fields are set for the types named; the others stay 0/NULL. Optional
 * text absent from the message is "" (never NULL for its type). */
struct pp_ctrl_msg {
	enum pp_ctrl_type type;
	/* HELLO */
	char *version;     /* as sent; see pp_ctrl_session_version() */
	char *agent;
	enum pp_role role;
	unsigned formats;  /* PP_FRAME_FMT_* listed in "compression" */
	uint32_t max_datagram; /* "max_datagram" (PeerPipe extension); 0: absent */
	/* SERVICES */
	struct pp_ctrl_service *services;
	size_t n_services;
	/* ALERT */
	char *stream;
	uint32_t signature_id;
	char *signature;
	enum pp_ctrl_action action;
	char *action_name; /* "action" as received, cut to PP_CTRL_ACTION_MAX
	                    * bytes on a character boundary (not sanitized) */
	/* PING, PONG: an integer; a JSON real is truncated toward 0 */
	int64_t t;
	/* BYE, DENIED, FAILED */
	char *reason;
};

/* Parses one text message into *out (which owns its strings: release with
 * pp_ctrl_msg_clear(), also after an error, harmlessly). 0, PP_ERR_TOO_BIG
 * (over PP_CTRL_MSG_MAX), PP_ERR_INVALID (not JSON, not UTF-8, too deep, a
 * known field mistyped or over its limit) or PP_ERR_NOMEM; on error *why
 * is a static reason. */
int pp_ctrl_parse(const char *text, size_t len, struct pp_ctrl_msg *out,
                  const char **why);
void pp_ctrl_msg_clear(struct pp_ctrl_msg *m);
const char *pp_ctrl_type_name(enum pp_ctrl_type t);

/* 1..64 characters of [A-Za-z0-9._-] (NUL-terminated). */
bool pp_tunnel_service_name_valid(const char *name);

/* 1.1-G only when both sides' HELLO say "1.1-G", else 1.0. */
enum pp_tunnel_version pp_ctrl_session_version(const char *ours, const char *theirs);
const char *pp_tunnel_version_name(enum pp_tunnel_version v); /* "1.0" / "1.1-G" */

/* Builders: compact JSON text, malloc'd (free()). NULL when an argument
 * is invalid (a bad name, role, version or action, text that is not
 * UTF-8) or memory runs out. Free text over its limit is cut at a
 * character boundary, so what we send always passes the peer's limits. */
/* max_datagram: the largest UDP datagram this end's data-channel stack
 * takes (PP_CTRL_MAX_DATAGRAM_MIN..MAX), 0 to leave the field out. Peers
 * that know it may then send datagrams above 1,200 bytes where the path
 * carries them (pp_peer_set_max_datagram); others ignore it (tunnel.md:
 * unknown fields are ignored). */
char *pp_ctrl_build_hello(enum pp_role role, const char *agent, unsigned formats,
                          const char *version, uint32_t max_datagram);
char *pp_ctrl_build_services(const struct pp_ctrl_service *services, size_t n);
/* SERVICES with the longest prefix of the list that builds into one
 * message (PP_CTRL_SERVICES_MAX entries, PP_CTRL_MSG_MAX bytes; an invalid
 * entry ends the prefix too); *sent: how many. NULL only when out of
 * memory. */
char *pp_ctrl_build_services_fit(const struct pp_ctrl_service *services, size_t n, size_t *sent);
char *pp_ctrl_build_alert(const char *stream, uint32_t signature_id,
                          const char *signature, enum pp_ctrl_action action);
char *pp_ctrl_build_ping(int64_t t);
char *pp_ctrl_build_pong(int64_t t);
char *pp_ctrl_build_bye(const char *reason);
char *pp_ctrl_build_connected(void);
char *pp_ctrl_build_denied(const char *reason);
char *pp_ctrl_build_failed(const char *reason);
char *pp_ctrl_build_eof(void);

#endif
