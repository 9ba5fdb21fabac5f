/* SPDX-License-Identifier: Apache-2.0 */
/* DTLS endpoint, its application records once the handshake is over:
 * sealed and opened by dtls_record.c, with OpenSSL left the handshake
 * records and alerts.
 *
 * Two rules keep the two record layers apart (dtls_record.h says why):
 * - OpenSSL never opens an application record. Those that overtake the
 *   peer's last flight are kept here and opened once CONNECTED.
 * - We write our records only once we have opened one of the peer's: its
 *   handshake is then over, so it will never need our Finished again,
 *   which OpenSSL would resend with a sequence number below ours (the
 *   peer's replay window would drop it). Until then SSL_write seals. */
#include "dtls_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <string.h>

int pp_dtls_app_start(struct pp_dtls *d)
{
	int rc;

	if (!d->ssl_nonce_seen) /* no Finished from OpenSSL: cannot happen */
		return PP_ERR_STATE;
	rc = pp_dtls_records_init(&d->rec, d->ssl, d->role == PP_DTLS_CLIENT);
	if (rc < 0)
		return rc;
	d->tx = g_malloc(PP_DTLS_DATAGRAM_MAX);
	d->rec_on = true;
	return 0;
}

void pp_dtls_app_clear(struct pp_dtls *d)
{
	GBytes *b;

	while ((b = g_queue_pop_head(&d->early)))
		g_bytes_unref(b);
	d->early_bytes = 0;
	pp_dtls_records_clear(&d->rec);
	g_free(d->tx);
	d->tx = NULL;
	d->rec_on = false;
}

static bool pp_dtls_app_record(const uint8_t *rec)
{
	return rec[0] == PP_DTLS_CT_APPLICATION &&
	       pp_dtls_record_epoch(rec) == PP_DTLS_RECORD_EPOCH;
}

/* Said at INFO the 1st, 2nd, 4th, 8th... time: a flood of forged records
 * cannot flood the log. */
static void pp_dtls_app_dropped(struct pp_dtls *d, const char *why)
{
	uint64_t n = ++d->rec_dropped;

	pp_log((n & (n - 1)) == 0 ? PP_LOG_INFO : PP_LOG_DEBUG, d->log_peer,
	       "dtls: dropped an application record: %s (%llu so far)", why,
	       (unsigned long long)n);
}

/* Opens one application record and hands its data up. */
static void pp_dtls_app_open(struct pp_dtls *d, const uint8_t *rec, size_t len)
{
	size_t n = 0;
	int rc = pp_dtls_record_open(&d->rec, rec, len, d->rx, sizeof(d->rx), &n);

	if (rc < 0) {
		pp_dtls_app_dropped(d, pp_strerror(rc));
		return;
	}
	if (!d->rec_tx) {
		d->rec_tx = true;
		pp_dtls_records_start_tx(&d->rec, d->ssl_nonce);
	}
	if (d->cb.on_data)
		d->cb.on_data(d->user, d->rx, n);
}

/* ---- before CONNECTED ---- */

static void pp_dtls_app_keep(struct pp_dtls *d, const uint8_t *rec, size_t len)
{
	if (d->early.length >= PP_DTLS_EARLY_MAX ||
	    d->early_bytes + len > PP_DTLS_EARLY_BYTES_MAX) {
		pp_dtls_app_dropped(d, "too many before the handshake ended");
		return;
	}
	g_queue_push_tail(&d->early, g_bytes_new(rec, len));
	d->early_bytes += len;
}

void pp_dtls_app_feed_early(struct pp_dtls *d, const uint8_t *data, size_t len)
{
	uint8_t *rest = NULL;
	size_t rest_len = 0, off;

	for (off = 0; off < len; off += pp_dtls_record_len(data + off))
		if (pp_dtls_app_record(data + off))
			break;
	if (off == len) { /* the usual case: nothing to take out */
		pp_dtls_feed_ssl(d, data, len);
		return;
	}
	rest = g_malloc(len);
	for (off = 0; off < len;) {
		size_t n = pp_dtls_record_len(data + off);
		if (pp_dtls_app_record(data + off)) {
			pp_dtls_app_keep(d, data + off, n);
		} else {
			memcpy(rest + rest_len, data + off, n);
			rest_len += n;
		}
		off += n;
	}
	if (rest_len > 0) /* may end the handshake, which opens what was kept */
		pp_dtls_feed_ssl(d, rest, rest_len);
	g_free(rest);
}

void pp_dtls_app_open_early(struct pp_dtls *d)
{
	GBytes *b;

	while (d->rec_on && d->state == PP_DTLS_CONNECTED && !d->doomed &&
	       (b = g_queue_pop_head(&d->early))) {
		gsize n;
		const uint8_t *rec = g_bytes_get_data(b, &n);
		d->early_bytes -= n;
		pp_dtls_app_open(d, rec, n);
		g_bytes_unref(b);
	}
}

/* ---- CONNECTED ---- */

void pp_dtls_app_feed(struct pp_dtls *d, const uint8_t *data, size_t len)
{
	for (size_t off = 0; off < len && d->state == PP_DTLS_CONNECTED && !d->doomed;) {
		const uint8_t *rec = data + off;
		size_t n = pp_dtls_record_len(rec);
		off += n;
		if (pp_dtls_app_record(rec))
			pp_dtls_app_open(d, rec, n);
		else if (rec[0] == PP_DTLS_CT_APPLICATION)
			pp_dtls_app_dropped(d, "not in the session's epoch");
		else
			pp_dtls_feed_ssl(d, rec, n); /* an alert, a retransmitted flight */
	}
}

static int pp_dtls_app_seal_send(struct pp_dtls *d, enum pp_dtls_content ct,
                                 const uint8_t *data, size_t len)
{
	size_t n = 0;
	int rc = pp_dtls_record_seal(&d->rec, ct, data, len, d->tx, PP_DTLS_DATAGRAM_MAX, &n);

	if (rc == PP_ERR_STATE)
		return rc;
	if (rc < 0) {
		pp_log(PP_LOG_WARN, d->log_peer, "dtls: cannot seal a %zu-byte record: %s", len,
		       pp_strerror(rc));
		return rc == PP_ERR_TOO_BIG ? rc : PP_ERR_CRYPTO;
	}
	rc = d->cb.send_datagram(d->user, d->tx, n);
	if (rc < 0)
		pp_log(PP_LOG_DEBUG, d->log_peer, "dtls: send of %zu bytes failed: %s", n,
		       pp_strerror(rc));
	return 0; /* a lost datagram is the transport's to resend */
}

int pp_dtls_app_send(struct pp_dtls *d, const uint8_t *data, size_t len)
{
	int rc = pp_dtls_app_seal_send(d, PP_DTLS_CT_APPLICATION, data, len);

	if (rc == PP_ERR_STATE) /* 2^48 records, and no renegotiation to go on with */
		pp_dtls_set_state(d, PP_DTLS_FAILED, PP_DTLS_REASON_PROTOCOL,
		                  "record sequence numbers spent");
	return rc;
}

void pp_dtls_app_close_notify(struct pp_dtls *d)
{
	static const uint8_t close_notify[2] = { 1, 0 }; /* warning, close_notify */

	(void)pp_dtls_app_seal_send(d, PP_DTLS_CT_ALERT, close_notify, sizeof(close_notify));
}
