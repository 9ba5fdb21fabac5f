/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the DTLS module (dtls.c, dtls_run.c, dtls_ssl.c): the
 * endpoint's state and the functions the three files share. Not part of
 * the public API. */
#ifndef PEERPIPE_RTC_DTLS_PRIV_H
#define PEERPIPE_RTC_DTLS_PRIV_H

#include "dtls_record.h"
#include "peerpipe/rtc/dtls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

/* Longest a retransmission interval grows to (doubling from retransmit_ms). */
#define PP_DTLS_RETRANSMIT_CAP_MS 3000
#define PP_DTLS_RETRANSMIT_MAX_MS 60000 /* config limit */
#define PP_DTLS_ALERT_TEXT_MAX 48
/* Application records that overtake the peer's last flight are kept for
 * when the handshake ends (OpenSSL kept them itself before our record
 * layer; beyond these the peer's retransmission brings them again). */
#define PP_DTLS_EARLY_MAX 32
#define PP_DTLS_EARLY_BYTES_MAX 65536

/* The endpoint's one-shot sources (dtls_run.c). */
enum pp_dtls_timer {
	PP_DTLS_TIMER_RETRANSMIT, /* OpenSSL's DTLS timer */
	PP_DTLS_TIMER_DEADLINE,   /* the overall handshake timeout */
	PP_DTLS_TIMER_NOTIFY,     /* reports CLOSED after pp_dtls_close() */
	PP_DTLS_TIMERS
};

struct pp_dtls {
	GMainContext *ctx;
	struct pp_dtls_callbacks cb; /* zeroed by pp_dtls_free() */
	void *user;
	char *log_peer;

	enum pp_dtls_role role;
	enum pp_dtls_state state;
	bool closed_reported; /* CLOSED reported, or scheduled by pp_dtls_close */
	struct pp_fingerprint remote_fp;
	struct pp_fingerprint *pins;
	size_t n_pins;
	bool allow_unpinned;
	size_t mtu;
	unsigned int handshake_timeout_ms;
	unsigned int retransmit_ms;

	SSL_CTX *ssl_ctx;
	SSL *ssl;
	/* Attached only while armed: an established endpoint adds no source
	 * to the loop turns of its context. */
	GSource *timer[PP_DTLS_TIMERS];

	/* Set by the OpenSSL callbacks, read when a handshake fails. */
	enum pp_dtls_reason verify_reason;
	char alert[PP_DTLS_ALERT_TEXT_MAX]; /* fatal alert received, or "" */

	unsigned int depth; /* nesting of our own entry points */
	bool doomed;        /* pp_dtls_free() called inside a callback */
	bool in_ssl;        /* inside an OpenSSL call: no re-entry */

	const uint8_t *in; /* the datagram being fed, read once by the BIO */
	size_t in_len;
	uint8_t *out; /* datagram being packed for the wire, mtu bytes */
	size_t out_len;
	uint8_t rx[PP_DTLS_DATAGRAM_MAX]; /* one decrypted record */

	/* Our record layer (dtls_app.c, dtls_record.c), unless the config
	 * keeps OpenSSL's. */
	bool openssl_records;
	bool rec_on;                 /* keys derived: application records are ours */
	bool rec_tx;                 /* the peer's handshake is over: we write them too */
	struct pp_dtls_records rec;
	uint8_t *tx;                 /* one sealed record, PP_DTLS_DATAGRAM_MAX bytes */
	GQueue early;                /* GBytes: records received before CONNECTED */
	size_t early_bytes;
	uint64_t rec_dropped;        /* records refused (forged, replayed, malformed) */
	uint64_t ssl_nonce;          /* the last explicit nonce OpenSSL wrote in epoch 1 */
	bool ssl_nonce_seen;
};

/* The per-record paths (SSL_write, SSL_read) empty the error queue only
 * when it holds something: ERR_clear_error() walks all 16 slots of the
 * thread's queue every time, 7% of the CPU of a bulk transfer
 * (perf, bench/rtc-bench); ERR_peek_error() looks at one. */
static inline void pp_dtls_clear_errors(void)
{
	if (ERR_peek_error() != 0)
		ERR_clear_error();
}

/* Builds d->ssl_ctx and d->ssl (with our BIO, timer and callbacks) from
 * the identity and d's settings. 0 or PP_ERR_CRYPTO / PP_ERR_NOMEM. */
int pp_dtls_ssl_setup(struct pp_dtls *d, const struct pp_identity *id);

/* Sends the datagram being packed, if any. */
void pp_dtls_flush(struct pp_dtls *d);

/* dtls_app.c: application records through our record layer. */
/* At CONNECTED: derives the keys. 0, or a code from pp_dtls_records_init. */
int pp_dtls_app_start(struct pp_dtls *d);
/* A datagram while CONNECTING: application records are kept for
 * CONNECTED, the rest goes to OpenSSL. */
void pp_dtls_app_feed_early(struct pp_dtls *d, const uint8_t *data, size_t len);
/* After the handshake: opens the records kept. */
void pp_dtls_app_open_early(struct pp_dtls *d);
/* A datagram once CONNECTED: application records are opened here,
 * anything else (alerts, a retransmitted flight) goes to OpenSSL. */
void pp_dtls_app_feed(struct pp_dtls *d, const uint8_t *data, size_t len);
/* Seals and sends one application record; PP_ERR_* as pp_dtls_send. */
int pp_dtls_app_send(struct pp_dtls *d, const uint8_t *data, size_t len);
/* Sends close_notify. */
void pp_dtls_app_close_notify(struct pp_dtls *d);
/* Frees the keys and the records kept. */
void pp_dtls_app_clear(struct pp_dtls *d);

/* dtls.c: our public entry points and source callbacks nest; a free
 * requested inside them happens when the outermost one leaves. */
void pp_dtls_enter(struct pp_dtls *d);
void pp_dtls_leave(struct pp_dtls *d);

/* dtls_run.c */
bool pp_dtls_final(const struct pp_dtls *d); /* FAILED or CLOSED */
/* Arms timer t for monotonic time when (0: at once), creating its source;
 * when < 0 removes the source. Nothing is created once d is doomed. */
void pp_dtls_timer_set(struct pp_dtls *d, enum pp_dtls_timer t, gint64 when);
/* Removes every timer's source. */
void pp_dtls_timers_clear(struct pp_dtls *d);
/* Records the state, stops the timers it ends, logs, calls on_state. */
void pp_dtls_set_state(struct pp_dtls *d, enum pp_dtls_state st, enum pp_dtls_reason why,
                       const char *text);
/* After a datagram or a start: drives the handshake, reads records,
 * re-arms the retransmission timer. */
void pp_dtls_step(struct pp_dtls *d);
/* Hands OpenSSL one datagram (whole records) and steps. */
void pp_dtls_feed_ssl(struct pp_dtls *d, const uint8_t *data, size_t len);

#endif
