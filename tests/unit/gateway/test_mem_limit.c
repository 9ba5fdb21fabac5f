/* SPDX-License-Identifier: Apache-2.0 */
/* The memory this gateway may use (src/gateway/mem_limit.c), read from
 * made-up /proc and cgroup files: cgroup v2 and v1, a container's own
 * cgroup mounted as the root, limits set above the process's cgroup, and
 * none at all. */
#include "mem_limit.h"
#include "tmptree.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#define MiB ((uint64_t)1 << 20)

struct fake {
	char *dir;
};

static char *fake_path(struct fake *f, const char *rel)
{
	return g_build_filename(f->dir, rel, NULL);
}

static void fake_write(struct fake *f, const char *rel, const char *text)
{
	char *path = fake_path(f, rel), *parent = g_path_get_dirname(path);

	g_assert_cmpint(g_mkdir_with_parents(parent, 0700), ==, 0);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	g_free(parent);
	g_free(path);
}

/* mountinfo with one cgroup mount of `type` at <dir>/<mnt>, showing the
 * hierarchy from `root`; /proc/self/cgroup with `cgroup_line`. */
static struct gw_mem_limit fake_read(struct fake *f, const char *type, const char *opts,
                                     const char *root, const char *mnt, const char *cgroup_line)
{
	char *mi = g_strdup_printf("22 27 0:21 / /proc rw,relatime - proc proc rw\n"
	                           "35 30 0:30 %s %s/%s rw,relatime - %s cgroup %s\n",
	                           root, f->dir, mnt, type, opts);
	char *mi_path = fake_path(f, "mountinfo"), *cg_path = fake_path(f, "cgroup");
	char *mem_path = fake_path(f, "meminfo");
	struct gw_mem_limit lim;

	fake_write(f, "mountinfo", mi);
	fake_write(f, "cgroup", cgroup_line);
	lim = gw_mem_limit_read(mi_path, cg_path, mem_path);
	g_free(mi);
	g_free(mi_path);
	g_free(cg_path);
	g_free(mem_path);
	return lim;
}

static void fake_setup(struct fake *f, gconstpointer data)
{
	f->dir = g_dir_make_tmp("gw-mem-limit-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	fake_write(f, "meminfo", "MemTotal:        4096000 kB\nMemFree: 1 kB\n");
}

static void fake_teardown(struct fake *f, gconstpointer data)
{
	tmptree_remove(f->dir);
	g_free(f->dir);
}

/* v2: the process's cgroup says "max", its parent 512 MiB: the parent's
 * limit holds it. */
static void test_v2_parent(struct fake *f, gconstpointer data)
{
	fake_write(f, "cg2/a/b/memory.max", "max\n");
	fake_write(f, "cg2/a/memory.max", "536870912\n");
	struct gw_mem_limit lim = fake_read(f, "cgroup2", "rw", "/", "cg2", "0::/a/b\n");
	g_assert_cmpuint(lim.bytes, ==, 512 * MiB);
	g_assert_cmpstr(lim.source, ==, "cgroup memory.max");
}

/* v2 in a container with its own cgroup namespace: "0::/", the mount is
 * the container's cgroup. */
static void test_v2_container(struct fake *f, gconstpointer data)
{
	fake_write(f, "cg2/memory.max", "268435456\n");
	struct gw_mem_limit lim = fake_read(f, "cgroup2", "rw", "/", "cg2", "0::/\n");
	g_assert_cmpuint(lim.bytes, ==, 256 * MiB);
}

/* v1, a container without a cgroup namespace: the process's path is the
 * host's (/docker/abc), the mount shows only that cgroup. */
static void test_v1_container(struct fake *f, gconstpointer data)
{
	fake_write(f, "mem/memory.limit_in_bytes", "1073741824\n");
	struct gw_mem_limit lim = fake_read(f, "cgroup", "rw,memory", "/docker/abc", "mem",
	                                    "4:memory:/docker/abc\n0::/\n");
	g_assert_cmpuint(lim.bytes, ==, 1024 * MiB);
	g_assert_cmpstr(lim.source, ==, "cgroup memory.limit_in_bytes");
}

/* v1's "unlimited" (a huge number), another controller's mount, no
 * limit at all: the host's memory. */
static void test_unlimited(struct fake *f, gconstpointer data)
{
	fake_write(f, "mem/x/memory.limit_in_bytes", "9223372036854771712\n");
	fake_write(f, "cpu/x/memory.limit_in_bytes", "1048576\n"); /* not a memory mount */
	struct gw_mem_limit lim = fake_read(f, "cgroup", "rw,memory", "/", "mem",
	                                    "4:memory:/x\n3:cpu:/x\n");
	g_assert_cmpuint(lim.bytes, ==, 4096000 * (uint64_t)1024);
	g_assert_cmpstr(lim.source, ==, "MemTotal");
	lim = fake_read(f, "cgroup", "rw,cpu", "/", "cpu", "3:cpu:/x\n");
	g_assert_cmpstr(lim.source, ==, "MemTotal");
}

/* Nothing readable: unknown, and no warning. */
static void test_unknown(struct fake *f, gconstpointer data)
{
	struct gw_mem_limit lim = gw_mem_limit_read("/nonexistent/mi", "/nonexistent/cg",
	                                            "/nonexistent/meminfo");
	g_assert_cmpuint(lim.bytes, ==, 0);
	g_assert_null(gw_mem_limit_warning(1ull << 40, lim));
}

static void test_warning(void)
{
	struct gw_mem_limit lim = { 512 * MiB, "cgroup memory.max" };
	char *w = gw_mem_limit_warning(1871 * MiB, lim);

	g_assert_nonnull(w);
	g_assert_nonnull(strstr(w, "1871 MiB"));
	g_assert_nonnull(strstr(w, "512 MiB this gateway may use (cgroup memory.max)"));
	g_free(w);
	g_assert_null(gw_mem_limit_warning(512 * MiB, lim));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/mem_limit/v2-parent", struct fake, NULL, fake_setup, test_v2_parent, fake_teardown);
	g_test_add("/mem_limit/v2-container", struct fake, NULL, fake_setup, test_v2_container,
	           fake_teardown);
	g_test_add("/mem_limit/v1-container", struct fake, NULL, fake_setup, test_v1_container,
	           fake_teardown);
	g_test_add("/mem_limit/unlimited", struct fake, NULL, fake_setup, test_unlimited,
	           fake_teardown);
	g_test_add("/mem_limit/unknown", struct fake, NULL, fake_setup, test_unknown, fake_teardown);
	g_test_add_func("/mem_limit/warning", test_warning);
	return g_test_run();
}
