/* SPDX-License-Identifier: Apache-2.0 */
/* `peerpipe connect` and `peerpipe services`: a desktop tunnel node that
 * talks to one pinned gateway and forwards local ports to its services.
 * Status goes to stdout, one line per event (docs/client.md). */
#ifndef PP_CLI_CONNECT_H
#define PP_CLI_CONNECT_H

#include "peerpipe/loop.h"
#include "peerpipe/rtc/identity.h"
#include "peerpipe/tunnel/node.h"

#include <glib.h>

#define CONN_FORWARDS_MAX 64
#define CONN_WAITING_MAX 256 /* local connections held until the tunnel is up */
#define CONN_NAG_S 15        /* joined, no tunnel after this: say so */
#define CONN_ACCEPT_PAUSE_MIN_MS 100  /* accept out of fds: rest, doubling ... */
#define CONN_ACCEPT_PAUSE_MAX_MS 2000 /* ... up to this */

struct conn_forward {
	struct conn_app *app;
	char bind[64];
	uint16_t port;
	char service[PP_CTRL_NAME_MAX + 1];
	int fd;
	struct pp_fdwatch *watch;
	GSource *resume;            /* accept paused (out of fds): resumes */
	unsigned pause_ms;          /* the current pause; 0: taking connections */
	gint64 paused_at;           /* monotonic, when the episode began */
};

struct conn_app {
	GMainContext *ctx;
	struct pp_loop *loop;
	struct pp_tnode *node;
	struct pp_identity *identity;
	struct pp_fingerprint pin;
	const char *gateway;        /* the gateway's name in the room */
	struct conn_forward fwd[CONN_FORWARDS_MAX];
	size_t n_fwd;
	struct pp_tlink *link;      /* the ready session with the gateway */
	GQueue waiting;             /* struct conn_wait: accepted before ready */
	bool services_only;         /* `peerpipe services`: print and exit */
	bool signal_fatal;          /* signaling refused us: no tunnel after this one */
	enum pp_sigclient_why signal_why;
	int exit_code;
	char agent[64];
	guint nag;                  /* "no tunnel yet" notice */
	gint64 path_lost_at;        /* monotonic µs of the last "path lost" */
};

/* connect_fwd.c */
int conn_forward_parse(const char *spec, struct conn_forward *f);
int conn_forward_listen(struct conn_app *app, struct conn_forward *f);
void conn_forward_close(struct conn_forward *f);
/* The session came up: the held connections go out. */
void conn_flush_waiting(struct conn_app *app);
void conn_drop_waiting(struct conn_app *app);

/* connect_node.c */
extern const struct pp_tnode_callbacks conn_node_cb;
void conn_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
