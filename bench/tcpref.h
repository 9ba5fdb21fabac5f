/* SPDX-License-Identifier: Apache-2.0 */
/* Reference figure: round trips of one message over loopback TCP between
 * this thread and an echo thread, with nothing else in the path. */
#ifndef PEERPIPE_BENCH_TCPREF_H
#define PEERPIPE_BENCH_TCPREF_H

#include "stats.h"

#include <stddef.h>

/* Runs warmup + rounds round trips of size bytes; samples go to s (ns).
 * 0, or -1 with a message on stderr. */
int pp_tcpref_run(size_t size, size_t rounds, struct pp_stats *s);

#endif
