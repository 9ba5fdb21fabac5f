/* SPDX-License-Identifier: Apache-2.0 */
/* Clock and latency samples for the benchmarks. */
#ifndef PEERPIPE_BENCH_STATS_H
#define PEERPIPE_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t pp_now_ns(void);

/* A bounded set of latency samples (ns); samples past the capacity are
 * counted but not kept. */
struct pp_stats {
	uint64_t *v;
	size_t n;
	size_t cap;
	uint64_t dropped;
	uint64_t max;
};

int pp_stats_init(struct pp_stats *s, size_t cap);
void pp_stats_add(struct pp_stats *s, uint64_t ns);
void pp_stats_reset(struct pp_stats *s);
/* Sorts the samples; then pp_stats_pct() answers percentiles (0..100). */
void pp_stats_sort(struct pp_stats *s);
uint64_t pp_stats_pct(const struct pp_stats *s, double pct);
void pp_stats_free(struct pp_stats *s);

#endif
