/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: Sentinel's sliding-window counts (src/gateway/sentinel.c). */
#include "gw_test.h"
#include "sentinel.h"

#include <glib.h>
#include <stdio.h>

#define S 1000LL /* ms */

static const struct sentinel_limits defaults = {
	.window_ms = 60 * S, .denied = 10, .services = 16, .failed = 20, .alerts = 3,
};

static struct sentinel *mk(const struct sentinel_limits *l)
{
	struct sentinel *s = sentinel_new(l ? l : &defaults, 64);
	g_assert_nonnull(s);
	return s;
}

static void test_denied(void)
{
	struct sentinel *s = mk(NULL);
	uint32_t n = 0;

	for (int i = 0; i < 9; i++)
		g_assert_cmpint(sentinel_note(s, "alice", SENTINEL_EV_DENIED, "db", 1000 * S + i, NULL),
		                ==, SENTINEL_NONE);
	g_assert_cmpuint(sentinel_count(s, "alice", SENTINEL_DENIED, 1000 * S + 9), ==, 9);
	g_assert_cmpint(sentinel_note(s, "alice", SENTINEL_EV_DENIED, "db", 1000 * S + 9, &n), ==,
	                SENTINEL_DENIED);
	g_assert_cmpuint(n, ==, 10);
	/* one name asked ten times is one service */
	g_assert_cmpuint(sentinel_count(s, "alice", SENTINEL_SERVICES, 1000 * S + 9), ==, 1);
	/* bob is counted apart */
	g_assert_cmpuint(sentinel_count(s, "bob", SENTINEL_DENIED, 1000 * S + 9), ==, 0);
	g_assert_cmpint(sentinel_note(s, "bob", SENTINEL_EV_DENIED, "db", 1000 * S + 9, NULL), ==,
	                SENTINEL_NONE);
	sentinel_free(s);
}

static void test_window_slides(void)
{
	struct sentinel *s = mk(NULL);
	int64_t t0 = 5000 * S;

	/* 9 at t0, each further one a little later: the old ones leave the
	 * window before the tenth comes */
	for (int i = 0; i < 9; i++)
		sentinel_note(s, "alice", SENTINEL_EV_DENIED, "x", t0, NULL);
	g_assert_cmpuint(sentinel_count(s, "alice", SENTINEL_DENIED, t0 + 58 * S), ==, 9);
	g_assert_cmpuint(sentinel_count(s, "alice", SENTINEL_DENIED, t0 + 61 * S), ==, 0);
	g_assert_cmpint(sentinel_note(s, "alice", SENTINEL_EV_DENIED, "x", t0 + 61 * S, NULL), ==,
	                SENTINEL_NONE);
	g_assert_cmpuint(sentinel_count(s, "alice", SENTINEL_DENIED, t0 + 61 * S), ==, 1);

	/* a steady trickle: one every 7 s never reaches 10 in 60 s */
	for (int i = 0; i < 100; i++)
		g_assert_cmpint(sentinel_note(s, "bob", SENTINEL_EV_DENIED, "x", t0 + i * 7 * S, NULL),
		                ==, SENTINEL_NONE);
	g_assert_cmpuint(sentinel_count(s, "bob", SENTINEL_DENIED, t0 + 99 * 7 * S), <=, 9);
	/* one every 5 s does (12 in a window) */
	bool hit = false;
	for (int i = 0; i < 30 && !hit; i++)
		hit = sentinel_note(s, "carol", SENTINEL_EV_DENIED, "x", t0 + i * 5 * S, NULL) ==
		      SENTINEL_DENIED;
	g_assert_true(hit);

	/* a jump far ahead clears everything */
	sentinel_note(s, "dave", SENTINEL_EV_FAILED, NULL, t0, NULL);
	g_assert_cmpuint(sentinel_count(s, "dave", SENTINEL_FAILED, t0 + 3600 * S), ==, 0);
	sentinel_free(s);
}

