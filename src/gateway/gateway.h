/* SPDX-License-Identifier: Apache-2.0 */
/* peerpipe-gateway: one tunnel node (peerpipe/tunnel/node.h) that answers
 * desktops, checks each peer's identity against the configuration, lists
 * its services and bridges each allowed stream to the one host:port the
 * service names. See docs/gateway.md. */
#ifndef PP_GATEWAY_GATEWAY_H
#define PP_GATEWAY_GATEWAY_H

#include "gconfig.h"

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
	unsigned streams;               /* live streams, all peers */
};

/* A connected desktop. */
struct gw_peer {
	struct gw *gw;
	struct pp_tlink *link;
	struct gw_config *cfg;          /* the config identity belongs to (ref) */
	const struct gw_identity *identity; /* NULL until READY */
	unsigned streams;
	gint64 since_us;
};

/* A service stream on the gateway side. */
struct gw_stream {
	struct gw_peer *peer;
	struct pp_tstream *st;
	char service[GW_NAME_MAX + 1];
	GCancellable *connecting;       /* a name being resolved and connected */
	int pending_fd;                 /* an address literal being connected */
	GSource *pending_src;           /* its writability watch */
	GSource *pending_timer;         /* connect_timeout */
	bool connected;
};

int gw_start(struct gw *gw, struct gw_config *cfg, struct pp_identity *id);
/* BYE to every peer; returns how many sessions are still closing. */
unsigned gw_stop(struct gw *gw);
void gw_free(struct gw *gw);
/* Applies a new configuration (takes the reference). */
void gw_reload(struct gw *gw, struct gw_config *newc);

/* gw_stream.c */
void gw_stream_request(struct gw_peer *p, struct pp_sctp_channel *ch);
void gw_stream_closed(struct gw_peer *p, struct pp_tstream *st, const char *reason);
/* Sends SERVICES for this peer's identity. */
void gw_peer_send_services(struct gw_peer *p);

#endif
