/* SPDX-License-Identifier: Apache-2.0 */
/* The most data the gateway may hold for its peers (mem_bound.h). */
#include "mem_bound.h"

#include <inttypes.h>
#include <stdio.h>

uint64_t gw_mem_bound(int64_t max_peers, int64_t max_streams_per_peer, int64_t peer_buffer,
                      int64_t stream_buffer)
{
	uint64_t per_stream = 2 * (uint64_t)stream_buffer + GW_MEM_STREAM_SLACK;
	uint64_t per_peer = 2 * (uint64_t)peer_buffer + (uint64_t)max_streams_per_peer * per_stream;

	return (uint64_t)max_peers * per_peer;
}

void gw_mem_bound_describe(char *buf, size_t len, int64_t max_peers, int64_t max_streams_per_peer,
                           int64_t peer_buffer, int64_t stream_buffer)
{
	uint64_t all = gw_mem_bound(max_peers, max_streams_per_peer, peer_buffer, stream_buffer);
	uint64_t one = gw_mem_bound(1, max_streams_per_peer, peer_buffer, stream_buffer);

	snprintf(buf, len,
	         "peers' data is bounded at %" PRIu64 " MiB: max_peers %" PRId64 " x %" PRIu64
	         " MiB per peer (2 x peer_buffer %" PRId64 " KiB, and max_streams_per_peer %" PRId64
	         " x (2 x stream_buffer %" PRId64 " KiB + %d KiB))",
	         (all + (1 << 20) - 1) >> 20, max_peers, (one + (1 << 20) - 1) >> 20,
	         peer_buffer >> 10, max_streams_per_peer, stream_buffer >> 10,
	         GW_MEM_STREAM_SLACK >> 10);
}
