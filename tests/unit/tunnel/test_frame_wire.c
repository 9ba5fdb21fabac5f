/* SPDX-License-Identifier: Apache-2.0 */
/* Data-message decoder: forms a third-party peer may send (that our
 * encoder never chooses), and every way a message is refused. */
#include "peerpipe/error.h"
#include "peerpipe/tunnel/frame.h"
#include "test_data.h"

#include <glib.h>
#include <lz4.h>
#include <string.h>
#include <zstd.h>

static uint8_t sql[1 << 17], rnd[1 << 17], zeros[1 << 17];
static uint8_t out[PP_FRAME_DATA_MAX];
static uint8_t m[PP_FRAME_MSG_MAX + 16];

/* flags byte + payload into m; returns the message length. */
static size_t mk(uint8_t flags, const void *p, size_t n)
{
	if (n + 1 > sizeof(m))
		g_error("message too long for the test buffer");
	m[0] = flags;
	memcpy(m + 1, p, n);
	return n + 1;
}

static void ok(struct pp_frame_decoder *d, size_t len, const uint8_t *want, size_t wlen)
{
	const char *why = "";
	size_t got = 99;
	int rc = pp_frame_decode(d, m, len, out, &got, &why);
	if (rc)
		g_test_message("unexpected: %s", why);
	g_assert_cmpint(rc, ==, 0);
	g_assert_cmpmem(out, got, want, wlen);
}

static void bad(struct pp_frame_decoder *d, size_t len, int want, const char *reason)
{
	const char *why = NULL;
	size_t got = 99;
	int rc = pp_frame_decode(d, m, len, out, &got, &why);
	g_assert_cmpint(rc, ==, want);
	g_assert_cmpuint(got, ==, 0);
	g_assert_nonnull(why);
	if (reason)
		g_assert_cmpstr(why, ==, reason);
}

/* Compresses src into buf as the next stream piece ending with `end`. */
static size_t zpiece(ZSTD_CCtx *c, const void *src, size_t n, uint8_t *buf, size_t cap,
                     ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = { src, n, 0 };
	ZSTD_outBuffer ob = { buf, cap, 0 };
	size_t left;
	/* Input first, ending after: zstd would otherwise write the content
	 * size of a frame given whole, which a streaming peer does not. */
	left = ZSTD_compressStream2(c, &ob, &in, ZSTD_e_continue);
	g_assert_false(ZSTD_isError(left));
	do
		left = ZSTD_compressStream2(c, &ob, &in, end);
	while (left && !ZSTD_isError(left));
	g_assert_false(ZSTD_isError(left));
	if (ob.pos > cap)
		g_error("zstd wrote past its buffer");
	return ob.pos;
}

static ZSTD_CCtx *zcc(int level, int wlog, int checksum)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum);
	if (wlog)
		ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, wlog);
	return c;
}

/* A stream that ends frames, starts new ones, uses a big window and
 * checksums: any valid sequence of flag-3 pieces is accepted. */
static void test_foreign_stream(void)
{
	struct pp_frame_decoder *d = pp_frame_decoder_new(PP_FRAME_FMT_ZSTD);
	ZSTD_CCtx *c = zcc(19, PP_FRAME_ZSTD_WINDOW_LOG_MAX, 1);
	static uint8_t buf[PP_FRAME_MSG_MAX];

	for (int i = 0; i < 6; i++) {
		ZSTD_EndDirective end = i == 2 || i == 4 ? ZSTD_e_end : ZSTD_e_flush;
		size_t n = zpiece(c, sql + i * 9000, 30000, buf, sizeof(buf), end);
		ok(d, mk(3, buf, n), sql + i * 9000, 30000);
	}
	/* A piece with no data (a bare flush) decodes to nothing. */
	size_t n = zpiece(c, "", 0, buf, sizeof(buf), ZSTD_e_flush);
	if (n)
		ok(d, mk(3, buf, n), NULL, 0);
	/* Pieces cut mid-block: output arrives when its block is complete. */
	n = zpiece(c, sql, 40000, buf, sizeof(buf), ZSTD_e_end);
	size_t got = 0, part;
	const char *why;
	for (size_t off = 0, cut = n / 3; off < n; off += cut) {
		size_t len = mk(3, buf + off, off + cut < n ? cut : n - off);
		g_assert_cmpint(pp_frame_decode(d, m, len, out, &part, &why), ==, 0);
		g_assert_cmpmem(out, part, sql + got, part);
		got += part;
	}
	g_assert_cmpuint(got, ==, 40000);
	ZSTD_freeCCtx(c);
	pp_frame_decoder_free(d);
}

