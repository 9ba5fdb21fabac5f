/* SPDX-License-Identifier: Apache-2.0 */
/* DTLS endpoint: creation, lifetime and the public operations. The state
 * machine and the sources are in dtls_run.c, the OpenSSL glue (BIO,
 * verification, timer curve) in dtls_ssl.c. */
#include "dtls_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/source.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

static const char *const pp_dtls_state_names[] = {
	[PP_DTLS_NEW] = "new",         [PP_DTLS_CONNECTING] = "connecting",
	[PP_DTLS_CONNECTED] = "connected", [PP_DTLS_FAILED] = "failed",
	[PP_DTLS_CLOSED] = "closed",
};

static const char *const pp_dtls_reason_names[] = {
	[PP_DTLS_REASON_NONE] = "none",
	[PP_DTLS_REASON_FINGERPRINT_MISMATCH] = "fingerprint mismatch",
	[PP_DTLS_REASON_NOT_PINNED] = "not pinned",
	[PP_DTLS_REASON_TIMEOUT] = "handshake timeout",
	[PP_DTLS_REASON_ALERT] = "alert from peer",
	[PP_DTLS_REASON_PROTOCOL] = "protocol error",
	[PP_DTLS_REASON_PEER_CLOSED] = "closed by peer",
	[PP_DTLS_REASON_LOCAL_CLOSE] = "closed",
};

const char *pp_dtls_state_str(enum pp_dtls_state state)
{
	if ((unsigned)state >= G_N_ELEMENTS(pp_dtls_state_names))
		return "unknown";
	return pp_dtls_state_names[state];
}

const char *pp_dtls_reason_str(enum pp_dtls_reason reason)
{
	if ((unsigned)reason >= G_N_ELEMENTS(pp_dtls_reason_names))
		return "unknown";
	return pp_dtls_reason_names[reason];
}

/* ---- lifetime: a free from inside a callback waits for the outermost
 * entry point to return ---- */

static void pp_dtls_destroy(struct pp_dtls *d)
{
	pp_dtls_timers_clear(d);
	pp_dtls_app_clear(d);
	SSL_free(d->ssl); /* and the BIO */
	SSL_CTX_free(d->ssl_ctx);
	ERR_clear_error();
	if (d->out)
		OPENSSL_cleanse(d->out, d->mtu);
	g_free(d->out);
	g_free(d->pins);
	g_free(d->log_peer);
	if (d->ctx)
		g_main_context_unref(d->ctx);
	OPENSSL_cleanse(d, sizeof(*d));
	g_free(d);
}

void pp_dtls_enter(struct pp_dtls *d)
{
	d->depth++;
}

void pp_dtls_leave(struct pp_dtls *d)
{
	if (--d->depth == 0 && d->doomed)
		pp_dtls_destroy(d);
}

void pp_dtls_free(struct pp_dtls *d)
{
	if (!d || d->doomed)
		return;
	memset(&d->cb, 0, sizeof(d->cb)); /* nothing is called back from now on */
	d->doomed = true;
	pp_dtls_timers_clear(d);
	if (d->depth == 0)
		pp_dtls_destroy(d);
}

/* ---- creation ---- */

static bool pp_dtls_config_ok(const struct pp_dtls_config *c, const struct pp_dtls_callbacks *cb)
{
	const char *why = NULL;

	if (!c || !cb || !c->identity || !cb->send_datagram)
		why = "identity and send_datagram are required";
	else if (c->role != PP_DTLS_CLIENT && c->role != PP_DTLS_SERVER)
		why = "bad role";
	else if (!pp_fingerprint_pinnable(&c->remote_fingerprint))
		why = "the remote fingerprint must be sha-256";
	else if (c->mtu && (c->mtu < PP_DTLS_MTU_MIN || c->mtu > PP_DTLS_DATAGRAM_MAX))
		why = "mtu out of range";
	else if (c->n_pins > PP_DTLS_PINS_MAX || (c->n_pins && !c->pins))
		why = "bad pin list";
	else if (c->retransmit_ms > PP_DTLS_RETRANSMIT_MAX_MS)
		why = "retransmit_ms out of range";
	if (why)
		pp_log(PP_LOG_ERROR, c ? c->log_peer : NULL, "dtls: bad config: %s", why);
	return why == NULL;
}

static void pp_dtls_apply_config(struct pp_dtls *d, const struct pp_dtls_config *c)
{
	d->role = c->role;
	d->remote_fp = c->remote_fingerprint;
	d->pins = c->n_pins ? g_memdup2(c->pins, c->n_pins * sizeof(*c->pins)) : NULL;
	d->n_pins = c->n_pins;
	d->allow_unpinned = c->allow_unpinned;
	d->mtu = c->mtu ? c->mtu : PP_DTLS_MTU_DEFAULT;
	d->handshake_timeout_ms =
		c->handshake_timeout_ms ? c->handshake_timeout_ms : PP_DTLS_HANDSHAKE_TIMEOUT_DEFAULT_MS;
	d->retransmit_ms = c->retransmit_ms ? c->retransmit_ms : PP_DTLS_RETRANSMIT_DEFAULT_MS;
	d->log_peer = g_strdup(c->log_peer);
	d->out = g_malloc(d->mtu);
	d->openssl_records = c->openssl_records;
}

