/* SPDX-License-Identifier: Apache-2.0 */
/* Data-message encoder: round trips of every format, the zstd stream's
 * history across other messages, its restart after a discarded attempt,
 * and the adaptive policy. */
#include "peerpipe/error.h"
#include "peerpipe/tunnel/frame.h"
#include "test_data.h"

#include <glib.h>
#include <string.h>

static uint8_t msg[PP_FRAME_MSG_MAX];
static uint8_t out[PP_FRAME_DATA_MAX];
static uint8_t sql[PP_FRAME_DATA_MAX], rnd[PP_FRAME_DATA_MAX], zeros[PP_FRAME_DATA_MAX];
static const uint8_t zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

/* Encodes, checks the size rule, decodes and compares; returns the flags
 * byte and leaves the message in msg[0..*wire). */
static unsigned rt(struct pp_frame_encoder *e, struct pp_frame_decoder *d,
                   const uint8_t *data, size_t len, bool congested, size_t *wire)
{
	size_t n = 0, got = 0;
	const char *why = "";

	g_assert_cmpint(pp_frame_encode(e, data, len, congested, msg, sizeof(msg), &n), ==, 0);
	g_assert_cmpuint(n, >=, 1);
	g_assert_cmpuint(n, <=, len + 1); /* never larger than raw */
	if (msg[0] != PP_FRAME_RAW)
		g_assert_cmpuint(n, <, len + 1); /* compressed only when smaller */
	int rc = pp_frame_decode(d, msg, n, out, &got, &why);
	if (rc)
		g_test_message("decode: %s", why);
	g_assert_cmpint(rc, ==, 0);
	g_assert_cmpmem(out, got, data, len);
	if (wire)
		*wire = n;
	return msg[0];
}

static void test_roundtrip(void)
{
	static const enum pp_frame_policy pol[] = {
		PP_FRAME_POLICY_OFF, PP_FRAME_POLICY_LZ4, PP_FRAME_POLICY_ZSTD,
		PP_FRAME_POLICY_ZSTD_STREAM, PP_FRAME_POLICY_AUTO,
	};
	static const unsigned forced[] = { 0, 1, 2, 3 };
	const struct {
		const uint8_t *p;
		size_t len;
		int kind; /* 0 raw (random or short), 1 compressible, 2 either */
	} in[] = {
		{ sql, 0, 0 },      { sql, 1, 0 },      { sql, 63, 0 },
		{ sql, 64, 2 },     { sql, 1000, 1 },   { sql, 65536, 1 },
		{ rnd, 65536, 0 },  { zeros, 65536, 1 }, { rnd + 7, 5000, 0 },
		{ zeros, 65535, 1 }, { sql + 3, 30000, 1 },
	};

	for (size_t p = 0; p < G_N_ELEMENTS(pol); p++) {
		for (int c = 0; c < 2; c++) {
			struct pp_frame_encoder *e = pp_frame_encoder_new(PP_FRAME_FMT_ALL);
			struct pp_frame_decoder *d = pp_frame_decoder_new(PP_FRAME_FMT_ALL);
			pp_frame_encoder_set_policy(e, pol[p]);
			for (size_t i = 0; i < G_N_ELEMENTS(in); i++) {
				unsigned f = rt(e, d, in[i].p, in[i].len, c, NULL);
				unsigned want = pol[p] == PP_FRAME_POLICY_AUTO ? (c ? 3u : 1u)
				                                                : forced[p];
				if (in[i].kind < 2)
					g_assert_cmpuint(f, ==, in[i].kind ? want : 0);
			}
			pp_frame_encoder_free(e);
			pp_frame_decoder_free(d);
		}
	}
}

/* Every LZ4 message is a block of its own: the same message encodes to
 * the same bytes the second time (no history from the first), and a
 * decoder that never saw the first decodes the second. */
static void test_lz4_independent(void)
{
	struct pp_frame_encoder *e = pp_frame_encoder_new(PP_FRAME_FMT_ALL);
	struct pp_frame_decoder *d = pp_frame_decoder_new(PP_FRAME_FMT_ALL);
	static uint8_t first[PP_FRAME_MSG_MAX];
	size_t n1 = 0, n2 = 0, got = 0;
	const char *why = "";

	pp_frame_encoder_set_policy(e, PP_FRAME_POLICY_LZ4);
	g_assert_cmpint(pp_frame_encode(e, sql, 3000, false, first, sizeof(first), &n1), ==, 0);
	g_assert_cmpint(pp_frame_encode(e, sql, 3000, false, msg, sizeof(msg), &n2), ==, 0);
	g_assert_cmpuint(first[0], ==, PP_FRAME_LZ4);
	g_assert_cmpmem(first, n1, msg, n2);
	g_assert_cmpint(pp_frame_decode(d, msg, n2, out, &got, &why), ==, 0);
	g_assert_cmpmem(out, got, sql, 3000);
	pp_frame_encoder_free(e);
	pp_frame_decoder_free(d);
}

