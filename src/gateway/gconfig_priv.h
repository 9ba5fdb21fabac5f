/* SPDX-License-Identifier: Apache-2.0 */
/* Private to gconfig*.c: the line scanner and the section parsers. */
#ifndef PP_GATEWAY_GCONFIG_PRIV_H
#define PP_GATEWAY_GCONFIG_PRIV_H

#include "gconfig.h"

#include <glib.h>

/* GKeyFile keeps neither line numbers nor duplicates (a repeated section
 * is merged, a repeated key silently replaces the first), so the text is
 * scanned once beforehand: it refuses malformed lines and duplicates with
 * file:line and remembers where every section and key stands. */
struct gw_scan_key {
	char *key;
	int line;
};

struct gw_scan_sect {
	char *name;
	int line;
	GArray *keys; /* struct gw_scan_key, file order */
};

struct gw_scan {
	GPtrArray *sects; /* struct gw_scan_sect *, file order */
};

int gw_scan_text(const char *name, const char *text, size_t len,
                 struct gw_scan *out, char *err, size_t errlen);
void gw_scan_clear(struct gw_scan *s);
/* Line of [sect] (key NULL) or of its key; 0 when absent. */
int gw_scan_line(const struct gw_scan *s, const char *sect, const char *key);

/* What the section parsers need while loading. */
struct gw_load {
	const char *name; /* file name for messages */
	GKeyFile *kf;
	struct gw_config *cfg;
	char *err;
	size_t errlen;
};

/* The stripped value of [sect] key (g_free it), or NULL after an error. */
char *gw_value(struct gw_load *ld, const struct gw_scan_sect *s,
               const struct gw_scan_key *k);
/* 1..64 characters of [A-Za-z0-9._-]. */
bool gw_name_ok(const char *s);

/* gconfig_gw.c: [gateway] keys, their cross-checks, the token file. */
int gw_load_gateway(struct gw_load *ld, const struct gw_scan_sect *s);
int gw_check_settings(struct gw_load *ld, const struct gw_scan *scan);
int gw_read_token(struct gw_load *ld, const struct gw_scan *scan);

int gw_parse_identity(struct gw_load *ld, const struct gw_scan_sect *s,
                      const char *name, struct gw_identity *id);
int gw_parse_service(struct gw_load *ld, const struct gw_scan_sect *s,
                     const char *name, struct gw_service *svc);
/* Resolves every service's allow list into its bitset. */
int gw_resolve_acl(struct gw_load *ld, const struct gw_scan *scan);
int gw_check_fingerprints(struct gw_load *ld, const struct gw_scan *scan);

/* Address "host:port" -> svc->host/port/kind; *why a static reason. */
int gw_parse_address(const char *text, struct gw_service *svc, const char **why);

#endif
