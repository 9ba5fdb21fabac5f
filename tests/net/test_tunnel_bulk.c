/* SPDX-License-Identifier: Apache-2.0 */
/* The tunnel under load: 50 MB each way at once on one stream (SHA-256
 * at both ends), every compression policy end to end, and 100 concurrent
 * streams of 1 MB each. Rates are printed for information only. */
#include "tunnel_pair.h"

#include "peerpipe/rtc/peer.h"
#include "peerpipe/tunnel/frame.h"

#include <string.h>

#define MB (1000u * 1000u)

static bool both_pumps_done(void *data)
{
	struct tp_pump **p = data;
	return tp_pump_done(p[0]) && tp_pump_done(p[1]);
}

static bool both_closed(void *data)
{
	struct tp_stream **s = data;
	return s[0]->closed && s[1]->closed;
}

/* Both directions at once on one stream: the client sends `up` bytes of
 * stream 1 while the service sends `down` bytes of stream 2; each reads
 * the other to EOF. */
static void run_bidir(int policy, uint64_t up, uint64_t down, const char *what)
{
	struct tp_pair_opts o = { .compression = policy };
	struct tunnel_pair *tp = tp_pair_new(&o);
	struct tp_service svc = { .pump = { .send = down, .seed = 2, .shut_wr = true } };

	tp_service_add(tp, "bulk", &svc);
	struct tp_pump_cfg c = { .send = up, .seed = 1, .shut_wr = true };
	gint64 t0 = g_get_monotonic_time();
	struct tp_stream *ds = tp_open(tp, "bulk", false, &c, NULL);
	struct tp_stream *gs = tp_wait_established(tp, ds, false);
	struct tp_pump *pumps[2] = { ds->pump, gs->pump };
	g_assert_true(tp_run_until(tp, both_pumps_done, pumps, 110000));
	double secs = (g_get_monotonic_time() - t0) / 1e6;
	struct tp_stream *both[2] = { ds, gs };
	g_assert_true(tp_run_until(tp, both_closed, both, 20000));

	struct tp_pump *cl = ds->pump, *sv = gs->pump;
	g_test_message("%s: %.1f MB up + %.1f MB down in %.2f s: %.1f MB/s each way, %.1f MB/s total",
	               what, up / 1e6, down / 1e6, secs, MAX(up, down) / 1e6 / secs,
	               (up + down) / 1e6 / secs);
	g_test_message("%s: wire desktop->gateway %.1f MB (%.2fx), gateway->desktop %.1f MB (%.2fx)",
	               what, ds->stats.wire_in / 1e6, ds->stats.wire_in ? (double)up / ds->stats.wire_in : 0,
	               gs->stats.wire_in / 1e6, gs->stats.wire_in ? (double)down / gs->stats.wire_in : 0);
	g_assert_cmpint(cl->err, ==, 0);
	g_assert_cmpint(sv->err, ==, 0);
	g_assert_false(cl->timed_out);
	g_assert_false(sv->timed_out);
	g_assert_true(cl->eof);
	g_assert_true(sv->eof);
	g_assert_cmpuint(cl->sent, ==, up);
	g_assert_cmpuint(sv->sent, ==, down);
	g_assert_cmpuint(sv->received, ==, up);
	g_assert_cmpuint(cl->received, ==, down);
	g_assert_cmpmem(sv->recv_sha, TP_SHA_LEN, cl->sent_sha, TP_SHA_LEN);
	g_assert_cmpmem(cl->recv_sha, TP_SHA_LEN, sv->sent_sha, TP_SHA_LEN);
	uint8_t want[TP_SHA_LEN];
	tp_gen_sha(1, up, want);
	g_assert_cmpmem(cl->sent_sha, TP_SHA_LEN, want, TP_SHA_LEN);
	g_assert_cmpstr(ds->reason, ==, "done");
	g_assert_cmpstr(gs->reason, ==, "done");
	g_assert_cmpuint(ds->stats.bytes_in, ==, up);
	g_assert_cmpuint(ds->stats.bytes_out, ==, down);
	g_assert_cmpuint(gs->stats.bytes_in, ==, down);
	g_assert_cmpuint(gs->stats.bytes_out, ==, up);
	/* What one side put on the wire is what the other took off it. */
	g_assert_cmpuint(ds->stats.wire_in, ==, gs->stats.wire_out);
	g_assert_cmpuint(gs->stats.wire_in, ==, ds->stats.wire_out);
	/* Both HELLOs said max_datagram 16384: on 127.0.0.1 the path MTU
	 * probes raise the packets to the DTLS limit. */
	g_assert_cmpuint(pp_peer_path_packet(pp_tsession_peer(tp->desk.s)), ==, 16320);
	g_assert_cmpuint(pp_peer_path_packet(pp_tsession_peer(tp->gw.s)), ==, 16320);
	if (policy == PP_FRAME_POLICY_OFF) {
		/* raw: a flags byte per message of at most 64 KiB, plus "EOF" */
		g_assert_cmpuint(ds->stats.wire_in, >=, up);
		g_assert_cmpuint(ds->stats.wire_in, <=, up + up / 65536 + 1 + 64);
	} else {
		/* half of the stream is text: some compression must show */
		g_assert_cmpuint(ds->stats.wire_in, <, up);
		g_assert_cmpuint(gs->stats.wire_in, <, down);
	}
	tp_pair_free(tp);
}

static void test_bulk_50mb(void)
{
	run_bidir(PP_FRAME_POLICY_AUTO, 50 * MB, 50 * MB, "auto");
}

