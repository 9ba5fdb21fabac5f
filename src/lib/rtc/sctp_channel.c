/* SPDX-License-Identifier: Apache-2.0 */
/* Data channels: DCEP open/ack (RFC 8832), stream ids by DTLS role,
 * message reassembly and delivery, close by stream reset (RFC 8831 §6.7):
 * a channel is closed, and its id free again, only once both directions
 * of its stream are reset. */
#include "sctp_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/dcep.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PP_SCTP_MAX_ID 65534 /* 65535 is reserved (RFC 8831 §6.5) */

struct pp_sctp_channel *pp_sctp_channel_find(struct pp_sctp *s, uint16_t id)
{
	return s->channels ? g_hash_table_lookup(s->channels, GUINT_TO_POINTER(id)) : NULL;
}

void pp_sctp_channel_unref(struct pp_sctp_channel *ch)
{
	if (--ch->refs > 0)
		return;
	pp_sctp_queue_clear(ch);
	free(pp_buf_steal(&ch->rx, NULL));
	g_free(ch->label);
	g_free(ch->protocol);
	g_free(ch);
}

static struct pp_sctp_channel *pp_sctp_channel_create(struct pp_sctp *s, uint16_t id,
                                                      const char *label, const char *protocol,
                                                      const struct pp_sctp_channel_options *opt,
                                                      enum pp_sctp_channel_state st)
{
	struct pp_sctp_channel *ch = g_new0(struct pp_sctp_channel, 1);

	ch->s = s;
	ch->refs = 1; /* the table's */
	ch->id = id;
	ch->state = st;
	ch->opt = *opt;
	ch->label = g_strdup(label);
	ch->protocol = g_strdup(protocol);
	ch->low_threshold = s->cfg.buffered_amount_low_threshold;
	g_queue_init(&ch->queue);
	pp_buf_init(&ch->rx, s->cfg.max_message_size);
	g_hash_table_insert(s->channels, GUINT_TO_POINTER(id), ch);
	return ch;
}

/* No DCEP ACK is owed on ch any more; true when one was. */
static bool pp_sctp_channel_ack_settle(struct pp_sctp_channel *ch)
{
	if (!ch->ack_owed)
		return false;
	ch->ack_owed = false;
	ch->s->acks_owed--;
	return true;
}

/* The DCEP ACK owed for the peer's OPEN (RFC 8832) goes now, ahead of
 * anything else we send on the stream. */
static void pp_sctp_channel_ack_now(struct pp_sctp_channel *ch)
{
	uint8_t ack[1];

	if (!pp_sctp_channel_ack_settle(ch))
		return;
	pp_dcep_encode_ack(ack, sizeof(ack));
	if (pp_sctp_queue_msg(ch, PP_PPID_DCEP, ack, sizeof(ack), false) < 0)
		pp_log(PP_LOG_WARN, ch->s->log_peer, "sctp: cannot send the DCEP ACK on %u", ch->id);
}

/* Closed for good: drops what is queued, frees the id, tells the user
 * when notify. ch may be freed on return. */
void pp_sctp_channel_finish(struct pp_sctp_channel *ch, bool notify)
{
	struct pp_sctp *s = ch->s;

	if (ch->state == PP_SCTP_CHANNEL_CLOSED)
		return;
	pp_sctp_channel_ack_settle(ch); /* the peer reset it first: no ACK any more */
	ch->state = PP_SCTP_CHANNEL_CLOSED;
	if (pp_sctp_channel_find(s, ch->id) == ch)
		g_hash_table_remove(s->channels, GUINT_TO_POINTER(ch->id));
	if (ch->in_sendq) {
		g_queue_remove(&s->sendq, ch);
		ch->in_sendq = false;
	}
	if (s->locked == ch)
		s->locked = NULL;
	pp_sctp_queue_clear(ch);
	if (notify) {
		pp_log(PP_LOG_DEBUG, s->log_peer, "sctp: channel %u '%s' closed", ch->id, ch->label);
		PP_SCTP_CALL(s, on_channel_closed, ch);
	}
	pp_sctp_channel_unref(ch);
}

static GPtrArray *pp_sctp_channel_list(struct pp_sctp *s)
{
	GPtrArray *all = g_ptr_array_new();
	GHashTableIter it;
	gpointer v;

	if (s->channels) {
		g_hash_table_iter_init(&it, s->channels);
		while (g_hash_table_iter_next(&it, NULL, &v))
			g_ptr_array_add(all, v);
	}
	return all;
}

