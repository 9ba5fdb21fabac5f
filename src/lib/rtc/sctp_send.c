/* SPDX-License-Identifier: Apache-2.0 */
/* Sending: messages go straight to usrsctp when nothing waits before them,
 * else into the channel's bounded queue; the queues are flushed round
 * robin (one message per channel in turn) whenever usrsctp frees space.
 * With SCTP_EXPLICIT_EOR usrsctp may take part of a message: the rest must
 * follow on the same stream before anything else, so that channel stays at
 * the head ("locked") until its message is complete. Stream resets for
 * closing channels are issued only once their queue is empty, and usrsctp
 * itself holds a reset back until the stream's data is acknowledged, so a
 * close never discards what was sent before it. */
#include "sctp_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/dcep.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

/* Returns the bytes usrsctp took, or -errno. */
static ssize_t pp_sctp_sendv(struct pp_sctp_channel *ch, uint32_t ppid,
                             const uint8_t *data, size_t len)
{
	struct pp_sctp *s = ch->s;
	struct sctp_sendv_spa spa;
	ssize_t n;
	int err;

	memset(&spa, 0, sizeof(spa));
	spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
	spa.sendv_sndinfo.snd_sid = ch->id;
	spa.sendv_sndinfo.snd_ppid = htonl(ppid);
	spa.sendv_sndinfo.snd_flags = SCTP_EOR;
	if (ppid != PP_PPID_DCEP) {
		/* Ordered until the ACK (RFC 8832 §6); DCEP always reliable. */
		if (ch->opt.unordered && ch->state == PP_SCTP_CHANNEL_OPEN)
			spa.sendv_sndinfo.snd_flags |= SCTP_UNORDERED;
		if (ch->opt.reliability != PP_SCTP_RELIABLE) {
			spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
			spa.sendv_prinfo.pr_policy = ch->opt.reliability == PP_SCTP_MAX_RETRANSMITS ?
			                             SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
			spa.sendv_prinfo.pr_value = ch->opt.value;
		}
	}
	pp_sctp_lock();
	pp_sctp_clock_wake(NULL, 0);
	n = s->sock ? usrsctp_sendv(s->sock, data, len, NULL, 0, &spa, sizeof(spa),
	                            SCTP_SENDV_SPA, 0) : -1;
	err = s->sock ? errno : ENOTCONN;
	pp_sctp_unlock();
	if (n < 0)
		return err == EWOULDBLOCK ? -EAGAIN : -err;
	/* With explicit EOR a full buffer (or a stream reset in flight) can
	 * also show as 0 bytes taken. */
	return n == 0 && len > 0 ? -EAGAIN : n;
}

static void pp_sctp_count_sent(struct pp_sctp *s, const struct pp_sctp_msg *m)
{
	if (m->ppid == PP_PPID_DCEP)
		return;
	s->stats.messages_sent++;
	s->stats.bytes_sent += m->counts ? m->len : 0;
}

static void pp_sctp_sendq_add(struct pp_sctp *s, struct pp_sctp_channel *ch, bool head)
{
	if (ch->in_sendq && head) {
		g_queue_remove(&s->sendq, ch);
		ch->in_sendq = false;
	}
	if (ch->in_sendq)
		return;
	if (head)
		g_queue_push_head(&s->sendq, ch);
	else
		g_queue_push_tail(&s->sendq, ch);
	ch->in_sendq = true;
}

