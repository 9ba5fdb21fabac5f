/* SPDX-License-Identifier: Apache-2.0 */
/* DTLS 1.2 endpoint of the data-channel stack (tunnel.md §1-2), on OpenSSL.
 *
 * Datagrams from the lower layer (ICE) go in with pp_dtls_feed(); datagrams
 * for the wire come out through the send_datagram callback; application
 * records (SCTP packets) go down with pp_dtls_send() and come up through
 * on_data. Nothing blocks: handshake retransmission and the overall
 * handshake deadline run as sources on the GMainContext given to
 * pp_dtls_new(), and the object is used from that context's thread only.
 *
 * Authentication is zero-trust pinning, never a CA: the peer certificate
 * must hash (SHA-256) to the a=fingerprint of its SDP AND that fingerprint
 * must be in the pin list. Either failure aborts the handshake with a fatal
 * bad_certificate alert to the peer and a distinct reason here.
 *
 * Wire: DTLS 1.2 only; ECDHE-ECDSA with AES-128-GCM or AES-256-GCM (every
 * browser offers them); no compression, renegotiation, tickets or use_srtp.
 * Handshake datagrams never exceed the MTU (records of one flight are
 * packed into as few datagrams as fit). An application record is always
 * one datagram of its own: pp_dtls_data_mtu() bytes of data fill the MTU.
 *
 * OpenSSL runs the handshake; the application records after it are sealed
 * and opened by our own record layer with the session's keys (standard
 * DTLS 1.2 records, a 64-record replay window; see src/lib/rtc/
 * dtls_record.h), at a fraction of OpenSSL 3's cost per record. */
#ifndef PEERPIPE_RTC_DTLS_H
#define PEERPIPE_RTC_DTLS_H

#include "peerpipe/rtc/fingerprint.h"
#include "peerpipe/rtc/identity.h"

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_DTLS_MTU_DEFAULT 1200
#define PP_DTLS_MTU_MIN 576
#define PP_DTLS_DATAGRAM_MAX 16384 /* larger datagrams are refused by feed */
/* Most data in one record such that its datagram stays within
 * PP_DTLS_DATAGRAM_MAX (record overhead: 37 bytes). */
#define PP_DTLS_SEND_MAX (PP_DTLS_DATAGRAM_MAX - 64)
#define PP_DTLS_HANDSHAKE_TIMEOUT_DEFAULT_MS 10000
#define PP_DTLS_RETRANSMIT_DEFAULT_MS 400 /* first retransmission; doubles */
#define PP_DTLS_PINS_MAX 4096
#define PP_DTLS_EXPORT_MAX 1024

/* From a=setup (RFC 8842): "active" is the DTLS client. */
enum pp_dtls_role {
	PP_DTLS_CLIENT = 0,
	PP_DTLS_SERVER = 1,
};

enum pp_dtls_state {
	PP_DTLS_NEW = 0,    /* before pp_dtls_start() */
	PP_DTLS_CONNECTING, /* handshake under way */
	PP_DTLS_CONNECTED,  /* application data flows */
	PP_DTLS_FAILED,     /* final */
	PP_DTLS_CLOSED,     /* final */
};

/* Why the state changed; each final state carries one. */
enum pp_dtls_reason {
	PP_DTLS_REASON_NONE = 0,
	PP_DTLS_REASON_FINGERPRINT_MISMATCH, /* cert does not hash to the SDP fingerprint */
	PP_DTLS_REASON_NOT_PINNED,           /* SDP fingerprint is not in the pin list */
	PP_DTLS_REASON_TIMEOUT,              /* handshake not done in time */
	PP_DTLS_REASON_ALERT,                /* the peer sent a fatal alert */
	PP_DTLS_REASON_PROTOCOL,             /* handshake or record layer error here */
	PP_DTLS_REASON_PEER_CLOSED,          /* close_notify received */
	PP_DTLS_REASON_LOCAL_CLOSE,          /* pp_dtls_close() */
};

struct pp_dtls_config {
	/* Our certificate and key; need only live through pp_dtls_new(). */
	const struct pp_identity *identity;
	enum pp_dtls_role role;
	/* The peer's a=fingerprint from its SDP; must be SHA-256. */
	struct pp_fingerprint remote_fingerprint;
	/* Fingerprints allowed to connect (copied). An empty list refuses
	 * every peer unless allow_unpinned is set, which skips the pin check
	 * (the SDP fingerprint check stays): for tests and pairing flows. */
	const struct pp_fingerprint *pins;
	size_t n_pins;
	bool allow_unpinned;
	size_t mtu;                        /* 0: PP_DTLS_MTU_DEFAULT */
	unsigned int handshake_timeout_ms; /* 0: PP_DTLS_HANDSHAKE_TIMEOUT_DEFAULT_MS */
	unsigned int retransmit_ms;        /* 0: PP_DTLS_RETRANSMIT_DEFAULT_MS */
	const char *log_peer;              /* log prefix (copied), may be NULL */
	/* Application records through OpenSSL's record layer instead of
	 * ours: slower, and the reference the tests hold ours to. */
	bool openssl_records;
};

