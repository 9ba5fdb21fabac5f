/* SPDX-License-Identifier: Apache-2.0 */
/* One service stream (tunnel.md §4): a TCP socket bridged to a data
 * channel, in both directions, on the GMainContext of the peer connection.
 *
 *   TCP --read 64 KiB--> frame encode (raw/LZ4/zstd) --> channel (PPID 53)
 *   TCP <--write-------- frame decode <-- channel
 *
 * Flow control, both ways, so memory stays bounded for any speed:
 * - sending: the socket is read only while the channel's buffered amount
 *   is at or under high_mark; reading resumes when it falls to low_mark;
 * - receiving: decoded bytes wait in a buffer of at most write_max for a
 *   slow socket; past that the stream reports pressure (on_pressure) and
 *   the session pauses the whole association (pp_peer_pause_receive), so
 *   the SCTP window closes and the sender stops reading its socket.
 *   Every stream and the control channel of that peer wait meanwhile, so
 *   a socket that takes nothing at all for stall_ms ends its stream;
 * - together: the streams of one peer share a pool (set by the session),
 *   which bounds their sums, each way. Toward the peer, each open stream's
 *   high mark is at most an equal share of the pool's limit (16 KiB at
 *   least: a queue filled with fewer streams open keeps its bytes until
 *   they drain); toward the sockets, the decoded bytes of all streams
 *   past the limit pause the association too, and every stream that
 *   holds some of them is then under pressure (and its stall_ms check)
 *   until they fall to half the limit. Without it, max_streams streams
 *   could each hold their own marks at once.
 *
 * Half-close: TCP EOF sends {"type":"EOF"}; a received EOF shuts our
 * socket's write side once everything before it is written. The stream
 * ends normally when EOF went both ways and every byte is delivered
 * (the channel is reset, the socket closed). A reset channel without a
 * received EOF, a protocol error, or a socket error aborts the stream: the
 * channel is reset and the socket is closed with an RST.
 *
 * A stream may exist before its socket (the gateway connects to the
 * service after the channel opened): data received meanwhile waits, at
 * most early_max bytes (tunnel.md: 256 KiB), and more aborts the stream.
 * The opener may have at most unconfirmed_max bytes in flight before the
 * other side confirms (pp_tstream_confirm, on CONNECTED).
 *
 * Ownership: the stream is the channel's user (pp_sctp_channel_set_user);
 * the session hands channel events in through pp_tstream_on_*. on_closed
 * is called exactly once, from the context, when both the channel and
 * the socket are closed; the owner frees the stream there or later. */
#ifndef PEERPIPE_TUNNEL_STREAM_H
#define PEERPIPE_TUNNEL_STREAM_H

#include "peerpipe/rtc/sctp.h"

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* tunnel.md §4: what an opener may send before CONNECTED. */
#define PP_TSTREAM_PENDING_MAX (256 * 1024)

/* The pool (stream.h, "together"): a stream's share toward the peer is
 * never under PP_TSTREAM_SHARE_MIN, and a stream held to its share reads
 * its socket at most PP_TSTREAM_SHARE_READ bytes past it. */
#define PP_TSTREAM_SHARE_MIN (16 * 1024)
#define PP_TSTREAM_SHARE_READ 4096

struct pp_tstream;
struct pp_tstream_pool;
struct pp_ctrl_msg;

struct pp_tstream_config {
	size_t high_mark;        /* 0 = 256 KiB */
	size_t low_mark;         /* 0 = high_mark / 4 */
	size_t write_max;        /* 0 = high_mark */
	size_t early_max;        /* 0 = PP_TSTREAM_PENDING_MAX */
	size_t unconfirmed_max;  /* 0 = no limit (the gateway side) */
	unsigned stall_ms;       /* 0 = 10000: a socket that takes nothing for
	                          * this long while the stream holds the
	                          * association paused ends the stream */
	unsigned peer_formats;   /* PP_FRAME_FMT_* the other side decodes */
	unsigned our_formats;    /* PP_FRAME_FMT_* we advertised */
	int compression;         /* enum pp_frame_policy */
	struct pp_frame_budget *zstd_budget; /* the peer's (frame.h); NULL: none */
	struct pp_tstream_pool *pool; /* the peer's streams together (set by the
	                          * session; NULL: none) */
	bool opener;             /* we opened the channel: after EOF both ways
	                          * the other side closes it (tunnel.md §4);
	                          * we do after linger_ms only if it does not */
	unsigned linger_ms;      /* 0 = 5000 */
	const char *log_peer;    /* copied */
};

