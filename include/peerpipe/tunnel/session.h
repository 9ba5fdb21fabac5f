/* SPDX-License-Identifier: Apache-2.0 */
/* A tunnel session with one remote peer (tunnel.md §3-4): the peer
 * connection (pp_peer), its control channel and its service streams.
 *
 * The offerer opens the control channel "peerpipe-control" as soon as the
 * connection is up; both sides send HELLO first, and the session is READY
 * once both HELLOs are known (compression formats agreed). Control
 * messages other than HELLO and PING/PONG go to on_control. Channels the
 * other side opens with protocol peerpipe.tcp.v1 go to on_stream_request;
 * any other channel is closed.
 *
 * Receive-side flow control is per session: while any stream's socket is
 * behind (pp_tstream on_pressure), the whole association stops reading.
 *
 * Signaling is the owner's: the session asks it to carry its SDP and
 * candidates (send_sdp/send_ice) and is fed the remote ones. */
#ifndef PEERPIPE_TUNNEL_SESSION_H
#define PEERPIPE_TUNNEL_SESSION_H

#include "peerpipe/rtc/peer.h"
#include "peerpipe/tunnel/ctrl.h"
#include "peerpipe/tunnel/stream.h"

#include <glib.h>

#define PP_TUNNEL_VERSION "1.0"
#define PP_TSESSION_STREAMS_MEMORY_DEFAULT ((size_t)4 * 1024 * 1024)

struct pp_tsession;
struct pp_ctrl_msg;

enum pp_tsession_state {
	PP_TSESSION_CONNECTING = 0,
	PP_TSESSION_READY,   /* HELLO both ways */
	PP_TSESSION_CLOSED,  /* final; reason says why */
};

struct pp_tsession_config {
	struct pp_peer_config peer;
	bool offerer;            /* we create the offer and the control channel */
	bool is_gateway;         /* our HELLO role */
	const char *agent;       /* "peerpipe/<version>" */
	unsigned our_formats;    /* PP_FRAME_FMT_* we decode (HELLO compression) */
	int compression;         /* enum pp_frame_policy for our streams */
	struct pp_tstream_config stream; /* defaults for every stream */
	/* What the streams of this peer may hold together, each way: the
	 * bound of their flow-control pool (stream.h). 0:
	 * PP_TSESSION_STREAMS_MEMORY_DEFAULT. */
	size_t streams_memory;
	uint32_t hello_timeout_ms; /* 0 = 10000: connected but no HELLO */
	uint32_t connect_timeout_ms; /* 0 = 30000: created but not connected */
	/* When the ICE path of a READY session is lost (pp_peer DISCONNECTED,
	 * which needs peer.ice_restart_ok), offer an ICE restart, and another
	 * when its checks fail, up to three per outage, before the session
	 * is given up. Only one side of a pair should (the one that redials);
	 * the other waits for them within pp_peer's restart window. */
	bool ice_restart;
	/* The side that waits (ice_restart false): when the other side's
	 * restart has not come this long after our path was lost, offer it
	 * ourselves, once per outage (0: never). Each side's consent expires
	 * by its own clock, and a path can fail one way only (the other
	 * side's consent checks answered, ours not): the other side may
	 * never see an outage. pp_peer settles two restart offers that
	 * cross. */
	uint32_t ice_restart_wait_ms;
	/* Our HELLO's "max_datagram" (0: PP_DTLS_DATAGRAM_MAX; 1200 or less:
	 * left out, 1,200-byte datagrams only). When the peer's HELLO has it
	 * too, the smaller of the two becomes the connection's max_datagram:
	 * larger datagrams on a path to this host or an attached link.
	 * peer.max_datagram is not used (a peer must say it first). */
	uint32_t max_datagram;
};

struct pp_tsession_callbacks {
	void (*send_sdp)(void *user, struct pp_tsession *s, const char *type, const char *sdp);
	/* line NULL: end of candidates */
	void (*send_ice)(void *user, struct pp_tsession *s, const char *line, const char *mid,
	                 unsigned index);
	void (*on_ready)(void *user, struct pp_tsession *s);
	/* SERVICES, ALERT, BYE, GOST_KEY and future types (UNKNOWN ignored). */
	void (*on_control)(void *user, struct pp_tsession *s, const struct pp_ctrl_msg *m);
	/* A channel opened by the other side for a service: its label is the
	 * service name. The owner creates the stream with
	 * pp_tsession_accept_stream() and answers CONNECTED/DENIED/FAILED. */
	void (*on_stream_request)(void *user, struct pp_tsession *s, struct pp_sctp_channel *ch);
	/* A stream of this session ended (both ends closed); the session frees
	 * it after the call. */
	void (*on_stream_closed)(void *user, struct pp_tsession *s, struct pp_tstream *st,
	                         const char *reason);
	/* Final; the owner frees the session from an idle or later. */
	void (*on_closed)(void *user, struct pp_tsession *s, const char *reason);
	/* The opener's answer on a stream (CONNECTED, DENIED, FAILED). */
	void (*on_stream_text)(void *user, struct pp_tsession *s, struct pp_tstream *st,
	                       const struct pp_ctrl_msg *m);
	/* Optional. The ICE path of a READY session was lost (up false: ICE
	 * restarts, the streams stay open and their data wait) or is back
	 * (up true), with pp_peer's reason. Once per change; a session that
	 * ends instead reports on_closed. */
	void (*on_path)(void *user, struct pp_tsession *s, bool up, const char *reason);
	/* Optional. A pp_tsession_check_peer() heard nothing from the peer in
	 * time; called before the session restarts ICE, so that the owner may
	 * re-address it (the restart's offer goes where the signaling
	 * callbacks send it). */
	void (*on_peer_silent)(void *user, struct pp_tsession *s);
};

