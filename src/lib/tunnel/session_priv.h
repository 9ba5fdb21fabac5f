/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by session.c (peer events, streams, life cycle) and
 * session_ctrl.c (control channel: HELLO, PING, timers). */
#ifndef PEERPIPE_TUNNEL_SESSION_PRIV_H
#define PEERPIPE_TUNNEL_SESSION_PRIV_H

#include "peerpipe/tunnel/session.h"

/* ICE restarts the restarting side offers in one outage: each one's checks
 * give up after about 8 s while the path is still down, so three carry a
 * session through an outage of about half a minute. */
#define PP_TSESSION_RESTARTS_MAX 3

struct pp_tsession {
	GMainContext *ctx;
	struct pp_tsession_config cfg;
	struct pp_tsession_callbacks cb;
	void *user;
	char *log_peer;
	char *agent;
	struct pp_peer *peer;
	enum pp_tsession_state state;

	struct pp_sctp_channel *control;
	bool hello_sent;
	bool hello_received;
	unsigned remote_formats;   /* PP_FRAME_FMT_* from the remote HELLO */
	char *remote_agent;
	bool remote_gateway;

	GHashTable *streams;       /* struct pp_tstream * set */
	struct pp_frame_budget *zstd_budget; /* this peer's zstd-stream contexts */
	unsigned pressured;        /* streams whose socket is behind */
	struct pp_tstream_pool *pool; /* what the streams hold together (stream_pool.h) */

	bool peer_up;              /* the peer connection was CONNECTED once */
	unsigned restarts_tried;   /* our ICE restarts of this outage */
	bool path_down;            /* on_path(false) reported, not yet (true) */
	GSource *restart_wait;     /* ice_restart_wait_ms after the path was lost */
	GSource *check;            /* pp_tsession_check_peer()'s deadline */
	int64_t check_t;           /* its PING's "t", which a PONG echoes */
	bool check_pong_only;      /* receive was paused since the PING: what
	                            * usrsctp holds may predate it, so only the
	                            * PONG answers */

	GSource *timer;            /* connect, then HELLO deadline */
	const char *timer_reason;
	GSource *closed_idle;
	bool closed_reported;
	char *close_reason;
};

/* session_ctrl.c */
void pp_tsession_connected(struct pp_tsession *s);
void pp_tsession_send_hello(struct pp_tsession *s);
void pp_tsession_on_control(struct pp_tsession *s, enum pp_sctp_kind kind,
                            const uint8_t *data, size_t len);
void pp_tsession_start_timer(struct pp_tsession *s, uint32_t ms, const char *reason);
void pp_tsession_stop_timers(struct pp_tsession *s);
/* A message from the peer while a check_peer waits: the check is over,
 * unless receive was paused meanwhile (check_pong_only) and it is not the
 * PONG to this check's PING (pong_t: its "t"; -1 for any other message). */
void pp_tsession_peer_heard(struct pp_tsession *s, int64_t pong_t);

/* session.c */
void pp_tsession_fail(struct pp_tsession *s, const char *reason);
void pp_tsession_restart_ice(struct pp_tsession *s, const char *why);

#endif
