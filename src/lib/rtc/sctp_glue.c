/* SPDX-License-Identifier: Apache-2.0 */
/* The process-wide usrsctp instance: init/finish refcounted by the live
 * associations, one big lock, the timer, the output and upcall hooks.
 *
 * usrsctp runs without threads (usrsctp_init_nothreads): it only executes
 * inside calls we make, all of them under one recursive lock, so its
 * internal lock orders (the conninput/timer deadlocks of the threaded mode)
 * never come into play, even when associations live on contexts run by
 * different threads. Its clock is a GLib timeout on the context of one
 * live association; the elapsed time is measured, so a late tick is not
 * lost. usrsctp has no "next deadline" query in 0.9.5. The clock ticks
 * every 10 ms, well below its smallest timer (our 20 ms delayed SACK, 1 s
 * RTO by default), while packets go in or out; after 1 s in which no
 * association sent or received one it ticks every 250 ms, so an idle
 * tunnel (a laptop's client, say) wakes 4 times a second, not 100. Timers
 * still running then (heartbeat, the free of a closed socket, the
 * retransmission of a peer that went silent) fire at most 250 ms late;
 * the first packet in or out puts the 10 ms clock back at once, and
 * before usrsctp is called with it (fed a packet, asked to send, reset or
 * shut down) its time is brought up to now, so the timers that call arms
 * (delayed SACK, T3-rtx) run from the right time.
 * Packets of heartbeats alone (usrsctp's, and our path MTU probes, every
 * 10 s each) arm nothing short and leave the clock as it is.
 *
 * The output hook writes the CRC32c (usrsctp's own is offloaded), then hands
 * the packet to the association's send_packet when the current thread owns
 * the association's context, or queues a copy for that context otherwise
 * (timers of one association can fire from another context's tick, and
 * usrsctp 0.9.5 still starts its "SCTP iterator" thread in the no-threads
 * mode; ASCONF is off so it has nothing to do with our associations). The
 * upcall only wakes the association's work source. Both check that the
 * address is still a live association: usrsctp can emit packets for a
 * socket after usrsctp_close() (usrsctp issue #405). */
#include "sctp_priv.h"

#include "be.h"

#include "peerpipe/log.h"
#include "peerpipe/loop.h"
#include "peerpipe/source.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PP_SCTP_TICK_MS 10
#define PP_SCTP_IDLE_TICK_MS 250
#define PP_SCTP_QUIET_TICKS 100 /* fast ticks without a packet: slow down */
#define PP_SCTP_FINISH_TICKS 3000 /* give up finishing after ~30 s */

static GRecMutex pp_sctp_big; /* static storage: no init needed */
static _Thread_local unsigned pp_sctp_depth; /* lock depth of this thread */
_Thread_local struct pp_sctp *pp_sctp_feeding; /* in usrsctp_conninput() for it */
/* Guards the live set. A leaf lock: usrsctp may call the output hook from
 * its own iterator thread (0.9.5 starts one even without threads) while
 * holding its internal locks, so that path must not take the big lock. */
static GMutex pp_sctp_live_lock;

static struct {
	unsigned refs;
	bool up;
	GHashTable *live; /* struct pp_sctp * -> itself, under pp_sctp_live_lock */
	GSource *timer;
	GMainContext *timer_ctx;
	gint64 last_us;
	unsigned finish_ticks;
	bool active;          /* a packet went in or out since the last tick */
	bool slow;            /* ticking every PP_SCTP_IDLE_TICK_MS */
	unsigned quiet_ticks; /* fast ticks in a row without a packet */
	guint64 ticks;
} pp_sctp_g;

void pp_sctp_lock(void)
{
	g_rec_mutex_lock(&pp_sctp_big);
	pp_sctp_depth++;
}

void pp_sctp_unlock(void)
{
	pp_sctp_depth--;
	g_rec_mutex_unlock(&pp_sctp_big);
}