struct pp_dtls *pp_dtls_new(GMainContext *ctx, const struct pp_dtls_config *config,
                            const struct pp_dtls_callbacks *cb, void *user)
{
	struct pp_dtls *d;

	if (!pp_dtls_config_ok(config, cb))
		return NULL;
	d = g_new0(struct pp_dtls, 1);
	d->ctx = ctx ? g_main_context_ref(ctx) : g_main_context_ref_thread_default();
	d->cb = *cb;
	d->user = user;
	pp_dtls_apply_config(d, config);
	if (pp_dtls_ssl_setup(d, config->identity) < 0) {
		pp_log(PP_LOG_ERROR, d->log_peer, "dtls: cannot set up OpenSSL");
		pp_dtls_destroy(d);
		return NULL;
	}
	return d;
}

/* ---- operations ---- */

int pp_dtls_start(struct pp_dtls *d)
{
	if (d->in_ssl || d->state != PP_DTLS_NEW)
		return PP_ERR_STATE;
	pp_dtls_enter(d);
	pp_dtls_timer_set(d, PP_DTLS_TIMER_DEADLINE,
	                  g_get_monotonic_time() + (gint64)d->handshake_timeout_ms * 1000);
	pp_dtls_set_state(d, PP_DTLS_CONNECTING, PP_DTLS_REASON_NONE,
	                  d->role == PP_DTLS_CLIENT ? "client" : "server");
	if (d->role == PP_DTLS_CLIENT && d->state == PP_DTLS_CONNECTING && !d->doomed)
		pp_dtls_step(d);
	int rc = d->state == PP_DTLS_FAILED ? PP_ERR_CRYPTO : 0;
	pp_dtls_leave(d);
	return rc;
}

/* RFC 7983: DTLS starts with a content type in 20..63. Then every record
 * must fit the datagram, and a protected one (epoch > 0) must hold at
 * least the AES-GCM explicit nonce and tag: OpenSSL 3.0 answers a shorter
 * one with a fatal internal_error instead of discarding it (openssl#25290),
 * so one forged 28-byte datagram would end the session. */
static int pp_dtls_check_datagram(const uint8_t *data, size_t len)
{
	if (len > PP_DTLS_DATAGRAM_MAX)
		return PP_ERR_TOO_BIG;
	if (!data || len < PP_DTLS_RECORD_HEADER_LEN || data[0] < 20 || data[0] > 63)
		return PP_ERR_INVALID;
	for (size_t off = 0; off < len;) {
		if (len - off < PP_DTLS_RECORD_HEADER_LEN)
			return PP_ERR_INVALID;
		const uint8_t *h = data + off;
		size_t rec = pp_dtls_record_len(h);
		if (rec > len - off ||
		    (pp_dtls_record_epoch(h) != 0 && rec < PP_DTLS_RECORD_OVERHEAD))
			return PP_ERR_INVALID;
		off += rec;
	}
	return 0;
}

int pp_dtls_feed(struct pp_dtls *d, const uint8_t *data, size_t len)
{
	int rc = pp_dtls_check_datagram(data, len);

	if (rc < 0) {
		pp_log(PP_LOG_DEBUG, d->log_peer, "dtls: dropped a %zu-byte datagram: %s", len,
		       pp_strerror(rc));
		return rc;
	}
	if (d->in_ssl || pp_dtls_final(d) || (d->state == PP_DTLS_NEW && d->role == PP_DTLS_CLIENT))
		return PP_ERR_STATE;
	pp_dtls_enter(d);
	if (d->state == PP_DTLS_NEW)
		(void)pp_dtls_start(d);
	if (d->doomed || pp_dtls_final(d))
		; /* the start failed */
	else if (d->rec_on)
		pp_dtls_app_feed(d, data, len);
	else if (d->state == PP_DTLS_CONNECTING && !d->openssl_records)
		pp_dtls_app_feed_early(d, data, len);
	else
		pp_dtls_feed_ssl(d, data, len);
	pp_dtls_leave(d);
	return 0;
}

/* Bytes of the longest run of whole records at data that fits one
 * datagram; 0 when the first record does not. */
static size_t pp_dtls_cut(const uint8_t *data, size_t len)
{
	size_t cut = 0;

	while (len - cut >= PP_DTLS_RECORD_HEADER_LEN) {
		size_t rec = pp_dtls_record_len(data + cut);
		if (rec > len - cut || cut + rec > PP_DTLS_DATAGRAM_MAX)
			break;
		cut += rec;
	}
	return cut;
}

