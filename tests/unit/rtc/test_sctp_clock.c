/* SPDX-License-Identifier: Apache-2.0 */
/* The usrsctp clock (sctp_glue.c): 10 ms ticks while packets flow, 250 ms
 * after 1 s without one, fast again with the next packet; usrsctp's timers
 * keep firing across the changes (retransmission, heartbeat). */
#include "peerpipe/rtc/sctp.h"
#include "sctp_pair.h"

#include "../../../src/lib/rtc/sctp_priv.h"

#include <glib.h>

static bool clock_slow(void)
{
	struct pp_sctp_clock c;

	pp_sctp_clock_read(&c);
	return c.slow;
}

/* A pair with heartbeats every hb_ms, connected, one channel open. The
 * RTO on loopback is its minimum, set to 1 s: five times the clock's lag
 * that rto_from_now must not take off it. */
static struct pp_sctp_channel *pair_up(struct sctp_pair *p, uint32_t hb_ms)
{
	struct pp_sctp_config c = { .heartbeat_ms = hb_ms, .rto_min_ms = 1000 };

	sctp_pair_init(p, &c, &c);
	sctp_pair_connect(p);
	return sctp_pair_open(p, 0, "clock", "", NULL);
}

static void test_idle_slows(void)
{
	struct sctp_pair p;
	struct pp_sctp_channel *ch = pair_up(&p, 60000);
	struct pp_sctp_clock c0, c1;

	g_assert_false(clock_slow());
	g_assert_cmpint(pp_sctp_channel_send(ch, false, "a", 1), ==, 0);
	SCTP_RUN_UNTIL(&p, p.side[1].msgs->len == 1, 5000);
	/* 1 s of 10 ms ticks without a packet, then the slow pace. */
	SCTP_RUN_UNTIL(&p, clock_slow(), 5000);
	pp_sctp_clock_read(&c0);
	sctp_pair_run_for(&p, 1000);
	pp_sctp_clock_read(&c1);
	g_assert_true(c1.slow);
	/* 250 ms apart: 4 in a second (100 at the fast pace). */
	g_assert_cmpuint(c1.ticks - c0.ticks, <=, 8);
	/* The next packet puts the fast clock back. */
	g_assert_cmpint(pp_sctp_channel_send(ch, false, "b", 1), ==, 0);
	SCTP_RUN_UNTIL(&p, p.side[1].msgs->len == 2, 5000);
	g_assert_false(clock_slow());
	sctp_pair_free(&p);
}

/* Sent from an idle association over a link that loses it: the T3-rtx
 * timer, armed with the fast clock, fires after the clock slowed again
 * (no packet for the 1 s of the RTO), and the message arrives. */
static void test_lost_while_idle(void)
{
	struct sctp_pair p;
	struct pp_sctp_channel *ch = pair_up(&p, 60000);
	uint64_t lost;

	SCTP_RUN_UNTIL(&p, clock_slow(), 5000);
	p.dead = true;
	lost = p.lost;
	g_assert_cmpint(pp_sctp_channel_send(ch, false, "lost once", 9), ==, 0);
	SCTP_RUN_UNTIL(&p, p.lost > lost, 5000);
	p.dead = false;
	SCTP_RUN_UNTIL(&p, p.side[1].msgs->len == 1, 10000);
	sctp_pair_free(&p);
}

/* A send 200 ms after a slow tick: usrsctp's time lags real time by that
 * much, and is brought up to now before the send arms T3-rtx, so the
 * retransmission comes an RTO (1 s) after the send, not 200 ms early. */
static void test_rto_from_now(void)
{
	struct sctp_pair p;
	struct pp_sctp_channel *ch = pair_up(&p, 60000);
	struct pp_sctp_clock c0, c1;
	uint64_t lost;
	gint64 t0, waited_ms;

	SCTP_RUN_UNTIL(&p, clock_slow(), 5000);
	pp_sctp_clock_read(&c0);
	do {
		g_main_context_iteration(p.ctx, TRUE);
		pp_sctp_clock_read(&c1);
	} while (c1.ticks == c0.ticks);
	sctp_pair_run_for(&p, 200);
	g_assert_true(clock_slow());
	p.dead = true;
	lost = p.lost;
	t0 = g_get_monotonic_time();
	g_assert_cmpint(pp_sctp_channel_send(ch, false, "twice lost", 10), ==, 0);
	SCTP_RUN_UNTIL(&p, p.lost > lost + 1, 5000); /* the message, then T3's copy */
	waited_ms = (g_get_monotonic_time() - t0) / 1000;
	g_test_message("T3-rtx after %" G_GINT64_FORMAT " ms", waited_ms);
	g_assert_cmpint(waited_ms, >=, 950);
	p.dead = false;
	SCTP_RUN_UNTIL(&p, p.side[1].msgs->len == 1, 10000);
	sctp_pair_free(&p);
}

