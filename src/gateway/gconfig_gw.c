/* SPDX-License-Identifier: Apache-2.0 */
/* The [gateway] section: one pp_cfg table, the checks that span keys, and
 * the token file (read here so that --check-config catches a missing or
 * unreadable token; its content never reaches a message). */
#include "gconfig_priv.h"
#include "sentinel.h"

#include "peerpipe/error.h"
#include "peerpipe/secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F(field) offsetof(struct gw_settings, field)
#define KiB 1024LL
#define MiB (1024LL * 1024)

const struct pp_cfg_key gw_config_keys[] = {
	{ "gateway", "signal_url", PP_CFG_STRING, 1, 2048, NULL, F(signal_url), "wss://host[:port][/path] of the signaling server" },
	{ "gateway", "room", PP_CFG_STRING, 0, 64, NULL, F(room), "room to join; empty: the token's room claim" },
	{ "gateway", "token_file", PP_CFG_STRING, 1, 4096, NULL, F(token_file), "file holding the gateway's JWT" },
	{ "gateway", "ca_file", PP_CFG_STRING, 1, 4096, NULL, F(ca_file), "PEM bundle for the signaling server's certificate" },
	{ "gateway", "insecure_ws", PP_CFG_BOOL, 0, 1, "false", F(insecure_ws), "allow plain ws:// (tests only)" },
	{ "gateway", "identity_dir", PP_CFG_STRING, 1, 4096, "/var/lib/peerpipe-gateway/identity", F(identity_dir), "the gateway's key and certificate" },
	{ "gateway", "max_peers", PP_CFG_INT, 1, 4096, "64", F(max_peers), "concurrent peer connections" },
	{ "gateway", "max_streams_per_peer", PP_CFG_INT, 1, 1024, "256", F(max_streams_per_peer), "concurrent service streams per peer" },
	{ "gateway", "stream_buffer", PP_CFG_SIZE, 16 * KiB, 16 * MiB, "256KiB", F(stream_buffer), "flow-control high mark per stream" },
	{ "gateway", "peer_buffer", PP_CFG_SIZE, 256 * KiB, 64 * MiB, "4MiB", F(peer_buffer), "SCTP send and receive buffer per peer" },
	{ "gateway", "connect_timeout", PP_CFG_DURATION, 100, 300000, "5s", F(connect_timeout_ms), "TCP connect to a service" },
	{ "gateway", "pending_limit", PP_CFG_SIZE, 16 * KiB, GW_PENDING_LIMIT_MAX, "256KiB", F(pending_limit), "data a stream may send before CONNECTED" },
	{ "gateway", "compression", PP_CFG_STRING, 1, 8, "auto", F(compression), "auto, off, lz4 or zstd" },
	{ "gateway", "log_level", PP_CFG_STRING, 1, 16, "info", F(log_level), "error, warn, info, debug" },
	{ "gateway", "log_json", PP_CFG_BOOL, 0, 1, "false", F(log_json), "one JSON object per log line" },
	{ "gateway", "audit_log", PP_CFG_STRING, 1, 4096, NULL, F(audit_log), "file for connection and stream records" },
	{ "gateway", "ids", PP_CFG_STRING, 1, 8, "off", F(ids), "off, ids (Suricata sniffs ids_interface) or ips (NFQUEUE inline)" },
	{ "gateway", "ids_engine", PP_CFG_STRING, 1, 8, "child", F(ids_engine), "child (the gateway runs Suricata) or sidecar (attach to one in this network namespace)" },
	{ "gateway", "ids_interface", PP_CFG_STRING, 1, 15, NULL, F(ids_interface), "ids mode: the interface towards the services" },
	{ "gateway", "ids_rules", PP_CFG_STRING, 1, 4096, NULL, F(ids_rules), "rule files, comma-separated absolute paths" },
	{ "gateway", "ids_work_dir", PP_CFG_STRING, 1, 4096, "/var/lib/peerpipe-gateway/ids", F(ids_work_dir), "Suricata's config, logs and EVE socket" },
	{ "gateway", "ids_policy", PP_CFG_STRING, 1, 16, "fail-closed", F(ids_policy), "while Suricata is down: fail-closed or fail-open" },
	{ "gateway", "ips_queue", PP_CFG_INT, 0, 65535, "3500", F(ips_queue), "ips mode: the NFQUEUE number" },
	{ "gateway", "ips_mark", PP_CFG_INT, 1, 0x7fffffff, "1347420160", F(ips_mark), "ips mode: the socket mark bits (0x50500000) of service sockets" },
	{ "gateway", "sentinel", PP_CFG_BOOL, 0, 1, "true", F(sentinel), "ban peers that scan or keep triggering alerts" },
	{ "gateway", "sentinel_window", PP_CFG_DURATION, 1000, 86400000, "60s", F(sentinel_window_ms), "the sliding window the counts below cover" },
	{ "gateway", "sentinel_denied", PP_CFG_INT, 1, 100000, "10", F(sentinel_denied), "denied (unknown or forbidden) streams in the window that ban" },
	{ "gateway", "sentinel_services", PP_CFG_INT, 1, SENTINEL_NAMES_MAX, "16", F(sentinel_services), "distinct service names asked for in the window that ban (Sentinel tracks up to 1024)" },
	{ "gateway", "sentinel_failed", PP_CFG_INT, 1, 100000, "20", F(sentinel_failed), "failed service connects in the window that ban" },
	{ "gateway", "sentinel_alerts", PP_CFG_INT, 1, 100000, "3", F(sentinel_alerts), "IDS alerts in the window that ban" },
	{ "gateway", "ban_time", PP_CFG_DURATION, 1000, 31536000000, "1h", F(ban_time_ms), "how long a ban lasts" },
	{ "gateway", "bans_file", PP_CFG_STRING, 1, 4096, "/var/lib/peerpipe-gateway/bans.json", F(bans_file), "where bans are kept (survive restarts)" },
	{ "gateway", "max_datagram", PP_CFG_INT, 1200, 16384, "16384", F(max_datagram), "largest UDP datagram to a PeerPipe peer on this host or an attached link (1200: never above 1,200)" },
	{ "gateway", "ice_addresses", PP_CFG_STRING, 1, 1024, NULL, F(ice_addresses), "IP addresses to offer as host candidates (default: every interface)" },
};