int pp_dtls_feed_coalesced(struct pp_dtls *d, const uint8_t *data, size_t len)
{
	int rc = 0;

	if (len <= PP_DTLS_DATAGRAM_MAX)
		return pp_dtls_feed(d, data, len);
	if (len > PP_DTLS_COALESCED_MAX || !data)
		return PP_ERR_TOO_BIG;
	pp_dtls_enter(d); /* a callback may free d: it waits for our return */
	while (len > 0 && rc == 0 && !d->doomed) {
		size_t n = pp_dtls_cut(data, len);
		if (n == 0)
			n = MIN(len, (size_t)PP_DTLS_DATAGRAM_MAX + 1); /* refused below */
		rc = pp_dtls_feed(d, data, n);
		data += n;
		len -= n;
	}
	pp_dtls_leave(d);
	return rc;
}

int pp_dtls_send(struct pp_dtls *d, const uint8_t *data, size_t len)
{
	int rc = 0;

	if (d->in_ssl || d->state != PP_DTLS_CONNECTED)
		return PP_ERR_STATE;
	if (!data || len == 0)
		return PP_ERR_INVALID;
	if (len > PP_DTLS_SEND_MAX)
		return PP_ERR_TOO_BIG;
	pp_dtls_enter(d); /* a failure reported from here may free d */
	if (d->rec_tx) {
		rc = pp_dtls_app_send(d, data, len);
		pp_dtls_leave(d);
		return rc;
	}
	pp_dtls_clear_errors();
	d->in_ssl = true;
	int r = SSL_write(d->ssl, data, (int)len);
	d->in_ssl = false;
	pp_dtls_flush(d);
	if (r != (int)len) {
		pp_log(PP_LOG_WARN, d->log_peer, "dtls: SSL_write of %zu bytes failed (%d)", len,
		       SSL_get_error(d->ssl, r));
		rc = PP_ERR_CRYPTO;
		ERR_clear_error();
	}
	pp_dtls_leave(d);
	return rc;
}

int pp_dtls_close(struct pp_dtls *d)
{
	if (d->in_ssl || d->closed_reported)
		return PP_ERR_STATE;
	pp_dtls_enter(d);
	if (d->state == PP_DTLS_CONNECTED && d->rec_tx) {
		pp_dtls_app_close_notify(d);
	} else if (d->state == PP_DTLS_CONNECTED) {
		ERR_clear_error();
		d->in_ssl = true;
		(void)SSL_shutdown(d->ssl); /* close_notify; we do not wait for theirs */
		d->in_ssl = false;
		pp_dtls_flush(d);
		ERR_clear_error();
	}
	d->state = PP_DTLS_CLOSED;
	d->closed_reported = true;
	pp_dtls_timer_set(d, PP_DTLS_TIMER_DEADLINE, -1);
	pp_dtls_timer_set(d, PP_DTLS_TIMER_RETRANSMIT, -1);
	pp_dtls_timer_set(d, PP_DTLS_TIMER_NOTIFY, 0);
	pp_log(PP_LOG_INFO, d->log_peer, "dtls: closed");
	pp_dtls_leave(d);
	return 0;
}

int pp_dtls_export_keying_material(struct pp_dtls *d, const char *label, uint8_t *out,
                                   size_t len)
{
	int rc = 0;

	if (d->in_ssl || d->state != PP_DTLS_CONNECTED)
		return PP_ERR_STATE;
	if (!label || !*label || !out || len == 0 || len > PP_DTLS_EXPORT_MAX)
		return PP_ERR_INVALID;
	ERR_clear_error();
	if (SSL_export_keying_material(d->ssl, out, len, label, strlen(label), NULL, 0, 0) != 1) {
		OPENSSL_cleanse(out, len);
		rc = PP_ERR_CRYPTO;
	}
	ERR_clear_error();
	return rc;
}

enum pp_dtls_state pp_dtls_state(const struct pp_dtls *d)
{
	return d->state;
}

enum pp_dtls_role pp_dtls_role(const struct pp_dtls *d)
{
	return d->role;
}

size_t pp_dtls_data_mtu(const struct pp_dtls *d)
{
	size_t n = d->state == PP_DTLS_CONNECTED ? DTLS_get_data_mtu(d->ssl) : 0;

	/* Before the cipher is known: header, explicit nonce, tag. */
	return n ? n : d->mtu - PP_DTLS_RECORD_OVERHEAD;
}

size_t pp_dtls_record_overhead(const struct pp_dtls *d)
{
	return d->mtu - pp_dtls_data_mtu(d);
}

const char *pp_dtls_cipher(const struct pp_dtls *d)
{
	const char *name = NULL;

	if (d->state == PP_DTLS_CONNECTED)
		name = SSL_get_cipher_name(d->ssl);
	return name ? name : "";
}
