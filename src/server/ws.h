/* SPDX-License-Identifier: Apache-2.0 */
/* The server's libwebsockets context. */
#ifndef PP_SIGNAL_WS_H
#define PP_SIGNAL_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sig_server;

/* Returns the port listened on, or -1 with err set. */
int sig_ws_start(struct sig_server *srv, const char *host, int port, char *err, size_t errlen);
void sig_ws_run(struct sig_server *srv, volatile int *stop);
/* Asks every connection to close with 1001. */
void sig_ws_shutdown(struct sig_server *srv);
/* Serves until busy(srv) is false or the deadline passes. */
void sig_ws_drain(struct sig_server *srv, int64_t deadline_ms, bool (*busy)(const struct sig_server *));
void sig_ws_stop(struct sig_server *srv);
/* Async-signal-safe: wakes the service loop. */
void sig_ws_wake(struct sig_server *srv);

#endif
