/* SPDX-License-Identifier: Apache-2.0 */
/* resolve.c: one lookup per name in flight, shared by its waiters, with
 * GIO's real resolver on "localhost" (the hosts file, no network). */
#include "resolve.h"

#include <glib.h>
#include <stdbool.h>

struct answer {
	unsigned calls;
	unsigned addrs;
	bool failed;
};

static void on_resolved(void *user, GList *addrs, const GError *err)
{
	struct answer *a = user;

	a->calls++;
	a->addrs = g_list_length(addrs);
	a->failed = err != NULL;
}

/* Runs the default context until cond or 10 s. */
#define RUN_UNTIL(cond)                                                        \
	do {                                                                   \
		gint64 end_ = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;    \
		while (!(cond) && g_get_monotonic_time() < end_)               \
			g_main_context_iteration(NULL, TRUE);                  \
		g_assert_true(cond);                                           \
	} while (0)

static void run_for_ms(int ms)
{
	gint64 end = g_get_monotonic_time() + ms * 1000;

	while (g_get_monotonic_time() < end)
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(1000);
}

static void test_shared(void)
{
	struct gw_resolver *r = gw_resolver_new();
	struct answer a[3] = { 0 };

	for (int i = 0; i < 3; i++)
		g_assert_nonnull(gw_resolve(r, "localhost", on_resolved, &a[i]));
	g_assert_cmpuint(a[0].calls + a[1].calls + a[2].calls, ==, 0); /* never from gw_resolve */
	RUN_UNTIL(a[0].calls && a[1].calls && a[2].calls);
	g_assert_cmpuint(gw_resolver_lookups(r), ==, 1);
	for (int i = 0; i < 3; i++) {
		g_assert_cmpuint(a[i].calls, ==, 1);
		g_assert_false(a[i].failed);
		g_assert_cmpuint(a[i].addrs, >, 0);
	}
	/* answered: the next wait starts its own lookup (nothing is cached) */
	gw_resolve(r, "localhost", on_resolved, &a[0]);
	RUN_UNTIL(a[0].calls == 2);
	g_assert_cmpuint(gw_resolver_lookups(r), ==, 2);
	gw_resolver_free(r);
}

static void test_cancel_one(void)
{
	struct gw_resolver *r = gw_resolver_new();
	struct answer gone = { 0 }, kept = { 0 };
	struct gw_resolve_wait *w = gw_resolve(r, "localhost", on_resolved, &gone);

	gw_resolve(r, "localhost", on_resolved, &kept);
	gw_resolve_cancel(w);
	RUN_UNTIL(kept.calls == 1);
	g_assert_cmpuint(kept.addrs, >, 0);
	g_assert_cmpuint(gone.calls, ==, 0);
	g_assert_cmpuint(gw_resolver_lookups(r), ==, 1);
	gw_resolver_free(r);
}

/* The last waiter leaves: the lookup is cancelled and out of the table at
 * once, so a new wait starts afresh, and only the new one is answered. */
static void test_cancel_all(void)
{
	struct gw_resolver *r = gw_resolver_new();
	struct answer gone = { 0 }, later = { 0 };

	gw_resolve_cancel(gw_resolve(r, "localhost", on_resolved, &gone));
	gw_resolve(r, "localhost", on_resolved, &later);
	g_assert_cmpuint(gw_resolver_lookups(r), ==, 2);
	RUN_UNTIL(later.calls == 1);
	run_for_ms(100); /* the cancelled lookup's own callback has come and gone */
	g_assert_cmpuint(gone.calls, ==, 0);
	g_assert_cmpuint(later.calls, ==, 1);
	gw_resolver_free(r);
}

/* A waiter's call may cancel another waiter of the same lookup. */
static struct gw_resolve_wait *victim;

static void cancel_victim(void *user, GList *addrs, const GError *err)
{
	on_resolved(user, addrs, err);
	gw_resolve_cancel(victim);
}

static void test_cancel_from_answer(void)
{
	struct gw_resolver *r = gw_resolver_new();
	struct answer first = { 0 }, second = { 0 };

	gw_resolve(r, "localhost", cancel_victim, &first);
	victim = gw_resolve(r, "localhost", on_resolved, &second);
	RUN_UNTIL(first.calls == 1);
	run_for_ms(50);
	g_assert_cmpuint(second.calls, ==, 0);
	gw_resolver_free(r);
}

/* The resolver goes with a wait still open (streams freed unclosed at
 * exit): the wait is never called, and the lookup's late callback only
 * frees it (ASan sees any leak or use after free). */
static void test_free_while_waiting(void)
{
	struct gw_resolver *r = gw_resolver_new();
	struct answer dropped = { 0 };

	gw_resolve(r, "localhost", on_resolved, &dropped);
	gw_resolver_free(r);
	run_for_ms(200);
	g_assert_cmpuint(dropped.calls, ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/gateway/resolve/shared", test_shared);
	g_test_add_func("/gateway/resolve/cancel-one", test_cancel_one);
	g_test_add_func("/gateway/resolve/cancel-all", test_cancel_all);
	g_test_add_func("/gateway/resolve/cancel-from-answer", test_cancel_from_answer);
	g_test_add_func("/gateway/resolve/free-while-waiting", test_free_while_waiting);
	return g_test_run();
}
