/* SPDX-License-Identifier: Apache-2.0 */
/* The [gateway] settings a reload cannot apply (gconfig.h,
 * gw_config_restart_changes): what the running node, its sessions or
 * Suricata were built with at start. Listed here so a reload that meets
 * a change says so instead of silently keeping the old value. */
#include "gconfig.h"

#include <glib.h>
#include <string.h>

#define GW_STR_CHANGED(f) (g_strcmp0(a->gw.f, b->gw.f) != 0)
#define GW_NUM_CHANGED(f) (a->gw.f != b->gw.f)

static bool gw_ice_addresses_changed(const struct gw_config *a, const struct gw_config *b)
{
	if (a->n_ice_addresses != b->n_ice_addresses)
		return true;
	for (size_t i = 0; i < a->n_ice_addresses; i++)
		if (strcmp(a->ice_addresses[i], b->ice_addresses[i]) != 0)
			return true;
	return false;
}

size_t gw_config_restart_changes(const struct gw_config *a, const struct gw_config *b,
                                 const char **names, size_t max)
{
	const struct {
		const char *name;
		bool changed;
	} keys[] = {
		/* the node and its sessions (pp_tnode_config, copied at start) */
		{ "signal_url", GW_STR_CHANGED(signal_url) },
		{ "room", GW_STR_CHANGED(room) },
		/* the signaling connection keeps the token it started with */
		{ "token_file", GW_STR_CHANGED(token_file) || g_strcmp0(a->token, b->token) != 0 },
		{ "ca_file", GW_STR_CHANGED(ca_file) },
		{ "insecure_ws", GW_NUM_CHANGED(insecure_ws) },
		{ "identity_dir", GW_STR_CHANGED(identity_dir) },
		{ "max_peers", GW_NUM_CHANGED(max_peers) },
		{ "stream_buffer", GW_NUM_CHANGED(stream_buffer) },
		{ "peer_buffer", GW_NUM_CHANGED(peer_buffer) },
		{ "pending_limit", GW_NUM_CHANGED(pending_limit) },
		{ "compression", a->compression != b->compression },
		{ "max_datagram", GW_NUM_CHANGED(max_datagram) },
		{ "ice_addresses", gw_ice_addresses_changed(a, b) },
		/* logging is set up once */
		{ "log_json", GW_NUM_CHANGED(log_json) },
		/* Suricata and the netfilter rules (gw_ids.c) */
		{ "ids", GW_STR_CHANGED(ids) },
		{ "ids_engine", GW_STR_CHANGED(ids_engine) },
		{ "ids_interface", GW_STR_CHANGED(ids_interface) },
		{ "ids_rules", GW_STR_CHANGED(ids_rules) },
		{ "ids_work_dir", GW_STR_CHANGED(ids_work_dir) },
		{ "ids_policy", GW_STR_CHANGED(ids_policy) },
		{ "ips_queue", GW_NUM_CHANGED(ips_queue) },
		{ "ips_mark", GW_NUM_CHANGED(ips_mark) },
		/* bans_file: gw_sentinel_reload says which file stays in use */
	};
	size_t n = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		if (!keys[i].changed)
			continue;
		if (n < max)
			names[n] = keys[i].name;
		n++;
	}
	return n;
}
