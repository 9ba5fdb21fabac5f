/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL glue of the DTLS endpoint: context settings, the datagram BIO,
 * the retransmission timer curve and the pinning verification. */
#include "dtls_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

/* AES-GCM only: every protected record then carries at least 24 bytes,
 * which pp_dtls_feed() checks (see pp_dtls_check_datagram). */
#define PP_DTLS_CIPHERS "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"
#define PP_DTLS_GROUPS "X25519:P-256:P-384"

/* ---- the BIO: one datagram in at a time, records packed out per MTU ----
 *
 * OpenSSL reads a whole datagram with one BIO_read, so the read side hands
 * it the datagram being fed and nothing else. The write side packs the
 * records of a flight into one datagram while they fit the MTU; OpenSSL
 * asks for the bytes pending (BIO_CTRL_WPENDING) when it fragments
 * handshake messages and flushes at the end of each flight, and dtls.c
 * flushes after every OpenSSL call, so nothing waits past a call. */

void pp_dtls_flush(struct pp_dtls *d)
{
	size_t n = d->out_len;

	if (n == 0)
		return;
	d->out_len = 0;
	if (!d->cb.send_datagram)
		return;
	int rc = d->cb.send_datagram(d->user, d->out, n);
	if (rc < 0)
		pp_log(PP_LOG_DEBUG, d->log_peer, "dtls: send of %zu bytes failed: %s", n,
		       pp_strerror(rc));
}

/* Notes the explicit nonce of each protected record OpenSSL writes: ours
 * count up from far past the last one (dtls_record.h). */
static void pp_dtls_note_nonces(struct pp_dtls *d, const uint8_t *data, size_t n)
{
	for (size_t off = 0; n - off >= PP_DTLS_RECORD_HEADER_LEN;) {
		const uint8_t *rec = data + off;
		size_t len = pp_dtls_record_len(rec);
		if (len > n - off)
			break;
		if (pp_dtls_record_epoch(rec) == PP_DTLS_RECORD_EPOCH &&
		    len >= PP_DTLS_RECORD_HEADER_LEN + PP_DTLS_RECORD_NONCE_LEN) {
			d->ssl_nonce = pp_dtls_record_nonce(rec);
			d->ssl_nonce_seen = true;
		}
		off += len;
	}
}

static int pp_dtls_bio_write(BIO *bio, const char *data, int len)
{
	struct pp_dtls *d = BIO_get_data(bio);
	size_t n = len > 0 ? (size_t)len : 0;

	BIO_clear_retry_flags(bio);
	if (!d || n == 0)
		return len;
	pp_dtls_note_nonces(d, (const uint8_t *)data, n);
	if (d->out_len > 0 && d->out_len + n > d->mtu)
		pp_dtls_flush(d);
	if (n > d->mtu) {
		/* Only an application record can be this large: it goes alone. */
		if (d->cb.send_datagram)
			(void)d->cb.send_datagram(d->user, (const uint8_t *)data, n);
		return len;
	}
	memcpy(d->out + d->out_len, data, n);
	d->out_len += n;
	return len;
}

static int pp_dtls_bio_read(BIO *bio, char *buf, int size)
{
	struct pp_dtls *d = BIO_get_data(bio);

	BIO_clear_retry_flags(bio);
	if (!d || !d->in || size <= 0) {
		BIO_set_retry_read(bio);
		return -1;
	}
	size_t n = d->in_len < (size_t)size ? d->in_len : (size_t)size;
	memcpy(buf, d->in, n); /* a longer datagram is truncated, as UDP would */
	d->in = NULL;
	d->in_len = 0;
	return (int)n;
}

static long pp_dtls_bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	struct pp_dtls *d = BIO_get_data(bio);

	if (!d)
		return 0;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		pp_dtls_flush(d);
		return 1;
	case BIO_CTRL_WPENDING:
		return (long)d->out_len;
	case BIO_CTRL_PENDING:
		return d->in ? (long)d->in_len : 0;
	case BIO_CTRL_DGRAM_QUERY_MTU:
	case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
		return (long)d->mtu;
	default:
		return 0; /* includes the MTU overhead: the MTU is the datagram's */
	}
}

static int pp_dtls_bio_create(BIO *bio)
{
	BIO_set_init(bio, 1);
	return 1;
}

static BIO_METHOD *pp_dtls_bio_method(void)
{
	static gsize once;
	static BIO_METHOD *method;

	if (g_once_init_enter(&once)) {
		BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
		                             "peerpipe dtls datagram");
		if (m && (BIO_meth_set_write(m, pp_dtls_bio_write) != 1 ||
		          BIO_meth_set_read(m, pp_dtls_bio_read) != 1 ||
		          BIO_meth_set_ctrl(m, pp_dtls_bio_ctrl) != 1 ||
		          BIO_meth_set_create(m, pp_dtls_bio_create) != 1)) {
			BIO_meth_free(m);
			m = NULL;
		}
		method = m; /* lives as long as the process */
		g_once_init_leave(&once, 1);
	}
	return method;
}

/* ---- callbacks from OpenSSL ---- */

static unsigned int pp_dtls_timer_cb(SSL *ssl, unsigned int prev_us)
{
	struct pp_dtls *d = SSL_get_app_data(ssl);
	unsigned int first = d->retransmit_ms * 1000u;
	unsigned int cap = PP_DTLS_RETRANSMIT_CAP_MS * 1000u;

	if (cap < first)
		cap = first;
	if (prev_us == 0)
		return first;
	return prev_us >= cap / 2 ? cap : prev_us * 2;
}

