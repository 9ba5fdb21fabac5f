/* SPDX-License-Identifier: Apache-2.0 */
/* Loading, reference counting and lookups of the gateway configuration.
 * The pieces: gconfig_scan.c (lines), gconfig_gw.c ([gateway]),
 * gconfig_sect.c ([identity], [service], allow lists), gconfig_addr.c. */
#include "gconfig_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/tunnel/ctrl.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

_Static_assert(GW_NAME_MAX == PP_CTRL_NAME_MAX, "one name rule");

bool gw_name_ok(const char *s)
{
	/* Service names travel as data-channel labels, so the tunnel owns the
	 * rule; identity and group names follow it too, so that one rule
	 * covers every name an operator types. */
	return pp_tunnel_service_name_valid(s);
}

char *gw_value(struct gw_load *ld, const struct gw_scan_sect *s,
               const struct gw_scan_key *k)
{
	GError *e = NULL;
	char *v = g_key_file_get_string(ld->kf, s->name, k->key, &e);

	if (!v) {
		pp_cfg_fail(ld->err, ld->errlen, "%s:%d: [%s] %s: %s", ld->name, k->line, s->name,
		        k->key, e ? e->message : "invalid value");
		g_clear_error(&e);
		return NULL;
	}
	return g_strstrip(v);
}

/* Counts [KIND ...] sections, refusing more than max at the first extra. */
static int gw_count(struct gw_load *ld, const struct gw_scan *scan, const char *kind,
                    size_t max, size_t *n)
{
	size_t kl = strlen(kind);
	*n = 0;
	for (guint i = 0; i < scan->sects->len; i++) {
		const struct gw_scan_sect *s = g_ptr_array_index(scan->sects, i);
		if (strncmp(s->name, kind, kl) != 0 || s->name[kl] != ' ')
			continue;
		if (++*n > max)
			return pp_cfg_fail(ld->err, ld->errlen, "%s:%d: more than %zu %s sections",
			               ld->name, s->line, max, kind);
	}
	return 0;
}

static int gw_load_section(struct gw_load *ld, const struct gw_scan_sect *s)
{
	struct gw_config *cfg = ld->cfg;
	const char *sp = strchr(s->name, ' ');
	size_t kl = sp ? (size_t)(sp - s->name) : strlen(s->name);
	bool svc = kl == 7 && memcmp(s->name, "service", 7) == 0;
	bool ident = kl == 8 && memcmp(s->name, "identity", 8) == 0;

	if (strcmp(s->name, "gateway") == 0)
		return gw_load_gateway(ld, s);
	if (!svc && !ident)
		return pp_cfg_fail(ld->err, ld->errlen,
		               "%s:%d: unknown section [%s] (expected [gateway], [service NAME] or [identity NAME])",
		               ld->name, s->line, s->name);
	if (!sp)
		return pp_cfg_fail(ld->err, ld->errlen, "%s:%d: [%s] needs a name: [%s NAME]", ld->name,
		               s->line, s->name, s->name);
	if (!gw_name_ok(sp + 1))
		return pp_cfg_fail(ld->err, ld->errlen,
		               "%s:%d: [%s]: \"%s\" is not a valid name (1..64 of A-Z a-z 0-9 . _ -)",
		               ld->name, s->line, s->name, sp + 1);
	if (svc) {
		struct gw_service *x = &cfg->services[cfg->n_services];
		x->index = cfg->n_services++;
		return gw_parse_service(ld, s, sp + 1, x);
	}
	struct gw_identity *x = &cfg->identities[cfg->n_identities];
	x->index = cfg->n_identities++;
	return gw_parse_identity(ld, s, sp + 1, x);
}

static int gw_load_sections(struct gw_load *ld, const struct gw_scan *scan)
{
	struct gw_config *cfg = ld->cfg;
	size_t ns, ni;
	int rc;

	if ((rc = gw_count(ld, scan, "service", GW_SERVICES_MAX, &ns)) < 0 ||
	    (rc = gw_count(ld, scan, "identity", GW_IDENTITIES_MAX, &ni)) < 0)
		return rc;
	cfg->services = g_new0(struct gw_service, ns ? ns : 1);
	cfg->identities = g_new0(struct gw_identity, ni ? ni : 1);
	for (guint i = 0; i < scan->sects->len; i++)
		if ((rc = gw_load_section(ld, g_ptr_array_index(scan->sects, i))) < 0)
			return rc;
	cfg->pins = g_new0(struct pp_fingerprint, ni ? ni : 1);
	for (size_t i = 0; i < cfg->n_identities; i++)
		cfg->pins[i] = cfg->identities[i].fp;
	return 0;
}