/* A message sent on ch over a link that loses everything, until the
 * T3-rtx timer fired (its copy was lost too); then the link works and the
 * message arrives. Runs only p's context. */
static void send_through_t3(struct sctp_pair *p, struct pp_sctp_channel *ch)
{
	uint64_t lost;

	p->dead = true;
	lost = p->lost;
	g_assert_cmpint(pp_sctp_channel_send(ch, false, "lost once", 9), ==, 0);
	SCTP_RUN_UNTIL(p, p->lost > lost + 1, 5000);
	p->dead = false;
	SCTP_RUN_UNTIL(p, p->side[1].msgs->len == 1, 10000);
}

/* The last association gone, the clock stays on its context to finish
 * usrsctp; a context that is kept but no longer run must not keep it from
 * the next association's, whose timers (T3-rtx here) would never fire. */
static void test_clock_follows(void)
{
	struct sctp_pair p, q;
	struct pp_sctp_channel *ch;
	GMainContext *stale;

	pair_up(&p, 60000);
	stale = g_main_context_ref(p.ctx);
	sctp_pair_free(&p);
	ch = pair_up(&q, 60000);
	send_through_t3(&q, ch);
	sctp_pair_free(&q);
	g_main_context_unref(stale);
}

/* Associations on two contexts, and one of them is no longer run (a
 * thread that stopped running its context while its association lived
 * on): the other's timers fire all the same, from its own context's tick.
 * p comes first: a single clock on the first association's context (as
 * before each context had its own) never fired q's T3 here. */
static void test_any_context_runs(void)
{
	struct sctp_pair p, q;
	struct pp_sctp_channel *ch;
	struct pp_sctp_clock c;

	pair_up(&p, 60000);
	ch = pair_up(&q, 60000);
	pp_sctp_clock_read(&c);
	g_assert_cmpuint(c.sources, ==, 2);
	send_through_t3(&q, ch); /* only q's context runs */
	sctp_pair_free(&q);
	pp_sctp_clock_read(&c);
	g_assert_cmpuint(c.sources, ==, 1); /* q's context ticks no more */
	sctp_pair_free(&p);
}

/* Heartbeats still go out when the clock is slow, and leave it slow: they
 * arm no timer shorter than its pace. */
static void test_heartbeat_while_idle(void)
{
	struct sctp_pair p;
	uint64_t packets;
	gint64 end;

	pair_up(&p, 1500);
	SCTP_RUN_UNTIL(&p, clock_slow(), 10000);
	packets = p.side[0].packets + p.side[1].packets;
	end = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
	/* Two heartbeats (and their acks) after the slow-down. */
	while (p.side[0].packets + p.side[1].packets < packets + 4) {
		g_assert_cmpint(g_get_monotonic_time(), <, end);
		g_assert_true(clock_slow());
		g_main_context_iteration(p.ctx, TRUE);
	}
	g_assert_true(clock_slow());
	g_assert_cmpint(p.side[0].state, ==, PP_SCTP_CONNECTED);
	g_assert_cmpint(p.side[1].state, ==, PP_SCTP_CONNECTED);
	sctp_pair_free(&p);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sctp/clock/idle_slows", test_idle_slows);
	g_test_add_func("/sctp/clock/lost_while_idle", test_lost_while_idle);
	g_test_add_func("/sctp/clock/rto_from_now", test_rto_from_now);
	g_test_add_func("/sctp/clock/follows_new_context", test_clock_follows);
	g_test_add_func("/sctp/clock/any_context_runs", test_any_context_runs);
	g_test_add_func("/sctp/clock/heartbeat_while_idle", test_heartbeat_while_idle);
	return g_test_run();
}
