/* SPDX-License-Identifier: Apache-2.0 */
/* The channel side of a stream and its life cycle: framing out and in,
 * EOF, the normal end and aborts. See peerpipe/tunnel/stream.h. */
#include "stream_priv.h"
#include "stream_pool.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/source.h"
#include "peerpipe/tunnel/ctrl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void pp_tstream_apply_defaults(struct pp_tstream_config *c)
{
	if (!c->high_mark)
		c->high_mark = PP_TSTREAM_HIGH_DEFAULT;
	if (!c->low_mark || c->low_mark >= c->high_mark)
		c->low_mark = c->high_mark / 4;
	if (!c->write_max)
		c->write_max = c->high_mark;
	if (!c->early_max)
		c->early_max = PP_TSTREAM_PENDING_MAX;
	if (!c->stall_ms)
		c->stall_ms = PP_TSTREAM_STALL_DEFAULT_MS;
	if (!c->linger_ms)
		c->linger_ms = PP_TSTREAM_LINGER_DEFAULT_MS;
}

struct pp_tstream *pp_tstream_new(GMainContext *ctx, struct pp_sctp_channel *ch,
                                  const struct pp_tstream_config *cfg,
                                  const struct pp_tstream_callbacks *cb, void *user)
{
	struct pp_tstream *st = g_new0(struct pp_tstream, 1);

	st->ctx = ctx;
	st->cfg = *cfg;
	pp_tstream_apply_defaults(&st->cfg);
	st->cfg.pool = pp_tstream_pool_ref(cfg->pool); /* before anything can fail: free leaves it */
	pp_tstream_pool_join(st->cfg.pool);
	st->cb = *cb;
	st->user = user;
	st->log_peer = g_strdup(cfg->log_peer);
	st->cfg.log_peer = st->log_peer;
	st->ch = ch;
	st->fd = -1;
	st->confirmed = cfg->unconfirmed_max == 0;
	st->enc = pp_frame_encoder_new(cfg->peer_formats);
	st->dec = pp_frame_decoder_new(cfg->our_formats);
	if (!st->enc || !st->dec) {
		pp_tstream_free(st);
		return NULL;
	}
	pp_frame_encoder_set_policy(st->enc, (enum pp_frame_policy)cfg->compression);
	pp_frame_encoder_set_budget(st->enc, cfg->zstd_budget); /* NULL: none */
	pp_frame_decoder_set_budget(st->dec, cfg->zstd_budget);
	st->cfg.zstd_budget = NULL; /* the codecs hold their references */
	g_snprintf(st->name, sizeof(st->name), "%s#%u", pp_sctp_channel_label(ch),
	           pp_sctp_channel_id(ch));
	pp_sctp_channel_set_user(ch, st);
	pp_sctp_channel_set_low_threshold(ch, st->cfg.low_mark);
	st->stats.started_us = g_get_monotonic_time();
	return st;
}

void pp_tstream_free(struct pp_tstream *st)
{
	if (!st)
		return;
	if (st->ch)
		pp_sctp_channel_set_user(st->ch, NULL);
	pp_tstream_sock_close(st, true);
	pp_tstream_pool_leave(st->cfg.pool);
	pp_tstream_pool_unref(st->cfg.pool);
	pp_source_clear(&st->linger);
	pp_source_clear(&st->idle);
	pp_source_clear(&st->soon_timer);
	free(st->soon);
	pp_frame_encoder_free(st->enc);
	pp_frame_decoder_free(st->dec);
	free(st->wbuf);
	g_free(st->log_peer);
	g_free(st);
}

static void pp_tstream_report_closed(struct pp_tstream *st)
{
	st->closed_reported = true;
	st->stats.ended_us = g_get_monotonic_time();
	st->cb.on_closed(st->user, st, st->reason ? st->reason : "done");
}