const size_t gw_config_nkeys = sizeof(gw_config_keys) / sizeof(gw_config_keys[0]);

static bool gw_key_known(const char *key)
{
	for (size_t i = 0; i < gw_config_nkeys; i++)
		if (strcmp(gw_config_keys[i].key, key) == 0)
			return true;
	return false;
}

int gw_load_gateway(struct gw_load *ld, const struct gw_scan_sect *s)
{
	for (guint i = 0; i < s->keys->len; i++) {
		const struct gw_scan_key *k = &g_array_index(s->keys, struct gw_scan_key, i);
		char where[256];
		if (!gw_key_known(k->key))
			return pp_cfg_fail(ld->err, ld->errlen, "%s:%d: unknown key \"%s\" in [gateway]",
			               ld->name, k->line, k->key);
		char *v = gw_value(ld, s, k);
		if (!v)
			return PP_ERR_CONFIG;
		snprintf(where, sizeof(where), "%s:%d", ld->name, k->line);
		int rc = pp_cfg_set(gw_config_keys, gw_config_nkeys, &ld->cfg->gw, "gateway",
		                    k->key, v, where, ld->err, ld->errlen);
		g_free(v);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int gw_compression_parse(const char *s, enum gw_compression *out)
{
	static const char *const names[] = { "auto", "off", "lz4", "zstd" };
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum gw_compression)i;
			return 0;
		}
	return PP_ERR_INVALID;
}

/* "file:N: [gateway] key: " or "file: [gateway] key: " for a missing key. */
static const char *gw_where(struct gw_load *ld, const struct gw_scan *scan,
                            const char *key, char *buf, size_t cap)
{
	int line = gw_scan_line(scan, "gateway", key);
	if (line)
		snprintf(buf, cap, "%s:%d: [gateway] %s", ld->name, line, key);
	else
		snprintf(buf, cap, "%s: [gateway] %s", ld->name, key);
	return buf;
}

static int gw_check_url(struct gw_load *ld, const struct gw_scan *scan)
{
	const struct gw_settings *g = &ld->cfg->gw;
	char w[320];

	if (!g->signal_url)
		return pp_cfg_fail(ld->err, ld->errlen, "%s: [gateway] signal_url is required", ld->name);
	if (g_ascii_strncasecmp(g->signal_url, "wss://", 6) == 0 && g->signal_url[6])
		return 0;
	if (g_ascii_strncasecmp(g->signal_url, "ws://", 5) == 0 && g->signal_url[5]) {
		if (g->insecure_ws)
			return 0;
		return pp_cfg_fail(ld->err, ld->errlen,
		               "%s: plain ws:// needs insecure_ws = true (signaling in clear text)",
		               gw_where(ld, scan, "signal_url", w, sizeof(w)));
	}
	return pp_cfg_fail(ld->err, ld->errlen, "%s: expected wss://host[:port][/path]",
	               gw_where(ld, scan, "signal_url", w, sizeof(w)));
}

/* ice_addresses: IP literals, comma-separated, at most GW_ICE_ADDRESSES_MAX. */
static int gw_check_ice_addresses(struct gw_load *ld, const struct gw_scan *scan)
{
	struct gw_config *cfg = ld->cfg;
	char w[320];
	gchar **v;
	size_t n = 0;

	if (!cfg->gw.ice_addresses)
		return 0;
	v = g_strsplit(cfg->gw.ice_addresses, ",", -1);
	for (gchar **p = v; *p; p++) {
		g_strstrip(*p);
		if (!**p)
			continue;
		if (!g_hostname_is_ip_address(*p) || n >= GW_ICE_ADDRESSES_MAX) {
			g_strfreev(v);
			return pp_cfg_fail(ld->err, ld->errlen, "%s: expected up to %d IP addresses, "
			               "comma-separated", gw_where(ld, scan, "ice_addresses", w, sizeof(w)),
			               GW_ICE_ADDRESSES_MAX);
		}
		cfg->ice_addresses[n++] = g_strdup(*p);
		cfg->n_ice_addresses = n; /* freed with cfg, also on a later error */
	}
	g_strfreev(v);
	return 0;
}

