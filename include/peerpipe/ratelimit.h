/* SPDX-License-Identifier: Apache-2.0 */
/* Token bucket: `rate` tokens per second, at most `burst` stored.
 * Small (16 bytes) so every connection can carry one. */
#ifndef PEERPIPE_RATELIMIT_H
#define PEERPIPE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct pp_bucket {
	int64_t last_ms;   /* monotonic time of the last refill */
	uint32_t milli_tokens; /* tokens * 1000 */
	uint32_t pad;
};

void pp_bucket_init(struct pp_bucket *b, uint32_t burst, int64_t now_ms);
/* Takes one token if there is one; false when over the rate. */
bool pp_bucket_take(struct pp_bucket *b, uint32_t rate, uint32_t burst, int64_t now_ms);

/* Monotonic clock in milliseconds. */
int64_t pp_now_ms(void);

#endif
