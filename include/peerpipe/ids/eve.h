/* SPDX-License-Identifier: Apache-2.0 */
/* Suricata 7 EVE records (eve-log, one JSON object per line) as the gateway
 * reads them from its unix stream socket: a line splitter with a bound,
 * and a strict parser for the few fields it acts on.
 *
 * What Suricata 7.0.10 writes (checked against real output, see
 * tests/unit/ids/test_eve.c and docs/ids.md):
 * - top level "src_ip"/"src_port"/"dest_ip"/"dest_port" follow the
 *   *packet* that triggered the record ("direction": "to_server" or
 *   "to_client"); an alert on a server's answer has the service as src;
 * - alerts carry a "flow" object with "src_ip"/"src_port"/"dest_ip"/
 *   "dest_port" of the *flow*: src is the initiator, always. That is what
 *   maps an alert to a connection (pp_eve_initiator());
 * - "drop" records (IPS) have no addresses in "flow" but a "direction",
 *   and an "alert" object when a rule caused the drop;
 * - "flow" records have the initiator at the top level and no direction;
 * - IPv6 addresses are written uncompressed ("fd00:0000:...:0002"); the
 *   parser keeps the binary address and the inet_ntop form.
 *
 * Strict about what it knows, silent about the rest: the whole line must be
 * one valid JSON object (UTF-8, no NUL, nesting within 16), a known field
 * of the wrong type or outside its limits is PP_ERR_INVALID with a static
 * reason, unknown fields and unknown event types (PP_EVE_OTHER) are
 * ignored. Duplicate keys are tolerated (the last one counts): the
 * producer is the local Suricata, and losing an alert to a formatting
 * quirk would be worse than the ambiguity. The parsed record holds no
 * pointers: nothing to free. */
#ifndef PEERPIPE_IDS_EVE_H
#define PEERPIPE_IDS_EVE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits; string lengths in bytes, without the NUL. */
#define PP_EVE_LINE_MAX 65536     /* one record, without its "\n" */
#define PP_EVE_NESTING_MAX 16     /* {} and [] depth, checked before parsing */
#define PP_EVE_TYPE_MAX 32        /* "event_type": [A-Za-z0-9._-] */
#define PP_EVE_TIMESTAMP_MAX 64   /* printable ASCII, no spaces */
#define PP_EVE_PROTO_MAX 16       /* "proto", "app_proto": [A-Za-z0-9._-] */
#define PP_EVE_APP_PROTO_MAX 32
#define PP_EVE_SIGNATURE_MAX 512  /* as PP_CTRL_SIGNATURE_MAX: fits an ALERT */
#define PP_EVE_CATEGORY_MAX 256
#define PP_EVE_IP_MAX 45          /* longest textual IPv6 (with IPv4 tail) */

enum pp_eve_type {
	PP_EVE_OTHER = 0, /* http, dns, fileinfo, anomaly, ...: not acted on */
	PP_EVE_ALERT,
	PP_EVE_DROP,
	PP_EVE_FLOW,
	PP_EVE_STATS,
};

enum pp_eve_action {
	PP_EVE_ACTION_NONE = 0, /* no "alert" object */
	PP_EVE_ACTION_ALLOWED,  /* IDS, or an alert rule in IPS mode */
	PP_EVE_ACTION_BLOCKED,  /* drop/reject rule in IPS mode: packet dropped */
	PP_EVE_ACTION_OTHER,    /* a string we do not know: still an alert */
};

enum pp_eve_direction {
	PP_EVE_DIR_NONE = 0, /* absent or unknown */
	PP_EVE_DIR_TO_SERVER,
	PP_EVE_DIR_TO_CLIENT,
};

/* One end of a record or of its flow. */
struct pp_eve_endpoint {
	bool has_ip;
	int family;                /* AF_INET or AF_INET6 when has_ip */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
	char ip[PP_EVE_IP_MAX + 1]; /* inet_ntop form ("fd00::2"), "" if none */
	bool has_port;
	uint16_t port;
};

