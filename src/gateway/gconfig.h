/* SPDX-License-Identifier: Apache-2.0 */
/* peerpipe-gateway configuration (docs/gateway.md, "Configuration").
 *
 * One INI file: the fixed [gateway] section goes through the pp_cfg key
 * table (gw_config_keys); [service NAME] and [identity NAME] sections are
 * parsed here. Every error names file:line (or the section and key).
 *
 * A loaded gw_config is immutable and reference counted: a reload (SIGHUP)
 * builds a new one, swaps the gateway's pointer and drops its reference to
 * the old one; sessions that still hold identity or service pointers of the
 * old config keep it alive with gw_config_ref() until they have moved to
 * the new one (acl.h has the helpers for that move). */
#ifndef PP_GATEWAY_GCONFIG_H
#define PP_GATEWAY_GCONFIG_H

#include "peerpipe/config.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/fingerprint.h"
#include "peerpipe/tunnel/stream.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_NAME_MAX 64            /* service, identity and group names */
#define GW_SERVICES_MAX 1024
#define GW_IDENTITIES_MAX 1024
#define GW_GROUPS_PER_IDENTITY_MAX 64
#define GW_ALLOW_MAX 2048         /* entries in one allow list */
#define GW_DESCRIPTION_MAX 256    /* bytes */
#define GW_HOST_MAX 253           /* a DNS name; IPv6 text is shorter */
#define GW_CONFIG_FILE_MAX (4 * 1024 * 1024)
#define GW_PENDING_LIMIT_MAX PP_TSTREAM_PENDING_MAX
#define GW_ICE_ADDRESSES_MAX 16

enum gw_compression {
	GW_COMPRESSION_AUTO = 0, /* whatever both sides can decode */
	GW_COMPRESSION_OFF,
	GW_COMPRESSION_LZ4,
	GW_COMPRESSION_ZSTD,
};

enum gw_addr_kind {
	GW_ADDR_IPV4,
	GW_ADDR_IPV6,
	GW_ADDR_NAME, /* resolved when a stream connects */
};

/* [gateway]: filled through gw_config_keys. Strings are NULL when unset. */
struct gw_settings {
	char *signal_url;
	char *room;            /* NULL: take the room from the token's claim */
	char *token_file;
	char *ca_file;
	bool insecure_ws;
	char *identity_dir;
	int64_t max_peers;
	int64_t max_streams_per_peer;
	int64_t stream_buffer;     /* bytes: per-stream flow-control high mark */
	int64_t peer_buffer;       /* bytes: SCTP send and receive buffer per peer */
	int64_t connect_timeout_ms;
	int64_t pending_limit;     /* bytes a stream may send before CONNECTED */
	char *compression;
	char *log_level;
	bool log_json;
	char *audit_log;
	char *ice_addresses;       /* as written; parsed into gw_config.ice_addresses */
	int64_t max_datagram;      /* HELLO "max_datagram"; 1200: the base only */
	char *ids;                 /* off | ids | ips */
	char *ids_engine;          /* child | sidecar */
	char *ids_interface;       /* ids mode: the interface towards the services */
	char *ids_rules;           /* comma-separated absolute paths */
	char *ids_work_dir;
	char *ids_policy;          /* fail-closed | fail-open */
	int64_t ips_queue;         /* ips mode: NFQUEUE number */
	int64_t ips_mark;          /* ips mode: socket mark of service sockets */
	/* Sentinel (scan detection and bans) */
	bool sentinel;
	int64_t sentinel_window_ms;
	int64_t sentinel_denied;   /* DENIED (unknown or forbidden) in the window */
	int64_t sentinel_services; /* distinct service names asked for in the window */
	int64_t sentinel_failed;   /* failed service connects in the window */
	int64_t sentinel_alerts;   /* IDS alerts in the window */
	int64_t ban_time_ms;
	char *bans_file;
};

extern const struct pp_cfg_key gw_config_keys[];
extern const size_t gw_config_nkeys;

struct gw_config;

struct gw_service {
	const struct gw_config *owner;
	size_t index;                 /* position in config order */
	char name[GW_NAME_MAX + 1];
	char description[GW_DESCRIPTION_MAX + 1]; /* "" when absent */
	char address[GW_HOST_MAX + 16]; /* as written, for logs */
	char host[GW_HOST_MAX + 1];   /* without brackets; IPv6 may carry %zone */
	uint16_t port;
	enum gw_addr_kind kind;
	char **allow;                 /* entries as written ("alice", "@ops") */
	size_t n_allow;
	uint64_t *allowed;            /* bit i: identity i may use it */
};

struct gw_identity {
	const struct gw_config *owner;
	size_t index;
	char name[GW_NAME_MAX + 1];
	struct pp_fingerprint fp;
	char fp_text[PP_FP_TEXT_MAX]; /* "sha-256 AB:..." for logs */
	char **groups;
	size_t n_groups;
};

/* Read-only after load. */
struct gw_config {
	char *path;                   /* the name used in messages */
	struct gw_settings gw;
	enum gw_compression compression;
	enum pp_log_level log_level;
	char *token;                  /* JWT from token_file; NUL-terminated,
	                               * wiped on free, never log it. NULL with
	                               * GW_CONFIG_SKIP_TOKEN */
	bool token_world_readable;    /* worth a warning */
	struct gw_service *services;
	size_t n_services;
	struct gw_identity *identities;
	size_t n_identities;
	struct pp_fingerprint *pins;  /* one per identity, same order */
	/* Host candidates only on these (NULL-terminated list of n); none:
	 * libnice's choice, every interface, internal ones included. */
	char *ice_addresses[GW_ICE_ADDRESSES_MAX + 1];
	size_t n_ice_addresses;
	size_t bitset_words;          /* words in each gw_service.allowed */
	int refs;                     /* private: gw_config_ref/free */
};

/* Do not read token_file (syntax checks, fuzzing). */
#define GW_CONFIG_SKIP_TOKEN 0x1u

/* 0, or PP_ERR_CONFIG with err set ("file:line: ..."), PP_ERR_NOMEM.
 * *out holds one reference. */
int gw_config_load(const char *path, struct gw_config **out, char *err,
                   size_t errlen);
/* The same for INI text; name stands for the file in messages. */
int gw_config_load_data(const char *name, const char *text, size_t len,
                        unsigned flags, struct gw_config **out, char *err,
                        size_t errlen);
/* Takes a reference; returns cfg. */
struct gw_config *gw_config_ref(struct gw_config *cfg);
/* Drops a reference; frees (wiping the token) with the last one. NULL ok. */
void gw_config_free(struct gw_config *cfg);

/* NULL when absent. Only pinnable (sha-256) fingerprints ever match. */
const struct gw_identity *gw_config_identity_by_fp(const struct gw_config *cfg,
                                                   const struct pp_fingerprint *fp);
const struct gw_identity *gw_config_identity_by_name(const struct gw_config *cfg,
                                                     const char *name);
const struct gw_service *gw_config_service_by_name(const struct gw_config *cfg,
                                                   const char *name);
/* The [gateway] settings that differ between a (running) and b (just
 * loaded) but apply only at start (gconfig_restart.c): their key names in
 * names[0..max-1], in a fixed order. Returns how many differ (may exceed
 * max). */
#define GW_RESTART_KEYS_MAX 32
size_t gw_config_restart_changes(const struct gw_config *a, const struct gw_config *b,
                                 const char **names, size_t max);
/* Every identity's fingerprint, for pp_peer_config.pins (copied there). */
const struct pp_fingerprint *gw_config_pins(const struct gw_config *cfg, size_t *n);

#endif
