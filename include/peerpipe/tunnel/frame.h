/* SPDX-License-Identifier: Apache-2.0 */
/* Data messages of a service stream (tunnel.md §4): framing and codecs.
 *
 *   | flags (1) | payload |
 *   flags bits 0-1: 0 raw, 1 LZ4 block, 2 zstd frame, 3 zstd stream
 *   flags bit 7   : sealed by v1.1-G (refused here: no sealing layer yet)
 *   other bits    : 0
 *
 * An LZ4 payload is a 4-byte big-endian decompressed length and one LZ4
 * block. A zstd-frame payload is exactly one zstd frame. A zstd-stream
 * payload is the next piece of the one zstd stream of this direction of
 * the stream; only flag-3 messages enter that stream's history.
 *
 * One encoder and one decoder per direction of each stream; neither is
 * thread-safe. Compression contexts are created on first use, so an idle
 * stream costs only the small structs (see pp_frame_*_memory()).
 *
 * Adaptive choice (PP_FRAME_POLICY_AUTO), per message:
 * - A message is sent compressed only when that makes it strictly smaller
 *   than raw (the spec's rule). Compressors write into a buffer one byte
 *   short of raw size, so an attempt that cannot win stops early.
 * - Messages under PP_FRAME_MIN_COMPRESS bytes go raw under every policy:
 *   little to gain, and a stream attempt that cannot fit costs history.
 * - link_congested (the channel's buffered amount is above its low mark:
 *   the network is the bottleneck) -> zstd stream, level 3, for ratio;
 *   otherwise LZ4 (cheap), or raw when the peer does not decode LZ4.
 * - Incompressible data costs little CPU: after PP_FRAME_MISS_LIMIT poor
 *   results in a row (saving under 1/64) the next N messages go raw
 *   untried, then one message is tried; if it misses too, N doubles. N
 *   starts at 8, stops growing at 256, and resets once a message
 *   compresses again.
 * - The zstd stream cannot be rewound: bytes fed to it are history that
 *   later pieces may reference. So a stream attempt that does not pay off
 *   is discarded, the message goes raw, and the context is reset. The
 *   peer follows because the next flag-3 message starts by ending the
 *   old frame with an empty last block (3 bytes, RFC 8878 §3.1.1.2; our
 *   frames carry no checksum, so nothing else is owed) and then begins a
 *   new frame: a zstd stream may hold any number of frames, and every
 *   decoder of a stream (ZSTD_decompressStream) follows. To make such
 *   restarts rare, after a missed attempt a cheap LZ4 probe decides first
 *   and the stream is only touched when it says the data compresses (the
 *   attempt after a pause is a full one: LZ4 misses data that only an
 *   entropy coder shrinks, such as base64). The wire format stays
 *   exactly as the spec says.
 * - Forced policies (tests, benchmarks) try their one format on every
 *   message of PP_FRAME_MIN_COMPRESS bytes or more, with no skipping (still
 *   raw when not smaller, or when the peer lacks the format). */
#ifndef PEERPIPE_TUNNEL_FRAME_H
#define PEERPIPE_TUNNEL_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_FRAME_DATA_MAX 65536   /* stream bytes in one message */
#define PP_FRAME_MSG_MAX 66560    /* whole message, flags byte included */
#define PP_FRAME_MIN_COMPRESS 64  /* shorter messages always go raw */
#define PP_FRAME_MISS_LIMIT 3     /* poor results in a row before skipping */
#define PP_FRAME_SKIP_MIN 8       /* messages sent raw untried, first time */
#define PP_FRAME_SKIP_MAX 256     /*   and at most */
#define PP_FRAME_ZSTD_LEVEL 3
/* Our stream encoder's window: 1 MiB of history per direction. */
#define PP_FRAME_ZSTD_WINDOW_LOG 20
/* The decoder refuses zstd frames whose window is over 8 MiB, so a peer
 * can make one stream direction hold at most about 8.5 MiB. zstd's
 * own level 19 uses 2^23 for large inputs; nothing sane needs more for
 * messages of 64 KiB. */