static void test_foreign_forms(void)
{
	struct pp_frame_decoder *d = pp_frame_decoder_new(PP_FRAME_FMT_ALL);
	static uint8_t buf[PP_FRAME_MSG_MAX];
	ZSTD_CCtx *c = zcc(3, 0, 1);

	/* zstd frame without a content size, with a checksum */
	size_t n = zpiece(c, sql, 50000, buf, sizeof(buf), ZSTD_e_end);
	g_assert_cmpuint(ZSTD_getFrameContentSize(buf, n), ==, ZSTD_CONTENTSIZE_UNKNOWN);
	ok(d, mk(2, buf, n), sql, 50000);
	/* an empty zstd frame; an LZ4 block of nothing */
	n = ZSTD_compress(buf, sizeof(buf), "", 0, 1);
	ok(d, mk(2, buf, n), NULL, 0);
	ok(d, mk(1, "\0\0\0\0\0", 5), NULL, 0);
	/* compressed yet larger than raw */
	buf[0] = 0, buf[1] = 0, buf[2] = 0x10, buf[3] = 0;
	n = 4 + (size_t)LZ4_compress_default((const char *)rnd, (char *)buf + 4, 4096, 8000);
	g_assert_cmpuint(n, >, 4096);
	ok(d, mk(1, buf, n), rnd, 4096);
	n = ZSTD_compress(buf, sizeof(buf), rnd, PP_FRAME_DATA_MAX, 1);
	g_assert_cmpuint(n, >, PP_FRAME_DATA_MAX);
	ok(d, mk(2, buf, n), rnd, PP_FRAME_DATA_MAX);
	/* the largest raw message */
	ok(d, mk(0, rnd, PP_FRAME_DATA_MAX), rnd, PP_FRAME_DATA_MAX);
	ok(d, mk(0, "", 0), NULL, 0);

	struct pp_frame_stats st;
	pp_frame_decoder_stats(d, &st);
	g_assert_cmpuint(st.msgs[0], ==, 2);
	g_assert_cmpuint(st.msgs[1], ==, 2);
	g_assert_cmpuint(st.msgs[2], ==, 3);
	g_assert_cmpuint(st.data[2], ==, 50000 + PP_FRAME_DATA_MAX);
	ZSTD_freeCCtx(c);
	pp_frame_decoder_free(d);
}

static void test_bad_flags(void)
{
	struct pp_frame_decoder *d = pp_frame_decoder_new(PP_FRAME_FMT_ALL);
	static const uint8_t unknown[] = { 0x04, 0x08, 0x10, 0x20, 0x40, 0x7c, 0x84, 0xff };

	bad(d, 0, PP_ERR_INVALID, "empty message (no flags byte)");
	for (size_t i = 0; i < sizeof(unknown); i++)
		bad(d, mk(unknown[i], "abc", 3), PP_ERR_INVALID, "unknown flag bits");
	for (unsigned k = 0; k < 4; k++)
		bad(d, mk((uint8_t)(0x80 | k), "abcdef", 6), PP_ERR_INVALID,
		    "sealed message without v1.1-G");
	for (unsigned k = 1; k < 4; k++)
		bad(d, mk((uint8_t)k, "", 0), PP_ERR_INVALID, "empty compressed payload");
	bad(d, mk(0, rnd, PP_FRAME_DATA_MAX + 1), PP_ERR_TOO_BIG, "raw payload over 65536 bytes");
	bad(d, PP_FRAME_MSG_MAX + 1, PP_ERR_TOO_BIG, "message over 66560 bytes");
	pp_frame_decoder_free(d);

	/* formats we did not advertise */
	static const char *na = "compression format we did not advertise";
	d = pp_frame_decoder_new(PP_FRAME_FMT_LZ4);
	bad(d, mk(2, "x", 1), PP_ERR_INVALID, na);
	bad(d, mk(3, "x", 1), PP_ERR_INVALID, na);
	pp_frame_decoder_free(d);
	d = pp_frame_decoder_new(PP_FRAME_FMT_ZSTD);
	bad(d, mk(1, "\0\0\0\0\0", 5), PP_ERR_INVALID, na);
	pp_frame_decoder_free(d);
	d = pp_frame_decoder_new(0);
	for (unsigned k = 1; k < 4; k++)
		bad(d, mk((uint8_t)k, "\0\0\0\0\0", 5), PP_ERR_INVALID, na);
	ok(d, mk(0, "abc", 3), (const uint8_t *)"abc", 3);
	pp_frame_decoder_free(d);
}