static gboolean pp_tstream_report(gpointer data)
{
	struct pp_tstream *st = data;

	pp_source_fired(&st->idle);
	pp_tstream_report_closed(st);
	return G_SOURCE_REMOVE;
}

/* on_closed once both ends are closed, from the context. */
static void pp_tstream_check_closed(struct pp_tstream *st)
{
	if (st->ch || st->fd >= 0 || st->closed_reported || st->idle)
		return;
	st->idle = g_idle_source_new();
	g_source_set_callback(st->idle, pp_tstream_report, st, NULL);
	g_source_attach(st->idle, st->ctx);
}

void pp_tstream_end_now(struct pp_tstream *st, const char *reason)
{
	bool clean = st->read_eof && st->eof_received && st->wlen <= st->woff;

	if (st->closed_reported)
		return;
	if (st->ch)
		pp_sctp_channel_set_user(st->ch, NULL);
	st->ch = NULL;
	pp_source_clear(&st->linger);
	pp_tstream_sock_close(st, !clean);
	pp_source_clear(&st->idle);
	if (!st->reason && !clean)
		st->reason = reason;
	pp_tstream_report_closed(st);
}

static int pp_tstream_send_msg(struct pp_tstream *st, bool text, const void *data, size_t len);

/* The text pp_tstream_send_text_soon() held goes now. */
static void pp_tstream_soon_release(struct pp_tstream *st)
{
	char *json = st->soon;

	if (!json)
		return;
	st->soon = NULL; /* first: the send below would release it again */
	pp_source_clear(&st->soon_timer);
	pp_tstream_send_msg(st, true, json, strlen(json));
	free(json);
}

static gboolean pp_tstream_soon_due(gpointer data)
{
	struct pp_tstream *st = data;

	pp_source_fired(&st->soon_timer);
	pp_tstream_soon_release(st);
	return G_SOURCE_REMOVE;
}

/* batched: a normal end, whose reset nobody waits for (both TCP ends
 * are closed): it may leave with others' (pp_sctp_config.reset_batch_ms). */
static void pp_tstream_close_channel(struct pp_tstream *st, bool batched)
{
	pp_source_clear(&st->linger);
	pp_tstream_soon_release(st);
	if (st->ch && !st->chan_closing) {
		st->chan_closing = true;
		if (batched)
			pp_sctp_channel_close_batched(st->ch);
		else
			pp_sctp_channel_close(st->ch);
	}
}

static gboolean pp_tstream_linger_end(gpointer data)
{
	struct pp_tstream *st = data;

	pp_log(PP_LOG_WARN, st->log_peer, "stream %s: the peer did not close the ended stream "
	       "within %u ms; closing it", st->name, st->cfg.linger_ms);
	pp_tstream_close_channel(st, false); /* stops and frees this source */
	pp_tstream_check_closed(st);
	return G_SOURCE_REMOVE;
}

void pp_tstream_fail(struct pp_tstream *st, const char *reason)
{
	if (st->aborting)
		return;
	st->aborting = true;
	if (!st->reason)
		st->reason = reason;
	pp_log(PP_LOG_INFO, st->log_peer, "stream %s: aborted: %s", st->name, reason);
	pp_tstream_sock_close(st, true);
	pp_tstream_close_channel(st, false);
	pp_tstream_check_closed(st);
}

void pp_tstream_abort(struct pp_tstream *st, const char *reason)
{
	pp_tstream_fail(st, reason);
}

void pp_tstream_finish(struct pp_tstream *st, const char *reason)
{
	if (!st->reason)
		st->reason = reason;
	pp_tstream_sock_close(st, true);
	pp_tstream_close_channel(st, false);
	pp_tstream_check_closed(st);
}

/* Normal end: EOF both ways and every received byte written. The side
 * that accepted the channel (the gateway) closes it; its reset follows its
 * EOF, so the opener waits for it: closing too would cross the two resets
 * (two RE-CONFIG exchanges and their SACKs for one stream). */
