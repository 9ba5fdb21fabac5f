/* SPDX-License-Identifier: Apache-2.0 */
/* Sentinel: per-identity counts of what scanning peers do, in a sliding
 * window (tunnel.md §6, docs/gateway.md "Sentinel"). Pure logic, no I/O,
 * no clock: the caller passes a monotonic time in milliseconds.
 *
 * Four counters per identity: DENIED streams (unknown or forbidden
 * service), distinct service names asked for, failed service connects,
 * IDS alerts. A counter that reaches its limit within the window is a
 * "hit": the caller bans the peer (bans.h) and forgets its counts.
 *
 * Memory is bounded whatever peers do: event counters are 64 buckets of
 * window/64 each (the window slides in those steps, and holds between 63
 * and 64 of them), distinct names are kept as keyed 64-bit hashes, at most
 * SENTINEL_NAMES_MAX per identity, and at most max_identities identities
 * are tracked (the one idle longest is forgotten first). */
#ifndef PP_GATEWAY_SENTINEL_H
#define PP_GATEWAY_SENTINEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SENTINEL_BUCKETS 64
#define SENTINEL_NAMES_MAX 1024       /* distinct names kept per identity */
#define SENTINEL_IDENTITIES_MAX 4096  /* the most max_identities may be */

/* What happened (sentinel_note). */
enum sentinel_event {
	SENTINEL_EV_DENIED = 0, /* an unknown or forbidden service: counts the name too */
	SENTINEL_EV_STREAM,     /* an allowed stream: only its name counts */
	SENTINEL_EV_FAILED,     /* the service was unreachable */
	SENTINEL_EV_ALERT,      /* the IDS alerted on a stream of this identity */
};

/* Which limit was reached. */
enum sentinel_counter {
	SENTINEL_NONE = 0,
	SENTINEL_DENIED,
	SENTINEL_SERVICES,
	SENTINEL_FAILED,
	SENTINEL_ALERTS,
};

struct sentinel_limits {
	int64_t window_ms;   /* >= 1 */
	uint32_t denied;     /* each >= 1; services <= SENTINEL_NAMES_MAX */
	uint32_t services;
	uint32_t failed;
	uint32_t alerts;
};

struct sentinel;

/* NULL on bad limits; max_identities 1..SENTINEL_IDENTITIES_MAX. */
struct sentinel *sentinel_new(const struct sentinel_limits *lim, size_t max_identities);
void sentinel_free(struct sentinel *s);
/* New limits (a reload). A shorter window or lower limits apply to the
 * counts already kept; a changed window starts every identity afresh,
 * since buckets of the old width mean nothing in the new one. -1 on bad
 * limits (the old ones stay). */
int sentinel_set_limits(struct sentinel *s, const struct sentinel_limits *lim);

/* Records one event of identity (a name, NUL-terminated, at most 64 bytes
 * are significant) at now_ms; service is the name asked for (NULL for
 * ALERT, ignored there). Returns the counter whose limit is now reached,
 * or SENTINEL_NONE; *count (optional) gets that counter's value. */
enum sentinel_counter sentinel_note(struct sentinel *s, const char *identity,
                                    enum sentinel_event ev, const char *service,
                                    int64_t now_ms, uint32_t *count);
/* The counter's value for identity at now_ms (0 for an unknown identity). */
uint32_t sentinel_count(struct sentinel *s, const char *identity, enum sentinel_counter c,
                        int64_t now_ms);
/* Drops identity's counts (after a ban). */
void sentinel_forget(struct sentinel *s, const char *identity);
size_t sentinel_tracked(const struct sentinel *s);

/* "denied", "services", "failed", "alerts" ("none"). */
const char *sentinel_counter_name(enum sentinel_counter c);
/* "Sentinel: 10 denied streams in 60 s" (what the peer and the log see). */
void sentinel_describe(enum sentinel_counter c, uint32_t count, int64_t window_ms, char *out,
                       size_t cap);

#endif
