/* SPDX-License-Identifier: Apache-2.0 */
/* Hostile messages on a service stream (tunnel.md §4): each closes only
 * that stream (a protocol error on the gateway side, the service's socket
 * reset), while a healthy stream of the same session, in the middle of a
 * transfer both ways, completes with equal hashes, and the session stays
 * up. The messages are injected raw on the desktop's channel. */
#include "tunnel_pair.h"
#include "zstd_bomb.h"

#include "peerpipe/error.h"
#include "peerpipe/tunnel/ctrl.h"
#include "peerpipe/tunnel/frame.h"

#include <errno.h>
#include <lz4.h>
#include <string.h>
#include <zstd.h>

#define HEALTHY_SIZE (4u << 20)
#define HEALTHY_PAUSE (1u << 20)

static struct tunnel_pair *tp;
static volatile gint gate;

struct hostile {
	const char *name;
	bool text;
	GByteArray *(*build)(void);
	const char *reason; /* expected on the gateway side */
	const char *log;    /* expected in the gateway's warning */
	bool held;          /* the service never answers (no CONNECTED) */
	bool eof_first;     /* a valid {"type":"EOF"} goes before the message */
	const char *service; /* NULL: "sink" (reads to EOF) */
};

static GByteArray *msg_new(const void *data, size_t len)
{
	GByteArray *m = g_byte_array_new();
	g_byte_array_append(m, data, (guint)len);
	return m;
}

/* (a) a flags byte with an unknown bit */
static GByteArray *build_unknown_bit(void)
{
	return msg_new("\x04hello", 6);
}

/* (b) the sealed bit, without v1.1-G */
static GByteArray *build_sealed(void)
{
	uint8_t m[64] = { 0x80 };
	return msg_new(m, sizeof(m));
}

/* (c) an LZ4 block declaring 65,537 bytes (and really holding them) */
static GByteArray *build_lz4_big(void)
{
	const int n = 65537;
	char *src = g_malloc0(n);
	int cap = LZ4_compressBound(n);
	uint8_t *m = g_malloc(5 + (size_t)cap);
	int len = LZ4_compress_default(src, (char *)m + 5, n, cap);

	g_assert_cmpint(len, >, 0);
	m[0] = PP_FRAME_LZ4;
	m[1] = (uint8_t)(n >> 24);
	m[2] = (uint8_t)(n >> 16);
	m[3] = (uint8_t)(n >> 8);
	m[4] = (uint8_t)n;
	GByteArray *a = msg_new(m, 5 + (size_t)len);
	g_free(src);
	g_free(m);
	return a;
}

/* A zstd frame of 1 MiB of zeros; content_size: whether its header says
 * so (ZSTD_compress does; a streaming encoder may not). */
static GByteArray *zstd_bomb(uint8_t flags, bool content_size)
{
	GByteArray *a = pp_test_zstd_bomb(flags, 1 << 20, content_size);

	g_assert_nonnull(a);
	g_assert_cmpuint(ZSTD_getFrameContentSize(a->data + 1, a->len - 1), ==,
	                 content_size ? (unsigned long long)(1 << 20) : ZSTD_CONTENTSIZE_UNKNOWN);
	return a;
}

/* (d) a zstd frame (flag 2) expanding to 1 MiB */
static GByteArray *build_zstd_bomb(void)
{
	return zstd_bomb(PP_FRAME_ZSTD, true);
}

/* (d') the same without a content size in the frame header */
static GByteArray *build_zstd_bomb_nosize(void)
{
	return zstd_bomb(PP_FRAME_ZSTD, false);
}

/* (d'') the same as a zstd-stream piece (flag 3) */
static GByteArray *build_zstd_stream_bomb(void)
{
	return zstd_bomb(PP_FRAME_ZSTD_STREAM, false);
}

/* (e) an empty binary message: no flags byte */
static GByteArray *build_empty(void)
{
	return g_byte_array_new();
}

