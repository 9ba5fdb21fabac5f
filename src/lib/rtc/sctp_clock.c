/* SPDX-License-Identifier: Apache-2.0 */
/* The usrsctp clock: usrsctp_handle_timers() driven by GLib timeouts, under
 * the big lock (sctp_glue.c).
 *
 * usrsctp has no "next deadline" query in 0.9.5, so the clock ticks: every
 * 10 ms, well below its smallest timer (our 20 ms delayed SACK, 1 s RTO by
 * default), while packets go in or out; after 1 s in which no association
 * sent or received one, every 250 ms, so an idle tunnel (a laptop's
 * client, say) wakes 4 times a second, not 100. Timers still running then
 * (heartbeat, the free of a closed socket, the retransmission of a peer
 * that went silent) fire at most 250 ms late; the first packet in or out
 * puts the 10 ms clock back at once, and before usrsctp is called with it
 * (fed a packet, asked to send, reset or shut down) its time is brought up
 * to now, so the timers that call arms (delayed SACK, T3-rtx) run from the
 * right time. Packets of heartbeats alone (usrsctp's, and our path MTU
 * probes, every 10 s each) arm nothing short and leave the clock as it is.
 *
 * usrsctp's timers are process-wide: one tick fires those of every
 * association. Each context with a live association has a tick source of
 * its own, so any context still run keeps every association's timers
 * going; a thread that stops running its context while its associations
 * live on (or a context kept but no longer run) holds nobody's. A tick
 * advances usrsctp by the whole milliseconds since the last tick from any
 * context, so two contexts ticking count no time twice. A timer of an
 * association fired from another context's tick sends through the output
 * hook, which queues the packet for the association's own context.
 * When the last association goes, its context's source stays, to finish
 * usrsctp once usrsctp agrees (sockets linger until their timers free
 * them); the next association to come moves it to its own context. */
#include "sctp_priv.h"

#include "be.h"

#include "peerpipe/log.h"
#include "peerpipe/source.h"

#define PP_SCTP_TICK_MS 10
#define PP_SCTP_IDLE_TICK_MS 250
#define PP_SCTP_QUIET_US G_USEC_PER_SEC /* without a packet: slow down */

/* The tick source of one context. */
struct pp_sctp_tick {
	GMainContext *ctx; /* not a reference: a context's sources die with it */
	GSource *src;
	unsigned refs; /* live associations on ctx; 0: the one finishing usrsctp */
};

static struct {
	GHashTable *ticks; /* GMainContext * -> struct pp_sctp_tick */
	gint64 last_us;    /* usrsctp's time (its timers run from it) */
	gint64 quiet_since;
	bool active; /* a packet went in or out since the last tick */
	bool slow;   /* ticking every PP_SCTP_IDLE_TICK_MS */
	guint64 count;
} pp_clk;

static gboolean pp_sctp_clock_tick(gpointer unused);

static void pp_sctp_tick_free(gpointer data)
{
	struct pp_sctp_tick *t = data;

	pp_source_clear(&t->src);
	g_free(t);
}

/* Lock held. A new source for t at this pace. */
static void pp_sctp_tick_start(struct pp_sctp_tick *t, guint ms)
{
	pp_source_clear(&t->src);
	t->src = g_timeout_source_new(ms);
	g_source_set_callback(t->src, pp_sctp_clock_tick, NULL, NULL);
	g_source_set_static_name(t->src, "pp-sctp-clock");
	g_source_attach(t->src, t->ctx);
}

/* Lock held. Every context's source at this pace; the clock itself
 * (last_us) carries on. Sources whose context was dropped go. */
static void pp_sctp_clock_pace(guint ms)
{
	GHashTableIter it;
	struct pp_sctp_tick *t;

	pp_clk.slow = ms > PP_SCTP_TICK_MS;
	pp_clk.quiet_since = g_get_monotonic_time();
	if (!pp_clk.ticks)
		return;
	g_hash_table_iter_init(&it, pp_clk.ticks);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&t)) {
		if (t->src && g_source_is_destroyed(t->src))
			g_hash_table_iter_remove(&it);
		else
			pp_sctp_tick_start(t, ms);
	}
}