struct pp_tsession *pp_tsession_new(GMainContext *ctx, const struct pp_tsession_config *cfg,
                                    const struct pp_tsession_callbacks *cb, void *user);
/* Frees at once: streams are dropped, the connection closed without
 * waiting. Not from inside a session callback. */
void pp_tsession_free(struct pp_tsession *s);

int pp_tsession_start_offer(struct pp_tsession *s);
int pp_tsession_remote_sdp(struct pp_tsession *s, const char *type, const char *sdp);
int pp_tsession_remote_candidate(struct pp_tsession *s, const char *line);

/* Sends one control message (JSON text). PP_ERR_STATE before the control
 * channel is open. */
int pp_tsession_send_control(struct pp_tsession *s, const char *json);
/* The peer came back to signaling under a new id: is the process at the
 * other end still the one this session runs with? Sends a PING; anything
 * the peer sends over the session meanwhile (its PONG, or any message on
 * any channel: only that process holds the session's keys) ends the
 * check; only the PONG while receive is or was paused since the PING (a
 * slow consumer: what waits in the association may predate it). If
 * nothing comes within timeout_ms, on_peer_silent, then, while the path
 * looks up, an ICE restart. The restart's offer goes to the peer's
 * current id: the same process answers it and the session goes on; a
 * new process (the peer restarted) answers for another session, which
 * pp_peer refuses and pp_peer_other_session() shows: the owner then ends
 * this session and offers a new one. Only on the side that restarts ICE
 * (cfg.ice_restart); PP_ERR_STATE elsewhere, unless READY, and while the
 * path is lost (the ICE restarts under way settle it). */
int pp_tsession_check_peer(struct pp_tsession *s, uint32_t timeout_ms);
/* A check_peer waits for the peer. */
bool pp_tsession_checking_peer(const struct pp_tsession *s);
/* Receive is paused: a stream's socket is behind, or the streams together
 * hold their pool's limit (nothing is read from the association). */
bool pp_tsession_receive_paused(const struct pp_tsession *s);
/* BYE (when possible), then an orderly close; on_closed follows. */
void pp_tsession_close(struct pp_tsession *s, const char *bye_reason);
/* The peer is known to be gone (its process restarted): closed at once,
 * without BYE or an SCTP shutdown that nobody would acknowledge; on_closed
 * follows, with reason. */
void pp_tsession_drop(struct pp_tsession *s, const char *reason);

/* Desktop side: opens a stream for a service and attaches fd to it. */
int pp_tsession_open_stream(struct pp_tsession *s, const char *service, int fd,
                            struct pp_tstream **out);
/* Gateway side: a stream on a requested channel (socket attached later). */
struct pp_tstream *pp_tsession_accept_stream(struct pp_tsession *s, struct pp_sctp_channel *ch);

enum pp_tsession_state pp_tsession_get_state(const struct pp_tsession *s);
/* The ICE restarts this side has offered in the current outage (0 while
 * the path is up). */
unsigned pp_tsession_restarts(const struct pp_tsession *s);
const struct pp_fingerprint *pp_tsession_remote_fingerprint(const struct pp_tsession *s);
struct pp_peer *pp_tsession_peer(struct pp_tsession *s);
/* Remote HELLO fields (valid once READY). */
const char *pp_tsession_remote_agent(const struct pp_tsession *s);
bool pp_tsession_remote_is_gateway(const struct pp_tsession *s);
unsigned pp_tsession_stream_count(const struct pp_tsession *s);
/* Every live stream, for reloads and alerts. */
void pp_tsession_foreach_stream(struct pp_tsession *s,
                                void (*fn)(struct pp_tstream *st, void *data), void *data);
void pp_tsession_set_user(struct pp_tsession *s, void *user);
void *pp_tsession_get_user(const struct pp_tsession *s);

#endif
