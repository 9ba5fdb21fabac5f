/* SPDX-License-Identifier: Apache-2.0 */
/* Who may use which service (docs/gateway.md, "Access control").
 *
 * Deny by default: a service is open to exactly the identities its allow
 * list names, directly or through @group. Lists are resolved at load
 * (gconfig.c), so these calls never allocate and never fail open: an
 * identity or service from another config object is refused.
 *
 * Reload (SIGHUP): for every connected peer, look its identity up in the
 * new config with gw_acl_identity_in(); NULL means revoked (disconnect),
 * otherwise re-send SERVICES when gw_acl_services_changed() says so, and
 * close open streams that gw_acl_allows() no longer permits. */
#ifndef PP_GATEWAY_ACL_H
#define PP_GATEWAY_ACL_H

#include "gconfig.h"

#include <stdbool.h>
#include <stddef.h>

/* False when any argument is NULL or belongs to another config. */
bool gw_acl_allows(const struct gw_config *cfg, const struct gw_identity *id,
                   const struct gw_service *svc);

/* The services id may use, in config order (the SERVICES list): stores the
 * first max in out and returns how many there are in all (call with
 * max 0 to count). */
size_t gw_acl_services_for(const struct gw_config *cfg, const struct gw_identity *id,
                           const struct gw_service **out, size_t max);

/* The identity with old's key in newc, or NULL when that key is gone
 * (revoked). Matching by key, not name: a renamed identity is the same
 * peer, and a name reused for a new key is not. */
const struct gw_identity *gw_acl_identity_in(const struct gw_config *newc,
                                             const struct gw_identity *old);

/* True when the SERVICES message for the identity would differ between the
 * configs: another set or order of names, or another description. A NULL
 * identity has no services. */
bool gw_acl_services_changed(const struct gw_config *oldc, const struct gw_identity *oldid,
                             const struct gw_config *newc, const struct gw_identity *newid);

#endif
