/* SPDX-License-Identifier: Apache-2.0 */
/* Flag 1: a 4-byte big-endian decompressed length and one LZ4 block. */
#include "codec_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/tunnel/frame.h"

#include <glib.h>
#include <lz4.h>
#include <stdlib.h>

#define PP_LZ4_HDR 4

/* 16 KiB of hash table per thread, kept for the thread's life: one per
 * encoder cost a malloc and a 16 KiB clear for each stream (a short
 * stream sends one or two messages), and a cold table for each. */
static GPrivate pp_lz4_state_key = G_PRIVATE_INIT(free);

static LZ4_stream_t *pp_lz4_state(void)
{
	LZ4_stream_t *st = g_private_get(&pp_lz4_state_key);
	void *mem;

	if (st)
		return st;
	mem = malloc(sizeof(LZ4_stream_t));
	if (!mem || !(st = LZ4_initStream(mem, sizeof(LZ4_stream_t)))) {
		free(mem);
		return NULL;
	}
	g_private_set(&pp_lz4_state_key, st);
	return st;
}

size_t pp_codec_lz4_compress(const uint8_t *src, size_t len, uint8_t *dst, size_t cap,
                             int acceleration)
{
	LZ4_stream_t *state;

	if (len > PP_FRAME_DATA_MAX || cap <= PP_LZ4_HDR || !(state = pp_lz4_state()))
		return 0;
	/* Every message is its own block. LZ4_compress_fast_extState would
	 * clear the whole table per message (a 16 KiB memset, the most of
	 * its cost on a short message); a fast reset drops the history
	 * (another stream's, as well) without it, and the first block after
	 * it references nothing. */
	LZ4_resetStream_fast(state);
	/* A capacity under LZ4_compressBound() makes LZ4 give up (0) as soon
	 * as the output would not fit: cheap on incompressible data. */
	int n = LZ4_compress_fast_continue(state, (const char *)src,
	                                   (char *)dst + PP_LZ4_HDR, (int)len,
	                                   (int)(cap - PP_LZ4_HDR), acceleration);
	if (n <= 0)
		return 0;
	dst[0] = (uint8_t)(len >> 24);
	dst[1] = (uint8_t)(len >> 16);
	dst[2] = (uint8_t)(len >> 8);
	dst[3] = (uint8_t)len;
	return PP_LZ4_HDR + (size_t)n;
}

int pp_codec_lz4_decompress(const uint8_t *p, size_t plen, uint8_t *out,
                            size_t *out_len, const char **why)
{
	if (plen < PP_LZ4_HDR) {
		*why = "lz4 payload shorter than its length field";
		return PP_ERR_INVALID;
	}
	uint32_t n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	if (n > PP_FRAME_DATA_MAX) {
		*why = "lz4 length over 65536";
		return PP_ERR_TOO_BIG;
	}
	/* plen <= PP_FRAME_MSG_MAX (checked by the caller), so it fits an int;
	 * LZ4_decompress_safe never writes past n bytes. */
	int got = LZ4_decompress_safe((const char *)p + PP_LZ4_HDR, (char *)out,
	                              (int)(plen - PP_LZ4_HDR), (int)n);
	if (got < 0 || (uint32_t)got != n) {
		*why = "lz4 block corrupt or not of its stated length";
		return PP_ERR_INVALID;
	}
	*out_len = n;
	return 0;
}
