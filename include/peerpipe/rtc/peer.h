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
 * All on the GMainContext given; callbacks may call pp_peer_close() but
 * pp_peer_free() only from outside callbacks (or after on_state CLOSED). */
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
	const char *log_peer;
};

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

struct pp_peer *pp_peer_new(GMainContext *ctx, const struct pp_peer_config *cfg,
                            const struct pp_peer_callbacks *cb, void *user);
void pp_peer_free(struct pp_peer *p);

int pp_peer_create_offer(struct pp_peer *p);
/* type "offer" or "answer"; an offer makes the answer at once. */
int pp_peer_set_remote_description(struct pp_peer *p, const char *type, const char *sdp, size_t len);
/* "candidate:..." (with or without "a="), or NULL for end of candidates. */
int pp_peer_add_remote_candidate(struct pp_peer *p, const char *line);
/* Once CONNECTED (PP_ERR_STATE before): open channels from on_state. */
int pp_peer_channel_open(struct pp_peer *p, const char *label, const char *protocol,
                         const struct pp_sctp_channel_options *opt, struct pp_sctp_channel **out);
/* Orderly and asynchronous: SCTP shutdown, then DTLS close_notify (after
 * at most 2 s); on_state(CLOSED) follows. */
void pp_peer_close(struct pp_peer *p);
/* Receive-side flow control (pp_sctp_pause_receive): a consumer that
 * cannot keep up pauses every channel of this peer; no-op before the
 * association exists. */
void pp_peer_pause_receive(struct pp_peer *p, bool paused);

enum pp_peer_state pp_peer_get_state(const struct pp_peer *p);
/* The verified remote fingerprint (valid once CONNECTED). */
const struct pp_fingerprint *pp_peer_remote_fingerprint(const struct pp_peer *p);
int pp_peer_export_keying_material(struct pp_peer *p, const char *label, uint8_t *out, size_t len);
const char *pp_peer_state_name(enum pp_peer_state s);

#endif
