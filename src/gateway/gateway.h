/* SPDX-License-Identifier: Apache-2.0 */
/* peerpipe-gateway: one tunnel node (peerpipe/tunnel/node.h) that answers
 * desktops, checks each peer's identity against the configuration, lists
 * its services and bridges each allowed stream to the one host:port the
 * service names. See docs/gateway.md. */
#ifndef PP_GATEWAY_GATEWAY_H
#define PP_GATEWAY_GATEWAY_H

#include "flow_key.h"
#include "gconfig.h"
#include "log_budget.h"
#include "sentinel.h"

#include "peerpipe/ids/eve.h"
#include "peerpipe/ids/suricata.h"
#include "peerpipe/rtc/identity.h"
#include "peerpipe/tunnel/node.h"

#include <gio/gio.h>
#include <glib.h>

struct gw {
	GMainContext *ctx;
	struct gw_config *cfg;          /* current; reloads swap it */
	struct gw_config *start_cfg;    /* what the node was built with (ref):
	                                 * signaling, ice_addresses */
	struct pp_identity *identity;
	struct pp_tnode *node;
	char agent[64];
	char room[PP_NAME_MAX + 1];     /* from the token when not configured */
	bool stopping;
	int log_level_cli;              /* --log-level (enum pp_log_level), -1
	                                 * for none: reloads keep it */
	unsigned streams;               /* live streams, all peers */
	GHashTable *flows;              /* flow key (flow_key.h) of a service socket -> gw_stream */
	GHashTable *refusals;           /* fingerprint text -> struct gw_log_budget (gateway.c) */
	struct pp_suricata *ids;        /* ids = ids or ips */
	gchar **ids_rules;
	bool ids_on, ids_ready, ids_fail_open;
	uint32_t ips_mark;              /* ids = ips: SO_MARK of service sockets, else 0 */
	uint16_t ips_queue;             /* ids = ips: the NFQUEUE */
	int ips_backend;                /* enum pp_nfq_backend of the rules installed */
	struct gw_alert_recent *recent; /* flows that ended lately (gw_alert.c) */
	struct sentinel *sentinel;      /* gw_sentinel.c: counts per identity */
	struct bans *bans;              /* the ban store (bans.h) */
	struct pp_fingerprint *pins_ok; /* the pins without banned fingerprints */
	GSource *ban_idle;              /* closes the sessions of banned peers */
	struct gw_resolver *resolver;   /* service names (resolve.h) */
};

/* A connected desktop. */
struct gw_peer {
	struct gw *gw;
	struct pp_tlink *link;
	struct gw_config *cfg;          /* the config identity belongs to (ref) */
	const struct gw_identity *identity; /* NULL until READY */
	unsigned streams;
	gint64 since_us;
	struct gw_log_budget turned_away; /* refused streams' log lines (gw_stream.c) */
	bool banned;                    /* Sentinel banned it: no more counting */
	bool kicked;                    /* ALERT peer_banned and BYE sent */
	char address[PP_ICE_ADDR_TEXT_MAX]; /* where its datagrams come from, or "unknown" */
	const char *address_type;       /* its candidate type: host, srflx, prflx, relay */
};

/* A service stream on the gateway side. */
struct gw_stream {
	struct gw_peer *peer;
	struct pp_tstream *st;
	char service[GW_NAME_MAX + 1];
	struct gw_resolve_wait *lookup; /* the service's name being looked up */
	GList *addrs;                   /* its addresses not tried yet (GInetAddress refs) */
	uint16_t port;
	int64_t timeout_ms;             /* connect_timeout when the stream came */
	gint64 deadline_us;             /* ... from then (monotonic) */
	int pending_fd;                 /* a connect under way */
	struct pp_fdwatch *pending_watch; /* its writability */
	GSource *pending_timer;         /* connect_timeout (a name: its lookup too) */
	GSource *attempt_timer;         /* a name's address: its share of what is left */
	bool connected;
	char flow_key[GW_FLOW_KEY_MAX]; /* our socket's 4-tuple (alerts) */
	int mark_err;                   /* ips: SO_MARK failed (errno), never connect */
};

int gw_start(struct gw *gw, struct gw_config *cfg, struct pp_identity *id);
/* BYE to every peer; returns how many sessions are still closing. */
unsigned gw_stop(struct gw *gw);
void gw_free(struct gw *gw);
/* Applies a new configuration (takes the reference). */
void gw_reload(struct gw *gw, struct gw_config *newc);

/* gw_ids.c: Suricata with the gateway (ids = ids or ips; ips: with the
 * netfilter rules that queue the service connections, removed on stop). */
int gw_ids_start(struct gw *gw, const struct gw_config *cfg);
bool gw_ids_admits(const struct gw *gw);
void gw_ids_stop(struct gw *gw);
/* ips mode: marks a service socket before connect (0 or -errno). */
int gw_ids_mark_socket(const struct gw *gw, int fd);

/* gw_alert.c: IDS alerts to streams (by the service socket's 4-tuple). */
void gw_alert_track(struct gw *gw, struct gw_stream *gs, int fd);
void gw_alert_untrack(struct gw *gw, struct gw_stream *gs);
/* An EVE alert or drop: ALERT to the stream's peer, the stream reset. */
void gw_alert(struct gw *gw, const struct pp_eve *e);
/* The ring of recently ended flows (late alerts, see gw_alert.c). */
struct gw_alert_recent *gw_alert_recent_new(void);
void gw_alert_recent_free(struct gw_alert_recent *r);

/* gw_sentinel.c: Sentinel and the ban store (docs/gateway.md "Sentinel").
 * start fails on an unreadable bans file (the gateway must not start). */
struct ban;
int gw_sentinel_start(struct gw *gw, const struct gw_config *cfg);
void gw_sentinel_reload(struct gw *gw, const struct gw_config *oldc, const struct gw_config *newc);
void gw_sentinel_stop(struct gw *gw);
/* One event of p (service: the name asked for); a limit reached bans p. */
void gw_sentinel_note(struct gw_peer *p, enum sentinel_event ev, const char *service);
/* fp's active ban (the bans file re-read if it changed), or NULL. */
const struct ban *gw_sentinel_banned(struct gw *gw, const struct pp_fingerprint *fp);
/* The configured pins without the banned ones (valid until the next call). */
const struct pp_fingerprint *gw_sentinel_pins(struct gw *gw, size_t *n);
/* ALERT peer_banned, BYE and close. */
void gw_sentinel_kick(struct pp_tsession *s, const struct ban *b);

/* gw_stream.c */
void gw_stream_request(struct gw_peer *p, struct pp_sctp_channel *ch);
void gw_stream_closed(struct gw_peer *p, struct pp_tstream *st, const char *reason);
/* Ends a stream from the gateway's side: its connect or name lookup, if
 * still under way, stops at once. */
void gw_stream_abort(struct pp_tstream *st, const char *reason);
/* Resets every stream of s and closes its service sockets at once: before
 * the BYE of a revoke or a ban, whose orderly close would otherwise go on
 * writing what the peer still sends to the services for its grace time.
 * Not from inside a stream callback of s. */
void gw_session_abort_streams(struct pp_tsession *s, const char *reason);
/* Sends SERVICES for this peer's identity. */
void gw_peer_send_services(struct gw_peer *p);

#endif
