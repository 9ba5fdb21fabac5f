/* SPDX-License-Identifier: Apache-2.0 */
/* A WebRTC peer connection carrying data channels only (tunnel.md §1):
 * ICE (ice.h) -> DTLS (dtls.h) -> SCTP and channels (sctp.h), described
 * by one BUNDLEd data-channel SDP section (sdp.h).
 *
 * Offerer: pp_peer_create_offer() -> on_local_description("offer"), local
 * candidates trickle out; later pp_peer_set_remote_description("answer").
 * Answerer: pp_peer_set_remote_description("offer") -> on_local_description
 * ("answer"). Remote candidates may come before or after the description.
 * The offerer is ICE-controlling and says a=setup:actpass; the answerer
 * answers active and so is the DTLS client, as browsers do.
 *
 * The DTLS certificate of the other side must hash to its a=fingerprint
 * and be in the pin list; otherwise the connection fails with the reason.
 *
 * ICE restart (RFC 8839 §4.4.1.1.1, JSEP RFC 8829 §5.2.2): once the first
 * exchange is done, either side may call pp_peer_restart_ice(): a new
 * offer with new ICE credentials (same o= session, fingerprint, DTLS role
 * and sctp-port), gathering again, new candidates trickling out. The
 * other side gets it through pp_peer_set_remote_description("offer"),
 * restarts its agent too and answers with new credentials. DTLS and SCTP
 * run on untouched: every channel stays open and its data resumes on the
 * new path (SCTP retransmits what was lost meanwhile, at its retransmission
 * timer: up to 10 s after a long outage). A later offer with the same ICE
 * credentials is answered and changes nothing. A later description with
 * another DTLS fingerprint (PP_ERR_AUTH), another DTLS role or sctp-port
 * (PP_ERR_UNSUPPORTED), or another o= session (PP_ERR_STATE: that is a
 * new connection, see pp_peer_offer_continues()) is refused and the
 * connection carries on as it was. Should both sides offer at once, the
 * first offerer's restart wins: the other side's offer is refused
 * (PP_ERR_STATE) and its own is dropped when it answers.
 *
 * States of a restart: CONNECTED -> RESTARTING (either side asked) ->
 * CONNECTED (the new path is up; reason "ICE restarted").
 *
 * Dead peers and lost paths: ICE consent freshness (RFC 7675) ends a path
 * 10 s after the other side's last answer (see ice.h). By default
 * (ice_restart_ok false) that makes the connection FAILED, as does any ICE
 * failure. With ice_restart_ok, a connection that was CONNECTED goes
 * DISCONNECTED instead: channels stay open and sends are queued (bounded
 * by the SCTP send buffer and each channel's queue, as ever), and either
 * side may restart ICE; a restart whose checks fail goes back to
 * DISCONNECTED. If the connection is not CONNECTED again within
 * ice_restart_timeout_ms of losing its path (the window starts over with
 * each restart), it is FAILED. The usual way is to call
 * pp_peer_restart_ice() from on_state(DISCONNECTED). A restart is also
 * accepted, and a
 * RESTARTING state reported, without ice_restart_ok; then an ICE failure
 * is final as before.
 *
 * All on the GMainContext given; callbacks may call pp_peer_close() but
 * pp_peer_free() only from outside callbacks (after on_state(CLOSED) has
 * returned, say from an idle source). */
#ifndef PEERPIPE_RTC_PEER_H
#define PEERPIPE_RTC_PEER_H

#include "peerpipe/rtc/fingerprint.h"
#include "peerpipe/rtc/ice.h"
#include "peerpipe/rtc/sctp.h"

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pp_identity;
struct pp_peer;