static void test_services(void)
{
	struct sentinel_limits l = defaults;
	struct sentinel *s;
	char name[32];
	uint32_t n = 0;
	int64_t t = 10 * S;

	l.denied = 1000; /* only the distinct names count here */
	s = mk(&l);
	for (int i = 0; i < 15; i++) {
		snprintf(name, sizeof(name), "svc%d", i);
		/* allowed and denied names both count, repeats do not */
		g_assert_cmpint(sentinel_note(s, "alice", i % 2 ? SENTINEL_EV_STREAM : SENTINEL_EV_DENIED,
		                              name, t, NULL), ==, SENTINEL_NONE);
		g_assert_cmpint(sentinel_note(s, "alice", SENTINEL_EV_STREAM, name, t, NULL), ==,
		                SENTINEL_NONE);
	}
	g_assert_cmpuint(sentinel_count(s, "alice", SENTINEL_SERVICES, t), ==, 15);
	g_assert_cmpint(sentinel_note(s, "alice", SENTINEL_EV_STREAM, "svc15", t, &n), ==,
	                SENTINEL_SERVICES);
	g_assert_cmpuint(n, ==, 16);
	/* names expire with the window as well */
	g_assert_cmpuint(sentinel_count(s, "alice", SENTINEL_SERVICES, t + 61 * S), ==, 0);
	/* a name asked again later stays in the window from then on */
	sentinel_note(s, "bob", SENTINEL_EV_STREAM, "db", t, NULL);
	sentinel_note(s, "bob", SENTINEL_EV_STREAM, "db", t + 50 * S, NULL);
	g_assert_cmpuint(sentinel_count(s, "bob", SENTINEL_SERVICES, t + 100 * S), ==, 1);
	/* the last name's hash is remembered: a longer name with its prefix,
	 * then the first again, are told apart */
	sentinel_note(s, "dave", SENTINEL_EV_STREAM, "db", t, NULL);
	sentinel_note(s, "dave", SENTINEL_EV_STREAM, "db2", t, NULL);
	sentinel_note(s, "dave", SENTINEL_EV_STREAM, "db", t, NULL);
	sentinel_note(s, "dave", SENTINEL_EV_DENIED, "d", t, NULL);
	g_assert_cmpuint(sentinel_count(s, "dave", SENTINEL_SERVICES, t), ==, 3);
	/* FAILED and ALERT events add no names */
	sentinel_note(s, "carol", SENTINEL_EV_FAILED, "db", t, NULL);
	sentinel_note(s, "carol", SENTINEL_EV_ALERT, "web", t, NULL);
	g_assert_cmpuint(sentinel_count(s, "carol", SENTINEL_SERVICES, t), ==, 0);
	sentinel_free(s);
}

static void test_failed_alerts(void)
{
	struct sentinel *s = mk(NULL);
	uint32_t n = 0;

	for (int i = 0; i < 19; i++)
		g_assert_cmpint(sentinel_note(s, "alice", SENTINEL_EV_FAILED, "db", 7 * S, NULL), ==,
		                SENTINEL_NONE);
	g_assert_cmpint(sentinel_note(s, "alice", SENTINEL_EV_FAILED, "db", 7 * S, &n), ==,
	                SENTINEL_FAILED);
	g_assert_cmpuint(n, ==, 20);
	g_assert_cmpuint(sentinel_count(s, "alice", SENTINEL_DENIED, 7 * S), ==, 0);

	g_assert_cmpint(sentinel_note(s, "bob", SENTINEL_EV_ALERT, NULL, 1 * S, NULL), ==, SENTINEL_NONE);
	g_assert_cmpint(sentinel_note(s, "bob", SENTINEL_EV_ALERT, NULL, 30 * S, NULL), ==, SENTINEL_NONE);
	g_assert_cmpint(sentinel_note(s, "bob", SENTINEL_EV_ALERT, NULL, 59 * S, &n), ==, SENTINEL_ALERTS);
	g_assert_cmpuint(n, ==, 3);
	sentinel_free(s);
}

