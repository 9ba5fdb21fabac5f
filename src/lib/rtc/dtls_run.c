/* SPDX-License-Identifier: Apache-2.0 */
/* DTLS endpoint, the running part: the state machine around OpenSSL's
 * handshake and record calls, and the endpoint's sources on the caller's
 * GMainContext (retransmission timer, handshake deadline, close report). */
#include "dtls_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/source.h"

#include <openssl/err.h>
#include <stdio.h>

/* ---- state ---- */

bool pp_dtls_final(const struct pp_dtls *d)
{
	return d->state == PP_DTLS_FAILED || d->state == PP_DTLS_CLOSED;
}

void pp_dtls_set_state(struct pp_dtls *d, enum pp_dtls_state st, enum pp_dtls_reason why,
                       const char *text)
{
	d->state = st;
	if (st != PP_DTLS_CONNECTING)
		pp_dtls_timer_set(d, PP_DTLS_TIMER_DEADLINE, -1);
	if (st == PP_DTLS_FAILED || st == PP_DTLS_CLOSED)
		pp_dtls_timer_set(d, PP_DTLS_TIMER_RETRANSMIT, -1);
	if (st == PP_DTLS_CLOSED)
		d->closed_reported = true;
	pp_log(st == PP_DTLS_FAILED ? PP_LOG_WARN : PP_LOG_INFO, d->log_peer, "dtls: %s (%s)",
	       pp_dtls_state_str(st), text);
	if (d->cb.on_state)
		d->cb.on_state(d->user, st, why, text);
}

static void pp_dtls_fail(struct pp_dtls *d, enum pp_dtls_reason why, const char *text)
{
	if (!pp_dtls_final(d))
		pp_dtls_set_state(d, PP_DTLS_FAILED, why, text);
}

/* A fatal SSL_get_error() result: say why, from the most specific cause. */
static void pp_dtls_fail_ssl(struct pp_dtls *d, int ssl_err)
{
	char text[128];
	unsigned long e = ERR_peek_last_error();

	if (d->verify_reason != PP_DTLS_REASON_NONE) {
		pp_dtls_fail(d, d->verify_reason, pp_dtls_reason_str(d->verify_reason));
	} else if (d->alert[0]) {
		snprintf(text, sizeof(text), "peer alert: %s", d->alert);
		pp_dtls_fail(d, PP_DTLS_REASON_ALERT, text);
	} else {
		const char *r = e ? ERR_reason_error_string(e) : NULL;
		snprintf(text, sizeof(text), "%s (ssl error %d)", r ? r : "protocol error", ssl_err);
		pp_dtls_fail(d, PP_DTLS_REASON_PROTOCOL, text);
	}
	ERR_clear_error();
}

/* Schedules OpenSSL's retransmission timer, if one runs: once the
 * handshake is over it does not, and its source goes. */
static void pp_dtls_arm_timer(struct pp_dtls *d)
{
	struct timeval tv;
	gint64 when = -1;

	if (!pp_dtls_final(d) && DTLSv1_get_timeout(d->ssl, &tv) == 1)
		when = g_get_monotonic_time() + (gint64)tv.tv_sec * G_USEC_PER_SEC + tv.tv_usec;
	pp_dtls_timer_set(d, PP_DTLS_TIMER_RETRANSMIT, when);
}

/* ---- driving OpenSSL: every call clears the error queue first, flushes
 * what it wrote and re-arms the timer ---- */

/* Reads every record OpenSSL can give. After a record, when the datagram
 * has been taken by the BIO and OpenSSL holds nothing more of it, another
 * SSL_read would only say WANT_READ: skipped, unless drain (where the
 * handshake ends: records OpenSSL buffered during it come out one per
 * call, and SSL_has_pending does not count them). */
static void pp_dtls_read_records(struct pp_dtls *d, bool drain)
{
	while (d->state == PP_DTLS_CONNECTED && !d->doomed) {
		pp_dtls_clear_errors();
		d->in_ssl = true;
		int r = SSL_read(d->ssl, d->rx, sizeof(d->rx));
		int e = SSL_get_error(d->ssl, r);
		d->in_ssl = false;
		pp_dtls_flush(d);
		if (r > 0) {
			if (d->cb.on_data)
				d->cb.on_data(d->user, d->rx, (size_t)r);
			if (!drain && !d->in && !d->doomed && !SSL_has_pending(d->ssl))
				break;
			continue;
		}
		if (e == SSL_ERROR_ZERO_RETURN)
			pp_dtls_set_state(d, PP_DTLS_CLOSED, PP_DTLS_REASON_PEER_CLOSED,
			                  "close_notify received");
		else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			pp_dtls_fail_ssl(d, e);
		break;
	}
	pp_dtls_clear_errors();
}

static void pp_dtls_connected(struct pp_dtls *d)
{
	const char *cipher = SSL_get_cipher_name(d->ssl);
	char text[96];
	int rc = d->openssl_records ? 0 : pp_dtls_app_start(d);

	if (rc < 0) {
		snprintf(text, sizeof(text), "cannot derive the record keys: %s", pp_strerror(rc));
		pp_dtls_fail(d, PP_DTLS_REASON_PROTOCOL, text);
		return;
	}
	snprintf(text, sizeof(text), "%s %s%s", SSL_get_version(d->ssl), cipher ? cipher : "?",
	         d->rec_on ? "" : ", OpenSSL's records");
	pp_dtls_set_state(d, PP_DTLS_CONNECTED, PP_DTLS_REASON_NONE, text);
}

