/* SPDX-License-Identifier: Apache-2.0 */
/* Signaling-protocol helpers for the network tests: joined peers, strict
 * expectations on the next message, raw JSON spans. */
#ifndef PP_TEST_SIGPEER_H
#define PP_TEST_SIGPEER_H

#include "sigserver.h"
#include "wsclient.h"

#include <jansson.h>

/* Generous default wait for a message that must come. */
#define SIG_WAIT_MS 3000

typedef struct {
	WsClient *ws;
	char *id;          /* peer_id from JOINED */
	char *name, *role, *room, *fingerprint;
	json_t *joined;    /* the JOINED message */
} SigPeer;

/* Common test set-up: ignores SIGPIPE, then g_test_init. */
void sig_test_init(int *argc, char ***argv);

/* "sha-256 AB:CD:..." (32 random bytes). */
char *sig_fingerprint(void);
/* The JOIN_ROOM text. */
char *sig_join_text(const char *room, const char *token, const char *fingerprint);

/* Sends JOIN_ROOM with a valid token for name and role (JOINED not awaited). */
void sig_send_join(WsClient *ws, SigServer *s, const char *room, const char *name,
                   const char *role, const char *fingerprint);
/* Connects, joins with a valid token, asserts JOINED (room, peer_id form,
 * peers array, ice_servers array) and returns the peer. */
SigPeer *sig_peer_join(SigServer *s, const char *room, const char *name, const char *role);
/* Same on an existing connection. */
SigPeer *sig_peer_join_on(WsClient *ws, SigServer *s, const char *room,
                          const char *name, const char *role);
/* Closes politely and frees. */
void sig_peer_close(SigPeer *p);
/* Frees without touching the connection (already gone). */
void sig_peer_free(SigPeer *p);

/* Parses a server message: a JSON object with a string "type". */
json_t *sig_parse(const char *text);
/* The next message; it must be text and of this type (else the test fails
 * showing what came instead). */
json_t *sig_expect(WsClient *c, const char *type, int timeout_ms);
/* The next message of this type, skipping others (counted in *skipped). */
json_t *sig_wait_for(WsClient *c, const char *type, int timeout_ms, guint *skipped);
/* Same, but the raw text (g_free). */
char *sig_expect_raw(WsClient *c, const char *type, int timeout_ms);
/* Asserts ERROR with this code. ref: the expected "ref"; NULL means it must
 * be absent or null; "*" means any. Returns the message. */
json_t *sig_expect_error(WsClient *c, const char *code, const char *ref, int timeout_ms);
/* Asserts that nothing arrives (and the connection stays up) for ms. */
void sig_expect_silence(WsClient *c, int ms);
/* Asserts the next thing is a close frame with this code. */
void sig_expect_close(WsClient *c, int code, int timeout_ms);

gboolean sig_is_peer_id(const char *s);
/* The element of a peers array with this peer_id, or NULL. */
json_t *sig_find_peer(json_t *peers, const char *id);
/* Asserts a peer object describes p exactly. */
void sig_assert_peer(json_t *obj, const SigPeer *p);

/* SEND_ICE to `to` with a host candidate carrying the marker in the
 * ufrag; the receiver checks FORWARD_ICE from `from` with the same bytes. */
gboolean sig_send_ice_marker(WsClient *c, const char *to, const char *marker);
void sig_expect_ice_marker(WsClient *c, const char *from, const char *marker, int timeout_ms);

/* A connection with a 4 KiB receive buffer, for a peer that never reads. */
WsClient *sig_connect_never_reading(int port);
/* Sends 60 KB candidates from `from` to `to` until one is refused with
 * rate_limited (ref SEND_ICE); returns how many went. Reads what `from`
 * gets meanwhile: never a PEER_LEFT for `to` (others may come and go). */
int sig_flood_until_refused(WsClient *from, const char *to);

/* Raw text span of top-level member `key` of a JSON object text. */
gboolean sig_json_member_raw(const char *text, gsize len, const char *key,
                             const char **val, gsize *vlen);

#endif