void pp_tstream_maybe_done(struct pp_tstream *st)
{
	if (st->aborting || !st->read_eof || !st->eof_received || st->wlen > st->woff)
		return;
	pp_tstream_sock_close(st, false);
	if (st->cfg.opener && st->ch && !st->chan_closing) {
		if (!st->linger) {
			st->linger = pp_source_timeout(st->ctx, st->cfg.linger_ms,
			                               pp_tstream_linger_end, st);
		}
		return;
	}
	pp_tstream_close_channel(st, true);
	pp_tstream_check_closed(st);
}

size_t pp_tstream_high_mark(const struct pp_tstream *st)
{
	return pp_tstream_pool_share(st->cfg.pool, st->cfg.high_mark);
}

static int pp_tstream_send_msg(struct pp_tstream *st, bool text, const void *data, size_t len)
{
	size_t high;
	int rc;

	if (!st->ch || st->chan_closing)
		return PP_ERR_STATE;
	pp_tstream_soon_release(st);
	rc = pp_sctp_channel_send(st->ch, text, data, len);
	if (rc < 0) {
		pp_tstream_fail(st, rc == -ENOBUFS ? "channel queue full" : "channel send failed");
		return rc;
	}
	st->stats.wire_in += len;
	high = pp_tstream_high_mark(st);
	if (pp_sctp_channel_buffered_amount(st->ch) > high) {
		st->read_blocked = true;
		/* resumes at a quarter of the mark it stopped at */
		pp_sctp_channel_set_low_threshold(st->ch, MIN(st->cfg.low_mark, high / 4));
	}
	return 0;
}

int pp_tstream_send_data(struct pp_tstream *st, const uint8_t *data, size_t len)
{
	uint8_t msg[PP_FRAME_MSG_MAX];
	size_t n = 0;
	bool congested = st->ch && pp_sctp_channel_buffered_amount(st->ch) > st->cfg.low_mark;
	int rc = pp_frame_encode(st->enc, data, len, congested, msg, sizeof(msg), &n);

	if (rc < 0) {
		pp_tstream_fail(st, "compression failed");
		return rc;
	}
	return pp_tstream_send_msg(st, false, msg, n);
}

void pp_tstream_send_eof(struct pp_tstream *st)
{
	char *json = pp_ctrl_build_eof();

	if (json)
		pp_tstream_send_msg(st, true, json, strlen(json));
	free(json);
}

int pp_tstream_send_text(struct pp_tstream *st, const char *json)
{
	return pp_tstream_send_msg(st, true, json, strlen(json));
}

int pp_tstream_send_text_soon(struct pp_tstream *st, const char *json, unsigned delay_ms)
{
	if (!st->ch || st->chan_closing)
		return PP_ERR_STATE;
	pp_tstream_soon_release(st);
	st->soon = strdup(json);
	if (!st->soon)
		return pp_tstream_send_text(st, json);
	st->soon_timer = pp_source_timeout(st->ctx, delay_ms, pp_tstream_soon_due, st);
	return 0;
}

void pp_tstream_confirm(struct pp_tstream *st)
{
	st->confirmed = true;
	pp_tstream_sock_update(st);
}

static void pp_tstream_on_binary(struct pp_tstream *st, const uint8_t *data, size_t len)
{
	uint8_t out[PP_FRAME_DATA_MAX];
	size_t n = 0;
	const char *why = NULL;
	int rc;

	if (st->eof_received) {
		pp_tstream_fail(st, "data after EOF");
		return;
	}
	if (st->sock_closed)
		return; /* our side is gone (or never came); the reset is under way */
	rc = pp_frame_decode(st->dec, data, len, out, &n, &why);
	if (rc < 0) {
		pp_log(PP_LOG_WARN, st->log_peer, "stream %s: bad data message: %s", st->name,
		       why ? why : pp_strerror(rc));
		pp_tstream_fail(st, "protocol error");
		return;
	}
	if (pp_tstream_queue_write(st, out, n) < 0) {
		pp_tstream_fail(st, st->fd < 0 ? "too much data before CONNECTED"
		                               : "peer ignored flow control");
		return;
	}
	pp_tstream_sock_flush(st);
}

