/* SPDX-License-Identifier: Apache-2.0 */
/* How much memory this gateway may use (mem_limit.h). */
#include "mem_limit.h"

#include "gconfig.h"
#include "mem_bound.h"

#include <glib.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GW_MEM_UNLIMITED UINT64_MAX

/* One number, or "max" (unlimited); a v1 "unlimited" is a huge page-rounded
 * number, which compares as unlimited anyway. */
static uint64_t gw_mem_read_limit(const char *path)
{
	char *text = NULL;
	uint64_t v = GW_MEM_UNLIMITED;

	if (g_file_get_contents(path, &text, NULL, NULL)) {
		char *end = NULL;
		g_strstrip(text);
		if (strcmp(text, "max") != 0) {
			unsigned long long n = strtoull(text, &end, 10);
			if (end && end != text && *end == '\0')
				v = n;
		}
	}
	g_free(text);
	return v;
}

static bool gw_mem_has_word(const char *list, const char *word)
{
	char **w = g_strsplit(list, ",", -1);
	bool found = g_strv_contains((const char *const *)w, word);

	g_strfreev(w);
	return found;
}

/* The cgroup path of the hierarchy that has the memory controller, from
 * /proc/self/cgroup's text: v2's "0::/path", or v1's "N:...memory...:/path". */
static char *gw_mem_cgroup_path(const char *cgroups, bool v2)
{
	char **lines = g_strsplit(cgroups, "\n", -1);
	char *found = NULL;

	for (char **l = lines; *l && !found; l++) {
		char **f = g_strsplit(*l, ":", 3);
		if (g_strv_length(f) == 3 &&
		    (v2 ? strcmp(f[0], "0") == 0 && f[1][0] == '\0' : gw_mem_has_word(f[1], "memory")))
			found = g_strdup(f[2]);
		g_strfreev(f);
	}
	g_strfreev(lines);
	return found;
}

/* The smallest limit in dir and each directory above it up to the mount
 * point: a cgroup is held by its ancestors' limits too. */
static uint64_t gw_mem_walk_up(const char *mountpoint, const char *rel, const char *file)
{
	uint64_t least = GW_MEM_UNLIMITED;
	char *dir = g_build_filename(mountpoint, rel, NULL);

	for (;;) {
		char *path = g_build_filename(dir, file, NULL);
		least = MIN(least, gw_mem_read_limit(path));
		g_free(path);
		if (strlen(dir) <= strlen(mountpoint))
			break;
		char *up = g_path_get_dirname(dir);
		g_free(dir);
		dir = up;
	}
	g_free(dir);
	return least;
}

/* mountinfo's text: "id parent maj:min root mountpoint opts [optional...] -
 * type source superopts"; the hierarchy's limits, from the process's cgroup
 * up. */
static uint64_t gw_mem_cgroup_limit(const char *mounts, const char *cgroups, bool v2)
{
	char *cg = gw_mem_cgroup_path(cgroups, v2);
	const char *file = v2 ? "memory.max" : "memory.limit_in_bytes";
	uint64_t least = GW_MEM_UNLIMITED;
	char **lines;

	if (!cg)
		return least;
	lines = g_strsplit(mounts, "\n", -1);
	for (char **l = lines; *l; l++) {
		char *dash = strstr(*l, " - ");
		if (!dash)
			continue;
		char **pre = g_strsplit(*l, " ", 6), **post = g_strsplit(dash + 3, " ", 3);
		bool ours = g_strv_length(pre) >= 5 && g_strv_length(post) == 3 &&
		            (v2 ? strcmp(post[0], "cgroup2") == 0
		                : strcmp(post[0], "cgroup") == 0 && gw_mem_has_word(post[2], "memory"));
		if (ours) {
			const char *root = pre[3], *mnt = pre[4], *rel = cg;
			size_t rlen = strlen(root);
			/* a mount of part of the hierarchy (a container's own cgroup):
			 * the path is taken below that part */
			if (strcmp(root, "/") != 0 && strncmp(cg, root, rlen) == 0 &&
			    (cg[rlen] == '/' || cg[rlen] == '\0'))
				rel = cg + rlen;
			char *dir = g_build_filename(mnt, rel, NULL);
			if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
				rel = ""; /* not visible from here: the mount is the process's cgroup */
			g_free(dir);
			least = MIN(least, gw_mem_walk_up(mnt, rel, file));
		}
		g_strfreev(pre);
		g_strfreev(post);
	}
	g_strfreev(lines);
	g_free(cg);
	return least;
}

static uint64_t gw_mem_total(const char *meminfo)
{
	char *text = NULL;
	uint64_t kib = 0;

	if (g_file_get_contents(meminfo, &text, NULL, NULL)) {
		const char *p = strstr(text, "MemTotal:");
		if (p)
			sscanf(p + 9, "%" SCNu64, &kib);
	}
	g_free(text);
	return kib * 1024;
}

struct gw_mem_limit gw_mem_limit_read(const char *mountinfo, const char *cgroup,
                                      const char *meminfo)
{
	struct gw_mem_limit lim = { gw_mem_total(meminfo), "MemTotal" };
	char *mounts = NULL, *cgroups = NULL;
	uint64_t v2 = GW_MEM_UNLIMITED, v1 = GW_MEM_UNLIMITED;

	if (g_file_get_contents(mountinfo, &mounts, NULL, NULL) &&
	    g_file_get_contents(cgroup, &cgroups, NULL, NULL)) {
		v2 = gw_mem_cgroup_limit(mounts, cgroups, true);
		v1 = gw_mem_cgroup_limit(mounts, cgroups, false);
	}
	g_free(mounts);
	g_free(cgroups);
	if (lim.bytes == 0)
		lim.bytes = GW_MEM_UNLIMITED;
	if (v2 < lim.bytes)
		lim = (struct gw_mem_limit){ v2, "cgroup memory.max" };
	if (v1 < lim.bytes)
		lim = (struct gw_mem_limit){ v1, "cgroup memory.limit_in_bytes" };
	if (lim.bytes == GW_MEM_UNLIMITED)
		lim = (struct gw_mem_limit){ 0, NULL };
	return lim;
}

struct gw_mem_limit gw_mem_limit_self(void)
{
	return gw_mem_limit_read("/proc/self/mountinfo", "/proc/self/cgroup", "/proc/meminfo");
}

char *gw_mem_limit_warning(uint64_t bound, struct gw_mem_limit lim)
{
	if (lim.bytes == 0 || bound <= lim.bytes)
		return NULL;
	return g_strdup_printf("the limits let peers' data take %" PRIu64 " MiB, more than the %" PRIu64
	                       " MiB this gateway may use (%s): peers that fill their windows "
	                       "toward stalled services could get it killed; lower max_peers, "
	                       "peer_buffer or max_streams_per_peer",
	                       (bound + (1 << 20) - 1) >> 20, lim.bytes >> 20, lim.source);
}

char *gw_mem_check(const struct gw_settings *s, char *buf, size_t len)
{
	gw_mem_bound_describe(buf, len, s->max_peers, s->max_streams_per_peer, s->peer_buffer,
	                      s->stream_buffer);
	return gw_mem_limit_warning(gw_mem_bound(s->max_peers, s->max_streams_per_peer, s->peer_buffer,
	                                         s->stream_buffer),
	                            gw_mem_limit_self());
}
