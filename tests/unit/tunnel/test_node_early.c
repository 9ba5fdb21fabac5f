/* SPDX-License-Identifier: Apache-2.0 */
/* The bound on a peer's candidates queued before its offer, and on our own
 * held restart offer's: PP_TNODE_EARLY_MAX candidates, and one
 * end-of-candidates marker past them, never more. */
#include "../../../src/lib/tunnel/node_priv.h"

#include <glib.h>

/* Fills a queue the way node.c and node_hold.c do: count of entries kept
 * after offering `cands` candidates and then `markers` end markers. */
static guint queue_after(guint cands, guint markers)
{
	guint n = 0;

	for (guint i = 0; i < cands; i++)
		if (pp_tnode_early_fits(n, false))
			n++;
	for (guint i = 0; i < markers; i++)
		if (pp_tnode_early_fits(n, true))
			n++;
	return n;
}

static void test_bound(void)
{
	g_assert_cmpuint(queue_after(10, 0), ==, 10);
	g_assert_cmpuint(queue_after(PP_TNODE_EARLY_MAX + 30, 0), ==, PP_TNODE_EARLY_MAX);
	/* under the bound, a marker is one entry like any other */
	g_assert_cmpuint(queue_after(10, 1), ==, 11);
	g_assert_cmpuint(queue_after(PP_TNODE_EARLY_MAX - 1, 1), ==, PP_TNODE_EARLY_MAX);
}

static void test_marker_past_bound(void)
{
	/* a long gathering: its end survives the dropped candidates */
	g_assert_cmpuint(queue_after(PP_TNODE_EARLY_MAX + 30, 1), ==, PP_TNODE_EARLY_MAX + 1);
	/* a hostile peer's flood of markers still keeps one past the bound */
	g_assert_cmpuint(queue_after(PP_TNODE_EARLY_MAX, 1000), ==, PP_TNODE_EARLY_MAX + 1);
	/* and no candidate after that marker */
	g_assert_false(pp_tnode_early_fits(PP_TNODE_EARLY_MAX + 1, false));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tunnel/node-early/bound", test_bound);
	g_test_add_func("/tunnel/node-early/marker-past-bound", test_marker_past_bound);
	return g_test_run();
}