/* The association ended (or is being freed): every channel is closed. */
void pp_sctp_channels_end(struct pp_sctp *s, bool notify)
{
	GPtrArray *all = pp_sctp_channel_list(s);

	for (guint i = 0; i < all->len; i++)
		pp_sctp_channel_finish(g_ptr_array_index(all, i), notify && !s->doomed);
	g_ptr_array_free(all, TRUE);
	s->locked = NULL;
}

/* COMM_UP: channels opened early on ids the peer cannot take are closed. */
void pp_sctp_channels_up(struct pp_sctp *s)
{
	GPtrArray *all = pp_sctp_channel_list(s);

	for (guint i = 0; i < all->len; i++) {
		struct pp_sctp_channel *ch = g_ptr_array_index(all, i);
		if (ch->id >= s->out_streams) {
			pp_log(PP_LOG_WARN, s->log_peer, "sctp: channel %u over the %u streams negotiated",
			       ch->id, s->out_streams);
			pp_sctp_channel_finish(ch, true);
		}
	}
	g_ptr_array_free(all, TRUE);
}

void pp_sctp_channels_ack_due(struct pp_sctp *s)
{
	gint64 now = g_get_monotonic_time(), next = -1;
	GHashTableIter it;
	gpointer v;

	if (!s->acks_owed || !s->channels)
		return;
	/* The work runs for every send and timer: the table is walked only
	 * once the earliest ACK is due (a wakeup may come a little early). */
	if (now < s->acks_due) {
		pp_sctp_wake_at(s, s->acks_due);
		return;
	}
	/* Sending an ACK calls no callback: the table stays as it is. */
	g_hash_table_iter_init(&it, s->channels);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct pp_sctp_channel *ch = v;
		if (ch->ack_owed && ch->ack_due <= now)
			pp_sctp_channel_ack_now(ch);
		else if (ch->ack_owed && (next < 0 || ch->ack_due < next))
			next = ch->ack_due;
	}
	if (next >= 0) {
		s->acks_due = next;
		pp_sctp_wake_at(s, next);
	}
}

static int pp_sctp_pick_id(struct pp_sctp *s, uint16_t *out)
{
	unsigned limit = s->out_streams ? MIN(s->out_streams, s->cfg.max_streams) : s->cfg.max_streams;

	for (unsigned id = (unsigned)s->cfg.role; id < limit && id <= PP_SCTP_MAX_ID; id += 2)
		if (!pp_sctp_channel_find(s, (uint16_t)id)) {
			*out = (uint16_t)id;
			return 0;
		}
	return -ENOSR;
}

static int pp_sctp_dcep_type(const struct pp_sctp_channel_options *opt, enum pp_dcep_channel *t)
{
	switch (opt->reliability) {
	case PP_SCTP_RELIABLE:
		*t = PP_DCEP_RELIABLE;
		return 0;
	case PP_SCTP_MAX_RETRANSMITS:
		*t = PP_DCEP_PARTIAL_REXMIT;
		return 0;
	case PP_SCTP_MAX_LIFETIME:
		*t = PP_DCEP_PARTIAL_TIMED;
		return 0;
	default:
		return PP_ERR_INVALID;
	}
}

int pp_sctp_channel_open(struct pp_sctp *s, const char *label, const char *protocol,
                         const struct pp_sctp_channel_options *opt,
                         struct pp_sctp_channel **out)
{
	static const struct pp_sctp_channel_options reliable;
	struct pp_dcep_open o;
	uint8_t msg[PP_DCEP_OPEN_MAX];
	enum pp_dcep_channel type;
	struct pp_sctp_channel *ch;
	uint16_t id;
	int rc, n;

	*out = NULL;
	if (s->state != PP_SCTP_NEW && s->state != PP_SCTP_CONNECTING &&
	    s->state != PP_SCTP_CONNECTED)
		return PP_ERR_STATE;
	opt = opt ? opt : &reliable;
	rc = pp_sctp_dcep_type(opt, &type);
	if (rc < 0)
		return rc;
	rc = pp_dcep_open_init(&o, label ? label : "", protocol ? protocol : "", type,
	                       opt->unordered, opt->value);
	if (rc < 0)
		return rc;
	if (opt->priority)
		o.priority = opt->priority;
	n = pp_dcep_encode_open(&o, msg, sizeof(msg));
	if (n < 0)
		return n;
	rc = pp_sctp_pick_id(s, &id);
	if (rc < 0)
		return rc;
	ch = pp_sctp_channel_create(s, id, o.label, o.protocol, opt, PP_SCTP_CHANNEL_OPENING);
	rc = pp_sctp_queue_msg(ch, PP_PPID_DCEP, msg, (size_t)n, false);
	if (rc < 0) {
		pp_sctp_channel_finish(ch, false);
		return rc;
	}
	pp_log(PP_LOG_DEBUG, s->log_peer, "sctp: opening channel %u '%s'", id, o.label);
	*out = ch;
	return 0;
}