static void test_bad_lz4(void)
{
	struct pp_frame_decoder *d = pp_frame_decoder_new(PP_FRAME_FMT_ALL);
	static uint8_t buf[PP_FRAME_MSG_MAX];
	const char *corrupt = "lz4 block corrupt or not of its stated length";

	bad(d, mk(1, "\0\x01\0\x01" "abc", 7), PP_ERR_TOO_BIG, "lz4 length over 65536");
	bad(d, mk(1, "\0\0\x10", 3), PP_ERR_INVALID, "lz4 payload shorter than its length field");
	int n = LZ4_compress_default((const char *)sql, (char *)buf + 4, 10000, 20000);
	buf[0] = 0, buf[1] = 0, buf[2] = 0x27, buf[3] = 0x10; /* 10000 */
	ok(d, mk(1, buf, 4 + (size_t)n), sql, 10000);
	bad(d, mk(1, buf, 4 + (size_t)n - 10), PP_ERR_INVALID, corrupt); /* truncated */
	bad(d, mk(1, buf, 4), PP_ERR_INVALID, corrupt);
	buf[3] = 0x0f; /* says 9999 */
	bad(d, mk(1, buf, 4 + (size_t)n), PP_ERR_INVALID, corrupt);
	buf[3] = 0x11; /* says 10001 */
	bad(d, mk(1, buf, 4 + (size_t)n), PP_ERR_INVALID, corrupt);
	buf[3] = 0x10;
	buf[4 + n] = 0x55; /* trailing byte */
	bad(d, mk(1, buf, 4 + (size_t)n + 1), PP_ERR_INVALID, corrupt);
	memcpy(buf + 4, rnd, 600); /* garbage */
	bad(d, mk(1, buf, 604), PP_ERR_INVALID, corrupt);
	pp_frame_decoder_free(d);
}

