/* SPDX-License-Identifier: Apache-2.0 */
/* ICE transport of the data-channel stack: one libnice agent, one stream
 * with one component (BUNDLE + rtcp-mux), RFC 8445 mode with full trickle
 * and RFC 7675 consent freshness, on the caller's GMainContext.
 *
 * Candidates travel as SDP candidate attributes ("candidate:..." lines, see
 * candidate.h), the way signaling.md relays them. Remote `.local` (mDNS)
 * host candidates from browsers are resolved with a one-shot mDNS query;
 * one that does not resolve is dropped, never an error for the session.
 *
 * Callbacks never run inside a pp_ice_*() call: they are dispatched from
 * the context. A callback may call any pp_ice_*() function. The clean end
 * is pp_ice_close(), then pp_ice_free() from on_state(PP_ICE_CLOSED) (the
 * last callback) or later. pp_ice_free() from another callback is
 * tolerated: nothing more is called and the memory goes once the callback
 * returns.
 *
 * Dead peers: consent freshness (libnice's keepalive connectivity checks,
 * every 4-6 s) reports PP_ICE_FAILED 10 s after the peer's last answer
 * (libnice 0.1.21's fixed consent timeout; measured, see ice.c). */
#ifndef PEERPIPE_RTC_ICE_H
#define PEERPIPE_RTC_ICE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define PP_ICE_SERVERS_MAX 8      /* entries in ice_servers used */
#define PP_ICE_URLS_MAX 8         /* urls per entry used */
#define PP_ICE_LOCAL_ADDRS_MAX 16
#define PP_ICE_REMOTE_CANDS_MAX 64 /* remote candidates per generation */
#define PP_ICE_DATAGRAM_MAX 65507

/* CONNECTED and COMPLETED both mean data flows; the state moves between
 * them while candidates trickled in late are checked. */
enum pp_ice_state {
	PP_ICE_NEW = 0,
	PP_ICE_CHECKING,     /* connectivity checks running */
	PP_ICE_CONNECTED,    /* a usable pair; checks may still go on */
	PP_ICE_COMPLETED,    /* nominated pair selected */
	PP_ICE_FAILED,       /* no pair, or consent lost: restart or close */
	PP_ICE_DISCONNECTED, /* libnice dropped back after being connected */
	PP_ICE_CLOSED,       /* after pp_ice_close(): last callback */
};

/* One RTCIceServer as signaling.md gives it. urls: "stun:host[:port]",
 * "turn:host[:port][?transport=udp|tcp]", "turns:host[:port][?transport=tcp]"
 * (hosts are IP literals or DNS names; IPv6 in brackets). username and
 * credential are for TURN (TURN REST credentials); NULL for STUN. */
struct pp_ice_server {
	const char *const *urls;
	size_t n_urls;
	const char *username;
	const char *credential;
};

struct pp_ice_config {
	bool controlling;     /* the offerer is controlling */
	const struct pp_ice_server *ice_servers;
	size_t n_ice_servers; /* at most PP_ICE_SERVERS_MAX are used */
	/* IP literals to gather host candidates on, instead of libnice's
	 * choice (every non-loopback interface). Tests use 127.0.0.1. */
	const char *const *local_addresses;
	size_t n_local_addresses;
	bool ice_tcp;         /* RFC 6544 candidates; off by default */
	bool relay_only;      /* iceTransportPolicy "relay" */
	/* Unit tests only: send mDNS queries as unicast to this "ip:port"
	 * instead of 224.0.0.251:5353. NULL in production. */
	const char *mdns_server;
	unsigned mdns_timeout_ms; /* 0: 2000 */
	const char *log_peer;     /* prefix for pp_log lines, may be NULL */
};

struct pp_ice_callbacks {
	/* A local candidate as "candidate:..." (no "a=", no line end), or
	 * NULL once gathering is complete (end-of-candidates). */
	void (*on_local_candidate)(void *user, const char *line);
	void (*on_state)(void *user, enum pp_ice_state state);
	/* One datagram from the peer. */
	void (*on_data)(void *user, const uint8_t *data, size_t len);
	/* The selected pair changed (a new path; may be NULL). */
	void (*on_selected_pair)(void *user);
};

struct pp_ice;

/* NULL on a bad config (logged). */
struct pp_ice *pp_ice_new(GMainContext *ctx, const struct pp_ice_config *cfg,
                          const struct pp_ice_callbacks *cb, void *user);
/* Releases at once, without any further callback; see the rules above.
 * TURN allocations (if any) are then released in the background on the
 * context, which must keep running for that; pp_ice_close() first is the
 * clean way. */
void pp_ice_free(struct pp_ice *ice);

/* Current local ICE credentials; valid until the next pp_ice_restart(). */
int pp_ice_local_credentials(struct pp_ice *ice, const char **ufrag,
                             const char **pwd);
/* From the remote description. Candidates that came earlier are applied
 * now. Setting different credentials again without a restart is
 * PP_ERR_STATE. */
int pp_ice_set_remote_credentials(struct pp_ice *ice, const char *ufrag,
                                  const char *pwd);