#define PP_FRAME_ZSTD_WINDOW_LOG_MAX 23
/* zstd-stream (flag 3) contexts hold megabytes each (encoder about
 * 2.6 MB; decoder about 1.5 MB for our 2^20 window, up to 8.5 MiB for a
 * peer's 2^23), one per stream direction that uses flag 3, and a peer
 * decides how many streams exist. So each peer (a pp_frame_budget, one per
 * session) may have PP_FRAME_ZSTD_STREAMS_PER_PEER streams that send flag
 * 3, and its decoders may hold pp_frame_zstd_peer_decoder_memory() bytes:
 * PP_FRAME_ZSTD_DECODERS_PER_PEER at our window, fewer at a larger one. The
 * process holds at most PP_FRAME_ZSTD_ENCODERS_MAX encoders, and decoders
 * of pp_frame_zstd_decoder_memory() bytes in all. An encoder beyond either
 * sends LZ4 (or raw) instead and keeps its peer slot until it is freed
 * (the peer's decoder keeps its context as long); a decoder beyond either
 * refuses the piece and that stream closes. The decoders' headroom covers
 * streams whose close is still on its way, so two PeerPipe ends never meet
 * the decoder's limit; a peer that does only loses its own stream. Flag 2
 * needs no state between messages: one context per thread, never refused. */
#define PP_FRAME_ZSTD_STREAMS_PER_PEER 16
#define PP_FRAME_ZSTD_DECODERS_PER_PEER (2 * PP_FRAME_ZSTD_STREAMS_PER_PEER)
/* An encoder frees its zstd-stream context (not its peer slot) after this
 * many messages in a row sent without it (the link keeps up again). */
#define PP_FRAME_ZSTD_KEEP_MSGS 64
#define PP_FRAME_ZSTD_ENCODERS_MAX 64
/* The process's decoder memory unless set: this many at our window. */
#define PP_FRAME_ZSTD_DECODERS_MAX 256

enum pp_frame_kind {
	PP_FRAME_RAW = 0,
	PP_FRAME_LZ4 = 1,
	PP_FRAME_ZSTD = 2,        /* an independent zstd frame */
	PP_FRAME_ZSTD_STREAM = 3, /* the next piece of the direction's stream */
};

#define PP_FRAME_KIND_MASK 0x03
#define PP_FRAME_SEALED 0x80

/* Formats a side can decode (HELLO "compression"); raw is always allowed. */
#define PP_FRAME_FMT_LZ4 (1u << 0)  /* "lz4": flag 1 */
#define PP_FRAME_FMT_ZSTD (1u << 1) /* "zstd": flags 2 and 3 */
#define PP_FRAME_FMT_ALL (PP_FRAME_FMT_LZ4 | PP_FRAME_FMT_ZSTD)

enum pp_frame_policy {
	PP_FRAME_POLICY_AUTO = 0,   /* adaptive, see above (default) */
	PP_FRAME_POLICY_OFF,        /* always raw */
	PP_FRAME_POLICY_LZ4,        /* always try flag 1 */
	PP_FRAME_POLICY_ZSTD,       /* always try flag 2 */
	PP_FRAME_POLICY_ZSTD_STREAM /* always try flag 3 */
};

/* Counters, indexed by enum pp_frame_kind. For an encoder data = stream
 * bytes handed in, wire = message bytes out (flags byte included); for a
 * decoder the reverse direction. */
struct pp_frame_stats {
	uint64_t msgs[4];
	uint64_t data[4];
	uint64_t wire[4];
	uint64_t skipped;  /* encoder: sent raw untried (incompressible) */
	uint64_t restarts; /* encoder: zstd stream frames abandoned */
};

struct pp_frame_encoder;
struct pp_frame_decoder;
struct pp_frame_budget;

/* One peer's share of zstd-stream contexts, for the encoders and decoders
 * of its streams (set on each before its first message). Single-threaded,
 * like the encoders; refcounted, so streams may outlive the session's
 * reference. NULL on no memory. */
struct pp_frame_budget *pp_frame_budget_new(void);
struct pp_frame_budget *pp_frame_budget_ref(struct pp_frame_budget *b);
void pp_frame_budget_unref(struct pp_frame_budget *b);
/* zstd-stream contexts held now, and the decoders' bytes (tests). */
void pp_frame_budget_counts(const struct pp_frame_budget *b, unsigned *encoders,
                            unsigned *decoders, size_t *decoder_bytes);

/* Bytes of one zstd-stream decoder for a 2^window_log window, and of one
 * of our encoders. */
