/* SPDX-License-Identifier: Apache-2.0 */
/* Receiving: drain the usrsctp socket from the work source, route data to
 * channels (messages may come in pieces before MSG_EOR) and act on
 * notifications (association changes, stream resets). */
#include "sctp_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/dcep.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* COMM_LOST: the peer's ABORT (ECONNRESET) is an end, anything else
 * (retransmissions exhausted) a failure. */
static enum pp_sctp_state pp_sctp_lost_state(struct pp_sctp *s)
{
	int err = 0, rc;
	socklen_t len = sizeof(err);

	pp_sctp_lock();
	rc = usrsctp_getsockopt(s->sock, SOL_SOCKET, SO_ERROR, &err, &len);
	pp_sctp_unlock();
	pp_log(PP_LOG_DEBUG, s->log_peer, "sctp: association lost (%s)",
	       rc == 0 && err ? g_strerror(err) : "no error code");
	return rc == 0 && err == ECONNRESET ? PP_SCTP_CLOSED : PP_SCTP_FAILED;
}

static void pp_sctp_on_assoc_change(struct pp_sctp *s, const struct sctp_assoc_change *sac)
{
	switch (sac->sac_state) {
	case SCTP_COMM_UP:
		if (s->state != PP_SCTP_CONNECTING)
			break;
		s->state = PP_SCTP_CONNECTED;
		s->out_streams = sac->sac_outbound_streams;
		s->in_streams = sac->sac_inbound_streams;
		pp_log(PP_LOG_INFO, s->log_peer,
		       "sctp: connected (%u out, %u in streams; buffers %u KiB out, %u KiB in)",
		       s->out_streams, s->in_streams, s->cfg.send_buffer >> 10,
		       s->cfg.recv_buffer >> 10);
		pp_sctp_channels_up(s);
		if (!s->reported_up) {
			s->reported_up = true;
			PP_SCTP_CALL(s, on_state, PP_SCTP_CONNECTED);
		}
		break;
	case SCTP_RESTART:
		pp_log(PP_LOG_WARN, s->log_peer, "sctp: the peer restarted the association");
		s->pmtu.vtag_known = false; /* it chose a new tag */
		break;
	case SCTP_COMM_LOST:
		pp_sctp_end(s, s->state == PP_SCTP_CONNECTING ? PP_SCTP_FAILED : pp_sctp_lost_state(s));
		break;
	case SCTP_CANT_STR_ASSOC:
		pp_sctp_end(s, PP_SCTP_FAILED);
		break;
	case SCTP_SHUTDOWN_COMP:
		pp_sctp_end(s, PP_SCTP_CLOSED);
		break;
	default:
		break;
	}
}

static void pp_sctp_on_notification(struct pp_sctp *s, const uint8_t *buf, size_t len)
{
	const union sctp_notification *n = (const void *)buf;

	if (len < sizeof(n->sn_header) || n->sn_header.sn_length != len)
		return;
	switch (n->sn_header.sn_type) {
	case SCTP_ASSOC_CHANGE:
		if (len >= sizeof(n->sn_assoc_change))
			pp_sctp_on_assoc_change(s, &n->sn_assoc_change);
		break;
	case SCTP_STREAM_RESET_EVENT: {
		const struct sctp_stream_reset_event *e = &n->sn_strreset_event;
		if (len < sizeof(*e))
			break;
		pp_sctp_channel_on_reset(s, e->strreset_flags, e->strreset_stream_list,
		                         (len - sizeof(*e)) / sizeof(uint16_t));
		break;
	}
	case SCTP_SHUTDOWN_EVENT:
		/* The peer closes: it takes no new data, usrsctp finishes. */
		if (s->state == PP_SCTP_CONNECTED)
			s->state = PP_SCTP_CLOSING;
		s->shutdown_sent = true;
		break;
	case SCTP_SENDER_DRY_EVENT:
	default:
		break; /* the flush after the receive loop sends what waits */
	}
}

static void pp_sctp_notif_piece(struct pp_sctp *s, const uint8_t *p, size_t n, bool eor)
{
	if (eor && s->notif.len == 0) {
		pp_sctp_on_notification(s, p, n);
		return;
	}
	if (pp_buf_append(&s->notif, p, n) < 0) {
		pp_log(PP_LOG_WARN, s->log_peer, "sctp: oversized notification dropped");
		pp_buf_reset(&s->notif);
		return;
	}
	if (eor) {
		pp_sctp_on_notification(s, s->notif.data, s->notif.len);
		pp_buf_reset(&s->notif);
	}
}

