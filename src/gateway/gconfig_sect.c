/* SPDX-License-Identifier: Apache-2.0 */
/* [identity NAME] and [service NAME] sections, and the allow lists that
 * tie them together (resolved once at load into one bitset per service, so
 * that the per-stream ACL check is a bit test). */
#include "gconfig_priv.h"

#include "peerpipe/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "a, b,c" -> NULL-terminated list of stripped entries; "" -> empty list.
 * An empty entry ("a,,b") is an error: it is almost always a typo. */
static int gw_split_list(const char *v, size_t max, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!*v) {
		*out = g_new0(char *, 1);
		return 0;
	}
	char **items = g_strsplit(v, ",", -1);
	size_t count = g_strv_length(items);
	for (size_t i = 0; i < count; i++)
		if (!*g_strstrip(items[i])) {
			g_strfreev(items);
			return PP_ERR_INVALID;
		}
	if (count > max) {
		g_strfreev(items);
		return PP_ERR_TOO_BIG;
	}
	*out = items;
	*n = count;
	return 0;
}

/* Like pp_fingerprint_parse(), but tolerant of extra blanks between the
 * hash name and the hex, which are easy to type in an INI file. */
static int gw_parse_fp(const char *v, struct pp_fingerprint *fp)
{
	char buf[PP_FP_TEXT_MAX + 1];
	size_t i = 0, o = 0, len = strlen(v);

	while (i < len && !g_ascii_isspace(v[i]) && o < sizeof(buf) - 1)
		buf[o++] = v[i++];
	if (i < len && o < sizeof(buf) - 1)
		buf[o++] = ' ';
	while (i < len && g_ascii_isspace(v[i]))
		i++;
	while (i < len && o < sizeof(buf) - 1)
		buf[o++] = v[i++];
	if (i < len)
		return PP_ERR_INVALID;
	if (pp_fingerprint_parse(buf, o, fp) < 0 || !pp_fingerprint_pinnable(fp))
		return PP_ERR_INVALID;
	return 0;
}

static int gw_identity_key(struct gw_load *ld, const struct gw_scan_sect *s,
                           const struct gw_scan_key *k, struct gw_identity *id,
                           const char *v)
{
	if (strcmp(k->key, "fingerprint") == 0) {
		if (gw_parse_fp(v, &id->fp) < 0)
			return pp_cfg_fail(ld->err, ld->errlen,
			               "%s:%d: [%s] fingerprint: expected \"sha-256 AB:CD:...\" (32 hex pairs; only sha-256 is accepted)",
			               ld->name, k->line, s->name);
		pp_fingerprint_format(&id->fp, id->fp_text, sizeof(id->fp_text));
		return 0;
	}
	if (strcmp(k->key, "groups") == 0) {
		if (gw_split_list(v, GW_GROUPS_PER_IDENTITY_MAX, &id->groups, &id->n_groups) < 0)
			return pp_cfg_fail(ld->err, ld->errlen,
			               "%s:%d: [%s] groups: a comma-separated list of at most %d names, no empty entries",
			               ld->name, k->line, s->name, GW_GROUPS_PER_IDENTITY_MAX);
		for (size_t i = 0; i < id->n_groups; i++)
			if (!gw_name_ok(id->groups[i]))
				return pp_cfg_fail(ld->err, ld->errlen,
				               "%s:%d: [%s] groups: \"%s\" is not a valid name (1..64 of A-Z a-z 0-9 . _ -)",
				               ld->name, k->line, s->name, id->groups[i]);
		return 0;
	}
	return pp_cfg_fail(ld->err, ld->errlen, "%s:%d: unknown key \"%s\" in [%s] (fingerprint, groups)",
	               ld->name, k->line, k->key, s->name);
}

int gw_parse_identity(struct gw_load *ld, const struct gw_scan_sect *s,
                      const char *name, struct gw_identity *id)
{
	snprintf(id->name, sizeof(id->name), "%s", name);
	id->owner = ld->cfg;
	for (guint i = 0; i < s->keys->len; i++) {
		const struct gw_scan_key *k = &g_array_index(s->keys, struct gw_scan_key, i);
		char *v = gw_value(ld, s, k);
		if (!v)
			return PP_ERR_CONFIG;
		int rc = gw_identity_key(ld, s, k, id, v);
		g_free(v);
		if (rc < 0)
			return rc;
	}
	if (!id->groups)
		id->groups = g_new0(char *, 1);
	if (!pp_fingerprint_pinnable(&id->fp))
		return pp_cfg_fail(ld->err, ld->errlen, "%s:%d: [%s] needs a fingerprint = sha-256 AB:CD:...",
		               ld->name, s->line, s->name);
	return 0;
}

