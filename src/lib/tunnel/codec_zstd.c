/* SPDX-License-Identifier: Apache-2.0 */
/* Flags 2 and 3: independent zstd frames, and one zstd stream per
 * direction made of flushed pieces (tunnel.md §4; the restart scheme is
 * explained in frame.h). */
#define ZSTD_STATIC_LINKING_ONLY /* the ZSTD_estimate* functions */
#include "codec_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/tunnel/frame.h"

#include <glib.h>
#include <string.h>
#include <zstd_errors.h>

/* An empty last Raw_Block (RFC 8878 §3.1.1.2): Last_Block = 1, type 0,
 * size 0. It ends a frame without a checksum. */
static const uint8_t pp_zstd_end_block[3] = { 0x01, 0x00, 0x00 };

/* Stream contexts hold megabytes (about 2.6 MB to compress, 1.5 MB to
 * decompress our 2^20 window and up to 8.5 MiB for a peer's 2^23) and a
 * peer decides how many streams exist, so they are counted twice: against
 * the peer's budget (one session's streams) and against the process's.
 * Encoders are all alike and counted; beyond either limit an encoder sends
 * LZ4 or raw instead. An encoder's peer slot lasts as long as the stream,
 * as the peer's decoder context does. Decoders are counted in bytes, as
 * the peer's window makes them: ZSTD_sizeof_DCtx after each piece (what
 * the piece made the context allocate), so one within the bounds never
 * refuses a peer that uses a small window because another used a large
 * one. Beyond either a decoder refuses the piece (that stream closes) and
 * frees its context: a piece can overshoot by one context at most. The
 * peer's budget is twice its encoders' slots at our window (streams whose
 * close is still on its way), so two PeerPipe ends never meet it. */
static unsigned pp_zstd_cctx_live;
static size_t pp_zstd_dctx_bytes, pp_zstd_dctx_max;

static bool pp_zstd_take(unsigned *live, unsigned max)
{
	unsigned n = __atomic_add_fetch(live, 1, __ATOMIC_RELAXED);
	if (n <= max)
		return true;
	__atomic_sub_fetch(live, 1, __ATOMIC_RELAXED);
	return false;
}

static void pp_zstd_give(unsigned *live)
{
	__atomic_sub_fetch(live, 1, __ATOMIC_RELAXED);
}

static bool pp_zstd_set_cparams(ZSTD_CCtx *c, int window_log, int checksum)
{
	return !ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel,
	                                            PP_FRAME_ZSTD_LEVEL)) &&
	       !ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum)) &&
	       (!window_log ||
	        !ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, window_log)));
}

static ZSTD_DCtx *pp_zstd_new_dctx(void)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();

	if (d && ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax,
	                                             PP_FRAME_ZSTD_WINDOW_LOG_MAX))) {
		ZSTD_freeDCtx(d);
		d = NULL;
	}
	return d;
}

/* --- flag 2: one context per thread -------------------------------------- */

static void pp_zstd_cctx_destroy(void *c)
{
	ZSTD_freeCCtx(c);
}

static void pp_zstd_dctx_destroy(void *d)
{
	ZSTD_freeDCtx(d);
}

static GPrivate pp_zstd_frame_cctx_key = G_PRIVATE_INIT(pp_zstd_cctx_destroy);
static GPrivate pp_zstd_frame_dctx_key = G_PRIVATE_INIT(pp_zstd_dctx_destroy);

static ZSTD_CCtx *pp_zstd_frame_cctx(void)
{
	ZSTD_CCtx *c = g_private_get(&pp_zstd_frame_cctx_key);

	if (c)
		return c;
	/* The window follows the known content size (64 KiB at most). */
	if (!(c = ZSTD_createCCtx()) || !pp_zstd_set_cparams(c, 0, 1)) {
		ZSTD_freeCCtx(c);
		return NULL;
	}
	g_private_set(&pp_zstd_frame_cctx_key, c);
	return c;
}

static ZSTD_DCtx *pp_zstd_frame_dctx(void)
{
	ZSTD_DCtx *d = g_private_get(&pp_zstd_frame_dctx_key);

	if (!d && (d = pp_zstd_new_dctx()))
		g_private_set(&pp_zstd_frame_dctx_key, d);
	return d;
}

