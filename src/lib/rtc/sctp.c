/* SPDX-License-Identifier: Apache-2.0 */
/* One SCTP association over the lower layer: create, connect, feed,
 * orderly close, and the work source that runs everything that may call
 * back into the user (receive, notifications, send queues), always outside
 * usrsctp's own call stack. */
#include "sctp_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/loop.h"
#include "peerpipe/source.h"

#include <errno.h>
#include <string.h>

struct pp_sctp_work_source {
	GSource base;
	struct pp_sctp *s;
};

static gboolean pp_sctp_work_prepare(GSource *src, gint *timeout)
{
	*timeout = -1;
	return ((struct pp_sctp_work_source *)src)->s->work_due;
}

static gboolean pp_sctp_work_check(GSource *src)
{
	return ((struct pp_sctp_work_source *)src)->s->work_due;
}

static gboolean pp_sctp_work_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
	pp_sctp_work(((struct pp_sctp_work_source *)src)->s);
	return G_SOURCE_CONTINUE;
}

/* Due by its ready time (set from other threads, or a deadline) or by
 * work_due (pp_sctp_wake on the owner thread, no eventfd write). */
static GSourceFuncs pp_sctp_work_funcs = {
	.prepare = pp_sctp_work_prepare,
	.check = pp_sctp_work_check,
	.dispatch = pp_sctp_work_dispatch,
};

/* Under a pp_loop, work_due is also seen by the loop's fast turns, which
 * skip the source's prepare(): the work runs before the flush hooks send
 * what it queued. */
static void pp_sctp_work_hook(void *user)
{
	struct pp_sctp *s = user;

	if (s->work_due && !s->in_work)
		pp_sctp_work(s);
}

static void pp_sctp_destroy(struct pp_sctp *s)
{
	struct pp_loop *loop;
	GBytes *b;

	pp_sctp_channels_end(s, false);
	pp_sctp_pmtu_stop(s);
	/* Detach first: the ABORT usrsctp_close() emits goes nowhere, so
	 * freeing never calls send_packet. */
	pp_sctp_glue_detach(s);
	pp_sctp_socket_close(s);
	if ((loop = pp_loop_of(s->ctx)))
		pp_loop_hook_remove(loop, pp_sctp_work_hook, s);
	pp_source_clear(&s->work);
	pp_source_clear(&s->deadline);
	while ((b = g_queue_pop_head(&s->early)))
		g_bytes_unref(b);
	while ((b = g_queue_pop_head(&s->xq)))
		g_bytes_unref(b);
	g_mutex_clear(&s->xlock);
	if (s->channels)
		g_hash_table_destroy(s->channels);
	if (s->stale_out)
		g_hash_table_destroy(s->stale_out);
	pp_buf_free(&s->notif);
	g_free(s->rbuf);
	g_free(s->held); /* a packet still waiting is lost, as on a wire */
	g_free(s->log_peer);
	g_main_context_unref(s->ctx);
	g_free(s);
}

struct pp_sctp *pp_sctp_new(GMainContext *ctx, const struct pp_sctp_config *cfg,
                            const struct pp_sctp_callbacks *cb, void *user)
{
	struct pp_sctp *s = NULL, *ret = NULL;
	struct pp_loop *loop;

	if (!cb || !cb->send_packet)
		goto out;
	s = g_new0(struct pp_sctp, 1);
	s->ctx = g_main_context_ref(ctx ? ctx : g_main_context_default());
	if (cfg)
		s->cfg = *cfg;
	pp_sctp_apply_defaults(&s->cfg);
	s->log_peer = g_strdup(s->cfg.log_peer);
	s->cfg.log_peer = s->log_peer;
	s->cb = *cb;
	s->user = user;
	g_mutex_init(&s->xlock);
	if (!pp_sctp_config_ok(&s->cfg)) {
		pp_log(PP_LOG_ERROR, s->log_peer, "sctp: invalid configuration");
		goto out;
	}
	s->channels = g_hash_table_new(NULL, NULL);
	s->rbuf_len = MAX(s->cfg.max_message_size, 16384);
	s->rbuf = g_malloc(s->rbuf_len);
	pp_buf_init(&s->notif, PP_SCTP_NOTIF_MAX);
	s->work = g_source_new(&pp_sctp_work_funcs, sizeof(struct pp_sctp_work_source));
	((struct pp_sctp_work_source *)s->work)->s = s;
	g_source_set_static_name(s->work, "pp-sctp-work");
	g_source_set_ready_time(s->work, -1);
	g_source_attach(s->work, s->ctx);
	if ((loop = pp_loop_of(s->ctx)))
		pp_loop_hook_add(loop, PP_LOOP_WORK, pp_sctp_work_hook, s);
	pp_sctp_glue_attach(s);
	if (pp_sctp_socket_open(s) < 0) {
		pp_log(PP_LOG_ERROR, s->log_peer, "sctp: cannot create the usrsctp socket");
		goto out;
	}
	ret = s;
	s = NULL; /* transferred */
out:
	if (s)
		pp_sctp_destroy(s);
	return ret;
}