static void test_forget_and_limits(void)
{
	struct sentinel *s = mk(NULL);
	struct sentinel_limits l = defaults;

	for (int i = 0; i < 5; i++)
		sentinel_note(s, "alice", SENTINEL_EV_DENIED, "x", S, NULL);
	sentinel_forget(s, "alice");
	g_assert_cmpuint(sentinel_count(s, "alice", SENTINEL_DENIED, S), ==, 0);

	/* lower limits apply to what is already counted */
	for (int i = 0; i < 5; i++)
		sentinel_note(s, "bob", SENTINEL_EV_DENIED, "x", S, NULL);
	l.denied = 6;
	g_assert_cmpint(sentinel_set_limits(s, &l), ==, 0);
	g_assert_cmpint(sentinel_note(s, "bob", SENTINEL_EV_DENIED, "x", S, NULL), ==, SENTINEL_DENIED);
	/* a new window starts afresh */
	sentinel_note(s, "carol", SENTINEL_EV_DENIED, "x", S, NULL);
	l.window_ms = 30 * S;
	g_assert_cmpint(sentinel_set_limits(s, &l), ==, 0);
	g_assert_cmpuint(sentinel_count(s, "carol", SENTINEL_DENIED, S), ==, 0);
	/* bad limits are refused and change nothing */
	l.denied = 0;
	g_assert_cmpint(sentinel_set_limits(s, &l), ==, -1);
	l = defaults;
	l.services = SENTINEL_NAMES_MAX + 1;
	g_assert_cmpint(sentinel_set_limits(s, &l), ==, -1);
	g_assert_null(sentinel_new(&l, 8));
	g_assert_null(sentinel_new(&defaults, 0));
	g_assert_null(sentinel_new(&defaults, SENTINEL_IDENTITIES_MAX + 1));
	l = defaults;
	l.window_ms = 0;
	g_assert_null(sentinel_new(&l, 8));
	sentinel_free(s);
}

/* Memory stays bounded: identities are capped (the one idle longest goes),
 * names are capped at the limit. */
static void test_bounds(void)
{
	struct sentinel_limits l = defaults;
	struct sentinel *s;
	char name[80];

	l.denied = 100000;
	l.services = 5;
	s = sentinel_new(&l, 4);
	g_assert_nonnull(s);
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "id%d", i);
		sentinel_note(s, name, SENTINEL_EV_DENIED, "x", (i + 1) * S, NULL);
		g_assert_cmpuint(sentinel_tracked(s), <=, 4);
	}
	g_assert_cmpuint(sentinel_tracked(s), ==, 4);
	g_assert_cmpuint(sentinel_count(s, "id0", SENTINEL_DENIED, 11 * S), ==, 0); /* forgotten */
	g_assert_cmpuint(sentinel_count(s, "id9", SENTINEL_DENIED, 11 * S), ==, 1);
	/* an identity that keeps acting is the last to go */
	sentinel_note(s, "id6", SENTINEL_EV_DENIED, "x", 12 * S, NULL);
	sentinel_note(s, "new", SENTINEL_EV_DENIED, "x", 13 * S, NULL);
	g_assert_cmpuint(sentinel_count(s, "id6", SENTINEL_DENIED, 13 * S), ==, 2);
	g_assert_cmpuint(sentinel_count(s, "id7", SENTINEL_DENIED, 13 * S), ==, 0);

	/* 1000 distinct names: the set holds 5, the limit, and says so each time */
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "scan%d", i);
		enum sentinel_counter c = sentinel_note(s, "new", SENTINEL_EV_DENIED, name, 14 * S, NULL);
		g_assert_cmpint(c, ==, i >= 3 ? SENTINEL_SERVICES : SENTINEL_NONE); /* "x" was first */
	}
	g_assert_cmpuint(sentinel_count(s, "new", SENTINEL_SERVICES, 14 * S), ==, 5);
	/* many events in one bucket: counts, no growth */
	for (int i = 0; i < 100000; i++)
		sentinel_note(s, "new", SENTINEL_EV_FAILED, NULL, 14 * S, NULL);
	g_assert_cmpuint(sentinel_count(s, "new", SENTINEL_FAILED, 14 * S), ==, 100000);

	/* names over 64 bytes: the first 64 are the identity */
	memset(name, 'a', 79);
	name[79] = '\0';
	sentinel_note(s, name, SENTINEL_EV_ALERT, NULL, 15 * S, NULL);
	name[70] = 'b';
	g_assert_cmpuint(sentinel_count(s, name, SENTINEL_ALERTS, 15 * S), ==, 1);
	g_assert_cmpint(sentinel_note(s, NULL, SENTINEL_EV_DENIED, "x", 15 * S, NULL), ==, SENTINEL_NONE);
	sentinel_free(s);
}

