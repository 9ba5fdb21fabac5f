/* SPDX-License-Identifier: Apache-2.0 */
/* Private pieces shared by the ICE module's files (ice*.c). Not part of
 * the public API; tests/unit/rtc/test_ice.c uses the url parser. */
#ifndef PEERPIPE_RTC_ICE_PRIV_H
#define PEERPIPE_RTC_ICE_PRIV_H

#include "peerpipe/rtc/candidate.h"
#include "peerpipe/rtc/ice.h"

#include <nice/agent.h>
#include <sys/socket.h>

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

/* ---- ice_mdns.c: one-shot mDNS resolver for ".local" names (the wire
 * format is in ice_mdns_wire.c, declared in ice.h for the fuzz target) ---- */

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

/* ---- the agent object, shared by ice.c, ice_events.c, ice_remote.c ---- */

/* A remote candidate waiting for the remote credentials or for mDNS. */
struct pp_ice_remote {
	struct pp_candidate c;
	bool resolving;
	bool have_addr;
	NiceAddress addr;
};

struct pp_ice_closer {
	struct pp_ice *ice; /* NULL once freed */
	NiceAgent *agent;
};

struct pp_ice {
	GMainContext *ctx;
	NiceAgent *agent;
	guint stream;
	struct pp_ice_callbacks cb;
	void *user;
	char *peer;  /* log prefix */
	bool ice_tcp;
	bool relay_only;
	char *mdns_server;
	unsigned mdns_timeout_ms;
	NiceAddress local[PP_ICE_LOCAL_ADDRS_MAX];
	size_t n_local;
	struct pp_ice_srv srvs[PP_ICE_SRV_MAX];
	size_t n_srvs;
	struct pp_ice_dns *dns;
	bool dns_done;
	struct pp_ice_mdns *mdns;
	bool used_turn;   /* relays were requested: allocations to release */

	/* this generation (reset by a restart) */
	char *local_ufrag;
	char *local_pwd;
	char *remote_ufrag;
	char *remote_pwd;
	GPtrArray *waiting; /* struct pp_ice_remote * */
	unsigned n_remote;
	bool gather_wanted;
	bool gathering;
	bool remote_eoc;
	bool remote_eoc_done;
	enum pp_ice_state state;
	bool direct;        /* selected pair is plain UDP: see ice_batch.c */
	bool no_gso;        /* UDP GSO refused on this path */
	struct sockaddr_storage direct_to;
	socklen_t direct_to_len;
	GSocket *hot_sock;  /* the selected pair's socket, read by ice_hot.c */
	int hot_fd;

	GQueue events;
	GSource *dispatch;
	bool closing;       /* pp_ice_close() or pp_ice_free() called */
	bool close_called;  /* nice_agent_close_async() started by pp_ice_close() */
	bool in_callback;   /* a user callback is running */
	bool free_pending;  /* pp_ice_free() was called from it */
	struct pp_ice_closer *closer;
};

/* ice.c: ends a user callback (in_callback was set before it). false when
 * the callback freed ice: it is gone now. */
bool pp_ice_callback_done(struct pp_ice *ice);

/* ice_hot.c: under a pp_loop, the selected pair's socket is read here
 * (select: after pp_ice_batch_select; drop: before the pair or the agent
 * goes). hot_fd: that socket's fd while it is open, else -1. */
void pp_ice_hot_select(struct pp_ice *ice);
void pp_ice_hot_drop(struct pp_ice *ice);
int pp_ice_hot_fd(const struct pp_ice *ice);

/* ice_batch.c: the selected pair changed (local, remote). */
void pp_ice_batch_select(struct pp_ice *ice, NiceCandidate *l, NiceCandidate *r);

/* ice_route.c: the route's MTU to an address (0: unknown); whether it is
 * this host or on a directly attached link (1), behind a router (0), or
 * unknown (-1). */
size_t pp_ice_route_mtu(const struct sockaddr_storage *to, socklen_t len);
int pp_ice_route_direct(const struct sockaddr_storage *to);

/* ice_events.c */
void pp_ice_connect_signals(struct pp_ice *ice);
void pp_ice_recv(NiceAgent *agent, guint stream, guint comp, guint len, gchar *buf,
                 gpointer data);
/* A datagram of the selected pair to the data callback, after the state
 * changes queued before it. false when ice was freed meanwhile. */
bool pp_ice_deliver_data(struct pp_ice *ice, const uint8_t *buf, size_t len);
void pp_ice_set_state(struct pp_ice *ice, enum pp_ice_state s); /* queued if new */
void pp_ice_queue_state(struct pp_ice *ice, enum pp_ice_state s);
void pp_ice_queue_eoc(struct pp_ice *ice);
void pp_ice_drop_events(struct pp_ice *ice);

/* ice_remote.c */
void pp_ice_mdns_done(void *user, const char *name, const NiceAddress *addr);

#endif