int pp_sctp_channel_send(struct pp_sctp_channel *ch, bool is_text, const void *data, size_t len)
{
	static const uint8_t zero;
	struct pp_sctp *s = ch->s;
	uint32_t ppid;

	if ((ch->state != PP_SCTP_CHANNEL_OPEN && ch->state != PP_SCTP_CHANNEL_OPENING) ||
	    s->state == PP_SCTP_CLOSING || s->state == PP_SCTP_CLOSED || s->state == PP_SCTP_FAILED)
		return PP_ERR_STATE;
	if (len > s->cfg.max_message_size)
		return PP_ERR_TOO_BIG;
	if (len > 0 && !data)
		return PP_ERR_INVALID;
	if (ch->buffered + len > s->cfg.max_buffered_amount)
		return -ENOBUFS;
	pp_sctp_channel_ack_now(ch);
	if (len == 0) {
		/* RFC 8831 §6.6: an empty message is one byte with its own PPID. */
		ppid = is_text ? PP_PPID_STRING_EMPTY : PP_PPID_BINARY_EMPTY;
		return pp_sctp_queue_msg(ch, ppid, &zero, 1, false);
	}
	ppid = is_text ? PP_PPID_STRING : PP_PPID_BINARY;
	return pp_sctp_queue_msg(ch, ppid, data, len, true);
}

static bool pp_sctp_channel_begin_close(struct pp_sctp_channel *ch)
{
	if (ch->state == PP_SCTP_CHANNEL_CLOSING || ch->state == PP_SCTP_CHANNEL_CLOSED)
		return false;
	pp_sctp_channel_ack_now(ch);
	ch->state = PP_SCTP_CHANNEL_CLOSING;
	ch->reset_wanted = true;
	return true;
}

int pp_sctp_channel_close(struct pp_sctp_channel *ch)
{
	/* A batched close of this channel cannot wait any more either. */
	if (pp_sctp_channel_begin_close(ch) || (ch->reset_batched && !ch->reset_sent)) {
		ch->s->resets_pending = true;
		pp_sctp_wake(ch->s);
	}
	return 0;
}

int pp_sctp_channel_close_batched(struct pp_sctp_channel *ch)
{
	struct pp_sctp *s = ch->s;

	if (!s->cfg.reset_batch_ms)
		return pp_sctp_channel_close(ch);
	if (!pp_sctp_channel_begin_close(ch))
		return 0;
	ch->reset_batched = true;
	if (s->resets_batched++ == 0)
		s->reset_batch_due = g_get_monotonic_time() + (gint64)s->cfg.reset_batch_ms * 1000;
	if (s->resets_batched >= PP_SCTP_RESET_BATCH_MAX) {
		s->resets_pending = true;
		pp_sctp_wake(s);
	} else {
		pp_sctp_wake_at(s, s->reset_batch_due);
	}
	return 0;
}

void pp_sctp_channel_opened(struct pp_sctp_channel *ch)
{
	ch->state = PP_SCTP_CHANNEL_OPEN;
	pp_log(PP_LOG_DEBUG, ch->s->log_peer, "sctp: channel %u '%s' open", ch->id, ch->label);
	ch->refs++;
	PP_SCTP_CALL(ch->s, on_channel_open, ch);
	pp_sctp_channel_unref(ch);
}

static void pp_sctp_channel_accept(struct pp_sctp *s, uint16_t id, const struct pp_dcep_open *o)
{
	struct pp_sctp_channel_options opt = {
		.unordered = o->unordered,
		.priority = o->priority,
		.value = o->reliability,
		.reliability = o->channel == PP_DCEP_PARTIAL_REXMIT ? PP_SCTP_MAX_RETRANSMITS :
		               o->channel == PP_DCEP_PARTIAL_TIMED ? PP_SCTP_MAX_LIFETIME :
		                                                     PP_SCTP_RELIABLE,
	};
	struct pp_sctp_channel *ch;

	if (s->state != PP_SCTP_CONNECTED || id > PP_SCTP_MAX_ID) {
		pp_log(PP_LOG_DEBUG, s->log_peer, "sctp: OPEN on stream %u ignored", id);
		return;
	}
	/* A channel is one stream id both ways (RFC 8832 §5): on one we
	 * cannot send on, the ACK could never go, and the id would poison
	 * the batched reset of every channel closing with it. */
	if (s->out_streams && id >= s->out_streams) {
		pp_log(PP_LOG_WARN, s->log_peer,
		       "sctp: OPEN on stream %u refused: we may only send on %u streams", id,
		       s->out_streams);
		return;
	}
	ch = pp_sctp_channel_create(s, id, o->label, o->protocol, &opt, PP_SCTP_CHANNEL_OPENING);
	ch->ack_owed = true;
	s->acks_owed++;
	if (s->cfg.dcep_ack_delay_ms) {
		/* A reply usually follows soon (the tunnel's CONNECTED once the
		 * service answers): the ACK shares its packet. */
		ch->ack_due = g_get_monotonic_time() + (gint64)s->cfg.dcep_ack_delay_ms * 1000;
		if (s->acks_owed == 1 || ch->ack_due < s->acks_due)
			s->acks_due = ch->ack_due;
		pp_sctp_wake_at(s, ch->ack_due);
	} else {
		pp_sctp_channel_ack_now(ch);
	}
	pp_sctp_channel_opened(ch);
}