/* Starts gathering (host, then srflx/relay); candidates trickle out
 * through on_local_candidate. Once per generation. */
int pp_ice_gather(struct pp_ice *ice);
/* One remote candidate: "a=candidate:...", "candidate:..." or the bare
 * "842163049 1 udp ..." form. 0 when accepted (applied, kept for the
 * credentials, being resolved with mDNS, or a stale generation dropped);
 * PP_ERR_UNSUPPORTED for a valid candidate we do not use (other component,
 * TCP with ice_tcp off, non-mDNS host names, "ssltcp"): skip it;
 * PP_ERR_INVALID / PP_ERR_TOO_BIG for garbage or too many; PP_ERR_STATE
 * after close. None of these harms the session. */
int pp_ice_add_remote_candidate(struct pp_ice *ice, const char *line);
/* The peer sent candidate:null. */
int pp_ice_end_of_remote_candidates(struct pp_ice *ice);
/* One datagram: 0, -EAGAIN while not connected (or the socket is full),
 * PP_ERR_TOO_BIG, PP_ERR_STATE after close. */
int pp_ice_send(struct pp_ice *ice, const uint8_t *data, size_t len);
/* Up to PP_ICE_BATCH_MAX datagrams at once (more are fine, in several
 * system calls): one sendmmsg() with UDP GSO when the selected pair is
 * plain UDP (ice_batch.c), else one by one. 0 (datagrams the socket has no
 * room for are dropped, like losses on the wire), -EAGAIN while not
 * connected (nothing sent), PP_ERR_TOO_BIG / PP_ERR_INVALID for a bad
 * length (nothing sent), PP_ERR_STATE after close. */
#define PP_ICE_BATCH_MAX 64
int pp_ice_send_batch(struct pp_ice *ice, const struct iovec *dgrams, size_t n);
/* ICE restart: fresh sockets and credentials, gathering starts again,
 * remote credentials and candidates are forgotten (both sides restart and
 * exchange credentials and candidates as at the start). The state goes
 * back to PP_ICE_NEW (reported), pp_ice_send() gives -EAGAIN until the new
 * checks succeed. Send the new credentials (offer/answer) before going
 * back to the loop: the new candidates trickle out from there, and a peer
 * drops candidates whose ufrag is not the one it knows. */
int pp_ice_restart(struct pp_ice *ice);
/* The largest UDP payload the selected pair's route takes without
 * fragmentation (its MTU less IP and UDP headers), for path MTU probing;
 * 0 when unknown, when the remote address is behind a router (only this
 * host and directly attached links qualify: see ice_route.c), or when the
 * pair is not plain UDP from our own socket (TURN, ICE-TCP). Also makes that socket send with DF and never
 * fragment (IP_PMTUDISC_PROBE), so an oversize probe is lost, not cut. */
size_t pp_ice_path_datagram_max(struct pp_ice *ice);
/* Releases TURN allocations and sockets asynchronously, then
 * on_state(PP_ICE_CLOSED). No other callback after this call. */
void pp_ice_close(struct pp_ice *ice);

enum pp_ice_state pp_ice_get_state(const struct pp_ice *ice);
const char *pp_ice_state_name(enum pp_ice_state s);
/* Type of the selected local/remote candidates ("host", "srflx", "prflx",
 * "relay"); 0, or PP_ERR_STATE when no pair is selected. */
int pp_ice_selected_types(struct pp_ice *ice, const char **local,
                          const char **remote);
/* The selected pair's remote address as "192.0.2.1:40000" or
 * "[2001:db8::1]:40000" into out (PP_ICE_ADDR_TEXT_MAX bytes), and its
 * candidate type (a relay's is the TURN server's address, not the
 * peer's). 0, or PP_ERR_STATE when no pair is selected. */
#define PP_ICE_ADDR_TEXT_MAX 56 /* [IPv6 text]:65535 and the NUL */
int pp_ice_selected_remote(struct pp_ice *ice, char out[PP_ICE_ADDR_TEXT_MAX],
                           const char **type);

/* mDNS wire helpers, exposed for tests and the fuzz target.
 * query: one question (A or AAAA, class IN with the QU bit) for name;
 * returns the length or PP_ERR_TOO_BIG / PP_ERR_INVALID. */
#define PP_ICE_MDNS_MSG_MAX 9000 /* RFC 6762 §17 */
#define PP_ICE_MDNS_RECORDS_MAX 64
int pp_ice_mdns_query_build(uint8_t *out, size_t cap, uint16_t id,
                            const char *name, bool aaaa);
/* Finds an A (family 4) or AAAA (family 6) record for name (ASCII case
 * insensitive) in a response's answer or additional sections. 0 with
 * *family and ip set; PP_ERR_NOT_FOUND when the message holds no such
 * record; PP_ERR_INVALID / PP_ERR_TOO_BIG / PP_ERR_TRUNCATED when it is
 * malformed or over the limits (record count, name length, pointer
 * jumps). */
int pp_ice_mdns_response_parse(const uint8_t *msg, size_t len,
                               const char *name, int *family,
                               uint8_t ip[16]);

#endif
