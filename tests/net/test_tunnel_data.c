/* SPDX-License-Identifier: Apache-2.0 */
/* The tunnel (stream bridge + session, tunnel.md §3-4) with the real stack:
 * a gateway and a desktop session over 127.0.0.1, TCP services of the test.
 * Echo round trips, half-close, resets, and the session's BYE. */
#include "tunnel_pair.h"

#include "peerpipe/tunnel/ctrl.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* --- echo --------------------------------------------------------------------- */

/* Round trips on one connection: for each size, send it while reading the
 * echo back, compare; then half-close and expect EOF. Blocking logic on
 * poll(2), in a thread. */
struct rr {
	int fd;
	const size_t *sizes;
	size_t n_sizes;
	size_t done_trips;
	bool eof;
	int err;
	volatile gint done;
	GMainContext *wake;
};

static gpointer rr_main(gpointer data)
{
	struct rr *r = data;
	gint64 deadline = g_get_monotonic_time() + 90 * G_USEC_PER_SEC;
	uint8_t *tx = g_malloc(1 << 20), *rx = g_malloc(1 << 20);

	tp_set_nonblock(r->fd);
	for (size_t t = 0; t < r->n_sizes && !r->err; t++) {
		size_t len = r->sizes[t], so = 0, ro = 0;
		for (size_t i = 0; i < len; i++)
			tx[i] = (uint8_t)(i * 131 + t * 7 + (i >> 11));
		while (ro < len && !r->err) {
			struct pollfd pfd = { .fd = r->fd, .events = POLLIN | (so < len ? POLLOUT : 0) };
			if (g_get_monotonic_time() > deadline) {
				r->err = ETIMEDOUT;
				break;
			}
			if (poll(&pfd, 1, 100) < 0)
				continue;
			if (so < len && (pfd.revents & POLLOUT)) {
				ssize_t n = send(r->fd, tx + so, len - so, MSG_NOSIGNAL);
				if (n > 0)
					so += (size_t)n;
				else if (n < 0 && errno != EAGAIN)
					r->err = errno;
			}
			if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t n = recv(r->fd, rx + ro, len - ro, 0);
				if (n > 0)
					ro += (size_t)n;
				else if (n == 0)
					r->err = EPIPE; /* EOF in the middle of a round trip */
				else if (errno != EAGAIN)
					r->err = errno;
			}
		}
		if (!r->err && memcmp(tx, rx, len) != 0)
			r->err = EBADMSG;
		if (!r->err)
			r->done_trips++;
	}
	if (!r->err) {
		shutdown(r->fd, SHUT_WR);
		for (;;) {
			struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
			if (g_get_monotonic_time() > deadline) {
				r->err = ETIMEDOUT;
				break;
			}
			poll(&pfd, 1, 100);
			ssize_t n = recv(r->fd, rx, 1 << 20, 0);
			if (n == 0) {
				r->eof = true;
				break;
			}
			if (n > 0) {
				r->err = EBADMSG; /* nothing more was due */
				break;
			}
			if (errno != EAGAIN) {
				r->err = errno;
				break;
			}
		}
	}
	close(r->fd);
	g_free(tx);
	g_free(rx);
	g_atomic_int_set(&r->done, 1);
	g_main_context_wakeup(r->wake);
	return NULL;
}

static bool rr_done(void *data)
{
	return g_atomic_int_get(&((struct rr *)data)->done) != 0;
}

static bool both_closed(void *data)
{
	struct tp_stream **s = data;
	return s[0]->closed && s[1]->closed;
}

static void assert_done_both(struct tunnel_pair *tp, struct tp_stream *ds, struct tp_stream *gs)
{
	struct tp_stream *both[2] = { ds, gs };

	g_assert_true(tp_run_until(tp, both_closed, both, 20000));
	g_assert_cmpstr(ds->reason, ==, "done");
	g_assert_cmpstr(gs->reason, ==, "done");
}