static void test_bad_zstd_frame(void)
{
	struct pp_frame_decoder *d = pp_frame_decoder_new(PP_FRAME_FMT_ALL);
	static uint8_t buf[PP_FRAME_MSG_MAX];
	/* magic, single segment with a 4-byte content size of 1 GiB, then a
	 * raw last block that never comes */
	static const uint8_t gib[] = { 0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0x00, 0x00, 0x00, 0x40,
	                               0x01, 0x00, 0x00 };
	static const uint8_t skippable[] = { 0x50, 0x2a, 0x4d, 0x18, 0x01, 0, 0, 0, 0x00 };
	const char *one = "zstd payload is not exactly one frame";

	bad(d, mk(2, gib, sizeof(gib)), PP_ERR_TOO_BIG, "zstd frame content size over 65536");
	size_t n = ZSTD_compress(buf, sizeof(buf), zeros, 65537, 3);
	bad(d, mk(2, buf, n), PP_ERR_TOO_BIG, "zstd frame content size over 65536");
	/* no content size: found while decoding into the bounded output */
	ZSTD_CCtx *c = zcc(3, 0, 0);
	n = zpiece(c, zeros, sizeof(zeros), buf, sizeof(buf), ZSTD_e_end);
	bad(d, mk(2, buf, n), PP_ERR_TOO_BIG, "zstd output over 65536 bytes");
	ZSTD_freeCCtx(c);
	n = ZSTD_compress(buf, sizeof(buf), sql, 20000, 3);
	ok(d, mk(2, buf, n), sql, 20000);
	memcpy(buf + n, buf, n); /* two frames */
	bad(d, mk(2, buf, 2 * n), PP_ERR_INVALID, one);
	bad(d, mk(2, buf, n + 1), PP_ERR_INVALID, one); /* trailing byte */
	bad(d, mk(2, buf, n - 1), PP_ERR_INVALID, one); /* truncated */
	bad(d, mk(2, skippable, sizeof(skippable)), PP_ERR_INVALID, one);
	bad(d, mk(2, rnd, 3000), PP_ERR_INVALID, one);
	/* corrupt checksum */
	c = zcc(3, 0, 1);
	n = zpiece(c, sql, 20000, buf, sizeof(buf), ZSTD_e_end);
	buf[n - 1] ^= 1;
	bad(d, mk(2, buf, n), PP_ERR_INVALID, "zstd checksum mismatch");
	/* corrupt body, header intact */
	buf[n - 1] ^= 1;
	buf[n / 2] ^= 0x5a;
	bad(d, mk(2, buf, n), PP_ERR_INVALID, NULL);
	ZSTD_freeCCtx(c);
	pp_frame_decoder_free(d);
}

/* Sends one flag-3 piece to a fresh decoder; returns it for more checks. */
static struct pp_frame_decoder *stream_piece(const void *src, size_t n, int level, int wlog,
                                             int checksum, size_t *len)
{
	static uint8_t buf[PP_FRAME_MSG_MAX];
	ZSTD_CCtx *c = zcc(level, wlog, checksum);
	size_t k = zpiece(c, src, n, buf, sizeof(buf), ZSTD_e_flush);
	ZSTD_freeCCtx(c);
	*len = mk(3, buf, k);
	return pp_frame_decoder_new(PP_FRAME_FMT_ZSTD);
}

static void test_bad_zstd_stream(void)
{
	size_t len;
	uint8_t *bomb = g_malloc0(10 * 1000 * 1000);
	const char *over = "zstd output over 65536 bytes";

	/* The classic bomb: 10 MB of zeros in one small piece. */
	struct pp_frame_decoder *d = stream_piece(bomb, 10 * 1000 * 1000, 3, 0, 0, &len);
	g_test_message("10 MB of zeros: a %zu-byte message", len);
	bad(d, len, PP_ERR_TOO_BIG, over);
	g_test_message("decoder memory after the bomb: %zu bytes", pp_frame_decoder_memory(d));
	g_assert_cmpuint(pp_frame_decoder_memory(d), <=, (1u << PP_FRAME_ZSTD_WINDOW_LOG_MAX) + (1u << 20));
	bad(d, len, PP_ERR_INVALID, "zstd stream out of sync after an earlier error");
	ok(d, mk(0, "still raw", 9), (const uint8_t *)"still raw", 9);
	pp_frame_decoder_free(d);
	g_free(bomb);

	/* exactly the bound, and one byte over */
	d = stream_piece(zeros, PP_FRAME_DATA_MAX, 3, 0, 0, &len);
	ok(d, len, zeros, PP_FRAME_DATA_MAX);
	pp_frame_decoder_free(d);
	d = stream_piece(sql, PP_FRAME_DATA_MAX + 1, 3, 0, 0, &len);
	bad(d, len, PP_ERR_TOO_BIG, over);
	pp_frame_decoder_free(d);

	/* window bound: 2^23 accepted, 2^24 refused */
	d = stream_piece(sql, 1000, 3, PP_FRAME_ZSTD_WINDOW_LOG_MAX, 0, &len);
	ok(d, len, sql, 1000);
	pp_frame_decoder_free(d);
	d = stream_piece(sql, 1000, 3, PP_FRAME_ZSTD_WINDOW_LOG_MAX + 1, 0, &len);
	bad(d, len, PP_ERR_INVALID, "zstd window too large");
	pp_frame_decoder_free(d);

	/* garbage, and a corrupt checksum at the end of a frame */
	d = pp_frame_decoder_new(PP_FRAME_FMT_ZSTD);
	bad(d, mk(3, rnd, 2000), PP_ERR_INVALID, NULL);
	pp_frame_decoder_free(d);
	static uint8_t buf[PP_FRAME_MSG_MAX];
	ZSTD_CCtx *c = zcc(3, 0, 1);
	size_t n = zpiece(c, sql, 20000, buf, sizeof(buf), ZSTD_e_end);
	ZSTD_freeCCtx(c);
	buf[n - 2] ^= 0x10;
	d = pp_frame_decoder_new(PP_FRAME_FMT_ZSTD);
	bad(d, mk(3, buf, n), PP_ERR_INVALID, "zstd checksum mismatch");
	pp_frame_decoder_free(d);
}