void pp_sctp_get_totals(struct pp_sctp_totals *out)
{
	struct sctpstat st;

	memset(out, 0, sizeof(*out));
	pp_sctp_lock();
	if (pp_sctp_g.up) {
		usrsctp_get_stat(&st);
		out->data_chunks_sent = st.sctps_senddata;
		out->chunks_retransmitted = st.sctps_sendretransdata;
		out->fast_retransmits = st.sctps_sendfastretrans;
		out->t3_expiries = st.sctps_timodata;
	}
	pp_sctp_unlock();
}

/* True inside a usrsctp call (send_packet runs there). */
bool pp_sctp_in_usrsctp(void)
{
	return pp_sctp_depth > 0;
}

bool pp_sctp_library_active(void)
{
	bool up;

	pp_sctp_lock();
	up = pp_sctp_g.up;
	pp_sctp_unlock();
	return up;
}

/* Live lock held. */
static bool pp_sctp_is_live(struct pp_sctp *s)
{
	return pp_sctp_g.live && g_hash_table_contains(pp_sctp_g.live, s);
}

/* Every change of a ready time writes GLib's wakeup eventfd (and the
 * loop then turns once more to read it). On the thread that runs the
 * context a flag does: the work source's prepare() sees it before the
 * loop sleeps (a pp_loop's fast turns run the work from a hook, asked to
 * run again when this comes from a hook's flush). Other threads (usrsctp's, a context not running) set the
 * ready time, skipping changes that change nothing. */
void pp_sctp_wake(struct pp_sctp *s)
{
	if (!s->work)
		return;
	if (g_main_context_is_owner(s->ctx)) {
		s->work_due = true;
		pp_loop_again(s->ctx);
		return;
	}
	if (g_source_get_ready_time(s->work) != 0)
		g_source_set_ready_time(s->work, 0);
}

static gboolean pp_sctp_deadline_fired(gpointer data)
{
	struct pp_sctp *s = data;

	pp_source_fired(&s->deadline);
	pp_sctp_work(s);
	return G_SOURCE_REMOVE;
}

/* Run the work at the monotonic time at, unless sooner. On the owner
 * thread with a timeout source of its own: changing the work source's
 * ready time writes GLib's wakeup fd (GLib cannot tell that the owner
 * itself made the change), which ends pp_loop's fast turns and makes it
 * rebuild its mirrors; a short stream arms one deadline or two (the DCEP
 * ACK's, a reset batch's). A source attached by the owner wakes nothing
 * and is seen at the loop's next GLib turn (pp_loop: within 1 ms). */
void pp_sctp_wake_at(struct pp_sctp *s, gint64 at)
{
	gint64 now, cur;

	if (!g_main_context_is_owner(s->ctx)) {
		cur = g_source_get_ready_time(s->work);
		if (cur < 0 || cur > at)
			g_source_set_ready_time(s->work, at);
		return;
	}
	if (s->deadline && s->deadline_at <= at)
		return;
	pp_source_clear(&s->deadline);
	now = g_get_monotonic_time();
	s->deadline_at = at;
	s->deadline = pp_source_timeout(s->ctx, at > now ? (guint)((at - now + 999) / 1000) : 0,
	                                pp_sctp_deadline_fired, s);
}

void pp_sctp_glue_upcall(struct socket *sock, void *arg, int flags)
{
	struct pp_sctp *s = arg;

	/* Inside pp_sctp_feed() of this association on this thread: it runs
	 * the work itself when usrsctp returns (no wakeup, no extra turn). */
	if (pp_sctp_feeding == s) {
		s->work_now = true;
		return;
	}
	g_mutex_lock(&pp_sctp_live_lock);
	if (pp_sctp_is_live(s))
		pp_sctp_wake(s);
	g_mutex_unlock(&pp_sctp_live_lock);
}

