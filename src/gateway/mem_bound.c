/* SPDX-License-Identifier: Apache-2.0 */
/* The most data the gateway may hold for its peers (mem_bound.h). */
#include "mem_bound.h"

#include "peerpipe/tunnel/frame.h"
#include "peerpipe/tunnel/stream.h"

#include <inttypes.h>
#include <stdio.h>

static uint64_t gw_mem_streams(int64_t max_streams_per_peer, int64_t peer_buffer,
                               int64_t stream_buffer)
{
	return pp_tstream_pool_bound((size_t)peer_buffer, (unsigned)max_streams_per_peer,
	                             (size_t)stream_buffer);
}

static uint64_t gw_mem_per_peer(int64_t max_streams_per_peer, int64_t peer_buffer,
                                int64_t stream_buffer)
{
	return 2 * (uint64_t)peer_buffer +
	       gw_mem_streams(max_streams_per_peer, peer_buffer, stream_buffer) +
	       pp_frame_zstd_peer_decoder_memory();
}

/* zstd stream encoders: the process's few, shared by all peers. */
static uint64_t gw_mem_encoders(int64_t max_peers)
{
	uint64_t n = (uint64_t)max_peers * PP_FRAME_ZSTD_STREAMS_PER_PEER;

	return (n < PP_FRAME_ZSTD_ENCODERS_MAX ? n : PP_FRAME_ZSTD_ENCODERS_MAX) *
	       pp_frame_zstd_encoder_size();
}

size_t gw_mem_zstd_decoders(int64_t max_peers)
{
	return (size_t)max_peers * pp_frame_zstd_peer_decoder_memory();
}

uint64_t gw_mem_bound(int64_t max_peers, int64_t max_streams_per_peer, int64_t peer_buffer,
                      int64_t stream_buffer)
{
	return (uint64_t)max_peers * gw_mem_per_peer(max_streams_per_peer, peer_buffer, stream_buffer) +
	       gw_mem_encoders(max_peers);
}

void gw_mem_bound_describe(char *buf, size_t len, int64_t max_peers, int64_t max_streams_per_peer,
                           int64_t peer_buffer, int64_t stream_buffer)
{
	uint64_t all = gw_mem_bound(max_peers, max_streams_per_peer, peer_buffer, stream_buffer);
	uint64_t one = gw_mem_per_peer(max_streams_per_peer, peer_buffer, stream_buffer);
	uint64_t streams = gw_mem_streams(max_streams_per_peer, peer_buffer, stream_buffer);
	uint64_t enc = gw_mem_encoders(max_peers);

	snprintf(buf, len,
	         "peers' data is bounded at %" PRIu64 " MiB: max_peers %" PRId64 " x %" PRIu64
	         " MiB per peer (SCTP: 2 x peer_buffer %" PRId64 " KiB; its streams together: %" PRIu64
	         " KiB, for up to max_streams_per_peer %" PRId64 " of stream_buffer %" PRId64
	         " KiB; zstd stream decoders: %zu KiB), and zstd stream encoders: %" PRIu64 " KiB",
	         (all + (1 << 20) - 1) >> 20, max_peers, (one + (1 << 20) - 1) >> 20,
	         peer_buffer >> 10, (streams + 1023) >> 10, max_streams_per_peer, stream_buffer >> 10,
	         (pp_frame_zstd_peer_decoder_memory() + 1023) >> 10, (enc + 1023) >> 10);
}