/* A piece of a fresh zstd stream with a 2^wlog window into m: the message
 * length. */
static size_t stream_piece_msg(const void *src, size_t n, int wlog)
{
	static uint8_t buf[PP_FRAME_MSG_MAX];
	ZSTD_CCtx *c = zcc(3, wlog, 0);
	size_t k = zpiece(c, src, n, buf, sizeof(buf), ZSTD_e_flush);

	ZSTD_freeCCtx(c);
	return mk(3, buf, k);
}

/* Opens decoders on b, each sent one piece with a 2^wlog window, until one
 * is refused (or max): how many decoded. The refused one is d[return]. */
static size_t open_until_refused(struct pp_frame_decoder **d, size_t max,
                                 struct pp_frame_budget *b, int wlog, const char **why)
{
	size_t len = stream_piece_msg(sql, 8192, wlog), got;

	for (size_t i = 0; i < max; i++) {
		d[i] = pp_frame_decoder_new(PP_FRAME_FMT_ALL);
		pp_frame_decoder_set_budget(d[i], b);
		*why = NULL;
		int rc = pp_frame_decode(d[i], m, len, out, &got, why);
		if (rc == PP_ERR_NOMEM)
			return i;
		g_assert_cmpint(rc, ==, 0);
		g_assert_cmpmem(out, got, sql, 8192);
	}
	return max;
}

static void free_decoders(struct pp_frame_decoder **d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pp_frame_decoder_free(d[i]);
}

/* zstd-stream decoders are counted in bytes, per peer and per process: a
 * peer that uses the largest window gets fewer streams (a refused one
 * closes and frees its context at once) while another peer's streams at
 * our window all decode, and so does every flag-2 message; a stream freed
 * gives its bytes back. */