static void test_encode_limits(void)
{
	struct pp_frame_encoder *e = pp_frame_encoder_new(PP_FRAME_FMT_ALL);
	size_t n;

	g_assert_cmpint(pp_frame_encode(e, sql, 65537, false, msg, sizeof(msg), &n), ==,
	                PP_ERR_TOO_BIG);
	g_assert_cmpint(pp_frame_encode(e, sql, 1000, false, msg, 1000, &n), ==, PP_ERR_TOO_BIG);
	/* raw size is always enough, even for incompressible data */
	g_assert_cmpint(pp_frame_encode(e, rnd, 1000, false, msg, 1001, &n), ==, 0);
	g_assert_cmpuint(n, ==, 1001);
	g_assert_cmpint(pp_frame_encode(e, sql, 65536, true, msg, 65537, &n), ==, 0);
	g_assert_cmpint(pp_frame_encode(e, sql, 0, false, msg, 1, &n), ==, 0);
	g_assert_cmpuint(n, ==, 1);
	g_assert_cmpuint(msg[0], ==, 0);
	pp_frame_encoder_free(e);
}

static size_t send_as(struct pp_frame_encoder *e, struct pp_frame_decoder *d,
                      enum pp_frame_policy p, const uint8_t *data, size_t len, unsigned want)
{
	size_t n;
	pp_frame_encoder_set_policy(e, p);
	g_assert_cmpuint(rt(e, d, data, len, false, &n), ==, want);
	return n;
}

/* Only flag-3 messages are stream history, and it survives the others. */
static void test_stream_history(void)
{
	struct pp_frame_encoder *e = pp_frame_encoder_new(PP_FRAME_FMT_ALL);
	struct pp_frame_decoder *d = pp_frame_decoder_new(PP_FRAME_FMT_ALL);
	const uint8_t *a = sql + 10000;

	size_t first = send_as(e, d, PP_FRAME_POLICY_ZSTD_STREAM, a, 20000, 3);
	send_as(e, d, PP_FRAME_POLICY_LZ4, sql + 40000, 8000, 1);
	send_as(e, d, PP_FRAME_POLICY_ZSTD, sql + 1000, 8000, 2);
	send_as(e, d, PP_FRAME_POLICY_OFF, rnd, 8000, 0);
	send_as(e, d, PP_FRAME_POLICY_AUTO, rnd, 20, 0);
	size_t again = send_as(e, d, PP_FRAME_POLICY_ZSTD_STREAM, a, 20000, 3);
	g_test_message("20000 bytes: %zu as a new stream, %zu when repeated", first, again);
	g_assert_cmpuint(first, >, 1000);
	g_assert_cmpuint(again, <, 100);
	pp_frame_encoder_free(e);
	pp_frame_decoder_free(d);
}

/* A discarded stream attempt: raw goes out, and the next flag-3 message
 * ends the old frame (01 00 00) before a new one begins. */
static void test_stream_restart(void)
{
	struct pp_frame_encoder *e = pp_frame_encoder_new(PP_FRAME_FMT_ZSTD);
	struct pp_frame_decoder *d = pp_frame_decoder_new(PP_FRAME_FMT_ZSTD);
	static const uint8_t term[3] = { 1, 0, 0 };
	const enum pp_frame_policy s = PP_FRAME_POLICY_ZSTD_STREAM;
	struct pp_frame_stats st;

	send_as(e, d, s, rnd, 4000, 0); /* nothing sent yet: nothing to end */
	send_as(e, d, s, sql, 4000, 3);
	g_assert_cmpmem(msg + 1, 4, zstd_magic, 4);
	send_as(e, d, s, rnd + 100, 4000, 0);
	send_as(e, d, s, rnd + 200, 4000, 0);
	pp_frame_encoder_stats(e, &st);
	g_assert_cmpuint(st.restarts, ==, 1);
	send_as(e, d, s, sql + 100, 4000, 3);
	g_assert_cmpmem(msg + 1, 3, term, 3);
	g_assert_cmpmem(msg + 4, 4, zstd_magic, 4);
	send_as(e, d, s, sql + 200, 4000, 3);
	g_assert_true(memcmp(msg + 1, term, 3) != 0 && memcmp(msg + 1, zstd_magic, 4) != 0);

	/* Shrinking an idle stream restarts it the same way. */
	size_t busy = pp_frame_encoder_memory(e);
	pp_frame_encoder_shrink(e);
	g_assert_cmpuint(pp_frame_encoder_memory(e), <, 1024);
	g_assert_cmpuint(busy, >, 100000);
	send_as(e, d, s, sql + 300, 4000, 3);
	g_assert_cmpmem(msg + 1, 3, term, 3);
	send_as(e, d, s, sql + 400, 4000, 3);
	pp_frame_encoder_stats(e, &st);
	g_assert_cmpuint(st.msgs[3], ==, 5);
	g_assert_cmpuint(st.msgs[0], ==, 3);
	pp_frame_encoder_free(e);
	pp_frame_decoder_free(d);
}