void pp_sctp_free(struct pp_sctp *s)
{
	if (!s)
		return;
	if (s->in_work || pp_sctp_in_usrsctp()) {
		/* From a callback, or from send_packet inside usrsctp: nothing
		 * more reaches the user; the work source finishes the job. */
		s->doomed = true;
		pp_sctp_wake(s);
		return;
	}
	pp_sctp_destroy(s);
}

static void pp_sctp_input(struct pp_sctp *s, const uint8_t *pkt, size_t len)
{
	struct pp_sctp *outer = pp_sctp_feeding;

	s->stats.packets_received++;
	pp_sctp_lock();
	pp_sctp_feeding = s;
	pp_sctp_clock_wake(pkt, len);
	if (s->sock)
		usrsctp_conninput(s, pkt, len, 0);
	pp_sctp_feeding = outer;
	pp_sctp_unlock();
}

/* What the packet just fed made readable (data, notifications) is
 * delivered now, on the caller's stack, instead of from the work source
 * a turn of the loop later after an eventfd wakeup: a 64-byte request
 * reaches its socket in the dispatch that read its datagram. The rest
 * stays with the work source, woken without an eventfd (pp_sctp_wake on
 * the owner thread): queued sends, stream resets (issued together, once
 * per turn: per packet they would go one by one, each waiting for the
 * last), the shutdown, ends (CLOSED/FAILED) and a deferred free, so no
 * callback from here can end the layers below us. */
static void pp_sctp_work_inline(struct pp_sctp *s)
{
	if (s->in_work || s->doomed) {
		pp_sctp_wake(s);
		return;
	}
	s->in_work = true;
	if (s->sock && s->state != PP_SCTP_NEW && !s->end_reported)
		pp_sctp_recv_all(s);
	/* The peer reset a stream: usrsctp answered inside this input, and
	 * resetting our half now lets both leave in one RE-CONFIG chunk
	 * (sctp_bundle.c) rather than a loop turn later. */
	if (!s->doomed && s->resets_pending)
		pp_sctp_flush(s);
	s->in_work = false;
	if (s->doomed || s->end_pending || s->resets_pending || s->state == PP_SCTP_CLOSING ||
	    !g_queue_is_empty(&s->sendq))
		pp_sctp_wake(s);
}

int pp_sctp_connect(struct pp_sctp *s)
{
	struct sockaddr_conn remote;
	GBytes *b;
	int rc = 0;

	if (s->state != PP_SCTP_NEW)
		return PP_ERR_STATE;
	pp_sctp_conn_addr(s, s->cfg.remote_port, &remote);
	pp_sctp_lock();
	pp_sctp_clock_wake(NULL, 0); /* T1-init runs from now */
	if (usrsctp_connect(s->sock, (struct sockaddr *)&remote, sizeof(remote)) < 0 &&
	    errno != EINPROGRESS)
		rc = -errno;
	pp_sctp_unlock();
	if (rc < 0) {
		pp_log(PP_LOG_ERROR, s->log_peer, "sctp: connect: %s", g_strerror(-rc));
		pp_sctp_end(s, PP_SCTP_FAILED);
		return rc;
	}
	s->state = PP_SCTP_CONNECTING;
	while ((b = g_queue_pop_head(&s->early))) {
		gsize n;
		const uint8_t *p = g_bytes_get_data(b, &n);
		pp_sctp_input(s, p, n);
		g_bytes_unref(b);
	}
	if (s->work_now) {
		s->work_now = false;
		pp_sctp_wake(s);
	}
	return 0;
}

int pp_sctp_feed(struct pp_sctp *s, const uint8_t *pkt, size_t len)
{
	if (len < PP_SCTP_HEADER_LEN) {
		s->stats.bad_packets++;
		return PP_ERR_TRUNCATED;
	}
	if (!pp_sctp_crc32c_ok(pkt, len)) {
		s->stats.bad_packets++;
		pp_debug("sctp: dropped a packet with a bad CRC32c (%zu bytes)", len);
		return PP_ERR_INVALID;
	}
	if (pp_sctp_pmtu_input(s, pkt, len))
		return 0; /* the answer to a path MTU probe, nothing for usrsctp */
	switch (s->state) {
	case PP_SCTP_NEW:
		/* The peer's INIT can overtake our connect; an unconnected
		 * socket would answer it with an ABORT. */
		if (g_queue_get_length(&s->early) >= PP_SCTP_EARLY_MAX)
			return PP_ERR_STATE;
		g_queue_push_tail(&s->early, g_bytes_new(pkt, len));
		return 0;
	case PP_SCTP_CLOSED:
	case PP_SCTP_FAILED:
		return PP_ERR_STATE;
	default:
		pp_sctp_input(s, pkt, len);
		if (s->work_now) {
			s->work_now = false;
			/* Fed from inside another usrsctp call on this thread
			 * (an in-memory link: the other end's output feeds us):
			 * no user callbacks on that stack, the work source runs. */
			if (pp_sctp_in_usrsctp())
				pp_sctp_wake(s);
			else
				pp_sctp_work_inline(s);
		}
		return 0;
	}
}