size_t pp_codec_zstd_frame_compress(const uint8_t *src, size_t len, uint8_t *dst, size_t cap)
{
	ZSTD_CCtx *c = pp_zstd_frame_cctx();
	if (!c)
		return 0;
	/* ZSTD_compress2 starts a new frame whatever the last call left. */
	size_t n = ZSTD_compress2(c, dst, cap, src, len);
	return ZSTD_isError(n) ? 0 : n; /* dstSize_tooSmall: not worth it */
}

/* --- flag 3: one context per stream direction, budgeted ------------------- */

bool pp_codec_zstream_ready(struct pp_zstream_enc *z)
{
	ZSTD_CCtx *c;

	if (z->cc)
		return true;
	if (!z->slot) {
		if (z->budget && z->budget->enc >= PP_FRAME_ZSTD_STREAMS_PER_PEER)
			return false;
		if (z->budget)
			z->budget->enc++;
		z->slot = true;
	}
	if (!pp_zstd_take(&pp_zstd_cctx_live, PP_FRAME_ZSTD_ENCODERS_MAX))
		return false;
	/* No checksum: a frame we abandon must be endable by 3 bytes alone. */
	if (!(c = ZSTD_createCCtx()) || !pp_zstd_set_cparams(c, PP_FRAME_ZSTD_WINDOW_LOG, 0)) {
		ZSTD_freeCCtx(c);
		pp_zstd_give(&pp_zstd_cctx_live);
		return false;
	}
	z->cc = c;
	return true;
}

void pp_codec_zstream_release(struct pp_zstream_enc *z)
{
	if (z->cc) {
		ZSTD_freeCCtx(z->cc);
		pp_zstd_give(&pp_zstd_cctx_live);
	}
	z->cc = NULL;
	z->fresh = true;
}

void pp_codec_zstream_enc_free(struct pp_zstream_enc *z)
{
	pp_codec_zstream_release(z);
	if (z->slot && z->budget)
		z->budget->enc--;
	z->slot = false;
}

/* Feeds src and flushes into dst[0..cap); true when all of it fit. */
static bool pp_zstream_flush(ZSTD_CCtx *c, const uint8_t *src, size_t len,
                             uint8_t *dst, size_t cap, size_t *n)
{
	ZSTD_inBuffer in = { src, len, 0 };
	ZSTD_outBuffer ob = { dst, cap, 0 };
	size_t left;

	do {
		size_t before = ob.pos + in.pos;
		left = ZSTD_compressStream2(c, &ob, &in, ZSTD_e_flush);
		if (ZSTD_isError(left) || (left && ob.pos + in.pos == before))
			return false;
	} while (left);
	*n = ob.pos;
	return in.pos == in.size;
}

size_t pp_codec_zstream_compress(struct pp_zstream_enc *z, const uint8_t *src,
                                 size_t len, uint8_t *dst, size_t cap, bool *restarted)
{
	size_t term = z->peer_open && z->fresh ? sizeof(pp_zstd_end_block) : 0;
	size_t n = 0;

	*restarted = false;
	if (!pp_codec_zstream_ready(z) || cap <= term)
		return 0;
	ZSTD_CCtx *c = z->cc;
	if (pp_zstream_flush(c, src, len, dst + term, cap - term, &n)) {
		memcpy(dst, pp_zstd_end_block, term);
		z->peer_open = true;
		z->fresh = false;
		return term + n;
	}
	/* The context now holds bytes the peer will never see: start over. */
	ZSTD_CCtx_reset(c, ZSTD_reset_session_only);
	*restarted = !z->fresh;
	z->fresh = true;
	return 0;
}

static const char *pp_zstd_reason(size_t err)
{
	switch (ZSTD_getErrorCode(err)) {
	case ZSTD_error_frameParameter_windowTooLarge:
		return "zstd window too large";
	case ZSTD_error_checksum_wrong:
		return "zstd checksum mismatch";
	case ZSTD_error_dstSize_tooSmall:
		return "zstd output over 65536 bytes";
	case ZSTD_error_memory_allocation:
		return "no memory for zstd";
	default:
		return "zstd data corrupt";
	}
}

