/* SPDX-License-Identifier: Apache-2.0 */
/* A budget of log lines per minute for something a peer can repeat at
 * will (a refused connection, a refused stream): the first `burst` of each
 * minute are logged, the rest only counted, and the count goes with the
 * next line that is logged (or wherever the owner reports it last). */
#ifndef PEERPIPE_GW_LOG_BUDGET_H
#define PEERPIPE_GW_LOG_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_LOG_BUDGET_MINUTE_US (60 * INT64_C(1000000))

struct gw_log_budget {
	int64_t since_us; /* start of this minute (monotonic) */
	unsigned logged;  /* lines logged in it */
	unsigned quiet;   /* events not logged since the last line */
};

/* Whether this event is to be logged now (then *quiet: how many before it
 * were not, and the count starts again). */
bool gw_log_budget_take(struct gw_log_budget *b, int64_t now_us, unsigned burst, unsigned *quiet);

#define GW_LOG_BUDGET_NOTE_MAX 96

/* " (N more WHAT were not logged)" in buf when quiet, else "". */
const char *gw_log_budget_note(unsigned quiet, const char *what, char *buf, size_t cap);

#endif
