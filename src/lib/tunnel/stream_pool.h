/* SPDX-License-Identifier: Apache-2.0 */
/* What the streams of one peer hold together (tunnel/stream.h, "Flow
 * control"): one pool per session, shared by its streams.
 *
 * Each stream's own marks bound it alone; with many streams open, the
 * sums would be max_streams times those marks. The pool bounds them
 * together, with one limit for each direction:
 * - toward the sockets, the decoded bytes waiting for slow sockets are
 *   counted; past the limit the pool is "over" (the session pauses the
 *   association, as for one stream over its own write_max) until they fall
 *   to half of it;
 * - toward the peer, each open stream gets an equal share of the limit
 *   as its high mark (never under PP_TSTREAM_SHARE_MIN, never over
 *   its own high_mark), so the channels' queues together stay near it.
 * Single-threaded: the session's context. Reference-counted: each stream
 * holds a reference. */
#ifndef PEERPIPE_TUNNEL_STREAM_POOL_H
#define PEERPIPE_TUNNEL_STREAM_POOL_H

#include "peerpipe/tunnel/stream.h"

#include <stdbool.h>
#include <stddef.h>

/* on_over: the pool went over its limit (true) or back to half of it
 * (false). */
struct pp_tstream_pool *pp_tstream_pool_new(size_t limit, void (*on_over)(void *user, bool over),
                                            void *user);
struct pp_tstream_pool *pp_tstream_pool_ref(struct pp_tstream_pool *p);
void pp_tstream_pool_unref(struct pp_tstream_pool *p);
/* The owner's unref: on_over is not called any more. */
void pp_tstream_pool_disown(struct pp_tstream_pool *p);

/* A stream counts for the shares from its creation to its end. */
void pp_tstream_pool_join(struct pp_tstream_pool *p);
void pp_tstream_pool_leave(struct pp_tstream_pool *p);

/* Decoded bytes waiting for sockets: added when queued, taken when
 * written or dropped. */
void pp_tstream_pool_add(struct pp_tstream_pool *p, size_t bytes);
void pp_tstream_pool_take(struct pp_tstream_pool *p, size_t bytes);
bool pp_tstream_pool_over(const struct pp_tstream_pool *p);
size_t pp_tstream_pool_pending(const struct pp_tstream_pool *p);

/* A stream's high mark toward the peer: its own, or its share if less. */
size_t pp_tstream_pool_share(const struct pp_tstream_pool *p, size_t own);

#endif