static int pp_zstd_fail(size_t err, const char **why)
{
	*why = pp_zstd_reason(err);
	switch (ZSTD_getErrorCode(err)) {
	case ZSTD_error_dstSize_tooSmall:
		return PP_ERR_TOO_BIG;
	case ZSTD_error_memory_allocation:
		return PP_ERR_NOMEM;
	default:
		return PP_ERR_INVALID;
	}
}

size_t pp_frame_zstd_decoder_size(unsigned window_log)
{
	return ZSTD_estimateDStreamSize((size_t)1 << window_log);
}

size_t pp_frame_zstd_encoder_size(void)
{
	ZSTD_compressionParameters cp = ZSTD_getCParams(PP_FRAME_ZSTD_LEVEL, 0, 0);

	cp.windowLog = PP_FRAME_ZSTD_WINDOW_LOG;
	return ZSTD_estimateCStreamSize_usingCParams(cp);
}

size_t pp_frame_zstd_peer_decoder_memory(void)
{
	return PP_FRAME_ZSTD_DECODERS_PER_PEER * pp_frame_zstd_decoder_size(PP_FRAME_ZSTD_WINDOW_LOG);
}

void pp_frame_zstd_set_decoder_memory(size_t bytes)
{
	__atomic_store_n(&pp_zstd_dctx_max, bytes, __ATOMIC_RELAXED);
}

size_t pp_frame_zstd_decoder_memory(void)
{
	size_t max = __atomic_load_n(&pp_zstd_dctx_max, __ATOMIC_RELAXED);

	return max ? max : PP_FRAME_ZSTD_DECODERS_MAX *
	                   pp_frame_zstd_decoder_size(PP_FRAME_ZSTD_WINDOW_LOG);
}

size_t pp_frame_zstd_decoder_memory_used(void)
{
	return __atomic_load_n(&pp_zstd_dctx_bytes, __ATOMIC_RELAXED);
}

/* Counts what z's context holds now against the budgets: NULL, or the reason
 * it does not fit (nothing more is counted then). */
static const char *pp_zstream_charge(struct pp_zstream_dec *z)
{
	size_t now = ZSTD_sizeof_DCtx(z->dc), more;
	struct pp_frame_budget *b = z->budget;

	if (now == z->charged)
		return NULL; /* the usual piece: no atomic on the shared total */
	if (now < z->charged) {
		__atomic_sub_fetch(&pp_zstd_dctx_bytes, z->charged - now, __ATOMIC_RELAXED);
		if (b)
			b->dec_bytes -= z->charged - now;
		z->charged = now;
		return NULL;
	}
	more = now - z->charged;
	if (b && b->dec_bytes + more > pp_frame_zstd_peer_decoder_memory())
		return "zstd streams from this peer hold too much memory";
	size_t all = __atomic_add_fetch(&pp_zstd_dctx_bytes, more, __ATOMIC_RELAXED);
	if (all > pp_frame_zstd_decoder_memory()) {
		__atomic_sub_fetch(&pp_zstd_dctx_bytes, more, __ATOMIC_RELAXED);
		return "zstd streams in this process hold too much memory";
	}
	if (b)
		b->dec_bytes += more;
	z->charged = now;
	return NULL;
}

/* The stream decoder's context, created on first use and counted. */
static ZSTD_DCtx *pp_zstream_dctx(struct pp_zstream_dec *z, const char **why)
{
	const char *over;

	if (z->dc)
		return z->dc;
	if (!(z->dc = pp_zstd_new_dctx())) {
		*why = "no memory for zstd";
		return NULL;
	}
	if (z->budget)
		z->budget->dec++;
	if ((over = pp_zstream_charge(z))) {
		pp_codec_zstream_dec_release(z);
		*why = over;
		return NULL;
	}
	return z->dc;
}

void pp_codec_zstream_dec_release(struct pp_zstream_dec *z)
{
	if (z->dc) {
		ZSTD_freeDCtx(z->dc);
		__atomic_sub_fetch(&pp_zstd_dctx_bytes, z->charged, __ATOMIC_RELAXED);
		if (z->budget) {
			z->budget->dec--;
			z->budget->dec_bytes -= z->charged;
		}
	}
	z->dc = NULL;
	z->charged = 0;
}