int pp_sctp_queue_msg(struct pp_sctp_channel *ch, uint32_t ppid, const void *data, size_t len,
                      bool counts)
{
	struct pp_sctp *s = ch->s;
	struct pp_sctp_msg *m;
	size_t off = 0;

	if (s->state == PP_SCTP_CONNECTED && g_queue_is_empty(&ch->queue) && !s->locked) {
		ssize_t n = pp_sctp_sendv(ch, ppid, data, len);
		struct pp_sctp_msg whole = { .ppid = ppid, .len = len, .counts = counts };
		if (n == (ssize_t)len) {
			pp_sctp_count_sent(s, &whole);
			return 0;
		}
		if (n >= 0)
			off = (size_t)n;
		else if (n != -EAGAIN)
			return (int)n;
	}
	m = g_malloc(sizeof(*m) + len);
	m->ppid = ppid;
	m->len = len;
	m->off = off;
	m->counts = counts;
	memcpy(m->data, data, len);
	g_queue_push_tail(&ch->queue, m);
	if (counts)
		ch->buffered += len - off;
	if (off > 0)
		s->locked = ch;
	pp_sctp_sendq_add(s, ch, off > 0);
	pp_sctp_wake(s);
	return 0;
}

void pp_sctp_queue_clear(struct pp_sctp_channel *ch)
{
	struct pp_sctp_msg *m;

	while ((m = g_queue_pop_head(&ch->queue)))
		g_free(m);
	ch->buffered = 0;
}

bool pp_sctp_all_sent(const struct pp_sctp *s)
{
	return s->sendq.length == 0 && !s->locked;
}

static void pp_sctp_note_low(struct pp_sctp_channel *ch, size_t before, GPtrArray *low)
{
	if (before > ch->low_threshold && ch->buffered <= ch->low_threshold && !ch->low_pending) {
		ch->low_pending = true;
		ch->refs++;
		g_ptr_array_add(low, ch);
	}
}

/* Sends the head message of the head channel; false when usrsctp is full. */
static bool pp_sctp_flush_one(struct pp_sctp *s, struct pp_sctp_channel *ch, GPtrArray *low)
{
	struct pp_sctp_msg *m = g_queue_peek_head(&ch->queue);
	size_t before = ch->buffered;
	ssize_t n;

	if (!m) {
		g_queue_pop_head(&s->sendq);
		ch->in_sendq = false;
		return true;
	}
	n = pp_sctp_sendv(ch, m->ppid, m->data + m->off, m->len - m->off);
	if (n == -EAGAIN)
		return false;
	if (n < 0) {
		pp_log(PP_LOG_WARN, s->log_peer, "sctp: send on %u: %s; message dropped", ch->id,
		       g_strerror((int)-n));
		m->ppid = PP_PPID_DCEP; /* not counted as sent */
		n = (ssize_t)(m->len - m->off);
	}
	m->off += (size_t)n;
	if (m->counts)
		ch->buffered -= (size_t)n;
	pp_sctp_note_low(ch, before, low);
	if (m->off < m->len) {
		s->locked = ch; /* the rest of this message goes next */
		return true;
	}
	s->locked = NULL;
	g_queue_pop_head(&ch->queue);
	pp_sctp_count_sent(s, m);
	g_free(m);
	g_queue_pop_head(&s->sendq);
	ch->in_sendq = false;
	if (!g_queue_is_empty(&ch->queue))
		pp_sctp_sendq_add(s, ch, false);
	return true;
}

static void pp_sctp_reset_later(struct pp_sctp *s, gint64 now)
{
	s->reset_retry_at = now + PP_SCTP_RESET_RETRY_US;
	pp_sctp_wake_at(s, s->reset_retry_at);
}

/* Batched closes (pp_sctp_channel_close_batched) wait for their due time,
 * a full batch, the association's close or a close that cannot wait. */
static void pp_sctp_batch_due(struct pp_sctp *s)
{
	if (!s->resets_batched || s->resets_pending)
		return;
	if (s->state == PP_SCTP_CONNECTED && g_get_monotonic_time() < s->reset_batch_due)
		pp_sctp_wake_at(s, s->reset_batch_due); /* the work may have run early */
	else
		s->resets_pending = true;
}