static void test_zstd_budget(void)
{
	enum { ND = PP_FRAME_ZSTD_DECODERS_PER_PEER, MANY = 4 * ND };
	struct pp_frame_budget *mallory = pp_frame_budget_new(), *alice = pp_frame_budget_new();
	struct pp_frame_decoder *dm[MANY], *da[MANY];
	size_t peer = pp_frame_zstd_peer_decoder_memory();
	size_t big = pp_frame_zstd_decoder_size(PP_FRAME_ZSTD_WINDOW_LOG_MAX);
	size_t ours = pp_frame_zstd_decoder_size(PP_FRAME_ZSTD_WINDOW_LOG);
	size_t nm, na, z, flen, bytes, used0 = pp_frame_zstd_decoder_memory_used();
	const char *why = NULL;
	unsigned ne, nd;

	g_test_message("decoder: %zu bytes at our window, %zu at the largest; a peer's "
	               "budget %zu, the process's %zu",
	               ours, big, peer, pp_frame_zstd_decoder_memory());
	g_assert_cmpuint(peer, ==, ND * ours);
	g_assert_cmpuint(pp_frame_zstd_decoder_memory(), ==, PP_FRAME_ZSTD_DECODERS_MAX * ours);

	/* Largest windows: as many as fit in the peer's bytes (5 with zstd 1.5). */
	nm = open_until_refused(dm, MANY, mallory, PP_FRAME_ZSTD_WINDOW_LOG_MAX, &why);
	g_assert_cmpuint(nm, ==, peer / big);
	g_assert_cmpstr(why, ==, "zstd streams from this peer hold too much memory");
	pp_frame_budget_counts(mallory, &ne, &nd, &bytes);
	g_assert_cmpuint(nd, ==, nm);
	g_assert_cmpuint(bytes, ==, nm * big);
	/* The refused stream holds nothing: its context went back at once. */
	g_assert_cmpuint(pp_frame_decoder_memory(dm[nm]), <, 1024);
	g_assert_cmpuint(pp_frame_zstd_decoder_memory_used(), ==, used0 + nm * big);

	/* Another peer at our encoder's window gets all its 32 streams, not
	 * the 32nd of the process's contexts less mallory's. */
	na = open_until_refused(da, MANY, alice, PP_FRAME_ZSTD_WINDOW_LOG, &why);
	g_assert_cmpuint(na, ==, ND);
	g_assert_cmpstr(why, ==, "zstd streams from this peer hold too much memory");
	free_decoders(da, na + 1);

	/* Independent frames still decode on any stream. */
	z = ZSTD_compress(m + 1, sizeof(m) - 1, sql, 8192, 3);
	g_assert_false(ZSTD_isError(z));
	m[0] = PP_FRAME_ZSTD;
	flen = z + 1;
	ok(dm[nm], flen, sql, 8192);
	/* A stream freed gives its bytes back to the peer. */
	pp_frame_decoder_free(dm[nm]); /* the refused stream closes */
	pp_frame_decoder_free(dm[0]);
	dm[0] = pp_frame_decoder_new(PP_FRAME_FMT_ALL);
	pp_frame_decoder_set_budget(dm[0], mallory);
	ok(dm[0], stream_piece_msg(sql, 8192, PP_FRAME_ZSTD_WINDOW_LOG_MAX), sql, 8192);
	free_decoders(dm, nm);
	pp_frame_budget_counts(mallory, &ne, &nd, &bytes);
	g_assert_cmpuint(nd, ==, 0);
	g_assert_cmpuint(bytes, ==, 0);
	g_assert_cmpuint(pp_frame_zstd_decoder_memory_used(), ==, used0);

	/* The process's bytes: three streams' worth at our window, whoever asks. */
	pp_frame_zstd_set_decoder_memory(used0 + 3 * ours);
	na = open_until_refused(da, MANY, alice, PP_FRAME_ZSTD_WINDOW_LOG, &why);
	g_assert_cmpuint(na, ==, 3);
	g_assert_cmpstr(why, ==, "zstd streams in this process hold too much memory");
	nm = open_until_refused(dm, MANY, mallory, PP_FRAME_ZSTD_WINDOW_LOG, &why);
	g_assert_cmpuint(nm, ==, 0);
	free_decoders(dm, 1);
	free_decoders(da, na + 1);
	pp_frame_zstd_set_decoder_memory(0);
	g_assert_cmpuint(pp_frame_zstd_decoder_memory_used(), ==, used0);
	pp_frame_budget_unref(mallory);
	pp_frame_budget_unref(alice);
}

/* A peer's encoders beyond PP_FRAME_ZSTD_STREAMS_PER_PEER send LZ4
 * instead, and keep their slot while they live (the peer's decoder keeps
 * its context as long), so two of ours never meet the decoder's limit. */