static bool pp_zstd_is_frame(const uint8_t *p, size_t plen)
{
	return plen >= 4 && ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	                     (uint32_t)p[3] << 24) == ZSTD_MAGICNUMBER;
}

int pp_codec_zstd_frame_decompress(const uint8_t *p, size_t plen, uint8_t *out,
                                   size_t *out_len, const char **why)
{
	/* Exactly one real frame: no skippable frames, nothing after it. */
	if (!pp_zstd_is_frame(p, plen) || ZSTD_findFrameCompressedSize(p, plen) != plen) {
		*why = "zstd payload is not exactly one frame";
		return PP_ERR_INVALID;
	}
	unsigned long long size = ZSTD_getFrameContentSize(p, plen);
	if (size == ZSTD_CONTENTSIZE_ERROR) {
		*why = "zstd frame header invalid";
		return PP_ERR_INVALID;
	}
	if (size != ZSTD_CONTENTSIZE_UNKNOWN && size > PP_FRAME_DATA_MAX) {
		*why = "zstd frame content size over 65536";
		return PP_ERR_TOO_BIG;
	}
	ZSTD_DCtx *d = pp_zstd_frame_dctx();
	if (!d) {
		*why = "no memory for zstd";
		return PP_ERR_NOMEM;
	}
	/* One pass straight into out: no window buffer is allocated, and a
	 * frame of unknown size that grows past out fails dstSize_tooSmall. */
	size_t n = ZSTD_decompressDCtx(d, out, PP_FRAME_DATA_MAX, p, plen);
	if (ZSTD_isError(n))
		return pp_zstd_fail(n, why);
	*out_len = n;
	return 0;
}

/* After out is full: any further byte the piece yields is one too many.
 * A one-byte sink finds it while the decoder's own buffers (bounded by
 * the window limit) absorb the rest. */
static int pp_zstream_drain(ZSTD_DCtx *d, ZSTD_inBuffer *in, const char **why)
{
	uint8_t extra;

	for (;;) {
		ZSTD_outBuffer ob = { &extra, 1, 0 };
		size_t before = in->pos;
		size_t r = ZSTD_decompressStream(d, &ob, in);
		if (ZSTD_isError(r))
			return pp_zstd_fail(r, why);
		if (ob.pos) {
			*why = "zstd output over 65536 bytes";
			return PP_ERR_TOO_BIG;
		}
		if (in->pos == in->size)
			return 0;
		if (in->pos == before) {
			*why = "zstd data corrupt";
			return PP_ERR_INVALID;
		}
	}
}

/* One piece through d into out (PP_FRAME_DATA_MAX bytes). */
static int pp_zstream_decode(ZSTD_DCtx *d, const uint8_t *p, size_t plen, uint8_t *out,
                             size_t *out_len, const char **why)
{
	ZSTD_inBuffer in = { p, plen, 0 };
	ZSTD_outBuffer ob = { out, PP_FRAME_DATA_MAX, 0 };
	for (;;) {
		size_t before = in.pos + ob.pos;
		size_t r = ZSTD_decompressStream(d, &ob, &in);
		if (ZSTD_isError(r))
			return pp_zstd_fail(r, why);
		if (ob.pos == ob.size) {
			int rc = pp_zstream_drain(d, &in, why);
			if (rc < 0)
				return rc;
			break;
		}
		/* Room left and input used up: everything has been flushed. */
		if (in.pos == in.size)
			break;
		if (in.pos + ob.pos == before) {
			*why = "zstd data corrupt";
			return PP_ERR_INVALID;
		}
	}
	*out_len = ob.pos;
	return 0;
}

int pp_codec_zstream_decompress(struct pp_zstream_dec *z, const uint8_t *p, size_t plen,
                                uint8_t *out, size_t *out_len, const char **why)
{
	ZSTD_DCtx *d = pp_zstream_dctx(z, why);
	if (!d)
		return PP_ERR_NOMEM;
	int rc = pp_zstream_decode(d, p, plen, out, out_len, why);
	/* The window the frame asked for was allocated by the piece that began
	 * it: paid for now, or given back at once. */
	const char *over = pp_zstream_charge(z);
	if (over) {
		pp_codec_zstream_dec_release(z);
		if (rc == 0) {
			*why = over;
			rc = PP_ERR_NOMEM;
		}
	}
	return rc;
}
