/* SPDX-License-Identifier: Apache-2.0 */
/* How much data the gateway may hold for its peers at most, from the
 * configured limits (docs/gateway.md, "Memory"). Every buffer on the data
 * path is bounded, and the bounds multiply by max_peers: each peer's
 * association has usrsctp's send buffer and receive window (peer_buffer
 * each way), and its streams share a pool of peer_buffer each way
 * (peerpipe/tunnel/stream.h, pp_tstream_pool_bound), whatever their
 * number up to max_streams_per_peer; its zstd stream decoders have a
 * budget of their own (peerpipe/tunnel/frame.h), and the process's few
 * zstd stream encoders are shared. The operator reads the sum at start,
 * so that the limits match the machine. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Bytes of peers' data the limits allow at most (allocation overhead not
 * counted). */
uint64_t gw_mem_bound(int64_t max_peers, int64_t max_streams_per_peer, int64_t peer_buffer,
                      int64_t stream_buffer);

/* What the process's zstd stream decoders may hold together: every
 * peer's budget, so that no peer within its own is ever refused
 * (pp_frame_zstd_set_decoder_memory). */
size_t gw_mem_zstd_decoders(int64_t max_peers);

/* The bound and what it is made of, as one line of text ("peers' data is
 * bounded at N MiB: ..."), for the start's log and --check-config. */
void gw_mem_bound_describe(char *buf, size_t len, int64_t max_peers, int64_t max_streams_per_peer,
                           int64_t peer_buffer, int64_t stream_buffer);