static void test_zstd_encoder_budget(void)
{
	enum { N = PP_FRAME_ZSTD_STREAMS_PER_PEER };
	struct pp_frame_budget *mallory = pp_frame_budget_new();
	struct pp_frame_encoder *e[N + 1];
	size_t n = 0, held, bytes;
	unsigned ne, nd;
	uint8_t msg[PP_FRAME_MSG_MAX];

	for (size_t i = 0; i <= N; i++) {
		e[i] = pp_frame_encoder_new(PP_FRAME_FMT_ALL);
		pp_frame_encoder_set_budget(e[i], mallory);
		/* congested: AUTO picks the zstd stream while it can */
		g_assert_cmpint(pp_frame_encode(e[i], sql, 8192, true, msg, sizeof(msg), &n), ==, 0);
		g_assert_cmpuint(msg[0] & PP_FRAME_KIND_MASK, ==,
		                 i < N ? PP_FRAME_ZSTD_STREAM : PP_FRAME_LZ4);
	}
	/* The one that fell back is not taught that the data is incompressible. */
	for (int k = 0; k < 8; k++) {
		g_assert_cmpint(pp_frame_encode(e[N], sql, 8192, true, msg, sizeof(msg), &n), ==, 0);
		g_assert_cmpuint(msg[0] & PP_FRAME_KIND_MASK, ==, PP_FRAME_LZ4);
	}
	/* A link that keeps up again for PP_FRAME_ZSTD_KEEP_MSGS frees the
	 * context, but the stream keeps its peer slot. */
	held = pp_frame_encoder_memory(e[1]);
	for (int k = 0; k < PP_FRAME_ZSTD_KEEP_MSGS; k++) {
		g_assert_cmpint(pp_frame_encode(e[1], sql, 8192, false, msg, sizeof(msg), &n), ==, 0);
		g_assert_cmpuint(msg[0] & PP_FRAME_KIND_MASK, ==, PP_FRAME_LZ4);
	}
	g_test_message("encoder memory: %zu bytes with its context, %zu after",
	               held, pp_frame_encoder_memory(e[1]));
	g_assert_cmpuint(pp_frame_encoder_memory(e[1]), <, held / 100);
	pp_frame_budget_counts(mallory, &ne, &nd, &bytes);
	g_assert_cmpuint(ne, ==, N);
	g_assert_cmpint(pp_frame_encode(e[N], sql, 8192, true, msg, sizeof(msg), &n), ==, 0);
	g_assert_cmpuint(msg[0] & PP_FRAME_KIND_MASK, ==, PP_FRAME_LZ4);
	/* and takes its context again when congested */
	g_assert_cmpint(pp_frame_encode(e[1], sql, 8192, true, msg, sizeof(msg), &n), ==, 0);
	g_assert_cmpuint(msg[0] & PP_FRAME_KIND_MASK, ==, PP_FRAME_ZSTD_STREAM);
	/* A stream that ends gives its slot back. */
	pp_frame_encoder_free(e[0]);
	g_assert_cmpint(pp_frame_encode(e[N], sql, 8192, true, msg, sizeof(msg), &n), ==, 0);
	g_assert_cmpuint(msg[0] & PP_FRAME_KIND_MASK, ==, PP_FRAME_ZSTD_STREAM);
	for (size_t i = 1; i <= N; i++)
		pp_frame_encoder_free(e[i]);
	pp_frame_budget_counts(mallory, &ne, &nd, &bytes);
	g_assert_cmpuint(ne, ==, 0);
	pp_frame_budget_unref(mallory);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	td_sql(sql, sizeof(sql), 3);
	td_random(rnd, sizeof(rnd), 11);
	g_test_add_func("/tunnel/frame_wire/foreign_stream", test_foreign_stream);
	g_test_add_func("/tunnel/frame_wire/zstd_budget", test_zstd_budget);
	g_test_add_func("/tunnel/frame_wire/zstd_encoder_budget", test_zstd_encoder_budget);
	g_test_add_func("/tunnel/frame_wire/foreign_forms", test_foreign_forms);
	g_test_add_func("/tunnel/frame_wire/bad_flags", test_bad_flags);
	g_test_add_func("/tunnel/frame_wire/bad_lz4", test_bad_lz4);
	g_test_add_func("/tunnel/frame_wire/bad_zstd_frame", test_bad_zstd_frame);
	g_test_add_func("/tunnel/frame_wire/bad_zstd_stream", test_bad_zstd_stream);
	return g_test_run();
}