static void run_echo_round_trips(bool unix_socket)
{
	static const size_t sizes[] = { 1, 65536, 1 << 20, 1, 65536 + 1, 7 };
	struct tunnel_pair *tp = tp_pair_new(NULL);
	struct tp_service echo = { .pump = { .echo = true } };
	int cfd = -1;

	tp_service_add(tp, "echo", &echo);
	struct tp_stream *ds = tp_open(tp, "echo", unix_socket, NULL, &cfd);
	struct tp_stream *gs = tp_wait_established(tp, ds, false);
	g_assert_nonnull(gs);
	g_assert_cmpint(ds->last_text, ==, PP_CTRL_CONNECTED);
	g_assert_cmpstr(gs->label, ==, "echo");

	struct rr r = { .fd = cfd, .sizes = sizes, .n_sizes = G_N_ELEMENTS(sizes), .wake = tp->ctx };
	gint64 t0 = g_get_monotonic_time();
	GThread *th = g_thread_new("rr", rr_main, &r);
	g_assert_true(tp_run_until(tp, rr_done, &r, 100000));
	g_thread_join(th);
	g_test_message("%zu round trips in %.1f ms", r.done_trips, (g_get_monotonic_time() - t0) / 1000.0);
	g_assert_cmpint(r.err, ==, 0);
	g_assert_cmpuint(r.done_trips, ==, G_N_ELEMENTS(sizes));
	g_assert_true(r.eof);

	assert_done_both(tp, ds, gs);
	size_t total = 0;
	for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++)
		total += sizes[i];
	g_assert_cmpuint(ds->stats.bytes_in, ==, total);
	g_assert_cmpuint(ds->stats.bytes_out, ==, total);
	g_assert_cmpuint(gs->stats.bytes_in, ==, total);
	g_assert_cmpuint(gs->stats.bytes_out, ==, total);
	g_assert_true(tp_run_until(tp, tp_pred_pump_done, gs->pump, 10000));
	g_assert_true(gs->pump->eof);
	g_assert_cmpint(gs->pump->err, ==, 0);
	g_assert_cmpuint(gs->pump->received, ==, total);
	g_assert_cmpuint(pp_tsession_stream_count(tp->desk.s), ==, 0);
	g_assert_cmpuint(pp_tsession_stream_count(tp->gw.s), ==, 0);
	tp_pair_free(tp);
}

static void test_echo_tcp(void)
{
	run_echo_round_trips(false);
}

static void test_echo_unix(void)
{
	run_echo_round_trips(true);
}

/* One stream per size, each echoed with a half-close from the client;
 * several at once, checked by SHA-256. */
static void test_echo_streams(void)
{
	static const uint64_t sizes[] = { 1, 65536, 1 << 20 };
	struct tunnel_pair *tp = tp_pair_new(NULL);
	struct tp_service echo = { .pump = { .echo = true } };
	struct tp_stream *ds[G_N_ELEMENTS(sizes) * 2];

	tp_service_add(tp, "echo", &echo);
	for (size_t i = 0; i < G_N_ELEMENTS(ds); i++) {
		struct tp_pump_cfg c = { .send = sizes[i % 3], .seed = (uint32_t)i, .shut_wr = true };
		ds[i] = tp_open(tp, "echo", i >= 3, &c, NULL);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(ds); i++) {
		struct tp_pump *p = ds[i]->pump;
		uint8_t want[TP_SHA_LEN];
		g_assert_true(tp_run_until(tp, tp_pred_pump_done, p, 60000));
		tp_gen_sha((uint32_t)i, sizes[i % 3], want);
		g_assert_cmpint(p->err, ==, 0);
		g_assert_true(p->eof);
		g_assert_cmpuint(p->received, ==, sizes[i % 3]);
		g_assert_cmpmem(p->sent_sha, TP_SHA_LEN, want, TP_SHA_LEN);
		g_assert_cmpmem(p->recv_sha, TP_SHA_LEN, want, TP_SHA_LEN);
		assert_done_both(tp, ds[i], tp_peer_stream(tp, ds[i]));
	}
	tp_pair_free(tp);
}

/* --- half-close ------------------------------------------------------------------ */

/* The client sends a request and shuts its write side; the service reads
 * to EOF, answers the SHA-256 of what it read and closes; the client reads
 * the answer, then EOF; the stream ends "done" on both sides. */
static void test_half_close(void)
{
	static const uint64_t sizes[] = { 0, 1, 300000, 5 << 20 };
	struct tunnel_pair *tp = tp_pair_new(NULL);
	struct tp_service sha = { .pump = { .sha_reply = true } };

	tp_service_add(tp, "sha", &sha);
	for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
		struct tp_pump_cfg c = { .send = sizes[i], .seed = 40 + (uint32_t)i, .shut_wr = true };
		struct tp_stream *ds = tp_open(tp, "sha", false, &c, NULL);
		uint8_t want[TP_SHA_LEN];

		g_assert_true(tp_run_until(tp, tp_pred_pump_done, ds->pump, 60000));
		struct tp_stream *gs = tp_peer_stream(tp, ds);
		g_assert_nonnull(gs);
		assert_done_both(tp, ds, gs);
		tp_gen_sha(c.seed, c.send, want);
		g_assert_cmpint(ds->pump->err, ==, 0);
		g_assert_true(ds->pump->eof);
		g_assert_cmpuint(ds->pump->received, ==, TP_SHA_LEN);
		g_assert_cmpmem(ds->pump->head, TP_SHA_LEN, want, TP_SHA_LEN);
		g_assert_true(tp_run_until(tp, tp_pred_pump_done, gs->pump, 10000));
		g_assert_true(gs->pump->eof);
		g_assert_cmpint(gs->pump->err, ==, 0);
		g_assert_cmpuint(gs->pump->received, ==, sizes[i]);
		g_assert_cmpuint(gs->stats.bytes_in, ==, TP_SHA_LEN);
		g_assert_cmpuint(gs->stats.bytes_out, ==, sizes[i]);
	}
	tp_pair_free(tp);
}

