/* SPDX-License-Identifier: Apache-2.0 */
/* What the streams of one peer hold together (stream_pool.h). */
#include "stream_pool.h"

#include "peerpipe/tunnel/frame.h"

#include <glib.h>

struct pp_tstream_pool {
	unsigned refs;
	size_t limit;        /* bytes, each direction */
	unsigned streams;    /* joined: open streams */
	size_t pending;      /* decoded bytes waiting for sockets */
	bool over;           /* pending passed limit; until it falls to limit / 2 */
	void (*on_over)(void *user, bool over);
	void *user;
};

struct pp_tstream_pool *pp_tstream_pool_new(size_t limit, void (*on_over)(void *user, bool over),
                                            void *user)
{
	struct pp_tstream_pool *p = g_new0(struct pp_tstream_pool, 1);

	p->refs = 1;
	p->limit = limit;
	p->on_over = on_over;
	p->user = user;
	return p;
}

struct pp_tstream_pool *pp_tstream_pool_ref(struct pp_tstream_pool *p)
{
	if (p)
		p->refs++;
	return p;
}

void pp_tstream_pool_unref(struct pp_tstream_pool *p)
{
	if (p && --p->refs == 0)
		g_free(p);
}

void pp_tstream_pool_disown(struct pp_tstream_pool *p)
{
	if (!p)
		return;
	p->on_over = NULL;
	p->user = NULL;
	pp_tstream_pool_unref(p);
}

void pp_tstream_pool_join(struct pp_tstream_pool *p)
{
	if (p)
		p->streams++;
}

void pp_tstream_pool_leave(struct pp_tstream_pool *p)
{
	if (p && p->streams > 0)
		p->streams--;
}

static void pp_tstream_pool_set_over(struct pp_tstream_pool *p, bool over)
{
	if (p->over == over)
		return;
	p->over = over;
	if (p->on_over)
		p->on_over(p->user, over);
}

void pp_tstream_pool_add(struct pp_tstream_pool *p, size_t bytes)
{
	if (!p)
		return;
	p->pending += bytes;
	if (p->pending > p->limit)
		pp_tstream_pool_set_over(p, true);
}

void pp_tstream_pool_take(struct pp_tstream_pool *p, size_t bytes)
{
	if (!p)
		return;
	p->pending -= MIN(bytes, p->pending);
	if (p->pending <= p->limit / 2)
		pp_tstream_pool_set_over(p, false);
}

bool pp_tstream_pool_over(const struct pp_tstream_pool *p)
{
	return p && p->over;
}

size_t pp_tstream_pool_pending(const struct pp_tstream_pool *p)
{
	return p ? p->pending : 0;
}

size_t pp_tstream_pool_share(const struct pp_tstream_pool *p, size_t own)
{
	size_t share;

	if (!p || p->streams == 0)
		return own;
	share = MAX(p->limit / p->streams, (size_t)PP_TSTREAM_SHARE_MIN);
	return MIN(own, share);
}

uint64_t pp_tstream_pool_bound(size_t limit, unsigned max_streams, size_t high_mark)
{
	const uint64_t framing = PP_FRAME_MSG_MAX - PP_FRAME_DATA_MAX; /* a message past its data */
	uint64_t toward_peer = 0;

	/* A stream's queue holds at most the share it last read its socket
	 * with, and one read. Taking the live streams by age, the i-th one
	 * last read with at least i streams open (the i - 1 older ones
	 * existed then), so its share was limit / i at most: queues filled
	 * while fewer streams were open drain as the shares shrink, and the
	 * sum is bounded by limit times a harmonic number, not by limit. */
	for (uint64_t i = 1; i <= max_streams; i++) {
		uint64_t share = MAX(limit / i, (uint64_t)PP_TSTREAM_SHARE_MIN);
		toward_peer += high_mark <= share ? high_mark + PP_FRAME_MSG_MAX /* a whole read */
		                                  : share + PP_TSTREAM_SHARE_READ + framing;
	}
	return toward_peer + limit + PP_FRAME_DATA_MAX;
}
