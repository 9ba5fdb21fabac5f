/* SPDX-License-Identifier: Apache-2.0 */
/* The streams' pool of one session (src/lib/tunnel/stream_pool.h): when it
 * says "over" and "under", the shares it gives, and the bound the gateway
 * logs from it. */
#include "../../../src/lib/tunnel/stream_pool.h"

#include "peerpipe/tunnel/frame.h"

#include <glib.h>

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

struct reports {
	int over, under;
};

static void on_over(void *user, bool over)
{
	struct reports *r = user;

	if (over)
		r->over++;
	else
		r->under++;
}

/* Over past the limit, under again only at half of it; each change told
 * once. */
static void test_hysteresis(void)
{
	struct reports r = { 0 };
	struct pp_tstream_pool *p = pp_tstream_pool_new(MiB, on_over, &r);

	pp_tstream_pool_add(p, MiB);
	g_assert_false(pp_tstream_pool_over(p)); /* at the limit: not past it */
	pp_tstream_pool_add(p, 1);
	g_assert_true(pp_tstream_pool_over(p));
	pp_tstream_pool_add(p, 64 * KiB);
	g_assert_cmpint(r.over, ==, 1);
	pp_tstream_pool_take(p, 64 * KiB + 1 + 256 * KiB); /* 768 KiB left */
	g_assert_true(pp_tstream_pool_over(p));
	g_assert_cmpint(r.under, ==, 0);
	pp_tstream_pool_take(p, 256 * KiB); /* 512 KiB: half */
	g_assert_false(pp_tstream_pool_over(p));
	g_assert_cmpint(r.under, ==, 1);
	g_assert_cmpuint(pp_tstream_pool_pending(p), ==, 512 * KiB);
	/* more taken than added (a miscount) stops at zero */
	pp_tstream_pool_take(p, MiB);
	g_assert_cmpuint(pp_tstream_pool_pending(p), ==, 0);
	/* disowned: the count goes on, the owner hears nothing more */
	pp_tstream_pool_ref(p);
	pp_tstream_pool_disown(p);
	pp_tstream_pool_add(p, 2 * MiB);
	g_assert_true(pp_tstream_pool_over(p));
	g_assert_cmpint(r.over, ==, 1);
	pp_tstream_pool_unref(p);
}

/* A stream's share toward the peer: its own mark while the limit covers
 * every open stream's, an equal part of the limit beyond, 16 KiB least. */
static void test_shares(void)
{
	struct pp_tstream_pool *p = pp_tstream_pool_new(4 * MiB, NULL, NULL);

	g_assert_cmpuint(pp_tstream_pool_share(p, 256 * KiB), ==, 256 * KiB); /* none open */
	g_assert_cmpuint(pp_tstream_pool_share(NULL, 256 * KiB), ==, 256 * KiB);
	for (int i = 0; i < 16; i++)
		pp_tstream_pool_join(p);
	g_assert_cmpuint(pp_tstream_pool_share(p, 256 * KiB), ==, 256 * KiB);
	pp_tstream_pool_join(p);
	g_assert_cmpuint(pp_tstream_pool_share(p, 256 * KiB), ==, 4 * MiB / 17);
	for (int i = 17; i < 1024; i++)
		pp_tstream_pool_join(p);
	g_assert_cmpuint(pp_tstream_pool_share(p, 256 * KiB), ==, PP_TSTREAM_SHARE_MIN);
	for (int i = 0; i < 1024; i++)
		pp_tstream_pool_leave(p);
	pp_tstream_pool_leave(p); /* one leave too many changes nothing */
	g_assert_cmpuint(pp_tstream_pool_share(p, 256 * KiB), ==, 256 * KiB);
	pp_tstream_pool_unref(p);
}

/* The bound: toward the peer, the i-th oldest of the open streams holds
 * at most its mark or the share it had with i streams open (limit / i,
 * 16 KiB least) and one read; toward the sockets, the limit and the one
 * message that passed it. */
static void test_bound(void)
{
	const uint64_t framing = PP_FRAME_MSG_MAX - PP_FRAME_DATA_MAX;
	const uint64_t sockets = 4 * MiB + PP_FRAME_DATA_MAX;
	const uint64_t own = 256 * KiB + PP_FRAME_MSG_MAX; /* a stream at its own mark */
	uint64_t small = 0;

	/* one stream: its mark and a whole message */
	g_assert_cmpuint(pp_tstream_pool_bound(4 * MiB, 1, 256 * KiB), ==, own + sockets);
	/* 16 streams fit at their own marks; the 17th's share is 4 MiB / 17 */
	g_assert_cmpuint(pp_tstream_pool_bound(4 * MiB, 16, 256 * KiB), ==, 16 * own + sockets);
	g_assert_cmpuint(pp_tstream_pool_bound(4 * MiB, 17, 256 * KiB), ==,
	                 16 * own + (4 * MiB / 17 + PP_TSTREAM_SHARE_READ + framing) + sockets);
	/* the defaults: 17.2 MiB toward the peer (256 streams of 16 KiB would
	 * be 5.3, but queues filled with fewer streams open drain slowly) */
	g_assert_cmpuint(pp_tstream_pool_bound(4 * MiB, 256, 256 * KiB) - sockets, ==, 17995520);
	/* a pool smaller than one mark: past the 16th stream, the least share */
	for (uint64_t i = 2; i <= 16; i++)
		small += 256 * KiB / i + PP_TSTREAM_SHARE_READ + framing;
	g_assert_cmpuint(pp_tstream_pool_bound(256 * KiB, 1024, 256 * KiB), ==,
	                 own + small + 1008 * (PP_TSTREAM_SHARE_MIN + PP_TSTREAM_SHARE_READ + framing) +
	                     256 * KiB + PP_FRAME_DATA_MAX);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/stream_pool/hysteresis", test_hysteresis);
	g_test_add_func("/stream_pool/shares", test_shares);
	g_test_add_func("/stream_pool/bound", test_bound);
	return g_test_run();
}
