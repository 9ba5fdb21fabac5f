/* SPDX-License-Identifier: Apache-2.0 */
/* One hiredis async connection driven from the libwebsockets loop: a dup of
 * the Redis socket is adopted by lws as a raw descriptor, and its readiness
 * is handed to hiredis. */
#ifndef PP_SIGNAL_REDIS_LINK_H
#define PP_SIGNAL_REDIS_LINK_H

#include <stdbool.h>
#include <stddef.h>

struct lws;
struct lws_context;
struct redisAsyncContext;

struct sig_redis_addr {
	char host[256];   /* host name, or the socket path */
	int port;
	bool unix_socket;
};

struct sig_redis_link {
	void *owner;
	/* Connection lost (was_up) or never made; hiredis frees the context. */
	void (*on_down)(struct sig_redis_link *l, bool was_up, const char *why);
	struct redisAsyncContext *ac;   /* NULL when closed */
	struct lws *wsi;                /* polls a dup of the Redis socket */
};

/* "redis://HOST[:PORT]" or "unix:/PATH" */
int sig_redis_addr_parse(struct sig_redis_addr *a, const char *url, char *err, size_t errlen);
/* Starts a non-blocking connect; commands may be queued at once. */
int sig_redis_link_open(struct sig_redis_link *l, struct lws_context *ctx,
                        const struct sig_redis_addr *a);
/* The lws protocol callback for "pp-redis-raw". */
int sig_redis_raw_callback(struct lws *wsi, int reason, void *user, void *in, size_t len);

#endif
