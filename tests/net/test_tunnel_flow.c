/* SPDX-License-Identifier: Apache-2.0 */
/* Flow control (tunnel.md §4): a consumer much slower than the producer,
 * in each direction. Memory must stay bounded and every byte arrive. The
 * sockets at both ends get small kernel buffers (64 KiB) so that what the
 * kernel holds is small: the bytes in flight (sent by the producer, not yet
 * read by the consumer) are then mostly the tunnel's own buffering, and
 * must stay bounded too. Nothing here depends on timing. */
#include "tunnel_pair.h"
#include "peerpipe/rtc/sctp.h"
#include "peerpipe/tunnel/frame.h"

#include <errno.h>
#include <string.h>

#define MiB (1024u * 1024u)
#define PUSH (32u * MiB)
/* Bound on the process's RSS growth (the brief's 64 MB), and on the bytes
 * in flight: the tunnel's buffers (channel queue <= high mark + one
 * message, usrsctp's send and receive buffers, the write buffer <=
 * write_max + one message) plus small kernel buffers. usrsctp holds up to
 * about 2.7 times its buffer size in a paused association (measured: 4.1
 * MiB in flight with 1 MiB buffers, 12.2 MiB with 4 MiB), so the bound is
 * three buffers and 2 MiB: 14 MiB with the default 4 MiB. Without flow
 * control the whole 32 MiB would pile up. */
#define RSS_GROWTH_MAX_KIB (64u * 1024u)
#define IN_FLIGHT_MAX (3u * PP_SCTP_BUFFER_DEFAULT + 2u * MiB)

#if defined(__SANITIZE_ADDRESS__)
#define TP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TP_ASAN 1
#endif
#endif

struct watch {
	struct tunnel_pair *tp;
	struct tp_pump *producer, *consumer;
	struct tp_stream *ds, *gs;
	uint64_t rss0, rss_max;
	uint64_t in_flight_max;
	size_t buffered_max[2];
	unsigned samples;
};

static void sample(struct watch *w)
{
	uint64_t rss = tp_rss_kib();
	uint64_t sent = tp_pump_sent(w->producer);
	uint64_t got = tp_pump_received(w->consumer);
	struct tp_stream *s[2] = { w->ds, w->gs };

	/* received is read after sent: got <= sent holds */
	w->rss_max = MAX(w->rss_max, rss);
	if (sent > got)
		w->in_flight_max = MAX(w->in_flight_max, sent - got);
	for (int i = 0; i < 2; i++)
		if (s[i]->st && pp_tstream_channel(s[i]->st))
			w->buffered_max[i] = MAX(w->buffered_max[i],
			                         pp_sctp_channel_buffered_amount(pp_tstream_channel(s[i]->st)));
	w->samples++;
}

static bool done_sampling(void *data)
{
	struct watch *w = data;
	sample(w);
	return tp_pump_done(w->producer) && tp_pump_done(w->consumer);
}

static void run_slow(bool slow_service)
{
	struct tp_pair_opts o = { .sockbuf = 64 * 1024 };
	struct tunnel_pair *tp = tp_pair_new(&o);
	struct tp_pump_cfg slow = { .read_chunk = 64 * 1024, .read_delay_ms = 20, .shut_wr = true,
	                            .timeout_s = 100 };
	struct tp_pump_cfg fast = { .send = PUSH, .seed = 11, .shut_wr = true, .timeout_s = 100 };
	struct tp_service svc = { .pump = slow_service ? slow : fast };
	struct watch w = { .tp = tp };

	tp_service_add(tp, "svc", &svc);
	w.rss0 = tp_rss_kib();
	w.rss_max = w.rss0;
	w.ds = tp_open(tp, "svc", false, slow_service ? &fast : &slow, NULL);
	w.gs = tp_wait_established(tp, w.ds, false);
	w.producer = slow_service ? w.ds->pump : w.gs->pump;
	w.consumer = slow_service ? w.gs->pump : w.ds->pump;
	gint64 t0 = g_get_monotonic_time();
	g_assert_true(tp_run_until(tp, done_sampling, &w, 110000));
	double secs = (g_get_monotonic_time() - t0) / 1e6;
	struct tp_stream *both[2] = { w.ds, w.gs };
	for (int i = 0; i < 2; i++)
		g_assert_true(tp_run_until(tp, tp_pred_stream_closed, both[i], 20000));

	g_test_message("slow %s: %u MiB in %.1f s; RSS %" G_GUINT64_FORMAT " -> max %" G_GUINT64_FORMAT
	               " KiB (+%" G_GUINT64_FORMAT " KiB); in flight max %.2f MiB; channel buffered max "
	               "desktop %zu, gateway %zu; %u samples",
	               slow_service ? "service" : "client", PUSH / MiB, secs, w.rss0, w.rss_max,
	               w.rss_max - w.rss0, w.in_flight_max / (double)MiB, w.buffered_max[0],
	               w.buffered_max[1], w.samples);
	/* every byte, intact */
	g_assert_cmpint(w.producer->err, ==, 0);
	g_assert_cmpint(w.consumer->err, ==, 0);
	g_assert_false(w.producer->timed_out);
	g_assert_false(w.consumer->timed_out);
	g_assert_true(w.consumer->eof);
	g_assert_cmpuint(w.producer->sent, ==, PUSH);
	g_assert_cmpuint(w.consumer->received, ==, PUSH);
	g_assert_cmpmem(w.consumer->recv_sha, TP_SHA_LEN, w.producer->sent_sha, TP_SHA_LEN);
	g_assert_cmpstr(w.ds->reason, ==, "done");
	g_assert_cmpstr(w.gs->reason, ==, "done");
	/* bounded */
	g_assert_cmpuint(w.in_flight_max, <=, IN_FLIGHT_MAX);
	/* the sending channel's queue: high mark (256 KiB) + one message */
	g_assert_cmpuint(w.buffered_max[slow_service ? 0 : 1], <=, 256 * 1024 + 66560);
#ifndef TP_ASAN
	g_assert_cmpuint(w.rss_max - w.rss0, <=, RSS_GROWTH_MAX_KIB);
#endif
	tp_pair_free(tp);
}

