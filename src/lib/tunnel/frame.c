/* SPDX-License-Identifier: Apache-2.0 */
/* Data-message encoder and decoder (tunnel.md §4); the adaptive policy is
 * described in frame.h, the codecs live in codec_lz4.c and codec_zstd.c. */
#include "peerpipe/tunnel/frame.h"

#include "codec_priv.h"
#include "peerpipe/error.h"

#include <stdlib.h>
#include <string.h>

#define PP_FRAME_PROBE_ACCEL 8 /* LZ4 acceleration of the compressibility probe */

struct pp_frame_encoder {
	unsigned peer_formats;
	enum pp_frame_policy policy;
	struct pp_zstream_enc zs;
	unsigned miss;      /* poor results in a row */
	bool probe_first;   /* last attempt missed: LZ4-probe before the stream */
	unsigned skip_left; /* messages still to send raw untried */
	unsigned skip_next; /* length of the next skip period */
	unsigned zs_unused; /* messages in a row that did not pick the zstd stream */
	struct pp_frame_stats st;
};

struct pp_frame_decoder {
	unsigned our_formats;
	bool stream_broken; /* a flag-3 piece failed: the stream is out of sync */
	struct pp_zstream_dec zs;
	struct pp_frame_stats st;
};

struct pp_frame_encoder *pp_frame_encoder_new(unsigned peer_formats)
{
	struct pp_frame_encoder *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->peer_formats = peer_formats & PP_FRAME_FMT_ALL;
	e->zs.fresh = true;
	e->skip_next = PP_FRAME_SKIP_MIN;
	return e;
}

struct pp_frame_budget *pp_frame_budget_new(void)
{
	struct pp_frame_budget *b = calloc(1, sizeof(*b));
	if (b)
		b->refs = 1;
	return b;
}

struct pp_frame_budget *pp_frame_budget_ref(struct pp_frame_budget *b)
{
	if (b)
		b->refs++;
	return b;
}

void pp_frame_budget_unref(struct pp_frame_budget *b)
{
	if (b && --b->refs == 0)
		free(b);
}

void pp_frame_budget_counts(const struct pp_frame_budget *b, unsigned *encoders,
                            unsigned *decoders, size_t *decoder_bytes)
{
	*encoders = b->enc;
	*decoders = b->dec;
	*decoder_bytes = b->dec_bytes;
}

void pp_frame_encoder_free(struct pp_frame_encoder *e)
{
	if (!e)
		return;
	pp_codec_zstream_enc_free(&e->zs);
	pp_frame_budget_unref(e->zs.budget);
	free(e);
}

void pp_frame_encoder_set_budget(struct pp_frame_encoder *e, struct pp_frame_budget *b)
{
	if (e->zs.cc || e->zs.slot || e->zs.budget)
		return; /* only before the first zstd-stream message */
	e->zs.budget = pp_frame_budget_ref(b);
}

void pp_frame_encoder_set_policy(struct pp_frame_encoder *e, enum pp_frame_policy p)
{
	e->policy = p;
}

void pp_frame_encoder_shrink(struct pp_frame_encoder *e)
{
	pp_codec_zstream_release(&e->zs);
}

void pp_frame_encoder_stats(const struct pp_frame_encoder *e, struct pp_frame_stats *out)
{
	*out = e->st;
}

size_t pp_frame_encoder_memory(const struct pp_frame_encoder *e)
{
	return sizeof(*e) + ZSTD_sizeof_CCtx(e->zs.cc);
}

/* The format worth trying for this message, before the skip logic. */
static enum pp_frame_kind pp_frame_pick(const struct pp_frame_encoder *e, size_t len,
                                        bool congested)
{
	bool lz4 = e->peer_formats & PP_FRAME_FMT_LZ4;
	bool zstd = e->peer_formats & PP_FRAME_FMT_ZSTD;

	/* Too short to gain; and a zstd stream attempt that cannot fit
	 * would cost the stream its history. */
	if (len < PP_FRAME_MIN_COMPRESS)
		return PP_FRAME_RAW;
	switch (e->policy) {
	case PP_FRAME_POLICY_OFF:
		return PP_FRAME_RAW;
	case PP_FRAME_POLICY_LZ4:
		return lz4 ? PP_FRAME_LZ4 : PP_FRAME_RAW;
	case PP_FRAME_POLICY_ZSTD:
		return zstd ? PP_FRAME_ZSTD : PP_FRAME_RAW;
	case PP_FRAME_POLICY_ZSTD_STREAM:
		return zstd ? PP_FRAME_ZSTD_STREAM : PP_FRAME_RAW;
	case PP_FRAME_POLICY_AUTO:
		break;
	}
	/* Network-bound: spend CPU on ratio. CPU-bound: stay cheap. */
	if (congested && zstd)
		return PP_FRAME_ZSTD_STREAM;
	return lz4 ? PP_FRAME_LZ4 : PP_FRAME_RAW;
}