/* The service half-closes first and keeps reading: data keep flowing
 * toward it after its EOF went through the tunnel. */
static void test_half_close_service_first(void)
{
	struct tunnel_pair *tp = tp_pair_new(NULL);
	/* The service sends 100 kB and shuts; it reads the client to EOF. */
	struct tp_service svc = { .pump = { .send = 100000, .seed = 7, .shut_wr = true } };
	tp_service_add(tp, "first", &svc);
	/* The client reads, and sends 3 MB once the service's EOF is in
	 * (gated by the main thread). */
	static volatile gint gate;
	gate = 0;
	struct tp_pump_cfg c = { .send = 3 << 20, .seed = 8, .shut_wr = true, .pause_at = 1, .gate = &gate };
	/* pause_at = 1: one byte goes out, then the client waits. */
	struct tp_stream *ds = tp_open(tp, "first", false, &c, NULL);
	struct tp_stream *gs = tp_wait_established(tp, ds, false);
	/* The client has all 100 kB: the service's EOF went through first
	 * (the service is still reading). */
	g_assert_true(tp_wait_received(tp, ds->pump, 100000, 20000));
	tp_run_for(tp, 100);
	g_assert_false(ds->closed);
	g_assert_false(tp_pump_done(gs->pump));
	g_atomic_int_set(&gate, 1);
	g_assert_true(tp_run_until(tp, tp_pred_pump_done, ds->pump, 60000));
	g_assert_true(tp_run_until(tp, tp_pred_pump_done, gs->pump, 60000));
	assert_done_both(tp, ds, gs);
	uint8_t want[TP_SHA_LEN];
	tp_gen_sha(7, 100000, want);
	g_assert_true(ds->pump->eof);
	g_assert_cmpint(ds->pump->err, ==, 0);
	g_assert_cmpmem(ds->pump->recv_sha, TP_SHA_LEN, want, TP_SHA_LEN);
	g_assert_true(gs->pump->eof);
	g_assert_cmpint(gs->pump->err, ==, 0);
	g_assert_cmpuint(gs->pump->received, ==, 3 << 20);
	g_assert_cmpmem(gs->pump->recv_sha, TP_SHA_LEN, ds->pump->sent_sha, TP_SHA_LEN);
	tp_pair_free(tp);
}

/* --- data before CONNECTED ------------------------------------------------------- */

/* The desktop has sent its 256 KiB and the gateway has received all of it. */
static bool gw_has_early(void *data)
{
	struct tp_stream **s = data;
	struct pp_tstream_stats d, g;

	if (!s[0]->st || !s[1]->st)
		return true;
	pp_tstream_get_stats(s[0]->st, &d);
	pp_tstream_get_stats(s[1]->st, &g);
	return d.bytes_in >= 256 * 1024 && g.wire_out == d.wire_in;
}

/* The desktop has read its client to EOF and the gateway has every
 * message it sent. */
static bool gw_has_all(void *data)
{
	struct tp_stream **s = data;
	struct pp_tstream_stats d, g;

	if (!s[0]->st || !s[1]->st)
		return true;
	pp_tstream_get_stats(s[0]->st, &d);
	pp_tstream_get_stats(s[1]->st, &g);
	/* 1000 random bytes go raw (1001 on the wire), then {"type":"EOF"} (14) */
	return d.bytes_in == 1000 && g.wire_out == d.wire_in && d.wire_in >= 1001 + 14;
}

/* The service is slow to accept: the client's first bytes wait at the
 * gateway (the opener sends at most 256 KiB before CONNECTED), then go to
 * the service first once it is connected; the rest follows. */