/* One RESET_STREAMS request for every closing channel with nothing queued. */
static void pp_sctp_issue_resets(struct pp_sctp *s)
{
	GHashTableIter it;
	gpointer v;
	GArray *ids;
	struct sctp_reset_streams *srs;
	size_t len;
	gint64 now;
	bool waiting = false;
	int rc, err;

	pp_sctp_batch_due(s);
	if (!s->resets_pending || !s->sock ||
	    (s->state != PP_SCTP_CONNECTED && s->state != PP_SCTP_CLOSING))
		return;
	now = g_get_monotonic_time();
	if (now < s->reset_retry_at) {
		pp_sctp_reset_later(s, s->reset_retry_at - PP_SCTP_RESET_RETRY_US);
		return;
	}
	ids = g_array_new(FALSE, FALSE, sizeof(uint16_t));
	g_hash_table_iter_init(&it, s->channels);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct pp_sctp_channel *ch = v;
		if (!ch->reset_wanted || ch->reset_sent)
			continue;
		if (!g_queue_is_empty(&ch->queue) || s->locked == ch)
			waiting = true; /* after its queue drains */
		else
			g_array_append_val(ids, ch->id);
	}
	s->resets_pending = waiting;
	if (ids->len == 0)
		goto out;
	len = sizeof(*srs) + ids->len * sizeof(uint16_t);
	srs = g_malloc0(len);
	srs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
	srs->srs_number_streams = (uint16_t)ids->len;
	memcpy(srs->srs_stream_list, ids->data, ids->len * sizeof(uint16_t));
	pp_sctp_lock();
	pp_sctp_clock_wake(NULL, 0);
	rc = usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, srs, (socklen_t)len);
	err = errno;
	pp_sctp_unlock();
	g_free(srs);
	if (rc < 0 && (err == EALREADY || err == EBUSY || err == EAGAIN)) {
		s->resets_pending = true; /* one request at a time: retry */
		pp_sctp_reset_later(s, now);
		goto out;
	}
	if (rc < 0)
		pp_log(PP_LOG_WARN, s->log_peer, "sctp: stream reset: %s", g_strerror(err));
	for (guint i = 0; i < ids->len; i++) {
		struct pp_sctp_channel *ch = pp_sctp_channel_find(s, g_array_index(ids, uint16_t, i));
		ch->reset_sent = true;
		if (rc < 0) { /* the peer cannot reset: close our side locally */
			ch->out_reset = ch->in_reset = true;
			pp_sctp_channel_finish(ch, true);
		}
	}
out:
	if (!s->resets_pending) /* every batched one went (or finished) */
		s->resets_batched = 0;
	g_array_free(ids, TRUE);
}

/* A channel on a stream that still waits for the response to a reset of
 * ours (the peer reused the id early: pp_sctp_channel_reused). usrsctp
 * refuses that stream with EAGAIN while the association has room, so its
 * refusal says nothing about the channels behind it. */
static bool pp_sctp_stream_held(const struct pp_sctp *s, const struct pp_sctp_channel *ch)
{
	return s->locked != ch && s->stale_out &&
	       g_hash_table_contains(s->stale_out, GUINT_TO_POINTER((guint)ch->id));
}

/* Round robin over the waiting channels until usrsctp is full. A held
 * channel steps aside for the rest and keeps its place at the head; the
 * response that frees its stream wakes the flush. */
static void pp_sctp_flush_queues(struct pp_sctp *s, GPtrArray *low)
{
	GQueue held = G_QUEUE_INIT;
	struct pp_sctp_channel *ch;

	while ((ch = g_queue_peek_head(&s->sendq))) {
		if (pp_sctp_flush_one(s, ch, low))
			continue;
		if (!pp_sctp_stream_held(s, ch))
			break;
		g_queue_push_tail(&held, g_queue_pop_head(&s->sendq));
		s->stats.sends_held++;
	}
	/* usrsctp wakes us when it has room; this is only insurance
	 * against a wakeup it never gives (or a response that never comes). */
	if (ch || held.length > 0)
		pp_sctp_wake_at(s, g_get_monotonic_time() + PP_SCTP_FLUSH_RETRY_US);
	while ((ch = g_queue_pop_tail(&held)))
		g_queue_push_head(&s->sendq, ch);
	/* ...but never ahead of a message usrsctp has part of: with explicit
	 * EOR the association is locked on that stream until the rest is in,
	 * and a send on another stream would fail as an error, not EAGAIN
	 * (flush_one then drops that message) */
	if (s->locked && s->locked->in_sendq && g_queue_peek_head(&s->sendq) != s->locked) {
		g_queue_remove(&s->sendq, s->locked);
		g_queue_push_head(&s->sendq, s->locked);
	}
}