/* Payload of kind k in dst[0..cap) (cap = one byte short of raw), or 0. */
static size_t pp_frame_try(struct pp_frame_encoder *e, enum pp_frame_kind k,
                           const uint8_t *src, size_t len, uint8_t *dst, size_t cap)
{
	bool restarted = false;
	size_t n = 0;

	switch (k) {
	case PP_FRAME_LZ4:
		return pp_codec_lz4_compress(src, len, dst, cap, 1);
	case PP_FRAME_ZSTD:
		return pp_codec_zstd_frame_compress(src, len, dst, cap);
	case PP_FRAME_ZSTD_STREAM:
		/* After a miss, let a cheap probe vouch for the data before it
		 * enters (and on failure resets) the stream. dst is scratch. */
		if (e->policy == PP_FRAME_POLICY_AUTO && e->probe_first &&
		    !pp_codec_lz4_compress(src, len, dst, cap,
		                           PP_FRAME_PROBE_ACCEL))
			return 0;
		n = pp_codec_zstream_compress(&e->zs, src, len, dst, cap, &restarted);
		e->st.restarts += restarted;
		return n;
	case PP_FRAME_RAW:
		break;
	}
	return 0;
}

/* Learns from one attempt: a saving under 1/64 is a miss. */
static void pp_frame_learn(struct pp_frame_encoder *e, size_t len, size_t payload)
{
	if (payload && payload < len - len / 64) {
		e->miss = 0;
		e->probe_first = false;
		e->skip_next = PP_FRAME_SKIP_MIN;
		return;
	}
	e->probe_first = true;
	if (++e->miss < PP_FRAME_MISS_LIMIT)
		return;
	/* Pause, then one full attempt (no probe: LZ4 misses data only an
	 * entropy coder shrinks); if that misses too, pause twice as long. */
	e->miss = PP_FRAME_MISS_LIMIT - 1;
	e->probe_first = false;
	e->skip_left = e->skip_next;
	if (e->skip_next < PP_FRAME_SKIP_MAX)
		e->skip_next *= 2;
}

static void pp_frame_count(struct pp_frame_stats *st, enum pp_frame_kind k, size_t data,
                           size_t wire)
{
	st->msgs[k]++;
	st->data[k] += data;
	st->wire[k] += wire;
}

int pp_frame_encode(struct pp_frame_encoder *e, const uint8_t *data, size_t len,
                    bool link_congested, uint8_t *out, size_t cap, size_t *out_len)
{
	if (len > PP_FRAME_DATA_MAX || cap < len + 1)
		return PP_ERR_TOO_BIG;
	enum pp_frame_kind k = pp_frame_pick(e, len, link_congested);
	/* No zstd-stream context to be had (the peer's or the process's
	 * budget is spent): the cheap format, and no lesson learnt from it. */
	if (k == PP_FRAME_ZSTD_STREAM && !pp_codec_zstream_ready(&e->zs))
		k = e->policy == PP_FRAME_POLICY_AUTO && (e->peer_formats & PP_FRAME_FMT_LZ4) ?
		    PP_FRAME_LZ4 : PP_FRAME_RAW;
	bool adaptive = e->policy == PP_FRAME_POLICY_AUTO && k != PP_FRAME_RAW;
	size_t n = 0;

	/* A link that keeps up again gives the stream context back to the
	 * budgets (the next flag-3 message starts a new frame). */
	if (k == PP_FRAME_ZSTD_STREAM)
		e->zs_unused = 0;
	else if (e->zs.cc && ++e->zs_unused >= PP_FRAME_ZSTD_KEEP_MSGS)
		pp_frame_encoder_shrink(e);

	if (adaptive && e->skip_left) {
		e->skip_left--;
		e->st.skipped++;
	} else if (k != PP_FRAME_RAW) {
		/* Room for a payload strictly shorter than raw. */
		n = pp_frame_try(e, k, data, len, out + 1, len - 1);
		if (adaptive)
			pp_frame_learn(e, len, n);
	}
	if (!n) {
		k = PP_FRAME_RAW;
		memcpy(out + 1, data, len);
		n = len;
	}
	out[0] = (uint8_t)k;
	*out_len = n + 1;
	pp_frame_count(&e->st, k, len, n + 1);
	return 0;
}

