/* SPDX-License-Identifier: Apache-2.0 */
#include "metrics.h"

#include <glib.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const sig_refusal_codes[SIG_REFUSAL_COUNT] = {
	[SIG_BAD_REQUEST] = "bad_request",
	[SIG_UNAUTHORIZED] = "unauthorized",
	[SIG_ALREADY_JOINED] = "already_joined",
	[SIG_NOT_JOINED] = "not_joined",
	[SIG_UNKNOWN_PEER] = "unknown_peer",
	[SIG_ROOM_FULL] = "room_full",
	[SIG_RATE_LIMITED] = "rate_limited",
	[SIG_TOO_LARGE] = "too_large",
	[SIG_INTERNAL] = "internal",
};

const char *sig_refusal_code(enum sig_refusal r)
{
	return sig_refusal_codes[r];
}

static void sig_metric(GString *s, const char *name, const char *type,
                       const char *help, uint64_t value)
{
	g_string_append_printf(s, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n",
	                       name, help, name, type, name, value);
}

char *sig_metrics_render(const struct sig_metrics *m, int64_t connections,
                         size_t rooms, size_t *len)
{
	GString *s = g_string_sized_new(2048);

	sig_metric(s, "peerpipe_signal_connections", "gauge",
	           "Open WebSocket connections.", (uint64_t)connections);
	g_string_append(s, "# HELP peerpipe_signal_peers Peers joined to a room, by role.\n"
	                   "# TYPE peerpipe_signal_peers gauge\n");
	g_string_append_printf(s, "peerpipe_signal_peers{role=\"gateway\"} %" PRId64 "\n"
	                          "peerpipe_signal_peers{role=\"desktop\"} %" PRId64 "\n",
	                       m->peers_joined[0], m->peers_joined[1]);
	sig_metric(s, "peerpipe_signal_rooms", "gauge", "Rooms with at least one peer.", rooms);
	sig_metric(s, "peerpipe_signal_connections_accepted_total", "counter",
	           "WebSocket upgrades accepted.", m->accepted_total);
	sig_metric(s, "peerpipe_signal_upgrades_rejected_total", "counter",
	           "HTTP upgrade requests refused.", m->http_rejected_total);
	sig_metric(s, "peerpipe_signal_joins_total", "counter", "Successful JOIN_ROOM.", m->joins_total);
	sig_metric(s, "peerpipe_signal_messages_received_total", "counter",
	           "Messages received from peers.", m->messages_received_total);
	sig_metric(s, "peerpipe_signal_messages_relayed_total", "counter",
	           "SDP and ICE messages relayed.", m->messages_relayed_total);
	sig_metric(s, "peerpipe_signal_peers_dropped_total", "counter",
	           "Peers dropped for a ping timeout or a full send queue.", m->peers_dropped_total);
	g_string_append(s, "# HELP peerpipe_signal_messages_refused_total Messages refused, by error code.\n"
	                   "# TYPE peerpipe_signal_messages_refused_total counter\n");
	for (int r = 0; r < SIG_REFUSAL_COUNT; r++)
		g_string_append_printf(s, "peerpipe_signal_messages_refused_total{reason=\"%s\"} %" PRIu64 "\n",
		                       sig_refusal_codes[r], m->refused_total[r]);
	*len = s->len;
	char *out = malloc(s->len + 1);
	if (out)
		memcpy(out, s->str, s->len + 1);
	g_string_free(s, TRUE);
	return out;
}