void pp_sctp_flush(struct pp_sctp *s)
{
	GPtrArray *low = g_ptr_array_new();
	struct pp_sctp_channel *ch;

	if (s->sock && (s->state == PP_SCTP_CONNECTED || s->state == PP_SCTP_CLOSING))
		pp_sctp_flush_queues(s, low);
	pp_sctp_issue_resets(s);
	pp_sctp_maybe_shutdown(s);
	for (guint i = 0; i < low->len; i++) {
		ch = g_ptr_array_index(low, i);
		if (ch->low_pending) {
			ch->low_pending = false;
			if (ch->state == PP_SCTP_CHANNEL_OPEN || ch->state == PP_SCTP_CHANNEL_OPENING)
				PP_SCTP_CALL(s, on_buffered_amount_low, ch);
		}
		pp_sctp_channel_unref(ch);
	}
	g_ptr_array_free(low, TRUE);
}

static void pp_sctp_reset_one(struct pp_sctp *s, struct pp_sctp_channel *ch, uint16_t flags)
{
	if (flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) {
		if ((flags & SCTP_STREAM_RESET_OUTGOING_SSN) && ch->reset_sent && !ch->out_reset) {
			ch->reset_sent = false; /* try again a little later */
			s->resets_pending = true;
			pp_sctp_reset_later(s, g_get_monotonic_time());
		}
		return;
	}
	if (flags & SCTP_STREAM_RESET_OUTGOING_SSN)
		ch->out_reset = true;
	if (flags & SCTP_STREAM_RESET_INCOMING_SSN) {
		ch->in_reset = true;
		free(pp_buf_steal(&ch->rx, NULL));
		if (!ch->reset_wanted) { /* the peer closed: close our side too */
			ch->state = PP_SCTP_CHANNEL_CLOSING;
			ch->reset_wanted = true;
			s->resets_pending = true;
		} else if (ch->reset_batched && !ch->reset_sent) {
			s->resets_pending = true; /* the peer waits for it: no batching */
		}
	}
	if (ch->out_reset && ch->in_reset)
		pp_sctp_channel_finish(ch, true);
}

void pp_sctp_channel_on_reset(struct pp_sctp *s, uint16_t flags, const uint16_t *ids, size_t n)
{
	GArray *all = g_array_new(FALSE, FALSE, sizeof(uint16_t));
	GHashTableIter it;
	gpointer v;

	if (n > 0) {
		g_array_append_vals(all, ids, (guint)n);
	} else { /* no list: every stream */
		g_hash_table_iter_init(&it, s->channels);
		while (g_hash_table_iter_next(&it, NULL, &v))
			g_array_append_val(all, ((struct pp_sctp_channel *)v)->id);
	}
	pp_log(PP_LOG_DEBUG, s->log_peer, "sctp: stream reset event flags 0x%x, %u streams",
	       flags, all->len);
	for (guint i = 0; i < all->len && !s->doomed; i++) {
		uint16_t id = g_array_index(all, uint16_t, i), f = flags;
		struct pp_sctp_channel *ch;

		if ((f & SCTP_STREAM_RESET_OUTGOING_SSN) && pp_sctp_stale_out_take(s, id)) {
			/* the result of a finished channel's request; the
			 * stream takes the new channel's messages again */
			pp_sctp_wake(s);
			if (f & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED))
				continue;
			f &= (uint16_t)~SCTP_STREAM_RESET_OUTGOING_SSN;
		}
		ch = pp_sctp_channel_find(s, id);
		if (ch && f)
			pp_sctp_reset_one(s, ch, f);
	}
	g_array_free(all, TRUE);
}