static void pp_tstream_on_textmsg(struct pp_tstream *st, const uint8_t *data, size_t len)
{
	struct pp_ctrl_msg m;
	const char *why = NULL;

	if (pp_ctrl_parse((const char *)data, len, &m, &why) < 0) {
		pp_log(PP_LOG_WARN, st->log_peer, "stream %s: bad text message: %s", st->name,
		       why ? why : "invalid");
		if (st->cb.on_text)
			st->cb.on_text(st->user, st, NULL);
		pp_tstream_fail(st, "protocol error");
		return;
	}
	if (m.type == PP_CTRL_EOF) {
		st->eof_received = true;
		pp_tstream_sock_flush(st); /* shuts the write side when empty */
	} else if (m.type != PP_CTRL_UNKNOWN && st->cb.on_text) {
		st->cb.on_text(st->user, st, &m);
	}
	pp_ctrl_msg_clear(&m);
}

void pp_tstream_on_message(struct pp_tstream *st, enum pp_sctp_kind kind,
                           const uint8_t *data, size_t len)
{
	if (st->aborting)
		return;
	st->stats.wire_out += len;
	if (kind == PP_SCTP_BINARY)
		pp_tstream_on_binary(st, data, len);
	else
		pp_tstream_on_textmsg(st, data, len);
}

void pp_tstream_on_low(struct pp_tstream *st)
{
	st->read_blocked = false;
	pp_tstream_sock_update(st);
}

/* The peer reset the stream (or the association ended). Unless EOF went
 * both ways (its EOF received, ours sent) this is an abort: a peer ends
 * normally only after our EOF, so a reset before it means the data we
 * were still sending are lost. After both EOFs, what is left is written
 * out first. */
void pp_tstream_on_channel_closed(struct pp_tstream *st)
{
	st->ch = NULL;
	pp_source_clear(&st->linger);
	if (!st->aborting && !st->chan_closing && (!st->eof_received || !st->read_eof)) {
		pp_tstream_fail(st, "reset by peer");
		return;
	}
	if (st->fd >= 0 && st->wlen > st->woff && !st->aborting) {
		/* Still draining to the socket: finish that, then close. */
		st->read_eof = true;
		pp_tstream_sock_flush(st);
		if (st->wlen > st->woff)
			return; /* maybe_done closes once written */
	}
	pp_tstream_sock_close(st, !st->eof_received || st->aborting);
	pp_tstream_check_closed(st);
}

void pp_tstream_get_stats(const struct pp_tstream *st, struct pp_tstream_stats *out)
{
	struct pp_frame_stats f;

	*out = st->stats;
	pp_frame_encoder_stats(st->enc, &f);
	memcpy(out->sent_as, f.data, sizeof(out->sent_as));
}

struct pp_sctp_channel *pp_tstream_channel(const struct pp_tstream *st)
{
	return st->ch;
}

size_t pp_tstream_write_pending(const struct pp_tstream *st)
{
	return st->wlen - st->woff;
}

const char *pp_tstream_name(const struct pp_tstream *st)
{
	return st->name;
}

void pp_tstream_set_user(struct pp_tstream *st, void *user)
{
	st->user = user;
}

void *pp_tstream_get_user(const struct pp_tstream *st)
{
	return st->user;
}

int pp_tstream_socket_fd(const struct pp_tstream *st)
{
	return st->fd;
}

void pp_tstream_set_data(struct pp_tstream *st, void *data)
{
	st->data = data;
}

void *pp_tstream_get_data(const struct pp_tstream *st)
{
	return st->data;
}