size_t pp_frame_zstd_decoder_size(unsigned window_log);
size_t pp_frame_zstd_encoder_size(void);
/* What one peer's decoders may hold together. */
size_t pp_frame_zstd_peer_decoder_memory(void);
/* What all the process's decoders may hold together: set once, before any
 * stream (a gateway: max_peers peers' worth, so no peer within its own
 * budget is refused); 0 restores the default, PP_FRAME_ZSTD_DECODERS_MAX
 * at our window. _used: what they hold now. */
void pp_frame_zstd_set_decoder_memory(size_t bytes);
size_t pp_frame_zstd_decoder_memory(void);
size_t pp_frame_zstd_decoder_memory_used(void);

/* peer_formats: PP_FRAME_FMT_* the other side listed. NULL on no memory. */
struct pp_frame_encoder *pp_frame_encoder_new(unsigned peer_formats);
void pp_frame_encoder_free(struct pp_frame_encoder *e);
void pp_frame_encoder_set_policy(struct pp_frame_encoder *e, enum pp_frame_policy p);
/* Draw zstd-stream contexts from b (NULL: none) as well as from the process's limit.
 * Only before the encoder made one; the encoder keeps a reference. */
void pp_frame_encoder_set_budget(struct pp_frame_encoder *e, struct pp_frame_budget *b);

/* Encodes len (<= PP_FRAME_DATA_MAX) stream bytes into one message in out
 * (cap >= len + 1; PP_FRAME_MSG_MAX always suffices: the result is never
 * larger than raw). 0, or PP_ERR_TOO_BIG for len or cap. Never fails for
 * want of memory: it sends raw instead. */
int pp_frame_encode(struct pp_frame_encoder *e, const uint8_t *data, size_t len,
                    bool link_congested, uint8_t *out, size_t cap, size_t *out_len);

/* Frees the compression contexts of an idle stream. The zstd stream then
 * restarts with a new frame (as after a discarded attempt): the peer
 * follows, only the history is lost. */
void pp_frame_encoder_shrink(struct pp_frame_encoder *e);
void pp_frame_encoder_stats(const struct pp_frame_encoder *e, struct pp_frame_stats *out);
/* Bytes held: the struct and every context it has created (LZ4's table
 * is one per thread, shared by every encoder: not counted). */
size_t pp_frame_encoder_memory(const struct pp_frame_encoder *e);

/* our_formats: PP_FRAME_FMT_* we listed in our HELLO; a message in any
 * other compressed format is a protocol error. NULL on no memory. */
struct pp_frame_decoder *pp_frame_decoder_new(unsigned our_formats);
void pp_frame_decoder_free(struct pp_frame_decoder *d);
/* As pp_frame_encoder_set_budget, for the decoder's zstd stream. */
void pp_frame_decoder_set_budget(struct pp_frame_decoder *d, struct pp_frame_budget *b);

/* Decodes one message into out (PP_FRAME_DATA_MAX bytes). 0, or a protocol
 * error that must close the stream, with *why a static reason:
 *   PP_ERR_INVALID  empty message (no flags byte), unknown flag bits,
 *                   sealed without v1.1-G, a format we did not advertise,
 *                   an empty compressed payload, a corrupt or truncated
 *                   payload, a zstd checksum mismatch, a zstd window over
 *                   2^PP_FRAME_ZSTD_WINDOW_LOG_MAX, not exactly one frame
 *   PP_ERR_TOO_BIG  the output would pass PP_FRAME_DATA_MAX bytes (found
 *                   without allocating beyond the bounds above)
 *   PP_ERR_NOMEM    no memory for a decompression context, or a zstd
 *                   stream context past the peer's budget or the
 *                   process's ("zstd streams from this peer hold too
 *                   much memory")
 * A raw message may carry 0 bytes; a compressed one must have a non-empty
 * payload but may decode to 0 bytes (another encoder may send that).
 * After an error in a zstd stream piece the stream is out of sync: every
 * later flag-3 message fails too. */
int pp_frame_decode(struct pp_frame_decoder *d, const uint8_t *msg, size_t len,
                    uint8_t *out, size_t *out_len, const char **why);
void pp_frame_decoder_stats(const struct pp_frame_decoder *d, struct pp_frame_stats *out);
size_t pp_frame_decoder_memory(const struct pp_frame_decoder *d);

#endif
