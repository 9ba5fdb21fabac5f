/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the local-port budget the gateway reports at start
 * (src/gateway/host_ports.c), from sysctl files written here. */
#include "host_ports.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

struct fixture {
	char *dir;
};

static void put(struct fixture *f, const char *name, const char *text)
{
	char *path = g_build_filename(f->dir, name, NULL);
	GError *err = NULL;

	g_assert_true(g_file_set_contents(path, text, -1, &err));
	g_assert_no_error(err);
	g_free(path);
}

static void setup(struct fixture *f, gconstpointer data)
{
	GError *err = NULL;

	(void)data;
	f->dir = g_dir_make_tmp("pp-ports-XXXXXX", &err);
	g_assert_no_error(err);
}

static void teardown(struct fixture *f, gconstpointer data)
{
	const char *names[] = { "tcp_tw_reuse", "ip_local_port_range" };

	(void)data;
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		char *path = g_build_filename(f->dir, names[i], NULL);
		g_unlink(path);
		g_free(path);
	}
	g_rmdir(f->dir);
	g_free(f->dir);
}

/* Debian's defaults: reuse on loopback only, 28,232 ports. */
static void test_default_limits(struct fixture *f, gconstpointer data)
{
	char why[512];

	(void)data;
	put(f, "tcp_tw_reuse", "2\n");
	put(f, "ip_local_port_range", "32768\t60999\n");
	g_assert_cmpint(gw_host_port_budget(f->dir, why, sizeof(why)), ==, 28232 / 60);
	g_assert_nonnull(strstr(why, "tcp_tw_reuse = 2"));
	g_assert_nonnull(strstr(why, "about 470 new connections per second"));
	g_assert_nonnull(strstr(why, "set net.ipv4.tcp_tw_reuse = 1"));
}

static void test_reuse_lifts(struct fixture *f, gconstpointer data)
{
	char why[512];

	(void)data;
	put(f, "tcp_tw_reuse", "1\n");
	put(f, "ip_local_port_range", "32768\t60999\n");
	g_assert_cmpint(gw_host_port_budget(f->dir, why, sizeof(why)), ==, 0);
}

/* A range narrower than a minute of TIME_WAIT still allows one. */
static void test_tiny_range(struct fixture *f, gconstpointer data)
{
	char why[512];

	(void)data;
	put(f, "tcp_tw_reuse", "0");
	put(f, "ip_local_port_range", "40000 40009");
	g_assert_cmpint(gw_host_port_budget(f->dir, why, sizeof(why)), ==, 1);
	g_assert_nonnull(strstr(why, "10 ports, 40000-40009"));
}

static void test_unreadable(struct fixture *f, gconstpointer data)
{
	char why[512];

	(void)data;
	g_assert_cmpint(gw_host_port_budget(f->dir, why, sizeof(why)), ==, -1); /* no files */
	put(f, "tcp_tw_reuse", "2");
	put(f, "ip_local_port_range", "60999 32768"); /* reversed */
	g_assert_cmpint(gw_host_port_budget(f->dir, why, sizeof(why)), ==, -1);
	put(f, "ip_local_port_range", "32768"); /* one number */
	g_assert_cmpint(gw_host_port_budget(f->dir, why, sizeof(why)), ==, -1);
	put(f, "tcp_tw_reuse", "x");
	put(f, "ip_local_port_range", "32768 60999");
	g_assert_cmpint(gw_host_port_budget(f->dir, why, sizeof(why)), ==, -1);
	g_assert_nonnull(strstr(why, "cannot read"));
}

/* This machine's own files parse (whatever their values). */
static void test_host(void)
{
	char why[512];

	g_assert_cmpint(gw_host_port_budget("/proc/sys/net/ipv4", why, sizeof(why)), >=, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/host-ports/default-limits", struct fixture, NULL, setup, test_default_limits, teardown);
	g_test_add("/host-ports/reuse-lifts", struct fixture, NULL, setup, test_reuse_lifts, teardown);
	g_test_add("/host-ports/tiny-range", struct fixture, NULL, setup, test_tiny_range, teardown);
	g_test_add("/host-ports/unreadable", struct fixture, NULL, setup, test_unreadable, teardown);
	g_test_add_func("/host-ports/host", test_host);
	return g_test_run();
}