static void pp_dtls_handshake(struct pp_dtls *d)
{
	ERR_clear_error();
	d->in_ssl = true;
	int r = SSL_do_handshake(d->ssl);
	int e = SSL_get_error(d->ssl, r);
	d->in_ssl = false;
	pp_dtls_flush(d);
	if (r == 1)
		pp_dtls_connected(d);
	else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
		pp_dtls_fail_ssl(d, e);
	ERR_clear_error();
}

/* After a datagram or a timer: progress the handshake, read records. */
void pp_dtls_step(struct pp_dtls *d)
{
	bool drain = d->state == PP_DTLS_CONNECTING;

	if (drain)
		pp_dtls_handshake(d);
	if (d->state == PP_DTLS_CONNECTED && !d->doomed)
		pp_dtls_read_records(d, drain);
	if (drain && d->rec_on)
		pp_dtls_app_open_early(d);
	if (!d->doomed)
		pp_dtls_arm_timer(d);
}

void pp_dtls_feed_ssl(struct pp_dtls *d, const uint8_t *data, size_t len)
{
	d->in = data;
	d->in_len = len;
	if (!d->doomed && !pp_dtls_final(d))
		pp_dtls_step(d);
	d->in = NULL; /* unread if the state machine had no use for it */
	d->in_len = 0;
}

/* ---- sources ---- */

static gboolean pp_dtls_source_dispatch(GSource *src, GSourceFunc fn, gpointer data)
{
	g_source_set_ready_time(src, -1); /* one shot until armed again */
	return fn ? fn(data) : G_SOURCE_CONTINUE;
}

static GSourceFuncs pp_dtls_source_funcs = { .dispatch = pp_dtls_source_dispatch };

static gboolean pp_dtls_on_retransmit(gpointer p)
{
	struct pp_dtls *d = p;

	if (pp_dtls_final(d))
		return G_SOURCE_CONTINUE;
	pp_dtls_enter(d);
	ERR_clear_error();
	d->in_ssl = true;
	int r = DTLSv1_handle_timeout(d->ssl);
	d->in_ssl = false;
	pp_dtls_flush(d);
	if (r < 0)
		pp_dtls_fail(d, PP_DTLS_REASON_TIMEOUT, "too many retransmissions");
	else if (r > 0)
		pp_log(PP_LOG_DEBUG, d->log_peer, "dtls: flight retransmitted");
	ERR_clear_error();
	if (!d->doomed)
		pp_dtls_arm_timer(d);
	pp_dtls_leave(d);
	return G_SOURCE_CONTINUE;
}

static gboolean pp_dtls_on_deadline(gpointer p)
{
	struct pp_dtls *d = p;
	char text[64];

	pp_dtls_enter(d);
	snprintf(text, sizeof(text), "no handshake within %u ms", d->handshake_timeout_ms);
	if (d->state == PP_DTLS_CONNECTING)
		pp_dtls_fail(d, PP_DTLS_REASON_TIMEOUT, text);
	pp_dtls_leave(d);
	return G_SOURCE_CONTINUE;
}

static gboolean pp_dtls_on_notify(gpointer p)
{
	struct pp_dtls *d = p;

	pp_dtls_enter(d);
	pp_dtls_timer_set(d, PP_DTLS_TIMER_NOTIFY, -1); /* it fires once */
	if (d->cb.on_state)
		d->cb.on_state(d->user, PP_DTLS_CLOSED, PP_DTLS_REASON_LOCAL_CLOSE, "closed");
	pp_dtls_leave(d);
	return G_SOURCE_CONTINUE;
}

static const struct {
	GSourceFunc fn;
	const char *name;
} pp_dtls_timer_kinds[PP_DTLS_TIMERS] = {
	[PP_DTLS_TIMER_RETRANSMIT] = { pp_dtls_on_retransmit, "pp_dtls retransmit" },
	[PP_DTLS_TIMER_DEADLINE] = { pp_dtls_on_deadline, "pp_dtls deadline" },
	[PP_DTLS_TIMER_NOTIFY] = { pp_dtls_on_notify, "pp_dtls closed" },
};

void pp_dtls_timer_set(struct pp_dtls *d, enum pp_dtls_timer t, gint64 when)
{
	GSource **slot = &d->timer[t];

	if (when < 0) {
		/* Also from inside its own dispatch: GLib holds a reference
		 * until the dispatch returns. */
		pp_source_clear(slot);
		return;
	}
	if (!*slot) {
		if (d->doomed)
			return;
		*slot = g_source_new(&pp_dtls_source_funcs, sizeof(GSource));
		g_source_set_callback(*slot, pp_dtls_timer_kinds[t].fn, d, NULL);
		g_source_set_static_name(*slot, pp_dtls_timer_kinds[t].name);
		g_source_attach(*slot, d->ctx);
	}
	g_source_set_ready_time(*slot, when);
}

void pp_dtls_timers_clear(struct pp_dtls *d)
{
	for (int t = 0; t < PP_DTLS_TIMERS; t++)
		pp_source_clear(&d->timer[t]);
}
