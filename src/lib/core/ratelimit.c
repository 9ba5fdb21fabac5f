/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/ratelimit.h"

#include <time.h>

int64_t pp_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pp_bucket_init(struct pp_bucket *b, uint32_t burst, int64_t now_ms)
{
	b->last_ms = now_ms;
	b->milli_tokens = burst * 1000u;
	b->pad = 0;
}

bool pp_bucket_take(struct pp_bucket *b, uint32_t rate, uint32_t burst, int64_t now_ms)
{
	int64_t elapsed = now_ms - b->last_ms;
	uint64_t cap = (uint64_t)burst * 1000u;
	if (elapsed > 0) {
		uint64_t t = b->milli_tokens + (uint64_t)elapsed * rate;
		b->milli_tokens = (uint32_t)(t > cap ? cap : t);
		b->last_ms = now_ms;
	}
	if (b->milli_tokens < 1000u)
		return false;
	b->milli_tokens -= 1000u;
	return true;
}