static void pp_dtls_info_cb(const SSL *ssl, int where, int ret)
{
	struct pp_dtls *d = SSL_get_app_data(ssl);

	if (!(where & SSL_CB_ALERT))
		return;
	const char *desc = SSL_alert_desc_string_long(ret);
	bool fatal = (ret >> 8) == SSL3_AL_FATAL;
	if ((where & SSL_CB_READ) && fatal)
		snprintf(d->alert, sizeof(d->alert), "%s", desc);
	pp_log(fatal ? PP_LOG_INFO : PP_LOG_DEBUG, d->log_peer, "dtls: %s %s alert: %s",
	       (where & SSL_CB_READ) ? "received" : "sent", fatal ? "fatal" : "warning", desc);
}

static bool pp_dtls_pinned(const struct pp_dtls *d, const struct pp_fingerprint *fp)
{
	bool found = false;

	/* No early exit: the time taken does not tell which pin matched. */
	for (size_t i = 0; i < d->n_pins; i++)
		found |= pp_fingerprint_equal(fp, &d->pins[i]);
	return found;
}

static int pp_dtls_reject(struct pp_dtls *d, X509_STORE_CTX *xs, enum pp_dtls_reason why,
                          const char *cert_fp)
{
	char sdp_fp[PP_FP_TEXT_MAX] = "?";

	(void)pp_fingerprint_format(&d->remote_fp, sdp_fp, sizeof(sdp_fp));
	d->verify_reason = why;
	if (why == PP_DTLS_REASON_FINGERPRINT_MISMATCH)
		pp_log(PP_LOG_WARN, d->log_peer,
		       "dtls: fingerprint mismatch: the certificate is %s but the SDP says %s",
		       cert_fp, sdp_fp);
	else
		pp_log(PP_LOG_WARN, d->log_peer, "dtls: not pinned: %s", cert_fp);
	X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED); /* bad_certificate alert */
	return 0;
}

/* Replaces chain verification: self-signed certificates are the norm, the
 * only authority is the SDP fingerprint and the pin list. */
static int pp_dtls_verify_cb(X509_STORE_CTX *xs, void *arg)
{
	struct pp_dtls *d = arg;
	X509 *cert = X509_STORE_CTX_get0_cert(xs);
	struct pp_fingerprint fp;
	char text[PP_FP_TEXT_MAX] = "?";

	if (!cert || pp_fingerprint_compute(cert, &fp) < 0)
		return pp_dtls_reject(d, xs, PP_DTLS_REASON_FINGERPRINT_MISMATCH, "(none)");
	(void)pp_fingerprint_format(&fp, text, sizeof(text));
	if (!pp_fingerprint_equal(&fp, &d->remote_fp))
		return pp_dtls_reject(d, xs, PP_DTLS_REASON_FINGERPRINT_MISMATCH, text);
	if (!d->allow_unpinned && !pp_dtls_pinned(d, &fp))
		return pp_dtls_reject(d, xs, PP_DTLS_REASON_NOT_PINNED, text);
	pp_log(PP_LOG_DEBUG, d->log_peer, "dtls: peer certificate %s accepted", text);
	X509_STORE_CTX_set_error(xs, X509_V_OK);
	return 1;
}

/* ---- setup ---- */

static SSL_CTX *pp_dtls_ctx_new(struct pp_dtls *d, const struct pp_identity *id)
{
	SSL_CTX *c = SSL_CTX_new(DTLS_method());

	if (!c)
		return NULL;
	if (SSL_CTX_set_min_proto_version(c, DTLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(c, DTLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(c, PP_DTLS_CIPHERS) != 1 ||
	    SSL_CTX_set1_groups_list(c, PP_DTLS_GROUPS) != 1 ||
	    SSL_CTX_use_certificate(c, pp_identity_cert(id)) != 1 ||
	    SSL_CTX_use_PrivateKey(c, pp_identity_key(id)) != 1 ||
	    SSL_CTX_check_private_key(c) != 1) {
		SSL_CTX_free(c);
		return NULL;
	}
	SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	                           SSL_OP_NO_TICKET | SSL_OP_NO_QUERY_MTU |
	                           SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_cert_verify_callback(c, pp_dtls_verify_cb, d);
	SSL_CTX_set_info_callback(c, pp_dtls_info_cb);
	return c;
}

int pp_dtls_ssl_setup(struct pp_dtls *d, const struct pp_identity *id)
{
	BIO_METHOD *method = pp_dtls_bio_method();
	BIO *bio = NULL;
	int rc = PP_ERR_CRYPTO;

	d->ssl_ctx = pp_dtls_ctx_new(d, id);
	if (!method || !d->ssl_ctx)
		goto out;
	d->ssl = SSL_new(d->ssl_ctx);
	bio = BIO_new(method);
	if (!d->ssl || !bio)
		goto out;
	BIO_set_data(bio, d);
	SSL_set_bio(d->ssl, bio, bio); /* one reference, taken by the SSL */
	bio = NULL;                    /* transferred */
	SSL_set_app_data(d->ssl, d);
	DTLS_set_timer_cb(d->ssl, pp_dtls_timer_cb);
	if (DTLS_set_link_mtu(d->ssl, (long)d->mtu) != 1)
		goto out;
	if (d->role == PP_DTLS_CLIENT)
		SSL_set_connect_state(d->ssl);
	else
		SSL_set_accept_state(d->ssl);
	rc = 0;
out:
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}
