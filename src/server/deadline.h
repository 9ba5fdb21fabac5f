/* SPDX-License-Identifier: Apache-2.0 */
/* Per-connection deadlines in O(1).
 *
 * A peer waits on at most one deadline at a time: for its JOIN_ROOM, until
 * its next ping, or for a pong. All deadlines of one kind have the same
 * length, so each kind is a FIFO list already in deadline order, and one
 * libev timer per kind fires at its head. (lws's own per-connection
 * timers live in one sorted list whose inserts cost O(connections): at
 * 20,000 connections they took most of the server's CPU.) */
#ifndef PP_SIGNAL_DEADLINE_H
#define PP_SIGNAL_DEADLINE_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

struct sig_server;
struct sig_peer;

enum sig_wait {
	SIG_WAIT_NONE = 0,
	SIG_WAIT_JOIN,  /* limits.join_timeout */
	SIG_WAIT_PING,  /* limits.ping_interval */
	SIG_WAIT_PONG,  /* limits.ping_timeout */
	SIG_WAIT_COUNT,
};

struct sig_wait_list {
	struct sig_server *srv;
	struct sig_peer *head, *tail;
	ev_timer timer;
	int64_t length_ms;
	enum sig_wait kind;
};

struct sig_deadlines {
	struct sig_wait_list list[SIG_WAIT_COUNT];
};

void sig_deadline_init(struct sig_server *srv);
/* Replaces the peer's current deadline with one of this kind from now. */
void sig_deadline_set(struct sig_server *srv, struct sig_peer *p, enum sig_wait kind);
void sig_deadline_clear(struct sig_server *srv, struct sig_peer *p);
/* Stops the timers (before the loop goes). */
void sig_deadline_stop(struct sig_server *srv);

#endif