static void test_early_data(void)
{
	struct tunnel_pair *tp = tp_pair_new(NULL);
	struct tp_service hold = { .hold = true };
	struct tp_pump_cfg c = { .send = 3 << 20, .seed = 50, .shut_wr = true };
	struct tp_pump_cfg sha = { .sha_reply = true };
	struct pp_tstream_stats s;

	tp_service_add(tp, "late", &hold);
	struct tp_stream *ds = tp_open(tp, "late", false, &c, NULL);
	struct tp_stream *gs = tp_wait_established(tp, ds, true);
	struct tp_stream *both[2] = { ds, gs };
	g_assert_true(tp_run_until(tp, gw_has_early, both, 20000));
	g_assert_false(gs->closed);
	/* Nothing past the limit leaves the desktop while unconfirmed. */
	tp_run_for(tp, 300);
	g_assert_false(gs->closed);
	g_assert_false(ds->connected);
	pp_tstream_get_stats(ds->st, &s);
	g_test_message("before CONNECTED: desktop read %" G_GUINT64_FORMAT " bytes (%" G_GUINT64_FORMAT
	               " on the wire), the client wrote %" G_GUINT64_FORMAT,
	               s.bytes_in, s.wire_in, tp_pump_sent(ds->pump));
	g_assert_cmpuint(s.bytes_in, ==, 256 * 1024);
	pp_tstream_get_stats(gs->st, &s);
	g_assert_cmpuint(s.bytes_out, ==, 0);

	tp_gateway_connect(tp, gs, &sha);
	g_assert_true(tp_run_until(tp, tp_pred_pump_done, ds->pump, 60000));
	assert_done_both(tp, ds, gs);
	uint8_t want[TP_SHA_LEN];
	tp_gen_sha(50, 3 << 20, want);
	g_assert_cmpint(ds->pump->err, ==, 0);
	g_assert_true(ds->pump->eof);
	g_assert_cmpuint(ds->pump->received, ==, TP_SHA_LEN);
	g_assert_cmpmem(ds->pump->head, TP_SHA_LEN, want, TP_SHA_LEN);
	g_assert_cmpuint(gs->stats.bytes_out, ==, 3 << 20);
	tp_pair_free(tp);
}

/* The whole request, EOF included, arrives before the service is
 * connected: once it is, the service reads the request, then EOF, and
 * the stream ends normally. */
static void test_early_eof(void)
{
	struct tunnel_pair *tp = tp_pair_new(NULL);
	struct tp_service hold = { .hold = true };
	struct tp_pump_cfg c = { .send = 1000, .seed = 51, .shut_wr = true };
	struct tp_pump_cfg sha = { .sha_reply = true };

	tp_service_add(tp, "late", &hold);
	struct tp_stream *ds = tp_open(tp, "late", false, &c, NULL);
	struct tp_stream *gs = tp_wait_established(tp, ds, true);
	struct tp_stream *both[2] = { ds, gs };
	/* 1000 bytes and the EOF message (14 bytes) */
	g_assert_true(tp_run_until(tp, gw_has_all, both, 20000));
	tp_run_for(tp, 200);
	g_assert_false(gs->closed);
	tp_gateway_connect(tp, gs, &sha);
	g_assert_true(tp_run_until(tp, tp_pred_pump_done, ds->pump, 20000));
	assert_done_both(tp, ds, gs);
	uint8_t want[TP_SHA_LEN];
	tp_gen_sha(51, 1000, want);
	g_assert_cmpint(ds->pump->err, ==, 0);
	g_assert_true(ds->pump->eof);
	g_assert_cmpuint(ds->pump->received, ==, TP_SHA_LEN);
	g_assert_cmpmem(ds->pump->head, TP_SHA_LEN, want, TP_SHA_LEN);
	tp_pair_free(tp);
}

/* --- CONNECTED with the service's first bytes (pp_tstream_send_text_soon) ------------ */

static uint64_t connected_len(void)
{
	char *j = pp_ctrl_build_connected();
	uint64_t n = strlen(j);

	free(j);
	return n;
}

/* A service that speaks first: CONNECTED, held for a minute, goes just
 * ahead of its first bytes (nothing reached the desktop before it). */
static void test_connected_soon_banner(void)
{
	struct tunnel_pair *tp = tp_pair_new(NULL);
	struct tp_service banner = { .pump = { .send = 3000, .seed = 61, .shut_wr = true },
	                             .connected_hold_ms = 60000 };
	struct tp_pump_cfg c = { .shut_wr = true };

	tp_service_add(tp, "banner", &banner);
	struct tp_stream *ds = tp_open(tp, "banner", false, &c, NULL);
	g_assert_true(tp_run_until(tp, tp_pred_pump_done, ds->pump, 20000));
	g_assert_true(ds->connected);
	g_assert_cmpuint(ds->wire_at_connected, ==, connected_len());
	g_assert_cmpuint(ds->pump->received, ==, 3000);
	assert_done_both(tp, ds, tp_peer_stream(tp, ds));
	tp_pair_free(tp);
}

