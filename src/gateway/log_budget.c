/* SPDX-License-Identifier: Apache-2.0 */
#include "log_budget.h"

#include <stdio.h>

bool gw_log_budget_take(struct gw_log_budget *b, int64_t now_us, unsigned burst, unsigned *quiet)
{
	if (b->logged == 0 && b->since_us == 0)
		b->since_us = now_us;
	if (now_us - b->since_us >= GW_LOG_BUDGET_MINUTE_US) {
		b->since_us = now_us;
		b->logged = 0;
	}
	if (b->logged >= burst) {
		b->quiet++;
		return false;
	}
	b->logged++;
	*quiet = b->quiet;
	b->quiet = 0;
	return true;
}

const char *gw_log_budget_note(unsigned quiet, const char *what, char *buf, size_t cap)
{
	if (!quiet)
		return "";
	snprintf(buf, cap, " (%u more %s were not logged)", quiet, what);
	return buf;
}
