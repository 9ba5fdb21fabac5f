/* SPDX-License-Identifier: Apache-2.0 */
/* Scale-out over Redis (signaling.md §5): several instances serve one
 * deployment; room membership lives in Redis hashes, events and relayed
 * messages go through Redis pub/sub. Without redis.url every function is
 * a no-op and the server is standalone. See docs/signal-server.md. */
#ifndef PP_SIGNAL_CLUSTER_H
#define PP_SIGNAL_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

struct lws;
struct sig_server;
struct sig_room;
struct sig_peer;

/* Before the lws context exists only checks redis.url; after, connects. */
int sig_cluster_start(struct sig_server *srv, char *err, size_t errlen);
/* Leaves Redis (our liveness key goes); the loop must run a little more. */
void sig_cluster_stop(struct sig_server *srv);
/* True until both Redis connections have closed after sig_cluster_stop(). */
bool sig_cluster_busy(const struct sig_server *srv);
/* Drops a link still waiting for answers, then frees; before the lws
 * context goes (the links live in it). */
void sig_cluster_free(struct sig_server *srv);
bool sig_cluster_enabled(const struct sig_server *srv);
/* False while the broker is unreachable: new connections are refused, and
 * so is JOIN_ROOM on a connection made before (SIG_BROKER_DOWN, 1011). */
bool sig_cluster_ready(const struct sig_server *srv);
#define SIG_BROKER_DOWN "signaling broker unavailable, reconnect"
/* This instance's id in Redis ("" when standalone). */
const char *sig_cluster_instance(const struct sig_server *srv);

void sig_cluster_room_open(struct sig_server *srv, struct sig_room *r);
void sig_cluster_room_close(struct sig_server *srv, const char *room);
void sig_cluster_join(struct sig_server *srv, struct sig_peer *p);
void sig_cluster_leave(struct sig_server *srv, struct sig_peer *p);
/* Relays one message, given in pieces, to a peer on another instance. */
void sig_cluster_forward(struct sig_server *srv, const char *inst, const char *to,
                         const struct iovec *iov, int n);

#endif