struct pp_tstream_stats {
	uint64_t bytes_in;       /* from our socket, sent into the tunnel */
	uint64_t bytes_out;      /* from the tunnel, written to our socket */
	uint64_t wire_in;        /* message bytes sent (after compression) */
	uint64_t wire_out;       /* message bytes received */
	uint64_t sent_as[4];     /* of bytes_in, how much went out in each
	                          * format (enum pp_frame_kind: raw, lz4,
	                          * zstd, zstd stream) */
	gint64 started_us;       /* monotonic */
	gint64 ended_us;
};

struct pp_tstream_callbacks {
	/* A text message other than EOF: CONNECTED, DENIED, FAILED (the
	 * opener's side). msg is NULL when the text was not valid (the stream
	 * is then aborted). */
	void (*on_text)(void *user, struct pp_tstream *st, const struct pp_ctrl_msg *msg);
	/* The write buffer passed write_max (true) or drained to half of it
	 * (false). */
	void (*on_pressure)(void *user, struct pp_tstream *st, bool over);
	/* Final. reason: "done" for a normal end, else why it was aborted. */
	void (*on_closed)(void *user, struct pp_tstream *st, const char *reason);
};

struct pp_tstream *pp_tstream_new(GMainContext *ctx, struct pp_sctp_channel *ch,
                                  const struct pp_tstream_config *cfg,
                                  const struct pp_tstream_callbacks *cb, void *user);
/* Frees; only after on_closed, or to drop a stream at shutdown (then
 * the channel and socket are abandoned without callbacks). */
void pp_tstream_free(struct pp_tstream *st);

/* Takes ownership of a connected, non-blocking TCP socket; on failure
 * (PP_ERR_STATE, or -errno when it cannot be watched) the caller keeps it. */
int pp_tstream_attach(struct pp_tstream *st, int fd);
/* The other side said CONNECTED: lifts unconfirmed_max. */
void pp_tstream_confirm(struct pp_tstream *st);
/* One text message on the channel (CONNECTED, DENIED, ...). */
int pp_tstream_send_text(struct pp_tstream *st, const char *json);
/* The same for a text that may wait up to delay_ms for the stream's next
 * message (the service's first bytes, its EOF) and go just ahead of it,
 * in the same packet: CONNECTED, when the service usually answers at
 * once. It goes at the latest when the delay is over or the channel
 * closes. One at a time: a second one sends the first. */
int pp_tstream_send_text_soon(struct pp_tstream *st, const char *json, unsigned delay_ms);
/* Ends the stream now: the channel is reset, the socket closed with an
 * RST; on_closed(reason) follows from the context. */
void pp_tstream_abort(struct pp_tstream *st, const char *reason);
/* Resets the channel once what was queued is sent (after DENIED/FAILED). */
void pp_tstream_finish(struct pp_tstream *st, const char *reason);

/* The session under the stream has ended (its channels are gone with
 * it): the socket is closed (with an RST unless the stream had ended
 * normally) and on_closed(reason) is called now, unless it was already;
 * its owner then frees the stream. For the session's own end, so that no
 * stream's on_closed is still waiting in the context when the session is
 * freed. */
void pp_tstream_end_now(struct pp_tstream *st, const char *reason);

/* The most the streams sharing a pool of `limit` bytes hold, both ways
 * together, with up to max_streams open, each with high_mark (and
 * write_max = high_mark): toward the peer, for the i-th oldest stream its
 * mark or the share it had with i streams open, and one socket read past
 * it; toward the sockets, the limit and the one message that passed it.
 * Allocation overhead is not counted. */
uint64_t pp_tstream_pool_bound(size_t limit, unsigned max_streams, size_t high_mark);

/* Channel events, from the session's pp_peer callbacks. */
void pp_tstream_on_message(struct pp_tstream *st, enum pp_sctp_kind kind,
                           const uint8_t *data, size_t len);
void pp_tstream_on_low(struct pp_tstream *st);
void pp_tstream_on_channel_closed(struct pp_tstream *st);

void pp_tstream_get_stats(const struct pp_tstream *st, struct pp_tstream_stats *out);
struct pp_sctp_channel *pp_tstream_channel(const struct pp_tstream *st);
/* Decoded bytes waiting for the socket (toward it; the channel's buffered
 * amount is the other way). */
size_t pp_tstream_write_pending(const struct pp_tstream *st);
/* "<label>#<stream id>" as ALERT names it (tunnel.md §3). */
const char *pp_tstream_name(const struct pp_tstream *st);
void pp_tstream_set_user(struct pp_tstream *st, void *user);
void *pp_tstream_get_user(const struct pp_tstream *st);
/* A pointer for the program that owns the session (the session is the
 * stream's user). */
void pp_tstream_set_data(struct pp_tstream *st, void *data);
void *pp_tstream_get_data(const struct pp_tstream *st);
/* Local and remote address of the socket (the gateway maps IDS alerts
 * by its own socket's address). 0 or -errno. */
int pp_tstream_socket_fd(const struct pp_tstream *st);

#endif