static bool gw_description_ok(const char *v)
{
	if (strlen(v) > GW_DESCRIPTION_MAX)
		return false;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static bool gw_allow_ok(const char *e)
{
	return gw_name_ok(e[0] == '@' ? e + 1 : e);
}

static int gw_service_key(struct gw_load *ld, const struct gw_scan_sect *s,
                          const struct gw_scan_key *k, struct gw_service *svc,
                          const char *v)
{
	const char *why = NULL;

	if (strcmp(k->key, "address") == 0) {
		if (gw_parse_address(v, svc, &why) < 0)
			return pp_cfg_fail(ld->err, ld->errlen, "%s:%d: [%s] address: %s", ld->name,
			               k->line, s->name, why);
		return 0;
	}
	if (strcmp(k->key, "description") == 0) {
		if (!gw_description_ok(v))
			return pp_cfg_fail(ld->err, ld->errlen,
			               "%s:%d: [%s] description: at most %d bytes of printable text",
			               ld->name, k->line, s->name, GW_DESCRIPTION_MAX);
		snprintf(svc->description, sizeof(svc->description), "%s", v);
		return 0;
	}
	if (strcmp(k->key, "allow") == 0) {
		if (gw_split_list(v, GW_ALLOW_MAX, &svc->allow, &svc->n_allow) < 0)
			return pp_cfg_fail(ld->err, ld->errlen,
			               "%s:%d: [%s] allow: a comma-separated list of at most %d names, no empty entries",
			               ld->name, k->line, s->name, GW_ALLOW_MAX);
		for (size_t i = 0; i < svc->n_allow; i++)
			if (!gw_allow_ok(svc->allow[i]))
				return pp_cfg_fail(ld->err, ld->errlen,
				               "%s:%d: [%s] allow: \"%s\" is neither an identity name nor @group",
				               ld->name, k->line, s->name, svc->allow[i]);
		return 0;
	}
	return pp_cfg_fail(ld->err, ld->errlen, "%s:%d: unknown key \"%s\" in [%s] (address, description, allow)",
	               ld->name, k->line, k->key, s->name);
}

int gw_parse_service(struct gw_load *ld, const struct gw_scan_sect *s,
                     const char *name, struct gw_service *svc)
{
	snprintf(svc->name, sizeof(svc->name), "%s", name);
	svc->owner = ld->cfg;
	for (guint i = 0; i < s->keys->len; i++) {
		const struct gw_scan_key *k = &g_array_index(s->keys, struct gw_scan_key, i);
		char *v = gw_value(ld, s, k);
		if (!v)
			return PP_ERR_CONFIG;
		int rc = gw_service_key(ld, s, k, svc, v);
		g_free(v);
		if (rc < 0)
			return rc;
	}
	if (!svc->allow)
		svc->allow = g_new0(char *, 1);
	if (svc->port == 0)
		return pp_cfg_fail(ld->err, ld->errlen, "%s:%d: [%s] needs an address = host:port",
		               ld->name, s->line, s->name);
	return 0;
}

static bool gw_in_group(const struct gw_identity *id, const char *group)
{
	for (size_t g = 0; g < id->n_groups; g++)
		if (strcmp(id->groups[g], group) == 0)
			return true;
	return false;
}

/* Sets the bits of every identity that entry e names; false when none. */
static bool gw_allow_entry(const struct gw_config *cfg, const char *e, uint64_t *bits)
{
	bool any = false;
	for (size_t i = 0; i < cfg->n_identities; i++) {
		const struct gw_identity *id = &cfg->identities[i];
		if (e[0] == '@' ? gw_in_group(id, e + 1) : strcmp(id->name, e) == 0) {
			bits[i / 64] |= UINT64_C(1) << (i % 64);
			any = true;
		}
	}
	return any;
}

int gw_resolve_acl(struct gw_load *ld, const struct gw_scan *scan)
{
	struct gw_config *cfg = ld->cfg;

	cfg->bitset_words = (cfg->n_identities + 63) / 64;
	for (size_t s = 0; s < cfg->n_services; s++) {
		struct gw_service *svc = &cfg->services[s];
		svc->allowed = g_new0(uint64_t, cfg->bitset_words ? cfg->bitset_words : 1);
		for (size_t a = 0; a < svc->n_allow; a++) {
			const char *e = svc->allow[a];
			if (gw_allow_entry(cfg, e, svc->allowed))
				continue;
			char sect[GW_NAME_MAX + 16];
			snprintf(sect, sizeof(sect), "service %s", svc->name);
			return pp_cfg_fail(ld->err, ld->errlen, "%s:%d: [%s] allow: %s \"%s\"", ld->name,
			               gw_scan_line(scan, sect, "allow"), sect,
			               e[0] == '@' ? "no identity is in group" : "unknown identity",
			               e[0] == '@' ? e + 1 : e);
		}
	}
	return 0;
}

int gw_check_fingerprints(struct gw_load *ld, const struct gw_scan *scan)
{
	const struct gw_config *cfg = ld->cfg;

	/* At most 1024 identities: the quadratic scan costs well under 1 ms. */
	for (size_t i = 1; i < cfg->n_identities; i++) {
		const struct gw_identity *b = &cfg->identities[i];
		for (size_t j = 0; j < i; j++) {
			const struct gw_identity *a = &cfg->identities[j];
			if (a->fp.len != b->fp.len || memcmp(a->fp.digest, b->fp.digest, a->fp.len) != 0)
				continue;
			char sect[GW_NAME_MAX + 16];
			snprintf(sect, sizeof(sect), "identity %s", b->name);
			return pp_cfg_fail(ld->err, ld->errlen,
			               "%s:%d: [%s] fingerprint: the same as identity \"%s\"'s (one key, one identity)",
			               ld->name, gw_scan_line(scan, sect, "fingerprint"), sect, a->name);
		}
	}
	return 0;
}