enum pp_peer_state {
	PP_PEER_NEW = 0,
	PP_PEER_CONNECTING, /* ICE checks, then DTLS and SCTP handshakes */
	PP_PEER_CONNECTED,  /* SCTP association up: channels work */
	PP_PEER_FAILED,     /* final; the reason says which layer */
	PP_PEER_CLOSED,     /* final */
	/* After CONNECTED, DTLS and SCTP kept (channels work, data waits): */
	PP_PEER_DISCONNECTED, /* ice_restart_ok: the ICE path is lost */
	PP_PEER_RESTARTING,   /* an ICE restart runs (asked by either side) */
};

/* Two ICE restart offers that cross (glare): whose stands. */
enum pp_peer_glare {
	PP_PEER_GLARE_FIRST_OFFERER, /* the side that made the first offer */
	PP_PEER_GLARE_STAND,         /* ours: the side whose restarts count */
	PP_PEER_GLARE_YIELD,         /* the peer's: we restart only as a fallback,
	                              * and our offer may have gone to a
	                              * signaling id the peer has left */
};

struct pp_peer_config {
	const struct pp_identity *identity;
	const struct pp_fingerprint *pins; /* who may connect (copied) */
	size_t n_pins;
	bool allow_unpinned;               /* tests and pairing only */
	const struct pp_ice_server *ice_servers;
	size_t n_ice_servers;
	const char *const *local_addresses; /* see pp_ice_config */
	size_t n_local_addresses;
	bool relay_only;
	size_t max_message_size;           /* 0: 262144 (tunnel.md §1) */
	uint32_t sctp_buffer;              /* usrsctp's send and receive buffer (the
	                                    * most the association holds each way;
	                                    * a path carries at most this per round
	                                    * trip); 0: PP_SCTP_BUFFER_DEFAULT */
	const char *log_peer;
	/* ICE failure after CONNECTED: DISCONNECTED and wait for a restart
	 * instead of FAILED (see the top). */
	bool ice_restart_ok;
	uint32_t ice_restart_timeout_ms;   /* 0: PP_PEER_RESTART_TIMEOUT_MS */
	enum pp_peer_glare restart_glare;  /* default: the first offerer's stands */
	/* Largest UDP datagram to send. 0 (the default) or up to 1200: the
	 * 1,200-byte base, as every WebRTC stack. More only towards a peer
	 * known to take such datagrams (Chromium fails the connection on a
	 * 16 KiB DTLS record: never for a browser): the SCTP association then
	 * probes for the largest size the path carries, on a path to this
	 * host or a directly attached link (see pp_sctp_set_path_limit,
	 * pp_ice_path_datagram_max). pp_peer_set_max_datagram() sets it later,
	 * once the peer has said so (the tunnel's HELLO). */
	size_t max_datagram;
};

#define PP_PEER_RESTART_TIMEOUT_MS 20000

struct pp_peer_callbacks {
	void (*on_local_description)(void *user, const char *type, const char *sdp);
	/* line NULL: end of candidates. mid and index name our data section. */
	void (*on_local_candidate)(void *user, const char *line, const char *mid, unsigned index);
	void (*on_state)(void *user, enum pp_peer_state state, const char *reason);
	void (*on_channel_open)(void *user, struct pp_sctp_channel *ch);
	void (*on_message)(void *user, struct pp_sctp_channel *ch, enum pp_sctp_kind kind,
	                   const uint8_t *data, size_t len);
	void (*on_channel_closed)(void *user, struct pp_sctp_channel *ch);
	void (*on_buffered_amount_low)(void *user, struct pp_sctp_channel *ch);
};

/* NULL without an identity, without pins (unless allow_unpinned), or with
 * more than PP_DTLS_PINS_MAX of them. */
struct pp_peer *pp_peer_new(GMainContext *ctx, const struct pp_peer_config *cfg,
                            const struct pp_peer_callbacks *cb, void *user);
void pp_peer_free(struct pp_peer *p);

int pp_peer_create_offer(struct pp_peer *p);
/* The largest SCTP packet sent now (grows once a path MTU probe is
 * answered; see max_datagram); 0 before the association exists. */