/* ids = off | ids | ips; ids needs an interface (Suricata sniffs it), both
 * need at least one rule file; ips_queue and ips_mark are range-checked by
 * the key table (ips_mark is never 0: the rules match its bits). */
static int gw_check_ids(struct gw_load *ld, const struct gw_scan *scan)
{
	struct gw_settings *g = &ld->cfg->gw;
	char w[320];

	if (strcmp(g->ids, "off") == 0)
		return 0;
	if (strcmp(g->ids, "ids") != 0 && strcmp(g->ids, "ips") != 0)
		return pp_cfg_fail(ld->err, ld->errlen, "%s: expected off, ids or ips",
		               gw_where(ld, scan, "ids", w, sizeof(w)));
	if (strcmp(g->ids, "ids") == 0 && (!g->ids_interface || !g->ids_rules))
		return pp_cfg_fail(ld->err, ld->errlen, "%s: [gateway] ids = ids needs ids_interface "
		               "and ids_rules", ld->name);
	if (!g->ids_rules)
		return pp_cfg_fail(ld->err, ld->errlen, "%s: [gateway] ids = ips needs ids_rules",
		               ld->name);
	if (strcmp(g->ids_policy, "fail-closed") != 0 && strcmp(g->ids_policy, "fail-open") != 0)
		return pp_cfg_fail(ld->err, ld->errlen, "%s: expected fail-closed or fail-open",
		               gw_where(ld, scan, "ids_policy", w, sizeof(w)));
	if (strcmp(g->ids_engine, "child") != 0 && strcmp(g->ids_engine, "sidecar") != 0)
		return pp_cfg_fail(ld->err, ld->errlen, "%s: expected child or sidecar",
		               gw_where(ld, scan, "ids_engine", w, sizeof(w)));
	return 0;
}

int gw_check_settings(struct gw_load *ld, const struct gw_scan *scan)
{
	struct gw_config *cfg = ld->cfg;
	struct gw_settings *g = &cfg->gw;
	char w[320];
	int rc;

	if ((rc = gw_check_url(ld, scan)) < 0)
		return rc;
	if (!g->token_file)
		return pp_cfg_fail(ld->err, ld->errlen, "%s: [gateway] token_file is required", ld->name);
	if (g->room && !*g->room) {
		free(g->room); /* pp_cfg strings are malloc'd */
		g->room = NULL;
	}
	if (g->room && !gw_name_ok(g->room))
		return pp_cfg_fail(ld->err, ld->errlen, "%s: 1..64 of A-Z a-z 0-9 . _ - (or empty)",
		               gw_where(ld, scan, "room", w, sizeof(w)));
	if (gw_compression_parse(g->compression, &cfg->compression) < 0)
		return pp_cfg_fail(ld->err, ld->errlen, "%s: expected auto, off, lz4 or zstd",
		               gw_where(ld, scan, "compression", w, sizeof(w)));
	if (pp_log_level_parse(g->log_level, &cfg->log_level) < 0)
		return pp_cfg_fail(ld->err, ld->errlen, "%s: expected error, warn, info or debug",
		               gw_where(ld, scan, "log_level", w, sizeof(w)));
	if ((rc = gw_check_ids(ld, scan)) < 0)
		return rc;
	return gw_check_ice_addresses(ld, scan);
}

/* A JWT's form: three base64url parts. The content is never printed. */
static bool gw_token_form_ok(const uint8_t *p, size_t n)
{
	size_t dots = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '.')
			dots++;
		else if (!g_ascii_isalnum(p[i]) && p[i] != '-' && p[i] != '_')
			return false;
	}
	return dots == 2;
}

int gw_read_token(struct gw_load *ld, const struct gw_scan *scan)
{
	struct gw_config *cfg = ld->cfg;
	struct pp_secret sec = { 0 };
	char w[320];
	int rc;

	gw_where(ld, scan, "token_file", w, sizeof(w));
	rc = pp_secret_read_file(cfg->gw.token_file, 1, &sec, &cfg->token_world_readable);
	if (rc < 0)
		return pp_cfg_fail(ld->err, ld->errlen, "%s: %s: %s", w, cfg->gw.token_file,
		               rc == PP_ERR_INVALID ? "empty or not a regular file" : pp_strerror(rc));
	if (!gw_token_form_ok(sec.data, sec.len)) {
		pp_secret_free(&sec);
		return pp_cfg_fail(ld->err, ld->errlen, "%s: %s does not hold a JWT (header.payload.signature)",
		               w, cfg->gw.token_file);
	}
	cfg->token = g_malloc(sec.len + 1);
	memcpy(cfg->token, sec.data, sec.len);
	cfg->token[sec.len] = 0;
	pp_secret_free(&sec);
	return 0;
}