static void test_policy_off(void)
{
	run_bidir(PP_FRAME_POLICY_OFF, 8 * MB, 8 * MB, "off");
}

static void test_policy_lz4(void)
{
	run_bidir(PP_FRAME_POLICY_LZ4, 8 * MB, 8 * MB, "lz4");
}

static void test_policy_zstd(void)
{
	run_bidir(PP_FRAME_POLICY_ZSTD, 8 * MB, 8 * MB, "zstd");
}

static void test_policy_zstd_stream(void)
{
	run_bidir(PP_FRAME_POLICY_ZSTD_STREAM, 8 * MB, 8 * MB, "zstd-stream");
}

/* 100 streams at once, 1 MB each: a third upload (the service answers the
 * SHA-256 of what it read), a third download (the service sends, the
 * client hashes), a third echo. */
#define N_CONC 100
#define CONC_SIZE (1u << 20)

static bool all_done(void *data)
{
	struct tp_stream **ds = data;
	for (int i = 0; i < N_CONC; i++)
		if (!tp_pump_done(ds[i]->pump))
			return false;
	return true;
}

static bool all_closed(void *data)
{
	struct tunnel_pair *tp = data;
	return pp_tsession_stream_count(tp->gw.s) == 0 && pp_tsession_stream_count(tp->desk.s) == 0;
}

static void test_concurrent(void)
{
	struct tunnel_pair *tp = tp_pair_new(NULL);
	struct tp_stream *ds[N_CONC];
	char label[32];

	for (int i = 0; i < N_CONC; i++) {
		struct tp_service svc = { 0 };
		switch (i % 3) {
		case 0:
			svc.pump.sha_reply = true;
			break;
		case 1:
			svc.pump = (struct tp_pump_cfg){ .send = CONC_SIZE, .seed = 1000 + i, .shut_wr = true };
			break;
		case 2:
			svc.pump.echo = true;
			break;
		}
		g_snprintf(label, sizeof(label), "svc-%d", i);
		tp_service_add(tp, label, &svc);
	}
	gint64 t0 = g_get_monotonic_time();
	for (int i = 0; i < N_CONC; i++) {
		struct tp_pump_cfg c = { .seed = (uint32_t)i, .shut_wr = true };
		if (i % 3 != 1)
			c.send = CONC_SIZE;
		g_snprintf(label, sizeof(label), "svc-%d", i);
		ds[i] = tp_open(tp, label, false, &c, NULL);
	}
	g_assert_cmpuint(pp_tsession_stream_count(tp->desk.s), ==, N_CONC);
	g_assert_true(tp_run_until(tp, all_done, ds, 110000));
	double secs = (g_get_monotonic_time() - t0) / 1e6;
	unsigned mib = 0;
	for (int i = 0; i < N_CONC; i++)
		mib += (i % 3 == 2 ? 2 : 1) * CONC_SIZE / (1 << 20); /* echo: both ways */
	g_test_message("%d streams at once, %u MiB through the tunnel in %.2f s", N_CONC, mib, secs);
	for (int i = 0; i < N_CONC; i++) {
		struct tp_pump *p = ds[i]->pump;
		uint8_t want[TP_SHA_LEN];
		g_assert_cmpint(p->err, ==, 0);
		g_assert_false(p->timed_out);
		g_assert_true(p->eof);
		switch (i % 3) {
		case 0:
			tp_gen_sha((uint32_t)i, CONC_SIZE, want);
			g_assert_cmpuint(p->received, ==, TP_SHA_LEN);
			g_assert_cmpmem(p->head, TP_SHA_LEN, want, TP_SHA_LEN);
			break;
		case 1:
			tp_gen_sha(1000 + (uint32_t)i, CONC_SIZE, want);
			g_assert_cmpuint(p->received, ==, CONC_SIZE);
			g_assert_cmpmem(p->recv_sha, TP_SHA_LEN, want, TP_SHA_LEN);
			break;
		case 2:
			tp_gen_sha((uint32_t)i, CONC_SIZE, want);
			g_assert_cmpuint(p->received, ==, CONC_SIZE);
			g_assert_cmpmem(p->recv_sha, TP_SHA_LEN, want, TP_SHA_LEN);
			break;
		}
	}
	g_assert_true(tp_run_until(tp, all_closed, tp, 30000));
	for (int i = 0; i < N_CONC; i++) {
		struct tp_stream *gs = tp_peer_stream(tp, ds[i]);
		g_assert_nonnull(gs);
		g_assert_true(ds[i]->closed);
		g_assert_true(gs->closed);
		g_assert_cmpstr(ds[i]->reason, ==, "done");
		g_assert_cmpstr(gs->reason, ==, "done");
		g_assert_true(tp_run_until(tp, tp_pred_pump_done, gs->pump, 10000));
		g_assert_cmpint(gs->pump->err, ==, 0);
		g_assert_true(gs->pump->eof);
	}
	g_assert_cmpint(pp_tsession_get_state(tp->gw.s), ==, PP_TSESSION_READY);
	tp_pair_free(tp);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tunnel/bulk/50mb-each-way", test_bulk_50mb);
	g_test_add_func("/tunnel/bulk/policy-off", test_policy_off);
	g_test_add_func("/tunnel/bulk/policy-lz4", test_policy_lz4);
	g_test_add_func("/tunnel/bulk/policy-zstd", test_policy_zstd);
	g_test_add_func("/tunnel/bulk/policy-zstd-stream", test_policy_zstd_stream);
	g_test_add_func("/tunnel/bulk/100-concurrent", test_concurrent);
	return g_test_run();
}
