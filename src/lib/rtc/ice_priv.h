/* SPDX-License-Identifier: Apache-2.0 */
/* Private pieces of the ICE module shared by ice.c, ice_cand.c,
 * ice_servers.c and ice_mdns.c. Not part of the public API. */
#ifndef PEERPIPE_RTC_ICE_PRIV_H
#define PEERPIPE_RTC_ICE_PRIV_H

#include "peerpipe/rtc/candidate.h"
#include "peerpipe/rtc/ice.h"

#include <nice/agent.h>

#define PP_ICE_SRV_MAX 16 /* STUN/TURN urls used in total */
#define PP_ICE_HOST_MAX 253

/* ---- ice_cand.c: candidate lines <-> libnice candidates ---- */

/* Accepts "a=candidate:...", "candidate:..." or the bare attribute value,
 * surrounded by blanks or a line end. Results as pp_candidate_parse(). */
int pp_ice_cand_parse(const char *line, struct pp_candidate *out);
/* A local candidate as "candidate:..." with "ufrag <ufrag>". Returns the
 * length or a negative code. */
int pp_ice_cand_format(const NiceCandidate *nc, const char *ufrag, char *out,
                       size_t cap);
/* A remote libnice candidate for stream/component 1; addr replaces an mDNS
 * host name (NULL otherwise). NULL when the address does not convert. */
NiceCandidate *pp_ice_cand_to_nice(const struct pp_candidate *c, guint stream,
                                   const NiceAddress *addr);
const char *pp_ice_cand_type_name(NiceCandidateType t);

/* ---- ice_servers.c: ice_servers urls and their DNS resolution ---- */

enum pp_ice_srv_kind {
	PP_ICE_SRV_STUN = 0,
	PP_ICE_SRV_TURN,
};

struct pp_ice_srv {
	enum pp_ice_srv_kind kind;
	NiceRelayType relay;          /* TURN: UDP, TCP or TLS */
	char host[PP_ICE_HOST_MAX + 1];
	uint16_t port;
	char *username;               /* TURN only, owned */
	char *password;               /* TURN only, owned, wiped on free */
	bool resolved;
	NiceAddress addr;             /* with port, once resolved */
};

/* One url. 0, PP_ERR_INVALID (malformed) or PP_ERR_UNSUPPORTED (another
 * scheme or transport). user/cred are copied for TURN, required there. */
int pp_ice_srv_parse(const char *url, const char *user, const char *cred,
                     struct pp_ice_srv *out);
void pp_ice_srv_clear(struct pp_ice_srv *s);

/* Resolves every unresolved host of srvs[0..n) (the array must stay put
 * until done or cancel), then calls done once from ctx: after all lookups
 * ended or after timeout_ms, whichever first. */
struct pp_ice_dns;
struct pp_ice_dns *pp_ice_dns_start(GMainContext *ctx, struct pp_ice_srv *srvs,
                                    size_t n, unsigned timeout_ms,
                                    void (*done)(void *user), void *user);
/* No callback after this; lookups still running end on their own. */
void pp_ice_dns_cancel(struct pp_ice_dns *dns);

/* ---- ice_mdns.c: one-shot mDNS resolver for ".local" names ---- */

#define PP_ICE_MDNS_PENDING_MAX 16 /* names being resolved at once */
#define PP_ICE_MDNS_CACHE_MAX 32

struct pp_ice_mdns;
/* addr NULL: not resolved (timeout or refused). Called from ctx only. */
typedef void (*pp_ice_mdns_fn)(void *user, const char *name,
                               const NiceAddress *addr);
/* server: NULL for 224.0.0.251:5353, else a unicast "ip:port" (tests). */
struct pp_ice_mdns *pp_ice_mdns_new(GMainContext *ctx, const char *server,
                                    unsigned timeout_ms, pp_ice_mdns_fn fn,
                                    void *user);
/* Always answers through fn later (cached names too). PP_ERR_TOO_BIG when
 * too many names are pending. */
int pp_ice_mdns_resolve(struct pp_ice_mdns *m, const char *name);
void pp_ice_mdns_free(struct pp_ice_mdns *m);

#endif