static int pp_sctp_output(void *addr, void *buffer, size_t len, uint8_t tos, uint8_t set_df)
{
	struct pp_sctp *s = addr;
	bool live, owner = false;

	if (len < PP_SCTP_HEADER_LEN)
		return -1;
	if (pp_sctp_depth > 0) /* not usrsctp's own thread: the big lock is ours */
		pp_sctp_glue_activity(buffer, len);
	g_mutex_lock(&pp_sctp_live_lock);
	live = pp_sctp_is_live(s);
	if (live) {
		owner = g_main_context_is_owner(s->ctx);
		if (!owner) {
			pp_sctp_crc32c_stamp(buffer, len);
			g_mutex_lock(&s->xlock);
			g_queue_push_tail(&s->xq, g_bytes_new(buffer, len));
			g_mutex_unlock(&s->xlock);
			pp_sctp_wake(s);
		}
	}
	g_mutex_unlock(&pp_sctp_live_lock);
	if (!live)
		return -1;
	/* Only the owning thread frees s, and not while it is in usrsctp. */
	if (owner && !s->doomed) {
		pp_sctp_pmtu_note_output(s, buffer, len);
		pp_sctp_bundle_out(s, buffer, len);
	}
	return 0;
}

__attribute__((format(printf, 1, 2)))
static void pp_sctp_debug_printf(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	size_t n;

	if (!pp_log_enabled(PP_LOG_DEBUG))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	pp_debug("usrsctp: %s", line);
}

static void pp_sctp_usrsctp_init(void)
{
	usrsctp_init_nothreads(0, pp_sctp_output, pp_sctp_debug_printf);
	/* sctp_init() resets the sysctls, so these come after it. */
	usrsctp_sysctl_set_sctp_ecn_enable(0);   /* DTLS carries no ECN bits */
	usrsctp_sysctl_set_sctp_pr_enable(1);    /* RFC 3758, for PR channels */
	usrsctp_sysctl_set_sctp_reconfig_enable(1); /* RFC 6525 stream reset */
	usrsctp_sysctl_set_sctp_initial_cwnd(10);   /* RFC 6928 */
	/* No ASCONF: nothing for usrsctp's iterator thread to do with our
	 * associations when addresses come and go. */
	usrsctp_sysctl_set_sctp_auto_asconf(0);
	usrsctp_sysctl_set_sctp_asconf_enable(0);
	/* Room for a full send buffer of small messages (default 512). */
	usrsctp_sysctl_set_sctp_max_chunks_on_queue(64 * 1024);
	/* SACK every 4th packet, at the latest after 20 ms (defaults 2 and
	 * 200 ms): half the SACKs to send, encrypt and process. */
	usrsctp_sysctl_set_sctp_sack_freq_default(4);
	usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
	usrsctp_enable_crc32c_offload();         /* we write and check it */
	/* Max.Burst (4) counts output rounds; cwnd is left alone. By default
	 * usrsctp applies it by cutting cwnd to the flight + 4 packets and
	 * raising ssthresh to the old cwnd (RFC 9260 §6.1 D's "MAY"): each
	 * time the flight shrank at once (a recovery's cumulative ack, a
	 * pause of the sender) cwnd collapsed, and slow start took it back
	 * past the bottleneck's queue. Over a 100 Mbit/s token bucket the
	 * sender retransmitted 19-24% of its DATA chunks and moved 0.81-0.86x
	 * direct TCP; now 0.4% and 0.92-0.94x (docs/rtc-stack.md,
	 * "Congestion"). */
	usrsctp_sysctl_set_sctp_use_cwnd_based_maxburst(0);
	pp_sctp_g.up = true;
	pp_sctp_g.finish_ticks = 0;
	pp_log(PP_LOG_DEBUG, NULL, "sctp: usrsctp initialised (no threads)");
}

static gboolean pp_sctp_tick(gpointer unused);

/* Lock held. */
static void pp_sctp_timer_stop(void)
{
	pp_source_clear(&pp_sctp_g.timer);
	pp_sctp_g.timer_ctx = NULL;
	pp_sctp_g.slow = false;
}

/* Lock held. A new clock source at this pace; the clock itself (last_us)
 * carries on. */