/* Random data: few attempts; compressible data afterwards: picked up again. */
static void adaptive_run(bool congested, unsigned want)
{
	struct pp_frame_encoder *e = pp_frame_encoder_new(PP_FRAME_FMT_ALL);
	struct pp_frame_decoder *d = pp_frame_decoder_new(PP_FRAME_FMT_ALL);
	struct pp_frame_stats st;
	uint8_t *buf = g_malloc(16384);
	int first_hit = -1;

	for (int i = 0; i < 10; i++) /* some history first */
		g_assert_cmpuint(rt(e, d, sql + i * 1024, 16384, congested, NULL), ==, want);
	for (int i = 0; i < 200; i++) {
		td_random(buf, 16384, (uint64_t)i + 1);
		g_assert_cmpuint(rt(e, d, buf, 16384, congested, NULL), ==, 0);
	}
	pp_frame_encoder_stats(e, &st);
	g_test_message("%s: 200 random messages, %" G_GUINT64_FORMAT
	               " sent untried, %" G_GUINT64_FORMAT " stream restarts",
	               congested ? "congested" : "not congested", st.skipped, st.restarts);
	g_assert_cmpuint(st.skipped, >=, 190);
	g_assert_cmpuint(st.restarts, ==, congested ? 1 : 0);
	for (int i = 0; i < 300; i++) {
		unsigned f = rt(e, d, sql + (i % 64) * 512, 16384, congested, NULL);
		if (first_hit < 0 && f != 0)
			first_hit = i;
		if (first_hit >= 0)
			g_assert_cmpuint(f, ==, want);
	}
	g_test_message("compressible again: compressed from message %d on", first_hit);
	g_assert_cmpint(first_hit, >=, 0);
	g_assert_cmpint(first_hit, <=, PP_FRAME_SKIP_MAX + 1);
	g_free(buf);
	pp_frame_encoder_free(e);
	pp_frame_decoder_free(d);
}

static void test_adaptive_skip(void)
{
	adaptive_run(false, 1);
	adaptive_run(true, 3);
}

static unsigned pick(unsigned formats, bool congested)
{
	struct pp_frame_encoder *e = pp_frame_encoder_new(formats);
	struct pp_frame_decoder *d = pp_frame_decoder_new(PP_FRAME_FMT_ALL);
	unsigned f = rt(e, d, sql, 16384, congested, NULL);
	pp_frame_encoder_free(e);
	pp_frame_decoder_free(d);
	return f;
}

/* Congested: ratio (zstd stream); keeping up: cheap (LZ4) or raw; only
 * what the peer listed. */
static void test_congestion_choice(void)
{
	g_assert_cmpuint(pick(PP_FRAME_FMT_ALL, false), ==, 1);
	g_assert_cmpuint(pick(PP_FRAME_FMT_ALL, true), ==, 3);
	g_assert_cmpuint(pick(PP_FRAME_FMT_ZSTD, false), ==, 0);
	g_assert_cmpuint(pick(PP_FRAME_FMT_ZSTD, true), ==, 3);
	g_assert_cmpuint(pick(PP_FRAME_FMT_LZ4, true), ==, 1);
	g_assert_cmpuint(pick(PP_FRAME_FMT_LZ4, false), ==, 1);
	g_assert_cmpuint(pick(0, true), ==, 0);
	g_assert_cmpuint(pick(0, false), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	td_sql(sql, sizeof(sql), 42);
	td_random(rnd, sizeof(rnd), 7);
	g_test_add_func("/tunnel/frame/roundtrip", test_roundtrip);
	g_test_add_func("/tunnel/frame/lz4_independent", test_lz4_independent);
	g_test_add_func("/tunnel/frame/encode_limits", test_encode_limits);
	g_test_add_func("/tunnel/frame/stream_history", test_stream_history);
	g_test_add_func("/tunnel/frame/stream_restart", test_stream_restart);
	g_test_add_func("/tunnel/frame/adaptive_skip", test_adaptive_skip);
	g_test_add_func("/tunnel/frame/congestion_choice", test_congestion_choice);
	return g_test_run();
}
