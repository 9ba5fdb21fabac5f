/* SPDX-License-Identifier: Apache-2.0 */
/* The codecs behind frame.c: each compresses into a bounded buffer and
 * reports "did not fit" as 0, and decompresses into PP_FRAME_DATA_MAX
 * bytes without ever producing more. Contexts are created on first use. */
#ifndef PP_TUNNEL_CODEC_PRIV_H
#define PP_TUNNEL_CODEC_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zstd.h>

/* One peer's share of zstd stream contexts (frame.h): what its streams'
 * encoders (a count: each is the same size) and decoders (bytes: each is
 * as large as the window the peer chose) hold. */
struct pp_frame_budget {
	unsigned refs;
	unsigned enc, dec;
	size_t dec_bytes;
};

/* The sending side of one direction's zstd stream. */
struct pp_zstream_enc {
	ZSTD_CCtx *cc;
	struct pp_frame_budget *budget; /* NULL: the process's limit alone */
	bool slot;      /* holds one of the peer's encoder slots (until freed) */
	bool peer_open; /* the peer is inside a frame we began (sent messages) */
	bool fresh;     /* cc is at the start of a frame nothing was sent from */
};

/* The receiving side of one direction's zstd stream. */
struct pp_zstream_dec {
	ZSTD_DCtx *dc;
	struct pp_frame_budget *budget;
	size_t charged; /* bytes of dc counted against the budgets */
};

/* LZ4 payload (length + block) of src in dst[0..cap), or 0 when it does
 * not fit or no state could be allocated. acceleration 1 is LZ4's
 * default; higher is faster and worse (for probing). Every message is a
 * block of its own, so one state per thread serves every encoder. */
size_t pp_codec_lz4_compress(const uint8_t *src, size_t len, uint8_t *dst, size_t cap,
                             int acceleration);
int pp_codec_lz4_decompress(const uint8_t *p, size_t plen, uint8_t *out,
                            size_t *out_len, const char **why);

/* One independent zstd frame (with content size and checksum), or 0.
 * Frames need no state between messages: one context per thread serves
 * every encoder and decoder, and is never refused for want of budget. */
size_t pp_codec_zstd_frame_compress(const uint8_t *src, size_t len, uint8_t *dst, size_t cap);
int pp_codec_zstd_frame_decompress(const uint8_t *p, size_t plen, uint8_t *out,
                                   size_t *out_len, const char **why);

/* True when z has its context, or could take one now (from its budget and
 * the process's): else the message should go in another format. */
bool pp_codec_zstream_ready(struct pp_zstream_enc *z);
/* The next stream piece, flushed, or 0: then the attempt was discarded and
 * the stream restarts (see frame.h); *restarted says so. */
size_t pp_codec_zstream_compress(struct pp_zstream_enc *z, const uint8_t *src,
                                 size_t len, uint8_t *dst, size_t cap, bool *restarted);
/* Frees the context (back to the process's budget); the next piece starts
 * a frame. The peer's slot stays with the stream: the peer's decoder keeps
 * its context as long as the stream lives. */
void pp_codec_zstream_release(struct pp_zstream_enc *z);
/* The context and the peer's slot: the encoder is going away. */
void pp_codec_zstream_enc_free(struct pp_zstream_enc *z);

int pp_codec_zstream_decompress(struct pp_zstream_dec *z, const uint8_t *p, size_t plen,
                                uint8_t *out, size_t *out_len, const char **why);
void pp_codec_zstream_dec_release(struct pp_zstream_dec *z);

#endif