static void test_slow_service(void)
{
	run_slow(true);
}

static void test_slow_client(void)
{
	run_slow(false);
}


static bool healthy_done(void *data)
{
	struct tp_stream **s = data;
	return tp_pump_done(s[0]->pump) && tp_pump_done(s[1]->pump) && s[0]->closed && s[1]->closed;
}

/* A service that stops reading while the client pushes: its stream's
 * write buffer fills and the gateway pauses the whole association (the
 * documented per-session receive flow control, session.h). Meanwhile a
 * second stream is opened. When the stuck service finally resets its
 * connection, the pause must be lifted: the stuck stream ends, and the
 * second stream completes intact. (While paused, nothing of this peer
 * connection is read by the gateway: not the second stream's OPEN, not
 * its data, not control messages: printed, not asserted.) */
static void test_stuck_service_recovers(void)
{
	struct tp_pair_opts o = { .sockbuf = 64 * 1024 };
	struct tunnel_pair *tp = tp_pair_new(&o);
	struct tp_service stuck = { .pump = { .no_read = true, .rst_at_end = true } };
	struct tp_service healthy = { .pump = { .send = 4 << 20, .seed = 2, .shut_wr = true } };

	tp_service_add(tp, "stuck", &stuck);
	tp_service_add(tp, "healthy", &healthy);
	struct tp_pump_cfg push = { .send = 16 << 20, .seed = 3 };
	struct tp_stream *sd = tp_open(tp, "stuck", false, &push, NULL);
	struct tp_stream *sg = tp_wait_established(tp, sd, false);
	/* The client fills everything up to the stuck service's socket. */
	uint64_t last = 0;
	for (int i = 0; i < 200; i++) {
		tp_run_for(tp, 100);
		uint64_t now = tp_pump_sent(sd->pump);
		if (now == last && now > 0)
			break;
		last = now;
	}
	g_assert_false(tp_pump_done(sd->pump));
	g_test_message("stuck: the client could send %.2f MiB", last / 1048576.0);
	g_assert_cmpuint(last, <, 16 << 20);

	struct tp_pump_cfg c = { .send = 4 << 20, .seed = 1, .shut_wr = true };
	struct tp_stream *hd = tp_open(tp, "healthy", false, &c, NULL);
	tp_run_for(tp, 1000);
	struct tp_stream *hg = tp_peer_stream(tp, hd);
	g_test_message("while stuck, after 1 s: the gateway %s the second stream; its client got %"
	               G_GUINT64_FORMAT " bytes", hg ? "has" : "does not have", tp_pump_received(hd->pump));

	/* The stuck service gives up with a reset. */
	tp_pump_stop(sg->pump);
	struct tp_stream *s2[2] = { sd, sg };
	g_assert_true(tp_run_until(tp, tp_pred_stream_closed, sg, 20000));
	g_assert_true(tp_run_until(tp, tp_pred_stream_closed, sd, 20000));
	g_test_message("stuck stream: gateway %s, desktop %s", s2[1]->reason, s2[0]->reason);
	g_assert_cmpstr(sg->reason, ==, "socket reset");
	g_assert_cmpstr(sd->reason, ==, "reset by peer");
	g_assert_true(tp_run_until(tp, tp_pred_pump_done, sd->pump, 20000));
	g_assert_false(sd->pump->eof);
	g_assert_cmpint(sd->pump->err, !=, 0);

	/* The second stream now goes through. */
	g_assert_true(tp_run_until(tp, tp_pred_stream_closed, hd, 60000));
	hg = tp_peer_stream(tp, hd);
	g_assert_nonnull(hg);
	struct tp_stream *h[2] = { hd, hg };
	g_assert_true(tp_run_until(tp, healthy_done, h, 60000));
	g_assert_cmpint(hd->pump->err, ==, 0);
	g_assert_cmpint(hg->pump->err, ==, 0);
	g_assert_cmpmem(hg->pump->recv_sha, TP_SHA_LEN, hd->pump->sent_sha, TP_SHA_LEN);
	g_assert_cmpmem(hd->pump->recv_sha, TP_SHA_LEN, hg->pump->sent_sha, TP_SHA_LEN);
	g_assert_cmpstr(hd->reason, ==, "done");
	g_assert_cmpstr(hg->reason, ==, "done");
	g_assert_cmpint(pp_tsession_get_state(tp->gw.s), ==, PP_TSESSION_READY);
	tp_pair_free(tp);
}