static void test_describe(void)
{
	char buf[128];

	sentinel_describe(SENTINEL_DENIED, 10, 60 * S, buf, sizeof(buf));
	g_assert_cmpstr(buf, ==, "Sentinel: 10 denied streams in 60 s");
	sentinel_describe(SENTINEL_SERVICES, 16, 60 * S, buf, sizeof(buf));
	g_assert_cmpstr(buf, ==, "Sentinel: 16 distinct services asked for in 60 s");
	sentinel_describe(SENTINEL_FAILED, 20, 1500, buf, sizeof(buf));
	g_assert_cmpstr(buf, ==, "Sentinel: 20 failed connects in 1500 ms");
	sentinel_describe(SENTINEL_ALERTS, 3, 120 * S, buf, sizeof(buf));
	g_assert_cmpstr(buf, ==, "Sentinel: 3 IDS alerts in 120 s");
	g_assert_cmpstr(sentinel_counter_name(SENTINEL_SERVICES), ==, "services");
	g_assert_cmpstr(sentinel_counter_name(SENTINEL_NONE), ==, "none");
}

/* The config's side: the defaults, and the bound on sentinel_services. */
static void test_config(void)
{
	struct gw_config *cfg = gwt_load_ok(GWT_HEAD);
	char err[PP_CFG_ERR_MAX] = "";

	g_assert_true(cfg->gw.sentinel);
	g_assert_cmpint(cfg->gw.sentinel_window_ms, ==, 60 * S);
	g_assert_cmpint(cfg->gw.sentinel_denied, ==, 10);
	g_assert_cmpint(cfg->gw.sentinel_services, ==, 16);
	g_assert_cmpint(cfg->gw.sentinel_failed, ==, 20);
	g_assert_cmpint(cfg->gw.sentinel_alerts, ==, 3);
	g_assert_cmpint(cfg->gw.ban_time_ms, ==, 3600 * S);
	g_assert_cmpstr(cfg->gw.bans_file, ==, "/var/lib/peerpipe-gateway/bans.json");
	gw_config_free(cfg);
	cfg = gwt_load_ok(GWT_HEAD "sentinel_services = 1024\n");
	gw_config_free(cfg);
	cfg = NULL;
	g_assert_cmpint(gwt_load(GWT_HEAD "sentinel_services = 1025\n", &cfg, err), <, 0);
	g_assert_null(cfg);
	g_assert_nonnull(strstr(err, "t.ini:4: [gateway] sentinel_services: 1025 is out of range (1..1024)"));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sentinel/denied", test_denied);
	g_test_add_func("/sentinel/window-slides", test_window_slides);
	g_test_add_func("/sentinel/services", test_services);
	g_test_add_func("/sentinel/failed-alerts", test_failed_alerts);
	g_test_add_func("/sentinel/forget-limits", test_forget_and_limits);
	g_test_add_func("/sentinel/bounds", test_bounds);
	g_test_add_func("/sentinel/describe", test_describe);
	g_test_add_func("/sentinel/config", test_config);
	return g_test_run();
}