static void pp_sctp_timer_pace(GMainContext *ctx, guint ms)
{
	pp_source_clear(&pp_sctp_g.timer);
	pp_sctp_g.timer = g_timeout_source_new(ms);
	g_source_set_callback(pp_sctp_g.timer, pp_sctp_tick, NULL, NULL);
	g_source_set_static_name(pp_sctp_g.timer, "pp-sctp-timer");
	g_source_attach(pp_sctp_g.timer, ctx);
	pp_sctp_g.timer_ctx = ctx;
	pp_sctp_g.slow = ms > PP_SCTP_TICK_MS;
	pp_sctp_g.quiet_ticks = 0;
}

/* False when every chunk of the packet is a HEARTBEAT, HEARTBEAT ACK or
 * PAD (RFC 9260 §3.3.5-6, RFC 4820): nothing in it needs the fast clock. */
static bool pp_sctp_packet_wakes_clock(const uint8_t *pkt, size_t len)
{
	size_t off = PP_SCTP_HEADER_LEN;

	while (off + 4 <= len) {
		uint8_t type = pkt[off];
		size_t clen = pp_be16(pkt + off + 2);
		if (type != PP_SCTP_CHUNK_HEARTBEAT && type != PP_SCTP_CHUNK_HEARTBEAT_ACK &&
		    type != PP_SCTP_CHUNK_PAD)
			return true;
		if (clen < 4)
			return true; /* malformed: usrsctp will say so */
		off += pp_sctp_pad4(clen);
	}
	return off == PP_SCTP_HEADER_LEN; /* no chunk at all: count it */
}

/* Lock held: usrsctp's time brought up to now (it only moves here, and
 * arms every timer relative to it); expired timers fire. */
static void pp_sctp_clock_advance(void)
{
	gint64 ms = (g_get_monotonic_time() - pp_sctp_g.last_us) / 1000;

	if (ms > 0) {
		pp_sctp_g.last_us += ms * 1000;
		usrsctp_handle_timers((uint32_t)MIN(ms, G_GINT64_CONSTANT(60000)));
	}
}

/* Lock held: back to the fast pace. Attaching a source from the thread
 * that runs its context wakes nothing; this happens once per idle spell. */
static void pp_sctp_clock_fast(void)
{
	pp_sctp_g.active = true;
	if (G_UNLIKELY(pp_sctp_g.slow) && pp_sctp_g.timer_ctx)
		pp_sctp_timer_pace(pp_sctp_g.timer_ctx, PP_SCTP_TICK_MS);
}

/* Lock held, in usrsctp's output hook: a packet went out. */
void pp_sctp_glue_activity(const uint8_t *pkt, size_t len)
{
	if (pp_sctp_packet_wakes_clock(pkt, len))
		pp_sctp_clock_fast();
}

/* Lock held, outside any usrsctp call, before one that may arm timers (a
 * packet fed in, a send, a stream reset, a shutdown). While the clock is
 * slow usrsctp's time lags by up to PP_SCTP_IDLE_TICK_MS; a timer armed
 * from it (T3-rtx: the RTO from the send) would fire that much early, so
 * it is brought up to now first. pkt NULL: whatever the call is, it is
 * activity. */
void pp_sctp_glue_clock_wake(const uint8_t *pkt, size_t len)
{
	if (pkt && !pp_sctp_packet_wakes_clock(pkt, len))
		return;
	/* Only from the outermost call: a packet fed from another
	 * association's output (two ends in one thread) is inside usrsctp. */
	if (G_UNLIKELY(pp_sctp_g.slow) && pp_sctp_depth == 1)
		pp_sctp_clock_advance();
	pp_sctp_clock_fast();
}

void pp_sctp_clock_read(struct pp_sctp_clock *out)
{
	pp_sctp_lock();
	out->slow = pp_sctp_g.slow;
	out->ticks = pp_sctp_g.ticks;
	pp_sctp_unlock();
}