static void pp_sctp_channel_deliver(struct pp_sctp_channel *ch, uint32_t ppid,
                                    const uint8_t *data, size_t len)
{
	struct pp_sctp *s = ch->s;
	enum pp_sctp_kind kind;

	switch (ppid) {
	case PP_PPID_DCEP:
		pp_sctp_channel_on_dcep(s, ch->id, data, len);
		return;
	case PP_PPID_STRING_EMPTY:
		len = 0;
		/* fall through */
	case PP_PPID_STRING:
		kind = PP_SCTP_TEXT;
		break;
	case PP_PPID_BINARY_EMPTY:
		len = 0;
		/* fall through */
	case PP_PPID_BINARY:
		kind = PP_SCTP_BINARY;
		break;
	default: /* including the deprecated partial PPIDs 52 and 54 */
		pp_log(PP_LOG_DEBUG, s->log_peer, "sctp: PPID %u on %u dropped", ppid, ch->id);
		return;
	}
	if (ch->state == PP_SCTP_CHANNEL_OPENING)
		pp_sctp_channel_opened(ch); /* data implies the ACK got through */
	if (ch->state == PP_SCTP_CHANNEL_CLOSED || s->doomed)
		return;
	s->stats.messages_received++;
	s->stats.bytes_received += len;
	ch->refs++;
	PP_SCTP_CALL(s, on_message, ch, kind, len ? data : (const uint8_t *)"", len);
	pp_sctp_channel_unref(ch);
}

static void pp_sctp_channel_too_big(struct pp_sctp_channel *ch, bool eor)
{
	pp_log(PP_LOG_WARN, ch->s->log_peer,
	       "sctp: message over %zu bytes on channel %u '%s': closing it",
	       ch->s->cfg.max_message_size, ch->id, ch->label);
	free(pp_buf_steal(&ch->rx, NULL));
	ch->rx_discard = !eor;
	pp_sctp_channel_close(ch);
}

void pp_sctp_channel_on_data(struct pp_sctp_channel *ch, uint32_t ppid,
                             const uint8_t *data, size_t len, bool eor)
{
	if (ch->state == PP_SCTP_CHANNEL_CLOSED)
		return;
	if (ch->rx_discard) {
		ch->rx_discard = !eor;
		return;
	}
	if (eor && ch->rx.len == 0) {
		/* Whole message: straight from the receive buffer, no copy. */
		if (len > ch->s->cfg.max_message_size)
			pp_sctp_channel_too_big(ch, eor);
		else
			pp_sctp_channel_deliver(ch, ppid, data, len);
		return;
	}
	if (ch->rx.len == 0)
		ch->rx_ppid = ppid;
	if (pp_buf_append(&ch->rx, data, len) < 0) {
		pp_sctp_channel_too_big(ch, eor);
		return;
	}
	if (!eor)
		return;
	ch->refs++;
	pp_sctp_channel_deliver(ch, ch->rx_ppid, ch->rx.data, ch->rx.len);
	free(pp_buf_steal(&ch->rx, NULL));
	pp_sctp_channel_unref(ch);
}

static void pp_sctp_data_piece(struct pp_sctp *s, const struct sctp_rcvinfo *ri,
                               const uint8_t *p, size_t n, bool eor)
{
	uint32_t ppid = ntohl(ri->rcv_ppid);
	struct pp_sctp_channel *ch = pp_sctp_channel_find(s, ri->rcv_sid);

	if (ch) {
		pp_sctp_channel_on_data(ch, ppid, p, n, eor);
		return;
	}
	/* No channel yet: only a whole DCEP OPEN makes sense. */
	if (ppid == PP_PPID_DCEP && eor)
		pp_sctp_channel_on_dcep(s, ri->rcv_sid, p, n);
	else
		pp_debug("sctp: %zu bytes on stream %u without a channel dropped", n, ri->rcv_sid);
}

void pp_sctp_recv_all(struct pp_sctp *s)
{
	for (int i = 0; i < PP_SCTP_RECV_BUDGET; i++) {
		struct sctp_rcvinfo ri;
		socklen_t rilen = sizeof(ri), fromlen = 0;
		unsigned int infotype = 0;
		int flags = 0, err = 0;
		ssize_t n;

		if (s->doomed || !s->sock || s->rx_paused)
			return;
		memset(&ri, 0, sizeof(ri));
		pp_sctp_lock();
		n = usrsctp_recvv(s->sock, s->rbuf, s->rbuf_len, NULL, &fromlen, &ri, &rilen,
		                  &infotype, &flags);
		err = errno;
		pp_sctp_unlock();
		if (n < 0) {
			if (err != EAGAIN && err != EWOULDBLOCK && err != ENOTCONN && err != ECONNRESET &&
			    err != ECONNABORTED && err != ETIMEDOUT) /* ends come as notifications */
				pp_log(PP_LOG_WARN, s->log_peer, "sctp: recv: %s", g_strerror(err));
			return;
		}
		if (n == 0 && !(flags & (MSG_EOR | MSG_NOTIFICATION)))
			return; /* end of stream: the notifications tell why */
		if (flags & MSG_NOTIFICATION)
			pp_sctp_notif_piece(s, s->rbuf, (size_t)n, flags & MSG_EOR);
		else if (infotype == SCTP_RECVV_RCVINFO)
			pp_sctp_data_piece(s, &ri, s->rbuf, (size_t)n, flags & MSG_EOR);
	}
	pp_sctp_wake(s); /* budget spent: yield to other sources, come back */
}
