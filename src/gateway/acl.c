/* SPDX-License-Identifier: Apache-2.0 */
/* Access decisions over the bitsets that gconfig_sect.c resolved. */
#include "acl.h"

#include <string.h>

bool gw_acl_allows(const struct gw_config *cfg, const struct gw_identity *id,
                   const struct gw_service *svc)
{
	/* Bit positions only mean something inside one config: a pointer
	 * kept across a reload must not read another config's bits. */
	if (!cfg || !id || !svc || id->owner != cfg || svc->owner != cfg ||
	    id->index >= cfg->n_identities)
		return false;
	return (svc->allowed[id->index / 64] >> (id->index % 64)) & 1;
}

size_t gw_acl_services_for(const struct gw_config *cfg, const struct gw_identity *id,
                           const struct gw_service **out, size_t max)
{
	size_t n = 0;

	if (!cfg)
		return 0;
	for (size_t i = 0; i < cfg->n_services; i++) {
		if (!gw_acl_allows(cfg, id, &cfg->services[i]))
			continue;
		if (n < max)
			out[n] = &cfg->services[i];
		n++;
	}
	return n;
}

const struct gw_identity *gw_acl_identity_in(const struct gw_config *newc,
                                             const struct gw_identity *old)
{
	if (!newc || !old)
		return NULL;
	return gw_config_identity_by_fp(newc, &old->fp);
}

/* Next service at or after *i that id may use, or NULL. */
static const struct gw_service *gw_acl_next(const struct gw_config *cfg,
                                            const struct gw_identity *id, size_t *i)
{
	if (!cfg || !id)
		return NULL;
	for (; *i < cfg->n_services; (*i)++)
		if (gw_acl_allows(cfg, id, &cfg->services[*i]))
			return &cfg->services[(*i)++];
	return NULL;
}

bool gw_acl_services_changed(const struct gw_config *oldc, const struct gw_identity *oldid,
                             const struct gw_config *newc, const struct gw_identity *newid)
{
	size_t i = 0, j = 0;

	for (;;) {
		const struct gw_service *a = gw_acl_next(oldc, oldid, &i);
		const struct gw_service *b = gw_acl_next(newc, newid, &j);
		if (!a || !b)
			return a != b;
		if (strcmp(a->name, b->name) != 0 || strcmp(a->description, b->description) != 0)
			return true;
	}
}