/* (f) 66,561 bytes: one over PP_FRAME_MSG_MAX (raw, so 65,560 data bytes) */
static GByteArray *build_oversize(void)
{
	GByteArray *a = g_byte_array_sized_new(PP_FRAME_MSG_MAX + 1);
	g_byte_array_set_size(a, PP_FRAME_MSG_MAX + 1);
	memset(a->data, 'z', a->len);
	a->data[0] = PP_FRAME_RAW;
	return a;
}

/* (f') a raw message of 65,537 data bytes (under PP_FRAME_MSG_MAX) */
static GByteArray *build_raw_over_data_max(void)
{
	GByteArray *a = build_oversize();
	g_byte_array_set_size(a, 1 + PP_FRAME_DATA_MAX + 1);
	return a;
}

/* (g) garbage text on a stream channel */
static GByteArray *build_garbage_text(void)
{
	return msg_new("{nope", 5);
}

/* (g') a text message over 64 KiB (PP_CTRL_MSG_MAX), valid JSON */
static GByteArray *build_text_over_64k(void)
{
	GByteArray *a = msg_new("{\"type\":\"EOF\",\"pad\":\"", 22);
	g_byte_array_set_size(a, 70000);
	memset(a->data + 22, 'p', a->len - 22);
	g_byte_array_append(a, (const guint8 *)"\"}", 2);
	return a;
}

/* (i) data after EOF */
static GByteArray *build_raw_small(void)
{
	return msg_new("\x00late", 5);
}

/* (h) more than 256 KiB before CONNECTED: see run_case() */
static GByteArray *build_raw_64k(void)
{
	GByteArray *a = g_byte_array_sized_new(1 + PP_FRAME_DATA_MAX);
	g_byte_array_set_size(a, 1 + PP_FRAME_DATA_MAX);
	memset(a->data, 'e', a->len);
	a->data[0] = PP_FRAME_RAW;
	return a;
}

static const struct hostile cases[] = {
	{ .name = "a-unknown-flag-bit", .build = build_unknown_bit, .reason = "protocol error", .log = "unknown flag bits" },
	{ .name = "b-sealed-bit", .build = build_sealed, .reason = "protocol error", .log = "sealed" },
	{ .name = "c-lz4-65537", .build = build_lz4_big, .reason = "protocol error", .log = "lz4 length over 65536" },
	{ .name = "d-zstd-bomb", .build = build_zstd_bomb, .reason = "protocol error", .log = "content size over 65536" },
	{ .name = "d-zstd-bomb-nosize", .build = build_zstd_bomb_nosize, .reason = "protocol error", .log = "over 65536" },
	{ .name = "d-zstd-stream-bomb", .build = build_zstd_stream_bomb, .reason = "protocol error", .log = "over 65536" },
	{ .name = "e-empty-binary", .build = build_empty, .reason = "protocol error", .log = "no flags byte" },
	{ .name = "f-66561-bytes", .build = build_oversize, .reason = "protocol error", .log = "over 66560" },
	{ .name = "f-raw-65537-data", .build = build_raw_over_data_max, .reason = "protocol error", .log = "over 65536" },
	{ .name = "g-garbage-text", .text = true, .build = build_garbage_text, .reason = "protocol error", .log = "bad text message" },
	{ .name = "g-text-over-64k", .text = true, .build = build_text_over_64k, .reason = "protocol error", .log = "bad text message" },
	{ .name = "h-256k-before-connected", .build = build_raw_64k, .reason = "too much data before CONNECTED", .held = true },
	{ .name = "i-data-after-eof", .build = build_raw_small, .reason = "data after EOF", .eof_first = true, .service = "holder" },
};

static bool hostile_closed(void *data)
{
	struct tp_stream **s = data;
	return s[0]->closed && s[1]->closed;
}

static bool healthy_done(void *data)
{
	struct tp_stream **s = data;
	return tp_pump_done(s[0]->pump) && tp_pump_done(s[1]->pump) && s[0]->closed && s[1]->closed;
}

