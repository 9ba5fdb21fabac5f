/* SPDX-License-Identifier: Apache-2.0 */
#include "stats.h"

#include <stdlib.h>
#include <time.h>

uint64_t pp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int pp_stats_init(struct pp_stats *s, size_t cap)
{
	s->v = calloc(cap ? cap : 1, sizeof(*s->v));
	s->n = 0;
	s->cap = cap;
	s->dropped = 0;
	s->max = 0;
	return s->v ? 0 : -1;
}

void pp_stats_add(struct pp_stats *s, uint64_t ns)
{
	if (ns > s->max)
		s->max = ns;
	if (s->n < s->cap)
		s->v[s->n++] = ns;
	else
		s->dropped++;
}

void pp_stats_reset(struct pp_stats *s)
{
	s->n = 0;
	s->dropped = 0;
	s->max = 0;
}

static int pp_stats_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

void pp_stats_sort(struct pp_stats *s)
{
	qsort(s->v, s->n, sizeof(*s->v), pp_stats_cmp);
}

/* Nearest-rank percentile. */
uint64_t pp_stats_pct(const struct pp_stats *s, double pct)
{
	if (s->n == 0)
		return 0;
	double rank = pct / 100.0 * (double)s->n;
	size_t i = (size_t)rank;
	if ((double)i < rank)
		i++;
	if (i == 0)
		i = 1;
	if (i > s->n)
		i = s->n;
	return s->v[i - 1];
}

void pp_stats_free(struct pp_stats *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}
