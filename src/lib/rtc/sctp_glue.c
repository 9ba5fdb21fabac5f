/* SPDX-License-Identifier: Apache-2.0 */
/* The process-wide usrsctp instance: init/finish refcounted by the live
 * associations, one big lock, the output and upcall hooks (the clock that
 * drives usrsctp's timers is sctp_clock.c's).
 *
 * usrsctp runs without threads (usrsctp_init_nothreads): it only executes
 * inside calls we make, all of them under one recursive lock, so its
 * internal lock orders (the conninput/timer deadlocks of the threaded mode)
 * never come into play, even when associations live on contexts run by
 * different threads. Its clock is sctp_clock.c's.
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

#include "peerpipe/log.h"
#include "peerpipe/loop.h"
#include "peerpipe/source.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PP_SCTP_FINISH_TRIES 3000 /* clock ticks: give up finishing after ~30 s */

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
	unsigned finish_tries;
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
		pp_sctp_clock_activity(buffer, len);
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
	pp_sctp_g.finish_tries = 0;
	pp_log(PP_LOG_DEBUG, NULL, "sctp: usrsctp initialised (no threads)");
}

bool pp_sctp_lock_outermost(void)
{
	return pp_sctp_depth == 1;
}

bool pp_sctp_glue_live(void)
{
	return pp_sctp_g.refs > 0;
}

bool pp_sctp_glue_finish(void)
{
	if (pp_sctp_g.refs > 0)
		return false; /* associations live: the clock runs */
	if (!pp_sctp_g.up)
		return true;
	if (usrsctp_finish() == 0) {
		pp_sctp_g.up = false;
		pp_log(PP_LOG_DEBUG, NULL, "sctp: usrsctp finished");
		return true;
	}
	return ++pp_sctp_g.finish_tries > PP_SCTP_FINISH_TRIES; /* stays initialised */
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
	pp_sctp_clock_attach(s->ctx);
	pp_sctp_g.refs++;
	pp_sctp_unlock();
	return 0;
}

/* After this no output or upcall reaches s. */
void pp_sctp_glue_detach(struct pp_sctp *s)
{
	bool was_live;

	g_mutex_lock(&pp_sctp_live_lock);
	was_live = pp_sctp_g.live && g_hash_table_remove(pp_sctp_g.live, s);
	g_mutex_unlock(&pp_sctp_live_lock);
	if (!was_live)
		return;
	pp_sctp_lock();
	usrsctp_deregister_address(s);
	pp_sctp_g.refs--;
	pp_sctp_g.finish_tries = 0;
	pp_sctp_clock_detach(s->ctx, pp_sctp_g.refs == 0);
	pp_sctp_unlock();
}