static void run_case(gconstpointer data)
{
	const struct hostile *h = data;
	struct tp_pump_cfg hc = { .send = HEALTHY_SIZE, .seed = 21, .shut_wr = true,
	                          .pause_at = HEALTHY_PAUSE, .gate = &gate };
	struct tp_pump_cfg sink = { 0 }; /* the hostile stream's client: reads */
	unsigned streams_before = pp_tsession_stream_count(tp->gw.s);

	g_assert_cmpint(pp_tsession_get_state(tp->gw.s), ==, PP_TSESSION_READY);
	/* A healthy stream, both ways, held in the middle by the gate. */
	g_atomic_int_set(&gate, 0);
	struct tp_stream *hd = tp_open(tp, "healthy", false, &hc, NULL);
	struct tp_stream *hg = tp_wait_established(tp, hd, false);
	g_assert_true(tp_wait_received(tp, hg->pump, HEALTHY_PAUSE, 30000));
	g_assert_true(tp_wait_received(tp, hd->pump, HEALTHY_PAUSE, 30000));

	/* The hostile stream. */
	struct tp_stream *xd = tp_open(tp, h->held ? "hold" : h->service ? h->service : "sink", false,
	                               &sink, NULL);
	struct tp_stream *xg = tp_wait_established(tp, xd, h->held);
	g_assert_nonnull(xg);
	struct pp_sctp_channel *ch = pp_tstream_channel(xd->st);
	g_assert_nonnull(ch);
	GByteArray *m = h->build();
	g_ptr_array_set_size(tp->log, 0); /* the warning must be this case's */
	if (h->held) {
		/* 5 x 64 KiB raw = 320 KiB: over the 256 KiB the gateway buffers */
		for (int i = 0; i < 5; i++)
			g_assert_cmpint(pp_sctp_channel_send(ch, false, m->data, m->len), ==, 0);
	} else {
		if (h->eof_first)
			g_assert_cmpint(pp_sctp_channel_send(ch, true, "{\"type\":\"EOF\"}", 14), ==, 0);
		g_assert_cmpint(pp_sctp_channel_send(ch, h->text, m->data, m->len), ==, 0);
	}
	g_byte_array_unref(m);

	struct tp_stream *x[2] = { xd, xg };
	g_assert_true(tp_run_until(tp, hostile_closed, x, 20000));
	g_test_message("%s: gateway %s, desktop %s", h->name, xg->reason, xd->reason);
	g_assert_cmpstr(xg->reason, ==, h->reason);
	g_assert_cmpstr(xd->reason, ==, "reset by peer");
	if (h->log)
		g_assert_true(tp_log_contains(tp, h->log));
	if (!h->held) {
		/* The service's socket is reset, not ended cleanly. */
		g_assert_true(tp_run_until(tp, tp_pred_pump_done, xg->pump, 10000));
		g_assert_false(xg->pump->eof);
		/* After our FIN (EOF case), Linux reports the RST as EPIPE
		 * (tcp_reset() in CLOSE_WAIT). */
		if (!(h->eof_first && xg->pump->err == EPIPE))
			g_assert_cmpint(xg->pump->err, ==, ECONNRESET);
		g_assert_cmpuint(xg->pump->received, ==, 0);
	}
	/* The client's too. */
	g_assert_true(tp_run_until(tp, tp_pred_pump_done, xd->pump, 10000));
	g_assert_false(xd->pump->eof);
	g_assert_cmpint(xd->pump->err, ==, ECONNRESET);

	/* The healthy stream was not touched: it goes on to the end. */
	g_assert_false(hd->closed);
	g_assert_false(hg->closed);
	g_assert_false(tp_pump_done(hd->pump));
	g_assert_false(tp_pump_done(hg->pump));
	g_atomic_int_set(&gate, 1);
	struct tp_stream *hs[2] = { hd, hg };
	g_assert_true(tp_run_until(tp, healthy_done, hs, 60000));
	g_assert_cmpint(hd->pump->err, ==, 0);
	g_assert_cmpint(hg->pump->err, ==, 0);
	g_assert_true(hd->pump->eof);
	g_assert_true(hg->pump->eof);
	g_assert_cmpuint(hg->pump->received, ==, HEALTHY_SIZE);
	g_assert_cmpuint(hd->pump->received, ==, HEALTHY_SIZE);
	g_assert_cmpmem(hg->pump->recv_sha, TP_SHA_LEN, hd->pump->sent_sha, TP_SHA_LEN);
	g_assert_cmpmem(hd->pump->recv_sha, TP_SHA_LEN, hg->pump->sent_sha, TP_SHA_LEN);
	g_assert_cmpstr(hd->reason, ==, "done");
	g_assert_cmpstr(hg->reason, ==, "done");

	/* The session is still up and holds no stream of this case. */
	g_assert_cmpint(pp_tsession_get_state(tp->gw.s), ==, PP_TSESSION_READY);
	g_assert_cmpint(pp_tsession_get_state(tp->desk.s), ==, PP_TSESSION_READY);
	g_assert_false(tp->gw.closed);
	g_assert_false(tp->desk.closed);
	g_assert_cmpuint(pp_tsession_stream_count(tp->gw.s), ==, streams_before);
}