/* A service that says nothing: CONNECTED goes alone when its delay is over. */
static void test_connected_soon_silent(void)
{
	struct tunnel_pair *tp = tp_pair_new(NULL);
	struct tp_service quiet = { .pump = { .hold_open = true }, .connected_hold_ms = 50 };
	struct tp_pump_cfg c = { .hold_open = true };

	tp_service_add(tp, "quiet", &quiet);
	struct tp_stream *ds = tp_open(tp, "quiet", false, &c, NULL);
	tp_wait_established(tp, ds, false);
	g_assert_cmpuint(ds->wire_at_connected, ==, connected_len());
	tp_pair_free(tp);
}

/* A service that closes without a byte: CONNECTED (held for a minute)
 * goes ahead of the gateway's EOF, and the stream ends normally. */
static void test_connected_soon_eof(void)
{
	struct tunnel_pair *tp = tp_pair_new(NULL);
	struct tp_service mute = { .pump = { .shut_wr = true }, .connected_hold_ms = 60000 };
	struct tp_pump_cfg c = { .shut_wr = true };

	tp_service_add(tp, "mute", &mute);
	struct tp_stream *ds = tp_open(tp, "mute", false, &c, NULL);
	g_assert_true(tp_run_until(tp, tp_pred_pump_done, ds->pump, 20000));
	g_assert_true(ds->connected);
	g_assert_cmpuint(ds->wire_at_connected, ==, connected_len());
	g_assert_true(ds->pump->eof);
	assert_done_both(tp, ds, tp_peer_stream(tp, ds));
	tp_pair_free(tp);
}

/* --- resets ------------------------------------------------------------------------ */

/* The client resets its TCP connection (SO_LINGER 0): the stream is
 * aborted on both sides and the service's socket is reset. */
static void test_reset_by_client(void)
{
	struct tunnel_pair *tp = tp_pair_new(NULL);
	struct tp_service sink = { .pump = { 0 } }; /* reads to EOF */
	int cfd = -1;
	uint8_t buf[1000];

	tp_service_add(tp, "sink", &sink);
	struct tp_stream *ds = tp_open(tp, "sink", false, NULL, &cfd);
	struct tp_stream *gs = tp_wait_established(tp, ds, false);
	memset(buf, 'x', sizeof(buf));
	g_assert_cmpint(send(cfd, buf, sizeof(buf), MSG_NOSIGNAL), ==, (ssize_t)sizeof(buf));
	g_assert_true(tp_wait_received(tp, gs->pump, sizeof(buf), 20000));
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	g_assert_cmpint(setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), ==, 0);
	close(cfd);

	struct tp_stream *both[2] = { ds, gs };
	g_assert_true(tp_run_until(tp, both_closed, both, 20000));
	g_assert_true(tp_run_until(tp, tp_pred_pump_done, gs->pump, 10000));
	g_test_message("desktop: %s, gateway: %s, service: eof %d err %d (%s)", ds->reason, gs->reason,
	               gs->pump->eof, gs->pump->err, g_strerror(gs->pump->err));
	g_assert_cmpstr(ds->reason, !=, "done");
	g_assert_cmpstr(gs->reason, !=, "done");
	g_assert_cmpstr(ds->reason, ==, "socket reset");
	g_assert_cmpstr(gs->reason, ==, "reset by peer");
	/* The service must not mistake the abort for a complete stream. */
	g_assert_false(gs->pump->eof);
	g_assert_cmpint(gs->pump->err, ==, ECONNRESET);
	g_assert_cmpuint(gs->pump->received, ==, sizeof(buf));
	g_assert_cmpint(pp_tsession_get_state(tp->gw.s), ==, PP_TSESSION_READY);
	tp_pair_free(tp);
}