/* An OPEN on the stream of a channel we are still closing: the peer has
 * reset its side and we asked to reset ours. The peer reuses an id only
 * once both directions are reset, and it resets its incoming one only for
 * our request and after every message we sent before it (RFC 6525 §5.2.2,
 * RFC 8831 §6.7): nothing of the old channel is owed any more but the
 * response to our request, which usrsctp may send after new data (a
 * response it had to defer). The old channel finishes now, and that
 * response, when it comes, is not taken for the new channel's. */
static bool pp_sctp_channel_reused(struct pp_sctp *s, struct pp_sctp_channel *ch)
{
	if (!ch->in_reset || !ch->reset_sent || ch->out_reset)
		return false;
	if (!s->stale_out)
		s->stale_out = g_hash_table_new(NULL, NULL);
	g_hash_table_add(s->stale_out, GUINT_TO_POINTER((guint)ch->id));
	pp_log(PP_LOG_DEBUG, s->log_peer, "sctp: stream %u reused by the peer before the response "
	       "to our reset; its channel is closed", ch->id);
	pp_sctp_channel_finish(ch, true);
	return true;
}

/* The outgoing-reset result for id belongs to a channel finished by
 * pp_sctp_channel_reused(): taken off the list. */
bool pp_sctp_stale_out_take(struct pp_sctp *s, uint16_t id)
{
	return s->stale_out && g_hash_table_remove(s->stale_out, GUINT_TO_POINTER((guint)id));
}

void pp_sctp_channel_on_dcep(struct pp_sctp *s, uint16_t id, const uint8_t *msg, size_t len)
{
	struct pp_dcep_open o;
	struct pp_sctp_channel *ch = pp_sctp_channel_find(s, id);
	int rc = pp_dcep_decode(msg, len, &o);

	if (rc == PP_DCEP_ACK) {
		if (ch && ch->state == PP_SCTP_CHANNEL_OPENING)
			pp_sctp_channel_opened(ch);
	} else if (rc == PP_DCEP_OPEN) {
		if (ch && pp_sctp_channel_reused(s, ch))
			ch = NULL;
		if (s->doomed)
			return;
		if (ch)
			pp_log(PP_LOG_WARN, s->log_peer, "sctp: OPEN on stream %u already in use", id);
		else
			pp_sctp_channel_accept(s, id, &o);
	} else {
		pp_log(PP_LOG_DEBUG, s->log_peer, "sctp: bad DCEP message on %u: %s", id,
		       pp_strerror(rc));
	}
}

uint16_t pp_sctp_channel_id(const struct pp_sctp_channel *ch)
{
	return ch->id;
}

const char *pp_sctp_channel_label(const struct pp_sctp_channel *ch)
{
	return ch->label;
}

const char *pp_sctp_channel_protocol(const struct pp_sctp_channel *ch)
{
	return ch->protocol;
}

void pp_sctp_channel_get_options(const struct pp_sctp_channel *ch,
                                 struct pp_sctp_channel_options *out)
{
	*out = ch->opt;
}

enum pp_sctp_channel_state pp_sctp_channel_get_state(const struct pp_sctp_channel *ch)
{
	return ch->state;
}

size_t pp_sctp_channel_buffered_amount(const struct pp_sctp_channel *ch)
{
	return ch->buffered;
}

void pp_sctp_channel_set_low_threshold(struct pp_sctp_channel *ch, size_t bytes)
{
	ch->low_threshold = bytes;
}

void pp_sctp_channel_set_user(struct pp_sctp_channel *ch, void *user)
{
	ch->user = user;
}

void *pp_sctp_channel_get_user(const struct pp_sctp_channel *ch)
{
	return ch->user;
}

struct pp_sctp *pp_sctp_channel_association(const struct pp_sctp_channel *ch)
{
	return ch->s;
}