size_t pp_peer_path_packet(const struct pp_peer *p);
/* Changes max_datagram (capped at PP_DTLS_DATAGRAM_MAX) and searches the
 * path again. */
void pp_peer_set_max_datagram(struct pp_peer *p, size_t max_datagram);
/* type "offer" or "answer"; an offer makes the answer at once. */
int pp_peer_set_remote_description(struct pp_peer *p, const char *type, const char *sdp, size_t len);
/* "candidate:..." (with or without "a="), or NULL for end of candidates. */
int pp_peer_add_remote_candidate(struct pp_peer *p, const char *line);
/* ICE restart, from either side, once the first offer/answer exchange is
 * done and while CONNECTED, DISCONNECTED or RESTARTING (PP_ERR_STATE
 * otherwise, or while our previous restart offer waits for its answer):
 * on_local_description("offer") comes before this returns, candidates
 * trickle from the loop. PP_ERR_UNSUPPORTED when we answered a first
 * offer that had more m-lines than the data channel's (a re-offer would
 * have to repeat them). */
int pp_peer_restart_ice(struct pp_peer *p);
/* Our ICE restart offer went to where the peer no longer is: the peer's
 * own restart came from another signaling id than the one ours was sent
 * to (its WebSocket died with its path), so ours will not be answered.
 * The peer's offer is then answered, with a fresh generation, instead of
 * being refused in glare whatever restart_glare says. Nothing without a
 * restart offer of ours waiting for its answer. */
void pp_peer_restart_offer_lost(struct pp_peer *p);
/* True when offer (SDP text) names the o= session of this connection's
 * remote description: a renegotiation (same credentials, or an ICE
 * restart) for pp_peer_set_remote_description(), not a new connection
 * from the same peer (a new process has a new session id). false before
 * the first exchange, for an offer without an o= session id, or one that
 * does not parse. */
bool pp_peer_offer_continues(const struct pp_peer *p, const char *offer, size_t len);
/* True when desc (SDP text, an offer or an answer) names another o=
 * session than this connection's remote description, both named: it was
 * written for another connection, as when the peer's process restarted
 * and answers our ICE restart with a session of its own. */
bool pp_peer_other_session(const struct pp_peer *p, const char *desc, size_t len);
/* Once CONNECTED, also while DISCONNECTED or RESTARTING (PP_ERR_STATE
 * before): open channels from on_state. */
int pp_peer_channel_open(struct pp_peer *p, const char *label, const char *protocol,
                         const struct pp_sctp_channel_options *opt, struct pp_sctp_channel **out);
/* Orderly and asynchronous: SCTP shutdown, then DTLS close_notify (after
 * at most 2 s); on_state(CLOSED) follows. */
void pp_peer_close(struct pp_peer *p);
/* For a peer known to be gone (its process restarted): no SCTP shutdown
 * waits for an acknowledgement that cannot come; DTLS close_notify, and
 * on_state(CLOSED) from within the call. */
void pp_peer_close_now(struct pp_peer *p);
/* Receive-side flow control (pp_sctp_pause_receive): a consumer that
 * cannot keep up pauses every channel of this peer; no-op before the
 * association exists. */
void pp_peer_pause_receive(struct pp_peer *p, bool paused);

enum pp_peer_state pp_peer_get_state(const struct pp_peer *p);
/* The verified remote fingerprint (valid once CONNECTED). */
const struct pp_fingerprint *pp_peer_remote_fingerprint(const struct pp_peer *p);
/* Where the peer's datagrams come from now: pp_ice_selected_remote(). */
int pp_peer_remote_address(struct pp_peer *p, char out[PP_ICE_ADDR_TEXT_MAX], const char **type);
int pp_peer_export_keying_material(struct pp_peer *p, const char *label, uint8_t *out, size_t len);
const char *pp_peer_state_name(enum pp_peer_state s);

#endif