/* The service resets: the client's connection is reset in turn. */
static void test_reset_by_service(void)
{
	struct tunnel_pair *tp = tp_pair_new(NULL);
	struct tp_service rst = { .pump = { .rst_after = 5000 } };

	tp_service_add(tp, "rst", &rst);
	struct tp_pump_cfg c = { .send = 5000, .seed = 3 }; /* then reads, no shut */
	struct tp_stream *ds = tp_open(tp, "rst", false, &c, NULL);
	g_assert_true(tp_run_until(tp, tp_pred_pump_done, ds->pump, 20000));
	struct tp_stream *gs = tp_peer_stream(tp, ds);
	struct tp_stream *both[2] = { ds, gs };
	g_assert_true(tp_run_until(tp, both_closed, both, 20000));
	g_test_message("desktop: %s, gateway: %s, client: eof %d err %d", ds->reason, gs->reason,
	               ds->pump->eof, ds->pump->err);
	g_assert_cmpstr(gs->reason, ==, "socket reset");
	g_assert_cmpstr(ds->reason, ==, "reset by peer");
	g_assert_false(ds->pump->eof);
	g_assert_cmpint(ds->pump->err, ==, ECONNRESET);
	tp_pair_free(tp);
}

/* The service answers, half-closes, then resets while the client's upload
 * is still under way: the client got EOF, but its data were not all
 * delivered, so the stream is an abort, not "done", and the client's
 * connection is reset (as it would be without the tunnel). */
static void test_reset_after_eof(void)
{
	struct tunnel_pair *tp = tp_pair_new(NULL);
	/* The service resets once it has read all the client sent before its
	 * pause: the gateway then has nothing to write to it, so only the
	 * reset itself can tell (its socket is past EOF: see stream_sock.c). */
	struct tp_service svc = { .pump = { .send = 1000, .seed = 4, .shut_wr = true,
	                                    .rst_after = 4 * 65536 } };
	static volatile gint gate;

	gate = 0;
	tp_service_add(tp, "rst-after-eof", &svc);
	struct tp_pump_cfg c = { .send = 300000, .seed = 5, .shut_wr = true, .pause_at = 4 * 65536,
	                         .gate = &gate };
	struct tp_stream *ds = tp_open(tp, "rst-after-eof", false, &c, NULL);
	struct tp_stream *gs = tp_wait_established(tp, ds, false);
	struct tp_stream *both[2] = { ds, gs };
	g_assert_true(tp_run_until(tp, both_closed, both, 20000));
	g_test_message("desktop: %s, gateway: %s", ds->reason, gs->reason);
	g_assert_cmpstr(gs->reason, ==, "socket reset");
	g_assert_cmpstr(ds->reason, ==, "reset by peer");
	g_atomic_int_set(&gate, 1);
	g_assert_true(tp_run_until(tp, tp_pred_pump_done, ds->pump, 20000));
	g_test_message("client: eof %d, err %d (%s, %s), sent %" G_GUINT64_FORMAT, ds->pump->eof,
	               ds->pump->err, ds->pump->err_op ? ds->pump->err_op : "-",
	               g_strerror(ds->pump->err), ds->pump->sent);
	g_assert_cmpint(ds->pump->err, !=, 0);
	tp_pair_free(tp);
}

static bool eof_seen(void *pump)
{
	return g_atomic_int_get(&((struct tp_pump *)pump)->eof_seen) != 0;
}

/* The client sends a request and half-closes, the service reads it to EOF
 * and takes its time to answer; then the client goes away. The stream
 * holds nothing to read or write at that moment.
 * - TCP, the client resets: the reset alone must end the stream and reset
 *   the service's connection (the service must not work for nobody).
 * - UNIX socket, closed: like a TCP FIN, only the next write can tell;
 *   but the hangup poll() reports must not spin the loop meanwhile. */
static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void run_gone_after_half_close(bool unix_socket)
{
	struct tunnel_pair *tp = tp_pair_new(NULL);
	struct tp_service svc = { .pump = { .hold_open = true, .timeout_s = 60 } };
	int cfd = -1;
	uint8_t req[1000];

	tp_service_add(tp, "slow-answer", &svc);
	struct tp_stream *ds = tp_open(tp, "slow-answer", unix_socket, NULL, &cfd);
	struct tp_stream *gs = tp_wait_established(tp, ds, false);
	memset(req, 'q', sizeof(req));
	g_assert_cmpint(send(cfd, req, sizeof(req), MSG_NOSIGNAL), ==, (ssize_t)sizeof(req));
	g_assert_cmpint(shutdown(cfd, SHUT_WR), ==, 0);
	g_assert_true(tp_run_until(tp, eof_seen, gs->pump, 20000));
	g_assert_cmpuint(tp_pump_received(gs->pump), ==, sizeof(req));
	tp_run_for(tp, 100);
	g_assert_false(ds->closed);
	if (!unix_socket) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		g_assert_cmpint(setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), ==, 0);
	}
	close(cfd);

	struct tp_stream *both[2] = { ds, gs };
	double cpu0 = cpu_seconds();
	gint64 t0 = g_get_monotonic_time();
	bool closed = tp_run_until(tp, both_closed, both, unix_socket ? 1000 : 20000);
	double cpu = cpu_seconds() - cpu0;
	g_test_message("%s client gone: stream closed %d after %.0f ms, CPU %.2f s; desktop %s, gateway %s",
	               unix_socket ? "UNIX" : "TCP", closed, (g_get_monotonic_time() - t0) / 1000.0, cpu,
	               ds->closed ? ds->reason : "-", gs->closed ? gs->reason : "-");
	if (unix_socket) {
		g_assert_false(closed);
		g_assert_cmpfloat(cpu, <, 0.5); /* not spinning */
	} else {
		g_assert_true(closed);
		g_assert_cmpstr(ds->reason, ==, "socket reset");
		g_assert_cmpstr(gs->reason, ==, "reset by peer");
		g_assert_true(tp_run_until(tp, tp_pred_pump_done, gs->pump, 10000));
		g_assert_cmpint(gs->pump->err, !=, 0); /* the service saw the reset */
	}
	tp_pair_free(tp);
}