/* A service that never reads again (and never closes): its stream holds
 * the association paused, so after stall_ms without progress the gateway
 * ends that stream ("socket stalled"), and a second stream of the same
 * peer then completes intact. */
static void test_stalled_service_ended(void)
{
	struct tp_pair_opts o = { .sockbuf = 64 * 1024, .stream = { .stall_ms = 1500 } };
	struct tunnel_pair *tp = tp_pair_new(&o);
	struct tp_service stuck = { .pump = { .no_read = true } };
	struct tp_service healthy = { .pump = { .send = 1 << 20, .seed = 2, .shut_wr = true } };

	tp_service_add(tp, "stuck", &stuck);
	tp_service_add(tp, "healthy", &healthy);
	struct tp_pump_cfg push = { .send = 16 << 20, .seed = 3 };
	struct tp_stream *sd = tp_open(tp, "stuck", false, &push, NULL);
	struct tp_stream *sg = tp_wait_established(tp, sd, false);
	struct tp_pump_cfg c = { .send = 1 << 20, .seed = 1, .shut_wr = true };
	tp_run_for(tp, 300);
	struct tp_stream *hd = tp_open(tp, "healthy", false, &c, NULL);

	g_assert_true(tp_run_until(tp, tp_pred_stream_closed, sg, 20000));
	g_assert_cmpstr(sg->reason, ==, "socket stalled");
	g_assert_true(tp_run_until(tp, tp_pred_stream_closed, sd, 20000));
	g_assert_cmpstr(sd->reason, ==, "reset by peer");
	g_assert_true(tp_run_until(tp, tp_pred_stream_closed, hd, 60000));
	struct tp_stream *hg = tp_peer_stream(tp, hd);
	g_assert_nonnull(hg);
	struct tp_stream *h[2] = { hd, hg };
	g_assert_true(tp_run_until(tp, healthy_done, h, 60000));
	g_assert_cmpmem(hg->pump->recv_sha, TP_SHA_LEN, hd->pump->sent_sha, TP_SHA_LEN);
	g_assert_cmpmem(hd->pump->recv_sha, TP_SHA_LEN, hg->pump->sent_sha, TP_SHA_LEN);
	g_assert_cmpstr(hd->reason, ==, "done");
	g_assert_cmpint(pp_tsession_get_state(tp->gw.s), ==, PP_TSESSION_READY);
	tp_pair_free(tp);
}

/* Many streams of one peer, each with a slow consumer: what they hold
 * together at the gateway stays within the session's streams_memory (the
 * pool, stream.h), each way, where each stream alone would be allowed its
 * own marks (256 KiB each way: 8 MiB for 32 streams). */
#define POOL_STREAMS 32
#define POOL_LIMIT (1u * MiB)
#define POOL_PUSH (2u * MiB)

struct pool_watch {
	struct tp_stream *ds[POOL_STREAMS];
	struct tp_stream *gs[POOL_STREAMS];
	bool slow_service;
	size_t to_sockets, to_sockets_max;   /* sums over the gateway's streams */
	size_t to_peer, to_peer_max;
	unsigned max_streams_seen;
};

static void pool_add_stream(struct pp_tstream *st, void *data)
{
	struct pool_watch *w = data;
	struct pp_sctp_channel *ch = pp_tstream_channel(st);

	w->to_sockets += pp_tstream_write_pending(st);
	if (ch)
		w->to_peer += pp_sctp_channel_buffered_amount(ch);
}

