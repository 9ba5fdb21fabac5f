/* SPDX-License-Identifier: Apache-2.0 */
/* How much data the gateway may hold for its peers at most, from the
 * configured limits (docs/gateway.md, "Memory"). Every buffer on the data
 * path is bounded, but the bounds multiply: max_peers associations, each
 * with usrsctp's send buffer and receive window (peer_buffer each way),
 * and max_streams_per_peer streams, each with its flow-control queue
 * towards the peer and its write queue towards the service (stream_buffer
 * each, plus one socket read and one message). The operator reads the
 * product at start, so that the limits match the machine. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define GW_MEM_STREAM_SLACK (64 * 1024 + 256 * 1024) /* one read, one message */

/* Bytes of peers' data the limits allow at most (allocation overhead not
 * counted). */
uint64_t gw_mem_bound(int64_t max_peers, int64_t max_streams_per_peer, int64_t peer_buffer,
                      int64_t stream_buffer);

/* The bound and what it is made of, as one line of text ("peers' data is
 * bounded at N MiB: ..."), for the start's log and --check-config. */
void gw_mem_bound_describe(char *buf, size_t len, int64_t max_peers, int64_t max_streams_per_peer,
                           int64_t peer_buffer, int64_t stream_buffer);
