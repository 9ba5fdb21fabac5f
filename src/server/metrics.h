/* SPDX-License-Identifier: Apache-2.0 */
/* Counters behind GET /metrics (Prometheus text format 0.0.4). */
#ifndef PP_SIGNAL_METRICS_H
#define PP_SIGNAL_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Error codes of signaling.md §3, also the labels of refused messages. */
enum sig_refusal {
	SIG_BAD_REQUEST,
	SIG_UNAUTHORIZED,
	SIG_ALREADY_JOINED,
	SIG_NOT_JOINED,
	SIG_UNKNOWN_PEER,
	SIG_ROOM_FULL,
	SIG_RATE_LIMITED,
	SIG_TOO_LARGE,
	SIG_INTERNAL,
	SIG_REFUSAL_COUNT,
};

struct sig_metrics {
	uint64_t accepted_total;        /* WebSocket upgrades accepted */
	uint64_t http_rejected_total;   /* upgrades refused (400/404/503) */
	uint64_t joins_total;
	uint64_t messages_received_total;
	uint64_t messages_relayed_total;
	uint64_t peers_dropped_total;   /* ping timeout or send queue overflow */
	uint64_t refused_total[SIG_REFUSAL_COUNT];
	int64_t peers_joined[2];        /* by role */
};

const char *sig_refusal_code(enum sig_refusal r);

/* Renders the metrics; returns a malloc'd string. */
char *sig_metrics_render(const struct sig_metrics *m, int64_t connections,
                         size_t rooms, size_t *len);

#endif
