/* SPDX-License-Identifier: Apache-2.0 */
/* log_budget.c: lines per minute, the rest counted and handed on. */
#include "log_budget.h"

#include <glib.h>

#define T0 INT64_C(5000000000)

static void test_burst_then_quiet(void)
{
	struct gw_log_budget b = { 0 };
	unsigned quiet = 99;

	for (int i = 0; i < 3; i++) {
		g_assert_true(gw_log_budget_take(&b, T0 + i, 3, &quiet));
		g_assert_cmpuint(quiet, ==, 0);
	}
	for (int i = 0; i < 4; i++)
		g_assert_false(gw_log_budget_take(&b, T0 + 10 + i, 3, &quiet));
	g_assert_cmpuint(b.quiet, ==, 4);
	/* the minute is over: a line again, with the count, which starts over */
	g_assert_true(gw_log_budget_take(&b, T0 + GW_LOG_BUDGET_MINUTE_US, 3, &quiet));
	g_assert_cmpuint(quiet, ==, 4);
	g_assert_cmpuint(b.quiet, ==, 0);
	g_assert_true(gw_log_budget_take(&b, T0 + GW_LOG_BUDGET_MINUTE_US + 1, 3, &quiet));
	g_assert_cmpuint(quiet, ==, 0);
}

static void test_minute_from_first_event(void)
{
	struct gw_log_budget b = { 0 };
	unsigned quiet;

	/* the first minute starts at the first event, not at 0 */
	g_assert_true(gw_log_budget_take(&b, T0, 1, &quiet));
	g_assert_false(gw_log_budget_take(&b, T0 + GW_LOG_BUDGET_MINUTE_US - 1, 1, &quiet));
	g_assert_true(gw_log_budget_take(&b, T0 + GW_LOG_BUDGET_MINUTE_US, 1, &quiet));
	g_assert_cmpuint(quiet, ==, 1);
}

static void test_note(void)
{
	char buf[GW_LOG_BUDGET_NOTE_MAX];

	g_assert_cmpstr(gw_log_budget_note(0, "refusals", buf, sizeof(buf)), ==, "");
	g_assert_cmpstr(gw_log_budget_note(7, "refused streams", buf, sizeof(buf)), ==,
	                " (7 more refused streams were not logged)");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/log-budget/burst-then-quiet", test_burst_then_quiet);
	g_test_add_func("/log-budget/minute-from-first-event", test_minute_from_first_event);
	g_test_add_func("/log-budget/note", test_note);
	return g_test_run();
}