static gboolean pp_sctp_tick(gpointer unused)
{
	gboolean keep = G_SOURCE_CONTINUE;

	pp_sctp_lock();
	pp_sctp_g.ticks++;
	pp_sctp_clock_advance();
	if (pp_sctp_g.active) {
		pp_sctp_g.active = false;
		pp_sctp_g.quiet_ticks = 0;
	} else if (!pp_sctp_g.slow && pp_sctp_g.refs > 0 &&
	           ++pp_sctp_g.quiet_ticks >= PP_SCTP_QUIET_TICKS) {
		/* Destroys this source from its own dispatch (GLib allows it). */
		pp_sctp_timer_pace(pp_sctp_g.timer_ctx, PP_SCTP_IDLE_TICK_MS);
		pp_sctp_unlock();
		return G_SOURCE_REMOVE;
	}
	if (pp_sctp_g.refs == 0 && pp_sctp_g.up) {
		/* Closed sockets may linger in usrsctp until their timers free
		 * them; finish once it agrees. */
		if (usrsctp_finish() == 0) {
			pp_sctp_g.up = false;
			keep = G_SOURCE_REMOVE;
			pp_log(PP_LOG_DEBUG, NULL, "sctp: usrsctp finished");
		} else if (++pp_sctp_g.finish_ticks > PP_SCTP_FINISH_TICKS) {
			keep = G_SOURCE_REMOVE; /* stays initialised */
		}
	}
	if (keep == G_SOURCE_REMOVE)
		pp_sctp_timer_stop(); /* this source, or the one a packet just put in */
	pp_sctp_unlock();
	return keep;
}

/* Lock held. */
static void pp_sctp_timer_start(GMainContext *ctx)
{
	pp_sctp_timer_pace(ctx, PP_SCTP_TICK_MS);
	pp_sctp_g.last_us = g_get_monotonic_time();
}

int pp_sctp_glue_attach(struct pp_sctp *s)
{
	g_mutex_lock(&pp_sctp_live_lock);
	if (!pp_sctp_g.live)
		pp_sctp_g.live = g_hash_table_new(NULL, NULL);
	g_hash_table_add(pp_sctp_g.live, s);
	g_mutex_unlock(&pp_sctp_live_lock);
	pp_sctp_lock();
	if (!pp_sctp_g.up)
		pp_sctp_usrsctp_init();
	usrsctp_register_address(s);
	/* A timer whose context was dropped is destroyed with it. One left
	 * on another context by the last association to go (to finish
	 * usrsctp) comes here: nobody may run that context any more. */
	if (!pp_sctp_g.timer || g_source_is_destroyed(pp_sctp_g.timer))
		pp_sctp_timer_start(s->ctx);
	else if (pp_sctp_g.refs == 0 && pp_sctp_g.timer_ctx != s->ctx)
		pp_sctp_timer_pace(s->ctx, PP_SCTP_TICK_MS);
	pp_sctp_g.refs++;
	pp_sctp_unlock();
	return 0;
}

/* After this no output or upcall reaches s. */
void pp_sctp_glue_detach(struct pp_sctp *s)
{
	GHashTableIter it;
	gpointer key;
	GMainContext *other = NULL;
	bool was_live;

	g_mutex_lock(&pp_sctp_live_lock);
	was_live = pp_sctp_g.live && g_hash_table_remove(pp_sctp_g.live, s);
	if (was_live) {
		/* A context someone still runs, for the clock (same one first). */
		g_hash_table_iter_init(&it, pp_sctp_g.live);
		while (g_hash_table_iter_next(&it, &key, NULL)) {
			other = ((struct pp_sctp *)key)->ctx;
			if (other == s->ctx)
				break;
		}
		if (other)
			g_main_context_ref(other);
	}
	g_mutex_unlock(&pp_sctp_live_lock);
	if (!was_live)
		return;
	pp_sctp_lock();
	usrsctp_deregister_address(s);
	pp_sctp_g.refs--;
	pp_sctp_g.finish_ticks = 0;
	if (pp_sctp_g.timer_ctx == s->ctx && other && other != s->ctx)
		pp_sctp_timer_pace(other, PP_SCTP_TICK_MS); /* the clock carries on */
	pp_sctp_unlock();
	if (other)
		g_main_context_unref(other);
}