/* Not hostile: an unknown text type is ignored (tunnel.md §3-4), and a
 * raw message may carry 0 bytes; the stream goes on intact. */
static void test_harmless(void)
{
	struct tp_pump_cfg hc = { .send = HEALTHY_SIZE, .seed = 23, .shut_wr = true,
	                          .pause_at = HEALTHY_PAUSE, .gate = &gate };
	static const char unknown[] = "{\"type\":\"FUTURE\",\"x\":[1,2]}";

	g_atomic_int_set(&gate, 0);
	struct tp_stream *hd = tp_open(tp, "healthy", false, &hc, NULL);
	struct tp_stream *hg = tp_wait_established(tp, hd, false);
	g_assert_true(tp_wait_received(tp, hg->pump, HEALTHY_PAUSE, 30000));
	struct pp_sctp_channel *ch = pp_tstream_channel(hd->st);
	g_assert_cmpint(pp_sctp_channel_send(ch, true, unknown, strlen(unknown)), ==, 0);
	g_assert_cmpint(pp_sctp_channel_send(ch, false, "\x00", 1), ==, 0);
	tp_run_for(tp, 200);
	g_assert_false(hg->closed);
	g_atomic_int_set(&gate, 1);
	struct tp_stream *hs[2] = { hd, hg };
	g_assert_true(tp_run_until(tp, healthy_done, hs, 60000));
	g_assert_cmpint(hd->pump->err, ==, 0);
	g_assert_cmpint(hg->pump->err, ==, 0);
	g_assert_cmpmem(hg->pump->recv_sha, TP_SHA_LEN, hd->pump->sent_sha, TP_SHA_LEN);
	g_assert_cmpmem(hd->pump->recv_sha, TP_SHA_LEN, hg->pump->sent_sha, TP_SHA_LEN);
	g_assert_cmpstr(hd->reason, ==, "done");
	g_assert_cmpstr(hg->reason, ==, "done");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* One session for every case: it must survive them all. */
	tp = tp_pair_new(NULL);
	struct tp_service healthy = { .pump = { .send = HEALTHY_SIZE, .seed = 22, .shut_wr = true,
	                                        .pause_at = HEALTHY_PAUSE, .gate = &gate } };
	struct tp_service sink = { .pump = { 0 } };
	struct tp_service hold = { .hold = true };
	struct tp_service holder = { .pump = { .no_read = true } }; /* never reads: sees no EOF */
	tp_service_add(tp, "holder", &holder);
	tp_service_add(tp, "healthy", &healthy);
	tp_service_add(tp, "sink", &sink);
	tp_service_add(tp, "hold", &hold);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *path = g_strdup_printf("/tunnel/hostile/%s", cases[i].name);
		g_test_add_data_func(path, &cases[i], run_case);
		g_free(path);
	}
	g_test_add_func("/tunnel/hostile/harmless-unknown-type-and-empty-raw", test_harmless);
	int rc = g_test_run();
	tp_pair_free(tp);
	return rc;
}