/* Lock held. */
static void pp_sctp_clock_stop(void)
{
	if (pp_clk.ticks)
		g_hash_table_remove_all(pp_clk.ticks);
	pp_clk.slow = false;
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
	gint64 ms = (g_get_monotonic_time() - pp_clk.last_us) / 1000;

	if (ms > 0) {
		pp_clk.last_us += ms * 1000;
		usrsctp_handle_timers((uint32_t)MIN(ms, G_GINT64_CONSTANT(60000)));
	}
}

/* Lock held: back to the fast pace. Attaching a source from the thread
 * that runs its context wakes nothing; this happens once per idle spell. */
static void pp_sctp_clock_fast(void)
{
	pp_clk.active = true;
	if (G_UNLIKELY(pp_clk.slow))
		pp_sctp_clock_pace(PP_SCTP_TICK_MS);
}

void pp_sctp_clock_activity(const uint8_t *pkt, size_t len)
{
	if (pp_sctp_packet_wakes_clock(pkt, len))
		pp_sctp_clock_fast();
}

void pp_sctp_clock_wake(const uint8_t *pkt, size_t len)
{
	if (pkt && !pp_sctp_packet_wakes_clock(pkt, len))
		return;
	/* Only from the outermost call: a packet fed from another
	 * association's output (two ends in one thread) is inside usrsctp. */
	if (G_UNLIKELY(pp_clk.slow) && pp_sctp_lock_outermost())
		pp_sctp_clock_advance();
	pp_sctp_clock_fast();
}

void pp_sctp_clock_read(struct pp_sctp_clock *out)
{
	pp_sctp_lock();
	out->slow = pp_clk.slow;
	out->ticks = pp_clk.count;
	out->sources = pp_clk.ticks ? g_hash_table_size(pp_clk.ticks) : 0;
	pp_sctp_unlock();
}

static gboolean pp_sctp_clock_tick(gpointer unused)
{
	gint64 now;

	pp_sctp_lock();
	pp_clk.count++;
	pp_sctp_clock_advance();
	now = g_get_monotonic_time();
	if (pp_clk.active) {
		pp_clk.active = false;
		pp_clk.quiet_since = now;
	} else if (!pp_clk.slow && now - pp_clk.quiet_since >= PP_SCTP_QUIET_US &&
	           pp_sctp_glue_live()) {
		/* Destroys this source too, from its own dispatch (GLib allows
		 * it). */
		pp_sctp_clock_pace(PP_SCTP_IDLE_TICK_MS);
		pp_sctp_unlock();
		return G_SOURCE_REMOVE;
	}
	if (pp_sctp_glue_finish()) {
		pp_sctp_clock_stop(); /* this source among them */
		pp_sctp_unlock();
		return G_SOURCE_REMOVE;
	}
	pp_sctp_unlock();
	return G_SOURCE_CONTINUE;
}

void pp_sctp_clock_attach(GMainContext *ctx)
{
	GHashTableIter it;
	struct pp_sctp_tick *t;

	if (!pp_clk.ticks)
		pp_clk.ticks = g_hash_table_new_full(NULL, NULL, NULL, pp_sctp_tick_free);
	if (g_hash_table_size(pp_clk.ticks) == 0) {
		pp_clk.last_us = g_get_monotonic_time(); /* the clock starts */
		pp_clk.quiet_since = pp_clk.last_us;
		pp_clk.slow = false;
	}
	/* The source finishing usrsctp may sit on a context nobody runs any
	 * more: this association's context takes over. */
	g_hash_table_iter_init(&it, pp_clk.ticks);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&t))
		if (t->refs == 0 && t->ctx != ctx)
			g_hash_table_iter_remove(&it);
	t = g_hash_table_lookup(pp_clk.ticks, ctx);
	if (!t) {
		t = g_new0(struct pp_sctp_tick, 1);
		t->ctx = ctx;
		g_hash_table_insert(pp_clk.ticks, ctx, t);
	}
	/* A source whose context was dropped is destroyed with it (another
	 * context may have its address now). */
	if (!t->src || g_source_is_destroyed(t->src))
		pp_sctp_tick_start(t, pp_clk.slow ? PP_SCTP_IDLE_TICK_MS : PP_SCTP_TICK_MS);
	t->refs++;
}

void pp_sctp_clock_detach(GMainContext *ctx, bool last)
{
	struct pp_sctp_tick *t = pp_clk.ticks ? g_hash_table_lookup(pp_clk.ticks, ctx) : NULL;

	if (!t || t->refs == 0)
		return;
	if (--t->refs == 0 && !last)
		g_hash_table_remove(pp_clk.ticks, ctx);
}