static void test_gone_after_half_close_tcp(void)
{
	run_gone_after_half_close(false);
}

static void test_gone_after_half_close_unix(void)
{
	run_gone_after_half_close(true);
}

/* A normal end after EOF both ways is "done" on both sides, and nobody
 * sees a reset. The gateway's close ends the desktop's stream too: its own
 * would only come after linger_ms (tunnel.md §4). */
static void test_normal_close(void)
{
	struct tp_pair_opts o = { .stream = { .linger_ms = 60000 } };
	struct tunnel_pair *tp = tp_pair_new(&o);
	struct tp_service echo = { .pump = { .echo = true } };

	tp_service_add(tp, "echo", &echo);
	struct tp_pump_cfg c = { .send = 1000, .seed = 9, .shut_wr = true };
	struct tp_stream *ds = tp_open(tp, "echo", false, &c, NULL);
	g_assert_true(tp_run_until(tp, tp_pred_pump_done, ds->pump, 20000));
	struct tp_stream *gs = tp_peer_stream(tp, ds);
	assert_done_both(tp, ds, gs);
	g_assert_true(tp_run_until(tp, tp_pred_pump_done, gs->pump, 10000));
	g_assert_true(ds->pump->eof);
	g_assert_cmpint(ds->pump->err, ==, 0);
	g_assert_true(gs->pump->eof);
	g_assert_cmpint(gs->pump->err, ==, 0);
	g_assert_cmpmem(ds->pump->recv_sha, TP_SHA_LEN, ds->pump->sent_sha, TP_SHA_LEN);
	g_assert_false(tp_log_contains(tp, "did not close the ended stream"));
	tp_pair_free(tp);
}

/* A gateway that sends EOF but never closes the finished stream: the
 * desktop waits linger_ms for it, then closes the channel itself, with a
 * warning; the stream still ends as "done". */
static void test_linger(void)
{
	struct tp_pair_opts o = { .stream = { .linger_ms = 300 } };
	struct tunnel_pair *tp = tp_pair_new(&o);
	struct tp_service mute = { .never_close = true };

	tp_service_add(tp, "mute", &mute);
	struct tp_pump_cfg c = { .send = 100, .seed = 4, .shut_wr = true };
	struct tp_stream *ds = tp_open(tp, "mute", false, &c, NULL);
	g_assert_true(tp_run_until(tp, tp_pred_pump_done, ds->pump, 20000));
	g_assert_true(ds->pump->eof);
	g_assert_true(ds->connected);
	g_assert_true(tp_run_until(tp, tp_pred_stream_closed, ds, 20000));
	g_assert_cmpstr(ds->reason, ==, "done");
	g_assert_true(tp_log_contains(tp, "did not close the ended stream"));
	tp_pair_free(tp);
}

/* An unknown service: DENIED, then the channel closes; the client socket
 * is closed without data. */
static void test_denied(void)
{
	struct tunnel_pair *tp = tp_pair_new(NULL);
	struct tp_pump_cfg c = { .send = 100, .seed = 1 };
	struct tp_stream *ds = tp_open(tp, "nosuch", false, &c, NULL);

	g_assert_true(tp_run_until(tp, tp_pred_stream_closed, ds, 20000));
	g_assert_cmpint(ds->last_text, ==, PP_CTRL_DENIED);
	g_assert_false(ds->connected);
	g_assert_cmpstr(ds->reason, !=, "done");
	g_assert_true(tp_run_until(tp, tp_pred_pump_done, ds->pump, 10000));
	g_assert_cmpuint(ds->pump->received, ==, 0);
	g_assert_false(ds->pump->eof); /* reset, not a clean end */
	struct tp_stream *gs = tp_peer_stream(tp, ds);
	g_assert_true(tp_run_until(tp, tp_pred_stream_closed, gs, 10000));
	g_assert_cmpstr(gs->reason, ==, "denied");
	tp_pair_free(tp);
}

