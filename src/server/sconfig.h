/* SPDX-License-Identifier: Apache-2.0 */
/* peerpipe-signal settings: one table, see docs/signal-server.md. */
#ifndef PP_SIGNAL_SCONFIG_H
#define PP_SIGNAL_SCONFIG_H

#include "peerpipe/config.h"

#include <stdbool.h>
#include <stdint.h>

struct sig_config {
	char *listen;
	bool insecure;
	char *tls_cert;
	char *tls_key;
	int64_t max_connections;
	char *jwt_secret_file;
	int64_t clock_skew_ms;
	int64_t max_message_size;
	int64_t rate;
	int64_t burst;
	int64_t gateway_rate;
	int64_t gateway_burst;
	int64_t rate_limit_close;
	int64_t join_timeout_ms;
	int64_t ping_interval_ms;
	int64_t ping_timeout_ms;
	int64_t room_max_peers;
	int64_t send_queue_max;
	char *stun_urls;
	char *turn_urls;
	char *turn_secret_file;
	int64_t turn_ttl_ms;
	char *redis_url;
	char *redis_password_file;
	char *log_level;
	char *log_format;
};

extern const struct pp_cfg_key sig_config_keys[];
extern const size_t sig_config_nkeys;

#endif
