/* SPDX-License-Identifier: Apache-2.0 */
/* peerpipe-rtc-echo: shared state of the program (rtc-echo.c: options,
 * signaling, main loop; rtc_echo_peer.c: peer connections and channels;
 * rtc_echo_emit.c: the JSON event lines on stdout). */
#ifndef PEERPIPE_TOOLS_RTC_ECHO_H
#define PEERPIPE_TOOLS_RTC_ECHO_H

#include "peerpipe/log.h"
#include "peerpipe/rtc/fingerprint.h"
#include "peerpipe/rtc/ice.h"
#include "peerpipe/rtc/peer.h"
#include "peerpipe/sigclient.h"
#include "peerpipe/sigice.h"

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Echoes waiting for the channel's queue to drain, per channel. */
#define ECHO_PENDING_MAX (64u * 1024 * 1024)
/* Our own buffered-amount-low threshold on every channel. */
#define ECHO_LOW_THRESHOLD (1024u * 1024)
/* A closing peer is freed on CLOSED, or after this at the latest
 * (pp_peer_close() gives the SCTP shutdown 2 s). */
#define ECHO_CLOSE_GRACE_MS 3000

struct echo_app {
	GMainLoop *loop;
	GMainContext *ctx;
	struct pp_sigclient *sig;
	struct pp_identity *identity;
	struct pp_fingerprint *pins;
	size_t n_pins;
	bool allow_unpinned;
	char **local_addresses; /* NULL-terminated */
	char **open_labels;     /* NULL-terminated: channels we open */
	bool use_joined_ice;
	struct pp_ice_server_set ice; /* from JOINED (--ice-from-joined) */
	GHashTable *peers;      /* peer_id -> struct echo_peer */
	bool stopping;
	int exit_code;
};

struct echo_chan;

struct echo_peer {
	struct echo_app *app;
	char id[PP_PEER_ID_LEN + 1];
	struct pp_peer *pc;
	bool offerer;
	bool have_remote;
	const char *dtls_role;  /* "client" / "server" once known */
	enum pp_peer_state state;
	GList *chans;           /* struct echo_chan, live ones */
	bool dropping;          /* closed or closing: freed from free_source */
	guint free_source;
};

/* rtc_echo_peer.c */
struct echo_peer *echo_peer_new(struct echo_app *app, const char *peer_id, bool offerer);
void echo_peer_on_sdp(struct echo_peer *p, const char *type, const char *sdp);
void echo_peer_on_ice(struct echo_peer *p, const struct pp_sigclient_ice *cand);
/* Closes the connection and frees the peer from the context later. */
void echo_peer_drop(struct echo_peer *p, const char *why);
void echo_peer_destroy(gpointer data); /* GHashTable value destructor */

/* rtc_echo_emit.c: one JSON object per line on stdout, flushed. The
 * object is consumed; "event" and "t" (seconds since start) are added. */
void echo_emit(const char *event, json_t *fields);
/* Forwards library log lines to stderr and turns the interesting ones
 * (ICE selected pair, mDNS outcome) into events. */
void echo_log_sink(enum pp_log_level level, const char *line, void *user);

#endif
