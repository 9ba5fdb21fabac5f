/* SPDX-License-Identifier: Apache-2.0 */
/* Memory held per encoder/decoder (idle streams must be cheap), and the
 * compression ratio of each format on a SQL-dump-like text (printed as
 * TAP diagnostics; speeds are printed for information, never asserted). */
#include "peerpipe/tunnel/frame.h"
#include "test_data.h"

#include <glib.h>
#include <string.h>

#define DUMP_LEN (8u << 20)

static uint8_t msg[PP_FRAME_MSG_MAX];
static uint8_t out[PP_FRAME_DATA_MAX];
static uint8_t *dump;

static size_t feed(struct pp_frame_encoder *e, struct pp_frame_decoder *d, size_t len,
                   bool congested)
{
	size_t n, got;
	const char *why;
	g_assert_cmpint(pp_frame_encode(e, dump, len, congested, msg, sizeof(msg), &n), ==, 0);
	g_assert_cmpint(pp_frame_decode(d, msg, n, out, &got, &why), ==, 0);
	g_assert_cmpmem(out, got, dump, len);
	return n;
}

static void test_memory(void)
{
	struct pp_frame_encoder *e = pp_frame_encoder_new(PP_FRAME_FMT_ALL);
	struct pp_frame_decoder *d = pp_frame_decoder_new(PP_FRAME_FMT_ALL);
	size_t idle_e = pp_frame_encoder_memory(e), idle_d = pp_frame_decoder_memory(d);

	g_test_message("idle encoder %zu bytes, idle decoder %zu bytes", idle_e, idle_d);
	g_assert_cmpuint(idle_e, <=, 256);
	g_assert_cmpuint(idle_d, <=, 256);

	feed(e, d, 16384, false); /* LZ4 */
	g_test_message("after LZ4: encoder %zu, decoder %zu", pp_frame_encoder_memory(e),
	               pp_frame_decoder_memory(d));
	g_assert_cmpuint(pp_frame_encoder_memory(e), <=, idle_e + 32768);
	g_assert_cmpuint(pp_frame_decoder_memory(d), ==, idle_d); /* stateless */

	for (int i = 0; i < 4; i++)
		feed(e, d, PP_FRAME_DATA_MAX, true); /* zstd stream */
	size_t se = pp_frame_encoder_memory(e), sd = pp_frame_decoder_memory(d);
	g_test_message("after zstd stream: encoder %zu, decoder %zu", se, sd);
	g_assert_cmpuint(se, <=, 4u << 20);
	g_assert_cmpuint(sd, <=, 2u << 20);

	pp_frame_encoder_set_policy(e, PP_FRAME_POLICY_ZSTD);
	feed(e, d, PP_FRAME_DATA_MAX, false);
	g_test_message("after a zstd frame too: encoder %zu, decoder %zu",
	               pp_frame_encoder_memory(e), pp_frame_decoder_memory(d));

	pp_frame_encoder_shrink(e);
	g_assert_cmpuint(pp_frame_encoder_memory(e), ==, idle_e);
	pp_frame_encoder_free(e);
	pp_frame_decoder_free(d);
}

struct ratio {
	double ratio;
	double mbps; /* encode speed, information only */
};

static struct ratio run(enum pp_frame_policy p, size_t chunk)
{
	struct pp_frame_encoder *e = pp_frame_encoder_new(PP_FRAME_FMT_ALL);
	struct pp_frame_decoder *d = pp_frame_decoder_new(PP_FRAME_FMT_ALL);
	size_t wire = 0, n, got;
	const char *why;
	int64_t spent = 0;

	pp_frame_encoder_set_policy(e, p);
	for (size_t off = 0; off < DUMP_LEN; off += chunk) {
		int64_t t = g_get_monotonic_time();
		g_assert_cmpint(pp_frame_encode(e, dump + off, chunk, true, msg, sizeof(msg), &n), ==, 0);
		spent += g_get_monotonic_time() - t;
		wire += n;
		g_assert_cmpint(pp_frame_decode(d, msg, n, out, &got, &why), ==, 0);
		g_assert_cmpmem(out, got, dump + off, chunk);
	}
	pp_frame_encoder_free(e);
	pp_frame_decoder_free(d);
	return (struct ratio){ (double)DUMP_LEN / (double)wire,
		               spent ? (double)DUMP_LEN / (double)spent : 0 };
}

static void test_ratio_sql(void)
{
	static const size_t chunks[] = { 4096, 16384, PP_FRAME_DATA_MAX };

	for (size_t i = 0; i < G_N_ELEMENTS(chunks); i++) {
		struct ratio s = run(PP_FRAME_POLICY_ZSTD_STREAM, chunks[i]);
		struct ratio f = run(PP_FRAME_POLICY_ZSTD, chunks[i]);
		struct ratio l = run(PP_FRAME_POLICY_LZ4, chunks[i]);
		struct ratio a = run(PP_FRAME_POLICY_AUTO, chunks[i]);
		g_test_message("SQL dump, %zu-byte messages: zstd stream (flag 3) %.2f, zstd frames "
		               "(flag 2) %.2f, LZ4 (flag 1) %.2f, auto+congested %.2f",
		               chunks[i], s.ratio, f.ratio, l.ratio, a.ratio);
		g_test_message("  encode MB/s (information only): stream %.0f, frames %.0f, LZ4 %.0f",
		               s.mbps, f.mbps, l.mbps);
		g_assert_cmpfloat(s.ratio, >, f.ratio);
		g_assert_cmpfloat(f.ratio, >, l.ratio);
		g_assert_cmpfloat(a.ratio, ==, s.ratio);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	dump = g_malloc(DUMP_LEN);
	td_sql(dump, DUMP_LEN, 2024);
	g_test_add_func("/tunnel/frame_stats/memory", test_memory);
	g_test_add_func("/tunnel/frame_stats/ratio_sql", test_ratio_sql);
	int rc = g_test_run();
	g_free(dump);
	return rc;
}
