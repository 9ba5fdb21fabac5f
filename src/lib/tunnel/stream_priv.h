/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by stream.c (channel side, life cycle) and
 * stream_sock.c (socket side). */
#ifndef PEERPIPE_TUNNEL_STREAM_PRIV_H
#define PEERPIPE_TUNNEL_STREAM_PRIV_H

#include "peerpipe/tunnel/frame.h"
#include "peerpipe/tunnel/stream.h"

#define PP_TSTREAM_HIGH_DEFAULT (256 * 1024)
#define PP_TSTREAM_NAME_MAX 96
#define PP_TSTREAM_STALL_DEFAULT_MS 10000
#define PP_TSTREAM_LINGER_DEFAULT_MS 5000

struct pp_tstream {
	GMainContext *ctx;
	struct pp_tstream_config cfg;
	struct pp_tstream_callbacks cb;
	void *user;
	void *data;                     /* the program's */
	char *log_peer;
	char name[PP_TSTREAM_NAME_MAX];

	struct pp_sctp_channel *ch;     /* NULL once the channel closed */
	struct pp_frame_encoder *enc;
	struct pp_frame_decoder *dec;

	int fd;                         /* -1 before attach and after close */
	struct pp_fdwatch *io;          /* watches fd */
	bool sock_closed;               /* our side ended: no socket from now on */
	bool hup_seen;                  /* hangup after our EOF: stop polling */

	/* socket -> channel */
	bool read_eof;                  /* our socket said EOF; EOF message sent */
	bool read_blocked;              /* buffered amount over the high mark */
	bool confirmed;                 /* CONNECTED seen (or no limit) */
	uint64_t unconfirmed;           /* bytes sent before CONNECTED */

	/* channel -> socket */
	uint8_t *wbuf;                  /* decoded bytes waiting for the socket */
	size_t wlen, woff, wcap;
	bool eof_received;              /* EOF message seen: shut our write side */
	bool wr_shut;
	bool pressure;                  /* over_own, or the pool over and bytes here */
	bool over_own;                  /* over write_max, until half of it */
	GSource *stall;                 /* under pressure: progress check */
	uint64_t stall_mark;            /* bytes_out at the last check */

	char *soon;                     /* pp_tstream_send_text_soon()'s text */
	GSource *soon_timer;            /* ...sent alone when it fires */

	bool chan_closing;              /* we reset the channel */
	GSource *linger;                /* opener, ended: waiting for the peer's close */
	bool aborting;
	bool closed_reported;
	const char *reason;             /* first reason to end */
	GSource *idle;                  /* deferred on_closed */

	struct pp_tstream_stats stats;
};

/* stream_sock.c */
/* Whether the stream holds the association paused (its own write buffer
 * over write_max, until half of it; or the pool over its limit while the
 * stream has bytes in it), after either changed. */
void pp_tstream_check_pressure(struct pp_tstream *st);
void pp_tstream_sock_update(struct pp_tstream *st);
void pp_tstream_sock_close(struct pp_tstream *st, bool rst);
void pp_tstream_sock_flush(struct pp_tstream *st);
int pp_tstream_queue_write(struct pp_tstream *st, const uint8_t *data, size_t len);
/* Reads what a socket just accepted already holds now instead of at the
 * next turn of the loop (its application usually speaks first: the
 * request then leaves with the channel's DCEP OPEN). Costs one recv()
 * that finds nothing otherwise. For pp_tsession_open_stream(). */
void pp_tstream_read_now(struct pp_tstream *st);

/* stream.c */
/* The mark the channel's queue stops reading the socket at: high_mark, or
 * the stream's share of the pool if less. */
size_t pp_tstream_high_mark(const struct pp_tstream *st);
void pp_tstream_fail(struct pp_tstream *st, const char *reason);
void pp_tstream_maybe_done(struct pp_tstream *st);
void pp_tstream_send_eof(struct pp_tstream *st);
int pp_tstream_send_data(struct pp_tstream *st, const uint8_t *data, size_t len);

#endif
