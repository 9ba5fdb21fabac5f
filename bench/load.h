/* SPDX-License-Identifier: Apache-2.0 */
/* Many WebSocket peers in one epoll loop, joined in rooms of two (one
 * gateway, one desktop), for the signaling load benchmark. */
#ifndef PEERPIPE_BENCH_LOAD_H
#define PEERPIPE_BENCH_LOAD_H

#include "stats.h"

#include <stddef.h>
#include <stdint.h>

struct pp_load_conn;
struct pp_load_pair;
struct ssl_ctx_st;

struct pp_load_cfg {
	const char *host;          /* server address, dotted IPv4 */
	uint16_t port;
	const char *path;          /* "/v1/ws" */
	uint32_t conns;            /* even */
	uint32_t batch;            /* most connections in handshake at once
	                            * (TCP, TLS, upgrade and JOIN_ROOM) */
	uint32_t per_src;          /* connections per source address 127.0.0.x */
	const uint8_t *secret;     /* HS256 key for the tokens */
	size_t secret_len;
	int watch_fd;              /* drained in the loop; EOF sets server_gone */
	struct ssl_ctx_st *tls;    /* wss: TLS client context; NULL for ws */
};

struct pp_load_counts {
	uint32_t opened, joined, failed, dropped, ready_pairs;
	uint64_t sent, recv, recv_nots, late, send_overflow;
	uint64_t err_rate_limited, err_other, peer_left, closed_by_server;
	uint64_t pings;
	uint32_t tls_handshakes;   /* completed */
	char last_error[160];
	char tls_desc[256];        /* the first handshake's parameters */
	int tls_mixed;             /* a later one negotiated something else */
};

struct pp_load {
	struct pp_load_cfg cfg;
	int ep, tfd;
	struct pp_load_conn *c;
	struct pp_load_pair *p;
	uint32_t npairs;
	uint32_t next_open, in_setup;
	uint32_t *ready;           /* indices of ready pairs at phase start */
	uint32_t nready, rr;
	int closed_loop, sending;
	uint32_t window;
	uint64_t inflight;
	uint64_t t_last_recv;
	uint64_t phase_t0;         /* messages stamped earlier are late */
	uint64_t phase_ns;         /* length of the last phase */
	int server_gone;
	struct pp_stats lat;
	struct pp_load_counts n;
};

/* 0, or -1 with a message on stderr. lat_cap bounds the latency samples. */
int pp_load_init(struct pp_load *l, const struct pp_load_cfg *cfg,
                 size_t lat_cap);
/* Opens every connection (batch at a time), each sends JOIN_ROOM; returns
 * when every pair sees each other, when nothing is pending any more, or at
 * timeout_ms. Returns the number of ready pairs. */
uint32_t pp_load_setup(struct pp_load *l, int timeout_ms);
/* Runs the loop (answering pings) for ms milliseconds. */
void pp_load_idle(struct pp_load *l, int ms);
/* Connections currently joined; still connecting or joining (or unopened). */
uint32_t pp_load_held(const struct pp_load *l);
uint32_t pp_load_pending(const struct pp_load *l);
/* Open loop: rate messages/s from the gateways to their desktops for
 * dur_ms, then waits up to drain_ms for the rest. Samples in l->lat. */
void pp_load_open_loop(struct pp_load *l, double rate, int dur_ms,
                       int drain_ms);
/* Keeps receiving the last phase's messages until all arrived or ms
 * passed; returns the time it took in ns. */
uint64_t pp_load_settle(struct pp_load *l, int ms);
/* Closed loop: each gateway keeps window messages in flight for dur_ms.
 * Returns messages received within dur_ms. */
uint64_t pp_load_closed_loop(struct pp_load *l, uint32_t window, int dur_ms,
                             int drain_ms);
/* Closes every connection and frees everything. */
void pp_load_free(struct pp_load *l);

#endif