struct pp_frame_decoder *pp_frame_decoder_new(unsigned our_formats)
{
	struct pp_frame_decoder *d = calloc(1, sizeof(*d));
	if (d)
		d->our_formats = our_formats & PP_FRAME_FMT_ALL;
	return d;
}

void pp_frame_decoder_free(struct pp_frame_decoder *d)
{
	if (!d)
		return;
	pp_codec_zstream_dec_release(&d->zs);
	pp_frame_budget_unref(d->zs.budget);
	free(d);
}

void pp_frame_decoder_set_budget(struct pp_frame_decoder *d, struct pp_frame_budget *b)
{
	if (d->zs.dc || d->zs.budget)
		return; /* only before the first zstd-stream message */
	d->zs.budget = pp_frame_budget_ref(b);
}

void pp_frame_decoder_stats(const struct pp_frame_decoder *d, struct pp_frame_stats *out)
{
	*out = d->st;
}

size_t pp_frame_decoder_memory(const struct pp_frame_decoder *d)
{
	return sizeof(*d) + ZSTD_sizeof_DCtx(d->zs.dc);
}

/* The checks every message passes before its payload is looked at. */
static int pp_frame_check(const struct pp_frame_decoder *d, const uint8_t *msg,
                          size_t len, const char **why)
{
	if (len == 0) {
		*why = "empty message (no flags byte)";
		return PP_ERR_INVALID;
	}
	if (len > PP_FRAME_MSG_MAX) {
		*why = "message over 66560 bytes";
		return PP_ERR_TOO_BIG;
	}
	if (msg[0] & ~(PP_FRAME_KIND_MASK | PP_FRAME_SEALED)) {
		*why = "unknown flag bits";
		return PP_ERR_INVALID;
	}
	if (msg[0] & PP_FRAME_SEALED) {
		*why = "sealed message without v1.1-G";
		return PP_ERR_INVALID;
	}
	unsigned k = msg[0] & PP_FRAME_KIND_MASK;
	unsigned need = k == PP_FRAME_LZ4 ? PP_FRAME_FMT_LZ4 : PP_FRAME_FMT_ZSTD;
	if (k != PP_FRAME_RAW && !(d->our_formats & need)) {
		*why = "compression format we did not advertise";
		return PP_ERR_INVALID;
	}
	if (k != PP_FRAME_RAW && len == 1) {
		*why = "empty compressed payload";
		return PP_ERR_INVALID;
	}
	return 0;
}

static int pp_frame_decode_payload(struct pp_frame_decoder *d, enum pp_frame_kind k,
                                   const uint8_t *p, size_t plen, uint8_t *out,
                                   size_t *out_len, const char **why)
{
	int rc;

	switch (k) {
	case PP_FRAME_RAW:
		if (plen > PP_FRAME_DATA_MAX) {
			*why = "raw payload over 65536 bytes";
			return PP_ERR_TOO_BIG;
		}
		memcpy(out, p, plen);
		*out_len = plen;
		return 0;
	case PP_FRAME_LZ4:
		return pp_codec_lz4_decompress(p, plen, out, out_len, why);
	case PP_FRAME_ZSTD:
		return pp_codec_zstd_frame_decompress(p, plen, out, out_len, why);
	case PP_FRAME_ZSTD_STREAM:
		if (d->stream_broken) {
			*why = "zstd stream out of sync after an earlier error";
			return PP_ERR_INVALID;
		}
		rc = pp_codec_zstream_decompress(&d->zs, p, plen, out, out_len, why);
		d->stream_broken = rc < 0;
		return rc;
	}
	return PP_ERR_INVALID;
}

int pp_frame_decode(struct pp_frame_decoder *d, const uint8_t *msg, size_t len,
                    uint8_t *out, size_t *out_len, const char **why)
{
	*out_len = 0;
	int rc = pp_frame_check(d, msg, len, why);
	if (rc < 0)
		return rc;
	enum pp_frame_kind k = (enum pp_frame_kind)(msg[0] & PP_FRAME_KIND_MASK);
	rc = pp_frame_decode_payload(d, k, msg + 1, len - 1, out, out_len, why);
	if (rc < 0) {
		*out_len = 0;
		return rc;
	}
	pp_frame_count(&d->st, k, *out_len, len);
	return 0;
}