static bool pool_done(void *data)
{
	struct tunnel_pair *tp = ((void **)data)[0];
	struct pool_watch *w = ((void **)data)[1];

	w->to_sockets = w->to_peer = 0;
	pp_tsession_foreach_stream(tp->gw.s, pool_add_stream, w);
	w->to_sockets_max = MAX(w->to_sockets_max, w->to_sockets);
	w->to_peer_max = MAX(w->to_peer_max, w->to_peer);
	w->max_streams_seen = MAX(w->max_streams_seen, pp_tsession_stream_count(tp->gw.s));
	for (int i = 0; i < POOL_STREAMS; i++) {
		struct tp_pump *consumer = w->slow_service ? w->gs[i]->pump : w->ds[i]->pump;
		if (!tp_pump_done(consumer))
			return false;
	}
	return true;
}

static void run_pool(bool slow_service)
{
	struct tp_pair_opts o = { .sockbuf = 64 * 1024, .streams_memory = POOL_LIMIT };
	struct tunnel_pair *tp = tp_pair_new(&o);
	struct tp_pump_cfg slow = { .read_chunk = 16 * 1024, .read_delay_ms = 20, .shut_wr = true,
	                            .timeout_s = 100 };
	struct tp_service svc = { .pump = slow };
	struct pool_watch w = { .slow_service = slow_service };
	void *args[2] = { tp, &w };

	if (!slow_service)
		svc.pump = (struct tp_pump_cfg){ .send = POOL_PUSH, .seed = 5, .shut_wr = true,
		                                 .timeout_s = 100 };
	tp_service_add(tp, "svc", &svc);
	for (int i = 0; i < POOL_STREAMS; i++) {
		struct tp_pump_cfg c = slow;
		if (slow_service)
			c = (struct tp_pump_cfg){ .send = POOL_PUSH, .seed = 100 + (uint32_t)i,
			                          .shut_wr = true, .timeout_s = 100 };
		w.ds[i] = tp_open(tp, "svc", false, &c, NULL);
	}
	for (int i = 0; i < POOL_STREAMS; i++)
		w.gs[i] = tp_wait_established(tp, w.ds[i], false);
	g_assert_true(tp_run_until(tp, pool_done, args, 110000));
	for (int i = 0; i < POOL_STREAMS; i++) {
		g_assert_true(tp_run_until(tp, tp_pred_stream_closed, w.ds[i], 20000));
		g_assert_true(tp_run_until(tp, tp_pred_stream_closed, w.gs[i], 20000));
	}
	g_test_message("%d streams, slow %s: the gateway's streams held at most %zu KiB toward "
	               "their sockets and %zu KiB toward the peer (pool %u KiB)",
	               POOL_STREAMS, slow_service ? "services" : "clients", w.to_sockets_max >> 10,
	               w.to_peer_max >> 10, POOL_LIMIT >> 10);
	for (int i = 0; i < POOL_STREAMS; i++) {
		struct tp_pump *producer = slow_service ? w.ds[i]->pump : w.gs[i]->pump;
		struct tp_pump *consumer = slow_service ? w.gs[i]->pump : w.ds[i]->pump;
		g_assert_cmpint(producer->err, ==, 0);
		g_assert_cmpint(consumer->err, ==, 0);
		g_assert_true(consumer->eof);
		g_assert_cmpuint(consumer->received, ==, POOL_PUSH);
		g_assert_cmpmem(consumer->recv_sha, TP_SHA_LEN, producer->sent_sha, TP_SHA_LEN);
		g_assert_cmpstr(w.gs[i]->reason, ==, "done");
	}
	g_assert_cmpuint(w.max_streams_seen, ==, POOL_STREAMS);
	if (slow_service) /* the pool's limit and the one message that passed it */
		g_assert_cmpuint(w.to_sockets_max, <=, POOL_LIMIT + PP_FRAME_DATA_MAX);
	else /* each stream's share (limit / streams), a read of 4 KiB past it, headers */
		g_assert_cmpuint(w.to_peer_max, <=,
		                 POOL_LIMIT + POOL_STREAMS * (PP_TSTREAM_SHARE_READ + 1024));
	tp_pair_free(tp);
}

static void test_pool_slow_services(void)
{
	run_pool(true);
}

static void test_pool_slow_clients(void)
{
	run_pool(false);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tunnel/flow/slow-service", test_slow_service);
	g_test_add_func("/tunnel/flow/slow-client", test_slow_client);
	g_test_add_func("/tunnel/flow/stuck-service-recovers", test_stuck_service_recovers);
	g_test_add_func("/tunnel/flow/stalled-service-ended", test_stalled_service_ended);
	g_test_add_func("/tunnel/flow/pool-slow-services", test_pool_slow_services);
	g_test_add_func("/tunnel/flow/pool-slow-clients", test_pool_slow_clients);
	return g_test_run();
}
