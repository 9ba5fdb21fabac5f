/* SPDX-License-Identifier: Apache-2.0 */
/* A relay on a unix socket in front of Redis, for the cluster tests: it
 * passes bytes both ways unchanged, except that once armed, the first
 * connection that sends a given string gets its answers held back for a
 * while. What the server then hears first is the pub/sub side (the other
 * connection), which lets a test order events that Redis sends at once. */
#ifndef PP_TEST_REDIS_HOLD_H
#define PP_TEST_REDIS_HOLD_H

typedef struct RedisHold RedisHold;

/* Listens on listen_path, relays each connection to upstream_path. */
RedisHold *redis_hold_start(const char *listen_path, const char *upstream_path);
/* The next connection to send `trigger` (within one read) has everything
 * Redis answers from then on delayed by hold_ms; what it sends meanwhile
 * still reaches Redis at once. */
void redis_hold_arm(RedisHold *h, const char *trigger, int hold_ms);
/* Stops relaying, closes every connection and frees. */
void redis_hold_stop(RedisHold *h);

#endif