void pp_sctp_pause_receive(struct pp_sctp *s, bool paused)
{
	if (s->rx_paused == paused)
		return;
	s->rx_paused = paused;
	if (!paused)
		pp_sctp_wake(s); /* what arrived meanwhile is waiting */
}

/* Lock not held. Records the end; the work source reports it. */
void pp_sctp_end(struct pp_sctp *s, enum pp_sctp_state st)
{
	if (s->state == PP_SCTP_CLOSED || s->state == PP_SCTP_FAILED)
		return;
	pp_log(st == PP_SCTP_FAILED ? PP_LOG_WARN : PP_LOG_INFO, s->log_peer,
	       "sctp: association %s", st == PP_SCTP_FAILED ? "failed" : "closed");
	s->state = st;
	s->end_pending = true;
	pp_sctp_wake(s);
}

/* Closing: SHUTDOWN once everything queued here went to usrsctp (which
 * sends it only after all data is acknowledged). */
void pp_sctp_maybe_shutdown(struct pp_sctp *s)
{
	if (s->state != PP_SCTP_CLOSING || s->shutdown_sent || !pp_sctp_all_sent(s))
		return;
	s->shutdown_sent = true;
	pp_sctp_lock();
	pp_sctp_clock_wake(NULL, 0);
	if (s->sock && usrsctp_shutdown(s->sock, SHUT_WR) < 0 && errno != ENOTCONN)
		pp_log(PP_LOG_WARN, s->log_peer, "sctp: shutdown: %s", g_strerror(errno));
	pp_sctp_unlock();
}

int pp_sctp_close(struct pp_sctp *s)
{
	switch (s->state) {
	case PP_SCTP_NEW:
		pp_sctp_end(s, PP_SCTP_CLOSED);
		return 0;
	case PP_SCTP_CONNECTING:
		/* Nothing to drain: drop the handshake (an ABORT may go out). */
		pp_sctp_socket_close(s);
		pp_sctp_end(s, PP_SCTP_CLOSED);
		return 0;
	case PP_SCTP_CONNECTED:
		s->state = PP_SCTP_CLOSING;
		pp_sctp_wake(s); /* flush, then SHUTDOWN */
		return 0;
	default:
		return 0;
	}
}

static void pp_sctp_drain_xq(struct pp_sctp *s)
{
	GQueue q = G_QUEUE_INIT;
	GBytes *b;

	g_mutex_lock(&s->xlock);
	q = s->xq;
	g_queue_init(&s->xq);
	g_mutex_unlock(&s->xlock);
	if (q.length)
		pp_sctp_flush_output(s); /* keep the order */
	while ((b = g_queue_pop_head(&q))) {
		gsize n;
		const uint8_t *p = g_bytes_get_data(b, &n);
		if (!s->doomed) {
			s->stats.packets_sent++;
			s->cb.send_packet(s->user, p, n);
		}
		g_bytes_unref(b);
	}
}

void pp_sctp_work(struct pp_sctp *s)
{
	if (s->doomed) {
		pp_sctp_destroy(s);
		return;
	}
	s->in_work = true;
	s->work_due = false;
	/* Consume the wakeup if it is due; a later deadline (one set from
	 * another thread) stays armed when pp_sctp_feed runs the work ahead
	 * of it. The owner's deadlines are a source of their own
	 * (pp_sctp_wake_at). */
	gint64 due = g_source_get_ready_time(s->work);
	if (due >= 0 && due <= g_get_monotonic_time())
		g_source_set_ready_time(s->work, -1);
	pp_sctp_drain_xq(s);
	if (s->sock && s->state != PP_SCTP_NEW && !s->end_reported)
		pp_sctp_recv_all(s);
	if (!s->doomed)
		pp_sctp_channels_ack_due(s);
	if (!s->doomed)
		pp_sctp_flush(s);
	if (!s->doomed && s->end_pending) {
		s->end_pending = false;
		s->end_reported = true;
		pp_sctp_channels_end(s, true);
		PP_SCTP_CALL(s, on_state, s->state);
	}
	s->in_work = false;
	if (s->doomed)
		pp_sctp_destroy(s);
}

enum pp_sctp_state pp_sctp_get_state(const struct pp_sctp *s)
{
	return s->state;
}

void pp_sctp_get_stats(const struct pp_sctp *s, struct pp_sctp_stats *out)
{
	*out = s->stats;
	out->path_packet = (uint32_t)pp_sctp_path_packet(s);
}

uint16_t pp_sctp_outbound_streams(const struct pp_sctp *s)
{
	return s->out_streams;
}