struct pp_eve_alert {
	enum pp_eve_action action;  /* NONE: the record has no "alert" */
	uint32_t gid;               /* 0 when absent */
	uint32_t signature_id;      /* required in an "alert" object */
	uint32_t rev;               /* 0 when absent */
	uint32_t severity;          /* 0..255; 0 when absent */
	char signature[PP_EVE_SIGNATURE_MAX + 1]; /* "" when absent */
	char category[PP_EVE_CATEGORY_MAX + 1];   /* "" when absent */
};

struct pp_eve {
	enum pp_eve_type type;
	char event_type[PP_EVE_TYPE_MAX + 1]; /* as written, also for OTHER */
	char timestamp[PP_EVE_TIMESTAMP_MAX + 1];
	bool has_flow_id;
	uint64_t flow_id;                     /* 0..2^63-1 */
	char proto[PP_EVE_PROTO_MAX + 1];     /* "TCP", "UDP", ...; "" if absent */
	char app_proto[PP_EVE_APP_PROTO_MAX + 1]; /* "http", "failed", ...; "" */
	enum pp_eve_direction direction;
	struct pp_eve_endpoint src, dest;           /* top level: the packet's */
	struct pp_eve_endpoint flow_src, flow_dest; /* "flow": initiator, responder */
	struct pp_eve_alert alert;            /* ALERT (required), DROP (optional) */
};

/* Parses one record (without its "\n"; trailing whitespace is fine) into
 * *out, which is zeroed first. 0, PP_ERR_TOO_BIG (over PP_EVE_LINE_MAX) or
 * PP_ERR_INVALID (not one JSON object, too deep, "event_type" missing, a
 * known field mistyped or over its limit, an ALERT without an "alert"
 * object or "signature_id"), PP_ERR_NOMEM; on error *why is a static
 * reason and *out is zeroed again. why may be NULL. */
int pp_eve_parse(const char *line, size_t len, struct pp_eve *out, const char **why);

const char *pp_eve_type_name(enum pp_eve_type t);        /* "alert", ..., "other" */
const char *pp_eve_action_name(enum pp_eve_action a);    /* "allowed", "blocked", ... */

/* The connection a record belongs to, as initiator (client) and responder
 * (server): the "flow" object's addresses when it has them (alerts), else
 * the top level ordered by "direction" (drop records), else the top level
 * as is for FLOW records. false when none of these applies or an address
 * or port is missing. */
bool pp_eve_initiator(const struct pp_eve *e, const struct pp_eve_endpoint **client,
                      const struct pp_eve_endpoint **server);

/* Line splitter for the EVE stream socket. Bytes go in in any chunking;
 * each complete line (without "\n"; empty lines are skipped) comes out
 * through the callback with err 0. A line longer than max_line is
 * reported once, with line NULL and err PP_ERR_TOO_BIG, as soon as it
 * passes the limit, and then discarded up to its "\n": memory stays at
 * max_line bytes whatever arrives. Lines wholly inside one chunk are
 * passed straight from the caller's buffer; only a line cut by a chunk
 * boundary is copied. */
struct pp_eve_reader;

typedef void (*pp_eve_line_fn)(void *user, const char *line, size_t len, int err);

/* max_line 0 means PP_EVE_LINE_MAX; more than PP_EVE_LINE_MAX is refused
 * (NULL), as is out of memory. */
struct pp_eve_reader *pp_eve_reader_new(size_t max_line);
void pp_eve_reader_free(struct pp_eve_reader *r);
/* Splits data into lines for fn. fn must not free r. */
void pp_eve_reader_feed(struct pp_eve_reader *r, const void *data, size_t len,
                        pp_eve_line_fn fn, void *user);
/* End of stream: a pending partial line is dropped and reported once with
 * err PP_ERR_TRUNCATED (a line being discarded is dropped silently: its
 * error was reported). The reader is empty again, ready for a new stream.
 * Returns the number of bytes dropped (0: nothing was pending). */
size_t pp_eve_reader_finish(struct pp_eve_reader *r, pp_eve_line_fn fn, void *user);
/* Bytes held for an incomplete line (for tests and statistics). */
size_t pp_eve_reader_pending(const struct pp_eve_reader *r);

#endif
