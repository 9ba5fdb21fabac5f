/* SPDX-License-Identifier: Apache-2.0 */
/* How much memory this gateway may use: the smallest memory limit of its
 * cgroup and the cgroups above it (cgroup v2 memory.max, or v1
 * memory.limit_in_bytes), or the host's MemTotal. A container's limit is
 * what gets the gateway killed when the peers' data outgrows it, so the
 * start compares it with the bound of the configured limits
 * (mem_bound.h) and warns. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct gw_mem_limit {
	uint64_t bytes;      /* 0: unknown */
	const char *source;  /* "cgroup memory.max", "cgroup memory.limit_in_bytes", "MemTotal" */
};

/* From the files a process sees: /proc/self/mountinfo, /proc/self/cgroup
 * and /proc/meminfo (other paths for tests). */
struct gw_mem_limit gw_mem_limit_read(const char *mountinfo, const char *cgroup,
                                      const char *meminfo);

/* This process's: gw_mem_limit_read() of /proc's files. */
struct gw_mem_limit gw_mem_limit_self(void);

/* At start and in --check-config: one line if bound (bytes) is more than
 * the limit, NULL otherwise; the caller frees it. */
char *gw_mem_limit_warning(uint64_t bound, struct gw_mem_limit lim);

struct gw_settings;

/* Room for gw_mem_check's line. */
#define GW_MEM_LINE_MAX 512

/* Both, for s's limits: their bound as one line in buf
 * (gw_mem_bound_describe), and the warning against this process's limit
 * (gw_mem_limit_self), or NULL; the caller frees it. */
char *gw_mem_check(const struct gw_settings *s, char *buf, size_t len);
