/* SPDX-License-Identifier: Apache-2.0 */
#include "sconfig.h"

#include <stddef.h>

#define F(field) offsetof(struct sig_config, field)
#define DAY_MS (86400LL * 1000)

const struct pp_cfg_key sig_config_keys[] = {
	{ "server", "listen", PP_CFG_STRING, 1, 256, "0.0.0.0:8443", F(listen), "address:port to listen on" },
	{ "server", "insecure", PP_CFG_BOOL, 0, 1, "false", F(insecure), "plain ws (loopback only)" },
	{ "server", "tls_cert", PP_CFG_STRING, 1, 4096, NULL, F(tls_cert), "PEM certificate chain" },
	{ "server", "tls_key", PP_CFG_STRING, 1, 4096, NULL, F(tls_key), "PEM private key" },
	{ "server", "max_connections", PP_CFG_INT, 1, 1000000, "100000", F(max_connections), "concurrent connections" },
	{ "auth", "jwt_secret_file", PP_CFG_STRING, 1, 4096, NULL, F(jwt_secret_file), "HS256 secret file" },
	{ "auth", "clock_skew", PP_CFG_DURATION, 0, 600000, "30s", F(clock_skew_ms), "leeway on exp/nbf/iat" },
	{ "limits", "max_message_size", PP_CFG_SIZE, 1024, 16 * 1024 * 1024, "64KiB", F(max_message_size), "largest message" },
	{ "limits", "rate", PP_CFG_INT, 1, 1000000, "50", F(rate), "messages per second per peer" },
	{ "limits", "burst", PP_CFG_INT, 1, 1000000, "200", F(burst), "message burst per peer" },
	{ "limits", "gateway_rate", PP_CFG_INT, 1, 1000000, "500", F(gateway_rate), "messages per second per gateway" },
	{ "limits", "gateway_burst", PP_CFG_INT, 1, 1000000, "2000", F(gateway_burst), "message burst per gateway" },
	{ "limits", "rate_limit_close", PP_CFG_INT, 1, 1000000, "50", F(rate_limit_close), "refused messages within 10 s before close" },
	{ "limits", "join_timeout", PP_CFG_DURATION, 100, DAY_MS, "10s", F(join_timeout_ms), "time allowed for JOIN_ROOM" },
	{ "limits", "ping_interval", PP_CFG_DURATION, 100, DAY_MS, "15s", F(ping_interval_ms), "WebSocket ping period" },
	{ "limits", "ping_timeout", PP_CFG_DURATION, 100, DAY_MS, "30s", F(ping_timeout_ms), "pong deadline after a ping" },
	{ "limits", "room_max_peers", PP_CFG_INT, 1, 1000000, "256", F(room_max_peers), "peers per room" },
	{ "limits", "send_queue_max", PP_CFG_SIZE, 65536, 1LL << 30, "1MiB", F(send_queue_max), "unsent bytes per peer" },
	{ "ice", "stun_urls", PP_CFG_STRING, 0, 4096, NULL, F(stun_urls), "comma-separated stun: URLs" },
	{ "ice", "turn_urls", PP_CFG_STRING, 0, 4096, NULL, F(turn_urls), "comma-separated turn:/turns: URLs" },
	{ "ice", "turn_secret_file", PP_CFG_STRING, 1, 4096, NULL, F(turn_secret_file), "coturn static-auth-secret" },
	{ "ice", "turn_ttl", PP_CFG_DURATION, 60000, 7 * DAY_MS, "1h", F(turn_ttl_ms), "TURN credential lifetime" },
	{ "redis", "url", PP_CFG_STRING, 1, 1024, NULL, F(redis_url), "redis://host:port or unix:/path" },
	{ "redis", "password_file", PP_CFG_STRING, 1, 4096, NULL, F(redis_password_file), "Redis AUTH password" },
	{ "log", "level", PP_CFG_STRING, 1, 16, "info", F(log_level), "error, warn, info, debug" },
	{ "log", "format", PP_CFG_STRING, 1, 16, "text", F(log_format), "text or json" },
};

const size_t sig_config_nkeys = sizeof(sig_config_keys) / sizeof(sig_config_keys[0]);