/* Callbacks run on the context's thread, from inside pp_dtls_* calls or
 * the endpoint's own sources.
 * - send_datagram: one datagram for the wire. Must not call any pp_dtls_*
 *   function on this endpoint (it runs inside OpenSSL). Its return value
 *   is only logged: a lost datagram is retransmitted like a dropped one.
 * - on_data: one decrypted record. May call pp_dtls_send(), _close() and
 *   _free() (a free from any callback is deferred until the endpoint's
 *   own call returns; nothing is called back after it).
 * - on_state: every change (CONNECTING, CONNECTED, FAILED, CLOSED) with a
 *   reason and a short text. May call pp_dtls_send() (once CONNECTED),
 *   _close() and _free(). */
struct pp_dtls_callbacks {
	int (*send_datagram)(void *user, const uint8_t *data, size_t len);
	void (*on_data)(void *user, const uint8_t *data, size_t len);
	void (*on_state)(void *user, enum pp_dtls_state state, enum pp_dtls_reason reason,
	                 const char *text);
};

struct pp_dtls;

/* NULL on a bad config (logged): no identity, no callbacks, a remote
 * fingerprint that is not SHA-256, an MTU outside PP_DTLS_MTU_MIN..
 * PP_DTLS_DATAGRAM_MAX, more than PP_DTLS_PINS_MAX pins; or on an
 * OpenSSL failure. */
struct pp_dtls *pp_dtls_new(GMainContext *ctx, const struct pp_dtls_config *config,
                            const struct pp_dtls_callbacks *cb, void *user);

/* Stops everything without sending anything; no callback after it. NULL is
 * a no-op. Safe inside a callback (the memory goes when the call returns). */
void pp_dtls_free(struct pp_dtls *d);

/* Starts the handshake: a client sends its ClientHello, a server waits for
 * one. Both arm the handshake deadline. A server fed a datagram before
 * this starts by itself. 0, PP_ERR_STATE (started already) or
 * PP_ERR_CRYPTO (reported as FAILED too). */
int pp_dtls_start(struct pp_dtls *d);

/* One datagram from the wire. 0 when consumed, including records OpenSSL
 * drops silently (garbage, replays, bad MACs) and a handshake failure
 * (reported through on_state); PP_ERR_TOO_BIG above PP_DTLS_DATAGRAM_MAX;
 * PP_ERR_INVALID for something that is not DTLS at all (RFC 7983: first
 * byte 20..63, whole records, protected ones of at least 24 bytes: OpenSSL
 * 3.0 would fail the session on a shorter one); PP_ERR_STATE when the endpoint
 * is a client not started yet, failed or closed. */
int pp_dtls_feed(struct pp_dtls *d, const uint8_t *data, size_t len);
/* The records of several datagrams back to back, as UDP GRO hands them up
 * (up to PP_DTLS_COALESCED_MAX bytes): fed as datagrams of at most
 * PP_DTLS_DATAGRAM_MAX cut at record boundaries (DTLS processes records
 * one by one, whichever datagram carried them). Stops at the first piece
 * refused; returns as pp_dtls_feed() for it. Up to PP_DTLS_DATAGRAM_MAX it
 * is pp_dtls_feed(). */
#define PP_DTLS_COALESCED_MAX 65535
int pp_dtls_feed_coalesced(struct pp_dtls *d, const uint8_t *data, size_t len);

/* Encrypts data (1..PP_DTLS_SEND_MAX bytes) into one record and sends it as
 * one datagram. 0, PP_ERR_STATE (not CONNECTED), PP_ERR_INVALID,
 * PP_ERR_TOO_BIG or PP_ERR_CRYPTO. */
int pp_dtls_send(struct pp_dtls *d, const uint8_t *data, size_t len);

/* Sends close_notify when connected and stops the endpoint; on_state
 * (CLOSED, LOCAL_CLOSE) follows from the context, where the endpoint may
 * be freed. 0, or PP_ERR_STATE when CLOSED was reported already (nothing
 * follows then). */
int pp_dtls_close(struct pp_dtls *d);

/* RFC 5705 exporter without context, once CONNECTED: out gets len
 * (1..PP_DTLS_EXPORT_MAX) bytes; both peers compute the same value.
 * 0, PP_ERR_STATE, PP_ERR_INVALID or PP_ERR_CRYPTO. */
int pp_dtls_export_keying_material(struct pp_dtls *d, const char *label, uint8_t *out,
                                   size_t len);

enum pp_dtls_state pp_dtls_state(const struct pp_dtls *d);
enum pp_dtls_role pp_dtls_role(const struct pp_dtls *d);
/* Largest pp_dtls_send() whose datagram fits the MTU with the negotiated
 * cipher (a worst-case figure before CONNECTED). */
size_t pp_dtls_data_mtu(const struct pp_dtls *d);
/* Bytes a record adds to what is sent (header, nonce, tag): a datagram
 * of n bytes carries n - overhead. Records larger than the MTU are sent
 * alone in one datagram (path MTU probes, a raised SCTP packet size). */
size_t pp_dtls_record_overhead(const struct pp_dtls *d);
/* The negotiated cipher suite's OpenSSL name, or "" before CONNECTED. */
const char *pp_dtls_cipher(const struct pp_dtls *d);

const char *pp_dtls_state_str(enum pp_dtls_state state);
const char *pp_dtls_reason_str(enum pp_dtls_reason reason);

#endif