/* --- session close --------------------------------------------------------------- */

static bool sessions_closed(void *data)
{
	struct tunnel_pair *tp = data;
	return tp->gw.closed && tp->desk.closed;
}

static void run_bye(bool from_desktop)
{
	struct tunnel_pair *tp = tp_pair_new(NULL);
	struct tp_service sink = { .pump = { 0 } };
	struct tp_side *closer = from_desktop ? &tp->desk : &tp->gw;
	struct tp_side *other = from_desktop ? &tp->gw : &tp->desk;

	tp_service_add(tp, "sink", &sink);
	/* One stream open (idle) when the session ends. */
	struct tp_pump_cfg c = { .send = 10, .seed = 1 };
	struct tp_stream *ds = tp_open(tp, "sink", false, &c, NULL);
	struct tp_stream *gs = tp_wait_established(tp, ds, false);
	g_assert_true(tp_wait_received(tp, gs->pump, 10, 20000));

	pp_tsession_close(closer->s, "bye");
	g_assert_true(tp_run_until(tp, sessions_closed, tp, 20000));
	g_test_message("%s: %s; %s: %s", closer->name, closer->closed_reason, other->name,
	               other->closed_reason);
	g_assert_cmpuint(other->controls->len, >=, 1);
	g_assert_cmpstr(g_ptr_array_index(other->controls, 0), ==, "BYE:bye");
	g_assert_cmpstr(closer->closed_reason, ==, "bye");
	g_assert_cmpint(pp_tsession_get_state(tp->gw.s), ==, PP_TSESSION_CLOSED);
	g_assert_cmpint(pp_tsession_get_state(tp->desk.s), ==, PP_TSESSION_CLOSED);
	/* The stream ended on both sides, not as a complete stream, and was
	 * reported before its session was. */
	g_assert_true(ds->closed);
	g_assert_true(gs->closed);
	g_test_message("stream: desktop %s, gateway %s", ds->reason, gs->reason);
	g_assert_cmpstr(ds->reason, !=, "done");
	g_assert_cmpstr(gs->reason, !=, "done");
	g_assert_true(tp_run_until(tp, tp_pred_pump_done, ds->pump, 10000));
	g_assert_true(tp_run_until(tp, tp_pred_pump_done, gs->pump, 10000));
	g_assert_false(ds->pump->eof);
	g_assert_false(gs->pump->eof);
	tp_pair_free(tp);
}

static void test_bye_desktop(void)
{
	run_bye(true);
}

static void test_bye_gateway(void)
{
	run_bye(false);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tunnel/echo/round-trips-tcp", test_echo_tcp);
	g_test_add_func("/tunnel/echo/round-trips-unix", test_echo_unix);
	g_test_add_func("/tunnel/echo/streams", test_echo_streams);
	g_test_add_func("/tunnel/half-close/client", test_half_close);
	g_test_add_func("/tunnel/half-close/service-first", test_half_close_service_first);
	g_test_add_func("/tunnel/early-data", test_early_data);
	g_test_add_func("/tunnel/early-eof", test_early_eof);
	g_test_add_func("/tunnel/connected-soon/banner", test_connected_soon_banner);
	g_test_add_func("/tunnel/connected-soon/silent", test_connected_soon_silent);
	g_test_add_func("/tunnel/connected-soon/eof", test_connected_soon_eof);
	g_test_add_func("/tunnel/reset/by-client", test_reset_by_client);
	g_test_add_func("/tunnel/reset/by-service", test_reset_by_service);
	g_test_add_func("/tunnel/reset/after-eof", test_reset_after_eof);
	g_test_add_func("/tunnel/reset/after-half-close-tcp", test_gone_after_half_close_tcp);
	g_test_add_func("/tunnel/reset/after-half-close-unix", test_gone_after_half_close_unix);
	g_test_add_func("/tunnel/reset/normal-close", test_normal_close);
	g_test_add_func("/tunnel/reset/linger", test_linger);
	g_test_add_func("/tunnel/denied", test_denied);
	g_test_add_func("/tunnel/bye/desktop", test_bye_desktop);
	g_test_add_func("/tunnel/bye/gateway", test_bye_gateway);
	return g_test_run();
}