static int gw_config_parse(struct gw_load *ld, const char *text, size_t len,
                           unsigned flags)
{
	struct gw_scan scan = { 0 };
	GError *gerr = NULL;
	int rc;

	if ((rc = gw_scan_text(ld->name, text, len, &scan, ld->err, ld->errlen)) < 0)
		return rc;
	if (!g_key_file_load_from_data(ld->kf, text, len, G_KEY_FILE_NONE, &gerr)) {
		rc = pp_cfg_fail(ld->err, ld->errlen, "%s: %s", ld->name, gerr->message);
		g_error_free(gerr);
		goto out;
	}
	if ((rc = pp_cfg_defaults(gw_config_keys, gw_config_nkeys, &ld->cfg->gw, ld->err,
	                          ld->errlen)) < 0 ||
	    (rc = gw_load_sections(ld, &scan)) < 0 ||
	    (rc = gw_check_settings(ld, &scan)) < 0 ||
	    (rc = gw_check_fingerprints(ld, &scan)) < 0 ||
	    (rc = gw_resolve_acl(ld, &scan)) < 0)
		goto out;
	if (!(flags & GW_CONFIG_SKIP_TOKEN))
		rc = gw_read_token(ld, &scan);
out:
	gw_scan_clear(&scan);
	return rc;
}

int gw_config_load_data(const char *name, const char *text, size_t len,
                        unsigned flags, struct gw_config **out, char *err,
                        size_t errlen)
{
	struct gw_load ld = { name, NULL, NULL, err, errlen };
	int rc;

	*out = NULL;
	if (len > GW_CONFIG_FILE_MAX)
		return pp_cfg_fail(err, errlen, "%s: larger than %d bytes", name, GW_CONFIG_FILE_MAX);
	ld.kf = g_key_file_new();
	ld.cfg = g_new0(struct gw_config, 1);
	ld.cfg->refs = 1;
	ld.cfg->path = g_strdup(name);
	rc = gw_config_parse(&ld, text, len, flags);
	if (rc == 0) {
		*out = ld.cfg;
		ld.cfg = NULL; /* transferred */
	}
	gw_config_free(ld.cfg);
	g_key_file_free(ld.kf);
	return rc;
}

int gw_config_load(const char *path, struct gw_config **out, char *err, size_t errlen)
{
	struct stat st;
	gchar *text = NULL;
	gsize len = 0;
	GError *gerr = NULL;
	int rc;

	*out = NULL;
	/* Check first so that a mistaken /dev/zero or a huge file is not read. */
	if (stat(path, &st) < 0)
		return pp_cfg_fail(err, errlen, "%s: %s", path, g_strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size > GW_CONFIG_FILE_MAX)
		return pp_cfg_fail(err, errlen, "%s: not a regular file of at most %d bytes", path,
		               GW_CONFIG_FILE_MAX);
	if (!g_file_get_contents(path, &text, &len, &gerr)) {
		rc = pp_cfg_fail(err, errlen, "%s: %s", path, gerr->message);
		g_error_free(gerr);
		return rc;
	}
	rc = gw_config_load_data(path, text, len, 0, out, err, errlen);
	g_free(text);
	return rc;
}

struct gw_config *gw_config_ref(struct gw_config *cfg)
{
	__atomic_add_fetch(&cfg->refs, 1, __ATOMIC_RELAXED);
	return cfg;
}

void gw_config_free(struct gw_config *cfg)
{
	if (!cfg || __atomic_sub_fetch(&cfg->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (size_t i = 0; i < cfg->n_services; i++) {
		g_strfreev(cfg->services[i].allow);
		g_free(cfg->services[i].allowed);
	}
	for (size_t i = 0; i < cfg->n_identities; i++)
		g_strfreev(cfg->identities[i].groups);
	if (cfg->token) {
		OPENSSL_cleanse(cfg->token, strlen(cfg->token));
		g_free(cfg->token);
	}
	pp_cfg_free(gw_config_keys, gw_config_nkeys, &cfg->gw);
	for (size_t i = 0; i < cfg->n_ice_addresses; i++)
		g_free(cfg->ice_addresses[i]);
	g_free(cfg->services);
	g_free(cfg->identities);
	g_free(cfg->pins);
	g_free(cfg->path);
	g_free(cfg);
}

const struct gw_identity *gw_config_identity_by_fp(const struct gw_config *cfg,
                                                   const struct pp_fingerprint *fp)
{
	/* Linear: at most 1024 identities, looked up once per peer connection. */
	for (size_t i = 0; i < cfg->n_identities; i++)
		if (pp_fingerprint_equal(&cfg->identities[i].fp, fp))
			return &cfg->identities[i];
	return NULL;
}

const struct gw_identity *gw_config_identity_by_name(const struct gw_config *cfg,
                                                     const char *name)
{
	for (size_t i = 0; i < cfg->n_identities; i++)
		if (strcmp(cfg->identities[i].name, name) == 0)
			return &cfg->identities[i];
	return NULL;
}

const struct gw_service *gw_config_service_by_name(const struct gw_config *cfg,
                                                   const char *name)
{
	for (size_t i = 0; i < cfg->n_services; i++)
		if (strcmp(cfg->services[i].name, name) == 0)
			return &cfg->services[i];
	return NULL;
}

const struct pp_fingerprint *gw_config_pins(const struct gw_config *cfg, size_t *n)
{
	*n = cfg->n_identities;
	return cfg->pins;
}
