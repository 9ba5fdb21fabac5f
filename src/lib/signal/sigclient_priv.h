/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by sigclient.c (object, states, backoff),
 * sigclient_upgrade.c (TCP, TLS and the WebSocket handshake),
 * sigclient_conn.c (the libsoup WebSocket, receiving, why a connection
 * ended), sigclient_check.c (the liveness check) and sigclient_send.c
 * (building and sending messages, the outgoing queue). */
#ifndef PEERPIPE_SIGCLIENT_PRIV_H
#define PEERPIPE_SIGCLIENT_PRIV_H

#include "peerpipe/ratelimit.h"
#include "peerpipe/sigclient.h"

#include <libsoup/soup.h>

#define PP_SIGCLIENT_STABLE_MS 10000    /* joined this long: backoff restarts */
#define PP_SIGCLIENT_LEAVE_WAIT_MS 2000 /* after LEAVE_ROOM, close ourselves */
#define PP_SIGCLIENT_OUTQ_BYTES_MIN (1024 * 1024)
#define PP_SIGCLIENT_OUTQ_BYTES_EACH 4096 /* their bytes: this many each */

/* Every call into libsoup runs with our context as thread-default: libsoup
 * attaches the sources it creates to that one. */
#define PP_SIGCLIENT_SOUP(c, stmt)                                \
	do {                                                      \
		g_main_context_push_thread_default((c)->ctx);     \
		stmt;                                             \
		g_main_context_pop_thread_default((c)->ctx);      \
	} while (0)

struct pp_sigclient {
	GMainContext *ctx;
	struct pp_sigclient_callbacks cbs;
	void *user;

	/* configuration */
	GUri *uri;                /* http(s):// form handed to libsoup */
	char *where;              /* ws(s)://host:port/path for logs */
	char *room;
	char *fingerprint;        /* NULL when none */
	char *token;              /* wiped before free */
	size_t token_len;
	bool tls_errors_fatal;
	uint32_t backoff_min_ms, backoff_max_ms;
	uint32_t connect_timeout_ms, keepalive_ms;
	uint32_t cfg_rate, cfg_burst; /* as configured; 0: follow the server */
	uint32_t send_rate, send_burst; /* in use (pp_sigclient_pace) */
	struct pp_sigclient_limits lim;
	GTlsDatabase *tls_db;     /* ca_file's; NULL: the system store */

	/* state */
	enum pp_sigclient_state state;
	bool reported;            /* on_state called at least once */
	bool left;                /* pp_sigclient_leave() was called */
	unsigned attempts;        /* connections started */
	unsigned failures;        /* in a row, drives the backoff */
	gint64 joined_at_us;
	char peer_id[PP_PEER_ID_LEN + 1]; /* "" unless JOINED */

	/* the current attempt / connection */
	GCancellable *cancel;     /* of the pending upgrade, NULL otherwise */
	SoupWebsocketConnection *ws; /* over a wslimit_stream */
	GTlsCertificateFlags tls_flags; /* what the last handshake refused */
	gint64 last_rx_us;
	unsigned malformed;       /* dropped server messages (log throttling) */
	GSource *retry_timer;     /* next attempt */
	GSource *deadline_timer;  /* connect + JOINED deadline */
	GSource *alive_timer;     /* keepalive check */
	GSource *leave_timer;     /* after LEAVE_ROOM */
	GSource *drain_timer;     /* outgoing queue */
	GSource *check_timer;     /* pp_sigclient_check()'s deadline */

	/* outgoing */
	struct pp_bucket bucket;
	GQueue outq;              /* char * messages */
	size_t outq_bytes;
	guint outq_max;           /* send_queue_max */
	size_t outq_bytes_max;

	/* callbacks in progress; free() inside one is deferred */
	unsigned depth;
	bool dead;
};

/* The keepalive in whole seconds, as libsoup pings: keepalive_ms rounded up. */
static inline guint pp_sigclient_keepalive_s(const struct pp_sigclient *c)
{
	return (c->keepalive_ms + 999) / 1000;
}

/* sigclient.c */
void pp_sigclient_enter(struct pp_sigclient *c);
/* Returns false when c was freed (do not touch it any more). */
bool pp_sigclient_exit(struct pp_sigclient *c);
void pp_sigclient_set_state(struct pp_sigclient *c, enum pp_sigclient_state st,
                            enum pp_sigclient_why why, const char *detail);
/* Tears the connection down and schedules the next attempt (slow: wait
 * backoff_max at once), reporting DISCONNECTED; after pp_sigclient_leave,
 * finishes the leave instead (no attempt). */
void pp_sigclient_retry(struct pp_sigclient *c, enum pp_sigclient_why why, const char *detail,
                        bool slow);
/* sigclient_send.c: the leave is over (the server closed, the wait ran
 * out, or the connection was lost): torn down, no attempt pending,
 * DISCONNECTED "left". */
void pp_sigclient_left(struct pp_sigclient *c);
/* Tears the connection down and reports FATAL. */
void pp_sigclient_fatal(struct pp_sigclient *c, enum pp_sigclient_why why, const char *detail);
GSource *pp_sigclient_timer(struct pp_sigclient *c, guint ms, GSourceFunc fn);

/* How an upgrade failed (sigclient_upgrade.c to sigclient_conn.c). */
struct pp_sigclient_failure {
	guint status;             /* of the server's HTTP answer; 0: none */
	const char *location;     /* its Location, as sent; NULL: none */
	GTlsCertificateFlags tls_flags; /* what the TLS handshake refused */
	GError *err;              /* G_TLS_ERROR, G_IO_ERROR, SOUP_WEBSOCKET_ERROR
	                           * (a bad handshake), ... */
};

/* sigclient_upgrade.c */
/* Starts connecting to c->uri; the result comes to pp_sigclient_upgrade_done()
 * unless the returned cancellable (the caller's reference) is cancelled
 * first, after which nothing touches c. */
GCancellable *pp_sigclient_upgrade_start(struct pp_sigclient *c);
/* ca_file's certificates, or NULL (logged). */
GTlsDatabase *pp_sigclient_tls_db_new(const char *ca_file);

/* sigclient_conn.c */
void pp_sigclient_conn_start(struct pp_sigclient *c);
/* Drops the connection or pending attempt without any callback. */
void pp_sigclient_conn_teardown(struct pp_sigclient *c);
/* The end of the upgrade c->cancel belongs to: ws (transferred), or f. */
void pp_sigclient_upgrade_done(struct pp_sigclient *c, SoupWebsocketConnection *ws,
                               const struct pp_sigclient_failure *f);

/* sigclient_check.c: the server was heard from (any frame): a check
 * running ends with on_checked(). */
void pp_sigclient_check_heard(struct pp_sigclient *c);
/* Drops a running check without a callback (the connection goes). */
void pp_sigclient_check_clear(struct pp_sigclient *c);

/* sigclient_send.c */
/* The send rate and burst in use: as configured, else a margin under what
 * the server allows us (JOINED.limits; 0 when it did not say), else the
 * defaults under signaling.md's 50/200. */
void pp_sigclient_pace(struct pp_sigclient *c, uint32_t server_rate, uint32_t server_burst);
int pp_sigclient_send_join(struct pp_sigclient *c);
void pp_sigclient_outq_clear(struct pp_sigclient *c);
bool pp_sigclient_token_valid(const char *token);

#endif
